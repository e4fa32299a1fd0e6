/*
 * anvil_client - the client side of the anvil protocol: one connection,
 * opened again after anvil went away, blocking requests with a timeout.
 * See anvil_client.h.
 */
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "mail/anvil_client.h"
#include "util/attr.h"
#include "util/mymalloc.h"
#include "util/sock.h"
#include "util/stream.h"

/* Longest status and reason an answer may carry. */
#define ANVIL_STATUS_MAX 16
#define ANVIL_REASON_MAX 512

struct anvil_client {
	char *path;
	struct stream *stream; /* NULL while not connected */
};

bool anvil_name_valid(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || (unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return i > 0;
}

static void disconnect(struct anvil_client *client)
{
	stream_destroy(&client->stream);
}

/* connect_now - open the socket and check the handshake. */
static int connect_now(struct anvil_client *client, char **error_r)
{
	char *error = NULL;
	int fd;

	if ((fd = sock_unix_connect(client->path, &error)) < 0) {
		*error_r = xasprintf("connect to anvil service %s: %s", client->path, error);
		free(error);
		return -1;
	}
	client->stream = stream_create(fd);
	stream_set_timeout(client->stream, ANVIL_CLIENT_TIMEOUT_MS);
	if (attr_expect_protocol(client->stream, ANVIL_PROTOCOL, ANVIL_PROTOCOL_VERSION, &error) <
	    0) {
		*error_r = xasprintf("anvil service %s: %s", client->path, error);
		free(error);
		disconnect(client);
		return -1;
	}
	return 0;
}

/*
 * peer_closed - whether the idle connection has something to read: anvil
 * never speaks unasked, so that is its end of file (it restarted).
 */
static int peer_closed(const struct anvil_client *client)
{
	struct pollfd pfd = {.fd = stream_fd(client->stream), .events = POLLIN};

	return stream_pending_input(client->stream) > 0 || poll(&pfd, 1, 0) != 0;
}

struct anvil_client *anvil_client_open(const char *queue_dir, char **error_r)
{
	struct anvil_client *client = xcalloc(1, sizeof(*client));
	size_t len = strlen(queue_dir);

	client->path = xasprintf("%s%s%s", queue_dir,
				 len > 0 && queue_dir[len - 1] == '/' ? "" : "/", ANVIL_SOCKET);
	if (connect_now(client, error_r) < 0) {
		anvil_client_close(&client);
		return NULL;
	}
	return client;
}

void anvil_client_close(struct anvil_client **clientp)
{
	struct anvil_client *client = *clientp;

	if (client == NULL)
		return;
	disconnect(client);
	free(client->path);
	free(client);
	*clientp = NULL;
}

static int clamp(long long n)
{
	return n < 0 ? 0 : n > INT_MAX ? INT_MAX : (int)n;
}

/* exchange - send one request and read its answer; counts into *count_r, *rate_r. */
static int exchange(struct anvil_client *client, const char *request, const char *service,
		    const char *addr, long long *count_r, long long *rate_r, char **error_r)
{
	struct strbuf status = STRBUF_INIT, reason = STRBUF_INIT;
	char *error = NULL;
	int rc = -1;

	if (attr_write(client->stream, &error, ATTR_SEND_STR("request", request),
		       ATTR_SEND_STR("service", service), ATTR_SEND_STR("client", addr),
		       ATTR_END) < 0 ||
	    attr_read(
		client->stream, &error,
		ATTR_MAX_LEN(ATTR_RECV_STR("status", &status), ANVIL_STATUS_MAX),
		ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_STR("reason", &reason), ANVIL_REASON_MAX)),
		ATTR_OPTIONAL(ATTR_RECV_INT("count", count_r)),
		ATTR_OPTIONAL(ATTR_RECV_INT("rate", rate_r)), ATTR_END) < 0) {
		*error_r = xasprintf("anvil service %s: %s", client->path, error);
		free(error);
		disconnect(client);
	} else if (strcmp(strbuf_str(&status), "ok") != 0) {
		*error_r = xasprintf("anvil service %s: %s: %s", client->path, strbuf_str(&status),
				     reason.len ? strbuf_str(&reason) : "no reason given");
		disconnect(client);
	} else if (*count_r < 0 || *rate_r < 0) {
		*error_r =
		    xasprintf("anvil service %s: answer without count and rate", client->path);
		disconnect(client);
	} else {
		rc = 0;
	}
	strbuf_free(&status);
	strbuf_free(&reason);
	return rc;
}

/* request - check the arguments, reconnect if needed, and run one exchange. */
static int request(struct anvil_client *client, const char *req, const char *service,
		   const char *addr, int *count_r, int *rate_r, char **error_r)
{
	long long count = -1, rate = -1;

	if (!anvil_name_valid(service, ANVIL_SERVICE_MAX)) {
		*error_r = xasprintf("anvil %s: invalid service name", req);
		return -1;
	}
	if (!anvil_name_valid(addr, ANVIL_CLIENT_MAX)) {
		*error_r = xasprintf("anvil %s: invalid client address", req);
		return -1;
	}
	if (client->stream != NULL && peer_closed(client))
		disconnect(client);
	if (client->stream == NULL && connect_now(client, error_r) < 0)
		return -1;
	if (exchange(client, req, service, addr, &count, &rate, error_r) < 0)
		return -1;
	if (count_r != NULL)
		*count_r = clamp(count);
	if (rate_r != NULL)
		*rate_r = clamp(rate);
	return 0;
}

int anvil_connect(struct anvil_client *client, const char *service, const char *client_addr,
		  int *count_r, int *rate_r, char **error_r)
{
	return request(client, "connect", service, client_addr, count_r, rate_r, error_r);
}

int anvil_disconnect(struct anvil_client *client, const char *service, const char *client_addr,
		     char **error_r)
{
	return request(client, "disconnect", service, client_addr, NULL, NULL, error_r);
}

int anvil_lookup(struct anvil_client *client, const char *service, const char *client_addr,
		 int *count_r, int *rate_r, char **error_r)
{
	return request(client, "lookup", service, client_addr, count_r, rate_r, error_r);
}
