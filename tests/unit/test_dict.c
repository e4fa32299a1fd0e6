/*
 * test_dict - type:name lookup tables: the text source format, texthash,
 * hash and btree (build, lookup, case folding, update, delete, iteration),
 * errors, concurrent readers and a writer in other processes, and readers
 * picking up a table rebuilt and renamed into place.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/dict.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

static const char *const db_types[] = {"hash", "btree"};

static int setup_dir(void **state)
{
	char *dir = xstrdup("/tmp/test_dict.XXXXXX");

	if (mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int teardown_dir(void **state)
{
	char *dir = *state, *cmd = xasprintf("rm -rf '%s'", dir);
	int ret = system(cmd);

	free(cmd);
	free(dir);
	return ret == 0 ? 0 : -1;
}

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* build - make table type:path from the text source path (or just write it for texthash). */
static void build(const char *type, const char *path, const char *text)
{
	char *name = xasprintf("%s:%s", type, path), *err = NULL;
	struct dict *dict;
	FILE *fp;

	write_text(path, text);
	if (strcmp(type, "texthash") != 0) {
		dict = dict_open(name, DICT_REBUILD, &err);
		if (dict == NULL)
			fail_msg("%s", err);
		fp = fopen(path, "r");
		assert_non_null(fp);
		if (dict_load_text(dict, fp, path, &err) < 0 || dict_commit(dict, &err) < 0)
			fail_msg("%s", err);
		fclose(fp);
		dict_close(&dict);
		assert_null(dict);
	}
	free(name);
}

static struct dict *open_ok(const char *type, const char *path, int flags)
{
	char *name = xasprintf("%s:%s", type, path), *err = NULL;
	struct dict *dict = dict_open(name, flags, &err);

	if (dict == NULL)
		fail_msg("%s: %s", name, err);
	free(name);
	return dict;
}

/* lookup - the value of key as a static string, or NULL when not found. */
static const char *lookup(struct dict *dict, const char *key)
{
	static struct strbuf value;
	char *err = NULL;

	switch (dict_lookup(dict, key, &value, &err)) {
	case DICT_FOUND:
		return strbuf_str(&value);
	case DICT_NOTFOUND:
		return NULL;
	default:
		fail_msg("lookup %s: %s", key, err);
	}
	return NULL;
}

/* count_dir - names in dir other than . and .. */
static int count_dir(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(dp);
	return n;
}

/* Entries collected by the text parser. */
struct collected {
	struct strbuf out;
};

static int collect(void *ctx, const char *key, const char *value, const char *file, int line,
		   char **error_r)
{
	struct collected *c = ctx;

	strbuf_printf(&c->out, "%d[%s]=[%s]\n", line, key, value);
	return 0;
}

/* parse - run the text parser over text; returns its result, fills out and error. */
static int parse(const char *dir, const char *text, struct strbuf *out, char **error_r)
{
	char *path = xasprintf("%s/src", dir);
	struct collected c = {STRBUF_INIT};
	FILE *fp;
	int ret;

	write_text(path, text);
	fp = fopen(path, "r");
	assert_non_null(fp);
	ret = dict_text_read(fp, "src", collect, &c, error_r);
	fclose(fp);
	strbuf_set(out, strbuf_str(&c.out));
	strbuf_free(&c.out);
	free(path);
	return ret;
}

static void test_text_format(void **state)
{
	struct strbuf out = STRBUF_INIT;
	char *err = NULL;

	assert_int_equal(parse(*state,
			       "# comment\n"
			       "\n"
			       "alpha   one two  \n"
			       "beta\tb1,\n"
			       "   b2,\n"
			       "   # a comment inside\n"
			       "\n"
			       "\tb3\n"
			       "  #indented comment\n"
			       "gamma x # not a comment\r\n"
			       "last v",
			       &out, &err),
			 0);
	assert_string_equal(out.data, "3[alpha]=[one two]\n"
				      "4[beta]=[b1, b2, b3]\n"
				      "10[gamma]=[x # not a comment]\n"
				      "11[last]=[v]\n");
	strbuf_free(&out);
}

