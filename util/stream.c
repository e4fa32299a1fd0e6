/*
 * stream - buffered non-blocking streams with line-length limits.
 *
 * Each operation is written once as a non-blocking "step" that returns
 * STREAM_AGAIN when the transport would block; blocking mode runs the step
 * in a loop, waiting with poll(2) in between until the call's deadline.
 * Consumed input is skipped by advancing an offset and compacted only before
 * the next read, so a run of pipelined lines costs no copying.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/stream.h"

struct stream {
	int fd;
	int is_socket; /* plain writes use send(MSG_NOSIGNAL): no SIGPIPE */
	const struct stream_io *io;
	void *io_ctx;
	struct strbuf in; /* input; bytes before in_off are consumed */
	size_t in_off;
	struct strbuf out; /* output; bytes before out_off are sent */
	size_t out_off;
	size_t line_limit;
	int timeout_ms;	      /* 0: non-blocking mode */
	unsigned read_wants;  /* what the transport asked for after a read blocked */
	unsigned write_wants; /* likewise after a write blocked */
	int eof;	      /* the transport reported end of input */
	int err;	      /* errno of a transport failure, 0 if none */
	int discarding;	      /* dropping the rest of an over-long line */
	enum stream_eol last_eol;
};

/* One non-blocking attempt at an operation; see run(). */
typedef enum stream_status (*stream_step_fn)(struct stream *s, struct strbuf *buf, size_t n);

static ssize_t plain_read(void *ctx, void *buf, size_t len)
{
	struct stream *s = ctx;

	return read(s->fd, buf, len);
}

static ssize_t plain_write(void *ctx, const void *buf, size_t len)
{
	struct stream *s = ctx;

	if (s->is_socket)
		return send(s->fd, buf, len, MSG_NOSIGNAL);
	return write(s->fd, buf, len);
}

static const struct stream_io plain_io = {
    .read = plain_read,
    .write = plain_write,
    .wants = NULL,
};

struct stream *stream_create(int fd)
{
	struct stream *s;
	int flags, type;
	socklen_t optlen = sizeof(type);

	if ((flags = fcntl(fd, F_GETFL)) < 0)
		msg_panic("stream_create: descriptor %d: %s", fd, strerror(errno));
	if ((flags & O_NONBLOCK) == 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		msg_fatal("stream_create: set O_NONBLOCK on descriptor %d: %s", fd,
			  strerror(errno));
	s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->is_socket = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) == 0;
	s->io = &plain_io;
	s->io_ctx = s;
	strbuf_init(&s->in, STREAM_CHUNK);
	strbuf_init(&s->out, 0);
	s->line_limit = STREAM_DEFAULT_LINE_LIMIT;
	s->last_eol = STREAM_EOL_NONE;
	return s;
}

void stream_destroy(struct stream **sp)
{
	struct stream *s = *sp;

	if (s == NULL)
		return;
	if (close(s->fd) < 0 && errno != EINTR)
		msg_warn("stream_destroy: close descriptor %d: %s", s->fd, strerror(errno));
	strbuf_free(&s->in);
	strbuf_free(&s->out);
	free(s);
	*sp = NULL;
}

int stream_fd(const struct stream *s)
{
	return s->fd;
}

void stream_set_io(struct stream *s, const struct stream_io *io, void *ctx)
{
	if (io == NULL) {
		io = &plain_io;
		ctx = s;
	}
	if (io->read == NULL || io->write == NULL)
		msg_panic("stream_set_io: transport without read or write");
	s->io = io;
	s->io_ctx = ctx;
	s->read_wants = s->write_wants = 0;
}

void stream_set_line_limit(struct stream *s, size_t limit)
{
	if (limit == 0 || limit > SIZE_MAX / 4)
		msg_panic("stream_set_line_limit: bad limit %zu", limit);
	s->line_limit = limit;
}

size_t stream_line_limit(const struct stream *s)
{
	return s->line_limit;
}

void stream_set_timeout(struct stream *s, int timeout_ms)
{
	if (timeout_ms < 0)
		msg_panic("stream_set_timeout: negative timeout %d", timeout_ms);
	s->timeout_ms = timeout_ms;
}

int stream_timeout(const struct stream *s)
{
	return s->timeout_ms;
}

enum stream_eol stream_last_eol(const struct stream *s)
{
	return s->last_eol;
}

int stream_errno(const struct stream *s)
{
	return s->err;
}

size_t stream_pending_input(const struct stream *s)
{
	return s->in.len - s->in_off;
}

size_t stream_pending_output(const struct stream *s)
{
	return s->out.len - s->out_off;
}

const void *stream_peek(const struct stream *s, size_t *len_r)
{
	*len_r = s->in.len - s->in_off;
	return *len_r > 0 ? s->in.data + s->in_off : "";
}

