/*
 * imap_arg - reading the arguments of a parsed command (imap_parser.h) as
 * the grammar of RFC 9051 section 9 wants them: atom, astring, string,
 * nstring, numbers, mailbox names and LIST patterns, flags, dates.
 *
 * Each returns 0 or -1; strings returned point into the argument and live
 * as long as it. A literal8 is never a string, nor is a streamed literal;
 * a string holding a NUL byte is refused.
 */
#ifndef TERN_IMAP_ARG_H
#define TERN_IMAP_ARG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap/imap_date.h"
#include "imap/imap_parser.h"

/* imap_arg_atom - an atom of RFC 9051 ATOM-CHARs. */
int imap_arg_atom(const struct imap_arg *arg, const char **str_r);

/* imap_arg_atom_is - arg is the atom word, in any case (a predicate). */
int imap_arg_atom_is(const struct imap_arg *arg, const char *word);

/* imap_arg_astring - an atom of ASTRING-CHARs (NIL included), a quoted string or a literal. */
int imap_arg_astring(const struct imap_arg *arg, const char **str_r, size_t *len_r);

/* imap_arg_string - a quoted string or a literal. */
int imap_arg_string(const struct imap_arg *arg, const char **str_r, size_t *len_r);

/* imap_arg_nstring - a string, or NIL (*str_r NULL, *len_r 0). */
int imap_arg_nstring(const struct imap_arg *arg, const char **str_r, size_t *len_r);

/*
 * Numbers, atoms of digits: number 0..4294967295, nz-number 1..4294967295,
 * number64 0..2^63-1 (RFC 9051); no sign, no leading zero but in "0".
 * The imap_parse_* forms take a C string.
 */
int imap_parse_number(const char *s, uint32_t *n_r);
int imap_parse_nz_number(const char *s, uint32_t *n_r);
int imap_parse_number64(const char *s, uint64_t *n_r);
int imap_arg_number(const struct imap_arg *arg, uint32_t *n_r);
int imap_arg_nz_number(const struct imap_arg *arg, uint32_t *n_r);
int imap_arg_number64(const struct imap_arg *arg, uint64_t *n_r);

/*
 * imap_arg_mailbox - a mailbox name (astring), decoded to UTF-8 as
 * imap_mailbox_decode() does. *name_r and *error_r are malloc'd.
 */
int imap_arg_mailbox(const struct imap_arg *arg, int utf8, char **name_r, char **error_r);

/*
 * imap_arg_list_mailbox - a LIST pattern (list-mailbox: an atom that may
 * hold "%", "*" and "]", or a string), decoded as
 * imap_mailbox_pattern_decode() does; the empty string is valid.
 */
int imap_arg_list_mailbox(const struct imap_arg *arg, int utf8, char sep, char **pattern_r,
			  char **error_r);

/* System flags; the values are those of store.h's STORE_SEEN ... STORE_DRAFT. */
#define IMAP_FLAG_SEEN 0x01u
#define IMAP_FLAG_ANSWERED 0x02u
#define IMAP_FLAG_FLAGGED 0x04u
#define IMAP_FLAG_DELETED 0x08u
#define IMAP_FLAG_DRAFT 0x10u
#define IMAP_FLAG_RECENT 0x20u /* output only: never accepted from a client */

/* imap_flag_system - the bit of a system flag name ("\Seen", any case), or 0. */
unsigned imap_flag_system(const char *name);

/* imap_flag_keyword_valid - name is a valid keyword (an atom, no "\"): a predicate. */
int imap_flag_keyword_valid(const char *name);

struct imap_flags {
	unsigned system;  /* IMAP_FLAG_* */
	char **keywords;  /* malloc'd, as sent; no two equal without regard to case */
	size_t nkeywords; /* at most IMAP_KEYWORDS_MAX */
};

#define IMAP_KEYWORDS_MAX 256

void imap_flags_free(struct imap_flags *flags);

/*
 * imap_arg_flags - the flags of APPEND (a flag-list) or STORE (a flag-list
 * or flags one by one): args[0..count) is either one list or atoms.
 * \Recent, "\*" and unknown \-flags are refused, as are invalid keywords.
 * An empty list is valid. *flags_r filled (free it either way).
 */
int imap_arg_flags(const struct imap_arg *args, size_t count, struct imap_flags *flags_r,
		   char **error_r);

/* imap_arg_date - a SEARCH date: date-text as an atom or quoted. */
int imap_arg_date(const struct imap_arg *arg, struct imap_date *date_r);

/* imap_arg_datetime - an APPEND date-time: quoted (or a literal). */
int imap_arg_datetime(const struct imap_arg *arg, time_t *t_r, int *tz_r);

#endif
