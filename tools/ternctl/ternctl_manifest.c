/*
 * ternctl_manifest - create and repair the directories and files listed in
 * the manifest ($meta_directory/tern.manifest).
 *
 * One entry per line: type path owner mode, separated by white space.
 *   type   d (a directory, created when missing) or f (a file, never
 *          created; its owner and mode are repaired when it exists)
 *   path   absolute after expansion of $name / ${name} (main.cf parameters)
 *   owner  a user name (often $mail_owner or $store_owner), root, or "-"
 *          for whoever runs ternctl; the group is the user's own group
 *   mode   octal, e.g. 0700 or 1733
 * '#' starts a comment line. Parents come before their children.
 *
 * As root, owners and modes are both enforced; otherwise owners are left
 * alone and only modes are fixed. Links are never followed: a symbolic link
 * where the manifest expects a directory or file is an error.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "tools/ternctl/ternctl.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

struct entry {
	char type; /* 'd' or 'f' */
	char *path;
	char *owner; /* user name or "-" */
	mode_t mode;
	char *where; /* "manifest:line" */
};

/* expand - replace $name and ${name} by parameter values; NULL after reporting. */
static char *expand(const struct mail_conf *conf, const char *text, const char *where)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = text, *end;
	char *name;

	while (*p) {
		if (*p != '$') {
			strbuf_putc(&sb, *p++);
			continue;
		}
		p++;
		if (*p == '{') {
			end = strchr(++p, '}');
		} else {
			for (end = p; isalnum((unsigned char)*end) || *end == '_'; end++)
				;
		}
		if (end == NULL || end == p) {
			ternctl_error("%s: bad variable in \"%s\"", where, text);
			strbuf_free(&sb);
			return NULL;
		}
		name = xstrndup(p, (size_t)(end - p));
		if (param_find(name) == NULL) {
			ternctl_error("%s: unknown parameter $%s", where, name);
			free(name);
			strbuf_free(&sb);
			return NULL;
		}
		strbuf_puts(&sb, mail_conf_value(conf, name));
		free(name);
		p = *end == '}' ? end + 1 : end;
	}
	return strbuf_detach(&sb);
}

static void entry_free(struct entry *e)
{
	free(e->path);
	free(e->owner);
	free(e->where);
}

/* parse_entry - one manifest line (not blank, not a comment). 0 or -1. */
static int parse_entry(const struct mail_conf *conf, char *line, struct entry *e)
{
	char *field[5], *end, *save = NULL;
	unsigned long mode;
	int n = 0;

	for (char *tok = strtok_r(line, " \t", &save); tok != NULL && n < 5;
	     tok = strtok_r(NULL, " \t", &save))
		field[n++] = tok;
	if (n != 4 || strlen(field[0]) != 1 || strchr("df", field[0][0]) == NULL) {
		ternctl_error("%s: expected \"d|f path owner mode\"", e->where);
		return -1;
	}
	errno = 0;
	mode = strtoul(field[3], &end, 8);
	if (errno != 0 || *end != '\0' || mode > 07777) {
		ternctl_error("%s: bad mode \"%s\"", e->where, field[3]);
		return -1;
	}
	e->type = field[0][0];
	e->mode = (mode_t)mode;
	e->path = expand(conf, field[1], e->where);
	e->owner = expand(conf, field[2], e->where);
	if (e->path == NULL || e->owner == NULL)
		return -1;
	if (e->path[0] != '/') {
		ternctl_error("%s: \"%s\" is not an absolute path", e->where, e->path);
		return -1;
	}
	return 0;
}

