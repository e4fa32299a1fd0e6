/*
 * store_blob - message files: written under tmp/ while the MIME parser
 * reads the same bytes, then fsync'd and renamed into blobs/xx/ (the
 * directory fsync'd) before the index refers to them; opened for reading.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail/mime.h"
#include "store/store_impl.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/safe_file.h"

/* Bytes gathered before a write(2). */
#define BLOB_BUFFER 65536
/* Attempts at a name that is not taken. */
#define BLOB_NAME_TRIES 16

struct store_blob {
	struct store *store;
	int fd;
	int64_t id;
	char *tmp_name; /* "tmp/<name>", relative to the store */
	struct strbuf pending;
	uint64_t size;
	struct mime_parser *parser;
	struct store_blob_text text;
	char *error; /* a write failed: the blob cannot be appended */
};

int64_t store_blob_new_id(void)
{
	uint32_t rnd;

	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		rnd = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 12);
	}
	/* seconds (32 bits) above 31 random bits: positive, and roughly in order of arrival */
	return (int64_t)((((uint64_t)time(NULL) & 0xffffffffu) << 31) | (rnd & 0x7fffffffu));
}

void store_blob_name(int64_t id, char name[STORE_BLOB_NAME_LEN + 1])
{
	snprintf(name, STORE_BLOB_NAME_LEN + 1, "%016llx", (unsigned long long)id);
}

int64_t store_blob_parse(const char *name)
{
	uint64_t v = 0;
	size_t i;

	if (name == NULL || strlen(name) != STORE_BLOB_NAME_LEN)
		return -1;
	for (i = 0; i < STORE_BLOB_NAME_LEN; i++) {
		char c = name[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -1;
	}
	if (v == 0 || v > (uint64_t)INT64_MAX)
		return -1;
	return (int64_t)v;
}

char *store_blob_relpath(int64_t id)
{
	char name[STORE_BLOB_NAME_LEN + 1];

	store_blob_name(id, name);
	return xasprintf("blobs/%s/%s", name + STORE_BLOB_NAME_LEN - 2, name);
}

/* blob_text - the MIME parser's text for the full-text index. */
static void blob_text(enum mime_text_kind kind, const char *text, size_t len, void *ctx)
{
	struct store_blob_text *t = ctx;
	struct strbuf *sb = kind == MIME_TEXT_HEADER ? &t->header : &t->body;

	/* Keep the words of separate fields and parts apart. */
	if (sb->len > 0 && (kind == MIME_TEXT_HEADER || t->last_kind != (int)kind) &&
	    sb->data[sb->len - 1] != '\n')
		strbuf_putc(sb, '\n');
	strbuf_append(sb, text, len);
	t->last_kind = (int)kind;
}

/* text_parser - a MIME parser that gathers the text to index into t. */
static struct mime_parser *text_parser(struct store *s, struct store_blob_text *t)
{
	struct mime_options mopts;

	memset(t, 0, sizeof(*t));
	t->last_kind = -1;
	memset(&mopts, 0, sizeof(mopts));
	mopts.text = blob_text;
	mopts.text_ctx = t;
	mopts.text_limit = s->opts.fts_text_limit;
	return mime_parser_create(&mopts);
}

void store_blob_text_free(struct store_blob_text *t)
{
	strbuf_free(&t->header);
	strbuf_free(&t->body);
}

int store_blob_read_text(struct store *s, int64_t id, struct store_blob_text *t, char **error_r)
{
	struct mime_parser *parser = text_parser(s, t);
	struct mime_message *msg;
	char *rel = store_blob_relpath(id), *buf = xmalloc(BLOB_BUFFER);
	ssize_t n;
	int fd, ret = 0;

	fd = openat(s->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int saved = errno;

		ret = store_err(error_r, saved == ENOENT ? STORE_ERR_NOTFOUND : STORE_ERR_TEMP,
				"%s/%s: %s", s->path, rel, strerror(saved));
	} else {
		while ((n = read(fd, buf, BLOB_BUFFER)) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				ret = store_err(error_r, STORE_ERR_TEMP, "%s/%s: read: %s", s->path,
						rel, strerror(errno));
				break;
			}
			mime_parser_feed(parser, buf, (size_t)n);
		}
		close(fd);
	}
	msg = mime_parser_finish(&parser);
	mime_message_free(&msg);
	free(buf);
	free(rel);
	if (ret < 0)
		store_blob_text_free(t);
	return ret;
}

