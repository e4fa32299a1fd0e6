/*
 * sasl - the SASL server framework: the table of known mechanisms, the
 * per-connection registry, and the exchange state machine with its checks of
 * identities, credentials and authorization. See sasl.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/address.h"
#include "mail/sasl.h"
#include "util/msg.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* Every mechanism Tern implements, in no particular order. */
static const struct sasl_mech *const sasl_known_mechs[] = {
    &sasl_mech_plain,
    &sasl_mech_login,
};

#define SASL_KNOWN_COUNT (sizeof(sasl_known_mechs) / sizeof(sasl_known_mechs[0]))

struct sasl_registry {
	const struct sasl_mech *mechs[SASL_KNOWN_COUNT]; /* in configured order */
	size_t count;
	int plaintext_without_tls;
};

struct sasl_server {
	const struct sasl_mech *mech;
	const struct sasl_server_callbacks *cb;
	void *ctx;
	void *state;
	enum sasl_status status;
	int started;   /* the first step was taken */
	int pending;   /* a check is under way */
	int responses; /* client responses taken */
	struct strbuf challenge;
	char *authcid;
	char *authzid;	/* as asked for; "" for none */
	char *password; /* until the check completes */
	size_t password_len;
	char *result_authzid; /* SUCCESS */
	const char *reason;
};

const struct sasl_mech *sasl_mech_find(const char *name)
{
	size_t i;

	for (i = 0; i < SASL_KNOWN_COUNT; i++)
		if (strcasecmp(sasl_known_mechs[i]->name, name) == 0)
			return sasl_known_mechs[i];
	return NULL;
}

/* ---- the registry ---- */

struct sasl_registry *sasl_registry_create(const char *const *names, int plaintext_without_tls,
					   char **error_r)
{
	struct sasl_registry *reg = xcalloc(1, sizeof(*reg));
	const struct sasl_mech *mech;
	size_t i, j;

	reg->plaintext_without_tls = plaintext_without_tls;
	for (i = 0; names[i] != NULL; i++) {
		if ((mech = sasl_mech_find(names[i])) == NULL) {
			*error_r = xasprintf("unknown SASL mechanism \"%s\"", names[i]);
			free(reg);
			return NULL;
		}
		for (j = 0; j < reg->count && reg->mechs[j] != mech; j++)
			;
		if (j == reg->count)
			reg->mechs[reg->count++] = mech;
	}
	return reg;
}

void sasl_registry_free(struct sasl_registry **reg)
{
	XFREE(*reg);
}

/* mech_refusal - why mech may not be used on the connection, or NULL. */
static const char *mech_refusal(const struct sasl_registry *reg, const struct sasl_mech *mech,
				int tls)
{
	if (tls)
		return NULL;
	if (mech->flags & SASL_MECH_NEEDS_TLS)
		return "mechanism requires TLS";
	if ((mech->flags & SASL_MECH_PLAINTEXT) && !reg->plaintext_without_tls)
		return "mechanism requires TLS";
	return NULL;
}

char *sasl_registry_list(const struct sasl_registry *reg, int tls)
{
	struct strbuf out = STRBUF_INIT;
	size_t i;

	for (i = 0; i < reg->count; i++) {
		if (mech_refusal(reg, reg->mechs[i], tls) != NULL)
			continue;
		if (out.len > 0)
			strbuf_putc(&out, ' ');
		strbuf_puts(&out, reg->mechs[i]->name);
	}
	if (out.data == NULL)
		return xstrdup("");
	return strbuf_detach(&out);
}

const struct sasl_mech *sasl_registry_find(const struct sasl_registry *reg, const char *name,
					   int tls, const char **why_r)
{
	const struct sasl_mech *mech = sasl_mech_find(name);
	size_t i;

	if (mech == NULL) {
		*why_r = "unknown mechanism";
		return NULL;
	}
	for (i = 0; i < reg->count && reg->mechs[i] != mech; i++)
		;
	if (i == reg->count) {
		*why_r = "mechanism not enabled";
		return NULL;
	}
	if ((*why_r = mech_refusal(reg, mech, tls)) != NULL)
		return NULL;
	return mech;
}

