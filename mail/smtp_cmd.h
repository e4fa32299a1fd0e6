/*
 * smtp_cmd - the SMTP command parser that smtpd and lmtp share: one
 * command line in, a verb and its arguments out, or the reply that refuses
 * it. No I/O and no state: the session layer decides whether a command is
 * allowed now (smtpd refuses LHLO, lmtp refuses HELO and EHLO).
 *
 * Grammar (RFC 5321 section 4.1, with ESMTP parameters of RFC 1870, 3030,
 * 3461, 4954, 6152 and 6531), applied liberally where real clients differ
 * and strictly where a sloppy reading would be a security problem:
 *
 *   - verbs are case-insensitive; SP and HTAB separate words, and runs of
 *     them count as one; white space at the end of the line is ignored;
 *   - NUL and other control characters (but HTAB) are refused anywhere;
 *     bytes >= 0x80 must form valid UTF-8 (RFC 6531 allows UTF-8 in
 *     addresses and some parameter values; whether SMTPUTF8 was asked for
 *     is checked later, by the address parser);
 *   - MAIL FROM: and RCPT TO: take a path (with angle brackets, which may
 *     hold quoted strings with spaces, or without them, up to the next
 *     space), and then "keyword[=value]" parameters; a space after the
 *     colon is tolerated;
 *   - parameter keywords are esmtp-keywords (a letter or digit, then
 *     letters, digits and '-'), values are esmtp-values (no '=', no space,
 *     no controls); a keyword given twice is refused;
 *   - DATA, RSET, QUIT and STARTTLS take no argument; NOOP and HELP take
 *     any; HELO, EHLO, LHLO (RFC 2033), VRFY and EXPN need one;
 *   - BDAT takes a chunk size (decimal, at most SMTP_BDAT_DIGITS digits) and
 *     an optional LAST;
 *   - AUTH takes a mechanism name and an optional initial response.
 *
 * Verbs that HTTP and proxy clients send (GET, POST, CONNECT, ...) are
 * recognised as SMTP_CMD_FORBIDDEN, so that the server can hang up on a
 * cross-protocol attack at once.
 *
 * The ESMTP parameters of MAIL and RCPT are decoded by smtp_mail_opts_parse()
 * and smtp_rcpt_opts_parse(): SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH; NOTIFY,
 * ORCPT. A parameter of an extension the server did not announce is refused
 * as RFC 5321 section 4.1.1.11 says, with 555.
 */
#ifndef TERN_SMTP_CMD_H
#define TERN_SMTP_CMD_H

#include <stddef.h>

#include "util/strbuf.h"

enum smtp_verb {
	SMTP_CMD_UNKNOWN = 0,
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_BDAT,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_QUIT,
	SMTP_CMD_HELP,
	SMTP_CMD_VRFY,
	SMTP_CMD_EXPN,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,
	SMTP_CMD_FORBIDDEN, /* GET, POST, CONNECT, ...: not a mail client */
	SMTP_CMD_LHLO,	    /* LMTP's greeting (RFC 2033) */
	SMTP_CMD_COUNT
};

/* Most ESMTP parameters on one MAIL or RCPT command. */
#define SMTP_PARAMS_MAX 16
/* Most digits of a BDAT chunk size (fits in 63 bits). */
#define SMTP_BDAT_DIGITS 18
/* Longest HELO/EHLO/LHLO argument. */
#define SMTP_HELO_MAX 255
/* Longest SASL mechanism name (RFC 4422 section 3.1: 20 characters). */
#define SMTP_MECH_MAX 20
/* Longest ENVID (RFC 3461 section 4.4) and ORCPT (section 4.2) values, encoded. */
#define SMTP_ENVID_MAX 100
#define SMTP_ORCPT_MAX 500

struct smtp_param {
	char *keyword; /* as given; compare without regard to case */
	char *value;   /* NULL when there was no "=value" */
};

