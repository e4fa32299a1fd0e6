/*
 * master - the Tern supervisor: reads main.cf and master.cf, takes the pid
 * file lock, opens every listening socket, then starts and watches the
 * children of each service on one event loop until SIGTERM.
 *
 *   master [-c config_dir] [-f] [-t] [-v]
 *
 * -f stays in the foreground; by default master detaches once its sockets
 * are open and the pid file is locked (the command returns only then, with
 * status 0, or with 1 after printing what went wrong). -t only tests
 * whether a master is running: exit 0 when none is.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "mail/master_conf.h"
#include "mail/master_proto.h"
#include "master/master.h"
#include "util/msg.h"
#include "util/mymalloc.h"

struct options {
	const char *config_dir;
	int foreground;
	int test;
};

static void usage(void)
{
	fprintf(stderr, "usage: master [-c config_dir] [-f] [-t] [-v]\n");
	exit(1);
}

/* fail_text - report a startup error (malloc'd) in the log and on standard error; exit 1. */
static void fail_text(struct master *m, char *text) __attribute__((noreturn));

static void fail_text(struct master *m, char *text)
{
	msg_error("%s", text);
	if (m->conf != NULL && strcmp(mail_conf_str(m->conf, "log_to"), "stderr") != 0)
		fprintf(stderr, "master: error: %s\n", text);
	free(text);
	master_pid_remove(m);
	exit(1);
}

static void fail(struct master *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void fail(struct master *m, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	fail_text(m, text);
}

/* fail_error - fail with a message from a function's error_r (freed). */
static void fail_error(struct master *m, const char *prefix, char *error) __attribute__((noreturn));

static void fail_error(struct master *m, const char *prefix, char *error)
{
	char *text = xasprintf("%s%s", prefix, error);

	free(error);
	fail_text(m, text);
}

static void parse_args(int argc, char **argv, struct options *opts)
{
	int opt;

	while ((opt = getopt(argc, argv, "c:ftv")) != -1) {
		switch (opt) {
		case 'c':
			opts->config_dir = optarg;
			break;
		case 'f':
			opts->foreground = 1;
			break;
		case 't':
			opts->test = 1;
			break;
		case 'v':
			msg_set_verbose(msg_verbose() + 1);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

/* open_stdio - make sure descriptors 0-2 are open, so no socket lands there. */
static void open_stdio(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

/* test_running - master -t: exit 0 when no master runs. */
static void test_running(struct master *m)
{
	char *error = NULL;
	pid_t pid;

	if (master_pid_probe(mail_conf_str(m->conf, "queue_directory"), &pid, &error) < 0)
		fail_error(m, "", error);
	if (pid != 0) {
		fprintf(stderr, "master: the Tern master is running (pid %ld)\n", (long)pid);
		exit(1);
	}
	exit(0);
}

/* lookup_owner - as root, mail_owner must exist (it owns private/ and public/). */
static void lookup_owner(struct master *m)
{
	const char *user = mail_conf_str(m->conf, "mail_owner");
	struct passwd *pw;

	m->root = geteuid() == 0;
	if (!m->root)
		return;
	pw = getpwnam(user);
	if (pw == NULL)
		fail(m, "mail_owner: unknown user \"%s\"", user);
	if (pw->pw_uid == 0)
		fail(m, "mail_owner: user \"%s\" has uid 0; it must be an unprivileged user", user);
	m->owner_uid = pw->pw_uid;
	m->owner_gid = pw->pw_gid;
}

/*
 * detach - fork; the parent waits until the child reports that it is up
 * (one byte on the pipe) and exits 0, or exits 1 if the pipe closes first.
 * Returns the pipe's write end in the child.
 */
static int detach(void)
{
	int p[2];
	char byte;
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		msg_fatal("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		msg_fatal("fork: %s", strerror(errno));
	if (pid > 0) {
		close(p[1]);
		do
			n = read(p[0], &byte, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		msg_fatal("setsid: %s", strerror(errno));
	return p[1];
}

/* detach_done - leave the terminal and tell the waiting parent that master is up. */
static void detach_done(int ready_fd)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		msg_fatal("redirect standard streams to /dev/null: %s", strerror(errno));
	if (fd > 2)
		close(fd);
	if (write(ready_fd, "R", 1) != 1)
		msg_warn("tell the parent that master is up: %s", strerror(errno));
	close(ready_fd);
}

/* load - main.cf, logging, master.cf: any error ends master with status 1. */
static struct master_conf *load(struct master *m, const struct options *opts)
{
	char real[PATH_MAX], *error = NULL, *path;
	const char *dir = opts->config_dir ? opts->config_dir : TERN_CONFIG_DIR;
	struct master_conf *mconf = NULL;
	int rc;

	if (realpath(dir, real) == NULL)
		fail(m, "config directory %s: %s", dir, strerror(errno));
	m->config_dir = xstrdup(real);
	m->conf = mail_conf_load(m->config_dir, &error);
	if (m->conf == NULL)
		fail_error(m, "", error);
	if (msg_set_target(mail_conf_str(m->conf, "log_to"), &error) < 0)
		fail_error(m, "log_to: ", error);
	if (opts->test)
		test_running(m);
	path = xasprintf("%s/master.cf", m->config_dir);
	rc = master_conf_read(path, m->conf, &mconf, &error);
	free(path);
	if (rc < 0)
		fail_error(m, "", error);
	return mconf;
}

static void start(struct master *m, struct master_conf *mconf)
{
	struct master_service *svc;
	char *error = NULL;
	size_t count = 0;

	if (master_dirs_create(m, &error) < 0 || master_pid_lock(m, &error) < 0)
		fail_error(m, "", error);
	m->loop = event_loop_new();
	master_signals_init(m);
	master_status_open(m);
	if (master_services_build(m, m->conf, mconf, NULL, &m->services, &error) < 0)
		fail_error(m, "", error);
	for (svc = m->services; svc != NULL; svc = svc->next)
		count++;
	msg_info("daemon started: version %s, configuration %s, %zu services", PACKAGE_VERSION,
		 m->config_dir, count);
}

/* cleanup - after the drain: free what is left. */
static void cleanup(struct master *m)
{
	struct master_service *svc;

	master_pid_remove(m);
	while ((svc = m->services) != NULL) {
		m->services = svc->next;
		master_service_free(svc);
	}
	event_fd_remove(&m->status_watch);
	close(m->status_rd);
	close(m->status_wr);
	event_timer_cancel(m->loop, &m->drain_timer);
	event_loop_free(&m->loop);
	mail_conf_free(&m->conf);
	free(m->config_dir);
}

int main(int argc, char **argv)
{
	struct options opts = {NULL, 0, 0};
	struct master m;
	struct master_conf *mconf;
	struct master_service *svc;
	int ready_fd = -1;

	memset(&m, 0, sizeof(m));
	m.pid_fd = -1;
	msg_init("master");
	umask(022);
	open_stdio();
	parse_args(argc, argv, &opts);
	mconf = load(&m, &opts);
	lookup_owner(&m);
	if (!opts.foreground)
		ready_fd = detach();
	start(&m, mconf);
	master_conf_free(&mconf);
	if (ready_fd >= 0)
		detach_done(ready_fd);
	for (svc = m.services; svc != NULL; svc = svc->next) {
		master_wakeup_start(svc);
		master_balance(svc);
	}
	event_loop_run(m.loop);
	msg_info("stopped");
	cleanup(&m);
	return 0;
}
