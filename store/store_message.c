/*
 * store_message - the messages of a mailbox: fetching (by UID range or
 * by MODSEQ), flags and keywords, copy and move, expunge, and dropping a
 * message with the blob that no other message shares.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "store/store_impl.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

#define FETCH_BLOB_FIELDS                                                                          \
	(STORE_FETCH_ENVELOPE | STORE_FETCH_STRUCTURE | STORE_FETCH_HEADERS | STORE_FETCH_SORT)
#define FETCH_ALL_FIELDS 0x3fu
/* The cache slot of fetch statements that select by MODSEQ. */
#define FETCH_BY_MODSEQ 64u

/* fetch_sql - the SELECT for a set of fields, by UID range or by MODSEQ (malloc'd). */
static char *fetch_sql(unsigned fields, int by_modseq)
{
	struct strbuf sql = STRBUF_INIT;

	strbuf_puts(&sql, "SELECT m.uid");
	if (fields & STORE_FETCH_FLAGS)
		strbuf_puts(&sql, ", m.modseq, m.flags, m.keywords");
	if (fields & STORE_FETCH_META)
		strbuf_puts(&sql, ", m.internal_date, m.save_date, m.size, m.blob");
	if (fields & STORE_FETCH_ENVELOPE)
		strbuf_puts(&sql, ", b.envelope");
	if (fields & STORE_FETCH_STRUCTURE)
		strbuf_puts(&sql, ", b.bodystructure, b.body, b.partmap, b.header_size");
	if (fields & STORE_FETCH_HEADERS)
		strbuf_puts(&sql, ", b.header_cache");
	if (fields & STORE_FETCH_SORT)
		strbuf_puts(&sql, ", b.date_sent, b.subject, b.from_addr, b.from_name, b.to_addr, "
				  "b.to_name, b.cc_addr, b.message_id, b.in_reply_to, b.refs_hdr");
	strbuf_puts(&sql, " FROM message m");
	if (fields & FETCH_BLOB_FIELDS)
		strbuf_puts(&sql, " LEFT JOIN blob b ON b.id = m.blob");
	if (by_modseq)
		strbuf_puts(&sql, " WHERE m.mailbox = ?1 AND m.modseq > ?2 ORDER BY m.uid");
	else
		strbuf_puts(&sql, " WHERE m.mailbox = ?1 AND m.uid >= ?2 AND m.uid <= ?3 "
				  "ORDER BY m.uid");
	return strbuf_detach(&sql);
}

/* col_str - a text column as the callback sees it: valid until the next step; "" for NULL. */
static char *col_str(sqlite3_stmt *stmt, int col)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);

	return text != NULL ? (char *)text : (char *)"";
}

/* blob_name_col - the blob id column as a name, in buf. */
static char *blob_name_col(sqlite3_stmt *stmt, int col, char buf[STORE_BLOB_NAME_LEN + 1])
{
	store_blob_name(sqlite3_column_int64(stmt, col), buf);
	return buf;
}

/* fill_message - a row of fetch_sql(fields) into msg. */
static void fill_message(sqlite3_stmt *stmt, unsigned fields, struct store_message *msg,
			 char blob_buf[STORE_BLOB_NAME_LEN + 1])
{
	int c = 0;

	memset(msg, 0, sizeof(*msg));
	msg->date_sent = -1;
	msg->uid = (uint32_t)sqlite3_column_int64(stmt, c++);
	if (fields & STORE_FETCH_FLAGS) {
		msg->modseq = (uint64_t)sqlite3_column_int64(stmt, c++);
		msg->flags = (unsigned)sqlite3_column_int(stmt, c++);
		msg->keywords = col_str(stmt, c++);
	}
	if (fields & STORE_FETCH_META) {
		msg->internal_date = (time_t)sqlite3_column_int64(stmt, c++);
		msg->save_date = (time_t)sqlite3_column_int64(stmt, c++);
		msg->size = (uint64_t)sqlite3_column_int64(stmt, c++);
		msg->blob = blob_name_col(stmt, c++, blob_buf);
	}
	if (fields & STORE_FETCH_ENVELOPE)
		msg->envelope = col_str(stmt, c++);
	if (fields & STORE_FETCH_STRUCTURE) {
		msg->bodystructure = col_str(stmt, c++);
		msg->body = col_str(stmt, c++);
		msg->partmap = col_str(stmt, c++);
		msg->header_size = (uint64_t)sqlite3_column_int64(stmt, c++);
	}
	if (fields & STORE_FETCH_HEADERS)
		msg->header_cache = col_str(stmt, c++);
	if (fields & STORE_FETCH_SORT) {
		if (sqlite3_column_type(stmt, c) != SQLITE_NULL)
			msg->date_sent = (time_t)sqlite3_column_int64(stmt, c);
		c++;
		msg->subject = col_str(stmt, c++);
		msg->from = col_str(stmt, c++);
		msg->from_name = col_str(stmt, c++);
		msg->to = col_str(stmt, c++);
		msg->to_name = col_str(stmt, c++);
		msg->cc = col_str(stmt, c++);
		msg->message_id = col_str(stmt, c++);
		msg->in_reply_to = col_str(stmt, c++);
		msg->references = col_str(stmt, c++);
	}
}

