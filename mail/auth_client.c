/*
 * auth_client - the client side of the auth protocol: connection (with
 * reconnection after the daemon closed an idle one), SASL relay and
 * directory lookups. See auth_client.h for the protocol.
 */
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "mail/auth_client.h"
#include "mail/mail_conf.h"
#include "mail/sasl.h"
#include "util/attr.h"
#include "util/mymalloc.h"
#include "util/sock.h"
#include "util/stream.h"

/* The mark of an unset buffer: any stored value, even empty, replaces it with a NUL. */
#define AUTH_ATTR_UNSET_MARK '\x01'
/* Sentinel of an INT attribute that was not sent. */
#define AUTH_INT_UNSET LLONG_MIN

struct auth_client {
	char *path;
	int timeout_ms;
	struct stream *stream; /* NULL while not connected */
};

/* Every attribute an answer may carry. */
struct answer {
	struct strbuf status, reason, mechanisms, challenge, authcid, authzid;
	struct strbuf address, store_path, display_name;
	long long count, quota_bytes, quota_messages, enabled;
};

void auth_attr_unset(struct strbuf *buf)
{
	strbuf_reserve(buf, 1);
	buf->len = 0;
	buf->data[0] = AUTH_ATTR_UNSET_MARK;
}

int auth_attr_isset(const struct strbuf *buf)
{
	return buf->data != NULL && buf->data[buf->len] == '\0';
}

void auth_client_reply_free(struct auth_client_reply *reply)
{
	strbuf_free(&reply->challenge);
	XFREE(reply->authcid);
	XFREE(reply->authzid);
	XFREE(reply->reason);
}

/* ---- the connection ---- */

char *auth_client_socket_path(const struct mail_conf *conf, int chrooted)
{
	if (chrooted)
		return xstrdup("/" AUTH_SOCKET);
	return xasprintf("%s/%s", mail_conf_str(conf, "queue_directory"), AUTH_SOCKET);
}

static void disconnect(struct auth_client *client)
{
	stream_destroy(&client->stream);
}

/* connect_now - open the socket and check the handshake. */
static int connect_now(struct auth_client *client, char **error_r)
{
	char *error = NULL;
	int fd;

	if ((fd = sock_unix_connect(client->path, &error)) < 0) {
		*error_r = xasprintf("connect to auth service %s: %s", client->path, error);
		free(error);
		return -1;
	}
	client->stream = stream_create(fd);
	stream_set_timeout(client->stream, client->timeout_ms);
	if (attr_expect_protocol(client->stream, AUTH_PROTOCOL, AUTH_PROTOCOL_VERSION, &error) <
	    0) {
		*error_r = xasprintf("auth service %s: %s", client->path, error);
		free(error);
		disconnect(client);
		return -1;
	}
	return 0;
}

/*
 * peer_closed - whether the idle connection has something to read: the
 * daemon never speaks unasked, so that is its end of file (or garbage).
 */
static int peer_closed(struct auth_client *client)
{
	struct pollfd pfd = {.fd = stream_fd(client->stream), .events = POLLIN};

	if (stream_pending_input(client->stream) > 0)
		return 1;
	return poll(&pfd, 1, 0) != 0;
}

static int ensure_connected(struct auth_client *client, char **error_r)
{
	if (client->stream != NULL && peer_closed(client))
		disconnect(client);
	if (client->stream == NULL)
		return connect_now(client, error_r);
	return 0;
}

struct auth_client *auth_client_open_path(const char *path, int timeout_ms, char **error_r)
{
	struct auth_client *client = xcalloc(1, sizeof(*client));

	client->path = xstrdup(path);
	client->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	if (connect_now(client, error_r) < 0) {
		auth_client_close(&client);
		return NULL;
	}
	return client;
}

struct auth_client *auth_client_open(const struct mail_conf *conf, int chrooted, char **error_r)
{
	char *path = auth_client_socket_path(conf, chrooted);
	long long secs = mail_conf_time(conf, "auth_client_timeout");
	struct auth_client *client;

	client = auth_client_open_path(path, secs > INT_MAX / 1000 ? INT_MAX : (int)secs * 1000,
				       error_r);
	free(path);
	return client;
}

void auth_client_close(struct auth_client **clientp)
{
	struct auth_client *client = *clientp;

	if (client == NULL)
		return;
	disconnect(client);
	free(client->path);
	free(client);
	*clientp = NULL;
}

/* ---- requests and answers ---- */

