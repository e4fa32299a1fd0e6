/*
 * cleanup_client - hand one message to the cleanup service.
 *
 * smtpd and pickup use this to pass a message's envelope and content to
 * cleanup(8) over its socket (attr protocol "cleanup", version 1). cleanup
 * adds the headers it owns (Received:, and Message-ID:, Date:, From: when
 * missing), enforces header limits, writes the queue file, fsyncs it and
 * its directory, and only then answers with the queue ID: a successful
 * cleanup_finish() is the moment smtpd may answer 250.
 *
 * Order of calls: cleanup_open, cleanup_envelope, cleanup_rcpt (one or more),
 * cleanup_write (any number, the message as received: header and body, lines
 * ended by CRLF or LF, already dot-unstuffed), then cleanup_finish or
 * cleanup_abort; then another message from cleanup_envelope on, or
 * cleanup_close. A connection that ends before cleanup_finish leaves no queue
 * file. Functions return 0, or -1 with *error_r (malloc'd, caller frees) for a
 * failure of the conversation itself (a temporary failure for the client);
 * after such a failure every further call fails too: close the client.
 * Calling them out of order is a programming error (msg_panic).
 *
 * The conversation (records as in util/attr.h). The server speaks first:
 *
 *   server  {protocol=cleanup, version=1}
 *   client  {request=envelope, sender, flags, ret, size_hint, [envid],
 *            [client_name], [client_addr], [client_port], [helo], [protocol],
 *            [tls_info], [tls_cipher], [sasl_method], [sasl_username],
 *            [local_user], [full_name]}
 *   client  {request=rcpt, rcpt, [orcpt], notify}          one or more
 *   client  {request=data, data}                           any number
 *   client  {request=end}
 *   server  {status, dsn, text, queue_id}
 *
 * or {request=abort} instead of {request=end}, which gets no answer. Then
 * the next envelope, or the end of the connection. Absent optional
 * attributes and empty ones mean the same. Nothing is answered before
 * {request=end}: a refusal found early (too big, too many hops) waits for it,
 * and cleanup reads and discards the rest of the content meanwhile. The
 * client buffers: records go out in writes of about CLEANUP_CHUNK bytes.
 */
#ifndef TERN_CLEANUP_CLIENT_H
#define TERN_CLEANUP_CLIENT_H

#include <stddef.h>

#define CLEANUP_PROTOCOL "cleanup"
#define CLEANUP_PROTOCOL_VERSION 1
/*
 * The sockets, relative to queue_directory, tried in this order: the
 * service is "cleanup unix - ..." (private) or "cleanup unix n ..." (public)
 * in master.cf. Private is the safer choice: any local user can connect to
 * a public socket and would be believed about the client and its login.
 */
#define CLEANUP_SOCKET_PRIVATE "private/cleanup"
#define CLEANUP_SOCKET_PUBLIC "public/cleanup"
#define CLEANUP_CHUNK 65536	    /* content bytes per data record */
#define CLEANUP_DATA_MAX (1u << 20) /* the largest data record cleanup takes */
#define CLEANUP_ADDRESS_MAX 2048    /* bytes of sender, rcpt, orcpt */
#define CLEANUP_INFO_MAX 1024	    /* bytes of each other envelope string */

struct cleanup_client;

/* Envelope flags. */
#define CLEANUP_FLAG_SMTPUTF8 (1u << 0)	  /* MAIL FROM ... SMTPUTF8 */
#define CLEANUP_FLAG_8BITMIME (1u << 1)	  /* BODY=8BITMIME */
#define CLEANUP_FLAG_BINARYMIME (1u << 2) /* BODY=BINARYMIME (BDAT only) */
#define CLEANUP_FLAG_LOCAL (1u << 3)	  /* local submission: add From: when missing */

/* DSN RET (RFC 3461). */
enum cleanup_ret { CLEANUP_RET_NONE, CLEANUP_RET_FULL, CLEANUP_RET_HDRS };

/* DSN NOTIFY bits (RFC 3461); 0 means "not given" (the default policy). */
#define CLEANUP_NOTIFY_NEVER (1u << 0)
#define CLEANUP_NOTIFY_SUCCESS (1u << 1)
#define CLEANUP_NOTIFY_FAILURE (1u << 2)
#define CLEANUP_NOTIFY_DELAY (1u << 3)

struct cleanup_envelope {
	const char *sender; /* "" for the null sender <> */
	unsigned flags;	    /* CLEANUP_FLAG_* */
	const char *envid;  /* DSN ENVID (xtext decoded), or NULL */
	enum cleanup_ret ret;
	long long size_hint; /* MAIL FROM SIZE=, or -1 */
	/* Where it came from, for Received: and the log; any may be NULL. */
	const char *client_name; /* verified host name, or "unknown" */
	const char *client_addr; /* IP address, no brackets; NULL: local submission */
	const char *client_port;
	const char *helo;     /* HELO/EHLO argument */
	const char *protocol; /* "SMTP", "ESMTP", "ESMTPS", "ESMTPSA", "UTF8SMTPS"... (RFC 3848) */
	const char *tls_info; /* e.g. "TLS1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" */
	const char *sasl_method;   /* AUTH mechanism when authenticated */
	const char *sasl_username; /* authenticated identity */
	const char *local_user;	   /* pickup: the submitting user's login name */
	const char *full_name;	   /* sendmail -F: the sender's full name for From: */
	/*
	 * The IANA name of the TLS cipher suite ("TLS_AES_256_GCM_SHA384",
	 * OpenSSL's SSL_CIPHER_standard_name()), for the "tls" clause of
	 * Received: (RFC 8314 section 4.3); NULL: taken from tls_info when it
	 * holds such a name.
	 */
	const char *tls_cipher;
};

struct cleanup_result {
	int status;	   /* 0: queued; else an SMTP reply code such as 451, 452, 550, 552, 554 */
	char dsn[16];	   /* enhanced status code, "2.0.0", "5.3.4", ... */
	char *text;	   /* human text for the reply, without code and dsn (malloc'd), or NULL */
	char queue_id[32]; /* the queue ID when status == 0 */
};

/*
 * cleanup_open - connect to the cleanup service of queue_dir ("/" in a
 * process chrooted to the queue directory) and check its protocol;
 * timeout_ms (> 0) bounds each write and each wait for an answer.
 */
struct cleanup_client *cleanup_open(const char *queue_dir, int timeout_ms, char **error_r);

int cleanup_envelope(struct cleanup_client *c, const struct cleanup_envelope *env, char **error_r);

/* cleanup_rcpt - one recipient; orcpt is the DSN ORCPT ("rfc822;addr") or NULL. */
int cleanup_rcpt(struct cleanup_client *c, const char *rcpt, const char *orcpt, unsigned notify,
		 char **error_r);

/* cleanup_write - more of the message content. */
int cleanup_write(struct cleanup_client *c, const void *data, size_t len, char **error_r);

/*
 * cleanup_finish - end of content: wait until the message is on disk (or
 * refused) and fill *result. Returns -1 only when the conversation failed.
 */
int cleanup_finish(struct cleanup_client *c, struct cleanup_result *result, char **error_r);

/* cleanup_abort - give up on the message: cleanup removes what it wrote. */
void cleanup_abort(struct cleanup_client *c);

/* cleanup_close - disconnect (aborting an unfinished message) and free. NULL is allowed. */
void cleanup_close(struct cleanup_client **c);

void cleanup_result_free(struct cleanup_result *result);

#endif
