/*
 * ternadmin_export - ternadmin export maildir|mbox: write an account's mail
 * out as a Maildir that Dovecot reads with the same UIDs, UIDVALIDITY,
 * flags, keywords and dates (dovecot-uidlist, dovecot-keywords,
 * subscriptions, mtime = internal date, LF line ends), or as mboxrd files,
 * one per mailbox, with the headers that keep flags, keywords and UIDs.
 *
 * The destination must not exist yet (or be an empty directory): an
 * export never mixes with other mail. A message whose blob cannot be read
 * is reported and skipped (exit status TA_PARTIAL); a destination that
 * cannot be written ends the export. What was written is synced to disk
 * before the export reports success.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/ternadmin/ternadmin.h"
#include "tools/ternadmin/ternadmin_mail.h"
#include "util/msg.h"
#include "util/mymalloc.h"

struct export
{
	struct ternadmin *ta;
	struct store *store;
	const char *address;
	struct ta_progress *progress;
	size_t messages, skipped, mailboxes, done;
	uint64_t bytes;
	int failed;
	int syncfd; /* the destination, for syncfs() at the end; -1 */
	/* Maildir file names */
	char *host;
	long pid;
};

/* A message of the mailbox being exported. */
struct ex_msg {
	uint32_t uid;
	unsigned flags;
	char *keywords;
	time_t internal_date;
	char *blob;
};

struct ex_mailbox {
	struct store_mailbox mb;
	struct ex_msg *msgs;
	size_t count, size;
};

__attribute__((format(printf, 2, 3))) static void report_skip(struct export *ex, const char *fmt,
							      ...)
{
	va_list ap;

	va_start(ap, fmt);
	ta_skip_report(ex->ta, ex->progress, "export", ex->address, fmt, ap);
	va_end(ap);
	ex->skipped++;
}

/* fail - an error that ends the export. */
__attribute__((format(printf, 2, 3))) static void fail(struct export *ex, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	ta_progress_clear(ex->progress);
	ta_error(ex->ta, "%s", text);
	free(text);
	ex->failed = 1;
}

static int collect(const struct store_message *msg, void *ctx)
{
	struct ex_mailbox *m = ctx;
	struct ex_msg *e;

	if (m->count == m->size) {
		m->size = m->size == 0 ? 64 : m->size * 2;
		m->msgs = xreallocarray(m->msgs, m->size, sizeof(struct ex_msg));
	}
	e = &m->msgs[m->count++];
	e->uid = msg->uid;
	e->flags = msg->flags;
	e->keywords = xstrdup(msg->keywords != NULL ? msg->keywords : "");
	e->internal_date = msg->internal_date;
	e->blob = xstrdup(msg->blob != NULL ? msg->blob : "");
	return 0;
}

/* load - the messages of a mailbox (one snapshot). */
static int load(struct export *ex, struct ex_mailbox *m)
{
	char *err = NULL;

	if (store_fetch(ex->store, m->mb.name, 1, 0, STORE_FETCH_FLAGS | STORE_FETCH_META, collect,
			m, &err) < 0) {
		fail(ex, "mailbox %s: %s", m->mb.name, err);
		free(err);
		return -1;
	}
	return 0;
}

static void ex_mailbox_free(struct ex_mailbox *m)
{
	size_t i;

	for (i = 0; i < m->count; i++) {
		free(m->msgs[i].keywords);
		free(m->msgs[i].blob);
	}
	free(m->msgs);
	m->msgs = NULL;
	m->count = m->size = 0;
}

/* read_blob - a message's bytes (CR LF) with LF line ends, into out. */
static int read_blob(struct export *ex, const struct ex_msg *msg, struct strbuf *out,
		     char **error_r)
{
	char buf[65536];
	int fd, pending = 0;
	ssize_t n;

	strbuf_reset(out);
	if ((fd = store_blob_open(ex->store, msg->blob, error_r)) < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = xasprintf("read blob %s: %s", msg->blob, strerror(errno));
			close(fd);
			return -1;
		}
		ta_lf_convert(buf, (size_t)n, &pending, 0, out);
	}
	ta_lf_convert(NULL, 0, &pending, 1, out);
	close(fd);
	return 0;
}

