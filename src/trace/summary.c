/*
 * summary.c - per-group statistics over a session's events (see summary.h).
 *
 * Two passes over the events of every track. The first finds each selected
 * event's group (by a direct array indexed by key: string ids are dense) and
 * counts the group's events.
 * The counts give each group a slice of one array of values; the second pass
 * fills the slices and the running min, max and total. Each group's median
 * then comes from a selection in its slice (expected O(size), with a qsort
 * fallback when the selection degenerates), and its standard deviation from a
 * second pass over the slice around the mean, which keeps precision for
 * large values with a small spread. Totals are kept exact in 128 bits (two
 * u64 words) until converted to double.
 *
 * Memory: 8 bytes per selected event for the values, 4 bytes per string for
 * the key map, plus the groups.
 */
#include "trace/summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trace/intern.h"
#include "util/xalloc.h"

/* An exact unsigned 128-bit sum. */
struct sum128 {
	uint64_t hi, lo;
};

/* Adds v to *s. */
static void sum128_add(struct sum128 *s, uint64_t v)
{
	s->lo += v;
	if (s->lo < v)
		s->hi++;
}

/* *s as the nearest double. */
static double sum128_double(const struct sum128 *s)
{
	return ldexp((double)s->hi, 64) + (double)s->lo;
}

/* Three-way comparison of two sums. */
static int sum128_cmp(const struct sum128 *a, const struct sum128 *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

struct group {
	uint32_t key;
	uint64_t count;
	size_t off, fill; /* slice of the values array and how much of it is filled */
	uint64_t min, max;
	struct sum128 total;
};

/* The groups and the map from key to position + 1: a dense array for keys
 * below dense_n (string ids are dense, memop keys small), a hash index for
 * any other key (an event naming a string the session never interned). */
struct groups {
	struct group *g;
	size_t n, cap;
	uint32_t *dense;
	size_t dense_n;
	struct trace_index index;
};

/* The memop key of a memcpy (its copy kind, Unknown when out of range) or a
 * memset; UINT32_MAX for other kinds, which have none. */
uint32_t trace_summary_memop_key(const struct trace_event *ev)
{
	if (ev->kind == TRACE_MEMSET)
		return TRACE_SUMMARY_MEMSET_KEY;
	if (ev->kind != TRACE_MEMCPY)
		return UINT32_MAX;
	unsigned ck = trace_memcpy_copy_kind(ev);
	return ck <= TRACE_COPY_KIND_MAX ? ck : TRACE_COPY_UNKNOWN;
}

/* nsys's operation names by memop key; "[unknown]" for a key that is none. */
const char *trace_summary_memop_name(uint32_t key)
{
	static const char *const names[] = {
	    [TRACE_COPY_UNKNOWN] = "[CUDA memcpy Unknown]",
	    [TRACE_COPY_HTOD] = "[CUDA memcpy Host-to-Device]",
	    [TRACE_COPY_DTOH] = "[CUDA memcpy Device-to-Host]",
	    [TRACE_COPY_HTOA] = "[CUDA memcpy Host-to-Array]",
	    [TRACE_COPY_ATOH] = "[CUDA memcpy Array-to-Host]",
	    [TRACE_COPY_ATOA] = "[CUDA memcpy Array-to-Array]",
	    [TRACE_COPY_ATOD] = "[CUDA memcpy Array-to-Device]",
	    [TRACE_COPY_DTOA] = "[CUDA memcpy Device-to-Array]",
	    [TRACE_COPY_DTOD] = "[CUDA memcpy Device-to-Device]",
	    [TRACE_COPY_HTOH] = "[CUDA memcpy Host-to-Host]",
	    [TRACE_COPY_PTOP] = "[CUDA memcpy Peer-to-Peer]",
	};
	if (key == TRACE_SUMMARY_MEMSET_KEY)
		return "[CUDA memset]";
	if (key < sizeof(names) / sizeof(names[0]))
		return names[key];
	return "[unknown]";
}

/* Whether `ev` enters the summary of `spec` (kind in the mask, flags
 * filter met, not open); if so its key and value. */
static bool summary_take(const struct trace_summary_spec *spec, const struct trace_event *ev, uint32_t *key,
                         uint64_t *value)
{
	if (ev->kind >= 32 || !(spec->kind_mask & (1u << ev->kind)) || (ev->flags & TRACE_FLAG_OPEN) ||
	    (ev->flags & spec->flags_mask) != spec->flags_value)
		return false;
	if (spec->key == TRACE_SUMMARY_BY_MEMOP) {
		*key = trace_summary_memop_key(ev);
		if (*key == UINT32_MAX)
			return false;
	} else {
		*key = ev->name;
	}
	if (spec->value == TRACE_SUMMARY_BYTES)
		*value = ev->u.bytes;
	else
		*value = (uint64_t)ev->end - (uint64_t)ev->start; /* <= INT64_MAX (event.h) */
	return true;
}

/* Index equality: the group at position id - 1 has key *key. */
static bool group_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct groups *gs = ctx;
	return gs->g[id - 1].key == *(const uint32_t *)key;
}

