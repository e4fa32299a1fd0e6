/*
 * qmgr_deliver - between the scheduler and the agents: recipients grouped
 * into jobs (at most the transport's recipient limit each), jobs started
 * on idle agent connections, the agents' answers applied to the messages,
 * and the feedback that drives each destination's window and the
 * dead-destination cache.
 *
 * Feedback from a delivery: positive when some recipient was delivered or
 * refused, or some server answered (a relay other than "none"); negative
 * when every recipient was deferred without any server answering; neutral
 * when the agent failed (its recipients are deferred: those it had marked
 * done in the queue file before it failed stay done).
 *
 * A transport whose socket refuses connections (no such service in
 * master.cf, master not running) is unavailable: its waiting jobs are
 * deferred, and it is tried again after minimal_backoff_time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "mail/deliver_proto.h"
#include "mail/mail_conf.h"
#include "mail/queue_file.h"
#include "qmgr/qmgr.h"
#include "qmgr/qmgr_agent.h"
#include "qmgr/qmgr_sched.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* When work waits but no agent connection could be opened, try again after this. */
#define QMGR_DISPATCH_RETRY_MS 1000

/* A transport that was found unavailable, until when. */
struct qmgr_unavailable {
	char *transport;
	char *reason;
	time_t until;
	struct qmgr_unavailable *next;
};

/* How often destinations with nothing to do (and not dead) are forgotten, in seconds. */
#define QMGR_GC_INTERVAL 10

/* ---- limits of a transport ---- */

/* conf_int - "<transport>_<suffix>" when the parameter exists, else fallback's value. */
static long long conf_int(const struct qmgr *q, const char *transport, const char *suffix,
			  const char *fallback)
{
	char *name = xasprintf("%s_%s", transport, suffix);
	long long v;

	v = param_find(name) != NULL ? mail_conf_int(q->conf, name)
				     : mail_conf_int(q->conf, fallback);
	free(name);
	return v;
}

static void transport_limits(const struct qmgr *q, const char *transport, struct qsched_limits *lim)
{
	long long rl = conf_int(q, transport, "destination_recipient_limit",
				"default_destination_recipient_limit");

	lim->initial_concurrency = (int)mail_conf_int(q->conf, "initial_destination_concurrency");
	lim->concurrency_limit = (int)conf_int(q, transport, "destination_concurrency_limit",
					       "default_destination_concurrency_limit");
	lim->recipient_limit = (int)(rl < DELIVER_RCPT_MAX ? rl : DELIVER_RCPT_MAX);
	lim->failed_cohort_limit =
	    (double)mail_conf_int(q->conf, "default_destination_concurrency_failed_cohort_limit");
	lim->dead_time = q->min_backoff;
}

/* ---- jobs ---- */

static void delivery_free(struct qmgr_delivery *dl)
{
	free(dl->transport);
	free(dl->nexthop);
	free(dl->rcpts);
	free(dl->answered);
	free(dl->last_reason);
	free(dl);
}

void qmgr_deliver_queue(struct qmgr *q, struct qmgr_message *msg, const size_t *idx, size_t n,
			const char *transport, const char *nexthop)
{
	struct qsched_limits lim;
	struct qsched_transport *t;
	struct qsched_dest *d;
	struct qmgr_delivery *dl;
	size_t i, k;

	transport_limits(q, transport, &lim);
	t = qsched_transport(q->sched, transport, &lim);
	d = qsched_dest(t, nexthop);
	lim = *qsched_transport_limits(t);
	for (i = 0; i < n; i += k) {
		k = n - i < (size_t)lim.recipient_limit ? n - i : (size_t)lim.recipient_limit;
		dl = xcalloc(1, sizeof(*dl));
		dl->msg = msg;
		dl->transport = xstrdup(transport);
		dl->nexthop = xstrdup(nexthop);
		dl->rcpts = xmemdup(idx + i, k * sizeof(size_t));
		dl->answered = xcalloc(k, sizeof(bool));
		dl->count = k;
		dl->job = qsched_enqueue(d, dl);
		msg->jobs++;
	}
}

