/*
 * test_anvil_table - the anvil counters: counts per (service, client) pair,
 * fixed rate windows, expiry, growth of the hash table under many clients,
 * and the maxima reported as statistics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "anvil/anvil_table.h"

#define UNIT 60000 /* ms */

static void test_count_and_rate(void **state)
{
	struct anvil_table *t = anvil_table_create(UNIT);
	struct anvil_entry *a, *b;
	long long count, rate;

	a = anvil_table_connect(t, "smtp", "192.0.2.1", 1000, &count, &rate);
	assert_int_equal(count, 1);
	assert_int_equal(rate, 1);
	b = anvil_table_connect(t, "smtp", "192.0.2.1", 2000, &count, &rate);
	assert_ptr_equal(a, b);
	assert_int_equal(count, 2);
	assert_int_equal(rate, 2);
	/* another service, another client: separate entries */
	anvil_table_connect(t, "submission", "192.0.2.1", 2000, &count, &rate);
	assert_int_equal(count, 1);
	anvil_table_connect(t, "smtp", "192.0.2.10", 2000, &count, &rate);
	assert_int_equal(count, 1);
	assert_int_equal(anvil_table_size(t), 3);

	anvil_table_release(t, a, 1);
	anvil_table_lookup(t, "smtp", "192.0.2.1", 3000, &count, &rate);
	assert_int_equal(count, 1);
	assert_int_equal(rate, 2); /* a disconnect does not lower the rate */
	anvil_table_lookup(t, "smtp", "198.51.100.1", 3000, &count, &rate);
	assert_int_equal(count, 0);
	assert_int_equal(rate, 0);
	assert_null(anvil_table_find(t, "smtp", "198.51.100.1"));
	anvil_table_free(&t);
	assert_null(t);
}

static void test_rate_window(void **state)
{
	struct anvil_table *t = anvil_table_create(UNIT);
	struct anvil_entry *e = NULL;
	long long count, rate;
	int i;

	for (i = 0; i < 5; i++)
		e = anvil_table_connect(t, "smtp", "192.0.2.1", 1000 + (uint64_t)i * 1000, &count,
					&rate);
	assert_int_equal(rate, 5);
	anvil_table_release(t, e, 5);
	/* just before the end of the window the rate stands */
	anvil_table_lookup(t, "smtp", "192.0.2.1", 1000 + UNIT - 1, &count, &rate);
	assert_int_equal(count, 0);
	assert_int_equal(rate, 5);
	/* at its end it is over */
	anvil_table_lookup(t, "smtp", "192.0.2.1", 1000 + UNIT, &count, &rate);
	assert_int_equal(rate, 0);
	/* the next connection starts a new window */
	anvil_table_connect(t, "smtp", "192.0.2.1", 1000 + UNIT + 5, &count, &rate);
	assert_int_equal(count, 1);
	assert_int_equal(rate, 1);
	anvil_table_connect(t, "smtp", "192.0.2.1", 1000 + 2 * UNIT, &count, &rate);
	assert_int_equal(count, 2);
	assert_int_equal(rate, 2);
	anvil_table_connect(t, "smtp", "192.0.2.1", 1000 + 2 * UNIT + 5, &count, &rate);
	assert_int_equal(rate, 1);
	anvil_table_free(&t);
}

static void test_expire(void **state)
{
	struct anvil_table *t = anvil_table_create(UNIT);
	struct anvil_entry *open, *closed;
	long long count, rate;

	open = anvil_table_connect(t, "smtp", "192.0.2.1", 0, &count, &rate);
	closed = anvil_table_connect(t, "smtp", "192.0.2.2", 0, &count, &rate);
	anvil_table_release(t, closed, 1);
	/* inside the window nothing goes */
	assert_int_equal(anvil_table_expire(t, UNIT - 1), 0);
	assert_int_equal(anvil_table_size(t), 2);
	/* after it, only the entry without connections */
	assert_int_equal(anvil_table_expire(t, UNIT), 1);
	assert_int_equal(anvil_table_size(t), 1);
	assert_null(anvil_table_find(t, "smtp", "192.0.2.2"));
	assert_ptr_equal(anvil_table_find(t, "smtp", "192.0.2.1"), open);
	assert_int_equal(anvil_entry_count(open), 1);
	assert_int_equal(anvil_entry_rate(t, open, UNIT), 0);
	anvil_table_release(t, open, 1);
	assert_int_equal(anvil_table_expire(t, 10 * UNIT), 1);
	assert_int_equal(anvil_table_size(t), 0);
	anvil_table_free(&t);
}

