/*
 * lmtp_rcpt - MAIL FROM and RCPT TO: the order of commands, the parameters
 * (SIZE, BODY, SMTPUTF8; no DSN: the MTA keeps the notifications), the
 * address syntax, and the resolution of each recipient through the auth
 * service into the accounts it reaches:
 *
 *   an account, or an alias of accounts (+detail cut off as the directory
 *   says)                                   250 2.1.5
 *   nothing in a local domain, or a domain that is not local   550 5.1.1
 *   an alias with addresses outside the store (the MTA must expand it;
 *   Tern's qmgr does)                                           550 5.1.1
 *   only disabled accounts                                      550 5.2.1
 *   the directory cannot answer now                             451 4.3.0
 *   more recipients than lmtp_recipient_limit                   452 4.5.3
 *
 * Disabled accounts among enabled ones are left out (and logged). The
 * account's store path and quotas are fetched here too, so that the end of
 * data needs no more lookups.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lmtp/lmtp.h"
#include "mail/address.h"
#include "mail/auth_client.h"
#include "util/msg.h"
#include "util/mymalloc.h"

struct auth_client *lmtp_auth(struct lmtp_server *srv)
{
	char *error = NULL;

	if (srv->auth != NULL)
		return srv->auth;
	srv->auth = auth_client_open(srv->conf, 0, &error);
	if (srv->auth == NULL) {
		msg_warn("auth service unavailable: %s", error);
		free(error);
		srv->auth_failed = 1;
	}
	return srv->auth;
}

static int has_non_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return 1;
	}
	return 0;
}

/* reject - a refused recipient (or sender): the reply, and a log line for it. */
static void reject(struct lmtp_session *s, const char *rcpt, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reject(struct lmtp_session *s, const char *rcpt, const char *fmt, ...)
{
	struct strbuf text = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vprintf(&text, fmt, ap);
	va_end(ap);
	msg_info("%s: reject: %s from %s: %s; from=<%s>%s%s%s", s->id, smtp_verb_name(s->conn.verb),
		 s->peer, text.data, s->txn.sender != NULL ? s->txn.sender : "",
		 rcpt != NULL ? " to=<" : "", rcpt != NULL ? rcpt : "", rcpt != NULL ? ">" : "");
	lmtp_reply_outcome(s, "%s", text.data);
	strbuf_free(&text);
}

/* parse_sender - the MAIL path as a normalised address ("" for <>); NULL after a reply. */
static char *parse_sender(struct lmtp_session *s, const char *path, int smtputf8)
{
	struct address addr;
	char *error = NULL, *text = NULL;
	int flags = ADDRESS_NULL_OK | (smtputf8 ? ADDRESS_UTF8 : 0);

	memset(&addr, 0, sizeof(addr));
	if (!smtputf8 && has_non_ascii(path)) {
		lmtp_reply(s, "553 5.6.7 Error: non-ASCII sender address needs SMTPUTF8");
	} else if (address_parse(path, strlen(path), flags, &addr, &error) < 0) {
		if (msg_verbose())
			msg_debug("%s: sender %s: %s", s->peer, path, error);
		lmtp_reply(s, "553 5.1.7 Error: bad sender address syntax");
	} else {
		text = address_format(&addr);
	}
	free(error);
	address_free(&addr);
	return text;
}

void lmtp_cmd_mail(struct lmtp_session *s, struct smtp_cmd *cmd)
{
	struct smtp_mail_opts opts;
	struct smtp_cmd_error err;
	char *sender;

	if (s->helo == NULL) {
		lmtp_reply(s, "503 5.5.1 Error: send LHLO first");
		return;
	}
	if (s->txn.sender != NULL) {
		lmtp_reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (smtp_mail_opts_parse(cmd, LMTP_EXTENSIONS, &opts, &err) < 0) {
		lmtp_reply(s, "%d %s %s", err.code, err.dsn, err.text);
		smtp_mail_opts_free(&opts);
		return;
	}
	if ((sender = parse_sender(s, cmd->path, opts.smtputf8)) == NULL) {
		smtp_mail_opts_free(&opts);
		return;
	}
	if (opts.size > s->srv->size_limit) {
		msg_info("%s: reject: MAIL from %s: 552 5.3.4 message size %lld exceeds the "
			 "limit; from=<%s>",
			 s->id, s->peer, opts.size, sender);
		lmtp_reply_outcome(s, "552 5.3.4 Error: message size exceeds fixed limit");
		free(sender);
		smtp_mail_opts_free(&opts);
		return;
	}
	s->txn.sender = sender;
	s->txn.opts = opts;
	s->txn.start_ms = smtp_server_now_ms();
	lmtp_reply(s, "250 2.1.0 Ok");
}

/*
 * parse_rcpt - the RCPT path as a normalised address; <Postmaster> without
 * a domain (RFC 5321 section 4.1.1.3) is postmaster@$mydomain. NULL after
 * a reply.
 */
static char *parse_rcpt(struct lmtp_session *s, const char *path)
{
	int flags = ADDRESS_NO_DOMAIN_OK | (s->txn.opts.smtputf8 ? ADDRESS_UTF8 : 0);
	struct address addr;
	char *error = NULL, *text = NULL;

	memset(&addr, 0, sizeof(addr));
	if (!s->txn.opts.smtputf8 && has_non_ascii(path)) {
		lmtp_reply(s, "553 5.6.7 Error: non-ASCII recipient address needs SMTPUTF8");
	} else if (address_parse(path, strlen(path), flags, &addr, &error) < 0 ||
		   (addr.domain == NULL && strcasecmp(addr.local, "postmaster") != 0)) {
		if (msg_verbose())
			msg_debug("%s: recipient %s: %s", s->peer, path,
				  error != NULL ? error : "no domain");
		lmtp_reply(s, "553 5.1.3 Error: bad recipient address syntax");
	} else {
		if (addr.domain == NULL)
			addr.domain = xstrdup(s->srv->mydomain);
		text = address_format(&addr);
	}
	free(error);
	address_free(&addr);
	return text;
}

/* A recipient's accounts while they are being looked up. */
struct found {
	struct lmtp_account *fresh; /* accounts new to the transaction */
	size_t nfresh;
	size_t *index; /* every account of the recipient: index in txn.accounts, or
			  account_count + i for fresh[i] */
	size_t count;
	size_t disabled;
};

static void found_free(struct found *f)
{
	size_t i;

	for (i = 0; i < f->nfresh; i++) {
		free(f->fresh[i].address);
		free(f->fresh[i].store_path);
		free(f->fresh[i].detail);
	}
	free(f->fresh);
	free(f->index);
}

/* known - the index of an account already in the transaction or found, or -1. */
static long long known(const struct lmtp_txn *t, const struct found *f, const char *address)
{
	size_t i;

	for (i = 0; i < t->account_count; i++) {
		if (strcmp(t->accounts[i].address, address) == 0)
			return (long long)i;
	}
	for (i = 0; i < f->nfresh; i++) {
		if (strcmp(f->fresh[i].address, address) == 0)
			return (long long)(t->account_count + i);
	}
	return -1;
}

/* add_index - the recipient reaches account index idx (once). */
static void add_index(struct found *f, size_t idx)
{
	size_t i;

	for (i = 0; i < f->count; i++) {
		if (f->index[i] == idx)
			return;
	}
	f->index = xreallocarray(f->index, f->count + 1, sizeof(*f->index));
	f->index[f->count++] = idx;
}

/*
 * lookup_account - add target's account to f. 0 (found, or left out when
 * disabled or gone), or -1 when the directory failed (logged).
 */
static int lookup_account(struct lmtp_session *s, struct auth_client *auth,
			  const struct dir_target *target, struct found *f)
{
	struct lmtp_txn *t = &s->txn;
	struct dir_account acc;
	struct lmtp_account *a;
	char *error = NULL;
	enum dir_result res;
	long long idx;

	if ((idx = known(t, f, target->address)) >= 0) {
		add_index(f, (size_t)idx);
		return 0;
	}
	memset(&acc, 0, sizeof(acc));
	res = auth_client_account(auth, target->address, &acc, &error);
	if (res == DIR_ERROR) {
		msg_warn("%s: account lookup of %s: %s", s->id, target->address, error);
		free(error);
		return -1;
	}
	if (res == DIR_NOTFOUND || !acc.enabled) {
		msg_info("%s: account %s %s: left out", s->id, target->address,
			 res == DIR_NOTFOUND ? "vanished" : "is disabled");
		f->disabled += res != DIR_NOTFOUND;
		if (res == DIR_FOUND)
			dir_account_free(&acc);
		return 0;
	}
	f->fresh = xreallocarray(f->fresh, f->nfresh + 1, sizeof(*f->fresh));
	a = &f->fresh[f->nfresh++];
	memset(a, 0, sizeof(*a));
	a->address = xstrdup(acc.address);
	a->store_path = xstrdup(acc.store_path);
	a->quota_bytes = acc.quota_bytes;
	a->quota_messages = acc.quota_messages;
	a->detail = target->detail != NULL ? xstrdup(target->detail) : NULL;
	a->first_rcpt = t->rcpt_count;
	add_index(f, t->account_count + f->nfresh - 1);
	dir_account_free(&acc);
	return 0;
}

/* commit - the recipient is accepted: its new accounts join the transaction. */
static void commit(struct lmtp_txn *t, char *address, struct found *f)
{
	struct lmtp_rcpt *r;

	if (t->account_count + f->nfresh > t->account_alloc) {
		t->account_alloc = (t->account_count + f->nfresh) * 2;
		t->accounts = xreallocarray(t->accounts, t->account_alloc, sizeof(*t->accounts));
	}
	if (f->nfresh > 0)
		memcpy(t->accounts + t->account_count, f->fresh, f->nfresh * sizeof(*f->fresh));
	t->account_count += f->nfresh;
	free(f->fresh);
	f->fresh = NULL;
	f->nfresh = 0;
	if (t->rcpt_count == t->rcpt_alloc) {
		t->rcpt_alloc = t->rcpt_alloc == 0 ? 4 : t->rcpt_alloc * 2;
		t->rcpts = xreallocarray(t->rcpts, t->rcpt_alloc, sizeof(*t->rcpts));
	}
	r = &t->rcpts[t->rcpt_count++];
	r->address = address;
	r->accounts = f->index;
	r->naccounts = f->count;
	f->index = NULL;
	f->count = 0;
}

/* resolve - find the accounts of address and reply; 0 when accepted (f filled). */
static int resolve(struct lmtp_session *s, const char *address, struct found *f)
{
	struct auth_client *auth = lmtp_auth(s->srv);
	struct dir_targets targets = {0};
	char *error = NULL;
	enum dir_result res;
	size_t i;

	if (auth == NULL) {
		lmtp_reply_outcome(s, "451 4.3.0 <%s>: Error: directory temporarily unavailable",
				   address);
		return -1;
	}
	res = auth_client_resolve(auth, address, &targets, &error);
	if (res == DIR_ERROR) {
		msg_warn("%s: resolve %s: %s", s->id, address, error);
		free(error);
		s->srv->auth_failed = 1;
		lmtp_reply_outcome(s, "451 4.3.0 <%s>: Error: directory temporarily unavailable",
				   address);
		return -1;
	}
	if (res == DIR_NOTFOUND) {
		reject(s, address, "550 5.1.1 <%s>: Error: user unknown", address);
		return -1;
	}
	for (i = 0; i < targets.count; i++) {
		if (!targets.items[i].local) {
			reject(s, address,
			       "550 5.1.1 <%s>: Error: alias reaches addresses outside the mailbox "
			       "store (%s); the MTA must expand it",
			       address, targets.items[i].address);
			dir_targets_free(&targets);
			return -1;
		}
	}
	for (i = 0; i < targets.count; i++) {
		if (!targets.items[i].enabled) {
			msg_info("%s: account %s is disabled: left out", s->id,
				 targets.items[i].address);
			f->disabled++;
		} else if (lookup_account(s, auth, &targets.items[i], f) < 0) {
			s->srv->auth_failed = 1;
			dir_targets_free(&targets);
			lmtp_reply_outcome(
			    s, "451 4.3.0 <%s>: Error: directory temporarily unavailable", address);
			return -1;
		}
	}
	dir_targets_free(&targets);
	if (f->count == 0 && f->disabled > 0) {
		reject(s, address, "550 5.2.1 <%s>: Error: mailbox disabled", address);
		return -1;
	}
	if (f->count == 0) {
		reject(s, address, "550 5.1.1 <%s>: Error: user unknown", address);
		return -1;
	}
	return 0;
}

/* rcpt_allowed - the session state lets a RCPT command in. */
static int rcpt_allowed(struct lmtp_session *s)
{
	if (s->txn.sender == NULL) {
		lmtp_reply(s, "503 5.5.1 Error: need MAIL command");
		return 0;
	}
	if (s->txn.bdat) {
		lmtp_reply(s, "503 5.5.1 Error: RCPT after BDAT");
		return 0;
	}
	if ((long long)s->txn.rcpt_count >= s->srv->recipient_limit) {
		lmtp_reply_outcome(s, "452 4.5.3 Error: too many recipients");
		return 0;
	}
	return 1;
}

void lmtp_cmd_rcpt(struct lmtp_session *s, struct smtp_cmd *cmd)
{
	struct smtp_rcpt_opts opts;
	struct smtp_cmd_error err;
	struct found f;
	char *address;

	if (!rcpt_allowed(s))
		return;
	if (smtp_rcpt_opts_parse(cmd, LMTP_EXTENSIONS, s->txn.opts.smtputf8, &opts, &err) < 0) {
		lmtp_reply(s, "%d %s %s", err.code, err.dsn, err.text);
		smtp_rcpt_opts_free(&opts);
		return;
	}
	smtp_rcpt_opts_free(&opts);
	if ((address = parse_rcpt(s, cmd->path)) == NULL)
		return;
	memset(&f, 0, sizeof(f));
	if (resolve(s, address, &f) == 0) {
		commit(&s->txn, address, &f);
		lmtp_reply_outcome(s, "250 2.1.5 Ok");
		address = NULL;
	}
	found_free(&f);
	free(address);
}
