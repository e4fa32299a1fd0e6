/*
 * dict - the "type:name" front end: finds the back-end for a type, folds
 * keys, checks what a handle may do, and loads text sources into tables.
 */
#include <stdlib.h>
#include <string.h>

#include "util/dict.h"
#include "util/dict_impl.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* The back-ends, sorted by type; dict_known_types() lists them in this order. */
static const struct dict_ops *const dict_backends[] = {
    &dict_btree_ops,
    &dict_hash_ops,
    &dict_texthash_ops,
};

#define DICT_NBACKENDS (sizeof(dict_backends) / sizeof(dict_backends[0]))

/* dict_known_types - the types of dict_backends, in the same order (test_dict checks). */
const char *dict_known_types(void)
{
	return "btree, hash, texthash";
}

struct dict *dict_open(const char *type_name, int flags, char **error_r)
{
	const char *colon = strchr(type_name, ':');
	const struct dict_ops *ops = NULL;
	struct dict *dict;
	size_t i, tlen;

	if (colon == NULL || colon == type_name) {
		*error_r = xasprintf("table \"%s\" has no type: use type:name, with type one of %s",
				     type_name, dict_known_types());
		return NULL;
	}
	if (colon[1] == '\0') {
		*error_r = xasprintf("table \"%s\" has no name after the type", type_name);
		return NULL;
	}
	tlen = (size_t)(colon - type_name);
	for (i = 0; i < DICT_NBACKENDS; i++) {
		if (strlen(dict_backends[i]->type) == tlen &&
		    strncmp(dict_backends[i]->type, type_name, tlen) == 0)
			ops = dict_backends[i];
	}
	if (ops == NULL) {
		*error_r = xasprintf("unknown table type \"%.*s\" in \"%s\"; known types: %s",
				     (int)tlen, type_name, type_name, dict_known_types());
		return NULL;
	}
	if ((flags & (DICT_WRITE | DICT_REBUILD)) && ops->update == NULL) {
		*error_r = xasprintf("%s: tables of type %s are read-only", type_name, ops->type);
		return NULL;
	}
	dict = ops->open(colon + 1, flags, error_r);
	if (dict == NULL)
		return NULL;
	dict->ops = ops;
	dict->type = xstrdup(ops->type);
	dict->name = xstrdup(colon + 1);
	dict->flags = flags;
	dict->committed = 0;
	dict->seq_active = 0;
	strbuf_init(&dict->fold, 0);
	return dict;
}

const char *dict_type(const struct dict *dict)
{
	return dict->type;
}

const char *dict_name(const struct dict *dict)
{
	return dict->name;
}

int dict_flags(const struct dict *dict)
{
	return dict->flags;
}

/* dict_key - key as the table stores it: folded to lower case unless DICT_KEEP_CASE. */
static const char *dict_key(struct dict *dict, const char *key)
{
	size_t i;

	if (dict->flags & DICT_KEEP_CASE)
		return key;
	strbuf_set(&dict->fold, key);
	for (i = 0; i < dict->fold.len; i++) {
		if (dict->fold.data[i] >= 'A' && dict->fold.data[i] <= 'Z')
			dict->fold.data[i] = (char)(dict->fold.data[i] - 'A' + 'a');
	}
	return dict->fold.data;
}

/* dict_usable - whether the handle is still usable (not committed). */
static int dict_usable(struct dict *dict, char **error_r)
{
	if (dict->committed) {
		*error_r = xasprintf("%s:%s: table used after commit", dict->type, dict->name);
		return 0;
	}
	return 1;
}

enum dict_result dict_lookup(struct dict *dict, const char *key, struct strbuf *value,
			     char **error_r)
{
	if (!dict_usable(dict, error_r))
		return DICT_ERROR;
	return dict->ops->lookup(dict, dict_key(dict, key), value, error_r);
}

/* dict_writable - whether update/delete are allowed on this handle. */
static int dict_writable(struct dict *dict, char **error_r)
{
	if (!dict_usable(dict, error_r))
		return 0;
	if (!(dict->flags & (DICT_WRITE | DICT_REBUILD))) {
		*error_r =
		    xasprintf("%s:%s: table is open for reading only", dict->type, dict->name);
		return 0;
	}
	return 1;
}

