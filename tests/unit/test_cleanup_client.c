/*
 * test_cleanup_client - the client side of the cleanup protocol against a
 * scripted server in a child process: what arrives (envelope, recipients,
 * content in chunks of CLEANUP_CHUNK bytes, whatever the sizes written),
 * messages in a row with an abort between them, the answer, refusals, a
 * protocol mismatch, a server that goes away, and the public socket.
 */
#include <errno.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "mail/cleanup_client.h"
#include "util/attr.h"
#include "util/mymalloc.h"
#include "util/sock.h"
#include "util/stream.h"
#include "util/strbuf.h"

enum server_mode {
	SERVE_NORMAL,	/* answer each end with a summary of what came */
	SERVE_REFUSE,	/* answer 552 5.3.4 */
	SERVE_MISMATCH, /* announce version 2 */
	SERVE_VANISH,	/* close after the announcement */
};

struct fixture {
	char *dir;
	pid_t server;
};

static uint32_t fnv(uint32_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* serve_message - one message; returns 1 after an answer or abort, 0 at the end. */
static int serve_message(struct stream *s, enum server_mode mode)
{
	struct strbuf req = STRBUF_INIT, sender = STRBUF_INIT, helo = STRBUF_INIT,
		      name = STRBUF_INIT, rcpt = STRBUF_INIT, orcpt = STRBUF_INIT,
		      data = STRBUF_INIT, text = STRBUF_INIT;
	long long flags = 0, ret = 0, size_hint = 0, notify = 0, chunks = 0, bytes = 0, nrcpt = 0;
	size_t small = 0; /* data records shorter than CLEANUP_CHUNK */
	uint32_t h = 2166136261u;
	char *err = NULL;
	int done = 0;

	if (attr_read(s, &err, ATTR_RECV_STR("request", &req), ATTR_RECV_STR("sender", &sender),
		      ATTR_RECV_INT("flags", &flags), ATTR_RECV_INT("ret", &ret),
		      ATTR_RECV_INT("size_hint", &size_hint), ATTR_RECV_STR("envid", &name),
		      ATTR_OPTIONAL(ATTR_RECV_STR("client_name", &name)),
		      ATTR_OPTIONAL(ATTR_RECV_STR("client_addr", &name)),
		      ATTR_OPTIONAL(ATTR_RECV_STR("client_port", &name)),
		      ATTR_RECV_STR("helo", &helo), ATTR_OPTIONAL(ATTR_RECV_STR("protocol", &name)),
		      ATTR_OPTIONAL(ATTR_RECV_STR("tls_info", &name)),
		      ATTR_OPTIONAL(ATTR_RECV_STR("tls_cipher", &name)),
		      ATTR_OPTIONAL(ATTR_RECV_STR("sasl_method", &name)),
		      ATTR_OPTIONAL(ATTR_RECV_STR("sasl_username", &name)),
		      ATTR_OPTIONAL(ATTR_RECV_STR("local_user", &name)),
		      ATTR_OPTIONAL(ATTR_RECV_STR("full_name", &name)), ATTR_END) < 0) {
		free(err);
		goto out;
	}
	while (!done) {
		strbuf_reset(&rcpt);
		if (attr_read(s, &err, ATTR_RECV_STR("request", &req),
			      ATTR_OPTIONAL(ATTR_RECV_STR("rcpt", &rcpt)),
			      ATTR_OPTIONAL(ATTR_RECV_STR("orcpt", &orcpt)),
			      ATTR_OPTIONAL(ATTR_RECV_INT("notify", &notify)),
			      ATTR_OPTIONAL(ATTR_RECV_DATA("data", &data)), ATTR_END) < 0) {
			free(err);
			goto out;
		}
		if (strcmp(req.data, "rcpt") == 0) {
			nrcpt++;
			strbuf_printf(&text, "rcpt=%s/%s/%lld ", rcpt.data, strbuf_str(&orcpt),
				      notify);
		} else if (strcmp(req.data, "data") == 0) {
			chunks++;
			bytes += (long long)data.len;
			small += data.len < CLEANUP_CHUNK;
			h = fnv(h, data.data, data.len);
		} else if (strcmp(req.data, "abort") == 0) {
			done = 1;
		} else if (strcmp(req.data, "end") == 0) {
			strbuf_printf(&text,
				      "sender=%s helo=%s flags=%lld ret=%lld size=%lld chunks=%lld "
				      "small=%zu bytes=%lld fnv=%08x",
				      sender.data, helo.data, flags, ret, size_hint, chunks, small,
				      bytes, h);
			if (mode == SERVE_REFUSE)
				attr_write(s, &err, ATTR_SEND_INT("status", 552),
					   ATTR_SEND_STR("dsn", "5.3.4"),
					   ATTR_SEND_STR("text", "too big"),
					   ATTR_SEND_STR("queue_id", ""), ATTR_END);
			else
				attr_write(s, &err, ATTR_SEND_INT("status", 0),
					   ATTR_SEND_STR("dsn", "2.0.0"),
					   ATTR_SEND_STR("text", text.data),
					   ATTR_SEND_STR("queue_id", "1NV0J3K6Q2W7G4F"), ATTR_END);
			done = 1;
		}
	}
out:
	strbuf_free(&req);
	strbuf_free(&sender);
	strbuf_free(&helo);
	strbuf_free(&name);
	strbuf_free(&rcpt);
	strbuf_free(&orcpt);
	strbuf_free(&data);
	strbuf_free(&text);
	return done;
}

/* server - the child: one connection, messages until the client closes. */
static void server(int lfd, enum server_mode mode)
{
	struct pollfd pfd = {lfd, POLLIN, 0};
	struct stream *s;
	char *err = NULL;
	int fd;

	if (poll(&pfd, 1, 10000) != 1 || (fd = sock_accept(lfd)) < 0)
		_exit(2);
	s = stream_create(fd);
	stream_set_timeout(s, 10000);
	if (attr_announce_protocol(s, CLEANUP_PROTOCOL,
				   mode == SERVE_MISMATCH ? 2 : CLEANUP_PROTOCOL_VERSION, &err) < 0)
		_exit(3);
	while (mode != SERVE_VANISH && serve_message(s, mode))
		;
	stream_destroy(&s);
	_exit(0);
}

/* start - the scripted server on dir/<sub>/cleanup. */
static void start(struct fixture *fx, const char *sub, enum server_mode mode)
{
	char *sockdir = xasprintf("%s/%s", fx->dir, sub), *path, *err = NULL;
	int lfd;

	assert_int_equal(mkdir(sockdir, 0700), 0);
	path = xasprintf("%s/cleanup", sockdir);
	lfd = sock_unix_listen(path, 5, 0600, &err);
	assert_true(lfd >= 0);
	fx->server = fork();
	assert_true(fx->server >= 0);
	if (fx->server == 0)
		server(lfd, mode);
	close(lfd);
	free(path);
	free(sockdir);
}

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));

	fx->dir = xstrdup("/tmp/test_cleanup_client.XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char *cmd = xasprintf("rm -rf '%s'", fx->dir);
	int ret = system(cmd), status;

	if (fx->server > 0) {
		kill(fx->server, SIGKILL);
		waitpid(fx->server, &status, 0);
	}
	free(cmd);
	free(fx->dir);
	free(fx);
	return ret == 0 ? 0 : -1;
}

