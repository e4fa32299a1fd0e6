/*
 * test_imap_parser - the incremental IMAP command parser: a table of inputs
 * (RFC 9051 examples, literals of every kind, FETCH sections, lenient
 * forms, errors and the resynchronization after them) with the events
 * they must give, each run whole and cut into pieces of 1, 2, 3, 5 and 13
 * bytes; streamed and refused APPEND literals; the limits; raw lines for
 * AUTHENTICATE and IDLE; the input left after STARTTLS; and a large
 * streamed literal that must never be held in memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_parser.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* What the test does with a literal. */
#define P_STREAM 0x1u /* stream an APPEND's message literals */
#define P_REFUSE 0x2u /* refuse them */

static void dump_bytes(struct strbuf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			strbuf_printf(out, "\\x%02x", c);
		else
			strbuf_putc(out, c);
	}
}

static void dump_args(struct strbuf *out, const struct imap_arg *args, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		if (i > 0)
			strbuf_putc(out, ' ');
		switch (a->type) {
		case IMAP_ARG_ATOM:
			dump_bytes(out, a->str, a->len);
			break;
		case IMAP_ARG_NIL:
			strbuf_puts(out, "NIL:");
			dump_bytes(out, a->str, a->len);
			break;
		case IMAP_ARG_QUOTED:
			strbuf_putc(out, '"');
			dump_bytes(out, a->str, a->len);
			strbuf_putc(out, '"');
			break;
		case IMAP_ARG_LITERAL:
			strbuf_printf(out, "%s{%llu%s}", (a->flags & IMAP_ARG_BINARY) ? "~" : "",
				      (unsigned long long)a->literal_size,
				      (a->flags & IMAP_ARG_NONSYNC) ? "+" : "");
			if (a->flags & IMAP_ARG_STREAMED) {
				assert_null(a->str);
				strbuf_puts(out, "<stream>");
			} else {
				assert_int_equal(a->len, a->literal_size);
				dump_bytes(out, a->str, a->len);
			}
			if (a->flags & IMAP_ARG_NUL)
				strbuf_puts(out, "<nul>");
			break;
		case IMAP_ARG_LIST:
			strbuf_putc(out, '(');
			dump_args(out, a->list, a->count);
			strbuf_putc(out, ')');
			break;
		}
	}
}

/* handle - act on one event and log it; returns 0 at IMAP_PARSE_MORE. */
static int handle(struct imap_parser *p, enum imap_parse_result r,
		  const struct imap_parse_event *ev, unsigned policy, struct strbuf *log,
		  struct strbuf *stream)
{
	const struct imap_command *cmd = imap_parser_command(p);

	switch (r) {
	case IMAP_PARSE_MORE:
		return 0;
	case IMAP_PARSE_COMMAND:
		strbuf_printf(log, "CMD %s %s%s", cmd->tag, cmd->uid ? "UID " : "", cmd->name);
		if (cmd->nargs > 0)
			strbuf_putc(log, ' ');
		dump_args(log, cmd->args, cmd->nargs);
		strbuf_putc(log, '\n');
		break;
	case IMAP_PARSE_ERROR:
		strbuf_printf(log, "ERR %s %s%s%s%s\n", ev->tag != NULL ? ev->tag : "*",
			      ev->code != NULL ? "[" : "", ev->code != NULL ? ev->code : "",
			      ev->code != NULL ? "] " : "", ev->error);
		break;
	case IMAP_PARSE_LITERAL:
		if ((policy & (P_STREAM | P_REFUSE)) && strcmp(cmd->name, "APPEND") == 0 &&
		    ev->literal_depth == 0 && ev->literal_index >= 1) {
			if (policy & P_REFUSE) {
				strbuf_printf(log, "REFUSE %s\n", cmd->tag);
				imap_parser_literal_refuse(p);
				break;
			}
			imap_parser_literal_stream(p);
			strbuf_reset(stream);
		} else if (imap_parser_literal_keep(p) < 0) {
			break;
		}
		if (ev->literal_sync)
			strbuf_puts(log, "+\n");
		break;
	case IMAP_PARSE_LITERAL_DATA:
		assert_true(ev->len > 0);
		strbuf_append(stream, ev->data, ev->len);
		break;
	case IMAP_PARSE_LITERAL_END:
		strbuf_puts(log, "STREAM ");
		dump_bytes(log, stream->data != NULL ? stream->data : "", stream->len);
		strbuf_putc(log, '\n');
		break;
	case IMAP_PARSE_LINE:
		fail_msg("unexpected LINE");
	}
	return 1;
}

