/*
 * test_smtp_content - message lines as the smtp agent sends them:
 * dot-stuffing at the start of every line (also of a line that comes in
 * pieces, and of the pieces a long line is broken into), CRLF line ends,
 * lines broken at 998 bytes; 8-bit detection; the delay format of the log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp.h"

static void test_dot_stuffing(void **state)
{
	struct strbuf out = STRBUF_INIT;
	size_t col = 0;

	smtp_line_put(&out, "Subject: x", 10, true, &col);
	smtp_line_put(&out, "", 0, true, &col);
	smtp_line_put(&out, ".", 1, true, &col);
	smtp_line_put(&out, "..two", 5, true, &col);
	smtp_line_put(&out, "a.b", 3, true, &col);
	smtp_line_put(&out, " .", 2, true, &col);
	assert_string_equal(strbuf_str(&out), "Subject: x\r\n\r\n..\r\n...two\r\na.b\r\n .\r\n");
	assert_int_equal(col, 0);
	strbuf_free(&out);
}

static void test_pieces(void **state)
{
	struct strbuf out = STRBUF_INIT;
	size_t col = 0;

	/* a line in three pieces: only its first byte may be stuffed */
	smtp_line_put(&out, ".ab", 3, false, &col);
	smtp_line_put(&out, ".cd", 3, false, &col);
	smtp_line_put(&out, "", 0, true, &col);
	smtp_line_put(&out, "x", 1, false, &col);
	smtp_line_put(&out, ".y", 2, true, &col);
	assert_string_equal(strbuf_str(&out), "..ab.cd\r\nx.y\r\n");
	strbuf_free(&out);
}

static void test_long_lines(void **state)
{
	struct strbuf out = STRBUF_INIT;
	size_t col = 0, len = 2500, i, start, max = 0;
	char *line = malloc(len);

	memset(line, 'a', len);
	line[998] = '.'; /* starts the second wire line: stuffed */
	smtp_line_put(&out, line, 1000, false, &col);
	smtp_line_put(&out, line + 1000, len - 1000, true, &col);
	for (i = 0, start = 0; i + 1 < out.len; i++) {
		if (out.data[i] == '\r' && out.data[i + 1] == '\n') {
			if (i - start > max)
				max = i - start;
			start = i + 2;
		}
	}
	assert_int_equal(max, SMTP_LINE_MAX);
	assert_int_equal(out.len, 2500 + 1 + 3 * 2); /* one stuffed dot, three CRLFs */
	assert_memory_equal(out.data + 998, "\r\n..", 4);
	assert_memory_equal(out.data + out.len - 2, "\r\n", 2);
	/* exactly 998 bytes: one line */
	strbuf_reset(&out);
	smtp_line_put(&out, line + 1000, SMTP_LINE_MAX, true, &col);
	assert_int_equal(out.len, SMTP_LINE_MAX + 2);
	free(line);
	strbuf_free(&out);
}

static void test_8bit(void **state)
{
	assert_false(smtp_has_8bit("plain ascii ~", 13));
	assert_true(smtp_has_8bit("caf\xc3\xa9", 5));
	assert_false(smtp_has_8bit("", 0));
}

static void test_delay_format(void **state)
{
	static const struct {
		double in;
		const char *out;
	} cases[] = {
	    {0, "0"},	    {0.004, "0"},   {0.01, "0.01"},  {0.35, "0.35"},
	    {0.5, "0.5"},   {1, "1"},	    {1.234, "1.23"}, {12.34, "12.3"},
	    {99.99, "100"}, {123.4, "123"}, {3600, "3600"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf out = STRBUF_INIT;
		smtp_delay_format(&out, cases[i].in);
		assert_string_equal(strbuf_str(&out), cases[i].out);
		strbuf_free(&out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dot_stuffing), cmocka_unit_test(test_pieces),
	    cmocka_unit_test(test_long_lines),	 cmocka_unit_test(test_8bit),
	    cmocka_unit_test(test_delay_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
