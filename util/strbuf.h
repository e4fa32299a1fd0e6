/*
 * strbuf - growable strings and byte buffers.
 *
 * The same type serves text and binary data: len counts the bytes in use and
 * data[len] is always a NUL byte (data may hold NULs of its own). Growth never
 * fails (see mymalloc.h). A zeroed struct strbuf is an empty, valid buffer.
 */
#ifndef TERN_STRBUF_H
#define TERN_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *data;  /* NULL until the first append */
	size_t len;  /* bytes in use, excluding the trailing NUL */
	size_t size; /* bytes allocated */
};

#define STRBUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void strbuf_init(struct strbuf *sb, size_t hint);
void strbuf_free(struct strbuf *sb);
/* strbuf_reset - empty the buffer, keeping its memory. */
void strbuf_reset(struct strbuf *sb);
/* strbuf_reserve - make room for at least extra more bytes (plus the NUL). */
void strbuf_reserve(struct strbuf *sb, size_t extra);
void strbuf_append(struct strbuf *sb, const void *data, size_t len);
void strbuf_puts(struct strbuf *sb, const char *str);
void strbuf_putc(struct strbuf *sb, int ch);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* strbuf_truncate - shorten to len bytes (no-op when already shorter). */
void strbuf_truncate(struct strbuf *sb, size_t len);
/* strbuf_consume - drop the first len bytes, moving the rest to the front. */
void strbuf_consume(struct strbuf *sb, size_t len);
/* strbuf_set - replace the contents with str. */
void strbuf_set(struct strbuf *sb, const char *str);
/* strbuf_str - the contents as a C string; "" for a buffer never written. */
const char *strbuf_str(const struct strbuf *sb);
/* strbuf_detach - hand over the malloc'd string and leave sb empty. */
char *strbuf_detach(struct strbuf *sb);

#endif