/* mkdir_new - make a directory that must not exist yet (or exist empty when may_exist). */
static int mkdir_new(const char *path, int may_exist, char **error_r)
{
	DIR *dp;
	struct dirent *de;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST || !may_exist) {
		*error_r = xasprintf("mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	if ((dp = opendir(path)) == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			closedir(dp);
			*error_r = xasprintf("%s is not empty: export into a new directory", path);
			return -1;
		}
	}
	closedir(dp);
	return 0;
}

/* write_file - a new file (O_EXCL) with data; mtime (if not 0) set. */
static int write_file(const char *path, const void *data, size_t len, time_t mtime, char **error_r)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	const char *p = data;
	ssize_t n;

	if (fd < 0) {
		*error_r = xasprintf("create %s: %s", path, strerror(errno));
		return -1;
	}
	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			*error_r = xasprintf("write %s: %s", path, strerror(errno));
			close(fd);
			unlink(path);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	if (mtime != 0) {
		struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};

		if (futimens(fd, ts) < 0) {
			*error_r = xasprintf("set the time of %s: %s", path, strerror(errno));
			close(fd);
			unlink(path);
			return -1;
		}
	}
	if (close(fd) < 0) {
		*error_r = xasprintf("write %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/* mailbox_done - report one exported mailbox. */
static void mailbox_done(struct export *ex, const char *name, const char *path, size_t n,
			 size_t skipped)
{
	char c[32], s[32];

	snprintf(c, sizeof(c), "%zu", n);
	snprintf(s, sizeof(s), "%zu", skipped);
	ta_progress_clear(ex->progress);
	ta_changed(ex->ta, "mailbox exported",
		   (const char *const[]){"address", ex->address, "mailbox", name, "path", path,
					 "messages", c, "skipped", s, NULL});
	ex->mailboxes++;
}

/* -------------------------------------------------------------- Maildir */

/* A folder's keywords and their letters (at most 26, in order of first use). */
struct letters {
	char *names[MD_KEYWORDS_MAX];
	size_t count;
};

/* letters_of - the letters of a message's keywords, adding new keywords while there is room. */
static uint32_t letters_of(struct export *ex, struct letters *l, const char *mailbox,
			   const char *keywords)
{
	uint32_t mask = 0;
	char *copy = xstrdup(keywords), *kw, *save = NULL;
	size_t i;

	for (kw = strtok_r(copy, " ", &save); kw != NULL; kw = strtok_r(NULL, " ", &save)) {
		for (i = 0; i < l->count && strcmp(l->names[i], kw) != 0; i++)
			;
		if (i == l->count) {
			if (l->count == MD_KEYWORDS_MAX) {
				ta_progress_clear(ex->progress);
				ta_warn(
				    ex->ta,
				    "mailbox %s: keyword %s not written: a Maildir folder holds "
				    "at most %d keywords",
				    mailbox, kw, MD_KEYWORDS_MAX);
				continue;
			}
			l->names[l->count++] = xstrdup(kw);
		}
		mask |= 1u << i;
	}
	free(copy);
	return mask;
}

/* md_message - one message file; its uidlist line goes to uidlist. */
static int md_message(struct export *ex, const char *dir, const struct ex_msg *msg,
		      uint32_t letters, struct strbuf *data, struct strbuf *uidlist)
{
	char *err = NULL, *base, *info, *tmp, *cur;
	uint64_t lines = 0;
	size_t i;
	int ret = 0;

	if (read_blob(ex, msg, data, &err) < 0) {
		report_skip(ex, "UID %u: %s", msg->uid, err);
		free(err);
		return 0;
	}
	for (i = 0; i < data->len; i++)
		lines += data->data[i] == '\n';
	/* M and P only make names unique: the UID's low and high part. */
	base = md_file_name(msg->internal_date, msg->uid % 1000000,
			    ex->pid + (long)(msg->uid / 1000000), ex->host, data->len,
			    data->len + lines);
	info = md_info(msg->flags, letters);
	tmp = xasprintf("%s/tmp/%s", dir, base);
	cur = xasprintf("%s/cur/%s%s", dir, base, info);
	if (write_file(tmp, data->data, data->len, msg->internal_date, &err) < 0) {
		fail(ex, "%s", err);
		ret = -1;
	} else if (rename(tmp, cur) < 0) {
		fail(ex, "rename %s to %s: %s", tmp, cur, strerror(errno));
		unlink(tmp);
		ret = -1;
	} else {
		strbuf_printf(uidlist, "%u :%s\n", msg->uid, base);
		ex->messages++;
		ex->bytes += data->len;
	}
	free(err);
	free(base);
	free(info);
	free(tmp);
	free(cur);
	return ret;
}

/* md_folder - the directory of one mailbox with its messages and Dovecot's files. */
static void md_folder(struct export *ex, const char *root, struct ex_mailbox *m)
{
	struct strbuf uidlist = STRBUF_INIT, data = STRBUF_INIT, kw = STRBUF_INIT;
	struct letters l = {{NULL}, 0};
	char *dir, *sub, *err = NULL, *dname = NULL;
	size_t i, start = ex->messages, skipped = ex->skipped;
	static const char *const subs[] = {"cur", "new", "tmp"};

	if (strcmp(m->mb.name, "INBOX") == 0) {
		dir = xstrdup(root);
	} else if ((dname = md_folder_dir_name(m->mb.name)) == NULL) {
		for (i = 0; i < m->count; i++)
			report_skip(ex, "mailbox %s: its name is not UTF-8: UID %u", m->mb.name,
				    m->msgs[i].uid);
		return;
	} else {
		dir = xasprintf("%s/%s", root, dname);
		if (strchr(m->mb.name, '.') != NULL) {
			ta_progress_clear(ex->progress);
			ta_warn(
			    ex->ta,
			    "mailbox %s: a '.' in a name is written as \"&AC4-\" in %s (Dovecot "
			    "shows it so)",
			    m->mb.name, dname);
		}
		if (mkdir_new(dir, 0, &err) < 0)
			goto out;
	}
	for (i = 0; i < 3; i++) {
		sub = xasprintf("%s/%s", dir, subs[i]);
		if (mkdir_new(sub, 0, &err) < 0) {
			free(sub);
			goto out;
		}
		free(sub);
	}
	if (strcmp(m->mb.name, "INBOX") != 0) {
		sub = xasprintf("%s/maildirfolder", dir);
		if (write_file(sub, "", 0, 0, &err) < 0) {
			free(sub);
			goto out;
		}
		free(sub);
	}
	strbuf_printf(&uidlist, "3 V%u N%u\n", m->mb.uidvalidity, m->mb.uidnext);
	for (i = 0; i < m->count && !ex->failed; i++) {
		uint32_t letters = letters_of(ex, &l, m->mb.name, m->msgs[i].keywords);

		md_message(ex, dir, &m->msgs[i], letters, &data, &uidlist);
		ta_progress_update(ex->progress, ++ex->done, ex->messages);
	}
	if (ex->failed)
		goto out;
	for (i = 0; i < l.count; i++)
		strbuf_printf(&kw, "%zu %s\n", i, l.names[i]);
	sub = xasprintf("%s/dovecot-uidlist", dir);
	if (write_file(sub, uidlist.data, uidlist.len, 0, &err) == 0) {
		free(sub);
		sub = xasprintf("%s/dovecot-keywords", dir);
		if (l.count > 0 && write_file(sub, kw.data, kw.len, 0, &err) < 0) {
			free(sub);
			goto out;
		}
	}
	free(sub);
	if (err == NULL)
		mailbox_done(ex, m->mb.name, dir, ex->messages - start, ex->skipped - skipped);
out:
	if (err != NULL) {
		fail(ex, "%s", err);
		free(err);
	}
	for (i = 0; i < l.count; i++)
		free(l.names[i]);
	strbuf_free(&uidlist);
	strbuf_free(&data);
	strbuf_free(&kw);
	free(dname);
	free(dir);
}

/* md_subscriptions - the subscriptions file (Dovecot's version 2: levels separated by TAB). */
static void md_subscriptions(struct export *ex, const char *root)
{
	struct strbuf out = STRBUF_INIT;
	char **names, *err = NULL, *path;
	size_t count, i;

	if (store_subscriptions(ex->store, &names, &count, &err) < 0) {
		fail(ex, "subscriptions: %s", err);
		free(err);
		return;
	}
	strbuf_puts(&out, "V\t2\n\n");
	for (i = 0; i < count; i++) {
		const char *p = names[i], *slash;

		for (;;) {
			slash = strchr(p, '/');
			size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);

			if (ta_mutf7_encode(p, len, NULL, &out) < 0)
				strbuf_append(&out, p, len);
			if (slash == NULL)
				break;
			strbuf_putc(&out, '\t');
			p = slash + 1;
		}
		strbuf_putc(&out, '\n');
	}
	path = xasprintf("%s/subscriptions", root);
	if (write_file(path, out.data, out.len, 0, &err) < 0) {
		fail(ex, "%s", err);
		free(err);
	}
	free(path);
	strbuf_free(&out);
	store_names_free(names, count);
}

/* ---------------------------------------------------------------- mbox */

/* mbox_path - the file of a mailbox under root: "<name>.mbox", levels as directories. */
static char *mbox_path(struct export *ex, const char *root, const char *name, char **error_r)
{
	struct strbuf path = STRBUF_INIT;
	const char *p = name, *slash;
	struct stat st;

	strbuf_puts(&path, root);
	for (;;) {
		slash = strchr(p, '/');
		size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);

		strbuf_putc(&path, '/');
		if (slash == NULL) {
			strbuf_append(&path, p, len);
			strbuf_puts(&path, ".mbox");
			break;
		}
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
			*error_r =
			    xasprintf("a level named \"%.*s\" cannot be a directory", (int)len, p);
			strbuf_free(&path);
			return NULL;
		}
		strbuf_append(&path, p, len);
		if (mkdir(path.data, 0700) < 0 &&
		    (errno != EEXIST || stat(path.data, &st) < 0 || !S_ISDIR(st.st_mode))) {
			*error_r = xasprintf("mkdir %s: %s", path.data, strerror(errno));
			strbuf_free(&path);
			return NULL;
		}
		p = slash + 1;
	}
	(void)ex;
	return strbuf_detach(&path);
}

