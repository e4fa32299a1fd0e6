/*
 * test_store - the mailbox store in one process: creation (files, modes,
 * default mailboxes), options from main.cf, mailbox names, create, delete,
 * rename, special-use, subscriptions, \Recent; append with the cached IMAP
 * data; fetch, changes, flags and keywords, copy and move sharing blobs,
 * expunge removing them, quota, full-text search (stale documents after an
 * expunge, the rebuild by store_gc, its resumption), the upgrade of an index
 * of schema version 1, notification, orphan collection, and a missing or
 * damaged blob.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "mail/mail_conf.h"
#include "mail/mime.h"
#include "tests/unit/test_store_util.h"

/* expect - call returned code; frees the error. */
#define expect(call, code)                                                                         \
	do {                                                                                       \
		char *err_ = NULL;                                                                 \
		int ret_ = (call);                                                                 \
		if (ret_ != (code))                                                                \
			fprintf(stderr, "%s:%d: %d, not %d: %s\n", __FILE__, __LINE__, ret_,       \
				(int)(code), err_ ? err_ : "");                                    \
		assert_int_equal(ret_, (code));                                                    \
		free(err_);                                                                        \
	} while (0)
/* ERR: the error argument that expect() provides. */
#define ERR &err_

static mode_t file_mode(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	free(path);
	return st.st_mode & 07777;
}

/* ------------------------------------------------------------------ open */

static void test_open_create_modes(void **state)
{
	struct fixture *f = *state;
	struct store_options opts = {0};
	struct store *s = NULL;
	char *path = xasprintf("%s/a/b/user", f->tmp), *err = NULL;
	mode_t old = umask(0);

	/* Missing and not to be created. */
	assert_int_equal(store_open(path, &opts, &s, &err), STORE_ERR_NOTFOUND);
	assert_null(s);
	free(err);
	opts.create = 1;
	expect(store_open(path, &opts, &s, ERR), 0);
	umask(old);
	assert_int_equal(file_mode(path, "."), 0700);
	assert_int_equal(file_mode(f->tmp, "a"), 0700);
	assert_int_equal(file_mode(path, "index.db"), 0600);
	assert_int_equal(file_mode(path, "index.db-wal"), 0600);
	assert_int_equal(file_mode(path, "notify"), 0600);
	assert_int_equal(file_mode(path, "lock"), 0600);
	assert_int_equal(file_mode(path, "blobs"), 0700);
	assert_int_equal(file_mode(path, "blobs/00"), 0700);
	assert_int_equal(file_mode(path, "blobs/ff"), 0700);
	assert_int_equal(file_mode(path, "tmp"), 0700);
	umask(0);
	assert_true(append_ok(s, "INBOX", "modes", "x", 0) == 1);
	umask(old);
	assert_int_equal(count_files(path), 6); /* index.db, -wal, -shm, notify, lock, 1 blob */
	store_close(&s);
	assert_null(s);

	/* Open again: existing store, no create needed. */
	opts.create = 0;
	expect(store_open(path, &opts, &s, ERR), 0);
	struct store_mailbox mb;

	expect(store_mailbox_get(s, "INBOX", &mb, ERR), 0);
	assert_int_equal(mb.messages, 1);
	store_mailbox_free(&mb);
	store_close(&s);
	store_close(&s); /* NULL: nothing */

	/* A restrictive umask does not take the owner's rights away either. */
	char *strict = xasprintf("%s/strict", f->tmp);

	opts.create = 1;
	umask(0277);
	expect(store_open(strict, &opts, &s, ERR), 0);
	assert_true(append_ok(s, "INBOX", "umask", "x", 0) == 1);
	umask(old);
	assert_int_equal(file_mode(strict, "."), 0700);
	assert_int_equal(file_mode(strict, "index.db"), 0600);
	assert_int_equal(file_mode(strict, "blobs/7f"), 0700);
	assert_int_equal(file_mode(strict, "tmp"), 0700);
	assert_int_equal(file_mode(strict, "notify"), 0600);
	struct fetched got;

	fetch_all(s, "INBOX", &got);
	assert_int_equal(got.count, 1);
	store_close(&s);
	free(strict);
	opts.create = 0;

	/* A directory without an index is not a store unless created. */
	char *empty = xasprintf("%s/empty", f->tmp);

	assert_int_equal(mkdir(empty, 0700), 0);
	assert_int_equal(store_open(empty, &opts, &s, &err), STORE_ERR_NOTFOUND);
	free(err);
	free(empty);
	free(path);
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	struct store_mailboxes list;
	static const char *const names[] = {"INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"};
	static const unsigned uses[] = {0,
					STORE_USE_ARCHIVE,
					STORE_USE_DRAFTS,
					STORE_USE_JUNK,
					STORE_USE_SENT,
					STORE_USE_TRASH};
	size_t i, j;

	expect(store_mailbox_list(f->store, &list, ERR), 0);
	assert_int_equal(list.count, 6);
	for (i = 0; i < 6; i++) {
		assert_string_equal(list.items[i].name, names[i]);
		assert_int_equal(list.items[i].special_use, uses[i]);
		assert_int_equal(list.items[i].subscribed, 1);
		assert_int_equal(list.items[i].noselect, 0);
		assert_int_equal(list.items[i].uidnext, 1);
		assert_int_equal(list.items[i].first_recent_uid, 1);
		assert_true(list.items[i].highestmodseq >= 1);
		assert_true(list.items[i].uidvalidity > 0);
		for (j = 0; j < i; j++)
			assert_int_not_equal(list.items[i].uidvalidity, list.items[j].uidvalidity);
	}
	store_mailboxes_free(&list);
	assert_int_equal(list.count, 0);
}

static void test_options_from_conf(void **state)
{
	struct mail_conf *conf = mail_conf_defaults();
	struct store_options opts;
	char *err = NULL;

	(void)state;
	memset(&opts, 0xff, sizeof(opts));
	store_options_from_conf(conf, &opts);
	assert_int_equal(opts.fts_text_limit, 1024 * 1024);
	assert_int_equal(opts.busy_timeout_ms, 30000);
	assert_int_equal(opts.gc_interval, 86400);
	assert_int_equal(opts.gc_min_age, 3600);
	assert_int_equal(opts.quota_bytes, 0);
	assert_int_equal(opts.quota_messages, 0);
	assert_int_equal(opts.create, 0);
	assert_int_equal(mail_conf_override(conf, "store_busy_timeout=2s", "test", &err), 0);
	assert_int_equal(mail_conf_override(conf, "store_fts_text_limit=64k", "test", &err), 0);
	assert_int_equal(mail_conf_override(conf, "store_gc_interval=0", "test", &err), 0);
	assert_int_equal(mail_conf_override(conf, "store_orphan_age=2h", "test", &err), 0);
	store_options_from_conf(conf, &opts);
	assert_int_equal(opts.busy_timeout_ms, 2000);
	assert_int_equal(opts.fts_text_limit, 65536);
	assert_int_equal(opts.gc_interval, 0);
	assert_int_equal(opts.gc_min_age, 7200);
	mail_conf_free(&conf);
}

/* ------------------------------------------------------------- mailboxes */

static void test_names(void **state)
{
	struct fixture *f = *state;
	char *long_name = xmalloc(STORE_NAME_MAX + 2), *ok_name = xmalloc(STORE_NAME_MAX + 1);
	static const char *const bad[] = {
	    "",		"/a",		"a/",	 "a//b",    "a\tb", "a\x01", "bad\xff utf8",
	    "\xc0\xaf", "\xed\xa0\x80", "x\x7f", "\xc2\x85"};
	struct store_mailbox mb;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect(store_mailbox_create(f->store, bad[i], 0, 0, ERR), STORE_ERR_INVALID);
		expect(store_subscribe(f->store, bad[i], 1, ERR), STORE_ERR_INVALID);
		expect(store_mailbox_get(f->store, bad[i], &mb, ERR), STORE_ERR_INVALID);
	}
	expect(store_mailbox_create(f->store, NULL, 0, 0, ERR), STORE_ERR_INVALID);
	memset(long_name, 'x', STORE_NAME_MAX + 1);
	long_name[STORE_NAME_MAX + 1] = '\0';
	expect(store_mailbox_create(f->store, long_name, 0, 0, ERR), STORE_ERR_INVALID);
	memset(ok_name, 'y', STORE_NAME_MAX);
	ok_name[STORE_NAME_MAX] = '\0';
	expect(store_mailbox_create(f->store, ok_name, 0, 0, ERR), 0);
	free(long_name);
	free(ok_name);

	/* UTF-8, spaces and wildcards are fine; INBOX in any case is INBOX. */
	expect(store_mailbox_create(f->store, "Entwürfe alt/日本語 * %", 0, 0, ERR), 0);
	expect(store_mailbox_get(f->store, "Entwürfe alt", &mb, ERR), 0);
	store_mailbox_free(&mb);
	expect(store_mailbox_create(f->store, "inbox", 0, 0, ERR), STORE_ERR_EXISTS);
	expect(store_mailbox_get(f->store, "iNbOx", &mb, ERR), 0);
	assert_string_equal(mb.name, "INBOX");
	store_mailbox_free(&mb);
	expect(store_mailbox_create(f->store, "Inbox/Sub", 0, 0, ERR), 0);
	expect(store_mailbox_get(f->store, "INBOX/Sub", &mb, ERR), 0);
	assert_string_equal(mb.name, "INBOX/Sub");
	store_mailbox_free(&mb);
	/* Other names keep their case. */
	expect(store_mailbox_get(f->store, "sent", &mb, ERR), STORE_ERR_NOTFOUND);
}

