/*
 * test_imap_utf7 - modified UTF-7 of mailbox names: the RFC 3501 example
 * and other names both ways, the non-canonical and malformed encodings
 * that the strict decoder refuses, invalid UTF-8 that the encoder refuses,
 * the UTF-8 checker, and the round trip over many generated names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_utf7.h"
#include "util/strbuf.h"

struct pair {
	const char *utf8;
	const char *utf7;
};

static const struct pair pairs[] = {
    {"", ""},
    {"INBOX", "INBOX"},
    {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
     "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
    {"&", "&-"},
    {"A&B", "A&-B"},
    {"&&", "&-&-"},
    {"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
    {"\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd\xd0\xbd\xd1\x8b"
     "\xd0\xb5",
     "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"},
    {"\xf0\x9f\x98\x80", "&2D3eAA-"},
    {"\xc3\x84&\xc3\x96", "&AMQ-&-&ANY-"},
    {"a\tb", "a&AAk-b"},
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xf0\x9f\x98\x80x", "&ZeVnLIqe2D3eAA-x"},
    {"\xc3\x89l\xc3\xa9ments envoy\xc3\xa9s", "&AMk-l&AOk-ments envoy&AOk-s"},
    {"a-b+c,d", "a-b+c,d"},
};

static void test_pairs(void **state)
{
	struct strbuf out = STRBUF_INIT;
	char *err = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		strbuf_reset(&out);
		assert_int_equal(imap_utf8_to_utf7(pairs[i].utf8, strlen(pairs[i].utf8), &out), 0);
		assert_string_equal(strbuf_str(&out), pairs[i].utf7);
		strbuf_reset(&out);
		if (imap_utf7_to_utf8(pairs[i].utf7, strlen(pairs[i].utf7), &out, &err) < 0)
			fail_msg("%s: %s", pairs[i].utf7, err);
		assert_string_equal(strbuf_str(&out), pairs[i].utf8);
	}
	strbuf_free(&out);
}

struct bad {
	const char *utf7;
	const char *error; /* a word the error must hold */
};

static const struct bad bads[] = {
    {"&", "Unterminated"},
    {"&Jjo", "Unterminated"},
    {"a&U,BTFw", "Unterminated"},
    {"&Jjo!-", "Invalid character"},
    {"&Jj/o-", "Invalid character"},
    {"&Jj=o-", "Invalid character"},
    {"&AGE-", "Printable"},
    {"&ACY-", "Printable"},
    {"&U,BTFw-&ZeVnLIqe-", "Adjacent"},
    {"&2D0-", "surrogate"},
    {"&3gA-", "surrogate"},
    {"&2D3YPQ-", "surrogate"},
    {"&AAA-", "NUL"},
    {"&APx-", "padding"},
    {"&APwA-", "padding"},
    {"&U-", "padding"},
    {"a\xc3\xa9", "Invalid character"},
    {"a\x7f", "Invalid character"},
    {"a\tb", "Invalid character"},
    {"a\nb", "Invalid character"},
};

static void test_bad(void **state)
{
	struct strbuf out = STRBUF_INIT;
	char *err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		err = NULL;
		if (imap_utf7_to_utf8(bads[i].utf7, strlen(bads[i].utf7), &out, &err) == 0)
			fail_msg("accepted: %s", bads[i].utf7);
		assert_non_null(err);
		if (strstr(err, bads[i].error) == NULL)
			fail_msg("%s: error \"%s\" lacks \"%s\"", bads[i].utf7, err, bads[i].error);
		free(err);
	}
	/* a NUL byte inside the length */
	err = NULL;
	assert_int_equal(imap_utf7_to_utf8("a\0b", 3, &out, &err), -1);
	free(err);
	strbuf_free(&out);
}

