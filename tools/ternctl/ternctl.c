/*
 * ternctl - start, stop, reload and check Tern.
 *
 *   ternctl [-c config_dir] start|stop|reload|status|check
 *
 * start checks the configuration and the directories (as check does), then
 * runs $daemon_directory/master, which detaches once it is up. stop sends
 * SIGTERM and waits until master has finished draining; reload sends
 * SIGHUP after checking the configuration. status exits 0 when Tern runs
 * and 3 when it does not (LSB). Other failures exit 1.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "mail/master_conf.h"
#include "mail/master_proto.h"
#include "tools/ternctl/ternctl.h"
#include "util/msg.h"
#include "util/mymalloc.h"

#define EXIT_NOT_RUNNING 3 /* LSB: program is not running */
#define EXIT_UNKNOWN 4	   /* LSB: status unknown */
#define STOP_MARGIN_S 10   /* on top of master_drain_timeout */
#define START_WAIT_S 10

void ternctl_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("ternctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ternctl_report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

int ternctl_load(struct ternctl *t, int master_cf)
{
	char *error = NULL, *path;
	int rc;

	t->conf = mail_conf_load(t->config_dir, &error);
	if (t->conf == NULL) {
		ternctl_error("%s", error);
		free(error);
		return -1;
	}
	if (!master_cf)
		return 0;
	path = xasprintf("%s/master.cf", mail_conf_str(t->conf, "config_directory"));
	rc = master_conf_read(path, t->conf, &t->mconf, &error);
	if (rc < 0) {
		ternctl_error("%s", error);
		free(error);
	}
	free(path);
	return rc;
}

/* probe - the running master's pid, 0 when none; -1 after reporting an error. */
static pid_t probe(const struct ternctl *t)
{
	char *error = NULL;
	pid_t pid;

	if (master_pid_probe(mail_conf_str(t->conf, "queue_directory"), &pid, &error) < 0) {
		ternctl_error("%s", error);
		free(error);
		return -1;
	}
	if (pid < 0) {
		ternctl_error("the pid file of master is locked, but holds no pid");
		return -1;
	}
	return pid;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* services_list - "a, b, c" from master.cf; malloc'd. */
static char *services_list(const struct ternctl *t)
{
	char *list = xstrdup(""), *next;
	size_t i;

	for (i = 0; i < t->mconf->count; i++) {
		next = xasprintf("%s%s%s", list, i ? ", " : "", t->mconf->services[i].name);
		free(list);
		list = next;
	}
	return list;
}

/* run_master - run master (it detaches when up); its exit status, or -1. */
static int run_master(const struct ternctl *t)
{
	char *path = xasprintf("%s/master", mail_conf_str(t->conf, "daemon_directory"));
	const char *dir = mail_conf_str(t->conf, "config_directory");
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		ternctl_error("fork: %s", strerror(errno));
		free(path);
		return -1;
	}
	if (pid == 0) {
		execl(path, "master", "-c", dir, (char *)NULL);
		ternctl_error("run %s: %s", path, strerror(errno));
		_exit(127);
	}
	free(path);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int cmd_start(struct ternctl *t)
{
	pid_t pid;
	char *list;
	int rc, waited;

	if (ternctl_check(t) < 0)
		return 1;
	pid = probe(t);
	if (pid < 0)
		return 1;
	if (pid > 0) {
		ternctl_report("tern is already running (pid %ld)", (long)pid);
		return 0;
	}
	rc = run_master(t);
	if (rc != 0) {
		ternctl_error("master did not start (exit status %d)", rc);
		return 1;
	}
	for (waited = 0; (pid = probe(t)) == 0 && waited < START_WAIT_S * 1000; waited += 50)
		sleep_ms(50);
	if (pid <= 0) {
		ternctl_error("master exited right after starting; see the log (log_to = %s)",
			      mail_conf_str(t->conf, "log_to"));
		return 1;
	}
	list = services_list(t);
	ternctl_report("tern started (pid %ld): services %s", (long)pid, list);
	free(list);
	return 0;
}

/* process_gone - whether pid has exited (a zombie that nobody reaps counts as gone). */
static int process_gone(pid_t pid)
{
	char path[64], buf[512], *paren;
	FILE *fp;
	size_t n;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fp = fopen(path, "re");
	if (fp == NULL)
		return errno == ENOENT;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return paren != NULL && paren[1] == ' ' && paren[2] == 'Z';
}

static int cmd_stop(struct ternctl *t)
{
	long long limit = mail_conf_time(t->conf, "master_drain_timeout") + STOP_MARGIN_S;
	long long waited;
	pid_t pid = probe(t);

	if (pid < 0)
		return 1;
	if (pid == 0) {
		ternctl_report("tern is not running");
		return 0;
	}
	if (kill(pid, SIGTERM) < 0) {
		ternctl_error("stop master (pid %ld): %s", (long)pid, strerror(errno));
		return 1;
	}
	for (waited = 0; waited < limit * 1000; waited += 50) {
		sleep_ms(50);
		if (probe(t) == 0 && process_gone(pid)) {
			ternctl_report("tern stopped (pid %ld)", (long)pid);
			return 0;
		}
	}
	ternctl_error("master (pid %ld) did not stop within %llds", (long)pid, limit);
	return 1;
}

static int cmd_reload(struct ternctl *t)
{
	pid_t pid = probe(t);

	if (pid < 0)
		return 1;
	if (pid == 0) {
		ternctl_error("tern is not running");
		return 1;
	}
	if (kill(pid, SIGHUP) < 0) {
		ternctl_error("reload master (pid %ld): %s", (long)pid, strerror(errno));
		return 1;
	}
	ternctl_report("tern is reloading its configuration (pid %ld)", (long)pid);
	return 0;
}

static int cmd_status(struct ternctl *t)
{
	pid_t pid = probe(t);

	if (pid < 0)
		return EXIT_UNKNOWN;
	if (pid == 0) {
		ternctl_report("tern is not running");
		return EXIT_NOT_RUNNING;
	}
	ternctl_report("tern is running (pid %ld)", (long)pid);
	return 0;
}

static void usage(void)
{
	fputs("usage: ternctl [-c config_dir] start|stop|reload|status|check\n", stderr);
	exit(1);
}

int main(int argc, char **argv)
{
	struct ternctl t = {TERN_CONFIG_DIR, NULL, NULL};
	const char *cmd;
	int opt, rc;

	msg_init("ternctl");
	while ((opt = getopt(argc, argv, "c:v")) != -1) {
		if (opt == 'c')
			t.config_dir = optarg;
		else if (opt == 'v')
			msg_set_verbose(msg_verbose() + 1);
		else
			usage();
	}
	if (optind + 1 != argc)
		usage();
	cmd = argv[optind];
	if (strcmp(cmd, "start") && strcmp(cmd, "stop") && strcmp(cmd, "reload") &&
	    strcmp(cmd, "status") && strcmp(cmd, "check"))
		usage();
	/* Stopping and asking need only main.cf (to find the pid file). */
	if (ternctl_load(&t, strcmp(cmd, "stop") != 0 && strcmp(cmd, "status") != 0) < 0) {
		mail_conf_free(&t.conf);
		return strcmp(cmd, "status") == 0 ? EXIT_UNKNOWN : 1;
	}
	if (strcmp(cmd, "start") == 0)
		rc = cmd_start(&t);
	else if (strcmp(cmd, "stop") == 0)
		rc = cmd_stop(&t);
	else if (strcmp(cmd, "reload") == 0)
		rc = cmd_reload(&t);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(&t);
	else
		rc = ternctl_check(&t) < 0 ? 1 : 0;
	master_conf_free(&t.mconf);
	mail_conf_free(&t.conf);
	return rc;
}
