/*
 * password - make and verify password hashes (see password.h).
 *
 * crypt(3) schemes go through libxcrypt's crypt_ra(), which hashes the
 * password with the setting (scheme, cost, salt) held at the start of the
 * stored hash; the result is compared with the stored hash in constant
 * time. Argon2 hashes go through libargon2, whose argon2_verify() also
 * compares in constant time; their cost parameters are bounded first, so
 * that a stored hash cannot make a login allocate without limit.
 */
#include <argon2.h>
#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mail/password.h"
#include "util/mymalloc.h"

_Static_assert(PASSWORD_MAX < CRYPT_MAX_PASSPHRASE_SIZE, "crypt(3) must take every password");

/* Argon2id cost of new hashes (RFC 9106 section 4, second recommendation, one lane). */
#define PW_ARGON2_T_COST 3
#define PW_ARGON2_M_COST (64 * 1024) /* KiB */
#define PW_ARGON2_LANES 1
#define PW_ARGON2_SALT_LEN 16
#define PW_ARGON2_HASH_LEN 32
/* Bounds on the cost of stored Argon2 hashes that are verified. */
#define PW_ARGON2_MAX_T_COST 1000
#define PW_ARGON2_MAX_LANES 64

/* The crypt(3) prefixes that verification knows. */
static const char *const crypt_prefixes[] = {"$y$", "$6$", "$2b$", "$2y$", "$2a$"};

int password_scheme_parse(const char *name, enum password_scheme *scheme_r, char **error_r)
{
	if (strcmp(name, "yescrypt") == 0) {
		*scheme_r = PASSWORD_YESCRYPT;
		return 0;
	}
	if (strcmp(name, "argon2id") == 0) {
		*scheme_r = PASSWORD_ARGON2ID;
		return 0;
	}
	*error_r = xasprintf("unknown password scheme \"%s\": use yescrypt or argon2id", name);
	return -1;
}

const char *password_scheme_name(enum password_scheme scheme)
{
	return scheme == PASSWORD_ARGON2ID ? "argon2id" : "yescrypt";
}

