/*
 * test_anvil_client - the anvil client against the anvil server's own
 * connection code (anvil_conn.c and the counters), run in a child process on
 * a socket in a temporary directory: counts and rates, several clients at
 * once, release of the counts of a client that closes, tolerance of a
 * disconnect that was never counted, refused requests, reconnection after
 * anvil restarted, and a missing service.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "anvil/anvil.h"
#include "anvil/anvil_table.h"
#include "mail/anvil_client.h"
#include "mail/daemon.h"
#include "util/attr.h"
#include "util/event.h"
#include "util/mymalloc.h"
#include "util/sock.h"
#include "util/stream.h"

struct fixture {
	char dir[64];	/* the queue directory */
	char path[128]; /* its private/anvil */
	pid_t pid;
};

/* The skeleton's end of a session: the server child has no master to tell. */
void daemon_session_done(struct daemon_ctx *ctx)
{
	(void)ctx;
}

static void on_accept(struct event_loop *loop, int fd, unsigned int events, void *ctx)
{
	int client = sock_accept(fd);

	if (client >= 0)
		anvil_conn_new(ctx, client);
}

/* server_start - a child process serving anvil on f->path, with rate windows of unit_ms. */
static void server_start(struct fixture *f, uint64_t unit_ms)
{
	char *error = NULL;
	int fd = sock_unix_listen(f->path, 16, 0600, &error);

	assert_true(fd >= 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		struct anvil_server server;

		memset(&server, 0, sizeof(server));
		server.loop = event_loop_new();
		server.time_unit_ms = unit_ms;
		server.table = anvil_table_create(unit_ms);
		event_fd_add(server.loop, fd, EVENT_READ, on_accept, &server);
		event_loop_run(server.loop);
		_exit(0);
	}
	close(fd);
}

