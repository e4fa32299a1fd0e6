/*
 * qmgr_sched - destinations, their windows and the dead-destination cache,
 * and the round robin between destinations. See qmgr_sched.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qmgr/qmgr_sched.h"
#include "util/msg.h"
#include "util/mymalloc.h"

struct qsched_dest {
	struct qsched_transport *transport;
	char *nexthop;
	struct qsched_dest *hnext;	 /* hash chain */
	struct qsched_dest *prev, *next; /* the transport's ring */
	struct qsched_job *head, *tail;	 /* waiting jobs */
	size_t queued;
	int window, busy;
	double failed_cohorts;
	int dead;
	time_t dead_until;
	char *reason; /* why it died (or last failed) */
};

struct qsched_transport {
	struct qsched *sched;
	char *name;
	struct qsched_limits limits;
	struct qsched_transport *next;
	struct qsched_dest **table; /* hash of destinations by next hop */
	size_t table_size, count;
	struct qsched_dest *rotor; /* the ring's next destination to serve, or NULL if empty */
};

struct qsched {
	struct qsched_transport *transports;
	size_t dests;
};

/* hash - FNV-1a of a string. */
static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct qsched *qsched_create(void)
{
	return xcalloc(1, sizeof(struct qsched));
}

static void dest_free(struct qsched_dest *d)
{
	if (d->head != NULL || d->busy > 0)
		msg_panic("qsched: destination %s:%s freed while in use", d->transport->name,
			  d->nexthop);
	free(d->nexthop);
	free(d->reason);
	free(d);
}

void qsched_free(struct qsched **schedp)
{
	struct qsched *sched = *schedp;
	struct qsched_transport *t;
	struct qsched_dest *d, *dn;
	size_t i;

	if (sched == NULL)
		return;
	while ((t = sched->transports) != NULL) {
		sched->transports = t->next;
		for (i = 0; i < t->table_size; i++) {
			for (d = t->table[i]; d != NULL; d = dn) {
				dn = d->hnext;
				dest_free(d);
			}
		}
		free(t->table);
		free(t->name);
		free(t);
	}
	free(sched);
	*schedp = NULL;
}

struct qsched_transport *qsched_transport_find(struct qsched *sched, const char *name)
{
	struct qsched_transport *t;

