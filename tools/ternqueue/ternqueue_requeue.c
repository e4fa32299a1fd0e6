/*
 * ternqueue_requeue - "ternqueue requeue": pass messages through cleanup
 * again, so that what cleanup does to a new message (header checks, and
 * address rewriting as it grows) applies to them anew.
 *
 * Each message is first moved to hold/, out of qmgr's reach. The notices
 * its bounce and trace logs still owe are sent (bounce_flush()). Then a
 * new message goes to cleanup: the same envelope (sender, flags, ENVID,
 * RET), the recipients not yet delivered (with their ORCPT and NOTIFY; the
 * delivered ones are left out, which is what their done marks mean), and
 * the same content. Once cleanup has it safely queued (a new queue ID, a
 * new arrival time, a Received: header of cleanup's own on top), the old
 * file and its logs are removed. When anything fails the old message goes
 * back where it was (to incoming/ when it was being delivered) and nothing
 * is lost; a crash in between may leave both, never neither.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/bounce.h"
#include "mail/cleanup_client.h"
#include "mail/mail_conf.h"
#include "mail/queue_file.h"
#include "mail/status_log.h"
#include "tools/ternqueue/ternqueue.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

static const char *const requeue_dirs[] = {"incoming", "active", "deferred", "hold", NULL};

/* take - move the message to hold/; its directory before, or NULL when it is gone. */
static const char *take(struct ternqueue *t, const char *id, const char *dir)
{
	for (int tries = 0; tries < 5 && dir != NULL; tries++) {
		char *src = tq_path(t, dir, id), *dst = tq_path(t, "hold", id);
		int r = strcmp(dir, "hold") == 0 ? 0 : rename(src, dst);
		int saved = errno;

		free(src);
		free(dst);
		if (r == 0)
			return dir;
		if (saved != ENOENT) {
			tq_error(t, "%s: move to hold/: %s", id, strerror(saved));
			return NULL;
		}
		dir = tq_locate(t, id);
	}
	tq_note("%s: no longer in the queue (delivered or removed meanwhile)", id);
	return NULL;
}

/* put_back - return the message from hold/ to where it was (incoming/ instead of active/). */
static void put_back(struct ternqueue *t, const char *id, const char *dir)
{
	const char *to = strcmp(dir, "active") == 0 ? "incoming" : dir;
	char *src = tq_path(t, "hold", id), *dst = tq_path(t, to, id);

	if (strcmp(to, "hold") != 0 && rename(src, dst) < 0)
		tq_error(t, "%s: move back to %s/: %s (it stays in hold/)", id, to,
			 strerror(errno));
	free(src);
	free(dst);
}

static const char *attr_value(const struct tq_envelope *env, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; env->attrs != NULL && env->attrs[i] != NULL; i++)
		if (strncmp(env->attrs[i], name, n) == 0 && env->attrs[i][n] == '=')
			return env->attrs[i] + n + 1;
	return NULL;
}

/* send_content - the content lines of the queue file to cleanup, each ended by LF. */
static int send_content(struct cleanup_client *c, const char *path, char **error_r)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), ret = -1;
	struct strbuf buf = STRBUF_INIT;
	struct queue_reader *r;
	struct queue_rec rec;
	bool content = false;

	if (fd < 0) {
		*error_r = xasprintf("open %s: %s", path, strerror(errno));
		return -1;
	}
	r = queue_reader_fd(fd);
	for (;;) {
		enum queue_read_status st = queue_reader_next(r, &rec, error_r);

		if (st != QUEUE_READ_REC) {
			ret = st == QUEUE_READ_END ? cleanup_write(c, buf.data, buf.len, error_r)
						   : -1;
			break;
		}
		if (rec.type == QREC_CONTENT || rec.type == QREC_EXTRACTED) {
			content = rec.type == QREC_CONTENT;
		} else if (content && (rec.type == QREC_LINE || rec.type == QREC_PIECE)) {
			strbuf_append(&buf, rec.data, rec.len);
			if (rec.type == QREC_LINE)
				strbuf_putc(&buf, '\n');
			if (buf.len >= CLEANUP_CHUNK) {
				if (cleanup_write(c, buf.data, buf.len, error_r) < 0)
					break;
				strbuf_reset(&buf);
			}
		}
	}
	queue_reader_free(&r);
	close(fd);
	strbuf_free(&buf);
	return ret;
}

