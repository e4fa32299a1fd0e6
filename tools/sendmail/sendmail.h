/*
 * sendmail - the parts of the sendmail(1) command: options and modes
 * (sendmail.c), posting a message (sendmail_post.c), reading it and its
 * header (sendmail_input.c), address lists (sendmail_addr.c), and the queue
 * listing and flush request (sendmail_queue.c).
 */
#ifndef TERN_SENDMAIL_H
#define TERN_SENDMAIL_H

#include <stddef.h>
#include <stdio.h>

#include "util/strbuf.h"

struct mail_conf;

enum sendmail_mode {
	SENDMAIL_POST,	 /* -bm: post the message on standard input (default) */
	SENDMAIL_SMTP,	 /* -bs: an SMTP session on standard input and output */
	SENDMAIL_LIST,	 /* -bp, mailq: list the queue */
	SENDMAIL_FLUSH,	 /* -q: ask qmgr to try every deferred message now */
	SENDMAIL_NOTHING /* -bi, -I, newaliases, -q<interval>: accepted, nothing to do */
};

struct sendmail {
	const char *config_dir; /* -c or -C, NULL: the compiled-in one */
	struct mail_conf *conf;
	enum sendmail_mode mode;
	int extract;	       /* -t */
	int ignore_dots;       /* -i, -oi */
	const char *sender;    /* -f, -r, or NULL */
	const char *full_name; /* -F, or NULL */
	const char *envid;     /* -V, or NULL */
	unsigned flags;	       /* MAILDROP_FLAG_* of -B, -N, -R */
	char **rcpts;	       /* recipient arguments */
	int nrcpts;
};

/* sendmail_die - report on standard error and exit with a sysexits.h status. */
void sendmail_die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* ---- sendmail_post.c ---- */

/* sendmail_post - read the message on standard input and post it; returns the exit status. */
int sendmail_post(struct sendmail *sm);

/* ---- sendmail_input.c ---- */

/*
 * The message as read from standard input: lines without their CR LF or LF
 * (written back with LF), ending at EOF or, unless ignore_dots, at a line
 * holding a single dot. A "From " line at the very start is dropped. At most
 * limit bytes (with line ends) are taken.
 */
struct sendmail_input;

/* One header field: its lines, each ended by LF. */
struct sendmail_field {
	char *name; /* as written, without the colon */
	struct strbuf text;
};

struct sendmail_header {
	struct sendmail_field *fields;
	size_t nfields;
	/* the header section did not end with an empty line (a body line came first) */
	int no_blank_line;
};

struct sendmail_input *sendmail_input_create(FILE *fp, int ignore_dots, long long limit);
void sendmail_input_free(struct sendmail_input **inp);

/* sendmail_read_header - the header section; 0, or -1 with *error_r (too big, read error). */
int sendmail_read_header(struct sendmail_input *in, struct sendmail_header *hdr, char **error_r);
void sendmail_header_free(struct sendmail_header *hdr);

/*
 * sendmail_read_body - up to about max bytes of the rest into out (replaced):
 * 0 with out empty at the end, 0 with data, or -1 with *error_r.
 */
int sendmail_read_body(struct sendmail_input *in, struct strbuf *out, size_t max, char **error_r);

/* sendmail_field_value - the field's value after the colon, unfolded (malloc'd). */
char *sendmail_field_value(const struct sendmail_field *f);

/* ---- sendmail_addr.c ---- */

/*
 * sendmail_addr_list - the mailboxes of an RFC 5322 address list (a To: or
 * Cc: field, or a recipient argument such as "Ann <ann@example.org>, bob"):
 * for each its addr-spec as written, without display name, comments, group
 * syntax or source route. Empty members and empty groups give nothing.
 * Appends malloc'd strings to *addrs (with *count); returns 0, or -1 with
 * *error_r set (and nothing appended) when the list is malformed.
 */
int sendmail_addr_list(const char *text, char ***addrs, size_t *count, char **error_r);

/* ---- sendmail_queue.c ---- */

/* sendmail_list - print the queue (mailq); returns the exit status. */
int sendmail_list(struct sendmail *sm);

/* sendmail_flush - ask qmgr to deliver what it can now; returns the exit status. */
int sendmail_flush(struct sendmail *sm);

#endif
