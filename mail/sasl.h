/*
 * sasl - the server side of SASL (RFC 4422): mechanisms as tables of
 * functions, the registry of those a connection may use, and one exchange.
 *
 * The bytes handled here are decoded already: the protocol (SMTP, IMAP, POP3,
 * ManageSieve) takes care of base64, of "*" to cancel and of "=" for an
 * empty initial response. In Tern the exchanges run inside the auth daemon
 * (auth(8)); smtpd, imapd, pop3d and managesieved relay them with
 * auth_client.h.
 *
 * Credentials are checked by the application through a callback: a
 * mechanism extracts what the client proves (PLAIN and LOGIN: a user name
 * and a password) and asks; it never sees a password hash. The check may
 * answer at once or later (the auth daemon hashes in worker threads), so an
 * exchange is a small state machine:
 *
 *	srv = sasl_server_new(mech, &callbacks, ctx);
 *	st = sasl_server_step(srv, initial_response, len);   NULL: none
 *	loop:
 *	  SASL_CONTINUE  send sasl_server_challenge(); step with the client's answer
 *	  SASL_PENDING   the check callback returned SASL_CHECK_PENDING; when the
 *	                 application knows, st = sasl_server_check_done(...)
 *	  SASL_SUCCESS   sasl_server_authcid() / sasl_server_authzid()
 *	  SASL_FAILURE   sasl_server_reason() (for logs, not for the client)
 *	  SASL_TEMPFAIL  the same, and the client should try again later
 *
 * Authorization identity. After the credentials are accepted: an empty
 * authzid, or one equal to the authcid once both are normalised (callback
 * normalise), means "act as myself"; any other is refused unless the
 * authorize callback allows it.
 *
 * Limits: identities of 1 to SASL_NAME_MAX bytes of UTF-8 without control
 * characters (the authzid may be empty); passwords of 1 to SASL_SECRET_MAX
 * bytes without NUL; responses of at most SASL_RESPONSE_MAX bytes; at most
 * SASL_STEPS_MAX responses per exchange. Input over a limit fails the
 * exchange, it never aborts the process.
 *
 * Adding a mechanism (SCRAM-SHA-256, OAUTHBEARER): write a struct sasl_mech
 * in a file of its own, list it in sasl.c's table of known mechanisms, and
 * add to enum sasl_check_kind the kind of check it needs (SCRAM: fetch the
 * stored key material of authcid; OAUTHBEARER: validate a token) with the
 * fields of struct sasl_check it uses. Its resume() callback goes on when an
 * asynchronous check completes.
 */
#ifndef TERN_SASL_H
#define TERN_SASL_H

#include <stddef.h>

#define SASL_NAME_MAX 255      /* bytes in an authentication or authorization identity */
#define SASL_SECRET_MAX 4096   /* bytes in a password */
#define SASL_RESPONSE_MAX 8192 /* bytes in one decoded client response */
#define SASL_STEPS_MAX 8       /* client responses in one exchange */

/* Mechanism flags. */
#define SASL_MECH_PLAINTEXT 0x1u    /* the password crosses the wire as it is */
#define SASL_MECH_NEEDS_TLS 0x2u    /* never offered without TLS, whatever the configuration */
#define SASL_MECH_CLIENT_FIRST 0x4u /* the client speaks first (initial response) */

enum sasl_status {
	SASL_CONTINUE, /* send sasl_server_challenge(), then step with the answer */
	SASL_PENDING,  /* a credential check is under way: call sasl_server_check_done() */
	SASL_SUCCESS,  /* authenticated */
	SASL_FAILURE,  /* refused: bad credentials, malformed response, not authorized */
	SASL_TEMPFAIL, /* could not decide now (e.g. the directory is unavailable) */
};

/* What a mechanism asks the application to check. */
enum sasl_check_kind {
	SASL_CHECK_PASSWORD, /* does password belong to authcid? (PLAIN, LOGIN) */
};

struct sasl_check {
	enum sasl_check_kind kind;
	const char *mech;     /* the mechanism's name */
	const char *authcid;  /* the authentication identity, as the client sent it */
	const char *authzid;  /* the authorization identity; "" when none was given */
	const char *password; /* PASSWORD: NUL-terminated; valid until the check completes */
	size_t password_len;
};

enum sasl_check_result {
	SASL_CHECK_OK,	     /* the credentials are valid */
	SASL_CHECK_FAILED,   /* they are not (also: unknown user, disabled account) */
	SASL_CHECK_TEMPFAIL, /* they cannot be checked now */
	SASL_CHECK_PENDING,  /* the answer will come through sasl_server_check_done() */
};

struct sasl_server;

struct sasl_server_callbacks {
	/*
	 * check - check credentials (required). Returns the result, with
	 * *reason_r set to a static string for FAILED and TEMPFAIL ("password
	 * mismatch"), or SASL_CHECK_PENDING: the application then calls
	 * sasl_server_check_done() later, never from inside this callback.
	 */
	enum sasl_check_result (*check)(void *ctx, struct sasl_server *srv,
					const struct sasl_check *check, const char **reason_r);
	/*
	 * normalise - the form of an identity in which two names for the same
	 * user compare equal (malloc'd), or NULL when name is not a valid
	 * identity. NULL callback: names compare as they are.
	 */
	char *(*normalise)(void *ctx, const char *name);
	/*
	 * authorize - 0 when authcid (authenticated) may act as the different
	 * identity authzid, -1 otherwise. NULL callback: never.
	 */
	int (*authorize)(void *ctx, const char *authcid, const char *authzid);
};

