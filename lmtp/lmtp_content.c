/*
 * lmtp_content - one message's content in memory or in an unlinked
 * temporary file, and the queue ID in its topmost Received: field (see
 * lmtp_content.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lmtp/lmtp_content.h"
#include "util/mymalloc.h"

void lmtp_content_init(struct lmtp_content *c, const char *spill_dir, size_t memory_limit,
		       uint64_t size_limit)
{
	memset(c, 0, sizeof(*c));
	c->spill_dir = xstrdup(spill_dir);
	c->memory_limit = memory_limit;
	c->size_limit = size_limit;
	c->fd = -1;
}

void lmtp_content_free(struct lmtp_content *c)
{
	if (c->fd >= 0)
		(void)close(c->fd);
	c->fd = -1;
	strbuf_free(&c->mem);
	strbuf_free(&c->head);
	XFREE(c->spill_dir);
	XFREE(c->error);
}

/* open_temp - an unlinked file in dir: O_TMPFILE when the file system has it. */
static int open_temp(const char *dir, char **error_r)
{
	char *path;
	int fd = -1;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
		*error_r = xasprintf("create a temporary file in %s: %s", dir, strerror(errno));
		return -1;
	}
#endif
	path = xasprintf("%s/.lmtp-spool-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		*error_r = xasprintf("create a temporary file %s: %s", path, strerror(errno));
	else if (unlink(path) < 0)
		*error_r = xasprintf("unlink temporary file %s: %s", path, strerror(errno));
	if (fd >= 0 && *error_r != NULL) {
		(void)close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

static int write_all(int fd, const char *p, size_t len, char **error_r)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = xasprintf("write to temporary file: %s",
					     n < 0 ? strerror(errno) : "nothing written");
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* spill - move what memory holds to a new temporary file. */
static int spill(struct lmtp_content *c, char **error_r)
{
	size_t head = c->mem.len < LMTP_CONTENT_HEAD_MAX ? c->mem.len : LMTP_CONTENT_HEAD_MAX;

	if ((c->fd = open_temp(c->spill_dir, error_r)) < 0)
		return -1;
	strbuf_append(&c->head, c->mem.data, head);
	if (write_all(c->fd, c->mem.data, c->mem.len, error_r) < 0)
		return -1;
	strbuf_free(&c->mem);
	return 0;
}

/* keep - append normalised bytes to memory or to the file. */
static void keep(struct lmtp_content *c, const char *p, size_t n)
{
	char *error = NULL;

	if (c->error != NULL || n == 0)
		return;
	if (c->fd < 0 && c->mem.len + n <= c->memory_limit) {
		strbuf_append(&c->mem, p, n);
		c->kept += n;
		return;
	}
	if (c->fd < 0 && spill(c, &error) < 0) {
		c->error = error;
		return;
	}
	if (c->head.len < LMTP_CONTENT_HEAD_MAX) {
		size_t room = LMTP_CONTENT_HEAD_MAX - c->head.len;

		strbuf_append(&c->head, p, n < room ? n : room);
	}
	if (write_all(c->fd, p, n, &error) < 0) {
		c->error = error;
		return;
	}
	c->kept += n;
}

/* emit - count normalised bytes; keep them while the message stays within its limit. */
static void emit(struct lmtp_content *c, struct strbuf *out, const char *p, size_t n)
{
	c->size += n;
	if (c->size <= c->size_limit)
		strbuf_append(out, p, n);
}

void lmtp_content_write(struct lmtp_content *c, const void *data, size_t len)
{
	const char *p = data, *end = p + len, *q;
	struct strbuf out = STRBUF_INIT;

	strbuf_reserve(&out, len + len / 8 + 2);
	while (p < end) {
		if (c->pending_cr) {
			c->pending_cr = 0;
			emit(c, &out, "\r\n", 2);
			if (*p == '\n') {
				p++;
				continue;
			}
		}
		for (q = p; q < end && *q != '\r' && *q != '\n'; q++)
			;
		emit(c, &out, p, (size_t)(q - p));
		if (q == end)
			break;
		if (*q == '\r')
			c->pending_cr = 1;
		else
			emit(c, &out, "\r\n", 2);
		p = q + 1;
	}
	keep(c, out.data, out.len);
	strbuf_free(&out);
}

void lmtp_content_end(struct lmtp_content *c)
{
	struct strbuf out = STRBUF_INIT;

	if (c->pending_cr) {
		c->pending_cr = 0;
		emit(c, &out, "\r\n", 2);
		keep(c, out.data, out.len);
	}
	strbuf_free(&out);
}

int lmtp_content_too_big(const struct lmtp_content *c)
{
	return c->size > c->size_limit;
}

long long lmtp_content_read(struct lmtp_content *c, uint64_t offset, void *buf, size_t len,
			    char **error_r)
{
	ssize_t n;

	if (c->error != NULL) {
		*error_r = xstrdup(c->error);
		return -1;
	}
	if (offset >= c->kept)
		return 0;
	if (len > c->kept - offset)
		len = (size_t)(c->kept - offset);
	if (c->fd < 0) {
		memcpy(buf, c->mem.data + offset, len);
		return (long long)len;
	}
	do {
		n = pread(c->fd, buf, len, (off_t)offset);
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		*error_r = xasprintf("read temporary file: %s",
				     n < 0 ? strerror(errno) : "unexpected end of file");
		return -1;
	}
	return n;
}

const char *lmtp_content_head(const struct lmtp_content *c, size_t *len_r)
{
	const struct strbuf *sb = c->fd >= 0 ? &c->head : &c->mem;

	*len_r = sb->len < LMTP_CONTENT_HEAD_MAX ? sb->len : LMTP_CONTENT_HEAD_MAX;
	return strbuf_str(sb);
}

/* ---------------------------------------------------------------- Received: */

/* line_end - the end of the line at p (before its CR LF or LF), and *next the line after. */
static const char *line_end(const char *p, const char *end, const char **next)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	if (lf == NULL) {
		*next = end;
		return end;
	}
	*next = lf + 1;
	return lf > p && lf[-1] == '\r' ? lf - 1 : lf;
}

/* topmost_received - the unfolded value of the first Received: field, or NULL. */
static char *topmost_received(const char *head, size_t len)
{
	const char *p = head, *end = head + len, *e, *next = end;
	struct strbuf value = STRBUF_INIT;
	int found = 0;

	while (p < end) {
		e = line_end(p, end, &next);
		if (e == p)
			break; /* the empty line: the header ends */
		if (found) {
			if (*p != ' ' && *p != '\t')
				break;
			strbuf_append(&value, p, (size_t)(e - p));
		} else if (*p != ' ' && *p != '\t') {
			const char *colon = memchr(p, ':', (size_t)(e - p));

			if (colon == NULL)
				break; /* not a header field: the body began */
			if (colon - p == 8 && strncasecmp(p, "Received", 8) == 0) {
				found = 1;
				strbuf_append(&value, colon + 1, (size_t)(e - colon - 1));
			}
		}
		p = next;
	}
	if (!found) {
		strbuf_free(&value);
		return NULL;
	}
	return value.data != NULL ? strbuf_detach(&value) : xstrdup("");
}

/* skip_cfws - white space, comments (nested, with quoted pairs) and quoted strings. */
static const char *skip_cfws(const char *p)
{
	int depth;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '(') {
			for (depth = 0; *p != '\0'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				else if (*p == '(')
					depth++;
				else if (*p == ')' && --depth == 0)
					break;
			}
			if (*p == ')')
				p++;
		} else if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
			}
			if (*p == '"')
				p++;
		} else {
			return p;
		}
	}
}

/* word_len - the length of the word at p: up to white space, '(', '"' or ';'. */
static size_t word_len(const char *p)
{
	return strcspn(p, " \t(\";");
}

static int id_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > LMTP_ID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = p[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_'))
			return 0;
	}
	return 1;
}

char *lmtp_received_id(const char *head, size_t len)
{
	char *value = topmost_received(head, len), *result = NULL;
	const char *p, *v;
	size_t n, m;

	if (value == NULL)
		return NULL;
	/* clauses are "keyword value" pairs: from X by Y with Z id Q for R */
	for (p = skip_cfws(value); *p != '\0' && *p != ';'; p = skip_cfws(v + m)) {
		n = word_len(p);
		v = skip_cfws(p + n);
		m = word_len(v);
		if (n == 2 && strncasecmp(p, "id", 2) == 0) {
			if (id_ok(v, m))
				result = xstrndup(v, m);
			break;
		}
		if (n == 0 || m == 0)
			break; /* a stray character where a word should be */
	}
	free(value);
	return result;
}
