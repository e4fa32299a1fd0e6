/*
 * deliver_proto - the conversation between qmgr and a delivery agent
 * (the smtp program, speaking SMTP or LMTP), and the per-message status logs
 * that carry recipients' outcomes to bounce and delay notices.
 *
 * qmgr connects to $queue_directory/private/<transport> (a master.cf unix
 * service such as "smtp" or "lmtp"). The agent speaks first with the
 * handshake {protocol=deliver, version=1} (util/attr.h). Then, for each
 * delivery (one message, one next hop, one or more recipients):
 *
 *   qmgr -> agent  {queue_id, queue_path, transport, nexthop, sender, flags,
 *                   arrival (seconds.microseconds),
 *                   rcpt_count}
 *                  then rcpt_count records {address, orcpt, notify, offset}
 *
 *     queue_path  relative to queue_directory: "active/QID"
 *     nexthop     "domain" (MX lookup), "[host]" or "[host]:port" (no MX
 *                 lookup), "host:port", or "unix:/path" (LMTP over a unix
 *                 socket)
 *     flags       the envelope flags of the queue file (CLEANUP_FLAG_*)
 *     offset      the byte offset of the recipient's R record in the queue
 *                 file (what queue_mark_done() takes)
 *
 *   agent -> qmgr  one record per recipient, in any order:
 *                  {offset, status, dsn, text, relay}
 *     status      2 delivered, 4 deferred (try again later), 5 failed
 *     dsn         the enhanced status code "X.Y.Z"
 *     text        the reply (or the local reason), for logs and notices
 *     relay       "host[ip]:port", or "none" when no connection was made
 *   then {done=1}.
 *
 * The agent, not qmgr, records each outcome before it answers:
 *   - status 2: appends a "delivered" entry to the trace log when the
 *     recipient asked NOTIFY=SUCCESS, then marks the recipient done in the
 *     queue file (queue_mark_done(): pwrite of the type byte + fsync);
 *   - status 5: appends the failure to the bounce log, then marks it done;
 *   - status 4: appends the reason to the defer log; the recipient stays.
 * A log entry is written (and fsync'd) before the done mark, so a crash
 * between the two repeats a delivery or a notice at worst, never loses one.
 * qmgr, once a message has no recipient left, sends the notices the logs
 * call for (bounce_flush) and removes the message and its logs; on expiry
 * it turns the defer log into a bounce; after delay_warning_time it sends a
 * delay notice once.
 *
 * Logs live in $queue_directory/bounce/QID, defer/QID and trace/QID (see
 * mail/status_log.h). The agent logs each outcome in Postfix's shape:
 *   QID: to=<rcpt>, orig_to=<orcpt>, relay=host[ip]:port, delay=N,
 *        delays=a/b/c/d, dsn=X.Y.Z, status=sent|deferred|bounced (text)
 */
#ifndef TERN_DELIVER_PROTO_H
#define TERN_DELIVER_PROTO_H

#define DELIVER_PROTOCOL "deliver"
#define DELIVER_PROTOCOL_VERSION 1

/* The most recipients in one delivery request. */
#define DELIVER_RCPT_MAX 10000

enum deliver_status {
	DELIVER_OK = 2,
	DELIVER_DEFER = 4,
	DELIVER_FAIL = 5,
};

#endif
