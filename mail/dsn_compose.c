/*
 * dsn_compose - the text of a delivery status notification: an RFC 6522
 * multipart/report (report-type=delivery-status) with a part for people,
 * the RFC 3464 delivery report, and the original message or its header
 * (RFC 6533 types for a message sent with SMTPUTF8). See mail/dsn.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "mail/dsn.h"
#include "mail/dsn_impl.h"
#include "util/mymalloc.h"

#define BOUNDARY_MAX 70

struct compose {
	const struct dsn_notice *n;
	struct dsn_out out;
	bool utf8;	/* SMTPUTF8: UTF-8 in fields, RFC 6533 types */
	bool eightbit;	/* 8-bit text somewhere in the notice */
	char *boundary; /* the MIME boundary */
};

/* ---- whether the notice is 8-bit ---- */

static void scan_line(void *ctx, const char *data, size_t len, bool last)
{
	bool *found = ctx;

	(void)last;
	for (size_t i = 0; i < len && !*found; i++)
		if ((unsigned char)data[i] >= 0x80)
			*found = true;
}

bool dsn_needs_8bit(const struct dsn_notice *n)
{
	const unsigned eight =
	    CLEANUP_FLAG_SMTPUTF8 | CLEANUP_FLAG_8BITMIME | CLEANUP_FLAG_BINARYMIME;
	bool found = false;
	struct dsn_walk w = {.headers_only = !n->full, .line = scan_line, .ctx = &found};
	char *err = NULL;

	if (n->orig->flags & eight)
		return true;
	if (dsn_walk_content(n->orig->fd, &w, &err) < 0) {
		free(err);
		return true; /* when in doubt, announce 8-bit: it is never wrong */
	}
	return found;
}

/* ---- wording ---- */

static const char *subject(const struct dsn_notice *n)
{
	switch (n->kind) {
	case DSN_FAILURE:
		return n->audience == DSN_TO_SENDER ? "Undelivered Mail Returned to Sender"
		       : n->audience == DSN_TO_POSTMASTER
			   ? "Undelivered Mail Returned to Postmaster"
			   : "Postmaster Copy: Undelivered Mail";
	case DSN_DELAY:
		return "Delayed Mail (still being retried)";
	case DSN_SUCCESS:
		return "Successful Mail Delivery Report";
	}
	return "Delivery Status Notification";
}

