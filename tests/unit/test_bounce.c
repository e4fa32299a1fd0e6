/*
 * test_bounce - which notices the status logs lead to, to whom and from
 * whom, and what happens to the logs and the queue file: bounce_flush,
 * bounce_expire and bounce_delay_warning against a stand-in for the
 * cleanup service (a child process speaking the cleanup protocol that
 * stores each message it gets), including a cleanup that is down or
 * refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mail/bounce.h"
#include "mail/cleanup_client.h"
#include "mail/dsn.h"
#include "mail/mail_conf.h"
#include "mail/queue_file.h"
#include "mail/status_log.h"
#include "tests/unit/dsn_testlib.h"
#include "util/attr.h"
#include "util/mymalloc.h"
#include "util/sock.h"
#include "util/stream.h"
#include "util/strbuf.h"

struct fixture {
	char *dir;
	pid_t server;
	struct mail_conf *conf;
};

/* ---- the stand-in cleanup service ---- */

/* store - write what one message brought to dir/out/N.env and N.msg. */
static void store(const char *dir, int n, const char *env, const struct strbuf *data)
{
	char *p = xasprintf("%s/out/%d.msg", dir, n), *q = xasprintf("%s/out/%d.env", dir, n);
	FILE *f = fopen(p, "w");

	if (f == NULL || fwrite(data->data != NULL ? data->data : "", 1, data->len, f) != data->len)
		_exit(4);
	fclose(f);
	if ((f = fopen(q, "w")) == NULL)
		_exit(4);
	fputs(env, f);
	fclose(f);
	free(p);
	free(q);
}

/* serve - one connection, one message: store it, answer 0 (or 552 when refusing). */
static void serve(struct stream *s, const char *dir, int n, bool refuse)
{
	struct strbuf req = STRBUF_INIT, sender = STRBUF_INIT, any = STRBUF_INIT,
		      rcpt = STRBUF_INIT, data = STRBUF_INIT, all = STRBUF_INIT, env = STRBUF_INIT;
	long long flags = 0, ret = 0, size = 0, notify = 0;
	char *err = NULL, id[32];

	if (attr_read(s, &err, ATTR_RECV_STR("request", &req), ATTR_RECV_STR("sender", &sender),
		      ATTR_RECV_INT("flags", &flags), ATTR_RECV_INT("ret", &ret),
		      ATTR_RECV_INT("size_hint", &size), ATTR_RECV_STR("envid", &any),
		      ATTR_RECV_STR("client_name", &any), ATTR_RECV_STR("client_addr", &any),
		      ATTR_RECV_STR("client_port", &any), ATTR_RECV_STR("helo", &any),
		      ATTR_RECV_STR("protocol", &any), ATTR_RECV_STR("tls_info", &any),
		      ATTR_RECV_STR("tls_cipher", &any), ATTR_RECV_STR("sasl_method", &any),
		      ATTR_RECV_STR("sasl_username", &any), ATTR_RECV_STR("local_user", &any),
		      ATTR_RECV_STR("full_name", &any), ATTR_END) < 0)
		_exit(3);
	strbuf_printf(&env, "sender=%s\nflags=%lld\n", sender.data != NULL ? sender.data : "",
		      flags);
	for (;;) {
		if (attr_read(s, &err, ATTR_RECV_STR("request", &req),
			      ATTR_OPTIONAL(ATTR_RECV_STR("rcpt", &rcpt)),
			      ATTR_OPTIONAL(ATTR_RECV_STR("orcpt", &any)),
			      ATTR_OPTIONAL(ATTR_RECV_INT("notify", &notify)),
			      ATTR_OPTIONAL(ATTR_RECV_DATA("data", &data)), ATTR_END) < 0)
			_exit(3);
		if (strcmp(req.data, "rcpt") == 0)
			strbuf_printf(&env, "rcpt=%s\n", rcpt.data);
		else if (strcmp(req.data, "data") == 0)
			strbuf_append(&all, data.data, data.len);
		else
			break;
	}
	if (strcmp(req.data, "end") == 0) {
		if (!refuse)
			store(dir, n, env.data, &all);
		snprintf(id, sizeof(id), "NOTICE%d", n);
		attr_write(s, &err, ATTR_SEND_INT("status", refuse ? 552 : 0),
			   ATTR_SEND_STR("dsn", refuse ? "5.3.4" : "2.0.0"),
			   ATTR_SEND_STR("text", refuse ? "too big" : "queued"),
			   ATTR_SEND_STR("queue_id", refuse ? "" : id), ATTR_END);
	}
	strbuf_free(&req);
	strbuf_free(&sender);
	strbuf_free(&any);
	strbuf_free(&rcpt);
	strbuf_free(&data);
	strbuf_free(&all);
	strbuf_free(&env);
}

