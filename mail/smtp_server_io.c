/*
 * smtp_server_io - a server's I/O on its client's non-blocking stream:
 * every read first takes whatever input is already there, and only when
 * it would block are the buffered replies flushed (RFC 2920: a pipelining
 * client gets its replies in one batch) and the descriptor waited for, at
 * most timeout_ms. See smtp_server_io.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "mail/smtp_server_io.h"
#include "util/msg.h"

/* Bytes read at a time from a client whose input is dropped at the close. */
#define DRAIN_CHUNK (64 * 1024)

long long smtp_server_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		msg_fatal("clock_gettime: %s", strerror(errno));
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum stream_status smtp_server_wait_until(struct smtp_server_conn *c, unsigned wants,
					  long long deadline)
{
	struct pollfd pfd;
	long long left;
	int n;

	for (;;) {
		left = deadline - smtp_server_now_ms();
		if (left <= 0)
			return STREAM_TIMEOUT;
		pfd.fd = c->fd;
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

enum stream_status smtp_server_wait(struct smtp_server_conn *c, unsigned wants)
{
	return smtp_server_wait_until(c, wants, smtp_server_now_ms() + c->timeout_ms);
}

enum stream_status smtp_server_flush(struct smtp_server_conn *c)
{
	long long deadline = smtp_server_now_ms() + c->timeout_ms;
	enum stream_status st;

	while ((st = stream_flush(c->stream)) == STREAM_AGAIN) {
		st = smtp_server_wait_until(c, stream_wants(c->stream), deadline);
		if (st != STREAM_OK)
			return st;
	}
	return st;
}

/*
 * read_step - read a line into line (line NULL: more input into the
 * stream) within timeout_ms; before each wait, send the replies that the
 * client waits for.
 */
static enum stream_status read_step(struct smtp_server_conn *c, struct strbuf *line)
{
	long long deadline = smtp_server_now_ms() + c->timeout_ms;
	enum stream_status st;

	for (;;) {
		st = line != NULL ? stream_read_line(c->stream, line) : stream_fill(c->stream);
		if (st != STREAM_AGAIN)
			return st;
		if (stream_pending_output(c->stream) > 0 &&
		    (st = smtp_server_flush(c)) != STREAM_OK)
			return st;
		st = smtp_server_wait_until(c, stream_wants(c->stream), deadline);
		if (st != STREAM_OK)
			return st;
	}
}

enum stream_status smtp_server_read_line(struct smtp_server_conn *c, struct strbuf *line)
{
	enum stream_status st;

	if (stream_pending_output(c->stream) > SMTP_SERVER_OUT_MAX &&
	    (st = smtp_server_flush(c)) != STREAM_OK)
		return st;
	return read_step(c, line);
}

enum stream_status smtp_server_fill(struct smtp_server_conn *c)
{
	return read_step(c, NULL);
}

void smtp_server_sleep(struct smtp_server_conn *c, long long ms)
{
	if (ms <= 0)
		return;
	(void)smtp_server_flush(c);
	(void)poll(NULL, 0, ms > INT32_MAX ? INT32_MAX : (int)ms);
}

void smtp_server_lost(struct smtp_server_conn *c, enum stream_status st)
{
	const char *after = smtp_verb_name(c->verb);
	const char *id = c->id != NULL ? c->id : "", *sep = c->id != NULL ? ": " : "";
	unsigned long commands = 0;
	int i;

	for (i = 0; i < SMTP_CMD_COUNT; i++)
		commands += c->stat_total[i];
	if (commands == 0)
		after = "CONNECT";
	switch (st) {
	case STREAM_TIMEOUT:
		msg_info("%s%stimeout after %s from %s", id, sep, after, c->peer);
		break;
	case STREAM_ERROR:
		msg_info("%s%slost connection after %s from %s: %s", id, sep, after, c->peer,
			 stream_errno(c->stream) != 0 ? strerror(stream_errno(c->stream))
						      : "transport error");
		break;
	default:
		msg_info("%s%slost connection after %s from %s", id, sep, after, c->peer);
		break;
	}
}

/* drain - read and drop what the client still sends, until it closes or time runs out. */
static void drain(struct smtp_server_conn *c)
{
	long long deadline = smtp_server_now_ms() + SMTP_SERVER_LINGER_MS;
	struct strbuf junk = STRBUF_INIT;
	enum stream_status st;

	for (;;) {
		st = stream_read_some(c->stream, &junk, DRAIN_CHUNK);
		if (st == STREAM_OK)
			continue;
		if (st != STREAM_AGAIN ||
		    smtp_server_wait_until(c, stream_wants(c->stream), deadline) != STREAM_OK)
			break;
	}
	strbuf_free(&junk);
}

void smtp_server_close(struct smtp_server_conn *c, void (*end_transport)(void *ctx, int healthy),
		       void *ctx)
{
	int pending = 0, healthy;

	if (stream_pending_output(c->stream) > 0 && stream_errno(c->stream) == 0)
		(void)smtp_server_flush(c);
	healthy = stream_errno(c->stream) == 0;
	if (end_transport != NULL)
		end_transport(ctx, healthy);
	if (healthy && (stream_pending_input(c->stream) > 0 ||
			(ioctl(c->fd, FIONREAD, &pending) == 0 && pending > 0))) {
		shutdown(c->fd, SHUT_WR);
		drain(c);
	}
	stream_destroy(&c->stream);
	c->fd = -1;
}
