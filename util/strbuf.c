/*
 * strbuf - growable strings and byte buffers, always NUL-terminated.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

void strbuf_init(struct strbuf *sb, size_t hint)
{
	sb->data = NULL;
	sb->len = 0;
	sb->size = 0;
	if (hint > 0)
		strbuf_reserve(sb, hint);
}

void strbuf_free(struct strbuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->size = 0;
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->data != NULL)
		sb->data[0] = '\0';
}

void strbuf_reserve(struct strbuf *sb, size_t extra)
{
	size_t need, size;

	if (extra > SIZE_MAX - sb->len - 1)
		msg_fatal("strbuf_reserve: size overflow");
	need = sb->len + extra + 1;
	if (need <= sb->size)
		return;
	size = sb->size ? sb->size : 64;
	while (size < need)
		size = size > SIZE_MAX / 2 ? need : size * 2;
	sb->data = xrealloc(sb->data, size);
	sb->size = size;
	if (sb->len == 0)
		sb->data[0] = '\0';
}

void strbuf_append(struct strbuf *sb, const void *data, size_t len)
{
	strbuf_reserve(sb, len);
	if (len > 0)
		memcpy(sb->data + sb->len, data, len);
	sb->len += len;
	sb->data[sb->len] = '\0';
}

void strbuf_puts(struct strbuf *sb, const char *str)
{
	strbuf_append(sb, str, strlen(str));
}

void strbuf_putc(struct strbuf *sb, int ch)
{
	char c = (char)ch;

	strbuf_append(sb, &c, 1);
}

void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	strbuf_reserve(sb, 64);
	n = vsnprintf(sb->data + sb->len, sb->size - sb->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		msg_panic("strbuf_vprintf: bad format \"%s\"", fmt);
	if ((size_t)n >= sb->size - sb->len) {
		strbuf_reserve(sb, (size_t)n);
		va_copy(ap2, ap);
		n = vsnprintf(sb->data + sb->len, sb->size - sb->len, fmt, ap2);
		va_end(ap2);
		if (n < 0)
			msg_panic("strbuf_vprintf: bad format \"%s\"", fmt);
	}
	sb->len += (size_t)n;
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vprintf(sb, fmt, ap);
	va_end(ap);
}

void strbuf_truncate(struct strbuf *sb, size_t len)
{
	if (len < sb->len) {
		sb->len = len;
		sb->data[len] = '\0';
	}
}

void strbuf_consume(struct strbuf *sb, size_t len)
{
	if (len >= sb->len) {
		strbuf_reset(sb);
		return;
	}
	memmove(sb->data, sb->data + len, sb->len - len);
	sb->len -= len;
	sb->data[sb->len] = '\0';
}

void strbuf_set(struct strbuf *sb, const char *str)
{
	strbuf_reset(sb);
	strbuf_puts(sb, str);
}

const char *strbuf_str(const struct strbuf *sb)
{
	return sb->data != NULL ? sb->data : "";
}

char *strbuf_detach(struct strbuf *sb)
{
	char *p;

	if (sb->data == NULL)
		return xstrdup("");
	p = sb->data;
	sb->data = NULL;
	sb->len = sb->size = 0;
	return p;
}