struct smtp_cmd {
	enum smtp_verb verb;
	char *arg;  /* everything after the verb, trimmed; "" when none */
	char *path; /* MAIL, RCPT: the path as written (with its brackets, if any) */
	struct smtp_param params[SMTP_PARAMS_MAX];
	size_t nparams;
	char *mech;		  /* AUTH: the mechanism, upper case */
	char *initial;		  /* AUTH: the initial response as written, or NULL */
	unsigned long long chunk; /* BDAT: the chunk size */
	int last;		  /* BDAT: LAST was given */
};

/* Why a command was refused: an SMTP reply (static strings). */
struct smtp_cmd_error {
	int code;	  /* 500, 501, 555 */
	const char *dsn;  /* "5.5.2" */
	const char *text; /* "Error: command not recognized" */
};

/*
 * smtp_cmd_parse - parse the len bytes at line (without its CRLF). Returns
 * 0 with *cmd filled, or -1 with *err set; in both cases *cmd is to be freed
 * with smtp_cmd_free() (cmd->verb is known even after most errors).
 */
int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd, struct smtp_cmd_error *err);
void smtp_cmd_free(struct smtp_cmd *cmd);

/* smtp_verb_name - the verb in upper case ("MAIL"), "UNKNOWN" for SMTP_CMD_UNKNOWN. */
const char *smtp_verb_name(enum smtp_verb verb);

/* Extensions a session announced, as far as parameters are concerned. */
#define SMTP_EXT_SIZE (1u << 0)
#define SMTP_EXT_8BITMIME (1u << 1)
#define SMTP_EXT_SMTPUTF8 (1u << 2)
#define SMTP_EXT_DSN (1u << 3)
#define SMTP_EXT_AUTH (1u << 4)

enum smtp_body { SMTP_BODY_NONE, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };
enum smtp_ret { SMTP_RET_NONE, SMTP_RET_FULL, SMTP_RET_HDRS };

/* The decoded parameters of MAIL FROM. */
struct smtp_mail_opts {
	long long size; /* SIZE=, -1 when absent; LLONG_MAX when too large to count */
	enum smtp_body body;
	int smtputf8;
	enum smtp_ret ret;
	char *envid; /* ENVID= decoded from xtext, or NULL */
	char *auth;  /* AUTH= decoded from xtext ("<>" for none), or NULL */
};

/* NOTIFY bits (the same values as CLEANUP_NOTIFY_*). */
#define SMTP_NOTIFY_NEVER (1u << 0)
#define SMTP_NOTIFY_SUCCESS (1u << 1)
#define SMTP_NOTIFY_FAILURE (1u << 2)
#define SMTP_NOTIFY_DELAY (1u << 3)

/* The decoded parameters of RCPT TO. */
struct smtp_rcpt_opts {
	unsigned notify; /* 0: not given */
	char *orcpt;	 /* "addr-type;address" with the address decoded, or NULL */
};

/*
 * smtp_mail_opts_parse - decode the parameters of a parsed MAIL command;
 * ext says which extensions were announced. Returns 0, or -1 with *err set.
 * Free *opts with smtp_mail_opts_free() in both cases.
 */
int smtp_mail_opts_parse(const struct smtp_cmd *cmd, unsigned ext, struct smtp_mail_opts *opts,
			 struct smtp_cmd_error *err);
void smtp_mail_opts_free(struct smtp_mail_opts *opts);

/* smtp_rcpt_opts_parse - the same for RCPT; smtputf8: the transaction's MAIL had SMTPUTF8. */
int smtp_rcpt_opts_parse(const struct smtp_cmd *cmd, unsigned ext, int smtputf8,
			 struct smtp_rcpt_opts *opts, struct smtp_cmd_error *err);
void smtp_rcpt_opts_free(struct smtp_rcpt_opts *opts);

/*
 * smtp_xtext_decode - append the decoding of the xtext (RFC 3461 section 4)
 * at in to out: "+XX" (upper-case hex) stands for a byte; other characters
 * must be printable ASCII other than '+' and '='. With utf8, the RFC 6533
 * forms are accepted too: raw UTF-8 and "\x{HEX}" for a code point.
 * Returns 0, or -1 when in is not valid (out then holds garbage).
 */
int smtp_xtext_decode(const char *in, size_t len, int utf8, struct strbuf *out);

#endif
