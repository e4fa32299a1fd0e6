/*
 * test_password - hashing and verification for every scheme: new yescrypt
 * and Argon2id hashes, and SHA-512-crypt, bcrypt ($2b$, $2y$, $2a$) and
 * Argon2i hashes made here with libxcrypt and libargon2 directly; locked
 * and empty hashes, unknown schemes, malformed hashes, cost bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <argon2.h>
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/password.h"
#include "util/mymalloc.h"

/* expect - password_verify() of password against hash gives want. */
static void expect(const char *password, const char *hash, enum password_result want)
{
	char *err = NULL;
	enum password_result r = password_verify(password, hash, &err);

	if (r != want)
		fail_msg("verify \"%s\" against \"%s\": %d, expected %d (%s)", password, hash, r,
			 want, err != NULL ? err : "no error");
	if (r == PASSWORD_ERROR)
		assert_non_null(err);
	free(err);
}

/* crypt_with - a hash of password made by libxcrypt with prefix and cost. */
static char *crypt_with(const char *prefix, unsigned long cost, const char *password)
{
	char *setting = crypt_gensalt_ra(prefix, cost, NULL, 0), *hash;
	void *data = NULL;
	int size = 0;

	assert_non_null(setting);
	hash = crypt_ra(password, setting, &data, &size);
	assert_non_null(hash);
	hash = xstrdup(hash);
	free(data);
	free(setting);
	return hash;
}

static void test_yescrypt(void **state)
{
	char *h1 = NULL, *h2 = NULL, *err = NULL;

	assert_int_equal(password_hash("correct horse", PASSWORD_YESCRYPT, &h1, &err), 0);
	assert_int_equal(password_hash("correct horse", PASSWORD_YESCRYPT, &h2, &err), 0);
	assert_true(strncmp(h1, "$y$", 3) == 0);
	assert_string_not_equal(h1, h2); /* fresh salts */
	expect("correct horse", h1, PASSWORD_MATCH);
	expect("correct horse", h2, PASSWORD_MATCH);
	expect("correct horsE", h1, PASSWORD_MISMATCH);
	expect("", h1, PASSWORD_MISMATCH);
	assert_int_equal(password_hash_check(h1, &err), 0);
	free(h1);
	free(h2);
}

static void test_argon2id(void **state)
{
	char *h = NULL, *err = NULL;

	assert_int_equal(password_hash("pässwörd", PASSWORD_ARGON2ID, &h, &err), 0);
	assert_true(strncmp(h, "$argon2id$v=19$m=65536,t=3,p=1$", 31) == 0);
	expect("pässwörd", h, PASSWORD_MATCH);
	expect("passwort", h, PASSWORD_MISMATCH);
	assert_int_equal(password_hash_check(h, &err), 0);
	free(h);
}

static void test_sha512_crypt(void **state)
{
	char *h = crypt_with("$6$", 5000, "s3cret");

	assert_true(strncmp(h, "$6$", 3) == 0);
	expect("s3cret", h, PASSWORD_MATCH);
	expect("s3cret ", h, PASSWORD_MISMATCH);
	free(h);
	/* A well-known SHA-512-crypt hash of "password" with salt "saltsalt". */
	expect("password",
	       "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxq"
	       "OmSuNp2xS0ktL3nh/",
	       PASSWORD_MATCH);
}

static void test_bcrypt_variants(void **state)
{
	static const char *const prefixes[] = {"$2b$", "$2y$", "$2a$"};
	size_t i;

	for (i = 0; i < 3; i++) {
		char *h = crypt_with(prefixes[i], 4, "bcrypt pw");

		assert_true(strncmp(h, prefixes[i], 4) == 0);
		expect("bcrypt pw", h, PASSWORD_MATCH);
		expect("bcrypt pX", h, PASSWORD_MISMATCH);
		free(h);
	}
}

static void test_argon2i_and_other_costs(void **state)
{
	const unsigned char salt[16] = "0123456789abcdef";
	char encoded[256];

	assert_int_equal(argon2i_hash_encoded(2, 1024, 1, "abc", 3, salt, sizeof(salt), 32, encoded,
					      sizeof(encoded)),
			 ARGON2_OK);
	assert_true(strncmp(encoded, "$argon2i$", 9) == 0);
	expect("abc", encoded, PASSWORD_MATCH);
	expect("abd", encoded, PASSWORD_MISMATCH);
	assert_int_equal(argon2id_hash_encoded(1, 256, 2, "xyz", 3, salt, sizeof(salt), 16, encoded,
					       sizeof(encoded)),
			 ARGON2_OK);
	expect("xyz", encoded, PASSWORD_MATCH);
	expect("xy", encoded, PASSWORD_MISMATCH);
}

