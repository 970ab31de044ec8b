/* cmd_quickstart.c: `stampede quickstart`: the demo target with one weakness, assessed
 * (`stampede assess`), or with --journey a short scripted test; a report. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* The weaknesses the demo can be started with for the assessment (docs/demo.md knobs):
 * what is switched on, the endpoint assessed, the expected load and the capacity the
 * knobs give (NAN: far above the breakpoint's cap). */
static const struct weakness {
	const char *name, *what, *path;
	const char *knobs[6];
	double expected, capacity;
} weaknesses[] = {
	{ "pool",
	  "a pool of 4 workers whose database queries take 10 ms",
	  "/api/products/1",
	  { "--workers", "4", "--query-latency", "10ms" },
	  100,
	  400 },
	{ "cpu",
	  "one worker burning 4 ms of CPU per request",
	  "/api/products/1",
	  { "--workers", "1", "--cpu-us", "4000", "--query-latency", "0" },
	  60,
	  250 },
	{ "leak",
	  "64 KiB of memory leaked per request",
	  "/api/products/1",
	  { "--leak-bytes", "65536" },
	  30,
	  NAN },
	{ "n+1",
	  "N+1 queries: one 1 ms query per order (user 1 has 28)",
	  "/api/users/1/orders",
	  { "--n-plus-one" },
	  30,
	  133 },
};

static const struct weakness *find_weakness(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(weaknesses); i++)
		if (!strcmp(weaknesses[i].name, name))
			return &weaknesses[i];
	return NULL;
}

/* Start `stampede serve-demo --port 0 KNOBS` as a child in its own process group (Ctrl-C
 * is ours to handle; we stop it) and read its port from its first line. Returns the pid
 * and *port, or -1 with a message printed. */
static pid_t start_demo(const struct weakness *w, int *port)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		fprintf(stderr, "stampede: quickstart: pipe: %s\n", strerror(errno));
		return -1;
	}
	char *argv[16] = { "stampede", "serve-demo", "--port", "0" };
	int n = 4;
	for (size_t i = 0; i < ARRAY_SIZE(w->knobs) && w->knobs[i]; i++)
		argv[n++] = (char *)w->knobs[i];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "stampede: quickstart: fork: %s\n", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0);
		dup2(fds[1], STDOUT_FILENO);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(fds[1]);
	char line[256];
	size_t got = 0;
	struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
	*port = 0;
	while (got < sizeof(line) - 1 && poll(&pfd, 1, 10000) > 0) {
		ssize_t k = read(fds[0], line + got, sizeof(line) - 1 - got);
		if (k <= 0)
			break;
		got += (size_t)k;
		line[got] = '\0';
		const char *p = strstr(line, "://127.0.0.1:");
		if (p && strchr(p, ' ')) {
			*port = atoi(p + strlen("://127.0.0.1:"));
			break;
		}
	}
	close(fds[0]);
	if (*port <= 0) {
		fprintf(stderr, "stampede: quickstart: the demo server did not start\n");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static void stop_demo(pid_t pid)
{
	kill(pid, SIGTERM);
	for (int i = 0; i < 150; i++) { /* 15 s: its graceful stop, then SIGKILL */
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The main job: a compact assessment of the demo with one weakness switched on. */
static int assess_demo(const char *dir, const struct weakness *w)
{
	int port;
	pid_t pid = start_demo(w, &port);
	if (pid < 0)
		return EXIT_FAILURE_GENERIC;
	char url[128], scrape[128], pids[32], rps[32], adir[4096];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, w->path);
	snprintf(scrape, sizeof(scrape), "http://127.0.0.1:%d/metrics", port);
	snprintf(pids, sizeof(pids), "%d", (int)pid);
	snprintf(rps, sizeof(rps), "%g", w->expected);
	snprintf(adir, sizeof(adir), "%s/assessment", dir);
	printf("quickstart: the demo target (stampede serve-demo, pid %d) on http://127.0.0.1:%d "
	       "with one weakness\n            switched on: %s.\n"
	       "quickstart: assessing %s at an expected %s/s (about 100 s): smoke, load, "
	       "breakpoint, spike, soak\n\n",
	       (int)pid, port, w->what, url, rps);
	fflush(stdout);
	char *av[] = { "assess",
		       "--url",
		       url,
		       "--slo",
		       "p95<200ms,errors<1%",
		       "--expected-rps",
		       rps,
		       "--budget",
		       "2m",
		       "--monitor-pid",
		       pids,
		       "--scrape",
		       scrape,
		       "--dir",
		       adir,
		       NULL };
	int rc = cmd_assess((int)ARRAY_SIZE(av) - 1, av);
	stop_demo(pid);
	printf("\nquickstart: the weakness switched on was %s", w->what);
	if (isfinite(w->capacity))
		printf(" (capacity about %.0f/s)", w->capacity);
	printf(".\nquickstart: open %s/assessment.html in a browser. Try another weakness with\n"
	       "            stampede quickstart --weakness cpu|pool|leak|n+1, or the scripted "
	       "journey with --journey.\n",
	       adir);
	return rc;
}

int cmd_quickstart(int argc, char **argv)
{
	static const struct option opts[] = { { "out", required_argument, NULL, 'o' },
		                              { "journey", no_argument, NULL, 'j' },
		                              { "weakness", required_argument, NULL, 'w' },
		                              { "help", no_argument, NULL, 'h' },
		                              { 0 } };
	const char *dir = "results";
	const struct weakness *w = &weaknesses[0];
	bool journey = false, weakness_set = false;
	int c;

	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf(
			    "usage: stampede quickstart [--weakness pool|cpu|leak|n+1] [--out "
			    "DIR]\n"
			    "       stampede quickstart --journey [--out DIR]\n\n"
			    "Starts the demo target (stampede serve-demo) on a free loopback port "
			    "with "
			    "one\nweakness switched on (default: pool, a small worker pool with "
			    "slow "
			    "queries) and\nassesses it (stampede assess, about 100 s): smoke, "
			    "load, "
			    "breakpoint, spike and\nsoak, watched (--monitor-pid, --scrape), then "
			    "prints the findings and writes\nDIR/assessment/assessment.html "
			    "(default DIR: results; docs/assess.md).\n"
			    "  --weakness W   pool: 4 workers, 10 ms queries (about 400/s); cpu: "
			    "one "
			    "worker\n                 burning 4 ms of CPU per request (about "
			    "250/s); "
			    "leak: 64 KiB\n                 leaked per request; n+1: one query per "
			    "order\n"
			    "  --journey      instead, the scripted journey: a smoke phase, then "
			    "20 "
			    "users\n                 logging in, browsing and ordering (about 25 "
			    "s): "
			    "DIR/quickstart.lua,\n                 DIR/quickstart-result.json, "
			    "DIR/quickstart-report.html\n"
			    "The exit code is the assessment's (or the journey's): 99 when an SLO "
			    "or "
			    "threshold\nfailed.\n");
			return 0;
		}
		if (c == 'o') {
			dir = optarg;
			continue;
		}
		if (c == 'j') {
			journey = true;
			continue;
		}
		if (c == 'w') {
			weakness_set = true;
			if (!(w = find_weakness(optarg))) {
				cli_bad_value("--weakness", optarg, "use pool, cpu, leak or n+1");
				return EXIT_INVALID_CONFIG;
			}
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
	if (!journey)
		return assess_demo(dir, w);
	if (weakness_set) {
		fprintf(stderr,
		        "stampede: quickstart: --weakness applies to the assessment, not to "
		        "--journey\n");
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
