/*
 * store - one user's mailboxes: the API that lmtp, imapd, pop3d,
 * managesieved and ternadmin share. No SQL outside store/.
 *
 * On disk (DESIGN.md section 5), in the account's store path:
 *   index.db   SQLite in WAL mode (synchronous=FULL): mailboxes,
 *              subscriptions, messages with their cached IMAP data, the
 *              record of expunged UIDs (for QRESYNC), quota usage, and two
 *              FTS5 tables that list, for each word of the header fields and
 *              of the decoded text parts, the blobs that hold it (neither
 *              the text nor the words' positions);
 *   blobs/     message files, named by the store, in 256 subdirectories;
 *              written under tmp/, fsync'd, renamed, the directory fsync'd,
 *              and never modified after; CR LF line ends, exactly the bytes
 *              IMAP serves (RFC822.SIZE is the file's size);
 *   tmp/       blobs being written;
 *   notify     a file that every committed change writes to, so that
 *              other processes watching it with inotify wake at once;
 *   lock       a file that writers lock (flock) around their transaction.
 * The directory and everything in it is created on first use (mode 0700),
 * with INBOX and the special-use mailboxes Drafts, Sent, Junk, Trash and
 * Archive (RFC 6154), all subscribed.
 *
 * Durability: a change is on disk when the call that makes it returns 0.
 * store_append() returns only after the blob is fsync'd and renamed (and
 * its directory fsync'd) and the transaction that adds its row committed.
 * A crash between the two leaves a blob that no row references: an orphan,
 * which store_gc() removes (store_open() runs it at most once per
 * gc_interval). Expunging drops rows; a blob that no row references any
 * more is removed once the transaction has committed. Its words stay
 * listed in the full-text tables, under a document number that no message
 * has any more, until store_gc() rebuilds them.
 *
 * Concurrency: any number of processes may open one store at once; each
 * call that changes state is one transaction (the lock file, then BEGIN
 * IMMEDIATE, each waited for up to busy_timeout_ms), so UIDs are given in
 * strictly increasing order without gaps being reused, and MODSEQs grow
 * with every change of a mailbox. The blob's file is written and fsync'd
 * before the lock is taken: a writer holds it for the index transaction
 * only. Readers take no lock.
 *
 * Mailbox names are UTF-8 (NFC not enforced), hierarchy separator '/': no
 * empty component, no leading or trailing '/', no control characters, at
 * most STORE_NAME_MAX bytes. "INBOX" is matched without regard to case and
 * always stored as "INBOX". Creating "a/b" creates "a" when it is missing.
 *
 * Errors: calls return 0 (or a count, where documented) on success and a
 * negative enum store_error on failure, with *error_r set to a malloc'd
 * message for logs (the protocol daemons map the kind to their own replies).
 */
#ifndef TERN_STORE_H
#define TERN_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define STORE_NAME_MAX 1024
/* Most keywords per mailbox (IMAP PERMANENTFLAGS stays finite). */
#define STORE_KEYWORDS_MAX 256

enum store_error {
	STORE_ERR_TEMP = -1,	  /* I/O error, database busy or damaged: try again later */
	STORE_ERR_NOTFOUND = -2,  /* no such mailbox (or message) */
	STORE_ERR_EXISTS = -3,	  /* the mailbox already exists */
	STORE_ERR_OVERQUOTA = -4, /* the change would exceed the quota */
	STORE_ERR_INVALID = -5,	  /* a bad name or argument (e.g. a UID below UIDNEXT) */
	STORE_ERR_NOTALLOWED = -6 /* e.g. deleting INBOX, renaming into itself */
};

/* System flags (IMAP); keywords are kept as strings. */
#define STORE_SEEN (1u << 0)
#define STORE_ANSWERED (1u << 1)
#define STORE_FLAGGED (1u << 2)
#define STORE_DELETED (1u << 3)
#define STORE_DRAFT (1u << 4)
#define STORE_FLAGS_ALL 0x1fu

/* Special-use attributes (RFC 6154). */
#define STORE_USE_DRAFTS (1u << 0)
#define STORE_USE_SENT (1u << 1)
#define STORE_USE_JUNK (1u << 2)
#define STORE_USE_TRASH (1u << 3)
#define STORE_USE_ARCHIVE (1u << 4)
#define STORE_USE_ALL (1u << 5)
#define STORE_USE_FLAGGED (1u << 6)

struct store;

struct store_options {
	uint64_t quota_bytes;	 /* 0: unlimited */
	uint64_t quota_messages; /* 0: unlimited */
	int create;		 /* 1: create the store when it does not exist */
	size_t fts_text_limit;	 /* most bytes of text indexed per message; 0: no limit */
	int busy_timeout_ms;	 /* how long to wait for another writer; 0: 30000 */
	time_t gc_interval;	 /* orphan collection at open at most this often; 0: never */
	time_t gc_min_age;	 /* orphans younger than this are left alone (in-flight) */
};

