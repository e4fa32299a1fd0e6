/*
 * dsn_text - the small pieces of a notice's text: buffered output to the
 * notice's writer, values made safe for a header or report field (no
 * control characters; non-ASCII only where UTF-8 is allowed), folded
 * fields, wrapped paragraphs, dates, relay names, address types, and the
 * walk over the original message's content lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/dsn.h"
#include "mail/dsn_impl.h"
#include "mail/queue_file.h"
#include "util/mymalloc.h"

#define OUT_CHUNK 65536 /* bytes buffered before the writer is called */
#define FOLD_WIDTH 78	/* fold fields and wrap text before this column when possible */
#define LINE_HARD 900	/* never more bytes than this on one line of our own */

/* ---- output ---- */

void dsn_out_init(struct dsn_out *o, dsn_write_fn *write, void *ctx)
{
	*o = (struct dsn_out){.write = write, .ctx = ctx};
}

static void out_flush(struct dsn_out *o)
{
	if (o->error == NULL && o->buf.len > 0 &&
	    o->write(o->ctx, o->buf.data, o->buf.len, &o->error) < 0 && o->error == NULL)
		o->error = xstrdup("write failed");
	strbuf_reset(&o->buf);
}

void dsn_out(struct dsn_out *o, const void *data, size_t len)
{
	if (o->error != NULL)
		return;
	strbuf_append(&o->buf, data, len);
	if (o->buf.len >= OUT_CHUNK)
		out_flush(o);
}

void dsn_outs(struct dsn_out *o, const char *s)
{
	dsn_out(o, s, strlen(s));
}

void dsn_outf(struct dsn_out *o, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	dsn_outs(o, s);
	free(s);
}

int dsn_out_finish(struct dsn_out *o, char **error_r)
{
	out_flush(o);
	strbuf_free(&o->buf);
	if (o->error != NULL) {
		*error_r = o->error;
		o->error = NULL;
		return -1;
	}
	return 0;
}

/* ---- safe text ---- */

/* utf8_len - the length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void dsn_clean(struct strbuf *out, const char *s, bool utf8)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t len = utf8_len(p + i, n - i);

		if (p[i] < 0x20 || p[i] == 0x7f) {
			strbuf_putc(out, ' ');
			i++;
		} else if (p[i] < 0x80) {
			strbuf_putc(out, p[i]);
			i++;
		} else if (utf8 && len > 0) {
			strbuf_append(out, p + i, len);
			i += len;
		} else {
			strbuf_putc(out, '?');
			i += len > 0 ? len : 1;
		}
	}
}

bool dsn_is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/*
 * dsn_xtext_addr - an address as utf-8-addr-xtext (RFC 6533 section 3):
 * printable ASCII but '+', '=' and '\' as itself, everything else as
 * \x{HEX} of its code point (an invalid byte as U+FFFD).
 */
void dsn_xtext_addr(struct strbuf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t len = utf8_len(p + i, n - i);
		unsigned cp;

		if (p[i] > 0x20 && p[i] < 0x7f && p[i] != '+' && p[i] != '=' && p[i] != '\\') {
			strbuf_putc(out, p[i++]);
			continue;
		}
		if (len == 0) {
			cp = 0xfffd;
			len = 1;
		} else if (len == 1) {
			cp = p[i];
		} else {
			cp = p[i] & (0x7f >> len);
			for (size_t k = 1; k < len; k++)
				cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		strbuf_printf(out, "\\x{%X}", cp);
		i += len;
	}
}

/* ---- fields and paragraphs ---- */

/*
 * put_wrapped - text (safe already) broken at spaces before width columns,
 * the first line starting at column col, later ones after cont (the
 * continuation prefix: " " for fields, "    " for paragraphs). A word
 * longer than LINE_HARD is cut.
 */
static void put_wrapped(struct dsn_out *o, const char *text, size_t col, const char *cont)
{
	const char *p = text;
	bool first_word = true;

	while (*p == ' ')
		p++;
	while (*p) {
		size_t len = strcspn(p, " ");

		if (len > LINE_HARD)
			len = LINE_HARD;
		if (!first_word) {
			if (col + 1 + len > FOLD_WIDTH) {
				dsn_outf(o, "\r\n%s", cont);
				col = strlen(cont);
			} else {
				dsn_out(o, " ", 1);
				col++;
			}
		}
		dsn_out(o, p, len);
		col += len;
		first_word = false;
		p += len;
		while (*p == ' ')
			p++;
	}
	dsn_out(o, "\r\n", 2);
}

