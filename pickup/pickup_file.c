/*
 * pickup_file - the maildrop scan: each complete file with a final name is
 * checked (a regular file with one link, owned by the uid it records, in
 * the maildrop format, with valid addresses) and handed to cleanup as a
 * local submission; it is removed once cleanup answered with a queue ID.
 * A malformed or foreign file is moved to corrupt/ with a log line and never
 * holds up the others; a postdrop temporary file is left alone (or removed
 * when a crash left it behind long ago).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail/address.h"
#include "mail/cleanup_client.h"
#include "mail/mail_conf.h"
#include "mail/maildrop.h"
#include "pickup/pickup.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* What became of one file. */
enum outcome {
	DONE,	 /* queued and removed, moved to corrupt/, or gone */
	SKIPPED, /* left for a later scan */
	STOP,	 /* cleanup cannot be reached: end the scan */
	GO_ON,	 /* checked so far: go on with the next step */
};

/* One file being handed over. */
struct job {
	struct pickup *p;
	int dirfd;
	const char *name;
	struct stat st;
	struct maildrop_envelope env;
	struct maildrop_reader *reader;
	FILE *fp;
	char *error;
};

void pickup_init(struct pickup *p, const struct mail_conf *conf)
{
	const char *queue = mail_conf_str(conf, "queue_directory");
	const char *origin = mail_conf_str(conf, "myorigin");
	char *error = NULL;
	long long timeout;

	memset(p, 0, sizeof(*p));
	p->queue_dir = xstrdup(queue);
	p->maildrop_dir = xasprintf("%s/maildrop", queue);
	p->corrupt_dir = xasprintf("%s/corrupt", queue);
	p->size_limit = mail_conf_size(conf, "message_size_limit");
	timeout = mail_conf_time(conf, "ipc_timeout");
	p->timeout_ms = timeout > INT_MAX / 1000 ? INT_MAX : (int)timeout * 1000;
	if (address_domain_normalise(origin, strlen(origin), ADDRESS_UTF8 | ADDRESS_NO_LITERAL,
				     &p->origin, &error) < 0)
		msg_fatal("myorigin = %s: %s", origin, error);
}

void pickup_free(struct pickup *p)
{
	cleanup_close(&p->cleanup);
	free(p->queue_dir);
	free(p->maildrop_dir);
	free(p->corrupt_dir);
	free(p->origin);
	memset(p, 0, sizeof(*p));
}

/* printable - name as it may appear in the log (a foreign file may be called anything). */
static char *printable(const char *name)
{
	char *s = xstrndup(name, 100), *q;

	for (q = s; *q; q++)
		if ((unsigned char)*q < 0x21 || (unsigned char)*q > 0x7e)
			*q = '?';
	return s;
}

/* quarantine - move name to corrupt/ (never replacing a file there) and say why. */
static enum outcome quarantine(struct pickup *p, int dirfd, const char *name, const char *why)
{
	char *shown = printable(name), *target = xstrdup(name);
	int cfd, i;

	if (mkdir(p->corrupt_dir, 0700) < 0 && errno != EEXIST)
		msg_warn("create %s: %s", p->corrupt_dir, strerror(errno));
	cfd = open(p->corrupt_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 1; cfd >= 0 && i < 100; i++) {
		if (renameat2(dirfd, name, cfd, target, RENAME_NOREPLACE) == 0) {
			msg_warn("maildrop file %s: %s: moved to %s", shown, why, p->corrupt_dir);
			break;
		}
		if (errno != EEXIST) {
			msg_warn("maildrop file %s: %s; moving it to %s failed: %s", shown, why,
				 p->corrupt_dir, strerror(errno));
			break;
		}
		free(target);
		target = xasprintf("%s.%d", name, i);
	}
	if (cfd < 0)
		msg_warn("maildrop file %s: %s; cannot open %s: %s", shown, why, p->corrupt_dir,
			 strerror(errno));
	else
		close(cfd);
	free(shown);
	free(target);
	return DONE;
}

