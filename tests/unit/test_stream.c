/*
 * test_stream - buffered non-blocking streams: lines, limits, exact reads,
 * flushing into a full socket, blocking mode with timeouts, transports.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/mymalloc.h"
#include "util/stream.h"
#include "util/strbuf.h"

/* A scripted transport: hands out data in pieces of at most chunk bytes,
 * failing with EAGAIN before each piece, then reports EOF. */
struct script {
	const char *data;
	size_t len;
	size_t pos;
	size_t chunk;
	int blocked; /* the next read succeeds */
	unsigned wants;
};

static ssize_t script_read(void *ctx, void *buf, size_t len)
{
	struct script *sc = ctx;
	size_t n;

	if (!sc->blocked) {
		sc->blocked = 1;
		errno = EAGAIN;
		return -1;
	}
	sc->blocked = 0;
	n = sc->len - sc->pos;
	if (n > sc->chunk)
		n = sc->chunk;
	if (n > len)
		n = len;
	memcpy(buf, sc->data + sc->pos, n);
	sc->pos += n;
	return (ssize_t)n;
}

static ssize_t script_write(void *ctx, const void *buf, size_t len)
{
	errno = EAGAIN;
	return -1;
}

static unsigned script_wants(void *ctx)
{
	struct script *sc = ctx;

	return sc->wants;
}

static const struct stream_io script_io = {script_read, script_write, script_wants};

static void make_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void put(int fd, const void *data, size_t len)
{
	assert_int_equal(write(fd, data, len), (ssize_t)len);
}

static void puts_fd(int fd, const char *str)
{
	put(fd, str, strlen(str));
}

static long long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000LL + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Table of line-reading cases: the input, the limit, the expected results. */
struct line_result {
	enum stream_status status;
	const char *line;
	enum stream_eol eol;
};

struct line_case {
	const char *name;
	const char *input;
	size_t limit;
	struct line_result expect[8]; /* ends with STREAM_EOF */
};

static const struct line_case line_cases[] = {
    {"lf and crlf",
     "one\ntwo\r\nthree\n",
     100,
     {{STREAM_OK, "one", STREAM_EOL_LF},
      {STREAM_OK, "two", STREAM_EOL_CRLF},
      {STREAM_OK, "three", STREAM_EOL_LF},
      {STREAM_EOF, "", 0}}},
    {"empty lines",
     "\n\r\n\n",
     100,
     {{STREAM_OK, "", STREAM_EOL_LF},
      {STREAM_OK, "", STREAM_EOL_CRLF},
      {STREAM_OK, "", STREAM_EOL_LF},
      {STREAM_EOF, "", 0}}},
    {"no final newline",
     "abc\ndef",
     100,
     {{STREAM_OK, "abc", STREAM_EOL_LF},
      {STREAM_PARTIAL, "def", STREAM_EOL_NONE},
      {STREAM_EOF, "", 0}}},
    {"empty input", "", 100, {{STREAM_EOF, "", 0}}},
    {"bare cr stays in the line",
     "a\rb\r\n",
     100,
     {{STREAM_OK, "a\rb", STREAM_EOL_CRLF}, {STREAM_EOF, "", 0}}},
    {"exactly at the limit",
     "0123456789\r\n0123456789\n",
     10,
     {{STREAM_OK, "0123456789", STREAM_EOL_CRLF},
      {STREAM_OK, "0123456789", STREAM_EOL_LF},
      {STREAM_EOF, "", 0}}},
    {"one over the limit",
     "01234567890\r\nnext\n012345678901\nlast\n",
     10,
     {{STREAM_TOO_LONG, "", 0},
      {STREAM_OK, "next", STREAM_EOL_LF},
      {STREAM_TOO_LONG, "", 0},
      {STREAM_OK, "last", STREAM_EOL_LF},
      {STREAM_EOF, "", 0}}},
    {"limit then cr without lf",
     "0123456789\rX\nok\n",
     10,
     {{STREAM_TOO_LONG, "", 0}, {STREAM_OK, "ok", STREAM_EOL_LF}, {STREAM_EOF, "", 0}}},
    {"overlong at eof", "abcdefghijklmnop", 4, {{STREAM_TOO_LONG, "", 0}, {STREAM_EOF, "", 0}}},
    {"partial at the limit",
     "ab\nabcd",
     4,
     {{STREAM_OK, "ab", STREAM_EOL_LF},
      {STREAM_PARTIAL, "abcd", STREAM_EOL_NONE},
      {STREAM_EOF, "", 0}}},
    {"partial over the limit with cr",
     "abcd\r",
     4,
     {{STREAM_TOO_LONG, "", 0}, {STREAM_EOF, "", 0}}},
};

