/*
 * ternadmin_maildir - reading a Maildir as Dovecot writes it (Maildir++):
 * INBOX is the Maildir's own cur/ and new/, each other folder a directory
 * ".Name.Sub" with its name in modified UTF-7; dovecot-uidlist keeps UIDs
 * and UIDVALIDITY, dovecot-keywords names the keyword letters of the file
 * names' info part, and subscriptions lists the subscribed folders. Also
 * the names that the export gives to folders and message files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/ternadmin/ternadmin.h"
#include "tools/ternadmin/ternadmin_mail.h"
#include "util/mymalloc.h"

/* A dovecot-uidlist entry: a UID and the base of a file name (before ':'). */
struct uid_entry {
	uint32_t uid;
	char *base;
	int used;
};

struct uidlist {
	uint32_t uidvalidity, uidnext;
	struct uid_entry *items;
	size_t count;
};

/* ---------------------------------------------------------------- names */

/* decode_component - one component of a Maildir++ folder name into UTF-8. */
static char *decode_component(struct ternadmin *ta, const char *dir, const char *s, size_t len)
{
	struct strbuf out = STRBUF_INIT;
	int changed;
	char *raw;

	if (ta_mutf7_decode(s, len, &out) == 0)
		return strbuf_detach(&out);
	strbuf_free(&out);
	/* Dovecot shows a name that is not modified UTF-7 as it is. */
	raw = ta_utf8_repair(s, len, &changed);
	if (changed)
		ta_warn(ta,
			"%s: folder name is neither modified UTF-7 nor UTF-8: imported as \"%s\"",
			dir, raw);
	return raw;
}

/* folder_name - the mailbox name of the Maildir++ directory entry ".A.B", or NULL. */
static char *folder_name(struct ternadmin *ta, const char *root, const char *entry)
{
	struct strbuf name = STRBUF_INIT;
	const char *p = entry + 1, *dot;
	char *comp;

	for (;;) {
		dot = strchr(p, '.');
		size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);

		if (len == 0) {
			ta_warn(ta, "%s/%s: folder name with an empty level: not imported", root,
				entry);
			strbuf_free(&name);
			return NULL;
		}
		comp = decode_component(ta, entry, p, len);
		if (name.len > 0)
			strbuf_putc(&name, '/');
		strbuf_puts(&name, comp);
		free(comp);
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	return strbuf_detach(&name);
}

char *md_folder_dir_name(const char *mailbox)
{
	struct strbuf out = STRBUF_INIT;
	const char *p = mailbox, *slash;

	for (;;) {
		slash = strchr(p, '/');
		size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);

		strbuf_putc(&out, '.');
		/* '.' separates levels on disk: one inside a name is written shifted. */
		if (ta_mutf7_encode(p, len, ".", &out) < 0) {
			strbuf_free(&out);
			return NULL;
		}
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	return strbuf_detach(&out);
}

char *md_file_name(time_t time, unsigned usec, long pid, const char *host, uint64_t size,
		   uint64_t crlf_size)
{
	return xasprintf("%lld.M%uP%ld.%s,S=%llu,W=%llu", (long long)time, usec, pid, host,
			 (unsigned long long)size, (unsigned long long)crlf_size);
}

char *md_info(unsigned flags, uint32_t letters)
{
	struct strbuf out = STRBUF_INIT;
	int i;

	strbuf_puts(&out, ":2,");
	if (flags & STORE_DRAFT)
		strbuf_putc(&out, 'D');
	if (flags & STORE_FLAGGED)
		strbuf_putc(&out, 'F');
	if (flags & STORE_ANSWERED)
		strbuf_putc(&out, 'R');
	if (flags & STORE_SEEN)
		strbuf_putc(&out, 'S');
	if (flags & STORE_DELETED)
		strbuf_putc(&out, 'T');
	for (i = 0; i < MD_KEYWORDS_MAX; i++) {
		if (letters & (1u << i))
			strbuf_putc(&out, 'a' + i);
	}
	return strbuf_detach(&out);
}

char *md_hostname(void)
{
	struct strbuf out = STRBUF_INIT;
	char host[256];
	const char *p;

	if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	for (p = host; *p != '\0'; p++) {
		/* '/' cannot be in a file name; ':' and ',' start the parts that follow. */
		if (*p == '/' || *p == ':' || *p == ',')
			strbuf_printf(&out, "\\%03o", (unsigned char)*p);
		else
			strbuf_putc(&out, *p);
	}
	return strbuf_detach(&out);
}

