/*
 * imap_seqset - sequence sets (RFC 9051 "sequence-set", with "$" of
 * SEARCHRES, RFC 5182): "1:5,7,9:*" for message sequence numbers or UIDs.
 *
 * A set as parsed keeps its ranges as written, "*" as IMAP_SEQ_STAR. To
 * use it, evaluate it against the largest number in use (the message
 * count, or the largest UID): imap_seqset_eval() gives a normalized set,
 * ranges ascending, disjoint and not adjacent, on which count, contains
 * and iteration work. The other way, imap_seqset_write_list() compresses
 * a list of numbers into the shortest text (COPYUID, ESEARCH ALL,
 * VANISHED).
 */
#ifndef TERN_IMAP_SEQSET_H
#define TERN_IMAP_SEQSET_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

#define IMAP_SEQ_STAR 0u /* "*" in a parsed range (0 is no valid number) */

struct imap_seq_range {
	uint32_t lo; /* as written: lo may be above hi, either may be IMAP_SEQ_STAR */
	uint32_t hi;
};

struct imap_seqset {
	struct imap_seq_range *ranges;
	size_t count;
	size_t cap;
	int dollar; /* "$": the result saved by SEARCH ... SAVE; no ranges */
};

#define IMAP_SEQSET_INIT                                                                           \
	{                                                                                          \
		NULL, 0, 0, 0                                                                      \
	}

/* Flags of imap_seqset_parse(). */
#define IMAP_SEQSET_DOLLAR 0x1u /* accept "$" */

/*
 * imap_seqset_parse - parse s[0..len): nz-numbers (no leading zero, at
 * most 4294967295), "*", ranges "a:b", separated by ",". Fills *set
 * (freed and reset first). 0, or -1 with *error_r (malloc'd).
 */
int imap_seqset_parse(const char *s, size_t len, unsigned flags, struct imap_seqset *set,
		      char **error_r);

void imap_seqset_free(struct imap_seqset *set);

/* imap_seqset_has_star - the set uses "*" (a predicate). */
int imap_seqset_has_star(const struct imap_seqset *set);

/*
 * imap_seqset_check - every number of a parsed set, "*" included, lies in
 * 1..max: what message sequence numbers must satisfy (RFC 9051 asks for
 * BAD otherwise, "*" in an empty mailbox included). 0 or -1.
 */
int imap_seqset_check(const struct imap_seqset *set, uint32_t max);

/*
 * imap_seqset_eval - the normalized set that the parsed set means when
 * "*" is max: each range ordered, then sorted and merged. With max 0
 * (empty mailbox) a range using "*" means nothing and is left out. out
 * is freed and reset first; it must not be set. A "$" set gives an empty
 * one: substitute the saved result before.
 */
void imap_seqset_eval(const struct imap_seqset *set, uint32_t max, struct imap_seqset *out);

/* imap_seqset_add - append lo:hi (lo <= hi) to a set, as a range as written. */
void imap_seqset_add(struct imap_seqset *set, uint32_t lo, uint32_t hi);

/* imap_seqset_normalize - sort and merge the ranges of a set in place (no "*" in it). */
void imap_seqset_normalize(struct imap_seqset *set);

/* On normalized sets: */
uint64_t imap_seqset_count(const struct imap_seqset *set);
int imap_seqset_contains(const struct imap_seqset *set, uint32_t n); /* predicate */
uint32_t imap_seqset_min(const struct imap_seqset *set);	     /* 0 when empty */
uint32_t imap_seqset_max(const struct imap_seqset *set);	     /* 0 when empty */

/* Iteration over a normalized set, ascending: */
struct imap_seqset_iter {
	const struct imap_seqset *set;
	size_t range;
	uint64_t next;
};
void imap_seqset_iter_init(struct imap_seqset_iter *it, const struct imap_seqset *set);
/* imap_seqset_iter_next - the next number in *n: 1, or 0 at the end. */
int imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *n);

/* imap_seqset_write - append a set as text ("1:3,5,7:*"), ranges as they are. */
void imap_seqset_write(struct strbuf *out, const struct imap_seqset *set);

/*
 * imap_seqset_write_list - append numbers v[0..n) as text, each run of
 * consecutive ascending numbers as one range, in the order given (COPYUID
 * pairs its two sets by order). Sort and deduplicate v first for the
 * shortest form. Nothing for n 0.
 */
void imap_seqset_write_list(struct strbuf *out, const uint32_t *v, size_t n);

#endif
