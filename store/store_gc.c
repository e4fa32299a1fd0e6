/*
 * store_gc - collection of what a crash leaves: blob files that no row
 * refers to (renamed into blobs/ but never committed, or not removed after
 * an expunge), abandoned files in tmp/, and blob rows without a message;
 * and the rebuild of the full-text tables once most of their documents are
 * stale (store_impl.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_impl.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/*
 * file_age - seconds since a file was last written or renamed (ctime moves
 * on rename: a blob renamed into place by a delivery counts as new).
 */
static time_t file_age(const struct stat *st, time_t now)
{
	time_t newest = st->st_mtime > st->st_ctime ? st->st_mtime : st->st_ctime;

	return now - newest;
}

/* blob_referenced - whether the index has a row for the blob id: 1, 0, or a store_error. */
static int blob_referenced(struct store *s, int64_t id, char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_stmt(s, SQL_BLOB_EXISTS, error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	store_stmt_done(s, stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_sql_err(s, error_r, "blob lookup");
}

/* gc_dir - one directory: files older than min_age that are unknown to the index (tmp: all). */
static int gc_dir(struct store *s, const char *rel, int is_tmp, time_t min_age,
		  struct store_gc_stats *stats, char **error_r)
{
	time_t now = time(NULL);
	struct dirent *de;
	struct stat st;
	int64_t id;
	DIR *dir;
	int fd, ret = 0, known;

	fd = openat(s->dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return store_err(error_r, STORE_ERR_TEMP, "%s/%s: %s", s->path, rel,
				 strerror(errno));
	}
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return store_err(error_r, STORE_ERR_TEMP, "%s/%s: %s", s->path, rel,
				 strerror(errno));
	}
	while (ret == 0 && (errno = 0, de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (file_age(&st, now) < min_age)
			continue;
		if (!is_tmp) {
			if ((id = store_blob_parse(de->d_name)) < 0)
				continue; /* not a name the store gives: leave it alone */
			if ((known = blob_referenced(s, id, error_r)) != 0) {
				ret = known < 0 ? known : 0;
				continue;
			}
		}
		if (unlinkat(fd, de->d_name, 0) < 0) {
			if (errno != ENOENT)
				msg_warn("%s/%s/%s: remove: %s", s->path, rel, de->d_name,
					 strerror(errno));
			continue;
		}
		if (is_tmp)
			stats->temp_files++;
		else
			stats->orphans++;
		stats->bytes += (uint64_t)st.st_size;
	}
	if (ret == 0 && errno != 0)
		ret = store_err(error_r, STORE_ERR_TEMP, "%s/%s: readdir: %s", s->path, rel,
				strerror(errno));
	closedir(dir);
	return ret;
}

/*
 * The rebuild: new tables fts_header_new and fts_body_new are filled from
 * the blob files in the order of document numbers, a batch at a time. The
 * list of blobs past the cursor (state.fts_rebuild: every blob whose
 * document number is not above it is in the new tables) is read in one
 * go; each batch is read and parsed outside any transaction, then written
 * in a short one that moves the cursor to the batch's last document. A
 * blob added meanwhile has a number above every listed one, and so above
 * the cursor: store_append() leaves it to the rebuild, which lists the
 * newcomers again when it reaches the end. There, one transaction drops
 * the old tables and gives the new ones their names. Another process may
 * run the rebuild at the same time: each batch writes only what lies past
 * the cursor it finds. An interrupted rebuild goes on at the next
 * store_gc().
 */
#define REBUILD_BATCH 256		 /* most blobs per transaction */
#define REBUILD_BYTES (8u * 1024 * 1024) /* most text per transaction */

/* A blob to index. */
struct doc {
	int64_t doc, id;
	struct store_blob_text text;
};

/* fts_state - the stale count, the cursor of a rebuild (-1: none) and the number of blobs. */
static int fts_state(struct store *s, long long *stale_r, int64_t *cursor_r, long long *blobs_r,
		     char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = store_begin_read(s, error_r)) < 0)
		return rc;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT fts_stale, fts_rebuild, (SELECT count(*) FROM blob) "
			       "FROM state WHERE id = 0",
			       -1, &stmt, NULL) != SQLITE_OK) {
		rc = store_sql_err(s, error_r, "prepare");
		store_end_read(s);
		return rc;
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*stale_r = sqlite3_column_int64(stmt, 0);
		*cursor_r = sqlite3_column_type(stmt, 1) == SQLITE_NULL
				? -1
				: sqlite3_column_int64(stmt, 1);
		*blobs_r = sqlite3_column_int64(stmt, 2);
		rc = 0;
	} else {
		rc = store_sql_err(s, error_r, "state");
	}
	sqlite3_finalize(stmt);
	store_end_read(s);
	return rc;
}

