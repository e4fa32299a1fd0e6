/*
 * cleanup_message - the content of a message as it streams in: lines are
 * cut at LF (a CR before the LF belongs to the line ending; any other CR
 * is content), the header section goes through the header parser (limits,
 * hop count, what is there and what is missing), and every line is written
 * to the queue file as it comes, without holding the message in memory.
 * A refusal removes the queue file at once; the rest of the content is then
 * only counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup/cleanup.h"
#include "mail/header.h"
#include "mail/queue_file.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* Bytes of a header value shown in a log line. */
#define LOG_VALUE_MAX 100
/* Bytes of a Message-ID kept (the longest line RFC 5322 allows). */
#define MESSAGE_ID_MAX 998

/* log_reject - "QID: reject: WHAT from CLIENT; from=<S> to=<R> proto=P helo=<H>: CODE DSN TEXT". */
static void log_reject(const struct cleanup_msg *m, const char *what)
{
	const struct cleanup_env *env = m->env;
	char *sender = cleanup_safe_text(strbuf_str(&env->sender), 1024);
	char *rcpt = cleanup_safe_text(m->first_rcpt != NULL ? m->first_rcpt : "", 1024);
	char *client;

	if (env->client_addr.len > 0)
		client = xasprintf("%s[%s]",
				   env->client_name.len > 0 ? env->client_name.data : "unknown",
				   env->client_addr.data);
	else
		client = xstrdup("local");
	msg_info("%s: reject: %s from %s; from=<%s> to=<%s> proto=%s helo=<%s>: %d %s %s", m->id,
		 what, client, sender, rcpt, env->protocol.len > 0 ? env->protocol.data : "local",
		 strbuf_str(&env->helo), m->status, m->dsn, m->text);
	free(client);
	free(sender);
	free(rcpt);
}

void cleanup_refuse(struct cleanup_msg *m, int code, const char *dsn, const char *text,
		    const char *what)
{
	if (m->status != 0)
		return; /* the first refusal stands */
	m->status = code;
	snprintf(m->dsn, sizeof(m->dsn), "%s", dsn);
	m->text = xstrdup(text);
	if (what != NULL)
		log_reject(m, what);
	queue_writer_free(&m->w);
}

/* refuse_header - refuse because of a header field; the log shows its start. */
static void refuse_header(struct cleanup_msg *m, int code, const char *dsn, const char *text,
			  const char *field, size_t len)
{
	char *start = xstrndup(field, len < LOG_VALUE_MAX ? len : LOG_VALUE_MAX);
	char *safe = cleanup_safe_text(start, LOG_VALUE_MAX);
	char *what = xasprintf("header %s", safe);

	cleanup_refuse(m, code, dsn, text, what);
	free(what);
	free(safe);
	free(start);
}

/* on_field - each complete header field of the message. */
static void on_field(const struct header_field *f, void *ctx)
{
	struct cleanup_msg *m = ctx;
	size_t len;

	if (header_name_is(f, "Received")) {
		if (++m->hops >= m->conf->hopcount_limit)
			refuse_header(m, 554, "5.4.6", "too many hops", f->raw, f->raw_len);
	} else if (header_name_is(f, "Message-ID")) {
		if (!m->have_msgid) {
			m->have_msgid = 1;
			len = f->value_len;
			while (len > 0 && (f->value[len - 1] == ' ' || f->value[len - 1] == '\t'))
				len--;
			m->message_id =
			    xstrndup(f->value, len < MESSAGE_ID_MAX ? len : MESSAGE_ID_MAX);
		}
	} else if (header_name_is(f, "Date")) {
		m->have_date = 1;
	} else if (header_name_is(f, "From")) {
		m->have_from = 1;
	}
}

/* start_content - the first content: the M record and the Received: header. */
static void start_content(struct cleanup_msg *m)
{
	m->phase = PHASE_HEADER;
	m->hp = header_parser_create((size_t)m->conf->header_size_limit,
				     (size_t)m->conf->header_count_limit, on_field, m);
	queue_writer_content(m->w);
	cleanup_add_received(m);
}

/* end_header - the header section is over: add what is missing, log the Message-ID. */
static void end_header(struct cleanup_msg *m)
{
	char *safe;

	if (m->w == NULL)
		return;
	cleanup_add_missing(m);
	safe = cleanup_safe_text(m->message_id, 2 * LOG_VALUE_MAX);
	msg_info("%s: message-id=%s", m->id, safe);
	free(safe);
}