static void server(int lfd, const char *dir, bool refuse)
{
	for (int n = 1;; n++) {
		struct pollfd pfd = {lfd, POLLIN, 0};
		struct stream *s;
		char *err = NULL;
		int fd;

		if (poll(&pfd, 1, 30000) != 1 || (fd = sock_accept(lfd)) < 0)
			_exit(2);
		s = stream_create(fd);
		stream_set_timeout(s, 10000);
		if (attr_announce_protocol(s, CLEANUP_PROTOCOL, CLEANUP_PROTOCOL_VERSION, &err) < 0)
			_exit(3);
		serve(s, dir, n, refuse);
		stream_destroy(&s);
	}
}

static void start_server(struct fixture *fx, bool refuse)
{
	char *path = xasprintf("%s/private/cleanup", fx->dir), *err = NULL;
	int lfd = sock_unix_listen(path, 5, 0600, &err);

	assert_true(lfd >= 0);
	fx->server = fork();
	assert_true(fx->server >= 0);
	if (fx->server == 0)
		server(lfd, fx->dir, refuse);
	close(lfd);
	free(path);
}

static void load_conf(struct fixture *fx, const char *extra)
{
	char *text = xasprintf("queue_directory = %s\nmyhostname = mx.test\n"
			       "myorigin = test.example\nipc_timeout = 10s\n%s",
			       fx->dir, extra);
	char *err = NULL;

	mail_conf_free(&fx->conf);
	fx->conf = mail_conf_parse("/nonexistent", "main.cf", text, strlen(text), &err);
	if (fx->conf == NULL)
		fail_msg("conf: %s", err);
	free(text);
}

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	char *out;

	fx->dir = tl_queue_dir();
	out = xasprintf("%s/out", fx->dir);
	assert_int_equal(mkdir(out, 0700), 0);
	free(out);
	load_conf(fx, "");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	int status;

	if (fx->server > 0) {
		kill(fx->server, SIGKILL);
		waitpid(fx->server, &status, 0);
	}
	mail_conf_free(&fx->conf);
	tl_remove_dir(fx->dir);
	free(fx);
	return 0;
}

/* ---- what came out ---- */

/* sent - how many notices the stand-in stored. */
static int sent(const struct fixture *fx)
{
	int n = 0;

	for (;; n++) {
		char *p = xasprintf("%s/out/%d.env", fx->dir, n + 1);
		struct stat st;
		int r = stat(p, &st);

		free(p);
		if (r < 0)
			return n;
	}
}

/* A stored notice taken apart. */
struct notice {
	char *env;
	char *text;
	struct tl_entity top;
	struct tl_entity *parts;
	size_t nparts;
	char **groups;
	size_t ngroups;
};

static void notice_read(const struct fixture *fx, int n, struct notice *m)
{
	char *p = xasprintf("%s/out/%d.env", fx->dir, n), *ctype, *boundary;
	size_t len;

	m->env = tl_file(p, NULL);
	free(p);
	p = xasprintf("%s/out/%d.msg", fx->dir, n);
	m->text = tl_file(p, &len);
	free(p);
	tl_check_lines(m->text, len);
	tl_split(m->text, &m->top);
	ctype = tl_header(m->top.header, "Content-Type");
	boundary = tl_param(ctype, "boundary");
	m->parts = tl_parts(m->top.body, boundary, &m->nparts);
	assert_int_equal(m->nparts, 3);
	m->groups = tl_groups(m->parts[1].body, &m->ngroups);
	free(ctype);
	free(boundary);
}

