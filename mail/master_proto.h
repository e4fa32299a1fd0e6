/*
 * master_proto - the contract between master and the children it starts.
 *
 * Command line. master starts a service's child as
 *
 *   $daemon_directory/<command> -c <config_dir> -n <service> -t <inet|unix|pass>
 *           [-u] [-j] [-o name=value]... [args...]
 *
 * (a command containing '/' is run by that path). -u asks the child to run as
 * mail_owner or store_owner when it is started as root (master.cf unpriv y);
 * -j asks it to chroot to queue_directory (master.cf chroot y); each -o
 * applies a master.cf override to main.cf; args are the service's own
 * arguments from master.cf.
 *
 * Descriptors. The child inherits the write end of master's status pipe on
 * TERN_STATUS_FD and its service's listening socket(s) from TERN_LISTEN_FD
 * on; the environment variable TERN_LISTEN_FDS says how many (a service
 * bound to several addresses has several). All are non-blocking: children
 * of one service compete for connections and a loser sees EAGAIN. A "pass"
 * service's socket is a UNIX-domain socket on which each connection carries
 * one client descriptor, sent with SCM_RIGHTS (sock_send_fd()); the child
 * serves that descriptor.
 *
 * Status. A child writes struct master_status records to TERN_STATUS_FD:
 * READY once when it is initialised and about to accept, BUSY when it has
 * taken a connection, IDLE when that session is over. Each record is one
 * write(2) smaller than PIPE_BUF, so records from many children never mix.
 * master counts a child that completed a session (BUSY then IDLE) as having
 * served: a child that exits abnormally before that is a crash, and crashes
 * throttle the service. When master goes away the pipe reports an error to
 * the children, which then exit after their current session.
 *
 * Wake-up. For a unix or pass service with a wakeup time, master connects to
 * the service's socket every that many seconds and writes MASTER_WAKEUP_BYTE.
 *
 * Signals. SIGTERM asks a child to finish its current session and exit (at
 * once when idle); master sends it on reload and on shutdown.
 *
 * The pid file. A running master holds a write lock (fcntl) on
 * $queue_directory/pid/master.pid, which contains its pid.
 */
#ifndef TERN_MASTER_PROTO_H
#define TERN_MASTER_PROTO_H

#include <stdint.h>
#include <sys/types.h>

#define TERN_STATUS_FD 3
#define TERN_LISTEN_FD 4
#define TERN_LISTEN_FDS_ENV "TERN_LISTEN_FDS"

/* The most listening descriptors one service may pass to a child. */
#define TERN_LISTEN_MAX 64

#define MASTER_WAKEUP_BYTE 'W'

/* The pid file, relative to queue_directory. */
#define MASTER_PID_DIR "pid"
#define MASTER_PID_FILE "pid/master.pid"

enum master_status_code {
	MASTER_STATUS_READY = 1, /* initialised; about to wait for connections */
	MASTER_STATUS_BUSY = 2,	 /* serving a connection */
	MASTER_STATUS_IDLE = 3,	 /* the session is over; waiting again */
};

struct master_status {
	int32_t pid;
	int32_t status; /* enum master_status_code */
};

/*
 * master_status_send - write one status record for this process to fd.
 * Returns 0, or -1 with errno set (EPIPE: master has gone away).
 */
int master_status_send(int fd, enum master_status_code status);

/* master_status_name - "ready", "busy", "idle" or "unknown". */
const char *master_status_name(int status);

/*
 * master_listen_count - how many listening descriptors the child inherited,
 * from TERN_LISTEN_FDS. Returns 0 (and *count_r) or -1 with *error_r when
 * the variable is missing or not a number from 1 to TERN_LISTEN_MAX.
 */
int master_listen_count(int *count_r, char **error_r);

/* master_pid_path - "$queue_dir/pid/master.pid", malloc'd. */
char *master_pid_path(const char *queue_dir);

/*
 * master_pid_probe - is a master running for this queue directory? Sets
 * *pid_r to the pid of the process holding the pid file lock (-1 if it is
 * locked but no pid can be found), or 0 when nobody holds it (a missing file
 * means nobody). Returns 0, or -1 with *error_r when the file cannot be
 * examined.
 */
int master_pid_probe(const char *queue_dir, pid_t *pid_r, char **error_r);

#endif
