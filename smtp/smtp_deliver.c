/*
 * smtp_deliver - one delivery request: open the queue file and read its
 * envelope, find the servers of the next hop, then try them in order (a
 * cached connection to the same next hop first) until every recipient has
 * a final outcome or no server is left; recipients deferred by one server
 * are offered to the next. Outcomes are recorded after each server, before
 * the next is tried (smtp_record()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/cleanup_client.h"
#include "mail/queue_file.h"
#include "smtp/smtp.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* path_ok - a queue path relative to queue_directory that stays inside it. */
static bool path_ok(const char *path)
{
	return path[0] != '/' && path[0] != '\0' && strstr(path, "..") == NULL &&
	       strchr(path, '/') != NULL;
}

/* envelope_rec - what the agent needs from one envelope record. */
static void envelope_rec(struct smtp_request *req, const struct queue_rec *rec)
{
	struct queue_sizes sizes;

	if (rec->type == QREC_SIZES && queue_sizes_parse(rec->data, rec->len, &sizes) == 0) {
		req->size = sizes.size;
		req->content_offset = sizes.content_offset;
		req->body_offset = sizes.body_offset;
	} else if (rec->type == QREC_ENVID) {
		free(req->envid);
		req->envid = xstrndup(rec->data, rec->len);
	} else if (rec->type == QREC_RET && rec->len < sizeof(req->ret)) {
		memcpy(req->ret, rec->data, rec->len);
		req->ret[rec->len] = '\0';
	}
}

/* needs_utf8 - whether the envelope of a message flagged SMTPUTF8 really holds UTF-8. */
static bool envelope_utf8(const struct smtp_request *req)
{
	size_t i;

	if (smtp_has_8bit(req->sender, strlen(req->sender)))
		return true;
	for (i = 0; i < req->nrcpt; i++)
		if (smtp_has_8bit(req->rcpts[i].address, strlen(req->rcpts[i].address)))
			return true;
	return false;
}

/*
 * open_queue - open the queue file and read its envelope (and, for a
 * message flagged SMTPUTF8, its header: does it need SMTPUTF8 after all).
 */
