/*
 * mail_conf - Tern's main.cf: the parameter table and typed access to values.
 *
 * Every parameter is declared once in mail/mail_params.c (name, type, default,
 * bounds, one-line doc). ternconf and man/main.cf.5 are produced from that
 * table. Values are read from $config_directory/main.cf, with $name expansion,
 * then -o name=value overrides may be applied.
 *
 * A value comes from, in order of precedence: the last -o override of its
 * name, its last entry in main.cf, its default. Values are validated after
 * expansion, so a default may refer to other parameters and a change of one
 * parameter is seen by every parameter that refers to it. config_directory
 * is always the directory that was read, whatever main.cf says.
 *
 * Errors: functions returning int give 0 on success and -1 on failure with
 * *error_r set to a malloc'd message (caller frees) that names file:line and,
 * for bad values, the allowed range, e.g.
 *   /etc/tern/main.cf:7: max_use = 0: must be an integer from 1 to 10000000
 */
#ifndef TERN_MAIL_CONF_H
#define TERN_MAIL_CONF_H

#include <stddef.h>

enum param_type {
	PARAM_STR,  /* free text; may be empty */
	PARAM_INT,  /* integer within [min, max] */
	PARAM_BOOL, /* yes|no */
	PARAM_TIME, /* number with optional unit s|m|h|d|w (default s); value in seconds */
	PARAM_SIZE, /* number with optional unit k|m|g (binary); value in bytes */
	PARAM_LIST, /* names separated by commas and/or white space */
};

/*
 * param_check_fn - extra validation of an expanded value, for parameters that
 * accept only some strings. Returns 0, or -1 with *error_r set to what the
 * value must be ("must be syslog, stderr or an absolute file name").
 */
typedef int (*param_check_fn)(const char *value, char **error_r);

struct param_def {
	const char *name;
	enum param_type type;
	const char *defval;   /* as written in main.cf; may contain $name. NULL: computed at
			       load time (myhostname, mydomain; the doc says how) */
	long long min, max;   /* bounds for INT, TIME (seconds), SIZE (bytes); unused: 0, 0 */
	param_check_fn check; /* NULL, or extra validation */
	const char *doc;      /* one line, shown by ternconf and main.cf(5) */
};

/* The table, sorted by name, ended by an entry with name == NULL. */
extern const struct param_def mail_param_table[];

/* param_find - the table entry for name, or NULL. */
const struct param_def *param_find(const char *name);

/*
 * param_describe - the type and range of def in words, e.g. "integer from 1
 * to 100", "time from 1s to 1d", "size of at least 1k", "text" (malloc'd).
 */
char *param_describe(const struct param_def *def);

/* param_check - validate value (already expanded) for def; the message names no file. */
int param_check(const struct param_def *def, const char *value, char **error_r);

struct mail_conf;

/* Where a value came from. */
enum mail_conf_source {
	MAIL_CONF_DEFAULT,  /* the table default (or the computed one) */
	MAIL_CONF_FILE,	    /* an entry in main.cf */
	MAIL_CONF_OVERRIDE, /* mail_conf_override() */
	MAIL_CONF_GIVEN,    /* config_directory: the directory given to mail_conf_load */
};

/*
 * mail_conf_load - read config_dir/main.cf (config_dir NULL: the compiled-in
 * default). An unknown parameter is a warning naming file:line (logged with
 * msg_warn); a bad value or a $name cycle is an error. A missing main.cf is
 * an error.
 */
struct mail_conf *mail_conf_load(const char *config_dir, char **error_r);

/*
 * mail_conf_parse - like mail_conf_load for main.cf text held in memory; path
 * names it in messages. Warnings are not logged, only kept (see
 * mail_conf_warnings()).
 */
struct mail_conf *mail_conf_parse(const char *config_dir, const char *path, const char *text,
				  size_t len, char **error_r);

/* mail_conf_defaults - the table's defaults only, no file read. */
struct mail_conf *mail_conf_defaults(void);

/* mail_conf_dup - an independent copy, e.g. to apply one service's -o overrides. */
struct mail_conf *mail_conf_dup(const struct mail_conf *conf);

/*
 * mail_conf_override - apply "name=value" (a master.cf -o, or a command's
 * -o). An unknown name or a bad value is an error naming origin (e.g.
 * "/etc/tern/master.cf:12"); conf is then unchanged.
 */
int mail_conf_override(struct mail_conf *conf, const char *assignment, const char *origin,
		       char **error_r);

void mail_conf_free(struct mail_conf **conf);

/*
 * Typed access to expanded values. Asking for a name that is not in the table,
 * or with the wrong type, is a programming error (msg_panic).
 */
const char *mail_conf_str(const struct mail_conf *conf, const char *name);
long long mail_conf_int(const struct mail_conf *conf, const char *name);
int mail_conf_bool(const struct mail_conf *conf, const char *name);
long long mail_conf_time(const struct mail_conf *conf, const char *name); /* seconds */
long long mail_conf_size(const struct mail_conf *conf, const char *name); /* bytes */
/* mail_conf_list - the value split into a NULL-terminated malloc'd vector; free with argv_free(). */
char **mail_conf_list(const struct mail_conf *conf, const char *name);
void argv_free(char **argv);

/*
 * Any parameter, whatever its type (a name not in the table is a programming
 * error): the value expanded, the value as written (or the default), where it
 * came from, and for MAIL_CONF_FILE and MAIL_CONF_OVERRIDE the "file:line" or
 * origin that set it (NULL otherwise).
 */
const char *mail_conf_value(const struct mail_conf *conf, const char *name);
const char *mail_conf_raw(const struct mail_conf *conf, const char *name);
enum mail_conf_source mail_conf_source(const struct mail_conf *conf, const char *name);
const char *mail_conf_origin(const struct mail_conf *conf, const char *name);

/* mail_conf_path - the main.cf file that was read, or NULL for defaults only. */
const char *mail_conf_path(const struct mail_conf *conf);

/* mail_conf_warnings - the warnings found while reading, NULL-terminated (never NULL). */
const char *const *mail_conf_warnings(const struct mail_conf *conf);

#endif
