/*
 * test_qmgr_sched - the queue manager's scheduler without processes: slow
 * start up to the concurrency limit, the window shrinking on failures,
 * the dead-destination cache (death after a failed cohort, jobs handed
 * back with the reason, revival after the dead time), round-robin fairness
 * between destinations (a slow destination does not starve the others),
 * readiness counts, transport-wide kills and forgetting idle destinations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qmgr/qmgr_sched.h"
#include "util/mymalloc.h"

static const struct qsched_limits limits = {
    .initial_concurrency = 2,
    .concurrency_limit = 5,
    .recipient_limit = 50,
    .failed_cohort_limit = 1,
    .dead_time = 300,
};

/* Jobs carry a pointer to a tag naming their destination. */
static char tag_a[] = "a", tag_b[] = "b", tag_c[] = "c";

/* start_all - start jobs of t until none may start; returns how many started. */
static size_t start_all(struct qsched_transport *t, time_t now, struct qsched_job **out, size_t max)
{
	size_t n = 0;
	struct qsched_job *job;

	while (n < max && (job = qsched_next(t, now)) != NULL)
		out[n++] = job;
	return n;
}

static void test_slow_start(void **state)
{
	struct qsched *s = qsched_create();
	struct qsched_transport *t = qsched_transport(s, "smtp", &limits);
	struct qsched_dest *d = qsched_dest(t, "example.org");
	struct qsched_job *jobs[64], *job;
	size_t i, n;

	(void)state;
	for (i = 0; i < 40; i++)
		qsched_enqueue(d, tag_a);
	/* a new destination starts at the initial concurrency */
	assert_int_equal(qsched_dest_window(d), 2);
	assert_int_equal(qsched_ready(t, 0, 100), 2);
	n = start_all(t, 0, jobs, 64);
	assert_int_equal(n, 2);
	assert_int_equal(qsched_dest_busy(d), 2);
	assert_int_equal(qsched_dest_queued(d), 38);
	/* each delivery that reached it opens the window by one */
	assert_int_equal(qsched_done(s, jobs[0], QSCHED_POSITIVE, NULL, 0), 0);
	assert_int_equal(qsched_dest_window(d), 3);
	assert_int_equal(qsched_ready(t, 0, 100), 2);
	n = start_all(t, 0, jobs + 2, 62);
	assert_int_equal(n, 2);
	assert_int_equal(qsched_dest_busy(d), 3);
	/* up to the limit and no further */
	assert_int_equal(qsched_done(s, jobs[1], QSCHED_POSITIVE, NULL, 0), 0);
	assert_int_equal(qsched_done(s, jobs[2], QSCHED_POSITIVE, NULL, 0), 0);
	assert_int_equal(qsched_done(s, jobs[3], QSCHED_POSITIVE, NULL, 0), 0);
	assert_int_equal(qsched_dest_window(d), 5);
	n = start_all(t, 0, jobs, 64);
	assert_int_equal(n, 5);
	assert_null(qsched_next(t, 0));
	/* neutral feedback changes nothing */
	assert_int_equal(qsched_done(s, jobs[0], QSCHED_NEUTRAL, NULL, 0), 0);
	assert_int_equal(qsched_dest_window(d), 5);
	for (i = 1; i < 5; i++)
		assert_int_equal(qsched_done(s, jobs[i], QSCHED_POSITIVE, NULL, 0), 0);
	assert_int_equal(qsched_dest_window(d), 5);
	assert_int_equal(qsched_dest_busy(d), 0);
	while ((job = qsched_drain(s)) != NULL)
		qsched_job_free(job);
	qsched_free(&s);
	assert_null(s);
}

/* The window grows exactly one per positive feedback, from initial to limit. */
static void test_window_growth_exact(void **state)
{
	struct qsched *s = qsched_create();
	struct qsched_transport *t = qsched_transport(s, "smtp", &limits);
	struct qsched_dest *d = qsched_dest(t, "x.example");
	struct qsched_job *job;
	int expect[] = {3, 4, 5, 5, 5};
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++) {
		qsched_enqueue(d, tag_a);
		job = qsched_next(t, 0);
		assert_non_null(job);
		assert_int_equal(qsched_done(s, job, QSCHED_POSITIVE, NULL, 0), 0);
		assert_int_equal(qsched_dest_window(d), expect[i]);
	}
	qsched_free(&s);
}