static void test_locked_and_empty(void **state)
{
	char *h = NULL, *locked, *err = NULL;

	assert_int_equal(password_hash("pw", PASSWORD_YESCRYPT, &h, &err), 0);
	locked = xasprintf("!%s", h);
	expect("pw", "", PASSWORD_MISMATCH);
	expect("", "", PASSWORD_MISMATCH);
	expect("pw", "*", PASSWORD_MISMATCH);
	expect("pw", "!", PASSWORD_MISMATCH);
	expect("pw", "*0", PASSWORD_MISMATCH);
	expect("pw", locked, PASSWORD_MISMATCH);
	assert_int_equal(password_hash_check(locked, &err), 0);
	assert_int_equal(password_hash_check("*", &err), 0);
	assert_int_equal(password_hash_check("", &err), -1);
	free(err);
	free(locked);
	free(h);
}

static void test_unsupported_and_malformed(void **state)
{
	char *h = NULL, *err = NULL, *bad;

	expect("pw", "$1$saltsalt$5J5Gb7TqHI2Q1Kl8x1G9m0", PASSWORD_ERROR);
	expect("pw", "plaintext", PASSWORD_ERROR);
	expect("pw", "abJnggxhB/yWI", PASSWORD_ERROR); /* DES */
	expect("pw", "$argon2d$v=19$m=1024,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", PASSWORD_ERROR);
	expect("pw", "$argon2id$v=19$m=65536,t=3,p=1$bad", PASSWORD_ERROR);
	expect("pw", "$argon2id$m=65536,t=3", PASSWORD_ERROR);
	/* Costs above the bounds are refused before anything is allocated. */
	expect("pw", "$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
	       PASSWORD_ERROR);
	expect("pw", "$argon2id$v=19$m=1024,t=100000,p=1$c2FsdHNhbHRzYWx0$aGFzaA", PASSWORD_ERROR);
	assert_int_equal(password_hash_check("$1$saltsalt$x", &err), -1);
	assert_non_null(strstr(err, "unsupported"));
	free(err);
	/* A crypt hash changed in one place, or lengthened, no longer matches. */
	assert_int_equal(password_hash("pw", PASSWORD_YESCRYPT, &h, &err), 0);
	bad = xstrdup(h);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
	expect("pw", bad, PASSWORD_MISMATCH);
	free(bad);
	bad = xasprintf("%sA", h);
	expect("pw", bad, PASSWORD_MISMATCH);
	free(bad);
	free(h);
}

static void test_password_limits(void **state)
{
	char *h = NULL, *err = NULL, *big = xmalloc(PASSWORD_MAX + 2);

	assert_int_equal(password_hash("", PASSWORD_YESCRYPT, &h, &err), -1);
	assert_non_null(strstr(err, "empty"));
	free(err);
	memset(big, 'p', PASSWORD_MAX + 1);
	big[PASSWORD_MAX + 1] = '\0';
	assert_int_equal(password_hash(big, PASSWORD_ARGON2ID, &h, &err), -1);
	free(err);
	big[PASSWORD_MAX] = '\0';
	assert_int_equal(password_hash(big, PASSWORD_YESCRYPT, &h, &err), 0);
	expect(big, h, PASSWORD_MATCH);
	big[PASSWORD_MAX] = 'p';
	expect(big, h, PASSWORD_MISMATCH);
	free(h);
	free(big);
}

static void test_scheme_names(void **state)
{
	enum password_scheme s;
	char *err = NULL;

	assert_int_equal(password_scheme_parse("yescrypt", &s, &err), 0);
	assert_int_equal(s, PASSWORD_YESCRYPT);
	assert_string_equal(password_scheme_name(s), "yescrypt");
	assert_int_equal(password_scheme_parse("argon2id", &s, &err), 0);
	assert_int_equal(s, PASSWORD_ARGON2ID);
	assert_string_equal(password_scheme_name(s), "argon2id");
	assert_int_equal(password_scheme_parse("md5", &s, &err), -1);
	assert_non_null(strstr(err, "md5"));
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_yescrypt),
	    cmocka_unit_test(test_argon2id),
	    cmocka_unit_test(test_sha512_crypt),
	    cmocka_unit_test(test_bcrypt_variants),
	    cmocka_unit_test(test_argon2i_and_other_costs),
	    cmocka_unit_test(test_locked_and_empty),
	    cmocka_unit_test(test_unsupported_and_malformed),
	    cmocka_unit_test(test_password_limits),
	    cmocka_unit_test(test_scheme_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
