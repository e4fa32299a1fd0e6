/*
 * dns - Tern's own DNS stub resolver: every DNS lookup of every program
 * (MX and address lookups of the smtp client; later SPF, DKIM, DMARC,
 * TLSA, DNSBL and MTA-STS) goes through it.
 *
 * It builds queries and parses answers itself (RFC 1035, RFC 3596 for
 * AAAA, RFC 6698 for TLSA), asks recursive resolvers over UDP, repeats a
 * question over TCP when the UDP answer is truncated, and follows CNAME
 * chains. The resolvers are given as a list of "address" or
 * "address:port" strings ("127.0.0.1:5353", "[::1]:53", "::1"), or, when
 * the list is empty, taken from the nameserver lines of /etc/resolv.conf.
 * Only numeric addresses are accepted: a resolver's own name cannot be
 * looked up without a resolver.
 *
 * Layers, each usable on its own:
 *  - wire: dns_query_build() makes a query packet; dns_msg_parse() checks
 *    and decodes an answer packet with strict bounds (no read outside the
 *    packet, compression pointers only backwards, names at most 255 bytes,
 *    record data exactly as long as its type says); dns_msg_answers()
 *    checks that an answer belongs to a question. These do no I/O.
 *  - exchange: dns_exchange() sends one question to the servers in turn,
 *    with a timeout per try and a number of rounds, and returns the first
 *    usable answer (synchronous, with poll(2)).
 *  - lookup: dns_lookup() asks for a name and type, follows CNAMEs and
 *    returns the records of the type with the lookup's outcome.
 * An event-loop variant needs only a new exchange layer: the wire layer is
 * free of I/O and the lookup layer's CNAME logic works on parsed messages
 * (dns_reply_from_msg()).
 *
 * Names are given and returned as text without the trailing dot, ASCII
 * letters folded to lower case, bytes other than letters, digits, '-' and
 * '_' (and '.' inside a label) written as "\DDD" (decimal). The root is
 * "" (the target of a null MX, RFC 7505).
 *
 * Errors: functions returning int give 0 on success and -1 on failure with
 * *error_r set to a malloc'd message (caller frees).
 */
#ifndef TERN_DNS_H
#define TERN_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/strbuf.h"

/* Record types and the one class. */
#define DNS_T_A 1
#define DNS_T_NS 2
#define DNS_T_CNAME 5
#define DNS_T_SOA 6
#define DNS_T_PTR 12
#define DNS_T_MX 15
#define DNS_T_TXT 16
#define DNS_T_AAAA 28
#define DNS_T_OPT 41
#define DNS_T_TLSA 52
#define DNS_C_IN 1

/* Response codes (the header's RCODE). */
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5

/* Header flag bits (the 16 bits after the ID). */
#define DNS_FLAG_QR 0x8000u
#define DNS_FLAG_AA 0x0400u
#define DNS_FLAG_TC 0x0200u
#define DNS_FLAG_RD 0x0100u
#define DNS_FLAG_RA 0x0080u
#define DNS_FLAG_AD 0x0020u
#define DNS_FLAG_CD 0x0010u

#define DNS_HEADER_LEN 12
#define DNS_NAME_WIRE_MAX 255	 /* bytes of a name in wire form */
#define DNS_LABEL_MAX 63	 /* bytes of one label */
#define DNS_NAME_TEXT_MAX 1020	 /* bytes of a name as text, all "\DDD" escapes */
#define DNS_UDP_PAYLOAD 1232	 /* EDNS0 payload size we announce (RFC 9715 advice) */
#define DNS_PACKET_MAX 65535	 /* the largest message (TCP length prefix) */
#define DNS_CNAME_MAX 8		 /* CNAMEs followed in one lookup */
#define DNS_SERVERS_MAX 8	 /* servers used from a list or resolv.conf */
#define DNS_COMPRESSION_HOPS 127 /* pointers followed in one name */

/* dns_query_build() flags. */
#define DNS_QUERY_EDNS 0x1u /* add an OPT record announcing DNS_UDP_PAYLOAD */
#define DNS_QUERY_DO 0x2u   /* with EDNS: set the DNSSEC OK bit (for the AD bit of answers) */

