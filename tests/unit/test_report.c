/*
 * test_report.c - unit tests of the `tstop stats` reports (report/report.h)
 * and their table, CSV and JSON forms (report/format.h).
 *
 * One small session is built by hand: three kernels (one mangled, one whose
 * name holds an escape sequence, a comma, quotes, a newline, a control byte
 * and a byte that is not UTF-8), an unfinished kernel that must be left out,
 * copies and a memset, API calls of two domains, push/pop and start/end
 * NVTX ranges, and a range name used both ways. Every expected number is computed here from the
 * durations and sizes the test put in (its own mean, median and sample
 * standard deviation), never through trace/summary.c. The JSON output is
 * checked by a small validating parser written here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/format.h"
#include "report/report.h"
#include "trace/session.h"

#define WEIRD_NAME     "bad\x1b[31mname,\"q\"\n\x01\xff"
#define MATMUL_MANGLED "_Z6matmulPKfS0_Pfi"
#define MATMUL_SHOWN   "matmul(float const*, float const*, float*, int)"

/* The test session and the ids the tests look at. */
struct fixture {
	struct trace_session *s;
	uint32_t stream7, stream13, thread;
};

/* Statistics of a list of values, computed the plain way. */
struct expect {
	double total, mean, median, min, max, stddev;
	uint64_t count;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Fills *x with the statistics of v[0 .. n-1] (n >= 1). */
static void expect_of(const double *v, size_t n, struct expect *x)
{
	double sorted[16];
	memcpy(sorted, v, n * sizeof(*v));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	memset(x, 0, sizeof(*x));
	x->count = n;
	for (size_t i = 0; i < n; i++)
		x->total += v[i];
	x->mean = x->total / (double)n;
	x->min = sorted[0];
	x->max = sorted[n - 1];
	x->median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
	double ss = 0;
	for (size_t i = 0; i < n; i++)
		ss += (v[i] - x->mean) * (v[i] - x->mean);
	x->stddev = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
}

static void assert_near(double a, double b)
{
	if (!(fabs(a - b) <= 1e-9 * (fabs(b) > 1 ? fabs(b) : 1)))
		fail_msg("%.17g != %.17g", a, b);
}

/* Appends an event; asserts it was taken. */
static void put(struct trace_session *s, const struct trace_event *ev)
{
	assert_int_equal(trace_session_append(s, ev), 0);
}

static void put_kernel(struct fixture *f, uint32_t track, const char *name, int64_t start, int64_t dur,
                       uint32_t launch, uint8_t flags)
{
	struct trace_event ev = {0};
	ev.kind = TRACE_KERNEL;
	ev.track = track;
	ev.name = trace_session_intern_cstr(f->s, name);
	ev.start = start;
	ev.end = start + dur;
	ev.correlation = (uint32_t)start;
	ev.flags = flags;
	ev.u.kernel.launch = launch;
	put(f->s, &ev);
}

static void put_copy(struct fixture *f, uint32_t track, unsigned kind, unsigned src, unsigned dst,
                     int64_t start, int64_t dur, uint64_t bytes)
{
	struct trace_event ev = {0};
	ev.kind = TRACE_MEMCPY;
	ev.track = track;
	ev.start = start;
	ev.end = start + dur;
	ev.sub = trace_memcpy_sub(kind, src, dst);
	ev.u.bytes = bytes;
	put(f->s, &ev);
}

static void put_host(struct fixture *f, uint8_t kind, const char *name, int64_t start, int64_t dur,
                     uint8_t flags)
{
	struct trace_event ev = {0};
	ev.kind = kind;
	ev.track = f->thread;
	ev.name = trace_session_intern_cstr(f->s, name);
	ev.start = start;
	ev.end = start + dur;
	ev.flags = flags;
	put(f->s, &ev);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->s = trace_session_new();
	struct trace_device d = {0};
	d.id = 0;
	d.api = TRACE_DEVICE_CUDA;
	d.name = trace_session_intern_cstr(f->s, "Test GPU");
	trace_session_set_device(f->s, &d);

	struct trace_track_info ti = {0};
	ti.kind = TRACE_TRACK_STREAM;
	ti.pid = 1;
	ti.context = 1;
	ti.stream = 7;
	f->stream7 = trace_session_add_track(f->s, &ti);
	ti.stream = 13;
	f->stream13 = trace_session_add_track(f->s, &ti);
	memset(&ti, 0, sizeof(ti));
	ti.kind = TRACE_TRACK_THREAD;
	ti.pid = 1;
	ti.tid = 1;
	f->thread = trace_session_add_track(f->s, &ti);

	struct trace_launch l = {{2, 3, 4}, {32, 8, 1}, 40, 1024, 2048, {0}};
	uint32_t launch = trace_session_add_launch(f->s, &l);

	put_kernel(f, f->stream7, MATMUL_MANGLED, 1000, 100, launch, 0);
	put_kernel(f, f->stream7, MATMUL_MANGLED, 2000, 200, launch, 0);
	put_kernel(f, f->stream7, MATMUL_MANGLED, 3000, 600, launch, 0);
	put_kernel(f, f->stream7, MATMUL_MANGLED, 9000, 99999, launch, TRACE_FLAG_OPEN);
	put_kernel(f, f->stream13, "relu_kernel", 1500, 50, 0, 0);
	put_kernel(f, f->stream13, "relu_kernel", 4000, 50, 0, 0);
	put_kernel(f, f->stream13, WEIRD_NAME, 5000, 10, 0, 0);
	put_copy(f, f->stream13, TRACE_COPY_HTOD, TRACE_MEM_PAGEABLE, TRACE_MEM_DEVICE, 6000, 500, 1000000);
	put_copy(f, f->stream13, TRACE_COPY_DTOH, TRACE_MEM_DEVICE, TRACE_MEM_PINNED, 7000, 1000, 2000000);
	struct trace_event ms = {0};
	ms.kind = TRACE_MEMSET;
	ms.track = f->stream7;
	ms.start = 8000;
	ms.end = 8250;
	ms.sub = TRACE_MEM_DEVICE;
	ms.u.bytes = 500000;
	put(f->s, &ms);

	put_host(f, TRACE_API, "cudaLaunchKernel", 990, 5, TRACE_API_CUDA_RUNTIME);
	put_host(f, TRACE_API, "cudaLaunchKernel", 1990, 7, TRACE_API_CUDA_RUNTIME);
	put_host(f, TRACE_API, "cudaLaunchKernel", 2990, 9, TRACE_API_CUDA_RUNTIME);
	put_host(f, TRACE_API, "cuLaunchKernel", 3990, 11, TRACE_API_CUDA_DRIVER);
	put_host(f, TRACE_API, "cudaMemcpyAsync", 5990, 20, TRACE_API_CUDA_RUNTIME);
	put_host(f, TRACE_API, "cudaMemcpyAsync", 6990, 30, TRACE_API_CUDA_RUNTIME);

	put_host(f, TRACE_NVTX_RANGE, "step", 900, 1000, 0);
	put_host(f, TRACE_NVTX_RANGE, "step", 2900, 3000, 0);
	put_host(f, TRACE_NVTX_RANGE, "epoch", 800, 10000, TRACE_FLAG_NVTX_STARTEND);
	put_host(f, TRACE_NVTX_RANGE, "mixed", 950, 10, 0);
	put_host(f, TRACE_NVTX_RANGE, "mixed", 960, 30, TRACE_FLAG_NVTX_STARTEND);
	put_host(f, TRACE_NVTX_MARK, "not a range", 970, 0, 0);
	trace_session_finish(f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	trace_session_delete(f->s);
	free(f);
	return 0;
}

/* Builds report `id` and checks its row count. */
static struct report *build(struct fixture *f, enum report_id id, size_t rows)
{
	struct report *r = report_build(f->s, id);
	assert_non_null(r);
	assert_int_equal(report_row_count(r), rows);
	return r;
}

static void assert_text(const struct report_value *v, const char *s, size_t len)
{
	assert_int_equal(v->type, REPORT_TEXT);
	assert_int_equal(v->len, len);
	assert_memory_equal(v->s, s, len);
}

static void assert_cstr(const struct report_value *v, const char *s)
{
	assert_text(v, s, strlen(s));
}

static void assert_int_cell(const struct report_value *v, int64_t i)
{
	assert_int_equal(v->type, REPORT_INT);
	assert_int_equal(v->i, i);
}

static void assert_float_cell(const struct report_value *v, double d)
{
	assert_int_equal(v->type, REPORT_FLOAT);
	assert_near(v->f, d);
}

/* Checks the eight statistics columns of a duration summary row. */
static void assert_duration_row(const struct report_value *v, const double *durs, size_t n, double grand)
{
	struct expect x;
	expect_of(durs, n, &x);
	assert_float_cell(&v[0], x.total / grand * 100);
	assert_int_cell(&v[1], (int64_t)x.total);
	assert_int_cell(&v[2], (int64_t)x.count);
	assert_float_cell(&v[3], x.mean);
	assert_float_cell(&v[4], x.median);
	assert_int_cell(&v[5], (int64_t)x.min);
	assert_int_cell(&v[6], (int64_t)x.max);
	assert_float_cell(&v[7], x.stddev);
}

static void test_find(void **state)
{
	(void)state;
	assert_int_equal(report_find("cuda_gpu_kern_sum"), REPORT_GPU_KERN_SUM);
	assert_int_equal(report_find("gpu_kern_sum"), REPORT_GPU_KERN_SUM);
	assert_int_equal(report_find("cuda_api_sum"), REPORT_API_SUM);
	assert_int_equal(report_find("api_sum"), REPORT_API_SUM);
	assert_int_equal(report_find("gpu_mem_time_sum"), REPORT_GPU_MEM_TIME_SUM);
	assert_int_equal(report_find("cuda_gpu_mem_size_sum"), REPORT_GPU_MEM_SIZE_SUM);
	assert_int_equal(report_find("nvtx_sum"), REPORT_NVTX_SUM);
	assert_int_equal(report_find("gpu_trace"), REPORT_GPU_TRACE);
	assert_int_equal(report_find("cuda_nvtx_sum"), -1);
	assert_int_equal(report_find("kern_sum"), -1);
	assert_int_equal(report_find(""), -1);
	for (int i = 0; i < REPORT_COUNT; i++)
		assert_int_equal(report_find(report_def((enum report_id)i)->name), i);
}

static void test_kern_sum(void **state)
{
	struct fixture *f = *state;
	struct report *r = build(f, REPORT_GPU_KERN_SUM, 3);
	const struct report_def *d = report_get_def(r);
	assert_int_equal(d->ncols, 9);
	assert_string_equal(d->cols[0].title, "Time (%)");
	assert_string_equal(d->cols[2].title, "Instances");
	assert_string_equal(d->cols[8].title, "Name");
	struct report_value v[9];
	double grand = 100 + 200 + 600 + 50 + 50 + 10; /* the open kernel is left out */
	static const double matmul[] = {100, 200, 600}, relu[] = {50, 50}, weird[] = {10};
	report_row(r, 0, v);
	assert_duration_row(v, matmul, 3, grand);
	assert_cstr(&v[8], MATMUL_SHOWN);
	report_row(r, 1, v);
	assert_duration_row(v, relu, 2, grand);
	assert_cstr(&v[8], "relu_kernel");
	report_row(r, 2, v);
	assert_duration_row(v, weird, 1, grand);
	assert_cstr(&v[8], WEIRD_NAME);
	report_free(r);
}

static void test_api_sum(void **state)
{
	struct fixture *f = *state;
	struct report *r = build(f, REPORT_API_SUM, 3);
	assert_string_equal(report_get_def(r)->cols[2].title, "Num Calls");
	struct report_value v[9];
	double grand = 5 + 7 + 9 + 11 + 20 + 30;
	static const double memcpy_async[] = {20, 30}, launch[] = {5, 7, 9}, cu_launch[] = {11};
	report_row(r, 0, v);
	assert_duration_row(v, memcpy_async, 2, grand);
	assert_cstr(&v[8], "cudaMemcpyAsync");
	report_row(r, 1, v);
	assert_duration_row(v, launch, 3, grand);
	assert_cstr(&v[8], "cudaLaunchKernel");
	report_row(r, 2, v);
	assert_duration_row(v, cu_launch, 1, grand); /* the driver domain counts too */
	assert_cstr(&v[8], "cuLaunchKernel");
	report_free(r);
}

static void test_mem_sums(void **state)
{
	struct fixture *f = *state;
	struct report *r = build(f, REPORT_GPU_MEM_TIME_SUM, 3);
	assert_string_equal(report_get_def(r)->cols[2].title, "Count");
	assert_string_equal(report_get_def(r)->cols[8].title, "Operation");
	struct report_value v[9];
	double grand = 500 + 1000 + 250;
	static const double dtoh[] = {1000}, htod[] = {500}, mset[] = {250};
	report_row(r, 0, v);
	assert_duration_row(v, dtoh, 1, grand);
	assert_cstr(&v[8], "[CUDA memcpy Device-to-Host]");
	report_row(r, 1, v);
	assert_duration_row(v, htod, 1, grand);
	assert_cstr(&v[8], "[CUDA memcpy Host-to-Device]");
	report_row(r, 2, v);
	assert_duration_row(v, mset, 1, grand);
	assert_cstr(&v[8], "[CUDA memset]");
	report_free(r);

	r = build(f, REPORT_GPU_MEM_SIZE_SUM, 3);
	const struct report_def *d = report_get_def(r);
	assert_int_equal(d->ncols, 8);
	assert_string_equal(d->cols[0].title, "Total (MB)");
	assert_string_equal(d->cols[6].title, "StdDev (MB)");
	/* MB are 1e6 bytes, as nsys counts them. */
	static const struct {
		double mb;
		const char *op;
	} rows[] = {{2.0, "[CUDA memcpy Device-to-Host]"},
	            {1.0, "[CUDA memcpy Host-to-Device]"},
	            {0.5, "[CUDA memset]"}};
	for (size_t i = 0; i < 3; i++) {
		report_row(r, i, v);
		assert_float_cell(&v[0], rows[i].mb);
		assert_int_cell(&v[1], 1);
		for (int c = 2; c <= 5; c++)
			assert_float_cell(&v[c], rows[i].mb);
		assert_float_cell(&v[6], 0);
		assert_cstr(&v[7], rows[i].op);
	}
	report_free(r);
}

static void test_nvtx_sum(void **state)
{
	struct fixture *f = *state;
	/* As in nsys: one row per (name, style); "mixed" has one of each. */
	struct report *r = build(f, REPORT_NVTX_SUM, 4);
	const struct report_def *d = report_get_def(r);
	assert_int_equal(d->ncols, 10);
	assert_string_equal(d->cols[8].title, "Style");
	assert_string_equal(d->cols[9].title, "Range");
	struct report_value v[10];
	double grand = 1000 + 3000 + 10000 + 10 + 30;
	static const double epoch[] = {10000}, step[] = {1000, 3000}, mixed_se[] = {30}, mixed_pp[] = {10};
	report_row(r, 0, v);
	assert_duration_row(v, epoch, 1, grand);
	assert_cstr(&v[8], "StartEnd");
	assert_cstr(&v[9], "epoch");
	report_row(r, 1, v);
	assert_duration_row(v, step, 2, grand);
	assert_cstr(&v[8], "PushPop");
	assert_cstr(&v[9], "step");
	report_row(r, 2, v);
	assert_duration_row(v, mixed_se, 1, grand);
	assert_cstr(&v[8], "StartEnd");
	assert_cstr(&v[9], "mixed");
	report_row(r, 3, v);
	assert_duration_row(v, mixed_pp, 1, grand);
	assert_cstr(&v[8], "PushPop");
	assert_cstr(&v[9], "mixed");
	report_free(r);

	/* Equal totals: by name, then PushPop before StartEnd, whatever the
	 * order the names were interned in; open ranges left out. */
	struct trace_session *s = trace_session_new();
	struct trace_track_info ti = {0};
	ti.kind = TRACE_TRACK_THREAD;
	ti.pid = 1;
	ti.tid = 1;
	uint32_t thread = trace_session_add_track(s, &ti);
	static const struct {
		const char *name;
		uint8_t flags;
		int64_t dur;
	} ranges[] = {
	    {"zeta", TRACE_FLAG_NVTX_STARTEND, 7},
	    {"zeta", 0, 7},
	    {"alpha", TRACE_FLAG_NVTX_STARTEND, 7},
	    {"big", TRACE_FLAG_NVTX_STARTEND, 9},
	    {"big", 0, 1},
	    {"zeta", TRACE_FLAG_OPEN, 100},
	    {"beta", TRACE_FLAG_NVTX_STARTEND | TRACE_FLAG_OPEN, 50},
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		struct trace_event ev = {0};
		ev.kind = TRACE_NVTX_RANGE;
		ev.track = thread;
		ev.name = trace_session_intern_cstr(s, ranges[i].name);
		ev.start = (int64_t)i * 1000;
		ev.end = ev.start + ranges[i].dur;
		ev.flags = ranges[i].flags;
		assert_int_equal(trace_session_append(s, &ev), 0);
	}
	trace_session_finish(s);
	r = report_build(s, REPORT_NVTX_SUM);
	static const struct {
		const char *style, *name;
		int64_t total;
	} expect[] = {
	    {"StartEnd", "big", 9},  {"StartEnd", "alpha", 7}, {"PushPop", "zeta", 7},
	    {"StartEnd", "zeta", 7}, {"PushPop", "big", 1},
	};
	assert_int_equal(report_row_count(r), 5);
	for (size_t i = 0; i < 5; i++) {
		report_row(r, i, v);
		assert_int_cell(&v[1], expect[i].total);
		assert_int_cell(&v[2], 1);
		assert_float_cell(&v[0], (double)expect[i].total / 31 * 100);
		assert_cstr(&v[8], expect[i].style);
		assert_cstr(&v[9], expect[i].name);
	}
	report_free(r);
	trace_session_delete(s);
}

static void test_gpu_trace(void **state)
{
	struct fixture *f = *state;
	struct report *r = build(f, REPORT_GPU_TRACE, 9);
	const struct report_def *d = report_get_def(r);
	static const char *const titles[] = {"Start (ns)",   "Duration (ns)",
	                                     "CorrId",       "GrdX",
	                                     "GrdY",         "GrdZ",
	                                     "BlkX",         "BlkY",
	                                     "BlkZ",         "Reg/Trd",
	                                     "StcSMem (MB)", "DymSMem (MB)",
	                                     "Bytes (MB)",   "Throughput (MBps)",
	                                     "SrcMemKd",     "DstMemKd",
	                                     "Device",       "Ctx",
	                                     "Strm",         "Name"};
	assert_int_equal(d->ncols, 20);
	for (size_t c = 0; c < 20; c++)
		assert_string_equal(d->cols[c].title, titles[c]);
	/* Start order across both streams; the open kernel is not listed. */
	static const int64_t starts[] = {1000, 1500, 2000, 3000, 4000, 5000, 6000, 7000, 8000};
	struct report_value v[20];
	for (size_t i = 0; i < 9; i++) {
		report_row(r, i, v);
		assert_int_cell(&v[0], starts[i]);
	}
	report_row(r, 0, v); /* matmul with its launch configuration */
	assert_int_cell(&v[1], 100);
	assert_int_cell(&v[2], 1000);
	static const int64_t cfg[] = {2, 3, 4, 32, 8, 1, 40};
	for (size_t c = 0; c < 7; c++)
		assert_int_cell(&v[3 + c], cfg[c]);
	assert_float_cell(&v[10], 1024 / 1e6);
	assert_float_cell(&v[11], 2048 / 1e6);
	for (size_t c = 12; c <= 15; c++)
		assert_int_equal(v[c].type, REPORT_NULL);
	assert_cstr(&v[16], "Test GPU (0)");
	assert_int_cell(&v[17], 1);
	assert_int_cell(&v[18], 7);
	assert_cstr(&v[19], MATMUL_SHOWN);

	report_row(r, 1, v); /* relu: no launch configuration recorded */
	for (size_t c = 3; c <= 11; c++)
		assert_int_equal(v[c].type, REPORT_NULL);
	assert_int_cell(&v[18], 13);

	report_row(r, 6, v); /* the host-to-device copy */
	assert_int_equal(v[3].type, REPORT_NULL);
	assert_float_cell(&v[12], 1.0);
	assert_float_cell(&v[13], 1.0 / (500 / 1e9)); /* MB per second */
	assert_cstr(&v[14], "Pageable");
	assert_cstr(&v[15], "Device");
	assert_cstr(&v[19], "[CUDA memcpy Host-to-Device]");

	report_row(r, 8, v); /* the memset */
	assert_float_cell(&v[12], 0.5);
	assert_int_equal(v[14].type, REPORT_NULL);
	assert_cstr(&v[15], "Device");
	assert_cstr(&v[19], "[CUDA memset]");
	report_free(r);
}

static void test_empty_session(void **state)
{
	(void)state;
	struct trace_session *s = trace_session_new();
	trace_session_finish(s);
	for (int i = 0; i < REPORT_COUNT; i++) {
		struct report *r = report_build(s, (enum report_id)i);
		assert_int_equal(report_row_count(r), 0);
		char *buf = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);
		struct report_writer w;
		report_writer_init(&w, out, REPORT_FORMAT_TABLE, false);
		assert_int_equal(report_writer_add(&w, r, NULL), 0);
		assert_int_equal(report_writer_finish(&w, NULL), 0);
		fclose(out);
		assert_non_null(strstr(buf, "SKIPPED: the session holds no"));
		free(buf);
		report_free(r);
	}
	trace_session_delete(s);
}

/* Writes reports `ids` of the fixture in `format` and returns the bytes
 * (caller frees); *len gets their number. */
static char *render(struct fixture *f, const enum report_id *ids, size_t n, enum report_format format,
                    size_t *len)
{
	char *buf = NULL;
	FILE *out = open_memstream(&buf, len);
	assert_non_null(out);
	struct report_writer w;
	report_writer_init(&w, out, format, n > 1);
	for (size_t i = 0; i < n; i++) {
		struct report *r = report_build(f->s, ids[i]);
		assert_int_equal(report_writer_add(&w, r, NULL), 0);
		report_free(r);
	}
	assert_int_equal(report_writer_finish(&w, NULL), 0);
	fclose(out);
	return buf;
}

/* The line of `text` that contains `needle`, copied into a new string. */
static char *line_with(const char *text, const char *needle)
{
	const char *p = strstr(text, needle);
	if (!p)
		fail_msg("no line contains \"%s\"", needle);
	const char *b = p, *e = p;
	while (b > text && b[-1] != '\n')
		b--;
	while (*e && *e != '\n')
		e++;
	char *line = malloc((size_t)(e - b) + 1);
	memcpy(line, b, (size_t)(e - b));
	line[e - b] = '\0';
	return line;
}

static void test_table(void **state)
{
	struct fixture *f = *state;
	enum report_id id = REPORT_GPU_KERN_SUM;
	size_t len;
	char *out = render(f, &id, 1, REPORT_FORMAT_TABLE, &len);
	assert_non_null(strstr(out, " ** CUDA GPU Kernel Summary (cuda_gpu_kern_sum):\n\n"));
	/* Header and the first row, laid out the way nsys does: one leading
	 * space, two between columns, numbers right-aligned to the header. */
	char expect[512];
	snprintf(expect, sizeof(expect), " %s  %s  %s  %s  %s  %s  %s  %s  %s", "Time (%)", "Total Time (ns)",
	         "Instances", "Avg (ns)", "Med (ns)", "Min (ns)", "Max (ns)", "StdDev (ns)", "Name");
	char *line = line_with(out, "Total Time (ns)");
	assert_string_equal(line, expect);
	free(line);
	struct expect x;
	static const double matmul[] = {100, 200, 600};
	expect_of(matmul, 3, &x);
	char pct[32], mean[32], med[32], sd[32];
	snprintf(pct, sizeof(pct), "%.1f", x.total / 1010 * 100);
	snprintf(mean, sizeof(mean), "%.1f", x.mean);
	snprintf(med, sizeof(med), "%.1f", x.median);
	snprintf(sd, sizeof(sd), "%.1f", x.stddev);
	snprintf(expect, sizeof(expect), " %8s  %15s  %9s  %8s  %8s  %8s  %8s  %11s  %s", pct, "900", "3",
	         mean, med, "100", "600", sd, MATMUL_SHOWN);
	line = line_with(out, MATMUL_SHOWN);
	assert_string_equal(line, expect);
	free(line);
	/* The hostile name is escaped: no ESC, no control byte, no invalid
	 * UTF-8 reaches the output. */
	assert_non_null(strstr(out, "bad\\x1b[31mname,\"q\"\\n\\x01\\xff\n"));
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];
		assert_true(c == '\n' || (c >= 0x20 && c < 0x7f));
	}
	free(out);

	/* Thousands separators in table form, not in CSV. */
	id = REPORT_GPU_TRACE;
	out = render(f, &id, 1, REPORT_FORMAT_TABLE, &len);
	assert_non_null(strstr(out, "2,000,000.000"));
	assert_non_null(strstr(out, "1,000"));
	line = line_with(out, "Start (ns)");
	assert_memory_equal(line, " Start (ns)  Duration (ns)  CorrId", 34);
	free(line);
	free(out);
	out = render(f, &id, 1, REPORT_FORMAT_CSV, &len);
	assert_null(strstr(out, "2,000,000"));
	assert_non_null(strstr(out, ",2000000.0,"));
	free(out);
}

