/*
 * smtp_session - one connection of the smtp agent to a server: connect
 * (TCP with a timeout, or a UNIX-domain socket for LMTP), the greeting,
 * EHLO/HELO or LHLO, STARTTLS by the TLS level, AUTH, commands and
 * replies with timeouts, QUIT; and the cache of idle connections kept for
 * the next delivery to the same next hop.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "smtp/smtp.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/sock.h"
#include "util/stream.h"
#include "util/tls.h"

#define SMTP_CACHE_MAX 8       /* idle sessions kept at once */
#define SMTP_QUIT_MAX_MS 10000 /* the longest wait for the reply to QUIT */

static const struct stream_io tls_stream_io = {
    .read = tls_io_read,
    .write = tls_io_write,
    .wants = tls_io_wants,
};

long long smtp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double smtp_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* soft - the dsn with its class made 4 (a 5xx that only makes the agent try elsewhere). */
static const char *soft(const char *dsn, char buf[16])
{
	snprintf(buf, 16, "%s", dsn);
	buf[0] = '4';
	return buf;
}

/* tcp_connect - a connected socket to d within timeout_ms, or -1 with *error_r. */
static int tcp_connect(const struct smtp_dest *d, int timeout_ms, char **error_r)
{
	int fd, err = 0;
	socklen_t len = sizeof(err);
	struct pollfd pfd;

	fd = socket(d->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = xstrdup(strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&d->sa, d->salen) == 0)
		return fd;
	if (errno == EINPROGRESS) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		int n;
		do
			n = poll(&pfd, 1, timeout_ms);
		while (n < 0 && errno == EINTR);
		if (n == 0)
			err = ETIMEDOUT;
		else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == 0)
			return fd;
		errno = err;
	}
	*error_r = xstrdup(errno == ETIMEDOUT ? "Connection timed out" : strerror(errno));
	close(fd);
	return -1;
}

void smtp_command(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	stream_vprintf(s->stream, fmt, ap);
	va_end(ap);
	stream_puts(s->stream, "\r\n");
}

/* io_failure - a lost connection or a timeout while what. */
static void io_failure(struct smtp_session *s, enum stream_status st, const char *what,
		       struct smtp_failure *fail)
{
	s->broken = true;
	if (st == STREAM_TIMEOUT)
		smtp_failure_set(fail, 4, "4.4.2", "conversation with %s timed out while %s",
				 s->relay, what);
	else if (st == STREAM_ERROR && stream_errno(s->stream) != 0)
		smtp_failure_set(fail, 4, "4.4.2", "lost connection with %s while %s: %s", s->relay,
				 what, strerror(stream_errno(s->stream)));
	else
		smtp_failure_set(fail, 4, "4.4.2", "lost connection with %s while %s", s->relay,
				 what);
}

int smtp_flush(struct smtp_session *s, int timeout_ms, const char *what, struct smtp_failure *fail)
{
	enum stream_status st;

	stream_set_timeout(s->stream, timeout_ms);
	if ((st = stream_flush(s->stream)) == STREAM_OK)
		return 0;
	io_failure(s, st, what, fail);
	return -1;
}

int smtp_read_reply(struct smtp_session *s, int timeout_ms, struct smtp_reply *r, const char *what,
		    struct smtp_failure *fail)
{
	long long deadline = smtp_now_ms() + timeout_ms, left;
	struct strbuf line = STRBUF_INIT;
	enum stream_status st;
	char *err = NULL;
	int ret = -1, fed;

	smtp_reply_reset(r);
	do {
		left = deadline - smtp_now_ms();
		stream_set_timeout(s->stream, left > 0 ? (int)left : 1);
		st = stream_read_line(s->stream, &line);
		if (st == STREAM_TOO_LONG) {
			s->broken = true;
			smtp_failure_set(fail, 4, "4.5.0", "reply line from %s too long while %s",
					 s->relay, what);
			goto out;
		}
		if (st != STREAM_OK) {
			io_failure(s, st == STREAM_PARTIAL ? STREAM_EOF : st, what, fail);
			goto out;
		}
		if ((fed = smtp_reply_feed(r, line.data, line.len, &err)) < 0) {
			s->broken = true;
			smtp_failure_set(fail, 4, "4.5.0", "%s from %s while %s: %.100s", err,
					 s->relay, what, strbuf_str(&line));
			free(err);
			goto out;
		}
	} while (fed == 0);
	ret = 0;
out:
	strbuf_free(&line);
	return ret;
}

