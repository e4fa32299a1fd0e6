/*
 * lmtp_io - the session's I/O on its non-blocking stream: a read first
 * takes whatever input is already there, and only when it would block are
 * the buffered replies flushed (a pipelining client gets its replies in
 * one batch) and the descriptor waited for, at most lmtp_timeout. Closing
 * lets the client read our last reply before the connection goes away.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "lmtp/lmtp.h"
#include "util/msg.h"

long long lmtp_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		msg_fatal("clock_gettime: %s", strerror(errno));
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_until - poll for wants until deadline. */
static enum stream_status wait_until(struct lmtp_session *s, unsigned wants, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int n;

	for (;;) {
		left = deadline - lmtp_now_ms();
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

enum stream_status lmtp_flush(struct lmtp_session *s)
{
	long long deadline = lmtp_now_ms() + s->srv->timeout_ms;
	enum stream_status st;

	while ((st = stream_flush(s->stream)) == STREAM_AGAIN) {
		st = wait_until(s, stream_wants(s->stream), deadline);
		if (st != STREAM_OK)
			return st;
	}
	return st;
}

/* before_wait - input would block: send the replies the client waits for first. */
static enum stream_status before_wait(struct lmtp_session *s)
{
	if (stream_pending_output(s->stream) == 0)
		return STREAM_OK;
	return lmtp_flush(s);
}

enum stream_status lmtp_read_line(struct lmtp_session *s, struct strbuf *line)
{
	long long deadline = lmtp_now_ms() + s->srv->timeout_ms;
	enum stream_status st;

	if (stream_pending_output(s->stream) > LMTP_OUT_MAX && (st = lmtp_flush(s)) != STREAM_OK)
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

enum stream_status lmtp_fill(struct lmtp_session *s)
{
	long long deadline = lmtp_now_ms() + s->srv->timeout_ms;
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

void lmtp_sleep(struct lmtp_session *s, long long ms)
{
	if (ms <= 0)
		return;
	(void)lmtp_flush(s);
	(void)poll(NULL, 0, ms > INT32_MAX ? INT32_MAX : (int)ms);
}

void lmtp_lost(struct lmtp_session *s, enum stream_status st)
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
		msg_info("%s: timeout after %s from %s", s->id, after, s->peer);
		break;
	case STREAM_ERROR:
		msg_info("%s: lost connection after %s from %s: %s", s->id, after, s->peer,
			 stream_errno(s->stream) != 0 ? strerror(stream_errno(s->stream))
						      : "transport error");
		break;
	default:
		msg_info("%s: lost connection after %s from %s", s->id, after, s->peer);
		break;
	}
}

/* drain - read and drop what the client still sends, until it closes or time runs out. */
static void drain(struct lmtp_session *s)
{
	long long deadline = lmtp_now_ms() + LMTP_LINGER_MS;
	struct strbuf junk = STRBUF_INIT;
	enum stream_status st;

	for (;;) {
		st = stream_read_some(s->stream, &junk, LMTP_CHUNK);
		if (st == STREAM_OK)
			continue;
		if (st != STREAM_AGAIN ||
		    wait_until(s, stream_wants(s->stream), deadline) != STREAM_OK)
			break;
	}
	strbuf_free(&junk);
}

void lmtp_close(struct lmtp_session *s)
{
	int pending = 0;

	if (stream_pending_output(s->stream) > 0 && stream_errno(s->stream) == 0)
		(void)lmtp_flush(s);
	/* closing with unread input would reset the connection and lose the reply */
	if (stream_errno(s->stream) == 0 &&
	    (stream_pending_input(s->stream) > 0 ||
	     (ioctl(s->fd, FIONREAD, &pending) == 0 && pending > 0))) {
		shutdown(s->fd, SHUT_WR);
		drain(s);
	}
	stream_destroy(&s->stream);
	s->fd = -1;
}
