/*
 * ternadmin_alias - ternadmin alias add|del|list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/directory.h"
#include "tools/ternadmin/ternadmin.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* stored_name - the alias's name as stored, after a change (address as given when gone). */
static char *stored_name(struct ternadmin *ta, const char *address)
{
	struct dir_alias al;
	char *err = NULL, *name;

	if (directory_alias(ta->dir, address, &al, &err) != DIR_FOUND) {
		free(err);
		return xstrdup(address);
	}
	name = xstrdup(al.address);
	dir_alias_free(&al);
	return name;
}

static int alias_add(struct ternadmin *ta, int argc, char **argv)
{
	const struct ta_option opts[] = {{NULL, NULL, NULL}};
	char **args, *err = NULL, *name;
	struct strbuf targets = STRBUF_INIT;
	int n, i, status;

	if ((status = ta_parse(ta, argc, argv, opts, 2, -1, &args, &n)) != TA_OK)
		return status;
	status = TA_FAIL;
	if (ta_open(ta, DIR_WRITE) < 0) {
		/* reported */
	} else if (directory_alias_add(ta->dir, args[0], (const char *const *)args + 1,
				       (size_t)n - 1, &err) < 0) {
		ta_error(ta, "%s", err);
		free(err);
	} else {
		for (i = 1; i < n; i++)
			strbuf_printf(&targets, "%s%s", i > 1 ? " " : "", args[i]);
		name = stored_name(ta, args[0]);
		ta_changed(
		    ta, "alias added",
		    (const char *const[]){"alias", name, "targets", strbuf_str(&targets), NULL});
		free(name);
		status = TA_OK;
	}
	strbuf_free(&targets);
	free(args);
	return status;
}

static int alias_del(struct ternadmin *ta, int argc, char **argv)
{
	const struct ta_option opts[] = {{NULL, NULL, NULL}};
	char **args, *err = NULL, *name = NULL;
	int n, status;

	if ((status = ta_parse(ta, argc, argv, opts, 1, 2, &args, &n)) != TA_OK)
		return status;
	status = TA_FAIL;
	if (ta_open(ta, DIR_WRITE) == 0) {
		name = stored_name(ta, args[0]);
		if (directory_alias_del(ta->dir, args[0], n == 2 ? args[1] : NULL, &err) < 0) {
			ta_error(ta, "%s", err);
			free(err);
		} else {
			ta_changed(ta, n == 2 ? "alias target removed" : "alias removed",
				   (const char *const[]){"alias", name, n == 2 ? "target" : NULL,
							 args[1], NULL});
			status = TA_OK;
		}
	}
	free(name);
	free(args);
	return status;
}

/* print_aliases - the aliases as a table (targets joined by ", ") or JSON. */
static void print_aliases(struct ternadmin *ta, const struct dir_aliases *al)
{
	const char *headers[] = {"ALIAS", "TARGETS"};
	struct ta_table *t = ta_table_new(2, headers);
	struct strbuf out = STRBUF_INIT, joined = STRBUF_INIT;
	size_t i, j;

	strbuf_puts(&out, "{\"aliases\":[");
	for (i = 0; i < al->count; i++) {
		strbuf_reset(&joined);
		strbuf_puts(&out, i > 0 ? ",{\"alias\":" : "{\"alias\":");
		ta_json_str(&out, al->items[i].address);
		strbuf_puts(&out, ",\"catch_all\":");
		strbuf_puts(&out, al->items[i].address[0] == '@' ? "true" : "false");
		strbuf_puts(&out, ",\"targets\":[");
		for (j = 0; j < al->items[i].count; j++) {
			strbuf_printf(&joined, "%s%s", j > 0 ? ", " : "", al->items[i].targets[j]);
			if (j > 0)
				strbuf_putc(&out, ',');
			ta_json_str(&out, al->items[i].targets[j]);
		}
		strbuf_puts(&out, "]}");
		ta_table_row(t, (const char *const[]){al->items[i].address, strbuf_str(&joined)});
	}
	strbuf_puts(&out, "]}\n");
	ta_list_output(ta, &t, &out);
	strbuf_free(&joined);
}

static int alias_list(struct ternadmin *ta, int argc, char **argv)
{
	struct dir_aliases list;
	struct dir_domain d;
	const char *domain;
	char *err = NULL;
	int status;

	if ((status = ta_list_scope(ta, argc, argv, &d, &domain)) == TA_OK) {
		if (directory_alias_list(ta->dir, domain, &list, &err) < 0) {
			ta_error(ta, "%s", err);
			status = TA_FAIL;
		} else {
			print_aliases(ta, &list);
			dir_aliases_free(&list);
		}
	}
	dir_domain_free(&d);
	free(err);
	return status;
}

int ta_alias(struct ternadmin *ta, const char *verb, int argc, char **argv)
{
	if (strcmp(verb, "add") == 0)
		return alias_add(ta, argc, argv);
	if (strcmp(verb, "del") == 0)
		return alias_del(ta, argc, argv);
	if (strcmp(verb, "list") == 0)
		return alias_list(ta, argc, argv);
	return ta_usage_error(ta, "unknown command: use alias add, del or list");
}
