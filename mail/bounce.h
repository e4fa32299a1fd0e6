/*
 * bounce - the notices the status logs call for: failure notices
 * ("bounces"), delay warnings and success notices, as RFC 3464 delivery
 * status notifications (see mail/dsn.h for their form, and
 * mail/deliver_proto.h and mail/status_log.h for the logs).
 *
 * Who gets a notice:
 *   - A notice goes to the original envelope sender, from the null sender
 *     <>, and only for the recipients whose DSN NOTIFY asks for that kind
 *     (no NOTIFY given counts as NOTIFY=FAILURE,DELAY; NOTIFY=NEVER gets
 *     nothing).
 *   - A message from the null sender never gets a notice. When one fails,
 *     the failure goes instead to 2bounce_notice_recipient (a "double
 *     bounce"), from double_bounce_sender; with that parameter empty it is
 *     only logged. Delay and success notices are not sent for it at all.
 *   - A message from double_bounce_sender (a double bounce that failed in
 *     turn) gets no notice of any kind: its failure is only logged.
 *   - When bounce_notice_recipient is set, it gets a copy of each failure
 *     notice sent to a sender, with the original's header only, from
 *     double_bounce_sender.
 *
 * What a failure notice returns: the whole original message (message/rfc822)
 * unless the sender asked RET=HDRS or the message is larger than
 * bounce_size_limit; then its header section (text/rfc822-headers). Delay
 * and success notices return the header section only (RFC 3461 section
 * 4.3: RET applies to failure notices).
 *
 * Notices enter the queue through the cleanup service, which must run;
 * each step of that conversation waits at most ipc_timeout, and never more
 * than a minute (the caller, qmgr, waits meanwhile).
 * Each function returns 0 when every notice that was due has been queued
 * (or none was due), or -1 with *error_r when one could not be (cleanup
 * unreachable or refusing, the queue file unreadable): the logs are then
 * left as they were, so that a later call sends what is missing (a notice
 * sent before the failure may then be sent twice; never none).
 *
 * queue_path is the queue file, relative to queue_directory ("active/QID")
 * or absolute. Each notice is logged as "QID: sender non-delivery
 * notification: NEWQID" (or "postmaster non-delivery", "sender delay",
 * "sender delivery status").
 */
#ifndef TERN_BOUNCE_H
#define TERN_BOUNCE_H

#include "mail/mail_conf.h"

/*
 * bounce_flush - for a message that qmgr is done with for now: a failure
 * notice for the recipients in its bounce log, a success notice for those
 * in its trace log that asked NOTIFY=SUCCESS; then remove the bounce and
 * trace logs (each as soon as its notice is queued). The defer log stays.
 * When neither log exists it returns 0 at once, without reading the queue
 * file (qmgr calls it after every round).
 */
int bounce_flush(const struct mail_conf *conf, const char *queue_id, const char *queue_path,
		 char **error_r);

/*
 * bounce_expire - the message has been in the queue too long: every
 * recipient not yet done fails with status 4.4.7 ("delivery time
 * expired"), its diagnostic the last reason of the defer log, in one
 * failure notice together with the entries of the bounce log; then the
 * success notice of the trace log as bounce_flush() sends it. Afterwards
 * every recipient is marked done in the queue file (which must be
 * writable) and all three logs are removed: qmgr then removes the message.
 */
int bounce_expire(const struct mail_conf *conf, const char *queue_id, const char *queue_path,
		  char **error_r);

/*
 * bounce_delay_warning - a delay notice for the recipients not yet done
 * whose NOTIFY allows it, each with the last reason of the defer log and
 * Will-Retry-Until (arrival + maximal_queue_lifetime). Nothing changes in
 * the queue: remembering that the warning was sent, so that it is sent
 * once, is the caller's part. Sends nothing when no recipient qualifies.
 */
int bounce_delay_warning(const struct mail_conf *conf, const char *queue_id, const char *queue_path,
			 char **error_r);

#endif
