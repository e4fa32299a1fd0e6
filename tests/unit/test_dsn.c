/*
 * test_dsn - composing delivery status notifications from a queue file and
 * status entries, then taking the result apart: the MIME structure of the
 * multipart/report, each RFC 3464 field per message and per recipient, the
 * returned message (whole or header), RFC 6533 types and address forms
 * for SMTPUTF8, 8-bit detection, folding of long fields, unsafe bytes in
 * diagnostics, and the small helpers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mail/cleanup_client.h"
#include "mail/dsn.h"
#include "tests/unit/dsn_testlib.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

static const char *const message[] = {
    "Received: from client.example (client.example [192.0.2.7])",
    "\tby mx.test (Tern) with ESMTP id X",
    "From: Alice <alice@example.org>",
    "To: Bob <bob@example.net>",
    "Subject: lunch",
    "Message-ID: <m1@example.org>",
    "",
    "Shall we meet at noon?",
    "-- ",
    "Alice",
    NULL,
};

static const struct tl_rcpt rcpts[] = {
    {"bob@example.net", "rfc822;Bob@Example.NET", 0},
    {"carol@example.net", NULL, CLEANUP_NOTIFY_FAILURE},
    {"dave@example.net", NULL, CLEANUP_NOTIFY_SUCCESS | CLEANUP_NOTIFY_DELAY},
};

static const struct tl_spec spec = {
    .sender = "alice@example.org",
    .envid = "ENV-42",
    .client_name = "client.example",
    .client_addr = "192.0.2.7",
    .helo = "client.example",
    .rcpts = rcpts,
    .nrcpts = 3,
    .lines = message,
    .message_id = "<m1@example.org> (first try)",
};

struct fixture {
	char *dir;
	char *id;
	struct dsn_original orig;
};

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	char *path, *err = NULL;

	fx->dir = tl_queue_dir();
	fx->id = tl_queue_file(fx->dir, "active", &spec);
	path = xasprintf("%s/active/%s", fx->dir, fx->id);
	if (dsn_original_open(path, false, &fx->orig, NULL, &err) < 0)
		fail_msg("open: %s", err);
	free(path);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	dsn_original_close(&fx->orig);
	tl_remove_dir(fx->dir);
	free(fx->id);
	free(fx);
	return 0;
}

static int to_strbuf(void *ctx, const void *data, size_t len, char **error_r)
{
	(void)error_r;
	strbuf_append(ctx, data, len);
	return 0;
}

/* A notice taken apart. */
struct parsed {
	char *text;
	struct tl_entity top;
	char *boundary;
	struct tl_entity *parts;
	size_t nparts;
	char **groups; /* of the delivery-status part */
	size_t ngroups;
};

static void compose(const struct dsn_notice *n, struct parsed *p)
{
	struct strbuf sb = STRBUF_INIT;
	char *err = NULL, *ctype;

	memset(p, 0, sizeof(*p));
	if (dsn_compose(n, to_strbuf, &sb, &err) < 0)
		fail_msg("compose: %s", err);
	tl_check_lines(sb.data, sb.len);
	p->text = strbuf_detach(&sb);
	tl_split(p->text, &p->top);
	ctype = tl_header(p->top.header, "Content-Type");
	assert_non_null(ctype);
	assert_true(strncmp(ctype, "multipart/report;", 17) == 0);
	p->boundary = tl_param(ctype, "boundary");
	assert_non_null(p->boundary);
	assert_true(strlen(p->boundary) <= 70);
	free(ctype);
	p->parts = tl_parts(p->top.body, p->boundary, &p->nparts);
	assert_int_equal(p->nparts, 3);
	p->groups = tl_groups(p->parts[1].body, &p->ngroups);
}

static void parsed_free(struct parsed *p)
{
	tl_groups_free(p->groups, p->ngroups);
	tl_parts_free(p->parts, p->nparts);
	tl_entity_free(&p->top);
	free(p->boundary);
	free(p->text);
}

/* field_is - the header (or field group) has exactly one field name, with value want. */
static void field_is(const char *header, const char *name, const char *want)
{
	char *v = tl_header(header, name);

	if (want == NULL) {
		if (v != NULL)
			fail_msg("%s: unexpected value \"%s\"", name, v);
		return;
	}
	if (v == NULL)
		fail_msg("%s: missing in\n%s", name, header);
	if (strcmp(v, want) != 0)
		fail_msg("%s: \"%s\", want \"%s\"", name, v, want);
	assert_int_equal(tl_header_count(header, name), 1);
	free(v);
}

