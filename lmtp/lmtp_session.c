/*
 * lmtp_session - one client connection: the greeting, the command loop
 * with its limits (errors, idle timeout, line length), the dispatch to the
 * command handlers, and the disconnect line in the shape of smtpd's:
 *
 *   SESSION: disconnect from local lhlo=1 mail=1 rcpt=2 data=1 quit=1 commands=6
 *
 * Each session gets an ID of the queue ID's form, the first word of its log
 * lines and of the delivery lines of messages that carry no queue ID of
 * their own.
 */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lmtp/lmtp.h"
#include "util/msg.h"
#include "util/mymalloc.h"

typedef void lmtp_handler(struct lmtp_session *s, struct smtp_cmd *cmd);

static lmtp_handler *const handlers[SMTP_CMD_COUNT] = {
    [SMTP_CMD_LHLO] = lmtp_cmd_lhlo,	 [SMTP_CMD_HELO] = lmtp_cmd_helo,
    [SMTP_CMD_EHLO] = lmtp_cmd_helo,	 [SMTP_CMD_MAIL] = lmtp_cmd_mail,
    [SMTP_CMD_RCPT] = lmtp_cmd_rcpt,	 [SMTP_CMD_DATA] = lmtp_cmd_data,
    [SMTP_CMD_BDAT] = lmtp_cmd_bdat,	 [SMTP_CMD_RSET] = lmtp_cmd_rset,
    [SMTP_CMD_NOOP] = lmtp_cmd_noop,	 [SMTP_CMD_QUIT] = lmtp_cmd_quit,
    [SMTP_CMD_HELP] = lmtp_cmd_help,	 [SMTP_CMD_VRFY] = lmtp_cmd_vrfy,
    [SMTP_CMD_EXPN] = lmtp_cmd_not_here, [SMTP_CMD_STARTTLS] = lmtp_cmd_not_here,
    [SMTP_CMD_AUTH] = lmtp_cmd_not_here,
};

/* The order of the disconnect line's counters. */
static const struct smtp_server_stat stat_order[] = {
    {"lhlo", SMTP_CMD_LHLO},	     {"helo", SMTP_CMD_HELO}, {"ehlo", SMTP_CMD_EHLO},
    {"starttls", SMTP_CMD_STARTTLS}, {"auth", SMTP_CMD_AUTH}, {"mail", SMTP_CMD_MAIL},
    {"rcpt", SMTP_CMD_RCPT},	     {"data", SMTP_CMD_DATA}, {"bdat", SMTP_CMD_BDAT},
    {"rset", SMTP_CMD_RSET},	     {"noop", SMTP_CMD_NOOP}, {"vrfy", SMTP_CMD_VRFY},
    {"expn", SMTP_CMD_EXPN},	     {"help", SMTP_CMD_HELP}, {"quit", SMTP_CMD_QUIT},
    {"unknown", SMTP_CMD_UNKNOWN},
};

void lmtp_txn_reset(struct lmtp_session *s)
{
	struct lmtp_txn *t = &s->txn;
	size_t i;

	for (i = 0; i < t->rcpt_count; i++) {
		free(t->rcpts[i].address);
		free(t->rcpts[i].accounts);
	}
	XFREE(t->rcpts);
	t->rcpt_count = t->rcpt_alloc = 0;
	for (i = 0; i < t->account_count; i++) {
		struct lmtp_account *a = &t->accounts[i];

		free(a->address);
		free(a->store_path);
		free(a->detail);
		free(a->dsn);
		free(a->text);
		free(a->status);
	}
	XFREE(t->accounts);
	t->account_count = t->account_alloc = 0;
	XFREE(t->sender);
	smtp_mail_opts_free(&t->opts);
	memset(&t->opts, 0, sizeof(t->opts));
	t->bdat = 0;
	if (t->has_content)
		lmtp_content_free(&t->content);
	t->has_content = 0;
}

