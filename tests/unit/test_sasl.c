/*
 * test_sasl - the SASL server library: the registry and its TLS policy,
 * PLAIN (RFC 4616) and LOGIN exchanges, malformed responses, the
 * authorization identity rules, synchronous and asynchronous credential
 * checks, the limits, and a mechanism written against the interface the
 * way SCRAM or OAUTHBEARER will be.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/sasl.h"
#include "util/mymalloc.h"
#include "util/strbuf.h"

/* What the test application's callbacks do and what they saw. */
struct app {
	enum sasl_check_result answer; /* what check() returns */
	const char *reason;	       /* with FAILED or TEMPFAIL */
	const char *password;	       /* when set: OK if it matches, FAILED otherwise */
	int lower;		       /* normalise: ASCII lower case */
	int allow_authz;	       /* authorize: yes */
	int checks;		       /* check() calls */
	char authcid[512], authzid[512], secret[SASL_SECRET_MAX + 1];
	size_t secret_len;
	size_t secret_strlen; /* strlen of check->password: it is NUL-terminated */
	const char *mech;
};

static enum sasl_check_result app_check(void *ctx, struct sasl_server *srv,
					const struct sasl_check *check, const char **reason_r)
{
	struct app *app = ctx;

	app->checks++;
	assert_int_equal(check->kind, SASL_CHECK_PASSWORD);
	app->mech = check->mech;
	snprintf(app->authcid, sizeof(app->authcid), "%s", check->authcid);
	snprintf(app->authzid, sizeof(app->authzid), "%s", check->authzid);
	memcpy(app->secret, check->password, check->password_len);
	app->secret_len = check->password_len;
	app->secret_strlen = strlen(check->password);
	if (app->password != NULL) {
		if (strcmp(app->password, check->password) == 0)
			return SASL_CHECK_OK;
		*reason_r = "password mismatch";
		return SASL_CHECK_FAILED;
	}
	*reason_r = app->reason;
	return app->answer;
}