/* remote_failure - the server's reply r to cmd as a failure: class 4 or 5 as replied, or forced soft. */
static void remote_failure(struct smtp_failure *fail, const struct smtp_reply *r, const char *cmd,
			   bool force_soft)
{
	char buf[16];
	const char *dsn = smtp_reply_dsn(r, r->code >= 500 ? "5.0.0" : "4.0.0");
	bool perm = r->code >= 500 && !force_soft;

	smtp_failure_set(fail, perm ? 5 : 4, perm ? dsn : soft(dsn, buf), "%s",
			 strbuf_str(&r->text));
	fail->cmd = cmd ? xstrdup(cmd) : NULL;
	fail->remote = true;
}

/* hello - EHLO (HELO when refused) or LHLO; the keywords into s->ehlo. */
static int hello(struct smtp_agent *a, struct smtp_session *s, struct smtp_reply *r,
		 struct smtp_failure *fail)
{
	const char *verb = a->lmtp ? "LHLO" : "EHLO";

	smtp_command(s, "%s %s", verb, a->helo_name);
	if (smtp_flush(s, a->helo_ms, a->lmtp ? "sending LHLO" : "sending EHLO", fail) < 0 ||
	    smtp_read_reply(s, a->helo_ms, r,
			    a->lmtp ? "receiving the LHLO reply" : "receiving the EHLO reply",
			    fail) < 0)
		return -1;
	s->esmtp = true;
	if (r->code >= 500 && !a->lmtp) {
		verb = "HELO";
		s->esmtp = false;
		smtp_command(s, "HELO %s", a->helo_name);
		if (smtp_flush(s, a->helo_ms, "sending HELO", fail) < 0 ||
		    smtp_read_reply(s, a->helo_ms, r, "receiving the HELO reply", fail) < 0)
			return -1;
	}
	if (r->code / 100 != 2) {
		remote_failure(fail, r, verb, false);
		return -1;
	}
	smtp_ehlo_free(&s->ehlo);
	if (s->esmtp)
		smtp_ehlo_parse(r, &s->ehlo);
	return 0;
}

/* tls_handshake_wait - run the handshake to its end within timeout_ms. */
static int tls_handshake_wait(struct smtp_session *s, int timeout_ms, char **error_r)
{
	long long deadline = smtp_now_ms() + timeout_ms, left;
	enum tls_status st;
	struct pollfd pfd;
	unsigned wants;

	while ((st = tls_handshake(s->tls, error_r)) == TLS_AGAIN) {
		if ((left = deadline - smtp_now_ms()) <= 0) {
			*error_r = xstrdup("timed out");
			return -1;
		}
		wants = tls_io_wants(s->tls);
		pfd.fd = stream_fd(s->stream);
		pfd.events = (short)(((wants & TLS_WANT_READ) ? POLLIN : 0) |
				     ((wants & TLS_WANT_WRITE) ? POLLOUT : 0));
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
			*error_r = xstrdup(strerror(errno));
			return -1;
		}
	}
	return st == TLS_OK ? 0 : -1;
}

/* tls_name - the name the server's certificate must match. */
static const char *tls_name(struct smtp_agent *a, const struct smtp_dest *d, const char *nexthop,
			    char **owned)
{
	char *host = NULL;
	bool mx, is_unix;
	int port;

	*owned = NULL;
	if (a->tls_level == SMTP_TLS_SECURE &&
	    smtp_nexthop_split(nexthop, a->lmtp, &host, &port, &mx, &is_unix) == 0 && !is_unix)
		return *owned = host;
	free(host);
	return d->host;
}

