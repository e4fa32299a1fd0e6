/*
 * cleanup - the daemon that turns what smtpd and pickup receive into
 * queue files (see cleanup(8), mail/cleanup_client.h for the protocol and
 * mail/queue_file.h for the file).
 *
 * One client connection at a time, served from start to end with blocking
 * reads bounded by ipc_timeout: the announcement, then messages in a row,
 * each an envelope record, recipient records, data records and an end or
 * abort record. Nothing is answered before the end record, and the answer
 * for a queued message comes only after the queue file and its name are on
 * disk. A connection that ends in the middle of a message, or breaks the
 * protocol, loses that message: its file is removed (or, unnamed, never
 * appears).
 *
 * The working directory is the queue directory (with or without chroot),
 * so that incoming/ and public/qmgr are found by relative names.
 *
 * Usage (from master.cf): cleanup
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup/cleanup.h"
#include "mail/cleanup_client.h"
#include "mail/daemon.h"
#include "mail/mail_conf.h"
#include "util/attr.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/stream.h"

#define INCOMING_DIR "incoming"
#define REQUEST_MAX 16

/* A request after the envelope, as received. */
struct request {
	struct strbuf request, rcpt, orcpt, data;
	long long notify;
};

/* ---- start-up ---- */

/* make_incoming - create incoming/ when it is missing (owned by mail_owner when root). */
static int make_incoming(const struct mail_conf *mc, char **error_r)
{
	const char *owner = mail_conf_str(mc, "mail_owner");
	struct passwd *pw;

	if (mkdir(INCOMING_DIR, 0700) < 0) {
		if (errno == EEXIST)
			return 0;
		*error_r = xasprintf("create %s/%s: %s", mail_conf_str(mc, "queue_directory"),
				     INCOMING_DIR, strerror(errno));
		return -1;
	}
	if (geteuid() == 0) {
		if ((pw = getpwnam(owner)) == NULL ||
		    chown(INCOMING_DIR, pw->pw_uid, pw->pw_gid) < 0) {
			*error_r = xasprintf("give %s to mail_owner %s: %s", INCOMING_DIR, owner,
					     pw == NULL ? "no such user" : strerror(errno));
			return -1;
		}
	}
	msg_warn("created the missing directory %s/%s (\"ternctl check\" creates the queue)",
		 mail_conf_str(mc, "queue_directory"), INCOMING_DIR);
	return 0;
}

static int cleanup_pre_jail(struct daemon_ctx *dctx, char **error_r)
{
	const struct mail_conf *mc = daemon_conf(dctx);
	const char *queue_dir = mail_conf_str(mc, "queue_directory");

	tzset(); /* before a chroot hides the zone files */
	if (chdir(queue_dir) < 0) {
		*error_r =
		    xasprintf("change to queue_directory %s: %s", queue_dir, strerror(errno));
		return -1;
	}
	return make_incoming(mc, error_r);
}

