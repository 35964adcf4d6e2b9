/*
 * bench_ring.c - throughput, per-record cost and drop rates of the capture
 * ring (src/capture/ring.h).
 *
 * Usage: bench_ring [-n RECORDS] [-r REPEATS] [-s RING_BYTES]
 *
 * Every figure is the median over REPEATS runs. Payloads are 32 and 64
 * bytes (40 and 72 bytes in the ring with the record header); a producer
 * fills each one (a timestamp, an id, a pattern) like the collector would.
 *   - alone: one producer, no concurrent consumer (the ring is filled in
 *     bursts and drained untimed in between): the bare cost of
 *     ring_reserve + fill + ring_commit;
 *   - drained: 1, 2 and 4 producer threads writing RECORDS records each as
 *     fast as they can while one consumer thread drains (its callback reads
 *     the payload): aggregate records/s (wall clock), CPU ns per
 *     reserve+commit in the producers, and the share dropped;
 *   - slow consumer: the consumer spends about 1 us per record while one
 *     producer writes flat out, or paced at 1 M records/s: the share
 *     dropped, and what a record costs the producer when most are dropped;
 *   - paced: producers emitting a fixed total of 1 M and 2 M records/s (in
 *     bursts of 64) for half a second while the consumer polls like a drain
 *     thread (sleeping 1 ms whenever the ring is empty): records dropped
 *     (the end-to-end target is >= 1 M events/s with zero drops) and the
 *     producer's time per record inside the bursts, the figure closest to
 *     what a traced application pays per record.
 *   - application: a thread doing about 1 us of work between a range push
 *     and pop, with and without writing a record for each (runs
 *     alternated): the time added per push+pop pair as the application
 *     sees it, stores overlapping its work as they would in a real one.
 * The targets these inform: >= 1 M events/s end to end with zero drops, and
 * <= 100 ns added per NVTX push+pop pair (two records).
 * It prints figures for people to read; it asserts nothing.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/ring.h"

#define BENCH_MAX_REPEATS   15
#define BENCH_MAX_PRODUCERS 4
#define BENCH_BURST         64

static double bench_clock(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double bench_now(void)
{
	return bench_clock(CLOCK_MONOTONIC);
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

static void bench_die(const char *what, const struct err *e)
{
	fprintf(stderr, "bench_ring: %s: %s\n", what, e->msg);
	exit(1);
}

/* One run's shared state. */
struct bench_run {
	struct ring *r;
	uint32_t payload;     /* bytes per record */
	uint64_t per_thread;  /* records each producer writes (flat out) */
	double rate;          /* paced: records/s per producer (0: flat out) */
	double duration;      /* paced: seconds */
	unsigned consumer_ns; /* consumer work per record (slow consumer) */
	bool poll_sleep;      /* consumer sleeps 1 ms when the ring is empty */
	atomic_int go;
	atomic_int producers_done;
	int producers;
	/* results */
	double cpu_s[BENCH_MAX_PRODUCERS]; /* producer time spent writing records */
	uint64_t sent[BENCH_MAX_PRODUCERS];
	uint64_t received;
	uint64_t checksum;
};

struct bench_producer {
	struct bench_run *run;
	uint32_t id;
};

/* Writes one record of `run->payload` bytes: what the collector's NVTX
 * handler would write (timestamp, thread, kind, ids), then a pattern. */
static void bench_put(struct bench_run *run, uint32_t id, uint64_t seq)
{
	uint8_t *p = ring_reserve(run->r, run->payload);
	if (!p)
		return;
	uint64_t head[4] = {seq * 1000u + id, ((uint64_t)id << 32) | 7u, seq, seq ^ 0x5555u};
	memcpy(p, head, sizeof(head));
	if (run->payload > sizeof(head))
		memset(p + sizeof(head), (int)(seq & 0xff), run->payload - sizeof(head));
	ring_commit(run->r, p);
}

