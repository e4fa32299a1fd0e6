/*
 * stream - buffered non-blocking streams with line-length limits.
 *
 * A struct stream owns a file descriptor and buffers its input and output.
 * The descriptor is switched to non-blocking mode by stream_create(); every
 * read and write goes through a transport (struct stream_io), by default
 * plain read/write on the descriptor, so that a TLS layer can be put in
 * between later without the protocol code noticing.
 *
 * Two ways of use:
 *  - non-blocking (the default), for servers on an event loop: a call that
 *    cannot finish returns STREAM_AGAIN and stream_wants() says which
 *    readiness of stream_fd() to wait for before calling again;
 *  - blocking with a timeout (stream_set_timeout()), for simple
 *    request/response clients: reads and stream_flush() wait with poll(2)
 *    up to the timeout, in total per call, and return STREAM_TIMEOUT when it
 *    expires. They never return STREAM_AGAIN.
 *
 * Memory is bounded: the input buffer holds at most max(line limit + 2,
 * STREAM_CHUNK) bytes, or the n of a stream_read_exact() call when larger.
 * The output buffer holds what the caller wrote and has not yet flushed.
 *
 * After STREAM_ERROR (see stream_errno()) the stream is unusable except for
 * stream_destroy(); after STREAM_EOF every further read reports EOF again.
 * STREAM_TIMEOUT leaves the stream intact: the caller may try again.
 */
#ifndef TERN_STREAM_H
#define TERN_STREAM_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/strbuf.h"

/* Readiness wanted by a blocked transport (bit mask). */
#define STREAM_WANT_READ 0x1u
#define STREAM_WANT_WRITE 0x2u

/* Bytes read from the transport at a time (and the least input buffer size). */
#define STREAM_CHUNK 4096
/* Line limit of a new stream (bytes, not counting the CRLF or LF). */
#define STREAM_DEFAULT_LINE_LIMIT 8192

/* The transport under a stream. ctx is the pointer given to stream_set_io(). */
struct stream_io {
	/* like read(2)/write(2): -1 with errno (EAGAIN when it would block) */
	ssize_t (*read)(void *ctx, void *buf, size_t len);
	ssize_t (*write)(void *ctx, const void *buf, size_t len);
	/*
	 * after EAGAIN: which readiness to wait for, STREAM_WANT_READ and/or
	 * STREAM_WANT_WRITE (a TLS layer may need the other direction). May be
	 * NULL: then a blocked read wants READ and a blocked write wants WRITE.
	 */
	unsigned (*wants)(void *ctx);
};

enum stream_status {
	STREAM_OK = 0,	 /* done */
	STREAM_AGAIN,	 /* would block (non-blocking mode only): wait for stream_wants() */
	STREAM_TOO_LONG, /* read_line: a line over the limit was discarded, up to its end */
	STREAM_PARTIAL,	 /* read_line: the last line before EOF had no line ending; returned */
	STREAM_EOF,	 /* the peer closed, and no buffered input answers the call */
	STREAM_TIMEOUT,	 /* blocking mode: the timeout expired; the stream stays usable */
	STREAM_ERROR,	 /* the transport failed: see stream_errno() */
};

/* How the last line returned by stream_read_line() ended. */
enum stream_eol {
	STREAM_EOL_NONE, /* no line ending (STREAM_PARTIAL) */
	STREAM_EOL_LF,	 /* a bare LF */
	STREAM_EOL_CRLF, /* CR LF */
};

struct stream;

/*
 * stream_create - wrap fd, which the stream owns from now on (closed by
 * stream_destroy()), and set O_NONBLOCK on it. A descriptor that is not open
 * is a programming error (msg_panic).
 */
struct stream *stream_create(int fd);
/* stream_destroy - close the descriptor, free everything, set *sp to NULL. NULL is allowed. */
void stream_destroy(struct stream **sp);
/* stream_fd - the descriptor, to wait for readiness on. */
int stream_fd(const struct stream *s);

/*
 * stream_set_io - use io (with ctx) as transport from now on; io NULL
 * restores plain read/write on the descriptor. Buffered data is kept: a
 * caller starting TLS should first make sure stream_pending_input() is 0.
 */
void stream_set_io(struct stream *s, const struct stream_io *io, void *ctx);