static void test_mailbox_create_list(void **state)
{
	struct fixture *f = *state;
	struct store_mailboxes list;
	struct store_mailbox mb, parent;
	size_t i;

	expect(store_mailbox_create(f->store, "a/b/c", STORE_USE_FLAGGED, 0, ERR), 0);
	expect(store_mailbox_get(f->store, "a/b/c", &mb, ERR), 0);
	assert_int_equal(mb.special_use, STORE_USE_FLAGGED);
	assert_int_equal(mb.subscribed, 0);
	expect(store_mailbox_get(f->store, "a/b", &parent, ERR), 0);
	assert_int_equal(parent.noselect, 0);
	assert_true(parent.uidvalidity != mb.uidvalidity);
	store_mailbox_free(&parent);
	store_mailbox_free(&mb);
	expect(store_mailbox_create(f->store, "a/b/c", 0, 0, ERR), STORE_ERR_EXISTS);
	expect(store_mailbox_create(f->store, "a", 0, 0, ERR), STORE_ERR_EXISTS);
	expect(store_mailbox_create(f->store, "Zeta", 0, 12345, ERR), 0);
	expect(store_mailbox_get(f->store, "Zeta", &mb, ERR), 0);
	assert_int_equal(mb.uidvalidity, 12345);
	store_mailbox_free(&mb);
	expect(store_mailbox_list(f->store, &list, ERR), 0);
	assert_string_equal(list.items[0].name, "INBOX");
	for (i = 2; i < list.count; i++)
		assert_true(strcmp(list.items[i - 1].name, list.items[i].name) < 0);
	assert_int_equal(list.count, 10);
	store_mailboxes_free(&list);

	/* UIDVALIDITY: fresh and increasing, also after delete and create of one name. */
	uint32_t before;

	expect(store_mailbox_create(f->store, "Again", 0, 0, ERR), 0);
	expect(store_mailbox_get(f->store, "Again", &mb, ERR), 0);
	before = mb.uidvalidity;
	store_mailbox_free(&mb);
	expect(store_mailbox_delete(f->store, "Again", ERR), 0);
	expect(store_mailbox_create(f->store, "Again", 0, 0, ERR), 0);
	expect(store_mailbox_get(f->store, "Again", &mb, ERR), 0);
	assert_true(mb.uidvalidity > before);
	store_mailbox_free(&mb);
}

static void test_mailbox_delete(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox mb;
	struct fetched got;
	char *blobs = xasprintf("%s/blobs", f->path);

	expect(store_mailbox_delete(f->store, "INBOX", ERR), STORE_ERR_NOTALLOWED);
	expect(store_mailbox_delete(f->store, "inbox", ERR), STORE_ERR_NOTALLOWED);
	expect(store_mailbox_delete(f->store, "nope", ERR), STORE_ERR_NOTFOUND);
	expect(store_mailbox_create(f->store, "p/q", 0, 0, ERR), 0);
	append_ok(f->store, "p", "in p", "text", 0);
	append_ok(f->store, "p", "in p 2", "text", 0);
	append_ok(f->store, "p/q", "in q", "text", 0);
	assert_int_equal(count_files(blobs), 3);

	/* With a child: noselect, messages gone, UIDNEXT kept. */
	expect(store_mailbox_delete(f->store, "p", ERR), 0);
	expect(store_mailbox_get(f->store, "p", &mb, ERR), 0);
	assert_int_equal(mb.noselect, 1);
	assert_int_equal(mb.messages, 0);
	assert_int_equal(mb.uidnext, 3);
	store_mailbox_free(&mb);
	assert_int_equal(count_files(blobs), 1);
	expect(store_fetch(f->store, "p", 1, 0, 0, collect_fn, &got, ERR), STORE_ERR_NOTFOUND);
	char *text = make_message("x", "y");

	expect(append_text(f->store, "p", text, 0, ERR), STORE_ERR_NOTFOUND);
	free(text);
	assert_int_equal(count_files(blobs), 1);
	expect(store_mailbox_delete(f->store, "p", ERR), STORE_ERR_NOTALLOWED);

	/* Creating the noselect name makes it a new mailbox (a new UIDVALIDITY). */
	uint32_t validity;

	expect(store_mailbox_get(f->store, "p", &mb, ERR), 0);
	validity = mb.uidvalidity;
	store_mailbox_free(&mb);
	expect(store_mailbox_create(f->store, "p", STORE_USE_ARCHIVE, 0, ERR), 0);
	expect(store_mailbox_get(f->store, "p", &mb, ERR), 0);
	assert_int_equal(mb.noselect, 0);
	assert_int_equal(mb.special_use, STORE_USE_ARCHIVE);
	assert_true(mb.uidvalidity > validity);
	store_mailbox_free(&mb);
	assert_int_equal(append_ok(f->store, "p", "again", "text", 0), 1);

	/* A leaf goes entirely. */
	expect(store_mailbox_delete(f->store, "p/q", ERR), 0);
	expect(store_mailbox_get(f->store, "p/q", &mb, ERR), STORE_ERR_NOTFOUND);
	expect(store_mailbox_delete(f->store, "p", ERR), 0);
	assert_int_equal(count_files(blobs), 0);
	uint64_t bytes, msgs;

	expect(store_quota_usage(f->store, &bytes, &msgs, ERR), 0);
	assert_int_equal(bytes, 0);
	assert_int_equal(msgs, 0);
	free(blobs);
}

static void test_mailbox_rename(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox mb, inbox;
	struct fetched got;
	uint32_t old_validity;

	expect(store_mailbox_create(f->store, "r/s/t", 0, 0, ERR), 0);
	append_ok(f->store, "r/s", "in s", "text", 0);
	expect(store_mailbox_get(f->store, "r/s", &mb, ERR), 0);
	old_validity = mb.uidvalidity;
	store_mailbox_free(&mb);
	expect(store_mailbox_rename(f->store, "r", "r/x", ERR), STORE_ERR_NOTALLOWED);
	expect(store_mailbox_rename(f->store, "r", "Sent", ERR), STORE_ERR_EXISTS);
	expect(store_mailbox_rename(f->store, "r", "r", ERR), STORE_ERR_EXISTS);
	expect(store_mailbox_rename(f->store, "none", "x", ERR), STORE_ERR_NOTFOUND);
	expect(store_mailbox_rename(f->store, "r", "bad//", ERR), STORE_ERR_INVALID);
	/* A child's new name that exists blocks the whole rename. */
	expect(store_mailbox_create(f->store, "n/s", 0, 0, ERR), 0);
	expect(store_mailbox_rename(f->store, "r", "n", ERR), STORE_ERR_EXISTS);
	expect(store_mailbox_get(f->store, "r/s/t", &mb, ERR), 0);
	store_mailbox_free(&mb);

	expect(store_mailbox_rename(f->store, "r", "deep/new/ö", ERR), 0);
	expect(store_mailbox_get(f->store, "r", &mb, ERR), STORE_ERR_NOTFOUND);
	expect(store_mailbox_get(f->store, "r/s/t", &mb, ERR), STORE_ERR_NOTFOUND);
	expect(store_mailbox_get(f->store, "deep/new", &mb, ERR), 0);
	store_mailbox_free(&mb);
	expect(store_mailbox_get(f->store, "deep/new/ö/s/t", &mb, ERR), 0);
	store_mailbox_free(&mb);
	expect(store_mailbox_get(f->store, "deep/new/ö/s", &mb, ERR), 0);
	assert_int_equal(mb.uidvalidity, old_validity); /* UIDs stay valid */
	assert_int_equal(mb.messages, 1);
	store_mailbox_free(&mb);
	fetch_all(f->store, "deep/new/ö/s", &got);
	assert_int_equal(got.count, 1);

	/* INBOX: its messages move to the new name, INBOX stays, empty, with a new UIDVALIDITY. */
	append_ok(f->store, "INBOX", "one", "text", 0);
	append_ok(f->store, "INBOX", "two", "text", 0);
	expect(store_mailbox_create(f->store, "INBOX/child", 0, 0, ERR), 0);
	expect(store_mailbox_get(f->store, "INBOX", &inbox, ERR), 0);
	expect(store_mailbox_rename(f->store, "INBOX", "Old/Inbox", ERR), 0);
	expect(store_mailbox_get(f->store, "Old/Inbox", &mb, ERR), 0);
	assert_int_equal(mb.messages, 2);
	assert_int_equal(mb.uidvalidity, inbox.uidvalidity);
	store_mailbox_free(&mb);
	expect(store_mailbox_get(f->store, "INBOX", &mb, ERR), 0);
	assert_int_equal(mb.messages, 0);
	assert_true(mb.uidvalidity != inbox.uidvalidity);
	store_mailbox_free(&mb);
	store_mailbox_free(&inbox);
	expect(store_mailbox_get(f->store, "INBOX/child", &mb, ERR), 0);
	store_mailbox_free(&mb);
	fetch_all(f->store, "Old/Inbox", &got);
	assert_int_equal(got.count, 2);
	assert_int_equal(got.uids[0], 1);
	assert_int_equal(got.uids[1], 2);
}

