/*
 * lmtp_reply - replies to the client (mail/smtp_server_reply.c sends and
 * counts them). Only protocol errors count (bad syntax, commands out of
 * order, unknown commands): a refused or deferred recipient says nothing
 * bad of an MTA that passes it on.
 */
#include "lmtp/lmtp.h"

void lmtp_reply(struct lmtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_server_vreply(&s->conn, 1, fmt, ap);
	va_end(ap);
}

void lmtp_reply_outcome(struct lmtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_server_vreply(&s->conn, 0, fmt, ap);
	va_end(ap);
}
