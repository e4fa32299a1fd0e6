/*
 * test_store_concurrency - several processes on one store at once:
 * concurrent appends get strictly increasing UIDs with none lost or given
 * twice; a reader sees whole transactions (a snapshot) while a writer
 * changes the mailbox; another process's commit wakes a watcher within
 * milliseconds; a writer that cannot get the lock (SQLite's, or the
 * store's lock file) within the busy timeout fails cleanly, leaving no file
 * behind, and one that waits gets the lock file within milliseconds of its
 * release; a process killed in the middle of appending leaves nothing that
 * store_gc cannot collect; processes that create one new store at once
 * make it once; a rebuild of the full-text index while another process
 * appends loses no message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "tests/unit/test_store_util.h"

#define WRITERS 4
#define PER_WRITER 25

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* wait_ok - wait for a child and check that it exited 0. */
static void wait_ok(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "child %d: status %d\n", (int)pid, status);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* writer - a child: open the store itself and append; report its UIDs on fd. */
static void writer(const char *path, int id, int fd)
{
	struct store_options opts = {0};
	struct store *s;
	char *err = NULL, subject[64];
	uint32_t last = 0;
	int i, uid;

	opts.busy_timeout_ms = 30000;
	if (store_open(path, &opts, &s, &err) < 0) {
		fprintf(stderr, "writer %d: %s\n", id, err);
		_exit(1);
	}
	for (i = 0; i < PER_WRITER; i++) {
		snprintf(subject, sizeof(subject), "w%d-%d", id, i);
		char *text = make_message(subject, "concurrent");

		uid = append_text(s, "INBOX", text, 0, &err);
		free(text);
		if (uid <= 0 || (uint32_t)uid <= last) {
			fprintf(stderr, "writer %d: %d: %s\n", id, uid, err ? err : "order");
			_exit(1);
		}
		last = (uint32_t)uid;
		if (write(fd, &last, sizeof(last)) != sizeof(last))
			_exit(1);
	}
	store_close(&s);
	_exit(0);
}

static void test_concurrent_appends(void **state)
{
	struct fixture *f = *state;
	static uint8_t seen[WRITERS * PER_WRITER + 1];
	struct store_mailbox mb;
	struct fetched got;
	pid_t pids[WRITERS];
	uint32_t uid;
	uint64_t bytes, msgs;
	char *err = NULL;
	int p[2], i, n = 0;

	/* The writers open the existing store themselves: close ours so none shares it. */
	store_close(&f->store);
	assert_int_equal(pipe(p), 0);
	for (i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(p[0]);
			writer(f->path, i, p[1]);
		}
	}
	close(p[1]);
	memset(seen, 0, sizeof(seen));
	while (read(p[0], &uid, sizeof(uid)) == sizeof(uid)) {
		assert_true(uid >= 1 && uid <= WRITERS * PER_WRITER);
		assert_int_equal(seen[uid], 0); /* never given twice */
		seen[uid] = 1;
		n++;
	}
	close(p[0]);
	for (i = 0; i < WRITERS; i++)
		wait_ok(pids[i]);
	assert_int_equal(n, WRITERS * PER_WRITER);

	assert_int_equal(store_open(f->path, &f->opts, &f->store, &err), 0);
	fetch_all(f->store, "INBOX", &got);
	assert_int_equal(got.count, WRITERS * PER_WRITER);
	for (i = 0; i < (int)got.count; i++) {
		assert_int_equal(got.uids[i], (uint32_t)i + 1); /* no gap, none lost */
		if (i > 0)
			assert_true(got.modseqs[i] != got.modseqs[i - 1]);
	}
	assert_int_equal(store_mailbox_get(f->store, "INBOX", &mb, &err), 0);
	assert_int_equal(mb.messages, WRITERS * PER_WRITER);
	assert_int_equal(mb.uidnext, WRITERS * PER_WRITER + 1);
	assert_int_equal(mb.unseen, WRITERS * PER_WRITER);
	store_mailbox_free(&mb);
	assert_int_equal(store_quota_usage(f->store, &bytes, &msgs, &err), 0);
	assert_int_equal(msgs, WRITERS * PER_WRITER);
	char *blobs = xasprintf("%s/blobs", f->path), *tmp = xasprintf("%s/tmp", f->path);

	assert_int_equal(count_files(blobs), WRITERS * PER_WRITER);
	assert_int_equal(count_files(tmp), 0);
	free(blobs);
	free(tmp);
}

