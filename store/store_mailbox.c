/*
 * store_mailbox - mailboxes (create, delete, rename, list, special-use),
 * subscriptions, \Recent, and the keyword list of a mailbox.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "store/store_impl.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* The columns of a store_mailbox, in the order fill_mailbox() reads them. */
#define MAILBOX_COLUMNS                                                                            \
	"m.name, m.uidvalidity, m.uidnext, m.modseq, m.first_recent, m.special_use, "              \
	"m.noselect, m.messages, m.unseen, m.deleted, m.size, "                                    \
	"EXISTS (SELECT 1 FROM subscription s WHERE s.name = m.name)"

static void fill_mailbox(sqlite3_stmt *stmt, struct store_mailbox *mb)
{
	mb->name = store_text(stmt, 0);
	mb->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 1);
	mb->uidnext = (uint32_t)sqlite3_column_int64(stmt, 2);
	mb->highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 3);
	mb->first_recent_uid = (uint32_t)sqlite3_column_int64(stmt, 4);
	mb->special_use = (unsigned)sqlite3_column_int(stmt, 5);
	mb->noselect = sqlite3_column_int(stmt, 6);
	mb->messages = (uint32_t)sqlite3_column_int64(stmt, 7);
	mb->unseen = (uint32_t)sqlite3_column_int64(stmt, 8);
	mb->deleted = (uint32_t)sqlite3_column_int64(stmt, 9);
	mb->size = (uint64_t)sqlite3_column_int64(stmt, 10);
	mb->subscribed = sqlite3_column_int(stmt, 11);
}

int store_mbox_find(struct store *s, const char *name, struct store_mbox *mb, char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(mb, 0, sizeof(*mb));
	if ((stmt = store_stmt(s, SQL_MAILBOX_LOOKUP, error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		mb->id = sqlite3_column_int64(stmt, 0);
		mb->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 1);
		mb->uidnext = (uint32_t)sqlite3_column_int64(stmt, 2);
		mb->modseq = (uint64_t)sqlite3_column_int64(stmt, 3);
		mb->noselect = sqlite3_column_int(stmt, 4);
		mb->special_use = (unsigned)sqlite3_column_int(stmt, 5);
		mb->keywords = store_text(stmt, 6);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = store_err(error_r, STORE_ERR_NOTFOUND, "no mailbox %s", name);
	} else {
		rc = store_sql_err(s, error_r, "mailbox lookup");
	}
	store_stmt_done(s, stmt);
	return rc;
}

void store_mbox_free(struct store_mbox *mb)
{
	XFREE(mb->keywords);
}

int store_mbox_select(struct store *s, const char *name, struct store_mbox *mb, char **error_r)
{
	char *norm = store_name_normalize(name, error_r);
	int ret;

	memset(mb, 0, sizeof(*mb));
	if (norm == NULL)
		return STORE_ERR_INVALID;
	ret = store_mbox_find(s, norm, mb, error_r);
	if (ret == 0 && mb->noselect) {
		store_mbox_free(mb);
		ret = store_err(error_r, STORE_ERR_NOTFOUND, "mailbox %s cannot be selected", norm);
	}
	free(norm);
	return ret;
}

/* run_stmt - step a statement that returns no rows; finalize it; 0 or STORE_ERR_TEMP. */
static int run_stmt(struct store *s, sqlite3_stmt *stmt, const char *what, char **error_r)
{
	int rc = sqlite3_step(stmt);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_sql_err(s, error_r, what);
		sqlite3_finalize(stmt);
		return STORE_ERR_TEMP;
	}
	sqlite3_finalize(stmt);
	return 0;
}

/* prepare - a one-off statement; NULL with *error_r set. */
static sqlite3_stmt *prepare(struct store *s, const char *sql, char **error_r)
{
	sqlite3_stmt *stmt;

	if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		store_sql_err(s, error_r, "prepare");
		return NULL;
	}
	return stmt;
}

/* A step of a write transaction: 0, or a STORE_ERR_* code (with *error_r set). */
typedef int write_step(struct store *s, const char *name, void *ctx, char **error_r);

