/*
 * opencl_sample.c - tstop-sample-opencl: a small OpenCL program that tstop
 * captures in its tests (tests/cli/record_opencl.sh) and quick start.
 *
 * It uses the first OpenCL device it finds (PoCL's CPU device on a machine
 * without a GPU) and issues, on three in-order command queues:
 *
 *   queue 1  clCreateCommandQueue, profiling asked for by the program:
 *            writes, kernel "scale" three times (local size 64), a long
 *            kernel "spin" (local size left to the implementation), a map
 *            and unmap, a read
 *   queue 2  clCreateCommandQueue without profiling: a write, a device copy,
 *            a rectangular write and read, a read
 *   queue 3  clCreateCommandQueueWithProperties (OpenCL 2.0 platforms; else
 *            clCreateCommandQueue), no profiling: two fills, kernel "saxpy"
 *            waiting on queue 2's copy event, the task "reduce_task", reads
 *
 * then two clWaitForEvents (one on queue 1's spin event, one on events of
 * queues 1 and 2) and a clFinish per queue. Kernels are built from source at
 * run time. Every result is checked on the host, and so are the events the
 * program keeps: complete, with sane profiling times on queue 1 and
 * CL_PROFILING_INFO_NOT_AVAILABLE on queue 2, and each queue's
 * CL_QUEUE_PROPERTIES (and properties array) exactly as created. That is
 * what a profiler that forces profiling on must leave unchanged.
 *
 * Output (stdout), one "key value..." line each, the same on every run:
 *   device NAME / queues N / kernel NAME COUNT / copy HtoD|DtoH|DtoD COUNT /
 *   memset COUNT / api FUNCTION COUNT / sync stream|event COUNT / check ok
 * where "sync event" counts, per clWaitForEvents, the distinct queues of
 * its events. With --timeline FILE it also writes, per command, the queue
 * number (1..3), kind, name and CLOCK_MONOTONIC ns right before and after
 * the enqueue call ("op Q KIND NAME T0 T1"), and per clFinish
 * ("finish Q T0 T1"), for checking a capture's clock alignment. With
 * --repeat N it runs the whole workload (program build, queues, commands,
 * checks, releases) N times in a row in one context, and the counts it
 * prints are the totals: a process that lives long enough for tests that
 * attach to it several times.
 *
 * Exit status: 0 when everything checked out, 1 on a failed call or check,
 * 77 when no OpenCL device is present.
 */
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SAMPLE_N          65536 /* floats per buffer */
#define SAMPLE_LOCAL      64
#define SAMPLE_SPIN_N     16384 /* work-items of "spin" */
#define SAMPLE_SPIN_ITERS 1500
#define SAMPLE_REDUCE_N   1024
#define SAMPLE_RECT_W     16 /* floats per row of the rectangle */
#define SAMPLE_RECT_H     8
#define SAMPLE_RECT_PITCH 64 /* floats per row of buffer m */
#define SAMPLE_QUEUES     3
#define SAMPLE_MAX_NAMES  16

static const char sample_source[] =
    "kernel void scale(global float *x, float a)\n"
    "{\n"
    "	size_t i = get_global_id(0);\n"
    "	x[i] *= a;\n"
    "}\n"
    "kernel void saxpy(global const float *x, global float *y, float a)\n"
    "{\n"
    "	size_t i = get_global_id(0);\n"
    "	y[i] += a * x[i];\n"
    "}\n"
    "kernel void spin(global float *y, int iters)\n"
    "{\n"
    "	size_t i = get_global_id(0);\n"
    "	float v = y[i];\n"
    "	for (int k = 0; k < iters; k++)\n"
    "		v = v * 0.999f + 0.001f;\n"
    "	y[i] = v;\n"
    "}\n"
    "kernel void reduce_task(global const float *x, global float *out, int n)\n"
    "{\n"
    "	float s = 0.0f;\n"
    "	for (int i = 0; i < n; i++)\n"
    "		s += x[i];\n"
    "	out[0] = s;\n"
    "}\n";

