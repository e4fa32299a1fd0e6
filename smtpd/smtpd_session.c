/*
 * smtpd_session - one client connection: the connect checks and greeting,
 * the command loop with its limits (errors, junk commands, idle timeout,
 * line length), the dispatch to the command handlers, and the disconnect
 * line that Postfix log tools read:
 *
 *   disconnect from host[addr] ehlo=1 mail=1 rcpt=0/1 data=0/1 quit=1 commands=3/5
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "mail/cleanup_client.h"
#include "mail/daemon.h"
#include "smtpd/smtpd.h"
#include "util/msg.h"
#include "util/mymalloc.h"

typedef void smtpd_handler(struct smtpd_session *s, struct smtp_cmd *cmd);

struct handler_def {
	smtpd_handler *fn;
	int before_tls; /* allowed before STARTTLS when TLS is required */
	int junk;	/* counts against smtpd_junk_command_limit */
};

static const struct handler_def handlers[SMTP_CMD_COUNT] = {
    [SMTP_CMD_HELO] = {smtpd_cmd_helo, 1, 0},	      [SMTP_CMD_EHLO] = {smtpd_cmd_ehlo, 1, 0},
    [SMTP_CMD_MAIL] = {smtpd_cmd_mail, 0, 0},	      [SMTP_CMD_RCPT] = {smtpd_cmd_rcpt, 0, 0},
    [SMTP_CMD_DATA] = {smtpd_cmd_data, 0, 0},	      [SMTP_CMD_BDAT] = {smtpd_cmd_bdat, 0, 0},
    [SMTP_CMD_RSET] = {smtpd_cmd_rset, 1, 1},	      [SMTP_CMD_NOOP] = {smtpd_cmd_noop, 1, 1},
    [SMTP_CMD_QUIT] = {smtpd_cmd_quit, 1, 0},	      [SMTP_CMD_HELP] = {smtpd_cmd_help, 1, 1},
    [SMTP_CMD_VRFY] = {smtpd_cmd_vrfy, 0, 1},	      [SMTP_CMD_EXPN] = {smtpd_cmd_expn, 0, 1},
    [SMTP_CMD_STARTTLS] = {smtpd_cmd_starttls, 1, 0}, [SMTP_CMD_AUTH] = {smtpd_cmd_auth, 0, 0},
};

/* The order of the disconnect line's counters, as Postfix writes them. */
static const struct smtp_server_stat stat_order[] = {
    {"helo", SMTP_CMD_HELO}, {"ehlo", SMTP_CMD_EHLO}, {"starttls", SMTP_CMD_STARTTLS},
    {"auth", SMTP_CMD_AUTH}, {"mail", SMTP_CMD_MAIL}, {"rcpt", SMTP_CMD_RCPT},
    {"data", SMTP_CMD_DATA}, {"bdat", SMTP_CMD_BDAT}, {"rset", SMTP_CMD_RSET},
    {"noop", SMTP_CMD_NOOP}, {"vrfy", SMTP_CMD_VRFY}, {"expn", SMTP_CMD_EXPN},
    {"help", SMTP_CMD_HELP}, {"quit", SMTP_CMD_QUIT}, {"unknown", SMTP_CMD_UNKNOWN},
};

const char *smtpd_protocol(const struct smtpd_session *s)
{
	static const char *const names[2][4] = {
	    {"ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA"},
	    {"UTF8SMTP", "UTF8SMTPS", "UTF8SMTPA", "UTF8SMTPSA"},
	};
	int tls = s->tls != NULL, auth = s->sasl_username != NULL;

	if (!s->esmtp && !tls && !auth)
		return "SMTP";
	return names[s->txn.opts.smtputf8 ? 1 : 0][tls + 2 * auth];
}

void smtpd_txn_reset(struct smtpd_session *s)
{
	struct smtpd_txn *t = &s->txn;
	size_t i;

	for (i = 0; i < t->rcpt_count; i++) {
		free(t->rcpts[i].address);
		free(t->rcpts[i].orcpt);
	}
	XFREE(t->rcpts);
	t->rcpt_count = t->rcpt_alloc = 0;
	XFREE(t->sender);
	smtp_mail_opts_free(&t->opts);
	memset(&t->opts, 0, sizeof(t->opts));
	/* one connection to cleanup per message: none is held while the client dawdles */
	cleanup_close(&s->cleanup);
	t->write_failed = 0;
	t->bdat = 0;
	strbuf_free(&t->out);
}

void smtpd_session_reset(struct smtpd_session *s)
{
	smtpd_txn_reset(s);
	XFREE(s->helo);
	s->esmtp = 0;
	XFREE(s->sasl_method);
	XFREE(s->sasl_username);
	XFREE(s->sasl_authzid);
	XFREE(s->mechanisms);
}

/*
 * pregreet - a client that talks before the greeting is no well-behaved
 * mail client (RFC 5321 section 3.1: the client waits for it). Waits up to
 * smtpd_greet_pause for such input. 0: go on; -1: the session is over.
 */
