/*
 * test_lanesum.c - unit tests of per-track lane summaries (trace/lanesum.h).
 *
 * Random lanes of three shapes (GPU-stream-like lanes whose events never
 * overlap, host lanes of nested ranges, and arbitrary overlapping spans),
 * with zero-length events and, in one family, times over the whole int64
 * range, are summarised and asked for cells at many zoom levels (the whole
 * lane, windows down to a few ns, windows narrower than their cell count,
 * windows outside the events). Every cell is checked against a brute-force
 * reference computed here from the events alone: counts, coverage and
 * "touched" exactly, the dominant name exactly where the summary says it is
 * exact and, where it is not, whenever one name holds a majority of the
 * weight (lanes that do not overlap). Also: empty lanes, incremental
 * extension equal to a one-shot build, out-of-order appends refused, the
 * event under a cursor and the nearest event against brute force, and the
 * memory figure staying within a few bytes per event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace/lanesum.h"

__extension__ typedef __int128 i128;

#define NAMES 6

/* A deterministic xorshift64 generator for test data. */
static uint64_t rng_next(uint64_t *st)
{
	uint64_t x = *st;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *st = x;
}

static uint64_t rng_below(uint64_t *st, uint64_t n)
{
	return n ? rng_next(st) % n : 0;
}

static int ev_cmp(const void *a, const void *b)
{
	const struct trace_event *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->end > y->end) - (x->end < y->end);
}

enum lane_shape { LANE_STREAM, LANE_NESTED, LANE_OVERLAP, LANE_HUGE };

/* Generates n events of one shape, sorted by (start, end). The caller frees. */
static struct trace_event *gen_lane(enum lane_shape shape, size_t n, uint64_t seed)
{
	uint64_t st = seed * 2654435761u + 17;
	struct trace_event *ev = calloc(n ? n : 1, sizeof(*ev));
	int64_t t = -5000;
	size_t i = 0;
	while (i < n) {
		struct trace_event *e = &ev[i];
		e->kind = TRACE_KERNEL;
		/* skewed names: name 1 is common, so majorities exist */
		e->name = rng_below(&st, 3) == 0 ? 1 : 1 + (uint32_t)rng_below(&st, NAMES);
		switch (shape) {
		case LANE_STREAM: {
			t += (int64_t)rng_below(&st, 4) == 0 ? (int64_t)rng_below(&st, 2000) : 0;
			int64_t d =
			    rng_below(&st, 8) == 0 ? 0 : (int64_t)rng_below(&st, e->name == 1 ? 900 : 300);
			e->start = t;
			e->end = t + d;
			t += d;
			i++;
			break;
		}
		case LANE_NESTED: {
			/* an outer range with up to 3 levels of children inside it */
			int64_t len = 200 + (int64_t)rng_below(&st, 20000);
			e->start = t;
			e->end = t + len;
			i++;
			int64_t c = t;
			while (i < n && rng_below(&st, 6) != 0) {
				int64_t cl = (int64_t)rng_below(&st, (uint64_t)(t + len - c) / 2 + 1);
				if (c + cl > t + len)
					break;
				struct trace_event *k = &ev[i++];
				k->kind = TRACE_API;
				k->name = 1 + (uint32_t)rng_below(&st, NAMES);
				k->start = c;
				k->end = c + cl;
				if (i < n && cl > 2 && rng_below(&st, 2)) {
					struct trace_event *g = &ev[i++];
					g->kind = TRACE_API;
					g->name = 1 + (uint32_t)rng_below(&st, NAMES);
					g->start = c + 1;
					g->end = c + 1 + (int64_t)rng_below(&st, (uint64_t)cl - 1);
				}
				c += cl + (int64_t)rng_below(&st, 50);
			}
			t += len + (int64_t)rng_below(&st, 3000);
			break;
		}
		case LANE_OVERLAP:
			e->start = (int64_t)rng_below(&st, 40 * n + 1) - 1000;
			e->end = e->start + (rng_below(&st, 5) == 0 ? 0 : (int64_t)rng_below(&st, 4000));
			i++;
			break;
		case LANE_HUGE: {
			/* spread over the whole int64 range, durations up to INT64_MAX */
			int64_t s = (int64_t)rng_next(&st);
			uint64_t d = rng_below(&st, 3) == 0 ? rng_next(&st) >> 1 : rng_below(&st, 1000);
			if ((i128)s + (i128)d > INT64_MAX)
				d = (uint64_t)(INT64_MAX - s);
			e->start = s;
			e->end = (int64_t)((i128)s + (i128)d);
			i++;
			break;
		}
		}
	}
	qsort(ev, n, sizeof(*ev), ev_cmp);
	return ev;
}

