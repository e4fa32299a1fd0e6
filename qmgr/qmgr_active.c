/*
 * qmgr_active - a message's round in the active queue: its recipients
 * resolved into jobs (or returned, deferred, or split off into a new
 * message), and, once its last job is over, its end: notices sent (failure
 * and success now, a delay warning once after delay_warning_time), then
 * the message removed when nothing is left to deliver, returned when it is
 * older than its queue lifetime, or else moved to deferred/ until its next
 * attempt (qmgr_policy.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/bounce.h"
#include "mail/cleanup_client.h"
#include "mail/queue_file.h"
#include "mail/status_log.h"
#include "qmgr/qmgr.h"
#include "qmgr/qmgr_policy.h"
#include "qmgr/qmgr_resolve.h"
#include "util/msg.h"
#include "util/mymalloc.h"

void qmgr_active_insert(struct qmgr *q, struct qmgr_message *msg)
{
	msg->prev = q->tail;
	msg->next = NULL;
	if (q->tail != NULL)
		q->tail->next = msg;
	else
		q->head = msg;
	q->tail = msg;
	q->active++;
	q->active_rcpts += msg->count;
}

void qmgr_active_unlink(struct qmgr *q, struct qmgr_message *msg)
{
	if (msg->prev != NULL)
		msg->prev->next = msg->next;
	else
		q->head = msg->next;
	if (msg->next != NULL)
		msg->next->prev = msg->prev;
	else
		q->tail = msg->prev;
	q->active--;
	q->active_rcpts -= msg->count;
}

/* ---- resolution ---- */

/* A recipient on its way to a destination, for grouping. */
struct routed {
	size_t idx;
	char *transport, *nexthop;
};

/* The recipients split off into a new message. */
struct splitting {
	struct qmgr_split_rcpt *rcpts;
	char **owned; /* strings the rcpts point to */
	size_t n, nowned;
	size_t *from; /* indexes of the original recipients */
	size_t nfrom;
};

static char *own(struct splitting *sp, char *s)
{
	sp->owned = xreallocarray(sp->owned, sp->nowned + 1, sizeof(char *));
	sp->owned[sp->nowned++] = s;
	return s;
}

/* split_notify - what an expanded address asks for: no success notice (RFC 3461 6.2.7.3). */
static unsigned split_notify(unsigned notify)
{
	unsigned n = notify & ~CLEANUP_NOTIFY_SUCCESS;

	return notify != 0 && n == 0 ? CLEANUP_NOTIFY_NEVER : n;
}

/* split_add - the addresses of a recipient that expands to several. */
static void split_add(struct splitting *sp, const struct qmgr_rcpt *r, size_t idx,
		      const struct qmgr_resolution *res)
{
	const char *orcpt;
	size_t i;

	orcpt = r->orcpt[0] != '\0' ? r->orcpt : own(sp, xasprintf("rfc822;%s", r->address));
	sp->rcpts = xreallocarray(sp->rcpts, sp->n + res->count, sizeof(*sp->rcpts));
	for (i = 0; i < res->count; i++) {
		sp->rcpts[sp->n].address = own(sp, xstrdup(res->leaves[i].address));
		sp->rcpts[sp->n].orcpt = orcpt;
		sp->rcpts[sp->n].notify = split_notify(r->notify);
		sp->n++;
	}
	sp->from = xreallocarray(sp->from, sp->nfrom + 1, sizeof(size_t));
	sp->from[sp->nfrom++] = idx;
}

