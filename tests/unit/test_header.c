/*
 * test_header - the RFC 5322 header parser: fields and folding, the two
 * ways a header section ends, the obsolete "name :" form, and the limits
 * on field size and field count (just at and just over each).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/header.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* What the callback saw: one line per field, "name|value|size|lines". */
struct seen {
	struct strbuf log;
	size_t calls;
};

static void on_field(const struct header_field *f, void *ctx)
{
	struct seen *s = ctx;

	assert_int_equal(f->value[f->value_len], '\0');
	assert_int_equal(f->raw[f->raw_len], '\0');
	assert_ptr_equal(f->name, f->raw);
	strbuf_append(&s->log, f->name, f->name_len);
	strbuf_printf(&s->log, "|%s|%zu|%zu\n", f->value, f->size, f->lines);
	s->calls++;
}

/*
 * feed - the lines of text ('\n'-separated; the last without '\n' is fed
 * too) until the parser stops; returns the last status and how many lines
 * were fed in *fed_r.
 */
static enum header_status feed(struct header_parser *p, const char *text, size_t *fed_r)
{
	enum header_status st = HEADER_MORE;
	const char *nl;

	*fed_r = 0;
	while (st == HEADER_MORE && *text != '\0') {
		nl = strchr(text, '\n');
		if (nl == NULL)
			nl = text + strlen(text);
		st = header_parser_line(p, text, (size_t)(nl - text));
		(*fed_r)++;
		text = *nl != '\0' ? nl + 1 : nl;
	}
	return st;
}

static void test_fields_and_folding(void **state)
{
	struct seen s = {STRBUF_INIT, 0};
	struct header_parser *p = header_parser_create(1000, 100, on_field, &s);
	size_t fed;

	(void)state;
	assert_int_equal(feed(p,
			      "From: a@example.org\n"
			      "Subject: a long\n"
			      " subject\n"
			      "\tfolded twice\n"
			      "X-Empty:\n"
			      "Obsolete  : spaced name\n"
			      "\n"
			      "body\n",
			      &fed),
			 HEADER_END);
	assert_int_equal(fed, 7);
	assert_string_equal(s.log.data, "From|a@example.org|21|1\n"
					"Subject|a long subject\tfolded twice|42|3\n"
					"X-Empty||10|1\n"
					"Obsolete|spaced name|25|1\n");
	assert_int_equal(header_parser_count(p), 4);
	header_parser_free(&p);
	strbuf_free(&s.log);
}

/* A line that is neither field nor continuation ends the header; it is the body's. */
static void test_end_without_empty_line(void **state)
{
	static const char *const bodies[] = {
	    "no colon here",
	    "bad name: x", /* a space in the name */
	    ":no name",
	    "\x80utf8: x",
	};
	struct seen s = {STRBUF_INIT, 0};
	struct header_parser *p;
	struct strbuf text = STRBUF_INIT;
	size_t i, fed;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		strbuf_reset(&s.log);
		strbuf_reset(&text);
		strbuf_printf(&text, "A: 1\n b\n%s\nC: 2\n", bodies[i]);
		p = header_parser_create(1000, 100, on_field, &s);
		assert_int_equal(feed(p, text.data, &fed), HEADER_BODY);
		assert_int_equal(fed, 3);
		assert_string_equal(s.log.data, "A|1 b|10|2\n");
		header_parser_free(&p);
	}
	/* a continuation line first: no field to continue, so the body starts at once */
	strbuf_reset(&s.log);
	p = header_parser_create(1000, 100, on_field, &s);
	assert_int_equal(header_parser_line(p, " x: y", 5), HEADER_BODY);
	assert_int_equal(header_parser_count(p), 0);
	header_parser_free(&p);
	strbuf_free(&s.log);
	strbuf_free(&text);
}

