/*
 * store_sql - the SQLite side of the store: errors, the per-handle cache of
 * prepared statements, transactions and what happens after a commit
 * (removing blobs that lost their last reference, waking watchers).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_impl.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* The text of the cached statements, by enum store_stmt_id. */
static const char *const stmt_sql[SQL_COUNT] = {
    [SQL_MAILBOX_LOOKUP] = "SELECT id, uidvalidity, uidnext, modseq, noselect, special_use, "
			   "keywords FROM mailbox WHERE name = ?1",
    [SQL_MAILBOX_ADVANCE] = "UPDATE mailbox SET uidnext = ?2, modseq = ?3, keywords = ?4 "
			    "WHERE id = ?1",
    [SQL_STATE_GET] = "SELECT bytes, messages, uidvalidity, gc_time FROM state WHERE id = 0",
    [SQL_BLOB_INSERT] = "INSERT INTO blob (id, refs, header_size, date_sent, subject, from_addr, "
			"from_name, to_addr, to_name, cc_addr, message_id, in_reply_to, "
			"refs_hdr, envelope, body, bodystructure, partmap, header_cache, doc) "
			"VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
			"?15, ?16, ?17, ?18)",
    [SQL_FTS_HEADER_INSERT] = "INSERT INTO fts_header (rowid, text) VALUES (?1, ?2)",
    [SQL_FTS_BODY_INSERT] = "INSERT INTO fts_body (rowid, text) VALUES (?1, ?2)",
    [SQL_FTS_HEADER_NEW_INSERT] = "INSERT INTO fts_header_new (rowid, text) VALUES (?1, ?2)",
    [SQL_FTS_BODY_NEW_INSERT] = "INSERT INTO fts_body_new (rowid, text) VALUES (?1, ?2)",
    [SQL_FTS_REBUILD_GET] = "SELECT fts_rebuild FROM state WHERE id = 0",
    [SQL_FTS_NEXT] = "UPDATE state SET fts_next = fts_next + 1 WHERE id = 0 RETURNING fts_next - 1",
    [SQL_MESSAGE_INSERT] = "INSERT INTO message (mailbox, uid, modseq, flags, keywords, "
			   "internal_date, save_date, size, blob) "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [SQL_MESSAGE_GET] = "SELECT modseq, flags, keywords, internal_date, size, blob FROM message "
			"WHERE mailbox = ?1 AND uid = ?2",
    [SQL_MESSAGE_DELETE] = "DELETE FROM message WHERE mailbox = ?1 AND uid = ?2",
    [SQL_MESSAGE_UPDATE] = "UPDATE message SET flags = ?3, keywords = ?4, modseq = ?5 "
			   "WHERE mailbox = ?1 AND uid = ?2",
    [SQL_BLOB_DROP] = "DELETE FROM blob WHERE id = ?1 AND refs <= 0",
    [SQL_EXPUNGED_INSERT] = "INSERT OR IGNORE INTO expunged (mailbox, modseq, uid_lo, uid_hi) "
			    "VALUES (?1, ?2, ?3, ?4)",
    [SQL_BLOB_EXISTS] = "SELECT 1 FROM blob WHERE id = ?1",
};

int store_err(char **error_r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*error_r = xvasprintf(fmt, ap);
	va_end(ap);
	return code;
}

int store_sql_err(struct store *s, char **error_r, const char *what)
{
	int code = sqlite3_extended_errcode(s->db);

	return store_err(error_r, STORE_ERR_TEMP, "%s/index.db: %s: %s%s", s->path, what,
			 sqlite3_errmsg(s->db),
			 (code & 0xff) == SQLITE_BUSY ? " (another process holds it)" : "");
}

sqlite3_stmt *store_stmt_cached(struct store *s, sqlite3_stmt **slot, const char *sql,
				char **error_r)
{
	sqlite3_stmt *stmt;

	if (*slot != NULL && !sqlite3_stmt_busy(*slot)) {
		sqlite3_reset(*slot);
		sqlite3_clear_bindings(*slot);
		return *slot;
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, *slot == NULL ? SQLITE_PREPARE_PERSISTENT : 0, &stmt,
			       NULL) != SQLITE_OK) {
		store_sql_err(s, error_r, "prepare");
		return NULL;
	}
	if (*slot == NULL)
		*slot = stmt;
	return stmt;
}