/* A name and how many times it was issued. */
struct sample_tally {
	const char *names[SAMPLE_MAX_NAMES];
	unsigned counts[SAMPLE_MAX_NAMES];
	unsigned n;
};

/* What the program issued, and where its timeline goes. */
struct sample {
	cl_context ctx;
	cl_device_id dev;
	cl_command_queue q[SAMPLE_QUEUES];
	struct sample_tally kernels, copies, api;
	unsigned memsets, sync_stream, sync_event;
	FILE *timeline; /* NULL: none */
};

/* Stops the program: a call or a check failed. */
__attribute__((noreturn, format(printf, 1, 2))) static void sample_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("tstop-sample-opencl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* Fails unless an OpenCL call returned CL_SUCCESS. */
static void sample_ok(cl_int rc, const char *what)
{
	if (rc != CL_SUCCESS)
		sample_fail("%s failed: error %d", what, (int)rc);
}

/* CLOCK_MONOTONIC in ns: the clock tstop records on. */
static int64_t sample_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Counts one more `name` in t (names are static strings). */
static void sample_tally_add(struct sample_tally *t, const char *name)
{
	for (unsigned i = 0; i < t->n; i++) {
		if (!strcmp(t->names[i], name)) {
			t->counts[i]++;
			return;
		}
	}
	if (t->n == SAMPLE_MAX_NAMES)
		sample_fail("too many names");
	t->names[t->n] = name;
	t->counts[t->n++] = 1;
}

/* Notes one enqueue on queue qi (0-based) made between t0 and t1: API
 * function `fn`, a command of `kind` ("kernel", "memcpy", "memset") named
 * `name`. */
static void sample_issued(struct sample *s, unsigned qi, const char *fn, const char *kind, const char *name,
                          int64_t t0, int64_t t1)
{
	sample_tally_add(&s->api, fn);
	if (!strcmp(kind, "kernel"))
		sample_tally_add(&s->kernels, name);
	else if (!strcmp(kind, "memcpy"))
		sample_tally_add(&s->copies, name);
	else
		s->memsets++;
	if (s->timeline)
		fprintf(s->timeline, "op %u %s %s %lld %lld\n", qi + 1, kind, name, (long long)t0,
		        (long long)t1);
}

/* Picks the first device of the first platform that has one; false when
 * there is none. */
static bool sample_pick_device(cl_platform_id *plat, cl_device_id *dev)
{
	cl_uint np = 0;
	if (clGetPlatformIDs(0, NULL, &np) != CL_SUCCESS || np == 0)
		return false;
	cl_platform_id *ps = calloc(np, sizeof(*ps));
	if (!ps || clGetPlatformIDs(np, ps, NULL) != CL_SUCCESS)
		sample_fail("clGetPlatformIDs failed");
	bool found = false;
	for (cl_uint i = 0; i < np && !found; i++) {
		cl_uint nd = 0;
		if (clGetDeviceIDs(ps[i], CL_DEVICE_TYPE_ALL, 1, dev, &nd) == CL_SUCCESS && nd > 0) {
			*plat = ps[i];
			found = true;
		}
	}
	free(ps);
	return found;
}

/* Whether the platform's version is OpenCL 2.0 or later. */
static bool sample_platform_2x(cl_platform_id plat)
{
	char ver[256] = "";
	if (clGetPlatformInfo(plat, CL_PLATFORM_VERSION, sizeof(ver), ver, NULL) != CL_SUCCESS)
		return false;
	int major = 0, minor = 0;
	return sscanf(ver, "OpenCL %d.%d", &major, &minor) == 2 && major >= 2;
}

/* Builds the program and creates kernel `name` from it. */
static cl_kernel sample_kernel(cl_program prog, const char *name)
{
	cl_int rc;
	cl_kernel k = clCreateKernel(prog, name, &rc);
	sample_ok(rc, name);
	return k;
}

/* Checks that queue q reports exactly `props` as CL_QUEUE_PROPERTIES, and,
 * when it was made from a properties array (app_props, nprops values), that
 * array back (where the platform answers CL_QUEUE_PROPERTIES_ARRAY). */
static void sample_check_queue(cl_command_queue q, cl_command_queue_properties props,
                               const cl_queue_properties *app_props, size_t nprops)
{
	cl_command_queue_properties got = 0;
	sample_ok(clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES, sizeof(got), &got, NULL),
	          "clGetCommandQueueInfo(CL_QUEUE_PROPERTIES)");
	if (got != props)
		sample_fail("queue properties are %#llx, created with %#llx", (unsigned long long)got,
		            (unsigned long long)props);
	if (!app_props)
		return;
	cl_queue_properties arr[16];
	size_t size = 0;
	if (clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES_ARRAY, sizeof(arr), arr, &size) != CL_SUCCESS)
		return; /* an OpenCL 2.x platform: no such query */
	if (size != nprops * sizeof(arr[0]) || memcmp(arr, app_props, size) != 0)
		sample_fail("queue properties array differs from the one it was created with");
}

