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

/* check_smtpd_tls_level - the TLS policies smtpd knows. */
static int check_smtpd_tls_level(const char *value, char **error_r)
{
	if (strcmp(value, "none") == 0 || strcmp(value, "may") == 0 ||
	    strcmp(value, "encrypt") == 0)
		return 0;
	*error_r = xstrdup("must be none, may or encrypt");
	return -1;
}

/* check_smtpd_bare_newline - what smtpd does with a bare CR or LF in DATA. */
static int check_smtpd_bare_newline(const char *value, char **error_r)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "normalize") == 0)
		return 0;
	*error_r = xstrdup("must be yes or normalize");
	return -1;
}

/* check_smtpd_relay_restrictions - the words smtpd's relay control knows. */
static int check_smtpd_relay_restrictions(const char *value, char **error_r)
{
	static const char *const words[] = {"permit_mynetworks",
					    "permit_sasl_authenticated",
					    "permit_auth_destination",
					    "reject_unauth_destination",
					    "defer_unauth_destination",
					    "permit",
					    "reject",
					    NULL};
	const char *p = value, *sep = ", \t";
	size_t n, i;

	while (*(p += strspn(p, sep)) != '\0') {
		n = strcspn(p, sep);
		for (i = 0; words[i] != NULL; i++) {
			if (strlen(words[i]) == n && strncmp(p, words[i], n) == 0)
				break;
		}
		if (words[i] == NULL) {
			*error_r = xasprintf("unknown restriction \"%.*s\": must be a list of "
					     "permit_mynetworks, permit_sasl_authenticated, "
					     "permit_auth_destination, reject_unauth_destination, "
					     "defer_unauth_destination, permit, reject",
					     (int)n, p);
			return -1;
		}
		p += n;
	}
	return 0;
}

/* check_smtp_protocol - what the smtp delivery agent speaks. */
static int check_smtp_protocol(const char *value, char **error_r)
{
	if (strcmp(value, "smtp") == 0 || strcmp(value, "lmtp") == 0)
		return 0;
	*error_r = xstrdup("must be smtp or lmtp");
	return -1;
}

/* check_smtp_tls_level - the TLS policies of the smtp delivery agent. */
static int check_smtp_tls_level(const char *value, char **error_r)
{
	static const char *const levels[] = {"none", "may", "encrypt", "verify", "secure"};
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(value, levels[i]) == 0)
			return 0;
	*error_r = xstrdup("must be none, may, encrypt, verify or secure");
	return -1;
}

/* check_smtp_address_preference - which IP version the smtp agent tries first. */
static int check_smtp_address_preference(const char *value, char **error_r)
{
	if (strcmp(value, "any") == 0 || strcmp(value, "ipv4") == 0 || strcmp(value, "ipv6") == 0)
		return 0;
	*error_r = xstrdup("must be any, ipv4 or ipv6");
	return -1;
}

