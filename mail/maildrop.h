/*
 * maildrop - the files of $queue_directory/maildrop: messages posted by
 * sendmail(1) through postdrop(1), waiting for pickup(8) to hand them to
 * cleanup; and the stream that sendmail writes to postdrop, which is the
 * same format without the records that only postdrop may write.
 *
 * Format: the magic line MAILDROP_MAGIC, then records, each a type byte, the
 * length of its data as 4 bytes in network byte order, and the data:
 *
 *   U  uid         decimal: the submitting user       (file only; first)
 *   T  time        decimal seconds since the epoch    (file only)
 *   S  sender      the envelope sender, "" for <>     (required)
 *   N  full name   sendmail -F                        (optional)
 *   I  envid       DSN ENVID, sendmail -V             (optional)
 *   F  flags       decimal MAILDROP_FLAG_* bits       (required)
 *   R  recipient   one record per recipient           (at least one)
 *   M  ""          the content starts
 *   C  content     1 to MAILDROP_CHUNK_MAX bytes each (any number)
 *   E  length      decimal: the content's total bytes; nothing follows
 *
 * in exactly this order. The content is the message as posted: header and
 * body, lines ended by LF. Text values hold no control characters (the
 * full name may hold UTF-8); addresses are at most MAILDROP_ADDR_MAX bytes.
 *
 * Files. postdrop writes a file under a temporary name beginning with '.',
 * fsyncs it and renames it to its final name (maildrop_name_valid()), so
 * that a file with a final name is complete unless something else wrote it.
 * Final names sort by the time of posting.
 */
#ifndef TERN_MAILDROP_H
#define TERN_MAILDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/strbuf.h"

#define MAILDROP_MAGIC "TERNDROP 1\n"
#define MAILDROP_MAGIC_LEN (sizeof(MAILDROP_MAGIC) - 1)

#define MAILDROP_CHUNK_MAX 65536     /* bytes in one content record */
#define MAILDROP_ADDR_MAX 1024	     /* bytes in a sender or recipient */
#define MAILDROP_NAME_MAX 256	     /* bytes in a full name */
#define MAILDROP_ENVID_MAX 100	     /* bytes in an ENVID (RFC 3461) */
#define MAILDROP_RCPT_MAX 10000	     /* recipients in one message */
#define MAILDROP_FILE_NAME_LEN 25    /* characters in a final file name */
#define MAILDROP_TEMP_PREFIX ".tmp." /* the start of a temporary file's name */

/* Flags (F record). */
#define MAILDROP_FLAG_8BITMIME (1u << 0)       /* sendmail -B 8BITMIME */
#define MAILDROP_FLAG_SMTPUTF8 (1u << 1)       /* an address is not ASCII */
#define MAILDROP_FLAG_RET_FULL (1u << 2)       /* -R full */
#define MAILDROP_FLAG_RET_HDRS (1u << 3)       /* -R hdrs */
#define MAILDROP_FLAG_NOTIFY_NEVER (1u << 4)   /* -N never */
#define MAILDROP_FLAG_NOTIFY_SUCCESS (1u << 5) /* -N success */
#define MAILDROP_FLAG_NOTIFY_FAILURE (1u << 6) /* -N failure */
#define MAILDROP_FLAG_NOTIFY_DELAY (1u << 7)   /* -N delay */
#define MAILDROP_FLAGS_ALL 0xffu

struct maildrop_envelope {
	long long uid;	 /* -1: none (a stream to postdrop) */
	long long time;	 /* -1: none */
	char *sender;	 /* "" for the null sender */
	char *full_name; /* or NULL */
	char *envid;	 /* or NULL */
	unsigned flags;	 /* MAILDROP_FLAG_* */
	char **rcpts;
	size_t nrcpts;
};

/* maildrop_envelope_init - an empty envelope (no uid, time or sender). */
void maildrop_envelope_init(struct maildrop_envelope *env);
void maildrop_envelope_free(struct maildrop_envelope *env);
/* maildrop_envelope_add_rcpt - append a copy of rcpt. */
void maildrop_envelope_add_rcpt(struct maildrop_envelope *env, const char *rcpt);

/*
 * Writing: each function appends to out. maildrop_encode_envelope() writes
 * the magic line, U and T when env has them, S, N, I, F, the R records and M;
 * maildrop_encode_content() writes len bytes as C records;
 * maildrop_encode_end() writes E with the total. Values that break the
 * format's rules are a programming error (msg_panic): check them first with
 * maildrop_envelope_check().
 */
void maildrop_encode_envelope(struct strbuf *out, const struct maildrop_envelope *env);
void maildrop_encode_content(struct strbuf *out, const void *data, size_t len);
void maildrop_encode_end(struct strbuf *out, long long total);

/*
 * maildrop_envelope_check - whether env follows the rules above (with_origin:
 * uid and time are required, as in a file; otherwise they must be absent).
 * Returns 0, or -1 with *error_r set.
 */
int maildrop_envelope_check(const struct maildrop_envelope *env, bool with_origin, char **error_r);

/* What a reader found. */
enum maildrop_status {
	MAILDROP_OK,	    /* an envelope, or a content chunk */
	MAILDROP_END,	    /* the E record: the content is complete and its length checked */
	MAILDROP_TRUNCATED, /* the input ended before the E record */
	MAILDROP_INVALID,   /* not the format, or a rule broken */
	MAILDROP_TOO_BIG,   /* the content exceeds the reader's limit */
	MAILDROP_IO_ERROR,  /* reading failed (errno in the message) */
};

struct maildrop_reader;

/*
 * maildrop_reader_create - read fp (not owned) from its current position.
 * with_origin: a file (U and T required) rather than a stream to postdrop
 * (U and T refused); content_limit: the most content bytes accepted.
 */
struct maildrop_reader *maildrop_reader_create(FILE *fp, bool with_origin, long long content_limit);
void maildrop_reader_free(struct maildrop_reader **rp);

/*
 * maildrop_read_envelope - the magic line and every record up to and with M,
 * into env (initialised by the caller, freed by the caller also after an
 * error). MAILDROP_OK, or another status with *error_r set.
 */
enum maildrop_status maildrop_read_envelope(struct maildrop_reader *r,
					    struct maildrop_envelope *env, char **error_r);

/*
 * maildrop_read_content - after the envelope: the next content chunk into
 * chunk (MAILDROP_OK), or MAILDROP_END after the E record when nothing
 * follows it. Other statuses set *error_r.
 */
enum maildrop_status maildrop_read_content(struct maildrop_reader *r, struct strbuf *chunk,
					   char **error_r);

/* maildrop_status_str - a word for a status, for messages. */
const char *maildrop_status_str(enum maildrop_status status);

/*
 * maildrop_file_name - a new final name (MAILDROP_FILE_NAME_LEN upper-case
 * hex digits: seconds, microseconds, then random bits), malloc'd.
 */
char *maildrop_file_name(void);

/* maildrop_name_valid - whether name is a final name. */
bool maildrop_name_valid(const char *name);

#endif
