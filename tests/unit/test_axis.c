/*
 * test_axis.c - unit tests of the time axis and window arithmetic (tui/axis.h).
 *
 * Labels written out by hand for each unit; then ticks over many windows
 * (1 ns to the whole int64 range, negative times, origins inside and outside
 * the window) at every width from 1 to 500: ticks inside the window, on
 * multiples of a nice step, in increasing columns; labels within the width,
 * never overlapping, and each one parsed back (by a parser written here) to
 * exactly its tick's time. Zoom, pan, clamp, fit and zoom-to at the int64
 * extremes and over random inputs: results always valid windows inside the
 * range, the cursor keeping its column, spans as asked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tui/axis.h"

__extension__ typedef __int128 i128;

static uint64_t rng_next(uint64_t *st)
{
	uint64_t x = *st;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *st = x;
}

static void check_format(int64_t t, int64_t origin, uint64_t res, const char *want)
{
	char buf[AXIS_LABEL_MAX];
	int n = axis_format(buf, sizeof(buf), t, origin, res);
	if (strcmp(buf, want) != 0)
		fail_msg("format(%lld, res %llu) = \"%s\", want \"%s\"", (long long)t,
		         (unsigned long long)res, buf, want);
	assert_int_equal(n, (int)strlen(want));
}

static void test_format(void **state)
{
	(void)state;
	const int64_t MS = 1000000, S = 1000000000;
	check_format(5, 5, 1, "0");
	check_format(250 * MS, 0, 50 * MS, "250 ms");
	check_format(1500 * MS, 0, 500 * MS, "1.5 s");
	check_format(2 * S, 0, 500 * MS, "2 s");
	check_format(12345000, 0, 1000, "12.345 ms");
	check_format(12345678, 0, 1, "12.345678 ms");
	check_format(-20000, 0, 10000, "-20 us");
	check_format(999, 0, 1, "999 ns");
	check_format(1000, 0, 1000, "1 us");
	check_format(59 * S, 0, S, "59 s");
	check_format(150 * S, 0, 30 * S, "2m30s");
	check_format(120 * S, 0, 30 * S, "2m");
	check_format(61 * S + 500 * MS, 0, 100 * MS, "1m01.5s");
	check_format(3900 * S, 0, 300 * S, "1h05m");
	check_format(7200 * S, 0, 3600 * S, "2h");
	check_format(3600 * S + 5 * S, 0, S, "1h00m05s");
	check_format(-150 * S, 0, 30 * S, "-2m30s");
	/* extremes: the distance between INT64_MIN and INT64_MAX */
	char buf[AXIS_LABEL_MAX];
	axis_format(buf, sizeof(buf), INT64_MAX, INT64_MIN, 1);
	assert_string_equal(buf, "5124095h34m33.709551615s");
	axis_format(buf, sizeof(buf), INT64_MIN, INT64_MAX, 1);
	assert_string_equal(buf, "-5124095h34m33.709551615s");
	/* a short buffer truncates like snprintf */
	char small[4];
	assert_int_equal(axis_format(small, sizeof(small), 250 * MS, 0, MS), 6);
	assert_string_equal(small, "250");
}

/* Parses a label back to ns; fails the test on anything malformed. */
static i128 parse_label(const char *s)
{
	const char *p = s;
	bool neg = *p == '-';
	if (neg)
		p++;
	if (strcmp(p, "0") == 0 && !neg)
		return 0;
	i128 total = 0;
	bool any = false;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			fail_msg("label \"%s\": digit expected at \"%s\"", s, p);
		i128 ip = 0;
		while (isdigit((unsigned char)*p))
			ip = ip * 10 + (*p++ - '0');
		i128 frac = 0, scale = 1;
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p))
				fail_msg("label \"%s\": empty fraction", s);
			while (isdigit((unsigned char)*p)) {
				frac = frac * 10 + (*p++ - '0');
				scale *= 10;
			}
			if (p[-1] == '0')
				fail_msg("label \"%s\": trailing zero", s);
		}
		i128 unit = 1;
		if (*p == 'h' || *p == 'm' || *p == 's') {
			unit = *p == 'h' ? (i128)3600000000000 : *p == 'm' ? (i128)60000000000 : 1000000000;
			p++;
		} else if (*p == ' ') {
			static const char *const names[] = {"ns", "us", "ms", "s"};
			static const int64_t units[] = {1, 1000, 1000000, 1000000000};
			int u = -1;
			for (int i = 0; i < 4; i++)
				if (strcmp(p + 1, names[i]) == 0)
					u = i;
			if (u < 0) {
				fail_msg("label \"%s\": unknown unit", s);
				return -1;
			}
			unit = units[u];
			/* the largest unit not above the value */
			if (ip < 1 || ip >= (u == 3 ? 60 : 1000))
				fail_msg("label \"%s\": unit not the largest one", s);
			p += strlen(p);
		} else {
			fail_msg("label \"%s\": unit expected", s);
		}
		if (unit % scale != 0)
			fail_msg("label \"%s\": more decimals than the unit has", s);
		total += ip * unit + frac * (unit / scale);
		any = true;
	}
	if (!any)
		fail_msg("label \"%s\" is empty", s);
	return neg ? -total : total;
}

