/*
 * test_qmgr_policy - the queue manager's time decisions: backoff doubling
 * between minimal_backoff_time and maximal_backoff_time, its jitter (never
 * outside either bound, never more than QMGR_JITTER of the wait, and
 * actually spread), expiry with the two queue lifetimes, and delay
 * warnings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "qmgr/qmgr_policy.h"

/* Without jitter the wait is the age, within the bounds: it doubles per attempt. */
static void test_backoff_doubles(void **state)
{
	time_t age = 0, wait, expect[] = {300, 300, 600, 1200, 2400, 4000, 4000};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		wait = qmgr_backoff(age, 300, 4000, 0.5);
		assert_int_equal(wait, expect[i]);
		age += wait;
	}
	assert_int_equal(qmgr_backoff(-5, 300, 4000, 0.5), 300);
	assert_int_equal(qmgr_backoff(1000000, 300, 4000, 0.5), 4000);
	/* a maximum below the minimum counts as the minimum */
	assert_int_equal(qmgr_backoff(50, 100, 10, 0.5), 100);
	/* nonsense randomness is treated as none */
	assert_int_equal(qmgr_backoff(1000, 300, 4000, 7.0), 1000);
	assert_int_equal(qmgr_backoff(1000, 300, 4000, -1.0), 1000);
}

/* jitter: within [min, max] and within QMGR_JITTER of the nominal wait. */
static void test_backoff_jitter_bounds(void **state)
{
	time_t ages[] = {0, 1, 299, 300, 301, 500, 1000, 2000, 3900, 4000, 4100, 100000};
	time_t min = 300, max = 4000, nominal, w, lo, hi, seen_lo, seen_hi;
	uint64_t x = 88172645463325252ULL;
	size_t i, k;
	double r;

	(void)state;
	for (i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
		nominal = ages[i] < min ? min : ages[i] > max ? max : ages[i];
		lo = (time_t)(nominal * (1 - QMGR_JITTER)) - 1;
		hi = (time_t)(nominal * (1 + QMGR_JITTER)) + 1;
		seen_lo = max + 1;
		seen_hi = 0;
		for (k = 0; k < 10000; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			r = (double)(x >> 11) / 9007199254740992.0;
			w = qmgr_backoff(ages[i], min, max, r);
			assert_true(w >= min && w <= max);
			assert_true(w >= lo && w <= hi);
			seen_lo = w < seen_lo ? w : seen_lo;
			seen_hi = w > seen_hi ? w : seen_hi;
		}
		/* the jitter spreads: inside the bounds it uses most of its range */
		if (nominal > min && nominal < max)
			assert_true(seen_hi - seen_lo >= (time_t)(nominal * QMGR_JITTER));
		else
			assert_true(seen_hi > seen_lo);
	}
	/* the extremes of the random input */
	assert_int_equal(qmgr_backoff(1000, 300, 4000, 0.0), 900);
	assert_int_equal(qmgr_backoff(1000, 300, 4000, 0.999999), 1100);
	assert_int_equal(qmgr_backoff(300, 300, 4000, 0.0), 300);
	assert_int_equal(qmgr_backoff(4000, 300, 4000, 0.999999), 4000);
}

static void test_expiry(void **state)
{
	(void)state;
	assert_false(qmgr_expired(100, false, 5 * 86400, 86400));
	assert_false(qmgr_expired(5 * 86400 - 1, false, 5 * 86400, 86400));
	assert_true(qmgr_expired(5 * 86400, false, 5 * 86400, 86400));
	/* the null sender: bounce_queue_lifetime */
	assert_true(qmgr_expired(86400, true, 5 * 86400, 86400));
	assert_false(qmgr_expired(86399, true, 5 * 86400, 86400));
	/* 0: after the first attempt */
	assert_true(qmgr_expired(0, false, 0, 86400));
	assert_true(qmgr_expired(3, true, 5 * 86400, 0));
}

static void test_delay_warning(void **state)
{
	(void)state;
	assert_false(qmgr_warn_due(100000, 0, false, false)); /* off */
	assert_false(qmgr_warn_due(3599, 3600, false, false));
	assert_true(qmgr_warn_due(3600, 3600, false, false));
	assert_false(qmgr_warn_due(7200, 3600, true, false)); /* once */
	assert_false(qmgr_warn_due(7200, 3600, false, true)); /* never for <> */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_doubles),
	    cmocka_unit_test(test_backoff_jitter_bounds),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_delay_warning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
