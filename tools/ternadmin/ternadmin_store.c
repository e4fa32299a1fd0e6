/*
 * ternadmin_store - what ternadmin does to mailbox directories: find out
 * whether one holds any file (mail), and remove one with everything in it.
 *
 * Both walk the tree through directory descriptors (openat, unlinkat) and
 * never follow a symbolic link: a link is looked at, or removed, as itself.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/ternadmin/ternadmin.h"
#include "util/mymalloc.h"

/* A mailbox tree deeper than this is refused (it is not one that Tern made). */
#define STORE_MAX_DEPTH 64

/*
 * One walk over a tree. The walking functions return 1 when a file was
 * found (and the walk only looks), 0 to go on, -1 on error (w->error).
 */
struct walk {
	int remove;	  /* remove everything, or only look for files */
	const char *root; /* for messages */
	char *error;
};

static int walk_dir(struct walk *w, int dfd, int depth);

/* walk_entry - one entry of the directory dfd. */
static int walk_entry(struct walk *w, int dfd, const char *name, int depth)
{
	struct stat st;
	int fd, ret;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		w->error = xasprintf("%s: %s: %s", w->root, name, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (!w->remove)
			return 1;
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
			w->error =
			    xasprintf("remove %s/.../%s: %s", w->root, name, strerror(errno));
			return -1;
		}
		return 0;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		w->error = xasprintf("open %s/.../%s: %s", w->root, name, strerror(errno));
		return -1;
	}
	ret = walk_dir(w, fd, depth + 1);
	if (ret == 0 && w->remove && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
		w->error = xasprintf("remove %s/.../%s: %s", w->root, name, strerror(errno));
		ret = -1;
	}
	return ret;
}

/* walk_dir - every entry of the directory dfd (which it closes). */
static int walk_dir(struct walk *w, int dfd, int depth)
{
	struct dirent *de;
	DIR *dp;
	int ret = 0;

	if (depth > STORE_MAX_DEPTH) {
		close(dfd);
		w->error = xasprintf("%s: directories nested too deep", w->root);
		return -1;
	}
	if ((dp = fdopendir(dfd)) == NULL) {
		close(dfd);
		w->error = xasprintf("%s: %s", w->root, strerror(errno));
		return -1;
	}
	while (ret == 0) {
		errno = 0;
		if ((de = readdir(dp)) == NULL) {
			if (errno != 0) {
				w->error = xasprintf("read %s: %s", w->root, strerror(errno));
				ret = -1;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* An entry removed while the directory is read is not returned again. */
		ret = walk_entry(w, dirfd(dp), de->d_name, depth);
	}
	closedir(dp);
	return ret;
}

/* walk_root - walk the tree at path; ENOENT at the top gives 0. */
static int walk_root(struct walk *w, const char *path, char **error_r)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), ret;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = xasprintf("open %s: %s", path, strerror(errno));
		return -1;
	}
	w->root = path;
	ret = walk_dir(w, fd, 0);
	if (ret < 0)
		*error_r = w->error;
	return ret;
}

int ta_store_has_files(const char *path, char **error_r)
{
	struct walk w = {.remove = 0};

	return walk_root(&w, path, error_r);
}

int ta_store_remove(const char *path, char **error_r)
{
	struct walk w = {.remove = 1};

	if (walk_root(&w, path, error_r) < 0)
		return -1;
	if (rmdir(path) < 0 && errno != ENOENT) {
		*error_r = xasprintf("remove %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
