/*
 * test_imap_arg - reading parsed arguments: atoms, astrings, strings,
 * nstrings, numbers at and over their bounds, mailbox names in modified
 * UTF-7 and UTF-8 (INBOX in any case), LIST patterns and their matching,
 * flag lists of STORE and APPEND, SEARCH dates and APPEND date-times with
 * the RFC examples, and the civil-calendar arithmetic under them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_arg.h"
#include "imap/imap_date.h"
#include "imap/imap_mailbox.h"
#include "imap/imap_parser.h"
#include "util/strbuf.h"

/* parse - one command line; the parser holds it until freed. */
static struct imap_parser *parse(const char *line, const struct imap_command **cmd_r)
{
	struct imap_parser *p = imap_parser_create(NULL);
	struct imap_parse_event ev;
	enum imap_parse_result r;

	imap_parser_feed(p, line, strlen(line));
	while ((r = imap_parser_next(p, &ev)) == IMAP_PARSE_LITERAL)
		assert_int_equal(imap_parser_literal_keep(p), 0);
	if (r != IMAP_PARSE_COMMAND)
		fail_msg("%s: %s", line, r == IMAP_PARSE_ERROR ? ev.error : "no command");
	*cmd_r = imap_parser_command(p);
	return p;
}

static void test_strings(void **state)
{
	const struct imap_command *cmd;
	struct imap_parser *p =
	    parse("a X atom \"quoted\" {3+}\r\nlit NIL ~{1+}\r\nx a]b a%b \"\" \\x\r\n", &cmd);
	const char *s;
	size_t len;

	(void)state;
	assert_int_equal(cmd->nargs, 9);
	assert_int_equal(imap_arg_atom(&cmd->args[0], &s), 0);
	assert_string_equal(s, "atom");
	assert_int_equal(imap_arg_atom(&cmd->args[1], &s), -1);
	assert_int_equal(imap_arg_astring(&cmd->args[0], &s, &len), 0);
	assert_int_equal(imap_arg_astring(&cmd->args[1], &s, &len), 0);
	assert_string_equal(s, "quoted");
	assert_int_equal(imap_arg_astring(&cmd->args[2], &s, &len), 0);
	assert_int_equal(len, 3);
	assert_string_equal(s, "lit");
	assert_int_equal(imap_arg_string(&cmd->args[0], &s, &len), -1);
	assert_int_equal(imap_arg_string(&cmd->args[2], &s, &len), 0);
	/* NIL: an astring, an nstring's nil, not a string */
	assert_int_equal(imap_arg_astring(&cmd->args[3], &s, &len), 0);
	assert_string_equal(s, "NIL");
	assert_int_equal(imap_arg_nstring(&cmd->args[3], &s, &len), 0);
	assert_null(s);
	assert_int_equal(imap_arg_string(&cmd->args[3], &s, &len), -1);
	assert_int_equal(imap_arg_nstring(&cmd->args[1], &s, &len), 0);
	assert_string_equal(s, "quoted");
	/* literal8 is no string */
	assert_int_equal(imap_arg_astring(&cmd->args[4], &s, &len), -1);
	assert_int_equal(imap_arg_nstring(&cmd->args[4], &s, &len), -1);
	/* "]" in an astring atom, not in an atom; "%" in neither */
	assert_int_equal(imap_arg_astring(&cmd->args[5], &s, &len), 0);
	assert_int_equal(imap_arg_atom(&cmd->args[5], &s), -1);
	assert_int_equal(imap_arg_astring(&cmd->args[6], &s, &len), -1);
	assert_int_equal(imap_arg_astring(&cmd->args[7], &s, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(imap_arg_astring(&cmd->args[8], &s, &len), -1); /* "\x" */
	assert_true(imap_arg_atom_is(&cmd->args[0], "ATOM"));
	assert_true(imap_arg_atom_is(&cmd->args[3], "nil"));
	assert_false(imap_arg_atom_is(&cmd->args[1], "quoted"));
	assert_false(imap_arg_atom_is(&cmd->args[0], "ATO"));
	imap_parser_free(&p);
}

static void test_string_nul(void **state)
{
	struct imap_arg arg;
	const char *s;
	size_t len;
	char buf[] = "a\0b";

	(void)state;
	memset(&arg, 0, sizeof(arg));
	arg.type = IMAP_ARG_QUOTED;
	arg.str = buf;
	arg.len = 3;
	assert_int_equal(imap_arg_string(&arg, &s, &len), -1);
	arg.type = IMAP_ARG_LITERAL;
	assert_int_equal(imap_arg_astring(&arg, &s, &len), -1);
	arg.len = 1;
	assert_int_equal(imap_arg_astring(&arg, &s, &len), 0);
	arg.flags = IMAP_ARG_STREAMED;
	assert_int_equal(imap_arg_astring(&arg, &s, &len), -1);
}

static void test_numbers(void **state)
{
	uint32_t n;
	uint64_t n64;

	(void)state;
	assert_int_equal(imap_parse_number("0", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(imap_parse_number("4294967295", &n), 0);
	assert_int_equal(n, 4294967295u);
	assert_int_equal(imap_parse_number("4294967296", &n), -1);
	assert_int_equal(imap_parse_number("", &n), -1);
	assert_int_equal(imap_parse_number("01", &n), -1);
	assert_int_equal(imap_parse_number("-1", &n), -1);
	assert_int_equal(imap_parse_number("+1", &n), -1);
	assert_int_equal(imap_parse_number("1 ", &n), -1);
	assert_int_equal(imap_parse_number("1a", &n), -1);
	assert_int_equal(imap_parse_nz_number("0", &n), -1);
	assert_int_equal(imap_parse_nz_number("1", &n), 0);
	assert_int_equal(imap_parse_number64("9223372036854775807", &n64), 0);
	assert_true(n64 == 9223372036854775807ull);
	assert_int_equal(imap_parse_number64("9223372036854775808", &n64), -1);
	assert_int_equal(imap_parse_number64("99999999999999999999999", &n64), -1);
	assert_int_equal(imap_parse_number64("0", &n64), 0);
}

static void test_number_args(void **state)
{
	const struct imap_command *cmd;
	struct imap_parser *p = parse("a X 12 \"12\" 0 18446744073709551615\r\n", &cmd);
	uint32_t n;
	uint64_t n64;

	(void)state;
	assert_int_equal(imap_arg_number(&cmd->args[0], &n), 0);
	assert_int_equal(n, 12);
	assert_int_equal(imap_arg_number(&cmd->args[1], &n), -1);
	assert_int_equal(imap_arg_nz_number(&cmd->args[2], &n), -1);
	assert_int_equal(imap_arg_number(&cmd->args[2], &n), 0);
	assert_int_equal(imap_arg_number64(&cmd->args[3], &n64), -1);
	assert_int_equal(imap_arg_number64(&cmd->args[0], &n64), 0);
	imap_parser_free(&p);
}

static void test_mailbox(void **state)
{
	const struct imap_command *cmd;
	struct imap_parser *p =
	    parse("a X inbox \"Entw&APw-rfe\" \"Entw\xc3\xbcrfe\" &Jjo \"a\tb\" "
		  "InBoX/x ~peter/mail/&U,BTFw-/&ZeVnLIqe- \"\" %\r\n",
		  &cmd);
	char *name = NULL, *err = NULL;

	(void)state;
	assert_int_equal(imap_arg_mailbox(&cmd->args[0], 0, &name, &err), 0);
	assert_string_equal(name, "INBOX");
	free(name);
	assert_int_equal(imap_arg_mailbox(&cmd->args[1], 0, &name, &err), 0);
	assert_string_equal(name, "Entw\xc3\xbcrfe");
	free(name);
	/* with UTF-8 on, "&" is a character */
	assert_int_equal(imap_arg_mailbox(&cmd->args[1], 1, &name, &err), 0);
	assert_string_equal(name, "Entw&APw-rfe");
	free(name);
	assert_int_equal(imap_arg_mailbox(&cmd->args[2], 1, &name, &err), 0);
	assert_string_equal(name, "Entw\xc3\xbcrfe");
	free(name);
	/* 8-bit without UTF-8 */
	assert_int_equal(imap_arg_mailbox(&cmd->args[2], 0, &name, &err), -1);
	free(err);
	assert_int_equal(imap_arg_mailbox(&cmd->args[3], 0, &name, &err), -1);
	free(err);
	assert_int_equal(imap_arg_mailbox(&cmd->args[4], 1, &name, &err), -1);
	assert_non_null(strstr(err, "Control"));
	free(err);
	/* only INBOX itself is case-insensitive */
	assert_int_equal(imap_arg_mailbox(&cmd->args[5], 0, &name, &err), 0);
	assert_string_equal(name, "InBoX/x");
	free(name);
	assert_int_equal(imap_arg_mailbox(&cmd->args[6], 0, &name, &err), 0);
	assert_string_equal(
	    name, "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	free(name);
	assert_int_equal(imap_arg_mailbox(&cmd->args[7], 0, &name, &err), 0);
	assert_string_equal(name, "");
	free(name);
	assert_int_equal(imap_arg_mailbox(&cmd->args[8], 0, &name, &err), -1);
	free(err);
	imap_parser_free(&p);

	/* invalid UTF-8 with UTF-8 on */
	assert_int_equal(imap_mailbox_decode("a\xff", 2, 1, &name, &err), -1);
	free(err);
}

static void test_list_pattern(void **state)
{
	const struct imap_command *cmd;
	struct imap_parser *p =
	    parse("a LIST \"\" * inbox% Inbox/* \"~/Mail/\" &AOk-* inboxes \"a\\\\b\"\r\n", &cmd);
	char *pat = NULL, *err = NULL;

	(void)state;
	assert_int_equal(imap_arg_list_mailbox(&cmd->args[0], 0, '/', &pat, &err), 0);
	assert_string_equal(pat, "");
	free(pat);
	assert_int_equal(imap_arg_list_mailbox(&cmd->args[1], 0, '/', &pat, &err), 0);
	assert_string_equal(pat, "*");
	free(pat);
	assert_int_equal(imap_arg_list_mailbox(&cmd->args[2], 0, '/', &pat, &err), 0);
	assert_string_equal(pat, "INBOX%");
	free(pat);
	assert_int_equal(imap_arg_list_mailbox(&cmd->args[3], 0, '/', &pat, &err), 0);
	assert_string_equal(pat, "INBOX/*");
	free(pat);
	assert_int_equal(imap_arg_list_mailbox(&cmd->args[4], 0, '/', &pat, &err), 0);
	assert_string_equal(pat, "~/Mail/");
	free(pat);
	assert_int_equal(imap_arg_list_mailbox(&cmd->args[5], 0, '/', &pat, &err), 0);
	assert_string_equal(pat, "\xc3\xa9*");
	free(pat);
	assert_int_equal(imap_arg_list_mailbox(&cmd->args[6], 0, '/', &pat, &err), 0);
	assert_string_equal(pat, "inboxes");
	free(pat);
	assert_int_equal(imap_arg_list_mailbox(&cmd->args[7], 0, '/', &pat, &err), 0);
	assert_string_equal(pat, "a\\b");
	free(pat);
	imap_parser_free(&p);
}

struct match_case {
	const char *pattern;
	const char *name;
	int match;
};

static const struct match_case match_cases[] = {
    {"*", "", 1},
    {"*", "a/b/c", 1},
    {"%", "a", 1},
    {"%", "a/b", 0},
    {"%/%", "a/b", 1},
    {"%/%", "a/b/c", 0},
    {"a/*", "a/b/c", 1},
    {"a/*", "a", 0},
    {"a*", "a", 1},
    {"a%", "ab/c", 0},
    {"a%", "abc", 1},
    {"", "", 1},
    {"", "a", 0},
    {"INBOX", "INBOX", 1},
    {"INBOX", "inbox", 0},
    {"*c", "a/b/c", 1},
    {"%c", "a/b/c", 0},
    {"a%*%b", "axxb", 1},
    {"a%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", 0},
    {"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0},
    {"x*y", "x/y", 1},
    {"x%y", "x/y", 0},
    {"\xc3\xa9%", "\xc3\xa9t\xc3\xa9", 1},
    {"abcdef", "abc", 0},
};

static void test_match(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++)
		if (imap_mailbox_match(match_cases[i].pattern, match_cases[i].name, '/') !=
		    match_cases[i].match)
			fail_msg("\"%s\" vs \"%s\"", match_cases[i].pattern, match_cases[i].name);
	/* another separator */
	assert_true(imap_mailbox_match("a.%", "a.b", '.'));
	assert_false(imap_mailbox_match("a.%", "a.b.c", '.'));
	assert_true(imap_mailbox_match("%", "a/b", '.'));
}

static void test_mailbox_encode(void **state)
{
	struct strbuf out = STRBUF_INIT;

	(void)state;
	imap_mailbox_encode(&out, "Entw\xc3\xbcrfe", 0);
	assert_string_equal(strbuf_str(&out), "Entw&APw-rfe");
	strbuf_reset(&out);
	imap_mailbox_encode(&out, "Entw\xc3\xbcrfe", 1);
	assert_string_equal(strbuf_str(&out), "Entw\xc3\xbcrfe");
	strbuf_reset(&out);
	strbuf_puts(&out, "x ");
	imap_mailbox_encode(&out, "bad\xff", 0);
	assert_string_equal(strbuf_str(&out), "x bad\xff");
	strbuf_free(&out);
}

static void test_flags(void **state)
{
	const struct imap_command *cmd;
	struct imap_parser *p = parse("a X (\\Seen \\answered $Forwarded \\DRAFT Junk junk) "
				      "\\Flagged \\Deleted () (\\Recent) (\\*) (\\Foo) (a\\b) "
				      "((x)) \"q\" (%) \\Seen\r\n",
				      &cmd);
	struct imap_flags flags;
	char *err = NULL;
	size_t i;

	(void)state;
	assert_int_equal(imap_arg_flags(&cmd->args[0], 1, &flags, &err), 0);
	assert_int_equal(flags.system, IMAP_FLAG_SEEN | IMAP_FLAG_ANSWERED | IMAP_FLAG_DRAFT);
	assert_int_equal(flags.nkeywords, 2);
	assert_string_equal(flags.keywords[0], "$Forwarded");
	assert_string_equal(flags.keywords[1], "Junk");
	imap_flags_free(&flags);
	/* STORE's flags one by one */
	assert_int_equal(imap_arg_flags(&cmd->args[1], 2, &flags, &err), 0);
	assert_int_equal(flags.system, IMAP_FLAG_FLAGGED | IMAP_FLAG_DELETED);
	assert_int_equal(flags.nkeywords, 0);
	imap_flags_free(&flags);
	assert_int_equal(imap_arg_flags(&cmd->args[3], 1, &flags, &err), 0);
	assert_int_equal(flags.system, 0);
	imap_flags_free(&flags);
	assert_int_equal(imap_arg_flags(&cmd->args[11], 1, &flags, &err), 0);
	assert_int_equal(flags.system, IMAP_FLAG_SEEN);
	imap_flags_free(&flags);
	for (i = 4; i <= 10; i++) {
		err = NULL;
		if (imap_arg_flags(&cmd->args[i], 1, &flags, &err) == 0)
			fail_msg("flags argument %zu accepted", i);
		assert_non_null(err);
		free(err);
		imap_flags_free(&flags);
	}
	err = NULL;
	assert_int_equal(imap_arg_flags(cmd->args, 0, &flags, &err), -1);
	free(err);
	assert_int_equal(imap_flag_system("\\SEEN"), IMAP_FLAG_SEEN);
	assert_int_equal(imap_flag_system("Seen"), 0);
	assert_true(imap_flag_keyword_valid("$MDNSent"));
	assert_false(imap_flag_keyword_valid(""));
	assert_false(imap_flag_keyword_valid("a]"));
	assert_false(imap_flag_keyword_valid("\\a"));
	imap_parser_free(&p);
}

static void test_too_many_keywords(void **state)
{
	struct strbuf line = STRBUF_INIT;
	const struct imap_command *cmd;
	struct imap_parser *p;
	struct imap_flags flags;
	char *err = NULL;
	int i;

	(void)state;
	strbuf_puts(&line, "a X (");
	for (i = 0; i <= IMAP_KEYWORDS_MAX; i++)
		strbuf_printf(&line, "%sk%d", i > 0 ? " " : "", i);
	strbuf_puts(&line, ")\r\n");
	p = parse(line.data, &cmd);
	assert_int_equal(imap_arg_flags(&cmd->args[0], 1, &flags, &err), -1);
	assert_non_null(strstr(err, "Too many"));
	free(err);
	imap_flags_free(&flags);
	imap_parser_free(&p);
	strbuf_free(&line);
}

static void test_dates(void **state)
{
	const struct imap_command *cmd;
	struct imap_parser *p = parse("a X 1-Feb-1994 \"01-feb-1994\" 29-Feb-2000 29-Feb-1900 "
				      "31-Apr-2020 1-Foo-2020 1-Feb-94 {10}\r\n1-Feb-1994 "
				      "0-Jan-2000 123-Jan-2000\r\n",
				      &cmd);
	struct imap_date d;

	(void)state;
	assert_int_equal(imap_arg_date(&cmd->args[0], &d), 0);
	assert_int_equal(d.year, 1994);
	assert_int_equal(d.month, 2);
	assert_int_equal(d.day, 1);
	assert_int_equal(imap_arg_date(&cmd->args[1], &d), 0);
	assert_int_equal(d.day, 1);
	assert_int_equal(imap_arg_date(&cmd->args[2], &d), 0);
	assert_int_equal(imap_arg_date(&cmd->args[3], &d), -1);
	assert_int_equal(imap_arg_date(&cmd->args[4], &d), -1);
	assert_int_equal(imap_arg_date(&cmd->args[5], &d), -1);
	assert_int_equal(imap_arg_date(&cmd->args[6], &d), -1);
	assert_int_equal(imap_arg_date(&cmd->args[7], &d), -1); /* a literal is no date */
	assert_int_equal(imap_arg_date(&cmd->args[8], &d), -1);
	assert_int_equal(imap_arg_date(&cmd->args[9], &d), -1);
	imap_parser_free(&p);
}

static void test_days(void **state)
{
	struct imap_date d = {1970, 1, 1}, back;
	int64_t days;

	(void)state;
	assert_int_equal(imap_date_days(&d), 0);
	d = (struct imap_date){2000, 3, 1};
	assert_int_equal(imap_date_days(&d), 11017);
	d = (struct imap_date){1969, 12, 31};
	assert_int_equal(imap_date_days(&d), -1);
	for (days = -800000; days < 3000000; days += 997) {
		imap_date_from_days(days, &back);
		assert_int_equal(imap_date_days(&back), days);
	}
}

static void test_datetime(void **state)
{
	const struct imap_command *cmd;
	struct imap_parser *p =
	    parse("a X \"17-Jul-1996 02:44:25 -0700\" \" 7-Jul-1996 02:44:25 +0000\" "
		  "\"7-Jul-1996 02:44:25 +0130\" 17-Jul-1996 \"17-Jul-1996 24:00:00 +0000\" "
		  "\"17-Jul-1996 02:44:25 0700\" \"17-Jul-1996 02:44:25 +07000\" "
		  "\"31-Jun-1996 02:44:25 +0000\" \"17-Jul-1996 02:44 +0000\" {26}\r\n"
		  "01-Jan-1970 00:00:00 +0000 \"31-Dec-1969 23:59:60 -0000\"\r\n",
		  &cmd);
	struct strbuf out = STRBUF_INIT;
	time_t t;
	int tz;
	size_t i;

	(void)state;
	assert_int_equal(imap_arg_datetime(&cmd->args[0], &t, &tz), 0);
	assert_int_equal(t, 837596665);
	assert_int_equal(tz, -420);
	imap_datetime_format(&out, t, tz);
	assert_string_equal(strbuf_str(&out), "\"17-Jul-1996 02:44:25 -0700\"");
	assert_int_equal(imap_arg_datetime(&cmd->args[1], &t, &tz), 0);
	assert_int_equal(t, 836707465);
	assert_int_equal(tz, 0);
	assert_int_equal(imap_arg_datetime(&cmd->args[2], &t, &tz), 0);
	assert_int_equal(t, 836707465 - 90 * 60);
	assert_int_equal(tz, 90);
	strbuf_reset(&out);
	imap_datetime_format(&out, t, tz);
	assert_string_equal(strbuf_str(&out), "\"07-Jul-1996 02:44:25 +0130\"");
	for (i = 3; i <= 8; i++)
		if (imap_arg_datetime(&cmd->args[i], &t, &tz) == 0)
			fail_msg("date-time argument %zu accepted", i);
	assert_int_equal(imap_arg_datetime(&cmd->args[9], &t, &tz), 0);
	assert_int_equal(t, 0);
	assert_int_equal(imap_arg_datetime(&cmd->args[10], &t, &tz), 0);
	assert_int_equal(t, 0);
	/* before 1970, and far zones */
	strbuf_reset(&out);
	imap_datetime_format(&out, -1, -720);
	assert_string_equal(strbuf_str(&out), "\"31-Dec-1969 11:59:59 -1200\"");
	strbuf_reset(&out);
	imap_datetime_format(&out, 951782400, 840);
	assert_string_equal(strbuf_str(&out), "\"29-Feb-2000 14:00:00 +1400\"");
	strbuf_reset(&out);
	imap_date_format(&out, &(struct imap_date){2024, 3, 9});
	assert_string_equal(strbuf_str(&out), "9-Mar-2024");
	strbuf_free(&out);
	imap_parser_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strings),  cmocka_unit_test(test_string_nul),
	    cmocka_unit_test(test_numbers),  cmocka_unit_test(test_number_args),
	    cmocka_unit_test(test_mailbox),  cmocka_unit_test(test_list_pattern),
	    cmocka_unit_test(test_match),    cmocka_unit_test(test_mailbox_encode),
	    cmocka_unit_test(test_flags),    cmocka_unit_test(test_too_many_keywords),
	    cmocka_unit_test(test_dates),    cmocka_unit_test(test_days),
	    cmocka_unit_test(test_datetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
