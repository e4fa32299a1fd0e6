/*
 * qmgr_sched - the queue manager's scheduler: which delivery goes to which
 * agent next. Pure bookkeeping, no processes and no files, so that every
 * rule can be tested on its own.
 *
 * Model. Mail waits in destinations: one per (transport, next hop), e.g.
 * ("smtp", "example.org"). A destination holds jobs in arrival order; a
 * job is one delivery request: recipients of one message for that
 * destination, at most the transport's recipient limit. Each transport
 * keeps its destinations in a ring.
 *
 * Concurrency. A destination may have at most `window` deliveries in
 * progress. A new destination starts with the initial concurrency and its
 * window grows by one with each delivery that reached the destination
 * (positive feedback), up to the destination concurrency limit: slow
 * start, so that a destination is not flooded before it has shown that it
 * takes mail. A delivery that could not reach it (negative feedback: no
 * server answered) shrinks the window by one (not below 1) and adds
 * 1/window to the destination's failed-cohort count; positive feedback
 * resets that count. When the count reaches the failed-cohort limit the
 * destination is dead: the dead-destination cache keeps it, with the
 * reason, for the dead time; its waiting jobs and those that arrive while
 * it is dead are handed back to be deferred without an attempt. When the
 * time is over it comes back with a fresh window.
 *
 * Fairness. qsched_next() serves a transport's destinations round robin,
 * one job per turn, skipping those at their window or dead: a slow
 * destination holds at most its window of the transport's agents and never
 * starves the others.
 *
 * Time is given by the caller in seconds (any clock that does not go back).
 */
#ifndef TERN_QMGR_SCHED_H
#define TERN_QMGR_SCHED_H

#include <stddef.h>
#include <time.h>

/* The limits of one transport's destinations. */
struct qsched_limits {
	int initial_concurrency;    /* window of a new destination (>= 1) */
	int concurrency_limit;	    /* the largest window (>= 1) */
	int recipient_limit;	    /* recipients in one job (>= 1) */
	double failed_cohort_limit; /* failed cohorts that make a destination dead (> 0) */
	time_t dead_time;	    /* how long a dead destination stays dead (seconds) */
};

/* What a finished delivery says about its destination. */
enum qsched_feedback {
	QSCHED_NEUTRAL,	 /* nothing (the agent crashed, or it was not tried) */
	QSCHED_POSITIVE, /* the destination answered */
	QSCHED_NEGATIVE, /* the destination could not be reached */
};

struct qsched;
struct qsched_transport;
struct qsched_dest;

/* One delivery: the caller's data, waiting in a destination or in progress. */
struct qsched_job {
	struct qsched_dest *dest;
	struct qsched_job *next; /* in the destination's queue */
	void *data;		 /* the caller's */
};

struct qsched *qsched_create(void);
/*
 * qsched_free - free everything; jobs still queued or in progress are a
 * programming error unless drained first (qsched_drain()).
 */
void qsched_free(struct qsched **sched);

/*
 * qsched_transport - the transport named name, created with limits on first
 * use (later calls keep the first limits).
 */
struct qsched_transport *qsched_transport(struct qsched *sched, const char *name,
					  const struct qsched_limits *limits);
const char *qsched_transport_name(const struct qsched_transport *t);
const struct qsched_limits *qsched_transport_limits(const struct qsched_transport *t);
/* qsched_transport_find - the transport named name, or NULL. */
struct qsched_transport *qsched_transport_find(struct qsched *sched, const char *name);
/* qsched_transports - iterate: the first transport (prev NULL) or the one after prev. */
struct qsched_transport *qsched_transports(struct qsched *sched, struct qsched_transport *prev);

/* qsched_dest - the destination nexthop of t, created on first use. */
struct qsched_dest *qsched_dest(struct qsched_transport *t, const char *nexthop);
/* qsched_dest_find - the destination, or NULL. */
struct qsched_dest *qsched_dest_find(struct qsched_transport *t, const char *nexthop);
const char *qsched_dest_nexthop(const struct qsched_dest *d);
struct qsched_transport *qsched_dest_transport(const struct qsched_dest *d);
int qsched_dest_window(const struct qsched_dest *d);
int qsched_dest_busy(const struct qsched_dest *d);
size_t qsched_dest_queued(const struct qsched_dest *d);
double qsched_dest_failed_cohorts(const struct qsched_dest *d);

/*
 * qsched_dest_dead - whether d is dead at time now (a dead destination
 * whose time is over comes back to life here, with a fresh window); the
 * reason it died, when reason_r is not NULL.
 */
int qsched_dest_dead(struct qsched_dest *d, time_t now, const char **reason_r);

/* qsched_enqueue - a new job for d with the caller's data, at the end of its queue. */
struct qsched_job *qsched_enqueue(struct qsched_dest *d, void *data);

/*
 * qsched_ready - how many jobs of t could start now (at most `limit`
 * counted): jobs waiting in live destinations below their window.
 */
size_t qsched_ready(struct qsched_transport *t, time_t now, size_t limit);

/*
 * qsched_next - the next job of t to start, round robin over its
 * destinations (see above), or NULL. The job is now in progress: its
 * destination counts it until qsched_done().
 */
struct qsched_job *qsched_next(struct qsched_transport *t, time_t now);

/*
 * qsched_done - a job that qsched_next() returned is over: update its
 * destination's window from feedback (reason: why, for NEGATIVE; kept as
 * the dead reason), then free the job. Returns 1 when this made the
 * destination dead, else 0.
 */
int qsched_done(struct qsched *sched, struct qsched_job *job, enum qsched_feedback feedback,
		const char *reason, time_t now);

/*
 * qsched_kill - make d dead now for its transport's dead time, with reason
 * (e.g. the whole transport is unavailable).
 */
void qsched_kill(struct qsched_dest *d, const char *reason, time_t now);

/* qsched_kill_transport - qsched_kill() every destination of t that has waiting jobs. */
void qsched_kill_transport(struct qsched_transport *t, const char *reason, time_t now);

/*
 * qsched_take_dead - one job waiting in a dead destination of any
 * transport, removed from its queue (the caller defers it and calls
 * qsched_job_free()), or NULL when there is none. *reason_r: the
 * destination's dead reason (valid until the next call of the scheduler).
 */
struct qsched_job *qsched_take_dead(struct qsched *sched, time_t now, const char **reason_r);

/* qsched_drain - one waiting job of any destination, removed (for shutdown), or NULL. */
struct qsched_job *qsched_drain(struct qsched *sched);

/* qsched_job_free - free a job that was taken out of its queue and not started. */
void qsched_job_free(struct qsched_job *job);

/*
 * qsched_gc - forget destinations with nothing queued, nothing in
 * progress, and not dead at time now. Returns how many were forgotten.
 */
size_t qsched_gc(struct qsched *sched, time_t now);

/* qsched_dest_count - destinations known (all transports). */
size_t qsched_dest_count(const struct qsched *sched);

#endif
