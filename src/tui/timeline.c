/*
 * timeline.c - the timeline view's model (timeline.h): lanes built from a
 * session's tracks, their summaries kept up to date as a live session
 * grows, window and cursor arithmetic (through axis.h), the selection and
 * its correlation links. Pure code: no curses, no I/O.
 */
#include "tui/timeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

void tui_timeline_init(struct tui_timeline *tl)
{
	memset(tl, 0, sizeof(*tl));
	tl->width = 1;
	tl->range = (struct axis_window){0, 1};
	tl->win = tl->range;
}

/* Frees the lanes (their copies, summaries and stacks). */
static void tui_tl_free_lanes(struct tui_timeline *tl)
{
	for (size_t i = 0; i < tl->nlanes; i++) {
		free(tl->lanes[i].own);
		free(tl->lanes[i].stack);
		lanesum_delete(tl->lanes[i].sum);
	}
	free(tl->lanes);
	tl->lanes = NULL;
	tl->nlanes = 0;
}

void tui_timeline_done(struct tui_timeline *tl)
{
	tui_tl_free_lanes(tl);
	memset(tl, 0, sizeof(*tl));
}

/* Appends a blank lane of `kind`; returns it (valid until the next add). */
static struct tui_lane *tui_tl_add(struct tui_timeline *tl, size_t *cap, enum tui_lane_kind kind)
{
	if (tl->nlanes == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		tl->lanes = xrealloc(tl->lanes, *cap * sizeof(*tl->lanes));
	}
	struct tui_lane *l = &tl->lanes[tl->nlanes++];
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	if (kind != TUI_LANE_DEVICE && kind != TUI_LANE_PROCESS)
		l->sum = lanesum_new();
	return l;
}

/* Appends ev to a lane's own copy. Amortized O(1). */
static void tui_tl_push(struct tui_lane *l, const struct trace_event *ev)
{
	if (l->n == l->own_cap) {
		l->own_cap = l->own_cap ? l->own_cap * 2 : 64;
		l->own = xrealloc(l->own, l->own_cap * sizeof(*l->own));
	}
	l->own[l->n++] = *ev;
	l->ev = l->own;
}

/* The NVTX depth (1-based, capped) of range ev on thread lane t: the first
 * depth whose ranges have all ended by ev's start (first fit), which ev
 * then occupies until its end. Ranges come by start, so a range nested in
 * another gets a deeper lane than it; start/end ranges, which may overlap
 * without nesting, take the first free depth instead of stacking up. The
 * last depth takes every range that finds none free. O(TUI_TL_MAX_DEPTH). */
static uint32_t tui_tl_depth(struct tui_lane *t, const struct trace_event *ev)
{
	if (t->stack_cap < TUI_TL_MAX_DEPTH) {
		t->stack = xrealloc(t->stack, TUI_TL_MAX_DEPTH * sizeof(*t->stack));
		for (size_t i = t->stack_cap; i < TUI_TL_MAX_DEPTH; i++)
			t->stack[i] = INT64_MIN;
		t->stack_cap = TUI_TL_MAX_DEPTH;
	}
	uint32_t d = 0;
	while (d + 1 < TUI_TL_MAX_DEPTH && t->stack[d] > ev->start)
		d++;
	if (t->stack[d] < ev->end)
		t->stack[d] = ev->end;
	return d + 1;
}

/* Records the last event of track array ev[0 .. n) in lane l. */
static void tui_tl_mark(struct tui_lane *l, const struct trace_event *ev, size_t n)
{
	l->track_n = n;
	if (n) {
		l->last_start = ev[n - 1].start;
		l->last_end = ev[n - 1].end;
		l->last_name = ev[n - 1].name;
	}
}

/* Whether track array ev[0 .. n) still begins with what lane l indexed. */
static bool tui_tl_grew(const struct tui_lane *l, const struct trace_event *ev, size_t n)
{
	if (n < l->track_n)
		return false;
	if (!l->track_n)
		return true;
	const struct trace_event *e = &ev[l->track_n - 1];
	return e->start == l->last_start && e->end == l->last_end && e->name == l->last_name &&
	       (n == l->track_n || ev[l->track_n].start >= l->last_start);
}