static void test_csv(void **state)
{
	struct fixture *f = *state;
	enum report_id id = REPORT_GPU_KERN_SUM;
	size_t len;
	char *out = render(f, &id, 1, REPORT_FORMAT_CSV, &len);
	/* A single report: header row first, nothing before it. */
	const char *header =
	    "Time (%),Total Time (ns),Instances,Avg (ns),Med (ns),Min (ns),Max (ns),StdDev (ns),Name\n";
	assert_memory_equal(out, header, strlen(header));
	/* RFC 4180: the field holding a comma and quotes is quoted, quotes
	 * doubled; control bytes and the byte that is not UTF-8 are escaped
	 * as in table form, whatever the output is, so no line break is left. */
	assert_non_null(strstr(out, ",\"bad\\x1b[31mname,\"\"q\"\"\\n\\x01\\xff\"\n"));
	for (size_t i = 0; i < len; i++)
		assert_true(out[i] == '\n' ||
		            ((unsigned char)out[i] >= 0x20 && (unsigned char)out[i] < 0x7f));
	/* The matmul row, numbers without separators. */
	char *line = line_with(out, "\"matmul(");
	struct expect x;
	static const double matmul[] = {100, 200, 600};
	expect_of(matmul, 3, &x);
	/* Floats are written in their shortest exact form: compare by value. */
	double pct, sd;
	char name[128];
	assert_int_equal(sscanf(line, "%lf,900,3,300.0,200.0,100,600,%lf,\"%127[^\"]\"", &pct, &sd, name), 3);
	assert_near(pct, x.total / 1010 * 100);
	assert_near(sd, x.stddev);
	assert_string_equal(name, MATMUL_SHOWN);
	free(line);
	free(out);

	/* Several reports: sections named and separated by an empty line. */
	enum report_id two[] = {REPORT_GPU_MEM_TIME_SUM, REPORT_GPU_MEM_SIZE_SUM};
	out = render(f, two, 2, REPORT_FORMAT_CSV, &len);
	assert_memory_equal(out, "cuda_gpu_mem_time_sum\nTime (%),", 31);
	assert_non_null(strstr(out, "\n\ncuda_gpu_mem_size_sum\nTotal (MB),Count,"));
	assert_non_null(strstr(out, "\n2.0,1,2.0,2.0,2.0,2.0,0.0,[CUDA memcpy Device-to-Host]\n"));
	free(out);
}

