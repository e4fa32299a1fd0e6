/*
 * dict_impl - the contract between util/dict.c and the table back-ends.
 *
 * A back-end is a struct dict_ops. Its open function allocates a structure
 * whose first member is a struct dict and returns a pointer to that member;
 * dict.c fills in the common fields afterwards. dict.c has already folded
 * keys, checked the flags (no update on a read-only handle, no commit without
 * DICT_REBUILD), rejected empty keys for updates, and ended any iteration
 * (seq_end) before an update or delete, so back-ends only do the storage work. Back-ends that cannot be written leave update, del and commit
 * NULL.
 */
#ifndef TERN_DICT_IMPL_H
#define TERN_DICT_IMPL_H

#include "util/dict.h"
#include "util/strbuf.h"

struct dict_ops {
	const char *type;
	struct dict *(*open)(const char *name, int flags, char **error_r);
	enum dict_result (*lookup)(struct dict *dict, const char *key, struct strbuf *value,
				   char **error_r);
	int (*update)(struct dict *dict, const char *key, const char *value, char **error_r);
	enum dict_result (*del)(struct dict *dict, const char *key, char **error_r);
	/* seq - first != 0: start over; fills key and value. */
	enum dict_result (*seq)(struct dict *dict, int first, struct strbuf *key,
				struct strbuf *value, char **error_r);
	void (*seq_end)(struct dict *dict);
	int (*commit)(struct dict *dict, char **error_r);
	/* close - release everything, including the structure itself. */
	void (*close)(struct dict *dict);
};

struct dict {
	const struct dict_ops *ops;
	char *type;
	char *name;
	int flags;
	struct strbuf fold; /* scratch: the folded key */
	int committed;
	int seq_active; /* an iteration is in progress */
};

extern const struct dict_ops dict_texthash_ops;
extern const struct dict_ops dict_hash_ops;
extern const struct dict_ops dict_btree_ops;

#endif
