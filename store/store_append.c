/*
 * store_append - a new message: the blob made durable, the IMAP data that
 * the MIME parser gave while it was written turned into cached columns,
 * and one transaction that adds the blob's row, its text and the message.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "mail/mime.h"
#include "store/store_impl.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* The cached columns of a blob row. */
struct cached {
	struct strbuf envelope, body, bodystructure, partmap, header_cache;
	uint64_t header_size;
	time_t date_sent;
	char *subject, *from, *from_name, *to, *to_name, *cc;
	const char *message_id, *in_reply_to, *references;
};

/* is_cached_field - whether a header field name is one of STORE_CACHED_FIELDS. */
static int is_cached_field(const char *name)
{
	const char *p = STORE_CACHED_FIELDS;
	size_t n, len = strlen(name);

	while (*(p += strspn(p, " ")) != '\0') {
		n = strcspn(p, " ");
		if (n == len && strncasecmp(p, name, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}

/* first_address - the first real address of a list as "mailbox@host" and its name. */
static void first_address(const struct mime_addresses *list, char **addr_r, char **name_r)
{
	const struct mime_address *a;
	size_t i;

	for (i = 0; i < list->count; i++) {
		a = &list->items[i];
		if (a->mailbox == NULL || a->host == NULL)
			continue; /* a group's start or end */
		*addr_r = a->host[0] != '\0' ? xasprintf("%s@%s", a->mailbox, a->host)
					     : xstrdup(a->mailbox);
		if (name_r != NULL && a->name != NULL && a->name[0] != '\0')
			*name_r = xstrdup(a->name);
		return;
	}
}

static void cached_make(const struct mime_message *msg, struct cached *c)
{
	const struct mime_part *root = msg->root;
	const struct mime_envelope *env = root->envelope;
	size_t i;

	memset(c, 0, sizeof(*c));
	mime_envelope_imap(env, &c->envelope);
	mime_bodystructure_imap(root, 0, &c->body);
	mime_bodystructure_imap(root, 1, &c->bodystructure);
	mime_partmap_encode(msg, &c->partmap);
	c->header_size =
	    root->body_offset >= root->header_offset ? root->body_offset - root->header_offset : 0;
	for (i = 0; i < msg->nheaders; i++) {
		if (!is_cached_field(msg->headers[i].name))
			continue;
		strbuf_puts(&c->header_cache, msg->headers[i].name);
		strbuf_putc(&c->header_cache, ':');
		strbuf_puts(&c->header_cache, msg->headers[i].value);
		strbuf_append(&c->header_cache, "\r\n", 2);
	}
	c->date_sent = -1;
	if (env == NULL)
		return;
	c->date_sent = env->date_time;
	if (env->subject_utf8 != NULL && env->subject_utf8[0] != '\0')
		c->subject = xstrdup(env->subject_utf8);
	first_address(&env->from, &c->from, &c->from_name);
	first_address(&env->to, &c->to, &c->to_name);
	first_address(&env->cc, &c->cc, NULL);
	c->message_id = env->message_id;
	c->in_reply_to = env->in_reply_to;
	c->references = env->references;
}

static void cached_free(struct cached *c)
{
	strbuf_free(&c->envelope);
	strbuf_free(&c->body);
	strbuf_free(&c->bodystructure);
	strbuf_free(&c->partmap);
	strbuf_free(&c->header_cache);
	free(c->subject);
	free(c->from);
	free(c->from_name);
	free(c->to);
	free(c->to_name);
	free(c->cc);
}

/* bind_opt - a string, or NULL when it is absent or empty. */
static void bind_opt(sqlite3_stmt *stmt, int col, const char *text)
{
	if (text != NULL && text[0] != '\0')
		sqlite3_bind_text(stmt, col, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, col);
}

static void bind_buf(sqlite3_stmt *stmt, int col, const struct strbuf *sb)
{
	sqlite3_bind_text(stmt, col, strbuf_str(sb), (int)sb->len, SQLITE_STATIC);
}

/* new_doc - the next document number (state.fts_next). */
static int new_doc(struct store *s, int64_t *doc_r, char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_stmt(s, SQL_FTS_NEXT, error_r)) == NULL)
		return STORE_ERR_TEMP;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*doc_r = sqlite3_column_int64(stmt, 0);
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(stmt);
	store_stmt_done(s, stmt);
	if (rc != SQLITE_DONE)
		return store_sql_err(s, error_r, "document number");
	return 0;
}

/* insert_blob - the blob's row and its text. */
static int insert_blob(struct store *s, const struct store_blob_done *done, const struct cached *c,
		       char **error_r)
{
	sqlite3_stmt *stmt;
	int64_t doc = 0;
	int rc;

	if ((rc = new_doc(s, &doc, error_r)) < 0)
		return rc;
	if ((stmt = store_stmt(s, SQL_BLOB_INSERT, error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, done->id);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)c->header_size);
	if (c->date_sent != -1)
		sqlite3_bind_int64(stmt, 3, (sqlite3_int64)c->date_sent);
	bind_opt(stmt, 4, c->subject);
	bind_opt(stmt, 5, c->from);
	bind_opt(stmt, 6, c->from_name);
	bind_opt(stmt, 7, c->to);
	bind_opt(stmt, 8, c->to_name);
	bind_opt(stmt, 9, c->cc);
	bind_opt(stmt, 10, c->message_id);
	bind_opt(stmt, 11, c->in_reply_to);
	bind_opt(stmt, 12, c->references);
	bind_buf(stmt, 13, &c->envelope);
	bind_buf(stmt, 14, &c->body);
	bind_buf(stmt, 15, &c->bodystructure);
	bind_buf(stmt, 16, &c->partmap);
	bind_buf(stmt, 17, &c->header_cache);
	sqlite3_bind_int64(stmt, 18, doc);
	rc = sqlite3_step(stmt);
	store_stmt_done(s, stmt);
	if (rc != SQLITE_DONE)
		return store_sql_err(s, error_r, "blob insert");
	/*
	 * Into the tables that searches use only: a rebuild in progress has
	 * its cursor below every new document number and takes it itself.
	 */
	return store_fts_insert(s, doc, &done->text, 0, error_r);
}

/* fts_insert_one - one document into a full-text table (none for empty text). */
static int fts_insert_one(struct store *s, enum store_stmt_id id, int64_t doc,
			  const struct strbuf *text, char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if (text->len == 0)
		return 0;
	if ((stmt = store_stmt(s, id, error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, doc);
	bind_buf(stmt, 2, text);
	rc = sqlite3_step(stmt);
	store_stmt_done(s, stmt);
	if (rc != SQLITE_DONE)
		return store_sql_err(s, error_r, "text index insert");
	return 0;
}

int store_fts_insert(struct store *s, int64_t doc, const struct store_blob_text *t, int rebuild,
		     char **error_r)
{
	int ret;

	if ((ret = fts_insert_one(s, rebuild ? SQL_FTS_HEADER_NEW_INSERT : SQL_FTS_HEADER_INSERT,
				  doc, &t->header, error_r)) < 0)
		return ret;
	return fts_insert_one(s, rebuild ? SQL_FTS_BODY_NEW_INSERT : SQL_FTS_BODY_INSERT, doc,
			      &t->body, error_r);
}

int store_quota_check(struct store *s, uint64_t bytes, uint64_t messages, char **error_r)
{
	uint64_t used_bytes, used_messages;
	int ret;

	if (s->opts.quota_bytes == 0 && s->opts.quota_messages == 0)
		return 0;
	if ((ret = store_quota_usage(s, &used_bytes, &used_messages, error_r)) < 0)
		return ret;
	if (s->opts.quota_bytes != 0 && used_bytes + bytes > s->opts.quota_bytes)
		return store_err(error_r, STORE_ERR_OVERQUOTA,
				 "quota exceeded: %llu of %llu bytes used, %llu more",
				 (unsigned long long)used_bytes,
				 (unsigned long long)s->opts.quota_bytes,
				 (unsigned long long)bytes);
	if (s->opts.quota_messages != 0 && used_messages + messages > s->opts.quota_messages)
		return store_err(
		    error_r, STORE_ERR_OVERQUOTA, "quota exceeded: %llu of %llu messages",
		    (unsigned long long)used_messages, (unsigned long long)s->opts.quota_messages);
	return 0;
}

/* append_mailbox - the target mailbox; a missing default special-use one is made. */
static int append_mailbox(struct store *s, const char *name, struct store_mbox *mb, char **error_r)
{
	char *norm;
	unsigned use;
	int ret = store_mbox_select(s, name, mb, error_r);

	if (ret != STORE_ERR_NOTFOUND || mb->noselect)
		return ret;
	norm = store_name_normalize(name, error_r);
	use = norm != NULL ? store_default_use(norm) : 0;
	if (use == 0 || mb->id != 0) {
		free(norm);
		return ret;
	}
	free(*error_r);
	*error_r = NULL;
	if ((ret = store_mbox_insert(s, norm, use, 0, 1, error_r)) == 0)
		ret = store_mbox_find(s, norm, mb, error_r);
	free(norm);
	return ret;
}

/* append_row - the transaction's work: mailbox, quota, UID, rows. */
static int append_row(struct store *s, const struct store_append *req,
		      const struct store_blob_done *done, const struct cached *c, uint32_t *uid_r,
		      char **error_r)
{
	struct store_mbox mb;
	sqlite3_stmt *stmt;
	char *keywords = NULL;
	time_t now = time(NULL);
	uint32_t uid;
	int ret, changed, rc;

	if ((ret = append_mailbox(s, req->mailbox, &mb, error_r)) < 0)
		return ret;
	if (!req->ignore_quota && (ret = store_quota_check(s, done->size, 1, error_r)) < 0)
		goto out;
	uid = req->uid != 0 ? req->uid : mb.uidnext;
	if (uid < mb.uidnext) {
		ret = store_err(error_r, STORE_ERR_INVALID, "UID %u is below UIDNEXT %u", uid,
				mb.uidnext);
		goto out;
	}
	if (uid == UINT32_MAX) {
		ret = store_err(error_r, STORE_ERR_INVALID, "mailbox %s has no UIDs left",
				req->mailbox);
		goto out;
	}
	if ((ret = store_mbox_keywords(&mb, req->keywords, req->nkeywords, 0, &keywords, &changed,
				       error_r)) < 0 ||
	    (ret = insert_blob(s, done, c, error_r)) < 0)
		goto out;
	if ((stmt = store_stmt(s, SQL_MESSAGE_INSERT, error_r)) == NULL) {
		ret = STORE_ERR_TEMP;
		goto out;
	}
	mb.modseq++;
	sqlite3_bind_int64(stmt, 1, mb.id);
	sqlite3_bind_int64(stmt, 2, uid);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)mb.modseq);
	sqlite3_bind_int(stmt, 4, (int)(req->flags & STORE_FLAGS_ALL));
	bind_opt(stmt, 5, keywords);
	sqlite3_bind_int64(stmt, 6, (sqlite3_int64)(req->internal_date ? req->internal_date : now));
	sqlite3_bind_int64(stmt, 7, (sqlite3_int64)now);
	sqlite3_bind_int64(stmt, 8, (sqlite3_int64)done->size);
	sqlite3_bind_int64(stmt, 9, done->id);
	rc = sqlite3_step(stmt);
	store_stmt_done(s, stmt);
	if (rc != SQLITE_DONE) {
		ret = store_sql_err(s, error_r, "message insert");
		goto out;
	}
	mb.uidnext = uid + 1;
	if ((ret = store_mbox_save(s, &mb, error_r)) < 0)
		goto out;
	*uid_r = uid;
out:
	free(keywords);
	store_mbox_free(&mb);
	return ret;
}

/* The statements of an append, prepared before it takes the lock. */
static const enum store_stmt_id append_stmts[] = {
    SQL_MAILBOX_LOOKUP,	 SQL_FTS_NEXT,	     SQL_BLOB_INSERT,	  SQL_FTS_HEADER_INSERT,
    SQL_FTS_BODY_INSERT, SQL_MESSAGE_INSERT, SQL_MAILBOX_ADVANCE,
};
#define APPEND_STMTS (sizeof(append_stmts) / sizeof(append_stmts[0]))

int store_append(struct store *store, struct store_blob **blob, const struct store_append *req,
		 uint32_t *uid_r, char **error_r)
{
	struct store_blob_done done;
	struct cached c;
	char *rel;
	int ret, committing = 0;

	*uid_r = 0;
	if (*blob == NULL)
		return store_err(error_r, STORE_ERR_INVALID, "append without a blob");
	if (req->mailbox == NULL || (req->nkeywords > 0 && req->keywords == NULL) ||
	    store_blob_store(*blob) != store) {
		store_blob_discard(blob);
		return store_err(error_r, STORE_ERR_INVALID,
				 "append without a mailbox, or of another store's blob");
	}
	if ((ret = store_blob_finish(blob, &done, error_r)) < 0)
		return ret;
	cached_make(done.msg, &c);
	ret = store_stmt_prepare(store, append_stmts, APPEND_STMTS, error_r);
	if (ret == 0 && (ret = store_begin_write(store, error_r)) == 0) {
		if ((ret = append_row(store, req, &done, &c, uid_r, error_r)) == 0) {
			/* A failed COMMIT leaves the file to store_gc, which looks at the index. */
			if ((ret = store_commit(store, error_r)) < 0)
				committing = 1;
		} else {
			store_rollback(store);
		}
	}
	if (ret < 0)
		*uid_r = 0;
	if (ret < 0 && !committing) {
		/* No row refers to the file: remove it now rather than leave an orphan. */
		rel = store_blob_relpath(done.id);
		(void)unlinkat(store->dirfd, rel, 0);
		free(rel);
	}
	cached_free(&c);
	store_blob_done_free(&done);
	return ret;
}