void dsn_field(struct dsn_out *o, const char *name, const char *value, bool utf8)
{
	struct strbuf clean = STRBUF_INIT;

	dsn_clean(&clean, value, utf8);
	dsn_outf(o, "%s:", name);
	if (clean.len > 0)
		dsn_out(o, " ", 1);
	put_wrapped(o, strbuf_str(&clean), strlen(name) + 2, " ");
	strbuf_free(&clean);
}

void dsn_paragraph(struct dsn_out *o, const char *text, const char *indent, bool utf8)
{
	struct strbuf clean = STRBUF_INIT;

	dsn_clean(&clean, text, utf8);
	put_wrapped(o, strbuf_str(&clean), 0, indent);
	strbuf_free(&clean);
}

/* ---- values ---- */

void dsn_date(char *buf, size_t size, time_t t)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	long off;

	if (localtime_r(&t, &tm) == NULL) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	off = tm.tm_gmtoff / 60;
	snprintf(buf, size, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday % 7],
		 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

char *dsn_relay_host(const char *relay)
{
	const char *br, *end;

	if (relay == NULL || *relay == '\0' || strcmp(relay, "none") == 0)
		return NULL;
	br = strchr(relay, '[');
	if (br == NULL) { /* "host:port" or a bare name */
		end = strrchr(relay, ':');
		return xstrndup(relay,
				end != NULL && end > relay ? (size_t)(end - relay) : strlen(relay));
	}
	if (br > relay && strncmp(relay, "unknown[", 8) != 0)
		return xstrndup(relay, (size_t)(br - relay));
	end = strchr(br, ']');
	return end != NULL ? xstrndup(br, (size_t)(end - br + 1)) : xstrdup(br);
}

bool dsn_is_smtp_reply(const char *text)
{
	return text[0] >= '2' && text[0] <= '5' && text[1] >= '0' && text[1] <= '9' &&
	       text[2] >= '0' && text[2] <= '9' &&
	       (text[3] == ' ' || text[3] == '-' || text[3] == '\0');
}

char *dsn_msgid_token(const char *value)
{
	const char *lt = strchr(value, '<'), *gt;

	if (lt == NULL || (gt = strchr(lt, '>')) == NULL || gt == lt + 1)
		return NULL;
	for (const char *p = lt + 1; p < gt; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '<')
			return NULL;
	return xstrndup(lt, (size_t)(gt - lt + 1));
}

/* ---- the original's content ---- */

/* one_record - a content record: a piece of a line, or its end. */
static int one_record(const struct queue_rec *rec, struct dsn_walk *w, bool *in_line)
{
	if (!*in_line && w->headers_only &&
	    (rec->offset >= w->body_offset || (rec->type == QREC_LINE && rec->len == 0)))
		return 1; /* the header section ends here */
	*in_line = rec->type == QREC_PIECE;
	w->line(w->ctx, rec->data, rec->len, rec->type == QREC_LINE);
	return 0;
}

int dsn_walk_content(int fd, struct dsn_walk *w, char **error_r)
{
	struct queue_reader *r = queue_reader_fd(fd);
	struct queue_sizes sizes;
	struct queue_rec rec;
	bool content = false, in_line = false;
	char *err = NULL;
	int ret = -1;

	for (;;) {
		enum queue_read_status st = queue_reader_next(r, &rec, &err);

		if (st != QUEUE_READ_REC) {
			if (st == QUEUE_READ_ERROR) {
				*error_r = xasprintf("queue file: %s", err);
				free(err);
			} else {
				ret = 0;
			}
			break;
		}
		if (rec.type == QREC_SIZES && queue_sizes_parse(rec.data, rec.len, &sizes) == 0)
			w->body_offset = sizes.body_offset;
		else if (rec.type == QREC_CONTENT)
			content = true;
		else if (rec.type == QREC_EXTRACTED)
			content = false;
		else if (content && (rec.type == QREC_LINE || rec.type == QREC_PIECE) &&
			 one_record(&rec, w, &in_line) != 0) {
			ret = 0; /* the header section is all that was asked for */
			break;
		}
	}
	queue_reader_free(&r);
	return ret;
}