static int open_queue(struct smtp_agent *a, struct smtp_request *req, struct smtp_failure *fail)
{
	struct queue_reader *qr;
	struct queue_rec rec;
	struct stat st;
	char *path, *err = NULL;
	bool utf8 = (req->flags & CLEANUP_FLAG_SMTPUTF8) != 0, content = false;

	if (!path_ok(req->queue_path)) {
		smtp_failure_set(fail, 4, "4.3.0", "bad queue file name %s", req->queue_path);
		return -1;
	}
	path = xasprintf("%s/%s", a->queue_dir, req->queue_path);
	req->fd = open(path, O_RDWR | O_CLOEXEC);
	if (req->fd < 0 || fstat(req->fd, &st) < 0) {
		smtp_failure_set(fail, 4, "4.3.0", "cannot open queue file %s: %s", path,
				 strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	/* the last change of the file's inode: its move into active/ (for delays=a/b) */
	req->active = (double)st.st_ctim.tv_sec + st.st_ctim.tv_nsec / 1e9;
	if (req->active < req->arrival || req->active > req->received)
		req->active = req->arrival;
	req->needs_utf8 = utf8 && envelope_utf8(req);
	qr = queue_reader_fd(req->fd);
	while (queue_reader_next(qr, &rec, &err) == QUEUE_READ_REC) {
		if (rec.type == QREC_CONTENT) {
			content = true;
			if (!utf8 || req->needs_utf8)
				break;
		} else if (!content) {
			envelope_rec(req, &rec);
		} else if ((long long)rec.offset >= req->body_offset) {
			break;
		} else if (smtp_has_8bit(rec.data, rec.len)) {
			req->needs_utf8 = true;
			break;
		}
	}
	queue_reader_free(&qr);
	if (!content) {
		smtp_failure_set(fail, 4, "4.3.0", "cannot read queue file %s: %s", req->queue_path,
				 err ? err : "no content");
		free(err);
		return -1;
	}
	free(err);
	return 0;
}

/* pending - recipients without a final outcome. */
static size_t pending(const struct smtp_request *req)
{
	size_t i, n = 0;

	for (i = 0; i < req->nrcpt; i++)
		n += !req->rcpts[i].final;
	return n;
}

/*
 * fail_pending - every recipient without a final outcome (untried_only:
 * and without any outcome) gets the failure; relay is the server that
 * caused it, or NULL.
 */
static void fail_pending(struct smtp_request *req, const struct smtp_failure *f, bool untried_only,
			 const char *relay)
{
	size_t i;

	for (i = 0; i < req->nrcpt; i++)
		if (!req->rcpts[i].final && (!untried_only || req->rcpts[i].status == 0))
			smtp_rcpt_outcome(req, &req->rcpts[i], f->status, f->dsn, f->text, f->cmd,
					  f->remote, relay);
}

/* reuse - a cached session for the next hop that still answers RSET, or NULL. */
static struct smtp_session *reuse(struct smtp_agent *a, const char *nexthop)
{
	struct smtp_session *s;
	struct smtp_failure f = {0};
	struct smtp_reply r;

	while ((s = smtp_cache_take(a, nexthop)) != NULL) {
		smtp_reply_init(&r);
		smtp_command(s, "RSET");
		if (smtp_flush(s, a->command_ms, "sending RSET", &f) == 0 &&
		    smtp_read_reply(s, a->command_ms, &r, "receiving the RSET reply", &f) == 0 &&
		    r.code == 250) {
			smtp_reply_free(&r);
			return s;
		}
		s->broken = s->broken || r.code != 250;
		smtp_reply_free(&r);
		smtp_failure_free(&f);
		smtp_session_close(a, &s);
	}
	return NULL;
}

/* open_session - a new session to d; with TLS level may, once more without TLS when TLS failed. */
static struct smtp_session *open_session(struct smtp_agent *a, struct smtp_request *req,
					 const struct smtp_dest *d, struct smtp_failure *fail)
{
	struct smtp_session *s;
	bool tls_failed = false;

	s = smtp_session_open(a, d, req->nexthop, false, fail, &tls_failed);
	if (s == NULL && tls_failed && a->tls_level == SMTP_TLS_MAY) {
		msg_info("%s: %s; trying without TLS", req->queue_id, fail->text);
		s = smtp_session_open(a, d, req->nexthop, true, fail, NULL);
	}
	return s;
}

/* walk - try the servers in order until no recipient is pending. */
static void walk(struct smtp_agent *a, struct smtp_request *req, const struct smtp_dest *dests,
		 size_t ndest, struct smtp_failure *last)
{
	struct smtp_session *s = reuse(a, req->nexthop);
	size_t i = 0;

	while (pending(req) > 0 && (s != NULL || i < ndest)) {
		if (s == NULL) {
			smtp_failure_free(last);
			const struct smtp_dest *d = &dests[i++];
			s = open_session(a, req, d, last);
			if (s == NULL) {
				char *relay = d->salen > 0
						  ? xasprintf("%s[%s]:%d", d->host, d->ip, d->port)
						  : xasprintf("%s[%s]", d->host, d->ip);
				/* the latest reason for all (final for a 5xx) */
				fail_pending(req, last, false, relay);
				free(relay);
				smtp_record(a, req, false);
				continue;
			}
		}
		req->conn_ready = smtp_wall();
		if (smtp_transaction(a, s, req) == 0)
			smtp_cache_put(a, s);
		else
			smtp_session_close(a, &s);
		s = NULL;
		smtp_record(a, req, false);
		req->conn_ready = 0;
	}
}

void smtp_deliver(struct smtp_agent *a, struct smtp_request *req)
{
	struct smtp_failure fail = {0};
	struct smtp_dest *dests = NULL;
	size_t ndest = 0;

	req->done_offsets = xcalloc(req->nrcpt + 1, sizeof(*req->done_offsets));
	if (open_queue(a, req, &fail) < 0 ||
	    smtp_resolve(a, req->nexthop, &dests, &ndest, &fail) < 0) {
		fail_pending(req, &fail, false, NULL);
	} else {
		walk(a, req, dests, ndest, &fail);
		if (fail.text == NULL)
			smtp_failure_set(&fail, 4, "4.4.0", "no server of %s could be tried",
					 req->nexthop);
		fail_pending(req, &fail, true, NULL);
	}
	smtp_record(a, req, true);
	smtp_dests_free(dests, ndest);
	smtp_failure_free(&fail);
}