int dict_update(struct dict *dict, const char *key, const char *value, char **error_r)
{
	if (!dict_writable(dict, error_r))
		return -1;
	if (key[0] == '\0') {
		*error_r = xasprintf("%s:%s: empty key", dict->type, dict->name);
		return -1;
	}
	dict_seq_end(dict);
	return dict->ops->update(dict, dict_key(dict, key), value, error_r);
}

enum dict_result dict_delete(struct dict *dict, const char *key, char **error_r)
{
	if (!dict_writable(dict, error_r))
		return DICT_ERROR;
	dict_seq_end(dict);
	return dict->ops->del(dict, dict_key(dict, key), error_r);
}

enum dict_result dict_first(struct dict *dict, struct strbuf *key, struct strbuf *value,
			    char **error_r)
{
	enum dict_result res;

	if (!dict_usable(dict, error_r))
		return DICT_ERROR;
	dict_seq_end(dict);
	res = dict->ops->seq(dict, 1, key, value, error_r);
	dict->seq_active = (res == DICT_FOUND);
	return res;
}

enum dict_result dict_next(struct dict *dict, struct strbuf *key, struct strbuf *value,
			   char **error_r)
{
	enum dict_result res;

	if (!dict_usable(dict, error_r))
		return DICT_ERROR;
	if (!dict->seq_active) {
		*error_r = xasprintf("%s:%s: no iteration in progress (dict_first() not called, or "
				     "ended by the last entry, an update or a delete)",
				     dict->type, dict->name);
		return DICT_ERROR;
	}
	res = dict->ops->seq(dict, 0, key, value, error_r);
	if (res != DICT_FOUND)
		dict_seq_end(dict);
	return res;
}

void dict_seq_end(struct dict *dict)
{
	if (dict->seq_active && !dict->committed)
		dict->ops->seq_end(dict);
	dict->seq_active = 0;
}

int dict_commit(struct dict *dict, char **error_r)
{
	if (!dict_usable(dict, error_r))
		return -1;
	dict_seq_end(dict);
	if (!(dict->flags & DICT_REBUILD)) {
		*error_r = xasprintf("%s:%s: commit without DICT_REBUILD", dict->type, dict->name);
		return -1;
	}
	if (dict->ops->commit(dict, error_r) < 0)
		return -1;
	dict->committed = 1;
	return 0;
}

void dict_close(struct dict **dictp)
{
	struct dict *dict = *dictp;

	if (dict == NULL)
		return;
	*dictp = NULL;
	dict_seq_end(dict);
	free(dict->type);
	free(dict->name);
	strbuf_free(&dict->fold);
	dict->ops->close(dict);
}

/* State of dict_load_text(). */
struct dict_load {
	struct dict *dict;
	struct strbuf old;
};

/* dict_load_entry - store one entry of a text source, warning about repeated keys. */
static int dict_load_entry(void *ctx, const char *key, const char *value, const char *file,
			   int line, char **error_r)
{
	struct dict_load *load = ctx;
	char *err = NULL;

	if (load->dict->flags & DICT_REBUILD) {
		switch (dict_lookup(load->dict, key, &load->old, &err)) {
		case DICT_FOUND:
			msg_warn("%s:%d: duplicate key \"%s\": the later value wins", file, line,
				 key);
			break;
		case DICT_NOTFOUND:
			break;
		case DICT_ERROR:
			*error_r = xasprintf("%s:%d: %s", file, line, err);
			free(err);
			return -1;
		}
	}
	if (dict_update(load->dict, key, value, &err) < 0) {
		*error_r = xasprintf("%s:%d: %s", file, line, err);
		free(err);
		return -1;
	}
	return 0;
}

int dict_load_text(struct dict *dict, FILE *fp, const char *name, char **error_r)
{
	struct dict_load load = {dict, STRBUF_INIT};
	int ret;

	ret = dict_text_read(fp, name, dict_load_entry, &load, error_r);
	strbuf_free(&load.old);
	return ret;
}
