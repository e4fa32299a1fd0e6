/*
 * test_auth_penalty - the auth daemon's failure counters: the growing delay
 * and its cap, counting by client IP and by account, success clearing the
 * account only, gradual decay, the bound on table size, and client address
 * keys (IPv6 by /64).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "auth/auth_penalty.h"

static struct auth_penalty *make(uint64_t base, uint64_t max, uint64_t decay, size_t entries)
{
	struct auth_penalty_conf conf = {base, max, decay, entries};

	return auth_penalty_create(&conf);
}

static void test_growing_delay(void **state)
{
	struct auth_penalty *p = make(500, 15000, 300000, 100);
	uint64_t expect[] = {500, 1000, 2000, 4000, 8000, 15000, 15000, 15000};
	size_t i;

	for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		assert_int_equal(auth_penalty_fail(p, "192.0.2.1", "a@example.org", 1000 + i),
				 expect[i]);
	assert_int_equal(auth_penalty_count(p, AUTH_PENALTY_IP, "192.0.2.1", 2000), 8);
	assert_int_equal(auth_penalty_count(p, AUTH_PENALTY_USER, "a@example.org", 2000), 8);
	auth_penalty_free(&p);
	assert_null(p);
}

/* The larger counter decides: a new IP guessing a hammered account is slowed too. */
static void test_ip_and_account(void **state)
{
	struct auth_penalty *p = make(100, 100000, 300000, 100);
	int i;

	for (i = 0; i < 4; i++)
		auth_penalty_fail(p, "192.0.2.1", "victim@example.org", 10);
	assert_int_equal(auth_penalty_fail(p, "198.51.100.7", "victim@example.org", 11), 1600);
	assert_int_equal(auth_penalty_fail(p, "192.0.2.1", "other@example.org", 12), 1600);
	assert_int_equal(auth_penalty_fail(p, "203.0.113.9", "third@example.org", 13), 100);
	/* no keys at all still costs the base delay */
	assert_int_equal(auth_penalty_fail(p, NULL, NULL, 14), 100);
	assert_int_equal(auth_penalty_fail(p, "203.0.113.9", NULL, 15), 200);
	auth_penalty_free(&p);
}

static void test_success_clears_account_only(void **state)
{
	struct auth_penalty *p = make(100, 100000, 300000, 100);

	auth_penalty_fail(p, "192.0.2.1", "u@example.org", 1);
	auth_penalty_fail(p, "192.0.2.1", "u@example.org", 2);
	auth_penalty_success(p, "u@example.org");
	auth_penalty_success(p, "never-failed@example.org");
	auth_penalty_success(p, NULL);
	assert_int_equal(auth_penalty_count(p, AUTH_PENALTY_USER, "u@example.org", 3), 0);
	assert_int_equal(auth_penalty_count(p, AUTH_PENALTY_IP, "192.0.2.1", 3), 2);
	assert_int_equal(auth_penalty_fail(p, "192.0.2.2", "u@example.org", 4), 100);
	assert_int_equal(auth_penalty_fail(p, "192.0.2.1", "u@example.org", 5), 400);
	auth_penalty_free(&p);
}

static void test_decay(void **state)
{
	struct auth_penalty *p = make(100, 1000000, 1000, 100);
	int i;

	for (i = 0; i < 8; i++)
		auth_penalty_fail(p, "192.0.2.1", NULL, 0);
	assert_int_equal(auth_penalty_count(p, AUTH_PENALTY_IP, "192.0.2.1", 999), 8);
	assert_int_equal(auth_penalty_count(p, AUTH_PENALTY_IP, "192.0.2.1", 1000), 4);
	assert_int_equal(auth_penalty_count(p, AUTH_PENALTY_IP, "192.0.2.1", 2500), 2);
	/* the next failure counts from the decayed value: 2 + 1 */
	assert_int_equal(auth_penalty_fail(p, "192.0.2.1", NULL, 2600), 400);
	assert_int_equal(auth_penalty_count(p, AUTH_PENALTY_IP, "192.0.2.1", 2600 + 100000), 0);
	assert_int_equal(auth_penalty_fail(p, "192.0.2.1", NULL, 2600 + 100000), 100);
	auth_penalty_free(&p);
}

