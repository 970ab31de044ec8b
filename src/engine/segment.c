/* segment.c: execution segments and their stripes (segment.h). */
#include "engine/segment.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/common.h"

/* Work the stripe takes at most: period x segments steps. */
#define STRIPE_WORK_MAX 20000000LL
#define FRAC_DEN_MAX    1000000000LL

static int64_t gcd64(int64_t a, int64_t b)
{
	while (b) {
		int64_t t = a % b;
		a = b;
		b = t;
	}
	return a < 0 ? -a : a;
}

static struct frac frac_reduce(int64_t num, int64_t den)
{
	int64_t g = gcd64(num, den);
	if (g == 0)
		g = 1;
	return (struct frac){ num / g, den / g };
}

/* a < b, a == b, a > b: -1, 0, 1 (numerators and denominators <= 1e9: no overflow). */
static int frac_cmp(struct frac a, struct frac b)
{
	__int128 l = (__int128)a.num * b.den, r = (__int128)b.num * a.den;
	return l < r ? -1 : l > r;
}

int frac_parse(const char *s, struct frac *out, char *err, size_t errlen)
{
	const char *p = s;
	int64_t num = 0, den = 1;
	bool digits = false, pct = false;
	size_t n = strlen(s);

	if (n && s[n - 1] == '%') {
		pct = true;
		n--;
	}
	while ((size_t)(p - s) < n && isdigit((unsigned char)*p)) {
		if (num > FRAC_DEN_MAX)
			goto bad;
		num = num * 10 + (*p++ - '0');
		digits = true;
	}
	if ((size_t)(p - s) < n && *p == '/' && !pct) {
		int64_t d = 0;
		bool ddig = false;
		p++;
		while ((size_t)(p - s) < n && isdigit((unsigned char)*p)) {
			if (d > FRAC_DEN_MAX)
				goto bad;
			d = d * 10 + (*p++ - '0');
			ddig = true;
		}
		if (!digits || !ddig || d == 0 || d > FRAC_DEN_MAX || num > FRAC_DEN_MAX)
			goto bad;
		den = d;
	} else if ((size_t)(p - s) < n && *p == '.') {
		int dec = 0;
		p++;
		while ((size_t)(p - s) < n && isdigit((unsigned char)*p)) {
			if (++dec > 9 || num > (INT64_MAX - 9) / 10)
				goto bad; /* 10 integer digits and 9 decimals would overflow */
			num = num * 10 + (*p++ - '0');
			den *= 10;
			digits = true;
		}
	}
	if (!digits || (size_t)(p - s) != n)
		goto bad;
	if (pct) {
		den *= 100;
		if (den > FRAC_DEN_MAX * 100)
			goto bad;
	}
	*out = frac_reduce(num, den);
	if (out->den > FRAC_DEN_MAX)
		goto bad;
	if (out->num > out->den) {
		snprintf(err, errlen, "'%.40s' is more than 1 (the whole load)", s);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen,
	         "'%.40s' is not a fraction: expected such as 1/4, 0.25 or 25%% (at most 9 "
	         "decimals)",
	         s);
	return -1;
}

const char *frac_format(struct frac f, char *buf, size_t len)
{
	if (f.num == 0)
		snprintf(buf, len, "0");
	else if (f.num == f.den)
		snprintf(buf, len, "1");
	else
		snprintf(buf, len, "%lld/%lld", (long long)f.num, (long long)f.den);
	return buf;
}