/* The brute-force reference of one lane. */
struct ref {
	const struct trace_event *ev;
	size_t n;
	i128 *mstart, *mend; /* the union as disjoint sorted half-open intervals */
	size_t m;
	int64_t *pmax; /* pmax[k]: largest end of ev[0 .. k) (INT64_MIN if none) */
	size_t *pidx;  /* first event reaching it */
};

static void ref_init(struct ref *r, const struct trace_event *ev, size_t n)
{
	r->ev = ev;
	r->n = n;
	r->mstart = calloc(n + 1, sizeof(i128));
	r->mend = calloc(n + 1, sizeof(i128));
	r->m = 0;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].end == ev[i].start)
			continue;
		if (r->m && ev[i].start <= r->mend[r->m - 1]) {
			if (ev[i].end > r->mend[r->m - 1])
				r->mend[r->m - 1] = ev[i].end;
		} else {
			r->mstart[r->m] = ev[i].start;
			r->mend[r->m++] = ev[i].end;
		}
	}
	r->pmax = calloc(n + 1, sizeof(int64_t));
	r->pidx = calloc(n + 1, sizeof(size_t));
	r->pmax[0] = INT64_MIN;
	r->pidx[0] = SIZE_MAX;
	for (size_t k = 0; k < n; k++) {
		r->pmax[k + 1] = r->pmax[k];
		r->pidx[k + 1] = r->pidx[k];
		if (ev[k].end > r->pmax[k]) {
			r->pmax[k + 1] = ev[k].end;
			r->pidx[k + 1] = k;
		}
	}
}

static void ref_free(struct ref *r)
{
	free(r->mstart);
	free(r->mend);
	free(r->pmax);
	free(r->pidx);
}

/* Union measure within [c0, c1). */
static i128 ref_covered(const struct ref *r, i128 c0, i128 c1)
{
	i128 sum = 0;
	for (size_t j = 0; j < r->m; j++) {
		i128 a = r->mstart[j] > c0 ? r->mstart[j] : c0, b = r->mend[j] < c1 ? r->mend[j] : c1;
		if (b > a)
			sum += b - a;
	}
	return sum;
}

/* Weights as lanesum.h defines them; returns the argmax (ties: smaller id)
 * and its weight and the total in *best_w, *total. */
static uint32_t ref_dominant(const struct ref *r, int64_t c0, int64_t c1, size_t a, size_t b, i128 *best_w,
                             i128 *total)
{
	i128 w[NAMES + 2] = {0};
	if (r->pidx[a] != SIZE_MAX && r->pmax[a] > c0)
		w[r->ev[r->pidx[a]].name] += (i128)(r->pmax[a] < c1 ? r->pmax[a] : c1) - c0 + 1;
	for (size_t i = a; i < b; i++)
		w[r->ev[i].name] += (i128)(r->ev[i].end < c1 ? r->ev[i].end : c1) - r->ev[i].start + 1;
	uint32_t best = 0;
	*best_w = 0;
	*total = 0;
	for (uint32_t x = 1; x < NAMES + 2; x++) {
		*total += w[x];
		if (w[x] > *best_w) {
			best = x;
			*best_w = w[x];
		}
	}
	return best;
}

/* Checks every cell of [t0, t1) / ncells against the reference. */
static void check_window(const struct lanesum *ls, const struct ref *r, int64_t t0, int64_t t1,
                         uint32_t ncells, bool majority_promise)
{
	struct lanesum_cell *cells = calloc(ncells, sizeof(*cells));
	struct err e;
	assert_int_equal(lanesum_cells(ls, r->ev, t0, t1, ncells, cells, &e), 0);
	i128 span = (i128)t1 - t0;
	size_t a = 0;
	while (a < r->n && r->ev[a].start < t0)
		a++;
	for (uint32_t i = 0; i < ncells; i++) {
		int64_t c0 = (int64_t)(t0 + span * i / ncells), c1 = (int64_t)(t0 + span * (i + 1) / ncells);
		size_t b = a;
		while (b < r->n && r->ev[b].start < c1)
			b++;
		const struct lanesum_cell *c = &cells[i];
		assert_int_equal(c->width, (uint64_t)((i128)c1 - c0));
		assert_int_equal(c->count, b - a);
		assert_true((i128)c->covered == ref_covered(r, c0, c1));
		assert_true(c->covered <= c->width);
		bool touched = b > a || (r->pidx[a] != SIZE_MAX && r->pmax[a] > c0);
		assert_int_equal(c->touched, touched);
		double busy = lanesum_busy(c);
		assert_true(busy >= 0.0 && busy <= 1.0);
		if (!touched) {
			assert_int_equal(c->name, 0);
		} else {
			i128 bw, total;
			uint32_t want = ref_dominant(r, c0, c1, a, b, &bw, &total);
			if (c->exact_name)
				assert_int_equal(c->name, want);
			else if (majority_promise && bw * 2 > total)
				assert_int_equal(c->name, want);
			else
				assert_true(c->name >= 1 && c->name <= NAMES);
			if (b - a <= LANESUM_EXACT_EVENTS)
				assert_true(c->exact_name);
		}
		a = b;
	}
	free(cells);
}