/* One resource record. Strings and data are owned by the record's message or reply. */
struct dns_rr {
	char *name;    /* owner */
	uint16_t type; /* DNS_T_* (or any other number) */
	uint16_t rclass;
	uint32_t ttl;
	uint16_t pref; /* MX: preference */
	char *target;  /* MX exchange, CNAME, PTR, NS target; NULL for other types */
	int family;    /* A: AF_INET, AAAA: AF_INET6, else 0 */
	unsigned char addr[16];
	/* TLSA: the three numbers, then the association data in data/len */
	uint8_t tlsa_usage, tlsa_selector, tlsa_mtype;
	/*
	 * TXT: the character-strings joined (NUL-terminated, may hold NULs of
	 * its own), their number in strings; TLSA: the association data; other
	 * types without a field above: the raw RDATA.
	 */
	unsigned char *data;
	size_t len;
	size_t strings;
};

/* A parsed message. */
struct dns_msg {
	uint16_t id;
	uint16_t flags; /* DNS_FLAG_* bits and the opcode, without the RCODE */
	int rcode;	/* DNS_RCODE_* (the header's 4 bits) */
	char *qname;	/* the question */
	uint16_t qtype, qclass;
	struct dns_rr *answer; /* the answer section, in packet order */
	size_t nanswer;
	size_t nauthority, nadditional; /* records in the other sections (checked, not kept) */
	bool edns;			/* an OPT record was present */
};

/*
 * dns_name_to_wire - append the wire form of the text name to out (escapes
 * "\DDD" and "\X" allowed; a trailing dot is allowed; "" and "." are the
 * root). Fails for an empty label, a label over 63 bytes or a name over
 * 255 bytes.
 */
int dns_name_to_wire(struct strbuf *out, const char *name, char **error_r);

/* dns_name_equal - whether two text names are the same (ASCII case ignored). */
bool dns_name_equal(const char *a, const char *b);

/*
 * dns_query_build - append a query for name, type (class IN) with the
 * given ID to out: recursion desired, plus EDNS as flags say.
 */
int dns_query_build(struct strbuf *out, uint16_t id, const char *name, uint16_t type,
		    unsigned flags, char **error_r);

/*
 * dns_msg_parse - check and decode the len bytes at packet into *msg
 * (free with dns_msg_free(), also after an error). Exactly one question is
 * required; every record of every section is checked; the records of the
 * answer section are decoded into msg->answer. Data after the last record
 * is an error.
 */
int dns_msg_parse(const void *packet, size_t len, struct dns_msg *msg, char **error_r);
void dns_msg_free(struct dns_msg *msg);

/* dns_msg_answers - whether msg is a response to the query id, name, type (class IN). */
bool dns_msg_answers(const struct dns_msg *msg, uint16_t id, const char *name, uint16_t type);

/* ---- servers and the exchange ---- */

struct dns_server {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char *text; /* "[address]:port", for messages */
};

/*
 * dns_server_parse - "192.0.2.1", "192.0.2.1:5353", "2001:db8::1",
 * "[2001:db8::1]", "[2001:db8::1]:5353" (default port 53) into *server
 * (free its text with dns_server_free()).
 */
int dns_server_parse(const char *text, struct dns_server *server, char **error_r);
void dns_server_free(struct dns_server *server);

/*
 * dns_resolv_conf_servers - the nameserver lines of the resolv.conf file
 * at path (at most DNS_SERVERS_MAX); none (or no file) gives 127.0.0.1, as
 * with the C library. *servers_r is malloc'd, *count_r >= 1.
 */
int dns_resolv_conf_servers(const char *path, struct dns_server **servers_r, size_t *count_r,
			    char **error_r);

/* How a question goes to the servers. */
struct dns_exchange_opts {
	const struct dns_server *servers;
	size_t nservers;
	int timeout_ms; /* per try: one server, one round */
	int rounds;	/* times the list of servers is tried (>= 1) */
	unsigned flags; /* DNS_QUERY_* */
};

/* The outcome of dns_exchange(). */
enum dns_exchange_status {
	DNS_EXCHANGE_OK = 0,	   /* *msg holds an answer with RCODE NOERROR or NXDOMAIN */
	DNS_EXCHANGE_ERROR = -1,   /* no usable answer (timeouts, SERVFAIL, REFUSED, ...) */
	DNS_EXCHANGE_BADNAME = -2, /* the name cannot be asked for */
};

