/*
 * sock - TCP and UNIX-domain sockets, descriptor flags, peer names and
 * descriptor passing. See sock.h for the contracts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/sock.h"

#define SOCK_MAX_RECV_FDS 8

int sock_set_nonblock(int fd, int on)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -1;
	flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, flags) < 0 ? -1 : 0;
}

int sock_set_cloexec(int fd, int on)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0)
		return -1;
	flags = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
	return fcntl(fd, F_SETFD, flags) < 0 ? -1 : 0;
}

char *sock_addr_string(const struct sockaddr *sa, socklen_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		return xasprintf("[%s]:%u", addr, ntohs(sin->sin_port));
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		if (sin6->sin6_scope_id != 0)
			return xasprintf("[%s%%%u]:%u", addr, (unsigned int)sin6->sin6_scope_id,
					 ntohs(sin6->sin6_port));
		return xasprintf("[%s]:%u", addr, ntohs(sin6->sin6_port));
	}
	if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
		size_t off = offsetof(struct sockaddr_un, sun_path);

		if (len > off && sun->sun_path[0] != '\0')
			return xasprintf("unix:%.*s", (int)(len - off), sun->sun_path);
		return xstrdup("unix");
	}
	return xstrdup("unknown");
}

char *sock_peer_string(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return xstrdup("unknown");
	return sock_addr_string((struct sockaddr *)&ss, len);
}

char *sock_local_string(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return xstrdup("unknown");
	return sock_addr_string((struct sockaddr *)&ss, len);
}

/* strip_brackets - "[::1]" -> "::1" (malloc'd), NULL for the wildcard. */
static char *strip_brackets(const char *host)
{
	size_t len;

	if (host == NULL || *host == '\0' || strcmp(host, "all") == 0)
		return NULL;
	len = strlen(host);
	if (host[0] == '[' && len >= 2 && host[len - 1] == ']')
		return xstrndup(host + 1, len - 2);
	return xstrdup(host);
}

static int resolve(const char *host, const char *port, int family, int passive,
		   struct addrinfo **res, char **error_r)
{
	struct addrinfo hints;
	int err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	err = getaddrinfo(host, port, &hints, res);
	if (err != 0) {
		*error_r = xasprintf("resolve %s%s%s port %s: %s", host ? "[" : "",
				     host ? host : "*", host ? "]" : "", port, gai_strerror(err));
		return -1;
	}
	return 0;
}

/* listen_one - a listening socket on one address, or -1 with errno set. */
static int listen_one(const struct addrinfo *ai, int backlog)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ai->ai_addr;
	int fd, on = 1, saved, wildcard;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		goto fail;
	wildcard = ai->ai_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	if (wildcard && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		goto fail;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, backlog) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* skippable - an address family or address this host lacks, with other addresses to try. */
static int skippable(int err)
{
	return err == EAFNOSUPPORT || err == EADDRNOTAVAIL || err == EPROTONOSUPPORT;
}

int sock_inet_listen(const char *host, const char *port, int family, int backlog, int **fds_r,
		     size_t *count_r, char **error_r)
{
	struct addrinfo *res, *ai;
	char *name = strip_brackets(host), *where;
	int *fds = NULL, fd, first_err = 0, several;
	size_t count = 0, i;

	if (resolve(name, port, family, 1, &res, error_r) < 0) {
		free(name);
		return -1;
	}
	several = res->ai_next != NULL;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = listen_one(ai, backlog);
		if (fd >= 0) {
			fds = xreallocarray(fds, count + 1, sizeof(*fds));
			fds[count++] = fd;
			continue;
		}
		if (several && skippable(errno)) {
			if (first_err == 0)
				first_err = errno;
			continue;
		}
		first_err = errno;
		where = sock_addr_string(ai->ai_addr, ai->ai_addrlen);
		*error_r = xasprintf("listen on %s: %s", where, strerror(first_err));
		free(where);
		goto fail;
	}
	if (count == 0) {
		*error_r = xasprintf("listen on %s port %s: %s", name ? name : "*", port,
				     strerror(first_err));
		goto fail;
	}
	freeaddrinfo(res);
	free(name);
	*fds_r = fds;
	*count_r = count;
	return 0;
fail:
	for (i = 0; i < count; i++)
		close(fds[i]);
	free(fds);
	freeaddrinfo(res);
	free(name);
	return -1;
}