static void test_dead_destination(void **state)
{
	struct qsched *s = qsched_create();
	struct qsched_transport *t = qsched_transport(s, "smtp", &limits);
	struct qsched_dest *d = qsched_dest(t, "down.example");
	struct qsched_job *jobs[8], *job;
	const char *reason = NULL;
	size_t n, i;

	(void)state;
	for (i = 0; i < 6; i++)
		qsched_enqueue(d, tag_a);
	n = start_all(t, 100, jobs, 8);
	assert_int_equal(n, 2);
	/* window 2: the first failure adds 1/2 of a cohort and shrinks the window */
	assert_int_equal(qsched_done(s, jobs[0], QSCHED_NEGATIVE, "connection refused", 100), 0);
	assert_int_equal(qsched_dest_window(d), 1);
	assert_true(qsched_dest_failed_cohorts(d) > 0.49 && qsched_dest_failed_cohorts(d) < 0.51);
	assert_false(qsched_dest_dead(d, 100, NULL));
	/* the second (window 1 now) completes a cohort: dead */
	assert_int_equal(qsched_done(s, jobs[1], QSCHED_NEGATIVE, "connection refused", 101), 1);
	assert_true(qsched_dest_dead(d, 101, &reason));
	assert_string_equal(reason, "connection refused");
	/* nothing starts for it; its jobs come back to be deferred */
	assert_null(qsched_next(t, 102));
	assert_int_equal(qsched_ready(t, 102, 100), 0);
	for (i = 0; i < 4; i++) {
		job = qsched_take_dead(s, 102, &reason);
		assert_non_null(job);
		assert_ptr_equal(job->data, tag_a);
		assert_string_equal(reason, "connection refused");
		qsched_job_free(job);
	}
	assert_null(qsched_take_dead(s, 102, &reason));
	/* the cache keeps it while dead, even with nothing queued */
	assert_int_equal(qsched_gc(s, 200), 0);
	assert_non_null(qsched_dest_find(t, "down.example"));
	/* mail that arrives meanwhile is handed back too */
	qsched_enqueue(d, tag_b);
	job = qsched_take_dead(s, 300, &reason);
	assert_non_null(job);
	qsched_job_free(job);
	/* after the dead time: alive again, with a fresh window */
	assert_false(qsched_dest_dead(d, 101 + 300, NULL));
	assert_int_equal(qsched_dest_window(d), 2);
	assert_true(qsched_dest_failed_cohorts(d) == 0);
	qsched_enqueue(d, tag_a);
	job = qsched_next(t, 401);
	assert_non_null(job);
	assert_int_equal(qsched_done(s, job, QSCHED_POSITIVE, NULL, 401), 0);
	assert_int_equal(qsched_gc(s, 401), 1);
	assert_null(qsched_dest_find(t, "down.example"));
	qsched_free(&s);
}

/* A success between failures resets the failed-cohort count. */
static void test_failures_reset(void **state)
{
	struct qsched_limits lim = limits;
	struct qsched *s;
	struct qsched_transport *t;
	struct qsched_dest *d;
	struct qsched_job *job;
	int i;

	(void)state;
	lim.initial_concurrency = 1;
	lim.failed_cohort_limit = 2;
	s = qsched_create();
	t = qsched_transport(s, "smtp", &lim);
	d = qsched_dest(t, "flaky.example");
	for (i = 0; i < 10; i++) {
		qsched_enqueue(d, tag_a);
		job = qsched_next(t, 0);
		assert_non_null(job);
		/* fail, succeed, fail, ...: never two cohorts in a row */
		assert_int_equal(
		    qsched_done(s, job, i % 2 == 0 ? QSCHED_NEGATIVE : QSCHED_POSITIVE, "x", 0), 0);
		assert_false(qsched_dest_dead(d, 0, NULL));
	}
	/* two failures in a row at window 1: two cohorts, dead */
	qsched_enqueue(d, tag_a);
	qsched_enqueue(d, tag_a);
	job = qsched_next(t, 0);
	assert_int_equal(qsched_done(s, job, QSCHED_NEGATIVE, "x", 0), 0);
	job = qsched_next(t, 0);
	assert_int_equal(qsched_dest_window(d), 1);
	assert_int_equal(qsched_done(s, job, QSCHED_NEGATIVE, "x", 0), 0);
	qsched_enqueue(d, tag_a);
	job = qsched_next(t, 0);
	assert_non_null(job);
	assert_int_equal(qsched_done(s, job, QSCHED_NEGATIVE, "x", 0), 1);
	while ((job = qsched_drain(s)) != NULL)
		qsched_job_free(job);
	qsched_free(&s);
}