static void date_is(const char *header, const char *name, time_t t)
{
	char date[64];

	dsn_date(date, sizeof(date), t);
	field_is(header, name, date);
}

static const struct status_entry failures[] = {
    {.address = "bob@example.net",
     .orcpt = "rfc822;Bob@Example.NET",
     .offset = -1,
     .status = 5,
     .dsn = "5.1.1",
     .text = "550 5.1.1 <bob@example.net>: Recipient address rejected: no such user",
     .relay = "mx.example.net[192.0.2.25]:25",
     .time = 1700000000},
    {.address = "carol@example.net",
     .orcpt = "",
     .notify = CLEANUP_NOTIFY_FAILURE,
     .offset = -1,
     .status = 5,
     .dsn = "5.4.6",
     .text = "alias loop",
     .relay = "none",
     .time = 1700000100},
};

static void test_failure_full(void **state)
{
	struct fixture *fx = *state;
	struct dsn_notice n = {
	    .kind = DSN_FAILURE,
	    .audience = DSN_TO_SENDER,
	    .orig = &fx->orig,
	    .entries = failures,
	    .count = 2,
	    .reporting_mta = "mx.test",
	    .to = "alice@example.org",
	    .full = true,
	    .now = 1700000200,
	};
	struct parsed p;
	struct strbuf want = STRBUF_INIT;
	char *v;

	compose(&n, &p);
	/* the message header */
	field_is(p.top.header, "From", "Mail Delivery System <MAILER-DAEMON@mx.test>");
	field_is(p.top.header, "To", "<alice@example.org>");
	field_is(p.top.header, "Subject", "Undelivered Mail Returned to Sender");
	field_is(p.top.header, "Auto-Submitted", "auto-replied");
	field_is(p.top.header, "In-Reply-To", "<m1@example.org>");
	field_is(p.top.header, "References", "<m1@example.org>");
	field_is(p.top.header, "MIME-Version", "1.0");
	field_is(p.top.header, "Content-Transfer-Encoding", "7bit");
	v = tl_header(p.top.header, "Content-Type");
	assert_non_null(strstr(v, "report-type=delivery-status"));
	free(v);

	/* part 1: for people */
	field_is(p.parts[0].header, "Content-Type", "text/plain; charset=us-ascii");
	assert_non_null(strstr(p.parts[0].body, "This is the mail system at host mx.test."));
	assert_non_null(strstr(p.parts[0].body, "could not be delivered"));
	assert_non_null(strstr(p.parts[0].body, "<bob@example.net>: host mx.example.net said: "
						"550 5.1.1"));
	assert_non_null(strstr(p.parts[0].body, "<carol@example.net>: alias loop"));

	/* part 2: the delivery report */
	field_is(p.parts[1].header, "Content-Type", "message/delivery-status");
	assert_int_equal(p.ngroups, 3);
	field_is(p.groups[0], "Reporting-MTA", "dns; mx.test");
	field_is(p.groups[0], "X-Tern-Queue-ID", fx->id);
	field_is(p.groups[0], "X-Tern-Sender", "rfc822; alice@example.org");
	field_is(p.groups[0], "Original-Envelope-Id", "ENV-42");
	field_is(p.groups[0], "Received-From-MTA", "dns; client.example ([192.0.2.7])");
	date_is(p.groups[0], "Arrival-Date", fx->orig.arrival);

	field_is(p.groups[1], "Original-Recipient", "rfc822;Bob@Example.NET");
	field_is(p.groups[1], "Final-Recipient", "rfc822; bob@example.net");
	field_is(p.groups[1], "Action", "failed");
	field_is(p.groups[1], "Status", "5.1.1");
	field_is(p.groups[1], "Remote-MTA", "dns; mx.example.net");
	field_is(p.groups[1], "Diagnostic-Code",
		 "smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: no such user");
	date_is(p.groups[1], "Last-Attempt-Date", 1700000000);
	field_is(p.groups[1], "Will-Retry-Until", NULL);

	field_is(p.groups[2], "Original-Recipient", NULL);
	field_is(p.groups[2], "Final-Recipient", "rfc822; carol@example.net");
	field_is(p.groups[2], "Action", "failed");
	field_is(p.groups[2], "Status", "5.4.6");
	field_is(p.groups[2], "Remote-MTA", NULL);
	field_is(p.groups[2], "Diagnostic-Code", "X-Tern; alias loop");

	/* part 3: the whole message, as it is in the queue */
	field_is(p.parts[2].header, "Content-Type", "message/rfc822");
	field_is(p.parts[2].header, "Content-Description", "Undelivered Message");
	for (size_t i = 0; message[i] != NULL; i++)
		strbuf_printf(&want, "%s\r\n", message[i]);
	assert_string_equal(p.parts[2].body, want.data);
	strbuf_free(&want);
	parsed_free(&p);
}

