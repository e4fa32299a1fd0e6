/*
 * cleanup_finish - the end of a message: the extracted section, the
 * commit (the file and its name durable before anything is answered), the
 * log line of a queued message, and the wake-up of qmgr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup/cleanup.h"
#include "mail/master_proto.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* The qmgr wake-up socket, relative to the queue directory (cleanup's working directory). */
#define QMGR_WAKE_SOCKET "public/qmgr"

/*
 * wake_qmgr - tell qmgr that incoming/ has a new file: connect to its
 * socket and write one byte, without waiting. Nobody listening (no qmgr
 * yet, or stopped) or a full backlog (it is awake anyway) is no error.
 */
static void wake_qmgr(void)
{
	struct sockaddr_un sun;
	char byte = MASTER_WAKEUP_BYTE;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, QMGR_WAKE_SOCKET, sizeof(QMGR_WAKE_SOCKET));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		msg_warn("wake qmgr: socket: %s", strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN)
			msg_warn("wake qmgr: connect to %s: %s", QMGR_WAKE_SOCKET, strerror(errno));
	} else if (write(fd, &byte, 1) != 1 && errno != EAGAIN) {
		msg_warn("wake qmgr: write to %s: %s", QMGR_WAKE_SOCKET, strerror(errno));
	}
	close(fd);
}

/* commit - write the extracted section and make the file durable; 0 or -1 (refused). */
static int commit(struct cleanup_msg *m)
{
	char *err = NULL;
	int err_no = 0;

	queue_writer_extracted(m->w);
	queue_writer_attr(m->w, "message_id", m->message_id != NULL ? m->message_id : "");
	if (queue_writer_commit(m->w, &err_no, &err) < 0) {
		msg_warn("%s", err);
		free(err);
		if (err_no == ENOSPC || err_no == EDQUOT)
			cleanup_refuse(m, 452, "4.3.1", "insufficient system storage", NULL);
		else
			cleanup_refuse(m, 451, "4.3.0", "queue file write error", NULL);
		return -1;
	}
	return 0;
}

void cleanup_msg_finish(struct cleanup_msg *m, int *status_r, const char **dsn_r,
			const char **text_r)
{
	cleanup_msg_content_end(m);
	if (m->status == 0 && m->nrcpt == 0)
		cleanup_refuse(m, 554, "5.5.1", "no recipients", "message without recipients");
	if (m->status == 0 && commit(m) == 0) {
		wake_qmgr();
		*status_r = 0;
		*dsn_r = "2.0.0";
		free(m->text);
		m->text = xasprintf("queued as %s", m->id);
		*text_r = m->text;
		return;
	}
	*status_r = m->status;
	*dsn_r = m->dsn;
	*text_r = m->text;
}
