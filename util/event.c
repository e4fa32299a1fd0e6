/*
 * event - the epoll event loop: descriptor watches, a min-heap of one-shot
 * timers, and signals read from a signalfd.
 *
 * Watches removed while callbacks run are parked on a list and freed only
 * when the outermost round is over, so that events already collected for
 * them in the same epoll_wait() batch are skipped instead of touching freed
 * memory.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "util/event.h"
#include "util/msg.h"
#include "util/mymalloc.h"

#define EVENT_BATCH 64

struct event_watch {
	struct event_loop *loop;
	int fd;
	unsigned int mask;
	event_fd_cb *cb;
	void *ctx;
	int dead;
	struct event_watch *prev, *next; /* live watches, or the dead list (next only) */
};

struct signal_handler {
	event_signal_cb *cb;
	void *ctx;
};

struct event_loop {
	int epfd;
	int stop;
	int depth; /* rounds in progress (a callback may run a nested round) */
	uint64_t now_ms;
	struct event_watch *watches; /* live */
	struct event_watch *dead;    /* removed during a round */
	struct event_timer **heap;
	size_t heap_len, heap_size;
	uint64_t timer_seq;
	int sigfd;
	struct event_watch *sig_watch;
	sigset_t sigmask;    /* signals with a handler */
	sigset_t saved_mask; /* the process mask before the first event_signal_add() */
	int mask_saved;
	struct signal_handler sig[_NSIG];
	int calls; /* callbacks called in the current round */
};

static uint64_t clock_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		msg_fatal("clock_gettime(CLOCK_MONOTONIC): %s", strerror(errno));
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct event_loop *event_loop_new(void)
{
	struct event_loop *loop = xcalloc(1, sizeof(*loop));

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		msg_fatal("epoll_create1: %s", strerror(errno));
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	loop->now_ms = clock_ms();
	return loop;
}

static void free_dead(struct event_loop *loop)
{
	struct event_watch *w;

	while ((w = loop->dead) != NULL) {
		loop->dead = w->next;
		free(w);
	}
}

void event_loop_free(struct event_loop **loopp)
{
	struct event_loop *loop = *loopp;
	struct event_watch *w;
	size_t i;

	if (loop == NULL)
		return;
	while ((w = loop->watches) != NULL) {
		loop->watches = w->next;
		free(w);
	}
	free_dead(loop);
	for (i = 0; i < loop->heap_len; i++)
		loop->heap[i]->slot = 0;
	free(loop->heap);
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	if (loop->mask_saved)
		sigprocmask(SIG_SETMASK, &loop->saved_mask, NULL);
	close(loop->epfd);
	free(loop);
	*loopp = NULL;
}

uint64_t event_now_ms(const struct event_loop *loop)
{
	return loop->now_ms;
}

void event_update_now(struct event_loop *loop)
{
	loop->now_ms = clock_ms();
}

void event_loop_stop(struct event_loop *loop)
{
	loop->stop = 1;
}

/* ---- descriptor watches ---- */

static uint32_t epoll_bits(unsigned int mask)
{
	uint32_t bits = 0;

	if (mask & EVENT_READ)
		bits |= EPOLLIN | EPOLLRDHUP;
	if (mask & EVENT_WRITE)
		bits |= EPOLLOUT;
	return bits;
}

struct event_watch *event_fd_add(struct event_loop *loop, int fd, unsigned int mask,
				 event_fd_cb *cb, void *ctx)
{
	struct event_watch *w;
	struct epoll_event ev;

	if (fd < 0 || cb == NULL)
		msg_panic("event_fd_add: bad arguments (fd %d)", fd);
	w = xcalloc(1, sizeof(*w));
	w->loop = loop;
	w->fd = fd;
	w->mask = mask;
	w->cb = cb;
	w->ctx = ctx;
	memset(&ev, 0, sizeof(ev));
	ev.events = epoll_bits(mask);
	ev.data.ptr = w;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		if (errno == EBADF || errno == EEXIST || errno == EPERM)
			msg_panic("event_fd_add: fd %d: %s", fd, strerror(errno));
		msg_fatal("epoll_ctl(ADD, %d): %s", fd, strerror(errno));
	}
	w->next = loop->watches;
	if (w->next != NULL)
		w->next->prev = w;
	loop->watches = w;
	return w;
}

