/*
 * test_summary.c - unit tests of per-group statistics (trace/summary.h).
 *
 * Hand-made sessions whose statistics are written out by hand (odd and even
 * medians, a single-event group, open events, ties in the row order, totals
 * past 2^64, the flags filter), and random sessions checked against a
 * brute-force reference computed here in a different way: values collected
 * per key by linear search, sorted by insertion, the standard deviation from
 * the sum of squares in long double.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace/summary.h"

/* A deterministic xorshift64 generator for test data. */
static uint64_t rng_next(uint64_t *st)
{
	uint64_t x = *st;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *st = x;
}

/* Asserts |a - b| <= rel * max(1, |b|). */
static void assert_close(double a, double b, double rel)
{
	double tol = rel * (fabs(b) > 1 ? fabs(b) : 1);
	if (!(fabs(a - b) <= tol))
		fail_msg("%.17g != %.17g (tolerance %g)", a, b, tol);
}

/* Appends one event; returns nothing, asserts success. */
static void put(struct trace_session *s, uint32_t track, uint8_t kind, uint32_t name, int64_t start,
                int64_t dur, uint64_t bytes, uint16_t sub, uint8_t flags)
{
	struct trace_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.track = track;
	ev.kind = kind;
	ev.name = name;
	ev.start = start;
	ev.end = start + dur;
	ev.u.bytes = bytes;
	ev.sub = sub;
	ev.flags = flags;
	assert_int_equal(trace_session_append(s, &ev), 0);
}

static uint32_t stream_track(struct trace_session *s, uint32_t stream)
{
	struct trace_track_info t = {.kind = TRACE_TRACK_STREAM, .pid = 1, .context = 1, .stream = stream};
	return trace_session_add_track(s, &t);
}

/* Looks up the row of `key`; fails when absent. */
static const struct trace_summary_row *row_of(const struct trace_summary *sum, uint32_t key)
{
	for (size_t i = 0; i < sum->n; i++)
		if (sum->rows[i].key == key)
			return &sum->rows[i];
	fail_msg("no row for key %u", key);
	return NULL;
}

