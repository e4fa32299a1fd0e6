/*
 * test_smtp_cmd - the SMTP command parser and ESMTP parameter decoding:
 * a table of accepted commands with what they parse to, a table of refused
 * ones with the reply each gets, the MAIL and RCPT parameters (SIZE, BODY,
 * SMTPUTF8, RET, ENVID, AUTH, NOTIFY, ORCPT) and xtext; and the same
 * commands sent one byte at a time through a socket and a stream, as the
 * server reads them, parsing to the same results.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "mail/smtp_cmd.h"
#include "util/mymalloc.h"
#include "util/stream.h"
#include "util/strbuf.h"

struct ok_case {
	const char *line;
	enum smtp_verb verb;
	const char *arg;
	const char *path;   /* NULL: none expected */
	const char *params; /* "K=V K2" as the parser keeps them, "" for none */
};

static const struct ok_case ok_cases[] = {
    {"EHLO client.example", SMTP_CMD_EHLO, "client.example", NULL, ""},
    {"ehlo [192.0.2.1]", SMTP_CMD_EHLO, "[192.0.2.1]", NULL, ""},
    {"HeLo  x  ", SMTP_CMD_HELO, "x", NULL, ""},
    {"EHLO a b c", SMTP_CMD_EHLO, "a b c", NULL, ""},
    {"LHLO mx.example", SMTP_CMD_LHLO, "mx.example", NULL, ""},
    {"lhlo  x ", SMTP_CMD_LHLO, "x", NULL, ""},
    {"MAIL FROM:<a@b.example>", SMTP_CMD_MAIL, "FROM:<a@b.example>", "<a@b.example>", ""},
    {"mail from:<>", SMTP_CMD_MAIL, "from:<>", "<>", ""},
    {"MAIL FROM: <a@b.example>", SMTP_CMD_MAIL, "FROM: <a@b.example>", "<a@b.example>", ""},
    {"MAIL FROM:a@b.example SIZE=10", SMTP_CMD_MAIL, "FROM:a@b.example SIZE=10", "a@b.example",
     "SIZE=10"},
    {"MAIL FROM:<a@b> SIZE=100 BODY=8BITMIME SMTPUTF8", SMTP_CMD_MAIL,
     "FROM:<a@b> SIZE=100 BODY=8BITMIME SMTPUTF8", "<a@b>", "SIZE=100 BODY=8BITMIME SMTPUTF8"},
    {"MAIL FROM:<\"a b>c\"@d.example> RET=HDRS", SMTP_CMD_MAIL,
     "FROM:<\"a b>c\"@d.example> RET=HDRS", "<\"a b>c\"@d.example>", "RET=HDRS"},
    {"MAIL FROM:<\"a\\\"b\"@d>", SMTP_CMD_MAIL, "FROM:<\"a\\\"b\"@d>", "<\"a\\\"b\"@d>", ""},
    {"MAIL\tFROM:<x@y>\t SIZE=1", SMTP_CMD_MAIL, "FROM:<x@y>\t SIZE=1", "<x@y>", "SIZE=1"},
    {"RCPT TO:<@a.example,@b.example:u@c.example>", SMTP_CMD_RCPT,
     "TO:<@a.example,@b.example:u@c.example>", "<@a.example,@b.example:u@c.example>", ""},
    {"RCPT TO:<u@d> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+40d", SMTP_CMD_RCPT,
     "TO:<u@d> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+40d", "<u@d>",
     "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+40d"},
    {"rcpt to:<Postmaster>", SMTP_CMD_RCPT, "to:<Postmaster>", "<Postmaster>", ""},
    {"RCPT TO:<用户@例え.jp>", SMTP_CMD_RCPT, "TO:<用户@例え.jp>", "<用户@例え.jp>", ""},
    {"DATA", SMTP_CMD_DATA, "", NULL, ""},
    {"data  ", SMTP_CMD_DATA, "", NULL, ""},
    {"RSET", SMTP_CMD_RSET, "", NULL, ""},
    {"NOOP", SMTP_CMD_NOOP, "", NULL, ""},
    {"NOOP anything at all", SMTP_CMD_NOOP, "anything at all", NULL, ""},
    {"QUIT", SMTP_CMD_QUIT, "", NULL, ""},
    {"HELP MAIL", SMTP_CMD_HELP, "MAIL", NULL, ""},
    {"VRFY alice", SMTP_CMD_VRFY, "alice", NULL, ""},
    {"EXPN list", SMTP_CMD_EXPN, "list", NULL, ""},
    {"STARTTLS", SMTP_CMD_STARTTLS, "", NULL, ""},
    {"AUTH PLAIN", SMTP_CMD_AUTH, "PLAIN", NULL, ""},
    {"BDAT 0 LAST", SMTP_CMD_BDAT, "0 LAST", NULL, ""},
    {"GET / HTTP/1.1", SMTP_CMD_FORBIDDEN, "/ HTTP/1.1", NULL, ""},
    {"post /x", SMTP_CMD_FORBIDDEN, "/x", NULL, ""},
    {"CONNECT host:25 HTTP/1.0", SMTP_CMD_FORBIDDEN, "host:25 HTTP/1.0", NULL, ""},
};

