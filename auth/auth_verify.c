/*
 * auth_verify - a pool of threads running password_verify(). See
 * auth_verify.h.
 *
 * A mutex guards two lists: jobs waiting for a thread, and jobs done. A
 * worker takes the oldest waiting job, checks it unlocked, moves it to the
 * done list and bumps an eventfd; the loop's callback on that eventfd
 * delivers the results. A cancelled job that is still waiting is freed at
 * once; one that is running or done is only marked, and freed when the loop
 * collects it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "auth/auth_verify.h"
#include "util/event.h"
#include "util/msg.h"
#include "util/mymalloc.h"

#define VERIFY_THREADS_MAX 64

enum job_state { JOB_WAITING, JOB_RUNNING, JOB_DONE };

struct auth_verify_job {
	struct auth_verify_job *prev, *next;
	enum job_state state;
	int cancelled;
	char *password;
	size_t password_len;
	char *hash;
	enum password_result result;
	char *error;
	auth_verify_done_fn *done;
	void *ctx;
};

struct job_list {
	struct auth_verify_job *head, *tail;
};

struct auth_verify {
	struct event_loop *loop;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job_list waiting, done; /* under lock */
	int stop;		       /* under lock */
	int efd;
	struct event_watch *watch;
	pthread_t *threads;
	int nthreads;
};

static void list_append(struct job_list *l, struct auth_verify_job *job)
{
	job->next = NULL;
	job->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = job;
	else
		l->head = job;
	l->tail = job;
}

static void list_remove(struct job_list *l, struct auth_verify_job *job)
{
	if (job->prev != NULL)
		job->prev->next = job->next;
	else
		l->head = job->next;
	if (job->next != NULL)
		job->next->prev = job->prev;
	else
		l->tail = job->prev;
	job->prev = job->next = NULL;
}

static void job_free(struct auth_verify_job *job)
{
	if (job->password != NULL)
		explicit_bzero(job->password, job->password_len);
	free(job->password);
	free(job->hash);
	free(job->error);
	free(job);
}

static void lock(struct auth_verify *v)
{
	int rc = pthread_mutex_lock(&v->lock);

	if (rc != 0)
		msg_panic("auth_verify: mutex lock: %s", strerror(rc));
}

static void unlock(struct auth_verify *v)
{
	int rc = pthread_mutex_unlock(&v->lock);

	if (rc != 0)
		msg_panic("auth_verify: mutex unlock: %s", strerror(rc));
}

/* notify - wake the loop: a result is waiting. */
static void notify(struct auth_verify *v)
{
	uint64_t one = 1;

	while (write(v->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	/* EAGAIN: the counter is at its maximum, so the loop is woken anyway */
}

static void *worker(void *arg)
{
	struct auth_verify *v = arg;
	struct auth_verify_job *job;

	lock(v);
	for (;;) {
		while (!v->stop && v->waiting.head == NULL)
			pthread_cond_wait(&v->wake, &v->lock);
		if (v->stop)
			break;
		job = v->waiting.head;
		list_remove(&v->waiting, job);
		job->state = JOB_RUNNING;
		unlock(v);
		job->result = password_verify(job->password, job->hash, &job->error);
		explicit_bzero(job->password, job->password_len);
		lock(v);
		job->state = JOB_DONE;
		list_append(&v->done, job);
		notify(v);
	}
	unlock(v);
	return NULL;
}

/* on_results - deliver every finished job's result. */
static void on_results(struct event_loop *loop, int fd, unsigned int events, void *ctx)
{
	struct auth_verify *v = ctx;
	struct auth_verify_job *job, *next;
	uint64_t count;
	char *error;

	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN && errno != EINTR)
		msg_fatal("auth_verify: read eventfd: %s", strerror(errno));
	lock(v);
	job = v->done.head;
	v->done.head = v->done.tail = NULL;
	unlock(v);
	for (; job != NULL; job = next) {
		next = job->next;
		if (!job->cancelled) {
			error = job->error;
			job->error = NULL;
			job->done(job->ctx, job->result, error);
		}
		job_free(job);
	}
}

int auth_verify_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > VERIFY_THREADS_MAX ? VERIFY_THREADS_MAX : (int)n;
}

struct auth_verify *auth_verify_create(struct event_loop *loop, int threads)
{
	struct auth_verify *v = xcalloc(1, sizeof(*v));
	int i, rc;

	if (threads < 1)
		msg_panic("auth_verify_create: %d threads", threads);
	v->loop = loop;
	if ((rc = pthread_mutex_init(&v->lock, NULL)) != 0 ||
	    (rc = pthread_cond_init(&v->wake, NULL)) != 0)
		msg_fatal("auth_verify: pthread init: %s", strerror(rc));
	if ((v->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		msg_fatal("auth_verify: eventfd: %s", strerror(errno));
	v->watch = event_fd_add(loop, v->efd, EVENT_READ, on_results, v);
	v->threads = xcalloc((size_t)threads, sizeof(*v->threads));
	for (i = 0; i < threads; i++) {
		if ((rc = pthread_create(&v->threads[i], NULL, worker, v)) != 0)
			msg_fatal("auth_verify: start a thread: %s", strerror(rc));
		v->nthreads++;
	}
	return v;
}

static void drop_list(struct job_list *l)
{
	struct auth_verify_job *job, *next;

	for (job = l->head; job != NULL; job = next) {
		next = job->next;
		job_free(job);
	}
	l->head = l->tail = NULL;
}

void auth_verify_free(struct auth_verify **vp)
{
	struct auth_verify *v = *vp;
	int i;

	if (v == NULL)
		return;
	lock(v);
	v->stop = 1;
	pthread_cond_broadcast(&v->wake);
	unlock(v);
	for (i = 0; i < v->nthreads; i++)
		pthread_join(v->threads[i], NULL);
	drop_list(&v->waiting);
	drop_list(&v->done);
	event_fd_remove(&v->watch);
	close(v->efd);
	pthread_cond_destroy(&v->wake);
	pthread_mutex_destroy(&v->lock);
	free(v->threads);
	free(v);
	*vp = NULL;
}

struct auth_verify_job *auth_verify_submit(struct auth_verify *v, const char *password,
					   const char *hash, auth_verify_done_fn *done, void *ctx)
{
	struct auth_verify_job *job = xcalloc(1, sizeof(*job));

	job->password_len = strlen(password);
	job->password = xmemdup(password, job->password_len + 1);
	job->hash = xstrdup(hash);
	job->done = done;
	job->ctx = ctx;
	lock(v);
	job->state = JOB_WAITING;
	list_append(&v->waiting, job);
	pthread_cond_signal(&v->wake);
	unlock(v);
	return job;
}

void auth_verify_cancel(struct auth_verify *v, struct auth_verify_job *job)
{
	lock(v);
	if (job->state == JOB_WAITING) {
		list_remove(&v->waiting, job);
		unlock(v);
		job_free(job);
		return;
	}
	job->cancelled = 1;
	unlock(v);
}
