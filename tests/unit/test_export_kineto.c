/*
 * test_export_kineto.c - unit tests of the Kineto JSON exporter
 * (export/kineto.c, export_kineto_write).
 *
 * Every document is checked by a small validating JSON parser written here
 * (strings must be valid UTF-8 with valid escapes), on: an empty session;
 * an NVTX-only session; a hand-made session with one launch of each kind of
 * GPU work whose exact lines are known (names PyTorch's way, times relative
 * to baseTimeNanoseconds with nanoseconds kept, ac2g pairs, the GPU span
 * of an NVTX range); names holding quotes, backslashes, control characters
 * and bytes that are not UTF-8; and a synthetic session with every event
 * kind. The gzip form must inflate (zlib) to the plain document, and a
 * write error must be reported, plain and gzipped. tests/cli/export_kineto.sh
 * checks the structure further with Python's json module.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "export/export.h"
#include "synth.h"
#include "trace/session.h"

/* --- a validating JSON parser ----------------------------------------------------- */

static const char *json_value(const char *p, const char *end, int depth);

static const char *json_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

/* Length of the valid UTF-8 sequence at p, 0 when invalid. */
static size_t json_utf8(const unsigned char *p, const unsigned char *end)
{
	size_t n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
	if (!n || (size_t)(end - p) < n || (n == 2 && *p < 0xc2))
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static const char *json_string(const char *p, const char *end)
{
	if (p >= end || *p != '"')
		return NULL;
	for (p++; p < end;) {
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			return p + 1;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			if (++p >= end)
				return NULL;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (p + i >= end || !strchr("0123456789abcdefABCDEF", p[i]))
						return NULL;
				p += 5;
			} else if (strchr("\"\\/bfnrt", *p)) {
				p++;
			} else {
				return NULL;
			}
			continue;
		}
		size_t n = json_utf8((const unsigned char *)p, (const unsigned char *)end);
		if (!n)
			return NULL;
		p += n;
	}
	return NULL;
}

static const char *json_number(const char *p, const char *end)
{
	const char *start = p;
	if (p < end && *p == '-')
		p++;
	if (p >= end || *p < '0' || *p > '9')
		return NULL;
	while (p < end &&
	       ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-'))
		p++;
	return p > start ? p : NULL;
}

static const char *json_value(const char *p, const char *end, int depth)
{
	p = json_ws(p, end);
	if (p >= end || depth > 64)
		return NULL;
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		bool object = *p == '{';
		p = json_ws(p + 1, end);
		if (p < end && *p == close)
			return p + 1;
		for (;;) {
			if (object) {
				p = json_string(json_ws(p, end), end);
				if (!p)
					return NULL;
				p = json_ws(p, end);
				if (p >= end || *p++ != ':')
					return NULL;
			}
			p = json_value(p, end, depth + 1);
			if (!p)
				return NULL;
			p = json_ws(p, end);
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			return p < end && *p == close ? p + 1 : NULL;
		}
	}
	if (*p == '"')
		return json_string(p, end);
	if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	return json_number(p, end);
}

/* Asserts that buf[0 .. len-1] is exactly one JSON document. */
static void assert_json(const char *buf, size_t len)
{
	const char *end = buf + len;
	const char *p = json_value(buf, end, 0);
	assert_non_null(p);
	assert_true(json_ws(p, end) == end);
}

/* Number of times `needle` occurs in `hay`. */
static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Exports `s` into a NUL-terminated heap buffer; *len gets its length. */
static char *export_to_memory(struct trace_session *s, bool gzip, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	assert_non_null(f);
	struct export_options o = {.gzip = gzip, .name = "t.json"};
	struct err e = {{0}};
	assert_int_equal(export_kineto_write(s, f, &o, &e), 0);
	assert_int_equal(fclose(f), 0);
	*len = size;
	return buf;
}

/* Exports `s` plain, checks it is JSON and returns it. */
static char *export_checked(struct trace_session *s, size_t *len)
{
	char *buf = export_to_memory(s, false, len);
	assert_json(buf, *len);
	assert_non_null(strstr(buf, "\"schemaVersion\": 1"));
	assert_non_null(strstr(buf, "\"traceName\": \"t.json\""));
	return buf;
}

/* --- sessions ------------------------------------------------------------------------ */

static void test_empty(void **state)
{
	(void)state;
	struct trace_session *s = trace_session_new();
	trace_session_finish(s);
	size_t len;
	char *buf = export_checked(s, &len);
	assert_non_null(strstr(buf, "\"deviceProperties\": []"));
	assert_non_null(strstr(buf, "\"traceEvents\": [\n  ]"));
	assert_non_null(strstr(buf, "\"baseTimeNanoseconds\": 0"));
	free(buf);
	trace_session_delete(s);
}

