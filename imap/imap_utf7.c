/*
 * imap_utf7 - modified UTF-7 for mailbox names, strict both ways, and a
 * UTF-8 checker. See imap_utf7.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_utf7.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int32_t imap_utf8_next(const char *str, size_t len, size_t *pos)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = *pos, n, k;
	uint32_t cp, min;

	if (s[i] < 0x80) {
		*pos = i + 1;
		return s[i];
	}
	if (s[i] >= 0xc2 && s[i] <= 0xdf) {
		n = 1, cp = s[i] & 0x1f, min = 0x80;
	} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
		n = 2, cp = s[i] & 0x0f, min = 0x800;
	} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
		n = 3, cp = s[i] & 0x07, min = 0x10000;
	} else {
		*pos = i + 1;
		return -1;
	}
	if (len - i - 1 < n) {
		*pos = i + 1;
		return -1;
	}
	for (k = 1; k <= n; k++) {
		if ((s[i + k] & 0xc0) != 0x80) {
			*pos = i + 1;
			return -1;
		}
		cp = (cp << 6) | (s[i + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		*pos = i + 1;
		return -1;
	}
	*pos = i + n + 1;
	return (int32_t)cp;
}

int imap_utf8_valid(const char *s, size_t len)
{
	size_t pos = 0;
	int32_t cp;

	while (pos < len) {
		cp = imap_utf8_next(s, len, &pos);
		if (cp <= 0)
			return 0;
	}
	return 1;
}

/* put_utf8 - append code point cp as UTF-8. */
static void put_utf8(struct strbuf *out, uint32_t cp)
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

/* The BASE64 section being written: bits not yet output. */
struct b64_out {
	uint32_t bits;
	unsigned nbits;
	int open;
};

static void b64_put16(struct strbuf *out, struct b64_out *b, unsigned unit)
{
	b->bits = (b->bits << 16) | unit;
	b->nbits += 16;
	while (b->nbits >= 6) {
		b->nbits -= 6;
		strbuf_putc(out, b64chars[(b->bits >> b->nbits) & 0x3f]);
	}
	b->bits &= (1u << b->nbits) - 1;
}

static void b64_close(struct strbuf *out, struct b64_out *b)
{
	if (!b->open)
		return;
	if (b->nbits > 0)
		strbuf_putc(out, b64chars[(b->bits << (6 - b->nbits)) & 0x3f]);
	strbuf_putc(out, '-');
	b->bits = 0;
	b->nbits = 0;
	b->open = 0;
}

int imap_utf8_to_utf7(const char *in, size_t len, struct strbuf *out)
{
	struct b64_out b = {0, 0, 0};
	size_t pos = 0;
	int32_t cp;

	while (pos < len) {
		cp = imap_utf8_next(in, len, &pos);
		if (cp <= 0)
			return -1;
		if (cp >= 0x20 && cp <= 0x7e) {
			b64_close(out, &b);
			strbuf_putc(out, cp);
			if (cp == '&')
				strbuf_putc(out, '-');
			continue;
		}
		if (!b.open) {
			strbuf_putc(out, '&');
			b.open = 1;
		}
		if (cp >= 0x10000) {
			b64_put16(out, &b, 0xd800 + (((unsigned)cp - 0x10000) >> 10));
			b64_put16(out, &b, 0xdc00 + (((unsigned)cp - 0x10000) & 0x3ff));
		} else {
			b64_put16(out, &b, (unsigned)cp);
		}
	}
	b64_close(out, &b);
	return 0;
}

static int b64_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(b64chars, c);
	return p == NULL ? -1 : (int)(p - b64chars);
}

/* add_unit - one UTF-16 unit of a section; *high holds a pending high surrogate. */
static int add_unit(unsigned unit, unsigned *high, struct strbuf *out, char **error_r)
{
	if (*high != 0) {
		if (unit < 0xdc00 || unit > 0xdfff) {
			*error_r = xstrdup("Unpaired UTF-16 surrogate in modified UTF-7");
			return -1;
		}
		put_utf8(out, 0x10000 + ((*high - 0xd800) << 10) + (unit - 0xdc00));
		*high = 0;
		return 0;
	}
	if (unit >= 0xd800 && unit <= 0xdbff) {
		*high = unit;
		return 0;
	}
	if (unit >= 0xdc00 && unit <= 0xdfff) {
		*error_r = xstrdup("Unpaired UTF-16 surrogate in modified UTF-7");
		return -1;
	}
	if (unit == 0) {
		*error_r = xstrdup("NUL in modified UTF-7");
		return -1;
	}
	if (unit >= 0x20 && unit <= 0x7e) {
		*error_r = xstrdup("Printable ASCII encoded in modified UTF-7");
		return -1;
	}
	put_utf8(out, unit);
	return 0;
}

/* decode_section - the BASE64 of a section at in[*pos] up to its '-'. */
static int decode_section(const char *in, size_t len, size_t *pos, struct strbuf *out,
			  char **error_r)
{
	uint32_t bits = 0;
	unsigned nbits = 0, high = 0;
	size_t start = *pos;
	int v;

	for (; *pos < len && in[*pos] != '-'; (*pos)++) {
		v = b64_value(in[*pos]);
		if (v < 0) {
			*error_r = xstrdup("Invalid character in modified BASE64");
			return -1;
		}
		bits = (bits << 6) | (unsigned)v;
		nbits += 6;
		if (nbits >= 16) {
			nbits -= 16;
			if (add_unit((bits >> nbits) & 0xffff, &high, out, error_r) < 0)
				return -1;
			bits &= (1u << nbits) - 1;
		}
	}
	if (*pos == len) {
		*error_r = xstrdup("Unterminated modified BASE64 section");
		return -1;
	}
	if (*pos == start) {
		*error_r = xstrdup("Empty modified BASE64 section");
		return -1;
	}
	if (nbits >= 6 || bits != 0) {
		*error_r = xstrdup("Invalid padding in modified BASE64");
		return -1;
	}
	if (high != 0) {
		*error_r = xstrdup("Unpaired UTF-16 surrogate in modified UTF-7");
		return -1;
	}
	(*pos)++; /* the '-' */
	return 0;
}

int imap_utf7_to_utf8(const char *in, size_t len, struct strbuf *out, char **error_r)
{
	size_t pos = 0;
	int after_section = 0;
	unsigned char c;

	while (pos < len) {
		c = (unsigned char)in[pos];
		if (c < 0x20 || c > 0x7e) {
			*error_r = xstrdup("Invalid character in modified UTF-7 name");
			return -1;
		}
		if (c != '&') {
			strbuf_putc(out, c);
			pos++;
			after_section = 0;
			continue;
		}
		if (pos + 1 < len && in[pos + 1] == '-') {
			strbuf_putc(out, '&');
			pos += 2;
			after_section = 0;
			continue;
		}
		if (after_section) {
			*error_r = xstrdup("Adjacent modified BASE64 sections");
			return -1;
		}
		pos++;
		if (decode_section(in, len, &pos, out, error_r) < 0)
			return -1;
		after_section = 1;
	}
	return 0;
}
