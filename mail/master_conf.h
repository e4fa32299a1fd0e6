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
 * parameter table. An argument may be written "{ text with spaces }" to
 * keep it one argument ("-o { health_banner = hello world }").
 *
 * The command is a program name, looked up in daemon_directory, or an
 * absolute path name. An inet service may not be private ("-" means n).
 * Port names are resolved with getservbyname() while reading, so that an
 * unknown name is reported with its line.
 */
#ifndef TERN_MASTER_CONF_H
#define TERN_MASTER_CONF_H

#include <stddef.h>

struct mail_conf;

enum master_service_type { MASTER_INET, MASTER_UNIX, MASTER_PASS };

struct master_service_conf {
	char *name; /* first column, as written */
	enum master_service_type type;
	char *host;	  /* inet: address or host name to bind (IPv6 without brackets),
			     NULL when only a port is given (use inet_interfaces) */
	char *port;	  /* inet: port number, decimal (a name is resolved when read) */
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
 * values. Errors name file:line and the field, e.g.
 *   /etc/tern/master.cf:12: maxproc: "x" is not a non-negative integer or "-"
 */
int master_conf_read(const char *path, const struct mail_conf *conf, struct master_conf **result,
		     char **error_r);

/* master_conf_parse - the same for master.cf text held in memory; path names it in messages. */
int master_conf_parse(const char *path, const char *text, size_t len, const struct mail_conf *conf,
		      struct master_conf **result, char **error_r);

/* master_service_type_name - "inet", "unix" or "pass". */
const char *master_service_type_name(enum master_service_type type);

void master_conf_free(struct master_conf **mconf);

#endif
