/*
 * test_smtp_decode - the DATA/BDAT content decoder: a table of inputs
 * with the content, end position and findings each must give, among them
 * every SMTP smuggling variant of the end-of-data marker; each input is
 * decoded whole, one byte at a time, and cut in two at every position, and
 * must give the same result every way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/smtp_decode.h"
#include "util/strbuf.h"

#define LF SMTP_DECODE_BARE_LF
#define CR SMTP_DECODE_BARE_CR
#define LONG SMTP_DECODE_LONG_LINE

struct data_case {
	const char *in;
	int done;	     /* the end of data was found */
	const char *content; /* what was passed on */
	size_t consumed;     /* input bytes taken (done); unused when not done */
	unsigned seen;
	size_t inlen, outlen; /* 0: strlen (for inputs with NUL bytes) */
};

static const struct data_case data_cases[] = {
    /* ordinary messages */
    {".\r\n", 1, "", 3, 0, 0, 0},
    {"a\r\n.\r\n", 1, "a\r\n", 6, 0, 0, 0},
    {"a\r\n.\r\nRSET\r\n", 1, "a\r\n", 6, 0, 0, 0},
    {"Subject: x\r\n\r\nbody\r\n.\r\n", 1, "Subject: x\r\n\r\nbody\r\n", 23, 0, 0, 0},
    {"\r\n.\r\n", 1, "\r\n", 5, 0, 0, 0},
    {"..\r\n.\r\n", 1, ".\r\n", 7, 0, 0, 0},
    {"..x\r\n.\r\n", 1, ".x\r\n", 8, 0, 0, 0},
    {".x\r\n.\r\n", 1, "x\r\n", 7, 0, 0, 0},
    {"a.\r\n.\r\n", 1, "a.\r\n", 7, 0, 0, 0},
    {"a\r\n..\r\n...\r\n.\r\n", 1, "a\r\n.\r\n..\r\n", 15, 0, 0, 0},
    {"a\r\n. \r\n.\r\n", 1, "a\r\n \r\n", 10, 0, 0, 0},
    {"no end", 0, "no end", 0, 0, 0, 0},
    {"a\r\n.", 0, "a\r\n", 0, 0, 0, 0},
    {"a\r\n.\r", 0, "a\r\n", 0, 0, 0, 0},
    /* smuggling: none of these ends the data, each is reported */
    {"a\n.\nMAIL FROM:<x@y>\n", 0, "a\r\n\r\nMAIL FROM:<x@y>\r\n", 0, LF, 0, 0},
    {"a\r\n.\nMAIL", 0, "a\r\n\r\nMAIL", 0, LF, 0, 0},
    {"a\n.\r\nMAIL", 0, "a\r\n\r\nMAIL", 0, LF, 0, 0},
    {"a\r.\rMAIL", 0, "a\r\n\r\nMAIL", 0, CR, 0, 0},
    {"a\r\n.\rMAIL", 0, "a\r\n\r\nMAIL", 0, CR, 0, 0},
    {"a\r.\r\nMAIL", 0, "a\r\n\r\nMAIL", 0, CR, 0, 0},
    {"a\r\n.\r\r\nMAIL", 0, "a\r\n\r\n\r\nMAIL", 0, CR, 0, 0},
    {"a\n\r\n.\r\nb", 1, "a\r\n\r\n", 7, LF, 0, 0},
    {"a\r\r\n.\r\nb", 1, "a\r\n\r\n", 7, CR, 0, 0},
    {"a\n.\n\r\n.\r\n", 1, "a\r\n\r\n\r\n", 9, LF, 0, 0},
    {"\n.\r\n", 0, "\r\n\r\n", 0, LF, 0, 0},
    {"\r.\r\n", 0, "\r\n\r\n", 0, CR, 0, 0},
    {"a\r\n\n.\r\n", 0, "a\r\n\r\n\r\n", 0, LF, 0, 0},
    {"x\r\n.\n.\r\n", 0, "x\r\n\r\n\r\n", 0, LF, 0, 0},
    {"x\r\n..\n.\r\n", 0, "x\r\n.\r\n\r\n", 0, LF, 0, 0},
    {"x\r\r\r\n", 0, "x\r\n\r\n\r\n", 0, CR, 0, 0},
    {"x\n\n", 0, "x\r\n\r\n", 0, LF, 0, 0},
    {"x\r\n.\r.\r\n", 0, "x\r\n\r\n\r\n", 0, CR, 0, 0},
    {"x\r\n.x\r.\r\n", 0, "x\r\nx\r\n\r\n", 0, CR, 0, 0},
    /* a bare LF after the message still needs a real end */
    {"a\r\n.\r\n", 1, "a\r\n", 6, 0, 0, 0},
    /* NUL bytes are content */
    {"a\0b\r\n.\r\n", 1, "a\0b\r\n", 8, 0, 8, 5},
};

