/*
 * tls - TLS over non-blocking sockets with OpenSSL 3, for any protocol.
 *
 * A struct tls_ctx holds what is shared by many connections: for a server,
 * the certificate chain and key; for a client, the trust store and whether
 * the peer's certificate must be verified. A struct tls_session is one
 * connection on a connected socket that the caller has made non-blocking
 * (blocking sockets work too; calls then never report EAGAIN).
 *
 * Both contexts allow TLS 1.2 and 1.3 only, a cipher list without
 * unauthenticated, export, RC4, 3DES, or static-RSA key exchange suites, no
 * compression and no renegotiation. A server context keeps a session cache.
 *
 * Non-blocking use: every call that would block returns "try again" and
 * records which readiness the session waits for (tls_io_wants()): wait for
 * that on the socket with poll or the event loop, then repeat the call with
 * the same arguments. A TLS read may need the socket to be writable and a
 * write may need it readable (handshake, key update). Writes to a socket
 * whose peer has gone can raise SIGPIPE: processes ignore SIGPIPE.
 *
 * Errors: functions returning int give 0 on success and -1 on failure with
 * *error_r set to a malloc'd message (caller frees) that includes OpenSSL's
 * reason.
 */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct tls_ctx;
struct tls_session;

enum tls_verify {
	TLS_VERIFY_NONE, /* encrypt; the peer's certificate is checked only for reporting */
	TLS_VERIFY_PEER, /* fail the handshake unless the certificate chains to a trusted CA
			    and, for a client, matches the server's name */
};

/* Readiness a session waits for after "try again" (bit mask). */
#define TLS_WANT_READ 1u
#define TLS_WANT_WRITE 2u

/* Result of tls_handshake() and tls_shutdown(). */
enum tls_status {
	TLS_ERROR = -1, /* failed: *error_r is set; the session can only be freed */
	TLS_OK = 0,	/* done */
	TLS_AGAIN = 1,	/* would block: wait for tls_io_wants() and call again */
};

/*
 * tls_server_ctx_create - a server context with the certificate chain in
 * cert_file (PEM: the server's certificate first, then intermediates) and its
 * private key in key_file (PEM). The key must match the certificate.
 */
struct tls_ctx *tls_server_ctx_create(const char *cert_file, const char *key_file, char **error_r);

/*
 * tls_ctx_use_cert - (re)load the certificate chain and key of a context:
 * the server's, or the one a client presents when a server asks for it.
 */
int tls_ctx_use_cert(struct tls_ctx *ctx, const char *cert_file, const char *key_file,
		     char **error_r);

/*
 * tls_client_ctx_create - a client context. Trust: ca_file (PEM bundle)
 * and/or ca_dir (hashed directory); both NULL means the system's default
 * store.
 */
struct tls_ctx *tls_client_ctx_create(enum tls_verify verify, const char *ca_file,
				      const char *ca_dir, char **error_r);

/*
 * tls_ctx_set_ciphers - replace the TLS 1.2 cipher list (OpenSSL syntax,
 * e.g. "ECDHE+AESGCM"); TLS 1.3 suites are not affected.
 */
int tls_ctx_set_ciphers(struct tls_ctx *ctx, const char *ciphers, char **error_r);

/*
 * tls_ctx_request_client_cert - a server asks clients for a certificate;
 * with TLS_VERIFY_PEER a client without a valid one (trusted by ca_file) is
 * refused, with TLS_VERIFY_NONE its certificate is only reported. ca_file may
 * be NULL for TLS_VERIFY_NONE.
 */
int tls_ctx_request_client_cert(struct tls_ctx *ctx, enum tls_verify verify, const char *ca_file,
				char **error_r);

void tls_ctx_free(struct tls_ctx **ctx);

/* tls_session_server - a server session on the connected socket fd (not taken over). */
struct tls_session *tls_session_server(struct tls_ctx *ctx, int fd, char **error_r);

/*
 * tls_session_client - a client session on fd. server_name (may be NULL) is
 * sent as SNI unless it is an IP address, and with TLS_VERIFY_PEER the
 * certificate must match it (DNS name or IP address, no partial wildcards).
 */
struct tls_session *tls_session_client(struct tls_ctx *ctx, int fd, const char *server_name,
				       char **error_r);

