/*
 * ternmap - build, query and change Tern lookup tables (see ternmap(1)).
 *
 * Without an action option, each type:file argument is rebuilt from the text
 * source file: the entries go into a new database beside file.db, which
 * replaces the old one atomically when it is complete. Exit status: 0
 * success (or key found), 1 key not found, 2 error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/dict.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

#define EXIT_FOUND 0
#define EXIT_NOTFOUND 1
#define EXIT_ERROR 2

/* The type of a table named without one. */
#define TERNMAP_DEFAULT_TYPE "hash"

enum action { ACT_BUILD, ACT_QUERY, ACT_DELETE, ACT_DUMP, ACT_INSERT };

struct ternmap {
	enum action action;
	const char *key; /* -q / -d argument; "-" reads keys from standard input */
	int flags;	 /* DICT_KEEP_CASE, DICT_NUL */
	char **tables;	 /* "type:file" names, malloc'd */
	int ntables;
};

static void usage(void)
{
	fprintf(stderr, "usage: ternmap [-Nfv] [-c config_dir] [type:]file...\n"
			"       ternmap [-Nfv] [-c config_dir] -i [type:]file...\n"
			"       ternmap [-Nfv] [-c config_dir] -q key|- [type:]file...\n"
			"       ternmap [-Nfv] [-c config_dir] -d key|- [type:]file...\n"
			"       ternmap [-Nfv] [-c config_dir] -s [type:]file...\n");
	exit(EXIT_ERROR);
}

/* table_name - "type:file" for an argument, with the default type when it names none. */
static char *table_name(const char *arg)
{
	const char *colon = strchr(arg, ':'), *slash = strchr(arg, '/');

	if (colon != NULL && (slash == NULL || colon < slash))
		return xstrdup(arg);
	return xasprintf("%s:%s", TERNMAP_DEFAULT_TYPE, arg);
}

/* open_table - dict_open() that logs the error. */
static struct dict *open_table(const char *name, int flags)
{
	char *err = NULL;
	struct dict *dict = dict_open(name, flags, &err);

	if (dict == NULL) {
		msg_error("%s", err);
		free(err);
	}
	return dict;
}

/* build_one - rebuild a database table from its source file. */
static int build_one(const char *name, int flags)
{
	const char *source = strchr(name, ':') + 1;
	struct dict *dict;
	char *err = NULL;
	FILE *fp;

	fp = fopen(source, "re");
	if (fp == NULL) {
		msg_error("open %s: %s", source, strerror(errno));
		return -1;
	}
	dict = open_table(name, flags | DICT_REBUILD);
	if (dict == NULL) {
		fclose(fp);
		return -1;
	}
	if (dict_load_text(dict, fp, source, &err) < 0 || dict_commit(dict, &err) < 0) {
		msg_error("%s", err);
		free(err);
		fclose(fp);
		dict_close(&dict);
		return -1;
	}
	fclose(fp);
	dict_close(&dict);
	return 0;
}

static int do_build(const struct ternmap *tm)
{
	int i, status = EXIT_FOUND;

	for (i = 0; i < tm->ntables; i++) {
		/* A texthash table is its source: reading it checks the syntax. */
		if (strncmp(tm->tables[i], "texthash:", 9) == 0) {
			struct dict *dict = open_table(tm->tables[i], tm->flags);

			if (dict == NULL)
				status = EXIT_ERROR;
			dict_close(&dict);
			continue;
		}
		if (build_one(tm->tables[i], tm->flags) < 0)
			status = EXIT_ERROR;
	}
	return status;
}

static int do_insert(const struct ternmap *tm)
{
	struct dict *dict;
	char *err = NULL;
	int i;

	if (tm->ntables != 1) {
		msg_error("-i takes exactly one table");
		return EXIT_ERROR;
	}
	for (i = 0; i < tm->ntables; i++) {
		dict = open_table(tm->tables[i], tm->flags | DICT_WRITE | DICT_CREATE);
		if (dict == NULL)
			return EXIT_ERROR;
		if (dict_load_text(dict, stdin, "stdin", &err) < 0) {
			msg_error("%s", err);
			free(err);
			dict_close(&dict);
			return EXIT_ERROR;
		}
		dict_close(&dict);
	}
	return EXIT_FOUND;
}

