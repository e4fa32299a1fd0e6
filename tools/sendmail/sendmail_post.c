/*
 * sendmail_post - post the message on standard input: work out the
 * envelope (sender, full name, recipients from the arguments and, with -t,
 * from the header), drop Bcc: fields, and pass envelope and content to
 * postdrop(1) as a maildrop stream, which writes the maildrop file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "mail/address.h"
#include "mail/mail_conf.h"
#include "mail/maildrop.h"
#include "tools/sendmail/sendmail.h"
#include "util/msg.h"
#include "util/mymalloc.h"

/* Bytes of the message read and sent to postdrop at a time. */
#define POST_CHUNK (4 * MAILDROP_CHUNK_MAX)

/* The conversation with postdrop. */
struct post {
	pid_t pid;
	int fd;	    /* its standard input, -1 once closed */
	int broken; /* it went away (EPIPE) */
	struct strbuf out;
};

struct envelope_ctx {
	struct sendmail *sm;
	struct maildrop_envelope env;
	char *origin; /* $myorigin, normalised */
};

static int non_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/* qualify - parse addr and give it $myorigin when it has no domain (malloc'd result). */
static char *qualify(struct envelope_ctx *ec, const char *addr, int flags, char **error_r)
{
	struct address a;
	char *result = NULL;

	if (address_parse(addr, strlen(addr), flags | ADDRESS_UTF8 | ADDRESS_NO_DOMAIN_OK, &a,
			  error_r) == 0) {
		if (!a.null && a.domain == NULL)
			a.domain = xstrdup(ec->origin);
		result = address_format(&a);
		if (non_ascii(result))
			ec->env.flags |= MAILDROP_FLAG_SMTPUTF8;
	}
	address_free(&a);
	return result;
}

/* add_list - the recipients of an address list (an argument or a header field value). */
static void add_list(struct envelope_ctx *ec, const char *text, const char *where)
{
	char **addrs = NULL, *error = NULL, *rcpt;
	size_t n = 0, i, j;

	if (sendmail_addr_list(text, &addrs, &n, &error) < 0)
		sendmail_die(EX_NOUSER, "%s: bad address list \"%s\": %s", where, text, error);
	for (i = 0; i < n; i++) {
		if ((rcpt = qualify(ec, addrs[i], 0, &error)) == NULL)
			sendmail_die(EX_NOUSER, "%s: bad recipient address \"%s\": %s", where,
				     addrs[i], error);
		for (j = 0; j < ec->env.nrcpts && strcmp(ec->env.rcpts[j], rcpt) != 0; j++)
			;
		if (j == ec->env.nrcpts) {
			if (ec->env.nrcpts >= MAILDROP_RCPT_MAX)
				sendmail_die(EX_USAGE, "more than %d recipients",
					     MAILDROP_RCPT_MAX);
			maildrop_envelope_add_rcpt(&ec->env, rcpt);
		}
		free(rcpt);
		free(addrs[i]);
	}
	free(addrs);
}

/* is_field - whether field f has one of the names (NULL-terminated), in any case. */
static int is_field(const struct sendmail_field *f, const char *const *names)
{
	for (; *names; names++)
		if (strcasecmp(f->name, *names) == 0)
			return 1;
	return 0;
}

/* extract - sendmail -t: the recipients of Resent-To/Cc/Bcc when there are any, else To/Cc/Bcc. */
static void extract(struct envelope_ctx *ec, const struct sendmail_header *hdr)
{
	static const char *const resent[] = {"resent-to", "resent-cc", "resent-bcc", NULL};
	static const char *const plain[] = {"to", "cc", "bcc", NULL};
	const char *const *names = plain;
	char *value;
	size_t i;

	for (i = 0; i < hdr->nfields; i++)
		if (is_field(&hdr->fields[i], resent))
			names = resent;
	for (i = 0; i < hdr->nfields; i++) {
		if (!is_field(&hdr->fields[i], names))
			continue;
		value = sendmail_field_value(&hdr->fields[i]);
		add_list(ec, value, hdr->fields[i].name);
		free(value);
	}
}

