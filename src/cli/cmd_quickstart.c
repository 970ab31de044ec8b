/* cmd_quickstart.c: `stampede quickstart`: the demo target, a short realistic test, a report. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "demo/demo.h"
#include "engine/run.h"
#include "util/common.h"

/* The bundled test: a smoke phase, then a ramping load of users who log in, list products,
 * view one and place an order, judged by thresholds on p95 and the error rate. */
static const char quickstart_lua[] =
    "-- quickstart.lua: the test `stampede quickstart` runs against `stampede serve-demo`.\n"
    "-- Run it again yourself: stampede serve-demo --port 8080 &\n"
    "--                        stampede run quickstart.lua -e BASE_URL=http://127.0.0.1:8080\n"
    "local http = require \"stampede.http\"\n"
    "local json = require \"stampede.json\"\n"
    "local metrics = require \"stampede.metrics\"\n"
    "local check, group, sleep = stampede.check, stampede.group, stampede.sleep\n"
    "\n"
    "local BASE = stampede.env.BASE_URL or \"http://127.0.0.1:8080\"\n"
    "local orders = metrics.counter(\"orders_placed\")\n"
    "\n"
    "options = {\n"
    "  scenarios = {\n"
    "    smoke = { executor = \"constant-vus\", vus = 2, duration = \"5s\" },\n"
    "    load = {\n"
    "      executor = \"ramping-vus\", startTime = \"5s\", startVUs = 0,\n"
    "      stages = {\n"
    "        { duration = \"5s\", target = 20 },  -- ramp up\n"
    "        { duration = \"12s\", target = 20 }, -- hold\n"
    "        { duration = \"3s\", target = 0 },   -- ramp down\n"
    "      },\n"
    "      gracefulRampDown = \"2s\",\n"
    "    },\n"
    "  },\n"
    "  thresholds = {\n"
    "    http_req_duration = { \"p(95)<200\" },\n"
    "    [\"http_req_duration{name:POST /api/orders}\"] = { \"p(95)<300\" },\n"
    "    http_req_failed = { \"rate<0.01\" },\n"
    "    checks = { \"rate>0.99\" },\n"
    "  },\n"
    "}\n"
    "\n"
    "local JSON = { [\"Content-Type\"] = \"application/json\" }\n"
    "\n"
    "function default()\n"
    "  local token\n"
    "  group(\"log in\", function()\n"
    "    local res = http.post(BASE .. \"/api/auth/login\", json.encode({\n"
    "      email = \"user\" .. stampede.vu.id .. \"@test.com\", password = \"testpassword\" }),\n"
    "      { headers = JSON, tags = { name = \"POST /api/auth/login\" } })\n"
    "    check(res, { [\"logged in\"] = function(r) return r.status == 200 end })\n"
    "    token = res.status == 200 and res:json().token\n"
    "  end)\n"
    "  if not token then return end\n"
    "  local auth = { Authorization = \"Bearer \" .. token, [\"Content-Type\"] = "
    "\"application/json\" }\n"
    "  local product\n"
    "  group(\"browse\", function()\n"
    "    local res = http.get(BASE .. \"/api/products?page=\" .. math.random(1, 20) .. "
    "\"&limit=20\",\n"
    "      { tags = { name = \"GET /api/products\" } })\n"
    "    check(res, { [\"products listed\"] = function(r) return r.status == 200 end })\n"
    "    sleep(0.3)\n"
    "    local id = math.random(1, 10000)\n"
    "    res = http.get(BASE .. \"/api/products/\" .. id, { tags = { name = \"GET "
    "/api/products/{id}\" } })\n"
    "    check(res, { [\"product shown\"] = function(r) return r.status == 200 end })\n"
    "    product = id\n"
    "  end)\n"
    "  sleep(0.3)\n"
    "  group(\"order\", function()\n"
    "    local res = http.post(BASE .. \"/api/orders\", json.encode({\n"
    "      productId = product, quantity = math.random(1, 3), shippingAddress = \"1 Main St\" "
    "}),\n"
    "      { headers = auth, tags = { name = \"POST /api/orders\" } })\n"
    "    if check(res, { [\"order placed\"] = function(r) return r.status == 201 end }) then\n"
    "      orders:add(1)\n"
    "    end\n"
    "  end)\n"
    "  sleep(math.random() * 0.5 + 0.5)\n"
    "end\n";

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	size_t n = strlen(text);
	int rc = fwrite(text, 1, n, f) == n ? 0 : -EIO;
	if (fclose(f) != 0 && !rc)
		rc = -errno;
	return rc;
}

