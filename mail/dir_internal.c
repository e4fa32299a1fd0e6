/*
 * dir_internal - the embedded directory back-end: one Berkeley DB B-tree,
 * $data_directory/directory/directory.db, opened through util/dict's
 * "btree:" type (a Concurrent Data Store environment: many readers and one
 * writer across processes).
 *
 * Keys (folded to lower case by dict, so names match without regard to
 * ASCII case) sort a domain's records together:
 *
 *   d:<domain>            a domain        {v, local}
 *   u:<domain>/<local>    an account      {v, address, password, quota_bytes,
 *                                          quota_messages, enabled, name}
 *   a:<domain>/<local>    an alias        {v, address, targets}
 *   a:<domain>/           the catch-all
 *
 * <local> is the local part as address_format() writes it (quoted when it
 * must be). Values are records of the attr codec (util/attr.h); an alias's
 * targets are one string, one address per line (addresses hold no control
 * characters). Each record is written by one put, so a reader sees it whole.
 *
 * The directory is made mode 2770 when a writer creates it: the processes
 * that read it (and so write the environment's lock files) share its group.
 *
 * Writers also take an exclusive flock(2) on directory.lock for the length
 * of each change (check, then write), so that changes made by different
 * processes take turns. A reader opened before the table exists sees an
 * empty directory until it does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/directory_impl.h"
#include "mail/mail_conf.h"
#include "util/attr.h"
#include "util/dict.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

#define RECORD_VERSION 1
/*
 * The mode of a new $data_directory/directory: its group (which the files
 * made in it inherit) may read the database and share its environment;
 * others may not look in, since the database holds password hashes.
 */
#define DIR_INTERNAL_MODE 02770
#define KEY_DOMAIN "d:"
#define KEY_ACCOUNT "u:"
#define KEY_ALIAS "a:"

struct dir_internal {
	struct dir_backend be;
	int flags;
	char *dir_path;	   /* $data_directory/directory */
	char *table;	   /* "btree:<dir_path>/directory" */
	char *db_path;	   /* <dir_path>/directory.db */
	char *lock_path;   /* <dir_path>/directory.lock */
	int lock_fd;	   /* writers: the open lock file */
	struct dict *dict; /* NULL while the table does not exist (readers) */
	struct strbuf key, value;
};

/* ready - open the table once it exists; 0 with d->dict NULL while it does not. */
static int ready(struct dir_internal *d, char **error_r)
{
	if (d->dict != NULL)
		return 0;
	if (access(d->db_path, F_OK) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = xasprintf("directory %s: %s", d->db_path, strerror(errno));
		return -1;
	}
	d->dict = dict_open(d->table, DICT_READ, error_r);
	return d->dict == NULL ? -1 : 0;
}

/* set_key - the key of a domain, or of an address ("local@domain", "@domain") under prefix. */
static const char *set_key(struct dir_internal *d, const char *prefix, const char *name)
{
	const char *at = strrchr(name, '@');

	strbuf_set(&d->key, prefix);
	if (at == NULL) {
		strbuf_puts(&d->key, name);
	} else {
		strbuf_puts(&d->key, at + 1);
		strbuf_putc(&d->key, '/');
		strbuf_append(&d->key, name, (size_t)(at - name));
	}
	return strbuf_str(&d->key);
}

/* lookup - fetch the value under key into d->value. */
static enum dir_result lookup(struct dir_internal *d, const char *key, char **error_r)
{
	enum dict_result r;

	if (ready(d, error_r) < 0)
		return DIR_ERROR;
	if (d->dict == NULL)
		return DIR_NOTFOUND;
	r = dict_lookup(d->dict, key, &d->value, error_r);
	return r == DICT_FOUND ? DIR_FOUND : r == DICT_NOTFOUND ? DIR_NOTFOUND : DIR_ERROR;
}

/* decode - read one whole record from value according to spec. */
static int decode(struct dir_internal *d, const char *key, const struct strbuf *value,
		  const struct attr_recv *spec, char **error_r)
{
	struct attr_decoder *dec = attr_decoder_create(spec);
	enum attr_decode_status st;
	size_t consumed = 0;
	char *err = NULL;

	st = attr_decoder_feed(dec, value->data != NULL ? value->data : "", value->len, &consumed,
			       &err);
	attr_decoder_destroy(&dec);
	if (st == ATTR_DECODE_DONE && consumed == value->len)
		return 0;
	*error_r = xasprintf("directory %s: bad record \"%s\": %s", d->db_path, key,
			     err != NULL	      ? err
			     : st == ATTR_DECODE_MORE ? "incomplete"
						      : "data after the record");
	free(err);
	return -1;
}