static void test_failure_headers(void **state)
{
	struct fixture *fx = *state;
	struct dsn_notice n = {
	    .kind = DSN_FAILURE,
	    .audience = DSN_TO_SENDER,
	    .orig = &fx->orig,
	    .entries = failures,
	    .count = 1,
	    .reporting_mta = "mx.test",
	    .to = "alice@example.org",
	    .now = 1700000200,
	    .boundary = "b1",
	};
	struct strbuf want = STRBUF_INIT;
	struct parsed p;

	compose(&n, &p);
	assert_string_equal(p.boundary, "b1");
	assert_int_equal(p.ngroups, 2);
	field_is(p.parts[2].header, "Content-Type", "text/rfc822-headers");
	field_is(p.parts[2].header, "Content-Description", "Undelivered Message Headers");
	for (size_t i = 0; message[i][0] != '\0'; i++)
		strbuf_printf(&want, "%s\r\n", message[i]);
	assert_string_equal(p.parts[2].body, want.data);
	strbuf_free(&want);
	parsed_free(&p);
}

static void test_postmaster_wording(void **state)
{
	struct fixture *fx = *state;
	struct dsn_notice n = {
	    .kind = DSN_FAILURE,
	    .audience = DSN_TO_POSTMASTER,
	    .orig = &fx->orig,
	    .entries = failures,
	    .count = 1,
	    .reporting_mta = "mx.test",
	    .to = "postmaster",
	    .now = 1,
	};
	struct parsed p;

	compose(&n, &p);
	field_is(p.top.header, "To", "<postmaster@mx.test>");
	field_is(p.top.header, "Subject", "Undelivered Mail Returned to Postmaster");
	assert_non_null(strstr(p.parts[0].body, "null sender"));
	parsed_free(&p);
	n.audience = DSN_COPY;
	compose(&n, &p);
	field_is(p.top.header, "Subject", "Postmaster Copy: Undelivered Mail");
	assert_non_null(strstr(p.parts[0].body, "<alice@example.org>"));
	parsed_free(&p);
}

static void test_expired(void **state)
{
	struct fixture *fx = *state;
	struct status_entry e = {
	    .address = "dave@example.net",
	    .orcpt = "",
	    .offset = -1,
	    .status = 5,
	    .dsn = "4.4.7",
	    .text = "connect to mx.example.net[192.0.2.25]:25: Connection refused",
	    .relay = "none",
	    .time = 1700000000,
	};
	struct dsn_notice n = {
	    .kind = DSN_FAILURE,
	    .audience = DSN_TO_SENDER,
	    .orig = &fx->orig,
	    .entries = &e,
	    .count = 1,
	    .reporting_mta = "mx.test",
	    .to = "alice@example.org",
	    .now = 1,
	    .expired_after = 5 * 86400,
	};
	struct parsed p;

	compose(&n, &p);
	assert_non_null(strstr(p.parts[0].body, "within 5 days"));
	field_is(p.groups[1], "Action", "failed");
	field_is(p.groups[1], "Status", "4.4.7");
	field_is(p.groups[1], "Diagnostic-Code",
		 "X-Tern; connect to mx.example.net[192.0.2.25]:25: Connection refused");
	parsed_free(&p);
}

