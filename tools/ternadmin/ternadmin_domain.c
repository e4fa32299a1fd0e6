/*
 * ternadmin_domain - ternadmin domain add|del|enable|disable|list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/directory.h"
#include "mail/mail_conf.h"
#include "tools/ternadmin/ternadmin.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* normalised - the domain as the directory stores it, or NULL after reporting why not. */
static char *normalised(struct ternadmin *ta, const char *domain)
{
	struct dir_domain d;
	char *err = NULL, *name;

	if (directory_domain(ta->dir, domain, &d, &err) == DIR_ERROR) {
		ta_error(ta, "%s", err);
		free(err);
		return NULL;
	}
	name = d.name != NULL ? xstrdup(d.name) : NULL;
	dir_domain_free(&d);
	if (name == NULL)
		ta_error(ta, "domain %s does not exist", domain);
	return name;
}

static int domain_add(struct ternadmin *ta, int argc, char **argv)
{
	int not_local = 0, n, status;
	const struct ta_option opts[] = {{"not-local", NULL, &not_local}, {NULL, NULL, NULL}};
	struct dir_domain d;
	char **args, *err = NULL;

	if ((status = ta_parse(ta, argc, argv, opts, 1, 1, &args, &n)) != TA_OK)
		return status;
	status = TA_FAIL;
	if (ta_open(ta, DIR_WRITE) == 0) {
		if (directory_domain_add(ta->dir, args[0], !not_local, &err) < 0) {
			ta_error(ta, "%s", err);
			free(err);
		} else if (directory_domain(ta->dir, args[0], &d, &err) == DIR_FOUND) {
			ta_changed(ta, "domain added",
				   (const char *const[]){"domain", d.name, "local",
							 d.local ? "yes" : "no", NULL});
			dir_domain_free(&d);
			status = TA_OK;
		} else {
			ta_error(ta, "domain %s vanished after it was added", args[0]);
			free(err);
		}
	}
	free(args);
	return status;
}

static int domain_set_local(struct ternadmin *ta, int local, int argc, char **argv)
{
	char **args, *err = NULL, *name;
	const struct ta_option opts[] = {{NULL, NULL, NULL}};
	int n, status;

	if ((status = ta_parse(ta, argc, argv, opts, 1, 1, &args, &n)) != TA_OK)
		return status;
	status = TA_FAIL;
	if (ta_open(ta, DIR_WRITE) == 0 && (name = normalised(ta, args[0])) != NULL) {
		if (directory_domain_set_local(ta->dir, name, local, &err) < 0) {
			ta_error(ta, "%s", err);
			free(err);
		} else {
			ta_changed(ta, local ? "domain enabled" : "domain disabled",
				   (const char *const[]){"domain", name, NULL});
			status = TA_OK;
		}
		free(name);
	}
	free(args);
	return status;
}

/* purge_domain - remove the mail directories of a removed domain. */
static int purge_domain(struct ternadmin *ta, const char *name)
{
	char *path = xasprintf("%s/%s", mail_conf_str(ta->conf, "store_directory"), name);
	char *err = NULL;
	int status = TA_OK;

	if (ta_store_remove(path, &err) < 0) {
		ta_error(ta, "%s", err);
		free(err);
		status = TA_FAIL;
	} else {
		ta_changed(ta, "mail removed", (const char *const[]){"path", path, NULL});
	}
	free(path);
	return status;
}

/* domain_remove - the removal itself, for a domain that exists (name normalised). */
static int domain_remove(struct ternadmin *ta, const char *name, int force, int purge)
{
	struct dir_accounts acc;
	size_t naccounts = 0, naliases = 0;
	char *err = NULL, users[32], aliases[32];

	if (directory_account_list(ta->dir, name, &acc, &err) < 0) {
		ta_error(ta, "%s", err);
		free(err);
		return TA_FAIL;
	}
	if (acc.count > 0 && !force) {
		ta_error(ta,
			 "domain %s still has %zu user%s: add --force to remove %s and the "
			 "domain's aliases (their mail stays unless --purge is given too)",
			 name, acc.count, acc.count == 1 ? "" : "s",
			 acc.count == 1 ? "it" : "them");
		dir_accounts_free(&acc);
		return TA_FAIL;
	}
	dir_accounts_free(&acc);
	if (directory_domain_del(ta->dir, name, force, &naccounts, &naliases, &err) < 0) {
		ta_error(ta, "%s", err);
		free(err);
		return TA_FAIL;
	}
	snprintf(users, sizeof(users), "%zu", naccounts);
	snprintf(aliases, sizeof(aliases), "%zu", naliases);
	ta_changed(ta, "domain removed",
		   (const char *const[]){"domain", name, "users", users, "aliases", aliases, NULL});
	if (purge)
		return purge_domain(ta, name);
	if (naccounts > 0 && !ta->json)
		printf("ternadmin: the mail of its users stays in %s/%s\n",
		       mail_conf_str(ta->conf, "store_directory"), name);
	return TA_OK;
}