/* Creates an empty group for `key` and returns its position + 1. */
static uint32_t group_new(struct groups *gs, uint32_t key)
{
	gs->g = xgrow(gs->g, &gs->cap, gs->n + 1, sizeof(*gs->g));
	memset(&gs->g[gs->n], 0, sizeof(*gs->g));
	gs->g[gs->n].key = key;
	gs->g[gs->n].min = UINT64_MAX;
	return (uint32_t)++gs->n;
}

/* The group of `key`, created (empty) when absent. O(1) for dense keys,
 * O(1) expected otherwise. */
static struct group *group_of(struct groups *gs, uint32_t key)
{
	if (key < gs->dense_n) {
		if (!gs->dense[key])
			gs->dense[key] = group_new(gs, key);
		return &gs->g[gs->dense[key] - 1];
	}
	uint32_t hash = trace_hash_bytes(&key, sizeof(key));
	uint32_t pos = trace_index_find(&gs->index, hash, group_eq, gs, &key);
	if (!pos) {
		pos = group_new(gs, key);
		trace_index_insert(&gs->index, hash, pos);
	}
	return &gs->g[pos - 1];
}

/* qsort comparison of u64 values. */
static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Median of three values. */
static uint64_t median3(uint64_t a, uint64_t b, uint64_t c)
{
	if (a > b) {
		uint64_t t = a;
		a = b;
		b = t;
	}
	if (b > c)
		b = c;
	return a > b ? a : b;
}

/* Reorders v[0..n) so that v[k] is the value of rank k, with v[0..k) <= v[k]
 * <= v[k+1..n). Three-way partitioning keeps runs of equal values (common
 * in durations) linear; after a step budget of about 2 log2 n the remaining
 * range is sorted with qsort, so the worst case stays O(n log n). */
