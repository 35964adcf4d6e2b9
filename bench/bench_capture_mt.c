/*
 * bench_capture_mt.c - the highest event rate the whole capture path
 * (application -> ring -> drain -> SBT file) sustains with zero lost
 * events, from 1, 2 and 4 producer threads.
 *
 * Usage: bench_capture_mt BUILD_DIR [-s SECONDS] [-r REPEATS] [-t THREADS,...]
 *                         [-R RATE_M,...] [-- TSTOP_RECORD_OPTIONS...]
 *
 * For each thread count (default 1,2,4) it runs itself as the application
 * under `BUILD_DIR/tstop record`, at increasing total rates (default
 * 0.25, 0.5, 1, 1.5, 2, 3, 4, 6 and 8 M events/s), REPEATS times each
 * (default 3) for SECONDS each (default 2). The application's threads emit
 * NVTX push/pop pairs (one range event each, through the real NVTX loader
 * and the injected collector), paced to their share of the rate in bursts
 * every 100 us. After each run it reads the file back with `tstop info`.
 * A rate is sustained when, in every repeat, no event was lost, the file
 * holds every event the application emitted, and the application reached
 * at least 97% of the rate (below that the application itself, not
 * capture, was the limit: the machine had no room for it). The ramp of a
 * thread count stops at the first rate not sustained. It prints, per rate,
 * the median achieved rate, the most lost events and the median share of
 * events in the file; then, per thread count, the highest rate sustained.
 * It also says how many CPUs the machine has and how many were idle in the
 * second before the benchmark, since tstop's drain needs a core of its own.
 * Figures only; nothing is asserted (target: >= 1 M events/s, DESIGN.md
 * section 5).
 *
 * Internal mode, run under tstop by the above:
 *   bench_capture_mt --worker THREADS RATE SECONDS
 * prints `worker THREADS RATE ACHIEVED EVENTS` (tab-separated).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nvtx3/nvToolsExt.h>

extern char **environ;

#define BENCH_MAX_THREADS 16
#define BENCH_MAX_RATES   32
#define BENCH_MAX_REPEATS 15
#define BENCH_MAX_OPTS    16
#define BENCH_TICK_NS     100000 /* a worker's burst period */
#define BENCH_KEEP_UP     0.97   /* share of the rate the application must reach */

/* --- the application ------------------------------------------------------------- */

static int64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct bench_worker {
	pthread_t thread;
	double rate;      /* pairs per second for this thread */
	int64_t start_ns; /* shared start and end of the run */
	int64_t end_ns;
	uint64_t pairs; /* emitted */
};

/* One application thread: push/pop pairs paced at w->rate from start_ns to
 * end_ns, a burst every BENCH_TICK_NS, catching up when behind. */
static void *bench_worker_main(void *arg)
{
	struct bench_worker *w = arg;
	double per_ns = w->rate * 1e-9;
	uint64_t done = 0;
	struct timespec at = {(time_t)(w->start_ns / 1000000000), (long)(w->start_ns % 1000000000)};
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
	for (int64_t k = 1;; k++) {
		int64_t tick = w->start_ns + k * BENCH_TICK_NS;
		uint64_t target = (uint64_t)(per_ns * (double)(k * BENCH_TICK_NS));
		while (done < target) {
			nvtxRangePushA("bench.mt");
			nvtxRangePop();
			done++;
		}
		int64_t now = bench_now_ns();
		if (now >= w->end_ns)
			break;
		if (now < tick) {
			struct timespec ts = {(time_t)(tick / 1000000000), (long)(tick % 1000000000)};
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
	}
	w->pairs = done;
	return NULL;
}

/* --worker THREADS RATE SECONDS: the workload; prints what it emitted.
 * Returns the exit status. */
static int bench_worker_run(int threads, double rate, double seconds)
{
	if (threads < 1 || threads > BENCH_MAX_THREADS || rate <= 0 || seconds <= 0) {
		fprintf(stderr, "bench_capture_mt: bad --worker arguments\n");
		return 2;
	}
	/* The first call connects the collector: outside the timed run. */
	nvtxRangePushA("bench.mt.warmup");
	nvtxRangePop();
	struct bench_worker w[BENCH_MAX_THREADS];
	int64_t start = bench_now_ns() + 1000000;
	for (int i = 0; i < threads; i++) {
		w[i] = (struct bench_worker){
		    .rate = rate / threads, .start_ns = start, .end_ns = start + (int64_t)(seconds * 1e9)};
		if (pthread_create(&w[i].thread, NULL, bench_worker_main, &w[i]) != 0) {
			fprintf(stderr, "bench_capture_mt: cannot start a thread\n");
			return 1;
		}
	}
	uint64_t pairs = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		pairs += w[i].pairs;
	}
	double elapsed = (double)(bench_now_ns() - start) * 1e-9;
	printf("worker\t%d\t%.0f\t%.0f\t%llu\n", threads, rate, (double)pairs / elapsed,
	       (unsigned long long)(pairs + 1));
	return 0;
}

