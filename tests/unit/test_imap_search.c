/*
 * test_imap_search - search programs: RFC 9051, RFC 4731, RFC 5182 and
 * RFC 7162 examples and every key, written back as a tree to compare;
 * RETURN and CHARSET; the errors for bad keys, bad arguments, unknown
 * charsets and nesting too deep; long flat programs; and the SORT
 * criteria and THREAD algorithms of RFC 5256.
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
#include "imap/imap_parser.h"
#include "imap/imap_search.h"
#include "util/strbuf.h"

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

static void dump_key(struct strbuf *out, const struct imap_search_key *key)
{
	static const char *const names[] = {
	    "ALL",	 "AND",	   "OR",      "NOT",	"SEQ",	"UID",	 "FLAG",       "KW",
	    "NEW",	 "OLD",	   "RECENT",  "BEFORE", "ON",	"SINCE", "SENTBEFORE", "SENTON",
	    "SENTSINCE", "LARGER", "SMALLER", "HEADER", "BODY", "TEXT",	 "MODSEQ"};
	static const char *const entry_types[] = {"", "priv", "shared", "all"};
	const struct imap_search_key *k;
	struct imap_date date;

	switch (key->type) {
	case IMAP_SK_AND:
	case IMAP_SK_OR:
	case IMAP_SK_NOT:
		strbuf_printf(out, "(%s", names[key->type]);
		for (k = key->child; k != NULL; k = k->next) {
			strbuf_putc(out, ' ');
			dump_key(out, k);
		}
		strbuf_putc(out, ')');
		return;
	default:
		break;
	}
	strbuf_puts(out, names[key->type]);
	switch (key->type) {
	case IMAP_SK_SEQSET:
	case IMAP_SK_UIDSET:
		strbuf_putc(out, ':');
		imap_seqset_write(out, &key->set);
		break;
	case IMAP_SK_FLAG:
		strbuf_printf(out, ":%u", key->flag);
		break;
	case IMAP_SK_KEYWORD:
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		strbuf_printf(out, ":%s", key->str);
		break;
	case IMAP_SK_HEADER:
		strbuf_printf(out, ":%s:%s", key->field, key->str);
		break;
	case IMAP_SK_BEFORE:
	case IMAP_SK_ON:
	case IMAP_SK_SINCE:
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		imap_date_from_days(key->day, &date);
		strbuf_putc(out, ':');
		imap_date_format(out, &date);
		break;
	case IMAP_SK_LARGER:
	case IMAP_SK_SMALLER:
		strbuf_printf(out, ":%llu", (unsigned long long)key->number);
		break;
	case IMAP_SK_MODSEQ:
		if (key->entry != NULL)
			strbuf_printf(out, ":%s:%s", key->entry, entry_types[key->entry_type]);
		strbuf_printf(out, ":%llu", (unsigned long long)key->number);
		break;
	default:
		break;
	}
}

/* search_text - parse a SEARCH line; the program as text, or "ERR<code> text". */
static char *search_text(const char *line, unsigned flags, size_t skip)
{
	const struct imap_command *cmd;
	struct imap_parser *p = parse(line, &cmd);
	struct imap_search search;
	struct strbuf out = STRBUF_INIT;
	char *err = NULL;
	int r;

	r = imap_search_parse(cmd->nargs > skip ? &cmd->args[skip] : NULL, cmd->nargs - skip, flags,
			      &search, &err);
	if (r < 0) {
		strbuf_printf(&out, "ERR%d %s", r, err);
		free(err);
	} else {
		if (search.esearch)
			strbuf_printf(&out, "RETURN:%u ", search.options);
		if (search.charset != NULL)
			strbuf_printf(&out, "CHARSET:%s ", search.charset);
		if (search.uses_dollar)
			strbuf_puts(&out, "$ ");
		if (search.uses_modseq)
			strbuf_puts(&out, "M ");
		dump_key(&out, search.root);
	}
	imap_search_free(&search);
	imap_parser_free(&p);
	return strbuf_detach(&out);
}

struct search_case {
	const char *line;
	const char *tree;
};

