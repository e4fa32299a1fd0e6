/*
 * test_status_log - the per-message status logs: round trips with every
 * byte value, the record format and its CRC, torn and damaged records
 * (every truncation, every flipped byte), the repair of a torn line by the
 * next append, entry checks, lookups, removal, and concurrent appenders.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mail/status_log.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

#define QID "1NV0J3K6Q2W7G4F"

static int setup_dir(void **state)
{
	char *dir = xstrdup("/tmp/test_status_log.XXXXXX");
	const char *subs[] = {"bounce", "defer", "trace"};

	if (mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	for (size_t i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s", dir, subs[i]);
		int r = mkdir(p, 0700);

		free(p);
		if (r < 0)
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

static char *read_file(const char *path, size_t *len_r)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_append(&sb, buf, (size_t)n);
	close(fd);
	*len_r = sb.len;
	return sb.data != NULL ? strbuf_detach(&sb) : xstrdup("");
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void append_ok(const char *dir, enum status_log_kind kind, const struct status_entry *e)
{
	char *err = NULL;

	if (status_log_append(dir, kind, QID, e, &err) < 0)
		fail_msg("append: %s", err);
}

static void entry_equal(const struct status_entry *a, const struct status_entry *b)
{
	assert_string_equal(a->address, b->address);
	assert_string_equal(a->orcpt, b->orcpt != NULL ? b->orcpt : "");
	assert_int_equal(a->notify, b->notify);
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->status, b->status);
	assert_string_equal(a->dsn, b->dsn);
	assert_string_equal(a->text, b->text);
	assert_string_equal(a->relay, b->relay);
	assert_int_equal((long long)a->time, (long long)b->time);
	if (b->action != NULL)
		assert_string_equal(a->action, b->action);
}

static void test_round_trip(void **state)
{
	const char *dir = *state;
	char text[256];
	struct status_entry in[3] = {
	    {"alice@example.org", "rfc822;Alice@Example.org", 4, 120, 5, "5.1.1",
	     "550 5.1.1 <alice@example.org>: no such user", "mx.example.org[192.0.2.1]:25",
	     1700000000, NULL},
	    {"b%ob=x y@example.org", NULL, 0, -1, 4, "4.4.1", NULL, NULL, 1700000001, NULL},
	    {"j\xc3\xb6rg@\xc3\xa9xample.org", "utf-8;j\\x{F6}rg", 14, 7, 2, "2.0.0", text,
	     "[::1]:24", 1, "relayed"},
	};
	struct status_log log;
	char *err = NULL;

	/* text: every byte value but NUL, spaces and line ends included */
	for (int i = 1; i < 256; i++)
		text[i - 1] = (char)i;
	text[255] = '\0';
	for (int i = 0; i < 3; i++)
		append_ok(dir, STATUS_LOG_DEFER, &in[i]);
	assert_int_equal(status_log_read(dir, STATUS_LOG_DEFER, QID, &log, &err), 0);
	assert_int_equal(log.count, 3);
	assert_int_equal(log.skipped, 0);
	entry_equal(&log.entries[0], &in[0]);
	in[1].text = "none"; /* NULL text and relay are written as "none" */
	in[1].relay = "none";
	entry_equal(&log.entries[1], &in[1]);
	entry_equal(&log.entries[2], &in[2]);
	assert_string_equal(log.entries[0].action, "failed"); /* the defaults of the status */
	assert_string_equal(log.entries[1].action, "delayed");
	status_log_free(&log);

	/* the other kinds are other files */
	assert_int_equal(status_log_read(dir, STATUS_LOG_BOUNCE, QID, &log, &err), 0);
	assert_int_equal(log.count, 0);
	status_log_free(&log);
}

