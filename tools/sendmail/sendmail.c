/*
 * sendmail - the sendmail(1) compatible command of Tern (see sendmail(1)).
 *
 * It parses sendmail's common options, reads main.cf, and then posts the
 * message on standard input (through postdrop into the maildrop directory),
 * runs an SMTP session on standard input and output (smtpd -S), lists the
 * queue (-bp, or when called as mailq), or asks qmgr to flush the queue
 * (-q). Exit status per sysexits.h.
 */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "mail/maildrop.h"
#include "tools/sendmail/sendmail.h"
#include "util/msg.h"
#include "util/mymalloc.h"

#define OPTIONS "A:B:C:F:GIL:N:O:R:UV:X:b:c:e:f:h:imno:p:q::r:tvx"

void sendmail_die(int status, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	msg_error("%s", text);
	free(text);
	exit(status);
}

static void usage(const char *why)
{
	if (why != NULL)
		msg_error("%s", why);
	fputs("usage: sendmail [-t] [-i|-oi] [-f sender] [-F full_name] [-B 7BIT|8BITMIME]\n"
	      "                [-N never|success,failure,delay] [-R full|hdrs] [-V envid]\n"
	      "                [-c config_dir] [-v] [--] [recipient...]\n"
	      "       sendmail -bs [-c config_dir]\n"
	      "       sendmail -bp [-c config_dir]    (or: mailq)\n"
	      "       sendmail -q [-c config_dir]\n",
	      stderr);
	exit(EX_USAGE);
}

/* opt_notify - -N: never, or a comma-separated list of success, failure, delay. */
static unsigned opt_notify(const char *arg)
{
	unsigned flags = 0;
	char *copy = xstrdup(arg), *word, *save = NULL;

	for (word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
		if (strcasecmp(word, "never") == 0)
			flags |= MAILDROP_FLAG_NOTIFY_NEVER;
		else if (strcasecmp(word, "success") == 0)
			flags |= MAILDROP_FLAG_NOTIFY_SUCCESS;
		else if (strcasecmp(word, "failure") == 0)
			flags |= MAILDROP_FLAG_NOTIFY_FAILURE;
		else if (strcasecmp(word, "delay") == 0)
			flags |= MAILDROP_FLAG_NOTIFY_DELAY;
		else
			usage("-N: use never, or a list of success, failure, delay");
	}
	free(copy);
	if (flags == 0 ||
	    (flags & MAILDROP_FLAG_NOTIFY_NEVER && flags != MAILDROP_FLAG_NOTIFY_NEVER))
		usage("-N: use never, or a list of success, failure, delay");
	return flags;
}

/* opt_config - -C: a directory, or a main.cf file whose directory is meant. */
static const char *opt_config(const char *arg)
{
	struct stat st;
	char *copy;

	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
		return arg;
	copy = xstrdup(arg);
	return dirname(copy); /* kept for the life of the process */
}

/* opt_mode - -b: m, s, p; i (newaliases) is accepted; the rest are not supported. */
static void opt_mode(struct sendmail *sm, const char *arg)
{
	if (strcmp(arg, "m") == 0)
		sm->mode = SENDMAIL_POST;
	else if (strcmp(arg, "s") == 0)
		sm->mode = SENDMAIL_SMTP;
	else if (strcmp(arg, "p") == 0)
		sm->mode = SENDMAIL_LIST;
	else if (strcmp(arg, "i") == 0)
		sm->mode = SENDMAIL_NOTHING;
	else if (strcmp(arg, "d") == 0)
		usage("-bd is not supported: start Tern with ternctl start");
	else
		usage("-b: use -bm, -bs or -bp");
}

/* opt_queue - -q flushes; -qR/-qS/-qI (a subset) flush everything; -q<interval> is ignored. */
static void opt_queue(struct sendmail *sm, const char *arg)
{
	if (arg == NULL || arg[0] == 'R' || arg[0] == 'S' || arg[0] == 'I' || arg[0] == '!')
		sm->mode = SENDMAIL_FLUSH;
	else
		sm->mode = SENDMAIL_NOTHING;
}

