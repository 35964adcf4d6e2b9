/*
 * test_tui_timeline.c - the timeline view's model (src/tui/timeline.h),
 * headless: lane order and grouping (devices, streams, processes, threads,
 * NVTX depths), lanes that partition each track's events, cells against a
 * brute-force count at many zoom levels, zoom/pan/fit state, selection and
 * the correlation link both ways, an instance of each table selected on its
 * lane (Enter on an instance), and a live session that grows (extended
 * lanes) or changes (rebuilt lanes) between generations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synth.h"
#include "tui/table.h"
#include "tui/timeline.h"

/* A synthetic session of n events over 2 processes, 2 devices, 2 streams. */
static struct trace_session *tl_synth(uint64_t n, uint64_t seed)
{
	struct synth_options o;
	synth_options_init(&o);
	o.events = n;
	o.processes = 2;
	o.devices = 2;
	o.streams = 2;
	o.seed = seed;
	struct err e;
	struct trace_session *s = synth_session(&o, NULL, &e);
	assert_non_null(s);
	return s;
}

/* Headers, order, grouping; each stream and thread track exactly once. */
static void test_lanes_order(void **state)
{
	(void)state;
	struct trace_session *s = tl_synth(4000, 3);
	struct tui_timeline tl;
	tui_timeline_init(&tl);
	tui_timeline_sync(&tl, s, 1, NULL);
	uint32_t nt = trace_session_track_count(s);
	unsigned *seen = calloc(nt, sizeof(*seen));
	bool in_threads = false;
	uint32_t dev = 0, pid = 0, tid = 0;
	bool have_dev = false;
	size_t thread_lane = SIZE_MAX;
	for (size_t i = 0; i < tl.nlanes; i++) {
		const struct tui_lane *l = &tl.lanes[i];
		switch (l->kind) {
		case TUI_LANE_DEVICE:
			assert_false(in_threads);
			if (have_dev)
				assert_true(l->id > dev);
			dev = l->id;
			have_dev = true;
			assert_non_null(strstr(l->label, "GPU"));
			break;
		case TUI_LANE_STREAM: {
			assert_false(in_threads);
			assert_true(have_dev);
			const struct trace_track_info *ti = trace_session_track_info(s, l->track);
			assert_int_equal(ti->kind, TRACE_TRACK_STREAM);
			assert_int_equal(ti->device, dev);
			seen[l->track]++;
			break;
		}
		case TUI_LANE_PROCESS:
			if (in_threads)
				assert_true(l->id > pid);
			in_threads = true;
			pid = l->id;
			tid = 0;
			break;
		case TUI_LANE_THREAD: {
			assert_true(in_threads);
			const struct trace_track_info *ti = trace_session_track_info(s, l->track);
			assert_int_equal(ti->kind, TRACE_TRACK_THREAD);
			assert_int_equal(ti->pid, pid);
			assert_true(ti->tid > tid);
			tid = ti->tid;
			seen[l->track]++;
			thread_lane = i;
			/* its sub-lanes follow, depths 1, 2, ... */
			for (size_t d = 1; d <= l->nsub; d++) {
				assert_int_equal(tl.lanes[i + d].kind, TUI_LANE_NVTX);
				assert_int_equal(tl.lanes[i + d].depth, d);
				assert_int_equal(tl.lanes[i + d].track, l->track);
			}
			break;
		}
		case TUI_LANE_NVTX:
			assert_true(thread_lane != SIZE_MAX);
			assert_int_equal(l->track, tl.lanes[thread_lane].track);
			break;
		}
	}
	assert_true(in_threads);
	for (uint32_t t = 1; t < nt; t++) {
		const struct trace_track_info *ti = trace_session_track_info(s, t);
		bool want = ti->kind == TRACE_TRACK_STREAM || ti->kind == TRACE_TRACK_THREAD;
		assert_int_equal(seen[t], want ? 1 : 0);
	}
	free(seen);
	tui_timeline_done(&tl);
	trace_session_delete(s);
}

/* A thread's lanes partition its events: sorted, NVTX ranges only on the
 * sub-lanes, nested ranges deeper than their parent. */