static void *bench_producer_main(void *arg)
{
	struct bench_producer *bp = arg;
	struct bench_run *run = bp->run;
	while (!atomic_load_explicit(&run->go, memory_order_acquire))
		sched_yield();
	double c0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
	uint64_t n = 0;
	if (run->rate > 0) {
		/* Bursts of BENCH_BURST records at the given average rate; only
		 * the bursts are timed. */
		double t0 = bench_now(), step = 1.0 / run->rate, busy = 0;
		uint64_t total = (uint64_t)(run->rate * run->duration);
		while (n < total) {
			double due = t0 + (double)n * step;
			while (bench_now() < due)
				;
			uint64_t k = total - n < BENCH_BURST ? total - n : BENCH_BURST;
			double b0 = bench_now();
			for (uint64_t i = 0; i < k; i++)
				bench_put(run, bp->id, n + i);
			busy += bench_now() - b0;
			n += k;
		}
		run->cpu_s[bp->id] = busy;
	} else {
		for (; n < run->per_thread; n++)
			bench_put(run, bp->id, n);
		run->cpu_s[bp->id] = bench_clock(CLOCK_THREAD_CPUTIME_ID) - c0;
	}
	run->sent[bp->id] = n;
	atomic_fetch_add_explicit(&run->producers_done, 1, memory_order_release);
	return NULL;
}

/* Busy work of about `ns` nanoseconds. */
static void bench_spin_ns(unsigned ns)
{
	double until = bench_now() + (double)ns * 1e-9;
	while (bench_now() < until)
		;
}

static int bench_record(void *arg, const void *data, uint32_t len)
{
	struct bench_run *run = arg;
	uint64_t head[4];
	memcpy(head, data, sizeof(head) <= len ? sizeof(head) : len);
	run->checksum += head[0] ^ head[2];
	run->received++;
	if (run->consumer_ns)
		bench_spin_ns(run->consumer_ns);
	return 0;
}

static void *bench_consumer_main(void *arg)
{
	struct bench_run *run = arg;
	struct err e = {{0}};
	for (;;) {
		int done = atomic_load_explicit(&run->producers_done, memory_order_acquire) == run->producers;
		long n = ring_read(run->r, 4096, bench_record, run, &e);
		if (n < 0)
			bench_die("ring_read", &e);
		if (n > 0)
			continue;
		if (done && ring_head_state(run->r) == RING_HEAD_EMPTY)
			break;
		if (run->poll_sleep) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		} else {
			sched_yield();
		}
	}
	return NULL;
}

/* What one run measured. */
struct bench_result {
	double wall_s;        /* first producer start to last producer end */
	double ns_per_op;     /* producer CPU time per reserve+commit */
	double records_per_s; /* records attempted per wall second, all producers */
	double drop_share;    /* dropped / attempted */
	uint64_t dropped;
};

