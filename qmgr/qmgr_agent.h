/*
 * qmgr_agent - connections from qmgr to delivery agents, and the qmgr side
 * of the deliver protocol (mail/deliver_proto.h), on qmgr's event loop.
 *
 * A transport is a master.cf unix service: its agents are reached at
 * $queue_directory/private/<transport>. Each connection is one agent
 * process; it carries one delivery at a time and may carry several in
 * turn. A connection is opened when there is work, becomes idle once the
 * agent's handshake has arrived, and is closed after QMGR_AGENT_IDLE_MS
 * without work (the agent process is then free for master to recycle).
 * Each transport has at most process_limit connections, of which at most
 * QMGR_AGENT_OPENING wait for their handshake (more would only queue in
 * the socket's backlog).
 *
 * Every answer of an agent goes to the callbacks of struct
 * qmgr_agent_ops, from the event loop.
 */
#ifndef TERN_QMGR_AGENT_H
#define TERN_QMGR_AGENT_H

#include <stddef.h>

struct event_loop;
struct qmgr_agents;
struct qmgr_agent;

#define QMGR_AGENT_IDLE_MS 5000 /* an idle connection is closed after this */
#define QMGR_AGENT_OPENING 2	/* connections per transport waiting for a handshake */

/* One recipient of a delivery request. */
struct qmgr_request_rcpt {
	const char *address; /* where to deliver */
	const char *orcpt;   /* "" when none */
	long long notify;    /* CLEANUP_NOTIFY_* bits */
	long long offset;    /* of its R record */
};

/* A delivery request; nothing of it needs to outlive qmgr_agent_deliver(). */
struct qmgr_request {
	const char *queue_id;
	const char *queue_path; /* "active/QID" */
	const char *transport;
	const char *nexthop;
	const char *sender;
	const char *arrival; /* "seconds.microseconds" */
	long long flags;
	const struct qmgr_request_rcpt *rcpts;
	size_t count;
};

/* How a delivery ended. */
enum qmgr_agent_end {
	QMGR_AGENT_DONE,   /* the agent answered {done=1} */
	QMGR_AGENT_FAILED, /* the connection broke, timed out or spoke nonsense first */
};

struct qmgr_agent_ops {
	/* ready - a connection of transport is idle: there may be work for it */
	void (*ready)(void *ctx, const char *transport);
	/* result - the agent's answer for one recipient (by offset) of delivery */
	void (*result)(void *ctx, void *delivery, long long offset, int status, const char *dsn,
		       const char *text, const char *relay);
	/*
	 * end - delivery is over. FAILED: why says what went wrong, and fresh
	 * is 0 when the agent had already finished another delivery on this
	 * connection and sent not a byte of this one (it may have gone away
	 * between the two: trying again elsewhere costs nothing).
	 */
	void (*end)(void *ctx, void *delivery, enum qmgr_agent_end how, const char *why, int fresh);
	/* unavailable - transport cannot be reached at all (no service listens) */
	void (*unavailable)(void *ctx, const char *transport, const char *why);
};

/*
 * qmgr_agents_create - connections of queue_dir's transports on loop;
 * timeout_ms bounds each wait for an agent (its handshake, and the silence
 * during a delivery); process_limit: connections per transport.
 */
struct qmgr_agents *qmgr_agents_create(struct event_loop *loop, const char *queue_dir,
				       int timeout_ms, int process_limit,
				       const struct qmgr_agent_ops *ops, void *ctx);
/*
 * qmgr_agents_free - close every connection; each delivery in progress
 * ends FAILED ("qmgr is stopping") through the end callback.
 */
void qmgr_agents_free(struct qmgr_agents **pool);

/* qmgr_agent_idle - an idle connection of transport, or NULL. */
struct qmgr_agent *qmgr_agent_idle(struct qmgr_agents *pool, const char *transport);

/*
 * qmgr_agent_open - open connections to transport so that `wanted`
 * deliveries may start soon, within the limits above. Returns how many
 * connections are waiting for a handshake, or -1 when the transport's
 * socket refuses (the unavailable callback has then been called).
 */
int qmgr_agent_open(struct qmgr_agents *pool, const char *transport, size_t wanted);

/* qmgr_agent_deliver - send the request on an idle connection; delivery is the caller's. */
void qmgr_agent_deliver(struct qmgr_agent *agent, const struct qmgr_request *req, void *delivery);

/* qmgr_agents_busy - deliveries in progress, all transports. */
size_t qmgr_agents_busy(const struct qmgr_agents *pool);

/* qmgr_agent_name_valid - whether transport can name a service socket. */
int qmgr_agent_name_valid(const char *transport);

#endif
