/* fold.c: counted stacks with interned frame names, and the perf script / folded readers. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/fold.h"
#include "util/common.h"

#define NAMES_OVER "[names over cap]"
#define TRUNCATED  "[truncated]"

struct stack {
	uint32_t off; /* first frame id in frames[] */
	uint32_t depth;
	uint64_t count;
};

struct folded {
	/* names: ids into name_off[], bytes in name_buf (NUL-terminated each) */
	char *name_buf;
	size_t name_len, name_cap;
	uint32_t *name_off;
	uint32_t nnames, names_cap;
	uint32_t *name_hash; /* open addressing: id + 1, 0 empty */
	uint32_t name_hash_cap;
	/* stacks: frames of every stack in frames[], the stacks, and their hash index */
	uint32_t *frames;
	size_t nframes, frames_cap;
	struct stack *stacks;
	uint32_t nstacks, stacks_cap;
	uint32_t *stack_hash; /* index + 1, 0 empty */
	uint32_t stack_hash_cap;
	struct fold_stats st;
};

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}

#define HASH_SEED 0xcbf29ce484222325ULL

static uint32_t intern(struct folded *f, const char *s, size_t n);

struct fold_stats folded_stats(const struct folded *f)
{
	return f->st;
}

struct fold_opts fold_opts_default(void)
{
	return (struct fold_opts){ .with_comm = true, .by_period = false, .mark_kernel = true };
}

struct folded *folded_new(void)
{
	struct folded *f = xcalloc(1, sizeof(*f));
	f->name_hash_cap = 1024;
	f->name_hash = xcalloc(f->name_hash_cap, sizeof(*f->name_hash));
	f->stack_hash_cap = 1024;
	f->stack_hash = xcalloc(f->stack_hash_cap, sizeof(*f->stack_hash));
	/* the names the bounds use are always there, so that they never need room */
	intern(f, NAMES_OVER, strlen(NAMES_OVER));
	intern(f, TRUNCATED, strlen(TRUNCATED));
	intern(f, "[unknown]", 9);
	return f;
}

void folded_free(struct folded *f)
{
	if (!f)
		return;
	free(f->name_buf);
	free(f->name_off);
	free(f->name_hash);
	free(f->frames);
	free(f->stacks);
	free(f->stack_hash);
	free(f);
}

static const char *name_of(const struct folded *f, uint32_t id)
{
	return f->name_buf + f->name_off[id];
}

static void name_rehash(struct folded *f)
{
	uint32_t cap = f->name_hash_cap * 2, mask = cap - 1;
	uint32_t *h = xcalloc(cap, sizeof(*h));
	for (uint32_t id = 0; id < f->nnames; id++) {
		const char *s = name_of(f, id);
		uint32_t i = (uint32_t)hash_bytes(s, strlen(s), HASH_SEED) & mask;
		while (h[i])
			i = (i + 1) & mask;
		h[i] = id + 1;
	}
	free(f->name_hash);
	f->name_hash = h, f->name_hash_cap = cap;
}

/* The id of name s[0..n) (already clean), added when new; "[names over cap]" past the caps. */
static uint32_t intern(struct folded *f, const char *s, size_t n)
{
	uint32_t mask = f->name_hash_cap - 1;
	uint32_t i = (uint32_t)hash_bytes(s, n, HASH_SEED) & mask;
	for (; f->name_hash[i]; i = (i + 1) & mask) {
		const char *t = name_of(f, f->name_hash[i] - 1);
		if (!strncmp(t, s, n) && t[n] == '\0')
			return f->name_hash[i] - 1;
	}
	if (f->nnames >= FOLD_MAX_NAMES || f->name_len + n + 1 > FOLD_MAX_NAME_BYTES) {
		f->st.names_over++;
		return 0; /* NAMES_OVER, interned first by folded_new */
	}
	if (f->name_len + n + 1 > f->name_cap) {
		f->name_cap = MAX(f->name_cap * 2, f->name_len + n + 1 + 4096);
		f->name_buf = xrealloc(f->name_buf, f->name_cap);
	}
	if (f->nnames == f->names_cap) {
		f->names_cap = f->names_cap ? f->names_cap * 2 : 256;
		f->name_off = xrealloc(f->name_off, sizeof(*f->name_off) * f->names_cap);
	}
	memcpy(f->name_buf + f->name_len, s, n);
	f->name_buf[f->name_len + n] = '\0';
	f->name_off[f->nnames] = (uint32_t)f->name_len;
	f->name_len += n + 1;
	f->name_hash[i] = ++f->nnames;
	if (f->nnames * 2 > f->name_hash_cap)
		name_rehash(f);
	return f->nnames - 1;
}

