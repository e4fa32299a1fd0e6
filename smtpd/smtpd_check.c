/*
 * smtpd_check - the policy decisions on envelope addresses.
 *
 * A recipient's domain is local (a domain of the directory, or in
 * mydestination), a relay domain (relay_domains), or remote; an address
 * literal is always remote. smtpd_relay_restrictions is then read left to
 * right, the first decision wins:
 *   permit_mynetworks           the client is in mynetworks
 *   permit_sasl_authenticated   the client authenticated
 *   permit_auth_destination     the recipient is local, or in a relay domain
 *   reject_unauth_destination   554 5.7.1 Relay access denied, unless it is
 *   defer_unauth_destination    the same with 454 4.7.1
 *   permit, reject              always
 * and the end of the list permits. A local part with '%', '!' or '@' in a
 * relay domain is no authorised destination (the next hop might route on
 * it). Local recipients must then resolve in the directory: an unknown one
 * gets 550 5.1.1, a disabled account 550 5.2.1, a failed lookup 451 4.3.0.
 *
 * Senders: an authenticated client may use as MAIL FROM only <>, its own
 * address, or an address that the directory resolves to its account (an
 * alias or a sub-address of it). smtpd_sender_login_maps, when set, names
 * the owners of addresses explicitly ("address login, login..." or
 * "@domain login"): an address the map lists may be used only by those
 * logins; the directory rule applies to the others.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/auth_client.h"
#include "smtpd/smtpd.h"
#include "util/dict.h"
#include "util/msg.h"
#include "util/mymalloc.h"

enum dest_class { DEST_LOCAL, DEST_RELAY, DEST_REMOTE, DEST_ERROR };

struct auth_client *smtpd_auth_client(struct smtpd_server *srv)
{
	char *error = NULL;

	if (srv->auth == NULL &&
	    (srv->auth = auth_client_open(srv->conf, srv->chrooted, &error)) == NULL) {
		msg_warn("auth service unavailable: %s", error);
		free(error);
	}
	return srv->auth;
}

int smtpd_domain_list_match(char *const *list, const char *domain)
{
	size_t dlen = strlen(domain), n;

	for (; list != NULL && *list != NULL; list++) {
		const char *e = *list;

		if (e[0] == '.') {
			n = strlen(e);
			if (dlen > n && strcmp(domain + dlen - n, e) == 0)
				return 1;
		} else if (strcmp(domain, e) == 0) {
			return 1;
		}
	}
	return 0;
}

static enum dest_class classify(struct smtpd_session *s, const char *domain, int literal)
{
	struct smtpd_server *srv = s->srv;
	struct auth_client *auth;
	char *error = NULL;

	if (literal)
		return DEST_REMOTE;
	if (smtpd_domain_list_match(srv->mydestination, domain))
		return DEST_LOCAL;
	if ((auth = smtpd_auth_client(srv)) == NULL)
		return DEST_ERROR;
	switch (auth_client_domain(auth, domain, &error)) {
	case DIR_FOUND:
		return DEST_LOCAL;
	case DIR_NOTFOUND:
		break;
	case DIR_ERROR:
		msg_warn("domain lookup of %s: %s", domain, error);
		free(error);
		return DEST_ERROR;
	}
	return smtpd_domain_list_match(srv->relay_domains, domain) ? DEST_RELAY : DEST_REMOTE;
}

/* authorised - local, or a relay domain without routing characters in the local part. */
static int authorised(enum dest_class klass, const char *local)
{
	return klass == DEST_LOCAL || (klass == DEST_RELAY && strpbrk(local, "%!@") == NULL);
}

/* relay_check - smtpd_relay_restrictions; 0: permitted, -1: refused (reply sent). */
static int relay_check(struct smtpd_session *s, const char *address, enum dest_class klass,
		       const char *local)
{
	const struct smtpd_server *srv = s->srv;
	size_t i;

	for (i = 0; i < srv->restriction_count; i++) {
		switch (srv->restrictions[i]) {
		case SMTPD_PERMIT_MYNETWORKS:
			if (s->in_mynetworks)
				return 0;
			break;
		case SMTPD_PERMIT_SASL_AUTHENTICATED:
			if (s->sasl_username != NULL)
				return 0;
			break;
		case SMTPD_PERMIT_AUTH_DESTINATION:
			if (authorised(klass, local))
				return 0;
			break;
		case SMTPD_REJECT_UNAUTH_DESTINATION:
		case SMTPD_DEFER_UNAUTH_DESTINATION:
			if (authorised(klass, local))
				break;
			if (srv->restrictions[i] == SMTPD_REJECT_UNAUTH_DESTINATION)
				smtpd_reject(s, address, "554 5.7.1 <%s>: Relay access denied",
					     address);
			else
				smtpd_reject(s, address, "454 4.7.1 <%s>: Relay access denied",
					     address);
			return -1;
		case SMTPD_PERMIT:
			return 0;
		case SMTPD_REJECT:
			smtpd_reject(s, address,
				     "554 5.7.1 <%s>: Recipient address rejected: Access denied",
				     address);
			return -1;
		}
	}
	return 0;
}