static void test_text_errors(void **state)
{
	struct strbuf out = STRBUF_INIT;
	char *err = NULL;

	assert_int_equal(parse(*state, "a 1\n\nlonely\nb 2\n", &out, &err), -1);
	assert_string_equal(err, "src:3: key \"lonely\" has no value");
	assert_string_equal(out.data, "1[a]=[1]\n");
	XFREE(err);

	assert_int_equal(parse(*state, "# only a comment\n   indented first\n", &out, &err), -1);
	assert_string_equal(err, "src:2: continuation line without an entry above it");
	XFREE(err);

	assert_int_equal(parse(*state, "a 1\nb 2\nlast   \n", &out, &err), -1);
	assert_string_equal(err, "src:3: key \"last\" has no value");
	XFREE(err);

	assert_int_equal(parse(*state, "", &out, &err), 0);
	assert_string_equal(out.data, "");
	strbuf_free(&out);
}

static const char source[] = "# test table\n"
			     "Alice@Example.COM   alice\n"
			     "bob bob@elsewhere,\n"
			     "    carol\n"
			     "dup first\n"
			     "zeta z\n"
			     "dup second\n";

/* check_basic - lookups, case folding and iteration over the table built from source. */
static void check_basic(const char *type, const char *path)
{
	struct dict *dict = open_ok(type, path, DICT_READ);
	struct strbuf key = STRBUF_INIT, value = STRBUF_INIT, seen = STRBUF_INIT;
	char *err = NULL;
	enum dict_result res;
	int n = 0;

	assert_string_equal(lookup(dict, "alice@example.com"), "alice");
	assert_string_equal(lookup(dict, "ALICE@example.com"), "alice");
	assert_string_equal(lookup(dict, "bob"), "bob@elsewhere, carol");
	assert_string_equal(lookup(dict, "dup"), "second");
	assert_null(lookup(dict, "nobody"));
	assert_null(lookup(dict, ""));
	assert_string_equal(dict_type(dict), type);
	assert_string_equal(dict_name(dict), path);

	for (res = dict_first(dict, &key, &value, &err); res == DICT_FOUND;
	     res = dict_next(dict, &key, &value, &err)) {
		strbuf_printf(&seen, "%s=%s;", key.data, value.data);
		n++;
	}
	assert_int_equal(res, DICT_NOTFOUND);
	assert_int_equal(n, 4);
	assert_non_null(strstr(seen.data, "alice@example.com=alice;"));
	assert_non_null(strstr(seen.data, "bob=bob@elsewhere, carol;"));
	assert_non_null(strstr(seen.data, "dup=second;"));
	assert_non_null(strstr(seen.data, "zeta=z;"));
	if (strcmp(type, "btree") == 0)
		assert_string_equal(seen.data, "alice@example.com=alice;bob=bob@elsewhere, carol;"
					       "dup=second;zeta=z;");
	if (strcmp(type, "texthash") == 0)
		assert_string_equal(seen.data, "alice@example.com=alice;bob=bob@elsewhere, carol;"
					       "dup=second;zeta=z;");

	/* After the end, dict_next() is an error until dict_first() starts over. */
	assert_int_equal(dict_next(dict, &key, &value, &err), DICT_ERROR);
	assert_non_null(strstr(err, "no iteration"));
	XFREE(err);
	assert_int_equal(dict_first(dict, &key, &value, &err), DICT_FOUND);
	dict_seq_end(dict);
	assert_int_equal(dict_next(dict, &key, &value, &err), DICT_ERROR);
	XFREE(err);

	/* A read-only handle refuses changes. */
	assert_int_equal(dict_update(dict, "x", "y", &err), -1);
	assert_non_null(err);
	XFREE(err);
	assert_int_equal(dict_delete(dict, "alice@example.com", &err), DICT_ERROR);
	XFREE(err);

	dict_close(&dict);
	assert_null(dict);
	strbuf_free(&key);
	strbuf_free(&value);
	strbuf_free(&seen);
}

static void test_all_types_basic(void **state)
{
	static const char *const types[] = {"texthash", "hash", "btree"};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char *path = xasprintf("%s/map-%s", (char *)*state, types[i]);

		build(types[i], path, source);
		check_basic(types[i], path);
		free(path);
	}
}

