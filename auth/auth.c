/*
 * auth - the authentication and directory lookup service (auth(8)).
 *
 * Protocol daemons connect to $queue_directory/private/auth and speak the
 * protocol described in mail/auth_client.h: SASL exchanges run here, so
 * that password hashes never leave this process, and directory lookups are
 * answered here. One process serves every connection at once (the daemon
 * skeleton's multi-session mode); password hashes are computed by worker
 * threads. Run it as a single process (maxproc 1): the failure counters that
 * slow down password guessing live in its memory.
 *
 * Usage (master.cf): auth unix - - n - 1 auth
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth/auth.h"
#include "auth/auth_penalty.h"
#include "auth/auth_verify.h"
#include "mail/daemon.h"
#include "mail/directory.h"
#include "mail/mail_conf.h"
#include "mail/password.h"
#include "mail/sasl.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* Failure counters kept per table (client IPs, accounts). */
#define AUTH_PENALTY_ENTRIES 65536

/* make_dummy_hash - a hash of a random password, in the scheme of new passwords. */
static int make_dummy_hash(const struct mail_conf *conf, char **hash_r, char **error_r)
{
	enum password_scheme scheme;
	unsigned char raw[18];
	char secret[2 * sizeof(raw) + 1];
	size_t i;
	int ret;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		*error_r = xstrdup("getrandom failed");
		return -1;
	}
	for (i = 0; i < sizeof(raw); i++) {
		secret[2 * i] = "0123456789abcdef"[raw[i] >> 4];
		secret[2 * i + 1] = "0123456789abcdef"[raw[i] & 15];
	}
	secret[2 * sizeof(raw)] = '\0';
	if (password_scheme_parse(mail_conf_str(conf, "password_scheme"), &scheme, error_r) < 0)
		return -1;
	ret = password_hash(secret, scheme, hash_r, error_r);
	explicit_bzero(secret, sizeof(secret));
	return ret;
}

/* setup_sasl - the mechanisms of sasl_mechanisms. */
static int setup_sasl(struct auth_server *server, const struct mail_conf *conf, char **error_r)
{
	char **names = mail_conf_list(conf, "sasl_mechanisms");
	char *error = NULL;

	server->sasl = sasl_registry_create(
	    (const char *const *)names, mail_conf_bool(conf, "sasl_plaintext_without_tls"), &error);
	argv_free(names);
	if (server->sasl == NULL) {
		*error_r = xasprintf("sasl_mechanisms: %s", error);
		free(error);
		return -1;
	}
	return 0;
}

/* auth_init - after the privilege drop: configuration, directory, threads. */
static int auth_init(struct daemon_ctx *ctx, char **error_r)
{
	struct auth_server *server = daemon_data(ctx);
	const struct mail_conf *conf = daemon_conf(ctx);
	struct auth_penalty_conf pc;
	long long threads = mail_conf_int(conf, "auth_verify_threads");

	server->dctx = ctx;
	server->loop = daemon_loop(ctx);
	if (setup_sasl(server, conf, error_r) < 0)
		return -1;
	if ((server->dir = directory_open(conf, DIR_READ, error_r)) == NULL)
		return -1;
	if (make_dummy_hash(conf, &server->dummy_hash, error_r) < 0)
		return -1;
	pc.base_ms = (uint64_t)mail_conf_int(conf, "auth_failure_delay_ms");
	pc.max_ms = (uint64_t)mail_conf_time(conf, "auth_failure_delay_max") * 1000u;
	pc.decay_ms = (uint64_t)mail_conf_time(conf, "auth_failure_decay") * 1000u;
	pc.max_entries = AUTH_PENALTY_ENTRIES;
	server->penalty = auth_penalty_create(&pc);
	server->request_limit = (size_t)mail_conf_size(conf, "auth_request_limit");
	daemon_set_session_limit(ctx, mail_conf_int(conf, "auth_connection_limit"));
	if (threads == 0)
		threads = auth_verify_default_threads();
	server->verify = auth_verify_create(server->loop, (int)threads);
	msg_debug("ready: %lld hashing threads", threads);
	return 0;
}

static void auth_serve(struct daemon_ctx *ctx, int fd)
{
	auth_conn_new(daemon_data(ctx), fd);
}

static void auth_stopping(struct daemon_ctx *ctx)
{
	auth_conn_close_idle(daemon_data(ctx));
}

static void auth_shutdown(struct daemon_ctx *ctx)
{
	struct auth_server *server = daemon_data(ctx);

	/* the skeleton stops only when every session has ended */
	if (server->conns != NULL)
		msg_panic("auth: shutdown with %zu connections open", server->nconns);
	auth_verify_free(&server->verify);
	auth_penalty_free(&server->penalty);
	sasl_registry_free(&server->sasl);
	directory_close(&server->dir);
	free(server->dummy_hash);
	server->dummy_hash = NULL;
}

static const struct daemon_ops auth_ops = {
    .name = "auth",
    .owner = DAEMON_OWNER_MAIL,
    .post_jail = auth_init,
    .serve = auth_serve,
    .shutdown = auth_shutdown,
    .multi = 1,
    .stopping = auth_stopping,
};

int main(int argc, char **argv)
{
	struct auth_server server;

	memset(&server, 0, sizeof(server));
	return daemon_main(argc, argv, &auth_ops, &server);
}
