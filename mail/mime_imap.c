/*
 * mime_imap - what IMAP sends for a parsed message: ENVELOPE, BODY and
 * BODYSTRUCTURE (RFC 3501 section 7.4.2, RFC 9051 section 7.5.2).
 *
 * Strings are quoted when they can be and literals when they hold 8-bit
 * bytes, CR or LF; NUL, which no IMAP string may hold, is dropped. The
 * choices the RFCs leave open follow Dovecot and Cyrus: the lists of a
 * multipart follow one another without spaces; types, subtypes,
 * encodings, dispositions and parameter names are in upper case (as in
 * the RFC's examples and Cyrus); text without a charset shows
 * ("CHARSET" "us-ascii") after its other parameters; sender and reply-to
 * default to from; an address without a domain shows "MISSING_DOMAIN"
 * and one without a local part "MISSING_MAILBOX" (a NIL host would read
 * as a group), as Dovecot does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mime.h"
#include "mail/mime_impl.h"
#include "util/mymalloc.h"

#define EMPTY_ENVELOPE "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
#define EMPTY_FIELDS "\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 0 0"

/* empty_body - the empty text/plain part shown where a part is missing. */
static void empty_body(struct strbuf *out, bool extended)
{
	strbuf_puts(out, extended ? "(" EMPTY_FIELDS " NIL NIL NIL NIL)" : "(" EMPTY_FIELDS ")");
}

void mime_imap_string(struct strbuf *out, const char *s, size_t len)
{
	bool literal = false;
	size_t i, nuls = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0)
			nuls++;
		else if (c >= 0x80 || c == '\r' || c == '\n')
			literal = true;
	}
	if (literal) {
		strbuf_printf(out, "{%zu}\r\n", len - nuls);
		if (nuls == 0) {
			strbuf_append(out, s, len);
			return;
		}
		for (i = 0; i < len; i++) {
			if (s[i] != '\0')
				strbuf_putc(out, s[i]);
		}
		return;
	}
	strbuf_putc(out, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			strbuf_putc(out, '\\');
		if (s[i] != '\0')
			strbuf_putc(out, s[i]);
	}
	strbuf_putc(out, '"');
}

void mime_imap_nstring(struct strbuf *out, const char *s)
{
	if (s == NULL)
		strbuf_puts(out, "NIL");
	else
		mime_imap_string(out, s, strlen(s));
}

/* upper - s in upper case (ASCII) as an IMAP string. */
static void upper(struct strbuf *out, const char *s)
{
	size_t start = out->len, i;

	mime_imap_nstring(out, s);
	for (i = start; i < out->len; i++) {
		if (out->data[i] >= 'a' && out->data[i] <= 'z')
			out->data[i] = (char)(out->data[i] - 32);
	}
}

/* ---------------------------------------------------------------- envelope */

static void address_list(struct strbuf *out, const struct mime_addresses *list)
{
	size_t i;

	if (list->count == 0) {
		strbuf_puts(out, "NIL");
		return;
	}
	strbuf_putc(out, '(');
	for (i = 0; i < list->count; i++) {
		const struct mime_address *a = &list->items[i];
		const char *mailbox = a->mailbox, *host = a->host;

		if (host != NULL) {
			if (mailbox == NULL || mailbox[0] == '\0')
				mailbox = "MISSING_MAILBOX";
			if (host[0] == '\0')
				host = "MISSING_DOMAIN";
		}
		strbuf_putc(out, '(');
		mime_imap_nstring(out, a->name_raw);
		strbuf_putc(out, ' ');
		mime_imap_nstring(out, a->route);
		strbuf_putc(out, ' ');
		mime_imap_nstring(out, mailbox);
		strbuf_putc(out, ' ');
		mime_imap_nstring(out, host);
		strbuf_putc(out, ')');
	}
	strbuf_putc(out, ')');
}

void mime_envelope_imap(const struct mime_envelope *env, struct strbuf *out)
{
	if (env == NULL) {
		strbuf_puts(out, EMPTY_ENVELOPE);
		return;
	}
	strbuf_putc(out, '(');
	mime_imap_nstring(out, env->date);
	strbuf_putc(out, ' ');
	mime_imap_nstring(out, env->subject);
	strbuf_putc(out, ' ');
	address_list(out, &env->from);
	strbuf_putc(out, ' ');
	address_list(out, env->sender.count > 0 ? &env->sender : &env->from);
	strbuf_putc(out, ' ');
	address_list(out, env->reply_to.count > 0 ? &env->reply_to : &env->from);
	strbuf_putc(out, ' ');
	address_list(out, &env->to);
	strbuf_putc(out, ' ');
	address_list(out, &env->cc);
	strbuf_putc(out, ' ');
	address_list(out, &env->bcc);
	strbuf_putc(out, ' ');
	mime_imap_nstring(out, env->in_reply_to);
	strbuf_putc(out, ' ');
	mime_imap_nstring(out, env->message_id);
	strbuf_putc(out, ')');
}

/* ----------------------------------------------------------- bodystructure */

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return false;
	}
	return true;
}

/* rfc2231_value - an RFC 2231 extended value: utf-8''%xx for what is not an attribute-char. */
static void rfc2231_value(struct strbuf *out, const char *value)
{
	struct strbuf v = STRBUF_INIT;
	const unsigned char *s;

	strbuf_puts(&v, "utf-8''");
	for (s = (const unsigned char *)value; *s != '\0'; s++) {
		if (*s > 0x20 && *s < 0x7f && strchr("*'%()<>@,;:\\\"/[]?=", *s) == NULL)
			strbuf_putc(&v, *s);
		else
			strbuf_printf(&v, "%%%02X", *s);
	}
	mime_imap_string(out, v.data, v.len);
	strbuf_free(&v);
}