/* duration - a lifetime in words: "5 days", "12 hours", "30 minutes", "45 seconds". */
static char *duration(long long secs)
{
	static const struct {
		long long size;
		const char *unit;
	} units[] = {{86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (secs >= units[i].size && (secs % units[i].size == 0 || units[i].size <= 3600)) {
			long long v = secs / units[i].size;

			return xasprintf("%lld %s%s", v, units[i].unit, v == 1 ? "" : "s");
		}
	return xasprintf("%lld seconds", secs);
}

/* intro - what the human part says before the list of recipients. */
static void intro(struct compose *c)
{
	const struct dsn_notice *n = c->n;
	char *text = NULL, *life, date[64];

	dsn_outf(&c->out, "This is the mail system at host %s.\r\n\r\n", n->reporting_mta);
	switch (n->kind) {
	case DSN_FAILURE:
		if (n->expired_after > 0) {
			life = duration(n->expired_after);
			text = xasprintf("Your message could not be delivered to one or more "
					 "recipients within %s, the longest time it may stay in "
					 "the queue. The mail system has given up on them.",
					 life);
			free(life);
		} else {
			text = xstrdup("Your message could not be delivered to one or more "
				       "recipients. It was refused, or there is no way to reach "
				       "them; the mail system will not try again.");
		}
		if (n->audience == DSN_TO_POSTMASTER) {
			free(text);
			text =
			    xstrdup("A message from the null sender <> (a delivery notice or "
				    "another automatic message) could not be delivered. It "
				    "cannot be returned to its sender, so it is reported to you, "
				    "the postmaster.");
		} else if (n->audience == DSN_COPY) {
			free(text);
			text =
			    xasprintf("This is the postmaster's copy of a notice that told <%s> "
				      "that a message could not be delivered. Only the header of "
				      "the message is included.",
				      n->orig->sender);
		}
		break;
	case DSN_DELAY:
		dsn_date(date, sizeof(date), n->retry_until);
		text =
		    xasprintf("This is a warning only: you do not need to send your message "
			      "again. It has not yet been delivered to the recipients below; "
			      "the mail system keeps trying%s%s.",
			      n->retry_until > 0 ? " until " : "", n->retry_until > 0 ? date : "");
		break;
	case DSN_SUCCESS:
		text = xstrdup("Your message was delivered to the recipients below, as you asked "
			       "with a request for a delivery notification.");
		break;
	}
	dsn_paragraph(&c->out, text, "", c->utf8);
	free(text);
	dsn_outs(&c->out, "\r\n");
	if (n->kind == DSN_FAILURE && n->audience == DSN_TO_SENDER) {
		dsn_paragraph(&c->out,
			      "If you need help, write to the postmaster of this system and "
			      "include this report. The reason for each recipient follows.",
			      "", false);
		dsn_outs(&c->out, "\r\n");
	}
	dsn_outs(&c->out, "                   The mail system\r\n\r\n");
}

/* orcpt_address - the address of an ORCPT "type;address" (the whole when there is no type). */
static const char *orcpt_address(const char *orcpt)
{
	const char *semi = strchr(orcpt, ';');

	return semi != NULL ? semi + 1 : orcpt;
}

/* recipient_line - "<addr> (expanded from <orig>): host H said: TEXT" for one recipient. */
static void recipient_line(struct compose *c, const struct status_entry *e)
{
	struct strbuf sb = STRBUF_INIT;
	char *host = dsn_relay_host(e->relay);
	const char *orig = orcpt_address(e->orcpt);

	strbuf_printf(&sb, "<%s>", e->address);
	if (*e->orcpt && strcasecmp(orig, e->address) != 0)
		strbuf_printf(&sb, " (expanded from <%s>)", orig);
	strbuf_puts(&sb, ": ");
	if (host != NULL && c->n->kind == DSN_SUCCESS)
		strbuf_printf(&sb, "%s via host %s: ",
			      e->action != NULL && strcmp(e->action, "relayed") == 0 ? "relayed"
										     : "delivered",
			      host);
	else if (host != NULL && dsn_is_smtp_reply(e->text))
		strbuf_printf(&sb, "host %s said: ", host);
	strbuf_puts(&sb, e->text);
	dsn_paragraph(&c->out, sb.data, "    ", c->utf8);
	dsn_outs(&c->out, "\r\n");
	free(host);
	strbuf_free(&sb);
}

static void human_part(struct compose *c)
{
	dsn_outf(&c->out, "--%s\r\n", c->boundary);
	dsn_outs(&c->out, "Content-Description: Notification\r\n");
	dsn_outf(&c->out, "Content-Type: text/plain; charset=%s\r\n\r\n",
		 c->utf8 ? "utf-8" : "us-ascii");
	intro(c);
	for (size_t i = 0; i < c->n->count; i++)
		recipient_line(c, &c->n->entries[i]);
}

/* ---- the delivery report ---- */

/* address_value - "rfc822; addr", or for a non-ASCII address "utf-8; addr" (RFC 6533). */
static char *address_value(const struct compose *c, const char *addr)
{
	struct strbuf sb = STRBUF_INIT;

	if (dsn_is_ascii(addr)) {
		strbuf_printf(&sb, "rfc822; %s", addr);
	} else if (c->utf8) {
		strbuf_printf(&sb, "utf-8; %s", addr);
	} else {
		strbuf_puts(&sb, "utf-8; ");
		dsn_xtext_addr(&sb, addr);
	}
	return strbuf_detach(&sb);
}

static void field_date(struct compose *c, const char *name, time_t t)
{
	char date[64];

	dsn_date(date, sizeof(date), t);
	dsn_field(&c->out, name, date, false);
}

static void message_fields(struct compose *c)
{
	const struct dsn_original *o = c->n->orig;
	char *v;

	dsn_outf(&c->out, "--%s\r\n", c->boundary);
	dsn_outs(&c->out, "Content-Description: Delivery report\r\n");
	dsn_outf(&c->out, "Content-Type: message/%sdelivery-status\r\n\r\n",
		 c->utf8 ? "global-" : "");
	v = xasprintf("dns; %s", c->n->reporting_mta);
	dsn_field(&c->out, "Reporting-MTA", v, false);
	free(v);
	dsn_field(&c->out, "X-Tern-Queue-ID", o->queue_id, false);
	if (*o->sender) {
		v = address_value(c, o->sender);
		dsn_field(&c->out, "X-Tern-Sender", v, c->utf8);
		free(v);
	}
	if (o->envid != NULL)
		dsn_field(&c->out, "Original-Envelope-Id", o->envid, false);
	if (o->client_addr != NULL) {
		bool named = o->client_name != NULL && strcmp(o->client_name, "unknown") != 0;

		v = named ? xasprintf("dns; %s ([%s])", o->client_name, o->client_addr)
			  : xasprintf("dns; [%s]", o->client_addr);
		dsn_field(&c->out, "Received-From-MTA", v, false);
		free(v);
	}
	field_date(c, "Arrival-Date", o->arrival);
}

static const char *action_of(const struct compose *c, const struct status_entry *e)
{
	if (c->n->kind == DSN_SUCCESS)
		return e->action != NULL ? e->action : "delivered";
	return c->n->kind == DSN_DELAY ? "delayed" : "failed";
}

static void recipient_fields(struct compose *c, const struct status_entry *e)
{
	char *v, *host = dsn_relay_host(e->relay);

	dsn_outs(&c->out, "\r\n");
	if (*e->orcpt) {
		v = strchr(e->orcpt, ';') != NULL ? xstrdup(e->orcpt)
						  : xasprintf("rfc822;%s", e->orcpt);
		dsn_field(&c->out, "Original-Recipient", v, c->utf8);
		free(v);
	}
	v = address_value(c, e->address);
	dsn_field(&c->out, "Final-Recipient", v, c->utf8);
	free(v);
	dsn_field(&c->out, "Action", action_of(c, e), false);
	dsn_field(&c->out, "Status", e->dsn, false);
	if (host != NULL) {
		v = xasprintf("dns; %s", host);
		dsn_field(&c->out, "Remote-MTA", v, c->utf8);
		free(v);
	}
	v = xasprintf("%s; %s", dsn_is_smtp_reply(e->text) ? "smtp" : "X-Tern", e->text);
	dsn_field(&c->out, "Diagnostic-Code", v, c->utf8);
	free(v);
	if (e->time > 0)
		field_date(c, "Last-Attempt-Date", e->time);
	if (c->n->kind == DSN_DELAY && c->n->retry_until > 0)
		field_date(c, "Will-Retry-Until", c->n->retry_until);
	free(host);
}

/* ---- the original message ---- */

static void copy_line(void *ctx, const char *data, size_t len, bool last)
{
	struct dsn_out *out = ctx;

	dsn_out(out, data, len);
	if (last)
		dsn_out(out, "\r\n", 2);
}

static int original_part(struct compose *c, char **error_r)
{
	const struct dsn_notice *n = c->n;
	struct dsn_walk w = {.headers_only = !n->full, .line = copy_line, .ctx = &c->out};
	const char *what = n->kind == DSN_FAILURE ? "Undelivered Message"
			   : n->kind == DSN_DELAY ? "Delayed Message"
						  : "Message";

	dsn_outf(&c->out, "\r\n--%s\r\n", c->boundary);
	dsn_outf(&c->out, "Content-Description: %s%s\r\n", what, n->full ? "" : " Headers");
	if (n->full)
		dsn_outf(&c->out, "Content-Type: message/%s\r\n", c->utf8 ? "global" : "rfc822");
	else
		dsn_outf(&c->out, "Content-Type: %s\r\n",
			 c->utf8 ? "message/global-headers" : "text/rfc822-headers");
	if (c->eightbit)
		dsn_outs(&c->out, "Content-Transfer-Encoding: 8bit\r\n");
	dsn_outs(&c->out, "\r\n");
	if (dsn_walk_content(n->orig->fd, &w, error_r) < 0)
		return -1;
	dsn_outf(&c->out, "\r\n--%s--\r\n", c->boundary);
	return 0;
}

/* ---- the whole ---- */

static char *make_boundary(const struct dsn_notice *n)
{
	unsigned char rnd[8];
	struct strbuf sb = STRBUF_INIT;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd)); /* the queue ID and time still make it unique */
	strbuf_printf(&sb, "%s.", n->orig->queue_id);
	for (size_t i = 0; i < sizeof(rnd); i++)
		strbuf_printf(&sb, "%02x", rnd[i]);
	strbuf_printf(&sb, "/%s", n->reporting_mta);
	strbuf_truncate(&sb, BOUNDARY_MAX); /* RFC 2046: at most 70 characters */
	return strbuf_detach(&sb);
}

