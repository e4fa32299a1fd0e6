/*
 * directory - open a directory, fetch and list its records, and resolve
 * addresses (see directory.h). Changes are in directory_write.c; storage is
 * a back-end's (directory_impl.h).
 *
 * Resolution is a depth-first walk: the address is looked up by the rules of
 * directory.h, an alias pushes its name on a chain while its targets are
 * resolved in turn, and a name met again on the chain is a loop.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "mail/directory.h"
#include "mail/directory_impl.h"
#include "mail/mail_conf.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* The back-ends, by directory_type. */
static const struct dir_backend_ops *const dir_backends[] = {
    &dir_internal_ops,
};

struct directory *directory_open(const struct mail_conf *conf, int flags, char **error_r)
{
	const char *type = mail_conf_str(conf, "directory_type");
	const struct dir_backend_ops *ops = NULL;
	struct directory *dir;
	struct dir_backend *be;
	size_t i;

	for (i = 0; i < sizeof(dir_backends) / sizeof(dir_backends[0]); i++) {
		if (strcmp(dir_backends[i]->type, type) == 0)
			ops = dir_backends[i];
	}
	if (ops == NULL) {
		*error_r = xasprintf("unknown directory_type \"%s\": known types: internal", type);
		return NULL;
	}
	if ((flags & DIR_WRITE) && ops->put_account == NULL) {
		*error_r = xasprintf("directory_type %s cannot be changed from here", type);
		return NULL;
	}
	if ((be = ops->open(conf, flags, error_r)) == NULL)
		return NULL;
	dir = xcalloc(1, sizeof(*dir));
	dir->be = be;
	dir->flags = flags;
	dir->store_directory = xstrdup(mail_conf_str(conf, "store_directory"));
	dir->delimiters = xstrdup(mail_conf_str(conf, "recipient_delimiter"));
	return dir;
}

void directory_close(struct directory **dirp)
{
	struct directory *dir = *dirp;

	if (dir == NULL)
		return;
	dir->be->ops->close(dir->be);
	free(dir->store_directory);
	free(dir->delimiters);
	free(dir);
	*dirp = NULL;
}

int dir_ascii_caseeq(const char *a, const char *b)
{
	unsigned char x, y;

	for (;; a++, b++) {
		x = (unsigned char)*a;
		y = (unsigned char)*b;
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return 0;
		if (x == '\0')
			return 1;
	}
}

const char *dir_domain_of(const char *address)
{
	const char *at = strrchr(address, '@');

	return at != NULL ? at + 1 : address;
}

int dir_norm_domain(const char *input, char **domain_r, char **error_r)
{
	char *err;

	if (address_domain_normalise(input, strlen(input), ADDRESS_UTF8 | ADDRESS_NO_LITERAL,
				     domain_r, &err) == 0)
		return 0;
	*error_r = xasprintf("bad domain \"%s\": %s", input, err);
	free(err);
	return -1;
}

int dir_norm_address(const char *input, int flags, char **canon_r, struct address *addr,
		     char **error_r)
{
	struct address a;
	char *err, *domain;

	*canon_r = NULL;
	if ((flags & DIR_NAME_CATCHALL) && input[0] == '@') {
		if (dir_norm_domain(input + 1, &domain, error_r) < 0)
			return -1;
		*canon_r = xasprintf("@%s", domain);
		if (addr != NULL) {
			memset(addr, 0, sizeof(*addr));
			addr->local = xstrdup("");
			addr->domain = domain;
		} else {
			free(domain);
		}
		return 0;
	}
	if (address_parse(input, strlen(input), ADDRESS_UTF8 | ADDRESS_NO_LITERAL, &a, &err) < 0) {
		*error_r = xasprintf("bad address \"%s\": %s", input, err);
		free(err);
		address_free(&a);
		return -1;
	}
	*canon_r = address_format(&a);
	if (addr != NULL)
		*addr = a;
	else
		address_free(&a);
	return 0;
}

char *directory_store_path(const char *store_directory, const char *local, const char *domain)
{
	struct strbuf sb = STRBUF_INIT;
	const unsigned char *p;
	unsigned char c;

	strbuf_printf(&sb, "%s/%s/", store_directory, domain);
	for (p = (const unsigned char *)local; *p != '\0'; p++) {
		c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c != '\0' && strchr("._+=-", c) != NULL &&
		     !(c == '.' && p == (const unsigned char *)local)))
			strbuf_putc(&sb, c);
		else
			strbuf_printf(&sb, "%%%02X", c);
	}
	return strbuf_detach(&sb);
}