/* cursor_get - the rebuild's cursor within a transaction (-1: no rebuild). */
static int cursor_get(struct store *s, int64_t *cursor_r, char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_stmt(s, SQL_FTS_REBUILD_GET, error_r)) == NULL)
		return STORE_ERR_TEMP;
	rc = sqlite3_step(stmt);
	*cursor_r = rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL
			? sqlite3_column_int64(stmt, 0)
			: -1;
	store_stmt_done(s, stmt);
	return rc == SQLITE_ROW ? 0 : store_sql_err(s, error_r, "state");
}

/* rebuild_start - the empty new tables and the cursor at 0 (unless another process began). */
static int rebuild_start(struct store *s, char **error_r)
{
	int64_t cursor;
	int ret;

	if ((ret = store_begin_write(s, error_r)) < 0)
		return ret;
	if ((ret = cursor_get(s, &cursor, error_r)) < 0 ||
	    (cursor < 0 &&
	     (ret = store_exec(
		  s,
		  "DROP TABLE IF EXISTS fts_header_new;"
		  "DROP TABLE IF EXISTS fts_body_new;"
		  "CREATE VIRTUAL TABLE fts_header_new USING fts5 (" STORE_FTS_OPTIONS ");"
		  "CREATE VIRTUAL TABLE fts_body_new USING fts5 (" STORE_FTS_OPTIONS ");"
		  "UPDATE state SET fts_rebuild = 0 WHERE id = 0",
		  error_r)) < 0)) {
		store_rollback(s);
		return ret;
	}
	return store_commit(s, error_r);
}

/* list_docs - the blobs whose document numbers are past cursor, in their order. */
static int list_docs(struct store *s, int64_t cursor, struct doc **docs_r, size_t *count_r,
		     char **error_r)
{
	struct doc *docs = NULL;
	size_t n = 0, size = 0;
	sqlite3_stmt *stmt;
	int rc, ret;

	*docs_r = NULL;
	*count_r = 0;
	if ((ret = store_begin_read(s, error_r)) < 0)
		return ret;
	if (sqlite3_prepare_v2(s->db, "SELECT doc, id FROM blob WHERE doc > ?1 ORDER BY doc", -1,
			       &stmt, NULL) != SQLITE_OK) {
		ret = store_sql_err(s, error_r, "prepare");
		store_end_read(s);
		return ret;
	}
	sqlite3_bind_int64(stmt, 1, cursor);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == size) {
			size = size ? 2 * size : 256;
			docs = xreallocarray(docs, size, sizeof(*docs));
		}
		memset(&docs[n], 0, sizeof(docs[n]));
		docs[n].doc = sqlite3_column_int64(stmt, 0);
		docs[n++].id = sqlite3_column_int64(stmt, 1);
	}
	ret = rc == SQLITE_DONE ? 0 : store_sql_err(s, error_r, "blob list");
	sqlite3_finalize(stmt);
	store_end_read(s);
	*docs_r = docs;
	*count_r = n;
	return ret;
}

/* batch_read - the text of the blobs of a batch (outside any transaction); its length. */
static int batch_read(struct store *s, struct doc *docs, size_t count, size_t *len_r,
		      char **error_r)
{
	size_t i, bytes = 0;
	int ret = 0;

	for (i = 0; i < count && i < REBUILD_BATCH && bytes <= REBUILD_BYTES; i++) {
		/* A file that is gone has no text (its message cannot be read either). */
		ret = store_blob_read_text(s, docs[i].id, &docs[i].text, error_r);
		if (ret == STORE_ERR_NOTFOUND) {
			free(*error_r);
			*error_r = NULL;
			ret = 0;
		}
		if (ret < 0)
			break;
		bytes += docs[i].text.header.len + docs[i].text.body.len;
	}
	*len_r = i;
	return ret;
}

/*
 * batch_write - the batch into the new tables, past the cursor it finds; the
 * cursor moved. 1 when there is no rebuild any more (another process ended it).
 */