/* ct_equal - whether a and b are the same string, in time that depends only on their lengths. */
static int ct_equal(const char *a, const char *b)
{
	size_t len = strlen(a), i;
	volatile unsigned char diff = 0;

	if (len != strlen(b))
		return 0;
	for (i = 0; i < len; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* random_bytes - fill buf from the kernel's random source. */
static int random_bytes(void *buf, size_t len, char **error_r)
{
	unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = getrandom(p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = xasprintf("getrandom: %s", strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* crypt_hash - run crypt_ra(); the result malloc'd, or NULL with *error_r set. */
static char *crypt_hash(const char *password, const char *setting, char **error_r)
{
	void *data = NULL;
	int size = 0;
	char *out, *result = NULL;

	errno = 0;
	out = crypt_ra(password, setting, &data, &size);
	if (out == NULL || out[0] == '*')
		*error_r = xasprintf("crypt: %s", errno != 0 ? strerror(errno) : "invalid hash");
	else
		result = xstrdup(out);
	if (data != NULL) {
		explicit_bzero(data, (size_t)size);
		free(data);
	}
	return result;
}

/* hash_yescrypt - "$y$..." with libxcrypt's default cost. */
static int hash_yescrypt(const char *password, char **hash_r, char **error_r)
{
	char *setting;

	errno = 0;
	setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (setting == NULL) {
		*error_r = xasprintf("crypt_gensalt: %s",
				     errno != 0 ? strerror(errno) : "yescrypt is not available");
		return -1;
	}
	*hash_r = crypt_hash(password, setting, error_r);
	free(setting);
	return *hash_r == NULL ? -1 : 0;
}

/* hash_argon2id - "$argon2id$v=19$m=...,t=...,p=...$salt$hash". */
static int hash_argon2id(const char *password, char **hash_r, char **error_r)
{
	unsigned char salt[PW_ARGON2_SALT_LEN];
	size_t len = argon2_encodedlen(PW_ARGON2_T_COST, PW_ARGON2_M_COST, PW_ARGON2_LANES,
				       PW_ARGON2_SALT_LEN, PW_ARGON2_HASH_LEN, Argon2_id);
	char *encoded;
	int rc;

	if (random_bytes(salt, sizeof(salt), error_r) < 0)
		return -1;
	encoded = xmalloc(len);
	rc = argon2id_hash_encoded(PW_ARGON2_T_COST, PW_ARGON2_M_COST, PW_ARGON2_LANES, password,
				   strlen(password), salt, sizeof(salt), PW_ARGON2_HASH_LEN,
				   encoded, len);
	if (rc != ARGON2_OK) {
		*error_r = xasprintf("argon2: %s", argon2_error_message(rc));
		free(encoded);
		return -1;
	}
	*hash_r = encoded;
	return 0;
}

int password_hash(const char *password, enum password_scheme scheme, char **hash_r, char **error_r)
{
	size_t len = strlen(password);

	*hash_r = NULL;
	if (len == 0) {
		*error_r = xstrdup("empty password");
		return -1;
	}
	if (len > PASSWORD_MAX) {
		*error_r = xasprintf("password longer than %d bytes", PASSWORD_MAX);
		return -1;
	}
	if (scheme == PASSWORD_ARGON2ID)
		return hash_argon2id(password, hash_r, error_r);
	return hash_yescrypt(password, hash_r, error_r);
}

/* parse_num - a decimal number at *p up to the next non-digit, at most max. */
static int parse_num(const char **p, unsigned long max, unsigned long *num_r)
{
	unsigned long n = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (unsigned long)(*s - '0');
		if (n > max)
			return -1;
	}
	*p = s;
	return 0;
}

/*
 * argon2_params_ok - whether an encoded Argon2 hash (after "$argon2id$" or
 * "$argon2i$") has parameters "[v=N$]m=M,t=T,p=P$" within the bounds.
 */
static int argon2_params_ok(const char *s, char **error_r)
{
	unsigned long v, m, t, p;

	if (strncmp(s, "v=", 2) == 0) {
		s += 2;
		if (parse_num(&s, 0xff, &v) < 0 || *s++ != '$')
			goto bad;
	}
	if (strncmp(s, "m=", 2) != 0)
		goto bad;
	s += 2;
	if (parse_num(&s, PASSWORD_ARGON2_MAX_MEMORY, &m) < 0 || strncmp(s, ",t=", 3) != 0)
		goto bad;
	s += 3;
	if (parse_num(&s, PW_ARGON2_MAX_T_COST, &t) < 0 || strncmp(s, ",p=", 3) != 0)
		goto bad;
	s += 3;
	if (parse_num(&s, PW_ARGON2_MAX_LANES, &p) < 0 || *s != '$')
		goto bad;
	return 0;
bad:
	*error_r = xasprintf("malformed Argon2 hash, or its cost is above m=%d, t=%d, p=%d",
			     PASSWORD_ARGON2_MAX_MEMORY, PW_ARGON2_MAX_T_COST, PW_ARGON2_MAX_LANES);
	return -1;
}

/* argon2_kind - the Argon2 variant of hash and the offset of its parameters, or -1. */
static int argon2_kind(const char *hash, argon2_type *type_r, size_t *skip_r)
{
	if (strncmp(hash, "$argon2id$", 10) == 0) {
		*type_r = Argon2_id;
		*skip_r = 10;
		return 0;
	}
	if (strncmp(hash, "$argon2i$", 9) == 0) {
		*type_r = Argon2_i;
		*skip_r = 9;
		return 0;
	}
	return -1;
}

/* locked - a hash that matches no password: empty, "*..." or "!...". */
static int locked(const char *hash)
{
	return hash[0] == '\0' || hash[0] == '*' || hash[0] == '!';
}

/* crypt_known - whether hash starts with a crypt(3) prefix that verification knows. */
static int crypt_known(const char *hash)
{
	size_t i;

	for (i = 0; i < sizeof(crypt_prefixes) / sizeof(crypt_prefixes[0]); i++) {
		if (strncmp(hash, crypt_prefixes[i], strlen(crypt_prefixes[i])) == 0)
			return 1;
	}
	return 0;
}

int password_hash_check(const char *hash, char **error_r)
{
	argon2_type type;
	size_t skip;

	if (locked(hash) && hash[0] != '\0')
		return 0;
	if (argon2_kind(hash, &type, &skip) == 0)
		return argon2_params_ok(hash + skip, error_r);
	if (crypt_known(hash)) {
		if (crypt_checksalt(hash) == CRYPT_SALT_OK)
			return 0;
		*error_r = xstrdup("malformed crypt(3) hash");
		return -1;
	}
	if (hash[0] == '\0')
		*error_r = xstrdup("empty hash");
	else
		*error_r =
		    xstrdup("unsupported hash scheme: use yescrypt ($y$), SHA-512-crypt ($6$), "
			    "bcrypt ($2b$), or Argon2 ($argon2id$, $argon2i$)");
	return -1;
}

enum password_result password_verify(const char *password, const char *hash, char **error_r)
{
	argon2_type type;
	size_t skip;
	char *computed;
	int rc;

	if (locked(hash) || strlen(password) > PASSWORD_MAX)
		return PASSWORD_MISMATCH;
	if (argon2_kind(hash, &type, &skip) == 0) {
		if (argon2_params_ok(hash + skip, error_r) < 0)
			return PASSWORD_ERROR;
		rc = argon2_verify(hash, password, strlen(password), type);
		if (rc == ARGON2_OK)
			return PASSWORD_MATCH;
		if (rc == ARGON2_VERIFY_MISMATCH)
			return PASSWORD_MISMATCH;
		*error_r = xasprintf("argon2: %s", argon2_error_message(rc));
		return PASSWORD_ERROR;
	}
	if (password_hash_check(hash, error_r) < 0)
		return PASSWORD_ERROR;
	computed = crypt_hash(password, hash, error_r);
	if (computed == NULL)
		return PASSWORD_ERROR;
	rc = ct_equal(computed, hash);
	explicit_bzero(computed, strlen(computed));
	free(computed);
	return rc ? PASSWORD_MATCH : PASSWORD_MISMATCH;
}
