/*
 * smtpd - the SMTP server: what its modules share.
 *
 * One process serves one connection at a time (master starts more), from
 * start to end inside the daemon skeleton's serve() callback: reads wait
 * with poll(2) on a non-blocking stream, so that replies are flushed only
 * when the client has nothing more to say (RFC 2920 pipelining) and every
 * wait is bounded by smtpd_timeout. The calls to cleanup, auth and anvil
 * are blocking request/response exchanges with their own timeouts.
 *
 * Modules:
 *   smtpd.c          main: parameters, TLS context, the daemon skeleton
 *   smtpd_session.c  one connection: greeting, command loop, disconnect
 *   smtpd_reply.c    replies and reject log lines
 *   mail/smtp_server_io.c  waiting, reading lines and content, flushing,
 *                    closing (shared with lmtp)
 *   mail/smtp_server_reply.c  replies, error counting and delays, the
 *                    command loop's step, the disconnect line (shared with lmtp)
 *   mail/smtp_cmd.c  the command parser (pure, shared with lmtp), with
 *                    mail/smtp_esmtp.c for its parameters
 *   mail/smtp_decode.c  the DATA/BDAT content decoder (pure, shared with lmtp)
 *   smtpd_helo.c     HELO EHLO NOOP RSET QUIT HELP VRFY EXPN
 *   smtpd_mail.c     MAIL RCPT
 *   smtpd_data.c     DATA BDAT and the conversation with cleanup
 *   smtpd_tls.c      STARTTLS and implicit TLS, the close
 *   smtpd_sasl.c     AUTH
 *   smtpd_check.c    relay control, recipient and sender checks
 *   smtpd_peer.c     the client's address and name, connection limits
 *   smtpd_net.c      network lists (pure)
 */
#ifndef TERN_SMTPD_H
#define TERN_SMTPD_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include "mail/smtp_cmd.h"
#include "mail/smtp_decode.h"
#include "mail/smtp_server_reply.h"
#include "smtpd/smtpd_net.h"
#include "util/stream.h"
#include "util/strbuf.h"

struct anvil_client;
struct auth_client;
struct cleanup_client;
struct daemon_ctx;
struct dict;
struct mail_conf;
struct tls_ctx;
struct tls_session;

/*
 * Line limits of the command phase, without the CR LF: RFC 5321 section
 * 4.5.3.1.4 allows 512 bytes, which the extensions in use raise (SIZE, the
 * DSN parameters of RFC 3461 add up to 600, AUTH= up to 500, UTF-8
 * addresses take more bytes); RFC 4954 section 4 requires 12288 for AUTH
 * and its responses.
 */
#define SMTPD_CMD_LINE_MAX 2046
#define SMTPD_AUTH_LINE_MAX 12286
/* Bytes read from the client, and handed to cleanup, at a time during DATA/BDAT. */
#define SMTPD_CHUNK (64 * 1024)

enum smtpd_tls_level { SMTPD_TLS_NONE, SMTPD_TLS_MAY, SMTPD_TLS_ENCRYPT };
enum smtpd_bare_newline { SMTPD_BARE_REJECT, SMTPD_BARE_NORMALIZE };

/* The words of smtpd_relay_restrictions. */
enum smtpd_restriction {
	SMTPD_PERMIT_MYNETWORKS,
	SMTPD_PERMIT_SASL_AUTHENTICATED,
	SMTPD_PERMIT_AUTH_DESTINATION,
	SMTPD_REJECT_UNAUTH_DESTINATION,
	SMTPD_DEFER_UNAUTH_DESTINATION,
	SMTPD_PERMIT,
	SMTPD_REJECT,
};

