/*
 * msg - logging for every Tern program.
 *
 * Lines go to syslog (facility mail), standard error or a file, prefixed
 * "tern/<program>[pid]:". msg_fatal() is for errors of the environment (the
 * process exits 1 and master restarts it); msg_panic() is for broken
 * invariants (the process aborts).
 *
 * The logging target is the one piece of process-wide state in util/: every
 * part of a process logs to the same place, set once by main().
 */
#ifndef TERN_MSG_H
#define TERN_MSG_H

#include <stdarg.h>

/* msg_init - name the program ("smtpd") and log to standard error. */
void msg_init(const char *progname);

/*
 * msg_set_target - log to "stderr", "syslog" or an absolute file path.
 * Returns 0, or -1 with *error_r (malloc'd, caller frees) set.
 */
int msg_set_target(const char *target, char **error_r);

/* msg_set_verbose - messages of msg_debug() are logged when level > 0. */
void msg_set_verbose(int level);
int msg_verbose(void);

/* msg_progname - the name given to msg_init(), "tern" before that. */
const char *msg_progname(void);

void msg_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void msg_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