void stream_skip(struct stream *s, size_t len)
{
	if (len > s->in.len - s->in_off)
		msg_panic("stream_skip: %zu bytes, only %zu buffered", len, s->in.len - s->in_off);
	s->in_off += len;
	if (s->in_off == s->in.len) {
		strbuf_reset(&s->in);
		s->in_off = 0;
	}
}

/* input_cap - the size the input buffer may grow to for line reads. */
static size_t input_cap(const struct stream *s)
{
	return s->line_limit + 2 > STREAM_CHUNK ? s->line_limit + 2 : STREAM_CHUNK;
}

/* blocked_wants - what the transport waits for after EAGAIN in direction dflt. */
static unsigned blocked_wants(struct stream *s, unsigned dflt)
{
	unsigned wants = s->io->wants != NULL ? s->io->wants(s->io_ctx) : dflt;

	wants &= STREAM_WANT_READ | STREAM_WANT_WRITE;
	return wants != 0 ? wants : dflt;
}

/*
 * fill - one read from the transport into the input buffer, growing it to at
 * most cap bytes. STREAM_OK when bytes arrived or the buffer is full.
 */
static enum stream_status fill(struct stream *s, size_t cap)
{
	size_t room;
	ssize_t n;

	if (s->err != 0)
		return STREAM_ERROR;
	if (s->eof)
		return STREAM_EOF;
	if (s->in_off > 0) {
		strbuf_consume(&s->in, s->in_off);
		s->in_off = 0;
	}
	if (s->in.len >= cap)
		return STREAM_OK;
	room = cap - s->in.len;
	strbuf_reserve(&s->in, room);
	for (;;) {
		n = s->io->read(s->io_ctx, s->in.data + s->in.len, room);
		if (n > 0) {
			if ((size_t)n > room)
				msg_panic("stream: transport read %zd bytes into %zu", n, room);
			s->in.len += (size_t)n;
			s->in.data[s->in.len] = '\0';
			s->read_wants = 0;
			return STREAM_OK;
		}
		if (n == 0) {
			s->eof = 1;
			s->read_wants = 0;
			return STREAM_EOF;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			s->read_wants = blocked_wants(s, STREAM_WANT_READ);
			return STREAM_AGAIN;
		}
		s->err = errno != 0 ? errno : EIO;
		return STREAM_ERROR;
	}
}

/* take - move len buffered input bytes into out, replacing its contents. */
static void take(struct stream *s, struct strbuf *out, size_t len)
{
	strbuf_reset(out);
	strbuf_append(out, s->in.data + s->in_off, len);
	stream_skip(s, len);
}

/* line_at_end - read_line step once no more input will come. */
static enum stream_status line_at_end(struct stream *s, struct strbuf *line)
{
	size_t avail = stream_pending_input(s);

	strbuf_reset(line);
	if (s->err != 0)
		return STREAM_ERROR;
	if (s->discarding) {
		s->discarding = 0;
		return STREAM_TOO_LONG;
	}
	if (avail == 0)
		return STREAM_EOF;
	if (avail > s->line_limit) {
		stream_skip(s, avail);
		return STREAM_TOO_LONG;
	}
	take(s, line, avail);
	s->last_eol = STREAM_EOL_NONE;
	return STREAM_PARTIAL;
}

static enum stream_status line_step(struct stream *s, struct strbuf *line, size_t unused)
{
	enum stream_status st;
	const char *start, *lf;
	size_t avail, len;

	for (;;) {
		avail = stream_pending_input(s);
		start = s->in.data + s->in_off;
		lf = avail > 0 ? memchr(start, '\n', avail) : NULL;
		if (lf != NULL) {
			len = (size_t)(lf - start);
			strbuf_reset(line);
			if (s->discarding) {
				s->discarding = 0;
				stream_skip(s, len + 1);
				return STREAM_TOO_LONG;
			}
			s->last_eol = STREAM_EOL_LF;
			if (len > 0 && start[len - 1] == '\r') {
				len--;
				s->last_eol = STREAM_EOL_CRLF;
			}
			st = len > s->line_limit ? STREAM_TOO_LONG : STREAM_OK;
			if (st == STREAM_OK)
				strbuf_append(line, start, len);
			stream_skip(s, (size_t)(lf - start) + 1);
			return st;
		}
		/* No line end buffered: a limit-sized line may still end in CR. */
		if (s->discarding || avail > s->line_limit + 1 ||
		    (avail == s->line_limit + 1 && start[avail - 1] != '\r')) {
			s->discarding = 1;
			stream_skip(s, avail);
		}
		st = fill(s, input_cap(s));
		if (st == STREAM_EOF || st == STREAM_ERROR)
			return line_at_end(s, line);
		if (st != STREAM_OK)
			return st;
	}
}

