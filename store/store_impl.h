/*
 * store_impl - what the files of store/ share: the store handle, its cache of
 * prepared statements, transactions, errors, names and blob files. Nothing
 * outside store/ includes this.
 *
 * The index (schema version STORE_SCHEMA_VERSION, in PRAGMA user_version):
 *   state(id=0)   quota usage (bytes, messages), the last UIDVALIDITY given,
 *                 when orphans were last collected, the next full-text
 *                 document number, the count of stale documents and a
 *                 rebuild's progress;
 *   mailbox       id, name, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, first
 *                 recent UID, special-use, noselect, its keywords, and the
 *                 counts that triggers keep (messages, unseen, deleted, size);
 *   subscription  names;
 *   message       (mailbox, uid) -> modseq, flags, keywords, dates, size,
 *                 blob id; an index on (mailbox, modseq);
 *   blob          id -> document number, reference count and the cached IMAP
 *                 data (one row for all copies of a message);
 *   expunged      (mailbox, modseq, uid_lo, uid_hi): UID ranges expunged;
 *   fts_header,   FTS5 tables of the header fields and of the text parts of
 *   fts_body      each blob, rowid = the blob's document number.
 * Triggers on message keep the counts of mailbox, the usage in state and the
 * reference count of blob in the transaction that changes a message.
 *
 * The full-text tables keep neither the text (content='') nor where the
 * words are (detail=none): for each word, the documents that hold it. So a
 * search is for words, not phrases, and a document cannot be deleted (FTS5
 * would need its exact text back). Document numbers come from
 * state.fts_next, one per blob, never given twice: small and in order,
 * they take a byte or two in a word's list, where random blob ids took
 * five. When a blob row goes, its documents stay, stale: searches join the
 * results with blob and message, so they are never found, and a trigger
 * counts them in state.fts_stale. store_gc() rebuilds both tables from the
 * live blobs' files once the stale documents outnumber the blobs
 * (store_gc.c).
 *
 * A blob id is a positive 63-bit number: the time in seconds above 31
 * random bits. Its file is blobs/<last two hex digits>/<16 hex digits>.
 */
#ifndef TERN_STORE_IMPL_H
#define TERN_STORE_IMPL_H

#include <sqlite3.h>
#include <stdint.h>
#include <time.h>

#include "store/store.h"
#include "util/strbuf.h"

#define STORE_SCHEMA_VERSION 2
/* The columns and options of the full-text tables (see above). */
#define STORE_FTS_OPTIONS                                                                          \
	"text, content = '', detail = none, columnsize = 0, "                                      \
	"tokenize = 'unicode61 remove_diacritics 2'"
#define STORE_BLOB_NAME_LEN 16
/* Pages in the WAL that make a commit checkpoint it (see wal_commit in store.c). */
#define STORE_WAL_FRAMES 256

/* The statements kept prepared (the hot paths). */
enum store_stmt_id {
	SQL_MAILBOX_LOOKUP,
	SQL_MAILBOX_ADVANCE,
	SQL_STATE_GET,
	SQL_BLOB_INSERT,
	SQL_FTS_HEADER_INSERT,
	SQL_FTS_BODY_INSERT,
	SQL_FTS_HEADER_NEW_INSERT,
	SQL_FTS_BODY_NEW_INSERT,
	SQL_FTS_REBUILD_GET,
	SQL_FTS_NEXT,
	SQL_MESSAGE_INSERT,
	SQL_MESSAGE_GET,
	SQL_MESSAGE_DELETE,
	SQL_MESSAGE_UPDATE,
	SQL_BLOB_DROP,
	SQL_EXPUNGED_INSERT,
	SQL_BLOB_EXISTS,
	SQL_COUNT
};

/* Fetch statements are cached per combination of the STORE_FETCH_* bits, by UID or MODSEQ. */
#define STORE_FETCH_VARIANTS 128

struct store {
	char *path;
	sqlite3 *db;
	int dirfd;		    /* the store directory */
	int notify_wfd;		    /* the notify file, opened at the first commit; -1 */
	int notify_rfd;		    /* inotify, made by store_notify_fd(); -1 */
	int lock_fd;		    /* the lock file, opened at the first write transaction; -1 */
	int locked;		    /* this handle holds the lock file */
	int busy_nowait;	    /* 1: the SQLite busy handler gives up at once */
	struct timespec busy_start; /* when the current wait for SQLite's locks began */
	struct store_options opts;
	sqlite3_stmt *stmts[SQL_COUNT];
	sqlite3_stmt *fetch_stmts[STORE_FETCH_VARIANTS];
	int txn;	/* 0: none, 1: read (store_fetch), 2: write */
	int read_depth; /* nested read transactions (a fetch callback fetching) */
	/* blob files to remove once the transaction that dropped them committed */
	int64_t *unlink_ids;
	size_t unlink_count, unlink_size;
};

