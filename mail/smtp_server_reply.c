/*
 * smtp_server_reply - replies to a client (buffered; smtp_server_io.c
 * flushes them), the error count with its growing delays, the command
 * loop's step and the disconnect line. See smtp_server_reply.h.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/smtp_server_reply.h"
#include "util/msg.h"
#include "util/mymalloc.h"

void smtp_server_clean(struct strbuf *text)
{
	size_t i;

	for (i = 0; i < text->len; i++) {
		unsigned char c = (unsigned char)text->data[i];

		if (c < 0x20 || c == 0x7f)
			text->data[i] = '?';
	}
}

char *smtp_server_printable(const struct strbuf *line)
{
	size_t n = line->len < 100 ? line->len : 100, i;
	char *copy = xstrndup(strbuf_str(line), n);

	for (i = 0; i < n; i++) {
		if ((unsigned char)copy[i] < 0x20 || copy[i] == 0x7f)
			copy[i] = '?';
	}
	return copy;
}

static int reply_code(const char *text)
{
	if (strlen(text) < 3 || text[0] < '2' || text[0] > '5' || text[1] < '0' || text[1] > '9' ||
	    text[2] < '0' || text[2] > '9')
		msg_panic("smtp_server_reply: reply without a code: \"%s\"", text);
	return (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
}

/* count_error - an error: beyond the soft limit, each one waits longer. */
static void count_error(struct smtp_server_conn *c)
{
	long long over, delay;

	c->errors++;
	over = c->errors - c->soft_error_limit;
	if (over <= 0 || c->error_sleep_ms <= 0)
		return;
	delay = c->error_sleep_ms * over;
	if (delay > c->timeout_ms)
		delay = c->timeout_ms;
	smtp_server_sleep(c, delay);
}

/* send_line - a cleaned reply line and its CR LF, logged with -v. */
static void send_line(struct smtp_server_conn *c, const struct strbuf *text)
{
	if (msg_verbose())
		msg_debug("> %s: %s", c->peer, text->data);
	stream_write(c->stream, text->data, text->len);
	stream_write(c->stream, "\r\n", 2);
}

void smtp_server_vreply(struct smtp_server_conn *c, int count, const char *fmt, va_list ap)
{
	struct strbuf text = STRBUF_INIT;

	strbuf_vprintf(&text, fmt, ap);
	smtp_server_clean(&text);
	c->last_code = reply_code(text.data);
	if (count && c->last_code >= 400)
		count_error(c);
	send_line(c, &text);
	strbuf_free(&text);
}

void smtp_server_reply(struct smtp_server_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_server_vreply(c, 1, fmt, ap);
	va_end(ap);
}

void smtp_server_reply_lines(struct smtp_server_conn *c, int code, char *const *lines, size_t count)
{
	struct strbuf text = STRBUF_INIT;
	size_t i;

	if (count == 0 || code < 200 || code > 399)
		msg_panic("smtp_server_reply_lines: %zu lines with code %d", count, code);
	for (i = 0; i < count; i++) {
		strbuf_reset(&text);
		strbuf_printf(&text, "%d%c%s", code, i + 1 < count ? '-' : ' ', lines[i]);
		smtp_server_clean(&text);
		send_line(c, &text);
	}
	c->last_code = code;
	strbuf_free(&text);
}

int smtp_server_next_line(struct smtp_server_conn *c, struct strbuf *line,
			  long long hard_error_limit, const char *hostname)
{
	const char *id = c->id != NULL ? c->id : "", *sep = c->id != NULL ? ": " : "";
	enum stream_status st;

	for (;;) {
		if (c->errors >= hard_error_limit) {
			msg_info("%s%stoo many errors after %s from %s", id, sep,
				 smtp_verb_name(c->verb), c->peer);
			smtp_server_reply(c, "421 4.7.0 %s Error: too many errors", hostname);
			return -1;
		}
		c->last_code = 0;
		st = smtp_server_read_line(c, line);
		if (st == STREAM_TOO_LONG) {
			c->verb = SMTP_CMD_UNKNOWN;
			c->stat_total[SMTP_CMD_UNKNOWN]++;
			smtp_server_reply(c, "500 5.5.2 Error: line too long");
			continue;
		}
		if (st != STREAM_OK) {
			smtp_server_lost(c, st);
			if (st == STREAM_TIMEOUT)
				smtp_server_reply(c, "421 4.4.2 %s Error: timeout exceeded",
						  hostname);
			return -1;
		}
		return 0;
	}
}

void smtp_server_log_disconnect(const struct smtp_server_conn *c,
				const struct smtp_server_stat *order, size_t count)
{
	struct strbuf line = STRBUF_INIT;
	unsigned long total = 0, ok = 0, t, o;
	size_t i;

	if (c->id != NULL)
		strbuf_printf(&line, "%s: ", c->id);
	strbuf_printf(&line, "disconnect from %s", c->peer);
	for (i = 0; i < count; i++) {
		t = c->stat_total[order[i].verb];
		o = c->stat_ok[order[i].verb];
		if (t == 0)
			continue;
		total += t;
		ok += o;
		if (o == t)
			strbuf_printf(&line, " %s=%lu", order[i].name, t);
		else
			strbuf_printf(&line, " %s=%lu/%lu", order[i].name, o, t);
	}
	if (ok == total)
		strbuf_printf(&line, " commands=%lu", total);
	else
		strbuf_printf(&line, " commands=%lu/%lu", ok, total);
	msg_info("%s", line.data);
	strbuf_free(&line);
}
