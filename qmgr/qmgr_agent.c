/*
 * qmgr_agent - non-blocking connections to delivery agents: connect,
 * handshake, request, per-recipient answers, idle time. See qmgr_agent.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mail/deliver_proto.h"
#include "qmgr/qmgr_agent.h"
#include "util/attr.h"
#include "util/event.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/stream.h"

#define AGENT_RECORD_MAX 65536 /* bytes of one answer record */
#define AGENT_TEXT_MAX 8192    /* bytes of an answer's text */
#define AGENT_SHORT_MAX 1024   /* bytes of dsn, relay, protocol */

enum agent_state {
	AGENT_HANDSHAKE, /* waiting for the agent's first words */
	AGENT_IDLE,	 /* ready for a delivery */
	AGENT_BUSY,	 /* a delivery is in progress */
};

struct tport {
	char *name;
	struct qmgr_agent *list; /* every connection */
	size_t count, opening;
	struct tport *next;
};

struct qmgr_agents {
	struct event_loop *loop;
	char *queue_dir;
	int timeout_ms, process_limit;
	const struct qmgr_agent_ops *ops;
	void *ctx;
	struct tport *tports;
	size_t busy;
};

struct qmgr_agent {
	struct qmgr_agents *pool;
	struct tport *tp;
	struct qmgr_agent *prev, *next;
	struct stream *s;
	struct event_watch *watch;
	struct event_timer timer;
	enum agent_state state;
	struct attr_decoder *hello, *reply;
	struct strbuf protocol;
	long long version;
	long long offset, status, done; /* of the answer record being read */
	struct strbuf dsn, text, relay;
	void *delivery;
	int deliveries; /* started on this connection */
	size_t got;	/* bytes received for the current delivery */
};

static void on_io(struct event_loop *loop, int fd, unsigned int events, void *ctx);
static void fail(struct qmgr_agent *a, const char *why);
static void on_timer(struct event_loop *loop, void *ctx);

int qmgr_agent_name_valid(const char *name)
{
	size_t n =
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.");

	return name[0] != '\0' && name[0] != '.' && name[n] == '\0' && n <= 64;
}

struct qmgr_agents *qmgr_agents_create(struct event_loop *loop, const char *queue_dir,
				       int timeout_ms, int process_limit,
				       const struct qmgr_agent_ops *ops, void *ctx)
{
	struct qmgr_agents *pool = xcalloc(1, sizeof(*pool));

	pool->loop = loop;
	pool->queue_dir = xstrdup(queue_dir);
	pool->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	pool->process_limit = process_limit > 0 ? process_limit : 1;
	pool->ops = ops;
	pool->ctx = ctx;
	return pool;
}

static struct tport *tport_get(struct qmgr_agents *pool, const char *name)
{
	struct tport *tp;

	for (tp = pool->tports; tp != NULL; tp = tp->next)
		if (strcmp(tp->name, name) == 0)
			return tp;
	tp = xcalloc(1, sizeof(*tp));
	tp->name = xstrdup(name);
	tp->next = pool->tports;
	pool->tports = tp;
	return tp;
}

/* agent_free - close the connection and forget it (no callback). */
static void agent_free(struct qmgr_agent *a)
{
	struct tport *tp = a->tp;

	if (a->prev != NULL)
		a->prev->next = a->next;
	else
		tp->list = a->next;
	if (a->next != NULL)
		a->next->prev = a->prev;
	tp->count--;
	if (a->state == AGENT_HANDSHAKE)
		tp->opening--;
	if (a->state == AGENT_BUSY)
		a->pool->busy--;
	event_timer_cancel(a->pool->loop, &a->timer);
	event_fd_remove(&a->watch);
	stream_destroy(&a->s);
	attr_decoder_destroy(&a->hello);
	attr_decoder_destroy(&a->reply);
	strbuf_free(&a->protocol);
	strbuf_free(&a->dsn);
	strbuf_free(&a->text);
	strbuf_free(&a->relay);
	free(a);
}

