/*
 * ternadmin_user - ternadmin user add|del|list|passwd|quota|enable|disable|name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/address.h"
#include "mail/directory.h"
#include "mail/mail_conf.h"
#include "mail/password.h"
#include "tools/ternadmin/ternadmin.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

#define SIZE_HELP "use a number of bytes with an optional unit k, m, g or t, or unlimited"

/* fetch - the account named address, or -1 after reporting that there is none. */
static int fetch(struct ternadmin *ta, const char *address, struct dir_account *acc)
{
	char *err = NULL;
	enum dir_result r = directory_account(ta->dir, address, acc, &err);

	if (r == DIR_FOUND)
		return 0;
	if (r == DIR_ERROR)
		ta_error(ta, "%s", err);
	else
		ta_error(ta, "user %s does not exist", address);
	free(err);
	return -1;
}

/* check_domain - the domain of a new address must exist; say so when it is not local. */
static int check_domain(struct ternadmin *ta, const char *address)
{
	struct address a;
	struct dir_domain d;
	char *err = NULL;
	enum dir_result r;
	int ret = -1;

	if (address_parse(address, strlen(address), ADDRESS_UTF8 | ADDRESS_NO_LITERAL, &a, &err) <
	    0) {
		ta_error(ta, "bad address \"%s\": %s", address, err);
		free(err);
		address_free(&a);
		return -1;
	}
	r = directory_domain(ta->dir, a.domain, &d, &err);
	if (r == DIR_ERROR) {
		ta_error(ta, "%s", err);
		free(err);
	} else if (r == DIR_NOTFOUND) {
		ta_error(ta,
			 "domain %s is not a local domain: add it first with \"ternadmin domain "
			 "add %s\"",
			 a.domain, a.domain);
	} else {
		if (!d.local)
			ta_warn(ta,
				"domain %s is disabled: no mail is accepted for it until "
				"\"ternadmin domain enable %s\"",
				a.domain, a.domain);
		ret = 0;
	}
	dir_domain_free(&d);
	address_free(&a);
	return ret;
}

/* new_hash - read a new password and hash it with the scheme named (NULL: password_scheme). */
static char *new_hash(struct ternadmin *ta, const char *scheme_name)
{
	enum password_scheme scheme;
	char *password = NULL, *hash = NULL, *err = NULL;

	if (scheme_name == NULL)
		scheme_name = mail_conf_str(ta->conf, "password_scheme");
	if (password_scheme_parse(scheme_name, &scheme, &err) < 0 ||
	    ta_read_password(&password, &err) < 0 ||
	    password_hash(password, scheme, &hash, &err) < 0)
		ta_error(ta, "%s", err);
	free(err);
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	return hash;
}

/* parse_quotas - SIZE and MESSAGES as given (either may be NULL: *_r untouched). */
static int parse_quotas(struct ternadmin *ta, const char *size, const char *messages,
			uint64_t *bytes_r, uint64_t *messages_r)
{
	if (size != NULL && ta_parse_size(size, bytes_r) < 0)
		return ta_usage_error(ta, "bad size \"%s\": " SIZE_HELP, size);
	if (messages != NULL && ta_parse_count(messages, messages_r) < 0)
		return ta_usage_error(
		    ta, "bad number of messages \"%s\": use a number, or unlimited", messages);
	return TA_OK;
}

/* name_ok - a display name the directory takes; checked before the password is asked for. */
static int name_ok(struct ternadmin *ta, const char *name)
{
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			ta_error(ta, "display name holds a control character");
			return 0;
		}
	}
	if (strlen(name) > DIR_DISPLAY_NAME_MAX || !address_utf8_valid(name, strlen(name))) {
		ta_error(ta, "display name must be valid UTF-8 of at most %d bytes",
			 DIR_DISPLAY_NAME_MAX);
		return 0;
	}
	return 1;
}