void event_fd_modify(struct event_watch *w, unsigned int mask)
{
	struct epoll_event ev;

	if (w->dead)
		msg_panic("event_fd_modify: watch of fd %d was removed", w->fd);
	if (w->mask == mask)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = epoll_bits(mask);
	ev.data.ptr = w;
	if (epoll_ctl(w->loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		msg_panic("event_fd_modify: fd %d: %s", w->fd, strerror(errno));
	w->mask = mask;
}

unsigned int event_fd_mask(const struct event_watch *w)
{
	return w->mask;
}

void event_fd_remove(struct event_watch **wp)
{
	struct event_watch *w = *wp;
	struct event_loop *loop;

	if (w == NULL)
		return;
	*wp = NULL;
	loop = w->loop;
	/* A descriptor closed too early has already left the epoll set. */
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL) < 0 && errno != EBADF &&
	    errno != ENOENT)
		msg_fatal("epoll_ctl(DEL, %d): %s", w->fd, strerror(errno));
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		loop->watches = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->dead = 1;
	w->cb = NULL;
	if (loop->depth > 0) {
		w->prev = NULL;
		w->next = loop->dead;
		loop->dead = w;
	} else {
		free(w);
	}
}

/* dispatch_fd - call a watch's callback for what epoll reported. */
static void dispatch_fd(struct event_loop *loop, struct event_watch *w, uint32_t bits)
{
	unsigned int events = 0;

	if (w->dead)
		return;
	if (bits & (EPOLLIN | EPOLLRDHUP))
		events |= EVENT_READ;
	if (bits & EPOLLOUT)
		events |= EVENT_WRITE;
	if (bits & (EPOLLERR | EPOLLHUP)) {
		events |= EVENT_ERROR;
		/* Let a reader see the end of file or the error through read(). */
		if (w->mask & EVENT_READ)
			events |= EVENT_READ;
	}
	events &= w->mask | EVENT_ERROR;
	if (events == 0)
		return;
	loop->calls++;
	w->cb(loop, w->fd, events, w->ctx);
}

/* ---- timers: a binary min-heap ordered by (when_ms, seq) ---- */

static int timer_before(const struct event_timer *a, const struct event_timer *b)
{
	return a->when_ms < b->when_ms || (a->when_ms == b->when_ms && a->seq < b->seq);
}

static void heap_set(struct event_loop *loop, size_t i, struct event_timer *t)
{
	loop->heap[i] = t;
	t->slot = i + 1;
}