/* Many clients: the table grows and finds each of them again. */
static void test_many(void **state)
{
	struct anvil_table *t = anvil_table_create(UNIT);
	char addr[64];
	long long count, rate;
	int i;

	for (i = 0; i < 5000; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i / 65536, (i / 256) % 256, i % 256);
		anvil_table_connect(t, "smtp", addr, 0, &count, &rate);
		if (i % 2 == 0)
			anvil_table_connect(t, "smtp", addr, 0, &count, &rate);
	}
	assert_int_equal(anvil_table_size(t), 5000);
	for (i = 0; i < 5000; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i / 65536, (i / 256) % 256, i % 256);
		anvil_table_lookup(t, "smtp", addr, 1, &count, &rate);
		assert_int_equal(count, i % 2 == 0 ? 2 : 1);
		anvil_table_release(t, anvil_table_find(t, "smtp", addr), count);
	}
	assert_int_equal(anvil_table_expire(t, UNIT), 5000);
	assert_int_equal(anvil_table_size(t), 0);
	anvil_table_free(&t);
}

/* The service and the client are separate parts of the key. */
static void test_key_parts(void **state)
{
	struct anvil_table *t = anvil_table_create(UNIT);
	long long count, rate;

	anvil_table_connect(t, "a:b", "c", 0, &count, &rate);
	anvil_table_connect(t, "a", "b:c", 0, &count, &rate);
	assert_int_equal(count, 1);
	anvil_table_connect(t, "ab", "c", 0, &count, &rate);
	assert_int_equal(count, 1);
	assert_int_equal(anvil_table_size(t), 3);
	anvil_table_free(&t);
}

static void test_stats(void **state)
{
	struct anvil_table *t = anvil_table_create(UNIT);
	const struct anvil_stats *st = anvil_table_stats(t);
	struct anvil_entry *e;
	long long count, rate;

	assert_int_equal(st->count.value, 0);
	assert_null(st->count.key);
	anvil_table_connect(t, "smtp", "192.0.2.1", 10, &count, &rate);
	e = anvil_table_connect(t, "smtp", "192.0.2.1", 20, &count, &rate);
	anvil_table_connect(t, "smtp", "192.0.2.2", 30, &count, &rate);
	anvil_table_release(t, e, 2);
	anvil_table_connect(t, "smtp", "192.0.2.2", 40, &count, &rate);
	anvil_table_connect(t, "smtp", "192.0.2.2", 50, &count, &rate);
	assert_int_equal(st->count.value, 3);
	assert_string_equal(st->count.key, "smtp:192.0.2.2");
	assert_int_equal(st->count.when, 50);
	assert_int_equal(st->rate.value, 3);
	assert_string_equal(st->rate.key, "smtp:192.0.2.2");
	assert_int_equal(st->size.value, 2);
	assert_int_equal(st->size.when, 30);

	anvil_table_stats_reset(t, 60);
	assert_int_equal(st->count.value, 0);
	assert_null(st->rate.key);
	assert_int_equal(st->size.value, 2); /* the table still holds two */
	anvil_table_connect(t, "smtp", "192.0.2.1", 70, &count, &rate);
	assert_int_equal(st->count.value, 1);
	assert_string_equal(st->count.key, "smtp:192.0.2.1");
	assert_int_equal(st->rate.value, 3); /* the window of .1 is still the one of 10 ms */
	anvil_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_count_and_rate), cmocka_unit_test(test_rate_window),
	    cmocka_unit_test(test_expire),	   cmocka_unit_test(test_many),
	    cmocka_unit_test(test_key_parts),	   cmocka_unit_test(test_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