/* report_added - the change, with the address as stored. */
static void report_added(struct ternadmin *ta, const char *address)
{
	struct dir_account acc;

	if (fetch(ta, address, &acc) < 0)
		return;
	ta_changed(ta, "user added",
		   (const char *const[]){"address", acc.address, "store", acc.store_path, NULL});
	dir_account_free(&acc);
}

static int user_add(struct ternadmin *ta, int argc, char **argv)
{
	const char *name = NULL, *quota = NULL, *qmsgs = NULL, *scheme = NULL;
	int disabled = 0, n, status;
	const struct ta_option opts[] = {{"name", &name, NULL},
					 {"quota", &quota, NULL},
					 {"quota-messages", &qmsgs, NULL},
					 {"scheme", &scheme, NULL},
					 {"disabled", NULL, &disabled},
					 {NULL, NULL, NULL}};
	struct dir_account acc, old;
	char **args = NULL, *err = NULL;

	memset(&acc, 0, sizeof(acc));
	if ((status = ta_parse(ta, argc, argv, opts, 1, 1, &args, &n)) != TA_OK ||
	    (status = parse_quotas(ta, quota, qmsgs, &acc.quota_bytes, &acc.quota_messages)) !=
		TA_OK) {
		free(args);
		return status;
	}
	status = TA_FAIL;
	if ((name == NULL || name_ok(ta, name)) && ta_open(ta, DIR_WRITE) == 0 &&
	    check_domain(ta, args[0]) == 0) {
		enum dir_result r = directory_account(ta->dir, args[0], &old, &err);

		if (r == DIR_ERROR) {
			ta_error(ta, "%s", err);
		} else if (r == DIR_FOUND) {
			ta_error(ta, "user %s already exists", old.address);
			dir_account_free(&old);
		} else if ((acc.password_hash = new_hash(ta, scheme)) != NULL) {
			acc.address = args[0];
			acc.enabled = !disabled;
			acc.display_name = (char *)name;
			if (directory_account_add(ta->dir, &acc, &err) < 0) {
				ta_error(ta, "%s", err);
			} else {
				report_added(ta, args[0]);
				status = TA_OK;
			}
			free(acc.password_hash);
		}
		free(err);
	}
	free(args);
	return status;
}

/* warn_aliases - name the aliases that still list address. */
static void warn_aliases(struct ternadmin *ta, const char *address)
{
	struct dir_aliases al;
	char *err = NULL;
	size_t i, j;

	if (directory_alias_list(ta->dir, NULL, &al, &err) < 0) {
		free(err);
		return;
	}
	for (i = 0; i < al.count; i++) {
		for (j = 0; j < al.items[i].count; j++) {
			if (strcasecmp(al.items[i].targets[j], address) == 0)
				ta_warn(ta, "alias %s still lists %s", al.items[i].address,
					address);
		}
	}
	dir_aliases_free(&al);
}

/* remove_user - remove a fetched account and, with purge, its mail. */
static int remove_user(struct ternadmin *ta, const struct dir_account *acc, int purge)
{
	char *err = NULL;
	int had_alias = 0, has;

	if ((has = ta_store_has_files(acc->store_path, &err)) < 0) {
		ta_error(ta, "%s", err);
		free(err);
		return TA_FAIL;
	}
	if (has && !purge) {
		ta_error(ta, "user %s still has mail in %s: add --purge to delete it with the user",
			 acc->address, acc->store_path);
		return TA_FAIL;
	}
	if (directory_account_del(ta->dir, acc->address, &had_alias, &err) < 0) {
		ta_error(ta, "%s", err);
		free(err);
		return TA_FAIL;
	}
	ta_changed(ta, "user removed", (const char *const[]){"address", acc->address, NULL});
	if (had_alias)
		ta_changed(ta, "alias removed", (const char *const[]){"alias", acc->address, NULL});
	warn_aliases(ta, acc->address);
	if (!purge)
		return TA_OK;
	if (ta_store_remove(acc->store_path, &err) < 0) {
		ta_error(ta, "%s", err);
		free(err);
		return TA_FAIL;
	}
	ta_changed(ta, "mail removed", (const char *const[]){"path", acc->store_path, NULL});
	return TA_OK;
}