/*
 * store_options_from_conf - the options that main.cf sets: fts_text_limit
 * (store_fts_text_limit), busy_timeout_ms (store_busy_timeout),
 * gc_interval (store_gc_interval) and gc_min_age (store_orphan_age); the
 * quota and create fields are zeroed (they come from the directory).
 */
struct mail_conf;
void store_options_from_conf(const struct mail_conf *conf, struct store_options *opts);

/*
 * store_open - open the store in directory path (the account's store_path).
 * STORE_ERR_NOTFOUND when it does not exist and opts->create is 0.
 */
int store_open(const char *path, const struct store_options *opts, struct store **store_r,
	       char **error_r);
void store_close(struct store **store);

/*
 * store_is_current - 1 when the directory at the store's path is still the
 * one this handle opened (not removed or replaced, e.g. by "ternadmin user
 * del"), so that a process may keep a handle open across deliveries; 0
 * otherwise (close it and open again).
 */
int store_is_current(struct store *store);

/* store_set_quota - change the limits of an open store (0: unlimited). */
void store_set_quota(struct store *store, uint64_t quota_bytes, uint64_t quota_messages);

/* store_quota_usage - bytes and messages used now, over all mailboxes. */
int store_quota_usage(struct store *store, uint64_t *bytes_r, uint64_t *messages_r, char **error_r);

/* ----------------------------------------------------------------- mailboxes */

struct store_mailbox {
	char *name;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint32_t first_recent_uid; /* messages from this UID on are \Recent for the next taker */
	unsigned special_use;	   /* STORE_USE_* */
	int subscribed;
	int noselect; /* deleted, but kept because it has children */
	uint32_t messages;
	uint32_t unseen;  /* without \Seen */
	uint32_t deleted; /* with \Deleted */
	uint64_t size;	  /* bytes of its messages */
};

struct store_mailboxes {
	struct store_mailbox *items; /* sorted by name (bytewise, INBOX first) */
	size_t count;
};

/* store_mailbox_get - one mailbox with its counts. */
int store_mailbox_get(struct store *store, const char *name, struct store_mailbox *result,
		      char **error_r);
void store_mailbox_free(struct store_mailbox *mailbox);

/* store_mailbox_list - every mailbox with its counts. */
int store_mailbox_list(struct store *store, struct store_mailboxes *result, char **error_r);
void store_mailboxes_free(struct store_mailboxes *list);

/*
 * store_mailbox_create - a new mailbox (and its missing parents) with
 * special-use attributes; uidvalidity 0 picks one (import passes the old
 * one to keep UIDs valid). Creating a noselect mailbox makes it selectable.
 */
int store_mailbox_create(struct store *store, const char *name, unsigned special_use,
			 uint32_t uidvalidity, char **error_r);

/*
 * store_mailbox_delete - remove a mailbox and its messages. One with
 * children becomes noselect instead; INBOX: STORE_ERR_NOTALLOWED.
 */
int store_mailbox_delete(struct store *store, const char *name, char **error_r);

/*
 * store_mailbox_rename - rename a mailbox and its children (new
 * UIDVALIDITY is not needed: UIDs stay). Renaming INBOX moves its messages
 * to a new mailbox new_name and leaves INBOX empty (RFC 9051 6.3.6).
 */
int store_mailbox_rename(struct store *store, const char *old_name, const char *new_name,
			 char **error_r);

/*
 * store_mailbox_set_uidvalidity - give a mailbox that never held a message
 * (UIDNEXT 1) the UIDVALIDITY it had elsewhere, so that an import keeps
 * the UIDs that clients (and POP3 UIDLs) know; STORE_ERR_NOTALLOWED once
 * the mailbox has given out a UID. INBOX exists from the start: this is
 * how an import keeps its UIDVALIDITY.
 */
int store_mailbox_set_uidvalidity(struct store *store, const char *name, uint32_t uidvalidity,
				  char **error_r);

/*
 * store_mailbox_raise_uidnext - make UIDNEXT at least uidnext (it never
 * goes down), so that an import does not give again UIDs that the old
 * server had given out.
 */
int store_mailbox_raise_uidnext(struct store *store, const char *name, uint32_t uidnext,
				char **error_r);

/* store_mailbox_set_special_use - replace a mailbox's special-use attributes. */
int store_mailbox_set_special_use(struct store *store, const char *name, unsigned special_use,
				  char **error_r);

/* store_subscribe - (un)subscribe a name; it need not exist (RFC 9051 6.3.7). */
int store_subscribe(struct store *store, const char *name, int subscribe, char **error_r);

/* store_subscriptions - the subscribed names, sorted; free with store_names_free(). */
int store_subscriptions(struct store *store, char ***names_r, size_t *count_r, char **error_r);
void store_names_free(char **names, size_t count);

