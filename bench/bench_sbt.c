/*
 * bench_sbt.c - SBT write and read rates, bytes per event, resident memory,
 * and `tstop stats` time on a large synthetic session.
 *
 * Usage: bench_sbt [-n EVENTS] [-r REPEATS] [-d DIR] [--tstop PATH]
 *
 * Generates one synthetic session (tests/support/synth.c: realistic kernel
 * names, launch configurations, streams and host threads), then for plain
 * and zstd-compressed files measures, as medians over REPEATS runs:
 *   - write rate: sbt_write_session() of the whole session, events/s;
 *   - read rate: sbt_load() into a fresh session, events/s;
 *   - bytes per event, and bytes per kernel event for a kernels-only file;
 *   - resident bytes per event of a loaded session (RSS growth while loading);
 * and, given the tstop binary, the wall time and peak RSS of `tstop stats`
 * over the plain file (all reports, output discarded).
 * It prints figures for people to read; it asserts nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/sbt.h"
#include "synth.h"
#include "trace/session.h"

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

/* Resident set size of this process in bytes, from /proc/self/statm. */
static long bench_rss_bytes(void)
{
	long pages_total = 0, pages_resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2)
		pages_resident = 0;
	fclose(f);
	return pages_resident * sysconf(_SC_PAGESIZE);
}

static long bench_file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void bench_die(const char *what, const struct err *e)
{
	fprintf(stderr, "bench_sbt: %s: %s\n", what, e->msg);
	exit(1);
}

/* Writes only the kernel events of `s` (with every definition) to `path`
 * and returns the number of kernels written. */
static uint64_t bench_write_kernels(const char *path, const struct trace_session *s)
{
	struct err e;
	struct sbt_writer *w = sbt_writer_open(path, NULL, &e);
	if (!w)
		bench_die(path, &e);
	int rc = 0;
	for (uint32_t id = 1; id < trace_session_string_count(s) && rc == 0; id++) {
		size_t len;
		const char *str = trace_session_string(s, id, &len);
		rc = sbt_writer_string(w, id, str, len, &e);
	}
	for (uint32_t id = 1; id < trace_session_track_count(s) && rc == 0; id++)
		rc = sbt_writer_track(w, id, trace_session_track_info(s, id), &e);
	for (uint32_t id = 1; id < trace_session_launch_count(s) && rc == 0; id++)
		rc = sbt_writer_launch(w, id, trace_session_launch(s, id), &e);
	uint64_t kernels = 0;
	for (uint32_t id = 1; id < trace_session_track_count(s) && rc == 0; id++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, id, &n);
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (ev[i].kind != TRACE_KERNEL)
				continue;
			rc = sbt_writer_append(w, &ev[i], &e);
			kernels++;
		}
	}
	if (rc != 0 || sbt_writer_close(w, &e) != 0)
		bench_die(path, &e);
	return kernels;
}

struct bench_file_result {
	double write_rate, read_rate; /* events/s, medians */
	long bytes;
	double resident_per_event; /* bytes, median */
};

/* Writes and reads `s` through `path` `repeats` times with `opts`. */
static struct bench_file_result bench_file(const char *path, const struct trace_session *s,
                                           const struct sbt_writer_options *opts, int repeats)
{
	double write_s[BENCH_MAX_REPEATS], read_s[BENCH_MAX_REPEATS], resident[BENCH_MAX_REPEATS];
	uint64_t events = trace_session_event_count(s);
	struct err e;
	struct bench_file_result r = {0};

	for (int i = 0; i < repeats; i++) {
		double t0 = bench_now();
		if (sbt_write_session(path, s, opts, &e) != 0)
			bench_die(path, &e);
		write_s[i] = bench_now() - t0;

		struct trace_session *loaded = trace_session_new();
		struct sbt_read_report rep;
		long rss0 = bench_rss_bytes();
		t0 = bench_now();
		if (sbt_load(path, loaded, &rep, &e) != 0)
			bench_die(path, &e);
		read_s[i] = bench_now() - t0;
		resident[i] = (double)(bench_rss_bytes() - rss0) / (double)events;
		if (rep.events != events) {
			fprintf(stderr, "bench_sbt: %s: read %llu events, wrote %llu\n", path,
			        (unsigned long long)rep.events, (unsigned long long)events);
			exit(1);
		}
		trace_session_delete(loaded);
	}
	r.write_rate = (double)events / bench_median(write_s, repeats);
	r.read_rate = (double)events / bench_median(read_s, repeats);
	r.resident_per_event = bench_median(resident, repeats);
	r.bytes = bench_file_size(path);
	return r;
}

/* Runs `tstop stats FILE [ARGS]` (args: NULL-terminated, may be NULL) with
 * output discarded; returns its wall time and stores its peak RSS (bytes) in
 * *maxrss. Returns a negative time when it could not run or failed. */
static double bench_stats_run(const char *tstop, const char *file, char *const *args, long *maxrss)
{
	double t0 = bench_now();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		char *argv[16] = {(char *)tstop, "stats", (char *)file};
		for (int i = 0; args && args[i] && i < 12; i++)
			argv[3 + i] = args[i];
		execv(tstop, argv);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	*maxrss = ru.ru_maxrss * 1024L;
	return bench_now() - t0;
}

