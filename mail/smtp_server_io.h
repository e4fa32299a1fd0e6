/*
 * smtp_server_io - what the SMTP and LMTP servers (smtpd, lmtp) share of a
 * client connection: its non-blocking stream, every wait bounded by the
 * server's timeout, reading command lines and content with pipelined
 * replies flushed only when the client has nothing more to say (RFC
 * 2920), and a close that lets the client read our last reply. The
 * replies, error count and command bookkeeping on the same connection
 * are in mail/smtp_server_reply.h.
 *
 * A session embeds one struct smtp_server_conn, fills in the fields
 * marked "set by the session" and zeroes the rest.
 */
#ifndef TERN_SMTP_SERVER_IO_H
#define TERN_SMTP_SERVER_IO_H

#include <stddef.h>

#include "mail/smtp_cmd.h"
#include "util/stream.h"
#include "util/strbuf.h"

/* Replies buffered for a client that pipelines without reading them, before we wait. */
#define SMTP_SERVER_OUT_MAX (64 * 1024)
/* How long a closing connection waits for the client to close after our last reply. */
#define SMTP_SERVER_LINGER_MS 2000

struct smtp_server_conn {
	/* set by the session */
	struct stream *stream; /* on fd, non-blocking mode */
	int fd;
	int timeout_ms;		    /* the bound of every wait */
	const char *peer;	    /* the client, for logs ("name[addr]", "[addr]:port") */
	const char *id;		    /* the session ID that starts its log lines, or NULL */
	long long soft_error_limit; /* errors beyond this are delayed ... */
	long long error_sleep_ms;   /* ... this much times the excess (at most timeout_ms) */
	/* kept by smtp_server_reply.h and the session's command handling */
	long long errors;    /* replies that counted as errors */
	int last_code;	     /* the code of the last reply sent */
	enum smtp_verb verb; /* the command being (or last) handled */
	unsigned long stat_total[SMTP_CMD_COUNT], stat_ok[SMTP_CMD_COUNT];
};

/* smtp_server_now_ms - the monotonic clock in milliseconds. */
long long smtp_server_now_ms(void);

/*
 * smtp_server_wait_until - wait until the descriptor is ready for wants
 * (STREAM_WANT_*) or the monotonic deadline (ms) passes: STREAM_OK,
 * STREAM_TIMEOUT or STREAM_ERROR (logged).
 */
enum stream_status smtp_server_wait_until(struct smtp_server_conn *c, unsigned wants,
					  long long deadline);
/* smtp_server_wait - smtp_server_wait_until() at most timeout_ms from now. */
enum stream_status smtp_server_wait(struct smtp_server_conn *c, unsigned wants);

/* smtp_server_flush - send the buffered replies (within timeout_ms). */
enum stream_status smtp_server_flush(struct smtp_server_conn *c);
/*
 * smtp_server_read_line - the next line into line, as stream_read_line():
 * what is buffered first; replies are flushed before waiting for more,
 * and when more than SMTP_SERVER_OUT_MAX bytes of them wait.
 */
enum stream_status smtp_server_read_line(struct smtp_server_conn *c, struct strbuf *line);
/* smtp_server_fill - read more input into the stream (flushing replies before waiting). */
enum stream_status smtp_server_fill(struct smtp_server_conn *c);
/* smtp_server_sleep - flush, then pause ms milliseconds. */
void smtp_server_sleep(struct smtp_server_conn *c, long long ms);

/*
 * smtp_server_lost - log why the connection ended while reading (EOF,
 * timeout, error): "[ID: ]timeout after VERB from PEER" and the like.
 */
void smtp_server_lost(struct smtp_server_conn *c, enum stream_status st);

/*
 * smtp_server_close - flush what is buffered; call end_transport (when not
 * NULL) with ctx and whether the stream is still healthy, e.g. to end TLS;
 * then, when the client still sends, stop writing and read until it
 * closes or SMTP_SERVER_LINGER_MS pass (closing with unread input would
 * reset the connection and lose our last reply); destroy the stream (and
 * close fd).
 */
void smtp_server_close(struct smtp_server_conn *c, void (*end_transport)(void *ctx, int healthy),
		       void *ctx);

#endif
