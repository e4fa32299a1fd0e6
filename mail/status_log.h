/*
 * status_log - the per-message logs of recipients' outcomes, from which
 * bounce, delay and success notices are made (see mail/deliver_proto.h).
 *
 * Three logs per message, each a file named by the queue ID:
 *   $queue_directory/bounce/QID  permanent failures (status 5), waiting for
 *                                the failure notice (bounce_flush());
 *   $queue_directory/defer/QID   temporary failures (status 4): the reasons
 *                                shown by "ternqueue list" and given in
 *                                delay and expiry notices;
 *   $queue_directory/trace/QID   deliveries (status 2) of recipients that
 *                                asked NOTIFY=SUCCESS, for the success notice.
 *
 * A log is a sequence of records, one per outcome, appended in the order
 * they happen. Each record is one line of text:
 *
 *   address=A orcpt=O notify=N offset=N status=S action=A dsn=X.Y.Z time=T relay=R
 *   text=X crc=C\n   (one line)
 *
 * Every value is written with each byte outside "!".."~", and each '%',
 * as %XX (two upper-case hex digits), so a value holds no space and no line
 * end; C is the CRC-32 (ISO-HDLC, as zlib's crc32()) of the line up to and
 * including the space before "crc=", as 8 lower-case hex digits. The fields
 * come in this order, each exactly once.
 *
 * Durability: status_log_append() writes a record with one write(2) on a
 * descriptor opened with O_APPEND (records of concurrent writers, e.g. two
 * delivery agents working on one message, never interleave), then fsyncs
 * the file (and its directory when it created the file) before it returns:
 * after a crash a record whose append returned 0 is there. A record being
 * written when the system crashed may be left torn (cut short, or with
 * garbage): the next append first ends such a line with '\n', and the
 * reader skips every line that is not a whole, well-formed record with a
 * matching CRC (a record that lacked only its '\n' then counts). A torn record belongs to an append that never returned 0,
 * whose outcome the caller had not yet acted upon (deliver_proto.h: the
 * recipient is marked done only after its log entry is written), so
 * skipping it loses nothing.
 */
#ifndef TERN_STATUS_LOG_H
#define TERN_STATUS_LOG_H

#include <stddef.h>
#include <time.h>

#include "util/strbuf.h"

enum status_log_kind {
	STATUS_LOG_BOUNCE, /* bounce/ */
	STATUS_LOG_DEFER,  /* defer/ */
	STATUS_LOG_TRACE,  /* trace/ */
};

/* The longest record line status_log_read() accepts, in bytes. */
#define STATUS_LOG_LINE_MAX 65536

/*
 * One recipient's outcome. The strings are not empty unless said so; when
 * read back (status_log_read()) they point into memory owned by the log.
 */
struct status_entry {
	const char *address; /* the recipient as in the queue file's R record */
	const char *orcpt;   /* DSN ORCPT as in the R record ("rfc822;addr"), or "" */
	unsigned notify;     /* CLEANUP_NOTIFY_* bits of the R record, 0 when not given */
	long long offset;    /* the R record's offset in the queue file, or -1 if unknown */
	int status;	     /* 2 delivered, 4 deferred, 5 failed (enum deliver_status) */
	const char *dsn;     /* enhanced status code "X.Y.Z", its class matching status */
	/*
	 * The reason: the remote server's reply as received ("550 5.1.1 <a@b>:
	 * no such user", the lines of a multi-line reply joined by a space), or
	 * a local reason ("connect to mx.example.org[192.0.2.1]:25: Connection
	 * refused", "alias loop"). status_log_append() cuts it at
	 * STATUS_LOG_TEXT_MAX bytes.
	 */
	const char *text;
	const char *relay; /* "host[ip]:port" of the server that answered, or "none" */
	time_t time;	   /* when it happened; 0 to status_log_append(): now */
	/*
	 * The DSN Action (RFC 3464 section 2.3.3): for status 2 "delivered"
	 * (final delivery: LMTP, a mailbox), "relayed" (handed on to an SMTP
	 * server that takes no further DSN duty for it) or "expanded" (an
	 * alias expanded to other recipients); 4 is always "delayed", 5
	 * "failed". NULL to status_log_append(): the default of the status
	 * ("delivered", "delayed", "failed"). Read back it is never NULL.
	 */
	const char *action;
};

#define STATUS_LOG_TEXT_MAX 4096 /* bytes of text kept in a record */

/* status_log_dir - the directory of a kind of log, relative to queue_directory: "bounce"... */
const char *status_log_dir(enum status_log_kind kind);

/*
 * status_log_append - append entry to the kind of log of queue_id (created
 * when missing, mode 0600) under queue_dir, and make it durable (see
 * above). The entry is checked first: address non-empty, status 2, 4 or 5,
 * dsn "X.Y.Z" of the same class (digit '2', '4' or '5', then 1 to 3 digits,
 * then 1 to 3 digits), action NULL or one allowed for the status, text and
 * relay non-empty (NULL text or relay are
 * written as "none"), orcpt may be NULL (""). 0, or -1 with *error_r
 * (invalid entry, or a system error naming the file).
 */
int status_log_append(const char *queue_dir, enum status_log_kind kind, const char *queue_id,
		      const struct status_entry *entry, char **error_r);

/* A log as read: its entries in the order of the file. */
struct status_log {
	struct status_entry *entries;
	size_t count;
	size_t skipped; /* lines that were not whole, valid records (torn by a crash) */
	char *data_;	/* the file's contents, which the entries point into */
};

/*
 * status_log_read - read the kind of log of queue_id. A log that does not
 * exist is empty (0 entries), not an error. Lines that are not valid
 * records are skipped and counted in log->skipped (and a warning is logged
 * naming the file). 0 with *log filled (free with status_log_free()), or
 * -1 with *error_r when the file cannot be read.
 */
int status_log_read(const char *queue_dir, enum status_log_kind kind, const char *queue_id,
		    struct status_log *log, char **error_r);

/* status_log_parse - the same, for the contents of a log held in memory (copied). */
void status_log_parse(const void *data, size_t len, struct status_log *log);

void status_log_free(struct status_log *log);

/*
 * status_log_last - the last entry of log for the recipient whose R record
 * is at offset (when offset >= 0 and the entry has one), else the last one
 * with that address (and orcpt, when orcpt is not NULL); NULL when none.
 */
const struct status_entry *status_log_last(const struct status_log *log, const char *address,
					   const char *orcpt, long long offset);

/*
 * status_log_remove - remove the kind of log of queue_id; one that does
 * not exist is not an error. The directory is not fsync'd: a log that
 * comes back after a crash leads to a repeated notice at worst. 0, or -1
 * with *error_r.
 */
int status_log_remove(const char *queue_dir, enum status_log_kind kind, const char *queue_id,
		      char **error_r);

/* status_log_remove_all - status_log_remove() of all three logs; the first error is reported. */
int status_log_remove_all(const char *queue_dir, const char *queue_id, char **error_r);

/*
 * status_log_format - append entry as a record line to out (the entry is
 * taken as is: see status_log_append() for the checks). For tests and tools.
 */
void status_log_format(struct strbuf *out, const struct status_entry *entry);

#endif