/* --- a small validating JSON parser ------------------------------------------ */

struct json {
	const char *p, *end;
	int strings, objects, arrays;
};

static bool json_value(struct json *j);

static void json_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

static bool json_lit(struct json *j, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n))
		return false;
	j->p += n;
	return true;
}

/* A string: only valid escapes, no raw control bytes, valid UTF-8. */
static bool json_string(struct json *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		if (c < 0x20)
			return false;
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end)
				return false;
			if (*j->p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (j->p + i >= j->end || !strchr("0123456789abcdefABCDEF", j->p[i]))
						return false;
				j->p += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", *j->p))
				return false;
			j->p++;
			continue;
		}
		size_t seq = c < 0x80                 ? 1
		             : c >= 0xc2 && c <= 0xdf ? 2
		             : c >= 0xe0 && c <= 0xef ? 3
		             : c >= 0xf0 && c <= 0xf4 ? 4
		                                      : 0;
		if (!seq || (size_t)(j->end - j->p) < seq)
			return false;
		for (size_t i = 1; i < seq; i++)
			if (((unsigned char)j->p[i] & 0xc0) != 0x80)
				return false;
		j->p += seq;
	}
	if (j->p >= j->end)
		return false;
	j->p++;
	j->strings++;
	return true;
}

static bool json_number(struct json *j)
{
	const char *s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	while (j->p < j->end && strchr("0123456789.eE+-", *j->p))
		j->p++;
	if (j->p == s)
		return false;
	char buf[64];
	size_t n = (size_t)(j->p - s);
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *e;
	strtod(buf, &e);
	return *e == '\0';
}