/* crc32_ref - the bitwise CRC-32 of zlib, as a reference. */
static uint32_t crc32_ref(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void test_format(void **state)
{
	struct status_entry e = {"a b@c",	  "", 2,   55, 5, "5.7.1", "550 no%",
				 "h[1.2.3.4]:25", 42, NULL};
	const char *want =
	    "address=a%20b@c orcpt= notify=2 offset=55 status=5 action=failed dsn=5.7.1 time=42 "
	    "relay=h[1.2.3.4]:25 text=550%20no%25 ";
	struct strbuf out = STRBUF_INIT;
	char crc[32];

	(void)state;
	assert_int_equal(crc32_ref("123456789", 9), 0xcbf43926u);
	status_log_format(&out, &e);
	snprintf(crc, sizeof(crc), "crc=%08x\n", (unsigned)crc32_ref(want, strlen(want)));
	assert_int_equal(out.len, strlen(want) + strlen(crc));
	assert_memory_equal(out.data, want, strlen(want));
	assert_string_equal(out.data + strlen(want), crc);
	strbuf_free(&out);
}

static void test_text_limit(void **state)
{
	const char *dir = *state;
	char *big = xmalloc(STATUS_LOG_TEXT_MAX + 100);
	struct status_entry e = {"a@b", "", 0, -1, 4, "4.0.0", big, "none", 5, NULL};
	struct status_log log;
	char *err = NULL;

	memset(big, 'x', STATUS_LOG_TEXT_MAX + 99);
	big[STATUS_LOG_TEXT_MAX + 99] = '\0';
	append_ok(dir, STATUS_LOG_DEFER, &e);
	assert_int_equal(status_log_read(dir, STATUS_LOG_DEFER, QID, &log, &err), 0);
	assert_int_equal(log.count, 1);
	assert_int_equal(strlen(log.entries[0].text), STATUS_LOG_TEXT_MAX);
	status_log_free(&log);
	free(big);
}

static void test_time_now(void **state)
{
	const char *dir = *state;
	struct status_entry e = {"a@b", "", 0, -1, 2, "2.0.0", "250 ok", "x[1.1.1.1]:25", 0, NULL};
	time_t before = time(NULL);
	struct status_log log;
	char *err = NULL;

	append_ok(dir, STATUS_LOG_TRACE, &e);
	assert_int_equal(status_log_read(dir, STATUS_LOG_TRACE, QID, &log, &err), 0);
	assert_int_equal(log.count, 1);
	assert_true(log.entries[0].time >= before && log.entries[0].time <= time(NULL));
	status_log_free(&log);
}

static void test_bad_entries(void **state)
{
	const char *dir = *state;
	const struct status_entry bad[] = {
	    {"", "", 0, -1, 5, "5.0.0", "x", "none", 1, NULL},
	    {NULL, "", 0, -1, 5, "5.0.0", "x", "none", 1, NULL},
	    {"a@b", "", 0, -1, 3, "3.0.0", "x", "none", 1, NULL},
	    {"a@b", "", 0, -1, 5, "4.0.0", "x", "none", 1, NULL},
	    {"a@b", "", 0, -1, 5, "5.0", "x", "none", 1, NULL},
	    {"a@b", "", 0, -1, 5, "5.1234.0", "x", "none", 1, NULL},
	    {"a@b", "", 0, -1, 5, "5.1.", "x", "none", 1, NULL},
	    {"a@b", "", 0, -1, 5, "5.1.1 ", "x", "none", 1, NULL},
	    {"a@b", "", 0, -1, 5, NULL, "x", "none", 1, NULL},
	    {"a@b", "", 0, -1, 2, "2.a.0", "x", "none", 1, NULL},
	};
	const struct status_entry bad_action[] = {
	    {"a@b", "", 0, -1, 5, "5.0.0", "x", "none", 1, "delivered"},
	    {"a@b", "", 0, -1, 4, "4.0.0", "x", "none", 1, "failed"},
	    {"a@b", "", 0, -1, 2, "2.0.0", "x", "none", 1, "delayed"},
	    {"a@b", "", 0, -1, 2, "2.0.0", "x", "none", 1, ""},
	};
	const struct status_entry good = {"a@b", "", 0, -1, 5, "5.123.999", "x", "none", 1, NULL};
	char *err = NULL, *path;
	struct stat st;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(status_log_append(dir, STATUS_LOG_BOUNCE, QID, &bad[i], &err), -1);
		assert_non_null(err);
		XFREE(err);
	}
	for (size_t i = 0; i < sizeof(bad_action) / sizeof(bad_action[0]); i++) {
		assert_int_equal(
		    status_log_append(dir, STATUS_LOG_BOUNCE, QID, &bad_action[i], &err), -1);
		assert_non_null(strstr(err, "action"));
		XFREE(err);
	}
	path = xasprintf("%s/bounce/%s", dir, QID);
	assert_int_equal(stat(path, &st), -1); /* nothing was written */
	assert_int_equal(status_log_append(dir, STATUS_LOG_BOUNCE, "../x", &good, &err), -1);
	XFREE(err);
	assert_int_equal(status_log_append(dir, STATUS_LOG_BOUNCE, "", &good, &err), -1);
	XFREE(err);
	append_ok(dir, STATUS_LOG_BOUNCE, &good);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	free(path);
}

