/*
 * config - the main.cf file syntax, knowing nothing of what the names mean.
 *
 *   # a comment line (only where '#' is the first non-blank character)
 *   name = value
 *   other = a value that
 *       continues on lines that start with white space
 *
 * Blank lines and comment lines are skipped; they do not end a logical line.
 * White space around '=' and at both ends of a value is removed, and a
 * continuation line joins the value with one space. Names are made of
 * letters, digits and '_'. Every entry remembers its file and lines.
 *
 * Values may refer to other values: $name, ${name} and $(name) expand
 * recursively, ${name?text} gives text when name is not empty and
 * ${name:text} when it is, and $$ is a literal dollar sign. A name that is
 * not defined expands to nothing. A reference cycle is an error that names
 * the parameters in the cycle ("a -> b -> a").
 *
 * Errors: functions returning int give 0 on success and -1 on failure with
 * *error_r set to a malloc'd message (caller frees) that starts "file:line: ".
 */
#ifndef TERN_CONFIG_H
#define TERN_CONFIG_H

#include <stddef.h>

/* Files larger than this are refused: a configuration is small. */
#define CONFIG_FILE_MAX (16 * 1024 * 1024)
/* An expanded value larger than this is an error (it guards against a$a$a bombs). */
#define CONFIG_EXPAND_MAX (1024 * 1024)

/* One logical line: the text of its first line plus its continuation lines. */
struct config_line {
	char *text;    /* continuation lines joined with one space; ends trimmed */
	int line;      /* number of the first physical line (from 1) */
	int last_line; /* number of the last continuation line */
};

struct config_entry {
	char *name;
	char *value;   /* as written, not expanded */
	int line;      /* where the entry starts */
	int last_line; /* its last continuation line */
};

struct config {
	char *path; /* names the text in messages */
	struct config_entry *entries;
	size_t count; /* entries in file order; a name may occur more than once */
};

/*
 * config_read_file - read a whole file into *text_r (malloc'd and
 * NUL-terminated; *len_r bytes). On failure errno is left as the failing
 * system call set it (ENOENT for a missing file), or EFBIG.
 */
int config_read_file(const char *path, char **text_r, size_t *len_r, char **error_r);

/*
 * config_lines - split text into logical lines, skipping blank and comment
 * lines. path names the text in messages. A line that starts with white
 * space before any logical line has begun is an error, as is a NUL byte.
 */
int config_lines(const char *path, const char *text, size_t len, struct config_line **lines_r,
		 size_t *count_r, char **error_r);
void config_lines_free(struct config_line **lines, size_t count);

/* config_parse - parse main.cf syntax held in memory. */
int config_parse(const char *path, const char *text, size_t len, struct config **result,
		 char **error_r);

/* config_read - read and parse the file at path. */
int config_read(const char *path, struct config **result, char **error_r);

/* config_find - the entry that defines name (the last one in the file), or NULL. */
const struct config_entry *config_find(const struct config *cfg, const char *name);

/* config_dup - a deep copy. */
struct config *config_dup(const struct config *cfg);

void config_free(struct config **cfg);

/* config_name_valid - 1 when the len bytes at name form a valid name, else 0. */
int config_name_valid(const char *name, size_t len);

/*
 * config_lookup_fn - the raw (not expanded) value of name, or NULL when name
 * is not defined. The string must stay valid during the expansion.
 */
typedef const char *(*config_lookup_fn)(const char *name, void *context);

/*
 * config_expand - expand text, the raw value of the parameter name (NULL
 * when text belongs to no parameter; name starts the cycle check), asking
 * lookup for the values of the names it refers to. On success *result_r is
 * the malloc'd expansion. Error messages do not name a file: the caller
 * knows where text came from.
 */
int config_expand(const char *name, const char *text, config_lookup_fn lookup, void *context,
		  char **result_r, char **error_r);

/* config_escape - text with every '$' doubled, so that it expands to itself (malloc'd). */
char *config_escape(const char *text);

#endif