static void answer_init(struct answer *a)
{
	memset(a, 0, sizeof(*a));
	auth_attr_unset(&a->reason);
	auth_attr_unset(&a->mechanisms);
	auth_attr_unset(&a->challenge);
	auth_attr_unset(&a->authcid);
	auth_attr_unset(&a->authzid);
	auth_attr_unset(&a->address);
	auth_attr_unset(&a->store_path);
	auth_attr_unset(&a->display_name);
	a->count = a->quota_bytes = a->quota_messages = a->enabled = AUTH_INT_UNSET;
}

static void answer_free(struct answer *a)
{
	strbuf_free(&a->status);
	strbuf_free(&a->reason);
	strbuf_free(&a->mechanisms);
	strbuf_free(&a->challenge);
	strbuf_free(&a->authcid);
	strbuf_free(&a->authzid);
	strbuf_free(&a->address);
	strbuf_free(&a->store_path);
	strbuf_free(&a->display_name);
}

/* read_answer - one answer record into a (initialised). */
static int read_answer(struct auth_client *client, struct answer *a, char **error_r)
{
#define OPT_STR(name, field)                                                                       \
	ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_STR(name, &a->field), AUTH_VALUE_MAX))
#define OPT_INT(name, field) ATTR_OPTIONAL(ATTR_RECV_INT(name, &a->field))
	return attr_read(
	    client->stream, error_r, ATTR_MAX_LEN(ATTR_RECV_STR("status", &a->status), 32),
	    OPT_STR("reason", reason), OPT_STR("mechanisms", mechanisms),
	    ATTR_OPTIONAL(
		ATTR_MAX_LEN(ATTR_RECV_DATA("challenge", &a->challenge), SASL_RESPONSE_MAX)),
	    OPT_STR("authcid", authcid), OPT_STR("authzid", authzid), OPT_STR("address", address),
	    OPT_STR("store_path", store_path), OPT_STR("display_name", display_name),
	    OPT_INT("count", count), OPT_INT("quota_bytes", quota_bytes),
	    OPT_INT("quota_messages", quota_messages), OPT_INT("enabled", enabled), ATTR_END);
#undef OPT_STR
#undef OPT_INT
}

/*
 * roundtrip - send the request, read the answer into a (initialised).
 * Answers status=error become -1 too. Any failure closes the connection.
 */
static int roundtrip(struct auth_client *client, const struct attr_send *request, struct answer *a,
		     char **error_r)
{
	char *error = NULL;

	if (ensure_connected(client, error_r) < 0)
		return -1;
	if (attr_write_array(client->stream, request, &error) < 0 ||
	    read_answer(client, a, &error) < 0) {
		*error_r = xasprintf("auth service %s: %s", client->path, error);
		free(error);
		disconnect(client);
		return -1;
	}
	if (strcmp(a->status.data, "error") == 0) {
		*error_r =
		    xasprintf("auth service %s refused the request: %s", client->path,
			      auth_attr_isset(&a->reason) ? a->reason.data : "no reason given");
		disconnect(client);
		return -1;
	}
	return 0;
}

/* bad_answer - a status or a field the protocol does not allow here. */
static int bad_answer(struct auth_client *client, const struct answer *a, char **error_r)
{
	*error_r = xasprintf("auth service %s: unexpected answer (status=%s)", client->path,
			     a->status.data);
	disconnect(client);
	return -1;
}

int auth_client_mechanisms(struct auth_client *client, int tls, char **list_r, char **error_r)
{
	struct answer a;
	int ret = -1;

	answer_init(&a);
	if (roundtrip(client,
		      ATTR_SEND_LIST(ATTR_SEND_STR("request", "mechanisms"),
				     ATTR_SEND_INT("tls", tls ? 1 : 0)),
		      &a, error_r) < 0)
		goto out;
	if (strcmp(a.status.data, "ok") != 0 || !auth_attr_isset(&a.mechanisms)) {
		bad_answer(client, &a, error_r);
		goto out;
	}
	*list_r = xstrdup(a.mechanisms.data);
	ret = 0;
out:
	answer_free(&a);
	return ret;
}

/* auth_answer - the status of an answer to auth or continue, its fields into reply. */
static enum auth_status auth_answer(struct auth_client *client, struct answer *a,
				    struct auth_client_reply *reply, char **error_r)
{
	const char *st = a->status.data;