/* two_records - a log of two records in *path; the text of the file into *data. */
static char *two_records(const char *dir, char **path_r, size_t *len_r, size_t *first_len_r)
{
	struct status_entry a = {"a@x", "", 0, 10, 4, "4.4.1", "connect failed", "none", 100, NULL};
	struct status_entry b = {"b@x",		  "",  0,   20, 4, "4.2.2", "452 full",
				 "m[2.2.2.2]:25", 101, NULL};
	struct strbuf one = STRBUF_INIT;

	*path_r = xasprintf("%s/defer/%s", dir, QID);
	unlink(*path_r);
	append_ok(dir, STATUS_LOG_DEFER, &a);
	append_ok(dir, STATUS_LOG_DEFER, &b);
	status_log_format(&one, &a);
	*first_len_r = one.len;
	strbuf_free(&one);
	return read_file(*path_r, len_r);
}

static void test_every_truncation(void **state)
{
	const char *dir = *state;
	size_t len, first;
	char *path, *data = two_records(dir, &path, &len, &first);

	for (size_t cut = 0; cut <= len; cut++) {
		struct status_log log;
		size_t want = cut == len ? 2 : cut >= first ? 1 : 0;

		status_log_parse(data, cut, &log);
		assert_int_equal(log.count, want);
		assert_int_equal(log.skipped, (cut == len || cut == first || cut == 0) ? 0 : 1);
		if (want >= 1)
			assert_string_equal(log.entries[0].address, "a@x");
		status_log_free(&log);
	}
	free(data);
	free(path);
}

static void test_every_flipped_byte(void **state)
{
	const char *dir = *state;
	size_t len, first;
	char *path, *data = two_records(dir, &path, &len, &first);

	for (size_t i = 0; i < len; i++) {
		struct status_log log;
		char saved = data[i];

		data[i] ^= 0x20;
		status_log_parse(data, len, &log);
		/* the damaged record is skipped; a damaged line end may join or cut records */
		assert_true(log.count <= 1);
		assert_true(log.skipped >= 1);
		if (log.count == 1)
			assert_string_equal(log.entries[0].address, i < first ? "b@x" : "a@x");
		status_log_free(&log);
		data[i] = saved;
	}
	free(data);
	free(path);
}

/* A torn last line is ended by the next append, whose record is then read. */
static void test_torn_then_append(void **state)
{
	const char *dir = *state;
	struct status_entry c = {"c@x", "", 2, 30, 5, "5.0.0", "gone", "none", 102, NULL};
	size_t len, first;
	char *path, *data = two_records(dir, &path, &len, &first);
	struct status_log log;
	char *err = NULL;

	write_file(path, data, first + 17); /* the second record torn */
	append_ok(dir, STATUS_LOG_DEFER, &c);
	assert_int_equal(status_log_read(dir, STATUS_LOG_DEFER, QID, &log, &err), 0);
	assert_int_equal(log.count, 2);
	assert_int_equal(log.skipped, 1);
	assert_string_equal(log.entries[0].address, "a@x");
	assert_string_equal(log.entries[1].address, "c@x");
	status_log_free(&log);

	/* garbage that looks nothing like a record, and empty lines */
	write_file(path, "\n\n\0\0\0garbage\n", 13);
	append_ok(dir, STATUS_LOG_DEFER, &c);
	assert_int_equal(status_log_read(dir, STATUS_LOG_DEFER, QID, &log, &err), 0);
	assert_int_equal(log.count, 1);
	assert_int_equal(log.skipped, 1);
	status_log_free(&log);
	free(data);
	free(path);
}

