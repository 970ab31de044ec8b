/* test_demo_server.c: the in-process server API (what `stampede quickstart` uses). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo/demo.h"

/* Send one request to 127.0.0.1:port and read the response until the server closes. */
static size_t exchange(int port, const char *req, char *out, size_t cap)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t n = 0;
	ssize_t r;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	while (n + 1 < cap && (r = recv(fd, out + n, cap - n - 1, 0)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fd);
	return n;
}

Test(demo_server, start_on_a_free_port_serve_and_stop)
{
	struct demo_config cfg;
	struct demo_server *s;
	char buf[8192];

	demo_config_defaults(&cfg);
	cfg.port = 0;
	cfg.workers = 2;
	for (int round = 0; round < 2; round++) {
		cr_assert_eq(demo_server_start(&cfg, &s), 0);
		int port = demo_server_port(s);
		cr_assert_gt(port, 0);
		exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", buf,
		         sizeof(buf));
		cr_assert(strstr(buf, "HTTP/1.1 200 OK\r\n") == buf, "%s", buf);
		cr_assert(strstr(buf, "{\"status\":\"ok\"}"));
		exchange(port,
		         "GET /api/products/9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		         buf, sizeof(buf));
		cr_assert(strstr(buf, "\"id\":9"), "%s", buf);
		cr_assert_eq(demo_server_responses(s), 2);
		demo_server_stop(s);
	}
}

Test(demo_server, bind_errors_are_returned)
{
	struct demo_config cfg;
	struct demo_server *a, *b;

	demo_config_defaults(&cfg);
	cfg.port = 0;
	cr_assert_eq(demo_server_start(&cfg, &a), 0);
	cfg.port = demo_server_port(a);
	cr_assert_lt(demo_server_start(&cfg, &b), 0, "two servers on one port");
	snprintf(cfg.host, sizeof(cfg.host), "192.0.2.1"); /* TEST-NET: not ours */
	cr_assert_lt(demo_server_start(&cfg, &b), 0);
	demo_server_stop(a);
}