static const struct search_case cases[] = {
    /* RFC 9051 section 6.4.4 */
    {"A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
     "RETURN:9 (AND FLAG:4 SINCE:1-Feb-1994 (NOT HEADER:From:Smith))"},
    {"A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
     "RETURN:4 (AND FLAG:4 SINCE:1-Feb-1994 (NOT HEADER:From:Smith))"},
    {"A284 SEARCH TEXT \"string not in mailbox\"\r\n", "TEXT:string not in mailbox"},
    {"A285 SEARCH CHARSET UTF-8 TEXT {10}\r\n\xd0\x9c\xd0\xb0\xd1\x88\xd0\xb0 x\r\n",
     "CHARSET:UTF-8 TEXT:\xd0\x9c\xd0\xb0\xd1\x88\xd0\xb0 x"},
    {"A286 SEARCH CHARSET us-ascii seen\r\n", "CHARSET:US-ASCII FLAG:1"},
    {"A301 SEARCH RETURN (SAVE) SINCE 28-Oct-2006 NOT SINCE 29-Oct-2006\r\n",
     "RETURN:16 (AND SINCE:28-Oct-2006 (NOT SINCE:29-Oct-2006))"},
    {"A302 SEARCH $ SMALLER 4096\r\n", "$ (AND SEQ:$ SMALLER:4096)"},
    {"A303 SEARCH UID $ OR SEEN DELETED\r\n", "$ (AND UID:$ (OR FLAG:1 FLAG:8))"},
    {"a SEARCH OR (UNDELETED SEEN) FROM x\r\n", "(OR (AND (NOT FLAG:8) FLAG:1) HEADER:From:x)"},
    {"a SEARCH (((ALL)))\r\n", "ALL"},
    {"a SEARCH 1:5,7 UID 3:* *\r\n", "(AND SEQ:1:5,7 UID:3:* SEQ:*)"},
    /* RFC 7162 */
    {"a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n",
     "M MODSEQ:/flags/\\draft:all:620162338"},
    {"a SEARCH MODSEQ \"/flags/$Junk\" priv 0 seen\r\n",
     "M (AND MODSEQ:/flags/$Junk:priv:0 FLAG:1)"},
    {"a SEARCH OR NOT MODSEQ 720162338 LARGER 50000\r\n",
     "M (OR (NOT MODSEQ:720162338) LARGER:50000)"},
    /* every key */
    {"a SEARCH ANSWERED DELETED DRAFT FLAGGED SEEN NEW OLD RECENT\r\n",
     "(AND FLAG:2 FLAG:8 FLAG:16 FLAG:4 FLAG:1 NEW OLD RECENT)"},
    {"a search unanswered undeleted undraft unflagged unseen\r\n",
     "(AND (NOT FLAG:2) (NOT FLAG:8) (NOT FLAG:16) (NOT FLAG:4) (NOT FLAG:1))"},
    {"a SEARCH KEYWORD $Forwarded UNKEYWORD Junk\r\n", "(AND KW:$Forwarded (NOT KW:Junk))"},
    {"a SEARCH BEFORE 1-Jan-2000 ON \"31-Dec-1999\" SENTBEFORE 2-Mar-2000 SENTON 29-Feb-2000 "
     "SENTSINCE 1-Jan-1970\r\n",
     "(AND BEFORE:1-Jan-2000 ON:31-Dec-1999 SENTBEFORE:2-Mar-2000 SENTON:29-Feb-2000 "
     "SENTSINCE:1-Jan-1970)"},
    {"a SEARCH BCC b CC c FROM f SUBJECT s TO t BODY \"hello world\" TEXT {2}\r\nxy\r\n",
     "(AND HEADER:Bcc:b HEADER:Cc:c HEADER:From:f HEADER:Subject:s HEADER:To:t BODY:hello "
     "world TEXT:xy)"},
    {"a SEARCH HEADER Message-ID \"<x@y>\" HEADER X-Spam \"\"\r\n",
     "(AND HEADER:Message-ID:<x@y> HEADER:X-Spam:)"},
    {"a SEARCH LARGER 0 SMALLER 9223372036854775807\r\n",
     "(AND LARGER:0 SMALLER:9223372036854775807)"},
    {"a SEARCH SUBJECT NIL\r\n", "HEADER:Subject:NIL"},
    {"a SEARCH SUBJECT \"\xc3\xa9t\xc3\xa9\"\r\n", "HEADER:Subject:\xc3\xa9t\xc3\xa9"},
    /* errors */
    {"a SEARCH\r\n", "ERR-1 Missing search key"},
    {"a SEARCH CHARSET UTF-8\r\n", "ERR-1 Missing search key"},
    {"a SEARCH CHARSET\r\n", "ERR-1 Missing charset"},
    {"a SEARCH CHARSET ISO-8859-1 ALL\r\n", "ERR-2 Unsupported charset"},
    {"a SEARCH CHARSET (UTF-8) ALL\r\n", "ERR-1 Invalid charset"},
    {"a SEARCH FOO\r\n", "ERR-1 Unknown search key FOO"},
    {"a SEARCH ALL CHARSET UTF-8\r\n", "ERR-1 Unknown search key CHARSET"},
    {"a SEARCH ALL RETURN (ALL)\r\n", "ERR-1 Unknown search key RETURN"},
    {"a SEARCH SINCE 1-Foo-2000\r\n", "ERR-1 Invalid date for SINCE"},
    {"a SEARCH SINCE\r\n", "ERR-1 Missing argument to SINCE"},
    {"a SEARCH OR SEEN\r\n", "ERR-1 Missing search key"},
    {"a SEARCH NOT\r\n", "ERR-1 Missing search key"},
    {"a SEARCH ()\r\n", "ERR-1 Missing search key"},
    {"a SEARCH \"ALL\"\r\n", "ERR-1 Invalid search key"},
    {"a SEARCH KEYWORD \\Seen\r\n", "ERR-1 Invalid keyword for KEYWORD"},
    {"a SEARCH KEYWORD \"a\"\r\n", "ERR-1 Invalid keyword for KEYWORD"},
    {"a SEARCH LARGER x\r\n", "ERR-1 Invalid number for LARGER"},
    {"a SEARCH LARGER 9223372036854775808\r\n", "ERR-1 Invalid number for LARGER"},
    {"a SEARCH HEADER \"a:b\" x\r\n", "ERR-1 Invalid header field name"},
    {"a SEARCH HEADER \"\" x\r\n", "ERR-1 Invalid header field name"},
    {"a SEARCH HEADER Foo\r\n", "ERR-1 Missing argument to HEADER"},
    {"a SEARCH RETURN (FOO) ALL\r\n", "ERR-1 Unknown RETURN option"},
    {"a SEARCH RETURN ALL\r\n", "ERR-1 RETURN needs a list of options"},
    {"a SEARCH RETURN\r\n", "ERR-1 Missing RETURN options"},
    {"a SEARCH TEXT ~{3}\r\nabc\r\n", "ERR-1 Invalid string for TEXT"},
    {"a SEARCH FROM (x)\r\n", "ERR-1 Invalid string for FROM"},
    {"a SEARCH SUBJECT \"\xff\"\r\n", "ERR-1 Invalid UTF-8 in string for SUBJECT"},
    {"a SEARCH 0\r\n", "ERR-1 Invalid sequence set: 0"},
    {"a SEARCH 1,$\r\n", "ERR-1 Invalid sequence set: 1,$"},
    {"a SEARCH UID (1)\r\n", "ERR-1 Invalid sequence set"},
    {"a SEARCH UID\r\n", "ERR-1 Missing argument to UID"},
    {"a SEARCH MODSEQ \"/flags/\\\\draft\" any 1\r\n", "ERR-1 Invalid MODSEQ entry type"},
    {"a SEARCH MODSEQ \"/other/x\" all 1\r\n", "ERR-1 Invalid MODSEQ entry name"},
    {"a SEARCH MODSEQ \"/flags/\\\\bogus\" all 1\r\n", "ERR-1 Invalid MODSEQ entry name"},
    {"a SEARCH MODSEQ \"/flags/\\\\seen\" all\r\n", "ERR-1 Missing argument to MODSEQ"},
    {"a SEARCH MODSEQ -1\r\n", "ERR-1 Invalid MODSEQ value"},
};

