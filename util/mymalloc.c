/*
 * mymalloc - allocation that cannot fail: out of memory is an environment
 * error, reported with msg_fatal() so that master restarts the process.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/msg.h"
#include "util/mymalloc.h"

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		msg_fatal("out of memory allocating %zu bytes", size);
	return p;
}

void *xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	if (p == NULL)
		msg_fatal("out of memory allocating %zu x %zu bytes", count, size);
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		msg_fatal("out of memory reallocating to %zu bytes", size);
	return p;
}

void *xreallocarray(void *ptr, size_t count, size_t size)
{
	if (size != 0 && count > SIZE_MAX / size)
		msg_fatal("allocation overflow: %zu x %zu bytes", count, size);
	return xrealloc(ptr, count * size);
}

char *xstrdup(const char *str)
{
	return xmemdup(str, strlen(str) + 1);
}

char *xstrndup(const char *str, size_t len)
{
	size_t n = strnlen(str, len);
	char *p = xmalloc(n + 1);

	memcpy(p, str, n);
	p[n] = '\0';
	return p;
}

void *xmemdup(const void *data, size_t len)
{
	void *p = xmalloc(len);

	if (len > 0)
		memcpy(p, data, len);
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *p;

	if (vasprintf(&p, fmt, ap) < 0)
		msg_fatal("out of memory formatting a string");
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}
