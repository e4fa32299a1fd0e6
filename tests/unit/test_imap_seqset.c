/*
 * test_imap_seqset - sequence sets: parsing (valid and invalid forms, "$"),
 * evaluation against the largest number ("*", reversed ranges, overlaps,
 * the empty mailbox), the check for message sequence numbers, count,
 * contains and iteration on normalized sets, and compression of number
 * lists for COPYUID, ESEARCH and VANISHED.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_seqset.h"
#include "util/strbuf.h"

/* eval_text - parse s, evaluate with max, the normalized set as text. */
static char *eval_text(const char *s, uint32_t max)
{
	struct imap_seqset set = IMAP_SEQSET_INIT, norm = IMAP_SEQSET_INIT;
	struct strbuf out = STRBUF_INIT;
	char *err = NULL;

	if (imap_seqset_parse(s, strlen(s), IMAP_SEQSET_DOLLAR, &set, &err) < 0)
		fail_msg("%s: %s", s, err);
	imap_seqset_eval(&set, max, &norm);
	imap_seqset_write(&out, &norm);
	imap_seqset_free(&set);
	imap_seqset_free(&norm);
	return strbuf_detach(&out);
}

struct eval_case {
	const char *set;
	uint32_t max;
	const char *normalized;
};

static const struct eval_case eval_cases[] = {
    {"1", 10, "1"},
    {"1:5", 10, "1:5"},
    {"5:1", 10, "1:5"},
    {"1:*", 10, "1:10"},
    {"*:3", 10, "3:10"},
    {"*", 10, "10"},
    {"*:*", 10, "10"},
    {"2,4:7,9,12:*", 15, "2,4:7,9,12:15"},
    {"1:3,2:5", 10, "1:5"},
    {"1:3,4:5", 10, "1:5"},
    {"7,1,3,2", 10, "1:3,7"},
    {"5:*", 3, "3:5"},
    {"1:4294967295", 3, "1:4294967295"},
    {"4294967295,1", 3, "1,4294967295"},
    {"4294967294:4294967295,1:4294967293", 0, "1:4294967295"},
    {"1:*", 0, ""},
    {"*", 0, ""},
    {"3,*:5", 0, "3"},
    {"10:20,1:30", 5, "1:30"},
};

static void test_eval(void **state)
{
	size_t i;
	char *text;

	(void)state;
	for (i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++) {
		text = eval_text(eval_cases[i].set, eval_cases[i].max);
		if (strcmp(text, eval_cases[i].normalized) != 0)
			fail_msg("%s with max %u: %s, expected %s", eval_cases[i].set,
				 eval_cases[i].max, text, eval_cases[i].normalized);
		free(text);
	}
}

static const char *const bad_sets[] = {
    "",	     "0",  "0:3", "1:0",   "01",  "1,",		",1",	       "1,,2", "1::2",
    "1:2:3", "a",  "1a",  "-1",	   "1 2", "4294967296", "99999999999", "$$",   "$,1",
    "1,$",   "**", "*1",  "1:*:2", ":",	  "1:",		":1",	       "+1",
};

static void test_parse_bad(void **state)
{
	struct imap_seqset set = IMAP_SEQSET_INIT;
	char *err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_sets) / sizeof(bad_sets[0]); i++) {
		err = NULL;
		if (imap_seqset_parse(bad_sets[i], strlen(bad_sets[i]), IMAP_SEQSET_DOLLAR, &set,
				      &err) == 0)
			fail_msg("accepted: \"%s\"", bad_sets[i]);
		assert_non_null(err);
		assert_int_equal(set.count, 0);
		free(err);
	}
	/* "$" only where allowed */
	err = NULL;
	assert_int_equal(imap_seqset_parse("$", 1, 0, &set, &err), -1);
	free(err);
	assert_int_equal(imap_seqset_parse("$", 1, IMAP_SEQSET_DOLLAR, &set, &err), 0);
	assert_true(set.dollar);
	assert_int_equal(set.count, 0);
	imap_seqset_free(&set);
	/* a NUL inside the length */
	err = NULL;
	assert_int_equal(imap_seqset_parse("1\0002", 3, 0, &set, &err), -1);
	free(err);
}

static void test_parse_as_written(void **state)
{
	struct imap_seqset set = IMAP_SEQSET_INIT;
	struct strbuf out = STRBUF_INIT;
	char *err = NULL;

	(void)state;
	assert_int_equal(imap_seqset_parse("5:1,*,3:*", 9, 0, &set, &err), 0);
	assert_int_equal(set.count, 3);
	assert_int_equal(set.ranges[0].lo, 5);
	assert_int_equal(set.ranges[0].hi, 1);
	assert_int_equal(set.ranges[1].lo, IMAP_SEQ_STAR);
	assert_true(imap_seqset_has_star(&set));
	imap_seqset_write(&out, &set);
	assert_string_equal(strbuf_str(&out), "5:1,*,3:*");
	assert_int_equal(imap_seqset_parse("1:2", 3, 0, &set, &err), 0);
	assert_false(imap_seqset_has_star(&set));
	imap_seqset_free(&set);
	strbuf_free(&out);
}