/* Counts the NVTX depths the ranges of ev[0 .. n) need. */
static uint32_t tui_tl_depths(const struct trace_event *ev, size_t n)
{
	struct tui_lane tmp;
	memset(&tmp, 0, sizeof(tmp));
	uint32_t maxd = 0;
	for (size_t i = 0; i < n; i++)
		if (ev[i].kind == TRACE_NVTX_RANGE) {
			uint32_t d = tui_tl_depth(&tmp, &ev[i]);
			if (d > maxd)
				maxd = d;
		}
	free(tmp.stack);
	return maxd;
}

/* Distributes ev[from .. n) of a split thread (lane index t) over its lane
 * and sub-lanes. Returns false when a range needs a sub-lane it lacks. */
static bool tui_tl_split(struct tui_timeline *tl, size_t t, const struct trace_event *ev, size_t from,
                         size_t n)
{
	for (size_t i = from; i < n; i++) {
		struct tui_lane *th = &tl->lanes[t];
		if (ev[i].kind != TRACE_NVTX_RANGE) {
			tui_tl_push(th, &ev[i]);
			continue;
		}
		uint32_t d = tui_tl_depth(th, &ev[i]);
		if (d > th->nsub)
			return false;
		tui_tl_push(&tl->lanes[t + d], &ev[i]);
	}
	return true;
}

/* (Re)indexes lane l from index `done` on: extend, else rebuild. */
static void tui_tl_index(struct tui_lane *l)
{
	struct err e;
	if (lanesum_extend(l->sum, l->ev, l->n, &e) < 0)
		lanesum_build(l->sum, l->ev, l->n, &e); /* unsorted copies cannot happen: tracks are sorted */
}

/* Adds the lanes of thread track `track`. */
static void tui_tl_add_thread(struct tui_timeline *tl, size_t *cap, const struct trace_session *s,
                              uint32_t track)
{
	const struct trace_track_info *ti = trace_session_track_info(s, track);
	size_t n;
	const struct trace_event *ev = trace_session_track_events(s, track, &n);
	size_t t = tl->nlanes;
	struct tui_lane *th = tui_tl_add(tl, cap, TUI_LANE_THREAD);
	th->track = track;
	th->id = ti->tid;
	size_t nl;
	const char *name = trace_session_string(s, ti->name, &nl);
	if (nl)
		snprintf(th->label, sizeof(th->label), "%.*s", (int)nl, name);
	else
		snprintf(th->label, sizeof(th->label), "tid %u", ti->tid);
	uint32_t depths = tui_tl_depths(ev, n);
	th->nsub = depths;
	th->split = depths > 0;
	for (uint32_t d = 1; d <= depths; d++) {
		struct tui_lane *sub = tui_tl_add(tl, cap, TUI_LANE_NVTX);
		sub->track = track;
		sub->depth = d;
		snprintf(sub->label, sizeof(sub->label), "  nvtx %u%s", d, d == TUI_TL_MAX_DEPTH ? "+" : "");
	}
	th = &tl->lanes[t];
	if (th->split)
		tui_tl_split(tl, t, ev, 0, n);
	else {
		th->ev = ev;
		th->n = n;
	}
	tui_tl_mark(&tl->lanes[t], ev, n);
	for (size_t i = t; i <= t + depths; i++)
		tui_tl_index(&tl->lanes[i]);
}

/* Sort orders of track ids (qsort has no context: a file-scope pointer is
 * set for the duration of one sort, single-threaded). */
static const struct trace_session *tui_tl_sort_session;

static int tui_tl_cmp_stream(const void *a, const void *b)
{
	const struct trace_track_info *x =
	    trace_session_track_info(tui_tl_sort_session, *(const uint32_t *)a);
	const struct trace_track_info *y =
	    trace_session_track_info(tui_tl_sort_session, *(const uint32_t *)b);
	if (x->device != y->device)
		return x->device < y->device ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->context != y->context)
		return x->context < y->context ? -1 : 1;
	return (x->stream > y->stream) - (x->stream < y->stream);
}

