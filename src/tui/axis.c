/*
 * axis.c - time-axis ticks, labels and window arithmetic (see axis.h).
 *
 * Every computation on times is done in 128-bit integers (a GCC and Clang
 * extension on every 64-bit target tstop builds for), so that differences of
 * any two int64 times and their products with column counts are exact; the
 * results are clamped back into int64 where they leave it.
 */
#include "tui/axis.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

__extension__ typedef __int128 ta_i128;

#define TA_US  1000ull
#define TA_MS  1000000ull
#define TA_S   1000000000ull
#define TA_MIN (60 * TA_S)
#define TA_H   (60 * TA_MIN)
#define TA_DAY (24 * TA_H)

#define TA_MAX_STEPS  96
#define TA_MAX_WIDTH  100000
#define TA_LABEL_CAP  AXIS_LABEL_MAX
#define TA_MIN_COLUMN 3 /* columns between ticks at the least: a one-character label and the gap */

static ta_i128 ta_span(const struct axis_window *w)
{
	return (ta_i128)w->t1 - w->t0;
}

/* floor(a / b) for b > 0. */
static ta_i128 ta_floor_div(ta_i128 a, ta_i128 b)
{
	ta_i128 q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* The candidate steps, ascending; returns their number. */
static int ta_steps(uint64_t *steps)
{
	static const uint64_t coarse[] = {10 * TA_S,  20 * TA_S,   30 * TA_S,   TA_MIN,      2 * TA_MIN,
	                                  5 * TA_MIN, 10 * TA_MIN, 15 * TA_MIN, 30 * TA_MIN, TA_H,
	                                  2 * TA_H,   3 * TA_H,    6 * TA_H,    12 * TA_H};
	int n = 0;
	for (uint64_t p = 1; p <= TA_S; p *= 10) {
		steps[n++] = p;
		steps[n++] = 2 * p;
		steps[n++] = 5 * p;
	}
	for (size_t i = 0; i < sizeof(coarse) / sizeof(coarse[0]); i++)
		steps[n++] = coarse[i];
	static const uint64_t mult[] = {1, 2, 5};
	for (uint64_t d = TA_DAY; n < TA_MAX_STEPS; d *= 10) {
		for (int i = 0; i < 3; i++) {
			if (d > UINT64_MAX / mult[i] || n == TA_MAX_STEPS)
				return n;
			steps[n++] = mult[i] * d;
		}
		if (d > UINT64_MAX / 10)
			break;
	}
	return n;
}

/* 10^k for 0 <= k <= 19. */
static uint64_t ta_pow10(int k)
{
	uint64_t p = 1;
	while (k-- > 0)
		p *= 10;
	return p;
}

/* floor(log10(v)) for v >= 1. */
static int ta_log10(uint64_t v)
{
	int k = 0;
	while (v >= 10) {
		v /= 10;
		k++;
	}
	return k;
}

/* Appends "." and the first `d` of the `digits` digits of frac, trailing
 * zeros dropped, to buf at *pos. */
static void ta_put_frac(char *buf, size_t size, int *pos, uint64_t frac, int digits, int d)
{
	if (d <= 0)
		return;
	if (d > digits)
		d = digits;
	for (int i = 0; i < digits - d; i++)
		frac /= 10;
	while (d > 0 && frac % 10 == 0) {
		frac /= 10;
		d--;
	}
	if (d == 0)
		return;
	int r = snprintf(buf + *pos, (size_t)*pos < size ? size - (size_t)*pos : 0, ".%0*llu", d,
	                 (unsigned long long)frac);
	*pos += r;
}

/* Formats a label; see axis.h. */
int axis_format(char *buf, size_t size, int64_t t, int64_t origin, uint64_t resolution)
{
	ta_i128 v = (ta_i128)t - origin;
	bool neg = v < 0;
	uint64_t mag = (uint64_t)(neg ? -v : v);
	int k = ta_log10(resolution ? resolution : 1);
	if (mag == 0)
		return snprintf(buf, size, "0");
	int pos = snprintf(buf, size, "%s", neg ? "-" : "");
#define TA_ROOM ((size_t)pos < size ? size - (size_t)pos : 0)
	if (mag < TA_MIN) {
		static const char *const names[] = {"ns", "us", "ms", "s"};
		int u = mag < TA_US ? 0 : mag < TA_MS ? 1 : mag < TA_S ? 2 : 3;
		uint64_t unit = u == 0 ? 1 : u == 1 ? TA_US : u == 2 ? TA_MS : TA_S;
		pos += snprintf(buf + pos, TA_ROOM, "%llu", (unsigned long long)(mag / unit));
		ta_put_frac(buf, size, &pos, mag % unit, 3 * u, 3 * u - k);
		pos += snprintf(buf + pos, TA_ROOM, " %s", names[u]);
		return pos;
	}
	uint64_t h = mag / TA_H, m = mag / TA_MIN % 60, sns = mag % TA_MIN;
	if (h)
		pos += snprintf(buf + pos, TA_ROOM, "%lluh", (unsigned long long)h);
	bool secs = sns / TA_S != 0 || (k < 9 && sns % TA_S / ta_pow10(k) != 0);
	if (!h || m || secs)
		pos += snprintf(buf + pos, TA_ROOM, h ? "%02llum" : "%llum", (unsigned long long)m);
	if (secs) {
		pos += snprintf(buf + pos, TA_ROOM, "%02llu", (unsigned long long)(sns / TA_S));
		ta_put_frac(buf, size, &pos, sns % TA_S, 9, 9 - k);
		pos += snprintf(buf + pos, TA_ROOM, "s");
	}
#undef TA_ROOM
	return pos;
}

int64_t axis_col(const struct axis_window *w, int width, int64_t t)
{
	return (int64_t)ta_floor_div(((ta_i128)t - w->t0) * width, ta_span(w));
}

int64_t axis_time(const struct axis_window *w, int width, int64_t col)
{
	if (col <= 0 || width < 1)
		return w->t0;
	if (col >= width)
		return w->t1;
	return (int64_t)(w->t0 + ta_span(w) * col / width);
}

/* Lays out the ticks of one step; returns their number, or -1 when labels
 * collide or more than cap ticks would be needed. */
static int ta_try(const struct axis_window *w, int width, int64_t origin, uint64_t step,
                  struct axis_tick *out, int cap)
{
	ta_i128 j = ta_floor_div((ta_i128)w->t0 - origin, step);
	if ((ta_i128)origin + j * step < w->t0)
		j++;
	int n = 0, last_end = -AXIS_GAP; /* column after the last label */
	for (ta_i128 t = (ta_i128)origin + j * step; t < w->t1; t += step) {
		if (n == cap)
			return -1;
		struct axis_tick *tk = &out[n++];
		tk->t = (int64_t)t;
		tk->col = (int)axis_col(w, width, tk->t);
		if (n > 1 && tk->col <= tk[-1].col)
			return -1; /* two ticks in one column */
		tk->len = axis_format(tk->label, sizeof(tk->label), tk->t, origin, step);
		if (tk->len >= TA_LABEL_CAP)
			tk->len = TA_LABEL_CAP - 1;
		if (tk->col + tk->len > width) {
			tk->len = 0; /* runs past the edge: tick without a label */
			tk->label[0] = '\0';
			continue;
		}
		if (tk->col < last_end + AXIS_GAP)
			return -1;
		last_end = tk->col + tk->len;
	}
	return n;
}

/* Chooses the ticks; see axis.h. */
int axis_ticks(const struct axis_window *w, int width, int64_t origin, struct axis_tick *out, int cap,
               uint64_t *step)
{
	if (w->t1 <= w->t0 || width < 1 || width > TA_MAX_WIDTH || cap < 1)
		return -1;
	uint64_t steps[TA_MAX_STEPS];
	int nsteps = ta_steps(steps);
	ta_i128 span = ta_span(w);
	for (int i = 0; i < nsteps; i++) {
		if ((ta_i128)steps[i] * width < span * TA_MIN_COLUMN && i + 1 < nsteps)
			continue;
		int n = ta_try(w, width, origin, steps[i], out, cap);
		if (n >= 0) {
			if (step)
				*step = steps[i];
			return n;
		}
	}
	if (step) /* no step fits (only when cap is tiny): no ticks */
		*step = steps[nsteps - 1];
	return 0;
}

struct axis_window axis_fit(int64_t lo, int64_t hi)
{
	if (hi < lo)
		hi = lo;
	struct axis_window w = {lo, hi == INT64_MAX ? INT64_MAX : hi + 1};
	if (w.t0 == w.t1) /* lo == hi == INT64_MAX */
		w.t0 = INT64_MAX - 1;
	return w;
}

/* Shifts [t0, t0 + span) into range; span <= span of range. */
static struct axis_window ta_place(ta_i128 t0, ta_i128 span, const struct axis_window *range)
{
	if (span >= ta_span(range))
		return *range;
	if (span < 1)
		span = 1;
	if (t0 < range->t0)
		t0 = range->t0;
	if (t0 + span > range->t1)
		t0 = range->t1 - span;
	return (struct axis_window){(int64_t)t0, (int64_t)(t0 + span)};
}

struct axis_window axis_clamp(const struct axis_window *w, const struct axis_window *range)
{
	return ta_place(w->t0, ta_span(w), range);
}

/* A span of `v` ns from a double, kept within [lo, hi]. */
static ta_i128 ta_span_from(double v, ta_i128 lo, ta_i128 hi)
{
	if (!(v >= (double)lo)) /* NaN too */
		return lo;
	if (v >= (double)hi)
		return hi;
	return (ta_i128)v;
}

struct axis_window axis_zoom(const struct axis_window *w, int64_t cursor, double factor, uint64_t min_span,
                             const struct axis_window *range)
{
	ta_i128 span = ta_span(w), max = ta_span(range), lo = min_span ? min_span : 1;
	if (lo > max)
		lo = max;
	ta_i128 ns = span;
	if (factor > 0 && isfinite(factor))
		ns = ta_span_from((double)span / factor, lo, max);
	ta_i128 c = cursor < w->t0 ? w->t0 : cursor >= w->t1 ? (ta_i128)w->t1 - 1 : cursor;
	/* keep the cursor's column: (c - t0') / ns == (c - t0) / span */
	ta_i128 off = (c - w->t0) * ns / span;
	return ta_place(c - off, ns, range);
}

struct axis_window axis_pan(const struct axis_window *w, double fraction, const struct axis_window *range)
{
	ta_i128 span = ta_span(w);
	double d = fraction * (double)span;
	ta_i128 shift = 0;
	if (d >= 0x1p64)
		shift = (ta_i128)1 << 64;
	else if (d <= -0x1p64)
		shift = -((ta_i128)1 << 64);
	else if (d == d)
		shift = (ta_i128)d;
	return ta_place((ta_i128)w->t0 + shift, span, range);
}

struct axis_window axis_zoom_to(int64_t start, int64_t end, double margin, uint64_t min_span,
                                const struct axis_window *range)
{
	if (end < start)
		end = start;
	ta_i128 len = (ta_i128)end - start, max = ta_span(range);
	if (!(margin >= 0))
		margin = 0;
	ta_i128 pad = ta_span_from((double)len * margin, 0, max);
	ta_i128 span = len + 1 + 2 * pad;
	if (span < (ta_i128)min_span)
		span = min_span;
	if (span > max)
		span = max;
	ta_i128 mid = (ta_i128)start + len / 2;
	return ta_place(mid - span / 2, span, range);
}