/* start_tls - STARTTLS and the handshake; *tls_failed_r when TLS itself failed. */
static int start_tls(struct smtp_agent *a, struct smtp_session *s, const struct smtp_dest *d,
		     const char *nexthop, struct smtp_reply *r, struct smtp_failure *fail,
		     bool *tls_failed_r)
{
	bool verify = a->tls_level >= SMTP_TLS_VERIFY;
	char *err = NULL, *owned, *summary;
	const char *name;

	smtp_command(s, "STARTTLS");
	if (smtp_flush(s, a->helo_ms, "sending STARTTLS", fail) < 0 ||
	    smtp_read_reply(s, a->helo_ms, r, "receiving the STARTTLS reply", fail) < 0)
		return -1;
	if (r->code != 220) {
		if (a->tls_level == SMTP_TLS_MAY)
			return 1; /* go on without TLS */
		remote_failure(fail, r, "STARTTLS", true);
		return -1;
	}
	if (stream_pending_input(s->stream) > 0) {
		s->broken = true;
		smtp_failure_set(fail, 4, "4.5.0", "%s sent data after its STARTTLS reply",
				 s->relay);
		return -1;
	}
	name = tls_name(a, d, nexthop, &owned);
	s->tls = tls_session_client(verify ? a->tls_verify : a->tls_plain, stream_fd(s->stream),
				    d->salen > 0 ? name : NULL, &err);
	free(owned);
	if (s->tls != NULL) {
		stream_set_io(s->stream, &tls_stream_io, s->tls);
		if (tls_handshake_wait(s, a->helo_ms, &err) == 0) {
			summary = tls_summary(s->tls);
			msg_info("%s TLS connection established to %s: %s",
				 tls_peer_verified(s->tls) ? (verify ? "Verified" : "Trusted")
							   : "Untrusted",
				 s->relay, summary);
			free(summary);
			return 0;
		}
	}
	s->broken = true;
	*tls_failed_r = true;
	smtp_failure_set(fail, 4, "4.7.5", "TLS handshake with %s failed: %s", s->relay,
			 err ? err : "unknown error");
	free(err);
	return -1;
}

/* setup - greeting, hello, TLS and AUTH on a connected session. */
static int setup(struct smtp_agent *a, struct smtp_session *s, const struct smtp_dest *d,
		 const char *nexthop, bool no_tls, struct smtp_failure *fail, bool *tls_failed_r)
{
	struct smtp_reply r;
	int ret = -1, st;

	smtp_reply_init(&r);
	if (smtp_read_reply(s, a->helo_ms, &r, "receiving the initial server greeting", fail) < 0)
		goto out;
	if (r.code != 220) {
		remote_failure(fail, &r, NULL, true);
		free(fail->text);
		fail->text =
		    xasprintf("host %s refused to talk to me: %s", s->relay, strbuf_str(&r.text));
		fail->remote = false;
		goto out;
	}
	if (hello(a, s, &r, fail) < 0)
		goto out;
	if (a->tls_level != SMTP_TLS_NONE && !no_tls && d->salen > 0) {
		if (!(s->ehlo.features & SMTP_FEAT_STARTTLS)) {
			if (a->tls_level != SMTP_TLS_MAY) {
				smtp_failure_set(fail, 4, "4.7.4",
						 "TLS is required, but was not offered by host %s",
						 s->relay);
				goto out;
			}
		} else if ((st = start_tls(a, s, d, nexthop, &r, fail, tls_failed_r)) < 0) {
			goto out;
		} else if (st == 0 && hello(a, s, &r, fail) < 0) {
			goto out;
		}
	}
	if (a->sasl_enable && smtp_sasl_auth(a, s, nexthop, fail) < 0)
		goto out;
	ret = 0;
out:
	smtp_reply_free(&r);
	return ret;
}

