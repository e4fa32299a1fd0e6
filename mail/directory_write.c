/*
 * directory_write - changes to a directory (see directory.h): the rules a
 * change must follow, each checked and applied under the back-end's
 * writers' lock so that concurrent writers take turns.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "mail/directory.h"
#include "mail/directory_impl.h"
#include "mail/password.h"
#include "util/mymalloc.h"

/* A change, run by locked() with the writers' lock held. */
typedef int (*change_fn)(struct directory *dir, void *ctx, char **error_r);

/* locked - run fn under the writers' lock. */
static int locked(struct directory *dir, change_fn fn, void *ctx, char **error_r)
{
	const struct dir_backend_ops *ops = dir->be->ops;
	int ret;

	if (!(dir->flags & DIR_WRITE)) {
		*error_r = xstrdup("the directory is open for reading only");
		return -1;
	}
	if (ops->lock(dir->be, error_r) < 0)
		return -1;
	ret = fn(dir, ctx, error_r);
	ops->unlock(dir->be);
	return ret;
}

/* need_domain - the domain record of name, which must exist. */
static int need_domain(struct directory *dir, const char *name, struct dir_domain *d,
		       char **error_r)
{
	enum dir_result r;

	memset(d, 0, sizeof(*d));
	r = dir->be->ops->get_domain(dir->be, name, d, error_r);
	if (r == DIR_NOTFOUND)
		*error_r = xasprintf("domain %s does not exist", name);
	return r == DIR_FOUND ? 0 : -1;
}

struct domain_change {
	char *name; /* normalised */
	int local;
	int add;		  /* domain_add: it must not exist yet */
	int force;		  /* domain_del */
	size_t accounts, aliases; /* domain_del: removed */
};

static int domain_put(struct directory *dir, void *ctx, char **error_r)
{
	struct domain_change *c = ctx;
	struct dir_domain d;
	enum dir_result r;

	memset(&d, 0, sizeof(d));
	r = dir->be->ops->get_domain(dir->be, c->name, &d, error_r);
	dir_domain_free(&d);
	if (r == DIR_ERROR)
		return -1;
	if (c->add && r == DIR_FOUND) {
		*error_r = xasprintf("domain %s already exists", c->name);
		return -1;
	}
	if (!c->add && r == DIR_NOTFOUND) {
		*error_r = xasprintf("domain %s does not exist", c->name);
		return -1;
	}
	d.name = c->name;
	d.local = c->local;
	return dir->be->ops->put_domain(dir->be, &d, error_r);
}

int directory_domain_add(struct directory *dir, const char *domain, int local, char **error_r)
{
	struct domain_change c = {.local = local, .add = 1};
	int ret;

	if (dir_norm_domain(domain, &c.name, error_r) < 0)
		return -1;
	ret = locked(dir, domain_put, &c, error_r);
	free(c.name);
	return ret;
}

int directory_domain_set_local(struct directory *dir, const char *domain, int local, char **error_r)
{
	struct domain_change c = {.local = local, .add = 0};
	int ret;

	if (dir_norm_domain(domain, &c.name, error_r) < 0)
		return -1;
	ret = locked(dir, domain_put, &c, error_r);
	free(c.name);
	return ret;
}

/* remove_all - delete the accounts and aliases of a domain, counting them. */
static int remove_all(struct directory *dir, struct domain_change *c, struct dir_accounts *acc,
		      char **error_r)
{
	const struct dir_backend_ops *ops = dir->be->ops;
	struct dir_aliases al;
	size_t i;
	int ret = 0;

	for (i = 0; i < acc->count; i++) {
		if (ops->del_account(dir->be, acc->items[i].address, error_r) == DIR_ERROR)
			return -1;
		c->accounts++;
	}
	if (ops->list_aliases(dir->be, c->name, &al, error_r) < 0)
		return -1;
	for (i = 0; i < al.count && ret == 0; i++) {
		if (ops->del_alias(dir->be, al.items[i].address, error_r) == DIR_ERROR)
			ret = -1;
		else
			c->aliases++;
	}
	dir_aliases_free(&al);
	return ret;
}

static int domain_remove(struct directory *dir, void *ctx, char **error_r)
{
	struct domain_change *c = ctx;
	struct dir_accounts acc;
	struct dir_domain d;
	int ret;

	if (need_domain(dir, c->name, &d, error_r) < 0)
		return -1;
	dir_domain_free(&d);
	if (dir->be->ops->list_accounts(dir->be, c->name, &acc, error_r) < 0)
		return -1;
	if (acc.count > 0 && !c->force) {
		*error_r = xasprintf("domain %s still has %zu account%s", c->name, acc.count,
				     acc.count == 1 ? "" : "s");
		ret = -1;
	} else {
		/* Accounts and aliases first: an interrupted removal can be run again. */
		ret = remove_all(dir, c, &acc, error_r);
		if (ret == 0 && dir->be->ops->del_domain(dir->be, c->name, error_r) == DIR_ERROR)
			ret = -1;
	}
	dir_accounts_free(&acc);
	return ret;
}