static struct bench_result bench_once(size_t ring_bytes, int producers, uint32_t payload, uint64_t per_thread,
                                      double rate, double duration, unsigned consumer_ns, bool consumer,
                                      bool poll_sleep)
{
	struct err e = {{0}};
	struct bench_run *run = calloc(1, sizeof(*run));
	if (!run) {
		fprintf(stderr, "bench_ring: out of memory\n");
		exit(1);
	}
	run->r = ring_create(ring_bytes, 0, 0, &e);
	if (!run->r)
		bench_die("ring_create", &e);
	run->payload = payload;
	run->per_thread = per_thread;
	run->rate = rate;
	run->duration = duration;
	run->consumer_ns = consumer_ns;
	run->poll_sleep = poll_sleep;
	run->producers = producers;
	atomic_init(&run->go, 0);
	atomic_init(&run->producers_done, 0);

	pthread_t prod[BENCH_MAX_PRODUCERS], cons;
	struct bench_producer bp[BENCH_MAX_PRODUCERS];
	if (consumer && pthread_create(&cons, NULL, bench_consumer_main, run) != 0) {
		fprintf(stderr, "bench_ring: pthread_create failed\n");
		exit(1);
	}
	for (int i = 0; i < producers; i++) {
		bp[i].run = run;
		bp[i].id = (uint32_t)i;
		if (pthread_create(&prod[i], NULL, bench_producer_main, &bp[i]) != 0) {
			fprintf(stderr, "bench_ring: pthread_create failed\n");
			exit(1);
		}
	}
	double t0 = bench_now();
	atomic_store_explicit(&run->go, 1, memory_order_release);
	for (int i = 0; i < producers; i++)
		pthread_join(prod[i], NULL);
	double t1 = bench_now();
	if (consumer)
		pthread_join(cons, NULL);

	struct bench_result res = {0};
	uint64_t sent = 0, bytes = 0;
	double cpu = 0;
	for (int i = 0; i < producers; i++) {
		sent += run->sent[i];
		cpu += run->cpu_s[i];
	}
	ring_drops(run->r, &res.dropped, &bytes);
	res.wall_s = t1 - t0;
	res.ns_per_op = sent ? cpu * 1e9 / (double)sent : 0;
	res.records_per_s = (double)sent / res.wall_s;
	res.drop_share = sent ? (double)res.dropped / (double)sent : 0;
	if (consumer && run->received + res.dropped != sent)
		fprintf(stderr, "bench_ring: %llu sent, %llu received, %llu dropped\n",
		        (unsigned long long)sent, (unsigned long long)run->received,
		        (unsigned long long)res.dropped);
	ring_close(run->r);
	free(run);
	return res;
}

static int bench_discard(void *arg, const void *data, uint32_t len)
{
	(void)data;
	(void)len;
	(*(uint64_t *)arg)++;
	return 0;
}

/* One producer alone: writes `n` records in bursts that fill the ring,
 * draining it untimed in between. Returns wall ns per reserve+fill+commit. */
static double bench_alone(size_t ring_bytes, uint32_t payload, uint64_t n)
{
	struct err e = {{0}};
	struct bench_run run = {0};
	run.payload = payload;
	run.r = ring_create(ring_bytes, 0, 0, &e);
	if (!run.r)
		bench_die("ring_create", &e);
	uint64_t burst = ring_bytes / ((payload + RING_REC_HDR + 7) & ~7u) - 1, done = 0, read = 0;
	double timed = 0;
	while (done < n) {
		uint64_t k = n - done < burst ? n - done : burst;
		double t0 = bench_now();
		for (uint64_t i = 0; i < k; i++)
			bench_put(&run, 0, done + i);
		timed += bench_now() - t0;
		done += k;
		while (ring_read(run.r, SIZE_MAX, bench_discard, &read, &e) > 0)
			;
	}
	uint64_t dropped = 0, bytes = 0;
	ring_drops(run.r, &dropped, &bytes);
	if (dropped || read != n)
		fprintf(stderr, "bench_ring: alone: %llu dropped, %llu read\n", (unsigned long long)dropped,
		        (unsigned long long)read);
	ring_close(run.r);
	return timed * 1e9 / (double)n;
}

/* Where the simulated work's result goes, so that it is not optimized away. */
static volatile uint64_t bench_sink;

