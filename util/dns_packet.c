/*
 * dns_packet - DNS messages on the wire (RFC 1035 section 4, RFC 6891 for
 * the OPT record): building queries and checking and decoding answers.
 * No I/O here: the exchange layers (synchronous now, event-driven later)
 * hand packets in and out.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/dns.h"
#include "util/dns_impl.h"
#include "util/mymalloc.h"

#define RR_FIXED 10	/* type, class, TTL, RDLENGTH */
#define RR_MIN (1 + 10) /* the root name and the fixed part */
#define OPCODE_MASK 0x7800u

static void put16(struct strbuf *out, unsigned v)
{
	strbuf_putc(out, (int)((v >> 8) & 0xff));
	strbuf_putc(out, (int)(v & 0xff));
}

int dns_query_build(struct strbuf *out, uint16_t id, const char *name, uint16_t type,
		    unsigned flags, char **error_r)
{
	size_t start = out->len;

	put16(out, id);
	put16(out, DNS_FLAG_RD);
	put16(out, 1);				      /* QDCOUNT */
	put16(out, 0);				      /* ANCOUNT */
	put16(out, 0);				      /* NSCOUNT */
	put16(out, (flags & DNS_QUERY_EDNS) ? 1 : 0); /* ARCOUNT */
	if (dns_name_to_wire(out, name, error_r) < 0) {
		strbuf_truncate(out, start);
		return -1;
	}
	put16(out, type);
	put16(out, DNS_C_IN);
	if (flags & DNS_QUERY_EDNS) {
		strbuf_putc(out, 0); /* root owner */
		put16(out, DNS_T_OPT);
		put16(out, DNS_UDP_PAYLOAD);			  /* class: payload size */
		put16(out, 0);					  /* extended RCODE, version */
		put16(out, (flags & DNS_QUERY_DO) ? 0x8000u : 0); /* DO bit */
		put16(out, 0);					  /* RDLENGTH */
	}
	return 0;
}

void dns_rr_clear(struct dns_rr *rr)
{
	free(rr->name);
	free(rr->target);
	free(rr->data);
	memset(rr, 0, sizeof(*rr));
}

void dns_rr_copy(struct dns_rr *dst, const struct dns_rr *src)
{
	*dst = *src;
	dst->name = src->name ? xstrdup(src->name) : NULL;
	dst->target = src->target ? xstrdup(src->target) : NULL;
	if (src->data != NULL) {
		dst->data = xmalloc(src->len + 1);
		memcpy(dst->data, src->data, src->len);
		dst->data[src->len] = 0;
	}
}

void dns_msg_free(struct dns_msg *msg)
{
	size_t i;

	for (i = 0; i < msg->nanswer; i++)
		dns_rr_clear(&msg->answer[i]);
	free(msg->answer);
	free(msg->qname);
	memset(msg, 0, sizeof(*msg));
}

/* set_data - the record's data: a NUL-terminated copy of len bytes at p. */
static void set_data(struct dns_rr *rr, const unsigned char *p, size_t len)
{
	rr->data = xmalloc(len + 1);
	memcpy(rr->data, p, len);
	rr->data[len] = 0;
	rr->len = len;
}

/* rdata_name - a name that must fill the RDATA from *pos to end exactly. */
static int rdata_name(const unsigned char *pkt, size_t end, size_t pos, struct strbuf *tmp,
		      char **target_r, char **error_r)
{
	if (dns_name_read(pkt, end, &pos, tmp, error_r) < 0)
		return -1;
	if (pos != end) {
		*error_r = xasprintf("record data longer than its name at offset %zu", pos);
		return -1;
	}
	*target_r = xstrdup(strbuf_str(tmp));
	return 0;
}

/* rdata_txt - the character-strings of a TXT record, joined. */
static int rdata_txt(const unsigned char *p, size_t len, struct dns_rr *rr, char **error_r)
{
	struct strbuf joined = STRBUF_INIT;
	size_t i = 0;

	if (len == 0) {
		*error_r = xstrdup("empty TXT record data");
		return -1;
	}
	while (i < len) {
		size_t n = p[i];
		if (i + 1 + n > len) {
			strbuf_free(&joined);
			*error_r = xstrdup("TXT string runs past its record");
			return -1;
		}
		strbuf_append(&joined, p + i + 1, n);
		rr->strings++;
		i += 1 + n;
	}
	set_data(rr, (const unsigned char *)strbuf_str(&joined), joined.len);
	strbuf_free(&joined);
	return 0;
}

/*
 * rdata_parse - decode the RDATA of rr (rdlen bytes at pos; the packet ends
 * at pkt_len: names in RDATA may point anywhere before them).
 */
static int rdata_parse(const unsigned char *pkt, size_t pos, size_t rdlen, struct dns_rr *rr,
		       struct strbuf *tmp, char **error_r)
{
	const unsigned char *p = pkt + pos;
	size_t end = pos + rdlen;

	switch (rr->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		if (rdlen != (rr->type == DNS_T_A ? 4u : 16u)) {
			*error_r = xasprintf("address record of %zu bytes", rdlen);
			return -1;
		}
		rr->family = rr->type == DNS_T_A ? AF_INET : AF_INET6;
		memcpy(rr->addr, p, rdlen);
		return 0;
	case DNS_T_MX:
		if (rdlen < 3) {
			*error_r = xstrdup("MX record too short");
			return -1;
		}
		rr->pref = dns_get16(p);
		return rdata_name(pkt, end, pos + 2, tmp, &rr->target, error_r);
	case DNS_T_CNAME:
	case DNS_T_PTR:
	case DNS_T_NS:
		return rdata_name(pkt, end, pos, tmp, &rr->target, error_r);
	case DNS_T_TXT:
		return rdata_txt(p, rdlen, rr, error_r);
	case DNS_T_TLSA:
		if (rdlen < 3) {
			*error_r = xstrdup("TLSA record too short");
			return -1;
		}
		rr->tlsa_usage = p[0];
		rr->tlsa_selector = p[1];
		rr->tlsa_mtype = p[2];
		set_data(rr, p + 3, rdlen - 3);
		return 0;
	default:
		set_data(rr, p, rdlen);
		return 0;
	}
}