struct bad_case {
	const char *line;
	size_t len; /* 0: strlen */
	enum smtp_verb verb;
	int code;
	const char *dsn;
};

static const struct bad_case bad_cases[] = {
    {"", 0, SMTP_CMD_UNKNOWN, 500, "5.5.2"},
    {"   ", 0, SMTP_CMD_UNKNOWN, 500, "5.5.2"},
    {"FOO bar", 0, SMTP_CMD_UNKNOWN, 500, "5.5.2"},
    {"MAILFROM:<a@b>", 0, SMTP_CMD_UNKNOWN, 500, "5.5.2"},
    {"XCLIENT ADDR=1.2.3.4", 0, SMTP_CMD_UNKNOWN, 500, "5.5.2"},
    {"MAIL <a@b>", 0, SMTP_CMD_MAIL, 501, "5.5.4"},
    {"MAIL FROM:", 0, SMTP_CMD_MAIL, 501, "5.5.4"},
    {"MAIL FROM:<a@b", 0, SMTP_CMD_MAIL, 501, "5.5.4"},
    {"MAIL FROM:<a@b>x", 0, SMTP_CMD_MAIL, 501, "5.5.4"},
    {"MAIL FROM:<a<b>", 0, SMTP_CMD_MAIL, 501, "5.5.4"},
    {"MAIL FROM:<\"a>", 0, SMTP_CMD_MAIL, 501, "5.5.4"},
    {"MAIL FROM:<a@b> SIZE=", 0, SMTP_CMD_MAIL, 501, "5.5.4"},
    {"MAIL FROM:<a@b> =1", 0, SMTP_CMD_MAIL, 501, "5.5.4"},
    {"MAIL FROM:<a@b> -X=1", 0, SMTP_CMD_MAIL, 501, "5.5.4"},
    {"MAIL FROM:<a@b> SIZE=1=2", 0, SMTP_CMD_MAIL, 501, "5.5.4"},
    {"MAIL FROM:<a@b> SIZE=1 size=2", 0, SMTP_CMD_MAIL, 501, "5.5.4"},
    {"MAIL FROM:<a@b> A B C D E F G H I J K L M N O P Q", 0, SMTP_CMD_MAIL, 501, "5.5.4"},
    {"RCPT <a@b>", 0, SMTP_CMD_RCPT, 501, "5.5.4"},
    {"RCPT TO", 0, SMTP_CMD_RCPT, 501, "5.5.4"},
    {"DATA x", 0, SMTP_CMD_DATA, 501, "5.5.4"},
    {"RSET now", 0, SMTP_CMD_RSET, 501, "5.5.4"},
    {"QUIT please", 0, SMTP_CMD_QUIT, 501, "5.5.4"},
    {"STARTTLS x", 0, SMTP_CMD_STARTTLS, 501, "5.5.4"},
    {"EHLO", 0, SMTP_CMD_EHLO, 501, "5.5.4"},
    {"HELO  ", 0, SMTP_CMD_HELO, 501, "5.5.4"},
    {"LHLO", 0, SMTP_CMD_LHLO, 501, "5.5.4"},
    {"VRFY", 0, SMTP_CMD_VRFY, 501, "5.5.4"},
    {"BDAT", 0, SMTP_CMD_BDAT, 501, "5.5.4"},
    {"BDAT x", 0, SMTP_CMD_BDAT, 501, "5.5.4"},
    {"BDAT -1", 0, SMTP_CMD_BDAT, 501, "5.5.4"},
    {"BDAT 10 LAST x", 0, SMTP_CMD_BDAT, 501, "5.5.4"},
    {"BDAT 10 FIRST", 0, SMTP_CMD_BDAT, 501, "5.5.4"},
    {"BDAT 1234567890123456789", 0, SMTP_CMD_BDAT, 501, "5.5.4"},
    {"AUTH", 0, SMTP_CMD_AUTH, 501, "5.5.4"},
    {"AUTH PL/AIN", 0, SMTP_CMD_AUTH, 501, "5.5.4"},
    {"AUTH PLAIN a b", 0, SMTP_CMD_AUTH, 501, "5.5.4"},
    {"AUTH ABCDEFGHIJKLMNOPQRSTU", 0, SMTP_CMD_AUTH, 501, "5.5.4"},
    {"NOOP \001", 0, SMTP_CMD_UNKNOWN, 500, "5.5.2"},
    {"MAIL FROM:<a@b>\rRCPT TO:<c@d>", 0, SMTP_CMD_UNKNOWN, 500, "5.5.2"},
    {"NOOP \x7f", 0, SMTP_CMD_UNKNOWN, 500, "5.5.2"},
    {"NOOP \xc3", 0, SMTP_CMD_UNKNOWN, 500, "5.5.2"},
    {"NOOP \xc0\xaf", 0, SMTP_CMD_UNKNOWN, 500, "5.5.2"},
    {"NOOP a\0b", 8, SMTP_CMD_UNKNOWN, 500, "5.5.2"},
};

