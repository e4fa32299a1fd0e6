/*
 * msg - logging to syslog (facility mail), standard error or a file.
 *
 * One line per message, written with a single write(2) so that lines from
 * many processes sharing a log file do not interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/msg.h"
#include "util/mymalloc.h"

enum msg_target { TARGET_STDERR, TARGET_SYSLOG, TARGET_FILE };

/* The process-wide logging state: set by main(), read by every module. */
static struct {
	char ident[64]; /* "tern/<program>" */
	char progname[48];
	enum msg_target target;
	int fd; /* stderr or the log file */
	int verbose;
} msg_state = {"tern", "tern", TARGET_STDERR, 2, 0};

void msg_init(const char *progname)
{
	snprintf(msg_state.progname, sizeof(msg_state.progname), "%s", progname);
	snprintf(msg_state.ident, sizeof(msg_state.ident), "tern/%s", progname);
	msg_state.target = TARGET_STDERR;
	msg_state.fd = STDERR_FILENO;
}

const char *msg_progname(void)
{
	return msg_state.progname;
}

int msg_set_target(const char *target, char **error_r)
{
	int fd;

	if (strcmp(target, "stderr") == 0) {
		if (msg_state.target == TARGET_FILE)
			close(msg_state.fd);
		msg_state.target = TARGET_STDERR;
		msg_state.fd = STDERR_FILENO;
		return 0;
	}
	if (strcmp(target, "syslog") == 0) {
		if (msg_state.target == TARGET_FILE)
			close(msg_state.fd);
		openlog(msg_state.ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
		msg_state.target = TARGET_SYSLOG;
		msg_state.fd = -1;
		return 0;
	}
	if (target[0] != '/') {
		*error_r = xasprintf("log target \"%s\" is not stderr, syslog or an absolute path",
				     target);
		return -1;
	}
	fd = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		*error_r = xasprintf("open log file %s: %s", target, strerror(errno));
		return -1;
	}
	if (msg_state.target == TARGET_FILE)
		close(msg_state.fd);
	msg_state.target = TARGET_FILE;
	msg_state.fd = fd;
	return 0;
}

void msg_set_verbose(int level)
{
	msg_state.verbose = level;
}

int msg_verbose(void)
{
	return msg_state.verbose;
}

/* msg_emit - format one line and hand it to the target. */
__attribute__((format(printf, 3, 0))) static void msg_emit(int priority, const char *label,
							   const char *fmt, va_list ap)
{
	char text[4096], line[4400], stamp[64] = "";
	int saved_errno = errno;
	size_t n;

	vsnprintf(text, sizeof(text), fmt, ap);
	if (msg_state.target == TARGET_SYSLOG) {
		syslog(priority, "%s%s", label, text);
		errno = saved_errno;
		return;
	}
	if (msg_state.target == TARGET_FILE) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		n = strftime(stamp, sizeof(stamp) - 12, "%b %e %H:%M:%S", &tm);
		snprintf(stamp + n, sizeof(stamp) - n, ".%06ld ", ts.tv_nsec / 1000);
	}
	snprintf(line, sizeof(line) - 1, "%s%s[%ld]: %s%s", stamp, msg_state.ident, (long)getpid(),
		 label, text);
	n = strlen(line);
	line[n++] = '\n';
	while (write(msg_state.fd, line, n) < 0 && errno == EINTR)
		;
	errno = saved_errno;
}

void msg_debug(const char *fmt, ...)
{
	va_list ap;

	if (msg_state.verbose <= 0)
		return;
	va_start(ap, fmt);
	msg_emit(LOG_DEBUG, "debug: ", fmt, ap);
	va_end(ap);
}

void msg_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_emit(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_emit(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void msg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_emit(LOG_ERR, "error: ", fmt, ap);
	va_end(ap);
}

void msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_emit(LOG_CRIT, "fatal: ", fmt, ap);
	va_end(ap);
	exit(1);
}

void msg_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_emit(LOG_CRIT, "panic: ", fmt, ap);
	va_end(ap);
	abort();
}