/* ---- the exchange ---- */

struct sasl_server *sasl_server_new(const struct sasl_mech *mech,
				    const struct sasl_server_callbacks *callbacks, void *ctx)
{
	struct sasl_server *srv = xcalloc(1, sizeof(*srv));

	if (callbacks == NULL || callbacks->check == NULL)
		msg_panic("sasl_server_new: no check callback");
	srv->mech = mech;
	srv->cb = callbacks;
	srv->ctx = ctx;
	srv->status = SASL_CONTINUE;
	srv->state = mech->start != NULL ? mech->start() : NULL;
	return srv;
}

/* wipe_password - forget the password, overwriting its bytes. */
static void wipe_password(struct sasl_server *srv)
{
	if (srv->password == NULL)
		return;
	explicit_bzero(srv->password, srv->password_len);
	XFREE(srv->password);
	srv->password_len = 0;
}

void sasl_server_free(struct sasl_server **srvp)
{
	struct sasl_server *srv = *srvp;

	if (srv == NULL)
		return;
	if (srv->mech->finish != NULL)
		srv->mech->finish(srv->state);
	wipe_password(srv);
	if (srv->challenge.data != NULL)
		explicit_bzero(srv->challenge.data, srv->challenge.len);
	strbuf_free(&srv->challenge);
	free(srv->authcid);
	free(srv->authzid);
	free(srv->result_authzid);
	free(srv);
	*srvp = NULL;
}

static int final_status(enum sasl_status st)
{
	return st == SASL_SUCCESS || st == SASL_FAILURE || st == SASL_TEMPFAIL;
}

enum sasl_status sasl_server_step(struct sasl_server *srv, const void *in, size_t len)
{
	if (srv->pending)
		msg_panic("sasl_server_step: a check is pending");
	if (final_status(srv->status))
		return sasl_server_fail(srv, "exchange is over");
	strbuf_reset(&srv->challenge);
	if (in == NULL && srv->started)
		return sasl_server_fail(srv, "missing response");
	srv->started = 1;
	if (in != NULL) {
		if (len > SASL_RESPONSE_MAX)
			return sasl_server_fail(srv, "response too long");
		if (++srv->responses > SASL_STEPS_MAX)
			return sasl_server_fail(srv, "too many steps");
	}
	srv->status = srv->mech->step(srv, srv->state, in, len);
	return srv->status;
}

enum sasl_status sasl_server_challenge_set(struct sasl_server *srv, const void *data, size_t len)
{
	strbuf_reset(&srv->challenge);
	strbuf_append(&srv->challenge, data, len);
	srv->status = SASL_CONTINUE;
	return SASL_CONTINUE;
}

enum sasl_status sasl_server_fail(struct sasl_server *srv, const char *reason)
{
	wipe_password(srv);
	srv->reason = reason;
	srv->status = SASL_FAILURE;
	return SASL_FAILURE;
}

