/*
 * fuzz_maildrop - libFuzzer harness for the maildrop file reader.
 *
 * The input is read twice, as a file (U and T records required) and as a
 * stream to postdrop (refused), with a small content limit. The reader must
 * keep its promises, or the harness aborts: an envelope it accepts passes
 * maildrop_envelope_check() and, written again, reads back the same; the
 * content it returns never exceeds the limit, comes in chunks of 1 to
 * MAILDROP_CHUNK_MAX bytes, and after MAILDROP_END it has exactly the length
 * that the E record claimed (the re-encoded file must read back whole).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/maildrop.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CONTENT_LIMIT 4096

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_maildrop: %s\n", what);
		abort();
	}
}

static int same_envelope(const struct maildrop_envelope *a, const struct maildrop_envelope *b)
{
	if (a->uid != b->uid || a->time != b->time || a->flags != b->flags ||
	    a->nrcpts != b->nrcpts || strcmp(a->sender, b->sender) != 0)
		return 0;
	if ((a->full_name == NULL) != (b->full_name == NULL) ||
	    (a->full_name != NULL && strcmp(a->full_name, b->full_name) != 0))
		return 0;
	if ((a->envid == NULL) != (b->envid == NULL) ||
	    (a->envid != NULL && strcmp(a->envid, b->envid) != 0))
		return 0;
	for (size_t i = 0; i < a->nrcpts; i++)
		if (strcmp(a->rcpts[i], b->rcpts[i]) != 0)
			return 0;
	return 1;
}

/* read - the whole input; with a complete read, the envelope and content are returned. */
static enum maildrop_status read_all(const void *data, size_t size, int with_origin,
				     struct maildrop_envelope *env, struct strbuf *content)
{
	FILE *fp = fmemopen((void *)data, size, "r");
	struct maildrop_reader *r;
	struct strbuf chunk = STRBUF_INIT;
	enum maildrop_status status;
	char *error = NULL;

	if (size == 0 || fp == NULL) {
		if (fp != NULL)
			fclose(fp);
		return MAILDROP_TRUNCATED;
	}
	r = maildrop_reader_create(fp, with_origin, CONTENT_LIMIT);
	status = maildrop_read_envelope(r, env, &error);
	if (status == MAILDROP_OK) {
		char *why = NULL;

		check(maildrop_envelope_check(env, with_origin, &why) == 0,
		      "an accepted envelope breaks the rules");
		while ((status = maildrop_read_content(r, &chunk, &error)) == MAILDROP_OK) {
			check(chunk.len >= 1 && chunk.len <= MAILDROP_CHUNK_MAX, "bad chunk size");
			strbuf_append(content, chunk.data, chunk.len);
			check(content->len <= CONTENT_LIMIT, "content over the limit");
		}
		free(why);
	}
	check(status == MAILDROP_OK || status == MAILDROP_END || error != NULL,
	      "a failure without a message");
	free(error);
	strbuf_free(&chunk);
	maildrop_reader_free(&r);
	fclose(fp);
	return status;
}

static void round_trip(const struct maildrop_envelope *env, const struct strbuf *content,
		       int with_origin)
{
	struct strbuf out = STRBUF_INIT;
	struct strbuf again = STRBUF_INIT;
	struct maildrop_envelope env2;

	maildrop_encode_envelope(&out, env);
	maildrop_encode_content(&out, content->data, content->len);
	maildrop_encode_end(&out, (long long)content->len);
	maildrop_envelope_init(&env2);
	check(read_all(out.data, out.len, with_origin, &env2, &again) == MAILDROP_END,
	      "a re-encoded file does not read back");
	check(same_envelope(env, &env2), "a re-encoded envelope differs");
	check(again.len == content->len &&
		  (content->len == 0 || memcmp(again.data, content->data, content->len) == 0),
	      "re-encoded content differs");
	maildrop_envelope_free(&env2);
	strbuf_free(&out);
	strbuf_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int with_origin = 0; with_origin <= 1; with_origin++) {
		struct maildrop_envelope env;
		struct strbuf content = STRBUF_INIT;

		maildrop_envelope_init(&env);
		if (read_all(data, size, with_origin, &env, &content) == MAILDROP_END)
			round_trip(&env, &content, with_origin);
		maildrop_envelope_free(&env);
		strbuf_free(&content);
	}
	return 0;
}