static void test_lanes_partition(void **state)
{
	(void)state;
	struct trace_session *s = tl_synth(4000, 5);
	struct tui_timeline tl;
	tui_timeline_init(&tl);
	tui_timeline_sync(&tl, s, 1, NULL);
	bool nested = false;
	for (size_t i = 0; i < tl.nlanes; i++) {
		const struct tui_lane *l = &tl.lanes[i];
		if (l->kind != TUI_LANE_THREAD && l->kind != TUI_LANE_STREAM)
			continue;
		size_t n;
		trace_session_track_events(s, l->track, &n);
		size_t total = l->n;
		for (size_t k = 0; k < l->n; k++) {
			if (k)
				assert_true(l->ev[k - 1].start <= l->ev[k].start);
			if (l->kind == TUI_LANE_THREAD)
				assert_int_not_equal(l->ev[k].kind, TRACE_NVTX_RANGE);
		}
		if (l->kind == TUI_LANE_THREAD)
			for (size_t d = 1; d <= l->nsub; d++) {
				const struct tui_lane *sub = &tl.lanes[i + d];
				total += sub->n;
				for (size_t k = 0; k < sub->n; k++) {
					assert_int_equal(sub->ev[k].kind, TRACE_NVTX_RANGE);
					if (k)
						assert_true(sub->ev[k - 1].start <= sub->ev[k].start);
				}
				if (d > 1 && sub->n) {
					/* a range at depth d lies inside one at depth d - 1 */
					const struct tui_lane *up = &tl.lanes[i + d - 1];
					const struct trace_event *r = &sub->ev[0];
					bool inside = false;
					for (size_t k = 0; k < up->n && !inside; k++)
						inside =
						    up->ev[k].start <= r->start && up->ev[k].end >= r->end;
					assert_true(inside);
					nested = true;
				}
			}
		assert_int_equal(total, n);
		assert_int_equal(lanesum_events(l->sum), l->n);
	}
	assert_true(nested);
	tui_timeline_done(&tl);
	trace_session_delete(s);
}

/* Cells against a brute-force count and touch test, at many zoom levels. */
static void test_cells_brute_force(void **state)
{
	(void)state;
	struct trace_session *s = tl_synth(3000, 7);
	struct tui_timeline tl;
	tui_timeline_init(&tl);
	tui_timeline_sync(&tl, s, 1, NULL);
	const int width = 97;
	tui_timeline_layout(&tl, width, 10);
	struct lanesum_cell cells[97];
	struct err e;
	for (int level = 0; level < 12; level++) {
		for (size_t li = 0; li < tl.nlanes; li++) {
			const struct tui_lane *l = &tl.lanes[li];
			assert_int_equal(tui_timeline_cells(&tl, li, cells, &e), 0);
			for (int c = 0; c < width; c++) {
				int64_t a = axis_time(&tl.win, width, c),
				        b = axis_time(&tl.win, width, c + 1);
				if (c == width - 1)
					b = tl.win.t1;
				uint64_t count = 0;
				bool touched = false;
				for (size_t k = 0; l->sum && k < l->n; k++) {
					const struct trace_event *ev = &l->ev[k];
					if (ev->start >= a && ev->start < b)
						count++;
					if ((ev->start >= a && ev->start < b) ||
					    (ev->start < a && ev->end > a))
						touched = true;
				}
				assert_int_equal(cells[c].count, count);
				assert_int_equal(cells[c].touched, touched);
				assert_string_not_equal(tui_timeline_shade(&cells[c], true),
				                        touched ? " " : "x");
				if (touched)
					assert_string_not_equal(tui_timeline_shade(&cells[c], false), " ");
			}
		}
		/* zoom in around a moving cursor */
		tl.cursor_t = tl.win.t0 + (int64_t)(((uint64_t)tl.win.t1 - (uint64_t)tl.win.t0) / 3);
		tui_timeline_zoom(&tl, 2.5);
	}
	tui_timeline_done(&tl);
	trace_session_delete(s);
}