/* name_valid - 1 to SASL_NAME_MAX (0 allowed with empty_ok) bytes of UTF-8, no controls. */
static int name_valid(const char *name, size_t len, int empty_ok)
{
	size_t i;

	if (len == 0)
		return empty_ok;
	if (len > SASL_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return address_utf8_valid(name, len);
}

/* same_identity - whether a and b name the same user after normalisation. */
static int same_identity(const struct sasl_server *srv, const char *a, const char *b)
{
	char *na, *nb;
	int same;

	if (srv->cb->normalise == NULL)
		return strcmp(a, b) == 0;
	na = srv->cb->normalise(srv->ctx, a);
	nb = srv->cb->normalise(srv->ctx, b);
	same = na != NULL && nb != NULL && strcmp(na, nb) == 0;
	free(na);
	free(nb);
	return same;
}

enum sasl_status sasl_server_authorize(struct sasl_server *srv)
{
	const char *want = srv->authzid;

	if (srv->authcid == NULL)
		msg_panic("sasl_server_authorize: no identity was checked");
	if (want[0] == '\0' || same_identity(srv, srv->authcid, want)) {
		srv->result_authzid = xstrdup(srv->authcid);
	} else if (srv->cb->authorize != NULL &&
		   srv->cb->authorize(srv->ctx, srv->authcid, want) == 0) {
		srv->result_authzid = xstrdup(want);
	} else {
		return sasl_server_fail(srv, "authorization identity refused");
	}
	srv->status = SASL_SUCCESS;
	return SASL_SUCCESS;
}

/* finish_check - the outcome of a password check, as sasl_server_check_password() says. */
static enum sasl_status finish_check(struct sasl_server *srv, enum sasl_check_result result,
				     const char *reason)
{
	wipe_password(srv);
	switch (result) {
	case SASL_CHECK_OK:
		return sasl_server_authorize(srv);
	case SASL_CHECK_FAILED:
		return sasl_server_fail(srv, reason != NULL ? reason : "invalid credentials");
	case SASL_CHECK_TEMPFAIL:
		srv->reason = reason != NULL ? reason : "temporary failure";
		srv->status = SASL_TEMPFAIL;
		return SASL_TEMPFAIL;
	case SASL_CHECK_PENDING:
	default:
		msg_panic("sasl: check result %d where a final one is due", (int)result);
	}
}

enum sasl_status sasl_server_check_password(struct sasl_server *srv, const char *authcid,
					    size_t authcid_len, const char *authzid,
					    size_t authzid_len, const char *password,
					    size_t password_len)
{
	struct sasl_check check;
	enum sasl_check_result result;
	const char *reason = NULL;

	if (authzid == NULL)
		authzid_len = 0;
	if (!name_valid(authcid, authcid_len, 0))
		return sasl_server_fail(srv, "malformed authentication identity");
	if (!name_valid(authzid, authzid_len, 1))
		return sasl_server_fail(srv, "malformed authorization identity");
	if (password_len == 0)
		return sasl_server_fail(srv, "empty password");
	if (password_len > SASL_SECRET_MAX || memchr(password, '\0', password_len) != NULL)
		return sasl_server_fail(srv, "malformed password");
	free(srv->authcid);
	free(srv->authzid);
	wipe_password(srv);
	srv->authcid = xstrndup(authcid, authcid_len);
	srv->authzid = xstrndup(authzid_len > 0 ? authzid : "", authzid_len);
	srv->password = xstrndup(password, password_len);
	srv->password_len = password_len;
	check = (struct sasl_check){.kind = SASL_CHECK_PASSWORD,
				    .mech = srv->mech->name,
				    .authcid = srv->authcid,
				    .authzid = srv->authzid,
				    .password = srv->password,
				    .password_len = password_len};
	result = srv->cb->check(srv->ctx, srv, &check, &reason);
	if (result == SASL_CHECK_PENDING) {
		srv->pending = 1;
		srv->status = SASL_PENDING;
		return SASL_PENDING;
	}
	return finish_check(srv, result, reason);
}

enum sasl_status sasl_server_check_done(struct sasl_server *srv, enum sasl_check_result result,
					const char *reason)
{
	if (!srv->pending)
		msg_panic("sasl_server_check_done: no check is pending");
	if (result == SASL_CHECK_PENDING)
		msg_panic("sasl_server_check_done: the result is still pending");
	srv->pending = 0;
	if (srv->mech->resume != NULL) {
		wipe_password(srv);
		srv->reason = reason;
		srv->status = srv->mech->resume(srv, srv->state, result);
		return srv->status;
	}
	return finish_check(srv, result, reason);
}

/* ---- accessors ---- */

enum sasl_status sasl_server_status(const struct sasl_server *srv)
{
	return srv->status;
}

const void *sasl_server_challenge(const struct sasl_server *srv, size_t *len_r)
{
	*len_r = srv->challenge.len;
	return strbuf_str(&srv->challenge);
}

const char *sasl_server_authcid(const struct sasl_server *srv)
{
	return srv->authcid;
}

const char *sasl_server_authzid(const struct sasl_server *srv)
{
	return srv->status == SASL_SUCCESS ? srv->result_authzid : NULL;
}

const char *sasl_server_reason(const struct sasl_server *srv)
{
	return srv->reason;
}

const struct sasl_mech *sasl_server_mech(const struct sasl_server *srv)
{
	return srv->mech;
}
