/*
 * smtp_trans - one mail transaction of the smtp agent: MAIL FROM with the
 * SIZE, BODY, SMTPUTF8 and DSN parameters the server offers, RCPT TO for
 * each pending recipient, DATA, the content from the queue file, and the
 * final reply (SMTP: one for all; LMTP: one per accepted recipient, RFC
 * 2033 section 4.2). With PIPELINING (RFC 2920) commands go out in groups
 * of SMTP_PIPELINE_GROUP, and the replies of a group are read before the
 * next group is sent, so neither side can block the other. A message
 * the server cannot take (SIZE, SMTPUTF8) is refused before MAIL FROM.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/cleanup_client.h"
#include "mail/queue_file.h"
#include "smtp/smtp.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/stream.h"

#define SMTP_PIPELINE_GROUP 100	 /* commands sent before their replies are read */
#define SMTP_CONTENT_CHUNK 65536 /* content bytes buffered before a write */

/* A transaction in progress. */
struct trans {
	struct smtp_agent *a;
	struct smtp_session *s;
	struct smtp_request *req;
	size_t *sent; /* indexes of the recipients sent RCPT TO, in order */
	size_t nsent;
	size_t *accepted; /* of those, the ones the server accepted */
	size_t naccepted;
	bool *decided; /* by recipient index: an outcome came in this transaction */
	bool mail_ok, data_sent, data_ok, failed;
	struct smtp_reply r;
};

/* outcome_all - the same outcome for every recipient of list (n of them). */
static void outcome_all(struct trans *t, const size_t *list, size_t n, int status, const char *dsn,
			const char *text, const char *cmd, bool remote)
{
	size_t i;

	for (i = 0; i < n; i++) {
		smtp_rcpt_outcome(t->req, &t->req->rcpts[list[i]], status, dsn, text, cmd, remote,
				  t->s->relay);
		t->decided[list[i]] = true;
	}
}

/* outcome_reply - the outcome of recipient i from the reply in t->r. */
static void outcome_reply(struct trans *t, size_t i, const char *cmd)
{
	int st = t->r.code / 100;
	const char *dflt = st == 2 ? "2.0.0" : st == 4 ? "4.0.0" : "5.0.0";

	smtp_rcpt_outcome(t->req, &t->req->rcpts[i],
			  st == 2   ? 2
			  : st == 4 ? 4
				    : 5,
			  smtp_reply_dsn(&t->r, dflt), strbuf_str(&t->r.text), cmd, true,
			  t->s->relay);
	t->decided[i] = true;
}

/* io_fail - the session failed: each recipient sent without an outcome yet gets the failure. */
static void io_fail(struct trans *t, struct smtp_failure *f)
{
	size_t i;

	t->failed = true;
	for (i = 0; i < t->nsent; i++)
		if (!t->decided[t->sent[i]])
			smtp_rcpt_outcome(t->req, &t->req->rcpts[t->sent[i]], 4, f->dsn, f->text,
					  NULL, false, t->s->relay);
}

/* mail_from - the MAIL FROM command with its parameters. */
static void mail_from(struct trans *t)
{
	struct smtp_request *req = t->req;
	unsigned feat = t->s->ehlo.features;
	struct strbuf cmd = STRBUF_INIT;

	strbuf_printf(&cmd, "MAIL FROM:<%s>", req->sender);
	if (feat & SMTP_FEAT_SIZE)
		strbuf_printf(&cmd, " SIZE=%lld", req->size);
	if ((req->flags & CLEANUP_FLAG_8BITMIME) && (feat & SMTP_FEAT_8BITMIME))
		strbuf_puts(&cmd, " BODY=8BITMIME");
	if (req->needs_utf8)
		strbuf_puts(&cmd, " SMTPUTF8");
	if (feat & SMTP_FEAT_DSN) {
		if (req->ret[0] != '\0')
			strbuf_printf(&cmd, " RET=%s", req->ret);
		if (req->envid != NULL) {
			strbuf_puts(&cmd, " ENVID=");
			smtp_xtext(&cmd, req->envid);
		}
	}
	smtp_command(t->s, "%s", cmd.data);
	strbuf_free(&cmd);
}

