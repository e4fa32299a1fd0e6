/*
 * test_master_conf - master.cf: a good file, inet name forms, -o overrides,
 * and each kind of error reported as "file:line: field: problem".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mail/mail_conf.h"
#include "mail/master_conf.h"
#include "util/mymalloc.h"

static int conf_setup(void **state)
{
	static const char main_cf[] = "queue_directory = /var/q\ndefault_process_limit = 50\n";
	char *error = NULL;

	*state = mail_conf_parse("/cfg", "/cfg/main.cf", main_cf, sizeof(main_cf) - 1, &error);
	return *state ? 0 : -1;
}

static int conf_teardown(void **state)
{
	struct mail_conf *conf = *state;

	mail_conf_free(&conf);
	return 0;
}

static struct master_conf *parse(void **state, const char *text)
{
	struct master_conf *mc = NULL;
	char *error = NULL;

	if (master_conf_parse("m.cf", text, strlen(text), *state, &mc, &error) < 0)
		fail_msg("unexpected error: %s", error);
	return mc;
}

/* expect_error - parsing text fails with exactly "m.cf:" expected. */
static void expect_error(void **state, const char *text, const char *expected)
{
	struct master_conf *mc = NULL;
	char *error = NULL, *full = xasprintf("m.cf:%s", expected);

	assert_int_equal(master_conf_parse("m.cf", text, strlen(text), *state, &mc, &error), -1);
	assert_null(mc);
	assert_non_null(error);
	assert_string_equal(error, full);
	free(error);
	free(full);
}

static void test_good_file(void **state)
{
	struct master_conf *mc =
	    parse(state, "# service type private unpriv chroot wakeup maxproc "
			 "command\n"
			 "smtp      inet  n       -       y       -       -       smtpd\n"
			 "  -o max_use=10\n"
			 "  -o { health_banner = hello there }\n"
			 "\n"
			 "cleanup   unix  n       -       n       -       0       cleanup -v\n"
			 "qmgr      unix  -       n       -       300     1       qmgr\n"
			 "lmtp      pass  -       -       -       -       20      lmtp\n"
			 "health    unix  y       y       n       0       -       /opt/h "
			 "-o max_idle=5m x\n");
	const struct master_service_conf *s;

	assert_int_equal(mc->count, 5);
	s = &mc->services[0];
	assert_string_equal(s->name, "smtp");
	assert_int_equal(s->type, MASTER_INET);
	assert_null(s->host);
	assert_string_equal(s->port, "25");
	assert_null(s->path);
	assert_int_equal(s->private_, 0);
	assert_int_equal(s->unpriv, 1);
	assert_int_equal(s->chroot_, 1);
	assert_int_equal(s->wakeup, 0);
	assert_int_equal(s->maxproc, 50);
	assert_string_equal(s->command, "smtpd");
	assert_null(s->args[0]);
	assert_string_equal(s->overrides[0], "max_use=10");
	assert_string_equal(s->overrides[1], "health_banner=hello there");
	assert_null(s->overrides[2]);
	assert_string_equal(s->file, "m.cf");
	assert_int_equal(s->line, 2);

	s = &mc->services[1];
	assert_string_equal(s->name, "cleanup");
	assert_int_equal(s->type, MASTER_UNIX);
	assert_string_equal(s->path, "/var/q/public/cleanup");
	assert_int_equal(s->private_, 0);
	assert_int_equal(s->maxproc, 0);
	assert_string_equal(s->args[0], "-v");
	assert_null(s->args[1]);
	assert_null(s->overrides[0]);
	assert_int_equal(s->line, 6);

	s = &mc->services[2];
	assert_string_equal(s->path, "/var/q/private/qmgr");
	assert_int_equal(s->private_, 1);
	assert_int_equal(s->unpriv, 0);
	assert_int_equal(s->chroot_, 0);
	assert_int_equal(s->wakeup, 300);
	assert_int_equal(s->maxproc, 1);

	s = &mc->services[3];
	assert_int_equal(s->type, MASTER_PASS);
	assert_string_equal(s->path, "/var/q/private/lmtp");
	assert_int_equal(s->maxproc, 20);

	s = &mc->services[4];
	assert_string_equal(s->command, "/opt/h");
	assert_string_equal(s->args[0], "x");
	assert_null(s->args[1]);
	assert_string_equal(s->overrides[0], "max_idle=5m");
	master_conf_free(&mc);
	assert_null(mc);
}

static void test_empty_file(void **state)
{
	struct master_conf *mc = parse(state, "# nothing\n\n");

	assert_int_equal(mc->count, 0);
	master_conf_free(&mc);
}