/* tls_session_free - free the session (without sending close_notify); NULL is allowed. */
void tls_session_free(struct tls_session **session);

/*
 * tls_handshake - run the handshake. Reads and writes also run it when it is
 * not done yet, so calling this first is only needed to learn its outcome
 * before any data.
 */
enum tls_status tls_handshake(struct tls_session *session, char **error_r);

/*
 * tls_shutdown - send close_notify. TLS_OK once it is sent; it does not wait
 * for the peer's close_notify.
 */
enum tls_status tls_shutdown(struct tls_session *session, char **error_r);

/*
 * The stream adapter: like read(2) and write(2) on the connection, with a
 * struct tls_session * as the first argument.
 *
 * tls_io_read - bytes read (> 0), 0 when the peer closed the connection
 *   (with or without close_notify), or -1 with errno: EAGAIN when TLS would
 *   block (see tls_io_wants()), EPROTO for a TLS failure (see
 *   tls_session_error()), or the socket's error. Decrypted data may be left
 *   inside the session after a successful read, where poll cannot see it:
 *   read again until EAGAIN (or check tls_io_pending()) before waiting.
 * tls_io_write - bytes written (> 0; may be fewer than len), or -1 with
 *   errno as for reading. After EAGAIN, the next write must offer the same
 *   bytes again (it may offer more after them, from any address).
 * tls_io_wants - after EAGAIN: TLS_WANT_READ and/or TLS_WANT_WRITE; 0 when
 *   the last call did not block.
 */
ssize_t tls_io_read(void *tls_session, void *buf, size_t len);
ssize_t tls_io_write(void *tls_session, const void *buf, size_t len);
unsigned tls_io_wants(void *tls_session);
/* tls_io_pending - decrypted bytes waiting inside the session. */
size_t tls_io_pending(void *tls_session);

/* tls_session_error - the last TLS failure of the session, or "" when there was none. */
const char *tls_session_error(const struct tls_session *session);

/*
 * What a connection used, after the handshake: for logging and Received:
 * headers. Strings from tls_protocol() and tls_cipher() are static.
 */
const char *tls_protocol(const struct tls_session *session); /* "TLSv1.3" */
const char *tls_cipher(const struct tls_session *session);   /* "TLS_AES_256_GCM_SHA384" */
/* tls_cipher_bits - the cipher's secret bits (and its algorithm's bits in *alg_bits, may be NULL). */
int tls_cipher_bits(const struct tls_session *session, int *alg_bits);
/* tls_summary - malloc'd "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)". */
char *tls_summary(const struct tls_session *session);

/* tls_peer_has_cert - whether the peer presented a certificate. */
int tls_peer_has_cert(const struct tls_session *session);
/*
 * tls_peer_verified - whether the peer's certificate chains to a trusted CA
 * (and, for a client session with a server name, matches that name), also
 * in TLS_VERIFY_NONE mode.
 */
int tls_peer_verified(const struct tls_session *session);
/* tls_peer_verify_error - why it did not verify ("ok" when it did), static. */
const char *tls_peer_verify_error(const struct tls_session *session);
/*
 * The peer's certificate, each as a malloc'd string or NULL without one:
 * the subject and issuer in RFC 2253 form ("CN=mx.example.com,O=Example"),
 * their common names, and the SHA-256 fingerprints of the certificate and of
 * its public key as colon-separated upper-case hex.
 */
char *tls_peer_subject(const struct tls_session *session);
char *tls_peer_issuer(const struct tls_session *session);
char *tls_peer_subject_cn(const struct tls_session *session);
char *tls_peer_issuer_cn(const struct tls_session *session);
char *tls_peer_fingerprint(const struct tls_session *session);
char *tls_peer_pkey_fingerprint(const struct tls_session *session);

/*
 * tls_selfsigned_create - make an EC P-256 key and a self-signed X.509 v3
 * certificate for common_name (subject CN and subjectAltName DNS:, or IP:
 * for an address), valid from an hour ago for days days, usable for TLS
 * servers and clients. The key is written to key_path with mode 0600, then
 * the certificate to cert_path with mode 0644, each atomically
 * (util/safe_file.h).
 */
int tls_selfsigned_create(const char *cert_path, const char *key_path, const char *common_name,
			  int days, char **error_r);

#endif
