/*
 * test_mime_check - a strict checker of the IMAP text that mail/mime.h
 * writes, for the unit tests and the fuzz harness: it reads the
 * s-expression (atoms, quoted strings, literals, lists) and checks it
 * against RFC 3501's grammar of envelope and body.
 */
#ifndef TERN_TEST_MIME_CHECK_H
#define TERN_TEST_MIME_CHECK_H

#include <stddef.h>

/*
 * mime_check_envelope - whether s (len bytes) is one envelope, nothing
 * more. Returns 0, or -1 with *why set to a static description.
 */
int mime_check_envelope(const char *s, size_t len, const char **why);

/*
 * mime_check_body - whether s is one body: with extension data on every
 * part (extended, BODYSTRUCTURE) or none (BODY).
 */
int mime_check_body(const char *s, size_t len, int extended, const char **why);

#endif
