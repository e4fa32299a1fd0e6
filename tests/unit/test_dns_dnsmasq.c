/*
 * test_dns_dnsmasq - the resolver against a real DNS server: dnsmasq on a
 * free loopback port, answering from records given on its command line
 * only. MX order and the shuffling of equal preferences over many
 * lookups, A and AAAA, TXT, NXDOMAIN and NODATA, a CNAME, and an answer
 * too big for UDP that comes over TCP. Skipped when dnsmasq is not
 * installed (Debian package dnsmasq-base).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/dns.h"
#include "util/strbuf.h"

#define BIG_RECORDS 40

struct server {
	pid_t pid;
	char addr[32];
	struct dns_resolver *res;
};

static const char *dnsmasq_path(void)
{
	static const char *const paths[] = {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq",
					    "/sbin/dnsmasq"};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

static int free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &len);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* start - dnsmasq with the test's records; the resolver pointed at it. */
static int start(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	const char *path = dnsmasq_path();
	char port_arg[32], *argv[64 + BIG_RECORDS], *err = NULL;
	char big[BIG_RECORDS][96];
	int argc = 0, i, port = free_port();
	struct dns_reply reply;

	*state = s;
	if (path == NULL)
		return 0;
	snprintf(port_arg, sizeof(port_arg), "--port=%d", port);
	snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%d", port);
	argv[argc++] = (char *)path;
	argv[argc++] = "--no-daemon";
	argv[argc++] = port_arg;
	argv[argc++] = "--listen-address=127.0.0.1";
	argv[argc++] = "--bind-interfaces";
	argv[argc++] = "--no-resolv";
	argv[argc++] = "--no-hosts";
	argv[argc++] = "--no-negcache";
	argv[argc++] = "--conf-file=/dev/null";
	argv[argc++] = "--pid-file=";
	argv[argc++] = "--local=/example.test/";
	argv[argc++] = "--mx-host=example.test,mx1.example.test,10";
	argv[argc++] = "--mx-host=example.test,mx2.example.test,20";
	argv[argc++] = "--mx-host=example.test,mx3.example.test,20";
	argv[argc++] = "--host-record=mx1.example.test,127.0.0.2,::1";
	argv[argc++] = "--txt-record=t.example.test,v=spf1 -all";
	argv[argc++] = "--cname=alias.example.test,mx1.example.test";
	for (i = 0; i < BIG_RECORDS; i++) {
		snprintf(
		    big[i], sizeof(big[i]),
		    "--txt-record=big.example.test,record %02d of a set too big for one UDP answer",
		    i);
		argv[argc++] = big[i];
	}
	argv[argc] = NULL;
	s->pid = fork();
	if (s->pid == 0) {
		int null = open("/dev/null", 0);
		dup2(null, 1);
		dup2(null, 2);
		execv(path, argv);
		_exit(127);
	}
	const char *servers[] = {s->addr, NULL};
	s->res = dns_resolver_create(servers, 200, 1, &err);
	assert_non_null(s->res);
	for (i = 0; i < 50; i++) { /* up to 10 s for dnsmasq to answer */
		enum dns_status st = dns_lookup(s->res, "t.example.test", DNS_T_TXT, &reply, &err);
		if (st != DNS_TEMPFAIL) {
			dns_reply_free(&reply);
			break;
		}
		free(err);
		err = NULL;
		usleep(200000);
	}
	assert_true(i < 50);
	dns_resolver_free(&s->res);
	s->res = dns_resolver_create(servers, 2000, 2, &err);
	return 0;
}

static int stop(void **state)
{
	struct server *s = *state;

	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	dns_resolver_free(&s->res);
	free(s);
	return 0;
}

static struct dns_resolver *resolver(void **state)
{
	struct server *s = *state;

	if (s->res == NULL)
		skip();
	return s->res;
}

