/*
 * smtp - the delivery agent that sends mail to other servers over SMTP,
 * or over LMTP (RFC 2033) with smtp_protocol = lmtp. master runs it as a
 * unix service (master.cf):
 *
 *   smtp  unix  -  -  n  -  -  smtp
 *   lmtp  unix  -  -  n  -  -  smtp -o smtp_protocol=lmtp
 *
 * qmgr connects to the service's socket and hands it deliveries in the
 * conversation of mail/deliver_proto.h: the agent announces the protocol,
 * then for each request delivers the message to the next hop, records each
 * recipient's outcome (smtp_status.c) and answers one record per
 * recipient, then {done=1}. Connections to servers outlive a request:
 * idle ones are kept for smtp_connection_cache_time and reused for the
 * next delivery to the same next hop, also from the next qmgr connection
 * this process serves.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/daemon.h"
#include "mail/deliver_proto.h"
#include "mail/mail_conf.h"
#include "smtp/smtp.h"
#include "util/attr.h"
#include "util/dict.h"
#include "util/dns.h"
#include "util/event.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/stream.h"
#include "util/tls.h"

#define SMTP_ID_MAX 64
#define SMTP_PATH_MAX 1024
#define SMTP_ADDR_MAX 2048

struct smtp_main {
	struct smtp_agent agent;
	struct event_timer cache_timer;
	int ipc_timeout_ms;
};

static enum smtp_tls_level tls_level(const char *value)
{
	static const char *const names[] = {"none", "may", "encrypt", "verify", "secure"};
	int i;

	for (i = 0; i < 5; i++)
		if (strcmp(value, names[i]) == 0)
			return (enum smtp_tls_level)i;
	return SMTP_TLS_MAY;
}

/* inet_protocols - which IP versions to use. */
static void inet_protocols(struct smtp_agent *a, const struct mail_conf *conf)
{
	char **list = mail_conf_list(conf, "inet_protocols");
	size_t i;

	a->use_v4 = a->use_v6 = false;
	for (i = 0; list[i] != NULL; i++) {
		a->use_v4 |= strcmp(list[i], "all") == 0 || strcmp(list[i], "ipv4") == 0;
		a->use_v6 |= strcmp(list[i], "all") == 0 || strcmp(list[i], "ipv6") == 0;
	}
	argv_free(list);
}

static int ms(const struct mail_conf *conf, const char *name)
{
	return (int)mail_conf_time(conf, name) * 1000;
}

/* configure - the agent's settings from main.cf and the service's -o overrides. */
static void configure(struct smtp_main *m, const struct mail_conf *conf)
{
	struct smtp_agent *a = &m->agent;
	const char *pref = mail_conf_str(conf, "smtp_address_preference");

	a->conf = conf;
	a->lmtp = strcmp(mail_conf_str(conf, "smtp_protocol"), "lmtp") == 0;
	a->proto_name = a->lmtp ? "LMTP" : "SMTP";
	a->queue_dir = mail_conf_str(conf, "queue_directory");
	a->myhostname = mail_conf_str(conf, "myhostname");
	a->helo_name = mail_conf_str(conf, "smtp_helo_name");
	inet_protocols(a, conf);
	a->addr_pref = strcmp(pref, "ipv4") == 0   ? SMTP_PREF_IPV4
		       : strcmp(pref, "ipv6") == 0 ? SMTP_PREF_IPV6
						   : SMTP_PREF_ANY;
	a->mx_address_limit = mail_conf_int(conf, "smtp_mx_address_limit");
	a->tls_level = tls_level(mail_conf_str(conf, "smtp_tls_security_level"));
	a->tls_ca_file = mail_conf_str(conf, "smtp_tls_ca_file");
	a->sasl_enable = mail_conf_bool(conf, "smtp_sasl_auth_enable");
	a->sasl_plaintext_ok = mail_conf_bool(conf, "smtp_sasl_plaintext_without_tls");
	a->connect_ms = ms(conf, "smtp_connect_timeout");
	a->helo_ms = ms(conf, "smtp_helo_timeout");
	a->command_ms = ms(conf, "smtp_command_timeout");
	a->xfer_ms = ms(conf, "smtp_data_xfer_timeout");
	a->done_ms = ms(conf, "smtp_data_done_timeout");
	a->cache_ms = mail_conf_time(conf, "smtp_connection_cache_time") * 1000;
	m->ipc_timeout_ms = ms(conf, "ipc_timeout");
}

/*
 * smtp_pre_jail - configuration, and what must be read before a chroot and
 * the privilege drop: the credentials table (perhaps readable by root
 * only), resolv.conf, the CA store.
 */
