/*
 * ternconf - show and edit main.cf, show master.cf, print main.cf(5).
 *
 * The parts of the command, one file each: ternconf.c (options, showing
 * parameters and services), ternconf_edit.c (-e), ternconf_man.c (-m).
 * Each returns the exit status: 0 for success, 1 after an error that it
 * has reported on standard error as "ternconf: ...".
 */
#ifndef TERN_TERNCONF_H
#define TERN_TERNCONF_H

#include <stdio.h>

/* ternconf_error - print "ternconf: text" on standard error. */
void ternconf_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ternconf_warnings - print each of the NULL-terminated warnings as "ternconf: warning: ...". */
void ternconf_warnings(const char *const *warnings);

/*
 * ternconf_edit - apply count "name=value" assignments to config_dir/main.cf,
 * keeping comments, blank lines and order; the new file is validated before
 * it replaces the old one.
 */
int ternconf_edit(const char *config_dir, char **assignments, int count);

/* ternconf_man - write main.cf(5), in roff, generated from the parameter table. */
int ternconf_man(FILE *fp);

#endif
