/* test_demo_tls.c: the demo server's certificate and its non-blocking TLS sessions. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "demo/demo.h"
#include "demo/demo_tls.h"

static X509 *pem_cert(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	BIO_free(bio);
	cr_assert_not_null(x, "not a PEM certificate:\n%s", pem);
	return x;
}

static struct demo_tls *tls_new(void)
{
	struct demo_tls *t = NULL;
	char err[256] = "";

	cr_assert_eq(demo_tls_new(&t, err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(t);
	return t;
}

Test(demo_tls, certificate_names_validity_and_signature)
{
	struct demo_tls *t = tls_new();
	X509 *x = pem_cert(demo_tls_cert_pem(t));
	time_t now = time(NULL);
	time_t week = now + 86400L * DEMO_TLS_VALID_DAYS;

	cr_assert_eq(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	cr_assert_eq(X509_check_ip_asc(x, "::1", 0), 1);
	cr_assert_eq(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	cr_assert_neq(X509_check_host(x, "example.com", 0, 0, NULL), 1);
	cr_assert_neq(X509_check_ip_asc(x, "10.0.0.1", 0), 1);
	cr_assert_eq(X509_get_extended_key_usage(x) & XKU_SSL_SERVER, XKU_SSL_SERVER);
	cr_assert_eq(X509_get_extension_flags(x) & EXFLAG_SS, EXFLAG_SS, "self-signed");
	EVP_PKEY *pub = X509_get0_pubkey(x);
	cr_assert_eq(X509_verify(x, pub), 1, "signed by its own key");
	cr_assert_lt(X509_cmp_time(X509_get0_notBefore(x), &now), 0, "valid now");
	time_t later = week - 120, after = week + 120;
	cr_assert_gt(X509_cmp_time(X509_get0_notAfter(x), &later), 0);
	cr_assert_lt(X509_cmp_time(X509_get0_notAfter(x), &after), 0, "short validity");

	/* every start makes a new key */
	struct demo_tls *t2 = tls_new();
	X509 *x2 = pem_cert(demo_tls_cert_pem(t2));
	cr_assert_neq(EVP_PKEY_eq(pub, X509_get0_pubkey(x2)), 1);
	X509_free(x2);
	demo_tls_free(t2);
	X509_free(x);
	demo_tls_free(t);
	demo_tls_free(NULL);
}

/* A client that trusts only the demo's certificate and checks the name "localhost". */
static SSL *client_new(const char *pem, int fd)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509 *x = pem_cert(pem);
	SSL *ssl;

	X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x);
	X509_free(x);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx); /* the session keeps a reference */
	SSL_set_fd(ssl, fd);
	SSL_set1_host(ssl, "localhost");
	SSL_set_connect_state(ssl);
	return ssl;
}

