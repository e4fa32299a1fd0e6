/*
 * qmgr_split - when a recipient expands to several addresses (an alias
 * with several targets), they cannot share its one done-mark: each may
 * succeed or fail on its own. So they go into a new message of their own
 * in incoming/, a copy of the original with the same sender, envelope,
 * content and extracted section, whose recipients are those addresses.
 * Its envelope says "expanded_from=<original QID>", which marks its
 * recipients as final: they are routed, never expanded again (an alias
 * that keeps a copy for its own account would otherwise expand forever).
 *
 * The copy is made durable (queue_writer) before the original recipients
 * are marked done: a crash in between makes the copy twice at worst.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/queue_file.h"
#include "mail/queue_writer.h"
#include "qmgr/qmgr.h"
#include "util/msg.h"
#include "util/mymalloc.h"

#define SPLIT_ATTR "expanded_from"

/* Where the copy stands. */
struct split {
	struct queue_writer *w;
	const struct qmgr_message *msg;
	const struct qmgr_split_rcpt *rcpts;
	size_t n;
	long long body_offset; /* of the original, from its Z record */
	int section;	       /* 0 envelope, 1 content, 2 extracted */
	bool body_marked;
};

/* is_split_attr - whether an A record is the mark of an earlier expansion. */
static bool is_split_attr(const struct queue_rec *rec)
{
	size_t nlen;
	const char *value;

	return queue_attr_split(rec->data, rec->len, &nlen, &value) == 0 &&
	       nlen == strlen(SPLIT_ATTR) && memcmp(rec->data, SPLIT_ATTR, nlen) == 0;
}

/* envelope_end - the copy's own mark and recipients, then its content section. */
static void envelope_end(struct split *s)
{
	size_t i;

	queue_writer_attr(s->w, SPLIT_ATTR, s->msg->id);
	for (i = 0; i < s->n; i++)
		queue_writer_rcpt(s->w, s->rcpts[i].address, s->rcpts[i].orcpt, s->rcpts[i].notify);
	queue_writer_content(s->w);
	s->section = 1;
}

/* copy - one record of the original into the copy; -1 when the original is bad. */
static int copy(struct split *s, const struct queue_rec *rec, char **error_r)
{
	struct queue_sizes sizes;

	switch (rec->type) {
	case QREC_SIZES:
		if (queue_sizes_parse(rec->data, rec->len, &sizes) < 0) {
			*error_r = xstrdup("bad sizes record");
			return -1;
		}
		s->body_offset = sizes.body_offset;
		break;
	case QREC_SENDER:
	case QREC_FLAGS:
	case QREC_ENVID:
	case QREC_RET:
		queue_writer_rec(s->w, rec->type, rec->data, rec->len);
		break;
	case QREC_ATTR:
		if (s->section == 2)
			queue_writer_rec(s->w, QREC_ATTR, rec->data, rec->len);
		else if (!is_split_attr(rec))
			queue_writer_rec(s->w, QREC_ATTR, rec->data, rec->len);
		break;
	case QREC_CONTENT:
		envelope_end(s);
		break;
	case QREC_PIECE:
	case QREC_LINE:
		if (!s->body_marked && rec->offset == s->body_offset) {
			queue_writer_body(s->w);
			s->body_marked = true;
		}
		queue_writer_line(s->w, rec->data, rec->len, rec->type == QREC_LINE);
		break;
	case QREC_EXTRACTED:
		queue_writer_extracted(s->w);
		s->section = 2;
		break;
	default: /* V, Z, T are the writer's; R, D are the original's; E ends */
		break;
	}
	return 0;
}

int qmgr_split_write(struct qmgr *q, const struct qmgr_message *msg, int fd,
		     const struct qmgr_split_rcpt *rcpts, size_t n, char id_r[QUEUE_ID_SIZE],
		     char **error_r)
{
	struct split s = {.msg = msg, .rcpts = rcpts, .n = n, .body_offset = -1};
	struct queue_reader *r;
	enum queue_read_status st;
	struct queue_rec rec;
	char *err = NULL;
	int ret = -1;

	s.w = queue_writer_create(q->dirfd[QMGR_INCOMING], q->writer_flags, NULL, error_r);
	if (s.w == NULL)
		return -1;
	r = queue_reader_fd(fd);
	while ((st = queue_reader_next(r, &rec, &err)) == QUEUE_READ_REC)
		if (copy(&s, &rec, &err) < 0)
			break;
	if (st != QUEUE_READ_END || s.section != 2) {
		*error_r = xasprintf("read %s: %s", msg->id, err != NULL ? err : "file ends early");
	} else if (queue_writer_commit(s.w, NULL, error_r) == 0) {
		snprintf(id_r, QUEUE_ID_SIZE, "%s", queue_writer_id(s.w));
		ret = 0;
	}
	free(err);
	queue_reader_free(&r);
	queue_writer_free(&s.w);
	return ret;
}
