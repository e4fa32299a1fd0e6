/*
 * ternadmin_import - ternadmin import maildir|mbox: copy the mail of a
 * Maildir (as Dovecot writes it) or of mbox files into an account's store,
 * with folders, flags, keywords, internal dates and, where the source has
 * them, UIDs and UIDVALIDITY.
 *
 * Each message is read whole, given CR LF line ends and appended on its
 * own (store_append: durable when it returns). A message that cannot be
 * read is reported and skipped; the import goes on, and exits with
 * TA_PARTIAL. A store error that is not about one message ends it.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/ternadmin/ternadmin.h"
#include "tools/ternadmin/ternadmin_mail.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* mbox directories deeper than this are not walked. */
#define MBOX_DIR_DEPTH 32

struct import {
	struct ternadmin *ta;
	struct store *store;
	const char *address; /* as stored */
	const char *folder;  /* --folder, or NULL */
	struct ta_progress *progress;
	uint64_t units;		  /* progress: messages, or bytes of mbox files */
	size_t messages, skipped; /* over the whole import */
	size_t mailboxes;
	uint64_t bytes;
	int failed; /* a store error ended the import */
	/* the mailbox being filled */
	char *mailbox;
	uint32_t floor;	   /* UIDs below this cannot be given any more */
	uint32_t src_next; /* the source's next UID: for messages that had none */
	uint32_t uidvalidity;
	int uidvalidity_kept;
	size_t mb_messages, mb_skipped, mb_uids_changed;
	uint32_t warned_letters; /* Maildir keyword letters warned about in this folder */
	struct strbuf data;	 /* the message being read */
};

void ta_skip_report(const struct ternadmin *ta, struct ta_progress *p, const char *op,
		    const char *address, const char *fmt, va_list ap)
{
	char *text = xvasprintf(fmt, ap);

	ta_progress_clear(p);
	ta_error(ta, "%s: skipped", text);
	msg_warn("%s: address=%s: %s: skipped", op, address, text);
	free(text);
}

/* report_skip - a message (or file) that is not imported: stderr and the log. */
__attribute__((format(printf, 2, 3))) static void report_skip(struct import *im, const char *fmt,
							      ...)
{
	va_list ap;

	va_start(ap, fmt);
	ta_skip_report(im->ta, im->progress, "import", im->address, fmt, ap);
	va_end(ap);
	im->skipped++;
	im->mb_skipped++;
}

/* ------------------------------------------------------------- mailboxes */

/*
 * begin_mailbox - make the mailbox name ready: create it with the source's
 * UIDVALIDITY (0: none known), or take it as it is. -1 when the import
 * cannot go on (im->failed), -2 when this mailbox cannot be used.
 */
static int begin_mailbox(struct import *im, const char *name, uint32_t uidvalidity,
			 uint32_t uidnext)
{
	struct store_mailbox mb;
	char *err = NULL;
	int ret;

	ta_progress_clear(im->progress);
	free(im->mailbox);
	im->mailbox = xstrdup(name);
	im->mb_messages = im->mb_skipped = im->mb_uids_changed = 0;
	im->warned_letters = 0;
	ret = store_mailbox_create(im->store, name, 0, uidvalidity, &err);
	if (ret < 0 && ret != STORE_ERR_EXISTS) {
		ta_error(im->ta, "mailbox %s: %s", name, err);
		free(err);
		if (ret == STORE_ERR_TEMP)
			im->failed = 1;
		return ret == STORE_ERR_TEMP ? -1 : -2;
	}
	free(err);
	err = NULL;
	/* One that exists but never held mail (INBOX, Sent, ...) takes the source's UIDVALIDITY. */
	if ((ret = store_mailbox_get(im->store, name, &mb, &err)) == 0 && uidvalidity != 0 &&
	    mb.uidvalidity != uidvalidity && mb.uidnext == 1 &&
	    (ret = store_mailbox_set_uidvalidity(im->store, name, uidvalidity, &err)) == 0) {
		store_mailbox_free(&mb);
		ret = store_mailbox_get(im->store, name, &mb, &err);
	} else if (ret == STORE_ERR_NOTALLOWED) {
		/* a delivery came first: UIDs were given meanwhile */
		XFREE(err);
		store_mailbox_free(&mb);
		ret = store_mailbox_get(im->store, name, &mb, &err);
	}
	if (ret < 0) {
		store_mailbox_free(&mb);
		ta_error(im->ta, "mailbox %s: %s", name, err);
		free(err);
		im->failed = ret == STORE_ERR_TEMP;
		return ret == STORE_ERR_TEMP ? -1 : -2;
	}
	im->uidvalidity = mb.uidvalidity;
	im->uidvalidity_kept = uidvalidity == 0 || mb.uidvalidity == uidvalidity;
	if (!im->uidvalidity_kept)
		ta_warn(im->ta,
			"mailbox %s exists with UIDVALIDITY %u: the source's UIDVALIDITY %u is "
			"not kept",
			mb.name, mb.uidvalidity, uidvalidity);
	im->floor = mb.uidnext;
	im->src_next = uidnext;
	free(im->mailbox);
	im->mailbox = xstrdup(mb.name);
	store_mailbox_free(&mb);
	return 0;
}

