/*
 * ternadmin - manage the domains, users and aliases of Tern's directory,
 * and the users' mail: import, export, store upkeep (see ternadmin(1)).
 *
 *   ternadmin [-c dir] [--json] [-v] domain|user|alias|store VERB [ARGS...]
 *   ternadmin [-c dir] [--json] [-v] import|export maildir|mbox ARGS...
 *
 * This file holds the global options, loading main.cf, logging, messages and
 * the reporting of changes; each object's commands are in their own file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/directory.h"
#include "mail/mail_conf.h"
#include "tools/ternadmin/ternadmin.h"
#include "util/msg.h"
#include "util/mymalloc.h"

static void usage(FILE *fp)
{
	fputs("usage: ternadmin [-c dir] [--json] [-v] COMMAND\n"
	      "commands:\n"
	      "  domain add DOMAIN [--not-local]\n"
	      "  domain del DOMAIN [--force] [--purge]\n"
	      "  domain enable|disable DOMAIN\n"
	      "  domain list\n"
	      "  user add ADDRESS [--name NAME] [--quota SIZE] [--quota-messages N]\n"
	      "                   [--scheme yescrypt|argon2id] [--disabled]\n"
	      "  user del ADDRESS [--purge]\n"
	      "  user list [DOMAIN]\n"
	      "  user passwd ADDRESS [--scheme yescrypt|argon2id]\n"
	      "  user quota ADDRESS SIZE [MESSAGES]\n"
	      "  user enable|disable ADDRESS\n"
	      "  user name ADDRESS NAME\n"
	      "  alias add ADDRESS TARGET...\n"
	      "  alias del ADDRESS [TARGET]\n"
	      "  alias list [DOMAIN]\n"
	      "  import maildir ADDRESS PATH [--folder NAME]\n"
	      "  import mbox ADDRESS FILE|DIR [--folder NAME]\n"
	      "  export maildir ADDRESS PATH\n"
	      "  export mbox ADDRESS DIR\n"
	      "  export mbox ADDRESS FILE --folder NAME\n"
	      "  store info ADDRESS\n"
	      "  store gc ADDRESS [--min-age SECONDS]\n"
	      "Passwords are read from the terminal, or from standard input when it is not one.\n",
	      fp);
}

/* ta_vreport - "ternadmin: <command>: [label]message" on stderr. */
__attribute__((format(printf, 3, 0))) static void
ta_vreport(const struct ternadmin *ta, const char *label, const char *fmt, va_list ap)
{
	fflush(stdout);
	if (ta->command != NULL)
		fprintf(stderr, "ternadmin: %s: %s", ta->command, label);
	else
		fprintf(stderr, "ternadmin: %s", label);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ta_error(const struct ternadmin *ta, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ta_vreport(ta, "", fmt, ap);
	va_end(ap);
}

void ta_warn(const struct ternadmin *ta, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ta_vreport(ta, "warning: ", fmt, ap);
	va_end(ap);
}

int ta_usage_error(const struct ternadmin *ta, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ta_vreport(ta, "", fmt, ap);
	va_end(ap);
	fputs("Run \"ternadmin --help\" for the usage.\n", stderr);
	return TA_USAGE;
}

int ta_open(struct ternadmin *ta, int flags)
{
	char *err = NULL;

	ta->dir = directory_open(ta->conf, flags, &err);
	if (ta->dir != NULL)
		return 0;
	ta_error(ta, "%s", err);
	free(err);
	return -1;
}

int ta_list_scope(struct ternadmin *ta, int argc, char **argv, struct dir_domain *d,
		  const char **domain_r)
{
	const struct ta_option opts[] = {{NULL, NULL, NULL}};
	char **args, *err = NULL;
	enum dir_result r;
	int n, status;

	memset(d, 0, sizeof(*d));
	*domain_r = NULL;
	if ((status = ta_parse(ta, argc, argv, opts, 0, 1, &args, &n)) != TA_OK)
		return status;
	status = TA_FAIL;
	if (ta_open(ta, DIR_READ) < 0) {
		/* reported */
	} else if (n == 0) {
		status = TA_OK;
	} else if ((r = directory_domain(ta->dir, args[0], d, &err)) == DIR_FOUND) {
		*domain_r = d->name;
		status = TA_OK;
	} else if (r == DIR_ERROR) {
		ta_error(ta, "%s", err);
	} else {
		ta_error(ta, "domain %s does not exist", args[0]);
	}
	free(err);
	free(args);
	return status;
}

void ta_changed(struct ternadmin *ta, const char *event, const char *const *kv)
{
	struct strbuf line = STRBUF_INIT;
	size_t i;

	strbuf_printf(&line, "%s:", event);
	for (i = 0; kv[i] != NULL && kv[i + 1] != NULL; i += 2)
		strbuf_printf(&line, "%s %s=%s", i == 0 ? "" : ",", kv[i], kv[i + 1]);
	strbuf_printf(&line, "%sby=uid %u", i == 0 ? " " : ", ", (unsigned)ta->uid);
	msg_info("%s", strbuf_str(&line));
	if (!ta->json) {
		printf("ternadmin: %s\n", strbuf_str(&line));
	} else {
		if (ta->nchanges++ > 0)
			strbuf_puts(&ta->changes, ",");
		strbuf_puts(&ta->changes, "{\"event\":");
		ta_json_str(&ta->changes, event);
		for (i = 0; kv[i] != NULL && kv[i + 1] != NULL; i += 2) {
			strbuf_putc(&ta->changes, ',');
			ta_json_str(&ta->changes, kv[i]);
			strbuf_putc(&ta->changes, ':');
			ta_json_str(&ta->changes, kv[i + 1]);
		}
		strbuf_puts(&ta->changes, "}");
	}
	strbuf_free(&line);
}

void ta_finish(struct ternadmin *ta, int status)
{
	if (ta->json && !ta->listed && (ta->nchanges > 0 || status == TA_OK))
		printf("{\"ok\":%s,\"changes\":[%s]}\n", status == TA_OK ? "true" : "false",
		       strbuf_str(&ta->changes));
}

/* load_conf - main.cf, and logging to its log_to. */
static int load_conf(struct ternadmin *ta)
{
	char *err = NULL;

	ta->conf = mail_conf_load(ta->config_dir, &err);
	if (ta->conf == NULL) {
		ta_error(ta, "%s", err);
		free(err);
		return -1;
	}
	if (msg_set_target(mail_conf_str(ta->conf, "log_to"), &err) < 0) {
		ta_error(ta, "log_to: %s", err);
		free(err);
		return -1;
	}
	return 0;
}

/* global_options - -c dir, --json, -v, --help before the command; the index of the command. */
static int global_options(struct ternadmin *ta, int argc, char **argv, int *index_r)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			ta->config_dir = argv[++i];
		} else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2] != '\0') {
			ta->config_dir = argv[i] + 2;
		} else if (strcmp(argv[i], "--json") == 0) {
			ta->json = 1;
		} else if (strcmp(argv[i], "-v") == 0) {
			msg_set_verbose(msg_verbose() + 1);
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			exit(TA_OK);
		} else {
			return ta_usage_error(ta, "unknown option \"%s\"", argv[i]);
		}
	}
	*index_r = i;
	return TA_OK;
}

