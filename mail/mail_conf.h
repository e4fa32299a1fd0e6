/*
 * mail_conf - Tern's main.cf: the parameter table and typed access to values.
 *
 * Every parameter is declared once in mail/mail_params.c (name, type, default,
 * bounds, one-line doc). ternconf and man/main.cf.5 are produced from that
 * table. Values are read from $config_directory/main.cf, with $name expansion,
 * then -o name=value overrides may be applied.
 *
 * Errors: functions returning int give 0 on success and -1 on failure with
 * *error_r set to a malloc'd message (caller frees) that names file:line and,
 * for bad values, the allowed range.
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

struct param_def {
	const char *name;
	enum param_type type;
	const char *defval; /* as written in main.cf; may contain $name */
	long long min, max; /* bounds for INT, TIME (seconds), SIZE (bytes) */
	const char *doc;    /* one line, shown by ternconf and main.cf(5) */
};

/* The table, sorted by name, ended by an entry with name == NULL. */
extern const struct param_def mail_param_table[];

/* param_find - the table entry for name, or NULL. */
const struct param_def *param_find(const char *name);

struct mail_conf;

/*
 * mail_conf_load - read config_dir/main.cf (config_dir NULL: the compiled-in
 * default). An unknown parameter is a warning naming file:line (logged with
 * msg_warn); a bad value or a $name cycle is an error.
 */
struct mail_conf *mail_conf_load(const char *config_dir, char **error_r);

/* mail_conf_defaults - the table's defaults only, no file read. */
struct mail_conf *mail_conf_defaults(void);

/*
 * mail_conf_override - apply "name=value" (a master.cf -o, or a command's
 * -o). An unknown name or a bad value is an error naming origin (e.g.
 * "/etc/tern/master.cf:12").
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

/* mail_conf_path - the main.cf file that was read, or NULL for defaults only. */
const char *mail_conf_path(const struct mail_conf *conf);

#endif
