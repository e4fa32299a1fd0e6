/*
 * test_queue_file - queue files: record encoding, the reader's checks (every
 * kind of incomplete or corrupt file), the writer (round trips, long lines,
 * both ways of making files, nothing left after an abort or a kill), the
 * done-mark, the quarantine, and queue IDs (form, order, uniqueness across
 * processes).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mail/queue_file.h"
#include "mail/queue_id.h"
#include "mail/queue_writer.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* ---- a record list, assembled into a file with a matching Z record ---- */

struct rec {
	int type;
	const char *data; /* NULL: empty */
	size_t len;	  /* 0 with data: strlen(data) */
};

#define REC(t, d)                                                                                  \
	{                                                                                          \
		(t), (d), 0                                                                        \
	}
#define RCPT(addr)                                                                                 \
	{                                                                                          \
		QREC_RCPT, "0\0\0" addr, 3 + sizeof(addr) - 1                                      \
	}

static size_t rec_len(const struct rec *r)
{
	return r->len > 0 ? r->len : r->data != NULL ? strlen(r->data) : 0;
}

/*
 * assemble - the records into out; a Z record's data is computed from the
 * others (offsets, size, recipients; the body begins after the first empty
 * line), unless over is given.
 */
static void assemble(struct strbuf *out, const struct rec *recs, size_t n,
		     const struct queue_sizes *over)
{
	struct queue_sizes s = {0};
	char zbuf[QUEUE_SIZES_LEN + 1];
	size_t i, zdata = 0;
	int in_content = 0, body = 0;

	strbuf_reset(out);
	for (i = 0; i < n; i++) {
		size_t len = rec_len(&recs[i]);

		if (recs[i].type == QREC_SIZES) {
			memset(zbuf, '0', QUEUE_SIZES_LEN);
			zdata = out->len + 2;
			queue_rec_put(out, QREC_SIZES, zbuf, QUEUE_SIZES_LEN);
			continue;
		}
		if (recs[i].type == QREC_CONTENT) {
			s.content_offset = (long long)out->len;
			in_content = 1;
		} else if (recs[i].type == QREC_EXTRACTED) {
			s.extracted_offset = (long long)out->len;
			if (!body)
				s.body_offset = s.extracted_offset;
			in_content = 0;
		} else if (recs[i].type == QREC_RCPT || recs[i].type == QREC_DONE) {
			s.nrcpt++;
		} else if (in_content && recs[i].type == QREC_LINE) {
			s.size += (long long)len + 2;
			if (len == 0 && !body) {
				body = 1;
				s.body_offset = (long long)out->len + 2;
			}
		} else if (in_content && recs[i].type == QREC_PIECE) {
			s.size += (long long)len;
		}
		queue_rec_put(out, recs[i].type, recs[i].data, len);
	}
	if (zdata > 0) {
		queue_sizes_format(zbuf, over != NULL ? over : &s);
		memcpy(out->data + zdata, zbuf, QUEUE_SIZES_LEN);
	}
}

/* A valid file: header, empty line, body with a long line in pieces. */
static const struct rec good[] = {
    REC(QREC_VERSION, "1"),
    REC(QREC_SIZES, NULL),
    REC(QREC_TIME, "1700000000.123456"),
    REC(QREC_SENDER, "alice@example.org"),
    REC(QREC_FLAGS, "0"),
    REC(QREC_ENVID, "env-1"),
    REC(QREC_RET, "HDRS"),
    REC(QREC_ATTR, "client_addr=192.0.2.1"),
    RCPT("bob@example.org"),
    {QREC_RCPT, "6\0rfc822;carol@example.org\0carol@example.org", 44},
    REC(QREC_CONTENT, NULL),
    REC(QREC_LINE, "Subject: hi"),
    REC(QREC_LINE, ""),
    REC(QREC_PIECE, "abc"),
    REC(QREC_LINE, "def"),
    REC(QREC_LINE, "last line\r with a CR"),
    REC(QREC_EXTRACTED, NULL),
    REC(QREC_ATTR, "message_id=<x@y>"),
    REC(QREC_END, NULL),
};
#define NGOOD (sizeof(good) / sizeof(good[0]))