/* The simulated application's own work: `iters` xorshift steps. */
static uint64_t bench_work(uint64_t x, unsigned iters)
{
	for (unsigned i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	return x;
}

/* An application thread: `pairs` times, a range push, work, a pop, work;
 * with `record`, each push and pop writes a record. */
struct bench_app {
	struct bench_run *run;
	uint64_t pairs;
	unsigned iters;
	bool record;
	double cpu_s; /* thread CPU time of the loop: preemption left out */
};

static void *bench_app_main(void *arg)
{
	struct bench_app *a = arg;
	uint64_t x = 88172645463325252ull;
	double t0 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
	for (uint64_t i = 0; i < a->pairs; i++) {
		if (a->record)
			bench_put(a->run, 0, 2 * i);
		x = bench_work(x, a->iters);
		if (a->record)
			bench_put(a->run, 0, 2 * i + 1);
		x = bench_work(x, a->iters);
	}
	a->cpu_s = bench_clock(CLOCK_THREAD_CPUTIME_ID) - t0;
	bench_sink = x;
	atomic_fetch_add_explicit(&a->run->producers_done, 1, memory_order_release);
	return NULL;
}

/* One application run next to a polling consumer; returns its CPU time
 * and adds the records dropped to `*dropped`. */
static double bench_app_once(size_t ring_bytes, uint64_t pairs, unsigned iters, bool record,
                             uint64_t *dropped)
{
	struct err e = {{0}};
	struct bench_run run = {0};
	run.r = ring_create(ring_bytes, 0, 0, &e);
	if (!run.r)
		bench_die("ring_create", &e);
	run.payload = 32;
	run.poll_sleep = true;
	run.producers = 1;
	atomic_init(&run.go, 1);
	atomic_init(&run.producers_done, 0);
	struct bench_app app = {.run = &run, .pairs = pairs, .iters = iters, .record = record};
	pthread_t cons, prod;
	if (pthread_create(&cons, NULL, bench_consumer_main, &run) != 0 ||
	    pthread_create(&prod, NULL, bench_app_main, &app) != 0) {
		fprintf(stderr, "bench_ring: pthread_create failed\n");
		exit(1);
	}
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	uint64_t d = 0, bytes = 0;
	ring_drops(run.r, &d, &bytes);
	*dropped += d;
	ring_close(run.r);
	return app.cpu_s;
}

/* Medians of `repeats` runs of one configuration. */
static struct bench_result bench_median_of(int repeats, size_t ring_bytes, int producers, uint32_t payload,
                                           uint64_t per_thread, double rate, double duration,
                                           unsigned consumer_ns, bool consumer, bool poll_sleep)
{
	double wall[BENCH_MAX_REPEATS], ns[BENCH_MAX_REPEATS], rps[BENCH_MAX_REPEATS],
	    drop[BENCH_MAX_REPEATS], dropped[BENCH_MAX_REPEATS];
	for (int i = 0; i < repeats; i++) {
		struct bench_result r = bench_once(ring_bytes, producers, payload, per_thread, rate, duration,
		                                   consumer_ns, consumer, poll_sleep);
		wall[i] = r.wall_s;
		ns[i] = r.ns_per_op;
		rps[i] = r.records_per_s;
		drop[i] = r.drop_share;
		dropped[i] = (double)r.dropped;
	}
	struct bench_result m;
	m.wall_s = bench_median(wall, repeats);
	m.ns_per_op = bench_median(ns, repeats);
	m.records_per_s = bench_median(rps, repeats);
	m.drop_share = bench_median(drop, repeats);
	m.dropped = (uint64_t)bench_median(dropped, repeats);
	return m;
}

int main(int argc, char **argv)
{
	uint64_t n = 2000000;
	int repeats = 5;
	size_t ring_bytes = 8u << 20;
	int opt;
	while ((opt = getopt(argc, argv, "n:r:s:")) != -1) {
		switch (opt) {
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			repeats = atoi(optarg);
			break;
		case 's':
			ring_bytes = (size_t)strtoull(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: bench_ring [-n RECORDS] [-r REPEATS] [-s RING_BYTES]\n");
			return 2;
		}
	}
	if (repeats < 1 || repeats > BENCH_MAX_REPEATS || n == 0) {
		fprintf(stderr, "bench_ring: REPEATS is 1..%d, RECORDS at least 1\n", BENCH_MAX_REPEATS);
		return 2;
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	printf("bench_ring: %llu records per producer, ring %zu bytes, median of %d runs, %ld CPUs\n\n",
	       (unsigned long long)n, ring_bytes, repeats, cpus);

	static const uint32_t payloads[] = {32, 64};
	printf("alone (one producer, bursts that fill the ring, drained untimed in between)\n");
	printf("  %-8s %12s %14s\n", "payload", "ns/record", "records/s");
	for (size_t k = 0; k < 2; k++) {
		double ns[BENCH_MAX_REPEATS];
		for (int i = 0; i < repeats; i++)
			ns[i] = bench_alone(ring_bytes, payloads[k], n);
		double m = bench_median(ns, repeats);
		printf("  %-8u %12.1f %14.0f\n", payloads[k], m, 1e9 / m);
	}

	printf("\ndrained (producers flat out, one consumer thread draining)\n");
	printf("  %-8s %-9s %12s %14s %10s\n", "payload", "producers", "ns/record", "records/s", "dropped");
	for (size_t k = 0; k < 2; k++) {
		for (int p = 1; p <= BENCH_MAX_PRODUCERS; p *= 2) {
			struct bench_result m =
			    bench_median_of(repeats, ring_bytes, p, payloads[k], n, 0, 0, 0, true, false);
			printf("  %-8u %-9d %12.1f %14.0f %9.2f%%\n", payloads[k], p, m.ns_per_op,
			       m.records_per_s, m.drop_share * 100);
		}
	}

	printf("\nslow consumer (~1 us of work per record; flat out: N/4 records; paced: 1 M/s for 0.5 s)\n");
	printf("  %-8s %-9s %12s %14s %10s\n", "payload", "producer", "ns/record", "records/s", "dropped");
	for (size_t k = 0; k < 2; k++) {
		struct bench_result m =
		    bench_median_of(repeats, ring_bytes, 1, payloads[k], n / 4, 0, 0, 1000, true, false);
		printf("  %-8u %-9s %12.1f %14.0f %9.2f%%\n", payloads[k], "flat out", m.ns_per_op,
		       m.records_per_s, m.drop_share * 100);
		m = bench_median_of(repeats, ring_bytes, 1, payloads[k], 0, 1e6, 0.5, 1000, true, false);
		printf("  %-8u %-9s %12.1f %14.0f %9.2f%%\n", payloads[k], "paced", m.ns_per_op,
		       m.records_per_s, m.drop_share * 100);
	}

	printf("\npaced (fixed total rate for 0.5 s, consumer polls with 1 ms sleeps when empty)\n");
	printf("  %-8s %-9s %12s %14s %12s %10s\n", "payload", "producers", "target/s", "achieved/s",
	       "ns/record", "dropped");
	static const double rates[] = {1e6, 2e6};
	for (size_t k = 0; k < 2; k++) {
		for (size_t q = 0; q < 2; q++) {
			for (int p = 1; p <= 2; p++) {
				struct bench_result m = bench_median_of(repeats, ring_bytes, p, payloads[k],
				                                        0, rates[q] / p, 0.5, 0, true, true);
				printf("  %-8u %-9d %12.0f %14.0f %12.1f %10llu\n", payloads[k], p, rates[q],
				       m.records_per_s, m.ns_per_op, (unsigned long long)m.dropped);
			}
		}
	}

	/* Each side of a pair does about `half_ns` of work. */
	const double half_ns = 1000;
	double w0 = bench_now();
	bench_sink = bench_work(1, 10000000);
	double ns_per_iter = (bench_now() - w0) * 1e9 / 1e7;
	unsigned iters = (unsigned)(half_ns / ns_per_iter) + 1;
	uint64_t pairs = n / 10 ? n / 10 : 1;
	double plain[BENCH_MAX_REPEATS], traced[BENCH_MAX_REPEATS];
	uint64_t app_dropped = 0;
	for (int i = 0; i < repeats; i++) {
		plain[i] =
		    bench_app_once(ring_bytes, pairs, iters, false, &app_dropped) * 1e9 / (double)pairs;
		traced[i] =
		    bench_app_once(ring_bytes, pairs, iters, true, &app_dropped) * 1e9 / (double)pairs;
	}
	double mp = bench_median(plain, repeats), mt = bench_median(traced, repeats);
	printf("\napplication (%llu push+pop pairs, ~%.0f ns of work after each, 32-byte records, polling "
	       "consumer)\n",
	       (unsigned long long)pairs, half_ns);
	printf("  ns per pair without records %.1f, with %.1f: added %.1f ns per pair; %llu dropped\n", mp,
	       mt, mt - mp, (unsigned long long)app_dropped);
	return 0;
}