/* set_sender - -f, or the login name of the real user, qualified. */
static void set_sender(struct envelope_ctx *ec, const struct passwd *pw)
{
	const char *given = ec->sm->sender;
	char *error = NULL, *local;

	if (given != NULL && (given[0] == '\0' || strcmp(given, "<>") == 0)) {
		ec->env.sender = xstrdup("");
	} else if (given != NULL) {
		ec->env.sender = qualify(ec, given, ADDRESS_NULL_OK, &error);
		if (ec->env.sender == NULL)
			sendmail_die(EX_USAGE, "-f %s: bad sender address: %s", given, error);
	} else {
		if (pw == NULL)
			sendmail_die(EX_NOUSER, "no login name for user ID %ld", (long)getuid());
		local = address_quote_local(pw->pw_name);
		ec->env.sender = qualify(ec, local, 0, &error);
		if (ec->env.sender == NULL)
			sendmail_die(EX_NOUSER, "login name \"%s\": not usable as an address: %s",
				     pw->pw_name, error);
		free(local);
	}
	if (strlen(ec->env.sender) > MAILDROP_ADDR_MAX)
		sendmail_die(EX_USAGE, "sender address too long");
}

/* name_ok - whether a full name may go into the maildrop file. */
static int name_ok(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0 || len > MAILDROP_NAME_MAX || !address_utf8_valid(s, len))
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* set_full_name - -F, else $NAME, else the first part of the GECOS field, when usable. */
static void set_full_name(struct envelope_ctx *ec, const struct passwd *pw)
{
	const char *env = getenv("NAME");
	char *gecos;

	if (ec->sm->full_name != NULL) {
		if (!name_ok(ec->sm->full_name))
			sendmail_die(EX_USAGE, "-F: the full name must be 1 to %d bytes of text",
				     MAILDROP_NAME_MAX);
		ec->env.full_name = xstrdup(ec->sm->full_name);
	} else if (env != NULL && name_ok(env)) {
		ec->env.full_name = xstrdup(env);
	} else if (pw != NULL && pw->pw_gecos != NULL) {
		gecos = xstrndup(pw->pw_gecos, strcspn(pw->pw_gecos, ","));
		if (name_ok(gecos) && strchr(gecos, '&') == NULL)
			ec->env.full_name = gecos;
		else
			free(gecos);
	}
}

/* build_envelope - everything but the content. */
static void build_envelope(struct envelope_ctx *ec, const struct sendmail_header *hdr)
{
	const char *origin = mail_conf_str(ec->sm->conf, "myorigin");
	struct passwd *pw = getpwuid(getuid());
	char *error = NULL;
	int i;

	if (address_domain_normalise(origin, strlen(origin), ADDRESS_UTF8 | ADDRESS_NO_LITERAL,
				     &ec->origin, &error) < 0)
		sendmail_die(EX_CONFIG, "myorigin = %s: %s", origin, error);
	ec->env.flags = ec->sm->flags;
	set_sender(ec, pw);
	set_full_name(ec, pw);
	if (ec->sm->envid != NULL)
		ec->env.envid = xstrdup(ec->sm->envid);
	for (i = 0; i < ec->sm->nrcpts; i++)
		add_list(ec, ec->sm->rcpts[i], "recipient");
	if (ec->sm->extract)
		extract(ec, hdr);
	if (ec->env.nrcpts == 0)
		sendmail_die(EX_USAGE, "%s",
			     ec->sm->extract
				 ? "no recipient addresses found in the message header"
				 : "no recipients given (use -t to take them from the header)");
	if (maildrop_envelope_check(&ec->env, false, &error) < 0)
		sendmail_die(EX_USAGE, "%s", error);
}