/* run_line_case - read all lines of c through the script transport in chunks of chunk bytes. */
static void run_line_case(const struct line_case *c, size_t chunk)
{
	struct script sc = {c->input, strlen(c->input), 0, chunk, 0, 0};
	struct strbuf line = STRBUF_INIT;
	enum stream_status st;
	struct stream *s;
	int sv[2], i = 0, agains = 0;

	make_pair(sv);
	s = stream_create(sv[0]);
	stream_set_io(s, &script_io, &sc);
	stream_set_line_limit(s, c->limit);
	for (;;) {
		st = stream_read_line(s, &line);
		if (st == STREAM_AGAIN) {
			assert_int_equal(stream_wants(s), STREAM_WANT_READ);
			assert_true(++agains < 100000);
			continue;
		}
		/* memory stays bounded by the limit */
		assert_true(stream_pending_input(s) <=
			    (c->limit + 2 > STREAM_CHUNK ? c->limit + 2 : STREAM_CHUNK));
		if (st != c->expect[i].status)
			fail_msg("case \"%s\" chunk %zu result %d: status %s, expected %s", c->name,
				 chunk, i, stream_status_str(st),
				 stream_status_str(c->expect[i].status));
		assert_string_equal(strbuf_str(&line), c->expect[i].line);
		if (st == STREAM_OK || st == STREAM_PARTIAL)
			assert_int_equal(stream_last_eol(s), c->expect[i].eol);
		if (st == STREAM_EOF)
			break;
		i++;
	}
	/* EOF is sticky */
	assert_int_equal(stream_read_line(s, &line), STREAM_EOF);
	stream_destroy(&s);
	close(sv[1]);
	strbuf_free(&line);
}

static void test_line_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		run_line_case(&line_cases[i], 1);
		run_line_case(&line_cases[i], 3);
		run_line_case(&line_cases[i], 4096);
	}
}

static void test_lines_over_socket_one_byte_at_a_time(void **state)
{
	const char *input = "EHLO client.example\r\nMAIL FROM:<a@b>\n";
	struct strbuf line = STRBUF_INIT;
	struct stream *s;
	size_t i;
	int sv[2];

	make_pair(sv);
	s = stream_create(sv[0]);
	assert_int_equal(stream_fd(s), sv[0]);
	for (i = 0; input[i] != '\n'; i++) {
		assert_int_equal(stream_read_line(s, &line), STREAM_AGAIN);
		put(sv[1], input + i, 1);
	}
	put(sv[1], input + i, 1);
	assert_int_equal(stream_read_line(s, &line), STREAM_OK);
	assert_string_equal(strbuf_str(&line), "EHLO client.example");
	assert_int_equal(stream_last_eol(s), STREAM_EOL_CRLF);
	for (i++; input[i] != '\0'; i++) {
		assert_int_equal(stream_read_line(s, &line), STREAM_AGAIN);
		put(sv[1], input + i, 1);
	}
	assert_int_equal(stream_read_line(s, &line), STREAM_OK);
	assert_string_equal(strbuf_str(&line), "MAIL FROM:<a@b>");
	assert_int_equal(stream_last_eol(s), STREAM_EOL_LF);
	assert_int_equal(stream_read_line(s, &line), STREAM_AGAIN);
	close(sv[1]);
	assert_int_equal(stream_read_line(s, &line), STREAM_EOF);
	stream_destroy(&s);
	assert_null(s);
	strbuf_free(&line);
}