/* check_mem - queue_mem_check of the bytes: the kind of error (NONE when complete). */
static enum queue_error check_mem(const struct strbuf *f)
{
	enum queue_error kind = QUEUE_ERR_NONE;
	char *err = NULL;

	if (queue_mem_check(f->data, f->len, NULL, &kind, &err) == 0) {
		assert_null(err);
		return QUEUE_ERR_NONE;
	}
	assert_non_null(err);
	assert_true(kind == QUEUE_ERR_INCOMPLETE || kind == QUEUE_ERR_CORRUPT);
	free(err);
	return kind;
}

static void test_good_file(void **state)
{
	struct strbuf f = STRBUF_INIT;
	struct queue_summary sum;
	struct queue_reader *r;
	struct queue_rec rec;
	struct queue_rcpt rcpt;
	enum queue_read_status st;
	char *err = NULL;
	size_t i = 0;

	(void)state;
	assemble(&f, good, NGOOD, NULL);
	assert_int_equal(queue_mem_check(f.data, f.len, &sum, NULL, &err), 0);
	assert_int_equal(sum.sizes.nrcpt, 2);
	assert_int_equal(sum.ndone, 0);
	assert_int_equal(sum.lines, 4);
	assert_int_equal(sum.sizes.size, 13 + 2 + 8 + 22);
	assert_int_equal(sum.file_size, (long long)f.len);
	r = queue_reader_mem(f.data, f.len);
	while ((st = queue_reader_next(r, &rec, &err)) == QUEUE_READ_REC) {
		assert_true(i < NGOOD);
		assert_int_equal(rec.type, good[i].type);
		assert_int_equal(rec.data[rec.len], '\0');
		if (good[i].type != QREC_SIZES) {
			assert_int_equal(rec.len, rec_len(&good[i]));
			assert_memory_equal(rec.data, good[i].data ? good[i].data : "", rec.len);
		}
		if (rec.type == QREC_RCPT && i == 9) {
			assert_int_equal(queue_rcpt_parse(rec.data, rec.len, &rcpt, &err), 0);
			assert_string_equal(rcpt.address, "carol@example.org");
			assert_string_equal(rcpt.orcpt, "rfc822;carol@example.org");
			assert_int_equal(rcpt.notify, 6);
		}
		i++;
	}
	assert_int_equal(st, QUEUE_READ_END);
	assert_int_equal(rec.type, QREC_END);
	assert_int_equal(i, NGOOD - 1);
	assert_int_equal(queue_reader_error(r), QUEUE_ERR_NONE);
	/* reading on after the end is an error, not a second end */
	assert_int_equal(queue_reader_next(r, &rec, &err), QUEUE_READ_ERROR);
	free(err);
	queue_reader_free(&r);
	strbuf_free(&f);
}

/* Every proper prefix of a complete file is incomplete, never corrupt or complete. */
static void test_every_truncation_incomplete(void **state)
{
	struct strbuf f = STRBUF_INIT, part = STRBUF_INIT;
	size_t cut;

	(void)state;
	assemble(&f, good, NGOOD, NULL);
	for (cut = 0; cut < f.len; cut++) {
		strbuf_reset(&part);
		strbuf_append(&part, f.data, cut);
		assert_int_equal(check_mem(&part), QUEUE_ERR_INCOMPLETE);
	}
	strbuf_free(&f);
	strbuf_free(&part);
}

/* corrupt_case - good with record at (replace at index, or insert before it). */
struct corrupt_case {
	const char *what;
	size_t index;
	int insert; /* 1: insert before index; 0: replace; -1: delete */
	struct rec rec;
	const char *expect; /* in the error message */
};

