/*
 * mime_impl - what the files of the MIME parser (mail/mime*.c) share and
 * nothing else uses: the lexer of structured header fields, Content-*
 * parameters, UTF-8 helpers, the streaming text decoder and the IMAP
 * string writer.
 */
#ifndef TERN_MIME_IMPL_H
#define TERN_MIME_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/mime.h"
#include "util/strbuf.h"

/* ------------------------------------------------------------ lexer (mime_field.c) */

/* A cursor over a structured field value (RFC 5322 section 3.2, RFC 2045 section 5.1). */
struct mime_lex {
	const unsigned char *p, *end;
};

/* mime_hexval - the value of a hexadecimal digit (either case), or -1. */
int mime_hexval(unsigned char c);
/*
 * mime_hex_unescape - append s to out with each escape followed by two hex
 * digits replaced by the byte they give ('%' of RFC 2231 values, '=' of
 * RFC 2047 "Q"); with underscore, '_' becomes a space ("Q"). A broken
 * escape stays as it is.
 */
void mime_hex_unescape(const char *s, size_t len, char escape, bool underscore, struct strbuf *out);

void mime_lex_init(struct mime_lex *lx, const void *data, size_t len);

/*
 * mime_lex_cfws - skip white space, line ends and comments. When comment
 * is not NULL it is set to the text of the last comment skipped (nested
 * comments flattened, quoted pairs resolved); left alone when none.
 */
void mime_lex_cfws(struct mime_lex *lx, struct strbuf *comment);

/* mime_lex_token - an RFC 2045 token appended to out (lower-cased when lower); its length. */
size_t mime_lex_token(struct mime_lex *lx, struct strbuf *out, bool lower);

/*
 * mime_lex_quoted - at a '"': the quoted string's content (quoted pairs
 * resolved, folding removed) appended to out. An unterminated string ends
 * with the input.
 */
void mime_lex_quoted(struct mime_lex *lx, struct strbuf *out);

/* mime_unfold - value without its line ends (CR LF or LF) and NULs, appended to out. */
void mime_unfold(const char *value, size_t len, struct strbuf *out);

/* mime_trim - *data and *len narrowed to leave out leading and trailing white space. */
void mime_trim(const char **data, size_t *len);

/*
 * mime_parse_params - the parameters after a Content-Type or
 * Content-Disposition value (from ';' on), RFC 2231 sections joined and
 * decoded; the first of equal names wins. *params_r is NULL when none.
 */
void mime_parse_params(struct mime_lex *lx, struct mime_param **params_r, size_t *count_r);
void mime_params_free(struct mime_param *params, size_t count);

/* mime_param_get - the value of parameter name (lower case), or NULL. */
const char *mime_param_get(const struct mime_param *params, size_t count, const char *name);

/*
 * mime_content_type - parse a Content-Type value: 0 with type, subtype
 * (lower case) and parameters, or -1 when it is not "type/subtype".
 */
int mime_content_type(const char *value, size_t len, char **type_r, char **subtype_r,
		      struct mime_param **params_r, size_t *count_r);

/* mime_content_token - the first token of a value, lower case, or NULL (Content-Transfer-Encoding). */
char *mime_content_token(const char *value, size_t len);

/* mime_content_disposition - like mime_content_type for "token *(; param)". */
int mime_content_disposition(const char *value, size_t len, char **disposition_r,
			     struct mime_param **params_r, size_t *count_r);

/* ------------------------------------------------------------ UTF-8 (mime_charset.c) */

/*
 * mime_utf8_seq - the length of the valid UTF-8 sequence at p (len bytes
 * available): 1-4; 0 when the bytes cannot start one; -1 when they could
 * but len is too short to tell.
 */
int mime_utf8_seq(const unsigned char *p, size_t len);

/* mime_utf8_put - code point cp as UTF-8 appended to out. */
void mime_utf8_put(struct strbuf *out, uint32_t cp);

/* mime_utf8_cut - the longest prefix of s (at most len bytes) that does not cut a character. */
size_t mime_utf8_cut(const char *s, size_t len);

#define MIME_REPLACEMENT "\xef\xbf\xbd"

/*
 * A charset converter that keeps its state between calls, for text that
 * arrives in pieces: the result does not depend on where it was cut.
 */
struct mime_conv;

/* mime_conv_create - a converter from charset (NULL, unknown: UTF-8 with an ISO-8859-1 fallback). */
struct mime_conv *mime_conv_create(const char *charset);
/* mime_conv_feed - convert len more bytes, appending UTF-8 to out. */
void mime_conv_feed(struct mime_conv *cv, const void *data, size_t len, struct strbuf *out);
/* mime_conv_finish - the input is over: flush what is held back. */
void mime_conv_finish(struct mime_conv *cv, struct strbuf *out);
void mime_conv_free(struct mime_conv **cv);

/* ------------------------------------------------------------ text (mime_text.c) */

/* What a body text decoder needs: the part's transfer encoding, charset and subtype. */
struct mime_textdec;

struct mime_textdec *mime_textdec_create(const char *encoding, const char *charset, bool html);
/* mime_textdec_feed - raw body bytes in; UTF-8 text appended to out. Returns MIME_BROKEN_* seen. */
unsigned mime_textdec_feed(struct mime_textdec *td, const void *data, size_t len,
			   struct strbuf *out);
unsigned mime_textdec_finish(struct mime_textdec *td, struct strbuf *out);
void mime_textdec_free(struct mime_textdec **td);

/* ------------------------------------------------------------ words (mime_words.c) */

/*
 * mime_decode_phrase - like mime_decode_words, for a phrase already
 * stripped of quotes (display names): the same decoding.
 */
#define mime_decode_phrase mime_decode_words

/* ------------------------------------------------------------ IMAP output (mime_imap.c) */

/* mime_imap_string - s (len bytes) as an IMAP string: quoted, or a literal (NULs dropped). */
void mime_imap_string(struct strbuf *out, const char *s, size_t len);
/* mime_imap_nstring - s as an IMAP string, or NIL when s is NULL. */
void mime_imap_nstring(struct strbuf *out, const char *s);

/* ------------------------------------------------------------ envelope (mime_envelope.c) */

/* mime_envelope_field - one header field of a message (name, unfolded value) into env. */
void mime_envelope_field(struct mime_envelope *env, const char *name, size_t name_len,
			 const char *value, size_t len);
void mime_envelope_free(struct mime_envelope **env);

#endif
