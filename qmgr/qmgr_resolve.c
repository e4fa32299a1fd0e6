/*
 * qmgr_resolve - recipient expansion (virtual aliases, then the directory)
 * and routing (local, relay or default transport; transport_maps). See
 * qmgr_resolve.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qmgr/qmgr_maps.h"
#include "qmgr/qmgr_resolve.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

struct qmgr_resolver {
	char *myorigin;
	char *mydestination;
	char *relay_domains;
	char *delimiters;
	char *local_transport;
	char *default_transport;
	char *relay_transport;
	char *relayhost;
	struct qmgr_maps *virtual_maps, *transport_maps, *relayhost_maps;
	const struct qmgr_dir_ops *dir_ops;
	void *dir_ctx;
};

/* One address found by expansion, with whether its domain is local (-1: not known yet). */
struct found {
	char *address;
	int local;
};

/* The state of one expansion. */
struct expand {
	struct qmgr_resolver *r;
	struct qmgr_resolution *res;
	struct found *found;
	size_t count;
	const char *chain[QMGR_VIRTUAL_DEPTH + 1]; /* the virtual aliases being expanded */
	size_t depth;
};

struct qmgr_resolver *qmgr_resolver_create(const struct qmgr_resolver_conf *conf)
{
	struct qmgr_resolver *r = xcalloc(1, sizeof(*r));

	r->myorigin = xstrdup(conf->myorigin);
	r->mydestination = xstrdup(conf->mydestination);
	r->relay_domains = xstrdup(conf->relay_domains);
	r->delimiters = xstrdup(conf->recipient_delimiter);
	r->local_transport = xstrdup(conf->local_transport);
	r->default_transport = xstrdup(conf->default_transport);
	r->relay_transport = xstrdup(conf->relay_transport);
	r->relayhost = xstrdup(conf->relayhost);
	r->virtual_maps = conf->virtual_alias_maps;
	r->transport_maps = conf->transport_maps;
	r->relayhost_maps = conf->sender_dependent_relayhost_maps;
	r->dir_ops = conf->dir_ops;
	r->dir_ctx = conf->dir_ctx;
	return r;
}

void qmgr_resolver_free(struct qmgr_resolver **rp)
{
	struct qmgr_resolver *r = *rp;

	if (r == NULL)
		return;
	free(r->myorigin);
	free(r->mydestination);
	free(r->relay_domains);
	free(r->delimiters);
	free(r->local_transport);
	free(r->default_transport);
	free(r->relay_transport);
	free(r->relayhost);
	free(r);
	*rp = NULL;
}

void qmgr_resolution_free(struct qmgr_resolution *res)
{
	size_t i;

	for (i = 0; i < res->count; i++) {
		free(res->leaves[i].address);
		free(res->leaves[i].transport);
		free(res->leaves[i].nexthop);
	}
	free(res->leaves);
	free(res->text);
	memset(res, 0, sizeof(*res));
}

void qmgr_transport_split(const char *value, char **transport_r, char **nexthop_r)
{
	const char *colon = strchr(value, ':');

	if (colon == NULL) {
		*transport_r = xstrdup(value);
		*nexthop_r = xstrdup("");
	} else {
		*transport_r = xstrndup(value, (size_t)(colon - value));
		*nexthop_r = xstrdup(colon + 1);
	}
}

/* verdict - end the resolution with DEFER or BOUNCE; the first verdict stays. */
static void verdict(struct qmgr_resolution *res, enum qmgr_verdict v, const char *dsn,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void verdict(struct qmgr_resolution *res, enum qmgr_verdict v, const char *dsn,
		    const char *fmt, ...)
{
	va_list ap;

	if (res->text != NULL)
		return;
	res->verdict = v;
	snprintf(res->dsn, sizeof(res->dsn), "%s", dsn);
	va_start(ap, fmt);
	res->text = xvasprintf(fmt, ap);
	va_end(ap);
}

/* domain_of - the domain of address (after the last '@'), or "" without one. */
static const char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');

	return at != NULL ? at + 1 : "";
}

/* qualify - address with @myorigin when it has no domain (malloc'd). */
static char *qualify(const struct qmgr_resolver *r, const char *address)
{
	if (strchr(address, '@') != NULL)
		return xstrdup(address);
	return xasprintf("%s@%s", address, r->myorigin);
}

/*
 * list_match - whether domain is in list (names separated by commas and/or
 * white space, ASCII case ignored); with subdomains, a subdomain of a
 * listed name matches too.
 */