static void test_check(void **state)
{
	struct imap_seqset set = IMAP_SEQSET_INIT;
	char *err = NULL;

	(void)state;
	assert_int_equal(imap_seqset_parse("1:*", 3, 0, &set, &err), 0);
	assert_int_equal(imap_seqset_check(&set, 5), 0);
	assert_int_equal(imap_seqset_check(&set, 0), -1); /* "*" in an empty mailbox */
	assert_int_equal(imap_seqset_parse("2:6", 3, 0, &set, &err), 0);
	assert_int_equal(imap_seqset_check(&set, 6), 0);
	assert_int_equal(imap_seqset_check(&set, 5), -1);
	assert_int_equal(imap_seqset_parse("7:1", 3, 0, &set, &err), 0);
	assert_int_equal(imap_seqset_check(&set, 6), -1);
	imap_seqset_free(&set);
}

static void test_normalized_ops(void **state)
{
	struct imap_seqset set = IMAP_SEQSET_INIT, norm = IMAP_SEQSET_INIT;
	struct imap_seqset_iter it;
	struct strbuf out = STRBUF_INIT;
	char *err = NULL;
	uint32_t n;

	(void)state;
	assert_int_equal(imap_seqset_parse("9,2:4,*,6", 9, 0, &set, &err), 0);
	imap_seqset_eval(&set, 20, &norm);
	assert_int_equal(imap_seqset_count(&norm), 6);
	assert_int_equal(imap_seqset_min(&norm), 2);
	assert_int_equal(imap_seqset_max(&norm), 20);
	assert_true(imap_seqset_contains(&norm, 2));
	assert_true(imap_seqset_contains(&norm, 3));
	assert_true(imap_seqset_contains(&norm, 4));
	assert_false(imap_seqset_contains(&norm, 5));
	assert_true(imap_seqset_contains(&norm, 6));
	assert_false(imap_seqset_contains(&norm, 1));
	assert_false(imap_seqset_contains(&norm, 19));
	assert_true(imap_seqset_contains(&norm, 20));
	assert_false(imap_seqset_contains(&norm, 21));
	imap_seqset_iter_init(&it, &norm);
	while (imap_seqset_iter_next(&it, &n))
		strbuf_printf(&out, "%u ", n);
	assert_string_equal(strbuf_str(&out), "2 3 4 6 9 20 ");
	/* the whole range: count without overflow, iteration to the last */
	assert_int_equal(imap_seqset_parse("1:4294967295", 12, 0, &set, &err), 0);
	imap_seqset_eval(&set, 1, &norm);
	assert_true(imap_seqset_count(&norm) == 4294967295ull);
	assert_int_equal(imap_seqset_parse("4294967294:*", 12, 0, &set, &err), 0);
	imap_seqset_eval(&set, 4294967295u, &norm);
	strbuf_reset(&out);
	imap_seqset_iter_init(&it, &norm);
	while (imap_seqset_iter_next(&it, &n))
		strbuf_printf(&out, "%u ", n);
	assert_string_equal(strbuf_str(&out), "4294967294 4294967295 ");
	/* empty */
	imap_seqset_free(&norm);
	imap_seqset_iter_init(&it, &norm);
	assert_false(imap_seqset_iter_next(&it, &n));
	assert_int_equal(imap_seqset_count(&norm), 0);
	assert_int_equal(imap_seqset_min(&norm), 0);
	assert_false(imap_seqset_contains(&norm, 1));
	imap_seqset_free(&set);
	strbuf_free(&out);
}

static void test_write_list(void **state)
{
	static const uint32_t a[] = {1, 2, 3, 5, 7, 8, 9, 11};
	static const uint32_t b[] = {10, 11, 3, 4, 4294967294u, 4294967295u, 1};
	static const uint32_t c[] = {4294967295u, 1};
	struct strbuf out = STRBUF_INIT;

	(void)state;
	imap_seqset_write_list(&out, a, 8);
	assert_string_equal(strbuf_str(&out), "1:3,5,7:9,11");
	strbuf_reset(&out);
	imap_seqset_write_list(&out, b, 7);
	assert_string_equal(strbuf_str(&out), "10:11,3:4,4294967294:4294967295,1");
	strbuf_reset(&out);
	imap_seqset_write_list(&out, c, 2);
	assert_string_equal(strbuf_str(&out), "4294967295,1");
	strbuf_reset(&out);
	imap_seqset_write_list(&out, a, 0);
	assert_string_equal(strbuf_str(&out), "");
	imap_seqset_write_list(&out, a + 3, 1);
	assert_string_equal(strbuf_str(&out), "5");
	strbuf_free(&out);
}

static void test_add_normalize(void **state)
{
	struct imap_seqset set = IMAP_SEQSET_INIT;
	struct strbuf out = STRBUF_INIT;

	(void)state;
	imap_seqset_add(&set, 10, 12);
	imap_seqset_add(&set, 1, 1);
	imap_seqset_add(&set, 2, 3);
	imap_seqset_add(&set, 11, 20);
	imap_seqset_add(&set, 22, 22);
	imap_seqset_add(&set, 4294967295u, 4294967295u);
	imap_seqset_add(&set, 4294967290u, 4294967294u);
	imap_seqset_normalize(&set);
	imap_seqset_write(&out, &set);
	assert_string_equal(strbuf_str(&out), "1:3,10:20,22,4294967290:4294967295");
	imap_seqset_free(&set);
	strbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eval),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_parse_as_written),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_normalized_ops),
	    cmocka_unit_test(test_write_list),
	    cmocka_unit_test(test_add_normalize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
