/*
 * test_attr - the attribute IPC codec: wire format, round trips of every
 * type, every rejection (fed whole and one byte at a time), blocking I/O
 * over socketpairs and the protocol handshake.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/attr.h"
#include "util/mymalloc.h"
#include "util/stream.h"
#include "util/strbuf.h"

/* The destinations of the test receive spec. */
struct dest {
	struct strbuf name;
	struct strbuf blob;
	struct strbuf note;
	long long num;
};

static void dest_init(struct dest *d)
{
	strbuf_init(&d->name, 0);
	strbuf_init(&d->blob, 0);
	strbuf_init(&d->note, 0);
	strbuf_set(&d->note, "untouched");
	d->num = -42;
}

static void dest_free(struct dest *d)
{
	strbuf_free(&d->name);
	strbuf_free(&d->blob);
	strbuf_free(&d->note);
}

/* new_decoder - name: required STR; num: optional INT; blob: optional DATA of <= 8 bytes; note: optional STR. */
static struct attr_decoder *new_decoder(struct dest *d)
{
	return attr_decoder_create(ATTR_RECV_LIST(
	    ATTR_RECV_STR("name", &d->name), ATTR_OPTIONAL(ATTR_RECV_INT("num", &d->num)),
	    ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_DATA("blob", &d->blob), 8)),
	    ATTR_OPTIONAL(ATTR_RECV_STR("note", &d->note)), ATTR_END));
}

struct outcome {
	enum attr_decode_status status;
	size_t consumed; /* in total */
	char *error;
};

/* decode - feed input in slices of chunk bytes until the decoder stops asking for more. */
static struct outcome decode(struct attr_decoder *dec, const char *input, size_t len, size_t chunk)
{
	struct outcome out = {ATTR_DECODE_MORE, 0, NULL};
	size_t used, n;

	while (out.consumed < len) {
		n = len - out.consumed < chunk ? len - out.consumed : chunk;
		out.status = attr_decoder_feed(dec, input + out.consumed, n, &used, &out.error);
		assert_true(used <= n);
		out.consumed += used;
		if (out.status != ATTR_DECODE_MORE)
			break;
		assert_int_equal(used, n);
	}
	return out;
}

static void test_wire_format(void **state)
{
	struct strbuf out = STRBUF_INIT;
	const char expect[] = "6:sender,17:alice@example.org,4:size,4:1234,"
			      "3:bin,3:a\0b,5:empty,0:,3:neg,2:-7,0:,";

	attr_encode(&out, ATTR_SEND_STR("sender", "alice@example.org"), ATTR_SEND_INT("size", 1234),
		    ATTR_SEND_DATA("bin", "a\0b", 3), ATTR_SEND_STR("empty", ""),
		    ATTR_SEND_INT("neg", -7), ATTR_END);
	assert_int_equal(out.len, sizeof(expect) - 1);
	assert_memory_equal(out.data, expect, sizeof(expect) - 1);
	/* appends; an empty record is the end marker alone */
	attr_encode(&out, ATTR_END);
	assert_memory_equal(out.data + sizeof(expect) - 1, "0:,", 4);
	strbuf_free(&out);
}