static char *app_normalise(void *ctx, const char *name)
{
	struct app *app = ctx;
	char *copy = xstrdup(name), *p;

	if (strchr(name, '@') == NULL) {
		free(copy);
		return NULL;
	}
	if (app->lower)
		for (p = copy; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	return copy;
}

static int app_authorize(void *ctx, const char *authcid, const char *authzid)
{
	struct app *app = ctx;

	return app->allow_authz ? 0 : -1;
}

static const struct sasl_server_callbacks app_callbacks = {
    .check = app_check,
    .normalise = app_normalise,
    .authorize = app_authorize,
};

static const struct sasl_server_callbacks bare_callbacks = {.check = app_check};

/* plain_step - one PLAIN message of the three parts as initial response. */
static enum sasl_status plain_step(struct sasl_server *srv, const char *authzid,
				   const char *authcid, const char *password)
{
	struct strbuf msg = STRBUF_INIT;
	enum sasl_status st;

	strbuf_puts(&msg, authzid);
	strbuf_putc(&msg, '\0');
	strbuf_puts(&msg, authcid);
	strbuf_putc(&msg, '\0');
	strbuf_puts(&msg, password);
	st = sasl_server_step(srv, msg.data, msg.len);
	strbuf_free(&msg);
	return st;
}

static struct sasl_server *new_plain(struct app *app)
{
	return sasl_server_new(&sasl_mech_plain, &app_callbacks, app);
}

/* ---- the registry ---- */

static void test_mech_find(void **state)
{
	assert_ptr_equal(sasl_mech_find("PLAIN"), &sasl_mech_plain);
	assert_ptr_equal(sasl_mech_find("plain"), &sasl_mech_plain);
	assert_ptr_equal(sasl_mech_find("Login"), &sasl_mech_login);
	assert_null(sasl_mech_find("CRAM-MD5"));
	assert_null(sasl_mech_find(""));
	assert_true(sasl_mech_plain.flags & SASL_MECH_PLAINTEXT);
	assert_true(sasl_mech_plain.flags & SASL_MECH_CLIENT_FIRST);
	assert_true(sasl_mech_login.flags & SASL_MECH_PLAINTEXT);
	assert_false(sasl_mech_login.flags & SASL_MECH_CLIENT_FIRST);
}

static void test_registry_tls_policy(void **state)
{
	const char *names[] = {"login", "PLAIN", "LOGIN", NULL};
	struct sasl_registry *reg;
	const char *why = NULL;
	char *error = NULL, *list;

	reg = sasl_registry_create(names, 0, &error);
	assert_non_null(reg);
	list = sasl_registry_list(reg, 1);
	assert_string_equal(list, "LOGIN PLAIN"); /* configured order, no duplicates */
	free(list);
	list = sasl_registry_list(reg, 0);
	assert_string_equal(list, "");
	free(list);
	assert_ptr_equal(sasl_registry_find(reg, "plain", 1, &why), &sasl_mech_plain);
	assert_null(sasl_registry_find(reg, "PLAIN", 0, &why));
	assert_string_equal(why, "mechanism requires TLS");
	assert_null(sasl_registry_find(reg, "XOAUTH2", 1, &why));
	assert_string_equal(why, "unknown mechanism");
	sasl_registry_free(&reg);
	assert_null(reg);

	reg = sasl_registry_create(names, 1, &error);
	list = sasl_registry_list(reg, 0);
	assert_string_equal(list, "LOGIN PLAIN");
	free(list);
	assert_ptr_equal(sasl_registry_find(reg, "LOGIN", 0, &why), &sasl_mech_login);
	sasl_registry_free(&reg);
}

static void test_registry_not_enabled(void **state)
{
	const char *names[] = {"PLAIN", NULL};
	const char *none[] = {NULL};
	struct sasl_registry *reg;
	const char *why = NULL;
	char *error = NULL, *list;

	reg = sasl_registry_create(names, 1, &error);
	assert_null(sasl_registry_find(reg, "LOGIN", 1, &why));
	assert_string_equal(why, "mechanism not enabled");
	sasl_registry_free(&reg);
	reg = sasl_registry_create(none, 1, &error);
	list = sasl_registry_list(reg, 1);
	assert_string_equal(list, "");
	free(list);
	sasl_registry_free(&reg);
}

static void test_registry_unknown(void **state)
{
	const char *names[] = {"PLAIN", "DIGEST-MD5", NULL};
	char *error = NULL;

	assert_null(sasl_registry_create(names, 0, &error));
	assert_string_equal(error, "unknown SASL mechanism \"DIGEST-MD5\"");
	free(error);
}

/* ---- PLAIN ---- */

static void test_plain_initial_response(void **state)
{
	struct app app = {.password = "secret"};
	struct sasl_server *srv = new_plain(&app);

	assert_int_equal(plain_step(srv, "", "alice@example.org", "secret"), SASL_SUCCESS);
	assert_int_equal(app.checks, 1);
	assert_string_equal(app.mech, "PLAIN");
	assert_string_equal(app.authcid, "alice@example.org");
	assert_string_equal(app.authzid, "");
	assert_int_equal(app.secret_len, 6);
	assert_int_equal(app.secret_strlen, 6);
	assert_string_equal(sasl_server_authcid(srv), "alice@example.org");
	assert_string_equal(sasl_server_authzid(srv), "alice@example.org");
	assert_int_equal(sasl_server_status(srv), SASL_SUCCESS);
	assert_ptr_equal(sasl_server_mech(srv), &sasl_mech_plain);
	sasl_server_free(&srv);
	assert_null(srv);
}

static void test_plain_empty_challenge(void **state)
{
	struct app app = {.password = "pw"};
	struct sasl_server *srv = new_plain(&app);
	size_t len = 99;

	assert_int_equal(sasl_server_step(srv, NULL, 0), SASL_CONTINUE);
	sasl_server_challenge(srv, &len);
	assert_int_equal(len, 0);
	assert_int_equal(app.checks, 0);
	assert_int_equal(plain_step(srv, "", "bob@example.org", "pw"), SASL_SUCCESS);
	sasl_server_free(&srv);
}

static void test_plain_wrong_password(void **state)
{
	struct app app = {.password = "right"};
	struct sasl_server *srv = new_plain(&app);

	assert_int_equal(plain_step(srv, "", "alice@example.org", "wrong"), SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "password mismatch");
	assert_string_equal(sasl_server_authcid(srv), "alice@example.org");
	assert_null(sasl_server_authzid(srv));
	/* the exchange is over: more input fails without a second check */
	assert_int_equal(plain_step(srv, "", "alice@example.org", "right"), SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "exchange is over");
	assert_int_equal(app.checks, 1);
	sasl_server_free(&srv);
}

static void test_plain_check_results(void **state)
{
	struct app app = {.answer = SASL_CHECK_TEMPFAIL, .reason = "directory unavailable"};
	struct sasl_server *srv = new_plain(&app);

	assert_int_equal(plain_step(srv, "", "a@b.example", "x"), SASL_TEMPFAIL);
	assert_string_equal(sasl_server_reason(srv), "directory unavailable");
	sasl_server_free(&srv);

	app.answer = SASL_CHECK_FAILED;
	app.reason = NULL;
	srv = new_plain(&app);
	assert_int_equal(plain_step(srv, "", "a@b.example", "x"), SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "invalid credentials");
	sasl_server_free(&srv);

	app.answer = SASL_CHECK_TEMPFAIL;
	srv = new_plain(&app);
	assert_int_equal(plain_step(srv, "", "a@b.example", "x"), SASL_TEMPFAIL);
	assert_string_equal(sasl_server_reason(srv), "temporary failure");
	sasl_server_free(&srv);
}

/* One malformed PLAIN message (len bytes) and the reason it must get. */
static void expect_malformed(const char *msg, size_t len, const char *reason)
{
	struct app app = {.answer = SASL_CHECK_OK};
	struct sasl_server *srv = new_plain(&app);

	assert_int_equal(sasl_server_step(srv, msg, len), SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), reason);
	assert_int_equal(app.checks, 0);
	sasl_server_free(&srv);
}

