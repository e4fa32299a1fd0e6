/*
 * imap_write - writers of strings, flags and dates for server output.
 * See imap_write.h.
 */
#include <string.h>
#include <strings.h>

#include "imap/imap_arg.h"
#include "imap/imap_date.h"
#include "imap/imap_mailbox.h"
#include "imap/imap_utf7.h"
#include "imap/imap_write.h"
#include "util/strbuf.h"

int imap_string_quotable(const char *s, size_t len, unsigned flags)
{
	size_t i;
	int eight = 0;

	if (len > IMAP_QUOTED_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0' || c == '\r' || c == '\n')
			return 0;
		if (c >= 0x80)
			eight = 1;
	}
	return !eight || ((flags & IMAP_WRITE_UTF8) && imap_utf8_valid(s, len));
}

void imap_write_quoted(struct strbuf *out, const char *s, size_t len)
{
	size_t i;

	strbuf_reserve(out, len + 2);
	strbuf_putc(out, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			strbuf_putc(out, '\\');
		strbuf_putc(out, s[i]);
	}
	strbuf_putc(out, '"');
}

void imap_write_literal(struct strbuf *out, const char *s, size_t len)
{
	strbuf_printf(out, "{%zu}\r\n", len);
	strbuf_append(out, s, len);
}

void imap_write_string(struct strbuf *out, const char *s, size_t len, unsigned flags)
{
	if (imap_string_quotable(s, len, flags))
		imap_write_quoted(out, s, len);
	else
		imap_write_literal(out, s, len);
}

/*
 * is_astring_atom - 1*ASTRING-CHAR, and not NIL (which a reader could take
 * for nil); "[" is quoted too, so that no reader takes "BODY[x" for the
 * start of a FETCH section.
 */
static int is_astring_atom(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || (len == 3 && strncasecmp(s, "NIL", 3) == 0))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\[", c) != NULL)
			return 0;
	}
	return 1;
}

void imap_write_astring(struct strbuf *out, const char *s, size_t len, unsigned flags)
{
	if (is_astring_atom(s, len))
		strbuf_append(out, s, len);
	else
		imap_write_string(out, s, len, flags);
}

void imap_write_nstring(struct strbuf *out, const char *s, size_t len, unsigned flags)
{
	if (s == NULL)
		strbuf_puts(out, "NIL");
	else
		imap_write_string(out, s, len, flags);
}

void imap_write_mailbox(struct strbuf *out, const char *name, unsigned flags)
{
	struct strbuf enc = STRBUF_INIT;

	imap_mailbox_encode(&enc, name, (flags & IMAP_WRITE_UTF8) != 0);
	imap_write_astring(out, enc.data != NULL ? enc.data : "", enc.len, flags);
	strbuf_free(&enc);
}

void imap_write_flags(struct strbuf *out, unsigned bits, const char *keywords, const char *extra)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {{IMAP_FLAG_ANSWERED, "\\Answered"}, {IMAP_FLAG_FLAGGED, "\\Flagged"},
		     {IMAP_FLAG_DELETED, "\\Deleted"},	 {IMAP_FLAG_SEEN, "\\Seen"},
		     {IMAP_FLAG_DRAFT, "\\Draft"},	 {IMAP_FLAG_RECENT, "\\Recent"}};
	size_t i, start = out->len + 1;

	strbuf_putc(out, '(');
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (bits & names[i].bit) {
			if (out->len > start)
				strbuf_putc(out, ' ');
			strbuf_puts(out, names[i].name);
		}
	}
	for (; keywords != NULL && *keywords != '\0'; keywords += strcspn(keywords, " ")) {
		keywords += strspn(keywords, " ");
		if (*keywords == '\0')
			break;
		if (out->len > start)
			strbuf_putc(out, ' ');
		strbuf_append(out, keywords, strcspn(keywords, " "));
	}
	if (extra != NULL && *extra != '\0') {
		if (out->len > start)
			strbuf_putc(out, ' ');
		strbuf_puts(out, extra);
	}
	strbuf_putc(out, ')');
}

void imap_write_datetime(struct strbuf *out, time_t t, int tz)
{
	imap_datetime_format(out, t, tz);
}
