/*
 * smtp_status - recording the outcome of each recipient, in the order
 * mail/deliver_proto.h requires: the log line, then the status log entry
 * (trace for a delivery that asked NOTIFY=SUCCESS, defer, bounce), written
 * and fsync'd, then for status 2 and 5 the done mark in the queue file,
 * so that a crash repeats a delivery or a notice at worst.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/cleanup_client.h"
#include "mail/queue_file.h"
#include "mail/status_log.h"
#include "smtp/smtp.h"
#include "util/msg.h"
#include "util/mymalloc.h"

void smtp_rcpt_outcome(struct smtp_request *req, struct smtp_rcpt *r, int status, const char *dsn,
		       const char *text, const char *cmd, bool remote, const char *relay)
{
	if (r->final)
		return;
	smtp_failure_set(&r->why, status, dsn, "%s", text);
	if (r->why.dsn[0] != (char)('0' + status)) /* a reply whose code and dsn disagree */
		snprintf(r->why.dsn, sizeof(r->why.dsn), "%d.0.0", status);
	r->why.cmd = cmd ? xstrdup(cmd) : NULL;
	r->why.remote = remote;
	r->status = status;
	r->final = status != 4;
	free(r->relay);
	r->relay = relay ? xstrdup(relay) : NULL;
	r->done_at = smtp_wall();
	r->conn_ready = relay ? req->conn_ready : 0;
}

/* log_outcome - the Postfix-shaped log line of one recipient. */
static void log_outcome(struct smtp_agent *a, struct smtp_request *req, struct smtp_rcpt *r)
{
	static const char *const words[] = {[2] = "sent", [4] = "deferred", [5] = "bounced"};
	struct strbuf line = STRBUF_INIT;
	double c, d;
	const char *semi;

	strbuf_printf(&line, "%s: to=<%s>", req->queue_id, r->address);
	if (r->orcpt != NULL && (semi = strchr(r->orcpt, ';')) != NULL &&
	    strcmp(semi + 1, r->address) != 0)
		strbuf_printf(&line, ", orig_to=<%s>", semi + 1);
	strbuf_printf(&line, ", relay=%s, delay=", r->relay ? r->relay : "none");
	smtp_delay_format(&line, r->done_at - req->arrival);
	c = (r->conn_ready > 0 ? r->conn_ready : r->done_at) - req->received;
	d = r->conn_ready > 0 ? r->done_at - r->conn_ready : 0;
	strbuf_puts(&line, ", delays=");
	smtp_delay_format(&line, req->active - req->arrival);
	strbuf_putc(&line, '/');
	smtp_delay_format(&line, req->received - req->active);
	strbuf_putc(&line, '/');
	smtp_delay_format(&line, c);
	strbuf_putc(&line, '/');
	smtp_delay_format(&line, d);
	strbuf_printf(&line, ", dsn=%s, status=%s (", r->why.dsn, words[r->status]);
	if (r->why.remote && r->status != 2)
		strbuf_printf(&line, "host %s said: ", r->relay);
	strbuf_puts(&line, r->why.text);
	if (r->why.remote && r->status != 2 && r->why.cmd != NULL)
		strbuf_printf(&line, " (in reply to %s command)", r->why.cmd);
	strbuf_putc(&line, ')');
	msg_info("%s", line.data);
	strbuf_free(&line);
}

/* append_log - the recipient's status log entry; -1 when it could not be written. */
static int append_log(struct smtp_agent *a, struct smtp_request *req, struct smtp_rcpt *r)
{
	struct status_entry e = {
	    .address = r->address,
	    .orcpt = r->orcpt,
	    .notify = r->notify,
	    .offset = r->offset,
	    .status = r->status,
	    .dsn = r->why.dsn,
	    .text = r->why.text,
	    .relay = r->relay ? r->relay : "none",
	};
	enum status_log_kind kind = r->status == 2   ? STATUS_LOG_TRACE
				    : r->status == 4 ? STATUS_LOG_DEFER
						     : STATUS_LOG_BOUNCE;
	char *err = NULL;

	if (r->status == 2 && !(r->notify & CLEANUP_NOTIFY_SUCCESS))
		return 0;
	if (status_log_append(a->queue_dir, kind, req->queue_id, &e, &err) == 0)
		return 0;
	msg_warn("%s: cannot record the outcome for <%s>: %s", req->queue_id, r->address, err);
	free(err);
	return -1;
}

/* demote - a recorded outcome that could not be made durable: qmgr must try again. */
static void demote(struct smtp_rcpt *r, const char *why)
{
	char *text = xasprintf("%s (%s)", r->why.text, why);

	free(r->why.text);
	r->why.text = text;
	r->why.dsn[0] = '4';
	r->status = 4;
}

void smtp_record(struct smtp_agent *a, struct smtp_request *req, bool finish)
{
	struct smtp_rcpt *r;
	char *err = NULL;
	size_t i, n = 0;

	for (i = 0; i < req->nrcpt; i++) {
		r = &req->rcpts[i];
		if (r->recorded || !(r->final || finish))
			continue;
		r->final = r->recorded = true;
		log_outcome(a, req, r);
		if (append_log(a, req, r) < 0 && r->status == 5) {
			demote(r, "the bounce log could not be written");
			continue;
		}
		if (r->status != 4 && req->fd >= 0)
			req->done_offsets[n++] = (off_t)r->offset;
	}
	if (n == 0 || queue_mark_done(req->fd, req->done_offsets, n, &err) == 0)
		return;
	msg_warn("%s: cannot mark recipients done in %s: %s", req->queue_id, req->queue_path, err);
	free(err);
	for (i = 0; i < req->nrcpt; i++) {
		r = &req->rcpts[i];
		for (size_t k = 0; k < n; k++)
			if ((off_t)r->offset == req->done_offsets[k] && r->status != 4)
				demote(r, "the queue file could not be updated");
	}
}

void smtp_request_free(struct smtp_request *req)
{
	size_t i;

	for (i = 0; i < req->nrcpt; i++) {
		free(req->rcpts[i].address);
		free(req->rcpts[i].orcpt);
		free(req->rcpts[i].relay);
		smtp_failure_free(&req->rcpts[i].why);
	}
	free(req->rcpts);
	free(req->done_offsets);
	free(req->queue_id);
	free(req->queue_path);
	free(req->transport);
	free(req->nexthop);
	free(req->sender);
	free(req->envid);
	if (req->fd >= 0)
		close(req->fd);
	memset(req, 0, sizeof(*req));
	req->fd = -1;
}