/* Intern s[0..n) cleaned for the folded format: at most FOLD_MAX_NAME bytes, ';' -> ':',
 * control characters -> '?', empty -> "[unknown]". */
static uint32_t intern_clean(struct folded *f, const char *s, size_t n)
{
	char tmp[FOLD_MAX_NAME];
	if (n == 0)
		return intern(f, "[unknown]", 9);
	n = MIN(n, sizeof(tmp));
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		tmp[i] = c == ';' ? ':' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	return intern(f, tmp, n);
}

static uint64_t stack_hash(const uint32_t *ids, uint32_t depth)
{
	return hash_bytes(ids, sizeof(*ids) * depth, HASH_SEED ^ depth);
}

static void stack_rehash(struct folded *f, uint32_t cap)
{
	uint32_t mask = cap - 1;
	uint32_t *h = xcalloc(cap, sizeof(*h));
	for (uint32_t k = 0; k < f->nstacks; k++) {
		const struct stack *s = &f->stacks[k];
		uint32_t i = (uint32_t)stack_hash(f->frames + s->off, s->depth) & mask;
		while (h[i])
			i = (i + 1) & mask;
		h[i] = k + 1;
	}
	free(f->stack_hash);
	f->stack_hash = h, f->stack_hash_cap = cap;
}

/* Add count to the stack of ids[0..depth) (root first). */
static int add_ids(struct folded *f, const uint32_t *ids, uint32_t depth, uint64_t count)
{
	uint32_t mask = f->stack_hash_cap - 1;
	uint32_t i = (uint32_t)stack_hash(ids, depth) & mask;

	f->st.samples++;
	for (; f->stack_hash[i]; i = (i + 1) & mask) {
		struct stack *s = &f->stacks[f->stack_hash[i] - 1];
		if (s->depth == depth && !memcmp(f->frames + s->off, ids, sizeof(*ids) * depth)) {
			s->count += count;
			f->st.total += count;
			return 0;
		}
	}
	if (f->nstacks >= FOLD_MAX_STACKS) {
		f->st.dropped += count;
		return -ENOSPC;
	}
	if (f->nframes + depth > f->frames_cap) {
		f->frames_cap = MAX(f->frames_cap * 2, f->nframes + depth + 1024);
		f->frames = xrealloc(f->frames, sizeof(*f->frames) * f->frames_cap);
	}
	if (f->nstacks == f->stacks_cap) {
		f->stacks_cap = f->stacks_cap ? f->stacks_cap * 2 : 256;
		f->stacks = xrealloc(f->stacks, sizeof(*f->stacks) * f->stacks_cap);
	}
	memcpy(f->frames + f->nframes, ids, sizeof(*ids) * depth);
	f->stacks[f->nstacks] = (struct stack){ (uint32_t)f->nframes, depth, count };
	f->nframes += depth;
	f->stack_hash[i] = ++f->nstacks;
	f->st.total += count;
	if (f->nstacks * 2 > f->stack_hash_cap)
		stack_rehash(f, f->stack_hash_cap * 2);
	return 0;
}

/* Cut ids (root first) to FOLD_MAX_DEPTH: the root side kept, "[truncated]" as the leaf. */
static uint32_t cap_depth(struct folded *f, uint32_t *ids, uint32_t depth)
{
	if (depth <= FOLD_MAX_DEPTH)
		return depth;
	f->st.truncated++;
	ids[FOLD_MAX_DEPTH - 1] = intern(f, TRUNCATED, strlen(TRUNCATED));
	return FOLD_MAX_DEPTH;
}

int folded_add(struct folded *f, const char *const *frames, int depth, uint64_t count)
{
	uint32_t ids[FOLD_MAX_DEPTH];
	int n = MIN(depth, FOLD_MAX_DEPTH);
	if (depth <= 0 || count == 0)
		return 0;
	for (int i = 0; i < n; i++)
		ids[i] = intern_clean(f, frames[i], strlen(frames[i]));
	if (depth > FOLD_MAX_DEPTH)
		cap_depth(f, ids, FOLD_MAX_DEPTH + 1);
	return add_ids(f, ids, (uint32_t)n, count);
}

