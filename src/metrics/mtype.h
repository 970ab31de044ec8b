/* mtype.h: the four k6 metric types. */
#ifndef STAMPEDE_MTYPE_H
#define STAMPEDE_MTYPE_H

enum metric_type {
	MT_COUNTER, /* cumulative sum: count, rate (per second) */
	MT_GAUGE,   /* last value: value, min, max */
	MT_RATE,    /* fraction of non-zero samples: rate, passes, fails */
	MT_TREND,   /* distribution: avg, min, med, max, p(N) */
};

#endif
