/*
 * test_imap_write - server output: when a string goes out as an atom,
 * quoted or as a literal (with and without UTF-8), NIL, mailbox names in
 * both encodings, flag lists, date-times; and the base subject of RFC 5256
 * for SORT and THREAD, with its reply/forward indication.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_arg.h"
#include "imap/imap_subject.h"
#include "imap/imap_write.h"
#include "util/strbuf.h"

#define U IMAP_WRITE_UTF8

struct write_case {
	const char *in;
	size_t len; /* 0: strlen */
	unsigned flags;
	const char *astring;
	const char *string;
};

static const struct write_case write_cases[] = {
    {"INBOX", 0, 0, "INBOX", "\"INBOX\""},
    {"", 0, 0, "\"\"", "\"\""},
    {"NIL", 0, 0, "\"NIL\"", "\"NIL\""},
    {"nil", 0, 0, "\"nil\"", "\"nil\""},
    {"NILS", 0, 0, "NILS", "\"NILS\""},
    {"a b", 0, 0, "\"a b\"", "\"a b\""},
    {"[Gmail]/Sent", 0, 0, "\"[Gmail]/Sent\"", "\"[Gmail]/Sent\""},
    {"a]b", 0, 0, "a]b", "\"a]b\""},
    {"a\"b\\c", 0, 0, "\"a\\\"b\\\\c\"", "\"a\\\"b\\\\c\""},
    {"a%", 0, 0, "\"a%\"", "\"a%\""},
    {"a*", 0, 0, "\"a*\"", "\"a*\""},
    {"(a)", 0, 0, "\"(a)\"", "\"(a)\""},
    {"{3}", 0, 0, "\"{3}\"", "\"{3}\""},
    {"tab\there", 0, 0, "\"tab\there\"", "\"tab\there\""},
    {"a\r\nb", 0, 0, "{4}\r\na\r\nb", "{4}\r\na\r\nb"},
    {"a\nb", 0, U, "{3}\r\na\nb", "{3}\r\na\nb"},
    {"caf\xc3\xa9", 0, 0, "{5}\r\ncaf\xc3\xa9", "{5}\r\ncaf\xc3\xa9"},
    {"caf\xc3\xa9", 0, U, "\"caf\xc3\xa9\"", "\"caf\xc3\xa9\""},
    {"caf\xc3", 0, U, "{4}\r\ncaf\xc3", "{4}\r\ncaf\xc3"},
    {"a\0b", 3, U, "{3}\r\na\0b", "{3}\r\na\0b"},
};

static void check_write(const struct write_case *c)
{
	struct strbuf out = STRBUF_INIT;
	size_t len = c->len != 0 ? c->len : strlen(c->in);
	size_t elen;

	imap_write_astring(&out, c->in, len, c->flags);
	elen = c->len != 0 ? strlen(c->astring) + 2 : strlen(c->astring);
	if (out.len != elen || memcmp(out.data, c->astring, elen) != 0)
		fail_msg("astring of \"%s\": %s", c->in, strbuf_str(&out));
	strbuf_reset(&out);
	imap_write_string(&out, c->in, len, c->flags);
	elen = c->len != 0 ? strlen(c->string) + 2 : strlen(c->string);
	if (out.len != elen || memcmp(out.data, c->string, elen) != 0)
		fail_msg("string of \"%s\": %s", c->in, strbuf_str(&out));
	strbuf_free(&out);
}

static void test_strings(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(write_cases) / sizeof(write_cases[0]); i++)
		check_write(&write_cases[i]);
}

static void test_long_and_nil(void **state)
{
	struct strbuf out = STRBUF_INIT;
	char buf[IMAP_QUOTED_MAX + 1];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	buf[5] = ' ';
	assert_true(imap_string_quotable(buf, IMAP_QUOTED_MAX, 0));
	assert_false(imap_string_quotable(buf, IMAP_QUOTED_MAX + 1, 0));
	imap_write_string(&out, buf, IMAP_QUOTED_MAX + 1, 0);
	assert_int_equal(strncmp(out.data, "{1025}\r\nxxxxx x", 15), 0);
	assert_int_equal(out.len, 8 + IMAP_QUOTED_MAX + 1);
	strbuf_reset(&out);
	imap_write_nstring(&out, NULL, 0, 0);
	strbuf_putc(&out, ' ');
	imap_write_nstring(&out, "NIL", 3, 0);
	strbuf_putc(&out, ' ');
	imap_write_literal(&out, "", 0);
	strbuf_putc(&out, ' ');
	imap_write_quoted(&out, "", 0);
	assert_string_equal(strbuf_str(&out), "NIL \"NIL\" {0}\r\n \"\"");
	strbuf_free(&out);
}

