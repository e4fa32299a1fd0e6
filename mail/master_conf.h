/*
 * master_conf - master.cf: one service per line.
 *
 *   service type private unpriv chroot wakeup maxproc command [args...]
 *
 * type is inet, unix or pass; "-" in a column means its default (private y,
 * unpriv y, chroot n, wakeup 0, maxproc $default_process_limit). An inet
 * service's name is a port name or number ("smtp", "2525") or "host:port"
 * ("127.0.0.1:2525", "[::1]:2525"). Lines starting with white space continue
 * the previous one; '#' starts a comment line. Arguments of the form
 * "-o name=value" are collected as overrides and checked against the
 * parameter table.
 */
#ifndef TERN_MASTER_CONF_H
#define TERN_MASTER_CONF_H

#include <stddef.h>

struct mail_conf;

enum master_service_type { MASTER_INET, MASTER_UNIX, MASTER_PASS };

struct master_service_conf {
	char *name; /* first column, as written */
	enum master_service_type type;
	char *host;	  /* inet: address to bind, NULL for all (inet_interfaces) */
	char *port;	  /* inet: port name or number */
	char *path;	  /* unix/pass: socket path, $queue_directory/{private,public}/name */
	int private_;	  /* 1: private/ (mode 0700 dir), 0: public/ */
	int unpriv;	  /* 1: run as mail_owner/store_owner when master is root */
	int chroot_;	  /* 1: chroot to queue_directory */
	int wakeup;	  /* seconds between wake-up requests, 0 for none */
	int maxproc;	  /* most children at once, 0 for no limit */
	char *command;	  /* program name in daemon_directory */
	char **args;	  /* NULL-terminated: arguments after the command, -o pairs removed */
	char **overrides; /* NULL-terminated "name=value" list from -o */
	char *file;	  /* master.cf path and line of the entry, for messages */
	int line;
};

struct master_conf {
	struct master_service_conf *services;
	size_t count;
};

/*
 * master_conf_read - parse path. conf gives defaults and checks -o names and
 * values. Errors name file:line and the field.
 */
int master_conf_read(const char *path, const struct mail_conf *conf, struct master_conf **result,
		     char **error_r);

void master_conf_free(struct master_conf **mconf);

#endif