static void test_overlong_line_is_bounded(void **state)
{
	struct strbuf line = STRBUF_INIT;
	char big[20000];
	struct stream *s;
	int sv[2];
	size_t sent;

	make_pair(sv);
	s = stream_create(sv[0]);
	stream_set_line_limit(s, 100);
	assert_int_equal(stream_line_limit(s), 100);
	memset(big, 'x', sizeof(big));
	for (sent = 0; sent < 200000; sent += sizeof(big)) {
		put(sv[1], big, sizeof(big));
		while (stream_read_line(s, &line) == STREAM_AGAIN && stream_pending_input(s) > 0)
			;
		assert_true(stream_pending_input(s) <= STREAM_CHUNK);
	}
	assert_int_equal(stream_read_line(s, &line), STREAM_AGAIN);
	puts_fd(sv[1], "tail of the long line\r\nQUIT\r\n");
	assert_int_equal(stream_read_line(s, &line), STREAM_TOO_LONG);
	assert_int_equal(line.len, 0);
	assert_int_equal(stream_read_line(s, &line), STREAM_OK);
	assert_string_equal(strbuf_str(&line), "QUIT");
	stream_destroy(&s);
	close(sv[1]);
	strbuf_free(&line);
}

static void test_pipelined_lines_need_no_reads(void **state)
{
	struct script sc = {"a\nb\nc\n", 6, 0, 4096, 1, 0};
	struct strbuf line = STRBUF_INIT;
	struct stream *s;
	int sv[2];

	make_pair(sv);
	s = stream_create(sv[0]);
	stream_set_io(s, &script_io, &sc);
	assert_int_equal(stream_read_line(s, &line), STREAM_OK);
	assert_int_equal(stream_pending_input(s), 4);
	assert_int_equal(stream_read_line(s, &line), STREAM_OK);
	assert_int_equal(stream_read_line(s, &line), STREAM_OK);
	assert_string_equal(strbuf_str(&line), "c");
	assert_int_equal(sc.pos, 6);
	assert_int_equal(stream_pending_input(s), 0);
	stream_destroy(&s);
	close(sv[1]);
	strbuf_free(&line);
}

static void test_read_exact(void **state)
{
	struct strbuf out = STRBUF_INIT;
	struct stream *s;
	char big[30000];
	size_t i;
	int sv[2];

	make_pair(sv);
	s = stream_create(sv[0]);
	put(sv[1], "HEL", 3);
	assert_int_equal(stream_read_exact(s, &out, 5), STREAM_AGAIN);
	assert_int_equal(stream_pending_input(s), 3);
	put(sv[1], "LO\0WORLD\nrest", 13);
	assert_int_equal(stream_read_exact(s, &out, 5), STREAM_OK);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data, "HELLO", 5);
	assert_int_equal(stream_read_exact(s, &out, 7), STREAM_OK);
	assert_memory_equal(out.data, "\0WORLD\n", 7);
	assert_int_equal(stream_read_exact(s, &out, 0), STREAM_OK);
	assert_int_equal(out.len, 0);

	/* larger than the input buffer: grows to n */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	assert_int_equal(stream_read_exact(s, &out, 4 + sizeof(big)), STREAM_AGAIN);
	put(sv[1], big, 10000);
	assert_int_equal(stream_read_exact(s, &out, 4 + sizeof(big)), STREAM_AGAIN);
	put(sv[1], big + 10000, sizeof(big) - 10000);
	while (stream_read_exact(s, &out, 4 + sizeof(big)) == STREAM_AGAIN)
		;
	assert_int_equal(out.len, 4 + sizeof(big));
	assert_memory_equal(out.data, "rest", 4);
	assert_memory_equal(out.data + 4, big, sizeof(big));

	/* EOF before n bytes: what arrived stays readable */
	put(sv[1], "abc", 3);
	close(sv[1]);
	assert_int_equal(stream_read_exact(s, &out, 10), STREAM_EOF);
	assert_int_equal(stream_read_some(s, &out, 100), STREAM_OK);
	assert_string_equal(strbuf_str(&out), "abc");
	assert_int_equal(stream_read_some(s, &out, 100), STREAM_EOF);
	stream_destroy(&s);
	strbuf_free(&out);
}

