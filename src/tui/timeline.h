/*
 * timeline.h - the timeline view's model, pure (no curses): its lanes, their
 * order and labels, the cells of each lane at a zoom (from lane summaries,
 * trace/lanesum.h), the window and cursor state (zoom, pan, fit, follow),
 * the selection and its correlation links.
 *
 * Lanes, top to bottom: for each device (by id) a header line, then its GPU
 * streams (by pid, context, stream); then for each process (by pid) a header
 * line, then each of its host threads (by tid): one lane for the thread's API
 * calls, marks, allocations (everything but NVTX ranges), followed by one
 * sub-lane per NVTX nesting depth (depth 1 is the outermost range; ranges
 * deeper than TUI_TL_MAX_DEPTH share the last sub-lane). Counter and
 * process-wide tracks have no lane.
 *
 * Stream lanes and threads without NVTX ranges read their track's array in
 * the session (no copy). A thread with NVTX ranges is split into copies of
 * its events, one array per lane (40 bytes per host event).
 *
 * Live sessions: tui_timeline_sync() is called with every snapshot; when
 * its generation changed, each lane whose track only grew by events that
 * start at or after its last indexed one is extended (lanesum_extend, O(new
 * events)); any other change rebuilds that lane's thread (or the whole
 * timeline when tracks appeared). Nothing scans every event per frame.
 *
 * Invariants: 1. win lies within range and t0 < t1. 2. cursor_lane <
 * nlanes when nlanes > 0. 3. sel.lane, when sel.valid, is a lane with
 * events and sel.idx < its event count.
 */
#ifndef TSTOP_TUI_TIMELINE_H
#define TSTOP_TUI_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/lanesum.h"
#include "trace/session.h"
#include "tui/axis.h"
#include "tui/details.h"

#define TUI_TL_MAX_DEPTH 8  /* NVTX sub-lanes per thread */
#define TUI_TL_LABEL_MAX 96 /* bytes of a lane label, NUL included */
#define TUI_TL_MAX_LINKS 16 /* correlated events highlighted */

enum tui_lane_kind {
	TUI_LANE_DEVICE = 1,  /* header: a device */
	TUI_LANE_PROCESS = 2, /* header: a process */
	TUI_LANE_STREAM = 3,  /* a GPU stream / queue */
	TUI_LANE_THREAD = 4,  /* a host thread: API calls, marks, allocations */
	TUI_LANE_NVTX = 5,    /* a host thread's NVTX ranges at one depth */
};

struct tui_lane {
	enum tui_lane_kind kind;
	uint32_t track;               /* 0 for headers */
	uint32_t depth;               /* NVTX: 1 .. TUI_TL_MAX_DEPTH */
	uint32_t id;                  /* DEVICE: device id; PROCESS: pid */
	char label[TUI_TL_LABEL_MAX]; /* raw bytes from the session: escape when drawing */
	const struct trace_event *ev; /* the events (own, or the track's array) */
	size_t n;
	struct trace_event *own; /* owned copy, or NULL when ev is the track's array */
	size_t own_cap;
	struct lanesum *sum; /* NULL for headers */
	/* growth state (STREAM and THREAD lanes): the track's events indexed,
	 * and the last of them, to tell appends from other changes */
	size_t track_n;
	int64_t last_start, last_end;
	uint32_t last_name;
	size_t nsub;    /* THREAD: NVTX sub-lanes that follow it */
	bool split;     /* THREAD: the lanes hold copies (the thread has NVTX ranges) */
	int64_t *stack; /* THREAD, split: per NVTX depth, the end of its latest range */
	size_t stack_cap;
};

/* A correlated event to highlight. */
struct tui_tl_link {
	uint32_t track;
	int64_t start, end;
};

struct tui_timeline {
	struct tui_lane *lanes;
	size_t nlanes;
	uint32_t ntracks;         /* tracks of the session when built */
	uint64_t generation;      /* of the snapshot last synced */
	bool empty;               /* the session has no events */
	struct axis_window range; /* the session: [first start, last end + 1) */
	struct axis_window win;   /* what is shown */
	int64_t origin;           /* axis labels are relative to this (session start) */
	bool origin_set;          /* origin is the first event's start (false while none) */
	int width;                /* columns of the time area at the last layout (>= 1) */
	int64_t cursor_t;
	size_t cursor_lane;
	size_t top; /* first lane shown */
	bool follow;
	struct {
		bool valid;
		size_t lane, idx;
		struct trace_event ev; /* a copy, to find it again after a rebuild */
	} sel;
	struct tui_tl_link links[TUI_TL_MAX_LINKS];
	size_t nlinks;
};

/* Initializes an empty timeline (nothing built). */
void tui_timeline_init(struct tui_timeline *tl);

/* Frees what tl holds (not tl itself). */
void tui_timeline_done(struct tui_timeline *tl);