/* job_open - open and check the file; GO_ON, or DONE when it went to corrupt/ or is gone. */
static enum outcome job_open(struct job *job)
{
	int fd = openat(job->dirfd, job->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return DONE;
	if (fd < 0 && errno == ELOOP)
		return quarantine(job->p, job->dirfd, job->name, "a symbolic link");
	if (fd < 0 && errno == EACCES) /* its owner took away the read permission */
		return quarantine(job->p, job->dirfd, job->name, "not readable");
	if (fd < 0) {
		msg_warn("open %s/%s: %s", job->p->maildrop_dir, job->name, strerror(errno));
		return SKIPPED;
	}
	if (fstat(fd, &job->st) < 0 || !S_ISREG(job->st.st_mode) || job->st.st_nlink != 1) {
		close(fd);
		return quarantine(job->p, job->dirfd, job->name,
				  "not a regular file with one link");
	}
	job->fp = fdopen(fd, "r");
	if (job->fp == NULL)
		msg_fatal("fdopen: %s", strerror(errno));
	job->reader = maildrop_reader_create(job->fp, true, job->p->size_limit);
	return GO_ON;
}

/* job_failed - the file did not read well: wait, skip or quarantine, as status says. */
static enum outcome job_failed(struct job *job, enum maildrop_status st)
{
	time_t age = time(NULL) - job->st.st_mtime;

	switch (st) {
	case MAILDROP_IO_ERROR:
		msg_warn("read %s/%s: %s", job->p->maildrop_dir, job->name, job->error);
		return SKIPPED;
	case MAILDROP_TRUNCATED:
		if (age >= 0 && age < PICKUP_WRITING_GRACE) {
			msg_debug("%s: incomplete, perhaps still being written", job->name);
			return SKIPPED;
		}
		return quarantine(job->p, job->dirfd, job->name, job->error);
	default:
		return quarantine(job->p, job->dirfd, job->name, job->error);
	}
}

/* fix_address - *addr parsed and qualified with $myorigin; -1 when it is not an address. */
static int fix_address(struct job *job, char **addr, int flags)
{
	struct address a;
	int rc = -1;

	if (address_parse(*addr, strlen(*addr), flags | ADDRESS_UTF8 | ADDRESS_NO_DOMAIN_OK, &a,
			  &job->error) == 0) {
		if (!a.null && a.domain == NULL)
			a.domain = xstrdup(job->p->origin);
		free(*addr);
		*addr = address_format(&a);
		rc = 0;
	}
	address_free(&a);
	return rc;
}

/* job_envelope - read and check the envelope; GO_ON when the content may follow. */
static enum outcome job_envelope(struct job *job)
{
	enum maildrop_status st;
	size_t i;

