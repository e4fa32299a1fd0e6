/*
 * mail_conf - main.cf values: layered inputs, expansion and validation.
 *
 * A struct mail_conf keeps its inputs (the parsed main.cf, the directory it
 * came from, the -o overrides) and the values derived from them. Every
 * change of an input derives all values again (resolve()), because any value
 * may refer to any other; a failed derivation leaves the old values in place.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "util/config.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* One parameter's derived value. */
struct param_value {
	char *raw;     /* as written, or the default */
	char *value;   /* expanded */
	long long num; /* INT, TIME, SIZE: the number; BOOL: 1 or 0 */
	enum mail_conf_source source;
	char *origin; /* "file:line" or the override's origin; NULL otherwise */
};

/* One -o override; raw NULL when the parameter has none. */
struct override {
	char *raw;
	char *origin;
};

struct mail_conf {
	/* inputs */
	char *config_dir;
	char *path;	     /* main.cf, NULL for defaults only */
	struct config *file; /* NULL for defaults only */
	struct override *overrides;
	char *system_hostname; /* computed once, when myhostname needs it */
	/* derived */
	size_t count; /* parameters in the table */
	struct param_value *vals;
	unsigned char *used; /* per file entry: referred to by some $name */
	char **warnings;
	size_t nwarnings;
};

/* Context of the expansion lookup. */
struct lookup_ctx {
	const struct mail_conf *conf;
	const struct param_value *vals;
	unsigned char *used;
};

static size_t table_count(void)
{
	size_t n = 0;

	while (mail_param_table[n].name != NULL)
		n++;
	return n;
}