/* Adds a host-thread track of pid 100, tid 101 and returns its id. */
static uint32_t add_thread(struct trace_session *s, const char *name)
{
	struct trace_track_info ti = {.kind = TRACE_TRACK_THREAD, .pid = 100, .tid = 101};
	ti.name = name ? trace_session_intern_cstr(s, name) : 0;
	return trace_session_add_track(s, &ti);
}

static void test_nvtx_only(void **state)
{
	(void)state;
	struct trace_session *s = trace_session_new();
	uint32_t th = add_thread(s, NULL);
	struct trace_event ev = {
	    .start = 2000000000, .end = 2000001000, .track = th, .kind = TRACE_NVTX_RANGE};
	ev.name = trace_session_intern_cstr(s, "outer");
	assert_int_equal(trace_session_append(s, &ev), 0);
	ev.start += 10, ev.end -= 10, ev.name = trace_session_intern_cstr(s, "inner");
	assert_int_equal(trace_session_append(s, &ev), 0);
	ev.kind = TRACE_NVTX_MARK, ev.end = ev.start, ev.name = trace_session_intern_cstr(s, "mark");
	assert_int_equal(trace_session_append(s, &ev), 0);
	trace_session_finish(s);
	size_t len;
	char *buf = export_checked(s, &len);
	assert_int_equal(count_of(buf, "\"cat\":\"user_annotation\""), 2);
	assert_int_equal(count_of(buf, "\"cat\":\"nvtx_mark\""), 1);
	assert_int_equal(count_of(buf, "gpu_user_annotation"), 0);
	assert_int_equal(count_of(buf, "ac2g"), 0);
	/* base = 2 s; the outer range starts 0 ns after it and lasts 1 us. */
	assert_non_null(strstr(buf, "\"baseTimeNanoseconds\": 2000000000,"));
	assert_non_null(strstr(buf, "\"name\":\"outer\",\"pid\":100,\"tid\":101,\"ts\":0.000,\"dur\":1.000"));
	assert_non_null(strstr(buf, "\"name\":\"inner\",\"pid\":100,\"tid\":101,\"ts\":0.010,\"dur\":0.980"));
	assert_non_null(strstr(buf, "\"thread_name\",\"ph\":\"M\",\"ts\":0.000,\"pid\":100,\"tid\":101,"
	                            "\"args\":{\"name\":\"thread 101 (?)\"}"));
	free(buf);
	trace_session_delete(s);
}

/* A session with one launch of each kind: kernel (corr 5), copy (6),
 * memset (7), a sync (8), a call without GPU work (9), all inside one NVTX
 * range, on an H100-like device 0, stream 7. */