/* fetch_stmt - the cached statement for fields and the kind of selection. */
static sqlite3_stmt *fetch_stmt(struct store *s, unsigned fields, int by_modseq, char **error_r)
{
	unsigned slot = (fields & FETCH_ALL_FIELDS) | (by_modseq ? FETCH_BY_MODSEQ : 0);
	char *sql = fetch_sql(fields & FETCH_ALL_FIELDS, by_modseq);
	sqlite3_stmt *stmt = store_stmt_cached(s, &s->fetch_stmts[slot], sql, error_r);

	free(sql);
	return stmt;
}

/* run_fetch - call fn for each row of a bound fetch statement. */
static int run_fetch(struct store *s, sqlite3_stmt *stmt, unsigned fields, store_fetch_fn *fn,
		     void *ctx, char **error_r)
{
	struct store_message msg;
	char blob_buf[STORE_BLOB_NAME_LEN + 1];
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		fill_message(stmt, fields & FETCH_ALL_FIELDS, &msg, blob_buf);
		if (fn(&msg, ctx) < 0)
			return 0;
	}
	if (rc != SQLITE_DONE)
		return store_sql_err(s, error_r, "fetch");
	return 0;
}

int store_fetch(struct store *store, const char *mailbox, uint32_t lo, uint32_t hi, unsigned fields,
		store_fetch_fn *fn, void *ctx, char **error_r)
{
	struct store_mbox mb;
	sqlite3_stmt *stmt;
	int ret;

	if ((ret = store_begin_read(store, error_r)) < 0)
		return ret;
	if ((ret = store_mbox_select(store, mailbox, &mb, error_r)) < 0)
		goto out;
	store_mbox_free(&mb);
	if ((stmt = fetch_stmt(store, fields, 0, error_r)) == NULL) {
		ret = STORE_ERR_TEMP;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, mb.id);
	sqlite3_bind_int64(stmt, 2, lo);
	sqlite3_bind_int64(stmt, 3, hi == 0 ? UINT32_MAX : hi);
	ret = run_fetch(store, stmt, fields, fn, ctx, error_r);
	store_stmt_done(store, stmt);
out:
	store_end_read(store);
	return ret;
}

int store_changes(struct store *store, const char *mailbox, uint64_t modseq, unsigned fields,
		  store_fetch_fn *fn, store_expunged_fn *expunged, void *ctx, char **error_r)
{
	struct store_mbox mb;
	sqlite3_stmt *stmt;
	uint32_t uid, lo, hi;
	int ret, rc;

	if ((ret = store_begin_read(store, error_r)) < 0)
		return ret;
	if ((ret = store_mbox_select(store, mailbox, &mb, error_r)) < 0)
		goto out;
	store_mbox_free(&mb);
	if (fn != NULL) {
		if ((stmt = fetch_stmt(store, fields, 1, error_r)) == NULL) {
			ret = STORE_ERR_TEMP;
			goto out;
		}
		sqlite3_bind_int64(stmt, 1, mb.id);
		sqlite3_bind_int64(stmt, 2, (sqlite3_int64)modseq);
		ret = run_fetch(store, stmt, fields, fn, ctx, error_r);
		store_stmt_done(store, stmt);
		if (ret < 0)
			goto out;
	}
	if (expunged == NULL)
		goto out;
	if (sqlite3_prepare_v2(
		store->db,
		"SELECT uid_lo, uid_hi FROM expunged WHERE mailbox = ?1 AND modseq > ?2 "
		"ORDER BY uid_lo",
		-1, &stmt, NULL) != SQLITE_OK) {
		ret = store_sql_err(store, error_r, "prepare");
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, mb.id);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)modseq);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		lo = (uint32_t)sqlite3_column_int64(stmt, 0);
		hi = (uint32_t)sqlite3_column_int64(stmt, 1);
		for (uid = lo;; uid++) {
			expunged(uid, ctx);
			if (uid >= hi)
				break;
		}
	}
	if (rc != SQLITE_DONE)
		ret = store_sql_err(store, error_r, "expunged");
	sqlite3_finalize(stmt);