/* mbox_keywords - every keyword that the mailbox's messages have, space-separated. */
static char *mbox_keywords(const struct ex_mailbox *m)
{
	struct strbuf out = STRBUF_INIT;
	char *copy, *kw, *save = NULL, *found;
	size_t i, len;

	for (i = 0; i < m->count; i++) {
		copy = xstrdup(m->msgs[i].keywords);
		for (kw = strtok_r(copy, " ", &save); kw != NULL; kw = strtok_r(NULL, " ", &save)) {
			len = strlen(kw);
			found = out.data;
			while (found != NULL && (found = strstr(found, kw)) != NULL) {
				if ((found == out.data || found[-1] == ' ') &&
				    (found[len] == ' ' || found[len] == '\0'))
					break;
				found += len;
			}
			if (found != NULL)
				continue;
			if (out.len > 0)
				strbuf_putc(&out, ' ');
			strbuf_puts(&out, kw);
		}
		free(copy);
	}
	return strbuf_detach(&out);
}

/* mbox_file - one mailbox into the new file path. */
static void mbox_file(struct export *ex, const char *path, struct ex_mailbox *m)
{
	struct mbox_writer w = {
	    .path = path, .first = 1, .uidvalidity = m->mb.uidvalidity, .uidnext = m->mb.uidnext};
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), bfd, r;
	char *err = NULL, *keywords = mbox_keywords(m);
	size_t i, start = ex->messages, skipped = ex->skipped;
	struct store_message sm;
	off_t pos;

	if (fd < 0 || (w.fp = fdopen(fd, "w")) == NULL) {
		fail(ex, "create %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(keywords);
		return;
	}
	w.keywords = keywords;
	for (i = 0; i < m->count && !ex->failed; i++) {
		memset(&sm, 0, sizeof(sm));
		sm.uid = m->msgs[i].uid;
		sm.flags = m->msgs[i].flags;
		sm.keywords = m->msgs[i].keywords;
		sm.internal_date = m->msgs[i].internal_date;
		sm.blob = m->msgs[i].blob;
		if ((bfd = store_blob_open(ex->store, sm.blob, &err)) < 0) {
			report_skip(ex, "%s: UID %u: %s", m->mb.name, sm.uid, err);
			XFREE(err);
		} else {
			pos = ftello(w.fp);
			r = mbox_write_message(&w, bfd, &sm, &err);
			close(bfd);
			if (r == -1 && pos >= 0 && fflush(w.fp) == 0 && ftruncate(fd, pos) == 0 &&
			    fseeko(w.fp, pos, SEEK_SET) == 0) {
				/* A blob that broke off: the message is taken out again. */
				report_skip(ex, "%s: UID %u: %s", m->mb.name, sm.uid, err);
			} else if (r < 0) {
				fail(ex, "%s", err);
			} else {
				off_t end = ftello(w.fp);

				if (pos >= 0 && end > pos)
					ex->bytes += (uint64_t)(end - pos);
				ex->messages++;
			}
			XFREE(err);
		}
		ta_progress_update(ex->progress, ++ex->done, ex->messages);
	}
	if (fflush(w.fp) != 0 || fsync(fd) < 0) {
		if (!ex->failed)
			fail(ex, "write %s: %s", path, strerror(errno));
	}
	if (fclose(w.fp) != 0 && !ex->failed)
		fail(ex, "write %s: %s", path, strerror(errno));
	if (!ex->failed)
		mailbox_done(ex, m->mb.name, path, ex->messages - start, ex->skipped - skipped);
	free(keywords);
}

