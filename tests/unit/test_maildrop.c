/*
 * test_maildrop - local submission: the maildrop format (encoding, strict
 * decoding, every truncation, each broken rule, the content limit, file
 * names), and sendmail's reading of a message (line ends, the lone dot and
 * -i, the mbox From_ line, header fields and folding, the size limit) and of
 * address lists (display names, comments, groups, routes, errors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/maildrop.h"
#include "tools/sendmail/sendmail.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* ---- the format ---- */

static void sample_envelope(struct maildrop_envelope *env, int with_origin)
{
	maildrop_envelope_init(env);
	if (with_origin) {
		env->uid = 1000;
		env->time = 1700000000;
	}
	env->sender = xstrdup("alice@example.org");
	env->full_name = xstrdup("Alice Ünicode");
	env->envid = xstrdup("ENV123");
	env->flags = MAILDROP_FLAG_8BITMIME | MAILDROP_FLAG_NOTIFY_SUCCESS;
	maildrop_envelope_add_rcpt(env, "bob@example.org");
	maildrop_envelope_add_rcpt(env, "carol@example.net");
}

/* sample_file - a complete file (or stream) with content of n bytes. */
static void sample_file(struct strbuf *out, int with_origin, size_t n)
{
	struct maildrop_envelope env;
	char *content = xmalloc(n + 1);
	size_t i;

	for (i = 0; i < n; i++)
		content[i] = i % 61 == 60 ? '\n' : (char)('a' + i % 26);
	sample_envelope(&env, with_origin);
	maildrop_encode_envelope(out, &env);
	maildrop_encode_content(out, content, n);
	maildrop_encode_end(out, (long long)n);
	maildrop_envelope_free(&env);
	free(content);
}

/* read_all - decode buf; the status that ended it; the content into content. */
static enum maildrop_status read_all(const struct strbuf *buf, int with_origin, long long limit,
				     struct maildrop_envelope *env, struct strbuf *content)
{
	FILE *fp = fmemopen(buf->data, buf->len, "r");
	struct maildrop_reader *r;
	struct strbuf chunk = STRBUF_INIT;
	enum maildrop_status st;
	char *error = NULL;

	assert_non_null(fp);
	r = maildrop_reader_create(fp, with_origin, limit);
	st = maildrop_read_envelope(r, env, &error);
	while (st == MAILDROP_OK) {
		st = maildrop_read_content(r, &chunk, &error);
		if (st == MAILDROP_OK) {
			assert_true(chunk.len >= 1 && chunk.len <= MAILDROP_CHUNK_MAX);
			strbuf_append(content, chunk.data, chunk.len);
		}
	}
	if (st != MAILDROP_END) {
		assert_non_null(error);
		assert_true(strlen(error) > 0);
	} else {
		assert_null(error);
	}
	free(error);
	strbuf_free(&chunk);
	maildrop_reader_free(&r);
	fclose(fp);
	return st;
}

static void test_roundtrip(void **state)
{
	struct strbuf buf = STRBUF_INIT, content = STRBUF_INIT;
	struct maildrop_envelope env;
	size_t n = 3 * MAILDROP_CHUNK_MAX + 17, i;

	sample_file(&buf, 1, n);
	assert_memory_equal(buf.data, MAILDROP_MAGIC, MAILDROP_MAGIC_LEN);
	maildrop_envelope_init(&env);
	assert_int_equal(read_all(&buf, 1, 1 << 20, &env, &content), MAILDROP_END);
	assert_int_equal(env.uid, 1000);
	assert_int_equal(env.time, 1700000000);
	assert_string_equal(env.sender, "alice@example.org");
	assert_string_equal(env.full_name, "Alice Ünicode");
	assert_string_equal(env.envid, "ENV123");
	assert_int_equal(env.flags, MAILDROP_FLAG_8BITMIME | MAILDROP_FLAG_NOTIFY_SUCCESS);
	assert_int_equal(env.nrcpts, 2);
	assert_string_equal(env.rcpts[0], "bob@example.org");
	assert_string_equal(env.rcpts[1], "carol@example.net");
	assert_int_equal(content.len, n);
	for (i = 0; i < n; i++)
		if (content.data[i] != (i % 61 == 60 ? '\n' : (char)('a' + i % 26)))
			fail_msg("content differs at %zu", i);
	maildrop_envelope_free(&env);
	strbuf_free(&content);
	strbuf_free(&buf);
}

