/*
 * bounce - decide which notices a message's status logs call for, whom
 * they go to, and send them; then clear the logs they came from (see
 * mail/bounce.h for the rules).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "mail/bounce.h"
#include "mail/cleanup_client.h"
#include "mail/dsn.h"
#include "mail/queue_file.h"
#include "mail/status_log.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* The longest wait for cleanup at each step: qmgr waits meanwhile. */
#define BOUNCE_TIMEOUT_MS 60000

/* One run of a bounce function. */
struct bounce {
	const struct mail_conf *conf;
	const char *queue_dir;
	const char *queue_id;
	struct dsn_original orig;
	char *double_bounce_sender; /* qualified */
	int timeout_ms;
};

/* The entries of one notice. */
struct entries {
	struct status_entry *v;
	size_t n;
};

static void entries_add(struct entries *l, const struct status_entry *e)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = *e;
}

/* qualify - an address of a parameter, with "@$myorigin" when it has no domain (malloc'd). */
static char *qualify(const struct mail_conf *conf, const char *addr)
{
	if (*addr == '\0' || strchr(addr, '@') != NULL)
		return xstrdup(addr);
	return xasprintf("%s@%s", addr, mail_conf_str(conf, "myorigin"));
}

static int bounce_open(struct bounce *b, const struct mail_conf *conf, const char *queue_id,
		       const char *queue_path, bool writable, char **error_r)
{
	long long timeout = mail_conf_time(conf, "ipc_timeout") * 1000;
	char *path;

	if (timeout > BOUNCE_TIMEOUT_MS)
		timeout = BOUNCE_TIMEOUT_MS;
	int ret;

	*b = (struct bounce){
	    .conf = conf,
	    .queue_dir = mail_conf_str(conf, "queue_directory"),
	    .queue_id = queue_id,
	    .timeout_ms = (int)timeout,
	};
	path = queue_path[0] == '/' ? xstrdup(queue_path)
				    : xasprintf("%s/%s", b->queue_dir, queue_path);
	ret = dsn_original_open(path, writable, &b->orig, NULL, error_r);
	free(path);
	if (ret < 0)
		return -1;
	b->double_bounce_sender = qualify(conf, mail_conf_str(conf, "double_bounce_sender"));
	return 0;
}

static void bounce_close(struct bounce *b)
{
	dsn_original_close(&b->orig);
	free(b->double_bounce_sender);
}

/*
 * queue_lifetime - how long the message may stay in the queue: for mail
 * from the null sender bounce_queue_lifetime, else maximal_queue_lifetime.
 */
static long long queue_lifetime(const struct bounce *b)
{
	return mail_conf_time(b->conf,
			      *b->orig.sender ? "maximal_queue_lifetime" : "bounce_queue_lifetime");
}

/* ---- the last outcome of each recipient ---- */

/* An index of a log's entries by queue file offset, to find a recipient's last one. */
struct last_index {
	const struct status_log *log;
	const struct status_entry **by_offset; /* entries with an offset, by offset, then order */
	size_t n;
	bool unnumbered; /* some entries have no offset */
};

static int by_offset_cmp(const void *a, const void *b)
{
	const struct status_entry *x = *(const struct status_entry *const *)a;
	const struct status_entry *y = *(const struct status_entry *const *)b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x < y ? -1 : x > y; /* file order: the entries are one array */
}

static void index_build(struct last_index *ix, const struct status_log *log)
{
	*ix = (struct last_index){.log = log};
	ix->by_offset = xcalloc(log->count + 1, sizeof(*ix->by_offset));
	for (size_t i = 0; i < log->count; i++) {
		if (log->entries[i].offset >= 0)
			ix->by_offset[ix->n++] = &log->entries[i];
		else
			ix->unnumbered = true;
	}
	qsort(ix->by_offset, ix->n, sizeof(*ix->by_offset), by_offset_cmp);
}

