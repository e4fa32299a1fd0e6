/*
 * test_sock - sockets over loopback: IPv4 and IPv6 listen/connect (IPv6
 * skipped when ::1 is not configured), wildcard binding, ports by name,
 * UNIX-domain sockets with stale-file removal and modes, accept flags, peer
 * names, connect timeouts and refusals, and descriptor passing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mymalloc.h"
#include "util/sock.h"

/* have_ipv6_loopback - whether ::1 can be bound on this host. */
static int have_ipv6_loopback(void)
{
	struct sockaddr_in6 sin6;
	int fd = socket(AF_INET6, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
	close(fd);
	return ok;
}

/* local_port - the port a listening socket got from the kernel, as a string. */
static char *local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	if (ss.ss_family == AF_INET)
		return xasprintf("%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	return xasprintf("%u", ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
}

static int has_flag(int fd, int getcmd, int flag)
{
	return (fcntl(fd, getcmd) & flag) != 0;
}

/* round_trip - connect to host:port, accept on lfd, exchange a byte, check names. */
static void round_trip(int lfd, const char *host, const char *port, const char *peer_prefix)
{
	char *error = NULL, *peer, *local, buf[4];
	int cfd, sfd;

	cfd = sock_inet_connect(host, port, 2000, &error);
	if (cfd < 0)
		fail_msg("connect %s:%s: %s", host, port, error);
	assert_false(has_flag(cfd, F_GETFL, O_NONBLOCK));
	assert_true(has_flag(cfd, F_GETFD, FD_CLOEXEC));
	sfd = sock_accept(lfd);
	assert_true(sfd >= 0);
	assert_true(has_flag(sfd, F_GETFL, O_NONBLOCK));
	assert_true(has_flag(sfd, F_GETFD, FD_CLOEXEC));
	peer = sock_peer_string(sfd);
	local = sock_local_string(cfd);
	assert_string_equal(peer, local);
	assert_memory_equal(peer, peer_prefix, strlen(peer_prefix));
	assert_int_equal(write(cfd, "hi", 2), 2);
	assert_int_equal(sock_set_nonblock(sfd, 0), 0);
	assert_int_equal(read(sfd, buf, sizeof(buf)), 2);
	free(peer);
	free(local);
	close(cfd);
	close(sfd);
}

static void test_inet4_listen_connect(void **state)
{
	char *error = NULL, *port;
	int *fds = NULL;
	size_t count = 0;

	assert_int_equal(sock_inet_listen("127.0.0.1", "0", AF_UNSPEC, 16, &fds, &count, &error),
			 0);
	assert_int_equal(count, 1);
	assert_true(has_flag(fds[0], F_GETFL, O_NONBLOCK));
	assert_true(has_flag(fds[0], F_GETFD, FD_CLOEXEC));
	/* Nothing pending: EAGAIN. */
	assert_int_equal(sock_accept(fds[0]), -1);
	assert_int_equal(errno, EAGAIN);
	port = local_port(fds[0]);
	round_trip(fds[0], "127.0.0.1", port, "[127.0.0.1]:");
	round_trip(fds[0], "[127.0.0.1]", port, "[127.0.0.1]:");
	close(fds[0]);
	free(fds);
	free(port);
}

static void test_inet6_listen_connect(void **state)
{
	char *error = NULL, *port;
	int *fds = NULL;
	size_t count = 0;

	if (!have_ipv6_loopback()) {
		skip();
		return;
	}
	assert_int_equal(sock_inet_listen("[::1]", "0", AF_UNSPEC, 16, &fds, &count, &error), 0);
	assert_int_equal(count, 1);
	port = local_port(fds[0]);
	round_trip(fds[0], "[::1]", port, "[::1]:");
	round_trip(fds[0], "::1", port, "[::1]:");
	close(fds[0]);
	free(fds);
	free(port);
}

/* test_wildcard - v4 and v6 wildcards bind separately on the same port. */
static void test_wildcard(void **state)
{
	char *error = NULL, *port;
	int *fds = NULL, *fds2 = NULL, v4 = -1, v6 = -1;
	size_t count = 0, count2 = 0, i;
	struct sockaddr_storage ss;
	socklen_t len;

	assert_int_equal(sock_inet_listen("127.0.0.1", "0", AF_UNSPEC, 16, &fds, &count, &error),
			 0);
	port = local_port(fds[0]);
	close(fds[0]);
	free(fds);
	fds = NULL;
	if (sock_inet_listen("all", port, AF_UNSPEC, 16, &fds, &count, &error) < 0) {
		/* Someone else took the port in between: not what is tested here. */
		free(error);
		free(port);
		skip();
		return;
	}
	for (i = 0; i < count; i++) {
		len = sizeof(ss);
		assert_int_equal(getsockname(fds[i], (struct sockaddr *)&ss, &len), 0);
		if (ss.ss_family == AF_INET)
			v4 = fds[i];
		else if (ss.ss_family == AF_INET6)
			v6 = fds[i];
	}
	assert_true(v4 >= 0);
	assert_int_equal(count, have_ipv6_loopback() ? 2 : 1);
	round_trip(v4, "127.0.0.1", port, "[127.0.0.1]:");
	if (v6 >= 0)
		round_trip(v6, "::1", port, "[::1]:");
	/* The port is taken now: a second listener fails with a message. */
	assert_int_equal(sock_inet_listen(NULL, port, AF_UNSPEC, 16, &fds2, &count2, &error), -1);
	assert_non_null(strstr(error, "in use"));
	free(error);
	for (i = 0; i < count; i++)
		close(fds[i]);
	free(fds);
	free(port);
}

/* test_family - restricting the IP version; an IPv6 wildcard is v6-only. */
static void test_family(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char *error = NULL;
	int *fds = NULL, on = 0;
	size_t count = 0;

	assert_int_equal(sock_inet_listen(NULL, "0", AF_INET, 4, &fds, &count, &error), 0);
	assert_int_equal(count, 1);
	assert_int_equal(getsockname(fds[0], (struct sockaddr *)&ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	close(fds[0]);
	free(fds);
	/* An IPv4 address asked for as IPv6 only does not resolve. */
	assert_int_equal(sock_inet_listen("127.0.0.1", "0", AF_INET6, 4, &fds, &count, &error), -1);
	free(error);
	error = NULL;
	if (!have_ipv6_loopback()) {
		skip();
		return;
	}
	assert_int_equal(sock_inet_listen("[::]", "0", AF_UNSPEC, 4, &fds, &count, &error), 0);
	assert_int_equal(count, 1);
	len = sizeof(on);
	assert_int_equal(getsockopt(fds[0], IPPROTO_IPV6, IPV6_V6ONLY, &on, &len), 0);
	assert_int_equal(on, 1);
	close(fds[0]);
	free(fds);
}

/* test_port_by_name - a service name from the services database binds its port. */
static void test_port_by_name(void **state)
{
	struct servent *se;
	char *error = NULL, *want, *got;
	int *fds = NULL, done = 0, tries = 0;
	size_t count = 0;

	setservent(0);
	while (!done && tries < 10 && (se = getservent()) != NULL) {
		if (strcmp(se->s_proto, "tcp") != 0 || ntohs((uint16_t)se->s_port) < 10000)
			continue;
		tries++;
		if (sock_inet_listen("127.0.0.1", se->s_name, AF_UNSPEC, 4, &fds, &count, &error) <
		    0) {
			free(error); /* busy on this host: try another entry */
			error = NULL;
			continue;
		}
		want = xasprintf("%u", ntohs((uint16_t)se->s_port));
		got = local_port(fds[0]);
		assert_string_equal(got, want);
		free(want);
		free(got);
		close(fds[0]);
		free(fds);
		done = 1;
	}
	endservent();
	if (!done)
		skip();
}

static void test_port_errors(void **state)
{
	char *error = NULL;
	int *fds = NULL;
	size_t count = 0;
	int fd;

	/* A service name that does not exist. */
	assert_int_equal(sock_inet_listen("127.0.0.1", "no-such-service-tern", AF_UNSPEC, 16, &fds,
					  &count, &error),
			 -1);
	assert_non_null(strstr(error, "no-such-service-tern"));
	free(error);
	error = NULL;
	/* Connection refused on a port nobody listens on. */
	assert_int_equal(sock_inet_listen("127.0.0.1", "0", AF_UNSPEC, 16, &fds, &count, &error),
			 0);
	{
		char *port = local_port(fds[0]);

		close(fds[0]);
		free(fds);
		fd = sock_inet_connect("127.0.0.1", port, 1000, &error);
		assert_int_equal(fd, -1);
		assert_non_null(strstr(error, "refused"));
		assert_non_null(strstr(error, port));
		free(error);
		error = NULL;
		free(port);
	}
	assert_int_equal(sock_inet_connect(NULL, "25", 1000, &error), -1);
	free(error);
}

static void test_unix_sockets(void **state)
{
	char dir[] = "/tmp/test_sock.XXXXXX", *path, *error = NULL, buf[2];
	struct stat st;
	int lfd, cfd, sfd, fd;

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/sock", dir);
	/* A stale socket is replaced. */
	lfd = sock_unix_listen(path, 8, 0600, &error);
	assert_true(lfd >= 0);
	close(lfd);
	lfd = sock_unix_listen(path, 8, 0666, &error);
	if (lfd < 0)
		fail_msg("%s", error);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0666);
	cfd = sock_unix_connect(path, &error);
	assert_true(cfd >= 0);
	sfd = sock_accept(lfd);
	assert_true(sfd >= 0);
	{
		char *peer = sock_peer_string(sfd);

		assert_string_equal(peer, "unix");
		free(peer);
	}
	assert_int_equal(write(cfd, "u", 1), 1);
	assert_int_equal(sock_set_nonblock(sfd, 0), 0);
	assert_int_equal(read(sfd, buf, 1), 1);
	close(cfd);
	close(sfd);
	close(lfd);
	/* A regular file is not replaced. */
	unlink(path);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(sock_unix_listen(path, 8, 0600, &error), -1);
	assert_non_null(strstr(error, "not a socket"));
	free(error);
	error = NULL;
	unlink(path);
	/* Nobody listening. */
	assert_int_equal(sock_unix_connect(path, &error), -1);
	free(error);
	error = NULL;
	rmdir(dir);
	free(path);
	/* A path too long for sun_path. */
	{
		char longpath[200];

		memset(longpath, 'a', sizeof(longpath) - 1);
		longpath[0] = '/';
		longpath[sizeof(longpath) - 1] = '\0';
		assert_int_equal(sock_unix_listen(longpath, 8, 0600, &error), -1);
		assert_non_null(strstr(error, "too long"));
		free(error);
	}
}

static void test_flags(void **state)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(sock_set_nonblock(sv[0], 1), 0);
	assert_true(has_flag(sv[0], F_GETFL, O_NONBLOCK));
	assert_int_equal(sock_set_nonblock(sv[0], 0), 0);
	assert_false(has_flag(sv[0], F_GETFL, O_NONBLOCK));
	assert_int_equal(sock_set_cloexec(sv[0], 1), 0);
	assert_true(has_flag(sv[0], F_GETFD, FD_CLOEXEC));
	assert_int_equal(sock_set_cloexec(sv[0], 0), 0);
	assert_false(has_flag(sv[0], F_GETFD, FD_CLOEXEC));
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(sock_set_nonblock(sv[0], 1), -1);
	assert_int_equal(errno, EBADF);
}

static void test_fd_passing(void **state)
{
	int chan[2], pipefd[2], got = -1;
	char *error = NULL, buf[8];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, chan), 0);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(sock_send_fd(chan[0], pipefd[1], &error), 0);
	close(pipefd[1]);
	assert_int_equal(sock_recv_fd(chan[1], 1000, &got, &error), 0);
	assert_true(got >= 0);
	assert_true(has_flag(got, F_GETFD, FD_CLOEXEC));
	/* The received descriptor is the pipe's write end. */
	assert_int_equal(write(got, "pass", 4), 4);
	close(got);
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pass", 4);
	close(pipefd[0]);

	/* Data without a descriptor is refused. */
	assert_int_equal(write(chan[0], "x", 1), 1);
	assert_int_equal(sock_recv_fd(chan[1], 1000, &got, &error), -1);
	assert_non_null(strstr(error, "got 0"));
	free(error);
	error = NULL;
	/* Nothing sent: timeout. */
	assert_int_equal(sock_recv_fd(chan[1], 50, &got, &error), -1);
	assert_non_null(strstr(error, "timed out"));
	free(error);
	error = NULL;
	/* The peer closes. */
	close(chan[0]);
	assert_int_equal(sock_recv_fd(chan[1], 1000, &got, &error), -1);
	assert_non_null(strstr(error, "closed"));
	free(error);
	error = NULL;
	close(chan[1]);
	/* Sending on a closed socket fails with a message. */
	assert_int_equal(sock_send_fd(chan[1], 0, &error), -1);
	assert_non_null(error);
	free(error);
}

/* test_addr_string - formatting of the address families. */
static void test_addr_string(void **state)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr sa;
	char *s;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(2525);
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	s = sock_addr_string((struct sockaddr *)&sin, sizeof(sin));
	assert_string_equal(s, "[192.0.2.7]:2525");
	free(s);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(143);
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	s = sock_addr_string((struct sockaddr *)&sin6, sizeof(sin6));
	assert_string_equal(s, "[2001:db8::1]:143");
	free(s);
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_APPLETALK;
	s = sock_addr_string(&sa, sizeof(sa));
	assert_string_equal(s, "unknown");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_inet4_listen_connect),
	    cmocka_unit_test(test_inet6_listen_connect),
	    cmocka_unit_test(test_wildcard),
	    cmocka_unit_test(test_family),
	    cmocka_unit_test(test_port_by_name),
	    cmocka_unit_test(test_port_errors),
	    cmocka_unit_test(test_unix_sockets),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_fd_passing),
	    cmocka_unit_test(test_addr_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