static void test_roundtrip_all_types(void **state)
{
	static const long long nums[] = {0, 1, -1, 42, LLONG_MAX, LLONG_MIN, -1000000007LL};
	struct strbuf data = STRBUF_INIT, str = STRBUF_INIT, empty = STRBUF_INIT,
		      wire = STRBUF_INIT;
	unsigned char bin[1000];
	struct attr_decoder *dec;
	struct outcome r;
	long long num;
	size_t i, chunk;

	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 13);
	bin[0] = 0;
	bin[999] = 0;
	dec = attr_decoder_create(ATTR_RECV_LIST(
	    ATTR_RECV_STR("str", &str), ATTR_RECV_INT("num", &num), ATTR_RECV_DATA("data", &data),
	    ATTR_RECV_DATA("empty", &empty), ATTR_END));
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		for (chunk = 1; chunk <= 4096; chunk *= 8) {
			strbuf_reset(&wire);
			strbuf_set(&empty, "not yet");
			attr_encode(&wire, ATTR_SEND_DATA("data", bin, sizeof(bin)),
				    ATTR_SEND_INT("num", nums[i]),
				    ATTR_SEND_STR("str", "text with spaces, commas: and colons"),
				    ATTR_SEND_DATA("empty", NULL, 0), ATTR_END);
			r = decode(dec, wire.data, wire.len, chunk);
			assert_int_equal(r.status, ATTR_DECODE_DONE);
			assert_int_equal(r.consumed, wire.len);
			assert_true(num == nums[i]);
			assert_string_equal(strbuf_str(&str),
					    "text with spaces, commas: and colons");
			assert_int_equal(data.len, sizeof(bin));
			assert_memory_equal(data.data, bin, sizeof(bin));
			assert_int_equal(empty.len, 0);
			assert_true(attr_decoder_idle(dec));
		}
	}
	attr_decoder_destroy(&dec);
	assert_null(dec);
	strbuf_free(&data);
	strbuf_free(&str);
	strbuf_free(&empty);
	strbuf_free(&wire);
}

static void test_optional_absent_untouched(void **state)
{
	const char input[] = "4:name,5:alice,0:,";
	struct attr_decoder *dec;
	struct outcome r;
	struct dest d;

	dest_init(&d);
	dec = new_decoder(&d);
	r = decode(dec, input, sizeof(input) - 1, 4096);
	assert_int_equal(r.status, ATTR_DECODE_DONE);
	assert_string_equal(strbuf_str(&d.name), "alice");
	assert_true(d.num == -42);
	assert_string_equal(strbuf_str(&d.note), "untouched");
	attr_decoder_destroy(&dec);
	dest_free(&d);
}

static void test_consecutive_records(void **state)
{
	const char input[] = "4:name,1:a,3:num,1:1,0:,4:name,1:b,0:,4:name,1:c";
	struct attr_decoder *dec;
	size_t used, off = 0;
	char *err = NULL;
	struct dest d;

	dest_init(&d);
	dec = new_decoder(&d);
	assert_true(attr_decoder_idle(dec));
	assert_int_equal(attr_decoder_feed(dec, input, sizeof(input) - 1, &used, &err),
			 ATTR_DECODE_DONE);
	assert_int_equal(used, 24);
	assert_string_equal(strbuf_str(&d.name), "a");
	assert_true(d.num == 1);
	off += used;
	assert_int_equal(attr_decoder_feed(dec, input + off, sizeof(input) - 1 - off, &used, &err),
			 ATTR_DECODE_DONE);
	assert_int_equal(used, 14);
	assert_string_equal(strbuf_str(&d.name), "b");
	off += used;
	assert_int_equal(attr_decoder_feed(dec, input + off, sizeof(input) - 1 - off, &used, &err),
			 ATTR_DECODE_MORE);
	assert_int_equal(off + used, sizeof(input) - 1);
	assert_false(attr_decoder_idle(dec));
	assert_int_equal(attr_decoder_feed(dec, ",0:,", 4, &used, &err), ATTR_DECODE_DONE);
	assert_string_equal(strbuf_str(&d.name), "c");
	assert_null(err);
	attr_decoder_destroy(&dec);
	dest_free(&d);
}

/* Inputs the test spec must reject, with a fragment of the expected error. */
struct reject_case {
	const char *input;
	size_t len; /* 0: strlen(input) */
	const char *error;
};

