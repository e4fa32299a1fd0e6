/*
 * imap_write - the string forms of server output (RFC 9051 section 4.3):
 * a string goes out as an atom where an astring is allowed and it is one,
 * else quoted when it can be, else as a literal "{n}" CR LF bytes (never
 * literal8: a string holds no NUL, and BINARY writes its own ~{n}).
 *
 * Quotable: no NUL, CR or LF, at most IMAP_QUOTED_MAX bytes, and 7-bit
 * unless IMAP_WRITE_UTF8 (UTF8=ACCEPT or IMAP4rev2 enabled) and then
 * valid UTF-8. Flags, mailbox names and date-times have writers too.
 */
#ifndef TERN_IMAP_WRITE_H
#define TERN_IMAP_WRITE_H

#include <stddef.h>
#include <time.h>

struct strbuf;

#define IMAP_WRITE_UTF8 0x1u /* the client accepts UTF-8 in quoted strings */

/* Longer strings go out as literals, for readability of the protocol. */
#define IMAP_QUOTED_MAX 1024

/* imap_string_quotable - s[0..len) may be written quoted (a predicate). */
int imap_string_quotable(const char *s, size_t len, unsigned flags);

/* imap_write_quoted - append s quoted with escapes; the caller checked it is quotable. */
void imap_write_quoted(struct strbuf *out, const char *s, size_t len);

/* imap_write_literal - append "{len}" CR LF and the bytes. */
void imap_write_literal(struct strbuf *out, const char *s, size_t len);

/* imap_write_string - quoted if quotable, else a literal. */
void imap_write_string(struct strbuf *out, const char *s, size_t len, unsigned flags);

/* imap_write_astring - an atom when s is one (and not NIL), else imap_write_string(). */
void imap_write_astring(struct strbuf *out, const char *s, size_t len, unsigned flags);

/* imap_write_nstring - NIL for s NULL, else imap_write_string(). */
void imap_write_nstring(struct strbuf *out, const char *s, size_t len, unsigned flags);

/*
 * imap_write_mailbox - a UTF-8 mailbox name as an astring: modified UTF-7
 * unless IMAP_WRITE_UTF8 is in flags.
 */
void imap_write_mailbox(struct strbuf *out, const char *name, unsigned flags);

/*
 * imap_write_flags - a flag list: "(" the system flags of bits
 * (IMAP_FLAG_*, \Recent included), the keywords (space-separated, as the
 * store keeps them; NULL for none), then extra (e.g. "\\*" for
 * PERMANENTFLAGS; NULL for none) ")".
 */
void imap_write_flags(struct strbuf *out, unsigned bits, const char *keywords, const char *extra);

/* imap_write_datetime - a quoted date-time in the zone tz minutes east of UTC. */
void imap_write_datetime(struct strbuf *out, time_t t, int tz);

#endif