/* run - parse input fed in pieces of chunk bytes (0: whole); the log of events. */
static char *run(const char *input, size_t len, size_t chunk, unsigned policy,
		 const struct imap_parser_limits *lim)
{
	struct imap_parser *p = imap_parser_create(lim);
	struct strbuf log = STRBUF_INIT, stream = STRBUF_INIT;
	struct imap_parse_event ev;
	size_t pos = 0, n;

	if (chunk == 0)
		chunk = len == 0 ? 1 : len;
	do {
		n = len - pos < chunk ? len - pos : chunk;
		imap_parser_feed(p, input + pos, n);
		pos += n;
		while (handle(p, imap_parser_next(p, &ev), &ev, policy, &log, &stream))
			;
	} while (pos < len);
	strbuf_free(&stream);
	imap_parser_free(&p);
	assert_null(p);
	return strbuf_detach(&log);
}

struct parse_case {
	const char *input;
	size_t len; /* 0: strlen */
	unsigned policy;
	const char *log;
};

#define BIN(s) s, sizeof(s) - 1

static const struct parse_case cases[] = {
    /* RFC 9051 and RFC 3501 examples */
    {"a002 select inbox\r\n", 0, 0, "CMD a002 SELECT inbox\n"},
    {"a004 fetch 12 body[header]\r\n", 0, 0, "CMD a004 FETCH 12 body[header]\n"},
    {"a005 store 12 +flags \\deleted\r\n", 0, 0, "CMD a005 STORE 12 +flags \\deleted\n"},
    {"A001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man\r\n", 0, 0,
     "+\n+\nCMD A001 LOGIN {11}FRED FOOBAR {7}fat man\n"},
    {"A682 LIST \"\" *\r\n", 0, 0, "CMD A682 LIST \"\" *\n"},
    {"A202 LIST ~/Mail/ %\r\n", 0, 0, "CMD A202 LIST ~/Mail/ %\n"},
    {"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n", 0, 0,
     "CMD A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\n"},
    {"A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n", 0, 0,
     "CMD A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\n"},
    {"A285 SEARCH CHARSET UTF-8 TEXT {16}\r\n\xd0\x9c\xd0\xb0\xd1\x88\xd0\xb5\xd0\xbd\xd1\x8c"
     "\xd0\xba\xd0\xb0\r\n",
     0, 0,
     "+\nCMD A285 SEARCH CHARSET UTF-8 TEXT "
     "{16}\\xd0\\x9c\\xd0\\xb0\\xd1\\x88\\xd0\\xb5\\xd0\\xbd\\xd1\\x8c\\xd0\\xba\\xd0\\xb0\n"},
    {"A003 STORE 2:4 +FLAGS (\\Deleted)\r\n", 0, 0, "CMD A003 STORE 2:4 +FLAGS (\\Deleted)\n"},
    {"A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n", 0, 0,
     "CMD A042 STATUS blurdybloop (UIDNEXT MESSAGES)\n"},
    {"A999 UID FETCH 4827313:4828442 FLAGS\r\n", 0, 0,
     "CMD A999 UID FETCH 4827313:4828442 FLAGS\n"},
    {"a UID EXPUNGE 3000:3002\r\n", 0, 0, "CMD a UID EXPUNGE 3000:3002\n"},
    /* literals */
    {"a LOGIN {3+}\r\nfoo {0}\r\n\r\n", 0, 0, "+\nCMD a LOGIN {3+}foo {0}\n"},
    {BIN("a APPEND INBOX ~{5}\r\nab\0cd\r\n"), 0, "+\nCMD a APPEND INBOX ~{5}ab\\x00cd\n"},
    {BIN("a APPEND INBOX ~{3+}\r\n\0\r\n\r\n"), 0, "CMD a APPEND INBOX ~{3+}\\x00\\x0d\\x0a\n"},
    {"a X ({2}\r\nab {1+}\r\nc)\r\n", 0, 0, "+\nCMD a X ({2}ab {1+}c)\n"},
    {"a X {2}\r\n\r\n\r\n", 0, 0, "+\nCMD a X {2}\\x0d\\x0a\n"},
    {"a X ~x ~ ~~\r\n", 0, 0, "CMD a X ~x ~ ~~\n"},
    {"a X a{1}\r\n", 0, 0, "ERR a Invalid character 0x7b in atom\n"},
    /* FETCH sections */
    {"a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From \"To\" \"a\\\\b\")]<0.100> BINARY[1.2] "
     "binary.size[1])\r\n",
     0, 0,
     "CMD a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From \"To\" \"a\\\\b\")]<0.100> BINARY[1.2] "
     "binary.size[1])\n"},
    {"a FETCH 1 BODY[]\r\n", 0, 0, "CMD a FETCH 1 BODY[]\n"},
    {"a FETCH 1 BODY[1]x[2 3]\r\n", 0, 0, "CMD a FETCH 1 BODY[1]x[2 3]\n"},
    {"a SELECT [Gmail]/Sent\r\n", 0, 0, "CMD a SELECT [Gmail]/Sent\n"},
    {"a FETCH 1 BODY[HEADER\r\nb NOOP\r\n", 0, 0, "ERR a Missing ']'\nCMD b NOOP\n"},
    {"a FETCH 1 BODY[HEADER.FIELDS {4}\r\nb NOOP\r\n", 0, 0,
     "ERR a Literal inside [] not supported\nCMD b NOOP\n"},
    {"a FETCH 1 BODY[HEADER.FIELDS {4+}\r\nxxxx)]\r\nb NOOP\r\n", 0, 0,
     "ERR a Literal inside [] not supported\nCMD b NOOP\n"},
    /* NIL, lists, atoms */
    {"a X NIL nil \"NIL\" NILS\r\n", 0, 0, "CMD a X NIL:NIL NIL:nil \"NIL\" NILS\n"},
    {"a X (a (b (c)) ()) ()\r\n", 0, 0, "CMD a X (a (b (c)) ()) ()\n"},
    {"a X \"\" \"a\\\"b\" \"\\\\\"\r\n", 0, 0, "CMD a X \"\" \"a\"b\" \"\\\"\n"},
    {"a X \"tab\there\"\r\n", 0, 0, "CMD a X \"tab\\x09here\"\n"},
    {"a X \xc3\xa9t\xc3\xa9 \"\xe2\x82\xac\"\r\n", 0, 0,
     "CMD a X \\xc3\\xa9t\\xc3\\xa9 \"\\xe2\\x82\\xac\"\n"},
    {"a X a]b %* \\Seen $Forwarded\r\n", 0, 0, "CMD a X a]b %* \\Seen $Forwarded\n"},
    {"tag]x noop\r\n", 0, 0, "CMD tag]x NOOP\n"},
    /* leniency */
    {"\r\n\r\n\na NOOP\n", 0, 0, "CMD a NOOP\n"},
    {"a  x  b   c \r\n", 0, 0, "CMD a X b c\n"},
    {"a X ( a b ) \r\n", 0, 0, "CMD a X (a b)\n"},
    {"a1 NOOP\r\na2 NOOP\r\na3 LOGOUT\r\n", 0, 0, "CMD a1 NOOP\nCMD a2 NOOP\nCMD a3 LOGOUT\n"},
    /* errors and resynchronization */
    {"* NOOP\r\nb NOOP\r\n", 0, 0, "ERR * Invalid tag\nCMD b NOOP\n"},
    {"+ x\r\n", 0, 0, "ERR * Invalid tag\n"},
    {" a NOOP\r\n", 0, 0, "ERR * Invalid tag\n"},
    {"a+b NOOP\r\n", 0, 0, "ERR * Invalid character in tag\n"},
    {"a1\r\n", 0, 0, "ERR a1 Missing command name\n"},
    {"a1 \r\n", 0, 0, "ERR a1 Missing command name\n"},
    {"a1 UID\r\n", 0, 0, "ERR a1 UID needs a command\n"},
    {"a1 UID \r\n", 0, 0, "ERR a1 UID needs a command\n"},
    {"a1 (X)\r\n", 0, 0, "ERR a1 Invalid command name\n"},
    {"a1 X(\r\n", 0, 0, "ERR a1 Invalid character in command name\n"},
    {"a1 X (a\r\n", 0, 0, "ERR a1 Missing ')'\n"},
    {"a1 X a)\r\n", 0, 0, "ERR a1 Unexpected ')'\n"},
    {"a1 X \"abc\r\nb NOOP\r\n", 0, 0, "ERR a1 Unterminated quoted string\nCMD b NOOP\n"},
    {"a1 X \"a\\b\"\r\n", 0, 0, "ERR a1 Invalid escape in quoted string\n"},
    {BIN("a1 X \"a\0\"\r\n"), 0, "ERR a1 NUL in quoted string\n"},
    {"a1 X {3}x\r\n", 0, 0, "ERR a1 Literal must end the line\n"},
    {"a1 X {x}\r\n", 0, 0, "ERR a1 Invalid literal size\n"},
    {"a1 X {}\r\n", 0, 0, "ERR a1 Invalid literal size\n"},
    {"a1 X {+}\r\n", 0, 0, "ERR a1 Invalid literal size\n"},
    {"a1 X {1+x}\r\n", 0, 0, "ERR a1 Invalid literal size\n"},
    {"a1 X {99999999999999999999}\r\n", 0, 0, "ERR a1 [TOOBIG] Literal size too large\n"},
    {"a1 X a\rb\r\nb NOOP\r\n", 0, 0, "ERR a1 CR not followed by LF\nCMD b NOOP\n"},
    {"a1 X \"a\"\"b\"\r\n", 0, 0, "ERR a1 Missing space between arguments\n"},
    {"a1 X (a)b\r\n", 0, 0, "ERR a1 Missing space between arguments\n"},
    {"a1 X a\x01"
     "b\r\n",
     0, 0, "ERR a1 Invalid character 0x01 in atom\n"},
    {"a1 X \x7f\r\n", 0, 0, "ERR a1 Invalid character 0x7f\n"},
    {"a1 X a\"b\r\n", 0, 0, "ERR a1 Invalid character 0x22 in atom\n"},
    {BIN("a1 X {3}\r\na\0b\r\nb NOOP\r\n"), 0, "+\nERR a1 NUL in literal\nCMD b NOOP\n"},
    {BIN("a1 X {3}\r\na\0b {2+}\r\nxx\r\nb NOOP\r\n"), 0, "+\nERR a1 NUL in literal\nCMD b NOOP\n"},
    /* a bad line's non-synchronizing literal is skipped, a synchronizing one not waited for */
    {"a1 X \x01 {3+}\r\nabc\r\na2 NOOP\r\n", 0, 0, "ERR a1 Invalid character 0x01\nCMD a2 NOOP\n"},
    {"a1 X \x01 {3+}\r\na\r\n {2+}\r\nxx\r\na2 NOOP\r\n", 0, 0,
     "ERR a1 Invalid character 0x01\nCMD a2 NOOP\n"},
    {"a1 X \x01 {3}\r\na2 NOOP\r\n", 0, 0, "ERR a1 Invalid character 0x01\nCMD a2 NOOP\n"},
    {"a1 X {3+x\r\na2 NOOP\r\n", 0, 0, "ERR a1 Invalid literal size\nCMD a2 NOOP\n"},
    {"a1 X {3}+}\r\na2 NOOP\r\n", 0, 0, "ERR a1 Literal must end the line\nCMD a2 NOOP\n"},
    /* APPEND literals streamed or refused */
    {"a APPEND INBOX (\\Seen) {11}\r\nHello world\r\n", 0, P_STREAM,
     "+\nSTREAM Hello world\nCMD a APPEND INBOX (\\Seen) {11}<stream>\n"},
    {"a APPEND INBOX {0+}\r\n\r\n", 0, P_STREAM, "STREAM \nCMD a APPEND INBOX {0+}<stream>\n"},
    {BIN("a APPEND INBOX {2+}\r\n\0x\r\n"), P_STREAM,
     "STREAM \\x00x\nCMD a APPEND INBOX {2+}<stream><nul>\n"},
    {BIN("a APPEND INBOX ~{2+}\r\n\0x\r\n"), P_STREAM,
     "STREAM \\x00x\nCMD a APPEND INBOX ~{2+}<stream>\n"},
    {"a APPEND {5}\r\nINBOX {3+}\r\nabc \"01-Jan-2020 00:00:00 +0000\" {2}\r\nde\r\n", 0, P_STREAM,
     "+\nSTREAM abc\n+\nSTREAM de\nCMD a APPEND {5}INBOX {3+}<stream> \"01-Jan-2020 00:00:00 "
     "+0000\" {2}<stream>\n"},
    {"a APPEND INBOX {100}\r\nb NOOP\r\n", 0, P_REFUSE, "REFUSE a\nCMD b NOOP\n"},
    {"a APPEND INBOX {5+}\r\nhello\r\nb NOOP\r\n", 0, P_REFUSE, "REFUSE a\nCMD b NOOP\n"},
    {"a APPEND INBOX {5+}\r\nhello {3+}\r\nabc\r\nb NOOP\r\n", 0, P_REFUSE,
     "REFUSE a\nCMD b NOOP\n"},
    {"a APPEND INBOX {5+}\r\nhello\r\nb NOOP\r\n", 0, P_STREAM,
     "STREAM hello\nCMD a APPEND INBOX {5+}<stream>\nCMD b NOOP\n"},
};