static void test_fairness(void **state)
{
	struct qsched *s = qsched_create();
	struct qsched_transport *t = qsched_transport(s, "smtp", &limits);
	struct qsched_dest *a = qsched_dest(t, "big.example");
	struct qsched_dest *b = qsched_dest(t, "small.example");
	struct qsched_dest *c = qsched_dest(t, "other.example");
	struct qsched_job *jobs[16], *slow[16];
	size_t i, n, na = 0, nb = 0, nc = 0, nslow = 0;

	(void)state;
	for (i = 0; i < 1000; i++)
		qsched_enqueue(a, tag_a);
	qsched_enqueue(b, tag_b);
	qsched_enqueue(b, tag_b);
	qsched_enqueue(c, tag_c);
	/* round robin: the big queue gets one turn per round, like the others */
	n = start_all(t, 0, jobs, 16);
	for (i = 0; i < n; i++) {
		na += jobs[i]->data == tag_a;
		nb += jobs[i]->data == tag_b;
		nc += jobs[i]->data == tag_c;
	}
	/* a and b are at their window of 2; c had only one job */
	assert_int_equal(n, 5);
	assert_int_equal(na, 2);
	assert_int_equal(nb, 2);
	assert_int_equal(nc, 1);
	/* the first three starts went to three different destinations */
	assert_ptr_not_equal(jobs[0]->data, jobs[1]->data);
	assert_ptr_not_equal(jobs[1]->data, jobs[2]->data);
	assert_ptr_not_equal(jobs[0]->data, jobs[2]->data);
	/* a slow destination (never finishing) holds only its window */
	qsched_enqueue(c, tag_c);
	qsched_enqueue(c, tag_c);
	for (i = 0; i < n; i++) {
		if (jobs[i]->data != tag_a)
			assert_int_equal(qsched_done(s, jobs[i], QSCHED_POSITIVE, NULL, 0), 0);
		else
			slow[nslow++] = jobs[i];
	}
	n = start_all(t, 0, jobs, 16);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++)
		assert_ptr_equal(jobs[i]->data, tag_c);
	for (i = 0; i < n; i++)
		assert_int_equal(qsched_done(s, jobs[i], QSCHED_POSITIVE, NULL, 0), 0);
	while ((jobs[0] = qsched_drain(s)) != NULL)
		qsched_job_free(jobs[0]);
	/* the two jobs of a still in progress */
	assert_int_equal(nslow, 2);
	assert_int_equal(qsched_dest_busy(a), 2);
	for (i = 0; i < nslow; i++)
		assert_int_equal(qsched_done(s, slow[i], QSCHED_NEUTRAL, NULL, 0), 0);
	qsched_free(&s);
}

/* Many destinations: each gets a turn before any gets a second one. */
static void test_round_robin_many(void **state)
{
	struct qsched_limits lim = limits;
	struct qsched *s = qsched_create();
	struct qsched_transport *t;
	struct qsched_dest *d[50];
	struct qsched_job *job;
	char name[32];
	int seen[50] = {0}, i, k;

	(void)state;
	lim.initial_concurrency = 5;
	t = qsched_transport(s, "smtp", &lim);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "d%d.example", i);
		d[i] = qsched_dest(t, name);
		for (k = 0; k < 3; k++)
			qsched_enqueue(d[i], d[i]);
	}
	for (k = 0; k < 3; k++) {
		for (i = 0; i < 50; i++) {
			job = qsched_next(t, 0);
			assert_non_null(job);
			int j;

			for (j = 0; j < 50 && d[j] != job->data; j++)
				;
			assert_true(j < 50);
			assert_int_equal(seen[j], k);
			seen[j]++;
			assert_int_equal(qsched_done(s, job, QSCHED_POSITIVE, NULL, 0), 0);
		}
	}
	assert_null(qsched_next(t, 0));
	assert_int_equal(qsched_dest_count(s), 50);
	assert_int_equal(qsched_gc(s, 0), 50);
	assert_int_equal(qsched_dest_count(s), 0);
	qsched_free(&s);
}

static void test_kill_transport(void **state)
{
	struct qsched *s = qsched_create();
	struct qsched_transport *t = qsched_transport(s, "lmtp", &limits);
	struct qsched_transport *u = qsched_transport(s, "smtp", &limits);
	struct qsched_job *job;
	const char *reason;
	size_t n = 0;

	(void)state;
	assert_ptr_equal(qsched_transport(s, "lmtp", &limits), t);
	assert_ptr_equal(qsched_transport_find(s, "smtp"), u);
	assert_null(qsched_transport_find(s, "relay"));
	qsched_enqueue(qsched_dest(t, "unix:/a"), tag_a);
	qsched_enqueue(qsched_dest(t, "unix:/b"), tag_b);
	qsched_enqueue(qsched_dest(u, "example.org"), tag_c);
	qsched_kill_transport(t, "mail transport unavailable", 0);
	while ((job = qsched_take_dead(s, 0, &reason)) != NULL) {
		assert_string_equal(reason, "mail transport unavailable");
		assert_ptr_not_equal(job->data, tag_c);
		qsched_job_free(job);
		n++;
	}
	assert_int_equal(n, 2);
	/* the other transport is untouched */
	assert_int_equal(qsched_ready(u, 0, 10), 1);
	job = qsched_next(u, 0);
	assert_ptr_equal(job->data, tag_c);
	qsched_done(s, job, QSCHED_POSITIVE, NULL, 0);
	qsched_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slow_start),	     cmocka_unit_test(test_window_growth_exact),
	    cmocka_unit_test(test_dead_destination), cmocka_unit_test(test_failures_reset),
	    cmocka_unit_test(test_fairness),	     cmocka_unit_test(test_round_robin_many),
	    cmocka_unit_test(test_kill_transport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
