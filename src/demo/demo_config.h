/* demo_config.h: the running server's knobs, shared by its threads, and the stall schedule. */
#ifndef STAMPEDE_DEMO_CONFIG_H
#define STAMPEDE_DEMO_CONFIG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "demo/demo.h"

/* The live configuration: one writer (POST /admin/config) and many readers, each keeping
 * a private copy that demo_live_refresh() renews only when the generation changed, so a
 * request costs one atomic load. */
struct demo_live {
	pthread_mutex_t lock;
	struct demo_config cfg;
	_Atomic uint64_t gen;
};

/* Initialise with cfg (its stall schedule and latency drift start at now_us()). */
void demo_live_init(struct demo_live *l, const struct demo_config *cfg);
void demo_live_destroy(struct demo_live *l);

/* Renew *copy when the live configuration changed since *gen (start with *gen = 0). */
void demo_live_refresh(struct demo_live *l, struct demo_config *copy, uint64_t *gen);

/* Apply a JSON object of runtime knobs (see demo_config_update_json). A changed stall
 * schedule or latency drift restarts at now. On success *before gets the previous configuration. Returns 0
 * or -EINVAL with a message in err. */
int demo_live_update_json(struct demo_live *l, const char *json, size_t len,
                          struct demo_config *before, char *err, size_t errlen);

/* Microseconds until the current stall ends at time now (monotonic µs), 0 when the server
 * is not in a stall. Stalls start every stall_every_us after the anchor and last
 * stall_for_us. */
int64_t demo_stall_remaining(const struct demo_config *cfg, int64_t now);

/* The latency --latency-drift adds to a request at time now (monotonic µs): the drift
 * amount per period times the periods since drift_anchor_us, growing continuously (not in
 * steps), at most DEMO_DRIFT_MAX_US; 0 when the knob is off. */
int64_t demo_latency_drift(const struct demo_config *cfg, int64_t now);

#endif
