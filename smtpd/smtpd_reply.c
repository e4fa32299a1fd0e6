/*
 * smtpd_reply - replies to the client (mail/smtp_server_reply.c sends and
 * counts them) and the log line of a policy rejection in the shape that
 * Postfix log tools read:
 *
 *   NOQUEUE: reject: RCPT from host[addr]: 550 5.1.1 <u@d>: Recipient address
 *   rejected: User unknown; from=<s@x> to=<u@d> proto=ESMTP helo=<h>
 */
#include <stdlib.h>
#include <string.h>

#include "smtpd/smtpd.h"
#include "util/msg.h"

void smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_server_vreply(&s->conn, 1, fmt, ap);
	va_end(ap);
}

void smtpd_reject(struct smtpd_session *s, const char *rcpt, const char *fmt, ...)
{
	struct strbuf text = STRBUF_INIT, log = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vprintf(&text, fmt, ap);
	va_end(ap);
	smtp_server_clean(&text);
	strbuf_printf(&log, "NOQUEUE: reject: %s from %s: %s;", smtp_verb_name(s->conn.verb),
		      s->namaddr, text.data);
	if (s->txn.sender != NULL)
		strbuf_printf(&log, " from=<%s>", s->txn.sender);
	if (rcpt != NULL)
		strbuf_printf(&log, " to=<%s>", rcpt);
	strbuf_printf(&log, " proto=%s", s->esmtp ? "ESMTP" : "SMTP");
	if (s->helo != NULL)
		strbuf_printf(&log, " helo=<%s>", s->helo);
	msg_info("%s", log.data);
	smtpd_reply(s, "%s", text.data);
	strbuf_free(&text);
	strbuf_free(&log);
}
