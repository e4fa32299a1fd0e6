/*
 * imap_mailbox - mailbox names between the wire and the store: decoding
 * (modified UTF-7, or UTF-8 once UTF8=ACCEPT or IMAP4rev2 is enabled),
 * encoding for output, and the LIST wildcards ("*" matches anything, "%"
 * anything but the hierarchy separator).
 */
#ifndef TERN_IMAP_MAILBOX_H
#define TERN_IMAP_MAILBOX_H

#include <stddef.h>

struct strbuf;

/*
 * imap_mailbox_decode - the name a client sent (the astring's bytes) as
 * the UTF-8 name the store uses. utf8 0: strict modified UTF-7 (8-bit
 * bytes refused); utf8 1: well-formed UTF-8, taken as is. NUL and other
 * control characters are refused. "INBOX" in any case becomes "INBOX".
 * 0 and *name_r (malloc'd), or -1 with *error_r (malloc'd).
 */
int imap_mailbox_decode(const char *name, size_t len, int utf8, char **name_r, char **error_r);

/*
 * imap_mailbox_pattern_decode - a LIST or LSUB pattern (reference and
 * mailbox joined by the caller, or each alone), decoded as
 * imap_mailbox_decode() does; a leading "INBOX" in any case, alone or
 * followed by sep or a wildcard, becomes "INBOX".
 */
int imap_mailbox_pattern_decode(const char *pattern, size_t len, int utf8, char sep,
				char **pattern_r, char **error_r);

/*
 * imap_mailbox_encode - append a UTF-8 name as the client expects it
 * (modified UTF-7 unless utf8), bare: the caller quotes it
 * (imap_write_mailbox() does both). A name that is not valid UTF-8 is
 * written as it is.
 */
void imap_mailbox_encode(struct strbuf *out, const char *name, int utf8);

/*
 * imap_mailbox_match - pattern (decoded) matches name: "*" any run of
 * bytes, "%" any run without sep, other bytes themselves (case matters).
 * Time at most proportional to the product of the lengths. A predicate.
 */
int imap_mailbox_match(const char *pattern, const char *name, char sep);

#endif
