/*
 * test_auth_client - the auth protocol client against a scripted server in a
 * child process: the request records it sends (byte for byte), how it reads
 * every kind of answer, the handshake check, reconnection after the server
 * closed an idle connection, answers it must refuse, and timeouts.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mail/auth_client.h"
#include "util/attr.h"
#include "util/mymalloc.h"
#include "util/sock.h"
#include "util/strbuf.h"

#define MAX_STEPS 16

/* One scripted answer: after reading a request, send reply (or nothing), maybe close. */
struct step {
	struct strbuf reply; /* empty: send nothing and wait to be killed */
	int close_after;
};

struct script {
	struct strbuf handshake;
	struct step steps[MAX_STEPS];
	int nsteps;
};

struct server {
	char dir[64];
	char path[128];
	pid_t pid;
	int record_fd; /* the requests the server read, each as <u32 length><bytes> */
};

static void script_init(struct script *sc)
{
	memset(sc, 0, sizeof(*sc));
	attr_encode(&sc->handshake, ATTR_SEND_STR("protocol", "auth"), ATTR_SEND_INT("version", 1));
}

static void script_free(struct script *sc)
{
	int i;

	strbuf_free(&sc->handshake);
	for (i = 0; i < sc->nsteps; i++)
		strbuf_free(&sc->steps[i].reply);
}

/* add - the next answer, built with attr_encode_array(); returns the step to add more to. */
static struct step *add(struct script *sc, const struct attr_send *attrs, int close_after)
{
	struct step *st = &sc->steps[sc->nsteps++];

	assert_true(sc->nsteps <= MAX_STEPS);
	if (attrs != NULL)
		attr_encode_array(&st->reply, attrs);
	st->close_after = close_after;
	return st;
}

#define ADD(sc, close_after, ...) add((sc), ATTR_SEND_LIST(__VA_ARGS__), (close_after))

/* ---- the server (child process) ---- */

static int read_byte(int fd, char *c)
{
	ssize_t n;

	while ((n = read(fd, c, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? 0 : -1;
}

/* read_netstring - one netstring's bytes appended to raw; its length, or -1. */
static long read_netstring(int fd, struct strbuf *raw)
{
	long len = 0, i;
	char c;

	for (;;) {
		if (read_byte(fd, &c) < 0)
			return -1;
		strbuf_putc(raw, c);
		if (c == ':')
			break;
		len = len * 10 + (c - '0');
	}
	for (i = 0; i <= len; i++) { /* the bytes and the comma */
		if (read_byte(fd, &c) < 0)
			return -1;
		strbuf_putc(raw, c);
	}
	return len;
}

/* read_record - one whole request record, raw; -1 at end of file. */
static int read_record(int fd, struct strbuf *raw)
{
	long len;

	strbuf_reset(raw);
	for (;;) {
		if ((len = read_netstring(fd, raw)) < 0)
			return -1;
		if (len == 0)
			return 0;
		if (read_netstring(fd, raw) < 0)
			return -1;
	}
}

static void write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n <= 0)
			_exit(3);
		p += n;
		len -= (size_t)n;
	}
}

static void serve_script(int lfd, const struct script *sc, int record_fd)
{
	struct strbuf raw = STRBUF_INIT;
	int i = 0, fd = -1;
	uint32_t n;

	while (i < sc->nsteps) {
		if (fd < 0) {
			if ((fd = accept(lfd, NULL, NULL)) < 0)
				_exit(2);
			write_all(fd, sc->handshake.data, sc->handshake.len);
		}
		if (read_record(fd, &raw) < 0) { /* the client closed: take the next connection */
			close(fd);
			fd = -1;
			continue;
		}
		n = (uint32_t)raw.len;
		write_all(record_fd, &n, sizeof(n));
		write_all(record_fd, raw.data, raw.len);
		if (sc->steps[i].reply.len == 0)
			pause();
		write_all(fd, sc->steps[i].reply.data, sc->steps[i].reply.len);
		if (sc->steps[i].close_after) {
			close(fd);
			fd = -1;
		}
		i++;
	}
	/* hold the last connection until the client closes it */
	if (fd >= 0)
		while (read_record(fd, &raw) == 0)
			;
	_exit(0);
}