static bool nice_step(uint64_t step)
{
	static const uint64_t coarse[] = {10,  20,   30,   60,   120,   300,   600,
	                                  900, 1800, 3600, 7200, 10800, 21600, 43200};
	uint64_t v = step;
	while (v % 10 == 0 && v >= 10 && step < 10000000000ull)
		v /= 10;
	if (step < 10000000000ull)
		return v == 1 || v == 2 || v == 5;
	if (step % 1000000000ull == 0)
		for (size_t i = 0; i < sizeof(coarse) / sizeof(coarse[0]); i++)
			if (step / 1000000000ull == coarse[i])
				return true;
	uint64_t d = step / 86400000000000ull;
	if (step % 86400000000000ull != 0)
		return false;
	while (d % 10 == 0 && d >= 10)
		d /= 10;
	return d == 1 || d == 2 || d == 5;
}

/* Checks the ticks of one window at one width; returns the labelled ones. */
static int check_ticks(const struct axis_window *w, int width, int64_t origin)
{
	static struct axis_tick ticks[1024];
	uint64_t step = 0;
	int n = axis_ticks(w, width, origin, ticks, 1024, &step);
	assert_true(n >= 0);
	assert_true(nice_step(step));
	int labelled = 0, last_end = -1000;
	for (int i = 0; i < n; i++) {
		const struct axis_tick *t = &ticks[i];
		assert_true(t->t >= w->t0 && t->t < w->t1);
		assert_true(((i128)t->t - origin) % (i128)step == 0);
		assert_true(t->col >= 0 && t->col < width);
		assert_int_equal(t->col, axis_col(w, width, t->t));
		if (i > 0) {
			assert_true((i128)t->t - ticks[i - 1].t == (i128)step);
			assert_true(t->col > ticks[i - 1].col);
		}
		if (t->len == 0)
			continue;
		assert_int_equal(t->len, (int)strlen(t->label));
		assert_true(t->col + t->len <= width);
		assert_true(t->col >= last_end + AXIS_GAP);
		last_end = t->col + t->len;
		if (parse_label(t->label) != (i128)t->t - origin)
			fail_msg("label \"%s\" for tick %lld (origin %lld)", t->label, (long long)t->t,
			         (long long)origin);
		labelled++;
	}
	return labelled;
}

static void test_ticks_many_widths(void **state)
{
	(void)state;
	const int64_t S = 1000000000;
	struct {
		int64_t t0, t1, origin;
	} windows[] = {
	    {0, 1, 0},
	    {0, 10, 0},
	    {-3, 4, 0},
	    {1000, 1077, 1000},
	    {0, 1000 * 1000, 0},
	    {123456789, 123456789 + 5000, 0},
	    {0, S, 0},
	    {-S / 2, S / 2, 0},
	    {0, 90 * S, 0},
	    {17 * S, 3 * 3600 * S, 0},
	    {0, 86400 * S * 3, -5},
	    {INT64_MIN, INT64_MAX, 0},
	    {INT64_MIN, INT64_MAX, INT64_MIN},
	    {INT64_MAX - 1000, INT64_MAX, INT64_MIN},
	    {INT64_MIN, INT64_MIN + 7 * S, INT64_MIN},
	    {5 * S, 5 * S + 3000, 0},
	    {5 * S + 12345, 5 * S + 12345 + 40 * 1000000, 12345},
	};
	for (size_t k = 0; k < sizeof(windows) / sizeof(windows[0]); k++) {
		struct axis_window w = {windows[k].t0, windows[k].t1};
		for (int width = 1; width <= 500; width++) {
			int labelled = check_ticks(&w, width, windows[k].origin);
			if (width >= 40 && (i128)w.t1 - w.t0 > 1 && labelled < 1)
				fail_msg("window %zu width %d: no label", k, width);
		}
	}
}

