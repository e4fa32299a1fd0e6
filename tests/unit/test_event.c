/*
 * test_event - the event loop: descriptor watches (including removal from
 * inside callbacks), timer ordering and cancellation, signals through
 * signalfd, run-once waiting limits and the cached clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/event.h"
#include "util/mymalloc.h"

static uint64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct fd_probe {
	int calls;
	unsigned int events;
	struct event_watch *watch;
	struct event_watch **other; /* a watch this callback removes */
};

static void probe_cb(struct event_loop *loop, int fd, unsigned int events, void *ctx)
{
	struct fd_probe *p = ctx;
	char buf[16];

	p->calls++;
	p->events |= events;
	if (events & EVENT_READ)
		(void)read(fd, buf, sizeof(buf));
}

static void test_fd_read_write(void **state)
{
	struct event_loop *loop = event_loop_new();
	struct fd_probe rd = {0}, wr = {0};
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	rd.watch = event_fd_add(loop, sv[0], EVENT_READ, probe_cb, &rd);
	wr.watch = event_fd_add(loop, sv[1], EVENT_WRITE, probe_cb, &wr);
	assert_int_equal(event_loop_run_once(loop, 0), 1);
	assert_int_equal(rd.calls, 0);
	assert_int_equal(wr.calls, 1);
	assert_true(wr.events & EVENT_WRITE);

	event_fd_modify(wr.watch, 0);
	assert_int_equal(event_fd_mask(wr.watch), 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(event_loop_run_once(loop, 100), 1);
	assert_int_equal(rd.calls, 1);
	assert_true(rd.events & EVENT_READ);
	assert_int_equal(wr.calls, 1);

	/* The peer closes: the reader sees it as readable (end of file). */
	event_fd_remove(&wr.watch);
	assert_null(wr.watch);
	close(sv[1]);
	rd.calls = 0;
	rd.events = 0;
	assert_int_equal(event_loop_run_once(loop, 100), 1);
	assert_int_equal(rd.calls, 1);
	assert_true(rd.events & EVENT_READ);
	event_fd_remove(&rd.watch);
	event_fd_remove(&rd.watch); /* a second remove is a no-op */
	close(sv[0]);
	event_loop_free(&loop);
	assert_null(loop);
}

/* remover_cb - removes its own watch and another one whose event is already collected. */
static void remover_cb(struct event_loop *loop, int fd, unsigned int events, void *ctx)
{
	struct fd_probe *p = ctx;

	p->calls++;
	event_fd_remove(&p->watch);
	if (p->other != NULL)
		event_fd_remove(p->other);
}

static void test_remove_inside_callback(void **state)
{
	struct event_loop *loop = event_loop_new();
	struct fd_probe a = {0}, b = {0};
	int sv1[2], sv2[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv1), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv2), 0);
	/* Both are ready in the same round; whichever runs first removes both. */
	a.watch = event_fd_add(loop, sv1[0], EVENT_WRITE, remover_cb, &a);
	b.watch = event_fd_add(loop, sv2[0], EVENT_WRITE, remover_cb, &b);
	a.other = &b.watch;
	b.other = &a.watch;
	assert_int_equal(event_loop_run_once(loop, 0), 1);
	assert_int_equal(a.calls + b.calls, 1);
	assert_null(a.watch);
	assert_null(b.watch);
	/* Nothing is watched any more. */
	assert_int_equal(event_loop_run_once(loop, 0), 0);
	close(sv1[0]);
	close(sv1[1]);
	close(sv2[0]);
	close(sv2[1]);
	event_loop_free(&loop);
}

/* closer_cb - removes its watch, closes the descriptor and watches a new one that may reuse it. */
struct reuse {
	int calls;
	struct event_watch *watch;
	int fd;
	struct fd_probe fresh;
};

static void closer_cb(struct event_loop *loop, int fd, unsigned int events, void *ctx)
{
	struct reuse *r = ctx;
	int sv[2];

	r->calls++;
	event_fd_remove(&r->watch);
	close(fd);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	r->fd = sv[0];
	r->fresh.watch = event_fd_add(loop, sv[0], EVENT_READ, probe_cb, &r->fresh);
}

