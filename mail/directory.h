/*
 * directory - the one place that answers "is this a local domain, does this
 * address exist, what is its password hash, quota and mailbox?"
 * (DESIGN.md section 6).
 *
 * A directory is opened from main.cf (directory_type selects the back-end; the
 * embedded default "internal" keeps Berkeley DB files under
 * $data_directory/directory, safe with many reader processes and one writer).
 * Back-ends are tables of functions (mail/directory_impl.h): SQL and LDAP can be
 * added without changing callers.
 *
 * Address rules: the domain is case-insensitive and stored as an A-label (IDN
 * domains are converted); the local part is kept as stored, and matched without
 * regard to ASCII case (other characters must match exactly: "JOSÉ" is not
 * "josé"). Input is parsed by mail/address.h with SMTPUTF8 allowed.
 *
 * Resolution order for local@domain, in a local domain:
 *   1. an account named exactly (an alias of the same name is used instead
 *      only when it lists the account itself: "keep a copy and forward");
 *   2. an alias named exactly;
 *   3. when recipient_delimiter is set and the local part holds one of its
 *      characters (not as its first character): 1 and 2 for the local part
 *      cut at the first such character; the rest is the target's detail;
 *   4. the domain's catch-all alias "@domain".
 * Aliases expand recursively, one to many, to accounts and to external
 * addresses (in domains that are not local); a target in a local domain is
 * resolved again by rules 1 to 3 (the catch-all takes only addresses that
 * come from outside, so it cannot hide a target that is gone). An alias
 * that lists its own name delivers
 * to the account of that name. A loop is an error ("alias loop: a@x ->
 * b@x -> a@x"), as are nesting deeper than DIR_MAX_DEPTH and more than
 * DIR_MAX_TARGETS results. A target in a local domain that resolves to
 * nothing is skipped with a warning. Duplicate results are merged.
 * Disabled accounts still resolve: their target says so, and the caller
 * decides (refuse mail, refuse login).
 *
 * Domains: a domain of the directory is local (mail for it is accepted and
 * delivered here) or not (it is kept, with its accounts and aliases, but
 * nothing in it resolves, e.g. while it is being set up or moved).
 *
 * Store path of an account: $store_directory/<domain>/<local>, where
 * <domain> is the A-label domain and <local> the local part (unquoted) with
 * ASCII letters in lower case; bytes other than letters, digits and
 * "._+=-" (and a '.' in first place) are written %XX in upper-case hex, so
 * that different local parts give different names and none is "." or "..".
 * "Jane.Doe@Example.org" -> "$store_directory/example.org/jane.doe".
 *
 * Errors: 0 / -1 with *error_r malloc'd (caller frees); "not found" is not an
 * error but a distinct result.
 */
#ifndef TERN_DIRECTORY_H
#define TERN_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

struct mail_conf;
struct directory;

enum dir_result { DIR_FOUND = 0, DIR_NOTFOUND = 1, DIR_ERROR = -1 };

/* Resolution limits. */
#define DIR_MAX_DEPTH 20     /* aliases nested within one another */
#define DIR_MAX_TARGETS 1000 /* addresses one address resolves to */
#define DIR_MAX_LOOKUPS 5000 /* directory lookups for one resolution */

/* The longest display name, in bytes. */
#define DIR_DISPLAY_NAME_MAX 256

struct dir_account {
	char *address;	      /* canonical "local@domain", local part as stored, A-label domain */
	char *password_hash;  /* crypt(3) or $argon2id$ string; "" for no password */
	uint64_t quota_bytes; /* 0: unlimited */
	uint64_t quota_messages; /* 0: unlimited */
	char *store_path;	 /* mailbox directory, absolute */
	int enabled;
	char *display_name; /* may be "" */
};

/* One result of address resolution: a local account, or an external address. */
struct dir_target {
	char *address; /* canonical account address, or the external address */
	int local;     /* 1: an account of this directory */
	char *detail;  /* the sub-address ("tag" of user+tag) that was removed, or NULL */
	int enabled;   /* local: the account's enabled flag; external: 1 */
};

struct dir_targets {
	struct dir_target *items;
	size_t count;
};

struct dir_domain {
	char *name; /* A-label, lower case */
	int local;  /* mail for the domain is accepted and delivered here */
};

struct dir_domains {
	struct dir_domain *items;
	size_t count;
};

struct dir_accounts {
	struct dir_account *items;
	size_t count;
};

struct dir_alias {
	char *address;	/* canonical "local@domain", or "@domain" for the catch-all */
	char **targets; /* canonical addresses */
	size_t count;
};

struct dir_aliases {
	struct dir_alias *items;
	size_t count;
};

/*
 * Open the directory configured in conf; flags: DIR_READ or DIR_WRITE.
 * A directory opened for reading before anything was ever written to it
 * is empty (and notices the first write).
 */
#define DIR_READ 0
#define DIR_WRITE 1
struct directory *directory_open(const struct mail_conf *conf, int flags, char **error_r);
void directory_close(struct directory **dir);