static void nonblocking(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

Test(demo_tls, nonblocking_handshake_read_write_and_close_notify)
{
	struct demo_tls *t = tls_new();
	int sv[2];
	char buf[64];
	size_t n = 0;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nonblocking(sv[0]);
	nonblocking(sv[1]);
	SSL *srv = demo_tls_session(t, sv[0]);
	SSL *cli = client_new(demo_tls_cert_pem(t), sv[1]);
	cr_assert_not_null(srv);

	enum demo_io io = DEMO_IO_AGAIN;
	int connected = 0;
	for (int i = 0; i < 100 && (io != DEMO_IO_OK || connected != 1); i++) {
		if (connected != 1)
			connected = SSL_connect(cli);
		if (io != DEMO_IO_OK)
			io = demo_tls_handshake(srv);
		cr_assert_neq(io, DEMO_IO_ERR);
	}
	cr_assert_eq(io, DEMO_IO_OK);
	cr_assert_eq(connected, 1, "the client verified the certificate: %ld",
	             SSL_get_verify_result(cli));
	cr_assert_eq(demo_tls_read(srv, buf, sizeof(buf), &n), DEMO_IO_AGAIN, "nothing yet");

	cr_assert_eq(SSL_write(cli, "ping", 4), 4);
	cr_assert_eq(demo_tls_read(srv, buf, sizeof(buf), &n), DEMO_IO_OK);
	cr_assert_eq(n, 4);
	cr_assert_eq(memcmp(buf, "ping", 4), 0);
	cr_assert_eq(demo_tls_write(srv, "pong", 4, &n), DEMO_IO_OK);
	cr_assert_eq(n, 4);
	cr_assert_eq(SSL_read(cli, buf, sizeof(buf)), 4);
	cr_assert_eq(memcmp(buf, "pong", 4), 0);

	/* the server's close_notify ends the client's stream cleanly; the client's ends the
	 * server's */
	demo_tls_shutdown(srv);
	cr_assert_eq(SSL_read(cli, buf, sizeof(buf)), 0);
	cr_assert_eq(SSL_get_error(cli, 0), SSL_ERROR_ZERO_RETURN);
	SSL_shutdown(cli);
	cr_assert_eq(demo_tls_read(srv, buf, sizeof(buf), &n), DEMO_IO_EOF);

	demo_tls_close(srv);
	demo_tls_close(NULL);
	SSL_free(cli);
	close(sv[0]);
	close(sv[1]);
	demo_tls_free(t);
}

Test(demo_tls, plain_http_fails_the_handshake)
{
	struct demo_tls *t = tls_new();
	int sv[2];
	const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nonblocking(sv[0]);
	SSL *srv = demo_tls_session(t, sv[0]);
	cr_assert_eq(demo_tls_handshake(srv), DEMO_IO_AGAIN, "waits for a ClientHello");
	cr_assert_eq(write(sv[1], req, strlen(req)), (ssize_t)strlen(req));
	cr_assert_eq(demo_tls_handshake(srv), DEMO_IO_ERR);
	close(sv[1]);
	cr_assert_eq(demo_tls_handshake(srv), DEMO_IO_ERR);
	demo_tls_close(srv);
	close(sv[0]);
	demo_tls_free(t);
}

/* One HTTPS request to the in-process server; the response (until the server closes). */
static size_t https_get(int port, const char *pem, const char *path, char *out, size_t cap)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char req[256];
	size_t n = 0;
	int r;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	SSL *cli = client_new(pem, fd);
	cr_assert_eq(SSL_connect(cli), 1, "verify result %ld", SSL_get_verify_result(cli));
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
	cr_assert_eq(SSL_write(cli, req, (int)strlen(req)), (int)strlen(req));
	while (n + 1 < cap && (r = SSL_read(cli, out + n, (int)(cap - n - 1))) > 0)
		n += (size_t)r;
	out[n] = '\0';
	SSL_free(cli);
	close(fd);
	return n;
}

Test(demo_tls, server_answers_https_and_plain_has_no_certificate)
{
	struct demo_config cfg;
	struct demo_server *s;
	static char buf[65536];

	demo_config_defaults(&cfg);
	cfg.port = 0;
	cfg.workers = 2;
	cr_assert_eq(demo_server_start(&cfg, &s), 0);
	cr_assert_null(demo_server_cert_pem(s));
	demo_server_stop(s);

	cfg.tls = true;
	cr_assert_eq(demo_server_start(&cfg, &s), 0);
	const char *pem = demo_server_cert_pem(s);
	cr_assert_not_null(pem);
	https_get(demo_server_port(s), pem, "/api", buf, sizeof(buf));
	cr_assert(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf, "%s", buf);
	cr_assert(strstr(buf, "\"path\":\"/api/products/{id}\""), "%s", buf);
	https_get(demo_server_port(s), pem, "/api/products?limit=100", buf, sizeof(buf));
	cr_assert(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf, "%s", buf);
	cr_assert(strstr(buf, "\"id\":100,"), "a large body arrives whole");
	cr_assert_eq(demo_server_responses(s), 2);
	demo_server_stop(s);
}