/* read_key - the next key from standard input (one a line, white space trimmed); 0 at the end. */
static int read_key(struct strbuf *key)
{
	char *line = NULL, *p;
	size_t size = 0;
	ssize_t n;

	while ((n = getline(&line, &size, stdin)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
				 line[n - 1] == '\t'))
			line[--n] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0')
			continue;
		strbuf_set(key, p);
		free(line);
		return 1;
	}
	free(line);
	return 0;
}

/* query_key - print the value of key from the first table that has it ("key value" with with_key). */
static int query_key(struct dict **dicts, int ndicts, const char *key, int with_key)
{
	struct strbuf value = STRBUF_INIT;
	char *err = NULL;
	int i, status = EXIT_NOTFOUND;

	for (i = 0; i < ndicts && status == EXIT_NOTFOUND; i++) {
		switch (dict_lookup(dicts[i], key, &value, &err)) {
		case DICT_FOUND:
			if (with_key)
				printf("%s %s\n", key, value.data);
			else
				printf("%s\n", value.data);
			status = EXIT_FOUND;
			break;
		case DICT_NOTFOUND:
			break;
		case DICT_ERROR:
			msg_error("%s", err);
			free(err);
			status = EXIT_ERROR;
			break;
		}
	}
	strbuf_free(&value);
	return status;
}

/* delete_key - remove key from every table. */
static int delete_key(struct dict **dicts, int ndicts, const char *key)
{
	char *err = NULL;
	int i, status = EXIT_NOTFOUND;

	for (i = 0; i < ndicts; i++) {
		switch (dict_delete(dicts[i], key, &err)) {
		case DICT_FOUND:
			if (status == EXIT_NOTFOUND)
				status = EXIT_FOUND;
			break;
		case DICT_NOTFOUND:
			break;
		case DICT_ERROR:
			msg_error("%s", err);
			free(err);
			status = EXIT_ERROR;
			break;
		}
	}
	return status;
}

/* combine - the status of a run over several keys: an error wins, then "found". */
static int combine(int status, int one)
{
	if (status == EXIT_ERROR || one == EXIT_ERROR)
		return EXIT_ERROR;
	return status == EXIT_FOUND || one == EXIT_FOUND ? EXIT_FOUND : EXIT_NOTFOUND;
}

/* do_keys - -q or -d, for one key or for the keys on standard input. */
static int do_keys(const struct ternmap *tm)
{
	int open_flags = tm->flags | (tm->action == ACT_DELETE ? DICT_WRITE : DICT_READ);
	struct dict **dicts = xcalloc((size_t)tm->ntables, sizeof(*dicts));
	struct strbuf key = STRBUF_INIT;
	int i, one, status = EXIT_NOTFOUND;

	for (i = 0; i < tm->ntables; i++) {
		if ((dicts[i] = open_table(tm->tables[i], open_flags)) == NULL) {
			status = EXIT_ERROR;
			goto done;
		}
	}
	if (strcmp(tm->key, "-") != 0) {
		status = tm->action == ACT_QUERY ? query_key(dicts, tm->ntables, tm->key, 0)
						 : delete_key(dicts, tm->ntables, tm->key);
		goto done;
	}
	while (status != EXIT_ERROR && read_key(&key)) {
		one = tm->action == ACT_QUERY ? query_key(dicts, tm->ntables, key.data, 1)
					      : delete_key(dicts, tm->ntables, key.data);
		status = combine(status, one);
	}
done:
	for (i = 0; i < tm->ntables; i++)
		dict_close(&dicts[i]);
	free(dicts);
	strbuf_free(&key);
	if (fflush(stdout) != 0) {
		msg_error("write standard output: %s", strerror(errno));
		status = EXIT_ERROR;
	}
	return status;
}

