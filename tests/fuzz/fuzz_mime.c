/*
 * fuzz_mime - libFuzzer harness for the MIME parser (mail/mime.h).
 *
 * The input is a message. It is parsed at once and in pieces of a few
 * sizes, which must give the same structure, IMAP output, part map,
 * header fields and text. The harness aborts unless: BODY, BODYSTRUCTURE
 * and every ENVELOPE pass the IMAP checker of tests/unit/test_mime_check.c;
 * every part is found in the part map where the parse put it; offsets lie
 * within the input and in order; the limits hold; the text callback gets
 * valid UTF-8 and no more than its limit. The input is also tried as a
 * part map and as a header value for the decoders.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mime.h"
#include "tests/unit/test_mime_check.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TEXT_LIMIT 5000

static void check(bool cond, const char *what, const char *detail)
{
	if (!cond) {
		fprintf(stderr, "fuzz_mime: %s\n%s\n", what, detail != NULL ? detail : "");
		abort();
	}
}

/* utf8_valid - strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 2;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			n = 3;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			n = 4;
		else
			return false;
		if (i + n > len)
			return false;
		cp = s[i] & (0x7f >> n);
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n;
	}
	return true;
}

struct text {
	struct strbuf all; /* the text, with a mark where the kind changes */
	int last;
};

static void on_text(enum mime_text_kind kind, const char *s, size_t len, void *ctx)
{
	struct text *t = ctx;

	check(len > 0, "empty text piece", NULL);
	check(utf8_valid((const unsigned char *)s, len), "text piece is not UTF-8", NULL);
	/* how body text is cut into pieces may vary; headers come one field a piece */
	if (kind == MIME_TEXT_HEADER || t->last != (int)kind)
		strbuf_putc(&t->all, kind == MIME_TEXT_HEADER ? 'H' : 'B');
	t->last = (int)kind;
	strbuf_append(&t->all, s, len);
	check(t->all.len <= 2 * TEXT_LIMIT, "more text than the limit", NULL);
}

static struct mime_message *parse(const uint8_t *data, size_t size, size_t chunk, struct text *t)
{
	struct mime_options opts = {on_text, t, TEXT_LIMIT};
	struct mime_parser *p = mime_parser_create(&opts);
	size_t off, n;

	for (off = 0; off < size; off += n) {
		n = chunk == 0 || chunk > size - off ? size - off : chunk;
		mime_parser_feed(p, data + off, n);
	}
	return mime_parser_finish(&p);
}

static void describe_part(const struct mime_part *part, uint64_t size, size_t depth,
			  struct strbuf *out)
{
	const struct mime_part *c;

	check(depth <= MIME_DEPTH_MAX + 1, "too deep", NULL);
	check(part->header_offset <= part->body_offset && part->body_offset <= part->body_end &&
		  part->body_end <= size,
	      "offsets out of order", NULL);
	strbuf_printf(out, "[%llu %llu %llu %llu %llu]", (unsigned long long)part->header_offset,
		      (unsigned long long)part->body_offset, (unsigned long long)part->body_end,
		      (unsigned long long)part->header_lines, (unsigned long long)part->body_lines);
	for (c = part->children; c != NULL; c = c->next) {
		check(c->parent == part, "bad parent", NULL);
		check(c->header_offset >= part->body_offset && c->body_end <= part->body_end,
		      "child outside its parent", NULL);
		describe_part(c, size, depth + 1, out);
	}
}

static void check_envelopes(const struct mime_part *part, struct strbuf *out)
{
	const struct mime_part *c;
	const char *why = NULL;
	size_t start = out->len;

	if (part->envelope != NULL) {
		mime_envelope_imap(part->envelope, out);
		check(mime_check_envelope(out->data + start, out->len - start, &why) == 0, why,
		      out->data + start);
	}
	for (c = part->children; c != NULL; c = c->next)
		check_envelopes(c, out);
}

/* describe - the parse as one string, checking the IMAP output on the way. */
static void describe(const struct mime_message *msg, struct strbuf *out)
{
	const char *why = NULL;
	size_t start, i;
	int ext;

	for (ext = 0; ext <= 1; ext++) {
		start = out->len;
		mime_bodystructure_imap(msg->root, ext, out);
		check(mime_check_body(out->data + start, out->len - start, ext, &why) == 0, why,
		      out->data + start);
	}
	check_envelopes(msg->root, out);
	mime_partmap_encode(msg, out);
	strbuf_printf(out, "|%llu|%u|", (unsigned long long)msg->size, msg->broken);
	describe_part(msg->root, msg->size, 0, out);
	for (i = 0; i < msg->nheaders; i++)
		strbuf_printf(out, "%s:%s|", msg->headers[i].name, msg->headers[i].value);
}

