/*
 * ternqueue_env - read the envelope of a message: the records of a queue
 * file up to its content (recipients with their done marks), or the
 * envelope of a maildrop file not yet picked up.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/maildrop.h"
#include "mail/queue_file.h"
#include "tools/ternqueue/ternqueue.h"
#include "util/mymalloc.h"

void tq_envelope_free(struct tq_envelope *env)
{
	for (size_t i = 0; i < env->nrcpts; i++) {
		free(env->rcpts[i].address);
		free(env->rcpts[i].orcpt);
	}
	free(env->rcpts);
	for (size_t i = 0; env->attrs != NULL && env->attrs[i] != NULL; i++)
		free(env->attrs[i]);
	free(env->attrs);
	free(env->sender);
	free(env->envid);
	free(env->ret);
	*env = (struct tq_envelope){0};
}

static void add_rcpt(struct tq_envelope *env, const char *address, const char *orcpt,
		     unsigned notify, long long offset, bool done)
{
	struct tq_rcpt *r;

	env->rcpts = xreallocarray(env->rcpts, env->nrcpts + 1, sizeof(*env->rcpts));
	r = &env->rcpts[env->nrcpts++];
	r->address = xstrdup(address);
	r->orcpt = xstrdup(orcpt);
	r->notify = notify;
	r->offset = offset;
	r->done = done;
}

static void add_attr(struct tq_envelope *env, const char *attr)
{
	size_t n = 0;

	while (env->attrs != NULL && env->attrs[n] != NULL)
		n++;
	env->attrs = xreallocarray(env->attrs, n + 2, sizeof(*env->attrs));
	env->attrs[n] = xstrdup(attr);
	env->attrs[n + 1] = NULL;
}

static int take_record(struct tq_envelope *env, const struct queue_rec *rec, char **error_r)
{
	struct queue_sizes sizes;
	struct queue_rcpt rcpt;
	char **slot = NULL;

	switch (rec->type) {
	case QREC_SIZES:
		if (queue_sizes_parse(rec->data, rec->len, &sizes) == 0)
			env->size = sizes.size;
		return 0;
	case QREC_TIME:
		env->arrival = (time_t)strtoll(rec->data, NULL, 10);
		return 0;
	case QREC_FLAGS:
		env->flags = (unsigned)strtoul(rec->data, NULL, 10);
		return 0;
	case QREC_ATTR:
		add_attr(env, rec->data);
		return 0;
	case QREC_RCPT:
	case QREC_DONE:
		if (queue_rcpt_parse(rec->data, rec->len, &rcpt, error_r) < 0)
			return -1;
		add_rcpt(env, rcpt.address, rcpt.orcpt, rcpt.notify, (long long)rec->offset,
			 rec->type == QREC_DONE);
		return 0;
	case QREC_SENDER:
		slot = &env->sender;
		break;
	case QREC_ENVID:
		slot = &env->envid;
		break;
	case QREC_RET:
		slot = &env->ret;
		break;
	default:
		return 0;
	}
	free(*slot);
	*slot = xstrdup(rec->data);
	return 0;
}

/* read_queue_file - the envelope section of the queue file open on fd. */
static int read_queue_file(int fd, struct tq_envelope *env, char **error_r)
{
	struct queue_reader *r = queue_reader_fd(fd);
	struct queue_rec rec;
	int ret = 0;

	for (;;) {
		if (queue_reader_next(r, &rec, error_r) != QUEUE_READ_REC) {
			ret = -1;
			break;
		}
		if (rec.type == QREC_CONTENT)
			break;
		if ((ret = take_record(env, &rec, error_r)) < 0)
			break;
	}
	queue_reader_free(&r);
	return ret;
}

/* read_maildrop_file - the envelope of a maildrop file open on fd. */
static int read_maildrop_file(int fd, struct tq_envelope *env, char **error_r)
{
	FILE *fp = fdopen(dup(fd), "r");
	struct maildrop_envelope md;
	struct maildrop_reader *r;
	struct stat st;
	int ret = -1;

	if (fp == NULL) {
		*error_r = xstrdup(strerror(errno));
		return -1;
	}
	maildrop_envelope_init(&md);
	r = maildrop_reader_create(fp, true, 0);
	if (maildrop_read_envelope(r, &md, error_r) == MAILDROP_OK) {
		env->arrival = (time_t)md.time;
		env->sender = xstrdup(md.sender);
		env->size = fstat(fd, &st) == 0 ? (long long)st.st_size : 0;
		if (md.envid != NULL)
			env->envid = xstrdup(md.envid);
		for (size_t i = 0; i < md.nrcpts; i++)
			add_rcpt(env, md.rcpts[i], "", 0, -1, false);
		ret = 0;
	}
	maildrop_reader_free(&r);
	maildrop_envelope_free(&md);
	fclose(fp);
	return ret;
}

int tq_envelope_read(const struct ternqueue *t, const char *dir, const char *id,
		     struct tq_envelope *env, char **error_r)
{
	char *path = tq_path(t, dir, id);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), ret;

	*env = (struct tq_envelope){0};
	if (fd < 0) {
		ret = errno == ENOENT ? 1 : -1;
		if (ret < 0)
			*error_r = xasprintf("open %s: %s", path, strerror(errno));
		free(path);
		return ret;
	}
	ret = strcmp(dir, "maildrop") == 0 ? read_maildrop_file(fd, env, error_r)
					   : read_queue_file(fd, env, error_r);
	close(fd);
	if (ret < 0) {
		char *e = *error_r;

		*error_r = xasprintf("%s: %s", path, e);
		free(e);
		tq_envelope_free(env);
	} else if (env->sender == NULL) {
		env->sender = xstrdup("");
	}
	free(path);
	return ret;
}
