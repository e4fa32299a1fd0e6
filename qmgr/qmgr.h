/*
 * qmgr - the queue manager: moves messages from incoming/ (and, when their
 * time has come, from deferred/) into active/, resolves their recipients,
 * hands them to delivery agents per transport and destination, and then
 * removes each message, or defers it with a backoff, or returns it.
 *
 * The modules:
 *   qmgr.c          the daemon: configuration, wake-up requests, timers
 *   qmgr_queue.c    the queue directories: scans, moves, recovery
 *   qmgr_message.c  reading a queue file into a message; taking it in
 *   qmgr_active.c   a message in the active queue: resolution into jobs,
 *                   and its end (notices, removal, deferral, expiry)
 *   qmgr_split.c    a new message for the addresses an alias expands to
 *   qmgr_status.c   outcomes that qmgr decides itself (logs and log lines)
 *   qmgr_deliver.c  the dispatcher between the scheduler and the agents
 *   qmgr_sched.c    the scheduler (windows, fairness, dead destinations)
 *   qmgr_agent.c    the connections to delivery agents
 *   qmgr_resolve.c  recipient expansion and routing; qmgr_maps.c tables
 *   qmgr_policy.c   backoff, expiry and delay warning times
 */
#ifndef TERN_QMGR_H
#define TERN_QMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "mail/queue_id.h"
#include "util/event.h"

struct mail_conf;
struct daemon_ctx;
struct auth_client;
struct qmgr_maps;
struct qmgr_resolver;
struct qsched;
struct qsched_job;
struct qmgr_agents;
struct qmgr_unavailable;

/* The queue directories qmgr works in, relative to queue_directory. */
enum qmgr_dir {
	QMGR_INCOMING,
	QMGR_ACTIVE,
	QMGR_DEFERRED,
	QMGR_DIR_CORRUPT,
	QMGR_DIR_COUNT,
};

/* The wake-up requests on qmgr's socket (one byte each). */
#define QMGR_REQ_WAKEUP 'W' /* incoming/ has new mail (MASTER_WAKEUP_BYTE) */
#define QMGR_REQ_FLUSH 'F'  /* try every deferred message now */

/* How long a wake-up connection may stay silent. */
#define QMGR_WAKE_TIMEOUT_MS 2000
/* When a file that an agent still holds is looked at again. */
#define QMGR_LOCKED_RETRY_MS 1000
/* How long qmgr lets deliveries in progress finish when it stops. */
#define QMGR_DRAIN_MS 10000

/* Recipient states in the active queue. */
enum qmgr_rcpt_state {
	QMGR_RCPT_TODO,	    /* not resolved yet */
	QMGR_RCPT_QUEUED,   /* in a job, waiting or in delivery */
	QMGR_RCPT_DONE,	    /* delivered, returned, or expanded: marked done in the file */
	QMGR_RCPT_DEFERRED, /* to be tried again later */
};

/* One recipient not yet done, from an R record. */
struct qmgr_rcpt {
	char *address; /* as in the queue file */
	char *orcpt;   /* "" when not given */
	unsigned notify;
	off_t offset;	  /* of the R record */
	char *deliver_to; /* the address to deliver to (after alias expansion) */
	enum qmgr_rcpt_state state;
};

/* A message in the active queue. */
struct qmgr_message {
	char id[QUEUE_ID_SIZE];
	char *sender;	  /* "" for the null sender */
	char *arrival;	  /* the T record: "seconds.microseconds" */
	double arrived;	  /* the same as a number */
	unsigned flags;	  /* the F record */
	long long size;	  /* message bytes */
	long long nrcpt;  /* R and D records */
	bool final;	  /* made by an alias expansion: its recipients are final */
	bool warned;	  /* a delay warning was sent (the file's owner-execute bit) */
	double activated; /* when it entered the active queue */
	struct qmgr_rcpt *rcpts;
	size_t count;	/* recipients not done when it was read */
	size_t jobs;	/* jobs queued or in progress */
	size_t pending; /* recipients not done and not deferred */
	size_t deferred;
	struct qmgr_message *prev, *next;
};

