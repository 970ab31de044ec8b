/* cmd_coordinate.c: `stampede coordinate --instances N`: the HTTP server (libmicrohttpd) of
 * a distributed run's coordinator (coord_server.h; docs/distributed.md, "Live
 * aggregation"). */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "cli/coord_server.h"
#include "engine/run.h"
#include "util/common.h"

#define COORD_USAGE                                                                                \
	"usage: stampede coordinate --instances N [--listen 127.0.0.1:6565]\n"                     \
	"                           [--ready-timeout 10m] [--timeout D] [--quiet]\n"

#define DEFAULT_LISTEN "127.0.0.1:6565"
/* An idle connection is closed after this long: a client that holds one without a request
 * (a slow or stuck peer) frees its slot soon. The instances' requests take at most 2 s and
 * come every second or so; curl opens a new connection when its kept-alive one was closed. */
#define CONN_TIMEOUT_S 10u

void cmd_coordinate_usage(void)
{
	printf(COORD_USAGE
	       "\n"
	       "The coordinator of a distributed run (instances started with `stampede run\n"
	       "--coordinator http://HOST:PORT`): a ready barrier, so that the N instances start\n"
	       "at the same moment (2 s after the last one registered), and the abort-on-fail\n"
	       "thresholds judged on every instance's data together each second: when one fails,\n"
	       "every instance aborts (exit 108) with the coordinator's reason. Each instance\n"
	       "still writes its own result; `stampede merge` combines them.\n\n"
	       "  -n, --instances N      how many instances take part (1..1000; required)\n"
	       "      --listen HOST:PORT where to listen (default " DEFAULT_LISTEN
	       "; port 0: any free\n"
	       "                         port). Another address than loopback only when given,\n"
	       "                         e.g. 0.0.0.0:6565 behind a Kubernetes Service; the\n"
	       "                         protocol has no authentication: keep it inside the\n"
	       "                         cluster\n"
	       "      --ready-timeout D  the longest wait for all N to register (default 10m)\n"
	       "      --timeout D        the longest wait, after the start, for every instance\n"
	       "                         to say it is done (default: no limit)\n"
	       "  -q, --quiet            no per-instance summary at the end\n"
	       "  -h, --help             this help\n\n"
	       "It stops when every instance has said it is done, at --timeout, or on SIGINT or\n"
	       "SIGTERM (instances waiting at the barrier are told why at their next poll,\n"
	       "within 5 s; a second signal: at once), and prints one line per instance.\n\n"
	       "An instance silent for 5 s after the start (killed, cut off) is lost: the\n"
	       "thresholds are judged on the others' data from then on.\n\n"
	       "exit codes: 0 the run went to its end; 108 a threshold failed across the\n"
	       "            instances and aborted the run; 105 stopped by a signal; 104 invalid\n"
	       "            flags; 1 cannot listen (the reason is printed), the barrier timed\n"
	       "            out, or an instance did not run to its end (lost, no word of it, or\n"
	       "            it ended with another code than 0, 99 or 108; after an abort, 108\n"
	       "            stands and this is said on stderr)\n\n"
	       "See docs/distributed.md (\"Live aggregation\").\n");
}

struct coord_args {
	int instances;
	const char *listen;
	int64_t ready_timeout_us, timeout_us;
	bool quiet;
};

enum { OPT_LISTEN = 256, OPT_READY_TIMEOUT, OPT_TIMEOUT };