sqlite3_stmt *store_stmt(struct store *s, enum store_stmt_id id, char **error_r)
{
	return store_stmt_cached(s, &s->stmts[id], stmt_sql[id], error_r);
}

int store_stmt_prepare(struct store *s, const enum store_stmt_id *ids, size_t count, char **error_r)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (s->stmts[ids[i]] == NULL && store_stmt(s, ids[i], error_r) == NULL)
			return STORE_ERR_TEMP;
	}
	return 0;
}

void store_stmt_done(struct store *s, sqlite3_stmt *stmt)
{
	size_t i;

	if (stmt == NULL)
		return;
	for (i = 0; i < SQL_COUNT; i++) {
		if (s->stmts[i] == stmt) {
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return;
		}
	}
	for (i = 0; i < STORE_FETCH_VARIANTS; i++) {
		if (s->fetch_stmts[i] == stmt) {
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return;
		}
	}
	sqlite3_finalize(stmt);
}

int store_exec(struct store *s, const char *sql, char **error_r)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	*error_r = xasprintf("%s/index.db: %s", s->path, msg != NULL ? msg : "error");
	sqlite3_free(msg);
	return STORE_ERR_TEMP;
}

/* The shortest and the longest pause between two looks at a lock, in microseconds. */
#define LOCK_PAUSE_MIN 100
#define LOCK_PAUSE_MAX 2000

/* elapsed_ms - milliseconds since start (CLOCK_MONOTONIC). */
static long long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - start->tv_sec) * 1000 +
	       (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* nap - sleep about us microseconds, spread by half of it either way (waiters fall out of step). */
static void nap(int us)
{
	struct timespec now, ts;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ts.tv_sec = 0;
	ts.tv_nsec =
	    (us / 2 + (long)((unsigned long)now.tv_nsec / 1000 % (unsigned long)(us + 1))) * 1000L;
	nanosleep(&ts, NULL);
}

/* next_pause - the pause after one of us microseconds: half as long again, up to the longest. */
static int next_pause(int us)
{
	return us * 3 / 2 > LOCK_PAUSE_MAX ? LOCK_PAUSE_MAX : us * 3 / 2;
}

/*
 * busy_handler - SQLite's wait for a lock that another connection holds
 * (one outside this library, WAL recovery, a checkpoint): short pauses up
 * to the busy timeout, counted from the first call of this wait.
 */
static int busy_handler(void *ctx, int count)
{
	struct store *s = ctx;
	int i, pause = LOCK_PAUSE_MIN;

	if (s->busy_nowait)
		return 0;
	if (count == 0)
		clock_gettime(CLOCK_MONOTONIC, &s->busy_start);
	else if (elapsed_ms(&s->busy_start) >= s->opts.busy_timeout_ms)
		return 0;
	for (i = 0; i < count && pause < LOCK_PAUSE_MAX; i++)
		pause = next_pause(pause);
	nap(pause);
	return 1;
}

void store_busy_setup(struct store *s)
{
	sqlite3_busy_handler(s->db, busy_handler, s);
}

/* lock_open - the lock file, made on first use (a store older than it has none). */
static int lock_open(struct store *s, char **error_r)
{
	if (s->lock_fd >= 0)
		return 0;
	s->lock_fd = openat(s->dirfd, "lock", O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lock_fd < 0)
		return store_err(error_r, STORE_ERR_TEMP, "%s/lock: open: %s", s->path,
				 strerror(errno));
	return 0;
}

/*
 * store_lock - the store's write lock, waiting up to the busy timeout. It is
 * flock(2)'s: the kernel drops it when its holder dies, whatever happens.
 */
int store_lock(struct store *s, char **error_r)
{
	struct timespec start;
	int pause = LOCK_PAUSE_MIN;

	if (s->locked)
		return 0;
	if (lock_open(s, error_r) < 0)
		return STORE_ERR_TEMP;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0) {
			s->locked = 1;
			return 0;
		}
		if (errno != EWOULDBLOCK && errno != EINTR)
			return store_err(error_r, STORE_ERR_TEMP, "%s/lock: flock: %s", s->path,
					 strerror(errno));
		if (elapsed_ms(&start) >= s->opts.busy_timeout_ms)
			return store_err(error_r, STORE_ERR_TEMP,
					 "%s/lock: another process kept the store locked for %d ms",
					 s->path, s->opts.busy_timeout_ms);
		nap(pause);
		pause = next_pause(pause);
	}
}

