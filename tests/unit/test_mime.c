/*
 * test_mime - the MIME structure parser: BODYSTRUCTURE, BODY and ENVELOPE
 * of known messages, the same result however the input is cut (one byte
 * at a time, odd sizes, at once), IMAP output that is always valid (the
 * checker of test_mime_check.c) for the torture test and the broken
 * messages in tests/data/mime, the part map against the parse, the
 * limits (deep nesting, many parts, huge header lines), the text
 * callback, and the time a large message takes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mail/mime.h"
#include "tests/unit/test_mime_check.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

#ifndef MIME_TESTDATA
#define MIME_TESTDATA "tests/data/mime"
#endif

static const char *const files[] = {
    "torture.eml",	 "no-blank-line.eml",  "header-only.eml",
    "missing-close.eml", "boundary-never.eml", "empty-multipart.eml",
    "lf-only.eml",	 "nul-bytes.eml",      "8bit-header.eml",
};

/* ------------------------------------------------------------------ helpers */

static char *read_data(const char *name, size_t *len_r)
{
	char *path = xasprintf("%s/%s", MIME_TESTDATA, name), *data;
	FILE *f = fopen(path, "rb");
	long len;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	data = xmalloc((size_t)len + 1);
	assert_int_equal(fread(data, 1, (size_t)len, f), (size_t)len);
	data[len] = '\0';
	fclose(f);
	free(path);
	*len_r = (size_t)len;
	return data;
}

static void collect_text(enum mime_text_kind kind, const char *text, size_t len, void *ctx)
{
	struct strbuf *sb = ctx;

	assert_true(len > 0);
	strbuf_puts(sb, kind == MIME_TEXT_HEADER ? "\n[H]" : "");
	strbuf_append(sb, text, len);
}

/* parse_chunked - data fed in pieces of chunk bytes (0: at once; SIZE_MAX: varying). */
static struct mime_message *parse_chunked(const char *data, size_t len, size_t chunk,
					  struct strbuf *text, size_t limit)
{
	struct mime_options opts = {text != NULL ? collect_text : NULL, text, limit};
	struct mime_parser *p = mime_parser_create(&opts);
	size_t off = 0, n, step = 1;

	while (off < len) {
		if (chunk == SIZE_MAX)
			n = step = step * 7 % 61 + 1;
		else
			n = chunk == 0 ? len : chunk;
		if (n > len - off)
			n = len - off;
		mime_parser_feed(p, data + off, n);
		off += n;
	}
	return mime_parser_finish(&p);
}

static void describe_part(const struct mime_part *part, struct strbuf *out)
{
	const struct mime_part *c;

	assert_true(part->header_offset <= part->body_offset);
	assert_true(part->body_offset <= part->body_end);
	if (part->parent != NULL) {
		assert_true(part->header_offset >= part->parent->body_offset);
		assert_true(part->body_end <= part->parent->body_end);
	}
	strbuf_printf(out, "[%llu %llu %llu %llu %llu]", (unsigned long long)part->header_offset,
		      (unsigned long long)part->body_offset, (unsigned long long)part->body_end,
		      (unsigned long long)part->header_lines, (unsigned long long)part->body_lines);
	for (c = part->children; c != NULL; c = c->next)
		describe_part(c, out);
}

/* describe - everything the parse gave, as one string. */
static char *describe(const struct mime_message *msg)
{
	struct strbuf out = STRBUF_INIT;
	size_t i;

	mime_bodystructure_imap(msg->root, 1, &out);
	strbuf_putc(&out, '\n');
	mime_bodystructure_imap(msg->root, 0, &out);
	strbuf_putc(&out, '\n');
	mime_envelope_imap(msg->root->envelope, &out);
	strbuf_putc(&out, '\n');
	mime_partmap_encode(msg, &out);
	strbuf_printf(&out, "\nsize=%llu broken=%u\n", (unsigned long long)msg->size, msg->broken);
	describe_part(msg->root, &out);
	for (i = 0; i < msg->nheaders; i++)
		strbuf_printf(&out, "\n%s:%s", msg->headers[i].name, msg->headers[i].value);
	return strbuf_detach(&out);
}

static void assert_valid_body(const struct mime_part *part)
{
	struct strbuf s = STRBUF_INIT;
	const char *why = NULL;
	int extended;

	for (extended = 0; extended <= 1; extended++) {
		strbuf_reset(&s);
		mime_bodystructure_imap(part, extended, &s);
		if (mime_check_body(s.data, s.len, extended, &why) < 0)
			fail_msg("invalid %s (%s): %s", extended ? "BODYSTRUCTURE" : "BODY", why,
				 s.data);
	}
	strbuf_free(&s);
}

static void assert_valid_envelopes(const struct mime_part *part)
{
	const struct mime_part *c;
	struct strbuf s = STRBUF_INIT;
	const char *why = NULL;

	if (part->envelope != NULL) {
		mime_envelope_imap(part->envelope, &s);
		if (mime_check_envelope(s.data, s.len, &why) < 0)
			fail_msg("invalid ENVELOPE (%s): %s", why, s.data);
	}
	for (c = part->children; c != NULL; c = c->next)
		assert_valid_envelopes(c);
	strbuf_free(&s);
}