static size_t content_len(const struct data_case *c)
{
	return c->outlen != 0 ? c->outlen : strlen(c->content);
}

static size_t in_len(const struct data_case *c)
{
	return c->inlen != 0 ? c->inlen : strlen(c->in);
}

/* run - decode c->in fed in pieces at the given cut points (sorted, may be empty). */
static void run(const struct data_case *c, const size_t *cuts, size_t ncuts, size_t limit,
		struct strbuf *out, struct smtp_decoder *dec, size_t *consumed_r)
{
	size_t len = in_len(c), start = 0, i, end, used, total = 0;

	smtp_decoder_init(dec, SMTP_DECODE_DATA, limit);
	strbuf_reset(out);
	for (i = 0; i <= ncuts; i++) {
		end = i < ncuts ? cuts[i] : len;
		used = smtp_decoder_feed(dec, c->in + start, end - start, out);
		total += used;
		if (used < end - start) {
			assert_true(dec->done);
			break;
		}
		start = end;
	}
	*consumed_r = total;
}

static void check(const struct data_case *c, const struct strbuf *out,
		  const struct smtp_decoder *dec, size_t consumed, const char *how)
{
	size_t clen = content_len(c);

	if (dec->done != c->done || dec->seen != c->seen || out->len != clen ||
	    memcmp(out->data != NULL ? out->data : "", c->content, clen) != 0 ||
	    (c->done && consumed != c->consumed) || dec->out_bytes != out->len)
		fail_msg("%s: input \"%s\": done %d seen %u content(%zu) consumed %zu", how, c->in,
			 dec->done, dec->seen, out->len, consumed);
}

static void test_whole(void **state)
{
	struct strbuf out = STRBUF_INIT;
	struct smtp_decoder dec;
	size_t i, consumed;

	for (i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]); i++) {
		run(&data_cases[i], NULL, 0, 1000, &out, &dec, &consumed);
		check(&data_cases[i], &out, &dec, consumed, "whole");
	}
	strbuf_free(&out);
}

static void test_byte_at_a_time(void **state)
{
	struct strbuf out = STRBUF_INIT;
	struct smtp_decoder dec;
	size_t i, j, consumed, cuts[64];

	for (i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]); i++) {
		size_t len = in_len(&data_cases[i]);

		assert_true(len < 64);
		for (j = 1; j < len; j++)
			cuts[j - 1] = j;
		run(&data_cases[i], cuts, len > 0 ? len - 1 : 0, 1000, &out, &dec, &consumed);
		check(&data_cases[i], &out, &dec, consumed, "byte at a time");
	}
	strbuf_free(&out);
}

static void test_every_split(void **state)
{
	struct strbuf out = STRBUF_INIT;
	struct smtp_decoder dec;
	size_t i, cut, consumed;

	for (i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]); i++) {
		for (cut = 0; cut <= in_len(&data_cases[i]); cut++) {
			run(&data_cases[i], &cut, 1, 1000, &out, &dec, &consumed);
			check(&data_cases[i], &out, &dec, consumed, "split");
		}
	}
	strbuf_free(&out);
}

