/*
 * nvtx_sample.c - tstop-sample-nvtx: an NVTX workload for capture tests, the
 * quick start and the NVTX overhead benchmark. No GPU needed.
 *
 * Three worker threads, each named with nvtxNameOsThread, run ITER
 * iterations of: nested push/pop ranges three deep ("iteration" >
 * "compute" > "kernel", the last with a color and a category), a wide-string
 * range, a mark, a range in a custom domain whose message is a registered
 * string with a color, a category and a payload of each NVTX payload type in
 * turn, a domain mark every tenth iteration, and a start/end range
 * ("handoff") that the next worker ends on its own thread. The main thread
 * holds one start/end range ("main.setup") across the whole run.
 *
 * At the end it prints, one tab-separated line each, exactly what it
 * emitted: `range STYLE DOMAIN NAME COUNT` (STYLE PushPop or StartEnd, as
 * `tstop stats --report nvtx_sum` shows it), `mark - DOMAIN NAME COUNT`,
 * `thread NAME`, and totals; "-" is the default domain. A test compares that
 * with what tstop captured.
 *
 *   tstop-sample-nvtx [-n ITER] [--spin-us N]   the workload (ITER 100, spin 0)
 *   tstop-sample-nvtx --bench N                 times N push/pop pairs on one
 *                                               thread, prints ns per pair
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nvtx3/nvToolsExt.h>

#define SAMPLE_THREADS 3
#define SAMPLE_DOMAIN  "tstop.sample"

/* What the sample emits, one counter per (kind, style, domain, name). */
enum sample_item {
	ITEM_ITERATION,
	ITEM_COMPUTE,
	ITEM_KERNEL,
	ITEM_WIDE,
	ITEM_IO_READ,
	ITEM_IO_WRITE,
	ITEM_HANDOFF,
	ITEM_MAIN_SETUP,
	ITEM_TICK,
	ITEM_CHECKPOINT,
	ITEM_COUNT,
};

struct sample_desc {
	const char *kind;   /* "range" or "mark" */
	const char *style;  /* "PushPop", "StartEnd", or "-" for marks */
	const char *domain; /* "-" for the default domain */
	const char *name;   /* UTF-8 */
};

static const struct sample_desc sample_items[ITEM_COUNT] = {
    [ITEM_ITERATION] = {"range", "PushPop", "-", "iteration"},
    [ITEM_COMPUTE] = {"range", "PushPop", "-", "compute"},
    [ITEM_KERNEL] = {"range", "PushPop", "-", "kernel"},
    [ITEM_WIDE] = {"range", "PushPop", "-", "wide-\xc3\xa9"},
    [ITEM_IO_READ] = {"range", "PushPop", SAMPLE_DOMAIN, "io.read"},
    [ITEM_IO_WRITE] = {"range", "PushPop", SAMPLE_DOMAIN, "io.write"},
    [ITEM_HANDOFF] = {"range", "StartEnd", "-", "handoff"},
    [ITEM_MAIN_SETUP] = {"range", "StartEnd", "-", "main.setup"},
    [ITEM_TICK] = {"mark", "-", "-", "tick"},
    [ITEM_CHECKPOINT] = {"mark", "-", SAMPLE_DOMAIN, "checkpoint"},
};

static _Atomic uint64_t sample_counts[ITEM_COUNT];

/* A worker's mailbox of start/end ranges to end. */
struct sample_mailbox {
	pthread_mutex_t lock;
	nvtxRangeId_t *ids;
	size_t n, cap;
};

struct sample_worker {
	pthread_t thread;
	int index;
	struct sample_mailbox box;
};

static struct sample_worker sample_workers[SAMPLE_THREADS];
static long sample_iters = 100;
static long sample_spin_us;
static nvtxDomainHandle_t sample_domain;
static nvtxStringHandle_t sample_str_read, sample_str_write;

/* Counts one emitted item. */
static void sample_count(enum sample_item item)
{
	atomic_fetch_add_explicit(&sample_counts[item], 1, memory_order_relaxed);
}

static uint64_t sample_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Busy-waits `us` microseconds (the "kernel" work). */
static void sample_spin(long us)
{
	if (us <= 0)
		return;
	uint64_t until = sample_now_ns() + (uint64_t)us * 1000u;
	while (sample_now_ns() < until)
		;
}

