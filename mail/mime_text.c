/*
 * mime_text - the text of a text/... body part for the text callback:
 * transfer decoding (quoted-printable, base64), conversion to UTF-8 and,
 * for text/html, a crude removal of markup: tags, comments and the
 * content of script and style elements go, block elements become line
 * ends, and the common character references are resolved.
 *
 * Everything is streaming with a few bytes of state, so that the text
 * does not depend on how the body was cut into pieces.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/mime.h"
#include "mail/mime_impl.h"
#include "util/base64.h"
#include "util/mymalloc.h"

/* Longest tag name and character reference looked at. */
#define NAME_MAX_LEN 16

enum transfer { TE_IDENTITY, TE_QP, TE_BASE64 };

enum qp_state { QP_TEXT, QP_EQ, QP_HEX, QP_EQ_CR };

enum html_state {
	H_TEXT,
	H_TAG_START, /* after '<' */
	H_TAG_NAME,
	H_TAG,	     /* inside a tag, after its name */
	H_TAG_QUOTE, /* inside a quoted attribute value */
	H_COMMENT,   /* "<!--" ... "-->" */
	H_RAW,	     /* the content of script or style */
	H_ENTITY,    /* after '&' */
};

struct mime_textdec {
	enum transfer te;
	enum qp_state qp;
	unsigned char qp_hi; /* the first hex digit after '=' */
	struct base64_lenient b64;
	struct mime_conv *conv;
	bool html;
	enum html_state h;
	char name[NAME_MAX_LEN + 1]; /* tag name or reference being read */
	size_t nname;
	char quote;	   /* of H_TAG_QUOTE */
	int dashes;	   /* H_COMMENT: '-' seen in a row */
	bool raw_after;	   /* the tag being read starts script or style content */
	char raw_end[8];   /* H_RAW: "script" or "style" */
	size_t raw_match;  /* H_RAW: bytes of "</" + raw_end matched */
	struct strbuf dec; /* decoded bytes */
	struct strbuf utf; /* converted text before markup removal */
	unsigned broken;
};

struct mime_textdec *mime_textdec_create(const char *encoding, const char *charset, bool html)
{
	struct mime_textdec *td = xcalloc(1, sizeof(*td));

	td->te = TE_IDENTITY;
	if (encoding != NULL && strcmp(encoding, "quoted-printable") == 0)
		td->te = TE_QP;
	else if (encoding != NULL && strcmp(encoding, "base64") == 0)
		td->te = TE_BASE64;
	td->conv = mime_conv_create(charset);
	td->html = html;
	return td;
}

static void qp_byte(struct mime_textdec *td, unsigned char c, struct strbuf *out)
{
	int v;

	switch (td->qp) {
	case QP_TEXT:
		if (c == '=')
			td->qp = QP_EQ;
		else
			strbuf_putc(out, c);
		return;
	case QP_EQ:
		if (mime_hexval(c) >= 0) {
			td->qp_hi = c;
			td->qp = QP_HEX;
		} else if (c == '\r') {
			td->qp = QP_EQ_CR;
		} else if (c == '\n') {
			td->qp = QP_TEXT; /* soft line break */
		} else {
			td->broken |= MIME_BROKEN_ENCODING;
			strbuf_putc(out, '=');
			td->qp = QP_TEXT;
			qp_byte(td, c, out);
		}
		return;
	case QP_HEX:
		td->qp = QP_TEXT;
		if ((v = mime_hexval(c)) >= 0) {
			strbuf_putc(out, mime_hexval(td->qp_hi) * 16 + v);
		} else {
			td->broken |= MIME_BROKEN_ENCODING;
			strbuf_putc(out, '=');
			strbuf_putc(out, td->qp_hi);
			qp_byte(td, c, out);
		}
		return;
	case QP_EQ_CR:
		td->qp = QP_TEXT;
		if (c != '\n')
			qp_byte(td, c, out);
		return;
	}
}

static void b64_bytes(struct mime_textdec *td, const unsigned char *p, size_t len,
		      struct strbuf *out)
{
	if (base64_lenient_decode(&td->b64, out, (const char *)p, len) > 0)
		td->broken |= MIME_BROKEN_ENCODING;
}