void store_unlock(struct store *s)
{
	if (!s->locked)
		return;
	s->locked = 0;
	if (flock(s->lock_fd, LOCK_UN) < 0)
		msg_warn("%s/lock: unlock: %s", s->path, strerror(errno));
}

int store_begin_write(struct store *s, char **error_r)
{
	int ret;

	if (s->txn != 0)
		return store_err(error_r, STORE_ERR_INVALID,
				 "%s: a change while a fetch is running (from its callback)",
				 s->path);
	if ((ret = store_lock(s, error_r)) < 0)
		return ret;
	if (store_exec(s, "BEGIN IMMEDIATE", error_r) < 0) {
		store_unlock(s);
		return STORE_ERR_TEMP;
	}
	s->txn = 2;
	s->unlink_count = 0;
	return 0;
}

/* unlink_queued - remove the blob files of the transaction that just committed. */
static void unlink_queued(struct store *s)
{
	size_t i;
	char *rel;

	for (i = 0; i < s->unlink_count; i++) {
		rel = store_blob_relpath(s->unlink_ids[i]);
		if (unlinkat(s->dirfd, rel, 0) < 0 && errno != ENOENT)
			msg_warn("%s/%s: remove: %s (store_gc will)", s->path, rel,
				 strerror(errno));
		free(rel);
	}
	s->unlink_count = 0;
}

int store_commit(struct store *s, char **error_r)
{
	int ret;

	if (s->txn != 2)
		msg_panic("store_commit without a write transaction");
	if ((ret = store_exec(s, "COMMIT", error_r)) < 0) {
		store_rollback(s);
		return ret;
	}
	s->txn = 0;
	store_unlock(s);
	unlink_queued(s);
	store_notify_commit(s);
	return 0;
}

void store_rollback(struct store *s)
{
	if (s->txn == 2 && sqlite3_get_autocommit(s->db) == 0) {
		if (sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
			msg_warn("%s/index.db: rollback: %s", s->path, sqlite3_errmsg(s->db));
	}
	if (s->txn == 2)
		store_unlock(s);
	s->txn = 0;
	s->unlink_count = 0;
}

int store_begin_read(struct store *s, char **error_r)
{
	if (s->txn == 0) {
		if (store_exec(s, "BEGIN", error_r) < 0)
			return STORE_ERR_TEMP;
		s->txn = 1;
	}
	s->read_depth++;
	return 0;
}

void store_end_read(struct store *s)
{
	if (s->read_depth == 0)
		msg_panic("store_end_read without store_begin_read");
	if (--s->read_depth > 0 || s->txn != 1)
		return;
	if (sqlite3_get_autocommit(s->db) == 0 &&
	    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		msg_warn("%s/index.db: end of read: %s", s->path, sqlite3_errmsg(s->db));
	s->txn = 0;
}

void store_unlink_later(struct store *s, int64_t blob_id)
{
	if (s->unlink_count == s->unlink_size) {
		s->unlink_size = s->unlink_size ? 2 * s->unlink_size : 16;
		s->unlink_ids = xreallocarray(s->unlink_ids, s->unlink_size, sizeof(int64_t));
	}
	s->unlink_ids[s->unlink_count++] = blob_id;
}

void store_notify_commit(struct store *s)
{
	if (s->notify_wfd < 0) {
		s->notify_wfd = openat(s->dirfd, "notify", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (s->notify_wfd < 0) {
			msg_warn("%s/notify: open: %s", s->path, strerror(errno));
			return;
		}
		(void)fchmod(s->notify_wfd, 0600); /* whatever the umask (not ours: EPERM) */
	}
	/* One byte rewritten in place: an IN_MODIFY event, and the file never grows. */
	if (pwrite(s->notify_wfd, "x", 1, 0) != 1)
		msg_warn("%s/notify: write: %s", s->path, strerror(errno));
}

char *store_text(sqlite3_stmt *stmt, int col)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);

	return xstrdup(text != NULL ? (const char *)text : "");
}