/* fill_store_path - set account->store_path from its address, unless the back-end did. */
static int fill_store_path(struct directory *dir, struct dir_account *account, char **error_r)
{
	struct address a;
	char *err;

	if (account->store_path != NULL)
		return 0;
	if (address_parse(account->address, strlen(account->address), ADDRESS_UTF8, &a, &err) < 0) {
		*error_r = xasprintf("directory: account with a bad address \"%s\": %s",
				     account->address, err);
		free(err);
		address_free(&a);
		return -1;
	}
	account->store_path = directory_store_path(dir->store_directory, a.local, a.domain);
	address_free(&a);
	return 0;
}

enum dir_result directory_domain(struct directory *dir, const char *domain,
				 struct dir_domain *result, char **error_r)
{
	enum dir_result r;
	char *name, *err;

	memset(result, 0, sizeof(*result));
	if (dir_norm_domain(domain, &name, &err) < 0) {
		free(err);
		return DIR_NOTFOUND;
	}
	r = dir->be->ops->get_domain(dir->be, name, result, error_r);
	free(name);
	return r;
}

enum dir_result directory_domain_is_local(struct directory *dir, const char *domain, char **error_r)
{
	struct dir_domain d;
	enum dir_result r = directory_domain(dir, domain, &d, error_r);

	if (r == DIR_FOUND && !d.local)
		r = DIR_NOTFOUND;
	dir_domain_free(&d);
	return r;
}

enum dir_result directory_account(struct directory *dir, const char *address,
				  struct dir_account *account, char **error_r)
{
	enum dir_result r;
	char *canon, *err;

	memset(account, 0, sizeof(*account));
	if (dir_norm_address(address, 0, &canon, NULL, &err) < 0) {
		free(err);
		return DIR_NOTFOUND;
	}
	r = dir->be->ops->get_account(dir->be, canon, account, error_r);
	free(canon);
	if (r == DIR_FOUND && fill_store_path(dir, account, error_r) < 0) {
		dir_account_free(account);
		r = DIR_ERROR;
	}
	return r;
}

enum dir_result directory_alias(struct directory *dir, const char *address,
				struct dir_alias *result, char **error_r)
{
	enum dir_result r;
	char *canon, *err;

	memset(result, 0, sizeof(*result));
	if (dir_norm_address(address, DIR_NAME_CATCHALL, &canon, NULL, &err) < 0) {
		free(err);
		return DIR_NOTFOUND;
	}
	r = dir->be->ops->get_alias(dir->be, canon, result, error_r);
	free(canon);
	return r;
}

int directory_domain_list(struct directory *dir, struct dir_domains *result, char **error_r)
{
	memset(result, 0, sizeof(*result));
	if (dir->be->ops->list_domains(dir->be, result, error_r) == 0)
		return 0;
	dir_domains_free(result);
	return -1;
}

/* list_domain_arg - the normalised domain of a list call (NULL stays NULL). */
static int list_domain_arg(const char *domain, char **name_r, char **error_r)
{
	*name_r = NULL;
	return domain == NULL ? 0 : dir_norm_domain(domain, name_r, error_r);
}

int directory_account_list(struct directory *dir, const char *domain, struct dir_accounts *result,
			   char **error_r)
{
	char *name;
	size_t i;
	int ret;

	memset(result, 0, sizeof(*result));
	if (list_domain_arg(domain, &name, error_r) < 0)
		return -1;
	ret = dir->be->ops->list_accounts(dir->be, name, result, error_r);
	for (i = 0; ret == 0 && i < result->count; i++)
		ret = fill_store_path(dir, &result->items[i], error_r);
	if (ret < 0)
		dir_accounts_free(result);
	free(name);
	return ret;
}

int directory_alias_list(struct directory *dir, const char *domain, struct dir_aliases *result,
			 char **error_r)
{
	char *name;
	int ret;

	memset(result, 0, sizeof(*result));
	if (list_domain_arg(domain, &name, error_r) < 0)
		return -1;
	ret = dir->be->ops->list_aliases(dir->be, name, result, error_r);
	if (ret < 0)
		dir_aliases_free(result);
	free(name);
	return ret;
}

/* The state of one resolution. */
struct resolve {
	struct directory *dir;
	struct dir_targets *result;
	const struct dir_alias *overlay;  /* dir_check_alias(): stands in for the stored alias */
	int strict;			  /* a dangling target of the first alias is an error */
	const char *chain[DIR_MAX_DEPTH]; /* the aliases being expanded, outermost first */
	size_t depth;
	unsigned lookups;
};