/* check_version - the record's format version is the one this code writes. */
static int check_version(struct dir_internal *d, const char *key, long long v, char **error_r)
{
	if (v == RECORD_VERSION)
		return 0;
	*error_r = xasprintf("directory %s: record \"%s\" has format version %lld, not %d",
			     d->db_path, key, v, RECORD_VERSION);
	return -1;
}

/* parse_domain - a domain record; name is taken from the key. */
static int parse_domain(struct dir_internal *d, const char *key, const struct strbuf *value,
			struct dir_domain *result, char **error_r)
{
	long long v = 0, local = 0;

	if (decode(d, key, value,
		   ATTR_RECV_LIST(ATTR_RECV_INT("v", &v), ATTR_RECV_INT("local", &local)),
		   error_r) < 0 ||
	    check_version(d, key, v, error_r) < 0)
		return -1;
	result->name = xstrdup(key + strlen(KEY_DOMAIN));
	result->local = local != 0;
	return 0;
}

static int parse_account(struct dir_internal *d, const char *key, const struct strbuf *value,
			 struct dir_account *result, char **error_r)
{
	struct strbuf address = STRBUF_INIT, password = STRBUF_INIT, name = STRBUF_INIT;
	long long v = 0, qbytes = 0, qmsgs = 0, enabled = 0;
	int ret;

	ret =
	    decode(d, key, value,
		   ATTR_RECV_LIST(ATTR_RECV_INT("v", &v), ATTR_RECV_STR("address", &address),
				  ATTR_RECV_STR("password", &password),
				  ATTR_RECV_INT("quota_bytes", &qbytes),
				  ATTR_RECV_INT("quota_messages", &qmsgs),
				  ATTR_RECV_INT("enabled", &enabled), ATTR_RECV_STR("name", &name)),
		   error_r);
	if (ret == 0)
		ret = check_version(d, key, v, error_r);
	if (ret == 0 && (qbytes < 0 || qmsgs < 0)) {
		*error_r =
		    xasprintf("directory %s: record \"%s\" has a negative quota", d->db_path, key);
		ret = -1;
	}
	if (ret == 0) {
		memset(result, 0, sizeof(*result));
		result->address = xstrdup(strbuf_str(&address));
		result->password_hash = xstrdup(strbuf_str(&password));
		result->quota_bytes = (uint64_t)qbytes;
		result->quota_messages = (uint64_t)qmsgs;
		result->enabled = enabled != 0;
		result->display_name = xstrdup(strbuf_str(&name));
	}
	strbuf_free(&address);
	strbuf_free(&password);
	strbuf_free(&name);
	return ret;
}

/* split_targets - one address per line into a vector. */
static void split_targets(const char *text, struct dir_alias *result)
{
	const char *p = text, *nl;
	size_t n = 0;

	for (nl = p; *nl != '\0'; nl++)
		n += *nl == '\n';
	result->targets = xcalloc(n + 2, sizeof(char *));
	result->count = 0;
	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (nl > p)
			result->targets[result->count++] = xstrndup(p, (size_t)(nl - p));
		p = *nl == '\n' ? nl + 1 : nl;
	}
}

static int parse_alias(struct dir_internal *d, const char *key, const struct strbuf *value,
		       struct dir_alias *result, char **error_r)
{
	struct strbuf address = STRBUF_INIT, targets = STRBUF_INIT;
	long long v = 0;
	int ret;

	ret = decode(d, key, value,
		     ATTR_RECV_LIST(ATTR_RECV_INT("v", &v), ATTR_RECV_STR("address", &address),
				    ATTR_RECV_STR("targets", &targets)),
		     error_r);
	if (ret == 0)
		ret = check_version(d, key, v, error_r);
	if (ret == 0) {
		result->address = xstrdup(strbuf_str(&address));
		split_targets(strbuf_str(&targets), result);
	}
	strbuf_free(&address);
	strbuf_free(&targets);
	return ret;
}

static enum dir_result int_get_domain(struct dir_backend *be, const char *domain,
				      struct dir_domain *result, char **error_r)
{
	struct dir_internal *d = (struct dir_internal *)be;
	char *key = xstrdup(set_key(d, KEY_DOMAIN, domain));
	enum dir_result r = lookup(d, key, error_r);

