/*
 * dict_texthash - the text source format (see util/dict.h) and the texthash
 * table type, which reads a source file into an in-memory hash table when it
 * is opened. Entries keep the order of the file; a repeated key keeps its
 * first position and takes the later value (with a warning naming file:line).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dict.h"
#include "util/dict_impl.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* is_blank - space or tab (the white space of the text format, besides CR). */
static int is_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* text_flush - hand the collected entry to fn, splitting key and value. */
static int text_flush(struct strbuf *entry, const char *name, int line, dict_text_fn fn, void *ctx,
		      char **error_r)
{
	char *key = entry->data, *value;
	int ret;

	value = key;
	while (*value != '\0' && !is_blank((unsigned char)*value))
		value++;
	if (*value != '\0')
		*value++ = '\0';
	while (is_blank((unsigned char)*value))
		value++;
	if (*value == '\0') {
		*error_r = xasprintf("%s:%d: key \"%s\" has no value", name, line, key);
		return -1;
	}
	ret = fn(ctx, key, value, name, line, error_r);
	strbuf_reset(entry);
	return ret;
}

int dict_text_read(FILE *fp, const char *name, dict_text_fn fn, void *ctx, char **error_r)
{
	struct strbuf entry = STRBUF_INIT;
	char *buf = NULL, *text;
	size_t bufsize = 0, len;
	ssize_t n;
	int lineno = 0, entry_line = 0, ret = 0;

	while ((n = getline(&buf, &bufsize, fp)) >= 0) {
		lineno++;
		len = (size_t)n;
		if (memchr(buf, '\0', len) != NULL) {
			*error_r = xasprintf("%s:%d: NUL byte in line", name, lineno);
			ret = -1;
			break;
		}
		while (len > 0 && (buf[len - 1] == '\n' || is_blank((unsigned char)buf[len - 1])))
			len--;
		buf[len] = '\0';
		for (text = buf; is_blank((unsigned char)*text); text++)
			;
		if (*text == '\0' || *text == '#')
			continue;
		if (text != buf) {
			if (entry.len == 0) {
				*error_r = xasprintf("%s:%d: continuation line without an entry "
						     "above it",
						     name, lineno);
				ret = -1;
				break;
			}
			strbuf_putc(&entry, ' ');
			strbuf_puts(&entry, text);
			continue;
		}
		if (entry.len > 0 &&
		    (ret = text_flush(&entry, name, entry_line, fn, ctx, error_r)) < 0)
			break;
		strbuf_puts(&entry, text);
		entry_line = lineno;
	}
	if (ret == 0 && ferror(fp)) {
		*error_r = xasprintf("read %s: %s", name, strerror(errno));
		ret = -1;
	}
	if (ret == 0 && entry.len > 0)
		ret = text_flush(&entry, name, entry_line, fn, ctx, error_r);
	free(buf);
	strbuf_free(&entry);
	return ret;
}

struct th_entry {
	char *key;
	char *value;
};

struct dict_texthash {
	struct dict dict;
	struct th_entry *entries; /* in source order */
	size_t count, alloc;
	size_t *slots; /* open addressing: entry index + 1, 0 = empty */
	size_t nslots; /* a power of two, at least twice count */
	size_t cursor; /* next entry for dict_next() */
	int fold;      /* fold keys while loading */
};

/* th_hash - FNV-1a over the key bytes. */
static uint64_t th_hash(const char *key)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ULL;
	}
	return h;
}

/* th_slot - the slot holding key, or the empty slot where it would go. */
static size_t th_slot(const struct dict_texthash *th, const char *key)
{
	size_t mask = th->nslots - 1, i = (size_t)th_hash(key) & mask;

	while (th->slots[i] != 0 && strcmp(th->entries[th->slots[i] - 1].key, key) != 0)
		i = (i + 1) & mask;
	return i;
}

