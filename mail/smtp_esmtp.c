/*
 * smtp_esmtp - decoding the ESMTP parameters of MAIL and RCPT (see
 * smtp_cmd.h): SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531),
 * RET, ENVID, NOTIFY, ORCPT (RFC 3461, RFC 6533), AUTH (RFC 4954), and the
 * xtext encoding their values use. Pure functions, no I/O.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/address.h"
#include "mail/smtp_cmd.h"
#include "util/mymalloc.h"

/* The longest decoded AUTH= mailbox we keep. */
#define SMTP_AUTH_PARAM_MAX 500

static int fail(struct smtp_cmd_error *err, int code, const char *dsn, const char *text)
{
	err->code = code;
	err->dsn = dsn;
	err->text = text;
	return -1;
}

static int unsupported(struct smtp_cmd_error *err)
{
	return fail(err, 555, "5.5.4", "Error: unsupported parameter");
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* put_utf8 - append code point cp as UTF-8; -1 for a surrogate or a value past U+10FFFF. */
static int put_utf8(struct strbuf *out, unsigned long cp)
{
	if (cp >= 0xd800 && cp <= 0xdfff)
		return -1;
	if (cp < 0x80) {
		strbuf_putc(out, (int)cp);
	} else if (cp < 0x800) {
		strbuf_putc(out, (int)(0xc0 | (cp >> 6)));
		strbuf_putc(out, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_putc(out, (int)(0xe0 | (cp >> 12)));
		strbuf_putc(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_putc(out, (int)(0x80 | (cp & 0x3f)));
	} else if (cp <= 0x10ffff) {
		strbuf_putc(out, (int)(0xf0 | (cp >> 18)));
		strbuf_putc(out, (int)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_putc(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_putc(out, (int)(0x80 | (cp & 0x3f)));
	} else {
		return -1;
	}
	return 0;
}

/* unicode_escape - "\x{HEX}" at in[*i]; advances *i past it. */
static int unicode_escape(const char *in, size_t len, size_t *i, struct strbuf *out)
{
	size_t j = *i + 3, digits = 0;
	unsigned long cp = 0;

	if (j > len || in[*i + 1] != 'x' || in[*i + 2] != '{')
		return -1;
	for (; j < len && in[j] != '}'; j++) {
		int v = hexval(in[j]);

		if (v < 0 || ++digits > 6)
			return -1;
		cp = cp * 16 + (unsigned long)v;
	}
	if (j >= len || digits == 0 || put_utf8(out, cp) < 0)
		return -1;
	*i = j + 1;
	return 0;
}

int smtp_xtext_decode(const char *in, size_t len, int utf8, struct strbuf *out)
{
	size_t i = 0;
	int hi, lo;

	while (i < len) {
		unsigned char c = (unsigned char)in[i];

		if (c == '+') {
			if (i + 2 >= len || (hi = hexval(in[i + 1])) < 0 ||
			    (lo = hexval(in[i + 2])) < 0)
				return -1;
			strbuf_putc(out, hi * 16 + lo);
			i += 3;
		} else if (c == '\\' && utf8) {
			if (unicode_escape(in, len, &i, out) < 0)
				return -1;
		} else if ((c >= 0x80 && utf8) || (c > ' ' && c < 0x7f && c != '=')) {
			strbuf_putc(out, c);
			i++;
		} else {
			return -1;
		}
	}
	return 0;
}

/* printable - decoded text holds no control character (it may end up in a queue file). */
static int printable(const struct strbuf *sb, int utf8)
{
	size_t i;

	for (i = 0; i < sb->len; i++) {
		unsigned char c = (unsigned char)sb->data[i];

		if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
			return 0;
	}
	return !utf8 || address_utf8_valid(sb->data, sb->len);
}

/* decode_value - xtext value of at most max encoded bytes into a malloc'd string, or NULL. */
static char *decode_value(const char *value, size_t max, int utf8)
{
	struct strbuf sb = STRBUF_INIT;

	if (value == NULL || strlen(value) > max ||
	    smtp_xtext_decode(value, strlen(value), utf8, &sb) < 0 || !printable(&sb, utf8)) {
		strbuf_free(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}

/* parse_size - SIZE=digits; a number too large to hold becomes LLONG_MAX. */
static int parse_size(const char *value, long long *size_r)
{
	long long n = 0;
	size_t i;

	if (value == NULL || value[0] == '\0' || strlen(value) > 20)
		return -1;
	for (i = 0; value[i] != '\0'; i++) {
		if (value[i] < '0' || value[i] > '9')
			return -1;
		if (n > (LLONG_MAX - 9) / 10)
			n = LLONG_MAX;
		else
			n = n * 10 + (value[i] - '0');
	}
	*size_r = n;
	return 0;
}

/* mail_param - one MAIL parameter. */
static int mail_param(const struct smtp_param *p, unsigned ext, struct smtp_mail_opts *o,
		      struct smtp_cmd_error *err)
{
	const char *k = p->keyword, *v = p->value;

	if (strcasecmp(k, "SIZE") == 0 && (ext & SMTP_EXT_SIZE)) {
		if (parse_size(v, &o->size) < 0)
			return fail(err, 501, "5.5.4", "Error: bad SIZE parameter");
	} else if (strcasecmp(k, "BODY") == 0 && (ext & SMTP_EXT_8BITMIME)) {
		if (v != NULL && strcasecmp(v, "7BIT") == 0)
			o->body = SMTP_BODY_7BIT;
		else if (v != NULL && strcasecmp(v, "8BITMIME") == 0)
			o->body = SMTP_BODY_8BITMIME;
		else
			return fail(err, 555, "5.5.4", "Error: unsupported BODY type");
	} else if (strcasecmp(k, "SMTPUTF8") == 0 && (ext & SMTP_EXT_SMTPUTF8)) {
		if (v != NULL)
			return fail(err, 501, "5.5.4", "Error: SMTPUTF8 takes no value");
		o->smtputf8 = 1;
	} else if (strcasecmp(k, "RET") == 0 && (ext & SMTP_EXT_DSN)) {
		if (v != NULL && strcasecmp(v, "FULL") == 0)
			o->ret = SMTP_RET_FULL;
		else if (v != NULL && strcasecmp(v, "HDRS") == 0)
			o->ret = SMTP_RET_HDRS;
		else
			return fail(err, 501, "5.5.4", "Error: bad RET parameter");
	} else if (strcasecmp(k, "ENVID") == 0 && (ext & SMTP_EXT_DSN)) {
		if ((o->envid = decode_value(v, SMTP_ENVID_MAX, 0)) == NULL)
			return fail(err, 501, "5.5.4", "Error: bad ENVID parameter");
	} else if (strcasecmp(k, "AUTH") == 0 && (ext & SMTP_EXT_AUTH)) {
		if ((o->auth = decode_value(v, SMTP_AUTH_PARAM_MAX, 1)) == NULL)
			return fail(err, 501, "5.5.4", "Error: bad AUTH parameter");
	} else {
		return unsupported(err);
	}
	return 0;
}

int smtp_mail_opts_parse(const struct smtp_cmd *cmd, unsigned ext, struct smtp_mail_opts *opts,
			 struct smtp_cmd_error *err)
{
	size_t i;

	memset(opts, 0, sizeof(*opts));
	opts->size = -1;
	for (i = 0; i < cmd->nparams; i++) {
		if (mail_param(&cmd->params[i], ext, opts, err) < 0)
			return -1;
	}
	return 0;
}

void smtp_mail_opts_free(struct smtp_mail_opts *opts)
{
	XFREE(opts->envid);
	XFREE(opts->auth);
}

/* parse_notify - "NEVER", or a comma-separated list of SUCCESS, FAILURE and DELAY. */
static int parse_notify(const char *value, unsigned *notify_r)
{
	const char *p = value, *comma;
	unsigned bits = 0;
	size_t n;

	if (value == NULL)
		return -1;
	if (strcasecmp(value, "NEVER") == 0) {
		*notify_r = SMTP_NOTIFY_NEVER;
		return 0;
	}
	for (;;) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n == 7 && strncasecmp(p, "SUCCESS", n) == 0)
			bits |= SMTP_NOTIFY_SUCCESS;
		else if (n == 7 && strncasecmp(p, "FAILURE", n) == 0)
			bits |= SMTP_NOTIFY_FAILURE;
		else if (n == 5 && strncasecmp(p, "DELAY", n) == 0)
			bits |= SMTP_NOTIFY_DELAY;
		else
			return -1;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	*notify_r = bits;
	return 0;
}

/* parse_orcpt - "addr-type;xtext" into "addr-type;decoded" (malloc'd), or NULL. */
static char *parse_orcpt(const char *value, int smtputf8)
{
	const char *semi;
	char *type, *addr, *result;
	size_t tlen, i;
	int utf8;

	if (value == NULL || strlen(value) > SMTP_ORCPT_MAX || (semi = strchr(value, ';')) == NULL)
		return NULL;
	tlen = (size_t)(semi - value);
	if (tlen == 0)
		return NULL;
	for (i = 0; i < tlen; i++) {
		char c = value[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return NULL;
	}
	type = xstrndup(value, tlen);
	utf8 = strcasecmp(type, "utf-8") == 0 && smtputf8;
	addr = decode_value(semi + 1, SMTP_ORCPT_MAX, utf8);
	if (addr == NULL || addr[0] == '\0') {
		free(type);
		free(addr);
		return NULL;
	}
	result = xasprintf("%s;%s", type, addr);
	free(type);
	free(addr);
	return result;
}

int smtp_rcpt_opts_parse(const struct smtp_cmd *cmd, unsigned ext, int smtputf8,
			 struct smtp_rcpt_opts *opts, struct smtp_cmd_error *err)
{
	const struct smtp_param *p;
	size_t i;

	memset(opts, 0, sizeof(*opts));
	for (i = 0; i < cmd->nparams; i++) {
		p = &cmd->params[i];
		if (!(ext & SMTP_EXT_DSN))
			return unsupported(err);
		if (strcasecmp(p->keyword, "NOTIFY") == 0) {
			if (parse_notify(p->value, &opts->notify) < 0)
				return fail(err, 501, "5.5.4", "Error: bad NOTIFY parameter");
		} else if (strcasecmp(p->keyword, "ORCPT") == 0) {
			if ((opts->orcpt = parse_orcpt(p->value, smtputf8)) == NULL)
				return fail(err, 501, "5.5.4", "Error: bad ORCPT parameter");
		} else {
			return unsupported(err);
		}
	}
	return 0;
}

void smtp_rcpt_opts_free(struct smtp_rcpt_opts *opts)
{
	XFREE(opts->orcpt);
}
