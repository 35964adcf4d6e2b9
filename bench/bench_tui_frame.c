/*
 * bench_tui_frame.c - the timeline view's frame cost, without curses.
 *
 * Usage: bench_tui_frame [-n EVENTS] [-w COLUMNS] [-r ROWS] [-f FRAMES]
 *
 * Generates a synthetic session (tests/support/synth.h; 10 M events by
 * default), builds the timeline's lanes (src/tui/timeline.h) and prints the
 * build time, then the time of one frame's model work (the cells of every
 * visible lane, and the bar-mode event range of each) at fit-all, a middle
 * zoom and the deepest zoom (1 ns per column), each the median and maximum
 * over FRAMES frames (50) at spread-out places. Curses' own drawing (one
 * waddstr per cell) is not included. It prints figures; it asserts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "synth.h"
#include "tui/timeline.h"

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* One frame's model work over the visible lanes. */
static void bench_frame(struct tui_timeline *tl, int rows, struct lanesum_cell *cells)
{
	struct err e;
	for (size_t i = tl->top; i < tl->nlanes && i < tl->top + (size_t)rows; i++) {
		size_t a, b;
		tui_timeline_cells(tl, i, cells, &e);
		tui_timeline_visible(tl, i, (size_t)tl->width, &a, &b);
	}
}

int main(int argc, char **argv)
{
	struct synth_options o;
	synth_options_init(&o);
	o.events = 10000000;
	int width = 200, rows = 40, frames = 50, c;
	while ((c = getopt(argc, argv, "n:w:r:f:")) != -1) {
		if (c == 'n')
			o.events = strtoull(optarg, NULL, 10);
		else if (c == 'w')
			width = atoi(optarg);
		else if (c == 'r')
			rows = atoi(optarg);
		else if (c == 'f')
			frames = atoi(optarg);
		else {
			fprintf(stderr,
			        "usage: bench_tui_frame [-n EVENTS] [-w COLUMNS] [-r ROWS] [-f FRAMES]\n");
			return 2;
		}
	}
	if (width < 1 || rows < 1 || frames < 1 || frames > 10000) {
		fprintf(stderr, "bench_tui_frame: bad option\n");
		return 2;
	}
	struct err e;
	double t = bench_now();
	struct trace_session *s = synth_session(&o, NULL, &e);
	if (!s) {
		fprintf(stderr, "bench_tui_frame: %s\n", e.msg);
		return 1;
	}
	printf("session: %llu events generated in %.2f s\n", (unsigned long long)trace_session_event_count(s),
	       bench_now() - t);
	struct tui_timeline tl;
	tui_timeline_init(&tl);
	t = bench_now();
	tui_timeline_sync(&tl, s, 1, NULL);
	printf("lanes: %zu built in %.1f ms\n", tl.nlanes, (bench_now() - t) * 1e3);
	tui_timeline_layout(&tl, width, rows);
	struct lanesum_cell *cells = calloc((size_t)width, sizeof(*cells));
	double *ms = calloc((size_t)frames, sizeof(*ms));
	const char *names[3] = {"fit all", "middle (1/1024)", "deepest (1 ns/col)"};
	for (int z = 0; z < 3; z++) {
		for (int f = 0; f < frames; f++) {
			tui_timeline_fit(&tl);
			uint64_t span = (uint64_t)tl.range.t1 - (uint64_t)tl.range.t0;
			tl.cursor_t =
			    tl.range.t0 + (int64_t)(span / (uint64_t)(frames + 1) * (uint64_t)(f + 1));
			if (z == 1)
				tui_timeline_zoom(&tl, 1024.0);
			else if (z == 2)
				tui_timeline_zoom(&tl, 1e18);
			tl.top = (size_t)f % (tl.nlanes > (size_t)rows ? tl.nlanes - (size_t)rows + 1 : 1);
			t = bench_now();
			bench_frame(&tl, rows, cells);
			ms[f] = (bench_now() - t) * 1e3;
		}
		qsort(ms, (size_t)frames, sizeof(*ms), bench_cmp);
		printf("frame at %-20s median %.3f ms  max %.3f ms  (%d columns, %d rows)\n", names[z],
		       ms[frames / 2], ms[frames - 1], width, rows);
	}
	free(ms);
	free(cells);
	tui_timeline_done(&tl);
	trace_session_delete(s);
	return 0;
}