void qmgr_agents_free(struct qmgr_agents **poolp)
{
	struct qmgr_agents *pool = *poolp;
	struct tport *tp;

	if (pool == NULL)
		return;
	while ((tp = pool->tports) != NULL) {
		while (tp->list != NULL)
			fail(tp->list, tp->list->state == AGENT_BUSY ? "qmgr is stopping" : NULL);
		pool->tports = tp->next;
		free(tp->name);
		free(tp);
	}
	free(pool->queue_dir);
	free(pool);
	*poolp = NULL;
}

size_t qmgr_agents_busy(const struct qmgr_agents *pool)
{
	return pool->busy;
}

/*
 * fail - the connection is over: a delivery in progress ends FAILED with
 * why; a broken handshake or idle connection is only logged (when why).
 */
static void fail(struct qmgr_agent *a, const char *why)
{
	struct qmgr_agents *pool = a->pool;
	void *delivery = a->delivery;
	int fresh = a->deliveries <= 1 || a->got > 0;
	char *name = xstrdup(a->tp->name);
	enum agent_state state = a->state;

	agent_free(a);
	if (state == AGENT_BUSY) {
		pool->ops->end(pool->ctx, delivery, QMGR_AGENT_FAILED, why, fresh);
	} else if (why != NULL) {
		msg_warn("delivery agent %s: %s", name, why);
	}
	free(name);
}

/* set_mask - what to wait for: output to flush, else input. */
static void set_mask(struct qmgr_agent *a)
{
	unsigned mask = EVENT_READ;

	if (stream_pending_output(a->s) > 0)
		mask |= EVENT_WRITE;
	event_fd_modify(a->watch, mask);
}

/* become_idle - the connection waits for work, for QMGR_AGENT_IDLE_MS at most. */
static void become_idle(struct qmgr_agent *a)
{
	if (a->state == AGENT_HANDSHAKE)
		a->tp->opening--;
	if (a->state == AGENT_BUSY)
		a->pool->busy--;
	a->state = AGENT_IDLE;
	a->delivery = NULL;
	event_timer_add(a->pool->loop, &a->timer, QMGR_AGENT_IDLE_MS, on_timer, a);
}

/* reply_reset - forget the fields of the last answer record. */
static void reply_reset(struct qmgr_agent *a)
{
	a->offset = a->status = a->done = -1;
	strbuf_reset(&a->dsn);
	strbuf_reset(&a->text);
	strbuf_reset(&a->relay);
}

/* handshake - the agent's first record; 0, or -1 after fail(). */
static int handshake(struct qmgr_agent *a)
{
	char *why;

	if (strcmp(strbuf_str(&a->protocol), DELIVER_PROTOCOL) != 0 ||
	    a->version != DELIVER_PROTOCOL_VERSION) {
		why = xasprintf("expected protocol %s version %d, got %s version %lld",
				DELIVER_PROTOCOL, DELIVER_PROTOCOL_VERSION,
				strbuf_str(&a->protocol), a->version);
		fail(a, why);
		free(why);
		return -1;
	}
	become_idle(a);
	a->pool->ops->ready(a->pool->ctx, a->tp->name);
	return 0;
}

/* answer - one answer record of a delivery; 0, or -1 after fail(). */
static int answer(struct qmgr_agent *a)
{
	struct qmgr_agents *pool = a->pool;
	void *delivery = a->delivery;
	struct tport *tp = a->tp;

	if (a->done == 1 && a->offset < 0 && a->status < 0 && a->dsn.len == 0) {
		become_idle(a);
		pool->ops->end(pool->ctx, delivery, QMGR_AGENT_DONE, NULL, 1);
		/* the end callback may have started another delivery here */
		if (a->state == AGENT_IDLE)
			pool->ops->ready(pool->ctx, tp->name);
		return 0;
	}
	if (a->done >= 0 || a->offset < 0 ||
	    (a->status != DELIVER_OK && a->status != DELIVER_DEFER && a->status != DELIVER_FAIL) ||
	    a->dsn.len == 0) {
		fail(a, "malformed answer record");
		return -1;
	}
	pool->ops->result(pool->ctx, delivery, a->offset, (int)a->status, strbuf_str(&a->dsn),
			  a->text.len > 0 ? strbuf_str(&a->text) : "none",
			  a->relay.len > 0 ? strbuf_str(&a->relay) : "none");
	reply_reset(a);
	return 0;
}