static int batch_write(struct store *s, const struct doc *docs, size_t count, char **error_r)
{
	sqlite3_stmt *stmt = NULL;
	int64_t cursor;
	size_t i;
	int ret;

	if ((ret = store_begin_write(s, error_r)) < 0)
		return ret;
	if ((ret = cursor_get(s, &cursor, error_r)) < 0)
		goto out;
	if (cursor < 0) {
		store_rollback(s);
		return 1;
	}
	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM blob WHERE id = ?1 AND doc = ?2", -1, &stmt,
			       NULL) != SQLITE_OK) {
		ret = store_sql_err(s, error_r, "prepare");
		goto out;
	}
	for (i = 0; ret == 0 && i < count; i++) {
		if (docs[i].doc <= cursor)
			continue;
		/* A blob expunged since the list was read needs no document. */
		sqlite3_reset(stmt);
		sqlite3_bind_int64(stmt, 1, docs[i].id);
		sqlite3_bind_int64(stmt, 2, docs[i].doc);
		switch (sqlite3_step(stmt)) {
		case SQLITE_ROW:
			ret = store_fts_insert(s, docs[i].doc, &docs[i].text, 1, error_r);
			break;
		case SQLITE_DONE:
			break;
		default:
			ret = store_sql_err(s, error_r, "blob lookup");
		}
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (ret < 0 || docs[count - 1].doc <= cursor)
		goto out;
	if (sqlite3_prepare_v2(s->db, "UPDATE state SET fts_rebuild = ?1 WHERE id = 0", -1, &stmt,
			       NULL) != SQLITE_OK) {
		ret = store_sql_err(s, error_r, "prepare");
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, docs[count - 1].doc);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		ret = store_sql_err(s, error_r, "state");
	sqlite3_finalize(stmt);
out:
	if (ret < 0) {
		store_rollback(s);
		return ret;
	}
	return store_commit(s, error_r);
}

/* rebuild_finish - swap the tables when no blob lies past the cursor: 1 done, 0 not yet. */
static int rebuild_finish(struct store *s, char **error_r)
{
	sqlite3_stmt *stmt;
	int64_t cursor;
	int ret, more;

	if ((ret = store_begin_write(s, error_r)) < 0)
		return ret;
	if ((ret = cursor_get(s, &cursor, error_r)) < 0)
		goto fail;
	if (cursor < 0) {
		store_rollback(s);
		return 1; /* another process finished it */
	}
	if (sqlite3_prepare_v2(s->db, "SELECT EXISTS (SELECT 1 FROM blob WHERE doc > ?1)", -1,
			       &stmt, NULL) != SQLITE_OK) {
		ret = store_sql_err(s, error_r, "prepare");
		goto fail;
	}
	sqlite3_bind_int64(stmt, 1, cursor);
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		ret = store_sql_err(s, error_r, "blob list");
		sqlite3_finalize(stmt);
		goto fail;
	}
	more = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (more) {
		store_rollback(s);
		return 0;
	}
	/*
	 * Documents of blobs dropped while the rebuild ran are stale in the
	 * new tables too, and no longer counted: the count is a measure.
	 */
	if ((ret = store_exec(s,
			      "DROP TABLE fts_header; DROP TABLE fts_body;"
			      "ALTER TABLE fts_header_new RENAME TO fts_header;"
			      "ALTER TABLE fts_body_new RENAME TO fts_body;"
			      "UPDATE state SET fts_rebuild = NULL, fts_stale = 0 WHERE id = 0",
			      error_r)) < 0)
		goto fail;
	if ((ret = store_commit(s, error_r)) < 0)
		return ret;
	return 1;
fail:
	store_rollback(s);
	return ret;
}

/* rebuild_pass - index the blobs past the cursor, a batch per transaction. */
static int rebuild_pass(struct store *s, int64_t cursor, char **error_r)
{
	struct doc *docs;
	size_t count, done = 0, len, i;
	int ret;

	if ((ret = list_docs(s, cursor, &docs, &count, error_r)) < 0) {
		free(docs);
		return ret;
	}
	while (ret == 0 && done < count) {
		if ((ret = batch_read(s, docs + done, count - done, &len, error_r)) == 0)
			ret = batch_write(s, docs + done, len, error_r);
		for (i = done; i < done + len; i++)
			store_blob_text_free(&docs[i].text);
		done += len;
	}
	for (i = done; i < count; i++)
		store_blob_text_free(&docs[i].text);
	free(docs);
	return ret < 0 ? ret : 0; /* 1: another process finished the rebuild */
}

