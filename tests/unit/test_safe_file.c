/*
 * test_safe_file - atomic file replacement: contents, mode, failure paths,
 * and no temporary file left behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/mymalloc.h"
#include "util/safe_file.h"

static int setup_dir(void **state)
{
	char *dir = xstrdup("/tmp/test_safe_file.XXXXXX");

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

/* count_entries - the number of names in dir other than . and .. */
static int count_entries(const char *dir)
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

/* slurp - the contents of path as a malloc'd string. */
static char *slurp(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	close(fd);
	buf[n] = '\0';
	return xstrdup(buf);
}

static void test_write_new_and_replace(void **state)
{
	const char *dir = *state;
	char *path = xasprintf("%s/file", dir), *err = NULL, *text;
	struct stat st;

	assert_int_equal(safe_file_write(path, "one\n", 4, 0644, &err), 0);
	assert_null(err);
	text = slurp(path);
	assert_string_equal(text, "one\n");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	assert_int_equal(safe_file_write(path, "two, longer\n", 12, 0600, &err), 0);
	text = slurp(path);
	assert_string_equal(text, "two, longer\n");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_entries(dir), 1);
	free(path);
}

static void test_mode_ignores_umask(void **state)
{
	const char *dir = *state;
	char *path = xasprintf("%s/wide", dir), *err = NULL;
	mode_t old = umask(077);
	struct stat st;

	assert_int_equal(safe_file_write(path, "x", 1, 0664, &err), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0664);
	free(path);
}

static void test_empty_file(void **state)
{
	const char *dir = *state;
	char *path = xasprintf("%s/empty", dir), *err = NULL;
	struct stat st;

	assert_int_equal(safe_file_write(path, "", 0, 0600, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	free(path);
}

static void test_missing_directory(void **state)
{
	const char *dir = *state;
	char *path = xasprintf("%s/no/such/dir/file", dir), *err = NULL;

	assert_int_equal(safe_file_write(path, "x", 1, 0644, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, strerror(ENOENT)));
	free(err);
	assert_int_equal(count_entries(dir), 0);
	free(path);
}

/* A target that is a directory: the rename fails after the temporary file was written. */
static void test_rename_fails_leaves_no_temp(void **state)
{
	const char *dir = *state;
	char *path = xasprintf("%s/target", dir), *inner = xasprintf("%s/target/keep", dir);
	char *err = NULL, *text;

	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(safe_file_write(inner, "kept", 4, 0644, &err), 0);
	assert_int_equal(safe_file_write(path, "x", 1, 0644, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "rename"));
	free(err);
	/* Only the directory itself: no temporary file beside it, and its contents are intact. */
	assert_int_equal(count_entries(dir), 1);
	text = slurp(inner);
	assert_string_equal(text, "kept");
	free(text);
	free(inner);
	free(path);
}

static void test_unwritable_directory(void **state)
{
	const char *dir = *state;
	char *sub = xasprintf("%s/ro", dir), *path = xasprintf("%s/ro/file", dir);
	char *err = NULL, *text;

	if (geteuid() == 0) {
		free(sub);
		free(path);
		skip();
	}
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(safe_file_write(path, "old", 3, 0644, &err), 0);
	assert_int_equal(chmod(sub, 0555), 0);
	assert_int_equal(safe_file_write(path, "new", 3, 0644, &err), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, strerror(EACCES)));
	free(err);
	text = slurp(path);
	assert_string_equal(text, "old");
	free(text);
	assert_int_equal(count_entries(sub), 1);
	assert_int_equal(chmod(sub, 0755), 0);
	free(sub);
	free(path);
}

static void test_temp_path_beside_target(void **state)
{
	char *a = safe_file_temp_path("/x/y/name"), *b = safe_file_temp_path("/x/y/name");
	char *c = safe_file_temp_path("bare");

	assert_true(strncmp(a, "/x/y/.name.tmp.", 15) == 0);
	assert_string_not_equal(a, b);
	assert_true(strncmp(c, ".bare.tmp.", 10) == 0);
	free(a);
	free(b);
	free(c);
}

static void test_install(void **state)
{
	const char *dir = *state;
	char *path = xasprintf("%s/inst", dir), *tmp = safe_file_temp_path(path), *err = NULL;
	char *text;
	int fd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	assert_int_equal(safe_file_install(tmp, path, &err), 0);
	text = slurp(path);
	assert_string_equal(text, "abc");
	free(text);
	assert_int_equal(count_entries(dir), 1);

	/* A missing temporary file is an error naming it. */
	assert_int_equal(safe_file_install(tmp, path, &err), -1);
	assert_non_null(strstr(err, tmp));
	free(err);
	free(tmp);
	free(path);
}

static void test_fsync_dir(void **state)
{
	const char *dir = *state;
	char *missing = xasprintf("%s/missing", dir), *err = NULL;

	assert_int_equal(safe_file_fsync_dir(dir, &err), 0);
	assert_int_equal(safe_file_fsync_parent("relative-name", &err), 0);
	assert_int_equal(safe_file_fsync_dir(missing, &err), -1);
	assert_non_null(strstr(err, missing));
	free(err);
	free(missing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_new_and_replace, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_mode_ignores_umask, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_empty_file, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_missing_directory, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_rename_fails_leaves_no_temp, setup_dir,
					    teardown_dir),
	    cmocka_unit_test_setup_teardown(test_unwritable_directory, setup_dir, teardown_dir),
	    cmocka_unit_test(test_temp_path_beside_target),
	    cmocka_unit_test_setup_teardown(test_install, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_fsync_dir, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