static void server_start(struct server *srv, const struct script *sc)
{
	int p[2], lfd;
	char *error = NULL;

	snprintf(srv->dir, sizeof(srv->dir), "/tmp/test_auth_client.XXXXXX");
	assert_non_null(mkdtemp(srv->dir));
	snprintf(srv->path, sizeof(srv->path), "%s/auth", srv->dir);
	lfd = sock_unix_listen(srv->path, 8, 0600, &error);
	assert_true(lfd >= 0);
	assert_int_equal(sock_set_nonblock(lfd, 0), 0);
	assert_int_equal(pipe(p), 0);
	srv->pid = fork();
	assert_true(srv->pid >= 0);
	if (srv->pid == 0) {
		close(p[0]);
		serve_script(lfd, sc, p[1]);
	}
	close(p[1]);
	close(lfd);
	srv->record_fd = p[0];
}

/*
 * server_stop - wait up to 2 s for the child to finish its script, then end
 * it. Returns 0 when it finished on its own with status 0.
 */
static int server_stop(struct server *srv)
{
	int status = 0, i;
	pid_t got = 0;

	for (i = 0; i < 200 && (got = waitpid(srv->pid, &status, WNOHANG)) == 0; i++)
		usleep(10000);
	if (got == 0) {
		kill(srv->pid, SIGKILL);
		assert_int_equal(waitpid(srv->pid, &status, 0), srv->pid);
		status = -1;
	}
	close(srv->record_fd);
	unlink(srv->path);
	rmdir(srv->dir);
	return status;
}

/* expect_request - the next request the server read is exactly the record of attrs. */
static void expect_request(struct server *srv, const struct attr_send *attrs)
{
	struct strbuf want = STRBUF_INIT, got = STRBUF_INIT;
	uint32_t n;

	assert_int_equal(read(srv->record_fd, &n, sizeof(n)), sizeof(n));
	strbuf_reserve(&got, n);
	assert_int_equal(read(srv->record_fd, got.data, n), (ssize_t)n);
	got.len = n;
	attr_encode_array(&want, attrs);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	strbuf_free(&want);
	strbuf_free(&got);
}

#define EXPECT(srv, ...) expect_request((srv), ATTR_SEND_LIST(__VA_ARGS__))

static const struct auth_client_info info = {
    .service = "imap", .client_addr = "192.0.2.1", .local_port = 993, .tls = 1};

/* ---- tests ---- */

static void test_mechanisms_and_plain(void **state)
{
	struct script sc;
	struct server srv;
	struct auth_client *c;
	struct auth_client_reply reply;
	char *error = NULL, *list = NULL;

	script_init(&sc);
	ADD(&sc, 0, ATTR_SEND_STR("status", "ok"), ATTR_SEND_STR("mechanisms", "PLAIN LOGIN"));
	ADD(&sc, 0, ATTR_SEND_STR("status", "ok"), ATTR_SEND_STR("authcid", "a@example.org"),
	    ATTR_SEND_STR("authzid", "a@example.org"));
	server_start(&srv, &sc);
	memset(&reply, 0, sizeof(reply));
	c = auth_client_open_path(srv.path, 5000, &error);
	assert_non_null(c);
	assert_int_equal(auth_client_mechanisms(c, 1, &list, &error), 0);
	assert_string_equal(list, "PLAIN LOGIN");
	free(list);
	EXPECT(&srv, ATTR_SEND_STR("request", "mechanisms"), ATTR_SEND_INT("tls", 1));
	assert_int_equal(
	    auth_client_start(c, &info, "PLAIN", "\0a@example.org\0pw", 17, &reply, &error),
	    AUTH_OK);
	assert_string_equal(reply.authcid, "a@example.org");
	assert_string_equal(reply.authzid, "a@example.org");
	EXPECT(&srv, ATTR_SEND_STR("request", "auth"), ATTR_SEND_STR("mechanism", "PLAIN"),
	       ATTR_SEND_STR("service", "imap"), ATTR_SEND_STR("client_addr", "192.0.2.1"),
	       ATTR_SEND_INT("local_port", 993), ATTR_SEND_INT("tls", 1),
	       ATTR_SEND_DATA("response", "\0a@example.org\0pw", 17));
	auth_client_reply_free(&reply);
	auth_client_close(&c);
	assert_null(c);
	assert_int_equal(server_stop(&srv), 0);
	script_free(&sc);
}