static void select_rank(uint64_t *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n;
	unsigned budget = 16;
	for (size_t m = n; m > 1; m >>= 1)
		budget += 2;

	while (hi - lo > 16) {
		if (budget-- == 0) {
			qsort(v + lo, hi - lo, sizeof(*v), u64_cmp);
			return;
		}
		uint64_t p = median3(v[lo], v[lo + (hi - lo) / 2], v[hi - 1]);
		size_t lt = lo, i = lo, gt = hi; /* [lo,lt) < p, [lt,i) == p, [gt,hi) > p */
		while (i < gt) {
			uint64_t x = v[i];
			if (x < p) {
				v[i++] = v[lt];
				v[lt++] = x;
			} else if (x > p) {
				v[i] = v[--gt];
				v[gt] = x;
			} else {
				i++;
			}
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return;
	}
	for (size_t i = lo + 1; i < hi; i++) { /* insertion sort of the small rest */
		uint64_t x = v[i];
		size_t j = i;
		while (j > lo && v[j - 1] > x) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/* Median of v[0..n) (n >= 1): the middle value or the mean of the two
 * middle ones. Reorders v. */
static double median_of(uint64_t *v, size_t n)
{
	size_t k = n / 2;
	select_rank(v, n, k);
	if (n % 2)
		return (double)v[k];
	uint64_t lower = v[0];
	for (size_t i = 1; i < k; i++)
		if (v[i] > lower)
			lower = v[i];
	return ((double)lower + (double)v[k]) / 2.0;
}

/* Row order: total descending, then key ascending. */
static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c = sum128_cmp(&y->total, &x->total);
	if (c)
		return c;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* Builds the summary of `spec` over `s` into *out; see summary.h. An
 * unknown spec key or value selects nothing. */
int trace_summary_build(const struct trace_session *s, const struct trace_summary_spec *spec,
                        struct trace_summary *out)
{
	memset(out, 0, sizeof(*out));
	if ((spec->key != TRACE_SUMMARY_BY_NAME && spec->key != TRACE_SUMMARY_BY_MEMOP) ||
	    (spec->value != TRACE_SUMMARY_DURATION && spec->value != TRACE_SUMMARY_BYTES))
		return 0;

	struct groups gs = {0};
	gs.dense_n =
	    spec->key == TRACE_SUMMARY_BY_NAME ? trace_session_string_count(s) : TRACE_SUMMARY_MEMSET_KEY + 1;
	gs.dense = xcalloc(gs.dense_n, sizeof(*gs.dense));
	size_t total_n = 0;
	uint32_t ntracks = trace_session_track_count(s);
	for (uint32_t t = 1; t < ntracks; t++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, t, &n);
		for (size_t i = 0; i < n; i++) {
			uint32_t key;
			uint64_t value;
			if (!summary_take(spec, &ev[i], &key, &value))
				continue;
			group_of(&gs, key)->count++;
			total_n++;
		}
	}
	if (!gs.n)
		goto out;

	size_t off = 0;
	for (size_t i = 0; i < gs.n; i++) {
		gs.g[i].off = off;
		off += gs.g[i].count;
	}
	uint64_t *values = xmalloc(total_n * sizeof(*values));
	for (uint32_t t = 1; t < ntracks; t++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, t, &n);
		for (size_t i = 0; i < n; i++) {
			uint32_t key;
			uint64_t value;
			if (!summary_take(spec, &ev[i], &key, &value))
				continue;
			struct group *g = group_of(&gs, key);
			values[g->off + g->fill++] = value;
			sum128_add(&g->total, value);
			if (value < g->min)
				g->min = value;
			if (value > g->max)
				g->max = value;
		}
	}

	qsort(gs.g, gs.n, sizeof(*gs.g), group_cmp);
	struct sum128 grand = {0, 0};
	for (size_t i = 0; i < gs.n; i++) {
		sum128_add(&grand, gs.g[i].total.lo);
		grand.hi += gs.g[i].total.hi;
	}
	out->grand_total = sum128_double(&grand);
	out->rows = xcalloc(gs.n, sizeof(*out->rows));
	out->n = gs.n;
	for (size_t i = 0; i < gs.n; i++) {
		const struct group *g = &gs.g[i];
		struct trace_summary_row *r = &out->rows[i];
		uint64_t *v = values + g->off;
		r->key = g->key;
		r->count = g->count;
		r->total = sum128_double(&g->total);
		r->min = (double)g->min;
		r->max = (double)g->max;
		r->mean = r->total / (double)g->count;
		if (g->count > 1) {
			double ss = 0;
			for (size_t j = 0; j < g->count; j++) {
				double d = (double)v[j] - r->mean;
				ss += d * d;
			}
			r->stddev = sqrt(ss / (double)(g->count - 1));
		}
		r->median = median_of(v, g->count);
		r->percent = out->grand_total > 0 ? r->total / out->grand_total * 100.0 : 0;
	}
	free(values);
out:
	free(gs.g);
	free(gs.dense);
	trace_index_free(&gs.index);
	return 0;
}

/* Frees the rows and zeroes *sum. */
void trace_summary_free(struct trace_summary *sum)
{
	free(sum->rows);
	memset(sum, 0, sizeof(*sum));
}