static void test_ticks_random(void **state)
{
	(void)state;
	uint64_t st = 11;
	for (int k = 0; k < 3000; k++) {
		int64_t a = (int64_t)rng_next(&st) >> (rng_next(&st) % 64);
		uint64_t span = (rng_next(&st) >> (rng_next(&st) % 64)) | 1;
		int64_t b = (i128)a + span > INT64_MAX ? INT64_MAX : (int64_t)((i128)a + span);
		if (b <= a)
			continue;
		int64_t origin = rng_next(&st) % 2 ? a : (int64_t)rng_next(&st) >> (rng_next(&st) % 64);
		struct axis_window w = {a, b};
		int width = 1 + (int)(rng_next(&st) % 500);
		check_ticks(&w, width, origin);
	}
	/* typical windows get at least two labels at a usual width */
	struct axis_window w = {0, 1000000000};
	assert_true(check_ticks(&w, 80, 0) >= 2);
	w = (struct axis_window){-777, 1000};
	assert_true(check_ticks(&w, 80, 0) >= 2);
	/* bad arguments */
	struct axis_tick t[4];
	w = (struct axis_window){5, 5};
	assert_int_equal(axis_ticks(&w, 10, 0, t, 4, NULL), -1);
	w = (struct axis_window){0, 5};
	assert_int_equal(axis_ticks(&w, 0, 0, t, 4, NULL), -1);
	assert_int_equal(axis_ticks(&w, 10, 0, t, 0, NULL), -1);
	/* a small cap makes the step coarser, never more ticks than the cap */
	w = (struct axis_window){0, 1000000};
	uint64_t step;
	int n = axis_ticks(&w, 400, 0, t, 4, &step);
	assert_true(n >= 0 && n <= 4);
}

static i128 span_of(struct axis_window w)
{
	return (i128)w.t1 - w.t0;
}

static void assert_valid(struct axis_window w, const struct axis_window *range)
{
	assert_true(w.t0 < w.t1);
	assert_true(w.t0 >= range->t0 && w.t1 <= range->t1);
}

static void test_zoom_pan_extremes(void **state)
{
	(void)state;
	struct axis_window all = {INT64_MIN, INT64_MAX};
	struct axis_window f = axis_fit(10, 20);
	assert_true(f.t0 == 10 && f.t1 == 21);
	f = axis_fit(-5, INT64_MAX);
	assert_true(f.t0 == -5 && f.t1 == INT64_MAX);
	f = axis_fit(INT64_MAX, INT64_MAX);
	assert_true(f.t0 == INT64_MAX - 1 && f.t1 == INT64_MAX);
	f = axis_fit(7, 3);
	assert_true(f.t0 == 7 && f.t1 == 8);

	/* zoom in by 2 around the middle of the whole int64 range, and back out */
	struct axis_window z = axis_zoom(&all, 0, 2.0, 1, &all);
	assert_valid(z, &all);
	i128 half = span_of(all) / 2;
	assert_true(span_of(z) >= half - 2 && span_of(z) <= half + 2);
	assert_true(z.t0 <= 0 && z.t1 > 0);
	struct axis_window back = axis_zoom(&z, 0, 0.5, 1, &all);
	assert_true(back.t0 == INT64_MIN && back.t1 == INT64_MAX);
	/* at the edges */
	z = axis_zoom(&all, INT64_MIN, 1e6, 1, &all);
	assert_valid(z, &all);
	assert_true(z.t0 == INT64_MIN);
	z = axis_zoom(&all, INT64_MAX, 1e6, 1, &all);
	assert_valid(z, &all);
	assert_true(z.t1 == INT64_MAX);
	/* deepest zoom stops at min_span; farthest at the range */
	z = axis_zoom(&all, 12345, 1e30, 80, &all);
	assert_true(span_of(z) == 80 && z.t0 <= 12345 && z.t1 > 12345);
	z = axis_zoom(&z, 12345, 1e-30, 80, &all);
	assert_true(z.t0 == INT64_MIN && z.t1 == INT64_MAX);
	/* factors that are not positive numbers leave the span alone */
	struct axis_window w = {100, 200}, range = {0, 1000};
	double bad[] = {0.0, -2.0, NAN, INFINITY};
	for (int i = 0; i < 4; i++) {
		z = axis_zoom(&w, 150, bad[i], 1, &range);
		assert_true(z.t0 == 100 && z.t1 == 200);
	}
	/* the cursor keeps its column */
	z = axis_zoom(&w, 125, 5.0, 1, &range);
	assert_true(z.t0 == 120 && z.t1 == 140);

	/* pan */
	struct axis_window p = axis_pan(&w, 0.5, &range);
	assert_true(p.t0 == 150 && p.t1 == 250);
	p = axis_pan(&w, -1e300, &range);
	assert_true(p.t0 == 0 && p.t1 == 100);
	p = axis_pan(&w, 1e300, &range);
	assert_true(p.t0 == 900 && p.t1 == 1000);
	p = axis_pan(&w, NAN, &range);
	assert_true(p.t0 == 100 && p.t1 == 200);
	struct axis_window h = {INT64_MAX - 100, INT64_MAX};
	p = axis_pan(&h, 10.0, &all);
	assert_true(p.t0 == INT64_MAX - 100 && p.t1 == INT64_MAX);
	h = (struct axis_window){INT64_MIN, 0};
	p = axis_pan(&h, 0.75, &all);
	assert_valid(p, &all);
	assert_true(span_of(p) == span_of(h));

	/* clamp */
	struct axis_window out = {2000, 2100};
	struct axis_window c = axis_clamp(&out, &range);
	assert_true(c.t0 == 900 && c.t1 == 1000);
	out = (struct axis_window){-50, 5000};
	c = axis_clamp(&out, &range);
	assert_true(c.t0 == 0 && c.t1 == 1000);

	/* zoom to an event */
	struct axis_window t = axis_zoom_to(400, 500, 0.1, 1, &range);
	assert_true(t.t0 <= 390 && t.t1 > 510 && t.t0 >= 380 && t.t1 <= 522);
	t = axis_zoom_to(400, 400, 0.1, 50, &range);
	assert_true(span_of(t) == 50 && t.t0 <= 400 && t.t1 > 400);
	t = axis_zoom_to(0, INT64_MAX, 0.1, 1, &all);
	assert_valid(t, &all);
	t = axis_zoom_to(INT64_MAX - 10, INT64_MAX, 0.5, 1, &all);
	assert_valid(t, &all);
	assert_true(t.t1 == INT64_MAX && t.t0 <= INT64_MAX - 10);
}