/* Well-formed lines with a matching CRC but bad contents are skipped too. */
static void test_bad_contents(void **state)
{
	const char *lines[] = {
	    "address= orcpt= notify=0 offset=-1 status=5 action=failed dsn=5.0.0 time=1 relay=none text=x ",
	    "address=a orcpt= notify=0 offset=-1 status=3 action=failed dsn=3.0.0 time=1 relay=none text=x ",
	    "address=a orcpt= notify=0 offset=-1 status=5 action=failed dsn=4.0.0 time=1 relay=none text=x ",
	    "address=a orcpt= notify=0 offset=-2 status=5 action=failed dsn=5.0.0 time=1 relay=none text=x ",
	    "address=a orcpt= notify=x offset=-1 status=5 action=failed dsn=5.0.0 time=1 relay=none text=x ",
	    "address=a orcpt= notify=0 offset=-1 status=5 action=failed dsn=5.0.0 time=-1 relay=none text=x ",
	    "address=a orcpt= notify=0 offset=-1 status=5 action=failed dsn=5.0.0 time=1 relay= text=x ",
	    "address=a orcpt= notify=0 offset=-1 status=5 action=failed dsn=5.0.0 time=1 relay=none text= ",
	    "address=a%00 orcpt= notify=0 offset=-1 status=5 action=failed dsn=5.0.0 time=1 relay=none text=x ",
	    "address=a%4 orcpt= notify=0 offset=-1 status=5 action=failed dsn=5.0.0 time=1 relay=none text=x ",
	    "address=a%4g orcpt= notify=0 offset=-1 status=5 action=failed dsn=5.0.0 time=1 relay=none text=x ",
	    "address=a%4a orcpt= notify=0 offset=-1 status=5 action=failed dsn=5.0.0 time=1 relay=none text=x ",
	    "orcpt= address=a notify=0 offset=-1 status=5 action=failed dsn=5.0.0 time=1 relay=none text=x ",
	    "address=a orcpt= notify=0 offset=-1 status=5 action=failed dsn=5.0.0 time=1 relay=none text=x x=y ",
	    "address=a orcpt= notify=0 offset=-1 status=5 action=failed dsn=5.0.0 time=1 relay=none ",
	    "address=a orcpt= notify=0 offset=-1 status=5 action=delayed dsn=5.0.0 time=1 relay=none text=x ",
	    "address=a orcpt= notify=0 offset=-1 status=2 action=failed dsn=2.0.0 time=1 relay=none text=x ",
	    "address=a orcpt= notify=0 offset=-1 status=5 dsn=5.0.0 time=1 relay=none text=x ",
	    "address=a\x01 orcpt= notify=0 offset=-1 status=5 action=failed dsn=5.0.0 time=1 relay=none text=x ",
	};
	const char *good =
	    "address=a orcpt= notify=0 offset=-1 status=5 action=failed dsn=5.0.0 time=1 relay=none text=x ";
	struct strbuf sb = STRBUF_INIT;
	struct status_log log;

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		strbuf_reset(&sb);
		strbuf_printf(&sb, "%scrc=%08x\n", lines[i],
			      (unsigned)crc32_ref(lines[i], strlen(lines[i])));
		status_log_parse(sb.data, sb.len, &log);
		if (log.count != 0)
			fail_msg("accepted: %s", lines[i]);
		assert_int_equal(log.skipped, 1);
		status_log_free(&log);
	}
	strbuf_reset(&sb);
	strbuf_printf(&sb, "%scrc=%08x\n", good, (unsigned)crc32_ref(good, strlen(good)));
	status_log_parse(sb.data, sb.len, &log);
	assert_int_equal(log.count, 1);
	status_log_free(&log);
	/* upper-case hex in the CRC is not the format */
	strbuf_reset(&sb);
	strbuf_printf(&sb, "%scrc=%08X\n", good, 0xABCDEF12u);
	status_log_parse(sb.data, sb.len, &log);
	assert_int_equal(log.count, 0);
	status_log_free(&log);
	strbuf_free(&sb);
}

static void test_last(void **state)
{
	struct status_entry e[] = {
	    {"a@x", "", 0, 10, 4, "4.0.0", "first a", "none", 1, NULL},
	    {"b@x", "rfc822;B@x", 0, 20, 4, "4.0.0", "first b", "none", 2, NULL},
	    {"a@x", "", 0, 30, 4, "4.0.0", "a at 30", "none", 3, NULL},
	    {"a@x", "", 0, 10, 4, "4.0.0", "second a", "none", 4, NULL},
	    {"c@x", "", 0, -1, 4, "4.0.0", "c", "none", 5, NULL},
	};
	struct strbuf sb = STRBUF_INIT;
	struct status_log log;

	(void)state;
	for (size_t i = 0; i < 5; i++)
		status_log_format(&sb, &e[i]);
	status_log_parse(sb.data, sb.len, &log);
	assert_int_equal(log.count, 5);
	assert_string_equal(status_log_last(&log, "a@x", NULL, 10)->text, "second a");
	assert_string_equal(status_log_last(&log, "a@x", NULL, 30)->text, "a at 30");
	assert_string_equal(status_log_last(&log, "a@x", NULL, -1)->text, "second a");
	assert_string_equal(status_log_last(&log, "b@x", "rfc822;B@x", -1)->text, "first b");
	assert_null(status_log_last(&log, "b@x", "", -1));
	assert_null(status_log_last(&log, "a@x", NULL, 99));
	/* an entry without an offset matches by address */
	assert_string_equal(status_log_last(&log, "c@x", NULL, 77)->text, "c");
	assert_null(status_log_last(&log, "d@x", NULL, -1));
	status_log_free(&log);
	strbuf_free(&sb);
}