/* Checks an event the program kept: complete, and on a profiling queue
 * QUEUED <= SUBMIT <= START < END (or START <= END when `may_be_empty`);
 * on a queue without profiling, CL_PROFILING_INFO_NOT_AVAILABLE. */
static void sample_check_event(cl_event ev, bool profiling, bool may_be_empty, const char *what)
{
	cl_int status = CL_QUEUED;
	sample_ok(clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, NULL),
	          "clGetEventInfo");
	if (status != CL_COMPLETE)
		sample_fail("%s: event status %d, not complete", what, (int)status);
	cl_ulong t[4];
	static const cl_profiling_info info[4] = {CL_PROFILING_COMMAND_QUEUED, CL_PROFILING_COMMAND_SUBMIT,
	                                          CL_PROFILING_COMMAND_START, CL_PROFILING_COMMAND_END};
	for (int i = 0; i < 4; i++) {
		cl_int rc = clGetEventProfilingInfo(ev, info[i], sizeof(t[i]), &t[i], NULL);
		if (!profiling) {
			if (rc != CL_PROFILING_INFO_NOT_AVAILABLE)
				sample_fail("%s: profiling info returned %d on a queue without profiling",
				            what, (int)rc);
			continue;
		}
		sample_ok(rc, "clGetEventProfilingInfo");
	}
	if (profiling && (t[0] > t[1] || t[1] > t[2] || t[2] > t[3] || (!may_be_empty && t[2] == t[3])))
		sample_fail("%s: profiling times out of order", what);
}

/* One enqueue, timed: `call` is evaluated between the two clock reads. */
#define SAMPLE_ENQ(s, qi, fn, kind, name, call)                                                              \
	do {                                                                                                 \
		int64_t t0_ = sample_now();                                                                  \
		cl_int rc_ = (call);                                                                         \
		int64_t t1_ = sample_now();                                                                  \
		sample_ok(rc_, fn);                                                                          \
		sample_issued((s), (qi), (fn), (kind), (name), t0_, t1_);                                    \
	} while (0)

/* Waits for n events and counts the sync per distinct queue among them. */
static void sample_wait(struct sample *s, cl_uint n, const cl_event *evs)
{
	sample_ok(clWaitForEvents(n, evs), "clWaitForEvents");
	sample_tally_add(&s->api, "clWaitForEvents");
	cl_command_queue seen[8];
	unsigned nseen = 0;
	for (cl_uint i = 0; i < n; i++) {
		cl_command_queue q = NULL;
		sample_ok(clGetEventInfo(evs[i], CL_EVENT_COMMAND_QUEUE, sizeof(q), &q, NULL),
		          "clGetEventInfo");
		bool dup = false;
		for (unsigned j = 0; j < nseen; j++)
			dup |= seen[j] == q;
		if (!dup && nseen < 8)
			seen[nseen++] = q;
	}
	s->sync_event += nseen;
}

