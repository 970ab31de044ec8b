/* tls.c: the TLS transport over OpenSSL, with verification on by default. */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "engine/sock.h"

int tls_ctx_new(void **ctx_out, bool verify, const char *cafile, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		snprintf(err, errlen, "cannot create a TLS context");
		return -EINVAL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
	if (verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		int ok = cafile ? SSL_CTX_load_verify_locations(ctx, cafile, NULL)
		                : SSL_CTX_set_default_verify_paths(ctx);
		if (ok != 1) {
			unsigned long e = ERR_get_error();
			char buf[256];
			ERR_error_string_n(e, buf, sizeof(buf));
			if (cafile)
				snprintf(err, errlen, "cannot load CA certificates from '%s': %s",
				         cafile, buf);
			else
				snprintf(err, errlen, "cannot load the system CA store: %s", buf);
			SSL_CTX_free(ctx);
			return -EINVAL;
		}
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	*ctx_out = ctx;
	return 0;
}

void tls_ctx_free(void *ctx)
{
	SSL_CTX_free(ctx);
}

static bool is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int tls_attach(struct sock *s, void *ctx, const char *host, bool verify, bool h2)
{
	/* RFC 7301 protocol names, the preferred first (RFC 9113 §3.2: "h2") */
	static const unsigned char alpn[] = "\x02h2\x08http/1.1";
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return -ENOMEM;
	if (h2 && SSL_set_alpn_protos(ssl, alpn, sizeof(alpn) - 1) != 0) {
		SSL_free(ssl);
		return -ENOMEM;
	}
	SSL_set_fd(ssl, s->fd);
	SSL_set_connect_state(ssl);
	if (is_ip_literal(host)) {
		if (verify)
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	} else {
		SSL_set_tlsext_host_name(ssl, host);
		if (verify)
			SSL_set1_host(ssl, host);
	}
	s->ssl = ssl;
	s->ops = &sock_tls_ops;
	return 0;
}

/* The kind of a failed handshake: what certificate verification found, when it ran and
 * failed (with verification off, a failure is never the certificate's). */
static enum err_kind verify_kind(SSL *ssl)
{
	long v = SSL_get_verify_result(ssl);
	if (v == X509_V_OK || !(SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER))
		return ERR_TLS;
	switch (v) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return ERR_TLS_HOSTNAME;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
		return ERR_TLS_AUTHORITY;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return ERR_TLS_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return ERR_TLS_NOT_YET_VALID;
	default: /* bad signature, wrong purpose, path length, unreadable dates ... */
		return ERR_TLS_CERT;
	}
}

static enum io_res ssl_result(struct sock *s, int r, bool handshake)
{
	int e = SSL_get_error(s->ssl, r);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		s->want_write = false;
		return IO_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		s->want_write = true;
		return IO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return IO_EOF;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (errno == 0 || r == 0) {
			if (handshake) {
				s->err = ERR_TLS;
				return IO_ERR;
			}
			return IO_EOF; /* unexpected EOF: the parser decides */
		}
		s->sys_errno = errno;
		s->err = handshake ? ERR_TLS : ERR_RESET;
		return IO_ERR;
	default:
		if (handshake)
			s->err = verify_kind(s->ssl);
		else
			s->err = ERR_TLS;
		ERR_clear_error();
		return IO_ERR;
	}
}

static enum io_res tls_handshake(struct sock *s)
{
	errno = 0;
	int r = SSL_do_handshake(s->ssl);
	if (r == 1)
		return IO_OK;
	return ssl_result(s, r, true);
}

static enum io_res tls_read(struct sock *s, char *buf, size_t len, size_t *n)
{
	errno = 0;
	int r = SSL_read(s->ssl, buf, (int)(len > 1 << 30 ? 1 << 30 : len));
	if (r > 0) {
		*n = (size_t)r;
		return IO_OK;
	}
	return ssl_result(s, r, false);
}

static enum io_res tls_write(struct sock *s, const char *buf, size_t len, size_t *n)
{
	errno = 0;
	int r = SSL_write(s->ssl, buf, (int)(len > 1 << 30 ? 1 << 30 : len));
	if (r > 0) {
		*n = (size_t)r;
		return IO_OK;
	}
	return ssl_result(s, r, false);
}

static void tls_close(struct sock *s)
{
	if (s->ssl) {
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	s->ops = &sock_plain_ops;
}

const struct sock_ops sock_tls_ops = {
	.handshake = tls_handshake,
	.read = tls_read,
	.write = tls_write,
	.close = tls_close,
};

bool tls_alpn_is_h2(const struct sock *s)
{
	const unsigned char *p = NULL;
	unsigned int len = 0;
	if (!s->ssl)
		return false;
	SSL_get0_alpn_selected(s->ssl, &p, &len);
	return len == 2 && p[0] == 'h' && p[1] == '2';
}
