/*
 * password - password hashes: make new ones, verify against stored ones.
 *
 * Passwords are stored only as hashes in crypt(3) form. New hashes are made
 * with one of two schemes:
 *
 *   yescrypt   "$y$..."        libxcrypt, its default cost
 *   argon2id   "$argon2id$..." libargon2, t=3 passes over 64 MiB, 1 lane,
 *                              16-byte random salt, 32-byte hash (PHC form)
 *
 * Verification knows yescrypt ($y$), SHA-512-crypt ($6$), bcrypt ($2b$,
 * $2y$, $2a$) and Argon2 ($argon2id$, $argon2i$); other schemes (DES, MD5)
 * are refused as errors. The computed hash is compared with the stored one
 * in constant time. A hash that is empty, "*", or starts with "!" (locked,
 * as in shadow(5)) matches no password.
 */
#ifndef TERN_PASSWORD_H
#define TERN_PASSWORD_H

/* The longest password accepted, in bytes (what crypt(3) of libxcrypt takes). */
#define PASSWORD_MAX 511
/* The Argon2 memory cost of hashes that verification accepts, at most (KiB). */
#define PASSWORD_ARGON2_MAX_MEMORY (1024 * 1024)

enum password_scheme {
	PASSWORD_YESCRYPT,
	PASSWORD_ARGON2ID,
};

enum password_result {
	PASSWORD_MATCH = 0,
	PASSWORD_MISMATCH = 1,
	PASSWORD_ERROR = -1,
};

/* password_scheme_parse - "yescrypt" or "argon2id"; 0, or -1 with *error_r set. */
int password_scheme_parse(const char *name, enum password_scheme *scheme_r, char **error_r);

/* password_scheme_name - the name that password_scheme_parse() takes. */
const char *password_scheme_name(enum password_scheme scheme);

/*
 * password_hash - hash password (1 to PASSWORD_MAX bytes) with a fresh
 * random salt. Returns 0 with *hash_r malloc'd, or -1 with *error_r set.
 */
int password_hash(const char *password, enum password_scheme scheme, char **hash_r, char **error_r);

/*
 * password_verify - whether password matches the stored hash:
 * PASSWORD_MATCH, PASSWORD_MISMATCH (also for a locked or empty hash, and
 * for a password longer than PASSWORD_MAX), or
 * PASSWORD_ERROR with *error_r set for a hash that cannot be checked (an
 * unknown scheme, a malformed hash).
 */
enum password_result password_verify(const char *password, const char *hash, char **error_r);

/*
 * password_hash_check - whether hash is in a form that password_verify()
 * can check (a known scheme; "*" and "!..." for locked are also valid).
 * Returns 0, or -1 with *error_r saying why not.
 */
int password_hash_check(const char *hash, char **error_r);

#endif