/* Many windows over one lane: whole, zoomed at random places, tiny, outside. */
static void check_lane(enum lane_shape shape, size_t n, uint64_t seed, bool majority_promise)
{
	struct trace_event *ev = gen_lane(shape, n, seed);
	struct lanesum *ls = lanesum_new();
	struct err e;
	assert_int_equal(lanesum_build(ls, ev, n, &e), 0);
	assert_int_equal(lanesum_events(ls), n);
	struct ref r;
	ref_init(&r, ev, n);
	uint64_t st = seed + 99;
	int64_t lo = n ? ev[0].start : 0, hi = lo + 1;
	for (size_t i = 0; i < n; i++)
		hi = ev[i].end >= hi ? (ev[i].end == INT64_MAX ? INT64_MAX : ev[i].end + 1) : hi;
	static const uint32_t ncells[] = {1, 7, 200, 1000};
	for (int z = 0; z < 4; z++)
		check_window(ls, &r, lo, hi, ncells[z], majority_promise);
	for (int k = 0; k < 60; k++) {
		i128 full = (i128)hi - lo;
		i128 span = full >> rng_below(&st, 40);
		if (span < 1)
			span = 1 + (i128)rng_below(&st, 50);
		i128 start = lo + (i128)(rng_next(&st) %
		                         (uint64_t)(full > 1 ? (full > INT64_MAX ? INT64_MAX : full) : 1));
		start -= span / 2;
		if (start < INT64_MIN)
			start = INT64_MIN;
		if (start + span > INT64_MAX)
			start = INT64_MAX - span;
		uint32_t nc = ncells[rng_below(&st, 4)];
		check_window(ls, &r, (int64_t)start, (int64_t)(start + span), nc, majority_promise);
	}
	/* outside the events on both sides */
	if (lo > INT64_MIN + 1000)
		check_window(ls, &r, lo - 1000, lo, 10, majority_promise);
	if (hi < INT64_MAX - 1000)
		check_window(ls, &r, hi, hi + 1000, 10, majority_promise);
	ref_free(&r);
	lanesum_delete(ls);
	free(ev);
}

static void test_stream_lanes(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 6; seed++)
		check_lane(LANE_STREAM, 500 + seed * 1700, seed, true);
}

static void test_nested_lanes(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 5; seed++)
		check_lane(LANE_NESTED, 300 + seed * 1500, seed, false);
}

static void test_overlapping_lanes(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 4; seed++)
		check_lane(LANE_OVERLAP, 100 + seed * 2000, seed, false);
}

static void test_huge_spans(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 4; seed++)
		check_lane(LANE_HUGE, 50 + seed * 700, seed, false);

	/* two events covering nearly all of int64, seen whole */
	struct trace_event ev[2] = {
	    {.start = INT64_MIN, .end = -1, .name = 1, .kind = TRACE_KERNEL},
	    {.start = 0, .end = INT64_MAX, .name = 2, .kind = TRACE_KERNEL},
	};
	struct lanesum *ls = lanesum_new();
	struct err e;
	assert_int_equal(lanesum_build(ls, ev, 2, &e), 0);
	struct lanesum_cell cells[4];
	assert_int_equal(lanesum_cells(ls, ev, INT64_MIN, INT64_MAX, 4, cells, &e), 0);
	uint64_t covered = 0, count = 0;
	for (int i = 0; i < 4; i++) {
		covered += cells[i].covered;
		count += cells[i].count;
		assert_true(cells[i].touched);
		assert_int_equal(cells[i].name, i < 2 ? 1 : 2);
	}
	assert_int_equal(count, 2);
	assert_int_equal(covered, UINT64_MAX - 1); /* all but [-1, 0) and INT64_MAX itself */
	assert_int_equal(lanesum_event_at(ls, ev, INT64_MIN), 0);
	assert_int_equal(lanesum_event_at(ls, ev, -1), SIZE_MAX);
	assert_int_equal(lanesum_event_at(ls, ev, INT64_MAX - 1), 1);
	assert_int_equal(lanesum_event_at(ls, ev, INT64_MAX), SIZE_MAX);
	assert_int_equal(lanesum_event_near(ls, ev, -1, 0), 0);
	lanesum_delete(ls);
}

