/*
 * qmgr - the queue manager daemon (see qmgr.h for its parts and
 * man/qmgr.8 for what it does).
 *
 * It runs as one process of a master.cf unix service with a wakeup time
 * ("qmgr unix n - n 300 1 qmgr"): every connection to its socket
 * ($queue_directory/public/qmgr) is a wake-up request of one byte or more:
 * 'W' (new mail in incoming/: cleanup sends it after each message, master
 * every wakeup period) or 'F' (try every deferred message now: ternqueue
 * flush, sendmail -q). It also scans deferred/ every queue_run_delay. The
 * work is done from a zero-delay timer, so that a burst of wake-ups costs
 * one scan.
 *
 * Usage (from master.cf): qmgr
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "mail/auth_client.h"
#include "mail/daemon.h"
#include "mail/mail_conf.h"
#include "qmgr/qmgr.h"
#include "qmgr/qmgr_maps.h"
#include "qmgr/qmgr_resolve.h"
#include "util/event.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* After the auth service could not be reached, do not try again for this long. */
#define QMGR_AUTH_RETRY 1

/* One wake-up connection. */
struct wake {
	struct qmgr *q;
	int fd;
	struct event_watch *watch;
	struct event_timer timer;
	struct wake *prev, *next;
};

/* The daemon's state: qmgr's, and the wake-up connections. */
struct qmgr_daemon {
	struct qmgr q;
	struct wake *wakes;
	struct event_timer drain_timer;
};

double qmgr_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