/* ------------------------------------------------------------ the files */

/* read_lines - call fn for each line of dir/name (without its LF); 1 when there is no file. */
static int read_lines(const char *dir, const char *name,
		      int (*fn)(const char *line, size_t len, size_t lineno, void *ctx), void *ctx,
		      char **error_r)
{
	char *path = xasprintf("%s/%s", dir, name), *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	FILE *fp = fopen(path, "re");
	int ret = 0;

	if (fp == NULL) {
		ret = errno == ENOENT ? 1 : -1;
		if (ret < 0)
			*error_r = xasprintf("open %s: %s", path, strerror(errno));
		free(path);
		return ret;
	}
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if ((ret = fn(line, (size_t)n, ++lineno, ctx)) < 0)
			break;
	}
	if (ret == 0 && ferror(fp)) {
		*error_r = xasprintf("read %s: %s", path, strerror(errno));
		ret = -1;
	}
	free(line);
	fclose(fp);
	free(path);
	return ret;
}

/* parse_u32 - a decimal number from 1 to UINT32_MAX at *p (advanced); 0 when there is none. */
static uint32_t parse_u32(const char **p)
{
	unsigned long long v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > UINT32_MAX)
			return 0;
	}
	*p = s;
	return (uint32_t)v;
}

struct uidlist_ctx {
	struct ternadmin *ta;
	const char *path;
	struct uidlist *list;
	int version;
	uint32_t last;
	size_t size; /* of list->items */
};

/*
 * uidlist_header - the first line: "3 V<uidvalidity> N<uidnext> ..." (versions 2
 * and 3) or "1 <uidvalidity> <uidnext>".
 */
static int uidlist_header(struct uidlist_ctx *c, const char *line)
{
	const char *p = line;

	if (line[0] < '1' || line[0] > '3' || line[1] != ' ') {
		ta_warn(c->ta, "%s: unknown format: UIDs not kept", c->path);
		return -1;
	}
	c->version = line[0] - '0';
	p = line + 2;
	if (c->version == 1) {
		c->list->uidvalidity = parse_u32(&p);
		if (*p == ' ')
			p++;
		c->list->uidnext = parse_u32(&p);
		return 0;
	}
	while (*p != '\0') {
		const char *field = p;

		p++;
		if (*field == 'V')
			c->list->uidvalidity = parse_u32(&p);
		else if (*field == 'N')
			c->list->uidnext = parse_u32(&p);
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	return 0;
}

static int uidlist_line(const char *line, size_t len, size_t lineno, void *ctx)
{
	struct uidlist_ctx *c = ctx;
	const char *p = line, *name;
	uint32_t uid;

	if (lineno == 1)
		return uidlist_header(c, line) < 0 ? -2 : 0;
	if (len == 0)
		return 0;
	if ((uid = parse_u32(&p)) == 0 || *p != ' ') {
		ta_warn(c->ta, "%s: line %zu: no UID: ignored", c->path, lineno);
		return 0;
	}
	if (c->version == 1) {
		name = p + 1;
	} else if ((name = strstr(p, " :")) != NULL) {
		name += 2;
	} else {
		ta_warn(c->ta, "%s: line %zu: no file name: ignored", c->path, lineno);
		return 0;
	}
	if (uid <= c->last) {
		ta_warn(c->ta, "%s: line %zu: UID %u after UID %u: ignored", c->path, lineno, uid,
			c->last);
		return 0;
	}
	c->last = uid;
	if (c->list->count == c->size) {
		c->size = c->size == 0 ? 256 : c->size * 2;
		c->list->items = xreallocarray(c->list->items, c->size, sizeof(struct uid_entry));
	}
	c->list->items[c->list->count].uid = uid;
	c->list->items[c->list->count].base = xstrndup(name, strcspn(name, ":"));
	c->list->items[c->list->count].used = 0;
	c->list->count++;
	return 0;
}

static int cmp_uid_entry(const void *a, const void *b)
{
	return strcmp(((const struct uid_entry *)a)->base, ((const struct uid_entry *)b)->base);
}

/* read_uidlist - dovecot-uidlist of a folder, sorted by file name; empty when there is none. */
static void read_uidlist(struct ternadmin *ta, const char *dir, struct uidlist *list)
{
	struct uidlist_ctx c = {ta, NULL, list, 0, 0, 0};
	char *err = NULL;
	int r;
	size_t i;

	memset(list, 0, sizeof(*list));
	c.path = xasprintf("%s/dovecot-uidlist", dir);
	r = read_lines(dir, "dovecot-uidlist", uidlist_line, &c, &err);
	if (r == -1) {
		ta_warn(ta, "%s: UIDs not kept", err);
		free(err);
	}
	if (r < 0) {
		for (i = 0; i < list->count; i++)
			free(list->items[i].base);
		free(list->items);
		memset(list, 0, sizeof(*list));
	}
	if (list->count > 0 && list->uidnext <= list->items[list->count - 1].uid)
		list->uidnext = list->items[list->count - 1].uid == UINT32_MAX
				    ? 0
				    : list->items[list->count - 1].uid + 1;
	if (list->count > 0)
		qsort(list->items, list->count, sizeof(struct uid_entry), cmp_uid_entry);
	free((char *)c.path);
}

static void uidlist_free(struct uidlist *list)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		free(list->items[i].base);
	free(list->items);
}

