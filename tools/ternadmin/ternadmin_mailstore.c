/*
 * ternadmin_mailstore - opening an account's mailbox store for ternadmin
 * (as store_owner when run as root, so that every file it makes belongs
 * to the store's owner), and the commands that look at a store:
 * ternadmin store info|gc.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "tools/ternadmin/ternadmin.h"
#include "tools/ternadmin/ternadmin_mail.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* become_store_owner - as root: drop to store_owner for good. */
static int become_store_owner(struct ternadmin *ta)
{
	const char *user = mail_conf_str(ta->conf, "store_owner");
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		ta_error(ta, "store_owner: unknown user \"%s\"%s%s", user, errno ? ": " : "",
			 errno ? strerror(errno) : "");
		return -1;
	}
	if (pw->pw_uid == 0) {
		ta_error(ta, "store_owner: user \"%s\" has uid 0; it must be an unprivileged user",
			 user);
		return -1;
	}
	if (initgroups(user, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		ta_error(ta, "become store_owner %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || geteuid() != pw->pw_uid)
		msg_panic("privileges were not dropped to uid %ld", (long)pw->pw_uid);
	msg_debug("running as store_owner %s (uid %ld)", user, (long)pw->pw_uid);
	return 0;
}

int ta_mailstore_account(struct ternadmin *ta, const char *address, struct dir_account *acc)
{
	enum dir_result r;
	char *err = NULL;

	if (ta_open(ta, DIR_READ) < 0)
		return -1;
	r = directory_account(ta->dir, address, acc, &err);
	directory_close(&ta->dir);
	if (r != DIR_FOUND) {
		if (r == DIR_ERROR)
			ta_error(ta, "%s", err);
		else
			ta_error(ta, "user %s does not exist", address);
		free(err);
		return -1;
	}
	if (become_store_owner(ta) < 0) {
		dir_account_free(acc);
		return -1;
	}
	return 0;
}

int ta_mailstore_open(struct ternadmin *ta, const struct dir_account *acc, int create,
		      struct store **store_r)
{
	struct store_options opts;
	char *err = NULL;
	int ret;

	store_options_from_conf(ta->conf, &opts);
	opts.quota_bytes = acc->quota_bytes;
	opts.quota_messages = acc->quota_messages;
	opts.create = create;
	if ((ret = store_open(acc->store_path, &opts, store_r, &err)) < 0) {
		if (ret == STORE_ERR_NOTFOUND)
			ta_error(ta, "user %s has no mail store yet (%s does not exist)",
				 acc->address, acc->store_path);
		else
			ta_error(ta, "%s", err);
		free(err);
		*store_r = NULL;
		return -1;
	}
	return 0;
}

/* open_existing - the account and its store, which must exist. */
static int open_existing(struct ternadmin *ta, const char *address, struct dir_account *acc,
			 struct store **store_r)
{
	if (ta_mailstore_account(ta, address, acc) < 0)
		return -1;
	if (ta_mailstore_open(ta, acc, 0, store_r) < 0) {
		dir_account_free(acc);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ store info */

static const struct {
	unsigned bit;
	const char *name;
} special_uses[] = {{STORE_USE_ALL, "\\All"},	    {STORE_USE_ARCHIVE, "\\Archive"},
		    {STORE_USE_DRAFTS, "\\Drafts"}, {STORE_USE_FLAGGED, "\\Flagged"},
		    {STORE_USE_JUNK, "\\Junk"},	    {STORE_USE_SENT, "\\Sent"},
		    {STORE_USE_TRASH, "\\Trash"}};

/* special_use_text - the attributes, space-separated (malloc'd; "" for none). */
static char *special_use_text(unsigned use, int json)
{
	struct strbuf out = STRBUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(special_uses) / sizeof(special_uses[0]); i++) {
		if (!(use & special_uses[i].bit))
			continue;
		if (json) {
			if (out.len > 0)
				strbuf_putc(&out, ',');
			ta_json_str(&out, special_uses[i].name);
		} else {
			if (out.len > 0)
				strbuf_putc(&out, ' ');
			strbuf_puts(&out, special_uses[i].name);
		}
	}
	return out.len > 0 ? strbuf_detach(&out) : xstrdup("");
}

/* info_row - one mailbox as a table row and a JSON object. */
static void info_row(struct ta_table *t, struct strbuf *json, const struct store_mailbox *mb,
		     int first)
{
	char msgs[32], unseen[32], size[32], uv[32], next[32],
	    *use = special_use_text(mb->special_use, 0), *juse;

	snprintf(msgs, sizeof(msgs), "%u", mb->messages);
	snprintf(unseen, sizeof(unseen), "%u", mb->unseen);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)mb->size);
	snprintf(uv, sizeof(uv), "%u", mb->uidvalidity);
	snprintf(next, sizeof(next), "%u", mb->uidnext);
	ta_table_row(t, (const char *const[]){mb->name, mb->noselect ? "-" : msgs,
					      mb->noselect ? "-" : unseen, size, uv, next,
					      mb->subscribed ? "yes" : "no", use});
	free(use);
	juse = special_use_text(mb->special_use, 1);
	strbuf_puts(json, first ? "{\"name\":" : ",{\"name\":");
	ta_json_str(json, mb->name);
	strbuf_printf(json,
		      ",\"messages\":%u,\"unseen\":%u,\"deleted\":%u,\"size\":%llu,"
		      "\"uidvalidity\":%u,\"uidnext\":%u,\"highestmodseq\":%llu,"
		      "\"subscribed\":%s,\"noselect\":%s,\"special_use\":[%s]}",
		      mb->messages, mb->unseen, mb->deleted, (unsigned long long)mb->size,
		      mb->uidvalidity, mb->uidnext, (unsigned long long)mb->highestmodseq,
		      mb->subscribed ? "true" : "false", mb->noselect ? "true" : "false", juse);
	free(juse);
}

/* print_usage - the quota usage and the index size, after the table. */
static void print_usage(const struct dir_account *acc, uint64_t bytes, uint64_t messages,
			uint64_t index)
{
	char *limit = ta_format_size(acc->quota_bytes);

	printf("quota: %llu bytes of %s", (unsigned long long)bytes, limit);
	if (acc->quota_bytes != 0)
		printf(" (%.1f%%)", 100.0 * (double)bytes / (double)acc->quota_bytes);
	printf(", %llu messages of ", (unsigned long long)messages);
	if (acc->quota_messages != 0)
		printf("%llu (%.1f%%)\n", (unsigned long long)acc->quota_messages,
		       100.0 * (double)messages / (double)acc->quota_messages);
	else
		printf("unlimited\n");
	printf("index: %llu bytes\n", (unsigned long long)index);
	free(limit);
}

static int store_info(struct ternadmin *ta, int argc, char **argv)
{
	const char *headers[] = {"MAILBOX",	"MESSAGES", "UNSEEN",	  "SIZE",
				 "UIDVALIDITY", "UIDNEXT",  "SUBSCRIBED", "SPECIAL-USE"};
	const struct ta_option opts[] = {{NULL, NULL, NULL}};
	struct store_mailboxes list;
	struct dir_account acc;
	struct store *store;
	struct strbuf json = STRBUF_INIT;
	struct ta_table *t;
	uint64_t bytes, messages, index;
	char **args, *err = NULL;
	int n, status;
	size_t i;

	if ((status = ta_parse(ta, argc, argv, opts, 1, 1, &args, &n)) != TA_OK)
		return status;
	status = TA_FAIL;
	if (open_existing(ta, args[0], &acc, &store) < 0) {
		free(args);
		return TA_FAIL;
	}
	if (store_mailbox_list(store, &list, &err) < 0 ||
	    store_quota_usage(store, &bytes, &messages, &err) < 0 ||
	    store_index_size(store, &index, &err) < 0) {
		ta_error(ta, "%s", err);
		free(err);
	} else {
		t = ta_table_new(8, headers);
		strbuf_puts(&json, "{\"address\":");
		ta_json_str(&json, acc.address);
		strbuf_puts(&json, ",\"store_path\":");
		ta_json_str(&json, acc.store_path);
		strbuf_puts(&json, ",\"mailboxes\":[");
		for (i = 0; i < list.count; i++)
			info_row(t, &json, &list.items[i], i == 0);
		strbuf_printf(&json,
			      "],\"quota\":{\"bytes\":%llu,\"messages\":%llu,\"bytes_limit\":%llu,"
			      "\"messages_limit\":%llu},\"index_bytes\":%llu}\n",
			      (unsigned long long)bytes, (unsigned long long)messages,
			      (unsigned long long)acc.quota_bytes,
			      (unsigned long long)acc.quota_messages, (unsigned long long)index);
		if (!ta->json)
			printf("%s: %s\n", acc.address, acc.store_path);
		ta_list_output(ta, &t, &json);
		if (!ta->json)
			print_usage(&acc, bytes, messages, index);
		store_mailboxes_free(&list);
		status = TA_OK;
	}
	store_close(&store);
	dir_account_free(&acc);
	free(args);
	return status;
}

/* -------------------------------------------------------------- store gc */

static int store_gc_cmd(struct ternadmin *ta, int argc, char **argv)
{
	const char *min_age = NULL;
	const struct ta_option opts[] = {{"min-age", &min_age, NULL}, {NULL, NULL, NULL}};
	struct store_gc_stats stats;
	struct store_options sopts;
	struct dir_account acc;
	struct store *store;
	char **args, *err = NULL, *end, o[32], t[32], b[32];
	long long age;
	int n, status;

	if ((status = ta_parse(ta, argc, argv, opts, 1, 1, &args, &n)) != TA_OK)
		return status;
	store_options_from_conf(ta->conf, &sopts);
	age = (long long)sopts.gc_min_age;
	if (min_age != NULL) {
		errno = 0;
		age = strtoll(min_age, &end, 10);
		if (end == min_age || *end != '\0' || age < 0 || errno != 0) {
			free(args);
			return ta_usage_error(ta, "bad --min-age \"%s\": use a number of seconds",
					      min_age);
		}
	}
	if (open_existing(ta, args[0], &acc, &store) < 0) {
		free(args);
		return TA_FAIL;
	}
	memset(&stats, 0, sizeof(stats));
	status = TA_FAIL;
	if (store_gc(store, (time_t)age, &stats, &err) < 0) {
		ta_error(ta, "%s", err);
		free(err);
	} else {
		snprintf(o, sizeof(o), "%zu", stats.orphans);
		snprintf(t, sizeof(t), "%zu", stats.temp_files);
		snprintf(b, sizeof(b), "%llu", (unsigned long long)stats.bytes);
		ta_changed(ta, "store collected",
			   (const char *const[]){"address", acc.address, "orphans", o, "temp_files",
						 t, "bytes", b, NULL});
		status = TA_OK;
	}
	store_close(&store);
	dir_account_free(&acc);
	free(args);
	return status;
}

int ta_store(struct ternadmin *ta, const char *verb, int argc, char **argv)
{
	if (strcmp(verb, "info") == 0)
		return store_info(ta, argc, argv);
	if (strcmp(verb, "gc") == 0)
		return store_gc_cmd(ta, argc, argv);
	return ta_usage_error(ta, "unknown command: use store info or store gc");
}
