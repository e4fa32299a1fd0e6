/*
 * sendmail_queue - sendmail -bp (mailq) and sendmail -q: both are
 * ternqueue's work ("ternqueue list", "ternqueue flush"), so sendmail
 * becomes $command_directory/ternqueue with the same configuration
 * directory. The listing reads the queue directly, so it needs the rights
 * of root or mail_owner.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "tools/sendmail/sendmail.h"
#include "util/mymalloc.h"

/* run_ternqueue - replace this process with "ternqueue -c CONFIG_DIR command". */
static int run_ternqueue(struct sendmail *sm, const char *command)
{
	char *path = xasprintf("%s/ternqueue", mail_conf_str(sm->conf, "command_directory"));
	char *config = xstrdup(mail_conf_str(sm->conf, "config_directory"));
	char *cmd = xstrdup(command), *name = xstrdup("ternqueue"), *opt = xstrdup("-c");
	char *argv[] = {name, opt, config, cmd, NULL};

	fflush(stdout);
	execv(path, argv);
	sendmail_die(EX_UNAVAILABLE, "cannot run %s: %s", path, strerror(errno));
}

int sendmail_list(struct sendmail *sm)
{
	return run_ternqueue(sm, "list");
}

int sendmail_flush(struct sendmail *sm)
{
	return run_ternqueue(sm, "flush");
}