static void test_inet_names(void **state)
{
	struct master_conf *mc = parse(state, "2525 inet n - n - - a\n"
					      "127.0.0.1:2526 inet n - n - - a\n"
					      "[::1]:25 inet n - n - - a\n"
					      "localhost:submission inet n - n - - a\n"
					      "[2001:db8::5]:imaps inet n - n - - a\n"
					      "sieve inet n - n - - a\n");

	assert_null(mc->services[0].host);
	assert_string_equal(mc->services[0].port, "2525");
	assert_string_equal(mc->services[1].host, "127.0.0.1");
	assert_string_equal(mc->services[1].port, "2526");
	assert_string_equal(mc->services[2].name, "[::1]:25");
	assert_string_equal(mc->services[2].host, "::1");
	assert_string_equal(mc->services[2].port, "25");
	assert_string_equal(mc->services[3].host, "localhost");
	assert_string_equal(mc->services[3].port, "587");
	assert_string_equal(mc->services[4].host, "2001:db8::5");
	assert_string_equal(mc->services[4].port, "993");
	assert_string_equal(mc->services[5].port, "4190");
	master_conf_free(&mc);
}

static void test_inet_name_errors(void **state)
{
	expect_error(state, "nosuchport inet n - n - - a\n",
		     "1: service: unknown port name \"nosuchport\" (not a number, not in "
		     "/etc/services)");
	expect_error(state, "0 inet n - n - - a\n",
		     "1: service: bad port \"0\" (expected a number from 1 to 65535 or a name "
		     "from /etc/services)");
	expect_error(state, "65536 inet n - n - - a\n",
		     "1: service: bad port \"65536\" (expected a number from 1 to 65535 or a "
		     "name from /etc/services)");
	expect_error(state, "25x inet n - n - - a\n",
		     "1: service: bad port \"25x\" (expected a number from 1 to 65535 or a name "
		     "from /etc/services)");
	expect_error(
	    state, "::1:25 inet n - n - - a\n",
	    "1: service: \"::1:25\": write an IPv6 address in brackets, as [address]:port");
	expect_error(state, "[::1]25 inet n - n - - a\n",
		     "1: service: \"[::1]25\": expected [address]:port for an IPv6 address");
	expect_error(state, "[::1 inet n - n - - a\n",
		     "1: service: \"[::1\": expected [address]:port for an IPv6 address");
	expect_error(state, "[1.2.3.4]:25 inet n - n - - a\n",
		     "1: service: \"1.2.3.4\" is not an IPv6 address");
	expect_error(state, ":25 inet n - n - - a\n",
		     "1: service: \":25\": missing host before ':'");
	expect_error(state, "host: inet n - n - - a\n", "1: service: missing port after ':'");
	expect_error(state, "h*st:25 inet n - n - - a\n",
		     "1: service: \"h*st\" is not a host name or IPv4 address");
	expect_error(state, "127.0.0.1:nosuchport inet n - n - - a\n",
		     "1: service: unknown port name \"nosuchport\" (not a number, not in "
		     "/etc/services)");
}

static void test_column_errors(void **state)
{
	expect_error(state, "\nx tcp n - n - - a\n",
		     "2: type: unknown service type \"tcp\" (expected inet, unix or pass)");
	expect_error(state, "x unix yes - n - - a\n", "1: private: \"yes\" is not y, n or -");
	expect_error(state, "x unix - Y n - - a\n", "1: unpriv: \"Y\" is not y, n or -");
	expect_error(state, "x unix - - 1 - - a\n", "1: chroot: \"1\" is not y, n or -");
	expect_error(
	    state, "x unix - - - -5 - a\n",
	    "1: wakeup: \"-5\" is not a non-negative integer (at most 2147483647) or \"-\"");
	expect_error(state, "x unix - - - 60? - a\n",
		     "1: wakeup: \"60?\" is not a non-negative integer (at most 2147483647) or "
		     "\"-\"");
	expect_error(state, "x unix - - - - many a\n",
		     "1: maxproc: \"many\" is not a non-negative integer (at most 2147483647) or "
		     "\"-\"");
	expect_error(state, "x unix - - - - 99999999999 a\n",
		     "1: maxproc: \"99999999999\" is not a non-negative integer (at most "
		     "2147483647) or \"-\"");
	expect_error(state, "smtp inet y - n - - smtpd\n",
		     "1: private: an inet service cannot be private (write n or -)");
}

static void test_missing_fields(void **state)
{
	expect_error(state, "x unix - - - - -\n",
		     "1: command: missing (expected: service type private unpriv chroot wakeup "
		     "maxproc command [arguments])");
	expect_error(
	    state, "a unix - - - - - a\nx\n",
	    "2: type: missing (expected: service type private unpriv chroot wakeup maxproc "
	    "command [arguments])");
	expect_error(state, "x unix - - - - - {}\n", "1: command: missing");
	expect_error(state, "x unix - - - - - ../bin/x\n",
		     "1: command: \"../bin/x\": give a program name in daemon_directory or an "
		     "absolute path");
}

