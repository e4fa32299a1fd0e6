/*
 * anvil_table - the counters kept by the anvil service: for each (service,
 * client address) pair, how many connections are open now and how many were
 * opened in the current rate window, plus the maxima seen since the last
 * statistics report.
 *
 * The caller gives the time (milliseconds on a monotonic clock) to every
 * call, so that the table is a plain data structure that tests can drive.
 *
 * Rates are counted in fixed windows of time_unit: the first connection of a
 * pair starts a window, each connection within it adds one, and the first
 * connection at or after its end starts a new window with a rate of 1.
 *
 * An entry lives while it has open connections or its window has not ended;
 * anvil_table_expire() removes the others. An entry pointer returned by
 * anvil_table_connect() stays valid until its connection is released.
 */
#ifndef TERN_ANVIL_TABLE_H
#define TERN_ANVIL_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct anvil_table;
struct anvil_entry;

/* A maximum seen since the last anvil_table_stats_reset(). */
struct anvil_max {
	long long value; /* 0: nothing seen */
	char *key;	 /* "service:client" (malloc'd), or NULL */
	uint64_t when;	 /* the caller's clock when it was reached */
};

struct anvil_stats {
	struct anvil_max count; /* most connections at once of one pair */
	struct anvil_max rate;	/* most connections of one pair in a window */
	struct anvil_max size;	/* most entries in the table (key NULL) */
};

/* anvil_table_create - an empty table whose rate windows last time_unit_ms (>= 1). */
struct anvil_table *anvil_table_create(uint64_t time_unit_ms);
void anvil_table_free(struct anvil_table **tp);

/*
 * anvil_table_connect - one more connection of client to service: the count
 * and the rate of the window grow by one. Sets *count_r and *rate_r to the
 * new values and returns the entry, for anvil_table_release().
 */
struct anvil_entry *anvil_table_connect(struct anvil_table *t, const char *service,
					const char *client, uint64_t now, long long *count_r,
					long long *rate_r);

/* anvil_table_release - n connections of entry e ended (it must have that many). */
void anvil_table_release(struct anvil_table *t, struct anvil_entry *e, long long n);

/*
 * anvil_table_find - the entry of (service, client), or NULL; the counts of a
 * pair that has none are 0.
 */
struct anvil_entry *anvil_table_find(const struct anvil_table *t, const char *service,
				     const char *client);

/* anvil_entry_count, anvil_entry_rate - the open connections; the rate of the window at now. */
long long anvil_entry_count(const struct anvil_entry *e);
long long anvil_entry_rate(const struct anvil_table *t, const struct anvil_entry *e, uint64_t now);

/* anvil_table_lookup - count and rate of a pair at now, without changing them. */
void anvil_table_lookup(const struct anvil_table *t, const char *service, const char *client,
			uint64_t now, long long *count_r, long long *rate_r);

/* anvil_table_expire - remove the entries without connections whose window ended; how many. */
size_t anvil_table_expire(struct anvil_table *t, uint64_t now);

/* anvil_table_size - the entries in the table. */
size_t anvil_table_size(const struct anvil_table *t);

/* anvil_table_stats - the maxima since the last reset (owned by the table). */
const struct anvil_stats *anvil_table_stats(const struct anvil_table *t);

/* anvil_table_stats_reset - forget the maxima; the current size becomes the size maximum. */
void anvil_table_stats_reset(struct anvil_table *t, uint64_t now);

#endif