static const size_t chunks[] = {0, 1, 2, 3, 5, 13};

static void test_cases(void **state)
{
	size_t i, j, len;
	char *log;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = cases[i].len != 0 ? cases[i].len : strlen(cases[i].input);
		for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
			log = run(cases[i].input, len, chunks[j], cases[i].policy, NULL);
			if (strcmp(log, cases[i].log) != 0)
				fail_msg("case %zu, chunk %zu:\n%s\nexpected:\n%s", i, chunks[j],
					 log, cases[i].log);
			free(log);
		}
	}
}

/* lim - the default limits with some changed. */
static struct imap_parser_limits lim_with(size_t line_max, uint64_t command_max,
					  uint64_t nonsync_max, unsigned depth_max)
{
	struct imap_parser_limits lim;

	imap_parser_limits_default(&lim);
	if (line_max != 0)
		lim.line_max = line_max;
	if (command_max != 0)
		lim.command_max = command_max;
	if (nonsync_max != 0)
		lim.nonsync_max = nonsync_max;
	if (depth_max != 0)
		lim.depth_max = depth_max;
	return lim;
}

static void expect_log(const char *input, size_t len, unsigned policy,
		       const struct imap_parser_limits *lim, const char *expected)
{
	size_t j;
	char *log;

	if (len == 0)
		len = strlen(input);
	for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
		log = run(input, len, chunks[j], policy, lim);
		if (strcmp(log, expected) != 0)
			fail_msg("chunk %zu:\n%s\nexpected:\n%s", chunks[j], log, expected);
		free(log);
	}
}

