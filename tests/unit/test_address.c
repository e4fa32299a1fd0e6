/*
 * test_address - envelope address parsing: a table of valid addresses with
 * their normalised forms, a table of invalid ones with the words their
 * errors must contain, the length limits at and just over each bound,
 * UTF-8 and IDN domains, and the round trip parse(format(a)) == a.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/address.h"
#include "util/mymalloc.h"

#define U ADDRESS_UTF8
#define N ADDRESS_NULL_OK
#define D ADDRESS_NO_DOMAIN_OK
#define L ADDRESS_NO_LITERAL

struct valid_case {
	const char *input;
	int flags;
	const char *formatted; /* address_format() */
	const char *local;     /* NULL: the null sender */
	const char *domain;    /* NULL: none */
};

static const struct valid_case valid_cases[] = {
    {"alice@example.org", 0, "alice@example.org", "alice", "example.org"},
    {"Alice.Smith@Example.ORG", 0, "Alice.Smith@example.org", "Alice.Smith", "example.org"},
    {"<bob@example.org>", 0, "bob@example.org", "bob", "example.org"},
    {"<@relay.example,@[192.0.2.9]:bob@c.example>", 0, "bob@c.example", "bob", "c.example"},
    {"<@Relay.example:x@y.example>", 0, "x@y.example", "x", "y.example"},
    {"\"john\"@x.example", 0, "john@x.example", "john", "x.example"},
    {"\"john doe\"@x.example", 0, "\"john doe\"@x.example", "john doe", "x.example"},
    {"\"a\\\"b\\\\c\"@x.example", 0, "\"a\\\"b\\\\c\"@x.example", "a\"b\\c", "x.example"},
    {"\"\\j\\o\"@x.example", 0, "jo@x.example", "jo", "x.example"},
    {"\"a.\"@x.example", 0, "\"a.\"@x.example", "a.", "x.example"},
    {"\"a..b\"@x.example", 0, "\"a..b\"@x.example", "a..b", "x.example"},
    {"\"a@b\"@x.example", 0, "\"a@b\"@x.example", "a@b", "x.example"},
    {"a+tag-x@x.example", 0, "a+tag-x@x.example", "a+tag-x", "x.example"},
    {"!#$%&'*+-/=?^_`{|}~@x.example", 0, "!#$%&'*+-/=?^_`{|}~@x.example", "!#$%&'*+-/=?^_`{|}~",
     "x.example"},
    {"user@[192.0.2.1]", 0, "user@[192.0.2.1]", "user", "[192.0.2.1]"},
    {"user@[IPv6:2001:DB8:0:0::1]", 0, "user@[IPv6:2001:db8::1]", "user", "[IPv6:2001:db8::1]"},
    {"user@[ipv6:::1]", 0, "user@[IPv6:::1]", "user", "[IPv6:::1]"},
    {"a@localhost", 0, "a@localhost", "a", "localhost"},
    {"a@1-2.3com", 0, "a@1-2.3com", "a", "1-2.3com"},
    {"a@xn--bcher-kva.example", 0, "a@xn--bcher-kva.example", "a", "xn--bcher-kva.example"},
    {"a@XN--BCHER-KVA.Example", 0, "a@xn--bcher-kva.example", "a", "xn--bcher-kva.example"},
    {"a@Bücher.example", U, "a@xn--bcher-kva.example", "a", "xn--bcher-kva.example"},
    {"a@BÜCHER.EXAMPLE", U, "a@xn--bcher-kva.example", "a", "xn--bcher-kva.example"},
    {"José@Bücher.example", U, "José@xn--bcher-kva.example", "José", "xn--bcher-kva.example"},
    {"用户@例え.jp", U, "用户@xn--r8jz45g.jp", "用户", "xn--r8jz45g.jp"},
    {"\"jö sé\"@x.example", U, "\"jö sé\"@x.example", "jö sé", "x.example"},
    {"<>", N, "", NULL, NULL},
    {"postmaster", D, "postmaster", "postmaster", NULL},
    {"<Postmaster>", D, "Postmaster", "Postmaster", NULL},
    {"\"a b\"", D, "\"a b\"", "a b", NULL},
};

struct invalid_case {
	const char *input;
	int flags;
	const char *error; /* a part of the message */
};

