/*
 * anvil_conn - one client connection of the anvil daemon: the handshake,
 * request records read with the incremental decoder, answers sent with
 * non-blocking output, and the connections counted for the client, which
 * are released when the connection closes (so that a client that crashes
 * leaks no counts).
 *
 * A connection reads the next request only when the answer to the previous
 * one is sent, so a client that does not read cannot make anvil buffer
 * without bound.
 */
#include <stdlib.h>
#include <string.h>

#include "anvil/anvil.h"
#include "anvil/anvil_table.h"
#include "mail/anvil_client.h"
#include "mail/daemon.h"
#include "util/attr.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/stream.h"

/* Requests answered per connection per turn of the loop (fairness). */
#define REQUESTS_PER_TURN 32
/* Different (service, client) pairs one connection may hold connections of. */
#define HELD_MAX 10000
/* The largest request record. */
#define REQUEST_MAX 1024

/* The connections of one pair that this client holds. */
struct held {
	struct anvil_entry *entry;
	long long n;
};

struct anvil_conn {
	struct anvil_server *server;
	struct anvil_conn *prev, *next;
	struct stream *stream;
	struct event_watch *watch;
	struct attr_decoder *dec;
	struct strbuf request, service, client;
	struct held *held;
	size_t nheld, held_size;
	struct event_timer kick;
	int closing; /* close once the output is sent */
	int dead;    /* the peer is gone: close at once */
};

static void service(struct anvil_conn *conn, unsigned int events);

static void on_kick(struct event_loop *loop, void *ctx)
{
	service(ctx, 0);
}

/* kick - go on with the connection from the top of the loop. */
static void kick(struct anvil_conn *conn)
{
	if (!event_timer_pending(&conn->kick))
		event_timer_add(conn->server->loop, &conn->kick, 0, on_kick, conn);
}

static void update_mask(struct anvil_conn *conn)
{
	size_t out = stream_pending_output(conn->stream);
	unsigned int mask = 0;

	if (!conn->closing && out == 0)
		mask |= EVENT_READ;
	if (out > 0)
		mask |= EVENT_WRITE;
	event_fd_modify(conn->watch, mask);
}

/* reply - queue one answer record and send what the socket takes. */
static void reply(struct anvil_conn *conn, const struct attr_send *attrs)
{
	struct strbuf buf = STRBUF_INIT;

	attr_encode_array(&buf, attrs);
	stream_write(conn->stream, buf.data, buf.len);
	strbuf_free(&buf);
	if (stream_flush(conn->stream) == STREAM_ERROR)
		conn->dead = 1;
}

static void reply_counts(struct anvil_conn *conn, long long count, long long rate)
{
	reply(conn, ATTR_SEND_LIST(ATTR_SEND_STR("status", "ok"), ATTR_SEND_INT("count", count),
				   ATTR_SEND_INT("rate", rate)));
}

/* refuse - answer an error and hang up once it is sent. */
static void refuse(struct anvil_conn *conn, const char *reason)
{
	msg_warn("request refused: %s", reason);
	reply(conn,
	      ATTR_SEND_LIST(ATTR_SEND_STR("status", "error"), ATTR_SEND_STR("reason", reason)));
	conn->closing = 1;
}

static struct held *held_find(struct anvil_conn *conn, const struct anvil_entry *e)
{
	size_t i;

	for (i = 0; i < conn->nheld; i++)
		if (conn->held[i].entry == e)
			return &conn->held[i];
	return NULL;
}

static void do_connect(struct anvil_conn *conn, const char *svc, const char *addr, uint64_t now)
{
	struct anvil_server *server = conn->server;
	struct anvil_entry *e = anvil_table_find(server->table, svc, addr);
	struct held *h = e ? held_find(conn, e) : NULL;
	long long count, rate;

	if (h == NULL && conn->nheld >= HELD_MAX) {
		refuse(conn, "too many different clients counted on one connection");
		return;
	}
	e = anvil_table_connect(server->table, svc, addr, now, &count, &rate);
	if (h == NULL) {
		if (conn->nheld == conn->held_size) {
			conn->held_size = conn->held_size ? conn->held_size * 2 : 4;
			conn->held =
			    xreallocarray(conn->held, conn->held_size, sizeof(*conn->held));
		}
		h = &conn->held[conn->nheld++];
		h->entry = e;
		h->n = 0;
	}
	h->n++;
	msg_debug("connect %s:%s: count=%lld rate=%lld", svc, addr, count, rate);
	reply_counts(conn, count, rate);
}

static void do_disconnect(struct anvil_conn *conn, const char *svc, const char *addr, uint64_t now)
{
	struct anvil_table *table = conn->server->table;
	struct anvil_entry *e = anvil_table_find(table, svc, addr);
	struct held *h = e ? held_find(conn, e) : NULL;

	if (h != NULL) {
		anvil_table_release(table, e, 1);
		if (--h->n == 0)
			*h = conn->held[--conn->nheld];
	} else {
		/* counted on an earlier connection, perhaps to an anvil that restarted */
		msg_debug("disconnect %s:%s: not counted on this connection", svc, addr);
	}
	reply_counts(conn, e ? anvil_entry_count(e) : 0, e ? anvil_entry_rate(table, e, now) : 0);
}

