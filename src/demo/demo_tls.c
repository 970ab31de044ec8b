/* demo_tls.c: HTTPS for the demo server: a self-signed certificate made at start, and
 * non-blocking TLS sessions on the front end's sockets. */
#include "demo/demo_tls.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

struct demo_tls {
	SSL_CTX *ctx;
	char *cert_pem;
	bool h2;
};

static const unsigned char alpn_h2[] = "\x02h2\x08http/1.1";
static const unsigned char alpn_h1[] = "\x08http/1.1";

/* The server's first protocol that the client offers. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
	const struct demo_tls *t = arg;
	unsigned char *sel = NULL;
	int rc;

	UNUSED(ssl);
	if (t->h2)
		rc = SSL_select_next_proto(&sel, outlen, alpn_h2, sizeof(alpn_h2) - 1, in, inlen);
	else
		rc = SSL_select_next_proto(&sel, outlen, alpn_h1, sizeof(alpn_h1) - 1, in, inlen);
	if (rc != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

void demo_tls_set_h2(struct demo_tls *t, bool h2)
{
	t->h2 = h2;
}

bool demo_tls_is_h2(SSL *ssl)
{
	const unsigned char *p = NULL;
	unsigned int n = 0;

	SSL_get0_alpn_selected(ssl, &p, &n);
	return n == 2 && memcmp(p, "h2", 2) == 0;
}

/* OpenSSL's first queued reason into err (and the queue emptied). */
static int tls_fail(const char *what, char *err, size_t errlen)
{
	char reason[200] = "unknown reason";
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	snprintf(err, errlen, "%s: %s", what, reason);
	return -EIO;
}

static int cert_add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A random positive 63-bit serial number (RFC 5280 §4.1.2.2: unique per issuer). */
static int cert_set_serial(X509 *x)
{
	unsigned char bytes[8];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(bytes, sizeof(bytes)) != 1)
		return -1;
	bytes[0] &= 0x7f;
	bytes[0] |= 0x01;
	bn = BN_bin2bn(bytes, sizeof(bytes), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

/* The self-signed certificate of key, or NULL (OpenSSL's error queue says why). */
static X509 *cert_make(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (!x)
		return NULL;
	name = X509_get_subject_name(x);
	if (!X509_set_version(x, X509_VERSION_3) || cert_set_serial(x) < 0 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) || /* tolerate a client's skew */
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400L * DEMO_TLS_VALID_DAYS) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	                                (const unsigned char *)"stampede demo", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                                (const unsigned char *)"127.0.0.1", -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key) ||
	    cert_add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    cert_add_ext(x, NID_key_usage, "critical,digitalSignature") < 0 ||
	    cert_add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
	    cert_add_ext(x, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost,IP:::1") < 0 ||
	    cert_add_ext(x, NID_subject_key_identifier, "hash") < 0 ||
	    cert_add_ext(x, NID_authority_key_identifier, "keyid:always") < 0 ||
	    !X509_sign(x, key, EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static char *cert_pem(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long len;

	if (bio && PEM_write_bio_X509(bio, x) && (len = BIO_get_mem_data(bio, &data)) > 0) {
		pem = xmalloc((size_t)len + 1);
		memcpy(pem, data, (size_t)len);
		pem[len] = '\0';
	}
	BIO_free(bio);
	return pem;
}

static SSL_CTX *ctx_make(X509 *cert, EVP_PKEY *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return NULL;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* a client that closes without close_notify has ended, as with plain HTTP: every
	 * request is framed by its length, so nothing can be truncated unnoticed */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* a response buffer may move between a write that would block and its retry */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                          SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

int demo_tls_new(struct demo_tls **out, char *err, size_t errlen)
{
	struct demo_tls *t = xcalloc(1, sizeof(*t));
	EVP_PKEY *key;
	X509 *cert = NULL;
	int rc = 0;

	key = EVP_EC_gen("P-256");
	if (!key) {
		rc = tls_fail("cannot generate a P-256 key", err, errlen);
		goto out_free;
	}
	cert = cert_make(key);
	if (!cert) {
		rc = tls_fail("cannot make the certificate", err, errlen);
		goto out_free_key;
	}
	t->cert_pem = cert_pem(cert);
	t->ctx = ctx_make(cert, key);
	if (t->ctx)
		SSL_CTX_set_alpn_select_cb(t->ctx, alpn_select, t);
	if (!t->cert_pem || !t->ctx)
		rc = tls_fail("cannot set up TLS", err, errlen);
	X509_free(cert);
out_free_key:
	EVP_PKEY_free(key);
out_free:
	if (rc < 0) {
		demo_tls_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void demo_tls_free(struct demo_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t->cert_pem);
	free(t);
}

const char *demo_tls_cert_pem(const struct demo_tls *t)
{
	return t->cert_pem;
}

SSL *demo_tls_session(struct demo_tls *t, int fd)
{
	SSL *ssl = SSL_new(t->ctx);

	if (!ssl)
		return NULL;
	if (!SSL_set_fd(ssl, fd)) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

/* Map the result of an SSL_* call that returned rc <= 0. */
static enum demo_io tls_status(SSL *ssl, int rc)
{
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return DEMO_IO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return DEMO_IO_EOF;
	default:
		ERR_clear_error();
		return DEMO_IO_ERR;
	}
}

enum demo_io demo_tls_handshake(SSL *ssl)
{
	int rc = SSL_accept(ssl);

	if (rc == 1)
		return DEMO_IO_OK;
	enum demo_io io = tls_status(ssl, rc);
	return io == DEMO_IO_EOF ? DEMO_IO_ERR : io;
}

enum demo_io demo_tls_read(SSL *ssl, void *buf, size_t len, size_t *n)
{
	int rc = SSL_read_ex(ssl, buf, len, n);

	if (rc == 1)
		return DEMO_IO_OK;
	return tls_status(ssl, rc);
}

enum demo_io demo_tls_write(SSL *ssl, const void *buf, size_t len, size_t *n)
{
	int rc = SSL_write_ex(ssl, buf, len, n);

	if (rc == 1)
		return DEMO_IO_OK;
	enum demo_io io = tls_status(ssl, rc);
	return io == DEMO_IO_EOF ? DEMO_IO_ERR : io;
}

void demo_tls_shutdown(SSL *ssl)
{
	if (SSL_is_init_finished(ssl) && !(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN))
		SSL_shutdown(ssl);
	ERR_clear_error();
}

void demo_tls_close(SSL *ssl)
{
	if (!ssl)
		return;
	demo_tls_shutdown(ssl);
	SSL_free(ssl);
}