/* Zoom keeps the cursor's column and stays in range; pan moves; fit restores. */
static void test_zoom_pan_fit(void **state)
{
	(void)state;
	struct trace_session *s = tl_synth(2000, 9);
	struct tui_timeline tl;
	tui_timeline_init(&tl);
	tui_timeline_sync(&tl, s, 1, NULL);
	tui_timeline_layout(&tl, 120, 20);
	struct axis_window full = tl.win;
	assert_int_equal(full.t0, tl.range.t0);
	assert_int_equal(full.t1, tl.range.t1);
	int64_t col = axis_col(&tl.win, 120, tl.cursor_t);
	tui_timeline_zoom(&tl, 2.0);
	uint64_t span = (uint64_t)tl.win.t1 - (uint64_t)tl.win.t0;
	uint64_t fspan = (uint64_t)full.t1 - (uint64_t)full.t0;
	assert_true(span <= fspan / 2 + 1 && span + 2 >= fspan / 2);
	int64_t col2 = axis_col(&tl.win, 120, tl.cursor_t);
	assert_true(col2 >= col - 1 && col2 <= col + 1);
	int64_t t0 = tl.win.t0;
	tui_timeline_pan(&tl, 0.125);
	assert_true(tl.win.t0 > t0);
	assert_true(tl.cursor_t >= tl.win.t0 && tl.cursor_t < tl.win.t1);
	for (int i = 0; i < 100; i++)
		tui_timeline_pan(&tl, 0.5);
	assert_int_equal(tl.win.t1, tl.range.t1);
	for (int i = 0; i < 80; i++)
		tui_timeline_zoom(&tl, 2.0);
	assert_true((uint64_t)tl.win.t1 - (uint64_t)tl.win.t0 >= 120);
	assert_true(tl.win.t0 >= tl.range.t0 && tl.win.t1 <= tl.range.t1);
	tui_timeline_fit(&tl);
	assert_int_equal(tl.win.t0, full.t0);
	assert_int_equal(tl.win.t1, full.t1);
	/* lanes: the cursor stays in sight of the rows */
	tui_timeline_move_lane(&tl, 1000, 5);
	assert_int_equal(tl.cursor_lane, tl.nlanes - 1);
	assert_true(tl.top + 5 > tl.cursor_lane && tl.top <= tl.cursor_lane);
	tui_timeline_move_lane(&tl, -1000, 5);
	assert_int_equal(tl.cursor_lane, 0);
	assert_int_equal(tl.top, 0);
	tui_timeline_done(&tl);
	trace_session_delete(s);
}

/* Selecting a kernel links its API call, and the jump goes there and back. */
static void test_select_and_link(void **state)
{
	(void)state;
	struct trace_session *s = tl_synth(3000, 11);
	struct tui_corr *corr = tui_corr_build(s);
	struct tui_timeline tl;
	tui_timeline_init(&tl);
	tui_timeline_sync(&tl, s, 1, corr);
	tui_timeline_layout(&tl, 150, 30);
	/* the first stream lane with a kernel */
	size_t lane = SIZE_MAX;
	for (size_t i = 0; i < tl.nlanes && lane == SIZE_MAX; i++)
		for (size_t k = 0; k < tl.lanes[i].n && tl.lanes[i].kind == TUI_LANE_STREAM; k++)
			if (tl.lanes[i].ev[k].kind == TRACE_KERNEL) {
				lane = i;
				tl.cursor_t = tl.lanes[i].ev[k].start;
				break;
			}
	assert_true(lane != SIZE_MAX);
	tl.cursor_lane = lane;
	assert_true(tui_timeline_select_at_cursor(&tl, s, corr));
	const struct trace_event *k = tui_timeline_selected(&tl);
	assert_non_null(k);
	assert_int_equal(k->kind, TRACE_KERNEL);
	assert_int_not_equal(k->correlation, 0);
	assert_int_equal(tl.nlinks, 1);
	uint32_t corrid = k->correlation;
	struct trace_event kcopy = *k;
	/* zoom to it */
	assert_true(tui_timeline_zoom_selected(&tl));
	assert_true(tl.win.t0 <= kcopy.start && tl.win.t1 > kcopy.end);
	/* jump to the API call */
	assert_true(tui_timeline_jump_link(&tl, s, corr));
	const struct trace_event *api = tui_timeline_selected(&tl);
	assert_non_null(api);
	assert_int_equal(api->kind, TRACE_API);
	assert_int_equal(api->correlation, corrid);
	assert_int_equal(tl.lanes[tl.cursor_lane].kind, TUI_LANE_THREAD);
	assert_true(tl.nlinks >= 1);
	assert_true(tui_timeline_is_link(&tl, kcopy.track, kcopy.start, kcopy.end));
	/* and back */
	assert_true(tui_timeline_jump_link(&tl, s, corr));
	assert_int_equal(tl.cursor_lane, lane);
	assert_memory_equal(tui_timeline_selected(&tl), &kcopy, sizeof(kcopy));
	/* n, N step along the lane */
	size_t idx = tl.sel.idx;
	assert_true(tui_timeline_step(&tl, s, corr, 1));
	assert_int_equal(tl.sel.idx, idx + 1);
	assert_true(tui_timeline_step(&tl, s, corr, -1));
	assert_int_equal(tl.sel.idx, idx);
	/* a header lane has no event */
	tl.cursor_lane = 0;
	assert_false(tui_timeline_select_at_cursor(&tl, s, corr));
	assert_null(tui_timeline_selected(&tl));
	/* colors are stable and in range */
	assert_int_equal(tui_timeline_color("gemm", 4, 12), tui_timeline_color("gemm", 4, 12));
	assert_true(tui_timeline_color("x", 1, 6) < 6);
	tui_timeline_done(&tl);
	tui_corr_free(corr);
	trace_session_delete(s);
}