/*
 * store_take_recent - for IMAP4rev1's \Recent: *first_r is the first UID
 * that is recent for this session, and the mailbox's first_recent_uid moves
 * to UIDNEXT so that no other session sees them as recent.
 */
int store_take_recent(struct store *store, const char *mailbox, uint32_t *first_r, char **error_r);

/* ------------------------------------------------------------------ appending */

/*
 * A blob being written. Its bytes go through the MIME parser as they are
 * written, so that store_append() has the message's structure without
 * reading it again. Write the message with CR LF line ends.
 */
struct store_blob;

int store_blob_create(struct store *store, struct store_blob **blob_r, char **error_r);
int store_blob_write(struct store_blob *blob, const void *data, size_t len, char **error_r);
/* store_blob_discard - drop a blob that will not be appended (and its temp file). */
void store_blob_discard(struct store_blob **blob);

struct store_append {
	const char *mailbox;
	unsigned flags;		     /* STORE_* system flags */
	const char *const *keywords; /* nkeywords keyword names (IMAP atoms) */
	size_t nkeywords;
	time_t internal_date; /* 0: now */
	uint32_t uid;	      /* 0: UIDNEXT; else this UID (>= UIDNEXT), for import */
	int ignore_quota;     /* 1: append even over quota (import by the administrator) */
};

/*
 * store_append - make the blob durable and add it to a mailbox as a new
 * message; consumes *blob (NULL after, whatever the result). *uid_r: its UID.
 * STORE_ERR_OVERQUOTA when it would exceed a limit; STORE_ERR_NOTFOUND when
 * the mailbox does not exist. Special-use mailboxes are created on demand.
 */
int store_append(struct store *store, struct store_blob **blob, const struct store_append *req,
		 uint32_t *uid_r, char **error_r);

/* ------------------------------------------------------------------- messages */

/* What store_fetch() fills in (bits of its fields argument). */
#define STORE_FETCH_FLAGS (1u << 0)	/* flags, keywords, modseq */
#define STORE_FETCH_META (1u << 1)	/* internal_date, save_date, size, blob */
#define STORE_FETCH_ENVELOPE (1u << 2)	/* envelope */
#define STORE_FETCH_STRUCTURE (1u << 3) /* bodystructure, body, partmap, header_size */
#define STORE_FETCH_HEADERS (1u << 4)	/* header_cache */
#define STORE_FETCH_SORT (1u << 5)	/* date_sent, subject, from/to/cc, ids */

struct store_message {
	uint32_t uid;
	uint64_t modseq;
	unsigned flags;
	char *keywords; /* space-separated, or "" */
	time_t internal_date;
	time_t save_date;
	uint64_t size;
	char *blob;	      /* the blob's name, for store_blob_open() */
	char *envelope;	      /* IMAP ENVELOPE */
	char *bodystructure;  /* IMAP BODYSTRUCTURE */
	char *body;	      /* IMAP BODY (non-extended) */
	char *partmap;	      /* see mime_partmap_lookup() */
	uint64_t header_size; /* bytes of the top header, blank line included */
	/*
	 * The top header's most fetched fields, as sent ("Name: value" CR LF
	 * each, in order): STORE_CACHED_FIELDS. A HEADER.FIELDS fetch naming
	 * only these can be served from here.
	 */
	char *header_cache;
	time_t date_sent; /* Date: parsed, or -1 */
	char *subject;	  /* decoded to UTF-8, or "" */
	char *from;	  /* first From address "mailbox@host", or "" */
	char *from_name;  /* its display name decoded, or "" */
	char *to;	  /* first To address, or "" */
	char *to_name;
	char *cc;	   /* first Cc address, or "" */
	char *message_id;  /* raw, or "" */
	char *in_reply_to; /* raw, or "" */
	char *references;  /* raw, or "" */
};

/* The header fields kept in header_cache, lower case, space-separated. */
#define STORE_CACHED_FIELDS                                                                        \
	"from to cc bcc subject date message-id in-reply-to references reply-to sender "           \
	"content-type priority x-priority importance newsgroups list-post"

void store_message_free(struct store_message *msg);

/*
 * store_fetch - call fn for each message of mailbox with lo <= UID <= hi
 * (hi 0: no upper bound), in UID order, with the fields asked for; fn's
 * message is valid during the call only. fn returns 0 to go on, -1 to stop
 * (store_fetch then returns 0). Runs in one read transaction: a consistent
 * snapshot.
 */
typedef int store_fetch_fn(const struct store_message *msg, void *ctx);
int store_fetch(struct store *store, const char *mailbox, uint32_t lo, uint32_t hi, unsigned fields,
		store_fetch_fn *fn, void *ctx, char **error_r);