static const struct reject_case reject_cases[] = {
    /* malformed netstrings */
    {"x", 0, "expected a digit or ':'"},
    {"4name,", 0, "expected a digit or ':'"},
    {":name,", 0, "no length before ':'"},
    {"-1:x,", 0, "expected a digit or ':'"},
    {" 4:name,", 0, "expected a digit or ':'"},
    {"4:name;", 0, "no ',' after 4 bytes"},
    {"4:name,1:ab,", 0, "no ',' after 1 bytes"},
    {"4:name,5:alice,0:;", 0, "no ',' after 0 bytes"},
    {"4:name,5:alice,0:0:,", 0, "no ',' after 0 bytes"},
    /* lengths */
    {"04:name,", 0, "leading zero"},
    {"4:name,05:alice,0:,", 0, "leading zero"},
    {"00:,", 0, "leading zero"},
    {"12345678901:", 0, "more than 10 digits"},
    {"4:name,99999999999:", 0, "more than 10 digits"},
    {"4:name,9999999999:", 0, "record larger than"},
    {"65:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,", 0,
     "name of 65 bytes"},
    /* names */
    {"4:Name,1:x,0:,", 0, "invalid attribute name \"Name\""},
    {"4:na-e,1:x,0:,", 0, "invalid attribute name \"na-e\""},
    {"4:na\0e,1:x,0:,", 14, "invalid attribute name \"na\\x00e\""},
    {"5:extra,1:x,0:,", 0, "unexpected attribute extra"},
    {"4:name,1:a,4:name,1:b,0:,", 0, "duplicate attribute name"},
    {"4:name,1:a,3:num,1:1,3:num,1:1,0:,", 0, "duplicate attribute num"},
    /* required fields */
    {"0:,", 0, "required attribute name missing"},
    {"3:num,1:5,0:,", 0, "required attribute name missing"},
    /* value limits and types */
    {"4:name,1:a,4:blob,9:123456789,", 0,
     "attribute blob: value of 9 bytes exceeds the limit of 8"},
    {"4:name,1:a,3:num,21:", 0, "attribute num: value of 21 bytes exceeds the limit of 20"},
    {"4:name,3:a\0b,0:,", 16, "attribute name: string value contains a NUL byte"},
    {"3:num,2:1a,", 0, "not a decimal integer in range: \"1a\""},
    {"3:num,0:,", 0, "not a decimal integer"},
    {"3:num,2:+1,", 0, "not a decimal integer"},
    {"3:num,2:01,", 0, "not a decimal integer"},
    {"3:num,2:-0,", 0, "not a decimal integer"},
    {"3:num,1:-,", 0, "not a decimal integer"},
    {"3:num,2: 1,", 0, "not a decimal integer"},
    {"3:num,2:1 ,", 0, "not a decimal integer"},
    {"3:num,19:9223372036854775808,", 0, "not a decimal integer in range"},
    {"3:num,20:-9223372036854775809,", 0, "not a decimal integer in range"},
    {"3:num,20:99999999999999999999,", 0, "not a decimal integer in range"},
    {"3:num,3:1\0002,", 12, "not a decimal integer in range: \"1\\x002\""},
};

/* check_reject - c is rejected with the same message fed whole and in small slices. */
static void check_reject(const struct reject_case *c)
{
	static const size_t chunks[] = {SIZE_MAX, 1, 2, 3, 7};
	size_t len = c->len ? c->len : strlen(c->input);
	char *first = NULL;
	struct attr_decoder *dec;
	struct outcome r;
	struct dest d;
	size_t i;

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		dest_init(&d);
		dec = new_decoder(&d);
		r = decode(dec, c->input, len, chunks[i]);
		if (r.status != ATTR_DECODE_ERROR)
			fail_msg("input \"%s\" chunk %zu: not rejected (status %d)", c->input,
				 chunks[i], (int)r.status);
		assert_non_null(r.error);
		if (strstr(r.error, c->error) == NULL)
			fail_msg("input \"%s\": error \"%s\", expected \"%s\"", c->input, r.error,
				 c->error);
		if (first == NULL)
			first = r.error;
		else {
			assert_string_equal(r.error, first);
			free(r.error);
		}
		attr_decoder_destroy(&dec);
		dest_free(&d);
	}
	free(first);
}

static void test_rejections(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]); i++)
		check_reject(&reject_cases[i]);
}