/* params_text - the parsed parameters as "K=V K2", to compare with the table. */
static char *params_text(const struct smtp_cmd *cmd)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = 0; i < cmd->nparams; i++) {
		if (i > 0)
			strbuf_putc(&sb, ' ');
		strbuf_puts(&sb, cmd->params[i].keyword);
		if (cmd->params[i].value != NULL)
			strbuf_printf(&sb, "=%s", cmd->params[i].value);
	}
	return sb.data != NULL ? strbuf_detach(&sb) : xstrdup("");
}

static void check_ok(const struct ok_case *c, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	struct smtp_cmd_error err;
	char *params;

	if (smtp_cmd_parse(line, len, &cmd, &err) != 0)
		fail_msg("\"%s\" refused: %d %s %s", c->line, err.code, err.dsn, err.text);
	assert_int_equal(cmd.verb, c->verb);
	assert_string_equal(cmd.arg, c->arg);
	if (c->path == NULL)
		assert_null(cmd.path);
	else
		assert_string_equal(cmd.path, c->path);
	params = params_text(&cmd);
	assert_string_equal(params, c->params);
	free(params);
	smtp_cmd_free(&cmd);
}

static void test_accepted(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++)
		check_ok(&ok_cases[i], ok_cases[i].line, strlen(ok_cases[i].line));
}

static void check_bad(const struct bad_case *c, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	struct smtp_cmd_error err;

	if (smtp_cmd_parse(line, len, &cmd, &err) == 0)
		fail_msg("\"%s\" accepted", c->line);
	if (cmd.verb != c->verb || err.code != c->code || strcmp(err.dsn, c->dsn) != 0)
		fail_msg("\"%s\": verb %d, %d %s %s; expected verb %d, %d %s", c->line, cmd.verb,
			 err.code, err.dsn, err.text, c->verb, c->code, c->dsn);
	assert_non_null(err.text);
	smtp_cmd_free(&cmd);
}

static void test_refused(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		check_bad(c, c->line, c->len != 0 ? c->len : strlen(c->line));
	}
}

static void test_bdat_and_auth(void **state)
{
	struct smtp_cmd cmd;
	struct smtp_cmd_error err;

	assert_int_equal(smtp_cmd_parse("BDAT 123456789012345678 last", 28, &cmd, &err), 0);
	assert_true(cmd.chunk == 123456789012345678ULL);
	assert_int_equal(cmd.last, 1);
	smtp_cmd_free(&cmd);
	assert_int_equal(smtp_cmd_parse("BDAT 000", 8, &cmd, &err), 0);
	assert_true(cmd.chunk == 0);
	assert_int_equal(cmd.last, 0);
	smtp_cmd_free(&cmd);
	assert_int_equal(smtp_cmd_parse("auth plain AGFsaWNlAHB3", 23, &cmd, &err), 0);
	assert_string_equal(cmd.mech, "PLAIN");
	assert_string_equal(cmd.initial, "AGFsaWNlAHB3");
	smtp_cmd_free(&cmd);
	assert_int_equal(smtp_cmd_parse("AUTH login =", 12, &cmd, &err), 0);
	assert_string_equal(cmd.mech, "LOGIN");
	assert_string_equal(cmd.initial, "=");
	smtp_cmd_free(&cmd);
	assert_int_equal(smtp_cmd_parse("AUTH SCRAM-SHA-256", 18, &cmd, &err), 0);
	assert_string_equal(cmd.mech, "SCRAM-SHA-256");
	assert_null(cmd.initial);
	smtp_cmd_free(&cmd);
}