static int tui_tl_cmp_thread(const void *a, const void *b)
{
	const struct trace_track_info *x =
	    trace_session_track_info(tui_tl_sort_session, *(const uint32_t *)a);
	const struct trace_track_info *y =
	    trace_session_track_info(tui_tl_sort_session, *(const uint32_t *)b);
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Builds every lane of s from scratch. O(events of split threads + tracks log tracks). */
static void tui_tl_build(struct tui_timeline *tl, struct trace_session *s)
{
	tui_tl_free_lanes(tl);
	size_t cap = 0;
	uint32_t nt = trace_session_track_count(s);
	tl->ntracks = nt;
	uint32_t *streams = xcalloc(nt + 1, sizeof(*streams)), *threads = xcalloc(nt + 1, sizeof(*threads));
	size_t ns = 0, nth = 0;
	for (uint32_t t = 1; t < nt; t++) {
		const struct trace_track_info *ti = trace_session_track_info(s, t);
		if (ti->kind == TRACE_TRACK_STREAM)
			streams[ns++] = t;
		else if (ti->kind == TRACE_TRACK_THREAD)
			threads[nth++] = t;
	}
	tui_tl_sort_session = s;
	qsort(streams, ns, sizeof(*streams), tui_tl_cmp_stream);
	qsort(threads, nth, sizeof(*threads), tui_tl_cmp_thread);
	tui_tl_sort_session = NULL;
	bool many = trace_session_process_count(s) > 1;
	for (size_t i = 0; i < ns; i++) {
		const struct trace_track_info *ti = trace_session_track_info(s, streams[i]);
		if (!i || trace_session_track_info(s, streams[i - 1])->device != ti->device) {
			struct tui_lane *h = tui_tl_add(tl, &cap, TUI_LANE_DEVICE);
			h->id = ti->device;
			const struct trace_device *d = trace_session_find_device(s, ti->device);
			const char *dn = d ? trace_session_string(s, d->name, NULL) : "";
			snprintf(h->label, sizeof(h->label), "%s %u%s%s",
			         d && d->api == TRACE_DEVICE_OPENCL ? "Device" : "GPU", ti->device,
			         dn[0] ? ": " : "", dn);
		}
		struct tui_lane *l = tui_tl_add(tl, &cap, TUI_LANE_STREAM);
		l->track = streams[i];
		l->id = ti->stream;
		size_t nl;
		const char *name = trace_session_string(s, ti->name, &nl);
		char pid[24] = "";
		if (many)
			snprintf(pid, sizeof(pid), "pid %u ", ti->pid);
		if (nl)
			snprintf(l->label, sizeof(l->label), "%s%.*s", pid, (int)nl, name);
		else
			snprintf(l->label, sizeof(l->label), "%s%s %u", pid, ti->context ? "stream" : "queue",
			         ti->stream);
		l->ev = trace_session_track_events(s, streams[i], &l->n);
		tui_tl_mark(l, l->ev, l->n);
		tui_tl_index(l);
	}
	for (size_t i = 0; i < nth; i++) {
		const struct trace_track_info *ti = trace_session_track_info(s, threads[i]);
		if (!i || trace_session_track_info(s, threads[i - 1])->pid != ti->pid) {
			struct tui_lane *h = tui_tl_add(tl, &cap, TUI_LANE_PROCESS);
			h->id = ti->pid;
			const struct trace_process *p = trace_session_find_process(s, ti->pid);
			const char *cmd = p ? trace_session_string(s, p->command, NULL) : "";
			snprintf(h->label, sizeof(h->label), "Process %u%s%s", ti->pid, cmd[0] ? ": " : "",
			         cmd);
		}
		tui_tl_add_thread(tl, &cap, s, threads[i]);
	}
	free(streams);
	free(threads);
}

/* Brings the lanes up to date with a grown session; false when a full
 * rebuild is needed instead. */
static bool tui_tl_update(struct tui_timeline *tl, struct trace_session *s)
{
	if (trace_session_track_count(s) != tl->ntracks)
		return false;
	for (size_t i = 0; i < tl->nlanes; i++) {
		struct tui_lane *l = &tl->lanes[i];
		if (l->kind != TUI_LANE_STREAM && l->kind != TUI_LANE_THREAD)
			continue;
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, l->track, &n);
		if (!tui_tl_grew(l, ev, n))
			return false;
		if (l->kind == TUI_LANE_STREAM || !l->split) {
			if (!l->split && l->kind == TUI_LANE_THREAD &&
			    tui_tl_depths(ev + l->track_n, n - l->track_n))
				return false; /* NVTX ranges appeared: the thread must be split */
			l->ev = ev;
			l->n = n;
		} else if (!tui_tl_split(tl, i, ev, l->track_n, n)) {
			return false;
		}
		size_t last = i + (l->kind == TUI_LANE_THREAD ? l->nsub : 0);
		tui_tl_mark(&tl->lanes[i], ev, n);
		for (size_t j = i; j <= last; j++)
			tui_tl_index(&tl->lanes[j]);
		i = last;
	}
	return true;
}

