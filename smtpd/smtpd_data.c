/*
 * smtpd_data - DATA and BDAT (RFC 5321, RFC 3030), and the conversation
 * with cleanup that puts the message in the queue.
 *
 * A connection to cleanup is made for each message, at DATA or at the
 * first BDAT chunk, and closed with the reply (so that no cleanup process
 * waits on a slow client between messages). The envelope goes first; the
 * content follows in writes of CLEANUP_CHUNK bytes as it is read from the
 * client in reads of up to SMTPD_CHUNK bytes. "250 Ok: queued as QID" is
 * sent only after cleanup_finish() reported the queue file safely on disk;
 * anything else leaves no message (cleanup removes what it wrote when the
 * message is aborted or the conversation breaks).
 *
 * Whatever happens, the whole content is read before the reply, so that the
 * reply belongs to the message and nothing of the message is taken for a
 * command: a message that is too big, has a line over the limit, or (with
 * smtpd_forbid_bare_newline = yes) a bare CR or LF is refused only after
 * its end. A BDAT chunk is read in full even when the command is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/cleanup_client.h"
#include "smtpd/smtpd.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/tls.h"

static enum cleanup_ret cleanup_ret(enum smtp_ret ret)
{
	return ret == SMTP_RET_FULL   ? CLEANUP_RET_FULL
	       : ret == SMTP_RET_HDRS ? CLEANUP_RET_HDRS
				      : CLEANUP_RET_NONE;
}

static void fill_envelope(struct smtpd_session *s, struct cleanup_envelope *env)
{
	const struct smtpd_txn *t = &s->txn;

	memset(env, 0, sizeof(*env));
	env->sender = t->sender;
	env->flags = (t->opts.smtputf8 ? CLEANUP_FLAG_SMTPUTF8 : 0) |
		     (t->opts.body == SMTP_BODY_8BITMIME ? CLEANUP_FLAG_8BITMIME : 0);
	env->envid = t->opts.envid;
	env->ret = cleanup_ret(t->opts.ret);
	env->size_hint = t->opts.size;
	env->client_name = s->name;
	env->client_addr = s->addr;
	env->client_port = s->port;
	env->helo = s->helo;
	env->protocol = smtpd_protocol(s);
	env->tls_info = s->tls_info;
	env->tls_cipher = s->tls != NULL ? tls_cipher(s->tls) : NULL;
	env->sasl_method = s->sasl_method;
	env->sasl_username = s->sasl_username;
}

/* conversation_failed - log, and forget the connection to cleanup. */
static void conversation_failed(struct smtpd_session *s, const char *what, char *error)
{
	msg_warn("%s: cleanup %s: %s", s->namaddr, what, error);
	free(error);
	s->txn.write_failed = 1;
}

/* cleanup_start - connect to cleanup and send the envelope; 0 or -1 (no reply). */
static int cleanup_start(struct smtpd_session *s)
{
	struct cleanup_envelope env;
	char *error = NULL;
	size_t i;

	if ((s->cleanup = cleanup_open(s->srv->queue_dir, s->srv->timeout_ms, &error)) == NULL) {
		msg_warn("%s: cleanup service unavailable: %s", s->namaddr, error);
		free(error);
		return -1;
	}
	fill_envelope(s, &env);
	if (cleanup_envelope(s->cleanup, &env, &error) < 0) {
		conversation_failed(s, "envelope", error);
		return -1;
	}
	for (i = 0; i < s->txn.rcpt_count; i++) {
		const struct smtpd_rcpt *r = &s->txn.rcpts[i];

		if (cleanup_rcpt(s->cleanup, r->address, r->orcpt, r->notify, &error) < 0) {
			conversation_failed(s, "recipient", error);
			return -1;
		}
	}
	return 0;
}

