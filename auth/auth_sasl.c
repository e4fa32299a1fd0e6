/*
 * auth_sasl - SASL exchanges in the auth daemon: mechanisms from the
 * registry, credentials checked against the directory in worker threads,
 * failures counted, delayed and logged for fail2ban.
 *
 * Log lines, one per outcome (auth(8) documents their shape):
 *
 *   authenticated: method=PLAIN, user=alice@example.org, client=[192.0.2.1], service=imap
 *   authentication failed: method=PLAIN, user=alice@example.org, client=[192.0.2.1],
 *       service=imap, reason=password mismatch
 *
 * The user is what the client sent, with every byte outside printable ASCII
 * and the characters ",=[]\" written as \xNN, so that it cannot forge the
 * fields after it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/auth_penalty.h"
#include "auth/auth_verify.h"
#include "mail/address.h"
#include "mail/directory.h"
#include "mail/sasl.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/stream.h"

struct auth_exchange {
	struct auth_conn *conn;
	struct sasl_server *sasl;
	char *service;
	char *client_addr;
	char *ip_key;	/* penalty key of client_addr */
	char *user_key; /* penalty key of the authcid, once known */
	char *account;	/* the canonical address of the account found */
	int unknown;	/* no such account */
	int enabled;
	struct auth_verify_job *job;
	struct event_timer delay; /* until a failure is answered */
};

static enum sasl_check_result on_check(void *ctx, struct sasl_server *srv,
				       const struct sasl_check *check, const char **reason_r);
static char *on_normalise(void *ctx, const char *name);

static const struct sasl_server_callbacks callbacks = {
    .check = on_check,
    .normalise = on_normalise,
    .authorize = NULL, /* an authorization identity other than oneself is refused */
};

char *auth_identity_normalise(const char *name)
{
	struct address addr;
	char *error = NULL, *result = NULL, *p;

	if (address_parse(name, strlen(name), ADDRESS_UTF8 | ADDRESS_NO_LITERAL, &addr, &error) ==
		0 &&
	    !addr.null && addr.domain != NULL) {
		result = address_format(&addr);
		for (p = result; *p != '\0'; p++)
			if ((unsigned char)*p < 0x80)
				*p = (char)tolower((unsigned char)*p);
	}
	free(error);
	address_free(&addr);
	return result;
}

static char *on_normalise(void *ctx, const char *name)
{
	return auth_identity_normalise(name);
}

/* log_safe - name with the bytes that could confuse a log reader escaped (malloc'd). */
static char *log_safe(const char *name)
{
	struct strbuf out = STRBUF_INIT;
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p > 0x20 && *p < 0x7f && strchr(",=[]\\", *p) == NULL)
			strbuf_putc(&out, *p);
		else
			strbuf_printf(&out, "\\x%02x", *p);
	}
	return out.data != NULL ? strbuf_detach(&out) : xstrdup("");
}

/* log_outcome - one line in the documented shape; reason NULL for a success. */
static void log_outcome(const struct auth_exchange *x, const char *what, const char *reason)
{
	const char *authcid = sasl_server_authcid(x->sasl);
	char *user = log_safe(authcid != NULL ? authcid : "");
	const char *mech = sasl_server_mech(x->sasl)->name;

	if (reason == NULL)
		msg_info("%s: method=%s, user=%s, client=[%s], service=%s", what, mech, user,
			 x->client_addr, x->service);
	else
		msg_info("%s: method=%s, user=%s, client=[%s], service=%s, reason=%s", what, mech,
			 user, x->client_addr, x->service, reason);
	free(user);
}

void auth_sasl_abort(struct auth_conn *conn)
{
	struct auth_exchange *x = conn->xchg;

	if (x == NULL)
		return;
	if (x->job != NULL)
		auth_verify_cancel(conn->server->verify, x->job);
	event_timer_cancel(conn->server->loop, &x->delay);
	sasl_server_free(&x->sasl);
	free(x->service);
	free(x->client_addr);
	free(x->ip_key);
	free(x->user_key);
	free(x->account);
	free(x);
	conn->xchg = NULL;
}

/* finish - the exchange is over: forget it, and read requests again. */
static void finish(struct auth_conn *conn)
{
	auth_sasl_abort(conn);
	auth_conn_set_busy(conn, 0);
}

static void on_delay_over(struct event_loop *loop, void *ctx)
{
	struct auth_exchange *x = ctx;
	struct auth_conn *conn = x->conn;

	auth_conn_answer(conn, ATTR_SEND_STR("status", "fail"),
			 ATTR_SEND_STR("reason", sasl_server_reason(x->sasl)));
	finish(conn);
}

static void succeed(struct auth_conn *conn, struct auth_exchange *x)
{
	const char *authcid = sasl_server_authcid(x->sasl);
	const char *authzid = sasl_server_authzid(x->sasl);

	if (x->account == NULL)
		msg_panic("auth: success without an account");
	auth_penalty_success(conn->server->penalty, x->user_key);
	log_outcome(x, "authenticated", NULL);
	/* the identity to act as is the account itself unless a policy allowed another */
	auth_conn_answer(
	    conn, ATTR_SEND_STR("status", "ok"), ATTR_SEND_STR("authcid", x->account),
	    ATTR_SEND_STR("authzid", strcmp(authzid, authcid) == 0 ? x->account : authzid));
	finish(conn);
}