/* option - one option; those of sendmail 8 and Postfix that mean nothing here are ignored. */
static void option(struct sendmail *sm, int opt, const char *arg)
{
	switch (opt) {
	case 'B':
		if (strcasecmp(arg, "8BITMIME") == 0)
			sm->flags |= MAILDROP_FLAG_8BITMIME;
		else if (strcasecmp(arg, "7BIT") != 0)
			usage("-B: use 7BIT or 8BITMIME");
		break;
	case 'C':
		sm->config_dir = opt_config(arg);
		break;
	case 'c':
		sm->config_dir = arg;
		break;
	case 'F':
		sm->full_name = arg;
		break;
	case 'I':
		sm->mode = SENDMAIL_NOTHING;
		break;
	case 'N':
		sm->flags =
		    (sm->flags & ~(MAILDROP_FLAG_NOTIFY_NEVER | MAILDROP_FLAG_NOTIFY_SUCCESS |
				   MAILDROP_FLAG_NOTIFY_FAILURE | MAILDROP_FLAG_NOTIFY_DELAY)) |
		    opt_notify(arg);
		break;
	case 'R':
		sm->flags &= ~(MAILDROP_FLAG_RET_FULL | MAILDROP_FLAG_RET_HDRS);
		if (strcasecmp(arg, "full") == 0)
			sm->flags |= MAILDROP_FLAG_RET_FULL;
		else if (strcasecmp(arg, "hdrs") == 0)
			sm->flags |= MAILDROP_FLAG_RET_HDRS;
		else
			usage("-R: use full or hdrs");
		break;
	case 'V':
		sm->envid = arg;
		break;
	case 'b':
		opt_mode(sm, arg);
		break;
	case 'f':
	case 'r':
		sm->sender = arg;
		break;
	case 'i':
		sm->ignore_dots = 1;
		break;
	case 'o':
		if (strcmp(arg, "i") == 0)
			sm->ignore_dots = 1;
		else
			msg_debug("-o%s ignored", arg);
		break;
	case 'q':
		opt_queue(sm, arg);
		break;
	case 't':
		sm->extract = 1;
		break;
	case 'v':
		msg_set_verbose(msg_verbose() + 1);
		break;
	case '?':
	case ':':
		usage(NULL);
		break;
	default: /* -A -G -L -O -U -X -e -h -m -n -p -x: nothing to do */
		msg_debug("-%c ignored", opt);
	}
}

/* run_smtpd - -bs: become smtpd in stand-alone mode on standard input and output. */
static int run_smtpd(const struct sendmail *sm)
{
	char *path = xasprintf("%s/smtpd", mail_conf_str(sm->conf, "daemon_directory"));
	char *argv[] = {"smtpd", "-S", "-c", (char *)mail_conf_str(sm->conf, "config_directory"),
			NULL};

	fflush(stdout);
	signal(SIGPIPE, SIG_DFL);
	execv(path, argv);
	msg_error("run %s: %s", path, strerror(errno));
	free(path);
	return errno == ENOENT ? EX_OSFILE : EX_UNAVAILABLE;
}

int main(int argc, char **argv)
{
	struct sendmail sm;
	const char *name = argc > 0 ? strrchr(argv[0], '/') : NULL;
	char *error = NULL;
	int opt, rc;

	memset(&sm, 0, sizeof(sm));
	name = name ? name + 1 : argc > 0 ? argv[0] : "sendmail";
	msg_init("sendmail");
	signal(SIGPIPE, SIG_IGN); /* a postdrop that fails early is reported by its status */
	if (strcmp(name, "mailq") == 0)
		sm.mode = SENDMAIL_LIST;
	else if (strcmp(name, "newaliases") == 0)
		sm.mode = SENDMAIL_NOTHING;
	opterr = 0;
	while ((opt = getopt(argc, argv, ":" OPTIONS)) != -1)
		option(&sm, opt, optarg);
	sm.rcpts = argv + optind;
	sm.nrcpts = argc - optind;
	if (sm.mode != SENDMAIL_POST && sm.nrcpts > 0)
		usage("recipients are only for posting a message");
	if ((sm.conf = mail_conf_load(sm.config_dir, &error)) == NULL)
		sendmail_die(EX_CONFIG, "%s", error);
	switch (sm.mode) {
	case SENDMAIL_POST:
		rc = sendmail_post(&sm);
		break;
	case SENDMAIL_SMTP:
		rc = run_smtpd(&sm);
		break;
	case SENDMAIL_LIST:
		rc = sendmail_list(&sm);
		break;
	case SENDMAIL_FLUSH:
		rc = sendmail_flush(&sm);
		break;
	default:
		msg_debug("nothing to do");
		rc = EX_OK;
	}
	mail_conf_free(&sm.conf);
	return rc;
}