static void test_record_and_count_limits(void **state)
{
	struct attr_decoder *dec;
	struct strbuf wire = STRBUF_INIT;
	struct outcome r;
	struct dest d;

	dest_init(&d);
	dec = new_decoder(&d);
	attr_encode(&wire, ATTR_SEND_STR("name", "abcdefghij"), ATTR_SEND_INT("num", 7), ATTR_END);
	/* exactly the record's size is accepted, one byte less is not */
	attr_decoder_set_limits(dec, wire.len, 10);
	r = decode(dec, wire.data, wire.len, 1);
	assert_int_equal(r.status, ATTR_DECODE_DONE);
	attr_decoder_set_limits(dec, wire.len - 1, 10);
	r = decode(dec, wire.data, wire.len, 1);
	assert_int_equal(r.status, ATTR_DECODE_ERROR);
	assert_non_null(strstr(r.error, "record larger than"));
	free(r.error);
	attr_decoder_reset(dec);

	attr_decoder_set_limits(dec, 1000, 1);
	r = decode(dec, wire.data, wire.len, SIZE_MAX);
	assert_int_equal(r.status, ATTR_DECODE_ERROR);
	assert_string_equal(r.error, "record with more than 1 attributes");
	free(r.error);
	attr_decoder_set_limits(dec, 1000, 2);
	attr_decoder_reset(dec);
	r = decode(dec, wire.data, wire.len, SIZE_MAX);
	assert_int_equal(r.status, ATTR_DECODE_DONE);

	/* a value at the default 1 MiB limit passes, one byte more does not */
	attr_decoder_destroy(&dec);
	dec = attr_decoder_create(ATTR_RECV_LIST(ATTR_RECV_STR("name", &d.name), ATTR_END));
	strbuf_reset(&wire);
	strbuf_printf(&wire, "4:name,%u:", ATTR_DEFAULT_MAX_LEN);
	r = decode(dec, wire.data, wire.len, SIZE_MAX);
	assert_int_equal(r.status, ATTR_DECODE_MORE);
	attr_decoder_reset(dec);
	strbuf_reset(&wire);
	strbuf_printf(&wire, "4:name,%u:", ATTR_DEFAULT_MAX_LEN + 1);
	r = decode(dec, wire.data, wire.len, SIZE_MAX);
	assert_int_equal(r.status, ATTR_DECODE_ERROR);
	assert_non_null(strstr(r.error, "exceeds the limit of 1048576"));
	free(r.error);
	attr_decoder_destroy(&dec);
	strbuf_free(&wire);
	dest_free(&d);
}

static void test_error_sticky_until_reset(void **state)
{
	struct attr_decoder *dec;
	size_t used;
	char *err = NULL;
	struct dest d;

	dest_init(&d);
	dec = new_decoder(&d);
	assert_int_equal(attr_decoder_feed(dec, "5:extra,", 8, &used, &err), ATTR_DECODE_ERROR);
	assert_int_equal(used, 7);
	assert_string_equal(err, "unexpected attribute extra");
	free(err);
	err = NULL;
	assert_false(attr_decoder_idle(dec));
	assert_int_equal(attr_decoder_feed(dec, "0:,", 3, &used, &err), ATTR_DECODE_ERROR);
	assert_int_equal(used, 0);
	assert_string_equal(err, "unexpected attribute extra");
	free(err);
	attr_decoder_reset(dec);
	assert_true(attr_decoder_idle(dec));
	assert_int_equal(attr_decoder_feed(dec, "4:name,0:,0:,", 13, &used, &err),
			 ATTR_DECODE_DONE);
	assert_int_equal(used, 13);
	assert_int_equal(d.name.len, 0);
	attr_decoder_destroy(&dec);
	dest_free(&d);
}