/* local_check - a local recipient must resolve to something that takes mail. */
static int local_check(struct smtpd_session *s, const char *address)
{
	struct dir_targets targets = {NULL, 0};
	struct auth_client *auth = smtpd_auth_client(s->srv);
	enum dir_result r = DIR_ERROR;
	char *error = NULL;
	size_t i, usable = 0;

	if (auth != NULL)
		r = auth_client_resolve(auth, address, &targets, &error);
	if (r == DIR_ERROR) {
		if (error != NULL)
			msg_warn("address lookup of %s: %s", address, error);
		free(error);
		smtpd_reject(s, address, "451 4.3.0 <%s>: Temporary lookup failure", address);
		return -1;
	}
	if (r == DIR_NOTFOUND) {
		smtpd_reject(s, address, "550 5.1.1 <%s>: Recipient address rejected: User unknown",
			     address);
		return -1;
	}
	for (i = 0; i < targets.count; i++)
		usable += !targets.items[i].local || targets.items[i].enabled;
	dir_targets_free(&targets);
	if (usable == 0) {
		smtpd_reject(s, address,
			     "550 5.2.1 <%s>: Recipient address rejected: Mailbox disabled",
			     address);
		return -1;
	}
	return 0;
}

int smtpd_check_rcpt(struct smtpd_session *s, const char *address, const char *local,
		     const char *domain, int literal)
{
	enum dest_class klass = classify(s, domain, literal);

	if (klass == DEST_ERROR) {
		smtpd_reject(s, address, "451 4.3.0 <%s>: Temporary lookup failure", address);
		return -1;
	}
	if (relay_check(s, address, klass, local) < 0)
		return -1;
	return klass == DEST_LOCAL ? local_check(s, address) : 0;
}

/* listed_owner - the map's value (logins separated by commas or white space) names id. */
static int listed_owner(const char *value, const char *id, const char *login)
{
	const char *p = value, *sep = ", \t";
	size_t n;

	while (*(p += strspn(p, sep)) != '\0') {
		n = strcspn(p, sep);
		if ((strlen(id) == n && strncasecmp(p, id, n) == 0) ||
		    (strlen(login) == n && strncasecmp(p, login, n) == 0))
			return 1;
		p += n;
	}
	return 0;
}

/* map_owner - 1 owned, 0 listed for others, -1 not listed, -2 lookup error. */
static int map_owner(struct smtpd_session *s, const char *address)
{
	struct strbuf value = STRBUF_INIT;
	const char *at = strrchr(address, '@');
	enum dict_result r;
	char *error = NULL;
	int owned;

	r = dict_lookup(s->srv->login_map, address, &value, &error);
	if (r == DICT_NOTFOUND && at != NULL)
		r = dict_lookup(s->srv->login_map, at, &value, &error);
	if (r == DICT_ERROR) {
		msg_warn("%s lookup of %s: %s", dict_name(s->srv->login_map), address, error);
		free(error);
		strbuf_free(&value);
		return -2;
	}
	if (r == DICT_NOTFOUND) {
		strbuf_free(&value);
		return -1;
	}
	owned = listed_owner(strbuf_str(&value), s->sasl_authzid, s->sasl_username);
	strbuf_free(&value);
	return owned;
}

/* directory_owner - 1 when the address resolves to the client's account, 0 not, -2 error. */
static int directory_owner(struct smtpd_session *s, const char *address)
{
	struct dir_targets targets = {NULL, 0};
	struct auth_client *auth = smtpd_auth_client(s->srv);
	enum dir_result r = DIR_ERROR;
	char *error = NULL;
	int owned = 0;
	size_t i;

	if (auth != NULL)
		r = auth_client_resolve(auth, address, &targets, &error);
	if (r == DIR_ERROR) {
		if (error != NULL)
			msg_warn("address lookup of %s: %s", address, error);
		free(error);
		return -2;
	}
	for (i = 0; r == DIR_FOUND && i < targets.count; i++) {
		if (targets.items[i].local &&
		    strcasecmp(targets.items[i].address, s->sasl_authzid) == 0)
			owned = 1;
	}
	if (r == DIR_FOUND)
		dir_targets_free(&targets);
	return owned;
}

int smtpd_check_sender(struct smtpd_session *s, const char *address)
{
	int owned = -1;

	if (s->sasl_username == NULL || address[0] == '\0' ||
	    strcasecmp(address, s->sasl_authzid) == 0)
		return 0;
	if (s->srv->login_map != NULL)
		owned = map_owner(s, address);
	if (owned == -1)
		owned = directory_owner(s, address);
	if (owned == 1)
		return 0;
	if (owned == -2)
		smtpd_reject(s, NULL,
			     "451 4.3.0 <%s>: Sender address rejected: Temporary lookup "
			     "failure",
			     address);
	else
		smtpd_reject(s, NULL,
			     "553 5.7.1 <%s>: Sender address rejected: not owned by user %s",
			     address, s->sasl_username);
	return -1;
}

void smtpd_check_vrfy(struct smtpd_session *s, const char *address, const char *domain)
{
	struct dir_targets targets = {NULL, 0};
	struct auth_client *auth;
	enum dest_class klass = classify(s, domain, domain[0] == '[');
	enum dir_result r = DIR_ERROR;
	char *error = NULL;

	if (klass == DEST_RELAY || klass == DEST_REMOTE) {
		smtpd_reply(s, "252 2.0.0 <%s>: cannot verify a non-local address", address);
		return;
	}
	if (klass == DEST_LOCAL && (auth = smtpd_auth_client(s->srv)) != NULL)
		r = auth_client_resolve(auth, address, &targets, &error);
	if (r == DIR_FOUND) {
		dir_targets_free(&targets);
		smtpd_reply(s, "252 2.0.0 <%s>", address);
	} else if (r == DIR_NOTFOUND) {
		smtpd_reply(s, "550 5.1.1 <%s>: Recipient address rejected: User unknown", address);
	} else {
		if (error != NULL)
			msg_warn("address lookup of %s: %s", address, error);
		free(error);
		smtpd_reply(s, "451 4.3.0 <%s>: Temporary lookup failure", address);
	}
}
