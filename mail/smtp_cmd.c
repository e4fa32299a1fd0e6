/*
 * smtp_cmd - the SMTP command parser (see smtp_cmd.h): tokenising a
 * command line into a verb, a path and ESMTP parameters. The decoding of
 * the parameters' values lives in smtp_esmtp.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/address.h"
#include "mail/smtp_cmd.h"
#include "util/mymalloc.h"

struct verb_def {
	const char *name;
	enum smtp_verb verb;
	const char *syntax; /* the 501 reply text for a bad argument */
};

static const struct verb_def verbs[] = {
    {"HELO", SMTP_CMD_HELO, "Syntax: HELO hostname"},
    {"EHLO", SMTP_CMD_EHLO, "Syntax: EHLO hostname"},
    {"LHLO", SMTP_CMD_LHLO, "Syntax: LHLO hostname"},
    {"MAIL", SMTP_CMD_MAIL, "Syntax: MAIL FROM:<address> [parameters]"},
    {"RCPT", SMTP_CMD_RCPT, "Syntax: RCPT TO:<address> [parameters]"},
    {"DATA", SMTP_CMD_DATA, "Syntax: DATA"},
    {"BDAT", SMTP_CMD_BDAT, "Syntax: BDAT chunk-size [LAST]"},
    {"RSET", SMTP_CMD_RSET, "Syntax: RSET"},
    {"NOOP", SMTP_CMD_NOOP, "Syntax: NOOP [string]"},
    {"QUIT", SMTP_CMD_QUIT, "Syntax: QUIT"},
    {"HELP", SMTP_CMD_HELP, "Syntax: HELP [string]"},
    {"VRFY", SMTP_CMD_VRFY, "Syntax: VRFY address"},
    {"EXPN", SMTP_CMD_EXPN, "Syntax: EXPN list"},
    {"STARTTLS", SMTP_CMD_STARTTLS, "Syntax: STARTTLS"},
    {"AUTH", SMTP_CMD_AUTH, "Syntax: AUTH mechanism [initial-response]"},
};

/* Verbs of HTTP and proxy protocols: a browser or proxy scan, never a mail client. */
static const char *const forbidden[] = {"GET",	   "POST",    "PUT",   "HEAD",	"DELETE",
					"CONNECT", "OPTIONS", "TRACE", "PATCH", NULL};

const char *smtp_verb_name(enum smtp_verb verb)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (verbs[i].verb == verb)
			return verbs[i].name;
	}
	return verb == SMTP_CMD_FORBIDDEN ? "FORBIDDEN" : "UNKNOWN";
}

static void set_error(struct smtp_cmd_error *err, int code, const char *dsn, const char *text)
{
	err->code = code;
	err->dsn = dsn;
	err->text = text;
}

static int syntax(struct smtp_cmd_error *err, enum smtp_verb verb)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (verbs[i].verb == verb)
			break;
	}
	set_error(err, 501, "5.5.4",
		  i < sizeof(verbs) / sizeof(verbs[0]) ? verbs[i].syntax : "Error: bad syntax");
	return -1;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && is_ws(*p))
		p++;
	return p;
}

static const char *word_end(const char *p, const char *end)
{
	while (p < end && !is_ws(*p))
		p++;
	return p;
}

/* line_ok - no NUL or control character but HTAB, and bytes >= 0x80 form valid UTF-8. */
static int line_ok(const char *line, size_t len, struct smtp_cmd_error *err)
{
	size_t i;
	int high = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			set_error(err, 500, "5.5.2", "Error: control character in command");
			return -1;
		}
		high |= c >= 0x80;
	}
	if (high && !address_utf8_valid(line, len)) {
		set_error(err, 500, "5.5.2", "Error: command is not valid UTF-8");
		return -1;
	}
	return 0;
}

static enum smtp_verb find_verb(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strlen(verbs[i].name) == n && strncasecmp(p, verbs[i].name, n) == 0)
			return verbs[i].verb;
	}
	for (i = 0; forbidden[i] != NULL; i++) {
		if (strlen(forbidden[i]) == n && strncasecmp(p, forbidden[i], n) == 0)
			return SMTP_CMD_FORBIDDEN;
	}
	return SMTP_CMD_UNKNOWN;
}

/* bracket_end - the '>' that closes the path starting with '<' at p, minding quotes; or NULL. */
static const char *bracket_end(const char *p, const char *end)
{
	int quoted = 0;

	for (p++; p < end; p++) {
		if (quoted && *p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '>')
			return p;
		else if (!quoted && *p == '<')
			return NULL;
	}
	return NULL;
}

static int keyword_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = p[i];
		int alnum =
		    (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || c != '-'))
			return 0;
	}
	return 1;
}

/* value_ok - an esmtp-value: printable but '=' and SP, or UTF-8 (checked with the line). */
static int value_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= ' ' || c == '=' || c == 0x7f)
			return 0;
	}
	return 1;
}

/* add_param - one "keyword[=value]" word of n bytes at p. */
static int add_param(struct smtp_cmd *cmd, const char *p, size_t n, struct smtp_cmd_error *err)
{
	const char *eq = memchr(p, '=', n);
	size_t klen = eq != NULL ? (size_t)(eq - p) : n, i;

	if (!keyword_ok(p, klen) || (eq != NULL && !value_ok(eq + 1, n - klen - 1))) {
		set_error(err, 501, "5.5.4", "Error: bad parameter syntax");
		return -1;
	}
	for (i = 0; i < cmd->nparams; i++) {
		if (strlen(cmd->params[i].keyword) == klen &&
		    strncasecmp(cmd->params[i].keyword, p, klen) == 0) {
			set_error(err, 501, "5.5.4", "Error: duplicate parameter");
			return -1;
		}
	}
	if (cmd->nparams >= SMTP_PARAMS_MAX) {
		set_error(err, 501, "5.5.4", "Error: too many parameters");
		return -1;
	}
	cmd->params[cmd->nparams].keyword = xstrndup(p, klen);
	cmd->params[cmd->nparams].value = eq != NULL ? xstrndup(eq + 1, n - klen - 1) : NULL;
	cmd->nparams++;
	return 0;
}

