/*
 * dsn_original - read what a notice needs of the original message from its
 * queue file: the envelope, every recipient with its done state, and the
 * Message-ID from the extracted section. The content is read later, while
 * the notice is composed (dsn_compose.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/dsn.h"
#include "mail/queue_file.h"
#include "util/mymalloc.h"

/* take_attr - an envelope or extracted A record. */
static void take_attr(struct dsn_original *o, const struct queue_rec *rec, bool extracted)
{
	size_t name_len;
	const char *value;
	char **slot = NULL;

	if (queue_attr_split(rec->data, rec->len, &name_len, &value) < 0 || *value == '\0')
		return;
#define NAME_IS(s) (name_len == sizeof(s) - 1 && memcmp(rec->data, s, name_len) == 0)
	if (extracted && NAME_IS("message_id"))
		slot = &o->message_id;
	else if (!extracted && NAME_IS("client_name"))
		slot = &o->client_name;
	else if (!extracted && NAME_IS("client_addr"))
		slot = &o->client_addr;
	else if (!extracted && NAME_IS("helo"))
		slot = &o->helo;
#undef NAME_IS
	if (slot != NULL) {
		free(*slot);
		*slot = xstrdup(value);
	}
}

static int take_rcpt(struct dsn_original *o, const struct queue_rec *rec, char **error_r)
{
	struct queue_rcpt r;
	struct dsn_rcpt *d;

	if (queue_rcpt_parse(rec->data, rec->len, &r, error_r) < 0)
		return -1;
	o->rcpts = xreallocarray(o->rcpts, o->nrcpts + 1, sizeof(*o->rcpts));
	d = &o->rcpts[o->nrcpts++];
	d->address = xstrdup(r.address);
	d->orcpt = xstrdup(r.orcpt);
	d->notify = r.notify;
	d->offset = (long long)rec->offset;
	d->done = rec->type == QREC_DONE;
	return 0;
}

/* take_record - one record of the file into o. */
static int take_record(struct dsn_original *o, const struct queue_rec *rec, bool *extracted,
		       char **error_r)
{
	struct queue_sizes sizes;

	switch (rec->type) {
	case QREC_SIZES:
		if (queue_sizes_parse(rec->data, rec->len, &sizes) == 0)
			o->size = sizes.size;
		break;
	case QREC_TIME:
		o->arrival = (time_t)strtoll(rec->data, NULL, 10);
		break;
	case QREC_SENDER:
		free(o->sender);
		o->sender = xstrdup(rec->data);
		break;
	case QREC_FLAGS:
		o->flags = (unsigned)strtoul(rec->data, NULL, 10);
		break;
	case QREC_ENVID:
		free(o->envid);
		o->envid = rec->len > 0 ? xstrdup(rec->data) : NULL;
		break;
	case QREC_RET:
		o->ret = strcmp(rec->data, "FULL") == 0	  ? CLEANUP_RET_FULL
			 : strcmp(rec->data, "HDRS") == 0 ? CLEANUP_RET_HDRS
							  : CLEANUP_RET_NONE;
		break;
	case QREC_ATTR:
		take_attr(o, rec, *extracted);
		break;
	case QREC_RCPT:
	case QREC_DONE:
		return take_rcpt(o, rec, error_r);
	case QREC_EXTRACTED:
		*extracted = true;
		break;
	}
	return 0;
}

/* read_file - every record of the open file into o; the reader checks the format. */
static int read_file(struct dsn_original *o, const char *path, int *errno_r, char **error_r)
{
	struct queue_reader *r = queue_reader_fd(o->fd);
	struct queue_rec rec;
	bool extracted = false;
	char *err = NULL;
	int ret = -1;

	for (;;) {
		enum queue_read_status st = queue_reader_next(r, &rec, &err);

		if (st == QUEUE_READ_ERROR) {
			*errno_r = queue_reader_error(r) == QUEUE_ERR_IO ? EIO : EINVAL;
			*error_r = xasprintf("%s: %s", path, err);
			free(err);
			break;
		}
		if (st == QUEUE_READ_END) {
			ret = 0;
			break;
		}
		if (take_record(o, &rec, &extracted, &err) < 0) {
			*errno_r = EINVAL;
			*error_r = xasprintf("%s: %s", path, err);
			free(err);
			break;
		}
	}
	queue_reader_free(&r);
	return ret;
}

int dsn_original_open(const char *path, bool writable, struct dsn_original *orig, int *errno_r,
		      char **error_r)
{
	const char *base = strrchr(path, '/');
	int dummy;

	if (errno_r == NULL)
		errno_r = &dummy;
	*orig = (struct dsn_original){.fd = -1};
	orig->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
	if (orig->fd < 0) {
		*errno_r = errno;
		*error_r = xasprintf("open %s: %s", path, strerror(errno));
		return -1;
	}
	orig->queue_id = xstrdup(base != NULL ? base + 1 : path);
	if (read_file(orig, path, errno_r, error_r) < 0) {
		dsn_original_close(orig);
		return -1;
	}
	if (orig->sender == NULL)
		orig->sender = xstrdup("");
	return 0;
}

void dsn_original_close(struct dsn_original *orig)
{
	for (size_t i = 0; i < orig->nrcpts; i++) {
		free(orig->rcpts[i].address);
		free(orig->rcpts[i].orcpt);
	}
	free(orig->rcpts);
	free(orig->queue_id);
	free(orig->sender);
	free(orig->envid);
	free(orig->message_id);
	free(orig->client_name);
	free(orig->client_addr);
	free(orig->helo);
	if (orig->fd >= 0)
		close(orig->fd);
	*orig = (struct dsn_original){.fd = -1};
}