int directory_domain_del(struct directory *dir, const char *domain, int force, size_t *accounts_r,
			 size_t *aliases_r, char **error_r)
{
	struct domain_change c = {.force = force};
	int ret;

	if (dir_norm_domain(domain, &c.name, error_r) < 0)
		return -1;
	ret = locked(dir, domain_remove, &c, error_r);
	if (accounts_r != NULL)
		*accounts_r = c.accounts;
	if (aliases_r != NULL)
		*aliases_r = c.aliases;
	free(c.name);
	return ret;
}

/* check_display_name - UTF-8 without control characters, within DIR_DISPLAY_NAME_MAX. */
static int check_display_name(const char *name, char **error_r)
{
	const unsigned char *p;

	if (strlen(name) > DIR_DISPLAY_NAME_MAX) {
		*error_r = xasprintf("display name longer than %d bytes", DIR_DISPLAY_NAME_MAX);
		return -1;
	}
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			*error_r = xstrdup("display name holds a control character");
			return -1;
		}
	}
	if (!address_utf8_valid(name, strlen(name))) {
		*error_r = xstrdup("display name is not valid UTF-8");
		return -1;
	}
	return 0;
}

/* check_hash - "" (no password) or a hash that can be verified. */
static int check_hash(const char *hash, char **error_r)
{
	char *err;

	if (hash[0] == '\0' || password_hash_check(hash, &err) == 0)
		return 0;
	*error_r = xasprintf("password hash: %s", err);
	free(err);
	return -1;
}

struct account_add {
	const struct dir_account *account;
	char *canon;
	struct address addr;
};

static int account_insert(struct directory *dir, void *ctx, char **error_r)
{
	const struct dir_backend_ops *ops = dir->be->ops;
	struct account_add *c = ctx;
	struct dir_account acc = *c->account, old;
	struct dir_domain d;
	struct dir_alias al;
	enum dir_result r;

	if (need_domain(dir, c->addr.domain, &d, error_r) < 0)
		return -1;
	dir_domain_free(&d);
	memset(&old, 0, sizeof(old));
	if ((r = ops->get_account(dir->be, c->canon, &old, error_r)) == DIR_FOUND)
		*error_r = xasprintf("account %s already exists", old.address);
	dir_account_free(&old);
	if (r != DIR_NOTFOUND)
		return -1;
	memset(&al, 0, sizeof(al));
	if ((r = ops->get_alias(dir->be, c->canon, &al, error_r)) == DIR_FOUND)
		*error_r = xasprintf("%s is an alias: remove it first", al.address);
	dir_alias_free(&al);
	if (r != DIR_NOTFOUND)
		return -1;
	acc.address = c->canon;
	acc.store_path = NULL;
	acc.display_name = acc.display_name != NULL ? acc.display_name : "";
	return ops->put_account(dir->be, &acc, error_r);
}

int directory_account_add(struct directory *dir, const struct dir_account *account, char **error_r)
{
	struct account_add c = {.account = account};
	int ret = -1;

	if (dir_norm_address(account->address, 0, &c.canon, &c.addr, error_r) < 0)
		return -1;
	if (check_hash(account->password_hash != NULL ? account->password_hash : "", error_r) ==
		0 &&
	    (account->display_name == NULL ||
	     check_display_name(account->display_name, error_r) == 0)) {
		struct dir_account copy = *account;

		copy.password_hash = account->password_hash != NULL ? account->password_hash : "";
		c.account = &copy;
		ret = locked(dir, account_insert, &c, error_r);
	}
	address_free(&c.addr);
	free(c.canon);
	return ret;
}

/* What account_update() changes. */
enum account_field { FIELD_PASSWORD, FIELD_QUOTA, FIELD_ENABLED, FIELD_NAME, FIELD_DELETE };

struct account_change {
	enum account_field field;
	char *canon;
	const char *str;
	uint64_t bytes, messages;
	int flag;
	int had_alias; /* FIELD_DELETE: the alias of the same name was removed too */
};