/* The null sender, no optional records, empty content. */
static void test_minimal(void **state)
{
	struct strbuf buf = STRBUF_INIT, content = STRBUF_INIT;
	struct maildrop_envelope env, got;

	maildrop_envelope_init(&env);
	env.sender = xstrdup("");
	maildrop_envelope_add_rcpt(&env, "root");
	maildrop_encode_envelope(&buf, &env);
	maildrop_encode_end(&buf, 0);
	maildrop_envelope_init(&got);
	assert_int_equal(read_all(&buf, 0, 100, &got, &content), MAILDROP_END);
	assert_string_equal(got.sender, "");
	assert_null(got.full_name);
	assert_null(got.envid);
	assert_int_equal(got.uid, -1);
	assert_int_equal(content.len, 0);
	maildrop_envelope_free(&got);
	maildrop_envelope_free(&env);
	strbuf_free(&buf);
}

/* A file is not a stream to postdrop, and a stream may not say who or when. */
static void test_origin(void **state)
{
	struct strbuf file = STRBUF_INIT, stream = STRBUF_INIT, content = STRBUF_INIT;
	struct maildrop_envelope env;

	sample_file(&file, 1, 10);
	sample_file(&stream, 0, 10);
	maildrop_envelope_init(&env);
	assert_int_equal(read_all(&stream, 0, 100, &env, &content), MAILDROP_END);
	maildrop_envelope_free(&env);
	assert_int_equal(read_all(&stream, 1, 100, &env, &content), MAILDROP_INVALID);
	maildrop_envelope_free(&env);
	assert_int_equal(read_all(&file, 0, 100, &env, &content), MAILDROP_INVALID);
	maildrop_envelope_free(&env);
	strbuf_free(&file);
	strbuf_free(&stream);
	strbuf_free(&content);
}

/* Every proper prefix of a file is truncated, never complete, never malformed. */
static void test_truncated(void **state)
{
	struct strbuf buf = STRBUF_INIT, part = STRBUF_INIT, content = STRBUF_INIT;
	struct maildrop_envelope env;
	size_t len;

	sample_file(&buf, 1, 100);
	for (len = 0; len < buf.len; len++) {
		strbuf_reset(&part);
		strbuf_append(&part, buf.data, len);
		strbuf_reset(&content);
		maildrop_envelope_init(&env);
		if (len < MAILDROP_MAGIC_LEN) {
			/* a shorter magic line is still only a beginning */
			assert_int_equal(read_all(&part, 1, 1000, &env, &content),
					 MAILDROP_TRUNCATED);
		} else if (read_all(&part, 1, 1000, &env, &content) != MAILDROP_TRUNCATED) {
			fail_msg("prefix of %zu bytes not reported as truncated", len);
		}
		maildrop_envelope_free(&env);
	}
	strbuf_free(&buf);
	strbuf_free(&part);
	strbuf_free(&content);
}

static void test_limit(void **state)
{
	struct strbuf buf = STRBUF_INIT, content = STRBUF_INIT;
	struct maildrop_envelope env;

	sample_file(&buf, 1, 1000);
	maildrop_envelope_init(&env);
	assert_int_equal(read_all(&buf, 1, 1000, &env, &content), MAILDROP_END);
	maildrop_envelope_free(&env);
	strbuf_reset(&content);
	assert_int_equal(read_all(&buf, 1, 999, &env, &content), MAILDROP_TOO_BIG);
	maildrop_envelope_free(&env);
	strbuf_free(&buf);
	strbuf_free(&content);
}

static void rec(struct strbuf *b, int type, const char *data, size_t len)
{
	unsigned char hdr[5] = {(unsigned char)type, (unsigned char)(len >> 24),
				(unsigned char)(len >> 16), (unsigned char)(len >> 8),
				(unsigned char)len};

	strbuf_append(b, hdr, 5);
	strbuf_append(b, data, len);
}

#define REC(b, type, s) rec((b), (type), (s), sizeof(s) - 1)

/* One broken file: records from a spec string "tVALUE|tVALUE|...", after the magic line. */
struct broken {
	const char *why;
	const char *magic;
	const char *records;
};

static void build(struct strbuf *b, const struct broken *c)
{
	const char *p = c->records, *end;
	char *value;

	strbuf_puts(b, c->magic ? c->magic : MAILDROP_MAGIC);
	while (*p) {
		end = strchr(p, '|');
		if (end == NULL)
			end = p + strlen(p);
		value = xstrndup(p + 1, (size_t)(end - p - 1));
		/* "~" stands for a NUL byte, "^" for a control character */
		for (char *q = value; *q; q++)
			if (*q == '^')
				*q = '\x01';
		if (strchr(value, '~') != NULL) {
			*strchr(value, '~') = '\0';
			rec(b, *p, value, (size_t)(end - p - 1));
		} else {
			rec(b, *p, value, strlen(value));
		}
		free(value);
		p = *end ? end + 1 : end;
	}
}