static void test_defaults(void **state)
{
	struct imap_parser_limits lim;

	(void)state;
	imap_parser_limits_default(&lim);
	assert_int_equal(lim.nonsync_max, 4096);
	assert_true(lim.line_max >= 8192);
	assert_true(lim.command_max >= lim.line_max);
}

static void test_line_limit_exact(void **state)
{
	struct imap_parser_limits lim = lim_with(20, 0, 0, 0);

	(void)state;
	/* 20 bytes: accepted; 21: refused and skipped. */
	expect_log("a X 0123456789abcdef\r\nb NOOP\r\n", 0, 0, &lim,
		   "CMD a X 0123456789abcdef\nCMD b NOOP\n");
	expect_log("a X 0123456789abcdefg\r\nb NOOP\r\n", 0, 0, &lim,
		   "ERR a [TOOBIG] Line too long\nCMD b NOOP\n");
	/* literal bytes do not count, each line after a literal starts afresh */
	expect_log("a X {30}\r\n012345678901234567890123456789 0123456789ab\r\n", 0, 0, &lim,
		   "+\nCMD a X {30}012345678901234567890123456789 0123456789ab\n");
	/* the tag of an overlong line that has none yet */
	expect_log("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa NOOP\r\nb NOOP\r\n", 0, 0, &lim,
		   "ERR * [TOOBIG] Line too long\nCMD b NOOP\n");
}