static void lookup_part(const struct strbuf *map, const char *name, const struct mime_part *p)
{
	struct mime_section sec;

	check(mime_partmap_lookup(map->data, map->len, name, &sec) == 0, "section not found", name);
	check(sec.header_offset == p->header_offset && sec.body_offset == p->body_offset &&
		  sec.body_end == p->body_end,
	      "section in the wrong place", name);
}

static void walk_body(const struct strbuf *map, const char *name, const struct mime_part *p,
		      int depth);

static void walk_message(const struct strbuf *map, const char *prefix, const struct mime_part *m,
			 int depth)
{
	const struct mime_part *c;
	char name[1024];
	int i = 1;

	if (strcmp(m->type, "multipart") != 0) {
		snprintf(name, sizeof(name), "%s1", prefix);
		walk_body(map, name, m, depth);
		return;
	}
	for (c = m->children; c != NULL && i <= 20; c = c->next, i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		walk_body(map, name, c, depth);
	}
}

static void walk_body(const struct strbuf *map, const char *name, const struct mime_part *p,
		      int depth)
{
	const struct mime_part *c;
	char sub[1024];
	int i = 1;

	lookup_part(map, name, p);
	if (depth > 12)
		return;
	if (strcmp(p->type, "multipart") == 0) {
		for (c = p->children; c != NULL && i <= 20; c = c->next, i++) {
			snprintf(sub, sizeof(sub), "%s.%d", name, i);
			walk_body(map, sub, c, depth + 1);
		}
	} else if (strcmp(p->type, "message") == 0 && p->children != NULL) {
		snprintf(sub, sizeof(sub), "%s.", name);
		walk_message(map, sub, p->children, depth + 1);
	}
}

static void check_partmap(const struct mime_message *msg)
{
	static const char *const sections[] = {"", "1", "2", "1.1", "2.1.3", "1.2.3.4", "3.1"};
	struct strbuf map = STRBUF_INIT;
	struct mime_section sec;
	size_t i;

	mime_partmap_encode(msg, &map);
	for (i = 0; i < map.len; i++)
		check(map.data[i] > 0x20 && map.data[i] < 0x7f, "part map not printable", NULL);
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		if (mime_partmap_lookup(map.data, map.len, sections[i], &sec) == 0)
			check(sec.body_end <= msg->size, "section past the end", sections[i]);
	}
	walk_message(&map, "", msg->root, 0);
	strbuf_free(&map);
}

/* decoders - the input as a header value, for the decoders on their own. */
static void decoders(const uint8_t *data, size_t size)
{
	struct strbuf out = STRBUF_INIT;
	struct mime_addresses list;
	struct mime_section sec;
	char *s;

	if (size > 4096)
		size = 4096;
	mime_decode_words((const char *)data, size, &out);
	check(utf8_valid((const unsigned char *)out.data, out.len), "decoded words not UTF-8",
	      NULL);
	mime_parse_addresses((const char *)data, size, &list);
	mime_addresses_free(&list);
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	(void)mime_parse_date(s);
	(void)mime_partmap_lookup(s, size, "1.2", &sec);
	free(s);
	strbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[] = {1, 3, 64, 1000};
	struct text t0 = {STRBUF_INIT, -1}, t = {STRBUF_INIT, -1};
	struct strbuf want = STRBUF_INIT, got = STRBUF_INIT;
	struct mime_message *msg = parse(data, size, 0, &t0);
	size_t i;

	describe(msg, &want);
	check(msg->size == size, "size", NULL);
	check_partmap(msg);
	mime_message_free(&msg);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		if (chunks[i] >= size || (chunks[i] == 1 && size > 20000))
			continue;
		strbuf_reset(&got);
		strbuf_reset(&t.all);
		t.last = -1;
		msg = parse(data, size, chunks[i], &t);
		describe(msg, &got);
		check(strcmp(strbuf_str(&got), strbuf_str(&want)) == 0,
		      "a different result in pieces", NULL);
		check(t.all.len == t0.all.len &&
			  (t.all.len == 0 || memcmp(t.all.data, t0.all.data, t.all.len) == 0),
		      "different text in pieces", NULL);
		mime_message_free(&msg);
	}
	decoders(data, size);
	strbuf_free(&want);
	strbuf_free(&got);
	strbuf_free(&t0.all);
	strbuf_free(&t.all);
	return 0;
}