static void test_special_use_subscriptions_recent(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox mb;
	char **names;
	size_t n;
	uint32_t first;

	expect(store_mailbox_set_special_use(f->store, "Junk", STORE_USE_JUNK | STORE_USE_FLAGGED,
					     ERR),
	       0);
	expect(store_mailbox_get(f->store, "Junk", &mb, ERR), 0);
	assert_int_equal(mb.special_use, STORE_USE_JUNK | STORE_USE_FLAGGED);
	store_mailbox_free(&mb);
	expect(store_mailbox_set_special_use(f->store, "Nope", 0, ERR), STORE_ERR_NOTFOUND);

	expect(store_subscribe(f->store, "Not/There", 1, ERR), 0);
	expect(store_subscribe(f->store, "Not/There", 1, ERR), 0);
	expect(store_subscribe(f->store, "Trash", 0, ERR), 0);
	expect(store_subscribe(f->store, "Never", 0, ERR), 0);
	expect(store_subscriptions(f->store, &names, &n, ERR), 0);
	assert_int_equal(n, 6);
	assert_string_equal(names[0], "Archive");
	assert_string_equal(names[3], "Junk");
	assert_string_equal(names[4], "Not/There");
	assert_string_equal(names[5], "Sent");
	store_names_free(names, n);
	expect(store_mailbox_get(f->store, "Trash", &mb, ERR), 0);
	assert_int_equal(mb.subscribed, 0);
	store_mailbox_free(&mb);

	append_ok(f->store, "INBOX", "r1", "x", 0);
	append_ok(f->store, "INBOX", "r2", "x", 0);
	expect(store_take_recent(f->store, "INBOX", &first, ERR), 0);
	assert_int_equal(first, 1);
	expect(store_take_recent(f->store, "INBOX", &first, ERR), 0);
	assert_int_equal(first, 3);
	append_ok(f->store, "INBOX", "r3", "x", 0);
	expect(store_take_recent(f->store, "INBOX", &first, ERR), 0);
	assert_int_equal(first, 3);
	expect(store_mailbox_get(f->store, "INBOX", &mb, ERR), 0);
	assert_int_equal(mb.first_recent_uid, 4);
	store_mailbox_free(&mb);
	expect(store_take_recent(f->store, "Nope", &first, ERR), STORE_ERR_NOTFOUND);
}

/* ---------------------------------------------------------------- append */

static const char multipart_msg[] = "From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>\r\n"
				    "To: undisclosed-recipients:;, Carol <carol@example.com>\r\n"
				    "Cc: dave@example.com\r\n"
				    "Subject: =?UTF-8?B?R3LDvMOfZQ==?= and more\r\n"
				    "Date: Tue, 1 Mar 2022 08:00:00 +0100\r\n"
				    "Message-ID: <mp1@example.org>\r\n"
				    "In-Reply-To: <earlier@example.org>\r\n"
				    "References: <first@example.org>\r\n"
				    " <earlier@example.org>\r\n"
				    "X-Other: not cached\r\n"
				    "MIME-Version: 1.0\r\n"
				    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
				    "\r\n"
				    "preamble\r\n"
				    "--XX\r\n"
				    "Content-Type: text/plain; charset=utf-8\r\n"
				    "Content-Transfer-Encoding: quoted-printable\r\n"
				    "\r\n"
				    "Caf=C3=A9 cr=C3=A8me br=C3=BBl=C3=A9e for everyone\r\n"
				    "--XX\r\n"
				    "Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
				    "Content-Transfer-Encoding: base64\r\n"
				    "\r\n"
				    "AAECAwQF\r\n"
				    "--XX--\r\n";

struct one {
	struct store_message m;
	int calls;
};

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static int keep_fn(const struct store_message *msg, void *ctx)
{
	struct one *o = ctx;

	o->calls++;
	store_message_free(&o->m);
	o->m = *msg;
	o->m.keywords = dup_or_null(msg->keywords);
	o->m.blob = dup_or_null(msg->blob);
	o->m.envelope = dup_or_null(msg->envelope);
	o->m.bodystructure = dup_or_null(msg->bodystructure);
	o->m.body = dup_or_null(msg->body);
	o->m.partmap = dup_or_null(msg->partmap);
	o->m.header_cache = dup_or_null(msg->header_cache);
	o->m.subject = dup_or_null(msg->subject);
	o->m.from = dup_or_null(msg->from);
	o->m.from_name = dup_or_null(msg->from_name);
	o->m.to = dup_or_null(msg->to);
	o->m.to_name = dup_or_null(msg->to_name);
	o->m.cc = dup_or_null(msg->cc);
	o->m.message_id = dup_or_null(msg->message_id);
	o->m.in_reply_to = dup_or_null(msg->in_reply_to);
	o->m.references = dup_or_null(msg->references);
	return 0;
}

/* read_blob - the whole blob of a message (malloc'd), its length in *len_r. */
static char *read_blob(struct store *s, const char *blob, size_t *len_r)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096], *err = NULL;
	ssize_t n;
	int fd = store_blob_open(s, blob, &err);

	assert_true(fd >= 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_append(&sb, buf, (size_t)n);
	close(fd);
	*len_r = sb.len;
	return strbuf_detach(&sb);
}

static void test_append_fetch_cached(void **state)
{
	struct fixture *f = *state;
	struct store_blob *blob;
	struct store_append req = {0};
	const char *kws[] = {"$Forwarded", "work", "$forwarded"};
	struct one o = {0};
	struct strbuf expect_sb = STRBUF_INIT;
	struct mime_message *msg;
	struct mime_section sec;
	size_t len, i;
	uint32_t uid;
	char *bytes;

	expect(store_blob_create(f->store, &blob, ERR), 0);
	/* Fed one byte at a time: the buffer and the parser see pieces of any size. */
	for (i = 0; i < sizeof(multipart_msg) - 1; i++)
		expect(store_blob_write(blob, multipart_msg + i, 1, ERR), 0);
	req.mailbox = "INBOX";
	req.flags = STORE_SEEN | STORE_FLAGGED | 0x100; /* unknown bits are dropped */
	req.keywords = kws;
	req.nkeywords = 3;
	req.internal_date = 1600000000;
	expect(store_append(f->store, &blob, &req, &uid, ERR), 0);
	assert_null(blob);
	assert_int_equal(uid, 1);

	expect(store_fetch(f->store, "INBOX", 1, 1, 0x3f, keep_fn, &o, ERR), 0);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.m.uid, 1);
	assert_int_equal(o.m.flags, STORE_SEEN | STORE_FLAGGED);
	assert_string_equal(o.m.keywords, "$Forwarded work");
	assert_true(o.m.modseq > 1);
	assert_int_equal(o.m.internal_date, 1600000000);
	assert_true(o.m.save_date >= time(NULL) - 5 && o.m.save_date <= time(NULL));
	assert_int_equal(o.m.size, sizeof(multipart_msg) - 1);
	assert_int_equal(strlen(o.m.blob), 16);
	bytes = read_blob(f->store, o.m.blob, &len);
	assert_int_equal(len, sizeof(multipart_msg) - 1);
	assert_memory_equal(bytes, multipart_msg, len);
	free(bytes);

	/* The cached columns are what the MIME parser gives for the same bytes. */
	msg = mime_parse(multipart_msg, sizeof(multipart_msg) - 1, NULL);
	mime_envelope_imap(msg->root->envelope, &expect_sb);
	assert_string_equal(o.m.envelope, strbuf_str(&expect_sb));
	strbuf_reset(&expect_sb);
	mime_bodystructure_imap(msg->root, 1, &expect_sb);
	assert_string_equal(o.m.bodystructure, strbuf_str(&expect_sb));
	strbuf_reset(&expect_sb);
	mime_bodystructure_imap(msg->root, 0, &expect_sb);
	assert_string_equal(o.m.body, strbuf_str(&expect_sb));
	strbuf_reset(&expect_sb);
	mime_partmap_encode(msg, &expect_sb);
	assert_string_equal(o.m.partmap, strbuf_str(&expect_sb));
	strbuf_free(&expect_sb);
	assert_int_equal(o.m.header_size, msg->root->body_offset);
	mime_message_free(&msg);
	assert_int_equal(mime_partmap_lookup(o.m.partmap, strlen(o.m.partmap), "2", &sec), 0);
	assert_memory_equal(multipart_msg + sec.body_offset, "AAECAwQF", 8);
	assert_int_equal(memcmp(multipart_msg + o.m.header_size - 4, "\r\n\r\n", 4), 0);

	assert_string_equal(o.m.header_cache,
			    "From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>\r\n"
			    "To: undisclosed-recipients:;, Carol <carol@example.com>\r\n"
			    "Cc: dave@example.com\r\n"
			    "Subject: =?UTF-8?B?R3LDvMOfZQ==?= and more\r\n"
			    "Date: Tue, 1 Mar 2022 08:00:00 +0100\r\n"
			    "Message-ID: <mp1@example.org>\r\n"
			    "In-Reply-To: <earlier@example.org>\r\n"
			    "References: <first@example.org>\r\n"
			    " <earlier@example.org>\r\n"
			    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n");
	assert_int_equal(o.m.date_sent, 1646118000);
	assert_string_equal(o.m.subject, "Grüße and more");
	assert_string_equal(o.m.from, "joerg@example.org");
	assert_string_equal(o.m.from_name, "Jörg");
	assert_string_equal(o.m.to, "carol@example.com");
	assert_string_equal(o.m.to_name, "Carol");
	assert_string_equal(o.m.cc, "dave@example.com");
	assert_string_equal(o.m.message_id, "<mp1@example.org>");
	assert_string_equal(o.m.in_reply_to, "<earlier@example.org>");
	assert_true(strstr(o.m.references, "<first@example.org>") != NULL);
	store_message_free(&o.m);

	/* Fewer fields: the others are left empty. */
	o.calls = 0;
	expect(store_fetch(f->store, "INBOX", 1, 0, STORE_FETCH_FLAGS, keep_fn, &o, ERR), 0);
	assert_int_equal(o.calls, 1);
	assert_null(o.m.envelope);
	assert_null(o.m.blob);
	assert_int_equal(o.m.size, 0);
	assert_int_equal(o.m.flags, STORE_SEEN | STORE_FLAGGED);
	store_message_free(&o.m);
	o.calls = 0;
	expect(store_fetch(f->store, "INBOX", 1, 0, STORE_FETCH_SORT, keep_fn, &o, ERR), 0);
	assert_string_equal(o.m.subject, "Grüße and more");
	assert_null(o.m.keywords);
	store_message_free(&o.m);

	/* A message without most fields: empty strings and -1, not NULL. */
	char *err = NULL;

	assert_int_equal(append_text(f->store, "INBOX", "X-Only: one\r\n\r\nbody\r\n", 0, &err), 2);
	o.calls = 0;
	expect(store_fetch(f->store, "INBOX", 2, 2, 0x3f, keep_fn, &o, ERR), 0);
	assert_int_equal(o.calls, 1);
	assert_string_equal(o.m.subject, "");
	assert_string_equal(o.m.from, "");
	assert_string_equal(o.m.message_id, "");
	assert_string_equal(o.m.header_cache, "");
	assert_string_equal(o.m.keywords, "");
	assert_int_equal(o.m.date_sent, -1);
	assert_int_equal(o.m.header_size, 15);
	assert_true(o.m.internal_date >= time(NULL) - 5);
	store_message_free(&o.m);
}