static void test_empty_lane(void **state)
{
	(void)state;
	struct lanesum *ls = lanesum_new();
	struct err e;
	assert_int_equal(lanesum_build(ls, NULL, 0, &e), 0);
	struct lanesum_cell cells[16];
	assert_int_equal(lanesum_cells(ls, NULL, -100, 100, 16, cells, &e), 0);
	for (int i = 0; i < 16; i++) {
		assert_false(cells[i].touched);
		assert_int_equal(cells[i].count, 0);
		assert_int_equal(cells[i].covered, 0);
		assert_int_equal(cells[i].name, 0);
	}
	assert_int_equal(lanesum_lower_bound(ls, NULL, 5), 0);
	assert_int_equal(lanesum_event_at(ls, NULL, 5), SIZE_MAX);
	assert_int_equal(lanesum_event_near(ls, NULL, 5, UINT64_MAX), SIZE_MAX);
	/* bad arguments */
	assert_int_equal(lanesum_cells(ls, NULL, 5, 5, 16, cells, &e), -1);
	assert_non_null(strstr(e.msg, "empty window"));
	assert_int_equal(lanesum_cells(ls, NULL, 0, 5, 0, cells, &e), -1);
	lanesum_delete(ls);
}

/* Zero-length events, and a window narrower than its cell count. */
static void test_instants_and_narrow_cells(void **state)
{
	(void)state;
	struct trace_event ev[5] = {
	    {.start = 10, .end = 10, .name = 3}, {.start = 10, .end = 12, .name = 2},
	    {.start = 15, .end = 15, .name = 4}, {.start = 15, .end = 15, .name = 4},
	    {.start = 20, .end = 30, .name = 5},
	};
	struct lanesum *ls = lanesum_new();
	struct err e;
	assert_int_equal(lanesum_build(ls, ev, 5, &e), 0);
	struct lanesum_cell cells[100];
	assert_int_equal(lanesum_cells(ls, ev, 0, 40, 40, cells, &e), 0);
	assert_int_equal(cells[10].count, 2);
	assert_int_equal(cells[10].name, 2); /* 1 + (1 + 1) */
	assert_int_equal(cells[15].count, 2);
	assert_true(cells[15].touched);
	assert_int_equal(cells[15].covered, 0);
	assert_int_equal(cells[15].name, 4);
	assert_false(cells[16].touched);
	assert_true(cells[25].touched);
	assert_int_equal(cells[25].covered, 1);
	assert_int_equal(cells[25].name, 5);
	assert_false(cells[30].touched);
	struct ref r;
	ref_init(&r, ev, 5);
	check_window(ls, &r, 0, 40, 100, true); /* 60 cells of width 0 */
	check_window(ls, &r, 9, 11, 1000, true);
	ref_free(&r);
	/* the cursor: the instant at 15, the later (inner) event at 10 */
	assert_int_equal(lanesum_event_at(ls, ev, 15), 3);
	assert_int_equal(lanesum_event_at(ls, ev, 10), 1);
	assert_int_equal(lanesum_event_at(ls, ev, 12), SIZE_MAX);
	assert_int_equal(lanesum_event_near(ls, ev, 13, 1), 1);
	assert_int_equal(lanesum_event_near(ls, ev, 14, 1), 2);
	assert_int_equal(lanesum_event_near(ls, ev, 17, 1), SIZE_MAX);
	assert_int_equal(lanesum_event_near(ls, ev, 17, 2), 2);
	lanesum_delete(ls);
}