/* The process's settings and connections to other services, kept across sessions. */
struct smtpd_server {
	struct daemon_ctx *dctx;
	const struct mail_conf *conf;
	char *hostname;	 /* myhostname */
	char *banner;	 /* smtpd_banner */
	char *mydomain;	 /* for <postmaster> without a domain */
	char *queue_dir; /* queue_directory as this process sees it ("/" in the chroot) */
	int chrooted;
	dev_t queue_dev; /* queue_directory's identity before the chroot */
	ino_t queue_ino;
	int timeout_ms;
	long long size_limit;
	long long recipient_limit;
	size_t line_limit; /* text lines, with their CR LF */
	long long hard_error_limit, soft_error_limit, junk_limit;
	long long error_sleep_ms;
	long long greet_pause_ms;
	long long conn_count_limit, conn_rate_limit;
	int vrfy_enable, sasl_enable, tls_auth_only, auth_required, wrappermode;
	int peername_lookup;
	enum smtpd_tls_level tls_level;
	enum smtpd_bare_newline bare_newline;
	struct smtpd_netlist mynetworks;
	struct smtpd_netlist limit_exceptions;
	char **mydestination; /* normalised domain names */
	char **relay_domains; /* normalised; ".example" matches subdomains */
	enum smtpd_restriction *restrictions;
	size_t restriction_count;
	struct dict *login_map; /* smtpd_sender_login_maps, or NULL */
	struct tls_ctx *tls;	/* NULL: no TLS */
	struct auth_client *auth;
	struct anvil_client *anvil;
};

struct smtpd_rcpt {
	char *address; /* normalised */
	char *orcpt;   /* DSN ORCPT "type;address", or NULL */
	unsigned notify;
};

/* One mail transaction: from MAIL to the end of DATA / BDAT LAST, or RSET. */
struct smtpd_txn {
	char *sender; /* NULL: no MAIL yet; "" the null sender */
	struct smtp_mail_opts opts;
	struct smtpd_rcpt *rcpts;
	size_t rcpt_count, rcpt_alloc;
	int write_failed;	      /* the conversation with cleanup failed */
	int bdat;		      /* a BDAT sequence is in progress */
	struct smtp_decoder bdat_dec; /* BDAT: line lengths and size across chunks */
	struct strbuf out;	      /* content waiting to go to cleanup */
};

struct smtpd_session {
	struct smtpd_server *srv;
	/* stream, fd, errors, the last reply's code, the command and the counts */
	struct smtp_server_conn conn;
	char *addr;    /* client IP address, "unknown" when there is none */
	char *port;    /* client port */
	char *name;    /* verified client host name, or "unknown" */
	char *namaddr; /* "name[addr]", for logs */
	int local_port;
	int in_mynetworks;
	int anvil_counted; /* anvil_connect() succeeded: disconnect at the end */
	struct tls_session *tls;
	char *tls_info; /* "TLSv1.3 with cipher ..." once TLS is up */
	char *helo;	/* HELO/EHLO argument, NULL before */
	int esmtp;	/* the client said EHLO */
	char *sasl_method, *sasl_username, *sasl_authzid;
	char *mechanisms; /* cached SASL mechanisms for the current TLS state, or NULL */
	struct smtpd_txn txn;
	struct cleanup_client *cleanup; /* open from DATA (or the first BDAT) to the reply */
	long long junk;
	int done; /* end the session after this command */
	struct strbuf line;
};

/* smtpd.c: nothing but main. */

/* smtpd_session.c */
void smtpd_session_serve(struct smtpd_server *srv, int fd);
/* smtpd_txn_reset - forget the mail transaction (aborting an open cleanup conversation). */
void smtpd_txn_reset(struct smtpd_session *s);
/* smtpd_session_reset - forget everything learnt from the client (after STARTTLS). */
void smtpd_session_reset(struct smtpd_session *s);
/* smtpd_protocol - "ESMTP", "ESMTPSA", "UTF8SMTPS", ... (RFC 3848, RFC 6531) for Received:. */
const char *smtpd_protocol(const struct smtpd_session *s);

/* smtpd_reply.c */
/*
 * smtpd_reply - send a one-line reply "code x.y.z text" (fmt starts with
 * the code). A 4xx/5xx reply counts as an error: beyond
 * smtpd_soft_error_limit it is delayed, more each time
 * (smtp_server_reply()). Multi-line replies: smtp_server_reply_lines().
 */
void smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * smtpd_reject - a policy refusal: the reply, and the log line
 * "NOQUEUE: reject: RCPT from host[addr]: <reply>; from=<> to=<> proto= helo=<>".
 * rcpt may be NULL (MAIL, DATA).
 */
void smtpd_reject(struct smtpd_session *s, const char *rcpt, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Command handlers (smtpd_helo.c, smtpd_mail.c, smtpd_data.c, smtpd_tls.c, smtpd_sasl.c). */
void smtpd_cmd_helo(struct smtpd_session *s, struct smtp_cmd *cmd);
void smtpd_cmd_ehlo(struct smtpd_session *s, struct smtp_cmd *cmd);
void smtpd_cmd_noop(struct smtpd_session *s, struct smtp_cmd *cmd);
void smtpd_cmd_rset(struct smtpd_session *s, struct smtp_cmd *cmd);
void smtpd_cmd_quit(struct smtpd_session *s, struct smtp_cmd *cmd);
void smtpd_cmd_help(struct smtpd_session *s, struct smtp_cmd *cmd);
void smtpd_cmd_vrfy(struct smtpd_session *s, struct smtp_cmd *cmd);
void smtpd_cmd_expn(struct smtpd_session *s, struct smtp_cmd *cmd);
void smtpd_cmd_mail(struct smtpd_session *s, struct smtp_cmd *cmd);
void smtpd_cmd_rcpt(struct smtpd_session *s, struct smtp_cmd *cmd);
void smtpd_cmd_data(struct smtpd_session *s, struct smtp_cmd *cmd);
void smtpd_cmd_bdat(struct smtpd_session *s, struct smtp_cmd *cmd);
void smtpd_cmd_starttls(struct smtpd_session *s, struct smtp_cmd *cmd);
void smtpd_cmd_auth(struct smtpd_session *s, struct smtp_cmd *cmd);

/* smtpd_helo.c: the extensions announced to this client (SMTP_EXT_*). */
unsigned smtpd_extensions(struct smtpd_session *s);

/* smtpd_tls.c */
/* smtpd_tls_start - the TLS handshake on the connection; 0, or -1 (logged; the session is over). */
int smtpd_tls_start(struct smtpd_session *s);
/* smtpd_tls_offer - whether STARTTLS is offered now. */
int smtpd_tls_offer(const struct smtpd_session *s);
/* smtpd_close - flush, end TLS, let the client read our last words, close the connection. */
void smtpd_close(struct smtpd_session *s);

/* smtpd_sasl.c */
/* smtpd_sasl_mechanisms - the mechanisms to announce now ("" for none; cached per TLS state). */
const char *smtpd_sasl_mechanisms(struct smtpd_session *s);

/* smtpd_check.c */
/* smtpd_auth_client - the auth service connection (opened on first use), or NULL (logged). */
struct auth_client *smtpd_auth_client(struct smtpd_server *srv);
/*
 * smtpd_check_rcpt - may this recipient be accepted? 0, or -1 after the
 * refusal was sent (smtpd_reject).
 */
int smtpd_check_rcpt(struct smtpd_session *s, const char *address, const char *local,
		     const char *domain, int literal);
/* smtpd_check_sender - an authenticated client may only use addresses it owns. 0 or -1 (sent). */
int smtpd_check_sender(struct smtpd_session *s, const char *address);
/* smtpd_check_vrfy - VRFY of a local address: reply sent. */
void smtpd_check_vrfy(struct smtpd_session *s, const char *address, const char *domain);
/* smtpd_domain_list_match - whether domain is in a normalised list (".x" matches subdomains). */
int smtpd_domain_list_match(char *const *list, const char *domain);

/* smtpd_peer.c */
/* smtpd_peer_init - the client's address, port and (verified) name, and mynetworks. */
void smtpd_peer_init(struct smtpd_session *s);
/* smtpd_peer_limits - per-client connection count and rate through anvil; 0, or -1 (421 sent). */
int smtpd_peer_limits(struct smtpd_session *s);
/* smtpd_peer_done - tell anvil that the connection ended. */
void smtpd_peer_done(struct smtpd_session *s);

#endif
