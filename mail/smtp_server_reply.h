/*
 * smtp_server_reply - what the SMTP and LMTP servers (smtpd, lmtp) share
 * of talking to a client on a struct smtp_server_conn
 * (mail/smtp_server_io.h): replies (buffered; reads flush them), the error
 * count with its growing delays, one step of the command loop with its
 * limits, and the disconnect line with the command counts that Postfix
 * log tools read:
 *
 *   [ID: ]disconnect from PEER ehlo=1 mail=1 rcpt=0/1 data=0/1 quit=1 commands=3/5
 */
#ifndef TERN_SMTP_SERVER_REPLY_H
#define TERN_SMTP_SERVER_REPLY_H

#include <stdarg.h>
#include <stddef.h>

#include "mail/smtp_server_io.h"
#include "util/strbuf.h"

/*
 * smtp_server_vreply - send a one-line reply "code x.y.z text" (fmt starts
 * with the code; a reply without one is a bug: msg_panic). Control
 * characters become '?'. With count, a 4xx/5xx reply counts as an error:
 * beyond soft_error_limit it is delayed, more each time.
 */
void smtp_server_vreply(struct smtp_server_conn *c, int count, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* smtp_server_reply - smtp_server_vreply() of a reply that counts. */
void smtp_server_reply(struct smtp_server_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* smtp_server_reply_lines - a multi-line 2xx/3xx reply: code, then each line's text. */
void smtp_server_reply_lines(struct smtp_server_conn *c, int code, char *const *lines,
			     size_t count);
/* smtp_server_clean - control characters of a reply text (CR, LF, ...) become '?'. */
void smtp_server_clean(struct strbuf *text);
/* smtp_server_printable - up to 100 bytes of a client's line for the log (malloc'd), cleaned. */
char *smtp_server_printable(const struct strbuf *line);

/*
 * smtp_server_next_line - one step of a command loop: 0 with the next
 * command line in line (last_code reset), or -1 when the session ends:
 * errors reached hard_error_limit (421 sent, logged), or the client went
 * (logged; 421 sent on a timeout). A line too long is refused here (500)
 * and counted as an unknown command. hostname goes into the 421 replies.
 */
int smtp_server_next_line(struct smtp_server_conn *c, struct strbuf *line,
			  long long hard_error_limit, const char *hostname);

/* One counter of the disconnect line: its name and the command it counts. */
struct smtp_server_stat {
	const char *name;
	enum smtp_verb verb;
};

/*
 * smtp_server_log_disconnect - "[ID: ]disconnect from PEER" and the
 * counters of order (count of them) that are not zero, "name=total", or
 * "name=ok/total" when some of those commands failed, then "commands=".
 */
void smtp_server_log_disconnect(const struct smtp_server_conn *c,
				const struct smtp_server_stat *order, size_t count);

#endif