/* The event at t and the nearest event against brute force. */
static void test_event_at(void **state)
{
	(void)state;
	for (int shape = LANE_STREAM; shape <= LANE_OVERLAP; shape++) {
		size_t n = 3000;
		struct trace_event *ev = gen_lane((enum lane_shape)shape, n, 7 + (uint64_t)shape);
		struct lanesum *ls = lanesum_new();
		struct err e;
		assert_int_equal(lanesum_build(ls, ev, n, &e), 0);
		uint64_t st = 5;
		int64_t lo = ev[0].start - 100, hi = ev[n - 1].end + 100;
		for (int k = 0; k < 2000; k++) {
			int64_t t = lo + (int64_t)rng_below(&st, (uint64_t)(hi - lo));
			size_t last = SIZE_MAX, k_after = n;
			for (size_t i = 0; i < n; i++) {
				bool in = ev[i].start <= t &&
				          (t < ev[i].end || (ev[i].start == t && ev[i].end == t));
				if (in)
					last = i;
				if (ev[i].start > t && k_after == n)
					k_after = i;
			}
			size_t got = lanesum_event_at(ls, ev, t);
			if (last == SIZE_MAX) {
				assert_int_equal(got, SIZE_MAX);
			} else if (shape == LANE_STREAM || last + LANESUM_BLOCK >= k_after) {
				assert_int_equal(got, last);
			} else {
				assert_true(got < n && ev[got].start <= t && t < ev[got].end);
			}
			/* nearest within slop */
			uint64_t slop = rng_below(&st, 500);
			size_t near = lanesum_event_near(ls, ev, t, slop);
			if (last != SIZE_MAX) {
				assert_int_equal(near, got);
				continue;
			}
			i128 best = -1;
			for (size_t i = 0; i < n; i++) {
				i128 gap = ev[i].end <= t ? (i128)t - ev[i].end : (i128)ev[i].start - t;
				if (gap <= (i128)slop && (best < 0 || gap < best))
					best = gap;
			}
			if (best < 0) {
				assert_int_equal(near, SIZE_MAX);
			} else {
				assert_true(near < n);
				i128 gap =
				    ev[near].end <= t ? (i128)t - ev[near].end : (i128)ev[near].start - t;
				assert_true(gap == best);
			}
		}
		lanesum_delete(ls);
		free(ev);
	}
}

/* Extending in random chunks gives the same answers as one build; an
 * out-of-order append is refused and keeps what came before. */
static void test_incremental(void **state)
{
	(void)state;
	size_t n = 20000;
	struct trace_event *ev = gen_lane(LANE_STREAM, n, 42);
	struct lanesum *whole = lanesum_new(), *inc = lanesum_new();
	struct err e;
	assert_int_equal(lanesum_build(whole, ev, n, &e), 0);
	uint64_t st = 3;
	size_t done = 0;
	while (done < n) {
		size_t step = 1 + rng_below(&st, rng_below(&st, 2) ? 5 : 700);
		done = done + step > n ? n : done + step;
		assert_int_equal(lanesum_extend(inc, ev, done, &e), 0);
		assert_int_equal(lanesum_events(inc), done);
	}
	struct lanesum_cell a[300], b[300];
	for (int k = 0; k < 30; k++) {
		int64_t t0 = ev[0].start + (int64_t)rng_below(&st, (uint64_t)(ev[n - 1].end - ev[0].start));
		int64_t t1 = t0 + 1 + (int64_t)rng_below(&st, (uint64_t)(ev[n - 1].end - t0) + 1);
		assert_int_equal(lanesum_cells(whole, ev, t0, t1, 300, a, &e), 0);
		assert_int_equal(lanesum_cells(inc, ev, t0, t1, 300, b, &e), 0);
		for (int i = 0; i < 300; i++) {
			assert_int_equal(a[i].count, b[i].count);
			assert_int_equal(a[i].covered, b[i].covered);
			assert_int_equal(a[i].name, b[i].name);
			assert_int_equal(a[i].touched, b[i].touched);
		}
	}
	/* a few bytes per event */
	double per_event = (double)lanesum_bytes(whole) / (double)n;
	assert_true(per_event < 4.0);

	/* out of order: refused at the offending event */
	struct trace_event bad[40];
	memcpy(bad, ev, sizeof(bad));
	bad[35].start = bad[34].start - 1;
	bad[35].end = bad[35].start;
	lanesum_reset(inc);
	assert_int_equal(lanesum_extend(inc, bad, 40, &e), -1);
	assert_non_null(strstr(e.msg, "event 35"));
	assert_int_equal(lanesum_events(inc), 35);
	assert_int_equal(lanesum_extend(inc, bad, 20, &e), -1); /* fewer than indexed */
	lanesum_delete(whole);
	lanesum_delete(inc);
	free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_lane),        cmocka_unit_test(test_instants_and_narrow_cells),
	    cmocka_unit_test(test_stream_lanes),      cmocka_unit_test(test_nested_lanes),
	    cmocka_unit_test(test_overlapping_lanes), cmocka_unit_test(test_huge_spans),
	    cmocka_unit_test(test_event_at),          cmocka_unit_test(test_incremental),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