static void test_mx_order(void **state)
{
	struct dns_resolver *res = resolver(state);
	struct dns_reply reply;
	int second[2] = {0, 0}, i;
	char *err = NULL;

	for (i = 0; i < 100; i++) {
		assert_int_equal(dns_lookup(res, "example.test", DNS_T_MX, &reply, &err), DNS_OK);
		assert_int_equal(reply.count, 3);
		dns_mx_sort(reply.rr, reply.count);
		assert_string_equal(reply.rr[0].target, "mx1.example.test");
		assert_int_equal(reply.rr[0].pref, 10);
		second[strcmp(reply.rr[1].target, "mx2.example.test") == 0 ? 0 : 1]++;
		assert_int_equal(reply.rr[2].pref, 20);
		dns_reply_free(&reply);
	}
	/* equal preferences come in both orders (each order: p = 1/2 per lookup) */
	assert_true(second[0] > 15 && second[1] > 15);
}

static void test_addresses(void **state)
{
	struct dns_resolver *res = resolver(state);
	struct dns_reply reply;
	char *err = NULL, text[64];

	assert_int_equal(dns_lookup(res, "MX1.example.test", DNS_T_A, &reply, &err), DNS_OK);
	assert_int_equal(reply.count, 1);
	assert_int_equal(reply.rr[0].family, AF_INET);
	inet_ntop(AF_INET, reply.rr[0].addr, text, sizeof(text));
	assert_string_equal(text, "127.0.0.2");
	dns_reply_free(&reply);
	assert_int_equal(dns_lookup(res, "mx1.example.test", DNS_T_AAAA, &reply, &err), DNS_OK);
	assert_int_equal(reply.rr[0].family, AF_INET6);
	inet_ntop(AF_INET6, reply.rr[0].addr, text, sizeof(text));
	assert_string_equal(text, "::1");
	dns_reply_free(&reply);
	/* through a CNAME */
	assert_int_equal(dns_lookup(res, "alias.example.test", DNS_T_A, &reply, &err), DNS_OK);
	assert_string_equal(reply.canonical, "mx1.example.test");
	assert_int_equal(reply.count, 1);
	dns_reply_free(&reply);
}

static void test_txt_and_negative(void **state)
{
	struct dns_resolver *res = resolver(state);
	struct dns_reply reply;
	char *err = NULL;

	assert_int_equal(dns_lookup(res, "t.example.test", DNS_T_TXT, &reply, &err), DNS_OK);
	assert_int_equal(reply.count, 1);
	assert_string_equal((char *)reply.rr[0].data, "v=spf1 -all");
	dns_reply_free(&reply);
	assert_int_equal(dns_lookup(res, "nx.example.test", DNS_T_A, &reply, &err), DNS_NXDOMAIN);
	dns_reply_free(&reply);
	assert_int_equal(dns_lookup(res, "mx1.example.test", DNS_T_TXT, &reply, &err), DNS_NODATA);
	dns_reply_free(&reply);
	assert_int_equal(dns_lookup(res, "mx1.example.test", DNS_T_MX, &reply, &err), DNS_NODATA);
	dns_reply_free(&reply);
}

static void test_truncated_answer_over_tcp(void **state)
{
	struct dns_resolver *res = resolver(state);
	struct dns_reply reply;
	char *err = NULL;

	assert_int_equal(dns_lookup(res, "big.example.test", DNS_T_TXT, &reply, &err), DNS_OK);
	assert_true(reply.used_tcp);
	assert_int_equal(reply.count, BIG_RECORDS);
	dns_reply_free(&reply);
	/* without EDNS the limit is 512 bytes: TCP again */
	dns_resolver_set_flags(res, 0);
	assert_int_equal(dns_lookup(res, "big.example.test", DNS_T_TXT, &reply, &err), DNS_OK);
	assert_true(reply.used_tcp);
	assert_int_equal(reply.count, BIG_RECORDS);
	dns_reply_free(&reply);
	assert_int_equal(dns_lookup(res, "t.example.test", DNS_T_TXT, &reply, &err), DNS_OK);
	assert_false(reply.used_tcp);
	dns_reply_free(&reply);
	dns_resolver_set_flags(res, DNS_QUERY_EDNS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mx_order),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_txt_and_negative),
	    cmocka_unit_test(test_truncated_answer_over_tcp),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, start, stop);
}