/* Snapshot: the writer copies two messages at a time into Pairs; a reader must see pairs. */
struct snap {
	size_t count;
	uint32_t max_uid;
};

static int snap_fn(const struct store_message *msg, void *ctx)
{
	struct snap *s = ctx;

	s->count++;
	s->max_uid = msg->uid;
	/* give the writer time to commit in the middle of this fetch */
	if (s->count == 1)
		usleep(2000);
	return 0;
}

static void test_reader_snapshot(void **state)
{
	struct fixture *f = *state;
	uint32_t two[] = {1, 2};
	struct store_uids uids = {two, 2};
	struct snap sn;
	char *err = NULL;
	pid_t pid;
	int i, rounds = 0, grew = 0;
	size_t last = 0;

	append_ok(f->store, "INBOX", "pair one", "x", 0);
	append_ok(f->store, "INBOX", "pair two", "x", 0);
	assert_int_equal(store_mailbox_create(f->store, "Pairs", 0, 0, &err), 0);
	store_close(&f->store);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s;

		if (store_open(f->path, &f->opts, &s, &err) < 0)
			_exit(1);
		for (i = 0; i < 60; i++) {
			if (store_copy(s, "INBOX", &uids, "Pairs", 0, NULL, NULL, NULL, &err) < 0) {
				fprintf(stderr, "copy: %s\n", err);
				_exit(1);
			}
			usleep(1000);
		}
		store_close(&s);
		_exit(0);
	}
	assert_int_equal(store_open(f->path, &f->opts, &f->store, &err), 0);
	for (;;) {
		int done = waitpid(pid, NULL, WNOHANG) == pid;

		memset(&sn, 0, sizeof(sn));
		assert_int_equal(
		    store_fetch(f->store, "Pairs", 1, 0, STORE_FETCH_FLAGS, snap_fn, &sn, &err), 0);
		assert_int_equal(sn.count % 2, 0);
		assert_int_equal(sn.max_uid, sn.count); /* and nothing in between is missing */
		assert_true(sn.count >= last);
		grew += sn.count > last;
		last = sn.count;
		rounds++;
		if (done)
			break;
	}
	assert_int_equal(last, 120);
	assert_true(rounds >= 2);
	(void)grew;
}

static void test_notify_other_process(void **state)
{
	struct fixture *f = *state;
	struct pollfd pfd;
	double sent, woke;
	int p[2], fd, i;
	char *err = NULL;
	pid_t pid;

	fd = store_notify_fd(f->store, &err);
	assert_true(fd >= 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s;
		double t;

		close(p[0]);
		if (store_open(f->path, &f->opts, &s, &err) < 0)
			_exit(1);
		for (i = 0; i < 3; i++) {
			usleep(50000);
			char *text = make_message("notify", "x");

			if (append_text(s, "INBOX", text, 0, &err) <= 0)
				_exit(1);
			free(text);
			t = now_ms();
			if (write(p[1], &t, sizeof(t)) != sizeof(t))
				_exit(1);
		}
		store_close(&s);
		_exit(0);
	}
	close(p[1]);
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (i = 0; i < 3; i++) {
		if (i < 2) {
			/* Woken by the commit, before the append even returns (the bound is
			 * generous only for a loaded machine). */
			assert_int_equal(poll(&pfd, 1, 5000), 1);
			woke = now_ms();
			assert_int_equal(read(p[0], &sent, sizeof(sent)), sizeof(sent));
			assert_true(woke - sent < 1000.0);
		} else {
			/* Exactly: once the append has returned, the event is there. */
			assert_int_equal(read(p[0], &sent, sizeof(sent)), sizeof(sent));
			assert_int_equal(poll(&pfd, 1, 0), 1);
		}
		store_notify_drain(f->store);
		assert_int_equal(poll(&pfd, 1, 0), 0);
	}
	close(p[0]);
	wait_ok(pid);
	struct fetched got;

	fetch_all(f->store, "INBOX", &got);
	assert_int_equal(got.count, 3);
}