static void bench_usage(FILE *out)
{
	fprintf(out,
	        "usage: bench_sbt [-n EVENTS] [-r REPEATS] [-d DIR] [--tstop PATH]\n"
	        "  -n EVENTS     events in the synthetic session (default 10000000)\n"
	        "  -r REPEATS    runs per measurement, median reported (default 3, max %d)\n"
	        "  -d DIR        where the files go (default /tmp)\n"
	        "  --tstop PATH  also time `tstop stats` with this binary\n",
	        BENCH_MAX_REPEATS);
}

int main(int argc, char **argv)
{
	struct synth_options o;
	synth_options_init(&o);
	o.events = 10000000;
	o.threads = 4;
	o.streams = 4;
	int repeats = 3;
	const char *dir = "/tmp";
	const char *tstop = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			bench_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			o.events = strtoull(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "-r") && i + 1 < argc) {
			repeats = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "-d") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strcmp(argv[i], "--tstop") && i + 1 < argc) {
			tstop = argv[++i];
		} else {
			bench_usage(stderr);
			return 2;
		}
	}
	if (repeats < 1 || repeats > BENCH_MAX_REPEATS || o.events == 0) {
		bench_usage(stderr);
		return 2;
	}

	struct err e;
	struct synth_counts counts;
	double t0 = bench_now();
	struct trace_session *s = synth_session(&o, &counts, &e);
	if (!s)
		bench_die("synth", &e);
	uint64_t events = trace_session_event_count(s);
	printf("session: %llu synthetic events (%llu kernels), %llu tracks, generated in %.2f s\n",
	       (unsigned long long)events, (unsigned long long)counts.kinds[TRACE_KERNEL],
	       (unsigned long long)counts.tracks, bench_now() - t0);
	printf("medians of %d runs; rates in millions of events per second\n\n", repeats);

	char plain[4096], zstd[4096], kernels[4096];
	snprintf(plain, sizeof(plain), "%s/bench_sbt_plain.sbt", dir);
	snprintf(zstd, sizeof(zstd), "%s/bench_sbt_zstd.sbt", dir);
	snprintf(kernels, sizeof(kernels), "%s/bench_sbt_kernels.sbt", dir);

	struct sbt_writer_options plain_opts = {0};
	struct sbt_writer_options zstd_opts = {.zstd_level = 1};
	struct bench_file_result rp = bench_file(plain, s, &plain_opts, repeats);
	struct bench_file_result rz = bench_file(zstd, s, &zstd_opts, repeats);

	printf("%-14s %12s %12s %14s %16s\n", "file", "write M/s", "read M/s", "bytes/event",
	       "resident B/ev");
	printf("%-14s %12.2f %12.2f %14.2f %16.1f\n", "plain", rp.write_rate / 1e6, rp.read_rate / 1e6,
	       (double)rp.bytes / (double)events, rp.resident_per_event);
	printf("%-14s %12.2f %12.2f %14.2f %16.1f\n", "zstd level 1", rz.write_rate / 1e6, rz.read_rate / 1e6,
	       (double)rz.bytes / (double)events, rz.resident_per_event);

	uint64_t nk = bench_write_kernels(kernels, s);
	printf("\nkernel events only, uncompressed: %.2f bytes per kernel event (%llu kernels)\n",
	       (double)bench_file_size(kernels) / (double)nk, (unsigned long long)nk);
	trace_session_delete(s);

	if (tstop) {
		/* All reports (the GPU trace lists every GPU operation), then the
		 * five summaries alone. */
		char *summaries[] = {"--report", "cuda_gpu_kern_sum",
		                     "--report", "cuda_api_sum",
		                     "--report", "cuda_gpu_mem_time_sum",
		                     "--report", "cuda_gpu_mem_size_sum",
		                     "--report", "nvtx_sum",
		                     NULL};
		char *const *variants[] = {NULL, summaries};
		const char *labels[] = {"all reports", "the five summaries"};
		for (int v = 0; v < 2; v++) {
			double times[BENCH_MAX_REPEATS];
			long rss = 0, peak = 0;
			for (int i = 0; i < repeats; i++) {
				times[i] = bench_stats_run(tstop, plain, variants[v], &rss);
				if (times[i] < 0) {
					fprintf(stderr, "bench_sbt: %s stats %s failed\n", tstop, plain);
					return 1;
				}
				if (rss > peak)
					peak = rss;
			}
			printf(
			    "tstop stats, %s, plain file: %.2f s median, peak RSS %.0f MiB (%.1f B/event)\n",
			    labels[v], bench_median(times, repeats), (double)peak / 1048576.0,
			    (double)peak / (double)events);
		}
	}

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("bench peak RSS: %.0f MiB\n", (double)ru.ru_maxrss / 1024.0);
	unlink(plain);
	unlink(zstd);
	unlink(kernels);
	return 0;
}
