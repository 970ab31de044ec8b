/* demo_config.c: the demo server's knobs: one table shared by the flags and /admin/config. */
#include "demo/demo_config.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/common.h"

enum knob_type { K_HOST, K_INT, K_INT64, K_DURATION, K_BOOL, K_RATE, K_STALL, K_DRIFT };

struct knob {
	const char *name; /* flag name; JSON uses '_' for '-' */
	enum knob_type type;
	size_t off;
	int64_t min, max;
	bool runtime;
};

#define F(field) offsetof(struct demo_config, field)
#define SEC      USEC_PER_SEC
#define MINUTE   (60 * SEC)

static const struct knob knobs[] = {
	{ "host", K_HOST, F(host), 0, 0, false },
	{ "port", K_INT, F(port), 0, 65535, false },
	{ "workers", K_INT, F(workers), 1, 1024, false },
	{ "queue", K_INT, F(queue), 0, 1000000, false },
	{ "query-latency", K_DURATION, F(query_latency_us), 0, 60 * SEC, true },
	{ "cpu-us", K_INT64, F(cpu_us), 0, 10 * SEC, true },
	{ "n-plus-one", K_BOOL, F(n_plus_one), 0, 1, true },
	{ "cache-ttl", K_DURATION, F(cache_ttl_us), 0, 86400 * SEC, true },
	{ "leak-bytes", K_INT64, F(leak_bytes), 0, 64 << 20, true },
	{ "stall", K_STALL, F(stall_every_us), 0, 3600 * SEC, true },
	{ "error-rate", K_RATE, F(error_rate), 0, 1, true },
	{ "latency-drift", K_DRIFT, F(latency_drift_us), 0, DEMO_DRIFT_MAX_US, true },
	{ "max-connections", K_INT, F(max_connections), 1, 1000000, true },
	{ "request-timeout", K_DURATION, F(request_timeout_us), 1000, 3600 * SEC, true },
	{ "idle-timeout", K_DURATION, F(idle_timeout_us), 1000, 3600 * SEC, true },
	{ "shutdown-timeout", K_DURATION, F(shutdown_timeout_us), 0, 3600 * SEC, true },
};

void demo_config_defaults(struct demo_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->host, sizeof(cfg->host), "127.0.0.1");
	cfg->port = 8080;
	cfg->workers = 4;
	cfg->queue = 1024;
	cfg->max_connections = 10000;
	cfg->request_timeout_us = 10 * SEC;
	cfg->idle_timeout_us = 60 * SEC;
	cfg->shutdown_timeout_us = 10 * SEC;
	cfg->latency_drift_period_us = MINUTE;
}

/* Knob names compare with '_' and '-' as the same character. */
static const struct knob *knob_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(knobs); i++) {
		const char *a = knobs[i].name, *b = name;

		while (*a && (*a == *b || (*a == '-' && *b == '_')))
			a++, b++;
		if (!*a && !*b)
			return &knobs[i];
	}
	return NULL;
}

bool demo_config_known(const char *knob)
{
	return knob_find(knob) != NULL;
}

bool demo_config_runtime(const char *knob)
{
	const struct knob *k = knob_find(knob);

	return k && k->runtime;
}

static int bad_value(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -EINVAL;
}

static int set_duration(const struct knob *k, const char *v, int64_t *out, char *err, size_t errlen)
{
	char why[128];
	int64_t us;

	if (parse_duration(v, &us) < 0)
		return bad_value(err, errlen, "expected a duration such as 500us, 10ms or 2s");
	if (us < k->min || us > k->max) {
		char a[32], b[32];
		snprintf(why, sizeof(why), "must be from %s to %s",
		         format_duration(k->min, a, sizeof(a)),
		         format_duration(k->max, b, sizeof(b)));
		return bad_value(err, errlen, why);
	}
	*out = us;
	return 0;
}