static void test_corrupt_records(void **state)
{
	static const struct corrupt_case cases[] = {
	    {"no V first", 0, -1, {0}, "no V record"},
	    {"wrong version", 0, 0, REC(QREC_VERSION, "2"), "unknown format version"},
	    {"unknown type", 4, 1, REC('Q', "x"), "unknown record type"},
	    {"type NUL", 4, 1, {0, "x", 1}, "unknown record type"},
	    {"second sender", 4, 1, REC(QREC_SENDER, "x@y"), "second S record"},
	    {"no sender", 3, -1, {0}, "without its T, S or F"},
	    {"no time", 2, -1, {0}, "without its T, S or F"},
	    {"bad time", 2, 0, REC(QREC_TIME, "17000.1"), "bad arrival time"},
	    {"bad flags", 4, 0, REC(QREC_FLAGS, "01"), "bad flags"},
	    {"bad RET", 6, 0, REC(QREC_RET, "SOME"), "bad RET"},
	    {"RET with NUL", 6, 0, {QREC_RET, "FULL\0X", 6}, "bad RET"},
	    {"bad attribute", 7, 0, REC(QREC_ATTR, "Client=x"), "bad attribute"},
	    {"attribute without value", 7, 0, REC(QREC_ATTR, "client"), "bad attribute"},
	    {"bad recipient", 8, 0, {QREC_RCPT, "x\0\0a@b", 6}, "bad recipient"},
	    {"recipient without address", 8, 0, {QREC_RCPT, "0\0\0", 3}, "bad recipient"},
	    {"no recipients", 8, -1, {0}, "without recipients"}, /* then one is left: see below */
	    {"recipient in the content", 12, 1, RCPT("x@y"), "out of place in the content"},
	    {"sender in the content", 12, 1, REC(QREC_SENDER, "x@y"),
	     "out of place in the content"},
	    {"piece before X", 16, 1, REC(QREC_PIECE, "abc"), "out of place in the content"},
	    {"empty piece", 13, 0, REC(QREC_PIECE, ""), "empty C record"},
	    {"LF in a line", 11, 0, REC(QREC_LINE, "a\nb"), "line feed"},
	    {"M with data", 10, 0, REC(QREC_CONTENT, "x"), "non-empty marker"},
	    {"line in extracted", 17, 1, REC(QREC_LINE, "x"), "out of place in the extracted"},
	    {"no X", 16, -1, {0}, "body offset"},
	    {"no M", 10, -1, {0}, "out of place in the envelope"},
	    {"two V", 1, 1, REC(QREC_VERSION, "1"), "no valid Z record"},
	    {"E with data", 18, 0, REC(QREC_END, "x"), "non-empty marker"},
	    {"record after E", 19, 1, REC(QREC_ATTR, "a=b"), "data after the E record"},
	};
	struct rec recs[NGOOD + 1];
	struct strbuf f = STRBUF_INIT;
	enum queue_error kind;
	char *err = NULL;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct corrupt_case *c = &cases[i];

		n = 0;
		for (size_t j = 0; j <= NGOOD; j++) {
			if (j == c->index && c->insert == 1)
				recs[n++] = c->rec;
			if (j == NGOOD)
				break;
			if (j == c->index && c->insert == 0)
				recs[n++] = c->rec;
			else if (!(j == c->index && c->insert == -1))
				recs[n++] = good[j];
		}
		if (strcmp(c->what, "no recipients") == 0)
			n--, memmove(&recs[8], &recs[9], (n - 8) * sizeof(recs[0]));
		assemble(&f, recs, n, NULL);
		if (queue_mem_check(f.data, f.len, NULL, &kind, &err) == 0)
			fail_msg("%s: not found corrupt", c->what);
		if (kind != QUEUE_ERR_CORRUPT || strstr(err, c->expect) == NULL)
			fail_msg("%s: kind %d, error %s", c->what, (int)kind, err);
		free(err);
	}
	strbuf_free(&f);
}