/* end_mailbox - report what went into the mailbox. */
static void end_mailbox(struct import *im, const char *source)
{
	char n[32], s[32], uv[32], ch[32];

	if (im->mailbox == NULL)
		return;
	/* UIDs that the old server gave out are not given again under its UIDVALIDITY */
	if (im->uidvalidity_kept && im->src_next > 1) {
		char *err = NULL;

		if (store_mailbox_raise_uidnext(im->store, im->mailbox, im->src_next, &err) < 0) {
			ta_progress_clear(im->progress);
			ta_warn(im->ta, "mailbox %s: UIDNEXT not raised to %u: %s", im->mailbox,
				im->src_next, err);
			free(err);
		}
	}
	snprintf(n, sizeof(n), "%zu", im->mb_messages);
	snprintf(s, sizeof(s), "%zu", im->mb_skipped);
	snprintf(uv, sizeof(uv), "%u", im->uidvalidity);
	snprintf(ch, sizeof(ch), "%zu", im->mb_uids_changed);
	ta_progress_clear(im->progress);
	ta_changed(im->ta, "mailbox imported",
		   (const char *const[]){"address", im->address, "mailbox", im->mailbox, "source",
					 source, "messages", n, "skipped", s, "uidvalidity", uv,
					 "new_uids", ch, NULL});
	im->mailboxes++;
	XFREE(im->mailbox);
}

/* -------------------------------------------------------------- messages */

/* A message read whole, with what the source says of it. */
struct import_msg {
	const char *what; /* names it in messages: a file, or "file:line" */
	uint32_t uid;
	unsigned flags;
	const char *const *keywords;
	size_t nkeywords;
	time_t date;
};

/* write_blob - a new blob holding im->data with CR LF line ends; NULL when the store fails. */
static struct store_blob *write_blob(struct import *im, char **error_r)
{
	struct store_blob *blob = NULL;
	struct ta_crlf w;

	if (store_blob_create(im->store, &blob, error_r) < 0)
		return NULL;
	ta_crlf_init(&w, blob);
	if (ta_crlf_write(&w, im->data.data, im->data.len, error_r) < 0 ||
	    ta_crlf_flush(&w, error_r) < 0) {
		store_blob_discard(&blob);
		blob = NULL;
	}
	im->bytes += w.bytes;
	ta_crlf_free(&w);
	return blob;
}

/*
 * import_msg - append im->data to the current mailbox, with the source's
 * UID when it can still be given. A UID taken meanwhile (by a delivery) or
 * a keyword the store refuses makes it try again without them.
 */
static void import_msg(struct import *im, const struct import_msg *m)
{
	struct store_append req = {.mailbox = im->mailbox,
				   .flags = m->flags,
				   .keywords = m->keywords,
				   .nkeywords = m->nkeywords,
				   .internal_date = m->date,
				   .ignore_quota = 1};
	struct store_blob *blob;
	char *err = NULL;
	uint32_t uid = 0;
	int ret, attempt;

	if (m->uid != 0 && m->uid >= im->floor)
		req.uid = m->uid;
	else if (m->uid == 0 && im->src_next > im->floor)
		req.uid = im->src_next;
	for (attempt = 0;; attempt++) {
		if ((blob = write_blob(im, &err)) == NULL) {
			ret = STORE_ERR_TEMP;
			break;
		}
		ret = store_append(im->store, &blob, &req, &uid, &err);
		if (ret != STORE_ERR_INVALID || attempt > 1 || (req.uid == 0 && req.nkeywords == 0))
			break;
		/* Try again without what the store may refuse. */
		if (req.uid != 0) {
			req.uid = 0;
		} else {
			ta_progress_clear(im->progress);
			ta_warn(im->ta, "%s: %s: imported without its keywords", m->what, err);
			req.nkeywords = 0;
		}
		XFREE(err);
	}
	if (ret == 0) {
		im->messages++;
		im->mb_messages++;
		if (m->uid != 0 && uid != m->uid)
			im->mb_uids_changed++;
		im->floor = uid + 1;
	} else if (ret == STORE_ERR_TEMP) {
		ta_progress_clear(im->progress);
		ta_error(im->ta, "%s: %s", m->what, err);
		im->failed = 1;
	} else {
		report_skip(im, "%s: %s", m->what, err);
	}
	free(err);
}

