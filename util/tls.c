/*
 * tls - OpenSSL 3 contexts and sessions on non-blocking sockets, the
 * read(2)/write(2)-like stream adapter, and what a session reports about its
 * peer. Certificate generation is in tls_cert.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/mymalloc.h"
#include "util/strbuf.h"
#include "util/tls.h"

/*
 * TLS 1.2 suites: forward-secret key exchange with AEAD or CBC ciphers, so
 * that older mail servers still get encryption; no anonymous, null, export,
 * RC4, 3DES, static RSA, DSS or PSK/SRP suites.
 */
#define TLS_DEFAULT_CIPHERS                                                                        \
	"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:ECDHE+AES:DHE+AES:"                   \
	"!aNULL:!eNULL:!EXPORT:!RC4:!3DES:!DSS:!PSK:!SRP:!kRSA:!MD5"

/* How long a server keeps a session for resumption. */
#define TLS_SESSION_TIMEOUT 3600

struct tls_ctx {
	SSL_CTX *ssl_ctx;
	int server;
};

struct tls_session {
	SSL *ssl;
	unsigned wants; /* TLS_WANT_* after the last "try again" */
	int failed;	/* a fatal error happened: no more TLS calls */
	char *error;	/* the last failure, malloc'd, or NULL */
};

/* ssl_errors - OpenSSL's queued errors as one malloc'd line "what: reason; reason". */
static char *ssl_errors(const char *what)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[256];
	const char *data;
	unsigned long e;
	int flags, n = 0;

	strbuf_puts(&sb, what);
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		strbuf_puts(&sb, n++ ? "; " : ": ");
		strbuf_puts(&sb, buf);
		if ((flags & ERR_TXT_STRING) && data != NULL && *data != '\0')
			strbuf_printf(&sb, " (%s)", data);
	}
	if (n == 0)
		strbuf_puts(&sb, ": unknown TLS error");
	return strbuf_detach(&sb);
}

/* ctx_new - a context with the settings every Tern connection shares. */
static struct tls_ctx *ctx_new(int server, char **error_r)
{
	SSL_CTX *c;
	struct tls_ctx *ctx;
	uint64_t options =
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF;

	ERR_clear_error();
	c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (c == NULL) {
		*error_r = ssl_errors("create TLS context");
		return NULL;
	}
	if (server)
		options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
	SSL_CTX_set_options(c, options);
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(c, TLS_DEFAULT_CIPHERS) != 1) {
		*error_r = ssl_errors("configure TLS context");
		SSL_CTX_free(c);
		return NULL;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->ssl_ctx = c;
	ctx->server = server;
	return ctx;
}

struct tls_ctx *tls_server_ctx_create(const char *cert_file, const char *key_file, char **error_r)
{
	struct tls_ctx *ctx = ctx_new(1, error_r);
	static const unsigned char sid_ctx[] = "tern";
	SSL_CTX *c;

	if (ctx == NULL)
		return NULL;
	c = ctx->ssl_ctx;
	SSL_CTX_set_dh_auto(c, 1);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_timeout(c, TLS_SESSION_TIMEOUT);
	if (SSL_CTX_set_session_id_context(c, sid_ctx, sizeof(sid_ctx) - 1) != 1) {
		*error_r = ssl_errors("configure TLS session cache");
		tls_ctx_free(&ctx);
		return NULL;
	}
	if (tls_ctx_use_cert(ctx, cert_file, key_file, error_r) < 0) {
		tls_ctx_free(&ctx);
		return NULL;
	}
	return ctx;
}

int tls_ctx_use_cert(struct tls_ctx *ctx, const char *cert_file, const char *key_file,
		     char **error_r)
{
	SSL_CTX *c = ctx->ssl_ctx;
	char *what;

	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(c, cert_file) != 1) {
		what = xasprintf("load certificate chain %s", cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(c, key_file, SSL_FILETYPE_PEM) != 1) {
		what = xasprintf("load private key %s", key_file);
		goto fail;
	}
	if (SSL_CTX_check_private_key(c) != 1) {
		what =
		    xasprintf("private key %s does not match certificate %s", key_file, cert_file);
		goto fail;
	}
	return 0;

fail:
	*error_r = ssl_errors(what);
	free(what);
	return -1;
}

/* load_trust - the CA file and/or directory, or the system store when both are NULL. */
static int load_trust(SSL_CTX *c, const char *ca_file, const char *ca_dir, char **error_r)
{
	char *what;

	if (ca_file == NULL && ca_dir == NULL) {
		if (SSL_CTX_set_default_verify_paths(c) != 1) {
			*error_r = ssl_errors("load the system's trusted certificates");
			return -1;
		}
		return 0;
	}
	if (SSL_CTX_load_verify_locations(c, ca_file, ca_dir) != 1) {
		what = xasprintf("load trusted certificates from %s%s%s", ca_file ? ca_file : "",
				 ca_file && ca_dir ? " and " : "", ca_dir ? ca_dir : "");
		*error_r = ssl_errors(what);
		free(what);
		return -1;
	}
	return 0;
}