static void notice_free(struct notice *m)
{
	tl_groups_free(m->groups, m->ngroups);
	tl_parts_free(m->parts, m->nparts);
	tl_entity_free(&m->top);
	free(m->env);
	free(m->text);
}

/* has - the header or group has field name with value want. */
static void has(const char *header, const char *name, const char *want)
{
	char *v = tl_header(header, name);

	if (v == NULL || strcmp(v, want) != 0)
		fail_msg("%s: \"%s\", want \"%s\"", name, v != NULL ? v : "(none)", want);
	free(v);
}

static bool log_exists(const struct fixture *fx, enum status_log_kind kind, const char *id)
{
	char *p = xasprintf("%s/%s/%s", fx->dir, status_log_dir(kind), id);
	struct stat st;
	bool r = stat(p, &st) == 0;

	free(p);
	return r;
}

/* ---- the messages ---- */

static const char *const lines[] = {"From: <alice@example.org>",
				    "Subject: s",
				    "Message-ID: <orig@example.org>",
				    "",
				    "body line",
				    NULL};

static const struct tl_rcpt rcpts[] = {
    {"bob@example.net", "rfc822;bob@example.net", 0},
    {"carol@example.net", NULL, CLEANUP_NOTIFY_NEVER},
    {"dave@example.net", NULL, CLEANUP_NOTIFY_SUCCESS | CLEANUP_NOTIFY_FAILURE},
    {"erin@example.net", NULL, CLEANUP_NOTIFY_FAILURE},
};

static char *message(struct fixture *fx, const char *sender, const char *ret)
{
	struct tl_spec s = {.sender = sender,
			    .ret = ret,
			    .envid = "E1",
			    .rcpts = rcpts,
			    .nrcpts = 4,
			    .lines = lines,
			    .message_id = "<orig@example.org>"};

	return tl_queue_file(fx->dir, "active", &s);
}

/* offset_of - the offset of the nth recipient record of the message. */
static long long offset_of(struct fixture *fx, const char *id, size_t nth)
{
	char *path = xasprintf("%s/active/%s", fx->dir, id), *err = NULL;
	struct dsn_original o;
	long long off;

	assert_int_equal(dsn_original_open(path, false, &o, NULL, &err), 0);
	off = o.rcpts[nth].offset;
	dsn_original_close(&o);
	free(path);
	return off;
}

static void log_entry(struct fixture *fx, enum status_log_kind kind, const char *id, size_t nth,
		      int status, const char *dsn, const char *text)
{
	struct status_entry e = {
	    .address = rcpts[nth].address,
	    .orcpt = rcpts[nth].orcpt,
	    .notify = rcpts[nth].notify,
	    .offset = offset_of(fx, id, nth),
	    .status = status,
	    .dsn = dsn,
	    .text = text,
	    .relay = "mx.example.net[192.0.2.25]:25",
	};
	char *err = NULL;

	if (status_log_append(fx->dir, kind, id, &e, &err) < 0)
		fail_msg("append: %s", err);
}

static char *active(const char *id)
{
	return xasprintf("active/%s", id);
}

static void flush_ok(struct fixture *fx, const char *id)
{
	char *path = active(id), *err = NULL;

	if (bounce_flush(fx->conf, id, path, &err) < 0)
		fail_msg("bounce_flush: %s", err);
	free(path);
}

/* ---- the tests ---- */