/* ------------------------------------------------------------- command */

/* export_all - each mailbox (or the one named) in turn. */
static void export_all(struct export *ex, const char *dest, int maildir, const char *folder)
{
	struct store_mailboxes list;
	struct ex_mailbox m;
	char *err = NULL, *path;
	size_t i;

	if (store_mailbox_list(ex->store, &list, &err) < 0) {
		fail(ex, "%s", err);
		free(err);
		return;
	}
	for (i = 0; i < list.count; i++) {
		if (folder == NULL || strcmp(list.items[i].name, folder) == 0)
			ta_progress_add_total(ex->progress, list.items[i].messages);
	}
	for (i = 0; i < list.count && !ex->failed; i++) {
		memset(&m, 0, sizeof(m));
		m.mb = list.items[i];
		if (m.mb.noselect || (folder != NULL && strcmp(m.mb.name, folder) != 0) ||
		    load(ex, &m) < 0)
			continue;
		if (maildir) {
			md_folder(ex, dest, &m);
		} else if (folder != NULL) {
			mbox_file(ex, dest, &m);
		} else if ((path = mbox_path(ex, dest, m.mb.name, &err)) == NULL) {
			for (size_t j = 0; j < m.count; j++)
				report_skip(ex, "mailbox %s: %s: UID %u", m.mb.name, err,
					    m.msgs[j].uid);
			XFREE(err);
		} else {
			mbox_file(ex, path, &m);
			free(path);
		}
		ex_mailbox_free(&m);
	}
	if (maildir && !ex->failed)
		md_subscriptions(ex, dest);
	store_mailboxes_free(&list);
}