/* post_start - run postdrop with a pipe to its standard input. */
static void post_start(struct post *p, const struct sendmail *sm)
{
	char *path = xasprintf("%s/postdrop", mail_conf_str(sm->conf, "command_directory"));
	char *argv[6];
	int fds[2], argc = 0;

	argv[argc++] = "postdrop";
	if (sm->config_dir != NULL) {
		argv[argc++] = "-c";
		argv[argc++] = (char *)sm->config_dir;
	}
	if (msg_verbose() > 0)
		argv[argc++] = "-v";
	argv[argc] = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		sendmail_die(EX_OSERR, "pipe: %s", strerror(errno));
	p->pid = fork();
	if (p->pid < 0)
		sendmail_die(EX_OSERR, "fork: %s", strerror(errno));
	if (p->pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(fds[0], STDIN_FILENO) < 0)
			_exit(EX_OSERR);
		execv(path, argv);
		msg_error("run %s: %s", path, strerror(errno));
		_exit(errno == ENOENT ? EX_OSFILE : EX_UNAVAILABLE);
	}
	close(fds[0]);
	p->fd = fds[1];
	free(path);
}

/* post_flush - send what is buffered; after EPIPE nothing more is sent. */
static void post_flush(struct post *p)
{
	size_t off = 0;
	ssize_t n;

	while (!p->broken && off < p->out.len) {
		n = write(p->fd, p->out.data + off, p->out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EPIPE)
			sendmail_die(EX_IOERR, "write to postdrop: %s", strerror(errno));
		if (n < 0)
			p->broken = 1;
		else
			off += (size_t)n;
	}
	strbuf_reset(&p->out);
}

/* post_wait - close the pipe and wait for postdrop; its exit status. */
static int post_wait(struct post *p)
{
	int status;

	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	while (waitpid(p->pid, &status, 0) < 0)
		if (errno != EINTR)
			sendmail_die(EX_OSERR, "wait for postdrop: %s", strerror(errno));
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	msg_error("postdrop was killed by signal %d", WTERMSIG(status));
	return EX_TEMPFAIL;
}

/* post_abandon - stop postdrop (it removes its temporary file) and wait for it. */
static void post_abandon(struct post *p)
{
	kill(p->pid, SIGTERM);
	post_wait(p);
}

/* send_header - the header fields that stay (no Bcc:), and the blank line if one was missing. */
static void send_header(struct post *p, const struct sendmail_header *hdr, long long *total)
{
	static const char *const bcc[] = {"bcc", "resent-bcc", NULL};
	size_t i;

	for (i = 0; i < hdr->nfields; i++) {
		if (is_field(&hdr->fields[i], bcc))
			continue;
		maildrop_encode_content(&p->out, hdr->fields[i].text.data, hdr->fields[i].text.len);
		*total += (long long)hdr->fields[i].text.len;
	}
	if (hdr->no_blank_line) {
		maildrop_encode_content(&p->out, "\n", 1);
		(*total)++;
	}
}

int sendmail_post(struct sendmail *sm)
{
	long long limit = mail_conf_size(sm->conf, "message_size_limit"), total = 0;
	struct sendmail_input *in = sendmail_input_create(stdin, sm->ignore_dots, limit);
	struct sendmail_header hdr;
	struct envelope_ctx ec;
	struct strbuf body = STRBUF_INIT;
	struct post p = {.fd = -1};
	char *error = NULL;
	int status;

	memset(&ec, 0, sizeof(ec));
	ec.sm = sm;
	maildrop_envelope_init(&ec.env);
	if (sendmail_read_header(in, &hdr, &error) < 0)
		sendmail_die(EX_DATAERR, "%s", error);
	build_envelope(&ec, &hdr);
	post_start(&p, sm);
	maildrop_encode_envelope(&p.out, &ec.env);
	send_header(&p, &hdr, &total);
	do {
		post_flush(&p);
		if (sendmail_read_body(in, &body, POST_CHUNK, &error) < 0) {
			post_abandon(&p);
			sendmail_die(EX_DATAERR, "%s", error);
		}
		maildrop_encode_content(&p.out, body.data, body.len);
		total += (long long)body.len;
	} while (body.len > 0 && !p.broken);
	maildrop_encode_end(&p.out, total);
	post_flush(&p);
	status = post_wait(&p);
	msg_debug("posted %lld bytes for %zu recipient(s): postdrop status %d", total,
		  ec.env.nrcpts, status);
	strbuf_free(&p.out);
	strbuf_free(&body);
	sendmail_header_free(&hdr);
	sendmail_input_free(&in);
	maildrop_envelope_free(&ec.env);
	free(ec.origin);
	return status;
}
