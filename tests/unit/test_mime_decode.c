/*
 * test_mime_decode - the decoders of the MIME parser, table by table:
 * RFC 2047 encoded words, Content-Type parameters with RFC 2231
 * continuations and charsets, charset conversion to UTF-8 (also fed one
 * byte at a time), address lists as ENVELOPE shows them, dates, and the
 * body text decoder (quoted-printable, base64, HTML).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mail/mime.h"
#include "mail/mime_impl.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

struct pair {
	const char *in, *want;
};

/* ------------------------------------------------------------ RFC 2047 */

static void test_words(void **state)
{
	static const struct pair cases[] = {
	    {"plain text", "plain text"},
	    {"=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"},
	    /* adjacent words joined, a character split between them */
	    {"=?UTF-8?B?R3LD?= =?UTF-8?B?vMOfZQ==?=", "Grüße"},
	    {"=?utf-8?q?a?=  \r\n =?utf-8?q?b?=", "ab"},
	    {"=?utf-8?b?w6k=?==?utf-8?b?w6k=?=", "éé"},
	    {"=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b"},
	    {"x=?utf-8?q?a?=y", "xay"},
	    {"=?utf-8?q?a_b=20c?=", "a b c"},
	    {"=?utf-8*en?q?lang?=", "lang"},
	    {"=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=", "日本語"},
	    {"=?iso-8859-15?q?=A4?= and =?koi8-r?b?8NLJ18XU?=", "€ and Привет"},
	    /* bad words stay as they are */
	    {"=?bogus?X?abc?=", "=?bogus?X?abc?="},
	    {"=?utf-8?q?unterminated", "=?utf-8?q?unterminated"},
	    {"=?utf-8?q?has space?=", "=?utf-8?q?has space?="},
	    {"=?\?q?nocharset?=", "=?\?q?nocharset?="},
	    {"=?utf-8?q?\?=", ""},
	    /* bytes that do not fit the charset */
	    {"=?utf-8?q?caf=E9?=", "caf\xef\xbf\xbd"},
	    {"=?x-unknown-charset?q?caf=E9?=", "café"},
	    {"=?UTF-8?Q?=E2=82?= =?ISO-8859-1?Q?=E9?=", "\xef\xbf\xbd\xef\xbf\xbdé"},
	    /* raw 8-bit text: UTF-8, else Windows-1252 */
	    {"raw Jörg", "raw Jörg"},
	    {"caf\xe9 \x93quoted\x94", "café “quoted”"},
	    {"folded\r\n line", "folded line"},
	    {"", ""},
	};
	struct strbuf out = STRBUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strbuf_reset(&out);
		mime_decode_words(cases[i].in, strlen(cases[i].in), &out);
		assert_non_null(out.data);
		if (strcmp(out.data, cases[i].want) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].in, out.data,
				 cases[i].want);
	}
	strbuf_free(&out);
}

/* ------------------------------------------------------------ parameters */

/* params - Content-Type value as "type/subtype;name=value;..." or "-" when refused. */
static char *params(const char *value)
{
	struct strbuf out = STRBUF_INIT;
	struct mime_param *p;
	char *type, *subtype;
	size_t n, i;

	if (mime_content_type(value, strlen(value), &type, &subtype, &p, &n) < 0)
		return xstrdup("-");
	strbuf_printf(&out, "%s/%s", type, subtype);
	for (i = 0; i < n; i++)
		strbuf_printf(&out, ";%s=%s", p[i].name, p[i].value);
	mime_params_free(p, n);
	free(type);
	free(subtype);
	return strbuf_detach(&out);
}