/* split_finish - write the new message, then mark the originals done. */
static void split_finish(struct qmgr *q, struct qmgr_message *msg, int fd, struct splitting *sp)
{
	char id[QUEUE_ID_SIZE], *err = NULL, *text;
	off_t *offsets;
	size_t i, n = 0;

	if (qmgr_split_write(q, msg, fd, sp->rcpts, sp->n, id, &err) < 0) {
		text = xasprintf("cannot queue the expanded recipients: %s", err);
		msg_warn("%s: %s", msg->id, text);
		for (i = 0; i < sp->nfrom; i++)
			qmgr_rcpt_defer(q, msg, &msg->rcpts[sp->from[i]], "none", "4.3.0", text);
		free(text);
		free(err);
		return;
	}
	msg_info("%s: alias expansion: %zu addresses queued as %s", msg->id, sp->n, id);
	text = xasprintf("alias expanded, queued as %s", id);
	offsets = xcalloc(sp->nfrom, sizeof(*offsets));
	for (i = 0; i < sp->nfrom; i++)
		if (qmgr_rcpt_trace(q, msg, &msg->rcpts[sp->from[i]], text) == 0)
			offsets[n++] = msg->rcpts[sp->from[i]].offset;
	if (queue_mark_done(fd, offsets, n, &err) < 0) {
		/* the new message stands; these are expanded again next time */
		msg_warn("%s: %s", msg->id, err);
		free(err);
		n = 0;
	}
	for (i = 0; i < sp->nfrom; i++) {
		struct qmgr_rcpt *r = &msg->rcpts[sp->from[i]];
		size_t k;

		for (k = 0; k < n && offsets[k] != r->offset; k++)
			;
		if (k < n)
			qmgr_rcpt_sent(msg, r, text);
		else
			qmgr_rcpt_defer(q, msg, r, "none", "4.3.0",
					"cannot mark expanded recipient");
	}
	free(offsets);
	free(text);
	q->scan_incoming = true;
	qmgr_kick(q);
}

static void split_free(struct splitting *sp)
{
	size_t i;

	for (i = 0; i < sp->nowned; i++)
		free(sp->owned[i]);
	free(sp->owned);
	free(sp->rcpts);
	free(sp->from);
}

static int routed_cmp(const void *a, const void *b)
{
	const struct routed *x = a, *y = b;
	int c = strcmp(x->transport, y->transport);

	if (c == 0)
		c = strcasecmp(x->nexthop, y->nexthop);
	return c != 0 ? c : x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* queue_routed - group the routed recipients by destination into jobs. */
static void queue_routed(struct qmgr *q, struct qmgr_message *msg, struct routed *rt, size_t n)
{
	size_t i, j, k, *idx = xcalloc(n > 0 ? n : 1, sizeof(size_t));

	qsort(rt, n, sizeof(*rt), routed_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i, k = 0; j < n && strcmp(rt[j].transport, rt[i].transport) == 0 &&
				   strcasecmp(rt[j].nexthop, rt[i].nexthop) == 0;
		     j++)
			idx[k++] = rt[j].idx;
		qmgr_deliver_queue(q, msg, idx, k, rt[i].transport, rt[i].nexthop);
	}
	for (i = 0; i < n; i++) {
		free(rt[i].transport);
		free(rt[i].nexthop);
	}
	free(idx);
}

/* resolve_one - one recipient: routed (into rt), split off, deferred or returned. */
static void resolve_one(struct qmgr *q, struct qmgr_message *msg, int fd, size_t i,
			struct routed *rt, size_t *nrt, struct splitting *sp)
{
	struct qmgr_rcpt *r = &msg->rcpts[i];
	struct qmgr_resolution res;

	qmgr_resolve(q->resolver, msg->sender, r->address, msg->final, &res);
	switch (res.verdict) {
	case QMGR_DELIVER:
		r->deliver_to = xstrdup(res.leaves[0].address);
		rt[*nrt].idx = i;
		rt[*nrt].transport = xstrdup(res.leaves[0].transport);
		rt[*nrt].nexthop = xstrdup(res.leaves[0].nexthop);
		(*nrt)++;
		qmgr_rcpt_state(msg, r, QMGR_RCPT_QUEUED);
		break;
	case QMGR_SPLIT:
		split_add(sp, r, i, &res);
		break;
	case QMGR_DEFER:
		qmgr_rcpt_defer(q, msg, r, "none", res.dsn, res.text);
		break;
	case QMGR_BOUNCE:
		qmgr_rcpt_bounce(q, msg, r, fd, res.dsn, res.text);
		break;
	}
	qmgr_resolution_free(&res);
}

