/*
 * mymalloc - allocation that cannot fail.
 *
 * Every function here either returns usable memory or ends the process with
 * msg_fatal(): callers never check for NULL.
 */
#ifndef TERN_MYMALLOC_H
#define TERN_MYMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
/* xreallocarray - resize to count * size bytes, ending the process on overflow. */
void *xreallocarray(void *ptr, size_t count, size_t size);
char *xstrdup(const char *str);
char *xstrndup(const char *str, size_t len);
void *xmemdup(const void *data, size_t len);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* xfree_ptr - free *ptr and set it to NULL. */
#define XFREE(p)                                                                                   \
	do {                                                                                       \
		free(p);                                                                           \
		(p) = NULL;                                                                        \
	} while (0)

#endif
