/*
 * smtp_decode - the DATA/BDAT content decoder (see smtp_decode.h).
 *
 * DATA mode is a byte-wise state machine with a fast path that copies runs
 * of ordinary bytes inside a line at once; a byte that ends a state without
 * belonging to it (the byte after a bare CR) is handled again in the new
 * state, so the outcome never depends on where the input was cut.
 */
#include <string.h>

#include "mail/smtp_decode.h"
#include "util/msg.h"

enum {
	ST_BOL,	   /* at the start of a line */
	ST_TEXT,   /* inside a line */
	ST_CR,	   /* after a CR inside a line */
	ST_DOT,	   /* after a '.' that starts a line (dropped) */
	ST_DOT_CR, /* after ".\r" at the start of a line */
};

void smtp_decoder_init(struct smtp_decoder *dec, enum smtp_decode_mode mode, size_t line_limit)
{
	if (line_limit < 3)
		msg_panic("smtp_decoder_init: line limit %zu", line_limit);
	memset(dec, 0, sizeof(*dec));
	dec->mode = mode;
	dec->line_limit = line_limit;
	dec->state = ST_BOL;
	dec->real_bol = 1;
}

static void emit(struct smtp_decoder *dec, struct strbuf *out, const char *p, size_t n)
{
	if (out != NULL)
		strbuf_append(out, p, n);
	dec->out_bytes += n;
}

/* grow_line - n more bytes in the current line (plus CR LF later): too long? */
static void grow_line(struct smtp_decoder *dec, size_t n)
{
	dec->line_len += n;
	if (dec->line_len + 2 > dec->line_limit)
		dec->seen |= SMTP_DECODE_LONG_LINE;
}

/* end_line - emit CR LF for a line ending; real: it was a real CR LF on input. */
static void end_line(struct smtp_decoder *dec, struct strbuf *out, int real)
{
	emit(dec, out, "\r\n", 2);
	dec->line_len = 0;
	dec->real_bol = real;
	dec->state = ST_BOL;
}

/* text_run - the bytes from p that hold no CR or LF: emitted at once. */
static size_t text_run(struct smtp_decoder *dec, const char *p, const char *end, struct strbuf *out)
{
	const char *q = p;

	while (q < end && *q != '\r' && *q != '\n')
		q++;
	if (q > p) {
		emit(dec, out, p, (size_t)(q - p));
		grow_line(dec, (size_t)(q - p));
	}
	return (size_t)(q - p);
}

/* step - one byte c in DATA mode; returns 0 when c must be handled again (new state). */
static int step(struct smtp_decoder *dec, char c, struct strbuf *out)
{
	switch (dec->state) {
	case ST_BOL:
		if (c == '.') {
			dec->state = ST_DOT;
			return 1;
		}
		dec->state = ST_TEXT;
		return 0;
	case ST_TEXT:
		if (c == '\r') {
			dec->state = ST_CR;
		} else if (c == '\n') {
			dec->seen |= SMTP_DECODE_BARE_LF;
			end_line(dec, out, 0);
		} else {
			emit(dec, out, &c, 1);
			grow_line(dec, 1);
		}
		return 1;
	case ST_CR:
		if (c == '\n') {
			end_line(dec, out, 1);
			return 1;
		}
		dec->seen |= SMTP_DECODE_BARE_CR;
		end_line(dec, out, 0);
		return 0;
	case ST_DOT:
		if (c == '\r') {
			dec->state = ST_DOT_CR;
		} else if (c == '\n') {
			dec->seen |= SMTP_DECODE_BARE_LF;
			end_line(dec, out, 0);
		} else {
			dec->state = ST_TEXT;
			return 0;
		}
		return 1;
	case ST_DOT_CR:
		if (c == '\n') {
			if (dec->real_bol)
				dec->done = 1;
			else
				end_line(dec, out, 1);
			return 1;
		}
		dec->seen |= SMTP_DECODE_BARE_CR;
		end_line(dec, out, 0);
		return 0;
	}
	msg_panic("smtp_decoder: bad state %d", dec->state);
}

static size_t feed_data(struct smtp_decoder *dec, const char *p, size_t len, struct strbuf *out)
{
	size_t i = 0;

	while (i < len && !dec->done) {
		if (dec->state == ST_TEXT) {
			i += text_run(dec, p + i, p + len, out);
			if (i == len)
				break;
		}
		if (step(dec, p[i], out))
			i++;
	}
	return i;
}

/* feed_bdat - BDAT: the bytes unchanged; only line lengths are watched. */
static size_t feed_bdat(struct smtp_decoder *dec, const char *p, size_t len, struct strbuf *out)
{
	const char *end = p + len, *lf;
	size_t n;

	emit(dec, out, p, len);
	while (p < end) {
		lf = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((lf != NULL ? lf : end) - p);
		dec->line_len += n;
		if (n > 0)
			dec->state = p[n - 1] == '\r' ? ST_CR : ST_TEXT;
		/* a CR just before the LF belongs to the line ending */
		if (dec->line_len - (dec->state == ST_CR ? 1 : 0) + 2 > dec->line_limit)
			dec->seen |= SMTP_DECODE_LONG_LINE;
		if (lf == NULL)
			break;
		dec->line_len = 0;
		dec->state = ST_BOL;
		p = lf + 1;
	}
	return len;
}

size_t smtp_decoder_feed(struct smtp_decoder *dec, const void *in, size_t len, struct strbuf *out)
{
	if (dec->done)
		return 0;
	if (dec->mode == SMTP_DECODE_BDAT)
		return feed_bdat(dec, in, len, out);
	return feed_data(dec, in, len, out);
}
