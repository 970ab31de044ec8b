/* test_prometheus.c: the Prometheus output fed hand-built intervals, scraped over loopback. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics/hdr.h"
#include "output/output.h"
#include "result/result.h"

static const struct output_env env = { 0 };

/* A TCP port nothing listens on right now (the kernel's choice). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0);
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
		                 .sin_port = htons((uint16_t)port),
		                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0);
	cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s",
	          strerror(errno));
	return fd;
}

/* Send req and read the whole response (the server closes). The caller frees it. */
static char *http(int port, const char *req, size_t reqlen)
{
	int fd = connect_to(port);
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);
	cr_assert(send(fd, req, reqlen, MSG_NOSIGNAL) == (ssize_t)reqlen);
	for (;;) {
		struct pollfd pf = { fd, POLLIN, 0 };
		cr_assert(poll(&pf, 1, 10000) == 1, "no response within 10 s");
		if (len + 1 >= cap)
			out = realloc(out, cap *= 2);
		ssize_t n = recv(fd, out + len, cap - len - 1, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(fd);
	return out;
}

static char *get(int port, const char *path)
{
	char req[256];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);
	return http(port, req, (size_t)n);
}

static struct output *open_on(int *port)
{
	static char arg[64];
	static struct output o;
	char err[256] = "";
	*port = free_port();
	snprintf(arg, sizeof(arg), "127.0.0.1:%d", *port);
	o = (struct output){ .ops = &output_prometheus, .arg = arg, .env = &env };
	cr_assert_eq(o.ops->open(&o, err, sizeof(err)), 0, "open: %s", err);
	return &o;
}

/* The value of the sample line that starts with prefix ("name{labels} "), or -1. */
static double value_of(const char *page, const char *line)
{
	for (const char *p = page; (p = strstr(p, line)); p++)
		if (p == page || p[-1] == '\n')
			return strtod(p + strlen(line), NULL);
	return -1;
}