/* Where the selection's event and the cursor lane are, to find them again. */
struct tui_tl_keep {
	bool sel;
	struct trace_event ev;
	enum tui_lane_kind kind;
	uint32_t track, depth, id;
};

static void tui_tl_restore(struct tui_timeline *tl, const struct tui_tl_keep *k)
{
	tl->sel.valid = false;
	tl->cursor_lane = 0;
	for (size_t i = 0; i < tl->nlanes; i++) {
		const struct tui_lane *l = &tl->lanes[i];
		if (l->kind == k->kind && l->track == k->track && l->depth == k->depth && l->id == k->id) {
			tl->cursor_lane = i;
			break;
		}
	}
	if (!k->sel)
		return;
	size_t lane = tui_timeline_lane_of(tl, &k->ev);
	if (lane == SIZE_MAX)
		return;
	const struct tui_lane *l = &tl->lanes[lane];
	for (size_t i = lanesum_lower_bound(l->sum, l->ev, k->ev.start);
	     i < l->n && l->ev[i].start == k->ev.start; i++)
		if (!memcmp(&l->ev[i], &k->ev, sizeof(k->ev))) {
			tl->sel.valid = true;
			tl->sel.lane = lane;
			tl->sel.idx = i;
			tl->sel.ev = l->ev[i];
			return;
		}
}

void tui_timeline_sync(struct tui_timeline *tl, struct trace_session *s, uint64_t generation,
                       const struct tui_corr *corr)
{
	(void)corr;
	if (generation == tl->generation && tl->lanes)
		return;
	bool first = !tl->generation;
	tl->generation = generation;
	int64_t lo = 0, hi = 0;
	tl->empty = !trace_session_time_range(s, &lo, &hi);
	if (first || !tui_tl_update(tl, s)) {
		struct tui_tl_keep k;
		memset(&k, 0, sizeof(k));
		if (tl->nlanes) {
			const struct tui_lane *c = &tl->lanes[tl->cursor_lane];
			k.kind = c->kind;
			k.track = c->track;
			k.depth = c->depth;
			k.id = c->id;
		}
		if (tl->sel.valid) { /* the copy: the lane may point into a changed track */
			k.sel = true;
			k.ev = tl->sel.ev;
		}
		tui_tl_build(tl, s);
		tui_tl_restore(tl, &k);
	}
	struct axis_window old = tl->range;
	tl->range = tl->empty ? (struct axis_window){0, 1} : axis_fit(lo, hi);
	if (!tl->origin_set && !tl->empty) {
		/* The session's first event: a live session may have none yet. */
		tl->origin = tl->range.t0;
		tl->origin_set = true;
	}
	if (first) {
		tl->win = tl->range;
		tl->cursor_t = tl->win.t0 + (int64_t)(((uint64_t)tl->win.t1 - (uint64_t)tl->win.t0) / 2);
		while (tl->cursor_lane + 1 < tl->nlanes && !tl->lanes[tl->cursor_lane].sum)
			tl->cursor_lane++; /* start on a lane, not a header */
		return;
	}
	if (tl->follow) {
		uint64_t span = (uint64_t)tl->win.t1 - (uint64_t)tl->win.t0;
		int64_t off = tl->cursor_t - tl->win.t0;
		struct axis_window w = {(int64_t)((uint64_t)tl->range.t1 - span), tl->range.t1};
		if (old.t1 == old.t0 + 1 || span >= (uint64_t)tl->range.t1 - (uint64_t)tl->range.t0)
			w = tl->range;
		tl->win = axis_clamp(&w, &tl->range);
		tl->cursor_t = tl->win.t0 + off;
	} else {
		tl->win = axis_clamp(&tl->win, &tl->range);
	}
	if (tl->cursor_t < tl->win.t0 || tl->cursor_t >= tl->win.t1)
		tl->cursor_t = tl->win.t1 - 1;
}