static int user_del(struct ternadmin *ta, int argc, char **argv)
{
	int purge = 0, n, status;
	const struct ta_option opts[] = {{"purge", NULL, &purge}, {NULL, NULL, NULL}};
	struct dir_account acc;
	char **args;

	if ((status = ta_parse(ta, argc, argv, opts, 1, 1, &args, &n)) != TA_OK)
		return status;
	status = TA_FAIL;
	if (ta_open(ta, DIR_WRITE) == 0 && fetch(ta, args[0], &acc) == 0) {
		status = remove_user(ta, &acc, purge);
		dir_account_free(&acc);
	}
	free(args);
	return status;
}

/* print_users - the accounts as a table or JSON. */
static void print_users(struct ternadmin *ta, const struct dir_accounts *acc)
{
	const char *headers[] = {"ADDRESS", "NAME", "QUOTA", "MESSAGES", "STATUS"};
	struct ta_table *t = ta_table_new(5, headers);
	struct strbuf out = STRBUF_INIT;
	char *size, msgs[32];
	size_t i;

	strbuf_puts(&out, "{\"users\":[");
	for (i = 0; i < acc->count; i++) {
		const struct dir_account *a = &acc->items[i];

		size = ta_format_size(a->quota_bytes);
		if (a->quota_messages == 0)
			snprintf(msgs, sizeof(msgs), "unlimited");
		else
			snprintf(msgs, sizeof(msgs), "%llu", (unsigned long long)a->quota_messages);
		ta_table_row(t, (const char *const[]){a->address, a->display_name, size, msgs,
						      a->enabled ? "enabled" : "disabled"});
		free(size);
		strbuf_puts(&out, i > 0 ? ",{\"address\":" : "{\"address\":");
		ta_json_str(&out, a->address);
		strbuf_puts(&out, ",\"name\":");
		ta_json_str(&out, a->display_name);
		strbuf_printf(&out, ",\"quota_bytes\":%llu,\"quota_messages\":%llu,\"enabled\":%s",
			      (unsigned long long)a->quota_bytes,
			      (unsigned long long)a->quota_messages, a->enabled ? "true" : "false");
		strbuf_puts(&out, ",\"store_path\":");
		ta_json_str(&out, a->store_path);
		strbuf_putc(&out, '}');
	}
	strbuf_puts(&out, "]}\n");
	ta_list_output(ta, &t, &out);
}

static int user_list(struct ternadmin *ta, int argc, char **argv)
{
	struct dir_accounts list;
	struct dir_domain d;
	const char *domain;
	char *err = NULL;
	int status;

	if ((status = ta_list_scope(ta, argc, argv, &d, &domain)) == TA_OK) {
		if (directory_account_list(ta->dir, domain, &list, &err) < 0) {
			ta_error(ta, "%s", err);
			status = TA_FAIL;
		} else {
			print_users(ta, &list);
			dir_accounts_free(&list);
		}
	}
	dir_domain_free(&d);
	free(err);
	return status;
}

static int user_passwd(struct ternadmin *ta, int argc, char **argv)
{
	const char *scheme = NULL;
	const struct ta_option opts[] = {{"scheme", &scheme, NULL}, {NULL, NULL, NULL}};
	struct dir_account acc;
	char **args, *err = NULL, *hash;
	int n, status;

	if ((status = ta_parse(ta, argc, argv, opts, 1, 1, &args, &n)) != TA_OK)
		return status;
	status = TA_FAIL;
	if (ta_open(ta, DIR_WRITE) == 0 && fetch(ta, args[0], &acc) == 0) {
		if ((hash = new_hash(ta, scheme)) == NULL) {
			/* reported */
		} else if (directory_account_set_password(ta->dir, acc.address, hash, &err) < 0) {
			ta_error(ta, "%s", err);
			free(err);
		} else {
			ta_changed(ta, "password changed",
				   (const char *const[]){"address", acc.address, NULL});
			status = TA_OK;
		}
		free(hash);
		dir_account_free(&acc);
	}
	free(args);
	return status;
}