/* record - a complete record arrived; 0, or -1 when the connection is gone. */
static int record(struct qmgr_agent *a)
{
	switch (a->state) {
	case AGENT_HANDSHAKE:
		return handshake(a);
	case AGENT_BUSY:
		return answer(a);
	case AGENT_IDLE:
		break;
	}
	fail(a, "unexpected data from an idle agent");
	return -1;
}

/* pump - decode what the agent sent; 0, or -1 when the connection is gone. */
static int pump(struct qmgr_agent *a)
{
	enum attr_decode_status ds;
	enum stream_status st;
	const void *data;
	size_t len, used;
	char *err = NULL;

	for (;;) {
		data = stream_peek(a->s, &len);
		if (len == 0) {
			st = stream_fill(a->s);
			if (st == STREAM_AGAIN)
				return 0;
			if (st == STREAM_OK)
				continue;
			fail(a, a->state == AGENT_IDLE && st == STREAM_EOF ? NULL
				: st == STREAM_EOF			   ? "connection closed"
									   : "read error");
			return -1;
		}
		if (a->state == AGENT_BUSY)
			a->got += len;
		ds = attr_decoder_feed(a->state == AGENT_HANDSHAKE ? a->hello : a->reply, data, len,
				       &used, &err);
		stream_skip(a->s, used);
		if (a->state == AGENT_BUSY)
			a->got -= len - used;
		if (ds == ATTR_DECODE_ERROR) {
			char *why = xasprintf("protocol error: %s", err);

			free(err);
			fail(a, why);
			free(why);
			return -1;
		}
		if (ds == ATTR_DECODE_DONE && record(a) < 0)
			return -1;
	}
}

static void on_io(struct event_loop *loop, int fd, unsigned int events, void *ctx)
{
	struct qmgr_agent *a = ctx;
	enum stream_status st;

	if (events & EVENT_WRITE) {
		st = stream_flush(a->s);
		if (st != STREAM_OK && st != STREAM_AGAIN) {
			fail(a, "write error");
			return;
		}
	}
	if (events & (EVENT_READ | EVENT_ERROR)) {
		if (a->state != AGENT_IDLE)
			event_timer_add(loop, &a->timer, (uint64_t)a->pool->timeout_ms, on_timer,
					a);
		if (pump(a) < 0)
			return;
	}
	set_mask(a);
}

static void on_timer(struct event_loop *loop, void *ctx)
{
	struct qmgr_agent *a = ctx;

	switch (a->state) {
	case AGENT_IDLE:
		fail(a, NULL);
		break;
	case AGENT_HANDSHAKE:
		fail(a, "timeout waiting for the agent's greeting");
		break;
	case AGENT_BUSY:
		fail(a, "timeout waiting for the delivery agent");
		break;
	}
}