static void test_busy_timeout(void **state)
{
	struct fixture *f = *state;
	struct store_options opts = f->opts;
	struct store *s;
	char *file = xasprintf("%s/index.db", f->path), *err = NULL, *text;
	char *blobs = xasprintf("%s/blobs", f->path), *tmp = xasprintf("%s/tmp", f->path);
	int p[2], ok;
	pid_t pid;
	double start;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *db;

		close(p[0]);
		if (sqlite3_open(file, &db) != SQLITE_OK ||
		    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		usleep(700000);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(db);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &ok, 1), 1);
	close(p[0]);
	opts.busy_timeout_ms = 100;
	assert_int_equal(store_open(f->path, &opts, &s, &err), 0);
	text = make_message("busy", "x");
	start = now_ms();
	assert_int_equal(append_text(s, "INBOX", text, 0, &err), STORE_ERR_TEMP);
	assert_true(now_ms() - start >= 90.0);
	assert_non_null(strstr(err, "lock"));
	free(err);
	err = NULL;
	assert_int_equal(count_files(blobs), 0); /* the blob went with the failure */
	assert_int_equal(count_files(tmp), 0);
	/* With the default wait, the same append waits for the lock and succeeds. */
	assert_int_equal(append_text(f->store, "INBOX", text, 0, &err), 1);
	wait_ok(pid);
	assert_int_equal(append_text(s, "INBOX", text, 0, &err), 2);
	store_close(&s);
	free(text);
	free(file);
	free(blobs);
	free(tmp);
}

/* The store's lock file held by another process: the wait is bounded, and ends at the release. */
static void test_lock_file(void **state)
{
	struct fixture *f = *state;
	struct store_options opts = f->opts;
	struct store *s;
	char *file = xasprintf("%s/lock", f->path), *err = NULL, *text;
	char *blobs = xasprintf("%s/blobs", f->path), *tmp = xasprintf("%s/tmp", f->path);
	int p[2], fd;
	char c;
	pid_t pid;
	double start, released;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec ts;

		close(p[0]);
		fd = open(file, O_RDONLY);
		if (fd < 0 || flock(fd, LOCK_EX) < 0 || write(p[1], "x", 1) != 1)
			_exit(1);
		usleep(400000);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		released = (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
		flock(fd, LOCK_UN);
		if (write(p[1], &released, sizeof(released)) != sizeof(released))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	opts.busy_timeout_ms = 100;
	assert_int_equal(store_open(f->path, &opts, &s, &err), 0);
	text = make_message("locked", "x");
	start = now_ms();
	assert_int_equal(append_text(s, "INBOX", text, 0, &err), STORE_ERR_TEMP);
	assert_true(now_ms() - start >= 90.0);
	assert_non_null(strstr(err, "lock"));
	free(err);
	err = NULL;
	assert_int_equal(count_files(blobs), 0);
	assert_int_equal(count_files(tmp), 0);
	/* A reader is not held up by it. */
	struct fetched got;

	fetch_all(s, "INBOX", &got);
	assert_int_equal(got.count, 0);
	/* With the default wait, the append waits and goes on as soon as the lock is free. */
	assert_int_equal(append_text(f->store, "INBOX", text, 0, &err), 1);
	start = now_ms();
	assert_int_equal(read(p[0], &released, sizeof(released)), sizeof(released));
	assert_true(start - released < 100.0);
	close(p[0]);
	wait_ok(pid);
	assert_int_equal(append_text(s, "INBOX", text, 0, &err), 2);
	store_close(&s);
	free(text);
	free(file);
	free(blobs);
	free(tmp);
}

/* One process rebuilds the full-text index while another appends. */
static void test_rebuild_while_appending(void **state)
{
	struct fixture *f = *state;
	struct store_gc_stats st;
	struct store_uids uids, r;
	char *err = NULL, subject[32];
	int i;
	pid_t pid;

	/* 120 messages, 100 of them expunged: the stale documents outnumber the blobs. */
	for (i = 0; i < 120; i++) {
		snprintf(subject, sizeof(subject), "before%d", i);
		append_ok(f->store, "INBOX", subject, "kept or not", 0);
	}
	uids.uids = xcalloc(100, sizeof(uint32_t));
	uids.count = 100;
	for (i = 0; i < 100; i++)
		uids.uids[i] = (uint32_t)i + 1;
	assert_int_equal(store_expunge(f->store, "INBOX", &uids, 1, NULL, &err), 0);
	store_uids_free(&uids);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s;

		if (store_open(f->path, &f->opts, &s, &err) < 0)
			_exit(1);
		for (i = 0; i < PER_WRITER; i++) {
			char *text = make_message("during", "appended while rebuilding");

			if (append_text(s, "INBOX", text, 0, &err) <= 0)
				_exit(1);
			free(text);
		}
		store_close(&s);
		_exit(0);
	}
	/* Young blob files are left alone: the appender's are in flight. */
	assert_int_equal(store_gc(f->store, 3600, &st, &err), 0);
	wait_ok(pid);
	/* Whatever the order, a later collection finishes what is left. */
	assert_int_equal(store_gc(f->store, 3600, &st, &err), 0);
	assert_int_equal(index_int(f->path, "SELECT fts_rebuild IS NULL FROM state"), 1);
	assert_int_equal(
	    store_search_text(f->store, "INBOX", STORE_TEXT_BODY, "rebuilding", &r, &err), 0);
	assert_int_equal(r.count, PER_WRITER);
	store_uids_free(&r);
	assert_int_equal(store_search_text(f->store, "INBOX", STORE_TEXT_BODY, "kept", &r, &err),
			 0);
	assert_int_equal(r.count, 20);
	assert_int_equal(r.uids[0], 101);
	store_uids_free(&r);
	index_exec(f->path, STORE_FTS_TEST_CHECK);
}