/* send_content - pass the buffered content to cleanup (all of it when all, else whole chunks). */
static void send_content(struct smtpd_session *s, int all)
{
	struct smtpd_txn *t = &s->txn;
	char *error = NULL;

	if (t->write_failed) {
		strbuf_reset(&t->out);
		return;
	}
	if (t->out.len == 0 || (!all && t->out.len < CLEANUP_CHUNK))
		return;
	if (cleanup_write(s->cleanup, t->out.data, t->out.len, &error) < 0)
		conversation_failed(s, "content", error);
	strbuf_reset(&t->out);
}

/* read_failed - the client went away or fell silent in the middle of content. */
static int read_failed(struct smtpd_session *s, enum stream_status st)
{
	stream_set_line_limit(s->conn.stream, SMTPD_AUTH_LINE_MAX);
	smtp_server_lost(&s->conn, st);
	if (st == STREAM_TIMEOUT)
		smtpd_reply(s, "421 4.4.2 %s Error: timeout exceeded", s->srv->hostname);
	s->done = 1;
	return -1;
}

/*
 * read_content - feed input to dec until it is done (DATA) or n bytes were
 * taken (BDAT; n is ignored for DATA). Content goes to cleanup while
 * to_cleanup is set and it stays within message_size_limit. 0, or -1 when
 * the session is over.
 */
static int read_content(struct smtpd_session *s, struct smtp_decoder *dec, unsigned long long n,
			int to_cleanup)
{
	struct smtpd_txn *t = &s->txn;
	enum stream_status st;
	const char *p;
	size_t len, used;

	/* a larger line limit lets the stream read SMTPD_CHUNK bytes at a time */
	stream_set_line_limit(s->conn.stream, SMTPD_CHUNK);
	while (dec->mode == SMTP_DECODE_DATA ? !dec->done : n > 0) {
		p = stream_peek(s->conn.stream, &len);
		if (len == 0) {
			if ((st = smtp_server_fill(&s->conn)) != STREAM_OK)
				return read_failed(s, st);
			continue;
		}
		if (dec->mode == SMTP_DECODE_BDAT && len > n)
			len = (size_t)n;
		to_cleanup &= dec->out_bytes <= (unsigned long long)s->srv->size_limit;
		used =
		    smtp_decoder_feed(dec, p, len, to_cleanup && !t->write_failed ? &t->out : NULL);
		stream_skip(s->conn.stream, used);
		n -= dec->mode == SMTP_DECODE_BDAT ? used : 0;
		send_content(s, 0);
	}
	stream_set_line_limit(s->conn.stream, SMTPD_AUTH_LINE_MAX);
	return 0;
}

/* log_queued - "QID: client=host[addr]", with the login, as Postfix log tools expect. */
static void log_queued(struct smtpd_session *s, const char *queue_id)
{
	if (s->sasl_username != NULL)
		msg_info("%s: client=%s, sasl_method=%s, sasl_username=%s", queue_id, s->namaddr,
			 s->sasl_method, s->sasl_username);
	else
		msg_info("%s: client=%s", queue_id, s->namaddr);
}

/* finish - the content is complete and acceptable: wait for cleanup's verdict. */
static void finish(struct smtpd_session *s)
{
	struct cleanup_result result;
	char *error = NULL;

	memset(&result, 0, sizeof(result));
	send_content(s, 1);
	if (s->txn.write_failed) {
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		return;
	}
	if (cleanup_finish(s->cleanup, &result, &error) < 0) {
		conversation_failed(s, "end of message", error);
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
	} else if (result.status == 0) {
		log_queued(s, result.queue_id);
		smtpd_reply(s, "250 2.0.0 Ok: queued as %s", result.queue_id);
	} else {
		if (result.status < 400 || result.status > 599 || result.dsn[0] < '4' ||
		    result.dsn[0] > '5')
			smtpd_reject(s, NULL, "451 4.3.0 Error: unexpected answer from cleanup");
		else
			smtpd_reject(s, NULL, "%d %s %s", result.status, result.dsn,
				     result.text != NULL ? result.text : "Error: message refused");
	}
	cleanup_result_free(&result);
}

