/*
 * smtpd - the SMTP server of Tern (smtpd(8)): its main program.
 *
 * Reads the smtpd_* parameters once per process (a master.cf "-o"
 * override changes them for one service: the smtp, submission and
 * submissions services run this same program), loads the TLS certificate
 * before privileges are dropped, and serves one connection at a time under
 * the daemon skeleton (mail/daemon.h). The connections to the auth and
 * anvil services are opened on first use and kept across sessions.
 *
 * Usage (from master.cf): smtpd
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mail/address.h"
#include "mail/anvil_client.h"
#include "mail/auth_client.h"
#include "mail/daemon.h"
#include "mail/mail_conf.h"
#include "smtpd/smtpd.h"
#include "util/dict.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/tls.h"

static const struct {
	const char *name;
	enum smtpd_restriction r;
} restriction_names[] = {
    {"permit_mynetworks", SMTPD_PERMIT_MYNETWORKS},
    {"permit_sasl_authenticated", SMTPD_PERMIT_SASL_AUTHENTICATED},
    {"permit_auth_destination", SMTPD_PERMIT_AUTH_DESTINATION},
    {"reject_unauth_destination", SMTPD_REJECT_UNAUTH_DESTINATION},
    {"defer_unauth_destination", SMTPD_DEFER_UNAUTH_DESTINATION},
    {"permit", SMTPD_PERMIT},
    {"reject", SMTPD_REJECT},
};

static int parse_restrictions(struct smtpd_server *srv, char **error_r)
{
	char **words = mail_conf_list(srv->conf, "smtpd_relay_restrictions");
	size_t i, j, n = 0;

	while (words[n] != NULL)
		n++;
	srv->restrictions = xcalloc(n + 1, sizeof(*srv->restrictions));
	for (i = 0; i < n; i++) {
		for (j = 0; j < sizeof(restriction_names) / sizeof(restriction_names[0]); j++) {
			if (strcmp(words[i], restriction_names[j].name) == 0)
				break;
		}
		if (j == sizeof(restriction_names) / sizeof(restriction_names[0])) {
			*error_r = xasprintf("smtpd_relay_restrictions: unknown restriction \"%s\"",
					     words[i]);
			argv_free(words);
			return -1;
		}
		srv->restrictions[srv->restriction_count++] = restriction_names[j].r;
	}
	argv_free(words);
	return 0;
}

/* domain_list - a list parameter's domains, normalised (a leading '.' is kept). */
static int domain_list(struct smtpd_server *srv, const char *name, char ***list_r, char **error_r)
{
	char **words = mail_conf_list(srv->conf, name), *norm, *err = NULL;
	size_t i;

	for (i = 0; words[i] != NULL; i++) {
		const char *d = words[i] + (words[i][0] == '.');

		if (address_domain_normalise(d, strlen(d), ADDRESS_UTF8 | ADDRESS_NO_LITERAL, &norm,
					     &err) < 0) {
			*error_r = xasprintf("%s: \"%s\": %s", name, words[i], err);
			free(err);
			argv_free(words);
			return -1;
		}
		if (words[i][0] == '.') {
			char *dotted = xasprintf(".%s", norm);

			free(norm);
			norm = dotted;
		}
		free(words[i]);
		words[i] = norm;
	}
	*list_r = words;
	return 0;
}

static int netlist(struct smtpd_server *srv, const char *name, struct smtpd_netlist *list,
		   char **error_r)
{
	char **words = mail_conf_list(srv->conf, name), *err = NULL;
	int rc = smtpd_netlist_parse(words, list, &err);

	if (rc < 0) {
		*error_r = xasprintf("%s: %s", name, err);
		free(err);
	}
	argv_free(words);
	return rc;
}

static int parse_enums(struct smtpd_server *srv, char **error_r)
{
	const char *level = mail_conf_str(srv->conf, "smtpd_tls_security_level");
	const char *bare = mail_conf_str(srv->conf, "smtpd_forbid_bare_newline");

	if (strcmp(level, "none") == 0)
		srv->tls_level = SMTPD_TLS_NONE;
	else if (strcmp(level, "may") == 0)
		srv->tls_level = SMTPD_TLS_MAY;
	else if (strcmp(level, "encrypt") == 0)
		srv->tls_level = SMTPD_TLS_ENCRYPT;
	else
		goto bad_level;
	if (strcmp(bare, "yes") == 0)
		srv->bare_newline = SMTPD_BARE_REJECT;
	else if (strcmp(bare, "normalize") == 0)
		srv->bare_newline = SMTPD_BARE_NORMALIZE;
	else
		goto bad_bare;
	return 0;
bad_level:
	*error_r = xasprintf("smtpd_tls_security_level = %s: must be none, may or encrypt", level);
	return -1;
bad_bare:
	*error_r = xasprintf("smtpd_forbid_bare_newline = %s: must be yes or normalize", bare);
	return -1;
}

