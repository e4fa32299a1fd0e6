/*
 * ternadmin_mail - what ternadmin's import, export and store commands
 * share: opening an account's store (as store_owner when run as root), the
 * Maildir and mbox formats, folder names in modified UTF-7, line-end
 * conversion and the progress bar.
 *
 * Every function that can fail returns 0 or -1 with *error_r malloc'd
 * (the caller frees), unless it says otherwise.
 */
#ifndef TERN_TERNADMIN_MAIL_H
#define TERN_TERNADMIN_MAIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "mail/directory.h"
#include "store/store.h"
#include "util/strbuf.h"

struct ternadmin;

/* ------------------------------------------------------------ the store */

/*
 * ta_mailstore_account - fetch the account address from the directory into
 * *acc, close the directory, and become store_owner when running as root
 * (initgroups, setgid, setuid: for good). Returns 0 (the caller frees acc
 * with dir_account_free()), or -1 after reporting the problem.
 */
int ta_mailstore_account(struct ternadmin *ta, const char *address, struct dir_account *acc);

/*
 * ta_mailstore_open - open the store of acc with its quotas (create: make
 * the store when it does not exist yet). Returns 0, or -1 after reporting
 * the problem.
 */
int ta_mailstore_open(struct ternadmin *ta, const struct dir_account *acc, int create,
		      struct store **store_r);

/* ta_keyword_valid - whether s is a keyword the store takes (an IMAP atom not starting '\'). */
int ta_keyword_valid(const char *s);

/* ta_mailbox_name_join - "prefix/name", or name when prefix is NULL (malloc'd). */
char *ta_mailbox_name_join(const char *prefix, const char *name);

/* --------------------------------------------------- modified UTF-7 names */

/*
 * ta_mutf7_decode - a folder name (or one component) written in IMAP's
 * modified UTF-7 (RFC 3501 5.1.3) into UTF-8, appended to out. Returns -1
 * (out unchanged) when the text is not modified UTF-7; a shifted run may
 * hold printable ASCII (ternadmin writes '.' that way in Maildir++ names).
 */
int ta_mutf7_decode(const char *in, size_t len, struct strbuf *out);

/*
 * ta_mutf7_encode - UTF-8 into modified UTF-7, appended to out; the ASCII
 * characters in also (may be NULL) are encoded in a shifted run as well.
 * Returns -1 (out unchanged) when in is not valid UTF-8.
 */
int ta_mutf7_encode(const char *in, size_t len, const char *also, struct strbuf *out);

/* ta_utf8_repair - in with each byte that is not part of valid UTF-8 replaced by U+FFFD. */
char *ta_utf8_repair(const char *in, size_t len, int *changed_r);

/* ------------------------------------------------------------- line ends */

/*
 * A message on its way into a blob: bare LF line ends become CR LF (a CR
 * LF stays as it is), written to the blob in large pieces.
 */
struct ta_crlf {
	struct store_blob *blob;
	struct strbuf buf;
	int last_cr;	/* the last byte taken was a CR */
	uint64_t bytes; /* written to the blob, after conversion */
};

void ta_crlf_init(struct ta_crlf *w, struct store_blob *blob);
int ta_crlf_write(struct ta_crlf *w, const void *data, size_t len, char **error_r);
/* ta_crlf_flush - write what is buffered; call before store_append(). */
int ta_crlf_flush(struct ta_crlf *w, char **error_r);
void ta_crlf_free(struct ta_crlf *w);

/*
 * ta_lf_convert - the reverse for export: append data to out with each CR
 * LF as LF. *pending_cr carries a CR that ended the previous piece (start
 * with 0; after the last piece, a pending CR is appended by passing len 0
 * with final 1).
 */
void ta_lf_convert(const char *data, size_t len, int *pending_cr, int final, struct strbuf *out);

/* ------------------------------------------------------------- progress */

/*
 * A progress bar on standard error, drawn only when standard error is a
 * terminal: units done of total (messages, or bytes of an mbox file), the
 * messages done and their rate; redrawn at most ten times a second.
 */
struct ta_progress;

/* ta_progress_new - what: "importing", "exporting"; total units (0: unknown). */
struct ta_progress *ta_progress_new(const char *what, uint64_t total, int bytes);
/* ta_progress_add_total - more units are known to come. */
void ta_progress_add_total(struct ta_progress *p, uint64_t units);
void ta_progress_update(struct ta_progress *p, uint64_t units_done, uint64_t messages);
/* ta_progress_elapsed - seconds since ta_progress_new(). */
double ta_progress_elapsed(const struct ta_progress *p);
/* ta_progress_free - erase the bar and free. */
void ta_progress_free(struct ta_progress **p);
/* ta_progress_clear - erase the bar before something else is printed on standard error. */
void ta_progress_clear(struct ta_progress *p);
/*
 * ta_skip_report - import or export passes something over: erase the bar
 * p (may be NULL), write "<text>: skipped" on standard error and log
 * "<op>: address=<address>: <text>: skipped" (text from fmt and ap).
 * Defined in ternadmin_import.c.
 */
