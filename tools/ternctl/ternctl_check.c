/*
 * ternctl_check - "ternctl check" after main.cf and master.cf have been read:
 * the programs master runs exist, the spool and store directories match the
 * manifest, and a TLS certificate exists (a self-signed one is made when
 * neither the certificate nor the key is there).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/mail_conf.h"
#include "mail/master_conf.h"
#include "tools/ternctl/ternctl.h"
#include "util/mymalloc.h"
#include "util/tls.h"

#define SELFSIGNED_DAYS 3650

/* check_program - an executable regular file at path; reported otherwise. */
static int check_program(const char *path, const char *what)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		ternctl_error("%s: %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0) {
		ternctl_error("%s: %s is not an executable file", what, path);
		return -1;
	}
	return 0;
}

static int check_programs(const struct ternctl *t)
{
	const char *dir = mail_conf_str(t->conf, "daemon_directory");
	const struct master_service_conf *sc;
	char *path, *what;
	size_t i;
	int rc;

	path = xasprintf("%s/master", dir);
	rc = check_program(path, "daemon_directory");
	free(path);
	for (i = 0; i < t->mconf->count; i++) {
		sc = &t->mconf->services[i];
		if (strchr(sc->command, '/') != NULL)
			path = xstrdup(sc->command);
		else
			path = xasprintf("%s/%s", dir, sc->command);
		what = xasprintf("%s:%d: service %s", sc->file, sc->line, sc->name);
		if (check_program(path, what) < 0)
			rc = -1;
		free(what);
		free(path);
	}
	return rc;
}

/* make_parent - create the directory that will hold path, when missing. */
static int make_parent(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int rc = 0;

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == 0) {
			ternctl_report("created directory %s (mode 0755)", dir);
		} else if (errno != EEXIST) {
			ternctl_error("create directory %s: %s", dir, strerror(errno));
			rc = -1;
		}
	}
	free(dir);
	return rc;
}

/* check_tls - the server certificate and key: both or neither (then made) must exist. */
static int check_tls(const struct ternctl *t)
{
	const char *cert = mail_conf_str(t->conf, "tls_cert_file");
	const char *key = mail_conf_str(t->conf, "tls_key_file");
	const char *host = mail_conf_str(t->conf, "myhostname");
	int have_cert, have_key;
	char *error = NULL;

	if (*cert == '\0' || *key == '\0')
		return 0;
	have_cert = access(cert, F_OK) == 0;
	have_key = access(key, F_OK) == 0;
	if (have_cert && have_key)
		return 0;
	if (have_cert || have_key) {
		ternctl_error("tls_%s_file %s exists but tls_%s_file %s does not",
			      have_cert ? "cert" : "key", have_cert ? cert : key,
			      have_cert ? "key" : "cert", have_cert ? key : cert);
		return -1;
	}
	if (make_parent(cert) < 0 || make_parent(key) < 0)
		return -1;
	if (tls_selfsigned_create(cert, key, host, SELFSIGNED_DAYS, &error) < 0) {
		ternctl_error("create a self-signed certificate: %s", error);
		free(error);
		return -1;
	}
	ternctl_report("created a self-signed certificate for %s: %s (key %s)", host, cert, key);
	return 0;
}

int ternctl_check(struct ternctl *t)
{
	char *manifest = xasprintf("%s/tern.manifest", mail_conf_str(t->conf, "meta_directory"));
	int rc = 0;

	if (check_programs(t) < 0)
		rc = -1;
	if (ternctl_manifest(t->conf, manifest) < 0)
		rc = -1;
	if (check_tls(t) < 0)
		rc = -1;
	free(manifest);
	return rc;
}
