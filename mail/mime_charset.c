/*
 * mime_charset - text in any charset to UTF-8, for the MIME parser: one
 * converter per body part (or per encoded word) that keeps its state
 * between pieces of input, so that the result does not depend on where
 * the input was cut.
 *
 * UTF-8, US-ASCII, ISO-8859-1 and Windows-1252 are converted here; other
 * charsets go through iconv(3). ISO-8859-1 is read as Windows-1252 (the
 * C1 range holds the Windows characters, as mail clients do), and an
 * unknown charset (or none) is read as UTF-8 where the bytes are valid
 * UTF-8 and as Windows-1252 where they are not. US-ASCII is read the same
 * way: 8-bit bytes under the default charset are common and are UTF-8 or
 * Latin-1 far more often than garbage. What a known charset cannot
 * convert is kept when it is valid UTF-8 and becomes U+FFFD otherwise.
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/mime.h"
#include "mail/mime_impl.h"
#include "util/mymalloc.h"

/* The longest incomplete input sequence held back between pieces. */
#define CARRY_MAX 16

enum conv_kind {
	CONV_UTF8_LAX,	  /* UTF-8, Windows-1252 where invalid */
	CONV_UTF8_STRICT, /* UTF-8, U+FFFD where invalid */
	CONV_CP1252,	  /* ISO-8859-1 and Windows-1252 */
	CONV_ICONV,
};

/* iconv is given its input in segments that end at a line feed or after this many bytes. */
#define SEGMENT_MAX 4096

struct mime_conv {
	enum conv_kind kind;
	iconv_t cd;
	/* UTF-8 and Windows-1252: an incomplete character held back */
	unsigned char carry[CARRY_MAX];
	size_t ncarry;
	/*
	 * iconv: input not converted yet. A stateful decoder (UTF-7,
	 * ISO-2022-JP) may treat bad input differently depending on where its
	 * calls begin and end, so they begin and end where the text says (at a
	 * line feed, or every SEGMENT_MAX bytes), never where a piece of input
	 * happened to end. The first pend_carry bytes are an incomplete
	 * sequence left over from the last segment.
	 */
	struct strbuf pend;
	size_t pend_carry;
};

/* Windows-1252 0x80-0x9f; 0 where it has no character (the C1 control is used). */
static const uint16_t cp1252_high[32] = {
    0x20ac, 0,	    0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,	    0x017d, 0,	    0,	    0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,	    0x017e, 0x0178,
};

/* Names iconv does not know, or knows only for a narrower charset than mail means. */
static const struct {
	const char *name, *iconv_name;
} charset_aliases[] = {
    {"ks_c_5601-1987", "CP949"},    {"ks_c_5601", "CP949"},	  {"x-sjis", "SHIFT_JIS"},
    {"iso-8859-8-i", "ISO-8859-8"}, {"gb2312", "GB18030"},	  {"x-gbk", "GBK"},
    {"windows-31j", "CP932"},	    {"x-mac-roman", "MACINTOSH"}, {"x-euc-jp", "EUC-JP"},
};

int mime_utf8_seq(const unsigned char *p, size_t len)
{
	unsigned char c = p[0];
	int n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((size_t)i >= len)
			return -1;
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		if (i == 1) {
			/* overlong forms, surrogates, beyond U+10FFFF */
			if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
			    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
				return 0;
		}
	}
	return n;
}

void mime_utf8_put(struct strbuf *out, uint32_t cp)
{
	char b[4];

	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		strbuf_append(out, MIME_REPLACEMENT, 3);
	} else if (cp < 0x80) {
		strbuf_putc(out, (int)cp);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		strbuf_append(out, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		strbuf_append(out, b, 3);
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		strbuf_append(out, b, 4);
	}
}

size_t mime_utf8_cut(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = len, back = 0;

	/* step back over continuation bytes to the start of the last character */
	while (i > 0 && back < 4 && (u[i - 1] & 0xc0) == 0x80) {
		i--;
		back++;
	}
	if (i == 0)
		return len;
	i--;
	if (u[i] < 0x80)
		return len;
	if (mime_utf8_seq(u + i, len - i) > 0)
		return len;
	return i;
}