	for (t = sched->transports; t != NULL; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

struct qsched_transport *qsched_transport(struct qsched *sched, const char *name,
					  const struct qsched_limits *limits)
{
	struct qsched_transport *t = qsched_transport_find(sched, name);

	if (t != NULL)
		return t;
	if (limits->initial_concurrency < 1 || limits->concurrency_limit < 1 ||
	    limits->recipient_limit < 1 || !(limits->failed_cohort_limit > 0))
		msg_panic("qsched_transport: bad limits for %s", name);
	t = xcalloc(1, sizeof(*t));
	t->sched = sched;
	t->name = xstrdup(name);
	t->limits = *limits;
	if (t->limits.initial_concurrency > t->limits.concurrency_limit)
		t->limits.initial_concurrency = t->limits.concurrency_limit;
	t->table_size = 64;
	t->table = xcalloc(t->table_size, sizeof(*t->table));
	t->next = sched->transports;
	sched->transports = t;
	return t;
}

const char *qsched_transport_name(const struct qsched_transport *t)
{
	return t->name;
}

const struct qsched_limits *qsched_transport_limits(const struct qsched_transport *t)
{
	return &t->limits;
}

struct qsched_transport *qsched_transports(struct qsched *sched, struct qsched_transport *prev)
{
	return prev == NULL ? sched->transports : prev->next;
}

/* grow - double the hash table of t. */
static void grow(struct qsched_transport *t)
{
	size_t size = t->table_size * 2, i, slot;
	struct qsched_dest **table = xcalloc(size, sizeof(*table));
	struct qsched_dest *d, *dn;

	for (i = 0; i < t->table_size; i++) {
		for (d = t->table[i]; d != NULL; d = dn) {
			dn = d->hnext;
			slot = hash(d->nexthop) & (size - 1);
			d->hnext = table[slot];
			table[slot] = d;
		}
	}
	free(t->table);
	t->table = table;
	t->table_size = size;
}

struct qsched_dest *qsched_dest_find(struct qsched_transport *t, const char *nexthop)
{
	struct qsched_dest *d;

	for (d = t->table[hash(nexthop) & (t->table_size - 1)]; d != NULL; d = d->hnext)
		if (strcmp(d->nexthop, nexthop) == 0)
			return d;
	return NULL;
}

struct qsched_dest *qsched_dest(struct qsched_transport *t, const char *nexthop)
{
	struct qsched_dest *d = qsched_dest_find(t, nexthop);
	size_t slot;

	if (d != NULL)
		return d;
	if (t->count >= t->table_size)
		grow(t);
	d = xcalloc(1, sizeof(*d));
	d->transport = t;
	d->nexthop = xstrdup(nexthop);
	d->window = t->limits.initial_concurrency;
	slot = hash(nexthop) & (t->table_size - 1);
	d->hnext = t->table[slot];
	t->table[slot] = d;
	t->count++;
	t->sched->dests++;
	/* into the ring, just before the rotor: served last in the current round */
	if (t->rotor == NULL) {
		d->prev = d->next = d;
		t->rotor = d;
	} else {
		d->next = t->rotor;
		d->prev = t->rotor->prev;
		d->prev->next = d;
		t->rotor->prev = d;
	}
	return d;
}

const char *qsched_dest_nexthop(const struct qsched_dest *d)
{
	return d->nexthop;
}

struct qsched_transport *qsched_dest_transport(const struct qsched_dest *d)
{
	return d->transport;
}

int qsched_dest_window(const struct qsched_dest *d)
{
	return d->window;
}

int qsched_dest_busy(const struct qsched_dest *d)
{
	return d->busy;
}

size_t qsched_dest_queued(const struct qsched_dest *d)
{
	return d->queued;
}

double qsched_dest_failed_cohorts(const struct qsched_dest *d)
{
	return d->failed_cohorts;
}

/* revive - a dead destination starts over: a fresh window, no failures. */
static void revive(struct qsched_dest *d)
{
	d->dead = 0;
	d->failed_cohorts = 0;
	d->window = d->transport->limits.initial_concurrency;
}

int qsched_dest_dead(struct qsched_dest *d, time_t now, const char **reason_r)
{
	if (d->dead && now >= d->dead_until)
		revive(d);
	if (reason_r != NULL)
		*reason_r = d->reason != NULL ? d->reason : "destination not reachable";
	return d->dead;
}

struct qsched_job *qsched_enqueue(struct qsched_dest *d, void *data)
{
	struct qsched_job *job = xcalloc(1, sizeof(*job));

	job->dest = d;
	job->data = data;
	if (d->tail != NULL)
		d->tail->next = job;
	else
		d->head = job;
	d->tail = job;
	d->queued++;
	return job;
}

/* pop - the first waiting job of d, out of its queue. */
static struct qsched_job *pop(struct qsched_dest *d)
{
	struct qsched_job *job = d->head;

	d->head = job->next;
	if (d->head == NULL)
		d->tail = NULL;
	job->next = NULL;
	d->queued--;
	return job;
}

/* startable - whether d may start a job now. */
static int startable(struct qsched_dest *d, time_t now)
{
	return d->head != NULL && d->busy < d->window && !qsched_dest_dead(d, now, NULL);
}

size_t qsched_ready(struct qsched_transport *t, time_t now, size_t limit)
{
	struct qsched_dest *d = t->rotor;
	size_t n = 0, room;

	if (d == NULL)
		return 0;
	do {
		if (startable(d, now)) {
			room = (size_t)(d->window - d->busy);
			n += room < d->queued ? room : d->queued;
		}
		d = d->next;
	} while (d != t->rotor && n < limit);
	return n < limit ? n : limit;
}

struct qsched_job *qsched_next(struct qsched_transport *t, time_t now)
{
	struct qsched_dest *d = t->rotor;

	if (d == NULL)
		return NULL;
	do {
		if (startable(d, now)) {
			t->rotor = d->next;
			d->busy++;
			return pop(d);
		}
		d = d->next;
	} while (d != t->rotor);
	return NULL;
}

/* set_reason - remember why the destination failed. */
static void set_reason(struct qsched_dest *d, const char *reason)
{
	if (reason == NULL)
		return;
	free(d->reason);
	d->reason = xstrdup(reason);
}

void qsched_kill(struct qsched_dest *d, const char *reason, time_t now)
{
	set_reason(d, reason);
	d->dead = 1;
	d->dead_until = now + d->transport->limits.dead_time;
}

void qsched_kill_transport(struct qsched_transport *t, const char *reason, time_t now)
{
	struct qsched_dest *d = t->rotor;

	if (d == NULL)
		return;
	do {
		if (d->head != NULL && !qsched_dest_dead(d, now, NULL))
			qsched_kill(d, reason, now);
		d = d->next;
	} while (d != t->rotor);
}

/* feedback - adjust the window of d after a delivery; 1 when it died of this. */
static int feedback(struct qsched_dest *d, enum qsched_feedback fb, const char *reason, time_t now)
{
	const struct qsched_limits *lim = &d->transport->limits;

	switch (fb) {
	case QSCHED_NEUTRAL:
		return 0;
	case QSCHED_POSITIVE:
		d->failed_cohorts = 0;
		if (d->window < lim->concurrency_limit)
			d->window++;
		return 0;
	case QSCHED_NEGATIVE:
		break;
	}
	set_reason(d, reason);
	d->failed_cohorts += 1.0 / d->window;
	if (d->window > 1)
		d->window--;
	if (d->dead || d->failed_cohorts + 1e-9 < lim->failed_cohort_limit)
		return 0;
	qsched_kill(d, NULL, now);
	return 1;
}

int qsched_done(struct qsched *sched, struct qsched_job *job, enum qsched_feedback fb,
		const char *reason, time_t now)
{
	struct qsched_dest *d = job->dest;
	int died;

	(void)sched;
	if (d->busy <= 0)
		msg_panic("qsched_done: job of %s:%s not in progress", d->transport->name,
			  d->nexthop);
	d->busy--;
	died = feedback(d, fb, reason, now);
	free(job);
	return died;
}

struct qsched_job *qsched_take_dead(struct qsched *sched, time_t now, const char **reason_r)
{
	struct qsched_transport *t;
	struct qsched_dest *d;

	for (t = sched->transports; t != NULL; t = t->next) {
		if ((d = t->rotor) == NULL)
			continue;
		do {
			if (d->head != NULL && qsched_dest_dead(d, now, reason_r))
				return pop(d);
			d = d->next;
		} while (d != t->rotor);
	}
	return NULL;
}

struct qsched_job *qsched_drain(struct qsched *sched)
{
	struct qsched_transport *t;
	struct qsched_dest *d;

	for (t = sched->transports; t != NULL; t = t->next) {
		if ((d = t->rotor) == NULL)
			continue;
		do {
			if (d->head != NULL)
				return pop(d);
			d = d->next;
		} while (d != t->rotor);
	}
	return NULL;
}

void qsched_job_free(struct qsched_job *job)
{
	if (job->next != NULL)
		msg_panic("qsched_job_free: job still queued");
	free(job);
}

/* unlink_dest - take d out of its transport's hash table and ring, and free it. */
static void unlink_dest(struct qsched_dest *d)
{
	struct qsched_transport *t = d->transport;
	struct qsched_dest **pp = &t->table[hash(d->nexthop) & (t->table_size - 1)];

	while (*pp != d)
		pp = &(*pp)->hnext;
	*pp = d->hnext;
	if (d->next == d) {
		t->rotor = NULL;
	} else {
		d->prev->next = d->next;
		d->next->prev = d->prev;
		if (t->rotor == d)
			t->rotor = d->next;
	}
	t->count--;
	t->sched->dests--;
	dest_free(d);
}

size_t qsched_gc(struct qsched *sched, time_t now)
{
	struct qsched_transport *t;
	struct qsched_dest *d, *dn;
	size_t i, n = 0;

	for (t = sched->transports; t != NULL; t = t->next) {
		for (i = 0; i < t->table_size; i++) {
			for (d = t->table[i]; d != NULL; d = dn) {
				dn = d->hnext;
				if (d->head == NULL && d->busy == 0 &&
				    !qsched_dest_dead(d, now, NULL)) {
					unlink_dest(d);
					n++;
				}
			}
		}
	}
	return n;
}

size_t qsched_dest_count(const struct qsched *sched)
{
	return sched->dests;
}