static const struct option long_opts[] = {
	{ "instances", required_argument, NULL, 'n' },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "ready-timeout", required_argument, NULL, OPT_READY_TIMEOUT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static int positive_duration(const char *flag, const char *arg, int64_t *out)
{
	if (parse_duration(arg, out) < 0 || *out <= 0)
		return cli_bad_value(flag, arg, "expected a duration such as 30s or 10m");
	return 0;
}

/* The flags; 0, -1 after --help, or -EINVAL (said why). */
static int parse_args(int argc, char **argv, struct coord_args *a)
{
	int c;
	int64_t n;
	*a =
	    (struct coord_args){ .listen = DEFAULT_LISTEN, .ready_timeout_us = 600 * USEC_PER_SEC };
	optind = 1;
	while ((c = cli_getopt_long(argc, argv, ":hqn:", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			cmd_coordinate_usage();
			return -1;
		case 'q':
			a->quiet = true;
			break;
		case 'n':
			if (parse_int64(optarg, 1, COORD_INSTANCES_MAX, &n) < 0)
				return cli_bad_value("--instances", optarg, "expected 1..1000");
			a->instances = (int)n;
			break;
		case OPT_LISTEN:
			a->listen = optarg;
			break;
		case OPT_READY_TIMEOUT:
			if (positive_duration("--ready-timeout", optarg, &a->ready_timeout_us) < 0)
				return -EINVAL;
			break;
		case OPT_TIMEOUT:
			if (positive_duration("--timeout", optarg, &a->timeout_us) < 0)
				return -EINVAL;
			break;
		default:
			cli_opt_report("coordinate");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "stampede: coordinate: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!a->instances) {
		fprintf(stderr, "stampede: coordinate: --instances N is required\n%s", COORD_USAGE);
		return -EINVAL;
	}
	return 0;
}

/* --- the listening socket ---------------------------------------------------------- */

/* Split "HOST:PORT" or "[V6]:PORT" into host and port; -EINVAL (said why) otherwise. */
static int split_listen(const char *arg, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon = strrchr(arg, ':');
	const char *h = arg, *hend = colon;
	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');
		if (!close || close[1] != ':')
			goto bad;
		h = arg + 1;
		hend = close;
		colon = close + 1;
	}
	int64_t p;
	if (!colon || hend == h || (size_t)(hend - h) >= hostlen || strlen(colon + 1) >= portlen ||
	    parse_int64(colon + 1, 0, 65535, &p) < 0)
		goto bad;
	snprintf(host, hostlen, "%.*s", (int)(hend - h), h);
	snprintf(port, portlen, "%s", colon + 1);
	return 0;
bad:
	return cli_bad_value("--listen", arg, "expected HOST:PORT, e.g. 127.0.0.1:6565");
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	return sa->sa_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/* A listening socket on a->listen; its address as a URL in url. Returns the socket, -EINVAL
 * for a bad --listen (said why), or another negative errno (said why). */
static int listen_on(const char *arg, char *url, size_t urllen, bool *loopback)
{
	char host[256], port[16], num[INET6_ADDRSTRLEN];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		                  .ai_flags = AI_PASSIVE | AI_NUMERICSERV },
	                *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, one = 1, gai;
	if (split_listen(arg, host, sizeof(host), port, sizeof(port)) < 0)
		return -EINVAL;
	if ((gai = getaddrinfo(host, port, &hints, &ai)) != 0) {
		fprintf(stderr, "stampede: coordinate: cannot listen on %s: %s\n", arg,
		        gai_strerror(gai));
		return -ENOENT;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 256) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		int e = errno;
		fprintf(stderr, "stampede: coordinate: cannot listen on %s: %s\n", arg,
		        strerror(e));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -e;
	}
	freeaddrinfo(ai);
	*loopback = is_loopback((struct sockaddr *)&ss);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, num, sizeof(num));
		snprintf(url, urllen, "http://[%s]:%d", num, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, num, sizeof(num));
		snprintf(url, urllen, "http://%s:%d", num, ntohs(s4->sin_port));
	}
	return fd;
}

/* --- HTTP ------------------------------------------------------------------------- */

struct http_body {
	char *buf;
	size_t len;
	bool too_big;
};

