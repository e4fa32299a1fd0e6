/*
 * anvil_table - per (service, client) connection counts and rates in a
 * chained hash table that doubles as it fills, with the maxima for the
 * statistics report. See anvil_table.h.
 */
#include <stdlib.h>
#include <string.h>

#include "anvil/anvil_table.h"
#include "util/msg.h"
#include "util/mymalloc.h"

#define INITIAL_BUCKETS 64

struct anvil_entry {
	struct anvil_entry *next; /* in its bucket */
	uint64_t hash;
	char *service;
	char *client;
	long long count;       /* open connections */
	long long rate;	       /* connections in the window */
	uint64_t window_start; /* when the window began */
};

struct anvil_table {
	struct anvil_entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t size;
	uint64_t time_unit;
	struct anvil_stats stats;
};

/* hash - FNV-1a over service, a NUL, and client. */
static uint64_t hash(const char *service, const char *client)
{
	uint64_t h = 14695981039346656037ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)service; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h *= 1099511628211ULL;
	for (p = (const unsigned char *)client; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

struct anvil_table *anvil_table_create(uint64_t time_unit_ms)
{
	struct anvil_table *t = xcalloc(1, sizeof(*t));

	if (time_unit_ms == 0)
		msg_panic("anvil_table_create: time unit 0");
	t->nbuckets = INITIAL_BUCKETS;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	t->time_unit = time_unit_ms;
	return t;
}

static void entry_free(struct anvil_entry *e)
{
	free(e->service);
	free(e->client);
	free(e);
}

void anvil_table_free(struct anvil_table **tp)
{
	struct anvil_table *t = *tp;
	struct anvil_entry *e, *next;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->next;
			entry_free(e);
		}
	}
	free(t->buckets);
	free(t->stats.count.key);
	free(t->stats.rate.key);
	free(t);
	*tp = NULL;
}

/* grow - double the buckets and move every entry to its new bucket. */
static void grow(struct anvil_table *t)
{
	size_t n = t->nbuckets * 2, i;
	struct anvil_entry **b = xcalloc(n, sizeof(*b));
	struct anvil_entry *e, *next;

	for (i = 0; i < t->nbuckets; i++) {
		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

struct anvil_entry *anvil_table_find(const struct anvil_table *t, const char *service,
				     const char *client)
{
	uint64_t h = hash(service, client);
	struct anvil_entry *e;

	for (e = t->buckets[h & (t->nbuckets - 1)]; e != NULL; e = e->next)
		if (e->hash == h && strcmp(e->service, service) == 0 &&
		    strcmp(e->client, client) == 0)
			return e;
	return NULL;
}

/* window_over - whether the rate window of e has ended at now. */
static int window_over(const struct anvil_table *t, const struct anvil_entry *e, uint64_t now)
{
	return now >= e->window_start && now - e->window_start >= t->time_unit;
}

/* note_max - remember value for key when it beats the maximum. */
static void note_max(struct anvil_max *m, long long value, const struct anvil_entry *e,
		     uint64_t now)
{
	if (value <= m->value)
		return;
	m->value = value;
	m->when = now;
	if (e != NULL) {
		free(m->key);
		m->key = xasprintf("%s:%s", e->service, e->client);
	}
}

struct anvil_entry *anvil_table_connect(struct anvil_table *t, const char *service,
					const char *client, uint64_t now, long long *count_r,
					long long *rate_r)
{
	struct anvil_entry *e = anvil_table_find(t, service, client);

	if (e == NULL) {
		if (t->size >= t->nbuckets * 2)
			grow(t);
		e = xcalloc(1, sizeof(*e));
		e->hash = hash(service, client);
		e->service = xstrdup(service);
		e->client = xstrdup(client);
		e->window_start = now;
		e->next = t->buckets[e->hash & (t->nbuckets - 1)];
		t->buckets[e->hash & (t->nbuckets - 1)] = e;
		t->size++;
		note_max(&t->stats.size, (long long)t->size, NULL, now);
	} else if (window_over(t, e, now)) {
		e->window_start = now;
		e->rate = 0;
	}
	e->count++;
	e->rate++;
	note_max(&t->stats.count, e->count, e, now);
	note_max(&t->stats.rate, e->rate, e, now);
	*count_r = e->count;
	*rate_r = e->rate;
	return e;
}

void anvil_table_release(struct anvil_table *t, struct anvil_entry *e, long long n)
{
	if (n < 1 || e->count < n)
		msg_panic("anvil_table_release: %s:%s has %lld connections, not %lld", e->service,
			  e->client, e->count, n);
	e->count -= n;
}

long long anvil_entry_count(const struct anvil_entry *e)
{
	return e->count;
}

long long anvil_entry_rate(const struct anvil_table *t, const struct anvil_entry *e, uint64_t now)
{
	return window_over(t, e, now) ? 0 : e->rate;
}

void anvil_table_lookup(const struct anvil_table *t, const char *service, const char *client,
			uint64_t now, long long *count_r, long long *rate_r)
{
	const struct anvil_entry *e = anvil_table_find(t, service, client);

	*count_r = e ? e->count : 0;
	*rate_r = e ? anvil_entry_rate(t, e, now) : 0;
}

size_t anvil_table_expire(struct anvil_table *t, uint64_t now)
{
	struct anvil_entry **pp, *e;
	size_t i, removed = 0;

	for (i = 0; i < t->nbuckets; i++) {
		pp = &t->buckets[i];
		while ((e = *pp) != NULL) {
			if (e->count == 0 && window_over(t, e, now)) {
				*pp = e->next;
				entry_free(e);
				removed++;
			} else {
				pp = &e->next;
			}
		}
	}
	t->size -= removed;
	return removed;
}

size_t anvil_table_size(const struct anvil_table *t)
{
	return t->size;
}

const struct anvil_stats *anvil_table_stats(const struct anvil_table *t)
{
	return &t->stats;
}

void anvil_table_stats_reset(struct anvil_table *t, uint64_t now)
{
	XFREE(t->stats.count.key);
	XFREE(t->stats.rate.key);
	memset(&t->stats, 0, sizeof(t->stats));
	t->stats.size.value = (long long)t->size;
	t->stats.size.when = now;
}