static void test_killed_writer(void **state)
{
	struct fixture *f = *state;
	struct store_gc_stats st;
	struct fetched got;
	char *err = NULL;
	int i, killed = 0;

	/* Kill appenders at random moments; whatever they left, gc cleans, the index stays sound. */
	for (i = 0; i < 8; i++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct store *s;

			if (store_open(f->path, &f->opts, &s, &err) < 0)
				_exit(1);
			for (;;) {
				char *text = make_message("killed", "x");

				if (append_text(s, "INBOX", text, 0, &err) <= 0)
					_exit(1);
				free(text);
			}
		}
		usleep(20000 + (useconds_t)(i * 3000));
		kill(pid, SIGKILL);
		int status;

		assert_int_equal(waitpid(pid, &status, 0), pid);
		killed += WIFSIGNALED(status);
	}
	assert_int_equal(killed, 8);
	fetch_all(f->store, "INBOX", &got);
	for (i = 1; i < (int)got.count; i++)
		assert_true(got.uids[i] > got.uids[i - 1]);
	assert_int_equal(store_gc(f->store, 0, &st, &err), 0);
	char *blobs = xasprintf("%s/blobs", f->path), *tmp = xasprintf("%s/tmp", f->path);

	/* Every committed message has its file; nothing else is left. */
	assert_int_equal(count_files(blobs), (int)got.count);
	assert_int_equal(count_files(tmp), 0);
	uint64_t bytes, msgs;

	assert_int_equal(store_quota_usage(f->store, &bytes, &msgs, &err), 0);
	assert_int_equal(msgs, got.count);
	/* And the store takes more mail. */
	assert_true(append_ok(f->store, "INBOX", "after", "x", 0) >
		    (got.count > 0 ? got.uids[got.count - 1] : 0));
	free(blobs);
	free(tmp);
}

/* Several processes create the same new store at once (a delivery and a login, say). */
static void test_concurrent_create(void **state)
{
	struct fixture *f = *state;
	char *path = xasprintf("%s/new/user", f->tmp), *err = NULL;
	struct store_mailboxes list;
	struct store *s;
	struct fetched got;
	pid_t pids[WRITERS];
	int i;

	for (i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct store_options opts = {0};
			char *text = make_message("create", "x");

			opts.create = 1;
			if (store_open(path, &opts, &s, &err) < 0) {
				fprintf(stderr, "open: %s\n", err);
				_exit(1);
			}
			if (append_text(s, "INBOX", text, 0, &err) <= 0) {
				fprintf(stderr, "append: %s\n", err);
				_exit(1);
			}
			store_close(&s);
			_exit(0);
		}
	}
	for (i = 0; i < WRITERS; i++)
		wait_ok(pids[i]);
	assert_int_equal(store_open(path, &f->opts, &s, &err), 0);
	assert_int_equal(store_mailbox_list(s, &list, &err), 0);
	assert_int_equal(list.count, 6);
	store_mailboxes_free(&list);
	fetch_all(s, "INBOX", &got);
	assert_int_equal(got.count, WRITERS);
	store_close(&s);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_concurrent_appends, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_reader_snapshot, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_notify_other_process, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_busy_timeout, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_lock_file, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_killed_writer, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_create, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_rebuild_while_appending, fixture_setup,
					    fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