static int list_match(const char *list, const char *domain, int subdomains)
{
	const char *p = list, *sep = ", \t\r\n";
	size_t n, dlen = strlen(domain);

	while (*(p += strspn(p, sep)) != '\0') {
		n = strcspn(p, sep);
		if (n == dlen && strncasecmp(p, domain, n) == 0)
			return 1;
		if (subdomains && dlen > n + 1 && domain[dlen - n - 1] == '.' &&
		    strncasecmp(p, domain + dlen - n, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}

/* unextended - address without its extension (user+ext@d -> user@d), or NULL without one. */
static char *unextended(const struct qmgr_resolver *r, const char *address)
{
	const char *at = strrchr(address, '@');
	size_t llen = at != NULL ? (size_t)(at - address) : strlen(address);
	size_t cut;

	if (r->delimiters[0] == '\0' || llen == 0)
		return NULL;
	cut = strcspn(address, r->delimiters);
	if (cut == 0 || cut >= llen)
		return NULL;
	return xasprintf("%.*s%s", (int)cut, address, at != NULL ? at : "");
}

/*
 * is_local - whether the domain of address is local: 1, 0, or -1 with the
 * resolution deferred.
 */
static int is_local(struct qmgr_resolver *r, const char *address, struct qmgr_resolution *res)
{
	const char *domain = domain_of(address);
	char *err = NULL;

	if (domain[0] == '\0' || domain[0] == '[')
		return 0;
	if (list_match(r->mydestination, domain, 0))
		return 1;
	if (r->dir_ops == NULL)
		return 0;
	switch (r->dir_ops->domain(r->dir_ctx, domain, &err)) {
	case DIR_FOUND:
		return 1;
	case DIR_NOTFOUND:
		return 0;
	case DIR_ERROR:
		break;
	}
	verdict(res, QMGR_DEFER, "4.3.0", "directory lookup of domain %s failed: %s", domain,
		err != NULL ? err : "unknown error");
	free(err);
	return -1;
}

/* ---- expansion ---- */

/* add_found - one more result (duplicates merged); -1 over the limit. */
static int add_found(struct expand *x, const char *address, int local)
{
	size_t i;

	for (i = 0; i < x->count; i++)
		if (strcasecmp(x->found[i].address, address) == 0)
			return 0;
	if (x->count >= QMGR_EXPANSION_MAX) {
		verdict(x->res, QMGR_BOUNCE, "5.4.6",
			"alias expansion gives more than %d addresses", QMGR_EXPANSION_MAX);
		return -1;
	}
	x->found = xreallocarray(x->found, x->count + 1, sizeof(*x->found));
	x->found[x->count].address = xstrdup(address);
	x->found[x->count].local = local;
	x->count++;
	return 0;
}

/* virtual_lookup - the virtual alias entry of address: exact, unextended, @domain. */
static enum dict_result virtual_lookup(struct expand *x, const char *address, struct strbuf *value)
{
	struct qmgr_resolver *r = x->r;
	char *key, *err = NULL;
	enum dict_result res;

	res = qmgr_maps_lookup(r->virtual_maps, address, value, &err);
	if (res == DICT_NOTFOUND && (key = unextended(r, address)) != NULL) {
		res = qmgr_maps_lookup(r->virtual_maps, key, value, &err);
		free(key);
	}
	if (res == DICT_NOTFOUND && domain_of(address)[0] != '\0') {
		key = xasprintf("@%s", domain_of(address));
		res = qmgr_maps_lookup(r->virtual_maps, key, value, &err);
		free(key);
	}
	if (res == DICT_ERROR) {
		verdict(x->res, QMGR_DEFER, "4.3.0", "%s", err);
		free(err);
	}
	return res;
}

/* loop_text - "a -> b -> a" from the chain position where target first appears. */
static char *loop_text(const struct expand *x, size_t from, const char *target)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = from; i < x->depth; i++)
		strbuf_printf(&sb, "%s -> ", x->chain[i]);
	strbuf_puts(&sb, target);
	return strbuf_detach(&sb);
}

static int expand_virtual(struct expand *x, const char *address);

/* expand_targets - the targets of address's virtual alias entry (the list in value). */
static int expand_targets(struct expand *x, const char *address, const char *value)
{
	const char *p = value, *sep = ", \t\r\n";
	char *target, *text;
	size_t n, i;
	int ret = 0;

	while (ret == 0 && *(p += strspn(p, sep)) != '\0') {
		n = strcspn(p, sep);
		target = xstrndup(p, n);
		p += n;
		if (strchr(target, '@') == NULL) {
			char *q = qualify(x->r, target);

			free(target);
			target = q;
		}
		if (strcasecmp(target, address) == 0) {
			ret = add_found(x, address, -1);
			free(target);
			continue;
		}
		for (i = 0; i < x->depth && strcasecmp(x->chain[i], target) != 0; i++)
			;
		if (i < x->depth) {
			text = loop_text(x, i, target);
			verdict(x->res, QMGR_BOUNCE, "5.4.6", "virtual alias loop: %s", text);
			free(text);
			ret = -1;
		} else {
			ret = expand_virtual(x, target);
		}
		free(target);
	}
	return ret;
}

/* expand_virtual - address through virtual_alias_maps, recursively, into x->found. */
static int expand_virtual(struct expand *x, const char *address)
{
	struct strbuf value = STRBUF_INIT;
	enum dict_result res;
	int ret;

	if (qmgr_maps_empty(x->r->virtual_maps))
		return add_found(x, address, -1);
	if (x->depth >= QMGR_VIRTUAL_DEPTH) {
		verdict(x->res, QMGR_BOUNCE, "5.4.6",
			"virtual aliases nested more than %d deep at %s", QMGR_VIRTUAL_DEPTH,
			address);
		return -1;
	}
	res = virtual_lookup(x, address, &value);
	if (res == DICT_ERROR) {
		ret = -1;
	} else if (res == DICT_NOTFOUND) {
		ret = add_found(x, address, -1);
	} else {
		x->chain[x->depth++] = address;
		ret = expand_targets(x, address, strbuf_str(&value));
		x->depth--;
	}
	strbuf_free(&value);
	return ret;
}

/* permanent - whether a directory failure is a property of the aliases (loop, limit). */
static int permanent(const char *err)
{
	return strstr(err, "alias loop") != NULL || strstr(err, "nested more than") != NULL ||
	       strstr(err, "resolves to more than") != NULL ||
	       strstr(err, "needs more than") != NULL;
}

/* account_address - the address to deliver an account's mail to: with its detail, if any. */
static char *account_address(const struct qmgr_resolver *r, const struct dir_target *t)
{
	const char *at = strrchr(t->address, '@');

	if (t->detail == NULL || t->detail[0] == '\0' || r->delimiters[0] == '\0' || at == NULL)
		return xstrdup(t->address);
	return xasprintf("%.*s%c%s%s", (int)(at - t->address), t->address, r->delimiters[0],
			 t->detail, at);
}

/*
 * expand_local - one address in a local domain through the directory into
 * out; single: it is the only address so far, so that not found and
 * disabled return the recipient.
 */
static int expand_local(struct expand *x, const char *address, int single, struct expand *out)
{
	struct qmgr_resolver *r = x->r;
	struct dir_targets targets = {NULL, 0};
	char *err = NULL, *a;
	size_t i;
	int ret = 0;

	if (r->dir_ops == NULL)
		return add_found(out, address, 1);
	switch (r->dir_ops->resolve(r->dir_ctx, address, &targets, &err)) {
	case DIR_NOTFOUND:
		if (single) {
			verdict(x->res, QMGR_BOUNCE, "5.1.1", "%s: user unknown", address);
			return -1;
		}
		return add_found(out, address, 1);
	case DIR_ERROR:
		verdict(x->res, permanent(err) ? QMGR_BOUNCE : QMGR_DEFER,
			permanent(err) ? "5.4.6" : "4.3.0", "%s", err);
		free(err);
		return -1;
	case DIR_FOUND:
		break;
	}
	if (single && targets.count == 1 && targets.items[0].local && !targets.items[0].enabled) {
		verdict(x->res, QMGR_BOUNCE, "5.2.1", "%s: mailbox disabled", address);
		ret = -1;
	}
	for (i = 0; ret == 0 && i < targets.count; i++) {
		a = targets.items[i].local ? account_address(r, &targets.items[i])
					   : xstrdup(targets.items[i].address);
		ret = add_found(out, a, targets.items[i].local ? 1 : -1);
		free(a);
	}
	dir_targets_free(&targets);
	return ret;
}

/* expand_directory - the virtual results in x->found through the directory, into out. */
static int expand_directory(struct expand *x, struct expand *out)
{
	size_t i;
	int local;

	for (i = 0; i < x->count; i++) {
		local = is_local(x->r, x->found[i].address, x->res);
		if (local < 0)
			return -1;
		if (!local) {
			if (add_found(out, x->found[i].address, 0) < 0)
				return -1;
		} else if (expand_local(x, x->found[i].address, x->count == 1, out) < 0) {
			return -1;
		}
	}
	return 0;
}

static void free_found(struct expand *x)
{
	size_t i;

	for (i = 0; i < x->count; i++)
		free(x->found[i].address);
	free(x->found);
	x->found = NULL;
	x->count = 0;
}

/* ---- routing ---- */

/* relay_for - the sender's relayhost from sender_dependent_relayhost_maps, or NULL. */
static char *relay_for(struct qmgr_resolver *r, const char *sender, struct qmgr_resolution *res,
		       int *error)
{
	struct strbuf value = STRBUF_INIT;
	enum dict_result d;
	char *key, *err = NULL;

	if (qmgr_maps_empty(r->relayhost_maps))
		return NULL;
	d = qmgr_maps_lookup(r->relayhost_maps, sender[0] != '\0' ? sender : "<>", &value, &err);
	if (d == DICT_NOTFOUND && sender[0] != '\0' && domain_of(sender)[0] != '\0') {
		key = xasprintf("@%s", domain_of(sender));
		d = qmgr_maps_lookup(r->relayhost_maps, key, &value, &err);
		free(key);
	}
	if (d == DICT_ERROR) {
		verdict(res, QMGR_DEFER, "4.3.0", "%s", err);
		free(err);
		*error = 1;
	}
	if (d != DICT_FOUND || value.len == 0) {
		strbuf_free(&value);
		return NULL;
	}
	return strbuf_detach(&value);
}

/* transport_lookup - the transport_maps entry of address (see qmgr_resolve.h for the keys). */
static enum dict_result transport_lookup(struct qmgr_resolver *r, const char *address,
					 struct strbuf *value, char **error_r)
{
	const char *domain = domain_of(address), *p;
	enum dict_result d;
	char *key;

	if (qmgr_maps_empty(r->transport_maps))
		return DICT_NOTFOUND;
	if ((d = qmgr_maps_lookup(r->transport_maps, address, value, error_r)) != DICT_NOTFOUND)
		return d;
	if ((key = unextended(r, address)) != NULL) {
		d = qmgr_maps_lookup(r->transport_maps, key, value, error_r);
		free(key);
		if (d != DICT_NOTFOUND)
			return d;
	}
	if (domain[0] != '\0' &&
	    (d = qmgr_maps_lookup(r->transport_maps, domain, value, error_r)) != DICT_NOTFOUND)
		return d;
	for (p = strchr(domain, '.'); p != NULL && domain[0] != '['; p = strchr(p + 1, '.')) {
		if ((d = qmgr_maps_lookup(r->transport_maps, p, value, error_r)) != DICT_NOTFOUND)
			return d;
	}
	return qmgr_maps_lookup(r->transport_maps, "*", value, error_r);
}

/* apply_transport_maps - replace the halves of the route that transport_maps gives. */
static int apply_transport_maps(struct qmgr_resolver *r, struct qmgr_leaf *leaf,
				struct qmgr_resolution *res)
{
	struct strbuf value = STRBUF_INIT;
	char *err = NULL, *t, *n;
	enum dict_result d;

	d = transport_lookup(r, leaf->address, &value, &err);
	if (d == DICT_ERROR) {
		verdict(res, QMGR_DEFER, "4.3.0", "%s", err);
		free(err);
		strbuf_free(&value);
		return -1;
	}
	if (d == DICT_FOUND) {
		qmgr_transport_split(strbuf_str(&value), &t, &n);
		if (t[0] != '\0') {
			free(leaf->transport);
			leaf->transport = t;
		} else {
			free(t);
		}
		/* for error and retry the next hop is the reason: never inherited */
		if (n[0] != '\0' || strcmp(leaf->transport, "error") == 0 ||
		    strcmp(leaf->transport, "retry") == 0) {
			free(leaf->nexthop);
			leaf->nexthop = n;
		} else {
			free(n);
		}
	}
	strbuf_free(&value);
	return 0;
}

/* special - the transports "error" and "retry": a verdict instead of a delivery. */
static int special(const struct qmgr_leaf *leaf, struct qmgr_resolution *res)
{
	const char *text = leaf->nexthop;
	char dsn[16] = "";
	int len = 0;

	if (strcmp(leaf->transport, "error") != 0 && strcmp(leaf->transport, "retry") != 0)
		return 0;
	if (sscanf(text, "%*1[245].%*3[0-9].%*3[0-9]%n", &len) >= 0 && len > 0 &&
	    (text[len] == ' ' || text[len] == '\0')) {
		snprintf(dsn, sizeof(dsn), "%.*s", len, text);
		text += len + (text[len] == ' ');
	}
	if (strcmp(leaf->transport, "error") == 0)
		verdict(res, QMGR_BOUNCE, dsn[0] == '5' ? dsn : "5.0.0", "%s",
			text[0] != '\0' ? text : "delivery refused by transport_maps");
	else
		verdict(res, QMGR_DEFER, dsn[0] == '4' ? dsn : "4.0.0", "%s",
			text[0] != '\0' ? text : "delivery deferred by transport_maps");
	return -1;
}

/* route - find the transport and next hop of leaf->address (local: 1, 0, or -1 unknown). */
static int route(struct qmgr_resolver *r, const char *sender, struct qmgr_leaf *leaf, int local,
		 struct qmgr_resolution *res)
{
	const char *domain = domain_of(leaf->address), *base;
	char *relay = NULL;
	int error = 0;

	if (local < 0 && (local = is_local(r, leaf->address, res)) < 0)
		return -1;
	if (local)
		base = r->local_transport;
	else if (list_match(r->relay_domains, domain, 1))
		base = r->relay_transport;
	else
		base = r->default_transport;
	qmgr_transport_split(base, &leaf->transport, &leaf->nexthop);
	if (leaf->nexthop[0] == '\0') {
		free(leaf->nexthop);
		if (base == r->default_transport &&
		    (relay = relay_for(r, sender, res, &error)) != NULL)
			leaf->nexthop = relay;
		else if (base == r->default_transport && r->relayhost[0] != '\0')
			leaf->nexthop = xstrdup(r->relayhost);
		else
			leaf->nexthop = xstrdup(domain);
		if (error)
			return -1;
	}
	if (apply_transport_maps(r, leaf, res) < 0 || special(leaf, res) < 0)
		return -1;
	if (leaf->transport[0] == '\0' || leaf->nexthop[0] == '\0') {
		verdict(res, QMGR_DEFER, "4.3.5", "no transport or next hop for %s (check %s)",
			leaf->address, local ? "local_transport" : "default_transport");
		return -1;
	}
	return 0;
}

/* ---- the whole ---- */

/* finish - turn the expansion's results into the resolution. */
static void finish(struct qmgr_resolver *r, const char *sender, struct expand *x,
		   struct qmgr_resolution *res)
{
	size_t i;

	if (x->count == 0) {
		verdict(res, QMGR_BOUNCE, "5.1.1", "alias expansion gives no address");
		return;
	}
	res->leaves = xcalloc(x->count, sizeof(*res->leaves));
	res->count = x->count;
	for (i = 0; i < x->count; i++)
		res->leaves[i].address = xstrdup(x->found[i].address);
	if (x->count > 1) {
		res->verdict = QMGR_SPLIT;
		return;
	}
	res->verdict = QMGR_DELIVER;
	if (route(r, sender, &res->leaves[0], x->found[0].local, res) < 0) {
		enum qmgr_verdict v = res->verdict;
		char *text = res->text;
		char dsn[16];

		memcpy(dsn, res->dsn, sizeof(dsn));
		res->text = NULL;
		qmgr_resolution_free(res);
		res->verdict = v;
		res->text = text;
		memcpy(res->dsn, dsn, sizeof(dsn));
	}
}

void qmgr_resolve(struct qmgr_resolver *r, const char *sender, const char *rcpt, bool final,
		  struct qmgr_resolution *res)
{
	struct expand virt = {.r = r, .res = res}, dir = {.r = r, .res = res};
	char *address = qualify(r, rcpt);
	int failed;

	memset(res, 0, sizeof(*res));
	if (final) {
		failed = add_found(&dir, address, -1);
	} else {
		failed = expand_virtual(&virt, address) < 0 || expand_directory(&virt, &dir) < 0;
	}
	if (!failed)
		finish(r, sender, &dir, res);
	free_found(&virt);
	free_found(&dir);
	free(address);
}