struct tls_ctx *tls_client_ctx_create(enum tls_verify verify, const char *ca_file,
				      const char *ca_dir, char **error_r)
{
	struct tls_ctx *ctx = ctx_new(0, error_r);

	if (ctx == NULL)
		return NULL;
	if (load_trust(ctx->ssl_ctx, ca_file, ca_dir, error_r) < 0) {
		tls_ctx_free(&ctx);
		return NULL;
	}
	/* With SSL_VERIFY_NONE a client still verifies, for tls_peer_verified(). */
	SSL_CTX_set_verify(ctx->ssl_ctx,
			   verify == TLS_VERIFY_PEER ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	return ctx;
}

int tls_ctx_set_ciphers(struct tls_ctx *ctx, const char *ciphers, char **error_r)
{
	char *what;

	ERR_clear_error();
	if (SSL_CTX_set_cipher_list(ctx->ssl_ctx, ciphers) != 1) {
		what = xasprintf("cipher list \"%s\"", ciphers);
		*error_r = ssl_errors(what);
		free(what);
		return -1;
	}
	return 0;
}

/* accept_any - verification callback that records the result but never fails the handshake. */
static int accept_any(int preverify_ok, X509_STORE_CTX *store)
{
	return 1;
}

int tls_ctx_request_client_cert(struct tls_ctx *ctx, enum tls_verify verify, const char *ca_file,
				char **error_r)
{
	STACK_OF(X509_NAME) * names;
	char *what;

	ERR_clear_error();
	if (!ctx->server) {
		*error_r = xstrdup("client certificates are requested by servers only");
		return -1;
	}
	if (ca_file == NULL && verify == TLS_VERIFY_PEER) {
		*error_r = xstrdup("verifying client certificates needs a CA file");
		return -1;
	}
	if (ca_file != NULL) {
		if (load_trust(ctx->ssl_ctx, ca_file, NULL, error_r) < 0)
			return -1;
		if ((names = SSL_load_client_CA_file(ca_file)) == NULL) {
			what = xasprintf("read CA names from %s", ca_file);
			*error_r = ssl_errors(what);
			free(what);
			return -1;
		}
		SSL_CTX_set_client_CA_list(ctx->ssl_ctx, names);
	}
	if (verify == TLS_VERIFY_PEER)
		SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				   NULL);
	else
		SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_PEER, accept_any);
	return 0;
}

void tls_ctx_free(struct tls_ctx **ctxp)
{
	struct tls_ctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	*ctxp = NULL;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

/* session_new - an SSL object on fd. */
static struct tls_session *session_new(struct tls_ctx *ctx, int fd, char **error_r)
{
	struct tls_session *s;
	SSL *ssl;

	ERR_clear_error();
	ssl = SSL_new(ctx->ssl_ctx);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
		*error_r = ssl_errors("create TLS session");
		SSL_free(ssl);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->ssl = ssl;
	return s;
}

struct tls_session *tls_session_server(struct tls_ctx *ctx, int fd, char **error_r)
{
	struct tls_session *s;

	if (!ctx->server) {
		*error_r = xstrdup("server session on a client TLS context");
		return NULL;
	}
	if ((s = session_new(ctx, fd, error_r)) == NULL)
		return NULL;
	SSL_set_accept_state(s->ssl);
	return s;
}

/* is_ip_address - whether name is an IPv4 or IPv6 address literal. */
static int is_ip_address(const char *name)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

struct tls_session *tls_session_client(struct tls_ctx *ctx, int fd, const char *server_name,
				       char **error_r)
{
	struct tls_session *s;
	int ok = 1;

	if (ctx->server) {
		*error_r = xstrdup("client session on a server TLS context");
		return NULL;
	}
	if ((s = session_new(ctx, fd, error_r)) == NULL)
		return NULL;
	SSL_set_connect_state(s->ssl);
	if (server_name != NULL && *server_name != '\0') {
		SSL_set_hostflags(s->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (is_ip_address(server_name))
			ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), server_name);
		else
			ok = SSL_set_tlsext_host_name(s->ssl, server_name) == 1 &&
			     SSL_set1_host(s->ssl, server_name) == 1;
	}
	if (!ok) {
		char *what = xasprintf("server name \"%s\"", server_name);

		*error_r = ssl_errors(what);
		free(what);
		tls_session_free(&s);
		return NULL;
	}
	return s;
}

void tls_session_free(struct tls_session **sp)
{
	struct tls_session *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	SSL_free(s->ssl);
	free(s->error);
	free(s);
}