/* tag_done - the name of the tag just read: what it stands for in the text. */
static void tag_done(struct mime_textdec *td, struct strbuf *out)
{
	static const char *const blocks[] = {"p",  "br", "div",	       "tr",  "li",    "h1",   "h2",
					     "h3", "h4", "h5",	       "h6",  "hr",    "ul",   "ol",
					     "dd", "dt", "blockquote", "pre", "table", "title"};
	const char *n = td->name[0] == '/' ? td->name + 1 : td->name;
	size_t i;

	td->name[td->nname] = '\0';
	td->raw_after = false;
	if (td->name[0] != '/' && (strcasecmp(n, "script") == 0 || strcasecmp(n, "style") == 0)) {
		td->raw_after = true;
		strcpy(td->raw_end, n[1] == 'c' || n[1] == 'C' ? "script" : "style");
		return;
	}
	if (strcasecmp(n, "td") == 0 || strcasecmp(n, "th") == 0) {
		strbuf_putc(out, ' ');
		return;
	}
	for (i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		if (strcasecmp(n, blocks[i]) == 0) {
			strbuf_putc(out, '\n');
			return;
		}
	}
}

/* entity_done - a character reference "&name;" (name in td->name): its text. */
static void entity_done(struct mime_textdec *td, struct strbuf *out)
{
	static const struct {
		const char *name;
		uint32_t cp;
	} named[] = {{"amp", '&'},	{"lt", '<'},	   {"gt", '>'},	       {"quot", '"'},
		     {"apos", '\''},	{"nbsp", ' '},	   {"copy", 0xa9},     {"reg", 0xae},
		     {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026}, {"euro", 0x20ac},
		     {"laquo", 0xab},	{"raquo", 0xbb},   {"shy", 0}};
	const char *n = td->name;
	char *end;
	unsigned long cp;
	size_t i;

	td->name[td->nname] = '\0';
	if (n[0] == '#') {
		cp = (n[1] == 'x' || n[1] == 'X') ? strtoul(n + 2, &end, 16)
						  : strtoul(n + 1, &end, 10);
		if (*end == '\0' && end != n + 1 && end != n + 2) {
			mime_utf8_put(out, cp == 0 || cp > 0x10ffff ? 0xfffd : (uint32_t)cp);
			return;
		}
	} else {
		for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
			if (strcmp(n, named[i].name) == 0) {
				if (named[i].cp != 0)
					mime_utf8_put(out, named[i].cp);
				return;
			}
		}
	}
	strbuf_putc(out, '&');
	strbuf_append(out, n, td->nname);
	strbuf_putc(out, ';');
}

static bool is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '#' || c == '/' || c == '!' || c == '-' || c == '?' || c == ':';
}

/* html_tag_byte - one byte in the states inside a tag or comment. */
static void html_tag_byte(struct mime_textdec *td, unsigned char c, struct strbuf *out)
{
	switch (td->h) {
	case H_TAG_NAME:
		if (td->nname == 3 && memcmp(td->name, "!--", 3) == 0) {
			td->h = H_COMMENT;
			td->dashes = 0;
			html_tag_byte(td, c, out);
			return;
		}
		if (is_name_char(c) && c != '/' && td->nname < NAME_MAX_LEN) {
			td->name[td->nname++] = (char)c;
			return;
		}
		if (is_name_char(c) && c != '/')
			return; /* a long name: the rest is ignored */
		tag_done(td, out);
		td->h = H_TAG;
		html_tag_byte(td, c, out);
		return;
	case H_TAG:
		if (c == '"' || c == '\'') {
			td->quote = (char)c;
			td->h = H_TAG_QUOTE;
		} else if (c == '>') {
			td->h = td->raw_after ? H_RAW : H_TEXT;
			td->raw_match = 0;
		}
		return;
	case H_TAG_QUOTE:
		if (c == (unsigned char)td->quote)
			td->h = H_TAG;
		return;
	case H_COMMENT:
		if (c == '>' && td->dashes >= 2)
			td->h = H_TEXT;
		td->dashes = c == '-' ? td->dashes + 1 : 0;
		return;
	default:
		return;
	}
}