static void test_broken(void **state)
{
	static const struct broken cases[] = {
	    {"good (control case)", NULL, "U1|T2|Sa@b|F0|Rc@d|M|Chi|E2"},
	    {"bad magic", "TERNDROP 2\n", "U1|T2|Sa@b|F0|Rc@d|M|Chi|E2"},
	    {"unknown type", NULL, "U1|T2|Sa@b|Q0|F0|Rc@d|M|E0"},
	    {"recipient before sender", NULL, "U1|T2|Rc@d|Sa@b|F0|M|E0"},
	    {"two senders", NULL, "U1|T2|Sa@b|Sa@b|F0|Rc@d|M|E0"},
	    {"no flags", NULL, "U1|T2|Sa@b|Rc@d|M|E0"},
	    {"no sender", NULL, "U1|T2|F0|Rc@d|M|E0"},
	    {"no recipients", NULL, "U1|T2|Sa@b|F0|M|E0"},
	    {"no uid", NULL, "T2|Sa@b|F0|Rc@d|M|E0"},
	    {"M with data", NULL, "U1|T2|Sa@b|F0|Rc@d|Mx|E0"},
	    {"end with wrong length", NULL, "U1|T2|Sa@b|F0|Rc@d|M|Chi|E3"},
	    {"end with bad number", NULL, "U1|T2|Sa@b|F0|Rc@d|M|Chi|E02"},
	    {"data after end", NULL, "U1|T2|Sa@b|F0|Rc@d|M|Chi|E2|Cx"},
	    {"envelope record in content", NULL, "U1|T2|Sa@b|F0|Rc@d|M|Rx@y|E0"},
	    {"empty content record", NULL, "U1|T2|Sa@b|F0|Rc@d|M|C|E0"},
	    {"control character in sender", NULL, "U1|T2|Sa^@b|F0|Rc@d|M|E0"},
	    {"NUL in recipient", NULL, "U1|T2|Sa@b|F0|Rc~d|M|E0"},
	    {"empty recipient", NULL, "U1|T2|Sa@b|F0|R|M|E0"},
	    {"unknown flag", NULL, "U1|T2|Sa@b|F256|Rc@d|M|E0"},
	    {"two RET flags", NULL, "U1|T2|Sa@b|F12|Rc@d|M|E0"},
	    {"uid with leading zero", NULL, "U01|T2|Sa@b|F0|Rc@d|M|E0"},
	    {"negative time", NULL, "U1|T-2|Sa@b|F0|Rc@d|M|E0"},
	    {"full name with a line break", NULL, "U1|T2|Sa@b|Nx\ny|F0|Rc@d|M|E0"},
	    {"envid with a space", NULL, "U1|T2|Sa@b|Ix y|F0|Rc@d|M|E0"},
	};
	struct strbuf b = STRBUF_INIT, content = STRBUF_INIT;
	struct maildrop_envelope env;
	enum maildrop_status st;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strbuf_reset(&b);
		strbuf_reset(&content);
		build(&b, &cases[i]);
		maildrop_envelope_init(&env);
		st = read_all(&b, 1, 1000, &env, &content);
		maildrop_envelope_free(&env);
		if (i == 0 ? st != MAILDROP_END : st != MAILDROP_INVALID)
			fail_msg("%s: %s", cases[i].why, maildrop_status_str(st));
	}
	/* a record longer than its type allows */
	strbuf_reset(&b);
	strbuf_puts(&b, MAILDROP_MAGIC);
	REC(&b, 'U', "1");
	REC(&b, 'T', "2");
	strbuf_reset(&content);
	for (i = 0; i <= MAILDROP_ADDR_MAX; i++)
		strbuf_putc(&content, 'x');
	rec(&b, 'S', content.data, content.len);
	maildrop_envelope_init(&env);
	assert_int_equal(read_all(&b, 1, 1000, &env, &content), MAILDROP_INVALID);
	maildrop_envelope_free(&env);
	strbuf_free(&b);
	strbuf_free(&content);
}