/* Finishes queue qi and notes it. */
static void sample_finish(struct sample *s, unsigned qi)
{
	int64_t t0 = sample_now();
	sample_ok(clFinish(s->q[qi]), "clFinish");
	int64_t t1 = sample_now();
	sample_tally_add(&s->api, "clFinish");
	s->sync_stream++;
	if (s->timeline)
		fprintf(s->timeline, "finish %u %lld %lld\n", qi + 1, (long long)t0, (long long)t1);
}

/* A new buffer of `bytes`. */
static cl_mem sample_buffer(struct sample *s, size_t bytes)
{
	cl_int rc;
	cl_mem m = clCreateBuffer(s->ctx, CL_MEM_READ_WRITE, bytes, NULL, &rc);
	sample_ok(rc, "clCreateBuffer");
	return m;
}

/* Fails unless |got - want| is within a relative tolerance. */
static void sample_near(float got, float want, const char *what)
{
	if (!(fabsf(got - want) <= 1e-3f * fmaxf(1.0f, fabsf(want))))
		sample_fail("%s: got %g, expected %g", what, (double)got, (double)want);
}

/* Prints a tally as "PREFIX NAME COUNT" lines, in first-issued order. */
static void sample_print_tally(const char *prefix, const struct sample_tally *t)
{
	for (unsigned i = 0; i < t->n; i++)
		printf("%s %s %u\n", prefix, t->names[i], t->counts[i]);
}