struct keywords_ctx {
	struct ternadmin *ta;
	const char *dir;
	struct md_folder *folder;
};

static int keywords_line(const char *line, size_t len, size_t lineno, void *ctx)
{
	struct keywords_ctx *c = ctx;
	const char *p = line;
	char *end;
	long idx;

	if (len == 0)
		return 0;
	idx = strtol(p, &end, 10);
	if (end == p || *end != ' ' || idx < 0) {
		ta_warn(c->ta, "%s/dovecot-keywords: line %zu: not \"<number> <keyword>\": ignored",
			c->dir, lineno);
		return 0;
	}
	if (idx >= MD_KEYWORDS_MAX)
		return 0; /* no file name can refer to it */
	if (!ta_keyword_valid(end + 1)) {
		ta_warn(c->ta, "%s/dovecot-keywords: line %zu: bad keyword \"%s\": ignored", c->dir,
			lineno, end + 1);
		return 0;
	}
	free(c->folder->keywords[idx]);
	c->folder->keywords[idx] = xstrdup(end + 1);
	return 0;
}

/* ------------------------------------------------------------- messages */

/* parse_info - the flags of a file name's ":2,<flags>" part. */
static void parse_info(const char *name, struct md_message *m)
{
	const char *info = strchr(name, ':');

	if (info == NULL || strncmp(info, ":2,", 3) != 0)
		return;
	for (info += 3; *info != '\0'; info++) {
		switch (*info) {
		case 'D':
			m->flags |= STORE_DRAFT;
			break;
		case 'F':
			m->flags |= STORE_FLAGGED;
			break;
		case 'P':
			m->forwarded = 1;
			break;
		case 'R':
			m->flags |= STORE_ANSWERED;
			break;
		case 'S':
			m->flags |= STORE_SEEN;
			break;
		case 'T':
			m->flags |= STORE_DELETED;
			break;
		default:
			if (*info >= 'a' && *info <= 'z')
				m->letters |= 1u << (*info - 'a');
			break;
		}
	}
}

/* name_time - the time that a Maildir file name begins with, or -1. */
static time_t name_time(const char *name)
{
	unsigned long long v = 0;
	const char *p = name;

	for (; *p >= '0' && *p <= '9' && v < 1ULL << 40; p++)
		v = v * 10 + (unsigned)(*p - '0');
	if (p == name || *p != '.')
		return -1;
	return (time_t)v;
}