	if (strcmp(st, "continue") == 0) {
		if (auth_attr_isset(&a->challenge))
			strbuf_append(&reply->challenge, a->challenge.data, a->challenge.len);
		return AUTH_CONTINUE;
	}
	if (strcmp(st, "ok") == 0) {
		if (!auth_attr_isset(&a->authcid) || a->authcid.len == 0 ||
		    !auth_attr_isset(&a->authzid) || a->authzid.len == 0)
			return bad_answer(client, a, error_r);
		reply->authcid = xstrdup(a->authcid.data);
		reply->authzid = xstrdup(a->authzid.data);
		return AUTH_OK;
	}
	if (strcmp(st, "fail") == 0 || strcmp(st, "tempfail") == 0) {
		reply->reason = xstrdup(auth_attr_isset(&a->reason) ? a->reason.data : "");
		return st[0] == 'f' ? AUTH_FAILED : AUTH_TEMPFAIL;
	}
	return bad_answer(client, a, error_r);
}

/* auth_request - send an auth or continue request and interpret the answer. */
static enum auth_status auth_request(struct auth_client *client, const struct attr_send *request,
				     struct auth_client_reply *reply, char **error_r)
{
	struct answer a;
	enum auth_status st = AUTH_ERROR;

	auth_client_reply_free(reply);
	answer_init(&a);
	if (roundtrip(client, request, &a, error_r) == 0)
		st = auth_answer(client, &a, reply, error_r);
	if (a.challenge.data != NULL)
		explicit_bzero(a.challenge.data, a.challenge.size);
	answer_free(&a);
	return st;
}

enum auth_status auth_client_start(struct auth_client *client, const struct auth_client_info *info,
				   const char *mech, const void *response, size_t len,
				   struct auth_client_reply *reply, char **error_r)
{
	struct attr_send req[] = {
	    ATTR_SEND_STR("request", "auth"),
	    ATTR_SEND_STR("mechanism", mech),
	    ATTR_SEND_STR("service", info->service),
	    ATTR_SEND_STR("client_addr", info->client_addr),
	    ATTR_SEND_INT("local_port", info->local_port),
	    ATTR_SEND_INT("tls", info->tls ? 1 : 0),
	    ATTR_SEND_DATA("response", response, len),
	    ATTR_END,
	};

	if (response == NULL)
		req[6] = (struct attr_send)ATTR_END;
	return auth_request(client, req, reply, error_r);
}

enum auth_status auth_client_continue(struct auth_client *client, const void *response, size_t len,
				      struct auth_client_reply *reply, char **error_r)
{
	if (client->stream == NULL) {
		auth_client_reply_free(reply);
		*error_r = xasprintf("auth service %s: the connection was lost during the exchange",
				     client->path);
		return AUTH_ERROR;
	}
	return auth_request(client,
			    ATTR_SEND_LIST(ATTR_SEND_STR("request", "continue"),
					   ATTR_SEND_DATA("response", response, len)),
			    reply, error_r);
}

int auth_client_abort(struct auth_client *client, char **error_r)
{
	struct answer a;
	int ret = -1;

	if (client->stream == NULL)
		return 0; /* the exchange died with the connection */
	answer_init(&a);
	if (roundtrip(client, ATTR_SEND_LIST(ATTR_SEND_STR("request", "abort")), &a, error_r) < 0)
		goto out;
	if (strcmp(a.status.data, "ok") != 0) {
		bad_answer(client, &a, error_r);
		goto out;
	}
	ret = 0;
out:
	answer_free(&a);
	return ret;
}

enum auth_status auth_client_login(struct auth_client *client, const struct auth_client_info *info,
				   const char *user, const char *password,
				   struct auth_client_reply *reply, char **error_r)
{
	struct strbuf msg = STRBUF_INIT;
	enum auth_status st;

	strbuf_putc(&msg, '\0');
	strbuf_puts(&msg, user);
	strbuf_putc(&msg, '\0');
	strbuf_puts(&msg, password);
	st = auth_client_start(client, info, "PLAIN", msg.data, msg.len, reply, error_r);
	explicit_bzero(msg.data, msg.len);
	strbuf_free(&msg);
	if (st == AUTH_CONTINUE) {
		auth_client_reply_free(reply);
		*error_r = xasprintf("auth service %s: PLAIN asked for more", client->path);
		disconnect(client);
		return AUTH_ERROR;
	}
	return st;
}

/* ---- lookups ---- */

/* lookup_status - DIR_FOUND, DIR_NOTFOUND, or DIR_ERROR for tempfail or a bad status. */
static enum dir_result lookup_status(struct auth_client *client, const struct answer *a,
				     char **error_r)
{
	if (strcmp(a->status.data, "ok") == 0)
		return DIR_FOUND;
	if (strcmp(a->status.data, "notfound") == 0)
		return DIR_NOTFOUND;
	if (strcmp(a->status.data, "tempfail") == 0) {
		*error_r =
		    xasprintf("auth service %s: lookup failed: %s", client->path,
			      auth_attr_isset(&a->reason) ? a->reason.data : "no reason given");
		return DIR_ERROR;
	}
	bad_answer(client, a, error_r);
	return DIR_ERROR;
}