static void put_cp1252(struct strbuf *out, unsigned char c)
{
	if (c < 0x80)
		strbuf_putc(out, c);
	else if (c < 0xa0 && cp1252_high[c - 0x80] != 0)
		mime_utf8_put(out, cp1252_high[c - 0x80]);
	else
		mime_utf8_put(out, c);
}

/* charset_clean - whether name is a plausible charset name (nothing iconv could misread). */
static bool charset_clean(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':' || c == '+'))
			return false;
	}
	return i > 0 && i <= 40;
}

static bool name_is(const char *name, const char *const *list)
{
	for (; *list != NULL; list++) {
		if (strcasecmp(name, *list) == 0)
			return true;
	}
	return false;
}

struct mime_conv *mime_conv_create(const char *charset)
{
	static const char *const utf8[] = {"utf-8", "utf8", NULL};
	static const char *const ascii[] = {"us-ascii",	 "ascii",	 "ansi_x3.4-1968", "us",
					    "iso646-us", "unknown-8bit", "x-unknown",	   NULL};
	static const char *const latin1[] = {
	    "iso-8859-1",   "iso8859-1", "iso_8859-1", "latin1",	  "l1", "cp819",
	    "windows-1252", "cp1252",	 "x-cp1252",   "iso-8859-1:1987", NULL};
	struct mime_conv *cv = xcalloc(1, sizeof(*cv));
	const char *name = charset;
	size_t i;

	cv->kind = CONV_UTF8_LAX;
	cv->cd = (iconv_t)-1;
	if (name == NULL || !charset_clean(name) || name_is(name, ascii))
		return cv;
	if (name_is(name, utf8)) {
		cv->kind = CONV_UTF8_STRICT;
		return cv;
	}
	if (name_is(name, latin1)) {
		cv->kind = CONV_CP1252;
		return cv;
	}
	for (i = 0; i < sizeof(charset_aliases) / sizeof(charset_aliases[0]); i++) {
		if (strcasecmp(name, charset_aliases[i].name) == 0) {
			name = charset_aliases[i].iconv_name;
			break;
		}
	}
	cv->cd = iconv_open("UTF-8", name);
	if (cv->cd != (iconv_t)-1)
		cv->kind = CONV_ICONV;
	return cv;
}

/* utf8_run - UTF-8 input; returns the bytes used (all but an incomplete tail unless final). */
static size_t utf8_run(struct mime_conv *cv, const unsigned char *p, size_t len, bool final,
		       struct strbuf *out)
{
	size_t i = 0, start = 0;
	int n;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = mime_utf8_seq(p + i, len - i);
		if (n > 0) {
			i += (size_t)n;
			continue;
		}
		strbuf_append(out, p + start, i - start);
		if (n < 0 && !final)
			return i;
		if (cv->kind == CONV_UTF8_LAX)
			put_cp1252(out, p[i]);
		else
			strbuf_append(out, MIME_REPLACEMENT, 3);
		start = ++i;
	}
	strbuf_append(out, p + start, i - start);
	return i;
}

static size_t cp1252_run(const unsigned char *p, size_t len, struct strbuf *out)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (p[i] >= 0x80) {
			strbuf_append(out, p + start, i - start);
			put_cp1252(out, p[i]);
			start = i + 1;
		}
	}
	strbuf_append(out, p + start, len - start);
	return len;
}

/* iconv_bad - iconv stopped at bytes it cannot convert: keep them if UTF-8, else U+FFFD. */
static size_t iconv_bad(const unsigned char *p, size_t len, struct strbuf *out)
{
	int n = mime_utf8_seq(p, len);

	if (n > 1) {
		strbuf_append(out, p, (size_t)n);
		return (size_t)n;
	}
	strbuf_append(out, MIME_REPLACEMENT, 3);
	return 1;
}

static size_t iconv_run(struct mime_conv *cv, const unsigned char *p, size_t len, bool final,
			struct strbuf *out)
{
	char *in = (char *)p, *o;
	size_t inleft = len, outleft, room, r;

	while (inleft > 0) {
		room = inleft * 4 + 32;
		strbuf_reserve(out, room);
		o = out->data + out->len;
		outleft = room;
		r = iconv(cv->cd, &in, &inleft, &o, &outleft);
		out->len += room - outleft;
		out->data[out->len] = '\0';
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		if (errno == EINVAL && !final && inleft < CARRY_MAX)
			break;
		/* bytes iconv refuses that may yet be UTF-8: wait for the rest */
		if (errno == EILSEQ && !final &&
		    mime_utf8_seq((const unsigned char *)in, inleft) < 0)
			break;
		/* EILSEQ, or an incomplete sequence at the very end */
		r = iconv_bad((const unsigned char *)in, inleft, out);
		in += r;
		inleft -= r;
	}
	return len - inleft;
}