/* A job's data: recipients of one message for one destination. */
struct qmgr_delivery {
	struct qmgr_message *msg;
	struct qsched_job *job;
	char *transport, *nexthop;
	size_t *rcpts; /* indexes into msg->rcpts */
	size_t count;
	bool *answered;	   /* per recipient: the agent gave its outcome */
	bool retried;	   /* requeued once after a connection that had gone away */
	bool reached;	   /* some answer shows that the destination answered */
	char *last_reason; /* of the last deferral, for the dead-destination cache */
};

/* The whole state of the process. */
struct qmgr {
	struct daemon_ctx *dctx;
	struct event_loop *loop;
	const struct mail_conf *conf;
	const char *queue_dir;
	int dirfd[QMGR_DIR_COUNT];
	unsigned writer_flags; /* queue_writer_probe() of incoming/ */

	/* settings */
	long long active_limit, rcpt_limit;
	time_t min_backoff, max_backoff, run_delay, max_lifetime, bounce_lifetime, warn_time;
	int ipc_timeout_ms;

	/* resolution */
	struct qmgr_maps *virtual_maps, *transport_maps, *relayhost_maps;
	struct qmgr_resolver *resolver;
	struct auth_client *auth;
	time_t auth_failed; /* when opening the auth client last failed */

	/* the active queue */
	struct qmgr_message *head, *tail;
	size_t active, active_rcpts;

	/* delivery */
	struct qsched *sched;
	struct qmgr_agents *agents;
	struct qmgr_unavailable *down; /* transports found unavailable, until when */
	struct event_timer dispatch_timer;
	time_t last_gc;
	bool shutdown; /* freeing everything: deliveries end without effect */

	/* work to do */
	bool scan_incoming, scan_deferred, flush, stopping;
	bool incoming_left, deferred_left, flush_left; /* the last scan found no room for all */
	struct event_timer work_timer, deferred_timer, retry_timer;
	uint64_t rng;
};

/* qmgr_now - the wall clock in seconds, with microseconds. */
double qmgr_now(void);
/* qmgr_random - a random number in [0, 1). */
double qmgr_random(struct qmgr *q);
/* qmgr_kick - do the work that is due (scans, dispatch) soon, from the loop. */
void qmgr_kick(struct qmgr *q);
/* qmgr_dir_name - "incoming", "active", ... */
const char *qmgr_dir_name(enum qmgr_dir dir);

/* qmgr_queue.c */
/* qmgr_queue_make - create missing queue directories (owned by mail_owner when root). */
int qmgr_queue_make(const struct mail_conf *conf, char **error_r);
int qmgr_queue_open(struct qmgr *q, char **error_r);
void qmgr_queue_close(struct qmgr *q);
void qmgr_queue_recover(struct qmgr *q);
/* qmgr_queue_run - take messages from incoming/ and deferred/ (all of it when flush). */
void qmgr_queue_run(struct qmgr *q, bool incoming, bool deferred, bool flush);
/* qmgr_queue_remove - remove active/ID and its logs; 0, or -1 (logged). */
int qmgr_queue_remove(struct qmgr *q, const char *id);
/* qmgr_queue_defer - move active/ID to deferred/ with its next attempt at `when`. */
int qmgr_queue_defer(struct qmgr *q, const char *id, time_t when);

/* qmgr_message.c */
/* What became of a file that qmgr_message_take() looked at. */
enum qmgr_take {
	QMGR_TAKEN,	  /* in the active queue now */
	QMGR_GONE,	  /* no such file (removed meanwhile) */
	QMGR_LOCKED,	  /* an agent still works on it: later */
	QMGR_FAILED,	  /* could not be read now (logged): later */
	QMGR_QUARANTINED, /* moved to corrupt/ (logged) */
};
enum qmgr_take qmgr_message_take(struct qmgr *q, enum qmgr_dir from, const char *id);
void qmgr_message_free(struct qmgr_message *msg);
/* qmgr_message_path - "active/QID" (malloc'd). */
char *qmgr_message_path(const struct qmgr_message *msg);

