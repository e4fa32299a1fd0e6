/*
 * fuzz_attr - libFuzzer harness for the attribute record decoder.
 *
 * The first input byte chooses the slice sizes and the mode. Raw mode feeds
 * the rest to a decoder of a few attribute types, record after record,
 * resetting after errors. Record mode builds a valid record from the rest
 * with the encoder, checks that it decodes back to the same values, then
 * overwrites one of its bytes and decodes that. Every input is decoded in
 * slices and again in one piece: both runs must agree on every status, byte
 * count and error, or the harness aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/attr.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_dest {
	struct strbuf str, blob, opt;
	long long num, opt_num;
};

/* Outcomes of one run: per decoder call, its status and bytes consumed. */
struct trace {
	struct strbuf log;
};

static void record(struct trace *t, enum attr_decode_status st, size_t consumed)
{
	strbuf_printf(&t->log, "%d:%zu;", (int)st, consumed);
}

/* run - decode input in slices (slice 0: all at once), logging each record's outcome. */
static void run(const uint8_t *input, size_t len, uint8_t pattern, struct trace *t)
{
	struct fuzz_dest d;
	struct attr_decoder *dec;
	size_t off = 0, rec_start = 0, n, used, step = 0;
	enum attr_decode_status st;
	char *err;

	memset(&d, 0, sizeof(d));
	dec = attr_decoder_create(
	    ATTR_RECV_LIST(ATTR_RECV_STR("s", &d.str), ATTR_OPTIONAL(ATTR_RECV_INT("n", &d.num)),
			   ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_DATA("blob", &d.blob), 300)),
			   ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_STR("opt", &d.opt), 16)),
			   ATTR_OPTIONAL(ATTR_RECV_INT("o", &d.opt_num)), ATTR_END));
	attr_decoder_set_limits(dec, 1024, 4);
	while (off < len) {
		n = len - off;
		if (pattern != 0) {
			size_t slice = 1 + ((pattern >> (step % 8)) & 7) * (1 + step % 5);

			if (slice < n)
				n = slice;
		}
		step++;
		err = NULL;
		st = attr_decoder_feed(dec, input + off, n, &used, &err);
		if (used > n || (st == ATTR_DECODE_MORE && used != n))
			abort();
		off += used;
		if (st == ATTR_DECODE_MORE)
			continue;
		if ((st == ATTR_DECODE_ERROR) != (err != NULL))
			abort();
		record(t, st, off - rec_start);
		if (st == ATTR_DECODE_DONE && !attr_decoder_idle(dec))
			abort();
		if (st == ATTR_DECODE_ERROR) {
			/* skip the offending byte and start over */
			strbuf_printf(&t->log, "%s;", err);
			free(err);
			attr_decoder_reset(dec);
			if (off < len)
				off++;
		}
		rec_start = off;
	}
	attr_decoder_destroy(&dec);
	strbuf_free(&d.str);
	strbuf_free(&d.blob);
	strbuf_free(&d.opt);
}

/* differential - decode input sliced by pattern and whole; abort unless they agree. */
static void differential(const uint8_t *input, size_t len, uint8_t pattern)
{
	struct trace sliced = {STRBUF_INIT}, whole = {STRBUF_INIT};

	run(input, len, pattern | 1, &sliced);
	run(input, len, 0, &whole);
	if (sliced.log.len != whole.log.len ||
	    memcmp(strbuf_str(&sliced.log), strbuf_str(&whole.log), whole.log.len) != 0)
		abort();
	strbuf_free(&sliced.log);
	strbuf_free(&whole.log);
}

/* round_trip - encode values taken from input, decode them back, compare. */
static void round_trip(const uint8_t *input, size_t len, uint8_t pattern)
{
	struct strbuf wire = STRBUF_INIT, str = STRBUF_INIT, blob = STRBUF_INIT;
	size_t slen, blen, off = 0, used, n, step = 0;
	struct attr_decoder *dec;
	enum attr_decode_status st = ATTR_DECODE_MORE;
	long long num = 0, got = 0;
	char *err = NULL;

	if (len >= sizeof(num)) {
		memcpy(&num, input, sizeof(num));
		input += sizeof(num);
		len -= sizeof(num);
	}
	slen = strnlen((const char *)input, len);
	strbuf_append(&str, input, slen);
	blen = len - slen > 300 ? 300 : len - slen;
	attr_encode(&wire, ATTR_SEND_DATA("blob", input + len - blen, blen),
		    ATTR_SEND_STR("s", strbuf_str(&str)), ATTR_SEND_INT("n", num), ATTR_END);
	dec = attr_decoder_create(ATTR_RECV_LIST(ATTR_RECV_STR("s", &str), ATTR_RECV_INT("n", &got),
						 ATTR_MAX_LEN(ATTR_RECV_DATA("blob", &blob), 300),
						 ATTR_END));
	while (off < wire.len && st == ATTR_DECODE_MORE) {
		n = 1 + ((pattern >> (step++ % 8)) & 7);
		n = n < wire.len - off ? n : wire.len - off;
		st = attr_decoder_feed(dec, wire.data + off, n, &used, &err);
		off += used;
	}
	if (st != ATTR_DECODE_DONE || off != wire.len || got != num || str.len != slen ||
	    memcmp(strbuf_str(&str), input, slen) != 0 || blob.len != blen ||
	    memcmp(strbuf_str(&blob), input + len - blen, blen) != 0)
		abort();
	attr_decoder_destroy(&dec);
	/* now damage one byte */
	if (len > 0) {
		wire.data[input[0] % wire.len] = (char)input[len - 1];
		differential((const uint8_t *)wire.data, wire.len, pattern);
	}
	strbuf_free(&wire);
	strbuf_free(&str);
	strbuf_free(&blob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 0x80)
		round_trip(data + 1, size - 1, data[0]);
	else
		differential(data + 1, size - 1, data[0]);
	return 0;
}
