/*
 * safe_file - replace a file so that readers and crashes see either the old
 * contents or the new, never a mixture.
 *
 * The new contents go to a temporary file in the same directory (created
 * with O_EXCL), which is written in full, fsync'd, renamed over the target,
 * and then the directory itself is fsync'd so that the rename is durable.
 * On any failure the temporary file is removed and the old file is left as
 * it was.
 *
 * Errors: functions returning int give 0 on success and -1 on failure with
 * *error_r set to a malloc'd message (caller frees) that names the path and
 * the system error.
 */
#ifndef TERN_SAFE_FILE_H
#define TERN_SAFE_FILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * safe_file_write - replace path with the len bytes at data. The file gets
 * exactly the permission bits in mode (not reduced by the umask) and the
 * owner of the calling process; the old file's owner and mode are not kept.
 */
int safe_file_write(const char *path, const void *data, size_t len, mode_t mode, char **error_r);

/*
 * safe_file_temp_path - a malloc'd name for a temporary file beside path:
 * "<dir>/.<base>.tmp.<pid>.<random>". The name is not reserved: create it
 * with O_EXCL (or an equivalent) and pick another name on EEXIST.
 */
char *safe_file_temp_path(const char *path);

/*
 * safe_file_install - make a finished temporary file the new path: fsync
 * tmp_path, rename it over path, fsync the directory. On failure tmp_path is
 * removed and path is unchanged (unless the failure is the final directory
 * fsync, after which path already has the new contents).
 */
int safe_file_install(const char *tmp_path, const char *path, char **error_r);

/* safe_file_fsync_dir - fsync the directory dir so that renames and new names in it persist. */
int safe_file_fsync_dir(const char *dir, char **error_r);

/* safe_file_fsync_parent - fsync the directory that contains path ("." for a bare name). */
int safe_file_fsync_parent(const char *path, char **error_r);

#endif