static void test_plain_malformed(void **state)
{
	char long_name[SASL_NAME_MAX + 20];
	struct strbuf msg = STRBUF_INIT;

	expect_malformed("", 0, "malformed response");
	expect_malformed("alice", 5, "malformed response");
	expect_malformed("\0alice", 6, "malformed response");
	expect_malformed("\0alice\0", 7, "empty password");
	expect_malformed("\0\0secret", 8, "malformed authentication identity");
	expect_malformed("\0alice\0sec\0ret", 14, "malformed password");
	expect_malformed("\0al\x01ice\0pw", 10, "malformed authentication identity");
	expect_malformed("\0al\xc3ice\0pw", 10, "malformed authentication identity");
	expect_malformed("\0al\x7fice\0pw", 10, "malformed authentication identity");
	expect_malformed("\xff\0alice\0pw", 10, "malformed authorization identity");
	expect_malformed("x\ty\0alice\0pw", 12, "malformed authorization identity");

	memset(long_name, 'a', sizeof(long_name));
	strbuf_putc(&msg, '\0');
	strbuf_append(&msg, long_name, SASL_NAME_MAX + 1);
	strbuf_append(&msg, "\0pw", 3);
	expect_malformed(msg.data, msg.len, "malformed authentication identity");
	strbuf_reset(&msg);
	strbuf_append(&msg, long_name, SASL_NAME_MAX + 1);
	strbuf_append(&msg, "\0a@b\0pw", 7);
	expect_malformed(msg.data, msg.len, "malformed authorization identity");
	strbuf_free(&msg);
}

/* Names of exactly SASL_NAME_MAX bytes and UTF-8 names are accepted. */
static void test_plain_limits_accepted(void **state)
{
	struct app app = {.answer = SASL_CHECK_OK};
	char name[SASL_NAME_MAX + 1];
	struct sasl_server *srv;

	memset(name, 'n', SASL_NAME_MAX);
	name[SASL_NAME_MAX] = '\0';
	srv = new_plain(&app);
	assert_int_equal(plain_step(srv, "", name, "pw"), SASL_SUCCESS);
	assert_int_equal(strlen(app.authcid), SASL_NAME_MAX);
	sasl_server_free(&srv);

	srv = new_plain(&app);
	assert_int_equal(plain_step(srv, "",
				    "jos\xc3\xa9@b\xc3\xbc"
				    "cher.example",
				    "p\xc3\xa4ss"),
			 SASL_SUCCESS);
	sasl_server_free(&srv);
}