static void test_keep_case(void **state)
{
	static const char *const types[] = {"texthash", "hash", "btree"};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char *path = xasprintf("%s/case-%s", (char *)*state, types[i]);
		char *name = xasprintf("%s:%s", types[i], path), *err = NULL;
		struct dict *dict;
		FILE *fp;

		write_text(path, "MixedCase v\n");
		if (strcmp(types[i], "texthash") != 0) {
			dict = dict_open(name, DICT_REBUILD | DICT_KEEP_CASE, &err);
			assert_non_null(dict);
			fp = fopen(path, "r");
			assert_int_equal(dict_load_text(dict, fp, path, &err), 0);
			fclose(fp);
			assert_int_equal(dict_commit(dict, &err), 0);
			dict_close(&dict);
		}
		dict = open_ok(types[i], path, DICT_KEEP_CASE);
		assert_string_equal(lookup(dict, "MixedCase"), "v");
		assert_null(lookup(dict, "mixedcase"));
		dict_close(&dict);
		/*
		 * Folding lookups do not find a key stored with capitals in a
		 * database; texthash folds the source when it reads it.
		 */
		dict = open_ok(types[i], path, DICT_READ);
		if (strcmp(types[i], "texthash") == 0)
			assert_string_equal(lookup(dict, "MixedCase"), "v");
		else
			assert_null(lookup(dict, "MixedCase"));
		dict_close(&dict);
		free(name);
		free(path);
	}
}

static void test_update_delete(void **state)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		char *path = xasprintf("%s/upd-%s", (char *)*state, db_types[i]), *err = NULL;
		struct strbuf key = STRBUF_INIT, value = STRBUF_INIT;
		struct dict *dict, *reader;

		build(db_types[i], path, source);
		dict = open_ok(db_types[i], path, DICT_WRITE);
		reader = open_ok(db_types[i], path, DICT_READ);
		assert_int_equal(dict_update(dict, "New@Key", "fresh", &err), 0);
		assert_string_equal(lookup(dict, "new@key"), "fresh");
		/* Another handle sees the change at once, through the shared environment. */
		assert_string_equal(lookup(reader, "NEW@KEY"), "fresh");
		assert_int_equal(dict_update(dict, "new@key", "replaced", &err), 0);
		assert_string_equal(lookup(reader, "new@key"), "replaced");
		assert_int_equal(dict_delete(dict, "BOB", &err), DICT_FOUND);
		assert_int_equal(dict_delete(dict, "bob", &err), DICT_NOTFOUND);
		assert_null(lookup(reader, "bob"));
		assert_int_equal(dict_update(dict, "", "x", &err), -1);
		assert_non_null(strstr(err, "empty key"));
		XFREE(err);

		/* An update ends an iteration of the same handle. */
		assert_int_equal(dict_first(dict, &key, &value, &err), DICT_FOUND);
		assert_int_equal(dict_update(dict, "other", "o", &err), 0);
		assert_int_equal(dict_next(dict, &key, &value, &err), DICT_ERROR);
		XFREE(err);
		dict_close(&reader);
		dict_close(&dict);

		/* The changes are in the file after close. */
		dict = open_ok(db_types[i], path, DICT_READ);
		assert_string_equal(lookup(dict, "new@key"), "replaced");
		assert_string_equal(lookup(dict, "other"), "o");
		assert_null(lookup(dict, "bob"));
		assert_string_equal(lookup(dict, "zeta"), "z");
		dict_close(&dict);
		strbuf_free(&key);
		strbuf_free(&value);
		free(path);
	}
}

static void test_create_and_missing(void **state)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		char *path = xasprintf("%s/new-%s", (char *)*state, db_types[i]);
		char *name = xasprintf("%s:%s", db_types[i], path), *err = NULL;
		struct dict *dict;

		dict = dict_open(name, DICT_READ, &err);
		assert_null(dict);
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, strerror(ENOENT)));
		XFREE(err);
		dict = dict_open(name, DICT_WRITE, &err);
		assert_null(dict);
		XFREE(err);

		dict = open_ok(db_types[i], path, DICT_WRITE | DICT_CREATE);
		assert_null(lookup(dict, "a"));
		assert_int_equal(dict_update(dict, "a", "1", &err), 0);
		dict_close(&dict);
		dict = open_ok(db_types[i], path, DICT_READ);
		assert_string_equal(lookup(dict, "a"), "1");
		dict_close(&dict);
		free(name);
		free(path);
	}
}