static void assert_valid(const struct mime_message *msg)
{
	assert_valid_body(msg->root);
	assert_valid_envelopes(msg->root);
}

static size_t count_parts(const struct mime_part *part, size_t depth, size_t *max_depth)
{
	const struct mime_part *c;
	size_t n = 1;

	if (depth > *max_depth)
		*max_depth = depth;
	for (c = part->children; c != NULL; c = c->next)
		n += count_parts(c, depth + 1, max_depth);
	return n;
}

/* body_of - BODY[section] (or its header with mime) by the part map. */
static char *body_of(const struct mime_message *msg, const char *data, const char *section,
		     int mime)
{
	struct strbuf map = STRBUF_INIT;
	struct mime_section sec;
	char *s;

	mime_partmap_encode(msg, &map);
	assert_int_equal(mime_partmap_lookup(map.data, map.len, section, &sec), 0);
	strbuf_free(&map);
	if (mime)
		s = xstrndup(data + sec.header_offset,
			     (size_t)(sec.body_offset - sec.header_offset));
	else
		s = xstrndup(data + sec.body_offset, (size_t)(sec.body_end - sec.body_offset));
	return s;
}

/* ---------------------------------------------------------- known results */

static const char dovecot_like[] =
    "From: user@domain.org\r\n"
    "Date: Sat, 24 Mar 2007 23:00:00 +0200\r\n"
    "Mime-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"foo\r\n bar\"\r\n"
    "\r\n"
    "Root MIME prologue\r\n"
    "\r\n"
    "--foo bar\r\n"
    "Content-Type: text/x-myown; charset=us-ascii; foo=\"quoted\\\"string\"\r\n"
    "Content-ID: <foo@example.com>\r\n"
    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
    "Content-Disposition: inline; foo=bar\r\n"
    "Content-Description: hellodescription\r\n"
    "Content-Language: en, fi, se\r\n"
    "Content-Location: http://example.com/test.txt\r\n"
    "\r\n"
    "hello\r\n"
    "\r\n"
    "--foo bar\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: sub@domain.org\r\n"
    "To: sub-to1@domain.org, sub-to2@domain.org\r\n"
    "Date: Sun, 12 Aug 2012 12:34:56 +0300\r\n"
    "Subject: submsg\r\n"
    "Content-Type: multipart/alternative; boundary=\"sub1\"\r\n"
    "\r\n"
    "Sub MIME prologue\r\n"
    "--sub1\r\n"
    "Content-Type: text/html\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "<p>Hello world</p>\r\n"
    "\r\n"
    "--sub1\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: ?invalid\r\n"
    "\r\n"
    "Hello another world\r\n"
    "\r\n"
    "--sub1--\r\n"
    "Sub MIME epilogue\r\n"
    "\r\n"
    "--foo bar--\r\n"
    "Root MIME epilogue\r\n";

#define SUB_ENV                                                                                    \
	"(\"Sun, 12 Aug 2012 12:34:56 +0300\" \"submsg\" ((NIL NIL \"sub\" \"domain.org\")) "      \
	"((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) "                   \
	"((NIL NIL \"sub-to1\" \"domain.org\")(NIL NIL \"sub-to2\" \"domain.org\")) NIL NIL NIL NIL)"

/* Sizes and lines are those Dovecot gives for this message (in upper case here). */
static void test_known_bodystructure(void **state)
{
	struct mime_message *msg = mime_parse(dovecot_like, strlen(dovecot_like), NULL);
	struct strbuf s = STRBUF_INIT;

	(void)state;
	mime_bodystructure_imap(msg->root, 1, &s);
	assert_string_equal(
	    s.data,
	    "((\"TEXT\" \"X-MYOWN\" (\"CHARSET\" \"us-ascii\" \"FOO\" \"quoted\\\"string\") "
	    "\"<foo@example.com>\" \"hellodescription\" \"7BIT\" 7 1 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" "
	    "(\"INLINE\" (\"FOO\" \"bar\")) (\"en\" \"fi\" \"se\") \"http://example.com/test.txt\")"
	    "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 412 " SUB_ENV " "
	    "((\"TEXT\" \"HTML\" (\"CHARSET\" \"us-ascii\") NIL NIL \"8BIT\" 20 1 NIL NIL NIL NIL)"
	    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 21 1 NIL NIL NIL NIL) "
	    "\"ALTERNATIVE\" (\"BOUNDARY\" \"sub1\") NIL NIL NIL) 21 NIL NIL NIL NIL) \"MIXED\" "
	    "(\"BOUNDARY\" \"foo bar\") NIL NIL NIL)");
	strbuf_reset(&s);
	mime_bodystructure_imap(msg->root, 0, &s);
	assert_string_equal(
	    s.data,
	    "((\"TEXT\" \"X-MYOWN\" (\"CHARSET\" \"us-ascii\" \"FOO\" \"quoted\\\"string\") "
	    "\"<foo@example.com>\" \"hellodescription\" \"7BIT\" 7 1)"
	    "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 412 " SUB_ENV " "
	    "((\"TEXT\" \"HTML\" (\"CHARSET\" \"us-ascii\") NIL NIL \"8BIT\" 20 1)"
	    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 21 1) "
	    "\"ALTERNATIVE\") 21) \"MIXED\")");
	assert_int_equal(msg->broken, 0);
	assert_int_equal(msg->size, strlen(dovecot_like));
	assert_int_equal(msg->nheaders, 4);
	assert_string_equal(msg->headers[3].name, "Content-Type");
	assert_string_equal(msg->headers[3].value, " multipart/mixed; boundary=\"foo\r\n bar\"");
	strbuf_free(&s);
	mime_message_free(&msg);
}