static struct trace_session *launch_session(const char *kernel_name)
{
	struct trace_session *s = trace_session_new();
	struct trace_device d = {.id = 0,
	                         .api = TRACE_DEVICE_CUDA,
	                         .cc_major = 9,
	                         .sm_count = 132,
	                         .global_memory = 85018279936ull,
	                         .warp_size = 32,
	                         .max_threads_per_block = 1024,
	                         .max_threads_per_sm = 2048,
	                         .max_blocks_per_sm = 32,
	                         .regs_per_block = 65536,
	                         .regs_per_sm = 65536,
	                         .smem_per_block = 49152,
	                         .smem_per_sm = 233472};
	d.name = trace_session_intern_cstr(s, "NVIDIA H100 80GB HBM3");
	trace_session_set_device(s, &d);
	struct trace_process p = {.pid = 100,
	                          .command = trace_session_intern_cstr(s, "/usr/bin/python3 x.py")};
	trace_session_set_process(s, &p);
	uint32_t th = add_thread(s, NULL);
	struct trace_track_info si = {
	    .kind = TRACE_TRACK_STREAM, .pid = 100, .device = 0, .context = 1, .stream = 7};
	uint32_t st = trace_session_add_track(s, &si);
	const int64_t t0 = 1500000000000; /* 1500 s */
	struct trace_event r = {.start = t0 + 100, .end = t0 + 900000, .track = th, .kind = TRACE_NVTX_RANGE};
	r.name = trace_session_intern_cstr(s, "step");
	assert_int_equal(trace_session_append(s, &r), 0);
	for (uint32_t c = 5; c <= 9; c++) {
		struct trace_event a = {.start = t0 + 1000 * c,
		                        .end = t0 + 1000 * c + 500,
		                        .track = th,
		                        .correlation = c,
		                        .kind = TRACE_API,
		                        .flags = TRACE_API_CUDA_RUNTIME};
		a.name = trace_session_intern_cstr(s, "cudaLaunchKernel");
		a.u.api.cbid = 211;
		assert_int_equal(trace_session_append(s, &a), 0);
		struct trace_event g = {.start = t0 + 100000 * c + 123,
		                        .end = t0 + 100000 * c + 2123,
		                        .track = st,
		                        .correlation = c};
		if (c == 5) {
			struct trace_launch l = {.grid = {564, 1, 1}, .block = {128, 1, 1}, .registers = 32};
			g.kind = TRACE_KERNEL;
			g.name = trace_session_intern_cstr(s, kernel_name);
			g.u.kernel.launch = trace_session_add_launch(s, &l);
		} else if (c == 6) {
			g.kind = TRACE_MEMCPY;
			g.sub = trace_memcpy_sub(TRACE_COPY_HTOD, TRACE_MEM_PAGEABLE, TRACE_MEM_DEVICE);
			g.u.bytes = 4000;
		} else if (c == 7) {
			g.kind = TRACE_MEMSET;
			g.sub = TRACE_MEM_DEVICE;
			g.u.bytes = 1000;
		} else if (c == 8) {
			g.kind = TRACE_SYNC;
			g.sub = TRACE_SYNC_STREAM;
		} else {
			continue;
		}
		assert_int_equal(trace_session_append(s, &g), 0);
	}
	trace_session_finish(s);
	return s;
}

static void test_launches(void **state)
{
	(void)state;
	struct trace_session *s = launch_session("_Z6kernelPf");
	size_t len;
	char *buf = export_checked(s, &len);
	assert_non_null(strstr(buf, "\"baseTimeNanoseconds\": 1500000000000,"));
	assert_non_null(strstr(buf,
	                       "{\"id\":0,\"name\":\"NVIDIA H100 80GB HBM3\",\"totalGlobalMem\":85018279936,"
	                       "\"computeMajor\":9,\"computeMinor\":0,"));
	/* The kernel: demangled, at 500.123 us for 2 us; H100 figures as PyTorch
	 * computes them (4.272727 blocks and 17.090909 warps per SM, 27%). */
	assert_non_null(
	    strstr(buf, "\"ph\":\"X\",\"cat\":\"kernel\",\"name\":\"kernel(float*)\",\"pid\":0,\"tid\":7,"
	                "\"ts\":500.123,\"dur\":2.000,\"args\":{\"queued\":0,\"device\":0,\"context\":1,"
	                "\"stream\":7,\"correlation\":5,\"registers per thread\":32,\"shared memory\":0,"
	                "\"blocks per SM\":4.272727,\"warps per SM\":17.090909,\"grid\":[564,1,1],"
	                "\"block\":[128,1,1],\"est. achieved occupancy %\":27}}"));
	assert_non_null(
	    strstr(buf, "\"name\":\"Memcpy HtoD (Pageable -> Device)\",\"pid\":0,\"tid\":7,"
	                "\"ts\":600.123,\"dur\":2.000,\"args\":{\"device\":0,\"context\":1,\"stream\":7,"
	                "\"correlation\":6,\"bytes\":4000,\"memory bandwidth (GB/s)\":2}}"));
	assert_non_null(strstr(buf, "\"cat\":\"gpu_memset\",\"name\":\"Memset (Device)\""));
	assert_non_null(strstr(buf, "\"cat\":\"cuda_sync\",\"name\":\"Stream Sync\""));
	/* ac2g: four pairs (not for correlation 9, which launched nothing). */
	for (int c = 5; c <= 8; c++) {
		char want[160];
		snprintf(want, sizeof(want), "{\"ph\":\"s\",\"id\":%d,\"pid\":100,\"tid\":101,\"ts\":%d.000,",
		         c, c);
		assert_non_null(strstr(buf, want));
		snprintf(want, sizeof(want), "{\"ph\":\"f\",\"id\":%d,\"pid\":0,\"tid\":7,\"ts\":%d00.123,",
		         c, c);
		assert_non_null(strstr(buf, want));
	}
	assert_int_equal(count_of(buf, "\"ph\":\"s\""), 4);
	assert_int_equal(count_of(buf, "\"ph\":\"f\""), 4);
	/* The range's GPU span: from the kernel's start to the sync's end. */
	assert_non_null(strstr(buf, "\"cat\":\"gpu_user_annotation\",\"name\":\"step\",\"pid\":0,\"tid\":7,"
	                            "\"ts\":500.123,\"dur\":302.000,\"args\":{\"External id\":1}}"));
	assert_non_null(strstr(buf, "\"args\":{\"name\":\"python3\"}"));
	assert_non_null(strstr(buf, "\"args\":{\"name\":\"thread 101 (python3)\"}"));
	free(buf);
	trace_session_delete(s);
}

