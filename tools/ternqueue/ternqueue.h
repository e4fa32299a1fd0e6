/*
 * ternqueue - the parts of the queue administration command: options and
 * dispatch (ternqueue.c), finding and selecting messages and reading their
 * envelopes (ternqueue_scan.c, ternqueue_env.c), the listing (ternqueue_list.c), showing one
 * message (ternqueue_show.c), delete, hold and release (ternqueue_move.c),
 * and requeue through cleanup (ternqueue_requeue.c).
 */
#ifndef TERN_TERNQUEUE_H
#define TERN_TERNQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct mail_conf;

/* Exit statuses. */
#define TQ_OK 0	   /* everything asked for was done (a message gone meanwhile included) */
#define TQ_FAIL 1  /* something could not be done, or a named message is not in the queue */
#define TQ_USAGE 2 /* a bad command line or configuration */

struct ternqueue {
	const char *config_dir; /* -c, or NULL */
	struct mail_conf *conf;
	const char *queue_dir;
	int status; /* TQ_OK, or TQ_FAIL once something failed */
};

/* tq_error - "ternqueue: ..." on standard error; the command fails (status TQ_FAIL). */
void tq_error(struct ternqueue *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* tq_note - "ternqueue: ..." on standard error, without failing. */
void tq_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * tq_wake - write byte ('F': flush, 'W': look at incoming/) to qmgr's
 * public/qmgr socket; 0, or -1 when qmgr is not running (said on standard
 * error when report).
 */
int tq_wake(struct ternqueue *t, char byte, bool report);

/* ---- ternqueue_scan.c ---- */

/* The queue directories that hold messages, in the order they are searched. */
extern const char *const tq_dirs[]; /* "incoming", "active", "deferred", "hold", NULL */

/* A message found in the queue. */
struct tq_msg {
	char *id;
	const char *dir; /* one of tq_dirs, or "maildrop" */
};

struct tq_set {
	struct tq_msg *v;
	size_t n;
};

void tq_set_free(struct tq_set *set);

/* tq_path - queue_dir/dir/id (malloc'd). */
char *tq_path(const struct ternqueue *t, const char *dir, const char *id);

/*
 * tq_scan - the messages in the queue directories (with maildrop/ too when
 * maildrop), sorted by queue ID. A directory that cannot be read is an
 * error (reported); the others are still scanned.
 */
void tq_scan(struct ternqueue *t, bool maildrop, struct tq_set *set);

/*
 * tq_locate - the directory that holds id now, or NULL when none does. A
 * message moves between directories by rename while it is looked for, so
 * the search is repeated a few times before it gives up.
 */
const char *tq_locate(const struct ternqueue *t, const char *id);

/*
 * tq_select - the messages args name: queue IDs, "ALL", or "--from ADDR"
 * and/or "--to ADDR" (the sender, or a recipient not yet delivered, equal
 * to ADDR ignoring case), in the directories dirs (NULL-terminated). A
 * queue ID not found in them is reported (the command fails). TQ_OK, or
 * TQ_USAGE for bad arguments.
 */
int tq_select(struct ternqueue *t, int argc, char **argv, const char *const *dirs,
	      struct tq_set *set);

/* One recipient of an envelope. */
struct tq_rcpt {
	char *address;
	char *orcpt;
	unsigned notify;
	long long offset;
	bool done;
};

/* What the envelope of a queue file (or of a maildrop file) says. */
struct tq_envelope {
	char *sender;
	time_t arrival;
	long long size;
	unsigned flags;
	char *envid;  /* or NULL */
	char *ret;    /* "FULL", "HDRS" or NULL */
	char **attrs; /* "name=value" of the A records, NULL-terminated */
	struct tq_rcpt *rcpts;
	size_t nrcpts;
};

/*
 * tq_envelope_read - the envelope of the message id in dir (a queue file
 * or a maildrop file). 0; 1 when the file is gone; -1 with *error_r.
 */
int tq_envelope_read(const struct ternqueue *t, const char *dir, const char *id,
		     struct tq_envelope *env, char **error_r);
void tq_envelope_free(struct tq_envelope *env);

/* ---- the commands; each returns the exit status ---- */

int tq_list(struct ternqueue *t, int argc, char **argv);
int tq_show(struct ternqueue *t, int argc, char **argv);
int tq_delete(struct ternqueue *t, int argc, char **argv);
int tq_hold(struct ternqueue *t, int argc, char **argv);
int tq_release(struct ternqueue *t, int argc, char **argv);
int tq_requeue(struct ternqueue *t, int argc, char **argv);

#endif