static void envelope_is(const char *header, const char *want)
{
	struct mime_message *msg = mime_parse(header, strlen(header), NULL);
	struct strbuf s = STRBUF_INIT;

	mime_envelope_imap(msg->root->envelope, &s);
	assert_string_equal(s.data, want);
	strbuf_free(&s);
	mime_message_free(&msg);
}

static void test_known_envelopes(void **state)
{
	(void)state;
	envelope_is("Message-ID: <m@id>\r\nIn-Reply-To: <r@id>\r\nDate: Thu, 15 Feb 2007 "
		    "01:02:03 +0200\r\nSubject: a subject\r\nFrom: A Real <a@x.org>\r\n"
		    "To: T Real <t@x.org>\r\nCc: C <c@x.org>\r\nBcc: B <b@x.org>\r\n"
		    "Sender: S <s@x.org>\r\nReply-To: R <r@x.org>\r\n\r\nbody\r\n",
		    "(\"Thu, 15 Feb 2007 01:02:03 +0200\" \"a subject\" ((\"A Real\" NIL \"a\" "
		    "\"x.org\")) ((\"S\" NIL \"s\" \"x.org\")) ((\"R\" NIL \"r\" \"x.org\")) "
		    "((\"T Real\" NIL \"t\" \"x.org\")) ((\"C\" NIL \"c\" \"x.org\")) ((\"B\" NIL "
		    "\"b\" \"x.org\")) \"<r@id>\" \"<m@id>\")");
	/* sender and reply-to default to from, also when present but empty */
	envelope_is(
	    "From: user@domain (Real Name)\r\nSender: \r\nTo: group: g1@d1.org, "
	    "g2@d2.org;, group2: g3@d3.org;\r\nCc: group:;, group2: (foo) ;\r\n\r\n",
	    "(NIL NIL ((\"Real Name\" NIL \"user\" \"domain\")) ((\"Real Name\" NIL \"user\" "
	    "\"domain\")) ((\"Real Name\" NIL \"user\" \"domain\")) ((NIL NIL \"group\" NIL)"
	    "(NIL NIL \"g1\" \"d1.org\")(NIL NIL \"g2\" \"d2.org\")(NIL NIL NIL NIL)(NIL NIL "
	    "\"group2\" NIL)(NIL NIL \"g3\" \"d3.org\")(NIL NIL NIL NIL)) ((NIL NIL \"group\" "
	    "NIL)(NIL NIL NIL NIL)(NIL NIL \"group2\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL)");
	envelope_is(
	    "From: <@route,@other:user@domain>\r\nTo: nodomain, <>\r\n\r\n",
	    "(NIL NIL ((NIL \"@route,@other\" \"user\" \"domain\")) ((NIL \"@route,@other\" "
	    "\"user\" \"domain\")) ((NIL \"@route,@other\" \"user\" \"domain\")) ((NIL NIL "
	    "\"nodomain\" \"MISSING_DOMAIN\")(NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
	    "NIL NIL NIL NIL)");
	/* raw names (encoded words kept), quotes and backslashes escaped, 8-bit as literals */
	envelope_is(
	    "Subject: =?utf-8?q?caf=C3=A9?= \"quoted\" \\ back\r\nFrom: \"A \\\"B\\\" C\" "
	    "<a@b>\r\nTo: Jörg <j@b>\r\n\r\n",
	    "(NIL \"=?utf-8?q?caf=C3=A9?= \\\"quoted\\\" \\\\ back\" ((\"A \\\"B\\\" C\" NIL "
	    "\"a\" \"b\")) ((\"A \\\"B\\\" C\" NIL \"a\" \"b\")) ((\"A \\\"B\\\" C\" NIL "
	    "\"a\" \"b\")) (({5}\r\nJörg NIL \"j\" \"b\")) NIL NIL NIL NIL)");
	envelope_is("", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

/* ------------------------------------------------------ every test message */

static void test_files_valid(void **state)
{
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *data = read_data(files[i], &len);
		struct strbuf text = STRBUF_INIT;
		struct mime_message *msg = parse_chunked(data, len, 0, &text, 0);

		assert_int_equal(msg->size, len);
		assert_valid(msg);
		mime_message_free(&msg);
		strbuf_free(&text);
		free(data);
	}
}

/* same_whatever_the_chunks - the whole result, text included, for several ways of cutting. */
static void same_whatever_the_chunks(const char *data, size_t len, size_t limit)
{
	static const size_t chunks[] = {1, 2, 3, 7, 64, 4095, SIZE_MAX};
	struct strbuf text0 = STRBUF_INIT, text = STRBUF_INIT;
	struct mime_message *msg = parse_chunked(data, len, 0, &text0, limit);
	char *want = describe(msg), *got;
	size_t i;

	mime_message_free(&msg);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		strbuf_reset(&text);
		msg = parse_chunked(data, len, chunks[i], &text, limit);
		got = describe(msg);
		assert_string_equal(got, want);
		assert_int_equal(text.len, text0.len);
		if (text.len > 0)
			assert_memory_equal(text.data, text0.data, text.len);
		free(got);
		mime_message_free(&msg);
	}
	free(want);
	strbuf_free(&text0);
	strbuf_free(&text);
}

