/*
 * bench_db.c - the session-database writer: insert rate through the sink,
 * time from close to a complete indexed database, bytes per event, and the
 * time of a kernel summary query, on a large synthetic session.
 *
 * Usage: bench_db [-n EVENTS] [-r REPEATS] [-d DIR] [-b BATCH] [-m 0|1]
 *
 * Generates one synthetic session (tests/support/synth.c), sorts its events
 * by start time across tracks (the order a live capture delivers them in),
 * then, for each way of building the indexes (kept up to date by the
 * inserts, what tstop does; and, for comparison, built at close,
 * db_sink_options.indexes_at_close), measures as medians over REPEATS runs:
 *   - insert rate: events fed through the database sink (capture/sink.h
 *     ops) until the writer thread has committed the last of them, events/s
 *     (the feeding itself, copies into batches, is reported apart);
 *   - close: the time capture_sink_close takes from there (indexes when
 *     deferred, PRAGMA optimize, WAL checkpoint): what "complete after the
 *     target exits" costs once the writer has caught up; a capture whose
 *     writer lags adds its backlog, events behind / insert rate;
 *   - bytes per event of the finished file;
 *   - the kernel summary on the finished file, twice: the kernel_summary
 *     view (what `tstop stats --report cuda_gpu_kern_sum` reports, with
 *     median and standard deviation), and a plain GROUP BY name over
 *     kernels (count, total, average, min, max).
 * Mode 1 only with -m 1, mode 0 only with -m 0. The load average is printed
 * first: the figures mean little on a busy machine.
 * It prints figures for people to read; it asserts nothing.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/sink.h"
#include "store/db.h"
#include "synth.h"
#include "trace/session.h"
#include "util/xalloc.h"

#define BENCH_MAX_REPEATS 15

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

static int bench_cmp_event(const void *a, const void *b)
{
	const struct trace_event *x = *(const struct trace_event *const *)a;
	const struct trace_event *y = *(const struct trace_event *const *)b;
	return (x->start > y->start) - (x->start < y->start);
}

/* Every event of `s`, ordered by start across tracks; *n gets their number. */
static const struct trace_event **bench_time_order(const struct trace_session *s, size_t *n)
{
	size_t total = trace_session_event_count(s), k = 0;
	const struct trace_event **v = xcalloc(total ? total : 1, sizeof(*v));
	for (uint32_t id = 1; id < trace_session_track_count(s); id++) {
		size_t m;
		const struct trace_event *ev = trace_session_track_events(s, id, &m);
		for (size_t i = 0; i < m; i++)
			v[k++] = &ev[i];
	}
	qsort(v, k, sizeof(*v), bench_cmp_event);
	*n = k;
	return v;
}

struct bench_run {
	double feed_s;   /* feeding the sink */
	double insert_s; /* from the first event fed to the last committed */
	double close_s;  /* capture_sink_close */
	double bytes;    /* of the finished file */
	double query_s;  /* the kernel summary, plain GROUP BY */
	double view_s;   /* the kernel_summary view */
	int rows;        /* kernel names in the summary */
};

/* The plain kernel summary: GROUP BY name over kernels. */
static const char bench_sql_plain[] = "SELECT s.value, count(*), sum(k.end - k.start), avg(k.end - k.start), "
                                      "min(k.end - k.start), max(k.end - k.start) "
                                      "FROM kernels k JOIN strings s ON s.id = k.name "
                                      "GROUP BY k.name ORDER BY 3 DESC";
/* The kernel_summary view, as `tstop stats` reports it. */
static const char bench_sql_view[] = "SELECT * FROM kernel_summary";

/* Runs query `sql` on `path` to its last row; returns its time in seconds
 * and the number of rows in *rows, or -1. */
static double bench_query(const char *path, const char *sql, int *rows)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench_db: %s: %s\n", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	double t0 = bench_now();
	sqlite3_stmt *st = NULL;
	*rows = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench_db: query: %s\n", sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		(*rows)++;
	sqlite3_finalize(st);
	double t = bench_now() - t0;
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "bench_db: query: %s\n", sqlite3_errmsg(db));
		t = -1;
	}
	sqlite3_close(db);
	return t;
}

/* One run: a new database at `path` from `s` (events in `order`). 0, or -1. */
static int bench_one(const struct trace_session *s, const struct trace_event **order, size_t n,
                     const char *path, const struct db_sink_options *opts, struct bench_run *out)
{
	struct err e = {{0}};
	struct capture_sink *k = capture_db_sink_open(path, true, opts, &e);
	if (!k) {
		fprintf(stderr, "bench_db: %s\n", e.msg);
		return -1;
	}
	if (capture_sink_feed_definitions(k, s, &e) < 0)
		goto fail;
	double t0 = bench_now();
	for (size_t i = 0; i < n; i++)
		if (k->ops->event(k, order[i], &e) < 0)
			goto fail;
	if (k->ops->flush(k, &e) < 0)
		goto fail;
	out->feed_s = bench_now() - t0;
	struct db_sink_stats st;
	for (;;) {
		capture_db_sink_stats(k, &st);
		if (st.events_committed >= n)
			break;
		usleep(500);
	}
	double t1 = bench_now();
	out->insert_s = t1 - t0;
	int rc = capture_sink_close(k, &e);
	out->close_s = bench_now() - t1;
	if (rc < 0) {
		fprintf(stderr, "bench_db: close: %s\n", e.msg);
		return -1;
	}
	struct stat sb;
	out->bytes = stat(path, &sb) == 0 ? (double)sb.st_size : 0;
	int vrows;
	out->query_s = bench_query(path, bench_sql_plain, &out->rows);
	out->view_s = bench_query(path, bench_sql_view, &vrows);
	if (vrows != out->rows)
		fprintf(stderr, "bench_db: kernel_summary has %d rows, the GROUP BY %d\n", vrows, out->rows);
	return out->query_s < 0 || out->view_s < 0 ? -1 : 0;
fail:
	fprintf(stderr, "bench_db: %s\n", e.msg);
	capture_sink_close(k, NULL);
	return -1;
}