/* verdict - after the whole content: refuse it, or let cleanup finish it. */
static void verdict(struct smtpd_session *s, const struct smtp_decoder *dec)
{
	const struct smtpd_server *srv = s->srv;

	if (s->txn.write_failed)
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
	else if (dec->out_bytes > (unsigned long long)srv->size_limit)
		smtpd_reject(s, NULL, "552 5.3.4 Error: message file too big");
	else if ((dec->seen & (SMTP_DECODE_BARE_LF | SMTP_DECODE_BARE_CR)) &&
		 srv->bare_newline == SMTPD_BARE_REJECT)
		smtpd_reject(s, NULL, "550 5.5.2 Error: bare <CR> or <LF> received");
	else if (dec->seen & SMTP_DECODE_LONG_LINE)
		smtpd_reject(s, NULL, "552 5.6.0 Error: message line longer than %zu bytes",
			     srv->line_limit);
	else
		finish(s);
}

void smtpd_cmd_data(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	struct smtp_decoder dec;

	if (s->txn.sender == NULL) {
		smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->txn.bdat) {
		smtpd_reply(s, "503 5.5.1 Error: DATA after BDAT");
		return;
	}
	if (s->txn.rcpt_count == 0) {
		smtpd_reply(s, "554 5.5.1 Error: no valid recipients");
		return;
	}
	if (cleanup_start(s) < 0) {
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		smtpd_txn_reset(s);
		return;
	}
	smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	smtp_decoder_init(&dec, SMTP_DECODE_DATA, s->srv->line_limit);
	if (read_content(s, &dec, 0, 1) == 0)
		verdict(s, &dec);
	smtpd_txn_reset(s);
}

/* bdat_refused - read and drop the chunk, then refuse it; the transaction is over. */
static void bdat_refused(struct smtpd_session *s, const struct smtp_cmd *cmd, const char *reply)
{
	struct smtp_decoder discard;

	smtp_decoder_init(&discard, SMTP_DECODE_BDAT, s->srv->line_limit);
	if (read_content(s, &discard, cmd->chunk, 0) < 0)
		return;
	if (strncmp(reply, "552", 3) == 0)
		smtpd_reject(s, NULL, "%s", reply);
	else
		smtpd_reply(s, "%s", reply);
	smtpd_txn_reset(s);
}

/* bdat_begin - the first chunk of a message; NULL, or why the chunk is refused. */
static const char *bdat_begin(struct smtpd_session *s)
{
	if (s->txn.sender == NULL)
		return "503 5.5.1 Error: need MAIL command";
	if (s->txn.rcpt_count == 0)
		return "554 5.5.1 Error: no valid recipients";
	if (cleanup_start(s) < 0)
		return "451 4.3.0 Error: queue file write error";
	s->txn.bdat = 1;
	smtp_decoder_init(&s->txn.bdat_dec, SMTP_DECODE_BDAT, s->srv->line_limit);
	return NULL;
}

void smtpd_cmd_bdat(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	struct smtp_decoder *dec = &s->txn.bdat_dec;
	const char *refusal = NULL;

	if (!s->txn.bdat)
		refusal = bdat_begin(s);
	if (refusal == NULL && cmd->chunk > (unsigned long long)s->srv->size_limit - dec->out_bytes)
		refusal = "552 5.3.4 Error: message file too big";
	if (refusal != NULL) {
		bdat_refused(s, cmd, refusal);
		return;
	}
	if (read_content(s, dec, cmd->chunk, 1) < 0)
		return;
	if (s->txn.write_failed) {
		smtpd_reply(s, "451 4.3.0 Error: queue file write error");
		smtpd_txn_reset(s);
	} else if (!cmd->last) {
		smtpd_reply(s, "250 2.0.0 Ok: %llu bytes", cmd->chunk);
	} else {
		verdict(s, dec);
		smtpd_txn_reset(s);
	}
}