/* stream_set_line_limit - longest line stream_read_line() accepts, without its CRLF/LF (>= 1). */
void stream_set_line_limit(struct stream *s, size_t limit);
size_t stream_line_limit(const struct stream *s);

/*
 * stream_set_timeout - timeout_ms > 0: blocking mode, in which each read and
 * each flush waits up to timeout_ms in total; 0: non-blocking mode (default).
 */
void stream_set_timeout(struct stream *s, int timeout_ms);
/* stream_timeout - the timeout of blocking mode, 0 in non-blocking mode. */
int stream_timeout(const struct stream *s);

/*
 * stream_read_line - replace the contents of line with the next line,
 * without its ending (CRLF or a bare LF; stream_last_eol() tells which).
 * Returns:
 *  STREAM_OK        a line is in line;
 *  STREAM_AGAIN     no whole line buffered yet;
 *  STREAM_TOO_LONG  a line longer than the limit was read and dropped up
 *                   to and including its end (or up to EOF); the next call
 *                   reads the line after it. line is empty.
 *  STREAM_PARTIAL   input ended with an unterminated line, now in line;
 *                   the next call returns STREAM_EOF;
 *  STREAM_EOF, STREAM_TIMEOUT, STREAM_ERROR.
 * Lines buffered before an EOF or error are returned first.
 */
enum stream_status stream_read_line(struct stream *s, struct strbuf *line);
/* stream_last_eol - the ending of the line last returned by stream_read_line(). */
enum stream_eol stream_last_eol(const struct stream *s);

/*
 * stream_read_exact - replace the contents of out with exactly n bytes.
 * STREAM_AGAIN while fewer are buffered (nothing is consumed); STREAM_EOF if
 * the input ends before n bytes (what did arrive stays buffered). Up to n
 * bytes are held in memory: n must be bounded by the caller.
 */
enum stream_status stream_read_exact(struct stream *s, struct strbuf *out, size_t n);

/*
 * stream_read_some - replace the contents of out with between 1 and max
 * (>= 1) bytes, whatever is available. STREAM_EOF when nothing is left.
 */
enum stream_status stream_read_some(struct stream *s, struct strbuf *out, size_t max);

/*
 * Direct access to the input buffer, for decoders that consume input as it
 * comes: stream_peek() returns the buffered bytes (and their number in
 * *len_r) without consuming them; stream_skip() consumes len of them (no
 * more than are buffered); stream_fill() reads more: STREAM_OK when new
 * bytes were added (or the buffer is already full: consume first),
 * STREAM_AGAIN, STREAM_EOF, STREAM_TIMEOUT or STREAM_ERROR.
 */
const void *stream_peek(const struct stream *s, size_t *len_r);
void stream_skip(struct stream *s, size_t len);
enum stream_status stream_fill(struct stream *s);
/* stream_pending_input - bytes read from the transport and not yet consumed. */
size_t stream_pending_input(const struct stream *s);

/* Buffered output: nothing is sent before stream_flush(). */
void stream_write(struct stream *s, const void *data, size_t len);
void stream_puts(struct stream *s, const char *str);
void stream_printf(struct stream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void stream_vprintf(struct stream *s, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * stream_flush - send the buffered output: STREAM_OK when all of it is sent,
 * STREAM_AGAIN (non-blocking mode) when the transport would block with some
 * left, STREAM_TIMEOUT (blocking mode) or STREAM_ERROR.
 */
enum stream_status stream_flush(struct stream *s);
/* stream_pending_output - bytes written and not yet sent. */
size_t stream_pending_output(const struct stream *s);

/*
 * stream_wants - which readiness of stream_fd() to wait for before calling
 * again (STREAM_WANT_READ and/or STREAM_WANT_WRITE): what the transport
 * asked for when a read or a flush last returned STREAM_AGAIN, plus WRITE
 * when output waits to be flushed; READ when nothing is pending at all.
 */
unsigned stream_wants(const struct stream *s);

/* stream_errno - the errno of the failure behind STREAM_ERROR (0 if none). */
int stream_errno(const struct stream *s);
/* stream_status_str - a short English name for a status, for messages. */
const char *stream_status_str(enum stream_status status);

#endif
