/*
 * master_conf - read master.cf into service entries, checking every column.
 *
 * The logical lines come from util/config (same comment and continuation
 * rules as main.cf); each is split into white-space separated fields, with
 * "{ ... }" keeping spaces inside one field. The first error ends the read.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "mail/mail_conf.h"
#include "mail/master_conf.h"
#include "util/config.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* The columns before the arguments, for messages. */
static const char *const column_names[] = {"service", "type",	"private", "unpriv",
					   "chroot",  "wakeup", "maxproc", "command"};
#define COLUMNS (sizeof(column_names) / sizeof(column_names[0]))

/* One field of a line: its text and whether it was written as { ... }. */
struct field {
	char *text;
	int grouped;
};

/* Where the entry being read is, for messages. */
struct where {
	const char *path;
	int line;
};

/* fail - "path:line: field: message" into *error_r; always returns -1. */
static int fail(const struct where *at, const char *field, char **error_r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(const struct where *at, const char *field, char **error_r, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	*error_r = xasprintf("%s:%d: %s: %s", at->path, at->line, field, text);
	free(text);
	return -1;
}

static void fields_free(struct field *fields, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(fields[i].text);
	free(fields);
}

/* split_fields - the fields of one logical line. */
static int split_fields(const struct where *at, const char *text, struct field **fields_r,
			size_t *count_r, char **error_r)
{
	struct field *fields = NULL;
	size_t count = 0, len;
	const char *p = text, *start, *end, *close;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		fields = xreallocarray(fields, count + 1, sizeof(*fields));
		if (*p == '{') {
			if ((close = strchr(p, '}')) == NULL) {
				fields_free(fields, count);
				return fail(at, count < COLUMNS ? column_names[count] : "argument",
					    error_r, "missing '}' after \"{\"");
			}
			start = p + 1;
			end = close;
			while (start < end && isspace((unsigned char)*start))
				start++;
			while (end > start && isspace((unsigned char)end[-1]))
				end--;
			fields[count].text = xstrndup(start, (size_t)(end - start));
			fields[count].grouped = 1;
			p = close + 1;
		} else {
			len = strcspn(p, " \t\r\n\f\v");
			fields[count].text = xstrndup(p, len);
			fields[count].grouped = 0;
			p += len;
		}
		count++;
	}
	*fields_r = fields;
	*count_r = count;
	return 0;
}

/*
 * The service names of Tern's own protocols, with their IANA port numbers:
 * used when /etc/services lacks them (a minimal system or a chroot).
 */
static const struct {
	const char *name;
	int port;
} known_ports[] = {
    {"smtp", 25},   {"submission", 587}, {"submissions", 465}, {"imap", 143},
    {"imaps", 993}, {"pop3", 110},	 {"pop3s", 995},       {"sieve", 4190},
};

/* port_by_name - a TCP port from /etc/services or known_ports, or -1. */
static int port_by_name(const char *name)
{
	struct servent *se = getservbyname(name, "tcp");
	size_t i;

	if (se != NULL)
		return ntohs((unsigned short)se->s_port);
	for (i = 0; i < sizeof(known_ports) / sizeof(known_ports[0]); i++)
		if (strcmp(known_ports[i].name, name) == 0)
			return known_ports[i].port;
	return -1;
}

