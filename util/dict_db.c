/*
 * dict_db - the hash: and btree: table types: Berkeley DB 5.3 files opened
 * in a Concurrent Data Store environment (DB_INIT_CDB | DB_INIT_MPOOL), so
 * that many processes may read while one writes.
 *
 * Table "name" is the file name.db; its environment is the directory
 * name.db.env. Rebuilding (DICT_REBUILD) writes a standalone database into a
 * temporary file beside name.db and renames it into place at commit; other
 * handles compare the identity (device, inode) of name.db with the file they
 * have open at most once a second and reopen when it changed.
 */
#include <db.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/dict.h"
#include "util/dict_impl.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/safe_file.h"
#include "util/strbuf.h"

/* Cache of the shared buffer pool, and thread slots for failure checking. */
#define DICT_DB_CACHE_BYTES (1024 * 1024)
#define DICT_DB_THREAD_COUNT 1024
/* How often a new temporary file name is tried when building. */
#define DICT_DB_TRIES 16

struct dict_db {
	struct dict dict;
	DBTYPE dbtype;
	int flags;
	char *db_path;	/* absolute path of name.db */
	char *env_dir;	/* name.db.env */
	char *tmp_path; /* DICT_REBUILD: the new file until commit */
	DB_ENV *env;	/* NULL when rebuilding */
	DB *db;		/* NULL after a failed reopen or after commit */
	DBC *cursor;	/* the iteration in progress */
	dev_t dev;	/* identity of the file that db has open */
	ino_t ino;
	time_t checked;	      /* last identity check */
	struct strbuf detail; /* the last message from Berkeley DB */
};

/* db_errcall - keep Berkeley DB's explanation for the next error message. */
static void db_errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
	struct dict_db *d = env->app_private;

	if (d != NULL)
		strbuf_set(&d->detail, msg);
}

/* db_msgcall - Berkeley DB's informational messages (e.g. locks freed after a dead process). */
static void db_msgcall(const DB_ENV *env, const char *msg)
{
	msg_debug("berkeley db: %s", msg);
}

/* db_isalive - for failure checking: whether process pid still exists. */
static int db_isalive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* db_error - a malloc'd message "what path: reason (detail)". */
static char *db_error(struct dict_db *d, const char *what, const char *path, int ret)
{
	char *msg;

	if (d->detail.len > 0 && strstr(d->detail.data, db_strerror(ret)) == NULL)
		msg = xasprintf("%s %s: %s (%s)", what, path, db_strerror(ret), d->detail.data);
	else
		msg = xasprintf("%s %s: %s", what, path, db_strerror(ret));
	strbuf_reset(&d->detail);
	return msg;
}

/* abs_path - name made absolute (Berkeley DB resolves relative names against the environment). */
static char *abs_path(const char *name, char **error_r)
{
	char *cwd, *path;

	if (name[0] == '/')
		return xstrdup(name);
	cwd = getcwd(NULL, 0);
	if (cwd == NULL) {
		*error_r = xasprintf("table %s: current directory: %s", name, strerror(errno));
		return NULL;
	}
	path = xasprintf("%s/%s", cwd, name);
	free(cwd);
	return path;
}

/*
 * env_check - release the read locks of processes that died holding them;
 * fail when one died holding the write lock (everyone would wait forever).
 */
static int env_check(struct dict_db *d, char **error_r)
{
	int ret = d->env->failchk(d->env, 0);

	if (ret == DB_RUNRECOVERY) {
		*error_r = xasprintf("environment %s is unusable: a process died while holding its "
				     "write lock; stop the programs using %s, remove %s and "
				     "rebuild the table",
				     d->env_dir, d->db_path, d->env_dir);
		return -1;
	}
	if (ret != 0) {
		*error_r = db_error(d, "check environment", d->env_dir, ret);
		return -1;
	}
	return 0;
}