static void test_verb_names(void **state)
{
	assert_string_equal(smtp_verb_name(SMTP_CMD_MAIL), "MAIL");
	assert_string_equal(smtp_verb_name(SMTP_CMD_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_CMD_UNKNOWN), "UNKNOWN");
}

/* ---- parameters ---- */

static const unsigned ALL =
    SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 | SMTP_EXT_DSN | SMTP_EXT_AUTH;

/* mail_opts - parse line as MAIL with ext; returns the parse result of the options. */
static int mail_opts(const char *line, unsigned ext, struct smtp_mail_opts *o,
		     struct smtp_cmd_error *err)
{
	struct smtp_cmd cmd;
	int rc;

	if (smtp_cmd_parse(line, strlen(line), &cmd, err) != 0)
		fail_msg("\"%s\": %s", line, err->text);
	rc = smtp_mail_opts_parse(&cmd, ext, o, err);
	smtp_cmd_free(&cmd);
	return rc;
}

static void test_mail_params(void **state)
{
	struct smtp_mail_opts o;
	struct smtp_cmd_error err;

	assert_int_equal(mail_opts("MAIL FROM:<a@b>", ALL, &o, &err), 0);
	assert_true(o.size == -1 && o.body == SMTP_BODY_NONE && !o.smtputf8);
	assert_true(o.ret == SMTP_RET_NONE && o.envid == NULL && o.auth == NULL);
	smtp_mail_opts_free(&o);
	assert_int_equal(mail_opts("MAIL FROM:<a@b> size=4096 body=8bitmime SMTPUTF8 RET=FULL "
				   "ENVID=QQ+2B1+3D2 AUTH=<>",
				   ALL, &o, &err),
			 0);
	assert_true(o.size == 4096 && o.body == SMTP_BODY_8BITMIME && o.smtputf8);
	assert_true(o.ret == SMTP_RET_FULL);
	assert_string_equal(o.envid, "QQ+1=2");
	assert_string_equal(o.auth, "<>");
	smtp_mail_opts_free(&o);
	assert_int_equal(mail_opts("MAIL FROM:<a@b> SIZE=99999999999999999999", ALL, &o, &err), 0);
	assert_true(o.size == LLONG_MAX);
	smtp_mail_opts_free(&o);
	assert_int_equal(mail_opts("MAIL FROM:<a@b> BODY=7BIT AUTH=u+40d", ALL, &o, &err), 0);
	assert_true(o.body == SMTP_BODY_7BIT);
	assert_string_equal(o.auth, "u@d");
	smtp_mail_opts_free(&o);
}

struct param_err {
	const char *line;
	unsigned ext;
	int code;
};

static const struct param_err mail_errs[] = {
    {"MAIL FROM:<a@b> SIZE=1x", ALL, 501},
    {"MAIL FROM:<a@b> SIZE", ALL, 501},
    {"MAIL FROM:<a@b> SIZE=123456789012345678901", ALL, 501},
    {"MAIL FROM:<a@b> BODY=BINARYMIME", ALL, 555},
    {"MAIL FROM:<a@b> BODY", ALL, 555},
    {"MAIL FROM:<a@b> SMTPUTF8=yes", ALL, 501},
    {"MAIL FROM:<a@b> RET=ALL", ALL, 501},
    {"MAIL FROM:<a@b> ENVID=a+0Db", ALL, 501},
    {"MAIL FROM:<a@b> ENVID=a+4", ALL, 501},
    {"MAIL FROM:<a@b> ENVID=a+4G", ALL, 501},
    {"MAIL FROM:<a@b> ENVID=a+2", ALL, 501},
    {"MAIL FROM:<a@b> ENVID=\xc3\xa9", ALL, 501},
    {"MAIL FROM:<a@b> ENVID=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
     ALL, 501},
    {"MAIL FROM:<a@b> AUTH=a+00b", ALL, 501},
    {"MAIL FROM:<a@b> XFOO=1", ALL, 555},
    {"MAIL FROM:<a@b> SIZE=1", 0, 555},
    {"MAIL FROM:<a@b> BODY=8BITMIME", SMTP_EXT_SIZE, 555},
    {"MAIL FROM:<a@b> SMTPUTF8", SMTP_EXT_SIZE, 555},
    {"MAIL FROM:<a@b> RET=FULL", SMTP_EXT_SIZE, 555},
    {"MAIL FROM:<a@b> AUTH=<>", SMTP_EXT_SIZE, 555},
};