static void test_kernel_durations(void **state)
{
	struct trace_session *s = trace_session_new();
	uint32_t c = trace_session_intern_cstr(s, "kernel_c"); /* interned first: smallest id */
	uint32_t a = trace_session_intern_cstr(s, "kernel_a");
	uint32_t b = trace_session_intern_cstr(s, "kernel_b");
	uint32_t d = trace_session_intern_cstr(s, "kernel_d");
	uint32_t api = trace_session_intern_cstr(s, "cudaLaunchKernel");
	uint32_t s1 = stream_track(s, 1), s2 = stream_track(s, 2);
	struct trace_track_info th = {.kind = TRACE_TRACK_THREAD, .pid = 1, .tid = 1};
	uint32_t t1 = trace_session_add_track(s, &th);

	put(s, s1, TRACE_KERNEL, a, 0, 10, 0, 0, 0);
	put(s, s2, TRACE_KERNEL, a, 100, 30, 0, 0, 0);
	put(s, s1, TRACE_KERNEL, a, 50, 20, 0, 0, 0);
	put(s, s1, TRACE_KERNEL, a, 500, 999, 0, 0, TRACE_FLAG_OPEN); /* left out */
	put(s, s1, TRACE_KERNEL, b, 200, 5, 0, 0, 0);
	put(s, s2, TRACE_KERNEL, b, 210, 1, 0, 0, 0);
	put(s, s2, TRACE_KERNEL, b, 220, 4, 0, 0, 0);
	put(s, s1, TRACE_KERNEL, b, 230, 100, 0, 0, 0);
	put(s, s2, TRACE_KERNEL, c, 300, 60, 0, 0, 0);
	put(s, s2, TRACE_KERNEL, d, 400, 1000, 0, 0, TRACE_FLAG_OPEN); /* d: only open, no row */
	put(s, t1, TRACE_API, api, 0, 7777, 0, 0, 0);                  /* other kind */
	trace_session_finish(s);

	struct trace_summary_spec spec = {
	    .kind_mask = 1u << TRACE_KERNEL, .key = TRACE_SUMMARY_BY_NAME, .value = TRACE_SUMMARY_DURATION};
	struct trace_summary sum;
	assert_int_equal(trace_summary_build(s, &spec, &sum), 0);
	assert_int_equal(sum.n, 3);
	assert_close(sum.grand_total, 230, 0);

	/* B (110), then the tie at 60 by key: c's id is smaller than a's */
	assert_int_equal(sum.rows[0].key, b);
	assert_int_equal(sum.rows[1].key, c);
	assert_int_equal(sum.rows[2].key, a);

	const struct trace_summary_row *r = &sum.rows[2];
	assert_int_equal(r->count, 3);
	assert_close(r->total, 60, 0);
	assert_close(r->min, 10, 0);
	assert_close(r->max, 30, 0);
	assert_close(r->mean, 20, 0);
	assert_close(r->median, 20, 0);
	assert_close(r->stddev, 10, 1e-12);
	assert_close(r->percent, 60.0 / 230 * 100, 1e-12);

	r = &sum.rows[0];
	assert_int_equal(r->count, 4);
	assert_close(r->total, 110, 0);
	assert_close(r->min, 1, 0);
	assert_close(r->max, 100, 0);
	assert_close(r->mean, 27.5, 0);
	assert_close(r->median, 4.5, 0); /* mean of 4 and 5 */
	assert_close(r->stddev, sqrt(7017.0 / 3), 1e-12);
	assert_close(r->percent, 110.0 / 230 * 100, 1e-12);

	r = &sum.rows[1];
	assert_int_equal(r->count, 1);
	assert_close(r->median, 60, 0);
	assert_close(r->mean, 60, 0);
	assert_close(r->stddev, 0, 0);
	assert_close(r->min, 60, 0);
	assert_close(r->max, 60, 0);
	trace_summary_free(&sum);
	assert_null(sum.rows);
	assert_int_equal(sum.n, 0);

	/* kernels and API calls together */
	spec.kind_mask |= 1u << TRACE_API;
	assert_int_equal(trace_summary_build(s, &spec, &sum), 0);
	assert_int_equal(sum.n, 4);
	assert_int_equal(sum.rows[0].key, api);
	assert_close(sum.grand_total, 230 + 7777, 0);
	trace_summary_free(&sum);

	/* nothing selected */
	spec.kind_mask = 1u << TRACE_MEMSET;
	assert_int_equal(trace_summary_build(s, &spec, &sum), 0);
	assert_int_equal(sum.n, 0);
	assert_null(sum.rows);
	assert_close(sum.grand_total, 0, 0);
	trace_summary_free(&sum);

	/* an unknown key or value selects nothing */
	spec.kind_mask = 1u << TRACE_KERNEL;
	spec.key = 7;
	assert_int_equal(trace_summary_build(s, &spec, &sum), 0);
	assert_int_equal(sum.n, 0);
	spec.key = TRACE_SUMMARY_BY_NAME;
	spec.value = 9;
	assert_int_equal(trace_summary_build(s, &spec, &sum), 0);
	assert_int_equal(sum.n, 0);
	trace_summary_free(&sum);
	trace_session_delete(s);
}