/* A Z record that does not match the file is corruption. */
static void test_corrupt_sizes(void **state)
{
	struct strbuf f = STRBUF_INIT;
	struct queue_sizes right, wrong;
	long long *fields[] = {&wrong.size, &wrong.content_offset, &wrong.body_offset,
			       &wrong.extracted_offset, &wrong.nrcpt};
	struct queue_summary sum;
	char *err = NULL;
	size_t i;

	(void)state;
	assemble(&f, good, NGOOD, NULL);
	assert_int_equal(queue_mem_check(f.data, f.len, &sum, NULL, &err), 0);
	right = sum.sizes;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		wrong = right;
		*fields[i] += 1;
		assemble(&f, good, NGOOD, &wrong);
		assert_int_equal(check_mem(&f), QUEUE_ERR_CORRUPT);
	}
	/* a body offset inside a record */
	wrong = right;
	wrong.body_offset = right.body_offset + 1;
	assemble(&f, good, NGOOD, &wrong);
	assert_int_equal(check_mem(&f), QUEUE_ERR_CORRUPT);
	/* a Z record that is not numbers */
	assemble(&f, good, NGOOD, NULL);
	f.data[5 + 3] = 'x';
	assert_int_equal(check_mem(&f), QUEUE_ERR_CORRUPT);
	strbuf_free(&f);
}

/* Lengths: shortest form only, at most QUEUE_LEN_BYTES bytes, at most QUEUE_REC_MAX. */
static void test_corrupt_lengths(void **state)
{
	struct strbuf f = STRBUF_INIT, bad = STRBUF_INIT;
	static const unsigned char overlong[] = {'S', 0x81, 0x00};
	static const unsigned char toolong[] = {'S', 0x80, 0x80, 0x80, 0x01};
	static const unsigned char huge[] = {'S', 0xff, 0xff, 0x7f};
	const unsigned char *cases[] = {overlong, toolong, huge};
	size_t sizes[] = {sizeof(overlong), sizeof(toolong), sizeof(huge)};
	size_t i, head;

	(void)state;
	assemble(&f, good, NGOOD, NULL);
	/* V (3 bytes) Z (76) T (19): the S record starts after them */
	head = 3 + 76 + 2 + strlen("1700000000.123456");
	assert_int_equal(f.data[head], 'S');
	for (i = 0; i < 3; i++) {
		strbuf_reset(&bad);
		strbuf_append(&bad, f.data, head);
		strbuf_append(&bad, cases[i], sizes[i]);
		strbuf_append(&bad, f.data + head + 2, f.len - head - 2);
		assert_int_equal(check_mem(&bad), QUEUE_ERR_CORRUPT);
	}
	/* a length that runs past the end of the file: incomplete */
	strbuf_reset(&bad);
	strbuf_append(&bad, f.data, head);
	strbuf_append(&bad, "S\x7f", 2);
	assert_int_equal(check_mem(&bad), QUEUE_ERR_INCOMPLETE);
	strbuf_free(&f);
	strbuf_free(&bad);
}

/* ---- the writer, on disk ---- */