/* index_last - the last entry for the recipient at offset (or with address and orcpt). */
static const struct status_entry *index_last(const struct last_index *ix, long long offset,
					     const char *address, const char *orcpt)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) { /* the first entry with an offset above */
		size_t mid = lo + (hi - lo) / 2;

		if (ix->by_offset[mid]->offset <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (offset >= 0 && lo > 0 && ix->by_offset[lo - 1]->offset == offset)
		return ix->by_offset[lo - 1];
	if (ix->unnumbered || offset < 0)
		return status_log_last(ix->log, address, orcpt, -1);
	return NULL;
}

static void index_free(struct last_index *ix)
{
	free(ix->by_offset);
}

/*
 * collect - the entries of log with status, each recipient once (its
 * last entry), whose NOTIFY has bit (0: also those without NOTIFY).
 */
static void collect(struct entries *out, const struct status_log *log, int status, unsigned bit,
		    bool default_on)
{
	struct last_index ix;

	index_build(&ix, log);
	for (size_t i = 0; i < log->count; i++) {
		const struct status_entry *e = &log->entries[i];

		if (e->status != status || index_last(&ix, e->offset, e->address, e->orcpt) != e)
			continue;
		if ((e->notify & bit) || (e->notify == 0 && default_on))
			entries_add(out, e);
	}
	index_free(&ix);
}

/* ---- sending ---- */

static const char *kind_words(enum dsn_kind kind)
{
	return kind == DSN_FAILURE ? "non-delivery"
	       : kind == DSN_DELAY ? "delay"
				   : "delivery status";
}

/* send_one - compose and queue one notice; log it. */
static int send_one(struct bounce *b, struct dsn_notice *n, const char *env_sender, char **error_r)
{
	char new_id[32], *err = NULL;

	n->orig = &b->orig;
	n->reporting_mta = mail_conf_str(b->conf, "myhostname");
	n->now = time(NULL);
	if (dsn_send(b->queue_dir, b->timeout_ms, n, env_sender, new_id, &err) < 0) {
		*error_r =
		    xasprintf("%s notification to <%s>: %s", kind_words(n->kind), n->to, err);
		free(err);
		return -1;
	}
	msg_info("%s: %s %s notification: %s", b->queue_id,
		 n->audience == DSN_TO_SENDER ? "sender" : "postmaster", kind_words(n->kind),
		 new_id);
	return 0;
}

/* is_double_bounce_sender - mail from this sender gets no notice at all. */
static bool is_double_bounce_sender(const struct bounce *b)
{
	return *b->orig.sender != '\0' && strcasecmp(b->orig.sender, b->double_bounce_sender) == 0;
}

/* postmaster_copy - bounce_notice_recipient's copy of a failure notice (best effort). */
static void postmaster_copy(struct bounce *b, const struct dsn_notice *sent)
{
	char *to = qualify(b->conf, mail_conf_str(b->conf, "bounce_notice_recipient")), *err = NULL;
	struct dsn_notice copy = *sent;

	if (*to != '\0') {
		copy.audience = DSN_COPY;
		copy.to = to;
		copy.full = false;
		if (send_one(b, &copy, b->double_bounce_sender, &err) < 0) {
			msg_warn("%s: postmaster copy: %s", b->queue_id, err);
			free(err);
		}
	}
	free(to);
}

/* send_failure - the failure notice for entries, to whoever it is due (see bounce.h). */
static int send_failure(struct bounce *b, const struct entries *l, long long expired_after,
			char **error_r)
{
	struct dsn_notice n = {
	    .kind = DSN_FAILURE,
	    .entries = l->v,
	    .count = l->n,
	    .expired_after = expired_after,
	};
	char *to = NULL;
	const char *env_sender = "";
	int ret;

	if (l->n == 0)
		return 0;
	if (is_double_bounce_sender(b)) {
		msg_info("%s: from=<%s>: undeliverable double bounce, discarded", b->queue_id,
			 b->orig.sender);
		return 0;
	}
	n.audience = *b->orig.sender ? DSN_TO_SENDER : DSN_TO_POSTMASTER;
	if (n.audience == DSN_TO_POSTMASTER) {
		to = qualify(b->conf, mail_conf_str(b->conf, "2bounce_notice_recipient"));
		env_sender = b->double_bounce_sender;
		if (*to == '\0') {
			msg_info("%s: from=<>: undeliverable, no notice (2bounce_notice_recipient "
				 "is empty)",
				 b->queue_id);
			free(to);
			return 0;
		}
	}
	n.to = to != NULL ? to : b->orig.sender;
	n.full = b->orig.ret != CLEANUP_RET_HDRS &&
		 b->orig.size <= mail_conf_size(b->conf, "bounce_size_limit");
	ret = send_one(b, &n, env_sender, error_r);
	if (ret == 0 && n.audience == DSN_TO_SENDER)
		postmaster_copy(b, &n);
	free(to);
	return ret;
}

/* send_to_sender - a delay or success notice: to a real sender only. */
static int send_to_sender(struct bounce *b, enum dsn_kind kind, const struct entries *l,
			  char **error_r)
{
	struct dsn_notice n = {
	    .kind = kind,
	    .audience = DSN_TO_SENDER,
	    .entries = l->v,
	    .count = l->n,
	    .to = b->orig.sender,
	};

	if (l->n == 0 || *b->orig.sender == '\0' || is_double_bounce_sender(b))
		return 0;
	if (kind == DSN_DELAY && queue_lifetime(b) > 0)
		n.retry_until = b->orig.arrival + (time_t)queue_lifetime(b);
	return send_one(b, &n, "", error_r);
}

/* flush_trace - the success notice of the trace log, then remove the log. */
static int flush_trace(struct bounce *b, char **error_r)
{
	struct status_log log;
	struct entries l = {0};
	int ret;

	if (status_log_read(b->queue_dir, STATUS_LOG_TRACE, b->queue_id, &log, error_r) < 0)
		return -1;
	collect(&l, &log, 2, CLEANUP_NOTIFY_SUCCESS, false);
	ret = send_to_sender(b, DSN_SUCCESS, &l, error_r);
	if (ret == 0 && log.count + log.skipped > 0)
		ret = status_log_remove(b->queue_dir, STATUS_LOG_TRACE, b->queue_id, error_r);
	free(l.v);
	status_log_free(&log);
	return ret;
}

/* log_exists - whether the kind of log of queue_id may hold something (a cheap test first). */
static bool log_exists(const struct mail_conf *conf, enum status_log_kind kind,
		       const char *queue_id)
{
	char *path = xasprintf("%s/%s/%s", mail_conf_str(conf, "queue_directory"),
			       status_log_dir(kind), queue_id);
	struct stat st;
	bool ret = lstat(path, &st) == 0 || errno != ENOENT;

	free(path);
	return ret;
}

int bounce_flush(const struct mail_conf *conf, const char *queue_id, const char *queue_path,
		 char **error_r)
{
	struct bounce b;
	struct status_log log;
	struct entries l = {0};
	int ret;

	/* qmgr calls this after every round: most messages have no log to flush */
	if (!log_exists(conf, STATUS_LOG_BOUNCE, queue_id) &&
	    !log_exists(conf, STATUS_LOG_TRACE, queue_id))
		return 0;
	if (bounce_open(&b, conf, queue_id, queue_path, false, error_r) < 0)
		return -1;
	ret = status_log_read(b.queue_dir, STATUS_LOG_BOUNCE, queue_id, &log, error_r);
	if (ret == 0) {
		collect(&l, &log, 5, CLEANUP_NOTIFY_FAILURE, true);
		ret = send_failure(&b, &l, 0, error_r);
		if (ret == 0 && log.count + log.skipped > 0)
			ret = status_log_remove(b.queue_dir, STATUS_LOG_BOUNCE, queue_id, error_r);
		free(l.v);
		status_log_free(&log);
	}
	if (ret == 0)
		ret = flush_trace(&b, error_r);
	bounce_close(&b);
	return ret;
}

/*
 * pending - for each recipient not done whose NOTIFY has bit (or no
 * NOTIFY), an entry from its last defer log entry: status and dsn as
 * given, the reason and relay from the log (or text_default).
 */
static void pending(struct entries *out, const struct bounce *b, const struct status_log *defer,
		    int status, const char *dsn, unsigned bit, const char *text_default)
{
	struct last_index ix;

	index_build(&ix, defer);
	for (size_t i = 0; i < b->orig.nrcpts; i++) {
		const struct dsn_rcpt *r = &b->orig.rcpts[i];
		const struct status_entry *last;
		struct status_entry e = {
		    .address = r->address,
		    .orcpt = r->orcpt,
		    .notify = r->notify,
		    .offset = r->offset,
		    .status = status,
		    .text = text_default,
		    .relay = "none",
		};

		if (r->done || !((r->notify & bit) || r->notify == 0))
			continue;
		last = index_last(&ix, r->offset, r->address, r->orcpt);
		e.dsn = dsn != NULL ? dsn : last != NULL ? last->dsn : "4.0.0";
		if (last != NULL) {
			e.text = last->text;
			e.relay = last->relay;
			e.time = last->time;
		}
		entries_add(out, &e);
	}
	index_free(&ix);
}

/* mark_all_done - every recipient not yet done, in the queue file. */
static int mark_all_done(struct bounce *b, char **error_r)
{
	off_t *offsets = xcalloc(b->orig.nrcpts + 1, sizeof(*offsets));
	size_t n = 0;
	char *err = NULL;
	int ret = 0;

	for (size_t i = 0; i < b->orig.nrcpts; i++)
		if (!b->orig.rcpts[i].done)
			offsets[n++] = (off_t)b->orig.rcpts[i].offset;
	if (n > 0 && queue_mark_done(b->orig.fd, offsets, n, &err) < 0) {
		*error_r = xasprintf("%s: mark recipients done: %s", b->queue_id, err);
		free(err);
		ret = -1;
	}
	free(offsets);
	return ret;
}

int bounce_expire(const struct mail_conf *conf, const char *queue_id, const char *queue_path,
		  char **error_r)
{
	struct status_log bounced, defer;
	struct entries l = {0}, expired = {0};
	struct last_index ix;
	struct bounce b;
	long long lifetime;
	int ret;

	if (bounce_open(&b, conf, queue_id, queue_path, true, error_r) < 0)
		return -1;
	if (status_log_read(b.queue_dir, STATUS_LOG_BOUNCE, queue_id, &bounced, error_r) < 0) {
		bounce_close(&b);
		return -1;
	}
	if (status_log_read(b.queue_dir, STATUS_LOG_DEFER, queue_id, &defer, error_r) < 0) {
		status_log_free(&bounced);
		bounce_close(&b);
		return -1;
	}
	collect(&l, &bounced, 5, CLEANUP_NOTIFY_FAILURE, true);
	pending(&expired, &b, &defer, 5, "4.4.7", CLEANUP_NOTIFY_FAILURE, "delivery time expired");
	index_build(&ix, &bounced);
	for (size_t i = 0; i < expired.n; i++) { /* not a failure logged but not yet marked done */
		const struct status_entry *e = &expired.v[i];
		const struct status_entry *f = index_last(&ix, e->offset, e->address, e->orcpt);

		if (f == NULL || f->status != 5)
			entries_add(&l, e);
	}
	index_free(&ix);
	lifetime = queue_lifetime(&b);
	if (lifetime <= 0)
		lifetime = (long long)(time(NULL) - b.orig.arrival);
	msg_info("%s: from=<%s>, status=expired, %s", queue_id, b.orig.sender,
		 l.n == 0 ? "no notice asked for" : "returned to sender");
	ret = send_failure(&b, &l, lifetime, error_r);
	if (ret == 0)
		ret = mark_all_done(&b, error_r);
	if (ret == 0)
		ret = status_log_remove(b.queue_dir, STATUS_LOG_BOUNCE, queue_id, error_r);
	if (ret == 0)
		ret = flush_trace(&b, error_r);
	if (ret == 0)
		ret = status_log_remove(b.queue_dir, STATUS_LOG_DEFER, queue_id, error_r);
	free(l.v);
	free(expired.v);
	status_log_free(&bounced);
	status_log_free(&defer);
	bounce_close(&b);
	return ret;
}

int bounce_delay_warning(const struct mail_conf *conf, const char *queue_id, const char *queue_path,
			 char **error_r)
{
	struct status_log defer;
	struct entries l = {0};
	struct bounce b;
	int ret;

	if (bounce_open(&b, conf, queue_id, queue_path, false, error_r) < 0)
		return -1;
	if (status_log_read(b.queue_dir, STATUS_LOG_DEFER, queue_id, &defer, error_r) < 0) {
		bounce_close(&b);
		return -1;
	}
	pending(&l, &b, &defer, 4, NULL, CLEANUP_NOTIFY_DELAY, "not yet delivered");
	ret = send_to_sender(&b, DSN_DELAY, &l, error_r);
	free(l.v);
	status_log_free(&defer);
	bounce_close(&b);
	return ret;
}