static void test_memops(void **state)
{
	struct trace_session *s = trace_session_new();
	uint32_t st = stream_track(s, 7);
	uint32_t k = trace_session_intern_cstr(s, "k");
	uint16_t htod = trace_memcpy_sub(TRACE_COPY_HTOD, TRACE_MEM_PAGEABLE, TRACE_MEM_DEVICE);
	uint16_t dtoh = trace_memcpy_sub(TRACE_COPY_DTOH, TRACE_MEM_DEVICE, TRACE_MEM_PINNED);
	uint16_t bogus = trace_memcpy_sub(31, 0, 0);

	put(s, st, TRACE_MEMCPY, 0, 0, 10, 100, htod, 0);
	put(s, st, TRACE_MEMCPY, 0, 20, 30, 300, htod, 0);
	put(s, st, TRACE_MEMCPY, 0, 60, 5, 50, dtoh, 0);
	put(s, st, TRACE_MEMCPY, 0, 70, 5, 77, dtoh, TRACE_FLAG_OPEN);
	put(s, st, TRACE_MEMCPY, 0, 80, 2, 8, bogus, 0);
	put(s, st, TRACE_MEMSET, 0, 90, 40, 1000, TRACE_MEM_DEVICE, 0);
	put(s, st, TRACE_KERNEL, k, 200, 400, 0, 0, 0);
	trace_session_finish(s);

	struct trace_summary_spec spec = {.kind_mask =
	                                      1u << TRACE_MEMCPY | 1u << TRACE_MEMSET | 1u << TRACE_KERNEL,
	                                  .key = TRACE_SUMMARY_BY_MEMOP,
	                                  .value = TRACE_SUMMARY_BYTES};
	struct trace_summary sum;
	assert_int_equal(trace_summary_build(s, &spec, &sum), 0);
	assert_int_equal(sum.n, 4); /* the kernel has no memop key */
	assert_int_equal(sum.rows[0].key, TRACE_SUMMARY_MEMSET_KEY);
	assert_int_equal(sum.rows[1].key, TRACE_COPY_HTOD);
	assert_int_equal(sum.rows[2].key, TRACE_COPY_DTOH);
	assert_int_equal(sum.rows[3].key, TRACE_COPY_UNKNOWN);
	assert_close(sum.grand_total, 1458, 0);
	const struct trace_summary_row *r = row_of(&sum, TRACE_COPY_HTOD);
	assert_int_equal(r->count, 2);
	assert_close(r->total, 400, 0);
	assert_close(r->median, 200, 0);
	assert_close(r->stddev, sqrt(20000), 1e-12);
	r = row_of(&sum, TRACE_COPY_DTOH);
	assert_int_equal(r->count, 1);
	assert_close(r->total, 50, 0);
	trace_summary_free(&sum);

	spec.value = TRACE_SUMMARY_DURATION;
	assert_int_equal(trace_summary_build(s, &spec, &sum), 0);
	assert_int_equal(sum.n, 4);
	assert_int_equal(sum.rows[0].key, TRACE_COPY_HTOD); /* 40 ns, then memset 40 ns: tie by key */
	assert_int_equal(sum.rows[1].key, TRACE_SUMMARY_MEMSET_KEY);
	assert_close(row_of(&sum, TRACE_COPY_HTOD)->median, 20, 0);
	assert_close(sum.grand_total, 87, 0);
	trace_summary_free(&sum);

	/* keys and names */
	struct trace_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = TRACE_MEMCPY;
	ev.sub = trace_memcpy_sub(TRACE_COPY_PTOP, TRACE_MEM_DEVICE, TRACE_MEM_DEVICE);
	assert_int_equal(trace_summary_memop_key(&ev), TRACE_COPY_PTOP);
	ev.sub = bogus;
	assert_int_equal(trace_summary_memop_key(&ev), TRACE_COPY_UNKNOWN);
	ev.kind = TRACE_MEMSET;
	assert_int_equal(trace_summary_memop_key(&ev), TRACE_SUMMARY_MEMSET_KEY);

	static const char *const names[] = {
	    "[CUDA memcpy Unknown]",          "[CUDA memcpy Host-to-Device]",
	    "[CUDA memcpy Device-to-Host]",   "[CUDA memcpy Host-to-Array]",
	    "[CUDA memcpy Array-to-Host]",    "[CUDA memcpy Array-to-Array]",
	    "[CUDA memcpy Array-to-Device]",  "[CUDA memcpy Device-to-Array]",
	    "[CUDA memcpy Device-to-Device]", "[CUDA memcpy Host-to-Host]",
	    "[CUDA memcpy Peer-to-Peer]",
	};
	for (uint32_t key = 0; key <= TRACE_COPY_KIND_MAX; key++)
		assert_string_equal(trace_summary_memop_name(key), names[key]);
	assert_string_equal(trace_summary_memop_name(TRACE_SUMMARY_MEMSET_KEY), "[CUDA memset]");
	assert_string_equal(trace_summary_memop_name(TRACE_COPY_KIND_MAX + 1), "[unknown]");
	trace_session_delete(s);
}