static void test_flush_to_sender(void **state)
{
	struct fixture *fx = *state;
	char *id = message(fx, "alice@example.org", NULL);
	struct notice m;

	start_server(fx, false);
	log_entry(fx, STATUS_LOG_BOUNCE, id, 0, 5, "5.1.1", "550 5.1.1 no such user");
	log_entry(fx, STATUS_LOG_BOUNCE, id, 1, 5, "5.1.1", "550 5.1.1 NOTIFY=NEVER");
	log_entry(fx, STATUS_LOG_BOUNCE, id, 3, 5, "5.2.2", "552 first try");
	log_entry(fx, STATUS_LOG_BOUNCE, id, 3, 5, "5.2.1", "550 5.2.1 disabled");
	log_entry(fx, STATUS_LOG_TRACE, id, 2, 2, "2.0.0", "250 2.0.0 ok");
	log_entry(fx, STATUS_LOG_TRACE, id, 0, 2, "2.0.0", "250 not asked for");
	log_entry(fx, STATUS_LOG_DEFER, id, 2, 4, "4.4.1", "connect failed");
	flush_ok(fx, id);
	assert_int_equal(sent(fx), 2);

	notice_read(fx, 1, &m);
	assert_string_equal(m.env, "sender=\nflags=0\nrcpt=alice@example.org\n");
	has(m.top.header, "Subject", "Undelivered Mail Returned to Sender");
	has(m.top.header, "In-Reply-To", "<orig@example.org>");
	assert_int_equal(m.ngroups, 3); /* bob and erin (once, the last entry); not carol */
	has(m.groups[0], "Original-Envelope-Id", "E1");
	has(m.groups[1], "Final-Recipient", "rfc822; bob@example.net");
	has(m.groups[1], "Original-Recipient", "rfc822;bob@example.net");
	has(m.groups[2], "Final-Recipient", "rfc822; erin@example.net");
	has(m.groups[2], "Status", "5.2.1");
	has(m.parts[2].header, "Content-Type", "message/rfc822");
	assert_non_null(strstr(m.parts[2].body, "body line"));
	notice_free(&m);

	notice_read(fx, 2, &m);
	assert_string_equal(m.env, "sender=\nflags=0\nrcpt=alice@example.org\n");
	has(m.top.header, "Subject", "Successful Mail Delivery Report");
	assert_int_equal(m.ngroups, 2);
	has(m.groups[1], "Final-Recipient", "rfc822; dave@example.net");
	has(m.groups[1], "Action", "delivered");
	has(m.parts[2].header, "Content-Type", "text/rfc822-headers");
	notice_free(&m);

	assert_false(log_exists(fx, STATUS_LOG_BOUNCE, id));
	assert_false(log_exists(fx, STATUS_LOG_TRACE, id));
	assert_true(log_exists(fx, STATUS_LOG_DEFER, id)); /* qmgr removes it with the message */
	free(id);
}

static void test_flush_postmaster_copy(void **state)
{
	struct fixture *fx = *state;
	char *id = message(fx, "alice@example.org", NULL);
	struct notice m;

	load_conf(fx, "bounce_notice_recipient = postmaster\n");
	start_server(fx, false);
	log_entry(fx, STATUS_LOG_BOUNCE, id, 0, 5, "5.1.1", "550 5.1.1 no such user");
	flush_ok(fx, id);
	assert_int_equal(sent(fx), 2);
	notice_read(fx, 2, &m);
	assert_string_equal(m.env, "sender=double-bounce@test.example\nflags=0\n"
				   "rcpt=postmaster@test.example\n");
	has(m.top.header, "Subject", "Postmaster Copy: Undelivered Mail");
	has(m.parts[2].header, "Content-Type", "text/rfc822-headers");
	assert_null(strstr(m.parts[2].body, "body line"));
	notice_free(&m);
	free(id);
}