/* Event attributes with a message and a color; the caller adds more. */
static nvtxEventAttributes_t sample_attr(uint32_t color)
{
	nvtxEventAttributes_t a;
	memset(&a, 0, sizeof(a));
	a.version = NVTX_VERSION;
	a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
	a.colorType = NVTX_COLOR_ARGB;
	a.color = color;
	return a;
}

/* Posts a start/end range id to worker `to`'s mailbox. */
static void sample_post(int to, nvtxRangeId_t id)
{
	struct sample_mailbox *b = &sample_workers[to].box;
	pthread_mutex_lock(&b->lock);
	if (b->n < b->cap)
		b->ids[b->n++] = id;
	pthread_mutex_unlock(&b->lock);
}

/* Ends every range waiting in mailbox `b` on the calling thread. */
static void sample_drain(struct sample_mailbox *b)
{
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->n; i++) {
		nvtxRangeEnd(b->ids[i]);
		sample_count(ITEM_HANDOFF);
	}
	b->n = 0;
	pthread_mutex_unlock(&b->lock);
}

/* Sets the payload of `a` to `i` in the NVTX payload type chosen by i % 6. */
static void sample_payload(nvtxEventAttributes_t *a, long i)
{
	switch (i % 6) {
	case 0:
		a->payloadType = NVTX_PAYLOAD_TYPE_UNSIGNED_INT64;
		a->payload.ullValue = (uint64_t)i;
		break;
	case 1:
		a->payloadType = NVTX_PAYLOAD_TYPE_INT64;
		a->payload.llValue = -(int64_t)i;
		break;
	case 2:
		a->payloadType = NVTX_PAYLOAD_TYPE_DOUBLE;
		a->payload.dValue = (double)i / 4.0;
		break;
	case 3:
		a->payloadType = NVTX_PAYLOAD_TYPE_UNSIGNED_INT32;
		a->payload.uiValue = (uint32_t)i;
		break;
	case 4:
		a->payloadType = NVTX_PAYLOAD_TYPE_INT32;
		a->payload.iValue = -(int32_t)i;
		break;
	default:
		a->payloadType = NVTX_PAYLOAD_TYPE_FLOAT;
		a->payload.fValue = (float)i / 2.0f;
		break;
	}
}

/* One worker thread: names itself, then runs the iterations. */
static void *sample_worker_main(void *arg)
{
	struct sample_worker *w = arg;
	char name[32];
	snprintf(name, sizeof(name), "worker-%d", w->index);
	nvtxNameOsThreadA((uint32_t)gettid(), name);
	for (long i = 0; i < sample_iters; i++) {
		nvtxRangePushA("iteration");
		nvtxRangePushA("compute");
		nvtxEventAttributes_t k = sample_attr(0xff76b900u);
		k.category = 1;
		k.messageType = NVTX_MESSAGE_TYPE_ASCII;
		k.message.ascii = "kernel";
		nvtxRangePushEx(&k);
		sample_spin(sample_spin_us);
		nvtxRangePop();
		sample_count(ITEM_KERNEL);
		nvtxRangePop();
		sample_count(ITEM_COMPUTE);

		nvtxRangePushW(L"wide-\u00e9");
		nvtxRangePop();
		sample_count(ITEM_WIDE);

		nvtxMarkA("tick");
		sample_count(ITEM_TICK);

		bool even = i % 2 == 0;
		nvtxEventAttributes_t io = sample_attr(even ? 0xff1f77b4u : 0xffd62728u);
		io.category = 2;
		io.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
		io.message.registered = even ? sample_str_read : sample_str_write;
		sample_payload(&io, i);
		nvtxDomainRangePushEx(sample_domain, &io);
		nvtxDomainRangePop(sample_domain);
		sample_count(even ? ITEM_IO_READ : ITEM_IO_WRITE);

		if (i % 10 == 0) {
			nvtxEventAttributes_t cp = sample_attr(0xff9467bdu);
			cp.messageType = NVTX_MESSAGE_TYPE_ASCII;
			cp.message.ascii = "checkpoint";
			cp.payloadType = NVTX_PAYLOAD_TYPE_UNSIGNED_INT64;
			cp.payload.ullValue = (uint64_t)i;
			nvtxDomainMarkEx(sample_domain, &cp);
			sample_count(ITEM_CHECKPOINT);
		}

		sample_post((w->index + 1) % SAMPLE_THREADS, nvtxRangeStartA("handoff"));
		sample_drain(&w->box);

		nvtxRangePop();
		sample_count(ITEM_ITERATION);
	}
	return NULL;
}

