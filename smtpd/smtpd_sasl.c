/*
 * smtpd_sasl - AUTH (RFC 4954). The mechanisms run inside the auth service
 * (mail/auth_client.h); here is the SMTP side of the exchange: base64 both
 * ways, "=" for an empty initial response, "*" to cancel, the 12288-byte
 * line limit, and the replies. AUTH is offered only when
 * smtpd_sasl_auth_enable is set, and with smtpd_tls_auth_only only after
 * STARTTLS (or on an implicit TLS connection). The auth service delays its
 * answer to a failed attempt; every failure also counts as an error of the
 * session (smtpd_hard_error_limit).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/auth_client.h"
#include "smtpd/smtpd.h"
#include "util/base64.h"
#include "util/msg.h"
#include "util/mymalloc.h"

const char *smtpd_sasl_mechanisms(struct smtpd_session *s)
{
	struct smtpd_server *srv = s->srv;
	struct auth_client *auth;
	char *list = NULL, *error = NULL;

	if (!srv->sasl_enable || (srv->tls_auth_only && s->tls == NULL))
		return "";
	if (s->mechanisms != NULL)
		return s->mechanisms;
	if ((auth = smtpd_auth_client(srv)) == NULL)
		return "";
	if (auth_client_mechanisms(auth, s->tls != NULL, &list, &error) < 0) {
		msg_warn("auth service: mechanisms: %s", error);
		free(error);
		return "";
	}
	s->mechanisms = list;
	return list;
}

/* offered - whether mech is one of the words of list. */
static int offered(const char *list, const char *mech)
{
	size_t n = strlen(mech), w;

	while (*(list += strspn(list, " ")) != '\0') {
		w = strcspn(list, " ");
		if (w == n && strncasecmp(list, mech, n) == 0)
			return 1;
		list += w;
	}
	return 0;
}

/* auth_allowed - may the client start an exchange with cmd->mech now? */
static int auth_allowed(struct smtpd_session *s, const struct smtp_cmd *cmd)
{
	const char *mechs;

	if (!s->srv->sasl_enable || !s->esmtp) {
		smtpd_reply(s, "503 5.5.1 Error: authentication not enabled");
	} else if (s->sasl_username != NULL) {
		smtpd_reply(s, "503 5.5.1 Error: already authenticated");
	} else if (s->txn.sender != NULL) {
		smtpd_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
	} else if (s->srv->tls_auth_only && s->tls == NULL) {
		smtpd_reply(s, "538 5.7.11 Encryption required for requested authentication "
			       "mechanism");
	} else if ((mechs = smtpd_sasl_mechanisms(s))[0] == '\0' && s->mechanisms == NULL) {
		smtpd_reply(s, "454 4.7.0 Temporary authentication failure");
	} else if (!offered(mechs, cmd->mech)) {
		smtpd_reply(s, "504 5.5.4 Unrecognized authentication type");
	} else {
		return 1;
	}
	return 0;
}

/* decode - a response line: "=" alone is empty (initial response only), else base64. */
static int decode(const char *text, int initial, struct strbuf *out)
{
	char *error = NULL;

	strbuf_reset(out);
	if (initial && strcmp(text, "=") == 0)
		return 0;
	if (base64_decode(out, text, strlen(text), &error) < 0) {
		free(error);
		return -1;
	}
	return 0;
}

/* next_response - send the challenge and read the answer; -1 when the exchange ended. */
static int next_response(struct smtpd_session *s, const struct auth_client_reply *reply,
			 struct strbuf *response)
{
	struct strbuf b64 = STRBUF_INIT;
	enum stream_status st;

	base64_encode(&b64, reply->challenge.data != NULL ? reply->challenge.data : "",
		      reply->challenge.len);
	smtpd_reply(s, "334 %s", strbuf_str(&b64));
	strbuf_free(&b64);
	st = smtp_server_read_line(&s->conn, &s->line);
	if (st == STREAM_TOO_LONG) {
		smtpd_reply(s, "500 5.5.6 Authentication Exchange line is too long");
		return -1;
	}
	if (st != STREAM_OK) {
		smtp_server_lost(&s->conn, st);
		if (st == STREAM_TIMEOUT)
			smtpd_reply(s, "421 4.4.2 %s Error: timeout exceeded", s->srv->hostname);
		s->done = 1;
		return -1;
	}
	if (strcmp(strbuf_str(&s->line), "*") == 0) {
		smtpd_reply(s, "501 5.7.0 Authentication aborted");
		return -1;
	}
	if (decode(strbuf_str(&s->line), 0, response) < 0) {
		smtpd_reply(s, "501 5.5.2 Error: cannot decode response");
		return -1;
	}
	return 0;
}

static void authenticated(struct smtpd_session *s, const char *mech,
			  const struct auth_client_reply *reply)
{
	s->sasl_method = xstrdup(mech);
	s->sasl_username = xstrdup(reply->authcid);
	s->sasl_authzid = xstrdup(reply->authzid != NULL ? reply->authzid : reply->authcid);
	smtpd_reply(s, "235 2.7.0 Authentication successful");
}

/* exchange - run the exchange from its first answer st to the end. */
static void exchange(struct smtpd_session *s, const char *mech, enum auth_status st,
		     struct auth_client_reply *reply, struct auth_client *auth)
{
	struct strbuf response = STRBUF_INIT;
	char *error = NULL;

	while (st == AUTH_CONTINUE) {
		if (next_response(s, reply, &response) < 0) {
			if (auth_client_abort(auth, &error) < 0) {
				msg_warn("auth service: abort: %s", error);
				XFREE(error);
			}
			strbuf_free(&response);
			return;
		}
		st = auth_client_continue(auth, response.data != NULL ? response.data : "",
					  response.len, reply, &error);
	}
	strbuf_free(&response);
	switch (st) {
	case AUTH_OK:
		authenticated(s, mech, reply);
		return;
	case AUTH_FAILED:
		msg_warn("%s: SASL %s authentication failed: %s", s->namaddr, mech,
			 reply->reason != NULL ? reply->reason : "authentication failure");
		smtpd_reply(s, "535 5.7.8 Error: authentication failed: authentication failure");
		return;
	case AUTH_ERROR:
		msg_warn("auth service: %s", error);
		free(error);
		/* fall through */
	default:
		smtpd_reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
}

void smtpd_cmd_auth(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	struct auth_client_reply reply;
	struct auth_client_info info;
	struct strbuf initial = STRBUF_INIT;
	struct auth_client *auth;
	enum auth_status st;
	char *error = NULL;

	if (!auth_allowed(s, cmd))
		return;
	if (cmd->initial != NULL && decode(cmd->initial, 1, &initial) < 0) {
		smtpd_reply(s, "501 5.5.2 Error: cannot decode response");
		strbuf_free(&initial);
		return;
	}
	if ((auth = smtpd_auth_client(s->srv)) == NULL) {
		smtpd_reply(s, "454 4.7.0 Temporary authentication failure");
		strbuf_free(&initial);
		return;
	}
	memset(&reply, 0, sizeof(reply));
	info.service = "smtp";
	info.client_addr = s->addr;
	info.local_port = s->local_port;
	info.tls = s->tls != NULL;
	st = auth_client_start(auth, &info, cmd->mech,
			       cmd->initial != NULL ? strbuf_str(&initial) : NULL, initial.len,
			       &reply, &error);
	strbuf_free(&initial);
	exchange(s, cmd->mech, st, &reply, auth);
	auth_client_reply_free(&reply);
}