static int user_quota(struct ternadmin *ta, int argc, char **argv)
{
	const struct ta_option opts[] = {{NULL, NULL, NULL}};
	struct dir_account acc;
	uint64_t bytes = 0, messages = 0;
	char **args, *err = NULL, *size, msgs[32];
	int n, status;

	if ((status = ta_parse(ta, argc, argv, opts, 2, 3, &args, &n)) != TA_OK)
		return status;
	if ((status = parse_quotas(ta, args[1], n == 3 ? args[2] : NULL, &bytes, &messages)) !=
	    TA_OK) {
		free(args);
		return status;
	}
	status = TA_FAIL;
	if (ta_open(ta, DIR_WRITE) == 0 && fetch(ta, args[0], &acc) == 0) {
		if (n == 2)
			messages = acc.quota_messages;
		if (directory_account_set_quota(ta->dir, acc.address, bytes, messages, &err) < 0) {
			ta_error(ta, "%s", err);
			free(err);
		} else {
			size = ta_format_size(bytes);
			snprintf(msgs, sizeof(msgs), "%llu", (unsigned long long)messages);
			ta_changed(ta, "quota changed",
				   (const char *const[]){"address", acc.address, "quota", size,
							 "messages", messages ? msgs : "unlimited",
							 NULL});
			free(size);
			status = TA_OK;
		}
		dir_account_free(&acc);
	}
	free(args);
	return status;
}

/* user_set - enable, disable or name an account. */
static int user_set(struct ternadmin *ta, const char *verb, int argc, char **argv)
{
	const struct ta_option opts[] = {{NULL, NULL, NULL}};
	int naming = strcmp(verb, "name") == 0, enable = strcmp(verb, "enable") == 0, n, status,
	    ret;
	struct dir_account acc;
	char **args, *err = NULL;

	if ((status = ta_parse(ta, argc, argv, opts, naming ? 2 : 1, naming ? 2 : 1, &args, &n)) !=
	    TA_OK)
		return status;
	status = TA_FAIL;
	if (ta_open(ta, DIR_WRITE) == 0 && fetch(ta, args[0], &acc) == 0) {
		if (naming)
			ret =
			    directory_account_set_display_name(ta->dir, acc.address, args[1], &err);
		else
			ret = directory_account_set_enabled(ta->dir, acc.address, enable, &err);
		if (ret < 0) {
			ta_error(ta, "%s", err);
			free(err);
		} else {
			ta_changed(ta,
				   naming   ? "name changed"
				   : enable ? "user enabled"
					    : "user disabled",
				   (const char *const[]){"address", acc.address,
							 naming ? "name" : NULL, args[1], NULL});
			status = TA_OK;
		}
		dir_account_free(&acc);
	}
	free(args);
	return status;
}

int ta_user(struct ternadmin *ta, const char *verb, int argc, char **argv)
{
	if (strcmp(verb, "add") == 0)
		return user_add(ta, argc, argv);
	if (strcmp(verb, "del") == 0)
		return user_del(ta, argc, argv);
	if (strcmp(verb, "list") == 0)
		return user_list(ta, argc, argv);
	if (strcmp(verb, "passwd") == 0)
		return user_passwd(ta, argc, argv);
	if (strcmp(verb, "quota") == 0)
		return user_quota(ta, argc, argv);
	if (strcmp(verb, "enable") == 0 || strcmp(verb, "disable") == 0 ||
	    strcmp(verb, "name") == 0)
		return user_set(ta, verb, argc, argv);
	return ta_usage_error(
	    ta, "unknown command: use user add, del, list, passwd, quota, enable, disable or name");
}
