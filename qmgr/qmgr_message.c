/*
 * qmgr_message - taking a queue file into the active queue: open it, make
 * sure no delivery agent of an earlier qmgr still works on it, read its
 * envelope (the reader checks the whole file), move it to active/, log it,
 * and resolve its recipients. A file that is not complete goes to
 * corrupt/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/queue_file.h"
#include "qmgr/qmgr.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* The envelope attribute that marks a message made by an alias expansion. */
#define QMGR_ATTR_EXPANDED "expanded_from"

void qmgr_message_free(struct qmgr_message *msg)
{
	size_t i;

	if (msg == NULL)
		return;
	for (i = 0; i < msg->count; i++) {
		free(msg->rcpts[i].address);
		free(msg->rcpts[i].orcpt);
		free(msg->rcpts[i].deliver_to);
	}
	free(msg->rcpts);
	free(msg->sender);
	free(msg->arrival);
	free(msg);
}

char *qmgr_message_path(const struct qmgr_message *msg)
{
	return xasprintf("%s/%s", qmgr_dir_name(QMGR_ACTIVE), msg->id);
}

/* add_rcpt - a recipient not done yet, from its R record; -1 when malformed. */
static int add_rcpt(struct qmgr_message *msg, const struct queue_rec *rec, char **error_r)
{
	struct queue_rcpt rc;
	struct qmgr_rcpt *r;

	if (queue_rcpt_parse(rec->data, rec->len, &rc, error_r) < 0)
		return -1;
	msg->rcpts = xreallocarray(msg->rcpts, msg->count + 1, sizeof(*msg->rcpts));
	r = &msg->rcpts[msg->count++];
	memset(r, 0, sizeof(*r));
	r->address = xstrdup(rc.address);
	r->orcpt = xstrdup(rc.orcpt);
	r->notify = rc.notify;
	r->offset = rec->offset;
	r->state = QMGR_RCPT_TODO;
	return 0;
}

/* envelope_rec - take what qmgr needs of one envelope record; -1 when malformed. */
static int envelope_rec(struct qmgr_message *msg, const struct queue_rec *rec, char **error_r)
{
	struct queue_sizes sizes;
	const char *value;
	size_t nlen;

	switch (rec->type) {
	case QREC_SIZES:
		if (queue_sizes_parse(rec->data, rec->len, &sizes) < 0) {
			*error_r = xstrdup("bad sizes record");
			return -1;
		}
		msg->size = sizes.size;
		msg->nrcpt = sizes.nrcpt;
		break;
	case QREC_TIME:
		msg->arrival = xstrndup(rec->data, rec->len);
		msg->arrived = strtod(msg->arrival, NULL);
		break;
	case QREC_SENDER:
		msg->sender = xstrndup(rec->data, rec->len);
		break;
	case QREC_FLAGS:
		msg->flags = (unsigned)strtoul(rec->data, NULL, 10);
		break;
	case QREC_ATTR:
		if (queue_attr_split(rec->data, rec->len, &nlen, &value) == 0 &&
		    nlen == strlen(QMGR_ATTR_EXPANDED) &&
		    memcmp(rec->data, QMGR_ATTR_EXPANDED, nlen) == 0)
			msg->final = true;
		break;
	case QREC_RCPT:
		return add_rcpt(msg, rec, error_r);
	default:
		break;
	}
	return 0;
}

/*
 * read_file - the envelope of the queue file on fd into msg, checking the
 * whole file. 0, or -1 with *kind_r and *error_r.
 */
static int read_file(int fd, struct qmgr_message *msg, enum queue_error *kind_r, char **error_r)
{
	struct queue_reader *r = queue_reader_fd(fd);
	enum queue_read_status st;
	struct queue_rec rec;
	bool envelope = true;

	while ((st = queue_reader_next(r, &rec, error_r)) == QUEUE_READ_REC) {
		if (rec.type == QREC_CONTENT)
			envelope = false;
		if (envelope && envelope_rec(msg, &rec, error_r) < 0) {
			*kind_r = QUEUE_ERR_CORRUPT;
			queue_reader_free(&r);
			return -1;
		}
	}
	if (st == QUEUE_READ_ERROR) {
		*kind_r = queue_reader_error(r);
		queue_reader_free(&r);
		return -1;
	}
	queue_reader_free(&r);
	if (msg->sender == NULL || msg->arrival == NULL) {
		*kind_r = QUEUE_ERR_CORRUPT;
		*error_r = xstrdup("no sender or arrival time");
		return -1;
	}
	return 0;
}