static void test_chunking(void **state)
{
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *data = read_data(files[i], &len);

		same_whatever_the_chunks(data, len, 0);
		same_whatever_the_chunks(data, len, 300);
		/* every prefix is a message too: cut inside lines, boundaries, CR LF */
		same_whatever_the_chunks(data, len / 2, 0);
		same_whatever_the_chunks(data, len / 3 + 1, 0);
		free(data);
	}
	same_whatever_the_chunks(dovecot_like, strlen(dovecot_like), 0);
}

/* -------------------------------------------------------------- part map */

static void check_section(const struct strbuf *map, const char *name, const struct mime_part *p)
{
	struct mime_section sec;

	if (mime_partmap_lookup(map->data, map->len, name, &sec) < 0)
		fail_msg("no section %s", name);
	assert_int_equal(sec.header_offset, p->header_offset);
	assert_int_equal(sec.body_offset, p->body_offset);
	assert_int_equal(sec.body_end, p->body_end);
	if (strcmp(p->type, "message") == 0 && p->children != NULL) {
		assert_int_equal(sec.is_message, 1);
		assert_int_equal(sec.msg_header_offset, p->children->header_offset);
		assert_int_equal(sec.msg_body_offset, p->children->body_offset);
	} else {
		assert_int_equal(sec.is_message, 0);
	}
}

static void walk_body(const struct strbuf *map, const char *name, const struct mime_part *p);

/* walk_message - the sections of message m (the root, or a message/rfc822 body). */
static void walk_message(const struct strbuf *map, const char *prefix, const struct mime_part *m)
{
	const struct mime_part *c;
	char name[512];
	int i = 1;

	if (strcmp(m->type, "multipart") != 0) {
		snprintf(name, sizeof(name), "%s1", prefix);
		walk_body(map, name, m);
		return;
	}
	for (c = m->children; c != NULL; c = c->next, i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		walk_body(map, name, c);
	}
}

static void walk_body(const struct strbuf *map, const char *name, const struct mime_part *p)
{
	const struct mime_part *c;
	struct mime_section sec;
	char sub[512];
	int i = 1;

	check_section(map, name, p);
	if (strcmp(p->type, "multipart") == 0) {
		for (c = p->children; c != NULL; c = c->next, i++) {
			snprintf(sub, sizeof(sub), "%s.%d", name, i);
			walk_body(map, sub, c);
		}
		snprintf(sub, sizeof(sub), "%s.%d", name, i);
		/* one past the last part; a multipart without parts shows an empty part 1 */
		assert_int_equal(mime_partmap_lookup(map->data, map->len, sub, &sec),
				 i == 1 ? 0 : -1);
	} else if (strcmp(p->type, "message") == 0 && p->children != NULL) {
		snprintf(sub, sizeof(sub), "%s.", name);
		walk_message(map, sub, p->children);
	} else {
		snprintf(sub, sizeof(sub), "%s.1", name);
		assert_int_equal(mime_partmap_lookup(map->data, map->len, sub, &sec), -1);
	}
}

static void check_partmap(const struct mime_message *msg)
{
	static const char *const bad[] = {
	    "0", "1.", ".1", "1..2", "a", "1a", "01", "-1", "99999999999999999999", "1.0"};
	struct strbuf map = STRBUF_INIT;
	struct mime_section sec;
	size_t i;

	mime_partmap_encode(msg, &map);
	for (i = 0; i < map.len; i++)
		assert_true(map.data[i] > 0x20 && map.data[i] < 0x7f);
	assert_int_equal(mime_partmap_lookup(map.data, map.len, "", &sec), 0);
	assert_int_equal(sec.header_offset, 0);
	assert_int_equal(sec.body_offset, msg->root->body_offset);
	assert_int_equal(sec.body_end, msg->size);
	walk_message(&map, "", msg->root);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mime_partmap_lookup(map.data, map.len, bad[i], &sec), -1);
	/* every prefix of a map is refused or still well-formed: never a crash */
	for (i = 0; i < map.len; i++)
		(void)mime_partmap_lookup(map.data, i, "1", &sec);
	assert_int_equal(mime_partmap_lookup("", 0, "", &sec), -1);
	assert_int_equal(mime_partmap_lookup("X1,2,3", 6, "", &sec), -1);
	assert_int_equal(mime_partmap_lookup("M0,1,2,2L0,1,1", 14, "1", &sec), -1);
	assert_int_equal(mime_partmap_lookup("L0,1,1L0,1,1", 12, "", &sec), -1);
	strbuf_free(&map);
}

