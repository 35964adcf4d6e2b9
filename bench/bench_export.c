/*
 * bench_export.c - export rate and memory of `tstop export` (src/export/).
 *
 * Usage: bench_export [-n EVENTS] [-r REPEATS] [-d DIR]
 *
 * Generates one synthetic session (tests/support/synth.h; 10 M events by
 * default) and writes it REPEATS times (3) in each format: Kineto JSON,
 * Kineto JSON gzipped, Perfetto protobuf, to a file in DIR (/tmp, removed
 * afterwards). Each run happens in a child process, so that the child's
 * peak resident memory (the session it inherited and touches, plus what the
 * exporter allocates) is measured per format. Prints per format the median
 * time, events/s, MB/s of output, bytes per event and the peak RSS, beside
 * the RSS of the session alone. It asserts nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "export/export.h"
#include "synth.h"

#define BENCH_MAX_REPEATS 32

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

/* Resident set size of this process now, in bytes (0 when unknown). */
static long bench_rss_now(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

enum bench_format { BENCH_KINETO, BENCH_KINETO_GZ, BENCH_PERFETTO, BENCH_FORMATS };

static const char *const bench_format_name[BENCH_FORMATS] = {"Kineto JSON", "Kineto JSON.gz", "Perfetto"};

/* Writes `s` in format `f` to `path` in a child process; returns the wall
 * time in seconds (-1 on failure) and stores the child's peak RSS (bytes)
 * and the file's size. */
static double bench_one(struct trace_session *s, enum bench_format f, const char *path, long *maxrss,
                        long long *bytes)
{
	double t0 = bench_now();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		FILE *out = fopen(path, "w");
		if (!out)
			_exit(1);
		struct export_options o = {0};
		o.gzip = f == BENCH_KINETO_GZ;
		o.name = "bench";
		struct err e;
		int rc = f == BENCH_PERFETTO ? export_perfetto_write(s, out, &o, &e)
		                             : export_kineto_write(s, out, &o, &e);
		if (fclose(out) != 0 || rc < 0)
			_exit(1);
		_exit(0);
	}
	int status = 0;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	double t = bench_now() - t0;
	*maxrss = ru.ru_maxrss * 1024L;
	struct stat st;
	*bytes = stat(path, &st) == 0 ? (long long)st.st_size : 0;
	return t;
}

int main(int argc, char **argv)
{
	struct synth_options o;
	synth_options_init(&o);
	o.events = 10000000;
	int repeats = 3;
	const char *dir = "/tmp";
	int opt;
	while ((opt = getopt(argc, argv, "n:r:d:")) != -1) {
		switch (opt) {
		case 'n':
			o.events = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			repeats = atoi(optarg);
			break;
		case 'd':
			dir = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_export [-n EVENTS] [-r REPEATS] [-d DIR]\n");
			return 2;
		}
	}
	if (repeats < 1 || repeats > BENCH_MAX_REPEATS) {
		fprintf(stderr, "bench_export: -r takes 1 to %d\n", BENCH_MAX_REPEATS);
		return 2;
	}
	struct err e;
	double t0 = bench_now();
	struct trace_session *s = synth_session(&o, NULL, &e);
	if (!s) {
		fprintf(stderr, "bench_export: %s\n", e.msg);
		return 1;
	}
	uint64_t n = trace_session_event_count(s);
	long session_rss = bench_rss_now();
	printf("session: %llu events, generated in %.1f s, resident %.1f MiB (%.1f bytes/event)\n",
	       (unsigned long long)n, bench_now() - t0, session_rss / 1048576.0,
	       (double)session_rss / (double)n);
	char path[4096];
	snprintf(path, sizeof(path), "%s/bench_export.%ld.out", dir, (long)getpid());
	for (int f = 0; f < BENCH_FORMATS; f++) {
		double times[BENCH_MAX_REPEATS];
		long peak = 0;
		long long bytes = 0;
		for (int r = 0; r < repeats; r++) {
			long rss = 0;
			times[r] = bench_one(s, (enum bench_format)f, path, &rss, &bytes);
			if (times[r] < 0) {
				fprintf(stderr, "bench_export: %s export failed (%s)\n", bench_format_name[f],
				        strerror(errno));
				unlink(path);
				trace_session_delete(s);
				return 1;
			}
			if (rss > peak)
				peak = rss;
		}
		double t = bench_median(times, repeats);
		printf("%-15s %7.2f s  %6.2f M events/s  %7.1f MB/s  %7.1f bytes/event  peak RSS %.1f MiB "
		       "(median of %d)\n",
		       bench_format_name[f], t, (double)n / t / 1e6, (double)bytes / t / 1e6,
		       (double)bytes / (double)n, peak / 1048576.0, repeats);
		fflush(stdout);
	}
	unlink(path);
	trace_session_delete(s);
	return 0;
}