/*
 * dns_exchange - ask the question (name, type) and return the first answer
 * with RCODE NOERROR or NXDOMAIN in *msg (free with dns_msg_free()). Each
 * server gets one try per round: a UDP query, waiting up to timeout_ms for
 * a matching answer (packets that do not come from the server or do not
 * answer the question are ignored); a truncated answer is asked again over
 * TCP within the same time. SERVFAIL, REFUSED, FORMERR, NOTIMP and
 * malformed answers move on to the next server. *error_r names the last
 * problem. *used_tcp_r (may be NULL) tells whether TCP gave the answer.
 */
enum dns_exchange_status dns_exchange(const struct dns_exchange_opts *opts, const char *name,
				      uint16_t type, struct dns_msg *msg, bool *used_tcp_r,
				      char **error_r);

/* ---- lookups ---- */

/* The outcome of a lookup. */
enum dns_status {
	DNS_OK = 0,	   /* records of the type were found */
	DNS_NXDOMAIN = 1,  /* the name does not exist */
	DNS_NODATA = 2,	   /* the name exists without records of the type */
	DNS_TEMPFAIL = -1, /* no answer now (timeouts, SERVFAIL...): try again later; *error_r */
	DNS_BADNAME = -2,  /* the name is not valid (or a CNAME loop): do not retry; *error_r */
};

/* A lookup's result: the records of the asked type, owned by the reply. */
struct dns_reply {
	char *qname;	 /* the name asked for */
	char *canonical; /* the name at the end of the CNAME chain (qname without one) */
	uint16_t qtype;
	struct dns_rr *rr; /* records of qtype owned by canonical, in answer order */
	size_t count;
	bool authenticated; /* the resolver set AD on every answer used */
	bool used_tcp;
};

struct dns_resolver;

/*
 * dns_resolver_create - a resolver asking the servers of the list (NULL or
 * empty: those of /etc/resolv.conf), with timeout_ms per try and rounds
 * tries of the whole list.
 */
struct dns_resolver *dns_resolver_create(const char *const *servers, int timeout_ms, int rounds,
					 char **error_r);
void dns_resolver_free(struct dns_resolver **res);
/* dns_resolver_set_flags - DNS_QUERY_* flags of later queries (default: DNS_QUERY_EDNS). */
void dns_resolver_set_flags(struct dns_resolver *res, unsigned flags);

/*
 * dns_lookup - the records of type for name, following CNAMEs (unless
 * type is CNAME) up to DNS_CNAME_MAX. On DNS_OK, NXDOMAIN and NODATA
 * *reply is filled (free with dns_reply_free()); on the errors it is
 * empty and *error_r is set.
 */
enum dns_status dns_lookup(struct dns_resolver *res, const char *name, uint16_t type,
			   struct dns_reply *reply, char **error_r);

/*
 * dns_reply_from_msg - the part of dns_lookup() that needs no I/O: take
 * from msg (the answer to a question about name) the records of type,
 * following the CNAME chain inside msg. Returns DNS_OK, DNS_NXDOMAIN or
 * DNS_NODATA with *reply filled; *next_r is set to a malloc'd name when
 * the chain leaves the answer unfinished (a CNAME whose target the answer
 * says nothing about: ask again for that name), NULL otherwise; a CNAME
 * loop is DNS_BADNAME with *error_r.
 */
enum dns_status dns_reply_from_msg(const struct dns_msg *msg, const char *name, uint16_t type,
				   struct dns_reply *reply, char **next_r, char **error_r);

void dns_reply_free(struct dns_reply *reply);

/*
 * dns_mx_sort - order MX records by preference, putting records of equal
 * preference in random order (RFC 5321 section 5.1).
 */
void dns_mx_sort(struct dns_rr *rr, size_t count);

/* dns_type_name - "MX", "AAAA"... or "TYPE<n>" (static or in buf, which has 16 bytes). */
const char *dns_type_name(uint16_t type, char buf[16]);
/* dns_rcode_name - "NOERROR", "SERVFAIL"... (static). */
const char *dns_rcode_name(int rcode);

/*
 * dns_rr_format - append a record's data as text to out: an address, "10
 * mx.example.org", the TXT text (bytes outside printable ASCII as \DDD),
 * "3 1 1 <hex>" for TLSA, hex for other types.
 */
void dns_rr_format(struct strbuf *out, const struct dns_rr *rr);

#endif