static void test_partmap(void **state)
{
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *data = read_data(files[i], &len);
		struct mime_message *msg = mime_parse(data, len, NULL);

		check_partmap(msg);
		mime_message_free(&msg);
		free(data);
	}
}

static void section_is(const struct mime_message *msg, const char *data, const char *section,
		       int mime, const char *want)
{
	char *got = body_of(msg, data, section, mime);

	assert_string_equal(got, want);
	free(got);
}

/* The torture test's parts, fetched by section through the part map. */
static void test_torture_sections(void **state)
{
	size_t len;
	char *data = read_data("torture.eml", &len);
	struct mime_message *msg = mime_parse(data, len, NULL);
	struct strbuf map = STRBUF_INIT;
	struct mime_section sec;
	size_t depth = 0;

	(void)state;
	assert_int_equal(count_parts(msg->root, 0, &depth), 18);
	assert_int_equal(depth, 7);
	section_is(msg, data, "1", 0,
		   "Caf=E9 cr=E8me br=FBl=E9e, a soft=\r\n break and =3D an equals sign.");
	section_is(msg, data, "1", 1,
		   "Content-Type: text/plain; charset=ISO-8859-1\r\n"
		   "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	section_is(msg, data, "2.2.2.2.1", 0, "deepest plain text");
	section_is(msg, data, "2.2.2.2.2", 0, "<bold>deepest</bold> enriched");
	section_is(msg, data, "3.1.1", 0, "digest body one");
	section_is(msg, data, "3.2", 0, "not a message");
	section_is(msg, data, "4", 0, "AAECAwQ=");
	mime_partmap_encode(msg, &map);
	assert_int_equal(mime_partmap_lookup(map.data, map.len, "2.2.2", &sec), 0);
	assert_int_equal(sec.is_message, 1);
	assert_memory_equal(data + sec.msg_header_offset, "From: deep@example.org\r\n", 24);
	assert_int_equal(mime_partmap_lookup(map.data, map.len, "3.1", &sec), 0);
	assert_int_equal(sec.is_message, 1);
	assert_memory_equal(data + sec.msg_body_offset, "digest body one", 15);
	assert_int_equal(mime_partmap_lookup(map.data, map.len, "2.3", &sec), -1);
	assert_int_equal(mime_partmap_lookup(map.data, map.len, "5", &sec), -1);
	assert_int_equal(mime_partmap_lookup(map.data, map.len, "4.1", &sec), -1);
	strbuf_free(&map);
	mime_message_free(&msg);
	free(data);
}

/* A message that is not multipart: part 1 is its body; a message/rfc822 body nests. */
static void test_single_part_sections(void **state)
{
	static const char plain[] = "Subject: x\r\n\r\nbody\r\n";
	static const char wrapped[] = "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\n"
				      "inner body\r\n";
	struct mime_message *msg = mime_parse(plain, strlen(plain), NULL);

	(void)state;
	section_is(msg, plain, "1", 0, "body\r\n");
	section_is(msg, plain, "1", 1, "Subject: x\r\n\r\n");
	check_partmap(msg);
	mime_message_free(&msg);
	msg = mime_parse(wrapped, strlen(wrapped), NULL);
	section_is(msg, wrapped, "1", 0, "Subject: inner\r\n\r\ninner body\r\n");
	section_is(msg, wrapped, "1.1", 0, "inner body\r\n");
	check_partmap(msg);
	mime_message_free(&msg);
}

/* --------------------------------------------------------- broken messages */

static struct mime_message *parse_file(const char *name, char **data_r)
{
	size_t len;

	*data_r = read_data(name, &len);
	return mime_parse(*data_r, len, NULL);
}

static void body_is(const struct mime_message *msg, const char *want)
{
	struct strbuf s = STRBUF_INIT;

	mime_bodystructure_imap(msg->root, 1, &s);
	assert_string_equal(s.data, want);
	strbuf_free(&s);
}

#define TEXT_PLAIN "\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" "
#define EMPTY_PART "(" TEXT_PLAIN "0 0 NIL NIL NIL NIL)"

static void test_broken_header(void **state)
{
	char *data;
	struct mime_message *msg = parse_file("no-blank-line.eml", &data);

	(void)state;
	assert_true(msg->broken & MIME_BROKEN_HEADER);
	assert_int_equal(msg->nheaders, 2);
	assert_memory_equal(data + msg->root->body_offset, "This line starts", 16);
	body_is(msg, "(" TEXT_PLAIN "49 2 NIL NIL NIL NIL)");
	mime_message_free(&msg);
	free(data);

	msg = parse_file("header-only.eml", &data);
	assert_int_equal(msg->nheaders, 3);
	assert_string_equal(msg->headers[2].value, " first\r\n second");
	assert_int_equal(msg->root->body_offset, msg->size);
	body_is(msg, "(" TEXT_PLAIN "0 0 NIL NIL NIL NIL)");
	mime_message_free(&msg);
	free(data);
}

static void test_broken_boundaries(void **state)
{
	char *data;
	struct mime_message *msg = parse_file("missing-close.eml", &data);

	(void)state;
	assert_true(msg->broken & MIME_BROKEN_BOUNDARY);
	body_is(msg, "((" TEXT_PLAIN "10 0 NIL NIL NIL NIL)((" TEXT_PLAIN "19 0 NIL NIL NIL NIL) "
		     "\"ALTERNATIVE\" (\"BOUNDARY\" \"b2\") NIL NIL NIL)(" TEXT_PLAIN
		     "64 1 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b1\") NIL NIL NIL)");
	mime_message_free(&msg);
	free(data);

	msg = parse_file("boundary-never.eml", &data);
	assert_true(msg->broken & MIME_BROKEN_BOUNDARY);
	assert_null(msg->root->children);
	body_is(msg, "(" EMPTY_PART " \"MIXED\" (\"BOUNDARY\" \"never-seen\") NIL NIL NIL)");
	mime_message_free(&msg);
	free(data);

	msg = parse_file("empty-multipart.eml", &data);
	assert_int_equal(msg->broken, 0);
	assert_null(msg->root->children);
	body_is(msg, "(" EMPTY_PART " \"MIXED\" (\"BOUNDARY\" \"empty\") NIL NIL NIL)");
	mime_message_free(&msg);
	free(data);
}

static void test_broken_bytes(void **state)
{
	char *data;
	struct mime_message *msg = parse_file("lf-only.eml", &data);
	struct strbuf s = STRBUF_INIT;

	(void)state;
	body_is(msg, "((" TEXT_PLAIN "7 1 NIL NIL NIL NIL)(\"TEXT\" \"HTML\" (\"CHARSET\" "
		     "\"us-ascii\") NIL NIL \"7BIT\" 12 0 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" "
		     "\"lf\") NIL NIL NIL)");
	mime_message_free(&msg);
	free(data);

	msg = parse_file("nul-bytes.eml", &data);
	mime_envelope_imap(msg->root->envelope, &s);
	assert_string_equal(s.data, "(NIL \"nul in subject\" ((NIL NIL \"nul\" \"example.org\")) "
				    "((NIL NIL \"nul\" \"example.org\")) ((NIL NIL \"nul\" "
				    "\"example.org\")) NIL NIL NIL NIL NIL)");
	mime_message_free(&msg);
	free(data);

	msg = parse_file("8bit-header.eml", &data);
	strbuf_reset(&s);
	mime_envelope_imap(msg->root->envelope, &s);
	assert_string_equal(s.data,
			    "(NIL {18}\r\nGrüße, raw UTF-8 (({13}\r\nJörg Müller NIL "
			    "\"joerg\" \"example.de\")) (({13}\r\nJörg Müller NIL \"joerg\" "
			    "\"example.de\")) (({13}\r\nJörg Müller NIL \"joerg\" "
			    "\"example.de\")) ((NIL NIL {4}\r\ncaf\xe9 \"example.org\")) NIL "
			    "NIL NIL NIL)");
	assert_string_equal(msg->root->envelope->from.items[0].name, "Jörg Müller");
	assert_string_equal(msg->root->envelope->to.items[0].mailbox, "caf\xe9");
	assert_string_equal(msg->root->children->disposition_params[0].value, "résumé.txt");
	strbuf_reset(&s);
	mime_bodystructure_imap(msg->root->children, 1, &s);
	assert_non_null(strstr(s.data, "(\"ATTACHMENT\" (\"FILENAME*\" "
				       "\"utf-8''r%C3%A9sum%C3%A9.txt\"))"));
	strbuf_free(&s);
	mime_message_free(&msg);
	free(data);
}

/* Headers cut short in nested places: by a line that is no field, by a boundary, by the end. */
static void test_broken_nested_headers(void **state)
{
	static const char *const msgs[] = {
	    "Content-Type: message/rfc822\r\nno colon here\r\nmore\r\n",
	    "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\xf4\xf4 not a field\r\n"
	    "--d\r\nSubject: cut by the boundary\r\n--d--\r\n",
	    "Content-Type: multipart/mixed; boundary=m\r\nthe body, no blank line\r\n--m\r\n"
	    "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n--m--\r\n",
	    "Content-Type: multipart/mixed; boundary=e\r\n\r\n--e\r\nContent-Type: message/rfc822",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct mime_message *msg = mime_parse(msgs[i], strlen(msgs[i]), NULL);
		size_t depth = 0;

		(void)count_parts(msg->root, 0, &depth);
		assert_true(depth >= 1);
		assert_valid(msg);
		check_partmap(msg);
		mime_message_free(&msg);
		same_whatever_the_chunks(msgs[i], strlen(msgs[i]), 0);
	}
}

/* ------------------------------------------------------------------ limits */

/* nested - depth multiparts, each inside the one before; message/rfc822 ones when rfc822. */
static char *nested(size_t depth, bool rfc822, size_t *len_r)
{
	struct strbuf s = STRBUF_INIT;
	size_t i;

	for (i = 0; i < depth; i++) {
		if (rfc822)
			strbuf_printf(
			    &s, "Subject: level %zu\r\nContent-Type: message/rfc822\r\n\r\n", i);
		else
			strbuf_printf(&s,
				      "Content-Type: multipart/mixed; boundary=\"b%zu\"\r\n\r\n"
				      "--b%zu\r\n",
				      i, i);
	}
	strbuf_puts(&s, "Content-Type: text/plain\r\n\r\ninnermost\r\n");
	for (i = depth; !rfc822 && i > 0; i--)
		strbuf_printf(&s, "--b%zu--\r\n", i - 1);
	*len_r = s.len;
	return strbuf_detach(&s);
}

static void test_limit_depth(void **state)
{
	size_t len, depth, parts;
	int rfc822;

	(void)state;
	for (rfc822 = 0; rfc822 <= 1; rfc822++) {
		char *data = nested(2000, rfc822, &len);
		struct mime_message *msg = mime_parse(data, len, NULL);

		depth = 0;
		parts = count_parts(msg->root, 0, &depth);
		assert_true(depth <= MIME_DEPTH_MAX);
		assert_true(parts <= MIME_PARTS_MAX);
		assert_true(msg->broken & MIME_BROKEN_LIMIT);
		assert_int_equal(msg->root->body_end, len);
		assert_valid(msg);
		check_partmap(msg);
		mime_message_free(&msg);
		same_whatever_the_chunks(data, len, 0);
		free(data);
	}
}

static void test_limit_parts(void **state)
{
	struct strbuf s = STRBUF_INIT;
	struct mime_message *msg;
	size_t i, depth = 0;

	(void)state;
	strbuf_puts(&s, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (i = 0; i < 100000; i++)
		strbuf_printf(&s, "--p\r\nContent-Type: text/plain\r\n\r\npart %zu\r\n", i);
	strbuf_puts(&s, "--p--\r\n");
	msg = mime_parse(s.data, s.len, NULL);
	assert_int_equal(count_parts(msg->root, 0, &depth), MIME_PARTS_MAX);
	assert_true(msg->broken & MIME_BROKEN_LIMIT);
	assert_int_equal(msg->root->body_end, s.len);
	assert_valid(msg);
	check_partmap(msg);
	mime_message_free(&msg);
	strbuf_free(&s);
}

static void test_limit_field(void **state)
{
	struct strbuf s = STRBUF_INIT;
	struct mime_message *msg;
	size_t i;

	(void)state;
	strbuf_puts(&s, "Subject: ");
	for (i = 0; i < 1024 * 1024; i++)
		strbuf_putc(&s, 'a' + (char)(i % 26));
	strbuf_puts(&s, "\r\nFrom: after@example.org\r\n");
	/* more fields than MIME_HEADER_MAX bytes in all */
	for (i = 0; i < 40; i++) {
		strbuf_printf(&s, "X-Filler-%zu: ", i);
		strbuf_reserve(&s, 60000);
		memset(s.data + s.len, 'x', 60000);
		s.len += 60000;
		strbuf_puts(&s, "\r\n");
	}
	strbuf_puts(&s, "\r\nbody\r\n");
	msg = mime_parse(s.data, s.len, NULL);
	assert_true(msg->broken & MIME_BROKEN_LIMIT);
	assert_true(strlen(msg->headers[0].name) + strlen(msg->headers[0].value) + 1 <=
		    MIME_FIELD_MAX);
	assert_string_equal(msg->headers[1].value, " after@example.org");
	assert_string_equal(msg->root->envelope->from.items[0].host, "example.org");
	assert_true(msg->nheaders < 42);
	assert_memory_equal(s.data + msg->root->body_offset, "body\r\n", 6);
	assert_valid(msg);
	mime_message_free(&msg);
	same_whatever_the_chunks(s.data, s.len, 0);
	strbuf_free(&s);
}

/* ------------------------------------------------------------------- text */

static void test_text(void **state)
{
	static const char *const want[] = {
	    "\n[H]Subject: Grüße aus Köln and =?bogus?X?notaword?= trail",
	    "\n[H]From: André Pirard <andre@example.org>",
	    "Café crème brûlée, a soft break and = an equals sign.",
	    "Smart “quotes” cost 5€ — naïve café",
	    "Héllo world & friends!",
	    "\n[H]Subject: 日本語の件名",
	    "日本語のテキストです。\r\n二行目。",
	    "deepest plain text",
	    "digest body one",
	};
	size_t len, i;
	char *data = read_data("torture.eml", &len);
	struct strbuf text = STRBUF_INIT;
	struct mime_message *msg = parse_chunked(data, len, 0, &text, 0);

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strstr(text.data, want[i]) == NULL)
			fail_msg("\"%s\" not in the text:\n%s", want[i], text.data);
	}
	assert_null(strstr(text.data, "alert"));
	assert_null(strstr(text.data, "color: red"));
	assert_null(strstr(text.data, "AAECAwQ")); /* not text */
	mime_message_free(&msg);

	/* the limit: never more, cut at a character */
	for (i = 1; i < 400; i += 37) {
		strbuf_reset(&text);
		msg = parse_chunked(data, len, 5, &text, i);
		mime_message_free(&msg);
		assert_true(text.len <= i + 4 * 20); /* the "[H]" markers are the test's */
	}
	strbuf_free(&text);
	free(data);
}

