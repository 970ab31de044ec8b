/* cmd_serve_demo.c: `stampede serve-demo [flags]`: the demo system under test. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "demo/demo.h"
#include "engine/run.h"
#include "util/outfile.h"

/* The command's simulated database: 1 ms per query gives the API a known capacity (about
 * workers / 1 ms = 4,000 responses/s with the defaults), so a breakpoint test finds one.
 * demo_config_defaults() keeps 0 for in-process users (quickstart, tests, fuzzers). */
#define SERVE_QUERY_LATENCY "1ms"

void cmd_serve_demo_usage(void)
{
	printf("usage: stampede serve-demo [flags]\n\n"
	       "A small HTTP/1.1 JSON API with known behaviour, to load and to analyse\n"
	       "(endpoints, knobs and metrics: docs/demo.md), with WebSocket endpoints\n"
	       "(/ws/echo, /ws/chat) and, with --http2, HTTP/2 on the same port.\n\n"
	       "server:\n"
	       "      --host H              listen address (default 127.0.0.1)\n"
	       "      --port N              listen port, 0 for a free one (default 8080)\n"
	       "      --tls                 HTTPS, with a self-signed certificate made at start\n"
	       "                            (127.0.0.1, localhost, ::1; valid 7 days)\n"
	       "      --write-ca FILE       with --tls: write that certificate (PEM) to FILE,\n"
	       "                            for clients' --cacert\n"
	       "      --http2               HTTP/2 as well: h2c with prior knowledge on the\n"
	       "                            plain port, ALPN h2 (then http/1.1) with --tls\n"
	       "      --workers N           worker threads (default 4)\n"
	       "      --queue N             requests that may wait for a worker; more get 503\n"
	       "                            (default 1024)\n"
	       "      --max-connections N   more open connections get 503 (default 10000)\n"
	       "      --request-timeout D   slow clients get 408 (default 10s)\n"
	       "      --idle-timeout D      idle keep-alive connections are closed (default 60s)\n"
	       "      --shutdown-timeout D  SIGTERM: time in-flight requests get (default 10s)\n"
	       "behaviour (also changeable at run time with POST /admin/config):\n"
	       "      --query-latency D     time per simulated database query (default 1ms)\n"
	       "      --cpu-us N            CPU microseconds burned per API request (default 0)\n"
	       "      --n-plus-one          /api/users/{id}/orders: one query per order\n"
	       "      --cache-ttl D         cache product reads for D, with request coalescing\n"
	       "      --leak-bytes N        leak N bytes per API request\n"
	       "      --stall EVERY:FOR     stop answering for FOR every EVERY (e.g. 10s:500ms)\n"
	       "      --error-rate F        answer this fraction of API requests with 500\n"
	       "      --latency-drift D[/P] every API request waits D more per minute (or per\n"
	       "                            period P) since the start or the last change,\n"
	       "                            up to 10s: 2ms = 2ms/min, 50ms/2s; 'off' (default)\n\n"
	       "Durations take units: 250us 10ms 2s 1m. Stop it with SIGTERM or Ctrl-C.\n");
}

enum { OPT_HELP = 256, OPT_KNOB, OPT_TLS, OPT_WRITE_CA, OPT_HTTP2 };

/* Every long option but --help, --tls, --http2 and --write-ca is a knob of the same name
 * (demo_config_set). */
static const struct option long_opts[] = {
	{ "host", required_argument, NULL, OPT_KNOB },
	{ "port", required_argument, NULL, OPT_KNOB },
	{ "workers", required_argument, NULL, OPT_KNOB },
	{ "queue", required_argument, NULL, OPT_KNOB },
	{ "query-latency", required_argument, NULL, OPT_KNOB },
	{ "cpu-us", required_argument, NULL, OPT_KNOB },
	{ "n-plus-one", no_argument, NULL, OPT_KNOB },
	{ "cache-ttl", required_argument, NULL, OPT_KNOB },
	{ "leak-bytes", required_argument, NULL, OPT_KNOB },
	{ "stall", required_argument, NULL, OPT_KNOB },
	{ "error-rate", required_argument, NULL, OPT_KNOB },
	{ "latency-drift", required_argument, NULL, OPT_KNOB },
	{ "max-connections", required_argument, NULL, OPT_KNOB },
	{ "request-timeout", required_argument, NULL, OPT_KNOB },
	{ "idle-timeout", required_argument, NULL, OPT_KNOB },
	{ "shutdown-timeout", required_argument, NULL, OPT_KNOB },
	{ "tls", no_argument, NULL, OPT_TLS },
	{ "http2", no_argument, NULL, OPT_HTTP2 },
	{ "write-ca", required_argument, NULL, OPT_WRITE_CA },
	{ "help", no_argument, NULL, OPT_HELP },
	{ 0 },
};

int cmd_serve_demo(int argc, char **argv)
{
	struct demo_config cfg;
	const char *ca_path = NULL;
	char err[512];
	int c, idx;

	demo_config_defaults(&cfg);
	if (demo_config_set(&cfg, "query-latency", SERVE_QUERY_LATENCY, err, sizeof(err)) < 0)
		return EXIT_INVALID_CONFIG; /* not reached: a valid constant */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", long_opts, &idx)) != -1) {
		if (c == OPT_HELP || c == 'h') {
			cmd_serve_demo_usage();
			return 0;
		}
		if (c == '?') {
			/* optopt: a short option, or the value of a long one given a value
			 * that it does not take ("--tls=yes") */
			if (optopt > 0 && optopt < 128 && isprint(optopt))
				fprintf(stderr, "stampede serve-demo: unknown option '-%c'\n",
				        optopt);
			else if (optopt)
				fprintf(stderr,
				        "stampede serve-demo: '%s': this option takes no "
				        "value\n",
				        argv[optind - 1]);
			else
				fprintf(stderr, "stampede serve-demo: unknown option '%s'\n",
				        argv[optind - 1]);
			fprintf(stderr, "see 'stampede serve-demo --help'\n");
			return EXIT_INVALID_CONFIG;
		}
		if (c == ':') {
			fprintf(stderr, "stampede serve-demo: option '%s' needs a value\n",
			        argv[optind - 1]);
			return EXIT_INVALID_CONFIG;
		}
		if (c == OPT_TLS) {
			cfg.tls = true;
			continue;
		}
		if (c == OPT_HTTP2) {
			cfg.http2 = true;
			continue;
		}
		if (c == OPT_WRITE_CA) {
			ca_path = optarg;
			continue;
		}
		const char *name = long_opts[idx].name;
		const char *value = long_opts[idx].has_arg ? optarg : "true";
		if (demo_config_set(&cfg, name, value, err, sizeof(err)) < 0) {
			fprintf(stderr, "stampede serve-demo: invalid --%s '%s': %s\n", name, value,
			        err);
			return EXIT_INVALID_CONFIG;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "stampede serve-demo: unexpected argument '%s'\n", argv[optind]);
		return EXIT_INVALID_CONFIG;
	}
	if (ca_path && !cfg.tls) {
		fprintf(stderr, "stampede serve-demo: --write-ca needs --tls (there is no "
		                "certificate without it)\n");
		return EXIT_INVALID_CONFIG;
	}
	if (ca_path && outfile_check(ca_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "stampede serve-demo: invalid --write-ca: %s\n", err);
		return EXIT_INVALID_CONFIG;
	}
	return demo_server_run(&cfg, ca_path);
}