/* parse_port - a port number or a name from /etc/services, as a decimal string. */
static int parse_port(const struct where *at, const char *port, char **port_r, char **error_r)
{
	char *end;
	long n;
	int num;

	if (*port == '\0')
		return fail(at, "service", error_r, "missing port after ':'");
	if (isdigit((unsigned char)*port)) {
		n = strtol(port, &end, 10);
		if (*end != '\0' || n < 1 || n > 65535)
			return fail(at, "service", error_r,
				    "bad port \"%s\" (expected a number from 1 to 65535 or a "
				    "name from /etc/services)",
				    port);
		*port_r = xasprintf("%ld", n);
		return 0;
	}
	if (strspn(port, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
		strlen(port) ||
	    (num = port_by_name(port)) < 0)
		return fail(at, "service", error_r,
			    "unknown port name \"%s\" (not a number, not in /etc/services)", port);
	*port_r = xasprintf("%d", num);
	return 0;
}

/* parse_inet_name - port, host:port or [ipv6]:port. */
static int parse_inet_name(const struct where *at, const char *name, char **host_r, char **port_r,
			   char **error_r)
{
	struct in6_addr addr6;
	const char *colon, *close;
	char *host;

	*host_r = *port_r = NULL;
	if (name[0] == '[') {
		if ((close = strchr(name, ']')) == NULL || close[1] != ':')
			return fail(at, "service", error_r,
				    "\"%s\": expected [address]:port for an IPv6 address", name);
		host = xstrndup(name + 1, (size_t)(close - name - 1));
		if (inet_pton(AF_INET6, host, &addr6) != 1) {
			fail(at, "service", error_r, "\"%s\" is not an IPv6 address", host);
			free(host);
			return -1;
		}
		if (parse_port(at, close + 2, port_r, error_r) < 0) {
			free(host);
			return -1;
		}
		*host_r = host;
		return 0;
	}
	if ((colon = strrchr(name, ':')) == NULL)
		return parse_port(at, name, port_r, error_r);
	if (memchr(name, ':', (size_t)(colon - name)) != NULL)
		return fail(at, "service", error_r,
			    "\"%s\": write an IPv6 address in brackets, as [address]:port", name);
	if (colon == name)
		return fail(at, "service", error_r, "\"%s\": missing host before ':'", name);
	host = xstrndup(name, (size_t)(colon - name));
	if (strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
	    strlen(host)) {
		fail(at, "service", error_r, "\"%s\" is not a host name or IPv4 address", host);
		free(host);
		return -1;
	}
	if (parse_port(at, colon + 1, port_r, error_r) < 0) {
		free(host);
		return -1;
	}
	*host_r = host;
	return 0;
}

/* parse_socket_name - a unix or pass service: its socket path in the queue directory. */
static int parse_socket_name(const struct where *at, const char *name, int private_,
			     const struct mail_conf *conf, char **path_r, char **error_r)
{
	struct sockaddr_un addr;
	char *path;

	if (name[0] == '.' ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
		strlen(name))
		return fail(at, "service", error_r,
			    "bad socket name \"%s\" (use letters, digits, '.', '-' and '_', not "
			    "starting with '.')",
			    name);
	path = xasprintf("%s/%s/%s", mail_conf_str(conf, "queue_directory"),
			 private_ ? "private" : "public", name);
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fail(at, "service", error_r, "socket path %s is longer than %zu bytes", path,
		     sizeof(addr.sun_path) - 1);
		free(path);
		return -1;
	}
	*path_r = path;
	return 0;
}

/* parse_flag - a y/n/- column. */
static int parse_flag(const struct where *at, const char *field, const char *text, int defval,
		      int *flag, char **error_r)
{
	if (strcmp(text, "-") == 0)
		*flag = defval;
	else if (strcmp(text, "y") == 0)
		*flag = 1;
	else if (strcmp(text, "n") == 0)
		*flag = 0;
	else
		return fail(at, field, error_r, "\"%s\" is not y, n or -", text);
	return 0;
}

/* parse_count - a non-negative integer or "-" column. */
static int parse_count(const struct where *at, const char *field, const char *text, int defval,
		       int *count, char **error_r)
{
	long long n = 0;
	const char *p;

	if (strcmp(text, "-") == 0) {
		*count = defval;
		return 0;
	}
	for (p = text; isdigit((unsigned char)*p) && n <= INT_MAX; p++)
		n = n * 10 + (*p - '0');
	if (p == text || *p != '\0' || n > INT_MAX)
		return fail(at, field, error_r,
			    "\"%s\" is not a non-negative integer (at most %d) or \"-\"", text,
			    INT_MAX);
	*count = (int)n;
	return 0;
}

