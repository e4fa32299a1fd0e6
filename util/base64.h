/*
 * base64 - the base64 encoding of RFC 4648 section 4 (alphabet A-Z a-z 0-9
 * + /, padding with '='), as SASL exchanges carry it in SMTP, IMAP, POP3
 * and ManageSieve.
 *
 * Decoding is strict: the input is a whole number of 4-character groups;
 * every character is in the alphabet; '=' appears only as the padding of the
 * last group ("xx==" or "xxx="); the bits that padding leaves unused are
 * zero, so that every byte string has exactly one accepted encoding. White
 * space and line breaks are characters like any other: refused. The empty
 * string decodes to zero bytes.
 *
 * Lenient decoding (base64_lenient_decode) is for text that only claims to
 * be base64, such as mail bodies and encoded words: it runs on pieces of
 * any size, skips what is not in the alphabet, and lets '=' end a group.
 */
#ifndef TERN_BASE64_H
#define TERN_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* base64_encoded_len - the length of the encoding of len bytes (SIZE_MAX on overflow). */
size_t base64_encoded_len(size_t len);

/* base64_decoded_len - the most bytes that len characters of base64 decode to. */
size_t base64_decoded_len(size_t len);

/* base64_encode - append the encoding of the len bytes at data to out. */
void base64_encode(struct strbuf *out, const void *data, size_t len);

/*
 * base64_decode - append the bytes that the len characters at in encode to
 * out. Returns 0, or -1 with *error_r set (malloc'd, caller frees) saying
 * what is wrong and where; out then holds what it held before.
 */
int base64_decode(struct strbuf *out, const char *in, size_t len, char **error_r);

/* The state of a lenient decoding between pieces of input; zero-initialise it. */
struct base64_lenient {
	uint32_t acc; /* the bits not yet decoded, in the low end */
	int bits;     /* how many: 0 to 12 */
};

/*
 * base64_lenient_decode - append the bytes that the len characters at in
 * encode to out, carrying an incomplete group over to the next call in st.
 * '=' ends a group: its leftover bits are dropped (what follows may be a
 * new encoding). Characters outside the alphabet are skipped. Returns how
 * many of the skipped characters were neither '=' nor white space (CR, LF,
 * space, tab): 0 for clean input.
 */
size_t base64_lenient_decode(struct base64_lenient *st, struct strbuf *out, const char *in,
			     size_t len);

/*
 * base64_lenient_pending - whether st holds a whole sextet or more that no
 * byte took: the input ended inside a group.
 */
int base64_lenient_pending(const struct base64_lenient *st);

#endif