static void test_nothing_after_done(void **state)
{
	struct smtp_decoder dec;
	struct strbuf out = STRBUF_INIT;

	smtp_decoder_init(&dec, SMTP_DECODE_DATA, 1000);
	assert_int_equal(smtp_decoder_feed(&dec, ".\r\nMAIL", 7, &out), 3);
	assert_true(dec.done);
	assert_int_equal(smtp_decoder_feed(&dec, "MAIL", 4, &out), 0);
	assert_int_equal(out.len, 0);
	strbuf_free(&out);
}

/* line - a line of n 'x' and its CR LF, dot-stuffed when dot. */
static void line(struct strbuf *sb, size_t n, int dot)
{
	if (dot)
		strbuf_putc(sb, '.');
	while (n-- > 0)
		strbuf_putc(sb, 'x');
	strbuf_puts(sb, "\r\n");
}

static void test_line_limit(void **state)
{
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
	struct smtp_decoder dec;
	size_t i;

	/* 998 bytes + CR LF is the RFC 5321 limit: fine, also dot-stuffed */
	line(&in, 998, 0);
	line(&in, 998, 1);
	strbuf_puts(&in, ".\r\n");
	smtp_decoder_init(&dec, SMTP_DECODE_DATA, 1000);
	assert_int_equal(smtp_decoder_feed(&dec, in.data, in.len, &out), in.len);
	assert_true(dec.done);
	assert_int_equal(dec.seen, 0);
	/* one more byte is too long, whole or a byte at a time */
	strbuf_reset(&in);
	line(&in, 999, 0);
	strbuf_puts(&in, ".\r\n");
	smtp_decoder_init(&dec, SMTP_DECODE_DATA, 1000);
	smtp_decoder_feed(&dec, in.data, in.len, NULL);
	assert_int_equal(dec.seen, SMTP_DECODE_LONG_LINE);
	smtp_decoder_init(&dec, SMTP_DECODE_DATA, 1000);
	for (i = 0; i < in.len; i++)
		smtp_decoder_feed(&dec, in.data + i, 1, NULL);
	assert_int_equal(dec.seen, SMTP_DECODE_LONG_LINE);
	assert_true(dec.done);
	assert_int_equal(dec.out_bytes, 1001);
	strbuf_free(&in);
	strbuf_free(&out);
}

static void test_bdat_mode(void **state)
{
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
	struct smtp_decoder dec;
	size_t i;

	/* BDAT: bytes unchanged, no end marker, no unstuffing */
	smtp_decoder_init(&dec, SMTP_DECODE_BDAT, 1000);
	assert_int_equal(smtp_decoder_feed(&dec, "a\r\n.\r\n..\nb\r", 12, &out), 12);
	assert_int_equal(out.len, 12);
	assert_memory_equal(out.data, "a\r\n.\r\n..\nb\r", 12);
	assert_false(dec.done);
	assert_int_equal(dec.seen, 0);
	/* line lengths across feeds: 998 + CR LF fits, a CR at a cut included */
	strbuf_reset(&in);
	line(&in, 998, 0);
	line(&in, 998, 0);
	smtp_decoder_init(&dec, SMTP_DECODE_BDAT, 1000);
	for (i = 0; i < in.len; i++)
		smtp_decoder_feed(&dec, in.data + i, 1, NULL);
	assert_int_equal(dec.seen, 0);
	strbuf_reset(&in);
	line(&in, 999, 0);
	smtp_decoder_init(&dec, SMTP_DECODE_BDAT, 1000);
	smtp_decoder_feed(&dec, in.data, 500, NULL);
	smtp_decoder_feed(&dec, in.data + 500, in.len - 500, NULL);
	assert_int_equal(dec.seen, SMTP_DECODE_LONG_LINE);
	assert_int_equal(dec.out_bytes, in.len);
	strbuf_free(&in);
	strbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole),	cmocka_unit_test(test_byte_at_a_time),
	    cmocka_unit_test(test_every_split), cmocka_unit_test(test_nothing_after_done),
	    cmocka_unit_test(test_line_limit),	cmocka_unit_test(test_bdat_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