static void test_nonsync_limit(void **state)
{
	struct imap_parser_limits lim = lim_with(0, 0, 0, 0);
	struct strbuf in = STRBUF_INIT, expected = STRBUF_INIT;
	size_t i;

	(void)state;
	strbuf_puts(&in, "a APPEND x {4097+}\r\n");
	for (i = 0; i < 4097; i++)
		strbuf_putc(&in, 'x');
	strbuf_puts(&in, " {3+}\r\nabc\r\nb NOOP\r\n");
	expect_log(in.data, in.len, 0, &lim,
		   "ERR a [TOOBIG] Non-synchronizing literal too big (4097 bytes, limit 4096)\n"
		   "CMD b NOOP\n");
	/* with LITERAL+ it is fine */
	lim.nonsync_max = UINT64_MAX;
	strbuf_puts(&expected, "CMD a APPEND x {4097+}");
	for (i = 0; i < 4097; i++)
		strbuf_putc(&expected, 'x');
	strbuf_puts(&expected, " {3+}abc\nCMD b NOOP\n");
	expect_log(in.data, in.len, 0, &lim, expected.data);
	strbuf_free(&in);
	strbuf_free(&expected);
}

static void test_nonsync_literal_plus(void **state)
{
	struct imap_parser *p = imap_parser_create(NULL);
	struct imap_parse_event ev;
	const char *in = "a X {5000+}\r\n";

	(void)state;
	imap_parser_set_nonsync_max(p, UINT64_MAX);
	imap_parser_feed(p, in, strlen(in));
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_LITERAL);
	assert_int_equal(ev.literal_size, 5000);
	assert_int_equal(ev.literal_sync, 0);
	imap_parser_literal_refuse(p);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_MORE);
	imap_parser_free(&p);
}