static void test_set_uidvalidity(void **state)
{
	struct fixture *f = *state;
	struct store_mailbox mb;

	/* INBOX exists from the start and has given out no UID: it takes the old value */
	expect(store_mailbox_set_uidvalidity(f->store, "inbox", 1234567, ERR), 0);
	expect(store_mailbox_get(f->store, "INBOX", &mb, ERR), 0);
	assert_int_equal(mb.uidvalidity, 1234567);
	store_mailbox_free(&mb);
	expect(store_mailbox_set_uidvalidity(f->store, "INBOX", 0, ERR), STORE_ERR_INVALID);
	expect(store_mailbox_set_uidvalidity(f->store, "Nowhere", 7, ERR), STORE_ERR_NOTFOUND);
	/* once a UID was given out, the UIDVALIDITY stays */
	assert_int_equal(append_ok(f->store, "INBOX", "first", "x", 0), 1);
	expect(store_mailbox_set_uidvalidity(f->store, "INBOX", 99, ERR), STORE_ERR_NOTALLOWED);
	expect(store_mailbox_get(f->store, "INBOX", &mb, ERR), 0);
	assert_int_equal(mb.uidvalidity, 1234567);
	store_mailbox_free(&mb);
	/* UIDNEXT goes up, never down */
	expect(store_mailbox_raise_uidnext(f->store, "INBOX", 40, ERR), 0);
	expect(store_mailbox_raise_uidnext(f->store, "INBOX", 20, ERR), 0);
	expect(store_mailbox_raise_uidnext(f->store, "Nowhere", 20, ERR), STORE_ERR_NOTFOUND);
	assert_int_equal(append_ok(f->store, "INBOX", "second", "x", 0), 40);
}

static void test_append_uids_and_errors(void **state)
{
	struct fixture *f = *state;
	struct store_blob *blob;
	struct store_append req = {0};
	struct store_mailbox mb;
	const char *badkw[] = {"bad kw"};
	char *text = make_message("uids", "x"), *tmpdir = xasprintf("%s/tmp", f->path);
	char *blobs = xasprintf("%s/blobs", f->path);
	uint32_t uid;

	req.mailbox = "INBOX";
	req.uid = 10;
	expect(store_blob_create(f->store, &blob, ERR), 0);
	expect(store_blob_write(blob, text, strlen(text), ERR), 0);
	expect(store_append(f->store, &blob, &req, &uid, ERR), 0);
	assert_int_equal(uid, 10);
	/* Below UIDNEXT: refused, and the blob does not stay behind. */
	req.uid = 5;
	expect(store_blob_create(f->store, &blob, ERR), 0);
	expect(store_blob_write(blob, text, strlen(text), ERR), 0);
	expect(store_append(f->store, &blob, &req, &uid, ERR), STORE_ERR_INVALID);
	assert_null(blob);
	assert_int_equal(uid, 0);
	assert_int_equal(count_files(blobs), 1);
	assert_int_equal(count_files(tmpdir), 0);
	req.uid = 0;
	assert_int_equal(append_ok(f->store, "INBOX", "next", "x", 0), 11);
	expect(store_mailbox_get(f->store, "INBOX", &mb, ERR), 0);
	assert_int_equal(mb.uidnext, 12);
	store_mailbox_free(&mb);

	/* No such mailbox; a missing special-use one is made (subscribed). */
	expect(append_text(f->store, "Nowhere", text, 0, ERR), STORE_ERR_NOTFOUND);
	expect(store_mailbox_delete(f->store, "Sent", ERR), 0);
	expect(append_text(f->store, "Sent", text, 0, ERR), 1);
	expect(store_mailbox_get(f->store, "Sent", &mb, ERR), 0);
	assert_int_equal(mb.special_use, STORE_USE_SENT);
	assert_int_equal(mb.subscribed, 1);
	store_mailbox_free(&mb);

	/* A bad keyword; a NULL mailbox. */
	req.keywords = badkw;
	req.nkeywords = 1;
	expect(store_blob_create(f->store, &blob, ERR), 0);
	expect(store_blob_write(blob, text, strlen(text), ERR), 0);
	expect(store_append(f->store, &blob, &req, &uid, ERR), STORE_ERR_INVALID);
	req.mailbox = NULL;
	expect(store_blob_create(f->store, &blob, ERR), 0);
	expect(store_append(f->store, &blob, &req, &uid, ERR), STORE_ERR_INVALID);
	assert_null(blob);

	/* A blob of another store; no blob. */
	struct store *s2;
	char *p2 = xasprintf("%s/other", f->tmp), *tmp2 = xasprintf("%s/other/tmp", f->tmp);

	expect(store_open(p2, &f->opts, &s2, ERR), 0);
	expect(store_blob_create(s2, &blob, ERR), 0);
	req.mailbox = "INBOX";
	req.keywords = NULL;
	req.nkeywords = 0;
	expect(store_append(f->store, &blob, &req, &uid, ERR), STORE_ERR_INVALID);
	assert_null(blob);
	assert_int_equal(count_files(tmp2), 0);
	expect(store_append(f->store, &blob, &req, &uid, ERR), STORE_ERR_INVALID);
	store_close(&s2);
	free(p2);
	free(tmp2);

	/* Discarding removes the temporary file. */
	expect(store_blob_create(f->store, &blob, ERR), 0);
	expect(store_blob_write(blob, text, strlen(text), ERR), 0);
	assert_int_equal(count_files(tmpdir), 1);
	store_blob_discard(&blob);
	assert_null(blob);
	store_blob_discard(&blob);
	assert_int_equal(count_files(tmpdir), 0);
	assert_int_equal(count_files(blobs), 3);

	/* Blob names: only the store's own. */
	expect(store_blob_open(f->store, "../../etc/passwd", ERR), STORE_ERR_INVALID);
	expect(store_blob_open(f->store, "0123456789ABCDEF", ERR), STORE_ERR_INVALID);
	expect(store_blob_open(f->store, "0123456789abcdef", ERR), STORE_ERR_NOTFOUND);
	expect(store_blob_open(f->store, NULL, ERR), STORE_ERR_INVALID);
	free(text);
	free(tmpdir);
	free(blobs);
}

static void test_large_and_broken_messages(void **state)
{
	struct fixture *f = *state;
	struct strbuf big = STRBUF_INIT;
	struct store_blob *blob;
	struct store_append req = {0};
	struct one o = {0};
	size_t i, len;
	uint32_t uid;
	char *back;

	/* 3 MB in pieces of 100 kB: past the write buffer. */
	strbuf_puts(&big, "Subject: big\r\n\r\n");
	for (i = 0; big.len < 3 * 1024 * 1024; i++)
		strbuf_printf(&big, "line %zu of a big message with some words in it\r\n", i);
	expect(store_blob_create(f->store, &blob, ERR), 0);
	for (i = 0; i < big.len; i += 100000)
		expect(store_blob_write(blob, big.data + i,
					big.len - i < 100000 ? big.len - i : 100000, ERR),
		       0);
	req.mailbox = "INBOX";
	expect(store_append(f->store, &blob, &req, &uid, ERR), 0);
	expect(store_fetch(f->store, "INBOX", uid, uid, STORE_FETCH_META, keep_fn, &o, ERR), 0);
	assert_int_equal(o.m.size, big.len);
	back = read_blob(f->store, o.m.blob, &len);
	assert_int_equal(len, big.len);
	assert_memory_equal(back, big.data, len);
	free(back);
	store_message_free(&o.m);
	strbuf_free(&big);

	/* Broken input still gets in: no header end, bad boundary, NULs, bare LF, empty. */
	static const char *const broken[] = {
	    "no colon line\r\nSubject: x",
	    "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nno end",
	    "Subject: \x01\xff\xfe\r\n\r\nbody",
	    "Subject: lf only\n\nbody\n",
	    "",
	};
	char *err = NULL;

	for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		int r = append_text(f->store, "INBOX", broken[i], 0, &err);

		if (r <= 0)
			fprintf(stderr, "broken %zu: %s\n", i, err);
		assert_true(r > 0);
	}
	struct fetched got;

	fetch_all(f->store, "INBOX", &got);
	assert_int_equal(got.count, 6);
}

/* --------------------------------------------------------------- changes */

struct changes {
	struct fetched msgs;
	uint32_t gone[64];
	size_t ngone;
};

static void gone_fn(uint32_t uid, void *ctx)
{
	struct changes *c = ctx;

	if (c->ngone < 64)
		c->gone[c->ngone] = uid;
	c->ngone++;
}

