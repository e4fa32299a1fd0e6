/*
 * postdrop - write one message into $queue_directory/maildrop (see
 * postdrop(1)).
 *
 * sendmail(1) runs postdrop with the message on standard input as a maildrop
 * stream (mail/maildrop.h, without the U and T records). postdrop checks it
 * record by record, writes a maildrop file under a temporary name with the
 * real uid of its caller and the time, fsyncs it, renames it to its final
 * name, fsyncs the directory, and wakes pickup up. Exit status per
 * sysexits.h.
 *
 * postdrop is meant to be installed set-group-ID to setgid_group, so that an
 * ordinary user can write into a maildrop directory that only that group may
 * write to. With -c naming another configuration than the compiled-in one,
 * an ordinary user's postdrop first gives up the group (it then writes only
 * where the user could anyway).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "mail/maildrop.h"
#include "mail/mail_conf.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* Output buffered before each write(2). */
#define WRITE_CHUNK (4 * MAILDROP_CHUNK_MAX)
/* Final names tried when one is taken already. */
#define NAME_TRIES 10

/* The temporary file, removed by a signal handler when postdrop is interrupted. */
static volatile sig_atomic_t temp_armed;
static char *temp_path;

struct postdrop {
	const char *config_dir; /* -c, or NULL */
	struct mail_conf *conf;
	char *dir; /* $queue_directory/maildrop */
	int fd;	   /* the temporary file */
	struct strbuf out;
};

static void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* die - report, remove the temporary file, and exit with a sysexits.h status. */
static void die(int status, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	if (temp_armed)
		unlink(temp_path);
	temp_armed = 0;
	msg_error("%s", text);
	free(text);
	exit(status);
}

static void on_signal(int signo)
{
	if (temp_armed)
		unlink(temp_path);
	_exit(EX_TEMPFAIL);
}

static void catch_signals(void)
{
	static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGXFSZ};
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* errno_status - the exit status for a failure of the file system. */
static int errno_status(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
	case EROFS:
		return EX_NOPERM;
	case ENOENT:
	case ENOTDIR:
		return EX_UNAVAILABLE;
	default:
		return EX_TEMPFAIL;
	}
}

/*
 * settle_privileges - an ordinary user who names another configuration gets
 * no more than the user's own rights.
 */
static void settle_privileges(const char *config_dir)
{
	char *mine, *def;
	int same;

	if (getegid() == getgid() || getuid() == 0 || config_dir == NULL)
		return;
	mine = realpath(config_dir, NULL);
	def = realpath(TERN_CONFIG_DIR, NULL);
	same = mine != NULL && def != NULL && strcmp(mine, def) == 0;
	free(mine);
	free(def);
	if (!same && setgid(getgid()) < 0)
		die(EX_OSERR, "give up the set-group-ID privilege: %s", strerror(errno));
}

/* check_group - a set-group-ID postdrop should run as setgid_group. */
static void check_group(const struct mail_conf *conf)
{
	const char *name = mail_conf_str(conf, "setgid_group");
	struct group *gr;

	if (getegid() == getgid())
		return;
	gr = getgrnam(name);
	if (gr == NULL || gr->gr_gid != getegid())
		msg_warn("running as group %ld, but setgid_group is %s%s", (long)getegid(), name,
			 gr == NULL ? " (no such group)" : "");
}

