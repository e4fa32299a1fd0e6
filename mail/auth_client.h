/*
 * auth_client - what smtpd, imapd, pop3d, managesieved and lmtp call to
 * authenticate users and to look up addresses: a connection to the auth
 * service (auth(8)) on $queue_directory/private/auth.
 *
 * The SASL mechanisms run inside the auth daemon, so that password hashes
 * (and later SCRAM secrets) never leave it: a protocol daemon decodes the
 * client's responses (base64, "*", "=") and relays the bytes, and relays
 * the challenges back.
 *
 * Calls block, each waiting at most the timeout given at open time (the
 * auth_client_timeout parameter): an answer to a failed authentication
 * comes after a deliberate delay of up to auth_failure_delay_max. A
 * connection that the auth daemon closed while idle (it restarts now and
 * then) is reopened before the next request. After AUTH_ERROR / DIR_ERROR
 * the exchange in progress is lost; the next call starts afresh on a new
 * connection. The caller ignores SIGPIPE (the daemon skeleton does).
 *
 * The wire protocol ("auth", version 1; util/attr.h records). The daemon
 * speaks first with the handshake {protocol=auth, version=1}. Then each
 * request record carries request=<name> and gets one answer record with
 * status=<ok|continue|fail|tempfail|notfound|error>:
 *
 *   request=mechanisms tls=<0|1>
 *     -> status=ok mechanisms=<names offered, space-separated>
 *   request=auth mechanism=<name> service=<smtp|imap|...> client_addr=<IP>
 *        local_port=<0..65535> tls=<0|1> [response=<initial response>]
 *     -> status=continue challenge=<bytes>
 *      | status=ok authcid=<account> authzid=<identity to act as>
 *      | status=fail reason=<text>      (after the failure delay)
 *      | status=tempfail reason=<text>
 *   request=continue response=<bytes>   (the next response of that exchange)
 *     -> as for request=auth
 *   request=abort                       (the client cancelled the exchange)
 *     -> status=ok
 *   request=domain domain=<domain>
 *     -> status=ok (local) | status=notfound | status=tempfail reason=<text>
 *   request=resolve address=<address>
 *     -> status=ok count=<n>, then n records
 *        {address=<a> local=<0|1> enabled=<0|1> [detail=<d>]}
 *      | status=notfound | status=tempfail reason=<text>
 *   request=account address=<address>
 *     -> status=ok address=<canonical> quota_bytes=<n> quota_messages=<n>
 *        store_path=<dir> enabled=<0|1> display_name=<text>
 *      | status=notfound | status=tempfail reason=<text>
 *
 * Any request that is malformed (an unknown request, a field missing, one
 * that does not belong to the request, a bad value) or out of order (continue
 * without an exchange) is answered status=error reason=<text>, and the
 * connection goes on; a record that cannot be decoded at all (bad syntax, over
 * auth_request_limit) is answered the same way and the daemon closes the
 * connection. "reason" is for logs, never for the remote client.
 */
#ifndef TERN_AUTH_CLIENT_H
#define TERN_AUTH_CLIENT_H

#include <stddef.h>

#include "mail/directory.h"
#include "util/strbuf.h"

struct mail_conf;

#define AUTH_PROTOCOL "auth"
#define AUTH_PROTOCOL_VERSION 1
/* The socket, relative to queue_directory. */
#define AUTH_SOCKET "private/auth"
/* The most targets a resolve answer may carry. */
#define AUTH_RESOLVE_MAX 100000
/* The longest string in an answer (paths, names, addresses). */
#define AUTH_VALUE_MAX 4096

struct auth_client;

/* What the protocol daemon knows of the connection being authenticated. */
struct auth_client_info {
	const char *service;	 /* "smtp", "submission", "imap", "pop3", "sieve", ... */
	const char *client_addr; /* the remote client's IP address: "192.0.2.1", "2001:db8::1" */
	int local_port;		 /* the port it connected to */
	int tls;		 /* 1 when the connection is protected by TLS */
};

enum auth_status {
	AUTH_OK = 0,	   /* authenticated: reply->authcid, reply->authzid */
	AUTH_CONTINUE = 1, /* send reply->challenge to the client, then auth_client_continue() */
	AUTH_FAILED = 2,   /* refused (wrong credentials, malformed response, not allowed) */
	AUTH_TEMPFAIL = 3, /* the auth service could not decide now: ask the client to retry */
	AUTH_ERROR = -1,   /* no valid answer from the auth service: *error_r set */
};