struct smtp_session *smtp_session_open(struct smtp_agent *a, const struct smtp_dest *d,
				       const char *nexthop, bool no_tls, struct smtp_failure *fail,
				       bool *tls_failed_r)
{
	struct smtp_session *s;
	char *err = NULL;
	int fd;

	if (tls_failed_r != NULL)
		*tls_failed_r = false;
	fd = d->salen > 0 ? tcp_connect(d, a->connect_ms, &err) : sock_unix_connect(d->ip, &err);
	if (fd < 0) {
		if (d->salen > 0)
			smtp_failure_set(fail, 4, "4.4.1", "connect to %s[%s]:%d: %s", d->host,
					 d->ip, d->port, err);
		else
			smtp_failure_set(fail, 4, "4.4.1", "connect to %s[%s]: %s", d->host, d->ip,
					 err);
		free(err);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->stream = stream_create(fd);
	stream_set_line_limit(s->stream, SMTP_REPLY_LINE_MAX);
	s->host = xstrdup(d->host);
	s->ip = xstrdup(d->ip);
	s->port = d->port;
	s->relay = d->salen > 0 ? xasprintf("%s[%s]:%d", d->host, d->ip, d->port)
				: xasprintf("%s[%s]", d->host, d->ip);
	s->nexthop = xstrdup(nexthop);
	bool tls_failed = false;
	if (setup(a, s, d, nexthop, no_tls, fail, &tls_failed) < 0) {
		if (tls_failed_r != NULL)
			*tls_failed_r = tls_failed;
		smtp_session_close(a, &s);
		return NULL;
	}
	return s;
}

void smtp_session_close(struct smtp_agent *a, struct smtp_session **sp)
{
	struct smtp_session *s = *sp;
	struct smtp_failure fail = {0};
	struct smtp_reply r;
	char *err = NULL;
	int quit_ms = a->command_ms < SMTP_QUIT_MAX_MS ? a->command_ms : SMTP_QUIT_MAX_MS;

	if (s == NULL)
		return;
	if (!s->broken) {
		smtp_reply_init(&r);
		smtp_command(s, "QUIT");
		if (smtp_flush(s, quit_ms, "sending QUIT", &fail) == 0)
			smtp_read_reply(s, quit_ms, &r, "receiving the QUIT reply", &fail);
		smtp_reply_free(&r);
		smtp_failure_free(&fail);
	}
	if (s->tls != NULL && !s->broken && tls_shutdown(s->tls, &err) == TLS_ERROR)
		free(err);
	stream_destroy(&s->stream);
	tls_session_free(&s->tls);
	smtp_ehlo_free(&s->ehlo);
	free(s->host);
	free(s->ip);
	free(s->relay);
	free(s->nexthop);
	free(s);
	*sp = NULL;
}

/* ---- the connection cache ---- */

struct smtp_session *smtp_cache_take(struct smtp_agent *a, const char *nexthop)
{
	struct smtp_session **pp, *s;

	for (pp = &a->cache; (s = *pp) != NULL; pp = &s->next) {
		if (strcmp(s->nexthop, nexthop) == 0) {
			*pp = s->next;
			s->next = NULL;
			a->cache_count--;
			return s;
		}
	}
	return NULL;
}

void smtp_cache_put(struct smtp_agent *a, struct smtp_session *s)
{
	struct smtp_session **pp;

	if (a->cache_ms == 0 || s->broken) {
		smtp_session_close(a, &s);
		return;
	}
	s->idle_since_ms = smtp_now_ms();
	s->next = a->cache;
	a->cache = s;
	if (++a->cache_count <= SMTP_CACHE_MAX)
		return;
	for (pp = &a->cache; (*pp)->next != NULL; pp = &(*pp)->next)
		;
	s = *pp;
	*pp = NULL;
	a->cache_count--;
	smtp_session_close(a, &s);
}

long long smtp_cache_expire(struct smtp_agent *a, bool all)
{
	struct smtp_session **pp = &a->cache, *s;
	long long now = smtp_now_ms(), next = -1, left;

	while ((s = *pp) != NULL) {
		left = s->idle_since_ms + a->cache_ms - now;
		if (all || left <= 0) {
			*pp = s->next;
			a->cache_count--;
			smtp_session_close(a, &s);
			continue;
		}
		if (next < 0 || left < next)
			next = left;
		pp = &s->next;
	}
	return next;
}