/* The input ends inside the header: header_parser_end delivers the last field. */
static void test_end_of_input(void **state)
{
	struct seen s = {STRBUF_INIT, 0};
	struct header_parser *p = header_parser_create(1000, 100, on_field, &s);
	size_t fed;

	(void)state;
	assert_int_equal(feed(p, "A: 1\nB: 2\n more", &fed), HEADER_MORE);
	assert_true(header_parser_in_field(p));
	assert_string_equal(strbuf_str(&s.log), "A|1|6|1\n");
	assert_int_equal(header_parser_end(p), HEADER_END);
	assert_string_equal(s.log.data, "A|1|6|1\nB|2 more|13|2\n");
	assert_false(header_parser_in_field(p));
	/* again: nothing more */
	assert_int_equal(header_parser_end(p), HEADER_END);
	assert_int_equal(s.calls, 2);
	header_parser_free(&p);
	strbuf_free(&s.log);
}

/* field_limit counts every line with its CRLF: exactly at the limit is fine. */
static void test_size_limit(void **state)
{
	struct seen s = {STRBUF_INIT, 0};
	struct header_parser *p;
	struct strbuf line = STRBUF_INIT;
	size_t fed;

	(void)state;
	/* "A: " + 15 = 18 bytes + CRLF = 20 */
	strbuf_puts(&line, "A: 123456789012345");
	p = header_parser_create(20, 100, on_field, &s);
	assert_int_equal(header_parser_line(p, line.data, line.len), HEADER_MORE);
	assert_int_equal(header_parser_line(p, "", 0), HEADER_END);
	header_parser_free(&p);
	p = header_parser_create(19, 100, on_field, &s);
	assert_int_equal(header_parser_line(p, line.data, line.len), HEADER_TOO_LONG);
	header_parser_free(&p);
	/* through continuation lines: 6 + 6 + 6 = 18 is fine, a fourth line is not */
	p = header_parser_create(18, 100, on_field, &s);
	assert_int_equal(feed(p, "A: 1\n 123\n 456\n 7", &fed), HEADER_TOO_LONG);
	assert_int_equal(fed, 4);
	header_parser_free(&p);
	strbuf_free(&s.log);
	strbuf_free(&line);
}

/* count_limit fields are fine; one more is refused when it starts. */
static void test_count_limit(void **state)
{
	struct seen s = {STRBUF_INIT, 0};
	struct header_parser *p;
	size_t fed;

	(void)state;
	p = header_parser_create(1000, 3, on_field, &s);
	assert_int_equal(feed(p, "A: 1\nB: 2\nC: 3\n c\n\n", &fed), HEADER_END);
	header_parser_free(&p);
	p = header_parser_create(1000, 3, on_field, &s);
	assert_int_equal(feed(p, "A: 1\nB: 2\nC: 3\nD: 4\n\n", &fed), HEADER_TOO_MANY);
	assert_int_equal(fed, 4);
	assert_int_equal(header_parser_count(p), 3);
	assert_int_equal(header_parser_end(p), HEADER_TOO_MANY);
	header_parser_free(&p);
	strbuf_free(&s.log);
}

static void test_names(void **state)
{
	struct header_field f;

	(void)state;
	assert_int_equal(header_field_name_len("Subject: x", 10), 7);
	assert_int_equal(header_field_name_len("Subject \t: x", 12), 7);
	assert_int_equal(header_field_name_len("Subject", 7), 0);
	assert_int_equal(header_field_name_len("Sub ject: x", 11), 0);
	assert_int_equal(header_field_name_len(": x", 3), 0);
	assert_int_equal(header_field_name_len("", 0), 0);
	assert_int_equal(header_field_name_len("X-\x7f: x", 6), 0);
	memset(&f, 0, sizeof(f));
	f.name = "MESSAGE-id: x";
	f.name_len = 10;
	assert_true(header_name_is(&f, "Message-ID"));
	assert_false(header_name_is(&f, "Message-I"));
	assert_false(header_name_is(&f, "Message-IDs"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields_and_folding),
	    cmocka_unit_test(test_end_without_empty_line),
	    cmocka_unit_test(test_end_of_input),
	    cmocka_unit_test(test_size_limit),
	    cmocka_unit_test(test_count_limit),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