/* Runs the workload described in the file comment. */
static void sample_run(struct sample *s, bool cl2)
{
	cl_int rc;
	float *x0 = malloc(SAMPLE_N * sizeof(float)), *host = malloc(SAMPLE_N * sizeof(float));
	float *a0 = malloc(SAMPLE_N * sizeof(float));
	if (!x0 || !host || !a0)
		sample_fail("out of memory");
	for (int i = 0; i < SAMPLE_N; i++) {
		x0[i] = (float)(i % 97) * 0.25f;
		a0[i] = (float)(i % 31) - 15.0f;
	}

	/* Queues: profiling asked for on the first only. */
	s->q[0] = clCreateCommandQueue(s->ctx, s->dev, CL_QUEUE_PROFILING_ENABLE, &rc);
	sample_ok(rc, "clCreateCommandQueue");
	sample_tally_add(&s->api, "clCreateCommandQueue");
	s->q[1] = clCreateCommandQueue(s->ctx, s->dev, 0, &rc);
	sample_ok(rc, "clCreateCommandQueue");
	sample_tally_add(&s->api, "clCreateCommandQueue");
	const cl_queue_properties q3_props[] = {CL_QUEUE_PROPERTIES, 0, 0};
	if (cl2) {
		s->q[2] = clCreateCommandQueueWithProperties(s->ctx, s->dev, q3_props, &rc);
		sample_ok(rc, "clCreateCommandQueueWithProperties");
		sample_tally_add(&s->api, "clCreateCommandQueueWithProperties");
	} else {
		s->q[2] = clCreateCommandQueue(s->ctx, s->dev, 0, &rc);
		sample_ok(rc, "clCreateCommandQueue");
		sample_tally_add(&s->api, "clCreateCommandQueue");
	}
	sample_check_queue(s->q[0], CL_QUEUE_PROFILING_ENABLE, NULL, 0);
	sample_check_queue(s->q[1], 0, NULL, 0);
	sample_check_queue(s->q[2], 0, cl2 ? q3_props : NULL, 3);

	const char *src = sample_source;
	cl_program prog = clCreateProgramWithSource(s->ctx, 1, &src, NULL, &rc);
	sample_ok(rc, "clCreateProgramWithSource");
	if (clBuildProgram(prog, 1, &s->dev, "", NULL, NULL) != CL_SUCCESS) {
		char log[4096] = "";
		clGetProgramBuildInfo(prog, s->dev, CL_PROGRAM_BUILD_LOG, sizeof(log), log, NULL);
		sample_fail("clBuildProgram failed:\n%s", log);
	}
	cl_kernel k_scale = sample_kernel(prog, "scale"), k_saxpy = sample_kernel(prog, "saxpy");
	cl_kernel k_spin = sample_kernel(prog, "spin"), k_reduce = sample_kernel(prog, "reduce_task");

	size_t bytes = SAMPLE_N * sizeof(float);
	cl_mem x = sample_buffer(s, bytes), y = sample_buffer(s, bytes), a = sample_buffer(s, bytes);
	cl_mem z = sample_buffer(s, bytes), w = sample_buffer(s, bytes), r = sample_buffer(s, sizeof(float));
	cl_mem m = sample_buffer(s, SAMPLE_RECT_PITCH * SAMPLE_RECT_H * sizeof(float));

	/* Queue 1: x = x0 * 8 through three scales; y through spin. */
	cl_event ev_write_x, ev_spin, ev_copy;
	SAMPLE_ENQ(s, 0, "clEnqueueWriteBuffer", "memcpy", "HtoD",
	           clEnqueueWriteBuffer(s->q[0], x, CL_FALSE, 0, bytes, x0, 0, NULL, &ev_write_x));
	SAMPLE_ENQ(s, 0, "clEnqueueWriteBuffer", "memcpy", "HtoD",
	           clEnqueueWriteBuffer(s->q[0], y, CL_TRUE, 0, bytes, a0, 0, NULL, NULL));
	float two = 2.0f;
	sample_ok(clSetKernelArg(k_scale, 0, sizeof(x), &x), "clSetKernelArg");
	sample_ok(clSetKernelArg(k_scale, 1, sizeof(two), &two), "clSetKernelArg");
	size_t global = SAMPLE_N, local = SAMPLE_LOCAL, spin_global = SAMPLE_SPIN_N;
	for (int i = 0; i < 3; i++)
		SAMPLE_ENQ(s, 0, "clEnqueueNDRangeKernel", "kernel", "scale",
		           clEnqueueNDRangeKernel(s->q[0], k_scale, 1, NULL, &global, &local, 0, NULL, NULL));
	int iters = SAMPLE_SPIN_ITERS;
	sample_ok(clSetKernelArg(k_spin, 0, sizeof(y), &y), "clSetKernelArg");
	sample_ok(clSetKernelArg(k_spin, 1, sizeof(iters), &iters), "clSetKernelArg");
	SAMPLE_ENQ(s, 0, "clEnqueueNDRangeKernel", "kernel", "spin",
	           clEnqueueNDRangeKernel(s->q[0], k_spin, 1, NULL, &spin_global, NULL, 0, NULL, &ev_spin));

	/* Queue 2: z = a0 by a device copy; a rectangle through m. */
	SAMPLE_ENQ(s, 1, "clEnqueueWriteBuffer", "memcpy", "HtoD",
	           clEnqueueWriteBuffer(s->q[1], a, CL_FALSE, 0, bytes, a0, 0, NULL, NULL));
	SAMPLE_ENQ(s, 1, "clEnqueueCopyBuffer", "memcpy", "DtoD",
	           clEnqueueCopyBuffer(s->q[1], a, z, 0, 0, bytes, 0, NULL, &ev_copy));
	size_t origin[3] = {0, 0, 0}, region[3] = {SAMPLE_RECT_W * sizeof(float), SAMPLE_RECT_H, 1};
	size_t row = SAMPLE_RECT_PITCH * sizeof(float);
	float rect_in[SAMPLE_RECT_W * SAMPLE_RECT_H], rect_out[SAMPLE_RECT_W * SAMPLE_RECT_H];
	for (int i = 0; i < SAMPLE_RECT_W * SAMPLE_RECT_H; i++)
		rect_in[i] = (float)i + 0.5f;
	size_t host_row = SAMPLE_RECT_W * sizeof(float);
	SAMPLE_ENQ(s, 1, "clEnqueueWriteBufferRect", "memcpy", "HtoD",
	           clEnqueueWriteBufferRect(s->q[1], m, CL_FALSE, origin, origin, region, row, 0, host_row, 0,
	                                    rect_in, 0, NULL, NULL));
	SAMPLE_ENQ(s, 1, "clEnqueueReadBufferRect", "memcpy", "DtoH",
	           clEnqueueReadBufferRect(s->q[1], m, CL_TRUE, origin, origin, region, row, 0, host_row, 0,
	                                   rect_out, 0, NULL, NULL));
	if (memcmp(rect_in, rect_out, sizeof(rect_in)) != 0)
		sample_fail("rectangle read back differs");

	/* Queue 3: w = 0 + 2 * z after queue 2's copy; r = sum of w's first
	 * SAMPLE_REDUCE_N by a task. */
	float zero = 0.0f;
	SAMPLE_ENQ(s, 2, "clEnqueueFillBuffer", "memset", "fill",
	           clEnqueueFillBuffer(s->q[2], w, &zero, sizeof(zero), 0, bytes, 0, NULL, NULL));
	SAMPLE_ENQ(s, 2, "clEnqueueFillBuffer", "memset", "fill",
	           clEnqueueFillBuffer(s->q[2], r, &zero, sizeof(zero), 0, sizeof(float), 0, NULL, NULL));
	sample_ok(clSetKernelArg(k_saxpy, 0, sizeof(z), &z), "clSetKernelArg");
	sample_ok(clSetKernelArg(k_saxpy, 1, sizeof(w), &w), "clSetKernelArg");
	sample_ok(clSetKernelArg(k_saxpy, 2, sizeof(two), &two), "clSetKernelArg");
	SAMPLE_ENQ(s, 2, "clEnqueueNDRangeKernel", "kernel", "saxpy",
	           clEnqueueNDRangeKernel(s->q[2], k_saxpy, 1, NULL, &global, NULL, 1, &ev_copy, NULL));
	int reduce_n = SAMPLE_REDUCE_N;
	sample_ok(clSetKernelArg(k_reduce, 0, sizeof(w), &w), "clSetKernelArg");
	sample_ok(clSetKernelArg(k_reduce, 1, sizeof(r), &r), "clSetKernelArg");
	sample_ok(clSetKernelArg(k_reduce, 2, sizeof(reduce_n), &reduce_n), "clSetKernelArg");
	SAMPLE_ENQ(s, 2, "clEnqueueTask", "kernel", "reduce_task",
	           clEnqueueTask(s->q[2], k_reduce, 0, NULL, NULL));
	SAMPLE_ENQ(s, 2, "clEnqueueReadBuffer", "memcpy", "DtoH",
	           clEnqueueReadBuffer(s->q[2], w, CL_TRUE, 0, bytes, host, 0, NULL, NULL));
	for (int i = 0; i < SAMPLE_N; i++)
		sample_near(host[i], 2.0f * a0[i], "saxpy");
	float sum = 0.0f, want = 0.0f;
	for (int i = 0; i < SAMPLE_REDUCE_N; i++)
		want += host[i];
	SAMPLE_ENQ(s, 2, "clEnqueueReadBuffer", "memcpy", "DtoH",
	           clEnqueueReadBuffer(s->q[2], r, CL_TRUE, 0, sizeof(float), &sum, 0, NULL, NULL));
	sample_near(sum, want, "reduce_task");

	/* The program's own events: waited for, then checked. */
	sample_wait(s, 1, &ev_spin);
	cl_event both[2] = {ev_copy, ev_write_x};
	sample_wait(s, 2, both);
	sample_check_event(ev_spin, true, false, "spin");
	sample_check_event(ev_write_x, true, true, "write");
	sample_check_event(ev_copy, false, false, "copy");

	/* Queue 1: y checked through a map; x read back. */
	float *mapped = NULL;
	SAMPLE_ENQ(
	    s, 0, "clEnqueueMapBuffer", "memcpy", "DtoH",
	    (mapped = clEnqueueMapBuffer(s->q[0], y, CL_TRUE, CL_MAP_READ, 0, bytes, 0, NULL, NULL, &rc),
	     rc));
	for (int i = 0; i < SAMPLE_SPIN_N; i++) {
		float v = a0[i];
		for (int k = 0; k < SAMPLE_SPIN_ITERS; k++)
			v = v * 0.999f + 0.001f;
		sample_near(mapped[i], v, "spin");
	}
	for (int i = SAMPLE_SPIN_N; i < SAMPLE_N; i++)
		sample_near(mapped[i], a0[i], "untouched by spin");
	SAMPLE_ENQ(s, 0, "clEnqueueUnmapMemObject", "memcpy", "HtoD",
	           clEnqueueUnmapMemObject(s->q[0], y, mapped, 0, NULL, NULL));
	SAMPLE_ENQ(s, 0, "clEnqueueReadBuffer", "memcpy", "DtoH",
	           clEnqueueReadBuffer(s->q[0], x, CL_TRUE, 0, bytes, host, 0, NULL, NULL));
	for (int i = 0; i < SAMPLE_N; i++)
		sample_near(host[i], x0[i] * 8.0f, "scale");

	/* Queue 2: z read back. */
	SAMPLE_ENQ(s, 1, "clEnqueueReadBuffer", "memcpy", "DtoH",
	           clEnqueueReadBuffer(s->q[1], z, CL_TRUE, 0, bytes, host, 0, NULL, NULL));
	if (memcmp(host, a0, bytes) != 0)
		sample_fail("device copy differs");

	for (unsigned i = 0; i < SAMPLE_QUEUES; i++)
		sample_finish(s, i);

	clReleaseEvent(ev_write_x);
	clReleaseEvent(ev_spin);
	clReleaseEvent(ev_copy);
	cl_mem mems[] = {x, y, a, z, w, r, m};
	for (size_t i = 0; i < sizeof(mems) / sizeof(mems[0]); i++)
		clReleaseMemObject(mems[i]);
	clReleaseKernel(k_scale);
	clReleaseKernel(k_saxpy);
	clReleaseKernel(k_spin);
	clReleaseKernel(k_reduce);
	clReleaseProgram(prog);
	for (unsigned i = 0; i < SAMPLE_QUEUES; i++) {
		sample_ok(clReleaseCommandQueue(s->q[i]), "clReleaseCommandQueue");
		sample_tally_add(&s->api, "clReleaseCommandQueue");
	}
	free(x0);
	free(a0);
	free(host);
}