static void test_remove_then_reuse_fd(void **state)
{
	struct event_loop *loop = event_loop_new();
	struct reuse r = {0};
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	r.watch = event_fd_add(loop, sv[0], EVENT_WRITE, closer_cb, &r);
	assert_int_equal(event_loop_run_once(loop, 0), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.fresh.calls, 0);
	/* The new watch works in the next round. */
	assert_int_equal(event_loop_run_once(loop, 100), 1);
	assert_int_equal(r.fresh.calls, 1);
	event_fd_remove(&r.fresh.watch);
	close(r.fd);
	close(sv[1]);
	event_loop_free(&loop);
}

struct order {
	int seen[16];
	int n;
	struct event_loop *loop;
	struct event_timer *rearm; /* armed again with delay 0 from the callback */
};

struct tagged {
	struct order *order;
	int tag;
};

static void order_cb(struct event_loop *loop, void *ctx)
{
	struct tagged *t = ctx;

	t->order->seen[t->order->n++] = t->tag;
}

static void test_timer_order(void **state)
{
	struct event_loop *loop = event_loop_new();
	struct event_timer timers[6];
	struct order order = {{0}, 0, loop, NULL};
	struct tagged tags[6];
	/* Delays armed out of order; two share a deadline (armed order wins). */
	uint64_t delays[6] = {40, 10, 30, 10, 0, 20};
	int expect[6] = {4, 1, 3, 5, 2, 0};
	uint64_t start = real_ms();
	int i;

	memset(timers, 0, sizeof(timers));
	for (i = 0; i < 6; i++) {
		tags[i].order = &order;
		tags[i].tag = i;
		event_timer_add(loop, &timers[i], delays[i], order_cb, &tags[i]);
		assert_true(event_timer_pending(&timers[i]));
	}
	while (order.n < 6)
		event_loop_run_once(loop, 1000);
	assert_true(real_ms() - start >= 40);
	for (i = 0; i < 6; i++) {
		assert_int_equal(order.seen[i], expect[i]);
		assert_false(event_timer_pending(&timers[i]));
	}
	event_loop_free(&loop);
}

static void test_timer_cancel(void **state)
{
	struct event_loop *loop = event_loop_new();
	struct event_timer timers[20];
	struct order order = {{0}, 0, loop, NULL};
	struct tagged tags[20];
	int i;

	memset(timers, 0, sizeof(timers));
	/* Many timers so that cancelling moves entries around inside the heap. */
	for (i = 0; i < 20; i++) {
		tags[i].order = &order;
		tags[i].tag = i;
		event_timer_add(loop, &timers[i], (uint64_t)(20 - i), order_cb, &tags[i]);
	}
	for (i = 0; i < 20; i++)
		if (i % 3 != 0)
			event_timer_cancel(loop, &timers[i]);
	event_timer_cancel(loop, &timers[1]); /* cancelling twice is a no-op */
	/* Re-arming a pending timer moves it. */
	event_timer_add(loop, &timers[0], 1, order_cb, &tags[0]);
	while (order.n < 7)
		event_loop_run_once(loop, 1000);
	assert_int_equal(event_loop_run_once(loop, 30), 0);
	assert_int_equal(order.n, 7);
	{
		int expect[7] = {0, 18, 15, 12, 9, 6, 3};

		for (i = 0; i < 7; i++)
			assert_int_equal(order.seen[i], expect[i]);
	}
	event_loop_free(&loop);
}

struct chain {
	struct event_timer timer;
	int fired;
};

static void chain_cb(struct event_loop *loop, void *ctx)
{
	struct chain *c = ctx;

	/* A zero-delay timer armed here must wait for the next round. */
	if (++c->fired < 3)
		event_timer_add(loop, &c->timer, 0, chain_cb, c);
}