static void test_params(void **state)
{
	static const struct pair cases[] = {
	    {"text/plain; charset=\"utf-8\"; format=flowed",
	     "text/plain;charset=utf-8;format=flowed"},
	    {" TEXT / Plain ; CHARSET=US-ASCII (a comment)", "text/plain;charset=US-ASCII"},
	    {"application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; "
	     "title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
	     "application/x-stuff;title=This is even more ***fun*** isn't it!"},
	    {"a/b; name*=utf-8''%E2%82%AC%20rates", "a/b;name=€ rates"},
	    {"a/b; n*0=\"a\"; x=1; n*2=\"c\"; n*1=\"b\"", "a/b;n=abc;x=1"},
	    {"a/b; n=\"plain\"; n*=utf-8''x", "a/b;n=x"},
	    {"a/b; n*1=\"only\"", "a/b;n=only"},
	    {"a/b; n*0=\"a\"; n*2=\"gap\"", "a/b;n=a"},
	    {"a/b; f*=iso-8859-1'fr'r%E9sum%E9.pdf", "a/b;f=résumé.pdf"},
	    {"a/b; f*=''%zz%4", "a/b;f=%zz%4"},
	    {"multipart/mixed; boundary=----=_Part_1_2.3",
	     "multipart/mixed;boundary=----=_Part_1_2.3"},
	    {"a/b; charset; x=y", "a/b;x=y"},
	    {"a/b; c=a; c=b", "a/b;c=a"},
	    {"a/b; name=\"unterminated", "a/b;name=unterminated"},
	    {"a/b; name=\"r\xc3\xa9sum\xc3\xa9\"", "a/b;name=résumé"},
	    {"a/b; name=caf\xe9", "a/b;name=café"},
	    {"a/b; q=\"a\\\"b\\\\c\"", "a/b;q=a\"b\\c"},
	    {"a/b;;; x = y ;", "a/b;x=y"},
	    {"text", "-"},
	    {"/plain", "-"},
	    {"text/", "-"},
	    {"", "-"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = params(cases[i].in);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].in, got,
				 cases[i].want);
		free(got);
	}
}

/* ------------------------------------------------------------ charsets */

struct conv_case {
	const char *charset, *in, *want;
};

static void test_charsets(void **state)
{
	static const struct conv_case cases[] = {
	    {"iso-8859-1", "caf\xe9 \x80", "café €"},
	    {"windows-1252", "\x93x\x94 \x81", "“x” \xc2\x81"},
	    {"ISO-8859-15", "\xa4", "€"},
	    {"koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"},
	    {"iso-2022-jp", "\x1b$BF|K\\8l\x1b(B!", "日本語!"},
	    {"shift_jis", "\x93\xfa\x96\x7b", "日本"},
	    {"utf-8",
	     "a\xff"
	     "b\xe2\x82",
	     "a\xef\xbf\xbd"
	     "b\xef\xbf\xbd\xef\xbf\xbd"},
	    {"UTF8", "é", "é"},
	    {NULL, "caf\xc3\xa9", "café"},
	    {NULL, "caf\xe9", "café"},
	    {"us-ascii", "caf\xe9", "café"},
	    {"x-nonsense", "caf\xe9", "café"},
	    {"../../etc/passwd", "caf\xe9", "café"},
	    {"utf-8//TRANSLIT", "\xe9", "é"},
	    {"iso-8859-2", "\xb1", "ą"},
	    {"iso-8859-8-i", "\xf9", "ש"},
	    /* what a known charset cannot convert: kept when UTF-8, else U+FFFD */
	    {"iso-2022-jp", "\x1b$B\xff\xff\x1b(B", "\xef\xbf\xbd\xef\xbf\xbd"},
	    {"koi8-r", "", ""},
	};
	struct strbuf out = STRBUF_INIT, step = STRBUF_INIT;
	struct mime_conv *cv;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *in = cases[i].in;

		strbuf_reset(&out);
		mime_charset_to_utf8(cases[i].charset, in, strlen(in), &out);
		assert_non_null(out.data);
		if (strcmp(out.data, cases[i].want) != 0)
			fail_msg("%s \"%s\": got \"%s\", want \"%s\"", cases[i].charset, in,
				 out.data, cases[i].want);
		/* one byte at a time gives the same */
		strbuf_reset(&step);
		cv = mime_conv_create(cases[i].charset);
		for (j = 0; in[j] != '\0'; j++)
			mime_conv_feed(cv, in + j, 1, &step);
		mime_conv_finish(cv, &step);
		mime_conv_free(&cv);
		assert_string_equal(strbuf_str(&step), cases[i].want);
	}
	strbuf_free(&out);
	strbuf_free(&step);
}

static bool utf8_valid(const char *s, size_t len)
{
	size_t i = 0;
	int n;

	while (i < len) {
		if ((n = mime_utf8_seq((const unsigned char *)s + i, len - i)) <= 0)
			return false;
		i += (size_t)n;
	}
	return true;
}

/* convert - data in charset, fed in pieces of chunk bytes (0: at once). */
static void convert(const char *charset, const char *data, size_t len, size_t chunk,
		    struct strbuf *out)
{
	struct mime_conv *cv = mime_conv_create(charset);
	size_t off, n;

	for (off = 0; off < len; off += n) {
		n = chunk == 0 || chunk > len - off ? len - off : chunk;
		mime_conv_feed(cv, data + off, n, out);
	}
	mime_conv_finish(cv, out);
	mime_conv_free(&cv);
}