	st = maildrop_read_envelope(job->reader, &job->env, &job->error);
	if (st != MAILDROP_OK)
		return job_failed(job, st);
	if (job->env.uid != (long long)job->st.st_uid) {
		job->error = xasprintf("records uid %lld but belongs to uid %ld", job->env.uid,
				       (long)job->st.st_uid);
		return quarantine(job->p, job->dirfd, job->name, job->error);
	}
	if (job->env.sender[0] != '\0' && fix_address(job, &job->env.sender, 0) < 0)
		return quarantine(job->p, job->dirfd, job->name, "bad sender address");
	for (i = 0; i < job->env.nrcpts; i++)
		if (fix_address(job, &job->env.rcpts[i], 0) < 0)
			return quarantine(job->p, job->dirfd, job->name, "bad recipient address");
	return GO_ON;
}

static unsigned cleanup_flags(unsigned flags)
{
	unsigned f = CLEANUP_FLAG_LOCAL;

	if (flags & MAILDROP_FLAG_8BITMIME)
		f |= CLEANUP_FLAG_8BITMIME;
	if (flags & MAILDROP_FLAG_SMTPUTF8)
		f |= CLEANUP_FLAG_SMTPUTF8;
	return f;
}

static unsigned cleanup_notify(unsigned flags)
{
	unsigned n = 0;

	if (flags & MAILDROP_FLAG_NOTIFY_NEVER)
		n |= CLEANUP_NOTIFY_NEVER;
	if (flags & MAILDROP_FLAG_NOTIFY_SUCCESS)
		n |= CLEANUP_NOTIFY_SUCCESS;
	if (flags & MAILDROP_FLAG_NOTIFY_FAILURE)
		n |= CLEANUP_NOTIFY_FAILURE;
	if (flags & MAILDROP_FLAG_NOTIFY_DELAY)
		n |= CLEANUP_NOTIFY_DELAY;
	return n;
}

/* send_envelope - the envelope and recipients to cleanup. */
static int send_envelope(struct job *job, struct cleanup_client *c, const char *login)
{
	const struct maildrop_envelope *env = &job->env;
	struct cleanup_envelope ce;
	unsigned notify = cleanup_notify(env->flags);
	size_t i;

	memset(&ce, 0, sizeof(ce));
	ce.sender = env->sender;
	ce.flags = cleanup_flags(env->flags);
	ce.envid = env->envid;
	ce.ret = env->flags & MAILDROP_FLAG_RET_FULL   ? CLEANUP_RET_FULL
		 : env->flags & MAILDROP_FLAG_RET_HDRS ? CLEANUP_RET_HDRS
						       : CLEANUP_RET_NONE;
	ce.size_hint = -1;
	ce.local_user = login;
	ce.full_name = env->full_name;
	if (cleanup_envelope(c, &ce, &job->error) < 0)
		return -1;
	for (i = 0; i < env->nrcpts; i++)
		if (cleanup_rcpt(c, env->rcpts[i], NULL, notify, &job->error) < 0)
			return -1;
	return 0;
}

/*
 * send_content - the content to cleanup: 0, -1 when cleanup failed (job->error
 * set, *st_r MAILDROP_OK), or -1 with *st_r saying what is wrong with the file.
 */
static int send_content(struct job *job, struct cleanup_client *c, enum maildrop_status *st_r)
{
	struct strbuf chunk = STRBUF_INIT;
	enum maildrop_status st;
	int rc = 0;

	while ((st = maildrop_read_content(job->reader, &chunk, &job->error)) == MAILDROP_OK)
		if ((rc = cleanup_write(c, chunk.data, chunk.len, &job->error)) < 0)
			break;
	strbuf_free(&chunk);
	*st_r = st;
	return rc < 0 || st != MAILDROP_END ? -1 : 0;
}

/* finish - what cleanup answered: remove the file once it is queued. */
static enum outcome finish(struct job *job, const struct cleanup_result *res)
{
	const char *text = res->text ? res->text : "no reason given";
	char *why;

	if (res->status == 0) {
		msg_info("%s: uid=%ld from=<%s>", res->queue_id, (long)job->st.st_uid,
			 job->env.sender);
		if (unlinkat(job->dirfd, job->name, 0) < 0 && errno != ENOENT)
			msg_warn("%s: remove %s/%s: %s (it may be delivered again)", res->queue_id,
				 job->p->maildrop_dir, job->name, strerror(errno));
		return DONE;
	}
	if (res->status >= 400 && res->status < 500) {
		msg_warn("maildrop file %s: cleanup: %d %s %s: will try again", job->name,
			 res->status, res->dsn, text);
		return SKIPPED;
	}
	why = xasprintf("refused by cleanup: %d %s %s", res->status, res->dsn, text);
	quarantine(job->p, job->dirfd, job->name, why);
	free(why);
	return DONE;
}

/* job_deliver - the checked envelope, then the content, to cleanup (one connection a scan). */
static enum outcome job_deliver(struct job *job)
{
	struct passwd *pw = getpwuid(job->st.st_uid);
	char *login = pw ? xstrdup(pw->pw_name) : NULL;
	struct cleanup_client **c = &job->p->cleanup;
	struct cleanup_result res;
	enum maildrop_status st = MAILDROP_OK;
	enum outcome out = STOP;

