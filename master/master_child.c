/*
 * master_child - starting, counting and reaping children.
 *
 * Each service keeps service_prefork idle children ready and, when every
 * child is busy, watches its listening sockets itself: a pending connection
 * then starts one more child, up to maxproc. A new child counts as idle
 * until it reports BUSY, so one connection never starts more than one
 * child. Crashes go to master_throttle.c, which holds the service back.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mail/master_proto.h"
#include "master/master.h"
#include "util/msg.h"
#include "util/mymalloc.h"

#define STATUS_BATCH 64

static struct master_child *child_find(struct master *m, pid_t pid)
{
	struct master_child *c;

	for (c = m->children; c != NULL; c = c->next)
		if (c->pid == pid)
			return c;
	return NULL;
}

/* ---- status reports ---- */

static void apply_status(struct master *m, const struct master_status *rec)
{
	struct master_child *c = child_find(m, (pid_t)rec->pid);
	struct master_service *svc;

	if (c == NULL) {
		msg_debug("status %s from unknown pid %ld", master_status_name(rec->status),
			  (long)rec->pid);
		return;
	}
	svc = c->service;
	switch (rec->status) {
	case MASTER_STATUS_READY:
		c->ready = 1;
		break;
	case MASTER_STATUS_BUSY:
		if (!c->busy && !c->retired)
			svc->avail--;
		c->ready = c->busy = 1;
		break;
	case MASTER_STATUS_IDLE:
		if (c->busy && !c->retired)
			svc->avail++;
		if (c->busy) {
			c->served = 1;
			master_throttle_reset(svc);
		}
		c->busy = 0;
		break;
	default:
		msg_warn("service %s: pid %ld sent unknown status %d", svc->conf.name,
			 (long)rec->pid, (int)rec->status);
		return;
	}
	if (!c->retired)
		master_balance(svc);
}

void master_status_drain(struct master *m)
{
	struct master_status recs[STATUS_BATCH];
	ssize_t n, i;

	for (;;) {
		n = read(m->status_rd, recs, sizeof(recs));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			msg_fatal("read status pipe: %s", n < 0 ? strerror(errno) : "end of file");
		if (n % (ssize_t)sizeof(recs[0]) != 0)
			msg_warn("status pipe: %zd stray bytes", n % (ssize_t)sizeof(recs[0]));
		for (i = 0; i < n / (ssize_t)sizeof(recs[0]); i++)
			apply_status(m, &recs[i]);
	}
}

static void on_status(struct event_loop *loop, int fd, unsigned int events, void *ctx)
{
	master_status_drain(ctx);
}

void master_status_open(struct master *m)
{
	int p[2];

	/* The read end is non-blocking; the children's write end stays blocking. */
	if (pipe2(p, O_CLOEXEC) < 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
		msg_fatal("status pipe: %s", strerror(errno));
	m->status_rd = p[0];
	m->status_wr = p[1];
	m->status_watch = event_fd_add(m->loop, p[0], EVENT_READ, on_status, m);
}

/* ---- starting children ---- */

/* child_exec - in the new process: descriptors and environment per master_proto.h, then exec. */
static void child_exec(struct master_service *svc)
{
	struct master *m = svc->master;
	int n = (int)svc->nfds, tmp[TERN_LISTEN_MAX + 1], i, src;
	char count[16];

	event_loop_restore_sigmask(m->loop);
	signal(SIGPIPE, SIG_DFL);
	if (n > TERN_LISTEN_MAX)
		n = TERN_LISTEN_MAX;
	/* Move every source above the targets first, so no dup2 clobbers another source. */
	for (i = 0; i <= n; i++) {
		src = i == 0 ? m->status_wr : svc->fds[i - 1];
		tmp[i] = fcntl(src, F_DUPFD_CLOEXEC, TERN_LISTEN_FD + n);
		if (tmp[i] < 0)
			goto fail;
	}
	for (i = 0; i <= n; i++)
		if (dup2(tmp[i], i == 0 ? TERN_STATUS_FD : TERN_LISTEN_FD + i - 1) < 0)
			goto fail;
	snprintf(count, sizeof(count), "%d", n);
	if (setenv(TERN_LISTEN_FDS_ENV, count, 1) < 0)
		goto fail;
	execv(svc->exec_path, svc->argv);
fail:
	msg_error("service %s: start %s: %s", svc->conf.name, svc->exec_path, strerror(errno));
	_exit(1);
}

/* spawn - start one child; -1 when fork fails (the service is then throttled). */
static int spawn(struct master_service *svc)
{
	struct master *m = svc->master;
	struct master_child *c;
	char *what;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		what = xasprintf("fork failed: %s", strerror(errno));
		master_throttle_crash(svc, what);
		free(what);
		return -1;
	}
	if (pid == 0)
		child_exec(svc);
	c = xcalloc(1, sizeof(*c));
	c->pid = pid;
	c->service = svc;
	c->next = m->children;
	if (c->next != NULL)
		c->next->prev = c;
	m->children = c;
	m->nchildren++;
	svc->total++;
	svc->avail++;
	svc->all++;
	msg_debug("service %s: started pid %ld", svc->conf.name, (long)pid);
	return 0;
}

