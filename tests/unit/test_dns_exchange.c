/*
 * test_dns_exchange - the resolver's exchange and lookup layers against
 * fake DNS servers forked on loopback (UDP and TCP on one port each). A
 * server's role decides how it answers: properly, with SERVFAIL, not at
 * all. Names choose the answer of a proper server:
 *   ok.test      A 192.0.2.1                 nx.test      NXDOMAIN
 *   nodata.test  NOERROR, no records         big.test     truncated over UDP;
 *   chain.test   CNAME target.test only                   60 TXT over TCP
 *   target.test  A 192.0.2.7                 noisy.test   a wrong ID, garbage, then
 *   mx.test      MX 10 a.test, 10 b.test                  the answer
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/dns.h"
#include "util/strbuf.h"

enum role { ROLE_GOOD, ROLE_SERVFAIL, ROLE_SILENT };

struct server {
	pid_t pid;
	int port;
	char addr[32];
};

static void u16(struct strbuf *p, unsigned v)
{
	strbuf_putc(p, (int)((v >> 8) & 0xff));
	strbuf_putc(p, (int)(v & 0xff));
}

/* rr - a record owned by the question's name (pointer to offset 12). */
static void rr(struct strbuf *p, unsigned type, const void *data, unsigned len)
{
	u16(p, 0xc00c);
	u16(p, type);
	u16(p, DNS_C_IN);
	u16(p, 0);
	u16(p, 60);
	u16(p, len);
	strbuf_append(p, data, len);
}

/* answer - the answer to query q (qlen bytes) for the role; big: as if sent over UDP. */
static void answer(const unsigned char *q, size_t qlen, enum role role, int udp, struct strbuf *p)
{
	size_t qend = 12;
	char qname[256] = "";
	unsigned rcode = 0, an = 0, tc = 0;
	struct strbuf recs = STRBUF_INIT, tmp = STRBUF_INIT;
	char *err = NULL;

	while (qend < qlen && q[qend] != 0 && strlen(qname) + q[qend] + 2 < sizeof(qname)) {
		if (qname[0])
			strcat(qname, ".");
		strncat(qname, (const char *)q + qend + 1, q[qend]);
		qend += 1u + q[qend];
	}
	qend += 1 + 4;
	if (role == ROLE_SERVFAIL) {
		rcode = DNS_RCODE_SERVFAIL;
	} else if (strcasecmp(qname, "ok.test") == 0 || strcasecmp(qname, "noisy.test") == 0) {
		rr(&recs, DNS_T_A, "\xc0\x00\x02\x01", 4);
		an = 1;
	} else if (strcasecmp(qname, "target.test") == 0) {
		rr(&recs, DNS_T_A, "\xc0\x00\x02\x07", 4);
		an = 1;
	} else if (strcasecmp(qname, "chain.test") == 0) {
		dns_name_to_wire(&tmp, "target.test", &err);
		rr(&recs, DNS_T_CNAME, tmp.data, (unsigned)tmp.len);
		an = 1;
	} else if (strcasecmp(qname, "mx.test") == 0) {
		rr(&recs, DNS_T_MX, "\0\x0a\1a\4test\0", 10);
		rr(&recs, DNS_T_MX, "\0\x0a\1b\4test\0", 10);
		an = 2;
	} else if (strcasecmp(qname, "big.test") == 0) {
		if (udp) {
			tc = DNS_FLAG_TC;
		} else {
			for (an = 0; an < 60; an++) {
				char txt[40];
				int n =
				    snprintf(txt + 1, sizeof(txt) - 1, "record %02u of sixty", an);
				txt[0] = (char)n;
				rr(&recs, DNS_T_TXT, txt, (unsigned)n + 1);
			}
		}
	} else if (strcasecmp(qname, "nx.test") == 0) {
		rcode = DNS_RCODE_NXDOMAIN;
	}
	strbuf_append(p, q, 2);
	u16(p, DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA | tc | rcode);
	u16(p, 1);
	u16(p, an);
	u16(p, 0);
	u16(p, 0);
	strbuf_append(p, q + 12, qend - 12);
	strbuf_append(p, recs.data, recs.len);
	strbuf_free(&recs);
	strbuf_free(&tmp);
}