static void test_timer_rearm_in_callback(void **state)
{
	struct event_loop *loop = event_loop_new();
	struct chain c;

	memset(&c, 0, sizeof(c));
	event_timer_add(loop, &c.timer, 0, chain_cb, &c);
	assert_int_equal(event_loop_run_once(loop, 0), 1);
	assert_int_equal(c.fired, 1);
	assert_int_equal(event_loop_run_once(loop, 0), 1);
	assert_int_equal(c.fired, 2);
	assert_int_equal(event_loop_run_once(loop, 0), 1);
	assert_int_equal(c.fired, 3);
	assert_false(event_timer_pending(&c.timer));
	assert_int_equal(event_loop_run_once(loop, 0), 0);
	event_loop_free(&loop);
}

static void test_run_once_max_wait(void **state)
{
	struct event_loop *loop = event_loop_new();
	struct event_timer t;
	struct order order = {{0}, 0, loop, NULL};
	struct tagged tag = {&order, 7};
	uint64_t start, before;

	memset(&t, 0, sizeof(t));
	start = real_ms();
	assert_int_equal(event_loop_run_once(loop, 50), 0);
	assert_true(real_ms() - start >= 49);
	/* A timer shortens the wait below max_wait. */
	event_timer_add(loop, &t, 20, order_cb, &tag);
	start = real_ms();
	while (order.n == 0)
		event_loop_run_once(loop, 5000);
	assert_true(real_ms() - start < 1000);
	/* The cached clock moves only with rounds or event_update_now(). */
	before = event_now_ms(loop);
	usleep(20000);
	assert_int_equal(event_now_ms(loop), before);
	event_update_now(loop);
	assert_true(event_now_ms(loop) >= before + 19);
	event_loop_free(&loop);
}

struct sigctx {
	int usr1, usr2;
	int last;
};

static void sig_cb(struct event_loop *loop, int signo, void *ctx)
{
	struct sigctx *s = ctx;

	s->last = signo;
	if (signo == SIGUSR1)
		s->usr1++;
	else if (signo == SIGUSR2)
		s->usr2++;
	event_loop_stop(loop);
}

static void test_signals(void **state)
{
	struct event_loop *loop = event_loop_new();
	struct sigctx s = {0, 0, 0};
	sigset_t cur;

	event_signal_add(loop, SIGUSR1, sig_cb, &s);
	event_signal_add(loop, SIGUSR2, sig_cb, &s);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	assert_true(sigismember(&cur, SIGUSR1));
	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	event_loop_run(loop); /* returns when the handler stops it */
	assert_int_equal(s.usr1, 1);
	assert_int_equal(s.last, SIGUSR1);
	assert_int_equal(kill(getpid(), SIGUSR2), 0);
	event_loop_run(loop);
	assert_int_equal(s.usr2, 1);

	/* After removal the signal is no longer reported (nor blocked). */
	event_signal_remove(loop, SIGUSR2);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	assert_false(sigismember(&cur, SIGUSR2));
	assert_int_equal(event_loop_run_once(loop, 0), 0);
	event_loop_free(&loop);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	assert_false(sigismember(&cur, SIGUSR1));
}

static void stop_cb(struct event_loop *loop, void *ctx)
{
	int *n = ctx;

	(*n)++;
	event_loop_stop(loop);
}

static void test_run_until_stop(void **state)
{
	struct event_loop *loop = event_loop_new();
	struct event_timer a, b;
	int fired = 0;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	event_timer_add(loop, &a, 10, stop_cb, &fired);
	event_timer_add(loop, &b, 30, stop_cb, &fired);
	event_loop_run(loop);
	assert_int_equal(fired, 1);
	assert_true(event_timer_pending(&b));
	/* A stop requested before running makes run return at once. */
	event_loop_stop(loop);
	event_loop_run(loop);
	assert_int_equal(fired, 1);
	event_loop_run(loop);
	assert_int_equal(fired, 2);
	event_loop_free(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fd_read_write),
	    cmocka_unit_test(test_remove_inside_callback),
	    cmocka_unit_test(test_remove_then_reuse_fd),
	    cmocka_unit_test(test_timer_order),
	    cmocka_unit_test(test_timer_cancel),
	    cmocka_unit_test(test_timer_rearm_in_callback),
	    cmocka_unit_test(test_run_once_max_wait),
	    cmocka_unit_test(test_signals),
	    cmocka_unit_test(test_run_until_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
