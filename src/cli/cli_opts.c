/* cli_opts.c: strict option parsing for the sub-commands: getopt_long without abbreviated
 * long options, "did you mean" hints, and a hint for a wrk-style positional URL. */
#include "cli/cli_opts.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/common.h"
#include "util/suggest.h"

/* Names and values are cut to this many bytes in messages. */
#define SHOWN_MAX 200

static char opt_error[SHOWN_MAX * 2 + 128];

static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(opt_error, sizeof(opt_error), fmt, ap);
	va_end(ap);
}

const char *cli_opt_error(void)
{
	return opt_error;
}

void cli_opt_report(const char *cmd)
{
	fprintf(stderr, "stampede: %s\nsee 'stampede help %s'\n", opt_error, cmd);
}

void cli_block_stop_signals(void)
{
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
}

bool cli_decimal(const char *s, int n)
{
	size_t len = n < 0 ? strlen(s) : (size_t)n;
	bool digit = false, point = false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digit = true;
		else if (s[i] == '.' && !point)
			point = true;
		else
			return false;
	}
	return digit;
}

char *cli_one_line(char *s)
{
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

int cli_bad_value(const char *flag, const char *value, const char *why)
{
	fprintf(stderr, "stampede: invalid %s '%s': %s\n", flag, value, why);
	return -EINVAL;
}

/* The long option named exactly name[0..len), or -1. */
static int find_exact(const struct option *longopts, const char *name, size_t len)
{
	for (int i = 0; longopts[i].name; i++)
		if (strlen(longopts[i].name) == len && strncmp(longopts[i].name, name, len) == 0)
			return i;
	return -1;
}

/* "unknown option '--NAME'", with the closest long option as a hint (hint < 0: found by
 * suggest_closest). name[0..len) is what was typed after "--". */
static void unknown_long(const struct option *longopts, const char *name, size_t len, int hint)
{
	if (hint < 0) {
		int n = 0;
		while (longopts[n].name)
			n++;
		const char **names = xcalloc((size_t)n + 1, sizeof(*names));
		for (int i = 0; i < n; i++)
			names[i] = longopts[i].name;
		hint = suggest_closest(name, len, names, n);
		free(names);
	}
	int shown = (int)MIN(len, SHOWN_MAX);
	if (hint >= 0)
		set_error("unknown option '--%.*s' (did you mean '--%s'?)", shown, name,
		          longopts[hint].name);
	else
		set_error("unknown option '--%.*s'", shown, name);
}

/* A short option's character for a message: itself, or its code when not printable. */
static void unknown_short(int c)
{
	if (c > ' ' && c < 127)
		set_error("unknown option '-%c'", c);
	else
		set_error("unknown option (character code %d)", c);
}

/* The element of argv that held the long option getopt_long just returned (li): the one
 * before its value when the value was the next element. */
static const char *long_element(char *const argv[], const struct option *o)
{
	if (o->has_arg == required_argument && optarg && optind >= 2 && optarg == argv[optind - 1])
		return argv[optind - 2];
	return argv[optind - 1];
}

/* getopt_long returned '?': an unknown or ambiguous long option (optopt 0), a value given
 * to a long option that takes none (optopt its val), or an unknown short option. */
static void bad_option(int argc, char *const argv[], const struct option *longopts)
{
	const char *elem = optind >= 1 && optind <= argc ? argv[optind - 1] : "";
	bool is_long = strncmp(elem, "--", 2) == 0 && elem[2];
	const char *name = elem + 2;
	size_t len = is_long ? strcspn(name, "=") : 0;

	if (is_long && optopt == 0) {
		unknown_long(longopts, name, len, -1);
		return;
	}
	if (is_long && name[len] == '=') { /* a value for an option that takes none? */
		int i = find_exact(longopts, name, len);
		if (i >= 0 && longopts[i].has_arg == no_argument && longopts[i].val == optopt) {
			set_error("option '--%s' does not take a value", longopts[i].name);
			return;
		}
		for (int j = 0; i < 0 && longopts[j].name; j++)
			if (longopts[j].has_arg == no_argument && longopts[j].val == optopt &&
			    strncmp(longopts[j].name, name, len) == 0)
				i = j; /* an abbreviation of it */
		if (i >= 0) {
			unknown_long(longopts, name, len, i);
			return;
		}
	}
	unknown_short(optopt);
}

/* getopt_long returned ':': the option in argv[optind - 1] lacks its value. */
static void missing_value(int argc, char *const argv[], const struct option *longopts)
{
	const char *elem = optind >= 1 && optind <= argc ? argv[optind - 1] : "";
	if (strncmp(elem, "--", 2) == 0 && elem[2]) {
		size_t len = strcspn(elem + 2, "=");
		int i = find_exact(longopts, elem + 2, len);
		if (i < 0) { /* abbreviated */
			unknown_long(longopts, elem + 2, len, -1);
			return;
		}
		set_error("option '--%s' needs a value", longopts[i].name);
		return;
	}
	if (optopt > ' ' && optopt < 127)
		set_error("option '-%c' needs a value", optopt);
	else
		set_error("an option needs a value");
}

int cli_getopt_long(int argc, char *const argv[], const char *optstring,
                    const struct option *longopts, int *longindex)
{
	int li = -1;
	opterr = 0;
	opt_error[0] = '\0';
	int c = getopt_long(argc, argv, optstring, longopts, &li);
	if (c == '?') {
		bad_option(argc, argv, longopts);
		return '?';
	}
	if (c == ':') {
		missing_value(argc, argv, longopts);
		return ':';
	}
	if (c != -1 && li >= 0) {
		const char *elem = long_element(argv, &longopts[li]);
		if (strncmp(elem, "--", 2) == 0) {
			size_t len = strcspn(elem + 2, "=");
			if (len != strlen(longopts[li].name)) { /* getopt_long took a prefix */
				unknown_long(longopts, elem + 2, len, li);
				return '?';
			}
		}
		if (longindex)
			*longindex = li;
	}
	return c;
}

/* "host:port" or "[v6]:port", then nothing or a path. */
static bool host_port(const char *s)
{
	const char *end;
	if (s[0] == '[') {
		size_t n = strspn(s + 1, "0123456789abcdefABCDEF:.");
		if (n == 0 || s[1 + n] != ']')
			return false;
		end = s + n + 2;
	} else {
		size_t n =
		    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
		if (n == 0)
			return false;
		end = s + n;
	}
	if (*end != ':')
		return false;
	size_t digits = strspn(end + 1, "0123456789");
	char after = end[1 + digits];
	return digits >= 1 && digits <= 5 && (after == '\0' || after == '/');
}

const char *cli_positional_url_hint(const char *arg)
{
	static char hint[SHOWN_MAX + 160];
	if (!arg || !(strncasecmp(arg, "http://", 7) == 0 || strncasecmp(arg, "https://", 8) == 0 ||
	              host_port(arg)))
		return NULL;
	snprintf(hint, sizeof(hint),
	         "stampede: '%.*s' looks like a URL: use --url URL (wrk takes it positionally; "
	         "stampede's positional argument is a script)",
	         SHOWN_MAX, arg);
	return hint;
}

char cli_owned_short(const char *a, const char *owned, const char *with_value)
{
	if (a[0] != '-' || a[1] == '-' || a[1] == '\0')
		return 0;
	for (const char *c = a + 1; *c; c++) {
		if (strchr(owned, *c))
			return *c;
		if (strchr(with_value, *c))
			return 0; /* the rest is its value */
	}
	return 0;
}

bool cli_flag_is(const char *arg, const char *flag)
{
	size_t n = strlen(flag);
	return !strncmp(arg, flag, n) && (arg[n] == '\0' || arg[n] == '=');
}

const char *cli_flag_value(int argc, char **argv, int *i, const char *flag)
{
	const char *a = argv[*i];
	size_t n = strlen(flag);
	if (a[n] == '=')
		return a + n + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}