static int set_stall(const struct knob *k, const char *v, struct demo_config *cfg, char *err,
                     size_t errlen)
{
	const char *colon = strchr(v, ':');
	int64_t every, len;
	char first[64];

	if (strcmp(v, "0") == 0 || strcmp(v, "off") == 0 || strcmp(v, "") == 0) {
		cfg->stall_every_us = cfg->stall_for_us = 0;
		return 0;
	}
	if (!colon || (size_t)(colon - v) >= sizeof(first))
		return bad_value(err, errlen, "expected EVERY:FOR, e.g. 10s:500ms, or 'off'");
	memcpy(first, v, (size_t)(colon - v));
	first[colon - v] = '\0';
	if (parse_duration(first, &every) < 0 || parse_duration(colon + 1, &len) < 0)
		return bad_value(err, errlen, "expected EVERY:FOR, e.g. 10s:500ms, or 'off'");
	if (every < 1000 || every > k->max || len <= 0 || len >= every)
		return bad_value(err, errlen,
		                 "EVERY must be from 1ms to 1h and FOR from more than "
		                 "0 to less than EVERY");
	cfg->stall_every_us = every;
	cfg->stall_for_us = len;
	return 0;
}

/* The PERIOD of --latency-drift: a duration, "min", or a bare unit ("s", "h"). */
static int parse_drift_period(const char *v, int64_t *out)
{
	char one[32];

	if (strcmp(v, "min") == 0) {
		*out = MINUTE;
		return 0;
	}
	if (*v && !(*v >= '0' && *v <= '9') && *v != '.') {
		if (snprintf(one, sizeof(one), "1%s", v) >= (int)sizeof(one))
			return -EINVAL;
		v = one;
	}
	return parse_duration(v, out);
}