const struct param_def *param_find(const char *name)
{
	size_t lo = 0, hi = table_count(), mid;
	int cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(name, mail_param_table[mid].name);
		if (cmp == 0)
			return &mail_param_table[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* param_index - the table position of name, or -1. */
static long param_index(const char *name)
{
	const struct param_def *def = param_find(name);

	return def ? (long)(def - mail_param_table) : -1;
}

/* format_time - seconds in the largest unit that divides them evenly (malloc'd). */
static char *format_time(long long secs)
{
	static const struct {
		long long size;
		char unit;
	} units[] = {{7 * 86400, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}};
	size_t i;

	for (i = 0; secs != 0 && i < sizeof(units) / sizeof(units[0]); i++)
		if (secs % units[i].size == 0)
			return xasprintf("%lld%c", secs / units[i].size, units[i].unit);
	return xasprintf("%llds", secs);
}

/* format_size - bytes in the largest unit that divides them evenly (malloc'd). */
static char *format_size(long long bytes)
{
	static const struct {
		long long size;
		char unit;
	} units[] = {{1LL << 30, 'g'}, {1LL << 20, 'm'}, {1LL << 10, 'k'}};
	size_t i;

	for (i = 0; bytes != 0 && i < sizeof(units) / sizeof(units[0]); i++)
		if (bytes % units[i].size == 0)
			return xasprintf("%lld%c", bytes / units[i].size, units[i].unit);
	return xasprintf("%lld", bytes);
}

char *param_describe(const struct param_def *def)
{
	char *lo, *hi, *text;
	const char *what;

	switch (def->type) {
	case PARAM_STR:
		return xstrdup("text");
	case PARAM_LIST:
		return xstrdup("list");
	case PARAM_BOOL:
		return xstrdup("yes or no");
	case PARAM_INT:
		return xasprintf("integer from %lld to %lld", def->min, def->max);
	case PARAM_TIME:
		what = "time";
		lo = format_time(def->min);
		hi = format_time(def->max);
		break;
	case PARAM_SIZE:
		what = "size";
		lo = format_size(def->min);
		hi = format_size(def->max);
		break;
	default:
		msg_panic("param_describe: parameter %s has a bad type", def->name);
	}
	text = def->max == LLONG_MAX ? xasprintf("%s of at least %s", what, lo)
				     : xasprintf("%s from %s to %s", what, lo, hi);
	free(lo);
	free(hi);
	return text;
}

/* range_error - what a number of the type of def must be (malloc'd). */
static char *range_error(const struct param_def *def)
{
	char *what = param_describe(def), *msg;

	switch (def->type) {
	case PARAM_INT:
		msg = xasprintf("must be an %s", what);
		break;
	case PARAM_TIME:
		msg = xasprintf("must be a %s (a number with an optional unit s, m, h, d or w)",
				what);
		break;
	default:
		msg = xasprintf("must be a %s (a number of bytes with an optional unit k, m or g)",
				what);
		break;
	}
	free(what);
	return msg;
}

/* unit_scale - the multiplier of a unit letter for type, or 0 for none known. */
static long long unit_scale(enum param_type type, char unit)
{
	if (type == PARAM_TIME) {
		switch (unit) {
		case 's':
			return 1;
		case 'm':
			return 60;
		case 'h':
			return 3600;
		case 'd':
			return 86400;
		case 'w':
			return 7 * 86400;
		}
	} else if (type == PARAM_SIZE) {
		switch (tolower((unsigned char)unit)) {
		case 'k':
			return 1LL << 10;
		case 'm':
			return 1LL << 20;
		case 'g':
			return 1LL << 30;
		}
	}
	return 0;
}

/* parse_number - an INT, TIME or SIZE value within its bounds. */
static int parse_number(const struct param_def *def, const char *value, long long *num)
{
	const char *p = value;
	long long n = 0, scale = 1;
	int neg = 0, digits = 0, big = 0;

	if (def->type == PARAM_INT && *p == '-') {
		neg = 1;
		p++;
	}
	for (; isdigit((unsigned char)*p); p++, digits++) {
		if (n > (LLONG_MAX - (*p - '0')) / 10)
			big = 1;
		else
			n = n * 10 + (*p - '0');
	}
	if (digits == 0)
		return -1;
	if (*p != '\0' && def->type != PARAM_INT) {
		if ((scale = unit_scale(def->type, *p)) == 0 || p[1] != '\0')
			return -1;
	} else if (*p != '\0') {
		return -1;
	}
	if (big || n > LLONG_MAX / scale)
		return -1;
	n = neg ? -n : n * scale;
	if (n < def->min || n > def->max)
		return -1;
	*num = n;
	return 0;
}

/* param_parse - validate value for def and give its number (0 for STR and LIST). */
static int param_parse(const struct param_def *def, const char *value, long long *num,
		       char **error_r)
{
	*num = 0;
	switch (def->type) {
	case PARAM_INT:
	case PARAM_TIME:
	case PARAM_SIZE:
		if (parse_number(def, value, num) < 0) {
			*error_r = range_error(def);
			return -1;
		}
		break;
	case PARAM_BOOL:
		if (strcmp(value, "yes") == 0) {
			*num = 1;
		} else if (strcmp(value, "no") != 0) {
			*error_r = xstrdup("must be yes or no");
			return -1;
		}
		break;
	case PARAM_STR:
	case PARAM_LIST:
		break;
	}
	return def->check ? def->check(value, error_r) : 0;
}

int param_check(const struct param_def *def, const char *value, char **error_r)
{
	long long num;

	return param_parse(def, value, &num, error_r);
}

/* lookup - the raw value of name for config_expand(): table, then other main.cf entries. */
static const char *lookup(const char *name, void *context)
{
	struct lookup_ctx *ctx = context;
	const struct config_entry *entry;
	long idx = param_index(name);

	if (idx >= 0)
		return ctx->vals[idx].raw;
	if (ctx->conf->file == NULL || (entry = config_find(ctx->conf->file, name)) == NULL)
		return NULL;
	ctx->used[entry - ctx->conf->file->entries] = 1;
	return entry->value;
}

/* system_hostname - gethostname(), fully qualified through the resolver when possible. */
static char *system_hostname(void)
{
	char name[256];
	struct addrinfo hints, *res;
	char *result = NULL;

	if (gethostname(name, sizeof(name)) < 0 || name[0] == '\0')
		return xstrdup("localhost");
	name[sizeof(name) - 1] = '\0';
	if (strchr(name, '.') != NULL)
		return xstrdup(name);
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_CANONNAME;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) == 0) {
		if (res->ai_canonname != NULL && strchr(res->ai_canonname, '.') != NULL &&
		    strspn(res->ai_canonname,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") ==
			strlen(res->ai_canonname))
			result = xstrdup(res->ai_canonname);
		freeaddrinfo(res);
	}
	return result ? result : xstrdup(name);
}

/* vals_free - release derived values. */
static void vals_free(struct param_value *vals, size_t count)
{
	size_t i;

	if (vals == NULL)
		return;
	for (i = 0; i < count; i++) {
		free(vals[i].raw);
		free(vals[i].value);
		free(vals[i].origin);
	}
	free(vals);
}

/* value_error - "origin: name = raw: problem" for a value that failed (malloc'd). */
static char *value_error(const struct mail_conf *conf, const struct param_value *val,
			 const char *name, const char *expanded, const char *problem)
{
	const char *where = val->origin ? val->origin : conf->path ? conf->path : "defaults";
	const char *what = val->origin ? "" : "default ";

	if (expanded != NULL && strcmp(expanded, val->raw) != 0)
		return xasprintf("%s: %s%s = %s (expands to \"%s\"): %s", where, what, name,
				 val->raw, expanded, problem);
	return xasprintf("%s: %s%s = %s: %s", where, what, name, val->raw, problem);
}

/* collect_raw - the raw value of every parameter, by precedence. */
static void collect_raw(struct mail_conf *conf, struct param_value *vals)
{
	const struct config_entry *entry;
	size_t i;

	for (i = 0; i < conf->count; i++) {
		const char *name = mail_param_table[i].name;

		if (conf->overrides[i].raw != NULL) {
			vals[i].raw = xstrdup(conf->overrides[i].raw);
			vals[i].source = MAIL_CONF_OVERRIDE;
			vals[i].origin = xstrdup(conf->overrides[i].origin);
		} else if (strcmp(name, "config_directory") == 0) {
			vals[i].raw = config_escape(conf->config_dir);
			vals[i].source = MAIL_CONF_GIVEN;
		} else if (conf->file && (entry = config_find(conf->file, name)) != NULL) {
			vals[i].raw = xstrdup(entry->value);
			vals[i].source = MAIL_CONF_FILE;
			vals[i].origin = xasprintf("%s:%d", conf->path, entry->line);
		} else {
			vals[i].raw =
			    mail_param_table[i].defval ? xstrdup(mail_param_table[i].defval) : NULL;
			vals[i].source = MAIL_CONF_DEFAULT;
		}
	}
}

/*
 * compute_defaults - the defaults that depend on the machine: myhostname
 * from the system, mydomain from $myhostname.
 */
static int compute_defaults(struct mail_conf *conf, struct param_value *vals,
			    struct lookup_ctx *ctx, char **error_r)
{
	long host = param_index("myhostname"), dom = param_index("mydomain");
	char *expanded, *error;
	const char *dot;
	size_t i;

	if (host < 0 || dom < 0)
		msg_panic("compute_defaults: myhostname or mydomain missing from the table");
	if (vals[host].raw == NULL) {
		if (conf->system_hostname == NULL)
			conf->system_hostname = system_hostname();
		vals[host].raw = config_escape(conf->system_hostname);
	}
	if (vals[dom].raw == NULL) {
		/* While computing, mydomain stands for $myhostname so that a cycle shows. */
		vals[dom].raw = xstrdup("$myhostname");
		if (config_expand("mydomain", vals[dom].raw, lookup, ctx, &expanded, &error) < 0) {
			*error_r = value_error(conf, &vals[host], "myhostname", NULL, error);
			free(error);
			return -1;
		}
		dot = strchr(expanded, '.');
		free(vals[dom].raw);
		vals[dom].raw = config_escape(dot && dot[1] ? dot + 1 : "localdomain");
		free(expanded);
	}
	for (i = 0; i < conf->count; i++)
		if (vals[i].raw == NULL)
			msg_panic("parameter %s has no default and none is computed",
				  mail_param_table[i].name);
	return 0;
}

/* derive_one - expand and validate one parameter. */
static int derive_one(struct mail_conf *conf, struct param_value *vals, size_t i,
		      struct lookup_ctx *ctx, char **error_r)
{
	const struct param_def *def = &mail_param_table[i];
	char *error;

	if (config_expand(def->name, vals[i].raw, lookup, ctx, &vals[i].value, &error) < 0) {
		*error_r = value_error(conf, &vals[i], def->name, NULL, error);
		free(error);
		return -1;
	}
	if (param_parse(def, vals[i].value, &vals[i].num, &error) < 0) {
		*error_r = value_error(conf, &vals[i], def->name, vals[i].value, error);
		free(error);
		return -1;
	}
	return 0;
}

/* derive_order - parameters set in main.cf in file order, then the others. */
static size_t *derive_order(const struct mail_conf *conf, const struct param_value *vals)
{
	size_t *order = xcalloc(conf->count, sizeof(*order)), n = 0, i;
	unsigned char *done = xcalloc(conf->count, 1);
	long idx;

	for (i = 0; conf->file && i < conf->file->count; i++) {
		idx = param_index(conf->file->entries[i].name);
		if (idx >= 0 && !done[idx] && vals[idx].source == MAIL_CONF_FILE &&
		    config_find(conf->file, conf->file->entries[i].name) ==
			&conf->file->entries[i]) {
			done[idx] = 1;
			order[n++] = (size_t)idx;
		}
	}
	for (i = 0; i < conf->count; i++)
		if (!done[i])
			order[n++] = i;
	free(done);
	return order;
}

/* resolve - derive every value from the inputs; on failure keep the old ones. */
static int resolve(struct mail_conf *conf, char **error_r)
{
	struct param_value *vals = xcalloc(conf->count, sizeof(*vals));
	size_t nused = conf->file ? conf->file->count : 0, *order, i;
	unsigned char *used = xcalloc(nused ? nused : 1, 1);
	struct lookup_ctx ctx = {conf, vals, used};
	int ret = 0;

	collect_raw(conf, vals);
	if (compute_defaults(conf, vals, &ctx, error_r) < 0) {
		ret = -1;
	} else {
		order = derive_order(conf, vals);
		for (i = 0; i < conf->count && ret == 0; i++)
			ret = derive_one(conf, vals, order[i], &ctx, error_r);
		free(order);
	}
	if (ret < 0) {
		vals_free(vals, conf->count);
		free(used);
		return -1;
	}
	vals_free(conf->vals, conf->count);
	free(conf->used);
	conf->vals = vals;
	conf->used = used;
	return 0;
}

static void add_warning(struct mail_conf *conf, char *text)
{
	conf->warnings = xreallocarray(conf->warnings, conf->nwarnings + 2, sizeof(char *));
	conf->warnings[conf->nwarnings++] = text;
	conf->warnings[conf->nwarnings] = NULL;
}

/* find_warnings - unknown and unused names, repeated names, a config_directory entry. */
static void find_warnings(struct mail_conf *conf)
{
	const struct config_entry *entry, *last;
	size_t i;

	for (i = 0; i < conf->file->count; i++) {
		entry = &conf->file->entries[i];
		last = config_find(conf->file, entry->name);
		if (param_find(entry->name) == NULL && !conf->used[i]) {
			if (last == entry)
				add_warning(conf, xasprintf("%s:%d: unknown parameter \"%s\"",
							    conf->path, entry->line, entry->name));
		} else if (strcmp(entry->name, "config_directory") == 0) {
			add_warning(conf,
				    xasprintf("%s:%d: config_directory is ignored in main.cf; "
					      "%s is the configuration directory",
					      conf->path, entry->line, conf->config_dir));
		}
		if (last != entry)
			add_warning(conf,
				    xasprintf("%s:%d: %s is set again at line %d, which wins",
					      conf->path, entry->line, entry->name, last->line));
	}
}

/* conf_new - an empty configuration for config_dir; file and path may be NULL. */
static struct mail_conf *conf_new(const char *config_dir, const char *path, struct config *file)
{
	struct mail_conf *conf = xcalloc(1, sizeof(*conf));

	conf->config_dir = xstrdup(config_dir ? config_dir : TERN_CONFIG_DIR);
	conf->path = path ? xstrdup(path) : NULL;
	conf->file = file;
	conf->count = table_count();
	conf->overrides = xcalloc(conf->count, sizeof(*conf->overrides));
	conf->warnings = xcalloc(1, sizeof(char *));
	return conf;
}

struct mail_conf *mail_conf_parse(const char *config_dir, const char *path, const char *text,
				  size_t len, char **error_r)
{
	struct config *file;
	struct mail_conf *conf;

	if (config_parse(path, text, len, &file, error_r) < 0)
		return NULL;
	conf = conf_new(config_dir, path, file);
	if (resolve(conf, error_r) < 0) {
		mail_conf_free(&conf);
		return NULL;
	}
	find_warnings(conf);
	return conf;
}

struct mail_conf *mail_conf_load(const char *config_dir, char **error_r)
{
	const char *dir = config_dir ? config_dir : TERN_CONFIG_DIR;
	char *path = xasprintf("%s/main.cf", dir), *text;
	struct mail_conf *conf = NULL;
	size_t len, i;

	if (config_read_file(path, &text, &len, error_r) == 0) {
		conf = mail_conf_parse(dir, path, text, len, error_r);
		free(text);
	}
	free(path);
	for (i = 0; conf && i < conf->nwarnings; i++)
		msg_warn("%s", conf->warnings[i]);
	return conf;
}

struct mail_conf *mail_conf_defaults(void)
{
	struct mail_conf *conf = conf_new(NULL, NULL, NULL);
	char *error;

	if (resolve(conf, &error) < 0)
		msg_panic("the built-in defaults are not valid: %s", error);
	return conf;
}

struct mail_conf *mail_conf_dup(const struct mail_conf *conf)
{
	struct mail_conf *copy = conf_new(conf->config_dir, conf->path, NULL);
	size_t i, nused = conf->file ? conf->file->count : 0;

	copy->file = conf->file ? config_dup(conf->file) : NULL;
	copy->system_hostname = conf->system_hostname ? xstrdup(conf->system_hostname) : NULL;
	copy->vals = xcalloc(conf->count, sizeof(*copy->vals));
	for (i = 0; i < conf->count; i++) {
		if (conf->overrides[i].raw != NULL) {
			copy->overrides[i].raw = xstrdup(conf->overrides[i].raw);
			copy->overrides[i].origin = xstrdup(conf->overrides[i].origin);
		}
		copy->vals[i] = conf->vals[i];
		copy->vals[i].raw = xstrdup(conf->vals[i].raw);
		copy->vals[i].value = xstrdup(conf->vals[i].value);
		copy->vals[i].origin = conf->vals[i].origin ? xstrdup(conf->vals[i].origin) : NULL;
	}
	copy->used = xmemdup(conf->used, nused ? nused : 1);
	for (i = 0; i < conf->nwarnings; i++)
		add_warning(copy, xstrdup(conf->warnings[i]));
	return copy;
}

int mail_conf_override(struct mail_conf *conf, const char *assignment, const char *origin,
		       char **error_r)
{
	const char *eq = strchr(assignment, '='), *ns = assignment, *ne, *vs, *ve;
	struct override old;
	char *name;
	long idx;

	if (eq == NULL) {
		*error_r = xasprintf("%s: \"%s\": expected name=value", origin, assignment);
		return -1;
	}
	for (ne = eq; ne > ns && isspace((unsigned char)ne[-1]); ne--)
		;
	for (; ns < ne && isspace((unsigned char)*ns); ns++)
		;
	for (vs = eq + 1; isspace((unsigned char)*vs); vs++)
		;
	for (ve = vs + strlen(vs); ve > vs && isspace((unsigned char)ve[-1]); ve--)
		;
	name = xstrndup(ns, (size_t)(ne - ns));
	if ((idx = param_index(name)) < 0) {
		*error_r = xasprintf("%s: unknown parameter \"%s\"", origin, name);
		free(name);
		return -1;
	}
	free(name);
	old = conf->overrides[idx];
	conf->overrides[idx].raw = xstrndup(vs, (size_t)(ve - vs));
	conf->overrides[idx].origin = xstrdup(origin);
	if (resolve(conf, error_r) < 0) {
		free(conf->overrides[idx].raw);
		free(conf->overrides[idx].origin);
		conf->overrides[idx] = old;
		return -1;
	}
	free(old.raw);
	free(old.origin);
	return 0;
}

void mail_conf_free(struct mail_conf **conf)
{
	struct mail_conf *c = *conf;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->count; i++) {
		free(c->overrides[i].raw);
		free(c->overrides[i].origin);
	}
	free(c->overrides);
	vals_free(c->vals, c->count);
	free(c->used);
	for (i = 0; i < c->nwarnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	config_free(&c->file);
	free(c->system_hostname);
	free(c->path);
	free(c->config_dir);
	XFREE(*conf);
}

/* value_of - the derived value of name, checking its type (-1: any type). */
static const struct param_value *value_of(const struct mail_conf *conf, const char *name, int type)
{
	const struct param_def *def = param_find(name);

	if (def == NULL)
		msg_panic("mail_conf: no parameter \"%s\" in the table", name);
	if (type >= 0 && def->type != (enum param_type)type)
		msg_panic("mail_conf: parameter \"%s\" read with the wrong type", name);
	return &conf->vals[def - mail_param_table];
}

const char *mail_conf_str(const struct mail_conf *conf, const char *name)
{
	return value_of(conf, name, PARAM_STR)->value;
}

long long mail_conf_int(const struct mail_conf *conf, const char *name)
{
	return value_of(conf, name, PARAM_INT)->num;
}

int mail_conf_bool(const struct mail_conf *conf, const char *name)
{
	return (int)value_of(conf, name, PARAM_BOOL)->num;
}

long long mail_conf_time(const struct mail_conf *conf, const char *name)
{
	return value_of(conf, name, PARAM_TIME)->num;
}

long long mail_conf_size(const struct mail_conf *conf, const char *name)
{
	return value_of(conf, name, PARAM_SIZE)->num;
}

char **mail_conf_list(const struct mail_conf *conf, const char *name)
{
	const char *p = value_of(conf, name, PARAM_LIST)->value, *sep = ", \t\r\n";
	char **argv = xcalloc(1, sizeof(char *));
	size_t n = 0, len;

	while (*(p += strspn(p, sep)) != '\0') {
		len = strcspn(p, sep);
		argv = xreallocarray(argv, n + 2, sizeof(char *));
		argv[n++] = xstrndup(p, len);
		argv[n] = NULL;
		p += len;
	}
	return argv;
}

void argv_free(char **argv)
{
	size_t i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

const char *mail_conf_value(const struct mail_conf *conf, const char *name)
{
	return value_of(conf, name, -1)->value;
}

const char *mail_conf_raw(const struct mail_conf *conf, const char *name)
{
	return value_of(conf, name, -1)->raw;
}

enum mail_conf_source mail_conf_source(const struct mail_conf *conf, const char *name)
{
	return value_of(conf, name, -1)->source;
}

const char *mail_conf_origin(const struct mail_conf *conf, const char *name)
{
	return value_of(conf, name, -1)->origin;
}

const char *mail_conf_path(const struct mail_conf *conf)
{
	return conf->path;
}

const char *const *mail_conf_warnings(const struct mail_conf *conf)
{
	return (const char *const *)conf->warnings;
}