static void test_command_limit(void **state)
{
	struct imap_parser_limits lim = lim_with(0, 100, 0, 0);
	struct strbuf in = STRBUF_INIT;
	size_t i;

	(void)state;
	/* a synchronizing literal over the limit: BAD, and the client sends nothing */
	expect_log("a X {200}\r\nb NOOP\r\n", 0, 0, &lim,
		   "ERR a [TOOBIG] Literal too big (200 bytes)\nCMD b NOOP\n");
	/* a non-synchronizing one: its bytes are skipped */
	strbuf_puts(&in, "a X {90+}\r\n");
	for (i = 0; i < 90; i++)
		strbuf_putc(&in, 'y');
	strbuf_puts(&in, "\r\nb NOOP\r\n");
	expect_log(in.data, in.len, 0, &lim,
		   "ERR a [TOOBIG] Literal too big (90 bytes)\nCMD b NOOP\n");
	/* many small arguments */
	strbuf_reset(&in);
	strbuf_puts(&in, "a X");
	for (i = 0; i < 10; i++)
		strbuf_puts(&in, " x");
	strbuf_puts(&in, "\r\nb NOOP\r\n");
	expect_log(in.data, in.len, 0, &lim, "ERR a [TOOBIG] Command too long\nCMD b NOOP\n");
	strbuf_free(&in);
}

static void test_depth_limit(void **state)
{
	struct imap_parser_limits lim = lim_with(0, 0, 0, 3);

	(void)state;
	expect_log("a X (((x)))\r\n", 0, 0, &lim, "CMD a X (((x)))\n");
	expect_log("a X ((((x))))\r\nb NOOP\r\n", 0, 0, &lim,
		   "ERR a Lists nested too deeply\nCMD b NOOP\n");
}

/* A raw line between commands, as AUTHENTICATE and IDLE read them. */
static void test_raw_lines(void **state)
{
	const char *in = "a AUTHENTICATE PLAIN\r\ndGVzdA==\r\n\r\nb IDLE\r\nDONE\nc NOOP\r\n";
	size_t len = strlen(in), chunk, pos, n;

	(void)state;
	for (chunk = 1; chunk <= len; chunk++) {
		struct imap_parser *p = imap_parser_create(NULL);
		struct imap_parse_event ev;
		struct strbuf log = STRBUF_INIT;
		enum imap_parse_result r;
		int step = 0;

		for (pos = 0; pos < len; pos += n) {
			n = len - pos < chunk ? len - pos : chunk;
			imap_parser_feed(p, in + pos, n);
			for (;;) {
				/* after a and b, two and one raw lines */
				if (step == 1 || step == 2 || step == 4)
					r = imap_parser_next_line(p, &ev);
				else
					r = imap_parser_next(p, &ev);
				if (r == IMAP_PARSE_MORE)
					break;
				if (r == IMAP_PARSE_COMMAND) {
					strbuf_printf(&log, "CMD %s;",
						      imap_parser_command(p)->name);
				} else {
					assert_int_equal(r, IMAP_PARSE_LINE);
					strbuf_puts(&log, "LINE ");
					strbuf_append(&log, ev.data, ev.len);
					strbuf_putc(&log, ';');
				}
				step++;
			}
		}
		assert_string_equal(strbuf_str(&log), "CMD AUTHENTICATE;LINE dGVzdA==;LINE ;CMD "
						      "IDLE;LINE DONE;CMD NOOP;");
		strbuf_free(&log);
		imap_parser_free(&p);
	}
}