void tui_timeline_layout(struct tui_timeline *tl, int width, int rows)
{
	tl->width = width >= 1 ? width : 1;
	if (rows < 1)
		rows = 1;
	if (tl->cursor_lane < tl->top)
		tl->top = tl->cursor_lane;
	if (tl->cursor_lane >= tl->top + (size_t)rows)
		tl->top = tl->cursor_lane - (size_t)rows + 1;
	if (tl->top + (size_t)rows > tl->nlanes)
		tl->top = tl->nlanes > (size_t)rows ? tl->nlanes - (size_t)rows : 0;
}

int tui_timeline_cells(const struct tui_timeline *tl, size_t lane, struct lanesum_cell *out, struct err *e)
{
	if (lane >= tl->nlanes) {
		err_fmt(e, "no lane %zu", lane);
		return -1;
	}
	const struct tui_lane *l = &tl->lanes[lane];
	if (!l->sum) {
		memset(out, 0, (size_t)tl->width * sizeof(*out));
		return 0;
	}
	return lanesum_cells(l->sum, l->ev, tl->win.t0, tl->win.t1, (uint32_t)tl->width, out, e);
}

const char *tui_timeline_shade(const struct lanesum_cell *c, bool utf8)
{
	static const char *const u[] = {" ", "\u2591", "\u2592", "\u2593", "\u2588"};
	static const char *const a[] = {" ", ".", ":", "#", "@"};
	const char *const *g = utf8 ? u : a;
	if (!c->touched)
		return g[0];
	double b = lanesum_busy(c);
	return g[b < 0.25 ? 1 : b < 0.5 ? 2 : b < 0.9 ? 3 : 4];
}

bool tui_timeline_visible(const struct tui_timeline *tl, size_t lane, size_t max, size_t *first, size_t *last)
{
	*first = *last = 0;
	if (lane >= tl->nlanes || !tl->lanes[lane].sum)
		return false;
	const struct tui_lane *l = &tl->lanes[lane];
	size_t a = lanesum_lower_bound(l->sum, l->ev, tl->win.t0);
	size_t b = lanesum_lower_bound(l->sum, l->ev, tl->win.t1);
	if (b - a > max)
		return false;
	if (a > 0 && l->ev[a - 1].end > tl->win.t0)
		a--;
	*first = a;
	*last = b;
	return true;
}

/* The smallest span: one ns per column. */
static uint64_t tui_tl_min_span(const struct tui_timeline *tl)
{
	return (uint64_t)(tl->width > 0 ? tl->width : 1);
}

/* Keeps the cursor inside the window. */
static void tui_tl_clamp_cursor(struct tui_timeline *tl)
{
	if (tl->cursor_t < tl->win.t0)
		tl->cursor_t = tl->win.t0;
	if (tl->cursor_t >= tl->win.t1)
		tl->cursor_t = tl->win.t1 - 1;
}

void tui_timeline_zoom_at(struct tui_timeline *tl, int64_t t, double factor)
{
	tl->follow = false;
	tl->win = axis_zoom(&tl->win, t, factor, tui_tl_min_span(tl), &tl->range);
	tui_tl_clamp_cursor(tl);
}

void tui_timeline_zoom(struct tui_timeline *tl, double factor)
{
	tui_timeline_zoom_at(tl, tl->cursor_t, factor);
}

void tui_timeline_pan(struct tui_timeline *tl, double fraction)
{
	tl->follow = false;
	int64_t before = tl->win.t0;
	tl->win = axis_pan(&tl->win, fraction, &tl->range);
	/* the cursor keeps its column: it moves with the window (no overflow:
	 * both lie within the range) */
	tl->cursor_t += tl->win.t0 - before;
	tui_tl_clamp_cursor(tl);
}

void tui_timeline_fit(struct tui_timeline *tl)
{
	tl->follow = false;
	tl->win = tl->range;
	tui_tl_clamp_cursor(tl);
}

const struct trace_event *tui_timeline_selected(const struct tui_timeline *tl)
{
	if (!tl->sel.valid || tl->sel.lane >= tl->nlanes || tl->sel.idx >= tl->lanes[tl->sel.lane].n)
		return NULL;
	return &tl->lanes[tl->sel.lane].ev[tl->sel.idx];
}

