/*
 * auth_lookup - the directory lookups of the auth protocol (domain, resolve,
 * account), for lmtp and smtpd: answers from the directory, never a
 * password hash.
 */
#include <limits.h>
#include <stdlib.h>

#include "auth/auth.h"
#include "mail/auth_client.h"
#include "mail/directory.h"
#include "util/msg.h"

/* tempfail - the directory failed: log and answer tempfail with its message. */
static void tempfail(struct auth_conn *conn, const char *what, const char *key, char *error)
{
	msg_warn("directory %s lookup of %s: %s", what, key, error);
	auth_conn_answer(conn, ATTR_SEND_STR("status", "tempfail"), ATTR_SEND_STR("reason", error));
	free(error);
}

static void notfound(struct auth_conn *conn)
{
	auth_conn_answer(conn, ATTR_SEND_STR("status", "notfound"));
}

void auth_lookup_domain(struct auth_conn *conn, const struct auth_request *req)
{
	char *error = NULL;

	switch (directory_domain_is_local(conn->server->dir, req->domain.data, &error)) {
	case DIR_FOUND:
		auth_conn_answer(conn, ATTR_SEND_STR("status", "ok"));
		break;
	case DIR_NOTFOUND:
		notfound(conn);
		break;
	case DIR_ERROR:
		tempfail(conn, "domain", req->domain.data, error);
		break;
	}
}

void auth_lookup_resolve(struct auth_conn *conn, const struct auth_request *req)
{
	struct dir_targets targets = {NULL, 0};
	char *error = NULL;
	size_t i;

	switch (directory_resolve(conn->server->dir, req->address.data, &targets, &error)) {
	case DIR_NOTFOUND:
		notfound(conn);
		return;
	case DIR_ERROR:
		tempfail(conn, "resolve", req->address.data, error);
		return;
	case DIR_FOUND:
		break;
	}
	if (targets.count > AUTH_RESOLVE_MAX) {
		msg_warn("address %s reaches %zu targets, more than %d", req->address.data,
			 targets.count, AUTH_RESOLVE_MAX);
		auth_conn_answer(conn, ATTR_SEND_STR("status", "tempfail"),
				 ATTR_SEND_STR("reason", "too many targets"));
		dir_targets_free(&targets);
		return;
	}
	auth_conn_answer(conn, ATTR_SEND_STR("status", "ok"),
			 ATTR_SEND_INT("count", (long long)targets.count));
	for (i = 0; i < targets.count; i++) {
		const struct dir_target *t = &targets.items[i];

		struct attr_send rec[] = {
		    ATTR_SEND_STR("address", t->address),
		    ATTR_SEND_INT("local", t->local ? 1 : 0),
		    ATTR_SEND_INT("enabled", t->enabled ? 1 : 0),
		    ATTR_SEND_STR("detail", t->detail != NULL ? t->detail : ""),
		    ATTR_END,
		};

		if (t->detail == NULL)
			rec[3] = (struct attr_send)ATTR_END;
		auth_conn_reply(conn, rec);
	}
	dir_targets_free(&targets);
}

/* clamp - an unsigned quota as an attribute integer. */
static long long clamp(uint64_t v)
{
	return v > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)v;
}

void auth_lookup_account(struct auth_conn *conn, const struct auth_request *req)
{
	struct dir_account a = {0};
	char *error = NULL;

	switch (directory_account(conn->server->dir, req->address.data, &a, &error)) {
	case DIR_NOTFOUND:
		notfound(conn);
		break;
	case DIR_ERROR:
		tempfail(conn, "account", req->address.data, error);
		break;
	case DIR_FOUND:
		auth_conn_answer(
		    conn, ATTR_SEND_STR("status", "ok"), ATTR_SEND_STR("address", a.address),
		    ATTR_SEND_INT("quota_bytes", clamp(a.quota_bytes)),
		    ATTR_SEND_INT("quota_messages", clamp(a.quota_messages)),
		    ATTR_SEND_STR("store_path", a.store_path),
		    ATTR_SEND_INT("enabled", a.enabled ? 1 : 0),
		    ATTR_SEND_STR("display_name", a.display_name ? a.display_name : ""));
		break;
	}
	dir_account_free(&a);
}