/* scan_subdir - the message files of folder/sub ("cur" or "new"). */
static int scan_subdir(struct ternadmin *ta, struct md_folder *f, const char *sub, size_t *skipped)
{
	char *path = xasprintf("%s/%s", f->dir, sub);
	struct dirent *de;
	struct stat st;
	DIR *dp = opendir(path);
	int ret = 0;

	if (dp == NULL) {
		if (errno != ENOENT) {
			ta_error(ta, "open %s: %s: its messages are not imported", path,
				 strerror(errno));
			ret = -1;
		}
		free(path);
		return ret;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(dp)) == NULL) {
			if (errno != 0) {
				ta_error(ta, "read %s: %s", path, strerror(errno));
				ret = -1;
			}
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(dp), de->d_name, &st, 0) < 0) {
			int e = errno;

			if (e == ENOENT)
				continue; /* gone (moved by a running Dovecot) */
			ta_error(ta, "%s/%s: %s: skipped", path, de->d_name, strerror(e));
			++*skipped;
			f->skipped++;
			continue;
		}
		if (S_ISDIR(st.st_mode))
			continue;
		if (!S_ISREG(st.st_mode)) {
			ta_error(ta, "%s/%s: not a regular file: skipped", path, de->d_name);
			++*skipped;
			f->skipped++;
			continue;
		}
		if (f->count == f->size) {
			f->size = f->size == 0 ? 64 : f->size * 2;
			f->msgs = xreallocarray(f->msgs, f->size, sizeof(struct md_message));
		}
		struct md_message *m = &f->msgs[f->count++];

		memset(m, 0, sizeof(*m));
		m->name = xstrdup(de->d_name);
		m->in_new = strcmp(sub, "new") == 0;
		m->time = name_time(m->name);
		if (m->time < 0)
			m->time = st.st_mtime;
		parse_info(m->name, m);
	}
	closedir(dp);
	free(path);
	return ret;
}