int cmd_quickstart(int argc, char **argv)
{
	static const struct option opts[] = { { "out", required_argument, NULL, 'o' },
		                              { "help", no_argument, NULL, 'h' },
		                              { 0 } };
	const char *dir = "results";
	int c;

	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf(
			    "usage: stampede quickstart [--out DIR]\n\n"
			    "Starts the demo target (stampede serve-demo) on a free loopback port, "
			    "runs a\nshort test (a smoke phase, then 20 users logging in, browsing "
			    "and ordering,\nabout 25 s), prints the summary and writes "
			    "DIR/quickstart.lua (the script),\nDIR/quickstart-result.json (the "
			    "result, "
			    "docs/result-format.md) and\nDIR/quickstart-report.html (the HTML "
			    "report) "
			    "(default DIR: results). The exit\ncode is the test's (99 when a "
			    "threshold "
			    "failed).\n");
			return 0;
		}
		if (c == 'o') {
			dir = optarg;
			continue;
		}
		cli_opt_report("quickstart"); /* '?' or ':' */
		return EXIT_INVALID_CONFIG;
	}
	if (optind < argc) {
		fprintf(stderr, "stampede: quickstart: unexpected argument '%s'\n", argv[optind]);
		fprintf(stderr, "see 'stampede help quickstart'\n");
		return EXIT_INVALID_CONFIG;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "stampede: quickstart: cannot create '%s': %s\n", dir,
		        strerror(errno));
		return EXIT_INVALID_CONFIG;
	}
	size_t n = strlen(dir) + 64;
	char *script = xmalloc(n), *result = xmalloc(n + 16), *html = xmalloc(n + 16);
	snprintf(script, n, "%s/quickstart.lua", dir);
	snprintf(result, n + 16, "result=%s/quickstart-result.json", dir);
	snprintf(html, n + 16, "html=%s/quickstart-report.html", dir);
	int rc = write_file(script, quickstart_lua);
	if (rc < 0) {
		fprintf(stderr, "stampede: quickstart: cannot write '%s': %s\n", script,
		        strerror(-rc));
		rc = EXIT_INVALID_CONFIG;
		goto out;
	}

	struct demo_config dc;
	demo_config_defaults(&dc);
	snprintf(dc.host, sizeof(dc.host), "127.0.0.1");
	dc.port = 0;
	dc.query_latency_us = 2000; /* each simulated database query takes 2 ms */
	struct demo_server *srv;
	rc = demo_server_start(&dc, &srv);
	if (rc < 0) {
		fprintf(stderr, "stampede: quickstart: cannot start the demo server: %s\n",
		        strerror(-rc));
		rc = EXIT_FAILURE_GENERIC;
		goto out;
	}
	char base[64];
	snprintf(base, sizeof(base), "BASE_URL=http://127.0.0.1:%d", demo_server_port(srv));
	printf("quickstart: demo server (stampede serve-demo) on http://127.0.0.1:%d\n"
	       "quickstart: running %s: a smoke phase, then 20 users logging in, browsing and "
	       "ordering (about 25 s)\n\n",
	       demo_server_port(srv), script);
	fflush(stdout);
	char *run_argv[] = { "run", script, "-e", base, "--out", result, "--out", html, NULL };
	rc = cmd_run((int)ARRAY_SIZE(run_argv) - 1, run_argv);
	uint64_t served = demo_server_responses(srv);
	demo_server_stop(srv);
	printf("quickstart: the demo server answered %llu requests\n"
	       "quickstart: the result is %s, the report %s (open it in a browser)\n"
	       "quickstart: the script is %s: edit it, then run it against your own service with\n"
	       "            stampede run %s -e BASE_URL=http://127.0.0.1:8080\n"
	       "quickstart: exit code %d (%s)\n",
	       (unsigned long long)served, result + 7, html + 5, script, script, rc,
	       rc == 0                        ? "all thresholds passed"
	       : rc == EXIT_THRESHOLDS_FAILED ? "a threshold failed"
	                                      : "see above");
out:
	free(script);
	free(result);
	free(html);
	return rc;
}