static void test_password_limits(void **state)
{
	struct app app = {.answer = SASL_CHECK_OK};
	struct strbuf msg = STRBUF_INIT;
	struct sasl_server *srv;
	char *pw = xmalloc(SASL_SECRET_MAX + 1);

	memset(pw, 'p', SASL_SECRET_MAX + 1);
	strbuf_append(&msg, "\0a@b.example\0", 13);
	strbuf_append(&msg, pw, SASL_SECRET_MAX);
	srv = new_plain(&app);
	assert_int_equal(sasl_server_step(srv, msg.data, msg.len), SASL_SUCCESS);
	assert_int_equal(app.secret_len, SASL_SECRET_MAX);
	sasl_server_free(&srv);

	strbuf_putc(&msg, 'p');
	srv = new_plain(&app);
	assert_int_equal(sasl_server_step(srv, msg.data, msg.len), SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "malformed password");
	sasl_server_free(&srv);
	strbuf_free(&msg);
	free(pw);
}

static void test_response_too_long(void **state)
{
	struct app app = {.answer = SASL_CHECK_OK};
	struct sasl_server *srv = new_plain(&app);
	char *big = xcalloc(1, SASL_RESPONSE_MAX + 1);

	assert_int_equal(sasl_server_step(srv, big, SASL_RESPONSE_MAX + 1), SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "response too long");
	assert_int_equal(app.checks, 0);
	sasl_server_free(&srv);
	free(big);
}

static void test_missing_response(void **state)
{
	struct app app = {.answer = SASL_CHECK_OK};
	struct sasl_server *srv = new_plain(&app);

	assert_int_equal(sasl_server_step(srv, NULL, 0), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(srv, NULL, 0), SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "missing response");
	sasl_server_free(&srv);
}

/* ---- the authorization identity ---- */

static void test_authzid_equal_after_normalising(void **state)
{
	struct app app = {.answer = SASL_CHECK_OK, .lower = 1};
	struct sasl_server *srv = new_plain(&app);

	assert_int_equal(plain_step(srv, "Alice@Example.ORG", "alice@example.org", "pw"),
			 SASL_SUCCESS);
	assert_string_equal(app.authzid, "Alice@Example.ORG");
	assert_string_equal(sasl_server_authzid(srv), "alice@example.org");
	sasl_server_free(&srv);
}

static void test_authzid_other_refused(void **state)
{
	struct app app = {.answer = SASL_CHECK_OK, .lower = 1};
	struct sasl_server *srv = new_plain(&app);

	assert_int_equal(plain_step(srv, "bob@example.org", "alice@example.org", "pw"),
			 SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "authorization identity refused");
	assert_int_equal(app.checks, 1); /* refused after the credentials were checked */
	sasl_server_free(&srv);

	/* without a normalise callback, names must match exactly */
	srv = sasl_server_new(&sasl_mech_plain, &bare_callbacks, &app);
	assert_int_equal(plain_step(srv, "Alice@example.org", "alice@example.org", "pw"),
			 SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "authorization identity refused");
	sasl_server_free(&srv);
	srv = sasl_server_new(&sasl_mech_plain, &bare_callbacks, &app);
	assert_int_equal(plain_step(srv, "alice@example.org", "alice@example.org", "pw"),
			 SASL_SUCCESS);
	sasl_server_free(&srv);

	/* names that do not normalise (not addresses here) never compare equal */
	srv = new_plain(&app);
	assert_int_equal(plain_step(srv, "alice", "alice", "pw"), SASL_FAILURE);
	sasl_server_free(&srv);
}

static void test_authzid_policy_allows(void **state)
{
	struct app app = {.answer = SASL_CHECK_OK, .allow_authz = 1};
	struct sasl_server *srv = new_plain(&app);

	assert_int_equal(plain_step(srv, "shared@example.org", "admin@example.org", "pw"),
			 SASL_SUCCESS);
	assert_string_equal(sasl_server_authcid(srv), "admin@example.org");
	assert_string_equal(sasl_server_authzid(srv), "shared@example.org");
	sasl_server_free(&srv);
}

/* A wrong password with a foreign authzid reports the password, not the authzid. */
static void test_authzid_after_credentials(void **state)
{
	struct app app = {.password = "right"};
	struct sasl_server *srv = new_plain(&app);

	assert_int_equal(plain_step(srv, "bob@example.org", "alice@example.org", "wrong"),
			 SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "password mismatch");
	sasl_server_free(&srv);
}

/* ---- asynchronous checks ---- */