/* rcpt_to - the RCPT TO command of one recipient. */
static void rcpt_to(struct trans *t, const struct smtp_rcpt *r)
{
	struct strbuf cmd = STRBUF_INIT;
	const char *semi;

	strbuf_printf(&cmd, "RCPT TO:<%s>", r->address);
	if (t->s->ehlo.features & SMTP_FEAT_DSN) {
		if (r->notify & CLEANUP_NOTIFY_NEVER) {
			strbuf_puts(&cmd, " NOTIFY=NEVER");
		} else if (r->notify != 0) {
			strbuf_puts(&cmd, " NOTIFY=");
			size_t at = cmd.len;
			if (r->notify & CLEANUP_NOTIFY_SUCCESS)
				strbuf_puts(&cmd, "SUCCESS");
			if (r->notify & CLEANUP_NOTIFY_FAILURE)
				strbuf_puts(&cmd, cmd.len > at ? ",FAILURE" : "FAILURE");
			if (r->notify & CLEANUP_NOTIFY_DELAY)
				strbuf_puts(&cmd, cmd.len > at ? ",DELAY" : "DELAY");
		}
		if (r->orcpt != NULL && (semi = strchr(r->orcpt, ';')) != NULL) {
			strbuf_printf(&cmd, " ORCPT=%.*s;", (int)(semi - r->orcpt), r->orcpt);
			smtp_xtext(&cmd, semi + 1);
		}
	}
	smtp_command(t->s, "%s", cmd.data);
	strbuf_free(&cmd);
}

/* read_reply_of - read the next reply of a group; on failure the session's recipients get it. */
static int read_reply_of(struct trans *t, const char *what)
{
	struct smtp_failure f = {0};

	if (smtp_read_reply(t->s, t->a->command_ms, &t->r, what, &f) == 0)
		return 0;
	io_fail(t, &f);
	smtp_failure_free(&f);
	return -1;
}

/* envelope - MAIL, RCPT and (when there may be recipients) DATA, in pipelined groups. */
static int envelope(struct trans *t)
{
	struct smtp_request *req = t->req;
	size_t group = (t->s->ehlo.features & SMTP_FEAT_PIPELINING) ? SMTP_PIPELINE_GROUP : 1;
	size_t next = 0, i, first, count, total;
	struct smtp_failure f = {0};

	for (i = 0; i < req->nrcpt; i++)
		if (!req->rcpts[i].final)
			t->sent[t->nsent++] = i;
	total = t->nsent + 2; /* MAIL, the RCPTs, DATA */
	while (next < total) {
		first = next;
		for (count = 0; next < total && count < group; count++, next++) {
			if (next == 0)
				mail_from(t);
			else if (next < total - 1)
				rcpt_to(t, &req->rcpts[t->sent[next - 1]]);
			else if (group > 1 || t->naccepted > 0)
				smtp_command(t->s, "DATA");
			else
				break; /* no recipient accepted: no DATA */
		}
		if (count == 0)
			break;
		if (smtp_flush(t->s, t->a->command_ms, "sending the envelope", &f) < 0) {
			io_fail(t, &f);
			smtp_failure_free(&f);
			return -1;
		}
		for (i = first; i < first + count; i++) {
			bool is_data = i == total - 1;
			if (read_reply_of(t, i == 0    ? "receiving the MAIL FROM reply"
					     : is_data ? "receiving the DATA reply"
						       : "receiving the RCPT TO reply") < 0)
				return -1;
			if (i == 0) {
				t->mail_ok = t->r.code / 100 == 2;
				if (!t->mail_ok) {
					int st = t->r.code >= 500 ? 5 : 4;
					outcome_all(
					    t, t->sent, t->nsent, st,
					    smtp_reply_dsn(&t->r, st == 5 ? "5.0.0" : "4.0.0"),
					    strbuf_str(&t->r.text), "MAIL FROM", true);
				}
			} else if (is_data) {
				t->data_sent = true;
				t->data_ok = t->r.code == 354;
			} else if (t->mail_ok && t->r.code / 100 == 2) {
				t->accepted[t->naccepted++] = t->sent[i - 1];
			} else if (t->mail_ok) {
				outcome_reply(t, t->sent[i - 1], "RCPT TO");
			}
		}
		if (!t->mail_ok)
			return 0; /* replies of what was sent are read: still in step */
	}
	return 0;
}