void ta_skip_report(const struct ternadmin *ta, struct ta_progress *p, const char *op,
		    const char *address, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/* --------------------------------------------------------------- Maildir */

/* Maildir info flags (":2,<flags>") with their system flags; lower case letters are keywords. */
#define MD_KEYWORDS_MAX 26

/* A message file of a Maildir folder. */
struct md_message {
	char *name;	  /* the file name, in cur/ or new/ */
	int in_new;	  /* 1: in new/ */
	uint32_t uid;	  /* from dovecot-uidlist, or 0 */
	unsigned flags;	  /* STORE_* */
	uint32_t letters; /* keyword letters a-z (bit 0: a) */
	int forwarded;	  /* the P flag */
	time_t time;	  /* the time in the file name, or its mtime: the order without UIDs */
};

/* A folder: INBOX (the Maildir itself) or a Maildir++ ".Name.Sub" directory. */
struct md_folder {
	char *name;	      /* UTF-8, '/' between levels; "INBOX" for the root */
	char *dir;	      /* its directory */
	uint32_t uidvalidity; /* from dovecot-uidlist, or 0 */
	uint32_t uidnext;     /* from dovecot-uidlist (at least the last UID + 1), or 0 */
	char *keywords[MD_KEYWORDS_MAX]; /* from dovecot-keywords: letter -> name, or NULL */
	struct md_message *msgs;	 /* in import order: by UID, then by time */
	size_t count, size;
	size_t skipped; /* files that are not messages (reported) */
};

struct md_maildir {
	struct md_folder *folders; /* INBOX first, then by name */
	size_t count;
	char **subscriptions; /* UTF-8 names from the subscriptions file */
	size_t nsubscriptions;
	size_t messages; /* over all folders */
};

/*
 * md_read - find the folders and messages of the Maildir at root, with what
 * dovecot-uidlist, dovecot-keywords and subscriptions say. Problems that
 * only touch one file or line are reported as warnings (ta_warn) and
 * counted in *skipped_r when a message is lost by them; -1 only when root
 * cannot be read at all.
 */
int md_read(struct ternadmin *ta, const char *root, struct md_maildir *md, size_t *skipped_r,
	    char **error_r);
void md_free(struct md_maildir *md);

/* md_folder_dir_name - the Maildir++ directory name (".Name.Sub") of a mailbox (malloc'd). */
char *md_folder_dir_name(const char *mailbox);

/*
 * md_file_name - the name of an exported message file without its info:
 * "<time>.M<usec>P<pid>.<host>,S=<size>,W=<crlf size>" (malloc'd).
 */
char *md_file_name(time_t time, unsigned usec, long pid, const char *host, uint64_t size,
		   uint64_t crlf_size);

/*
 * md_info - ":2," and the flags of a message, in Dovecot's order: system
 * flags D F R S T, then keyword letters (malloc'd).
 */
char *md_info(unsigned flags, uint32_t letters);

/* md_hostname - this host's name as Maildir file names take it ('/' and ':' escaped). */
char *md_hostname(void);

/* ------------------------------------------------------------------ mbox */

/* A message of an mbox file, as the reader hands it over. */
struct mbox_message {
	time_t date;	 /* from the From_ line (0: none could be read) */
	unsigned flags;	 /* Status: and X-Status: */
	char **keywords; /* X-Keywords: */
	size_t nkeywords;
	uint32_t uid;	 /* X-UID:, or 0 */
	uint64_t offset; /* where its From_ line starts */
	size_t line;	 /* the line number of its From_ line */
};

/*
 * The reader calls, for each message, begin (with the header parsed) and
 * then data for its bytes with the mbox headers removed, ">From" unquoted
 * (mboxrd) and LF line ends, then end. A pseudo message (Dovecot's
 * X-IMAP: folder data) is not handed over. begin and data return 0, or -1
 * to skip the rest of this message (end is then called with skipped 1).
 */
struct mbox_reader_ops {
	int (*begin)(const struct mbox_message *msg, void *ctx);
	int (*data)(const char *data, size_t len, void *ctx);
	void (*end)(const struct mbox_message *msg, int skipped, void *ctx);
};

struct mbox_folder_info {
	uint32_t uidvalidity; /* from X-IMAPbase: or X-IMAP:, or 0 */
	uint32_t uidnext;
};

/*
 * mbox_read - read the mbox fp (named path in messages) and hand its
 * messages to ops. *info is filled from the first message's X-IMAPbase:
 * before the first begin. Returns 0, or -1 when the file cannot be read
 * (an I/O error) or does not begin with a From_ line.
 */
int mbox_read(FILE *fp, const char *path, const struct mbox_reader_ops *ops, void *ctx,
	      struct mbox_folder_info *info, char **error_r);

/* mbox_parse_from_date - the date of a From_ line's text after "From "; -1 when there is none. */
time_t mbox_parse_from_date(const char *line, size_t len);

/* mbox_is_reserved_field - whether a header field name is one the mbox format keeps to itself. */
int mbox_is_reserved_field(const char *name, size_t len);

/*
 * An mboxrd writer: one file, messages appended one after the other.
 */
struct mbox_writer {
	FILE *fp;
	const char *path;
	int first; /* the next message is the first: it gets X-IMAPbase: */
	uint32_t uidvalidity, uidnext;
	const char *keywords; /* the mailbox's keywords, space-separated, for X-IMAPbase: */
};

/*
 * mbox_write_message - append the message read from fd (CR LF line ends, as
 * in the store) with its From_ line (date, sender from Return-Path:) and
 * the headers that keep its flags, keywords and UID; mboxrd quoting.
 * Returns 0; -1 when the blob could not be read (part of the message may
 * have been written); -2 when the file could not be written.
 */
int mbox_write_message(struct mbox_writer *w, int fd, const struct store_message *msg,
		       char **error_r);

#endif
