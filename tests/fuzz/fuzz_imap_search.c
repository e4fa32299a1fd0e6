/*
 * fuzz_imap_search - libFuzzer harness for the search program parser
 * (imap/imap_search.h) and sequence sets (imap/imap_seqset.h), with
 * modified UTF-7 and the base subject on the side.
 *
 * The first byte chooses the flags and the largest number; the rest is one
 * command line, parsed by imap_parser, whose arguments go to
 * imap_search_parse() (and, for SORT and THREAD shapes, to the criteria
 * parsers); every atom is also parsed as a sequence set and every string
 * decoded as modified UTF-7. The harness aborts when a promise is broken:
 * a tree of the wrong shape (NOT without exactly one child, OR without
 * two, AND with fewer than two), a failure without an error text, a
 * normalized set that is not ascending and disjoint or disagrees with its
 * count, contains or iteration, a set whose text does not parse back the
 * same, a modified UTF-7 name that decodes but does not re-encode to
 * itself, a base subject that changes when taken again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_arg.h"
#include "imap/imap_parser.h"
#include "imap/imap_search.h"
#include "imap/imap_seqset.h"
#include "imap/imap_subject.h"
#include "imap/imap_utf7.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_imap_search: %s\n", what);
		abort();
	}
}

static void check_key(const struct imap_search_key *key, unsigned depth)
{
	const struct imap_search_key *k;
	size_t n = 0;

	check(depth <= IMAP_SEARCH_DEPTH_MAX + 2, "tree too deep");
	for (k = key->child; k != NULL; k = k->next) {
		check_key(k, depth + 1);
		n++;
	}
	switch (key->type) {
	case IMAP_SK_AND:
		check(n >= 2, "AND with fewer than two keys");
		break;
	case IMAP_SK_OR:
		check(n == 2, "OR without two keys");
		break;
	case IMAP_SK_NOT:
		check(n == 1, "NOT without one key");
		break;
	case IMAP_SK_SEQSET:
	case IMAP_SK_UIDSET:
		check(key->set.dollar ? key->set.count == 0 : key->set.count > 0, "empty set");
		check(n == 0, "set with children");
		break;
	case IMAP_SK_HEADER:
		check(key->field != NULL && key->field[0] != '\0' && key->str != NULL, "HEADER");
		break;
	case IMAP_SK_KEYWORD:
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		check(key->str != NULL && imap_utf8_valid(key->str, strlen(key->str)), "string");
		break;
	case IMAP_SK_FLAG:
		check(key->flag != 0 && (key->flag & (key->flag - 1)) == 0, "flag");
		break;
	default:
		check(n == 0, "key with children");
		break;
	}
}

/* check_set - a parsed set, evaluated, against its own promises. */
static void check_set(const struct imap_seqset *set, uint32_t max)
{
	struct imap_seqset norm = IMAP_SEQSET_INIT, again = IMAP_SEQSET_INIT;
	struct imap_seqset_iter it;
	struct strbuf text = STRBUF_INIT, text2 = STRBUF_INIT;
	uint64_t count = 0;
	uint32_t n, prev = 0;
	char *err = NULL;
	size_t i;

	imap_seqset_write(&text, set);
	check(imap_seqset_parse(text.data, text.len, IMAP_SEQSET_DOLLAR, &again, &err) == 0,
	      "written set does not parse");
	imap_seqset_write(&text2, &again);
	check(text.len == text2.len && memcmp(text.data, text2.data, text.len) == 0,
	      "written set parses differently");
	if (imap_seqset_check(set, max) == 0)
		check(max > 0 || set->count == 0, "check passed in an empty mailbox");
	imap_seqset_eval(set, max, &norm);
	for (i = 0; i < norm.count; i++) {
		check(norm.ranges[i].lo >= 1 && norm.ranges[i].lo <= norm.ranges[i].hi,
		      "bad normalized range");
		if (i > 0)
			check(norm.ranges[i].lo > (uint64_t)norm.ranges[i - 1].hi + 1,
			      "normalized ranges overlap or touch");
	}
	if (imap_seqset_count(&norm) <= 5000) {
		imap_seqset_iter_init(&it, &norm);
		while (imap_seqset_iter_next(&it, &n)) {
			check(count == 0 || n > prev, "iteration not ascending");
			check(imap_seqset_contains(&norm, n), "iterated number not contained");
			if (n > 1 && (count == 0 || prev != n - 1))
				check(!imap_seqset_contains(&norm, n - 1), "contains disagrees");
			prev = n;
			count++;
		}
		check(count == imap_seqset_count(&norm), "count disagrees with iteration");
	}
	imap_seqset_free(&norm);
	imap_seqset_free(&again);
	strbuf_free(&text);
	strbuf_free(&text2);
}