/* Enter on an instance: the instances of every table (kernels, API calls,
 * memory operations, NVTX ranges at any depth) are selected on the lane of
 * their track, which comes into sight, with the window zoomed to them; an
 * event no lane holds is refused and changes nothing. */
static void test_select_event(void **state)
{
	(void)state;
	struct trace_session *s = tl_synth(4000, 5);
	struct tui_corr *corr = tui_corr_build(s);
	struct tui_timeline tl;
	tui_timeline_init(&tl);
	tui_timeline_sync(&tl, s, 1, corr);
	const int rows = 4;
	tui_timeline_layout(&tl, 120, rows);
	uint64_t full = (uint64_t)tl.range.t1 - (uint64_t)tl.range.t0;
	size_t tried = 0, nvtx_deep = 0;
	for (int k = 0; k < TUI_TABLE_SUMMARY_COUNT; k++) {
		struct tui_table *t = tui_table_build(s, (enum tui_table_kind)k);
		assert_true(t->nrows > 0);
		for (size_t r = 0; r < t->nrows; r++) {
			struct tui_table *it = tui_table_instances(t, r);
			assert_true(it->nrows > 0);
			/* the first, middle and last instance of the row */
			size_t pick[3] = {0, it->nrows / 2, it->nrows - 1};
			for (size_t p = 0; p < 3; p++) {
				const struct trace_event *ev = it->events[pick[p]];
				tui_timeline_fit(&tl);
				tl.cursor_lane = 0;
				tui_timeline_layout(&tl, 120, rows);
				assert_true(tui_timeline_select_event(&tl, s, corr, ev, rows));
				const struct trace_event *sel = tui_timeline_selected(&tl);
				assert_non_null(sel);
				assert_memory_equal(sel, ev, sizeof(*ev));
				assert_int_equal(tl.sel.lane, tl.cursor_lane);
				const struct tui_lane *l = &tl.lanes[tl.cursor_lane];
				assert_int_equal(l->track, ev->track);
				assert_int_equal(l->kind, k == TUI_TABLE_NVTX  ? TUI_LANE_NVTX
				                          : k == TUI_TABLE_API ? TUI_LANE_THREAD
				                                               : TUI_LANE_STREAM);
				if (l->kind == TUI_LANE_NVTX && l->depth > 1)
					nvtx_deep++;
				/* in sight, zoomed to it, the cursor on it */
				assert_true(tl.cursor_lane >= tl.top &&
				            tl.cursor_lane < tl.top + (size_t)rows);
				assert_true(tl.win.t0 <= ev->start && tl.win.t1 > ev->start);
				assert_true(ev->end <= tl.win.t1);
				uint64_t span = (uint64_t)tl.win.t1 - (uint64_t)tl.win.t0;
				uint64_t dur = (uint64_t)(ev->end - ev->start);
				assert_true(span < full || dur * 10 >= full * 8);
				assert_int_equal(tl.cursor_t, ev->start);
				assert_false(tl.follow);
				tried++;
			}
			tui_table_free(it);
		}
		tui_table_free(t);
	}
	assert_true(tried >= 12);
	assert_true(nvtx_deep > 0);
	/* an event of no lane: refused, the selection and window stay */
	struct trace_event keep = *tui_timeline_selected(&tl), bogus = keep;
	struct axis_window win = tl.win;
	bogus.track = 0xfffffff0u;
	assert_false(tui_timeline_select_event(&tl, s, corr, &bogus, rows));
	bogus = keep;
	bogus.start++; /* on a lane's track, but not one of its events */
	assert_false(tui_timeline_select_event(&tl, s, corr, &bogus, rows));
	assert_memory_equal(tui_timeline_selected(&tl), &keep, sizeof(keep));
	assert_true(tl.win.t0 == win.t0 && tl.win.t1 == win.t1);
	tui_timeline_done(&tl);
	tui_corr_free(corr);
	trace_session_delete(s);
}

/* A live session: appends extend the lanes, an earlier event rebuilds; the
 * selection is found again and following keeps the newest time in sight. */
