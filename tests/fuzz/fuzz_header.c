/*
 * fuzz_header - libFuzzer harness for the RFC 5322 header parser.
 *
 * The input is split into lines at LF (a CR before it is dropped, as the
 * callers do) and fed to a parser with small limits, so that both limits
 * are reached often. The parser must keep its promises, or the harness
 * aborts: every field it delivers has a well-formed name (printable ASCII
 * without ':'), a value and a raw form no longer than the limit allows, at
 * least one line; the count it reports is the number of fields delivered;
 * once it has said the header ended (or failed) it is fed nothing more;
 * and the same input fed again gives the same fields.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/header.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELD_LIMIT 300
#define COUNT_LIMIT 20

struct seen {
	size_t count;
	struct strbuf digest; /* every field's raw form, NUL-separated */
};

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_header: %s\n", what);
		abort();
	}
}

static void on_field(const struct header_field *f, void *ctx)
{
	struct seen *seen = ctx;

	check(f->name_len >= 1, "empty field name");
	for (size_t i = 0; i < f->name_len; i++)
		check(f->name[i] > ' ' && f->name[i] < 127 && f->name[i] != ':', "bad name byte");
	check(f->value[f->value_len] == '\0' && f->raw[f->raw_len] == '\0', "not NUL-ended");
	check(f->raw_len <= FIELD_LIMIT && f->value_len <= f->raw_len, "field over the limit");
	check(f->lines >= 1 && f->size >= f->raw_len, "bad size or line count");
	check(strncmp(f->raw, f->name, f->name_len) == 0, "raw does not start with the name");
	seen->count++;
	strbuf_append(&seen->digest, f->raw, f->raw_len + 1);
}

static enum header_status run(const uint8_t *data, size_t size, struct seen *seen)
{
	struct header_parser *p = header_parser_create(FIELD_LIMIT, COUNT_LIMIT, on_field, seen);
	enum header_status status = HEADER_MORE;
	size_t start = 0;

	while (start < size && status == HEADER_MORE) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t end = nl != NULL ? (size_t)(nl - data) : size;
		size_t len = end - start;

		if (len > 0 && data[start + len - 1] == '\r')
			len--;
		status = header_parser_line(p, (const char *)data + start, len);
		start = end + 1;
	}
	if (status == HEADER_MORE)
		status = header_parser_end(p);
	check(header_parser_count(p) == seen->count, "count differs from the fields delivered");
	check(seen->count <= COUNT_LIMIT, "more fields than the limit");
	header_parser_free(&p);
	return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen first = {0, STRBUF_INIT};
	struct seen again = {0, STRBUF_INIT};
	enum header_status s1 = run(data, size, &first);
	enum header_status s2 = run(data, size, &again);

	check(s1 == s2 && first.count == again.count, "a second run differs");
	check(first.digest.len == again.digest.len &&
		  memcmp(strbuf_str(&first.digest), strbuf_str(&again.digest), first.digest.len) ==
		      0,
	      "a second run gives other fields");
	strbuf_free(&first.digest);
	strbuf_free(&again.digest);
	return 0;
}