static void test_relative_name(void **state)
{
	char *cwd = getcwd(NULL, 0), *err = NULL;
	struct dict *dict;

	assert_int_equal(chdir(*state), 0);
	build("hash", "rel", "k v\n");
	dict = dict_open("hash:rel", DICT_READ, &err);
	assert_non_null(dict);
	assert_string_equal(lookup(dict, "k"), "v");
	dict_close(&dict);
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
}

static void test_bad_names(void **state)
{
	char *err = NULL;
	char *path = xasprintf("%s/th", (char *)*state), *name = xasprintf("texthash:%s", path);

	assert_null(dict_open("nosuch:/etc/x", DICT_READ, &err));
	assert_string_equal(err, "unknown table type \"nosuch\" in \"nosuch:/etc/x\"; known types: "
				 "btree, hash, texthash");
	XFREE(err);
	assert_null(dict_open("/etc/aliases", DICT_READ, &err));
	assert_non_null(strstr(err, "has no type"));
	assert_non_null(strstr(err, "btree, hash, texthash"));
	XFREE(err);
	assert_null(dict_open("hash:", DICT_READ, &err));
	assert_non_null(strstr(err, "no name"));
	XFREE(err);
	assert_null(dict_open("hashx:/a", DICT_READ, &err));
	assert_non_null(strstr(err, "\"hashx\""));
	XFREE(err);

	/* Every type in the list is one that dict_open() knows. */
	{
		char *types = xstrdup(dict_known_types()), *type, *save = NULL, *tn;

		for (type = strtok_r(types, ", ", &save); type != NULL;
		     type = strtok_r(NULL, ", ", &save)) {
			tn = xasprintf("%s:%s/none", type, (char *)*state);
			assert_null(dict_open(tn, DICT_READ, &err));
			assert_null(strstr(err, "unknown table type"));
			XFREE(err);
			free(tn);
		}
		free(types);
	}

	write_text(path, "a b\n");
	assert_null(dict_open(name, DICT_WRITE, &err));
	assert_non_null(strstr(err, "read-only"));
	XFREE(err);
	free(name);
	free(path);
}

static void test_bad_source_line(void **state)
{
	static const char *const types[] = {"texthash", "hash", "btree"};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char *path = xasprintf("%s/bad-%s", (char *)*state, types[i]);
		char *name = xasprintf("%s:%s", types[i], path), *err = NULL, *want;
		struct dict *dict;
		FILE *fp;

		write_text(path, "good 1\n# c\nbroken\n");
		want = xasprintf("%s:3: key \"broken\" has no value", path);
		if (strcmp(types[i], "texthash") == 0) {
			assert_null(dict_open(name, DICT_READ, &err));
		} else {
			dict = dict_open(name, DICT_REBUILD, &err);
			assert_non_null(dict);
			fp = fopen(path, "r");
			assert_int_equal(dict_load_text(dict, fp, path, &err), -1);
			fclose(fp);
			dict_close(&dict);
		}
		assert_string_equal(err, want);
		XFREE(err);
		free(want);
		free(name);
		free(path);
	}
	/* The failed builds left no files behind: only the three sources. */
	assert_int_equal(count_dir(*state), 3);
}

static void test_failed_rebuild_keeps_old(void **state)
{
	char *path = xasprintf("%s/keep", (char *)*state), *err = NULL;
	struct dict *dict;
	FILE *fp;

	build("hash", path, "k old\n");
	write_text(path, "k new\nbroken\n");
	dict = open_ok("hash", path, DICT_REBUILD);
	fp = fopen(path, "r");
	assert_int_equal(dict_load_text(dict, fp, path, &err), -1);
	XFREE(err);
	fclose(fp);
	dict_close(&dict);
	dict = open_ok("hash", path, DICT_READ);
	assert_string_equal(lookup(dict, "k"), "old");
	dict_close(&dict);
	/* keep, keep.db, keep.db.env: no temporary file left. */
	assert_int_equal(count_dir(*state), 3);
	free(path);
}

