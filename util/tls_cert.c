/*
 * tls_cert - generate a private key and a self-signed certificate, so that a
 * fresh installation can offer TLS before a real certificate is installed.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/mymalloc.h"
#include "util/safe_file.h"
#include "util/strbuf.h"
#include "util/tls.h"

/* Upper bound of a certificate's common name (RFC 5280 ub-common-name). */
#define CN_MAX 64
/* Longest validity accepted, in days (about 100 years). */
#define DAYS_MAX 36500

/* cert_errors - OpenSSL's queued errors as one malloc'd line "what: reason; reason". */
static char *cert_errors(const char *what)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[256];
	unsigned long e;
	int n = 0;

	strbuf_puts(&sb, what);
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		strbuf_puts(&sb, n++ ? "; " : ": ");
		strbuf_puts(&sb, buf);
	}
	if (n == 0)
		strbuf_puts(&sb, ": unknown error");
	return strbuf_detach(&sb);
}

/* valid_name - a host name (letters, digits, '-', '.', '_', '*') or an IP address. */
static int valid_name(const char *name)
{
	const char *p;

	if (*name == '\0' || strlen(name) > CN_MAX)
		return 0;
	for (p = name; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
		      *p == '*' || *p == ':'))
			return 0;
	}
	return 1;
}

/* add_ext - add an extension given in OpenSSL's configuration syntax. */
static int add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return 0;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* add_san - subjectAltName with the one name: IP: for an address, DNS: otherwise. */
static int add_san(X509 *cert, const char *name)
{
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_OCTET_STRING *ip;
	ASN1_IA5STRING *dns;
	int ok = 0;

	if (names == NULL || gn == NULL)
		goto done;
	if ((ip = a2i_IPADDRESS(name)) != NULL) {
		GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
	} else {
		ERR_clear_error();
		dns = ASN1_IA5STRING_new();
		if (dns == NULL || !ASN1_STRING_set(dns, name, -1)) {
			ASN1_IA5STRING_free(dns);
			goto done;
		}
		GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
	}
	if (!sk_GENERAL_NAME_push(names, gn))
		goto done;
	gn = NULL;
	ok = X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
done:
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(names);
	return ok;
}

/* set_serial - a random positive 127-bit serial number. */
static int set_serial(X509 *cert)
{
	BIGNUM *bn = BN_new();
	int ok = bn != NULL && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
		 BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;

	BN_free(bn);
	return ok;
}

/* make_cert - the self-signed certificate for key, or NULL. */
static X509 *make_cert(EVP_PKEY *key, const char *name, int days)
{
	X509 *cert = X509_new();
	X509_NAME *subject;

	if (cert == NULL || X509_set_version(cert, X509_VERSION_3) != 1 || !set_serial(cert) ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, NULL) == NULL ||
	    X509_set_pubkey(cert, key) != 1)
		goto fail;
	subject = X509_get_subject_name(cert);
	if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *)name,
				       -1, -1, 0) != 1 ||
	    X509_set_issuer_name(cert, subject) != 1)
		goto fail;
	if (!add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(cert, NID_key_usage, "critical,digitalSignature") ||
	    !add_ext(cert, NID_ext_key_usage, "serverAuth,clientAuth") ||
	    !add_ext(cert, NID_subject_key_identifier, "hash") ||
	    !add_ext(cert, NID_authority_key_identifier, "keyid:always") || !add_san(cert, name))
		goto fail;
	if (X509_sign(cert, key, EVP_sha256()) <= 0)
		goto fail;
	return cert;
fail:
	X509_free(cert);
	return NULL;
}

/* write_bio - write the contents of a memory BIO to path, atomically. */
static int write_bio(BIO *bio, const char *path, mode_t mode, char **error_r)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);

	return safe_file_write(path, data, len > 0 ? (size_t)len : 0, mode, error_r);
}

int tls_selfsigned_create(const char *cert_path, const char *key_path, const char *common_name,
			  int days, char **error_r)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	BIO *kbio = NULL, *cbio = NULL;
	int ret = -1;

	if (!valid_name(common_name)) {
		*error_r = xasprintf("self-signed certificate: \"%s\" is not a host name or IP "
				     "address of at most %d characters",
				     common_name, CN_MAX);
		return -1;
	}
	if (days < 1 || days > DAYS_MAX) {
		*error_r = xasprintf("self-signed certificate: validity of %d days is not within "
				     "1..%d",
				     days, DAYS_MAX);
		return -1;
	}
	ERR_clear_error();
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		*error_r = cert_errors("generate EC P-256 key");
		goto done;
	}
	if ((cert = make_cert(key, common_name, days)) == NULL) {
		*error_r = cert_errors("make self-signed certificate");
		goto done;
	}
	/* The key's PEM text lives in secure memory, cleared when freed. */
	kbio = BIO_new(BIO_s_secmem());
	cbio = BIO_new(BIO_s_mem());
	if (kbio == NULL || cbio == NULL ||
	    PEM_write_bio_PrivateKey(kbio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509(cbio, cert) != 1) {
		*error_r = cert_errors("encode key and certificate");
		goto done;
	}
	if (write_bio(kbio, key_path, 0600, error_r) < 0 ||
	    write_bio(cbio, cert_path, 0644, error_r) < 0)
		goto done;
	ret = 0;
done:
	BIO_free(kbio);
	BIO_free(cbio);
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}