static void count_text(enum mime_text_kind kind, const char *text, size_t len, void *ctx)
{
	size_t *total = ctx;

	(void)kind;
	(void)text;
	*total += len;
}

static void test_text_limit_exact(void **state)
{
	size_t len, total = 0, full, limit, want;
	char *data = read_data("torture.eml", &len);
	struct mime_options opts = {count_text, &total, 0};
	struct mime_message *msg = mime_parse(data, len, &opts);

	(void)state;
	mime_message_free(&msg);
	full = total;
	assert_true(full > 1000);
	for (limit = 1; limit < full + 100; limit += 13) {
		opts.text_limit = limit;
		total = 0;
		msg = mime_parse(data, len, &opts);
		want = limit < full ? limit : full;
		/* exactly the limit, less at most a character that would not fit */
		assert_true(total <= want && total + 3 >= want);
		mime_message_free(&msg);
	}
	free(data);
}

/* -------------------------------------------------------------- performance */

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* big - about size bytes: many parts, text in several encodings, long lines, no line ends. */
static char *big(size_t size, size_t *len_r)
{
	struct strbuf s = STRBUF_INIT;
	size_t i = 0, j;

	strbuf_puts(&s,
		    "Subject: big\r\nContent-Type: multipart/mixed; boundary=\"=_big_\"\r\n\r\n");
	while (s.len < size) {
		strbuf_puts(&s, "--=_big_\r\n");
		switch (i++ % 4) {
		case 0:
			strbuf_puts(&s, "Content-Type: text/plain; charset=iso-8859-1\r\n"
					"Content-Transfer-Encoding: quoted-printable\r\n\r\n");
			for (j = 0; j < 2000; j++)
				strbuf_puts(&s, "Caf=E9 line of quoted-printable text =\r\n");
			break;
		case 1:
			strbuf_puts(&s, "Content-Type: application/octet-stream\r\n"
					"Content-Transfer-Encoding: base64\r\n\r\n");
			for (j = 0; j < 2000; j++)
				strbuf_puts(
				    &s,
				    "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9w\r\n");
			break;
		case 2:
			strbuf_puts(&s, "Content-Type: text/html; charset=utf-8\r\n\r\n");
			for (j = 0; j < 100000; j++)
				strbuf_puts(&s, "<b>x</b>");
			strbuf_puts(&s, "\r\n");
			break;
		default:
			strbuf_puts(&s, "Content-Type: text/plain\r\n\r\n");
			for (j = 0; j < 40000; j++)
				strbuf_puts(&s, "-- dashes at line starts\r\ndashes inside --\r\n");
			break;
		}
	}
	strbuf_puts(&s, "--=_big_--\r\n");
	*len_r = s.len;
	return strbuf_detach(&s);
}

