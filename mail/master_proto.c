/*
 * master_proto - status records, the listening descriptor count, and finding
 * a running master through its pid file lock. See master_proto.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/master_proto.h"
#include "util/mymalloc.h"

_Static_assert(sizeof(struct master_status) < PIPE_BUF, "status records must be atomic");

int master_status_send(int fd, enum master_status_code status)
{
	struct master_status rec;
	ssize_t n;

	rec.pid = (int32_t)getpid();
	rec.status = (int32_t)status;
	do
		n = write(fd, &rec, sizeof(rec));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != sizeof(rec)) {
		errno = EIO;
		return -1;
	}
	return 0;
}

const char *master_status_name(int status)
{
	switch (status) {
	case MASTER_STATUS_READY:
		return "ready";
	case MASTER_STATUS_BUSY:
		return "busy";
	case MASTER_STATUS_IDLE:
		return "idle";
	default:
		return "unknown";
	}
}

int master_listen_count(int *count_r, char **error_r)
{
	const char *val = getenv(TERN_LISTEN_FDS_ENV);
	char *end;
	long n;

	if (val == NULL) {
		*error_r = xstrdup(TERN_LISTEN_FDS_ENV " is not set: not started by master (use -S "
						       "to run stand-alone)");
		return -1;
	}
	errno = 0;
	n = strtol(val, &end, 10);
	if (errno != 0 || end == val || *end != '\0' || n < 1 || n > TERN_LISTEN_MAX) {
		*error_r = xasprintf(TERN_LISTEN_FDS_ENV "=\"%s\": must be a number from 1 to %d",
				     val, TERN_LISTEN_MAX);
		return -1;
	}
	*count_r = (int)n;
	return 0;
}

char *master_pid_path(const char *queue_dir)
{
	return xasprintf("%s/%s", queue_dir, MASTER_PID_FILE);
}

/* pid_from_file - the decimal pid the file holds, or 0. */
static pid_t pid_from_file(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 0 && pid <= INT_MAX ? (pid_t)pid : 0;
}

int master_pid_probe(const char *queue_dir, pid_t *pid_r, char **error_r)
{
	char *path = master_pid_path(queue_dir);
	struct flock fl;
	int fd;

	*pid_r = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			free(path);
			return 0;
		}
		*error_r = xasprintf("open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) < 0) {
		*error_r = xasprintf("examine the lock of %s: %s", path, strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	if (fl.l_type != F_UNLCK) {
		/* l_pid is 0 for a holder in another pid namespace: use the file then. */
		*pid_r = fl.l_pid > 0 ? fl.l_pid : pid_from_file(fd);
		if (*pid_r == 0)
			*pid_r = -1;
	}
	close(fd);
	free(path);
	return 0;
}
