/*
 * pickup - feed the messages of $queue_directory/maildrop to cleanup (see
 * pickup(8)).
 *
 * A master.cf unix service with a wakeup time: on each connection (master's
 * periodic 'W', or postdrop's after it wrote a file) and once when it
 * starts, pickup scans the maildrop directory and hands each complete file
 * to cleanup as a local submission. A file is removed only after cleanup
 * answered with a queue ID; a malformed or foreign file goes to corrupt/
 * (pickup_file.c).
 *
 * Usage (from master.cf): pickup unix n - n 60 1 pickup
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/daemon.h"
#include "mail/mail_conf.h"
#include "pickup/pickup.h"
#include "util/event.h"
#include "util/msg.h"
#include "util/mymalloc.h"

struct pickup_daemon {
	struct pickup pickup;
	struct event_timer start_timer;
};

static void on_start(struct event_loop *loop, void *ctx)
{
	struct pickup_daemon *pd = ctx;

	pickup_scan(&pd->pickup);
}

static int pickup_post_jail(struct daemon_ctx *dctx, char **error_r)
{
	struct pickup_daemon *pd = daemon_data(dctx);
	const struct mail_conf *conf = daemon_conf(dctx);

	pickup_init(&pd->pickup, conf);
	/* files left while pickup did not run need no wake-up to be found */
	event_timer_add(daemon_loop(dctx), &pd->start_timer, 0, on_start, pd);
	return 0;
}

/* drain - read what the waking client sent (one byte or a few); it matters not what. */
static void drain(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void pickup_serve(struct daemon_ctx *dctx, int fd)
{
	struct pickup_daemon *pd = daemon_data(dctx);

	drain(fd);
	close(fd);
	pickup_scan(&pd->pickup);
	daemon_session_done(dctx);
}

static void pickup_shutdown(struct daemon_ctx *dctx)
{
	struct pickup_daemon *pd = daemon_data(dctx);

	event_timer_cancel(daemon_loop(dctx), &pd->start_timer);
	pickup_free(&pd->pickup);
}

int main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
	    .name = "pickup",
	    .owner = DAEMON_OWNER_MAIL,
	    .post_jail = pickup_post_jail,
	    .serve = pickup_serve,
	    .shutdown = pickup_shutdown,
	};
	struct pickup_daemon pd;

	memset(&pd, 0, sizeof(pd));
	return daemon_main(argc, argv, &ops, &pd);
}
