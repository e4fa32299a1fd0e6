/*
 * queue_writer - buffered writing of a new queue file, and its commit:
 * fdatasync, naming, directory fsync (see queue_writer.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/queue_file.h"
#include "mail/queue_id.h"
#include "mail/queue_writer.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

enum section {
	SEC_ENVELOPE,
	SEC_CONTENT, /* at the start of a line */
	SEC_LINE,    /* inside a line */
	SEC_EXTRACTED,
	SEC_DONE, /* committed */
};

struct queue_writer {
	int dirfd;
	int fd;
	unsigned flags;
	char *temp_name; /* QUEUE_WRITER_NAMED: the temporary name, until renamed */
	char id[QUEUE_ID_SIZE];
	struct timespec arrival;
	struct strbuf out; /* buffered, not yet written */
	long long written; /* bytes written to the file */
	int err;	   /* the first write error (errno), sticky */
	enum section section;
	struct queue_sizes sizes;
	long long sizes_data_offset; /* where the Z record's data is */
	int body_marked;
};

/* ---- creating ---- */

/* random_word - 32 bits for a temporary name. */
static unsigned random_word(void)
{
	unsigned v = 0;
	struct timespec ts;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = (unsigned)ts.tv_nsec ^ (unsigned)getpid() << 16;
	}
	return v;
}

/* open_named - a new locked temporary file in dirfd; its name in *name_r. */
static int open_named(int dirfd, char **name_r)
{
	char *name;
	int fd, tries;

	for (tries = 0; tries < 100; tries++) {
		name = xasprintf(QUEUE_TEMP_PREFIX "%ld.%08x", (long)getpid(), random_word());
		fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0) {
			if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
				int saved = errno;

				unlinkat(dirfd, name, 0);
				close(fd);
				free(name);
				errno = saved;
				return -1;
			}
			*name_r = name;
			return fd;
		}
		free(name);
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* link_unnamed - give the unnamed file fd the name in dirfd. */
static int link_unnamed(int fd, unsigned flags, int dirfd, const char *name)
{
	char path[64];

	if (flags & QUEUE_WRITER_EMPTY_PATH)
		return linkat(fd, "", dirfd, name, AT_EMPTY_PATH);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, path, dirfd, name, AT_SYMLINK_FOLLOW);
}

unsigned queue_writer_probe(int dirfd)
{
	static const unsigned ways[] = {QUEUE_WRITER_EMPTY_PATH, 0};
	char *name;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
		fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0)
			return QUEUE_WRITER_NAMED;
		name = xasprintf(QUEUE_TEMP_PREFIX "probe.%ld.%08x", (long)getpid(), random_word());
		if (link_unnamed(fd, ways[i], dirfd, name) == 0) {
			unlinkat(dirfd, name, 0);
			free(name);
			close(fd);
			return ways[i];
		}
		free(name);
		close(fd);
	}
	return QUEUE_WRITER_NAMED;
}

/* put - append a record to the buffer, writing the buffer out when it is full. */
static void put(struct queue_writer *w, int type, const void *data, size_t len);

struct queue_writer *queue_writer_create(int dirfd, unsigned flags, int *errno_r, char **error_r)
{
	struct queue_writer *w;
	char *temp_name = NULL, buf[QUEUE_SIZES_LEN + 1], tbuf[48];
	struct stat st;
	int fd;

	if (flags & QUEUE_WRITER_NAMED)
		fd = open_named(dirfd, &temp_name);
	else
		fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (errno_r != NULL)
			*errno_r = errno;
		*error_r = xasprintf("create a queue file: %s", strerror(errno));
		if (temp_name != NULL)
			unlinkat(dirfd, temp_name, 0);
		if (fd >= 0)
			close(fd);
		free(temp_name);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->dirfd = dirfd;
	w->fd = fd;
	w->flags = flags;
	w->temp_name = temp_name;
	clock_gettime(CLOCK_REALTIME, &w->arrival);
	queue_id_make(w->id, (long long)w->arrival.tv_sec * 1000000 + w->arrival.tv_nsec / 1000,
		      (unsigned long long)st.st_ino);
	strbuf_init(&w->out, QUEUE_WRITE_CHUNK + QUEUE_LINE_PIECE);
	put(w, QREC_VERSION, QUEUE_FORMAT_VERSION, strlen(QUEUE_FORMAT_VERSION));
	queue_sizes_format(buf, &w->sizes);
	w->sizes_data_offset = (long long)w->out.len + 2; /* type byte, one length byte */
	put(w, QREC_SIZES, buf, QUEUE_SIZES_LEN);
	snprintf(tbuf, sizeof(tbuf), "%lld.%06ld", (long long)w->arrival.tv_sec,
		 w->arrival.tv_nsec / 1000);
	put(w, QREC_TIME, tbuf, strlen(tbuf));
	return w;
}