static void test_flags_and_changes(void **state)
{
	struct fixture *f = *state;
	struct store_uids uids = {0}, changed, failed;
	uint32_t all[] = {1, 2, 3, 99};
	const char *kw1[] = {"Work", "$Label1"};
	const char *kw_remove[] = {"work"};
	struct store_mailbox mb;
	struct changes c;
	struct one o = {0};
	uint64_t start;
	int i;

	for (i = 0; i < 3; i++)
		append_ok(f->store, "INBOX", "flags", "x", 0);
	expect(store_mailbox_get(f->store, "INBOX", &mb, ERR), 0);
	assert_int_equal(mb.unseen, 3);
	start = mb.highestmodseq;
	store_mailbox_free(&mb);

	uids.uids = all;
	uids.count = 4; /* 99 does not exist: skipped */
	expect(store_set_flags(f->store, "INBOX", &uids, STORE_FLAGS_ADD, STORE_SEEN, kw1, 2, 0,
			       &changed, &failed, ERR),
	       0);
	assert_int_equal(changed.count, 3);
	assert_int_equal(failed.count, 0);
	store_uids_free(&changed);
	store_uids_free(&failed);
	expect(store_mailbox_get(f->store, "INBOX", &mb, ERR), 0);
	assert_int_equal(mb.unseen, 0);
	assert_int_equal(mb.highestmodseq, start + 1);
	store_mailbox_free(&mb);
	expect(store_fetch(f->store, "INBOX", 2, 2, STORE_FETCH_FLAGS, keep_fn, &o, ERR), 0);
	assert_string_equal(o.m.keywords, "Work $Label1");
	assert_int_equal(o.m.flags, STORE_SEEN);
	assert_int_equal(o.m.modseq, start + 1);
	store_message_free(&o.m);

	/* No change: no new MODSEQ. */
	expect(store_set_flags(f->store, "INBOX", &uids, STORE_FLAGS_ADD, STORE_SEEN, NULL, 0, 0,
			       &changed, NULL, ERR),
	       0);
	assert_int_equal(changed.count, 0);
	store_uids_free(&changed);

	/* CONDSTORE: message 2 changes first, then a conditional change skips it. */
	uint32_t two[] = {2};
	struct store_uids u2 = {two, 1};

	expect(store_set_flags(f->store, "INBOX", &u2, STORE_FLAGS_ADD, STORE_DELETED, NULL, 0, 0,
			       NULL, NULL, ERR),
	       0);
	expect(store_set_flags(f->store, "INBOX", &uids, STORE_FLAGS_REMOVE, 0, kw_remove, 1,
			       start + 1, &changed, &failed, ERR),
	       0);
	assert_int_equal(changed.count, 2);
	assert_int_equal(changed.uids[0], 1);
	assert_int_equal(changed.uids[1], 3);
	assert_int_equal(failed.count, 1);
	assert_int_equal(failed.uids[0], 2);
	store_uids_free(&changed);
	store_uids_free(&failed);
	expect(store_fetch(f->store, "INBOX", 1, 1, STORE_FETCH_FLAGS, keep_fn, &o, ERR), 0);
	assert_string_equal(o.m.keywords, "$Label1");
	store_message_free(&o.m);
	expect(store_mailbox_get(f->store, "INBOX", &mb, ERR), 0);
	assert_int_equal(mb.deleted, 1);
	assert_int_equal(mb.highestmodseq, start + 3);
	store_mailbox_free(&mb);

	/* Replace. */
	expect(store_set_flags(f->store, "INBOX", &u2, STORE_FLAGS_REPLACE, STORE_ANSWERED, NULL, 0,
			       0, NULL, NULL, ERR),
	       0);
	expect(store_fetch(f->store, "INBOX", 2, 2, STORE_FETCH_FLAGS, keep_fn, &o, ERR), 0);
	assert_string_equal(o.m.keywords, "");
	assert_int_equal(o.m.flags, STORE_ANSWERED);
	store_message_free(&o.m);

	/* Changes since start+1: messages 1, 2, 3 changed after it; then an expunge. */
	memset(&c, 0, sizeof(c));
	expect(store_changes(f->store, "INBOX", start + 1, STORE_FETCH_FLAGS, collect_fn, gone_fn,
			     &c, ERR),
	       0);
	assert_int_equal(c.msgs.count, 3);
	assert_int_equal(c.ngone, 0);
	expect(store_expunge(f->store, "INBOX", &u2, 1, NULL, ERR), 0);
	expect(store_mailbox_get(f->store, "INBOX", &mb, ERR), 0);
	memset(&c, 0, sizeof(c));
	expect(
	    store_changes(f->store, "INBOX", mb.highestmodseq - 1, 0, collect_fn, gone_fn, &c, ERR),
	    0);
	assert_int_equal(c.msgs.count, 0);
	assert_int_equal(c.ngone, 1);
	assert_int_equal(c.gone[0], 2);
	memset(&c, 0, sizeof(c));
	expect(store_changes(f->store, "INBOX", mb.highestmodseq, 0, NULL, gone_fn, &c, ERR), 0);
	assert_int_equal(c.ngone, 0);
	store_mailbox_free(&mb);
	expect(store_changes(f->store, "Nope", 0, 0, NULL, NULL, NULL, ERR), STORE_ERR_NOTFOUND);

	/* Bad keywords are refused; the keyword limit holds. */
	const char *bad[] = {"\\Seen"};

	expect(store_set_flags(f->store, "INBOX", &uids, STORE_FLAGS_ADD, 0, bad, 1, 0, NULL, NULL,
			       ERR),
	       STORE_ERR_INVALID);
	char name[32];
	const char *one_kw[1] = {name};

	for (i = 0; i < STORE_KEYWORDS_MAX; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		char *err = NULL;
		int r = store_set_flags(f->store, "INBOX", &uids, STORE_FLAGS_ADD, 0, one_kw, 1, 0,
					NULL, NULL, &err);

		/* $Label1 and Work are in the list already */
		if (i < STORE_KEYWORDS_MAX - 2)
			assert_int_equal(r, 0);
		else
			assert_int_equal(r, STORE_ERR_INVALID);
		free(err);
	}
}

/* ------------------------------------------------------- copy, expunge */

static void test_copy_move_expunge_blobs(void **state)
{
	struct fixture *f = *state;
	char *blobs = xasprintf("%s/blobs", f->path);
	uint32_t list[] = {1, 2, 3, 7};
	struct store_uids uids = {list, 4}, src, dst, gone;
	struct store_mailbox mb;
	struct one a = {0}, b = {0};
	struct fetched got;
	uint32_t validity;

	append_ok(f->store, "INBOX", "c1", "alpha", 0);
	append_ok(f->store, "INBOX", "c2", "beta", STORE_DELETED);
	append_ok(f->store, "INBOX", "c3", "gamma", 0);
	expect(store_mailbox_create(f->store, "Copy", 0, 0, ERR), 0);

	expect(store_copy(f->store, "INBOX", &uids, "Copy", 0, &src, &dst, &validity, ERR), 0);
	assert_int_equal(src.count, 3);
	assert_int_equal(dst.count, 3);
	assert_int_equal(dst.uids[0], 1);
	assert_int_equal(dst.uids[2], 3);
	expect(store_mailbox_get(f->store, "Copy", &mb, ERR), 0);
	assert_int_equal(validity, mb.uidvalidity);
	assert_int_equal(mb.messages, 3);
	assert_int_equal(mb.deleted, 1);
	store_mailbox_free(&mb);
	store_uids_free(&src);
	store_uids_free(&dst);
	assert_int_equal(count_files(blobs), 3); /* shared */
	expect(store_fetch(f->store, "INBOX", 1, 1, 0x3f, keep_fn, &a, ERR), 0);
	expect(store_fetch(f->store, "Copy", 1, 1, 0x3f, keep_fn, &b, ERR), 0);
	assert_string_equal(a.m.blob, b.m.blob);
	assert_string_equal(a.m.envelope, b.m.envelope);
	assert_int_equal(a.m.internal_date, b.m.internal_date);
	store_message_free(&a.m);
	store_message_free(&b.m);

	/* Expunge of \Deleted only: message 2 leaves INBOX, its blob stays for Copy. */
	expect(store_expunge(f->store, "INBOX", NULL, 0, &gone, ERR), 0);
	assert_int_equal(gone.count, 1);
	assert_int_equal(gone.uids[0], 2);
	store_uids_free(&gone);
	assert_int_equal(count_files(blobs), 3);
	/* Given UIDs without \Deleted: nothing. */
	expect(store_expunge(f->store, "INBOX", &uids, 0, &gone, ERR), 0);
	assert_int_equal(gone.count, 0);
	store_uids_free(&gone);
	expect(store_expunge(f->store, "Copy", NULL, 0, &gone, ERR), 0);
	assert_int_equal(gone.count, 1);
	store_uids_free(&gone);
	assert_int_equal(count_files(blobs), 2); /* the last reference went */

	/* Move: leaves the source in the same transaction, recorded as expunged. */
	uint32_t one[] = {1};
	struct store_uids u1 = {one, 1};
	struct changes c;
	uint64_t before;

	expect(store_mailbox_get(f->store, "INBOX", &mb, ERR), 0);
	before = mb.highestmodseq;
	store_mailbox_free(&mb);
	expect(store_copy(f->store, "INBOX", &u1, "Trash", 1, &src, &dst, NULL, ERR), 0);
	assert_int_equal(src.count, 1);
	assert_int_equal(dst.uids[0], 1);
	store_uids_free(&src);
	store_uids_free(&dst);
	fetch_all(f->store, "INBOX", &got);
	assert_int_equal(got.count, 1);
	assert_int_equal(got.uids[0], 3);
	memset(&c, 0, sizeof(c));
	expect(store_changes(f->store, "INBOX", before, 0, NULL, gone_fn, &c, ERR), 0);
	assert_int_equal(c.ngone, 1);
	assert_int_equal(c.gone[0], 1);
	assert_int_equal(count_files(blobs), 2);

	/* Move within one mailbox: a new UID. */
	uint32_t three[] = {3};
	struct store_uids u3 = {three, 1};

	expect(store_copy(f->store, "INBOX", &u3, "inbox", 1, &src, &dst, NULL, ERR), 0);
	assert_int_equal(dst.uids[0], 4);
	store_uids_free(&src);
	store_uids_free(&dst);
	fetch_all(f->store, "INBOX", &got);
	assert_int_equal(got.count, 1);
	assert_int_equal(got.uids[0], 4);

	/* Errors and nothing to copy. */
	expect(store_copy(f->store, "INBOX", &u1, "Nope", 0, NULL, NULL, NULL, ERR),
	       STORE_ERR_NOTFOUND);
	expect(store_copy(f->store, "Nope", &u1, "INBOX", 0, NULL, NULL, NULL, ERR),
	       STORE_ERR_NOTFOUND);
	expect(store_copy(f->store, "INBOX", &u1, "Copy", 0, &src, &dst, NULL, ERR), 0);
	assert_int_equal(src.count, 0);
	assert_int_equal(dst.count, 0);

	/* Everything removed: no blob, no usage. */
	expect(store_expunge(f->store, "INBOX", NULL, 0, NULL, ERR), 0);
	uint32_t every[] = {1, 2, 3, 4, 5};
	struct store_uids ue = {every, 5};

	expect(store_expunge(f->store, "INBOX", &ue, 1, NULL, ERR), 0);
	expect(store_expunge(f->store, "Copy", &ue, 1, NULL, ERR), 0);
	expect(store_expunge(f->store, "Trash", &ue, 1, NULL, ERR), 0);
	assert_int_equal(count_files(blobs), 0);
	uint64_t bytes, msgs;

	expect(store_quota_usage(f->store, &bytes, &msgs, ERR), 0);
	assert_int_equal(bytes, 0);
	assert_int_equal(msgs, 0);
	expect(store_expunge(f->store, "Nope", NULL, 0, NULL, ERR), STORE_ERR_NOTFOUND);
	free(blobs);
}