static bool json_container(struct json *j, char open, char close)
{
	j->p++;
	json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		json_ws(j);
		if (open == '{') {
			if (!json_string(j))
				return false;
			json_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return false;
			j->p++;
			json_ws(j);
		}
		if (!json_value(j))
			return false;
		json_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return true;
		}
		return false;
	}
}

static bool json_value(struct json *j)
{
	json_ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{':
		j->objects++;
		return json_container(j, '{', '}');
	case '[':
		j->arrays++;
		return json_container(j, '[', ']');
	case '"':
		return json_string(j);
	case 'n':
		return json_lit(j, "null");
	case 't':
		return json_lit(j, "true");
	case 'f':
		return json_lit(j, "false");
	default:
		return json_number(j);
	}
}

/* Whether buf[0 .. len-1] is exactly one valid JSON document. */
static bool json_valid(const char *buf, size_t len, struct json *j)
{
	memset(j, 0, sizeof(*j));
	j->p = buf;
	j->end = buf + len;
	if (!json_value(j))
		return false;
	json_ws(j);
	return j->p == j->end;
}

static void test_json_parser_rejects(void **state)
{
	(void)state;
	struct json j;
	static const char *const bad[] = {"{",         "{\"a\" 1}",        "[1,]", "\"a\x01\"",
	                                  "\"\\x41\"", "{\"a\":\"\xff\"}", "[1] x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(json_valid(bad[i], strlen(bad[i]), &j));
	static const char good[] = "{\"a\": [1, -2.5e3, null, \"\\u001b\"]}";
	assert_true(json_valid(good, strlen(good), &j));
}

static void test_json(void **state)
{
	struct fixture *f = *state;
	enum report_id all[REPORT_COUNT];
	for (int i = 0; i < REPORT_COUNT; i++)
		all[i] = (enum report_id)i;
	size_t len;
	char *out = render(f, all, REPORT_COUNT, REPORT_FORMAT_JSON, &len);
	struct json j;
	if (!json_valid(out, len, &j))
		fail_msg("invalid JSON near offset %td: %.40s", j.p - out, j.p);
	/* The document, one object per report, one object per row. */
	size_t rows = 3 + 3 + 3 + 3 + 4 + 9;
	assert_int_equal(j.objects, 1 + REPORT_COUNT + (int)rows);
	for (int i = 0; i < REPORT_COUNT; i++) {
		char key[64];
		snprintf(key, sizeof(key), "\"%s\": {", report_def((enum report_id)i)->name);
		assert_non_null(strstr(out, key));
	}
	/* Every byte of the hostile name is there, escaped. */
	assert_non_null(strstr(out, "\"Name\": \"bad\\u001b[31mname,\\\"q\\\"\\n\\u0001\\\\xff\""));
	assert_non_null(strstr(out, "\"Name\": \"" MATMUL_SHOWN "\""));
	assert_non_null(strstr(out, "\"Instances\": 3, "));
	assert_non_null(strstr(out, "\"SrcMemKd\": null"));
	free(out);

	/* No report at all is still a document. */
	out = render(f, all, 0, REPORT_FORMAT_JSON, &len);
	assert_true(json_valid(out, len, &j));
	free(out);
}

/* What report_write_text makes of `in` (len bytes); caller frees. Its
 * return value (the columns) must be the length of what it wrote, as
 * everything written is ASCII or one column per character. */
static char *escaped(const char *in, size_t len, size_t *cols)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *out = open_memstream(&buf, &n);
	assert_non_null(out);
	*cols = report_write_text(out, in, len);
	fclose(out);
	return buf;
}