void qmgr_active_resolve(struct qmgr *q, struct qmgr_message *msg, int fd)
{
	struct routed *rt = xcalloc(msg->count > 0 ? msg->count : 1, sizeof(*rt));
	struct splitting sp = {0};
	size_t i, nrt = 0;

	for (i = 0; i < msg->count; i++)
		resolve_one(q, msg, fd, i, rt, &nrt, &sp);
	if (sp.nfrom > 0)
		split_finish(q, msg, fd, &sp);
	split_free(&sp);
	queue_routed(q, msg, rt, nrt);
	free(rt);
}

/* ---- the end of a round ---- */

/* set_warned - remember in the file's mode that the delay warning was sent. */
static void set_warned(struct qmgr *q, struct qmgr_message *msg)
{
	struct stat st;
	int fd = openat(q->dirfd[QMGR_ACTIVE], msg->id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || fstat(fd, &st) < 0 || fchmod(fd, (st.st_mode & 07777) | S_IXUSR) < 0 ||
	    fsync(fd) < 0)
		msg_warn("%s: cannot record that the delay warning was sent: %s", msg->id,
			 strerror(errno));
	if (fd >= 0)
		close(fd);
	msg->warned = true;
}

/* notices_due - whether the message has a bounce or trace log, which bounce_flush() sends. */
static bool notices_due(const struct qmgr *q, const struct qmgr_message *msg)
{
	static const enum status_log_kind kinds[] = {STATUS_LOG_BOUNCE, STATUS_LOG_TRACE};
	char *path;
	size_t i;
	int found;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		path = xasprintf("%s/%s/%s", q->queue_dir, status_log_dir(kinds[i]), msg->id);
		found = access(path, F_OK) == 0 || errno != ENOENT;
		free(path);
		if (found)
			return true;
	}
	return false;
}

/* finish_round - notices, then removal, return or deferral. */
static void finish_round(struct qmgr *q, struct qmgr_message *msg)
{
	char *path = qmgr_message_path(msg), *err = NULL;
	double now = qmgr_now();
	time_t age = (time_t)(now - msg->arrived);
	bool null_sender = msg->sender[0] == '\0', flushed, gone = false;

	flushed = !notices_due(q, msg) || bounce_flush(q->conf, msg->id, path, &err) == 0;
	if (!flushed) {
		msg_warn("%s: cannot send delivery status notices now: %s", msg->id, err);
		XFREE(err);
	}
	if (msg->deferred == 0 && flushed) {
		gone = qmgr_queue_remove(q, msg->id) == 0;
	} else if (msg->deferred > 0 &&
		   qmgr_expired(age, null_sender, q->max_lifetime, q->bounce_lifetime)) {
		if (bounce_expire(q->conf, msg->id, path, &err) == 0) {
			msg_info("%s: message expired after %ld seconds in the queue", msg->id,
				 (long)age);
			gone = qmgr_queue_remove(q, msg->id) == 0;
		} else {
			msg_warn("%s: cannot return the expired message now: %s", msg->id, err);
			XFREE(err);
		}
	} else if (msg->deferred > 0 &&
		   qmgr_warn_due(age, q->warn_time, msg->warned, null_sender)) {
		if (bounce_delay_warning(q->conf, msg->id, path, &err) == 0) {
			set_warned(q, msg);
		} else {
			msg_warn("%s: cannot send the delay warning now: %s", msg->id, err);
			XFREE(err);
		}
	}
	if (!gone)
		qmgr_queue_defer(q, msg->id,
				 (time_t)now + qmgr_backoff(age, q->min_backoff, q->max_backoff,
							    qmgr_random(q)));
	free(path);
}

void qmgr_active_check(struct qmgr *q, struct qmgr_message *msg)
{
	if (msg->jobs > 0)
		return;
	finish_round(q, msg);
	qmgr_active_unlink(q, msg);
	qmgr_message_free(msg);
	if (q->incoming_left || q->deferred_left)
		qmgr_kick(q);
}
