/*
 * auth_penalty - failure counters per client IP and per account, and the
 * delay they give a failed authentication.
 *
 * Each failure adds one to the counter of its client IP (an IPv6 address
 * counts by its /64 network) and to that of the account name it tried. The
 * delay before the failure is answered is base_ms for a first failure,
 * doubling with each further one of either counter (the larger counts) up
 * to max_ms. A success answers at once and clears the account's counter (not
 * the IP's: one good login does not excuse a flood of guesses from the same
 * address). A counter is halved for each full decay_ms since its last
 * failure, so a quiet client is forgiven gradually.
 *
 * Memory is bounded: each of the two tables holds at most max_entries
 * counters; when one is full, counters that have decayed to zero are
 * dropped, then the one with the oldest failure. Keys are hashed with a
 * random per-process key, so that clients cannot choose colliding names.
 */
#ifndef TERN_AUTH_PENALTY_H
#define TERN_AUTH_PENALTY_H

#include <stddef.h>
#include <stdint.h>

struct auth_penalty_conf {
	uint64_t base_ms;   /* delay of a first failure; 0: no delays */
	uint64_t max_ms;    /* the longest delay */
	uint64_t decay_ms;  /* a counter halves after each such quiet period (>= 1) */
	size_t max_entries; /* counters per table (>= 1) */
};

enum auth_penalty_table {
	AUTH_PENALTY_IP,
	AUTH_PENALTY_USER,
};

struct auth_penalty;

struct auth_penalty *auth_penalty_create(const struct auth_penalty_conf *conf);
void auth_penalty_free(struct auth_penalty **penalty);

/*
 * auth_penalty_fail - count a failure from ip_key for user_key (either may
 * be NULL) at now_ms (a monotonic clock); returns its delay in milliseconds.
 */
uint64_t auth_penalty_fail(struct auth_penalty *penalty, const char *ip_key, const char *user_key,
			   uint64_t now_ms);

/* auth_penalty_success - user_key authenticated: clear its counter. */
void auth_penalty_success(struct auth_penalty *penalty, const char *user_key);

/* auth_penalty_count - the counter of key in a table at now_ms (0 when absent). */
unsigned auth_penalty_count(struct auth_penalty *penalty, enum auth_penalty_table table,
			    const char *key, uint64_t now_ms);

/* auth_penalty_size - the counters held in a table. */
size_t auth_penalty_size(const struct auth_penalty *penalty, enum auth_penalty_table table);

/*
 * auth_penalty_ip_key - the counter key of a client address: an IPv4
 * address as is, an IPv6 one as its /64 network ("2001:db8:1:2::/64"); an
 * IPv4-mapped IPv6 address counts as the IPv4 address. NULL when addr is not
 * an IP address. Malloc'd.
 */
char *auth_penalty_ip_key(const char *addr);

#endif
