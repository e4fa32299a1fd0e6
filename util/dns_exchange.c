/*
 * dns_exchange - one question to a list of recursive resolvers: UDP with a
 * timeout per try, TCP when the UDP answer is truncated (RFC 7766), the
 * next server when one fails. Synchronous, with poll(2); every socket is
 * connected to its server, so that packets from elsewhere are dropped by
 * the kernel, and every query has a random ID.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/dns.h"
#include "util/dns_impl.h"
#include "util/mymalloc.h"

/* One question in flight. */
struct question {
	const char *name;
	uint16_t type;
	uint16_t id;
	struct strbuf query; /* the packet; its first two bytes are the ID */
	long long deadline;  /* monotonic ms */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_fd - wait until fd is ready for events or the deadline passes: 0, or -1 with errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	long long left;
	int n;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* accept_answer - a parsed answer to q: 0 for NOERROR and NXDOMAIN, else -1 (msg freed). */
static int accept_answer(const struct dns_server *srv, struct dns_msg *msg, char **error_r)
{
	if (msg->rcode == DNS_RCODE_NOERROR || msg->rcode == DNS_RCODE_NXDOMAIN)
		return 0;
	*error_r = xasprintf("%s answered %s", srv->text, dns_rcode_name(msg->rcode));
	dns_msg_free(msg);
	return -1;
}

/* io_all - read or write len bytes on the non-blocking fd by the deadline; 0 or -1 with errno. */
static int io_all(int fd, void *buf, size_t len, int writing, long long deadline)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (writing)
			n = send(fd, (char *)buf + done, len - done, MSG_NOSIGNAL);
		else
			n = recv(fd, (char *)buf + done, len - done, 0);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || wait_fd(fd, writing ? POLLOUT : POLLIN, deadline) < 0)
			return -1;
	}
	return 0;
}