/* quarantine - move a file that is not complete to corrupt/, with a log line. */
static void quarantine(struct qmgr *q, enum qmgr_dir from, const char *id, const char *why)
{
	char *err = NULL;

	if (queue_file_quarantine(q->queue_dir, qmgr_dir_name(from), id, &err) < 0) {
		msg_error("%s: corrupt queue file in %s/ (%s); cannot move it to corrupt/: %s", id,
			  qmgr_dir_name(from), why, err);
		free(err);
		return;
	}
	msg_error("%s: corrupt queue file (%s): moved from %s/ to corrupt/", id, why,
		  qmgr_dir_name(from));
}

/* open_locked - open from/id and take its lock; the descriptor, or -1 with *take_r. */
static int open_locked(struct qmgr *q, enum qmgr_dir from, const char *id, enum qmgr_take *take_r)
{
	struct stat st;
	int fd;

	fd = openat(q->dirfd[from], id, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		*take_r = errno == ENOENT  ? QMGR_GONE
			  : errno == ELOOP ? QMGR_QUARANTINED
					   : QMGR_FAILED;
		if (*take_r == QMGR_QUARANTINED)
			quarantine(q, from, id, "a symbolic link");
		else if (*take_r == QMGR_FAILED)
			msg_warn("%s: open %s/%s: %s", id, qmgr_dir_name(from), id,
				 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*take_r = QMGR_QUARANTINED;
		quarantine(q, from, id, "not a regular file");
		return -1;
	}
	/* a delivery agent holds a shared lock while it delivers */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		*take_r = errno == EWOULDBLOCK ? QMGR_LOCKED : QMGR_FAILED;
		if (*take_r == QMGR_FAILED)
			msg_warn("%s: lock: %s", id, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* log_active - the line that says a message entered the active queue. */
static void log_active(const struct qmgr_message *msg)
{
	msg_info("%s: from=<%s>, size=%lld, nrcpt=%lld (queue active)", msg->id, msg->sender,
		 msg->size, msg->nrcpt);
}

/* load - read the file into a new message; NULL with *take_r when it cannot be. */
static struct qmgr_message *load(struct qmgr *q, enum qmgr_dir from, const char *id, int fd,
				 enum qmgr_take *take_r)
{
	struct qmgr_message *msg = xcalloc(1, sizeof(*msg));
	enum queue_error kind = QUEUE_ERR_NONE;
	struct stat st;
	char *err = NULL;

	snprintf(msg->id, sizeof(msg->id), "%s", id);
	if (read_file(fd, msg, &kind, &err) < 0) {
		if (kind == QUEUE_ERR_IO) {
			msg_warn("%s: read %s/%s: %s", id, qmgr_dir_name(from), id, err);
			*take_r = QMGR_FAILED;
		} else {
			quarantine(q, from, id, err);
			*take_r = QMGR_QUARANTINED;
		}
		free(err);
		qmgr_message_free(msg);
		return NULL;
	}
	msg->warned = fstat(fd, &st) == 0 && (st.st_mode & S_IXUSR) != 0;
	return msg;
}

enum qmgr_take qmgr_message_take(struct qmgr *q, enum qmgr_dir from, const char *id)
{
	enum qmgr_take take = QMGR_TAKEN;
	struct qmgr_message *msg;
	int fd;

	if ((fd = open_locked(q, from, id, &take)) < 0)
		return take;
	if ((msg = load(q, from, id, fd, &take)) == NULL) {
		close(fd);
		return take;
	}
	if (from != QMGR_ACTIVE && renameat(q->dirfd[from], id, q->dirfd[QMGR_ACTIVE], id) < 0) {
		take = errno == ENOENT ? QMGR_GONE : QMGR_FAILED;
		if (take == QMGR_FAILED)
			msg_warn("%s: move from %s/ to active/: %s", id, qmgr_dir_name(from),
				 strerror(errno));
		qmgr_message_free(msg);
		close(fd);
		return take;
	}
	msg->activated = qmgr_now();
	log_active(msg);
	qmgr_active_insert(q, msg);
	qmgr_active_resolve(q, msg, fd);
	close(fd);
	qmgr_active_check(q, msg);
	return QMGR_TAKEN;
}