static void test_mailbox(void **state)
{
	struct strbuf out = STRBUF_INIT;

	(void)state;
	imap_write_mailbox(&out, "INBOX", 0);
	strbuf_putc(&out, ' ');
	imap_write_mailbox(&out, "Entw\xc3\xbcrfe", 0);
	strbuf_putc(&out, ' ');
	imap_write_mailbox(&out, "Entw\xc3\xbcrfe", U);
	strbuf_putc(&out, ' ');
	imap_write_mailbox(&out, "Sent Items", 0);
	strbuf_putc(&out, ' ');
	imap_write_mailbox(&out, "a&b", 0);
	strbuf_putc(&out, ' ');
	imap_write_mailbox(&out, "a&b", U);
	strbuf_putc(&out, ' ');
	imap_write_mailbox(&out, "", 0);
	strbuf_putc(&out, ' ');
	imap_write_mailbox(&out, "Caf\xc3\xa9 Cr\xc3\xa8me", 0);
	assert_string_equal(strbuf_str(&out),
			    "INBOX Entw&APw-rfe \"Entw\xc3\xbcrfe\" \"Sent Items\" "
			    "a&-b a&b \"\" \"Caf&AOk- Cr&AOg-me\"");
	strbuf_free(&out);
}

static void test_flags(void **state)
{
	struct strbuf out = STRBUF_INIT;

	(void)state;
	imap_write_flags(&out, 0, NULL, NULL);
	strbuf_putc(&out, ' ');
	imap_write_flags(&out,
			 IMAP_FLAG_SEEN | IMAP_FLAG_ANSWERED | IMAP_FLAG_FLAGGED |
			     IMAP_FLAG_DELETED | IMAP_FLAG_DRAFT | IMAP_FLAG_RECENT,
			 "", NULL);
	strbuf_putc(&out, ' ');
	imap_write_flags(&out, IMAP_FLAG_SEEN, "$Forwarded  Junk ", "\\*");
	strbuf_putc(&out, ' ');
	imap_write_flags(&out, 0, " a b", NULL);
	strbuf_putc(&out, ' ');
	imap_write_flags(&out, 0, NULL, "\\*");
	assert_string_equal(strbuf_str(&out),
			    "() (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\Recent) "
			    "(\\Seen $Forwarded Junk \\*) (a b) (\\*)");
	strbuf_free(&out);
}

static void test_datetime(void **state)
{
	struct strbuf out = STRBUF_INIT;

	(void)state;
	imap_write_datetime(&out, 837596665, -420);
	assert_string_equal(strbuf_str(&out), "\"17-Jul-1996 02:44:25 -0700\"");
	strbuf_reset(&out);
	imap_write_datetime(&out, 0, 0);
	assert_string_equal(strbuf_str(&out), "\"01-Jan-1970 00:00:00 +0000\"");
	strbuf_free(&out);
}

struct subject_case {
	const char *subject;
	const char *base;
	int reply;
};

static const struct subject_case subjects[] = {
    {"Hello", "Hello", 0},
    {"", "", 0},
    {"   ", "", 0},
    {"Re: Hello", "Hello", 1},
    {"RE: re: Fwd: Hello (fwd)", "Hello", 1},
    {"Re:Re:Re: x", "x", 1},
    {"Fw: x", "x", 1},
    {"Fwd : x", "x", 1},
    {"[list] Re: Hello", "Hello", 1},
    {"Re [list]: Hello", "Hello", 1},
    {"re: RE [x]: y", "y", 1},
    {"re: RE : [x]: y", ": y", 1},
    {"[fwd: Re: Hello]", "Hello", 1},
    {"[FWD: hello]", "hello", 1},
    {"[fwd:]", "", 1},
    {"[fwd: x", "[fwd: x", 0},
    {"[list] Hello", "Hello", 0},
    {"[list]", "[list]", 0},
    {"[a] [b]", "[b]", 0},
    {"[a][b] c", "c", 0},
    {"Hello   world\t\r\n again ", "Hello world again", 0},
    {"Re:", "", 1},
    {"(fwd)", "", 1},
    {"x (fwd) (fwd)", "x", 1},
    {"x (fwd) y", "x (fwd) y", 0},
    {"Reply to this", "Reply to this", 0},
    {"Refwd: x", "Refwd: x", 0},
    {"Re: [fwd: [list] Re: Hello (fwd)] (fwd)", "Hello", 1},
    {"Re: \xc3\x9cn\xc3\xaf"
     "c\xc3\xb6"
     "d\xc3\xa9",
     "\xc3\x9cn\xc3\xaf"
     "c\xc3\xb6"
     "d\xc3\xa9",
     1},
    {"[\xc3\x9cn\xc3\xaf] Hello", "Hello", 0},
    {"[a[b] c", "[a[b] c", 0},
    {"Re: [a] [b] Re: x", "x", 1},
    {"Fwd:Re: [fwd: Re: x]", "x", 1},
};

static void test_base_subject(void **state)
{
	size_t i;
	char *base;
	int reply;

	(void)state;
	for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		reply = -1;
		base = imap_base_subject(subjects[i].subject, strlen(subjects[i].subject), &reply);
		if (strcmp(base, subjects[i].base) != 0 || reply != subjects[i].reply)
			fail_msg("\"%s\": \"%s\" %d, expected \"%s\" %d", subjects[i].subject, base,
				 reply, subjects[i].base, subjects[i].reply);
		free(base);
	}
	base = imap_base_subject("Re: x", 5, NULL);
	assert_string_equal(base, "x");
	free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strings),  cmocka_unit_test(test_long_and_nil),
	    cmocka_unit_test(test_mailbox),  cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_datetime), cmocka_unit_test(test_base_subject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