/* th_grow - double the slot table and re-insert every entry. */
static void th_grow(struct dict_texthash *th)
{
	size_t i;

	free(th->slots);
	th->nslots = th->nslots ? th->nslots * 2 : 64;
	th->slots = xcalloc(th->nslots, sizeof(*th->slots));
	for (i = 0; i < th->count; i++)
		th->slots[th_slot(th, th->entries[i].key)] = i + 1;
}

/* th_add - one entry of the source file: insert, or replace the value of a repeated key. */
static int th_add(void *ctx, const char *key, const char *value, const char *file, int line,
		  char **error_r)
{
	struct dict_texthash *th = ctx;
	char *folded = xstrdup(key), *p;
	size_t slot;

	if (th->fold) {
		for (p = folded; *p != '\0'; p++) {
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		}
	}
	if (2 * (th->count + 1) > th->nslots)
		th_grow(th);
	slot = th_slot(th, folded);
	if (th->slots[slot] != 0) {
		struct th_entry *e = &th->entries[th->slots[slot] - 1];

		msg_warn("%s:%d: duplicate key \"%s\": the later value wins", file, line, key);
		free(e->value);
		e->value = xstrdup(value);
		free(folded);
		return 0;
	}
	if (th->count == th->alloc) {
		th->alloc = th->alloc ? th->alloc * 2 : 64;
		th->entries = xreallocarray(th->entries, th->alloc, sizeof(*th->entries));
	}
	th->entries[th->count].key = folded;
	th->entries[th->count].value = xstrdup(value);
	th->count++;
	th->slots[slot] = th->count;
	return 0;
}

static void th_close(struct dict *dict)
{
	struct dict_texthash *th = (struct dict_texthash *)dict;
	size_t i;

	for (i = 0; i < th->count; i++) {
		free(th->entries[i].key);
		free(th->entries[i].value);
	}
	free(th->entries);
	free(th->slots);
	free(th);
}

static struct dict *th_open(const char *name, int flags, char **error_r)
{
	struct dict_texthash *th;
	FILE *fp;

	fp = fopen(name, "re");
	if (fp == NULL) {
		*error_r = xasprintf("open %s: %s", name, strerror(errno));
		return NULL;
	}
	th = xcalloc(1, sizeof(*th));
	th->fold = !(flags & DICT_KEEP_CASE);
	th_grow(th);
	if (dict_text_read(fp, name, th_add, th, error_r) < 0) {
		fclose(fp);
		th_close(&th->dict);
		return NULL;
	}
	fclose(fp);
	return &th->dict;
}

static enum dict_result th_lookup(struct dict *dict, const char *key, struct strbuf *value,
				  char **error_r)
{
	struct dict_texthash *th = (struct dict_texthash *)dict;
	size_t slot = th_slot(th, key);

	if (th->slots[slot] == 0)
		return DICT_NOTFOUND;
	strbuf_set(value, th->entries[th->slots[slot] - 1].value);
	return DICT_FOUND;
}

static enum dict_result th_seq(struct dict *dict, int first, struct strbuf *key,
			       struct strbuf *value, char **error_r)
{
	struct dict_texthash *th = (struct dict_texthash *)dict;

	if (first)
		th->cursor = 0;
	if (th->cursor >= th->count)
		return DICT_NOTFOUND;
	strbuf_set(key, th->entries[th->cursor].key);
	strbuf_set(value, th->entries[th->cursor].value);
	th->cursor++;
	return DICT_FOUND;
}

static void th_seq_end(struct dict *dict)
{
	struct dict_texthash *th = (struct dict_texthash *)dict;

	th->cursor = th->count;
}

const struct dict_ops dict_texthash_ops = {
    .type = "texthash",
    .open = th_open,
    .lookup = th_lookup,
    .update = NULL,
    .del = NULL,
    .seq = th_seq,
    .seq_end = th_seq_end,
    .commit = NULL,
    .close = th_close,
};