static void test_flush_null_sender(void **state)
{
	struct fixture *fx = *state;
	char *id = message(fx, "", NULL);
	struct notice m;

	start_server(fx, false);
	log_entry(fx, STATUS_LOG_BOUNCE, id, 0, 5, "5.1.1", "550 5.1.1 no such user");
	log_entry(fx, STATUS_LOG_TRACE, id, 2, 2, "2.0.0", "250 ok");
	flush_ok(fx, id);
	assert_int_equal(sent(fx), 1); /* no success notice for <> */
	notice_read(fx, 1, &m);
	assert_string_equal(m.env, "sender=double-bounce@test.example\nflags=0\n"
				   "rcpt=postmaster@test.example\n");
	has(m.top.header, "Subject", "Undelivered Mail Returned to Postmaster");
	has(m.top.header, "To", "<postmaster@test.example>");
	notice_free(&m);
	assert_false(log_exists(fx, STATUS_LOG_BOUNCE, id));
	assert_false(log_exists(fx, STATUS_LOG_TRACE, id));

	/* with 2bounce_notice_recipient empty: only logged */
	load_conf(fx, "2bounce_notice_recipient =\n");
	log_entry(fx, STATUS_LOG_BOUNCE, id, 0, 5, "5.1.1", "550 5.1.1 no such user");
	flush_ok(fx, id);
	assert_int_equal(sent(fx), 1);
	assert_false(log_exists(fx, STATUS_LOG_BOUNCE, id));
	free(id);
}

static void test_flush_double_bounce_sender(void **state)
{
	struct fixture *fx = *state;
	char *id = message(fx, "Double-Bounce@test.example", NULL);

	load_conf(fx, "bounce_notice_recipient = postmaster\n");
	start_server(fx, false);
	log_entry(fx, STATUS_LOG_BOUNCE, id, 0, 5, "5.1.1", "550 5.1.1 no such user");
	log_entry(fx, STATUS_LOG_TRACE, id, 2, 2, "2.0.0", "250 ok");
	flush_ok(fx, id);
	assert_int_equal(sent(fx), 0);
	assert_false(log_exists(fx, STATUS_LOG_BOUNCE, id));
	assert_false(log_exists(fx, STATUS_LOG_TRACE, id));
	free(id);
}

/* RET=HDRS and bounce_size_limit return the header only; RET=FULL the whole message. */
static void test_flush_ret(void **state)
{
	static const struct {
		const char *ret, *extra, *type;
	} cases[] = {
	    {"HDRS", "", "text/rfc822-headers"},
	    {"FULL", "bounce_size_limit = 10\n", "text/rfc822-headers"},
	    {NULL, "bounce_size_limit = 10\n", "text/rfc822-headers"},
	    {"FULL", "", "message/rfc822"},
	    {NULL, "bounce_size_limit = 0\n", "text/rfc822-headers"},
	};
	struct fixture *fx = *state;

	start_server(fx, false);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *id = message(fx, "alice@example.org", cases[i].ret);
		struct notice m;

		load_conf(fx, cases[i].extra);
		log_entry(fx, STATUS_LOG_BOUNCE, id, 0, 5, "5.1.1", "550 5.1.1 no such user");
		flush_ok(fx, id);
		assert_int_equal(sent(fx), (int)i + 1);
		notice_read(fx, (int)i + 1, &m);
		has(m.parts[2].header, "Content-Type", cases[i].type);
		notice_free(&m);
		free(id);
	}
}

/* Nothing due: no notice, no cleanup needed. */
static void test_flush_nothing_due(void **state)
{
	struct fixture *fx = *state;
	char *id = message(fx, "alice@example.org", NULL);

	/* no logs at all, and no cleanup running */
	flush_ok(fx, id);
	log_entry(fx, STATUS_LOG_BOUNCE, id, 1, 5, "5.1.1", "550 NOTIFY=NEVER only");
	log_entry(fx, STATUS_LOG_TRACE, id, 0, 2, "2.0.0", "250 no NOTIFY=SUCCESS");
	flush_ok(fx, id);
	assert_false(log_exists(fx, STATUS_LOG_BOUNCE, id));
	assert_false(log_exists(fx, STATUS_LOG_TRACE, id));
	free(id);
}