/* env_open - open (or create) the table's CDS environment and release locks of dead processes. */
static int env_open(struct dict_db *d, char **error_r)
{
	DB_ENV *env;
	int ret;

	if (mkdir(d->env_dir, 0770) < 0 && errno != EEXIST) {
		*error_r =
		    xasprintf("create environment directory %s: %s", d->env_dir, strerror(errno));
		return -1;
	}
	if ((ret = db_env_create(&env, 0)) != 0) {
		*error_r = xasprintf("create environment handle: %s", db_strerror(ret));
		return -1;
	}
	d->env = env;
	env->app_private = d;
	env->set_errcall(env, db_errcall);
	env->set_msgcall(env, db_msgcall);
	if ((ret = env->set_cachesize(env, 0, DICT_DB_CACHE_BYTES, 1)) != 0 ||
	    (ret = env->set_thread_count(env, DICT_DB_THREAD_COUNT)) != 0 ||
	    (ret = env->set_isalive(env, db_isalive)) != 0 ||
	    (ret = env->open(env, d->env_dir, DB_CREATE | DB_INIT_CDB | DB_INIT_MPOOL, 0)) != 0) {
		if (ret == EACCES)
			*error_r = xasprintf("open environment %s: %s: every process that uses "
					     "%s needs read and write access to the files in %s "
					     "(they take the group of %s)",
					     d->env_dir, db_strerror(ret), d->db_path, d->env_dir,
					     d->db_path);
		else
			*error_r = db_error(d, "open environment", d->env_dir, ret);
		return -1;
	}
	return env_check(d, error_r);
}

/* share_path - give path the group gid and mode, if this process owns it; best effort. */
static void share_path(const char *path, gid_t gid, mode_t mode)
{
	struct stat st;

	if (lstat(path, &st) < 0 || st.st_uid != geteuid())
		return;
	if (st.st_gid != gid && chown(path, (uid_t)-1, gid) < 0)
		msg_debug("chgrp %s: %s", path, strerror(errno));
	if ((st.st_mode & 07777) != mode && chmod(path, mode) < 0)
		msg_debug("chmod %s: %s", path, strerror(errno));
}

/*
 * env_share - let the group of name.db use the environment: the directory
 * and its region files get that group, and modes 0770 and 0660 (Berkeley DB
 * creates them reduced by the umask).
 */
