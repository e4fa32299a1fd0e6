/*
 * store - opening and closing a store: its directory, the index and its
 * schema, the defaults it starts with, the options from main.cf, quota
 * usage and change notification.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "store/store_impl.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/safe_file.h"

/* The count of stale full-text documents: one more for each blob row deleted. */
#define STORE_FTS_STALE_TRIGGER                                                                    \
	"CREATE TRIGGER blob_delete AFTER DELETE ON blob BEGIN "                                   \
	"  UPDATE state SET fts_stale = fts_stale + 1 WHERE id = 0;"                               \
	"END;"

/*
 * The schema. Counts and usage are kept by triggers in the transaction that
 * changes a message: nothing is recounted by scanning.
 */
static const char store_schema[] =
    "CREATE TABLE state (id INTEGER PRIMARY KEY CHECK (id = 0), bytes INTEGER NOT NULL, "
    "  messages INTEGER NOT NULL, uidvalidity INTEGER NOT NULL, gc_time INTEGER NOT NULL, "
    "  fts_next INTEGER NOT NULL DEFAULT 1, fts_stale INTEGER NOT NULL DEFAULT 0, "
    "  fts_rebuild INTEGER);"
    "CREATE TABLE mailbox (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
    "  uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL, modseq INTEGER NOT NULL, "
    "  first_recent INTEGER NOT NULL DEFAULT 1, special_use INTEGER NOT NULL DEFAULT 0, "
    "  noselect INTEGER NOT NULL DEFAULT 0, messages INTEGER NOT NULL DEFAULT 0, "
    "  unseen INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0, "
    "  size INTEGER NOT NULL DEFAULT 0, keywords TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE subscription (name TEXT PRIMARY KEY) WITHOUT ROWID;"
    "CREATE TABLE message (mailbox INTEGER NOT NULL, uid INTEGER NOT NULL, "
    "  modseq INTEGER NOT NULL, flags INTEGER NOT NULL, keywords TEXT, "
    "  internal_date INTEGER NOT NULL, save_date INTEGER NOT NULL, size INTEGER NOT NULL, "
    "  blob INTEGER NOT NULL, PRIMARY KEY (mailbox, uid)) WITHOUT ROWID;"
    "CREATE INDEX message_modseq ON message (mailbox, modseq);"
    "CREATE TABLE blob (id INTEGER PRIMARY KEY, doc INTEGER NOT NULL, refs INTEGER NOT NULL, "
    "  header_size INTEGER NOT NULL, date_sent INTEGER, subject TEXT, from_addr TEXT, "
    "  from_name TEXT, to_addr TEXT, to_name TEXT, cc_addr TEXT, message_id TEXT, "
    "  in_reply_to TEXT, refs_hdr TEXT, envelope TEXT NOT NULL, body TEXT NOT NULL, "
    "  bodystructure TEXT NOT NULL, partmap TEXT NOT NULL, header_cache TEXT NOT NULL);"
    "CREATE TABLE expunged (mailbox INTEGER NOT NULL, modseq INTEGER NOT NULL, "
    "  uid_lo INTEGER NOT NULL, uid_hi INTEGER NOT NULL, "
    "  PRIMARY KEY (mailbox, modseq, uid_lo)) WITHOUT ROWID;"
    "CREATE VIRTUAL TABLE fts_header USING fts5 (" STORE_FTS_OPTIONS ");"
    "CREATE VIRTUAL TABLE fts_body USING fts5 (" STORE_FTS_OPTIONS ");" STORE_FTS_STALE_TRIGGER
    "CREATE TRIGGER message_insert AFTER INSERT ON message BEGIN "
    "  UPDATE mailbox SET messages = messages + 1, size = size + new.size, "
    "    unseen = unseen + ((new.flags & 1) = 0), deleted = deleted + ((new.flags & 8) != 0) "
    "    WHERE id = new.mailbox;"
    "  UPDATE state SET bytes = bytes + new.size, messages = messages + 1 WHERE id = 0;"
    "  UPDATE blob SET refs = refs + 1 WHERE id = new.blob;"
    "END;"
    "CREATE TRIGGER message_delete AFTER DELETE ON message BEGIN "
    "  UPDATE mailbox SET messages = messages - 1, size = size - old.size, "
    "    unseen = unseen - ((old.flags & 1) = 0), deleted = deleted - ((old.flags & 8) != 0) "
    "    WHERE id = old.mailbox;"
    "  UPDATE state SET bytes = bytes - old.size, messages = messages - 1 WHERE id = 0;"
    "  UPDATE blob SET refs = refs - 1 WHERE id = old.blob;"
    "END;"
    "CREATE TRIGGER message_flags AFTER UPDATE OF flags ON message "
    "  WHEN (old.flags & 9) != (new.flags & 9) BEGIN "
    "  UPDATE mailbox SET unseen = unseen + ((new.flags & 1) = 0) - ((old.flags & 1) = 0), "
    "    deleted = deleted + ((new.flags & 8) != 0) - ((old.flags & 8) != 0) "
    "    WHERE id = new.mailbox;"
    "END;";