static int account_modify(struct directory *dir, void *ctx, char **error_r)
{
	const struct dir_backend_ops *ops = dir->be->ops;
	struct account_change *c = ctx;
	struct dir_account acc;
	enum dir_result r;
	int ret;

	memset(&acc, 0, sizeof(acc));
	r = ops->get_account(dir->be, c->canon, &acc, error_r);
	if (r != DIR_FOUND) {
		if (r == DIR_NOTFOUND)
			*error_r = xasprintf("account %s does not exist", c->canon);
		return -1;
	}
	if (c->field == FIELD_DELETE) {
		ret = ops->del_account(dir->be, acc.address, error_r) == DIR_ERROR ? -1 : 0;
		r = ret < 0 ? DIR_ERROR : ops->del_alias(dir->be, acc.address, error_r);
		c->had_alias = r == DIR_FOUND;
		dir_account_free(&acc);
		return r == DIR_ERROR ? -1 : 0;
	}
	if (c->field == FIELD_PASSWORD) {
		free(acc.password_hash);
		acc.password_hash = xstrdup(c->str);
	} else if (c->field == FIELD_QUOTA) {
		acc.quota_bytes = c->bytes;
		acc.quota_messages = c->messages;
	} else if (c->field == FIELD_ENABLED) {
		acc.enabled = c->flag;
	} else {
		free(acc.display_name);
		acc.display_name = xstrdup(c->str);
	}
	ret = ops->put_account(dir->be, &acc, error_r);
	dir_account_free(&acc);
	return ret;
}

/* account_update - apply change c to the account named address. */
static int account_update(struct directory *dir, const char *address, struct account_change *c,
			  char **error_r)
{
	int ret;

	if (dir_norm_address(address, 0, &c->canon, NULL, error_r) < 0)
		return -1;
	ret = locked(dir, account_modify, c, error_r);
	free(c->canon);
	return ret;
}

int directory_account_del(struct directory *dir, const char *address, int *alias_r, char **error_r)
{
	struct account_change c = {.field = FIELD_DELETE};
	int ret = account_update(dir, address, &c, error_r);

	if (alias_r != NULL)
		*alias_r = c.had_alias;
	return ret;
}

int directory_account_set_password(struct directory *dir, const char *address,
				   const char *password_hash, char **error_r)
{
	struct account_change c = {.field = FIELD_PASSWORD, .str = password_hash};

	if (check_hash(password_hash, error_r) < 0)
		return -1;
	return account_update(dir, address, &c, error_r);
}

int directory_account_set_quota(struct directory *dir, const char *address, uint64_t bytes,
				uint64_t messages, char **error_r)
{
	struct account_change c = {.field = FIELD_QUOTA, .bytes = bytes, .messages = messages};

	return account_update(dir, address, &c, error_r);
}

int directory_account_set_enabled(struct directory *dir, const char *address, int enabled,
				  char **error_r)
{
	struct account_change c = {.field = FIELD_ENABLED, .flag = enabled != 0};

	return account_update(dir, address, &c, error_r);
}

int directory_account_set_display_name(struct directory *dir, const char *address,
				       const char *display_name, char **error_r)
{
	struct account_change c = {.field = FIELD_NAME, .str = display_name};

	if (check_display_name(display_name, error_r) < 0)
		return -1;
	return account_update(dir, address, &c, error_r);
}

struct alias_change {
	char *canon;	/* the alias's name */
	char *domain;	/* its domain */
	char **targets; /* alias_add: normalised targets */
	size_t count;	/* alias_add */
	char *target;	/* alias_del: the target to remove, or NULL for all */
};

/* target_index - the position of name among the alias's targets, or -1. */
static long target_index(const struct dir_alias *alias, const char *name)
{
	size_t i;

	for (i = 0; i < alias->count; i++) {
		if (dir_ascii_caseeq(alias->targets[i], name))
			return (long)i;
	}
	return -1;
}

/* check_self - an alias named like an account must list it; otherwise it may not list itself. */
static int check_self(struct directory *dir, const struct dir_alias *alias, char **error_r)
{
	struct dir_account acc;
	enum dir_result r;
	int lists_self = target_index(alias, alias->address) >= 0;

	if (alias->address[0] == '@')
		return 0;
	memset(&acc, 0, sizeof(acc));
	r = dir->be->ops->get_account(dir->be, alias->address, &acc, error_r);
	dir_account_free(&acc);
	if (r == DIR_ERROR)
		return -1;
	if (r == DIR_FOUND && !lists_self) {
		*error_r =
		    xasprintf("%s is an account: an alias of the same name is used only when "
			      "it also lists %s itself (to keep a copy)",
			      alias->address, alias->address);
		return -1;
	}
	if (r == DIR_NOTFOUND && lists_self) {
		*error_r = xasprintf("alias %s lists itself, but there is no account %s",
				     alias->address, alias->address);
		return -1;
	}
	return 0;
}

