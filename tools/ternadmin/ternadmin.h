/*
 * ternadmin - what the parts of the ternadmin command share: the state of
 * one run, option parsing, output (aligned tables or JSON), reporting of
 * changes and errors, password input and mailbox directories.
 *
 * Exit status: TA_OK, TA_FAIL (the command failed; stderr says why),
 * TA_USAGE (the command line is wrong) or TA_PARTIAL (an import or export
 * finished, but skipped messages that stderr names).
 */
#ifndef TERN_TERNADMIN_H
#define TERN_TERNADMIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/strbuf.h"

#define TA_OK 0
#define TA_FAIL 1
#define TA_USAGE 2
#define TA_PARTIAL 3

struct mail_conf;
struct directory;
struct dir_domain;

/* The state of one run. */
struct ternadmin {
	const char *config_dir; /* -c, or NULL for the default */
	int json;		/* --json */
	const char *command;	/* "user add": names the command in messages */
	struct mail_conf *conf;
	struct directory *dir;
	struct strbuf changes; /* --json: the change objects so far, comma-separated */
	size_t nchanges;
	int listed; /* a listing was printed: ta_finish() adds nothing */
	uid_t uid;  /* who runs it, for the log (kept when mail commands become store_owner) */
};

/* ta_error - "ternadmin: <command>: message" on stderr. */
void ta_error(const struct ternadmin *ta, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* ta_warn - "ternadmin: <command>: warning: message" on stderr. */
void ta_warn(const struct ternadmin *ta, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* ta_usage_error - ta_error() plus a hint to the usage; returns TA_USAGE. */
int ta_usage_error(const struct ternadmin *ta, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * ta_open - open the directory (DIR_READ or DIR_WRITE) into ta->dir.
 * Returns 0, or -1 after reporting the error.
 */
int ta_open(struct ternadmin *ta, int flags);

/*
 * ta_list_scope - the optional DOMAIN argument of a "list" command: parses
 * it, opens the directory for reading and checks that the domain exists.
 * TA_OK with *domain_r the domain as stored (NULL: every domain), or the
 * status to exit with (already reported). d is filled or zeroed: free it
 * with dir_domain_free() in every case.
 */
int ta_list_scope(struct ternadmin *ta, int argc, char **argv, struct dir_domain *d,
		  const char **domain_r);

/*
 * ta_changed - report one change: log it ("<event>: k=v, ..., by=uid N")
 * and print it (human form on stdout, or one object of the JSON output).
 * kv holds key, value pairs and ends with NULL.
 */
void ta_changed(struct ternadmin *ta, const char *event, const char *const *kv);

/* ta_finish - end the output of a run that changed things (the JSON document). */
void ta_finish(struct ternadmin *ta, int status);

/*
 * Options of a command. An option is "--name value", "--name=value" or a
 * flag "--name"; options and arguments may be mixed; "--" ends the
 * options. --json is accepted by every command.
 */
struct ta_option {
	const char *name;   /* without "--" */
	const char **value; /* an option with a value: where it goes */
	int *flag;	    /* a flag: set to 1 */
};

/*
 * ta_parse - parse argv (argc entries, after the verb) with opts (ended by
 * a NULL name); the remaining arguments go to args (a malloc'd array the
 * caller frees) and their number to *nargs_r, which must be from min to max
 * (max < 0: no limit). Returns 0, or TA_USAGE after reporting the problem.
 */
int ta_parse(struct ternadmin *ta, int argc, char **argv, const struct ta_option *opts, int min,
	     int max, char ***args_r, int *nargs_r);

/* ta_parse_size - "512k", "1g", "1024", "0", "unlimited" (0) into bytes; -1 when bad. */
int ta_parse_size(const char *text, uint64_t *bytes_r);
/* ta_parse_count - a number of messages, "0" or "unlimited" (0); -1 when bad. */
int ta_parse_count(const char *text, uint64_t *count_r);
/* ta_format_size - bytes as "1G", "1536M", "100", or "unlimited" for 0 (malloc'd). */
char *ta_format_size(uint64_t bytes);

/* Output: a table for people, or JSON. */
struct ta_table;
struct ta_table *ta_table_new(size_t columns, const char *const *headers);
/* ta_table_row - one row of as many cells as the table has columns (copied). */
void ta_table_row(struct ta_table *t, const char *const *cells);
/* ta_table_print - print on stdout, columns aligned, and free the table. */
void ta_table_print(struct ta_table **t);
void ta_table_free(struct ta_table **t);
/*
 * ta_list_output - a listing's end: print json (--json) or the table, free
 * both, and note that a listing was printed.
 */
void ta_list_output(struct ternadmin *ta, struct ta_table **t, struct strbuf *json);

/* ta_json_str - append s as a JSON string (with quotes). */
void ta_json_str(struct strbuf *sb, const char *s);

/*
 * ta_read_password - a new password: from the terminal when standard input
 * is one (asked twice, not echoed), otherwise one line of standard input.
 * An empty password is refused. Returns 0 with *password_r malloc'd (the
 * caller clears and frees it), or -1 with *error_r set.
 */
int ta_read_password(char **password_r, char **error_r);

/*
 * ta_store_has_files - whether the directory path holds a file (anything
 * that is not a directory) at any depth: 1 yes, 0 no (also when path does
 * not exist), -1 with *error_r set.
 */
int ta_store_has_files(const char *path, char **error_r);
/* ta_store_remove - remove path and everything below it; a missing path is no error. */
int ta_store_remove(const char *path, char **error_r);

/* The commands: each returns an exit status. */
int ta_domain(struct ternadmin *ta, const char *verb, int argc, char **argv);
int ta_user(struct ternadmin *ta, const char *verb, int argc, char **argv);
int ta_alias(struct ternadmin *ta, const char *verb, int argc, char **argv);
/* ta_import, ta_export - verb is the format: maildir or mbox. */
int ta_import(struct ternadmin *ta, const char *format, int argc, char **argv);
int ta_export(struct ternadmin *ta, const char *format, int argc, char **argv);
int ta_store(struct ternadmin *ta, const char *verb, int argc, char **argv);

#endif