int store_blob_create(struct store *store, struct store_blob **blob_r, char **error_r)
{
	struct store_blob *b;
	char name[STORE_BLOB_NAME_LEN + 1];
	int i, fd = -1;

	*blob_r = NULL;
	b = xcalloc(1, sizeof(*b));
	for (i = 0; i < BLOB_NAME_TRIES && fd < 0; i++) {
		b->id = store_blob_new_id();
		store_blob_name(b->id, name);
		free(b->tmp_name);
		b->tmp_name = xasprintf("tmp/%s", name);
		fd = openat(store->dirfd, b->tmp_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		int saved = errno;

		free(b->tmp_name);
		free(b);
		return store_err(error_r, STORE_ERR_TEMP, "%s/tmp: create: %s", store->path,
				 strerror(saved));
	}
	if (fchmod(fd, 0600) < 0) {
		int saved = errno;

		unlinkat(store->dirfd, b->tmp_name, 0);
		close(fd);
		free(b->tmp_name);
		free(b);
		return store_err(error_r, STORE_ERR_TEMP, "%s/tmp: chmod: %s", store->path,
				 strerror(saved));
	}
	b->store = store;
	b->fd = fd;
	b->parser = text_parser(store, &b->text);
	*blob_r = b;
	return 0;
}

/* write_all - len bytes to fd; 0 or -1 with errno. */
static int write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* blob_flush - write what is gathered; on failure the blob keeps the error. */
static int blob_flush(struct store_blob *b, char **error_r)
{
	if (b->error == NULL && b->pending.len > 0 &&
	    write_all(b->fd, b->pending.data, b->pending.len) < 0)
		b->error =
		    xasprintf("%s/%s: write: %s", b->store->path, b->tmp_name, strerror(errno));
	strbuf_reset(&b->pending);
	if (b->error != NULL) {
		*error_r = xstrdup(b->error);
		return STORE_ERR_TEMP;
	}
	return 0;
}

int store_blob_write(struct store_blob *blob, const void *data, size_t len, char **error_r)
{
	if (blob->error != NULL) {
		*error_r = xstrdup(blob->error);
		return STORE_ERR_TEMP;
	}
	mime_parser_feed(blob->parser, data, len);
	blob->size += len;
	if (blob->pending.len + len <= BLOB_BUFFER) {
		strbuf_append(&blob->pending, data, len);
		return 0;
	}
	if (blob_flush(blob, error_r) < 0)
		return STORE_ERR_TEMP;
	if (len < BLOB_BUFFER) {
		strbuf_append(&blob->pending, data, len);
		return 0;
	}
	if (write_all(blob->fd, data, len) < 0) {
		blob->error = xasprintf("%s/%s: write: %s", blob->store->path, blob->tmp_name,
					strerror(errno));
		*error_r = xstrdup(blob->error);
		return STORE_ERR_TEMP;
	}
	return 0;
}

/* blob_free - the blob's memory and descriptor (not its files). */
static void blob_free(struct store_blob *b)
{
	struct mime_message *msg;

	if (b->fd >= 0)
		close(b->fd);
	if (b->parser != NULL) {
		msg = mime_parser_finish(&b->parser);
		mime_message_free(&msg);
	}
	strbuf_free(&b->pending);
	store_blob_text_free(&b->text);
	free(b->tmp_name);
	free(b->error);
	free(b);
}

void store_blob_discard(struct store_blob **blob)
{
	struct store_blob *b = *blob;

	if (b == NULL)
		return;
	*blob = NULL;
	if (unlinkat(b->store->dirfd, b->tmp_name, 0) < 0 && errno != ENOENT)
		msg_warn("%s/%s: remove: %s", b->store->path, b->tmp_name, strerror(errno));
	blob_free(b);
}

/* remake_dir - the directory of rel (blobs/xx), mode 0700, made durable in blobs/. */
static int remake_dir(struct store *s, const char *rel, char **error_r)
{
	char *dir = xstrndup(rel, (size_t)(strrchr(rel, '/') - rel)), *blobs;
	int ret = 0;

	if ((mkdirat(s->dirfd, dir, 0700) < 0 && errno != EEXIST) ||
	    fchmodat(s->dirfd, dir, 0700, 0) < 0) {
		*error_r = xasprintf("%s/%s: mkdir: %s", s->path, dir, strerror(errno));
		ret = -1;
	} else {
		blobs = xasprintf("%s/blobs", s->path);
		ret = safe_file_fsync_dir(blobs, error_r);
		free(blobs);
	}
	free(dir);
	return ret;
}

/* blob_install - rename tmp into blobs/xx without replacing anything; picks a new id on a clash. */
static int blob_install(struct store_blob *b, char **rel_r, char **error_r)
{
	struct store *s = b->store;
	char *rel = NULL;
	int i, rc = -1;

	int made_dir = 0;

	for (i = 0; i < BLOB_NAME_TRIES; i++) {
		free(rel);
		rel = store_blob_relpath(b->id);
		rc = renameat2(s->dirfd, b->tmp_name, s->dirfd, rel, RENAME_NOREPLACE);
		if (rc < 0 && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
			/* a file system without RENAME_NOREPLACE: link(2) refuses to replace too */
			rc = linkat(s->dirfd, b->tmp_name, s->dirfd, rel, 0);
			if (rc == 0)
				(void)unlinkat(s->dirfd, b->tmp_name, 0);
		}
		if (rc < 0 && errno == ENOENT && !made_dir) {
			/* blobs/xx went missing (removed by hand): make it again */
			made_dir = 1;
			if (remake_dir(s, rel, error_r) < 0) {
				free(rel);
				return STORE_ERR_TEMP;
			}
			continue;
		}
		if (rc == 0 || errno != EEXIST)
			break;
		b->id = store_blob_new_id();
	}
	if (rc < 0) {
		*error_r = xasprintf("%s/%s: rename: %s", s->path, rel, strerror(errno));
		free(rel);
		return STORE_ERR_TEMP;
	}
	*rel_r = rel;
	return 0;
}

/* fsync_parent_at - fsync the directory of rel (relative to the store). */
static int fsync_parent_at(struct store *s, const char *rel, char **error_r)
{
	char *dir = xstrndup(rel, (size_t)(strrchr(rel, '/') - rel));
	int fd, ret = 0;

	fd = openat(s->dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		*error_r = xasprintf("%s/%s: fsync: %s", s->path, dir, strerror(errno));
		ret = STORE_ERR_TEMP;
	}
	if (fd >= 0)
		close(fd);
	free(dir);
	return ret;
}

int store_blob_finish(struct store_blob **blob, struct store_blob_done *done, char **error_r)
{
	struct store_blob *b = *blob;
	char *rel = NULL;
	int ret;

	*blob = NULL;
	memset(done, 0, sizeof(*done));
	if ((ret = blob_flush(b, error_r)) < 0)
		goto fail;
	if (fsync(b->fd) < 0) {
		ret = store_err(error_r, STORE_ERR_TEMP, "%s/%s: fsync: %s", b->store->path,
				b->tmp_name, strerror(errno));
		goto fail;
	}
	if (close(b->fd) < 0) {
		b->fd = -1;
		ret = store_err(error_r, STORE_ERR_TEMP, "%s/%s: close: %s", b->store->path,
				b->tmp_name, strerror(errno));
		goto fail;
	}
	b->fd = -1;
	if ((ret = blob_install(b, &rel, error_r)) < 0)
		goto fail;
	if ((ret = fsync_parent_at(b->store, rel, error_r)) < 0) {
		(void)unlinkat(b->store->dirfd, rel, 0);
		free(rel);
		blob_free(b);
		return ret;
	}
	free(rel);
	done->id = b->id;
	done->size = b->size;
	done->msg = mime_parser_finish(&b->parser);
	done->text = b->text;
	memset(&b->text, 0, sizeof(b->text));
	blob_free(b);
	return 0;
fail:
	*blob = b;
	store_blob_discard(blob);
	return ret;
}

struct store *store_blob_store(const struct store_blob *blob)
{
	return blob->store;
}

void store_blob_done_free(struct store_blob_done *done)
{
	mime_message_free(&done->msg);
	store_blob_text_free(&done->text);
}

int store_blob_open(struct store *store, const char *blob, char **error_r)
{
	int64_t id = store_blob_parse(blob);
	char *rel;
	int fd, saved;

	if (id < 0)
		return store_err(error_r, STORE_ERR_INVALID, "bad blob name \"%s\"",
				 blob != NULL ? blob : "");
	rel = store_blob_relpath(id);
	fd = openat(store->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	saved = errno;
	if (fd < 0) {
		int code = saved == ENOENT ? STORE_ERR_NOTFOUND : STORE_ERR_TEMP;

		store_err(error_r, code, "%s/%s: %s", store->path, rel, strerror(saved));
		free(rel);
		return code;
	}
	free(rel);
	return fd;
}