/* --- the driver ------------------------------------------------------------------ */

struct bench_run {
	bool ok;          /* ran and both outputs parsed */
	double achieved;  /* events/s the application reached */
	uint64_t emitted; /* events it emitted */
	uint64_t stored;  /* events in the file */
	uint64_t lost;    /* lost events the file reports */
};

/* Idle CPUs over the next `ms` milliseconds, from /proc/stat; -1 when it
 * cannot be read. */
static double bench_idle_cpus(unsigned ms)
{
	unsigned long long a[2][10];
	for (int s = 0; s < 2; s++) {
		FILE *f = fopen("/proc/stat", "r");
		if (!f)
			return -1;
		memset(a[s], 0, sizeof(a[s]));
		int n =
		    fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &a[s][0], &a[s][1],
		           &a[s][2], &a[s][3], &a[s][4], &a[s][5], &a[s][6], &a[s][7], &a[s][8], &a[s][9]);
		fclose(f);
		if (n < 5)
			return -1;
		if (s == 0) {
			struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	unsigned long long total = 0, idle = (a[1][3] - a[0][3]) + (a[1][4] - a[0][4]);
	for (int i = 0; i < 8; i++) /* guest time is already in user */
		total += a[1][i] - a[0][i];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return total ? (double)idle / (double)total * (double)cpus : -1;
}

/* Runs `argv` with stdout into `out` (`cap` bytes, NUL-terminated) and
 * stderr to /dev/null; returns its wait status or -1. */
static int bench_spawn(char *const argv[], char *out, size_t cap)
{
	int pfd[2];
	if (pipe(pfd) != 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	posix_spawn_file_actions_addclose(&fa, pfd[1]);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		return -1;
	}
	size_t n = 0;
	for (;;) {
		char junk[4096];
		char *dst = n + 1 < cap ? out + n : junk;
		size_t room = n + 1 < cap ? cap - 1 - n : sizeof(junk);
		ssize_t got = read(pfd[0], dst, room);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (dst != junk)
			n += (size_t)got;
	}
	out[n] = '\0';
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* The number in parentheses after line-start `label` in `text` (tstop
 * info's "events (N)", "lost events (N)"). */
static bool bench_count(const char *text, const char *label, uint64_t *v)
{
	size_t n = strlen(label);
	for (const char *p = text; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, label, n) && p[n] == ' ' && p[n + 1] == '(')
			return sscanf(p + n + 2, "%llu", (unsigned long long *)v) == 1;
	}
	return false;
}

struct bench_cfg {
	const char *tstop;
	const char *self;
	const char *file;
	double seconds;
	int repeats;
	const char *opts[BENCH_MAX_OPTS]; /* extra tstop record options */
	int nopts;
};

/* One run of `threads` threads at `rate` events/s under tstop record. */
static struct bench_run bench_one(const struct bench_cfg *c, int threads, double rate)
{
	struct bench_run r = {0};
	char ts[16], rs[32], ss[32];
	snprintf(ts, sizeof(ts), "%d", threads);
	snprintf(rs, sizeof(rs), "%.0f", rate);
	snprintf(ss, sizeof(ss), "%g", c->seconds);
	const char *argv[32 + BENCH_MAX_OPTS];
	int n = 0;
	argv[n++] = c->tstop;
	argv[n++] = "record";
	argv[n++] = "-f";
	argv[n++] = "-o";
	argv[n++] = c->file;
	for (int i = 0; i < c->nopts; i++)
		argv[n++] = c->opts[i];
	argv[n++] = "--";
	argv[n++] = c->self;
	argv[n++] = "--worker";
	argv[n++] = ts;
	argv[n++] = rs;
	argv[n++] = ss;
	argv[n] = NULL;
	char out[4096];
	int st = bench_spawn((char *const *)argv, out, sizeof(out));
	int t;
	double want;
	unsigned long long emitted;
	const char *line = strstr(out, "worker\t");
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !line ||
	    sscanf(line, "worker\t%d\t%lf\t%lf\t%llu", &t, &want, &r.achieved, &emitted) != 4)
		return r;
	r.emitted = emitted;
	const char *info[] = {c->tstop, "info", c->file, NULL};
	static char text[1 << 16];
	st = bench_spawn((char *const *)info, text, sizeof(text));
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !bench_count(text, "events", &r.stored) ||
	    !bench_count(text, "lost events", &r.lost))
		return r;
	r.ok = true;
	return r;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Parses a comma-separated list of positive numbers into `v` (at most
 * `cap`); returns the count, 0 when malformed. */
static int bench_list(const char *s, double *v, int cap)
{
	int n = 0;
	while (*s && n < cap) {
		char *end;
		double x = strtod(s, &end);
		if (end == s || x <= 0)
			return 0;
		v[n++] = x;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return 0;
	}
	return *s ? 0 : n;
}