/* Parses a non-negative decimal option value; exits with a message when it
 * is not one. */
static long sample_number(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0) {
		fprintf(stderr, "tstop-sample-nvtx: %s needs a non-negative number, not '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

/* --bench N: times N push/pop pairs of one name on the calling thread and
 * prints the mean cost of a pair. */
static int sample_bench(long n)
{
	for (int i = 0; i < 1000; i++) {
		nvtxRangePushA("bench");
		nvtxRangePop();
	}
	uint64_t t0 = sample_now_ns();
	for (long i = 0; i < n; i++) {
		nvtxRangePushA("bench");
		nvtxRangePop();
	}
	uint64_t t1 = sample_now_ns();
	printf("bench\tpushpop\t%ld\t%.2f\n", n, n ? (double)(t1 - t0) / (double)n : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	long bench = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			sample_iters = sample_number("-n", argv[++i]);
		} else if (!strcmp(argv[i], "--spin-us") && i + 1 < argc) {
			sample_spin_us = sample_number("--spin-us", argv[++i]);
		} else if (!strcmp(argv[i], "--bench") && i + 1 < argc) {
			bench = sample_number("--bench", argv[++i]);
		} else {
			fprintf(stderr, "usage: tstop-sample-nvtx [-n ITER] [--spin-us N] | --bench N\n");
			return 2;
		}
	}
	if (bench >= 0)
		return sample_bench(bench);

	nvtxNameOsThreadA((uint32_t)gettid(), "sample-main");
	nvtxRangeId_t setup = nvtxRangeStartA("main.setup");
	sample_domain = nvtxDomainCreateA(SAMPLE_DOMAIN);
	nvtxDomainNameCategoryA(sample_domain, 2, "io");
	nvtxNameCategoryA(1, "compute");
	sample_str_read = nvtxDomainRegisterStringA(sample_domain, "io.read");
	sample_str_write = nvtxDomainRegisterStringA(sample_domain, "io.write");

	for (int k = 0; k < SAMPLE_THREADS; k++) {
		struct sample_worker *w = &sample_workers[k];
		w->index = k;
		pthread_mutex_init(&w->box.lock, NULL);
		w->box.cap = (size_t)sample_iters * SAMPLE_THREADS + 1;
		w->box.ids = calloc(w->box.cap, sizeof(*w->box.ids));
		if (!w->box.ids) {
			fprintf(stderr, "tstop-sample-nvtx: out of memory\n");
			return 1;
		}
	}
	for (int k = 0; k < SAMPLE_THREADS; k++) {
		int rc =
		    pthread_create(&sample_workers[k].thread, NULL, sample_worker_main, &sample_workers[k]);
		if (rc) {
			fprintf(stderr, "tstop-sample-nvtx: pthread_create: %s\n", strerror(rc));
			return 1;
		}
	}
	for (int k = 0; k < SAMPLE_THREADS; k++)
		pthread_join(sample_workers[k].thread, NULL);
	/* Ranges posted after their receiver's last iteration end here. */
	for (int k = 0; k < SAMPLE_THREADS; k++)
		sample_drain(&sample_workers[k].box);
	nvtxRangeEnd(setup);
	sample_count(ITEM_MAIN_SETUP);

	uint64_t ranges = 0, marks = 0;
	printf("# tstop-sample-nvtx: %d threads, %ld iterations, spin %ld us\n", SAMPLE_THREADS, sample_iters,
	       sample_spin_us);
	printf("thread\tsample-main\n");
	for (int k = 0; k < SAMPLE_THREADS; k++)
		printf("thread\tworker-%d\n", k);
	for (int i = 0; i < ITEM_COUNT; i++) {
		const struct sample_desc *d = &sample_items[i];
		uint64_t n = atomic_load(&sample_counts[i]);
		printf("%s\t%s\t%s\t%s\t%llu\n", d->kind, d->style, d->domain, d->name,
		       (unsigned long long)n);
		if (!strcmp(d->kind, "range"))
			ranges += n;
		else
			marks += n;
	}
	printf("total\tranges\t-\t-\t%llu\n", (unsigned long long)ranges);
	printf("total\tmarks\t-\t-\t%llu\n", (unsigned long long)marks);
	for (int k = 0; k < SAMPLE_THREADS; k++)
		free(sample_workers[k].box.ids);
	return 0;
}
