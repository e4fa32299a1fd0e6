/*
 * dict - lookup tables behind one "type:name" interface.
 *
 * A table is named "type:name", e.g. "hash:/etc/tern/aliases". Callers know
 * only this interface; each type is a back-end (a table of functions) in its
 * own file:
 *
 *   texthash:/path  the text source file itself, read into memory at open;
 *                   read-only.
 *   hash:/path      Berkeley DB hash file /path.db.
 *   btree:/path     Berkeley DB btree file /path.db (entries iterate in key order).
 *
 * Berkeley DB tables are opened inside a Concurrent Data Store environment
 * (one writer, many readers, across processes). The environment of table
 * /path.db lives in the directory /path.db.env/, created on first use. Its
 * region files (__db.*) hold the locks and the shared cache, so every process
 * that opens the table, even only to read, needs to write them: the
 * directory and its files are given the group of /path.db and modes 0770 and
 * 0660 by their owner. Processes of different users share a table through
 * that group. Changes made through a table reach other processes at once
 * (through the shared cache) and its file at dict_close(). Opening releases
 * the locks of processes that died holding read locks; a process that died
 * holding the write lock leaves the environment unusable, and opening then
 * fails with a message saying to remove the environment directory.
 *
 * Rebuilding: DICT_REBUILD builds a complete new table in a temporary file
 * beside the old one; dict_commit() renames it over the old table
 * atomically. The new file keeps the old one's mode and, when built by root,
 * its owner and group. Processes that have the table open notice the new
 * file (a check of the file's identity at most once a second, on lookup,
 * update, delete and dict_first()) and reopen it.
 *
 * A handle belongs to the process that opened it: after fork(), the child
 * opens its own (Berkeley DB handles must not cross a fork).
 *
 * Keys are folded to lower case (ASCII) on lookup, update and delete, unless
 * the table is opened with DICT_KEEP_CASE. Keys and values are strings; an
 * empty key cannot be stored.
 *
 * Errors: functions returning int give 0 on success and -1 on failure with
 * *error_r set to a malloc'd message (caller frees). Functions returning
 * enum dict_result give DICT_FOUND, DICT_NOTFOUND, or DICT_ERROR with
 * *error_r set.
 */
#ifndef TERN_DICT_H
#define TERN_DICT_H

#include <stdio.h>

#include "util/strbuf.h"

/* dict_open() flags. */
#define DICT_READ 0		/* lookups and iteration only */
#define DICT_WRITE (1 << 0)	/* also update and delete */
#define DICT_CREATE (1 << 1)	/* with DICT_WRITE: create the table when missing */
#define DICT_REBUILD (1 << 2)	/* write a new, empty table; visible after dict_commit() */
#define DICT_KEEP_CASE (1 << 3) /* do not fold keys to lower case */
#define DICT_NUL (1 << 4) /* keys and values are stored with their NUL byte (as Postfix does) */

enum dict_result {
	DICT_ERROR = -1,
	DICT_FOUND = 0,
	DICT_NOTFOUND = 1,
};

struct dict;

/*
 * dict_open - open the table "type:name". An unknown type is an error that
 * names it and lists the known types. Opening a table for reading requires
 * that it exists.
 */
struct dict *dict_open(const char *type_name, int flags, char **error_r);

/* dict_known_types - the known types, e.g. "btree, hash, texthash" (static string). */
const char *dict_known_types(void);

/* dict_type, dict_name - the two halves of the name the table was opened with. */
const char *dict_type(const struct dict *dict);
const char *dict_name(const struct dict *dict);
int dict_flags(const struct dict *dict);

/* dict_lookup - find key; on DICT_FOUND value holds the value (replacing its contents). */
enum dict_result dict_lookup(struct dict *dict, const char *key, struct strbuf *value,
			     char **error_r);

/* dict_update - add or replace key (needs DICT_WRITE or DICT_REBUILD). */
int dict_update(struct dict *dict, const char *key, const char *value, char **error_r);

/* dict_delete - remove key; DICT_NOTFOUND when it was not there. */
enum dict_result dict_delete(struct dict *dict, const char *key, char **error_r);

/*
 * Iteration: dict_first() starts over at the first entry, dict_next() gives
 * the following ones; both return DICT_FOUND with key and value filled, or
 * DICT_NOTFOUND after the last entry. An iteration holds the table's read
 * lock (writers in other processes wait) until it reaches the end or
 * dict_seq_end() is called. Updating or deleting through the same handle
 * ends the iteration; dict_next() then fails. Order: source order for
 * texthash, key order for btree, unspecified for hash.
 */
enum dict_result dict_first(struct dict *dict, struct strbuf *key, struct strbuf *value,
			    char **error_r);
enum dict_result dict_next(struct dict *dict, struct strbuf *key, struct strbuf *value,
			   char **error_r);
void dict_seq_end(struct dict *dict);

/*
 * dict_commit - for DICT_REBUILD: make the new table durable and replace the
 * old one atomically. Afterwards only dict_close() may be called. Closing a
 * DICT_REBUILD table without a commit discards the new table.
 */
int dict_commit(struct dict *dict, char **error_r);

/* dict_close - close the table and set *dict to NULL (NULL is allowed). */
void dict_close(struct dict **dict);

/*
 * Text source files, the input of ternmap and the texthash type:
 *
 *   # comment               lines whose first non-blank character is '#'
 *   key value               the key is the first word, the value the rest of
 *                           the line without surrounding white space
 *       more of the value   a line starting with white space continues the
 *                           entry above; it joins it with one space
 *
 * Blank and comment lines are skipped, also inside a continued entry. A key
 * without a value, a continuation line before any entry, and a NUL byte are
 * errors naming file:line. Trailing white space (including CR) is ignored.
 */

/*
 * dict_text_fn - called for each entry with its file name and the number of
 * its first line; returns 0, or -1 with *error_r set to stop reading.
 */
typedef int (*dict_text_fn)(void *ctx, const char *key, const char *value, const char *file,
			    int line, char **error_r);

/* dict_text_read - parse fp (called name in messages), calling fn for each entry. */
int dict_text_read(FILE *fp, const char *name, dict_text_fn fn, void *ctx, char **error_r);

/*
 * dict_load_text - add every entry of the text source fp (called name in
 * messages) to dict. When dict was opened with DICT_REBUILD, a key that
 * occurs twice is logged as a warning naming file:line, and the later value
 * wins.
 */
int dict_load_text(struct dict *dict, FILE *fp, const char *name, char **error_r);

#endif