static const struct invalid_case invalid_cases[] = {
    {"", 0, "empty address"},
    {"@x.example", 0, "empty local part"},
    {"\"\"@x.example", 0, "empty local part"},
    {"a@", 0, "empty domain"},
    {"a", 0, "no domain"},
    {"a..b@x.example", 0, "dot"},
    {".a@x.example", 0, "dot"},
    {"a.@x.example", 0, "dot"},
    {"a b@x.example", 0, "character ' '"},
    {"a(b)@x.example", 0, "character '('"},
    {"a@b@x.example", 0, "character '@'"},
    {"a@-x.example", 0, "'-'"},
    {"a@x-.example", 0, "'-'"},
    {"a@x..example", 0, "empty label"},
    {"a@.x.example", 0, "empty label"},
    {"a@x.example.", 0, "ends with a dot"},
    {"a@x_y.example", 0, "character '_'"},
    {"a@x y.example", 0, "character ' '"},
    {"<a@x.example", 0, "'<' without '>'"},
    {"a@x.example>", 0, "'>' without '<'"},
    {"<>", 0, "null address"},
    {"<>", D, "null address"},
    {"\"unterminated@x.example", 0, "unterminated"},
    {"\"a\\", 0, "unterminated"},
    {"\"a\"b@x.example", 0, "followed by '@'"},
    {"a\x01@x.example", 0, "control character 0x01"},
    {"\"a\x7f\"@x.example", 0, "control character 0x7f"},
    {"\"a\\\x01\"@x.example", 0, "control character"},
    {"jösé@x.example", 0, "needs SMTPUTF8"},
    {"a@bücher.example", 0, "needs SMTPUTF8"},
    {"\"jö\"@x.example", 0, "needs SMTPUTF8"},
    {"\xc3\x28@x.example", U, "not valid UTF-8"},
    {"\xc0\xaf@x.example", U, "not valid UTF-8"},
    {"\xed\xa0\x80@x.example", U, "not valid UTF-8"},
    {"\xf4\x90\x80\x80@x.example", U, "not valid UTF-8"},
    {"a@\xc3\x28.example", U, "not valid UTF-8"},
    {"a@☃.example", U, "international domain name"},
    {"a@xn--zz.example", 0, "international domain name"},
    {"a@[300.1.1.1]", 0, "invalid IPv4"},
    {"a@[01.2.3.4]", 0, "invalid IPv4"},
    {"a@[IPv6:zz::1]", 0, "invalid IPv6"},
    {"a@[IPv6:1.2.3.4]", 0, "invalid IPv6"},
    {"a@[foo:bar]", 0, "unsupported address literal"},
    {"a@[1.2.3.4", 0, "without ']'"},
    {"a@[1.2.3.4]", L, "not accepted"},
    {"<@relay.example:>", 0, "empty address"},
    {"<@relay.example>", 0, "source route"},
    {"<@relay.example,x.example:a@b.example>", 0, "source route"},
    {"<@bad_route.example:a@b.example>", 0, "source route"},
    {"<<a@x.example>>", 0, "character '<'"},
};

static void test_valid(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const struct valid_case *c = &valid_cases[i];
		struct address a;
		char *err = NULL, *text;

		if (address_parse(c->input, strlen(c->input), c->flags, &a, &err) < 0)
			fail_msg("%s: %s", c->input, err);
		text = address_format(&a);
		if (strcmp(text, c->formatted) != 0)
			fail_msg("%s: formatted \"%s\", expected \"%s\"", c->input, text,
				 c->formatted);
		assert_int_equal(a.null, c->local == NULL);
		if (c->local != NULL)
			assert_string_equal(a.local, c->local);
		if (c->domain == NULL)
			assert_null(a.domain);
		else
			assert_string_equal(a.domain, c->domain);
		assert_int_equal(a.literal, c->domain != NULL && c->domain[0] == '[');
		free(text);
		address_free(&a);
	}
}

static void test_invalid(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++) {
		const struct invalid_case *c = &invalid_cases[i];
		struct address a;
		char *err = NULL;

		if (address_parse(c->input, strlen(c->input), c->flags, &a, &err) == 0)
			fail_msg("\"%s\" was accepted", c->input);
		assert_non_null(err);
		if (strstr(err, c->error) == NULL)
			fail_msg("\"%s\": error \"%s\" does not mention \"%s\"", c->input, err,
				 c->error);
		free(err);
		address_free(&a);
	}
}

/* parse_status - 0 or -1 from address_parse, freeing everything. */
static int parse_status(const char *input, size_t len, int flags)
{
	struct address a;
	char *err = NULL;
	int ret = address_parse(input, len, flags, &a, &err);

	free(err);
	address_free(&a);
	return ret;
}

static void test_nul_byte(void **state)
{
	assert_int_equal(parse_status("a\0b@x.example", 13, 0), -1);
	assert_int_equal(parse_status("a@x.exam\0ple", 12, 0), -1);
	assert_int_equal(parse_status("ab@x.example", 12, 0), 0);
}

/* repeat - n copies of c, malloc'd. */
static char *repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* domain_of_length - a valid domain name of exactly len bytes (labels of up to 63). */
static char *domain_of_length(size_t len)
{
	char *d = repeat('a', len);
	size_t i;

	for (i = 63; i < len - 1; i += 64)
		d[i] = '.';
	return d;
}

