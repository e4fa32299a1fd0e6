/*
 * smtp_resolve - from a next hop to the server addresses to try, in order
 * (RFC 5321 section 5.1): MX records by preference, equal preferences in
 * random order, each host's AAAA and A records as inet_protocols and
 * smtp_address_preference say; a domain without MX records is its own
 * mail server; a null MX (RFC 7505) refuses mail; MX hosts not better than
 * this machine are dropped (and mail that would come back is refused).
 * "[host]" and "[host]:port" skip the MX lookup, "unix:/path" is a socket.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "smtp/smtp.h"
#include "util/dns.h"
#include "util/mymalloc.h"
#include "util/sock.h"

#define SMTP_PORT 25
#define LMTP_PORT 24

/* The list being built. */
struct dest_list {
	struct smtp_dest *d;
	size_t n, cap, limit;
	bool tempfail;	  /* an address lookup failed for now */
	char *last_error; /* of the last address lookup that found nothing */
};

void smtp_failure_set(struct smtp_failure *f, int status, const char *dsn, const char *fmt, ...)
{
	va_list ap;

	smtp_failure_free(f);
	f->status = status;
	snprintf(f->dsn, sizeof(f->dsn), "%s", dsn);
	va_start(ap, fmt);
	f->text = xvasprintf(fmt, ap);
	va_end(ap);
}

void smtp_failure_free(struct smtp_failure *f)
{
	free(f->text);
	free(f->cmd);
	memset(f, 0, sizeof(*f));
}

void smtp_dests_free(struct smtp_dest *dests, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		free(dests[i].host);
		free(dests[i].ip);
	}
	free(dests);
}

/* parse_port - 1..65535, or -1. */
static int parse_port(const char *s)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	return *end == '\0' && v >= 1 && v <= 65535 ? (int)v : -1;
}

int smtp_nexthop_split(const char *nexthop, bool lmtp, char **host_r, int *port_r, bool *mx_r,
		       bool *unix_r)
{
	const char *close, *colon;

	*port_r = 0;
	*mx_r = *unix_r = false;
	*host_r = NULL;
	if (strncmp(nexthop, "unix:", 5) == 0) {
		if (nexthop[5] != '/' ||
		    strlen(nexthop + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return -1;
		*unix_r = true;
		*host_r = xstrdup(nexthop + 5);
		return 0;
	}
	if (nexthop[0] == '[') {
		if ((close = strchr(nexthop, ']')) == NULL || close == nexthop + 1)
			return -1;
		if (close[1] == ':' && (*port_r = parse_port(close + 2)) < 0)
			return -1;
		if (close[1] != '\0' && close[1] != ':')
			return -1;
		const char *h = nexthop + 1;
		if (strncasecmp(h, "ipv6:", 5) == 0)
			h += 5;
		*host_r = xstrndup(h, (size_t)(close - h));
		return 0;
	}
	if ((colon = strchr(nexthop, ':')) != NULL) {
		if ((*port_r = parse_port(colon + 1)) < 0 || colon == nexthop)
			return -1;
		*host_r = xstrndup(nexthop, (size_t)(colon - nexthop));
	} else {
		if (nexthop[0] == '\0')
			return -1;
		*host_r = xstrdup(nexthop);
	}
	*mx_r = !lmtp;
	return 0;
}

/* add_dest - one address of host; false when the limit is reached. */
static bool add_dest(struct dest_list *l, const char *host, int family, const void *addr, int port)
{
	struct smtp_dest *d;
	char ip[INET6_ADDRSTRLEN];

	if (l->limit > 0 && l->n >= l->limit)
		return false;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->d = xreallocarray(l->d, l->cap, sizeof(*l->d));
	}
	d = &l->d[l->n++];
	memset(d, 0, sizeof(*d));
	d->host = xstrdup(host);
	d->port = port;
	inet_ntop(family, addr, ip, sizeof(ip));
	d->ip = xstrdup(ip);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&d->sa;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, addr, 4);
		d->salen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&d->sa;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, addr, 16);
		d->salen = sizeof(*sin6);
	}
	return true;
}

/* lookup_family - the host's records of one address type into l. */
static void lookup_family(struct smtp_agent *a, struct dest_list *l, const char *host,
			  uint16_t type, int port)
{
	struct dns_reply reply;
	char *err = NULL;
	size_t i;

	switch (dns_lookup(a->dns, host, type, &reply, &err)) {
	case DNS_OK:
		for (i = 0; i < reply.count; i++)
			if (!add_dest(l, host, reply.rr[i].family, reply.rr[i].addr, port))
				break;
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		free(l->last_error);
		l->last_error = xasprintf("Name service error for name=%s type=%s: Host not found",
					  host, type == DNS_T_A ? "A" : "AAAA");
		break;
	default:
		l->tempfail = true;
		free(l->last_error);
		l->last_error =
		    xasprintf("Name service error for name=%s type=%s: Host not found, try again "
			      "(%s)",
			      host, type == DNS_T_A ? "A" : "AAAA", err);
		break;
	}
	free(err);
	dns_reply_free(&reply);
}

