/*
 * test_dns - the wire layer of the resolver with crafted packets: names to
 * and from wire form, queries, answers of every decoded type, compression
 * (and pointer loops, forward pointers, reserved label types, names too
 * long), every truncation of a valid answer, bad counts and record
 * lengths; CNAME chains in an answer; MX ordering; server addresses and
 * resolv.conf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/dns.h"
#include "util/strbuf.h"

/* ---- a packet builder ---- */

static void u8(struct strbuf *p, unsigned v)
{
	strbuf_putc(p, (int)(v & 0xff));
}

static void u16(struct strbuf *p, unsigned v)
{
	u8(p, v >> 8);
	u8(p, v);
}

static void u32(struct strbuf *p, uint32_t v)
{
	u16(p, v >> 16);
	u16(p, v & 0xffff);
}

/* name - an uncompressed name, "" for the root. */
static void name(struct strbuf *p, const char *dotted)
{
	char *err = NULL;

	assert_int_equal(dns_name_to_wire(p, dotted, &err), 0);
}

/* ptr - a compression pointer to offset. */
static void ptr(struct strbuf *p, unsigned offset)
{
	u16(p, 0xc000u | offset);
}

static void header(struct strbuf *p, unsigned id, unsigned flags, unsigned an, unsigned ns,
		   unsigned ar)
{
	u16(p, id);
	u16(p, flags | DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA);
	u16(p, 1);
	u16(p, an);
	u16(p, ns);
	u16(p, ar);
}

static void question(struct strbuf *p, const char *qname, unsigned type)
{
	name(p, qname);
	u16(p, type);
	u16(p, DNS_C_IN);
}

/* rr_fixed - type, class IN, TTL and RDLENGTH after an owner name. */
static void rr_fixed(struct strbuf *p, unsigned type, unsigned rdlen)
{
	u16(p, type);
	u16(p, DNS_C_IN);
	u32(p, 300);
	u16(p, rdlen);
}

static int parse(const struct strbuf *p, struct dns_msg *msg, char **err)
{
	*err = NULL;
	return dns_msg_parse(p->data, p->len, msg, err);
}

/* expect_fail - the packet must be refused, with a message containing what. */
static void expect_fail(const struct strbuf *p, const char *what)
{
	struct dns_msg msg;
	char *err = NULL;

	assert_int_equal(parse(p, &msg, &err), -1);
	assert_non_null(err);
	if (strstr(err, what) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, what);
	free(err);
	dns_msg_free(&msg);
}

/* mx_answer - example.org MX: 10 mx1.example.org (compressed), 20 mx2. */
static void mx_answer(struct strbuf *p)
{
	header(p, 0x1234, 0, 2, 0, 0);
	question(p, "example.org", DNS_T_MX); /* qname at offset 12 */
	ptr(p, 12);
	rr_fixed(p, DNS_T_MX, 2 + 6);
	u16(p, 10);
	u8(p, 3);
	strbuf_puts(p, "mx1");
	ptr(p, 12);
	ptr(p, 12);
	rr_fixed(p, DNS_T_MX, 2 + 6);
	u16(p, 20);
	u8(p, 3);
	strbuf_puts(p, "MX2");
	ptr(p, 12);
}

/* ---- names ---- */