static void test_commit_rules(void **state)
{
	char *path = xasprintf("%s/commit", (char *)*state), *err = NULL;
	struct dict *dict;

	build("btree", path, "a 1\n");
	dict = open_ok("btree", path, DICT_READ);
	assert_int_equal(dict_commit(dict, &err), -1);
	XFREE(err);
	dict_close(&dict);
	dict = open_ok("btree", path, DICT_REBUILD);
	assert_int_equal(dict_update(dict, "b", "2", &err), 0);
	assert_int_equal(dict_commit(dict, &err), 0);
	assert_int_equal(dict_lookup(dict, "b", NULL, &err), DICT_ERROR);
	assert_non_null(strstr(err, "after commit"));
	XFREE(err);
	dict_close(&dict);
	dict = open_ok("btree", path, DICT_READ);
	assert_null(lookup(dict, "a"));
	assert_string_equal(lookup(dict, "b"), "2");
	dict_close(&dict);
	free(path);
}

static void test_nul_flag(void **state)
{
	char *path = xasprintf("%s/nul", (char *)*state), *err = NULL;
	struct strbuf key = STRBUF_INIT, value = STRBUF_INIT;
	struct dict *dict;

	dict = open_ok("hash", path, DICT_WRITE | DICT_CREATE | DICT_NUL);
	assert_int_equal(dict_update(dict, "k", "v", &err), 0);
	assert_string_equal(lookup(dict, "k"), "v");
	assert_int_equal(dict_first(dict, &key, &value, &err), DICT_FOUND);
	assert_int_equal(key.len, 1);
	assert_int_equal(value.len, 1);
	dict_close(&dict);
	/* Without the flag the stored key (with its NUL) does not match. */
	dict = open_ok("hash", path, DICT_READ);
	assert_null(lookup(dict, "k"));
	assert_int_equal(dict_first(dict, &key, &value, &err), DICT_FOUND);
	assert_int_equal(key.len, 2);
	dict_close(&dict);
	strbuf_free(&key);
	strbuf_free(&value);
	free(path);
}

/* Readers see a table that was rebuilt and renamed into place. */
static void test_reopen_after_rebuild(void **state)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		char *path = xasprintf("%s/re-%s", (char *)*state, db_types[i]);
		struct dict *reader;
		const char *v;
		time_t start;

		build(db_types[i], path, "k old\ngone x\n");
		reader = open_ok(db_types[i], path, DICT_READ);
		assert_string_equal(lookup(reader, "k"), "old");
		build(db_types[i], path, "k new\nadded y\n");
		start = time(NULL);
		while ((v = lookup(reader, "k")) != NULL && strcmp(v, "old") == 0 &&
		       time(NULL) - start < 4)
			usleep(20000);
		assert_string_equal(lookup(reader, "k"), "new");
		assert_string_equal(lookup(reader, "added"), "y");
		assert_null(lookup(reader, "gone"));
		dict_close(&reader);
		free(path);
	}
}

#define CONC_KEYS 50
#define CONC_ROUNDS 200

/*
 * reader_child - look up every key repeatedly until the writer's last round
 * shows; values must always be whole. Exit status 0 = ok.
 */