enum dir_result auth_client_domain(struct auth_client *client, const char *domain, char **error_r)
{
	struct answer a;
	enum dir_result res = DIR_ERROR;

	answer_init(&a);
	if (roundtrip(
		client,
		ATTR_SEND_LIST(ATTR_SEND_STR("request", "domain"), ATTR_SEND_STR("domain", domain)),
		&a, error_r) == 0)
		res = lookup_status(client, &a, error_r);
	answer_free(&a);
	return res;
}

/* read_target - one record of a resolve answer into t. */
static int read_target(struct auth_client *client, struct dir_target *t, char **error_r)
{
	struct strbuf address = STRBUF_INIT, detail = STRBUF_INIT;
	char *error = NULL;
	long long local = AUTH_INT_UNSET, enabled = AUTH_INT_UNSET;
	int ret = -1;

	auth_attr_unset(&detail);
	if (attr_read(client->stream, &error,
		      ATTR_MAX_LEN(ATTR_RECV_STR("address", &address), AUTH_VALUE_MAX),
		      ATTR_RECV_INT("local", &local), ATTR_RECV_INT("enabled", &enabled),
		      ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_STR("detail", &detail), AUTH_VALUE_MAX)),
		      ATTR_END) < 0) {
		*error_r = xasprintf("auth service %s: %s", client->path, error);
		free(error);
	} else if (address.len == 0 || (local != 0 && local != 1) ||
		   (enabled != 0 && enabled != 1)) {
		*error_r = xasprintf("auth service %s: malformed resolve answer", client->path);
	} else {
		t->address = strbuf_detach(&address);
		t->local = (int)local;
		t->enabled = (int)enabled;
		t->detail = auth_attr_isset(&detail) ? xstrdup(detail.data) : NULL;
		ret = 0;
	}
	strbuf_free(&address);
	strbuf_free(&detail);
	return ret;
}

enum dir_result auth_client_resolve(struct auth_client *client, const char *address,
				    struct dir_targets *targets, char **error_r)
{
	struct answer a;
	enum dir_result res = DIR_ERROR;
	size_t i;

	targets->items = NULL;
	targets->count = 0;
	answer_init(&a);
	if (roundtrip(client,
		      ATTR_SEND_LIST(ATTR_SEND_STR("request", "resolve"),
				     ATTR_SEND_STR("address", address)),
		      &a, error_r) < 0)
		goto out;
	if ((res = lookup_status(client, &a, error_r)) != DIR_FOUND)
		goto out;
	if (a.count < 0 || a.count > AUTH_RESOLVE_MAX) {
		res = bad_answer(client, &a, error_r);
		goto out;
	}
	targets->items = xcalloc((size_t)a.count + 1, sizeof(*targets->items));
	for (i = 0; i < (size_t)a.count; i++) {
		if (read_target(client, &targets->items[i], error_r) < 0) {
			disconnect(client);
			dir_targets_free(targets);
			res = DIR_ERROR;
			goto out;
		}
		targets->count++;
	}
out:
	answer_free(&a);
	return res;
}

enum dir_result auth_client_account(struct auth_client *client, const char *address,
				    struct dir_account *account, char **error_r)
{
	struct answer a;
	enum dir_result res = DIR_ERROR;

	memset(account, 0, sizeof(*account));
	answer_init(&a);
	if (roundtrip(client,
		      ATTR_SEND_LIST(ATTR_SEND_STR("request", "account"),
				     ATTR_SEND_STR("address", address)),
		      &a, error_r) < 0)
		goto out;
	if ((res = lookup_status(client, &a, error_r)) != DIR_FOUND)
		goto out;
	if (!auth_attr_isset(&a.address) || a.address.len == 0 || !auth_attr_isset(&a.store_path) ||
	    !auth_attr_isset(&a.display_name) || a.quota_bytes < 0 || a.quota_messages < 0 ||
	    (a.enabled != 0 && a.enabled != 1)) {
		res = bad_answer(client, &a, error_r);
		goto out;
	}
	account->address = xstrdup(a.address.data);
	account->password_hash = NULL;
	account->quota_bytes = (uint64_t)a.quota_bytes;
	account->quota_messages = (uint64_t)a.quota_messages;
	account->store_path = xstrdup(a.store_path.data);
	account->enabled = (int)a.enabled;
	account->display_name = xstrdup(a.display_name.data);
out:
	answer_free(&a);
	return res;
}
