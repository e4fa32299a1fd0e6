/*
 * qmgr_queue - the queue directories as qmgr sees them: incoming/ (new
 * mail), active/ (what qmgr holds in memory), deferred/ (waiting for the
 * next attempt, which each file's modification time gives), corrupt/.
 * Files move between them by rename(2); a file is named by its queue ID,
 * and only names that are queue IDs are taken (a writer's temporary file
 * never is).
 *
 * Recovery: active/ holds only what a qmgr held in memory, so when qmgr
 * starts, everything in active/ goes back to incoming/ to be taken again;
 * recipients marked done are not delivered again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "mail/queue_id.h"
#include "mail/queue_writer.h"
#include "mail/status_log.h"
#include "qmgr/qmgr.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* Files taken per scan before the event loop gets its turn again. */
#define QMGR_TAKE_BATCH 200
/* Temporary files of writers that died are removed when at least this old. */
#define QMGR_TEMP_MIN_AGE 60

static const char *const dir_names[QMGR_DIR_COUNT] = {"incoming", "active", "deferred", "corrupt"};

const char *qmgr_dir_name(enum qmgr_dir dir)
{
	return dir_names[dir];
}

/* The directories qmgr needs, its own and those of the status logs. */
static const char *const made_dirs[] = {"incoming", "active", "deferred", "corrupt",
					"bounce",   "defer",  "trace",	  NULL};

int qmgr_queue_make(const struct mail_conf *conf, char **error_r)
{
	const char *queue_dir = mail_conf_str(conf, "queue_directory");
	const char *owner = mail_conf_str(conf, "mail_owner");
	struct passwd *pw = NULL;
	char *path;
	int i;

	for (i = 0; made_dirs[i] != NULL; i++) {
		path = xasprintf("%s/%s", queue_dir, made_dirs[i]);
		if (mkdir(path, 0700) < 0) {
			if (errno != EEXIST) {
				*error_r = xasprintf("create %s: %s", path, strerror(errno));
				free(path);
				return -1;
			}
			free(path);
			continue;
		}
		if (geteuid() == 0 &&
		    ((pw = getpwnam(owner)) == NULL || chown(path, pw->pw_uid, pw->pw_gid) < 0)) {
			*error_r = xasprintf("give %s to mail_owner %s: %s", path, owner,
					     pw == NULL ? "no such user" : strerror(errno));
			free(path);
			return -1;
		}
		msg_warn("created the missing directory %s (\"ternctl check\" creates the queue)",
			 path);
		free(path);
	}
	return 0;
}

int qmgr_queue_open(struct qmgr *q, char **error_r)
{
	char *path, *err = NULL;
	unsigned removed = 0;
	int i;

	for (i = 0; i < QMGR_DIR_COUNT; i++) {
		path = xasprintf("%s/%s", q->queue_dir, dir_names[i]);
		q->dirfd[i] = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (q->dirfd[i] < 0) {
			*error_r = xasprintf("open %s: %s", path, strerror(errno));
			free(path);
			return -1;
		}
		free(path);
	}
	q->writer_flags = queue_writer_probe(q->dirfd[QMGR_INCOMING]);
	if (queue_temp_sweep(q->dirfd[QMGR_INCOMING], QMGR_TEMP_MIN_AGE, &removed, &err) < 0) {
		msg_warn("incoming/: %s", err);
		free(err);
	} else if (removed > 0) {
		msg_info("removed %u unfinished temporary files from incoming/", removed);
	}
	return 0;
}

void qmgr_queue_close(struct qmgr *q)
{
	int i;

	for (i = 0; i < QMGR_DIR_COUNT; i++) {
		if (q->dirfd[i] >= 0)
			close(q->dirfd[i]);
		q->dirfd[i] = -1;
	}
}

/* A list of queue IDs found in a directory. */
struct names {
	char **v;
	size_t n;
};

