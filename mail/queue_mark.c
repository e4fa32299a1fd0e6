/*
 * queue_mark - changes to queue files after they were written: the
 * done-mark of delivered recipients, rewritten in place, and the move of
 * files that are not complete to corrupt/ (see queue_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/queue_file.h"
#include "mail/queue_id.h"
#include "util/mymalloc.h"
#include "util/safe_file.h"

/* mark_one - rewrite the type byte at offset from R to D. */
static int mark_one(int fd, off_t offset, char **error_r)
{
	char type;
	ssize_t n;

	do
		n = pread(fd, &type, 1, offset);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		*error_r = xasprintf("read the record at offset %lld: %s", (long long)offset,
				     n < 0 ? strerror(errno) : "beyond the end of the file");
		return -1;
	}
	if (type == QREC_DONE)
		return 0;
	if (type != QREC_RCPT) {
		*error_r = xasprintf("no recipient record at offset %lld", (long long)offset);
		return -1;
	}
	type = QREC_DONE;
	do
		n = pwrite(fd, &type, 1, offset);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		*error_r = xasprintf("mark the recipient at offset %lld done: %s",
				     (long long)offset, n < 0 ? strerror(errno) : "short write");
		return -1;
	}
	return 0;
}

int queue_mark_done(int fd, const off_t *offsets, size_t n, char **error_r)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (mark_one(fd, offsets[i], error_r) < 0)
			return -1;
	if (fdatasync(fd) < 0) {
		*error_r = xasprintf("fdatasync: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int queue_file_quarantine(const char *queue_dir, const char *from_dir, const char *id,
			  char **error_r)
{
	char *from, *to, *dir;
	int ret = 0;

	if (!queue_id_valid(id) || strchr(from_dir, '.') != NULL) {
		*error_r = xasprintf("quarantine: bad queue file name %s/%s", from_dir, id);
		return -1;
	}
	from = xasprintf("%s/%s/%s", queue_dir, from_dir, id);
	to = xasprintf("%s/corrupt/%s", queue_dir, id);
	dir = xasprintf("%s/corrupt", queue_dir);
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0 &&
	    ((errno != EINVAL && errno != ENOSYS) || rename(from, to) < 0)) {
		*error_r = xasprintf("move %s to %s: %s", from, to, strerror(errno));
		ret = -1;
	} else {
		ret = safe_file_fsync_dir(dir, error_r);
	}
	free(from);
	free(to);
	free(dir);
	return ret;
}
