/*
 * master_wakeup - periodic wake-up requests: for a unix service with a
 * wakeup time in master.cf, master connects to the service's socket every
 * that many seconds and writes MASTER_WAKEUP_BYTE (a queue manager or a
 * pickup daemon then looks for work). A full backlog skips one request.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mail/master_proto.h"
#include "master/master.h"
#include "util/msg.h"

/* trigger - one non-blocking connect and write; never waits. */
static void trigger(const struct master_service *svc)
{
	struct sockaddr_un sun;
	char byte = MASTER_WAKEUP_BYTE;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(svc->conf.path) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, svc->conf.path, strlen(svc->conf.path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		msg_warn("service %s: wakeup: socket: %s", svc->conf.name, strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || write(fd, &byte, 1) != 1)
		msg_debug("service %s: wakeup skipped: %s", svc->conf.name, strerror(errno));
	close(fd);
}

static void on_wakeup(struct event_loop *loop, void *ctx)
{
	struct master_service *svc = ctx;

	if (svc->retired || svc->nfds == 0)
		return;
	trigger(svc);
	event_timer_add(loop, &svc->wakeup_timer, (uint64_t)svc->conf.wakeup * 1000u, on_wakeup,
			svc);
}

void master_wakeup_start(struct master_service *svc)
{
	if (svc->conf.wakeup <= 0 || svc->conf.type != MASTER_UNIX || svc->nfds == 0)
		return;
	event_timer_add(svc->master->loop, &svc->wakeup_timer, (uint64_t)svc->conf.wakeup * 1000u,
			on_wakeup, svc);
}

void master_wakeup_stop(struct master_service *svc)
{
	event_timer_cancel(svc->master->loop, &svc->wakeup_timer);
}