static int setup_dir(void **state)
{
	char *dir = xstrdup("/tmp/test_queue_file.XXXXXX");

	if (mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int teardown_dir(void **state)
{
	char *dir = *state, *cmd = xasprintf("rm -rf '%s'", dir);
	int ret = system(cmd);

	free(cmd);
	free(dir);
	return ret == 0 ? 0 : -1;
}

/* entries - the names in dir (other than . and ..), sorted, as one string "a b c". */
static char *entries(const char *dir)
{
	struct dirent **list;
	struct strbuf sb = STRBUF_INIT;
	int n, i;

	n = scandir(dir, &list, NULL, alphasort);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		if (strcmp(list[i]->d_name, ".") != 0 && strcmp(list[i]->d_name, "..") != 0) {
			if (sb.len > 0)
				strbuf_putc(&sb, ' ');
			strbuf_puts(&sb, list[i]->d_name);
		}
		free(list[i]);
	}
	free(list);
	return strbuf_detach(&sb);
}

static int open_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* write_message - a message with a header, a body and a line of long_len bytes. */
static struct queue_writer *write_message(int dirfd, unsigned flags, size_t long_len)
{
	struct queue_writer *w;
	char *err = NULL, *big = xmalloc(long_len + 1);
	size_t i;

	w = queue_writer_create(dirfd, flags, NULL, &err);
	assert_non_null(w);
	queue_writer_rec(w, QREC_SENDER, "a@example.org", 13);
	queue_writer_rec(w, QREC_FLAGS, "8", 1);
	queue_writer_attr(w, "helo", "client.example.org");
	queue_writer_rcpt(w, "b@example.org", NULL, 0);
	queue_writer_rcpt(w, "c@example.org", "rfc822;c@example.org", 2);
	queue_writer_content(w);
	queue_writer_line(w, "Subject: test", 13, true);
	queue_writer_line(w, "", 0, true);
	queue_writer_body(w);
	for (i = 0; i < long_len; i++)
		big[i] = (char)('a' + i % 26);
	queue_writer_line(w, big, long_len, true);
	/* a line given in three calls */
	queue_writer_line(w, "one ", 4, false);
	queue_writer_line(w, "two ", 4, false);
	queue_writer_line(w, "three", 5, true);
	queue_writer_extracted(w);
	queue_writer_attr(w, "message_id", "<m@example.org>");
	free(big);
	return w;
}

/* read_lines - the content lines of the queue file at path, reassembled, "\n"-joined. */
static char *read_lines(const char *path, struct queue_summary *sum)
{
	struct strbuf out = STRBUF_INIT;
	struct queue_reader *r;
	struct queue_rec rec;
	enum queue_read_status st;
	char *err = NULL;
	int fd = open(path, O_RDONLY), in_content = 0;

	assert_true(fd >= 0);
	assert_int_equal(queue_file_check(fd, sum, NULL, &err), 0);
	r = queue_reader_fd(fd);
	while ((st = queue_reader_next(r, &rec, &err)) == QUEUE_READ_REC) {
		if (rec.type == QREC_CONTENT)
			in_content = 1;
		else if (rec.type == QREC_EXTRACTED)
			in_content = 0;
		else if (in_content)
			strbuf_append(&out, rec.data, rec.len);
		if (in_content && rec.type == QREC_LINE)
			strbuf_putc(&out, '\n');
	}
	assert_int_equal(st, QUEUE_READ_END);
	queue_reader_free(&r);
	close(fd);
	return strbuf_detach(&out);
}

static void round_trip(const char *dir, unsigned flags, size_t long_len)
{
	int dirfd = open_dir(dir);
	struct queue_writer *w = write_message(dirfd, flags, long_len);
	struct queue_summary sum;
	char *err = NULL, *path, *names, *text;
	char id[QUEUE_ID_SIZE];

	snprintf(id, sizeof(id), "%s", queue_writer_id(w));
	assert_true(queue_id_valid(id));
	names = entries(dir);
	if (flags & QUEUE_WRITER_NAMED)
		assert_memory_equal(names, QUEUE_TEMP_PREFIX, strlen(QUEUE_TEMP_PREFIX));
	else
		assert_string_equal(names, ""); /* unnamed until commit */
	free(names);
	assert_int_equal(queue_writer_commit(w, NULL, &err), 0);
	queue_writer_free(&w);
	names = entries(dir);
	assert_string_equal(names, id);
	free(names);
	path = xasprintf("%s/%s", dir, id);
	text = read_lines(path, &sum);
	assert_int_equal(strlen(text), 13 + 1 + 1 + long_len + 1 + 13 + 1);
	assert_memory_equal(text, "Subject: test\n\nabcdefghij", 25);
	assert_string_equal(text + strlen(text) - 15, "\none two three\n");
	assert_int_equal(sum.sizes.size, 15 + 2 + (long long)long_len + 2 + 15);
	assert_int_equal(sum.sizes.nrcpt, 2);
	assert_int_equal(sum.lines, 4);
	free(text);
	unlink(path);
	free(path);
	close(dirfd);
}

static void test_writer_round_trip(void **state)
{
	const char *dir = *state;
	int dirfd = open_dir(dir);
	unsigned probed = queue_writer_probe(dirfd);

	close(dirfd);
	round_trip(dir, probed, 100);
	round_trip(dir, QUEUE_WRITER_NAMED, 100);
	/* long lines: pieces; and more than one write buffer of them */
	round_trip(dir, probed, QUEUE_LINE_PIECE);
	round_trip(dir, probed, QUEUE_LINE_PIECE + 1);
	round_trip(dir, QUEUE_WRITER_NAMED, 3 * QUEUE_WRITE_CHUNK + 17);
	round_trip(dir, probed, 3 * QUEUE_WRITE_CHUNK + 17);
}

/* An uncommitted writer leaves nothing: freed, or its process killed. */
static void test_writer_abort_leaves_nothing(void **state)
{
	const char *dir = *state;
	int dirfd = open_dir(dir), status;
	unsigned flags[2] = {queue_writer_probe(dirfd), QUEUE_WRITER_NAMED};
	struct queue_writer *w;
	unsigned removed = 99;
	char *names, *err = NULL;
	pid_t pid;
	size_t i;

	for (i = 0; i < 2; i++) {
		w = write_message(dirfd, flags[i], 200000);
		queue_writer_free(&w);
		names = entries(dir);
		assert_string_equal(names, "");
		free(names);
	}
	/* killed with a temporary file: it stays, and the sweep removes it */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		w = write_message(dirfd, QUEUE_WRITER_NAMED, 200000);
		kill(getpid(), SIGKILL);
		_exit(1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	names = entries(dir);
	assert_memory_equal(names, QUEUE_TEMP_PREFIX, strlen(QUEUE_TEMP_PREFIX));
	free(names);
	/* a live writer's file is kept, the dead one's is removed */
	w = write_message(dirfd, QUEUE_WRITER_NAMED, 10);
	assert_int_equal(queue_temp_sweep(dirfd, 0, &removed, &err), 0);
	assert_int_equal(removed, 1);
	names = entries(dir);
	assert_memory_equal(names, QUEUE_TEMP_PREFIX, strlen(QUEUE_TEMP_PREFIX));
	assert_null(strchr(names, ' '));
	free(names);
	queue_writer_free(&w);
	close(dirfd);
}

/* The done-mark: R becomes D in place; the file stays complete. */
static void test_mark_done(void **state)
{
	const char *dir = *state;
	int dirfd = open_dir(dir), fd;
	struct queue_writer *w = write_message(dirfd, queue_writer_probe(dirfd), 10);
	struct queue_summary sum;
	struct queue_reader *r;
	struct queue_rec rec;
	off_t offs[3];
	size_t n = 0;
	char *err = NULL, *path;

	assert_int_equal(queue_writer_commit(w, NULL, &err), 0);
	path = xasprintf("%s/%s", dir, queue_writer_id(w));
	queue_writer_free(&w);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	r = queue_reader_fd(fd);
	while (queue_reader_next(r, &rec, &err) == QUEUE_READ_REC)
		if (rec.type == QREC_RCPT)
			offs[n++] = rec.offset;
	queue_reader_free(&r);
	assert_int_equal(n, 2);
	assert_int_equal(queue_mark_done(fd, &offs[1], 1, &err), 0);
	assert_int_equal(queue_file_check(fd, &sum, NULL, &err), 0);
	assert_int_equal(sum.ndone, 1);
	assert_int_equal(sum.sizes.nrcpt, 2);
	/* again, and both at once: no change for the one done */
	assert_int_equal(queue_mark_done(fd, offs, 2, &err), 0);
	assert_int_equal(queue_file_check(fd, &sum, NULL, &err), 0);
	assert_int_equal(sum.ndone, 2);
	/* an offset that is no recipient record */
	offs[2] = 0;
	assert_int_equal(queue_mark_done(fd, &offs[2], 1, &err), -1);
	assert_non_null(strstr(err, "no recipient record"));
	free(err);
	offs[2] = 1 << 30;
	assert_int_equal(queue_mark_done(fd, &offs[2], 1, &err), -1);
	free(err);
	close(fd);
	unlink(path);
	free(path);
	close(dirfd);
}

/* An incomplete file on disk is found so, and moved to corrupt/. */
static void test_quarantine(void **state)
{
	const char *dir = *state;
	char *incoming = xasprintf("%s/incoming", dir), *corrupt = xasprintf("%s/corrupt", dir);
	char *path, *err = NULL, *names;
	enum queue_error kind;
	struct queue_writer *w;
	struct stat st;
	int dirfd, fd;

	assert_int_equal(mkdir(incoming, 0700), 0);
	assert_int_equal(mkdir(corrupt, 0700), 0);
	dirfd = open_dir(incoming);
	w = write_message(dirfd, QUEUE_WRITER_NAMED, 10);
	assert_int_equal(queue_writer_commit(w, NULL, &err), 0);
	path = xasprintf("%s/%s", incoming, queue_writer_id(w));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 1), 0);
	fd = open(path, O_RDONLY);
	assert_int_equal(queue_file_check(fd, NULL, &kind, &err), -1);
	assert_int_equal(kind, QUEUE_ERR_INCOMPLETE);
	free(err);
	close(fd);
	assert_int_equal(queue_file_quarantine(dir, "incoming", queue_writer_id(w), &err), 0);
	names = entries(corrupt);
	assert_string_equal(names, queue_writer_id(w));
	free(names);
	assert_int_equal(queue_file_quarantine(dir, "incoming", "../etc", &err), -1);
	free(err);
	queue_writer_free(&w);
	close(dirfd);
	free(path);
	free(incoming);
	free(corrupt);
}