/* prepare_dest - make the destination; with folder (mbox), dest is a file made later. */
static int prepare_dest(struct export *ex, const char *dest, int maildir, const char *folder)
{
	char *err = NULL;

	if (!maildir && folder != NULL) {
		if (access(dest, F_OK) == 0) {
			ta_error(ex->ta, "%s exists: export into a new file", dest);
			return -1;
		}
		return 0;
	}
	if (mkdir_new(dest, 1, &err) < 0) {
		ta_error(ex->ta, "%s", err);
		free(err);
		return -1;
	}
	return 0;
}

/* folder_exists - whether the mailbox of --folder exists. */
static int folder_exists(struct export *ex, const char *folder)
{
	struct store_mailbox mb;
	char *err = NULL;
	int ret = store_mailbox_get(ex->store, folder, &mb, &err);

	if (ret < 0) {
		ta_error(ex->ta, "mailbox %s: %s", folder, err);
		free(err);
		return 0;
	}
	store_mailbox_free(&mb);
	return 1;
}

static void summary(struct export *ex, const char *dest)
{
	char mb[32], n[32], s[32], b[32], sec[32];

	snprintf(mb, sizeof(mb), "%zu", ex->mailboxes);
	snprintf(n, sizeof(n), "%zu", ex->messages);
	snprintf(s, sizeof(s), "%zu", ex->skipped);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)ex->bytes);
	snprintf(sec, sizeof(sec), "%.2f", ta_progress_elapsed(ex->progress));
	ta_changed(ex->ta, "mail exported",
		   (const char *const[]){"address", ex->address, "path", dest, "mailboxes", mb,
					 "messages", n, "skipped", s, "bytes", b, "seconds", sec,
					 NULL});
}