/* add_host - the addresses of host, in the preferred order of IP versions. */
static void add_host(struct smtp_agent *a, struct dest_list *l, const char *host, int port)
{
	bool v6_first = a->addr_pref == SMTP_PREF_IPV6 ||
			(a->addr_pref == SMTP_PREF_ANY && arc4random_uniform(2) == 1);
	unsigned char addr[16];

	if (inet_pton(AF_INET, host, addr) == 1) {
		if (a->use_v4)
			add_dest(l, host, AF_INET, addr, port);
		return;
	}
	if (inet_pton(AF_INET6, host, addr) == 1) {
		if (a->use_v6)
			add_dest(l, host, AF_INET6, addr, port);
		return;
	}
	if (v6_first && a->use_v6)
		lookup_family(a, l, host, DNS_T_AAAA, port);
	if (a->use_v4)
		lookup_family(a, l, host, DNS_T_A, port);
	if (!v6_first && a->use_v6)
		lookup_family(a, l, host, DNS_T_AAAA, port);
}

/* no_address - the failure when no host gave an address. */
static void no_address(struct dest_list *l, const char *domain, struct smtp_failure *fail)
{
	if (l->tempfail)
		smtp_failure_set(fail, 4, "4.4.3", "Host or domain name not found. %s",
				 l->last_error);
	else if (l->last_error != NULL)
		smtp_failure_set(fail, 5, "5.4.4", "Host or domain name not found. %s",
				 l->last_error);
	else
		smtp_failure_set(fail, 5, "5.4.4", "no usable address for %s (inet_protocols)",
				 domain);
}

/*
 * drop_self - move the MX hosts better than this machine to the front, in
 * order; *usable_r of them. False when none is left.
 */
static bool drop_self(struct smtp_agent *a, struct dns_reply *mx, size_t *usable_r)
{
	size_t i, keep = 0;
	int self = -1;

	for (i = 0; i < mx->count; i++)
		if (dns_name_equal(mx->rr[i].target, a->myhostname) &&
		    (self < 0 || mx->rr[i].pref < self))
			self = mx->rr[i].pref;
	*usable_r = mx->count;
	if (self < 0)
		return true;
	for (i = 0; i < mx->count; i++) {
		if (mx->rr[i].pref < self) {
			struct dns_rr tmp = mx->rr[keep];
			mx->rr[keep++] = mx->rr[i];
			mx->rr[i] = tmp;
		}
	}
	*usable_r = keep;
	return keep > 0;
}

/* resolve_mx - the MX hosts of domain, in order, and their addresses. */
static int resolve_mx(struct smtp_agent *a, const char *domain, int port, struct dest_list *l,
		      struct smtp_failure *fail)
{
	struct dns_reply mx;
	char *err = NULL;
	size_t i, usable;
	enum dns_status st = dns_lookup(a->dns, domain, DNS_T_MX, &mx, &err);

	if (st == DNS_TEMPFAIL || st == DNS_BADNAME || st == DNS_NXDOMAIN) {
		smtp_failure_set(fail, st == DNS_TEMPFAIL ? 4 : 5,
				 st == DNS_TEMPFAIL ? "4.4.3" : "5.4.4",
				 "Host or domain name not found. Name service error for name=%s "
				 "type=MX: Host not found%s%s%s",
				 domain, st == DNS_TEMPFAIL ? ", try again" : "", err ? ": " : "",
				 err ? err : "");
		free(err);
		dns_reply_free(&mx);
		return -1;
	}
	if (st == DNS_NODATA) { /* the domain is its own mail server */
		dns_reply_free(&mx);
		add_host(a, l, domain, port);
		if (l->n > 0)
			return 0;
		no_address(l, domain, fail);
		return -1;
	}
	if (mx.count == 1 && mx.rr[0].target[0] == '\0') {
		smtp_failure_set(fail, 5, "5.1.10", "Domain %s does not accept mail (nullMX)",
				 domain);
		dns_reply_free(&mx);
		return -1;
	}
	dns_mx_sort(mx.rr, mx.count);
	if (!drop_self(a, &mx, &usable)) {
		smtp_failure_set(fail, 5, "5.4.6", "mail for %s loops back to myself", domain);
		dns_reply_free(&mx);
		return -1;
	}
	for (i = 0; i < usable && (l->limit == 0 || l->n < l->limit); i++) {
		if (mx.rr[i].target[0] == '\0') /* a null MX among others: malformed, skipped */
			continue;
		add_host(a, l, mx.rr[i].target, port);
	}
	dns_reply_free(&mx);
	if (l->n > 0)
		return 0;
	no_address(l, domain, fail);
	return -1;
}

int smtp_resolve(struct smtp_agent *a, const char *nexthop, struct smtp_dest **dests_r,
		 size_t *count_r, struct smtp_failure *fail)
{
	struct dest_list l = {.limit = (size_t)a->mx_address_limit};
	char *host = NULL;
	bool mx, is_unix;
	int port, ret = 0;

	if (smtp_nexthop_split(nexthop, a->lmtp, &host, &port, &mx, &is_unix) < 0) {
		free(host);
		smtp_failure_set(fail, 4, "4.3.5", "bad next hop \"%s\"", nexthop);
		return -1;
	}
	if (is_unix) {
		l.d = xcalloc(1, sizeof(*l.d));
		l.d[0].host = xstrdup("localhost");
		l.d[0].ip = host;
		l.n = 1;
		*dests_r = l.d;
		*count_r = 1;
		return 0;
	}
	if (port == 0)
		port = a->lmtp ? LMTP_PORT : SMTP_PORT;
	if (mx) {
		ret = resolve_mx(a, host, port, &l, fail);
	} else {
		add_host(a, &l, host, port);
		if (l.n == 0) {
			no_address(&l, host, fail);
			ret = -1;
		}
	}
	free(host);
	free(l.last_error);
	if (ret < 0) {
		smtp_dests_free(l.d, l.n);
		return -1;
	}
	*dests_r = l.d;
	*count_r = l.n;
	return 0;
}