/* connect_one - connect within timeout_ms; a blocking descriptor, or -1 with errno. */
static int connect_one(const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int fd, err = 0, n;

	fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_CLOEXEC | (timeout_ms >= 0 ? SOCK_NONBLOCK : 0),
		    ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto connected;
	if (errno != EINPROGRESS || timeout_ms < 0)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		errno = ETIMEDOUT;
	if (n <= 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		goto fail;
	if (err != 0) {
		errno = err;
		goto fail;
	}
connected:
	if (sock_set_nonblock(fd, 0) < 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int sock_inet_connect(const char *host, const char *port, int timeout_ms, char **error_r)
{
	struct addrinfo *res, *ai;
	char *name = strip_brackets(host), *where = NULL;
	int fd = -1, err = 0;

	if (name == NULL) {
		*error_r = xasprintf("connect to port %s: no host given", port);
		return -1;
	}
	if (resolve(name, port, AF_UNSPEC, 0, &res, error_r) < 0) {
		free(name);
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = connect_one(ai, timeout_ms);
		if (fd < 0 && where == NULL) {
			err = errno;
			where = sock_addr_string(ai->ai_addr, ai->ai_addrlen);
		}
	}
	if (fd < 0)
		*error_r = xasprintf("connect to %s: %s", where, strerror(err));
	free(where);
	freeaddrinfo(res);
	free(name);
	return fd;
}

static int unix_address(const char *path, struct sockaddr_un *sun, char **error_r)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		*error_r = xasprintf("socket path too long (%zu bytes, at most %zu): %s",
				     strlen(path), sizeof(sun->sun_path) - 1, path);
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

int sock_unix_listen(const char *path, int backlog, mode_t mode, char **error_r)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	if (unix_address(path, &sun, error_r) < 0)
		return -1;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*error_r = xasprintf("%s exists and is not a socket", path);
			return -1;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			*error_r = xasprintf("remove stale socket %s: %s", path, strerror(errno));
			return -1;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = xasprintf("socket(AF_UNIX): %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = xasprintf("bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (chmod(path, mode) < 0 || listen(fd, backlog) < 0) {
		*error_r = xasprintf("listen on %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

int sock_unix_connect(const char *path, char **error_r)
{
	struct sockaddr_un sun;
	int fd, rc;

	if (unix_address(path, &sun, error_r) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = xasprintf("socket(AF_UNIX): %s", strerror(errno));
		return -1;
	}
	do
		rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		*error_r = xasprintf("connect to %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int sock_accept(int listen_fd)
{
	int fd;

	do
		fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0 && (errno == ECONNABORTED || errno == EPROTO || errno == EWOULDBLOCK))
		errno = EAGAIN;
	return fd;
}

int sock_send_fd(int sock, int fd, char **error_r)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg;
	struct cmsghdr *cmsg;
	struct iovec iov;
	char byte = 'F';
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	memset(&control, 0, sizeof(control));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		*error_r =
		    xasprintf("send descriptor: %s", n < 0 ? strerror(errno) : "short write");
		return -1;
	}
	return 0;
}

/* wait_readable - poll for input; 0, or -1 with *error_r. */
static int wait_readable(int sock, int timeout_ms, char **error_r)
{
	struct pollfd pfd;
	int n;

	if (timeout_ms < 0)
		return 0;
	pfd.fd = sock;
	pfd.events = POLLIN;
	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		*error_r =
		    xasprintf("receive descriptor: %s", n == 0 ? "timed out" : strerror(errno));
		return -1;
	}
	return 0;
}

/* collect_fds - the descriptors in msg's SCM_RIGHTS messages; returns how many. */
static size_t collect_fds(struct msghdr *msg, int *fds, size_t max)
{
	struct cmsghdr *cmsg;
	size_t count = 0, n, i;

	for (cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL; cmsg = CMSG_NXTHDR(msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n && count < max; i++)
			memcpy(&fds[count++], CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
	}
	return count;
}

int sock_recv_fd(int sock, int timeout_ms, int *fd_r, char **error_r)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * SOCK_MAX_RECV_FDS)];
		struct cmsghdr align;
	} control;
	int fds[SOCK_MAX_RECV_FDS];
	struct msghdr msg;
	struct iovec iov;
	char byte;
	size_t count, i;
	ssize_t n;

	if (wait_readable(sock, timeout_ms, error_r) < 0)
		return -1;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		*error_r = xasprintf("receive descriptor: %s",
				     n < 0 ? strerror(errno) : "peer closed the connection");
		return -1;
	}
	count = collect_fds(&msg, fds, SOCK_MAX_RECV_FDS);
	if (count == 1 && !(msg.msg_flags & MSG_CTRUNC)) {
		*fd_r = fds[0];
		return 0;
	}
	for (i = 0; i < count; i++)
		close(fds[i]);
	*error_r = xasprintf("receive descriptor: expected one descriptor, got %zu%s", count,
			     (msg.msg_flags & MSG_CTRUNC) ? " (truncated)" : "");
	return -1;
}