static void env_share(struct dict_db *d)
{
	struct dirent *de;
	struct stat st;
	char *path;
	DIR *dp;

	if (stat(d->db_path, &st) < 0)
		return;
	share_path(d->env_dir, st.st_gid, 0770);
	if ((dp = opendir(d->env_dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (strncmp(de->d_name, "__db.", 5) != 0)
			continue;
		path = xasprintf("%s/%s", d->env_dir, de->d_name);
		share_path(path, st.st_gid, 0660);
		free(path);
	}
	closedir(dp);
}

/* file_open - open name.db in the environment and remember which file that is. */
static int file_open(struct dict_db *d, char **error_r)
{
	struct stat st;
	u_int32_t oflags = 0;
	DB *db;
	int ret, fd;

	if (!(d->flags & DICT_CREATE) && stat(d->db_path, &st) < 0) {
		*error_r = xasprintf("open %s: %s", d->db_path, strerror(errno));
		return -1;
	}
	if ((ret = db_create(&db, d->env, 0)) != 0) {
		*error_r = db_error(d, "create handle for", d->db_path, ret);
		return -1;
	}
	if (!(d->flags & DICT_WRITE))
		oflags |= DB_RDONLY;
	else if (d->flags & DICT_CREATE)
		oflags |= DB_CREATE;
	ret = db->open(db, NULL, d->db_path, NULL, d->dbtype, oflags, 0644);
	if (ret == 0)
		ret = db->fd(db, &fd);
	if (ret != 0) {
		*error_r = db_error(d, "open", d->db_path, ret);
		db->close(db, 0);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*error_r = xasprintf("fstat %s: %s", d->db_path, strerror(errno));
		db->close(db, 0);
		return -1;
	}
	d->db = db;
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	d->checked = time(NULL);
	return 0;
}

/* cursor_close - end the iteration in progress, if any. */
static void cursor_close(struct dict_db *d)
{
	if (d->cursor != NULL) {
		d->cursor->close(d->cursor);
		d->cursor = NULL;
	}
}

/*
 * db_ready - make sure d->db is open and, at most once a second, that no
 * process died holding the write lock and that d->db is still the file
 * called name.db (ternmap renames a rebuilt table into place).
 */
static int db_ready(struct dict_db *d, char **error_r)
{
	struct stat st;
	time_t now;

	if (d->env == NULL) {
		if (d->db == NULL) {
			*error_r = xasprintf("table %s: used after commit", d->db_path);
			return -1;
		}
		return 0;
	}
	if (d->db == NULL)
		return file_open(d, error_r);
	if (d->cursor != NULL || (now = time(NULL)) == d->checked)
		return 0;
	d->checked = now;
	if (env_check(d, error_r) < 0)
		return -1;
	if (stat(d->db_path, &st) < 0 || (st.st_dev == d->dev && st.st_ino == d->ino))
		return 0;
	d->db->close(d->db, 0);
	d->db = NULL;
	return file_open(d, error_r);
}

/* set_key - the key as stored: with its NUL byte for DICT_NUL. */
static void set_key(struct dict_db *d, DBT *dbt, const char *key)
{
	memset(dbt, 0, sizeof(*dbt));
	dbt->data = (void *)key;
	dbt->size = (u_int32_t)strlen(key);
	if (d->flags & DICT_NUL)
		dbt->size++;
}

/* get_string - copy a stored key or value into sb, without a DICT_NUL NUL byte. */
static void get_string(struct dict_db *d, const DBT *dbt, struct strbuf *sb)
{
	size_t len = dbt->size;

	if ((d->flags & DICT_NUL) && len > 0 && ((const char *)dbt->data)[len - 1] == '\0')
		len--;
	strbuf_reset(sb);
	strbuf_append(sb, dbt->data, len);
}

static enum dict_result db_lookup(struct dict *dict, const char *key, struct strbuf *value,
				  char **error_r)
{
	struct dict_db *d = (struct dict_db *)dict;
	DBT k, v;
	int ret;

	if (db_ready(d, error_r) < 0)
		return DICT_ERROR;
	set_key(d, &k, key);
	memset(&v, 0, sizeof(v));
	ret = d->db->get(d->db, NULL, &k, &v, 0);
	if (ret == DB_NOTFOUND)
		return DICT_NOTFOUND;
	if (ret != 0) {
		*error_r = db_error(d, "lookup in", d->db_path, ret);
		return DICT_ERROR;
	}
	get_string(d, &v, value);
	return DICT_FOUND;
}

static int db_update(struct dict *dict, const char *key, const char *value, char **error_r)
{
	struct dict_db *d = (struct dict_db *)dict;
	DBT k, v;
	int ret;

	cursor_close(d);
	if (db_ready(d, error_r) < 0)
		return -1;
	set_key(d, &k, key);
	set_key(d, &v, value);
	ret = d->db->put(d->db, NULL, &k, &v, 0);
	if (ret != 0) {
		*error_r = db_error(d, "update", d->db_path, ret);
		return -1;
	}
	return 0;
}

static enum dict_result db_del(struct dict *dict, const char *key, char **error_r)
{
	struct dict_db *d = (struct dict_db *)dict;
	DBT k;
	int ret;

	cursor_close(d);
	if (db_ready(d, error_r) < 0)
		return DICT_ERROR;
	set_key(d, &k, key);
	ret = d->db->del(d->db, NULL, &k, 0);
	if (ret == DB_NOTFOUND)
		return DICT_NOTFOUND;
	if (ret != 0) {
		*error_r = db_error(d, "delete from", d->db_path, ret);
		return DICT_ERROR;
	}
	return DICT_FOUND;
}

static enum dict_result db_seq(struct dict *dict, int first, struct strbuf *key,
			       struct strbuf *value, char **error_r)
{
	struct dict_db *d = (struct dict_db *)dict;
	DBT k, v;
	int ret;

	if (first) {
		cursor_close(d);
		if (db_ready(d, error_r) < 0)
			return DICT_ERROR;
		if ((ret = d->db->cursor(d->db, NULL, &d->cursor, 0)) != 0) {
			d->cursor = NULL;
			*error_r = db_error(d, "read", d->db_path, ret);
			return DICT_ERROR;
		}
	}
	if (d->cursor == NULL) {
		*error_r = xasprintf("read %s: no iteration in progress", d->db_path);
		return DICT_ERROR;
	}
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	ret = d->cursor->get(d->cursor, &k, &v, first ? DB_FIRST : DB_NEXT);
	if (ret == DB_NOTFOUND) {
		cursor_close(d);
		return DICT_NOTFOUND;
	}
	if (ret != 0) {
		*error_r = db_error(d, "read", d->db_path, ret);
		cursor_close(d);
		return DICT_ERROR;
	}
	get_string(d, &k, key);
	get_string(d, &v, value);
	return DICT_FOUND;
}

static void db_seq_end(struct dict *dict)
{
	cursor_close((struct dict_db *)dict);
}

/* rebuild_open - create a standalone database in a fresh temporary file beside name.db. */
static int rebuild_open(struct dict_db *d, char **error_r)
{
	struct stat st;
	DB *db = NULL;
	int ret = 0, i, have_old = stat(d->db_path, &st) == 0;

	for (i = 0; i < DICT_DB_TRIES; i++) {
		if ((ret = db_create(&db, NULL, 0)) != 0) {
			*error_r =
			    xasprintf("create handle for %s: %s", d->db_path, db_strerror(ret));
			return -1;
		}
		db->dbenv->app_private = d;
		db->set_errcall(db, db_errcall);
		db->set_msgcall(db, db_msgcall);
		d->tmp_path = safe_file_temp_path(d->db_path);
		ret = db->open(db, NULL, d->tmp_path, NULL, d->dbtype, DB_CREATE | DB_EXCL, 0644);
		if (ret == 0)
			break;
		db->close(db, 0);
		db = NULL;
		if (ret != EEXIST) {
			*error_r = db_error(d, "create", d->tmp_path, ret);
			XFREE(d->tmp_path);
			return -1;
		}
		XFREE(d->tmp_path);
	}
	if (db == NULL) {
		*error_r = xasprintf("create %s: no unused temporary file name", d->db_path);
		return -1;
	}
	d->db = db;
	if (have_old && geteuid() == 0 && chown(d->tmp_path, st.st_uid, st.st_gid) < 0) {
		*error_r = xasprintf("chown %s: %s", d->tmp_path, strerror(errno));
		return -1;
	}
	if (have_old && chmod(d->tmp_path, st.st_mode & 07777) < 0) {
		*error_r = xasprintf("chmod %s: %s", d->tmp_path, strerror(errno));
		return -1;
	}
	return 0;
}

static int db_commit(struct dict *dict, char **error_r)
{
	struct dict_db *d = (struct dict_db *)dict;
	int ret;

	cursor_close(d);
	ret = d->db->close(d->db, 0);
	d->db = NULL;
	if (ret != 0) {
		*error_r = db_error(d, "write", d->tmp_path, ret);
		unlink(d->tmp_path);
		XFREE(d->tmp_path);
		return -1;
	}
	ret = safe_file_install(d->tmp_path, d->db_path, error_r);
	XFREE(d->tmp_path);
	return ret;
}

static void db_close(struct dict *dict)
{
	struct dict_db *d = (struct dict_db *)dict;

	cursor_close(d);
	if (d->db != NULL)
		d->db->close(d->db, 0);
	if (d->tmp_path != NULL) {
		unlink(d->tmp_path);
		free(d->tmp_path);
	}
	if (d->env != NULL)
		d->env->close(d->env, 0);
	free(d->db_path);
	free(d->env_dir);
	strbuf_free(&d->detail);
	free(d);
}

/* db_open - open table name (the file name.db) as a btree or hash database. */
static struct dict *db_open(const char *name, int flags, DBTYPE dbtype, char **error_r)
{
	struct dict_db *d;
	char *path = abs_path(name, error_r);

	if (path == NULL)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	d->dbtype = dbtype;
	d->flags = flags;
	d->db_path = xasprintf("%s.db", path);
	d->env_dir = xasprintf("%s.db.env", path);
	free(path);
	strbuf_init(&d->detail, 0);
	if (flags & DICT_REBUILD) {
		if (rebuild_open(d, error_r) < 0) {
			db_close(&d->dict);
			return NULL;
		}
		return &d->dict;
	}
	if (!(flags & DICT_CREATE) && access(d->db_path, F_OK) < 0) {
		*error_r = xasprintf("open %s: %s", d->db_path, strerror(errno));
		db_close(&d->dict);
		return NULL;
	}
	if (env_open(d, error_r) < 0 || file_open(d, error_r) < 0) {
		db_close(&d->dict);
		return NULL;
	}
	env_share(d);
	return &d->dict;
}

static struct dict *db_open_hash(const char *name, int flags, char **error_r)
{
	return db_open(name, flags, DB_HASH, error_r);
}

static struct dict *db_open_btree(const char *name, int flags, char **error_r)
{
	return db_open(name, flags, DB_BTREE, error_r);
}

const struct dict_ops dict_hash_ops = {
    .type = "hash",
    .open = db_open_hash,
    .lookup = db_lookup,
    .update = db_update,
    .del = db_del,
    .seq = db_seq,
    .seq_end = db_seq_end,
    .commit = db_commit,
    .close = db_close,
};

const struct dict_ops dict_btree_ops = {
    .type = "btree",
    .open = db_open_btree,
    .lookup = db_lookup,
    .update = db_update,
    .del = db_del,
    .seq = db_seq,
    .seq_end = db_seq_end,
    .commit = db_commit,
    .close = db_close,
};