static void test_cases(void **state)
{
	size_t i;
	char *text;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		text = search_text(cases[i].line, IMAP_SEARCH_ALLOW_RETURN, 0);
		if (strcmp(text, cases[i].tree) != 0)
			fail_msg("%s\n%s\nexpected:\n%s", cases[i].line, text, cases[i].tree);
		free(text);
	}
}

static void test_depth(void **state)
{
	struct strbuf line = STRBUF_INIT;
	char *text;
	int i;

	(void)state;
	strbuf_puts(&line, "a SEARCH");
	for (i = 0; i < IMAP_SEARCH_DEPTH_MAX; i++)
		strbuf_puts(&line, " NOT");
	strbuf_puts(&line, " ALL\r\n");
	text = search_text(line.data, 0, 0);
	assert_int_equal(strncmp(text, "(NOT (NOT", 9), 0);
	free(text);
	strbuf_reset(&line);
	strbuf_puts(&line, "a SEARCH");
	for (i = 0; i <= IMAP_SEARCH_DEPTH_MAX; i++)
		strbuf_puts(&line, " OR ALL");
	strbuf_puts(&line, " ALL\r\n");
	text = search_text(line.data, 0, 0);
	assert_string_equal(text, "ERR-1 Search keys nested too deeply");
	free(text);
	/* a long flat program is fine */
	strbuf_reset(&line);
	strbuf_puts(&line, "a SEARCH");
	for (i = 0; i < 5000; i++)
		strbuf_puts(&line, " SEEN");
	strbuf_puts(&line, "\r\n");
	text = search_text(line.data, 0, 0);
	assert_int_equal(strncmp(text, "(AND FLAG:1 FLAG:1", 18), 0);
	free(text);
	strbuf_free(&line);
}