static void test_mail_param_errors(void **state)
{
	struct smtp_mail_opts o;
	struct smtp_cmd_error err;
	size_t i;

	for (i = 0; i < sizeof(mail_errs) / sizeof(mail_errs[0]); i++) {
		if (mail_opts(mail_errs[i].line, mail_errs[i].ext, &o, &err) == 0)
			fail_msg("\"%s\" accepted", mail_errs[i].line);
		if (err.code != mail_errs[i].code)
			fail_msg("\"%s\": %d, expected %d", mail_errs[i].line, err.code,
				 mail_errs[i].code);
		smtp_mail_opts_free(&o);
	}
}

static int rcpt_opts(const char *line, unsigned ext, int utf8, struct smtp_rcpt_opts *o,
		     struct smtp_cmd_error *err)
{
	struct smtp_cmd cmd;
	int rc;

	if (smtp_cmd_parse(line, strlen(line), &cmd, err) != 0)
		fail_msg("\"%s\": %s", line, err->text);
	rc = smtp_rcpt_opts_parse(&cmd, ext, utf8, o, err);
	smtp_cmd_free(&cmd);
	return rc;
}

static void test_rcpt_params(void **state)
{
	struct smtp_rcpt_opts o;
	struct smtp_cmd_error err;

	assert_int_equal(rcpt_opts("RCPT TO:<u@d>", ALL, 0, &o, &err), 0);
	assert_true(o.notify == 0 && o.orcpt == NULL);
	smtp_rcpt_opts_free(&o);
	assert_int_equal(
	    rcpt_opts("RCPT TO:<u@d> NOTIFY=never ORCPT=rfc822;u+2Bx@d", ALL, 0, &o, &err), 0);
	assert_true(o.notify == SMTP_NOTIFY_NEVER);
	assert_string_equal(o.orcpt, "rfc822;u+x@d");
	smtp_rcpt_opts_free(&o);
	assert_int_equal(rcpt_opts("RCPT TO:<u@d> NOTIFY=DELAY,SUCCESS,FAILURE", ALL, 0, &o, &err),
			 0);
	assert_true(o.notify == (SMTP_NOTIFY_DELAY | SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE));
	smtp_rcpt_opts_free(&o);
	assert_int_equal(
	    rcpt_opts("RCPT TO:<u@d> ORCPT=utf-8;j\\x{E9}r\\x{F4}me@d", ALL, 1, &o, &err), 0);
	assert_string_equal(o.orcpt, "utf-8;j\xc3\xa9r\xc3\xb4me@d");
	smtp_rcpt_opts_free(&o);
}

static const struct param_err rcpt_errs[] = {
    {"RCPT TO:<u@d> NOTIFY", ALL, 501},
    {"RCPT TO:<u@d> NOTIFY=NEVER,SUCCESS", ALL, 501},
    {"RCPT TO:<u@d> NOTIFY=SUCCESS,", ALL, 501},
    {"RCPT TO:<u@d> NOTIFY=SOMETIMES", ALL, 501},
    {"RCPT TO:<u@d> ORCPT=u@d", ALL, 501},
    {"RCPT TO:<u@d> ORCPT=;u@d", ALL, 501},
    {"RCPT TO:<u@d> ORCPT=rfc822;", ALL, 501},
    {"RCPT TO:<u@d> ORCPT=rfc822;a+0Ab", ALL, 501},
    {"RCPT TO:<u@d> ORCPT=rf/c;a", ALL, 501},
    {"RCPT TO:<u@d> ORCPT=utf-8;\\x{D800}", ALL, 501},
    {"RCPT TO:<u@d> ORCPT=utf-8;\\x{110000}", ALL, 501},
    {"RCPT TO:<u@d> ORCPT=utf-8;\\x{}", ALL, 501},
    {"RCPT TO:<u@d> ORCPT=utf-8;\\x{41", ALL, 501},
    {"RCPT TO:<u@d> FOO=1", ALL, 555},
    {"RCPT TO:<u@d> NOTIFY=NEVER", SMTP_EXT_SIZE, 555},
};