static void test_delay(void **state)
{
	struct fixture *fx = *state;
	struct status_entry e = {
	    .address = "dave@example.net",
	    .orcpt = "",
	    .offset = -1,
	    .status = 4,
	    .dsn = "4.2.2",
	    .text = "452 4.2.2 mailbox full",
	    .relay = "unknown[192.0.2.25]:25",
	    .time = 1700000000,
	};
	struct dsn_notice n = {
	    .kind = DSN_DELAY,
	    .audience = DSN_TO_SENDER,
	    .orig = &fx->orig,
	    .entries = &e,
	    .count = 1,
	    .reporting_mta = "mx.test",
	    .to = "alice@example.org",
	    .now = 1700000300,
	    .retry_until = 1700400000,
	};
	struct parsed p;

	compose(&n, &p);
	field_is(p.top.header, "Subject", "Delayed Mail (still being retried)");
	assert_non_null(strstr(p.parts[0].body, "warning only"));
	field_is(p.groups[1], "Action", "delayed");
	field_is(p.groups[1], "Status", "4.2.2");
	field_is(p.groups[1], "Remote-MTA", "dns; [192.0.2.25]");
	field_is(p.groups[1], "Diagnostic-Code", "smtp; 452 4.2.2 mailbox full");
	date_is(p.groups[1], "Will-Retry-Until", 1700400000);
	field_is(p.parts[2].header, "Content-Type", "text/rfc822-headers");
	field_is(p.parts[2].header, "Content-Description", "Delayed Message Headers");
	parsed_free(&p);
}

static void test_success(void **state)
{
	struct fixture *fx = *state;
	struct status_entry e[2] = {
	    {.address = "dave@example.net",
	     .orcpt = "",
	     .notify = CLEANUP_NOTIFY_SUCCESS,
	     .offset = -1,
	     .status = 2,
	     .dsn = "2.0.0",
	     .text = "250 2.0.0 Ok: queued as 4Xyz",
	     .relay = "mx.example.net[192.0.2.25]:25",
	     .time = 1700000000,
	     .action = "relayed"},
	    {.address = "erin@example.net",
	     .orcpt = "rfc822;erin@example.net",
	     .notify = CLEANUP_NOTIFY_SUCCESS,
	     .offset = -1,
	     .status = 2,
	     .dsn = "2.1.5",
	     .text = "250 2.1.5 Ok",
	     .relay = "store.test[/run/lmtp]",
	     .time = 1700000000},
	};
	struct dsn_notice n = {
	    .kind = DSN_SUCCESS,
	    .audience = DSN_TO_SENDER,
	    .orig = &fx->orig,
	    .entries = e,
	    .count = 2,
	    .reporting_mta = "mx.test",
	    .to = "alice@example.org",
	    .now = 1,
	};
	struct parsed p;

	compose(&n, &p);
	field_is(p.top.header, "Subject", "Successful Mail Delivery Report");
	assert_non_null(strstr(p.parts[0].body, "<dave@example.net>: relayed via host "
						"mx.example.net: 250"));
	/* an ORCPT equal to the address (ignoring case) is not an expansion */
	assert_null(strstr(p.parts[0].body, "expanded from"));
	field_is(p.groups[1], "Action", "relayed");
	field_is(p.groups[1], "Status", "2.0.0");
	field_is(p.groups[2], "Action", "delivered");
	field_is(p.groups[2], "Remote-MTA", "dns; store.test");
	field_is(p.parts[2].header, "Content-Type", "text/rfc822-headers");
	field_is(p.parts[2].header, "Content-Description", "Message Headers");
	parsed_free(&p);
}

