/* cmd_run.c: `stampede run --url URL [flags]`: flag parsing and validation. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/analyses.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "cli/coord_client.h"
#include "cli/history_meta.h"
#include "cli/monitor_args.h"
#include "cli/profile_run.h"
#include "cli/type_args.h"
#include "engine/loop.h"
#include "engine/quick.h"
#include "engine/resolver.h"
#include "engine/run.h"
#include "engine/sock.h"
#include "metrics/threshold.h"
#include "output/output.h"
#include "protocol/request.h"
#include "protocol/url.h"
#include "result/result.h"
#include "script/script.h"
#include "util/common.h"
#include "util/escape.h"
#include "util/outfile.h"
#include "util/procfs.h"

#define DEFAULT_DURATION_US        (10 * USEC_PER_SEC)
#define ITERATIONS_MAX_DURATION_US (600 * USEC_PER_SEC)
#define MAX_VUS_LIMIT              1000000
#define DNS_SERVERS_MAX            8
#define DNS_SERVER_USAGE           "IP[:PORT][,...], e.g. 127.0.0.1:5353 or [::1]:53"
#define DNS_SERVER_LEN             (INET6_ADDRSTRLEN + 9) /* "[" IPv6 "]:65535," */
#define BODY_FILE_MAX              ((size_t)64 << 20)     /* the largest --body-file */
#define PROFILE_HZ_DEFAULT         99                     /* as `stampede profile --freq` */
#define PROFILE_SVG_DEFAULT        "profile.svg"

void cmd_run_usage(void)
{
	printf(
	    "usage: stampede run --url URL [flags]\n\n"
	    "workload (closed model: VUs loop request -> response):\n"
	    "  -u, -c, --vus N           virtual users (default 1)\n"
	    "  -d, --duration D          test length (default 10s)\n"
	    "  -i, --iterations N        exactly N requests shared by the VUs\n"
	    "  -s, --stages D:N,...      ramp VUs (or the rate with --rate): 30s:20,1m:20,30s:0\n"
	    "                            (repeatable: -s 30s:20 -s 1m:20 adds stages)\n"
	    "      --sleep D             think time after each iteration\n"
	    "open model (iterations start at intended times):\n"
	    "      --rate R              iterations per second (start rate with --stages)\n"
	    "      --max-vus M           most VUs (default max(vus, 1000))\n"
	    "      --arrival uniform|poisson\n"
	    "      --arrival-window D    start arrivals in batches, each at most D early\n"
	    "                            (default 1ms; 0: one wake-up per arrival)\n"
	    "request:\n"
	    "  -X, --method M            request method (default GET)\n"
	    "  -H, --header 'K: V'       request header (repeatable)\n"
	    "      --body S | --body-file F  request body (a file of at most 64 MiB)\n"
	    "      --timeout D           request timeout (default 60s)\n"
	    "      --connect-timeout D   connect + TLS handshake timeout (default 10s)\n"
	    "      --max-response-body-size SIZE\n"
	    "                            largest response body, e.g. 10MB, 1GiB (default 64MiB);\n"
	    "                            a larger one fails as response_too_large\n"
	    "      --http2               offer HTTP/2 by ALPN on https:// (h2, then http/1.1;\n"
	    "                            scripts do by default, as k6)\n"
	    "      --http2-prior-knowledge  speak HTTP/2 at once on http:// too (h2c)\n"
	    "      --http1.1             HTTP/1.1 only (no ALPN), also for scripts\n"
	    "      --streams N           HTTP/2: at most N concurrent streams per connection\n"
	    "                            (quick mode: N VUs share one; --vus 40 --streams 10\n"
	    "                            is 4 connections x 10 streams, h2load -c 4 -m 10)\n"
	    "      --insecure            do not verify TLS certificates\n"
	    "      --cacert FILE         trust the CA certificates in FILE\n"
	    "      --dns 'ttl=1m,select=first,policy=any'\n"
	    "                            DNS cache ttl (inf, 0, duration), address selection\n"
	    "                            (first, random, roundRobin), address family policy\n"
	    "                            (preferIPv4, preferIPv6, onlyIPv4, onlyIPv6, any)\n"
	    "      --dns-server IP:PORT[,...]  ask only these DNS servers (not resolv.conf)\n"
	    "thresholds and outputs:\n"
	    "      --threshold 'METRIC: EXPR'        e.g. 'http_req_duration: p(95)<200'\n"
	    "      --threshold-abort 'METRIC: EXPR'  abort the run (exit 108) when it fails\n"
	    "      --abort-delay D       evaluate abort thresholds only after D\n"
	    "      --summary-export FILE write k6's JSON summary export ('-' for stdout)\n"
	    "  -o, --out NAME=ARG        an output (repeatable): result=FILE (stampede's\n"
	    "                            result), json=FILE[.gz], csv=FILE[.gz], html=FILE,\n"
	    "                            junit=FILE, markdown=FILE, hdr=FILE,\n"
	    "                            prometheus=127.0.0.1:PORT (docs/outputs.md)\n"
	    "      --no-color            no colours (also with NO_COLOR set)\n"
	    "      --summary-trend-stats avg,p(99),...  the trend statistics every output shows\n"
	    "      --no-thresholds       do not evaluate thresholds\n"
	    "      --tag NAME=VALUE      a tag on every sample (repeatable)\n"
	    "      --http-debug[=full]   print requests and responses (full: with bodies)\n"
	    "  -q, --quiet               no live progress\n"
	    "      --no-summary          no end-of-test summary\n"
	    "engine:\n"
	    "  -t, --threads N           worker threads (default: number of CPUs)\n"
	    "      --io epoll|io_uring|auto\n"
	    "                            I/O backend (default epoll; auto: io_uring when the\n"
	    "                            kernel allows it, else epoll)\n"
	    "      --grace D             time in-flight requests may take to finish at the end\n"
	    "                            (default 30s)\n");
	fputs(type_args_usage, stdout);
	fputs(monitor_args_usage, stdout);
	printf("\nProfiling the target (docs/profiling.md): perf record -g on the watched process\n"
	       "during the steady part of the run, then an SVG flame graph and the top functions\n"
	       "in the result (analyses.profile). Without perf, or without the right to use it,\n"
	       "a warning says why and the run goes on.\n"
	       "      --profile             profile the target of --monitor-pid, --monitor-port\n"
	       "                            or --monitor-cmd (one of them is required)\n"
	       "      --profile-out FILE    the flame graph (default: NAME.profile.svg beside\n"
	       "                            --out result=NAME.json, else profile.svg)\n"
	       "      --profile-hz N        samples per second, 1 to 100000 (default 99)\n");
	printf("\nHistory (docs/history.md): keep the run in a SQLite history of runs, for\n"
	       "`stampede history list|show|trend|baseline|gate`.\n"
	       "      --history FILE.db     add the run to this history (created if missing)\n"
	       "      --history-tag TAG     a label kept with it (\"nightly\", \"v1.2\")\n");
	printf("\nDistributed runs (docs/distributed.md): N instances each run one segment of\n"
	       "the load; `stampede merge` combines their result files exactly.\n"
	       "      --execution-segment FROM:TO\n"
	       "                            run this part of the load: VUs, iterations and\n"
	       "                            arrivals (k6's option), e.g. 1/4:1/2 (fractions,\n"
	       "                            decimals or percents; 1/4 alone is 0:1/4)\n"
	       "      --execution-segment-sequence 0,1/4,1/2,3/4,1\n"
	       "                            every instance's segment boundaries (the same on\n"
	       "                            all instances), so their shares add up exactly\n"
	       "      --coordinator http://HOST:PORT\n"
	       "                            a `stampede coordinate`: wait at its ready barrier,\n"
	       "                            start with every instance, and let it judge the\n"
	       "                            abort-on-fail thresholds on all of them together\n"
	       "      --coordinator-timeout D  the longest wait at the barrier (default 10m)\n");
	printf("\nDurations take units: 250us 500ms 10s 1m30s 2h. See docs/cli.md.\n");
}

enum {
	OPT_RATE = 256,
	OPT_MAX_VUS,
	OPT_ARRIVAL,
	OPT_ARRIVAL_WINDOW,
	OPT_SLEEP,
	OPT_BODY,
	OPT_BODY_FILE,
	OPT_TIMEOUT,
	OPT_CONNECT_TIMEOUT,
	OPT_INSECURE,
	OPT_HTTP2,
	OPT_HTTP2_PRIOR,
	OPT_HTTP11,
	OPT_STREAMS,
	OPT_CACERT,
	OPT_THRESHOLD,
	OPT_THRESHOLD_ABORT,
	OPT_ABORT_DELAY,
	OPT_GRACE,
	OPT_SUMMARY_EXPORT,
	OPT_NO_SUMMARY,
	OPT_URL,
	OPT_SEED,
	OPT_SEGMENT,
	OPT_SEGMENT_SEQUENCE,
	OPT_COORDINATOR,
	OPT_COORDINATOR_TIMEOUT,
	OPT_HELP,
	OPT_ENV,
	OPT_DNS,
	OPT_DNS_SERVER,
	OPT_MAX_BODY,
	OPT_OUT,
	OPT_NO_COLOR,
	OPT_TAG,
	OPT_NO_THRESHOLDS,
	OPT_TREND_STATS,
	OPT_HTTP_DEBUG,
	OPT_IO,
	OPT_PROFILE,
	OPT_PROFILE_OUT,
	OPT_PROFILE_HZ,
	OPT_HISTORY,
	OPT_HISTORY_TAG,
};

