/*
 * lmtp_reply - replies to the client (buffered; lmtp_io.c flushes them)
 * and the error count with its growing delays. Only protocol errors count
 * (bad syntax, commands out of order, unknown commands): a refused or
 * deferred recipient says nothing bad of an MTA that passes it on.
 */
#include <stdlib.h>
#include <string.h>

#include "lmtp/lmtp.h"
#include "util/msg.h"

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
		msg_panic("lmtp_reply: reply without a code: \"%s\"", text);
	return (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
}

/* count_error - a protocol error: beyond the soft limit, each one waits longer. */
static void count_error(struct lmtp_session *s)
{
	const struct lmtp_server *srv = s->srv;
	long long over, delay;

	s->errors++;
	over = s->errors - srv->soft_error_limit;
	if (over <= 0 || srv->error_sleep_ms <= 0)
		return;
	delay = srv->error_sleep_ms * over;
	if (delay > srv->timeout_ms)
		delay = srv->timeout_ms;
	lmtp_sleep(s, delay);
}

static void vreply(struct lmtp_session *s, int count, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void vreply(struct lmtp_session *s, int count, const char *fmt, va_list ap)
{
	struct strbuf text = STRBUF_INIT;

	strbuf_vprintf(&text, fmt, ap);
	clean(&text);
	s->last_code = reply_code(text.data);
	if (count && s->last_code >= 400)
		count_error(s);
	if (msg_verbose())
		msg_debug("> %s: %s", s->peer, text.data);
	stream_write(s->stream, text.data, text.len);
	stream_write(s->stream, "\r\n", 2);
	strbuf_free(&text);
}

void lmtp_reply(struct lmtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(s, 1, fmt, ap);
	va_end(ap);
}

void lmtp_reply_outcome(struct lmtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(s, 0, fmt, ap);
	va_end(ap);
}

void lmtp_reply_lines(struct lmtp_session *s, int code, char *const *lines, size_t count)
{
	struct strbuf text = STRBUF_INIT;
	size_t i;

	if (count == 0 || code < 200 || code > 399)
		msg_panic("lmtp_reply_lines: %zu lines with code %d", count, code);
	for (i = 0; i < count; i++) {
		strbuf_reset(&text);
		strbuf_printf(&text, "%d%c%s", code, i + 1 < count ? '-' : ' ', lines[i]);
		clean(&text);
		if (msg_verbose())
			msg_debug("> %s: %s", s->peer, text.data);
		stream_write(s->stream, text.data, text.len);
		stream_write(s->stream, "\r\n", 2);
	}
	s->last_code = code;
	strbuf_free(&text);
}
