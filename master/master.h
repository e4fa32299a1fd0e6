/*
 * master - the supervisor's shared state and the functions its phases offer
 * each other: services (master_service.c), children (master_child.c),
 * crash throttling (master_throttle.c), wake-ups (master_wakeup.c),
 * signals, reload and drain (master_signal.c), the pid file and the spool
 * directories it needs (master_pid.c), and main (master.c).
 *
 * All state hangs off one struct master, made by main; nothing is global.
 */
#ifndef TERN_MASTER_H
#define TERN_MASTER_H

#include <stddef.h>
#include <sys/types.h>

#include "mail/master_conf.h"
#include "util/event.h"

/* The listen(2) backlog of every service socket. */
#define MASTER_BACKLOG 128

struct master;
struct master_service;

struct master_child {
	pid_t pid;
	struct master_service *service;
	int ready;   /* reported READY */
	int busy;    /* last report was BUSY */
	int served;  /* completed a session (BUSY then IDLE) */
	int retired; /* master told it to stop: its exit is expected */
	struct master_child *prev, *next;
};

struct master_service {
	struct master *master;
	struct master_service_conf conf; /* a private copy */
	char *bind_key; /* what the sockets are bound to, to reuse them on reload */
	char *exec_path;
	char **argv; /* the child's command line */
	int *fds;    /* listening sockets */
	size_t nfds;
	struct event_watch **watches; /* watching fds for on-demand starts, or NULL */
	int prefork;
	long long throttle_max;		   /* seconds */
	int total;			   /* children that are not retired */
	int avail;			   /* of those, the ones not busy */
	int all;			   /* every child, retired or not */
	int crashes;			   /* in a row, since the last served session */
	struct event_timer throttle_timer; /* pending while throttled */
	struct event_timer wakeup_timer;
	int retired;	 /* removed by a reload, or draining: starts no children */
	int reused;	 /* its sockets were taken over from an older service */
	int handed_over; /* its sockets now belong to a newer service */
	struct master_service *next;
};

struct mail_conf;

struct master {
	struct event_loop *loop;
	char *config_dir; /* absolute */
	struct mail_conf *conf;
	struct master_service *services; /* the current configuration */
	struct master_service *retired;	 /* old services waiting for their last children */
	struct master_child *children;
	int nchildren;
	int status_rd, status_wr; /* the status pipe */
	struct event_watch *status_watch;
	int draining;
	struct event_timer drain_timer;
	int pid_fd;
	char *pid_path;
	int root;	 /* started as root */
	uid_t owner_uid; /* mail_owner, when root */
	gid_t owner_gid;
};

/* ---- master_service.c ---- */

/*
 * master_services_build - services for every master.cf entry, with their
 * sockets open (reusing, by bind key, the sockets of the services in old).
 * On error nothing is left open and *error_r is set.
 */
int master_services_build(struct master *m, const struct mail_conf *conf,
			  const struct master_conf *mconf, struct master_service *old,
			  struct master_service **result, char **error_r);

/* master_service_close - close the sockets a service still owns (removing unix socket files). */
void master_service_close(struct master_service *svc);

/* master_service_free - free a service that has no children and no sockets. */
void master_service_free(struct master_service *svc);

/* ---- master_child.c ---- */

/* master_service_watch - start or stop watching the sockets for on-demand starts. */
void master_service_watch(struct master_service *svc, int on);

/* master_status_open - make the status pipe and start reading it. */
void master_status_open(struct master *m);

/* master_status_drain - read and apply every status record waiting in the pipe. */
void master_status_drain(struct master *m);

/* master_balance - start children as the service needs: prefork, on demand, within maxproc. */
void master_balance(struct master_service *svc);

/* master_reap - collect every exited child (after SIGCHLD). */
void master_reap(struct master *m);

/* master_child_retire - SIGTERM a child and stop counting it for its service. */
void master_child_retire(struct master_child *child);

/* master_retire_all - retire the children of svc (NULL: of every service). */
void master_retire_all(struct master *m, struct master_service *svc);

/* ---- master_throttle.c ---- */

/* master_throttled - whether the service waits after crashes. */
int master_throttled(const struct master_service *svc);

/*
 * master_throttle_crash - count a crash (what: "process crashed (pid 12,
 * exit status 1) before serving"), log it, and hold the service back for
 * 1s, 2s, 4s, ... up to service_throttle_time.
 */
void master_throttle_crash(struct master_service *svc, const char *what);

/* master_throttle_reset - a child served: forget earlier crashes. */
void master_throttle_reset(struct master_service *svc);

/* master_throttle_stop - cancel a pending wait (service retired). */
void master_throttle_stop(struct master_service *svc);

/* ---- master_wakeup.c ---- */

/* master_wakeup_start / _stop - periodic wake-up requests of a unix service. */
void master_wakeup_start(struct master_service *svc);
void master_wakeup_stop(struct master_service *svc);

/* ---- master_signal.c ---- */

/* master_signals_init - handle SIGCHLD, SIGHUP, SIGTERM and SIGINT on the loop. */
void master_signals_init(struct master *m);

/* master_reload - re-read main.cf and master.cf (SIGHUP). */
void master_reload(struct master *m);

/* master_drain - stop listening, SIGTERM the children, wait, then exit (SIGTERM). */
void master_drain(struct master *m);

/* master_child_gone - bookkeeping after a child was reaped: free retired services, end a drain. */
void master_child_gone(struct master *m, struct master_service *svc);

/* ---- master_pid.c ---- */

/*
 * master_dirs_create - queue_directory and its pid/, private/ (0700) and
 * public/ subdirectories, when missing (private/ and public/ owned by
 * mail_owner when root).
 */
int master_dirs_create(struct master *m, char **error_r);

/* master_pid_lock - lock and fill $queue_directory/pid/master.pid; error when another master holds it. */
int master_pid_lock(struct master *m, char **error_r);

/* master_pid_remove - remove the pid file and release the lock. */
void master_pid_remove(struct master *m);

#endif