	if (r == DIR_FOUND && parse_domain(d, key, &d->value, result, error_r) < 0)
		r = DIR_ERROR;
	free(key);
	return r;
}

static enum dir_result int_get_account(struct dir_backend *be, const char *address,
				       struct dir_account *result, char **error_r)
{
	struct dir_internal *d = (struct dir_internal *)be;
	char *key = xstrdup(set_key(d, KEY_ACCOUNT, address));
	enum dir_result r = lookup(d, key, error_r);

	if (r == DIR_FOUND && parse_account(d, key, &d->value, result, error_r) < 0)
		r = DIR_ERROR;
	free(key);
	return r;
}

static enum dir_result int_get_alias(struct dir_backend *be, const char *address,
				     struct dir_alias *result, char **error_r)
{
	struct dir_internal *d = (struct dir_internal *)be;
	char *key = xstrdup(set_key(d, KEY_ALIAS, address));
	enum dir_result r = lookup(d, key, error_r);

	if (r == DIR_FOUND && parse_alias(d, key, &d->value, result, error_r) < 0)
		r = DIR_ERROR;
	free(key);
	return r;
}

/* list_fn - add the record under key (which starts with the listed prefix) to a list. */
typedef int (*list_fn)(struct dir_internal *d, const char *key, const struct strbuf *value,
		       void *list, char **error_r);

/*
 * scan - call fn for every record whose key starts with prefix. Keys are
 * in order, so the scan ends after the last one that matches.
 */
static int scan(struct dir_internal *d, const char *prefix, list_fn fn, void *list, char **error_r)
{
	struct strbuf key = STRBUF_INIT, value = STRBUF_INIT;
	size_t plen = strlen(prefix);
	enum dict_result r;
	int ret = 0, seen = 0;

	if (ready(d, error_r) < 0)
		return -1;
	if (d->dict == NULL)
		return 0;
	for (r = dict_first(d->dict, &key, &value, error_r); r == DICT_FOUND;
	     r = dict_next(d->dict, &key, &value, error_r)) {
		if (strncmp(strbuf_str(&key), prefix, plen) != 0) {
			if (seen)
				break;
			continue;
		}
		seen = 1;
		if ((ret = fn(d, strbuf_str(&key), &value, list, error_r)) < 0)
			break;
	}
	dict_seq_end(d->dict);
	if (r == DICT_ERROR)
		ret = -1;
	strbuf_free(&key);
	strbuf_free(&value);
	return ret;
}

static int add_domain(struct dir_internal *d, const char *key, const struct strbuf *value,
		      void *list, char **error_r)
{
	struct dir_domains *l = list;

	l->items = xreallocarray(l->items, l->count + 1, sizeof(*l->items));
	if (parse_domain(d, key, value, &l->items[l->count], error_r) < 0)
		return -1;
	l->count++;
	return 0;
}

static int add_account(struct dir_internal *d, const char *key, const struct strbuf *value,
		       void *list, char **error_r)
{
	struct dir_accounts *l = list;

	l->items = xreallocarray(l->items, l->count + 1, sizeof(*l->items));
	if (parse_account(d, key, value, &l->items[l->count], error_r) < 0)
		return -1;
	l->count++;
	return 0;
}

static int add_alias(struct dir_internal *d, const char *key, const struct strbuf *value,
		     void *list, char **error_r)
{
	struct dir_aliases *l = list;

	l->items = xreallocarray(l->items, l->count + 1, sizeof(*l->items));
	memset(&l->items[l->count], 0, sizeof(l->items[l->count]));
	if (parse_alias(d, key, value, &l->items[l->count], error_r) < 0)
		return -1;
	l->count++;
	return 0;
}

/* list_prefix - "u:" or "u:<domain>/" for a list of one domain. */
static char *list_prefix(const char *kind, const char *domain)
{
	return domain == NULL ? xstrdup(kind) : xasprintf("%s%s/", kind, domain);
}

static int int_list_domains(struct dir_backend *be, struct dir_domains *result, char **error_r)
{
	memset(result, 0, sizeof(*result));
	return scan((struct dir_internal *)be, KEY_DOMAIN, add_domain, result, error_r);
}

static int int_list_accounts(struct dir_backend *be, const char *domain,
			     struct dir_accounts *result, char **error_r)
{
	char *prefix = list_prefix(KEY_ACCOUNT, domain);
	int ret;

