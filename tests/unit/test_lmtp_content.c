/*
 * test_lmtp_content - lmtp's message content: line ends normalised to
 * CR LF whatever the cuts between writes, content kept in memory and
 * spilled to an unlinked temporary file past the memory limit (read back
 * byte for byte, nothing left in the directory), the size limit, a spill
 * that fails; and the queue ID found in the topmost Received: field.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lmtp/lmtp_content.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* read_all - the whole content as read back, in pieces of step bytes. */
static void read_all(struct lmtp_content *c, size_t step, struct strbuf *out)
{
	char *buf = xmalloc(step);
	uint64_t offset = 0;
	char *error = NULL;
	long long n;

	while ((n = lmtp_content_read(c, offset, buf, step, &error)) > 0) {
		strbuf_append(out, buf, (size_t)n);
		offset += (uint64_t)n;
	}
	assert_int_equal(n, 0);
	assert_null(error);
	free(buf);
}

static const struct {
	const char *in, *out;
} norm_cases[] = {
    {"", ""},
    {"a\r\nb\r\n", "a\r\nb\r\n"},
    {"a\nb\n", "a\r\nb\r\n"},
    {"a\rb\r", "a\r\nb\r\n"},
    {"a\r\r\nb", "a\r\n\r\nb"},
    {"\n\n\r\r", "\r\n\r\n\r\n\r\n"},
    {"x\r\n\ny", "x\r\n\r\ny"},
    {"no line end", "no line end"},
};

/* test_normalise - each case written whole, a byte at a time, and cut at every place. */
static void test_normalise(void **state)
{
	size_t i, cut, len;

	(void)state;
	for (i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
		len = strlen(norm_cases[i].in);
		for (cut = 0; cut <= len + 1; cut++) {
			struct lmtp_content c;
			struct strbuf out = STRBUF_INIT;
			size_t k;

			lmtp_content_init(&c, "/nonexistent", 1 << 20, 1 << 20);
			if (cut == len + 1) {
				for (k = 0; k < len; k++)
					lmtp_content_write(&c, norm_cases[i].in + k, 1);
			} else {
				lmtp_content_write(&c, norm_cases[i].in, cut);
				lmtp_content_write(&c, norm_cases[i].in + cut, len - cut);
			}
			lmtp_content_end(&c);
			read_all(&c, 3, &out);
			assert_string_equal(strbuf_str(&out), norm_cases[i].out);
			assert_int_equal(c.size, strlen(norm_cases[i].out));
			assert_false(lmtp_content_too_big(&c));
			strbuf_free(&out);
			lmtp_content_free(&c);
		}
	}
}

static size_t dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* test_spill - past the memory limit the content moves to a file that no name points to. */
static void test_spill(void **state)
{
	char dir[] = "/tmp/test_lmtp_content.XXXXXX";
	struct lmtp_content c;
	struct strbuf expect = STRBUF_INIT, out = STRBUF_INIT;
	const char *head;
	size_t i, len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	lmtp_content_init(&c, dir, 1000, 10 << 20);
	for (i = 0; i < 20000; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "line %zu of the message\n", i);

		lmtp_content_write(&c, line, (size_t)n);
		strbuf_append(&expect, line, (size_t)n - 1);
		strbuf_puts(&expect, "\r\n");
	}
	lmtp_content_end(&c);
	assert_true(c.fd >= 0);
	assert_int_equal(dir_entries(dir), 0);
	assert_int_equal(c.size, expect.len);
	read_all(&c, 4096, &out);
	assert_int_equal(out.len, expect.len);
	assert_memory_equal(out.data, expect.data, expect.len);
	head = lmtp_content_head(&c, &len);
	assert_int_equal(len, LMTP_CONTENT_HEAD_MAX);
	assert_memory_equal(head, expect.data, len);
	lmtp_content_free(&c);
	strbuf_free(&expect);
	strbuf_free(&out);
	assert_int_equal(rmdir(dir), 0);
}