static void header(struct compose *c)
{
	const struct dsn_notice *n = c->n;
	char *v, *mid = n->orig->message_id ? dsn_msgid_token(n->orig->message_id) : NULL;

	v = xasprintf("Mail Delivery System <MAILER-DAEMON@%s>", n->reporting_mta);
	dsn_field(&c->out, "From", v, false);
	free(v);
	v = strchr(n->to, '@') != NULL ? xasprintf("<%s>", n->to)
				       : xasprintf("<%s@%s>", n->to, n->reporting_mta);
	dsn_field(&c->out, "To", v, c->utf8);
	free(v);
	dsn_field(&c->out, "Subject", subject(n), false);
	dsn_field(&c->out, "Auto-Submitted", "auto-replied", false);
	if (mid != NULL) {
		dsn_field(&c->out, "In-Reply-To", mid, c->utf8);
		dsn_field(&c->out, "References", mid, c->utf8);
		free(mid);
	}
	dsn_outs(&c->out, "MIME-Version: 1.0\r\n");
	dsn_outf(&c->out,
		 "Content-Type: multipart/report; report-type=delivery-status;\r\n"
		 "\tboundary=\"%s\"\r\n",
		 c->boundary);
	dsn_outf(&c->out, "Content-Transfer-Encoding: %s\r\n\r\n", c->eightbit ? "8bit" : "7bit");
	dsn_outs(&c->out, "This is a MIME-encapsulated message.\r\n\r\n");
}

int dsn_compose(const struct dsn_notice *n, dsn_write_fn *write, void *ctx, char **error_r)
{
	struct compose c = {
	    .n = n,
	    .utf8 = (n->orig->flags & CLEANUP_FLAG_SMTPUTF8) != 0,
	    .eightbit = dsn_needs_8bit(n),
	};
	char *err = NULL;
	int ret;

	dsn_out_init(&c.out, write, ctx);
	c.boundary = n->boundary != NULL ? xstrdup(n->boundary) : make_boundary(n);
	header(&c);
	human_part(&c);
	message_fields(&c);
	for (size_t i = 0; i < n->count; i++)
		recipient_fields(&c, &n->entries[i]);
	ret = original_part(&c, &err);
	if (dsn_out_finish(&c.out, error_r) < 0) {
		ret = -1;
		free(err);
	} else if (ret < 0) {
		*error_r = err;
	}
	free(c.boundary);
	return ret;
}