/* Stateful and multibyte charsets on garbage: the same UTF-8 however the input is cut. */
static void test_charset_chunks(void **state)
{
	static const char *const charsets[] = {"utf-7",	  "iso-2022-jp", "utf-16", "shift_jis",
					       "gb18030", "utf-8",	 NULL,	   "iso-8859-1",
					       "euc-kr",  "big5"};
	static const char alphabet[] = "+-AbZ09/=\x1b$B(J\n\r \x80\xa4\xc3\xe2\xff\x00";
	static const size_t chunks[] = {1, 2, 3, 5, 4097};
	struct strbuf whole = STRBUF_INIT, part = STRBUF_INIT;
	char data[9000];
	uint32_t seed = 12345;
	size_t i, j, c;

	(void)state;
	for (i = 0; i < sizeof(data); i++) {
		seed = seed * 1103515245 + 12345;
		data[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
	}
	for (i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++) {
		strbuf_reset(&whole);
		convert(charsets[i], data, sizeof(data), 0, &whole);
		assert_true(utf8_valid(whole.data, whole.len));
		for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
			strbuf_reset(&part);
			convert(charsets[i], data, sizeof(data), chunks[j], &part);
			if (part.len != whole.len ||
			    memcmp(part.data, whole.data, whole.len) != 0) {
				for (c = 0; c < whole.len && c < part.len; c++) {
					if (whole.data[c] != part.data[c])
						break;
				}
				fail_msg("%s in pieces of %zu differs at byte %zu", charsets[i],
					 chunks[j], c);
			}
		}
	}
	strbuf_free(&whole);
	strbuf_free(&part);
}