static void test_huge_totals_and_zero(void **state)
{
	struct trace_session *s = trace_session_new();
	uint32_t st = stream_track(s, 1);
	uint16_t dtod = trace_memcpy_sub(TRACE_COPY_DTOD, TRACE_MEM_DEVICE, TRACE_MEM_DEVICE);
	uint64_t big = UINT64_C(3) << 62;

	for (int i = 0; i < 4; i++)
		put(s, st, TRACE_MEMCPY, 0, i * 10, 1, big, dtod, 0);
	trace_session_finish(s);
	struct trace_summary_spec spec = {
	    .kind_mask = 1u << TRACE_MEMCPY, .key = TRACE_SUMMARY_BY_MEMOP, .value = TRACE_SUMMARY_BYTES};
	struct trace_summary sum;
	trace_summary_build(s, &spec, &sum);
	assert_int_equal(sum.n, 1);
	assert_close(sum.rows[0].total, ldexp(3, 64), 0); /* exact past 2^64 */
	assert_close(sum.rows[0].mean, (double)big, 0);
	assert_close(sum.rows[0].median, (double)big, 0);
	assert_close(sum.rows[0].stddev, 0, 0);
	assert_close(sum.rows[0].percent, 100, 0);
	trace_summary_free(&sum);
	trace_session_delete(s);

	/* zero-duration events: a row with total 0 and percent 0 */
	s = trace_session_new();
	st = stream_track(s, 1);
	uint32_t m = trace_session_intern_cstr(s, "mark");
	put(s, st, TRACE_NVTX_MARK, m, 5, 0, 0, 0, 0);
	put(s, st, TRACE_NVTX_MARK, m, 6, 0, 0, 0, 0);
	spec = (struct trace_summary_spec){.kind_mask = 1u << TRACE_NVTX_MARK,
	                                   .key = TRACE_SUMMARY_BY_NAME,
	                                   .value = TRACE_SUMMARY_DURATION};
	trace_summary_build(s, &spec, &sum);
	assert_int_equal(sum.n, 1);
	assert_int_equal(sum.rows[0].count, 2);
	assert_close(sum.rows[0].total, 0, 0);
	assert_close(sum.rows[0].percent, 0, 0);
	assert_close(sum.grand_total, 0, 0);
	trace_summary_free(&sum);
	trace_session_delete(s);

	/* an empty session */
	s = trace_session_new();
	trace_summary_build(s, &spec, &sum);
	assert_int_equal(sum.n, 0);
	assert_null(sum.rows);
	trace_summary_free(&sum);
	trace_session_delete(s);
}

static void test_unknown_name_ids(void **state)
{
	/* names the session never interned still group by their id */
	struct trace_session *s = trace_session_new();
	uint32_t st = stream_track(s, 1);
	uint32_t known = trace_session_intern_cstr(s, "known");
	uint32_t big = UINT32_MAX - 1, mid = 70000;

	put(s, st, TRACE_KERNEL, big, 0, 8, 0, 0, 0);
	put(s, st, TRACE_KERNEL, mid, 10, 3, 0, 0, 0);
	put(s, st, TRACE_KERNEL, big, 20, 2, 0, 0, 0);
	put(s, st, TRACE_KERNEL, known, 30, 1, 0, 0, 0);
	put(s, st, TRACE_KERNEL, mid, 40, 7, 0, 0, 0);
	struct trace_summary_spec spec = {
	    .kind_mask = 1u << TRACE_KERNEL, .key = TRACE_SUMMARY_BY_NAME, .value = TRACE_SUMMARY_DURATION};
	struct trace_summary sum;
	trace_summary_build(s, &spec, &sum);
	assert_int_equal(sum.n, 3);
	assert_int_equal(sum.rows[0].key, mid); /* 10, tie with big: smaller key first */
	assert_int_equal(sum.rows[1].key, big);
	assert_int_equal(sum.rows[2].key, known);
	assert_int_equal(sum.rows[0].count, 2);
	assert_close(sum.rows[0].median, 5, 0);
	assert_close(sum.rows[1].median, 5, 0);
	assert_close(sum.rows[2].total, 1, 0);
	trace_summary_free(&sum);
	trace_session_delete(s);
}

/* --- brute-force reference ------------------------------------------------- */

struct ref_row {
	uint32_t key;
	uint64_t *v;
	size_t n, cap;
	long double total;
};

/* Adds value v under key, finding the key by linear search. */
static void ref_add(struct ref_row **rows, size_t *n, uint32_t key, uint64_t v)
{
	size_t i = 0;
	while (i < *n && (*rows)[i].key != key)
		i++;
	if (i == *n) {
		*rows = realloc(*rows, (*n + 1) * sizeof(**rows));
		memset(&(*rows)[i], 0, sizeof(**rows));
		(*rows)[i].key = key;
		(*n)++;
	}
	struct ref_row *r = &(*rows)[i];
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 4;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
	}
	r->v[r->n++] = v;
	r->total += (long double)v;
}