/* tcp_connect - a non-blocking TCP socket connected to srv by the deadline, or -1 with errno. */
static int tcp_connect(const struct dns_server *srv, long long deadline)
{
	int fd, err = 0;
	socklen_t len = sizeof(err);

	fd = socket(srv->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&srv->addr, srv->addrlen) == 0)
		return fd;
	if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0) {
		if (err == 0)
			return fd;
		errno = err;
	}
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* ask_tcp - the question over TCP (after a truncated UDP answer). */
static int ask_tcp(const struct dns_server *srv, struct question *q, struct dns_msg *msg,
		   char **error_r)
{
	unsigned char prefix[2] = {(unsigned char)(q->query.len >> 8),
				   (unsigned char)(q->query.len & 0xff)};
	struct strbuf answer = STRBUF_INIT;
	char *err = NULL;
	size_t len;
	int fd, ret = -1;

	if ((fd = tcp_connect(srv, q->deadline)) < 0 || io_all(fd, prefix, 2, 1, q->deadline) < 0 ||
	    io_all(fd, q->query.data, q->query.len, 1, q->deadline) < 0 ||
	    io_all(fd, prefix, 2, 0, q->deadline) < 0) {
		*error_r = xasprintf("TCP to %s: %s", srv->text, strerror(errno));
		goto out;
	}
	len = dns_get16(prefix);
	strbuf_reserve(&answer, len);
	if (io_all(fd, answer.data, len, 0, q->deadline) < 0) {
		*error_r = xasprintf("TCP to %s: %s", srv->text, strerror(errno));
		goto out;
	}
	answer.len = len;
	if (dns_msg_parse(answer.data, len, msg, &err) < 0) {
		*error_r = xasprintf("malformed answer from %s over TCP: %s", srv->text, err);
		dns_msg_free(msg);
		goto out;
	}
	if (!dns_msg_answers(msg, q->id, q->name, q->type)) {
		*error_r =
		    xasprintf("answer from %s over TCP does not match the question", srv->text);
		dns_msg_free(msg);
		goto out;
	}
	ret = accept_answer(srv, msg, error_r);
out:
	free(err);
	strbuf_free(&answer);
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * take_datagram - one UDP packet of len bytes: 1 when it is the answer
 * (*msg filled, or TCP asked and its outcome in *ret_r), 0 to ignore it.
 */
static int take_datagram(const struct dns_server *srv, struct question *q, const char *pkt,
			 size_t len, struct dns_msg *msg, bool *tcp_r, int *ret_r, char **error_r)
{
	char *err = NULL;

	if (len < DNS_HEADER_LEN || dns_get16((const unsigned char *)pkt) != q->id)
		return 0;
	if (dns_get16((const unsigned char *)pkt + 2) & DNS_FLAG_TC) {
		*tcp_r = true;
		*ret_r = ask_tcp(srv, q, msg, error_r);
		return 1;
	}
	if (dns_msg_parse(pkt, len, msg, &err) < 0 ||
	    !dns_msg_answers(msg, q->id, q->name, q->type)) {
		free(err); /* a forged or broken packet: keep waiting for the real answer */
		dns_msg_free(msg);
		return 0;
	}
	*ret_r = accept_answer(srv, msg, error_r);
	return 1;
}

/* ask_udp - one try of the question at srv. */
static int ask_udp(const struct dns_server *srv, struct question *q, struct dns_msg *msg,
		   bool *tcp_r, char **error_r)
{
	struct strbuf buf = STRBUF_INIT;
	int fd, ret = -1;
	ssize_t n;

	fd = socket(srv->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&srv->addr, srv->addrlen) < 0 ||
	    send(fd, q->query.data, q->query.len, 0) < 0) {
		*error_r = xasprintf("send to %s: %s", srv->text, strerror(errno));
		goto out;
	}
	strbuf_reserve(&buf, DNS_PACKET_MAX);
	for (;;) {
		if (wait_fd(fd, POLLIN, q->deadline) < 0) {
			*error_r =
			    xasprintf("%s: %s", srv->text,
				      errno == ETIMEDOUT ? "no answer (timeout)" : strerror(errno));
			goto out;
		}
		n = recv(fd, buf.data, DNS_PACKET_MAX, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			*error_r = xasprintf("%s: %s", srv->text, strerror(errno));
			goto out;
		}
		if (take_datagram(srv, q, buf.data, (size_t)n, msg, tcp_r, &ret, error_r))
			goto out;
	}
out:
	strbuf_free(&buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

enum dns_exchange_status dns_exchange(const struct dns_exchange_opts *opts, const char *name,
				      uint16_t type, struct dns_msg *msg, bool *used_tcp_r,
				      char **error_r)
{
	struct question q = {.name = name, .type = type};
	char *last = NULL;
	bool tcp = false;
	int round;
	size_t i;

	memset(msg, 0, sizeof(*msg));
	if (dns_query_build(&q.query, 0, name, type, opts->flags, error_r) < 0) {
		strbuf_free(&q.query);
		return DNS_EXCHANGE_BADNAME;
	}
	for (round = 0; round < (opts->rounds > 0 ? opts->rounds : 1); round++) {
		for (i = 0; i < opts->nservers; i++) {
			arc4random_buf(&q.id, sizeof(q.id));
			q.query.data[0] = (char)(q.id >> 8);
			q.query.data[1] = (char)(q.id & 0xff);
			q.deadline = now_ms() + opts->timeout_ms;
			free(last);
			last = NULL;
			tcp = false;
			if (ask_udp(&opts->servers[i], &q, msg, &tcp, &last) == 0) {
				strbuf_free(&q.query);
				if (used_tcp_r != NULL)
					*used_tcp_r = tcp;
				return DNS_EXCHANGE_OK;
			}
		}
	}
	strbuf_free(&q.query);
	*error_r = last != NULL ? last : xstrdup("no DNS servers");
	return DNS_EXCHANGE_ERROR;
}
