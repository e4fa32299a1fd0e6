/*
 * mime_words - RFC 2047 encoded words ("=?charset?Q?...?=", "=?...?B?...?=")
 * in unstructured header fields and in phrases, decoded to UTF-8.
 *
 * White space between two encoded words goes, and the bytes of adjacent
 * words in the same charset are joined before they are converted, so that
 * a character split across two words (as some mailers do) comes out
 * whole. An RFC 2231 language ("=?utf-8*en?Q?...?=") is ignored. Words
 * that do not parse (an unknown encoding, no closing "?=", white space
 * inside) stay as they are, and so does the text around words: bytes that
 * are not ASCII in it are read as UTF-8, or Windows-1252 where they are
 * not valid UTF-8. Encoded words are also recognised inside other text
 * and quoted strings, as most mail readers do.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/mime.h"
#include "mail/mime_impl.h"
#include "util/base64.h"
#include "util/mymalloc.h"

/* Longest charset name in an encoded word. */
#define WORD_CHARSET_MAX 64

struct words {
	struct strbuf *out;
	struct strbuf raw;		    /* text not yet converted */
	struct strbuf acc;		    /* bytes of adjacent encoded words not yet converted */
	struct strbuf ws;		    /* white space after an encoded word, held back */
	char charset[WORD_CHARSET_MAX + 1]; /* of acc */
};

/* decode_b - lenient base64: stops at '=', skips what is not in the alphabet. */
static void decode_b(const char *s, size_t len, struct strbuf *out)
{
	struct base64_lenient st = {0, 0};
	const char *pad = memchr(s, '=', len);

	(void)base64_lenient_decode(&st, out, s, pad != NULL ? (size_t)(pad - s) : len);
}

/*
 * Where the last search for the end of an encoded word stopped: at "?="
 * (close), at a byte no encoded word holds, or at the end. A search that
 * starts before that point stops there too, so no byte is searched twice
 * (a field full of "=?x?q?" openers without their end stays linear).
 */
struct word_scan {
	const char *from, *stop;
	bool close;
};

/* word_end - the "?=" that ends the encoded text starting at text, or NULL. */
static const char *word_end(const char *text, const char *end, struct word_scan *scan)
{
	const char *p;

	if (scan->from != NULL && text >= scan->from && text <= scan->stop)
		return scan->close ? scan->stop : NULL;
	for (p = text; p + 1 < end; p++) {
		if (p[0] == '?' && p[1] == '=')
			break;
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			break;
	}
	scan->from = text;
	scan->stop = p;
	scan->close = p + 1 < end && p[0] == '?' && p[1] == '=';
	return scan->close ? p : NULL;
}

/*
 * parse_word - an encoded word at s (len bytes left, s starts "=?"): its
 * length, its charset in charset and its bytes appended to bytes; 0 when
 * it is not one.
 */
static size_t parse_word(const char *s, size_t len, char *charset, struct strbuf *bytes,
			 struct word_scan *scan)
{
	const char *p = s + 2, *end = s + len, *cs, *text, *close;
	size_t cslen;
	char enc;

	cs = p;
	while (p < end && p - cs <= WORD_CHARSET_MAX && *p != '?' && (unsigned char)*p > 0x20 &&
	       (unsigned char)*p < 0x7f)
		p++;
	if (p == end || *p != '?' || p == cs)
		return 0;
	cslen = (size_t)(p - cs);
	if (memchr(cs, '*', cslen) != NULL)
		cslen = (size_t)((const char *)memchr(cs, '*', cslen) - cs);
	if (cslen == 0 || cslen > WORD_CHARSET_MAX)
		return 0;
	if (end - p < 4 || p[2] != '?')
		return 0;
	enc = p[1];
	if (enc != 'q' && enc != 'Q' && enc != 'b' && enc != 'B')
		return 0;
	text = p + 3;
	if ((close = word_end(text, end, scan)) == NULL)
		return 0;
	memcpy(charset, cs, cslen);
	charset[cslen] = '\0';
	if (enc == 'q' || enc == 'Q')
		mime_hex_unescape(text, (size_t)(close - text), '=', true, bytes);
	else
		decode_b(text, (size_t)(close - text), bytes);
	return (size_t)(close + 2 - s);
}

static void flush_acc(struct words *w)
{
	if (w->acc.len > 0)
		mime_charset_to_utf8(w->charset, w->acc.data, w->acc.len, w->out);
	strbuf_reset(&w->acc);
	w->charset[0] = '\0';
}

static void flush_raw(struct words *w)
{
	if (w->raw.len > 0)
		mime_charset_to_utf8(NULL, w->raw.data, w->raw.len, w->out);
	strbuf_reset(&w->raw);
}

/* word_found - an encoded word: joined to the one before when only white space is between. */
static void word_found(struct words *w, const char *charset, struct strbuf *bytes)
{
	if (w->raw.len > 0) {
		/* text before: the word is not adjacent to one before it */
		flush_acc(w);
		flush_raw(w);
	}
	strbuf_reset(&w->ws); /* white space between adjacent words goes */
	if (w->acc.len > 0 && strcasecmp(w->charset, charset) != 0)
		flush_acc(w);
	if (w->acc.len == 0)
		strcpy(w->charset, charset);
	strbuf_append(&w->acc, bytes->data, bytes->len);
}

void mime_decode_words(const char *value, size_t len, struct strbuf *out)
{
	struct words w = {out, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, ""};
	struct strbuf bytes = STRBUF_INIT;
	struct word_scan scan = {NULL, NULL, false};
	char charset[WORD_CHARSET_MAX + 1];
	bool after_word = false;
	size_t i = 0, n;
	char c;

	while (i < len) {
		c = value[i];
		if (c == '=' && i + 1 < len && value[i + 1] == '?') {
			strbuf_reset(&bytes);
			n = parse_word(value + i, len - i, charset, &bytes, &scan);
			if (n > 0) {
				word_found(&w, charset, &bytes);
				after_word = true;
				i += n;
				continue;
			}
		}
		i++;
		if (c == '\r' || c == '\n')
			continue;
		if (after_word && (c == ' ' || c == '\t')) {
			strbuf_putc(&w.ws, c);
			continue;
		}
		if (after_word) {
			flush_acc(&w);
			strbuf_append(&w.raw, w.ws.data, w.ws.len);
			strbuf_reset(&w.ws);
			after_word = false;
		}
		strbuf_putc(&w.raw, c);
	}
	flush_acc(&w);
	strbuf_append(&w.raw, w.ws.data, w.ws.len);
	flush_raw(&w);
	if (out->data == NULL)
		strbuf_reserve(out, 1);
	strbuf_free(&w.raw);
	strbuf_free(&w.acc);
	strbuf_free(&w.ws);
	strbuf_free(&bytes);
}