/* begin_body - after the header: the empty line between header and body, then the body. */
static void begin_body(struct cleanup_msg *m)
{
	m->phase = PHASE_BODY;
	if (m->w == NULL)
		return;
	queue_writer_line(m->w, "", 0, true);
	queue_writer_body(m->w);
}

/* header_line - a complete line of the header section. */
static void header_line(struct cleanup_msg *m, const char *p, size_t n)
{
	const char *field;
	size_t field_len;

	switch (header_parser_line(m->hp, p, n)) {
	case HEADER_MORE:
		if (m->w != NULL)
			queue_writer_line(m->w, p, n, true);
		return;
	case HEADER_END:
		end_header(m);
		begin_body(m);
		return;
	case HEADER_BODY:
		end_header(m);
		begin_body(m);
		if (m->w != NULL)
			queue_writer_line(m->w, p, n, true);
		return;
	case HEADER_TOO_LONG:
		/* a continuation line: show the field it continues */
		if ((field = header_parser_partial(m->hp, &field_len)) == NULL) {
			field = p;
			field_len = n;
		}
		refuse_header(m, 552, "5.3.4", "message header field too long", field, field_len);
		return;
	case HEADER_TOO_MANY:
	default:
		cleanup_refuse(m, 552, "5.3.4", "too many message header fields",
			       "header field count over the limit");
		return;
	}
}

/* end_line - a complete line (its LF removed): drop a CR before the LF, then process it. */
static void end_line(struct cleanup_msg *m, const char *p, size_t n)
{
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (m->phase == PHASE_BODY)
		queue_writer_line(m->w, p, n, true);
	else
		header_line(m, p, n);
}

/*
 * partial - the line buffer holds a line without its end yet. In the body,
 * long lines go out in pieces (keeping a last CR, which may be part of the
 * line ending); in the header, a line longer than a field may be is
 * refused, unless it is no header line at all: then the body begins.
 */
static void partial(struct cleanup_msg *m)
{
	struct strbuf *line = &m->line;
	size_t keep;

	if (m->phase == PHASE_HEADER) {
		if (line->len <= (size_t)m->conf->header_size_limit)
			return;
		if (header_field_name_len(line->data, line->len) > 0 ||
		    ((line->data[0] == ' ' || line->data[0] == '\t') &&
		     header_parser_in_field(m->hp))) {
			header_line(m, line->data, line->len); /* reports HEADER_TOO_LONG */
			return;
		}
		header_parser_end(m->hp);
		end_header(m);
		begin_body(m);
		if (m->w == NULL)
			return;
	}
	if (line->len > QUEUE_LINE_PIECE) {
		keep = line->data[line->len - 1] == '\r';
		queue_writer_line(m->w, line->data, line->len - keep, false);
		strbuf_consume(line, line->len - keep);
	}
}

/* take - split content into lines; a complete line in data is used where it is. */
static void take(struct cleanup_msg *m, const char *data, size_t len)
{
	const char *nl;
	size_t n;

	while (len > 0 && m->w != NULL) {
		nl = memchr(data, '\n', len);
		if (nl == NULL) {
			strbuf_append(&m->line, data, len);
			partial(m);
			return;
		}
		n = (size_t)(nl - data);
		if (m->line.len == 0) {
			end_line(m, data, n);
		} else {
			strbuf_append(&m->line, data, n);
			end_line(m, m->line.data, m->line.len);
			strbuf_reset(&m->line);
		}
		data += n + 1;
		len -= n + 1;
	}
}

void cleanup_msg_data(struct cleanup_msg *m, const char *data, size_t len)
{
	char *what;

	m->client_bytes += (long long)len;
	if (m->status == 0 && m->conf->message_size_limit > 0 &&
	    m->client_bytes > m->conf->message_size_limit) {
		what = xasprintf("message size over the limit of %lld bytes",
				 m->conf->message_size_limit);
		cleanup_refuse(m, 552, "5.3.4", "message size exceeds fixed limit", what);
		free(what);
	}
	if (m->w == NULL)
		return;
	if (m->phase == PHASE_ENVELOPE)
		start_content(m);
	take(m, data, len);
}

void cleanup_msg_content_end(struct cleanup_msg *m)
{
	if (m->w == NULL)
		return;
	if (m->phase == PHASE_ENVELOPE)
		start_content(m);
	if (m->line.len > 0) {
		end_line(m, m->line.data, m->line.len);
		strbuf_reset(&m->line);
	}
	if (m->w != NULL && m->phase == PHASE_HEADER && header_parser_end(m->hp) == HEADER_END)
		end_header(m);
}