static void html_byte(struct mime_textdec *td, unsigned char c, struct strbuf *out)
{
	size_t want;

	switch (td->h) {
	case H_TEXT:
		if (c == '<') {
			td->h = H_TAG_START;
		} else if (c == '&') {
			td->h = H_ENTITY;
			td->nname = 0;
		} else {
			strbuf_putc(out, c);
		}
		return;
	case H_TAG_START:
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '/' || c == '!' ||
		    c == '?') {
			td->h = H_TAG_NAME;
			td->name[0] = (char)c;
			td->nname = 1;
		} else {
			strbuf_putc(out, '<');
			td->h = H_TEXT;
			html_byte(td, c, out);
		}
		return;
	case H_ENTITY:
		if (c == ';' && td->nname > 0) {
			entity_done(td, out);
			td->h = H_TEXT;
		} else if (is_name_char(c) && c != '/' && c != '!' && td->nname < 10) {
			td->name[td->nname++] = (char)c;
		} else {
			strbuf_putc(out, '&');
			strbuf_append(out, td->name, td->nname);
			td->h = H_TEXT;
			html_byte(td, c, out);
		}
		return;
	case H_RAW:
		/* look for "</script" or "</style" */
		want = 2 + strlen(td->raw_end);
		if ((td->raw_match == 0 && c == '<') || (td->raw_match == 1 && c == '/') ||
		    (td->raw_match >= 2 && td->raw_match < want &&
		     (c | 0x20) == (unsigned char)td->raw_end[td->raw_match - 2])) {
			if (++td->raw_match == want) {
				td->h = H_TAG;
				td->raw_after = false;
			}
		} else {
			td->raw_match = c == '<' ? 1 : 0;
		}
		return;
	default:
		html_tag_byte(td, c, out);
		return;
	}
}

/* emit - decoded bytes to UTF-8, and through the markup remover for HTML. */
static void emit(struct mime_textdec *td, bool final, struct strbuf *out)
{
	size_t i;

	if (!td->html) {
		mime_conv_feed(td->conv, td->dec.data, td->dec.len, out);
		if (final)
			mime_conv_finish(td->conv, out);
		strbuf_reset(&td->dec);
		return;
	}
	strbuf_reset(&td->utf);
	mime_conv_feed(td->conv, td->dec.data, td->dec.len, &td->utf);
	if (final)
		mime_conv_finish(td->conv, &td->utf);
	strbuf_reset(&td->dec);
	for (i = 0; i < td->utf.len; i++)
		html_byte(td, (unsigned char)td->utf.data[i], out);
}

unsigned mime_textdec_feed(struct mime_textdec *td, const void *data, size_t len,
			   struct strbuf *out)
{
	const unsigned char *p = data;
	size_t i;

	switch (td->te) {
	case TE_QP:
		for (i = 0; i < len; i++)
			qp_byte(td, p[i], &td->dec);
		break;
	case TE_BASE64:
		b64_bytes(td, p, len, &td->dec);
		break;
	default:
		strbuf_append(&td->dec, p, len);
		break;
	}
	emit(td, false, out);
	return td->broken;
}

unsigned mime_textdec_finish(struct mime_textdec *td, struct strbuf *out)
{
	if (td->te == TE_QP && td->qp == QP_HEX) {
		strbuf_putc(&td->dec, '=');
		strbuf_putc(&td->dec, td->qp_hi);
		td->broken |= MIME_BROKEN_ENCODING;
	}
	if (td->te == TE_BASE64 && base64_lenient_pending(&td->b64))
		td->broken |= MIME_BROKEN_ENCODING;
	emit(td, true, out);
	if (td->html && td->h == H_ENTITY) {
		strbuf_putc(out, '&');
		strbuf_append(out, td->name, td->nname);
	} else if (td->html && td->h == H_TAG_START) {
		strbuf_putc(out, '<');
	}
	return td->broken;
}

void mime_textdec_free(struct mime_textdec **tdp)
{
	struct mime_textdec *td = *tdp;

	if (td == NULL)
		return;
	mime_conv_free(&td->conv);
	strbuf_free(&td->dec);
	strbuf_free(&td->utf);
	XFREE(*tdp);
}