static const struct option long_opts[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "vus", required_argument, NULL, 'u' },
	{ "duration", required_argument, NULL, 'd' },
	{ "iterations", required_argument, NULL, 'i' },
	{ "stages", required_argument, NULL, 's' },
	{ "threads", required_argument, NULL, 't' },
	{ "method", required_argument, NULL, 'X' },
	{ "header", required_argument, NULL, 'H' },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "max-vus", required_argument, NULL, OPT_MAX_VUS },
	{ "arrival", required_argument, NULL, OPT_ARRIVAL },
	{ "arrival-window", required_argument, NULL, OPT_ARRIVAL_WINDOW },
	{ "sleep", required_argument, NULL, OPT_SLEEP },
	{ "body", required_argument, NULL, OPT_BODY },
	{ "body-file", required_argument, NULL, OPT_BODY_FILE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "max-response-body-size", required_argument, NULL, OPT_MAX_BODY },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "http2", no_argument, NULL, OPT_HTTP2 },
	{ "http2-prior-knowledge", no_argument, NULL, OPT_HTTP2_PRIOR },
	{ "http1.1", no_argument, NULL, OPT_HTTP11 },
	{ "streams", required_argument, NULL, OPT_STREAMS },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "dns-server", required_argument, NULL, OPT_DNS_SERVER },
	{ "threshold", required_argument, NULL, OPT_THRESHOLD },
	{ "threshold-abort", required_argument, NULL, OPT_THRESHOLD_ABORT },
	{ "abort-delay", required_argument, NULL, OPT_ABORT_DELAY },
	TYPE_ARGS_LONG_OPTS,
	MONITOR_ARGS_LONG_OPTS,
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "summary-export", required_argument, NULL, OPT_SUMMARY_EXPORT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "no-summary", no_argument, NULL, OPT_NO_SUMMARY },
	{ "out", required_argument, NULL, 'o' },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "tag", required_argument, NULL, OPT_TAG },
	{ "no-thresholds", no_argument, NULL, OPT_NO_THRESHOLDS },
	{ "summary-trend-stats", required_argument, NULL, OPT_TREND_STATS },
	{ "http-debug", optional_argument, NULL, OPT_HTTP_DEBUG },
	{ "io", required_argument, NULL, OPT_IO },
	{ "profile", no_argument, NULL, OPT_PROFILE },
	{ "profile-out", required_argument, NULL, OPT_PROFILE_OUT },
	{ "profile-hz", required_argument, NULL, OPT_PROFILE_HZ },
	{ "history", required_argument, NULL, OPT_HISTORY },
	{ "history-tag", required_argument, NULL, OPT_HISTORY_TAG },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "execution-segment", required_argument, NULL, OPT_SEGMENT },
	{ "execution-segment-sequence", required_argument, NULL, OPT_SEGMENT_SEQUENCE },
	{ "coordinator", required_argument, NULL, OPT_COORDINATOR },
	{ "coordinator-timeout", required_argument, NULL, OPT_COORDINATOR_TIMEOUT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "env", required_argument, NULL, 'e' },
	{ 0 },
};

struct run_args {
	const char *url;
	int64_t vus;
	bool vus_set;
	int64_t duration_us;
	bool duration_set;
	int64_t iterations;
	char *stages; /* every -s, joined (k6: the flag is repeatable and cumulative) */
	int64_t threads;
	const char *method;
	const char **headers;
	int nheaders;
	double rate;
	bool rate_set;
	int64_t max_vus;
	bool poisson;
	int64_t arrival_window_us; /* -1: the default */
	int64_t sleep_us;
	char *body;
	size_t body_len;
	int64_t timeout_us;
	int64_t connect_timeout_us;
	int64_t body_max; /* --max-response-body-size in bytes, 0 when not given */
	bool insecure;
	int h2;          /* enum h2_mode + 1; 0: not said (quick mode off, scripts ALPN) */
	int64_t streams; /* --streams: 0 when not said */
	const char *cacert;
	const char *dns; /* --dns: overrides the script's options.dns field by field */
	/* --dns-server as c-ares is given it ("127.0.0.1:53,[::1]:5353"), "" without one */
	char dns_servers[DNS_SERVERS_MAX * DNS_SERVER_LEN];
	struct threshold *thr;
	int nthr;
	int64_t abort_delay_us;
	bool abort_delay_set;
	struct type_args ta;      /* --type, --slo and the preset's shape (cli/type_args.h) */
	struct monitor_args *mon; /* --monitor-* (cli/monitor_args.h) */
	bool profile;             /* --profile (cli/profile_run.h) */
	const char *profile_out;  /* --profile-out, or NULL */
	int64_t profile_hz;       /* --profile-hz, 0 when not given */
	char *profile_svg;        /* where the flame graph goes (check_profile), or NULL */
	const char *history;      /* --history FILE.db, or NULL (history/history.h) */
	const char *history_tag;  /* --history-tag, or NULL */
	int64_t grace_us;
	bool grace_set;
	const char *summary_export;
	bool quiet, no_summary, no_color;
	const char **outs; /* --out NAME=ARG, in the order given */
	int nouts;
	const char **tags; /* --tag NAME=VALUE, in the order given (a later one wins) */
	int ntags;
	bool no_thresholds;
	json_t *trend_stats; /* --summary-trend-stats, or NULL */
	int http_debug;      /* --http-debug: 1, =full: 2 */
	uint64_t seed;
	/* --io */
	enum loop_backend io;
	const char **env;
	int nenv;
	int64_t threads_set;
	/* --execution-segment, --execution-segment-sequence (or the script's options), and
	 * the segment built from them (engine/segment.h; whole: not segmented) */
	const char *segment, *segment_seq;
	struct exec_segment seg;
	int whole_vus, whole_max_vus;   /* quick mode: the whole run's, for options */
	const char *coordinator;        /* --coordinator URL (cli/coord_client.h), or NULL */
	int64_t coordinator_timeout_us; /* --coordinator-timeout: the ready barrier's wait */
};

/* --arrival-window: the largest accepted, and the default. A wake-up costs more CPU than a
 * request on a VM (~9 µs measured, bench/README.md); 1 ms batches 20 arrivals at 20,000/s,
 * each started at most 1 ms early (never late: lateness is what the coordinated-omission
 * correction adds to latency, and our own batching must not). The price: the server sees
 * them in bursts of rate x window (docs/cli.md); 1 ms is wrk2's timer resolution too. */
#define ARRIVAL_WINDOW_MAX_US     (100 * 1000)
#define ARRIVAL_WINDOW_DEFAULT_US 1000

static int64_t arrival_window(const struct run_args *a)
{
	return a->arrival_window_us >= 0 ? a->arrival_window_us : ARRIVAL_WINDOW_DEFAULT_US;
}

static int opt_duration(const char *flag, const char *v, int64_t *out)
{
	if (parse_duration(v, out) < 0)
		return cli_bad_value(flag, v, "expected a duration such as 500ms, 10s or 1m30s");
	return 0;
}

static int opt_int(const char *flag, const char *v, int64_t min, int64_t max, int64_t *out)
{
	if (parse_int64(v, min, max, out) < 0) {
		char why[96];
		snprintf(why, sizeof(why), "expected a whole number from %lld to %lld",
		         (long long)min, (long long)max);
		return cli_bad_value(flag, v, why);
	}
	return 0;
}

/* --body-file: the whole file, at most BODY_FILE_MAX bytes (so /dev/zero or an endless FIFO
 * ends with an error instead of filling memory). */
static int opt_body_file(struct run_args *a, const char *path)
{
	free(a->body);
	a->body = NULL;
	a->body_len = 0;
	int rc = read_file_max(path, BODY_FILE_MAX, &a->body, &a->body_len);
	if (rc == -EFBIG) {
		fprintf(stderr, "stampede: --body-file: '%s' is larger than 64 MiB\n", path);
		return rc;
	}
	if (rc == -ETIMEDOUT) { /* a FIFO with no writer, or one that stopped writing */
		fprintf(stderr, "stampede: --body-file: '%s': %s\n", path, read_file_strerror(rc));
		return rc;
	}
	return rc < 0 ? cli_bad_value("--body-file", path, read_file_strerror(rc)) : 0;
}

/* An output path option: checked now, before any script is loaded or load is sent. */
static int opt_output(const char *flag, const char *path, const char **out)
{
	char err[PATH_MAX + 256];
	if (outfile_check(path, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: %s: %s\n", flag, err);
		return -EINVAL;
	}
	*out = path;
	return 0;
}

/* The port of a --dns-server entry: 1 to 5 decimal digits, 1-65535. -EINVAL otherwise. */
static int dns_server_port(const char *s, int64_t *port)
{
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 5 || s[n])
		return -EINVAL;
	return parse_int64(s, 1, 65535, port) < 0 ? -EINVAL : 0;
}

/* true for 0.0.0.0, :: and ::ffff:0.0.0.0: "any address", never a server's. */
static bool unspecified_addr(int af, const void *a)
{
	static const unsigned char zero[16];
	const struct in6_addr *a6 = a;

	if (af == AF_INET)
		return memcmp(a, zero, 4) == 0;
	return IN6_IS_ADDR_UNSPECIFIED(a6) ||
	       (IN6_IS_ADDR_V4MAPPED(a6) && memcmp(&a6->s6_addr[12], zero, 4) == 0);
}

/* Check one --dns-server entry e[0..n): "IPv4", "IPv4:PORT", "[IPv6]" or "[IPv6]:PORT" (a bare
 * IPv6 address is refused: "::1:53" would silently be the address ::1:53 on port 53), port
 * 1-65535 in decimal, 53 when absent; no host names, spaces, zone IDs or unspecified
 * address. Writes its canonical "IPv4:PORT" or "[IPv6]:PORT" to out (DNS_SERVER_LEN bytes).
 * Returns NULL, or why the entry is invalid. */
static const char *dns_server_entry(const char *e, size_t n, char *out)
{
	char buf[DNS_SERVER_LEN], text[INET6_ADDRSTRLEN], *ip = buf, *port = NULL;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} a;
	int af = e[0] == '[' ? AF_INET6 : AF_INET;
	int64_t pnum = 53;

	if (n >= sizeof(buf))
		return "too long for an address and port";
	memcpy(buf, e, n);
	buf[n] = '\0';
	if (strpbrk(buf, " \t\r\n\v\f"))
		return "spaces are not allowed";
	if (af == AF_INET6) {
		char *close = strchr(++ip, ']');
		if (!close)
			return "missing ']' after the IPv6 address";
		*close = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return "unexpected text after ']'";
	} else if ((port = strchr(buf, ':'))) {
		if (strchr(port + 1, ':'))
			return "an IPv6 address must be in brackets: [::1] or [::1]:53";
		*port++ = '\0';
	}
	if (port && dns_server_port(port, &pnum) < 0)
		return "port must be a number from 1 to 65535";
	if (strchr(ip, '%'))
		return "IPv6 zone IDs are not supported";
	if (inet_pton(af, ip, &a) != 1)
		return af == AF_INET6
		           ? "not an IPv6 address"
		           : "not an IP address: IPv4 as a.b.c.d, IPv6 in brackets, no host names";
	if (unspecified_addr(af, &a))
		return "the unspecified address is not a server";
	inet_ntop(af, &a, text, sizeof(text));
	snprintf(out, DNS_SERVER_LEN, af == AF_INET6 ? "[%s]:%d" : "%s:%d", text, (int)pnum);
	return NULL;
}

