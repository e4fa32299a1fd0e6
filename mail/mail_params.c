/*
 * mail_params - the one table of main.cf parameters.
 *
 * To add a parameter, add one entry, keeping the table sorted by name (a unit
 * test checks the order and that every entry has a doc line), then run
 * "ternconf -m > man/main.cf.5". Columns: name, type, default as written in
 * main.cf (NULL: computed when the configuration is loaded), min, max (for
 * int, time in seconds, size in bytes), extra check (NULL for none), doc.
 */
#include <limits.h>
#include <string.h>

#include "mail/mail_conf.h"
#include "util/mymalloc.h"

#define KB 1024LL
#define MB (1024LL * KB)
#define HOUR 3600LL
#define DAY (24 * HOUR)

/* check_absolute - a directory or file name that does not depend on the working directory. */
static int check_absolute(const char *value, char **error_r)
{
	if (value[0] == '/')
		return 0;
	*error_r = xstrdup("must be an absolute path name");
	return -1;
}

/* check_not_empty - for names that something will be looked up by. */
static int check_not_empty(const char *value, char **error_r)
{
	if (value[strspn(value, " \t")] != '\0')
		return 0;
	*error_r = xstrdup("must not be empty");
	return -1;
}

/* check_log_to - the targets that msg_set_target() knows. */
static int check_log_to(const char *value, char **error_r)
{
	if (strcmp(value, "syslog") == 0 || strcmp(value, "stderr") == 0 || value[0] == '/')
		return 0;
	*error_r = xstrdup("must be syslog, stderr or an absolute file name");
	return -1;
}

/* check_inet_protocols - all, or ipv4 and/or ipv6. */
static int check_inet_protocols(const char *value, char **error_r)
{
	const char *p = value, *sep = ", \t";
	size_t n, words = 0, all = 0;

	while (*(p += strspn(p, sep)) != '\0') {
		n = strcspn(p, sep);
		words++;
		if (n == 3 && strncmp(p, "all", 3) == 0)
			all++;
		else if (!(n == 4 && (strncmp(p, "ipv4", 4) == 0 || strncmp(p, "ipv6", 4) == 0)))
			goto bad;
		p += n;
	}
	if (words > 0 && (all == 0 || words == 1))
		return 0;
bad:
	*error_r = xstrdup("must be all, ipv4, ipv6 or \"ipv4, ipv6\"");
	return -1;
}