static void test_no_delay(void **state)
{
	struct auth_penalty *p = make(0, 15000, 1000, 10);
	int i;

	for (i = 0; i < 10; i++)
		assert_int_equal(auth_penalty_fail(p, "192.0.2.1", "x@example.org", 5), 0);
	auth_penalty_free(&p);
	p = make(500, 0, 1000, 10);
	assert_int_equal(auth_penalty_fail(p, "192.0.2.1", "x@example.org", 5), 0);
	auth_penalty_free(&p);
}

/* A full table first drops decayed counters, then the oldest. */
static void test_bounded(void **state)
{
	struct auth_penalty *p = make(100, 100000, 1000, 50);
	char key[32];
	int i;

	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "10.0.0.%d", i);
		auth_penalty_fail(p, key, NULL, (uint64_t)i);
	}
	assert_int_equal(auth_penalty_size(p, AUTH_PENALTY_IP), 50);
	auth_penalty_fail(p, "10.0.0.0", NULL, 60); /* the oldest is now young again */
	for (i = 50; i < 5000; i++) {
		snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
		auth_penalty_fail(p, key, NULL, 100);
		assert_true(auth_penalty_size(p, AUTH_PENALTY_IP) <= 50);
	}
	/* a counter that decayed to zero is swept instead of a live one */
	for (i = 0; i < 60; i++) {
		snprintf(key, sizeof(key), "u%d@example.org", i);
		auth_penalty_fail(p, NULL, key, i < 10 ? 0 : 5000);
	}
	assert_int_equal(auth_penalty_size(p, AUTH_PENALTY_USER), 50);
	assert_int_equal(auth_penalty_count(p, AUTH_PENALTY_USER, "u59@example.org", 5000), 1);
	assert_int_equal(auth_penalty_count(p, AUTH_PENALTY_USER, "u10@example.org", 5000), 1);
	auth_penalty_free(&p);
}

/* Many keys: the table grows and still finds every one. */
static void test_many_keys(void **state)
{
	struct auth_penalty *p = make(1, 1000, 100000, 100000);
	char key[32];
	int i;

	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "user%d@example.org", i);
		auth_penalty_fail(p, NULL, key, 1);
		if (i % 3 == 0)
			auth_penalty_fail(p, NULL, key, 2);
	}
	assert_int_equal(auth_penalty_size(p, AUTH_PENALTY_USER), 20000);
	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "user%d@example.org", i);
		assert_int_equal(auth_penalty_count(p, AUTH_PENALTY_USER, key, 3),
				 i % 3 == 0 ? 2 : 1);
	}
	auth_penalty_free(&p);
}

static void expect_key(const char *addr, const char *key)
{
	char *k = auth_penalty_ip_key(addr);

	if (key == NULL) {
		assert_null(k);
		return;
	}
	assert_non_null(k);
	assert_string_equal(k, key);
	free(k);
}

static void test_ip_keys(void **state)
{
	expect_key("192.0.2.1", "192.0.2.1");
	expect_key("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64");
	expect_key("2001:DB8:1:2::ffff", "2001:db8:1:2::/64");
	expect_key("::ffff:192.0.2.44", "192.0.2.44");
	expect_key("::1", "::/64");
	expect_key("localhost", NULL);
	expect_key("192.0.2.1:25", NULL);
	expect_key("", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_growing_delay),
	    cmocka_unit_test(test_ip_and_account),
	    cmocka_unit_test(test_success_clears_account_only),
	    cmocka_unit_test(test_decay),
	    cmocka_unit_test(test_no_delay),
	    cmocka_unit_test(test_bounded),
	    cmocka_unit_test(test_many_keys),
	    cmocka_unit_test(test_ip_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