static int cleanup_post_jail(struct daemon_ctx *dctx, char **error_r)
{
	struct cleanup_conf *conf = daemon_data(dctx);
	const struct mail_conf *mc = daemon_conf(dctx);

	conf->myhostname = mail_conf_str(mc, "myhostname");
	conf->myorigin = mail_conf_str(mc, "myorigin");
	conf->message_size_limit = mail_conf_size(mc, "message_size_limit");
	conf->header_size_limit = mail_conf_size(mc, "header_size_limit");
	conf->header_count_limit = mail_conf_int(mc, "header_count_limit");
	conf->hopcount_limit = mail_conf_int(mc, "hopcount_limit");
	conf->received_sasl_username = mail_conf_bool(mc, "received_sasl_username");
	conf->ipc_timeout_ms = (int)mail_conf_time(mc, "ipc_timeout") * 1000;
	conf->incoming_fd = open(INCOMING_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (conf->incoming_fd < 0) {
		*error_r = xasprintf("open %s/%s: %s", mail_conf_str(mc, "queue_directory"),
				     INCOMING_DIR, strerror(errno));
		return -1;
	}
	conf->writer_flags = queue_writer_probe(conf->incoming_fd);
	msg_debug("queue files are made %s",
		  conf->writer_flags & QUEUE_WRITER_NAMED ? "under temporary names" : "unnamed");
	return 0;
}

static void cleanup_shutdown(struct daemon_ctx *dctx)
{
	struct cleanup_conf *conf = daemon_data(dctx);

	if (conf->incoming_fd >= 0)
		close(conf->incoming_fd);
	conf->incoming_fd = -1;
}

/* ---- the conversation ---- */

/* read_envelope - the first record of a message; -1 with *error_r, or at the end. */
static int read_envelope(struct stream *s, struct cleanup_env *e, char **error_r)
{
	struct strbuf request = STRBUF_INIT;
	struct strbuf *texts[] = {
	    &e->sender,	       &e->envid,      &e->client_name, &e->client_addr, &e->client_port,
	    &e->helo,	       &e->protocol,   &e->tls_info,	&e->tls_cipher,	 &e->sasl_method,
	    &e->sasl_username, &e->local_user, &e->full_name};
	size_t i;
	int ret;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		strbuf_reset(texts[i]);
#define INFO(name, buf) ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_STR(name, buf), CLEANUP_INFO_MAX))
	ret = attr_read(s, error_r, ATTR_MAX_LEN(ATTR_RECV_STR("request", &request), REQUEST_MAX),
			ATTR_MAX_LEN(ATTR_RECV_STR("sender", &e->sender), CLEANUP_ADDRESS_MAX),
			ATTR_RECV_INT("flags", &e->flags), ATTR_RECV_INT("ret", &e->ret),
			ATTR_RECV_INT("size_hint", &e->size_hint), INFO("envid", &e->envid),
			INFO("client_name", &e->client_name), INFO("client_addr", &e->client_addr),
			INFO("client_port", &e->client_port), INFO("helo", &e->helo),
			INFO("protocol", &e->protocol), INFO("tls_info", &e->tls_info),
			INFO("tls_cipher", &e->tls_cipher), INFO("sasl_method", &e->sasl_method),
			INFO("sasl_username", &e->sasl_username),
			INFO("local_user", &e->local_user), INFO("full_name", &e->full_name));
#undef INFO
	if (ret == 0 && strcmp(strbuf_str(&request), "envelope") != 0) {
		*error_r = xasprintf("expected an envelope, got request %s", strbuf_str(&request));
		ret = -1;
	}
	strbuf_free(&request);
	return ret;
}

/* read_request - the next record of a message. */
static int read_request(struct stream *s, struct request *r, char **error_r)
{
	strbuf_reset(&r->rcpt);
	strbuf_reset(&r->orcpt);
	strbuf_reset(&r->data);
	r->notify = 0;
	return attr_read(
	    s, error_r, ATTR_MAX_LEN(ATTR_RECV_STR("request", &r->request), REQUEST_MAX),
	    ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_STR("rcpt", &r->rcpt), CLEANUP_ADDRESS_MAX)),
	    ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_STR("orcpt", &r->orcpt), CLEANUP_ADDRESS_MAX)),
	    ATTR_OPTIONAL(ATTR_RECV_INT("notify", &r->notify)),
	    ATTR_OPTIONAL(ATTR_MAX_LEN(ATTR_RECV_DATA("data", &r->data), CLEANUP_DATA_MAX)));
}

/* answer - the reply to {request=end}. */
static int answer(struct stream *s, struct cleanup_msg *m, char **error_r)
{
	const char *dsn, *text;
	int status;

	cleanup_msg_finish(m, &status, &dsn, &text);
	return attr_write(s, error_r, ATTR_SEND_INT("status", status), ATTR_SEND_STR("dsn", dsn),
			  ATTR_SEND_STR("text", text),
			  ATTR_SEND_STR("queue_id", status == 0 ? m->id : ""));
}

/*
 * one_message - serve one message from its envelope on: 0 when it was
 * answered or aborted (another may follow), -1 when the session is over.
 */
