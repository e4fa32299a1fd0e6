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
 * regard to ASCII case. Resolution order for local@domain: an account or alias
 * named exactly; then, when recipient_delimiter is set, the same with the
 * sub-address (from the first delimiter on) removed; then the domain's
 * catch-all alias "@domain". Aliases expand recursively, one to many; an alias
 * that lists its own name delivers to the account of that name; a loop is an
 * error.
 *
 * Errors: 0 / -1 with *error_r malloc'd (caller frees); "not found" is not an
 * error but a distinct result.
 */
#ifndef TERN_DIRECTORY_H
#define TERN_DIRECTORY_H

#include <stdint.h>

struct mail_conf;
struct directory;

enum dir_result { DIR_FOUND = 0, DIR_NOTFOUND = 1, DIR_ERROR = -1 };

struct dir_account {
	char *address; /* canonical "local@domain", local part as stored, A-label domain */
	char *password_hash; /* crypt(3) or $argon2id$ string; "" for no password */
	uint64_t quota_bytes; /* 0: unlimited */
	uint64_t quota_messages; /* 0: unlimited */
	char *store_path; /* mailbox directory, absolute */
	int enabled;
	char *display_name; /* may be "" */
};

/* One result of address resolution: a local account, or an external address. */
struct dir_target {
	char *address; /* canonical account address, or the external address */
	int local; /* 1: an account of this directory */
	char *detail; /* the sub-address ("tag" of user+tag) that was removed, or NULL */
};

struct dir_targets {
	struct dir_target *items;
	size_t count;
};

/* Open the directory configured in conf; flags: DIR_READ or DIR_WRITE. */
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

#endif