/* read_numbers - the plain values of the parameter table. */
static void read_numbers(struct smtpd_server *srv)
{
	const struct mail_conf *c = srv->conf;

	srv->timeout_ms = (int)mail_conf_time(c, "smtpd_timeout") * 1000;
	srv->size_limit = mail_conf_size(c, "message_size_limit");
	srv->recipient_limit = mail_conf_int(c, "smtpd_recipient_limit");
	srv->line_limit = (size_t)mail_conf_int(c, "smtpd_line_length_limit");
	srv->hard_error_limit = mail_conf_int(c, "smtpd_hard_error_limit");
	srv->soft_error_limit = mail_conf_int(c, "smtpd_soft_error_limit");
	srv->junk_limit = mail_conf_int(c, "smtpd_junk_command_limit");
	srv->error_sleep_ms = mail_conf_time(c, "smtpd_error_sleep_time") * 1000;
	srv->greet_pause_ms = mail_conf_time(c, "smtpd_greet_pause") * 1000;
	srv->conn_count_limit = mail_conf_int(c, "smtpd_client_connection_count_limit");
	srv->conn_rate_limit = mail_conf_int(c, "smtpd_client_connection_rate_limit");
	srv->vrfy_enable = mail_conf_bool(c, "smtpd_vrfy_enable");
	srv->sasl_enable = mail_conf_bool(c, "smtpd_sasl_auth_enable");
	srv->tls_auth_only = mail_conf_bool(c, "smtpd_tls_auth_only");
	srv->auth_required = mail_conf_bool(c, "smtpd_sasl_auth_required");
	srv->wrappermode = mail_conf_bool(c, "smtpd_tls_wrappermode");
	srv->peername_lookup = mail_conf_bool(c, "smtpd_peername_lookup");
	srv->hostname = xstrdup(mail_conf_str(c, "myhostname"));
	srv->mydomain = xstrdup(mail_conf_str(c, "mydomain"));
	srv->banner = xstrdup(mail_conf_str(c, "smtpd_banner"));
}

/* load_tls - the server certificate, while the key is still readable. */
static int load_tls(struct smtpd_server *srv, char **error_r)
{
	const char *cert = mail_conf_str(srv->conf, "tls_cert_file");
	const char *key = mail_conf_str(srv->conf, "tls_key_file");
	char *error = NULL;

	if (srv->tls_level == SMTPD_TLS_NONE && !srv->wrappermode)
		return 0;
	if ((srv->tls = tls_server_ctx_create(cert, key, &error)) != NULL)
		return 0;
	if (srv->tls_level == SMTPD_TLS_MAY && !srv->wrappermode) {
		msg_warn("TLS disabled: %s", error);
		free(error);
		return 0;
	}
	*error_r = xasprintf(
	    "TLS is required (%s) but unavailable: %s",
	    srv->wrappermode ? "smtpd_tls_wrappermode" : "smtpd_tls_security_level", error);
	free(error);
	return -1;
}

static int smtpd_pre_jail(struct daemon_ctx *dctx, char **error_r)
{
	struct smtpd_server *srv = daemon_data(dctx);
	const char *map;
	struct stat st;

	srv->dctx = dctx;
	srv->conf = daemon_conf(dctx);
	read_numbers(srv);
	map = mail_conf_str(srv->conf, "smtpd_sender_login_maps");
	if (stat(mail_conf_str(srv->conf, "queue_directory"), &st) == 0) {
		srv->queue_dev = st.st_dev;
		srv->queue_ino = st.st_ino;
	}
	if (parse_enums(srv, error_r) < 0 || parse_restrictions(srv, error_r) < 0 ||
	    netlist(srv, "mynetworks", &srv->mynetworks, error_r) < 0 ||
	    netlist(srv, "smtpd_client_event_limit_exceptions", &srv->limit_exceptions, error_r) <
		0 ||
	    domain_list(srv, "mydestination", &srv->mydestination, error_r) < 0 ||
	    domain_list(srv, "relay_domains", &srv->relay_domains, error_r) < 0)
		return -1;
	/* the table may be outside the chroot */
	if (map[0] != '\0' && (srv->login_map = dict_open(map, DICT_READ, error_r)) == NULL)
		return -1;
	return load_tls(srv, error_r);
}

/* post_jail - where the queue is now: a chroot to queue_directory makes it "/". */
static int smtpd_post_jail(struct daemon_ctx *dctx, char **error_r)
{
	struct smtpd_server *srv = daemon_data(dctx);
	struct stat root;

	srv->chrooted =
	    stat("/", &root) == 0 && root.st_dev == srv->queue_dev && root.st_ino == srv->queue_ino;
	srv->queue_dir = xstrdup(srv->chrooted ? "/" : mail_conf_str(srv->conf, "queue_directory"));
	return 0;
}

static void smtpd_serve(struct daemon_ctx *dctx, int fd)
{
	smtpd_session_serve(daemon_data(dctx), fd);
}

static void smtpd_shutdown(struct daemon_ctx *dctx)
{
	struct smtpd_server *srv = daemon_data(dctx);

	auth_client_close(&srv->auth);
	anvil_client_close(&srv->anvil);
	dict_close(&srv->login_map);
	tls_ctx_free(&srv->tls);
	smtpd_netlist_free(&srv->mynetworks);
	smtpd_netlist_free(&srv->limit_exceptions);
	if (srv->mydestination != NULL)
		argv_free(srv->mydestination);
	if (srv->relay_domains != NULL)
		argv_free(srv->relay_domains);
	XFREE(srv->restrictions);
	XFREE(srv->hostname);
	XFREE(srv->mydomain);
	XFREE(srv->banner);
	XFREE(srv->queue_dir);
}

int main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
	    .name = "smtpd",
	    .owner = DAEMON_OWNER_MAIL,
	    .pre_jail = smtpd_pre_jail,
	    .post_jail = smtpd_post_jail,
	    .serve = smtpd_serve,
	    .shutdown = smtpd_shutdown,
	};
	struct smtpd_server srv;

	memset(&srv, 0, sizeof(srv));
	return daemon_main(argc, argv, &ops, &srv);
}
