/*
 * test_imap_fetch - FETCH data items: the macros, every item, sections
 * with parts, HEADER.FIELDS lists (atoms and quoted names), MIME, BINARY
 * and partial ranges, the names responses give them, and a table of
 * malformed items that must be refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_fetch.h"
#include "imap/imap_parser.h"
#include "util/strbuf.h"

/* fetch_text - parse "a FETCH 1 <items>"; the response names, or "ERR". */
static char *fetch_text(const char *items, int *seen_r)
{
	struct imap_parser *p = imap_parser_create(NULL);
	struct imap_parse_event ev;
	struct strbuf line = STRBUF_INIT, out = STRBUF_INIT;
	struct imap_fetch fetch;
	char *err = NULL;
	size_t i;

	strbuf_printf(&line, "a FETCH 1 %s\r\n", items);
	imap_parser_feed(p, line.data, line.len);
	if (imap_parser_next(p, &ev) != IMAP_PARSE_COMMAND)
		fail_msg("%s: %s", items, ev.error);
	assert_int_equal(imap_parser_command(p)->nargs, 2);
	if (imap_fetch_parse(&imap_parser_command(p)->args[1], &fetch, &err) < 0) {
		assert_non_null(err);
		assert_non_null(strstr(err, "fetch attribute"));
		strbuf_puts(&out, "ERR");
		free(err);
	} else {
		for (i = 0; i < fetch.count; i++) {
			if (i > 0)
				strbuf_putc(&out, ' ');
			imap_fetch_att_name(&out, &fetch.atts[i]);
			if (fetch.atts[i].peek)
				strbuf_puts(&out, "/peek");
			if (fetch.atts[i].partial)
				strbuf_printf(&out, "/%llu",
					      (unsigned long long)fetch.atts[i].length);
		}
		*seen_r = fetch.changes_seen;
	}
	imap_fetch_free(&fetch);
	imap_parser_free(&p);
	strbuf_free(&line);
	return strbuf_detach(&out);
}

struct fetch_case {
	const char *items;
	const char *names;
	int seen;
};