static void names_free(struct names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * list_dir - the queue IDs in dir, oldest first. For deferred/ unless all:
 * only the files whose next attempt (mtime) is due at now.
 */
static void list_dir(struct qmgr *q, enum qmgr_dir dir, bool all, time_t now, struct names *l)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd = openat(q->dirfd[dir], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		msg_warn("read %s/%s: %s", q->queue_dir, dir_names[dir], strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!queue_id_valid(de->d_name))
			continue;
		if (dir == QMGR_DEFERRED && !all &&
		    (fstatat(q->dirfd[dir], de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		     st.st_mtime > now))
			continue;
		l->v = xreallocarray(l->v, l->n + 1, sizeof(char *));
		l->v[l->n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(char *), name_cmp);
}

void qmgr_queue_recover(struct qmgr *q)
{
	struct names l = {NULL, 0};
	size_t i, moved = 0;

	list_dir(q, QMGR_ACTIVE, true, 0, &l);
	for (i = 0; i < l.n; i++) {
		if (renameat(q->dirfd[QMGR_ACTIVE], l.v[i], q->dirfd[QMGR_INCOMING], l.v[i]) == 0)
			moved++;
		else if (errno != ENOENT)
			msg_warn("%s: move from active/ to incoming/: %s", l.v[i], strerror(errno));
	}
	if (moved > 0)
		msg_info("recovery: %zu messages moved from active/ back to incoming/", moved);
	names_free(&l);
}

/* room - whether the active queue takes another message. */
static bool room(const struct qmgr *q)
{
	return q->active < (size_t)q->active_limit &&
	       (q->active == 0 || q->active_rcpts < (size_t)q->rcpt_limit);
}

static void on_retry(struct event_loop *loop, void *ctx)
{
	struct qmgr *q = ctx;

	q->scan_incoming = q->scan_deferred = true;
	qmgr_kick(q);
}

/* take - one file; a file that must be looked at again later arms the retry timer. */
static void take(struct qmgr *q, enum qmgr_dir dir, const char *id)
{
	switch (qmgr_message_take(q, dir, id)) {
	case QMGR_LOCKED:
	case QMGR_FAILED:
		if (!event_timer_pending(&q->retry_timer))
			event_timer_add(q->loop, &q->retry_timer, QMGR_LOCKED_RETRY_MS, on_retry,
					q);
		break;
	default:
		break;
	}
}

void qmgr_queue_run(struct qmgr *q, bool incoming, bool deferred, bool flush)
{
	struct names in = {NULL, 0}, def = {NULL, 0};
	size_t i = 0, j = 0;
	bool turn = true;

	if (incoming)
		list_dir(q, QMGR_INCOMING, true, 0, &in);
	if (deferred || flush)
		list_dir(q, QMGR_DEFERRED, flush, time(NULL), &def);
	/* incoming and deferred mail take turns, so that neither starves the other */
	while ((i < in.n || j < def.n) && room(q) && !q->stopping && i + j < QMGR_TAKE_BATCH) {
		if ((turn && i < in.n) || j >= def.n)
			take(q, QMGR_INCOMING, in.v[i++]);
		else
			take(q, QMGR_DEFERRED, def.v[j++]);
		turn = !turn;
	}
	if (incoming)
		q->incoming_left = i < in.n;
	if (deferred || flush)
		q->deferred_left = j < def.n;
	/* a flush that did not fit goes on at the next scan */
	q->flush_left = flush && j < def.n;
	names_free(&in);
	names_free(&def);
	/* more than a batch: go on after the loop has seen to the agents */
	if ((q->incoming_left || q->deferred_left) && room(q))
		qmgr_kick(q);
}

int qmgr_queue_remove(struct qmgr *q, const char *id)
{
	char *err = NULL;

	if (status_log_remove_all(q->queue_dir, id, &err) < 0) {
		msg_warn("%s: %s", id, err);
		free(err);
	}
	if (unlinkat(q->dirfd[QMGR_ACTIVE], id, 0) < 0 && errno != ENOENT) {
		msg_warn("%s: remove active/%s: %s", id, id, strerror(errno));
		return -1;
	}
	msg_info("%s: removed", id);
	return 0;
}

int qmgr_queue_defer(struct qmgr *q, const char *id, time_t when)
{
	struct timespec ts[2];

	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_NOW;
	ts[1].tv_sec = when;
	ts[1].tv_nsec = 0;
	if (utimensat(q->dirfd[QMGR_ACTIVE], id, ts, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
		msg_warn("%s: set the time of the next attempt: %s", id, strerror(errno));
	if (renameat(q->dirfd[QMGR_ACTIVE], id, q->dirfd[QMGR_DEFERRED], id) < 0) {
		if (errno == ENOENT)
			return 0;
		msg_warn("%s: move from active/ to deferred/: %s", id, strerror(errno));
		return -1;
	}
	return 0;
}
