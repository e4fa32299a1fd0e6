/*
 * lmtp - the LMTP server of Tern (lmtp(8)): its main program.
 *
 * Reads the lmtp_* parameters once per process and serves one connection
 * at a time under the daemon skeleton (mail/daemon.h) as store_owner. The
 * connection to the auth service is opened before privileges are dropped
 * (private/ belongs to mail_owner, who may not be store_owner) and kept
 * across sessions; should it break and not come back, the process retires
 * after the session, so that master starts a fresh one that can reach it.
 *
 * Usage (from master.cf): lmtp
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lmtp/lmtp.h"
#include "mail/auth_client.h"
#include "mail/daemon.h"
#include "mail/mail_conf.h"
#include "util/msg.h"
#include "util/mymalloc.h"

static void read_params(struct lmtp_server *srv)
{
	const struct mail_conf *c = srv->conf;

	srv->timeout_ms = (int)mail_conf_time(c, "lmtp_timeout") * 1000;
	srv->size_limit = mail_conf_size(c, "message_size_limit");
	srv->recipient_limit = mail_conf_int(c, "lmtp_recipient_limit");
	srv->memory_limit = mail_conf_size(c, "lmtp_memory_limit");
	srv->hard_error_limit = mail_conf_int(c, "lmtp_hard_error_limit");
	srv->soft_error_limit = mail_conf_int(c, "lmtp_soft_error_limit");
	srv->error_sleep_ms = mail_conf_time(c, "lmtp_error_sleep_time") * 1000;
	srv->filter.save_to_detail_mailbox = mail_conf_bool(c, "lmtp_save_to_detail_mailbox");
	srv->hostname = xstrdup(mail_conf_str(c, "myhostname"));
	srv->mydomain = xstrdup(mail_conf_str(c, "mydomain"));
	srv->store_dir = xstrdup(mail_conf_str(c, "store_directory"));
	store_options_from_conf(c, &srv->store_opts);
	srv->stores = lmtp_stores_create(LMTP_STORES_MAX);
}

static int lmtp_pre_jail(struct daemon_ctx *dctx, char **error_r)
{
	struct lmtp_server *srv = daemon_data(dctx);
	char *error = NULL;

	(void)error_r;
	srv->dctx = dctx;
	srv->conf = daemon_conf(dctx);
	srv->was_root = geteuid() == 0;
	read_params(srv);
	/* while private/ is still reachable; the auth service may not be up yet */
	srv->auth = auth_client_open(srv->conf, 0, &error);
	if (srv->auth == NULL) {
		msg_info("auth service not reachable yet: %s", error);
		free(error);
	}
	return 0;
}

static void lmtp_serve(struct daemon_ctx *dctx, int fd)
{
	struct lmtp_server *srv = daemon_data(dctx);

	srv->auth_failed = 0;
	lmtp_session_serve(srv, fd);
	if (srv->auth_failed && srv->was_root) {
		/* a connection opened now may be refused where pre_jail's, as root, was not */
		msg_info("the auth service failed: this process retires so that a fresh one "
			 "connects");
		(void)kill(getpid(), SIGTERM);
	}
	daemon_session_done(dctx);
}

static void lmtp_shutdown(struct daemon_ctx *dctx)
{
	struct lmtp_server *srv = daemon_data(dctx);

	auth_client_close(&srv->auth);
	lmtp_stores_free(&srv->stores);
	XFREE(srv->hostname);
	XFREE(srv->mydomain);
	XFREE(srv->store_dir);
}

int main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
	    .name = "lmtp",
	    .owner = DAEMON_OWNER_STORE,
	    .pre_jail = lmtp_pre_jail,
	    .serve = lmtp_serve,
	    .shutdown = lmtp_shutdown,
	};
	struct lmtp_server srv;

	memset(&srv, 0, sizeof(srv));
	return daemon_main(argc, argv, &ops, &srv);
}