static void test_remove(void **state)
{
	const char *dir = *state;
	struct status_entry e = {"a@b", "", 0, -1, 5, "5.0.0", "x", "none", 1, NULL};
	struct status_log log;
	char *err = NULL, *path;
	struct stat st;

	assert_int_equal(status_log_remove(dir, STATUS_LOG_BOUNCE, QID, &err), 0);
	append_ok(dir, STATUS_LOG_BOUNCE, &e);
	e.status = 4;
	e.dsn = "4.0.0";
	append_ok(dir, STATUS_LOG_DEFER, &e);
	assert_int_equal(status_log_remove(dir, STATUS_LOG_BOUNCE, QID, &err), 0);
	assert_int_equal(status_log_read(dir, STATUS_LOG_BOUNCE, QID, &log, &err), 0);
	assert_int_equal(log.count, 0);
	status_log_free(&log);
	assert_int_equal(status_log_read(dir, STATUS_LOG_DEFER, QID, &log, &err), 0);
	assert_int_equal(log.count, 1);
	status_log_free(&log);
	assert_int_equal(status_log_remove_all(dir, QID, &err), 0);
	path = xasprintf("%s/defer/%s", dir, QID);
	assert_int_equal(stat(path, &st), -1);
	free(path);
	assert_int_equal(status_log_remove(dir, STATUS_LOG_BOUNCE, "a/b", &err), -1);
	XFREE(err);

	/* a log that cannot be read is an error, not an empty log */
	path = xasprintf("%s/trace/%s", dir, QID);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(status_log_read(dir, STATUS_LOG_TRACE, QID, &log, &err), -1);
	assert_non_null(err);
	XFREE(err);
	assert_int_equal(status_log_remove_all(dir, QID, &err), -1);
	XFREE(err);
	rmdir(path);
	free(path);
	/* a missing directory: appending fails with the path named */
	assert_int_equal(status_log_append("/nonexistent/q", STATUS_LOG_BOUNCE, QID, &e, &err), -1);
	assert_non_null(strstr(err, "/nonexistent/q/bounce/"));
	XFREE(err);
}

/* Writers in several processes: every record arrives whole. */
static void test_concurrent(void **state)
{
	const char *dir = *state;
	enum { PROCS = 4, EACH = 150 };
	struct status_log log;
	char *err = NULL;
	size_t seen[PROCS] = {0};

	for (int p = 0; p < PROCS; p++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			for (int i = 0; i < EACH; i++) {
				char addr[64], text[600];
				struct status_entry e = {addr,	  "",	0,	i, 4,
							 "4.0.0", text, "none", 1, NULL};

				snprintf(addr, sizeof(addr), "p%d@x", p);
				memset(text, 'a' + p, sizeof(text) - 1);
				text[sizeof(text) - 1] = '\0';
				if (status_log_append(dir, STATUS_LOG_DEFER, QID, &e, &err) < 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		int st;

		assert_true(wait(&st) > 0);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(status_log_read(dir, STATUS_LOG_DEFER, QID, &log, &err), 0);
	assert_int_equal(log.count, PROCS * EACH);
	assert_int_equal(log.skipped, 0);
	for (size_t i = 0; i < log.count; i++) {
		int p = log.entries[i].address[1] - '0';

		assert_true(p >= 0 && p < PROCS);
		/* each writer's records in its own order */
		assert_int_equal(log.entries[i].offset, (long long)seen[p]);
		seen[p]++;
	}
	status_log_free(&log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup_dir, teardown_dir),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test_setup_teardown(test_text_limit, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_time_now, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_bad_entries, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_every_truncation, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_every_flipped_byte, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_torn_then_append, setup_dir, teardown_dir),
	    cmocka_unit_test(test_bad_contents),
	    cmocka_unit_test(test_last),
	    cmocka_unit_test_setup_teardown(test_remove, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_concurrent, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
