/*
 * safe_file - atomic, durable file replacement: temporary file, fsync,
 * rename, fsync of the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/mymalloc.h"
#include "util/safe_file.h"

/* How often a colliding temporary name is replaced by a new one. */
#define SAFE_FILE_TRIES 16

/* parent_dir - the malloc'd directory part of path ("." when there is none). */
static char *parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

char *safe_file_temp_path(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	uint64_t rnd;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		rnd = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30);
	}
	return xasprintf("%.*s.%s.tmp.%ld.%016llx", (int)(base - path), path, base, (long)getpid(),
			 (unsigned long long)rnd);
}

int safe_file_fsync_dir(const char *dir, char **error_r)
{
	int fd, saved;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = xasprintf("open directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (fsync(fd) < 0) {
		saved = errno;
		close(fd);
		*error_r = xasprintf("fsync directory %s: %s", dir, strerror(saved));
		return -1;
	}
	close(fd);
	return 0;
}

int safe_file_fsync_parent(const char *path, char **error_r)
{
	char *dir = parent_dir(path);
	int ret = safe_file_fsync_dir(dir, error_r);

	free(dir);
	return ret;
}

/* fsync_path - open path and fsync it. */
static int fsync_path(const char *path, char **error_r)
{
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		*error_r = xasprintf("open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fsync(fd) < 0) {
		saved = errno;
		close(fd);
		*error_r = xasprintf("fsync %s: %s", path, strerror(saved));
		return -1;
	}
	close(fd);
	return 0;
}

int safe_file_install(const char *tmp_path, const char *path, char **error_r)
{
	if (fsync_path(tmp_path, error_r) < 0) {
		unlink(tmp_path);
		return -1;
	}
	if (rename(tmp_path, path) < 0) {
		*error_r = xasprintf("rename %s to %s: %s", tmp_path, path, strerror(errno));
		unlink(tmp_path);
		return -1;
	}
	return safe_file_fsync_parent(path, error_r);
}

/* write_all - write len bytes to fd, retrying short writes and EINTR. */
static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* create_temp - create a fresh temporary file beside path; returns the fd and sets *tmp_r. */
static int create_temp(const char *path, mode_t mode, char **tmp_r, char **error_r)
{
	char *tmp;
	int fd, i;

	for (i = 0; i < SAFE_FILE_TRIES; i++) {
		tmp = safe_file_temp_path(path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
		if (fd >= 0) {
			*tmp_r = tmp;
			return fd;
		}
		if (errno != EEXIST) {
			*error_r = xasprintf("write %s: create temporary file %s: %s", path, tmp,
					     strerror(errno));
			free(tmp);
			return -1;
		}
		free(tmp);
	}
	*error_r = xasprintf("write %s: no unused temporary file name after %d tries", path,
			     SAFE_FILE_TRIES);
	return -1;
}

int safe_file_write(const char *path, const void *data, size_t len, mode_t mode, char **error_r)
{
	char *tmp = NULL;
	const char *what;
	int fd, saved;

	fd = create_temp(path, mode, &tmp, error_r);
	if (fd < 0)
		return -1;
	if (fchmod(fd, mode & 07777) < 0) {
		what = "chmod";
		goto fail;
	}
	if (write_all(fd, data, len) < 0) {
		what = "write";
		goto fail;
	}
	if (fsync(fd) < 0) {
		what = "fsync";
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		what = "close";
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		what = "rename";
		goto fail;
	}
	free(tmp);
	return safe_file_fsync_parent(path, error_r);

fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	*error_r = xasprintf("write %s: %s %s: %s", path, what, tmp, strerror(saved));
	free(tmp);
	return -1;
}