/* dispatch - act on the request record just decoded. */
static void dispatch(struct anvil_conn *conn)
{
	const char *req = strbuf_str(&conn->request);
	const char *svc = strbuf_str(&conn->service), *addr = strbuf_str(&conn->client);
	uint64_t now = event_now_ms(conn->server->loop);
	long long count, rate;

	if (!anvil_name_valid(svc, ANVIL_SERVICE_MAX)) {
		refuse(conn, "invalid service name");
	} else if (!anvil_name_valid(addr, ANVIL_CLIENT_MAX)) {
		refuse(conn, "invalid client address");
	} else if (strcmp(req, "connect") == 0) {
		do_connect(conn, svc, addr, now);
	} else if (strcmp(req, "disconnect") == 0) {
		do_disconnect(conn, svc, addr, now);
	} else if (strcmp(req, "lookup") == 0) {
		anvil_table_lookup(conn->server->table, svc, addr, now, &count, &rate);
		reply_counts(conn, count, rate);
	} else {
		refuse(conn, "unknown request");
	}
}

/* read_requests - decode and answer requests while the connection may; -1 when it ended. */
static int read_requests(struct anvil_conn *conn)
{
	enum attr_decode_status dst;
	enum stream_status st;
	const void *data;
	size_t len, used;
	char *error = NULL;
	int answered = 0;

	while (!conn->closing && !conn->dead && stream_pending_output(conn->stream) == 0) {
		if (answered == REQUESTS_PER_TURN) {
			kick(conn);
			break;
		}
		data = stream_peek(conn->stream, &len);
		if (len == 0) {
			st = stream_fill(conn->stream);
			if (st == STREAM_OK)
				continue;
			if (st == STREAM_AGAIN)
				break;
			if (st == STREAM_EOF && !attr_decoder_idle(conn->dec))
				msg_warn("connection closed in the middle of a request");
			return -1;
		}
		dst = attr_decoder_feed(conn->dec, data, len, &used, &error);
		stream_skip(conn->stream, used);
		if (dst == ATTR_DECODE_ERROR) {
			refuse(conn, error);
			XFREE(error);
		} else if (dst == ATTR_DECODE_DONE) {
			dispatch(conn);
			answered++;
		}
	}
	return 0;
}

static void conn_close(struct anvil_conn *conn)
{
	struct anvil_server *server = conn->server;
	size_t i;

	for (i = 0; i < conn->nheld; i++)
		anvil_table_release(server->table, conn->held[i].entry, conn->held[i].n);
	if (conn->nheld > 0)
		msg_debug("connection closed: released %zu client(s)", conn->nheld);
	free(conn->held);
	event_timer_cancel(server->loop, &conn->kick);
	event_fd_remove(&conn->watch);
	stream_destroy(&conn->stream);
	attr_decoder_destroy(&conn->dec);
	strbuf_free(&conn->request);
	strbuf_free(&conn->service);
	strbuf_free(&conn->client);
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		server->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	free(conn);
	daemon_session_done(server->dctx);
}

/* service - send, read, or close, as the connection's state says. */
static void service(struct anvil_conn *conn, unsigned int events)
{
	if (!conn->dead && stream_pending_output(conn->stream) > 0 &&
	    stream_flush(conn->stream) == STREAM_ERROR)
		conn->dead = 1;
	if (conn->dead || read_requests(conn) < 0 || conn->dead ||
	    (conn->closing && stream_pending_output(conn->stream) == 0)) {
		conn_close(conn);
		return;
	}
	update_mask(conn);
}

static void on_io(struct event_loop *loop, int fd, unsigned int events, void *ctx)
{
	service(ctx, events);
}

void anvil_conn_new(struct anvil_server *server, int fd)
{
	struct anvil_conn *conn = xcalloc(1, sizeof(*conn));

	conn->server = server;
	conn->stream = stream_create(fd);
	conn->dec = attr_decoder_create(ATTR_RECV_LIST(
	    ATTR_MAX_LEN(ATTR_RECV_STR("request", &conn->request), 16),
	    ATTR_MAX_LEN(ATTR_RECV_STR("service", &conn->service), ANVIL_SERVICE_MAX),
	    ATTR_MAX_LEN(ATTR_RECV_STR("client", &conn->client), ANVIL_CLIENT_MAX)));
	attr_decoder_set_limits(conn->dec, REQUEST_MAX, 3);
	conn->next = server->conns;
	if (server->conns != NULL)
		server->conns->prev = conn;
	server->conns = conn;
	conn->watch = event_fd_add(server->loop, fd, EVENT_READ, on_io, conn);
	reply(conn, ATTR_SEND_LIST(ATTR_SEND_STR("protocol", ANVIL_PROTOCOL),
				   ATTR_SEND_INT("version", ANVIL_PROTOCOL_VERSION)));
	if (conn->dead)
		kick(conn);
	else
		update_mask(conn);
}

void anvil_conn_close_all(struct anvil_server *server)
{
	struct anvil_conn *conn;

	for (conn = server->conns; conn != NULL; conn = conn->next) {
		conn->closing = 1;
		kick(conn);
	}
}