Test(prometheus, refuses_bad_and_non_loopback_addresses)
{
	static const struct {
		const char *arg, *says;
	} bad[] = {
		{ "", "not an address and port" },
		{ "127.0.0.1", "not an address and port" },
		{ "127.0.0.1:0", "not a port" },
		{ "127.0.0.1:70000", "not a port" },
		{ "127.0.0.1:http", "not a port" },
		{ "::1:9090", "in brackets" },
		{ "[::1]9090", "not an address and port" },
		{ "10.0.0.1:9090", "not a loopback address" },
		{ "0.0.0.0:9090", "not a loopback address" },
		{ "[::]:9090", "not a loopback address" },
		{ "[127.0.0.1]:9090", "not an IP address" },
		{ "example.com:9090", "not an IP address" },
		{ "127.0.0.1: 19465", "not a port" },
		{ "127.0.0.1:19465 ", "not a port" },
		{ "127.0.0.1:+19465", "not a port" },
		{ "127.0.0.1:-1", "not a port" },
		{ "127.0.0.1:019465", "not a port" },
		{ "127.0.0.1:00080", "not a port" },
		{ "127.0.0.1:123456", "not a port" },
		{ "127.0.0.1:65536", "not a port" },
		{ "127.0.0.1:0x50", "not a port" },
		{ "[::1]: 9090", "not a port" },
		{ "localhost:+9090", "not a port" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";
		struct output o = { .ops = &output_prometheus, .arg = bad[i].arg, .env = &env };
		cr_expect_eq(o.ops->open(&o, err, sizeof(err)), -EINVAL, "%s", bad[i].arg);
		cr_expect(strstr(err, bad[i].says), "%s: '%s' lacks '%s'", bad[i].arg, err,
		          bad[i].says);
		o.ops->close(&o);
	}
}

Test(prometheus, port_in_use_is_an_open_error)
{
	int port;
	struct output *a = open_on(&port);
	char arg[64], err[256] = "";
	snprintf(arg, sizeof(arg), "127.0.0.1:%d", port);
	struct output b = { .ops = &output_prometheus, .arg = arg, .env = &env };
	cr_expect_eq(b.ops->open(&b, err, sizeof(err)), -EADDRINUSE);
	cr_expect(strstr(err, "cannot listen on"), "%s", err);
	b.ops->close(&b);
	a->ops->close(a);
}

Test(prometheus, answers_metrics_404_405_and_431)
{
	int port;
	struct output *o = open_on(&port);
	char *r = get(port, "/metrics");
	cr_expect(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r);
	cr_expect(strstr(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), "%s", r);
	cr_expect(strstr(r, "\r\n\r\n# HELP stampede_vus "), "%s", r);
	cr_expect(value_of(r, "stampede_vus ") == 0, "%s", r);
	free(r);
	r = get(port, "/metrics?x=1");
	cr_expect(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r);
	free(r);
	r = get(port, "/");
	cr_expect(strncmp(r, "HTTP/1.1 404 ", 13) == 0, "%s", r);
	free(r);
	r = get(port, "/metricsx");
	cr_expect(strncmp(r, "HTTP/1.1 404 ", 13) == 0, "%s", r);
	free(r);
	const char post[] = "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
	r = http(port, post, sizeof(post) - 1);
	cr_expect(strncmp(r, "HTTP/1.1 405 ", 13) == 0, "%s", r);
	cr_expect(strstr(r, "Allow: GET, HEAD\r\n"), "%s", r);
	free(r);
	const char head[] = "HEAD /metrics HTTP/1.0\r\n\r\n";
	r = http(port, head, sizeof(head) - 1);
	cr_expect(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r);
	cr_expect(strstr(r, "\r\n\r\n")[4] == '\0', "HEAD got a body: %s", r);
	free(r);
	const char junk[] = "hello\r\n\r\n";
	r = http(port, junk, sizeof(junk) - 1);
	cr_expect(strncmp(r, "HTTP/1.1 400 ", 13) == 0, "%s", r);
	free(r);
	size_t big = 20000;
	char *huge = malloc(big);
	memcpy(huge, "GET /metrics HTTP/1.1\r\nX: ", 26);
	memset(huge + 26, 'a', big - 26);
	r = http(port, huge, 9000); /* the server stops reading at 8 KiB */
	cr_expect(strncmp(r, "HTTP/1.1 431 ", 13) == 0, "%s", r);
	free(r);
	free(huge);
	o->ops->close(o);
}

Test(prometheus, silent_client_does_not_hold_close)
{
	int port;
	struct output *o = open_on(&port);
	int fd = connect_to(port); /* connects, never sends: the thread waits on it */
	usleep(50000);
	o->ops->close(o); /* returns at once: close() wakes the thread */
	close(fd);
}

/* true when the server has closed fd (or reset it): an EOF or error is waiting. */
static bool closed_by_server(int fd)
{
	char c;
	struct pollfd pf = { fd, POLLIN, 0 };
	if (poll(&pf, 1, 0) == 0)
		return false;
	return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

/* A client that sent the start of a request and then nothing (a slowloris). */
static int slow_client(int port)
{
	static const char part[] = "GET /metrics HTTP/1.1\r\nHost: loc";
	int fd = connect_to(port);
	cr_assert(send(fd, part, sizeof(part) - 1, MSG_NOSIGNAL) == sizeof(part) - 1);
	return fd;
}

Test(prometheus, slow_clients_do_not_delay_a_scrape)
{
	int port, slow[5];
	struct output *o = open_on(&port);
	for (int i = 0; i < 5; i++)
		slow[i] = slow_client(port);
	/* Served one at a time, the scrape would wait for each slow client's 2 s read limit
	 * and find them all closed by then; served at once, it is answered while they are
	 * still waited for. */
	char *r = get(port, "/metrics");
	cr_expect(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r);
	for (int i = 0; i < 5; i++)
		cr_expect(!closed_by_server(slow[i]), "slow client %d was closed before the scrape",
		          i);
	free(r);
	/* ... and each is closed at its own deadline, without a response. */
	for (int i = 0; i < 5; i++) {
		struct pollfd pf = { slow[i], POLLIN, 0 };
		cr_expect(poll(&pf, 1, 10000) == 1, "slow client %d never closed", i);
		cr_expect(closed_by_server(slow[i]), "slow client %d got data", i);
		close(slow[i]);
	}
	o->ops->close(o);
}

Test(prometheus, too_many_clients_evict_the_oldest_waiting_one)
{
	enum { N = 70 }; /* more than the 64 connections served at once */
	int port, slow[N];
	struct output *o = open_on(&port);
	for (int i = 0; i < N; i++)
		slow[i] = slow_client(port);
	char *r = get(port, "/metrics");
	cr_expect(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r);
	free(r);
	cr_expect(closed_by_server(slow[0]), "the oldest slow client was not evicted");
	cr_expect(!closed_by_server(slow[N - 1]), "the newest slow client was evicted");
	for (int i = 0; i < N; i++)
		close(slow[i]);
	o->ops->close(o); /* returns at once with connections open */
}

Test(prometheus, reserved_label_names_get_a_prefix)
{
	int port;
	struct output *o = open_on(&port);
	struct result_tag tags[] = {
		{ "", "0" },
		{ "--x", "1" },
		{ "-x", "2" },
		{ "__a", "3" },
		{ "le", "4" },
		{ "stampede_overflow", "5" },
		{ "\xc3\xbcn\xc3\xaf", "6" }, /* ünï: each byte of ü and ï becomes _ */
		{ "tag___a", "7" },           /* the same name as __a's: the first is kept */
	};
	struct result_sample s = { .series = 0,
		                   .metric = "c",
		                   .type = MT_COUNTER,
		                   .ntags = 8,
		                   .tags = tags,
		                   .overflow = true,
		                   .v = { .type = MT_COUNTER, .any = true, .sum = 3 } };
	struct result_interval iv = { .nsamples = 1, .samples = &s };
	o->ops->interval(o, &iv);
	char *r = get(port, "/metrics");
	cr_expect_eq(value_of(r, "stampede_c_total{_=\"0\",tag___x=\"1\",_x=\"2\",tag___a=\"3\","
	                         "tag_le=\"4\",tag_stampede_overflow=\"5\",tag___n__=\"6\","
	                         "stampede_overflow=\"true\"} "),
	             3, "%s", r);
	free(r);
	o->ops->close(o);
}

/* Hand-built samples of one interval. */
static struct result_tag req_tags[] = {
	{ "9lives", "x" },   { "bad-key", "v" },           { "bad_key", "dup" }, { "le", "5" },
	{ "method", "GET" }, { "name", "a\"b\\c\nd\xff" }, { "status", "200" },
};

static void fill_interval(struct result_interval *iv, struct result_sample *s, struct hdr *h,
                          double reqs)
{
	s[0] = (struct result_sample){ .series = 0,
		                       .metric = "http_reqs",
		                       .type = MT_COUNTER,
		                       .ntags = 7,
		                       .tags = req_tags,
		                       .v = { .type = MT_COUNTER, .any = true, .sum = reqs } };
	s[1] = (struct result_sample){ .series = 1,
		                       .metric = "http_req_duration",
		                       .type = MT_TREND,
		                       .unit = RU_TIME,
		                       .ntags = 7,
		                       .tags = req_tags,
		                       .v = { .type = MT_TREND, .any = true, .h = h } };
	s[2] = (struct result_sample){ .series = 2,
		                       .metric = "http_req_failed",
		                       .type = MT_RATE,
		                       .v = { .type = MT_RATE, .any = true, .nz = 1, .total = 4 } };
	s[3] = (struct result_sample){ .series = 3,
		                       .metric = "data_sent",
		                       .type = MT_COUNTER,
		                       .unit = RU_BYTES,
		                       .v = { .type = MT_COUNTER, .any = true, .sum = 1234 } };
	s[4] = (struct result_sample){ .series = 4,
		                       .metric = "my gauge",
		                       .type = MT_GAUGE,
		                       .overflow = true,
		                       .v = { .type = MT_GAUGE, .any = true, .g_last = 2.5 } };
	s[5] = (struct result_sample){ .series = 5,
		                       .metric = "vus",
		                       .type = MT_GAUGE,
		                       .v = { .type = MT_GAUGE, .any = true, .g_last = 99 } };
	*iv = (struct result_interval){
		.t = 0, .vus = 3, .vus_max = 10, .nsamples = 6, .samples = s
	};
}

#define LABELS                                                                                     \
	"_9lives=\"x\",bad_key=\"v\",tag_le=\"5\",method=\"GET\","                                 \
	"name=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\",status=\"200\""

Test(prometheus, folds_intervals_into_counters_gauges_and_histograms)
{
	int port;
	struct output *o = open_on(&port);
	struct result_interval iv;
	struct result_sample s[6];
	struct hdr *h = hdr_new_default();
	hdr_record_n(h, 80, 3);  /* 80 µs: le 0.0001 */
	hdr_record(h, 1000);     /* exactly 1 ms: le 0.001 */
	hdr_record(h, 70000000); /* 70 s: only +Inf */
	fill_interval(&iv, s, h, 5);
	o->ops->interval(o, &iv);
	fill_interval(&iv, s, h, 7);
	iv.t = 1;
	iv.vus = 4;
	o->ops->interval(o, &iv);

	char *r = get(port, "/metrics");
	cr_expect_eq(value_of(r, "stampede_http_reqs_total{" LABELS "} "), 12, "%s", r);
	cr_expect(strstr(r, "# TYPE stampede_http_reqs_total counter\n"), "%s", r);
	cr_expect(strstr(r, "# TYPE stampede_http_req_duration_seconds histogram\n"), "%s", r);
	cr_expect_eq(
	    value_of(r, "stampede_http_req_duration_seconds_bucket{" LABELS ",le=\"0.00005\"} "),
	    0);
	cr_expect_eq(
	    value_of(r, "stampede_http_req_duration_seconds_bucket{" LABELS ",le=\"0.0001\"} "), 6);
	cr_expect_eq(
	    value_of(r, "stampede_http_req_duration_seconds_bucket{" LABELS ",le=\"0.001\"} "), 8);
	cr_expect_eq(
	    value_of(r, "stampede_http_req_duration_seconds_bucket{" LABELS ",le=\"60\"} "), 8);
	cr_expect_eq(
	    value_of(r, "stampede_http_req_duration_seconds_bucket{" LABELS ",le=\"+Inf\"} "), 10);
	cr_expect_eq(value_of(r, "stampede_http_req_duration_seconds_count{" LABELS "} "), 10);
	double sum = value_of(r, "stampede_http_req_duration_seconds_sum{" LABELS "} ");
	cr_expect(sum > 140.0 && sum < 140.2, "sum %g\n%s", sum, r);
	cr_expect_eq(value_of(r, "stampede_http_req_failed_nonzero_total "), 2, "%s", r);
	cr_expect_eq(value_of(r, "stampede_http_req_failed_samples_total "), 8, "%s", r);
	cr_expect_eq(value_of(r, "stampede_data_sent_bytes_total "), 2468, "%s", r);
	cr_expect_eq(value_of(r, "stampede_my_gauge{stampede_overflow=\"true\"} "), 2.5, "%s", r);
	cr_expect(strstr(r, "# TYPE stampede_my_gauge gauge\n"), "%s", r);
	cr_expect_eq(value_of(r, "stampede_vus "), 4, "%s", r);
	cr_expect_eq(value_of(r, "stampede_vus_max "), 10, "%s", r);
	cr_expect(!strstr(r, " 99\n"), "the registry's vus gauge is not served twice:\n%s", r);
	free(r);
	o->ops->close(o);
	hdr_free(h);
}

Test(prometheus, finish_sets_the_run_totals)
{
	int port;
	struct output *o = open_on(&port);
	struct result_interval iv;
	struct result_sample s[6];
	struct hdr *h = hdr_new_default();
	hdr_record(h, 2000);
	fill_interval(&iv, s, h, 5);
	o->ops->interval(o, &iv);

	struct hdr *total = hdr_new_default();
	hdr_record_n(total, 2000, 3);
	struct result_metric metrics[] = {
		{ .name = "http_reqs", .type = MT_COUNTER },
		{ .name = "http_req_duration", .type = MT_TREND, .unit = RU_TIME },
		{ .name = "size", .type = MT_TREND, .unit = RU_MILLI },
	};
	struct hdr *sizes = hdr_new_default();
	hdr_record(sizes, 3000); /* 3.0 */
	struct result_series series[] = {
		{ .metric = 0,
		  .ntags = 7,
		  .tags = req_tags,
		  .total = { .type = MT_COUNTER, .any = true, .sum = 9 } },
		{ .metric = 1,
		  .ntags = 7,
		  .tags = req_tags,
		  .total = { .type = MT_TREND, .any = true, .h = total } },
		{ .metric = 2, .total = { .type = MT_TREND, .any = true, .h = sizes } },
	};
	struct result r = { .nmetrics = 3, .metrics = metrics, .nseries = 3, .series = series };
	char err[128] = "";
	cr_assert_eq(o->ops->finish(o, &r, err, sizeof(err)), 0, "%s", err);

	char *p = get(port, "/metrics");
	cr_expect_eq(value_of(p, "stampede_http_reqs_total{" LABELS "} "), 9, "%s", p);
	cr_expect_eq(value_of(p, "stampede_http_req_duration_seconds_count{" LABELS "} "), 3);
	cr_expect_eq(
	    value_of(p, "stampede_http_req_duration_seconds_bucket{" LABELS ",le=\"0.0025\"} "), 3,
	    "%s", p);
	cr_expect_eq(value_of(p, "stampede_size_bucket{le=\"2.5\"} "), 0, "%s", p);
	cr_expect_eq(value_of(p, "stampede_size_bucket{le=\"5\"} "), 1, "%s", p);
	cr_expect_eq(value_of(p, "stampede_size_sum "), 3, "%s", p);
	cr_expect(strstr(p, "# TYPE stampede_size histogram\n"), "%s", p);
	free(p);
	o->ops->close(o);
	hdr_free(h);
	hdr_free(total);
	hdr_free(sizes);
}

Test(prometheus, colliding_names_are_served_once)
{
	int port;
	struct output *o = open_on(&port);
	struct result_sample s[2] = {
		{ .series = 0,
		  .metric = "a-b",
		  .type = MT_COUNTER,
		  .v = { .type = MT_COUNTER, .any = true, .sum = 1 } },
		{ .series = 1,
		  .metric = "a_b",
		  .type = MT_COUNTER,
		  .v = { .type = MT_COUNTER, .any = true, .sum = 2 } },
	};
	struct result_interval iv = { .nsamples = 2, .samples = s };
	o->ops->interval(o, &iv);
	char *r = get(port, "/metrics");
	cr_expect_eq(value_of(r, "stampede_a_b_total "), 1, "%s", r);
	const char *first = strstr(r, "# TYPE stampede_a_b_total");
	cr_expect(first && !strstr(first + 1, "# TYPE stampede_a_b_total"), "%s", r);
	free(r);
	o->ops->close(o);
}