/* test_limits - bytes past the size limit are counted, not kept; a failed spill is remembered. */
static void test_limits(void **state)
{
	struct lmtp_content c;
	char buf[100], *error = NULL;
	size_t len;

	(void)state;
	lmtp_content_init(&c, "/nonexistent", 1 << 20, 10);
	lmtp_content_write(&c, "0123456789", 10);
	assert_false(lmtp_content_too_big(&c));
	lmtp_content_write(&c, "x\n", 2);
	assert_true(lmtp_content_too_big(&c));
	assert_int_equal(c.size, 13);
	assert_true(c.kept <= 10);
	lmtp_content_free(&c);

	lmtp_content_init(&c, "/nonexistent/dir", 4, 1 << 20);
	lmtp_content_write(&c, "abc", 3);
	assert_null(c.error);
	lmtp_content_write(&c, "defgh", 5);
	assert_non_null(c.error);
	lmtp_content_write(&c, "more", 4);
	assert_int_equal(lmtp_content_read(&c, 0, buf, sizeof(buf), &error), -1);
	assert_non_null(strstr(error, "/nonexistent/dir"));
	free(error);
	(void)lmtp_content_head(&c, &len);
	lmtp_content_free(&c);
}

static const struct {
	const char *head;
	const char *id; /* NULL: none */
} id_cases[] = {
    {"Received: from client.example (client.example [192.0.2.1])\r\n"
     "\tby mx.example.org (Tern) with ESMTP id 0BSW2XJ4K3A4LQ\r\n"
     "\tfor <a@example.org>; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
     "Subject: x\r\n\r\nbody\r\n",
     "0BSW2XJ4K3A4LQ"},
    {"Received: by mx.example.org (Tern, from user bob)\n\tid ABC123; Mon, 1 Jan 2024\n\n",
     "ABC123"},
    {"Received: from id (id [192.0.2.1]) by pf.example (Postfix) with ESMTP id 4Qx7Lz0a3Fz9rxb;"
     " Tue, 2 Jan 2024 10:00:00 +0100 (CET)\r\n\r\n",
     "4Qx7Lz0a3Fz9rxb"},
    {"received: (comment with id FAKE) by h with SMTP ID Xy-1.2_3\r\n\r\n", "Xy-1.2_3"},
    /* only the topmost field counts */
    {"Received: from a by b with ESMTP; date\r\nReceived: by c id LOWER; date\r\n\r\n", NULL},
    {"Subject: no trace\r\n\r\nReceived: by x id BODY\r\n", NULL},
    {"From: a@b\r\nReceived: by mx id LATER; d\r\n\r\n", "LATER"},
    {"Received: by mx id bad/id; d\r\n\r\n", NULL},
    {"Received: by mx id \"quoted\"; d\r\n\r\n", NULL},
    {"Received: by mx id\r\n", NULL},
    {"Received: by mx id (nothing)\r\n", NULL},
    {"Received: by mx id 0123456789012345678901234567890123456789012345678901234567890123456789;"
     "\r\n\r\n",
     NULL},
    {"not a header\r\nReceived: by mx id X\r\n", NULL},
    {"", NULL},
    {"Received: ((nested (comment)) id NO) by mx\r\n (more) id YES\r\n\r\n", "YES"},
    {"Received: (unterminated comment id NO\r\n\r\n", NULL},
};

static void test_received_id(void **state)
{
	size_t i;
	char *id;

	(void)state;
	for (i = 0; i < sizeof(id_cases) / sizeof(id_cases[0]); i++) {
		id = lmtp_received_id(id_cases[i].head, strlen(id_cases[i].head));
		if (id_cases[i].id == NULL) {
			if (id != NULL)
				fail_msg("case %zu: got \"%s\", expected none", i, id);
		} else {
			if (id == NULL)
				fail_msg("case %zu: got none, expected \"%s\"", i, id_cases[i].id);
			assert_string_equal(id, id_cases[i].id);
		}
		free(id);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalise),
	    cmocka_unit_test(test_spill),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_received_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