/* No initial response: no response attribute; an empty one: an empty attribute. */
static void test_exchange(void **state)
{
	struct script sc;
	struct server srv;
	struct auth_client *c;
	struct auth_client_reply reply;
	char *error = NULL;

	script_init(&sc);
	ADD(&sc, 0, ATTR_SEND_STR("status", "continue"), ATTR_SEND_DATA("challenge", "Us\0r:", 5));
	ADD(&sc, 0, ATTR_SEND_STR("status", "fail"), ATTR_SEND_STR("reason", "password mismatch"));
	ADD(&sc, 0, ATTR_SEND_STR("status", "tempfail"), ATTR_SEND_STR("reason", "down"));
	ADD(&sc, 0, ATTR_SEND_STR("status", "ok"));
	server_start(&srv, &sc);
	memset(&reply, 0, sizeof(reply));
	c = auth_client_open_path(srv.path, 5000, &error);
	assert_int_equal(auth_client_start(c, &info, "LOGIN", NULL, 0, &reply, &error),
			 AUTH_CONTINUE);
	assert_int_equal(reply.challenge.len, 5);
	assert_memory_equal(reply.challenge.data, "Us\0r:", 5);
	EXPECT(&srv, ATTR_SEND_STR("request", "auth"), ATTR_SEND_STR("mechanism", "LOGIN"),
	       ATTR_SEND_STR("service", "imap"), ATTR_SEND_STR("client_addr", "192.0.2.1"),
	       ATTR_SEND_INT("local_port", 993), ATTR_SEND_INT("tls", 1));
	assert_int_equal(auth_client_continue(c, "", 0, &reply, &error), AUTH_FAILED);
	assert_string_equal(reply.reason, "password mismatch");
	assert_int_equal(reply.challenge.len, 0); /* the earlier answer is gone */
	EXPECT(&srv, ATTR_SEND_STR("request", "continue"), ATTR_SEND_DATA("response", "", 0));
	assert_int_equal(auth_client_start(c, &info, "PLAIN", "", 0, &reply, &error),
			 AUTH_TEMPFAIL);
	assert_string_equal(reply.reason, "down");
	EXPECT(&srv, ATTR_SEND_STR("request", "auth"), ATTR_SEND_STR("mechanism", "PLAIN"),
	       ATTR_SEND_STR("service", "imap"), ATTR_SEND_STR("client_addr", "192.0.2.1"),
	       ATTR_SEND_INT("local_port", 993), ATTR_SEND_INT("tls", 1),
	       ATTR_SEND_DATA("response", "", 0));
	assert_int_equal(auth_client_abort(c, &error), 0);
	EXPECT(&srv, ATTR_SEND_STR("request", "abort"));
	auth_client_reply_free(&reply);
	auth_client_close(&c);
	assert_int_equal(server_stop(&srv), 0);
	script_free(&sc);
}

