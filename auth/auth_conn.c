/*
 * auth_conn - the auth daemon's connections: the handshake, reading request
 * records with the incremental decoder, dispatching them, and sending the
 * answers with non-blocking output.
 *
 * A connection reads the next request only when the previous one has been
 * answered and the answer sent, so a client that does not read its answers
 * cannot make the daemon buffer without bound. Code that runs deep inside a
 * request (a reply that fails, the end of a wait) never frees the
 * connection itself: it arms the connection's zero-delay "kick" timer, and
 * the kick resumes or closes it from the top of the event loop.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "mail/auth_client.h"
#include "mail/daemon.h"
#include "util/attr.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/stream.h"

/* Requests one connection may have answered per turn of the loop (fairness). */
#define REQUESTS_PER_TURN 32

static void service(struct auth_conn *conn, unsigned int events);

static void on_kick(struct event_loop *loop, void *ctx)
{
	service(ctx, 0);
}

/* kick - go on with the connection from the top of the loop. */
static void kick(struct auth_conn *conn)
{
	if (!event_timer_pending(&conn->kick))
		event_timer_add(conn->server->loop, &conn->kick, 0, on_kick, conn);
}

static void update_mask(struct auth_conn *conn)
{
	size_t out = stream_pending_output(conn->stream);
	unsigned int mask = 0;

	if (!conn->busy && !conn->closing && out == 0)
		mask |= EVENT_READ;
	if (out > 0)
		mask |= EVENT_WRITE;
	event_fd_modify(conn->watch, mask);
}

void auth_conn_reply(struct auth_conn *conn, const struct attr_send *attrs)
{
	struct strbuf buf = STRBUF_INIT;

	attr_encode_array(&buf, attrs);
	stream_write(conn->stream, buf.data, buf.len);
	explicit_bzero(buf.data, buf.len);
	strbuf_free(&buf);
	if (conn->dead)
		return;
	if (stream_flush(conn->stream) == STREAM_ERROR) {
		conn->dead = 1;
		kick(conn);
		return;
	}
	update_mask(conn);
}

void auth_conn_error(struct auth_conn *conn, const char *reason)
{
	auth_conn_answer(conn, ATTR_SEND_STR("status", "error"), ATTR_SEND_STR("reason", reason));
}

void auth_conn_set_busy(struct auth_conn *conn, int busy)
{
	conn->busy = busy;
	if (!busy)
		kick(conn); /* requests may be buffered already */
	if (!conn->dead)
		update_mask(conn);
}

/* dispatch - act on the request record just decoded. */
static void dispatch(struct auth_conn *conn)
{
	const struct auth_request *req = &conn->req;
	enum auth_request_type type;
	char *error = NULL;

	if (auth_request_check(req, &type, &error) < 0) {
		msg_warn("request refused: %s", error);
		auth_conn_error(conn, error);
		free(error);
		return;
	}
	switch (type) {
	case AUTH_REQ_MECHANISMS:
		auth_sasl_mechanisms(conn, req);
		break;
	case AUTH_REQ_AUTH:
		auth_sasl_start(conn, req);
		break;
	case AUTH_REQ_CONTINUE:
		auth_sasl_continue(conn, req);
		break;
	case AUTH_REQ_ABORT:
		auth_sasl_abort(conn);
		auth_conn_answer(conn, ATTR_SEND_STR("status", "ok"));
		break;
	case AUTH_REQ_DOMAIN:
		auth_lookup_domain(conn, req);
		break;
	case AUTH_REQ_RESOLVE:
		auth_lookup_resolve(conn, req);
		break;
	case AUTH_REQ_ACCOUNT:
		auth_lookup_account(conn, req);
		break;
	}
}

/* idle - whether nothing is in progress on the connection: no request, no exchange. */
static int idle(const struct auth_conn *conn)
{
	return !conn->busy && conn->xchg == NULL && attr_decoder_idle(conn->dec) &&
	       stream_pending_input(conn->stream) == 0;
}

