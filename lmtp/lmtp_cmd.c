/*
 * lmtp_cmd - the commands that do not move mail: LHLO with the list of
 * extensions (RFC 2033 section 4.1), HELO and EHLO (refused: LMTP greets
 * with LHLO), NOOP, RSET, QUIT, HELP, VRFY (252: no probing of accounts)
 * and what LMTP does not offer here: EXPN, STARTTLS and AUTH (lmtp belongs
 * on a unix socket or on loopback).
 */
#include <stdlib.h>

#include "lmtp/lmtp.h"
#include "util/mymalloc.h"

void lmtp_cmd_lhlo(struct lmtp_session *s, struct smtp_cmd *cmd)
{
	char *lines[8];
	size_t n = 0, i;

	lmtp_txn_reset(s);
	free(s->helo);
	s->helo = xstrdup(cmd->arg);
	lines[n++] = xstrdup(s->srv->hostname);
	lines[n++] = xstrdup("PIPELINING");
	lines[n++] = xasprintf("SIZE %lld", s->srv->size_limit);
	lines[n++] = xstrdup("ENHANCEDSTATUSCODES");
	lines[n++] = xstrdup("8BITMIME");
	lines[n++] = xstrdup("SMTPUTF8");
	lines[n++] = xstrdup("CHUNKING");
	smtp_server_reply_lines(&s->conn, 250, lines, n);
	for (i = 0; i < n; i++)
		free(lines[i]);
}

void lmtp_cmd_helo(struct lmtp_session *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	lmtp_reply(s, "500 5.5.1 Error: this is LMTP (RFC 2033): send LHLO");
}

void lmtp_cmd_noop(struct lmtp_session *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	lmtp_reply(s, "250 2.0.0 Ok");
}

void lmtp_cmd_rset(struct lmtp_session *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	lmtp_txn_reset(s);
	lmtp_reply(s, "250 2.0.0 Ok");
}

void lmtp_cmd_quit(struct lmtp_session *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	lmtp_reply(s, "221 2.0.0 Bye");
	s->done = 1;
}

void lmtp_cmd_help(struct lmtp_session *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	lmtp_reply(s, "214 2.0.0 Commands: LHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY; "
		      "see RFC 2033");
}

void lmtp_cmd_vrfy(struct lmtp_session *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	lmtp_reply(s, "252 2.0.0 Cannot verify the address; send mail to find out");
}

void lmtp_cmd_not_here(struct lmtp_session *s, struct smtp_cmd *cmd)
{
	lmtp_reply(s, "502 5.5.1 Error: %s is not implemented", smtp_verb_name(cmd->verb));
}