	memset(&res, 0, sizeof(res));
	if (*c == NULL)
		*c = cleanup_open(job->p->queue_dir, job->p->timeout_ms, &job->error);
	if (*c == NULL || send_envelope(job, *c, login) < 0) {
		msg_warn("maildrop file %s: cleanup: %s", job->name, job->error);
	} else if (send_content(job, *c, &st) < 0) {
		if (st == MAILDROP_OK) {
			msg_warn("maildrop file %s: cleanup: %s", job->name, job->error);
		} else {
			cleanup_abort(*c);
			out = job_failed(job, st);
		}
	} else if (cleanup_finish(*c, &res, &job->error) < 0) {
		msg_warn("maildrop file %s: cleanup: %s", job->name, job->error);
	} else {
		out = finish(job, &res);
	}
	if (out == STOP) /* the conversation failed: a new one next time */
		cleanup_close(c);
	cleanup_result_free(&res);
	free(login);
	return out;
}

/* pickup_one - hand one file with a final name to cleanup. */
static enum outcome pickup_one(struct pickup *p, int dirfd, const char *name)
{
	struct job job;
	enum outcome out;

	memset(&job, 0, sizeof(job));
	job.p = p;
	job.dirfd = dirfd;
	job.name = name;
	maildrop_envelope_init(&job.env);
	out = job_open(&job);
	if (out == GO_ON)
		out = job_envelope(&job);
	if (out == GO_ON)
		out = job_deliver(&job);
	maildrop_reader_free(&job.reader);
	maildrop_envelope_free(&job.env);
	if (job.fp != NULL)
		fclose(job.fp);
	free(job.error);
	return out;
}

/* old_temp - remove a temporary file of postdrop that a crash left behind long ago. */
static void old_temp(struct pickup *p, int dirfd, const char *name)
{
	struct stat st;
	char *shown;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    time(NULL) - st.st_mtime < PICKUP_TEMP_MAX_AGE)
		return;
	shown = printable(name);
	if (unlinkat(dirfd, name, 0) == 0)
		msg_warn("removed %s/%s: an unfinished file left over", p->maildrop_dir, shown);
	free(shown);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list - the final names in the directory, sorted (oldest first); others dealt with. */
static char **list(struct pickup *p, DIR *dir, size_t *n_r)
{
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	while ((errno = 0, de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strncmp(de->d_name, MAILDROP_TEMP_PREFIX, strlen(MAILDROP_TEMP_PREFIX)) == 0) {
			old_temp(p, dirfd(dir), de->d_name);
		} else if (!maildrop_name_valid(de->d_name)) {
			quarantine(p, dirfd(dir), de->d_name, "not a maildrop file name");
		} else {
			names = xreallocarray(names, n + 1, sizeof(*names));
			names[n++] = xstrdup(de->d_name);
		}
	}
	if (errno != 0)
		msg_warn("read directory %s: %s", p->maildrop_dir, strerror(errno));
	if (n > 1)
		qsort(names, n, sizeof(*names), compare_names);
	*n_r = n;
	return names;
}

void pickup_scan(struct pickup *p)
{
	DIR *dir = opendir(p->maildrop_dir);
	enum outcome out = DONE;
	char **names;
	size_t n = 0, i;

	if (dir == NULL) {
		msg_warn("open directory %s: %s", p->maildrop_dir, strerror(errno));
		return;
	}
	names = list(p, dir, &n);
	for (i = 0; i < n; i++) {
		if (out != STOP)
			out = pickup_one(p, dirfd(dir), names[i]);
		free(names[i]);
	}
	free(names);
	closedir(dir);
	cleanup_close(&p->cleanup);
}