static void fail(struct auth_conn *conn, struct auth_exchange *x)
{
	struct auth_server *server = conn->server;
	uint64_t delay;

	if (x->user_key == NULL && sasl_server_authcid(x->sasl) != NULL)
		x->user_key = auth_identity_normalise(sasl_server_authcid(x->sasl));
	delay =
	    auth_penalty_fail(server->penalty, x->ip_key, x->user_key, event_now_ms(server->loop));
	log_outcome(x, "authentication failed", sasl_server_reason(x->sasl));
	msg_debug("failure answered after %llu ms", (unsigned long long)delay);
	auth_conn_set_busy(conn, 1);
	event_timer_add(server->loop, &x->delay, delay, on_delay_over, x);
}

/* handle - act on the exchange's new status. */
static void handle(struct auth_conn *conn, enum sasl_status st)
{
	struct auth_exchange *x = conn->xchg;
	const void *challenge;
	size_t len;

	switch (st) {
	case SASL_CONTINUE:
		challenge = sasl_server_challenge(x->sasl, &len);
		auth_conn_answer(conn, ATTR_SEND_STR("status", "continue"),
				 ATTR_SEND_DATA("challenge", challenge, len));
		auth_conn_set_busy(conn, 0);
		break;
	case SASL_PENDING:
		auth_conn_set_busy(conn, 1);
		break;
	case SASL_SUCCESS:
		succeed(conn, x);
		break;
	case SASL_FAILURE:
		fail(conn, x);
		break;
	case SASL_TEMPFAIL:
		log_outcome(x, "authentication temporarily failed", sasl_server_reason(x->sasl));
		auth_conn_answer(conn, ATTR_SEND_STR("status", "tempfail"),
				 ATTR_SEND_STR("reason", sasl_server_reason(x->sasl)));
		finish(conn);
		break;
	}
}

/* on_verified - a worker thread checked the password. */
static void on_verified(void *ctx, enum password_result result, char *error)
{
	struct auth_exchange *x = ctx;
	enum sasl_check_result r = SASL_CHECK_FAILED;
	const char *reason;

	x->job = NULL;
	if (x->unknown) {
		reason = "unknown user";
	} else if (result == PASSWORD_MATCH) {
		r = x->enabled ? SASL_CHECK_OK : SASL_CHECK_FAILED;
		reason = x->enabled ? NULL : "account disabled";
	} else if (result == PASSWORD_MISMATCH) {
		reason = "password mismatch";
	} else {
		msg_warn("account %s: cannot check the password: %s", x->account, error);
		reason = "unusable password hash";
	}
	free(error);
	handle(x->conn, sasl_server_check_done(x->sasl, r, reason));
}

static enum sasl_check_result on_check(void *ctx, struct sasl_server *srv,
				       const struct sasl_check *check, const char **reason_r)
{
	struct auth_exchange *x = ctx;
	struct auth_server *server = x->conn->server;
	struct dir_account account;
	const char *hash = server->dummy_hash;
	char *error = NULL;

	free(x->user_key);
	x->user_key = auth_identity_normalise(check->authcid);
	x->unknown = 1;
	memset(&account, 0, sizeof(account));
	if (x->user_key != NULL) {
		switch (directory_account(server->dir, x->user_key, &account, &error)) {
		case DIR_ERROR:
			msg_warn("directory lookup of %s: %s", x->user_key, error);
			free(error);
			dir_account_free(&account);
			*reason_r = "directory unavailable";
			return SASL_CHECK_TEMPFAIL;
		case DIR_FOUND:
			x->unknown = 0;
			x->enabled = account.enabled;
			x->account = xstrdup(account.address);
			hash = account.password_hash;
			break;
		case DIR_NOTFOUND:
			break;
		}
	} else {
		/* not an address: counted under its own name, checked like any unknown user */
		x->user_key = xstrdup(check->authcid);
	}
	/* unknown users cost one hash too, so that timing does not tell who exists */
	x->job = auth_verify_submit(server->verify, check->password, hash, on_verified, x);
	dir_account_free(&account);
	return SASL_CHECK_PENDING;
}

void auth_sasl_mechanisms(struct auth_conn *conn, const struct auth_request *req)
{
	char *list = sasl_registry_list(conn->server->sasl, (int)req->tls);

	auth_conn_answer(conn, ATTR_SEND_STR("status", "ok"), ATTR_SEND_STR("mechanisms", list));
	free(list);
}

void auth_sasl_start(struct auth_conn *conn, const struct auth_request *req)
{
	struct auth_exchange *x;
	const struct sasl_mech *mech;
	const char *why = NULL;

	auth_sasl_abort(conn);
	mech = sasl_registry_find(conn->server->sasl, req->mechanism.data, (int)req->tls, &why);
	if (mech == NULL) {
		msg_info("refused mechanism %s: %s (client=[%s], service=%s)", req->mechanism.data,
			 why, req->client_addr.data, req->service.data);
		auth_conn_answer(conn, ATTR_SEND_STR("status", "fail"),
				 ATTR_SEND_STR("reason", why));
		return;
	}
	x = xcalloc(1, sizeof(*x));
	x->conn = conn;
	x->service = xstrdup(req->service.data);
	x->client_addr = xstrdup(req->client_addr.data);
	x->ip_key = auth_penalty_ip_key(x->client_addr);
	x->sasl = sasl_server_new(mech, &callbacks, x);
	conn->xchg = x;
	if (auth_request_has_response(req))
		handle(conn, sasl_server_step(x->sasl, req->response.data, req->response.len));
	else
		handle(conn, sasl_server_step(x->sasl, NULL, 0));
}

void auth_sasl_continue(struct auth_conn *conn, const struct auth_request *req)
{
	if (conn->xchg == NULL) {
		auth_conn_error(conn, "continue without an exchange in progress");
		return;
	}
	handle(conn, sasl_server_step(conn->xchg->sasl, req->response.data, req->response.len));
}