/* server_ok - wait for the server; it must have exited 0. */
static void server_ok(struct fixture *fx)
{
	int status;

	assert_int_equal(waitpid(fx->server, &status, 0), fx->server);
	fx->server = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static const struct cleanup_envelope envelope = {
    .sender = "alice@example.org",
    .flags = CLEANUP_FLAG_8BITMIME,
    .envid = "e1",
    .ret = CLEANUP_RET_HDRS,
    .size_hint = 1234,
    .client_name = "mx.example.net",
    .client_addr = "192.0.2.7",
    .helo = "mx.example.net",
    .protocol = "ESMTPS",
    .tls_info = "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
};

static void test_messages_in_a_row(void **state)
{
	struct fixture *fx = *state;
	static const size_t pieces[] = {1, 7, CLEANUP_CHUNK - 1, 100000, 3, 134990};
	struct cleanup_client *c;
	struct cleanup_result res;
	struct strbuf content = STRBUF_INIT, expect = STRBUF_INIT;
	char *err = NULL;
	size_t i, at = 0, total = 0;

	start(fx, "private", SERVE_NORMAL);
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		total += pieces[i];
	for (i = 0; i < total; i++)
		strbuf_putc(&content, i % 80 == 79 ? '\n' : (char)('A' + i % 23));
	c = cleanup_open(fx->dir, 10000, &err);
	assert_non_null(c);
	/* a message given up half way: the server sees an abort */
	assert_int_equal(cleanup_envelope(c, &envelope, &err), 0);
	assert_int_equal(cleanup_rcpt(c, "x@example.org", NULL, 0, &err), 0);
	assert_int_equal(cleanup_write(c, "Subject: x\r\n", 12, &err), 0);
	cleanup_abort(c);
	/* then a whole one */
	assert_int_equal(cleanup_envelope(c, &envelope, &err), 0);
	assert_int_equal(cleanup_rcpt(c, "bob@example.org", NULL, 0, &err), 0);
	assert_int_equal(cleanup_rcpt(c, "carol@example.org", "rfc822;carol@example.org",
				      CLEANUP_NOTIFY_FAILURE | CLEANUP_NOTIFY_DELAY, &err),
			 0);
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		assert_int_equal(cleanup_write(c, content.data + at, pieces[i], &err), 0);
		at += pieces[i];
	}
	assert_int_equal(cleanup_finish(c, &res, &err), 0);
	assert_int_equal(res.status, 0);
	assert_string_equal(res.dsn, "2.0.0");
	assert_string_equal(res.queue_id, "1NV0J3K6Q2W7G4F");
	strbuf_printf(&expect,
		      "rcpt=bob@example.org//0 rcpt=carol@example.org/rfc822;carol@example.org/12 "
		      "sender=alice@example.org helo=mx.example.net flags=2 ret=2 size=1234 "
		      "chunks=%zu small=1 bytes=%zu fnv=%08x",
		      (total + CLEANUP_CHUNK - 1) / CLEANUP_CHUNK, total,
		      fnv(2166136261u, content.data, content.len));
	assert_string_equal(res.text, expect.data);
	cleanup_result_free(&res);
	assert_null(res.text);
	/* and one without content at all */
	assert_int_equal(cleanup_envelope(c, &envelope, &err), 0);
	assert_int_equal(cleanup_rcpt(c, "bob@example.org", NULL, 0, &err), 0);
	assert_int_equal(cleanup_finish(c, &res, &err), 0);
	assert_non_null(strstr(res.text, "chunks=0 small=0 bytes=0"));
	cleanup_result_free(&res);
	cleanup_close(&c);
	assert_null(c);
	server_ok(fx);
	strbuf_free(&content);
	strbuf_free(&expect);
}