/* use_atoms - every atom as a set, every string as a mailbox name and a subject. */
static void use_atoms(const struct imap_arg *args, size_t count, uint32_t max)
{
	struct imap_seqset set = IMAP_SEQSET_INIT;
	struct strbuf dec = STRBUF_INIT, enc = STRBUF_INIT;
	char *err, *base, *base2;
	int reply, reply2;
	size_t i;

	for (i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		if (a->type == IMAP_ARG_LIST) {
			use_atoms(a->list, a->count, max);
			continue;
		}
		if (a->str == NULL)
			continue;
		err = NULL;
		if (imap_seqset_parse(a->str, a->len, IMAP_SEQSET_DOLLAR, &set, &err) == 0)
			check_set(&set, max);
		else
			check(err != NULL, "set error without text");
		free(err);
		err = NULL;
		strbuf_reset(&dec);
		strbuf_reset(&enc);
		if (imap_utf7_to_utf8(a->str, a->len, &dec, &err) == 0) {
			check(imap_utf8_valid(dec.data != NULL ? dec.data : "", dec.len),
			      "UTF-7 decoded to invalid UTF-8");
			check(imap_utf8_to_utf7(dec.data != NULL ? dec.data : "", dec.len, &enc) ==
				  0,
			      "decoded name does not encode");
			check(enc.len == a->len &&
				  (a->len == 0 || memcmp(enc.data, a->str, a->len) == 0),
			      "modified UTF-7 accepted in a form the encoder does not write");
		} else {
			check(err != NULL, "UTF-7 error without text");
		}
		free(err);
		if (memchr(a->str, '\0', a->len) != NULL)
			continue; /* subjects are C strings */
		base = imap_base_subject(a->str, a->len, &reply);
		base2 = imap_base_subject(base, strlen(base), &reply2);
		check(strcmp(base, base2) == 0, "base subject not stable");
		check(strlen(base) <= a->len, "base subject longer than the subject");
		free(base);
		free(base2);
	}
	imap_seqset_free(&set);
	strbuf_free(&dec);
	strbuf_free(&enc);
}

static void fuzz_program(const struct imap_command *cmd, unsigned flags)
{
	struct imap_sort_key keys[IMAP_SORT_KEYS_MAX];
	enum imap_thread_alg alg;
	struct imap_search search;
	char *err = NULL;
	size_t n, skip = 0;
	int r;

	if (cmd->nargs > 0 && (flags & 4)) {
		if (imap_sort_parse(&cmd->args[0], keys, &n, &err) == 0)
			check(n >= 1 && n <= IMAP_SORT_KEYS_MAX, "sort key count");
		else
			check(err != NULL, "sort error without text");
		free(err);
		err = NULL;
		if (imap_thread_parse(&cmd->args[0], &alg, &err) < 0)
			check(err != NULL, "thread error without text");
		free(err);
		err = NULL;
		skip = 1;
	}
	r = imap_search_parse(cmd->nargs > skip ? &cmd->args[skip] : NULL, cmd->nargs - skip,
			      flags & 3, &search, &err);
	if (r == 0) {
		check(search.root != NULL, "no root");
		check_key(search.root, 0);
		check(err == NULL, "error text on success");
		if (search.options != 0)
			check(search.esearch, "RETURN options without RETURN");
	} else {
		check(r == IMAP_SEARCH_BAD || r == IMAP_SEARCH_BADCHARSET, "unknown error kind");
		check(err != NULL && err[0] != '\0', "search error without text");
		free(err);
	}
	imap_search_free(&search);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser *p;
	struct imap_parse_event ev;
	enum imap_parse_result r;
	uint32_t max;

	if (size < 2)
		return 0;
	max = data[1] == 0xff ? UINT32_MAX : data[1] % 40;
	p = imap_parser_create(NULL);
	imap_parser_set_nonsync_max(p, UINT64_MAX);
	imap_parser_feed(p, data + 2, size - 2);
	imap_parser_feed(p, "\r\n", 2);
	for (;;) {
		r = imap_parser_next(p, &ev);
		if (r == IMAP_PARSE_LITERAL) {
			(void)imap_parser_literal_keep(p); /* refused: an error comes next */
			continue;
		}
		if (r == IMAP_PARSE_COMMAND) {
			fuzz_program(imap_parser_command(p), data[0]);
			use_atoms(imap_parser_command(p)->args, imap_parser_command(p)->nargs, max);
			continue;
		}
		if (r == IMAP_PARSE_MORE)
			break;
	}
	imap_parser_free(&p);
	return 0;
}