/*
 * in_write - run step with name and ctx in a write transaction of its own:
 * committed when step returns 0, rolled back when it fails. 0 or the
 * STORE_ERR_* code of what failed.
 */
static int in_write(struct store *s, write_step *step, const char *name, void *ctx, char **error_r)
{
	int ret;

	if ((ret = store_begin_write(s, error_r)) < 0)
		return ret;
	if ((ret = step(s, name, ctx, error_r)) < 0) {
		store_rollback(s);
		return ret;
	}
	return store_commit(s, error_r);
}

/* in_write_name - in_write() of the mailbox name normalised (STORE_ERR_INVALID when not valid). */
static int in_write_name(struct store *s, write_step *step, const char *name, void *ctx,
			 char **error_r)
{
	char *norm = store_name_normalize(name, error_r);
	int ret;

	if (norm == NULL)
		return STORE_ERR_INVALID;
	ret = in_write(s, step, norm, ctx, error_r);
	free(norm);
	return ret;
}

/* new_uidvalidity - a value no mailbox of this store had: the time, or one more than the last. */
static int new_uidvalidity(struct store *s, uint32_t given, uint32_t *uidvalidity_r, char **error_r)
{
	sqlite3_stmt *stmt;
	uint64_t last, next, now = (uint64_t)time(NULL);
	int rc;

	if ((stmt = store_stmt(s, SQL_STATE_GET, error_r)) == NULL)
		return STORE_ERR_TEMP;
	rc = sqlite3_step(stmt);
	last = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(stmt, 2) : 0;
	store_stmt_done(s, stmt);
	if (rc != SQLITE_ROW)
		return store_sql_err(s, error_r, "state");
	if (given != 0) {
		next = given;
	} else {
		next = now > last ? now : last + 1;
		if (next > UINT32_MAX)
			next = 1 + (last + 1) % UINT32_MAX; /* past 2106: any fresh value will do */
	}
	*uidvalidity_r = (uint32_t)next;
	if (next <= last)
		return 0;
	if ((stmt = prepare(s, "UPDATE state SET uidvalidity = ?1 WHERE id = 0", error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)next);
	return run_stmt(s, stmt, "state", error_r);
}

int store_mbox_insert(struct store *s, const char *name, unsigned special_use, uint32_t uidvalidity,
		      int subscribe, char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	if ((ret = new_uidvalidity(s, uidvalidity, &uidvalidity, error_r)) < 0)
		return ret;
	stmt = prepare(s,
		       "INSERT INTO mailbox (name, uidvalidity, uidnext, modseq, special_use) "
		       "VALUES (?1, ?2, 1, 1, ?3)",
		       error_r);
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, uidvalidity);
	sqlite3_bind_int(stmt, 3, (int)special_use);
	if ((ret = run_stmt(s, stmt, "create mailbox", error_r)) < 0 || !subscribe)
		return ret;
	if ((stmt = prepare(s, "INSERT OR IGNORE INTO subscription (name) VALUES (?1)", error_r)) ==
	    NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	return run_stmt(s, stmt, "subscribe", error_r);
}

/* create_parents - the missing ancestors of name ("a" and "a/b" of "a/b/c"), selectable. */
static int create_parents(struct store *s, const char *name, char **error_r)
{
	char *copy = xstrdup(name), *p;
	struct store_mbox mb;
	int ret = 0;

	for (p = strchr(copy, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		ret = store_mbox_find(s, copy, &mb, error_r);
		store_mbox_free(&mb);
		if (ret == STORE_ERR_NOTFOUND) {
			free(*error_r);
			*error_r = NULL;
			ret = store_mbox_insert(s, copy, 0, 0, 0, error_r);
		}
		*p = '/';
		if (ret < 0)
			break;
	}
	free(copy);
	return ret;
}

/*
 * reselect - a noselect name becomes a mailbox again: a new mailbox as far
 * as clients can tell (new UIDVALIDITY, UIDs from 1, no expunge history).
 */
static int reselect(struct store *s, int64_t id, unsigned special_use, uint32_t uidvalidity,
		    char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	if ((ret = new_uidvalidity(s, uidvalidity, &uidvalidity, error_r)) < 0)
		return ret;
	if ((stmt = prepare(s, "DELETE FROM expunged WHERE mailbox = ?1", error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, id);
	if ((ret = run_stmt(s, stmt, "create mailbox", error_r)) < 0)
		return ret;
	stmt = prepare(s,
		       "UPDATE mailbox SET noselect = 0, special_use = ?2, uidvalidity = ?3, "
		       "uidnext = 1, first_recent = 1, modseq = modseq + 1 WHERE id = ?1",
		       error_r);
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int(stmt, 2, (int)special_use);
	sqlite3_bind_int64(stmt, 3, uidvalidity);
	return run_stmt(s, stmt, "create mailbox", error_r);
}

struct create_args {
	unsigned special_use;
	uint32_t uidvalidity;
};

static int create_step(struct store *s, const char *norm, void *ctx, char **error_r)
{
	const struct create_args *a = ctx;
	struct store_mbox mb;
	int ret;

	if ((ret = create_parents(s, norm, error_r)) < 0)
		return ret;
	ret = store_mbox_find(s, norm, &mb, error_r);
	store_mbox_free(&mb);
	if (ret == STORE_ERR_NOTFOUND) {
		free(*error_r);
		*error_r = NULL;
		ret = store_mbox_insert(s, norm, a->special_use, a->uidvalidity, 0, error_r);
	} else if (ret == 0 && !mb.noselect) {
		ret = store_err(error_r, STORE_ERR_EXISTS, "mailbox %s exists", norm);
	} else if (ret == 0) {
		ret = reselect(s, mb.id, a->special_use, a->uidvalidity, error_r);
	}
	return ret;
}

int store_mailbox_create(struct store *store, const char *name, unsigned special_use,
			 uint32_t uidvalidity, char **error_r)
{
	struct create_args a = {special_use, uidvalidity};

	return in_write_name(store, create_step, name, &a, error_r);
}

int store_mailbox_get(struct store *store, const char *name, struct store_mailbox *result,
		      char **error_r)
{
	char *norm = store_name_normalize(name, error_r);
	sqlite3_stmt *stmt;
	int rc;

	memset(result, 0, sizeof(*result));
	if (norm == NULL)
		return STORE_ERR_INVALID;
	if ((stmt = prepare(store, "SELECT " MAILBOX_COLUMNS " FROM mailbox m WHERE m.name = ?1",
			    error_r)) == NULL) {
		free(norm);
		return STORE_ERR_TEMP;
	}
	sqlite3_bind_text(stmt, 1, norm, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		fill_mailbox(stmt, result);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = store_err(error_r, STORE_ERR_NOTFOUND, "no mailbox %s", norm);
	} else {
		rc = store_sql_err(store, error_r, "mailbox");
	}
	sqlite3_finalize(stmt);
	free(norm);
	return rc;
}

void store_mailbox_free(struct store_mailbox *mailbox)
{
	if (mailbox != NULL)
		XFREE(mailbox->name);
}

int store_mailbox_list(struct store *store, struct store_mailboxes *result, char **error_r)
{
	sqlite3_stmt *stmt;
	size_t size = 0;
	int rc;

	memset(result, 0, sizeof(*result));
	if ((stmt = prepare(store,
			    "SELECT " MAILBOX_COLUMNS
			    " FROM mailbox m ORDER BY m.name != 'INBOX', m.name",
			    error_r)) == NULL)
		return STORE_ERR_TEMP;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (result->count == size) {
			size = size ? 2 * size : 16;
			result->items = xreallocarray(result->items, size, sizeof(*result->items));
		}
		fill_mailbox(stmt, &result->items[result->count++]);
	}
	if (rc != SQLITE_DONE) {
		store_sql_err(store, error_r, "mailbox list");
		sqlite3_finalize(stmt);
		store_mailboxes_free(result);
		return STORE_ERR_TEMP;
	}
	sqlite3_finalize(stmt);
	return 0;
}

void store_mailboxes_free(struct store_mailboxes *list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->count; i++)
		store_mailbox_free(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

/* has_children - whether a mailbox name/... exists: 1, 0, or a store_error. */
static int has_children(struct store *s, const char *name, char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	/* '0' follows '/': the names between "name/" and "name0" are the children. */
	if ((stmt = prepare(s,
			    "SELECT 1 FROM mailbox WHERE name > ?1 || '/' AND name < ?1 || '0' "
			    "LIMIT 1",
			    error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_sql_err(s, error_r, "mailbox children");
}

/* drop_all_messages - every message of a mailbox, as an expunge without a record. */
static int drop_all_messages(struct store *s, int64_t mailbox, char **error_r)
{
	sqlite3_stmt *stmt;
	uint32_t *uids = NULL;
	int64_t *blobs = NULL;
	size_t n = 0, size = 0, i;
	int rc, ret = 0;

	if ((stmt = prepare(s, "SELECT uid, blob FROM message WHERE mailbox = ?1", error_r)) ==
	    NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == size) {
			size = size ? 2 * size : 64;
			uids = xreallocarray(uids, size, sizeof(*uids));
			blobs = xreallocarray(blobs, size, sizeof(*blobs));
		}
		uids[n] = (uint32_t)sqlite3_column_int64(stmt, 0);
		blobs[n++] = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		ret = store_sql_err(s, error_r, "messages");
	for (i = 0; ret == 0 && i < n; i++)
		ret = store_drop_message(s, mailbox, uids[i], blobs[i], error_r);
	free(uids);
	free(blobs);
	return ret;
}

/* exec_id - a one-off statement with the mailbox id as ?1. */
static int exec_id(struct store *s, const char *sql, int64_t id, char **error_r)
{
	sqlite3_stmt *stmt = prepare(s, sql, error_r);

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, id);
	return run_stmt(s, stmt, "mailbox", error_r);
}

static int delete_step(struct store *s, const char *norm, void *ctx, char **error_r)
{
	struct store_mbox mb = {0};
	int ret, children;

	(void)ctx;
	if ((ret = store_mbox_find(s, norm, &mb, error_r)) < 0)
		goto out;
	if ((ret = children = has_children(s, norm, error_r)) < 0)
		goto out;
	if (children && mb.noselect) {
		ret = store_err(error_r, STORE_ERR_NOTALLOWED,
				"mailbox %s has children and holds no messages", norm);
		goto out;
	}
	if ((ret = drop_all_messages(s, mb.id, error_r)) < 0)
		goto out;
	if (children) {
		/* The name stays for its children; UIDNEXT stays so that no UID is reused. */
		ret =
		    exec_id(s,
			    "UPDATE mailbox SET noselect = 1, modseq = modseq + 1, keywords = '', "
			    "special_use = 0 WHERE id = ?1",
			    mb.id, error_r);
	} else {
		ret = exec_id(s, "DELETE FROM expunged WHERE mailbox = ?1", mb.id, error_r);
		if (ret == 0)
			ret = exec_id(s, "DELETE FROM mailbox WHERE id = ?1", mb.id, error_r);
	}
out:
	store_mbox_free(&mb);
	return ret;
}

int store_mailbox_delete(struct store *store, const char *name, char **error_r)
{
	char *norm = store_name_normalize(name, error_r);
	int ret;

	if (norm == NULL)
		return STORE_ERR_INVALID;
	if (strcmp(norm, "INBOX") == 0) {
		free(norm);
		return store_err(error_r, STORE_ERR_NOTALLOWED, "INBOX cannot be deleted");
	}
	ret = in_write(store, delete_step, norm, NULL, error_r);
	free(norm);
	return ret;
}

/* rename_conflict - whether a name that renaming old to new would make exists already. */
static int rename_conflict(struct store *s, const char *old, const char *new, char **error_r)
{
	sqlite3_stmt *stmt;
	struct store_mbox mb;
	size_t oldlen = strlen(old);
	char *target;
	int rc, ret = 0;

	stmt = prepare(s,
		       "SELECT name FROM mailbox WHERE name = ?1 OR "
		       "(name > ?1 || '/' AND name < ?1 || '0')",
		       error_r);
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, old, -1, SQLITE_STATIC);
	while (ret == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(stmt, 0);

		target = xasprintf("%s%s", new, name + oldlen);
		if (strlen(target) > STORE_NAME_MAX)
			ret = store_err(error_r, STORE_ERR_INVALID, "%s would be too long", target);
		else if ((ret = store_mbox_find(s, target, &mb, error_r)) == 0)
			ret = store_err(error_r, STORE_ERR_EXISTS, "mailbox %s exists", target);
		else if (ret == STORE_ERR_NOTFOUND) {
			free(*error_r);
			*error_r = NULL;
			ret = 0;
		}
		store_mbox_free(&mb);
		free(target);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_sql_err(s, error_r, "rename");
	sqlite3_finalize(stmt);
	return ret;
}

/* rename_inbox - INBOX's row becomes new (messages and UIDs with it); a fresh INBOX. */
static int rename_inbox(struct store *s, const char *new, const struct store_mbox *inbox,
			char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	if ((stmt = prepare(s, "UPDATE mailbox SET name = ?2 WHERE id = ?1", error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, inbox->id);
	sqlite3_bind_text(stmt, 2, new, -1, SQLITE_STATIC);
	if ((ret = run_stmt(s, stmt, "rename", error_r)) < 0)
		return ret;
	return store_mbox_insert(s, "INBOX", 0, 0, 0, error_r);
}

static int rename_step(struct store *s, const char *old, void *ctx, char **error_r)
{
	const char *new = ctx;
	struct store_mbox mb = {0};
	sqlite3_stmt *stmt;
	int ret;

	if ((ret = store_mbox_find(s, old, &mb, error_r)) < 0)
		goto out;
	if (strcmp(old, "INBOX") == 0) {
		struct store_mbox other;

		if ((ret = store_mbox_find(s, new, &other, error_r)) == 0)
			ret = store_err(error_r, STORE_ERR_EXISTS, "mailbox %s exists", new);
		store_mbox_free(&other);
		if (ret != STORE_ERR_NOTFOUND)
			goto out;
		free(*error_r);
		*error_r = NULL;
		if ((ret = create_parents(s, new, error_r)) < 0 ||
		    (ret = rename_inbox(s, new, &mb, error_r)) < 0)
			goto out;
	} else {
		if ((ret = rename_conflict(s, old, new, error_r)) < 0 ||
		    (ret = create_parents(s, new, error_r)) < 0)
			goto out;
		/* substr() counts characters, and so does length(): names are UTF-8. */
		stmt = prepare(s,
			       "UPDATE mailbox SET name = ?2 || substr(name, length(?1) + 1) "
			       "WHERE name = ?1 OR (name > ?1 || '/' AND name < ?1 || '0')",
			       error_r);
		if (stmt == NULL) {
			ret = STORE_ERR_TEMP;
			goto out;
		}
		sqlite3_bind_text(stmt, 1, old, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, new, -1, SQLITE_STATIC);
		ret = run_stmt(s, stmt, "rename", error_r);
	}
out:
	store_mbox_free(&mb);
	return ret;
}

int store_mailbox_rename(struct store *store, const char *old_name, const char *new_name,
			 char **error_r)
{
	char *old = store_name_normalize(old_name, error_r), *new = NULL;
	size_t oldlen;
	int ret;

	if (old == NULL || (new = store_name_normalize(new_name, error_r)) == NULL) {
		free(old);
		return STORE_ERR_INVALID;
	}
	oldlen = strlen(old);
	if (strncmp(new, old, oldlen) == 0 && new[oldlen] == '/' && strcmp(old, "INBOX") != 0)
		ret = store_err(error_r, STORE_ERR_NOTALLOWED, "cannot rename %s into itself", old);
	else
		ret = in_write(store, rename_step, old, new, error_r);
	free(old);
	free(new);
	return ret;
}

struct update_args {
	const char *sql; /* ?1 the name, ?2 (when there) value */
	int64_t value;
	int need_row; /* no row changed means no such mailbox */
	int (*check)(struct store *s, const char *norm, char **error_r); /* or NULL */
	const char *what;
};

static int update_step(struct store *s, const char *norm, void *ctx, char **error_r)
{
	const struct update_args *a = ctx;
	sqlite3_stmt *stmt;
	int ret;

	if (a->check != NULL && (ret = a->check(s, norm, error_r)) < 0)
		return ret;
	if ((stmt = prepare(s, a->sql, error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, norm, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(stmt) >= 2)
		sqlite3_bind_int64(stmt, 2, (sqlite3_int64)a->value);
	if ((ret = run_stmt(s, stmt, a->what, error_r)) < 0)
		return ret;
	if (a->need_row && sqlite3_changes(s->db) == 0)
		return store_err(error_r, STORE_ERR_NOTFOUND, "no mailbox %s", norm);
	return 0;
}

/*
 * update_mailbox - a write transaction of its own: check (or NULL) may
 * refuse first, then sql runs with ?1 the normalised name and, when sql
 * has it, ?2 value. need_row: no row changed means no such mailbox.
 * 0 or a STORE_ERR_* code.
 */
static int update_mailbox(struct store *s, const char *sql, const char *name, int64_t value,
			  int need_row, int (*check)(struct store *, const char *, char **),
			  const char *what, char **error_r)
{
	struct update_args a = {sql, value, need_row, check, what};

	return in_write_name(s, update_step, name, &a, error_r);
}

int store_mailbox_set_special_use(struct store *store, const char *name, unsigned special_use,
				  char **error_r)
{
	return update_mailbox(store, "UPDATE mailbox SET special_use = ?2 WHERE name = ?1", name,
			      (int)special_use, 1, NULL, "special-use", error_r);
}

/* no_uids_given - a mailbox that has given out UIDs keeps its UIDVALIDITY. */
static int no_uids_given(struct store *s, const char *norm, char **error_r)
{
	struct store_mbox mb;
	int ret;

	if ((ret = store_mbox_find(s, norm, &mb, error_r)) < 0)
		return ret;
	if (mb.uidnext != 1)
		ret = store_err(error_r, STORE_ERR_NOTALLOWED,
				"mailbox %s has given out UIDs: its UIDVALIDITY stays", norm);
	store_mbox_free(&mb);
	return ret;
}

int store_mailbox_set_uidvalidity(struct store *store, const char *name, uint32_t uidvalidity,
				  char **error_r)
{
	char *norm;

	if (uidvalidity == 0) {
		/* a bad name is the first thing to say */
		if ((norm = store_name_normalize(name, error_r)) == NULL)
			return STORE_ERR_INVALID;
		free(norm);
		return store_err(error_r, STORE_ERR_INVALID, "UIDVALIDITY 0 is not valid");
	}
	return update_mailbox(store, "UPDATE mailbox SET uidvalidity = ?2 WHERE name = ?1", name,
			      uidvalidity, 0, no_uids_given, "uidvalidity", error_r);
}

int store_mailbox_raise_uidnext(struct store *store, const char *name, uint32_t uidnext,
				char **error_r)
{
	return update_mailbox(store,
			      "UPDATE mailbox SET uidnext = max(uidnext, ?2) WHERE name = ?1", name,
			      uidnext, 1, NULL, "uidnext", error_r);
}

int store_subscribe(struct store *store, const char *name, int subscribe, char **error_r)
{
	return update_mailbox(store,
			      subscribe ? "INSERT OR IGNORE INTO subscription (name) VALUES (?1)"
					: "DELETE FROM subscription WHERE name = ?1",
			      name, 0, 0, NULL, "subscription", error_r);
}

int store_subscriptions(struct store *store, char ***names_r, size_t *count_r, char **error_r)
{
	sqlite3_stmt *stmt;
	char **names = NULL;
	size_t n = 0, size = 0;
	int rc;

	*names_r = NULL;
	*count_r = 0;
	if ((stmt = prepare(store, "SELECT name FROM subscription ORDER BY name", error_r)) == NULL)
		return STORE_ERR_TEMP;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == size) {
			size = size ? 2 * size : 16;
			names = xreallocarray(names, size, sizeof(*names));
		}
		names[n++] = store_text(stmt, 0);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		store_names_free(names, n);
		return store_sql_err(store, error_r, "subscriptions");
	}
	*names_r = names;
	*count_r = n;
	return 0;
}

static int take_recent_step(struct store *s, const char *mailbox, void *ctx, char **error_r)
{
	uint32_t *first_r = ctx;
	struct store_mbox mb;
	sqlite3_stmt *stmt;
	int ret, rc;

	if ((ret = store_mbox_select(s, mailbox, &mb, error_r)) < 0)
		return ret;
	store_mbox_free(&mb);
	if ((stmt = prepare(s, "SELECT first_recent FROM mailbox WHERE id = ?1", error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mb.id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*first_r = (uint32_t)sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return store_sql_err(s, error_r, "recent");
	return exec_id(s, "UPDATE mailbox SET first_recent = uidnext WHERE id = ?1", mb.id,
		       error_r);
}

int store_take_recent(struct store *store, const char *mailbox, uint32_t *first_r, char **error_r)
{
	return in_write(store, take_recent_step, mailbox, first_r, error_r);
}

/* kw_lookup - the word of list equal to kw (any case): *len_r and its start, or NULL. */
static const char *kw_lookup(const char *list, const char *kw, size_t *len_r)
{
	const char *p = list;
	size_t n, kwlen = strlen(kw);

	while (*(p += strspn(p, " ")) != '\0') {
		n = strcspn(p, " ");
		if (n == kwlen && strncasecmp(p, kw, n) == 0) {
			*len_r = n;
			return p;
		}
		p += n;
	}
	return NULL;
}

int store_mbox_keywords(struct store_mbox *mb, const char *const *in, size_t n, int strict,
			char **out_r, int *list_changed_r, char **error_r)
{
	struct strbuf out = STRBUF_INIT;
	const char *word;
	size_t i, len, count = store_keywords_count(mb->keywords);

	*out_r = NULL;
	*list_changed_r = 0;
	for (i = 0; i < n; i++) {
		if (!store_keyword_valid(in[i])) {
			strbuf_free(&out);
			return store_err(error_r, STORE_ERR_INVALID, "bad keyword \"%s\"", in[i]);
		}
		if ((word = kw_lookup(mb->keywords, in[i], &len)) == NULL) {
			if (count >= STORE_KEYWORDS_MAX) {
				if (strict) {
					strbuf_free(&out);
					return store_err(error_r, STORE_ERR_INVALID,
							 "too many keywords in mailbox (%d)",
							 STORE_KEYWORDS_MAX);
				}
				msg_warn("keyword %s dropped: the mailbox has %d already", in[i],
					 STORE_KEYWORDS_MAX);
				continue;
			}
			char *grown = mb->keywords[0] != '\0'
					  ? xasprintf("%s %s", mb->keywords, in[i])
					  : xstrdup(in[i]);

			free(mb->keywords);
			mb->keywords = grown;
			count++;
			*list_changed_r = 1;
			word = kw_lookup(mb->keywords, in[i], &len);
		}
		if (store_keywords_has(strbuf_str(&out), word, len))
			continue;
		if (out.len > 0)
			strbuf_putc(&out, ' ');
		strbuf_append(&out, word, len);
	}
	*out_r = out.len > 0 ? strbuf_detach(&out) : NULL;
	strbuf_free(&out);
	return 0;
}

int store_mbox_save(struct store *s, const struct store_mbox *mb, char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = store_stmt(s, SQL_MAILBOX_ADVANCE, error_r)) == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mb->id);
	sqlite3_bind_int64(stmt, 2, mb->uidnext);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)mb->modseq);
	sqlite3_bind_text(stmt, 4, mb->keywords, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	store_stmt_done(s, stmt);
	if (rc != SQLITE_DONE)
		return store_sql_err(s, error_r, "mailbox update");
	return 0;
}