static void test_read_some(void **state)
{
	struct strbuf out = STRBUF_INIT;
	struct stream *s;
	int sv[2];

	make_pair(sv);
	s = stream_create(sv[0]);
	assert_int_equal(stream_read_some(s, &out, 4), STREAM_AGAIN);
	puts_fd(sv[1], "0123456789");
	assert_int_equal(stream_read_some(s, &out, 4), STREAM_OK);
	assert_string_equal(strbuf_str(&out), "0123");
	assert_int_equal(stream_read_some(s, &out, 100), STREAM_OK);
	assert_string_equal(strbuf_str(&out), "456789");
	assert_int_equal(stream_read_some(s, &out, 100), STREAM_AGAIN);
	close(sv[1]);
	assert_int_equal(stream_read_some(s, &out, 100), STREAM_EOF);
	stream_destroy(&s);
	strbuf_free(&out);
}

static void test_peek_skip_fill(void **state)
{
	struct stream *s;
	const char *p;
	size_t len;
	int sv[2];

	make_pair(sv);
	s = stream_create(sv[0]);
	p = stream_peek(s, &len);
	assert_int_equal(len, 0);
	assert_int_equal(stream_fill(s), STREAM_AGAIN);
	puts_fd(sv[1], "abcdef");
	assert_int_equal(stream_fill(s), STREAM_OK);
	p = stream_peek(s, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(p, "abcdef", 6);
	stream_skip(s, 2);
	p = stream_peek(s, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(p, "cdef", 4);
	puts_fd(sv[1], "gh");
	assert_int_equal(stream_fill(s), STREAM_OK);
	p = stream_peek(s, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(p, "cdefgh", 6);
	stream_skip(s, 6);
	assert_int_equal(stream_pending_input(s), 0);
	close(sv[1]);
	assert_int_equal(stream_fill(s), STREAM_EOF);
	stream_destroy(&s);
}

/* drain - read what is available on fd, appending to got. */
static void drain(int fd, struct strbuf *got)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_append(got, buf, (size_t)n);
	assert_true(n < 0 && errno == EAGAIN);
}

static void test_flush_into_full_socket(void **state)
{
	const size_t total = 4 << 20;
	struct strbuf got = STRBUF_INIT;
	enum stream_status st;
	struct stream *s;
	size_t i, rounds = 0;
	int sv[2];

	make_pair(sv);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	s = stream_create(sv[0]);
	for (i = 0; i < total / 16; i++)
		stream_printf(s, "%015zu\n", i);
	assert_int_equal(stream_pending_output(s), total);
	assert_int_equal(stream_wants(s), STREAM_WANT_WRITE);
	st = stream_flush(s);
	assert_int_equal(st, STREAM_AGAIN);
	assert_true(stream_pending_output(s) > 0);
	assert_true(stream_pending_output(s) < total);
	assert_true(stream_wants(s) & STREAM_WANT_WRITE);
	while (st == STREAM_AGAIN) {
		drain(sv[1], &got);
		st = stream_flush(s);
		rounds++;
	}
	assert_int_equal(st, STREAM_OK);
	assert_int_equal(stream_pending_output(s), 0);
	assert_int_equal(stream_wants(s), STREAM_WANT_READ);
	drain(sv[1], &got);
	assert_true(rounds > 0);
	assert_int_equal(got.len, total);
	for (i = 0; i < total / 16; i += 4099) {
		char expect[17];

		snprintf(expect, sizeof(expect), "%015zu\n", i);
		assert_memory_equal(got.data + i * 16, expect, 16);
	}
	stream_destroy(&s);
	close(sv[1]);
	strbuf_free(&got);
}

static void test_write_to_closed_peer(void **state)
{
	struct stream *s;
	int sv[2];

	make_pair(sv);
	s = stream_create(sv[0]);
	close(sv[1]);
	stream_puts(s, "hello\r\n");
	/* a socket: no SIGPIPE, which would end this test */
	assert_int_equal(stream_flush(s), STREAM_ERROR);
	assert_int_equal(stream_errno(s), EPIPE);
	assert_int_equal(stream_flush(s), STREAM_ERROR);
	stream_destroy(&s);
}

static void test_pipe_transport(void **state)
{
	struct strbuf line = STRBUF_INIT;
	struct stream *r, *w;
	int p[2];

	assert_int_equal(pipe(p), 0);
	r = stream_create(p[0]);
	w = stream_create(p[1]);
	stream_printf(w, "%s %d\n", "pipe", 42);
	assert_int_equal(stream_flush(w), STREAM_OK);
	assert_int_equal(stream_read_line(r, &line), STREAM_OK);
	assert_string_equal(strbuf_str(&line), "pipe 42");
	stream_destroy(&w);
	assert_int_equal(stream_read_line(r, &line), STREAM_EOF);
	stream_destroy(&r);
	strbuf_free(&line);
}

static void test_destroy_closes_fd(void **state)
{
	struct stream *s = NULL;
	int sv[2];

	stream_destroy(&s);
	make_pair(sv);
	s = stream_create(sv[0]);
	assert_true(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	stream_destroy(&s);
	assert_null(s);
	assert_int_equal(fcntl(sv[0], F_GETFL), -1);
	assert_int_equal(errno, EBADF);
	close(sv[1]);
}

static void test_transport_wants_other_direction(void **state)
{
	struct script sc = {"x\n", 2, 0, 4096, 0, STREAM_WANT_WRITE};
	struct strbuf line = STRBUF_INIT;
	struct stream *s;
	char buf[4];
	int sv[2];

	make_pair(sv);
	s = stream_create(sv[0]);
	stream_set_io(s, &script_io, &sc);
	assert_int_equal(stream_read_line(s, &line), STREAM_AGAIN);
	assert_int_equal(stream_wants(s), STREAM_WANT_WRITE);
	assert_int_equal(stream_read_line(s, &line), STREAM_OK);
	assert_string_equal(strbuf_str(&line), "x");
	assert_int_equal(stream_wants(s), STREAM_WANT_READ);
	sc.wants = STREAM_WANT_READ;
	stream_puts(s, "out");
	assert_int_equal(stream_flush(s), STREAM_AGAIN);
	assert_int_equal(stream_wants(s), STREAM_WANT_READ);
	/* back to the plain transport: the buffered output goes to the socket */
	stream_set_io(s, NULL, NULL);
	assert_int_equal(stream_flush(s), STREAM_OK);
	assert_int_equal(read(sv[1], buf, 3), 3);
	assert_memory_equal(buf, "out", 3);
	stream_destroy(&s);
	close(sv[1]);
	strbuf_free(&line);
}

static void test_blocking_read_timeout(void **state)
{
	struct strbuf line = STRBUF_INIT;
	struct timespec start;
	struct stream *s;
	long long ms;
	int sv[2];

	make_pair(sv);
	s = stream_create(sv[0]);
	stream_set_timeout(s, 150);
	assert_int_equal(stream_timeout(s), 150);
	puts_fd(sv[1], "partial");
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(stream_read_line(s, &line), STREAM_TIMEOUT);
	ms = elapsed_ms(&start);
	assert_true(ms >= 140);
	assert_true(ms < 2000);
	/* the stream stays usable after a timeout */
	puts_fd(sv[1], " line\r\n");
	assert_int_equal(stream_read_line(s, &line), STREAM_OK);
	assert_string_equal(strbuf_str(&line), "partial line");
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(stream_read_exact(s, &line, 1), STREAM_TIMEOUT);
	assert_true(elapsed_ms(&start) >= 140);
	stream_set_timeout(s, 0);
	assert_int_equal(stream_read_line(s, &line), STREAM_AGAIN);
	stream_destroy(&s);
	close(sv[1]);
	strbuf_free(&line);
}

static void test_blocking_flush_timeout(void **state)
{
	char chunk[65536];
	struct timespec start;
	struct stream *s;
	size_t i;
	int sv[2];

	make_pair(sv);
	s = stream_create(sv[0]);
	stream_set_timeout(s, 100);
	memset(chunk, 'z', sizeof(chunk));
	for (i = 0; i < 64; i++)
		stream_write(s, chunk, sizeof(chunk));
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(stream_flush(s), STREAM_TIMEOUT);
	assert_true(elapsed_ms(&start) >= 90);
	assert_true(stream_pending_output(s) > 0);
	stream_destroy(&s);
	close(sv[1]);
}

static void test_blocking_waits_for_peer(void **state)
{
	struct strbuf line = STRBUF_INIT;
	struct stream *s;
	int sv[2], status;
	pid_t pid;

	make_pair(sv);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec pause = {0, 50 * 1000000};
		char buf[4];

		close(sv[0]);
		nanosleep(&pause, NULL);
		if (write(sv[1], "late ", 5) != 5)
			_exit(1);
		nanosleep(&pause, NULL);
		if (write(sv[1], "reply\n", 6) != 6)
			_exit(1);
		/* echo back what the parent flushes */
		if (read(sv[1], buf, 4) != 4 || write(sv[1], buf, 4) != 4)
			_exit(1);
		_exit(0);
	}
	close(sv[1]);
	s = stream_create(sv[0]);
	stream_set_timeout(s, 5000);
	assert_int_equal(stream_read_line(s, &line), STREAM_OK);
	assert_string_equal(strbuf_str(&line), "late reply");
	stream_puts(s, "pong");
	assert_int_equal(stream_flush(s), STREAM_OK);
	assert_int_equal(stream_read_exact(s, &line, 4), STREAM_OK);
	assert_string_equal(strbuf_str(&line), "pong");
	assert_int_equal(stream_read_line(s, &line), STREAM_EOF);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	stream_destroy(&s);
	strbuf_free(&line);
}

static void test_status_names(void **state)
{
	assert_string_equal(stream_status_str(STREAM_OK), "ok");
	assert_string_equal(stream_status_str(STREAM_TIMEOUT), "timeout");
	assert_string_equal(stream_status_str(STREAM_TOO_LONG), "line too long");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_line_table),
	    cmocka_unit_test(test_lines_over_socket_one_byte_at_a_time),
	    cmocka_unit_test(test_overlong_line_is_bounded),
	    cmocka_unit_test(test_pipelined_lines_need_no_reads),
	    cmocka_unit_test(test_read_exact),
	    cmocka_unit_test(test_read_some),
	    cmocka_unit_test(test_peek_skip_fill),
	    cmocka_unit_test(test_flush_into_full_socket),
	    cmocka_unit_test(test_write_to_closed_peer),
	    cmocka_unit_test(test_pipe_transport),
	    cmocka_unit_test(test_destroy_closes_fd),
	    cmocka_unit_test(test_transport_wants_other_direction),
	    cmocka_unit_test(test_blocking_read_timeout),
	    cmocka_unit_test(test_blocking_flush_timeout),
	    cmocka_unit_test(test_blocking_waits_for_peer),
	    cmocka_unit_test(test_status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