static void test_rcpt_param_errors(void **state)
{
	struct smtp_rcpt_opts o;
	struct smtp_cmd_error err;
	size_t i;

	for (i = 0; i < sizeof(rcpt_errs) / sizeof(rcpt_errs[0]); i++) {
		if (rcpt_opts(rcpt_errs[i].line, rcpt_errs[i].ext, 1, &o, &err) == 0)
			fail_msg("\"%s\" accepted", rcpt_errs[i].line);
		if (err.code != rcpt_errs[i].code)
			fail_msg("\"%s\": %d, expected %d", rcpt_errs[i].line, err.code,
				 rcpt_errs[i].code);
		smtp_rcpt_opts_free(&o);
	}
}

static void test_xtext(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	assert_int_equal(smtp_xtext_decode("a+2Bb+3Dc", 9, 0, &sb), 0);
	assert_string_equal(sb.data, "a+b=c");
	strbuf_reset(&sb);
	assert_int_equal(smtp_xtext_decode("", 0, 0, &sb), 0);
	assert_int_equal(sb.len, 0);
	assert_int_equal(smtp_xtext_decode("a b", 3, 0, &sb), -1);
	strbuf_reset(&sb);
	assert_int_equal(smtp_xtext_decode("a=b", 3, 0, &sb), -1);
	strbuf_reset(&sb);
	assert_int_equal(smtp_xtext_decode("+", 1, 0, &sb), -1);
	strbuf_reset(&sb);
	assert_int_equal(smtp_xtext_decode("\\x{41}", 6, 0, &sb), 0);
	assert_string_equal(sb.data, "\\x{41}");
	strbuf_reset(&sb);
	assert_int_equal(smtp_xtext_decode("\\x{41}\\x{1F600}", 15, 1, &sb), 0);
	assert_string_equal(sb.data, "A\xf0\x9f\x98\x80");
	strbuf_reset(&sb);
	assert_int_equal(smtp_xtext_decode("\xc3\xa9", 2, 0, &sb), -1);
	strbuf_reset(&sb);
	assert_int_equal(smtp_xtext_decode("\xc3\xa9", 2, 1, &sb), 0);
	strbuf_free(&sb);
}

/* ---- one byte at a time, as the server reads ---- */

/*
 * read_all - write the lines to one end of a socket pair one byte at a time,
 * reading lines from the other end through a stream after each byte, and
 * check each line against the table entry parse.
 */
static void test_byte_at_a_time(void **state)
{
	struct strbuf wire = STRBUF_INIT, line = STRBUF_INIT;
	struct stream *in;
	size_t i, next_ok = 0, next_bad = 0, nok = sizeof(ok_cases) / sizeof(ok_cases[0]);
	size_t nbad = 0, lines = 0;
	int sv[2];

	/* every accepted case, then every refused one without a NUL or a CR */
	for (i = 0; i < nok; i++)
		strbuf_printf(&wire, "%s\r\n", ok_cases[i].line);
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		if (bad_cases[i].len == 0 && strchr(bad_cases[i].line, '\r') == NULL) {
			strbuf_printf(&wire, "%s\n", bad_cases[i].line);
			nbad++;
		}
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	in = stream_create(sv[0]);
	stream_set_line_limit(in, 2046);
	for (i = 0; i < wire.len; i++) {
		assert_int_equal(write(sv[1], wire.data + i, 1), 1);
		while (stream_read_line(in, &line) == STREAM_OK) {
			lines++;
			if (next_ok < nok) {
				check_ok(&ok_cases[next_ok], line.data, line.len);
				next_ok++;
				continue;
			}
			while (bad_cases[next_bad].len != 0 ||
			       strchr(bad_cases[next_bad].line, '\r') != NULL)
				next_bad++;
			check_bad(&bad_cases[next_bad], line.data, line.len);
			next_bad++;
		}
	}
	assert_int_equal(lines, nok + nbad);
	stream_destroy(&in);
	close(sv[1]);
	strbuf_free(&wire);
	strbuf_free(&line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepted),	  cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_bdat_and_auth), cmocka_unit_test(test_verb_names),
	    cmocka_unit_test(test_mail_params),	  cmocka_unit_test(test_mail_param_errors),
	    cmocka_unit_test(test_rcpt_params),	  cmocka_unit_test(test_rcpt_param_errors),
	    cmocka_unit_test(test_xtext),	  cmocka_unit_test(test_byte_at_a_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