/* ---- queue IDs ---- */

static void test_queue_id_form(void **state)
{
	char id[QUEUE_ID_SIZE], id2[QUEUE_ID_SIZE];
	long long t;

	(void)state;
	queue_id_make(id, 0, 0);
	assert_string_equal(id, "000000000000");
	queue_id_make(id, 1700000000123456LL, 31);
	assert_int_equal(strlen(id), QUEUE_ID_TIME_LEN + 1);
	assert_int_equal(queue_id_time(id, &t), 0);
	assert_int_equal(t, 1700000000123456LL);
	queue_id_make(id, 1700000000123456LL, ~0ULL);
	assert_int_equal(strlen(id), QUEUE_ID_MAX_LEN);
	assert_true(queue_id_valid(id));
	/* later time sorts later, whatever the inode */
	queue_id_make(id2, 1700000000123457LL, 0);
	assert_true(strcmp(id, id2) < 0);
	/* not IDs */
	assert_false(queue_id_valid(""));
	assert_false(queue_id_valid("00000000000"));	/* time only */
	assert_false(queue_id_valid(".tmp.123.456"));	/* temporary file */
	assert_false(queue_id_valid("0000000000001I")); /* I is no digit */
	assert_false(queue_id_valid("00000000000a"));	/* lower case */
	assert_true(queue_id_valid("00000000000"
				   "12"));
	assert_false(queue_id_valid("00000000000"
				    "012")); /* inode with a leading 0 */
	assert_false(queue_id_valid("00000000000"
				    "G000000000000")); /* 65 bits */
	assert_false(queue_id_valid("00000000000"
				    "10000000000000")); /* too long */
	assert_int_equal(queue_id_time("bad", &t), -1);
}