static void test_file_names(void **state)
{
	char *a = maildrop_file_name(), *b = maildrop_file_name();

	assert_int_equal(strlen(a), MAILDROP_FILE_NAME_LEN);
	assert_true(maildrop_name_valid(a));
	assert_true(maildrop_name_valid(b));
	assert_string_not_equal(a, b);
	/* the time comes first: a later name does not sort before an earlier one */
	assert_true(memcmp(a, b, 8) <= 0);
	assert_false(maildrop_name_valid(""));
	assert_false(maildrop_name_valid(".tmp.0123456789ABCDEF012345678"));
	assert_false(maildrop_name_valid("0123456789ABCDEF012345678X"));
	assert_false(maildrop_name_valid("0123456789abcdef012345678"));
	assert_false(maildrop_name_valid("0123456789ABCDEF01234567"));
	assert_true(maildrop_name_valid("0123456789ABCDEF012345678"));
	free(a);
	free(b);
}

/* ---- sendmail: address lists ---- */

static void test_addr_list(void **state)
{
	static const struct {
		const char *in;
		const char *out; /* the addresses joined by " | ", or NULL for an error */
	} cases[] = {
	    {"bob@example.org", "bob@example.org"},
	    {"bob", "bob"},
	    {"  bob@example.org ,carol@example.net", "bob@example.org | carol@example.net"},
	    {"Bob Smith <bob@example.org>", "bob@example.org"},
	    {"\"Smith, Bob\" <bob@example.org>, carol", "bob@example.org | carol"},
	    {"bob@example.org (Bob Smith)", "bob@example.org"},
	    {"(c) bob (nested (comment)) @ example.org", "bob@example.org"},
	    {"\"john q\"@example.org", "\"john q\"@example.org"},
	    {"<@relay1.example,@relay2.example:bob@example.org>", "bob@example.org"},
	    {"friends: ann@example.org, Bob <bob@example.org>;, dan", "ann@example.org | "
								      "bob@example.org | dan"},
	    {"undisclosed-recipients:;", ""},
	    {"", ""},
	    {" , ,", ""},
	    {"john.doe@[192.0.2.1]", "john.doe@[192.0.2.1]"},
	    {"To folded\r\n\tover lines <x@example.org>", "x@example.org"},
	    {"Bob Smith", NULL},
	    {"bob@example.org carol@example.org", NULL},
	    {"Bob <bob@example.org", NULL},
	    {"Bob bob@example.org>", NULL},
	    {"<>", NULL},
	    {"<a@b> c", NULL},
	    {"a@b;", NULL},
	    {"g: a@b", "a@b"},
	    {"\"unterminated", NULL},
	    {"(unterminated", NULL},
	    {"x@[192.0.2.1", NULL},
	    {"a) b", NULL},
	    {"<a b@example.org>", NULL},
	};
	size_t i, j, n;
	char **addrs;
	char *error;
	struct strbuf got = STRBUF_INIT;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		addrs = NULL;
		n = 0;
		error = NULL;
		if (sendmail_addr_list(cases[i].in, &addrs, &n, &error) < 0) {
			if (cases[i].out != NULL)
				fail_msg("\"%s\": %s", cases[i].in, error);
			assert_int_equal(n, 0);
			free(error);
			continue;
		}
		strbuf_reset(&got);
		for (j = 0; j < n; j++) {
			strbuf_printf(&got, "%s%s", j ? " | " : "", addrs[j]);
			free(addrs[j]);
		}
		free(addrs);
		if (cases[i].out == NULL)
			fail_msg("\"%s\": accepted as \"%s\"", cases[i].in, strbuf_str(&got));
		assert_string_equal(strbuf_str(&got), cases[i].out);
	}
	strbuf_free(&got);
}

/* Addresses are appended to what is there already. */
static void test_addr_append(void **state)
{
	char **addrs = NULL, *error = NULL;
	size_t n = 0;

	assert_int_equal(sendmail_addr_list("a@x, b@x", &addrs, &n, &error), 0);
	assert_int_equal(sendmail_addr_list("c@x, <d", &addrs, &n, &error), -1);
	free(error);
	assert_int_equal(n, 2);
	assert_int_equal(sendmail_addr_list("c@x", &addrs, &n, &error), 0);
	assert_int_equal(n, 3);
	assert_string_equal(addrs[2], "c@x");
	while (n > 0)
		free(addrs[--n]);
	free(addrs);
}

/* ---- sendmail: reading the message ---- */