/* --- order and access ---------------------------------------------------------------- */

static const struct folded *sort_ctx; /* qsort has no context argument; one caller thread */

static int stack_cmp(const void *a, const void *b)
{
	const struct stack *x = a, *y = b;
	const struct folded *f = sort_ctx;
	uint32_t n = MIN(x->depth, y->depth);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t p = f->frames[x->off + i], q = f->frames[y->off + i];
		if (p != q) {
			int c = strcmp(name_of(f, p), name_of(f, q));
			if (c)
				return c;
		}
	}
	return x->depth < y->depth ? -1 : x->depth > y->depth;
}

void folded_sort(struct folded *f)
{
	sort_ctx = f;
	qsort(f->stacks, f->nstacks, sizeof(*f->stacks), stack_cmp);
	sort_ctx = NULL;
	stack_rehash(f, f->stack_hash_cap);
}

size_t folded_nstacks(const struct folded *f)
{
	return f->nstacks;
}

uint64_t folded_stack_count(const struct folded *f, size_t i)
{
	return f->stacks[i].count;
}

int folded_stack_frames(const struct folded *f, size_t i, const char **names, int max)
{
	const struct stack *s = &f->stacks[i];
	for (uint32_t k = 0; k < s->depth && (int)k < max; k++)
		names[k] = name_of(f, f->frames[s->off + k]);
	return (int)s->depth;
}

void folded_write(const struct folded *f, struct buf *out)
{
	char num[32];
	for (uint32_t k = 0; k < f->nstacks; k++) {
		const struct stack *s = &f->stacks[k];
		for (uint32_t i = 0; i < s->depth; i++) {
			if (i)
				buf_add(out, ";", 1);
			buf_addstr(out, name_of(f, f->frames[s->off + i]));
		}
		snprintf(num, sizeof(num), " %llu\n", (unsigned long long)s->count);
		buf_addstr(out, num);
	}
}

/* --- folded text ---------------------------------------------------------------------- */

/* Add one folded line s[0..n) (no newline). Returns 0 or -EINVAL with the reason in why. */
static int parse_folded_line(struct folded *f, const char *s, size_t n, const char **why)
{
	uint32_t ids[FOLD_MAX_DEPTH + 1];
	uint32_t depth = 0;
	const char *sp = NULL;
	for (size_t i = n; i > 0; i--)
		if (s[i - 1] == ' ') {
			sp = s + i - 1;
			break;
		}
	if (!sp) {
		*why = "expected 'frame;frame;... COUNT': no count";
		return -EINVAL;
	}
	const char *c = sp + 1, *end = s + n;
	uint64_t count = 0;
	if (c == end) {
		*why = "expected 'frame;frame;... COUNT': no count";
		return -EINVAL;
	}
	for (; c < end; c++) {
		if (!isdigit((unsigned char)*c) || count > (UINT64_MAX - 9) / 10) {
			*why = "the count is not a whole number (or is too large)";
			return -EINVAL;
		}
		count = count * 10 + (uint64_t)(*c - '0');
	}
	const char *p = s;
	while (p <= sp) {
		const char *q = memchr(p, ';', (size_t)(sp - p));
		if (!q)
			q = sp;
		if (q == p) {
			*why = "empty frame name";
			return -EINVAL;
		}
		if (depth <= FOLD_MAX_DEPTH)
			ids[depth++] = intern_clean(f, p, (size_t)(q - p));
		else
			depth = FOLD_MAX_DEPTH + 1;
		p = q + 1;
	}
	if (count == 0)
		return 0;
	depth = cap_depth(f, ids, depth);
	add_ids(f, ids, depth, count);
	return 0;
}

