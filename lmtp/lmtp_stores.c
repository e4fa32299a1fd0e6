/*
 * lmtp_stores - the stores an lmtp process keeps open (see lmtp_stores.h).
 */
#include <stdlib.h>
#include <string.h>

#include "lmtp/lmtp_stores.h"
#include "util/mymalloc.h"

struct lmtp_stores_entry {
	char *path;
	struct store *store;
	unsigned long long used; /* the value of the use counter at its last use */
};

struct lmtp_stores {
	struct lmtp_stores_entry *items;
	size_t count, max;
	unsigned long long uses;
};

struct lmtp_stores *lmtp_stores_create(size_t max)
{
	struct lmtp_stores *cache = xcalloc(1, sizeof(*cache));

	cache->max = max > 0 ? max : 1;
	cache->items = xcalloc(cache->max, sizeof(*cache->items));
	return cache;
}

/* forget - close entry i and fill its slot with the last one. */
static void forget(struct lmtp_stores *cache, size_t i)
{
	store_close(&cache->items[i].store);
	free(cache->items[i].path);
	cache->items[i] = cache->items[--cache->count];
}

void lmtp_stores_free(struct lmtp_stores **cachep)
{
	struct lmtp_stores *cache = *cachep;

	if (cache == NULL)
		return;
	while (cache->count > 0)
		forget(cache, cache->count - 1);
	free(cache->items);
	free(cache);
	*cachep = NULL;
}

int lmtp_stores_get(struct lmtp_stores *cache, const char *path, const struct store_options *opts,
		    struct store **store_r, char **error_r)
{
	struct store *store = NULL;
	size_t i, oldest = 0;
	int rc;

	for (i = 0; i < cache->count; i++) {
		if (strcmp(cache->items[i].path, path) != 0)
			continue;
		if (!store_is_current(cache->items[i].store)) {
			forget(cache, i);
			break;
		}
		cache->items[i].used = ++cache->uses;
		store_set_quota(cache->items[i].store, opts->quota_bytes, opts->quota_messages);
		*store_r = cache->items[i].store;
		return 0;
	}
	if ((rc = store_open(path, opts, &store, error_r)) < 0)
		return rc;
	if (cache->count == cache->max) {
		for (i = 1; i < cache->count; i++)
			if (cache->items[i].used < cache->items[oldest].used)
				oldest = i;
		forget(cache, oldest);
	}
	cache->items[cache->count].path = xstrdup(path);
	cache->items[cache->count].store = store;
	cache->items[cache->count].used = ++cache->uses;
	cache->count++;
	*store_r = store;
	return 0;
}

void lmtp_stores_drop(struct lmtp_stores *cache, struct store *store)
{
	for (size_t i = 0; i < cache->count; i++) {
		if (cache->items[i].store == store) {
			forget(cache, i);
			return;
		}
	}
}