static void test_name_to_wire(void **state)
{
	struct strbuf p = STRBUF_INIT;
	char *err = NULL;
	char label[70], longname[300];

	assert_int_equal(dns_name_to_wire(&p, "example.org.", &err), 0);
	assert_int_equal(p.len, 13);
	assert_memory_equal(p.data, "\7example\3org\0", 13);
	strbuf_reset(&p);
	assert_int_equal(dns_name_to_wire(&p, ".", &err), 0);
	assert_int_equal(p.len, 1);
	strbuf_reset(&p);
	assert_int_equal(dns_name_to_wire(&p, "a\\.b.c\\065", &err), 0);
	assert_memory_equal(p.data, "\3a.b\2cA\0", 8);
	strbuf_reset(&p);

	assert_int_equal(dns_name_to_wire(&p, "a..b", &err), -1);
	assert_non_null(strstr(err, "empty label"));
	free(err);
	assert_int_equal(p.len, 0);
	memset(label, 'x', 64);
	label[64] = '\0';
	assert_int_equal(dns_name_to_wire(&p, label, &err), -1);
	free(err);
	label[63] = '\0';
	assert_int_equal(dns_name_to_wire(&p, label, &err), 0);
	strbuf_reset(&p);
	/* 127 labels "a." = 254 bytes + root = 255: fits; one more label does not */
	for (int i = 0; i < 127; i++)
		memcpy(longname + 2 * i, "a.", 2);
	longname[254] = '\0';
	assert_int_equal(dns_name_to_wire(&p, longname, &err), 0);
	assert_int_equal(p.len, 255);
	strbuf_reset(&p);
	memcpy(longname + 254, "b", 2);
	assert_int_equal(dns_name_to_wire(&p, longname, &err), -1);
	free(err);
	assert_int_equal(dns_name_to_wire(&p, "a\\9", &err), -1);
	free(err);
	assert_int_equal(dns_name_to_wire(&p, "a\\300", &err), -1);
	free(err);
	strbuf_free(&p);

	assert_true(dns_name_equal("Example.ORG.", "example.org"));
	assert_false(dns_name_equal("example.org", "example.or"));
	assert_true(dns_name_equal("", "."));
}

static void test_query_build(void **state)
{
	struct strbuf p = STRBUF_INIT;
	char *err = NULL;

	assert_int_equal(dns_query_build(&p, 0xabcd, "example.org", DNS_T_MX,
					 DNS_QUERY_EDNS | DNS_QUERY_DO, &err),
			 0);
	assert_int_equal(p.len, 12 + 13 + 4 + 11);
	assert_memory_equal(p.data, "\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01", 12);
	assert_memory_equal(p.data + 25, "\x00\x0f\x00\x01", 4);
	/* OPT: root, type 41, payload 1232, DO */
	assert_memory_equal(p.data + 29, "\x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00", 11);
	strbuf_reset(&p);
	assert_int_equal(dns_query_build(&p, 1, "a", DNS_T_A, 0, &err), 0);
	assert_int_equal(p.len, 12 + 3 + 4);
	assert_int_equal(p.data[11], 0);
	assert_int_equal(dns_query_build(&p, 1, "a..b", DNS_T_A, 0, &err), -1);
	free(err);
	assert_int_equal(p.len, 19);
	strbuf_free(&p);
}

/* ---- answers ---- */

static void test_parse_mx(void **state)
{
	struct strbuf p = STRBUF_INIT;
	struct dns_msg msg;
	char *err;

	mx_answer(&p);
	assert_int_equal(parse(&p, &msg, &err), 0);
	assert_int_equal(msg.id, 0x1234);
	assert_int_equal(msg.rcode, DNS_RCODE_NOERROR);
	assert_string_equal(msg.qname, "example.org");
	assert_int_equal(msg.qtype, DNS_T_MX);
	assert_int_equal(msg.nanswer, 2);
	assert_string_equal(msg.answer[0].name, "example.org");
	assert_int_equal(msg.answer[0].pref, 10);
	assert_string_equal(msg.answer[0].target, "mx1.example.org");
	assert_string_equal(msg.answer[1].target, "mx2.example.org"); /* folded */
	assert_int_equal(msg.answer[1].ttl, 300);
	assert_true(dns_msg_answers(&msg, 0x1234, "EXAMPLE.org.", DNS_T_MX));
	assert_false(dns_msg_answers(&msg, 0x1235, "example.org", DNS_T_MX));
	assert_false(dns_msg_answers(&msg, 0x1234, "example.com", DNS_T_MX));
	assert_false(dns_msg_answers(&msg, 0x1234, "example.org", DNS_T_A));
	dns_msg_free(&msg);
	strbuf_free(&p);
}