/* set_error - record a failure of the session; the session is unusable afterwards. */
static void set_error(struct tls_session *s, char *msg)
{
	free(s->error);
	s->error = msg;
	s->failed = 1;
}

/* failure_text - a malloc'd description of a failed TLS call (ret from SSL_get_error). */
static char *failure_text(struct tls_session *s, const char *what, int err, int saved_errno)
{
	long vr = SSL_get_verify_result(s->ssl);
	char *msg, *with;

	if (err == SSL_ERROR_SYSCALL) {
		ERR_clear_error();
		if (saved_errno == 0)
			return xasprintf("%s: connection closed by peer", what);
		return xasprintf("%s: %s", what, strerror(saved_errno));
	}
	msg = ssl_errors(what);
	if (vr != X509_V_OK) {
		with = xasprintf("%s (certificate: %s)", msg, X509_verify_cert_error_string(vr));
		free(msg);
		msg = with;
	}
	return msg;
}

/*
 * io_result - after a TLS call returned failure: "try again" (-1, errno
 * EAGAIN, wants set), clean close (0), or failure (-1, errno set, error kept).
 */
static ssize_t io_result(struct tls_session *s, int ret, const char *what)
{
	int saved = errno, err = SSL_get_error(s->ssl, ret);

	switch (err) {
	case SSL_ERROR_WANT_READ:
		s->wants = TLS_WANT_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		s->wants = TLS_WANT_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		s->wants = 0;
		return 0;
	case SSL_ERROR_SYSCALL:
		s->wants = 0;
		set_error(s, failure_text(s, what, err, saved));
		errno = saved ? saved : ECONNRESET;
		return -1;
	default:
		s->wants = 0;
		set_error(s, failure_text(s, what, err, 0));
		errno = EPROTO;
		return -1;
	}
}

/* session_usable - fail calls on a session that already failed. */
static int session_usable(struct tls_session *s)
{
	if (s->failed) {
		s->wants = 0;
		errno = EPROTO;
		return 0;
	}
	return 1;
}

ssize_t tls_io_read(void *session, void *buf, size_t len)
{
	struct tls_session *s = session;
	size_t n = 0;

	if (!session_usable(s))
		return -1;
	if (len == 0)
		return 0;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	ERR_clear_error();
	if (SSL_read_ex(s->ssl, buf, len, &n) == 1) {
		s->wants = 0;
		return (ssize_t)n;
	}
	return io_result(s, 0, "TLS read");
}

ssize_t tls_io_write(void *session, const void *buf, size_t len)
{
	struct tls_session *s = session;
	size_t n = 0;

	if (!session_usable(s))
		return -1;
	if (len == 0)
		return 0;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	ERR_clear_error();
	if (SSL_write_ex(s->ssl, buf, len, &n) == 1) {
		s->wants = 0;
		return (ssize_t)n;
	}
	if (io_result(s, 0, "TLS write") == 0) {
		/* The peer closed the connection: writing is an error, as on a socket. */
		errno = EPIPE;
		return -1;
	}
	return -1;
}

unsigned tls_io_wants(void *session)
{
	return ((struct tls_session *)session)->wants;
}

size_t tls_io_pending(void *session)
{
	int n = SSL_pending(((struct tls_session *)session)->ssl);

	return n > 0 ? (size_t)n : 0;
}

const char *tls_session_error(const struct tls_session *s)
{
	return s->error ? s->error : "";
}

/* status_of - a tls_status for the io_result() of a handshake or shutdown step. */
static enum tls_status status_of(struct tls_session *s, int ret, const char *what, char **error_r)
{
	if (io_result(s, ret, what) < 0 && s->wants != 0)
		return TLS_AGAIN;
	if (s->error == NULL)
		set_error(s, xasprintf("%s: connection closed by peer", what));
	*error_r = xstrdup(s->error);
	return TLS_ERROR;
}

enum tls_status tls_handshake(struct tls_session *s, char **error_r)
{
	int ret;

	if (s->failed) {
		*error_r =
		    xasprintf("TLS handshake: session failed earlier: %s", tls_session_error(s));
		return TLS_ERROR;
	}
	ERR_clear_error();
	ret = SSL_do_handshake(s->ssl);
	if (ret == 1) {
		s->wants = 0;
		return TLS_OK;
	}
	return status_of(s, ret, "TLS handshake", error_r);
}

enum tls_status tls_shutdown(struct tls_session *s, char **error_r)
{
	int ret;

	if (s->failed) {
		*error_r =
		    xasprintf("TLS shutdown: session failed earlier: %s", tls_session_error(s));
		return TLS_ERROR;
	}
	ERR_clear_error();
	ret = SSL_shutdown(s->ssl);
	if (ret >= 0) {
		s->wants = 0;
		return TLS_OK;
	}
	return status_of(s, ret, "TLS shutdown", error_r);
}