/* SORT and THREAD: the charset is not optional, RETURN is not theirs. */
static void test_sort_thread(void **state)
{
	const struct imap_command *cmd;
	struct imap_parser *p;
	struct imap_sort_key keys[IMAP_SORT_KEYS_MAX];
	enum imap_thread_alg alg;
	size_t n;
	char *err = NULL, *text;

	(void)state;
	p = parse("A282 SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n", &cmd);
	assert_int_equal(imap_sort_parse(&cmd->args[0], keys, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(keys[0].type, IMAP_SORT_SUBJECT);
	assert_int_equal(keys[0].reverse, 0);
	assert_int_equal(keys[1].type, IMAP_SORT_DATE);
	assert_int_equal(keys[1].reverse, 1);
	imap_parser_free(&p);
	p = parse("a SORT (arrival cc from size to) UTF-8 ALL\r\n", &cmd);
	assert_int_equal(imap_sort_parse(&cmd->args[0], keys, &n, &err), 0);
	assert_int_equal(n, 5);
	assert_int_equal(keys[0].type, IMAP_SORT_ARRIVAL);
	assert_int_equal(keys[1].type, IMAP_SORT_CC);
	assert_int_equal(keys[2].type, IMAP_SORT_FROM);
	assert_int_equal(keys[3].type, IMAP_SORT_SIZE);
	assert_int_equal(keys[4].type, IMAP_SORT_TO);
	imap_parser_free(&p);
	p = parse(
	    "a SORT (REVERSE) () (REVERSE REVERSE DATE) (FOO) DATE (DATE REVERSE) "
	    "(DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE)\r\n",
	    &cmd);
	for (n = 0; n < cmd->nargs; n++) {
		size_t count;

		err = NULL;
		if (imap_sort_parse(&cmd->args[n], keys, &count, &err) == 0)
			fail_msg("sort criteria %zu accepted", n);
		free(err);
	}
	imap_parser_free(&p);
	text = search_text("A283 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n",
			   IMAP_SEARCH_NEED_CHARSET, 1);
	assert_string_equal(text, "CHARSET:UTF-8 SINCE:1-Feb-1994");
	free(text);
	text = search_text("a SORT (DATE) ALL\r\n", IMAP_SEARCH_NEED_CHARSET, 1);
	assert_string_equal(text, "ERR-2 Unsupported charset");
	free(text);
	text = search_text("a SORT (DATE)\r\n", IMAP_SEARCH_NEED_CHARSET, 1);
	assert_string_equal(text, "ERR-1 Missing charset");
	free(text);
	text = search_text("a SORT (DATE) UTF-8 RETURN (ALL) ALL\r\n", IMAP_SEARCH_NEED_CHARSET, 1);
	assert_string_equal(text, "ERR-1 Unknown search key RETURN");
	free(text);
	p = parse("a THREAD ORDEREDSUBJECT UTF-8 ALL\r\n", &cmd);
	assert_int_equal(imap_thread_parse(&cmd->args[0], &alg, &err), 0);
	assert_int_equal(alg, IMAP_THREAD_ORDEREDSUBJECT);
	imap_parser_free(&p);
	p = parse("a THREAD references UTF-8 ALL\r\n", &cmd);
	assert_int_equal(imap_thread_parse(&cmd->args[0], &alg, &err), 0);
	assert_int_equal(alg, IMAP_THREAD_REFERENCES);
	imap_parser_free(&p);
	p = parse("a THREAD REFS UTF-8 ALL\r\n", &cmd);
	assert_int_equal(imap_thread_parse(&cmd->args[0], &alg, &err), -1);
	free(err);
	imap_parser_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_sort_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