static void test_async_check(void **state)
{
	struct app app = {.answer = SASL_CHECK_PENDING};
	struct sasl_server *srv = new_plain(&app);

	assert_int_equal(plain_step(srv, "", "carol@example.org", "pw"), SASL_PENDING);
	assert_int_equal(sasl_server_status(srv), SASL_PENDING);
	assert_int_equal(sasl_server_check_done(srv, SASL_CHECK_OK, NULL), SASL_SUCCESS);
	assert_string_equal(sasl_server_authzid(srv), "carol@example.org");
	sasl_server_free(&srv);

	srv = new_plain(&app);
	assert_int_equal(plain_step(srv, "", "carol@example.org", "pw"), SASL_PENDING);
	assert_int_equal(sasl_server_check_done(srv, SASL_CHECK_FAILED, "account disabled"),
			 SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "account disabled");
	sasl_server_free(&srv);

	srv = new_plain(&app);
	assert_int_equal(plain_step(srv, "", "carol@example.org", "pw"), SASL_PENDING);
	assert_int_equal(sasl_server_check_done(srv, SASL_CHECK_TEMPFAIL, "down"), SASL_TEMPFAIL);
	sasl_server_free(&srv);

	/* freed while pending: nothing leaks (ASan checks) */
	srv = new_plain(&app);
	assert_int_equal(plain_step(srv, "", "carol@example.org", "pw"), SASL_PENDING);
	sasl_server_free(&srv);
}

/* ---- LOGIN ---- */

static void test_login(void **state)
{
	struct app app = {.password = "pw"};
	struct sasl_server *srv = sasl_server_new(&sasl_mech_login, &app_callbacks, &app);
	const char *challenge;
	size_t len;

	assert_int_equal(sasl_server_step(srv, NULL, 0), SASL_CONTINUE);
	challenge = sasl_server_challenge(srv, &len);
	assert_int_equal(len, 9);
	assert_memory_equal(challenge, "Username:", 9);
	assert_int_equal(sasl_server_step(srv, "dave@example.org", 16), SASL_CONTINUE);
	challenge = sasl_server_challenge(srv, &len);
	assert_memory_equal(challenge, "Password:", 9);
	assert_int_equal(app.checks, 0);
	assert_int_equal(sasl_server_step(srv, "pw", 2), SASL_SUCCESS);
	assert_string_equal(app.mech, "LOGIN");
	assert_string_equal(app.authzid, "");
	assert_string_equal(sasl_server_authzid(srv), "dave@example.org");
	sasl_server_free(&srv);
}

static void test_login_initial_response(void **state)
{
	struct app app = {.password = "pw"};
	struct sasl_server *srv = sasl_server_new(&sasl_mech_login, &app_callbacks, &app);
	size_t len;

	assert_int_equal(sasl_server_step(srv, "dave@example.org", 16), SASL_CONTINUE);
	assert_memory_equal(sasl_server_challenge(srv, &len), "Password:", 9);
	assert_int_equal(sasl_server_step(srv, "bad", 3), SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "password mismatch");
	sasl_server_free(&srv);
}

static void test_login_malformed(void **state)
{
	struct app app = {.answer = SASL_CHECK_OK};
	struct sasl_server *srv = sasl_server_new(&sasl_mech_login, &app_callbacks, &app);
	char long_name[SASL_NAME_MAX + 1];

	assert_int_equal(sasl_server_step(srv, "", 0), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(srv, "pw", 2), SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "malformed authentication identity");
	sasl_server_free(&srv);

	srv = sasl_server_new(&sasl_mech_login, &app_callbacks, &app);
	assert_int_equal(sasl_server_step(srv, "a\0b", 3), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(srv, "pw", 2), SASL_FAILURE);
	sasl_server_free(&srv);

	srv = sasl_server_new(&sasl_mech_login, &app_callbacks, &app);
	memset(long_name, 'x', sizeof(long_name));
	assert_int_equal(sasl_server_step(srv, long_name, sizeof(long_name)), SASL_FAILURE);
	sasl_server_free(&srv);

	srv = sasl_server_new(&sasl_mech_login, &app_callbacks, &app);
	assert_int_equal(sasl_server_step(srv, "u@example.org", 13), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(srv, "", 0), SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "empty password");
	assert_int_equal(app.checks, 0);
	sasl_server_free(&srv);
}

/* ---- a mechanism of its own, through the public interface ---- */

/*
 * ECHO-TEST: challenges "more" for each response until it gets "done" then
 * checks the password "pw" for "test@example.org", asynchronously, and on
 * resume() adds one more challenge round before succeeding (as SCRAM's
 * server-final message does).
 */
struct echo_state {
	int resumed;
	int finished_ok;
};

