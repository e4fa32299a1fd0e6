/*
 * smtp_reply - server replies as the smtp agent reads them (RFC 5321
 * section 4.2): one or more lines "NNN-text" ended by "NNN text", the
 * enhanced status code of RFC 3463 at the start of the text, the EHLO
 * keywords the agent uses, and xtext for DSN parameters.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp.h"
#include "util/mymalloc.h"

void smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
}

void smtp_reply_reset(struct smtp_reply *r)
{
	r->code = 0;
	r->dsn[0] = '\0';
	r->nlines = 0;
	r->done = false;
	strbuf_reset(&r->text);
	strbuf_reset(&r->lines);
}

void smtp_reply_free(struct smtp_reply *r)
{
	strbuf_free(&r->text);
	strbuf_free(&r->lines);
	memset(r, 0, sizeof(*r));
}

/*
 * dsn_at - the length of an enhanced status code "C.SSS.DDD" of class
 * digit class at s, followed by a space or the end; 0 when there is none.
 */
static size_t dsn_at(const char *s, size_t len, char class)
{
	size_t i = 0, n;
	int part;

	if (len < 5 || s[0] != class || s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; i < len && isdigit((unsigned char)s[i]) && n < 3; n++)
			i++;
		if (n == 0)
			return 0;
		if (part == 0 && (i >= len || s[i++] != '.'))
			return 0;
	}
	return i == len || s[i] == ' ' ? i : 0;
}

/* append_text - a line's text to the joined text, within SMTP_REPLY_TEXT_MAX. */
static void append_text(struct smtp_reply *r, const char *s, size_t n)
{
	size_t room = SMTP_REPLY_TEXT_MAX - r->text.len;

	if (r->text.len >= SMTP_REPLY_TEXT_MAX)
		return;
	strbuf_append(&r->text, s, n < room ? n : room);
}

int smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len, char **error_r)
{
	int code;
	size_t n;

	if (r->done)
		smtp_reply_reset(r);
	if (len < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || line[0] < '2' || line[0] > '5' ||
	    (len > 3 && line[3] != ' ' && line[3] != '-')) {
		*error_r = xstrdup("malformed reply line");
		return -1;
	}
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->nlines > 0 && code != r->code) {
		*error_r =
		    xasprintf("reply line with code %d inside a reply with code %d", code, r->code);
		return -1;
	}
	if (++r->nlines > SMTP_REPLY_LINES_MAX) {
		*error_r = xasprintf("reply of more than %d lines", SMTP_REPLY_LINES_MAX);
		return -1;
	}
	r->code = code;
	const char *text = len > 4 ? line + 4 : "";
	size_t tlen = len > 4 ? len - 4 : 0;
	if (r->nlines == 1) {
		append_text(r, line, len);
		if ((n = dsn_at(text, tlen, line[0])) > 0 && n < sizeof(r->dsn)) {
			memcpy(r->dsn, text, n);
			r->dsn[n] = '\0';
		}
	} else {
		/* a continuation's text, without a repeated enhanced code */
		if ((n = dsn_at(text, tlen, line[0])) > 0 && strncmp(text, r->dsn, n) == 0) {
			text += n;
			tlen -= n;
		}
		for (; tlen > 0 && *text == ' '; tlen--)
			text++;
		if (tlen > 0) {
			append_text(r, " ", 1);
			append_text(r, text, tlen);
		}
	}
	if (r->lines.len < SMTP_REPLY_TEXT_MAX * 4) {
		strbuf_append(&r->lines, len > 4 ? line + 4 : "", len > 4 ? len - 4 : 0);
		strbuf_putc(&r->lines, '\n');
	}
	r->done = len == 3 || line[3] == ' ';
	return r->done ? 1 : 0;
}

const char *smtp_reply_dsn(const struct smtp_reply *r, const char *dflt)
{
	return r->dsn[0] != '\0' ? r->dsn : dflt;
}

/* keyword - whether the line's first word is kw (case ignored); *rest_r after it. */
static bool keyword(const char *line, size_t len, const char *kw, const char **rest_r)
{
	size_t n = strlen(kw);

	if (len < n || strncasecmp(line, kw, n) != 0 ||
	    (len > n && line[n] != ' ' && line[n] != '='))
		return false;
	*rest_r = line + n;
	return true;
}

/* add_auth - the mechanisms in s (up to the line end) to ehlo->auth, upper case. */
static void add_auth(struct smtp_ehlo *ehlo, const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (ehlo->auth != NULL)
		strbuf_puts(&sb, ehlo->auth);
	for (i = 0; i < len; i++) {
		char c = s[i] == '=' ? ' ' : (char)toupper((unsigned char)s[i]);
		if (c == ' ' && (sb.len == 0 || sb.data[sb.len - 1] == ' '))
			continue;
		strbuf_putc(&sb, c);
	}
	while (sb.len > 0 && sb.data[sb.len - 1] == ' ')
		strbuf_truncate(&sb, sb.len - 1);
	free(ehlo->auth);
	ehlo->auth = strbuf_detach(&sb);
}

/* one_keyword - one line of an EHLO reply. */
static void one_keyword(struct smtp_ehlo *ehlo, const char *line, size_t len)
{
	const char *rest;
	char *end;

	if (keyword(line, len, "PIPELINING", &rest))
		ehlo->features |= SMTP_FEAT_PIPELINING;
	else if (keyword(line, len, "8BITMIME", &rest))
		ehlo->features |= SMTP_FEAT_8BITMIME;
	else if (keyword(line, len, "SMTPUTF8", &rest))
		ehlo->features |= SMTP_FEAT_SMTPUTF8;
	else if (keyword(line, len, "STARTTLS", &rest))
		ehlo->features |= SMTP_FEAT_STARTTLS;
	else if (keyword(line, len, "DSN", &rest))
		ehlo->features |= SMTP_FEAT_DSN;
	else if (keyword(line, len, "ENHANCEDSTATUSCODES", &rest))
		ehlo->features |= SMTP_FEAT_ENHANCEDSTATUSCODES;
	else if (keyword(line, len, "AUTH", &rest)) {
		ehlo->features |= SMTP_FEAT_AUTH;
		add_auth(ehlo, rest, len - (size_t)(rest - line));
	} else if (keyword(line, len, "SIZE", &rest)) {
		ehlo->features |= SMTP_FEAT_SIZE;
		while (*rest == ' ')
			rest++;
		long long v = strtoll(rest, &end, 10);
		if (end != rest && v > 0 && (*end == '\0' || *end == ' ' || *end == '\n'))
			ehlo->size_limit = v;
	}
}

void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *ehlo)
{
	const char *p = strbuf_str(&r->lines), *nl;
	int n = 0;

	memset(ehlo, 0, sizeof(*ehlo));
	while ((nl = strchr(p, '\n')) != NULL) {
		if (n++ > 0) /* the first line is the server's name and greeting */
			one_keyword(ehlo, p, (size_t)(nl - p));
		p = nl + 1;
	}
}

void smtp_ehlo_free(struct smtp_ehlo *ehlo)
{
	free(ehlo->auth);
	memset(ehlo, 0, sizeof(*ehlo));
}

bool smtp_ehlo_has_auth(const struct smtp_ehlo *ehlo, const char *mech)
{
	const char *p = ehlo->auth;
	size_t n = strlen(mech);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, mech, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	return false;
}

void smtp_xtext(struct strbuf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 33 || c > 126 || c == '+' || c == '=')
			strbuf_printf(out, "+%02X", c);
		else
			strbuf_putc(out, c);
	}
}