	memset(result, 0, sizeof(*result));
	ret = scan((struct dir_internal *)be, prefix, add_account, result, error_r);
	free(prefix);
	return ret;
}

static int int_list_aliases(struct dir_backend *be, const char *domain, struct dir_aliases *result,
			    char **error_r)
{
	char *prefix = list_prefix(KEY_ALIAS, domain);
	int ret;

	memset(result, 0, sizeof(*result));
	ret = scan((struct dir_internal *)be, prefix, add_alias, result, error_r);
	free(prefix);
	return ret;
}

static int int_lock(struct dir_backend *be, char **error_r)
{
	struct dir_internal *d = (struct dir_internal *)be;

	while (flock(d->lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			*error_r = xasprintf("lock %s: %s", d->lock_path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void int_unlock(struct dir_backend *be)
{
	struct dir_internal *d = (struct dir_internal *)be;

	if (flock(d->lock_fd, LOCK_UN) < 0)
		msg_warn("unlock %s: %s", d->lock_path, strerror(errno));
}

/* put - store value under key. */
static int put(struct dir_internal *d, const char *key, const struct strbuf *value, char **error_r)
{
	return dict_update(d->dict, key, strbuf_str(value), error_r);
}

static int int_put_domain(struct dir_backend *be, const struct dir_domain *domain, char **error_r)
{
	struct dir_internal *d = (struct dir_internal *)be;
	struct strbuf value = STRBUF_INIT;
	int ret;

	attr_encode(&value, ATTR_SEND_INT("v", RECORD_VERSION),
		    ATTR_SEND_INT("local", domain->local ? 1 : 0));
	ret = put(d, set_key(d, KEY_DOMAIN, domain->name), &value, error_r);
	strbuf_free(&value);
	return ret;
}

/* clamp - a quota as the record's signed integer. */
static long long clamp(uint64_t n)
{
	return n > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)n;
}

static int int_put_account(struct dir_backend *be, const struct dir_account *account,
			   char **error_r)
{
	struct dir_internal *d = (struct dir_internal *)be;
	struct strbuf value = STRBUF_INIT;
	int ret;

	attr_encode(
	    &value, ATTR_SEND_INT("v", RECORD_VERSION), ATTR_SEND_STR("address", account->address),
	    ATTR_SEND_STR("password", account->password_hash),
	    ATTR_SEND_INT("quota_bytes", clamp(account->quota_bytes)),
	    ATTR_SEND_INT("quota_messages", clamp(account->quota_messages)),
	    ATTR_SEND_INT("enabled", account->enabled ? 1 : 0),
	    ATTR_SEND_STR("name", account->display_name != NULL ? account->display_name : ""));
	ret = put(d, set_key(d, KEY_ACCOUNT, account->address), &value, error_r);
	strbuf_free(&value);
	return ret;
}

static int int_put_alias(struct dir_backend *be, const struct dir_alias *alias, char **error_r)
{
	struct dir_internal *d = (struct dir_internal *)be;
	struct strbuf value = STRBUF_INIT, targets = STRBUF_INIT;
	size_t i;
	int ret;

	for (i = 0; i < alias->count; i++) {
		if (strchr(alias->targets[i], '\n') != NULL || alias->targets[i][0] == '\0')
			msg_panic("dir_internal: bad alias target \"%s\"", alias->targets[i]);
		if (i > 0)
			strbuf_putc(&targets, '\n');
		strbuf_puts(&targets, alias->targets[i]);
	}
	attr_encode(&value, ATTR_SEND_INT("v", RECORD_VERSION),
		    ATTR_SEND_STR("address", alias->address),
		    ATTR_SEND_STR("targets", strbuf_str(&targets)));
	ret = put(d, set_key(d, KEY_ALIAS, alias->address), &value, error_r);
	strbuf_free(&targets);
	strbuf_free(&value);
	return ret;
}

/* del - remove the record under key. */
static enum dir_result del(struct dir_internal *d, const char *key, char **error_r)
{
	enum dict_result r = dict_delete(d->dict, key, error_r);

	return r == DICT_FOUND ? DIR_FOUND : r == DICT_NOTFOUND ? DIR_NOTFOUND : DIR_ERROR;
}

static enum dir_result int_del_domain(struct dir_backend *be, const char *domain, char **error_r)
{
	struct dir_internal *d = (struct dir_internal *)be;

	return del(d, set_key(d, KEY_DOMAIN, domain), error_r);
}

static enum dir_result int_del_account(struct dir_backend *be, const char *address, char **error_r)
{
	struct dir_internal *d = (struct dir_internal *)be;

	return del(d, set_key(d, KEY_ACCOUNT, address), error_r);
}

static enum dir_result int_del_alias(struct dir_backend *be, const char *address, char **error_r)
{
	struct dir_internal *d = (struct dir_internal *)be;

	return del(d, set_key(d, KEY_ALIAS, address), error_r);
}

static void int_close(struct dir_backend *be)
{
	struct dir_internal *d = (struct dir_internal *)be;

	dict_close(&d->dict);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	free(d->dir_path);
	free(d->table);
	free(d->db_path);
	free(d->lock_path);
	strbuf_free(&d->key);
	strbuf_free(&d->value);
	free(d);
}

/* make_dir - create path (mode) unless it exists, with its missing parents (mode 0755). */
static int make_dir(const char *path, mode_t mode, char **error_r)
{
	char *copy, *p;
	int ret = 0;

	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno == ENOENT) {
		copy = xstrdup(path);
		for (p = strchr(copy + 1, '/'); p != NULL && ret == 0; p = strchr(p + 1, '/')) {
			*p = '\0';
			if (mkdir(copy, 0755) < 0 && errno != EEXIST)
				ret = -1;
			*p = '/';
		}
		free(copy);
		if (ret == 0 && (mkdir(path, mode) == 0 || errno == EEXIST))
			return 0;
	}
	*error_r = xasprintf("create directory %s: %s", path, strerror(errno));
	return -1;
}

/*
 * open_writer - create the directory and the table when missing, under the
 * writers' lock (so that two first writers do not both create them).
 */
static int open_writer(struct dir_internal *d, const char *data_dir, char **error_r)
{
	int ret;

	if (make_dir(data_dir, 0755, error_r) < 0)
		return -1;
	if (mkdir(d->dir_path, 0700) == 0) {
		/* Files made inside take the directory's group; others may not look in. */
		if (chmod(d->dir_path, DIR_INTERNAL_MODE) < 0)
			msg_warn("chmod %s: %s", d->dir_path, strerror(errno));
	} else if (errno != EEXIST) {
		*error_r = xasprintf("create directory %s: %s", d->dir_path, strerror(errno));
		return -1;
	}
	d->lock_fd = open(d->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (d->lock_fd < 0) {
		*error_r = xasprintf("open %s: %s", d->lock_path, strerror(errno));
		return -1;
	}
	if (int_lock(&d->be, error_r) < 0)
		return -1;
	d->dict = dict_open(d->table, DICT_WRITE | DICT_CREATE, error_r);
	ret = d->dict == NULL ? -1 : 0;
	int_unlock(&d->be);
	return ret;
}

static struct dir_backend *int_open(const struct mail_conf *conf, int flags, char **error_r)
{
	const char *data_dir = mail_conf_str(conf, "data_directory");
	struct dir_internal *d = xcalloc(1, sizeof(*d));

	d->be.ops = &dir_internal_ops;
	d->flags = flags;
	d->lock_fd = -1;
	d->dir_path = xasprintf("%s/directory", data_dir);
	d->table = xasprintf("btree:%s/directory", d->dir_path);
	d->db_path = xasprintf("%s/directory.db", d->dir_path);
	d->lock_path = xasprintf("%s/directory.lock", d->dir_path);
	strbuf_init(&d->key, 0);
	strbuf_init(&d->value, 0);
	if (((flags & DIR_WRITE) ? open_writer(d, data_dir, error_r) : ready(d, error_r)) < 0) {
		int_close(&d->be);
		return NULL;
	}
	return &d->be;
}

const struct dir_backend_ops dir_internal_ops = {
    .type = "internal",
    .open = int_open,
    .close = int_close,
    .get_domain = int_get_domain,
    .get_account = int_get_account,
    .get_alias = int_get_alias,
    .list_domains = int_list_domains,
    .list_accounts = int_list_accounts,
    .list_aliases = int_list_aliases,
    .lock = int_lock,
    .unlock = int_unlock,
    .put_domain = int_put_domain,
    .put_account = int_put_account,
    .put_alias = int_put_alias,
    .del_domain = int_del_domain,
    .del_account = int_del_account,
    .del_alias = int_del_alias,
};
