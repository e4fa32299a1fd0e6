/*
 * smtp - the delivery agent that speaks SMTP or LMTP to a next hop: what
 * its files share.
 *
 *   smtp.c          main: the daemon skeleton, configuration, the qmgr
 *                   conversation (mail/deliver_proto.h)
 *   smtp_deliver.c  one delivery request: the queue file, the walk over the
 *                   next hop's servers, the outcome of each recipient
 *   smtp_resolve.c  next hop to server addresses: MX, A, AAAA, null MX
 *   smtp_session.c  a connection: connect, greeting, EHLO/LHLO, STARTTLS,
 *                   AUTH, QUIT; the connection cache
 *   smtp_trans.c    one mail transaction: MAIL, RCPT, DATA (pipelined),
 *                   the content, per-recipient replies for LMTP
 *   smtp_status.c   recording outcomes: log line, status logs, done marks
 *   smtp_reply.c    reply parsing (multi-line, enhanced status codes) and
 *                   EHLO keywords
 *   smtp_content.c  message lines as sent: dot-stuffing, CRLF, long lines
 *   smtp_sasl.c     AUTH PLAIN and LOGIN with credentials from a table
 */
#ifndef TERN_SMTP_H
#define TERN_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "util/strbuf.h"

struct dict;
struct dns_resolver;
struct mail_conf;
struct stream;
struct tls_ctx;
struct tls_session;

/* ---- replies and EHLO keywords (smtp_reply.c) ---- */

#define SMTP_REPLY_LINE_MAX 4096 /* bytes of one reply line */
#define SMTP_REPLY_LINES_MAX 200 /* lines of one reply */
#define SMTP_REPLY_TEXT_MAX 8192 /* bytes of a reply's text kept */

/* One reply, possibly of several lines. */
struct smtp_reply {
	int code;	     /* 200..599; 0 before the first line */
	char dsn[16];	     /* the enhanced status code of the first line, or "" */
	struct strbuf text;  /* the lines joined with a space, first code included:
			       "250 2.0.0 Ok: queued as X" */
	struct strbuf lines; /* each line's text after the code, '\n' after each */
	int nlines;
	bool done;
};

void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_reset(struct smtp_reply *r);
void smtp_reply_free(struct smtp_reply *r);

/*
 * smtp_reply_feed - one line of a reply (without its line ending): 1 when
 * it was the last line, 0 when more follow, -1 with *error_r when the line
 * is not part of a valid reply (no code, a code of another line, a
 * separator other than ' ' or '-', too many lines).
 */
int smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len, char **error_r);

/* smtp_reply_dsn - the reply's enhanced status code, or dflt when it has none. */
const char *smtp_reply_dsn(const struct smtp_reply *r, const char *dflt);

/* EHLO keywords. */
#define SMTP_FEAT_PIPELINING 0x01u
#define SMTP_FEAT_SIZE 0x02u
#define SMTP_FEAT_8BITMIME 0x04u
#define SMTP_FEAT_SMTPUTF8 0x08u
#define SMTP_FEAT_STARTTLS 0x10u
#define SMTP_FEAT_AUTH 0x20u
#define SMTP_FEAT_DSN 0x40u
#define SMTP_FEAT_ENHANCEDSTATUSCODES 0x80u

struct smtp_ehlo {
	unsigned features;    /* SMTP_FEAT_* */
	long long size_limit; /* SIZE n; 0 when none is given */
	char *auth;	      /* the AUTH mechanisms, upper case, space-separated, or NULL */
};

/* smtp_ehlo_parse - the keywords of a 250 reply to EHLO or LHLO (lines after the first). */
void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *ehlo);
void smtp_ehlo_free(struct smtp_ehlo *ehlo);
/* smtp_ehlo_has_auth - whether mech is among the AUTH mechanisms. */
bool smtp_ehlo_has_auth(const struct smtp_ehlo *ehlo, const char *mech);

/* smtp_xtext - append s as xtext (RFC 3461 section 4) to out. */
void smtp_xtext(struct strbuf *out, const char *s);

/* ---- content (smtp_content.c) ---- */

#define SMTP_LINE_MAX 998 /* bytes of a line on the wire before its CRLF (RFC 5321) */

/*
 * A message line as it goes out, piece by piece: smtp_line_put() appends
 * len bytes of the current line to out, doubling a '.' that starts a line
 * and breaking lines longer than SMTP_LINE_MAX; last: the line ends here
 * (CRLF is appended). *col is the column of the current output line
 * (start each message with 0).
 */