/* A mailbox row as the changing calls need it. */
struct store_mbox {
	int64_t id;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t modseq;
	int noselect;
	unsigned special_use;
	char *keywords; /* space-separated, never NULL */
};

/* ----------------------------------------------------------- store_sql.c */

/* store_err - set *error_r (printf) and return code. */
int store_err(char **error_r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* store_sql_err - STORE_ERR_TEMP with SQLite's message about what failed. */
int store_sql_err(struct store *s, char **error_r, const char *what);

/*
 * store_stmt - the prepared statement id, reset; when the cached one is in
 * use (a fetch callback calling the store), a new one that
 * store_stmt_done() finalizes. NULL when it cannot be prepared.
 */
sqlite3_stmt *store_stmt(struct store *s, enum store_stmt_id id, char **error_r);
sqlite3_stmt *store_stmt_cached(struct store *s, sqlite3_stmt **slot, const char *sql,
				char **error_r);
void store_stmt_done(struct store *s, sqlite3_stmt *stmt);
/*
 * store_stmt_prepare - prepare the statements ids that are not yet, before
 * a write transaction: SQLite parses SQL (and, the first time, the schema)
 * while no other writer waits.
 */
int store_stmt_prepare(struct store *s, const enum store_stmt_id *ids, size_t count,
		       char **error_r);
/* store_exec - run SQL without results; 0 or STORE_ERR_TEMP. */
int store_exec(struct store *s, const char *sql, char **error_r);

/*
 * Transactions: store_begin_write() takes the store's lock file (flock,
 * LOCK_EX) and then BEGIN IMMEDIATE, each waiting up to the busy timeout;
 * store_commit() commits, releases the lock, removes the blobs queued by
 * store_unlink_later() and writes the notify file; store_rollback() rolls
 * back, releases the lock and forgets the queue. store_begin_read() and
 * store_end_read() nest.
 *
 * Why a lock file besides SQLite's own locks: a writer that finds SQLite's
 * write lock taken can only poll it, and SQLite's own busy handler sleeps
 * in steps of up to 100 ms, so with many writers on one index most of them
 * sleep while the lock is free. Writers of this library queue on the lock
 * file instead and reach BEGIN IMMEDIATE when SQLite's lock is free, unless
 * a process outside the library holds it. A blocking flock() would wake
 * the next writer at once, but cannot be bounded by the busy timeout
 * without a signal, so the lock is polled (LOCK_NB), with pauses from 0.1
 * ms growing to 2 ms: the more writers wait, the sooner one of them looks.
 * (Measured with 20 writers on one store: pauses of at most 1 ms cost
 * about 10% of the throughput in wake-ups, 2 ms half of that, a blocking
 * flock nothing.) store_busy_setup() installs the same kind of wait as
 * SQLite's busy handler, for the locks of other connections.
 */
void store_busy_setup(struct store *s);
/*
 * store_lock - take the lock file ahead of store_begin_write() (which then
 * keeps it), for what must come before BEGIN, such as the change to WAL of
 * a new index; store_unlock() releases it when no transaction follows.
 */
int store_lock(struct store *s, char **error_r);
void store_unlock(struct store *s);
int store_begin_write(struct store *s, char **error_r);
int store_commit(struct store *s, char **error_r);
void store_rollback(struct store *s);
int store_begin_read(struct store *s, char **error_r);
void store_end_read(struct store *s);
void store_unlink_later(struct store *s, int64_t blob_id);
/* store_notify_commit - wake the processes watching the notify file. */
void store_notify_commit(struct store *s);

/* store_text - a column as a malloc'd string ("" for NULL). */
char *store_text(sqlite3_stmt *stmt, int col);

/* ----------------------------------------------------------- store_name.c */

/*
 * store_name_normalize - check a mailbox name (store.h's rules) and return
 * it malloc'd, with a first component "INBOX" (any case) spelled INBOX.
 * NULL with STORE_ERR_INVALID in *error_r when it is not valid.
 */
char *store_name_normalize(const char *name, char **error_r);
/* store_keyword_valid - whether kw is an IMAP atom usable as a keyword. */
int store_keyword_valid(const char *kw);
/* store_keywords_has - whether the space-separated list holds kw (any case). */
int store_keywords_has(const char *list, const char *kw, size_t kwlen);
/* store_keywords_count - the words of a space-separated list. */
size_t store_keywords_count(const char *list);
void store_uids_add(struct store_uids *uids, size_t *size, uint32_t uid);

/* --------------------------------------------------------- store_mailbox.c */

/* store_mbox_find - the mailbox row of a normalized name; STORE_ERR_NOTFOUND. */
int store_mbox_find(struct store *s, const char *name, struct store_mbox *mb, char **error_r);
void store_mbox_free(struct store_mbox *mb);
/* store_mbox_select - store_mbox_find() of a name as the caller gave it, selectable only. */
int store_mbox_select(struct store *s, const char *name, struct store_mbox *mb, char **error_r);
/* store_mbox_insert - create a mailbox row (within a write transaction). */
int store_mbox_insert(struct store *s, const char *name, unsigned special_use, uint32_t uidvalidity,
		      int subscribe, char **error_r);
/* store_default_use - the special-use of a default mailbox name, or 0. */
unsigned store_default_use(const char *name);
/*
 * store_mbox_keywords - merge the keywords in into the mailbox's list
 * (within the limit); *out_r gets those of in that the list holds, in its
 * spelling, space-separated. STORE_ERR_INVALID for a bad keyword, and when
 * strict, for one that would go over STORE_KEYWORDS_MAX (else it is dropped).
 */
int store_mbox_keywords(struct store_mbox *mb, const char *const *in, size_t n, int strict,
			char **out_r, int *list_changed_r, char **error_r);
/* store_mbox_save - write uidnext, modseq and keywords of mb back. */
int store_mbox_save(struct store *s, const struct store_mbox *mb, char **error_r);

/* ------------------------------------------------------------ store_blob.c */

void store_blob_name(int64_t id, char name[STORE_BLOB_NAME_LEN + 1]);
/* store_blob_parse - the id of a blob name, or -1 when it is not one. */
int64_t store_blob_parse(const char *name);
/* store_blob_relpath - "blobs/xx/<name>" of id, relative to the store. */
char *store_blob_relpath(int64_t id);
int64_t store_blob_new_id(void);

/* The text of a message for the full-text index, as the MIME parser gives it. */
struct store_blob_text {
	struct strbuf header, body;
	int last_kind; /* -1, or the enum mime_text_kind of the last text */
};
void store_blob_text_free(struct store_blob_text *t);
/*
 * store_blob_read_text - the text to index of the blob id, read from its
 * file (for a rebuild of the index); STORE_ERR_NOTFOUND when it is gone.
 */
int store_blob_read_text(struct store *s, int64_t id, struct store_blob_text *t, char **error_r);

/* Internal view of a finished blob for store_append. */
struct store_blob_done {
	int64_t id;
	uint64_t size;
	struct mime_message *msg;
	struct store_blob_text text;
};
/* store_blob_finish - fsync, rename into blobs/, fsync the directory; consumes *blob. */
int store_blob_finish(struct store_blob **blob, struct store_blob_done *done, char **error_r);
void store_blob_done_free(struct store_blob_done *done);
/* store_blob_store - the store a blob was created in. */
struct store *store_blob_store(const struct store_blob *blob);

/* --------------------------------------------------------- store_append.c */

/* store_quota_check - STORE_ERR_OVERQUOTA when adding bytes and messages would pass a limit. */
int store_quota_check(struct store *s, uint64_t bytes, uint64_t messages, char **error_r);
/*
 * store_fts_insert - the documents of a blob's text (numbered doc) into the
 * full-text tables, or (rebuild 1) into those that a rebuild fills
 * (store_gc.c). Within a write transaction.
 */
int store_fts_insert(struct store *s, int64_t doc, const struct store_blob_text *t, int rebuild,
		     char **error_r);

/* ---------------------------------------------------------- store_message.c */

/*
 * store_drop_message - delete one message row (the triggers do the counts)
 * and, when its blob has no other reference, the blob's row (its full-text
 * documents go stale) and (after the commit) its file. Within a write
 * transaction.
 */
int store_drop_message(struct store *s, int64_t mailbox, uint32_t uid, int64_t blob,
		       char **error_r);
/* store_record_expunged - the ranges of the sorted uids into expunged at modseq. */
int store_record_expunged(struct store *s, int64_t mailbox, uint64_t modseq,
			  const struct store_uids *uids, char **error_r);

/* --------------------------------------------------------------- store_gc.c */

/* store_gc_at_open - collect orphans when gc_interval has passed since the last time (logs). */
void store_gc_at_open(struct store *s);

#endif
