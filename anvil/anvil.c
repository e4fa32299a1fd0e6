/*
 * anvil - the connection count and rate service (see anvil(8)).
 *
 * One process serves every client connection at once on its event loop
 * (the daemon skeleton's multi-session mode) and keeps the counters in
 * memory: a table of (service, client address) entries that expire once
 * they hold no connection and their rate window is over. Every
 * anvil_status_update_time it logs the maxima it saw, and once more when it
 * exits.
 *
 * Usage (from master.cf): anvil unix - - n - 1 anvil
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anvil/anvil.h"
#include "anvil/anvil_table.h"
#include "mail/daemon.h"
#include "mail/mail_conf.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/*
 * The counters live in memory: a process recycled after max_use clients
 * would forget them. This default comes before master.cf's own -o options,
 * which still win.
 */
#define ANVIL_MAX_USE "max_use=10000000"

/* wall_time - the wall-clock time of the loop's monotonic instant when, as "Mon DD HH:MM:SS". */
static void wall_time(const struct anvil_server *server, uint64_t when, char *buf, size_t size)
{
	uint64_t now = event_now_ms(server->loop);
	time_t t = time(NULL) - (time_t)((now > when ? now - when : 0) / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(buf, size, "%b %e %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
}

/* log_stats - the maxima since the last report, as Postfix's anvil logs them. */
static void log_stats(struct anvil_server *server)
{
	const struct anvil_stats *st = anvil_table_stats(server->table);
	char when[64];

	if (st->rate.value > 0) {
		wall_time(server, st->rate.when, when, sizeof(when));
		msg_info("statistics: max connection rate %lld/%llus for (%s) at %s",
			 st->rate.value, (unsigned long long)(server->time_unit_ms / 1000),
			 st->rate.key, when);
	}
	if (st->count.value > 0) {
		wall_time(server, st->count.when, when, sizeof(when));
		msg_info("statistics: max connection count %lld for (%s) at %s", st->count.value,
			 st->count.key, when);
	}
	if (st->size.value > 0) {
		wall_time(server, st->size.when, when, sizeof(when));
		msg_info("statistics: max cache size %lld at %s", st->size.value, when);
	}
	anvil_table_stats_reset(server->table, event_now_ms(server->loop));
}

static void on_status(struct event_loop *loop, void *ctx)
{
	struct anvil_server *server = ctx;

	log_stats(server);
	event_timer_add(loop, &server->status_timer, server->status_every_ms, on_status, server);
}

static void on_expire(struct event_loop *loop, void *ctx)
{
	struct anvil_server *server = ctx;
	size_t removed = anvil_table_expire(server->table, event_now_ms(loop));

	if (removed > 0)
		msg_debug("expired %zu entries, %zu left", removed,
			  anvil_table_size(server->table));
	event_timer_add(loop, &server->expire_timer, server->time_unit_ms, on_expire, server);
}

static int anvil_post_jail(struct daemon_ctx *dctx, char **error_r)
{
	struct anvil_server *server = daemon_data(dctx);
	const struct mail_conf *conf = daemon_conf(dctx);
	long long unit = mail_conf_time(conf, "anvil_rate_time_unit");

	server->dctx = dctx;
	server->loop = daemon_loop(dctx);
	server->time_unit_ms = (uint64_t)unit * 1000u;
	server->status_every_ms =
	    (uint64_t)mail_conf_time(conf, "anvil_status_update_time") * 1000u;
	server->table = anvil_table_create(server->time_unit_ms);
	daemon_set_session_limit(dctx, mail_conf_int(conf, "anvil_connection_limit"));
	if (mail_conf_time(conf, "max_idle") < unit)
		msg_warn("max_idle (%llds) is shorter than anvil_rate_time_unit (%llds): rates "
			 "are forgotten when anvil exits after max_idle without clients",
			 mail_conf_time(conf, "max_idle"), unit);
	event_timer_add(server->loop, &server->expire_timer, server->time_unit_ms, on_expire,
			server);
	event_timer_add(server->loop, &server->status_timer, server->status_every_ms, on_status,
			server);
	return 0;
}

static void anvil_serve(struct daemon_ctx *dctx, int fd)
{
	anvil_conn_new(daemon_data(dctx), fd);
}

static void anvil_stopping(struct daemon_ctx *dctx)
{
	anvil_conn_close_all(daemon_data(dctx));
}

static void anvil_shutdown(struct daemon_ctx *dctx)
{
	struct anvil_server *server = daemon_data(dctx);

	if (server->table == NULL)
		return;
	log_stats(server);
	event_timer_cancel(server->loop, &server->expire_timer);
	event_timer_cancel(server->loop, &server->status_timer);
	anvil_table_free(&server->table);
}

int main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
	    .name = "anvil",
	    .owner = DAEMON_OWNER_MAIL,
	    .post_jail = anvil_post_jail,
	    .serve = anvil_serve,
	    .shutdown = anvil_shutdown,
	    .multi = 1,
	    .stopping = anvil_stopping,
	};
	struct anvil_server server;
	int n = argc > 0 ? argc : 1, i, rc;
	char **args = xcalloc((size_t)n + 3, sizeof(*args));

	memset(&server, 0, sizeof(server));
	args[0] = argc > 0 ? argv[0] : "anvil";
	args[1] = "-o";
	args[2] = ANVIL_MAX_USE;
	for (i = 1; i < argc; i++)
		args[i + 2] = argv[i];
	rc = daemon_main(n + 2, args, &ops, &server);
	free(args);
	return rc;
}