out:
	store_end_read(store);
	return ret;
}

void store_message_free(struct store_message *msg)
{
	if (msg == NULL)
		return;
	free(msg->keywords);
	free(msg->blob);
	free(msg->envelope);
	free(msg->bodystructure);
	free(msg->body);
	free(msg->partmap);
	free(msg->header_cache);
	free(msg->subject);
	free(msg->from);
	free(msg->from_name);
	free(msg->to);
	free(msg->to_name);
	free(msg->cc);
	free(msg->message_id);
	free(msg->in_reply_to);
	free(msg->references);
	memset(msg, 0, sizeof(*msg));
}

/* A message row as the changing calls read it. */
struct row {
	uint32_t uid;
	uint64_t modseq;
	unsigned flags;
	char *keywords; /* "" when none */
	int64_t internal_date;
	uint64_t size;
	int64_t blob;
};

/* get_row - the message uid of mailbox: 0, STORE_ERR_NOTFOUND, or STORE_ERR_TEMP. */
static int get_row(struct store *s, int64_t mailbox, uint32_t uid, struct row *r, char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_stmt(s, SQL_MESSAGE_GET, error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox);
	sqlite3_bind_int64(stmt, 2, uid);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		r->uid = uid;
		r->modseq = (uint64_t)sqlite3_column_int64(stmt, 0);
		r->flags = (unsigned)sqlite3_column_int(stmt, 1);
		r->keywords = store_text(stmt, 2);
		r->internal_date = sqlite3_column_int64(stmt, 3);
		r->size = (uint64_t)sqlite3_column_int64(stmt, 4);
		r->blob = sqlite3_column_int64(stmt, 5);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = STORE_ERR_NOTFOUND;
	} else {
		rc = store_sql_err(s, error_r, "message");
	}
	store_stmt_done(s, stmt);
	return rc;
}