static int smtp_pre_jail(struct daemon_ctx *dctx, char **error_r)
{
	struct smtp_main *m = daemon_data(dctx);
	struct smtp_agent *a = &m->agent;
	const char *maps, *ca;
	char **servers;

	configure(m, daemon_conf(dctx));
	maps = mail_conf_str(a->conf, "smtp_sasl_password_maps");
	if (a->sasl_enable && maps[0] != '\0' &&
	    (a->sasl_map = dict_open(maps, DICT_READ, error_r)) == NULL)
		return -1;
	servers = mail_conf_list(a->conf, "dns_servers");
	a->dns = dns_resolver_create((const char *const *)servers, ms(a->conf, "dns_timeout"),
				     (int)mail_conf_int(a->conf, "dns_retries"), error_r);
	argv_free(servers);
	if (a->dns == NULL)
		return -1;
	ca = a->tls_ca_file[0] != '\0' ? a->tls_ca_file : NULL;
	if (a->tls_level != SMTP_TLS_NONE &&
	    (a->tls_plain = tls_client_ctx_create(TLS_VERIFY_NONE, ca, NULL, error_r)) == NULL)
		return -1;
	if (a->tls_level >= SMTP_TLS_VERIFY &&
	    (a->tls_verify = tls_client_ctx_create(TLS_VERIFY_PEER, ca, NULL, error_r)) == NULL)
		return -1;
	return 0;
}

/* read_rcpts - the recipient records of a request. */
static int read_rcpts(struct stream *qs, struct smtp_request *req, char **error_r)
{
	struct strbuf address = STRBUF_INIT, orcpt = STRBUF_INIT;
	long long notify, offset;
	size_t i;
	int ret = 0;

	for (i = 0; i < req->nrcpt && ret == 0; i++) {
		notify = offset = -1;
		strbuf_reset(&orcpt);
		ret = attr_read(qs, error_r,
				ATTR_MAX_LEN(ATTR_RECV_STR("address", &address), SMTP_ADDR_MAX),
				ATTR_MAX_LEN(ATTR_RECV_STR("orcpt", &orcpt), SMTP_ADDR_MAX),
				ATTR_RECV_INT("notify", &notify), ATTR_RECV_INT("offset", &offset));
		if (ret == 0 && (offset <= 0 || notify < 0 || notify > 15 || address.len == 0)) {
			*error_r = xstrdup("bad recipient record");
			ret = -1;
		}
		if (ret < 0)
			break;
		req->rcpts[i].address = xstrdup(address.data);
		req->rcpts[i].orcpt = orcpt.len > 0 ? xstrdup(orcpt.data) : NULL;
		req->rcpts[i].notify = (unsigned)notify;
		req->rcpts[i].offset = offset;
	}
	strbuf_free(&address);
	strbuf_free(&orcpt);
	return ret;
}

/* read_request - one delivery request; 1 when qmgr closed the connection instead. */
static int read_request(struct stream *qs, struct smtp_request *req, char **error_r)
{
	struct strbuf id = STRBUF_INIT, path = STRBUF_INIT, transport = STRBUF_INIT,
		      nexthop = STRBUF_INIT, sender = STRBUF_INIT, arrival = STRBUF_INIT;
	long long flags = -1, count = -1;
	int ret;

	ret = attr_read(qs, error_r, ATTR_MAX_LEN(ATTR_RECV_STR("queue_id", &id), SMTP_ID_MAX),
			ATTR_MAX_LEN(ATTR_RECV_STR("queue_path", &path), SMTP_PATH_MAX),
			ATTR_MAX_LEN(ATTR_RECV_STR("transport", &transport), SMTP_ID_MAX),
			ATTR_MAX_LEN(ATTR_RECV_STR("nexthop", &nexthop), SMTP_PATH_MAX),
			ATTR_MAX_LEN(ATTR_RECV_STR("sender", &sender), SMTP_ADDR_MAX),
			ATTR_RECV_INT("flags", &flags),
			ATTR_MAX_LEN(ATTR_RECV_STR("arrival", &arrival), 32),
			ATTR_RECV_INT("rcpt_count", &count));
	if (ret < 0 && strcmp(*error_r, "connection closed") == 0) {
		free(*error_r);
		*error_r = NULL;
		ret = 1;
	} else if (ret == 0 && (count < 1 || count > DELIVER_RCPT_MAX || flags < 0 || id.len == 0 ||
				nexthop.len == 0)) {
		*error_r = xstrdup("bad delivery request");
		ret = -1;
	}
	if (ret == 0) {
		req->queue_id = strbuf_detach(&id);
		req->queue_path = strbuf_detach(&path);
		req->transport = strbuf_detach(&transport);
		req->nexthop = strbuf_detach(&nexthop);
		req->sender = strbuf_detach(&sender);
		req->flags = (unsigned)flags;
		req->arrival = strtod(strbuf_str(&arrival), NULL);
		req->received = smtp_wall();
	}
	strbuf_free(&id);
	strbuf_free(&path);
	strbuf_free(&transport);
	strbuf_free(&nexthop);
	strbuf_free(&sender);
	strbuf_free(&arrival);
	if (ret != 0)
		return ret;
	req->nrcpt = (size_t)count;
	req->rcpts = xcalloc(req->nrcpt, sizeof(*req->rcpts));
	return read_rcpts(qs, req, error_r);
}