/* "A,B,..." into pts (at most SEGMENT_SEQUENCE_MAX + 1 points), with 0 and 1 added. */
static int parse_sequence(const char *s, struct frac *pts, int *npts, char *err, size_t errlen)
{
	char *copy = xstrdup(s), *rest = copy, *tok;
	int n = 0, rc = -1;
	bool first = true;
	pts[n++] = (struct frac){ 0, 1 };
	while ((tok = strsep(&rest, ",")) != NULL) {
		struct frac f;
		while (*tok == ' ')
			tok++;
		if (frac_parse(tok, &f, err, errlen) < 0)
			goto out;
		if (first && f.num == 0) { /* the 0 given first; a second one is a repeat */
			first = false;
			continue;
		}
		first = false;
		if (frac_cmp(f, pts[n - 1]) <= 0) {
			snprintf(
			    err, errlen,
			    "execution segment sequence '%.80s': the points must increase (%.20s "
			    "after a larger or equal one)",
			    s, tok);
			goto out;
		}
		if (n > SEGMENT_SEQUENCE_MAX) {
			snprintf(err, errlen,
			         "execution segment sequence '%.80s': more than %d segments", s,
			         SEGMENT_SEQUENCE_MAX);
			goto out;
		}
		pts[n++] = f;
	}
	if (pts[n - 1].num != pts[n - 1].den) {
		if (n > SEGMENT_SEQUENCE_MAX) {
			snprintf(err, errlen,
			         "execution segment sequence '%.80s': more than %d segments", s,
			         SEGMENT_SEQUENCE_MAX);
			goto out;
		}
		pts[n++] = (struct frac){ 1, 1 };
	}
	*npts = n;
	rc = 0;
out:
	free(copy);
	return rc;
}

static int parse_segment(const char *s, struct frac *from, struct frac *to, char *err,
                         size_t errlen)
{
	const char *colon = strchr(s, ':');
	char a[64];
	if (!colon) {
		*from = (struct frac){ 0, 1 };
		if (frac_parse(s, to, err, errlen) < 0)
			return -1;
	} else {
		size_t n = (size_t)(colon - s);
		if (n >= sizeof(a)) {
			snprintf(err, errlen, "execution segment '%.60s' is too long", s);
			return -1;
		}
		memcpy(a, s, n);
		a[n] = '\0';
		if (frac_parse(a, from, err, errlen) < 0 ||
		    frac_parse(colon + 1, to, err, errlen) < 0)
			return -1;
	}
	if (frac_cmp(*from, *to) >= 0) {
		snprintf(err, errlen,
		         "execution segment '%.60s': its start must be below its end (expected "
		         "FROM:TO such as 1/4:1/2)",
		         s);
		return -1;
	}
	return 0;
}

/* Deal out the positions 0 .. period-1 of the stripe and keep those of segment `me`. */
static void build_stripe(struct exec_segment *es, const int64_t *count, int nseg, int me)
{
	int64_t *given = xcalloc((size_t)nseg, sizeof(*given));
	int64_t k = 0;
	es->pos = xmalloc(sizeof(*es->pos) * (size_t)MAX(count[me], 1));
	for (int64_t p = 0; p < es->period; p++) {
		int best = -1;
		int64_t best_d = 0;
		for (int i = 0; i < nseg; i++) {
			int64_t d = (p + 1) * count[i] - given[i] * es->period;
			if (best < 0 || d > best_d || (d == best_d && count[i] > count[best])) {
				best = i;
				best_d = d;
			}
		}
		given[best]++;
		if (best == me)
			es->pos[k++] = p;
	}
	es->npos = k;
	free(given);
}