static enum dir_result resolve_address(struct resolve *rs, const struct address *addr, int catchall,
				       char **error_r);

/* count_lookup - one more lookup, within DIR_MAX_LOOKUPS. */
static int count_lookup(struct resolve *rs, char **error_r)
{
	if (++rs->lookups <= DIR_MAX_LOOKUPS)
		return 0;
	*error_r = xasprintf("resolving needs more than %d lookups: the aliases are too intricate",
			     DIR_MAX_LOOKUPS);
	return -1;
}

static enum dir_result get_account(struct resolve *rs, const char *name,
				   struct dir_account *account, char **error_r)
{
	memset(account, 0, sizeof(*account));
	if (count_lookup(rs, error_r) < 0)
		return DIR_ERROR;
	return rs->dir->be->ops->get_account(rs->dir->be, name, account, error_r);
}

static enum dir_result get_alias(struct resolve *rs, const char *name, struct dir_alias *alias,
				 char **error_r)
{
	memset(alias, 0, sizeof(*alias));
	if (rs->overlay != NULL && dir_ascii_caseeq(name, rs->overlay->address)) {
		dir_alias_copy(alias, rs->overlay);
		return DIR_FOUND;
	}
	if (count_lookup(rs, error_r) < 0)
		return DIR_ERROR;
	return rs->dir->be->ops->get_alias(rs->dir->be, name, alias, error_r);
}

/* domain_local - DIR_FOUND when domain is a local domain of the directory. */
static enum dir_result domain_local(struct resolve *rs, const char *domain, char **error_r)
{
	struct dir_domain d;
	enum dir_result r;

	memset(&d, 0, sizeof(d));
	if (count_lookup(rs, error_r) < 0)
		return DIR_ERROR;
	r = rs->dir->be->ops->get_domain(rs->dir->be, domain, &d, error_r);
	if (r == DIR_FOUND && !d.local)
		r = DIR_NOTFOUND;
	dir_domain_free(&d);
	return r;
}