static enum stream_status exact_step(struct stream *s, struct strbuf *out, size_t n)
{
	enum stream_status st;

	for (;;) {
		if (stream_pending_input(s) >= n) {
			take(s, out, n);
			return STREAM_OK;
		}
		st = fill(s, n > input_cap(s) ? n : input_cap(s));
		if (st != STREAM_OK)
			return st;
	}
}

static enum stream_status some_step(struct stream *s, struct strbuf *out, size_t max)
{
	enum stream_status st;
	size_t avail;

	for (;;) {
		avail = stream_pending_input(s);
		if (avail > 0) {
			take(s, out, avail < max ? avail : max);
			return STREAM_OK;
		}
		if ((st = fill(s, input_cap(s))) != STREAM_OK)
			return st;
	}
}

static enum stream_status fill_step(struct stream *s, struct strbuf *unused, size_t unused_n)
{
	return fill(s, input_cap(s));
}

static enum stream_status flush_step(struct stream *s, struct strbuf *unused, size_t unused_n)
{
	size_t pending;
	ssize_t n;

	if (s->err != 0)
		return STREAM_ERROR;
	while ((pending = stream_pending_output(s)) > 0) {
		n = s->io->write(s->io_ctx, s->out.data + s->out_off, pending);
		if (n > 0) {
			if ((size_t)n > pending)
				msg_panic("stream: transport wrote %zd of %zu bytes", n, pending);
			s->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			s->write_wants = blocked_wants(s, STREAM_WANT_WRITE);
			if (s->out_off >= s->out.len / 2) {
				strbuf_consume(&s->out, s->out_off);
				s->out_off = 0;
			}
			return STREAM_AGAIN;
		}
		s->err = n < 0 && errno != 0 ? errno : EIO;
		return STREAM_ERROR;
	}
	strbuf_reset(&s->out);
	s->out_off = 0;
	s->write_wants = 0;
	return STREAM_OK;
}

static long long now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		msg_fatal("clock_gettime: %s", strerror(errno));
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_ready - poll the descriptor for wants until deadline (ms, monotonic). */
static enum stream_status wait_ready(struct stream *s, unsigned wants, long long deadline)
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
			s->err = errno;
			return STREAM_ERROR;
		}
	}
}

/* run - a step once in non-blocking mode, else until done or the deadline. */
static enum stream_status run(struct stream *s, stream_step_fn step, struct strbuf *buf, size_t n,
			      int writing)
{
	enum stream_status st;
	long long deadline = 0;

	if (s->timeout_ms > 0)
		deadline = now_ms() + s->timeout_ms;
	while ((st = step(s, buf, n)) == STREAM_AGAIN && s->timeout_ms > 0) {
		st = wait_ready(s, writing ? s->write_wants : s->read_wants, deadline);
		if (st != STREAM_OK)
			return st;
	}
	return st;
}

enum stream_status stream_read_line(struct stream *s, struct strbuf *line)
{
	return run(s, line_step, line, 0, 0);
}

enum stream_status stream_read_exact(struct stream *s, struct strbuf *out, size_t n)
{
	return run(s, exact_step, out, n, 0);
}

enum stream_status stream_read_some(struct stream *s, struct strbuf *out, size_t max)
{
	if (max == 0)
		msg_panic("stream_read_some: max is 0");
	return run(s, some_step, out, max, 0);
}

enum stream_status stream_fill(struct stream *s)
{
	return run(s, fill_step, NULL, 0, 0);
}

enum stream_status stream_flush(struct stream *s)
{
	return run(s, flush_step, NULL, 0, 1);
}

void stream_write(struct stream *s, const void *data, size_t len)
{
	strbuf_append(&s->out, data, len);
}

void stream_puts(struct stream *s, const char *str)
{
	strbuf_puts(&s->out, str);
}

void stream_vprintf(struct stream *s, const char *fmt, va_list ap)
{
	strbuf_vprintf(&s->out, fmt, ap);
}

void stream_printf(struct stream *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vprintf(&s->out, fmt, ap);
	va_end(ap);
}

unsigned stream_wants(const struct stream *s)
{
	unsigned wants = s->read_wants | s->write_wants;

	if (stream_pending_output(s) > 0 && s->write_wants == 0)
		wants |= STREAM_WANT_WRITE;
	return wants != 0 ? wants : STREAM_WANT_READ;
}

const char *stream_status_str(enum stream_status status)
{
	switch (status) {
	case STREAM_OK:
		return "ok";
	case STREAM_AGAIN:
		return "would block";
	case STREAM_TOO_LONG:
		return "line too long";
	case STREAM_PARTIAL:
		return "unterminated last line";
	case STREAM_EOF:
		return "end of input";
	case STREAM_TIMEOUT:
		return "timeout";
	case STREAM_ERROR:
		return "transport error";
	}
	return "unknown status";
}
