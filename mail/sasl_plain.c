/*
 * sasl_plain - the PLAIN mechanism (RFC 4616).
 *
 * The client sends one message, [authzid] NUL authcid NUL passwd, as its
 * initial response or in answer to an empty challenge. The message is split
 * here; sasl_server_check_password() validates the parts and checks them.
 * A password containing a NUL (a third separator) is malformed.
 */
#include <string.h>

#include "mail/sasl.h"

static enum sasl_status plain_step(struct sasl_server *srv, void *state, const unsigned char *in,
				   size_t len)
{
	const char *msg = (const char *)in;
	const char *sep1, *sep2;
	size_t authzid_len, authcid_len;

	(void)state;
	if (in == NULL)
		return sasl_server_challenge_set(srv, "", 0);
	if (len == 0 || (sep1 = memchr(msg, '\0', len)) == NULL)
		return sasl_server_fail(srv, "malformed response");
	authzid_len = (size_t)(sep1 - msg);
	sep2 = memchr(sep1 + 1, '\0', len - authzid_len - 1);
	if (sep2 == NULL)
		return sasl_server_fail(srv, "malformed response");
	authcid_len = (size_t)(sep2 - sep1 - 1);
	return sasl_server_check_password(srv, sep1 + 1, authcid_len, msg, authzid_len, sep2 + 1,
					  len - authzid_len - authcid_len - 2);
}

const struct sasl_mech sasl_mech_plain = {
    .name = "PLAIN",
    .flags = SASL_MECH_PLAINTEXT | SASL_MECH_CLIENT_FIRST,
    .start = NULL,
    .step = plain_step,
    .resume = NULL,
    .finish = NULL,
};