bool tui_timeline_zoom_selected(struct tui_timeline *tl)
{
	const struct trace_event *ev = tui_timeline_selected(tl);
	if (!ev)
		return false;
	tl->follow = false;
	tl->win = axis_zoom_to(ev->start, ev->end, 0.1, tui_tl_min_span(tl), &tl->range);
	tl->cursor_t = ev->start;
	tui_tl_clamp_cursor(tl);
	return true;
}

void tui_timeline_follow(struct tui_timeline *tl)
{
	tl->follow = true;
	uint64_t span = (uint64_t)tl->win.t1 - (uint64_t)tl->win.t0;
	int64_t off = tl->cursor_t - tl->win.t0;
	struct axis_window w = {(int64_t)((uint64_t)tl->range.t1 - span), tl->range.t1};
	tl->win = axis_clamp(&w, &tl->range);
	tl->cursor_t = tl->win.t0 + off;
	tui_tl_clamp_cursor(tl);
}

void tui_timeline_move_lane(struct tui_timeline *tl, long delta, int rows)
{
	if (!tl->nlanes)
		return;
	long c = (long)tl->cursor_lane + delta;
	if (c < 0)
		c = 0;
	if (c >= (long)tl->nlanes)
		c = (long)tl->nlanes - 1;
	tl->cursor_lane = (size_t)c;
	tui_timeline_layout(tl, tl->width, rows);
}

size_t tui_timeline_lane_of(const struct tui_timeline *tl, const struct trace_event *ev)
{
	for (size_t i = 0; i < tl->nlanes; i++) {
		const struct tui_lane *l = &tl->lanes[i];
		if (l->track != ev->track)
			continue;
		if (l->kind == TUI_LANE_STREAM)
			return i;
		if (l->kind != TUI_LANE_THREAD)
			continue;
		if (!l->split || ev->kind != TRACE_NVTX_RANGE)
			return i;
		/* the sub-lane holding this range */
		for (size_t d = 1; d <= l->nsub; d++) {
			const struct tui_lane *sub = &tl->lanes[i + d];
			for (size_t k = lanesum_lower_bound(sub->sum, sub->ev, ev->start);
			     k < sub->n && sub->ev[k].start == ev->start; k++)
				if (!memcmp(&sub->ev[k], ev, sizeof(*ev)))
					return i + d;
		}
		return i;
	}
	return SIZE_MAX;
}

bool tui_timeline_is_link(const struct tui_timeline *tl, uint32_t track, int64_t start, int64_t end)
{
	for (size_t i = 0; i < tl->nlinks; i++)
		if (tl->links[i].track == track && tl->links[i].start == start && tl->links[i].end == end)
			return true;
	return false;
}

/* Fills the links of the selection from corr. */
static void tui_tl_links(struct tui_timeline *tl, const struct trace_session *s, const struct tui_corr *corr)
{
	tl->nlinks = 0;
	const struct trace_event *ev = tui_timeline_selected(tl);
	if (!ev || !corr || !ev->correlation)
		return;
	uint32_t pid = tui_event_pid(s, ev);
	if (ev->kind == TRACE_API) {
		const struct trace_event *const *g;
		size_t n = tui_corr_gpu(corr, pid, ev->correlation, &g);
		for (size_t i = 0; i < n && tl->nlinks < TUI_TL_MAX_LINKS; i++)
			tl->links[tl->nlinks++] = (struct tui_tl_link){g[i]->track, g[i]->start, g[i]->end};
	} else {
		const struct trace_event *a = tui_corr_api(corr, pid, ev->correlation);
		if (a)
			tl->links[tl->nlinks++] = (struct tui_tl_link){a->track, a->start, a->end};
	}
}

/* Selects event idx of lane `lane` and fills the links. */
static void tui_tl_select(struct tui_timeline *tl, size_t lane, size_t idx, const struct trace_session *s,
                          const struct tui_corr *corr)
{
	tl->sel.valid = true;
	tl->sel.lane = lane;
	tl->sel.idx = idx;
	tl->sel.ev = tl->lanes[lane].ev[idx];
	tui_tl_links(tl, s, corr);
}

bool tui_timeline_select_at_cursor(struct tui_timeline *tl, const struct trace_session *s,
                                   const struct tui_corr *corr)
{
	tl->sel.valid = false;
	tl->nlinks = 0;
	if (tl->cursor_lane >= tl->nlanes || !tl->lanes[tl->cursor_lane].sum)
		return false;
	const struct tui_lane *l = &tl->lanes[tl->cursor_lane];
	uint64_t col = ((uint64_t)tl->win.t1 - (uint64_t)tl->win.t0) / (uint64_t)tl->width;
	size_t i = lanesum_event_near(l->sum, l->ev, tl->cursor_t, col);
	if (i == SIZE_MAX)
		return false;
	tui_tl_select(tl, tl->cursor_lane, i, s, corr);
	return true;
}