/* same_detail - NULL-aware string equality. */
static int same_detail(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* add_target - add one result unless it is there already. */
static enum dir_result add_target(struct resolve *rs, const char *address, int local,
				  const char *detail, int enabled, char **error_r)
{
	struct dir_targets *t = rs->result;
	struct dir_target *item;
	size_t i;

	for (i = 0; i < t->count; i++) {
		item = &t->items[i];
		if (item->local == local && same_detail(item->detail, detail) &&
		    (local ? dir_ascii_caseeq(item->address, address)
			   : strcmp(item->address, address) == 0))
			return DIR_FOUND;
	}
	if (t->count >= DIR_MAX_TARGETS) {
		*error_r =
		    xasprintf("the address resolves to more than %d addresses", DIR_MAX_TARGETS);
		return DIR_ERROR;
	}
	t->items = xreallocarray(t->items, t->count + 1, sizeof(*t->items));
	item = &t->items[t->count++];
	item->address = xstrdup(address);
	item->local = local;
	item->detail = detail != NULL ? xstrdup(detail) : NULL;
	item->enabled = enabled;
	return DIR_FOUND;
}

/* loop_error - "alias loop: a -> b -> a", from the first occurrence of name on the chain. */
static char *loop_error(const struct resolve *rs, size_t from, const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	strbuf_puts(&sb, "alias loop: ");
	for (i = from; i < rs->depth; i++)
		strbuf_printf(&sb, "%s -> ", rs->chain[i]);
	strbuf_puts(&sb, name);
	return strbuf_detach(&sb);
}

/* dangling - a target of alias that resolves to nothing: skipped, or an error when strict. */
static enum dir_result dangling(struct resolve *rs, const char *alias, const char *target,
				const char *why, char **error_r)
{
	if (rs->strict && rs->depth == 1) {
		*error_r = xasprintf("alias %s: target %s %s", alias, target, why);
		return DIR_ERROR;
	}
	msg_warn("alias %s: target %s %s; skipped", alias, target, why);
	return DIR_NOTFOUND;
}

/* self_target - an alias that lists its own name: the account of that name. */
static enum dir_result self_target(struct resolve *rs, const struct dir_alias *alias,
				   const char *detail, char **error_r)
{
	struct dir_account acc;
	enum dir_result r = get_account(rs, alias->address, &acc, error_r);

	if (r == DIR_FOUND)
		r = add_target(rs, acc.address, 1, detail, acc.enabled, error_r);
	else if (r == DIR_NOTFOUND)
		r = dangling(rs, alias->address, alias->address,
			     "is the alias itself, but there is no account of that name", error_r);
	dir_account_free(&acc);
	return r;
}

/* expand_target - resolve one target of alias. */
static enum dir_result expand_target(struct resolve *rs, const struct dir_alias *alias,
				     const char *target, const char *detail, char **error_r)
{
	struct address a;
	enum dir_result r;
	char *err;

	if (dir_ascii_caseeq(target, alias->address))
		return self_target(rs, alias, detail, error_r);
	if (address_parse(target, strlen(target), ADDRESS_UTF8, &a, &err) < 0) {
		*error_r =
		    xasprintf("alias %s: bad target \"%s\": %s", alias->address, target, err);
		free(err);
		address_free(&a);
		return DIR_ERROR;
	}
	r = a.literal ? DIR_NOTFOUND : domain_local(rs, a.domain, error_r);
	if (r == DIR_NOTFOUND)
		r = add_target(rs, target, 0, NULL, 1, error_r);
	else if (r == DIR_FOUND && (r = resolve_address(rs, &a, 0, error_r)) == DIR_NOTFOUND)
		r = dangling(rs, alias->address, target, "does not exist", error_r);
	address_free(&a);
	return r;
}

/* expand_alias - resolve every target of alias; DIR_NOTFOUND when none resolves. */
static enum dir_result expand_alias(struct resolve *rs, const struct dir_alias *alias,
				    const char *detail, char **error_r)
{
	enum dir_result r = DIR_NOTFOUND, one;
	size_t i;

	for (i = 0; i < rs->depth; i++) {
		if (dir_ascii_caseeq(rs->chain[i], alias->address)) {
			*error_r = loop_error(rs, i, alias->address);
			return DIR_ERROR;
		}
	}
	if (rs->depth == DIR_MAX_DEPTH) {
		*error_r = xasprintf("aliases nested more than %d deep at %s", DIR_MAX_DEPTH,
				     alias->address);
		return DIR_ERROR;
	}
	rs->chain[rs->depth++] = alias->address;
	for (i = 0; i < alias->count; i++) {
		one = expand_target(rs, alias, alias->targets[i], detail, error_r);
		if (one == DIR_ERROR) {
			r = DIR_ERROR;
			break;
		}
		if (one == DIR_FOUND)
			r = DIR_FOUND;
	}
	rs->depth--;
	return r;
}

/* alias_lists - whether alias has name among its targets. */
static int alias_lists(const struct dir_alias *alias, const char *name)
{
	size_t i;

	for (i = 0; i < alias->count; i++) {
		if (dir_ascii_caseeq(alias->targets[i], name))
			return 1;
	}
	return 0;
}

/* resolve_name - the account or the alias called exactly name (rules 1 and 2). */
static enum dir_result resolve_name(struct resolve *rs, const char *name, const char *detail,
				    char **error_r)
{
	struct dir_account acc;
	struct dir_alias alias;
	enum dir_result ra, rl, r = DIR_NOTFOUND;

	memset(&alias, 0, sizeof(alias));
	if ((ra = get_account(rs, name, &acc, error_r)) == DIR_ERROR)
		return DIR_ERROR;
	if ((rl = get_alias(rs, name, &alias, error_r)) == DIR_ERROR) {
		dir_account_free(&acc);
		return DIR_ERROR;
	}
	if (ra == DIR_FOUND && !(rl == DIR_FOUND && alias_lists(&alias, name)))
		r = add_target(rs, acc.address, 1, detail, acc.enabled, error_r);
	else if (rl == DIR_FOUND)
		r = expand_alias(rs, &alias, ra == DIR_FOUND ? detail : NULL, error_r);
	dir_account_free(&acc);
	dir_alias_free(&alias);
	return r;
}

/* delimiter_cut - where the sub-address starts in local (0: it has none). */
static size_t delimiter_cut(const char *delimiters, const char *local)
{
	size_t cut;

	if (delimiters[0] == '\0' || local[0] == '\0')
		return 0;
	cut = 1 + strcspn(local + 1, delimiters);
	return local[cut] != '\0' ? cut : 0;
}

/* resolve_address - rules 1 to 3, and 4 when catchall is set, for an address in a local domain. */
static enum dir_result resolve_address(struct resolve *rs, const struct address *addr, int catchall,
				       char **error_r)
{
	struct address base;
	struct dir_alias alias;
	enum dir_result r;
	size_t cut;
	char *name;

	name = address_format(addr);
	r = resolve_name(rs, name, NULL, error_r);
	free(name);
	if (r != DIR_NOTFOUND)
		return r;
	if ((cut = delimiter_cut(rs->dir->delimiters, addr->local)) > 0) {
		memset(&base, 0, sizeof(base));
		base.local = xstrndup(addr->local, cut);
		base.domain = addr->domain;
		name = address_format(&base);
		r = resolve_name(rs, name, addr->local + cut + 1, error_r);
		free(name);
		free(base.local);
		if (r != DIR_NOTFOUND)
			return r;
	}
	if (!catchall)
		return DIR_NOTFOUND;
	name = xasprintf("@%s", addr->domain);
	if ((r = get_alias(rs, name, &alias, error_r)) == DIR_FOUND)
		r = expand_alias(rs, &alias, NULL, error_r);
	dir_alias_free(&alias);
	free(name);
	return r;
}

enum dir_result directory_resolve(struct directory *dir, const char *address,
				  struct dir_targets *result, char **error_r)
{
	struct resolve rs;
	struct address a;
	enum dir_result r;
	char *err;

	memset(result, 0, sizeof(*result));
	memset(&rs, 0, sizeof(rs));
	rs.dir = dir;
	rs.result = result;
	if (address_parse(address, strlen(address), ADDRESS_UTF8, &a, &err) < 0) {
		free(err);
		address_free(&a);
		return DIR_NOTFOUND;
	}
	r = a.domain == NULL || a.literal ? DIR_NOTFOUND : domain_local(&rs, a.domain, error_r);
	if (r == DIR_FOUND)
		r = resolve_address(&rs, &a, 1, error_r);
	if (r != DIR_FOUND)
		dir_targets_free(result);
	address_free(&a);
	return r;
}

int dir_check_alias(struct directory *dir, const struct dir_alias *candidate, char **error_r)
{
	struct dir_targets targets;
	struct resolve rs;
	enum dir_result r;

	memset(&targets, 0, sizeof(targets));
	memset(&rs, 0, sizeof(rs));
	rs.dir = dir;
	rs.result = &targets;
	rs.overlay = candidate;
	rs.strict = 1;
	r = expand_alias(&rs, candidate, NULL, error_r);
	dir_targets_free(&targets);
	if (r == DIR_NOTFOUND) {
		*error_r = xasprintf("alias %s resolves to nothing", candidate->address);
		return -1;
	}
	return r == DIR_FOUND ? 0 : -1;
}

void dir_targets_free(struct dir_targets *targets)
{
	size_t i;

	for (i = 0; i < targets->count; i++) {
		free(targets->items[i].address);
		free(targets->items[i].detail);
	}
	XFREE(targets->items);
	targets->count = 0;
}

void dir_account_free(struct dir_account *account)
{
	XFREE(account->address);
	XFREE(account->password_hash);
	XFREE(account->store_path);
	XFREE(account->display_name);
}

void dir_domain_free(struct dir_domain *domain)
{
	XFREE(domain->name);
}

void dir_alias_free(struct dir_alias *alias)
{
	size_t i;

	for (i = 0; i < alias->count; i++)
		free(alias->targets[i]);
	XFREE(alias->targets);
	XFREE(alias->address);
	alias->count = 0;
}

void dir_alias_copy(struct dir_alias *dst, const struct dir_alias *src)
{
	size_t i;

	dst->address = xstrdup(src->address);
	dst->targets = xcalloc(src->count + 1, sizeof(char *));
	for (i = 0; i < src->count; i++)
		dst->targets[i] = xstrdup(src->targets[i]);
	dst->count = src->count;
}

void dir_domains_free(struct dir_domains *domains)
{
	size_t i;

	for (i = 0; i < domains->count; i++)
		dir_domain_free(&domains->items[i]);
	XFREE(domains->items);
	domains->count = 0;
}

void dir_accounts_free(struct dir_accounts *accounts)
{
	size_t i;

	for (i = 0; i < accounts->count; i++)
		dir_account_free(&accounts->items[i]);
	XFREE(accounts->items);
	accounts->count = 0;
}

void dir_aliases_free(struct dir_aliases *aliases)
{
	size_t i;

	for (i = 0; i < aliases->count; i++)
		dir_alias_free(&aliases->items[i]);
	XFREE(aliases->items);
	aliases->count = 0;
}