/* A notice that cannot be queued leaves the logs for the next try. */
static void test_flush_cleanup_down(void **state)
{
	struct fixture *fx = *state;
	char *id = message(fx, "alice@example.org", NULL), *path = active(id), *err = NULL;

	log_entry(fx, STATUS_LOG_BOUNCE, id, 0, 5, "5.1.1", "550 5.1.1 no such user");
	assert_int_equal(bounce_flush(fx->conf, id, path, &err), -1);
	assert_non_null(strstr(err, "cleanup"));
	XFREE(err);
	assert_true(log_exists(fx, STATUS_LOG_BOUNCE, id));

	start_server(fx, true);
	assert_int_equal(bounce_flush(fx->conf, id, path, &err), -1);
	assert_non_null(strstr(err, "refused"));
	XFREE(err);
	assert_true(log_exists(fx, STATUS_LOG_BOUNCE, id));

	/* a queue file that is not there: nothing to do without logs, an error with them */
	assert_int_equal(bounce_flush(fx->conf, "NOSUCHQID", "active/NOSUCHQID", &err), 0);
	{
		struct status_entry e = {.address = "a@b",
					 .orcpt = "",
					 .offset = -1,
					 .status = 5,
					 .dsn = "5.0.0",
					 .text = "x",
					 .relay = "none"};

		assert_int_equal(
		    status_log_append(fx->dir, STATUS_LOG_BOUNCE, "NOSUCHQID", &e, &err), 0);
	}
	assert_int_equal(bounce_flush(fx->conf, "NOSUCHQID", "active/NOSUCHQID", &err), -1);
	assert_non_null(strstr(err, "NOSUCHQID"));
	XFREE(err);
	free(path);
	free(id);
}

static void test_expire(void **state)
{
	struct fixture *fx = *state;
	char *id = message(fx, "alice@example.org", NULL), *path, *err = NULL;
	struct dsn_original o;
	struct notice m;
	off_t bob;
	int fd;

	start_server(fx, false);
	/* bob failed and was marked done; dave and erin still wait */
	log_entry(fx, STATUS_LOG_BOUNCE, id, 0, 5, "5.1.1", "550 5.1.1 no such user");
	bob = (off_t)offset_of(fx, id, 0);
	path = xasprintf("%s/active/%s", fx->dir, id);
	fd = open(path, O_RDWR);
	assert_int_equal(queue_mark_done(fd, &bob, 1, &err), 0);
	close(fd);
	log_entry(fx, STATUS_LOG_DEFER, id, 2, 4, "4.4.1", "connect to x: Connection refused");
	log_entry(fx, STATUS_LOG_DEFER, id, 2, 4, "4.2.2", "452 4.2.2 mailbox full");
	log_entry(fx, STATUS_LOG_TRACE, id, 2, 2, "2.0.0", "250 unrelated");

	free(path);
	path = active(id);
	if (bounce_expire(fx->conf, id, path, &err) < 0)
		fail_msg("bounce_expire: %s", err);
	free(path);
	assert_int_equal(sent(fx), 2); /* the failure notice, and the success notice of trace */
	notice_read(fx, 1, &m);
	assert_non_null(strstr(m.parts[0].body, "within 5 days"));
	assert_int_equal(m.ngroups, 4); /* bob, dave, erin; carol asked NOTIFY=NEVER */
	has(m.groups[1], "Final-Recipient", "rfc822; bob@example.net");
	has(m.groups[1], "Status", "5.1.1");
	has(m.groups[2], "Final-Recipient", "rfc822; dave@example.net");
	has(m.groups[2], "Action", "failed");
	has(m.groups[2], "Status", "4.4.7");
	has(m.groups[2], "Diagnostic-Code", "smtp; 452 4.2.2 mailbox full");
	has(m.groups[3], "Final-Recipient", "rfc822; erin@example.net");
	has(m.groups[3], "Status", "4.4.7");
	has(m.groups[3], "Diagnostic-Code", "X-Tern; delivery time expired");
	notice_free(&m);

	/* every recipient is done now, and the logs are gone */
	path = xasprintf("%s/active/%s", fx->dir, id);
	assert_int_equal(dsn_original_open(path, false, &o, NULL, &err), 0);
	for (size_t i = 0; i < o.nrcpts; i++)
		assert_true(o.rcpts[i].done);
	dsn_original_close(&o);
	free(path);
	assert_false(log_exists(fx, STATUS_LOG_BOUNCE, id));
	assert_false(log_exists(fx, STATUS_LOG_DEFER, id));
	assert_false(log_exists(fx, STATUS_LOG_TRACE, id));
	free(id);
}