/* The answer to an authentication step. Zero it before first use. */
struct auth_client_reply {
	struct strbuf challenge; /* CONTINUE: the bytes to send (base64-encode them) */
	char *authcid;		 /* OK: the account that authenticated (canonical address) */
	char *authzid;		 /* OK: the identity to act as (usually authcid) */
	char *reason;		 /* FAILED, TEMPFAIL: why, for logs */
};

/* auth_client_reply_free - free the reply's contents (and leave it zeroed). */
void auth_client_reply_free(struct auth_client_reply *reply);

/*
 * auth_client_socket_path - where the auth service listens:
 * $queue_directory/private/auth, or /private/auth for a daemon chrooted to
 * queue_directory (chrooted != 0). Malloc'd.
 */
char *auth_client_socket_path(const struct mail_conf *conf, int chrooted);

/*
 * auth_client_open_path - connect to the auth service at path and check its
 * handshake; timeout_ms (> 0) bounds each answer. Returns NULL with *error_r
 * set on failure.
 */
struct auth_client *auth_client_open_path(const char *path, int timeout_ms, char **error_r);

/* auth_client_open - the same with the path and auth_client_timeout from conf. */
struct auth_client *auth_client_open(const struct mail_conf *conf, int chrooted, char **error_r);

/* auth_client_close - close the connection, free everything, set *client NULL. */
void auth_client_close(struct auth_client **client);

/*
 * auth_client_mechanisms - the SASL mechanisms to offer on a connection with
 * (tls 1) or without TLS: names separated by spaces (malloc'd, may be "").
 * Returns 0, or -1 with *error_r set.
 */
int auth_client_mechanisms(struct auth_client *client, int tls, char **list_r, char **error_r);

/*
 * auth_client_start - begin an exchange with mechanism mech for the
 * connection described by info. response: the client's initial response
 * (len bytes, decoded; may be empty), or NULL when it gave none. Any
 * exchange in progress is abandoned first. The answer is in *reply (whose
 * earlier contents are freed).
 */
enum auth_status auth_client_start(struct auth_client *client, const struct auth_client_info *info,
				   const char *mech, const void *response, size_t len,
				   struct auth_client_reply *reply, char **error_r);

/* auth_client_continue - the client's next response (len decoded bytes) after AUTH_CONTINUE. */
enum auth_status auth_client_continue(struct auth_client *client, const void *response, size_t len,
				      struct auth_client_reply *reply, char **error_r);

/* auth_client_abort - the client cancelled the exchange ("*"). Returns 0, or -1 with *error_r. */
int auth_client_abort(struct auth_client *client, char **error_r);

/*
 * auth_client_login - check a user name and password given in one command
 * (IMAP LOGIN, POP3 USER/PASS): a PLAIN exchange with the password. Never
 * AUTH_CONTINUE.
 */
enum auth_status auth_client_login(struct auth_client *client, const struct auth_client_info *info,
				   const char *user, const char *password,
				   struct auth_client_reply *reply, char **error_r);

/* auth_client_domain - whether domain is local: DIR_FOUND, DIR_NOTFOUND or DIR_ERROR. */
enum dir_result auth_client_domain(struct auth_client *client, const char *domain, char **error_r);

/*
 * auth_client_resolve - what address reaches, as directory_resolve()
 * answers it (free *targets with dir_targets_free() after DIR_FOUND).
 */
enum dir_result auth_client_resolve(struct auth_client *client, const char *address,
				    struct dir_targets *targets, char **error_r);

/*
 * auth_client_account - the account named address, as directory_account()
 * answers it but without the password hash: account->password_hash is NULL.
 * Free with dir_account_free() after DIR_FOUND.
 */
enum dir_result auth_client_account(struct auth_client *client, const char *address,
				    struct dir_account *account, char **error_r);

/*
 * For the daemon and this module: whether an optional STR or DATA attribute
 * was present in the record just decoded. Before decoding, auth_attr_unset()
 * leaves buf empty with a mark that any value the decoder stores (an empty
 * one too) overwrites; auth_attr_isset() tells whether that happened. An
 * unset buffer's contents must not be used.
 */
void auth_attr_unset(struct strbuf *buf);
int auth_attr_isset(const struct strbuf *buf);

#endif