/*
 * store_changes - what changed in mailbox since modseq: fn for each
 * message with a greater MODSEQ (as store_fetch), and expunged() for each
 * UID expunged after modseq (either may be NULL). Over one snapshot.
 */
typedef void store_expunged_fn(uint32_t uid, void *ctx);
int store_changes(struct store *store, const char *mailbox, uint64_t modseq, unsigned fields,
		  store_fetch_fn *fn, store_expunged_fn *expunged, void *ctx, char **error_r);

/* A set of UIDs, ascending, no duplicates. */
struct store_uids {
	uint32_t *uids;
	size_t count;
};
void store_uids_free(struct store_uids *uids);

enum store_flag_mode { STORE_FLAGS_ADD, STORE_FLAGS_REMOVE, STORE_FLAGS_REPLACE };

/*
 * store_set_flags - change the flags and keywords of the messages with
 * the given UIDs (those that do not exist are skipped). unchangedsince
 * (CONDSTORE; 0: no condition): messages whose MODSEQ is greater are left
 * alone and listed in *failed_r (may be NULL). Each message that actually
 * changed gets a new MODSEQ; *changed_r (may be NULL) lists them.
 */
int store_set_flags(struct store *store, const char *mailbox, const struct store_uids *uids,
		    enum store_flag_mode mode, unsigned flags, const char *const *keywords,
		    size_t nkeywords, uint64_t unchangedsince, struct store_uids *changed_r,
		    struct store_uids *failed_r, char **error_r);

/*
 * store_copy - copy messages to another mailbox, sharing their blobs; with
 * move 1 they leave the source in the same transaction (RFC 6851). The new
 * UIDs are in *dst_uids_r in the order of uids (UIDPLUS COPYUID), and the
 * destination's UIDVALIDITY in *dst_uidvalidity_r. Quota is checked.
 */
int store_copy(struct store *store, const char *mailbox, const struct store_uids *uids,
	       const char *dst_mailbox, int move, struct store_uids *src_uids_r,
	       struct store_uids *dst_uids_r, uint32_t *dst_uidvalidity_r, char **error_r);

/*
 * store_expunge - remove messages: those with the given UIDs that have
 * \Deleted (uids NULL: all that have it), or with force 1 the given UIDs
 * whatever their flags. *expunged_r (may be NULL) lists the UIDs removed.
 * Blobs left without any reference are removed after the commit.
 */
int store_expunge(struct store *store, const char *mailbox, const struct store_uids *uids,
		  int force, struct store_uids *expunged_r, char **error_r);

/* store_blob_open - open a message's blob for reading: a file descriptor, or a store_error. */
int store_blob_open(struct store *store, const char *blob, char **error_r);

/* ------------------------------------------------------------------- search */

enum store_text_where {
	STORE_TEXT_HEADER, /* any header field */
	STORE_TEXT_BODY,   /* decoded text parts */
	STORE_TEXT_ANY	   /* either (IMAP TEXT) */
};

/*
 * store_search_text - the UIDs of mailbox whose indexed text contains every
 * word of needle (UTF-8), the last word as a prefix when the needle ends
 * with it: all in the header fields or all in the text parts (where
 * STORE_TEXT_ANY), in any order and place; case and diacritics are
 * ignored (FTS5 unicode61). Words of fewer than 3 characters are not
 * looked for, and a needle of no longer word matches every message. So
 * the result is a superset of the messages that hold the needle as a
 * phrase: the caller checks those messages itself.
 */
int store_search_text(struct store *store, const char *mailbox, enum store_text_where where,
		      const char *needle, struct store_uids *result, char **error_r);

/* ------------------------------------------------------------------- changes */

/*
 * store_notify_fd - a descriptor (inotify) that becomes readable when any
 * process commits a change to this store; the store keeps and closes it.
 * After it is readable, call store_notify_drain() and then look for changes.
 */
int store_notify_fd(struct store *store, char **error_r);
void store_notify_drain(struct store *store);

/* ------------------------------------------------------------------- upkeep */

struct store_gc_stats {
	size_t orphans;	   /* blob files that no message referenced, removed */
	size_t temp_files; /* abandoned files in tmp/, removed */
	uint64_t bytes;	   /* their size */
};

/*
 * store_gc - remove orphan blobs and abandoned temporary files older than
 * min_age seconds (younger ones may belong to a delivery in progress).
 * Then, when the full-text tables hold more documents of blobs that are
 * gone than blobs, rebuild them from the blobs' files (a batch per short
 * transaction: writers are not held up; an interrupted rebuild goes on at
 * the next call).
 */
int store_gc(struct store *store, time_t min_age, struct store_gc_stats *stats, char **error_r);

/* store_index_size - bytes of index.db and its WAL, for the administrator and benchmarks. */
int store_index_size(struct store *store, uint64_t *bytes_r, char **error_r);

#endif
