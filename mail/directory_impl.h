/*
 * directory_impl - the contract between mail/directory*.c and the directory
 * back-ends, and what directory.c shares with directory_write.c.
 *
 * A back-end is a struct dir_backend_ops: storage of three kinds of
 * records (domains, accounts, aliases) by name. directory.c and
 * directory_write.c hold the semantics (normalisation, resolution, the
 * rules for changes); a back-end only stores and fetches. Names handed to a
 * back-end are already normalised: a domain is lower case A-label, an
 * address is canonical (address_format()), a catch-all alias is "@domain".
 * A back-end matches names without regard to ASCII case and returns them
 * as they were stored.
 *
 * Back-ends that cannot be written leave lock, unlock and the put and del
 * functions NULL; directory_open(DIR_WRITE) then fails.
 */
#ifndef TERN_DIRECTORY_IMPL_H
#define TERN_DIRECTORY_IMPL_H

#include "mail/directory.h"

struct address;
struct mail_conf;
struct dir_backend;

struct dir_backend_ops {
	const char *type;
	struct dir_backend *(*open)(const struct mail_conf *conf, int flags, char **error_r);
	void (*close)(struct dir_backend *be);

	/* Fetch one record; store_path of an account is left NULL (directory.c fills it). */
	enum dir_result (*get_domain)(struct dir_backend *be, const char *domain,
				      struct dir_domain *result, char **error_r);
	enum dir_result (*get_account)(struct dir_backend *be, const char *address,
				       struct dir_account *result, char **error_r);
	enum dir_result (*get_alias)(struct dir_backend *be, const char *address,
				     struct dir_alias *result, char **error_r);

	/* Lists, sorted by domain then local part; domain NULL: all. */
	int (*list_domains)(struct dir_backend *be, struct dir_domains *result, char **error_r);
	int (*list_accounts)(struct dir_backend *be, const char *domain,
			     struct dir_accounts *result, char **error_r);
	int (*list_aliases)(struct dir_backend *be, const char *domain, struct dir_aliases *result,
			    char **error_r);

	/* The writers' lock: one holder at a time across all processes. */
	int (*lock)(struct dir_backend *be, char **error_r);
	void (*unlock)(struct dir_backend *be);

	/* Store a record (add or replace); delete one (DIR_NOTFOUND when absent). */
	int (*put_domain)(struct dir_backend *be, const struct dir_domain *domain, char **error_r);
	int (*put_account)(struct dir_backend *be, const struct dir_account *account,
			   char **error_r);
	int (*put_alias)(struct dir_backend *be, const struct dir_alias *alias, char **error_r);
	enum dir_result (*del_domain)(struct dir_backend *be, const char *domain, char **error_r);
	enum dir_result (*del_account)(struct dir_backend *be, const char *address, char **error_r);
	enum dir_result (*del_alias)(struct dir_backend *be, const char *address, char **error_r);
};

/* The first member of every back-end's own structure. */
struct dir_backend {
	const struct dir_backend_ops *ops;
};

extern const struct dir_backend_ops dir_internal_ops;

struct directory {
	struct dir_backend *be;
	int flags;	       /* DIR_READ or DIR_WRITE */
	char *store_directory; /* for account store paths */
	char *delimiters;      /* recipient_delimiter: "" for none */
};

/* Flags of dir_norm_address(). */
#define DIR_NAME_CATCHALL 1 /* "@domain" is accepted */

/*
 * dir_norm_address - the canonical form of input (malloc'd, *canon_r),
 * with its parts in *addr when addr is not NULL (caller frees). A domain
 * that is an address literal is an error.
 */
int dir_norm_address(const char *input, int flags, char **canon_r, struct address *addr,
		     char **error_r);

/* dir_norm_domain - a domain normalised (malloc'd), no address literals. */
int dir_norm_domain(const char *input, char **domain_r, char **error_r);

/* dir_ascii_caseeq - whether a and b are equal ignoring ASCII case. */
int dir_ascii_caseeq(const char *a, const char *b);

/* dir_domain_of - the domain part of a canonical address or "@domain" (points into it). */
const char *dir_domain_of(const char *address);

/*
 * dir_check_alias - resolve the alias candidate as if it were stored
 * (replacing any stored alias of its name), strictly: a loop, or a target
 * in a local domain that resolves to nothing, is an error.
 */
int dir_check_alias(struct directory *dir, const struct dir_alias *candidate, char **error_r);

/* Deep copies and clean-up shared by the directory files. */
void dir_alias_copy(struct dir_alias *dst, const struct dir_alias *src);

#endif