/* do_dump - print every entry of every table as "key value". */
static int do_dump(const struct ternmap *tm)
{
	struct strbuf key = STRBUF_INIT, value = STRBUF_INIT;
	enum dict_result res;
	struct dict *dict;
	char *err = NULL;
	int i, status = EXIT_FOUND;

	for (i = 0; i < tm->ntables && status == EXIT_FOUND; i++) {
		if ((dict = open_table(tm->tables[i], tm->flags)) == NULL) {
			status = EXIT_ERROR;
			break;
		}
		for (res = dict_first(dict, &key, &value, &err); res == DICT_FOUND;
		     res = dict_next(dict, &key, &value, &err))
			printf("%s %s\n", key.data, value.data);
		if (res == DICT_ERROR) {
			msg_error("%s", err);
			free(err);
			status = EXIT_ERROR;
		}
		dict_close(&dict);
	}
	strbuf_free(&key);
	strbuf_free(&value);
	if (fflush(stdout) != 0) {
		msg_error("write standard output: %s", strerror(errno));
		status = EXIT_ERROR;
	}
	return status;
}

/* is_directory - whether path is a directory; errno is 0 when it exists but is not one. */
static int is_directory(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return 0;
	errno = 0;
	return S_ISDIR(st.st_mode);
}

/* set_action - record the one action option; a second one is a usage error. */
static void set_action(struct ternmap *tm, enum action action)
{
	if (tm->action != ACT_BUILD) {
		msg_error("the options -d, -i, -q and -s exclude each other");
		usage();
	}
	tm->action = action;
}

int main(int argc, char **argv)
{
	struct ternmap tm = {ACT_BUILD, NULL, 0, NULL, 0};
	const char *config_dir = NULL;
	int ch, i, status;

	msg_init("ternmap");
	while ((ch = getopt(argc, argv, "c:d:fiNq:sv")) != -1) {
		switch (ch) {
		case 'c':
			/*
			 * Every Tern command takes -c; ternmap reads no parameter
			 * yet (tables are named on the command line), so it only
			 * checks that the directory exists.
			 */
			config_dir = optarg;
			break;
		case 'd':
			set_action(&tm, ACT_DELETE);
			tm.key = optarg;
			break;
		case 'f':
			tm.flags |= DICT_KEEP_CASE;
			break;
		case 'i':
			set_action(&tm, ACT_INSERT);
			break;
		case 'N':
			tm.flags |= DICT_NUL;
			break;
		case 'q':
			set_action(&tm, ACT_QUERY);
			tm.key = optarg;
			break;
		case 's':
			set_action(&tm, ACT_DUMP);
			break;
		case 'v':
			msg_set_verbose(msg_verbose() + 1);
			break;
		default:
			usage();
		}
	}
	if (config_dir != NULL && !is_directory(config_dir)) {
		msg_error("configuration directory %s: %s", config_dir,
			  errno ? strerror(errno) : "not a directory");
		return EXIT_ERROR;
	}
	if (optind >= argc)
		usage();
	tm.ntables = argc - optind;
	tm.tables = xcalloc((size_t)tm.ntables, sizeof(*tm.tables));
	for (i = 0; i < tm.ntables; i++)
		tm.tables[i] = table_name(argv[optind + i]);

	switch (tm.action) {
	case ACT_BUILD:
		status = do_build(&tm);
		break;
	case ACT_INSERT:
		status = do_insert(&tm);
		break;
	case ACT_QUERY:
	case ACT_DELETE:
		status = do_keys(&tm);
		break;
	case ACT_DUMP:
		status = do_dump(&tm);
		break;
	default:
		msg_panic("unknown action %d", (int)tm.action);
	}
	for (i = 0; i < tm.ntables; i++)
		free(tm.tables[i]);
	free(tm.tables);
	return status;
}
