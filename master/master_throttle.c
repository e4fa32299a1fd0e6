/*
 * master_throttle - holding back a service whose children keep crashing.
 *
 * Each crash (a child that exits abnormally, or without ever reporting
 * ready, before it completed a session) doubles the wait before master
 * starts another child of the service: 1s, 2s, 4s, ... capped at
 * service_throttle_time. A completed session resets the count.
 */
#include "mail/master_conf.h"
#include "master/master.h"
#include "util/msg.h"

int master_throttled(const struct master_service *svc)
{
	return event_timer_pending(&svc->throttle_timer);
}

static void on_throttle_end(struct event_loop *loop, void *ctx)
{
	struct master_service *svc = ctx;

	msg_debug("service %s: throttle over", svc->conf.name);
	master_balance(svc);
}

void master_throttle_crash(struct master_service *svc, const char *what)
{
	long long delay = 1;
	int i;

	for (i = 0; i < svc->crashes && delay < svc->throttle_max; i++)
		delay *= 2;
	if (delay > svc->throttle_max)
		delay = svc->throttle_max;
	if (svc->crashes < 1000)
		svc->crashes++;
	msg_warn("service %s: %s; throttling for %llds", svc->conf.name, what, delay);
	event_timer_add(svc->master->loop, &svc->throttle_timer, (uint64_t)delay * 1000u,
			on_throttle_end, svc);
	master_service_watch(svc, 0);
}

void master_throttle_reset(struct master_service *svc)
{
	svc->crashes = 0;
}

void master_throttle_stop(struct master_service *svc)
{
	event_timer_cancel(svc->master->loop, &svc->throttle_timer);
}