int folded_parse(struct folded *f, const char *text, size_t len, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	size_t line = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *why = NULL;
		line++;
		if (e > p && e[-1] == '\r')
			e--;
		if (e > p && memchr(p, '\0', (size_t)(e - p))) {
			why = "a NUL byte (not a text file?)";
		} else if (e > p && parse_folded_line(f, p, (size_t)(e - p), &why) == 0) {
			why = NULL;
		}
		if (why) {
			snprintf(err, errlen, "line %zu: %s", line, why);
			return -EINVAL;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* --- perf script ---------------------------------------------------------------------- */

struct fold_perf {
	struct folded *f;
	struct fold_opts o;
	struct buf line; /* a partial line across feeds */
	bool line_cut;
	bool in_sample;
	uint32_t comm;
	uint64_t weight;
	/* frames as read, leaf first; once more than FOLD_MAX_DEPTH came, the last
	 * FOLD_MAX_DEPTH (nearest the root) are kept in a ring */
	uint32_t ring[FOLD_MAX_DEPTH];
	uint32_t nframes;  /* frames seen in this sample */
	bool header_frame; /* the header held the only frame (no -g) */
};

struct fold_perf *fold_perf_new(struct folded *f, const struct fold_opts *opts)
{
	struct fold_perf *p = xcalloc(1, sizeof(*p));
	p->f = f;
	p->o = opts ? *opts : fold_opts_default();
	return p;
}

void fold_perf_free(struct fold_perf *p)
{
	if (!p)
		return;
	buf_free(&p->line);
	free(p);
}

/* Store the sample read so far. */
static void end_sample(struct fold_perf *p)
{
	uint32_t ids[FOLD_MAX_DEPTH + 2];
	uint32_t depth = 0, kept = MIN(p->nframes, FOLD_MAX_DEPTH);

	if (!p->in_sample)
		return;
	p->in_sample = false;
	if (p->nframes == 0) {
		p->f->st.no_stack++;
		return;
	}
	if (p->o.with_comm)
		ids[depth++] = p->comm;
	/* the ring holds frame k (0 = leaf) at k % FOLD_MAX_DEPTH; root first */
	for (uint32_t k = p->nframes; k > p->nframes - kept; k--)
		ids[depth++] = p->ring[(k - 1) % FOLD_MAX_DEPTH];
	if (p->nframes > kept)
		depth++; /* past the cap: cap_depth marks the cut */
	depth = cap_depth(p->f, ids, depth);
	add_ids(p->f, ids, depth, p->weight ? p->weight : 1);
}

static bool all_digits(const char *s, size_t n, bool slash_ok)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) &&
		    !(slash_ok && s[i] == '/' && i > 0 && i < n - 1))
			return false;
	return true;
}