int main(int argc, char **argv)
{
	struct ternadmin ta;
	const char *object, *verb;
	int i = 1, status;

	memset(&ta, 0, sizeof(ta));
	ta.uid = getuid();
	strbuf_init(&ta.changes, 0);
	msg_init("ternadmin");
	if ((status = global_options(&ta, argc, argv, &i)) != TA_OK)
		return status;
	if (argc - i < 1) {
		usage(stderr);
		return TA_USAGE;
	}
	object = argv[i];
	if (strcmp(object, "domain") != 0 && strcmp(object, "user") != 0 &&
	    strcmp(object, "alias") != 0 && strcmp(object, "import") != 0 &&
	    strcmp(object, "export") != 0 && strcmp(object, "store") != 0)
		return ta_usage_error(
		    &ta, "unknown command \"%s\": use domain, user, alias, import, export or store",
		    object);
	if (argc - i < 2)
		return ta_usage_error(&ta, "%s: missing %s", object,
				      strcmp(object, "import") == 0 || strcmp(object, "export") == 0
					  ? "format (maildir or mbox)"
				      : strcmp(object, "store") == 0
					  ? "command (info or gc)"
					  : "command (add, del, list, ...)");
	verb = argv[i + 1];
	ta.command = xasprintf("%s %s", object, verb);
	if (load_conf(&ta) < 0) {
		status = TA_FAIL;
	} else if (strcmp(object, "domain") == 0) {
		status = ta_domain(&ta, verb, argc - i - 2, argv + i + 2);
	} else if (strcmp(object, "user") == 0) {
		status = ta_user(&ta, verb, argc - i - 2, argv + i + 2);
	} else if (strcmp(object, "import") == 0) {
		status = ta_import(&ta, verb, argc - i - 2, argv + i + 2);
	} else if (strcmp(object, "export") == 0) {
		status = ta_export(&ta, verb, argc - i - 2, argv + i + 2);
	} else if (strcmp(object, "store") == 0) {
		status = ta_store(&ta, verb, argc - i - 2, argv + i + 2);
	} else {
		status = ta_alias(&ta, verb, argc - i - 2, argv + i + 2);
	}
	ta_finish(&ta, status);
	directory_close(&ta.dir);
	mail_conf_free(&ta.conf);
	strbuf_free(&ta.changes);
	free((char *)ta.command);
	return status;
}