static void test_performance(void **state)
{
	size_t len, total = 0;
	char *data = big(10 * 1024 * 1024, &len);
	struct mime_options opts = {count_text, &total, 0};
	struct mime_parser *p;
	struct mime_message *msg;
	double t0, t;
	size_t off;

	(void)state;
	t0 = seconds();
	p = mime_parser_create(&opts);
	for (off = 0; off < len; off += 65536)
		mime_parser_feed(p, data + off, len - off < 65536 ? len - off : 65536);
	msg = mime_parser_finish(&p);
	t = seconds() - t0;
	print_message("10 MB with all text decoded: %.3f s (%zu bytes of text)\n", t, total);
	assert_valid(msg);
	/* well under a second per 10 MB in a normal build; sanitizers slow it down */
	assert_true(t < 10.0);
	mime_message_free(&msg);

	/* one 10 MB line inside a multipart, and a message without any line end */
	memset(data, '-', len);
	memcpy(data, "Content-Type: multipart/mixed; boundary=x\r\n\r\n", 45);
	t0 = seconds();
	msg = mime_parse(data, len, &opts);
	mime_message_free(&msg);
	msg = mime_parse(data + 45, len - 45, &opts);
	t = seconds() - t0;
	print_message("2 x 10 MB without line ends: %.3f s\n", t);
	assert_true(t < 10.0);
	mime_message_free(&msg);

	/* a text body of one 10 MB line, given at once: all of it reaches the callback */
	memset(data, '-', len);
	memcpy(data, "Subject: x\r\n\r\n", 14);
	total = 0;
	t0 = seconds();
	msg = mime_parse(data, len, &opts);
	t = seconds() - t0;
	print_message("a 10 MB line of text: %.3f s\n", t);
	assert_int_equal(total, len - 14 + strlen("Subject: x"));
	assert_int_equal(msg->root->body_lines, 0);
	assert_true(t < 10.0);
	mime_message_free(&msg);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_bodystructure),
	    cmocka_unit_test(test_known_envelopes),
	    cmocka_unit_test(test_files_valid),
	    cmocka_unit_test(test_chunking),
	    cmocka_unit_test(test_partmap),
	    cmocka_unit_test(test_torture_sections),
	    cmocka_unit_test(test_single_part_sections),
	    cmocka_unit_test(test_broken_header),
	    cmocka_unit_test(test_broken_boundaries),
	    cmocka_unit_test(test_broken_bytes),
	    cmocka_unit_test(test_broken_nested_headers),
	    cmocka_unit_test(test_limit_depth),
	    cmocka_unit_test(test_limit_parts),
	    cmocka_unit_test(test_limit_field),
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_text_limit_exact),
	    cmocka_unit_test(test_performance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
