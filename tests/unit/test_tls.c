/*
 * test_tls - self-signed certificates, and server and client sessions over a
 * non-blocking socketpair driven by poll: handshakes, data both ways,
 * verification with and without the right CA and host name, client
 * certificates, shutdown, and what a session reports about its peer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/mymalloc.h"
#include "util/strbuf.h"
#include "util/tls.h"

#define HOST "mail.example.test"

struct fixture {
	char *dir;
	char *cert, *key;	 /* server, for HOST */
	char *ccert, *ckey;	 /* a client's */
	int fds[2];		 /* [0] server, [1] client */
	struct tls_ctx *sctx;	 /* server context */
	struct tls_session *srv; /* server session */
	struct tls_session *cli; /* client session */
	struct tls_ctx *cctx;	 /* client context */
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *err = NULL;

	f->dir = xstrdup("/tmp/test_tls.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->cert = xasprintf("%s/cert.pem", f->dir);
	f->key = xasprintf("%s/key.pem", f->dir);
	f->ccert = xasprintf("%s/client.pem", f->dir);
	f->ckey = xasprintf("%s/client.key", f->dir);
	if (tls_selfsigned_create(f->cert, f->key, HOST, 30, &err) < 0 ||
	    tls_selfsigned_create(f->ccert, f->ckey, "client.example.test", 30, &err) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, f->fds) < 0 ||
	    fcntl(f->fds[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(f->fds[1], F_SETFL, O_NONBLOCK) < 0)
		return -1;
	f->sctx = tls_server_ctx_create(f->cert, f->key, &err);
	if (f->sctx == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->dir);
	int ret = system(cmd);

	tls_session_free(&f->srv);
	tls_session_free(&f->cli);
	tls_ctx_free(&f->sctx);
	tls_ctx_free(&f->cctx);
	close(f->fds[0]);
	close(f->fds[1]);
	free(cmd);
	free(f->dir);
	free(f->cert);
	free(f->key);
	free(f->ccert);
	free(f->ckey);
	free(f);
	return ret == 0 ? 0 : -1;
}

/* assert_contains - fail showing text unless it contains needle. */
static void assert_contains(const char *text, const char *needle)
{
	if (text == NULL || strstr(text, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", text ? text : "(null)", needle);
}

/* events - poll events for a session's wants. */
static short events(struct tls_session *s)
{
	unsigned w = tls_io_wants(s);

	return (short)(((w & TLS_WANT_READ) ? POLLIN : 0) | ((w & TLS_WANT_WRITE) ? POLLOUT : 0));
}

/* wait_for - poll the sockets of the sessions that wait for something. */
static void wait_for(struct fixture *f, int srv_waits, int cli_waits)
{
	struct pollfd pfd[2];
	nfds_t n = 0;

	if (srv_waits && events(f->srv) != 0) {
		pfd[n].fd = f->fds[0];
		pfd[n++].events = events(f->srv);
	}
	if (cli_waits && events(f->cli) != 0) {
		pfd[n].fd = f->fds[1];
		pfd[n++].events = events(f->cli);
	}
	if (n > 0)
		assert_true(poll(pfd, n, 2000) > 0);
}

/*
 * handshake - run both handshakes to their end; returns the client's status
 * and leaves the messages in *srv_err / *cli_err (NULL when fine).
 */
static enum tls_status handshake(struct fixture *f, enum tls_status *srv_st, char **srv_err,
				 char **cli_err)
{
	enum tls_status s = TLS_AGAIN, c = TLS_AGAIN;
	int rounds;

	*srv_err = *cli_err = NULL;
	for (rounds = 0; rounds < 200 && (s == TLS_AGAIN || c == TLS_AGAIN); rounds++) {
		if (s == TLS_AGAIN)
			s = tls_handshake(f->srv, srv_err);
		if (c == TLS_AGAIN)
			c = tls_handshake(f->cli, cli_err);
		/* Once one side failed, the other learns it from the alert or the closed socket. */
		if (s == TLS_ERROR && c == TLS_AGAIN)
			shutdown(f->fds[0], SHUT_RDWR);
		if (c == TLS_ERROR && s == TLS_AGAIN)
			shutdown(f->fds[1], SHUT_RDWR);
		if (s == TLS_AGAIN || c == TLS_AGAIN)
			wait_for(f, s == TLS_AGAIN, c == TLS_AGAIN);
	}
	assert_int_not_equal(s, TLS_AGAIN);
	assert_int_not_equal(c, TLS_AGAIN);
	*srv_st = s;
	return c;
}

/* start - a client session with the given verification, CA file and server name. */
static void start(struct fixture *f, enum tls_verify verify, const char *ca_file, const char *name)
{
	char *err = NULL;

	f->cctx = tls_client_ctx_create(verify, ca_file, NULL, &err);
	if (f->cctx == NULL)
		fail_msg("%s", err);
	f->srv = tls_session_server(f->sctx, f->fds[0], &err);
	assert_non_null(f->srv);
	f->cli = tls_session_client(f->cctx, f->fds[1], name, &err);
	assert_non_null(f->cli);
}

/* connect_ok - start and complete the handshake, which must succeed. */
static void connect_ok(struct fixture *f, enum tls_verify verify, const char *ca_file,
		       const char *name)
{
	enum tls_status s;
	char *serr, *cerr;

	start(f, verify, ca_file, name);
	if (handshake(f, &s, &serr, &cerr) != TLS_OK || s != TLS_OK)
		fail_msg("handshake failed: server: %s; client: %s", serr ? serr : "ok",
			 cerr ? cerr : "ok");
}

/* transfer - send len bytes from one session to the other, both non-blocking. */
static void transfer(struct fixture *f, int from_client, const unsigned char *data, size_t len)
{
	struct tls_session *src = from_client ? f->cli : f->srv;
	struct tls_session *dst = from_client ? f->srv : f->cli;
	int sfd = from_client ? f->fds[1] : f->fds[0], dfd = from_client ? f->fds[0] : f->fds[1];
	unsigned char *got = xmalloc(len), buf[4096];
	size_t sent = 0, rcvd = 0;
	struct pollfd pfd[2];
	ssize_t n;
	int rounds, again_seen = 0;

	for (rounds = 0; rounds < 100000 && rcvd < len; rounds++) {
		/* Write until TLS would block, so that the socket buffer fills. */
		while (sent < len) {
			n = tls_io_write(src, data + sent, len - sent);
			if (n > 0) {
				sent += (size_t)n;
				continue;
			}
			if (n < 0 && errno == EAGAIN) {
				again_seen = 1;
				break;
			}
			fail_msg("write: %s", tls_session_error(src));
		}
		for (;;) {
			n = tls_io_read(dst, buf, sizeof(buf));
			if (n > 0) {
				assert_true(rcvd + (size_t)n <= len);
				memcpy(got + rcvd, buf, (size_t)n);
				rcvd += (size_t)n;
				continue;
			}
			if (n < 0 && errno == EAGAIN)
				break;
			fail_msg("read: %zd %s", n, tls_session_error(dst));
		}
		if (rcvd == len)
			break;
		nfds_t k = 0;
		if (sent < len) {
			pfd[k].fd = sfd;
			pfd[k++].events = events(src);
		}
		pfd[k].fd = dfd;
		pfd[k++].events = events(dst) ? events(dst) : POLLIN;
		assert_true(poll(pfd, k, 2000) > 0);
	}
	assert_int_equal(rcvd, len);
	assert_memory_equal(got, data, len);
	if (len > 1000000)
		assert_true(again_seen); /* the socket buffer filled up at least once */
	free(got);
}

static void test_selfsigned_files(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	char *cmd, *err = NULL, *bad;

	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(f->cert, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	/* The openssl command accepts the certificate, with the name in subjectAltName. */
	if (system("openssl version >/dev/null 2>&1") != 0)
		skip();
	cmd = xasprintf("openssl verify -CAfile '%s' -verify_hostname " HOST " '%s' >/dev/null",
			f->cert, f->cert);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	cmd = xasprintf("openssl verify -CAfile '%s' -verify_hostname other.example.test '%s' "
			">/dev/null 2>&1",
			f->cert, f->cert);
	assert_int_not_equal(system(cmd), 0);
	free(cmd);
	cmd = xasprintf("openssl x509 -noout -text -in '%s' | grep -q 'DNS:" HOST "'", f->cert);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	cmd = xasprintf("openssl pkey -noout -in '%s'", f->key);
	assert_int_equal(system(cmd), 0);
	free(cmd);

	/* An IP address goes into subjectAltName as IP:. */
	bad = xasprintf("%s/ip.pem", f->dir);
	assert_int_equal(tls_selfsigned_create(bad, f->ckey, "192.0.2.7", 1, &err), 0);
	cmd =
	    xasprintf("openssl verify -CAfile '%s' -verify_ip 192.0.2.7 '%s' >/dev/null", bad, bad);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(bad);
}

static void test_selfsigned_errors(void **state)
{
	struct fixture *f = *state;
	char *err = NULL, *path = xasprintf("%s/no/such/dir/c.pem", f->dir);

	assert_int_equal(tls_selfsigned_create(f->ccert, f->ckey, "bad name,DNS:evil", 30, &err),
			 -1);
	assert_contains(err, "not a host name");
	XFREE(err);
	assert_int_equal(tls_selfsigned_create(f->ccert, f->ckey, "", 30, &err), -1);
	XFREE(err);
	assert_int_equal(tls_selfsigned_create(f->ccert, f->ckey, HOST, 0, &err), -1);
	assert_contains(err, "days");
	XFREE(err);
	assert_int_equal(tls_selfsigned_create(path, f->ckey, HOST, 30, &err), -1);
	assert_contains(err, path);
	XFREE(err);
	free(path);
}

static void test_exchange_both_ways(void **state)
{
	struct fixture *f = *state;
	static const char hello[] = "EHLO client.example.test\r\n";
	size_t big = 3 * 1024 * 1024 + 17, i;
	unsigned char *data = xmalloc(big);
	char *text;

	connect_ok(f, TLS_VERIFY_NONE, NULL, HOST);
	/* Nothing to read yet: "try again", waiting for the socket to be readable. */
	{
		char buf[8];

		assert_int_equal(tls_io_read(f->srv, buf, sizeof(buf)), -1);
		assert_int_equal(errno, EAGAIN);
		assert_int_equal(tls_io_wants(f->srv), TLS_WANT_READ);
		assert_int_equal(tls_io_pending(f->srv), 0);
		assert_int_equal(tls_io_read(f->srv, buf, 0), 0);
	}
	transfer(f, 1, (const unsigned char *)hello, sizeof(hello) - 1);
	for (i = 0; i < big; i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	transfer(f, 0, data, big);
	transfer(f, 1, data, big);
	free(data);

	assert_true(strcmp(tls_protocol(f->cli), "TLSv1.3") == 0 ||
		    strcmp(tls_protocol(f->cli), "TLSv1.2") == 0);
	assert_string_equal(tls_protocol(f->cli), tls_protocol(f->srv));
	assert_string_equal(tls_cipher(f->cli), tls_cipher(f->srv));
	assert_true(tls_cipher_bits(f->cli, NULL) >= 128);
	text = tls_summary(f->srv);
	assert_contains(text, " with cipher ");
	assert_contains(text, " bits)");
	free(text);
	/* Without the CA the client encrypts but does not trust the server. */
	assert_true(tls_peer_has_cert(f->cli));
	assert_false(tls_peer_verified(f->cli));
	assert_string_not_equal(tls_peer_verify_error(f->cli), "ok");
	/* The server did not ask for a client certificate. */
	assert_false(tls_peer_has_cert(f->srv));
	assert_null(tls_peer_subject(f->srv));
	assert_null(tls_peer_fingerprint(f->srv));
}

/* fingerprint_of - "AB:CD:..." of the certificate file, as the openssl command prints it. */
static char *fingerprint_of(const char *cert)
{
	char *cmd = xasprintf("openssl x509 -noout -fingerprint -sha256 -in '%s'", cert);
	FILE *fp = popen(cmd, "r");
	char line[256], *eq;

	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	pclose(fp);
	free(cmd);
	line[strcspn(line, "\n")] = '\0';
	eq = strchr(line, '=');
	assert_non_null(eq);
	return xstrdup(eq + 1);
}

static void test_verify_with_ca_and_name(void **state)
{
	struct fixture *f = *state;
	char *text, *want;

	connect_ok(f, TLS_VERIFY_PEER, f->cert, HOST);
	assert_true(tls_peer_verified(f->cli));
	assert_string_equal(tls_peer_verify_error(f->cli), "ok");
	text = tls_peer_subject_cn(f->cli);
	assert_string_equal(text, HOST);
	free(text);
	text = tls_peer_issuer_cn(f->cli);
	assert_string_equal(text, HOST);
	free(text);
	text = tls_peer_subject(f->cli);
	assert_string_equal(text, "CN=" HOST);
	free(text);
	text = tls_peer_issuer(f->cli);
	assert_string_equal(text, "CN=" HOST);
	free(text);
	if (system("openssl version >/dev/null 2>&1") == 0) {
		text = tls_peer_fingerprint(f->cli);
		want = fingerprint_of(f->cert);
		assert_string_equal(text, want);
		free(text);
		free(want);
	}
	text = tls_peer_pkey_fingerprint(f->cli);
	assert_int_equal(strlen(text), 32 * 3 - 1);
	free(text);
	transfer(f, 1, (const unsigned char *)"ping", 4);
	transfer(f, 0, (const unsigned char *)"pong", 4);
}

/* expect_refused - the handshake must fail on the client for a certificate reason. */
static void expect_refused(struct fixture *f)
{
	enum tls_status s;
	char *serr, *cerr;

	assert_int_equal(handshake(f, &s, &serr, &cerr), TLS_ERROR);
	assert_int_equal(s, TLS_ERROR);
	assert_non_null(cerr);
	assert_contains(cerr, "certificate verify failed");
	assert_string_not_equal(tls_session_error(f->cli), "");
	/* A failed session refuses further I/O. */
	assert_int_equal(tls_io_write(f->cli, "x", 1), -1);
	assert_int_equal(errno, EPROTO);
	free(serr);
	free(cerr);
}

static void test_verify_without_ca_refused(void **state)
{
	struct fixture *f = *state;

	/* The system store does not know the self-signed certificate. */
	start(f, TLS_VERIFY_PEER, NULL, HOST);
	expect_refused(f);
}

static void test_verify_wrong_name_refused(void **state)
{
	struct fixture *f = *state;

	start(f, TLS_VERIFY_PEER, f->cert, "other.example.test");
	expect_refused(f);
	assert_contains(tls_session_error(f->cli), "hostname mismatch");
}

static void test_verify_other_ca_refused(void **state)
{
	struct fixture *f = *state;

	start(f, TLS_VERIFY_PEER, f->ccert, HOST);
	expect_refused(f);
}

static void test_client_certificate(void **state)
{
	struct fixture *f = *state;
	char *err = NULL, *text;

	assert_int_equal(tls_ctx_request_client_cert(f->sctx, TLS_VERIFY_NONE, NULL, &err), 0);
	f->cctx = tls_client_ctx_create(TLS_VERIFY_PEER, f->cert, NULL, &err);
	assert_non_null(f->cctx);
	assert_int_equal(tls_ctx_use_cert(f->cctx, f->ccert, f->ckey, &err), 0);
	f->srv = tls_session_server(f->sctx, f->fds[0], &err);
	f->cli = tls_session_client(f->cctx, f->fds[1], HOST, &err);
	{
		enum tls_status s;
		char *serr, *cerr;

		assert_int_equal(handshake(f, &s, &serr, &cerr), TLS_OK);
		assert_int_equal(s, TLS_OK);
	}
	/* The server sees the client's certificate; it is not from a CA it trusts. */
	transfer(f, 1, (const unsigned char *)"MAIL FROM:<>\r\n", 14);
	assert_true(tls_peer_has_cert(f->srv));
	assert_false(tls_peer_verified(f->srv));
	text = tls_peer_subject_cn(f->srv);
	assert_string_equal(text, "client.example.test");
	free(text);
	assert_true(tls_peer_verified(f->cli));
}

static void test_client_certificate_required(void **state)
{
	struct fixture *f = *state;
	enum tls_status s;
	char *err = NULL, *serr, *cerr;

	assert_int_equal(tls_ctx_request_client_cert(f->sctx, TLS_VERIFY_PEER, NULL, &err), -1);
	XFREE(err);
	assert_int_equal(tls_ctx_request_client_cert(f->sctx, TLS_VERIFY_PEER, f->ccert, &err), 0);
	/* A client without a certificate is refused (in TLS 1.3 after its handshake ends). */
	start(f, TLS_VERIFY_NONE, NULL, HOST);
	handshake(f, &s, &serr, &cerr);
	assert_int_equal(s, TLS_ERROR);
	assert_contains(serr, "certificate");
	free(serr);
	free(cerr);
}

static void test_shutdown_and_close(void **state)
{
	struct fixture *f = *state;
	char *err = NULL, buf[16];
	enum tls_status st;
	ssize_t n;
	int rounds;

	connect_ok(f, TLS_VERIFY_NONE, NULL, HOST);
	transfer(f, 0, (const unsigned char *)"220 ready\r\n", 11);
	for (rounds = 0; (st = tls_shutdown(f->cli, &err)) == TLS_AGAIN && rounds < 100; rounds++)
		wait_for(f, 0, 1);
	assert_int_equal(st, TLS_OK);
	/* The server reads the clean close as end of file. */
	for (rounds = 0; rounds < 100; rounds++) {
		n = tls_io_read(f->srv, buf, sizeof(buf));
		if (n >= 0 || errno != EAGAIN)
			break;
		wait_for(f, 1, 0);
	}
	assert_int_equal(n, 0);
	assert_string_equal(tls_session_error(f->srv), "");
}

static void test_peer_vanishes(void **state)
{
	struct fixture *f = *state;
	char buf[16];
	ssize_t n;
	int rounds;

	connect_ok(f, TLS_VERIFY_NONE, NULL, HOST);
	/* The client reads everything sent to it (with TLS 1.3 session tickets)... */
	transfer(f, 0, (const unsigned char *)"220 ready\r\n", 11);
	/* ...and goes away without close_notify: end of file for the server. */
	close(f->fds[1]);
	f->fds[1] = -1;
	for (rounds = 0; rounds < 100; rounds++) {
		n = tls_io_read(f->srv, buf, sizeof(buf));
		if (n >= 0 || errno != EAGAIN)
			break;
		wait_for(f, 1, 0);
	}
	assert_int_equal(n, 0);
	/* Writing to it fails like write(2) on the socket. */
	n = tls_io_write(f->srv, "x", 1);
	assert_int_equal(n, -1);
	assert_true(errno == EPIPE || errno == ECONNRESET);
}

static void test_context_errors(void **state)
{
	struct fixture *f = *state;
	char *err = NULL, *missing = xasprintf("%s/missing.pem", f->dir);

	assert_null(tls_server_ctx_create(missing, f->key, &err));
	assert_contains(err, missing);
	XFREE(err);
	/* The client's key does not belong to the server's certificate. */
	assert_null(tls_server_ctx_create(f->cert, f->ckey, &err));
	assert_contains(err, f->ckey);
	assert_contains(err, "mismatch");
	XFREE(err);
	assert_null(tls_client_ctx_create(TLS_VERIFY_PEER, missing, NULL, &err));
	assert_contains(err, missing);
	XFREE(err);
	assert_int_equal(tls_ctx_set_ciphers(f->sctx, "NO-SUCH-CIPHER", &err), -1);
	assert_contains(err, "NO-SUCH-CIPHER");
	XFREE(err);
	assert_int_equal(tls_ctx_set_ciphers(f->sctx, "ECDHE+AESGCM", &err), 0);
	assert_null(tls_session_client(f->sctx, f->fds[1], HOST, &err));
	XFREE(err);
	free(missing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_selfsigned_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_selfsigned_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exchange_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_with_ca_and_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_without_ca_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_wrong_name_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_other_ca_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_certificate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_certificate_required, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shutdown_and_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_peer_vanishes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_context_errors, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
