/*
 * lmtp_data - DATA and BDAT (RFC 2033 section 4.2, RFC 3030): reading the
 * message content.
 *
 * The content is decoded as smtpd decodes it (mail/smtp_decode.h: only a
 * real CR LF . CR LF ends DATA, dot-unstuffing, bare CR and LF become
 * CR LF) and held by lmtp_content.h until every recipient has its copy.
 * Whatever happens, the whole content is read before the replies, so that
 * nothing of the message is taken for a command: a message over
 * message_size_limit is refused (552 5.3.4, once per recipient) only after
 * its end. Long lines are no reason to refuse a message at its final
 * destination.
 *
 * After the end of the data (DATA's final dot, BDAT LAST), every
 * recipient gets its own reply (RFC 2033 section 4.2); a refused BDAT
 * command, or a chunk that is not the last, gets one reply.
 */
#include <stdint.h>
#include <string.h>

#include "lmtp/lmtp.h"
#include "util/msg.h"

/* The decoder's line limit: lines of any length are delivered. */
#define LMTP_NO_LINE_LIMIT (SIZE_MAX / 4)

static void content_start(struct lmtp_session *s)
{
	struct lmtp_txn *t = &s->txn;
	const struct lmtp_server *srv = s->srv;

	if (t->has_content)
		return;
	lmtp_content_init(&t->content, srv->store_dir, (size_t)srv->memory_limit,
			  (uint64_t)srv->size_limit);
	t->has_content = 1;
}

/* read_failed - the client went away or fell silent in the middle of content. */
static int read_failed(struct lmtp_session *s, enum stream_status st)
{
	stream_set_line_limit(s->conn.stream, LMTP_CMD_LINE_MAX);
	smtp_server_lost(&s->conn, st);
	if (st == STREAM_TIMEOUT)
		lmtp_reply(s, "421 4.4.2 %s Error: timeout exceeded", s->srv->hostname);
	s->done = 1;
	return -1;
}

/*
 * read_content - feed input to dec until it is done (DATA) or n bytes were
 * taken (BDAT; n is ignored for DATA); the content goes to the
 * transaction's content when keep is set. 0, or -1 when the session is over.
 */
static int read_content(struct lmtp_session *s, struct smtp_decoder *dec, unsigned long long n,
			int keep)
{
	struct strbuf out = STRBUF_INIT;
	enum stream_status st;
	const char *p;
	size_t len, used;

	/* a larger line limit lets the stream read LMTP_CHUNK bytes at a time */
	stream_set_line_limit(s->conn.stream, LMTP_CHUNK);
	while (dec->mode == SMTP_DECODE_DATA ? !dec->done : n > 0) {
		p = stream_peek(s->conn.stream, &len);
		if (len == 0) {
			if ((st = smtp_server_fill(&s->conn)) != STREAM_OK) {
				strbuf_free(&out);
				return read_failed(s, st);
			}
			continue;
		}
		if (dec->mode == SMTP_DECODE_BDAT && len > n)
			len = (size_t)n;
		strbuf_reset(&out);
		used = smtp_decoder_feed(dec, p, len, keep ? &out : NULL);
		if (keep && out.len > 0)
			lmtp_content_write(&s->txn.content, out.data, out.len);
		stream_skip(s->conn.stream, used);
		n -= dec->mode == SMTP_DECODE_BDAT ? used : 0;
	}
	strbuf_free(&out);
	stream_set_line_limit(s->conn.stream, LMTP_CMD_LINE_MAX);
	return 0;
}

/* finish - the content is complete: refuse it or deliver it, one reply per recipient. */
static void finish(struct lmtp_session *s)
{
	lmtp_content_end(&s->txn.content);
	if (lmtp_content_too_big(&s->txn.content))
		lmtp_refuse_all(s, 552, "5.3.4", "Error: message file too big");
	else
		lmtp_deliver(s);
}

void lmtp_cmd_data(struct lmtp_session *s, struct smtp_cmd *cmd)
{
	struct smtp_decoder dec;

	(void)cmd;
	if (s->txn.sender == NULL) {
		lmtp_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->txn.bdat) {
		lmtp_reply(s, "503 5.5.1 Error: DATA after BDAT");
		return;
	}
	if (s->txn.rcpt_count == 0) {
		/* RFC 2033 section 4.2: no successful RCPT, no DATA */
		lmtp_reply(s, "503 5.5.1 Error: no valid recipients");
		return;
	}
	content_start(s);
	lmtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	smtp_decoder_init(&dec, SMTP_DECODE_DATA, LMTP_NO_LINE_LIMIT);
	if (read_content(s, &dec, 0, 1) == 0)
		finish(s);
	lmtp_txn_reset(s);
}

/* bdat_begin - the first chunk of a message; NULL, or why the chunk is refused. */
static const char *bdat_begin(struct lmtp_session *s)
{
	if (s->txn.sender == NULL)
		return "503 5.5.1 Error: need MAIL command";
	if (s->txn.rcpt_count == 0)
		return "503 5.5.1 Error: no valid recipients";
	s->txn.bdat = 1;
	smtp_decoder_init(&s->txn.bdat_dec, SMTP_DECODE_BDAT, LMTP_NO_LINE_LIMIT);
	content_start(s);
	return NULL;
}

void lmtp_cmd_bdat(struct lmtp_session *s, struct smtp_cmd *cmd)
{
	const char *refusal = NULL;

	if (!s->txn.bdat)
		refusal = bdat_begin(s);
	if (refusal != NULL) {
		struct smtp_decoder discard;

		smtp_decoder_init(&discard, SMTP_DECODE_BDAT, LMTP_NO_LINE_LIMIT);
		if (read_content(s, &discard, cmd->chunk, 0) == 0)
			lmtp_reply(s, "%s", refusal);
		return;
	}
	if (read_content(s, &s->txn.bdat_dec, cmd->chunk, 1) < 0)
		return;
	if (cmd->last) {
		finish(s);
		lmtp_txn_reset(s);
	} else if (lmtp_content_too_big(&s->txn.content)) {
		/* the transaction goes on (its LAST gets one reply per recipient) */
		lmtp_reply_outcome(s, "552 5.3.4 Error: message file too big");
	} else {
		lmtp_reply(s, "250 2.0.0 Ok: %llu bytes", cmd->chunk);
	}
}