/* Check csv, a --dns-server list of at most DNS_SERVERS_MAX entries separated by commas (none
 * empty), strictly: c-ares's own parser would rewrite "1.2.3.4.5" as 1.2.3.4 and "127.1" as
 * 127.1.0.0. Fills a->dns_servers with the canonical list that c-ares is given, after checking
 * that c-ares accepts it (nothing is sent). Returns 0, or -EINVAL after naming the bad entry. */
static int check_dns_servers(struct run_args *a, const char *csv)
{
	char why[256];
	size_t used = 0;
	const char *e = csv;

	for (int i = 1;; i++) {
		size_t n = strcspn(e, ",");
		const char *err = "empty entry";
		if (i > DNS_SERVERS_MAX)
			err = "more than 8 servers";
		else if (n > 0)
			err = dns_server_entry(e, n, a->dns_servers + used);
		if (err) { /* the entry is named when there are several */
			int w = strchr(csv, ',')
			            ? snprintf(why, sizeof(why), "entry %d '%.*s': ", i,
			                       (int)MIN(n, 64), e)
			            : 0;
			snprintf(why + w, sizeof(why) - (size_t)w, "%s (expected %s)", err,
			         DNS_SERVER_USAGE);
			a->dns_servers[0] = '\0';
			return cli_bad_value("--dns-server", csv, why);
		}
		used += strlen(a->dns_servers + used);
		if (!e[n])
			break;
		a->dns_servers[used++] = ',';
		e += n + 1;
	}

	struct resolver_opts o;
	struct loop *l;
	struct resolver *r = NULL;
	resolver_opts_init(&o);
	o.servers = a->dns_servers;
	if (loop_new(&l) < 0)
		return 0; /* cannot check here: the workers' resolvers will say */
	int rc = resolver_new(l, &o, 0, &r);
	resolver_free(r);
	loop_free(l);
	if (rc == -EINVAL) {
		a->dns_servers[0] = '\0';
		return cli_bad_value("--dns-server", csv, "not accepted by c-ares");
	}
	return 0; /* other failures: the workers' resolvers say */
}