int exec_segment_init(struct exec_segment *es, const char *segment, const char *sequence, char *err,
                      size_t errlen)
{
	struct frac *pts = NULL;
	int64_t *count = NULL;
	int npts = 0, rc = -1;
	char a[32], b[32];

	memset(es, 0, sizeof(*es));
	es->whole = true;
	if (!segment && !sequence)
		return 0;
	if (!segment) /* a sequence alone (a script's, run by itself): the whole run, as k6 */
		return 0;
	if (parse_segment(segment, &es->from, &es->to, err, errlen) < 0)
		return -1;
	pts = xcalloc(SEGMENT_SEQUENCE_MAX + 2, sizeof(*pts));
	if (sequence) {
		if (parse_sequence(sequence, pts, &npts, err, errlen) < 0)
			goto out;
	} else {
		pts[npts++] = (struct frac){ 0, 1 };
		if (es->from.num)
			pts[npts++] = es->from;
		pts[npts++] = es->to;
		if (es->to.num != es->to.den)
			pts[npts++] = (struct frac){ 1, 1 };
	}
	int nseg = npts - 1;
	es->index = -1;
	for (int i = 0; i < nseg; i++)
		if (!frac_cmp(pts[i], es->from) && !frac_cmp(pts[i + 1], es->to))
			es->index = i;
	if (es->index < 0) {
		snprintf(err, errlen,
		         "execution segment %s:%s is not one of the sequence's segments (two "
		         "consecutive points of '%.80s')",
		         frac_format(es->from, a, sizeof(a)), frac_format(es->to, b, sizeof(b)),
		         sequence);
		goto out;
	}
	/* Each segment's length, and the stripe's period: the lcm of their denominators. */
	struct frac *len = xcalloc((size_t)nseg, sizeof(*len));
	int64_t period = 1;
	for (int i = 0; i < nseg; i++) {
		__int128 num =
		    (__int128)pts[i + 1].num * pts[i].den - (__int128)pts[i].num * pts[i + 1].den;
		__int128 den = (__int128)pts[i].den * pts[i + 1].den;
		__int128 g = num, h = den;
		while (h) {
			__int128 t = g % h;
			g = h;
			h = t;
		}
		num /= g;
		den /= g;
		int64_t l = den <= SEGMENT_PERIOD_MAX
		                ? period / gcd64(period, (int64_t)den) * (int64_t)den
		                : SEGMENT_PERIOD_MAX + 1;
		if (l > SEGMENT_PERIOD_MAX || (int64_t)l * nseg > STRIPE_WORK_MAX) {
			int64_t most = MIN(STRIPE_WORK_MAX / nseg, SEGMENT_PERIOD_MAX);
			snprintf(err, errlen,
			         "execution segment%s '%.80s': its fractions need a stripe of "
			         "more than %lld indices; use fewer segments or simpler "
			         "fractions (such as 1/4, 1/8, 1/10)",
			         sequence ? " sequence" : "", sequence ? sequence : segment,
			         (long long)most);
			free(len);
			goto out;
		}
		len[i] = (struct frac){ (int64_t)num, (int64_t)den };
		period = l;
	}
	count = xcalloc((size_t)nseg, sizeof(*count));
	for (int i = 0; i < nseg; i++)
		count[i] = len[i].num * (period / len[i].den);
	free(len);
	es->period = period;
	es->nseq = nseg;
	build_stripe(es, count, nseg, es->index);

	snprintf(es->text, sizeof(es->text), "%s:%s", frac_format(es->from, a, sizeof(a)),
	         frac_format(es->to, b, sizeof(b)));
	struct buf sb = { 0 };
	for (int i = 0; i < npts; i++)
		buf_printf(&sb, "%s%s", i ? "," : "", frac_format(pts[i], a, sizeof(a)));
	es->sequence = sb.p; /* NUL-terminated: at least one point was added */
	es->whole = false;
	rc = 0;
out:
	free(pts);
	free(count);
	if (rc < 0)
		exec_segment_free(es);
	return rc;
}

void exec_segment_free(struct exec_segment *es)
{
	free(es->pos);
	free(es->sequence);
	memset(es, 0, sizeof(*es));
	es->whole = true;
}

int64_t exec_segment_scale(const struct exec_segment *es, int64_t n)
{
	if (!es || es->whole || n <= 0)
		return MAX(n, 0);
	int64_t full = n / es->period, rem = n % es->period, k = 0;
	/* positions below rem: a binary search in the increasing pos */
	int64_t lo = 0, hi = es->npos;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if (es->pos[mid] < rem)
			lo = mid + 1;
		else
			hi = mid;
	}
	k = lo;
	return full * es->npos + k;
}

int64_t exec_segment_index(const struct exec_segment *es, int64_t k)
{
	if (!es || es->whole || es->npos <= 0)
		return k;
	return (k / es->npos) * es->period + es->pos[k % es->npos];
}

int64_t exec_segment_deal(const struct exec_segment *es, int64_t owners, int64_t k)
{
	int64_t mine = exec_segment_scale(es, owners);
	if (!es || es->whole || mine <= 0)
		return k;
	return k / mine * owners + exec_segment_index(es, k % mine);
}

double exec_segment_fraction(const struct exec_segment *es)
{
	if (!es || es->whole)
		return 1;
	return (double)es->npos / (double)es->period;
}