static void *echo_start(void)
{
	return xcalloc(1, sizeof(struct echo_state));
}

static enum sasl_status echo_step(struct sasl_server *srv, void *state, const unsigned char *in,
				  size_t len)
{
	struct echo_state *st = state;

	if (st->resumed)
		return len == 2 && memcmp(in, "ok", 2) == 0 ? sasl_server_authorize(srv)
							    : sasl_server_fail(srv, "bad final");
	if (in != NULL && len == 4 && memcmp(in, "done", 4) == 0)
		return sasl_server_check_password(srv, "test@example.org", 16, NULL, 0, "pw", 2);
	return sasl_server_challenge_set(srv, "more", 4);
}

static enum sasl_status echo_resume(struct sasl_server *srv, void *state,
				    enum sasl_check_result result)
{
	struct echo_state *st = state;

	st->resumed = 1;
	if (result != SASL_CHECK_OK)
		return sasl_server_fail(srv, "check failed");
	return sasl_server_challenge_set(srv, "final", 5);
}

static void echo_finish(void *state)
{
	free(state);
}

static const struct sasl_mech echo_mech = {
    .name = "ECHO-TEST",
    .flags = SASL_MECH_NEEDS_TLS,
    .start = echo_start,
    .step = echo_step,
    .resume = echo_resume,
    .finish = echo_finish,
};

static void test_custom_mechanism_resume(void **state)
{
	struct app app = {.answer = SASL_CHECK_PENDING};
	struct sasl_server *srv = sasl_server_new(&echo_mech, &app_callbacks, &app);
	size_t len;

	assert_int_equal(sasl_server_step(srv, NULL, 0), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(srv, "x", 1), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(srv, "done", 4), SASL_PENDING);
	assert_int_equal(sasl_server_check_done(srv, SASL_CHECK_OK, NULL), SASL_CONTINUE);
	assert_memory_equal(sasl_server_challenge(srv, &len), "final", 5);
	assert_int_equal(sasl_server_step(srv, "ok", 2), SASL_SUCCESS);
	assert_string_equal(sasl_server_authcid(srv), "test@example.org");
	assert_string_equal(sasl_server_authzid(srv), "test@example.org");
	sasl_server_free(&srv);

	srv = sasl_server_new(&echo_mech, &app_callbacks, &app);
	assert_int_equal(sasl_server_step(srv, "done", 4), SASL_PENDING);
	assert_int_equal(sasl_server_check_done(srv, SASL_CHECK_FAILED, "no"), SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "check failed");
	sasl_server_free(&srv);
}

static void test_steps_limit(void **state)
{
	struct app app = {.answer = SASL_CHECK_OK};
	struct sasl_server *srv = sasl_server_new(&echo_mech, &app_callbacks, &app);
	int i;

	assert_int_equal(sasl_server_step(srv, NULL, 0), SASL_CONTINUE);
	for (i = 0; i < SASL_STEPS_MAX; i++)
		assert_int_equal(sasl_server_step(srv, "x", 1), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(srv, "x", 1), SASL_FAILURE);
	assert_string_equal(sasl_server_reason(srv), "too many steps");
	sasl_server_free(&srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mech_find),
	    cmocka_unit_test(test_registry_tls_policy),
	    cmocka_unit_test(test_registry_not_enabled),
	    cmocka_unit_test(test_registry_unknown),
	    cmocka_unit_test(test_plain_initial_response),
	    cmocka_unit_test(test_plain_empty_challenge),
	    cmocka_unit_test(test_plain_wrong_password),
	    cmocka_unit_test(test_plain_check_results),
	    cmocka_unit_test(test_plain_malformed),
	    cmocka_unit_test(test_plain_limits_accepted),
	    cmocka_unit_test(test_password_limits),
	    cmocka_unit_test(test_response_too_long),
	    cmocka_unit_test(test_missing_response),
	    cmocka_unit_test(test_authzid_equal_after_normalising),
	    cmocka_unit_test(test_authzid_other_refused),
	    cmocka_unit_test(test_authzid_policy_allows),
	    cmocka_unit_test(test_authzid_after_credentials),
	    cmocka_unit_test(test_async_check),
	    cmocka_unit_test(test_login),
	    cmocka_unit_test(test_login_initial_response),
	    cmocka_unit_test(test_login_malformed),
	    cmocka_unit_test(test_custom_mechanism_resume),
	    cmocka_unit_test(test_steps_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
