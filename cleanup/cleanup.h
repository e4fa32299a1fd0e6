/*
 * cleanup.h - the parts of the cleanup daemon: the session (cleanup.c)
 * receives records and drives one message at a time through the
 * envelope (cleanup_envelope.c), the content with its header processing
 * (cleanup_message.c), the headers cleanup adds (cleanup_addhdr.c), and
 * the end: commit, answer, log, wake qmgr (cleanup_finish.c).
 */
#ifndef TERN_CLEANUP_H
#define TERN_CLEANUP_H

#include <stddef.h>
#include <time.h>

#include "mail/header.h"
#include "mail/queue_id.h"
#include "mail/queue_writer.h"
#include "util/strbuf.h"

/* What cleanup needs of main.cf, read once per process. */
struct cleanup_conf {
	const char *myhostname;
	const char *myorigin;
	long long message_size_limit;
	long long header_size_limit;
	long long header_count_limit;
	long long hopcount_limit;
	int received_sasl_username; /* name the SASL user in Received: */
	int ipc_timeout_ms;
	int incoming_fd;       /* $queue_directory/incoming */
	unsigned writer_flags; /* from queue_writer_probe() */
};

/* The envelope record as received (the session owns the buffers). */
struct cleanup_env {
	struct strbuf sender, envid;
	long long flags, ret, size_hint;
	struct strbuf client_name, client_addr, client_port, helo, protocol, tls_info, tls_cipher,
	    sasl_method, sasl_username, local_user, full_name;
};

enum cleanup_phase {
	PHASE_ENVELOPE, /* recipients may come */
	PHASE_HEADER,	/* content: in the header section */
	PHASE_BODY,	/* content: in the body */
};

/* One message. */
struct cleanup_msg {
	const struct cleanup_conf *conf;
	const struct cleanup_env *env;
	struct queue_writer *w; /* NULL once refused or failed: the file is gone */
	char id[QUEUE_ID_SIZE];
	/* the answer when refused (status != 0) */
	int status;
	char dsn[16];
	char *text;
	/* recipients */
	long long nrcpt;
	char *first_rcpt;
	/* content */
	enum cleanup_phase phase;
	struct strbuf line; /* a line not yet complete */
	long long client_bytes;
	struct header_parser *hp;
	long long hops;
	int have_msgid, have_date, have_from;
	char *message_id; /* as found or added */
};

/* cleanup_envelope.c */
/* cleanup_msg_begin - a new message: check the envelope, create the queue file. */
struct cleanup_msg *cleanup_msg_begin(const struct cleanup_conf *conf,
				      const struct cleanup_env *env, char **error_r);
/* cleanup_msg_rcpt - one recipient; -1 with *error_r for a protocol violation. */
int cleanup_msg_rcpt(struct cleanup_msg *m, const char *rcpt, const char *orcpt, long long notify,
		     char **error_r);
/* cleanup_msg_free - forget the message; a queue file not committed is removed. */
void cleanup_msg_free(struct cleanup_msg **m);
/* cleanup_safe_text - s with control characters replaced by '?', for logs (malloc'd). */
char *cleanup_safe_text(const char *s, size_t max);

/* cleanup_message.c */
/* cleanup_msg_data - more content. */
void cleanup_msg_data(struct cleanup_msg *m, const char *data, size_t len);
/* cleanup_msg_content_end - the content is complete: flush the last line and the header. */
void cleanup_msg_content_end(struct cleanup_msg *m);
/* cleanup_refuse - refuse the message with code, dsn and text; what says why, for the log. */
void cleanup_refuse(struct cleanup_msg *m, int code, const char *dsn, const char *text,
		    const char *what);

/* cleanup_addhdr.c */
/* cleanup_add_received - the Received: header, as the first content lines. */
void cleanup_add_received(struct cleanup_msg *m);
/* cleanup_add_missing - Message-ID:, Date:, From: (local) when the header lacks them. */
void cleanup_add_missing(struct cleanup_msg *m);
/* cleanup_date - an RFC 5322 date-time for t, appended to sb. */
void cleanup_date(struct strbuf *sb, time_t t);

/* cleanup_finish.c */
/* cleanup_msg_finish - the client is done: commit or refuse; fill the answer. */
void cleanup_msg_finish(struct cleanup_msg *m, int *status_r, const char **dsn_r,
			const char **text_r);

#endif
