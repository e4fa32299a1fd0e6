/*
 * lmtp - the LMTP server (RFC 2033), the one door into the mailbox store:
 * what its modules share.
 *
 * One process serves one connection at a time (master runs several), from
 * start to end inside the daemon skeleton's serve() callback, as smtpd
 * does: reads wait with poll(2) on a non-blocking stream, replies are
 * flushed when the client has nothing more to say (RFC 2920 pipelining) or
 * when a recipient's final reply is known, and every wait is bounded by
 * lmtp_timeout. Addresses are resolved through the auth service
 * (mail/auth_client.h); messages are saved with the store library
 * (store/store.h).
 *
 * Modules:
 *   lmtp.c          main: parameters, the daemon skeleton
 *   lmtp_session.c  one connection: greeting, command loop, disconnect
 *   lmtp_reply.c    replies: those that count as errors, and those that do not
 *   mail/smtp_server_io.c  waiting, reading lines and content, flushing,
 *                   closing (shared with smtpd)
 *   mail/smtp_server_reply.c  replies, error counting and delays, the command
 *                   loop's step, the disconnect line (shared with smtpd)
 *   lmtp_cmd.c      LHLO and the commands that do not move mail
 *   lmtp_rcpt.c     MAIL and RCPT: addresses, resolution into accounts
 *   lmtp_data.c     DATA and BDAT: reading the content
 *   lmtp_deliver.c  saving the message in each account's store, the replies
 *   lmtp_content.c  the content in memory or a temporary file (pure)
 *   lmtp_filter.c   the delivery hook that chooses the mailbox (Sieve's place)
 */
#ifndef TERN_LMTP_H
#define TERN_LMTP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "lmtp/lmtp_content.h"
#include "lmtp/lmtp_filter.h"
#include "lmtp/lmtp_stores.h"
#include "mail/smtp_cmd.h"
#include "mail/smtp_decode.h"
#include "mail/smtp_server_reply.h"
#include "mail/queue_id.h"
#include "store/store.h"
#include "util/stream.h"
#include "util/strbuf.h"

struct auth_client;
struct daemon_ctx;
struct mail_conf;

/* The longest command line without its CR LF (as smtpd's, without AUTH's needs). */
#define LMTP_CMD_LINE_MAX 2046
/* Bytes read from the client at a time during DATA/BDAT, and written to a blob at a time. */
#define LMTP_CHUNK (64 * 1024)

/* The extensions LHLO announces, as far as MAIL and RCPT parameters are concerned. */
#define LMTP_EXTENSIONS (SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8)

/* The process's settings and connections, kept across sessions. */
struct lmtp_server {
	struct daemon_ctx *dctx;
	const struct mail_conf *conf;
	char *hostname;	 /* myhostname */
	char *mydomain;	 /* for <postmaster> without a domain */
	char *store_dir; /* store_directory: where big messages spill */
	int timeout_ms;
	long long size_limit;
	long long recipient_limit;
	long long memory_limit;
	long long hard_error_limit, soft_error_limit;
	long long error_sleep_ms;
	struct lmtp_filter_conf filter;
	struct store_options store_opts; /* from main.cf; quotas come per account */
	struct lmtp_stores *stores;	 /* the stores kept open between deliveries */
	struct auth_client *auth;
	int was_root;		   /* started as root: privileges were dropped after pre_jail */
	int auth_failed;	   /* the auth service failed during this session */
	unsigned long long serial; /* sessions so far, for session IDs */
};

/* One account that recipients of the transaction reach: it gets one copy. */
struct lmtp_account {
	char *address;	  /* canonical account address */
	char *store_path; /* its store */
	uint64_t quota_bytes, quota_messages;
	char *detail;	   /* the detail of the first recipient that reached it, or NULL */
	size_t first_rcpt; /* that recipient: its Delivered-To: */
	/* the outcome, once delivered (or not) */
	int done;
	int code;     /* 250, 4xx, 5xx */
	char *dsn;    /* "2.0.0" */
	char *text;   /* the reply text after the enhanced code */
	char *status; /* for the log: "sent (saved to mailbox INBOX, uid 7)" */
};