static void test_weird_names(void **state)
{
	(void)state;
	static const char weird[] = "q\"b\\s\x01\x1b[31m\n\t\xff\xc3(\xe2\x80\xae";
	struct trace_session *s = launch_session(weird);
	add_thread(s, "th\"read\x7f\xfe");
	size_t len;
	char *buf = export_checked(s, &len);
	assert_non_null(
	    strstr(buf, "\"name\":\"q\\\"b\\\\s\\u0001\\u001b[31m\\n\\t\\\\xff\\\\xc3(\\u202e\""));
	assert_non_null(strstr(buf, "\"name\":\"th\\\"read\\u007f\\\\xfe\""));
	free(buf);
	trace_session_delete(s);
}

static void test_synth(void **state)
{
	(void)state;
	struct synth_options o;
	synth_options_init(&o);
	o.events = 5000;
	o.processes = 2;
	o.devices = 2;
	struct synth_counts c;
	struct err e = {{0}};
	struct trace_session *s = synth_session(&o, &c, &e);
	assert_non_null(s);
	size_t len;
	char *buf = export_checked(s, &len);
	assert_int_equal(count_of(buf, "\"cat\":\"kernel\""), c.kinds[TRACE_KERNEL]);
	assert_int_equal(count_of(buf, "\"cat\":\"gpu_memcpy\""), c.kinds[TRACE_MEMCPY]);
	assert_int_equal(count_of(buf, "\"cat\":\"user_annotation\""), c.kinds[TRACE_NVTX_RANGE]);
	assert_int_equal(count_of(buf, "\"ph\":\"C\""), c.kinds[TRACE_COUNTER]);
	assert_true(count_of(buf, "\"ph\":\"f\"") >= count_of(buf, "\"ph\":\"s\""));
	assert_true(count_of(buf, "\"ph\":\"s\"") > 0);

	/* The gzip form inflates to the same document. */
	size_t zlen;
	char *z = export_to_memory(s, true, &zlen);
	assert_true(zlen < len / 4);
	z_stream zs = {0};
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	char *out = malloc(len + 1);
	zs.next_in = (unsigned char *)z;
	zs.avail_in = (uInt)zlen;
	zs.next_out = (unsigned char *)out;
	zs.avail_out = (uInt)len + 1;
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_int_equal(zs.total_out, len);
	assert_memory_equal(out, buf, len);
	inflateEnd(&zs);
	free(out);
	free(z);
	free(buf);
	trace_session_delete(s);
}

static void test_write_error(void **state)
{
	(void)state;
	struct trace_session *s = launch_session("k");
	for (int gz = 0; gz <= 1; gz++) {
		FILE *f = fopen("/dev/full", "w");
		if (!f)
			skip();
		struct export_options o = {.gzip = gz};
		struct err e = {{0}};
		assert_int_equal(export_kineto_write(s, f, &o, &e), -1);
		assert_non_null(strstr(e.msg, "cannot write the trace"));
		fclose(f);
	}
	trace_session_delete(s);
}

/* Progress is reported, and ends with done == total. */
static uint64_t progress_done, progress_total;
static void on_progress(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	assert_true(done >= progress_done && done <= total);
	progress_done = done;
	progress_total = total;
}

static void test_progress(void **state)
{
	(void)state;
	struct trace_session *s = launch_session("k");
	FILE *f = fopen("/dev/null", "w");
	assert_non_null(f);
	struct export_options o = {.progress = on_progress};
	struct err e = {{0}};
	progress_done = 0;
	assert_int_equal(export_kineto_write(s, f, &o, &e), 0);
	assert_int_equal(progress_total, trace_session_event_count(s));
	assert_int_equal(progress_done, progress_total);
	fclose(f);
	trace_session_delete(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),    cmocka_unit_test(test_nvtx_only),
	    cmocka_unit_test(test_launches), cmocka_unit_test(test_weird_names),
	    cmocka_unit_test(test_synth),    cmocka_unit_test(test_write_error),
	    cmocka_unit_test(test_progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