void smtp_line_put(struct strbuf *out, const char *data, size_t len, bool last, size_t *col);

/* smtp_has_8bit - whether any byte of data is outside ASCII. */
bool smtp_has_8bit(const char *data, size_t len);

/* ---- configuration and per-process state (smtp.c) ---- */

enum smtp_tls_level {
	SMTP_TLS_NONE,
	SMTP_TLS_MAY,
	SMTP_TLS_ENCRYPT,
	SMTP_TLS_VERIFY,
	SMTP_TLS_SECURE,
};

enum smtp_addr_pref { SMTP_PREF_ANY, SMTP_PREF_IPV4, SMTP_PREF_IPV6 };

struct smtp_session;

struct smtp_agent {
	const struct mail_conf *conf;
	bool lmtp;
	const char *proto_name; /* "SMTP" or "LMTP" */
	const char *queue_dir;
	const char *myhostname, *helo_name;
	struct dns_resolver *dns;
	bool use_v4, use_v6;
	enum smtp_addr_pref addr_pref;
	long long mx_address_limit;
	enum smtp_tls_level tls_level;
	const char *tls_ca_file;
	struct tls_ctx *tls_plain;  /* TLS without verification (may, encrypt) */
	struct tls_ctx *tls_verify; /* verifying (verify, secure) */
	bool sasl_enable, sasl_plaintext_ok;
	struct dict *sasl_map;
	int connect_ms, helo_ms, command_ms, xfer_ms, done_ms;
	long long cache_ms;	    /* 0: no connection reuse */
	struct smtp_session *cache; /* idle sessions, newest first */
	size_t cache_count;
};

/* ---- next hops (smtp_resolve.c) ---- */

/* One server address to try. */
struct smtp_dest {
	char *host; /* the server's name (MX host, or the next hop's host) */
	char *ip;   /* its address as text, or the socket path for unix */
	int port;
	struct sockaddr_storage sa;
	socklen_t salen; /* 0 for a unix socket */
};

/* A failure of the whole delivery or of one server: the status it gives the recipients. */
struct smtp_failure {
	int status;   /* 4 or 5 */
	char dsn[16]; /* X.Y.Z */
	char *text;   /* the reply as received, or the local reason (malloc'd) */
	char *cmd;    /* the command the reply answered ("RCPT TO"), or NULL (malloc'd) */
	bool remote;  /* text is the server's reply */
};