static void test_quota(void **state)
{
	struct fixture *f = *state;
	char *text = make_message("quota", "0123456789"), *err = NULL;
	size_t len = strlen(text);
	uint64_t bytes, msgs;
	struct store_blob *blob;
	struct store_append req = {0};
	uint32_t uid, l[] = {1, 2};
	struct store_uids uids = {l, 2};

	store_set_quota(f->store, 2 * len + 1, 0);
	assert_int_equal(append_text(f->store, "INBOX", text, 0, &err), 1);
	assert_int_equal(append_text(f->store, "INBOX", text, 0, &err), 2);
	assert_int_equal(append_text(f->store, "INBOX", text, 0, &err), STORE_ERR_OVERQUOTA);
	free(err);
	err = NULL;
	expect(store_quota_usage(f->store, &bytes, &msgs, ERR), 0);
	assert_int_equal(bytes, 2 * len);
	assert_int_equal(msgs, 2);
	/* Copy counts too; move does not add. */
	expect(store_copy(f->store, "INBOX", &uids, "Archive", 0, NULL, NULL, NULL, ERR),
	       STORE_ERR_OVERQUOTA);
	expect(store_copy(f->store, "INBOX", &uids, "Archive", 1, NULL, NULL, NULL, ERR), 0);
	/* The administrator's import goes over. */
	req.mailbox = "INBOX";
	req.ignore_quota = 1;
	expect(store_blob_create(f->store, &blob, ERR), 0);
	expect(store_blob_write(blob, text, len, ERR), 0);
	expect(store_append(f->store, &blob, &req, &uid, ERR), 0);
	expect(store_quota_usage(f->store, &bytes, &msgs, ERR), 0);
	assert_int_equal(bytes, 3 * len);
	assert_int_equal(msgs, 3);

	/* Messages. */
	store_set_quota(f->store, 0, 4);
	assert_int_equal(append_text(f->store, "INBOX", text, 0, &err), 4);
	assert_int_equal(append_text(f->store, "INBOX", text, 0, &err), STORE_ERR_OVERQUOTA);
	free(err);
	store_set_quota(f->store, 0, 0);
	assert_int_equal(append_text(f->store, "INBOX", text, 0, &err), 5);
	free(text);
}

/* ---------------------------------------------------------------- search */

static size_t search(struct store *s, const char *mailbox, enum store_text_where where,
		     const char *needle, uint32_t *first)
{
	struct store_uids r;
	char *err = NULL;
	size_t n;

	if (store_search_text(s, mailbox, where, needle, &r, &err) < 0) {
		fprintf(stderr, "search %s: %s\n", needle, err);
		fail();
	}
	n = r.count;
	if (first != NULL)
		*first = n > 0 ? r.uids[0] : 0;
	store_uids_free(&r);
	return n;
}

static void test_search(void **state)
{
	struct fixture *f = *state;
	char *err = NULL;
	uint32_t first, two[] = {2};
	struct store_uids u2 = {two, 1};

	assert_int_equal(append_text(f->store, "INBOX", multipart_msg, 0, &err), 1);
	append_ok(f->store, "INBOX", "Quarterly report", "The numbers look fine this year.", 0);
	append_ok(f->store, "INBOX", "Lunch", "Shall we eat at the usual place?", 0);

	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, "creme brulee", &first), 1);
	assert_int_equal(first, 1);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, "CAFÉ", &first), 1);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_ANY, "Grüsse", NULL), 0);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_HEADER, "grüße", &first), 1);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_HEADER, "GRUSSE", NULL), 0);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_HEADER, "quarterly", &first), 1);
	assert_int_equal(first, 2);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, "quarterly", NULL), 0);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_ANY, "quarterly", NULL), 1);
	/* Words in any order (a superset of the phrase), the last one a prefix. */
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, "numbers look fi", NULL), 1);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, "look numbers", NULL), 1);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, "numbers fine look", NULL), 1);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, "numbers lunch", NULL), 0);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, "numbers yea", NULL), 1);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, "yea numbers", NULL), 0);
	/* All words in the header, or all in the body. */
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_ANY, "quarterly numbers", NULL), 0);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_ANY, "quarterly report", NULL), 1);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, "numbe", NULL), 1);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, "umbers", NULL), 0);
	/* Short words and no words: every message, for the caller to check. */
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, "at", NULL), 3);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, "", NULL), 3);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, " -- !! ", NULL), 3);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_BODY, "eat at the usual", NULL), 1);
	/* FTS5 syntax in the needle is only text. */
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_ANY, "\"lunch\" OR NEAR(x*", NULL),
			 0);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_ANY, "lunch\"", &first), 1);
	assert_int_equal(first, 3);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_ANY, "OR usual", &first), 1);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_ANY, "and usual", &first), 0);
	assert_int_equal(search(f->store, "Junk", STORE_TEXT_ANY, "lunch", NULL), 0);
	struct store_uids r;

	expect(store_search_text(f->store, "Nope", STORE_TEXT_ANY, "x", &r, ERR),
	       STORE_ERR_NOTFOUND);
	expect(store_search_text(f->store, "INBOX", (enum store_text_where)7, "lunch", &r, ERR),
	       STORE_ERR_INVALID);

	/* Copies share the text; it goes with the last copy. */
	expect(store_copy(f->store, "INBOX", &u2, "Archive", 0, NULL, NULL, NULL, ERR), 0);
	assert_int_equal(search(f->store, "Archive", STORE_TEXT_ANY, "numbers", &first), 1);
	assert_int_equal(first, 1);
	expect(store_expunge(f->store, "INBOX", &u2, 1, NULL, ERR), 0);
	assert_int_equal(search(f->store, "Archive", STORE_TEXT_ANY, "numbers", NULL), 1);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_ANY, "numbers", NULL), 0);
	uint32_t one[] = {1};
	struct store_uids u1 = {one, 1};

	expect(store_expunge(f->store, "Archive", &u1, 1, NULL, ERR), 0);
	/* Its documents stay in the index, stale, and are never found. */
	assert_int_equal(search(f->store, "Archive", STORE_TEXT_ANY, "numbers", NULL), 0);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_ANY, "numbers", NULL), 0);
	assert_int_equal(index_int(f->path, "SELECT fts_stale FROM state"), 1);
	assert_int_equal(index_int(f->path, "SELECT count(*) FROM fts_body WHERE fts_body MATCH "
					    "'numbers'"),
			 1);
	/* A new message with the word is found, the stale one still not. */
	assert_int_equal(append_ok(f->store, "INBOX", "Again", "numbers again", 0), 4);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_ANY, "numbers", &first), 1);
	assert_int_equal(first, 4);
}

static void test_search_text_limit(void **state)
{
	struct fixture *f = *state;
	struct store_options opts = f->opts;
	struct store *s;
	struct strbuf body = STRBUF_INIT;
	int i;

	opts.fts_text_limit = 2000;
	expect(store_open(f->path, &opts, &s, ERR), 0);
	strbuf_puts(&body, "beginning ");
	for (i = 0; i < 500; i++)
		strbuf_puts(&body, "filler ");
	strbuf_puts(&body, "ending");
	append_ok(s, "INBOX", "limit", strbuf_str(&body), 0);
	assert_int_equal(search(s, "INBOX", STORE_TEXT_BODY, "beginning", NULL), 1);
	assert_int_equal(search(s, "INBOX", STORE_TEXT_BODY, "ending", NULL), 0);
	/* Without the limit, the same message is indexed in full. */
	append_ok(f->store, "INBOX", "nolimit", strbuf_str(&body), 0);
	assert_int_equal(search(s, "INBOX", STORE_TEXT_BODY, "ending", NULL), 1);
	strbuf_free(&body);
	store_close(&s);
}