/* qmgr_active.c */
/* qmgr_active_resolve - resolve the message's recipients into jobs (fd: its file, writable). */
void qmgr_active_resolve(struct qmgr *q, struct qmgr_message *msg, int fd);
/* qmgr_active_check - when the message has no job left, end its round. */
void qmgr_active_check(struct qmgr *q, struct qmgr_message *msg);
/* qmgr_active_insert, qmgr_active_unlink - the active queue's list and counts. */
void qmgr_active_insert(struct qmgr *q, struct qmgr_message *msg);
void qmgr_active_unlink(struct qmgr *q, struct qmgr_message *msg);

/* qmgr_split.c */
/*
 * qmgr_split_write - a new message in incoming/ like the one open on fd,
 * whose recipients are the n addresses (each with orcpt and notify),
 * marked as made by expansion. 0 with its queue ID, or -1 with *error_r.
 */
struct qmgr_split_rcpt {
	const char *address;
	const char *orcpt;
	unsigned notify;
};
int qmgr_split_write(struct qmgr *q, const struct qmgr_message *msg, int fd,
		     const struct qmgr_split_rcpt *rcpts, size_t n, char id_r[QUEUE_ID_SIZE],
		     char **error_r);

/* qmgr_status.c */
/* qmgr_rcpt_defer - record and log that the recipient is deferred: dsn 4.x.x, text. */
void qmgr_rcpt_defer(struct qmgr *q, struct qmgr_message *msg, struct qmgr_rcpt *rcpt,
		     const char *relay, const char *dsn, const char *text);
/*
 * qmgr_rcpt_bounce - record the failure in the bounce log and mark the
 * recipient done in the file open on fd; when that cannot be done it is
 * deferred instead.
 */
void qmgr_rcpt_bounce(struct qmgr *q, struct qmgr_message *msg, struct qmgr_rcpt *rcpt, int fd,
		      const char *dsn, const char *text);
/* qmgr_rcpt_state - a new state for a recipient, keeping the message's counts. */
void qmgr_rcpt_state(struct qmgr_message *msg, struct qmgr_rcpt *r, enum qmgr_rcpt_state state);
/*
 * qmgr_rcpt_trace - for a recipient that asked NOTIFY=SUCCESS, a "delivered"
 * entry (text) in the trace log, before it is marked done; 0, or -1 (logged).
 */
int qmgr_rcpt_trace(struct qmgr *q, const struct qmgr_message *msg, const struct qmgr_rcpt *r,
		    const char *text);
/* qmgr_rcpt_sent - log a recipient that qmgr finished itself (expanded), now done. */
void qmgr_rcpt_sent(struct qmgr_message *msg, struct qmgr_rcpt *r, const char *text);
/* qmgr_log_delays - "delay=N, delays=a/b/c/d" of a message at now, into buf. */
void qmgr_log_delays(const struct qmgr_message *msg, double now, char *buf, size_t size);

/* qmgr_deliver.c */
int qmgr_deliver_init(struct qmgr *q, char **error_r);
void qmgr_deliver_free(struct qmgr *q);
/* qmgr_deliver_queue - jobs for the message's recipients in state QUEUED (by index). */
void qmgr_deliver_queue(struct qmgr *q, struct qmgr_message *msg, const size_t *idx, size_t n,
			const char *transport, const char *nexthop);
/* qmgr_dispatch - start what can start; defer what waits for a dead destination. */
void qmgr_dispatch(struct qmgr *q);
/* qmgr_deliver_busy - deliveries in progress. */
size_t qmgr_deliver_busy(const struct qmgr *q);

#endif