static void test_raw_line_too_long(void **state)
{
	struct imap_parser_limits lim = lim_with(10, 0, 0, 0);
	struct imap_parser *p = imap_parser_create(&lim);
	struct imap_parse_event ev;
	const char *a = "0123456789abcdef", *b = "ghij\r\nDONE\r\nb NOOP\r\n";

	(void)state;
	imap_parser_feed(p, a, strlen(a));
	assert_int_equal(imap_parser_next_line(p, &ev), IMAP_PARSE_ERROR);
	assert_null(ev.tag);
	assert_string_equal(ev.code, "TOOBIG");
	assert_int_equal(imap_parser_next_line(p, &ev), IMAP_PARSE_MORE);
	imap_parser_feed(p, b, strlen(b));
	assert_int_equal(imap_parser_next_line(p, &ev), IMAP_PARSE_LINE);
	assert_int_equal(ev.len, 4);
	assert_memory_equal(ev.data, "DONE", 4);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_COMMAND);
	assert_string_equal(imap_parser_command(p)->tag, "b");
	/* a long line found whole is refused too; next() after a raw error skips the line */
	imap_parser_feed(p, "0123456789abc\r\nx\r\n", 18);
	assert_int_equal(imap_parser_next_line(p, &ev), IMAP_PARSE_ERROR);
	assert_int_equal(imap_parser_next_line(p, &ev), IMAP_PARSE_LINE);
	assert_int_equal(ev.len, 1);
	imap_parser_feed(p, "0123456789abcdef", 16);
	assert_int_equal(imap_parser_next_line(p, &ev), IMAP_PARSE_ERROR);
	imap_parser_feed(p, "gh\r\nc NOOP\r\n", 12);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_COMMAND);
	assert_string_equal(imap_parser_command(p)->tag, "c");
	imap_parser_free(&p);
}

/* After STARTTLS the bytes that came with it must not be taken as commands. */
static void test_take_pending(void **state)
{
	struct imap_parser *p = imap_parser_create(NULL);
	struct imap_parse_event ev;
	struct strbuf rest = STRBUF_INIT;
	const char *in = "a STARTTLS\r\nb LOGIN x y\r\n";

	(void)state;
	imap_parser_feed(p, in, strlen(in));
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_COMMAND);
	assert_string_equal(imap_parser_command(p)->name, "STARTTLS");
	assert_int_equal(imap_parser_pending(p), 13);
	imap_parser_take_pending(p, &rest);
	assert_string_equal(strbuf_str(&rest), "b LOGIN x y\r\n");
	assert_int_equal(imap_parser_pending(p), 0);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_MORE);
	imap_parser_feed(p, "c NOOP\r\n", 8);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_COMMAND);
	assert_string_equal(imap_parser_command(p)->tag, "c");
	strbuf_free(&rest);
	imap_parser_free(&p);
}

