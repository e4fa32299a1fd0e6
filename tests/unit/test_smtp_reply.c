/*
 * test_smtp_reply - the smtp agent's reply parser: one-line and multi-line
 * replies, enhanced status codes (and their repetition on continuation
 * lines), malformed lines, limits, replies fed one after another; EHLO
 * keywords (SIZE, AUTH in both syntaxes, unknown keywords); xtext.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp.h"

/* feed_all - feed the lines; the status of the last feed. */
static int feed_all(struct smtp_reply *r, const char *const *lines)
{
	char *err = NULL;
	int st = -1;

	for (; *lines != NULL; lines++) {
		st = smtp_reply_feed(r, *lines, strlen(*lines), &err);
		if (st < 0) {
			free(err);
			return -1;
		}
	}
	return st;
}

static void test_single_line(void **state)
{
	struct smtp_reply r;

	smtp_reply_init(&r);
	assert_int_equal(feed_all(&r, (const char *[]){"250 2.1.5 Ok", NULL}), 1);
	assert_int_equal(r.code, 250);
	assert_string_equal(r.dsn, "2.1.5");
	assert_string_equal(strbuf_str(&r.text), "250 2.1.5 Ok");
	/* a new reply after a complete one starts afresh */
	assert_int_equal(feed_all(&r, (const char *[]){"354", NULL}), 1);
	assert_int_equal(r.code, 354);
	assert_string_equal(r.dsn, "");
	assert_string_equal(smtp_reply_dsn(&r, "2.0.0"), "2.0.0");
	assert_string_equal(strbuf_str(&r.text), "354");
	/* the class of an enhanced code must match the reply's */
	assert_int_equal(feed_all(&r, (const char *[]){"550 4.1.1 odd", NULL}), 1);
	assert_string_equal(r.dsn, "");
	assert_int_equal(feed_all(&r, (const char *[]){"550 5.1.10 Null MX", NULL}), 1);
	assert_string_equal(r.dsn, "5.1.10");
	assert_int_equal(feed_all(&r, (const char *[]){"550 5.1.1234 x", NULL}), 1);
	assert_string_equal(r.dsn, "");
	assert_int_equal(feed_all(&r, (const char *[]){"250 2.0.0", NULL}), 1);
	assert_string_equal(r.dsn, "2.0.0");
	smtp_reply_free(&r);
}

static void test_multi_line(void **state)
{
	struct smtp_reply r;
	char *err = NULL;

	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, "550-5.7.1 first", 15, &err), 0);
	assert_false(r.done);
	assert_int_equal(smtp_reply_feed(&r, "550-5.7.1 second", 16, &err), 0);
	assert_int_equal(smtp_reply_feed(&r, "550 last", 8, &err), 1);
	assert_true(r.done);
	assert_int_equal(r.nlines, 3);
	assert_string_equal(strbuf_str(&r.text), "550-5.7.1 first second last");
	assert_string_equal(r.dsn, "5.7.1");
	assert_string_equal(strbuf_str(&r.lines), "5.7.1 first\n5.7.1 second\nlast\n");
	smtp_reply_free(&r);
}

static void test_malformed(void **state)
{
	static const char *const bad[][3] = {
	    {"25", NULL},    {"2500 x", NULL}, {"abc def", NULL},	 {"650 x", NULL},
	    {"150 x", NULL}, {"250_x", NULL},  {"250-a", "251 b", NULL}, {"250-a", "550-b", NULL},
	};
	struct smtp_reply r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		smtp_reply_init(&r);
		if (feed_all(&r, bad[i]) != -1)
			fail_msg("accepted reply %zu", i);
		smtp_reply_free(&r);
	}
}

static void test_limits(void **state)
{
	struct smtp_reply r;
	char line[SMTP_REPLY_LINE_MAX];
	char *err = NULL;
	int i, st = 0;

	smtp_reply_init(&r);
	memset(line, 'x', sizeof(line));
	memcpy(line, "250-", 4);
	for (i = 0; i < SMTP_REPLY_LINES_MAX && st == 0; i++)
		st = smtp_reply_feed(&r, line, sizeof(line), &err);
	assert_int_equal(st, 0);
	assert_true(r.text.len <= SMTP_REPLY_TEXT_MAX);
	assert_int_equal(smtp_reply_feed(&r, "250 end", 7, &err), -1);
	free(err);
	smtp_reply_free(&r);
}

static void test_ehlo(void **state)
{
	struct smtp_reply r;
	struct smtp_ehlo e;

	smtp_reply_init(&r);
	assert_int_equal(
	    feed_all(&r, (const char *[]){"250-mx.example.org greets you", "250-PIPELINING",
					  "250-SIZE 10240000", "250-8bitmime", "250-AUTH=LOGIN",
					  "250-AUTH plain Login CRAM-MD5", "250-X-UNKNOWN foo",
					  "250-STARTTLS", "250-DSN", "250-ENHANCEDSTATUSCODES",
					  "250 SMTPUTF8", NULL}),
	    1);
	smtp_ehlo_parse(&r, &e);
	assert_int_equal(e.features, SMTP_FEAT_PIPELINING | SMTP_FEAT_SIZE | SMTP_FEAT_8BITMIME |
					 SMTP_FEAT_AUTH | SMTP_FEAT_STARTTLS | SMTP_FEAT_DSN |
					 SMTP_FEAT_ENHANCEDSTATUSCODES | SMTP_FEAT_SMTPUTF8);
	assert_int_equal(e.size_limit, 10240000);
	assert_string_equal(e.auth, "LOGIN PLAIN LOGIN CRAM-MD5");
	assert_true(smtp_ehlo_has_auth(&e, "PLAIN"));
	assert_true(smtp_ehlo_has_auth(&e, "CRAM-MD5"));
	assert_false(smtp_ehlo_has_auth(&e, "CRAM"));
	assert_false(smtp_ehlo_has_auth(&e, "XOAUTH2"));
	smtp_ehlo_free(&e);

	/* the greeting line is not a keyword; SIZE without a number; PIPELININGX is not PIPELINING */
	assert_int_equal(
	    feed_all(&r, (const char *[]){"250-PIPELINING", "250-SIZE", "250 PIPELININGX", NULL}),
	    1);
	smtp_ehlo_parse(&r, &e);
	assert_int_equal(e.features, SMTP_FEAT_SIZE);
	assert_int_equal(e.size_limit, 0);
	assert_null(e.auth);
	smtp_ehlo_free(&e);
	smtp_reply_free(&r);
}

static void test_xtext(void **state)
{
	struct strbuf out = STRBUF_INIT;

	smtp_xtext(&out, "a+b=c d\x01\xc3\xa9~!");
	assert_string_equal(strbuf_str(&out), "a+2Bb+3Dc+20d+01+C3+A9~!");
	strbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_line), cmocka_unit_test(test_multi_line),
	    cmocka_unit_test(test_malformed),	cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_ehlo),	cmocka_unit_test(test_xtext),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