static int alias_merge(struct directory *dir, void *ctx, char **error_r)
{
	const struct dir_backend_ops *ops = dir->be->ops;
	struct alias_change *c = ctx;
	struct dir_domain d;
	struct dir_alias al;
	enum dir_result r;
	size_t i;
	int ret = -1;

	if (need_domain(dir, c->domain, &d, error_r) < 0)
		return -1;
	dir_domain_free(&d);
	memset(&al, 0, sizeof(al));
	if ((r = ops->get_alias(dir->be, c->canon, &al, error_r)) == DIR_ERROR)
		return -1;
	if (r == DIR_NOTFOUND) {
		al.address = xstrdup(c->canon);
		al.targets = xcalloc(1, sizeof(char *));
	}
	for (i = 0; i < c->count; i++) {
		if (target_index(&al, c->targets[i]) >= 0)
			continue;
		al.targets = xreallocarray(al.targets, al.count + 2, sizeof(char *));
		al.targets[al.count++] = xstrdup(c->targets[i]);
		al.targets[al.count] = NULL;
	}
	if (al.count > DIR_MAX_TARGETS)
		*error_r = xasprintf("alias %s would have more than %d targets", al.address,
				     DIR_MAX_TARGETS);
	else if (check_self(dir, &al, error_r) == 0 && dir_check_alias(dir, &al, error_r) == 0)
		ret = ops->put_alias(dir->be, &al, error_r);
	dir_alias_free(&al);
	return ret;
}

/* alias_name - the canonical name of an alias and its domain. */
static int alias_name(const char *address, struct alias_change *c, char **error_r)
{
	struct address a;

	if (dir_norm_address(address, DIR_NAME_CATCHALL, &c->canon, &a, error_r) < 0)
		return -1;
	c->domain = a.domain;
	a.domain = NULL;
	address_free(&a);
	return 0;
}

static void alias_change_free(struct alias_change *c)
{
	size_t i;

	for (i = 0; i < c->count; i++)
		free(c->targets[i]);
	free(c->targets);
	free(c->target);
	free(c->canon);
	free(c->domain);
}

int directory_alias_add(struct directory *dir, const char *address, const char *const *targets,
			size_t count, char **error_r)
{
	struct alias_change c;
	int ret = -1;

	memset(&c, 0, sizeof(c));
	if (count == 0) {
		*error_r = xstrdup("an alias needs at least one target");
		return -1;
	}
	if (alias_name(address, &c, error_r) < 0)
		return -1;
	c.targets = xcalloc(count, sizeof(char *));
	for (c.count = 0; c.count < count; c.count++) {
		if (dir_norm_address(targets[c.count], 0, &c.targets[c.count], NULL, error_r) < 0)
			goto out;
	}
	ret = locked(dir, alias_merge, &c, error_r);
out:
	alias_change_free(&c);
	return ret;
}

static int alias_remove(struct directory *dir, void *ctx, char **error_r)
{
	const struct dir_backend_ops *ops = dir->be->ops;
	struct alias_change *c = ctx;
	struct dir_alias al;
	enum dir_result r;
	long i;
	int ret;

	memset(&al, 0, sizeof(al));
	r = ops->get_alias(dir->be, c->canon, &al, error_r);
	if (r != DIR_FOUND) {
		if (r == DIR_NOTFOUND)
			*error_r = xasprintf("alias %s does not exist", c->canon);
		return -1;
	}
	i = c->target == NULL ? 0 : target_index(&al, c->target);
	if (i < 0) {
		*error_r = xasprintf("alias %s does not list %s", al.address, c->target);
		ret = -1;
	} else if (c->target == NULL || al.count == 1) {
		ret = ops->del_alias(dir->be, al.address, error_r) == DIR_ERROR ? -1 : 0;
	} else {
		free(al.targets[i]);
		memmove(&al.targets[i], &al.targets[i + 1],
			(al.count - (size_t)i) * sizeof(char *));
		al.count--;
		ret = check_self(dir, &al, error_r);
		if (ret == 0)
			ret = ops->put_alias(dir->be, &al, error_r);
	}
	dir_alias_free(&al);
	return ret;
}

int directory_alias_del(struct directory *dir, const char *address, const char *target,
			char **error_r)
{
	struct alias_change c;
	int ret = -1;

	memset(&c, 0, sizeof(c));
	if (alias_name(address, &c, error_r) < 0)
		return -1;
	if (target == NULL || dir_norm_address(target, 0, &c.target, NULL, error_r) == 0)
		ret = locked(dir, alias_remove, &c, error_r);
	alias_change_free(&c);
	return ret;
}