/* connect_agent - a connection to tp's socket: the descriptor, -2 (busy: later) or -1. */
static int connect_agent(struct qmgr_agents *pool, struct tport *tp, char **error_r)
{
	struct sockaddr_un sun;
	char *path = xasprintf("%s/private/%s", pool->queue_dir, tp->name);
	int fd, err;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (!qmgr_agent_name_valid(tp->name) || strlen(path) >= sizeof(sun.sun_path)) {
		*error_r = xasprintf("%s: not a usable service socket name", path);
		free(path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		msg_fatal("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		free(path);
		return fd;
	}
	err = errno;
	close(fd);
	if (err == EAGAIN || err == EINTR) {
		free(path);
		return -2;
	}
	*error_r = xasprintf("connect to %s: %s", path, strerror(err));
	free(path);
	return -1;
}

/* agent_new - a connection waiting for its handshake. */
static void agent_new(struct qmgr_agents *pool, struct tport *tp, int fd)
{
	struct qmgr_agent *a = xcalloc(1, sizeof(*a));

	a->pool = pool;
	a->tp = tp;
	a->s = stream_create(fd);
	a->state = AGENT_HANDSHAKE;
	a->hello = attr_decoder_create(
	    ATTR_RECV_LIST(ATTR_MAX_LEN(ATTR_RECV_STR("protocol", &a->protocol), AGENT_SHORT_MAX),
			   ATTR_RECV_INT("version", &a->version)));
	attr_decoder_set_limits(a->hello, AGENT_RECORD_MAX, 4);
	a->reply = attr_decoder_create(ATTR_RECV_LIST(
	    ATTR_OPTIONAL(ATTR_RECV_INT("offset", &a->offset)),
	    ATTR_OPTIONAL(ATTR_RECV_INT("status", &a->status)),
	    ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_STR("dsn", &a->dsn), AGENT_SHORT_MAX)),
	    ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_STR("text", &a->text), AGENT_TEXT_MAX)),
	    ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_STR("relay", &a->relay), AGENT_SHORT_MAX)),
	    ATTR_OPTIONAL(ATTR_RECV_INT("done", &a->done))));
	attr_decoder_set_limits(a->reply, AGENT_RECORD_MAX, 8);
	a->next = tp->list;
	if (tp->list != NULL)
		tp->list->prev = a;
	tp->list = a;
	tp->count++;
	tp->opening++;
	a->watch = event_fd_add(pool->loop, fd, EVENT_READ, on_io, a);
	event_timer_add(pool->loop, &a->timer, (uint64_t)pool->timeout_ms, on_timer, a);
}

int qmgr_agent_open(struct qmgr_agents *pool, const char *transport, size_t wanted)
{
	struct tport *tp = tport_get(pool, transport);
	char *err = NULL;
	int fd;

	while (tp->opening < wanted && tp->opening < QMGR_AGENT_OPENING &&
	       tp->count < (size_t)pool->process_limit) {
		fd = connect_agent(pool, tp, &err);
		if (fd == -2)
			break;
		if (fd < 0) {
			pool->ops->unavailable(pool->ctx, transport, err);
			free(err);
			return -1;
		}
		agent_new(pool, tp, fd);
	}
	return (int)tp->opening;
}

struct qmgr_agent *qmgr_agent_idle(struct qmgr_agents *pool, const char *transport)
{
	struct tport *tp = tport_get(pool, transport);
	struct qmgr_agent *a;

	for (a = tp->list; a != NULL; a = a->next)
		if (a->state == AGENT_IDLE)
			return a;
	return NULL;
}

void qmgr_agent_deliver(struct qmgr_agent *a, const struct qmgr_request *req, void *delivery)
{
	struct strbuf buf = STRBUF_INIT;
	size_t i;

	if (a->state != AGENT_IDLE)
		msg_panic("qmgr_agent_deliver: connection not idle");
	attr_encode(&buf, ATTR_SEND_STR("queue_id", req->queue_id),
		    ATTR_SEND_STR("queue_path", req->queue_path),
		    ATTR_SEND_STR("transport", req->transport),
		    ATTR_SEND_STR("nexthop", req->nexthop), ATTR_SEND_STR("sender", req->sender),
		    ATTR_SEND_INT("flags", req->flags), ATTR_SEND_STR("arrival", req->arrival),
		    ATTR_SEND_INT("rcpt_count", (long long)req->count));
	for (i = 0; i < req->count; i++)
		attr_encode(&buf, ATTR_SEND_STR("address", req->rcpts[i].address),
			    ATTR_SEND_STR("orcpt", req->rcpts[i].orcpt),
			    ATTR_SEND_INT("notify", req->rcpts[i].notify),
			    ATTR_SEND_INT("offset", req->rcpts[i].offset));
	stream_write(a->s, buf.data, buf.len);
	strbuf_free(&buf);
	a->state = AGENT_BUSY;
	a->pool->busy++;
	a->delivery = delivery;
	a->deliveries++;
	a->got = 0;
	reply_reset(a);
	attr_decoder_reset(a->reply);
	event_timer_add(a->pool->loop, &a->timer, (uint64_t)a->pool->timeout_ms, on_timer, a);
	/* sent from the loop: a write error then ends the delivery through the callbacks */
	event_fd_modify(a->watch, EVENT_READ | EVENT_WRITE);
}
