/*
 * event - one epoll event loop per process: descriptor watches, one-shot
 * timers on CLOCK_MONOTONIC, and signals delivered through signalfd.
 *
 * Callbacks run from event_loop_run_once() / event_loop_run(). Any watch,
 * timer or signal handler may be added or removed from inside any callback,
 * including the one that is running: a removed watch is never called again,
 * not even for events already collected in the same round.
 *
 * Errors of the environment (epoll_create1, epoll_ctl on a valid descriptor,
 * signalfd) end the process with msg_fatal(); passing a closed descriptor or
 * a bad signal number is a programming error (msg_panic).
 */
#ifndef TERN_EVENT_H
#define TERN_EVENT_H

#include <stddef.h>
#include <stdint.h>

struct event_loop;
struct event_watch;

/* Event bits, for watch masks and for what a callback is told. */
#define EVENT_READ 0x1u	 /* readable, or end of file */
#define EVENT_WRITE 0x2u /* writable */
#define EVENT_ERROR 0x4u /* error or hang-up; always reported, whatever the mask */

typedef void event_fd_cb(struct event_loop *loop, int fd, unsigned int events, void *ctx);
typedef void event_timer_cb(struct event_loop *loop, void *ctx);
typedef void event_signal_cb(struct event_loop *loop, int signo, void *ctx);

/*
 * A one-shot timer. The caller owns the storage (usually inside its own
 * session struct); a zeroed struct is an idle timer. A pending timer must be
 * cancelled before its storage is freed.
 */
struct event_timer {
	event_timer_cb *cb;
	void *ctx;
	uint64_t when_ms; /* deadline on the loop's monotonic clock */
	uint64_t seq;	  /* order among timers with the same deadline */
	size_t slot;	  /* 1 + index in the loop's heap, 0 when idle */
};

/* event_loop_new - a loop with no watches; the clock is read at once. */
struct event_loop *event_loop_new(void);

/*
 * event_loop_free - free the loop and every watch still registered (their
 * descriptors are left open), forget pending timers, and restore the signal
 * mask to what it was before the first event_signal_add(). Sets *loop NULL.
 */
void event_loop_free(struct event_loop **loop);

/*
 * event_fd_add - call cb when fd becomes ready for the events in mask
 * (EVENT_READ and/or EVENT_WRITE; 0 reports errors only). Level-triggered.
 * A descriptor may be watched only once per loop.
 */
struct event_watch *event_fd_add(struct event_loop *loop, int fd, unsigned int mask,
				 event_fd_cb *cb, void *ctx);

/* event_fd_modify - change the events a watch waits for. */
void event_fd_modify(struct event_watch *watch, unsigned int mask);

/* event_fd_mask - the events a watch waits for. */
unsigned int event_fd_mask(const struct event_watch *watch);

/*
 * event_fd_remove - stop watching and set *watch NULL (no-op if already
 * NULL). Call it before closing the descriptor. Safe inside any callback.
 */
void event_fd_remove(struct event_watch **watch);

/*
 * event_timer_add - (re)arm timer to call cb(loop, ctx) once, delay_ms after
 * the loop's current time. Timers fire in deadline order; equal deadlines in
 * the order they were armed. A timer armed from inside a timer callback
 * fires in a later round, never in the round that armed it.
 */
void event_timer_add(struct event_loop *loop, struct event_timer *timer, uint64_t delay_ms,
		     event_timer_cb *cb, void *ctx);

/* event_timer_cancel - disarm the timer if it is pending; no-op otherwise. */
void event_timer_cancel(struct event_loop *loop, struct event_timer *timer);

/* event_timer_pending - whether the timer is armed and has not fired yet. */
int event_timer_pending(const struct event_timer *timer);

/*
 * event_signal_add - block signo and call cb(loop, signo, ctx) from the loop
 * each time it arrives (several deliveries before the loop runs may be
 * merged into one call, as with any standard signal). Replaces an earlier
 * handler for the same signal.
 */
void event_signal_add(struct event_loop *loop, int signo, event_signal_cb *cb, void *ctx);

/* event_signal_remove - forget the handler and unblock signo. */
void event_signal_remove(struct event_loop *loop, int signo);

/*
 * event_loop_restore_sigmask - set the signal mask back to what it was before
 * the loop blocked its signals. For a child after fork() and before exec(),
 * which would otherwise inherit the blocked signals.
 */
void event_loop_restore_sigmask(const struct event_loop *loop);

/*
 * event_loop_run_once - wait at most max_wait_ms (-1: no limit other than
 * the next timer; 0: do not wait) for events, then call the callbacks of
 * what is ready and of the timers that are due. Returns the number of
 * callbacks called.
 */
int event_loop_run_once(struct event_loop *loop, int max_wait_ms);

/*
 * event_loop_run - run rounds until event_loop_stop() is called (at once if
 * it was called before); the stop request is consumed on return.
 */
void event_loop_run(struct event_loop *loop);

/* event_loop_stop - make event_loop_run() return after the current round. */
void event_loop_stop(struct event_loop *loop);

/*
 * event_now_ms - the loop's cached monotonic time in milliseconds, updated
 * once per round (after waiting) and by event_update_now().
 */
uint64_t event_now_ms(const struct event_loop *loop);

/* event_update_now - read the clock again (after a long computation). */
void event_update_now(struct event_loop *loop);

#endif