/*
 * parse_rr - the record at *pos; decoded into rr when rr is not NULL, else
 * only checked (its owner name and bounds). *type_r gets its type.
 */
static int parse_rr(const unsigned char *pkt, size_t len, size_t *pos, struct dns_rr *rr,
		    uint16_t *type_r, struct strbuf *tmp, char **error_r)
{
	size_t at = *pos, rdlen;
	uint32_t ttl;

	if (dns_name_read(pkt, len, pos, tmp, error_r) < 0)
		return -1;
	if (len - *pos < RR_FIXED) {
		*error_r = xasprintf("record at offset %zu truncated", at);
		return -1;
	}
	*type_r = dns_get16(pkt + *pos);
	ttl = dns_get32(pkt + *pos + 4);
	rdlen = dns_get16(pkt + *pos + 8);
	*pos += RR_FIXED;
	if (len - *pos < rdlen) {
		*error_r = xasprintf("record data at offset %zu runs past the end", *pos);
		return -1;
	}
	if (rr != NULL) {
		rr->name = xstrdup(strbuf_str(tmp));
		rr->type = *type_r;
		rr->rclass = dns_get16(pkt + *pos - 8);
		rr->ttl = ttl > 0x7fffffffu ? 0 : ttl; /* RFC 2181 section 8 */
		if (rdata_parse(pkt, *pos, rdlen, rr, tmp, error_r) < 0)
			return -1;
	} else if (*type_r == DNS_T_OPT && tmp->len != 0) {
		*error_r = xstrdup("OPT record with an owner name");
		return -1;
	}
	*pos += rdlen;
	return 0;
}

/* parse_header - the header and the question. */
static int parse_header(const unsigned char *pkt, size_t len, size_t *pos, struct dns_msg *msg,
			size_t counts[3], struct strbuf *tmp, char **error_r)
{
	uint16_t flags;

	if (len < DNS_HEADER_LEN) {
		*error_r = xasprintf("message of %zu bytes is shorter than a header", len);
		return -1;
	}
	msg->id = dns_get16(pkt);
	flags = dns_get16(pkt + 2);
	msg->flags = flags & 0xfff0u;
	msg->rcode = flags & 0x000f;
	if (!(flags & DNS_FLAG_QR) || (flags & OPCODE_MASK) != 0) {
		*error_r = xstrdup("not a response to a standard query");
		return -1;
	}
	if (dns_get16(pkt + 4) != 1) {
		*error_r = xasprintf("response with %u questions", dns_get16(pkt + 4));
		return -1;
	}
	counts[0] = dns_get16(pkt + 6);
	counts[1] = dns_get16(pkt + 8);
	counts[2] = dns_get16(pkt + 10);
	*pos = DNS_HEADER_LEN;
	if (dns_name_read(pkt, len, pos, tmp, error_r) < 0)
		return -1;
	if (len - *pos < 4) {
		*error_r = xstrdup("question truncated");
		return -1;
	}
	msg->qname = xstrdup(strbuf_str(tmp));
	msg->qtype = dns_get16(pkt + *pos);
	msg->qclass = dns_get16(pkt + *pos + 2);
	*pos += 4;
	/* every record takes at least RR_MIN bytes: refuse counts the rest cannot hold */
	if ((counts[0] + counts[1] + counts[2]) * RR_MIN > len - *pos) {
		*error_r = xstrdup("record counts larger than the message");
		return -1;
	}
	return 0;
}

int dns_msg_parse(const void *packet, size_t len, struct dns_msg *msg, char **error_r)
{
	const unsigned char *pkt = packet;
	struct strbuf tmp = STRBUF_INIT;
	size_t pos, counts[3], i, opts = 0;
	uint16_t type;
	int ret = -1;

	memset(msg, 0, sizeof(*msg));
	if (parse_header(pkt, len, &pos, msg, counts, &tmp, error_r) < 0)
		goto out;
	msg->answer = xcalloc(counts[0] ? counts[0] : 1, sizeof(*msg->answer));
	for (i = 0; i < counts[0]; i++) {
		msg->nanswer = i + 1;
		if (parse_rr(pkt, len, &pos, &msg->answer[i], &type, &tmp, error_r) < 0)
			goto out;
		if (type == DNS_T_OPT) {
			*error_r = xstrdup("OPT record in the answer section");
			goto out;
		}
	}
	for (i = 0; i < counts[1] + counts[2]; i++) {
		if (parse_rr(pkt, len, &pos, NULL, &type, &tmp, error_r) < 0)
			goto out;
		if (type == DNS_T_OPT && (i < counts[1] || ++opts > 1)) {
			*error_r = xstrdup("misplaced or repeated OPT record");
			goto out;
		}
	}
	if (pos != len) {
		*error_r = xasprintf("%zu bytes after the last record", len - pos);
		goto out;
	}
	msg->nauthority = counts[1];
	msg->nadditional = counts[2];
	msg->edns = opts > 0;
	ret = 0;
out:
	strbuf_free(&tmp);
	return ret;
}

bool dns_msg_answers(const struct dns_msg *msg, uint16_t id, const char *name, uint16_t type)
{
	return msg->id == id && (msg->flags & DNS_FLAG_QR) && msg->qtype == type &&
	       msg->qclass == DNS_C_IN && msg->qname != NULL && dns_name_equal(msg->qname, name);
}