int store_drop_message(struct store *s, int64_t mailbox, uint32_t uid, int64_t blob, char **error_r)
{
	sqlite3_stmt *stmt;
	int rc, dropped;

	if ((stmt = store_stmt(s, SQL_MESSAGE_DELETE, error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox);
	sqlite3_bind_int64(stmt, 2, uid);
	rc = sqlite3_step(stmt);
	store_stmt_done(s, stmt);
	if (rc != SQLITE_DONE)
		return store_sql_err(s, error_r, "message delete");
	if ((stmt = store_stmt(s, SQL_BLOB_DROP, error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, blob);
	rc = sqlite3_step(stmt);
	dropped = sqlite3_changes(s->db) > 0;
	store_stmt_done(s, stmt);
	if (rc != SQLITE_DONE)
		return store_sql_err(s, error_r, "blob delete");
	if (!dropped)
		return 0; /* another message still refers to it */
	/* Its full-text documents stay, stale (store_impl.h). */
	store_unlink_later(s, blob);
	return 0;
}

static int cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int store_record_expunged(struct store *s, int64_t mailbox, uint64_t modseq,
			  const struct store_uids *uids, char **error_r)
{
	uint32_t *sorted;
	sqlite3_stmt *stmt;
	size_t i, j;
	int rc = SQLITE_DONE;

	if (uids->count == 0)
		return 0;
	sorted = xmemdup(uids->uids, uids->count * sizeof(uint32_t));
	qsort(sorted, uids->count, sizeof(uint32_t), cmp_uid);
	for (i = 0; i < uids->count && rc == SQLITE_DONE; i = j) {
		for (j = i + 1; j < uids->count && sorted[j] <= sorted[j - 1] + 1; j++)
			;
		if ((stmt = store_stmt(s, SQL_EXPUNGED_INSERT, error_r)) == NULL) {
			free(sorted);
			return STORE_ERR_TEMP;
		}
		sqlite3_bind_int64(stmt, 1, mailbox);
		sqlite3_bind_int64(stmt, 2, (sqlite3_int64)modseq);
		sqlite3_bind_int64(stmt, 3, sorted[i]);
		sqlite3_bind_int64(stmt, 4, sorted[j - 1]);
		rc = sqlite3_step(stmt);
		store_stmt_done(s, stmt);
	}
	free(sorted);
	if (rc != SQLITE_DONE)
		return store_sql_err(s, error_r, "expunged");
	return 0;
}

/* kw_apply - the keyword list of a message after a flag change (malloc'd). */
static char *kw_apply(const char *old, enum store_flag_mode mode, const char *given)
{
	struct strbuf out = STRBUF_INIT;
	const char *p;
	size_t n;

	if (mode == STORE_FLAGS_REPLACE)
		return xstrdup(given);
	for (p = old; *(p += strspn(p, " ")) != '\0'; p += n) {
		n = strcspn(p, " ");
		if (mode == STORE_FLAGS_REMOVE && store_keywords_has(given, p, n))
			continue;
		if (out.len > 0)
			strbuf_putc(&out, ' ');
		strbuf_append(&out, p, n);
	}
	if (mode == STORE_FLAGS_ADD) {
		for (p = given; *(p += strspn(p, " ")) != '\0'; p += n) {
			n = strcspn(p, " ");
			if (store_keywords_has(old, p, n))
				continue;
			if (out.len > 0)
				strbuf_putc(&out, ' ');
			strbuf_append(&out, p, n);
		}
	}
	p = strbuf_str(&out);
	return out.len > 0 ? strbuf_detach(&out) : xstrdup(p);
}

/* kw_join - the keywords to remove, checked, space-separated (malloc'd). */
static int kw_join(const char *const *keywords, size_t n, char **out_r, char **error_r)
{
	struct strbuf out = STRBUF_INIT;
	size_t i;

	*out_r = NULL;
	for (i = 0; i < n; i++) {
		if (!store_keyword_valid(keywords[i])) {
			strbuf_free(&out);
			return store_err(error_r, STORE_ERR_INVALID, "bad keyword \"%s\"",
					 keywords[i]);
		}
		if (out.len > 0)
			strbuf_putc(&out, ' ');
		strbuf_puts(&out, keywords[i]);
	}
	*out_r = strbuf_detach(&out);
	return 0;
}

/* update_row - write a message's new flags, keywords and MODSEQ. */
static int update_row(struct store *s, int64_t mailbox, uint32_t uid, unsigned flags,
		      const char *keywords, uint64_t modseq, char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_stmt(s, SQL_MESSAGE_UPDATE, error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox);
	sqlite3_bind_int64(stmt, 2, uid);
	sqlite3_bind_int(stmt, 3, (int)flags);
	if (keywords[0] != '\0')
		sqlite3_bind_text(stmt, 4, keywords, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)modseq);
	rc = sqlite3_step(stmt);
	store_stmt_done(s, stmt);
	if (rc != SQLITE_DONE)
		return store_sql_err(s, error_r, "flags update");
	return 0;
}

/* set_flags_txn - store_set_flags() inside its transaction. */
static int set_flags_txn(struct store *s, struct store_mbox *mb, const struct store_uids *uids,
			 enum store_flag_mode mode, unsigned flags, const char *given,
			 uint64_t unchangedsince, struct store_uids *changed,
			 struct store_uids *failed, char **error_r)
{
	size_t i, csize = 0, fsize = 0;
	uint64_t modseq = mb->modseq + 1;
	struct row r;
	unsigned nflags;
	char *nkw;
	int ret = 0;

	for (i = 0; i < uids->count && ret == 0; i++) {
		if ((ret = get_row(s, mb->id, uids->uids[i], &r, error_r)) == STORE_ERR_NOTFOUND) {
			ret = 0;
			continue;
		}
		if (ret < 0)
			break;
		if (unchangedsince != 0 && r.modseq > unchangedsince) {
			store_uids_add(failed, &fsize, r.uid);
			free(r.keywords);
			continue;
		}
		nflags = mode == STORE_FLAGS_ADD      ? r.flags | flags
			 : mode == STORE_FLAGS_REMOVE ? r.flags & ~flags
						      : flags;
		nkw = kw_apply(r.keywords, mode, given);
		if (nflags != r.flags || strcmp(nkw, r.keywords) != 0) {
			ret = update_row(s, mb->id, r.uid, nflags, nkw, modseq, error_r);
			store_uids_add(changed, &csize, r.uid);
		}
		free(nkw);
		free(r.keywords);
	}
	if (ret == 0 && changed->count > 0)
		mb->modseq = modseq;
	return ret;
}

int store_set_flags(struct store *store, const char *mailbox, const struct store_uids *uids,
		    enum store_flag_mode mode, unsigned flags, const char *const *keywords,
		    size_t nkeywords, uint64_t unchangedsince, struct store_uids *changed_r,
		    struct store_uids *failed_r, char **error_r)
{
	struct store_uids changed = {0}, failed = {0};
	struct store_mbox mb = {0};
	char *given = NULL;
	int ret, list_changed = 0;

	if (changed_r != NULL)
		memset(changed_r, 0, sizeof(*changed_r));
	if (failed_r != NULL)
		memset(failed_r, 0, sizeof(*failed_r));
	if (nkeywords > 0 && keywords == NULL)
		return store_err(error_r, STORE_ERR_INVALID, "keywords missing");
	flags &= STORE_FLAGS_ALL;
	if ((ret = store_begin_write(store, error_r)) < 0)
		return ret;
	if ((ret = store_mbox_select(store, mailbox, &mb, error_r)) < 0)
		goto fail;
	/* Removing keywords does not add them to the mailbox's list. */
	if (mode == STORE_FLAGS_REMOVE)
		ret = kw_join(keywords, nkeywords, &given, error_r);
	else
		ret = store_mbox_keywords(&mb, keywords, nkeywords, 1, &given, &list_changed,
					  error_r);
	if (ret < 0)
		goto fail;
	if (given == NULL)
		given = xstrdup("");
	if ((ret = set_flags_txn(store, &mb, uids, mode, flags, given, unchangedsince, &changed,
				 &failed, error_r)) < 0)
		goto fail;
	if (changed.count > 0 || list_changed) {
		if ((ret = store_mbox_save(store, &mb, error_r)) < 0)
			goto fail;
		ret = store_commit(store, error_r);
	} else {
		store_rollback(store);
	}
	if (ret < 0)
		goto out;
	if (changed_r != NULL)
		*changed_r = changed;
	else
		store_uids_free(&changed);
	if (failed_r != NULL)
		*failed_r = failed;
	else
		store_uids_free(&failed);
	store_mbox_free(&mb);
	free(given);
	return 0;
fail:
	store_rollback(store);
out:
	store_uids_free(&changed);
	store_uids_free(&failed);
	store_mbox_free(&mb);
	free(given);
	return ret;
}

/* copy_keywords - a message's keywords as the destination mailbox knows them (malloc'd or NULL). */
static int copy_keywords(struct store_mbox *dst, const char *kw, char **out_r, char **error_r)
{
	char **words = NULL, *copy = xstrdup(kw), *p, *save = NULL;
	size_t n = 0, size = 0;
	int changed, ret;

	for (p = strtok_r(copy, " ", &save); p != NULL; p = strtok_r(NULL, " ", &save)) {
		if (n == size) {
			size = size ? 2 * size : 8;
			words = xreallocarray(words, size, sizeof(*words));
		}
		words[n++] = p;
	}
	ret = store_mbox_keywords(dst, (const char *const *)words, n, 0, out_r, &changed, error_r);
	free(words);
	free(copy);
	return ret;
}

/* insert_copy - a new row in dst for the message r. */
static int insert_copy(struct store *s, struct store_mbox *dst, const struct row *r, uint32_t uid,
		       time_t now, char **error_r)
{
	sqlite3_stmt *stmt;
	char *kw = NULL;
	int rc, ret;

	if ((ret = copy_keywords(dst, r->keywords, &kw, error_r)) < 0)
		return ret;
	if ((stmt = store_stmt(s, SQL_MESSAGE_INSERT, error_r)) == NULL) {
		free(kw);
		return STORE_ERR_TEMP;
	}
	sqlite3_bind_int64(stmt, 1, dst->id);
	sqlite3_bind_int64(stmt, 2, uid);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)dst->modseq);
	sqlite3_bind_int(stmt, 4, (int)r->flags);
	if (kw != NULL)
		sqlite3_bind_text(stmt, 5, kw, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, r->internal_date);
	sqlite3_bind_int64(stmt, 7, (sqlite3_int64)now);
	sqlite3_bind_int64(stmt, 8, (sqlite3_int64)r->size);
	sqlite3_bind_int64(stmt, 9, r->blob);
	rc = sqlite3_step(stmt);
	store_stmt_done(s, stmt);
	free(kw);
	if (rc != SQLITE_DONE)
		return store_sql_err(s, error_r, "message copy");
	return 0;
}

/* copy_rows - read the source messages that exist. */
static int copy_rows(struct store *s, const struct store_mbox *src, const struct store_uids *uids,
		     struct row **rows_r, size_t *n_r, char **error_r)
{
	struct row *rows = xcalloc(uids->count ? uids->count : 1, sizeof(*rows));
	size_t i, n = 0;
	int ret = 0;

	for (i = 0; i < uids->count; i++) {
		ret = get_row(s, src->id, uids->uids[i], &rows[n], error_r);
		if (ret == STORE_ERR_NOTFOUND) {
			ret = 0;
			continue;
		}
		if (ret < 0)
			break;
		n++;
	}
	*rows_r = rows;
	*n_r = n;
	return ret;
}

/* copy_txn - store_copy() inside its transaction; src and dst may be the same mailbox. */
static int copy_txn(struct store *s, struct store_mbox *src, struct store_mbox *dst, int move,
		    const struct row *rows, size_t n, struct store_uids *src_uids,
		    struct store_uids *dst_uids, char **error_r)
{
	uint64_t bytes = 0;
	size_t i, ssize = 0, dsize = 0;
	time_t now = time(NULL);
	int ret = 0;

	for (i = 0; i < n; i++)
		bytes += rows[i].size;
	if (!move && (ret = store_quota_check(s, bytes, n, error_r)) < 0)
		return ret;
	if ((uint64_t)dst->uidnext + n >= UINT32_MAX)
		return store_err(error_r, STORE_ERR_INVALID, "the mailbox has no UIDs left");
	dst->modseq++;
	for (i = 0; i < n && ret == 0; i++) {
		ret = insert_copy(s, dst, &rows[i], dst->uidnext, now, error_r);
		store_uids_add(src_uids, &ssize, rows[i].uid);
		store_uids_add(dst_uids, &dsize, dst->uidnext++);
	}
	if (ret < 0 || !move)
		return ret;
	if (src != dst)
		src->modseq++;
	for (i = 0; i < n && ret == 0; i++)
		ret = store_drop_message(s, src->id, rows[i].uid, rows[i].blob, error_r);
	if (ret == 0)
		ret = store_record_expunged(s, src->id, src->modseq, src_uids, error_r);
	return ret;
}

int store_copy(struct store *store, const char *mailbox, const struct store_uids *uids,
	       const char *dst_mailbox, int move, struct store_uids *src_uids_r,
	       struct store_uids *dst_uids_r, uint32_t *dst_uidvalidity_r, char **error_r)
{
	struct store_mbox src = {0}, dst = {0}, *dp = &dst;
	struct store_uids su = {0}, du = {0};
	struct row *rows = NULL;
	size_t n = 0, i;
	int ret;

	if (src_uids_r != NULL)
		memset(src_uids_r, 0, sizeof(*src_uids_r));
	if (dst_uids_r != NULL)
		memset(dst_uids_r, 0, sizeof(*dst_uids_r));
	if ((ret = store_begin_write(store, error_r)) < 0)
		return ret;
	if ((ret = store_mbox_select(store, mailbox, &src, error_r)) < 0 ||
	    (ret = store_mbox_select(store, dst_mailbox, &dst, error_r)) < 0)
		goto fail;
	if (dst.id == src.id)
		dp = &src;
	if (dst_uidvalidity_r != NULL)
		*dst_uidvalidity_r = dp->uidvalidity;
	if ((ret = copy_rows(store, &src, uids, &rows, &n, error_r)) < 0)
		goto fail;
	if (n == 0) {
		store_rollback(store);
		goto done;
	}
	if ((ret = copy_txn(store, &src, dp, move, rows, n, &su, &du, error_r)) < 0 ||
	    (ret = store_mbox_save(store, dp, error_r)) < 0 ||
	    (move && dp != &src && (ret = store_mbox_save(store, &src, error_r)) < 0))
		goto fail;
	if ((ret = store_commit(store, error_r)) < 0)
		goto out;
done:
	if (src_uids_r != NULL)
		*src_uids_r = su;
	else
		store_uids_free(&su);
	if (dst_uids_r != NULL)
		*dst_uids_r = du;
	else
		store_uids_free(&du);
	ret = 0;
	goto free_rows;
fail:
	store_rollback(store);
out:
	store_uids_free(&su);
	store_uids_free(&du);
free_rows:
	for (i = 0; i < n; i++)
		free(rows[i].keywords);
	free(rows);
	store_mbox_free(&src);
	store_mbox_free(&dst);
	return ret;
}

/* expunge_candidates - the (uid, blob) pairs to remove. */
static int expunge_candidates(struct store *s, const struct store_mbox *mb,
			      const struct store_uids *uids, int force, struct store_uids *out,
			      int64_t **blobs_r, char **error_r)
{
	sqlite3_stmt *stmt;
	size_t size = 0, bsize = 0, i;
	struct row r;
	int ret = 0, rc;

	*blobs_r = NULL;
	if (uids != NULL) {
		for (i = 0; i < uids->count; i++) {
			ret = get_row(s, mb->id, uids->uids[i], &r, error_r);
			if (ret == STORE_ERR_NOTFOUND) {
				ret = 0;
				continue;
			}
			if (ret < 0)
				return ret;
			free(r.keywords);
			if (!force && !(r.flags & STORE_DELETED))
				continue;
			if (out->count == bsize) {
				bsize = bsize ? 2 * bsize : 16;
				*blobs_r = xreallocarray(*blobs_r, bsize, sizeof(int64_t));
			}
			(*blobs_r)[out->count] = r.blob;
			store_uids_add(out, &size, r.uid);
		}
		return 0;
	}
	if (sqlite3_prepare_v2(
		s->db,
		"SELECT uid, blob FROM message WHERE mailbox = ?1 AND (flags & 8) != 0 "
		"ORDER BY uid",
		-1, &stmt, NULL) != SQLITE_OK)
		return store_sql_err(s, error_r, "prepare");
	sqlite3_bind_int64(stmt, 1, mb->id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (out->count == bsize) {
			bsize = bsize ? 2 * bsize : 16;
			*blobs_r = xreallocarray(*blobs_r, bsize, sizeof(int64_t));
		}
		(*blobs_r)[out->count] = sqlite3_column_int64(stmt, 1);
		store_uids_add(out, &size, (uint32_t)sqlite3_column_int64(stmt, 0));
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return store_sql_err(s, error_r, "expunge");
	return 0;
}

int store_expunge(struct store *store, const char *mailbox, const struct store_uids *uids,
		  int force, struct store_uids *expunged_r, char **error_r)
{
	struct store_mbox mb = {0};
	struct store_uids gone = {0};
	int64_t *blobs = NULL;
	size_t i;
	int ret;

	if (expunged_r != NULL)
		memset(expunged_r, 0, sizeof(*expunged_r));
	if ((ret = store_begin_write(store, error_r)) < 0)
		return ret;
	if ((ret = store_mbox_select(store, mailbox, &mb, error_r)) < 0 ||
	    (ret = expunge_candidates(store, &mb, uids, force, &gone, &blobs, error_r)) < 0)
		goto fail;
	if (gone.count == 0) {
		store_rollback(store);
		goto done;
	}
	mb.modseq++;
	for (i = 0; i < gone.count && ret == 0; i++)
		ret = store_drop_message(store, mb.id, gone.uids[i], blobs[i], error_r);
	if (ret < 0 || (ret = store_record_expunged(store, mb.id, mb.modseq, &gone, error_r)) < 0 ||
	    (ret = store_mbox_save(store, &mb, error_r)) < 0)
		goto fail;
	if ((ret = store_commit(store, error_r)) < 0)
		goto out;
done:
	if (expunged_r != NULL)
		*expunged_r = gone;
	else
		store_uids_free(&gone);
	free(blobs);
	store_mbox_free(&mb);
	return 0;
fail:
	store_rollback(store);
out:
	store_uids_free(&gone);
	free(blobs);
	store_mbox_free(&mb);
	return ret;
}