/* peer_init - who is at the other end, for the logs. */
static void peer_init(struct lmtp_session *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	memset(&ss, 0, sizeof(ss));
	if (getpeername(s->conn.fd, (struct sockaddr *)&ss, &len) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		s->peer = xstrdup("local");
		return;
	}
	s->peer = xasprintf("[%s]:%s", host, port);
}

/* make_id - a session ID of the queue ID's form, unique across processes. */
static void make_id(struct lmtp_session *s)
{
	struct timespec ts;
	long long usec = 0;

	if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
		usec = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	queue_id_make(s->id, usec,
		      ((unsigned long long)getpid() << 20) ^ (s->srv->serial & 0xfffff));
}

/* forbidden - an HTTP or proxy request: hang up at once, before it says more. */
static void forbidden(struct lmtp_session *s, const struct strbuf *line)
{
	char *text = smtp_server_printable(line);

	msg_warn("%s: non-LMTP command from %s: %s", s->id, s->peer, text);
	free(text);
	lmtp_reply(s, "221 2.7.0 Error: I can break rules, too. Goodbye.");
	s->done = 1;
}

static void handle_line(struct lmtp_session *s)
{
	struct smtp_cmd cmd;
	struct smtp_cmd_error err;
	int rc;

	if (msg_verbose()) {
		char *text = smtp_server_printable(&s->line);

		msg_debug("< %s: %s", s->peer, text);
		free(text);
	}
	rc = smtp_cmd_parse(strbuf_str(&s->line), s->line.len, &cmd, &err);
	s->conn.verb = cmd.verb == SMTP_CMD_FORBIDDEN ? SMTP_CMD_UNKNOWN : cmd.verb;
	s->conn.stat_total[s->conn.verb]++;
	if (cmd.verb == SMTP_CMD_FORBIDDEN) {
		forbidden(s, &s->line);
	} else if (rc < 0) {
		lmtp_reply(s, "%d %s %s", err.code, err.dsn, err.text);
		/* without a valid size, the chunk that follows cannot be told from commands */
		if (cmd.verb == SMTP_CMD_BDAT) {
			msg_info("%s: bad BDAT command syntax from %s: ending the session", s->id,
				 s->peer);
			s->done = 1;
		}
	} else if (handlers[cmd.verb] == NULL) {
		lmtp_reply(s, "500 5.5.2 Error: command not recognized");
	} else {
		handlers[cmd.verb](s, &cmd);
	}
	if (s->conn.last_code < 400)
		s->conn.stat_ok[s->conn.verb]++;
	smtp_cmd_free(&cmd);
}

void lmtp_session_serve(struct lmtp_server *srv, int fd)
{
	struct lmtp_session *s = xcalloc(1, sizeof(*s));

	srv->serial++;
	s->srv = srv;
	s->conn.fd = fd;
	s->conn.stream = stream_create(fd);
	/* a longer line is dropped to its end and refused, so that its tail is no command */
	stream_set_line_limit(s->conn.stream, LMTP_CMD_LINE_MAX);
	s->conn.timeout_ms = srv->timeout_ms;
	s->conn.soft_error_limit = srv->soft_error_limit;
	s->conn.error_sleep_ms = srv->error_sleep_ms;
	s->conn.verb = SMTP_CMD_UNKNOWN;
	peer_init(s);
	make_id(s);
	s->conn.peer = s->peer;
	s->conn.id = s->id;
	msg_info("%s: connect from %s", s->id, s->peer);
	lmtp_reply(s, "220 %s LMTP Tern", srv->hostname);
	while (!s->done &&
	       smtp_server_next_line(&s->conn, &s->line, srv->hard_error_limit, srv->hostname) == 0)
		handle_line(s);
	lmtp_txn_reset(s);
	smtp_server_log_disconnect(&s->conn, stat_order,
				   sizeof(stat_order) / sizeof(stat_order[0]));
	smtp_server_close(&s->conn, NULL, NULL);
	free(s->peer);
	free(s->helo);
	strbuf_free(&s->line);
	free(s);
}