/* parse_type - inet, unix or pass. */
static int parse_type(const struct where *at, const char *text, enum master_service_type *type,
		      char **error_r)
{
	if (strcmp(text, "inet") == 0)
		*type = MASTER_INET;
	else if (strcmp(text, "unix") == 0)
		*type = MASTER_UNIX;
	else if (strcmp(text, "pass") == 0)
		*type = MASTER_PASS;
	else
		return fail(at, "type", error_r,
			    "unknown service type \"%s\" (expected inet, unix or pass)", text);
	return 0;
}

/* append - add str to a NULL-terminated vector of *n strings. */
static void append(char ***argv, size_t *n, char *str)
{
	*argv = xreallocarray(*argv, *n + 2, sizeof(char *));
	(*argv)[(*n)++] = str;
	(*argv)[*n] = NULL;
}

/* normalize_override - "name=value" without white space around either. */
static char *normalize_override(const char *text)
{
	const char *eq = strchr(text, '='), *ne = eq, *vs = eq + 1, *ve = text + strlen(text);

	while (ne > text && isspace((unsigned char)ne[-1]))
		ne--;
	while (isspace((unsigned char)*vs))
		vs++;
	while (ve > vs && isspace((unsigned char)ve[-1]))
		ve--;
	return xasprintf("%.*s=%.*s", (int)(ne - text), text, (int)(ve - vs), vs);
}

/* parse_args - the arguments after the command: -o overrides checked, others kept. */
static int parse_args(const struct where *at, struct field *fields, size_t count,
		      const struct mail_conf *conf, struct master_service_conf *svc, char **error_r)
{
	struct mail_conf *check = NULL;
	size_t i, nargs = 0, novr = 0;
	char *origin, *assignment;
	int ret = 0;

	svc->args = xcalloc(1, sizeof(char *));
	svc->overrides = xcalloc(1, sizeof(char *));
	origin = xasprintf("%s:%d", at->path, at->line);
	for (i = COLUMNS; i < count && ret == 0; i++) {
		if (fields[i].grouped || strcmp(fields[i].text, "-o") != 0) {
			append(&svc->args, &nargs, xstrdup(fields[i].text));
			continue;
		}
		if (++i == count) {
			ret = fail(at, "-o", error_r, "missing name=value after -o");
		} else if (strchr(fields[i].text, '=') == NULL) {
			ret = fail(at, "-o", error_r, "\"%s\" is not name=value", fields[i].text);
		} else {
			assignment = normalize_override(fields[i].text);
			if (check == NULL)
				check = mail_conf_dup(conf);
			ret = mail_conf_override(check, assignment, origin, error_r);
			append(&svc->overrides, &novr, assignment);
		}
	}
	mail_conf_free(&check);
	free(origin);
	return ret;
}

/* parse_service - one logical line into svc (whose strings the caller frees). */
static int parse_service(const struct where *at, struct field *fields, size_t count,
			 const struct mail_conf *conf, struct master_service_conf *svc,
			 char **error_r)
{
	const char *cmd;

	if (count < COLUMNS)
		return fail(at, column_names[count], error_r,
			    "missing (expected: service type private unpriv chroot wakeup maxproc "
			    "command [arguments])");
	svc->name = xstrdup(fields[0].text);
	if (parse_type(at, fields[1].text, &svc->type, error_r) < 0 ||
	    parse_flag(at, "private", fields[2].text, svc->type != MASTER_INET, &svc->private_,
		       error_r) < 0 ||
	    parse_flag(at, "unpriv", fields[3].text, 1, &svc->unpriv, error_r) < 0 ||
	    parse_flag(at, "chroot", fields[4].text, 0, &svc->chroot_, error_r) < 0 ||
	    parse_count(at, "wakeup", fields[5].text, 0, &svc->wakeup, error_r) < 0 ||
	    parse_count(at, "maxproc", fields[6].text,
			(int)mail_conf_int(conf, "default_process_limit"), &svc->maxproc,
			error_r) < 0)
		return -1;
	if (svc->type == MASTER_INET && svc->private_)
		return fail(at, "private", error_r,
			    "an inet service cannot be private (write n or -)");
	if (svc->name[0] == '\0')
		return fail(at, "service", error_r, "empty service name");
	if (svc->type == MASTER_INET) {
		if (parse_inet_name(at, svc->name, &svc->host, &svc->port, error_r) < 0)
			return -1;
	} else if (parse_socket_name(at, svc->name, svc->private_, conf, &svc->path, error_r) < 0) {
		return -1;
	}
	cmd = fields[7].text;
	if (cmd[0] == '\0')
		return fail(at, "command", error_r, "missing");
	if (cmd[0] != '/' && strchr(cmd, '/') != NULL)
		return fail(at, "command", error_r,
			    "\"%s\": give a program name in daemon_directory or an absolute path",
			    cmd);
	svc->command = xstrdup(cmd);
	return parse_args(at, fields, count, conf, svc, error_r);
}