/* param_list - ("NAME" "value" ...); with_charset: add the default charset when there is none. */
static void param_list(struct strbuf *out, const struct mime_param *params, size_t n,
		       bool with_charset)
{
	bool charset = false;
	size_t i;

	if (n == 0 && !with_charset) {
		strbuf_puts(out, "NIL");
		return;
	}
	strbuf_putc(out, '(');
	for (i = 0; i < n; i++) {
		if (i > 0)
			strbuf_putc(out, ' ');
		if (strcmp(params[i].name, "charset") == 0)
			charset = true;
		if (is_ascii(params[i].value)) {
			upper(out, params[i].name);
			strbuf_putc(out, ' ');
			mime_imap_nstring(out, params[i].value);
		} else {
			/* a name is a token: "NAME" becomes "NAME*" */
			upper(out, params[i].name);
			out->len--;
			strbuf_puts(out, "*\" ");
			rfc2231_value(out, params[i].value);
		}
	}
	if (with_charset && !charset)
		strbuf_puts(out, n > 0 ? " \"CHARSET\" \"us-ascii\"" : "\"CHARSET\" \"us-ascii\"");
	strbuf_putc(out, ')');
}

/* language_list - Content-Language "en, fi" as ("en" "fi"), or NIL. */
static void language_list(struct strbuf *out, const char *language)
{
	struct strbuf tag = STRBUF_INIT;
	struct mime_lex lx;
	size_t n = 0;

	if (language == NULL) {
		strbuf_puts(out, "NIL");
		return;
	}
	mime_lex_init(&lx, language, strlen(language));
	for (;;) {
		mime_lex_cfws(&lx, NULL);
		if (lx.p == lx.end)
			break;
		strbuf_reset(&tag);
		if (mime_lex_token(&lx, &tag, false) == 0) {
			lx.p++; /* ',' or garbage */
			continue;
		}
		strbuf_putc(out, n++ == 0 ? '(' : ' ');
		mime_imap_string(out, tag.data, tag.len);
	}
	strbuf_free(&tag);
	strbuf_puts(out, n > 0 ? ")" : "NIL");
}

static void disposition(struct strbuf *out, const struct mime_part *part)
{
	if (part->disposition == NULL) {
		strbuf_puts(out, "NIL");
		return;
	}
	strbuf_putc(out, '(');
	upper(out, part->disposition);
	strbuf_putc(out, ' ');
	param_list(out, part->disposition_params, part->ndisposition_params, false);
	strbuf_putc(out, ')');
}

static void write_part(const struct mime_part *part, bool extended, struct strbuf *out);

static void write_multipart(const struct mime_part *part, bool extended, struct strbuf *out)
{
	const struct mime_part *child;

	if (part->children == NULL)
		empty_body(out, extended);
	for (child = part->children; child != NULL; child = child->next)
		write_part(child, extended, out);
	strbuf_putc(out, ' ');
	upper(out, part->subtype);
	if (!extended)
		return;
	strbuf_putc(out, ' ');
	param_list(out, part->params, part->nparams, false);
	strbuf_putc(out, ' ');
	disposition(out, part);
	strbuf_putc(out, ' ');
	language_list(out, part->language);
	strbuf_putc(out, ' ');
	mime_imap_nstring(out, part->location);
}

static void write_single(const struct mime_part *part, bool extended, struct strbuf *out)
{
	bool text = strcmp(part->type, "text") == 0;
	bool message = strcmp(part->type, "message") == 0 && strcmp(part->subtype, "rfc822") == 0;

	upper(out, part->type);
	strbuf_putc(out, ' ');
	upper(out, part->subtype);
	strbuf_putc(out, ' ');
	param_list(out, part->params, part->nparams, text);
	strbuf_putc(out, ' ');
	mime_imap_nstring(out, part->id);
	strbuf_putc(out, ' ');
	mime_imap_nstring(out, part->description);
	strbuf_putc(out, ' ');
	upper(out, part->encoding != NULL ? part->encoding : "7bit");
	strbuf_printf(out, " %llu", (unsigned long long)(part->body_end - part->body_offset));
	if (message) {
		strbuf_putc(out, ' ');
		if (part->children != NULL) {
			mime_envelope_imap(part->children->envelope, out);
			strbuf_putc(out, ' ');
			write_part(part->children, extended, out);
		} else {
			strbuf_puts(out, EMPTY_ENVELOPE " ");
			empty_body(out, extended);
		}
	}
	if (text || message)
		strbuf_printf(out, " %llu", (unsigned long long)part->body_lines);
	if (!extended)
		return;
	strbuf_putc(out, ' ');
	mime_imap_nstring(out, part->md5);
	strbuf_putc(out, ' ');
	disposition(out, part);
	strbuf_putc(out, ' ');
	language_list(out, part->language);
	strbuf_putc(out, ' ');
	mime_imap_nstring(out, part->location);
}

static void write_part(const struct mime_part *part, bool extended, struct strbuf *out)
{
	strbuf_putc(out, '(');
	if (strcmp(part->type, "multipart") == 0)
		write_multipart(part, extended, out);
	else
		write_single(part, extended, out);
	strbuf_putc(out, ')');
}

void mime_bodystructure_imap(const struct mime_part *part, int extended, struct strbuf *out)
{
	write_part(part, extended != 0, out);
}
