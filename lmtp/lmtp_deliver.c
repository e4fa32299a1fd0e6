/*
 * lmtp_deliver - the end of data: the message saved in the store of every
 * account its recipients reach, and one reply per recipient in RCPT order,
 * each sent as soon as it is known.
 *
 * For each account, once per transaction however many recipients reach
 * it: open its store (created on first use, with the account's quotas),
 * ask the filter hook (lmtp_filter.h) for the mailbox, write a blob of
 *
 *   Return-Path: <sender>
 *   Delivered-To: recipient as given in RCPT TO (the first that reached it)
 *   the message as received
 *
 * and append it. store_append() returns only after the blob and its index
 * row are on disk (store.h), so a 250 is never sent for mail that a crash
 * could lose. Outcomes:
 *
 *   saved                                   250 2.0.0
 *   over the account's quota                552 5.2.2 (that recipient alone)
 *   the store failed (busy, I/O, damaged)   451 4.2.0
 *   lmtp itself failed (temporary file)     451 4.3.0
 *
 * A recipient that reaches several accounts (an alias) gets the worst of
 * their outcomes: a temporary failure first (the MTA retries; accounts that
 * got the message may get it twice, never zero times), then a permanent one.
 *
 * Each outcome is logged as Postfix's delivery agents do, with the queue ID
 * of the topmost Received: field (the MTA that handed the message over) or
 * else the session ID:
 *
 *   QID: to=<alice@example.org>, orig_to=<info@example.org>, relay=lmtp,
 *   delay=0.04, status=sent (saved to mailbox INBOX, uid 7)
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lmtp/lmtp.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* set_outcome - what became of an account's copy; status is the log text (consumed). */
static void set_outcome(struct lmtp_account *a, int code, const char *dsn, const char *text,
			char *status)
{
	a->done = 1;
	a->code = code;
	a->dsn = xstrdup(dsn);
	a->text = xstrdup(text);
	a->status = status;
}

/* write_blob - the added header fields and the message into a new blob; 0 or a store_error. */
static int write_blob(struct lmtp_session *s, struct store *store, const char *rcpt,
		      struct store_blob **blob_r, int *content_failed, char **error_r)
{
	struct lmtp_txn *t = &s->txn;
	struct store_blob *blob = NULL;
	char *fields, *buf;
	uint64_t offset = 0;
	long long n;
	int rc;

	if ((rc = store_blob_create(store, &blob, error_r)) < 0)
		return rc;
	fields = xasprintf("Return-Path: <%s>\r\nDelivered-To: %s\r\n", t->sender, rcpt);
	rc = store_blob_write(blob, fields, strlen(fields), error_r);
	free(fields);
	buf = xmalloc(LMTP_CHUNK);
	while (rc == 0) {
		n = lmtp_content_read(&t->content, offset, buf, LMTP_CHUNK, error_r);
		if (n < 0) {
			*content_failed = 1;
			rc = STORE_ERR_TEMP;
		} else if (n == 0) {
			break;
		} else {
			rc = store_blob_write(blob, buf, (size_t)n, error_r);
			offset += (uint64_t)n;
		}
	}
	free(buf);
	if (rc < 0) {
		store_blob_discard(&blob);
		return rc;
	}
	*blob_r = blob;
	return 0;
}

/* save - one copy into mailbox; 0 with *uid_r, or a store_error. */
static int save(struct lmtp_session *s, struct store *store, const struct lmtp_account *a,
		const struct lmtp_filter_result *fr, const char *mailbox, uint32_t *uid_r,
		int *content_failed, char **error_r)
{
	struct store_append req;
	struct store_blob *blob = NULL;
	int rc;

	rc = write_blob(s, store, s->txn.rcpts[a->first_rcpt].address, &blob, content_failed,
			error_r);
	if (rc < 0)
		return rc;
	memset(&req, 0, sizeof(req));
	req.mailbox = mailbox;
	req.flags = fr->flags;
	return store_append(store, &blob, &req, uid_r, error_r);
}

/* fail - a copy not saved: the outcome that the store's error kind calls for. */
static void fail(struct lmtp_account *a, int rc, int content_failed, const char *error)
{
	if (content_failed)
		set_outcome(a, 451, "4.3.0", "Error: cannot read the message back",
			    xasprintf("deferred (message content: %s)", error));
	else if (rc == STORE_ERR_OVERQUOTA)
		set_outcome(a, 552, "5.2.2", "Error: mailbox full, quota exceeded",
			    xasprintf("bounced (over quota: %s)", error));
	else
		set_outcome(a, 451, "4.2.0", "Error: mailbox temporarily unavailable",
			    xasprintf("deferred (mailbox store: %s)", error));
}

