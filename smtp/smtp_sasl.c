/*
 * smtp_sasl - SMTP AUTH (RFC 4954) as a client, with the PLAIN (RFC 4616)
 * and LOGIN mechanisms and credentials "user:password" from the
 * smtp_sasl_password_maps table, looked up by the next hop as written
 * ("[relay.example]:587"), then its host part ("relay.example"), then the
 * server's host name. A password goes only over TLS unless
 * smtp_sasl_plaintext_without_tls allows otherwise. A refused login defers
 * the mail (the administrator can fix the credentials) and the next server
 * is tried.
 */
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"
#include "util/base64.h"
#include "util/dict.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/stream.h"

/* lookup - the credentials for the session; 1 when found, 0 when not, -1 with *fail. */
static int lookup(struct smtp_agent *a, struct smtp_session *s, const char *nexthop,
		  struct strbuf *value, struct smtp_failure *fail)
{
	char *host = NULL, *err = NULL, *bracketed = NULL;
	const char *keys[4];
	bool mx, is_unix;
	int port, i, n = 0, ret = 0;

	keys[n++] = nexthop;
	if (smtp_nexthop_split(nexthop, a->lmtp, &host, &port, &mx, &is_unix) == 0 && !is_unix) {
		keys[n++] = host;
		if (nexthop[0] == '[')
			keys[n++] = bracketed = xasprintf("[%s]", host);
	}
	keys[n++] = s->host;
	for (i = 0; i < n && ret == 0; i++) {
		switch (dict_lookup(a->sasl_map, keys[i], value, &err)) {
		case DICT_FOUND:
			ret = 1;
			break;
		case DICT_NOTFOUND:
			break;
		default:
			smtp_failure_set(fail, 4, "4.3.0", "smtp_sasl_password_maps: %s", err);
			free(err);
			ret = -1;
			break;
		}
	}
	free(host);
	free(bracketed);
	return ret;
}

/* expect - send the line, read the reply; 0 with the reply in r, or -1 with *fail. */
static int expect(struct smtp_agent *a, struct smtp_session *s, const char *line,
		  struct smtp_reply *r, struct smtp_failure *fail)
{
	stream_puts(s->stream, line);
	stream_puts(s->stream, "\r\n");
	if (smtp_flush(s, a->helo_ms, "sending AUTH", fail) < 0 ||
	    smtp_read_reply(s, a->helo_ms, r, "receiving the AUTH reply", fail) < 0)
		return -1;
	return 0;
}

/* exchange - the AUTH dialogue of mech; the final reply in r. */
static int exchange(struct smtp_agent *a, struct smtp_session *s, const char *mech,
		    const char *user, const char *pass, struct smtp_reply *r,
		    struct smtp_failure *fail)
{
	struct strbuf line = STRBUF_INIT, plain = STRBUF_INIT;
	int ret = -1;

	if (strcmp(mech, "PLAIN") == 0) {
		strbuf_putc(&plain, 0);
		strbuf_puts(&plain, user);
		strbuf_putc(&plain, 0);
		strbuf_puts(&plain, pass);
		strbuf_puts(&line, "AUTH PLAIN ");
		base64_encode(&line, plain.data, plain.len);
		ret = expect(a, s, line.data, r, fail);
		if (ret == 0 && r->code == 334) /* an empty challenge after all: answer again */
			ret = expect(a, s, line.data + 11, r, fail);
	} else {
		ret = expect(a, s, "AUTH LOGIN", r, fail);
		if (ret == 0 && r->code == 334) {
			base64_encode(&line, user, strlen(user));
			ret = expect(a, s, line.data, r, fail);
		}
		if (ret == 0 && r->code == 334) {
			strbuf_reset(&line);
			base64_encode(&line, pass, strlen(pass));
			ret = expect(a, s, line.data, r, fail);
		}
	}
	if (line.data != NULL)
		explicit_bzero(line.data, line.len);
	if (plain.data != NULL)
		explicit_bzero(plain.data, plain.len);
	strbuf_free(&line);
	strbuf_free(&plain);
	return ret;
}

int smtp_sasl_auth(struct smtp_agent *a, struct smtp_session *s, const char *nexthop,
		   struct smtp_failure *fail)
{
	struct strbuf value = STRBUF_INIT;
	struct smtp_reply r;
	const char *mech;
	char *colon;
	int ret;

	if (a->sasl_map == NULL || !(s->ehlo.features & SMTP_FEAT_AUTH))
		return 1;
	if ((ret = lookup(a, s, nexthop, &value, fail)) <= 0) {
		strbuf_free(&value);
		return ret == 0 ? 1 : -1;
	}
	ret = -1;
	smtp_reply_init(&r);
	mech = smtp_ehlo_has_auth(&s->ehlo, "PLAIN")   ? "PLAIN"
	       : smtp_ehlo_has_auth(&s->ehlo, "LOGIN") ? "LOGIN"
						       : NULL;
	if ((colon = strchr(strbuf_str(&value), ':')) == NULL) {
		smtp_failure_set(fail, 4, "4.3.0",
				 "smtp_sasl_password_maps: the entry for %s is not user:password",
				 nexthop);
	} else if (mech == NULL) {
		smtp_failure_set(fail, 4, "4.7.0",
				 "SASL authentication failed: %s offers no mechanism in common "
				 "(PLAIN, LOGIN)",
				 s->relay);
	} else if (s->tls == NULL && !a->sasl_plaintext_ok) {
		smtp_failure_set(fail, 4, "4.7.0",
				 "SASL authentication to %s needs TLS "
				 "(smtp_sasl_plaintext_without_tls = no)",
				 s->relay);
	} else {
		*colon = '\0';
		if (exchange(a, s, mech, value.data, colon + 1, &r, fail) < 0) {
			/* fail is set */
		} else if (r.code == 235) {
			msg_info("%s: authenticated with %s as %s", s->relay, mech, value.data);
			ret = 0;
		} else {
			smtp_failure_set(fail, 4, r.code >= 500 ? "4.7.8" : "4.7.0",
					 "SASL authentication failed; server %s said: %s", s->relay,
					 strbuf_str(&r.text));
			fail->cmd = xstrdup("AUTH");
		}
	}
	explicit_bzero(value.data, value.len);
	strbuf_free(&value);
	smtp_reply_free(&r);
	return ret;
}
