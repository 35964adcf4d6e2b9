/*
 * nvtx_target.c - tstop-test-nvtx: small NVTX programs with a known shape
 * in time, for the capture-window and fork tests of tests/cli (no GPU).
 *
 *   tstop-test-nvtx ticks N MS
 *       pushes a range "outer", then N short ranges "tick EEEEE" (pushed
 *       and popped at once) one every MS ms, EEEEE being the milliseconds
 *       since the program started (five digits), then pops "outer". Prints
 *       "first_ms" and "last_ms".
 *   tstop-test-nvtx phases N [pushpop|startend|domain|any] [fork]
 *       N iterations of a range "warmup" holding a range "w.step" and a mark
 *       "w.mark", then a range "measure" holding a range "m.step" and a mark
 *       "m.mark". "measure" is pushed and popped (pushpop, the default),
 *       started and ended (startend), or pushed in the domain "tstop.test"
 *       (domain); "any" pushes it in the default domain on even iterations
 *       and in "tstop.test" on odd ones. With "fork", a child process forked
 *       after the loop runs 2 iterations of its own, the parent waits for it.
 *   tstop-test-nvtx fork GOFILE
 *       waits until GOFILE exists, starts a thread whose first NVTX call
 *       connects the collector, forks 100 ms later (the child exits at
 *       once) and prints "fork_ms X": how long fork() took in the parent.
 *
 * Built only when the NVTX v3 headers are found; never sanitized (tstop
 * preloads its collector into it, like into any target).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nvtx3/nvToolsExt.h>

#define TARGET_DOMAIN "tstop.test"

/* CLOCK_MONOTONIC in milliseconds. */
static double target_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Sleeps `ms` milliseconds. */
static void target_sleep_ms(double ms)
{
	struct timespec ts = {(time_t)(ms / 1e3), (long)((ms - (double)(time_t)(ms / 1e3) * 1e3) * 1e6)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A positive number from the command line, or exit 2. */
static long target_number(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v <= 0) {
		fprintf(stderr, "tstop-test-nvtx: '%s' is not a positive number\n", s);
		exit(2);
	}
	return v;
}

/* The ticks mode (see the file comment). */
static int target_ticks(long n, long ms)
{
	double t0 = target_now_ms(), first = -1, last = -1;
	nvtxRangePushA("outer");
	for (long i = 0; i < n; i++) {
		char name[32];
		double e = target_now_ms() - t0;
		snprintf(name, sizeof(name), "tick %05ld", (long)e);
		nvtxRangePushA(name);
		nvtxRangePop();
		if (first < 0)
			first = e;
		last = e;
		target_sleep_ms((double)ms);
	}
	nvtxRangePop();
	printf("first_ms\t%.0f\nlast_ms\t%.0f\n", first, last);
	return 0;
}

/* One "measure" range of the phases mode, holding "m.step" and "m.mark". */
static void target_measure(const char *style, long i, nvtxDomainHandle_t dom)
{
	bool in_domain = !strcmp(style, "domain") || (!strcmp(style, "any") && i % 2);
	if (!strcmp(style, "startend")) {
		nvtxRangeId_t id = nvtxRangeStartA("measure");
		nvtxRangePushA("m.step");
		nvtxMarkA("m.mark");
		nvtxRangePop();
		nvtxRangeEnd(id);
		return;
	}
	if (in_domain) {
		nvtxEventAttributes_t a;
		memset(&a, 0, sizeof(a));
		a.version = NVTX_VERSION;
		a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
		a.messageType = NVTX_MESSAGE_TYPE_ASCII;
		a.message.ascii = "measure";
		nvtxDomainRangePushEx(dom, &a);
	} else {
		nvtxRangePushA("measure");
	}
	nvtxRangePushA("m.step");
	nvtxMarkA("m.mark");
	nvtxRangePop();
	if (in_domain)
		nvtxDomainRangePop(dom);
	else
		nvtxRangePop();
}

/* `n` iterations of the phases mode. */
static void target_phases_loop(long n, const char *style, nvtxDomainHandle_t dom)
{
	for (long i = 0; i < n; i++) {
		nvtxRangePushA("warmup");
		nvtxRangePushA("w.step");
		nvtxMarkA("w.mark");
		nvtxRangePop();
		nvtxRangePop();
		target_measure(style, i, dom);
	}
}

/* The phases mode (see the file comment). */
static int target_phases(long n, const char *style, bool fork_child)
{
	nvtxDomainHandle_t dom = nvtxDomainCreateA(TARGET_DOMAIN);
	target_phases_loop(n, style, dom);
	if (fork_child) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			perror("tstop-test-nvtx: fork");
			return 1;
		}
		if (pid == 0) {
			target_phases_loop(2, style, dom);
			_exit(0);
		}
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return 1;
	}
	return 0;
}

/* The thread of the fork mode: its first NVTX call connects. */
static void *target_connector(void *arg)
{
	(void)arg;
	nvtxMarkA("connect");
	return NULL;
}

/* The fork mode (see the file comment). */
static int target_fork(const char *gofile)
{
	struct stat st;
	double waited = 0;
	while (stat(gofile, &st) < 0) {
		if (waited > 30000) {
			fprintf(stderr, "tstop-test-nvtx: %s never appeared\n", gofile);
			return 1;
		}
		target_sleep_ms(10);
		waited += 10;
	}
	pthread_t th;
	if (pthread_create(&th, NULL, target_connector, NULL) != 0)
		return 1;
	target_sleep_ms(100);
	fflush(stdout);
	double t0 = target_now_ms();
	pid_t pid = fork();
	double took = target_now_ms() - t0;
	if (pid < 0) {
		perror("tstop-test-nvtx: fork");
		return 1;
	}
	if (pid == 0)
		_exit(0);
	printf("fork_ms\t%.0f\n", took);
	fflush(stdout);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	pthread_join(th, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "ticks"))
		return target_ticks(target_number(argv[2]), target_number(argv[3]));
	if (argc >= 3 && !strcmp(argv[1], "phases")) {
		const char *style = argc >= 4 ? argv[3] : "pushpop";
		bool fork_child = argc >= 5 && !strcmp(argv[4], "fork");
		return target_phases(target_number(argv[2]), style, fork_child);
	}
	if (argc >= 3 && !strcmp(argv[1], "fork"))
		return target_fork(argv[2]);
	fprintf(stderr, "usage: tstop-test-nvtx ticks N MS | phases N [pushpop|startend|domain|any] [fork] | "
	                "fork GOFILE\n");
	return 2;
}