/* One row per parameter; kept by hand in this layout (sorted by name). */
/* clang-format off */
const struct param_def mail_param_table[] = {
    {"2bounce_notice_recipient", PARAM_STR, "postmaster", 0, 0, NULL,
     "Who gets the failure notice of a message from the null sender <> (a double bounce), which cannot go back to its sender; empty: such failures are only logged."},
    {"anvil_connection_limit", PARAM_INT, "1000", 1, 100000, NULL,
     "How many client connections (one per smtpd process) the anvil daemon serves at once; more wait to be accepted."},
    {"anvil_rate_time_unit", PARAM_TIME, "60s", 1, DAY, NULL,
     "The time unit over which anvil counts the connection rate of each client."},
    {"anvil_status_update_time", PARAM_TIME, "600s", 1, DAY, NULL,
     "How often anvil logs the largest connection count, connection rate and table size it saw."},
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
    {"bounce_notice_recipient", PARAM_STR, "", 0, 0, NULL,
     "Who gets a copy, with the message header only, of each failure notice sent to a sender (e.g. postmaster); empty: nobody."},
    {"bounce_queue_lifetime", PARAM_TIME, "5d", 0, 365 * DAY, NULL,
     "How long a message from the null sender (itself a notice) may stay in the queue before its recipients fail; 0: try only once."},
    {"bounce_size_limit", PARAM_SIZE, "50000", 0, 100 * MB, NULL,
     "A failure notice returns the whole message when it is at most this large and the sender did not ask RET=HDRS; otherwise only its header."},
    {"command_directory", PARAM_STR, TERN_COMMAND_DIR, 0, 0, check_absolute,
     "Where the administrator commands (ternctl, ternconf, ...) are installed."},
    {"config_directory", PARAM_STR, TERN_CONFIG_DIR, 0, 0, NULL,
     "Where main.cf and master.cf are; always the directory that was read (-c DIR), whatever main.cf says."},
    {"daemon_directory", PARAM_STR, TERN_DAEMON_DIR, 0, 0, check_absolute,
     "Where master finds the programs named in the command column of master.cf."},
    {"data_directory", PARAM_STR, TERN_DATA_DIR, 0, 0, check_absolute,
     "Where Tern keeps writable data that is not mail: lookup stores, caches, TLS session keys."},
    {"default_destination_concurrency_failed_cohort_limit", PARAM_INT, "1", 1, 100, NULL,
     "How many cohorts of deliveries in a row (a cohort: as many deliveries as the destination's concurrency) may fail to reach a destination before qmgr marks it dead and defers its mail for $minimal_backoff_time."},
    {"default_destination_concurrency_limit", PARAM_INT, "20", 1, 1000, NULL,
     "The most deliveries in progress at once to one destination (domain, relay host or socket) of a transport without a <transport>_destination_concurrency_limit."},
    {"default_destination_recipient_limit", PARAM_INT, "50", 1, 10000, NULL,
     "The most recipients in one delivery request to a destination of a transport without a <transport>_destination_recipient_limit."},
    {"default_process_limit", PARAM_INT, "100", 1, 100000, NULL,
     "How many children a service may run at once when its maxproc column in master.cf is \"-\"."},
    {"default_transport", PARAM_STR, "smtp", 0, 0, check_not_empty,
     "Where mail for domains that are neither local nor in relay_domains goes: transport[:nexthop]; without a nexthop, to $relayhost, else to the recipient domain's MX."},
    {"delay_warning_time", PARAM_TIME, "4h", 0, 365 * DAY, NULL,
     "After this long in the queue the sender of a message not yet delivered gets one delay notice (for recipients whose DSN NOTIFY allows it); 0: never."},
    {"directory_type", PARAM_STR, "internal", 0, 0, check_directory_type,
     "Where domains, accounts and aliases are kept: internal (Berkeley DB in $data_directory/directory, changed with ternadmin)."},
    {"dns_retries", PARAM_INT, "2", 1, 10, NULL,
     "How many times the resolver asks the whole list of DNS servers before a lookup fails for now."},
    {"dns_servers", PARAM_LIST, "", 0, 0, NULL,
     "Addresses of the DNS resolvers to ask; empty: those of /etc/resolv.conf."},
    {"dns_timeout", PARAM_TIME, "5s", 1, 60, NULL,
     "How long the resolver waits for one DNS server's answer to one question before it asks the next."},
    {"double_bounce_sender", PARAM_STR, "double-bounce", 0, 0, check_not_empty,
     "The envelope sender of double bounces and postmaster copies of notices (\"@$myorigin\" is added when it has no domain); mail from it that fails is only logged."},
    {"header_count_limit", PARAM_INT, "1000", 10, 100000, NULL,
     "The most header fields a message may have; cleanup refuses a message with more (552 5.3.4)."},
    {"header_size_limit", PARAM_SIZE, "102400", KB, 16 * MB, NULL,
     "The largest header field, in bytes with its continuation lines, that cleanup accepts; a longer one gets the message refused (552 5.3.4)."},
    {"health_banner", PARAM_STR, "$myhostname tern health", 0, 0, NULL,
     "The line the health service sends to each client."},
    {"hopcount_limit", PARAM_INT, "50", 1, 1000, NULL,
     "A message with this many Received: header fields is refused as looping (554 5.4.6)."},
    {"inet_interfaces", PARAM_LIST, "all", 0, 0, check_inet_interfaces,
     "The addresses inet services listen on when master.cf gives only a port: all, or a list of addresses."},
    {"inet_protocols", PARAM_LIST, "all", 0, 0, check_inet_protocols,
     "The IP versions to use: all, ipv4, ipv6, or ipv4, ipv6."},
    {"initial_destination_concurrency", PARAM_INT, "5", 1, 1000, NULL,
     "How many deliveries qmgr runs at once to a destination it has just started to use (slow start); each delivery that reaches it allows one more, up to the destination concurrency limit."},
    {"ipc_timeout", PARAM_TIME, "3600s", 1, DAY, NULL,
     "How long an internal service such as cleanup waits for the next request of its client before it gives up on the conversation."},
    {"lmtp_destination_concurrency_limit", PARAM_INT, "$default_destination_concurrency_limit", 1,
     1000, NULL,
     "The most deliveries in progress at once to one destination of the lmtp transport."},
    {"lmtp_destination_recipient_limit", PARAM_INT, "$default_destination_recipient_limit", 1,
     10000, NULL, "The most recipients in one delivery request of the lmtp transport."},
    {"lmtp_error_sleep_time", PARAM_TIME, "1s", 0, 300, NULL,
     "Once an LMTP client of the lmtp server has made more than lmtp_soft_error_limit protocol errors, each error reply waits this long times the number of errors over that limit."},
    {"lmtp_hard_error_limit", PARAM_INT, "20", 1, 1000, NULL,
     "After this many protocol errors (bad syntax, commands out of order; refused recipients do not count) the lmtp server disconnects the client with 421 4.7.0."},
    {"lmtp_memory_limit", PARAM_SIZE, "1m", 0, 1024 * MB, NULL,
     "The lmtp server holds a message up to this size in memory; a larger one goes to an unlinked temporary file in store_directory."},
    {"lmtp_recipient_limit", PARAM_INT, "1000", 1, 1000000, NULL,
     "The most recipients the lmtp server accepts for one message; more get 452 4.5.3 (the client sends them again in a new transaction)."},
    {"lmtp_save_to_detail_mailbox", PARAM_BOOL, "no", 0, 0, NULL,
     "Whether the lmtp server saves mail for user+detail in the user's mailbox named detail when it exists (else in INBOX)."},
    {"lmtp_soft_error_limit", PARAM_INT, "10", 0, 1000, NULL,
     "After this many protocol errors in one session the lmtp server delays each further error reply (see lmtp_error_sleep_time)."},
    {"lmtp_timeout", PARAM_TIME, "300s", 1, HOUR, NULL,
     "How long the lmtp server waits for its client to send or to read before it gives up (421 4.4.2)."},
    {"local_transport", PARAM_STR, "lmtp:unix:$queue_directory/private/lmtp-store", 0, 0,
     check_not_empty,
     "Where mail for local domains goes, as transport[:nexthop]: by default LMTP to the mailbox store's lmtp service on the unix socket $queue_directory/private/lmtp-store."},
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
    {"maximal_backoff_time", PARAM_TIME, "4000s", 1, DAY, NULL,
     "The longest wait between two attempts to deliver a deferred message."},
    {"maximal_queue_lifetime", PARAM_TIME, "5d", 0, 365 * DAY, NULL,
     "How long a message may stay in the queue; recipients not delivered by then fail (4.4.7) and the sender gets a failure notice; 0: try only once."},
    {"message_size_limit", PARAM_SIZE, "52428800", KB, LLONG_MAX, NULL,
     "The largest message, in bytes including its header, that Tern accepts."},
    {"meta_directory", PARAM_STR, TERN_META_DIR, 0, 0, check_absolute,
     "Where read-only files that Tern installs are kept: the directory manifest, rc scripts."},
    {"minimal_backoff_time", PARAM_TIME, "300s", 1, DAY, NULL,
     "The shortest wait between two attempts to deliver a deferred message; also how long a destination found dead, or a transport found unavailable, is not tried."},
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
    {"qmgr_message_active_limit", PARAM_INT, "20000", 1, 1000000, NULL,
     "The most messages that qmgr holds in the active queue (in memory) at once; the rest wait in incoming/ and deferred/."},
    {"qmgr_message_recipient_limit", PARAM_INT, "20000", 1, 10000000, NULL,
     "qmgr takes no new message into the active queue while the messages there have this many recipients in all (a message is always taken whole)."},
    {"queue_directory", PARAM_STR, TERN_QUEUE_DIR, 0, 0, check_absolute,
     "The spool: queue files and the private/ and public/ service sockets."},
    {"queue_run_delay", PARAM_TIME, "300s", 1, DAY, NULL,
     "How often qmgr looks in deferred/ for messages whose next attempt is due."},
    {"received_sasl_username", PARAM_BOOL, "no", 0, 0, NULL,
     "Whether the Received: header of mail from an authenticated SMTP client names the account it logged in with; no: only the protocol (ESMTPA, ESMTPSA) shows that it authenticated."},
    {"recipient_delimiter", PARAM_STR, "", 0, 0, NULL,
     "The characters that separate a user name from an address extension (user+ext); empty: none."},
    {"relay_domains", PARAM_LIST, "", 0, 0, NULL,
     "The domains that this machine accepts mail for and relays to other machines."},
    {"relay_transport", PARAM_STR, "smtp", 0, 0, check_not_empty,
     "Where mail for the domains of relay_domains goes: transport[:nexthop]; without a nexthop, to the recipient domain's MX."},
    {"relayhost", PARAM_STR, "", 0, 0, NULL,
     "The machine to send all non-local mail to ([host]:port or host:port); empty: deliver directly to each domain's MX."},
    {"sasl_mechanisms", PARAM_LIST, "PLAIN LOGIN", 0, 0, NULL,
     "The SASL mechanisms offered to clients, in order of preference (PLAIN, LOGIN)."},
    {"sasl_plaintext_without_tls", PARAM_BOOL, "no", 0, 0, NULL,
     "Whether mechanisms that send the password as it is (PLAIN, LOGIN) are offered on connections without TLS."},
    {"sender_dependent_relayhost_maps",
     PARAM_STR, "", 0, 0, NULL, "Tables (type:name, ...) that give a relay host per envelope sender (looked up as the address, then @domain, <> for the null sender), in place of $relayhost."},
    {"service_prefork", PARAM_INT, "1", 0, 1000, NULL,
     "How many idle children master keeps ready for each service, never more than its maxproc."},
    {"service_throttle_time", PARAM_TIME, "60s", 1, HOUR, NULL,
     "The longest delay before master restarts a service whose children keep failing."},
    {"setgid_group", PARAM_STR, "terndrop", 0, 0, check_not_empty,
     "The group that postdrop runs as (set-group-ID) to write into $queue_directory/maildrop."},
    {"smtp_address_preference", PARAM_STR, "any", 0, 0, check_smtp_address_preference,
     "Which addresses of a mail server the smtp agent tries first: ipv6, ipv4, or any (chosen at random for each server)."},
    {"smtp_command_timeout", PARAM_TIME, "300s", 1, HOUR, NULL,
     "How long the smtp agent waits for the reply to MAIL FROM, RCPT TO, DATA, RSET and QUIT."},
    {"smtp_connect_timeout", PARAM_TIME, "30s", 1, HOUR, NULL,
     "How long the smtp agent waits for a TCP connection to a mail server to be set up."},
    {"smtp_connection_cache_time", PARAM_TIME, "2s", 0, HOUR, NULL,
     "How long the smtp agent keeps an idle connection open for the next delivery to the same next hop; 0: close after each delivery."},
    {"smtp_data_done_timeout", PARAM_TIME, "600s", 1, HOUR, NULL,
     "How long the smtp agent waits for the reply to the end of the message (LMTP: for each recipient's reply)."},
    {"smtp_data_xfer_timeout", PARAM_TIME, "180s", 1, HOUR, NULL,
     "How long the smtp agent waits for a mail server to take more of the message it sends."},
    {"smtp_destination_concurrency_limit", PARAM_INT, "$default_destination_concurrency_limit", 1,
     1000, NULL,
     "The most deliveries in progress at once to one destination of the smtp transport."},
    {"smtp_destination_recipient_limit", PARAM_INT, "$default_destination_recipient_limit", 1,
     10000, NULL, "The most recipients in one delivery request of the smtp transport."},
    {"smtp_helo_name", PARAM_STR, "$myhostname", 0, 0, check_not_empty,
     "The name the smtp agent gives in EHLO, HELO and LHLO."},
    {"smtp_helo_timeout", PARAM_TIME, "300s", 1, HOUR, NULL,
     "How long the smtp agent waits for a mail server's greeting and for the replies to EHLO, STARTTLS and AUTH."},
    {"smtp_mx_address_limit", PARAM_INT, "5", 0, 1000, NULL,
     "The most server addresses (from MX hosts, or a host's A and AAAA records) the smtp agent tries in one delivery; 0: no limit."},
    {"smtp_protocol", PARAM_STR, "smtp", 0, 0, check_smtp_protocol,
     "What the smtp delivery agent speaks: smtp, or lmtp (RFC 2033; set with -o in master.cf for the lmtp transport)."},
    {"smtp_sasl_auth_enable", PARAM_BOOL, "no", 0, 0, NULL,
     "Whether the smtp agent authenticates (AUTH, RFC 4954) to servers for which smtp_sasl_password_maps has credentials."},
    {"smtp_sasl_password_maps", PARAM_STR, "", 0, 0, NULL,
     "A type:name table of next hops (as written in relayhost or a transport) or server host names and their user:password credentials."},
    {"smtp_sasl_plaintext_without_tls", PARAM_BOOL, "no", 0, 0, NULL,
     "Whether the smtp agent sends a password (AUTH PLAIN or LOGIN) over a connection without TLS."},
    {"smtp_tls_ca_file", PARAM_STR, "", 0, 0, NULL,
     "A file of CA certificates (PEM) that the smtp agent trusts at the verify and secure TLS levels; empty: the system's default store."},
    {"smtp_tls_security_level", PARAM_STR, "may", 0, 0, check_smtp_tls_level,
     "TLS in the smtp agent: none, may (STARTTLS when offered), encrypt (required), verify (required, certificate trusted and matching the server's name), secure (matching the next-hop domain)."},
    {"smtpd_banner", PARAM_STR, "$myhostname ESMTP Tern", 0, 0, check_not_empty,
     "The text after \"220 \" in the SMTP server's greeting; RFC 5321 wants the host name first."},
    {"smtpd_client_connection_count_limit", PARAM_INT, "50", 0, 100000, NULL,
     "How many connections one client IP address may have open at once to one smtpd service (counted by anvil); 0: no limit."},
    {"smtpd_client_connection_rate_limit", PARAM_INT, "0", 0, 10000000, NULL,
     "How many connections one client IP address may open to one smtpd service per anvil_rate_time_unit; 0: no limit."},
    {"smtpd_client_event_limit_exceptions", PARAM_LIST, "$mynetworks", 0, 0, NULL,
     "The client networks (address/prefix) exempt from the smtpd connection count and rate limits."},
    {"smtpd_error_sleep_time", PARAM_TIME, "1s", 0, 300, NULL,
     "Once a client has made more than smtpd_soft_error_limit errors, each error reply waits this long times the number of errors over that limit."},
    {"smtpd_forbid_bare_newline", PARAM_STR, "yes", 0, 0, check_smtpd_bare_newline,
     "A bare CR or LF in DATA never ends the message; yes: refuse such a message (550 5.5.2), normalize: accept it with CR LF line ends."},
    {"smtpd_greet_pause", PARAM_TIME, "0s", 0, 60, NULL,
     "How long smtpd waits before its greeting for a client that talks first (refused with 554 5.5.1); input that came before the greeting is refused even with 0."},
    {"smtpd_hard_error_limit", PARAM_INT, "20", 1, 1000, NULL,
     "After this many errors (4xx and 5xx replies) smtpd disconnects the client with 421 4.7.0."},
    {"smtpd_junk_command_limit", PARAM_INT, "100", 1, 100000, NULL,
     "Each NOOP, RSET, VRFY, EXPN or HELP beyond this many in one session counts as an error."},
    {"smtpd_line_length_limit", PARAM_INT, "1000", 1000, 1048576, NULL,
     "The longest text line of a message that smtpd accepts, in bytes including its CR LF (RFC 5321: 1000); longer ones get 552 5.6.0."},
    {"smtpd_peername_lookup", PARAM_BOOL, "yes", 0, 0, NULL,
     "Whether smtpd looks up the client's host name (believed only when it resolves back to the client's address); no: every client is \"unknown\"."},
    {"smtpd_recipient_limit", PARAM_INT, "1000", 1, 1000000, NULL,
     "The most recipients smtpd accepts for one message; more get 452 4.5.3."},
    {"smtpd_relay_restrictions", PARAM_LIST,
     "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination", 0, 0,
     check_smtpd_relay_restrictions,
     "Who may send to which recipients, first match wins: permit_mynetworks, permit_sasl_authenticated, permit_auth_destination, reject_unauth_destination, defer_unauth_destination, permit, reject."},
    {"smtpd_sasl_auth_enable", PARAM_BOOL, "no", 0, 0, NULL,
     "Whether smtpd offers AUTH (RFC 4954), with the mechanisms of the auth service."},
    {"smtpd_sasl_auth_required", PARAM_BOOL, "no", 0, 0, NULL,
     "Whether a client must authenticate before MAIL FROM (530 5.7.0 otherwise), as on the submission services."},
    {"smtpd_sender_login_maps", PARAM_STR, "", 0, 0, NULL,
     "A type:name table of sender addresses (or @domain) and the logins that may use them; empty: an authenticated client may use its own address and those the directory resolves to its account."},
    {"smtpd_soft_error_limit", PARAM_INT, "10", 0, 1000, NULL,
     "After this many errors in one session smtpd delays each further error reply (see smtpd_error_sleep_time)."},
    {"smtpd_timeout", PARAM_TIME, "300s", 1, HOUR, NULL,
     "How long smtpd waits for the client to send or to read, and for cleanup to answer, before it gives up (421 4.4.2)."},
    {"smtpd_tls_auth_only", PARAM_BOOL, "yes", 0, 0, NULL,
     "Whether smtpd offers and accepts AUTH only on connections protected by TLS."},
    {"smtpd_tls_security_level", PARAM_STR, "may", 0, 0, check_smtpd_tls_level,
     "TLS in smtpd: none, may (offer STARTTLS), encrypt (require STARTTLS before mail is accepted)."},
    {"smtpd_tls_wrappermode", PARAM_BOOL, "no", 0, 0, NULL,
     "Whether smtpd starts TLS as soon as a client connects, before the greeting (the submissions service on port 465, RFC 8314)."},
    {"smtpd_vrfy_enable", PARAM_BOOL, "no", 0, 0, NULL,
     "Whether smtpd answers VRFY (it lets clients probe for valid addresses); no: 502 5.5.1."},
    {"store_busy_timeout", PARAM_TIME, "30s", 1, HOUR, NULL,
     "How long a store program waits for another process that is writing to the same mailbox store before it gives up (and the delivery or command is retried)."},
    {"store_directory", PARAM_STR, TERN_STORE_DIR, 0, 0, check_absolute,
     "The mailbox store: one directory per domain and user."},
    {"store_fts_text_limit", PARAM_SIZE, "1m", 0, 1024 * MB, NULL,
     "The most bytes of decoded header and body text of one message that go into the store's full-text search index; 0: no limit."},
    {"store_gc_interval", PARAM_TIME, "1d", 0, 365 * DAY, NULL,
     "How often opening a mailbox store also removes the message files that a crash left behind (orphans); 0: never at open."},
    {"store_orphan_age", PARAM_TIME, "1h", 60, 30 * DAY, NULL,
     "How old a message file that no mailbox refers to must be before the store removes it (younger ones may belong to a delivery in progress)."},
    {"store_owner", PARAM_STR, "vmail", 0, 0, check_not_empty,
     "The user that the store programs (lmtp, imapd, pop3d, managesieved) run as when started as root."},
    {"tls_ca_file", PARAM_STR, "", 0, 0, NULL,
     "A file of trusted CA certificates (PEM) for verifying peers; empty: none."},
    {"tls_cert_file", PARAM_STR, "$config_directory/tls/cert.pem", 0, 0, NULL,
     "The server certificate chain (PEM), certificate first."},
    {"tls_key_file", PARAM_STR, "$config_directory/tls/key.pem", 0, 0, NULL,
     "The private key (PEM) of tls_cert_file."},
    {"transport_maps", PARAM_STR, "", 0, 0, NULL,
     "Tables (type:name, ...) that route recipients: address, domain, .parent-domain or * to transport:nexthop, either half empty to keep the usual one; transport error or retry refuses or defers."},
    {"virtual_alias_maps", PARAM_STR, "", 0, 0, NULL,
     "Tables (type:name, ...) that qmgr applies to each recipient first, recursively: address, user@domain without its extension, or @domain to a list of addresses; a loop returns the message (5.4.6)."},
    {NULL, PARAM_STR, NULL, 0, 0, NULL, NULL},
};
/* clang-format on */