/* Brings tl up to date with session `s` of snapshot `generation` (a finished
 * session: tracks sorted). The first call builds the lanes and fits the
 * window; later calls with a new generation extend or rebuild (file
 * comment), keep the cursor, the selection (found again by its event) and,
 * unless following, the window; when following, the window slides so the
 * newest time stays at its right edge. `corr` may be NULL (links then stay
 * empty). Same generation: nothing. O(new events) or O(n) on rebuild. */
void tui_timeline_sync(struct tui_timeline *tl, struct trace_session *s, uint64_t generation,
                       const struct tui_corr *corr);

/* Sets the columns of the time area (>= 1) and rows of lanes shown (>= 1),
 * keeping the cursor lane in sight. */
void tui_timeline_layout(struct tui_timeline *tl, int width, int rows);

/* Fills out[0 .. width) with the cells of lane `lane` over the window.
 * Headers get untouched cells. Returns 0, or -1 with `e` filled. */
int tui_timeline_cells(const struct tui_timeline *tl, size_t lane, struct lanesum_cell *out, struct err *e);

/* The shade of a cell, by how busy it is: " ", then 4 levels (UTF-8 ░▒▓█,
 * else . : # @); a touched cell is never blank. */
const char *tui_timeline_shade(const struct lanesum_cell *c, bool utf8);

/* The events of lane `lane` that overlap the window, for drawing as bars:
 * their index range [*first, *last) (the one event before *first that
 * reaches into the window included). Returns false (nothing to draw as
 * bars) when more than `max` events start in the window. O(log n). */
bool tui_timeline_visible(const struct tui_timeline *tl, size_t lane, size_t max, size_t *first,
                          size_t *last);

/* Window actions. Each keeps invariant 1; all but follow stop following. */
void tui_timeline_zoom(struct tui_timeline *tl, double factor);               /* around the cursor */
void tui_timeline_zoom_at(struct tui_timeline *tl, int64_t t, double factor); /* around t */
void tui_timeline_pan(struct tui_timeline *tl, double fraction); /* the cursor keeps its column */
void tui_timeline_fit(struct tui_timeline *tl);
/* Zooms to the selected event; false when nothing is selected. */
bool tui_timeline_zoom_selected(struct tui_timeline *tl);
/* Resumes following the newest time (live sessions). */
void tui_timeline_follow(struct tui_timeline *tl);

/* Moves the cursor lane by `delta` lanes (clamped), keeping it in sight of
 * `rows` lanes. */
void tui_timeline_move_lane(struct tui_timeline *tl, long delta, int rows);

/* Selects the event of the cursor lane at the cursor time (or within one
 * column of it); clears the selection when there is none. Fills the links
 * from `corr` (may be NULL). Returns whether an event is selected. */
bool tui_timeline_select_at_cursor(struct tui_timeline *tl, const struct trace_session *s,
                                   const struct tui_corr *corr);

/* Selects the next (dir > 0) or previous event of the cursor lane after or
 * before the selection (or the cursor time), moves the cursor to it and
 * pans the window to show it. Returns whether one was found. */
bool tui_timeline_step(struct tui_timeline *tl, const struct trace_session *s, const struct tui_corr *corr,
                       int dir);

/* Moves the selection to the first event linked with it (the API call of
 * GPU work, or the first GPU work of an API call), on its lane; the window
 * pans to it when it is out of sight. Returns false when there is none. */
bool tui_timeline_jump_link(struct tui_timeline *tl, const struct trace_session *s,
                            const struct tui_corr *corr);

/* Selects event `ev` (a copy of, or a pointer into, the session's events),
 * moves the cursor to its lane and time, zooms the window to it and keeps
 * its lane in sight of `rows` lanes; fills the links from `corr` (may be
 * NULL). Returns false, changing nothing, when no lane holds the event.
 * O(lanes + log n). */
bool tui_timeline_select_event(struct tui_timeline *tl, const struct trace_session *s,
                               const struct tui_corr *corr, const struct trace_event *ev, int rows);

/* The selected event, or NULL. */
const struct trace_event *tui_timeline_selected(const struct tui_timeline *tl);

/* The lane showing track `track` (the thread lane for an event of kind
 * `kind` that is not an NVTX range; the NVTX lane holding [start, end] for
 * ranges), or SIZE_MAX. O(lanes). */
size_t tui_timeline_lane_of(const struct tui_timeline *tl, const struct trace_event *ev);

/* Whether event (track, start, end) is one of the links. */
bool tui_timeline_is_link(const struct tui_timeline *tl, uint32_t track, int64_t start, int64_t end);

/* The color index (0 .. ncolors-1) of name `name` (string bytes), stable
 * across runs: FNV-1a of the bytes. */
unsigned tui_timeline_color(const char *name, size_t len, unsigned ncolors);

#endif