static int one_message(const struct cleanup_conf *conf, struct stream *s, struct cleanup_env *env,
		       struct request *r)
{
	struct cleanup_msg *m = NULL;
	const char *req;
	char *err = NULL;
	int ret = -1;

	if (read_envelope(s, env, &err) < 0) {
		if (strcmp(err, "connection closed") != 0)
			msg_warn("client protocol error: %s", err);
		free(err);
		return -1;
	}
	if ((m = cleanup_msg_begin(conf, env, &err)) == NULL)
		goto protocol;
	for (;;) {
		if (read_request(s, r, &err) < 0)
			break;
		req = strbuf_str(&r->request);
		if (strcmp(req, "rcpt") == 0) {
			if (cleanup_msg_rcpt(m, strbuf_str(&r->rcpt), strbuf_str(&r->orcpt),
					     r->notify, &err) < 0)
				goto protocol;
		} else if (strcmp(req, "data") == 0) {
			cleanup_msg_data(m, r->data.data, r->data.len);
		} else if (strcmp(req, "end") == 0) {
			ret = answer(s, m, &err) < 0 ? -1 : 0;
			if (ret < 0)
				msg_warn("%s: send the answer: %s", m->id, err);
			goto done;
		} else if (strcmp(req, "abort") == 0) {
			msg_debug("%s: aborted by the client", m->id);
			ret = 0;
			goto done;
		} else {
			err = xasprintf("unknown request %s", req);
			goto protocol;
		}
	}
	if (strncmp(err, "connection closed", 17) == 0)
		msg_debug("%s: the client went away: %s", m->id, err);
	else
		msg_warn("%s: client protocol error: %s", m->id, err);
	goto done;
protocol:
	msg_warn("%s%sclient protocol error: %s", m != NULL ? m->id : "", m != NULL ? ": " : "",
		 err);
done:
	free(err);
	cleanup_msg_free(&m);
	return ret;
}

static void cleanup_serve(struct daemon_ctx *dctx, int fd)
{
	const struct cleanup_conf *conf = daemon_data(dctx);
	struct stream *s = stream_create(fd);
	struct cleanup_env env;
	struct request r;
	char *err = NULL;

	memset(&env, 0, sizeof(env));
	memset(&r, 0, sizeof(r));
	stream_set_timeout(s, conf->ipc_timeout_ms);
	/* a larger input buffer: data records are CLEANUP_CHUNK bytes */
	stream_set_line_limit(s, CLEANUP_CHUNK);
	if (attr_announce_protocol(s, CLEANUP_PROTOCOL, CLEANUP_PROTOCOL_VERSION, &err) < 0) {
		msg_warn("announce the protocol: %s", err);
		free(err);
	} else {
		while (one_message(conf, s, &env, &r) == 0)
			;
	}
	stream_destroy(&s);
	strbuf_free(&env.sender);
	strbuf_free(&env.envid);
	strbuf_free(&env.client_name);
	strbuf_free(&env.client_addr);
	strbuf_free(&env.client_port);
	strbuf_free(&env.helo);
	strbuf_free(&env.protocol);
	strbuf_free(&env.tls_info);
	strbuf_free(&env.tls_cipher);
	strbuf_free(&env.sasl_method);
	strbuf_free(&env.sasl_username);
	strbuf_free(&env.local_user);
	strbuf_free(&env.full_name);
	strbuf_free(&r.request);
	strbuf_free(&r.rcpt);
	strbuf_free(&r.orcpt);
	strbuf_free(&r.data);
	daemon_session_done(dctx);
}

int main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
	    .name = "cleanup",
	    .owner = DAEMON_OWNER_MAIL,
	    .pre_jail = cleanup_pre_jail,
	    .post_jail = cleanup_post_jail,
	    .serve = cleanup_serve,
	    .shutdown = cleanup_shutdown,
	};
	struct cleanup_conf conf;

	memset(&conf, 0, sizeof(conf));
	conf.incoming_fd = -1;
	return daemon_main(argc, argv, &ops, &conf);
}