static int pregreet(struct smtpd_session *s)
{
	struct pollfd pfd = {.fd = s->conn.fd, .events = POLLIN};
	long long pause = s->srv->greet_pause_ms;
	int n, pending = 0;

	do {
		n = poll(&pfd, 1, pause > 600000 ? 600000 : (int)pause);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	if (ioctl(s->conn.fd, FIONREAD, &pending) < 0 || pending == 0) {
		msg_info("lost connection after CONNECT from %s", s->namaddr);
		return -1;
	}
	msg_info("NOQUEUE: reject: CONNECT from %s: 554 5.5.1 Error: talked before the "
		 "greeting; %d bytes",
		 s->namaddr, pending);
	smtpd_reply(s, "554 5.5.1 %s Error: talked before the greeting", s->srv->hostname);
	return -1;
}

static int greet(struct smtpd_session *s)
{
	if (s->srv->wrappermode) {
		if (smtpd_tls_start(s) < 0)
			return -1;
	} else if (!daemon_standalone(s->srv->dctx) && pregreet(s) < 0) {
		/* (stand-alone, with -S, the input is a script written in advance) */
		return -1;
	}
	smtpd_reply(s, "220 %s", s->srv->banner);
	return 0;
}

/* forbidden - an HTTP or proxy request: hang up at once, before it says more. */
static void forbidden(struct smtpd_session *s, const struct strbuf *line)
{
	char *text = smtp_server_printable(line);

	msg_warn("non-SMTP command from %s: %s", s->namaddr, text);
	free(text);
	smtpd_reply(s, "221 2.7.0 Error: I can break rules, too. Goodbye.");
	s->done = 1;
}

/* dispatch - a parsed command: check that it is allowed now, then run it. */
static void dispatch(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	const struct handler_def *h = &handlers[cmd->verb];

	if (h->junk && ++s->junk > s->srv->junk_limit)
		s->conn.errors++;
	if (s->srv->tls_level == SMTPD_TLS_ENCRYPT && s->tls == NULL && !h->before_tls) {
		smtpd_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	h->fn(s, cmd);
}

static void handle_line(struct smtpd_session *s)
{
	struct smtp_cmd cmd;
	struct smtp_cmd_error err;
	int rc;

	if (msg_verbose()) {
		char *text = smtp_server_printable(&s->line);

		msg_debug("< %s: %s", s->namaddr, text);
		free(text);
	}
	rc = smtp_cmd_parse(strbuf_str(&s->line), s->line.len, &cmd, &err);
	/* a verb without a handler is unknown here: LHLO belongs to LMTP */
	s->conn.verb = handlers[cmd.verb].fn == NULL ? SMTP_CMD_UNKNOWN : cmd.verb;
	s->conn.stat_total[s->conn.verb]++;
	if (cmd.verb != SMTP_CMD_AUTH && s->line.len > SMTPD_CMD_LINE_MAX) {
		smtpd_reply(s, "500 5.5.2 Error: line too long");
	} else if (cmd.verb == SMTP_CMD_FORBIDDEN) {
		forbidden(s, &s->line);
	} else if (cmd.verb != SMTP_CMD_UNKNOWN && s->conn.verb == SMTP_CMD_UNKNOWN) {
		smtpd_reply(s, "500 5.5.2 Error: command not recognized");
	} else if (rc < 0) {
		smtpd_reply(s, "%d %s %s", err.code, err.dsn, err.text);
		/* without a valid size, the chunk that follows cannot be told from commands */
		if (cmd.verb == SMTP_CMD_BDAT) {
			msg_info("bad BDAT command syntax from %s: ending the session", s->namaddr);
			s->done = 1;
		}
	} else {
		dispatch(s, &cmd);
	}
	if (s->conn.last_code < 400)
		s->conn.stat_ok[s->conn.verb]++;
	smtp_cmd_free(&cmd);
}

static void session_free(struct smtpd_session *s)
{
	smtpd_session_reset(s);
	free(s->tls_info);
	free(s->addr);
	free(s->port);
	free(s->name);
	free(s->namaddr);
	strbuf_free(&s->line);
	free(s);
}

void smtpd_session_serve(struct smtpd_server *srv, int fd)
{
	struct smtpd_session *s = xcalloc(1, sizeof(*s));

	s->srv = srv;
	s->conn.fd = fd;
	s->conn.stream = stream_create(fd);
	stream_set_line_limit(s->conn.stream, SMTPD_AUTH_LINE_MAX);
	s->conn.timeout_ms = srv->timeout_ms;
	s->conn.soft_error_limit = srv->soft_error_limit;
	s->conn.error_sleep_ms = srv->error_sleep_ms;
	s->conn.verb = SMTP_CMD_UNKNOWN;
	smtpd_peer_init(s);
	s->conn.peer = s->namaddr;
	msg_info("connect from %s", s->namaddr);
	if (smtpd_peer_limits(s) == 0 && greet(s) == 0) {
		while (!s->done && smtp_server_next_line(&s->conn, &s->line, srv->hard_error_limit,
							 srv->hostname) == 0)
			handle_line(s);
	}
	smtpd_txn_reset(s);
	smtp_server_log_disconnect(&s->conn, stat_order,
				   sizeof(stat_order) / sizeof(stat_order[0]));
	smtpd_peer_done(s);
	smtpd_close(s);
	session_free(s);
	daemon_session_done(srv->dctx);
}