static void flush_out(struct postdrop *pd)
{
	size_t off = 0;
	ssize_t n;

	while (off < pd->out.len) {
		n = write(pd->fd, pd->out.data + off, pd->out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(errno_status(errno), "write %s: %s", temp_path, strerror(errno));
		off += (size_t)n;
	}
	strbuf_reset(&pd->out);
}

/* status_of - the exit status for what the reader found. */
static int status_of(enum maildrop_status st)
{
	switch (st) {
	case MAILDROP_IO_ERROR:
		return EX_IOERR;
	default:
		return EX_DATAERR;
	}
}

/* create_temp - a new temporary file in the maildrop directory; *name_r its final name. */
static void create_temp(struct postdrop *pd, char **name_r)
{
	int tries;

	for (tries = 0;; tries++) {
		*name_r = maildrop_file_name();
		temp_path = xasprintf("%s/%s%s", pd->dir, MAILDROP_TEMP_PREFIX, *name_r);
		pd->fd =
		    open(temp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (pd->fd >= 0)
			break;
		if (errno != EEXIST || tries >= NAME_TRIES)
			die(errno_status(errno), "create a file in %s: %s", pd->dir,
			    strerror(errno));
		XFREE(temp_path);
		XFREE(*name_r);
	}
	temp_armed = 1;
}

/* copy_message - the envelope and content from standard input into the file. */
static void copy_message(struct postdrop *pd)
{
	struct maildrop_envelope env;
	struct maildrop_reader *r;
	struct strbuf chunk = STRBUF_INIT;
	enum maildrop_status st;
	long long total = 0;
	char *error = NULL;

	maildrop_envelope_init(&env);
	r = maildrop_reader_create(stdin, false, mail_conf_size(pd->conf, "message_size_limit"));
	if ((st = maildrop_read_envelope(r, &env, &error)) != MAILDROP_OK)
		die(status_of(st), "standard input: %s", error);
	env.uid = (long long)getuid();
	env.time = (long long)time(NULL);
	maildrop_encode_envelope(&pd->out, &env);
	while ((st = maildrop_read_content(r, &chunk, &error)) == MAILDROP_OK) {
		maildrop_encode_content(&pd->out, chunk.data, chunk.len);
		total += (long long)chunk.len;
		if (pd->out.len >= WRITE_CHUNK)
			flush_out(pd);
	}
	if (st != MAILDROP_END)
		die(status_of(st), "standard input: %s", error);
	maildrop_encode_end(&pd->out, total);
	flush_out(pd);
	strbuf_free(&chunk);
	maildrop_reader_free(&r);
	maildrop_envelope_free(&env);
}

/*
 * sync_dir - make the new name durable. An ordinary user may not read (so
 * not open) a maildrop directory of mode 1733 or 1730: the name then reaches
 * the disk with the file system's next commit.
 */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		msg_debug("%s: no permission to read, not flushed to disk", dir);
		return;
	}
	if (fd < 0 || fsync(fd) < 0)
		msg_warn("flush %s to disk: %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* install - make the finished file visible under its final name (never replacing one). */
static void install(struct postdrop *pd, char *name)
{
	char *path;
	int tries;

	if (fchmod(pd->fd, 0644) < 0 || fsync(pd->fd) < 0 || close(pd->fd) < 0)
		die(errno_status(errno), "%s: %s", temp_path, strerror(errno));
	pd->fd = -1;
	for (tries = 0;; tries++) {
		path = xasprintf("%s/%s", pd->dir, name);
		if (renameat2(AT_FDCWD, temp_path, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
			break;
		if ((errno == EINVAL || errno == ENOSYS) && link(temp_path, path) == 0) {
			unlink(temp_path);
			break;
		}
		if (errno != EEXIST || tries >= NAME_TRIES)
			die(errno_status(errno), "rename %s: %s", temp_path, strerror(errno));
		free(path);
		free(name);
		name = maildrop_file_name();
	}
	temp_armed = 0;
	sync_dir(pd->dir);
	msg_debug("queued as %s", path);
	free(path);
	free(name);
}

/* wake_pickup - tell pickup (public/pickup) there is work; it looks anyway, later. */
static void wake_pickup(const struct mail_conf *conf)
{
	char *path = xasprintf("%s/public/pickup", mail_conf_str(conf, "queue_directory"));
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) < sizeof(sun.sun_path)) {
		memcpy(sun.sun_path, path, strlen(path));
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0 && (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
				write(fd, "W", 1) != 1))
			msg_debug("wake up pickup (%s): %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	free(path);
}

static void usage(void)
{
	fputs("usage: postdrop [-c config_dir] [-v] < maildrop-stream\n", stderr);
	exit(EX_USAGE);
}

int main(int argc, char **argv)
{
	struct postdrop pd;
	char *error = NULL, *name = NULL;
	int opt;

	memset(&pd, 0, sizeof(pd));
	pd.fd = -1;
	msg_init("postdrop");
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "c:v")) != -1) {
		if (opt == 'c')
			pd.config_dir = optarg;
		else if (opt == 'v')
			msg_set_verbose(msg_verbose() + 1);
		else
			usage();
	}
	if (optind != argc || isatty(STDIN_FILENO))
		usage();
	settle_privileges(pd.config_dir);
	if ((pd.conf = mail_conf_load(pd.config_dir, &error)) == NULL)
		die(EX_CONFIG, "%s", error);
	check_group(pd.conf);
	pd.dir = xasprintf("%s/maildrop", mail_conf_str(pd.conf, "queue_directory"));
	catch_signals();
	create_temp(&pd, &name);
	copy_message(&pd);
	install(&pd, name);
	wake_pickup(pd.conf);
	free(temp_path);
	free(pd.dir);
	strbuf_free(&pd.out);
	mail_conf_free(&pd.conf);
	return EX_OK;
}