static const char *const bad_utf8[] = {
    "\xff",	    "\xc0\x80",	    "\xc1\xbf",		 "\xe0\x80\x80",
    "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80",	 "\xf5\x80",
    "\xe2\x82",	    "\x80",	    "a\xe2\x82\xac\xe2", "\xf0\x8f\xbf\xbf",
};

static void test_utf8(void **state)
{
	struct strbuf out = STRBUF_INIT;
	size_t i, pos;

	(void)state;
	for (i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		assert_false(imap_utf8_valid(bad_utf8[i], strlen(bad_utf8[i])));
		assert_int_equal(imap_utf8_to_utf7(bad_utf8[i], strlen(bad_utf8[i]), &out), -1);
	}
	assert_false(imap_utf8_valid("a\0b", 3));
	assert_int_equal(imap_utf8_to_utf7("a\0b", 3, &out), -1);
	assert_true(imap_utf8_valid("", 0));
	assert_true(imap_utf8_valid("\xf4\x8f\xbf\xbf", 4));
	assert_true(imap_utf8_valid("\xef\xbf\xbf\xee\x80\x80\xd5\xb1", 8));
	pos = 0;
	assert_int_equal(imap_utf8_next("\xe2\x82\xac", 3, &pos), 0x20ac);
	assert_int_equal(pos, 3);
	pos = 0;
	assert_int_equal(imap_utf8_next("\xe2\x82", 2, &pos), -1);
	assert_int_equal(pos, 1);
	strbuf_free(&out);
}

static void put_utf8(struct strbuf *sb, uint32_t cp)
{
	if (cp < 0x80) {
		strbuf_putc(sb, (int)cp);
	} else if (cp < 0x800) {
		strbuf_putc(sb, (int)(0xc0 | (cp >> 6)));
		strbuf_putc(sb, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_putc(sb, (int)(0xe0 | (cp >> 12)));
		strbuf_putc(sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_putc(sb, (int)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_putc(sb, (int)(0xf0 | (cp >> 18)));
		strbuf_putc(sb, (int)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_putc(sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_putc(sb, (int)(0x80 | (cp & 0x3f)));
	}
}

/* Generated names: the encoding decodes to the name and re-encodes the same. */
static void test_round_trip(void **state)
{
	struct strbuf name = STRBUF_INIT, enc = STRBUF_INIT, dec = STRBUF_INIT, again = STRBUF_INIT;
	uint32_t seed = 12345, cp;
	char *err = NULL;
	int i, k, len;

	(void)state;
	for (i = 0; i < 5000; i++) {
		strbuf_reset(&name);
		len = i % 17;
		for (k = 0; k < len; k++) {
			seed = seed * 1103515245 + 12345;
			switch ((seed >> 16) % 4) {
			case 0:
				cp = 0x20 + (seed >> 8) % 0x5f;
				break;
			case 1:
				cp = 1 + (seed >> 8) % 0x7ff;
				break;
			case 2:
				cp = 0x800 + (seed >> 4) % 0xf800;
				break;
			default:
				cp = 0x10000 + (seed >> 3) % 0x100000;
				break;
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = '&';
			put_utf8(&name, cp);
		}
		strbuf_reset(&enc);
		strbuf_reset(&dec);
		strbuf_reset(&again);
		assert_int_equal(imap_utf8_to_utf7(strbuf_str(&name), name.len, &enc), 0);
		if (imap_utf7_to_utf8(strbuf_str(&enc), enc.len, &dec, &err) < 0)
			fail_msg("%s: %s", strbuf_str(&enc), err);
		assert_int_equal(dec.len, name.len);
		assert_memory_equal(strbuf_str(&dec), strbuf_str(&name), name.len);
		assert_int_equal(imap_utf8_to_utf7(strbuf_str(&dec), dec.len, &again), 0);
		assert_string_equal(strbuf_str(&again), strbuf_str(&enc));
	}
	strbuf_free(&name);
	strbuf_free(&enc);
	strbuf_free(&dec);
	strbuf_free(&again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pairs),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