/* sync_dest - everything written to the destination's file system, to disk. */
static void sync_dest(struct export *ex, const char *dest)
{
	int fd = open(dest, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || syncfs(fd) < 0)
		fail(ex, "sync %s: %s", dest, strerror(errno));
	if (fd >= 0)
		close(fd);
}

int ta_export(struct ternadmin *ta, const char *format, int argc, char **argv)
{
	const char *folder = NULL;
	const struct ta_option opts[] = {{"folder", &folder, NULL}, {NULL, NULL, NULL}};
	struct dir_account acc;
	struct export ex;
	char **args;
	int n, status, maildir = strcmp(format, "maildir") == 0;

	if (!maildir && strcmp(format, "mbox") != 0)
		return ta_usage_error(ta, "unknown format: use export maildir or export mbox");
	if ((status = ta_parse(ta, argc, argv, opts, 2, 2, &args, &n)) != TA_OK)
		return status;
	if (maildir && folder != NULL) {
		free(args);
		return ta_usage_error(ta, "--folder is for export mbox only");
	}
	memset(&ex, 0, sizeof(ex));
	ex.ta = ta;
	if (ta_mailstore_account(ta, args[0], &acc) < 0) {
		free(args);
		return TA_FAIL;
	}
	if (ta_mailstore_open(ta, &acc, 0, &ex.store) < 0) {
		dir_account_free(&acc);
		free(args);
		return TA_FAIL;
	}
	ex.address = acc.address;
	ex.host = md_hostname();
	ex.pid = (long)getpid();
	status = TA_FAIL;
	if ((folder == NULL || folder_exists(&ex, folder)) &&
	    prepare_dest(&ex, args[1], maildir, folder) == 0) {
		ex.progress = ta_progress_new("exporting", 0, 0);
		export_all(&ex, args[1], maildir, folder);
		if (!ex.failed)
			sync_dest(&ex, args[1]);
		ta_progress_clear(ex.progress);
		summary(&ex, args[1]);
		status = ex.failed ? TA_FAIL : ex.skipped > 0 ? TA_PARTIAL : TA_OK;
		ta_progress_free(&ex.progress);
	}
	free(ex.host);
	store_close(&ex.store);
	dir_account_free(&acc);
	free(args);
	return status;
}