/* ------------------------------------------------------------------ Maildir */

/* read_file - the whole file (dir/sub/name) into im->data, and its mtime. */
static int read_file(const char *path, struct strbuf *data, time_t *mtime_r, char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	strbuf_reset(data);
	if (fd < 0) {
		*error_r = xstrdup(strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*error_r = xstrdup(strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*error_r = xstrdup("not a regular file");
		close(fd);
		return -1;
	}
	strbuf_reserve(data, (size_t)st.st_size + 1);
	for (;;) {
		strbuf_reserve(data, 65536);
		n = read(fd, data->data + data->len, data->size - data->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		data->len += (size_t)n;
		data->data[data->len] = '\0';
	}
	if (n < 0) {
		*error_r = xasprintf("read: %s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	*mtime_r = st.st_mtime;
	if (data->len == 0) {
		*error_r = xstrdup("empty file");
		return -1;
	}
	return 0;
}

/* keywords_of - the keyword names of a Maildir message (from its letters and P). */
static size_t keywords_of(struct import *im, const struct md_folder *f, const struct md_message *m,
			  const char **kw)
{
	size_t n = 0;
	int i;

	if (m->forwarded)
		kw[n++] = "$Forwarded";
	for (i = 0; i < MD_KEYWORDS_MAX; i++) {
		if (!(m->letters & (1u << i)))
			continue;
		if (f->keywords[i] == NULL) {
			/* Once per folder and letter: a file of Dovecot's may be gone. */
			if (!(im->warned_letters & (1u << i))) {
				ta_progress_clear(im->progress);
				ta_warn(im->ta,
					"%s/%s/%s: keyword letter %c is not in dovecot-keywords: "
					"left out",
					f->dir, m->in_new ? "new" : "cur", m->name, 'a' + i);
			}
			im->warned_letters |= 1u << i;
		} else if (!(m->forwarded && strcmp(f->keywords[i], "$Forwarded") == 0)) {
			kw[n++] = f->keywords[i];
		}
	}
	return n;
}

static void import_md_folder(struct import *im, const struct md_folder *f)
{
	char *name = strcmp(f->name, "INBOX") == 0 && im->folder != NULL
			 ? xstrdup(im->folder)
			 : ta_mailbox_name_join(im->folder, f->name);
	const char *kw[MD_KEYWORDS_MAX + 1];
	char *path, *err = NULL;
	size_t i;
	int r;

	r = begin_mailbox(im, name, f->uidvalidity, f->uidnext);
	im->mb_skipped = f->skipped; /* already reported, and counted in im->skipped */
	for (i = 0; i < f->count && !im->failed; i++) {
		const struct md_message *m = &f->msgs[i];
		struct import_msg msg = {.uid = m->uid, .flags = m->flags, .keywords = kw};

		path = xasprintf("%s/%s/%s", f->dir, m->in_new ? "new" : "cur", m->name);
		msg.what = path;
		if (r == -2) {
			report_skip(im, "%s: no mailbox %s to import it into", path, name);
		} else if (read_file(path, &im->data, &msg.date, &err) < 0) {
			report_skip(im, "%s: %s", path, err);
			XFREE(err);
		} else {
			msg.nkeywords = keywords_of(im, f, m, kw);
			import_msg(im, &msg);
		}
		free(path);
		ta_progress_update(im->progress, ++im->units, im->messages);
	}
	if (r == 0)
		end_mailbox(im, f->dir);
	free(name);
}

/* subscribe - the source's subscriptions (under --folder). */
static void subscribe(struct import *im, char **names, size_t count)
{
	char *name, *err = NULL;
	size_t i;

	for (i = 0; i < count && !im->failed; i++) {
		name = strcmp(names[i], "INBOX") == 0 && im->folder != NULL
			   ? xstrdup(im->folder)
			   : ta_mailbox_name_join(im->folder, names[i]);
		if (store_subscribe(im->store, name, 1, &err) < 0) {
			ta_warn(im->ta, "subscribe %s: %s", name, err);
			XFREE(err);
		}
		free(name);
	}
}

static void import_maildir(struct import *im, const struct md_maildir *md)
{
	size_t i;

	ta_progress_add_total(im->progress, md->messages);
	for (i = 0; i < md->count && !im->failed; i++)
		import_md_folder(im, &md->folders[i]);
	if (!im->failed)
		subscribe(im, md->subscriptions, md->nsubscriptions);
}

/* --------------------------------------------------------------------- mbox */

struct mbox_import {
	struct import *im;
	const char *path;
	const char *mailbox;
	FILE *fp;
	struct mbox_folder_info info;
	int begun; /* the mailbox is made: 0, or the result of begin_mailbox() */
};

static int mbox_begin(const struct mbox_message *msg, void *ctx)
{
	struct mbox_import *mi = ctx;

	if (!mi->begun)
		mi->begun =
		    begin_mailbox(mi->im, mi->mailbox, mi->info.uidvalidity, mi->info.uidnext) == 0
			? 1
			: -1;
	strbuf_reset(&mi->im->data);
	return mi->begun == 1 && !mi->im->failed ? 0 : -1;
}

static int mbox_data(const char *data, size_t len, void *ctx)
{
	struct mbox_import *mi = ctx;

	strbuf_append(&mi->im->data, data, len);
	return 0;
}

static void mbox_end(const struct mbox_message *msg, int skipped, void *ctx)
{
	struct mbox_import *mi = ctx;
	struct import *im = mi->im;
	char *what = xasprintf("%s:%zu", mi->path, msg->line);
	struct import_msg m = {.what = what,
			       .uid = msg->uid,
			       .flags = msg->flags,
			       .keywords = (const char *const *)msg->keywords,
			       .nkeywords = msg->nkeywords,
			       .date = msg->date};
	off_t pos;

	if (im->failed) {
		/* the import is over: nothing more is counted */
	} else if (skipped) {
		report_skip(im, "%s: no mailbox %s to import it into", what, mi->mailbox);
	} else if (im->data.len == 0) {
		report_skip(im, "%s: empty message", what);
	} else {
		if (msg->date == 0) {
			ta_progress_clear(im->progress);
			ta_warn(im->ta, "%s: no date in the From_ line: the internal date is now",
				what);
		}
		import_msg(im, &m);
	}
	free(what);
	if ((pos = ftello(mi->fp)) >= 0)
		ta_progress_update(im->progress, im->units + (uint64_t)pos, im->messages);
}

/* import_mbox_file - one mbox file into mailbox. */
static void import_mbox_file(struct import *im, const char *path, const char *mailbox,
			     uint64_t size)
{
	static const struct mbox_reader_ops ops = {mbox_begin, mbox_data, mbox_end};
	struct mbox_import mi = {.im = im, .path = path, .mailbox = mailbox};
	char *err = NULL;

	if ((mi.fp = fopen(path, "re")) == NULL) {
		report_skip(im, "open %s: %s", path, strerror(errno));
		return;
	}
	if (mbox_read(mi.fp, path, &ops, &mi, &mi.info, &err) < 0) {
		report_skip(im, "%s", err);
		free(err);
	} else if (!mi.begun && !im->failed) {
		/* No message: the folder is still made, with its UIDVALIDITY. */
		mi.begun = begin_mailbox(im, mailbox, mi.info.uidvalidity, mi.info.uidnext) == 0;
	}
	fclose(mi.fp);
	im->units += size;
	if (mi.begun == 1 && !im->failed)
		end_mailbox(im, path);
}

/* An mbox file found in a directory, and the mailbox it goes to. */
struct mbox_file {
	char *path;
	char *mailbox;
	uint64_t size;
};

struct mbox_files {
	struct mbox_file *items;
	size_t count;
};

/* mailbox_of - the mailbox of a file's path below the directory: without ".mbox". */
static char *mailbox_of(struct import *im, const char *rel)
{
	size_t len = strlen(rel);
	int changed;
	char *name, *full;

	if (len > 5 && strcmp(rel + len - 5, ".mbox") == 0)
		len -= 5;
	name = ta_utf8_repair(rel, len, &changed);
	if (changed)
		ta_warn(im->ta, "%s: file name is not UTF-8: imported as \"%s\"", rel, name);
	full = strcasecmp(name, "INBOX") == 0 && im->folder != NULL
		   ? xstrdup(im->folder)
		   : ta_mailbox_name_join(im->folder, name);
	free(name);
	return full;
}

/* find_mbox_files - the regular files below dir (not those whose name begins with '.'). */
static void find_mbox_files(struct import *im, const char *dir, const char *rel, int depth,
			    struct mbox_files *files)
{
	struct dirent *de;
	struct stat st;
	char *path, *sub;
	DIR *dp;

	if (depth > MBOX_DIR_DEPTH || (dp = opendir(dir)) == NULL) {
		report_skip(im, "%s: %s", dir,
			    depth > MBOX_DIR_DEPTH ? "directories nested too deep"
						   : strerror(errno));
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		sub = rel[0] != '\0' ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		if (stat(path, &st) < 0) {
			report_skip(im, "%s: %s", path, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			find_mbox_files(im, path, sub, depth + 1, files);
		} else if (S_ISREG(st.st_mode)) {
			files->items =
			    xreallocarray(files->items, files->count + 1, sizeof(struct mbox_file));
			files->items[files->count].path = path;
			files->items[files->count].mailbox = mailbox_of(im, sub);
			files->items[files->count++].size = (uint64_t)st.st_size;
			path = NULL;
		}
		free(path);
		free(sub);
	}
	closedir(dp);
}

static int cmp_mbox_file(const void *a, const void *b)
{
	return strcmp(((const struct mbox_file *)a)->mailbox,
		      ((const struct mbox_file *)b)->mailbox);
}

/* mbox_check - whether the file begins as an mbox file does (or is empty). */
static int mbox_check(const char *path, char **error_r)
{
	char head[5];
	FILE *fp = fopen(path, "re");
	size_t n;

	if (fp == NULL) {
		*error_r = xasprintf("open %s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(head, 1, sizeof(head), fp);
	if (ferror(fp)) {
		*error_r = xasprintf("read %s: %s", path, strerror(errno));
		fclose(fp);
		return -1;
	}
	fclose(fp);
	if (n > 0 && (n < 5 || memcmp(head, "From ", 5) != 0)) {
		*error_r =
		    xasprintf("%s: not an mbox file (it does not begin with \"From \")", path);
		return -1;
	}
	return 0;
}

/*
 * mbox_source - the mbox files to import: path itself (into --folder or
 * INBOX), or the files below the directory path. -1 when path is not there.
 */
static int mbox_source(struct import *im, const char *path, struct mbox_files *files)
{
	struct stat st;
	char *err = NULL;

	memset(files, 0, sizeof(*files));
	if (stat(path, &st) < 0) {
		ta_error(im->ta, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		find_mbox_files(im, path, "", 0, files);
		if (files->count > 0)
			qsort(files->items, files->count, sizeof(struct mbox_file), cmp_mbox_file);
		return 0;
	}
	if (mbox_check(path, &err) < 0) {
		ta_error(im->ta, "%s", err);
		free(err);
		return -1;
	}
	files->items = xcalloc(1, sizeof(struct mbox_file));
	files->items[0].path = xstrdup(path);
	files->items[0].mailbox = xstrdup(im->folder != NULL ? im->folder : "INBOX");
	files->items[0].size = (uint64_t)st.st_size;
	files->count = 1;
	return 0;
}

static void mbox_files_free(struct mbox_files *files)
{
	size_t i;

	for (i = 0; i < files->count; i++) {
		free(files->items[i].path);
		free(files->items[i].mailbox);
	}
	free(files->items);
	memset(files, 0, sizeof(*files));
}

static void import_mbox(struct import *im, const struct mbox_files *files)
{
	size_t i;

	for (i = 0; i < files->count; i++)
		ta_progress_add_total(im->progress, files->items[i].size);
	for (i = 0; i < files->count && !im->failed; i++)
		import_mbox_file(im, files->items[i].path, files->items[i].mailbox,
				 files->items[i].size);
}

/* ------------------------------------------------------------------ command */

/* check_quota - say so when the import left the account over its quota. */
static void check_quota(struct import *im, const struct dir_account *acc)
{
	uint64_t bytes, messages;
	char *err = NULL, *limit;

	if (acc->quota_bytes == 0 && acc->quota_messages == 0)
		return;
	if (store_quota_usage(im->store, &bytes, &messages, &err) < 0) {
		ta_warn(im->ta, "quota usage: %s", err);
		free(err);
		return;
	}
	if (acc->quota_bytes != 0 && bytes > acc->quota_bytes) {
		limit = ta_format_size(acc->quota_bytes);
		ta_warn(im->ta,
			"%s is over quota: %llu bytes used of %s (the import ignores quota)",
			acc->address, (unsigned long long)bytes, limit);
		free(limit);
	}
	if (acc->quota_messages != 0 && messages > acc->quota_messages)
		ta_warn(
		    im->ta,
		    "%s is over quota: %llu messages of %llu allowed (the import ignores quota)",
		    acc->address, (unsigned long long)messages,
		    (unsigned long long)acc->quota_messages);
}

/* summary - the one line that sums the import up. */
static void summary(struct import *im, const char *source)
{
	char mb[32], n[32], s[32], b[32], sec[32], rate[32];
	double t = ta_progress_elapsed(im->progress);

	snprintf(mb, sizeof(mb), "%zu", im->mailboxes);
	snprintf(n, sizeof(n), "%zu", im->messages);
	snprintf(s, sizeof(s), "%zu", im->skipped);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)im->bytes);
	snprintf(sec, sizeof(sec), "%.2f", t);
	snprintf(rate, sizeof(rate), "%.0f/s", t > 0 ? (double)im->messages / t : 0.0);
	ta_changed(im->ta, "mail imported",
		   (const char *const[]){"address", im->address, "source", source, "mailboxes", mb,
					 "messages", n, "skipped", s, "bytes", b, "seconds", sec,
					 "rate", rate, NULL});
}

/* read_source - what there is to import, before the store is opened; -1 when nothing. */
static int read_source(struct import *im, int maildir, const char *path, struct md_maildir *md,
		       struct mbox_files *files)
{
	size_t skipped = 0;
	char *err = NULL;

	memset(md, 0, sizeof(*md));
	memset(files, 0, sizeof(*files));
	if (!maildir)
		return mbox_source(im, path, files);
	if (md_read(im->ta, path, md, &skipped, &err) < 0) {
		ta_error(im->ta, "%s", err);
		free(err);
		return -1;
	}
	im->skipped += skipped;
	return 0;
}

int ta_import(struct ternadmin *ta, const char *format, int argc, char **argv)
{
	const char *folder = NULL;
	const struct ta_option opts[] = {{"folder", &folder, NULL}, {NULL, NULL, NULL}};
	struct import im;
	struct dir_account acc;
	struct md_maildir md;
	struct mbox_files files;
	char **args;
	int n, status, maildir = strcmp(format, "maildir") == 0;

	if (!maildir && strcmp(format, "mbox") != 0)
		return ta_usage_error(ta, "unknown format: use import maildir or import mbox");
	if ((status = ta_parse(ta, argc, argv, opts, 2, 2, &args, &n)) != TA_OK)
		return status;
	if (folder != NULL && (folder[0] == '\0' || folder[0] == '/' ||
			       folder[strlen(folder) - 1] == '/' || strstr(folder, "//") != NULL)) {
		free(args);
		return ta_usage_error(ta, "bad folder name \"%s\"", folder);
	}
	memset(&im, 0, sizeof(im));
	im.ta = ta;
	im.folder = folder;
	if (ta_mailstore_account(ta, args[0], &acc) < 0) {
		free(args);
		return TA_FAIL;
	}
	im.address = acc.address;
	status = TA_FAIL;
	if (read_source(&im, maildir, args[1], &md, &files) == 0 &&
	    ta_mailstore_open(ta, &acc, 1, &im.store) == 0) {
		im.progress = ta_progress_new("importing", 0, !maildir);
		if (maildir)
			import_maildir(&im, &md);
		else
			import_mbox(&im, &files);
		ta_progress_clear(im.progress);
		if (!im.failed || im.messages > 0)
			summary(&im, args[1]);
		if (!im.failed)
			check_quota(&im, &acc);
		status = im.failed ? TA_FAIL : im.skipped > 0 ? TA_PARTIAL : TA_OK;
		ta_progress_free(&im.progress);
		store_close(&im.store);
	}
	md_free(&md);
	mbox_files_free(&files);
	free(im.mailbox);
	strbuf_free(&im.data);
	dir_account_free(&acc);
	free(args);
	return status;
}
