/*
 * dsn - delivery status notifications (RFC 3464): what a notice needs of
 * the original message (dsn_original.c), the notice's text as an RFC 6522
 * multipart/report (dsn_compose.c), and its submission through cleanup
 * (dsn_send.c). mail/bounce.h decides which notices to send; this is the
 * machinery beneath it.
 *
 * A notice is a message from the mail system to the original sender (or
 * to the postmaster): a multipart/report; report-type=delivery-status with
 *   1. text/plain: what happened, for a person;
 *   2. message/delivery-status: the per-message fields, then per recipient
 *      Original-Recipient, Final-Recipient, Action, Status, Remote-MTA,
 *      Diagnostic-Code, Last-Attempt-Date, Will-Retry-Until (RFC 3464);
 *   3. the original message: message/rfc822 when it is returned in full,
 *      text/rfc822-headers for its header section alone.
 * For a message sent with SMTPUTF8 the types of RFC 6533 take their place
 * (message/global-delivery-status, message/global,
 * message/global-headers) and UTF-8 may appear in addresses.
 */
#ifndef TERN_DSN_H
#define TERN_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "mail/cleanup_client.h"
#include "mail/status_log.h"

/* One recipient record of the original's queue file. */
struct dsn_rcpt {
	char *address;
	char *orcpt;	  /* "" when not given */
	unsigned notify;  /* CLEANUP_NOTIFY_* bits, 0 when not given */
	long long offset; /* of its R or D record */
	bool done;	  /* a D record: delivered or otherwise finished */
};

/* What a notice needs of the original message, from its queue file. */
struct dsn_original {
	char *queue_id;
	char *sender; /* "" for the null sender */
	char *envid;  /* DSN ENVID, or NULL */
	enum cleanup_ret ret;
	unsigned flags;		/* CLEANUP_FLAG_* */
	time_t arrival;		/* seconds */
	long long size;		/* message bytes */
	char *message_id;	/* the Message-ID header's value, or NULL */
	char *client_name;	/* the SMTP client's verified name, or NULL */
	char *client_addr;	/* its IP address, or NULL (local submission) */
	char *helo;		/* its HELO/EHLO argument, or NULL */
	struct dsn_rcpt *rcpts; /* every R and D record, in file order */
	size_t nrcpts;
	int fd; /* the queue file, open for reading (and writing when asked) */
};

/*
 * dsn_original_open - read the envelope and extracted sections of the
 * queue file at path (opened read-write when writable, so that
 * recipients may be marked done, else read-only). The file must be
 * complete. 0, or -1 with *error_r (the file is missing: *errno_r
 * ENOENT; not complete: EINVAL). errno_r may be NULL.
 */
int dsn_original_open(const char *path, bool writable, struct dsn_original *orig, int *errno_r,
		      char **error_r);
void dsn_original_close(struct dsn_original *orig);

/* The kinds of notice. */
enum dsn_kind {
	DSN_FAILURE, /* Action failed: undeliverable, or expired */
	DSN_DELAY,   /* Action delayed: still being tried */
	DSN_SUCCESS, /* Action delivered/relayed/expanded, for NOTIFY=SUCCESS */
};

/* Who the notice is for, which sets its wording and its envelope. */
enum dsn_audience {
	DSN_TO_SENDER,	   /* the original sender: sent from <> */
	DSN_TO_POSTMASTER, /* a failure of a message from <> (a double bounce) */
	DSN_COPY,	   /* the postmaster's copy of a failure notice (headers only) */
};

/* One notice. */
struct dsn_notice {
	enum dsn_kind kind;
	enum dsn_audience audience;
	const struct dsn_original *orig;
	const struct status_entry *entries; /* the recipients reported, each with its outcome */
	size_t count;			    /* >= 1 */
	const char *reporting_mta;	    /* myhostname */
	const char *to;			    /* the recipient of the notice, for its To: */
	bool full;			    /* return the whole message, else its header */
	time_t now;			    /* the date of the notice */
	time_t retry_until;		    /* DSN_DELAY: Will-Retry-Until; 0 leaves it out */
	long long expired_after; /* DSN_FAILURE on expiry: the queue lifetime (s), else 0 */
	const char *boundary;	 /* the MIME boundary; NULL: one is made up */
};

/* Where composed text goes: 0, or -1 with *error_r, which stops the composition. */
typedef int dsn_write_fn(void *ctx, const void *data, size_t len, char **error_r);

/*
 * dsn_compose - write the notice as a message (header and body, lines
 * ended by CRLF) through write(ctx, ...). The original's content is read
 * from orig->fd. Date: and Message-ID: are left to cleanup. 0, or -1 with
 * *error_r (the queue file cannot be read, or write failed).
 */
int dsn_compose(const struct dsn_notice *n, dsn_write_fn *write, void *ctx, char **error_r);

/* dsn_needs_8bit - whether the notice carries 8-bit text (BODY=8BITMIME for it). */
bool dsn_needs_8bit(const struct dsn_notice *n);

/*
 * dsn_send - compose the notice and hand it to the cleanup service of
 * queue_dir with envelope sender env_sender ("" for the null sender) and
 * the one recipient n->to; timeout_ms bounds each step. 0 with the new
 * message's queue ID in queue_id_r, or -1 with *error_r (cleanup refused
 * it, or could not be reached: try again later).
 */
int dsn_send(const char *queue_dir, int timeout_ms, const struct dsn_notice *n,
	     const char *env_sender, char queue_id_r[32], char **error_r);

/* ---- helpers, also for tests ---- */

/*
 * dsn_date - the RFC 5322 date-time of t in local time ("Tue, 4 Jun 2024
 * 10:00:00 +0200") into buf.
 */
void dsn_date(char *buf, size_t size, time_t t);

/*
 * dsn_relay_host - the host name of a status entry's relay "host[ip]:port"
 * ("host", or "[ip]" when the name is unknown), malloc'd; NULL for "none".
 */
char *dsn_relay_host(const char *relay);

/* dsn_is_smtp_reply - whether text begins with an SMTP reply code "NXX" (N 2..5). */
bool dsn_is_smtp_reply(const char *text);

#endif