/* A mechanism: a table of functions. */
struct sasl_mech {
	const char *name; /* upper case, as advertised */
	unsigned flags;	  /* SASL_MECH_* */
	/* start - per-exchange state (may be NULL) */
	void *(*start)(void);
	/*
	 * step - one client response: in is NULL for "no initial response"
	 * (first step only), else len bytes (not NUL-terminated). Returns the
	 * next status through the helpers below.
	 */
	enum sasl_status (*step)(struct sasl_server *srv, void *state, const unsigned char *in,
				 size_t len);
	/*
	 * resume - an asynchronous check completed with result (OK, FAILED or
	 * TEMPFAIL). NULL: the check decides the exchange, as
	 * sasl_server_check_password() describes.
	 */
	enum sasl_status (*resume)(struct sasl_server *srv, void *state,
				   enum sasl_check_result result);
	/* finish - free the state (wiping secrets) */
	void (*finish)(void *state);
};

/* The mechanisms Tern implements. */
extern const struct sasl_mech sasl_mech_plain;
extern const struct sasl_mech sasl_mech_login;

/* sasl_mech_find - a mechanism Tern implements, by name (any case), or NULL. */
const struct sasl_mech *sasl_mech_find(const char *name);

/* ---- the registry: which mechanisms a connection may use ---- */

struct sasl_registry;

/*
 * sasl_registry_create - the mechanisms named in names (NULL-terminated; the
 * configured list, in order of preference, duplicates ignored).
 * plaintext_without_tls: whether SASL_MECH_PLAINTEXT mechanisms are offered
 * on connections without TLS. An unknown name is an error.
 */
struct sasl_registry *sasl_registry_create(const char *const *names, int plaintext_without_tls,
					   char **error_r);
void sasl_registry_free(struct sasl_registry **reg);

/* sasl_registry_list - the names offered on a connection, space-separated (malloc'd; may be ""). */
char *sasl_registry_list(const struct sasl_registry *reg, int tls);

/*
 * sasl_registry_find - the mechanism name (any case) if it is offered on a
 * connection with or without TLS, else NULL with *why_r set (a static
 * string: "unknown mechanism", "mechanism not enabled", "mechanism requires TLS").
 */
const struct sasl_mech *sasl_registry_find(const struct sasl_registry *reg, const char *name,
					   int tls, const char **why_r);

/* ---- one exchange ---- */

/* sasl_server_new - an exchange with mech; callbacks and ctx must outlive it. */
struct sasl_server *sasl_server_new(const struct sasl_mech *mech,
				    const struct sasl_server_callbacks *callbacks, void *ctx);

/* sasl_server_free - end the exchange, wipe its secrets, set *srv NULL. */
void sasl_server_free(struct sasl_server **srv);

/*
 * sasl_server_step - the client's next response (len bytes at in), or for
 * the first step, in NULL when the client gave no initial response. After
 * SUCCESS, FAILURE or TEMPFAIL every further step fails ("exchange is
 * over"); stepping while PENDING is a programming error.
 */
enum sasl_status sasl_server_step(struct sasl_server *srv, const void *in, size_t len);

/*
 * sasl_server_check_done - the result of a check that was PENDING (OK,
 * FAILED or TEMPFAIL; reason a static string for the last two). Returns the
 * exchange's next status. Calling it when no check is pending is a
 * programming error.
 */
enum sasl_status sasl_server_check_done(struct sasl_server *srv, enum sasl_check_result result,
					const char *reason);

/* sasl_server_status - the status last returned. */
enum sasl_status sasl_server_status(const struct sasl_server *srv);

/* sasl_server_challenge - CONTINUE: the challenge bytes to send (*len_r of them, may be 0). */
const void *sasl_server_challenge(const struct sasl_server *srv, size_t *len_r);

/* sasl_server_authcid - the authentication identity, once the client sent one; else NULL. */
const char *sasl_server_authcid(const struct sasl_server *srv);

/* sasl_server_authzid - SUCCESS: the identity to act as (the authcid when none was asked for). */
const char *sasl_server_authzid(const struct sasl_server *srv);

/* sasl_server_reason - FAILURE, TEMPFAIL: why, for logs (a static string). */
const char *sasl_server_reason(const struct sasl_server *srv);

/* sasl_server_mech - the mechanism of the exchange. */
const struct sasl_mech *sasl_server_mech(const struct sasl_server *srv);

/* ---- for mechanisms: what step() and resume() return through ---- */

/* sasl_server_challenge_set - CONTINUE with these challenge bytes. */
enum sasl_status sasl_server_challenge_set(struct sasl_server *srv, const void *data, size_t len);

/* sasl_server_fail - FAILURE for reason (a static string). */
enum sasl_status sasl_server_fail(struct sasl_server *srv, const char *reason);

/*
 * sasl_server_check_password - validate the identities (authzid may be
 * NULL or "") and the password (password_len bytes, no NUL), ask the check
 * callback, and finish the exchange when it answers at once: OK gives
 * SUCCESS or FAILURE after the authorization check, FAILED gives FAILURE,
 * TEMPFAIL gives TEMPFAIL; PENDING gives PENDING, and sasl_server_check_done()
 * later finishes the same way (for a mechanism without resume()). The
 * identities and the password are copied.
 */
enum sasl_status sasl_server_check_password(struct sasl_server *srv, const char *authcid,
					    size_t authcid_len, const char *authzid,
					    size_t authzid_len, const char *password,
					    size_t password_len);

/*
 * sasl_server_authorize - for a mechanism's resume() or step() once the
 * credentials given to sasl_server_check_password() were accepted: apply the
 * authorization identity rules; SUCCESS or FAILURE.
 */
enum sasl_status sasl_server_authorize(struct sasl_server *srv);

#endif