int main(int argc, char **argv)
{
	struct synth_options so;
	synth_options_init(&so);
	so.events = 10000000;
	so.threads = 4;
	so.streams = 4;
	int repeats = 3;
	uint32_t batch = 0;
	const char *dir = "/tmp";
	int only = -1;
	int c;
	while ((c = getopt(argc, argv, "n:r:d:b:m:h")) != -1) {
		switch (c) {
		case 'n':
			so.events = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			repeats = atoi(optarg);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'b':
			batch = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			only = atoi(optarg);
			break;
		default:
			fprintf(stderr,
			        "Usage: bench_db [-n EVENTS] [-r REPEATS] [-d DIR] [-b BATCH] [-m 0|1]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (repeats < 1 || repeats > BENCH_MAX_REPEATS) {
		fprintf(stderr, "bench_db: -r must be 1 to %d\n", BENCH_MAX_REPEATS);
		return 2;
	}
	struct err e = {{0}};
	struct synth_counts counts;
	double g0 = bench_now();
	struct trace_session *s = synth_session(&so, &counts, &e);
	if (!s) {
		fprintf(stderr, "bench_db: %s\n", e.msg);
		return 1;
	}
	size_t n;
	const struct trace_event **order = bench_time_order(s, &n);
	printf("session: %zu events (%llu kernels, %llu API calls), generated and sorted in %.1f s\n", n,
	       (unsigned long long)counts.kinds[TRACE_KERNEL], (unsigned long long)counts.kinds[TRACE_API],
	       bench_now() - g0);
	char path[4096];
	snprintf(path, sizeof(path), "%s/bench_db.%d.db", dir, (int)getpid());

	double load[3] = {0, 0, 0};
	if (getloadavg(load, 3) == 3)
		printf("load average before: %.2f %.2f %.2f (%ld CPUs); SQLite %s\n", load[0], load[1],
		       load[2], sysconf(_SC_NPROCESSORS_ONLN), sqlite3_libversion());
	static const char *const mode_names[2] = {"indexes kept up to date by the inserts (tstop)",
	                                          "indexes built at close (for comparison)"};
	int status = 0;
	for (int mode = 0; mode < 2; mode++) {
		if (only >= 0 && mode != only)
			continue;
		struct db_sink_options opts = {.batch_events = batch, .indexes_at_close = mode == 1};
		double feed[BENCH_MAX_REPEATS], ins[BENCH_MAX_REPEATS], cls[BENCH_MAX_REPEATS];
		double bytes[BENCH_MAX_REPEATS], q[BENCH_MAX_REPEATS], v[BENCH_MAX_REPEATS];
		int rows = 0;
		printf("%s:\n", mode_names[mode]);
		for (int r = 0; r < repeats; r++) {
			struct bench_run run;
			if (bench_one(s, order, n, path, &opts, &run) < 0) {
				status = 1;
				goto out;
			}
			feed[r] = (double)n / run.feed_s;
			ins[r] = (double)n / run.insert_s;
			cls[r] = run.close_s;
			bytes[r] = run.bytes / (double)n;
			q[r] = run.query_s;
			v[r] = run.view_s;
			rows = run.rows;
			printf("  run %d: insert %.2f M events/s, close %.3f s\n", r + 1, ins[r] / 1e6,
			       cls[r]);
			fflush(stdout);
		}
		printf("  median of %d:\n", repeats);
		printf("  feeding the sink        %8.2f M events/s\n", bench_median(feed, repeats) / 1e6);
		printf("  insert rate (committed) %8.2f M events/s\n", bench_median(ins, repeats) / 1e6);
		printf("  close to indexed file   %8.3f s\n", bench_median(cls, repeats));
		printf("  database size           %8.1f bytes/event\n", bench_median(bytes, repeats));
		printf("  kernel summary, GROUP BY %7.3f s (%d names)\n", bench_median(q, repeats), rows);
		printf("  kernel_summary view     %8.3f s\n", bench_median(v, repeats));
		fflush(stdout);
	}
out:;
	/* A read-only reader of a WAL database leaves -wal and -shm behind. */
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		char p[4200];
		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		unlink(p);
	}
	free(order);
	trace_session_delete(s);
	return status;
}