/* directory_domain_is_local - DIR_FOUND, DIR_NOTFOUND or DIR_ERROR. */
enum dir_result directory_domain_is_local(struct directory *dir, const char *domain,
					  char **error_r);

/*
 * directory_resolve - expand address into the accounts and external addresses
 * it reaches. DIR_NOTFOUND when the domain is local but nothing matches (the
 * caller answers 550 5.1.1) or the domain is not local.
 */
enum dir_result directory_resolve(struct directory *dir, const char *address,
				  struct dir_targets *result, char **error_r);
void dir_targets_free(struct dir_targets *targets);

/* directory_account - fetch the account named address (no alias expansion). */
enum dir_result directory_account(struct directory *dir, const char *address,
				  struct dir_account *account, char **error_r);
void dir_account_free(struct dir_account *account);

/* directory_domain - fetch the domain record (local or not). */
enum dir_result directory_domain(struct directory *dir, const char *domain,
				 struct dir_domain *result, char **error_r);
void dir_domain_free(struct dir_domain *domain);

/* directory_alias - fetch the alias named address ("local@domain" or "@domain"). */
enum dir_result directory_alias(struct directory *dir, const char *address,
				struct dir_alias *result, char **error_r);
void dir_alias_free(struct dir_alias *alias);

/*
 * Lists, sorted by domain then local part (ASCII case ignored); domain NULL
 * lists every domain's entries. Each returns 0 or -1.
 */
int directory_domain_list(struct directory *dir, struct dir_domains *result, char **error_r);
int directory_account_list(struct directory *dir, const char *domain, struct dir_accounts *result,
			   char **error_r);
int directory_alias_list(struct directory *dir, const char *domain, struct dir_aliases *result,
			 char **error_r);
void dir_domains_free(struct dir_domains *domains);
void dir_accounts_free(struct dir_accounts *accounts);
void dir_aliases_free(struct dir_aliases *aliases);

/*
 * directory_store_path - the store path of the account local@domain (local
 * unquoted, domain normalised), by the mapping described above (malloc'd).
 */
char *directory_store_path(const char *store_directory, const char *local, const char *domain);

/*
 * Changes (a directory opened with DIR_WRITE). Writers in all processes
 * take turns: each call checks and changes under one lock, so concurrent
 * calls never leave the data inconsistent. Readers see each record either
 * before or after a change, never half-written. Every call returns 0, or -1
 * with *error_r naming the problem ("account alice@example.org already
 * exists").
 */

/* directory_domain_add - a new domain (name normalised: IDN to A-label, lower case). */
int directory_domain_add(struct directory *dir, const char *domain, int local, char **error_r);

/* directory_domain_set_local - make a domain local or not. */
int directory_domain_set_local(struct directory *dir, const char *domain, int local,
			       char **error_r);

/*
 * directory_domain_del - remove a domain and its aliases. A domain that
 * still has accounts is refused unless force is set, which removes them
 * too. *accounts_r and *aliases_r (each may be NULL) count what was
 * removed with the domain.
 */
int directory_domain_del(struct directory *dir, const char *domain, int force, size_t *accounts_r,
			 size_t *aliases_r, char **error_r);

/*
 * directory_account_add - a new account from account->address (normalised;
 * its domain must exist; no account or alias of that name may exist),
 * password_hash ("" or a hash that password_hash_check() accepts), quotas,
 * enabled and display_name (NULL or valid UTF-8 without control
 * characters, at most DIR_DISPLAY_NAME_MAX bytes). store_path is ignored.
 */
int directory_account_add(struct directory *dir, const struct dir_account *account, char **error_r);

/*
 * directory_account_del - remove an account, and the alias of the same
 * name (which can only be the account's own "keep a copy" list); *alias_r
 * (may be NULL) is set to whether there was one. Its mail is not touched.
 */
int directory_account_del(struct directory *dir, const char *address, int *alias_r, char **error_r);

int directory_account_set_password(struct directory *dir, const char *address,
				   const char *password_hash, char **error_r);
int directory_account_set_quota(struct directory *dir, const char *address, uint64_t bytes,
				uint64_t messages, char **error_r);
int directory_account_set_enabled(struct directory *dir, const char *address, int enabled,
				  char **error_r);
int directory_account_set_display_name(struct directory *dir, const char *address,
				       const char *display_name, char **error_r);

/*
 * directory_alias_add - add targets to the alias address ("local@domain" or
 * "@domain" for the catch-all), creating it. Its domain must exist. Each
 * target is a full address, normalised before it is stored; a target in a
 * local domain must resolve. An alias named like an account must list the
 * account itself. A change that would make a loop is refused.
 */
int directory_alias_add(struct directory *dir, const char *address, const char *const *targets,
			size_t count, char **error_r);

/*
 * directory_alias_del - remove target from the alias (and the alias with
 * its last target), or the whole alias when target is NULL.
 */
int directory_alias_del(struct directory *dir, const char *address, const char *target,
			char **error_r);

#endif