/* Pans (keeping the span) so that [start, end] begins in sight. */
static void tui_tl_show(struct tui_timeline *tl, int64_t start)
{
	if (start >= tl->win.t0 && start < tl->win.t1)
		return;
	tl->follow = false;
	uint64_t span = (uint64_t)tl->win.t1 - (uint64_t)tl->win.t0;
	struct axis_window w;
	w.t0 = (int64_t)((uint64_t)start - span / 4);
	if (w.t0 > start) /* wrapped below INT64_MIN */
		w.t0 = INT64_MIN;
	w.t1 = (int64_t)((uint64_t)w.t0 + span);
	if (w.t1 < w.t0)
		w.t1 = INT64_MAX;
	tl->win = axis_clamp(&w, &tl->range);
}

bool tui_timeline_step(struct tui_timeline *tl, const struct trace_session *s, const struct tui_corr *corr,
                       int dir)
{
	if (tl->cursor_lane >= tl->nlanes || !tl->lanes[tl->cursor_lane].sum)
		return false;
	const struct tui_lane *l = &tl->lanes[tl->cursor_lane];
	if (!l->n)
		return false;
	size_t i;
	if (tl->sel.valid && tl->sel.lane == tl->cursor_lane) {
		if (dir > 0 ? tl->sel.idx + 1 >= l->n : tl->sel.idx == 0)
			return false;
		i = dir > 0 ? tl->sel.idx + 1 : tl->sel.idx - 1;
	} else {
		size_t lb = lanesum_lower_bound(l->sum, l->ev, tl->cursor_t);
		if (dir > 0) {
			if (lb >= l->n)
				return false;
			i = lb;
		} else {
			if (!lb)
				return false;
			i = lb - 1;
		}
	}
	tui_tl_select(tl, tl->cursor_lane, i, s, corr);
	tui_tl_show(tl, l->ev[i].start);
	tl->cursor_t = l->ev[i].start;
	tui_tl_clamp_cursor(tl);
	return true;
}

bool tui_timeline_select_event(struct tui_timeline *tl, const struct trace_session *s,
                               const struct tui_corr *corr, const struct trace_event *ev, int rows)
{
	size_t li = tui_timeline_lane_of(tl, ev);
	if (li == SIZE_MAX || !tl->lanes[li].sum)
		return false;
	const struct tui_lane *l = &tl->lanes[li];
	for (size_t k = lanesum_lower_bound(l->sum, l->ev, ev->start);
	     k < l->n && l->ev[k].start == ev->start; k++)
		if (!memcmp(&l->ev[k], ev, sizeof(*ev))) {
			tl->cursor_lane = li;
			tui_tl_select(tl, li, k, s, corr);
			tui_timeline_zoom_selected(tl);
			tui_timeline_layout(tl, tl->width, rows);
			return true;
		}
	return false;
}

bool tui_timeline_jump_link(struct tui_timeline *tl, const struct trace_session *s,
                            const struct tui_corr *corr)
{
	if (!tl->nlinks || !tui_timeline_selected(tl))
		return false;
	struct tui_tl_link k = tl->links[0];
	for (size_t i = 0; i < tl->nlanes; i++) {
		const struct tui_lane *l = &tl->lanes[i];
		if (l->track != k.track || !l->sum || l->kind == TUI_LANE_NVTX)
			continue;
		for (size_t j = lanesum_lower_bound(l->sum, l->ev, k.start);
		     j < l->n && l->ev[j].start == k.start; j++)
			if (l->ev[j].end == k.end) {
				tl->cursor_lane = i;
				tui_tl_select(tl, i, j, s, corr);
				tui_tl_show(tl, k.start);
				tl->cursor_t = k.start;
				tui_tl_clamp_cursor(tl);
				return true;
			}
	}
	return false;
}

unsigned tui_timeline_color(const char *name, size_t len, unsigned ncolors)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 16777619u;
	}
	return ncolors ? h % ncolors : 0;
}
