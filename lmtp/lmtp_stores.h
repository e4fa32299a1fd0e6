/*
 * lmtp_stores - the stores an lmtp process keeps open between deliveries.
 *
 * Opening a store costs a good part of a delivery (the schema is read, and
 * SQLite syncs the store's directory at the first commit of a connection),
 * and an lmtp process often delivers to the same users again. So it keeps
 * the last few stores it used open, up to a limit, the least recently used
 * closed first. A handle is used again only while store_is_current() says
 * the directory at its path is still the one it opened (an account removed
 * and made again gets a fresh handle), and the account's quotas, which the
 * directory may have changed, are set again on each use.
 */
#ifndef TERN_LMTP_STORES_H
#define TERN_LMTP_STORES_H

#include <stddef.h>

#include "store/store.h"

/* Stores kept open by one lmtp process, at most. */
#define LMTP_STORES_MAX 16

struct lmtp_stores;

struct lmtp_stores *lmtp_stores_create(size_t max);
void lmtp_stores_free(struct lmtp_stores **cache);

/*
 * lmtp_stores_get - an open store for path (kept or newly opened with
 * opts, whose quotas are applied either way). The cache keeps the handle:
 * the caller neither closes nor keeps it past the next call. Returns 0, or
 * a store_error with *error_r set.
 */
int lmtp_stores_get(struct lmtp_stores *cache, const char *path, const struct store_options *opts,
		    struct store **store_r, char **error_r);

/* lmtp_stores_drop - close a handle after an error that may have left it unusable. */
void lmtp_stores_drop(struct lmtp_stores *cache, struct store *store);

#endif
