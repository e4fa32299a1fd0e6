/*
 * qmgr_resolve - what becomes of one recipient: the addresses it expands
 * to, and for each the transport and next hop that deliver it.
 *
 * Expansion (skipped for a recipient that is already final, see below):
 *  1. virtual_alias_maps, recursively. Each address is looked up as
 *     "user+ext@domain", then (with recipient_delimiter) "user@domain",
 *     then "@domain"; a value is a list of addresses (commas and/or white
 *     space; a name without a domain gets @$myorigin). An address that
 *     lists itself is kept; an address that comes back on its own path is
 *     a loop, which returns the recipient (5.4.6), as does nesting deeper
 *     than QMGR_VIRTUAL_DEPTH or more than QMGR_EXPANSION_MAX results.
 *  2. Each result in a local domain (one of mydestination, or local in the
 *     directory) is resolved by the directory, which expands its aliases
 *     and sub-addresses into accounts and external addresses. An account
 *     is delivered as "account" or, with a detail, "local+detail@domain"
 *     (the first character of recipient_delimiter), so that the store can
 *     still file by sub-address. A single result that does not exist is
 *     returned (5.1.1), a single disabled account too (5.2.1); a loop or
 *     a limit the directory reports returns the recipient (5.4.6); a lookup
 *     that fails defers it.
 * One result is delivered in place of the recipient. Several results are
 * QMGR_SPLIT: the caller puts them in a new message as final recipients
 * (whose routes are found then; a result that does not exist is refused by
 * the store).
 *
 * Routing of an address:
 *  - local domain: local_transport;
 *  - a domain of relay_domains (or a subdomain): relay_transport to the
 *    domain;
 *  - anything else: default_transport to the sender's
 *    sender_dependent_relayhost_maps entry (sender, then "@domain", "<>"
 *    for the null sender), else relayhost, else the domain;
 *  - then transport_maps, looked up as the address, the address without
 *    its extension, the domain, each parent domain as ".parent", and "*":
 *    a value "transport:nexthop" replaces either half when it is not
 *    empty. Transport "error" returns the recipient with the next hop as
 *    the reason ("5.1.1 no such user": a leading status code is used),
 *    transport "retry" defers it.
 * A transport value (local_transport, ...) is "transport" or
 * "transport:nexthop" ("lmtp:unix:/path", "smtp:[relay.example]:587").
 */
#ifndef TERN_QMGR_RESOLVE_H
#define TERN_QMGR_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/directory.h"

struct qmgr_maps;

#define QMGR_VIRTUAL_DEPTH 100	/* virtual aliases nested within one another */
#define QMGR_EXPANSION_MAX 1000 /* addresses one recipient may expand to */

/* The directory, as the resolver needs it (the auth service, or a fake in tests). */
struct qmgr_dir_ops {
	/* domain - whether domain is local: DIR_FOUND, DIR_NOTFOUND, DIR_ERROR (+ *error_r) */
	enum dir_result (*domain)(void *ctx, const char *domain, char **error_r);
	/* resolve - as auth_client_resolve() */
	enum dir_result (*resolve)(void *ctx, const char *address, struct dir_targets *targets,
				   char **error_r);
};

/* The settings; strings are copied. */
struct qmgr_resolver_conf {
	const char *myorigin;
	const char *mydestination; /* list */
	const char *relay_domains; /* list */
	const char *recipient_delimiter;
	const char *local_transport;
	const char *default_transport;
	const char *relay_transport;
	const char *relayhost;
	/* tables, owned by the caller (may be NULL: none) */
	struct qmgr_maps *virtual_alias_maps;
	struct qmgr_maps *transport_maps;
	struct qmgr_maps *sender_dependent_relayhost_maps;
	/* the directory; ops NULL: no directory (only mydestination is local) */
	const struct qmgr_dir_ops *dir_ops;
	void *dir_ctx;
};

enum qmgr_verdict {
	QMGR_DELIVER, /* one address, routed */
	QMGR_SPLIT,   /* several addresses, to become final recipients of a new message */
	QMGR_DEFER,   /* try again later: dsn, text */
	QMGR_BOUNCE,  /* return to the sender: dsn, text */
};

/* One address to deliver, and where (transport and nexthop NULL for QMGR_SPLIT). */
struct qmgr_leaf {
	char *address;
	char *transport;
	char *nexthop;
};

struct qmgr_resolution {
	enum qmgr_verdict verdict;
	char dsn[16];		  /* DEFER, BOUNCE */
	char *text;		  /* DEFER, BOUNCE: the reason */
	struct qmgr_leaf *leaves; /* DELIVER: 1, SPLIT: 2 or more */
	size_t count;
};

struct qmgr_resolver;

struct qmgr_resolver *qmgr_resolver_create(const struct qmgr_resolver_conf *conf);
void qmgr_resolver_free(struct qmgr_resolver **r);

/*
 * qmgr_resolve - resolve rcpt (as in the queue file) of a message from
 * sender ("" for the null sender). final: the recipient came out of an
 * expansion already; only route it. *res is filled (free it with
 * qmgr_resolution_free()).
 */
void qmgr_resolve(struct qmgr_resolver *r, const char *sender, const char *rcpt, bool final,
		  struct qmgr_resolution *res);
void qmgr_resolution_free(struct qmgr_resolution *res);

/*
 * qmgr_transport_split - split a transport value "transport[:nexthop]" into
 * its halves (malloc'd; *nexthop_r "" when absent).
 */
void qmgr_transport_split(const char *value, char **transport_r, char **nexthop_r);

#endif