static void test_refusal(void **state)
{
	struct fixture *fx = *state;
	struct cleanup_client *c;
	struct cleanup_result res;
	char *err = NULL;

	start(fx, "private", SERVE_REFUSE);
	c = cleanup_open(fx->dir, 10000, &err);
	assert_non_null(c);
	assert_int_equal(cleanup_envelope(c, &envelope, &err), 0);
	assert_int_equal(cleanup_rcpt(c, "bob@example.org", NULL, 0, &err), 0);
	assert_int_equal(cleanup_write(c, "x\n", 2, &err), 0);
	assert_int_equal(cleanup_finish(c, &res, &err), 0);
	assert_int_equal(res.status, 552);
	assert_string_equal(res.dsn, "5.3.4");
	assert_string_equal(res.text, "too big");
	assert_string_equal(res.queue_id, "");
	cleanup_result_free(&res);
	cleanup_close(&c);
	server_ok(fx);
}

static void test_protocol_mismatch(void **state)
{
	struct fixture *fx = *state;
	char *err = NULL;

	start(fx, "private", SERVE_MISMATCH);
	assert_null(cleanup_open(fx->dir, 10000, &err));
	assert_non_null(strstr(err, "protocol mismatch"));
	free(err);
	server_ok(fx);
}

/* The server goes away: the conversation fails, and stays failed. */
static void test_server_gone(void **state)
{
	struct fixture *fx = *state;
	struct cleanup_client *c;
	struct cleanup_result res;
	char *err = NULL;

	start(fx, "private", SERVE_VANISH);
	c = cleanup_open(fx->dir, 10000, &err);
	assert_non_null(c);
	assert_int_equal(cleanup_envelope(c, &envelope, &err), 0);
	assert_int_equal(cleanup_rcpt(c, "bob@example.org", NULL, 0, &err), 0);
	server_ok(fx);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(cleanup_finish(c, &res, &err), -1);
	assert_non_null(strstr(err, "cleanup service"));
	free(err);
	assert_int_equal(cleanup_envelope(c, &envelope, &err), -1);
	free(err);
	cleanup_close(&c);
}

/* Without a private socket, the public one serves. */
static void test_public_socket(void **state)
{
	struct fixture *fx = *state;
	struct cleanup_client *c;
	char *err = NULL;

	assert_null(cleanup_open(fx->dir, 10000, &err));
	assert_non_null(strstr(err, "public/cleanup"));
	free(err);
	start(fx, "public", SERVE_NORMAL);
	c = cleanup_open(fx->dir, 10000, &err);
	assert_non_null(c);
	cleanup_close(&c);
	server_ok(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_messages_in_a_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_protocol_mismatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_server_gone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_public_socket, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
