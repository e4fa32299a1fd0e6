/*
 * test_store_util - what the store's unit tests share: a temporary store
 * directory per test, messages to append, and small readers of the result.
 * Included by one test program each (the functions are static).
 */
#ifndef TERN_TEST_STORE_UTIL_H
#define TERN_TEST_STORE_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

struct fixture {
	char *tmp;  /* the temporary directory */
	char *path; /* tmp/store: the store */
	struct store *store;
	struct store_options opts;
};

static int fixture_setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *err = NULL;

	f->tmp = xstrdup("/tmp/test_store.XXXXXX");
	if (mkdtemp(f->tmp) == NULL)
		return -1;
	f->path = xasprintf("%s/store", f->tmp);
	f->opts.create = 1;
	f->opts.busy_timeout_ms = 10000;
	if (store_open(f->path, &f->opts, &f->store, &err) < 0) {
		fprintf(stderr, "store_open: %s\n", err);
		free(err);
		return -1;
	}
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->tmp);
	int ret = system(cmd);

	store_close(&f->store);
	free(cmd);
	free(f->path);
	free(f->tmp);
	free(f);
	return ret == 0 ? 0 : -1;
}

/* make_message - a small message with CR LF line ends (malloc'd). */
static char *make_message(const char *subject, const char *body)
{
	return xasprintf("From: Alice Example <alice@example.org>\r\n"
			 "To: Bob <bob@example.net>\r\n"
			 "Subject: %s\r\n"
			 "Date: Mon, 7 Feb 2022 10:11:12 +0000\r\n"
			 "Message-ID: <%s@example.org>\r\n"
			 "\r\n"
			 "%s\r\n",
			 subject, subject, body);
}

/* append_text - append text to mailbox with flags; the UID, or a store_error. */
static int append_text(struct store *store, const char *mailbox, const char *text, unsigned flags,
		       char **error_r)
{
	struct store_blob *blob;
	struct store_append req = {0};
	uint32_t uid;
	int ret;

	if ((ret = store_blob_create(store, &blob, error_r)) < 0)
		return ret;
	if ((ret = store_blob_write(blob, text, strlen(text), error_r)) < 0) {
		store_blob_discard(&blob);
		return ret;
	}
	req.mailbox = mailbox;
	req.flags = flags;
	if ((ret = store_append(store, &blob, &req, &uid, error_r)) < 0)
		return ret;
	return (int)uid;
}

/* append_ok - append_text that must succeed; the UID. */
static uint32_t append_ok(struct store *store, const char *mailbox, const char *subject,
			  const char *body, unsigned flags)
{
	char *text = make_message(subject, body), *err = NULL;
	int uid = append_text(store, mailbox, text, flags, &err);

	if (uid <= 0)
		fprintf(stderr, "append: %s\n", err ? err : "?");
	assert_true(uid > 0);
	free(text);
	return (uint32_t)uid;
}

/* count_files - regular files under dir (one level of subdirectories for blobs/). */
static int count_files(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	struct stat st;
	char *sub;
	int n = 0;

	if (dp == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", dir, de->d_name);
		if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			n += count_files(sub);
		else
			n++;
		free(sub);
	}
	closedir(dp);
	return n;
}

/* Collecting the messages a fetch gives. */
struct fetched {
	size_t count;
	uint32_t uids[4096];
	uint64_t modseqs[4096];
	unsigned flags[4096];
};

static int collect_fn(const struct store_message *msg, void *ctx)
{
	struct fetched *f = ctx;

	if (f->count < 4096) {
		f->uids[f->count] = msg->uid;
		f->modseqs[f->count] = msg->modseq;
		f->flags[f->count] = msg->flags;
	}
	f->count++;
	return 0;
}

/* fetch_all - the UIDs (and flags) of a mailbox; asserts success. */
static void fetch_all(struct store *store, const char *mailbox, struct fetched *out)
{
	char *err = NULL;

	memset(out, 0, sizeof(*out));
	if (store_fetch(store, mailbox, 1, 0, STORE_FETCH_FLAGS, collect_fn, out, &err) < 0) {
		fprintf(stderr, "fetch: %s\n", err);
		fail();
	}
}

/* The options of the store's full-text tables, for tests that make such tables by hand. */
#define STORE_FTS_TEST_OPTIONS                                                                     \
	"text, content = '', detail = none, columnsize = 0, "                                      \
	"tokenize = 'unicode61 remove_diacritics 2'"
/* FTS5's own check of both full-text tables' structure. */
#define STORE_FTS_TEST_CHECK                                                                       \
	"INSERT INTO fts_header (fts_header) VALUES ('integrity-check');"                          \
	"INSERT INTO fts_body (fts_body) VALUES ('integrity-check')"

/* index_int - an integer that a query of the index gives (its own connection). */
static long long __attribute__((unused)) index_int(const char *path, const char *sql)
{
	char *file = xasprintf("%s/index.db", path);
	sqlite3 *db;
	sqlite3_stmt *stmt;
	long long v;

	assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	free(file);
	return v;
}

/* index_exec - run SQL on the index from a connection of its own. */
static void __attribute__((unused)) index_exec(const char *path, const char *sql)
{
	char *file = xasprintf("%s/index.db", path), *msg = NULL;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, msg);
	assert_null(msg);
	sqlite3_close(db);
	free(file);
}

#endif