/* AMOUNT[/PERIOD]: every request waits AMOUNT more per PERIOD (default a minute). */
static int set_drift(const struct knob *k, const char *v, struct demo_config *cfg, char *err,
                     size_t errlen)
{
	static const char usage[] = "expected AMOUNT[/PERIOD] such as 2ms (per minute), 2ms/min "
	                            "or 50ms/2s, or 'off'";
	const char *slash = strchr(v, '/');
	int64_t amount, period = MINUTE;
	char first[64];

	if (strcmp(v, "0") == 0 || strcmp(v, "off") == 0 || strcmp(v, "") == 0) {
		cfg->latency_drift_us = 0;
		cfg->latency_drift_period_us = MINUTE;
		return 0;
	}
	size_t n = slash ? (size_t)(slash - v) : strlen(v);
	if (n >= sizeof(first))
		return bad_value(err, errlen, usage);
	memcpy(first, v, n);
	first[n] = '\0';
	if (parse_duration(first, &amount) < 0 ||
	    (slash && parse_drift_period(slash + 1, &period) < 0))
		return bad_value(err, errlen, usage);
	if (amount < k->min || amount > k->max || period < 1000 || period > 86400 * SEC)
		return bad_value(err, errlen,
		                 "AMOUNT must be from 0 to 10s and PERIOD from 1ms to 1d");
	cfg->latency_drift_us = amount;
	cfg->latency_drift_period_us = amount ? period : MINUTE;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes", "on" };
	static const char *const no[] = { "false", "0", "no", "off" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int set_knob(const struct knob *k, struct demo_config *cfg, const char *v, char *err,
                    size_t errlen)
{
	char *field = (char *)cfg + k->off;
	char why[128];
	int64_t n;

	switch (k->type) {
	case K_HOST:
		if (!*v || strlen(v) >= sizeof(cfg->host))
			return bad_value(err, errlen, "expected an IP address or host name");
		snprintf(cfg->host, sizeof(cfg->host), "%s", v);
		return 0;
	case K_INT:
	case K_INT64:
		if (parse_int64(v, k->min, k->max, &n) < 0) {
			snprintf(why, sizeof(why),
			         "expected a whole number from %" PRId64 " to %" PRId64, k->min,
			         k->max);
			return bad_value(err, errlen, why);
		}
		if (k->type == K_INT)
			*(int *)field = (int)n;
		else
			*(int64_t *)field = n;
		return 0;
	case K_DURATION:
		return set_duration(k, v, (int64_t *)field, err, errlen);
	case K_BOOL:
		if (parse_bool(v, (bool *)field) < 0)
			return bad_value(err, errlen, "expected true or false");
		return 0;
	case K_RATE: {
		double d;
		if (parse_double(v, &d) < 0 || d < 0 || d > 1)
			return bad_value(err, errlen, "expected a fraction from 0 to 1");
		*(double *)field = d;
		return 0;
	}
	case K_STALL:
		return set_stall(k, v, cfg, err, errlen);
	case K_DRIFT:
		return set_drift(k, v, cfg, err, errlen);
	}
	return -EINVAL;
}

int demo_config_set(struct demo_config *cfg, const char *knob, const char *value, char *err,
                    size_t errlen)
{
	const struct knob *k = knob_find(knob);

	if (!k) {
		snprintf(err, errlen, "unknown knob '%s'", knob);
		return -ENOENT;
	}
	return set_knob(k, cfg, value ? value : "", err, errlen);
}

/* A JSON value as the text a flag would give. */
static int json_as_text(json_t *v, char *buf, size_t len)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (json_string_length(v) >= len ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return -EINVAL;
		snprintf(buf, len, "%s", json_string_value(v));
		return 0;
	case JSON_INTEGER:
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	case JSON_REAL:
		snprintf(buf, len, "%.9f", json_real_value(v));
		return 0;
	case JSON_TRUE:
	case JSON_FALSE:
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
		return 0;
	case JSON_NULL:
		snprintf(buf, len, "0");
		return 0;
	default:
		return -EINVAL;
	}
}

int demo_config_update_json(struct demo_config *cfg, const char *json, size_t len, char *err,
                            size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	struct demo_config next = *cfg;
	const char *key;
	json_t *v;
	int rc = -EINVAL;

	if (!root) {
		snprintf(err, errlen, "invalid JSON: %s", jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "expected a JSON object of knobs");
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		const struct knob *k = knob_find(key);
		char text[128], why[160];

		if (!k) {
			snprintf(err, errlen, "unknown knob '%.64s'", key);
			goto out;
		}
		if (!k->runtime) {
			snprintf(err, errlen, "knob '%s' cannot be changed while the server runs",
			         key);
			goto out;
		}
		if (json_as_text(v, text, sizeof(text)) < 0) {
			snprintf(err, errlen, "invalid %s: expected a string, number or boolean",
			         key);
			goto out;
		}
		if (set_knob(k, &next, text, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "invalid %s '%.64s': %s", key, text, why);
			goto out;
		}
	}
	*cfg = next;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* A duration in the largest unit that keeps it exact ("10ms", "1500us", "2s", "0"). */
static void format_exact(int64_t us, char *buf, size_t len)
{
	if (us == 0)
		snprintf(buf, len, "0");
	else if (us % SEC == 0)
		snprintf(buf, len, "%" PRId64 "s", (int64_t)(us / SEC));
	else if (us % 1000 == 0)
		snprintf(buf, len, "%" PRId64 "ms", us / 1000);
	else
		snprintf(buf, len, "%" PRId64 "us", us);
}

char *demo_config_to_json(const struct demo_config *cfg)
{
	json_t *o = json_object();
	char buf[96], a[32], b[32];

	for (size_t i = 0; i < ARRAY_SIZE(knobs); i++) {
		const struct knob *k = &knobs[i];
		const char *field = (const char *)cfg + k->off;
		json_t *v = NULL;

		switch (k->type) {
		case K_HOST:
			v = json_string(cfg->host);
			break;
		case K_INT:
			v = json_integer(*(const int *)field);
			break;
		case K_INT64:
			v = json_integer(*(const int64_t *)field);
			break;
		case K_DURATION:
			format_exact(*(const int64_t *)field, buf, sizeof(buf));
			v = json_string(buf);
			break;
		case K_BOOL:
			v = json_boolean(*(const bool *)field);
			break;
		case K_RATE:
			v = json_real(*(const double *)field);
			break;
		case K_STALL:
			if (!cfg->stall_every_us) {
				v = json_string("off");
				break;
			}
			format_exact(cfg->stall_every_us, a, sizeof(a));
			format_exact(cfg->stall_for_us, b, sizeof(b));
			snprintf(buf, sizeof(buf), "%s:%s", a, b);
			v = json_string(buf);
			break;
		case K_DRIFT:
			format_exact(cfg->latency_drift_us, a, sizeof(a));
			if (cfg->latency_drift_period_us == MINUTE || !cfg->latency_drift_us)
				snprintf(b, sizeof(b), "min");
			else
				format_exact(cfg->latency_drift_period_us, b, sizeof(b));
			snprintf(buf, sizeof(buf), "%s/%s", a, b);
			v = json_string(cfg->latency_drift_us ? buf : "0");
			break;
		}
		snprintf(buf, sizeof(buf), "%s", k->name);
		for (char *c = buf; *c; c++)
			if (*c == '-')
				*c = '_';
		json_object_set_new(o, buf, v);
	}
	char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
	json_decref(o);
	if (!text)
		text = xstrdup("{}");
	return text;
}

void demo_live_init(struct demo_live *l, const struct demo_config *cfg)
{
	pthread_mutex_init(&l->lock, NULL);
	l->cfg = *cfg;
	l->cfg.stall_anchor_us = l->cfg.drift_anchor_us = now_us();
	atomic_init(&l->gen, 1);
}

void demo_live_destroy(struct demo_live *l)
{
	pthread_mutex_destroy(&l->lock);
}

void demo_live_refresh(struct demo_live *l, struct demo_config *copy, uint64_t *gen)
{
	uint64_t g = atomic_load_explicit(&l->gen, memory_order_acquire);

	if (g == *gen)
		return;
	pthread_mutex_lock(&l->lock);
	*copy = l->cfg;
	*gen = atomic_load_explicit(&l->gen, memory_order_relaxed);
	pthread_mutex_unlock(&l->lock);
}

int demo_live_update_json(struct demo_live *l, const char *json, size_t len,
                          struct demo_config *before, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&l->lock);
	struct demo_config next = l->cfg;
	rc = demo_config_update_json(&next, json, len, err, errlen);
	if (rc == 0) {
		*before = l->cfg;
		if (next.stall_every_us != l->cfg.stall_every_us ||
		    next.stall_for_us != l->cfg.stall_for_us)
			next.stall_anchor_us = now_us();
		if (next.latency_drift_us != l->cfg.latency_drift_us ||
		    next.latency_drift_period_us != l->cfg.latency_drift_period_us)
			next.drift_anchor_us = now_us();
		l->cfg = next;
		atomic_fetch_add_explicit(&l->gen, 1, memory_order_release);
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int64_t demo_stall_remaining(const struct demo_config *cfg, int64_t now)
{
	int64_t since = now - cfg->stall_anchor_us;

	if (cfg->stall_every_us <= 0 || cfg->stall_for_us <= 0 || since < cfg->stall_every_us)
		return 0;
	int64_t phase = since % cfg->stall_every_us;
	return phase < cfg->stall_for_us ? cfg->stall_for_us - phase : 0;
}

int64_t demo_latency_drift(const struct demo_config *cfg, int64_t now)
{
	int64_t since = now - cfg->drift_anchor_us;

	if (cfg->latency_drift_us <= 0 || cfg->latency_drift_period_us <= 0 || since <= 0)
		return 0;
	/* in floating point: amount × time may not fit 64 bits after a long uptime */
	double us =
	    (double)cfg->latency_drift_us * (double)since / (double)cfg->latency_drift_period_us;
	return us >= (double)DEMO_DRIFT_MAX_US ? DEMO_DRIFT_MAX_US : (int64_t)us;
}
