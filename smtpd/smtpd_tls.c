/*
 * smtpd_tls - STARTTLS (RFC 3207) and implicit TLS (RFC 8314, the
 * submissions service with smtpd_tls_wrappermode).
 *
 * After "220 2.0.0 Ready to start TLS" anything the client sent along with
 * STARTTLS is thrown away unread: commands pipelined in plaintext must not
 * be taken as if they had come through TLS (the command injection of
 * CVE-2011-0411). Then everything learnt from the client before TLS is
 * forgotten (HELO, the transaction, authentication), as RFC 3207 section
 * 4.2 requires; the client starts again with EHLO.
 *
 * The close of the connection is here too, since TLS has to end first.
 */
#include <stdlib.h>

#include "smtpd/smtpd.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/tls.h"

static const struct stream_io tls_stream_io = {
    .read = tls_io_read,
    .write = tls_io_write,
    .wants = tls_io_wants,
};

int smtpd_tls_offer(const struct smtpd_session *s)
{
	return s->srv->tls != NULL && s->tls == NULL && !s->srv->wrappermode;
}

int smtpd_tls_start(struct smtpd_session *s)
{
	char *error = NULL;
	enum tls_status st;

	if ((s->tls = tls_session_server(s->srv->tls, s->conn.fd, &error)) == NULL) {
		msg_warn("TLS session for %s: %s", s->namaddr, error);
		free(error);
		return -1;
	}
	stream_set_io(s->conn.stream, &tls_stream_io, s->tls);
	while ((st = tls_handshake(s->tls, &error)) == TLS_AGAIN) {
		enum stream_status ws = smtp_server_wait(&s->conn, tls_io_wants(s->tls));

		if (ws != STREAM_OK) {
			msg_info("%s during TLS handshake with %s",
				 ws == STREAM_TIMEOUT ? "timeout" : "error", s->namaddr);
			goto fail;
		}
	}
	if (st == TLS_ERROR) {
		msg_info("TLS handshake failed with %s: %s", s->namaddr, error);
		free(error);
		goto fail;
	}
	s->tls_info = tls_summary(s->tls);
	msg_info("%s TLS connection established from %s: %s",
		 tls_peer_verified(s->tls) ? "Trusted" : "Anonymous", s->namaddr, s->tls_info);
	XFREE(s->mechanisms);
	return 0;
fail:
	stream_set_io(s->conn.stream, NULL, NULL);
	tls_session_free(&s->tls);
	return -1;
}

void smtpd_cmd_starttls(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	size_t pending;

	if (s->tls != NULL) {
		smtpd_reply(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if (s->srv->tls == NULL) {
		smtpd_reply(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (s->txn.sender != NULL) {
		smtpd_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	smtpd_reply(s, "220 2.0.0 Ready to start TLS");
	if (smtp_server_flush(&s->conn) != STREAM_OK) {
		msg_info("lost connection after STARTTLS from %s", s->namaddr);
		s->done = 1;
		return;
	}
	if ((pending = stream_pending_input(s->conn.stream)) > 0) {
		msg_warn("%s: %zu bytes of plaintext input after STARTTLS discarded", s->namaddr,
			 pending);
		stream_skip(s->conn.stream, pending);
	}
	smtpd_session_reset(s);
	if (smtpd_tls_start(s) < 0) {
		s->done = 1;
		stream_set_io(s->conn.stream, NULL, NULL);
	}
}

/*
 * end_tls - the connection closes: send close_notify (without waiting for
 * the client's) while the stream is healthy, and drop the TLS session.
 */
static void end_tls(void *ctx, int healthy)
{
	struct smtpd_session *s = ctx;
	char *error = NULL;
	int tries;

	for (tries = 0; healthy && tries < 3; tries++) {
		enum tls_status st = tls_shutdown(s->tls, &error);

		if (st != TLS_AGAIN)
			break;
		if (smtp_server_wait_until(&s->conn, tls_io_wants(s->tls),
					   smtp_server_now_ms() + SMTP_SERVER_LINGER_MS) !=
		    STREAM_OK)
			break;
	}
	free(error);
	stream_set_io(s->conn.stream, NULL, NULL);
	tls_session_free(&s->tls);
}

void smtpd_close(struct smtpd_session *s)
{
	smtp_server_close(&s->conn, s->tls != NULL ? end_tls : NULL, s);
}