void smtp_failure_set(struct smtp_failure *f, int status, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void smtp_failure_free(struct smtp_failure *f);

/*
 * smtp_resolve - the addresses to try for nexthop, in order, at most
 * mx_address_limit: 0 with *dests_r (malloc'd, free with
 * smtp_dests_free()) and *count_r >= 1, or -1 with *fail saying why none
 * (NXDOMAIN, null MX, mail loops back to myself: 5; DNS trouble: 4).
 */
int smtp_resolve(struct smtp_agent *a, const char *nexthop, struct smtp_dest **dests_r,
		 size_t *count_r, struct smtp_failure *fail);
void smtp_dests_free(struct smtp_dest *dests, size_t count);

/*
 * smtp_nexthop_split - the parts of a next hop: *host_r (malloc'd; the
 * socket path for "unix:"), *port_r (0 when none is given), *mx_r whether
 * to look up MX records, *unix_r for "unix:/path". -1 when malformed.
 */
int smtp_nexthop_split(const char *nexthop, bool lmtp, char **host_r, int *port_r, bool *mx_r,
		       bool *unix_r);

/* ---- sessions (smtp_session.c) ---- */

struct smtp_session {
	struct stream *stream;
	struct tls_session *tls;
	char *host, *ip;
	int port;
	char *relay;   /* "host[ip]:port" */
	char *nexthop; /* the cache key */
	struct smtp_ehlo ehlo;
	bool esmtp;
	bool broken;		   /* the conversation is out of step: do not reuse */
	long long idle_since_ms;   /* monotonic, while cached */
	int uses;		   /* transactions so far */
	struct smtp_session *next; /* in the cache */
};

/*
 * smtp_session_open - connect to dest and get it ready for mail: greeting,
 * EHLO (or HELO, or LHLO), STARTTLS as the TLS level says (unless
 * no_tls), AUTH when credentials exist for nexthop. NULL with *fail on
 * failure; *tls_failed_r (may be NULL) tells whether TLS itself failed, so
 * that the level "may" can try again without it.
 */
struct smtp_session *smtp_session_open(struct smtp_agent *a, const struct smtp_dest *dest,
				       const char *nexthop, bool no_tls, struct smtp_failure *fail,
				       bool *tls_failed_r);
/* smtp_session_close - QUIT (unless broken), close, free; *sp set NULL. NULL is allowed. */
void smtp_session_close(struct smtp_agent *a, struct smtp_session **sp);

/*
 * smtp_command - send the command line (CRLF added) without flushing;
 * smtp_flush - send what is buffered within timeout_ms; smtp_read_reply -
 * read one whole reply within timeout_ms. 0, or -1 with *fail (status 4)
 * and the session marked broken; what names the stage for messages
 * ("receiving the initial server greeting", "sending MAIL FROM").
 */
void smtp_command(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int smtp_flush(struct smtp_session *s, int timeout_ms, const char *what, struct smtp_failure *fail);
int smtp_read_reply(struct smtp_session *s, int timeout_ms, struct smtp_reply *r, const char *what,
		    struct smtp_failure *fail);

/* Connection cache: sessions kept open for the next delivery to the same next hop. */
struct smtp_session *smtp_cache_take(struct smtp_agent *a, const char *nexthop);
void smtp_cache_put(struct smtp_agent *a, struct smtp_session *s);
/* smtp_cache_expire - close sessions idle for cache_ms or more (all with all); ms until the next expiry, or -1. */
long long smtp_cache_expire(struct smtp_agent *a, bool all);

/* smtp_sasl_auth - AUTH on s with the credentials of nexthop; 0, 1 (no credentials), or -1 with *fail. */
int smtp_sasl_auth(struct smtp_agent *a, struct smtp_session *s, const char *nexthop,
		   struct smtp_failure *fail);

/* smtp_now_ms - the monotonic clock in ms; smtp_wall - the wall clock in seconds. */
long long smtp_now_ms(void);
double smtp_wall(void);

/* ---- one delivery (smtp_deliver.c, smtp_trans.c, smtp_status.c) ---- */

struct smtp_rcpt {
	char *address, *orcpt;
	unsigned notify;
	long long offset;
	int status;		 /* 0: not tried yet; 2, 4, 5 */
	bool final;		 /* no server is tried for it any more */
	bool recorded;		 /* logged, in its status log, and marked done for 2 and 5 */
	struct smtp_failure why; /* the outcome's dsn, text, command */
	char *relay;		 /* the server that gave the outcome, or NULL */
	double done_at;		 /* wall clock of the outcome */
	double conn_ready;	 /* wall clock when the session was ready, 0 without one */
};

struct smtp_request {
	char *queue_id, *queue_path, *transport, *nexthop, *sender;
	unsigned flags;
	double arrival, active, received; /* wall clock: arrival, into active/, request */
	double conn_start, conn_ready;	  /* of the session used last */
	struct smtp_rcpt *rcpts;
	size_t nrcpt;
	int fd; /* the queue file, -1 when not open */
	long long size, content_offset, body_offset;
	char *envid;
	char ret[8]; /* "FULL", "HDRS" or "" */
	bool needs_utf8, has_8bit;
	off_t *done_offsets; /* recipients to mark done, collected per attempt */
	size_t ndone;
};

/*
 * smtp_transaction - one mail transaction on s for the recipients of req
 * that are still pending: outcomes are set on them (smtp_rcpt_outcome()).
 * Returns 0 when the session may be reused, -1 when it must be closed.
 */
int smtp_transaction(struct smtp_agent *a, struct smtp_session *s, struct smtp_request *req);

/* smtp_deliver - carry out one delivery request: every recipient ends with an outcome. */
void smtp_deliver(struct smtp_agent *a, struct smtp_request *req);

/*
 * smtp_rcpt_outcome - the outcome of one recipient at one server: status
 * 2 and 5 are final; 4 is final only with final set (else the next server
 * may still be tried). The failure's strings are copied.
 */
void smtp_rcpt_outcome(struct smtp_request *req, struct smtp_rcpt *r, int status, const char *dsn,
		       const char *text, const char *cmd, bool remote, const char *relay);

/*
 * smtp_record - for every recipient with an outcome that is not yet
 * recorded and is final (or all, with finish): log it, append it to its
 * status log, then mark status 2 and 5 done in the queue file (deliver_proto.h).
 */
void smtp_record(struct smtp_agent *a, struct smtp_request *req, bool finish);

/* smtp_request_free - free what the request owns (closes the queue file). */
void smtp_request_free(struct smtp_request *req);

/* smtp_delay_format - a delay in seconds as the log shows it ("0.35", "12", "0"). */
void smtp_delay_format(struct strbuf *out, double seconds);

#endif
