/*
 * ternqueue - look at and manage the mail queue.
 *
 *   ternqueue [-c config_dir] [-v] command [arguments]
 *
 *   list [--json]                          the queue, like mailq
 *   show [--envelope] QID                  one message
 *   flush                                  ask qmgr to try every message now
 *   delete QID...|ALL|--from A|--to A      remove messages
 *   hold QID...|ALL|--from A|--to A        set messages aside (hold/)
 *   release QID...|ALL|--from A|--to A     return held messages to the queue
 *   requeue QID...|ALL|--from A|--to A     pass messages through cleanup again
 *
 * Exit status: 0 done, 1 something failed, 2 a bad command line or
 * configuration (see ternqueue.h). What ternqueue changes is also logged
 * where main.cf's log_to says, as "QID: removed" and the like.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "tools/ternqueue/ternqueue.h"
#include "util/msg.h"
#include "util/mymalloc.h"

void tq_error(struct ternqueue *t, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("ternqueue: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	t->status = TQ_FAIL;
}

void tq_note(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("ternqueue: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int tq_wake(struct ternqueue *t, char byte, bool report)
{
	char *path = xasprintf("%s/public/qmgr", t->queue_dir);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd, rc = -1, saved = ENAMETOOLONG;

	if (strlen(path) < sizeof(sun.sun_path)) {
		memcpy(sun.sun_path, path, strlen(path));
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			rc = write(fd, &byte, 1) == 1 ? 0 : -1;
		saved = errno;
		if (fd >= 0)
			close(fd);
	}
	if (rc < 0 && report)
		tq_note("the queue manager is not running (%s: %s); the queue is processed when it "
			"runs",
			path, strerror(saved));
	free(path);
	return rc;
}

static int cmd_flush(struct ternqueue *t, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return TQ_USAGE;
	(void)tq_wake(t, 'F', true);
	return t->status;
}

static void usage(FILE *fp)
{
	fputs("usage: ternqueue [-c config_dir] [-v] command [arguments]\n"
	      "  list [--json]\n"
	      "  show [--envelope] QID\n"
	      "  flush\n"
	      "  delete QID...|ALL|[--from ADDR] [--to ADDR]\n"
	      "  hold QID...|ALL|[--from ADDR] [--to ADDR]\n"
	      "  release QID...|ALL|[--from ADDR] [--to ADDR]\n"
	      "  requeue QID...|ALL|[--from ADDR] [--to ADDR]\n",
	      fp);
}

static const struct {
	const char *name;
	int (*run)(struct ternqueue *t, int argc, char **argv);
} commands[] = {
    {"list", tq_list}, {"show", tq_show},	{"flush", cmd_flush},	 {"delete", tq_delete},
    {"hold", tq_hold}, {"release", tq_release}, {"requeue", tq_requeue},
};

/* options - -c DIR, -v, -h before the command; the index of the command, or -1. */
static int options(struct ternqueue *t, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			t->config_dir = argv[++i];
		} else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2] != '\0') {
			t->config_dir = argv[i] + 2;
		} else if (strcmp(argv[i], "-v") == 0) {
			msg_set_verbose(msg_verbose() + 1);
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			exit(TQ_OK);
		} else {
			tq_note("unknown option \"%s\"", argv[i]);
			return -1;
		}
	}
	return i < argc ? i : -1;
}

/* load - main.cf, and logging to its log_to (standard error when that cannot be used). */
static int load(struct ternqueue *t)
{
	char *err = NULL;

	if ((t->conf = mail_conf_load(t->config_dir, &err)) == NULL) {
		tq_note("%s", err);
		free(err);
		return -1;
	}
	t->queue_dir = mail_conf_str(t->conf, "queue_directory");
	if (msg_set_target(mail_conf_str(t->conf, "log_to"), &err) < 0) {
		msg_debug("log_to: %s; logging to standard error", err);
		free(err);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ternqueue t = {0};
	int i, status = TQ_USAGE;

	msg_init("ternqueue");
	signal(SIGPIPE, SIG_IGN);
	if ((i = options(&t, argc, argv)) < 0) {
		usage(stderr);
		return TQ_USAGE;
	}
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (strcmp(argv[i], commands[k].name) != 0)
			continue;
		if (load(&t) < 0)
			return TQ_USAGE;
		status = commands[k].run(&t, argc - i - 1, argv + i + 1);
		if (status == TQ_USAGE) {
			tq_note("%s: bad arguments", argv[i]);
			usage(stderr);
		}
		mail_conf_free(&t.conf);
		return status;
	}
	tq_note("unknown command \"%s\"", argv[i]);
	usage(stderr);
	return status;
}