/* Compares a built summary with the reference rows (which it frees). */
static void ref_check(const struct trace_summary *sum, struct ref_row *rows, size_t n)
{
	long double grand = 0;
	for (size_t i = 0; i < n; i++)
		grand += rows[i].total;
	assert_int_equal(sum->n, n);
	assert_close(sum->grand_total, (double)grand, 1e-12);

	/* reference order: selection by (total desc, key asc) */
	for (size_t i = 0; i < n; i++) {
		size_t best = i;
		for (size_t j = i + 1; j < n; j++)
			if (rows[j].total > rows[best].total ||
			    (rows[j].total == rows[best].total && rows[j].key < rows[best].key))
				best = j;
		struct ref_row t = rows[i];
		rows[i] = rows[best];
		rows[best] = t;
	}
	for (size_t i = 0; i < n; i++) {
		struct ref_row *r = &rows[i];
		const struct trace_summary_row *got = &sum->rows[i];
		for (size_t a = 1; a < r->n; a++) { /* insertion sort */
			uint64_t x = r->v[a];
			size_t b = a;
			while (b > 0 && r->v[b - 1] > x) {
				r->v[b] = r->v[b - 1];
				b--;
			}
			r->v[b] = x;
		}
		long double mean = r->total / r->n, sq = 0;
		for (size_t a = 0; a < r->n; a++)
			sq += (long double)r->v[a] * (long double)r->v[a];
		double median = r->n % 2 ? (double)r->v[r->n / 2]
		                         : ((double)r->v[r->n / 2 - 1] + (double)r->v[r->n / 2]) / 2;
		double sd = r->n > 1 ? (double)sqrtl(fabsl((sq - r->n * mean * mean) / (r->n - 1))) : 0;

		assert_int_equal(got->key, r->key);
		assert_int_equal(got->count, r->n);
		assert_close(got->total, (double)r->total, 1e-13);
		assert_close(got->min, (double)r->v[0], 0);
		assert_close(got->max, (double)r->v[r->n - 1], 0);
		assert_close(got->mean, (double)mean, 1e-12);
		assert_close(got->median, median, 0);
		assert_close(got->stddev, sd, 1e-6);
		assert_close(got->percent, grand > 0 ? (double)(r->total / grand * 100) : 0, 1e-12);
		free(r->v);
	}
	free(rows);
}

static void test_random_against_reference(void **state)
{
	enum { N = 30000, NAMES = 40, TRACKS = 5 };
	uint64_t st = 2024;

	for (int round = 0; round < 4; round++) {
		struct trace_session *s = trace_session_new();
		uint32_t tracks[TRACKS], names[NAMES];
		for (int i = 0; i < TRACKS; i++)
			tracks[i] = stream_track(s, (uint32_t)i);
		for (int i = 0; i < NAMES; i++) {
			char buf[32];
			snprintf(buf, sizeof(buf), "kernel_%d", i);
			names[i] = trace_session_intern_cstr(s, buf);
		}
		struct ref_row *by_name = NULL, *by_op = NULL, *bytes_op = NULL;
		size_t n_name = 0, n_op = 0, n_bytes = 0;
		for (int i = 0; i < N; i++) {
			uint8_t kind = (uint8_t)(1 + rng_next(&st) % 4); /* kernel, memcpy, memset, sync */
			/* skewed names: a few are frequent, many are rare; round 3 has only duplicates */
			uint32_t name = names[(rng_next(&st) % NAMES) * (rng_next(&st) % NAMES) / NAMES];
			uint64_t dur =
			    round == 3 ? 100 + rng_next(&st) % 3 : rng_next(&st) % (round ? 1000000 : 50);
			uint64_t bytes = rng_next(&st) >> (rng_next(&st) % 64);
			uint16_t sub =
			    kind == TRACE_MEMCPY ? trace_memcpy_sub((unsigned)(rng_next(&st) % 12), 1, 3) : 0;
			uint8_t flags = rng_next(&st) % 10 == 0 ? TRACE_FLAG_OPEN : 0;
			put(s, tracks[rng_next(&st) % TRACKS], kind, name, (int64_t)(rng_next(&st) % 1000000),
			    (int64_t)dur, bytes, sub, flags);
			if (flags)
				continue;
			if (kind == TRACE_KERNEL || kind == TRACE_SYNC)
				ref_add(&by_name, &n_name, name, dur);
			if (kind == TRACE_MEMCPY || kind == TRACE_MEMSET) {
				uint32_t key = kind == TRACE_MEMSET ? TRACE_SUMMARY_MEMSET_KEY
				               : (sub & 0x1f) > 10  ? 0
				                                    : (sub & 0x1f);
				ref_add(&by_op, &n_op, key, dur);
				ref_add(&bytes_op, &n_bytes, key, bytes);
			}
		}
		if (round % 2)
			trace_session_finish(s); /* sorted or not: the same summary */

		struct trace_summary sum;
		struct trace_summary_spec spec = {.kind_mask = 1u << TRACE_KERNEL | 1u << TRACE_SYNC,
		                                  .key = TRACE_SUMMARY_BY_NAME,
		                                  .value = TRACE_SUMMARY_DURATION};
		trace_summary_build(s, &spec, &sum);
		ref_check(&sum, by_name, n_name);
		trace_summary_free(&sum);

		spec = (struct trace_summary_spec){.kind_mask = 1u << TRACE_MEMCPY | 1u << TRACE_MEMSET,
		                                   .key = TRACE_SUMMARY_BY_MEMOP,
		                                   .value = TRACE_SUMMARY_DURATION};
		trace_summary_build(s, &spec, &sum);
		ref_check(&sum, by_op, n_op);
		trace_summary_free(&sum);

		spec.value = TRACE_SUMMARY_BYTES;
		trace_summary_build(s, &spec, &sum);
		ref_check(&sum, bytes_op, n_bytes);
		trace_summary_free(&sum);
		trace_session_delete(s);
	}
}

