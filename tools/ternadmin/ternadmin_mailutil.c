/*
 * ternadmin_mailutil - small pieces of ternadmin's import and export:
 * folder names in modified UTF-7 (RFC 3501 5.1.3), UTF-8 repair, keyword
 * and mailbox name checks, and the conversion of line ends between the
 * store (CR LF) and files (LF).
 */
#include <stdlib.h>
#include <string.h>

#include "tools/ternadmin/ternadmin_mail.h"
#include "util/mymalloc.h"

/* Modified base64: the alphabet of RFC 4648 with ',' in place of '/'. */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* b64_value - the value of a modified base64 character, or -1. */
static int b64_value(unsigned char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64, c)) == NULL)
		return -1;
	return (int)(p - b64);
}

/* utf8_put - append the UTF-8 form of code point cp. */
static void utf8_put(struct strbuf *out, uint32_t cp)
{
	if (cp < 0x80) {
		strbuf_putc(out, (int)cp);
	} else if (cp < 0x800) {
		strbuf_putc(out, (int)(0xc0 | (cp >> 6)));
		strbuf_putc(out, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_putc(out, (int)(0xe0 | (cp >> 12)));
		strbuf_putc(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_putc(out, (int)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_putc(out, (int)(0xf0 | (cp >> 18)));
		strbuf_putc(out, (int)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_putc(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_putc(out, (int)(0x80 | (cp & 0x3f)));
	}
}

/*
 * utf8_next - the code point at in[*pos] (advancing *pos), or -1 when the
 * bytes there are not valid UTF-8 (overlong forms and surrogates included).
 */
static long utf8_next(const unsigned char *in, size_t len, size_t *pos)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t i = *pos, n, k;
	uint32_t cp;

	if (in[i] < 0x80) {
		*pos = i + 1;
		return in[i];
	}
	if ((in[i] & 0xe0) == 0xc0) {
		n = 2;
		cp = in[i] & 0x1f;
	} else if ((in[i] & 0xf0) == 0xe0) {
		n = 3;
		cp = in[i] & 0x0f;
	} else if ((in[i] & 0xf8) == 0xf0) {
		n = 4;
		cp = in[i] & 0x07;
	} else {
		return -1;
	}
	if (len - i < n)
		return -1;
	for (k = 1; k < n; k++) {
		if ((in[i + k] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (in[i + k] & 0x3f);
	}
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*pos = i + n;
	return (long)cp;
}

/* decode_shifted - the modified base64 run in[0..len) (between '&' and '-') as UTF-8. */
static int decode_shifted(const unsigned char *in, size_t len, struct strbuf *out)
{
	uint32_t bits = 0, high = 0;
	int nbits = 0, v;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64_value(in[i])) < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t unit = (bits >> nbits) & 0xffff;

		if (unit >= 0xd800 && unit <= 0xdbff) {
			if (high != 0)
				return -1;
			high = unit;
		} else if (unit >= 0xdc00 && unit <= 0xdfff) {
			if (high == 0)
				return -1;
			utf8_put(out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
			high = 0;
		} else {
			if (high != 0 || unit == 0)
				return -1;
			utf8_put(out, unit);
		}
	}
	/* What is left must be padding: fewer than 16 bits, all zero. */
	if (high != 0 || nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0)
		return -1;
	return 0;
}

int ta_mutf7_decode(const char *in, size_t len, struct strbuf *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t start = out->len, i = 0, j;

	while (i < len) {
		if (p[i] != '&') {
			if (p[i] < 0x20 || p[i] > 0x7e)
				goto bad;
			strbuf_putc(out, p[i++]);
			continue;
		}
		for (j = i + 1; j < len && p[j] != '-'; j++)
			;
		if (j == len)
			goto bad;
		if (j == i + 1)
			strbuf_putc(out, '&');
		else if (decode_shifted(p + i + 1, j - i - 1, out) < 0)
			goto bad;
		i = j + 1;
	}
	return 0;
bad:
	strbuf_truncate(out, start);
	return -1;
}

/* encode_shifted - the UTF-16 units as "&<modified base64>-". */
static void encode_shifted(const uint16_t *units, size_t n, struct strbuf *out)
{
	uint32_t bits = 0;
	int nbits = 0;
	size_t i;

	strbuf_putc(out, '&');
	for (i = 0; i < n; i++) {
		bits = (bits << 16) | units[i];
		nbits += 16;
		while (nbits >= 6) {
			nbits -= 6;
			strbuf_putc(out, b64[(bits >> nbits) & 0x3f]);
		}
	}
	if (nbits > 0)
		strbuf_putc(out, b64[(bits << (6 - nbits)) & 0x3f]);
	strbuf_putc(out, '-');
}

int ta_mutf7_encode(const char *in, size_t len, const char *also, struct strbuf *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t start = out->len, pos = 0, n = 0;
	uint16_t *units = xcalloc(len * 2 + 2, sizeof(uint16_t));
	long cp;

	while (pos < len) {
		if ((cp = utf8_next(p, len, &pos)) < 0) {
			free(units);
			strbuf_truncate(out, start);
			return -1;
		}
		if (cp >= 0x20 && cp <= 0x7e && (also == NULL || strchr(also, (int)cp) == NULL)) {
			if (n > 0)
				encode_shifted(units, n, out);
			n = 0;
			strbuf_puts(out, cp == '&' ? "&-" : (char[]){(char)cp, '\0'});
		} else if (cp >= 0x10000) {
			units[n++] = (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
			units[n++] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
		} else {
			units[n++] = (uint16_t)cp;
		}
	}
	if (n > 0)
		encode_shifted(units, n, out);
	free(units);
	return 0;
}

char *ta_utf8_repair(const char *in, size_t len, int *changed_r)
{
	const unsigned char *p = (const unsigned char *)in;
	struct strbuf out = STRBUF_INIT;
	size_t pos = 0, before;

	*changed_r = 0;
	while (pos < len) {
		before = pos;
		if (utf8_next(p, len, &pos) < 0) {
			strbuf_puts(&out, "\xef\xbf\xbd");
			*changed_r = 1;
			pos = before + 1;
		} else {
			strbuf_append(&out, in + before, pos - before);
		}
	}
	return strbuf_detach(&out);
}

int ta_keyword_valid(const char *s)
{
	const unsigned char *p;

	if (*s == '\0' || *s == '\\' || strlen(s) > 200)
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return 0;
	}
	return 1;
}

char *ta_mailbox_name_join(const char *prefix, const char *name)
{
	if (prefix == NULL)
		return xstrdup(name);
	return xasprintf("%s/%s", prefix, name);
}

/* ------------------------------------------------------------- line ends */

#define CRLF_CHUNK 65536

void ta_crlf_init(struct ta_crlf *w, struct store_blob *blob)
{
	memset(w, 0, sizeof(*w));
	w->blob = blob;
	strbuf_init(&w->buf, CRLF_CHUNK + 1024);
}

int ta_crlf_flush(struct ta_crlf *w, char **error_r)
{
	if (w->buf.len == 0)
		return 0;
	if (store_blob_write(w->blob, w->buf.data, w->buf.len, error_r) < 0)
		return -1;
	w->bytes += w->buf.len;
	strbuf_reset(&w->buf);
	return 0;
}

int ta_crlf_write(struct ta_crlf *w, const void *data, size_t len, char **error_r)
{
	const char *p = data, *end = p + len, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			strbuf_append(&w->buf, p, (size_t)(end - p));
			w->last_cr = end[-1] == '\r';
			p = end;
		} else {
			int cr = nl > p ? nl[-1] == '\r' : w->last_cr;

			strbuf_append(&w->buf, p, (size_t)(nl - p));
			strbuf_puts(&w->buf, cr ? "\n" : "\r\n");
			w->last_cr = 0;
			p = nl + 1;
		}
		if (w->buf.len >= CRLF_CHUNK && ta_crlf_flush(w, error_r) < 0)
			return -1;
	}
	return 0;
}

void ta_crlf_free(struct ta_crlf *w)
{
	strbuf_free(&w->buf);
}

void ta_lf_convert(const char *data, size_t len, int *pending_cr, int final, struct strbuf *out)
{
	size_t i, start = 0;

	if (*pending_cr) {
		if (len == 0 && !final)
			return;
		if (len == 0 || data[0] != '\n')
			strbuf_putc(out, '\r');
		*pending_cr = 0;
	}
	if (len == 0)
		return;
	for (i = 0; i < len; i++) {
		if (data[i] != '\r')
			continue;
		if (i + 1 == len) {
			strbuf_append(out, data + start, i - start);
			start = len;
			if (final)
				strbuf_putc(out, '\r');
			else
				*pending_cr = 1;
		} else if (data[i + 1] == '\n') {
			strbuf_append(out, data + start, i - start);
			start = i + 1;
		}
	}
	strbuf_append(out, data + start, len - start);
}