static void test_utf8_helpers(void **state)
{
	struct strbuf out = STRBUF_INIT;

	(void)state;
	assert_int_equal(mime_utf8_seq((const unsigned char *)"a", 1), 1);
	assert_int_equal(mime_utf8_seq((const unsigned char *)"\xc3\xa9", 2), 2);
	assert_int_equal(mime_utf8_seq((const unsigned char *)"\xc3", 1), -1);
	assert_int_equal(mime_utf8_seq((const unsigned char *)"\xc0\xaf", 2), 0); /* overlong */
	assert_int_equal(mime_utf8_seq((const unsigned char *)"\xed\xa0\x80", 3),
			 0); /* surrogate */
	assert_int_equal(mime_utf8_seq((const unsigned char *)"\xf4\x90\x80\x80", 4), 0);
	assert_int_equal(mime_utf8_seq((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	assert_int_equal(mime_utf8_cut("ab\xe2\x82", 4), 2);
	assert_int_equal(mime_utf8_cut("ab\xe2\x82\xac", 5), 5);
	assert_int_equal(mime_utf8_cut("ab\xe2\x82\xac", 4), 2);
	assert_int_equal(mime_utf8_cut("abc", 2), 2);
	mime_utf8_put(&out, 0x263a);
	mime_utf8_put(&out, 0xd800);
	mime_utf8_put(&out, 0x1f600);
	assert_string_equal(out.data, "☺\xef\xbf\xbd\xf0\x9f\x98\x80");
	strbuf_free(&out);
}

/* ------------------------------------------------------------ addresses */

static char *addresses(const char *value)
{
	struct strbuf out = STRBUF_INIT;
	struct mime_addresses list;
	size_t i;

	mime_parse_addresses(value, strlen(value), &list);
	for (i = 0; i < list.count; i++) {
		const struct mime_address *a = &list.items[i];

		strbuf_printf(&out, "%s%s|%s|%s|%s|%s", i > 0 ? " " : "", a->name ? a->name : "-",
			      a->name_raw ? a->name_raw : "-", a->route ? a->route : "-",
			      a->mailbox ? a->mailbox : "-", a->host ? a->host : "-");
	}
	mime_addresses_free(&list);
	return strbuf_detach(&out);
}

static void test_addresses(void **state)
{
	static const struct pair cases[] = {
	    {"a@b", "-|-|-|a|b"},
	    {"\"Smith, John\" <john@x.org>", "Smith, John|Smith, John|-|john|x.org"},
	    {"John  Q. Public <jqp@x>", "John Q. Public|John Q. Public|-|jqp|x"},
	    {"=?utf-8?q?J=C3=B6rg?= <j@x>", "Jörg|=?utf-8?q?J=C3=B6rg?=|-|j|x"},
	    {"\"=?utf-8?q?J=C3=B6rg?=\" <j@x>", "Jörg|=?utf-8?q?J=C3=B6rg?=|-|j|x"},
	    {"Jörg Müller <j@x>", "Jörg Müller|Jörg Müller|-|j|x"},
	    {"user@host (Real Name)", "Real Name|Real Name|-|user|host"},
	    {"Name (comment) <u@h> (trailing)", "Name|Name|-|u|h"},
	    {"group: a@b, C <c@d>;", "-|-|-|group|- -|-|-|a|b C|C|-|c|d -|-|-|-|-"},
	    {"undisclosed-recipients:;", "-|-|-|undisclosed-recipients|- -|-|-|-|-"},
	    {"g: a@b", "-|-|-|g|- -|-|-|a|b -|-|-|-|-"},
	    {"<@r1,@r2:u@h>", "-|-|@r1,@r2|u|h"},
	    {"<@r1, @r2 : u@h>", "-|-|@r1,@r2|u|h"},
	    {"\"quoted local\"@host", "-|-|-|quoted local|host"},
	    {"u@[1.2.3.4]", "-|-|-|u|[1.2.3.4]"},
	    {"broken <a@b", "broken|broken|-|a|b"},
	    {", , a@b,,", "-|-|-|a|b"},
	    {"no-at-sign", "-|-|-|no-at-sign|"},
	    {"<>", "-|-|-||"},
	    {"a@b garbage, c@d", "-|-|-|a|b -|-|-|c|d"},
	    {"a . b @ c . d", "-|-|-|a.b|c.d"},
	    {"a@b;c@d", "-|-|-|a|b -|-|-|c|d"},
	    {"", ""},
	    {"  (only a comment)  ", ""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = addresses(cases[i].in);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].in, got,
				 cases[i].want);
		free(got);
	}
}

/* ------------------------------------------------------------ dates */

static void test_dates(void **state)
{
	static const struct {
		const char *in;
		long long want;
	} cases[] = {
	    {"Thu, 15 Feb 2007 01:02:03 +0200", 1171494123},
	    {"15 Feb 2007 01:02:03 +0200", 1171494123},
	    {"Thu, 15 Feb 2007 01:02:03 +0200 (EET)", 1171494123},
	    {"  Thursday,  15   feb 2007 01:02:03   +0200  ", 1171494123},
	    {"Thu, 15 Feb 2007 01:02 +0200", 1171494120},
	    {"Thu, 15 Feb 07 01:02:03 +0200", 1171494123},
	    {"Mon, 15 Feb 99 01:02:03 +0200", 919033323},
	    {"Thu, 15 Feb 107 01:02:03 +0200", 1171494123},
	    {"Thu, 15 Feb 2007 01:02:03 EST", 1171519323},
	    {"Thu, 15 Feb 2007 01:02:03 GMT", 1171501323},
	    {"Thu, 15 Feb 2007 01:02:03 X", 1171501323},
	    {"Thu, 15 Feb 2007 01:02:03", 1171501323},
	    {"Thu, 15 Feb 2007 01:02:03 -0130", 1171506723},
	    {"Thu Feb 15 01:02:03 2007", 1171501323},
	    {"15-Feb-2007 01:02:03 +0000", 1171501323},
	    {"Sat, 31 Dec 2016 23:59:60 +0000", 1483228799},
	    {"Sun, 20 Jul 1969 20:17:40 +0000", -14182940},
	    {"1 Jan 49 00:00:00 +0000", 2493072000LL},
	    {"1 Jan 50 00:00:00 +0000", -631152000},
	    {"31 Feb 2007 00:00:00 +0000", -1},
	    {"29 Feb 2007 00:00:00 +0000", -1},
	    {"32 Jan 2007 00:00:00 +0000", -1},
	    {"15 Feb 2007 25:00:00 +0000", -1},
	    {"15 Foo 2007 01:02:03 +0000", -1},
	    {"Xyz, 15 Feb 2007 01:02:03 +0000", -1},
	    {"15 Feb 2007", -1},
	    {"2007-02-15 01:02:03", -1},
	    {"garbage", -1},
	    {"", -1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long got = (long long)mime_parse_date(cases[i].in);

		if (got != cases[i].want)
			fail_msg("\"%s\": got %lld, want %lld", cases[i].in, got, cases[i].want);
	}
}

/* ------------------------------------------------------------ body text */

struct text_case {
	const char *encoding, *charset;
	bool html;
	const char *in, *want;
	unsigned broken;
};

static void test_text_decoder(void **state)
{
	static const struct text_case cases[] = {
	    {"quoted-printable", "iso-8859-1", false, "caf=E9 =3D x=\r\ny=ZZ z=", "café = xy=ZZ z",
	     MIME_BROKEN_ENCODING},
	    {"quoted-printable", "utf-8", false, "a=\nb =c3=a9=", "ab é", 0},
	    {"quoted-printable", NULL, false, "end =4", "end =4", MIME_BROKEN_ENCODING},
	    {"base64", "utf-8", false, "aGVs\r\nbG8g\r\nw6k=\r\n", "hello é", 0},
	    {"base64", NULL, false, "aGVs*bG8=", "hello", MIME_BROKEN_ENCODING},
	    {"base64", NULL, false, "aGk=aGk=", "hihi", 0},
	    {"7bit", "windows-1252", false, "\x93q\x94", "“q”", 0},
	    {NULL, NULL, true,
	     "<p>a&lt;b</p><br/>c &#x263A; &#65;&unknown; <script>x</script>d<!-- c -->e",
	     "\na<b\n\nc ☺ A&unknown; de", 0},
	    {NULL, NULL, true, "a < b & c <b>bold</b> <style a=\">\">p{}</style>e",
	     "a < b & c bold e", 0},
	    {NULL, NULL, true, "<SCRIPT>x</scRipt >y<TD>z &amp", "y z &amp", 0},
	    {"quoted-printable", "utf-8", true, "<p>H=C3=A9llo</p>", "\nHéllo\n", 0},
	};
	struct strbuf whole = STRBUF_INIT, step = STRBUF_INIT;
	struct mime_textdec *td;
	unsigned broken;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct text_case *c = &cases[i];

		strbuf_reset(&whole);
		td = mime_textdec_create(c->encoding, c->charset, c->html);
		(void)mime_textdec_feed(td, c->in, strlen(c->in), &whole);
		broken = mime_textdec_finish(td, &whole);
		mime_textdec_free(&td);
		if (strcmp(strbuf_str(&whole), c->want) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", c->in, strbuf_str(&whole),
				 c->want);
		assert_int_equal(broken, c->broken);
		strbuf_reset(&step);
		td = mime_textdec_create(c->encoding, c->charset, c->html);
		for (j = 0; c->in[j] != '\0'; j++)
			(void)mime_textdec_feed(td, c->in + j, 1, &step);
		(void)mime_textdec_finish(td, &step);
		mime_textdec_free(&td);
		assert_string_equal(strbuf_str(&step), c->want);
	}
	strbuf_free(&whole);
	strbuf_free(&step);
}

/* ------------------------------------------------------------ linear time */

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* repeat - unit repeated to about MIME_FIELD_MAX bytes. */
static char *repeat(const char *unit)
{
	struct strbuf s = STRBUF_INIT;

	while (s.len + strlen(unit) <= MIME_FIELD_MAX)
		strbuf_puts(&s, unit);
	return strbuf_detach(&s);
}

/* Field values made to cost the most (openers without their end, deep comments, ...). */
static void test_linear(void **state)
{
	static const char *const units[] = {
	    "=?x?q?a", "=?", "=?utf-8?q?", "=?a?b?c?=", "a@b,", "<",  ":",  "(",
	    "\"",      "a ", "@",	   "<@a,",	"a,",	"<a", "a>", "g:<"};
	struct strbuf out = STRBUF_INIT;
	struct mime_addresses list;
	struct mime_param *params;
	char *type, *subtype;
	double t0 = seconds(), t;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		char *v = repeat(units[i]);
		char *ct = xasprintf("a/b; p=%s", v);

		strbuf_reset(&out);
		mime_decode_words(v, strlen(v), &out);
		mime_parse_addresses(v, strlen(v), &list);
		mime_addresses_free(&list);
		(void)mime_parse_date(v);
		if (mime_content_type(ct, strlen(ct), &type, &subtype, &params, &n) == 0) {
			mime_params_free(params, n);
			free(type);
			free(subtype);
		}
		free(ct);
		free(v);
	}
	t = seconds() - t0;
	print_message("adversarial field values: %.3f s\n", t);
	assert_true(t < 5.0);
	strbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_words),	 cmocka_unit_test(test_params),
	    cmocka_unit_test(test_charsets),	 cmocka_unit_test(test_charset_chunks),
	    cmocka_unit_test(test_utf8_helpers), cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_dates),	 cmocka_unit_test(test_text_decoder),
	    cmocka_unit_test(test_linear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