/* serve_udp - one datagram. */
static void serve_udp(int fd, enum role role)
{
	unsigned char q[512];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	struct strbuf p = STRBUF_INIT;
	ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);

	if (n < 17 || role == ROLE_SILENT)
		return;
	answer(q, (size_t)n, role, 1, &p);
	if (n > 24 && memcmp(q + 13, "noisy", 5) == 0) {
		unsigned char bad[2] = {(unsigned char)(q[0] ^ 0xff), q[1]};
		struct strbuf w = STRBUF_INIT;
		strbuf_append(&w, p.data, p.len);
		memcpy(w.data, bad, 2);
		sendto(fd, w.data, w.len, 0, (struct sockaddr *)&from, flen); /* wrong ID */
		sendto(fd, p.data, 20, 0, (struct sockaddr *)&from, flen);    /* garbage */
		strbuf_free(&w);
	}
	sendto(fd, p.data, p.len, 0, (struct sockaddr *)&from, flen);
	strbuf_free(&p);
}

/* serve_tcp - one connection, one question. */
static void serve_tcp(int lfd, enum role role)
{
	unsigned char len[2], q[512];
	struct strbuf p = STRBUF_INIT;
	int fd = accept(lfd, NULL, NULL);
	size_t qlen;

	if (fd < 0)
		return;
	if (recv(fd, len, 2, MSG_WAITALL) == 2 && (qlen = (size_t)(len[0] << 8 | len[1])) > 16 &&
	    qlen <= sizeof(q) && recv(fd, q, qlen, MSG_WAITALL) == (ssize_t)qlen &&
	    role != ROLE_SILENT) {
		answer(q, qlen, role, 0, &p);
		len[0] = (unsigned char)(p.len >> 8);
		len[1] = (unsigned char)p.len;
		send(fd, len, 2, 0);
		send(fd, p.data, p.len, 0);
	}
	strbuf_free(&p);
	close(fd);
}

static void server_start(struct server *s, enum role role)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t slen = sizeof(sin);
	int udp = socket(AF_INET, SOCK_DGRAM, 0), tcp;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(udp, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(udp, (struct sockaddr *)&sin, &slen), 0);
	tcp = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
	assert_int_equal(bind(tcp, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(tcp, 8), 0);
	s->port = ntohs(sin.sin_port);
	snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%d", s->port);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		struct pollfd pfd[2] = {{.fd = udp, .events = POLLIN},
					{.fd = tcp, .events = POLLIN}};
		for (;;) {
			if (poll(pfd, 2, 10000) <= 0)
				_exit(0);
			if (pfd[0].revents)
				serve_udp(udp, role);
			if (pfd[1].revents)
				serve_tcp(tcp, role);
		}
	}
	close(udp);
	close(tcp);
}

static void server_stop(struct server *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
}

/* closed_port - a loopback UDP port nobody listens on (ICMP port unreachable). */
static void closed_port(char *buf, size_t size)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t slen = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &slen);
	close(fd);
	snprintf(buf, size, "127.0.0.1:%d", ntohs(sin.sin_port));
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* lookup - dns_lookup through a resolver for the servers. */
static enum dns_status lookup(const char *const *servers, int timeout_ms, const char *name,
			      uint16_t type, struct dns_reply *reply, char **err)
{
	char *cerr = NULL;
	struct dns_resolver *res = dns_resolver_create(servers, timeout_ms, 1, &cerr);
	enum dns_status st;

	assert_non_null(res);
	*err = NULL;
	st = dns_lookup(res, name, type, reply, err);
	dns_resolver_free(&res);
	return st;
}

