/*
 * bench_lanesum.c - timeline lane summaries: build time, memory, frame time.
 *
 * Usage: bench_lanesum [-n EVENTS] [-c CELLS] [-f FRAMES]
 *
 * Generates one synthetic session (tests/support/synth.h; 10 M events by
 * default), builds a lane summary (trace/lanesum.h) for every track, and
 * prints:
 *   - build time (all tracks) and its rate;
 *   - bytes of the summaries per event (allocations, capacity included);
 *   - the time to compute one full frame, every track x CELLS cells (200),
 *     at zoom levels from the whole session down to 1 us windows, each the
 *     median (and the maximum) over FRAMES frames (100) at random places;
 *   - the time to find the event under a cursor, median over all tracks.
 * The target is well under 16 ms per frame (DESIGN.md section 5). It prints
 * figures for people to read; it asserts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "synth.h"
#include "trace/lanesum.h"
#include "trace/session.h"

#define BENCH_MAX_FRAMES 10000

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of `n` samples (sorts them in place). */
static double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t bench_rng(uint64_t *st)
{
	uint64_t x = *st;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *st = x;
}

int main(int argc, char **argv)
{
	struct synth_options o;
	synth_options_init(&o);
	o.events = 10000000;
	o.threads = 4;
	o.streams = 4;
	uint32_t ncells = 200;
	int frames = 100;
	int opt;
	while ((opt = getopt(argc, argv, "n:c:f:")) != -1) {
		switch (opt) {
		case 'n':
			o.events = strtoull(optarg, NULL, 10);
			break;
		case 'c':
			ncells = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'f':
			frames = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: bench_lanesum [-n EVENTS] [-c CELLS] [-f FRAMES]\n");
			return 2;
		}
	}
	if (frames < 1 || frames > BENCH_MAX_FRAMES || ncells < 1 || ncells > LANESUM_MAX_CELLS) {
		fprintf(stderr, "bench_lanesum: frames 1..%d, cells 1..%d\n", BENCH_MAX_FRAMES,
		        LANESUM_MAX_CELLS);
		return 2;
	}
	struct err e;
	double t0 = bench_now();
	struct trace_session *s = synth_session(&o, NULL, &e);
	if (!s) {
		fprintf(stderr, "bench_lanesum: %s\n", e.msg);
		return 1;
	}
	uint64_t nev = trace_session_event_count(s);
	uint32_t ntracks = trace_session_track_count(s);
	printf("session: %llu events, %u tracks (generated in %.1f s)\n", (unsigned long long)nev,
	       ntracks - 1, bench_now() - t0);

	struct lanesum **ls = calloc(ntracks, sizeof(*ls));
	size_t bytes = 0;
	t0 = bench_now();
	for (uint32_t id = 1; id < ntracks; id++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, id, &n);
		ls[id] = lanesum_new();
		if (lanesum_build(ls[id], ev, n, &e) != 0) {
			fprintf(stderr, "bench_lanesum: track %u: %s\n", id, e.msg);
			return 1;
		}
	}
	double build = bench_now() - t0;
	for (uint32_t id = 1; id < ntracks; id++)
		bytes += lanesum_bytes(ls[id]);
	printf("build: %.3f s for all tracks (%.1f ns/event, %.0f M events/s)\n", build,
	       build * 1e9 / (double)nev, (double)nev / build / 1e6);
	printf("memory: %zu bytes of summaries, %.2f bytes/event\n", bytes, (double)bytes / (double)nev);

	int64_t lo, hi;
	trace_session_time_range(s, &lo, &hi);
	uint64_t full = (uint64_t)hi - (uint64_t)lo + 1;
	struct lanesum_cell *cells = calloc(ncells, sizeof(*cells));
	double *samples = calloc((size_t)frames, sizeof(double));
	uint64_t st = 12345, sink = 0;
	printf("frame: %u tracks x %u cells, %d frames per zoom level\n", ntracks - 1, ncells, frames);
	printf("  %-14s %12s %12s %14s\n", "window", "median ms", "max ms", "events/frame");
	for (uint64_t span = full;; span = span / 10 > 1000 ? span / 10 : 1000) {
		double evsum = 0;
		for (int f = 0; f < frames; f++) {
			int64_t w0 = lo + (int64_t)(span < full ? bench_rng(&st) % (full - span) : 0);
			double a = bench_now();
			for (uint32_t id = 1; id < ntracks; id++) {
				size_t n;
				const struct trace_event *ev = trace_session_track_events(s, id, &n);
				if (lanesum_cells(ls[id], ev, w0, w0 + (int64_t)span, ncells, cells, &e) !=
				    0) {
					fprintf(stderr, "bench_lanesum: %s\n", e.msg);
					return 1;
				}
				for (uint32_t c = 0; c < ncells; c++) {
					sink += cells[c].name;
					evsum += (double)cells[c].count;
				}
			}
			samples[f] = bench_now() - a;
		}
		double max = 0;
		for (int f = 0; f < frames; f++)
			max = samples[f] > max ? samples[f] : max;
		char label[32];
		if (span >= 1000000000)
			snprintf(label, sizeof(label), "%.3g s", (double)span / 1e9);
		else if (span >= 1000000)
			snprintf(label, sizeof(label), "%.3g ms", (double)span / 1e6);
		else
			snprintf(label, sizeof(label), "%.3g us", (double)span / 1e3);
		printf("  %-14s %12.3f %12.3f %14.0f\n", label, bench_median(samples, frames) * 1e3,
		       max * 1e3, evsum / frames);
		if (span <= 1000)
			break;
	}

	/* the event under a cursor */
	int probes = 100000;
	double a = bench_now();
	for (int i = 0; i < probes; i++) {
		uint32_t id = 1 + (uint32_t)(bench_rng(&st) % (ntracks - 1));
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, id, &n);
		sink += lanesum_event_at(ls[id], ev, lo + (int64_t)(bench_rng(&st) % full));
	}
	printf("event under the cursor: %.0f ns per lookup\n", (bench_now() - a) * 1e9 / probes);
	printf("(checksum %llu)\n", (unsigned long long)(sink & 0xffff));

	for (uint32_t id = 1; id < ntracks; id++)
		lanesum_delete(ls[id]);
	free(ls);
	free(cells);
	free(samples);
	trace_session_delete(s);
	return 0;
}