static void test_parse_types(void **state)
{
	struct strbuf p = STRBUF_INIT, f = STRBUF_INIT;
	struct dns_msg msg;
	char *err;

	header(&p, 7, DNS_FLAG_AD, 6, 0, 1);
	question(&p, "h.example", DNS_T_A);
	ptr(&p, 12);
	rr_fixed(&p, DNS_T_A, 4);
	strbuf_append(&p, "\xc0\x00\x02\x01", 4);
	ptr(&p, 12);
	rr_fixed(&p, DNS_T_AAAA, 16);
	strbuf_append(&p, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	ptr(&p, 12);
	rr_fixed(&p, DNS_T_TXT, 1 + 5 + 1 + 3 + 1);
	strbuf_append(&p, "\5v=spf\3 -a\0", 11);
	ptr(&p, 12);
	rr_fixed(&p, DNS_T_TLSA, 3 + 2);
	strbuf_append(&p, "\3\1\1\xab\xcd", 5);
	ptr(&p, 12);
	rr_fixed(&p, DNS_T_PTR, 2);
	ptr(&p, 12);
	ptr(&p, 12);
	rr_fixed(&p, 99, 3);
	strbuf_append(&p, "xyz", 3);
	u8(&p, 0); /* OPT */
	rr_fixed(&p, DNS_T_OPT, 0);
	assert_int_equal(parse(&p, &msg, &err), 0);
	assert_true(msg.edns);
	assert_true(msg.flags & DNS_FLAG_AD);
	assert_int_equal(msg.nanswer, 6);
	assert_int_equal(msg.nadditional, 1);
	for (size_t i = 0; i < msg.nanswer; i++) {
		dns_rr_format(&f, &msg.answer[i]);
		strbuf_putc(&f, '|');
	}
	assert_string_equal(strbuf_str(&f),
			    "192.0.2.1|2001:db8::1|v=spf -a|3 1 1 abcd|h.example|78797a|");
	assert_int_equal(msg.answer[2].strings, 3);
	assert_int_equal(msg.answer[2].len, 8);
	dns_msg_free(&msg);
	strbuf_free(&p);
	strbuf_free(&f);
}

/* Every cut of a valid answer is refused (and read nothing outside it, under ASan). */
static void test_truncations(void **state)
{
	struct strbuf p = STRBUF_INIT;
	struct dns_msg msg;
	char *err;

	mx_answer(&p);
	for (size_t len = 0; len < p.len; len++) {
		void *copy = malloc(len ? len : 1);
		memcpy(copy, p.data, len);
		err = NULL;
		assert_int_equal(dns_msg_parse(copy, len, &msg, &err), -1);
		assert_non_null(err);
		free(err);
		dns_msg_free(&msg);
		free(copy);
	}
	strbuf_putc(&p, 0);
	expect_fail(&p, "after the last record");
	strbuf_free(&p);
}

static void test_compression_loops(void **state)
{
	struct strbuf p = STRBUF_INIT;

	/* the question's name points at itself */
	header(&p, 1, 0, 0, 0, 0);
	ptr(&p, 12);
	u16(&p, DNS_T_A);
	u16(&p, DNS_C_IN);
	expect_fail(&p, "does not point backwards");
	strbuf_reset(&p);
	/* a forward pointer */
	header(&p, 1, 0, 0, 0, 0);
	ptr(&p, 14);
	name(&p, "a");
	u16(&p, DNS_T_A);
	u16(&p, DNS_C_IN);
	expect_fail(&p, "does not point backwards");
	strbuf_reset(&p);
	/* label "a" then a pointer back to that label: a -> a -> ... */
	header(&p, 1, 0, 1, 0, 0);
	question(&p, "x", DNS_T_A); /* 12..18 */
	u8(&p, 1);		    /* offset 19: label "a" */
	strbuf_putc(&p, 'a');
	ptr(&p, 19);
	rr_fixed(&p, DNS_T_A, 4);
	strbuf_append(&p, "\1\2\3\4", 4);
	expect_fail(&p, "does not point backwards");
	strbuf_reset(&p);
	/* two pointers chasing each other: record 1's data holds a pointer to record 2's owner,
	 * which is a pointer to that data */
	header(&p, 1, 0, 2, 0, 0);
	question(&p, "x", DNS_T_A); /* 12..18 */
	ptr(&p, 12);
	rr_fixed(&p, 99, 4);
	ptr(&p, 35); /* at 31 */
	u16(&p, 0);
	ptr(&p, 31); /* at 35 */
	rr_fixed(&p, DNS_T_A, 4);
	strbuf_append(&p, "\1\2\3\4", 4);
	expect_fail(&p, "does not point backwards");
	strbuf_reset(&p);
	/* reserved label types 0x40 and 0x80 */
	header(&p, 1, 0, 0, 0, 0);
	u8(&p, 0x41);
	u8(&p, 0);
	u16(&p, 1);
	u16(&p, 1);
	expect_fail(&p, "unknown label type");
	strbuf_free(&p);
}

/*
 * chained_labels - answer 1 of type 99 holds in its data blocks of one
 * 30-byte label and a pointer to the block before (the first to the
 * question's "x"); answer 2's owner points at the last block: a name of
 * blocks * 31 + 3 bytes in wire form.
 */
static void chained_labels(struct strbuf *p, int blocks)
{
	unsigned prev = 12, at;
	int i;

	header(p, 1, 0, 2, 0, 0);
	question(p, "x", DNS_T_A);
	ptr(p, 12);
	rr_fixed(p, 99, (unsigned)blocks * 33);
	for (i = 0; i < blocks; i++) {
		at = (unsigned)p->len;
		u8(p, 30);
		for (int j = 0; j < 30; j++)
			strbuf_putc(p, 'a');
		ptr(p, prev);
		prev = at;
	}
	ptr(p, prev);
	rr_fixed(p, DNS_T_A, 4);
	strbuf_append(p, "\1\2\3\4", 4);
}

/* A name made long through pointers: 7 blocks fit in 255 bytes, 9 do not. */
static void test_long_name_by_pointers(void **state)
{
	struct strbuf p = STRBUF_INIT;
	struct dns_msg msg;
	char *err;

	chained_labels(&p, 7);
	assert_int_equal(parse(&p, &msg, &err), 0);
	assert_int_equal(strlen(msg.answer[1].name), 7 * 31 + 1);
	dns_msg_free(&msg);
	strbuf_reset(&p);
	chained_labels(&p, 9);
	expect_fail(&p, "longer than 255");
	strbuf_free(&p);
}

static void test_bad_records(void **state)
{
	struct strbuf p = STRBUF_INIT;

	header(&p, 1, 0, 1, 0, 0);
	question(&p, "x", DNS_T_A);
	ptr(&p, 12);
	rr_fixed(&p, DNS_T_A, 5);
	strbuf_append(&p, "\1\2\3\4\5", 5);
	expect_fail(&p, "address record of 5 bytes");
	strbuf_reset(&p);
	header(&p, 1, 0, 1, 0, 0);
	question(&p, "x", DNS_T_MX);
	ptr(&p, 12);
	rr_fixed(&p, DNS_T_MX, 2 + 2 + 1);
	u16(&p, 5);
	ptr(&p, 12);
	u8(&p, 0);
	expect_fail(&p, "longer than its name");
	strbuf_reset(&p);
	header(&p, 1, 0, 1, 0, 0);
	question(&p, "x", DNS_T_TXT);
	ptr(&p, 12);
	rr_fixed(&p, DNS_T_TXT, 3);
	strbuf_append(&p, "\5ab", 3);
	expect_fail(&p, "TXT string");
	strbuf_reset(&p);
	/* the record's data runs past the packet */
	header(&p, 1, 0, 1, 0, 0);
	question(&p, "x", DNS_T_A);
	ptr(&p, 12);
	rr_fixed(&p, DNS_T_A, 4);
	strbuf_append(&p, "\1\2", 2);
	expect_fail(&p, "runs past");
	strbuf_reset(&p);
	/* counts no message of this size can hold */
	header(&p, 1, 0, 65535, 65535, 65535);
	question(&p, "x", DNS_T_A);
	expect_fail(&p, "record counts");
	strbuf_reset(&p);
	/* a query, not a response */
	u16(&p, 1);
	u16(&p, DNS_FLAG_RD);
	u16(&p, 1);
	u16(&p, 0);
	u16(&p, 0);
	u16(&p, 0);
	question(&p, "x", DNS_T_A);
	expect_fail(&p, "not a response");
	strbuf_reset(&p);
	/* two OPT records */
	header(&p, 1, 0, 0, 0, 2);
	question(&p, "x", DNS_T_A);
	u8(&p, 0);
	rr_fixed(&p, DNS_T_OPT, 0);
	u8(&p, 0);
	rr_fixed(&p, DNS_T_OPT, 0);
	expect_fail(&p, "OPT");
	strbuf_free(&p);
}

/* ---- CNAME chains inside one answer ---- */

static void cname_answer(struct strbuf *p, unsigned rcode, int loop, int with_data)
{
	header(p, 9, rcode, 2 + (with_data ? 1 : 0), 0, 0);
	question(p, "www.example", DNS_T_A);
	ptr(p, 12);
	rr_fixed(p, DNS_T_CNAME, 11);
	name(p, "b.example");
	name(p, "b.example");
	rr_fixed(p, DNS_T_CNAME, loop ? 13 : 11);
	name(p, loop ? "www.example" : "c.example");
	if (with_data) {
		name(p, "c.example");
		rr_fixed(p, DNS_T_A, 4);
		strbuf_append(p, "\x7f\0\0\x02", 4);
	}
}

static void test_cname_chains(void **state)
{
	struct strbuf p = STRBUF_INIT;
	struct dns_reply reply;
	struct dns_msg msg;
	char *err, *next;

	cname_answer(&p, 0, 0, 1);
	assert_int_equal(parse(&p, &msg, &err), 0);
	assert_int_equal(dns_reply_from_msg(&msg, "www.example", DNS_T_A, &reply, &next, &err),
			 DNS_OK);
	assert_null(next);
	assert_string_equal(reply.canonical, "c.example");
	assert_int_equal(reply.count, 1);
	assert_int_equal(reply.rr[0].addr[3], 2);
	dns_reply_free(&reply);
	/* asking for the CNAME itself does not follow it */
	assert_int_equal(dns_reply_from_msg(&msg, "www.example", DNS_T_CNAME, &reply, &next, &err),
			 DNS_OK);
	assert_string_equal(reply.rr[0].target, "b.example");
	dns_reply_free(&reply);
	dns_msg_free(&msg);
	strbuf_reset(&p);

	cname_answer(&p, 0, 0, 0); /* ends at c.example with nothing: ask again */
	assert_int_equal(parse(&p, &msg, &err), 0);
	assert_int_equal(dns_reply_from_msg(&msg, "www.example", DNS_T_A, &reply, &next, &err),
			 DNS_NODATA);
	assert_string_equal(next, "c.example");
	free(next);
	dns_reply_free(&reply);
	dns_msg_free(&msg);
	strbuf_reset(&p);

	cname_answer(&p, DNS_RCODE_NXDOMAIN, 0, 0); /* the target does not exist */
	assert_int_equal(parse(&p, &msg, &err), 0);
	assert_int_equal(dns_reply_from_msg(&msg, "www.example", DNS_T_A, &reply, &next, &err),
			 DNS_NXDOMAIN);
	assert_null(next);
	dns_reply_free(&reply);
	dns_msg_free(&msg);
	strbuf_reset(&p);

	cname_answer(&p, 0, 1, 0); /* www -> b -> www */
	assert_int_equal(parse(&p, &msg, &err), 0);
	err = NULL;
	assert_int_equal(dns_reply_from_msg(&msg, "www.example", DNS_T_A, &reply, &next, &err),
			 DNS_BADNAME);
	assert_non_null(strstr(err, "CNAME loop"));
	free(err);
	dns_reply_free(&reply);
	dns_msg_free(&msg);
	strbuf_free(&p);
}

/* ---- MX order ---- */

static void test_mx_sort(void **state)
{
	int seen_first[3] = {0, 0, 0};
	int round, i;

	for (round = 0; round < 300; round++) {
		struct dns_rr rr[5];
		static const uint16_t prefs[5] = {20, 10, 10, 5, 10};

		memset(rr, 0, sizeof(rr));
		for (i = 0; i < 5; i++) {
			rr[i].pref = prefs[i];
			rr[i].ttl = (uint32_t)i; /* identity */
		}
		dns_mx_sort(rr, 5);
		assert_int_equal(rr[0].pref, 5);
		assert_int_equal(rr[4].pref, 20);
		for (i = 1; i < 4; i++)
			assert_int_equal(rr[i].pref, 10);
		/* which of the three 10s came first: each must, sometimes */
		seen_first[rr[1].ttl == 1 ? 0 : rr[1].ttl == 2 ? 1 : 2]++;
	}
	for (i = 0; i < 3; i++)
		assert_true(seen_first[i] > 30);
}

/* ---- servers ---- */

static void test_server_parse(void **state)
{
	static const struct {
		const char *in, *out;
	} good[] = {
	    {"127.0.0.1", "[127.0.0.1]:53"},
	    {"127.0.0.1:5353", "[127.0.0.1]:5353"},
	    {"::1", "[::1]:53"},
	    {"[::1]", "[::1]:53"},
	    {"[::1]:5353", "[::1]:5353"},
	    {"2001:db8::53", "[2001:db8::53]:53"},
	};
	static const char *const bad[] = {"localhost", "127.0.0.1:0", "127.0.0.1:65536", "[::1",
					  "[::1]x",    "[127.0.0.1]", "1.2.3.4:x",	 "",
					  "[::1]:"};
	struct dns_server s;
	char *err;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(dns_server_parse(good[i].in, &s, &err), 0);
		assert_string_equal(s.text, good[i].out);
		dns_server_free(&s);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (dns_server_parse(bad[i], &s, &err) == 0)
			fail_msg("accepted %s", bad[i]);
		free(err);
	}
}