/* check_inet_interfaces - all, or a list of IP addresses and host names. */
static int check_inet_interfaces(const char *value, char **error_r)
{
	const char *p = value, *sep = ", \t";
	size_t n, words = 0, all = 0;

	while (*(p += strspn(p, sep)) != '\0') {
		n = strcspn(p, sep);
		words++;
		if (n == 3 && strncmp(p, "all", 3) == 0)
			all++;
		else if (
		    strspn(p,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") <
		    n)
			goto bad;
		p += n;
	}
	if (words > 0 && (all == 0 || words == 1))
		return 0;
bad:
	*error_r = xstrdup("must be all or a list of IP addresses and host names");
	return -1;
}

/* check_directory_type - the directory back-ends that mail/directory.c knows. */
static int check_directory_type(const char *value, char **error_r)
{
	if (strcmp(value, "internal") == 0)
		return 0;
	*error_r = xstrdup("must be internal");
	return -1;
}

/* check_password_scheme - the schemes that mail/password.c makes new hashes with. */
static int check_password_scheme(const char *value, char **error_r)
{
	if (strcmp(value, "yescrypt") == 0 || strcmp(value, "argon2id") == 0)
		return 0;
	*error_r = xstrdup("must be yescrypt or argon2id");
	return -1;
}

const struct param_def mail_param_table[] = {
    {"auth_client_timeout", PARAM_TIME, "60s", 1, HOUR, NULL,
     "How long smtpd, imapd, pop3d and the other clients of the auth service wait for each of its answers."},
    {"auth_connection_limit", PARAM_INT, "1000", 1, 100000, NULL,
     "How many client connections the auth daemon serves at once; more wait to be accepted."},
    {"auth_failure_decay", PARAM_TIME, "5m", 1, DAY, NULL,
     "After each such period without a failed login, the failure count of a client IP or account is halved."},
    {"auth_failure_delay_max", PARAM_TIME, "15s", 0, 300, NULL,
     "The longest delay before the auth service answers a failed login."},
    {"auth_failure_delay_ms", PARAM_INT, "500", 0, 60000, NULL,
     "The delay in milliseconds before a first failed login is answered; it doubles with each further failure from the same client IP or for the same account."},
    {"auth_request_limit", PARAM_SIZE, "16k", KB, MB, NULL,
     "The largest request record, in bytes, that the auth service accepts."},
    {"auth_verify_threads", PARAM_INT, "0", 0, 64, NULL,
     "How many threads of the auth daemon compute password hashes at once; 0: one per CPU."},
    {"command_directory", PARAM_STR, TERN_COMMAND_DIR, 0, 0, check_absolute,
     "Where the administrator commands (ternctl, ternconf, ...) are installed."},
    {"config_directory", PARAM_STR, TERN_CONFIG_DIR, 0, 0, NULL,
     "Where main.cf and master.cf are; always the directory that was read (-c DIR), whatever main.cf says."},
    {"daemon_directory", PARAM_STR, TERN_DAEMON_DIR, 0, 0, check_absolute,
     "Where master finds the programs named in the command column of master.cf."},
    {"data_directory", PARAM_STR, TERN_DATA_DIR, 0, 0, check_absolute,
     "Where Tern keeps writable data that is not mail: lookup stores, caches, TLS session keys."},
    {"default_process_limit", PARAM_INT, "100", 1, 100000, NULL,
     "How many children a service may run at once when its maxproc column in master.cf is \"-\"."},
    {"directory_type", PARAM_STR, "internal", 0, 0, check_directory_type,
     "Where domains, accounts and aliases are kept: internal (Berkeley DB in $data_directory/directory, changed with ternadmin)."},
    {"dns_servers", PARAM_LIST, "", 0, 0, NULL,
     "Addresses of the DNS resolvers to ask; empty: those of /etc/resolv.conf."},
    {"health_banner", PARAM_STR, "$myhostname tern health", 0, 0, NULL,
     "The line the health service sends to each client."},
    {"inet_interfaces", PARAM_LIST, "all", 0, 0, check_inet_interfaces,
     "The addresses inet services listen on when master.cf gives only a port: all, or a list of addresses."},
    {"inet_protocols", PARAM_LIST, "all", 0, 0, check_inet_protocols,
     "The IP versions to use: all, ipv4, ipv6, or ipv4, ipv6."},
    {"log_to", PARAM_STR, "syslog", 0, 0, check_log_to,
     "Where programs log: syslog (facility mail), stderr, or an absolute file name."},
    {"mail_owner", PARAM_STR, "tern", 0, 0, check_not_empty,
     "The user that the mail transfer programs (smtpd, cleanup, qmgr, smtp) run as when started as root."},
    {"master_drain_timeout", PARAM_TIME, "30s", 0, HOUR, NULL,
     "How long master waits after SIGTERM for children to finish their sessions before it kills them."},
    {"max_idle", PARAM_TIME, "100s", 1, DAY, NULL,
     "How long a child waits for its next connection before it exits."},
    {"max_use", PARAM_INT, "100", 1, 10000000, NULL,
     "How many connections a child serves before it exits and master starts a fresh one."},
    {"message_size_limit", PARAM_SIZE, "52428800", KB, LLONG_MAX, NULL,
     "The largest message, in bytes including its header, that Tern accepts."},
    {"meta_directory", PARAM_STR, TERN_META_DIR, 0, 0, check_absolute,
     "Where read-only files that Tern installs are kept: the directory manifest, rc scripts."},
    {"mydestination", PARAM_LIST, "$myhostname, localhost.$mydomain, localhost", 0, 0, NULL,
     "The domains that this machine delivers locally."},
    {"mydomain", PARAM_STR, NULL, 0, 0, check_not_empty,
     "The domain of this machine; default: $myhostname without its first label, or localdomain when it has only one."},
    {"myhostname", PARAM_STR, NULL, 0, 0, check_not_empty,
     "The name of this machine in SMTP greetings and Received: headers; default: the system host name, fully qualified when the resolver knows how."},
    {"mynetworks", PARAM_LIST, "127.0.0.0/8 [::1]/128", 0, 0, NULL,
     "The client networks (address/prefix) that may relay mail through this machine."},
    {"myorigin", PARAM_STR, "$myhostname", 0, 0, check_not_empty,
     "The domain that locally posted mail appears to come from."},
    {"password_scheme", PARAM_STR, "yescrypt", 0, 0, check_password_scheme,
     "The hash that ternadmin stores new passwords as: yescrypt or argon2id."},
    {"queue_directory", PARAM_STR, TERN_QUEUE_DIR, 0, 0, check_absolute,
     "The spool: queue files and the private/ and public/ service sockets."},
    {"recipient_delimiter", PARAM_STR, "", 0, 0, NULL,
     "The characters that separate a user name from an address extension (user+ext); empty: none."},
    {"relay_domains", PARAM_LIST, "", 0, 0, NULL,
     "The domains that this machine accepts mail for and relays to other machines."},
    {"relayhost", PARAM_STR, "", 0, 0, NULL,
     "The machine to send all non-local mail to ([host]:port or host:port); empty: deliver directly to each domain's MX."},
    {"sasl_mechanisms", PARAM_LIST, "PLAIN LOGIN", 0, 0, NULL,
     "The SASL mechanisms offered to clients, in order of preference (PLAIN, LOGIN)."},
    {"sasl_plaintext_without_tls", PARAM_BOOL, "no", 0, 0, NULL,
     "Whether mechanisms that send the password as it is (PLAIN, LOGIN) are offered on connections without TLS."},
    {"service_prefork", PARAM_INT, "1", 0, 1000, NULL,
     "How many idle children master keeps ready for each service, never more than its maxproc."},
    {"service_throttle_time", PARAM_TIME, "60s", 1, HOUR, NULL,
     "The longest delay before master restarts a service whose children keep failing."},
    {"store_directory", PARAM_STR, TERN_STORE_DIR, 0, 0, check_absolute,
     "The mailbox store: one directory per domain and user."},
    {"store_owner", PARAM_STR, "vmail", 0, 0, check_not_empty,
     "The user that the store programs (lmtp, imapd, pop3d, managesieved) run as when started as root."},
    {"tls_ca_file", PARAM_STR, "", 0, 0, NULL,
     "A file of trusted CA certificates (PEM) for verifying peers; empty: none."},
    {"tls_cert_file", PARAM_STR, "$config_directory/tls/cert.pem", 0, 0, NULL,
     "The server certificate chain (PEM), certificate first."},
    {"tls_key_file", PARAM_STR, "$config_directory/tls/key.pem", 0, 0, NULL,
     "The private key (PEM) of tls_cert_file."},
    {NULL, PARAM_STR, NULL, 0, 0, NULL, NULL},
};