/* parse_path - "FROM:" or "TO:" (prefix), the path, then parameters. */
static int parse_path(struct smtp_cmd *cmd, const char *prefix, struct smtp_cmd_error *err)
{
	const char *p = cmd->arg, *end = p + strlen(p), *q;
	size_t plen = strlen(prefix);

	if ((size_t)(end - p) < plen || strncasecmp(p, prefix, plen) != 0)
		return syntax(err, cmd->verb);
	p = skip_ws(p + plen, end);
	if (p == end)
		return syntax(err, cmd->verb);
	if (*p == '<') {
		if ((q = bracket_end(p, end)) == NULL)
			return syntax(err, cmd->verb);
		q++;
		if (q < end && !is_ws(*q))
			return syntax(err, cmd->verb);
	} else {
		q = word_end(p, end);
	}
	cmd->path = xstrndup(p, (size_t)(q - p));
	for (p = skip_ws(q, end); p < end; p = skip_ws(q, end)) {
		q = word_end(p, end);
		if (add_param(cmd, p, (size_t)(q - p), err) < 0)
			return -1;
	}
	return 0;
}

static int parse_bdat(struct smtp_cmd *cmd, struct smtp_cmd_error *err)
{
	const char *p = cmd->arg, *end = p + strlen(p), *q = word_end(p, end);
	size_t n = (size_t)(q - p), i;

	if (n == 0 || n > SMTP_BDAT_DIGITS)
		return syntax(err, cmd->verb);
	cmd->chunk = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return syntax(err, cmd->verb);
		cmd->chunk = cmd->chunk * 10 + (unsigned long long)(p[i] - '0');
	}
	p = skip_ws(q, end);
	if (p == end)
		return 0;
	q = word_end(p, end);
	if (q != end || q - p != 4 || strncasecmp(p, "LAST", 4) != 0)
		return syntax(err, cmd->verb);
	cmd->last = 1;
	return 0;
}

static int parse_auth(struct smtp_cmd *cmd, struct smtp_cmd_error *err)
{
	const char *p = cmd->arg, *end = p + strlen(p), *q = word_end(p, end);
	size_t n = (size_t)(q - p), i;

	if (n == 0 || n > SMTP_MECH_MAX)
		return syntax(err, cmd->verb);
	for (i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return syntax(err, cmd->verb);
	}
	cmd->mech = xstrndup(p, n);
	for (i = 0; i < n; i++) {
		if (cmd->mech[i] >= 'a' && cmd->mech[i] <= 'z')
			cmd->mech[i] = (char)(cmd->mech[i] - 'a' + 'A');
	}
	p = skip_ws(q, end);
	if (p == end)
		return 0;
	q = word_end(p, end);
	if (q != end)
		return syntax(err, cmd->verb);
	cmd->initial = xstrndup(p, (size_t)(q - p));
	return 0;
}

/* parse_args - the verb's own argument rules. */
static int parse_args(struct smtp_cmd *cmd, struct smtp_cmd_error *err)
{
	size_t n = strlen(cmd->arg);

	switch (cmd->verb) {
	case SMTP_CMD_DATA:
	case SMTP_CMD_RSET:
	case SMTP_CMD_QUIT:
	case SMTP_CMD_STARTTLS:
		return n == 0 ? 0 : syntax(err, cmd->verb);
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
	case SMTP_CMD_LHLO:
		return n > 0 && n <= SMTP_HELO_MAX ? 0 : syntax(err, cmd->verb);
	case SMTP_CMD_VRFY:
	case SMTP_CMD_EXPN:
		return n > 0 ? 0 : syntax(err, cmd->verb);
	case SMTP_CMD_MAIL:
		return parse_path(cmd, "FROM:", err);
	case SMTP_CMD_RCPT:
		return parse_path(cmd, "TO:", err);
	case SMTP_CMD_BDAT:
		return parse_bdat(cmd, err);
	case SMTP_CMD_AUTH:
		return parse_auth(cmd, err);
	default:
		return 0;
	}
}

int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd, struct smtp_cmd_error *err)
{
	const char *end = line + len, *p, *q, *e;

	memset(cmd, 0, sizeof(*cmd));
	if (line_ok(line, len, err) < 0)
		return -1;
	p = skip_ws(line, end);
	q = word_end(p, end);
	if (p == q) {
		set_error(err, 500, "5.5.2", "Error: bad syntax");
		return -1;
	}
	cmd->verb = find_verb(p, (size_t)(q - p));
	p = skip_ws(q, end);
	for (e = end; e > p && is_ws(e[-1]); e--)
		;
	cmd->arg = xstrndup(p, (size_t)(e - p));
	if (cmd->verb == SMTP_CMD_UNKNOWN) {
		set_error(err, 500, "5.5.2", "Error: command not recognized");
		return -1;
	}
	return parse_args(cmd, err);
}

void smtp_cmd_free(struct smtp_cmd *cmd)
{
	size_t i;

	for (i = 0; i < cmd->nparams; i++) {
		free(cmd->params[i].keyword);
		free(cmd->params[i].value);
	}
	cmd->nparams = 0;
	XFREE(cmd->arg);
	XFREE(cmd->path);
	XFREE(cmd->mech);
	XFREE(cmd->initial);
}