/* job_over - a delivery's recipients all have their state: the message may end its round. */
static void job_over(struct qmgr *q, struct qmgr_delivery *dl)
{
	struct qmgr_message *msg = dl->msg;

	delivery_free(dl);
	msg->jobs--;
	qmgr_active_check(q, msg);
}

/* defer_rest - defer the recipients of a job that was not (or not fully) answered. */
static void defer_rest(struct qmgr *q, struct qmgr_delivery *dl, const char *dsn, const char *text)
{
	struct qmgr_rcpt *r;
	size_t i;

	for (i = 0; i < dl->count; i++) {
		r = &dl->msg->rcpts[dl->rcpts[i]];
		if (!dl->answered[i] && r->state == QMGR_RCPT_QUEUED)
			qmgr_rcpt_defer(q, dl->msg, r, "none", dsn, text);
	}
}

/* reap_dead - defer the jobs that wait for dead destinations. */
static void reap_dead(struct qmgr *q, time_t now)
{
	struct qsched_job *job;
	struct qmgr_delivery *dl;
	const char *reason;
	char *text;

	while ((job = qsched_take_dead(q->sched, now, &reason)) != NULL) {
		dl = job->data;
		qsched_job_free(job);
		text = xasprintf("delivery temporarily suspended: %s", reason);
		defer_rest(q, dl, "4.4.1", text);
		free(text);
		job_over(q, dl);
	}
}

/* ---- starting deliveries ---- */

/* start - send job's request on the idle connection a. */
static void start(struct qmgr *q, struct qmgr_agent *a, struct qsched_job *job)
{
	struct qmgr_delivery *dl = job->data;
	struct qmgr_message *msg = dl->msg;
	struct qmgr_request_rcpt *rr = xcalloc(dl->count, sizeof(*rr));
	char **own = xcalloc(dl->count, sizeof(char *));
	char *path = qmgr_message_path(msg);
	struct qmgr_request req;
	struct qmgr_rcpt *r;
	size_t i;

	for (i = 0; i < dl->count; i++) {
		r = &msg->rcpts[dl->rcpts[i]];
		rr[i].address = r->deliver_to != NULL ? r->deliver_to : r->address;
		rr[i].orcpt = r->orcpt;
		/* a rewritten address keeps the original as ORCPT (RFC 3461 4.2) */
		if (r->orcpt[0] == '\0' && strcasecmp(rr[i].address, r->address) != 0)
			rr[i].orcpt = own[i] = xasprintf("rfc822;%s", r->address);
		rr[i].notify = r->notify;
		rr[i].offset = (long long)r->offset;
	}
	req = (struct qmgr_request){
	    .queue_id = msg->id,
	    .queue_path = path,
	    .transport = dl->transport,
	    .nexthop = dl->nexthop,
	    .sender = msg->sender,
	    .arrival = msg->arrival,
	    .flags = msg->flags,
	    .rcpts = rr,
	    .count = dl->count,
	};
	qmgr_agent_deliver(a, &req, dl);
	for (i = 0; i < dl->count; i++)
		free(own[i]);
	free(own);
	free(rr);
	free(path);
}

/* down_find - the entry of transport in the list of unavailable ones (expired ones dropped). */
static struct qmgr_unavailable *down_find(struct qmgr *q, const char *transport, time_t now)
{
	struct qmgr_unavailable *u, **pp = &q->down;

	while ((u = *pp) != NULL) {
		if (now >= u->until) {
			*pp = u->next;
			free(u->transport);
			free(u->reason);
			free(u);
			continue;
		}
		if (strcmp(u->transport, transport) == 0)
			return u;
		pp = &u->next;
	}
	return NULL;
}

static void on_dispatch_timer(struct event_loop *loop, void *ctx)
{
	qmgr_kick(ctx);
}

/* retry_later - look again soon, when work waits and nothing else will wake qmgr. */
static void retry_later(struct qmgr *q)
{
	if (!event_timer_pending(&q->dispatch_timer))
		event_timer_add(q->loop, &q->dispatch_timer, QMGR_DISPATCH_RETRY_MS,
				on_dispatch_timer, q);
}