static int bench_usage(void)
{
	fprintf(stderr, "usage: bench_capture_mt BUILD_DIR [-s SECONDS] [-r REPEATS] [-t THREADS,...] "
	                "[-R RATE_M,...] [-- TSTOP_RECORD_OPTIONS...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "--worker"))
		return bench_worker_run(atoi(argv[2]), atof(argv[3]), atof(argv[4]));
	if (argc < 2 || argv[1][0] == '-')
		return bench_usage();

	static char tstop[4096], self[4096], file[64];
	struct bench_cfg c = {.tstop = tstop, .self = self, .file = file, .seconds = 2, .repeats = 3};
	double threads[BENCH_MAX_THREADS] = {1, 2, 4},
	       rates[BENCH_MAX_RATES] = {0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8};
	int nthreads = 3, nrates = 9;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--")) {
			for (i++; i < argc && c.nopts < BENCH_MAX_OPTS; i++)
				c.opts[c.nopts++] = argv[i];
			break;
		} else if (!strcmp(a, "-s") && v) {
			c.seconds = atof(v);
		} else if (!strcmp(a, "-r") && v) {
			c.repeats = atoi(v);
		} else if (!strcmp(a, "-t") && v) {
			nthreads = bench_list(v, threads, BENCH_MAX_THREADS);
		} else if (!strcmp(a, "-R") && v) {
			nrates = bench_list(v, rates, BENCH_MAX_RATES);
		} else {
			return bench_usage();
		}
		i++;
	}
	if (c.seconds <= 0 || c.repeats < 1 || c.repeats > BENCH_MAX_REPEATS || !nthreads || !nrates)
		return bench_usage();
	snprintf(tstop, sizeof(tstop), "%s/tstop", argv[1]);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || access(tstop, X_OK) != 0) {
		fprintf(stderr, "bench_capture_mt: %s is missing (build the project first)\n", tstop);
		return 1;
	}
	self[n] = '\0';
	char dir[] = "/tmp/bench_capture_mt.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("bench_capture_mt: mkdtemp");
		return 1;
	}
	snprintf(file, sizeof(file), "%s/run.sbt", dir);

	double idle = bench_idle_cpus(1000);
	printf("application -> ring -> drain -> SBT, NVTX push/pop pairs from N threads, %g s runs, "
	       "median of %d\n",
	       c.seconds, c.repeats);
	printf("CPUs: %ld online, %.2f idle in the second before the benchmark\n",
	       sysconf(_SC_NPROCESSORS_ONLN), idle);
	if (c.nopts) {
		printf("tstop record options:");
		for (int i = 0; i < c.nopts; i++)
			printf(" %s", c.opts[i]);
		printf("\n");
	}
	printf("%8s %10s %12s %10s %10s  %s\n", "threads", "target/s", "achieved/s", "max lost", "in file",
	       "sustained");
	double best[BENCH_MAX_THREADS] = {0};
	for (int ti = 0; ti < nthreads; ti++) {
		int t = (int)threads[ti];
		for (int ri = 0; ri < nrates; ri++) {
			double rate = rates[ri] * 1e6;
			double ach[BENCH_MAX_REPEATS], share[BENCH_MAX_REPEATS];
			uint64_t max_lost = 0;
			bool sustained = true;
			int ok = 0;
			for (int k = 0; k < c.repeats; k++) {
				struct bench_run r = bench_one(&c, t, rate);
				if (!r.ok) {
					sustained = false;
					continue;
				}
				ach[ok] = r.achieved;
				share[ok++] = r.emitted ? (double)r.stored / (double)r.emitted : 0;
				if (r.lost > max_lost)
					max_lost = r.lost;
				if (r.lost || r.stored != r.emitted || r.achieved < BENCH_KEEP_UP * rate)
					sustained = false;
			}
			if (!ok) {
				printf("%8d %10.2fM %12s %10s %10s  no (the run failed)\n", t, rates[ri], "-",
				       "-", "-");
				break;
			}
			double a = bench_median(ach, ok), s = bench_median(share, ok);
			const char *why = sustained                  ? "yes"
			                  : max_lost                 ? "no (events lost)"
			                  : a < BENCH_KEEP_UP * rate ? "no (the application fell behind)"
			                                             : "no (events missing)";
			printf("%8d %10.2fM %11.2fM %10llu %9.2f%%  %s\n", t, rates[ri], a * 1e-6,
			       (unsigned long long)max_lost, s * 100, why);
			fflush(stdout);
			if (!sustained)
				break;
			best[ti] = rates[ri];
		}
	}
	printf("highest rate sustained with zero lost events:\n");
	for (int ti = 0; ti < nthreads; ti++)
		printf("  %2d thread%s %6.2f M events/s%s\n", (int)threads[ti],
		       threads[ti] == 1 ? ": " : "s:", best[ti],
		       best[ti] == rates[nrates - 1] ? " (the highest rate tried)" : "");
	unlink(file);
	rmdir(dir);
	return 0;
}