/* read_message - header fields joined by "|", then "#", then the body; NULL text on error. */
static char *read_message(const char *text, int ignore_dots, long long limit, int *no_blank)
{
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	struct sendmail_input *in = sendmail_input_create(fp, ignore_dots, limit);
	struct sendmail_header hdr;
	struct strbuf out = STRBUF_INIT, body = STRBUF_INIT;
	char *error = NULL;
	size_t i;

	if (sendmail_read_header(in, &hdr, &error) < 0)
		goto failed;
	for (i = 0; i < hdr.nfields; i++)
		strbuf_printf(&out, "%s=%s|", hdr.fields[i].name, hdr.fields[i].text.data);
	strbuf_putc(&out, '#');
	*no_blank = hdr.no_blank_line;
	do {
		if (sendmail_read_body(in, &body, 7, &error) < 0)
			goto failed;
		assert_true(body.len == 0 || body.len < 7 + 100);
		strbuf_append(&out, body.data, body.len);
	} while (body.len > 0);
	sendmail_header_free(&hdr);
	sendmail_input_free(&in);
	strbuf_free(&body);
	fclose(fp);
	return strbuf_detach(&out);
failed:
	assert_non_null(error);
	free(error);
	sendmail_header_free(&hdr);
	sendmail_input_free(&in);
	strbuf_free(&body);
	strbuf_free(&out);
	fclose(fp);
	return NULL;
}

static void expect_message(const char *in, int ignore_dots, const char *want, int want_no_blank)
{
	int no_blank = -1;
	char *got = read_message(in, ignore_dots, 1000, &no_blank);

	if (got == NULL)
		fail_msg("\"%s\": refused", in);
	assert_string_equal(got, want);
	assert_int_equal(no_blank, want_no_blank);
	free(got);
}

static void test_input(void **state)
{
	/* header, folding, the empty line kept with the body, CR LF made LF */
	expect_message("To: a@b\r\nSubject: x\r\n  continued\r\n\r\nbody\r\n", 0,
		       "To=To: a@b\n|Subject=Subject: x\n  continued\n|#\nbody\n", 0);
	/* a lone dot ends the message, unless -i */
	expect_message("To: a@b\n\none\n.\ntwo\n", 0, "To=To: a@b\n|#\none\n", 0);
	expect_message("To: a@b\n\none\n.\ntwo\n", 1, "To=To: a@b\n|#\none\n.\ntwo\n", 0);
	expect_message("To: a@b\n\n..\n.x\n", 0, "To=To: a@b\n|#\n..\n.x\n", 0);
	/* a dot with CR LF is a lone dot too */
	expect_message("To: a@b\r\n\r\nx\r\n.\r\ny\r\n", 0, "To=To: a@b\n|#\nx\n", 0);
	/* an mbox From_ line at the start is dropped, elsewhere kept */
	expect_message("From alice Mon Nov 23 10:00:00 2026\nTo: a@b\n\nFrom here\n", 0,
		       "To=To: a@b\n|#\nFrom here\n", 0);
	/* a last line without a line end gets one */
	expect_message("To: a@b\n\nlast", 0, "To=To: a@b\n|#\nlast\n", 0);
	/* a body line with no empty line before it ends the header */
	expect_message("To: a@b\nno header here\nmore\n", 0, "To=To: a@b\n|#no header here\nmore\n",
		       1);
	expect_message("just text\n", 0, "#just text\n", 1);
	/* nothing at all */
	expect_message("", 0, "#", 0);
	expect_message(".\n", 0, "#", 0);
	/* a continuation line before any field is not a header line */
	expect_message(" indented\n", 0, "# indented\n", 1);
}

static void test_input_limit(void **state)
{
	int no_blank;
	char *got;

	/* 19 bytes in all (with LF line ends) fit a limit of 19, not 18 */
	got = read_message("To: a@b\r\n\r\n123456789\r\n", 0, 19, &no_blank);
	assert_non_null(got);
	free(got);
	assert_null(read_message("To: a@b\r\n\r\n123456789\r\n", 0, 18, &no_blank));
	/* one long line is refused as soon as it passes the limit */
	assert_null(
	    read_message("To: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 0, 19, &no_blank));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),	cmocka_unit_test(test_minimal),
	    cmocka_unit_test(test_origin),	cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_limit),	cmocka_unit_test(test_broken),
	    cmocka_unit_test(test_file_names),	cmocka_unit_test(test_addr_list),
	    cmocka_unit_test(test_addr_append), cmocka_unit_test(test_input),
	    cmocka_unit_test(test_input_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
