/*
 * ternctl - what the parts of ternctl share: the loaded configuration and
 * how to report. ternctl.c holds the commands that talk to master,
 * ternctl_check.c the configuration checks, ternctl_manifest.c the spool
 * and store directories from the manifest.
 */
#ifndef TERN_TERNCTL_H
#define TERN_TERNCTL_H

#include <stdio.h>

struct mail_conf;
struct master_conf;

struct ternctl {
	const char *config_dir;
	struct mail_conf *conf;
	struct master_conf *mconf;
};

/* ternctl_error - "ternctl: <message>" on standard error. */
void ternctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ternctl_report - one line on standard output about something done ("created ..."). */
void ternctl_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ternctl_load - read main.cf, and master.cf too if asked; errors are reported. 0 or -1. */
int ternctl_load(struct ternctl *t, int master_cf);

/*
 * ternctl_check - everything "ternctl check" does after loading: the
 * programs master will run exist, the manifest's directories are there
 * with their owners and modes, the TLS certificate exists. 0 or -1 (errors
 * are reported).
 */
int ternctl_check(struct ternctl *t);

/*
 * ternctl_manifest - create and repair what the manifest at path lists,
 * with the variables of conf. Each change is reported. 0 or -1.
 */
int ternctl_manifest(const struct mail_conf *conf, const char *path);

#endif
