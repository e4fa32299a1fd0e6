/*
 * master_pid - the spool directories master needs before it starts, and the
 * pid file: $queue_directory/pid/master.pid, write-locked with fcntl for as
 * long as master runs (master_proto.h tells how others find it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "mail/master_proto.h"
#include "master/master.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* make_dir - create dir with mode when missing (owned by mail_owner if asked and root). */
static int make_dir(const struct master *m, const char *dir, mode_t mode, int owned, char **error_r)
{
	struct stat st;

	if (mkdir(dir, mode) == 0) {
		if (chmod(dir, mode) < 0 ||
		    (owned && m->root && chown(dir, m->owner_uid, m->owner_gid) < 0)) {
			*error_r = xasprintf("set up directory %s: %s", dir, strerror(errno));
			return -1;
		}
		msg_info("created directory %s", dir);
		return 0;
	}
	if (errno != EEXIST) {
		*error_r = xasprintf("create directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*error_r = xasprintf("%s exists and is not a directory", dir);
		return -1;
	}
	return 0;
}

int master_dirs_create(struct master *m, char **error_r)
{
	static const struct {
		const char *name;
		mode_t mode;
		int owned;
	} dirs[] = {
	    {"", 0755, 0},
	    {MASTER_PID_DIR, 0755, 0},
	    {"private", 0700, 1},
	    {"public", 0755, 1},
	};
	const char *queue = mail_conf_str(m->conf, "queue_directory");
	char *path;
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && rc == 0; i++) {
		path = dirs[i].name[0] ? xasprintf("%s/%s", queue, dirs[i].name) : xstrdup(queue);
		rc = make_dir(m, path, dirs[i].mode, dirs[i].owned, error_r);
		free(path);
	}
	return rc;
}

/* same_file - whether fd still is the file at path (not replaced since it was opened). */
static int same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* try_lock - 0 and the locked descriptor, 1 when the file changed under us, -1 on error. */
static int try_lock(const char *path, int *fd_r, char **error_r)
{
	struct flock fl;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
	if (fd < 0) {
		*error_r = xasprintf("open pid file %s: %s", path, strerror(errno));
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		int saved = errno;

		close(fd);
		if (saved == EAGAIN || saved == EACCES) {
			*fd_r = -1;
			return 0;
		}
		*error_r = xasprintf("lock pid file %s: %s", path, strerror(saved));
		return -1;
	}
	/* A master that just exited removed the file: lock the new one instead. */
	if (!same_file(fd, path)) {
		close(fd);
		return 1;
	}
	*fd_r = fd;
	return 0;
}

int master_pid_lock(struct master *m, char **error_r)
{
	const char *queue = mail_conf_str(m->conf, "queue_directory");
	char *path = master_pid_path(queue), buf[32], *err = NULL;
	int fd = -1, rc = 1, tries;
	pid_t other = 0;

	for (tries = 0; rc == 1 && tries < 5; tries++)
		rc = try_lock(path, &fd, error_r);
	if (rc == 0 && fd < 0) {
		if (master_pid_probe(queue, &other, &err) < 0)
			free(err);
		if (other > 0)
			*error_r =
			    xasprintf("the Tern master is already running (pid %ld)", (long)other);
		else
			*error_r =
			    xasprintf("the Tern master is already running (%s is locked)", path);
		rc = -1;
	} else if (rc == 1) {
		*error_r = xasprintf("lock pid file %s: it keeps being replaced", path);
		rc = -1;
	}
	if (rc < 0) {
		free(path);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, strlen(buf), 0) != (ssize_t)strlen(buf)) {
		*error_r = xasprintf("write pid file %s: %s", path, strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	m->pid_fd = fd;
	m->pid_path = path;
	return 0;
}

void master_pid_remove(struct master *m)
{
	if (m->pid_fd < 0)
		return;
	if (unlink(m->pid_path) < 0 && errno != ENOENT)
		msg_warn("remove %s: %s", m->pid_path, strerror(errno));
	close(m->pid_fd);
	m->pid_fd = -1;
	XFREE(m->pid_path);
}