static void test_socket_names(void **state)
{
	char *text, *long_name = xmalloc(120);

	expect_error(state, "a/b unix - - - - - a\n",
		     "1: service: bad socket name \"a/b\" (use letters, digits, '.', '-' and '_', "
		     "not starting with '.')");
	expect_error(state, ".. unix - - - - - a\n",
		     "1: service: bad socket name \"..\" (use letters, digits, '.', '-' and '_', "
		     "not starting with '.')");
	memset(long_name, 'n', 110);
	long_name[110] = '\0';
	text = xasprintf("%s unix - - - - - a\n", long_name);
	{
		struct master_conf *mc = NULL;
		char *error = NULL;

		assert_int_equal(master_conf_parse("m.cf", text, strlen(text), *state, &mc, &error),
				 -1);
		assert_non_null(strstr(error, "m.cf:1: service: socket path /var/q/private/nnn"));
		assert_non_null(strstr(error, "is longer than 107 bytes"));
		free(error);
	}
	free(text);
	free(long_name);
}

static void test_duplicates(void **state)
{
	struct master_conf *mc;

	expect_error(state, "smtp inet n - n - - a\n# c\nsmtp inet n - n - - b\n",
		     "3: service: \"smtp\" (inet) is already defined at line 1");
	/* The same name with another type is another service. */
	mc = parse(state, "smtp inet n - n - - a\nsmtp unix - - n - - b\n");
	assert_int_equal(mc->count, 2);
	master_conf_free(&mc);
}

static void test_override_errors(void **state)
{
	expect_error(state, "x unix - - - - - a\n  -o nonesuch=1\n",
		     "1: unknown parameter \"nonesuch\"");
	expect_error(state, "\nx unix - - - - - a -o max_use=0\n",
		     "2: max_use = 0: must be an integer from 1 to 10000000");
	expect_error(state, "x unix - - - - - a -o max_idle=1y\n",
		     "1: max_idle = 1y: must be a time from 1s to 1d (a number with an optional "
		     "unit s, m, h, d or w)");
	expect_error(state, "x unix - - - - - a -o\n", "1: -o: missing name=value after -o");
	expect_error(state, "x unix - - - - - a -o max_use\n",
		     "1: -o: \"max_use\" is not name=value");
	expect_error(state, "x unix - - - - - a -o { max_use = 5\n",
		     "1: argument: missing '}' after \"{\"");
	expect_error(state, "x unix - - - - - a -o myorigin=$myorigin\n",
		     "1: myorigin = $myorigin: parameter cycle: myorigin -> myorigin");
}

static void test_overrides_do_not_change_conf(void **state)
{
	struct master_conf *mc = parse(state, "x unix - - - - - a -o max_use=3\n");

	assert_int_equal(mail_conf_int(*state, "max_use"), 100);
	master_conf_free(&mc);
}

static void test_syntax_errors(void **state)
{
	expect_error(
	    state, "  x unix - - - - - a\n",
	    "1: line starts with white space, but there is no entry before it to continue");
}

static void test_read_file(void **state)
{
	char path[] = "/tmp/test_master_conf.XXXXXX", *error = NULL;
	struct master_conf *mc = NULL;
	int fd = mkstemp(path);
	static const char text[] = "cleanup unix n - n - 0 cleanup\n";

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	assert_int_equal(master_conf_read(path, *state, &mc, &error), 0);
	assert_int_equal(mc->count, 1);
	assert_string_equal(mc->services[0].file, path);
	master_conf_free(&mc);
	unlink(path);
	assert_int_equal(master_conf_read(path, *state, &mc, &error), -1);
	assert_non_null(strstr(error, path));
	free(error);
}

static void test_type_names(void **state)
{
	assert_string_equal(master_service_type_name(MASTER_INET), "inet");
	assert_string_equal(master_service_type_name(MASTER_UNIX), "unix");
	assert_string_equal(master_service_type_name(MASTER_PASS), "pass");
}

#define CONF_TEST(f) cmocka_unit_test_setup_teardown(f, conf_setup, conf_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CONF_TEST(test_good_file),	       CONF_TEST(test_empty_file),
	    CONF_TEST(test_inet_names),	       CONF_TEST(test_inet_name_errors),
	    CONF_TEST(test_column_errors),     CONF_TEST(test_missing_fields),
	    CONF_TEST(test_socket_names),      CONF_TEST(test_duplicates),
	    CONF_TEST(test_override_errors),   CONF_TEST(test_overrides_do_not_change_conf),
	    CONF_TEST(test_syntax_errors),     CONF_TEST(test_read_file),
	    cmocka_unit_test(test_type_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