/* cmp_message - by UID (those with one first), then by time and name. */
static int cmp_message(const void *a, const void *b)
{
	const struct md_message *x = a, *y = b;

	if (x->uid != y->uid) {
		if (x->uid == 0 || y->uid == 0)
			return x->uid == 0 ? 1 : -1;
		return x->uid < y->uid ? -1 : 1;
	}
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* assign_uids - the UIDs that dovecot-uidlist gives the files (matched by name up to ':'). */
static void assign_uids(struct md_folder *f, struct uidlist *list)
{
	struct uid_entry key, *e;
	size_t i;

	for (i = 0; i < f->count && list->count > 0; i++) {
		key.base = xstrndup(f->msgs[i].name, strcspn(f->msgs[i].name, ":"));
		e = bsearch(&key, list->items, list->count, sizeof(*e), cmp_uid_entry);
		free(key.base);
		/* The same name in cur/ and in new/: the second one gets a new UID. */
		if (e != NULL && !e->used) {
			f->msgs[i].uid = e->uid;
			e->used = 1;
		}
	}
}

/* scan_folder - the messages of one folder, in import order. */
static void scan_folder(struct ternadmin *ta, struct md_folder *f, size_t *skipped)
{
	struct keywords_ctx kc = {ta, f->dir, f};
	struct uidlist list;
	char *err = NULL;

	if (read_lines(f->dir, "dovecot-keywords", keywords_line, &kc, &err) < 0) {
		ta_warn(ta, "%s: keywords not kept", err);
		free(err);
	}
	scan_subdir(ta, f, "cur", skipped);
	scan_subdir(ta, f, "new", skipped);
	read_uidlist(ta, f->dir, &list);
	f->uidvalidity = list.uidvalidity;
	f->uidnext = list.uidnext;
	assign_uids(f, &list);
	uidlist_free(&list);
	if (f->count > 0)
		qsort(f->msgs, f->count, sizeof(struct md_message), cmp_message);
}

/* -------------------------------------------------------- subscriptions */

struct subs_ctx {
	struct ternadmin *ta;
	struct md_maildir *md;
	int v2;	     /* "V\t2": levels separated by TAB */
	int in_body; /* v2: past the header's empty line */
};

static int subs_line(const char *line, size_t len, size_t lineno, void *ctx)
{
	struct subs_ctx *c = ctx;
	struct strbuf name = STRBUF_INIT;
	const char *p = line;
	char sep;

	if (lineno == 1 && strcmp(line, "V\t2") == 0) {
		c->v2 = 1;
		return 0;
	}
	if (c->v2 && !c->in_body) {
		c->in_body = len == 0;
		return 0;
	}
	if (len == 0)
		return 0;
	/* Version 1 writes names with the namespace's separator, '.' for Maildir++. */
	sep = c->v2 ? '\t' : strchr(line, '/') != NULL ? '/' : '.';
	for (;;) {
		const char *end = strchr(p, sep);
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		char *comp = decode_component(c->ta, "subscriptions", p, n);

		if (name.len > 0)
			strbuf_putc(&name, '/');
		strbuf_puts(&name, comp);
		free(comp);
		if (end == NULL)
			break;
		p = end + 1;
	}
	c->md->subscriptions =
	    xreallocarray(c->md->subscriptions, c->md->nsubscriptions + 1, sizeof(char *));
	c->md->subscriptions[c->md->nsubscriptions++] = strbuf_detach(&name);
	return 0;
}

/* ------------------------------------------------------------- the tree */

/* is_maildir - whether dir has a cur/ or new/ directory. */
static int is_maildir(const char *dir)
{
	char *cur = xasprintf("%s/cur", dir), *new = xasprintf("%s/new", dir);
	struct stat st;
	int yes = (stat(cur, &st) == 0 && S_ISDIR(st.st_mode)) ||
		  (stat(new, &st) == 0 && S_ISDIR(st.st_mode));

	free(cur);
	free(new);
	return yes;
}

static void add_folder(struct md_maildir *md, char *name, char *dir)
{
	md->folders = xreallocarray(md->folders, md->count + 1, sizeof(struct md_folder));
	memset(&md->folders[md->count], 0, sizeof(struct md_folder));
	md->folders[md->count].name = name;
	md->folders[md->count].dir = dir;
	md->count++;
}

static int cmp_folder(const void *a, const void *b)
{
	const struct md_folder *x = a, *y = b;
	int xi = strcmp(x->name, "INBOX") == 0, yi = strcmp(y->name, "INBOX") == 0;

	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* find_folders - INBOX and the ".Name" directories of root. */
static int find_folders(struct ternadmin *ta, const char *root, struct md_maildir *md,
			size_t *skipped, char **error_r)
{
	struct dirent *de;
	DIR *dp = opendir(root);
	char *name, *dir;

	if (dp == NULL) {
		*error_r = xasprintf("open %s: %s", root, strerror(errno));
		return -1;
	}
	if (is_maildir(root))
		add_folder(md, xstrdup("INBOX"), xstrdup(root));
	for (;;) {
		errno = 0;
		if ((de = readdir(dp)) == NULL)
			break;
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		dir = xasprintf("%s/%s", root, de->d_name);
		if (!is_maildir(dir)) {
			free(dir);
			continue;
		}
		if ((name = folder_name(ta, root, de->d_name)) == NULL) {
			struct md_folder lost = {.dir = dir};

			scan_subdir(ta, &lost, "cur", skipped);
			scan_subdir(ta, &lost, "new", skipped);
			*skipped += lost.count;
			for (size_t i = 0; i < lost.count; i++)
				free(lost.msgs[i].name);
			free(lost.msgs);
			free(dir);
			continue;
		}
		add_folder(md, name, dir);
	}
	if (errno != 0) {
		*error_r = xasprintf("read %s: %s", root, strerror(errno));
		closedir(dp);
		return -1;
	}
	closedir(dp);
	if (md->count == 0) {
		*error_r = xasprintf("%s is not a Maildir: it has no cur/ or new/ directory and no "
				     "folder (.Name/cur)",
				     root);
		return -1;
	}
	qsort(md->folders, md->count, sizeof(struct md_folder), cmp_folder);
	return 0;
}

int md_read(struct ternadmin *ta, const char *root, struct md_maildir *md, size_t *skipped_r,
	    char **error_r)
{
	struct subs_ctx sc = {ta, md, 0, 0};
	char *err = NULL;
	size_t i;

	memset(md, 0, sizeof(*md));
	*skipped_r = 0;
	if (find_folders(ta, root, md, skipped_r, error_r) < 0) {
		md_free(md);
		return -1;
	}
	for (i = 0; i < md->count; i++) {
		scan_folder(ta, &md->folders[i], skipped_r);
		md->messages += md->folders[i].count;
	}
	if (read_lines(root, "subscriptions", subs_line, &sc, &err) < 0) {
		ta_warn(ta, "%s: subscriptions not kept", err);
		free(err);
	}
	return 0;
}

void md_free(struct md_maildir *md)
{
	size_t i, j;

	for (i = 0; i < md->count; i++) {
		struct md_folder *f = &md->folders[i];

		for (j = 0; j < f->count; j++)
			free(f->msgs[j].name);
		for (j = 0; j < MD_KEYWORDS_MAX; j++)
			free(f->keywords[j]);
		free(f->msgs);
		free(f->name);
		free(f->dir);
	}
	free(md->folders);
	for (i = 0; i < md->nsubscriptions; i++)
		free(md->subscriptions[i]);
	free(md->subscriptions);
	memset(md, 0, sizeof(*md));
}
