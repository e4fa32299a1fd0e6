/*
 * sasl_login - the LOGIN mechanism (draft-murchison-sasl-login), kept for
 * the clients that know nothing better.
 *
 * The server asks "Username:", then "Password:"; the client answers each.
 * Clients that send the user name as an initial response (AUTH LOGIN
 * <base64>), as many do, skip the first question. There is no
 * authorization identity: the user acts as itself.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/sasl.h"
#include "util/mymalloc.h"

#define LOGIN_USER_PROMPT "Username:"
#define LOGIN_PASSWORD_PROMPT "Password:"

struct login_state {
	int have_user;
	char *user; /* may hold NUL bytes: sasl_server_check_password() refuses them */
	size_t user_len;
};

static void *login_start(void)
{
	return xcalloc(1, sizeof(struct login_state));
}

static enum sasl_status login_step(struct sasl_server *srv, void *state, const unsigned char *in,
				   size_t len)
{
	struct login_state *st = state;

	if (in == NULL)
		return sasl_server_challenge_set(srv, LOGIN_USER_PROMPT, strlen(LOGIN_USER_PROMPT));
	if (!st->have_user) {
		if (len > SASL_NAME_MAX)
			return sasl_server_fail(srv, "malformed authentication identity");
		st->user = xmemdup(in, len);
		st->user_len = len;
		st->have_user = 1;
		return sasl_server_challenge_set(srv, LOGIN_PASSWORD_PROMPT,
						 strlen(LOGIN_PASSWORD_PROMPT));
	}
	return sasl_server_check_password(srv, st->user, st->user_len, NULL, 0, (const char *)in,
					  len);
}

static void login_finish(void *state)
{
	struct login_state *st = state;

	free(st->user);
	free(st);
}

const struct sasl_mech sasl_mech_login = {
    .name = "LOGIN",
    .flags = SASL_MECH_PLAINTEXT,
    .start = login_start,
    .step = login_step,
    .resume = NULL,
    .finish = login_finish,
};