/* answer - one record per recipient, then {done=1}. */
static int answer(struct stream *qs, const struct smtp_request *req, char **error_r)
{
	struct strbuf out = STRBUF_INIT;
	const struct smtp_rcpt *r;
	size_t i;

	for (i = 0; i < req->nrcpt; i++) {
		r = &req->rcpts[i];
		attr_encode(&out, ATTR_SEND_INT("offset", r->offset),
			    ATTR_SEND_INT("status", r->status), ATTR_SEND_STR("dsn", r->why.dsn),
			    ATTR_SEND_STR("text", r->why.text ? r->why.text : "none"),
			    ATTR_SEND_STR("relay", r->relay ? r->relay : "none"));
	}
	stream_write(qs, out.data, out.len);
	strbuf_free(&out);
	return attr_write(qs, error_r, ATTR_SEND_INT("done", 1));
}

/* wait_request - until qmgr sends more, closing cached connections as they expire. */
static void wait_request(struct smtp_agent *a, struct stream *qs)
{
	struct pollfd pfd = {.fd = stream_fd(qs), .events = POLLIN};
	long long next;

	while (stream_pending_input(qs) == 0 && (next = smtp_cache_expire(a, false)) >= 0) {
		if (poll(&pfd, 1, next > 60000 ? 60000 : (int)next + 1) != 0)
			return;
	}
}

static void on_cache_timer(struct event_loop *loop, void *ctx)
{
	struct smtp_main *m = ctx;
	long long next = smtp_cache_expire(&m->agent, false);

	if (next >= 0)
		event_timer_add(loop, &m->cache_timer, (uint64_t)next + 1, on_cache_timer, m);
}

static void smtp_serve(struct daemon_ctx *dctx, int fd)
{
	struct smtp_main *m = daemon_data(dctx);
	struct stream *qs = stream_create(fd);
	struct smtp_request req;
	char *err = NULL;
	int st;

	event_timer_cancel(daemon_loop(dctx), &m->cache_timer);
	stream_set_timeout(qs, m->ipc_timeout_ms);
	if (attr_announce_protocol(qs, DELIVER_PROTOCOL, DELIVER_PROTOCOL_VERSION, &err) < 0)
		goto out;
	for (;;) {
		memset(&req, 0, sizeof(req));
		req.fd = -1;
		wait_request(&m->agent, qs);
		if ((st = read_request(qs, &req, &err)) != 0) {
			smtp_request_free(&req);
			break;
		}
		smtp_deliver(&m->agent, &req);
		st = answer(qs, &req, &err);
		smtp_request_free(&req);
		if (st < 0)
			break;
	}
out:
	if (err != NULL)
		msg_warn("qmgr conversation: %s", err);
	free(err);
	stream_destroy(&qs);
	on_cache_timer(daemon_loop(dctx), m);
	daemon_session_done(dctx);
}

static void smtp_shutdown(struct daemon_ctx *dctx)
{
	struct smtp_main *m = daemon_data(dctx);
	struct smtp_agent *a = &m->agent;

	event_timer_cancel(daemon_loop(dctx), &m->cache_timer);
	smtp_cache_expire(a, true);
	dns_resolver_free(&a->dns);
	tls_ctx_free(&a->tls_plain);
	tls_ctx_free(&a->tls_verify);
	dict_close(&a->sasl_map);
}

int main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
	    .name = "smtp",
	    .owner = DAEMON_OWNER_MAIL,
	    .pre_jail = smtp_pre_jail,
	    .serve = smtp_serve,
	    .shutdown = smtp_shutdown,
	};
	struct smtp_main m;

	memset(&m, 0, sizeof(m));
	return daemon_main(argc, argv, &ops, &m);
}
