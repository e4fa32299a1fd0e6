/*
 * dns - the lookup layer of the resolver: the resolver object (servers,
 * timeout, rounds), lookups that follow CNAME chains, MX ordering, and
 * names of types and codes for messages. See dns.h.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dns.h"
#include "util/dns_impl.h"
#include "util/mymalloc.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define LOOKUP_QUERIES 4 /* questions asked in one lookup when resolvers leave chains open */

struct dns_resolver {
	struct dns_server *servers;
	size_t nservers;
	int timeout_ms, rounds;
	unsigned flags;
};

struct dns_resolver *dns_resolver_create(const char *const *servers, int timeout_ms, int rounds,
					 char **error_r)
{
	struct dns_resolver *res = xcalloc(1, sizeof(*res));
	size_t n = 0;

	res->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	res->rounds = rounds > 0 ? rounds : 1;
	res->flags = DNS_QUERY_EDNS;
	while (servers != NULL && servers[n] != NULL)
		n++;
	if (n == 0) {
		if (dns_resolv_conf_servers(RESOLV_CONF, &res->servers, &res->nservers, error_r) <
		    0) {
			free(res);
			return NULL;
		}
		return res;
	}
	if (n > DNS_SERVERS_MAX)
		n = DNS_SERVERS_MAX;
	res->servers = xcalloc(n, sizeof(*res->servers));
	for (res->nservers = 0; res->nservers < n; res->nservers++) {
		if (dns_server_parse(servers[res->nservers], &res->servers[res->nservers],
				     error_r) < 0) {
			dns_resolver_free(&res);
			return NULL;
		}
	}
	return res;
}

void dns_resolver_free(struct dns_resolver **resp)
{
	struct dns_resolver *res = *resp;
	size_t i;

	if (res == NULL)
		return;
	for (i = 0; i < res->nservers; i++)
		dns_server_free(&res->servers[i]);
	free(res->servers);
	free(res);
	*resp = NULL;
}

void dns_resolver_set_flags(struct dns_resolver *res, unsigned flags)
{
	res->flags = flags;
}

void dns_reply_free(struct dns_reply *reply)
{
	size_t i;

	for (i = 0; i < reply->count; i++)
		dns_rr_clear(&reply->rr[i]);
	free(reply->rr);
	free(reply->qname);
	free(reply->canonical);
	memset(reply, 0, sizeof(*reply));
}

/* collect - copy the records of type owned by owner into reply; how many. */
static size_t collect(const struct dns_msg *msg, const char *owner, uint16_t type,
		      struct dns_reply *reply)
{
	size_t i, n = 0;

	for (i = 0; i < msg->nanswer; i++)
		if (msg->answer[i].type == type && msg->answer[i].rclass == DNS_C_IN &&
		    dns_name_equal(msg->answer[i].name, owner))
			n++;
	if (n == 0)
		return 0;
	reply->rr = xcalloc(n, sizeof(*reply->rr));
	for (i = 0; i < msg->nanswer; i++)
		if (msg->answer[i].type == type && msg->answer[i].rclass == DNS_C_IN &&
		    dns_name_equal(msg->answer[i].name, owner))
			dns_rr_copy(&reply->rr[reply->count++], &msg->answer[i]);
	return n;
}

/* cname_of - the target of owner's CNAME in msg, or NULL. */
static const char *cname_of(const struct dns_msg *msg, const char *owner)
{
	size_t i;

	for (i = 0; i < msg->nanswer; i++)
		if (msg->answer[i].type == DNS_T_CNAME && msg->answer[i].rclass == DNS_C_IN &&
		    dns_name_equal(msg->answer[i].name, owner))
			return msg->answer[i].target;
	return NULL;
}

enum dns_status dns_reply_from_msg(const struct dns_msg *msg, const char *name, uint16_t type,
				   struct dns_reply *reply, char **next_r, char **error_r)
{
	const char *cur = name, *target;
	int hops = 0;

	memset(reply, 0, sizeof(*reply));
	*next_r = NULL;
	for (;;) {
		if (collect(msg, cur, type, reply) > 0)
			break;
		if (type == DNS_T_CNAME || (target = cname_of(msg, cur)) == NULL)
			break;
		if (++hops > DNS_CNAME_MAX) {
			*error_r = xasprintf("%s: CNAME loop or chain longer than %d", name,
					     DNS_CNAME_MAX);
			return DNS_BADNAME;
		}
		cur = target;
	}
	reply->qname = xstrdup(name);
	reply->canonical = xstrdup(cur);
	reply->qtype = type;
	reply->authenticated = (msg->flags & DNS_FLAG_AD) != 0;
	if (reply->count > 0)
		return DNS_OK;
	if (msg->rcode == DNS_RCODE_NXDOMAIN)
		return DNS_NXDOMAIN;
	if (hops > 0)
		*next_r = xstrdup(cur);
	return DNS_NODATA;
}