/* Parses the options, runs the workload and prints what it issued. */
int main(int argc, char **argv)
{
	struct sample s;
	memset(&s, 0, sizeof(s));
	long repeat = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--timeline") && i + 1 < argc) {
			s.timeline = fopen(argv[++i], "w");
			if (!s.timeline)
				sample_fail("cannot write %s", argv[i]);
		} else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
			char *end;
			repeat = strtol(argv[++i], &end, 10);
			if (*end || repeat < 1 || repeat > 1000000) {
				fprintf(stderr,
				        "tstop-sample-opencl: --repeat needs a count from 1 to 1000000\n");
				return 2;
			}
		} else {
			fprintf(stderr, "usage: tstop-sample-opencl [--timeline FILE] [--repeat N]\n");
			return 2;
		}
	}
	cl_platform_id plat;
	if (!sample_pick_device(&plat, &s.dev)) {
		fprintf(stderr, "tstop-sample-opencl: no OpenCL device found\n");
		return 77;
	}
	cl_int rc;
	s.ctx = clCreateContext(NULL, 1, &s.dev, NULL, NULL, &rc);
	sample_ok(rc, "clCreateContext");
	char name[256] = "";
	sample_ok(clGetDeviceInfo(s.dev, CL_DEVICE_NAME, sizeof(name), name, NULL), "clGetDeviceInfo");
	for (long i = 0; i < repeat; i++)
		sample_run(&s, sample_platform_2x(plat));
	clReleaseContext(s.ctx);
	if (s.timeline && fclose(s.timeline) != 0)
		sample_fail("cannot write the timeline");

	printf("device %s\n", name);
	printf("queues %d\n", SAMPLE_QUEUES);
	sample_print_tally("kernel", &s.kernels);
	sample_print_tally("copy", &s.copies);
	printf("memset %u\n", s.memsets);
	sample_print_tally("api", &s.api);
	printf("sync stream %u\n", s.sync_stream);
	printf("sync event %u\n", s.sync_event);
	printf("check ok\n");
	return 0;
}
