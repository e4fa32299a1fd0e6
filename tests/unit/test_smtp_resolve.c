/*
 * test_smtp_resolve - next hops of the smtp agent: the forms of a next hop
 * (domain, domain:port, [host], [host]:port, [IPv6:...], unix:/path) and
 * malformed ones; addresses without DNS (IP literals, inet_protocols);
 * DNS trouble as a temporary failure.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "smtp/smtp.h"
#include "util/dns.h"

static void test_nexthop_split(void **state)
{
	static const struct {
		const char *in;
		bool lmtp;
		const char *host;
		int port;
		bool mx, is_unix;
	} good[] = {
	    {"example.org", false, "example.org", 0, true, false},
	    {"example.org", true, "example.org", 0, false, false},
	    {"example.org:2525", false, "example.org", 2525, true, false},
	    {"[relay.example]", false, "relay.example", 0, false, false},
	    {"[relay.example]:587", false, "relay.example", 587, false, false},
	    {"[192.0.2.1]:25", false, "192.0.2.1", 25, false, false},
	    {"[IPv6:2001:db8::1]:24", true, "2001:db8::1", 24, false, false},
	    {"[::1]", false, "::1", 0, false, false},
	    {"unix:/run/lmtp.sock", true, "/run/lmtp.sock", 0, false, true},
	};
	static const char *const bad[] = {
	    "", "[]", "[x", "[x]y", "[x]:0", "x:65536", "x:", ":25", "unix:relative", "x:port",
	};
	char *host;
	int port;
	bool mx, is_unix;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(
		    smtp_nexthop_split(good[i].in, good[i].lmtp, &host, &port, &mx, &is_unix), 0);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
		assert_int_equal(mx, good[i].mx);
		assert_int_equal(is_unix, good[i].is_unix);
		free(host);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		host = NULL;
		if (smtp_nexthop_split(bad[i], false, &host, &port, &mx, &is_unix) == 0)
			fail_msg("accepted next hop \"%s\"", bad[i]);
		free(host);
	}
}

/* agent - an agent whose resolver asks a closed loopback port (answers nothing). */
static void agent_init(struct smtp_agent *a, bool lmtp)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	char server[32], *err = NULL;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &len);
	close(fd);
	snprintf(server, sizeof(server), "127.0.0.1:%d", ntohs(sin.sin_port));
	const char *servers[] = {server, NULL};
	memset(a, 0, sizeof(*a));
	a->lmtp = lmtp;
	a->myhostname = "client.test";
	a->use_v4 = a->use_v6 = true;
	a->addr_pref = SMTP_PREF_IPV6;
	a->dns = dns_resolver_create(servers, 300, 1, &err);
	assert_non_null(a->dns);
}

static void test_literals(void **state)
{
	struct smtp_agent a;
	struct smtp_failure fail = {0};
	struct smtp_dest *d;
	size_t n;

	agent_init(&a, false);
	assert_int_equal(smtp_resolve(&a, "[192.0.2.7]", &d, &n, &fail), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].ip, "192.0.2.7");
	assert_int_equal(d[0].port, 25);
	assert_int_equal(d[0].sa.ss_family, AF_INET);
	smtp_dests_free(d, n);
	assert_int_equal(smtp_resolve(&a, "[IPv6:2001:db8::25]:2525", &d, &n, &fail), 0);
	assert_string_equal(d[0].ip, "2001:db8::25");
	assert_int_equal(d[0].port, 2525);
	assert_int_equal(d[0].salen, sizeof(struct sockaddr_in6));
	smtp_dests_free(d, n);
	/* no IPv6 wanted: no address left */
	a.use_v6 = false;
	assert_int_equal(smtp_resolve(&a, "[2001:db8::25]", &d, &n, &fail), -1);
	assert_int_equal(fail.status, 5);
	smtp_failure_free(&fail);
	dns_resolver_free(&a.dns);

	agent_init(&a, true);
	assert_int_equal(smtp_resolve(&a, "[127.0.0.1]", &d, &n, &fail), 0);
	assert_int_equal(d[0].port, 24);
	smtp_dests_free(d, n);
	assert_int_equal(smtp_resolve(&a, "unix:/run/x.sock", &d, &n, &fail), 0);
	assert_int_equal(d[0].salen, 0);
	assert_string_equal(d[0].ip, "/run/x.sock");
	smtp_dests_free(d, n);
	dns_resolver_free(&a.dns);
}

static void test_dns_trouble_defers(void **state)
{
	struct smtp_agent a;
	struct smtp_failure fail = {0};
	struct smtp_dest *d;
	size_t n;

	agent_init(&a, false);
	assert_int_equal(smtp_resolve(&a, "example.test", &d, &n, &fail), -1);
	assert_int_equal(fail.status, 4);
	assert_string_equal(fail.dsn, "4.4.3");
	assert_non_null(strstr(fail.text, "type=MX"));
	smtp_failure_free(&fail);
	assert_int_equal(smtp_resolve(&a, "[mx.example.test]", &d, &n, &fail), -1);
	assert_int_equal(fail.status, 4);
	assert_non_null(strstr(fail.text, "try again"));
	smtp_failure_free(&fail);
	assert_int_equal(smtp_resolve(&a, "bad:next:hop", &d, &n, &fail), -1);
	assert_string_equal(fail.dsn, "4.3.5");
	smtp_failure_free(&fail);
	dns_resolver_free(&a.dns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nexthop_split),
	    cmocka_unit_test(test_literals),
	    cmocka_unit_test(test_dns_trouble_defers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