static void test_login_helper(void **state)
{
	struct script sc;
	struct server srv;
	struct auth_client *c;
	struct auth_client_reply reply;
	char *error = NULL;

	script_init(&sc);
	ADD(&sc, 0, ATTR_SEND_STR("status", "ok"), ATTR_SEND_STR("authcid", "u@example.org"),
	    ATTR_SEND_STR("authzid", "u@example.org"));
	ADD(&sc, 0, ATTR_SEND_STR("status", "continue"), ATTR_SEND_DATA("challenge", "", 0));
	server_start(&srv, &sc);
	memset(&reply, 0, sizeof(reply));
	c = auth_client_open_path(srv.path, 5000, &error);
	assert_int_equal(auth_client_login(c, &info, "u@example.org", "pw", &reply, &error),
			 AUTH_OK);
	EXPECT(&srv, ATTR_SEND_STR("request", "auth"), ATTR_SEND_STR("mechanism", "PLAIN"),
	       ATTR_SEND_STR("service", "imap"), ATTR_SEND_STR("client_addr", "192.0.2.1"),
	       ATTR_SEND_INT("local_port", 993), ATTR_SEND_INT("tls", 1),
	       ATTR_SEND_DATA("response", "\0u@example.org\0pw", 17));
	/* PLAIN never asks for more: a server that does is wrong */
	assert_int_equal(auth_client_login(c, &info, "u@example.org", "pw", &reply, &error),
			 AUTH_ERROR);
	assert_non_null(strstr(error, "PLAIN asked for more"));
	free(error);
	auth_client_reply_free(&reply);
	auth_client_close(&c);
	server_stop(&srv);
	script_free(&sc);
}

static void test_lookups(void **state)
{
	struct script sc;
	struct server srv;
	struct auth_client *c;
	struct dir_targets t;
	struct dir_account a;
	char *error = NULL;

	script_init(&sc);
	ADD(&sc, 0, ATTR_SEND_STR("status", "ok"));
	ADD(&sc, 0, ATTR_SEND_STR("status", "notfound"));
	/* a resolve answer: the head, then two target records */
	{
		struct step *st =
		    ADD(&sc, 0, ATTR_SEND_STR("status", "ok"), ATTR_SEND_INT("count", 2));

		attr_encode(&st->reply, ATTR_SEND_STR("address", "a@example.org"),
			    ATTR_SEND_INT("local", 1), ATTR_SEND_INT("enabled", 0),
			    ATTR_SEND_STR("detail", ""));
		attr_encode(&st->reply, ATTR_SEND_STR("address", "x@remote.example"),
			    ATTR_SEND_INT("local", 0), ATTR_SEND_INT("enabled", 1));
	}
	ADD(&sc, 0, ATTR_SEND_STR("status", "ok"), ATTR_SEND_STR("address", "a@example.org"),
	    ATTR_SEND_INT("quota_bytes", 1048576), ATTR_SEND_INT("quota_messages", 0),
	    ATTR_SEND_STR("store_path", "/store/example.org/a"), ATTR_SEND_INT("enabled", 1),
	    ATTR_SEND_STR("display_name", "A"));
	ADD(&sc, 0, ATTR_SEND_STR("status", "tempfail"), ATTR_SEND_STR("reason", "db locked"));
	server_start(&srv, &sc);
	c = auth_client_open_path(srv.path, 5000, &error);
	assert_int_equal(auth_client_domain(c, "example.org", &error), DIR_FOUND);
	EXPECT(&srv, ATTR_SEND_STR("request", "domain"), ATTR_SEND_STR("domain", "example.org"));
	assert_int_equal(auth_client_resolve(c, "nobody@example.org", &t, &error), DIR_NOTFOUND);
	EXPECT(&srv, ATTR_SEND_STR("request", "resolve"),
	       ATTR_SEND_STR("address", "nobody@example.org"));
	assert_int_equal(auth_client_resolve(c, "a+@example.org", &t, &error), DIR_FOUND);
	assert_int_equal(t.count, 2);
	assert_string_equal(t.items[0].address, "a@example.org");
	assert_int_equal(t.items[0].local, 1);
	assert_int_equal(t.items[0].enabled, 0);
	assert_string_equal(t.items[0].detail, "");
	assert_string_equal(t.items[1].address, "x@remote.example");
	assert_int_equal(t.items[1].local, 0);
	assert_null(t.items[1].detail);
	dir_targets_free(&t);
	EXPECT(&srv, ATTR_SEND_STR("request", "resolve"),
	       ATTR_SEND_STR("address", "a+@example.org"));
	assert_int_equal(auth_client_account(c, "a@example.org", &a, &error), DIR_FOUND);
	assert_string_equal(a.address, "a@example.org");
	assert_null(a.password_hash);
	assert_int_equal(a.quota_bytes, 1048576);
	assert_string_equal(a.store_path, "/store/example.org/a");
	assert_string_equal(a.display_name, "A");
	assert_int_equal(a.enabled, 1);
	dir_account_free(&a);
	EXPECT(&srv, ATTR_SEND_STR("request", "account"),
	       ATTR_SEND_STR("address", "a@example.org"));
	assert_int_equal(auth_client_account(c, "b@example.org", &a, &error), DIR_ERROR);
	assert_non_null(strstr(error, "db locked"));
	free(error);
	auth_client_close(&c);
	assert_int_equal(server_stop(&srv), 0);
	script_free(&sc);
}