/* dispatch_transport - start what t's idle connections can take; open more if needed. */
static void dispatch_transport(struct qmgr *q, struct qsched_transport *t, time_t now)
{
	const char *name = qsched_transport_name(t);
	struct qmgr_unavailable *u = down_find(q, name, now);
	struct qmgr_agent *a;
	struct qsched_job *job;
	size_t ready;
	int opening;

	if (u != NULL) {
		qsched_kill_transport(t, u->reason, now);
		return;
	}
	while ((a = qmgr_agent_idle(q->agents, name)) != NULL &&
	       (job = qsched_next(t, now)) != NULL)
		start(q, a, job);
	ready = qsched_ready(t, now, QMGR_AGENT_OPENING);
	if (ready == 0)
		return;
	opening = qmgr_agent_open(q->agents, name, ready);
	if (opening == 0 && qmgr_agent_idle(q->agents, name) == NULL)
		retry_later(q);
}

void qmgr_dispatch(struct qmgr *q)
{
	time_t now = time(NULL);
	struct qsched_transport *t;

	if (q->stopping)
		return;
	reap_dead(q, now);
	for (t = qsched_transports(q->sched, NULL); t != NULL; t = qsched_transports(q->sched, t))
		dispatch_transport(q, t, now);
	/* transports found unavailable just now */
	reap_dead(q, now);
	if (now - q->last_gc >= QMGR_GC_INTERVAL) {
		qsched_gc(q->sched, now);
		q->last_gc = now;
	}
}

size_t qmgr_deliver_busy(const struct qmgr *q)
{
	return q->agents != NULL ? qmgr_agents_busy(q->agents) : 0;
}

/* ---- the agents' answers ---- */

static void on_ready(void *ctx, const char *transport)
{
	qmgr_kick(ctx);
}

static void on_result(void *ctx, void *delivery, long long offset, int status, const char *dsn,
		      const char *text, const char *relay)
{
	struct qmgr_delivery *dl = delivery;
	struct qmgr_message *msg = dl->msg;
	struct qmgr_rcpt *r;
	size_t i;

	(void)ctx;
	for (i = 0; i < dl->count; i++) {
		r = &msg->rcpts[dl->rcpts[i]];
		if (!dl->answered[i] && (long long)r->offset == offset)
			break;
	}
	if (i == dl->count) {
		msg_warn("%s: delivery agent %s: answer for an unknown recipient (offset %lld)",
			 msg->id, dl->transport, offset);
		return;
	}
	dl->answered[i] = true;
	if (status != DELIVER_DEFER || strcmp(relay, "none") != 0)
		dl->reached = true;
	if (status == DELIVER_DEFER) {
		free(dl->last_reason);
		dl->last_reason = xstrdup(text);
		qmgr_rcpt_state(msg, r, QMGR_RCPT_DEFERRED);
	} else {
		qmgr_rcpt_state(msg, r, QMGR_RCPT_DONE);
	}
}

