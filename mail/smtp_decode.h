/*
 * smtp_decode - the message content decoder for DATA and BDAT that smtpd
 * and lmtp share: a state machine fed any number of bytes at a time (the
 * result does not depend on how the input is cut), with no I/O.
 *
 * DATA mode (RFC 5321 section 4.1.1.4 and 4.5.2):
 *   - only <CRLF>.<CRLF> ends the data: the dot must be alone on a line that
 *     begins after a real CR LF (or at the very start of the data) and ends
 *     with a real CR LF. A bare LF or a bare CR, before or after the dot,
 *     never ends the data ("SMTP smuggling": "\n.\n", "\r\n.\n", "\n.\r\n",
 *     "\r.\r", "\r\n.\r" ... are all content);
 *   - a line that begins with '.' loses that dot (dot-unstuffing);
 *   - every line ending is passed on as CR LF: a bare LF or a bare CR is
 *     replaced by CR LF and reported (SMTP_DECODE_BARE_LF, _BARE_CR), so
 *     that the caller may refuse the message or accept it normalised, and
 *     the content a later hop sees has the same lines as the content we
 *     judged;
 *   - lines longer than the limit are reported (SMTP_DECODE_LONG_LINE).
 * BDAT mode (RFC 3030): the bytes are passed on unchanged, with no end
 * marker and no dot-unstuffing (BDAT counts bytes); only long lines (ended
 * by LF) are reported.
 *
 * Line lengths count the line's bytes after dot-unstuffing plus two for its
 * CR LF, as RFC 5321 section 4.5.3.1.6 does (at most 1000 with them).
 */
#ifndef TERN_SMTP_DECODE_H
#define TERN_SMTP_DECODE_H

#include <stddef.h>

#include "util/strbuf.h"

/* What the decoder saw (bit mask in decoder->seen). */
#define SMTP_DECODE_BARE_LF (1u << 0)
#define SMTP_DECODE_BARE_CR (1u << 1)
#define SMTP_DECODE_LONG_LINE (1u << 2)

enum smtp_decode_mode { SMTP_DECODE_DATA, SMTP_DECODE_BDAT };

struct smtp_decoder {
	enum smtp_decode_mode mode;
	size_t line_limit;	      /* longest line including its CR LF */
	int state;		      /* internal */
	int real_bol;		      /* internal: the line began after a real CR LF */
	size_t line_len;	      /* bytes of the current line so far */
	unsigned seen;		      /* SMTP_DECODE_* */
	int done;		      /* DATA: the end-of-data line was consumed */
	unsigned long long out_bytes; /* content bytes produced so far */
};

/* smtp_decoder_init - start decoding; line_limit >= 3 (1000 for RFC 5321). */
void smtp_decoder_init(struct smtp_decoder *dec, enum smtp_decode_mode mode, size_t line_limit);

/*
 * smtp_decoder_feed - decode the len bytes at in, appending content to out
 * (when out is NULL the content is only counted). Returns the number of
 * input bytes consumed: all of them, except in DATA mode when the end of
 * the data is reached (dec->done), where it stops just after the final
 * <CRLF>.<CRLF>; what follows is the next command. After done, feeding
 * consumes nothing.
 */
size_t smtp_decoder_feed(struct smtp_decoder *dec, const void *in, size_t len, struct strbuf *out);

#endif
