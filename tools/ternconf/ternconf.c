/*
 * ternconf - show the main.cf parameters and the master.cf services.
 *
 *   ternconf [-c dir] [-d | -n] [-h] [-x] [name...]
 *   ternconf [-c dir] -e name=value...
 *   ternconf [-c dir] -M [service[/type]...]
 *   ternconf -m
 *
 * This file holds the options and the two "show" modes; -e and -m live in
 * ternconf_edit.c and ternconf_man.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "mail/master_conf.h"
#include "tools/ternconf/ternconf.h"
#include "util/config.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* What to show for parameters. */
struct show_opts {
	int defaults;	/* -d: the built-in defaults, not main.cf */
	int nondefault; /* -n: only parameters set in main.cf */
	int expand;	/* -x: expanded values */
	int value_only; /* -h: no "name = " */
};

void ternconf_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("ternconf: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ternconf_warnings(const char *const *warnings)
{
	for (; *warnings != NULL; warnings++)
		ternconf_error("warning: %s", *warnings);
}

static void usage(void)
{
	fputs("usage: ternconf [-c dir] [-d | -n] [-h] [-x] [name...]\n"
	      "       ternconf [-c dir] -e name=value...\n"
	      "       ternconf [-c dir] -M [service[/type]...]\n"
	      "       ternconf -m\n",
	      stderr);
}

/* load - read config_dir/main.cf, reporting warnings and errors; NULL after an error. */
static struct mail_conf *load(const char *config_dir)
{
	char *path = xasprintf("%s/main.cf", config_dir), *text, *error;
	struct mail_conf *conf = NULL;
	size_t len;

	if (config_read_file(path, &text, &len, &error) == 0) {
		conf = mail_conf_parse(config_dir, path, text, len, &error);
		free(text);
	}
	if (conf == NULL) {
		ternconf_error("%s", error);
		free(error);
	} else {
		ternconf_warnings(mail_conf_warnings(conf));
	}
	free(path);
	return conf;
}

static void print_param(const struct mail_conf *conf, const char *name,
			const struct show_opts *opts)
{
	const char *value = opts->expand ? mail_conf_value(conf, name) : mail_conf_raw(conf, name);

	if (opts->value_only)
		printf("%s\n", value);
	else if (*value == '\0')
		printf("%s =\n", name);
	else
		printf("%s = %s\n", name, value);
}

/* show_params - print all parameters, or those named. */
static int show_params(const char *config_dir, const struct show_opts *opts, char **names,
		       int count)
{
	struct mail_conf *conf = opts->defaults ? mail_conf_defaults() : load(config_dir);
	const struct param_def *def;
	int i, status = 0;

	if (conf == NULL)
		return 1;
	for (i = 0; count == 0 && mail_param_table[i].name != NULL; i++) {
		def = &mail_param_table[i];
		if (!opts->nondefault || mail_conf_source(conf, def->name) == MAIL_CONF_FILE)
			print_param(conf, def->name, opts);
	}
	for (i = 0; i < count; i++) {
		if (param_find(names[i]) == NULL) {
			ternconf_error("unknown parameter \"%s\"", names[i]);
			status = 1;
		} else if (!opts->nondefault ||
			   mail_conf_source(conf, names[i]) == MAIL_CONF_FILE) {
			print_param(conf, names[i], opts);
		}
	}
	mail_conf_free(&conf);
	return status;
}

/* needs_braces - an argument that master.cf can only hold as "{ ... }". */
static int needs_braces(const char *arg)
{
	return *arg == '\0' || *arg == '{' || strcmp(arg, "-o") == 0 ||
	       arg[strcspn(arg, " \t")] != '\0';
}

static void print_arg(const char *arg)
{
	printf(needs_braces(arg) ? " { %s }" : " %s", arg);
}

/* print_service - one service with its columns normalised: flags y/n, numbers. */
static void print_service(const struct master_service_conf *svc)
{
	char **p;

	printf("%-10s %-5s %-7s %-7s %-7s %-7d %-7d %s", svc->name,
	       master_service_type_name(svc->type), svc->private_ ? "y" : "n",
	       svc->unpriv ? "y" : "n", svc->chroot_ ? "y" : "n", svc->wakeup, svc->maxproc,
	       svc->command);
	for (p = svc->overrides; *p != NULL; p++) {
		fputs(" -o", stdout);
		print_arg(*p);
	}
	for (p = svc->args; *p != NULL; p++)
		print_arg(*p);
	putchar('\n');
}

/* service_matches - "name" or "name/type". */
static int service_matches(const struct master_service_conf *svc, const char *want)
{
	const char *slash = strrchr(want, '/');

	if (slash == NULL)
		return strcmp(svc->name, want) == 0;
	return strlen(svc->name) == (size_t)(slash - want) &&
	       strncmp(svc->name, want, (size_t)(slash - want)) == 0 &&
	       strcmp(slash + 1, master_service_type_name(svc->type)) == 0;
}

/* show_services - print master.cf, all services or those named. */
static int show_services(const char *config_dir, char **names, int count)
{
	struct mail_conf *conf = load(config_dir);
	struct master_conf *mc = NULL;
	char *path, *error;
	int i, found, status = 0;
	size_t j;

	if (conf == NULL)
		return 1;
	path = xasprintf("%s/master.cf", config_dir);
	if (master_conf_read(path, conf, &mc, &error) < 0) {
		ternconf_error("%s", error);
		free(error);
		status = 1;
	}
	for (j = 0; mc != NULL && count == 0 && j < mc->count; j++)
		print_service(&mc->services[j]);
	for (i = 0; mc != NULL && i < count; i++) {
		for (found = 0, j = 0; j < mc->count; j++) {
			if (service_matches(&mc->services[j], names[i])) {
				print_service(&mc->services[j]);
				found = 1;
			}
		}
		if (!found) {
			ternconf_error("no service \"%s\" in %s", names[i], path);
			status = 1;
		}
	}
	master_conf_free(&mc);
	mail_conf_free(&conf);
	free(path);
	return status;
}

int main(int argc, char **argv)
{
	struct show_opts opts = {0, 0, 0, 0};
	const char *config_dir = TERN_CONFIG_DIR;
	int ch, edit = 0, master = 0, man = 0, status;

	msg_init("ternconf");
	while ((ch = getopt(argc, argv, "c:dehmMnx")) != -1) {
		switch (ch) {
		case 'c':
			config_dir = optarg;
			break;
		case 'd':
			opts.defaults = 1;
			break;
		case 'e':
			edit = 1;
			break;
		case 'h':
			opts.value_only = 1;
			break;
		case 'm':
			man = 1;
			break;
		case 'M':
			master = 1;
			break;
		case 'n':
			opts.nondefault = 1;
			break;
		case 'x':
			opts.expand = 1;
			break;
		default:
			usage();
			return 1;
		}
	}
	argv += optind;
	argc -= optind;
	if (edit + master + man > 1 || (opts.defaults && opts.nondefault) ||
	    ((edit || master || man) &&
	     (opts.defaults || opts.nondefault || opts.expand || opts.value_only)) ||
	    (man && argc > 0) || (edit && argc == 0)) {
		usage();
		return 1;
	}
	if (man)
		status = ternconf_man(stdout);
	else if (edit)
		status = ternconf_edit(config_dir, argv, argc);
	else if (master)
		status = show_services(config_dir, argv, argc);
	else
		status = show_params(config_dir, &opts, argv, argc);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ternconf_error("write error on standard output");
		status = 1;
	}
	return status;
}