/* uid_list - the UIDs a search gives, as "1 2 3" (static buffer). */
static const char *uid_list(struct store *s, const char *mailbox, enum store_text_where where,
			    const char *needle)
{
	static char buf[512];
	struct store_uids r;
	char *err = NULL;
	size_t i, len = 0;

	if (store_search_text(s, mailbox, where, needle, &r, &err) < 0) {
		fprintf(stderr, "search %s: %s\n", needle, err);
		fail();
	}
	buf[0] = '\0';
	for (i = 0; i < r.count && len + 12 < sizeof(buf); i++)
		len +=
		    (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u", i ? " " : "", r.uids[i]);
	store_uids_free(&r);
	return buf;
}

/* fts_docs - the documents of a full-text table that hold word (stale ones too). */
static long long fts_docs(const char *path, const char *table, const char *word)
{
	char *sql = xasprintf("SELECT count(*) FROM %s WHERE %s MATCH '%s'", table, table, word);
	long long n = index_int(path, sql);

	free(sql);
	return n;
}

static void test_fts_rebuild(void **state)
{
	struct fixture *f = *state;
	static const char *const words[] = {"alpha",   "bravo", "charlie", "delta", "echo",
					    "foxtrot", "golf",	"hotel",   "india", "juliet"};
	struct store_gc_stats st;
	struct store_uids uids;
	uint32_t gone[8] = {1, 2, 3, 4, 5, 6, 7, 8}, ten[] = {10};
	struct store_uids u10 = {ten, 1};
	char body[64];
	size_t i;

	for (i = 0; i < 10; i++) {
		snprintf(body, sizeof(body), "common %s words", words[i]);
		append_ok(f->store, "INBOX", words[i], body, 0);
	}
	/* A copy shares its blob and its documents. */
	expect(store_copy(f->store, "INBOX", &u10, "Archive", 0, NULL, NULL, NULL, ERR), 0);
	assert_string_equal(uid_list(f->store, "INBOX", STORE_TEXT_BODY, "common"),
			    "1 2 3 4 5 6 7 8 9 10");
	assert_int_equal(index_int(f->path, "SELECT fts_next FROM state"), 11);

	/* Stale documents up to as many as the blobs: no rebuild. */
	uids.uids = gone;
	uids.count = 5;
	expect(store_expunge(f->store, "INBOX", &uids, 1, NULL, ERR), 0);
	expect(store_gc(f->store, 0, &st, ERR), 0);
	assert_int_equal(index_int(f->path, "SELECT fts_stale FROM state"), 5);
	assert_int_equal(fts_docs(f->path, "fts_body", "alpha"), 1);
	assert_string_equal(uid_list(f->store, "INBOX", STORE_TEXT_BODY, "alpha"), "");
	assert_string_equal(uid_list(f->store, "INBOX", STORE_TEXT_ANY, "common"), "6 7 8 9 10");

	/* More stale documents than blobs: store_gc rebuilds from the files. */
	uids.count = 8;
	expect(store_expunge(f->store, "INBOX", &uids, 1, NULL, ERR), 0);
	assert_int_equal(index_int(f->path, "SELECT fts_stale FROM state"), 8);
	expect(store_gc(f->store, 0, &st, ERR), 0);
	assert_int_equal(index_int(f->path, "SELECT fts_stale FROM state"), 0);
	assert_int_equal(index_int(f->path, "SELECT fts_rebuild IS NULL FROM state"), 1);
	assert_int_equal(index_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE name LIKE "
					    "'fts%new%'"),
			 0);
	assert_int_equal(fts_docs(f->path, "fts_body", "alpha"), 0);
	assert_int_equal(fts_docs(f->path, "fts_body", "common"), 2);
	assert_int_equal(fts_docs(f->path, "fts_header", "india"), 1);
	assert_string_equal(uid_list(f->store, "INBOX", STORE_TEXT_ANY, "common"), "9 10");
	assert_string_equal(uid_list(f->store, "INBOX", STORE_TEXT_HEADER, "juliet"), "10");
	assert_string_equal(uid_list(f->store, "INBOX", STORE_TEXT_BODY, "juliet"), "10");
	assert_string_equal(uid_list(f->store, "Archive", STORE_TEXT_BODY, "jul"), "1");
	/* New messages go on with new document numbers. */
	append_ok(f->store, "INBOX", "kilo", "common kilo words", 0);
	assert_int_equal(index_int(f->path, "SELECT fts_next FROM state"), 12);
	assert_string_equal(uid_list(f->store, "INBOX", STORE_TEXT_BODY, "kilo common"), "11");
	assert_int_equal(index_int(f->path, "SELECT integrity_check = 'ok' FROM "
					    "pragma_integrity_check"),
			 1);
	index_exec(f->path, STORE_FTS_TEST_CHECK);
}

/* A rebuild that stopped half-way goes on; a blob whose file is gone gets no document. */
static void test_fts_rebuild_resumed(void **state)
{
	struct fixture *f = *state;
	struct store_gc_stats st;
	struct one o = {0};
	char *file;

	append_ok(f->store, "INBOX", "first", "before the rebuild", 0);
	append_ok(f->store, "INBOX", "second", "lost file", 0);
	/* A rebuild that began (new tables, cursor 0) and was interrupted. */
	index_exec(f->path,
		   "CREATE VIRTUAL TABLE fts_header_new USING fts5 (" STORE_FTS_TEST_OPTIONS ");"
		   "CREATE VIRTUAL TABLE fts_body_new USING fts5 (" STORE_FTS_TEST_OPTIONS ");"
		   "UPDATE state SET fts_rebuild = 0");
	/* Appended meanwhile: left to the rebuild, found all along. */
	append_ok(f->store, "INBOX", "third", "during the rebuild", 0);
	assert_string_equal(uid_list(f->store, "INBOX", STORE_TEXT_BODY, "rebuild"), "1 3");
	expect(store_fetch(f->store, "INBOX", 2, 2, STORE_FETCH_META, keep_fn, &o, ERR), 0);
	file = xasprintf("%s/blobs/%s/%s", f->path, o.m.blob + 14, o.m.blob);
	assert_int_equal(unlink(file), 0);
	free(file);
	store_message_free(&o.m);
	expect(store_gc(f->store, 0, &st, ERR), 0);
	assert_int_equal(index_int(f->path, "SELECT fts_rebuild IS NULL FROM state"), 1);
	assert_string_equal(uid_list(f->store, "INBOX", STORE_TEXT_BODY, "rebuild"), "1 3");
	assert_string_equal(uid_list(f->store, "INBOX", STORE_TEXT_HEADER, "third"), "3");
	assert_string_equal(uid_list(f->store, "INBOX", STORE_TEXT_BODY, "lost"), "");
	assert_int_equal(fts_docs(f->path, "fts_body", "lost"), 0);
	index_exec(f->path, STORE_FTS_TEST_CHECK);
}

/* An index of schema version 1 (the text kept, rowid = blob id) is upgraded at open. */
static void test_upgrade_v1(void **state)
{
	struct fixture *f = *state;

	append_ok(f->store, "INBOX", "old one", "x", 0);
	append_ok(f->store, "INBOX", "old two", "x", 0);
	store_close(&f->store);
	index_exec(f->path,
		   "DROP TRIGGER blob_delete; DROP TABLE fts_header; DROP TABLE fts_body;"
		   "ALTER TABLE state DROP COLUMN fts_rebuild;"
		   "ALTER TABLE state DROP COLUMN fts_stale;"
		   "ALTER TABLE state DROP COLUMN fts_next;"
		   "ALTER TABLE blob DROP COLUMN doc;"
		   "CREATE VIRTUAL TABLE fts USING fts5 (header, body, "
		   "  tokenize = 'unicode61 remove_diacritics 2', columnsize = 0);"
		   "INSERT INTO fts (rowid, header, body) "
		   "  SELECT id, 'Subject: ' || subject, 'legacy text of ' || subject FROM blob;"
		   "PRAGMA user_version = 1");
	expect(store_open(f->path, &f->opts, &f->store, ERR), 0);
	assert_int_equal(index_int(f->path, "PRAGMA user_version"), 2);
	assert_int_equal(
	    index_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE name = 'fts'"), 0);
	assert_string_equal(uid_list(f->store, "INBOX", STORE_TEXT_BODY, "legacy"), "1 2");
	assert_string_equal(uid_list(f->store, "INBOX", STORE_TEXT_HEADER, "two"), "2");
	assert_int_equal(index_int(f->path, "SELECT fts_next FROM state"), 3);
	append_ok(f->store, "INBOX", "new three", "legacy words", 0);
	assert_string_equal(uid_list(f->store, "INBOX", STORE_TEXT_BODY, "legacy"), "1 2 3");
	assert_int_equal(index_int(f->path, "SELECT count(DISTINCT doc) FROM blob"), 3);
	uint32_t one[] = {1};
	struct store_uids u1 = {one, 1};

	expect(store_expunge(f->store, "INBOX", &u1, 1, NULL, ERR), 0);
	assert_int_equal(index_int(f->path, "SELECT fts_stale FROM state"), 1);
	assert_int_equal(index_int(f->path, "SELECT integrity_check = 'ok' FROM "
					    "pragma_integrity_check"),
			 1);
	index_exec(f->path, STORE_FTS_TEST_CHECK);
}

/* ---------------------------------------------------------------- notify */

static void test_is_current(void **state)
{
	struct fixture *f = *state;
	char *moved = xasprintf("%s/moved", f->tmp);
	struct store *again = NULL;
	char *err = NULL;

	assert_int_equal(store_is_current(f->store), 1);
	/* the directory is replaced: the handle is no longer the store at that path */
	assert_int_equal(rename(f->path, moved), 0);
	assert_int_equal(store_is_current(f->store), 0);
	assert_int_equal(store_open(f->path, &f->opts, &again, &err), 0);
	assert_int_equal(store_is_current(f->store), 0);
	assert_int_equal(store_is_current(again), 1);
	store_close(&again);
	free(moved);
}

static void test_notify_same_process(void **state)
{
	struct fixture *f = *state;
	struct store *other;
	struct pollfd pfd;
	int fd;

	expect(store_open(f->path, &f->opts, &other, ERR), 0);
	char *err = NULL;

	fd = store_notify_fd(f->store, &err);
	assert_true(fd >= 0);
	assert_int_equal(store_notify_fd(f->store, &err), fd);
	pfd.fd = fd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);
	append_ok(other, "INBOX", "wake", "up", 0);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	store_notify_drain(f->store);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	expect(store_subscribe(other, "x", 1, ERR), 0);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	store_notify_drain(f->store);
	/* A read changes nothing and wakes nobody. */
	struct fetched got;

	fetch_all(other, "INBOX", &got);
	assert_int_equal(poll(&pfd, 1, 50), 0);
	store_close(&other);
}

