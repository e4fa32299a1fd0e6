/*
 * auth_penalty - failure counters and delays. See auth_penalty.h.
 *
 * Two chained hash tables (client IPs, account names) keyed with
 * SipHash-2-4 under a random key.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth/auth_penalty.h"
#include "util/msg.h"
#include "util/mymalloc.h"

#define PENALTY_COUNT_MAX 64 /* a counter stops growing here */
#define PENALTY_MIN_BUCKETS 64

struct penalty_entry {
	struct penalty_entry *next;
	uint64_t hash;
	uint64_t last_ms; /* the last failure, or the last decay step */
	unsigned count;
	char key[];
};

struct penalty_table {
	struct penalty_entry **buckets;
	size_t nbuckets; /* a power of 2 */
	size_t count;
};

struct auth_penalty {
	struct auth_penalty_conf conf;
	uint64_t k0, k1; /* the hash key */
	struct penalty_table tables[2];
};

/* ---- SipHash-2-4 ---- */

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

struct sip {
	uint64_t v0, v1, v2, v3;
};

static void sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

static void sip_word(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

static uint64_t siphash(uint64_t k0, uint64_t k1, const unsigned char *in, size_t len)
{
	struct sip s = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
			k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
	uint64_t m;
	size_t i, j;

	for (i = 0; i + 8 <= len; i += 8) {
		for (m = 0, j = 0; j < 8; j++)
			m |= (uint64_t)in[i + j] << (8 * j);
		sip_word(&s, m);
	}
	for (m = (uint64_t)(len & 0xff) << 56, j = 0; i + j < len; j++)
		m |= (uint64_t)in[i + j] << (8 * j);
	sip_word(&s, m);
	s.v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/* ---- tables ---- */

static void table_init(struct penalty_table *t)
{
	t->nbuckets = PENALTY_MIN_BUCKETS;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	t->count = 0;
}

static void table_free(struct penalty_table *t)
{
	struct penalty_entry *e, *next;
	size_t i;

	for (i = 0; i < t->nbuckets; i++) {
		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t->buckets);
}

/* grow - double the buckets when the table is fuller than one entry per bucket. */
static void grow(struct penalty_table *t)
{
	size_t n = t->nbuckets * 2, i;
	struct penalty_entry **b, *e, *next;

	b = xcalloc(n, sizeof(*b));
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

/* decay - halve e's counter for each full decay period since its last failure. */
static void decay(const struct auth_penalty *p, struct penalty_entry *e, uint64_t now)
{
	uint64_t periods;

	if (now <= e->last_ms)
		return;
	periods = (now - e->last_ms) / p->conf.decay_ms;
	if (periods == 0)
		return;
	if (periods >= 32) {
		e->count = 0;
		e->last_ms = now;
		return;
	}
	e->count >>= periods;
	e->last_ms += periods * p->conf.decay_ms;
}

/* sweep - drop the entries whose counters have decayed to zero. */
static void sweep(const struct auth_penalty *p, struct penalty_table *t, uint64_t now)
{
	struct penalty_entry **link, *e;
	size_t i;

	for (i = 0; i < t->nbuckets; i++) {
		link = &t->buckets[i];
		while ((e = *link) != NULL) {
			decay(p, e, now);
			if (e->count == 0) {
				*link = e->next;
				free(e);
				t->count--;
			} else {
				link = &e->next;
			}
		}
	}
}

/* evict_oldest - drop the entry whose last failure is the oldest. */
static void evict_oldest(struct penalty_table *t)
{
	struct penalty_entry **link, **oldest = NULL, *e;
	size_t i;

	for (i = 0; i < t->nbuckets; i++)
		for (link = &t->buckets[i]; (e = *link) != NULL; link = &e->next)
			if (oldest == NULL || e->last_ms < (*oldest)->last_ms)
				oldest = link;
	if (oldest == NULL)
		return;
	e = *oldest;
	*oldest = e->next;
	free(e);
	t->count--;
}

static struct penalty_entry *find(const struct penalty_table *t, const char *key, uint64_t hash)
{
	struct penalty_entry *e;

	for (e = t->buckets[hash & (t->nbuckets - 1)]; e != NULL; e = e->next)
		if (e->hash == hash && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/* find_or_add - the entry of key, made (with count 0) when absent. */
static struct penalty_entry *find_or_add(struct auth_penalty *p, struct penalty_table *t,
					 const char *key, uint64_t now)
{
	uint64_t hash = siphash(p->k0, p->k1, (const unsigned char *)key, strlen(key));
	struct penalty_entry *e = find(t, key, hash);
	size_t len = strlen(key);

	if (e != NULL)
		return e;
	if (t->count >= p->conf.max_entries) {
		sweep(p, t, now);
		while (t->count >= p->conf.max_entries)
			evict_oldest(t);
	}
	if (t->count >= t->nbuckets)
		grow(t);
	e = xmalloc(sizeof(*e) + len + 1);
	memcpy(e->key, key, len + 1);
	e->hash = hash;
	e->count = 0;
	e->last_ms = now;
	e->next = t->buckets[hash & (t->nbuckets - 1)];
	t->buckets[hash & (t->nbuckets - 1)] = e;
	t->count++;
	return e;
}

/* ---- the interface ---- */

struct auth_penalty *auth_penalty_create(const struct auth_penalty_conf *conf)
{
	struct auth_penalty *p = xcalloc(1, sizeof(*p));
	uint64_t key[2];

	if (conf->decay_ms == 0 || conf->max_entries == 0)
		msg_panic("auth_penalty_create: decay and table size must be at least 1");
	p->conf = *conf;
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		msg_fatal("getrandom: %s", strerror(errno));
	p->k0 = key[0];
	p->k1 = key[1];
	table_init(&p->tables[AUTH_PENALTY_IP]);
	table_init(&p->tables[AUTH_PENALTY_USER]);
	return p;
}

void auth_penalty_free(struct auth_penalty **pp)
{
	struct auth_penalty *p = *pp;

	if (p == NULL)
		return;
	table_free(&p->tables[AUTH_PENALTY_IP]);
	table_free(&p->tables[AUTH_PENALTY_USER]);
	free(p);
	*pp = NULL;
}

/* count_failure - one more failure for key in table; returns the counter. */
static unsigned count_failure(struct auth_penalty *p, enum auth_penalty_table table,
			      const char *key, uint64_t now)
{
	struct penalty_entry *e = find_or_add(p, &p->tables[table], key, now);

	decay(p, e, now);
	if (e->count < PENALTY_COUNT_MAX)
		e->count++;
	e->last_ms = now;
	return e->count;
}

uint64_t auth_penalty_fail(struct auth_penalty *p, const char *ip_key, const char *user_key,
			   uint64_t now_ms)
{
	unsigned n = 1, c;
	uint64_t delay = p->conf.base_ms;

	if (ip_key != NULL && (c = count_failure(p, AUTH_PENALTY_IP, ip_key, now_ms)) > n)
		n = c;
	if (user_key != NULL && (c = count_failure(p, AUTH_PENALTY_USER, user_key, now_ms)) > n)
		n = c;
	while (--n > 0 && delay < p->conf.max_ms)
		delay *= 2;
	return delay < p->conf.max_ms ? delay : p->conf.max_ms;
}

void auth_penalty_success(struct auth_penalty *p, const char *user_key)
{
	struct penalty_table *t = &p->tables[AUTH_PENALTY_USER];
	struct penalty_entry **link, *e;
	uint64_t hash;

	if (user_key == NULL)
		return;
	hash = siphash(p->k0, p->k1, (const unsigned char *)user_key, strlen(user_key));
	for (link = &t->buckets[hash & (t->nbuckets - 1)]; (e = *link) != NULL; link = &e->next) {
		if (e->hash == hash && strcmp(e->key, user_key) == 0) {
			*link = e->next;
			free(e);
			t->count--;
			return;
		}
	}
}

unsigned auth_penalty_count(struct auth_penalty *p, enum auth_penalty_table table, const char *key,
			    uint64_t now_ms)
{
	uint64_t hash = siphash(p->k0, p->k1, (const unsigned char *)key, strlen(key));
	struct penalty_entry *e = find(&p->tables[table], key, hash);

	if (e == NULL)
		return 0;
	decay(p, e, now_ms);
	return e->count;
}

size_t auth_penalty_size(const struct auth_penalty *p, enum auth_penalty_table table)
{
	return p->tables[table].count;
}

char *auth_penalty_ip_key(const char *addr)
{
	unsigned char a6[16];
	struct in_addr a4;
	char buf[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return xstrdup(inet_ntop(AF_INET, &a4, buf, sizeof(buf)));
	if (inet_pton(AF_INET6, addr, a6) != 1)
		return NULL;
	if (memcmp(a6, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memcpy(&a4, a6 + 12, 4);
		return xstrdup(inet_ntop(AF_INET, &a4, buf, sizeof(buf)));
	}
	memset(a6 + 8, 0, 8);
	return xasprintf("%s/64", inet_ntop(AF_INET6, a6, buf, sizeof(buf)));
}