/* make_parents - create the missing parent directories of path (mode 0755). */
static int make_parents(const char *path)
{
	char *copy = xstrdup(path), *p;
	int rc = 0;

	for (p = strchr(copy + 1, '/'); p != NULL && rc == 0; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(copy, 0755) == 0)
			ternctl_report("created directory %s (mode 0755)", copy);
		else if (errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	if (rc < 0)
		ternctl_error("create directory %s: %s", copy, strerror(errno));
	free(copy);
	return rc;
}

/* owner_ids - the uid and gid an entry wants; -1 after reporting an unknown user. */
static int owner_ids(const struct entry *e, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	if (strcmp(e->owner, "-") == 0) {
		*uid = geteuid();
		*gid = getegid();
		return 0;
	}
	pw = getpwnam(e->owner);
	if (pw == NULL) {
		ternctl_error("%s: %s: unknown user \"%s\"", e->where, e->path, e->owner);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/*
 * open_entry - a descriptor on the entry without following links; -2 when
 * it is missing, -3 when it exists but may not be opened (not root: use the
 * path then), -1 after reporting an error.
 */
static int open_entry(const struct entry *e)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	int fd = open(e->path, flags | (e->type == 'd' ? O_DIRECTORY : 0));
	struct stat st;

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return -2;
	if (errno == EACCES && geteuid() != 0)
		return -3;
	if ((errno == ELOOP || errno == ENOTDIR) && lstat(e->path, &st) == 0 && S_ISLNK(st.st_mode))
		ternctl_error("%s: %s is a symbolic link", e->where, e->path);
	else if (errno == ENOTDIR)
		ternctl_error("%s: %s is not a directory", e->where, e->path);
	else
		ternctl_error("%s: open %s: %s", e->where, e->path, strerror(errno));
	return -1;
}

/* fix - enforce owner (root only) and mode on an existing entry. */
static int fix(const struct entry *e, int fd, int created)
{
	int root = geteuid() == 0;
	struct stat st;
	uid_t uid;
	gid_t gid;

	if ((fd >= 0 ? fstat(fd, &st) : lstat(e->path, &st)) < 0) {
		ternctl_error("stat %s: %s", e->path, strerror(errno));
		return -1;
	}
	if (e->type == 'd' ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		ternctl_error("%s: %s is not a %s", e->where, e->path,
			      e->type == 'd' ? "directory" : "regular file");
		return -1;
	}
	if (root && owner_ids(e, &uid, &gid) < 0)
		return -1;
	if (root && (st.st_uid != uid || st.st_gid != gid)) {
		if (fchown(fd, uid, gid) < 0) {
			ternctl_error("chown %s: %s", e->path, strerror(errno));
			return -1;
		}
		if (!created)
			ternctl_report("repaired owner of %s: uid %ld -> %s", e->path,
				       (long)st.st_uid, e->owner);
		if (fstat(fd, &st) < 0)
			return -1;
	}
	if ((st.st_mode & 07777) != e->mode) {
		if ((fd >= 0 ? fchmod(fd, e->mode) : chmod(e->path, e->mode)) < 0) {
			ternctl_error("chmod %s: %s", e->path, strerror(errno));
			return -1;
		}
		if (!created)
			ternctl_report("repaired mode of %s: %04o -> %04o", e->path,
				       (unsigned int)(st.st_mode & 07777), (unsigned int)e->mode);
	}
	return 0;
}

static int apply(const struct entry *e)
{
	int fd = open_entry(e), created = 0, rc;

	if (fd == -1)
		return -1;
	if (fd == -2 && e->type == 'f')
		return 0; /* files are made by the programs that own them */
	if (fd == -2) {
		if (make_parents(e->path) < 0)
			return -1;
		if (mkdir(e->path, e->mode) < 0) {
			ternctl_error("create directory %s: %s", e->path, strerror(errno));
			return -1;
		}
		created = 1;
		ternctl_report("created directory %s (mode %04o, owner %s)", e->path,
			       (unsigned int)e->mode, geteuid() == 0 ? e->owner : "-");
		fd = open_entry(e);
		if (fd == -1 || fd == -2)
			return -1;
	}
	rc = fix(e, fd, created);
	if (fd >= 0)
		close(fd);
	return rc;
}

int ternctl_manifest(const struct mail_conf *conf, const char *path)
{
	FILE *fp = fopen(path, "re");
	struct entry e;
	char *line = NULL, *p;
	size_t size = 0;
	int lineno = 0, rc = 0;

	if (fp == NULL) {
		ternctl_error("manifest %s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &size, fp) > 0) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		for (p = line; isspace((unsigned char)*p); p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		memset(&e, 0, sizeof(e));
		e.where = xasprintf("%s:%d", path, lineno);
		if (parse_entry(conf, p, &e) < 0 || apply(&e) < 0)
			rc = -1;
		entry_free(&e);
	}
	free(line);
	fclose(fp);
	return rc;
}