static void server_stop(struct fixture *f)
{
	int status;

	if (f->pid <= 0)
		return;
	kill(f->pid, SIGKILL);
	while (waitpid(f->pid, &status, 0) < 0 && errno == EINTR)
		;
	f->pid = 0;
	unlink(f->path);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char priv[128];

	strcpy(f->dir, "/tmp/test_anvil.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(priv, sizeof(priv), "%s/private", f->dir);
	if (mkdir(priv, 0700) < 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/private/anvil", f->dir);
	server_start(f, 60000);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char priv[128];

	server_stop(f);
	snprintf(priv, sizeof(priv), "%s/private", f->dir);
	rmdir(priv);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct anvil_client *open_client(const struct fixture *f)
{
	char *error = NULL;
	struct anvil_client *c = anvil_client_open(f->dir, &error);

	if (c == NULL)
		fail_msg("anvil_client_open: %s", error);
	return c;
}

static void expect_counts(struct anvil_client *c, const char *req, const char *svc,
			  const char *addr, int count, int rate)
{
	char *error = NULL;
	int n = -1, r = -1, rc;

	if (strcmp(req, "connect") == 0)
		rc = anvil_connect(c, svc, addr, &n, &r, &error);
	else
		rc = anvil_lookup(c, svc, addr, &n, &r, &error);
	if (rc < 0)
		fail_msg("anvil %s: %s", req, error);
	assert_int_equal(n, count);
	assert_int_equal(r, rate);
}

static void disconnect_ok(struct anvil_client *c, const char *svc, const char *addr)
{
	char *error = NULL;

	if (anvil_disconnect(c, svc, addr, &error) < 0)
		fail_msg("anvil_disconnect: %s", error);
}

static void test_counts(void **state)
{
	struct fixture *f = *state;
	struct anvil_client *c = open_client(f);

	expect_counts(c, "lookup", "smtp", "192.0.2.1", 0, 0);
	expect_counts(c, "connect", "smtp", "192.0.2.1", 1, 1);
	expect_counts(c, "connect", "smtp", "192.0.2.1", 2, 2);
	expect_counts(c, "connect", "submission", "192.0.2.1", 1, 1);
	expect_counts(c, "connect", "smtp", "2001:db8::1", 1, 1);
	disconnect_ok(c, "smtp", "192.0.2.1");
	expect_counts(c, "lookup", "smtp", "192.0.2.1", 1, 2);
	disconnect_ok(c, "smtp", "192.0.2.1");
	expect_counts(c, "lookup", "smtp", "192.0.2.1", 0, 2);
	/* a disconnect that was never counted changes nothing */
	disconnect_ok(c, "smtp", "192.0.2.1");
	disconnect_ok(c, "smtp", "198.51.100.7");
	expect_counts(c, "lookup", "smtp", "192.0.2.1", 0, 2);
	expect_counts(c, "lookup", "submission", "192.0.2.1", 1, 1);
	anvil_client_close(&c);
	assert_null(c);
	anvil_client_close(&c);
}

/* Counts are shared by clients; those of a client that goes away are released. */
static void test_release_on_close(void **state)
{
	struct fixture *f = *state;
	struct anvil_client *a = open_client(f), *b = open_client(f), *c = open_client(f);

	expect_counts(a, "connect", "smtp", "192.0.2.5", 1, 1);
	expect_counts(a, "connect", "smtp", "192.0.2.5", 2, 2);
	expect_counts(b, "connect", "smtp", "192.0.2.5", 3, 3);
	expect_counts(a, "connect", "smtp", "192.0.2.6", 1, 1);
	/* b cannot release what a counted */
	disconnect_ok(b, "smtp", "192.0.2.6");
	expect_counts(c, "lookup", "smtp", "192.0.2.6", 1, 1);
	anvil_client_close(&a);
	/* the server notices the close on its own time: wait a little for it */
	for (int i = 0; i < 200; i++) {
		int n = -1, r = -1;
		char *error = NULL;

		assert_int_equal(anvil_lookup(c, "smtp", "192.0.2.5", &n, &r, &error), 0);
		if (n == 1)
			break;
		usleep(10000);
	}
	expect_counts(c, "lookup", "smtp", "192.0.2.5", 1, 3);
	expect_counts(c, "lookup", "smtp", "192.0.2.6", 0, 1);
	anvil_client_close(&b);
	anvil_client_close(&c);
}

static void test_rate_window(void **state)
{
	struct fixture *f = *state;
	struct anvil_client *c;

	server_stop(f);
	server_start(f, 300);
	c = open_client(f);
	expect_counts(c, "connect", "smtp", "192.0.2.9", 1, 1);
	expect_counts(c, "connect", "smtp", "192.0.2.9", 2, 2);
	usleep(400000);
	expect_counts(c, "lookup", "smtp", "192.0.2.9", 2, 0);
	expect_counts(c, "connect", "smtp", "192.0.2.9", 3, 1);
	anvil_client_close(&c);
}

static void test_invalid_names(void **state)
{
	struct fixture *f = *state;
	struct anvil_client *c = open_client(f);
	char *error = NULL, longname[ANVIL_CLIENT_MAX + 2];
	int n, r;

	assert_int_equal(anvil_connect(c, "", "192.0.2.1", &n, &r, &error), -1);
	assert_non_null(strstr(error, "service"));
	XFREE(error);
	assert_int_equal(anvil_connect(c, "smtp", "a b", &n, &r, &error), -1);
	assert_non_null(strstr(error, "client"));
	XFREE(error);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(anvil_connect(c, "smtp", longname, &n, &r, &error), -1);
	XFREE(error);
	longname[ANVIL_CLIENT_MAX] = '\0';
	expect_counts(c, "connect", "smtp", longname, 1, 1);
	anvil_client_close(&c);
}

/* raw - a connection that speaks the protocol by hand. */
static struct stream *raw(const struct fixture *f)
{
	char *error = NULL;
	int fd = sock_unix_connect(f->path, &error);
	struct stream *s;

	assert_true(fd >= 0);
	s = stream_create(fd);
	stream_set_timeout(s, 5000);
	assert_int_equal(attr_expect_protocol(s, "anvil", 1, &error), 0);
	return s;
}

static void expect_refusal(struct stream *s, const char *why)
{
	struct strbuf status = STRBUF_INIT, reason = STRBUF_INIT, line = STRBUF_INIT;
	char *error = NULL;

	assert_int_equal(attr_read(s, &error, ATTR_RECV_STR("status", &status),
				   ATTR_RECV_STR("reason", &reason), ATTR_END),
			 0);
	assert_string_equal(strbuf_str(&status), "error");
	if (strstr(strbuf_str(&reason), why) == NULL)
		fail_msg("reason \"%s\" does not mention \"%s\"", strbuf_str(&reason), why);
	/* and the server hangs up */
	assert_int_equal(stream_read_some(s, &line, 100), STREAM_EOF);
	strbuf_free(&status);
	strbuf_free(&reason);
	strbuf_free(&line);
}

static void test_refused(void **state)
{
	struct fixture *f = *state;
	struct stream *s;
	char *error = NULL;

	s = raw(f);
	assert_int_equal(attr_write(s, &error, ATTR_SEND_STR("request", "reset"),
				    ATTR_SEND_STR("service", "smtp"),
				    ATTR_SEND_STR("client", "192.0.2.1"), ATTR_END),
			 0);
	expect_refusal(s, "unknown request");
	stream_destroy(&s);

	s = raw(f);
	assert_int_equal(attr_write(s, &error, ATTR_SEND_STR("request", "connect"),
				    ATTR_SEND_STR("service", "smtp"), ATTR_END),
			 0);
	expect_refusal(s, "client");
	stream_destroy(&s);

	s = raw(f);
	assert_int_equal(attr_write(s, &error, ATTR_SEND_STR("request", "connect"),
				    ATTR_SEND_STR("service", "smtp"),
				    ATTR_SEND_STR("client", "192.0.2.1\t"), ATTR_END),
			 0);
	expect_refusal(s, "client address");
	stream_destroy(&s);

	s = raw(f);
	stream_puts(s, "7:request,7:connect,7:service,4:smtp,5:extra,1:x,0:,");
	assert_int_equal(stream_flush(s), STREAM_OK);
	expect_refusal(s, "extra");
	stream_destroy(&s);
}

static void test_reconnect(void **state)
{
	struct fixture *f = *state;
	struct anvil_client *c = open_client(f);
	char *error = NULL;
	int n, r;

	expect_counts(c, "connect", "smtp", "192.0.2.1", 1, 1);
	server_stop(f);
	assert_int_equal(anvil_lookup(c, "smtp", "192.0.2.1", &n, &r, &error), -1);
	XFREE(error);
	server_start(f, 60000);
	/* a fresh anvil: the old count is gone, the client connects again by itself */
	expect_counts(c, "connect", "smtp", "192.0.2.1", 1, 1);
	disconnect_ok(c, "smtp", "192.0.2.1");
	anvil_client_close(&c);
}

static void test_no_service(void **state)
{
	struct fixture *f = *state;
	char *error = NULL;

	server_stop(f);
	assert_null(anvil_client_open(f->dir, &error));
	assert_non_null(strstr(error, "private/anvil"));
	free(error);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_release_on_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_service, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
