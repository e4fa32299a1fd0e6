/*
 * imap_subject - the base subject of RFC 5256 section 2.1, which SORT
 * SUBJECT and THREAD compare: "Re: [list] Fwd: Hello (fwd)" has the base
 * subject "Hello".
 */
#ifndef TERN_IMAP_SUBJECT_H
#define TERN_IMAP_SUBJECT_H

#include <stddef.h>

/*
 * imap_base_subject - the base subject (malloc'd) of subject[0..len) (no NUL),
 * already decoded from RFC 2047 to UTF-8: tabs, CR and LF become spaces,
 * runs of spaces one space; trailing "(fwd)" and spaces, leading "Re:",
 * "Fw:", "Fwd:" (each possibly with a "[blob]" before the colon), "[blob]"
 * prefixes (unless nothing would be left) and a "[fwd: ...]" wrapping
 * removed, repeatedly. Matching is without regard to case. *reply_r (may
 * be NULL) says whether a reply or forward marker was removed (the
 * "Re:"/"Fwd:" test of THREAD=REFERENCES). The result is not case-folded.
 */
char *imap_base_subject(const char *subject, size_t len, int *reply_r);

#endif