/* A message sent with SMTPUTF8: the types of RFC 6533 and UTF-8 addresses. */
static void test_smtputf8(void **state)
{
	static const struct tl_rcpt r[] = {{"j\xc3\xb6rg@b\xc3\xbc"
					    "cher.example",
					    NULL, 0}};
	static const char *const lines[] = {"Subject: gr\xc3\xbc\xc3\x9f"
					    "e",
					    "", "body", NULL};
	const struct tl_spec s = {.sender = "\xc3\xa4@example.org",
				  .flags = CLEANUP_FLAG_SMTPUTF8,
				  .rcpts = r,
				  .nrcpts = 1,
				  .lines = lines};
	struct fixture *fx = *state;
	char *id = tl_queue_file(fx->dir, "active", &s), *path, *err = NULL;
	struct dsn_original o;
	struct status_entry e = {.address = r[0].address,
				 .orcpt = "utf-8;j\xc3\xb6rg@b\xc3\xbc"
					  "cher.example",
				 .offset = -1,
				 .status = 5,
				 .dsn = "5.1.1",
				 .text = "550 5.1.1 unknown user j\xc3\xb6rg",
				 .relay = "mx.example[192.0.2.1]:25"};
	struct dsn_notice n = {.kind = DSN_FAILURE,
			       .orig = &o,
			       .entries = &e,
			       .count = 1,
			       .reporting_mta = "mx.test",
			       .to = s.sender,
			       .full = true,
			       .now = 1};
	struct parsed p;

	path = xasprintf("%s/active/%s", fx->dir, id);
	assert_int_equal(dsn_original_open(path, false, &o, NULL, &err), 0);
	assert_true(dsn_needs_8bit(&n));
	compose(&n, &p);
	field_is(p.top.header, "To", "<\xc3\xa4@example.org>");
	field_is(p.top.header, "Content-Transfer-Encoding", "8bit");
	field_is(p.parts[0].header, "Content-Type", "text/plain; charset=utf-8");
	field_is(p.parts[1].header, "Content-Type", "message/global-delivery-status");
	field_is(p.parts[2].header, "Content-Type", "message/global");
	field_is(p.groups[1], "Final-Recipient",
		 "utf-8; j\xc3\xb6rg@b\xc3\xbc"
		 "cher.example");
	field_is(p.groups[1], "Original-Recipient", e.orcpt);
	field_is(p.groups[1], "Diagnostic-Code", "smtp; 550 5.1.1 unknown user j\xc3\xb6rg");
	parsed_free(&p);
	n.full = false;
	compose(&n, &p);
	field_is(p.parts[2].header, "Content-Type", "message/global-headers");
	parsed_free(&p);
	dsn_original_close(&o);
	free(path);
	free(id);
}

/* Without SMTPUTF8 the report stays ASCII: utf-8-addr-xtext, '?' for other bytes. */
static void test_ascii_only(void **state)
{
	struct fixture *fx = *state;
	struct status_entry e = {.address = "j\xc3\xb6rg+x=y@example.net",
				 .orcpt = "",
				 .offset = -1,
				 .status = 5,
				 .dsn = "5.1.1",
				 .text = "550 n\xc3\xa4y \xff\x01 x\r\n\tnext",
				 .relay = "none"};
	struct dsn_notice n = {.kind = DSN_FAILURE,
			       .orig = &fx->orig,
			       .entries = &e,
			       .count = 1,
			       .reporting_mta = "mx.test",
			       .to = "alice@example.org",
			       .now = 1};
	struct parsed p;

	compose(&n, &p);
	for (const char *c = p.text; *c; c++)
		assert_true((unsigned char)*c < 0x80);
	field_is(p.top.header, "Content-Transfer-Encoding", "7bit");
	field_is(p.groups[1], "Final-Recipient", "utf-8; j\\x{F6}rg\\x{2B}x\\x{3D}y@example.net");
	field_is(p.groups[1], "Diagnostic-Code", "smtp; 550 n?y ? x next");
	parsed_free(&p);
}

/* 8-bit bytes in the part returned make the notice 8bit; in the body only, not for headers. */
static void test_8bit_detection(void **state)
{
	static const char *const lines[] = {"Subject: x", "", "caf\xc3\xa9", NULL};
	static const struct tl_rcpt r[] = {{"bob@example.net", NULL, 0}};
	const struct tl_spec s = {.sender = "a@b", .rcpts = r, .nrcpts = 1, .lines = lines};
	struct fixture *fx = *state;
	char *id = tl_queue_file(fx->dir, "active", &s), *path, *err = NULL;
	struct dsn_original o;
	struct dsn_notice n = {.kind = DSN_FAILURE,
			       .orig = &o,
			       .entries = failures,
			       .count = 1,
			       .reporting_mta = "mx.test",
			       .to = "a@b",
			       .full = true,
			       .now = 1};
	struct parsed p;

	path = xasprintf("%s/active/%s", fx->dir, id);
	assert_int_equal(dsn_original_open(path, false, &o, NULL, &err), 0);
	assert_true(dsn_needs_8bit(&n));
	compose(&n, &p);
	field_is(p.top.header, "Content-Transfer-Encoding", "8bit");
	field_is(p.parts[2].header, "Content-Transfer-Encoding", "8bit");
	assert_string_equal(p.parts[2].body, "Subject: x\r\n\r\ncaf\xc3\xa9\r\n");
	parsed_free(&p);
	n.full = false;
	assert_false(dsn_needs_8bit(&n));
	/* a message announced 8BITMIME counts as 8-bit whatever it holds */
	fx->orig.flags = CLEANUP_FLAG_8BITMIME;
	n.orig = &fx->orig;
	assert_true(dsn_needs_8bit(&n));
	fx->orig.flags = 0;
	dsn_original_close(&o);
	free(path);
	free(id);
}

