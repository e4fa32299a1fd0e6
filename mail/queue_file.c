/*
 * queue_file - encoding of queue file records and of the data of the
 * Z, R and A records (see queue_file.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/queue_file.h"
#include "util/msg.h"
#include "util/mymalloc.h"

void queue_rec_put(struct strbuf *out, int type, const void *data, size_t len)
{
	unsigned char head[1 + QUEUE_LEN_BYTES];
	size_t n = 1, v = len;

	if (len > QUEUE_REC_MAX)
		msg_panic("queue_rec_put: record of %zu bytes", len);
	head[0] = (unsigned char)type;
	do {
		head[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			head[n] |= 0x80;
		n++;
	} while (v != 0);
	strbuf_append(out, head, n);
	if (len > 0)
		strbuf_append(out, data, len);
}

void queue_sizes_format(char buf[QUEUE_SIZES_LEN + 1], const struct queue_sizes *s)
{
	int n = snprintf(buf, QUEUE_SIZES_LEN + 1, "%015lld %015lld %015lld %015lld %010lld",
			 s->size, s->content_offset, s->body_offset, s->extracted_offset, s->nrcpt);

	if (n != QUEUE_SIZES_LEN)
		msg_panic("queue_sizes_format: %d bytes", n);
}

/* fixed_number - width decimal digits at p; 0, or -1 when not all digits. */
static int fixed_number(const char *p, size_t width, long long *value_r)
{
	long long v = 0;
	size_t i;

	for (i = 0; i < width; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*value_r = v;
	return 0;
}

int queue_sizes_parse(const char *data, size_t len, struct queue_sizes *s)
{
	long long *fields[5] = {&s->size, &s->content_offset, &s->body_offset, &s->extracted_offset,
				&s->nrcpt};
	size_t i, at = 0, width;

	if (len != QUEUE_SIZES_LEN)
		return -1;
	for (i = 0; i < 5; i++) {
		width = i < 4 ? 15 : 10;
		if (fixed_number(data + at, width, fields[i]) < 0)
			return -1;
		at += width;
		if (i < 4 && data[at++] != ' ')
			return -1;
	}
	return 0;
}

void queue_rcpt_format(struct strbuf *out, const char *address, const char *orcpt, unsigned notify)
{
	strbuf_printf(out, "%u", notify);
	strbuf_putc(out, '\0');
	if (orcpt != NULL)
		strbuf_puts(out, orcpt);
	strbuf_putc(out, '\0');
	strbuf_puts(out, address);
}

int queue_rcpt_parse(const char *data, size_t len, struct queue_rcpt *rcpt, char **error_r)
{
	const char *end = data + len, *orcpt, *addr;
	unsigned long notify = 0;
	const char *p;

	for (p = data; p < end && *p >= '0' && *p <= '9'; p++) {
		notify = notify * 10 + (unsigned long)(*p - '0');
		if (notify > 0xffff)
			break;
	}
	if (p == data || p == end || *p != '\0' || notify > 0xffff ||
	    (data[0] == '0' && p - data > 1)) {
		*error_r = xstrdup("recipient record: bad NOTIFY field");
		return -1;
	}
	orcpt = p + 1;
	p = memchr(orcpt, '\0', (size_t)(end - orcpt));
	if (p == NULL) {
		*error_r = xstrdup("recipient record: no address field");
		return -1;
	}
	addr = p + 1;
	if (addr >= end || memchr(addr, '\0', (size_t)(end - addr)) != NULL) {
		*error_r = xstrdup("recipient record: empty or malformed address");
		return -1;
	}
	rcpt->address = addr;
	rcpt->orcpt = orcpt;
	rcpt->notify = (unsigned)notify;
	return 0;
}

int queue_attr_split(const char *data, size_t len, size_t *name_len_r, const char **value_r)
{
	size_t i;

	for (i = 0; i < len && data[i] != '='; i++) {
		char c = data[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return -1;
	}
	if (i == 0 || i == len || memchr(data, '\0', len) != NULL)
		return -1;
	*name_len_r = i;
	*value_r = data + i + 1;
	return 0;
}