static int add_threshold(struct run_args *a, const char *spec, bool abort_on_fail)
{
	char err[512];
	struct threshold t;
	if (threshold_parse(spec, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: %s\n", err);
		return -EINVAL;
	}
	t.abort_on_fail = abort_on_fail;
	a->thr = xrealloc(a->thr, sizeof(*a->thr) * (size_t)(a->nthr + 1));
	a->thr[a->nthr++] = t;
	return 0;
}

/* --abort-delay delays abort-on-fail thresholds: refused (after saying why) when the run has
 * none, rather than silently doing nothing. */
static bool abort_delay_unused(const struct run_args *a, const struct threshold *thr, int nthr)
{
	if (!a->abort_delay_set)
		return false;
	for (int i = 0; i < nthr; i++)
		if (thr[i].abort_on_fail)
			return false;
	fprintf(stderr, "stampede: --abort-delay delays abort-on-fail thresholds, and this run "
	                "has none (--threshold-abort, --type breakpoint, or a script's "
	                "abortOnFail)\n");
	return true;
}

/* --type, --slo and --slo-preset, after every flag is read: the preset becomes the stages
 * (as -s would give them) and the SLOs thresholds (abort-on-fail for a breakpoint test). */
static int apply_type_and_slo(struct run_args *a, bool script)
{
	struct type_args *t = &a->ta;
	const struct preset_plan *p = &t->plan;
	const struct type_level lv = { .rate_set = a->rate_set,
		                       .rate = a->rate,
		                       .vus_set = a->vus_set,
		                       .vus = a->vus,
		                       .duration_set = a->duration_set,
		                       .duration_us = a->duration_us };

	if (t->preset.type != TT_NONE) {
		const char *tn = test_type_name(t->preset.type);
		if (a->stages || a->iterations) {
			fprintf(stderr,
			        "stampede: --type %s builds the stages itself: drop %s (or "
			        "shape the preset with --ramp, --hold, --peak ...)\n",
			        tn, a->stages ? "--stages" : "--iterations");
			return -EINVAL;
		}
		if (a->rate_set && a->vus_set) {
			fprintf(
			    stderr,
			    "stampede: --type %s: give the level once: --rate R (open model) or "
			    "--vus N (closed model); --max-vus caps the VUs of an open one\n",
			    tn);
			return -EINVAL;
		}
		if (script && a->rate_set) {
			fprintf(stderr,
			        "stampede: --type with --rate applies to --url runs; a script "
			        "gets the closed-model preset with --vus\n");
			return -EINVAL;
		}
	}
	if (type_args_resolve(t, &lv) < 0)
		return -EINVAL;
	if (p->type != TT_NONE) {
		char stages[2048];
		if (!preset_stages_string(p, stages, sizeof(stages))) {
			fprintf(stderr, "stampede: --type %s: too many stages\n",
			        test_type_name(p->type));
			return -EINVAL;
		}
		a->stages = xstrdup(stages);
		a->duration_set = false; /* it became the preset's hold */
		if (a->rate_set) {
			a->rate = p->start;
			a->vus_set = false; /* preallocated VUs: the default for the peak */
		} else {
			a->vus = (int64_t)p->start;
			a->vus_set = true;
		}
		if (p->abort_on_slo && !a->abort_delay_set)
			a->abort_delay_us = p->abort_delay_us;
	}
	for (int i = 0; i < t->slo.n; i++) {
		char thr[128];
		type_args_threshold(t, i, thr, sizeof(thr));
		if (add_threshold(a, thr, p->abort_on_slo) < 0)
			return -EINVAL;
		if (p->abort_on_slo) { /* the load now: the run so far lags behind the ramp */
			a->thr[a->nthr - 1].window_s = PRESET_ABORT_WINDOW_S;
			a->thr[a->nthr - 1].delay_abort_us = a->abort_delay_us; /* in the result */
		}
	}
	return 0;
}

/* --profile's flame graph when --profile-out is not given: beside the first --out
 * result=FILE that is a file of its own, named after it (runs/a.json: runs/a.profile.svg),
 * else PROFILE_SVG_DEFAULT in the current directory. A new string. */
static char *profile_default_svg(const struct run_args *a)
{
	for (int i = 0; i < a->nouts; i++) {
		const char *path = a->outs[i];
		if (strncmp(path, "result=", 7) != 0)
			continue;
		path += 7;
		char *where = outfile_where(path);
		if (!where) /* "-", a descriptor, a device or FIFO */
			continue;
		free(where);
		size_t n = strlen(path);
		if (n > 5 && !strcmp(path + n - 5, ".json"))
			n -= 5;
		size_t len = n + sizeof(".profile.svg");
		char *svg = xmalloc(len);
		snprintf(svg, len, "%.*s.profile.svg", (int)n, path);
		return svg;
	}
	return xstrdup(PROFILE_SVG_DEFAULT);
}

/* --profile, --profile-out and --profile-hz, after every flag is read: --profile needs a
 * watched target; the flame graph's path must be writable now (a file: the summary may be
 * on stdout). Sets a->profile_svg. Returns 0 or -EINVAL after saying why (exit 104). */
static int check_profile(struct run_args *a)
{
	char err[PATH_MAX + 256];
	if (!a->profile) {
		if (a->profile_out || a->profile_hz) {
			fprintf(stderr, "stampede: %s goes with --profile (give --profile too)\n",
			        a->profile_out ? "--profile-out" : "--profile-hz");
			return -EINVAL;
		}
		return 0;
	}
	if (!monitor_args_any(a->mon)) {
		fprintf(stderr,
		        "stampede: --profile records the watched target: give "
		        "--monitor-pid PID, --monitor-port PORT or --monitor-cmd \"CMD\"\n");
		return -EINVAL;
	}
	if (a->profile_out && !strcmp(a->profile_out, "-"))
		return cli_bad_value("--profile-out", "-", "the flame graph goes to a file");
	if (a->profile_out && !*a->profile_out)
		return cli_bad_value("--profile-out", "", "an empty path: name a file");
	a->profile_svg = a->profile_out ? xstrdup(a->profile_out) : profile_default_svg(a);
	if (outfile_check(a->profile_svg, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: %s: %s\n",
		        a->profile_out ? "--profile-out" : "--profile", err);
		return -EINVAL;
	}
	return 0;
}

/* --history: the file must be a stampede history, or one that can be made, before the
 * test starts (exit 104 otherwise: a run whose history cannot be kept is refused). */
static int check_history(const struct run_args *a)
{
	char err[512];
	struct history *h;
	if (a->history_tag && !a->history) {
		fprintf(stderr,
		        "stampede: --history-tag goes with --history (give --history too)\n");
		return -EINVAL;
	}
	if (!a->history)
		return 0;
	if (history_open(a->history, true, &h, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: --history %s\n", err);
		return -EINVAL;
	}
	history_close(h);
	return 0;
}

/* Add the run to --history: its test hash, git commit and branch, the tag. Returns 0 or
 * -1 after saying why (the run's outputs are written: exit 110). */
static int add_to_history(const char *path, const char *tag, const struct result *r)
{
	char err[512], warn[512] = "";
	struct history_meta m;
	struct history *h;
	int64_t id = -1;
	if (history_meta_collect(r, tag, &m, warn, sizeof(warn)) < 0) {
		fprintf(stderr, "stampede: --history %s: the test's hash failed\n", path);
		return -1;
	}
	if (*warn)
		fprintf(stderr, "stampede: warning: --history: %s\n", warn);
	if (history_open(path, true, &h, err, sizeof(err)) == 0) {
		id = history_add(h, r, &m, err, sizeof(err));
		history_close(h);
	}
	if (id < 0)
		fprintf(stderr, "stampede: --history: the run was not added: %s\n", err);
	else
		fprintf(stderr, "stampede: added to %s as run %lld (test %s)\n", path,
		        (long long)id, m.test_hash);
	history_meta_release(&m);
	return id < 0 ? -1 : 0;
}

/* options.profile in the result: {svg, hz}, with --profile only. */
static void profile_options(const struct run_args *a, json_t *options)
{
	if (!a->profile)
		return;
	json_t *o = json_object();
	json_object_set_new(o, "svg", json_string(a->profile_svg));
	json_object_set_new(o, "hz",
	                    json_integer(a->profile_hz ? a->profile_hz : PROFILE_HZ_DEFAULT));
	json_object_set_new(options, "profile", o);
}

/* summaryTrendStats: a non-empty list of avg, min, med, max, count or p(N), 0 <= N <= 100. */
static bool trend_stats_valid(json_t *stats)
{
	size_t i;
	json_t *st;
	bool ok =
	    json_is_array(stats) && json_array_size(stats) > 0 && json_array_size(stats) <= 64;
	json_array_foreach(stats, i, st)
	{
		const char *n = json_string_value(st);
		double pct;
		char close;
		ok = ok && n &&
		     (!strcmp(n, "avg") || !strcmp(n, "min") || !strcmp(n, "med") ||
		      !strcmp(n, "max") || !strcmp(n, "count") ||
		      (sscanf(n, "p(%lf%c", &pct, &close) == 2 && close == ')' && pct >= 0 &&
		       pct <= 100 && strchr(n, ')')[1] == 0));
	}
	return ok;
}

static int parse_one(struct run_args *a, int c, const char *arg)
{
	switch (c) {
	case OPT_URL:
		a->url = arg;
		return 0;
	case 'u':
	case 'c':
		a->vus_set = true;
		return opt_int("--vus", arg, 0, MAX_VUS_LIMIT, &a->vus);
	case 'd':
		a->duration_set = true;
		return opt_duration("--duration", arg, &a->duration_us);
	case 'i':
		return opt_int("--iterations", arg, 1, INT64_MAX / 2, &a->iterations);
	case 's':
		if (!a->stages) {
			a->stages = xstrdup(arg);
		} else { /* cumulative, as k6's: -s 10s:5 -s 20s:10 */
			size_t n = strlen(a->stages) + strlen(arg) + 2;
			char *both = xmalloc(n);
			snprintf(both, n, "%s,%s", a->stages, arg);
			free(a->stages);
			a->stages = both;
		}
		return 0;
	case 't':
		return opt_int("--threads", arg, 1, 256, &a->threads);
	case 'X':
		a->method = arg;
		return 0;
	case 'H':
		a->headers = xrealloc(a->headers, sizeof(*a->headers) * (size_t)(a->nheaders + 1));
		a->headers[a->nheaders++] = arg;
		return 0;
	case OPT_RATE:
		a->rate_set = true;
		if (parse_double(arg, &a->rate) < 0 || a->rate < 0 || a->rate > 1e7)
			return cli_bad_value("--rate", arg,
			                     "expected iterations per second, 0 to 10000000");
		return 0;
	case OPT_MAX_VUS:
		return opt_int("--max-vus", arg, 1, MAX_VUS_LIMIT, &a->max_vus);
	case OPT_ARRIVAL:
		if (strcmp(arg, "poisson") == 0)
			a->poisson = true;
		else if (strcmp(arg, "uniform") != 0)
			return cli_bad_value("--arrival", arg, "expected 'uniform' or 'poisson'");
		return 0;
	case OPT_ARRIVAL_WINDOW:
		if (opt_duration("--arrival-window", arg, &a->arrival_window_us) < 0)
			return -1;
		if (a->arrival_window_us > ARRIVAL_WINDOW_MAX_US)
			return cli_bad_value("--arrival-window", arg, "expected at most 100ms");
		return 0;
	case OPT_SLEEP:
		return opt_duration("--sleep", arg, &a->sleep_us);
	case OPT_BODY:
		free(a->body);
		a->body = xstrdup(arg);
		a->body_len = strlen(arg);
		return 0;
	case OPT_BODY_FILE:
		return opt_body_file(a, arg);
	case OPT_TIMEOUT:
		if (opt_duration("--timeout", arg, &a->timeout_us) < 0)
			return -EINVAL;
		return a->timeout_us > 0 ? 0
		                         : cli_bad_value("--timeout", arg, "must be more than 0");
	case OPT_CONNECT_TIMEOUT:
		if (opt_duration("--connect-timeout", arg, &a->connect_timeout_us) < 0)
			return -EINVAL;
		return a->connect_timeout_us > 0
		           ? 0
		           : cli_bad_value("--connect-timeout", arg, "must be more than 0");
	case OPT_MAX_BODY:
		if (parse_size(arg, &a->body_max) < 0 || a->body_max <= 0)
			return cli_bad_value(
			    "--max-response-body-size", arg,
			    "expected a size in bytes more than 0, e.g. 1048576, 10MB or 1GiB");
		return 0;
	case OPT_INSECURE:
		a->insecure = true;
		return 0;
	case OPT_HTTP2:
	case OPT_HTTP2_PRIOR:
	case OPT_HTTP11: {
		int want = c == OPT_HTTP2 ? H2_ALPN + 1 : c == OPT_HTTP2_PRIOR ? H2_PRIOR + 1 : 1;
		if (a->h2 && a->h2 != want) {
			fprintf(stderr, "stampede: --http1.1, --http2 and --http2-prior-knowledge "
			                "exclude each other: give one\n");
			return -EINVAL;
		}
		a->h2 = want;
		return 0;
	}
	case OPT_STREAMS:
		return opt_int("--streams", arg, 1, 1000, &a->streams);
	case OPT_CACERT:
		if (access(arg, R_OK) < 0)
			return cli_bad_value("--cacert", arg, strerror(errno));
		a->cacert = arg;
		return 0;
	case OPT_DNS: {
		char err[256];
		struct resolver_opts o;
		resolver_opts_init(&o);
		if (resolver_opts_parse(arg, &o, err, sizeof(err)) < 0) {
			fprintf(stderr, "stampede: --dns: %s\n", err);
			return -EINVAL;
		}
		a->dns = arg;
		return 0;
	}
	case OPT_DNS_SERVER:
		return check_dns_servers(a, arg);
	case OPT_THRESHOLD:
		return add_threshold(a, arg, false);
	case OPT_THRESHOLD_ABORT:
		return add_threshold(a, arg, true);
	case OPT_ABORT_DELAY:
		a->abort_delay_set = true;
		return opt_duration("--abort-delay", arg, &a->abort_delay_us);
	case OPT_GRACE:
		a->grace_set = true;
		return opt_duration("--grace", arg, &a->grace_us);
	case OPT_SUMMARY_EXPORT:
		return opt_output("--summary-export", arg, &a->summary_export);
	case 'q':
		a->quiet = true;
		return 0;
	case 'e':
		if (!strchr(arg, '=') || arg[0] == '=')
			return cli_bad_value("-e", arg, "expected NAME=VALUE");
		a->env = xrealloc(a->env, sizeof(*a->env) * (size_t)(a->nenv + 1));
		a->env[a->nenv++] = arg;
		return 0;
	case OPT_NO_SUMMARY:
		a->no_summary = true;
		return 0;
	case 'o':
		a->outs = xrealloc(a->outs, sizeof(*a->outs) * (size_t)(a->nouts + 1));
		a->outs[a->nouts++] = arg;
		return 0;
	case OPT_NO_COLOR:
		a->no_color = true;
		return 0;
	case OPT_TAG:
		if (!strchr(arg, '=') || arg[0] == '=')
			return cli_bad_value("--tag", arg, "expected NAME=VALUE");
		char *fixed = utf8_fix(arg);
		if (fixed) {
			int rc =
			    cli_bad_value("--tag", fixed, "not valid UTF-8 (shown with U+FFFD)");
			free(fixed);
			return rc;
		}
		a->tags = xrealloc(a->tags, sizeof(*a->tags) * (size_t)(a->ntags + 1));
		a->tags[a->ntags++] = arg;
		return 0;
	case OPT_NO_THRESHOLDS:
		a->no_thresholds = true;
		return 0;
	case OPT_TREND_STATS: {
		json_t *st = json_array();
		char *copy = xstrdup(arg), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(st, json_string(t));
		free(copy);
		json_decref(a->trend_stats);
		a->trend_stats = st;
		if (!trend_stats_valid(st))
			return cli_bad_value(
			    "--summary-trend-stats", arg,
			    "expected a comma-separated list of avg, min, med, max, count or "
			    "p(N) with N from 0 to 100");
		return 0;
	}
	case OPT_IO:
		if (!strcmp(arg, "epoll"))
			a->io = LOOP_IO_EPOLL;
		else if (!strcmp(arg, "io_uring"))
			a->io = LOOP_IO_URING;
		else if (!strcmp(arg, "auto"))
			a->io = LOOP_IO_AUTO;
		else
			return cli_bad_value("--io", arg, "expected 'epoll', 'io_uring' or 'auto'");
		return 0;
	case OPT_HTTP_DEBUG:
		if (!arg || !*arg)
			a->http_debug = 1;
		else if (!strcmp(arg, "full"))
			a->http_debug = 2;
		else
			return cli_bad_value("--http-debug", arg, "expected nothing or 'full'");
		return 0;
	case OPT_PROFILE:
		a->profile = true;
		return 0;
	case OPT_PROFILE_OUT:
		a->profile_out = arg;
		return 0;
	case OPT_PROFILE_HZ:
		return opt_int("--profile-hz", arg, 1, 100000, &a->profile_hz);
	case OPT_HISTORY:
		if (!*arg)
			return cli_bad_value("--history", arg, "give the history's file (runs.db)");
		a->history = arg;
		return 0;
	case OPT_HISTORY_TAG:
		if (!history_tag_ok(arg))
			return cli_bad_value("--history-tag", arg,
			                     "a label of 1 to 200 characters without control "
			                     "characters");
		a->history_tag = arg;
		return 0;
	case OPT_SEGMENT:
		a->segment = arg;
		return 0;
	case OPT_SEGMENT_SEQUENCE:
		a->segment_seq = arg;
		return 0;
	case OPT_COORDINATOR:
		if (strncmp(arg, "http://", 7) != 0 || !arg[7])
			return cli_bad_value("--coordinator", arg,
			                     "expected the coordinator's http://HOST:PORT");
		a->coordinator = arg;
		return 0;
	case OPT_COORDINATOR_TIMEOUT:
		if (opt_duration("--coordinator-timeout", arg, &a->coordinator_timeout_us) < 0)
			return -EINVAL;
		if (a->coordinator_timeout_us <= 0)
			return cli_bad_value("--coordinator-timeout", arg, "expected more than 0");
		return 0;
	case OPT_SEED: {
		int64_t s;
		if (opt_int("--seed", arg, 0, INT64_MAX, &s) < 0)
			return -EINVAL;
		a->seed = (uint64_t)s;
		return 0;
	}
	}
	int r = monitor_args_flag(a->mon, c, arg);
	if (r != 0)
		return r > 0 ? 0 : -EINVAL;
	r = type_args_flag(&a->ta, c, arg);
	return r > 0 ? 0 : -EINVAL;
}

/* --- outputs: the pipeline of output/ behind the run's hooks -------------------------- */

struct outputs {
	struct output_env env;
	struct pipeline *p;
	struct script *script;    /* handle_summary(), or NULL */
	struct monitor *mon;      /* --monitor-*: what was watched, or NULL */
	struct profile_run *prof; /* --profile, or NULL */
	const char *history;      /* --history, or NULL */
	const char *history_tag;
	struct coord_client *coord; /* --coordinator, or NULL */
};

static void outputs_interval(void *ctx, const struct result_interval *iv)
{
	struct outputs *o = ctx;
	profile_run_tick(o->prof, iv); /* first: the recording's clock, cheap */
	if (o->coord) /* queued for the client's thread: never waits on the network */
		coord_client_interval(o->coord, iv);
	pipeline_interval(o->p, iv);
}

/* handle_summary() first (k6: its result replaces the terminal summary), then every output. */
static int outputs_finish(void *ctx, struct result *r)
{
	struct outputs *o = ctx;
	int flags = 0;
	bool printed = false;
	if (o->coord) /* the threshold that failed across the instances fails here too */
		coord_client_mark_abort(o->coord, r);
	if (o->mon) /* before the analyses that read it */
		json_object_set_new(r->analyses, "monitor", monitor_json(o->mon));
	if (o->prof) { /* stops perf, folds, writes the SVG (or says why not) */
		bool write_failed = false;
		json_t *prof = profile_run_finish(o->prof, &write_failed);
		if (prof)
			json_object_set_new(r->analyses, "profile", prof);
		if (write_failed)
			flags |= RUN_OUT_FAILED;
		if (profile_run_interrupted(o->prof)) { /* a signal while it was folded: 105 */
			flags |= RUN_OUT_INTERRUPTED;
			r->interrupted = true; /* the outputs say so */
		}
	}
	analyses_fill(r); /* --type's verdicts, leaks (analysis/analyses.h) */
	if (o->script && o->script->has_handle_summary && !r->gen.workers_stuck) {
		json_t *data = k6_summary_data(r, &o->env);
		int e = script_handle_summary(o->script, data, &printed);
		json_decref(data);
		if (e == -EINVAL)
			flags |= RUN_OUT_SCRIPT_ERROR;
		if (e == -EIO)
			flags |= RUN_OUT_FAILED;
		if (e == -EINTR) {
			flags |= RUN_OUT_INTERRUPTED;
			r->interrupted = true; /* the outputs say so */
		}
	}
	if (pipeline_finish(o->p, r, printed) > 0)
		flags |= RUN_OUT_FAILED;
	if (o->history && add_to_history(o->history, o->history_tag, r) < 0)
		flags |= RUN_OUT_FAILED;
	return flags;
}

/* The terminal and the colours (k6: --no-color, and NO_COLOR of no-color.org). */
static void outputs_env(const struct run_args *a, const struct engine_cfg *cfg, json_t *stats,
                        struct output_env *env)
{
	const char *nc = getenv("NO_COLOR");
	bool color = !a->no_color && !(nc && *nc);
	int64_t planned = 0;
	bool by_iterations = true; /* their duration is a limit, not a plan */
	for (int i = 0; i < cfg->nscen; i++) {
		planned = MAX(planned, cfg->scen[i].start_us + cfg->scen[i].duration_us);
		by_iterations = by_iterations && (cfg->scen[i].executor == EX_SHARED_ITERATIONS ||
		                                  cfg->scen[i].executor == EX_PER_VU_ITERATIONS);
	}
	if (by_iterations)
		planned = 0;
	*env = (struct output_env){
		.planned_us = planned,
		.quiet = a->quiet,
		.stdout_tty = isatty(STDOUT_FILENO),
		.stderr_tty = isatty(STDERR_FILENO),
		.trend_stats = stats,
		.no_color = !color,
	};
	env->color_stdout = color && env->stdout_tty;
}

/* The watched target's pid (monitor_args_start() found or started it), or -1. */
static pid_t profile_target(const struct monitor_args *m)
{
	if (m->child > 0)
		return m->child;
	if (m->pid > 0)
		return m->pid;
	return m->port ? procfs_port_pid(m->port) : -1;
}

/* Start --profile's recording thread on the watched target, for the steady part of the
 * run (profile_run_window). Never NULL: when perf cannot work it says why once, and
 * analyses.profile gets the error. */
static struct profile_run *profile_start(const struct run_args *a, const struct output_env *env)
{
	struct profile_run_opts po = {
		.pid = profile_target(a->mon),
		.hz = (int)(a->profile_hz ? a->profile_hz : PROFILE_HZ_DEFAULT),
		.svg = a->profile_svg,
		.progress = !a->quiet && env->stderr_tty,
	};
	profile_run_window(&a->ta.plan, env->planned_us, &po.from_us, &po.to_us);
	return profile_run_start(&po);
}

/* Open the outputs the flags ask for, run, close them. Returns the exit code. */
/* Whether SIGINT, SIGTERM or SIGHUP is pending (they are blocked in this thread). */
static bool stop_pending(void)
{
	sigset_t p;
	return sigpending(&p) == 0 &&
	       (sigismember(&p, SIGINT) || sigismember(&p, SIGTERM) || sigismember(&p, SIGHUP));
}

/* --coordinator: register, wait at the ready barrier, then sleep until the common start.
 * Returns EXIT_OK with *out, EXIT_INVALID_CONFIG (said why: nothing was sent), or
 * EXIT_INTERRUPTED (a stop signal while waiting). */
static int coordinator_start(const struct run_args *a, struct run_opts *ro,
                             struct coord_client **out)
{
	char err[512], name[300], host[256] = "";
	int64_t start = 0;
	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "instance");
	if (a->seg.whole)
		snprintf(name, sizeof(name), "%s:%ld", host, (long)getpid());
	else
		snprintf(name, sizeof(name), "%s", a->seg.text);
	int64_t timeout =
	    a->coordinator_timeout_us ? a->coordinator_timeout_us : 600 * USEC_PER_SEC;
	if (!a->quiet)
		fprintf(stderr, "stampede: waiting at %s's ready barrier as %s\n", a->coordinator,
		        name);
	for (int i = 0; i < ro->nthr; i++) /* --abort-delay: the coordinator waits for it too */
		if (ro->thr[i].abort_on_fail)
			ro->thr[i].delay_abort_us =
			    MAX(ro->thr[i].delay_abort_us, ro->abort_delay_us);
	int r = coord_client_start_segment(a->coordinator, name, &a->seg, ro->options, ro->thr,
	                                   ro->nthr, timeout, out, &start, err, sizeof(err));
	if (r == -2)
		return EXIT_INTERRUPTED;
	if (r < 0) {
		fprintf(stderr, "stampede: --coordinator %s: %s\n", a->coordinator, err);
		return EXIT_INVALID_CONFIG;
	}
	while (wall_us() < start) { /* the common start, still interruptible */
		if (stop_pending()) {
			coord_client_finish(*out, NULL, EXIT_INTERRUPTED);
			*out = NULL;
			return EXIT_INTERRUPTED;
		}
		int64_t d = MIN(start - wall_us(), 50000);
		struct timespec ts = { 0, (long)MAX(d, 0) * 1000 };
		nanosleep(&ts, NULL);
	}
	ro->remote_abort = coord_client_abort;
	ro->remote_judging = coord_client_judging;
	ro->remote_ctx = *out;
	return EXIT_OK;
}

static int run_with_outputs(const struct run_args *a, struct engine_cfg *cfg, struct run_opts *ro,
                            struct script *sc, json_t *stats)
{
	struct outputs o = { .script = sc, .history = a->history, .history_tag = a->history_tag };
	char err[512];
	int rc;
	outputs_env(a, cfg, stats, &o.env);
	/* the thresholds as outputs see them before the run (struct result_threshold) */
	struct result_threshold *rt = xcalloc((size_t)MAX(ro->nthr, 1), sizeof(*rt));
	struct result_tag *rtags = xcalloc((size_t)MAX(ro->nthr, 1) * TAG_MAX, sizeof(*rtags));
	char(*stat)[32] = xcalloc((size_t)MAX(ro->nthr, 1), sizeof(*stat));
	for (int i = 0; i < ro->nthr; i++) {
		const struct threshold *t = &ro->thr[i];
		int nt = MIN(t->ntags, TAG_MAX);
		for (int j = 0; j < nt; j++)
			rtags[i * TAG_MAX + j] =
			    (struct result_tag){ t->tags[j].key, t->tags[j].value };
		rt[i] = (struct result_threshold){
			.source = t->source,
			.metric = t->metric,
			.selector = t->selector,
			.ntags = nt,
			.tags = &rtags[i * TAG_MAX],
			.expr = t->expr,
			.stat = threshold_agg_name(t, stat[i], sizeof(stat[i])),
			.abort_on_fail = t->abort_on_fail,
			.delay_abort_ms = t->delay_abort_us / 1000,
			.ok = true,
			.value = NAN,
		};
	}
	o.env.thresholds = rt;
	o.env.nthresholds = ro->nthr;
	o.p = pipeline_new(&o.env);
	if (!a->quiet)
		pipeline_add(o.p, &output_progress, "");
	if (!a->no_summary)
		pipeline_add(o.p, &output_summary, "");
	if (a->summary_export) {
		pipeline_add(o.p, &output_k6_export, a->summary_export);
	}
	for (int i = 0; i < a->nouts; i++) {
		if (pipeline_add_spec(o.p, a->outs[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "stampede: --out %s: %s\n", a->outs[i], err);
			pipeline_free(o.p);
			rc = EXIT_INVALID_CONFIG;
			goto out;
		}
	}
	/* Threads that outputs start (writers, the Prometheus server) must not take the stop
	 * signals: block them now, in this thread, before any is created; run_execute()
	 * reads them from a signalfd. */
	cli_block_stop_signals();
	int started = monitor_args_start(a->mon, cfg->target.port);
	if (started < 0) { /* said why; Ctrl-C while --monitor-cmd's target starts is 105 */
		pipeline_free(o.p);
		rc = started == -EINTR ? EXIT_INTERRUPTED : EXIT_INVALID_CONFIG;
		goto out;
	}
	ro->monitor = o.mon = a->mon->mon;
	if (pipeline_open(o.p) < 0) {
		pipeline_free(o.p);
		monitor_args_finish(a->mon);
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}
	if (a->coordinator) { /* the barrier; its thread inherits the blocked signals */
		rc = coordinator_start(a, ro, &o.coord);
		if (rc != EXIT_OK) {
			pipeline_free(o.p);
			monitor_args_finish(a->mon);
			goto out;
		}
	}
	if (a->profile) /* after the stop signals are blocked: its thread inherits the mask */
		o.prof = profile_start(a, &o.env);
	struct run_hooks hooks = { .ctx = &o,
		                   .interval = outputs_interval,
		                   .finish = outputs_finish };
	ro->hooks = &hooks;
	ro->progress = !a->quiet;
	ro->version = STAMPEDE_VERSION;
	rc = run_execute(cfg, ro);
	coord_client_finish(o.coord, NULL, rc);
	profile_run_free(o.prof); /* perf stopped and its data removed, also when unfinished */
	pipeline_free(o.p);
	monitor_args_finish(a->mon);
out:
	free(rt);
	free(rtags);
	free(stat);
	return rc;
}

/* --http2, --http2-prior-knowledge, --http1.1, --streams into cfg. Scripts offer HTTP/2 by
 * ALPN unless --http1.1 (k6 does); quick mode speaks HTTP/1.1 unless told (wrk does). */
static int http2_options(const struct run_args *a, struct engine_cfg *cfg, bool script, bool tls)
{
	cfg->h2 = a->h2 ? (enum h2_mode)(a->h2 - 1) : script ? H2_ALPN : H2_OFF;
	cfg->h2_warn = cfg->h2 != H2_OFF && a->h2; /* asked for by a flag */
	if (a->streams && a->h2 == 1) {
		fprintf(stderr, "stampede: --streams applies to HTTP/2, and --http1.1 turns "
		                "HTTP/2 off: give one of them\n");
		return -1;
	}
	if (!script && !tls && a->h2 == H2_ALPN + 1 && !a->streams)
		fprintf(stderr, "stampede: warning: --http2 offers HTTP/2 by ALPN, on https:// "
		                "only: this http:// run speaks HTTP/1.1 (h2c: "
		                "--http2-prior-knowledge)\n");
	if (a->streams && cfg->h2 == H2_OFF) {
		fprintf(stderr, "stampede: --streams needs HTTP/2: add --http2 (https://) or "
		                "--http2-prior-knowledge (http://)\n");
		return -1;
	}
	if (a->streams && !script && cfg->h2 == H2_ALPN && !tls) {
		fprintf(stderr,
		        "stampede: --streams needs HTTP/2, and --http2 speaks it on https:// "
		        "only: use --http2-prior-knowledge for http:// (h2c)\n");
		return -1;
	}
	cfg->max_streams = (int)a->streams;
	return 0;
}

/* The protocol options in the result's options: http2 ("off", "alpn", "prior-knowledge")
 * and, when given, streams. */
static void http2_echo(const struct engine_cfg *cfg, json_t *o)
{
	static const char *const names[] = { "off", "alpn", "prior-knowledge" };
	json_object_set_new(o, "http2", json_string(names[cfg->h2]));
	if (cfg->max_streams)
		json_object_set_new(o, "streams", json_integer(cfg->max_streams));
}

/* The quick mode's origin: workers look its host up when they open connections. */
static void quick_target(const struct url *u, struct target *t)
{
	t->host = u->host;
	t->port = (uint16_t)strtol(u->port, NULL, 10); /* url_parse checked 1-65535 */
	t->tls = u->tls;
	t->key = NULL;
}

/* The DNS options: k6's defaults, then the script's options.dns (opts, NULL in quick mode),
 * then --dns and --dns-server. Returns 0 or -EINVAL after printing why. */
static int dns_options(const struct run_args *a, json_t *opts, struct resolver_opts *o)
{
	char err[256];
	resolver_opts_init(o);
	if (opts && script_dns_options(opts, o) < 0)
		return -EINVAL;
	if (a->dns && resolver_opts_parse(a->dns, o, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: --dns: %s\n", err);
		return -EINVAL;
	}
	o->servers = a->dns_servers[0] ? a->dns_servers : NULL;
	return 0;
}

/* --io: the backend the workers will use. auto takes io_uring when a ring can be set up
 * here (not under a seccomp profile that forbids io_uring_setup(2), nor with sysctl
 * kernel.io_uring_disabled=2), else epoll, silently; io_uring that cannot be set up is an
 * error naming the reason. Returns 0 or -EINVAL. */
static int resolve_io(const struct run_args *a, struct engine_cfg *cfg)
{
	if (a->io == LOOP_IO_EPOLL) { /* the default: no ring is set up to find out */
		cfg->io = LOOP_IO_EPOLL;
		return 0;
	}
	int rc = loop_backend_probe(LOOP_IO_URING);
	if (a->io == LOOP_IO_AUTO && rc < 0) {
		cfg->io = LOOP_IO_EPOLL;
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "stampede: --io io_uring: io_uring is not available here: %s\n",
		        strerror(-rc));
		return -EINVAL;
	}
	cfg->io = LOOP_IO_URING;
	return 0;
}

/* The execution segment of the flags, else of the script's options (opts; NULL in quick
 * mode), applied to every scenario of cfg (engine/segment.h). Returns 0 or -EINVAL with
 * the reason printed. */
static int apply_segment(struct run_args *a, json_t *opts, struct engine_cfg *cfg)
{
	const char *seg = a->segment, *seq = a->segment_seq;
	char err[256];
	if (opts) { /* k6: options.executionSegment(Sequence); each flag wins over its own */
		json_t *v = json_object_get(opts, "executionSegment");
		json_t *q = json_object_get(opts, "executionSegmentSequence");
		if ((v && !json_is_string(v) && !json_is_null(v)) ||
		    (q && !json_is_string(q) && !json_is_null(q))) {
			fprintf(stderr,
			        "stampede: invalid options.%s: expected a string such as "
			        "\"1/4:1/2\" (a sequence: \"0,1/4,1/2,3/4,1\")\n",
			        v && !json_is_string(v) && !json_is_null(v)
			            ? "executionSegment"
			            : "executionSegmentSequence");
			return -EINVAL;
		}
		if (!seg)
			seg = json_string_value(v);
		if (!seq)
			seq = json_string_value(q);
	}
	if (exec_segment_init(&a->seg, seg, seq, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: %s '%.80s'%s%.80s%s: %s\n",
		        a->segment ? "--execution-segment" : "options.executionSegment",
		        seg ? seg : "", seq ? " (sequence '" : "", seq ? seq : "", seq ? "')" : "",
		        err);
		return -EINVAL;
	}
	if (a->seg.whole)
		return 0;
	if (!seq)
		fprintf(stderr,
		        "stampede: warning: --execution-segment %s without a sequence: this "
		        "instance deals out the load as if the sequence were %s; give every "
		        "instance the same --execution-segment-sequence, or their shares will "
		        "not add up exactly (docs/distributed.md)\n",
		        a->seg.text, a->seg.sequence);
	for (int i = 0; i < cfg->nscen; i++) {
		struct scenario *sc = &cfg->scen[i];
		scenario_segment(sc, &a->seg);
		if (sc->model == MODEL_OPEN && sc->max_vus == 0)
			fprintf(stderr,
			        "stampede: warning: segment %s gets none of the VUs of scenario "
			        "'%s': its share of the arrivals will all be dropped (give the "
			        "scenario at least as many maxVUs as there are segments)\n",
			        a->seg.text, sc->name);
		else if (sc->model == MODEL_CLOSED && !sc->lifecycle && scenario_max_vus(sc) == 0)
			fprintf(stderr,
			        "stampede: warning: segment %s gets none of the VUs of scenario "
			        "'%s': this instance runs nothing of it (the other segments run "
			        "all of its load; give the scenario at least as many VUs as there "
			        "are segments for every instance to take a share)\n",
			        a->seg.text, sc->name);
	}
	if (!a->quiet)
		fprintf(stderr,
		        "stampede: execution segment %s of %s: this instance runs %.4g%% of the "
		        "load\n",
		        a->seg.text, a->seg.sequence, 100 * exec_segment_fraction(&a->seg));
	return 0;
}

/* options.executionSegment(Sequence), as the segment was understood (canonical). */
static void segment_options(const struct run_args *a, json_t *o)
{
	if (a->seg.whole)
		return;
	json_object_set_new(o, "executionSegment", json_string(a->seg.text));
	json_object_set_new(o, "executionSegmentSequence", json_string(a->seg.sequence));
}

static json_t *options_json(const struct run_args *a, const struct engine_cfg *cfg)
{
	const struct scenario *sc = &cfg->scen[0];
	char d[32];
	json_t *o = json_object();
	json_object_set_new(o, "url", json_string(a->url));
	json_object_set_new(o, "method", json_string(cfg->req.method));
	json_object_set_new(o, "executor", json_string(executor_name(sc->executor)));
	json_object_set_new(o, "model", json_string(sc->model == MODEL_OPEN ? "open" : "closed"));
	json_object_set_new(o, "vus", json_integer(a->seg.whole ? sc->vus : a->whole_vus));
	if (sc->model == MODEL_OPEN) {
		/* a preset's rate is the expected level (its stages start from 0) */
		json_object_set_new(
		    o, "rate", json_real(a->ta.plan.type != TT_NONE ? a->ta.plan.level : a->rate));
		json_object_set_new(o, "maxVUs",
		                    json_integer(a->seg.whole ? sc->max_vus : a->whole_max_vus));
		json_object_set_new(o, "arrival", json_string(sc->poisson ? "poisson" : "uniform"));
		json_object_set_new(o, "arrivalWindow",
		                    json_string(format_duration(cfg->arrival_window_us, d, 32)));
	}
	json_object_set_new(o, "duration",
	                    json_string(format_duration(sc->duration_us, d, sizeof(d))));
	if (a->iterations)
		json_object_set_new(o, "iterations", json_integer(a->iterations));
	if (a->stages)
		json_object_set_new(o, "stages", json_string(a->stages));
	json_object_set_new(o, "threads", json_integer(cfg->threads));
	json_object_set_new(o, "io", json_string(loop_backend_name(cfg->io)));
	http2_echo(cfg, o);
	json_object_set_new(o, "timeout", json_string(format_duration(cfg->timeout_us, d, 32)));
	json_t *th = json_array();
	for (int i = 0; i < a->nthr; i++)
		json_array_append_new(th, json_string(a->thr[i].source));
	json_object_set_new(o, "thresholds", th);
	type_args_options(&a->ta, o);
	monitor_args_options(a->mon, o);
	profile_options(a, o);
	if (cfg->scen[0].ntags) {
		json_t *tags = json_object();
		for (int i = 0; i < cfg->scen[0].ntags; i++)
			json_object_set_new(tags, cfg->scen[0].tags[i].key,
			                    json_string(cfg->scen[0].tags[i].value));
		json_object_set_new(o, "tags", tags);
	}
	if (a->trend_stats)
		json_object_set(o, "summaryTrendStats", a->trend_stats);
	segment_options(a, o);
	return o;
}

/* The quick mode's single scenario, with the k6 executor its flags describe. */
static int quick_scenario(struct run_args *a, struct scenario *sc)
{
	char err[512];
	struct stage *stages = NULL;
	int nstages = 0;

	sc->name = xstrdup("default");
	sc->exec = xstrdup("default");
	if (a->ta.plan.type != TT_NONE) { /* the preset's own stages: rates need not be whole */
		nstages = a->ta.plan.nstages;
		stages = xmalloc(sizeof(*stages) * (size_t)nstages);
		memcpy(stages, a->ta.plan.stage, sizeof(*stages) * (size_t)nstages);
	} else if (a->stages &&
	           sched_parse_stages(a->stages, &stages, &nstages, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: --stages: %s\n", err);
		return -EINVAL;
	}
	if (a->stages && a->duration_set) {
		free(stages);
		fprintf(stderr, "stampede: --stages and --duration cannot be combined: the stages "
		                "set the length\n");
		return -EINVAL;
	}
	int64_t duration = a->duration_set ? a->duration_us : DEFAULT_DURATION_US;
	if (a->iterations && !a->duration_set)
		duration = ITERATIONS_MAX_DURATION_US;
	if (!a->stages && duration <= 0) {
		fprintf(stderr, "stampede: invalid --duration: must be more than 0\n");
		return -EINVAL;
	}
	sc->graceful_stop_us = a->grace_us;
	sc->graceful_ramp_down_us = a->grace_us;
	sc->model = a->rate_set ? MODEL_OPEN : MODEL_CLOSED;
	sc->poisson = a->poisson;
	if (sc->model == MODEL_OPEN) {
		if (a->sleep_us) {
			free(stages);
			fprintf(stderr,
			        "stampede: --sleep applies to the closed model only (the open "
			        "model starts iterations at their intended times)\n");
			return -EINVAL;
		}
		if (!a->stages && a->rate <= 0) {
			free(stages);
			fprintf(stderr, "stampede: invalid --rate '%g': must be more than 0\n",
			        a->rate);
			return -EINVAL;
		}
		if (stages) {
			sched_ramp(&sc->sched, a->rate, stages, nstages);
			sc->executor = EX_RAMPING_ARRIVAL_RATE;
		} else {
			sched_constant(&sc->sched, a->rate, duration);
			sc->executor = EX_CONSTANT_ARRIVAL_RATE;
		}
		int64_t pre =
		    a->vus_set ? a->vus : (int64_t)MIN(MAX(sched_max(&sc->sched), 1), 100);
		if (!a->vus_set && a->max_vus) /* the default never exceeds an explicit cap */
			pre = MIN(pre, a->max_vus);
		sc->vus = (int)pre;
		sc->max_vus = (int)(a->max_vus ? a->max_vus : MAX(pre, 1000));
		if (sc->max_vus < sc->vus) {
			fprintf(stderr, "stampede: --max-vus %d is less than --vus %d\n",
			        sc->max_vus, sc->vus);
			return -EINVAL;
		}
	} else {
		const char *open_only = a->max_vus                  ? "--max-vus"
		                        : a->arrival_window_us >= 0 ? "--arrival-window"
		                        : a->poisson                ? "--arrival poisson"
		                                                    : NULL;
		if (open_only) {
			free(stages);
			fprintf(stderr, "stampede: %s applies to the open model (--rate) only\n",
			        open_only);
			return -EINVAL;
		}
		int64_t vus = a->vus_set ? a->vus : 1;
		if (stages) {
			sched_ramp(&sc->sched, (double)vus, stages, nstages);
			sc->executor = EX_RAMPING_VUS;
		} else {
			if (vus < 1) {
				fprintf(stderr,
				        "stampede: invalid --vus '0': must be at least 1\n");
				return -EINVAL;
			}
			if (a->iterations && a->iterations < vus)
				vus = a->iterations;
			sched_constant(&sc->sched, (double)vus, duration);
			sc->executor = a->iterations ? EX_SHARED_ITERATIONS : EX_CONSTANT_VUS;
		}
		sc->vus = (int)vus;
		if (sched_max(&sc->sched) < 1) {
			fprintf(stderr, "stampede: the stages never have a VU: nothing to run\n");
			return -EINVAL;
		}
	}
	sc->duration_us = sc->sched.total_us;
	sc->iterations = a->iterations;
	sc->sleep_us = a->sleep_us;
	return 0;
}

/* Turn validated flags into an engine configuration. */
static int configure(struct run_args *a, struct engine_cfg *cfg, struct url *u)
{
	char err[512];
	int64_t nproc = sysconf(_SC_NPROCESSORS_ONLN);

	if (!a->url) {
		fprintf(stderr, "stampede: missing --url (or a script; see 'stampede help run')\n");
		return -EINVAL;
	}
	if (url_parse(a->url, u, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: %s\n", err);
		return -EINVAL;
	}
	if (a->body_len && a->method == NULL)
		a->method = "POST";
	struct request_spec spec = { .method = a->method,
		                     .url = u,
		                     .headers = a->headers,
		                     .nheaders = a->nheaders,
		                     .body = a->body,
		                     .body_len = a->body_len };
	if (request_build(&spec, &cfg->req, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: %s\n", err);
		return -EINVAL;
	}
	quick_target(u, &cfg->target);
	if (dns_options(a, NULL, &cfg->dns) < 0)
		return -EINVAL;
	cfg->verify = !a->insecure;
	if (http2_options(a, cfg, false, u->tls) < 0)
		return -EINVAL;
	if (u->tls && tls_ctx_new(&cfg->tls_ctx, cfg->verify, a->cacert, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: %s\n", err);
		return -EINVAL;
	}
	cfg->scen = xcalloc(1, sizeof(*cfg->scen));
	cfg->nscen = 1;
	if (quick_scenario(a, &cfg->scen[0]) < 0)
		return -EINVAL;
	cfg->body = &quick_body;
	a->whole_vus = cfg->scen[0].vus;
	a->whole_max_vus = cfg->scen[0].max_vus;
	if (apply_segment(a, NULL, cfg) < 0)
		return -EINVAL;
	int64_t threads = a->threads ? a->threads : MAX(nproc, 1);
	cfg->threads = (int)MAX(1, MIN(threads, scenario_max_vus(&cfg->scen[0])));
	if (a->streams > 1 && !a->threads) /* each thread's VUs share connections N by N */
		cfg->threads = (int)MAX(
		    1, MIN(cfg->threads,
		           (scenario_max_vus(&cfg->scen[0]) + a->streams - 1) / a->streams));
	cfg->timeout_us = a->timeout_us ? a->timeout_us : 60 * USEC_PER_SEC;
	cfg->connect_timeout_us = a->connect_timeout_us ? a->connect_timeout_us : 10 * USEC_PER_SEC;
	cfg->body_max = a->body_max; /* 0: the default */
	cfg->late_tolerance_us = 1000;
	cfg->arrival_window_us = arrival_window(a);
	cfg->http_debug = a->http_debug;
	if (resolve_io(a, cfg) < 0)
		return -EINVAL;
	struct scenario *sc = &cfg->scen[0]; /* --tag: on every sample (k6's run tags) */
	for (int i = 0; i < a->ntags; i++) {
		const char *eq = strchr(a->tags[i], '=');
		char *k = xstrndup(a->tags[i], (size_t)(eq - a->tags[i]));
		int j = 0;
		while (j < sc->ntags && strcmp(sc->tags[j].key, k))
			j++;
		if (j == sc->ntags) {
			sc->tags = xrealloc(sc->tags, sizeof(*sc->tags) * (size_t)(sc->ntags + 1));
			sc->tags[sc->ntags++] = (struct tag){ k, xstrdup(eq + 1) };
		} else { /* a later --tag with the same name wins */
			free(k);
			free((char *)sc->tags[j].value);
			sc->tags[j].value = xstrdup(eq + 1);
		}
	}
	cfg->seed = a->seed ? a->seed : (uint64_t)wall_us();
	return 0;
}

static json_t *override_options(struct run_args *a, json_t *opts)
{
	json_t *o = json_deep_copy(opts);
	if (a->trend_stats)
		json_object_set(o, "summaryTrendStats", a->trend_stats);
	if (a->no_thresholds)
		json_object_del(o, "thresholds");
	type_args_options(&a->ta, o);
	monitor_args_options(a->mon, o);
	bool shortcut = a->vus_set || a->duration_set || a->iterations || a->stages;
	if (!shortcut)
		return o;
	/* As in k6, these flags describe the workload: they replace the script's. */
	json_object_del(o, "scenarios");
	json_object_del(o, "stages");
	json_object_del(o, "iterations");
	json_object_del(o, "duration");
	if (a->vus_set)
		json_object_set_new(o, "vus", json_integer(a->vus));
	if (a->duration_set)
		json_object_set_new(o, "duration", json_integer(a->duration_us / 1000));
	if (a->iterations)
		json_object_set_new(o, "iterations", json_integer(a->iterations));
	if (a->stages) {
		struct stage *st;
		int n;
		char err[256];
		if (sched_parse_stages(a->stages, &st, &n, err, sizeof(err)) < 0) {
			fprintf(stderr, "stampede: --stages: %s\n", err);
			json_decref(o);
			return NULL;
		}
		json_t *arr = json_array();
		for (int i = 0; i < n; i++) {
			json_t *e = json_object();
			json_object_set_new(e, "duration", json_integer(st[i].duration_us / 1000));
			json_object_set_new(e, "target", json_integer((json_int_t)st[i].target));
			json_array_append_new(arr, e);
		}
		free(st);
		json_object_set_new(o, "stages", arr);
	}
	return o;
}

/* Set by cmd_run_check(): parse and check every flag, build the configuration, send
 * nothing. */
static bool check_only;

/* The SHA-256 of the regular file at path, in hex (65 bytes with the NUL). 0, or -1 when
 * it is not a regular file or cannot be read (then no hash is recorded). */
static int script_sha256(const char *path, char out[2 * 32 + 1])
{
	char *body = NULL;
	size_t len = 0;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || /* a FIFO is read once */
	    read_file_max(path, 64u << 20, &body, &len) < 0)
		return -1;
	int ok = EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL) && mdlen == 32;
	free(body);
	if (!ok)
		return -1;
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* `stampede run SCRIPT.lua`: the script's options (with the flags' overrides) and body. */
static int run_script(struct run_args *a, const char *path)
{
	struct script *sc = NULL;
	struct engine_cfg cfg = { 0 };
	struct threshold *thr = NULL;
	int nthr = 0, rc;
	char err[512];

	if (a->url || a->rate_set || a->body || a->nheaders || a->method) {
		fprintf(stderr, "stampede: --url, --rate, -X, -H and --body are for quick runs; a "
		                "script says what to request\n");
		return EXIT_INVALID_CONFIG;
	}
	size_t plen = strlen(path);
	if (!strcmp(path, "-")) { /* k6 reads a script from stdin; stampede needs a file */
		fprintf(stderr, "stampede: a script from stdin ('-') is not supported: give its "
		                "file\n");
		return EXIT_INVALID_CONFIG;
	}
	static const char *const js[] = { ".js", ".mjs", ".cjs", ".ts" };
	bool is_js = false;
	for (size_t i = 0; i < ARRAY_SIZE(js); i++)
		is_js =
		    is_js || (plen > strlen(js[i]) && !strcmp(path + plen - strlen(js[i]), js[i]));
	if (is_js) {
		fprintf(stderr,
		        "stampede: '%s': stampede runs Lua scripts, not k6's JavaScript "
		        "(docs/scripting.md maps k6's API to Lua: http.get, check, group, "
		        "options are the same)\n",
		        path);
		return EXIT_INVALID_CONFIG;
	}
	/* Stop signals stay pending from here on: init code sees them (script_load), and the
	 * run's signalfd takes them over. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	int e = script_load(path, a->env, a->nenv, &sc);
	if (e < 0)
		return e == -EINTR ? EXIT_INTERRUPTED : EXIT_SCRIPT_ERROR;
	json_t *opts = override_options(a, sc->options);
	if (!opts) {
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}
	/* k6: --tag replaces options.tags (lib/options.go Apply); script_scenarios() puts the
	 * run tags on every scenario (a scenario's own tag of the same name wins) */
	if (script_cli_tags(opts, a->tags, a->ntags) < 0 ||
	    script_scenarios(sc, opts, &cfg.scen, &cfg.nscen, &thr, &nthr) < 0) {
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}
	if (a->grace_set) /* the flag wins over every scenario's gracefulStop */
		for (int i = 0; i < cfg.nscen; i++)
			cfg.scen[i].graceful_stop_us = a->grace_us;
	if (dns_options(a, opts, &cfg.dns) < 0) {
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}
	if (script_body_max(opts, &cfg.body_max) < 0) { /* options.maxResponseBodySize */
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}
	for (int i = 0; i < a->nthr && !a->no_thresholds; i++) { /* they add to the script's */
		thr = xrealloc(thr, sizeof(*thr) * (size_t)(nthr + 1));
		thr[nthr++] = a->thr[i];
		a->thr[i] = (struct threshold){ 0 };
	}
	if (abort_delay_unused(a, thr, nthr)) {
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}
	cfg.verify = !a->insecure && !json_is_true(json_object_get(opts, "insecureSkipTLSVerify"));
	if (http2_options(a, &cfg, true, true) < 0) {
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}
	if (tls_ctx_new(&cfg.tls_ctx, cfg.verify, a->cacert, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede: %s\n", err);
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}
	if (apply_segment(a, opts, &cfg) < 0) {
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}
	if (check_only) { /* loaded (its init code ran) and its options checked */
		rc = 0;
		goto out;
	}
	cfg.body = &script_body;
	cfg.body_ctx = sc;
	cfg.body_worker_free = script_worker_free;
	int most = 0;
	for (int i = 0; i < cfg.nscen; i++)
		most += scenario_max_vus(&cfg.scen[i]);
	int64_t nproc = sysconf(_SC_NPROCESSORS_ONLN);
	int64_t threads = a->threads ? a->threads : MAX(nproc, 1);
	cfg.threads = (int)MAX(1, MIN(threads, most));
	cfg.timeout_us = a->timeout_us ? a->timeout_us : 60 * USEC_PER_SEC;
	cfg.connect_timeout_us = a->connect_timeout_us ? a->connect_timeout_us : 10 * USEC_PER_SEC;
	if (a->body_max) /* the flag wins over the script's maxResponseBodySize */
		cfg.body_max = a->body_max;
	cfg.late_tolerance_us = 1000;
	cfg.arrival_window_us = arrival_window(a);
	cfg.seed = a->seed ? a->seed : (uint64_t)wall_us();

	json_t *stats = json_object_get(opts, "summaryTrendStats");
	if (stats && !trend_stats_valid(stats)) {
		fprintf(stderr, "stampede: invalid options.summaryTrendStats: expected a list of "
		                "avg, min, med, max, count or p(N)\n");
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}
	if (script_http_debug(opts, &cfg.http_debug) < 0) { /* options.httpDebug */
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}
	if (a->http_debug) /* the flag wins over options.httpDebug */
		cfg.http_debug = a->http_debug;
	if (resolve_io(a, &cfg) < 0) {
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}
	json_t *echo = json_deep_copy(opts);
	json_object_set_new(echo, "script", json_string(path));
	char sha[2 * 32 + 1];
	if (script_sha256(path, sha) == 0) /* what the script held: merge compares it */
		json_object_set_new(echo, "scriptSha256", json_string(sha));
	json_object_set_new(echo, "threads", json_integer(cfg.threads));
	json_object_set_new(echo, "io", json_string(loop_backend_name(cfg.io)));
	http2_echo(&cfg, echo);
	profile_options(a, echo); /* not in opts: a script's own options.profile is refused */
	segment_options(a, echo);
	struct run_opts ro = {
		.thr = thr,
		.nthr = nthr,
		.abort_delay_us = a->abort_delay_us,
		.options = echo,
		.script = sc,
		.trend_stats = stats,
		.setup_timeout_us = 60 * USEC_PER_SEC,
		.teardown_timeout_us = 60 * USEC_PER_SEC,
	};
	struct {
		const char *key;
		int64_t *out;
	} lt[] = { { "setupTimeout", &ro.setup_timeout_us },
		   { "teardownTimeout", &ro.teardown_timeout_us } };
	for (size_t i = 0; i < ARRAY_SIZE(lt); i++) {
		json_t *v = json_object_get(opts, lt[i].key);
		if (json_is_string(v) && parse_duration(json_string_value(v), lt[i].out) < 0) {
			fprintf(stderr, "stampede: invalid options.%s\n", lt[i].key);
			json_decref(echo);
			rc = EXIT_INVALID_CONFIG;
			goto out;
		}
	}
	rc = run_with_outputs(a, &cfg, &ro, sc, stats);
	json_decref(echo);
out:
	json_decref(opts);
	for (int i = 0; i < nthr; i++)
		threshold_free(&thr[i]);
	free(thr);
	for (int i = 0; i < cfg.nscen; i++)
		scenario_free(&cfg.scen[i]);
	free(cfg.scen);
	if (cfg.tls_ctx)
		tls_ctx_free(cfg.tls_ctx);
	script_free(sc);
	return rc;
}

int cmd_run_check(int argc, char **argv)
{
	check_only = true;
	int rc = cmd_run(argc, argv);
	check_only = false;
	return rc;
}

int cmd_run(int argc, char **argv)
{
	/* epoll by default: io_uring's submissions batched per loop turn delay a request's
	 * bytes by the rest of the turn (tens of µs in an open-model batch), which its
	 * duration then includes; its CPU saving is 4-10% (docs/cli.md, --io) */
	struct monitor_args mon = { 0 };
	struct run_args a = { .seg = { .whole = true },
		              .mon = &mon,
		              .grace_us = 30 * USEC_PER_SEC,
		              .arrival_window_us = -1,
		              .io = LOOP_IO_EPOLL };
	struct engine_cfg cfg = { 0 };
	struct url u = { 0 };
	int rc = EXIT_INVALID_CONFIG, c;

	opterr = 0;
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":u:c:d:i:s:t:X:H:qe:o:", long_opts, NULL)) != -1) {
		if (c == OPT_HELP) {
			cmd_run_usage();
			rc = 0;
			goto out;
		}
		if (c == '?' || c == ':') {
			cli_opt_report("run");
			goto out;
		}
		if (parse_one(&a, c, optarg) < 0)
			goto out;
	}
	if (optind < argc && access(argv[optind], F_OK) != 0 && /* a file there is a script */
	    cli_positional_url_hint(argv[optind])) {
		fprintf(stderr, "%s\n", cli_positional_url_hint(argv[optind]));
		goto out;
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "stampede: unexpected argument '%s' (one script at a time)\n",
		        argv[optind + 1]);
		goto out;
	}
	if (apply_type_and_slo(&a, optind < argc) < 0 || check_profile(&a) < 0)
		goto out;
	/* a check makes no history file: one that exists is checked, a new one's place */
	if ((!check_only || (a.history && access(a.history, F_OK) == 0)) && check_history(&a) < 0)
		goto out;
	if (check_only) {
		char err[PATH_MAX + 256];
		if (a.history && access(a.history, F_OK) != 0 &&
		    outfile_check(a.history, err, sizeof(err)) < 0) {
			fprintf(stderr, "stampede: --history: %s\n", err);
			goto out;
		}
		if (monitor_args_check(a.mon) < 0) /* the target is there, nothing started */
			goto out;
	}
	if (optind < argc) {
		rc = run_script(&a, argv[optind]);
		goto out;
	}
	if (abort_delay_unused(&a, a.thr, a.no_thresholds ? 0 : a.nthr))
		goto out;
	if (configure(&a, &cfg, &u) < 0)
		goto out;
	if (check_only) {
		rc = 0;
		goto out;
	}

	json_t *opts = options_json(&a, &cfg);
	struct run_opts ro = {
		.thr = a.thr,
		.nthr = a.no_thresholds ? 0 : a.nthr,
		.trend_stats = a.trend_stats,
		.abort_delay_us = a.abort_delay_us,
		.options = opts,
	};
	rc = run_with_outputs(&a, &cfg, &ro, NULL, a.trend_stats);
	json_decref(opts);
out:
	for (int i = 0; i < a.nthr; i++)
		threshold_free(&a.thr[i]);
	free(a.thr);
	free(a.headers);
	free(a.env);
	free(a.outs);
	free(a.tags);
	free(a.stages);
	free(a.profile_svg);
	type_args_free(&a.ta);
	exec_segment_free(&a.seg);
	json_decref(a.trend_stats);
	free(a.body);
	request_free(&cfg.req);
	for (int i = 0; i < cfg.nscen; i++)
		scenario_free(&cfg.scen[i]);
	free(cfg.scen);
	if (cfg.tls_ctx)
		tls_ctx_free(cfg.tls_ctx);
	url_free(&u);
	return rc;
}