/*
 * read_requests - decode and answer requests while the connection may;
 * -1 when it ended. When the process is stopping, a connection is closed
 * once it has answered what was sent and holds no exchange.
 */
static int read_requests(struct auth_conn *conn)
{
	enum attr_decode_status dst;
	const void *data;
	size_t len, used;
	char *error = NULL;
	int answered = 0;

	while (!conn->busy && !conn->closing && !conn->dead &&
	       stream_pending_output(conn->stream) == 0 && answered < REQUESTS_PER_TURN) {
		data = stream_peek(conn->stream, &len);
		if (len == 0) {
			enum stream_status st = stream_fill(conn->stream);

			if (st == STREAM_OK)
				continue;
			if (st == STREAM_AGAIN) {
				if (daemon_stopping(conn->server->dctx) && idle(conn))
					conn->closing = 1;
				return 0;
			}
			if (st == STREAM_EOF && !attr_decoder_idle(conn->dec))
				msg_warn("connection closed in the middle of a request");
			auth_conn_close(conn);
			return -1;
		}
		dst = attr_decoder_feed(conn->dec, data, len, &used, &error);
		stream_skip(conn->stream, used);
		if (dst == ATTR_DECODE_ERROR) {
			msg_warn("malformed request: %s", error);
			auth_conn_error(conn, error);
			free(error);
			conn->closing = 1;
		} else if (dst == ATTR_DECODE_DONE) {
			dispatch(conn);
			auth_request_clear(&conn->req);
			answered++;
		}
	}
	if (answered == REQUESTS_PER_TURN)
		kick(conn);
	return 0;
}

/* service - flush, read, or close, as the connection's state says. */
static void service(struct auth_conn *conn, unsigned int events)
{
	if (conn->dead) {
		auth_conn_close(conn);
		return;
	}
	if (stream_pending_output(conn->stream) > 0 && stream_flush(conn->stream) == STREAM_ERROR) {
		auth_conn_close(conn);
		return;
	}
	if ((events & EVENT_ERROR) && (conn->busy || conn->closing)) {
		/* the client has gone while its answer was being worked out */
		auth_conn_close(conn);
		return;
	}
	if (read_requests(conn) < 0)
		return;
	if (conn->closing && stream_pending_output(conn->stream) == 0) {
		auth_conn_close(conn);
		return;
	}
	update_mask(conn);
}

static void on_io(struct event_loop *loop, int fd, unsigned int events, void *ctx)
{
	service(ctx, events);
}

void auth_conn_new(struct auth_server *server, int fd)
{
	struct auth_conn *conn = xcalloc(1, sizeof(*conn));

	conn->server = server;
	conn->stream = stream_create(fd);
	auth_request_init(&conn->req);
	conn->dec = auth_request_decoder(&conn->req, server->request_limit);
	conn->next = server->conns;
	if (server->conns != NULL)
		server->conns->prev = conn;
	server->conns = conn;
	server->nconns++;
	conn->watch = event_fd_add(server->loop, fd, EVENT_READ, on_io, conn);
	auth_conn_answer(conn, ATTR_SEND_STR("protocol", AUTH_PROTOCOL),
			 ATTR_SEND_INT("version", AUTH_PROTOCOL_VERSION));
}

void auth_conn_close(struct auth_conn *conn)
{
	struct auth_server *server = conn->server;

	auth_sasl_abort(conn);
	event_timer_cancel(server->loop, &conn->kick);
	event_fd_remove(&conn->watch);
	stream_destroy(&conn->stream);
	attr_decoder_destroy(&conn->dec);
	auth_request_free(&conn->req);
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		server->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	server->nconns--;
	free(conn);
	daemon_session_done(server->dctx);
}

void auth_conn_close_idle(struct auth_server *server)
{
	struct auth_conn *conn, *next;

	for (conn = server->conns; conn != NULL; conn = next) {
		next = conn->next;
		kick(conn);
	}
}
