/*
 * fuzz_sasl - libFuzzer harness for the SASL server's parsers: PLAIN and
 * LOGIN responses, the base64 that carries them, and the auth daemon's
 * request records.
 *
 * The first input byte chooses the mode:
 *   bit 0x01  the responses are base64 lines (decoded strictly first; a
 *             line that does not decode ends the exchange, as a protocol
 *             daemon would end it)
 *   bit 0x02  LOGIN instead of PLAIN
 *   bit 0x04  the credential check answers later (SASL_CHECK_PENDING)
 *   bit 0x08  start without an initial response
 *   bit 0x10  instead of all that: the rest is a stream of auth protocol
 *             request records for the daemon's decoder and checks
 * The rest is split at '\n' into responses. Invariants are checked on every
 * step: a success only for the one valid user and password, statuses that
 * follow the state machine, the exchange never running past its limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "mail/sasl.h"
#include "util/base64.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GOOD_USER "user@example.org"
#define GOOD_PASSWORD "secret"

struct fuzz_app {
	int async;
	int checks;
	int good; /* the last check had the right credentials */
};

static enum sasl_check_result fz_check(void *ctx, struct sasl_server *srv,
				       const struct sasl_check *check, const char **reason_r)
{
	struct fuzz_app *app = ctx;

	app->checks++;
	if (strlen(check->password) != check->password_len || check->authcid[0] == '\0')
		abort();
	app->good =
	    strcmp(check->authcid, GOOD_USER) == 0 && strcmp(check->password, GOOD_PASSWORD) == 0;
	if (app->async)
		return SASL_CHECK_PENDING;
	*reason_r = "password mismatch";
	return app->good ? SASL_CHECK_OK : SASL_CHECK_FAILED;
}

static char *fz_normalise(void *ctx, const char *name)
{
	return strdup(name);
}

static const struct sasl_server_callbacks fz_callbacks = {
    .check = fz_check,
    .normalise = fz_normalise,
};

/* after - check the invariants of a status; returns 1 when the exchange is over. */
static int after(struct sasl_server *srv, struct fuzz_app *app, enum sasl_status st)
{
	size_t len;

	if (st != sasl_server_status(srv))
		abort();
	switch (st) {
	case SASL_CONTINUE:
		(void)sasl_server_challenge(srv, &len);
		return 0;
	case SASL_PENDING:
		st = sasl_server_check_done(srv, app->good ? SASL_CHECK_OK : SASL_CHECK_FAILED,
					    "password mismatch");
		return after(srv, app, st);
	case SASL_SUCCESS:
		if (!app->good || sasl_server_authzid(srv) == NULL ||
		    strcmp(sasl_server_authcid(srv), GOOD_USER) != 0)
			abort();
		return 1;
	case SASL_FAILURE:
	case SASL_TEMPFAIL:
		if (sasl_server_reason(srv) == NULL || sasl_server_authzid(srv) != NULL)
			abort();
		return 1;
	}
	abort();
}

static void run_exchange(uint8_t mode, const uint8_t *data, size_t size)
{
	struct fuzz_app app = {.async = (mode & 0x04) != 0};
	const struct sasl_mech *mech = (mode & 0x02) ? &sasl_mech_login : &sasl_mech_plain;
	struct sasl_server *srv = sasl_server_new(mech, &fz_callbacks, &app);
	struct strbuf dec = STRBUF_INIT;
	const uint8_t *p = data, *end = data + size, *nl;
	int over = 0, steps = 0;
	char *error = NULL;

	if (mode & 0x08)
		over = after(srv, &app, sasl_server_step(srv, NULL, 0));
	while (!over && p <= end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		strbuf_reset(&dec);
		if (mode & 0x01) {
			if (base64_decode(&dec, (const char *)p, (size_t)(nl - p), &error) < 0) {
				free(error);
				break;
			}
		} else {
			strbuf_append(&dec, p, (size_t)(nl - p));
		}
		over = after(srv, &app,
			     sasl_server_step(srv, dec.data != NULL ? dec.data : "", dec.len));
		if (++steps > SASL_STEPS_MAX + 1)
			abort();
		p = nl + 1;
	}
	if (over && sasl_server_step(srv, "x", 1) != SASL_FAILURE)
		abort();
	strbuf_free(&dec);
	sasl_server_free(&srv);
}

/* run_requests - the daemon's request decoding and validation over a byte stream. */
static void run_requests(const uint8_t *data, size_t size)
{
	struct auth_request req;
	struct attr_decoder *dec;
	enum auth_request_type type;
	size_t used;
	char *error = NULL;

	auth_request_init(&req);
	dec = auth_request_decoder(&req, 4096);
	while (size > 0) {
		switch (attr_decoder_feed(dec, data, size, &used, &error)) {
		case ATTR_DECODE_DONE:
			if (auth_request_check(&req, &type, &error) < 0)
				free(error);
			else if (type == AUTH_REQ_AUTH && req.client_addr.len == 0)
				abort();
			auth_request_clear(&req);
			break;
		case ATTR_DECODE_ERROR:
			free(error);
			attr_decoder_reset(dec);
			auth_request_clear(&req);
			used = used > 0 ? used : 1;
			break;
		case ATTR_DECODE_MORE:
			break;
		}
		data += used;
		size -= used;
	}
	attr_decoder_destroy(&dec);
	auth_request_free(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 0x10)
		run_requests(data + 1, size - 1);
	else
		run_exchange(data[0], data + 1, size - 1);
	return 0;
}