static const struct fetch_case cases[] = {
    {"ALL", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE", 0},
    {"fast", "FLAGS INTERNALDATE RFC822.SIZE", 0},
    {"FULL", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY", 0},
    {"(FLAGS UID RFC822.SIZE)", "FLAGS UID RFC822.SIZE", 0},
    {"(envelope internaldate body bodystructure modseq)",
     "ENVELOPE INTERNALDATE BODY BODYSTRUCTURE MODSEQ", 0},
    {"RFC822", "RFC822", 1},
    {"RFC822.HEADER", "RFC822.HEADER", 0},
    {"RFC822.TEXT", "RFC822.TEXT", 1},
    {"BODY[]", "BODY[]", 1},
    {"BODY.PEEK[]", "BODY[]/peek", 0},
    {"body[header]", "BODY[HEADER]", 1},
    {"BODY.PEEK[HEADER.FIELDS (From \"To\" x-a)]<0.100>",
     "BODY[HEADER.FIELDS (From To x-a)]<0>/peek/100", 0},
    {"BODY[HEADER.FIELDS.NOT (Received)]", "BODY[HEADER.FIELDS.NOT (Received)]", 1},
    {"BODY.PEEK[HEADER.FIELDS (DATE FROM)]", "BODY[HEADER.FIELDS (DATE FROM)]/peek", 0},
    {"BODY.PEEK[HEADER.FIELDS ( a   b )]", "BODY[HEADER.FIELDS (a b)]/peek", 0},
    {"BODY.PEEK[HEADER.FIELDS (\"a\\\\b\" \"c]\")]", "BODY[HEADER.FIELDS (\"a\\\\b\" \"c]\")]/peek",
     0},
    {"body.peek[1.2.mime]", "BODY[1.2.MIME]/peek", 0},
    {"BODY[1.2.3]", "BODY[1.2.3]", 1},
    {"BODY.PEEK[1.TEXT]<10.5>", "BODY[1.TEXT]<10>/peek/5", 0},
    {"BODY.PEEK[4.2.HEADER]", "BODY[4.2.HEADER]/peek", 0},
    {"BODY[4294967295]", "BODY[4294967295]", 1},
    {"BODY.PEEK[]<0.9223372036854775807>", "BODY[]<0>/peek/9223372036854775807", 0},
    {"BINARY[]", "BINARY[]", 1},
    {"BINARY.PEEK[1]<5.10>", "BINARY[1]<5>/peek/10", 0},
    {"BINARY.SIZE[2.1]", "BINARY.SIZE[2.1]", 0},
    {"(UID BINARY.PEEK[1] BODY.PEEK[2])", "UID BINARY[1]/peek BODY[2]/peek", 0},
    /* refused */
    {"FOO", "ERR", 0},
    {"\"FLAGS\"", "ERR", 0},
    {"()", "ERR", 0},
    {"(FLAGS (UID))", "ERR", 0},
    {"(FLAGS ALL)", "ERR", 0},
    {"NIL", "ERR", 0},
    {"BODY.PEEK", "ERR", 0},
    {"BINARY", "ERR", 0},
    {"FLAGS[]", "ERR", 0},
    {"BODY[MIME]", "ERR", 0},
    {"BODY[1.]", "ERR", 0},
    {"BODY[1TEXT]", "ERR", 0},
    {"BODY[.TEXT]", "ERR", 0},
    {"BODY[0]", "ERR", 0},
    {"BODY[01]", "ERR", 0},
    {"BODY[1..2]", "ERR", 0},
    {"BODY[4294967296]", "ERR", 0},
    {"BODY[HEADERX]", "ERR", 0},
    {"BODY[TEXT]x", "ERR", 0},
    {"BODY[TEXT ]", "ERR", 0},
    {"BODY[HEADER.FIELDS]", "ERR", 0},
    {"BODY[HEADER.FIELDS ()]", "ERR", 0},
    {"BODY[HEADER.FIELDS (a:b)]", "ERR", 0},
    {"BODY[HEADER.FIELDS (\"a b\")]", "ERR", 0},
    {"BODY[HEADER.FIELDS (\"\")]", "ERR", 0},
    {"BODY[HEADER.FIELDS (a\"b\")]", "ERR", 0},
    {"BODY[HEADER.FIELDS (a)x]", "ERR", 0},
    {"BODY[HEADER.FIELDS(a)]", "ERR", 0},
    {"BINARY[1.TEXT]", "ERR", 0},
    {"BINARY[HEADER]", "ERR", 0},
    {"BINARY.SIZE[1]<0.1>", "ERR", 0},
    {"BODY[]<0.0>", "ERR", 0},
    {"BODY[]<0>", "ERR", 0},
    {"BODY[]<a.1>", "ERR", 0},
    {"BODY[]<01.1>", "ERR", 0},
    {"BODY[]<0.1>x", "ERR", 0},
    {"BODY[]<0.9223372036854775808>", "ERR", 0},
    {"BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27.28.29.30.31."
     "32]",
     "BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27.28.29.30.31."
     "32]",
     1},
    {"BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27.28.29.30.31."
     "32.33]",
     "ERR", 0},
};

static void test_cases(void **state)
{
	size_t i;
	char *text;
	int seen;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		seen = -1;
		text = fetch_text(cases[i].items, &seen);
		if (strcmp(text, cases[i].names) != 0)
			fail_msg("%s: %s, expected %s", cases[i].items, text, cases[i].names);
		if (strcmp(text, "ERR") != 0 && seen != cases[i].seen)
			fail_msg("%s: changes_seen %d", cases[i].items, seen);
		free(text);
	}
}

static void test_fields(void **state)
{
	struct imap_parser *p = imap_parser_create(NULL);
	struct imap_parse_event ev;
	struct imap_fetch fetch;
	const char *line = "a FETCH 1 BODY.PEEK[1.HEADER.FIELDS.NOT (From \"X-A\")]\r\n";
	char *err = NULL;

	(void)state;
	imap_parser_feed(p, line, strlen(line));
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_COMMAND);
	assert_int_equal(imap_fetch_parse(&imap_parser_command(p)->args[1], &fetch, &err), 0);
	assert_int_equal(fetch.count, 1);
	assert_int_equal(fetch.atts[0].type, IMAP_FETCH_SECTION);
	assert_int_equal(fetch.atts[0].text, IMAP_SECTION_HEADER_FIELDS_NOT);
	assert_int_equal(fetch.atts[0].nparts, 1);
	assert_int_equal(fetch.atts[0].part[0], 1);
	assert_int_equal(fetch.atts[0].nfields, 2);
	assert_string_equal(fetch.atts[0].fields[0], "From");
	assert_string_equal(fetch.atts[0].fields[1], "X-A");
	assert_int_equal(fetch.atts[0].partial, 0);
	imap_fetch_free(&fetch);
	assert_int_equal(fetch.count, 0);
	imap_parser_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
