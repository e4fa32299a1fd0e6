/*
 * store_search - full-text search of a mailbox: the needle is cut into
 * words by the index's own tokenizer (so that case and diacritics fold the
 * same way), words of fewer than 3 characters are left to the caller, and
 * the longer ones must all be in the header fields, or all in the text
 * parts (the index knows no positions: no phrases), the last one as a
 * prefix when the needle ends with it.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_impl.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* Words shorter than this (in characters) match every message. */
#define SEARCH_WORD_MIN 3

/* The query as it is built from the needle's tokens. */
struct query {
	struct strbuf sql; /* the FTS5 expression */
	size_t words;
	int last_long; /* the last token seen was long */
};

/* utf8_chars - the characters in len bytes of UTF-8. */
static size_t utf8_chars(const char *p, int len)
{
	size_t n = 0;
	int i;

	for (i = 0; i < len; i++) {
		if (((unsigned char)p[i] & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/* on_token - the tokenizer's callback: a long word joins the query as a string of its own. */
static int on_token(void *ctx, int tflags, const char *token, int len, int start, int end)
{
	struct query *q = ctx;
	int i;

	(void)start;
	(void)end;
	if (tflags & FTS5_TOKEN_COLOCATED)
		return SQLITE_OK;
	if (utf8_chars(token, len) < SEARCH_WORD_MIN) {
		q->last_long = 0;
		return SQLITE_OK;
	}
	if (q->words++ > 0)
		strbuf_puts(&q->sql, " AND ");
	strbuf_putc(&q->sql, '"');
	for (i = 0; i < len; i++) {
		if (token[i] == '"')
			strbuf_putc(&q->sql, '"');
		strbuf_putc(&q->sql, token[i]);
	}
	strbuf_putc(&q->sql, '"');
	q->last_long = 1;
	return SQLITE_OK;
}

/* tokenize - run the index's tokenizer (unicode61 remove_diacritics 2) over the needle. */
static int tokenize(struct store *s, const char *needle, struct query *q, char **error_r)
{
	static const char *const args[] = {"remove_diacritics", "2"};
	fts5_api *api = NULL;
	fts5_tokenizer tok;
	Fts5Tokenizer *t = NULL;
	sqlite3_stmt *stmt;
	void *user = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT fts5(?1)", -1, &stmt, NULL) != SQLITE_OK)
		return store_sql_err(s, error_r, "fts5");
	sqlite3_bind_pointer(stmt, 1, (void *)&api, "fts5_api_ptr", NULL);
	sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (api == NULL || api->xFindTokenizer(api, "unicode61", &user, &tok) != SQLITE_OK ||
	    tok.xCreate(user, (const char **)args, 2, &t) != SQLITE_OK)
		return store_err(error_r, STORE_ERR_TEMP,
				 "the FTS5 tokenizer unicode61 is missing");
	rc = tok.xTokenize(t, q, FTS5_TOKENIZE_QUERY, needle, (int)strlen(needle), on_token);
	tok.xDelete(t);
	if (rc != SQLITE_OK)
		return store_err(error_r, STORE_ERR_TEMP, "tokenizing the search text failed");
	return 0;
}

/* collect - the UIDs that a statement returns, into result. */
static int collect(struct store *s, sqlite3_stmt *stmt, struct store_uids *result, char **error_r)
{
	size_t size = 0;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		store_uids_add(result, &size, (uint32_t)sqlite3_column_int64(stmt, 0));
	if (rc != SQLITE_DONE) {
		store_uids_free(result);
		return store_sql_err(s, error_r, "search");
	}
	return 0;
}

/* The statements of a search, by enum store_text_where. */
#define SEARCH_SQL(docs)                                                                           \
	"SELECT m.uid FROM message m JOIN blob b ON b.id = m.blob WHERE m.mailbox = ?1 AND "       \
	"b.doc IN (" docs ") ORDER BY m.uid"
static const char *const search_sql[] = {
    [STORE_TEXT_HEADER] = SEARCH_SQL("SELECT rowid FROM fts_header WHERE fts_header MATCH ?2"),
    [STORE_TEXT_BODY] = SEARCH_SQL("SELECT rowid FROM fts_body WHERE fts_body MATCH ?2"),
    [STORE_TEXT_ANY] = SEARCH_SQL("SELECT rowid FROM fts_header WHERE fts_header MATCH ?2 UNION "
				  "SELECT rowid FROM fts_body WHERE fts_body MATCH ?2"),
};

int store_search_text(struct store *store, const char *mailbox, enum store_text_where where,
		      const char *needle, struct store_uids *result, char **error_r)
{
	struct query q;
	struct store_mbox mb;
	sqlite3_stmt *stmt;
	int ret;

	memset(result, 0, sizeof(*result));
	memset(&q, 0, sizeof(q));
	if (where != STORE_TEXT_HEADER && where != STORE_TEXT_BODY && where != STORE_TEXT_ANY)
		return store_err(error_r, STORE_ERR_INVALID, "bad search place %d", (int)where);
	if ((ret = store_begin_read(store, error_r)) < 0)
		return ret;
	if ((ret = store_mbox_select(store, mailbox, &mb, error_r)) < 0)
		goto out;
	store_mbox_free(&mb);
	if (needle != NULL && (ret = tokenize(store, needle, &q, error_r)) < 0)
		goto out;
	if (q.words > 0 && q.last_long)
		strbuf_putc(&q.sql, '*');
	ret = sqlite3_prepare_v2(store->db,
				 q.words == 0
				     ? "SELECT uid FROM message WHERE mailbox = ?1 ORDER BY uid"
				     : search_sql[where],
				 -1, &stmt, NULL);
	if (ret != SQLITE_OK) {
		ret = store_sql_err(store, error_r, "prepare");
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, mb.id);
	if (q.words > 0)
		sqlite3_bind_text(stmt, 2, strbuf_str(&q.sql), (int)q.sql.len, SQLITE_STATIC);
	ret = collect(store, stmt, result, error_r);
	sqlite3_finalize(stmt);
out:
	store_end_read(store);
	strbuf_free(&q.sql);
	return ret;
}