static void test_local_part_limit(void **state)
{
	char *local = repeat('l', 64), *addr;

	addr = xasprintf("%s@x.example", local);
	assert_int_equal(parse_status(addr, strlen(addr), 0), 0);
	free(addr);
	addr = xasprintf("%sl@x.example", local);
	assert_int_equal(parse_status(addr, strlen(addr), 0), -1);
	free(addr);
	/* The quotes count: 62 letters and a space need 65 bytes written. */
	local[61] = ' ';
	local[62] = '\0';
	addr = xasprintf("\"%s\"@x.example", local);
	assert_int_equal(parse_status(addr, strlen(addr), 0), 0);
	free(addr);
	addr = xasprintf("\"%sx\"@x.example", local);
	assert_int_equal(parse_status(addr, strlen(addr), 0), -1);
	free(addr);
	free(local);
}

static void test_domain_limits(void **state)
{
	char *d, *err = NULL, *res = NULL, *label;

	d = domain_of_length(255);
	assert_int_equal(address_domain_normalise(d, strlen(d), 0, &res, &err), 0);
	assert_string_equal(res, d);
	free(res);
	free(d);
	d = domain_of_length(256);
	assert_int_equal(address_domain_normalise(d, strlen(d), 0, &res, &err), -1);
	assert_non_null(strstr(err, "longer than 255"));
	free(err);
	free(d);
	label = repeat('b', 63);
	d = xasprintf("%s.example", label);
	assert_int_equal(address_domain_normalise(d, strlen(d), 0, &res, &err), 0);
	free(res);
	free(d);
	d = xasprintf("%sb.example", label);
	assert_int_equal(address_domain_normalise(d, strlen(d), 0, &res, &err), -1);
	assert_non_null(strstr(err, "longer than 63"));
	free(err);
	free(d);
	free(label);
}

static void test_address_limit(void **state)
{
	char *local = repeat('l', 64), *d = domain_of_length(189), *addr;

	addr = xasprintf("%s@%s", local, d);
	assert_int_equal(strlen(addr), 254);
	assert_int_equal(parse_status(addr, strlen(addr), 0), 0);
	free(addr);
	free(d);
	d = domain_of_length(190);
	addr = xasprintf("%s@%s", local, d);
	assert_int_equal(parse_status(addr, strlen(addr), 0), -1);
	free(addr);
	free(d);
	free(local);
	/* Far too long input is refused before it is looked at. */
	addr = repeat('a', 5000);
	assert_int_equal(parse_status(addr, strlen(addr), D), -1);
	free(addr);
}

static void test_utf8_local_limit_counts_bytes(void **state)
{
	char *addr;
	/* 32 two-byte characters are 64 bytes; one more is too long. */
	char local[80] = "";
	int i;

	for (i = 0; i < 32; i++)
		strcat(local, "é");
	addr = xasprintf("%s@x.example", local);
	assert_int_equal(parse_status(addr, strlen(addr), U), 0);
	free(addr);
	addr = xasprintf("%sa@x.example", local);
	assert_int_equal(parse_status(addr, strlen(addr), U), -1);
	free(addr);
}

static void test_round_trip(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const struct valid_case *c = &valid_cases[i];
		struct address a, b;
		char *err = NULL, *text, *again;

		assert_int_equal(address_parse(c->input, strlen(c->input), c->flags, &a, &err), 0);
		text = address_format(&a);
		if (a.null) {
			/* The null sender is written "<>" in a path. */
			free(text);
			text = xstrdup("<>");
		}
		if (address_parse(text, strlen(text), c->flags, &b, &err) < 0)
			fail_msg("%s: reparsing \"%s\": %s", c->input, text, err);
		again = address_format(&b);
		assert_string_equal(again, a.null ? "" : text);
		assert_int_equal(a.null, b.null);
		if (a.local != NULL)
			assert_string_equal(a.local, b.local);
		free(again);
		free(text);
		address_free(&a);
		address_free(&b);
	}
}

static void test_quote_local(void **state)
{
	char *q;

	q = address_quote_local("plain.name");
	assert_string_equal(q, "plain.name");
	free(q);
	q = address_quote_local("with space");
	assert_string_equal(q, "\"with space\"");
	free(q);
	q = address_quote_local("quote\"and\\slash");
	assert_string_equal(q, "\"quote\\\"and\\\\slash\"");
	free(q);
	q = address_quote_local(".leading");
	assert_string_equal(q, "\".leading\"");
	free(q);
	q = address_quote_local("");
	assert_string_equal(q, "\"\"");
	free(q);
}

static void test_utf8_valid(void **state)
{
	assert_true(address_utf8_valid("", 0));
	assert_true(address_utf8_valid("abc", 3));
	assert_true(address_utf8_valid("é€𝄞", strlen("é€𝄞")));
	assert_false(address_utf8_valid("\x80", 1));
	assert_false(address_utf8_valid("\xc3", 1));
	assert_false(address_utf8_valid("\xe2\x82", 2));
	assert_false(address_utf8_valid("\xe0\x80\x80", 3));
	assert_false(address_utf8_valid("\xf8\x88\x80\x80\x80", 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_local_part_limit),
	    cmocka_unit_test(test_domain_limits),
	    cmocka_unit_test(test_address_limit),
	    cmocka_unit_test(test_utf8_local_limit_counts_bytes),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_quote_local),
	    cmocka_unit_test(test_utf8_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
