/*
 * imap_search - the search program of SEARCH, SORT and THREAD: the keys of
 * RFC 9051 section 6.4.4 and RFC 3501 (NEW, OLD, RECENT), MODSEQ (RFC
 * 7162), "$" (RFC 5182), the RETURN options of ESEARCH (RFC 4731) with
 * SAVE (RFC 5182), CHARSET; and the SORT criteria and THREAD algorithms
 * of RFC 5256. Parsed from a command's arguments into a tree of keys.
 *
 * The tree: a program has one root; several keys side by side and a
 * parenthesised list become IMAP_SK_AND over a list of children; UNSEEN
 * and the other UN- keys become IMAP_SK_NOT over the flag; FROM, TO, CC,
 * BCC and SUBJECT become IMAP_SK_HEADER with the field name. Strings are
 * UTF-8 (only US-ASCII and UTF-8 charsets are accepted).
 */
#ifndef TERN_IMAP_SEARCH_H
#define TERN_IMAP_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parser.h"
#include "imap/imap_seqset.h"

enum imap_search_type {
	IMAP_SK_ALL,
	IMAP_SK_AND,	    /* every child */
	IMAP_SK_OR,	    /* either of two children */
	IMAP_SK_NOT,	    /* not the child */
	IMAP_SK_SEQSET,	    /* message sequence numbers: set (may be "$") */
	IMAP_SK_UIDSET,	    /* UIDs: set (may be "$") */
	IMAP_SK_FLAG,	    /* system flag flag (IMAP_FLAG_*, imap_arg.h) is set */
	IMAP_SK_KEYWORD,    /* keyword str is set */
	IMAP_SK_NEW,	    /* \Recent and not \Seen (RFC 3501) */
	IMAP_SK_OLD,	    /* not \Recent (RFC 3501) */
	IMAP_SK_RECENT,	    /* \Recent (RFC 3501) */
	IMAP_SK_BEFORE,	    /* internal date before day */
	IMAP_SK_ON,	    /* internal date on day */
	IMAP_SK_SINCE,	    /* internal date on or after day */
	IMAP_SK_SENTBEFORE, /* Date: header, same */
	IMAP_SK_SENTON,
	IMAP_SK_SENTSINCE,
	IMAP_SK_LARGER,	 /* size > number */
	IMAP_SK_SMALLER, /* size < number */
	IMAP_SK_HEADER,	 /* header field holds str ("" : the field exists) */
	IMAP_SK_BODY,	 /* body holds str */
	IMAP_SK_TEXT,	 /* header or body holds str */
	IMAP_SK_MODSEQ	 /* MODSEQ >= number (entry, entry_type: see below) */
};

enum imap_search_entry_type { IMAP_ENTRY_NONE, IMAP_ENTRY_PRIV, IMAP_ENTRY_SHARED, IMAP_ENTRY_ALL };

struct imap_search_key {
	enum imap_search_type type;
	struct imap_search_key *child; /* AND, OR (two), NOT (one): first child */
	struct imap_search_key *next;  /* the next sibling */
	struct imap_seqset set;	       /* SEQSET, UIDSET */
	unsigned flag;		       /* FLAG */
	char *field;		       /* HEADER: the field name, as sent ("From" for FROM) */
	char *str;		       /* KEYWORD, HEADER, BODY, TEXT */
	int64_t day;		       /* dates: days since 1970-01-01 (imap_date_days()) */
	uint64_t number;	       /* LARGER, SMALLER, MODSEQ */
	char *entry;		       /* MODSEQ: entry name ("/flags/\\seen"), or NULL */
	enum imap_search_entry_type entry_type;
};

/* RETURN options (RFC 4731, RFC 5182). */
#define IMAP_SEARCH_RETURN_MIN 0x01u
#define IMAP_SEARCH_RETURN_MAX 0x02u
#define IMAP_SEARCH_RETURN_ALL 0x04u
#define IMAP_SEARCH_RETURN_COUNT 0x08u
#define IMAP_SEARCH_RETURN_SAVE 0x10u

struct imap_search {
	int esearch;	  /* 1: RETURN was given: answer ESEARCH */
	unsigned options; /* IMAP_SEARCH_RETURN_*; "RETURN ()" means ALL */
	char *charset;	  /* as given (upper case), or NULL */
	struct imap_search_key *root;
	int uses_dollar; /* some key is "$" */
	int uses_modseq; /* some key is MODSEQ: CONDSTORE is implied */
};

enum imap_search_error {
	IMAP_SEARCH_BAD = -1,	    /* syntax: answer BAD */
	IMAP_SEARCH_BADCHARSET = -2 /* answer NO [BADCHARSET (US-ASCII UTF-8)] */
};

/* What a search may hold (imap_search_parse()'s flags). */
#define IMAP_SEARCH_ALLOW_RETURN 0x1u /* SEARCH: RETURN (...) may come first */
#define IMAP_SEARCH_NEED_CHARSET 0x2u /* SORT, THREAD: the charset is not optional */

/*
 * imap_search_parse - args[0..count) of SEARCH (flags
 * IMAP_SEARCH_ALLOW_RETURN), or of SORT or THREAD after their first
 * argument (IMAP_SEARCH_NEED_CHARSET). Fills *search (free it either way):
 * 0, or an imap_search_error with *error_r (malloc'd) naming the bad key.
 */
int imap_search_parse(const struct imap_arg *args, size_t count, unsigned flags,
		      struct imap_search *search, char **error_r);

void imap_search_free(struct imap_search *search);

/* imap_search_key_free - free a key and its siblings and children. */
void imap_search_key_free(struct imap_search_key *key);

/* The depth of nested keys (NOT, OR, lists) allowed. */
#define IMAP_SEARCH_DEPTH_MAX 64

/* ------------------------------------------------------------------ SORT */

enum imap_sort_type {
	IMAP_SORT_ARRIVAL,
	IMAP_SORT_CC,
	IMAP_SORT_DATE,
	IMAP_SORT_FROM,
	IMAP_SORT_SIZE,
	IMAP_SORT_SUBJECT,
	IMAP_SORT_TO
};

struct imap_sort_key {
	enum imap_sort_type type;
	int reverse;
};

#define IMAP_SORT_KEYS_MAX 16

/*
 * imap_sort_parse - the sort criteria of SORT (a list such as
 * "(REVERSE DATE SUBJECT)"): keys[0..*count_r), at most
 * IMAP_SORT_KEYS_MAX. 0, or -1 with *error_r.
 */
int imap_sort_parse(const struct imap_arg *arg, struct imap_sort_key *keys, size_t *count_r,
		    char **error_r);

enum imap_thread_alg { IMAP_THREAD_ORDEREDSUBJECT, IMAP_THREAD_REFERENCES };

/* imap_thread_parse - THREAD's algorithm name: 0, or -1 with *error_r. */
int imap_thread_parse(const struct imap_arg *arg, enum imap_thread_alg *alg_r, char **error_r);

#endif
