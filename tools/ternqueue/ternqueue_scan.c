/*
 * ternqueue_scan - find messages in the queue directories, select those a
 * command names (queue IDs, ALL, --from, --to), and read their envelopes
 * (from queue files, and from maildrop files for the listing).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/maildrop.h"
#include "mail/queue_file.h"
#include "mail/queue_id.h"
#include "tools/ternqueue/ternqueue.h"
#include "util/mymalloc.h"

#define LOCATE_TRIES 3

const char *const tq_dirs[] = {"incoming", "active", "deferred", "hold", NULL};

char *tq_path(const struct ternqueue *t, const char *dir, const char *id)
{
	return xasprintf("%s/%s/%s", t->queue_dir, dir, id);
}

void tq_set_free(struct tq_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->v[i].id);
	free(set->v);
	*set = (struct tq_set){0};
}

static void set_add(struct tq_set *set, const char *id, const char *dir)
{
	set->v = xreallocarray(set->v, set->n + 1, sizeof(*set->v));
	set->v[set->n].id = xstrdup(id);
	set->v[set->n++].dir = dir;
}

static int msg_cmp(const void *a, const void *b)
{
	const struct tq_msg *x = a, *y = b;

	return strcmp(x->id, y->id);
}

/* scan_dir - the messages in one directory. */
static void scan_dir(struct ternqueue *t, const char *dir, struct tq_set *set)
{
	char *path = xasprintf("%s/%s", t->queue_dir, dir);
	bool maildrop = strcmp(dir, "maildrop") == 0;
	DIR *d = opendir(path);
	struct dirent *de;

	if (d == NULL) {
		if (errno != ENOENT)
			tq_error(t, "cannot read %s: %s%s", path, strerror(errno),
				 errno == EACCES ? " (this needs the rights of root or mail_owner)"
						 : "");
		free(path);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (maildrop ? maildrop_name_valid(de->d_name) : queue_id_valid(de->d_name))
			set_add(set, de->d_name, dir);
	closedir(d);
	free(path);
}

void tq_scan(struct ternqueue *t, bool maildrop, struct tq_set *set)
{
	*set = (struct tq_set){0};
	if (maildrop)
		scan_dir(t, "maildrop", set);
	for (size_t i = 0; tq_dirs[i] != NULL; i++)
		scan_dir(t, tq_dirs[i], set);
	if (set->n > 1)
		qsort(set->v, set->n, sizeof(*set->v), msg_cmp);
	/* a file seen twice moved while the directories were read: keep one */
	for (size_t i = 1; i < set->n;) {
		if (strcmp(set->v[i].id, set->v[i - 1].id) == 0) {
			free(set->v[i].id);
			memmove(&set->v[i], &set->v[i + 1], (set->n - i - 1) * sizeof(*set->v));
			set->n--;
		} else {
			i++;
		}
	}
}

const char *tq_locate(const struct ternqueue *t, const char *id)
{
	for (int tries = 0; tries < LOCATE_TRIES; tries++) {
		for (size_t i = 0; tq_dirs[i] != NULL; i++) {
			char *path = tq_path(t, tq_dirs[i], id);
			struct stat st;
			int r = lstat(path, &st);

			free(path);
			if (r == 0 && S_ISREG(st.st_mode))
				return tq_dirs[i];
		}
	}
	return NULL;
}

static bool in_dirs(const char *dir, const char *const *dirs)
{
	for (size_t i = 0; dirs[i] != NULL; i++)
		if (strcmp(dir, dirs[i]) == 0)
			return true;
	return false;
}

/* matches - whether the envelope has the sender from, and a pending recipient to. */
static bool matches(const struct tq_envelope *env, const char *from, const char *to)
{
	bool ok = true;

	if (from != NULL)
		ok = strcasecmp(env->sender, from) == 0 || (*from == '\0' && *env->sender == '\0');
	if (ok && to != NULL) {
		ok = false;
		for (size_t i = 0; i < env->nrcpts && !ok; i++)
			ok = !env->rcpts[i].done && strcasecmp(env->rcpts[i].address, to) == 0;
	}
	return ok;
}

/* select_filtered - every message in dirs; only those that match when filtering. */
static void select_filtered(struct ternqueue *t, const char *from, const char *to,
			    const char *const *dirs, struct tq_set *set)
{
	struct tq_set all;

	tq_scan(t, false, &all);
	for (size_t i = 0; i < all.n; i++) {
		struct tq_envelope env;
		char *err = NULL;
		int r;

		if (!in_dirs(all.v[i].dir, dirs))
			continue;
		if (from == NULL && to == NULL) {
			set_add(set, all.v[i].id, all.v[i].dir);
			continue;
		}
		r = tq_envelope_read(t, all.v[i].dir, all.v[i].id, &env, &err);
		if (r < 0) {
			tq_error(t, "%s: %s", all.v[i].id, err);
			free(err);
		} else if (r == 0) {
			if (matches(&env, from, to))
				set_add(set, all.v[i].id, all.v[i].dir);
			tq_envelope_free(&env);
		}
	}
	tq_set_free(&all);
}

int tq_select(struct ternqueue *t, int argc, char **argv, const char *const *dirs,
	      struct tq_set *set)
{
	const char *from = NULL, *to = NULL;
	bool all = false;
	int i;

	*set = (struct tq_set){0};
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strcmp(argv[i], "ALL") == 0)
			all = true;
		else if (argv[i][0] == '-')
			return TQ_USAGE;
	}
	if (all || from != NULL || to != NULL) {
		if (argc != (all ? 1 : 0) + (from != NULL ? 2 : 0) + (to != NULL ? 2 : 0))
			return TQ_USAGE; /* ALL or filters, not mixed with queue IDs */
		select_filtered(t, from, to, dirs, set);
		return TQ_OK;
	}
	if (argc == 0)
		return TQ_USAGE;
	for (i = 0; i < argc; i++) {
		const char *dir = queue_id_valid(argv[i]) ? tq_locate(t, argv[i]) : NULL;

		if (!queue_id_valid(argv[i]))
			tq_error(t, "%s: not a queue ID", argv[i]);
		else if (dir == NULL)
			tq_error(t, "%s: no such message in the queue", argv[i]);
		else if (!in_dirs(dir, dirs))
			tq_note("%s: in %s/, left alone", argv[i], dir);
		else
			set_add(set, argv[i], dir);
	}
	return TQ_OK;
}