/* Writers in several processes at once: all IDs differ, and sort by arrival time. */
static void test_queue_id_unique_across_fork(void **state)
{
	enum { PROCS = 6, EACH = 40 };
	const char *dir = *state;
	int dirfd = open_dir(dir), pipefd[2], status;
	unsigned flags = queue_writer_probe(dirfd);
	char(*ids)[QUEUE_ID_SIZE] = xcalloc(PROCS * EACH, QUEUE_ID_SIZE);
	long long *times = xcalloc(PROCS * EACH, sizeof(long long)), t;
	size_t n = 0, i, j;
	pid_t pids[PROCS];
	FILE *in;

	assert_int_equal(pipe(pipefd), 0);
	for (i = 0; i < PROCS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] > 0)
			continue;
		close(pipefd[0]);
		for (j = 0; j < EACH; j++) {
			char *err = NULL, line[80];
			struct queue_writer *w = write_message(dirfd, flags, 10);
			struct timespec ts = queue_writer_arrival(w);
			int len;

			if (queue_writer_commit(w, NULL, &err) < 0)
				_exit(2);
			len = snprintf(line, sizeof(line), "%s %lld\n", queue_writer_id(w),
				       (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
			if (write(pipefd[1], line, (size_t)len) != len)
				_exit(3);
			queue_writer_free(&w);
		}
		_exit(0);
	}
	close(pipefd[1]);
	in = fdopen(pipefd[0], "r");
	while (n < PROCS * EACH && fscanf(in, "%31s %lld", ids[n], &times[n]) == 2)
		n++;
	fclose(in);
	for (i = 0; i < PROCS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(n, PROCS * EACH);
	for (i = 0; i < n; i++) {
		assert_true(queue_id_valid(ids[i]));
		assert_int_equal(queue_id_time(ids[i], &t), 0);
		assert_int_equal(t, times[i]);
		for (j = i + 1; j < n; j++) {
			assert_true(strcmp(ids[i], ids[j]) != 0);
			if (times[i] < times[j])
				assert_true(strcmp(ids[i], ids[j]) < 0);
			else if (times[i] > times[j])
				assert_true(strcmp(ids[i], ids[j]) > 0);
		}
	}
	free(ids);
	free(times);
	close(dirfd);
}

/* ---- record data helpers ---- */

static void test_record_data(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct queue_rcpt rcpt;
	struct queue_sizes s = {1, 2, 3, 4, 5}, t;
	char buf[QUEUE_SIZES_LEN + 1], *err = NULL;
	const char *value;
	size_t nlen;

	(void)state;
	queue_rcpt_format(&sb, "a@b", NULL, 0);
	assert_int_equal(queue_rcpt_parse(sb.data, sb.len, &rcpt, &err), 0);
	assert_string_equal(rcpt.address, "a@b");
	assert_string_equal(rcpt.orcpt, "");
	assert_int_equal(rcpt.notify, 0);
	assert_int_equal(queue_rcpt_parse("1\0x", 3, &rcpt, &err), -1);
	free(err);
	assert_int_equal(queue_rcpt_parse("99999\0\0a", 8, &rcpt, &err), -1);
	free(err);
	assert_int_equal(queue_rcpt_parse("1\0\0a\0b", 6, &rcpt, &err), -1);
	free(err);
	queue_sizes_format(buf, &s);
	assert_int_equal(strlen(buf), QUEUE_SIZES_LEN);
	assert_int_equal(queue_sizes_parse(buf, QUEUE_SIZES_LEN, &t), 0);
	assert_memory_equal(&s, &t, sizeof(s));
	buf[15] = '-';
	assert_int_equal(queue_sizes_parse(buf, QUEUE_SIZES_LEN, &t), -1);
	assert_int_equal(queue_attr_split("helo=x=y", 8, &nlen, &value), 0);
	assert_int_equal(nlen, 4);
	assert_string_equal(value, "x=y");
	assert_int_equal(queue_attr_split("=x", 2, &nlen, &value), -1);
	assert_int_equal(queue_attr_split("a-b=x", 5, &nlen, &value), -1);
	strbuf_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_file),
	    cmocka_unit_test(test_every_truncation_incomplete),
	    cmocka_unit_test(test_corrupt_records),
	    cmocka_unit_test(test_corrupt_sizes),
	    cmocka_unit_test(test_corrupt_lengths),
	    cmocka_unit_test(test_record_data),
	    cmocka_unit_test(test_queue_id_form),
	    cmocka_unit_test_setup_teardown(test_writer_round_trip, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_writer_abort_leaves_nothing, setup_dir,
					    teardown_dir),
	    cmocka_unit_test_setup_teardown(test_mark_done, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_quarantine, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_queue_id_unique_across_fork, setup_dir,
					    teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