static void test_answers(void **state)
{
	struct server s;
	struct dns_reply reply;
	char *err;

	server_start(&s, ROLE_GOOD);
	const char *servers[] = {s.addr, NULL};

	assert_int_equal(lookup(servers, 2000, "OK.test", DNS_T_A, &reply, &err), DNS_OK);
	assert_int_equal(reply.count, 1);
	assert_memory_equal(reply.rr[0].addr, "\xc0\x00\x02\x01", 4);
	assert_false(reply.used_tcp);
	dns_reply_free(&reply);

	assert_int_equal(lookup(servers, 2000, "nx.test", DNS_T_A, &reply, &err), DNS_NXDOMAIN);
	dns_reply_free(&reply);
	assert_int_equal(lookup(servers, 2000, "nodata.test", DNS_T_A, &reply, &err), DNS_NODATA);
	assert_int_equal(reply.count, 0);
	dns_reply_free(&reply);

	assert_int_equal(lookup(servers, 2000, "mx.test", DNS_T_MX, &reply, &err), DNS_OK);
	assert_int_equal(reply.count, 2);
	assert_string_equal(reply.rr[0].target, "a.test");
	dns_reply_free(&reply);

	/* a CNAME whose target the answer leaves open: asked again */
	assert_int_equal(lookup(servers, 2000, "chain.test", DNS_T_A, &reply, &err), DNS_OK);
	assert_string_equal(reply.qname, "chain.test");
	assert_string_equal(reply.canonical, "target.test");
	assert_int_equal(reply.rr[0].addr[3], 7);
	dns_reply_free(&reply);

	/* a wrong ID and a short packet first: ignored */
	assert_int_equal(lookup(servers, 2000, "noisy.test", DNS_T_A, &reply, &err), DNS_OK);
	assert_int_equal(reply.count, 1);
	dns_reply_free(&reply);

	/* truncated over UDP: the answer comes over TCP */
	assert_int_equal(lookup(servers, 2000, "big.test", DNS_T_TXT, &reply, &err), DNS_OK);
	assert_true(reply.used_tcp);
	assert_int_equal(reply.count, 60);
	assert_string_equal((char *)reply.rr[59].data, "record 59 of sixty");
	dns_reply_free(&reply);

	assert_int_equal(lookup(servers, 2000, "bad..name", DNS_T_A, &reply, &err), DNS_BADNAME);
	free(err);
	server_stop(&s);
}

static void test_failover(void **state)
{
	struct server good, servfail, silent;
	struct dns_reply reply;
	char closed[32], *err;
	long long t0;

	server_start(&good, ROLE_GOOD);
	server_start(&servfail, ROLE_SERVFAIL);
	server_start(&silent, ROLE_SILENT);
	closed_port(closed, sizeof(closed));

	/* a silent server costs one timeout; SERVFAIL and a closed port cost nothing */
	const char *list1[] = {silent.addr, servfail.addr, closed, good.addr, NULL};
	t0 = ms_now();
	assert_int_equal(lookup(list1, 300, "ok.test", DNS_T_A, &reply, &err), DNS_OK);
	assert_true(ms_now() - t0 >= 290);
	assert_true(ms_now() - t0 < 2000);
	dns_reply_free(&reply);

	const char *list2[] = {servfail.addr, silent.addr, NULL};
	assert_int_equal(lookup(list2, 200, "ok.test", DNS_T_A, &reply, &err), DNS_TEMPFAIL);
	assert_non_null(strstr(err, "timeout"));
	free(err);
	const char *list3[] = {silent.addr, servfail.addr, NULL};
	assert_int_equal(lookup(list3, 200, "ok.test", DNS_T_A, &reply, &err), DNS_TEMPFAIL);
	assert_non_null(strstr(err, "SERVFAIL"));
	free(err);
	const char *list4[] = {closed, NULL};
	assert_int_equal(lookup(list4, 2000, "ok.test", DNS_T_A, &reply, &err), DNS_TEMPFAIL);
	free(err);

	server_stop(&good);
	server_stop(&servfail);
	server_stop(&silent);
}

/* Rounds: a server that fails the first time is asked again in the next round. */
static void test_rounds(void **state)
{
	struct server silent;
	struct dns_resolver *res;
	struct dns_reply reply;
	char *err = NULL;
	long long t0;

	server_start(&silent, ROLE_SILENT);
	const char *list[] = {silent.addr, NULL};
	res = dns_resolver_create(list, 150, 3, &err);
	assert_non_null(res);
	t0 = ms_now();
	assert_int_equal(dns_lookup(res, "ok.test", DNS_T_A, &reply, &err), DNS_TEMPFAIL);
	assert_true(ms_now() - t0 >= 440);
	free(err);
	dns_resolver_free(&res);
	server_stop(&silent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answers),
	    cmocka_unit_test(test_failover),
	    cmocka_unit_test(test_rounds),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
