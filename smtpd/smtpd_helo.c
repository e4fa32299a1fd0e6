/*
 * smtpd_helo - the commands that do not move mail: HELO and EHLO (with the
 * list of extensions), NOOP, RSET, QUIT, HELP, VRFY (off unless
 * smtpd_vrfy_enable) and EXPN (not implemented: it would reveal lists).
 */
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "smtpd/smtpd.h"
#include "util/mymalloc.h"

unsigned smtpd_extensions(struct smtpd_session *s)
{
	unsigned ext = 0;

	if (s->esmtp)
		ext |= SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 | SMTP_EXT_DSN;
	if (s->esmtp && s->srv->sasl_enable)
		ext |= SMTP_EXT_AUTH;
	return ext;
}

static void set_helo(struct smtpd_session *s, const struct smtp_cmd *cmd, int esmtp)
{
	smtpd_txn_reset(s);
	free(s->helo);
	s->helo = xstrdup(cmd->arg);
	s->esmtp = esmtp;
}

void smtpd_cmd_helo(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	set_helo(s, cmd, 0);
	smtpd_reply(s, "250 %s", s->srv->hostname);
}

void smtpd_cmd_ehlo(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	char *lines[16];
	size_t n = 0, i;
	const char *mechs;

	set_helo(s, cmd, 1);
	lines[n++] = xstrdup(s->srv->hostname);
	lines[n++] = xstrdup("PIPELINING");
	lines[n++] = xasprintf("SIZE %lld", s->srv->size_limit);
	if (s->srv->vrfy_enable)
		lines[n++] = xstrdup("VRFY");
	if (smtpd_tls_offer(s))
		lines[n++] = xstrdup("STARTTLS");
	mechs = smtpd_sasl_mechanisms(s);
	if (mechs[0] != '\0')
		lines[n++] = xasprintf("AUTH %s", mechs);
	lines[n++] = xstrdup("ENHANCEDSTATUSCODES");
	lines[n++] = xstrdup("8BITMIME");
	lines[n++] = xstrdup("DSN");
	lines[n++] = xstrdup("SMTPUTF8");
	lines[n++] = xstrdup("CHUNKING");
	smtp_server_reply_lines(&s->conn, 250, lines, n);
	for (i = 0; i < n; i++)
		free(lines[i]);
}

void smtpd_cmd_noop(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	smtpd_reply(s, "250 2.0.0 Ok");
}

void smtpd_cmd_rset(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	smtpd_txn_reset(s);
	smtpd_reply(s, "250 2.0.0 Ok");
}

void smtpd_cmd_quit(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	smtpd_reply(s, "221 2.0.0 Bye");
	s->done = 1;
}

void smtpd_cmd_help(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	smtpd_reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP "
		       "VRFY STARTTLS AUTH; see RFC 5321");
}

void smtpd_cmd_vrfy(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	struct address addr;
	char *error = NULL, *text;

	if (!s->srv->vrfy_enable) {
		smtpd_reply(s, "502 5.5.1 VRFY command is disabled");
		return;
	}
	if (address_parse(cmd->arg, strlen(cmd->arg), ADDRESS_UTF8, &addr, &error) < 0) {
		smtpd_reply(s, "501 5.1.3 Bad recipient address syntax");
		free(error);
		address_free(&addr);
		return;
	}
	text = address_format(&addr);
	smtpd_check_vrfy(s, text, addr.domain);
	free(text);
	address_free(&addr);
}

void smtpd_cmd_expn(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	smtpd_reply(s, "502 5.5.1 Error: command not implemented");
}