/* A small deterministic generator for the garbage test. */
static uint32_t next_rand(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

static void test_garbage_and_mutations(void **state)
{
	static const char alphabet[] = "0123456789:,,,namebloumt\0-x";
	struct strbuf wire = STRBUF_INIT, input = STRBUF_INIT;
	struct attr_decoder *dec;
	struct outcome whole, bytes;
	uint32_t seed = 1;
	struct dest d;
	size_t i, j;

	attr_encode(&wire, ATTR_SEND_STR("name", "bob"), ATTR_SEND_INT("num", -12),
		    ATTR_SEND_DATA("blob", "\0\1\2", 3), ATTR_SEND_STR("note", "n"), ATTR_END);
	dest_init(&d);
	dec = new_decoder(&d);
	for (i = 0; i < 3000; i++) {
		strbuf_reset(&input);
		if (i % 2 == 0) {
			/* a valid record with a few bytes changed */
			strbuf_append(&input, wire.data, wire.len);
			for (j = 0; j < 1 + next_rand(&seed) % 3; j++)
				input.data[next_rand(&seed) % input.len] =
				    alphabet[next_rand(&seed) % (sizeof(alphabet) - 1)];
		} else {
			for (j = next_rand(&seed) % 60; j > 0; j--)
				strbuf_putc(&input,
					    alphabet[next_rand(&seed) % (sizeof(alphabet) - 1)]);
		}
		attr_decoder_reset(dec);
		whole = decode(dec, input.data, input.len, SIZE_MAX);
		attr_decoder_reset(dec);
		bytes = decode(dec, input.data, input.len, 1);
		assert_int_equal(whole.status, bytes.status);
		assert_int_equal(whole.consumed, bytes.consumed);
		if (whole.status == ATTR_DECODE_ERROR) {
			assert_string_equal(whole.error, bytes.error);
			free(whole.error);
			free(bytes.error);
		}
	}
	attr_decoder_destroy(&dec);
	dest_free(&d);
	strbuf_free(&wire);
	strbuf_free(&input);
}

static void make_pair(struct stream **a, struct stream **b)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	*a = stream_create(sv[0]);
	*b = stream_create(sv[1]);
	stream_set_timeout(*a, 5000);
	stream_set_timeout(*b, 5000);
}

static void test_stream_roundtrip(void **state)
{
	struct strbuf name = STRBUF_INIT, blob = STRBUF_INIT;
	struct stream *client, *server;
	long long num = 0;
	char *err = NULL;

	make_pair(&client, &server);
	/* two records in one flush: the second stays buffered for the next read */
	stream_puts(client, "4:name,3:one,3:num,1:1,0:,");
	assert_int_equal(attr_write(client, &err, ATTR_SEND_STR("name", "two"),
				    ATTR_SEND_DATA("blob", "\0\0", 2), ATTR_END),
			 0);
	assert_int_equal(attr_read(server, &err, ATTR_RECV_STR("name", &name),
				   ATTR_OPTIONAL(ATTR_RECV_INT("num", &num)),
				   ATTR_OPTIONAL(ATTR_RECV_DATA("blob", &blob)), ATTR_END),
			 0);
	assert_string_equal(strbuf_str(&name), "one");
	assert_true(num == 1);
	assert_int_equal(blob.len, 0);
	assert_true(stream_pending_input(server) > 0);
	assert_int_equal(attr_read(server, &err, ATTR_RECV_STR("name", &name),
				   ATTR_OPTIONAL(ATTR_RECV_INT("num", &num)),
				   ATTR_OPTIONAL(ATTR_RECV_DATA("blob", &blob)), ATTR_END),
			 0);
	assert_string_equal(strbuf_str(&name), "two");
	assert_int_equal(blob.len, 2);
	assert_null(err);

	/* a rejected record is an error naming the cause */
	assert_int_equal(attr_write(client, &err, ATTR_SEND_STR("other", "x"), ATTR_END), 0);
	assert_int_equal(attr_read(server, &err, ATTR_RECV_STR("name", &name), ATTR_END), -1);
	assert_string_equal(err, "unexpected attribute other");
	free(err);
	stream_destroy(&client);
	stream_destroy(&server);

	/* end of input mid-record and between records */
	make_pair(&client, &server);
	stream_puts(client, "4:name,3:th");
	assert_int_equal(stream_flush(client), STREAM_OK);
	stream_destroy(&client);
	assert_int_equal(attr_read(server, &err, ATTR_RECV_STR("name", &name), ATTR_END), -1);
	assert_string_equal(err, "connection closed in the middle of a record");
	free(err);
	assert_int_equal(attr_read(server, &err, ATTR_RECV_STR("name", &name), ATTR_END), -1);
	assert_string_equal(err, "connection closed");
	free(err);
	stream_destroy(&server);
	strbuf_free(&name);
	strbuf_free(&blob);
}

