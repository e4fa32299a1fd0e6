/*
 * test_base64 - RFC 4648 base64: the RFC's test vectors both ways, round
 * trips of every byte value and length, and each kind of input the strict
 * decoder refuses (leaving its output as it was).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/base64.h"
#include "util/strbuf.h"

static const struct {
	const char *plain;
	const char *encoded;
} vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
    {"\0user\0pass", "AHVzZXIAcGFzcw=="},
};

static void test_vectors_encode(void **state)
{
	size_t i, len;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct strbuf out = STRBUF_INIT;

		len = i == 7 ? 10 : strlen(vectors[i].plain);
		base64_encode(&out, vectors[i].plain, len);
		assert_string_equal(strbuf_str(&out), vectors[i].encoded);
		assert_int_equal(out.len, base64_encoded_len(len));
		strbuf_free(&out);
	}
}

static void test_vectors_decode(void **state)
{
	size_t i, len;
	char *error = NULL;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct strbuf out = STRBUF_INIT;

		len = i == 7 ? 10 : strlen(vectors[i].plain);
		assert_int_equal(
		    base64_decode(&out, vectors[i].encoded, strlen(vectors[i].encoded), &error), 0);
		assert_int_equal(out.len, len);
		if (len > 0)
			assert_memory_equal(out.data, vectors[i].plain, len);
		assert_true(out.len <= base64_decoded_len(strlen(vectors[i].encoded)));
		strbuf_free(&out);
	}
}

/* Every byte value at every offset of a block, lengths 0 to 300. */
static void test_round_trip(void **state)
{
	unsigned char data[300];
	size_t len, i;
	char *error = NULL;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);
	for (len = 0; len <= sizeof(data); len++) {
		struct strbuf enc = STRBUF_INIT, dec = STRBUF_INIT;

		base64_encode(&enc, data, len);
		assert_int_equal(enc.len % 4, 0);
		assert_int_equal(base64_decode(&dec, enc.data, enc.len, &error), 0);
		assert_int_equal(dec.len, len);
		if (len > 0)
			assert_memory_equal(dec.data, data, len);
		strbuf_free(&enc);
		strbuf_free(&dec);
	}
}

/* Appending: both directions add to what the buffer holds. */
static void test_appends(void **state)
{
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	strbuf_puts(&out, "x:");
	base64_encode(&out, "foo", 3);
	assert_string_equal(out.data, "x:Zm9v");
	strbuf_set(&out, "y:");
	assert_int_equal(base64_decode(&out, "Zm9vYmE=", 8, &error), 0);
	assert_string_equal(out.data, "y:fooba");
	strbuf_free(&out);
}

static const char *const bad_inputs[] = {
    "Zg=",	/* not a multiple of 4 */
    "Z",	/* likewise */
    "Zm9v\n",	/* line break */
    "Zm9 v",	/* inner space */
    " Zm9",	/* leading space */
    "Zm9v!A==", /* not in the alphabet */
    "Zm9v-_==", /* base64url is not base64 */
    "Zg==Zg==", /* padding before the end */
    "====",	/* only padding */
    "Z===",	/* three padding characters */
    "Zm=v",	/* padding inside the last group */
    "=m9v",	/* padding first */
    "Zh==",	/* unused bits not zero (1 byte) */
    "Zm9=",	/* unused bits not zero (2 bytes) */
    "Zm8=Zm9v", /* padding in the first group */
};

static void test_rejects(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad_inputs) / sizeof(bad_inputs[0]); i++) {
		struct strbuf out = STRBUF_INIT;
		char *error = NULL;

		strbuf_puts(&out, "keep");
		assert_int_equal(base64_decode(&out, bad_inputs[i], strlen(bad_inputs[i]), &error),
				 -1);
		assert_non_null(error);
		assert_non_null(strstr(error, "invalid base64"));
		assert_string_equal(out.data, "keep");
		assert_int_equal(out.len, 4);
		free(error);
		strbuf_free(&out);
	}
}

/* A NUL byte inside the input is a bad character, not the end. */
static void test_rejects_nul(void **state)
{
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	assert_int_equal(base64_decode(&out, "Zm\0v", 4, &error), -1);
	assert_non_null(strstr(error, "0x00 at offset 2"));
	free(error);
	assert_int_equal(base64_decode(&out, "Zm9vZm\0v", 8, &error), -1);
	assert_non_null(strstr(error, "offset 6"));
	free(error);
	assert_int_equal(out.len, 0);
	strbuf_free(&out);
}

/* The error names the character and its offset. */
static void test_error_position(void **state)
{
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	assert_int_equal(base64_decode(&out, "Zm9vYm*y", 8, &error), -1);
	assert_string_equal(error, "invalid base64: unexpected character '*' at offset 6");
	free(error);
	strbuf_free(&out);
}

static void test_lengths(void **state)
{
	assert_int_equal(base64_encoded_len(0), 0);
	assert_int_equal(base64_encoded_len(1), 4);
	assert_int_equal(base64_encoded_len(3), 4);
	assert_int_equal(base64_encoded_len(4), 8);
	assert_int_equal(base64_encoded_len(SIZE_MAX), SIZE_MAX);
	assert_int_equal(base64_decoded_len(8), 6);
	assert_int_equal(base64_decoded_len(0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors_encode), cmocka_unit_test(test_vectors_decode),
	    cmocka_unit_test(test_round_trip),	   cmocka_unit_test(test_appends),
	    cmocka_unit_test(test_rejects),	   cmocka_unit_test(test_rejects_nul),
	    cmocka_unit_test(test_error_position), cmocka_unit_test(test_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