/* A failure logged but not yet marked done (a crash between the two) is reported once. */
static void test_expire_after_crash(void **state)
{
	struct fixture *fx = *state;
	char *id = message(fx, "alice@example.org", NULL), *path = active(id), *err = NULL;
	struct notice m;

	load_conf(fx, "maximal_queue_lifetime = 12h\n");
	start_server(fx, false);
	log_entry(fx, STATUS_LOG_BOUNCE, id, 3, 5, "5.2.1", "550 5.2.1 disabled");
	assert_int_equal(bounce_expire(fx->conf, id, path, &err), 0);
	notice_read(fx, 1, &m);
	assert_non_null(strstr(m.parts[0].body, "within 12 hours"));
	assert_int_equal(m.ngroups, 4); /* erin (from the bounce log), bob, dave */
	has(m.groups[1], "Final-Recipient", "rfc822; erin@example.net");
	has(m.groups[1], "Status", "5.2.1");
	has(m.groups[2], "Final-Recipient", "rfc822; bob@example.net");
	has(m.groups[3], "Final-Recipient", "rfc822; dave@example.net");
	notice_free(&m);
	free(path);
	free(id);
}

static void test_delay_warning(void **state)
{
	struct fixture *fx = *state;
	char *id = message(fx, "alice@example.org", NULL), *path = active(id), *err = NULL;
	struct dsn_original o;
	struct notice m;
	char *qpath;

	load_conf(fx, "maximal_queue_lifetime = 2d\n");
	start_server(fx, false);
	log_entry(fx, STATUS_LOG_DEFER, id, 0, 4, "4.4.1", "connect to x: timed out");
	log_entry(fx, STATUS_LOG_DEFER, id, 2, 4, "4.2.2", "452 full");
	if (bounce_delay_warning(fx->conf, id, path, &err) < 0)
		fail_msg("bounce_delay_warning: %s", err);
	assert_int_equal(sent(fx), 1);
	notice_read(fx, 1, &m);
	assert_string_equal(m.env, "sender=\nflags=0\nrcpt=alice@example.org\n");
	has(m.top.header, "Subject", "Delayed Mail (still being retried)");
	/* bob only: carol NEVER, dave and erin did not ask for DELAY */
	assert_int_equal(m.ngroups, 2);
	has(m.groups[1], "Final-Recipient", "rfc822; bob@example.net");
	has(m.groups[1], "Action", "delayed");
	has(m.groups[1], "Status", "4.4.1");
	has(m.groups[1], "Diagnostic-Code", "X-Tern; connect to x: timed out");
	qpath = xasprintf("%s/active/%s", fx->dir, id);
	assert_int_equal(dsn_original_open(qpath, false, &o, NULL, &err), 0);
	{
		char date[64];

		dsn_date(date, sizeof(date), o.arrival + 2 * 86400);
		has(m.groups[1], "Will-Retry-Until", date);
	}
	dsn_original_close(&o);
	free(qpath);
	has(m.parts[2].header, "Content-Type", "text/rfc822-headers");
	notice_free(&m);
	assert_true(log_exists(fx, STATUS_LOG_DEFER, id)); /* nothing changes */
	free(path);
	free(id);

	/* none for the null sender */
	id = message(fx, "", NULL);
	path = active(id);
	assert_int_equal(bounce_delay_warning(fx->conf, id, path, &err), 0);
	assert_int_equal(sent(fx), 1);
	free(path);
	free(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_flush_to_sender, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_postmaster_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_null_sender, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_double_bounce_sender, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_ret, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_nothing_due, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_cleanup_down, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expire_after_crash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delay_warning, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