static void heap_up(struct event_loop *loop, size_t i)
{
	struct event_timer *t = loop->heap[i];

	while (i > 0 && timer_before(t, loop->heap[(i - 1) / 2])) {
		heap_set(loop, i, loop->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(loop, i, t);
}

static void heap_down(struct event_loop *loop, size_t i)
{
	struct event_timer *t = loop->heap[i];
	size_t child;

	for (;;) {
		child = 2 * i + 1;
		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len &&
		    timer_before(loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!timer_before(loop->heap[child], t))
			break;
		heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	heap_set(loop, i, t);
}

void event_timer_cancel(struct event_loop *loop, struct event_timer *t)
{
	struct event_timer *moved;
	size_t i;

	if (t->slot == 0)
		return;
	i = t->slot - 1;
	if (i >= loop->heap_len || loop->heap[i] != t)
		msg_panic("event_timer_cancel: timer is not in this loop");
	t->slot = 0;
	loop->heap_len--;
	if (i == loop->heap_len)
		return;
	moved = loop->heap[loop->heap_len];
	heap_set(loop, i, moved);
	heap_up(loop, i);
	heap_down(loop, moved->slot - 1);
}

void event_timer_add(struct event_loop *loop, struct event_timer *t, uint64_t delay_ms,
		     event_timer_cb *cb, void *ctx)
{
	if (cb == NULL)
		msg_panic("event_timer_add: no callback");
	event_timer_cancel(loop, t);
	t->cb = cb;
	t->ctx = ctx;
	t->when_ms = loop->now_ms + delay_ms;
	t->seq = loop->timer_seq++;
	if (loop->heap_len == loop->heap_size) {
		loop->heap_size = loop->heap_size ? 2 * loop->heap_size : 16;
		loop->heap = xreallocarray(loop->heap, loop->heap_size, sizeof(*loop->heap));
	}
	loop->heap_len++;
	heap_set(loop, loop->heap_len - 1, t);
	heap_up(loop, loop->heap_len - 1);
}

int event_timer_pending(const struct event_timer *t)
{
	return t->slot != 0;
}

/* run_timers - call the timers that are due and were armed before this round. */
static void run_timers(struct event_loop *loop)
{
	uint64_t limit = loop->timer_seq;
	struct event_timer *t;

	while (loop->heap_len > 0) {
		t = loop->heap[0];
		if (t->when_ms > loop->now_ms || t->seq >= limit)
			break;
		event_timer_cancel(loop, t);
		loop->calls++;
		t->cb(loop, t->ctx);
	}
}

/* wait_ms - how long epoll_wait() may sleep, given the next timer. */
static int wait_ms(const struct event_loop *loop, int max_wait_ms)
{
	uint64_t diff;
	int ms;

	if (loop->heap_len == 0)
		return max_wait_ms < 0 ? -1 : max_wait_ms;
	if (loop->heap[0]->when_ms <= loop->now_ms)
		return 0;
	diff = loop->heap[0]->when_ms - loop->now_ms;
	ms = diff > INT_MAX ? INT_MAX : (int)diff;
	return max_wait_ms >= 0 && max_wait_ms < ms ? max_wait_ms : ms;
}

/* ---- signals through signalfd ---- */

static void signal_ready(struct event_loop *loop, int fd, unsigned int events, void *ctx)
{
	struct signalfd_siginfo info[8];
	struct signal_handler *h;
	ssize_t n, i;

	for (;;) {
		n = read(fd, info, sizeof(info));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			msg_fatal("read signalfd: %s", n < 0 ? strerror(errno) : "end of file");
		for (i = 0; i < n / (ssize_t)sizeof(info[0]); i++) {
			if (info[i].ssi_signo >= _NSIG)
				continue;
			h = &loop->sig[info[i].ssi_signo];
			if (h->cb == NULL)
				continue;
			loop->calls++;
			h->cb(loop, (int)info[i].ssi_signo, h->ctx);
		}
	}
}

static void signalfd_update(struct event_loop *loop)
{
	int fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);

	if (fd < 0)
		msg_fatal("signalfd: %s", strerror(errno));
	if (loop->sigfd < 0) {
		loop->sigfd = fd;
		loop->sig_watch = event_fd_add(loop, fd, EVENT_READ, signal_ready, NULL);
	}
}

void event_signal_add(struct event_loop *loop, int signo, event_signal_cb *cb, void *ctx)
{
	sigset_t one;

	if (signo <= 0 || signo >= _NSIG || signo == SIGKILL || signo == SIGSTOP || cb == NULL)
		msg_panic("event_signal_add: bad signal %d", signo);
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, loop->mask_saved ? NULL : &loop->saved_mask) < 0)
		msg_fatal("sigprocmask: %s", strerror(errno));
	loop->mask_saved = 1;
	sigaddset(&loop->sigmask, signo);
	loop->sig[signo].cb = cb;
	loop->sig[signo].ctx = ctx;
	signalfd_update(loop);
}

void event_signal_remove(struct event_loop *loop, int signo)
{
	sigset_t one;

	if (signo <= 0 || signo >= _NSIG)
		msg_panic("event_signal_remove: bad signal %d", signo);
	if (loop->sig[signo].cb == NULL)
		return;
	loop->sig[signo].cb = NULL;
	loop->sig[signo].ctx = NULL;
	sigdelset(&loop->sigmask, signo);
	signalfd_update(loop);
	if (!sigismember(&loop->saved_mask, signo)) {
		sigemptyset(&one);
		sigaddset(&one, signo);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
	}
}

void event_loop_restore_sigmask(const struct event_loop *loop)
{
	if (loop->mask_saved)
		sigprocmask(SIG_SETMASK, &loop->saved_mask, NULL);
}

/* ---- rounds ---- */

int event_loop_run_once(struct event_loop *loop, int max_wait_ms)
{
	struct epoll_event evs[EVENT_BATCH];
	int n, i, outer_calls;

	n = epoll_wait(loop->epfd, evs, EVENT_BATCH, wait_ms(loop, max_wait_ms));
	if (n < 0) {
		if (errno != EINTR)
			msg_fatal("epoll_wait: %s", strerror(errno));
		n = 0;
	}
	loop->now_ms = clock_ms();
	loop->depth++;
	outer_calls = loop->calls;
	loop->calls = 0;
	for (i = 0; i < n; i++)
		dispatch_fd(loop, evs[i].data.ptr, evs[i].events);
	run_timers(loop);
	n = loop->calls;
	loop->calls = outer_calls;
	if (--loop->depth == 0)
		free_dead(loop);
	return n;
}

void event_loop_run(struct event_loop *loop)
{
	while (!loop->stop)
		event_loop_run_once(loop, -1);
	loop->stop = 0;
}