/* marked_done - recipients whose done-mark the failed agent had already written. */
static void marked_done(struct qmgr *q, struct qmgr_delivery *dl)
{
	struct qmgr_message *msg = dl->msg;
	struct qmgr_rcpt *r;
	char type;
	size_t i;
	int fd = openat(q->dirfd[QMGR_ACTIVE], msg->id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return;
	for (i = 0; i < dl->count; i++) {
		r = &msg->rcpts[dl->rcpts[i]];
		if (!dl->answered[i] && r->state == QMGR_RCPT_QUEUED &&
		    pread(fd, &type, 1, r->offset) == 1 && type == QREC_DONE) {
			dl->answered[i] = true;
			qmgr_rcpt_state(msg, r, QMGR_RCPT_DONE);
		}
	}
	close(fd);
}

/* requeue - the unanswered recipients of dl wait in dest again; 0, or -1 when none is left. */
static int requeue(struct qmgr_delivery *dl, struct qsched_dest *dest)
{
	size_t i, n = 0;

	for (i = 0; i < dl->count; i++)
		if (!dl->answered[i] && dl->msg->rcpts[dl->rcpts[i]].state == QMGR_RCPT_QUEUED)
			dl->rcpts[n++] = dl->rcpts[i];
	if (n == 0)
		return -1;
	dl->count = n;
	memset(dl->answered, 0, n * sizeof(bool));
	dl->retried = true;
	dl->reached = false;
	dl->job = qsched_enqueue(dest, dl);
	return 0;
}

/* feedback - what the delivery says about its destination. */
static enum qsched_feedback feedback(const struct qmgr_delivery *dl, enum qmgr_agent_end how)
{
	size_t i;

	if (how != QMGR_AGENT_DONE)
		return QSCHED_NEUTRAL;
	if (dl->reached)
		return QSCHED_POSITIVE;
	for (i = 0; i < dl->count; i++)
		if (dl->answered[i])
			return QSCHED_NEGATIVE;
	return QSCHED_NEUTRAL;
}

static void on_end(void *ctx, void *delivery, enum qmgr_agent_end how, const char *why, int fresh)
{
	struct qmgr *q = ctx;
	struct qmgr_delivery *dl = delivery;
	struct qsched_dest *dest = dl->job->dest;
	enum qsched_feedback fb = feedback(dl, how);
	time_t now = time(NULL);
	char *text;

	if (qsched_done(q->sched, dl->job, fb, dl->last_reason, now))
		msg_info("%s:%s: destination not reachable: deferring its mail for %lds (%s)",
			 dl->transport, dl->nexthop, (long)q->min_backoff,
			 dl->last_reason != NULL ? dl->last_reason : "no reason");
	dl->job = NULL;
	if (q->shutdown) {
		delivery_free(dl);
		return;
	}
	if (how == QMGR_AGENT_DONE) {
		defer_rest(q, dl, "4.3.0", "the delivery agent gave no result for this recipient");
	} else {
		marked_done(q, dl);
		if (!fresh && !dl->retried && requeue(dl, dest) == 0) {
			qmgr_kick(q);
			return;
		}
		msg_warn("%s: delivery agent %s failed: %s", dl->msg->id, dl->transport, why);
		text = xasprintf("delivery agent %s failed: %s", dl->transport, why);
		defer_rest(q, dl, "4.3.0", text);
		free(text);
	}
	job_over(q, dl);
	qmgr_kick(q);
}

static void on_unavailable(void *ctx, const char *transport, const char *why)
{
	struct qmgr *q = ctx;
	struct qmgr_unavailable *u;
	time_t now = time(NULL);
	struct qsched_transport *t;

	if ((u = down_find(q, transport, now)) == NULL) {
		u = xcalloc(1, sizeof(*u));
		u->transport = xstrdup(transport);
		u->next = q->down;
		q->down = u;
	}
	free(u->reason);
	u->reason = xasprintf("mail transport unavailable: %s", why);
	u->until = now + q->min_backoff;
	msg_warn("transport %s: %s", transport, u->reason);
	if ((t = qsched_transport_find(q->sched, transport)) != NULL)
		qsched_kill_transport(t, u->reason, now);
}

static const struct qmgr_agent_ops agent_ops = {
    .ready = on_ready,
    .result = on_result,
    .end = on_end,
    .unavailable = on_unavailable,
};

int qmgr_deliver_init(struct qmgr *q, char **error_r)
{
	long long limit = mail_conf_int(q->conf, "default_process_limit");

	(void)error_r;
	q->sched = qsched_create();
	q->agents =
	    qmgr_agents_create(q->loop, q->queue_dir, q->ipc_timeout_ms, (int)limit, &agent_ops, q);
	return 0;
}

void qmgr_deliver_free(struct qmgr *q)
{
	struct qmgr_unavailable *u;
	struct qsched_job *job;

	q->shutdown = true;
	qmgr_agents_free(&q->agents);
	if (q->sched != NULL) {
		while ((job = qsched_drain(q->sched)) != NULL) {
			delivery_free(job->data);
			qsched_job_free(job);
		}
		qsched_free(&q->sched);
	}
	while ((u = q->down) != NULL) {
		q->down = u->next;
		free(u->transport);
		free(u->reason);
		free(u);
	}
	event_timer_cancel(q->loop, &q->dispatch_timer);
}