const char *queue_writer_id(const struct queue_writer *w)
{
	return w->id;
}

struct timespec queue_writer_arrival(const struct queue_writer *w)
{
	return w->arrival;
}

/* ---- buffered records ---- */

/* flush - write out the buffer (unless an error happened before). */
static void flush(struct queue_writer *w)
{
	size_t done = 0;
	ssize_t n;

	while (w->err == 0 && done < w->out.len) {
		n = write(w->fd, w->out.data + done, w->out.len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			w->err = errno;
		else if (n == 0)
			w->err = EIO;
		else
			done += (size_t)n;
	}
	w->written += (long long)done;
	strbuf_reset(&w->out);
}

/* offset - the file offset of the next record. */
static long long offset(const struct queue_writer *w)
{
	return w->written + (long long)w->out.len;
}

static void put(struct queue_writer *w, int type, const void *data, size_t len)
{
	queue_rec_put(&w->out, type, data, len);
	if (w->out.len >= QUEUE_WRITE_CHUNK)
		flush(w);
}

static void expect(const struct queue_writer *w, enum section section, const char *func)
{
	if (w->section != section)
		msg_panic("%s: queue file %s is in section %d, not %d", func, w->id,
			  (int)w->section, (int)section);
}

void queue_writer_rec(struct queue_writer *w, int type, const void *data, size_t len)
{
	if (strchr("SFIPA", type) == NULL || type == '\0')
		msg_panic("queue_writer_rec: record type 0x%02x", (unsigned)type);
	if (w->section != SEC_EXTRACTED || type != QREC_ATTR)
		expect(w, SEC_ENVELOPE, "queue_writer_rec");
	put(w, type, data, len);
}

void queue_writer_attr(struct queue_writer *w, const char *name, const char *value)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_printf(&sb, "%s=%s", name, value);
	queue_writer_rec(w, QREC_ATTR, sb.data, sb.len);
	strbuf_free(&sb);
}

void queue_writer_rcpt(struct queue_writer *w, const char *address, const char *orcpt,
		       unsigned notify)
{
	struct strbuf sb = STRBUF_INIT;

	expect(w, SEC_ENVELOPE, "queue_writer_rcpt");
	queue_rcpt_format(&sb, address, orcpt, notify);
	put(w, QREC_RCPT, sb.data, sb.len);
	strbuf_free(&sb);
	w->sizes.nrcpt++;
}

long long queue_writer_nrcpt(const struct queue_writer *w)
{
	return w->sizes.nrcpt;
}

void queue_writer_content(struct queue_writer *w)
{
	expect(w, SEC_ENVELOPE, "queue_writer_content");
	w->sizes.content_offset = offset(w);
	put(w, QREC_CONTENT, NULL, 0);
	w->section = SEC_CONTENT;
}

void queue_writer_line(struct queue_writer *w, const void *data, size_t len, bool last)
{
	const char *p = data;

	if (w->section != SEC_LINE)
		expect(w, SEC_CONTENT, "queue_writer_line");
	w->sizes.size += (long long)len + (last ? 2 : 0);
	while (len > QUEUE_LINE_PIECE || (!last && len > 0)) {
		size_t n = len > QUEUE_LINE_PIECE ? QUEUE_LINE_PIECE : len;

		put(w, QREC_PIECE, p, n);
		p += n;
		len -= n;
		w->section = SEC_LINE;
	}
	if (last) {
		put(w, QREC_LINE, p, len);
		w->section = SEC_CONTENT;
	}
}

void queue_writer_body(struct queue_writer *w)
{
	expect(w, SEC_CONTENT, "queue_writer_body");
	if (w->body_marked)
		msg_panic("queue_writer_body: queue file %s: body marked twice", w->id);
	w->body_marked = 1;
	w->sizes.body_offset = offset(w);
}

long long queue_writer_size(const struct queue_writer *w)
{
	return w->sizes.size;
}

