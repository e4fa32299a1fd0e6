/*
 * qmgr_status - the outcomes that qmgr decides itself, without an agent:
 * a recipient deferred (a lookup failed, its destination is dead, its
 * agent crashed) or returned (no such user, an alias loop). Each is
 * written to the message's defer or bounce log (mail/status_log.h), like
 * the agents' outcomes, and logged in the agents' shape:
 *   QID: to=<rcpt>, relay=none, delay=N, delays=a/b/0/0, dsn=X.Y.Z,
 *        status=deferred (reason)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "mail/cleanup_client.h"
#include "mail/queue_file.h"
#include "mail/status_log.h"
#include "qmgr/qmgr.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* secs - a duration as log tools expect it: two significant digits below 10s. */
static void secs(double d, char *buf, size_t size)
{
	if (d < 0)
		d = 0;
	if (d < 0.01)
		snprintf(buf, size, "0");
	else if (d < 1)
		snprintf(buf, size, "%.2f", d);
	else if (d < 10)
		snprintf(buf, size, "%.1f", d);
	else
		snprintf(buf, size, "%.0f", d);
}

void qmgr_log_delays(const struct qmgr_message *msg, double now, char *buf, size_t size)
{
	char all[32], before[32], in[32];

	secs(now - msg->arrived, all, sizeof(all));
	secs(msg->activated - msg->arrived, before, sizeof(before));
	secs(now - msg->activated, in, sizeof(in));
	snprintf(buf, size, "delay=%s, delays=%s/%s/0/0", all, before, in);
}

/* log_outcome - the log line of a recipient's outcome. */
static void log_outcome(const struct qmgr_message *msg, const struct qmgr_rcpt *r,
			const char *relay, const char *dsn, const char *status, const char *text)
{
	char delays[128];
	const char *to = r->deliver_to != NULL ? r->deliver_to : r->address;
	int rewritten = strcasecmp(to, r->address) != 0;

	qmgr_log_delays(msg, qmgr_now(), delays, sizeof(delays));
	msg_info("%s: to=<%s>%s%s%s, relay=%s, %s, dsn=%s, status=%s (%s)", msg->id, to,
		 rewritten ? ", orig_to=<" : "", rewritten ? r->address : "", rewritten ? ">" : "",
		 relay, delays, dsn, status, text);
}

/* entry - the status log entry of an outcome. */
static struct status_entry entry(const struct qmgr_rcpt *r, int status, const char *dsn,
				 const char *text, const char *relay)
{
	struct status_entry e = {
	    .address = r->address,
	    .orcpt = r->orcpt,
	    .notify = r->notify,
	    .offset = (long long)r->offset,
	    .status = status,
	    .dsn = dsn,
	    .text = text,
	    .relay = relay,
	    .time = 0,
	};

	return e;
}

/* set_state - a recipient's new state, keeping the message's counts. */
static void set_state(struct qmgr_message *msg, struct qmgr_rcpt *r, enum qmgr_rcpt_state state)
{
	if (r->state == QMGR_RCPT_QUEUED && msg->pending > 0)
		msg->pending--;
	if (r->state == QMGR_RCPT_DEFERRED && msg->deferred > 0)
		msg->deferred--;
	r->state = state;
	if (state == QMGR_RCPT_DEFERRED)
		msg->deferred++;
	if (state == QMGR_RCPT_QUEUED)
		msg->pending++;
}

void qmgr_rcpt_defer(struct qmgr *q, struct qmgr_message *msg, struct qmgr_rcpt *r,
		     const char *relay, const char *dsn, const char *text)
{
	struct status_entry e = entry(r, 4, dsn, text, relay);
	char *err = NULL;

	if (status_log_append(q->queue_dir, STATUS_LOG_DEFER, msg->id, &e, &err) < 0) {
		msg_warn("%s: %s", msg->id, err);
		free(err);
	}
	log_outcome(msg, r, relay, dsn, "deferred", text);
	set_state(msg, r, QMGR_RCPT_DEFERRED);
}

void qmgr_rcpt_bounce(struct qmgr *q, struct qmgr_message *msg, struct qmgr_rcpt *r, int fd,
		      const char *dsn, const char *text)
{
	struct status_entry e = entry(r, 5, dsn, text, "none");
	off_t offset = r->offset;
	char *err = NULL, *why;

	if (status_log_append(q->queue_dir, STATUS_LOG_BOUNCE, msg->id, &e, &err) < 0 ||
	    queue_mark_done(fd, &offset, 1, &err) < 0) {
		msg_warn("%s: cannot record the failure of <%s>: %s", msg->id, r->address, err);
		why = xasprintf("cannot record a failure (%s %s): %s", dsn, text, err);
		qmgr_rcpt_defer(q, msg, r, "none", "4.3.0", why);
		free(why);
		free(err);
		return;
	}
	log_outcome(msg, r, "none", dsn, "bounced", text);
	set_state(msg, r, QMGR_RCPT_DONE);
}

/* qmgr_rcpt_state - for the dispatcher: a new state, keeping the counts. */
void qmgr_rcpt_state(struct qmgr_message *msg, struct qmgr_rcpt *r, enum qmgr_rcpt_state state)
{
	set_state(msg, r, state);
}

int qmgr_rcpt_trace(struct qmgr *q, const struct qmgr_message *msg, const struct qmgr_rcpt *r,
		    const char *text)
{
	struct status_entry e = entry(r, 2, "2.0.0", text, "none");
	char *err = NULL;

	if (!(r->notify & CLEANUP_NOTIFY_SUCCESS))
		return 0;
	if (status_log_append(q->queue_dir, STATUS_LOG_TRACE, msg->id, &e, &err) == 0)
		return 0;
	msg_warn("%s: %s", msg->id, err);
	free(err);
	return -1;
}

void qmgr_rcpt_sent(struct qmgr_message *msg, struct qmgr_rcpt *r, const char *text)
{
	log_outcome(msg, r, "none", "2.0.0", "sent", text);
	set_state(msg, r, QMGR_RCPT_DONE);
}
