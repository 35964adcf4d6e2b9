/*
 * axis.h - the timeline's time axis and window arithmetic (pure, no curses).
 *
 * A timeline shows a window [t0, t1) of the session clock (ns) over `width`
 * columns: column c shows [t0 + span*c/width, t0 + span*(c+1)/width). This
 * module chooses the ticks of that axis and their labels, formats times for
 * people, and moves the window: zoom around a cursor, pan, clamp to the
 * session, fit all, zoom to an event. Nothing here draws; the timeline view
 * puts the ticks on screen.
 *
 * Ticks fall on multiples of a "nice" step from the session origin: 1, 2 or
 * 5 x 10^k ns up to 5 s, then 10, 20 and 30 s, 1, 2, 5, 10, 15 and 30
 * minutes, 1, 2, 3, 6 and 12 hours, then 1, 2 or 5 x 10^k days. Labels are
 * relative to the origin ("0", "250 ms", "1.5 s", "12.345 ms", "-20 us",
 * "2m30s", "1h05m"), in the largest unit not above the value (ns, us, ms, s,
 * then minutes and hours), with the decimals the step needs, trailing zeros
 * dropped. The step chosen is the smallest whose labels, each starting at its
 * tick's column, keep AXIS_GAP blank columns between them; a label that
 * would run past the right edge is left off (its tick stays).
 *
 * All arithmetic is exact over the whole int64 range (windows may span up to
 * 2^64 - 1 ns and hold negative times): it is done in 128 bits.
 */
#ifndef TSTOP_TRACE_AXIS_H
#define TSTOP_TRACE_AXIS_H

#include <stddef.h>
#include <stdint.h>

#define AXIS_LABEL_MAX 32 /* bytes of a label, NUL included */
#define AXIS_GAP       2  /* blank columns between two labels */

/* A window of the session clock: [t0, t1), t0 < t1. */
struct axis_window {
	int64_t t0, t1;
};

/* One tick: its time, its column (0 .. width-1), and its label (len 0: none). */
struct axis_tick {
	int64_t t;
	int col;
	int len;
	char label[AXIS_LABEL_MAX];
};

/* The column of time t in a window of `width` columns: floor((t - t0) *
 * width / span), which is < 0 or >= width when t lies outside. */
int64_t axis_col(const struct axis_window *w, int width, int64_t t);

/* The time at the left edge of column `col` (clamped to the window). */
int64_t axis_time(const struct axis_window *w, int width, int64_t col);

/* Formats t - origin as a label (see the file comment) with the decimals that
 * `resolution` ns needs (1: exact to the ns). Writes at most size bytes, NUL
 * included (size >= 1). Returns the label's length (as snprintf). */
int axis_format(char *buf, size_t size, int64_t t, int64_t origin, uint64_t resolution);

/* Chooses the ticks of window *w over `width` columns (1 .. 100000) with
 * labels relative to `origin`, writes at most `cap` of them to out, in
 * increasing time and column, and the step to *step (may be NULL). Labelled
 * ticks never overlap: each label ends AXIS_GAP columns before the next
 * starts, and within the width. Returns the number of ticks, or -1 when the
 * window is empty, width is out of range or cap < 1. O(width). */
int axis_ticks(const struct axis_window *w, int width, int64_t origin, struct axis_tick *out, int cap,
               uint64_t *step);

/* The window showing [lo, hi] (the session's range: first start, last end),
 * i.e. [lo, hi + 1), saturated at INT64_MAX. */
struct axis_window axis_fit(int64_t lo, int64_t hi);

/* *w moved (not resized) to lie within `range`, or `range` itself when *w is
 * wider. */
struct axis_window axis_clamp(const struct axis_window *w, const struct axis_window *range);

/* *w zoomed by `factor` (> 1 in, < 1 out) around `cursor` (clamped into the
 * window), which keeps its column; the span is kept within [min_span, span
 * of range] (min_span >= 1; a factor that is not a positive number leaves
 * the span alone) and the result clamped to `range`. */
struct axis_window axis_zoom(const struct axis_window *w, int64_t cursor, double factor, uint64_t min_span,
                             const struct axis_window *range);

/* *w moved by `fraction` of its span (negative: earlier), clamped to range. */
struct axis_window axis_pan(const struct axis_window *w, double fraction, const struct axis_window *range);

/* A window centred on the event [start, end] with `margin` of its span on
 * each side (e.g. 0.1), at least min_span wide, clamped to range. */
struct axis_window axis_zoom_to(int64_t start, int64_t end, double margin, uint64_t min_span,
                                const struct axis_window *range);

#endif