static int reader_child(const char *type, const char *path)
{
	char *name = xasprintf("%s:%s", type, path), *err = NULL, key[32], want[128];
	struct strbuf value = STRBUF_INIT;
	struct dict *dict = dict_open(name, DICT_READ, &err);
	int i, n, done = 0;
	time_t start = time(NULL);

	if (dict == NULL)
		return 10;
	while (!done) {
		if (time(NULL) - start > 30)
			return 14;
		done = 1;
		for (i = 0; i < CONC_KEYS; i++) {
			snprintf(key, sizeof(key), "key%d", i);
			if (dict_lookup(dict, key, &value, &err) != DICT_FOUND)
				return 11;
			/* value is "<round>:key<i>:<padding of round % 50>" */
			if (sscanf(value.data, "%d:", &n) != 1)
				return 12;
			snprintf(want, sizeof(want), "%d:%s:%.*s", n, key, n % 50,
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
			if (strcmp(value.data, want) != 0)
				return 13;
			if (n != CONC_ROUNDS)
				done = 0;
		}
	}
	dict_close(&dict);
	strbuf_free(&value);
	free(name);
	return 0;
}

/* writer_child - rewrite every key CONC_ROUNDS times. */
static int writer_child(const char *type, const char *path)
{
	char *name = xasprintf("%s:%s", type, path), *err = NULL, key[32], value[128];
	struct dict *dict = dict_open(name, DICT_WRITE, &err);
	int round, i;

	if (dict == NULL)
		return 20;
	for (round = 1; round <= CONC_ROUNDS; round++) {
		for (i = 0; i < CONC_KEYS; i++) {
			snprintf(key, sizeof(key), "key%d", i);
			snprintf(value, sizeof(value), "%d:%s:%.*s", round, key, round % 50,
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
			if (dict_update(dict, key, value, &err) < 0)
				return 21;
		}
		usleep(1000); /* let the readers overlap with the writes */
	}
	dict_close(&dict);
	free(name);
	return 0;
}

static void test_concurrent_processes(void **state)
{
	size_t t;

	for (t = 0; t < 2; t++) {
		char *path = xasprintf("%s/conc-%s", (char *)*state, db_types[t]);
		pid_t pids[3];
		int i, status;
		struct dict *dict;
		char key[32];

		dict = open_ok(db_types[t], path, DICT_WRITE | DICT_CREATE);
		for (i = 0; i < CONC_KEYS; i++) {
			char value[32], *err = NULL;

			snprintf(key, sizeof(key), "key%d", i);
			snprintf(value, sizeof(value), "0:key%d:", i);
			assert_int_equal(dict_update(dict, key, value, &err), 0);
		}
		dict_close(&dict);

		for (i = 0; i < 3; i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0)
				_exit(i < 2 ? reader_child(db_types[t], path)
					    : writer_child(db_types[t], path));
		}
		for (i = 0; i < 3; i++) {
			assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
			assert_true(WIFEXITED(status));
			if (WEXITSTATUS(status) != 0)
				fail_msg("%s child %d exited with %d", db_types[t], i,
					 WEXITSTATUS(status));
		}
		dict = open_ok(db_types[t], path, DICT_READ);
		snprintf(key, sizeof(key), "key%d", CONC_KEYS - 1);
		assert_non_null(lookup(dict, key));
		assert_true(strncmp(lookup(dict, key), "200:", 4) == 0);
		dict_close(&dict);
		free(path);
	}
}

/*
 * A reader that dies in the middle of an iteration (holding the read lock)
 * must not block a writer that has the table open already.
 */
static void test_dead_reader_released(void **state)
{
	size_t t;

	for (t = 0; t < 2; t++) {
		char *path = xasprintf("%s/dead-%s", (char *)*state, db_types[t]), *err = NULL;
		struct dict *writer;
		time_t start;
		pid_t pid;
		int status;

		build(db_types[t], path, "a 1\nb 2\n");
		writer = open_ok(db_types[t], path, DICT_WRITE);
		assert_int_equal(dict_update(writer, "c", "3", &err), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct strbuf k = STRBUF_INIT, v = STRBUF_INIT;
			struct dict *reader = open_ok(db_types[t], path, DICT_READ);

			if (dict_first(reader, &k, &v, &err) != DICT_FOUND)
				_exit(1);
			kill(getpid(), SIGKILL);
			_exit(2);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		/* The writer checks for dead lock holders at most once a second. */
		start = time(NULL);
		while (time(NULL) == start)
			usleep(10000);
		alarm(20); /* a leaked read lock would block this update forever */
		assert_int_equal(dict_update(writer, "d", "4", &err), 0);
		alarm(0);
		assert_string_equal(lookup(writer, "d"), "4");
		dict_close(&writer);
		free(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_text_format, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_text_errors, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_all_types_basic, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_keep_case, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_update_delete, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_create_and_missing, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_relative_name, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_bad_names, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_bad_source_line, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_failed_rebuild_keeps_old, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_commit_rules, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_nul_flag, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_reopen_after_rebuild, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_concurrent_processes, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_dead_reader_released, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