static int domain_del(struct ternadmin *ta, int argc, char **argv)
{
	int force = 0, purge = 0, n, status;
	const struct ta_option opts[] = {
	    {"force", NULL, &force}, {"purge", NULL, &purge}, {NULL, NULL, NULL}};
	char **args, *name;

	if ((status = ta_parse(ta, argc, argv, opts, 1, 1, &args, &n)) != TA_OK)
		return status;
	status = TA_FAIL;
	if (ta_open(ta, DIR_WRITE) == 0 && (name = normalised(ta, args[0])) != NULL) {
		status = domain_remove(ta, name, force, purge);
		free(name);
	}
	free(args);
	return status;
}

/* in_domain - whether the canonical address (or "@domain") belongs to domain. */
static int in_domain(const char *address, const char *domain)
{
	const char *at = strrchr(address, '@');

	return at != NULL && strcmp(at + 1, domain) == 0;
}

/* print_domains - the list as a table or JSON, with each domain's users and aliases counted. */
static void print_domains(struct ternadmin *ta, const struct dir_domains *d,
			  const struct dir_accounts *acc, const struct dir_aliases *al)
{
	const char *headers[] = {"DOMAIN", "LOCAL", "USERS", "ALIASES"};
	struct strbuf out = STRBUF_INIT;
	struct ta_table *t = ta_table_new(4, headers);
	char users[32], aliases[32];
	size_t i, j, nu, na;

	strbuf_puts(&out, "{\"domains\":[");
	for (i = 0; i < d->count; i++) {
		const char *name = d->items[i].name;

		for (nu = 0, j = 0; j < acc->count; j++)
			nu += in_domain(acc->items[j].address, name);
		for (na = 0, j = 0; j < al->count; j++)
			na += in_domain(al->items[j].address, name);
		snprintf(users, sizeof(users), "%zu", nu);
		snprintf(aliases, sizeof(aliases), "%zu", na);
		ta_table_row(t, (const char *const[]){name, d->items[i].local ? "yes" : "no", users,
						      aliases});
		strbuf_puts(&out, i > 0 ? ",{\"domain\":" : "{\"domain\":");
		ta_json_str(&out, name);
		strbuf_printf(&out, ",\"local\":%s,\"users\":%zu,\"aliases\":%zu}",
			      d->items[i].local ? "true" : "false", nu, na);
	}
	strbuf_puts(&out, "]}\n");
	ta_list_output(ta, &t, &out);
}

static int domain_list(struct ternadmin *ta, int argc, char **argv)
{
	const struct ta_option opts[] = {{NULL, NULL, NULL}};
	struct dir_domains d;
	struct dir_accounts acc;
	struct dir_aliases al;
	char **args, *err = NULL;
	int n, status;

	if ((status = ta_parse(ta, argc, argv, opts, 0, 0, &args, &n)) != TA_OK)
		return status;
	free(args);
	if (ta_open(ta, DIR_READ) < 0)
		return TA_FAIL;
	memset(&acc, 0, sizeof(acc));
	memset(&al, 0, sizeof(al));
	if (directory_domain_list(ta->dir, &d, &err) < 0 ||
	    directory_account_list(ta->dir, NULL, &acc, &err) < 0 ||
	    directory_alias_list(ta->dir, NULL, &al, &err) < 0) {
		ta_error(ta, "%s", err);
		free(err);
		status = TA_FAIL;
	} else {
		print_domains(ta, &d, &acc, &al);
	}
	dir_domains_free(&d);
	dir_accounts_free(&acc);
	dir_aliases_free(&al);
	return status;
}

int ta_domain(struct ternadmin *ta, const char *verb, int argc, char **argv)
{
	if (strcmp(verb, "add") == 0)
		return domain_add(ta, argc, argv);
	if (strcmp(verb, "del") == 0)
		return domain_del(ta, argc, argv);
	if (strcmp(verb, "enable") == 0)
		return domain_set_local(ta, 1, argc, argv);
	if (strcmp(verb, "disable") == 0)
		return domain_set_local(ta, 0, argc, argv);
	if (strcmp(verb, "list") == 0)
		return domain_list(ta, argc, argv);
	return ta_usage_error(ta, "unknown command: use domain add, del, enable, disable or list");
}