/* A timestamp token "123.456789:". */
static bool is_time(const char *s, size_t n)
{
	if (n < 2 || s[n - 1] != ':')
		return false;
	bool dot = false;
	for (size_t i = 0; i < n - 1; i++) {
		if (s[i] == '.' && !dot)
			dot = true;
		else if (!isdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

struct tok {
	const char *s;
	size_t n;
};

#define MAX_TOKS 64

static int tokenize(const char *s, size_t n, struct tok *t, int max)
{
	int k = 0;
	size_t i = 0;
	while (i < n && k < max) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n)
			break;
		size_t b = i;
		while (i < n && s[i] != ' ' && s[i] != '\t')
			i++;
		t[k++] = (struct tok){ s + b, i - b };
	}
	return k;
}

static bool is_kernel_dso(const char *d, size_t n)
{
	return n >= 7 && !memcmp(d, "[kernel", 7);
}

/* A frame "ADDR SYMBOL+0xOFF (DSO)" (leading blanks skipped): push its name. */
static void add_frame_line(struct fold_perf *p, const char *s, size_t n)
{
	char name[FOLD_MAX_NAME + 8];
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	const char *sp = memchr(s, ' ', n);
	const char *sym = sp ? sp + 1 : s + n, *end = s + n;
	const char *dso = NULL;
	size_t dso_n = 0;
	if (end > sym && end[-1] == ')') { /* the dso: the last " (" */
		for (const char *q = end - 1; q > sym; q--)
			if (q[-1] == ' ' && q[0] == '(') {
				dso = q + 1, dso_n = (size_t)(end - 1 - dso);
				end = q - 1;
				break;
			}
	}
	while (end > sym && end[-1] == ' ')
		end--;
	/* cut "+0xOFF" */
	for (const char *q = end; q > sym + 1; q--) {
		if (q[-1] == '+' && end - q > 2 && q[0] == '0' && q[1] == 'x') {
			bool hex = true;
			for (const char *h = q + 2; h < end; h++)
				hex = hex && isxdigit((unsigned char)*h);
			if (hex)
				end = q - 1;
			break;
		}
	}
	size_t len = MIN((size_t)(end - sym), (size_t)FOLD_MAX_NAME);
	memcpy(name, sym, len);
	if (len == 0)
		memcpy(name, "[unknown]", len = 9);
	if (p->o.mark_kernel && dso && is_kernel_dso(dso, dso_n)) {
		len = MIN(len, (size_t)FOLD_MAX_NAME - 4);
		memcpy(name + len, FOLD_KERNEL_SUFFIX, 4), len += 4;
	}
	p->ring[p->nframes % FOLD_MAX_DEPTH] = intern_clean(p->f, name, len);
	p->nframes++;
}

/* A sample header: the comm, the period, and a frame after the event when there is one. */
static void start_sample(struct fold_perf *p, const char *s, size_t n)
{
	struct tok t[MAX_TOKS];
	int k = tokenize(s, n, t, MAX_TOKS), pid = -1, ti = -1;

	end_sample(p);
	/* PID[/TID] is the first numeric token after the comm followed by [CPU] or TIME: */
	for (int i = 1; i + 1 < k; i++) {
		if (!all_digits(t[i].s, t[i].n, true))
			continue;
		int j = i + 1;
		if (t[j].n > 2 && t[j].s[0] == '[' && t[j].s[t[j].n - 1] == ']')
			j++;
		if (j < k && is_time(t[j].s, t[j].n)) {
			pid = i, ti = j;
			break;
		}
	}
	if (pid < 0)
		pid = 1; /* no pid/time fields: the comm is the first word */
	size_t comm_n = k ? (size_t)(t[pid - 1].s + t[pid - 1].n - s) : 0;
	p->comm = intern_clean(p->f, s, comm_n ? comm_n : 0);
	p->in_sample = true;
	p->nframes = 0;
	p->weight = 1;
	if (ti < 0)
		return;
	int e = ti + 1;
	if (e < k && all_digits(t[e].s, t[e].n, false)) {
		if (p->o.by_period)
			p->weight = strtoull(t[e].s, NULL, 10);
		e++;
	}
	/* the event name ends with ':'; anything after it is an ADDR SYM (DSO) frame */
	while (e < k && t[e].s[t[e].n - 1] != ':')
		e++;
	if (e + 1 < k) {
		const char *rest = t[e + 1].s;
		add_frame_line(p, rest, (size_t)(s + n - rest));
	}
}

static void process_line(struct fold_perf *p, const char *s, size_t n)
{
	if (n && s[n - 1] == '\r')
		n--;
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == n) { /* blank: the sample ends */
		end_sample(p);
		return;
	}
	if (i > 0 && p->in_sample) {
		if (p->nframes == 1 && p->header_frame) {
			/* the "frame" on the header was not one after all: stacks follow */
			p->nframes = 0;
		}
		p->header_frame = false;
		add_frame_line(p, s, n);
		return;
	}
	if (i > 0)
		return; /* a frame line outside a sample: skipped */
	start_sample(p, s, n);
	p->header_frame = p->nframes == 1;
}

void fold_perf_feed(struct fold_perf *p, const char *data, size_t len)
{
	const char *end = data + len;
	while (data < end) {
		const char *nl = memchr(data, '\n', (size_t)(end - data));
		size_t n = (size_t)((nl ? nl : end) - data);
		size_t room = FOLD_MAX_LINE - MIN(p->line.len, (size_t)FOLD_MAX_LINE);
		if (n > room && !p->line_cut) {
			p->line_cut = true;
			p->f->st.lines_cut++;
		}
		if (MIN(n, room))
			buf_add(&p->line, data, MIN(n, room));
		if (!nl)
			break;
		process_line(p, p->line.p ? p->line.p : "", p->line.len);
		p->line.len = 0;
		p->line_cut = false;
		data = nl + 1;
	}
}

void fold_perf_finish(struct fold_perf *p)
{
	if (p->line.len)
		process_line(p, p->line.p, p->line.len);
	p->line.len = 0;
	end_sample(p);
}

void fold_perf_script(struct folded *f, const struct fold_opts *opts, const char *text, size_t len)
{
	struct fold_perf *p = fold_perf_new(f, opts);
	fold_perf_feed(p, text, len);
	fold_perf_finish(p);
	fold_perf_free(p);
}