void queue_writer_extracted(struct queue_writer *w)
{
	expect(w, SEC_CONTENT, "queue_writer_extracted");
	w->sizes.extracted_offset = offset(w);
	if (!w->body_marked)
		w->sizes.body_offset = w->sizes.extracted_offset;
	put(w, QREC_EXTRACTED, NULL, 0);
	w->section = SEC_EXTRACTED;
}

/* ---- commit ---- */

/* patch_sizes - put the final Z record in place: in the buffer if still there, else pwrite. */
static void patch_sizes(struct queue_writer *w)
{
	char buf[QUEUE_SIZES_LEN + 1];
	ssize_t n;

	queue_sizes_format(buf, &w->sizes);
	if (w->sizes_data_offset >= w->written) {
		memcpy(w->out.data + (w->sizes_data_offset - w->written), buf, QUEUE_SIZES_LEN);
		return;
	}
	flush(w);
	while (w->err == 0) {
		n = pwrite(w->fd, buf, QUEUE_SIZES_LEN, (off_t)w->sizes_data_offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != QUEUE_SIZES_LEN)
			w->err = n < 0 ? errno : EIO;
		break;
	}
}

/* publish - give the finished file its queue ID as name, never replacing a file. */
static int publish(struct queue_writer *w)
{
	if (!(w->flags & QUEUE_WRITER_NAMED))
		return link_unnamed(w->fd, w->flags, w->dirfd, w->id);
	if (renameat2(w->dirfd, w->temp_name, w->dirfd, w->id, RENAME_NOREPLACE) == 0)
		goto renamed;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* no RENAME_NOREPLACE here: link() does not replace either */
	if (linkat(w->dirfd, w->temp_name, w->dirfd, w->id, 0) < 0)
		return -1;
	unlinkat(w->dirfd, w->temp_name, 0);
renamed:
	XFREE(w->temp_name);
	return 0;
}

/* commit_fail - report a failed commit; nothing stays in the directory. */
static int commit_fail(struct queue_writer *w, int err, const char *what, int *errno_r,
		       char **error_r)
{
	if (errno_r != NULL)
		*errno_r = err;
	*error_r = xasprintf("queue file %s: %s: %s", w->id, what, strerror(err));
	return -1;
}

int queue_writer_commit(struct queue_writer *w, int *errno_r, char **error_r)
{
	expect(w, SEC_EXTRACTED, "queue_writer_commit");
	put(w, QREC_END, NULL, 0);
	patch_sizes(w);
	flush(w);
	if (w->err != 0)
		return commit_fail(w, w->err, "write", errno_r, error_r);
	if (fdatasync(w->fd) < 0)
		return commit_fail(w, errno, "fdatasync", errno_r, error_r);
	if (publish(w) < 0)
		return commit_fail(w, errno, "name the file", errno_r, error_r);
	if (fsync(w->dirfd) < 0) {
		int saved = errno;

		/* not known to be durable: take it back rather than acknowledge it */
		unlinkat(w->dirfd, w->id, 0);
		return commit_fail(w, saved, "fsync the queue directory", errno_r, error_r);
	}
	w->section = SEC_DONE;
	return 0;
}

void queue_writer_free(struct queue_writer **wp)
{
	struct queue_writer *w = *wp;

	if (w == NULL)
		return;
	if (w->temp_name != NULL)
		unlinkat(w->dirfd, w->temp_name, 0);
	close(w->fd);
	free(w->temp_name);
	strbuf_free(&w->out);
	free(w);
	*wp = NULL;
}

/* ---- sweeping ---- */

/* sweep_one - remove the temporary file name when its writer is gone; 1 if removed. */
static int sweep_one(int dirfd, const char *name, time_t min_age)
{
	struct stat st;
	int fd, removed = 0;

	fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && time(NULL) - st.st_mtime >= min_age &&
	    flock(fd, LOCK_EX | LOCK_NB) == 0)
		removed = unlinkat(dirfd, name, 0) == 0;
	close(fd);
	return removed;
}

int queue_temp_sweep(int dirfd, time_t min_age, unsigned *removed_r, char **error_r)
{
	struct dirent *de;
	unsigned removed = 0;
	DIR *dir;
	int fd;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		*error_r = xasprintf("read the queue directory: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, QUEUE_TEMP_PREFIX, strlen(QUEUE_TEMP_PREFIX)) == 0)
			removed += (unsigned)sweep_one(dirfd, de->d_name, min_age);
	}
	closedir(dir);
	if (removed_r != NULL)
		*removed_r = removed;
	return 0;
}