struct lmtp_rcpt {
	char *address;	  /* as given in RCPT TO, normalised */
	size_t *accounts; /* indexes into txn.accounts */
	size_t naccounts;
};

/* One mail transaction: from MAIL to the end of DATA / BDAT LAST, or RSET. */
struct lmtp_txn {
	char *sender; /* NULL: no MAIL yet; "" the null sender */
	struct smtp_mail_opts opts;
	long long start_ms; /* when MAIL came, for delay= */
	struct lmtp_rcpt *rcpts;
	size_t rcpt_count, rcpt_alloc;
	struct lmtp_account *accounts;
	size_t account_count, account_alloc;
	int bdat;		      /* a BDAT sequence is in progress */
	struct smtp_decoder bdat_dec; /* BDAT: sizes across chunks */
	int has_content;	      /* content is initialised */
	struct lmtp_content content;
};

struct lmtp_session {
	struct lmtp_server *srv;
	/* stream, fd, errors, the last reply's code, the command and the counts */
	struct smtp_server_conn conn;
	char *peer;		/* "local" or "[addr]:port", for logs */
	char id[QUEUE_ID_SIZE]; /* the session ID, for logs when the message has none */
	char *helo;		/* LHLO argument, NULL before */
	struct lmtp_txn txn;
	int done; /* end the session after this command */
	struct strbuf line;
};

/* lmtp_session.c */
void lmtp_session_serve(struct lmtp_server *srv, int fd);
/* lmtp_txn_reset - forget the mail transaction. */
void lmtp_txn_reset(struct lmtp_session *s);

/* lmtp_reply.c */
/*
 * lmtp_reply - send a one-line reply "code x.y.z text" (fmt starts with
 * the code). A 4xx/5xx reply counts as a protocol error: beyond
 * lmtp_soft_error_limit it is delayed, more each time (smtp_server_reply()).
 * Multi-line replies: smtp_server_reply_lines().
 */
void lmtp_reply(struct lmtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * lmtp_reply_outcome - a reply about a recipient's fate (RCPT, end of
 * data): never counted as an error, since it says nothing of the client.
 */
void lmtp_reply_outcome(struct lmtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Command handlers (lmtp_cmd.c, lmtp_rcpt.c, lmtp_data.c). */
void lmtp_cmd_lhlo(struct lmtp_session *s, struct smtp_cmd *cmd);
void lmtp_cmd_helo(struct lmtp_session *s, struct smtp_cmd *cmd);
void lmtp_cmd_noop(struct lmtp_session *s, struct smtp_cmd *cmd);
void lmtp_cmd_rset(struct lmtp_session *s, struct smtp_cmd *cmd);
void lmtp_cmd_quit(struct lmtp_session *s, struct smtp_cmd *cmd);
void lmtp_cmd_help(struct lmtp_session *s, struct smtp_cmd *cmd);
void lmtp_cmd_vrfy(struct lmtp_session *s, struct smtp_cmd *cmd);
void lmtp_cmd_not_here(struct lmtp_session *s, struct smtp_cmd *cmd);
void lmtp_cmd_mail(struct lmtp_session *s, struct smtp_cmd *cmd);
void lmtp_cmd_rcpt(struct lmtp_session *s, struct smtp_cmd *cmd);
void lmtp_cmd_data(struct lmtp_session *s, struct smtp_cmd *cmd);
void lmtp_cmd_bdat(struct lmtp_session *s, struct smtp_cmd *cmd);

/* lmtp_rcpt.c */
/* lmtp_auth - the auth service connection (opened on first use), or NULL (logged). */
struct auth_client *lmtp_auth(struct lmtp_server *srv);

/* lmtp_deliver.c */
/*
 * lmtp_deliver - the content is complete: save it for every account and
 * send one reply per recipient, in RCPT order, each as soon as it is known.
 */
void lmtp_deliver(struct lmtp_session *s);
/*
 * lmtp_refuse_all - the same reply (without the recipient prefix) to every
 * recipient, e.g. a message too big; logged per recipient as status.
 */
void lmtp_refuse_all(struct lmtp_session *s, int code, const char *dsn, const char *text);

#endif