static void test_live_growth(void **state)
{
	(void)state;
	struct trace_session *s = trace_session_new();
	struct trace_track_info st = {
	    .kind = TRACE_TRACK_STREAM, .pid = 1, .device = 0, .context = 1, .stream = 7};
	struct trace_track_info th = {.kind = TRACE_TRACK_THREAD, .pid = 1, .tid = 1};
	uint32_t ts = trace_session_add_track(s, &st), tt = trace_session_add_track(s, &th);
	uint32_t name = trace_session_intern_cstr(s, "k"), range = trace_session_intern_cstr(s, "step");
	for (int i = 0; i < 100; i++) {
		struct trace_event k = {
		    .start = i * 100, .end = i * 100 + 50, .name = name, .track = ts, .kind = TRACE_KERNEL};
		struct trace_event r = {.start = i * 100,
		                        .end = i * 100 + 90,
		                        .name = range,
		                        .track = tt,
		                        .kind = TRACE_NVTX_RANGE};
		assert_int_equal(trace_session_append(s, &k), 0);
		assert_int_equal(trace_session_append(s, &r), 0);
	}
	trace_session_finish(s);
	struct tui_timeline tl;
	tui_timeline_init(&tl);
	tui_timeline_sync(&tl, s, 1, NULL);
	tui_timeline_layout(&tl, 50, 10);
	tui_timeline_zoom(&tl, 4.0);
	tui_timeline_follow(&tl);
	assert_true(tl.follow);
	assert_int_equal(tl.win.t1, tl.range.t1);
	size_t nlanes = tl.nlanes;
	/* select the stream's 10th kernel */
	size_t sl = 1;
	assert_int_equal(tl.lanes[sl].kind, TUI_LANE_STREAM);
	tl.cursor_lane = sl;
	tl.cursor_t = 1000;
	assert_true(tui_timeline_select_at_cursor(&tl, s, NULL));
	assert_int_equal(tl.sel.idx, 10);
	/* appends in order: extended */
	for (int i = 100; i < 200; i++) {
		struct trace_event k = {
		    .start = i * 100, .end = i * 100 + 50, .name = name, .track = ts, .kind = TRACE_KERNEL};
		struct trace_event r = {.start = i * 100,
		                        .end = i * 100 + 90,
		                        .name = range,
		                        .track = tt,
		                        .kind = TRACE_NVTX_RANGE};
		assert_int_equal(trace_session_append(s, &k), 0);
		assert_int_equal(trace_session_append(s, &r), 0);
	}
	trace_session_finish(s);
	tui_timeline_sync(&tl, s, 2, NULL);
	assert_int_equal(tl.nlanes, nlanes);
	assert_int_equal(tl.lanes[sl].n, 200);
	assert_int_equal(lanesum_events(tl.lanes[sl].sum), 200);
	size_t nvtx = SIZE_MAX;
	for (size_t i = 0; i < tl.nlanes; i++)
		if (tl.lanes[i].kind == TUI_LANE_NVTX)
			nvtx = i;
	assert_true(nvtx != SIZE_MAX);
	assert_int_equal(tl.lanes[nvtx].n, 200);
	assert_int_equal(lanesum_events(tl.lanes[nvtx].sum), 200);
	assert_int_equal(tl.win.t1, tl.range.t1); /* following */
	assert_int_equal(tui_timeline_selected(&tl)->start, 1000);
	/* an event before the last one: rebuilt, selection found again */
	struct trace_event early = {.start = 5, .end = 6, .name = name, .track = ts, .kind = TRACE_KERNEL};
	assert_int_equal(trace_session_append(s, &early), 0);
	trace_session_finish(s);
	tui_timeline_pan(&tl, -0.5); /* panning stops following */
	assert_false(tl.follow);
	struct axis_window w = tl.win;
	tui_timeline_sync(&tl, s, 3, NULL);
	assert_int_equal(tl.lanes[sl].n, 201);
	assert_int_equal(lanesum_events(tl.lanes[sl].sum), 201);
	assert_int_equal(tui_timeline_selected(&tl)->start, 1000);
	assert_int_equal(tl.win.t0, w.t0);
	assert_int_equal(tl.win.t1, w.t1);
	tui_timeline_done(&tl);
	trace_session_delete(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lanes_order),       cmocka_unit_test(test_lanes_partition),
	    cmocka_unit_test(test_cells_brute_force), cmocka_unit_test(test_zoom_pan_fit),
	    cmocka_unit_test(test_select_and_link),   cmocka_unit_test(test_select_event),
	    cmocka_unit_test(test_live_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