static int below_max(const struct master_service *svc)
{
	return svc->conf.maxproc == 0 || svc->total < svc->conf.maxproc;
}

/* on_demand - a connection waits and no child is idle: start one. */
static void on_demand(struct event_loop *loop, int fd, unsigned int events, void *ctx)
{
	struct master_service *svc = ctx;

	if (svc->avail == 0 && below_max(svc) && !master_throttled(svc) && !svc->retired)
		(void)spawn(svc);
	master_balance(svc);
}

void master_service_watch(struct master_service *svc, int on)
{
	struct event_loop *loop = svc->master->loop;
	size_t i;

	if (on && svc->watches == NULL && svc->nfds > 0) {
		svc->watches = xcalloc(svc->nfds, sizeof(*svc->watches));
		for (i = 0; i < svc->nfds; i++)
			svc->watches[i] =
			    event_fd_add(loop, svc->fds[i], EVENT_READ, on_demand, svc);
	} else if (!on && svc->watches != NULL) {
		for (i = 0; i < svc->nfds; i++)
			event_fd_remove(&svc->watches[i]);
		XFREE(svc->watches);
	}
}

void master_balance(struct master_service *svc)
{
	if (svc->retired || svc->master->draining || master_throttled(svc)) {
		master_service_watch(svc, 0);
		return;
	}
	while (svc->avail < svc->prefork && below_max(svc))
		if (spawn(svc) < 0)
			break;
	master_service_watch(svc, !master_throttled(svc) && svc->avail == 0 && below_max(svc));
}

/* ---- stopping and reaping ---- */

void master_child_retire(struct master_child *c)
{
	if (c->retired)
		return;
	c->retired = 1;
	c->service->total--;
	if (!c->busy)
		c->service->avail--;
	if (kill(c->pid, SIGTERM) < 0 && errno != ESRCH)
		msg_warn("kill %ld: %s", (long)c->pid, strerror(errno));
}

void master_retire_all(struct master *m, struct master_service *svc)
{
	struct master_child *c;

	for (c = m->children; c != NULL; c = c->next)
		if (svc == NULL || c->service == svc)
			master_child_retire(c);
}

static void describe(int status, char *buf, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "exit status %d", WEXITSTATUS(status));
}

/* child_exited - account for one reaped child; crashes are throttled. */
static void child_exited(struct master *m, struct master_child *c, int status)
{
	struct master_service *svc = c->service;
	int abnormal = WIFSIGNALED(status) || WEXITSTATUS(status) != 0;
	char how[64], *what;

	describe(status, how, sizeof(how));
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		m->children = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	m->nchildren--;
	svc->all--;
	if (!c->retired) {
		svc->total--;
		if (!c->busy)
			svc->avail--;
		if (!c->served && (abnormal || !c->ready)) {
			what = xasprintf("process crashed (pid %ld, %s) before serving",
					 (long)c->pid, how);
			master_throttle_crash(svc, what);
			free(what);
		} else if (abnormal) {
			msg_warn("service %s: process %ld %s", svc->conf.name, (long)c->pid, how);
		}
	} else {
		msg_debug("service %s: retired pid %ld ended (%s)", svc->conf.name, (long)c->pid,
			  how);
	}
	free(c);
	master_child_gone(m, svc);
}

void master_reap(struct master *m)
{
	struct master_child *c;
	int status;
	pid_t pid;

	/* Status records written before a child exited are applied first. */
	master_status_drain(m);
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		c = child_find(m, pid);
		if (c != NULL)
			child_exited(m, c, status);
	}
	if (pid < 0 && errno != ECHILD)
		msg_warn("waitpid: %s", strerror(errno));
}