static void test_zoom_pan_random(void **state)
{
	(void)state;
	uint64_t st = 77;
	for (int k = 0; k < 20000; k++) {
		int64_t r0 = (int64_t)rng_next(&st) >> (rng_next(&st) % 64);
		uint64_t rspan = (rng_next(&st) >> (rng_next(&st) % 64)) | 1;
		int64_t r1 = (i128)r0 + rspan > INT64_MAX ? INT64_MAX : (int64_t)((i128)r0 + rspan);
		if (r1 <= r0)
			continue;
		struct axis_window range = {r0, r1};
		i128 rs = span_of(range);
		i128 ws = 1 + (i128)(rng_next(&st) % (uint64_t)(rs > INT64_MAX ? INT64_MAX : rs));
		struct axis_window w = {r0, (int64_t)(r0 + ws)};
		w = axis_pan(&w, (double)(rng_next(&st) % 1000) / 100.0, &range);
		assert_valid(w, &range);
		assert_true(span_of(w) == ws);
		int64_t cursor =
		    (int64_t)(w.t0 + (i128)(rng_next(&st) %
		                            (uint64_t)(span_of(w) > INT64_MAX ? INT64_MAX : span_of(w))));
		double factor = exp(((double)(rng_next(&st) % 2000) - 1000.0) / 100.0);
		uint64_t min_span = 1 + rng_next(&st) % 1000;
		struct axis_window z = axis_zoom(&w, cursor, factor, min_span, &range);
		assert_valid(z, &range);
		assert_true(span_of(z) >= (min_span < rs ? (i128)min_span : rs));
		/* the cursor stays in view when the range allows it */
		if (span_of(z) < rs && z.t0 > range.t0 && z.t1 < range.t1)
			assert_true(cursor >= z.t0 && cursor < z.t1);
		struct axis_window p = axis_pan(&z, ((double)(rng_next(&st) % 400) - 200.0) / 100.0, &range);
		assert_valid(p, &range);
		assert_true(span_of(p) == span_of(z));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),          cmocka_unit_test(test_ticks_many_widths),
	    cmocka_unit_test(test_ticks_random),    cmocka_unit_test(test_zoom_pan_extremes),
	    cmocka_unit_test(test_zoom_pan_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
