/*
 * lanesum.h - per-track summaries for drawing a timeline lane at any zoom.
 *
 * A lane summary indexes one track's time-sorted events (session invariant 2)
 * so that a view can ask, for a window [t0, t1) cut into N equal cells, what
 * each cell holds, in time proportional to N (times log n), never to the
 * events in the window. It does not own or copy the events: every call takes
 * the track's current array, which may move when the track grows.
 *
 * Structure. Events are cut, in index order, into blocks of LANESUM_BLOCK
 * events. Per block the summary keeps the start of its first event, the
 * prefix values at its first event (union coverage of every earlier event,
 * the largest end of every earlier event and which event reached it) and a
 * weighted majority candidate of its events (Boyer-Moore: a name and a
 * weight). A pyramid above the blocks merges candidates pairwise (level L
 * covers 2^L whole blocks). That is 48 bytes per block plus about 16 per
 * block for the pyramid: 2 bytes per event, 2.6 with the slack of growth,
 * on top of the 40 of the events.
 *
 * What a cell reports, and how exact it is:
 *   - count: events whose start lies in the cell. Exact.
 *   - covered: the length of the cell covered by the union of the events
 *     (the outermost ranges, for nested host lanes), taken as half-open
 *     [start, end); busy = covered / cell length. Exact: the union measure
 *     up to any time t is U(k) - max(0, M(k) - t), with k the events that
 *     start before t, U(k) their union measure and M(k) their largest end,
 *     both rebuilt from the block's prefix values in at most LANESUM_BLOCK
 *     steps.
 *   - touched: an event starts in the cell or an earlier one ends after the
 *     cell's start (a zero-length event touches the cell that holds it).
 *     Exact.
 *   - name: the dominant name. Each event counted weighs its overlap with
 *     the cell plus 1 ns (so instants count); the events counted are those
 *     that start in the cell and, among the earlier ones, the one that
 *     reaches furthest (the first to reach it), when it reaches into the
 *     cell (the "carry-in": exact for lanes whose events do not overlap, the
 *     outermost range for nested lanes). With at most LANESUM_EXACT_EVENTS
 *     events starting in the cell the name is the exact argmax of those
 *     weights (ties: the smaller string id). Otherwise the events of whole
 *     blocks inside the cell enter through their majority candidates with
 *     their whole durations; the events of the first and last block are
 *     weighed exactly. Promise: a name holding more than half of the weight
 *     is always the one returned (the Boyer-Moore invariant survives the
 *     merges); when no name holds a majority the answer is a heavy name but
 *     may not be the heaviest. For lanes whose events do not overlap (GPU
 *     streams) the whole durations equal the clipped ones, so the promise
 *     holds against the exact weights.
 * Weights saturate at UINT64_MAX (only for lanes of centuries).
 *
 * Growth. lanesum_extend() indexes events appended since the last call in
 * O(appended) amortized, provided they come in time order (each start >= the
 * previous one). Out-of-order appends (host API calls arrive by end time)
 * make it fail; the caller then rebuilds with lanesum_build() after sorting
 * the track (trace_session_finish), O(n): see bench/bench_lanesum.c for the
 * cost (about 26 ns per event on the 2-core box).
 *
 * Thread safety: none; a lane summary is read and extended by one thread.
 */
#ifndef TSTOP_TRACE_LANESUM_H
#define TSTOP_TRACE_LANESUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/event.h"
#include "util/err.h"

/* Events per block: a power of two. */
#define LANESUM_BLOCK 32
/* Cells with at most this many starting events get an exact dominant name. */
#define LANESUM_EXACT_EVENTS 64
/* The most cells one lanesum_cells() call computes. */
#define LANESUM_MAX_CELLS 65536

struct lanesum;

/* What one cell of a window holds (see the file comment for exactness). */
struct lanesum_cell {
	uint64_t count;   /* events starting in the cell */
	uint64_t covered; /* ns of the cell covered by the union of the events */
	uint64_t width;   /* ns in the cell (0 for cells narrower than 1 ns) */
	uint32_t name;    /* dominant name (string id); 0 when not touched */
	bool touched;     /* some event overlaps the cell or starts in it */
	bool exact_name;  /* name is the exact argmax of the weights */
};

/* The fraction of the cell covered by events, 0..1 (0 for a 0-width cell). */
static inline double lanesum_busy(const struct lanesum_cell *c)
{
	return c->width ? (double)c->covered / (double)c->width : 0.0;
}

/* Creates an empty summary (of a track with no events). Never NULL; the
 * caller frees it with lanesum_delete(). */
struct lanesum *lanesum_new(void);

/* Frees a summary. NULL is ignored. */
void lanesum_delete(struct lanesum *ls);

/* Forgets every event indexed, keeping the memory for a rebuild. */
void lanesum_reset(struct lanesum *ls);

/* Indexes ev[done .. n), where `done` is lanesum_events(ls): the events
 * appended since the last call. ev[0 .. done) must be what was indexed
 * before (the summary does not check). Returns 0, or -1 with `e` filled when
 * n < done or an event starts before its predecessor; the events before the
 * offending one stay indexed. O(n - done) amortized. */
int lanesum_extend(struct lanesum *ls, const struct trace_event *ev, size_t n, struct err *e);

/* Resets the summary and indexes ev[0 .. n), which must be sorted by start.
 * Returns 0, or -1 with `e` filled (as lanesum_extend). O(n). */
int lanesum_build(struct lanesum *ls, const struct trace_event *ev, size_t n, struct err *e);

/* Number of events indexed. */
size_t lanesum_events(const struct lanesum *ls);

/* Bytes of memory the summary holds (its allocations, capacity included). */
size_t lanesum_bytes(const struct lanesum *ls);

/* Index of the first indexed event whose start is >= t (lanesum_events()
 * when none). `ev` is the indexed array. O(log n). */
size_t lanesum_lower_bound(const struct lanesum *ls, const struct trace_event *ev, int64_t t);

/* Fills out[0 .. ncells) with the cells of the window [t0, t1) cut into
 * ncells equal parts: cell i is [t0 + span*i/ncells, t0 + span*(i+1)/ncells)
 * with span = t1 - t0, computed without overflow for any int64 window.
 * `ev` is the indexed array (its first lanesum_events() events are used).
 * Returns 0, or -1 with `e` filled when t1 <= t0 or ncells is 0 or above
 * LANESUM_MAX_CELLS. O(ncells * (log n + LANESUM_BLOCK)). */
int lanesum_cells(const struct lanesum *ls, const struct trace_event *ev, int64_t t0, int64_t t1,
                  uint32_t ncells, struct lanesum_cell *out, struct err *e);

/* The event at time t, for a cursor: among the events containing t
 * (start <= t < end, or start == end == t), the one that started last if it
 * is among the LANESUM_BLOCK latest starts at or before t (the innermost of
 * nested ranges), else the one reaching furthest. Returns its index, or
 * SIZE_MAX when no event contains t. O(log n + LANESUM_BLOCK). */
size_t lanesum_event_at(const struct lanesum *ls, const struct trace_event *ev, int64_t t);

/* Like lanesum_event_at, but when no event contains t, the event nearest to
 * t (by the gap between t and its span) if that gap is at most `slop` ns
 * (ties: the earlier one). Returns SIZE_MAX when there is none. */
size_t lanesum_event_near(const struct lanesum *ls, const struct trace_event *ev, int64_t t, uint64_t slop);

#endif