static enum MHD_Result respond(struct MHD_Connection *conn, int status, json_t *ans)
{
	char *txt = json_dumps(ans, JSON_COMPACT);
	json_decref(ans);
	if (!txt)
		return MHD_NO;
	size_t n = strlen(txt);
	struct MHD_Response *r = MHD_create_response_from_buffer(n, txt, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(txt);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	struct coord_server *s = cls;
	struct http_body *r = *con_cls;
	int status = 500;
	if (!r) { /* the headers: a body announced too large is refused at once */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
		*con_cls = r = xcalloc(1, sizeof(*r));
		if (cl && strtoull(cl, NULL, 10) > COORD_BODY_MAX) {
			r->too_big = true;
			return respond(conn, 413,
			               json_pack("{ss}", "error", "a body of at most 8 MiB"));
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!r->too_big && r->len + *upload_size <= COORD_BODY_MAX) {
			r->buf = xrealloc(r->buf, r->len + *upload_size + 1);
			memcpy(r->buf + r->len, upload, *upload_size);
			r->len += *upload_size;
		} else {
			r->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_big)
		return respond(conn, 413, json_pack("{ss}", "error", "a body of at most 8 MiB"));
	json_t *ans = coord_server_handle(s, method, url, r->buf, r->len, wall_us(), &status);
	return respond(conn, status, ans);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct http_body *r = *con_cls;
	if (r) {
		free(r->buf);
		free(r);
		*con_cls = NULL;
	}
}

/* --- the run ---------------------------------------------------------------------- */

/* The connections the HTTP server has open (0 when it cannot say). */
static unsigned open_connections(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return i ? i->num_connections : 0;
}

/* Wait up to 100 ms for a stop signal; returns it, or 0. */
static int wait_signal(void)
{
	sigset_t stop;
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	int sig = sigtimedwait(&stop, NULL, &ts);
	return sig > 0 ? sig : 0;
}

/* Serve until every instance is done, a timeout, or a signal. Returns the exit code. A
 * signal while registered instances wait at the barrier (or the barrier's timeout) closes
 * it and serves on until each of them has polled and heard why, for at most
 * COORD_SILENT_US (a second signal: at once); one that does not poll by then finds the
 * coordinator gone (its client's refused connections for as long). */
static int serve(const struct coord_args *a, struct coord_server *s, struct MHD_Daemon *httpd)
{
	int64_t ready_deadline = now_us() + a->ready_timeout_us, closing = 0;
	int64_t start_mono = 0;
	bool stopped = false;
	for (;;) {
		int sig = wait_signal();
		if (sig) {
			char why[200];
			fprintf(stderr, "stampede: coordinate: stopped by %s\n", strsignal(sig));
			if (stopped || coord_server_start_us(s) || !coord_server_registered(s))
				return EXIT_INTERRUPTED;
			snprintf(
			    why, sizeof(why),
			    "the coordinator was stopped by %s before every instance registered",
			    strsignal(sig));
			coord_server_close(s, why);
			stopped = true;
			closing = now_us() + COORD_SILENT_US; /* the waiting instances hear why */
			continue;
		}
		coord_server_tick(s, wall_us());
		if (coord_server_all_done(s)) {
			struct timespec ts = { 0,
				               200 * 1000 * 1000 }; /* the last answer goes out */
			nanosleep(&ts, NULL);
			return 0;
		}
		int64_t start = coord_server_start_us(s);
		if (start && !start_mono)
			start_mono = now_us() + (start - wall_us());
		if (!start && !closing && now_us() >= ready_deadline) {
			char why[200], d[32];
			snprintf(
			    why, sizeof(why),
			    "the coordinator gave up waiting: %d of %d instances registered within "
			    "%s",
			    coord_server_registered(s), a->instances,
			    format_duration(a->ready_timeout_us, d, sizeof(d)));
			coord_server_close(s, why);
			fprintf(stderr, "stampede: coordinate: %s\n", why);
			closing = now_us() + COORD_SILENT_US; /* the waiting instances hear why */
		}
		if (closing && (now_us() >= closing || coord_server_all_told(s))) {
			/* the answers go out: told instances exit, and their connections close */
			while (now_us() < closing && open_connections(httpd) > 0) {
				struct timespec ts = { 0, 50 * 1000 * 1000 };
				nanosleep(&ts, NULL);
			}
			return stopped ? EXIT_INTERRUPTED : 1;
		}
		if (start_mono && a->timeout_us && now_us() >= start_mono + a->timeout_us) {
			char d[32];
			fprintf(
			    stderr,
			    "stampede: coordinate: --timeout %s passed before every instance was "
			    "done\n",
			    format_duration(a->timeout_us, d, sizeof(d)));
			return 0;
		}
	}
}

int cmd_coordinate(int argc, char **argv)
{
	struct coord_args a;
	char url[300];
	bool loopback = true;
	int r = parse_args(argc, argv, &a);
	if (r == -1)
		return 0;
	if (r < 0)
		return EXIT_INVALID_CONFIG;
	cli_block_stop_signals(); /* before the server's threads: they inherit the mask */
	int fd = listen_on(a.listen, url, sizeof(url), &loopback);
	if (fd == -EINVAL)
		return EXIT_INVALID_CONFIG;
	if (fd < 0)
		return 1;
	struct coord_server *s = coord_server_new(a.instances);
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC;
	struct MHD_Daemon *d =
	    MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd,
	                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)(2 * a.instances + 32),
	                     MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT_S,
	                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "stampede: coordinate: cannot start the HTTP server on %s\n", url);
		close(fd);
		coord_server_free(s);
		return 1;
	}
	fprintf(stderr, "stampede: coordinate: listening on %s%s, waiting for %d instance%s\n", url,
	        loopback ? "" : " (not loopback: reachable from other machines, no authentication)",
	        a.instances, a.instances == 1 ? "" : "s");
	int rc = serve(&a, s, d);
	MHD_stop_daemon(d); /* closes fd */
	if (coord_server_aborted(s))
		rc = EXIT_ABORTED;
	/* after an abort too: the verdict was then reached without the missing ones' data */
	int missing = rc == 0 || rc == EXIT_ABORTED ? coord_server_incomplete(s) : 0;
	if (missing) { /* the run was not the whole test */
		fprintf(stderr,
		        "stampede: coordinate: %d of %d instance%s did not run to the end (see "
		        "below): the run was not the whole test\n",
		        missing, a.instances, a.instances == 1 ? "" : "s");
		rc = rc == EXIT_ABORTED ? rc : 1;
	}
	if (!a.quiet) {
		printf("coordinator: %d instance%s:\n", a.instances, a.instances == 1 ? "" : "s");
		coord_server_summary(s, stdout);
		fflush(stdout);
	}
	coord_server_free(s);
	return rc;
}