/* The mailboxes every store starts with. */
static const struct {
	const char *name;
	unsigned use;
} store_defaults[] = {
    {"INBOX", 0},
    {"Drafts", STORE_USE_DRAFTS},
    {"Sent", STORE_USE_SENT},
    {"Junk", STORE_USE_JUNK},
    {"Trash", STORE_USE_TRASH},
    {"Archive", STORE_USE_ARCHIVE},
};

unsigned store_default_use(const char *name)
{
	size_t i;

	for (i = 1; i < sizeof(store_defaults) / sizeof(store_defaults[0]); i++) {
		if (strcmp(name, store_defaults[i].name) == 0)
			return store_defaults[i].use;
	}
	return 0;
}

void store_options_from_conf(const struct mail_conf *conf, struct store_options *opts)
{
	long long busy = mail_conf_time(conf, "store_busy_timeout");

	memset(opts, 0, sizeof(*opts));
	opts->fts_text_limit = (size_t)mail_conf_size(conf, "store_fts_text_limit");
	opts->busy_timeout_ms = busy > INT_MAX / 1000 ? INT_MAX : (int)(busy * 1000);
	opts->gc_interval = (time_t)mail_conf_time(conf, "store_gc_interval");
	opts->gc_min_age = (time_t)mail_conf_time(conf, "store_orphan_age");
}

/* make_dir - mkdir path with mode 0700 whatever the umask; 1 made, 0 existed, -1 error. */
static int make_dir(int dirfd, const char *path, char **error_r, const char *shown)
{
	if (mkdirat(dirfd, path, 0700) < 0) {
		if (errno == EEXIST)
			return 0;
		*error_r = xasprintf("mkdir %s: %s", shown, strerror(errno));
		return -1;
	}
	if (fchmodat(dirfd, path, 0700, 0) < 0) {
		*error_r = xasprintf("chmod %s: %s", shown, strerror(errno));
		return -1;
	}
	return 1;
}