static void service_free(struct master_service_conf *svc)
{
	free(svc->name);
	free(svc->host);
	free(svc->port);
	free(svc->path);
	free(svc->command);
	argv_free(svc->args);
	argv_free(svc->overrides);
	free(svc->file);
}

const char *master_service_type_name(enum master_service_type type)
{
	switch (type) {
	case MASTER_INET:
		return "inet";
	case MASTER_UNIX:
		return "unix";
	case MASTER_PASS:
		return "pass";
	}
	msg_panic("master_service_type_name: bad type %d", (int)type);
}

/* check_duplicate - the same name and type may be defined only once. */
static int check_duplicate(const struct where *at, const struct master_conf *mc,
			   const struct master_service_conf *svc, char **error_r)
{
	size_t i;

	for (i = 0; i < mc->count; i++)
		if (mc->services[i].type == svc->type &&
		    strcmp(mc->services[i].name, svc->name) == 0)
			return fail(at, "service", error_r,
				    "\"%s\" (%s) is already defined at line %d", svc->name,
				    master_service_type_name(svc->type), mc->services[i].line);
	return 0;
}

int master_conf_parse(const char *path, const char *text, size_t len, const struct mail_conf *conf,
		      struct master_conf **result, char **error_r)
{
	struct master_conf *mc = xcalloc(1, sizeof(*mc));
	struct master_service_conf svc;
	struct config_line *lines;
	struct field *fields = NULL;
	size_t nlines, nfields = 0, i;
	struct where at = {path, 0};
	int ret = 0;

	if (conf == NULL)
		msg_panic("master_conf_parse: no mail_conf");
	if (config_lines(path, text, len, &lines, &nlines, error_r) < 0) {
		free(mc);
		return -1;
	}
	for (i = 0; i < nlines && ret == 0; i++) {
		at.line = lines[i].line;
		if (split_fields(&at, lines[i].text, &fields, &nfields, error_r) < 0) {
			ret = -1;
			break;
		}
		memset(&svc, 0, sizeof(svc));
		svc.file = xstrdup(path);
		svc.line = at.line;
		if ((ret = parse_service(&at, fields, nfields, conf, &svc, error_r)) == 0)
			ret = check_duplicate(&at, mc, &svc, error_r);
		fields_free(fields, nfields);
		if (ret < 0) {
			service_free(&svc);
			break;
		}
		mc->services = xreallocarray(mc->services, mc->count + 1, sizeof(*mc->services));
		mc->services[mc->count++] = svc;
	}
	config_lines_free(&lines, nlines);
	if (ret < 0) {
		master_conf_free(&mc);
		return -1;
	}
	*result = mc;
	return 0;
}

int master_conf_read(const char *path, const struct mail_conf *conf, struct master_conf **result,
		     char **error_r)
{
	char *text;
	size_t len;
	int ret;

	if (config_read_file(path, &text, &len, error_r) < 0)
		return -1;
	ret = master_conf_parse(path, text, len, conf, result, error_r);
	free(text);
	return ret;
}

void master_conf_free(struct master_conf **mconf)
{
	size_t i;

	if (*mconf == NULL)
		return;
	for (i = 0; i < (*mconf)->count; i++)
		service_free(&(*mconf)->services[i]);
	free((*mconf)->services);
	XFREE(*mconf);
}