/* Long fields fold at spaces and unfold to what they were; nothing passes 998 bytes. */
static void test_folding(void **state)
{
	struct fixture *fx = *state;
	struct strbuf text = STRBUF_INIT, want = STRBUF_INIT;
	char *huge = xmalloc(3001);
	struct status_entry e = {.address = "bob@example.net",
				 .orcpt = "",
				 .offset = -1,
				 .status = 5,
				 .dsn = "5.0.0",
				 .relay = "none"};
	struct dsn_notice n = {.kind = DSN_FAILURE,
			       .orig = &fx->orig,
			       .entries = &e,
			       .count = 1,
			       .reporting_mta = "mx.test",
			       .to = "alice@example.org",
			       .now = 1};
	struct parsed p;
	char *v;

	strbuf_puts(&text, "550");
	for (int i = 0; i < 300; i++)
		strbuf_printf(&text, " word%d", i);
	e.text = text.data;
	compose(&n, &p); /* compose() checks every line's length */
	strbuf_printf(&want, "smtp; %s", text.data);
	v = tl_header(p.groups[1], "Diagnostic-Code");
	/* unfolding leaves the folding white space: compare with it squeezed */
	for (char *s = v, *d = v;; s++) {
		if (*s == '\t')
			*s = ' ';
		if (!(*s == ' ' && d > v && d[-1] == ' '))
			*d++ = *s;
		if (*s == '\0')
			break;
	}
	assert_string_equal(v, want.data);
	free(v);
	for (const char *line = p.parts[1].body; *line;) {
		const char *eol = strstr(line, "\r\n");

		assert_true(eol - line <= 78);
		line = eol + 2;
	}
	parsed_free(&p);

	memset(huge, 'x', 3000); /* one word longer than a line may be */
	huge[3000] = '\0';
	e.text = huge;
	compose(&n, &p);
	parsed_free(&p);
	free(huge);
	strbuf_free(&text);
	strbuf_free(&want);
}

/* A content line longer than a queue record comes back whole. */
static void test_long_line(void **state)
{
	struct fixture *fx = *state;
	char *longline = xmalloc(10001), *id, *path, *err = NULL, *want;
	const char *lines[] = {"Subject: long", "", longline, "end", NULL};
	static const struct tl_rcpt r[] = {{"bob@example.net", NULL, 0}};
	struct tl_spec s = {.sender = "a@b", .rcpts = r, .nrcpts = 1, .lines = lines};
	struct dsn_original o;
	struct dsn_notice n = {.kind = DSN_FAILURE,
			       .orig = &o,
			       .entries = failures,
			       .count = 1,
			       .reporting_mta = "mx.test",
			       .to = "a@b",
			       .full = true,
			       .now = 1};
	struct strbuf sb = STRBUF_INIT;

	for (int i = 0; i < 10000; i++)
		longline[i] = (char)('a' + i % 26);
	longline[10000] = '\0';
	id = tl_queue_file(fx->dir, "active", &s);
	path = xasprintf("%s/active/%s", fx->dir, id);
	assert_int_equal(dsn_original_open(path, false, &o, NULL, &err), 0);
	assert_int_equal(dsn_compose(&n, to_strbuf, &sb, &err), 0);
	want = xasprintf("\r\n\r\nSubject: long\r\n\r\n%s\r\nend\r\n\r\n--", longline);
	assert_non_null(strstr(sb.data, want));
	free(want);
	strbuf_free(&sb);
	dsn_original_close(&o);
	free(path);
	free(id);
	free(longline);
}