double qmgr_random(struct qmgr *q)
{
	/* xorshift64*: plenty for spreading retries */
	q->rng ^= q->rng >> 12;
	q->rng ^= q->rng << 25;
	q->rng ^= q->rng >> 27;
	return (double)((q->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* ---- the work ---- */

static void on_work(struct event_loop *loop, void *ctx)
{
	struct qmgr *q = ctx;
	bool incoming = q->scan_incoming || q->incoming_left;
	bool deferred = q->scan_deferred || q->deferred_left, flush = q->flush || q->flush_left;

	if (q->stopping) {
		if (qmgr_deliver_busy(q) == 0)
			event_loop_stop(loop);
		return;
	}
	q->scan_incoming = q->scan_deferred = q->flush = false;
	if (incoming || deferred || flush)
		qmgr_queue_run(q, incoming, deferred, flush);
	qmgr_dispatch(q);
}

void qmgr_kick(struct qmgr *q)
{
	if (!event_timer_pending(&q->work_timer))
		event_timer_add(q->loop, &q->work_timer, 0, on_work, q);
}

static void on_deferred_timer(struct event_loop *loop, void *ctx)
{
	struct qmgr *q = ctx;

	q->scan_deferred = true;
	qmgr_kick(q);
	event_timer_add(loop, &q->deferred_timer, (uint64_t)q->run_delay * 1000u, on_deferred_timer,
			q);
}

/* ---- wake-up connections ---- */

static void wake_end(struct qmgr_daemon *qd, struct wake *w)
{
	event_fd_remove(&w->watch);
	event_timer_cancel(qd->q.loop, &w->timer);
	close(w->fd);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		qd->wakes = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	free(w);
	daemon_session_done(qd->q.dctx);
}

/* request - act on the bytes of a wake-up request. */
static void request(struct qmgr *q, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == QMGR_REQ_WAKEUP) {
			q->scan_incoming = true;
		} else if (buf[i] == QMGR_REQ_FLUSH) {
			q->flush = true;
			q->scan_incoming = true;
		}
	}
	qmgr_kick(q);
}

static void on_wake_io(struct event_loop *loop, int fd, unsigned int events, void *ctx)
{
	struct wake *w = ctx;
	struct qmgr_daemon *qd = daemon_data(w->q->dctx);
	char buf[64];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			request(w->q, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		break;
	}
	wake_end(qd, w);
}

static void on_wake_timeout(struct event_loop *loop, void *ctx)
{
	struct wake *w = ctx;

	wake_end(daemon_data(w->q->dctx), w);
}

static void qmgr_serve(struct daemon_ctx *dctx, int fd)
{
	struct qmgr_daemon *qd = daemon_data(dctx);
	struct wake *w = xcalloc(1, sizeof(*w));

	w->q = &qd->q;
	w->fd = fd;
	w->next = qd->wakes;
	if (qd->wakes != NULL)
		qd->wakes->prev = w;
	qd->wakes = w;
	w->watch = event_fd_add(qd->q.loop, fd, EVENT_READ, on_wake_io, w);
	event_timer_add(qd->q.loop, &w->timer, QMGR_WAKE_TIMEOUT_MS, on_wake_timeout, w);
}

static void qmgr_stopping(struct daemon_ctx *dctx)
{
	struct qmgr_daemon *qd = daemon_data(dctx);

	while (qd->wakes != NULL)
		wake_end(qd, qd->wakes);
}

/* ---- the directory, through the auth service ---- */

static struct auth_client *auth_get(struct qmgr *q, char **error_r)
{
	time_t now = time(NULL);

	if (q->auth != NULL)
		return q->auth;
	if (q->auth_failed != 0 && now - q->auth_failed < QMGR_AUTH_RETRY) {
		*error_r = xstrdup("the auth service could not be reached a moment ago");
		return NULL;
	}
	q->auth = auth_client_open(q->conf, 0, error_r);
	q->auth_failed = q->auth == NULL ? now : 0;
	return q->auth;
}

static enum dir_result dir_domain(void *ctx, const char *domain, char **error_r)
{
	struct qmgr *q = ctx;
	struct auth_client *auth = auth_get(q, error_r);

	return auth == NULL ? DIR_ERROR : auth_client_domain(auth, domain, error_r);
}

static enum dir_result dir_resolve(void *ctx, const char *address, struct dir_targets *targets,
				   char **error_r)
{
	struct qmgr *q = ctx;
	struct auth_client *auth = auth_get(q, error_r);

	return auth == NULL ? DIR_ERROR : auth_client_resolve(auth, address, targets, error_r);
}

static const struct qmgr_dir_ops dir_ops = {
    .domain = dir_domain,
    .resolve = dir_resolve,
};

/* ---- start and stop ---- */

/* load_settings - the parameters qmgr works with. */
static void load_settings(struct qmgr *q)
{
	const struct mail_conf *c = q->conf;
	long long ipc = mail_conf_time(c, "ipc_timeout") * 1000;

	q->queue_dir = mail_conf_str(c, "queue_directory");
	q->active_limit = mail_conf_int(c, "qmgr_message_active_limit");
	q->rcpt_limit = mail_conf_int(c, "qmgr_message_recipient_limit");
	q->min_backoff = (time_t)mail_conf_time(c, "minimal_backoff_time");
	q->max_backoff = (time_t)mail_conf_time(c, "maximal_backoff_time");
	if (q->max_backoff < q->min_backoff)
		q->max_backoff = q->min_backoff;
	q->run_delay = (time_t)mail_conf_time(c, "queue_run_delay");
	q->max_lifetime = (time_t)mail_conf_time(c, "maximal_queue_lifetime");
	q->bounce_lifetime = (time_t)mail_conf_time(c, "bounce_queue_lifetime");
	q->warn_time = (time_t)mail_conf_time(c, "delay_warning_time");
	q->ipc_timeout_ms = ipc > INT_MAX ? INT_MAX : (int)ipc;
	q->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ 0x9E3779B97F4A7C15ULL;
}

/* open_resolution - the lookup tables and the resolver. */
static int open_resolution(struct qmgr *q, char **error_r)
{
	const struct mail_conf *c = q->conf;
	struct qmgr_resolver_conf rc;

	q->virtual_maps =
	    qmgr_maps_open("virtual_alias_maps", mail_conf_str(c, "virtual_alias_maps"), error_r);
	if (q->virtual_maps == NULL)
		return -1;
	q->transport_maps =
	    qmgr_maps_open("transport_maps", mail_conf_str(c, "transport_maps"), error_r);
	if (q->transport_maps == NULL)
		return -1;
	q->relayhost_maps =
	    qmgr_maps_open("sender_dependent_relayhost_maps",
			   mail_conf_str(c, "sender_dependent_relayhost_maps"), error_r);
	if (q->relayhost_maps == NULL)
		return -1;
	rc = (struct qmgr_resolver_conf){
	    .myorigin = mail_conf_str(c, "myorigin"),
	    .mydestination = mail_conf_value(c, "mydestination"),
	    .relay_domains = mail_conf_value(c, "relay_domains"),
	    .recipient_delimiter = mail_conf_str(c, "recipient_delimiter"),
	    .local_transport = mail_conf_str(c, "local_transport"),
	    .default_transport = mail_conf_str(c, "default_transport"),
	    .relay_transport = mail_conf_str(c, "relay_transport"),
	    .relayhost = mail_conf_str(c, "relayhost"),
	    .virtual_alias_maps = q->virtual_maps,
	    .transport_maps = q->transport_maps,
	    .sender_dependent_relayhost_maps = q->relayhost_maps,
	    .dir_ops = &dir_ops,
	    .dir_ctx = q,
	};
	q->resolver = qmgr_resolver_create(&rc);
	return 0;
}

static int qmgr_pre_jail(struct daemon_ctx *dctx, char **error_r)
{
	return qmgr_queue_make(daemon_conf(dctx), error_r);
}

static int qmgr_post_jail(struct daemon_ctx *dctx, char **error_r)
{
	struct qmgr_daemon *qd = daemon_data(dctx);
	struct qmgr *q = &qd->q;

	q->dctx = dctx;
	q->loop = daemon_loop(dctx);
	q->conf = daemon_conf(dctx);
	load_settings(q);
	if (qmgr_queue_open(q, error_r) < 0 || open_resolution(q, error_r) < 0 ||
	    qmgr_deliver_init(q, error_r) < 0)
		return -1;
	daemon_set_session_limit(dctx, 100);
	qmgr_queue_recover(q);
	q->scan_incoming = q->scan_deferred = true;
	qmgr_kick(q);
	event_timer_add(q->loop, &q->deferred_timer, (uint64_t)q->run_delay * 1000u,
			on_deferred_timer, q);
	return 0;
}

static void on_drain_timeout(struct event_loop *loop, void *ctx)
{
	event_loop_stop(loop);
}

/* drain - let the deliveries in progress finish, for QMGR_DRAIN_MS at most. */
static void drain(struct qmgr_daemon *qd)
{
	struct qmgr *q = &qd->q;

	q->stopping = true;
	if (q->loop == NULL || qmgr_deliver_busy(q) == 0)
		return;
	msg_info("stopping: waiting up to %ds for %zu deliveries in progress", QMGR_DRAIN_MS / 1000,
		 qmgr_deliver_busy(q));
	event_timer_add(q->loop, &qd->drain_timer, QMGR_DRAIN_MS, on_drain_timeout, q);
	event_loop_run(q->loop);
	event_timer_cancel(q->loop, &qd->drain_timer);
}

static void qmgr_shutdown(struct daemon_ctx *dctx)
{
	struct qmgr_daemon *qd = daemon_data(dctx);
	struct qmgr *q = &qd->q;
	struct qmgr_message *msg;

	drain(qd);
	qmgr_deliver_free(q);
	while ((msg = q->head) != NULL) {
		qmgr_active_unlink(q, msg);
		qmgr_message_free(msg);
	}
	if (q->loop != NULL) {
		event_timer_cancel(q->loop, &q->work_timer);
		event_timer_cancel(q->loop, &q->deferred_timer);
		event_timer_cancel(q->loop, &q->retry_timer);
	}
	auth_client_close(&q->auth);
	qmgr_resolver_free(&q->resolver);
	qmgr_maps_free(&q->virtual_maps);
	qmgr_maps_free(&q->transport_maps);
	qmgr_maps_free(&q->relayhost_maps);
	qmgr_queue_close(q);
}

int main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
	    .name = "qmgr",
	    .owner = DAEMON_OWNER_MAIL,
	    .pre_jail = qmgr_pre_jail,
	    .post_jail = qmgr_post_jail,
	    .serve = qmgr_serve,
	    .shutdown = qmgr_shutdown,
	    .multi = 1,
	    .stopping = qmgr_stopping,
	};
	struct qmgr_daemon qd;
	int i, ret;

	memset(&qd, 0, sizeof(qd));
	for (i = 0; i < QMGR_DIR_COUNT; i++)
		qd.q.dirfd[i] = -1;
	ret = daemon_main(argc, argv, &ops, &qd);
	return ret;
}
