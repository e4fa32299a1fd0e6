/*
 * imap_utf7 - modified UTF-7 (RFC 3501 section 5.1.3), the encoding of
 * mailbox names for clients that have not enabled UTF8=ACCEPT or
 * IMAP4rev2, and the UTF-8 checks that go with it.
 *
 * Decoding is strict: it accepts only what the encoder produces, so that
 * one name has one spelling. Refused: bytes outside printable US-ASCII;
 * an unterminated "&" section; characters outside the modified BASE64
 * alphabet; padding bits that are not zero or a whole unused character;
 * a printable US-ASCII character encoded in BASE64; two BASE64 sections
 * in a row ("&...-&...-", which the encoder writes as one); unpaired
 * UTF-16 surrogates; U+0000.
 */
#ifndef TERN_IMAP_UTF7_H
#define TERN_IMAP_UTF7_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/*
 * imap_utf8_valid - s[0..len) is well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF) without NUL bytes.
 * A predicate: 1 or 0.
 */
int imap_utf8_valid(const char *s, size_t len);

/*
 * imap_utf8_next - decode the code point at s[*pos] (len bytes in all) and
 * advance *pos. Returns the code point, or -1 for an invalid sequence
 * (*pos then moves past one byte).
 */
int32_t imap_utf8_next(const char *s, size_t len, size_t *pos);

/* imap_utf8_to_utf7 - append the encoding of UTF-8 in to out: 0, or -1 for invalid UTF-8. */
int imap_utf8_to_utf7(const char *in, size_t len, struct strbuf *out);

/*
 * imap_utf7_to_utf8 - append the UTF-8 decoding of modified UTF-7 in to
 * out: 0, or -1 with *error_r (malloc'd) saying what is wrong; out may
 * then hold part of the result.
 */
int imap_utf7_to_utf8(const char *in, size_t len, struct strbuf *out, char **error_r);

#endif
