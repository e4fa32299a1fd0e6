/*
 * ternconf_edit - "ternconf -e name=value...": change main.cf in place.
 *
 * Every line of the file is kept as it is, except the lines of the entries
 * being changed: the first line of such an entry becomes "name = value" and
 * its continuation lines go (comment and blank lines among them stay).
 * Names not yet in the file are appended at the end, in the order given.
 * The new text is checked the way every program will read it, and only then
 * replaces the old file (temporary file, fsync, rename, fsync of the
 * directory); when the check fails the file is not touched.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "tools/ternconf/ternconf.h"
#include "util/config.h"
#include "util/mymalloc.h"
#include "util/safe_file.h"
#include "util/strbuf.h"

struct assignment {
	char *name;
	char *value;
	int in_file; /* an entry of the file has been replaced */
};

/* trimmed - a copy of [start, end) without white space at either end. */
static char *trimmed(const char *start, const char *end)
{
	while (start < end && (*start == ' ' || *start == '\t'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return xstrndup(start, (size_t)(end - start));
}

/* parse_assignments - "name=value" arguments; a later one for the same name wins. */
static int parse_assignments(char **args, int count, struct assignment **list_r, size_t *n_r)
{
	struct assignment *list = xcalloc((size_t)count, sizeof(*list));
	size_t n = 0, j;
	char *eq, *name;
	int i;

	for (i = 0; i < count; i++) {
		if ((eq = strchr(args[i], '=')) == NULL) {
			ternconf_error("\"%s\": expected name=value", args[i]);
			goto fail;
		}
		name = trimmed(args[i], eq);
		if (param_find(name) == NULL) {
			ternconf_error("unknown parameter \"%s\"", name);
			free(name);
			goto fail;
		}
		if (strcmp(name, "config_directory") == 0) {
			ternconf_error("config_directory cannot be set in main.cf (use -c DIR)");
			free(name);
			goto fail;
		}
		if (strpbrk(eq + 1, "\r\n") != NULL) {
			ternconf_error("the value of %s contains a line break", name);
			free(name);
			goto fail;
		}
		for (j = 0; j < n && strcmp(list[j].name, name) != 0; j++)
			;
		if (j < n) {
			free(name);
			free(list[j].value);
		} else {
			list[n++].name = name;
		}
		list[j].value = trimmed(eq + 1, eq + 1 + strlen(eq + 1));
	}
	*list_r = list;
	*n_r = n;
	return 0;
fail:
	for (j = 0; j < n; j++) {
		free(list[j].name);
		free(list[j].value);
	}
	free(list);
	return -1;
}

/* put_entry - "name = value" as one line. */
static void put_entry(struct strbuf *out, const struct assignment *a)
{
	if (*a->value == '\0')
		strbuf_printf(out, "%s =\n", a->name);
	else
		strbuf_printf(out, "%s = %s\n", a->name, a->value);
}

/* is_continuation - a physical line that continues an entry (not blank, not a comment). */
static int is_continuation(const char *line, size_t len)
{
	size_t i = 0;

	if (len == 0 || (line[0] != ' ' && line[0] != '\t'))
		return 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
		i++;
	return i < len && line[i] != '#';
}

/*
 * rewrite - the new text: old with the entries named in list replaced.
 * action[n] for physical line n (from 1): 0 keep, -1 drop, k > 0 put list[k - 1].
 */
static char *rewrite(const char *old, size_t old_len, const struct config *cfg,
		     struct assignment *list, size_t n, size_t *len_r)
{
	struct strbuf out = STRBUF_INIT;
	const char *p = old, *end = old + old_len, *eol;
	size_t nlines = 1, i, j;
	long *action;
	int line, l;

	for (i = 0; i < old_len; i++)
		nlines += old[i] == '\n';
	action = xcalloc(nlines + 1, sizeof(*action));
	for (i = 0; i < cfg->count; i++) {
		for (j = 0; j < n && strcmp(list[j].name, cfg->entries[i].name) != 0; j++)
			;
		if (j == n)
			continue;
		list[j].in_file = 1;
		action[cfg->entries[i].line] = (long)j + 1;
		for (l = cfg->entries[i].line + 1; l <= cfg->entries[i].last_line; l++)
			action[l] = -1; /* refined below: comments and blank lines stay */
	}
	for (line = 1; p < end; line++) {
		eol = memchr(p, '\n', (size_t)(end - p));
		eol = eol ? eol + 1 : end;
		if (action[line] > 0)
			put_entry(&out, &list[action[line] - 1]);
		else if (action[line] == 0 || !is_continuation(p, (size_t)(eol - p)))
			strbuf_append(&out, p, (size_t)(eol - p));
		p = eol;
	}
	if (out.len > 0 && out.data[out.len - 1] != '\n')
		strbuf_putc(&out, '\n');
	for (j = 0; j < n; j++)
		if (!list[j].in_file)
			put_entry(&out, &list[j]);
	free(action);
	*len_r = out.len;
	return strbuf_detach(&out);
}

/* read_old - the current main.cf, or "" when there is none yet; its mode and owner. */
static int read_old(const char *path, char **text_r, size_t *len_r, struct stat *st)
{
	char *error;

	if (config_read_file(path, text_r, len_r, &error) < 0) {
		if (errno != ENOENT) {
			ternconf_error("%s", error);
			free(error);
			return -1;
		}
		free(error);
		*text_r = xstrdup("");
		*len_r = 0;
		memset(st, 0, sizeof(*st));
		st->st_mode = 0644;
		st->st_uid = geteuid();
		st->st_gid = getegid();
		return 0;
	}
	if (stat(path, st) < 0) {
		ternconf_error("stat %s: %s", path, strerror(errno));
		free(*text_r);
		return -1;
	}
	return 0;
}

/* validate - the new text must load without error, as every program will load it. */
static int validate(const char *config_dir, const char *path, const char *text, size_t len)
{
	struct mail_conf *conf;
	char *error;

	if ((conf = mail_conf_parse(config_dir, path, text, len, &error)) == NULL) {
		ternconf_error("%s; %s is unchanged", error, path);
		free(error);
		return -1;
	}
	ternconf_warnings(mail_conf_warnings(conf));
	mail_conf_free(&conf);
	return 0;
}

int ternconf_edit(const char *config_dir, char **args, int count)
{
	char *path = xasprintf("%s/main.cf", config_dir), *real, *old = NULL, *new = NULL, *error;
	struct assignment *list = NULL;
	struct config *cfg = NULL;
	size_t n = 0, old_len, new_len, i;
	struct stat st;
	int status = 1;

	/* Edit the file a symbolic link points to, not the link. */
	if ((real = realpath(path, NULL)) == NULL)
		real = xstrdup(path);
	if (parse_assignments(args, count, &list, &n) < 0 ||
	    read_old(real, &old, &old_len, &st) < 0)
		goto out;
	if (config_parse(path, old, old_len, &cfg, &error) < 0) {
		ternconf_error("%s; %s is unchanged", error, path);
		free(error);
		goto out;
	}
	new = rewrite(old, old_len, cfg, list, n, &new_len);
	if (validate(config_dir, path, new, new_len) < 0)
		goto out;
	if (new_len == old_len && memcmp(new, old, new_len) == 0) {
		status = 0;
		goto out;
	}
	if (safe_file_write(real, new, new_len, st.st_mode & 07777, &error) < 0) {
		ternconf_error("%s", error);
		free(error);
		goto out;
	}
	if (geteuid() == 0 && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    chown(real, st.st_uid, st.st_gid) < 0) {
		ternconf_error("chown %s: %s", real, strerror(errno));
		goto out;
	}
	status = 0;
out:
	for (i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].value);
	}
	free(list);
	config_free(&cfg);
	free(old);
	free(new);
	free(real);
	free(path);
	return status;
}