static size_t conv_run(struct mime_conv *cv, const unsigned char *p, size_t len, bool final,
		       struct strbuf *out)
{
	switch (cv->kind) {
	case CONV_CP1252:
		return cp1252_run(p, len, out);
	case CONV_ICONV:
		return iconv_run(cv, p, len, final, out);
	default:
		return utf8_run(cv, p, len, final, out);
	}
}

/* iconv_feed - the segments that are complete now, through iconv. */
static void iconv_feed(struct mime_conv *cv, const void *data, size_t len, struct strbuf *out)
{
	size_t start = 0, carry = cv->pend_carry, fresh, seg, used;
	const char *nb, *lf;

	strbuf_append(&cv->pend, data, len);
	for (;;) {
		fresh = cv->pend.len - start - carry;
		nb = cv->pend.data + start + carry;
		lf = memchr(nb, '\n', fresh < SEGMENT_MAX ? fresh : SEGMENT_MAX);
		if (lf != NULL)
			seg = carry + (size_t)(lf - nb) + 1;
		else if (fresh >= SEGMENT_MAX)
			seg = carry + SEGMENT_MAX;
		else
			break;
		used = iconv_run(cv, (const unsigned char *)cv->pend.data + start, seg, false, out);
		start += used;
		carry = seg - used;
	}
	strbuf_consume(&cv->pend, start);
	cv->pend_carry = carry;
}

void mime_conv_feed(struct mime_conv *cv, const void *data, size_t len, struct strbuf *out)
{
	const unsigned char *p = data;
	unsigned char *tmp;
	size_t used, total;

	if (len == 0)
		return;
	if (cv->kind == CONV_ICONV) {
		iconv_feed(cv, data, len, out);
		return;
	}
	if (cv->ncarry == 0) {
		used = conv_run(cv, p, len, false, out);
		p += used;
		len -= used;
	} else {
		total = cv->ncarry + len;
		tmp = xmalloc(total);
		memcpy(tmp, cv->carry, cv->ncarry);
		memcpy(tmp + cv->ncarry, p, len);
		used = conv_run(cv, tmp, total, false, out);
		cv->ncarry = 0;
		if (used < total) {
			p = tmp + used;
			len = total - used;
			memcpy(cv->carry, p, len);
			cv->ncarry = len;
		}
		free(tmp);
		return;
	}
	if (len > 0) {
		memcpy(cv->carry, p, len);
		cv->ncarry = len;
	}
}

void mime_conv_finish(struct mime_conv *cv, struct strbuf *out)
{
	char *o;
	size_t outleft;

	if (cv->ncarry > 0) {
		conv_run(cv, cv->carry, cv->ncarry, true, out);
		cv->ncarry = 0;
	}
	if (cv->kind == CONV_ICONV) {
		if (cv->pend.len > 0)
			(void)iconv_run(cv, (const unsigned char *)cv->pend.data, cv->pend.len,
					true, out);
		strbuf_reset(&cv->pend);
		cv->pend_carry = 0;
		/* return to the initial shift state (nothing is expected for UTF-8) */
		strbuf_reserve(out, 32);
		o = out->data + out->len;
		outleft = 32;
		if (iconv(cv->cd, NULL, NULL, &o, &outleft) != (size_t)-1) {
			out->len += 32 - outleft;
			out->data[out->len] = '\0';
		}
	}
}

void mime_conv_free(struct mime_conv **cv)
{
	if (*cv == NULL)
		return;
	if ((*cv)->cd != (iconv_t)-1)
		iconv_close((*cv)->cd);
	strbuf_free(&(*cv)->pend);
	XFREE(*cv);
}

void mime_charset_to_utf8(const char *charset, const void *in, size_t len, struct strbuf *out)
{
	struct mime_conv *cv = mime_conv_create(charset);

	mime_conv_feed(cv, in, len, out);
	mime_conv_finish(cv, out);
	mime_conv_free(&cv);
}
