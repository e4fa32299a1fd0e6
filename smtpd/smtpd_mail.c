/*
 * smtpd_mail - MAIL FROM and RCPT TO: the order of commands, the
 * parameters, the address syntax (RFC 5321, with UTF-8 only after
 * SMTPUTF8 as RFC 6531 says), the size and recipient limits; the policy
 * decisions themselves are in smtpd_check.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/address.h"
#include "smtpd/smtpd.h"
#include "util/msg.h"
#include "util/mymalloc.h"

static int has_non_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return 1;
	}
	return 0;
}

/* mail_allowed - the session state lets a MAIL command in. */
static int mail_allowed(struct smtpd_session *s)
{
	if (s->helo == NULL) {
		smtpd_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return 0;
	}
	if (s->txn.sender != NULL) {
		smtpd_reply(s, "503 5.5.1 Error: nested MAIL command");
		return 0;
	}
	if (s->srv->auth_required && s->sasl_username == NULL) {
		smtpd_reply(s, "530 5.7.0 Authentication required");
		return 0;
	}
	return 1;
}

/* parse_sender - the MAIL path as a normalised address ("" for <>); NULL after a reply. */
static char *parse_sender(struct smtpd_session *s, const char *path, int smtputf8)
{
	struct address addr;
	char *error = NULL, *text = NULL;
	int flags = ADDRESS_NULL_OK | (smtputf8 ? ADDRESS_UTF8 : 0);

	memset(&addr, 0, sizeof(addr));
	if (!smtputf8 && has_non_ascii(path)) {
		smtpd_reply(s, "553 5.6.7 Error: non-ASCII sender address needs SMTPUTF8");
	} else if (address_parse(path, strlen(path), flags, &addr, &error) < 0) {
		if (msg_verbose())
			msg_debug("%s: sender %s: %s", s->namaddr, path, error);
		smtpd_reply(s, "553 5.1.7 Error: bad sender address syntax");
	} else {
		text = address_format(&addr);
	}
	free(error);
	address_free(&addr);
	return text;
}

void smtpd_cmd_mail(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	struct smtp_mail_opts opts;
	struct smtp_cmd_error err;
	char *sender;

	if (!mail_allowed(s))
		return;
	if (smtp_mail_opts_parse(cmd, smtpd_extensions(s), &opts, &err) < 0) {
		smtpd_reply(s, "%d %s %s", err.code, err.dsn, err.text);
		smtp_mail_opts_free(&opts);
		return;
	}
	if ((sender = parse_sender(s, cmd->path, opts.smtputf8)) == NULL) {
		smtp_mail_opts_free(&opts);
		return;
	}
	s->txn.sender = sender;
	if (opts.size > s->srv->size_limit) {
		smtpd_reject(s, NULL, "552 5.3.4 Message size exceeds fixed limit");
	} else if (smtpd_check_sender(s, sender) == 0) {
		s->txn.opts = opts;
		smtpd_reply(s, "250 2.1.0 Ok");
		return;
	}
	XFREE(s->txn.sender);
	smtp_mail_opts_free(&opts);
}

/* rcpt_allowed - the session state lets a RCPT command in. */
static int rcpt_allowed(struct smtpd_session *s)
{
	if (s->txn.sender == NULL) {
		smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
		return 0;
	}
	if (s->txn.bdat) {
		smtpd_reply(s, "503 5.5.1 Error: RCPT after BDAT");
		return 0;
	}
	if ((long long)s->txn.rcpt_count >= s->srv->recipient_limit) {
		smtpd_reply(s, "452 4.5.3 Error: too many recipients");
		return 0;
	}
	return 1;
}

/*
 * parse_rcpt - the RCPT path into addr; RFC 5321 section 4.1.1.3 lets
 * <Postmaster> come without a domain: it means this server's postmaster.
 * Returns the normalised address, or NULL after a reply.
 */
static char *parse_rcpt(struct smtpd_session *s, const char *path, struct address *addr)
{
	int flags = ADDRESS_NO_DOMAIN_OK | (s->txn.opts.smtputf8 ? ADDRESS_UTF8 : 0);
	char *error = NULL;

	if (!s->txn.opts.smtputf8 && has_non_ascii(path)) {
		smtpd_reply(s, "553 5.6.7 Error: non-ASCII recipient address needs SMTPUTF8");
		return NULL;
	}
	if (address_parse(path, strlen(path), flags, addr, &error) < 0 ||
	    (addr->domain == NULL && strcasecmp(addr->local, "postmaster") != 0)) {
		if (msg_verbose())
			msg_debug("%s: recipient %s: %s", s->namaddr, path,
				  error != NULL ? error : "no domain");
		free(error);
		smtpd_reply(s, "553 5.1.3 Error: bad recipient address syntax");
		return NULL;
	}
	if (addr->domain == NULL)
		addr->domain = xstrdup(s->srv->mydomain);
	return address_format(addr);
}

static void add_rcpt(struct smtpd_txn *t, char *address, struct smtp_rcpt_opts *opts)
{
	struct smtpd_rcpt *r;

	if (t->rcpt_count == t->rcpt_alloc) {
		t->rcpt_alloc = t->rcpt_alloc == 0 ? 4 : t->rcpt_alloc * 2;
		t->rcpts = xreallocarray(t->rcpts, t->rcpt_alloc, sizeof(*t->rcpts));
	}
	r = &t->rcpts[t->rcpt_count++];
	r->address = address;
	r->orcpt = opts->orcpt;
	r->notify = opts->notify;
	opts->orcpt = NULL;
}

void smtpd_cmd_rcpt(struct smtpd_session *s, struct smtp_cmd *cmd)
{
	struct smtp_rcpt_opts opts;
	struct smtp_cmd_error err;
	struct address addr;
	char *address;

	if (!rcpt_allowed(s))
		return;
	if (smtp_rcpt_opts_parse(cmd, smtpd_extensions(s), s->txn.opts.smtputf8, &opts, &err) < 0) {
		smtpd_reply(s, "%d %s %s", err.code, err.dsn, err.text);
		smtp_rcpt_opts_free(&opts);
		return;
	}
	memset(&addr, 0, sizeof(addr));
	if ((address = parse_rcpt(s, cmd->path, &addr)) != NULL &&
	    smtpd_check_rcpt(s, address, addr.local, addr.domain, addr.literal) == 0) {
		add_rcpt(&s->txn, address, &opts);
		smtpd_reply(s, "250 2.1.5 Ok");
		address = NULL;
	}
	free(address);
	address_free(&addr);
	smtp_rcpt_opts_free(&opts);
}
