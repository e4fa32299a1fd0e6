/*
 * test_mail_conf - the parameter table, loading main.cf, validation of each
 * type with file:line and range in the message, expansion and overrides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mail/mail_conf.h"
#include "util/mymalloc.h"

/* A configuration directory for one test. */
struct dir {
	char path[64];
	char main_cf[128];
};

static int dir_setup(void **state)
{
	struct dir *d = xcalloc(1, sizeof(*d));

	snprintf(d->path, sizeof(d->path), "/tmp/test_mail_conf.XXXXXX");
	if (mkdtemp(d->path) == NULL)
		return -1;
	snprintf(d->main_cf, sizeof(d->main_cf), "%s/main.cf", d->path);
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;

	unlink(d->main_cf);
	rmdir(d->path);
	free(d);
	return 0;
}

static void write_main_cf(const struct dir *d, const char *text)
{
	FILE *fp = fopen(d->main_cf, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* load - write main.cf and load it, failing the test on error. */
static struct mail_conf *load(const struct dir *d, const char *text)
{
	struct mail_conf *conf;
	char *error = NULL;

	write_main_cf(d, text);
	if ((conf = mail_conf_load(d->path, &error)) == NULL)
		fail_msg("unexpected error: %s", error);
	return conf;
}

/* load_error - write main.cf, expect the load to fail, return the message (malloc'd). */
static char *load_error(const struct dir *d, const char *text)
{
	char *error = NULL;

	write_main_cf(d, text);
	assert_null(mail_conf_load(d->path, &error));
	assert_non_null(error);
	return error;
}

/* expect_error - the load fails with exactly "<main.cf>:<rest>". */
static void expect_error(const struct dir *d, const char *text, const char *rest)
{
	char *error = load_error(d, text), *expected = xasprintf("%s:%s", d->main_cf, rest);

	assert_string_equal(error, expected);
	free(error);
	free(expected);
}

static void test_table_sorted_documented(void **state)
{
	const struct param_def *p;
	size_t n = 0;

	for (p = mail_param_table; p->name != NULL; p++, n++) {
		assert_non_null(p->doc);
		if (strlen(p->doc) < 10)
			fail_msg("parameter %s: doc \"%s\" is too short", p->name, p->doc);
		if (strchr(p->doc, '\n') != NULL)
			fail_msg("parameter %s: doc is more than one line", p->name);
		if (p[1].name != NULL && strcmp(p->name, p[1].name) >= 0)
			fail_msg("table not sorted/unique at %s, %s", p->name, p[1].name);
		if ((p->type == PARAM_INT || p->type == PARAM_TIME || p->type == PARAM_SIZE) &&
		    p->min > p->max)
			fail_msg("parameter %s: min > max", p->name);
		assert_ptr_equal(param_find(p->name), p);
	}
	assert_true(n >= 32);
	assert_null(param_find("no_such_parameter"));
	assert_null(param_find(""));
}

static void test_required_parameters(void **state)
{
	static const char *const names[] = {
	    "config_directory",
	    "daemon_directory",
	    "command_directory",
	    "meta_directory",
	    "queue_directory",
	    "data_directory",
	    "store_directory",
	    "mail_owner",
	    "store_owner",
	    "myhostname",
	    "mydomain",
	    "myorigin",
	    "mydestination",
	    "inet_interfaces",
	    "inet_protocols",
	    "mynetworks",
	    "relay_domains",
	    "relayhost",
	    "recipient_delimiter",
	    "message_size_limit",
	    "dns_servers",
	    "log_to",
	    "default_process_limit",
	    "max_use",
	    "max_idle",
	    "service_prefork",
	    "service_throttle_time",
	    "master_drain_timeout",
	    "tls_cert_file",
	    "tls_key_file",
	    "tls_ca_file",
	    "health_banner",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (param_find(names[i]) == NULL)
			fail_msg("parameter %s is missing", names[i]);
}

static void test_defaults(void **state)
{
	struct mail_conf *conf = mail_conf_defaults();
	char **list, *expected;
	const char *host, *dot;

	assert_null(mail_conf_path(conf));
	assert_string_equal(mail_conf_str(conf, "config_directory"), TERN_CONFIG_DIR);
	assert_string_equal(mail_conf_str(conf, "queue_directory"), TERN_QUEUE_DIR);
	assert_string_equal(mail_conf_str(conf, "daemon_directory"), TERN_DAEMON_DIR);
	assert_string_equal(mail_conf_str(conf, "mail_owner"), "tern");
	assert_string_equal(mail_conf_str(conf, "store_owner"), "vmail");
	assert_int_equal(mail_conf_int(conf, "max_use"), 100);
	assert_int_equal(mail_conf_int(conf, "default_process_limit"), 100);
	assert_int_equal(mail_conf_int(conf, "service_prefork"), 1);
	assert_int_equal(mail_conf_time(conf, "max_idle"), 100);
	assert_int_equal(mail_conf_time(conf, "service_throttle_time"), 60);
	assert_int_equal(mail_conf_time(conf, "master_drain_timeout"), 30);
	assert_int_equal(mail_conf_size(conf, "message_size_limit"), 52428800);
	assert_string_equal(mail_conf_str(conf, "log_to"), "syslog");
	assert_string_equal(mail_conf_str(conf, "relayhost"), "");

	host = mail_conf_str(conf, "myhostname");
	assert_true(host[0] != '\0');
	dot = strchr(host, '.');
	assert_string_equal(mail_conf_str(conf, "mydomain"),
			    dot && dot[1] ? dot + 1 : "localdomain");
	assert_string_equal(mail_conf_str(conf, "myorigin"), host);
	assert_string_equal(mail_conf_raw(conf, "myorigin"), "$myhostname");
	expected = xasprintf("%s/tls/cert.pem", TERN_CONFIG_DIR);
	assert_string_equal(mail_conf_str(conf, "tls_cert_file"), expected);
	free(expected);
	expected = xasprintf("%s tern health", host);
	assert_string_equal(mail_conf_str(conf, "health_banner"), expected);
	free(expected);

	list = mail_conf_list(conf, "mydestination");
	assert_string_equal(list[0], host);
	assert_string_equal(list[2], "localhost");
	assert_null(list[3]);
	argv_free(list);
	list = mail_conf_list(conf, "mynetworks");
	assert_string_equal(list[0], "127.0.0.0/8");
	assert_string_equal(list[1], "[::1]/128");
	assert_null(list[2]);
	argv_free(list);
	list = mail_conf_list(conf, "relay_domains");
	assert_null(list[0]);
	argv_free(list);
	assert_int_equal(mail_conf_source(conf, "max_use"), MAIL_CONF_DEFAULT);
	assert_null(mail_conf_origin(conf, "max_use"));
	assert_null(mail_conf_warnings(conf)[0]);
	mail_conf_free(&conf);
	assert_null(conf);
}

static void test_load_values(void **state)
{
	struct dir *d = *state;
	struct mail_conf *conf = load(d, "# a comment\n"
					 "myhostname = mx.example.com\n"
					 "\n"
					 "max_use = 7\n"
					 "max_idle = 2m\n"
					 "message_size_limit = 10m\n"
					 "mynetworks = 10.0.0.0/8,\n"
					 "    192.168.0.0/16 [::1]/128\n"
					 "log_to = /var/log/tern.log\n");
	char **list, *origin;

	assert_string_equal(mail_conf_path(conf), d->main_cf);
	assert_string_equal(mail_conf_str(conf, "config_directory"), d->path);
	assert_int_equal(mail_conf_source(conf, "config_directory"), MAIL_CONF_GIVEN);
	assert_string_equal(mail_conf_str(conf, "mydomain"), "example.com");
	assert_string_equal(mail_conf_str(conf, "myorigin"), "mx.example.com");
	assert_int_equal(mail_conf_int(conf, "max_use"), 7);
	assert_int_equal(mail_conf_time(conf, "max_idle"), 120);
	assert_string_equal(mail_conf_raw(conf, "max_idle"), "2m");
	assert_string_equal(mail_conf_value(conf, "max_idle"), "2m");
	assert_int_equal(mail_conf_size(conf, "message_size_limit"), 10 * 1024 * 1024);
	assert_int_equal(mail_conf_source(conf, "max_use"), MAIL_CONF_FILE);
	origin = xasprintf("%s:4", d->main_cf);
	assert_string_equal(mail_conf_origin(conf, "max_use"), origin);
	free(origin);
	list = mail_conf_list(conf, "mynetworks");
	assert_string_equal(list[0], "10.0.0.0/8");
	assert_string_equal(list[1], "192.168.0.0/16");
	assert_string_equal(list[2], "[::1]/128");
	assert_null(list[3]);
	argv_free(list);
	list = mail_conf_list(conf, "mydestination");
	assert_string_equal(list[0], "mx.example.com");
	assert_string_equal(list[1], "localhost.example.com");
	argv_free(list);
	assert_null(mail_conf_warnings(conf)[0]);
	mail_conf_free(&conf);
}

static void test_units(void **state)
{
	struct dir *d = *state;
	struct mail_conf *conf;

	conf = load(d, "max_idle = 1d\nservice_throttle_time = 1h\nmaster_drain_timeout = 0\n"
		       "message_size_limit = 3g\n");
	assert_int_equal(mail_conf_time(conf, "max_idle"), 86400);
	assert_int_equal(mail_conf_time(conf, "service_throttle_time"), 3600);
	assert_int_equal(mail_conf_time(conf, "master_drain_timeout"), 0);
	assert_int_equal(mail_conf_size(conf, "message_size_limit"), 3LL << 30);
	mail_conf_free(&conf);
	conf = load(d, "max_idle = 45s\nmessage_size_limit = 2K\nservice_throttle_time = 1\n");
	assert_int_equal(mail_conf_time(conf, "max_idle"), 45);
	assert_int_equal(mail_conf_size(conf, "message_size_limit"), 2048);
	assert_int_equal(mail_conf_time(conf, "service_throttle_time"), 1);
	mail_conf_free(&conf);
}

static void test_mydomain_single_label(void **state)
{
	struct dir *d = *state;
	struct mail_conf *conf = load(d, "myhostname = box\n");

	assert_string_equal(mail_conf_str(conf, "mydomain"), "localdomain");
	mail_conf_free(&conf);
	conf = load(d, "myhostname = box\nmydomain = example.net\n");
	assert_string_equal(mail_conf_str(conf, "mydomain"), "example.net");
	mail_conf_free(&conf);
}

static void test_bad_int(void **state)
{
	struct dir *d = *state;

	expect_error(d, "# x\n\n\n\n\n\nmax_use = 0\n",
		     "7: max_use = 0: must be an integer from 1 to 10000000");
	expect_error(d, "max_use = ten\n",
		     "1: max_use = ten: must be an integer from 1 to 10000000");
	expect_error(d, "max_use = 10000001\n",
		     "1: max_use = 10000001: must be an integer from 1 "
		     "to 10000000");
	expect_error(d, "max_use = 99999999999999999999999\n",
		     "1: max_use = 99999999999999999999999: must be an integer from 1 to 10000000");
	expect_error(d, "max_use = -1\n", "1: max_use = -1: must be an integer from 1 to 10000000");
	expect_error(d, "max_use = 5s\n", "1: max_use = 5s: must be an integer from 1 to 10000000");
	expect_error(d, "max_use =\n", "1: max_use = : must be an integer from 1 to 10000000");
	expect_error(d, "service_prefork = 1001\n",
		     "1: service_prefork = 1001: must be an integer from 0 to 1000");
}

static void test_bad_time(void **state)
{
	struct dir *d = *state;

	expect_error(d, "max_idle = 0\n",
		     "1: max_idle = 0: must be a time from 1s to 1d (a number "
		     "with an optional unit s, m, h, d or w)");
	expect_error(d, "a = 1\nmax_idle = 2d\n",
		     "2: max_idle = 2d: must be a time from 1s to 1d "
		     "(a number with an optional unit s, m, h, d or "
		     "w)");
	expect_error(d, "max_idle = 10x\n",
		     "1: max_idle = 10x: must be a time from 1s to 1d (a "
		     "number with an optional unit s, m, h, d or w)");
	expect_error(d, "max_idle = 10ss\n",
		     "1: max_idle = 10ss: must be a time from 1s to 1d (a "
		     "number with an optional unit s, m, h, d or w)");
	expect_error(d, "master_drain_timeout = 61m\n",
		     "1: master_drain_timeout = 61m: must be a time from 0s to 1h (a number with "
		     "an optional unit s, m, h, d or w)");
	expect_error(d, "service_throttle_time = 9999999999999999w\n",
		     "1: service_throttle_time = 9999999999999999w: must be a time from 1s to 1h "
		     "(a number with an optional unit s, m, h, d or w)");
}

static void test_bad_size(void **state)
{
	struct dir *d = *state;

	expect_error(
	    d, "message_size_limit = 1000\n",
	    "1: message_size_limit = 1000: must be a size of at least 1k (a number of bytes "
	    "with an optional unit k, m or g)");
	expect_error(
	    d, "message_size_limit = 10t\n",
	    "1: message_size_limit = 10t: must be a size of at least 1k (a number of bytes "
	    "with an optional unit k, m or g)");
	expect_error(
	    d, "message_size_limit = 99999999999g\n",
	    "1: message_size_limit = 99999999999g: must be a size of at least 1k (a number "
	    "of bytes with an optional unit k, m or g)");
}

static void test_bad_bool_and_range_texts(void **state)
{
	static const struct param_def b = {"flag", PARAM_BOOL, "no", 0, 0, NULL, "A flag."};
	static const struct param_def s = {"size",    PARAM_SIZE, "1m",	    512,
					   2LL << 20, NULL,	  "A size."};
	static const struct param_def t = {"time",	  PARAM_TIME, "1s",	90,
					   2 * 7 * 86400, NULL,	      "A time."};
	char *error = NULL;

	assert_int_equal(param_check(&b, "yes", &error), 0);
	assert_int_equal(param_check(&b, "no", &error), 0);
	assert_int_equal(param_check(&b, "true", &error), -1);
	assert_string_equal(error, "must be yes or no");
	free(error);
	assert_int_equal(param_check(&s, "2m", &error), 0);
	assert_int_equal(param_check(&s, "511", &error), -1);
	assert_string_equal(error, "must be a size from 512 to 2m (a number of bytes with an "
				   "optional unit k, m or g)");
	free(error);
	assert_int_equal(param_check(&t, "2w", &error), 0);
	assert_int_equal(param_check(&t, "1m", &error), -1);
	assert_string_equal(error, "must be a time from 90s to 2w (a number with an optional unit "
				   "s, m, h, d or w)");
	free(error);
}

static void test_bad_special(void **state)
{
	struct dir *d = *state;
	struct mail_conf *conf;

	expect_error(d, "log_to = file.log\n",
		     "1: log_to = file.log: must be syslog, stderr or an absolute file name");
	expect_error(d, "inet_protocols = ipv5\n",
		     "1: inet_protocols = ipv5: must be all, ipv4, ipv6 or \"ipv4, ipv6\"");
	expect_error(d, "inet_protocols = all, ipv4\n",
		     "1: inet_protocols = all, ipv4: must be all, ipv4, ipv6 or \"ipv4, ipv6\"");
	expect_error(d, "inet_protocols =\n",
		     "1: inet_protocols = : must be all, ipv4, ipv6 or \"ipv4, ipv6\"");
	expect_error(
	    d, "inet_interfaces = all, 127.0.0.1\n",
	    "1: inet_interfaces = all, 127.0.0.1: must be all or a list of IP addresses and "
	    "host names");
	expect_error(d, "inet_interfaces = 127.0.0.1/8\n",
		     "1: inet_interfaces = 127.0.0.1/8: must be all or a list of IP addresses and "
		     "host names");
	expect_error(d, "queue_directory = spool\n",
		     "1: queue_directory = spool: must be an absolute path name");
	expect_error(d, "mail_owner =\n", "1: mail_owner = : must not be empty");
	conf = load(d, "inet_protocols = ipv4, ipv6\nlog_to = stderr\n"
		       "inet_interfaces = 127.0.0.1, ::1 [::2] localhost\n");
	assert_string_equal(mail_conf_str(conf, "log_to"), "stderr");
	mail_conf_free(&conf);
}

static void test_validated_after_expansion(void **state)
{
	struct dir *d = *state;
	struct mail_conf *conf;

	expect_error(d, "limit = 0\nmax_use = $limit\n",
		     "2: max_use = $limit (expands to \"0\"): must be an integer from 1 to "
		     "10000000");
	conf = load(d, "limit = 5\nmax_use = ${limit}\n");
	assert_int_equal(mail_conf_int(conf, "max_use"), 5);
	assert_null(mail_conf_warnings(conf)[0]); /* limit is used: no warning */
	mail_conf_free(&conf);
}

static void test_expansion_and_errors(void **state)
{
	struct dir *d = *state;
	struct mail_conf *conf;

	conf =
	    load(d, "myhostname = mail.example.org\nhealth_banner = $$ ${myhostname} $(mydomain)\n"
		    "tls_cert_file = $config_directory/c.pem\n");
	assert_string_equal(mail_conf_str(conf, "health_banner"), "$ mail.example.org example.org");
	assert_string_equal(mail_conf_raw(conf, "health_banner"), "$$ ${myhostname} $(mydomain)");
	assert_true(strncmp(mail_conf_str(conf, "tls_cert_file"), d->path, strlen(d->path)) == 0);
	mail_conf_free(&conf);
	expect_error(d, "relayhost = $\n",
		     "1: relayhost = $: '$' not followed by a parameter name "
		     "(write $$ for a dollar sign)");
	expect_error(d, "relayhost = ${x\n", "1: relayhost = ${x: missing '}' after \"${x\"");
}

static void test_cycles(void **state)
{
	struct dir *d = *state;

	expect_error(d, "relayhost = [$relayhost]\n",
		     "1: relayhost = [$relayhost]: parameter cycle: relayhost -> relayhost");
	expect_error(d,
		     "\nrelayhost = $mine\nmine = $recipient_delimiter\n"
		     "recipient_delimiter = $relayhost\n",
		     "2: relayhost = $mine: parameter cycle: relayhost -> mine -> "
		     "recipient_delimiter -> relayhost");
	expect_error(d, "myhostname = mx.$mydomain\n",
		     "1: myhostname = mx.$mydomain: parameter cycle: mydomain -> myhostname -> "
		     "mydomain");
}

static void test_syntax_error(void **state)
{
	struct dir *d = *state;

	expect_error(d, "a = 1\nb 2\n", "2: missing '=' in \"b 2\" (expected name = value)");
	expect_error(d, "  a = 1\n",
		     "1: line starts with white space, but there is no entry "
		     "before it to continue");
	expect_error(d, "a.b = 1\n", "1: bad parameter name \"a.b\" (use letters, digits and _)");
}

static void test_missing_file(void **state)
{
	struct dir *d = *state;
	char *error = NULL;

	assert_null(mail_conf_load(d->path, &error));
	assert_non_null(strstr(error, d->main_cf));
	free(error);
}

static void test_warnings(void **state)
{
	struct dir *d = *state;
	struct mail_conf *conf = load(d, "max_use = 5\n"
					 "unknown_thing = 1\n"
					 "max_use = 6\n"
					 "config_directory = /elsewhere\n"
					 "helper = x\n"
					 "myorigin = $helper\n");
	const char *const *w = mail_conf_warnings(conf);
	char *expected;

	assert_int_equal(mail_conf_int(conf, "max_use"), 6);
	assert_string_equal(mail_conf_str(conf, "config_directory"), d->path);
	assert_string_equal(mail_conf_str(conf, "myorigin"), "x");
	expected = xasprintf("%s:1: max_use is set again at line 3, which wins", d->main_cf);
	assert_string_equal(w[0], expected);
	free(expected);
	expected = xasprintf("%s:2: unknown parameter \"unknown_thing\"", d->main_cf);
	assert_string_equal(w[1], expected);
	free(expected);
	expected = xasprintf("%s:4: config_directory is ignored in main.cf; %s is the "
			     "configuration directory",
			     d->main_cf, d->path);
	assert_string_equal(w[2], expected);
	free(expected);
	assert_null(w[3]);
	mail_conf_free(&conf);
}

static void test_warning_logged(void **state)
{
	struct dir *d = *state;
	char log[160], buf[4096];
	struct mail_conf *conf;
	int fd, saved;
	ssize_t n;

	/* mail_conf_load logs warnings on standard error: catch them in a file. */
	snprintf(log, sizeof(log), "%s/stderr", d->path);
	fd = open(log, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	saved = dup(2);
	dup2(fd, 2);
	conf = load(d, "\n\nbogus = 1\n");
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(log);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "warning: "));
	assert_non_null(strstr(buf, ":3: unknown parameter \"bogus\""));
	mail_conf_free(&conf);
}

static void test_parse_in_memory(void **state)
{
	static const char text[] = "max_use = 9\n";
	struct mail_conf *conf;
	char *error = NULL;

	conf = mail_conf_parse("/cfg", "/cfg/main.cf", text, sizeof(text) - 1, &error);
	assert_non_null(conf);
	assert_int_equal(mail_conf_int(conf, "max_use"), 9);
	assert_string_equal(mail_conf_str(conf, "tls_key_file"), "/cfg/tls/key.pem");
	mail_conf_free(&conf);
	assert_null(mail_conf_parse("/cfg", "/cfg/main.cf", "x", 1, &error));
	assert_string_equal(error, "/cfg/main.cf:1: missing '=' in \"x\" (expected name = value)");
	free(error);
}

static void test_override(void **state)
{
	struct dir *d = *state;
	struct mail_conf *conf = load(d, "myhostname = a.example.com\nmax_use = 5\n");
	char *error = NULL;

	assert_int_equal(mail_conf_override(conf, "max_use=50", "master.cf:3", &error), 0);
	assert_int_equal(mail_conf_int(conf, "max_use"), 50);
	assert_int_equal(mail_conf_source(conf, "max_use"), MAIL_CONF_OVERRIDE);
	assert_string_equal(mail_conf_origin(conf, "max_use"), "master.cf:3");
	/* Dependent values follow an override. */
	assert_int_equal(mail_conf_override(conf, " myhostname = b.example.net ", "cmd", &error),
			 0);
	assert_string_equal(mail_conf_str(conf, "myorigin"), "b.example.net");
	assert_string_equal(mail_conf_str(conf, "mydomain"), "example.net");

	assert_int_equal(mail_conf_override(conf, "max_use=0", "master.cf:9", &error), -1);
	assert_string_equal(error,
			    "master.cf:9: max_use = 0: must be an integer from 1 to 10000000");
	free(error);
	assert_int_equal(mail_conf_int(conf, "max_use"), 50);
	assert_int_equal(mail_conf_override(conf, "nonesuch=1", "master.cf:10", &error), -1);
	assert_string_equal(error, "master.cf:10: unknown parameter \"nonesuch\"");
	free(error);
	assert_int_equal(mail_conf_override(conf, "max_use", "master.cf:11", &error), -1);
	assert_string_equal(error, "master.cf:11: \"max_use\": expected name=value");
	free(error);
	assert_int_equal(mail_conf_override(conf, "myorigin=$myorigin", "x:1", &error), -1);
	assert_string_equal(error, "x:1: myorigin = $myorigin: parameter cycle: myorigin -> "
				   "myorigin");
	free(error);
	assert_string_equal(mail_conf_str(conf, "myorigin"), "b.example.net");
	mail_conf_free(&conf);
}

static void test_dup_independent(void **state)
{
	struct dir *d = *state;
	struct mail_conf *conf = load(d, "max_use = 5\nextra = 1\n"), *copy;
	char *error = NULL;

	copy = mail_conf_dup(conf);
	assert_int_equal(mail_conf_override(copy, "max_use=6", "o", &error), 0);
	assert_int_equal(mail_conf_int(copy, "max_use"), 6);
	assert_int_equal(mail_conf_int(conf, "max_use"), 5);
	assert_string_equal(mail_conf_path(copy), d->main_cf);
	assert_string_equal(mail_conf_warnings(copy)[0], mail_conf_warnings(conf)[0]);
	mail_conf_free(&conf);
	assert_int_equal(mail_conf_override(copy, "myorigin=$extra", "o", &error), 0);
	assert_string_equal(mail_conf_str(copy, "myorigin"), "1");
	mail_conf_free(&copy);
}

static void test_wrong_type_panics(void **state)
{
	struct mail_conf *conf = mail_conf_defaults();
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(2);
		(void)mail_conf_int(conf, "myhostname");
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	pid = fork();
	if (pid == 0) {
		close(2);
		(void)mail_conf_str(conf, "not_a_parameter");
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	mail_conf_free(&conf);
}

#define DIR_TEST(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_sorted_documented),
	    cmocka_unit_test(test_required_parameters),
	    cmocka_unit_test(test_defaults),
	    DIR_TEST(test_load_values),
	    DIR_TEST(test_units),
	    DIR_TEST(test_mydomain_single_label),
	    DIR_TEST(test_bad_int),
	    DIR_TEST(test_bad_time),
	    DIR_TEST(test_bad_size),
	    cmocka_unit_test(test_bad_bool_and_range_texts),
	    DIR_TEST(test_bad_special),
	    DIR_TEST(test_validated_after_expansion),
	    DIR_TEST(test_expansion_and_errors),
	    DIR_TEST(test_cycles),
	    DIR_TEST(test_syntax_error),
	    DIR_TEST(test_missing_file),
	    DIR_TEST(test_warnings),
	    DIR_TEST(test_warning_logged),
	    cmocka_unit_test(test_parse_in_memory),
	    DIR_TEST(test_override),
	    DIR_TEST(test_dup_independent),
	    cmocka_unit_test(test_wrong_type_panics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
