/*
 * health - a tiny line service that shows supervision at work.
 *
 * On connect it sends "220 <health_banner> pid=<pid> service=<name>", then
 * answers PING with "250 PONG", QUIT with "221 bye" (and closes), and
 * anything else with "500 unknown command". A client silent for longer than
 * the idle timeout (-T seconds, default 60) gets "421 idle timeout" and is
 * disconnected; a line longer than 1000 bytes gets "500 line too long" and
 * is disconnected too.
 *
 * The session is event-driven on the daemon skeleton's loop, with
 * non-blocking output: it stops reading while a client does not read its
 * answers.
 *
 * Usage (from master.cf): health [-T seconds]
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mail/daemon.h"
#include "mail/mail_conf.h"
#include "util/event.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

#define HEALTH_LINE_MAX 1000
#define HEALTH_OUT_MAX 65536
#define HEALTH_LINGER_MS 2000

struct health_session {
	struct daemon_ctx *dctx;
	int fd;
	struct event_watch *watch;
	struct event_timer timer;
	struct strbuf in, out;
	int closing;   /* close once the output is flushed */
	int lingering; /* output shut down; discarding input until the client closes */
};

struct health_opts {
	long long timeout_s;
};

static void on_timeout(struct event_loop *loop, void *ctx);

static void session_end(struct health_session *s)
{
	struct daemon_ctx *dctx = s->dctx;

	event_fd_remove(&s->watch);
	event_timer_cancel(daemon_loop(dctx), &s->timer);
	close(s->fd);
	strbuf_free(&s->in);
	strbuf_free(&s->out);
	free(s);
	daemon_session_done(dctx);
}

/* flush - write what the socket takes; -1 when the client has gone. */
static int flush(struct health_session *s)
{
	ssize_t n;

	while (s->out.len > 0) {
		n = write(s->fd, s->out.data, s->out.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		strbuf_consume(&s->out, (size_t)n);
	}
	return 0;
}

/* update_mask - read unless closing or the client is behind; write while output waits. */
static void update_mask(struct health_session *s)
{
	unsigned int mask = 0;

	if (!s->closing && s->out.len < HEALTH_OUT_MAX)
		mask |= EVENT_READ;
	if (s->out.len > 0)
		mask |= EVENT_WRITE;
	event_fd_modify(s->watch, mask);
}

static void reply(struct health_session *s, const char *text)
{
	strbuf_puts(&s->out, text);
	strbuf_puts(&s->out, "\r\n");
}

static void command(struct health_session *s, const char *line)
{
	if (strcasecmp(line, "PING") == 0) {
		reply(s, "250 PONG");
	} else if (strcasecmp(line, "QUIT") == 0) {
		reply(s, "221 bye");
		s->closing = 1;
	} else {
		reply(s, "500 unknown command");
	}
}

/* take_lines - answer each complete line in the input buffer. */
static void take_lines(struct health_session *s)
{
	char *nl;
	size_t len;

	while (!s->closing && (nl = memchr(s->in.data, '\n', s->in.len)) != NULL) {
		len = (size_t)(nl - s->in.data);
		if (len > 0 && s->in.data[len - 1] == '\r')
			len--;
		s->in.data[len] = '\0';
		command(s, s->in.data);
		strbuf_consume(&s->in, (size_t)(nl - s->in.data) + 1);
	}
	if (!s->closing && s->in.len > HEALTH_LINE_MAX) {
		reply(s, "500 line too long");
		s->closing = 1;
	}
}

/*
 * finish - the last answer is out. Closing a socket with unread input makes
 * the kernel reset the connection, which can destroy that answer before the
 * client reads it: then shut down our side and discard input until the
 * client closes (or HEALTH_LINGER_MS pass).
 */
static void finish(struct health_session *s)
{
	int pending = 0;

	if (s->in.len == 0 && (ioctl(s->fd, FIONREAD, &pending) < 0 || pending == 0)) {
		session_end(s);
		return;
	}
	shutdown(s->fd, SHUT_WR);
	s->lingering = 1;
	strbuf_free(&s->in);
	event_fd_modify(s->watch, EVENT_READ);
	event_timer_add(daemon_loop(s->dctx), &s->timer, HEALTH_LINGER_MS, on_timeout, s);
}

/* discard - read and drop input; -1 at end of file or on error. */
static int discard(struct health_session *s)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(s->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
	}
}

static void on_timeout(struct event_loop *loop, void *ctx)
{
	struct health_session *s = ctx;

	if (s->lingering) {
		session_end(s);
		return;
	}
	strbuf_reset(&s->out);
	reply(s, "421 idle timeout");
	s->closing = 1;
	if (flush(s) < 0 || s->out.len > 0)
		session_end(s);
	else
		finish(s);
}

/* read_input - 0, or -1 at end of file or on error. */
static int read_input(struct health_session *s)
{
	ssize_t n;

	strbuf_reserve(&s->in, 4096);
	n = read(s->fd, s->in.data + s->in.len, 4096);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	s->in.len += (size_t)n;
	s->in.data[s->in.len] = '\0';
	return 0;
}

static void on_io(struct event_loop *loop, int fd, unsigned int events, void *ctx)
{
	struct health_session *s = ctx;
	struct health_opts *opts = daemon_data(s->dctx);

	if (s->lingering) {
		if (discard(s) < 0)
			session_end(s);
		return;
	}
	if ((events & EVENT_READ) && !s->closing) {
		if (read_input(s) < 0) {
			session_end(s);
			return;
		}
		event_timer_add(loop, &s->timer, (uint64_t)opts->timeout_s * 1000u, on_timeout, s);
		take_lines(s);
	}
	if (flush(s) < 0) {
		session_end(s);
		return;
	}
	if (s->closing && s->out.len == 0) {
		finish(s);
		return;
	}
	update_mask(s);
}

static void health_serve(struct daemon_ctx *dctx, int fd)
{
	struct health_opts *opts = daemon_data(dctx);
	struct health_session *s = xcalloc(1, sizeof(*s));
	struct event_loop *loop = daemon_loop(dctx);

	s->dctx = dctx;
	s->fd = fd;
	strbuf_printf(&s->out, "220 %s pid=%ld service=%s\r\n",
		      mail_conf_str(daemon_conf(dctx), "health_banner"), (long)getpid(),
		      daemon_service(dctx));
	s->watch = event_fd_add(loop, fd, EVENT_READ | EVENT_WRITE, on_io, s);
	event_timer_add(loop, &s->timer, (uint64_t)opts->timeout_s * 1000u, on_timeout, s);
}

static int health_option(struct daemon_ctx *dctx, int opt, const char *arg, char **error_r)
{
	struct health_opts *opts = daemon_data(dctx);
	char *end;

	if (opt != 'T')
		return -1;
	errno = 0;
	opts->timeout_s = strtoll(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || opts->timeout_s < 1 ||
	    opts->timeout_s > 86400) {
		*error_r = xasprintf("-T %s: must be a number of seconds from 1 to 86400", arg);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
	    .name = "health",
	    .owner = DAEMON_OWNER_MAIL,
	    .options = "T:",
	    .option = health_option,
	    .serve = health_serve,
	};
	struct health_opts opts = {60};

	return daemon_main(argc, argv, &ops, &opts);
}