/*
 * A delivery opens, appends and closes: the WAL must not grow without
 * bound (SQLite forgets at the first open what was checkpointed).
 */
static void test_wal_bounded(void **state)
{
	struct fixture *f = *state;
	struct store *s;
	struct stat st;
	char *wal = xasprintf("%s/index.db-wal", f->path);
	off_t most = 0;
	int i;

	store_close(&f->store);
	for (i = 0; i < 60; i++) {
		expect(store_open(f->path, &f->opts, &s, ERR), 0);
		append_ok(s, "INBOX", "wal", "some text for the index", 0);
		store_close(&s);
		assert_int_equal(stat(wal, &st), 0);
		if (st.st_size > most)
			most = st.st_size;
	}
	/* 60 appends write far more than this; the checkpoint empties the WAL. */
	assert_true(most < 2 * 1024 * 1024);
	expect(store_open(f->path, &f->opts, &f->store, ERR), 0);
	struct fetched got;

	fetch_all(f->store, "INBOX", &got);
	assert_int_equal(got.count, 60);
	free(wal);
}

/* -------------------------------------------------------------------- gc */

/* touch_blob - a file in blobs/ with a store name that no row refers to. */
static char *touch_blob(const char *path, const char *name)
{
	char *file = xasprintf("%s/blobs/%s/%s", path, name + 14, name);
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "orphan\r\n", 8), 8);
	close(fd);
	return file;
}

static void test_gc(void **state)
{
	struct fixture *f = *state;
	struct store_gc_stats st;
	struct store_blob *blob;
	char *orphan, *other = xasprintf("%s/blobs/00/not-a-blob", f->path);
	char *blobs = xasprintf("%s/blobs", f->path), *tmpdir = xasprintf("%s/tmp", f->path);
	int fd;

	append_ok(f->store, "INBOX", "kept", "x", 0);
	orphan = touch_blob(f->path, "00000000000000a1");
	fd = open(other, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	/* A delivery that crashed while writing: its temporary file stays. */
	pid_t pid = fork();

	if (pid == 0) {
		char *big = xcalloc(1, 100000), *err = NULL;

		if (store_blob_create(f->store, &blob, &err) < 0 ||
		    store_blob_write(blob, big, 100000, &err) < 0)
			_exit(1);
		_exit(0);
	}
	assert_true(pid > 0);
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(count_files(tmpdir), 1);

	/* Young files are left alone. */
	expect(store_gc(f->store, 3600, &st, ERR), 0);
	assert_int_equal(st.orphans, 0);
	assert_int_equal(st.temp_files, 0);
	assert_int_equal(count_files(blobs), 3);

	expect(store_gc(f->store, 0, &st, ERR), 0);
	assert_int_equal(st.orphans, 1);
	assert_int_equal(st.temp_files, 1);
	assert_int_equal(st.bytes, 8 + 100000);
	assert_int_equal(access(orphan, F_OK), -1);
	assert_int_equal(access(other, F_OK), 0); /* not the store's: left */
	assert_int_equal(count_files(blobs), 2);
	assert_int_equal(count_files(tmpdir), 0);

	/* The message's blob is referenced: kept, and still readable. */
	struct fetched got;

	fetch_all(f->store, "INBOX", &got);
	assert_int_equal(got.count, 1);
	free(orphan);

	/* At open: once gc_interval passed since the last collection. */
	struct store_options opts = f->opts;
	struct store *s;
	sqlite3 *db;
	char *file = xasprintf("%s/index.db", f->path);

	orphan = touch_blob(f->path, "00000000000000b2");
	opts.gc_interval = 3600;
	opts.gc_min_age = 0;
	expect(store_open(f->path, &opts, &s, ERR), 0);
	store_close(&s);
	assert_int_equal(access(orphan, F_OK), 0); /* collected at creation: not due */
	assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE state SET gc_time = 0", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	expect(store_open(f->path, &opts, &s, ERR), 0);
	assert_int_equal(access(orphan, F_OK), -1);
	store_close(&s);
	free(orphan);
	orphan = touch_blob(f->path, "00000000000000c3");
	expect(store_open(f->path, &opts, &s, ERR), 0);
	store_close(&s);
	assert_int_equal(access(orphan, F_OK), 0); /* once per interval */
	free(orphan);
	free(file);
	free(other);
	free(blobs);
	free(tmpdir);
}

static void test_missing_damaged_blob(void **state)
{
	struct fixture *f = *state;
	struct one o = {0};
	struct store_mailboxes list;
	struct fetched got;
	char *file;
	uint32_t l[] = {1, 2};
	struct store_uids uids = {l, 2};

	append_ok(f->store, "INBOX", "gone", "x", 0);
	append_ok(f->store, "INBOX", "damaged", "x", 0);
	expect(store_fetch(f->store, "INBOX", 1, 1, STORE_FETCH_META, keep_fn, &o, ERR), 0);
	file = xasprintf("%s/blobs/%s/%s", f->path, o.m.blob + 14, o.m.blob);
	assert_int_equal(unlink(file), 0);
	free(file);
	expect(store_blob_open(f->store, o.m.blob, ERR), STORE_ERR_NOTFOUND);
	store_message_free(&o.m);
	expect(store_fetch(f->store, "INBOX", 2, 2, STORE_FETCH_META, keep_fn, &o, ERR), 0);
	file = xasprintf("%s/blobs/%s/%s", f->path, o.m.blob + 14, o.m.blob);
	assert_int_equal(truncate(file, 3), 0);
	free(file);
	store_message_free(&o.m);

	expect(store_mailbox_list(f->store, &list, ERR), 0);
	assert_int_equal(list.items[0].messages, 2);
	store_mailboxes_free(&list);
	fetch_all(f->store, "INBOX", &got);
	assert_int_equal(got.count, 2);
	o.calls = 0;
	expect(store_fetch(f->store, "INBOX", 1, 0, 0x3f, keep_fn, &o, ERR), 0);
	assert_int_equal(o.calls, 2);
	store_message_free(&o.m);
	assert_int_equal(search(f->store, "INBOX", STORE_TEXT_HEADER, "damaged", NULL), 1);
	expect(store_copy(f->store, "INBOX", &uids, "Archive", 0, NULL, NULL, NULL, ERR), 0);
	expect(store_expunge(f->store, "INBOX", &uids, 1, NULL, ERR), 0);
	expect(store_expunge(f->store, "Archive", &uids, 1, NULL, ERR), 0);
	char *blobs = xasprintf("%s/blobs", f->path);

	assert_int_equal(count_files(blobs), 0);
	free(blobs);
}

/* ------------------------------------------------------------- reentrancy */

struct nested {
	struct store *store;
	int calls, inner;
	int write_ret;
};

static int nested_fn(const struct store_message *msg, void *ctx)
{
	struct nested *n = ctx;
	struct fetched inner;
	char *err = NULL;

	(void)msg;
	n->calls++;
	fetch_all(n->store, "INBOX", &inner);
	n->inner += (int)inner.count;
	n->write_ret = store_subscribe(n->store, "during", 1, &err);
	free(err);
	return n->calls == 2 ? -1 : 0;
}

static void test_fetch_callback_reentry(void **state)
{
	struct fixture *f = *state;
	struct nested n = {f->store, 0, 0, 0};
	uint64_t size;

	append_ok(f->store, "INBOX", "n1", "x", 0);
	append_ok(f->store, "INBOX", "n2", "x", 0);
	append_ok(f->store, "INBOX", "n3", "x", 0);
	expect(store_fetch(f->store, "INBOX", 1, 0, STORE_FETCH_FLAGS, nested_fn, &n, ERR), 0);
	assert_int_equal(n.calls, 2); /* stopped by the callback */
	assert_int_equal(n.inner, 6);
	assert_int_equal(n.write_ret, STORE_ERR_INVALID);
	/* After the fetch, writes work again. */
	expect(store_subscribe(f->store, "after", 1, ERR), 0);
	expect(store_index_size(f->store, &size, ERR), 0);
	assert_true(size > 4096);
	expect(store_fetch(f->store, "INBOX", 5, 9, 0, collect_fn, &(struct fetched){0}, ERR), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_create_modes, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_defaults, fixture_setup, fixture_teardown),
	    cmocka_unit_test(test_options_from_conf),
	    cmocka_unit_test_setup_teardown(test_names, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_mailbox_create_list, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_mailbox_delete, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_mailbox_rename, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_special_use_subscriptions_recent, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_append_fetch_cached, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_set_uidvalidity, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_append_uids_and_errors, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_large_and_broken_messages, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_flags_and_changes, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_copy_move_expunge_blobs, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_quota, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_search, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_search_text_limit, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_fts_rebuild, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_fts_rebuild_resumed, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_upgrade_v1, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_is_current, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_notify_same_process, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_wal_bounded, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_gc, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_missing_damaged_blob, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_fetch_callback_reentry, fixture_setup,
					    fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