const char *tls_protocol(const struct tls_session *s)
{
	return SSL_get_version(s->ssl);
}

const char *tls_cipher(const struct tls_session *s)
{
	const char *name = SSL_get_cipher_name(s->ssl);

	return name ? name : "(none)";
}

int tls_cipher_bits(const struct tls_session *s, int *alg_bits)
{
	int alg = 0, bits = SSL_get_cipher_bits(s->ssl, &alg);

	if (alg_bits != NULL)
		*alg_bits = alg;
	return bits;
}

char *tls_summary(const struct tls_session *s)
{
	int alg, bits = tls_cipher_bits(s, &alg);

	return xasprintf("%s with cipher %s (%d/%d bits)", tls_protocol(s), tls_cipher(s), bits,
			 alg);
}

int tls_peer_has_cert(const struct tls_session *s)
{
	return SSL_get0_peer_certificate(s->ssl) != NULL;
}

int tls_peer_verified(const struct tls_session *s)
{
	return tls_peer_has_cert(s) && SSL_get_verify_result(s->ssl) == X509_V_OK;
}

const char *tls_peer_verify_error(const struct tls_session *s)
{
	if (!tls_peer_has_cert(s))
		return "no peer certificate";
	return X509_verify_cert_error_string(SSL_get_verify_result(s->ssl));
}

/* sanitize - replace control characters, which must not reach logs or headers. */
static char *sanitize(char *str)
{
	unsigned char *p;

	for (p = (unsigned char *)str; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return str;
}

/* name_rfc2253 - an X509_NAME as a malloc'd RFC 2253 string. */
static char *name_rfc2253(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *str;
	long len;

	if (bio == NULL)
		return xstrdup("");
	X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	len = BIO_get_mem_data(bio, &data);
	str = xstrndup(data, len > 0 ? (size_t)len : 0);
	BIO_free(bio);
	return sanitize(str);
}

/* name_cn - the (last) common name of an X509_NAME as malloc'd UTF-8, or "". */
static char *name_cn(const X509_NAME *name)
{
	int idx = -1, next;
	unsigned char *utf8 = NULL;
	char *str;
	int len;

	while ((next = X509_NAME_get_index_by_NID(name, NID_commonName, idx)) >= 0)
		idx = next;
	if (idx < 0)
		return xstrdup("");
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
	if (len < 0)
		return xstrdup("");
	str = xmalloc((size_t)len + 1);
	memcpy(str, utf8, (size_t)len);
	str[len] = '\0';
	/* An embedded NUL would hide the rest of the name: show it instead. */
	for (int i = 0; i < len; i++) {
		if (str[i] == '\0')
			str[i] = '?';
	}
	OPENSSL_free(utf8);
	return sanitize(str);
}

char *tls_peer_subject(const struct tls_session *s)
{
	X509 *cert = SSL_get0_peer_certificate(s->ssl);

	return cert ? name_rfc2253(X509_get_subject_name(cert)) : NULL;
}

char *tls_peer_issuer(const struct tls_session *s)
{
	X509 *cert = SSL_get0_peer_certificate(s->ssl);

	return cert ? name_rfc2253(X509_get_issuer_name(cert)) : NULL;
}

char *tls_peer_subject_cn(const struct tls_session *s)
{
	X509 *cert = SSL_get0_peer_certificate(s->ssl);

	return cert ? name_cn(X509_get_subject_name(cert)) : NULL;
}

char *tls_peer_issuer_cn(const struct tls_session *s)
{
	X509 *cert = SSL_get0_peer_certificate(s->ssl);

	return cert ? name_cn(X509_get_issuer_name(cert)) : NULL;
}

/* hex_colons - "AB:CD:..." for len bytes. */
static char *hex_colons(const unsigned char *md, unsigned len)
{
	static const char hex[] = "0123456789ABCDEF";
	char *str = xmalloc(len * 3 + 1), *p = str;
	unsigned i;

	for (i = 0; i < len; i++) {
		if (i > 0)
			*p++ = ':';
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 15];
	}
	*p = '\0';
	return str;
}

char *tls_peer_fingerprint(const struct tls_session *s)
{
	X509 *cert = SSL_get0_peer_certificate(s->ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (cert == NULL || X509_digest(cert, EVP_sha256(), md, &len) != 1)
		return NULL;
	return hex_colons(md, len);
}

char *tls_peer_pkey_fingerprint(const struct tls_session *s)
{
	X509 *cert = SSL_get0_peer_certificate(s->ssl);
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned len = 0;
	int derlen;
	char *str = NULL;

	if (cert == NULL)
		return NULL;
	derlen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (derlen > 0 && EVP_Digest(der, (size_t)derlen, md, &len, EVP_sha256(), NULL) == 1)
		str = hex_colons(md, len);
	OPENSSL_free(der);
	return str;
}
