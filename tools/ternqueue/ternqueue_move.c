/*
 * ternqueue_move - "delete", "hold" and "release": each message is
 * removed, or moved by rename(2) between its directory and hold/, so that
 * every step is atomic while qmgr works on the queue. A message that moves
 * meanwhile (qmgr took it from incoming/ to active/, or on to deferred/)
 * is looked for again; one that is gone (delivered meanwhile) is reported
 * and does not make the command fail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/status_log.h"
#include "tools/ternqueue/ternqueue.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/safe_file.h"

#define APPLY_TRIES 5

/* What a command does to one message in dir: 0 done, 1 the file is not there, -1 error. */
typedef int op_fn(struct ternqueue *t, const char *dir, const char *id, char **error_r);

static const char *const all_dirs[] = {"incoming", "active", "deferred", "hold", NULL};
static const char *const not_held[] = {"incoming", "active", "deferred", NULL};
static const char *const held[] = {"hold", NULL};

static bool allowed(const char *dir, const char *const *dirs)
{
	for (size_t i = 0; dirs[i] != NULL; i++)
		if (strcmp(dirs[i], dir) == 0)
			return true;
	return false;
}

/*
 * apply - op on one message, found first in dir; looked for again when it
 * moved. true when op was done.
 */
static bool apply(struct ternqueue *t, const struct tq_msg *m, op_fn *op, const char *const *dirs)
{
	const char *dir = m->dir;

	for (int tries = 0; tries < APPLY_TRIES; tries++) {
		char *err = NULL;
		int r = op(t, dir, m->id, &err);

		if (r == 0)
			return true;
		if (r < 0) {
			tq_error(t, "%s: %s", m->id, err);
			free(err);
			return false;
		}
		if ((dir = tq_locate(t, m->id)) == NULL) {
			tq_note("%s: no longer in the queue (delivered or removed meanwhile)",
				m->id);
			return false;
		}
		if (!allowed(dir, dirs)) {
			tq_note("%s: moved to %s/ meanwhile, left alone", m->id, dir);
			return false;
		}
	}
	tq_error(t, "%s: keeps moving; try again", m->id);
	return false;
}

/* move - rename queue_dir/from/id to queue_dir/to/id. */
static int move(struct ternqueue *t, const char *from, const char *to, const char *id,
		char **error_r)
{
	char *src = tq_path(t, from, id), *dst = tq_path(t, to, id);
	int ret = 0;

	if (rename(src, dst) < 0) {
		ret = errno == ENOENT ? 1 : -1;
		if (ret < 0)
			*error_r = xasprintf("move %s to %s: %s", src, dst, strerror(errno));
	}
	free(src);
	free(dst);
	return ret;
}

static int op_delete(struct ternqueue *t, const char *dir, const char *id, char **error_r)
{
	char *path = tq_path(t, dir, id);
	int ret = 0;

	if (unlink(path) < 0) {
		ret = errno == ENOENT ? 1 : -1;
		if (ret < 0)
			*error_r = xasprintf("remove %s: %s", path, strerror(errno));
	}
	free(path);
	if (ret == 0 && status_log_remove_all(t->queue_dir, id, error_r) < 0)
		return -1;
	return ret;
}

static int op_hold(struct ternqueue *t, const char *dir, const char *id, char **error_r)
{
	return move(t, dir, "hold", id, error_r);
}

static int op_release(struct ternqueue *t, const char *dir, const char *id, char **error_r)
{
	return move(t, dir, "incoming", id, error_r);
}

/* sync_dir - make the renames into queue_dir/dir durable. */
static void sync_dir(struct ternqueue *t, const char *dir)
{
	char *path = xasprintf("%s/%s", t->queue_dir, dir), *err = NULL;

	if (safe_file_fsync_dir(path, &err) < 0) {
		tq_error(t, "%s", err);
		free(err);
	}
	free(path);
}

/* run - select the messages, apply op to each, report how many. */
static int run(struct ternqueue *t, int argc, char **argv, const char *const *dirs, op_fn *op,
	       const char *done_what, const char *log_what)
{
	struct tq_set set;
	size_t done = 0;

	if (tq_select(t, argc, argv, dirs, &set) != TQ_OK)
		return TQ_USAGE;
	for (size_t i = 0; i < set.n; i++) {
		if (apply(t, &set.v[i], op, dirs)) {
			msg_info("%s: %s", set.v[i].id, log_what);
			done++;
		}
	}
	printf("%s: %zu message%s\n", done_what, done, done == 1 ? "" : "s");
	tq_set_free(&set);
	return t->status;
}

int tq_delete(struct ternqueue *t, int argc, char **argv)
{
	return run(t, argc, argv, all_dirs, op_delete, "deleted", "removed");
}

int tq_hold(struct ternqueue *t, int argc, char **argv)
{
	int status = run(t, argc, argv, not_held, op_hold, "placed on hold", "placed on hold");

	if (status != TQ_USAGE)
		sync_dir(t, "hold");
	return status == TQ_USAGE ? status : t->status;
}

int tq_release(struct ternqueue *t, int argc, char **argv)
{
	int status = run(t, argc, argv, held, op_release, "released", "released from hold");

	if (status == TQ_USAGE)
		return status;
	sync_dir(t, "incoming");
	(void)tq_wake(t, 'W', false);
	return t->status;
}
