/*
 * test_strbuf - growable strings and byte buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/mymalloc.h"
#include "util/strbuf.h"

static void test_empty_is_valid(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	assert_string_equal(strbuf_str(&sb), "");
	assert_int_equal(sb.len, 0);
	strbuf_consume(&sb, 5);
	strbuf_truncate(&sb, 0);
	strbuf_free(&sb);
}

static void test_append_grows(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	int i;

	for (i = 0; i < 10000; i++)
		strbuf_putc(&sb, 'a' + i % 26);
	assert_int_equal(sb.len, 10000);
	assert_int_equal(sb.data[10000], '\0');
	assert_int_equal(sb.data[27], 'b');
	strbuf_free(&sb);
}

static void test_binary_data(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_append(&sb, "a\0b", 3);
	assert_int_equal(sb.len, 3);
	assert_memory_equal(sb.data, "a\0b", 4);
	strbuf_free(&sb);
}

static void test_printf_long(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char big[1000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strbuf_puts(&sb, "<");
	strbuf_printf(&sb, "%s|%d", big, 42);
	assert_int_equal(sb.len, 1 + 999 + 3);
	assert_string_equal(sb.data + 1000, "|42");
	strbuf_free(&sb);
}

static void test_consume_truncate_detach(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *s;

	strbuf_set(&sb, "hello world");
	strbuf_consume(&sb, 6);
	assert_string_equal(strbuf_str(&sb), "world");
	strbuf_truncate(&sb, 3);
	assert_string_equal(strbuf_str(&sb), "wor");
	strbuf_truncate(&sb, 10);
	assert_string_equal(strbuf_str(&sb), "wor");
	s = strbuf_detach(&sb);
	assert_string_equal(s, "wor");
	assert_null(sb.data);
	free(s);
}

static void test_xasprintf(void **state)
{
	char *s = xasprintf("%s=%d", "n", 7);

	assert_string_equal(s, "n=7");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_is_valid),
	    cmocka_unit_test(test_append_grows),
	    cmocka_unit_test(test_binary_data),
	    cmocka_unit_test(test_printf_long),
	    cmocka_unit_test(test_consume_truncate_detach),
	    cmocka_unit_test(test_xasprintf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