/* submit - the message in hold/ as a new one; 0 with its queue ID, -1 with *error_r. */
static int submit(struct ternqueue *t, const char *id, const struct tq_envelope *env,
		  char new_id[32], char **error_r)
{
	long long timeout = mail_conf_time(t->conf, "ipc_timeout") * 1000;
	struct cleanup_envelope ce = {
	    .sender = env->sender,
	    .flags = env->flags,
	    .envid = env->envid,
	    .ret = env->ret == NULL		   ? CLEANUP_RET_NONE
		   : strcmp(env->ret, "FULL") == 0 ? CLEANUP_RET_FULL
						   : CLEANUP_RET_HDRS,
	    .size_hint = env->size,
	    .local_user = attr_value(env, "local_user"),
	};
	struct cleanup_result result = {0};
	struct cleanup_client *c =
	    cleanup_open(t->queue_dir, timeout > INT_MAX ? INT_MAX : (int)timeout, error_r);
	char *path = tq_path(t, "hold", id);
	int ret = -1;

	if (c == NULL || cleanup_envelope(c, &ce, error_r) < 0)
		goto out;
	for (size_t i = 0; i < env->nrcpts; i++)
		if (!env->rcpts[i].done &&
		    cleanup_rcpt(c, env->rcpts[i].address,
				 *env->rcpts[i].orcpt ? env->rcpts[i].orcpt : NULL,
				 env->rcpts[i].notify, error_r) < 0)
			goto out;
	if (send_content(c, path, error_r) < 0 || cleanup_finish(c, &result, error_r) < 0)
		goto out;
	if (result.status != 0) {
		*error_r = xasprintf("cleanup refused it: %d %s %s", result.status, result.dsn,
				     result.text != NULL ? result.text : "");
		goto out;
	}
	snprintf(new_id, 32, "%s", result.queue_id);
	ret = 0;
out:
	cleanup_result_free(&result);
	cleanup_close(&c);
	free(path);
	return ret;
}

static size_t pending(const struct tq_envelope *env)
{
	size_t n = 0;

	for (size_t i = 0; i < env->nrcpts; i++)
		n += !env->rcpts[i].done;
	return n;
}

/* requeue_one - the steps above for one message; true when it was requeued. */
static bool requeue_one(struct ternqueue *t, const struct tq_msg *m)
{
	const char *was = take(t, m->id, m->dir);
	char *hold_path = xasprintf("hold/%s", m->id), *err = NULL, new_id[32];
	struct tq_envelope env = {0};
	bool ok = false;

	if (was == NULL) {
		free(hold_path);
		return false;
	}
	if (bounce_flush(t->conf, m->id, hold_path, &err) < 0 ||
	    tq_envelope_read(t, "hold", m->id, &env, &err) != 0) {
		tq_error(t, "%s: %s", m->id, err != NULL ? err : "gone meanwhile");
	} else if (pending(&env) == 0) {
		tq_note("%s: no recipient left to deliver; left to qmgr", m->id);
	} else if (submit(t, m->id, &env, new_id, &err) < 0) {
		tq_error(t, "%s: requeue: %s", m->id, err);
	} else {
		char *path = tq_path(t, "hold", m->id);

		if (unlink(path) < 0 || status_log_remove_all(t->queue_dir, m->id, &err) < 0)
			tq_error(t, "%s: requeued as %s, but the old copy stays: %s", m->id, new_id,
				 err != NULL ? err : strerror(errno));
		msg_info("%s: requeued as %s", m->id, new_id);
		printf("%s: requeued as %s\n", m->id, new_id);
		free(path);
		ok = true;
	}
	if (!ok)
		put_back(t, m->id, was);
	free(err);
	free(hold_path);
	tq_envelope_free(&env);
	return ok;
}

int tq_requeue(struct ternqueue *t, int argc, char **argv)
{
	struct tq_set set;
	size_t done = 0;

	if (tq_select(t, argc, argv, requeue_dirs, &set) != TQ_OK)
		return TQ_USAGE;
	for (size_t i = 0; i < set.n; i++)
		done += requeue_one(t, &set.v[i]);
	printf("requeued: %zu message%s\n", done, done == 1 ? "" : "s");
	tq_set_free(&set);
	return t->status;
}