static void test_escape(void **state)
{
	(void)state;
	/* Valid UTF-8 passes; C0 and C1 controls, DEL, bidi and format
	 * controls, overlong forms, surrogates and cut sequences do not. */
	static const struct {
		const char *in;
		const char *shown;
		size_t cols;
	} cases[] = {
	    {"caf\xc3\xa9", "caf\xc3\xa9", 4},
	    {"\xe2\x86\x92 ok", "\xe2\x86\x92 ok", 4},
	    {"\xf0\x9f\x9a\x80", "\xf0\x9f\x9a\x80", 1},
	    {"a\xc2\x9b"
	     "31m",
	     "a\\xc2\\x9b31m", 12},
	    {"nel\xc2\x85", "nel\\xc2\\x85", 11},
	    {"\xc2\xa0nbsp", "\xc2\xa0nbsp", 5},
	    {"\xc0\xaf", "\\xc0\\xaf", 8},
	    {"\xed\xa0\x80", "\\xed\\xa0\\x80", 12},
	    {"\xe2\x86", "\\xe2\\x86", 8},
	    {"tab\there\x7f", "tab\\there\\x7f", 13},
	    {"a\nb\rc", "a\\nb\\rc", 7},
	    {"\x1b[2J", "\\x1b[2J", 7},
	    {"back\\slash", "back\\slash", 10},
	    /* Bidi controls: RLO, LRE, PDF, LRI, PDI, LRM, RLM, ALM; line and
	     * paragraph separators. */
	    {"abc\xe2\x80\xae"
	     "fed",
	     "abc\\u{202E}fed", 14},
	    {"\xe2\x80\xaa\xe2\x80\xac", "\\u{202A}\\u{202C}", 16},
	    {"\xe2\x81\xa6x\xe2\x81\xa9", "\\u{2066}x\\u{2069}", 17},
	    {"\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "\\u{200E}\\u{200F}\\u{061C}", 24},
	    {"\xe2\x80\xa8\xe2\x80\xa9", "\\u{2028}\\u{2029}", 16},
	    /* Their neighbours are ordinary characters. */
	    {"\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x80\x8d\xd8\x9b",
	     "\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x80\x8d\xd8\x9b", 5},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t cols;
		char *buf = escaped(cases[i].in, strlen(cases[i].in), &cols);
		assert_string_equal(buf, cases[i].shown);
		assert_int_equal(cols, cases[i].cols);
		free(buf);
	}
	/* Bytes after a NUL are text too. */
	size_t cols;
	char *buf = escaped("a\0b", 3, &cols);
	assert_int_equal(cols, 6);
	assert_memory_equal(buf, "a\\x00b", 7);
	free(buf);

	/* The step function itself: a safe run, then one escape. */
	char esc[REPORT_ESCAPE_MAX];
	static const char text[] = "ok \xc3\xa9\xe2\x80\xae!";
	assert_int_equal(report_escape_step(text, strlen(text), esc, &cols), 5);
	assert_string_equal(esc, "");
	assert_int_equal(cols, 4);
	assert_int_equal(report_escape_step(text + 5, strlen(text) - 5, esc, &cols), 3);
	assert_string_equal(esc, "\\u{202E}");
	assert_int_equal(cols, 8);
	assert_true(report_escape_code_point(0x9f));
	assert_false(report_escape_code_point(0xa0));
	assert_true(report_escape_code_point(0x202e));
	assert_false(report_escape_code_point(0x202f));
}

/* CSV and JSON escape bidi and C1 controls too; CSV needs no quoting for
 * line breaks, which it shows as \n. */
static void test_escape_formats(void **state)
{
	(void)state;
	struct trace_session *s = trace_session_new();
	struct trace_track_info ti = {0};
	ti.kind = TRACE_TRACK_STREAM;
	ti.pid = 1;
	ti.context = 1;
	ti.stream = 1;
	uint32_t track = trace_session_add_track(s, &ti);
	static const char name[] = "k\xe2\x80\xae\xc2\x85\xe2\x80\xa8\t\n\x7f\xe2\x81\xa6";
	struct trace_event ev = {0};
	ev.kind = TRACE_KERNEL;
	ev.track = track;
	ev.name = trace_session_intern_cstr(s, name);
	ev.start = 10;
	ev.end = 20;
	assert_int_equal(trace_session_append(s, &ev), 0);
	trace_session_finish(s);
	static const struct {
		enum report_format format;
		const char *expect;
	} cases[] = {
	    {REPORT_FORMAT_TABLE, "k\\u{202E}\\xc2\\x85\\u{2028}\\t\\n\\x7f\\u{2066}\n"},
	    {REPORT_FORMAT_CSV, ",k\\u{202E}\\xc2\\x85\\u{2028}\\t\\n\\x7f\\u{2066}\n"},
	    {REPORT_FORMAT_JSON, "\"Name\": \"k\\u202e\\u0085\\u2028\\t\\n\\u007f\\u2066\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct report *r = report_build(s, REPORT_GPU_KERN_SUM);
		char *buf = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);
		struct report_writer w;
		report_writer_init(&w, out, cases[i].format, false);
		assert_int_equal(report_writer_add(&w, r, NULL), 0);
		assert_int_equal(report_writer_finish(&w, NULL), 0);
		fclose(out);
		report_free(r);
		if (!strstr(buf, cases[i].expect))
			fail_msg("format %d: no \"%s\" in:\n%s", (int)cases[i].format, cases[i].expect, buf);
		/* Nothing but newlines and printable ASCII: every other
		 * character of the name was escaped. */
		for (size_t k = 0; k < len; k++)
			assert_true(buf[k] == '\n' ||
			            ((unsigned char)buf[k] >= 0x20 && (unsigned char)buf[k] < 0x7f));
		if (cases[i].format == REPORT_FORMAT_JSON) {
			struct json j;
			assert_true(json_valid(buf, len, &j));
		}
		free(buf);
	}
	trace_session_delete(s);
}

/* Values beyond int64: a total of 1.2e19 ns is clamped to INT64_MAX, never
 * wrapped to a negative number; spans are exact over the whole int64 range. */
static void test_wide_values(void **state)
{
	(void)state;
	struct trace_session *s = trace_session_new();
	struct trace_track_info ti = {0};
	ti.kind = TRACE_TRACK_STREAM;
	ti.pid = 1;
	ti.context = 1;
	ti.stream = 1;
	uint32_t track = trace_session_add_track(s, &ti);
	const int64_t dur = 4000000000000000000;
	for (int i = 0; i < 3; i++) {
		struct trace_event ev = {0};
		ev.kind = TRACE_KERNEL;
		ev.track = track;
		ev.name = trace_session_intern_cstr(s, "long");
		ev.start = -4500000000000000000 + i;
		ev.end = ev.start + dur;
		assert_int_equal(trace_session_append(s, &ev), 0);
	}
	trace_session_finish(s);
	struct report *r = report_build(s, REPORT_GPU_KERN_SUM);
	assert_int_equal(report_row_count(r), 1);
	struct report_value v[9];
	report_row(r, 0, v);
	assert_int_cell(&v[1], INT64_MAX);
	assert_int_cell(&v[2], 3);
	assert_int_cell(&v[5], dur);
	assert_int_cell(&v[6], dur);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct report_writer w;
	report_writer_init(&w, out, REPORT_FORMAT_CSV, false);
	assert_int_equal(report_writer_add(&w, r, NULL), 0);
	assert_int_equal(report_writer_finish(&w, NULL), 0);
	fclose(out);
	assert_non_null(strstr(buf, ",9223372036854775807,3,"));
	assert_null(strstr(buf, ",-"));
	free(buf);
	report_free(r);
	r = report_build(s, REPORT_GPU_TRACE);
	struct report_value t[20];
	report_row(r, 0, t);
	assert_int_cell(&t[0], -4500000000000000000);
	assert_int_cell(&t[1], dur);
	report_free(r);
	trace_session_delete(s);

	assert_true(report_span_ns(INT64_MIN, INT64_MAX) == UINT64_MAX);
	assert_true(report_span_ns(-5, 5) == 10);
	assert_true(report_span_ns(-4500000000000000000, 4500000000000000000) == 9000000000000000000u);
	assert_true(report_span_ns(7, 7) == 0);
	assert_true(report_span_ns(8, 7) == 0);
}

static void test_format_parse(void **state)
{
	(void)state;
	enum report_format fmt;
	assert_int_equal(report_format_parse("table", &fmt), 0);
	assert_int_equal(fmt, REPORT_FORMAT_TABLE);
	assert_int_equal(report_format_parse("csv", &fmt), 0);
	assert_int_equal(fmt, REPORT_FORMAT_CSV);
	assert_int_equal(report_format_parse("json", &fmt), 0);
	assert_int_equal(fmt, REPORT_FORMAT_JSON);
	assert_int_equal(report_format_parse("JSON", &fmt), -1);
	assert_int_equal(report_format_parse("", &fmt), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_find),
	    cmocka_unit_test_setup_teardown(test_kern_sum, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_sum, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mem_sums, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nvtx_sum, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gpu_trace, setup, teardown),
	    cmocka_unit_test(test_empty_session),
	    cmocka_unit_test_setup_teardown(test_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_csv, setup, teardown),
	    cmocka_unit_test(test_json_parser_rejects),
	    cmocka_unit_test_setup_teardown(test_json, setup, teardown),
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_escape_formats),
	    cmocka_unit_test(test_wide_values),
	    cmocka_unit_test(test_format_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