/*
 * fts_rebuild - go on with a rebuild of the full-text tables, or begin one
 * when the stale documents outnumber the blobs (so a rebuild reads at most
 * one file for each document that went stale since the last).
 */
static int fts_rebuild(struct store *s, char **error_r)
{
	long long stale, blobs;
	int64_t cursor;
	int ret;

	if ((ret = fts_state(s, &stale, &cursor, &blobs, error_r)) < 0)
		return ret;
	if (cursor < 0) {
		if (stale <= blobs)
			return 0;
		/* Another process may begin it at the same time: then go on with its cursor. */
		if ((ret = rebuild_start(s, error_r)) < 0 ||
		    (ret = fts_state(s, &stale, &cursor, &blobs, error_r)) < 0)
			return ret;
		if (cursor < 0)
			return 0; /* and has already finished it */
	}
	for (;;) {
		if ((ret = rebuild_pass(s, cursor, error_r)) < 0 ||
		    (ret = rebuild_finish(s, error_r)) < 0)
			return ret;
		if (ret > 0)
			break;
		if ((ret = fts_state(s, &stale, &cursor, &blobs, error_r)) < 0)
			return ret;
		if (cursor < 0)
			return 0; /* another process finished it */
	}
	msg_info("%s: full-text index rebuilt: blobs=%lld, stale_documents=%lld", s->path, blobs,
		 stale);
	return 0;
}

int store_gc(struct store *store, time_t min_age, struct store_gc_stats *stats, char **error_r)
{
	char rel[16];
	int i, ret;

	memset(stats, 0, sizeof(*stats));
	for (i = 0; i < 256; i++) {
		snprintf(rel, sizeof(rel), "blobs/%02x", i);
		if ((ret = gc_dir(store, rel, 0, min_age, stats, error_r)) < 0)
			return ret;
	}
	if ((ret = gc_dir(store, "tmp", 1, min_age, stats, error_r)) < 0)
		return ret;
	return fts_rebuild(store, error_r);
}

/* gc_due - claim this interval's collection: 1 when this process is to run it, 0 when not. */
static int gc_due(struct store *s, char **error_r)
{
	sqlite3_stmt *stmt;
	time_t now = time(NULL), last;
	int ret, rc;

	/* A read first: the common case (not due) takes no write lock. */
	if ((stmt = store_stmt(s, SQL_STATE_GET, error_r)) == NULL)
		return STORE_ERR_TEMP;
	rc = sqlite3_step(stmt);
	last = rc == SQLITE_ROW ? (time_t)sqlite3_column_int64(stmt, 3) : 0;
	store_stmt_done(s, stmt);
	if (rc != SQLITE_ROW)
		return store_sql_err(s, error_r, "state");
	if (now - last < s->opts.gc_interval && last <= now)
		return 0;
	if ((ret = store_begin_write(s, error_r)) < 0)
		return ret;
	if (sqlite3_prepare_v2(s->db,
			       "UPDATE state SET gc_time = ?1 WHERE id = 0 AND "
			       "(?1 - gc_time >= ?2 OR gc_time > ?1)",
			       -1, &stmt, NULL) != SQLITE_OK) {
		ret = store_sql_err(s, error_r, "prepare");
		store_rollback(s);
		return ret;
	}
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)now);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)s->opts.gc_interval);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		ret = store_sql_err(s, error_r, "state");
		store_rollback(s);
		return ret;
	}
	/* Another process may have claimed it while this one waited for the lock. */
	if (sqlite3_changes(s->db) == 0) {
		store_rollback(s);
		return 0;
	}
	if ((ret = store_commit(s, error_r)) < 0)
		return ret;
	return 1;
}

void store_gc_at_open(struct store *s)
{
	struct store_gc_stats stats;
	char *err = NULL;
	int due;

	/* A failed collection is not a failed open: it is tried again later. */
	if ((due = gc_due(s, &err)) < 0 ||
	    (due > 0 && store_gc(s, s->opts.gc_min_age, &stats, &err) < 0)) {
		msg_warn("%s: orphan collection: %s", s->path, err);
		free(err);
		return;
	}
	if (due > 0 && (stats.orphans > 0 || stats.temp_files > 0))
		msg_info("%s: removed orphans=%zu, temp_files=%zu, bytes=%llu", s->path,
			 stats.orphans, stats.temp_files, (unsigned long long)stats.bytes);
}
