/*
 * master_signal - what master does on signals: SIGCHLD reaps, SIGHUP
 * reloads main.cf and master.cf, SIGTERM and SIGINT drain and stop.
 *
 * Reload builds a complete new set of services first (sockets whose address
 * did not change are taken over, so no pending connection is lost); if
 * anything fails the old configuration stays. Then every old child is told
 * to finish its current session and exit, and new children start with the
 * new configuration.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail_conf.h"
#include "master/master.h"
#include "util/msg.h"
#include "util/mymalloc.h"

static void on_sigchld(struct event_loop *loop, int signo, void *ctx)
{
	master_reap(ctx);
}

static void on_sighup(struct event_loop *loop, int signo, void *ctx)
{
	struct master *m = ctx;

	if (m->draining) {
		msg_info("reload ignored: stopping");
		return;
	}
	master_reload(m);
}

static void on_sigterm(struct event_loop *loop, int signo, void *ctx)
{
	master_drain(ctx);
}

void master_signals_init(struct master *m)
{
	signal(SIGPIPE, SIG_IGN);
	event_signal_add(m->loop, SIGCHLD, on_sigchld, m);
	event_signal_add(m->loop, SIGHUP, on_sighup, m);
	event_signal_add(m->loop, SIGTERM, on_sigterm, m);
	event_signal_add(m->loop, SIGINT, on_sigterm, m);
}

/* retire_service - stop a service: no sockets, no timers, its children told to stop. */
static void retire_service(struct master *m, struct master_service *svc)
{
	svc->retired = 1;
	master_throttle_stop(svc);
	master_wakeup_stop(svc);
	master_service_close(svc);
	master_retire_all(m, svc);
}

/* read_config - main.cf and master.cf; 0, or -1 with *error_r. */
static int read_config(struct master *m, struct mail_conf **conf_r, struct master_conf **mconf_r,
		       char **error_r)
{
	char *path = xasprintf("%s/master.cf", m->config_dir);
	int rc = -1;

	*conf_r = mail_conf_load(m->config_dir, error_r);
	if (*conf_r != NULL) {
		rc = master_conf_read(path, *conf_r, mconf_r, error_r);
		if (rc < 0)
			mail_conf_free(conf_r);
	}
	free(path);
	return rc;
}

void master_reload(struct master *m)
{
	struct master_service *list, *svc, *next;
	struct master_conf *mconf = NULL;
	struct mail_conf *conf = NULL;
	char *error = NULL;
	size_t count = 0;

	if (read_config(m, &conf, &mconf, &error) < 0 ||
	    master_services_build(m, conf, mconf, m->services, &list, &error) < 0) {
		msg_error("reload failed: %s; keeping the current configuration", error);
		free(error);
		master_conf_free(&mconf);
		mail_conf_free(&conf);
		return;
	}
	master_conf_free(&mconf);
	if (msg_set_target(mail_conf_str(conf, "log_to"), &error) < 0) {
		msg_warn("reload: log_to: %s; logging stays where it was", error);
		free(error);
	}
	for (svc = m->services; svc != NULL; svc = next) {
		next = svc->next;
		retire_service(m, svc);
		svc->next = m->retired;
		m->retired = svc;
		if (svc->all == 0)
			master_child_gone(m, svc);
	}
	m->services = list;
	mail_conf_free(&m->conf);
	m->conf = conf;
	for (svc = m->services; svc != NULL; svc = svc->next) {
		count++;
		master_wakeup_start(svc);
		master_balance(svc);
	}
	msg_info("reloaded the configuration: %zu services", count);
}

static void on_drain_timeout(struct event_loop *loop, void *ctx)
{
	struct master *m = ctx;
	struct master_child *c;

	msg_warn("drain timeout: killing %d remaining children", m->nchildren);
	for (c = m->children; c != NULL; c = c->next)
		kill(c->pid, SIGKILL);
}

void master_drain(struct master *m)
{
	struct master_service *svc;
	long long timeout;

	if (m->draining)
		return;
	m->draining = 1;
	timeout = mail_conf_time(m->conf, "master_drain_timeout");
	msg_info("stopping: waiting up to %llds for %d children to finish", timeout, m->nchildren);
	for (svc = m->services; svc != NULL; svc = svc->next)
		retire_service(m, svc);
	master_retire_all(m, NULL);
	if (m->nchildren == 0) {
		event_loop_stop(m->loop);
		return;
	}
	event_timer_add(m->loop, &m->drain_timer, (uint64_t)timeout * 1000u, on_drain_timeout, m);
}

/* unlink_retired - remove svc from the list of retired services; 1 if it was there. */
static int unlink_retired(struct master *m, struct master_service *svc)
{
	struct master_service **pp;

	for (pp = &m->retired; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == svc) {
			*pp = svc->next;
			return 1;
		}
	}
	return 0;
}

void master_child_gone(struct master *m, struct master_service *svc)
{
	if (svc->retired && svc->all == 0 && unlink_retired(m, svc))
		master_service_free(svc);
	else if (!svc->retired)
		master_balance(svc);
	if (m->draining && m->nchildren == 0) {
		event_timer_cancel(m->loop, &m->drain_timer);
		event_loop_stop(m->loop);
	}
}