/* merge - a later part of a lookup into its reply, keeping the first question. */
static void merge(struct dns_reply *reply, struct dns_reply *part, bool first)
{
	bool auth = first ? part->authenticated : reply->authenticated && part->authenticated;

	if (first) {
		*reply = *part;
		memset(part, 0, sizeof(*part));
		return;
	}
	free(reply->canonical);
	reply->canonical = part->canonical;
	part->canonical = NULL;
	reply->rr = part->rr;
	reply->count = part->count;
	reply->authenticated = auth;
	part->rr = NULL;
	part->count = 0;
	dns_reply_free(part);
}

enum dns_status dns_lookup(struct dns_resolver *res, const char *name, uint16_t type,
			   struct dns_reply *reply, char **error_r)
{
	struct dns_exchange_opts opts = {res->servers, res->nservers, res->timeout_ms, res->rounds,
					 res->flags};
	struct dns_reply part;
	struct dns_msg msg;
	enum dns_status st = DNS_NODATA;
	char *cur = xstrdup(name), *next = NULL;
	bool tcp = false, any_tcp = false;
	int q;

	memset(reply, 0, sizeof(*reply));
	for (q = 0; q < LOOKUP_QUERIES && cur != NULL; q++) {
		switch (dns_exchange(&opts, cur, type, &msg, &tcp, error_r)) {
		case DNS_EXCHANGE_OK:
			break;
		case DNS_EXCHANGE_BADNAME:
			st = DNS_BADNAME;
			goto fail;
		default:
			st = DNS_TEMPFAIL;
			goto fail;
		}
		any_tcp |= tcp;
		st = dns_reply_from_msg(&msg, cur, type, &part, &next, error_r);
		dns_msg_free(&msg);
		if (st == DNS_BADNAME)
			goto fail;
		merge(reply, &part, q == 0);
		free(cur);
		cur = next;
	}
	free(cur);
	reply->used_tcp = any_tcp;
	return st;
fail:
	free(cur);
	dns_reply_free(reply);
	return st;
}

void dns_mx_sort(struct dns_rr *rr, size_t count)
{
	struct dns_rr tmp;
	size_t i, j;

	for (i = count; i > 1; i--) { /* shuffle, then sort stably by preference */
		j = arc4random_uniform((uint32_t)i);
		tmp = rr[i - 1];
		rr[i - 1] = rr[j];
		rr[j] = tmp;
	}
	for (i = 1; i < count; i++) {
		tmp = rr[i];
		for (j = i; j > 0 && rr[j - 1].pref > tmp.pref; j--)
			rr[j] = rr[j - 1];
		rr[j] = tmp;
	}
}

const char *dns_type_name(uint16_t type, char buf[16])
{
	switch (type) {
	case DNS_T_A:
		return "A";
	case DNS_T_NS:
		return "NS";
	case DNS_T_CNAME:
		return "CNAME";
	case DNS_T_SOA:
		return "SOA";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_AAAA:
		return "AAAA";
	case DNS_T_TLSA:
		return "TLSA";
	default:
		snprintf(buf, 16, "TYPE%u", type);
		return buf;
	}
}

const char *dns_rcode_name(int rcode)
{
	static const char *const names[] = {"NOERROR",	"FORMERR", "SERVFAIL",
					    "NXDOMAIN", "NOTIMP",  "REFUSED"};

	return rcode >= 0 && rcode < 6 ? names[rcode] : "RCODE>5";
}

/* format_bytes - printable ASCII as is (but '\' and '"'), others as \DDD. */
static void format_bytes(struct strbuf *out, const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '"')
			strbuf_putc(out, p[i]);
		else
			strbuf_printf(out, "\\%03u", p[i]);
	}
}

static void format_hex(struct strbuf *out, const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		strbuf_printf(out, "%02x", p[i]);
}

void dns_rr_format(struct strbuf *out, const struct dns_rr *rr)
{
	char addr[64];

	if (rr->family != 0) {
		inet_ntop(rr->family, rr->addr, addr, sizeof(addr));
		strbuf_puts(out, addr);
	} else if (rr->type == DNS_T_MX) {
		strbuf_printf(out, "%u %s", rr->pref, rr->target[0] ? rr->target : ".");
	} else if (rr->target != NULL) {
		strbuf_puts(out, rr->target[0] ? rr->target : ".");
	} else if (rr->type == DNS_T_TXT) {
		format_bytes(out, rr->data, rr->len);
	} else if (rr->type == DNS_T_TLSA) {
		strbuf_printf(out, "%u %u %u ", rr->tlsa_usage, rr->tlsa_selector, rr->tlsa_mtype);
		format_hex(out, rr->data, rr->len);
	} else {
		format_hex(out, rr->data, rr->len);
	}
}