/* content - the message from the queue file, dot-stuffed, then ".". */
static int content(struct trans *t)
{
	struct queue_reader *qr = queue_reader_fd(t->req->fd);
	struct strbuf out = STRBUF_INIT;
	struct smtp_failure f = {0};
	enum queue_read_status st;
	struct queue_rec rec;
	bool in_content = false;
	char *err = NULL;
	size_t col = 0;
	int ret = -1;

	while ((st = queue_reader_next(qr, &rec, &err)) == QUEUE_READ_REC) {
		if (rec.type == QREC_CONTENT) {
			in_content = true;
			continue;
		}
		if (!in_content || (rec.type != QREC_PIECE && rec.type != QREC_LINE)) {
			if (rec.type == QREC_EXTRACTED)
				break;
			continue;
		}
		smtp_line_put(&out, rec.data, rec.len, rec.type == QREC_LINE, &col);
		if (out.len >= SMTP_CONTENT_CHUNK) {
			stream_write(t->s->stream, out.data, out.len);
			strbuf_reset(&out);
			if (smtp_flush(t->s, t->a->xfer_ms, "sending message body", &f) < 0)
				goto fail;
		}
	}
	if (st == QUEUE_READ_ERROR) {
		smtp_failure_set(&f, 4, "4.3.0", "cannot read queue file %s: %s",
				 t->req->queue_path, err);
		t->s->broken = true; /* the server has part of a message: do not end it */
		goto fail;
	}
	strbuf_puts(&out, ".\r\n");
	stream_write(t->s->stream, out.data, out.len);
	if (smtp_flush(t->s, t->a->xfer_ms, "sending message body", &f) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	io_fail(t, &f);
out:
	free(err);
	smtp_failure_free(&f);
	strbuf_free(&out);
	queue_reader_free(&qr);
	return ret;
}

/* final_replies - the reply to the end of data: one, or one per accepted recipient (LMTP). */
static int final_replies(struct trans *t)
{
	struct smtp_failure f = {0};
	size_t i, n = t->a->lmtp ? t->naccepted : 1;

	for (i = 0; i < n; i++) {
		if (smtp_read_reply(t->s, t->a->done_ms, &t->r, "receiving the end of data reply",
				    &f) < 0) {
			io_fail(t, &f); /* the recipients without their reply yet */
			smtp_failure_free(&f);
			return -1;
		}
		if (t->a->lmtp) {
			outcome_reply(t, t->accepted[i], "end of DATA");
		} else {
			for (size_t k = 0; k < t->naccepted; k++)
				outcome_reply(t, t->accepted[k], "end of DATA");
		}
	}
	return 0;
}

/* precheck - refuse early what the server cannot take; true when refused. */
static bool precheck(struct trans *t)
{
	struct smtp_request *req = t->req;
	const struct smtp_ehlo *e = &t->s->ehlo;
	char *text = NULL;
	const char *dsn = NULL;
	size_t i;

	if ((e->features & SMTP_FEAT_SIZE) && e->size_limit > 0 && req->size > e->size_limit) {
		text = xasprintf("message size %lld exceeds size limit %lld of server %s",
				 req->size, e->size_limit, t->s->relay);
		dsn = "5.3.4";
	} else if (req->needs_utf8 && !(e->features & SMTP_FEAT_SMTPUTF8)) {
		text =
		    xasprintf("SMTPUTF8 is required, but was not offered by host %s", t->s->relay);
		dsn = "5.6.7";
	}
	if (text == NULL)
		return false;
	for (i = 0; i < req->nrcpt; i++)
		if (!req->rcpts[i].final)
			smtp_rcpt_outcome(req, &req->rcpts[i], 5, dsn, text, NULL, false,
					  t->s->relay);
	free(text);
	return true;
}

int smtp_transaction(struct smtp_agent *a, struct smtp_session *s, struct smtp_request *req)
{
	struct trans t = {.a = a, .s = s, .req = req};
	int ret = 0;

	if (precheck(&t))
		return 0;
	t.sent = xcalloc(req->nrcpt + 1, sizeof(*t.sent));
	t.accepted = xcalloc(req->nrcpt + 1, sizeof(*t.accepted));
	t.decided = xcalloc(req->nrcpt + 1, sizeof(*t.decided));
	smtp_reply_init(&t.r);
	s->uses++;
	if (envelope(&t) < 0) {
		ret = -1;
	} else if (t.mail_ok && t.data_sent && !t.data_ok) {
		outcome_all(&t, t.accepted, t.naccepted, t.r.code >= 500 ? 5 : 4,
			    smtp_reply_dsn(&t.r, t.r.code >= 500 ? "5.0.0" : "4.0.0"),
			    strbuf_str(&t.r.text), "DATA", true);
	} else if (t.data_ok && t.naccepted == 0) {
		/* DATA was taken without a recipient: end the empty message at once */
		smtp_command(s, ".");
		struct smtp_failure f = {0};
		if (smtp_flush(s, a->command_ms, "sending end of data", &f) < 0 ||
		    smtp_read_reply(s, a->done_ms, &t.r, "receiving the end of data reply", &f) < 0)
			ret = -1;
		smtp_failure_free(&f);
	} else if (t.data_ok) {
		if (content(&t) < 0 || final_replies(&t) < 0)
			ret = -1;
	}
	smtp_reply_free(&t.r);
	free(t.sent);
	free(t.accepted);
	free(t.decided);
	return ret < 0 || s->broken ? -1 : 0;
}