/* The server closed the idle connection: the next request goes over a new one. */
static void test_reconnect_after_idle_close(void **state)
{
	struct script sc;
	struct server srv;
	struct auth_client *c;
	char *error = NULL;

	script_init(&sc);
	ADD(&sc, 1, ATTR_SEND_STR("status", "ok"));
	ADD(&sc, 1, ATTR_SEND_STR("status", "notfound"));
	ADD(&sc, 0, ATTR_SEND_STR("status", "ok"));
	server_start(&srv, &sc);
	c = auth_client_open_path(srv.path, 5000, &error);
	assert_int_equal(auth_client_domain(c, "a.example", &error), DIR_FOUND);
	usleep(100000); /* the close has arrived */
	assert_int_equal(auth_client_domain(c, "b.example", &error), DIR_NOTFOUND);
	usleep(100000);
	assert_int_equal(auth_client_domain(c, "c.example", &error), DIR_FOUND);
	EXPECT(&srv, ATTR_SEND_STR("request", "domain"), ATTR_SEND_STR("domain", "a.example"));
	EXPECT(&srv, ATTR_SEND_STR("request", "domain"), ATTR_SEND_STR("domain", "b.example"));
	EXPECT(&srv, ATTR_SEND_STR("request", "domain"), ATTR_SEND_STR("domain", "c.example"));
	auth_client_close(&c);
	assert_int_equal(server_stop(&srv), 0);
	script_free(&sc);
}

/* status=error: AUTH_ERROR naming the reason, and a fresh connection next time. */
static void test_error_answer(void **state)
{
	struct script sc;
	struct server srv;
	struct auth_client *c;
	struct auth_client_reply reply;
	char *error = NULL;

	script_init(&sc);
	ADD(&sc, 0, ATTR_SEND_STR("status", "error"), ATTR_SEND_STR("reason", "bad request"));
	ADD(&sc, 0, ATTR_SEND_STR("status", "ok"));
	server_start(&srv, &sc);
	memset(&reply, 0, sizeof(reply));
	c = auth_client_open_path(srv.path, 5000, &error);
	assert_int_equal(auth_client_start(c, &info, "PLAIN", NULL, 0, &reply, &error), AUTH_ERROR);
	assert_non_null(strstr(error, "refused the request: bad request"));
	free(error);
	/* the exchange died with the connection */
	assert_int_equal(auth_client_continue(c, "x", 1, &reply, &error), AUTH_ERROR);
	assert_non_null(strstr(error, "lost"));
	free(error);
	assert_int_equal(auth_client_domain(c, "example.org", &error), DIR_FOUND);
	auth_client_close(&c);
	server_stop(&srv);
	script_free(&sc);
}

