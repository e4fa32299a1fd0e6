/*
 * test_smtpd_net - client network lists: IPv4 and IPv6 networks with and
 * without brackets and prefixes, host bits, IPv4-mapped client addresses,
 * prefix boundaries, and the entries that must be refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtpd/smtpd_net.h"

static void test_match(void **state)
{
	char *words[] = {
	    "127.0.0.0/8",     "[::1]/128", "192.0.2.77/28", "2001:db8::/32", "198.51.100.9",
	    "[2001:db8:1::5]", NULL};
	struct smtpd_netlist list = {NULL, 0};
	char *error = NULL;
	struct {
		const char *addr;
		int in;
	} cases[] = {
	    {"127.0.0.1", 1},
	    {"127.255.255.255", 1},
	    {"128.0.0.1", 0},
	    {"::1", 1},
	    {"::2", 0},
	    {"192.0.2.64", 1},
	    {"192.0.2.79", 1},
	    {"192.0.2.80", 0},
	    {"192.0.2.63", 0},
	    {"2001:db8:ffff::1", 1},
	    {"2001:db9::1", 0},
	    {"198.51.100.9", 1},
	    {"198.51.100.10", 0},
	    {"2001:db8:1::5", 1},
	    {"::ffff:127.0.0.9", 1},
	    {"::ffff:10.0.0.1", 0},
	    {"unknown", 0},
	    {"", 0},
	};
	size_t i;

	assert_int_equal(smtpd_netlist_parse(words, &list, &error), 0);
	assert_int_equal(list.count, 6);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (smtpd_netlist_match(&list, cases[i].addr) != cases[i].in)
			fail_msg("%s: expected %d", cases[i].addr, cases[i].in);
	}
	smtpd_netlist_free(&list);
}

static void test_everything(void **state)
{
	char *words[] = {"0.0.0.0/0", "::/0", NULL};
	struct smtpd_netlist list = {NULL, 0};
	char *error = NULL;

	assert_int_equal(smtpd_netlist_parse(words, &list, &error), 0);
	assert_true(smtpd_netlist_match(&list, "203.0.113.1"));
	assert_true(smtpd_netlist_match(&list, "2001:db8::1"));
	smtpd_netlist_free(&list);
	assert_int_equal(list.count, 0);
	assert_false(smtpd_netlist_match(&list, "203.0.113.1"));
}

static void test_refused(void **state)
{
	const char *bad[] = {"example.com", "1.2.3.4/33", "::1/129",	 "1.2.3.4/",
			     "1.2.3.4/-1",  "1.2.3.4/8x", "[1.2.3.4",	 "[]",
			     "/8",	    "1.2.3",	  "hash:/etc/x", NULL};
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		char *words[] = {(char *)bad[i], NULL};
		struct smtpd_netlist list = {NULL, 0};
		char *error = NULL;

		if (smtpd_netlist_parse(words, &list, &error) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_non_null(strstr(error, bad[i]));
		free(error);
		smtpd_netlist_free(&list);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_everything),
	    cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