static void test_resolv_conf(void **state)
{
	char path[] = "/tmp/test_dns_resolv.XXXXXX";
	struct dns_server *servers;
	size_t n, i;
	char *err;
	int fd = mkstemp(path);
	static const char text[] = "# comment\nsearch example.org\nnameserver 192.0.2.53\n"
				   "nameserver bogus\nnameserver ::1\noptions ndots:1\n";

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	assert_int_equal(dns_resolv_conf_servers(path, &servers, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(servers[0].text, "[192.0.2.53]:53");
	assert_string_equal(servers[1].text, "[::1]:53");
	for (i = 0; i < n; i++)
		dns_server_free(&servers[i]);
	free(servers);
	unlink(path);
	assert_int_equal(dns_resolv_conf_servers(path, &servers, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(servers[0].text, "[127.0.0.1]:53");
	dns_server_free(&servers[0]);
	free(servers);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_to_wire),
	    cmocka_unit_test(test_query_build),
	    cmocka_unit_test(test_parse_mx),
	    cmocka_unit_test(test_parse_types),
	    cmocka_unit_test(test_truncations),
	    cmocka_unit_test(test_compression_loops),
	    cmocka_unit_test(test_long_name_by_pointers),
	    cmocka_unit_test(test_bad_records),
	    cmocka_unit_test(test_cname_chains),
	    cmocka_unit_test(test_mx_sort),
	    cmocka_unit_test(test_server_parse),
	    cmocka_unit_test(test_resolv_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
