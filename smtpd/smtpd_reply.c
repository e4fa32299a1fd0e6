/*
 * smtpd_reply - replies to the client (buffered; smtpd_io.c flushes them),
 * the error count with its growing delays, and the log line of a policy
 * rejection in the shape that Postfix log tools read:
 *
 *   NOQUEUE: reject: RCPT from host[addr]: 550 5.1.1 <u@d>: Recipient address
 *   rejected: User unknown; from=<s@x> to=<u@d> proto=ESMTP helo=<h>
 */
#include <stdlib.h>
#include <string.h>

#include "smtpd/smtpd.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* clean - no CR, LF or other control character may reach the client inside a reply. */
static void clean(struct strbuf *text)
{
	size_t i;

	for (i = 0; i < text->len; i++) {
		unsigned char c = (unsigned char)text->data[i];

		if (c < 0x20 || c == 0x7f)
			text->data[i] = '?';
	}
}

static int reply_code(const char *text)
{
	if (strlen(text) < 3 || text[0] < '2' || text[0] > '5' || text[1] < '0' || text[1] > '9' ||
	    text[2] < '0' || text[2] > '9')
		msg_panic("smtpd_reply: reply without a code: \"%s\"", text);
	return (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
}

/* count_error - a 4xx/5xx reply: beyond the soft limit, each one waits longer. */
static void count_error(struct smtpd_session *s)
{
	const struct smtpd_server *srv = s->srv;
	long long over, delay;

	s->errors++;
	over = s->errors - srv->soft_error_limit;
	if (over <= 0 || srv->error_sleep_ms <= 0)
		return;
	delay = srv->error_sleep_ms * over;
	if (delay > srv->timeout_ms)
		delay = srv->timeout_ms;
	smtpd_sleep(s, delay);
}

void smtpd_vreply(struct smtpd_session *s, const char *fmt, va_list ap)
{
	struct strbuf text = STRBUF_INIT;

	strbuf_vprintf(&text, fmt, ap);
	clean(&text);
	s->last_code = reply_code(text.data);
	if (s->last_code >= 400)
		count_error(s);
	if (msg_verbose())
		msg_debug("> %s: %s", s->namaddr, text.data);
	stream_write(s->stream, text.data, text.len);
	stream_write(s->stream, "\r\n", 2);
	strbuf_free(&text);
}

void smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtpd_vreply(s, fmt, ap);
	va_end(ap);
}

void smtpd_reply_lines(struct smtpd_session *s, int code, char *const *lines, size_t count)
{
	struct strbuf text = STRBUF_INIT;
	size_t i;

	if (count == 0 || code < 200 || code > 399)
		msg_panic("smtpd_reply_lines: %zu lines with code %d", count, code);
	for (i = 0; i < count; i++) {
		strbuf_reset(&text);
		strbuf_printf(&text, "%d%c%s", code, i + 1 < count ? '-' : ' ', lines[i]);
		clean(&text);
		if (msg_verbose())
			msg_debug("> %s: %s", s->namaddr, text.data);
		stream_write(s->stream, text.data, text.len);
		stream_write(s->stream, "\r\n", 2);
	}
	s->last_code = code;
	strbuf_free(&text);
}

void smtpd_reject(struct smtpd_session *s, const char *rcpt, const char *fmt, ...)
{
	struct strbuf text = STRBUF_INIT, log = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vprintf(&text, fmt, ap);
	va_end(ap);
	clean(&text);
	strbuf_printf(&log, "NOQUEUE: reject: %s from %s: %s;", smtp_verb_name(s->verb), s->namaddr,
		      text.data);
	if (s->txn.sender != NULL)
		strbuf_printf(&log, " from=<%s>", s->txn.sender);
	if (rcpt != NULL)
		strbuf_printf(&log, " to=<%s>", rcpt);
	strbuf_printf(&log, " proto=%s", s->esmtp ? "ESMTP" : "SMTP");
	if (s->helo != NULL)
		strbuf_printf(&log, " helo=<%s>", s->helo);
	msg_info("%s", log.data);
	smtpd_reply(s, "%s", text.data);
	strbuf_free(&text);
	strbuf_free(&log);
}