/* Answers that break the protocol are errors, never crashes or half results. */
static void test_bad_answers(void **state)
{
	struct script sc;
	struct server srv;
	struct auth_client *c;
	struct auth_client_reply reply;
	struct dir_targets t;
	struct dir_account a;
	char *error = NULL, *list = NULL;

	script_init(&sc);
	ADD(&sc, 0, ATTR_SEND_STR("status", "ok"), ATTR_SEND_STR("authcid", "a@example.org"));
	ADD(&sc, 0, ATTR_SEND_STR("status", "maybe"));
	ADD(&sc, 0, ATTR_SEND_STR("status", "ok"), ATTR_SEND_INT("count", AUTH_RESOLVE_MAX + 1));
	ADD(&sc, 0, ATTR_SEND_STR("status", "ok"), ATTR_SEND_STR("address", "a@example.org"));
	ADD(&sc, 0, ATTR_SEND_STR("status", "ok"), ATTR_SEND_STR("bogus", "x"));
	ADD(&sc, 0, ATTR_SEND_STR("status", "ok"));
	server_start(&srv, &sc);
	memset(&reply, 0, sizeof(reply));
	c = auth_client_open_path(srv.path, 5000, &error);
	assert_int_equal(auth_client_start(c, &info, "PLAIN", "x", 1, &reply, &error), AUTH_ERROR);
	assert_null(reply.authcid);
	free(error);
	assert_int_equal(auth_client_start(c, &info, "PLAIN", "x", 1, &reply, &error), AUTH_ERROR);
	assert_non_null(strstr(error, "status=maybe"));
	free(error);
	assert_int_equal(auth_client_resolve(c, "a@example.org", &t, &error), DIR_ERROR);
	assert_int_equal(t.count, 0);
	free(error);
	assert_int_equal(auth_client_account(c, "a@example.org", &a, &error), DIR_ERROR);
	assert_null(a.address);
	free(error);
	assert_int_equal(auth_client_mechanisms(c, 0, &list, &error), -1);
	assert_non_null(strstr(error, "unexpected attribute bogus"));
	free(error);
	assert_int_equal(auth_client_mechanisms(c, 0, &list, &error), -1);
	free(error);
	auth_client_close(&c);
	server_stop(&srv);
	script_free(&sc);
}

static void test_handshake_and_timeout(void **state)
{
	struct script sc;
	struct server srv;
	struct auth_client *c;
	char *error = NULL;

	script_init(&sc);
	strbuf_reset(&sc.handshake);
	attr_encode(&sc.handshake, ATTR_SEND_STR("protocol", "cleanup"),
		    ATTR_SEND_INT("version", 1));
	ADD(&sc, 0, ATTR_SEND_STR("status", "ok"));
	server_start(&srv, &sc);
	assert_null(auth_client_open_path(srv.path, 5000, &error));
	assert_non_null(strstr(error, "cleanup"));
	free(error);
	server_stop(&srv);
	script_free(&sc);

	/* a server that never answers: the call gives up after the timeout */
	script_init(&sc);
	add(&sc, NULL, 0);
	server_start(&srv, &sc);
	c = auth_client_open_path(srv.path, 300, &error);
	assert_non_null(c);
	assert_int_equal(auth_client_domain(c, "example.org", &error), DIR_ERROR);
	assert_non_null(strstr(error, "timeout"));
	free(error);
	auth_client_close(&c);
	server_stop(&srv);
	script_free(&sc);

	assert_null(auth_client_open_path("/nonexistent/private/auth", 300, &error));
	assert_non_null(strstr(error, "/nonexistent/private/auth"));
	free(error);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mechanisms_and_plain),
	    cmocka_unit_test(test_exchange),
	    cmocka_unit_test(test_login_helper),
	    cmocka_unit_test(test_lookups),
	    cmocka_unit_test(test_reconnect_after_idle_close),
	    cmocka_unit_test(test_error_answer),
	    cmocka_unit_test(test_bad_answers),
	    cmocka_unit_test(test_handshake_and_timeout),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