static void test_large_group_medians(void **state)
{
	/* one big group per ordering that stresses selection: random, ascending,
	 * descending, organ pipe, all equal; odd and even sizes */
	static const size_t sizes[] = {100001, 100000};
	uint64_t st = 5;

	for (int order = 0; order < 5; order++) {
		for (int z = 0; z < 2; z++) {
			size_t n = sizes[z];
			struct trace_session *s = trace_session_new();
			uint32_t t = stream_track(s, 1);
			uint32_t k = trace_session_intern_cstr(s, "k");
			uint64_t *v = malloc(n * sizeof(*v));
			for (size_t i = 0; i < n; i++) {
				switch (order) {
				case 0:
					v[i] = rng_next(&st) % 1000003;
					break;
				case 1:
					v[i] = i;
					break;
				case 2:
					v[i] = n - i;
					break;
				case 3:
					v[i] = i < n / 2 ? i : n - i;
					break;
				default:
					v[i] = 42;
					break;
				}
				put(s, t, TRACE_KERNEL, k, (int64_t)i, (int64_t)v[i], 0, 0, 0);
			}
			/* reference median by counting: the smallest value with
			 * more than n/2 - (n even) values at or below it, found by
			 * bisection over the value range */
			uint64_t lo = 0, hi = 2000000;
			size_t want_lo = (n - 1) / 2, want_hi = n / 2; /* ranks of the middle */
			double med[2];
			size_t ranks[2] = {want_lo, want_hi};
			for (int m = 0; m < 2; m++) {
				lo = 0;
				hi = 2000000;
				while (lo < hi) { /* smallest x with count(v <= x) > rank */
					uint64_t mid = (lo + hi) / 2;
					size_t c = 0;
					for (size_t i = 0; i < n; i++)
						c += v[i] <= mid;
					if (c > ranks[m])
						hi = mid;
					else
						lo = mid + 1;
				}
				med[m] = (double)lo;
			}
			struct trace_summary_spec spec = {.kind_mask = 1u << TRACE_KERNEL,
			                                  .key = TRACE_SUMMARY_BY_NAME,
			                                  .value = TRACE_SUMMARY_DURATION};
			struct trace_summary sum;
			trace_summary_build(s, &spec, &sum);
			assert_int_equal(sum.n, 1);
			assert_int_equal(sum.rows[0].count, n);
			assert_close(sum.rows[0].median, (med[0] + med[1]) / 2, 0);
			trace_summary_free(&sum);
			free(v);
			trace_session_delete(s);
		}
	}
}

/* The flags filter: NVTX ranges split into push/pop and start/end rows as
 * nsys's nvtx_sum does, a zero filter taking both, open events left out
 * whatever the filter, and a value with bits outside the mask matching
 * nothing. */
