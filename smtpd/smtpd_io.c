/*
 * smtpd_io - the session's I/O on its non-blocking stream: every read first
 * takes whatever input is already there, and only when it would block are
 * the buffered replies flushed (RFC 2920: a pipelining client gets its
 * replies in one batch) and the descriptor waited for, at most
 * smtpd_timeout. Closing lets the client read our last reply before the
 * connection goes away.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "smtpd/smtpd.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/tls.h"

static long long now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		msg_fatal("clock_gettime: %s", strerror(errno));
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_until - poll for wants until deadline. */
static enum stream_status wait_until(struct smtpd_session *s, unsigned wants, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return STREAM_TIMEOUT;
		pfd.fd = s->fd;
		pfd.events = (short)(((wants & STREAM_WANT_READ) ? POLLIN : 0) |
				     ((wants & STREAM_WANT_WRITE) ? POLLOUT : 0));
		pfd.revents = 0;
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return STREAM_OK;
		if (n < 0 && errno != EINTR) {
			msg_warn("poll: %s", strerror(errno));
			return STREAM_ERROR;
		}
	}
}

enum stream_status smtpd_wait(struct smtpd_session *s, unsigned wants)
{
	return wait_until(s, wants, now_ms() + s->srv->timeout_ms);
}

enum stream_status smtpd_flush(struct smtpd_session *s)
{
	long long deadline = now_ms() + s->srv->timeout_ms;
	enum stream_status st;

	while ((st = stream_flush(s->stream)) == STREAM_AGAIN) {
		st = wait_until(s, stream_wants(s->stream), deadline);
		if (st != STREAM_OK)
			return st;
	}
	return st;
}

/* before_wait - input would block: send the replies the client waits for first. */
static enum stream_status before_wait(struct smtpd_session *s)
{
	if (stream_pending_output(s->stream) == 0)
		return STREAM_OK;
	return smtpd_flush(s);
}

enum stream_status smtpd_read_line(struct smtpd_session *s, struct strbuf *line)
{
	long long deadline = now_ms() + s->srv->timeout_ms;
	enum stream_status st;

	if (stream_pending_output(s->stream) > SMTPD_OUT_MAX && (st = smtpd_flush(s)) != STREAM_OK)
		return st;
	for (;;) {
		st = stream_read_line(s->stream, line);
		if (st != STREAM_AGAIN)
			return st;
		if ((st = before_wait(s)) != STREAM_OK)
			return st;
		st = wait_until(s, stream_wants(s->stream), deadline);
		if (st != STREAM_OK)
			return st;
	}
}

enum stream_status smtpd_fill(struct smtpd_session *s)
{
	long long deadline = now_ms() + s->srv->timeout_ms;
	enum stream_status st;

	for (;;) {
		st = stream_fill(s->stream);
		if (st != STREAM_AGAIN)
			return st;
		if ((st = before_wait(s)) != STREAM_OK)
			return st;
		st = wait_until(s, stream_wants(s->stream), deadline);
		if (st != STREAM_OK)
			return st;
	}
}

void smtpd_sleep(struct smtpd_session *s, long long ms)
{
	if (ms <= 0)
		return;
	(void)smtpd_flush(s);
	(void)poll(NULL, 0, ms > INT32_MAX ? INT32_MAX : (int)ms);
}

void smtpd_lost(struct smtpd_session *s, enum stream_status st)
{
	const char *after = smtp_verb_name(s->verb);
	unsigned long commands = 0;
	int i;

	for (i = 0; i < SMTP_CMD_COUNT; i++)
		commands += s->stat_total[i];
	if (commands == 0)
		after = "CONNECT";
	switch (st) {
	case STREAM_TIMEOUT:
		msg_info("timeout after %s from %s", after, s->namaddr);
		break;
	case STREAM_ERROR:
		msg_info("lost connection after %s from %s: %s", after, s->namaddr,
			 stream_errno(s->stream) != 0 ? strerror(stream_errno(s->stream))
						      : "transport error");
		break;
	default:
		msg_info("lost connection after %s from %s", after, s->namaddr);
		break;
	}
}

/* drain - read and drop what the client still sends, until it closes or time runs out. */
static void drain(struct smtpd_session *s)
{
	long long deadline = now_ms() + SMTPD_LINGER_MS;
	struct strbuf junk = STRBUF_INIT;
	enum stream_status st;

	for (;;) {
		st = stream_read_some(s->stream, &junk, SMTPD_CHUNK);
		if (st == STREAM_OK)
			continue;
		if (st != STREAM_AGAIN ||
		    wait_until(s, stream_wants(s->stream), deadline) != STREAM_OK)
			break;
	}
	strbuf_free(&junk);
}

/* tls_end - send close_notify (without waiting for the client's) and drop the session. */
static void tls_end(struct smtpd_session *s)
{
	char *error = NULL;
	int tries;

	for (tries = 0; tries < 3; tries++) {
		enum tls_status st = tls_shutdown(s->tls, &error);

		if (st != TLS_AGAIN)
			break;
		if (wait_until(s, tls_io_wants(s->tls), now_ms() + SMTPD_LINGER_MS) != STREAM_OK)
			break;
	}
	free(error);
	stream_set_io(s->stream, NULL, NULL);
	tls_session_free(&s->tls);
}

void smtpd_close(struct smtpd_session *s)
{
	int pending = 0;

	if (stream_pending_output(s->stream) > 0 && stream_errno(s->stream) == 0)
		(void)smtpd_flush(s);
	if (stream_errno(s->stream) == 0) {
		if (s->tls != NULL)
			tls_end(s);
		/* closing with unread input would reset the connection and lose the reply */
		if (stream_pending_input(s->stream) > 0 ||
		    (ioctl(s->fd, FIONREAD, &pending) == 0 && pending > 0)) {
			shutdown(s->fd, SHUT_WR);
			drain(s);
		}
	} else if (s->tls != NULL) {
		stream_set_io(s->stream, NULL, NULL);
		tls_session_free(&s->tls);
	}
	stream_destroy(&s->stream);
	s->fd = -1;
}
