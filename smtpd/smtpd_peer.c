/*
 * smtpd_peer - who the client is: its address and port, its host name
 * (the reverse lookup, believed only when the name's forward lookup gives
 * the address back; "unknown" otherwise), whether it is in mynetworks; and
 * the per-client connection count and rate limits, counted by anvil(8).
 */
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mail/anvil_client.h"
#include "mail/daemon.h"
#include "smtpd/smtpd.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* numeric - the address of sa as text, IPv4-mapped IPv6 shown as IPv4; NULL for non-IP. */
static char *numeric(const struct sockaddr_storage *ss, socklen_t len, char **port_r, int *port)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	const char *h = host;

	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return NULL;
	if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return NULL;
	if (ss->ss_family == AF_INET6 && strncmp(host, "::ffff:", 7) == 0 &&
	    strchr(host + 7, '.') != NULL)
		h = host + 7;
	if (port_r != NULL)
		*port_r = xstrdup(serv);
	if (port != NULL)
		*port = atoi(serv);
	return xstrdup(h);
}

/* forward_confirms - whether name resolves to addr (so the reverse lookup is believed). */
static int forward_confirms(const char *name, const char *addr)
{
	struct addrinfo hints, *res, *ai;
	char *text;
	int found = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai != NULL && !found; ai = ai->ai_next) {
		struct sockaddr_storage ss;

		if (ai->ai_addrlen > sizeof(ss))
			continue;
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		text = numeric(&ss, ai->ai_addrlen, NULL, NULL);
		found = text != NULL && strcmp(text, addr) == 0;
		free(text);
	}
	freeaddrinfo(res);
	return found;
}

/* verified_name - the client's host name, or "unknown". */
static char *verified_name(const struct sockaddr_storage *ss, socklen_t len, const char *addr)
{
	char host[NI_MAXHOST];
	size_t i;

	if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), NULL, 0,
			NI_NAMEREQD) != 0)
		return xstrdup("unknown");
	for (i = 0; host[i] != '\0'; i++) {
		char c = host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_'))
			return xstrdup("unknown");
	}
	if (!forward_confirms(host, addr))
		return xstrdup("unknown");
	for (i = 0; host[i] != '\0'; i++) {
		if (host[i] >= 'A' && host[i] <= 'Z')
			host[i] = (char)(host[i] - 'A' + 'a');
	}
	return xstrdup(host);
}

void smtpd_peer_init(struct smtpd_session *s)
{
	struct sockaddr_storage ss, local;
	socklen_t len = sizeof(ss), llen = sizeof(local);

	memset(&ss, 0, sizeof(ss));
	if (getpeername(s->conn.fd, (struct sockaddr *)&ss, &len) == 0)
		s->addr = numeric(&ss, len, &s->port, NULL);
	if (s->addr == NULL) {
		s->addr = xstrdup("unknown");
		s->port = xstrdup("0");
		s->name = xstrdup("unknown");
	} else if (s->srv->peername_lookup) {
		s->name = verified_name(&ss, len, s->addr);
	} else {
		s->name = xstrdup("unknown");
	}
	if (getsockname(s->conn.fd, (struct sockaddr *)&local, &llen) == 0) {
		char *text = numeric(&local, llen, NULL, &s->local_port);

		free(text);
	}
	s->namaddr = xasprintf("%s[%s]", s->name, s->addr);
	s->in_mynetworks = smtpd_netlist_match(&s->srv->mynetworks, s->addr);
}

/* anvil - the anvil client, opened on first use; NULL (logged) when unavailable. */
static struct anvil_client *anvil(struct smtpd_server *srv)
{
	char *error = NULL;

	if (srv->anvil == NULL &&
	    (srv->anvil = anvil_client_open(srv->queue_dir, &error)) == NULL) {
		msg_warn("anvil service unavailable, no connection limits: %s", error);
		free(error);
	}
	return srv->anvil;
}

int smtpd_peer_limits(struct smtpd_session *s)
{
	struct smtpd_server *srv = s->srv;
	const char *service = daemon_service(srv->dctx);
	struct anvil_client *a;
	char *error = NULL;
	int count = 0, rate = 0;

	if ((srv->conn_count_limit == 0 && srv->conn_rate_limit == 0) ||
	    strcmp(s->addr, "unknown") == 0 ||
	    smtpd_netlist_match(&srv->limit_exceptions, s->addr) || (a = anvil(srv)) == NULL)
		return 0;
	if (anvil_connect(a, service, s->addr, &count, &rate, &error) < 0) {
		msg_warn("anvil service unavailable, no connection limits: %s", error);
		free(error);
		anvil_client_close(&srv->anvil);
		return 0;
	}
	s->anvil_counted = 1;
	if (srv->conn_count_limit > 0 && count > srv->conn_count_limit) {
		msg_warn("Connection concurrency limit exceeded: %d from %s for service %s", count,
			 s->namaddr, service);
		smtpd_reply(s, "421 4.7.0 %s Error: too many connections from %s", srv->hostname,
			    s->addr);
		return -1;
	}
	if (srv->conn_rate_limit > 0 && rate > srv->conn_rate_limit) {
		msg_warn("Connection rate limit exceeded: %d from %s for service %s", rate,
			 s->namaddr, service);
		smtpd_reply(s, "421 4.7.0 %s Error: too many connections from %s", srv->hostname,
			    s->addr);
		return -1;
	}
	return 0;
}

void smtpd_peer_done(struct smtpd_session *s)
{
	struct smtpd_server *srv = s->srv;
	char *error = NULL;

	if (!s->anvil_counted || srv->anvil == NULL)
		return;
	s->anvil_counted = 0;
	if (anvil_disconnect(srv->anvil, daemon_service(srv->dctx), s->addr, &error) < 0) {
		msg_warn("anvil: %s", error);
		free(error);
		anvil_client_close(&srv->anvil);
	}
}