static void test_stream_large_value(void **state)
{
	const size_t size = ATTR_DEFAULT_MAX_LEN;
	struct strbuf blob = STRBUF_INIT;
	struct stream *client, *server;
	char *err = NULL, *big;
	int status;
	size_t i;
	pid_t pid;

	big = xmalloc(size);
	for (i = 0; i < size; i++)
		big[i] = (char)(i % 251);
	make_pair(&client, &server);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		stream_destroy(&server);
		_exit(attr_write(client, &err, ATTR_SEND_DATA("blob", big, size), ATTR_END) == 0
			  ? 0
			  : 1);
	}
	stream_destroy(&client);
	assert_int_equal(attr_read(server, &err, ATTR_RECV_DATA("blob", &blob), ATTR_END), 0);
	assert_int_equal(blob.len, size);
	assert_memory_equal(blob.data, big, size);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	stream_destroy(&server);
	strbuf_free(&blob);
	free(big);
}

static void test_stream_read_timeout(void **state)
{
	struct stream *client, *server;
	struct strbuf name = STRBUF_INIT;
	char *err = NULL;

	make_pair(&client, &server);
	stream_set_timeout(server, 100);
	stream_puts(client, "4:name,");
	assert_int_equal(stream_flush(client), STREAM_OK);
	assert_int_equal(attr_read(server, &err, ATTR_RECV_STR("name", &name), ATTR_END), -1);
	assert_string_equal(err, "receive attributes: timeout after 100 ms");
	free(err);
	assert_int_equal(stream_timeout(server), 100);
	stream_destroy(&client);
	stream_destroy(&server);
	strbuf_free(&name);
}

static void test_handshake(void **state)
{
	struct stream *client, *server;
	char *err = NULL;

	make_pair(&client, &server);
	assert_int_equal(attr_announce_protocol(server, "cleanup", 1, &err), 0);
	assert_int_equal(attr_expect_protocol(client, "cleanup", 1, &err), 0);
	assert_null(err);

	assert_int_equal(attr_announce_protocol(server, "smtp_deliver", 1, &err), 0);
	assert_int_equal(attr_expect_protocol(client, "cleanup", 1, &err), -1);
	assert_string_equal(err, "protocol mismatch: expected cleanup version 1, "
				 "server speaks smtp_deliver version 1");
	free(err);

	assert_int_equal(attr_announce_protocol(server, "cleanup", 2, &err), 0);
	assert_int_equal(attr_expect_protocol(client, "cleanup", 1, &err), -1);
	assert_string_equal(err, "protocol mismatch: expected cleanup version 1, "
				 "server speaks cleanup version 2");
	free(err);

	/* a server that speaks something else entirely */
	assert_int_equal(attr_write(server, &err, ATTR_SEND_STR("hello", "x"), ATTR_END), 0);
	assert_int_equal(attr_expect_protocol(client, "cleanup", 1, &err), -1);
	assert_string_equal(err, "protocol cleanup handshake: unexpected attribute hello");
	free(err);
	stream_destroy(&client);
	stream_destroy(&server);

	/* a server that closes at once */
	make_pair(&client, &server);
	stream_destroy(&server);
	assert_int_equal(attr_expect_protocol(client, "cleanup", 1, &err), -1);
	assert_string_equal(err, "protocol cleanup handshake: connection closed");
	free(err);
	stream_destroy(&client);
}

static void test_write_to_closed_peer(void **state)
{
	struct stream *client, *server;
	char *err = NULL;

	make_pair(&client, &server);
	stream_destroy(&server);
	assert_int_equal(attr_write(client, &err, ATTR_SEND_INT("n", 1), ATTR_END), -1);
	assert_non_null(strstr(err, "send attributes: "));
	free(err);
	stream_destroy(&client);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wire_format),
	    cmocka_unit_test(test_roundtrip_all_types),
	    cmocka_unit_test(test_optional_absent_untouched),
	    cmocka_unit_test(test_consecutive_records),
	    cmocka_unit_test(test_rejections),
	    cmocka_unit_test(test_record_and_count_limits),
	    cmocka_unit_test(test_error_sticky_until_reset),
	    cmocka_unit_test(test_garbage_and_mutations),
	    cmocka_unit_test(test_stream_roundtrip),
	    cmocka_unit_test(test_stream_large_value),
	    cmocka_unit_test(test_stream_read_timeout),
	    cmocka_unit_test(test_handshake),
	    cmocka_unit_test(test_write_to_closed_peer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
