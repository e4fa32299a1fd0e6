/*
 * test_config - main.cf syntax: logical lines, entries, errors with
 * file:line, and $name expansion with cycle detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/config.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* parse - parse text as "t.cf", failing the test on error. */
static struct config *parse(const char *text)
{
	struct config *cfg = NULL;
	char *error = NULL;

	if (config_parse("t.cf", text, strlen(text), &cfg, &error) < 0)
		fail_msg("unexpected error: %s", error);
	return cfg;
}

/* parse_error - parse text expecting failure; the message (malloc'd). */
static char *parse_error(const char *text)
{
	struct config *cfg = NULL;
	char *error = NULL;

	assert_int_equal(config_parse("t.cf", text, strlen(text), &cfg, &error), -1);
	assert_null(cfg);
	assert_non_null(error);
	return error;
}

static void expect_parse_error(const char *text, const char *expected)
{
	char *error = parse_error(text);

	if (strstr(error, expected) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", error, expected);
	free(error);
}

static void test_entries_and_lines(void **state)
{
	struct config *cfg = parse("# comment\n"
				   "\n"
				   "a = 1\n"
				   "b=two words  \n"
				   "   # indented comment\n"
				   "c\t=\t\n"
				   "d = x = y\n");

	assert_int_equal(cfg->count, 4);
	assert_string_equal(cfg->path, "t.cf");
	assert_string_equal(cfg->entries[0].name, "a");
	assert_string_equal(cfg->entries[0].value, "1");
	assert_int_equal(cfg->entries[0].line, 3);
	assert_string_equal(cfg->entries[1].name, "b");
	assert_string_equal(cfg->entries[1].value, "two words");
	assert_int_equal(cfg->entries[1].line, 4);
	assert_string_equal(cfg->entries[2].name, "c");
	assert_string_equal(cfg->entries[2].value, "");
	assert_int_equal(cfg->entries[2].line, 6);
	assert_string_equal(cfg->entries[3].value, "x = y");
	config_free(&cfg);
	assert_null(cfg);
}

static void test_continuation(void **state)
{
	struct config *cfg = parse("list = a,\n"
				   "    b,\n"
				   "# a comment does not end the entry\n"
				   "\tc\n"
				   "\n"
				   "  d\n"
				   "next = 1\r\n");

	assert_int_equal(cfg->count, 2);
	assert_string_equal(cfg->entries[0].value, "a, b, c d");
	assert_int_equal(cfg->entries[0].line, 1);
	assert_int_equal(cfg->entries[0].last_line, 6);
	assert_string_equal(cfg->entries[1].value, "1");
	assert_int_equal(cfg->entries[1].line, 7);
	assert_int_equal(cfg->entries[1].last_line, 7);
	config_free(&cfg);
}

static void test_value_on_continuation_line(void **state)
{
	struct config *cfg = parse("a =\n  value\nb\n = 2\n");

	assert_string_equal(cfg->entries[0].value, "value");
	assert_string_equal(cfg->entries[1].name, "b");
	assert_string_equal(cfg->entries[1].value, "2");
	config_free(&cfg);
}

static void test_no_final_newline_and_empty(void **state)
{
	struct config *cfg = parse("a = 1");

	assert_int_equal(cfg->count, 1);
	assert_string_equal(cfg->entries[0].value, "1");
	config_free(&cfg);
	cfg = parse("");
	assert_int_equal(cfg->count, 0);
	config_free(&cfg);
}

static void test_syntax_errors(void **state)
{
	expect_parse_error("a = 1\nnot an entry\n", "t.cf:2: missing '=' in \"not an entry\"");
	expect_parse_error("\n\n= 1\n", "t.cf:3: missing parameter name");
	expect_parse_error("a = 1\nbad-name = 2\n", "t.cf:2: bad parameter name \"bad-name\"");
	expect_parse_error("two words = 2\n", "t.cf:1: bad parameter name \"two words\"");
	expect_parse_error("# first\n  continued\n", "t.cf:2: line starts with white space");
}

static void test_nul_byte_error(void **state)
{
	static const char text[] = "a = 1\nb = x\0y\n";
	struct config *cfg = NULL;
	char *error = NULL;

	assert_int_equal(config_parse("t.cf", text, sizeof(text) - 1, &cfg, &error), -1);
	assert_string_equal(error, "t.cf:2: NUL byte in line");
	free(error);
}

static void test_find_last_wins(void **state)
{
	struct config *cfg = parse("a = 1\nb = 2\na = 3\n");
	const struct config_entry *e = config_find(cfg, "a");

	assert_non_null(e);
	assert_string_equal(e->value, "3");
	assert_int_equal(e->line, 3);
	assert_null(config_find(cfg, "c"));
	config_free(&cfg);
}

static void test_dup(void **state)
{
	struct config *cfg = parse("a = 1\nb = 2\n"), *copy = config_dup(cfg);

	config_free(&cfg);
	assert_int_equal(copy->count, 2);
	assert_string_equal(copy->path, "t.cf");
	assert_string_equal(copy->entries[1].name, "b");
	assert_string_equal(copy->entries[1].value, "2");
	assert_int_equal(copy->entries[1].line, 2);
	config_free(&copy);
}

static void test_read_file(void **state)
{
	char path[] = "/tmp/test_config.XXXXXX", *text = NULL, *error = NULL;
	struct config *cfg = NULL;
	size_t len = 0;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x = 1\n  2\n", 10), 10);
	close(fd);
	assert_int_equal(config_read_file(path, &text, &len, &error), 0);
	assert_int_equal(len, 10);
	assert_string_equal(text, "x = 1\n  2\n");
	free(text);
	assert_int_equal(config_read(path, &cfg, &error), 0);
	assert_string_equal(cfg->path, path);
	assert_string_equal(config_find(cfg, "x")->value, "1 2");
	config_free(&cfg);
	unlink(path);
	errno = 0;
	assert_int_equal(config_read_file(path, &text, &len, &error), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(error, path));
	free(error);
	assert_int_equal(config_read(path, &cfg, &error), -1);
	free(error);
}

static void test_name_valid(void **state)
{
	assert_int_equal(config_name_valid("abc_1", 5), 1);
	assert_int_equal(config_name_valid("", 0), 0);
	assert_int_equal(config_name_valid("a-b", 3), 0);
	assert_int_equal(config_name_valid("a.b", 3), 0);
}

/* lookup in a struct config, for expansion tests. */
static const char *cfg_lookup(const char *name, void *context)
{
	const struct config_entry *e = config_find(context, name);

	return e ? e->value : NULL;
}

/* expand - the expansion of text as the value of name in the configuration text. */
static char *expand(const char *conf_text, const char *name, const char *text)
{
	struct config *cfg = parse(conf_text);
	char *result = NULL, *error = NULL;

	if (config_expand(name, text, cfg_lookup, cfg, &result, &error) < 0)
		fail_msg("unexpected error: %s", error);
	config_free(&cfg);
	return result;
}

static void expect_expand(const char *conf_text, const char *text, const char *expected)
{
	char *result = expand(conf_text, NULL, text);

	assert_string_equal(result, expected);
	free(result);
}

/* expand_error - the error of expanding the value of name (malloc'd). */
static char *expand_error(const char *conf_text, const char *name)
{
	struct config *cfg = parse(conf_text);
	char *result = NULL, *error = NULL;

	assert_int_equal(
	    config_expand(name, config_find(cfg, name)->value, cfg_lookup, cfg, &result, &error),
	    -1);
	assert_null(result);
	assert_non_null(error);
	config_free(&cfg);
	return error;
}

static void expect_expand_error(const char *conf_text, const char *name, const char *expected)
{
	char *error = expand_error(conf_text, name);

	if (strstr(error, expected) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", error, expected);
	free(error);
}

static void test_expand_forms(void **state)
{
	const char *conf = "host = mx\ndomain = example.org\nfqdn = $host.$domain\n"
			   "empty =\n";

	expect_expand(conf, "plain text", "plain text");
	expect_expand(conf, "$host", "mx");
	expect_expand(conf, "<${host}>", "<mx>");
	expect_expand(conf, "<$(host)>", "<mx>");
	expect_expand(conf, "${host}name", "mxname");
	expect_expand(conf, "$host-x", "mx-x");
	expect_expand(conf, "$fqdn", "mx.example.org");
	expect_expand(conf, "mail.${fqdn}, $(domain)", "mail.mx.example.org, example.org");
	expect_expand(conf, "$$host costs $$5", "$host costs $5");
	expect_expand(conf, "$$$host", "$mx");
	expect_expand(conf, "[$undefined]", "[]");
	expect_expand(conf, "[$empty]", "[]");
}

static void test_expand_nested_deeply(void **state)
{
	expect_expand("a = $b+\nb = ${c}+\nc = $(d)+\nd = $$e\n", "$a", "$e+++");
}

static void test_expand_conditional(void **state)
{
	const char *conf = "set = yes\nempty =\nword = w\n";

	expect_expand(conf, "${set?on}", "on");
	expect_expand(conf, "${empty?on}", "");
	expect_expand(conf, "${missing?on}", "");
	expect_expand(conf, "${set:off}", "");
	expect_expand(conf, "${empty:off}", "off");
	expect_expand(conf, "${set?[$word]}", "[w]");
	expect_expand(conf, "$(set?(x))", "(x)");
	expect_expand(conf, "${set?${empty:inner}}", "inner");
}

static void test_expand_cycles(void **state)
{
	char *error;

	error = expand_error("a = x$a\n", "a");
	assert_string_equal(error, "parameter cycle: a -> a");
	free(error);
	error = expand_error("a = $b\nb = ${c}\nc = $(a)\n", "a");
	assert_string_equal(error, "parameter cycle: a -> b -> c -> a");
	free(error);
	/* A cycle further down the chain names only the names in the cycle. */
	error = expand_error("x = $a\na = $b\nb = $a\n", "x");
	assert_string_equal(error, "parameter cycle: a -> b -> a");
	free(error);
	expect_expand_error("a = ${b?$a}\nb = 1\n", "a", "parameter cycle: a -> a");
}

static void test_expand_not_a_cycle(void **state)
{
	/* The same name twice side by side is not a cycle. */
	expect_expand("b = 1\nc = $b$b\n", "$c$c", "1111");
	expect_expand("b = 1\n", "${b?$b}", "1");
}

static void test_expand_errors(void **state)
{
	expect_expand_error("a = cost: 5$\n", "a", "'$' not followed by a parameter name");
	expect_expand_error("a = $ b\n", "a", "write $$ for a dollar sign");
	expect_expand_error("a = ${b\n", "a", "missing '}' after \"${b\"");
	expect_expand_error("a = $(b\n", "a", "missing ')'");
	expect_expand_error("a = ${}\n", "a", "bad parameter name in \"${}\"");
	expect_expand_error("a = ${b-c}\n", "a", "bad parameter name in \"${b-c}\"");
	expect_expand_error("a = ${b?x\n", "a", "missing '}'");
	expect_expand_error("a = $(b}\n", "a", "bad parameter name");
}

static void test_expand_limits(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *error;
	int i;

	/* A chain longer than the nesting limit. */
	for (i = 0; i < 100; i++)
		strbuf_printf(&sb, "p%d = $p%d\n", i, i + 1);
	strbuf_puts(&sb, "p100 = end\n");
	error = expand_error(sb.data, "p0");
	assert_non_null(strstr(error, "nested more than"));
	free(error);
	/* Doubling at every level: the size limit stops it. */
	strbuf_reset(&sb);
	for (i = 0; i < 40; i++)
		strbuf_printf(&sb, "b%d = $b%d$b%d\n", i, i + 1, i + 1);
	strbuf_puts(&sb, "b40 = ");
	for (i = 0; i < 1000; i++)
		strbuf_putc(&sb, 'x');
	strbuf_putc(&sb, '\n');
	error = expand_error(sb.data, "b0");
	assert_non_null(strstr(error, "longer than"));
	free(error);
	/* Doubling of nothing: the reference count limit stops it. */
	strbuf_reset(&sb);
	for (i = 0; i < 40; i++)
		strbuf_printf(&sb, "e%d = $e%d$e%d\n", i, i + 1, i + 1);
	strbuf_puts(&sb, "e40 =\n");
	error = expand_error(sb.data, "e0");
	assert_non_null(strstr(error, "parameter references"));
	free(error);
	strbuf_free(&sb);
}

static void test_escape(void **state)
{
	char *text = config_escape("a$b$$c");
	char *back = NULL, *error = NULL;

	assert_string_equal(text, "a$$b$$$$c");
	assert_int_equal(config_expand(NULL, text, cfg_lookup, NULL, &back, &error), 0);
	assert_string_equal(back, "a$b$$c");
	free(text);
	free(back);
}

static void test_lines(void **state)
{
	static const char text[] = "svc  inet n - n - - cmd\n  -o a=b\n#x\nother unix\n";
	struct config_line *lines = NULL;
	char *error = NULL;
	size_t count = 0;

	assert_int_equal(config_lines("m.cf", text, sizeof(text) - 1, &lines, &count, &error), 0);
	assert_int_equal(count, 2);
	assert_string_equal(lines[0].text, "svc  inet n - n - - cmd -o a=b");
	assert_int_equal(lines[0].line, 1);
	assert_int_equal(lines[0].last_line, 2);
	assert_string_equal(lines[1].text, "other unix");
	assert_int_equal(lines[1].line, 4);
	config_lines_free(&lines, count);
	assert_null(lines);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_entries_and_lines),
	    cmocka_unit_test(test_continuation),
	    cmocka_unit_test(test_value_on_continuation_line),
	    cmocka_unit_test(test_no_final_newline_and_empty),
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_nul_byte_error),
	    cmocka_unit_test(test_find_last_wins),
	    cmocka_unit_test(test_dup),
	    cmocka_unit_test(test_read_file),
	    cmocka_unit_test(test_name_valid),
	    cmocka_unit_test(test_expand_forms),
	    cmocka_unit_test(test_expand_nested_deeply),
	    cmocka_unit_test(test_expand_conditional),
	    cmocka_unit_test(test_expand_cycles),
	    cmocka_unit_test(test_expand_not_a_cycle),
	    cmocka_unit_test(test_expand_errors),
	    cmocka_unit_test(test_expand_limits),
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