/* The partial command during a literal announcement tells APPEND's message apart. */
static void test_literal_event(void **state)
{
	struct imap_parser *p = imap_parser_create(NULL);
	struct imap_parse_event ev;
	const struct imap_command *cmd;
	const char *in = "A003 APPEND saved-messages (\\Seen) {326}\r\n";

	(void)state;
	imap_parser_feed(p, in, strlen(in));
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_LITERAL);
	assert_int_equal(ev.literal_size, 326);
	assert_int_equal(ev.literal_sync, 1);
	assert_int_equal(ev.literal_binary, 0);
	assert_int_equal(ev.literal_depth, 0);
	assert_int_equal(ev.literal_index, 2);
	cmd = imap_parser_command(p);
	assert_string_equal(cmd->tag, "A003");
	assert_string_equal(cmd->name, "APPEND");
	assert_int_equal(cmd->nargs, 2);
	assert_int_equal(cmd->args[1].type, IMAP_ARG_LIST);
	imap_parser_literal_refuse(p);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_MORE);
	imap_parser_feed(p, "x X (a ~{1+}\r\n", 14);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_LITERAL);
	assert_int_equal(ev.literal_depth, 1);
	assert_int_equal(ev.literal_index, 1);
	assert_int_equal(ev.literal_binary, 1);
	assert_int_equal(ev.literal_sync, 0);
	assert_int_equal(imap_parser_literal_keep(p), 0);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_MORE);
	imap_parser_feed(p, "z)\r\n", 4);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_COMMAND);
	imap_parser_free(&p);
}

/* A 50 MB APPEND streamed in 64 KiB reads: the parser never holds more than one read. */
static void test_big_stream(void **state)
{
	struct imap_parser *p = imap_parser_create(NULL);
	struct imap_parse_event ev;
	const uint64_t size = 50u * 1024 * 1024;
	char *buf = xmalloc(65536);
	uint64_t sent = 0, got = 0, sum_in = 0, sum_out = 0;
	enum imap_parse_result r;
	const char *head = "a APPEND INBOX {52428800}\r\n";
	size_t i, n;
	int ended = 0;

	(void)state;
	imap_parser_feed(p, head, strlen(head));
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_LITERAL);
	imap_parser_literal_stream(p);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_MORE);
	while (sent < size) {
		n = size - sent < 65536 ? (size_t)(size - sent) : 65536;
		for (i = 0; i < n; i++) {
			buf[i] = (char)('a' + (sent + i) % 26);
			sum_in += (unsigned char)buf[i] * ((sent + i) % 7 + 1);
		}
		imap_parser_feed(p, buf, n);
		assert_true(imap_parser_pending(p) <= 65536);
		while ((r = imap_parser_next(p, &ev)) == IMAP_PARSE_LITERAL_DATA) {
			for (i = 0; i < ev.len; i++)
				sum_out += (unsigned char)ev.data[i] * ((got + i) % 7 + 1);
			got += ev.len;
		}
		if (r == IMAP_PARSE_LITERAL_END)
			ended = 1;
		else
			assert_int_equal(r, IMAP_PARSE_MORE);
		sent += n;
	}
	assert_int_equal(got, size);
	assert_true(sum_in == sum_out);
	assert_int_equal(ended, 1);
	imap_parser_feed(p, "\r\n", 2);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_COMMAND);
	assert_int_equal(imap_parser_command(p)->args[1].literal_size, size);
	assert_true(imap_parser_command(p)->args[1].flags & IMAP_ARG_STREAMED);
	free(buf);
	imap_parser_free(&p);
}

/* Errors carry the tag only until the next call; the command is then released. */
static void test_error_then_more(void **state)
{
	struct imap_parser *p = imap_parser_create(NULL);
	struct imap_parse_event ev;

	(void)state;
	imap_parser_feed(p, "t1 X (\x01", 7);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_ERROR);
	assert_string_equal(ev.tag, "t1");
	assert_null(ev.code);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_MORE);
	imap_parser_feed(p, " more\r\nt2 NOOP", 14);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_MORE);
	imap_parser_feed(p, "\r\n", 2);
	assert_int_equal(imap_parser_next(p, &ev), IMAP_PARSE_COMMAND);
	assert_string_equal(imap_parser_command(p)->tag, "t2");
	assert_int_equal(imap_parser_command(p)->nargs, 0);
	imap_parser_free(&p);
	imap_parser_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_line_limit_exact),
	    cmocka_unit_test(test_nonsync_limit),
	    cmocka_unit_test(test_nonsync_literal_plus),
	    cmocka_unit_test(test_command_limit),
	    cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_raw_lines),
	    cmocka_unit_test(test_raw_line_too_long),
	    cmocka_unit_test(test_take_pending),
	    cmocka_unit_test(test_literal_event),
	    cmocka_unit_test(test_big_stream),
	    cmocka_unit_test(test_error_then_more),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