/* The original as read: envelope, recipients with offsets, the Message-ID. */
static void test_original(void **state)
{
	struct fixture *fx = *state;
	const struct dsn_original *o = &fx->orig;
	struct dsn_original missing;
	char *err = NULL, *path;
	int err_no = 0;

	assert_string_equal(o->queue_id, fx->id);
	assert_string_equal(o->sender, "alice@example.org");
	assert_string_equal(o->envid, "ENV-42");
	assert_int_equal(o->ret, CLEANUP_RET_NONE);
	assert_string_equal(o->message_id, "<m1@example.org> (first try)");
	assert_string_equal(o->client_addr, "192.0.2.7");
	assert_int_equal(o->nrcpts, 3);
	assert_string_equal(o->rcpts[0].address, "bob@example.net");
	assert_string_equal(o->rcpts[0].orcpt, "rfc822;Bob@Example.NET");
	assert_string_equal(o->rcpts[1].orcpt, "");
	assert_int_equal(o->rcpts[1].notify, CLEANUP_NOTIFY_FAILURE);
	assert_true(o->rcpts[0].offset > 0 && o->rcpts[1].offset > o->rcpts[0].offset);
	assert_false(o->rcpts[2].done);
	assert_true(o->size > 0);
	assert_true(o->arrival > 1600000000);

	path = xasprintf("%s/active/NOSUCHFILE", fx->dir);
	assert_int_equal(dsn_original_open(path, false, &missing, &err_no, &err), -1);
	assert_int_equal(err_no, ENOENT);
	free(err);
	free(path);
}

static void test_helpers(void **state)
{
	char date[64], *h;

	(void)state;
	h = dsn_relay_host("mx.example.net[192.0.2.1]:25");
	assert_string_equal(h, "mx.example.net");
	free(h);
	h = dsn_relay_host("unknown[2001:db8::1]:25");
	assert_string_equal(h, "[2001:db8::1]");
	free(h);
	h = dsn_relay_host("[192.0.2.1]:25");
	assert_string_equal(h, "[192.0.2.1]");
	free(h);
	h = dsn_relay_host("lmtp.example:24");
	assert_string_equal(h, "lmtp.example");
	free(h);
	assert_null(dsn_relay_host("none"));
	assert_null(dsn_relay_host(""));
	assert_true(dsn_is_smtp_reply("550 5.1.1 x"));
	assert_true(dsn_is_smtp_reply("451-first"));
	assert_true(dsn_is_smtp_reply("250"));
	assert_false(dsn_is_smtp_reply("650 x"));
	assert_false(dsn_is_smtp_reply("55 x"));
	assert_false(dsn_is_smtp_reply("5500 x"));
	assert_false(dsn_is_smtp_reply("connect to x"));
	setenv("TZ", "UTC", 1);
	tzset();
	dsn_date(date, sizeof(date), 1700000000);
	assert_string_equal(date, "Tue, 14 Nov 2023 22:13:20 +0000");
	setenv("TZ", "CET-1", 1);
	tzset();
	dsn_date(date, sizeof(date), 1700000000);
	assert_string_equal(date, "Tue, 14 Nov 2023 23:13:20 +0100");
	unsetenv("TZ");
	tzset();
}

/* A writer that fails stops the composition with its error. */
static int failing(void *ctx, const void *data, size_t len, char **error_r)
{
	(void)ctx;
	(void)data;
	(void)len;
	*error_r = xstrdup("disk on fire");
	return -1;
}

static void test_write_error(void **state)
{
	struct fixture *fx = *state;
	struct dsn_notice n = {.kind = DSN_FAILURE,
			       .orig = &fx->orig,
			       .entries = failures,
			       .count = 1,
			       .reporting_mta = "mx.test",
			       .to = "a@b",
			       .now = 1};
	char *err = NULL;

	assert_int_equal(dsn_compose(&n, failing, NULL, &err), -1);
	assert_string_equal(err, "disk on fire");
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_failure_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failure_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_postmaster_wording, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_success, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_smtputf8, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ascii_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_8bit_detection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_folding, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_original, setup, teardown),
	    cmocka_unit_test(test_helpers),
	    cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