static void test_flags_filter(void **state)
{
	struct trace_session *s = trace_session_new();
	struct trace_track_info ti = {.kind = TRACE_TRACK_THREAD, .pid = 1, .tid = 1};
	uint32_t th = trace_session_add_track(s, &ti);
	uint32_t a = trace_session_intern_cstr(s, "a"), b = trace_session_intern_cstr(s, "b");
	put(s, th, TRACE_NVTX_RANGE, a, 0, 10, 0, 0, 0);
	put(s, th, TRACE_NVTX_RANGE, a, 5, 30, 0, 0, 0);
	put(s, th, TRACE_NVTX_RANGE, a, 7, 100, 0, 0, TRACE_FLAG_NVTX_STARTEND);
	put(s, th, TRACE_NVTX_RANGE, b, 9, 7, 0, 0, TRACE_FLAG_NVTX_STARTEND);
	put(s, th, TRACE_NVTX_RANGE, b, 11, 9, 0, 0, TRACE_FLAG_NVTX_STARTEND);
	put(s, th, TRACE_NVTX_RANGE, b, 12, 1000, 0, 0, TRACE_FLAG_NVTX_STARTEND | TRACE_FLAG_OPEN);
	put(s, th, TRACE_NVTX_RANGE, b, 13, 1000, 0, 0, TRACE_FLAG_OPEN);
	trace_session_finish(s);

	struct trace_summary_spec spec = {.kind_mask = 1u << TRACE_NVTX_RANGE,
	                                  .key = TRACE_SUMMARY_BY_NAME,
	                                  .value = TRACE_SUMMARY_DURATION,
	                                  .flags_mask = TRACE_FLAG_NVTX_STARTEND,
	                                  .flags_value = 0};
	struct trace_summary sum;
	/* push/pop: "a" twice */
	assert_int_equal(trace_summary_build(s, &spec, &sum), 0);
	assert_int_equal(sum.n, 1);
	assert_int_equal(sum.rows[0].key, a);
	assert_int_equal(sum.rows[0].count, 2);
	assert_close(sum.rows[0].total, 40, 0);
	assert_close(sum.grand_total, 40, 0);
	trace_summary_free(&sum);

	/* start/end: "a" once (100), "b" twice (16) */
	spec.flags_value = TRACE_FLAG_NVTX_STARTEND;
	assert_int_equal(trace_summary_build(s, &spec, &sum), 0);
	assert_int_equal(sum.n, 2);
	assert_int_equal(sum.rows[0].key, a);
	assert_int_equal(sum.rows[0].count, 1);
	assert_close(sum.rows[0].total, 100, 0);
	assert_int_equal(row_of(&sum, b)->count, 2);
	assert_close(row_of(&sum, b)->median, 8, 0);
	assert_close(sum.grand_total, 116, 0);
	trace_summary_free(&sum);

	/* no filter: both styles together; open ranges still left out */
	spec.flags_mask = spec.flags_value = 0;
	assert_int_equal(trace_summary_build(s, &spec, &sum), 0);
	assert_int_equal(sum.n, 2);
	assert_int_equal(row_of(&sum, a)->count, 3);
	assert_int_equal(row_of(&sum, b)->count, 2);
	assert_close(sum.grand_total, 156, 0);
	trace_summary_free(&sum);

	/* asking for the open flag does not bring open events back */
	spec.flags_mask = spec.flags_value = TRACE_FLAG_OPEN;
	assert_int_equal(trace_summary_build(s, &spec, &sum), 0);
	assert_int_equal(sum.n, 0);
	trace_summary_free(&sum);

	/* a value bit outside the mask can never match */
	spec.flags_mask = TRACE_FLAG_NVTX_STARTEND;
	spec.flags_value = TRACE_FLAG_NVTX_STARTEND | 0x02;
	assert_int_equal(trace_summary_build(s, &spec, &sum), 0);
	assert_int_equal(sum.n, 0);
	trace_summary_free(&sum);
	trace_session_delete(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kernel_durations),     cmocka_unit_test(test_memops),
	    cmocka_unit_test(test_huge_totals_and_zero), cmocka_unit_test(test_random_against_reference),
	    cmocka_unit_test(test_large_group_medians),  cmocka_unit_test(test_unknown_name_ids),
	    cmocka_unit_test(test_flags_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