/* deliver_account - the account's copy: open (or take the open store), filter, save. */
static void deliver_account(struct lmtp_session *s, struct lmtp_account *a)
{
	struct lmtp_txn *t = &s->txn;
	struct store_options opts = s->srv->store_opts;
	struct lmtp_filter_result fr = {0};
	struct lmtp_filter_msg msg;
	struct store *store = NULL;
	char *error = NULL, *text;
	int rc, content_failed = 0;
	uint32_t uid = 0;

	opts.quota_bytes = a->quota_bytes;
	opts.quota_messages = a->quota_messages;
	opts.create = 1;
	if ((rc = lmtp_stores_get(s->srv->stores, a->store_path, &opts, &store, &error)) < 0) {
		fail(a, rc, 0, error);
		free(error);
		return;
	}
	msg.sender = t->sender;
	msg.rcpt = t->rcpts[a->first_rcpt].address;
	msg.account = a->address;
	msg.detail = a->detail;
	msg.content = &t->content;
	if (lmtp_filter_run(&s->srv->filter, store, &msg, &fr, &error) < 0) {
		set_outcome(a, 451, "4.3.0", "Error: delivery filter failed",
			    xasprintf("deferred (filter: %s)", error));
		goto out;
	}
	rc = save(s, store, a, &fr, fr.mailbox, &uid, &content_failed, &error);
	if (rc == STORE_ERR_NOTFOUND && strcasecmp(fr.mailbox, "INBOX") != 0) {
		/* the chosen mailbox went away meanwhile */
		msg_info("%s: mailbox \"%s\" of %s: %s; saving to INBOX", s->id, fr.mailbox,
			 a->address, error);
		free(fr.mailbox);
		fr.mailbox = xstrdup("INBOX");
		XFREE(error);
		rc = save(s, store, a, &fr, fr.mailbox, &uid, &content_failed, &error);
	}
	if (rc < 0) {
		fail(a, rc, content_failed, error);
		goto out;
	}
	text = xasprintf("Ok: saved to mailbox %s, uid %lu", fr.mailbox, (unsigned long)uid);
	set_outcome(
	    a, 250, "2.0.0", text,
	    xasprintf("sent (saved to mailbox %s, uid %lu)", fr.mailbox, (unsigned long)uid));
	free(text);
out:
	free(error);
	lmtp_filter_result_free(&fr);
	if (a->code / 100 == 4)
		lmtp_stores_drop(s->srv->stores, store); /* opened afresh next time */
}

/* log_outcome - the delivery line of one recipient and one account. */
static void log_outcome(struct lmtp_session *s, const char *id, const char *rcpt, const char *to,
			const char *status)
{
	long long delay = smtp_server_now_ms() - s->txn.start_ms;

	if (delay < 0)
		delay = 0;
	if (strcasecmp(rcpt, to) != 0)
		msg_info("%s: to=<%s>, orig_to=<%s>, relay=lmtp, delay=%lld.%02lld, status=%s", id,
			 to, rcpt, delay / 1000, delay % 1000 / 10, status);
	else
		msg_info("%s: to=<%s>, relay=lmtp, delay=%lld.%02lld, status=%s", id, to,
			 delay / 1000, delay % 1000 / 10, status);
}

/* worst - the account whose outcome speaks for the recipient: 4xx, then 5xx, then 2xx. */
static const struct lmtp_account *worst(const struct lmtp_txn *t, const struct lmtp_rcpt *r)
{
	const struct lmtp_account *w = NULL, *a;
	size_t i;

	for (i = 0; i < r->naccounts; i++) {
		a = &t->accounts[r->accounts[i]];
		if (w == NULL || (a->code / 100 == 4 && w->code / 100 != 4) ||
		    (a->code / 100 == 5 && w->code / 100 == 2))
			w = a;
	}
	return w;
}

/* message_id - the ID for the log: the message's queue ID, or the session's (malloc'd). */
static char *message_id(struct lmtp_session *s)
{
	const char *head;
	size_t len;
	char *id = NULL;

	if (s->txn.has_content) {
		head = lmtp_content_head(&s->txn.content, &len);
		id = lmtp_received_id(head, len);
	}
	return id != NULL ? id : xstrdup(s->id);
}

void lmtp_deliver(struct lmtp_session *s)
{
	struct lmtp_txn *t = &s->txn;
	const struct lmtp_account *w;
	char *id = message_id(s);
	size_t i, j;

	for (i = 0; i < t->rcpt_count && !s->done; i++) {
		const struct lmtp_rcpt *r = &t->rcpts[i];

		for (j = 0; j < r->naccounts; j++) {
			struct lmtp_account *a = &t->accounts[r->accounts[j]];

			if (!a->done)
				deliver_account(s, a);
			log_outcome(s, id, r->address, a->address, a->status);
		}
		w = worst(t, r);
		if (w->code == 250 && r->naccounts > 1)
			lmtp_reply_outcome(s, "250 2.0.0 <%s> Ok: saved for %zu accounts",
					   r->address, r->naccounts);
		else
			lmtp_reply_outcome(s, "%d %s <%s> %s", w->code, w->dsn, r->address,
					   w->text);
		/* the client may act on each reply at once (RFC 2033 section 4.2) */
		if (smtp_server_flush(&s->conn) != STREAM_OK) {
			msg_info("%s: lost connection with %s while delivering: the remaining "
				 "recipients are left to the client's retry",
				 id, s->peer);
			s->done = 1;
		}
	}
	free(id);
}

void lmtp_refuse_all(struct lmtp_session *s, int code, const char *dsn, const char *text)
{
	struct lmtp_txn *t = &s->txn;
	char *id = message_id(s), *status;
	size_t i, j;

	status = xasprintf("%s (%s)", code >= 500 ? "bounced" : "deferred", text);
	for (i = 0; i < t->rcpt_count; i++) {
		const struct lmtp_rcpt *r = &t->rcpts[i];

		for (j = 0; j < r->naccounts; j++)
			log_outcome(s, id, r->address, t->accounts[r->accounts[j]].address, status);
		lmtp_reply_outcome(s, "%d %s <%s> %s", code, dsn, r->address, text);
	}
	free(status);
	free(id);
}
