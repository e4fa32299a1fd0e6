/*
 * dns_server - where questions go: resolver addresses as written in
 * dns_servers ("address", "address:port", "[v6address]:port"), or the
 * nameserver lines of resolv.conf.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dns.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/sock.h"

#define DNS_PORT 53

/* parse_port - a port number 1..65535; -1 if not. */
static int parse_port(const char *s)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

/* split - the address part (malloc'd) and the port of text; -1 when malformed. */
static int split(const char *text, char **host_r, int *port_r)
{
	const char *colon = strchr(text, ':'), *close;

	*port_r = DNS_PORT;
	if (text[0] == '[') {
		if ((close = strchr(text, ']')) == NULL)
			return -1;
		if (close[1] == ':' && (*port_r = parse_port(close + 2)) < 0)
			return -1;
		if (close[1] != '\0' && close[1] != ':')
			return -1;
		*host_r = xstrndup(text + 1, (size_t)(close - text - 1));
		return 0;
	}
	if (colon != NULL && strchr(colon + 1, ':') == NULL) { /* IPv4 with a port */
		if ((*port_r = parse_port(colon + 1)) < 0)
			return -1;
		*host_r = xstrndup(text, (size_t)(colon - text));
		return 0;
	}
	*host_r = xstrdup(text); /* IPv4, or IPv6 without brackets and port */
	return 0;
}

int dns_server_parse(const char *text, struct dns_server *server, char **error_r)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&server->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&server->addr;
	char *host = NULL;
	int port;

	memset(server, 0, sizeof(*server));
	if (split(text, &host, &port) < 0)
		goto bad;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1 && text[0] != '[') {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		server->addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		server->addrlen = sizeof(*sin6);
	} else {
		goto bad;
	}
	free(host);
	server->text = sock_addr_string((struct sockaddr *)&server->addr, server->addrlen);
	return 0;
bad:
	free(host);
	*error_r = xasprintf("DNS server \"%s\": must be an IP address, optionally with :port "
			     "(IPv6 in brackets then)",
			     text);
	return -1;
}

void dns_server_free(struct dns_server *server)
{
	free(server->text);
	server->text = NULL;
}

/* add_line - the server of a "nameserver ADDRESS" line, when it is one and parses. */
static void add_line(char *line, struct dns_server *servers, size_t *count)
{
	char *word, *save = NULL, *err = NULL;

	word = strtok_r(line, " \t\r\n", &save);
	if (word == NULL || strcmp(word, "nameserver") != 0 || *count >= DNS_SERVERS_MAX)
		return;
	if ((word = strtok_r(NULL, " \t\r\n", &save)) == NULL)
		return;
	/* a scope ("fe80::1%eth0") is not supported: such a line is skipped */
	if (dns_server_parse(word, &servers[*count], &err) < 0) {
		free(err);
		return;
	}
	(*count)++;
}

int dns_resolv_conf_servers(const char *path, struct dns_server **servers_r, size_t *count_r,
			    char **error_r)
{
	struct dns_server *servers = xcalloc(DNS_SERVERS_MAX, sizeof(*servers));
	size_t count = 0, cap = 0;
	char *line = NULL;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL && errno != ENOENT) {
		*error_r = xasprintf("open %s: %s", path, strerror(errno));
		free(servers);
		return -1;
	}
	while (fp != NULL && getline(&line, &cap, fp) > 0)
		add_line(line, servers, &count);
	free(line);
	if (fp != NULL)
		fclose(fp);
	if (count == 0 && dns_server_parse("127.0.0.1", &servers[count++], error_r) < 0)
		msg_panic("dns: cannot parse 127.0.0.1");
	*servers_r = servers;
	*count_r = count;
	return 0;
}