/* make_path - the directory path and its missing parents (mode 0700), made durable. */
static int make_path(const char *path, char **error_r)
{
	char *copy = xstrdup(path), *p;
	int made, ret = 0;

	for (p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if ((made = make_dir(AT_FDCWD, copy, error_r, copy)) < 0) {
			ret = -1;
			break;
		}
		if (made > 0 && safe_file_fsync_parent(copy, error_r) < 0) {
			ret = -1;
			break;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(copy);
	return ret;
}

/* create_files - what a new store holds besides the index: blobs/xx, tmp/, notify, lock. */
static int create_files(struct store *s, char **error_r)
{
	char sub[16], *shown;
	int fd, i, made;

	if (make_dir(s->dirfd, "blobs", error_r, "blobs") < 0 ||
	    make_dir(s->dirfd, "tmp", error_r, "tmp") < 0)
		return -1;
	for (i = 0; i < 256; i++) {
		snprintf(sub, sizeof(sub), "blobs/%02x", i);
		shown = xasprintf("%s/%s", s->path, sub);
		made = make_dir(s->dirfd, sub, error_r, shown);
		free(shown);
		if (made < 0)
			return -1;
	}
	for (i = 0; i < 2; i++) {
		const char *name = i == 0 ? "notify" : "lock";

		fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0 || fchmod(fd, 0600) < 0) {
			*error_r = xasprintf("%s/%s: %s", s->path, name, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	shown = xasprintf("%s/blobs", s->path);
	if (safe_file_fsync_dir(shown, error_r) < 0 || safe_file_fsync_dir(s->path, error_r) < 0) {
		free(shown);
		return -1;
	}
	free(shown);
	return 0;
}

/* pragma_int - the integer value of a PRAGMA query. */
static int pragma_int(struct store *s, const char *sql, long long *value_r, char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return store_sql_err(s, error_r, sql);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*value_r = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_sql_err(s, error_r, sql);
	return 0;
}

/*
 * Schema version 1 kept a copy of the text and the position of every word
 * (one FTS5 table "fts" with columns header and body, detail=full, rowid =
 * blob id). Version 2 keeps neither, in two tables whose rowids are the
 * blobs' document numbers, given here in the order of blob ids; state gets
 * the next document number, the count of stale documents and the rebuild
 * cursor (store_gc.c). The pages freed are reused by later writes (the
 * file does not shrink).
 */
static const char store_upgrade_v1[] =
    "ALTER TABLE blob ADD COLUMN doc INTEGER NOT NULL DEFAULT 0;"
    "UPDATE blob SET doc = r.n FROM "
    "  (SELECT id, row_number() OVER (ORDER BY id) AS n FROM blob) AS r WHERE r.id = blob.id;"
    "ALTER TABLE state ADD COLUMN fts_next INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE state ADD COLUMN fts_stale INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE state ADD COLUMN fts_rebuild INTEGER;"
    "UPDATE state SET fts_next = (SELECT count(*) + 1 FROM blob) WHERE id = 0;"
    "CREATE VIRTUAL TABLE fts_header USING fts5 (" STORE_FTS_OPTIONS ");"
    "CREATE VIRTUAL TABLE fts_body USING fts5 (" STORE_FTS_OPTIONS ");"
    "INSERT INTO fts_header (rowid, text) SELECT b.doc, f.header FROM fts f "
    "  JOIN blob b ON b.id = f.rowid WHERE f.header != '' ORDER BY b.doc;"
    "INSERT INTO fts_body (rowid, text) SELECT b.doc, f.body FROM fts f "
    "  JOIN blob b ON b.id = f.rowid WHERE f.body != '' ORDER BY b.doc;"
    "DROP TABLE fts;" STORE_FTS_STALE_TRIGGER;

/* create_schema - tables and the default mailboxes of a new index (within a transaction). */
static int create_schema(struct store *s, char **error_r)
{
	char *sql;
	size_t i;
	int ret;

	if ((ret = store_exec(s, store_schema, error_r)) < 0)
		return ret;
	sql = xasprintf("INSERT INTO state (id, bytes, messages, uidvalidity, gc_time) "
			"VALUES (0, 0, 0, 0, %lld)",
			(long long)time(NULL));
	ret = store_exec(s, sql, error_r);
	free(sql);
	if (ret < 0)
		return ret;
	for (i = 0; i < sizeof(store_defaults) / sizeof(store_defaults[0]); i++) {
		if ((ret = store_mbox_insert(s, store_defaults[i].name, store_defaults[i].use, 0, 1,
					     error_r)) < 0)
			return ret;
	}
	return 0;
}

/* init_schema - a new index made, or an older one upgraded; in one transaction. */
static int init_schema(struct store *s, char **error_r)
{
	long long version = 0;
	char *sql;
	int ret;

	/*
	 * WAL must be set outside a transaction; it is kept in the file from
	 * then on. Under the lock: two processes making the change at once
	 * could each find the other in the way (SQLite fails one at once).
	 */
	if ((ret = store_lock(s, error_r)) < 0)
		return ret;
	if ((ret = store_exec(s, "PRAGMA journal_mode = WAL", error_r)) < 0) {
		store_unlock(s);
		return ret;
	}
	if ((ret = store_begin_write(s, error_r)) < 0)
		return ret;
	/* Another process may have made it while this one waited. */
	if ((ret = pragma_int(s, "PRAGMA user_version", &version, error_r)) < 0)
		goto fail;
	if (version == STORE_SCHEMA_VERSION) {
		store_rollback(s);
		return 0;
	}
	if (version == 0)
		ret = create_schema(s, error_r);
	else if (version == 1)
		ret = store_exec(s, store_upgrade_v1, error_r);
	else
		ret = store_err(error_r, STORE_ERR_TEMP, "%s/index.db: unknown schema version %lld",
				s->path, version);
	if (ret < 0)
		goto fail;
	sql = xasprintf("PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
	ret = store_exec(s, sql, error_r);
	free(sql);
	if (ret < 0 || (ret = store_commit(s, error_r)) < 0)
		goto fail;
	if (version == 1)
		msg_info("%s/index.db: upgraded from schema version 1", s->path);
	return 0;
fail:
	store_rollback(s);
	return ret;
}

/*
 * wal_commit - after each commit: once the WAL holds STORE_WAL_FRAMES pages,
 * copy them into index.db and empty the WAL, without waiting for readers
 * (when one is in the way, a later commit tries again). A short WAL keeps
 * the first open after the last close cheap: SQLite reads the whole WAL
 * then, and forgets what was checkpointed before.
 */
static int wal_commit(void *ctx, sqlite3 *db, const char *name, int frames)
{
	struct store *s = ctx;
	int rc;

	if (frames < STORE_WAL_FRAMES)
		return SQLITE_OK;
	s->busy_nowait = 1;
	rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	s->busy_nowait = 0;
	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
		msg_warn("%s/index.db: checkpoint: %s", s->path, sqlite3_errstr(rc));
	return SQLITE_OK;
}

/* open_db - SQLite on path/index.db, made beforehand with mode 0600 (its WAL follows it). */
static int open_db(struct store *s, int create, char **error_r)
{
	char *file = xasprintf("%s/index.db", s->path);
	long long version = 0;
	int fd, ret;

	if (create) {
		fd = openat(s->dirfd, "index.db", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			ret = store_err(error_r, STORE_ERR_TEMP, "%s: %s", file, strerror(errno));
			goto out;
		}
		struct stat st;

		if (fstat(fd, &st) == 0 && st.st_size == 0)
			(void)fchmod(fd, 0600);
		close(fd);
	}
	if (sqlite3_open_v2(file, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		ret = store_err(error_r, STORE_ERR_TEMP, "%s: %s", file,
				s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto out;
	}
	store_busy_setup(s);
	sqlite3_extended_result_codes(s->db, 1);
	/*
	 * No checkpoint when the last connection closes: a delivery opens and
	 * closes the store each time, and should cost no fsync beyond its
	 * commit. wal_commit() checkpoints instead, as the WAL grows.
	 */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_wal_hook(s->db, wal_commit, s);
	if ((ret = store_exec(s, "PRAGMA synchronous = FULL", error_r)) < 0)
		goto out;
	if ((ret = pragma_int(s, "PRAGMA user_version", &version, error_r)) < 0)
		goto out;
	if (version != STORE_SCHEMA_VERSION) {
		if (version != 0 && version != 1) {
			ret = store_err(error_r, STORE_ERR_TEMP, "%s: unknown schema version %lld",
					file, version);
			goto out;
		}
		if ((ret = init_schema(s, error_r)) < 0)
			goto out;
	}
	ret = 0;
out:
	free(file);
	return ret;
}

int store_is_current(struct store *store)
{
	struct stat now, opened;

	return stat(store->path, &now) == 0 && fstat(store->dirfd, &opened) == 0 &&
	       now.st_dev == opened.st_dev && now.st_ino == opened.st_ino && opened.st_nlink > 0;
}

int store_open(const char *path, const struct store_options *opts, struct store **store_r,
	       char **error_r)
{
	struct store *s;
	struct stat st;
	int ret, exists;

	*store_r = NULL;
	if (path == NULL || path[0] == '\0')
		return store_err(error_r, STORE_ERR_INVALID, "empty store path");
	exists = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	if (!exists && !opts->create)
		return store_err(error_r, STORE_ERR_NOTFOUND, "%s: no such store", path);
	if (!exists && make_path(path, error_r) < 0)
		return STORE_ERR_TEMP;

	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	s->opts = *opts;
	if (s->opts.busy_timeout_ms <= 0)
		s->opts.busy_timeout_ms = 30000;
	s->notify_wfd = -1;
	s->notify_rfd = -1;
	s->lock_fd = -1;
	s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		ret = store_err(error_r, STORE_ERR_TEMP, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (faccessat(s->dirfd, "index.db", F_OK, 0) < 0) {
		if (errno != ENOENT) {
			ret = store_err(error_r, STORE_ERR_TEMP, "%s/index.db: %s", path,
					strerror(errno));
			goto fail;
		}
		if (!opts->create) {
			ret = store_err(error_r, STORE_ERR_NOTFOUND, "%s: no such store", path);
			goto fail;
		}
		/* The files first: an index exists only in a store that has them. */
		if (create_files(s, error_r) < 0) {
			ret = STORE_ERR_TEMP;
			goto fail;
		}
		if ((ret = open_db(s, 1, error_r)) < 0)
			goto fail;
	} else if ((ret = open_db(s, 0, error_r)) < 0) {
		goto fail;
	}
	if (s->opts.gc_interval > 0)
		store_gc_at_open(s);
	*store_r = s;
	return 0;
fail:
	store_close(&s);
	return ret;
}

void store_close(struct store **store)
{
	struct store *s = *store;
	size_t i;

	if (s == NULL)
		return;
	*store = NULL;
	if (s->txn == 2)
		store_rollback(s);
	for (i = 0; i < SQL_COUNT; i++)
		sqlite3_finalize(s->stmts[i]);
	for (i = 0; i < STORE_FETCH_VARIANTS; i++)
		sqlite3_finalize(s->fetch_stmts[i]);
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		msg_warn("%s/index.db: close: %s", s->path, sqlite3_errmsg(s->db));
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->notify_wfd >= 0)
		close(s->notify_wfd);
	if (s->notify_rfd >= 0)
		close(s->notify_rfd);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->unlink_ids);
	free(s->path);
	free(s);
}

void store_set_quota(struct store *store, uint64_t quota_bytes, uint64_t quota_messages)
{
	store->opts.quota_bytes = quota_bytes;
	store->opts.quota_messages = quota_messages;
}

int store_quota_usage(struct store *store, uint64_t *bytes_r, uint64_t *messages_r, char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_stmt(store, SQL_STATE_GET, error_r)) == NULL)
		return STORE_ERR_TEMP;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*bytes_r = (uint64_t)sqlite3_column_int64(stmt, 0);
		*messages_r = (uint64_t)sqlite3_column_int64(stmt, 1);
	}
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? store_err(error_r, STORE_ERR_TEMP,
						   "%s/index.db: no state row", store->path)
				       : store_sql_err(store, error_r, "quota usage");
		store_stmt_done(store, stmt);
		return rc;
	}
	store_stmt_done(store, stmt);
	return 0;
}

int store_index_size(struct store *store, uint64_t *bytes_r, char **error_r)
{
	static const char *const files[] = {"index.db", "index.db-wal"};
	struct stat st;
	size_t i;

	*bytes_r = 0;
	for (i = 0; i < 2; i++) {
		if (fstatat(store->dirfd, files[i], &st, 0) == 0)
			*bytes_r += (uint64_t)st.st_size;
		else if (errno != ENOENT)
			return store_err(error_r, STORE_ERR_TEMP, "%s/%s: %s", store->path,
					 files[i], strerror(errno));
	}
	return 0;
}

int store_notify_fd(struct store *store, char **error_r)
{
	char *file;
	int fd;

	if (store->notify_rfd >= 0)
		return store->notify_rfd;
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return store_err(error_r, STORE_ERR_TEMP, "inotify_init1: %s", strerror(errno));
	/* A store made before it had one: the file is made now (writers make it too). */
	int wfd = openat(store->dirfd, "notify", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	if (wfd >= 0)
		close(wfd);
	file = xasprintf("%s/notify", store->path);
	if (inotify_add_watch(fd, file, IN_MODIFY) < 0) {
		int saved = errno;

		close(fd);
		free(file);
		return store_err(error_r, saved == ENOENT ? STORE_ERR_NOTFOUND : STORE_ERR_TEMP,
				 "%s/notify: inotify_add_watch: %s", store->path, strerror(saved));
	}
	free(file);
	store->notify_rfd = fd;
	return fd;
}

void store_notify_drain(struct store *store)
{
	char buf[4096];

	if (store->notify_rfd < 0)
		return;
	while (read(store->notify_rfd, buf, sizeof(buf)) > 0)
		;
}
