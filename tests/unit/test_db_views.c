/*
 * test_db_views.c - unit tests of the session database's views
 * (store/db_views.c), on databases written by db_write_session.
 *
 *   - The summary views equal `tstop stats`: for a session built by hand
 *     (ties in totals, groups of one, two and four, an unfinished kernel,
 *     an out-of-range copy kind, one range name used in both NVTX styles)
 *     and for synthetic sessions of several shapes, every report of
 *     report_build and its view have the same rows in the same order, with
 *     equal integers and texts and floats within 1e-9 relative. The hand
 *     session's rows are also checked against numbers computed here.
 *   - The nsys-compatible views carry nsys's encodings: globalPid and
 *     globalTid, StringIds ids of demangled and short names, memory kinds
 *     renumbered, device syncs as context syncs, runtime and driver calls
 *     told apart by eventClass, OpenCL and open events left out, NVTX event
 *     types, domains and payloads (IEEE bits rebuilt into REAL values).
 *   - A join on StringIds never scans the strings once per row.
 *   - Every ```sql example in docs/schema.md runs on a synthetic session
 *     and returns rows, so the documentation cannot rot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "report/report.h"
#include "store/db.h"
#include "synth.h"
#include "trace/session.h"

#define SAXPY_MANGLED  "_Z5saxpyifPfS_"
#define SAXPY_SHOWN    "saxpy(int, float, float*, float*)"
#define MATMUL_MANGLED "_Z6matmulPKfS0_Pfi"
#define MATMUL_SHOWN   "matmul(float const*, float const*, float*, int)"

/* globalPid and globalTid as nsys encodes them. */
#define GPID(pid)      ((INT64_C(1) << 48) | ((int64_t)(pid) << 24))
#define GTID(pid, tid) (GPID(pid) | (int64_t)(tid))

static char test_dir[64];

/* --- helpers ------------------------------------------------------------------ */

/* Writes `s` with db_write_session to test_dir/name and opens it read-only. */
static sqlite3 *write_open(struct trace_session *s, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", test_dir, name);
	struct err e = {{0}};
	if (db_write_session(s, path, true, NULL, NULL, &e) < 0)
		fail_msg("db_write_session: %s", e.msg);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return db;
}

/* A prepared statement of `sql`; fails the test with SQLite's message. */
static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s\n  in: %s", sqlite3_errmsg(db), sql);
	return st;
}

/* The single integer `sql` yields (fails when it yields no row or NULL). */
static int64_t q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = prep(db, sql);
	if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL)
		fail_msg("no integer from: %s", sql);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The single REAL `sql` yields. */
static double q_real(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = prep(db, sql);
	if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) != SQLITE_FLOAT)
		fail_msg("no REAL from: %s", sql);
	double v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Asserts that `sql` yields one value equal to the text `want`. */
static void q_text_is(sqlite3 *db, const char *sql, const char *want)
{
	sqlite3_stmt *st = prep(db, sql);
	if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) != SQLITE_TEXT)
		fail_msg("no text from: %s", sql);
	const char *got = (const char *)sqlite3_column_text(st, 0);
	if (strcmp(got, want) != 0)
		fail_msg("'%s' != '%s' from: %s", got, want, sql);
	sqlite3_finalize(st);
}

/* Asserts that `sql` yields one row whose first value is NULL. */
static void q_null(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = prep(db, sql);
	if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) != SQLITE_NULL)
		fail_msg("no NULL from: %s", sql);
	sqlite3_finalize(st);
}

/* a and b agree within 1e-9 relative (exactly when either is 0). */
static void assert_close(double a, double b, const char *what)
{
	double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
	if (!(a == b || fabs(a - b) <= 1e-9 * m))
		fail_msg("%s: %.17g != %.17g", what, a, b);
}

/* The columns of each summary view, in report order. */
static const char *const kern_cols[] = {"time_percent", "total_ns", "instances", "avg_ns", "med_ns",
                                        "min_ns",       "max_ns",   "stddev_ns", "name"};
static const char *const api_cols[] = {"time_percent", "total_ns", "num_calls", "avg_ns", "med_ns",
                                       "min_ns",       "max_ns",   "stddev_ns", "name"};
static const char *const mem_time_cols[] = {"time_percent", "total_ns", "count",     "avg_ns",   "med_ns",
                                            "min_ns",       "max_ns",   "stddev_ns", "operation"};
static const char *const mem_size_cols[] = {"total_mb", "count",  "avg_mb",    "med_mb",
                                            "min_mb",   "max_mb", "stddev_mb", "operation"};
static const char *const nvtx_cols[] = {"time_percent", "total_ns", "instances", "avg_ns", "med_ns",
                                        "min_ns",       "max_ns",   "stddev_ns", "style",  "range"};

static const struct {
	enum report_id id;
	const char *view;
	const char *const *cols;
} summaries[] = {
    {REPORT_GPU_KERN_SUM, "kernel_summary", kern_cols},
    {REPORT_API_SUM, "api_summary", api_cols},
    {REPORT_GPU_MEM_TIME_SUM, "memop_time_summary", mem_time_cols},
    {REPORT_GPU_MEM_SIZE_SUM, "memop_size_summary", mem_size_cols},
    {REPORT_NVTX_SUM, "nvtx_summary", nvtx_cols},
};

/* Asserts that summary view `view` returns report `id` of `s`: the same
 * columns (named `cols`), rows and cells. Returns the number of rows. */
static size_t compare_report(struct trace_session *s, sqlite3 *db, enum report_id id, const char *view,
                             const char *const *cols)
{
	struct report *r = report_build(s, id);
	const struct report_def *def = report_get_def(r);
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT * FROM %s", view);
	sqlite3_stmt *st = prep(db, sql);
	assert_int_equal(sqlite3_column_count(st), def->ncols);
	for (size_t c = 0; c < def->ncols; c++)
		assert_string_equal(sqlite3_column_name(st, (int)c), cols[c]);
	struct report_value vals[16];
	size_t n = report_row_count(r);
	for (size_t row = 0; row < n; row++) {
		if (sqlite3_step(st) != SQLITE_ROW)
			fail_msg("%s: %zu rows, %s has %zu", view, row, def->name, n);
		report_row(r, row, vals);
		for (size_t c = 0; c < def->ncols; c++) {
			int type = sqlite3_column_type(st, (int)c);
			char what[128];
			snprintf(what, sizeof(what), "%s row %zu column %s", view, row, cols[c]);
			switch (vals[c].type) {
			case REPORT_INT:
				if (type != SQLITE_INTEGER || sqlite3_column_int64(st, (int)c) != vals[c].i)
					fail_msg("%s: %lld (type %d) != %lld", what,
					         (long long)sqlite3_column_int64(st, (int)c), type,
					         (long long)vals[c].i);
				break;
			case REPORT_FLOAT:
				if (type != SQLITE_FLOAT)
					fail_msg("%s: type %d, not REAL", what, type);
				assert_close(sqlite3_column_double(st, (int)c), vals[c].f, what);
				break;
			case REPORT_TEXT:
				if (type != SQLITE_TEXT ||
				    (size_t)sqlite3_column_bytes(st, (int)c) != vals[c].len ||
				    memcmp(sqlite3_column_text(st, (int)c), vals[c].s, vals[c].len) != 0)
					fail_msg("%s: '%s' != '%.*s'", what, sqlite3_column_text(st, (int)c),
					         (int)vals[c].len, vals[c].s);
				break;
			default:
				if (type != SQLITE_NULL)
					fail_msg("%s: not NULL", what);
				break;
			}
		}
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		fail_msg("%s has more rows than %s (%zu)", view, def->name, n);
	sqlite3_finalize(st);
	report_free(r);
	return n;
}

/* Compares every summary view with its report; returns the total rows. */
static size_t compare_all_reports(struct trace_session *s, sqlite3 *db)
{
	size_t rows = 0;
	for (size_t i = 0; i < sizeof(summaries) / sizeof(summaries[0]); i++)
		rows += compare_report(s, db, summaries[i].id, summaries[i].view, summaries[i].cols);
	return rows;
}

/* --- the hand-built session ---------------------------------------------------- */

struct edge {
	struct trace_session *s;
	uint32_t thread, thread2, stream, ocl_stream;
	uint32_t mydomain; /* string id of the NVTX domain name */
};

/* Appends an event built from the arguments; asserts it was taken. */
static void put(struct trace_session *s, uint8_t kind, uint32_t track, uint32_t name, int64_t start,
                int64_t dur, uint32_t corr, uint8_t flags, uint16_t sub, uint64_t u)
{
	struct trace_event ev = {0};
	ev.kind = kind;
	ev.track = track;
	ev.name = name;
	ev.start = start;
	ev.end = start + dur;
	ev.correlation = corr;
	ev.flags = flags;
	ev.sub = sub;
	ev.u.bytes = u;
	assert_int_equal(trace_session_append(s, &ev), 0);
}

/* The `u` of an API event: callback id and stack id. */
static uint64_t api_u(uint32_t cbid, uint32_t stack)
{
	struct trace_event ev = {0};
	ev.u.api.cbid = cbid;
	ev.u.api.stack = stack;
	return ev.u.bytes;
}

/* An NVTX attribute set with a payload of `type` and raw bits `bits`. */
static uint64_t nvtx_u(struct trace_session *s, uint32_t domain, uint8_t type, uint64_t bits)
{
	struct trace_nvtx_attr a = {0};
	a.domain = domain;
	a.payload_type = type;
	a.payload = bits;
	return trace_session_add_nvtx_attr(s, &a);
}

static uint64_t double_bits(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof(b));
	return b;
}

static uint64_t float_bits(float f)
{
	uint32_t b;
	memcpy(&b, &f, sizeof(b));
	return b;
}

/*
 * The hand-built session. Kernels (stream 7 of pid 100): saxpy 10, 20, 30,
 * 40 ns (+ one open, 1 ms), tie_b 100, tie_a 50 + 50, matmul 5; an OpenCL
 * kernel of 77 on device 5. Totals: saxpy, tie_b and tie_a tie at 100, so
 * they come by string id: saxpy, tie_b, tie_a.
 */
static void edge_build(struct edge *f)
{
	struct trace_session *s = f->s = trace_session_new();
	uint32_t saxpy = trace_session_intern_cstr(s, SAXPY_MANGLED);
	uint32_t tie_b = trace_session_intern_cstr(s, "tie_b");
	uint32_t tie_a = trace_session_intern_cstr(s, "tie_a");
	uint32_t matmul = trace_session_intern_cstr(s, MATMUL_MANGLED);
	uint32_t ocl = trace_session_intern_cstr(s, "ocl_kernel");
	f->mydomain = trace_session_intern_cstr(s, "mydomain");

	struct trace_process p = {.pid = 100, .ppid = 1, .state = TRACE_PROC_EXITED};
	p.command = trace_session_intern_cstr(s, "./app --flag x");
	trace_session_set_process(s, &p);
	p.pid = 200;
	p.command = trace_session_intern_cstr(s, "worker");
	trace_session_set_process(s, &p);

	struct trace_device d = {.id = 0, .api = TRACE_DEVICE_CUDA, .cc_major = 9, .sm_count = 132};
	d.name = trace_session_intern_cstr(s, "Test GPU");
	for (int i = 0; i < 16; i++)
		d.uuid[i] = (uint8_t)i;
	d.global_memory = UINT64_C(85520809984);
	d.warp_size = 32;
	d.max_threads_per_sm = 2048;
	d.core_clock_khz = 1980000;
	d.memory_clock_khz = 2619000;
	d.memory_bus_width = 5120;
	trace_session_set_device(s, &d);
	struct trace_device od = {.id = 5, .api = TRACE_DEVICE_OPENCL};
	od.name = trace_session_intern_cstr(s, "pocl cpu");
	trace_session_set_device(s, &od);

	struct trace_track_info ti = {.kind = TRACE_TRACK_THREAD, .pid = 100, .tid = 101};
	ti.name = trace_session_intern_cstr(s, "main");
	f->thread = trace_session_add_track(s, &ti);
	struct trace_track_info t2 = {.kind = TRACE_TRACK_THREAD, .pid = 200, .tid = 202};
	f->thread2 = trace_session_add_track(s, &t2);
	struct trace_track_info st = {
	    .kind = TRACE_TRACK_STREAM, .pid = 100, .device = 0, .context = 1, .stream = 7};
	st.name = trace_session_intern_cstr(s, "default");
	f->stream = trace_session_add_track(s, &st);
	struct trace_track_info os = {.kind = TRACE_TRACK_STREAM, .pid = 100, .device = 5, .stream = 1};
	f->ocl_stream = trace_session_add_track(s, &os);

	struct trace_launch l = {.grid = {4096, 1, 1}, .block = {256, 1, 1}, .registers = 32};
	l.static_smem = 1024;
	l.dynamic_smem = 2048;
	uint32_t launch = trace_session_add_launch(s, &l);

	/* Kernels, each launched by a cudaLaunchKernel with its correlation id. */
	uint32_t launch_fn = trace_session_intern_cstr(s, "cudaLaunchKernel");
	for (int i = 0; i < 4; i++) {
		put(s, TRACE_KERNEL, f->stream, saxpy, 1000 + 100 * i, 10 * (i + 1), 10 + i, 0, 0, launch);
		put(s, TRACE_API, f->thread, launch_fn, 990 + 100 * i, 5, 10 + i, TRACE_API_CUDA_RUNTIME,
		    i == 3 ? 1 : 0, api_u(211, 0));
	}
	put(s, TRACE_KERNEL, f->stream, saxpy, 2000, 1000000, 20, TRACE_FLAG_OPEN, 0, launch);
	put(s, TRACE_KERNEL, f->stream, tie_b, 1010000, 100, 21, 0, 0, 0);
	put(s, TRACE_KERNEL, f->stream, tie_a, 1011000, 50, 22, 0, 0, 0);
	put(s, TRACE_KERNEL, f->stream, tie_a, 1012000, 50, 23, 0, 0, 0);
	put(s, TRACE_KERNEL, f->stream, matmul, 1013000, 5, 24, 0, 0, 0);
	put(s, TRACE_KERNEL, f->ocl_stream, ocl, 1014000, 77, 25, 0, 0, 0);

	/* Copies and a memset: HtoD 100 + 200 ns (1000 B each), DtoH 5 ns,
	 * copy kind 20 (out of range: Unknown) 3 ns, an open copy. */
	put(s, TRACE_MEMCPY, f->stream, 0, 3000, 100, 30, 0, trace_memcpy_sub(1, 1, 3), 1000);
	put(s, TRACE_MEMCPY, f->stream, 0, 3200, 200, 31, 0, trace_memcpy_sub(1, 1, 3), 1000);
	put(s, TRACE_MEMCPY, f->stream, 0, 3500, 5, 32, 0, trace_memcpy_sub(2, 3, 2), 10);
	put(s, TRACE_MEMCPY, f->stream, 0, 3600, 3, 33, 0, trace_memcpy_sub(20, 0, 0), 7);
	put(s, TRACE_MEMCPY, f->stream, 0, 3700, 9999, 34, TRACE_FLAG_OPEN, trace_memcpy_sub(1, 1, 3), 5);
	put(s, TRACE_MEMSET, f->stream, 0, 3800, 9, 35, 0, TRACE_MEM_DEVICE, 4096);

	/* Syncs: a device sync (reported as a context sync) and a stream sync. */
	put(s, TRACE_SYNC, f->stream, 0, 4000, 50, 40, 0, TRACE_SYNC_DEVICE, 0);
	put(s, TRACE_SYNC, f->stream, 0, 4100, 20, 41, 0, TRACE_SYNC_STREAM, 0);

	/* API calls of the other domains, and an open one. */
	put(s, TRACE_API, f->thread, trace_session_intern_cstr(s, "cuLaunchKernel"), 5000, 7, 50,
	    TRACE_API_CUDA_DRIVER, 0, api_u(307, 0));
	put(s, TRACE_API, f->thread, trace_session_intern_cstr(s, "clEnqueueNDRangeKernel"), 5100, 8, 51,
	    TRACE_API_OPENCL, 0, api_u(5, 0));
	put(s, TRACE_API, f->thread2, trace_session_intern_cstr(s, "cudaDeviceSynchronize"), 5200, 80000, 52,
	    TRACE_API_CUDA_RUNTIME | TRACE_FLAG_OPEN, 0, api_u(165, 0));

	/* NVTX: "step" push/pop 100 + 300 and start/end 1000 (range id 55);
	 * "tie" 70 in both styles (PushPop first); "inner" 50 in mydomain; an
	 * open range; marks with every payload type. */
	uint32_t step = trace_session_intern_cstr(s, "step");
	uint32_t tie = trace_session_intern_cstr(s, "tie");
	uint64_t in_domain = nvtx_u(s, f->mydomain, TRACE_NVTX_PAYLOAD_DOUBLE, double_bits(-2.5));
	put(s, TRACE_NVTX_RANGE, f->thread, step, 6000, 100, 0, 0, 0, 0);
	put(s, TRACE_NVTX_RANGE, f->thread, step, 6200, 300, 0, 0, 0, 0);
	put(s, TRACE_NVTX_RANGE, f->thread, step, 6000, 1000, 55, TRACE_FLAG_NVTX_STARTEND, 0, 0);
	put(s, TRACE_NVTX_RANGE, f->thread, tie, 7000, 70, 0, 0, 0, 0);
	put(s, TRACE_NVTX_RANGE, f->thread, tie, 7100, 70, 56, TRACE_FLAG_NVTX_STARTEND, 0, 0);
	put(s, TRACE_NVTX_RANGE, f->thread, trace_session_intern_cstr(s, "inner"), 6210, 50, 0, 0, 0,
	    in_domain);
	put(s, TRACE_NVTX_RANGE, f->thread2, trace_session_intern_cstr(s, "never_ends"), 8000, 500, 0,
	    TRACE_FLAG_OPEN, 0, 0);
	static const struct {
		const char *name;
		uint8_t type;
		uint64_t bits;
	} marks[] = {
	    {"m_u64", TRACE_NVTX_PAYLOAD_U64, UINT64_C(12345678901234)},
	    {"m_i64", TRACE_NVTX_PAYLOAD_I64, (uint64_t)INT64_C(-5)},
	    {"m_u32", TRACE_NVTX_PAYLOAD_U32, UINT32_C(4000000000)},
	    {"m_i32", TRACE_NVTX_PAYLOAD_I32, (uint32_t)-7},
	    {"m_float", TRACE_NVTX_PAYLOAD_FLOAT, 0},
	    {"m_double", TRACE_NVTX_PAYLOAD_DOUBLE, 0},
	    {"m_subnormal", TRACE_NVTX_PAYLOAD_DOUBLE, 1},
	    {"m_inf", TRACE_NVTX_PAYLOAD_FLOAT, 0x7f800000},
	    {"m_none", TRACE_NVTX_PAYLOAD_NONE, 0},
	};
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		uint64_t bits = marks[i].bits;
		if (!strcmp(marks[i].name, "m_float"))
			bits = float_bits(1.5f);
		if (!strcmp(marks[i].name, "m_double"))
			bits = double_bits(-1234.0625e100);
		uint64_t attr = nvtx_u(s, i == 0 ? f->mydomain : 0, marks[i].type, bits);
		put(s, TRACE_NVTX_MARK, f->thread, trace_session_intern_cstr(s, marks[i].name),
		    9000 + (int64_t)i, 0, 0, 0, 0, attr);
	}
	trace_session_finish(s);
}

static int edge_setup(void **state)
{
	struct edge *f = calloc(1, sizeof(*f));
	edge_build(f);
	*state = f;
	return 0;
}

static int edge_teardown(void **state)
{
	struct edge *f = *state;
	trace_session_delete(f->s);
	free(f);
	return 0;
}

/* --- summary views ------------------------------------------------------------ */

static void test_edge_summaries_equal_reports(void **state)
{
	struct edge *f = *state;
	sqlite3 *db = write_open(f->s, "edge.db");
	assert_true(compare_all_reports(f->s, db) > 0);
	sqlite3_close(db);
}

/* The rows of the hand session, from numbers computed here. */
static void test_edge_summary_values(void **state)
{
	struct edge *f = *state;
	sqlite3 *db = write_open(f->s, "edge-values.db");

	/* kernel_summary: totals 100, 100, 100, 77, 5 (OpenCL kernels count,
	 * as in tstop stats; the open kernel does not). */
	const char *order[] = {SAXPY_SHOWN, "tie_b", "tie_a", "ocl_kernel", MATMUL_SHOWN};
	sqlite3_stmt *st = prep(db, "SELECT name, total_ns, instances FROM kernel_summary");
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), order[i]);
	}
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	st = prep(db, "SELECT time_percent, total_ns, instances, avg_ns, med_ns, min_ns, max_ns, stddev_ns"
	              " FROM kernel_summary WHERE name = '" SAXPY_SHOWN "'");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_close(sqlite3_column_double(st, 0), 100.0 / 382.0 * 100.0, "time_percent");
	assert_int_equal(sqlite3_column_int64(st, 1), 100);
	assert_int_equal(sqlite3_column_int64(st, 2), 4);
	assert_close(sqlite3_column_double(st, 3), 25.0, "avg_ns");
	assert_close(sqlite3_column_double(st, 4), 25.0, "med_ns (mean of the middle two)");
	assert_int_equal(sqlite3_column_int64(st, 5), 10);
	assert_int_equal(sqlite3_column_int64(st, 6), 40);
	assert_close(sqlite3_column_double(st, 7), sqrt(500.0 / 3.0), "stddev_ns (n - 1)");
	sqlite3_finalize(st);
	assert_close(q_real(db, "SELECT stddev_ns FROM kernel_summary WHERE name = 'tie_a'"), 0.0,
	             "stddev 0");
	assert_close(q_real(db, "SELECT stddev_ns FROM kernel_summary WHERE name = 'tie_b'"), 0.0, "n = 1");
	assert_close(q_real(db, "SELECT med_ns FROM kernel_summary WHERE name = 'tie_b'"), 100.0,
	             "median n = 1");

	/* api_summary: every domain, the open call left out. */
	assert_int_equal(q_int(db, "SELECT COUNT(*) FROM api_summary"), 3);
	assert_int_equal(q_int(db, "SELECT num_calls FROM api_summary WHERE name = 'cudaLaunchKernel'"), 4);
	assert_int_equal(q_int(db, "SELECT COUNT(*) FROM api_summary WHERE name = 'cudaDeviceSynchronize'"),
	                 0);

	/* memop_time_summary: HtoD 300, memset 9, DtoH 5, Unknown 3. */
	const char *ops[] = {"[CUDA memcpy Host-to-Device]", "[CUDA memset]", "[CUDA memcpy Device-to-Host]",
	                     "[CUDA memcpy Unknown]"};
	const int64_t totals[] = {300, 9, 5, 3};
	st = prep(db, "SELECT operation, total_ns FROM memop_time_summary");
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), ops[i]);
		assert_int_equal(sqlite3_column_int64(st, 1), totals[i]);
	}
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_close(q_real(db, "SELECT total_mb FROM memop_size_summary"
	                        " WHERE operation = '[CUDA memcpy Host-to-Device]'"),
	             0.002, "total_mb");
	q_text_is(db, "SELECT operation FROM memop_size_summary LIMIT 1", "[CUDA memset]");

	/* nvtx_summary: step StartEnd 1000, step PushPop 400, tie PushPop 70,
	 * tie StartEnd 70, inner 50; Time (%) over both styles. */
	const char *ranges[] = {"step", "step", "tie", "tie", "inner"};
	const char *styles[] = {"StartEnd", "PushPop", "PushPop", "StartEnd", "PushPop"};
	st = prep(db, "SELECT range, style, time_percent FROM nvtx_summary");
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), ranges[i]);
		assert_string_equal((const char *)sqlite3_column_text(st, 1), styles[i]);
		if (i == 0)
			assert_close(sqlite3_column_double(st, 2), 1000.0 / 1590.0 * 100.0,
			             "nvtx time_percent");
	}
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Synthetic sessions of several shapes: every summary view equals its report. */
static void test_synth_summaries_equal_reports(void **state)
{
	(void)state;
	static const struct {
		uint64_t events;
		uint32_t processes, threads, devices, streams;
		uint64_t seed;
	} shapes[] = {
	    {3000, 1, 1, 1, 1, 7},
	    {20000, 1, 2, 1, 3, 1},
	    {30000, 3, 4, 2, 4, 99},
	};
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct synth_options o;
		synth_options_init(&o);
		o.events = shapes[i].events;
		o.processes = shapes[i].processes;
		o.threads = shapes[i].threads;
		o.devices = shapes[i].devices;
		o.streams = shapes[i].streams;
		o.seed = shapes[i].seed;
		struct err e = {{0}};
		struct trace_session *s = synth_session(&o, NULL, &e);
		if (!s)
			fail_msg("synth_session: %s", e.msg);
		char name[32];
		snprintf(name, sizeof(name), "synth-%zu.db", i);
		sqlite3 *db = write_open(s, name);
		size_t rows = compare_all_reports(s, db);
		assert_true(rows >= 10);
		sqlite3_close(db);
		trace_session_delete(s);
	}
}

/* An empty session: every view runs and returns nothing (or its constants). */
static void test_empty_session(void **state)
{
	(void)state;
	struct trace_session *s = trace_session_new();
	trace_session_finish(s);
	sqlite3 *db = write_open(s, "empty.db");
	assert_int_equal(compare_all_reports(s, db), 0);
	sqlite3_stmt *st = prep(db, "SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name");
	int views = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char sql[160];
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM \"%s\"", name);
		int64_t n = q_int(db, sql);
		if (!strncmp(name, "ENUM_", 5))
			assert_true(n > 0);
		else if (!strcmp(name, "StringIds"))
			assert_int_equal(n, 1); /* the empty string, id 0 */
		else if (n != 0)
			fail_msg("view %s has %lld rows in an empty session", name, (long long)n);
		views++;
	}
	sqlite3_finalize(st);
	assert_true(views >= 20);
	sqlite3_close(db);
	trace_session_delete(s);
}

/* --- nsys-compatible views ----------------------------------------------------- */

static void test_nsys_kernel_view(void **state)
{
	struct edge *f = *state;
	sqlite3 *db = write_open(f->s, "nsys-kernel.db");
	/* Eight closed CUDA kernels: not the open one, not the OpenCL one. */
	assert_int_equal(q_int(db, "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL"), 8);
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE globalPid = %lld",
	         (long long)GPID(100));
	assert_int_equal(q_int(db, sql), 8);
	q_text_is(db,
	          "SELECT s.value FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.shortName"
	          " WHERE k.correlationId = 10",
	          "saxpy");
	q_text_is(
	    db,
	    "SELECT s.value FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.demangledName"
	    " WHERE k.correlationId = 10",
	    SAXPY_SHOWN);
	q_text_is(db,
	          "SELECT s.value FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.mangledName"
	          " WHERE k.correlationId = 10",
	          SAXPY_MANGLED);
	snprintf(sql, sizeof(sql),
	         "SELECT k.demangledName - k.mangledName = %lld AND k.shortName - k.mangledName = %lld"
	         " FROM CUPTI_ACTIVITY_KIND_KERNEL k WHERE k.correlationId = 10",
	         (long long)DB_DEMANGLED_ID_BASE, (long long)DB_SHORT_NAME_ID_BASE);
	assert_int_equal(q_int(db, sql), 1);
	/* A plain C name: the three ids are the same string. */
	assert_int_equal(q_int(db, "SELECT demangledName = mangledName AND shortName = mangledName"
	                           " FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE correlationId = 22"),
	                 1);
	assert_int_equal(q_int(db, "SELECT gridX * 1000 + blockX FROM CUPTI_ACTIVITY_KIND_KERNEL"
	                           " WHERE correlationId = 11"),
	                 4096 * 1000 + 256);
	assert_int_equal(q_int(db, "SELECT registersPerThread + staticSharedMemory + dynamicSharedMemory"
	                           " FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE correlationId = 11"),
	                 32 + 1024 + 2048);
	assert_int_equal(q_int(db, "SELECT deviceId * 100 + contextId * 10 + streamId"
	                           " FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE correlationId = 12"),
	                 0 + 10 + 7);
	q_null(db, "SELECT gridX FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE correlationId = 21"); /* no launch */
	/* Kernels join their runtime call by correlation id. */
	assert_int_equal(q_int(db, "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k"
	                           " JOIN CUPTI_ACTIVITY_KIND_RUNTIME r ON r.correlationId = k.correlationId"
	                           " JOIN StringIds s ON s.id = r.nameId WHERE s.value = 'cudaLaunchKernel'"),
	                 4);
	sqlite3_close(db);
}

static void test_nsys_memory_views(void **state)
{
	struct edge *f = *state;
	sqlite3 *db = write_open(f->s, "nsys-mem.db");
	assert_int_equal(q_int(db, "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY"), 4);
	/* CUPTI's Pageable (1) and Device (3) are nsys's 0 and 2. */
	assert_int_equal(q_int(db, "SELECT srcKind * 10 + dstKind FROM CUPTI_ACTIVITY_KIND_MEMCPY"
	                           " WHERE correlationId = 30"),
	                 2);
	q_text_is(
	    db,
	    "SELECT o.label || ' ' || s.label || ' ' || d.label FROM CUPTI_ACTIVITY_KIND_MEMCPY m"
	    " JOIN ENUM_CUDA_MEMCPY_OPER o ON o.id = m.copyKind JOIN ENUM_CUDA_MEM_KIND s ON s.id = m.srcKind"
	    " JOIN ENUM_CUDA_MEM_KIND d ON d.id = m.dstKind WHERE m.correlationId = 32",
	    "Device-to-Host Device Pinned");
	q_text_is(
	    db,
	    "SELECT s.label FROM CUPTI_ACTIVITY_KIND_MEMCPY m JOIN ENUM_CUDA_MEM_KIND s ON s.id = m.srcKind"
	    " WHERE m.correlationId = 33",
	    "Unknown");
	assert_int_equal(q_int(db, "SELECT SUM(bytes) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE copyKind = 1"),
	                 2000);
	q_text_is(db,
	          "SELECT k.label || ' ' || m.bytes FROM CUPTI_ACTIVITY_KIND_MEMSET m"
	          " JOIN ENUM_CUDA_MEM_KIND k ON k.id = m.memKind",
	          "Device 4096");
	/* A device sync is a context sync for CUPTI, and so for nsys. */
	q_text_is(db,
	          "SELECT e.label FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION y"
	          " JOIN ENUM_CUPTI_SYNC_TYPE e ON e.id = y.syncType WHERE y.correlationId = 40",
	          "Context sync");
	q_text_is(db,
	          "SELECT e.label FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION y"
	          " JOIN ENUM_CUPTI_SYNC_TYPE e ON e.id = y.syncType WHERE y.correlationId = 41",
	          "Stream sync");
	sqlite3_close(db);
}

static void test_nsys_runtime_view(void **state)
{
	struct edge *f = *state;
	sqlite3 *db = write_open(f->s, "nsys-runtime.db");
	/* Four runtime calls and one driver call: not OpenCL, not the open call. */
	assert_int_equal(q_int(db, "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME"), 5);
	assert_int_equal(q_int(db, "SELECT eventClass FROM CUPTI_ACTIVITY_KIND_RUNTIME r"
	                           " JOIN StringIds s ON s.id = r.nameId WHERE s.value = 'cuLaunchKernel'"),
	                 1);
	assert_int_equal(q_int(db, "SELECT SUM(eventClass) FROM CUPTI_ACTIVITY_KIND_RUNTIME r"
	                           " JOIN StringIds s ON s.id = r.nameId WHERE s.value = 'cudaLaunchKernel'"),
	                 0);
	assert_int_equal(
	    q_int(db, "SELECT returnValue FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE correlationId = 13"), 1);
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE globalTid = %lld",
	         (long long)GTID(100, 101));
	assert_int_equal(q_int(db, sql), 5);
	/* ThreadNames: the named thread only; its globalTid decodes to pid and tid. */
	assert_int_equal(q_int(db, "SELECT COUNT(*) FROM ThreadNames"), 1);
	q_text_is(db, "SELECT s.value FROM ThreadNames t JOIN StringIds s ON s.id = t.nameId", "main");
	assert_int_equal(q_int(db, "SELECT ((globalTid >> 24) & 16777215) * 1000 + (globalTid & 16777215)"
	                           " FROM ThreadNames"),
	                 100 * 1000 + 101);
	snprintf(sql, sizeof(sql), "SELECT globalTid = %lld FROM ThreadNames", (long long)GTID(100, 101));
	assert_int_equal(q_int(db, sql), 1);
	sqlite3_close(db);
}

static void test_nsys_nvtx_view(void **state)
{
	struct edge *f = *state;
	sqlite3 *db = write_open(f->s, "nsys-nvtx.db");
	q_text_is(db,
	          "SELECT group_concat(eventType || ':' || n, ' ') FROM (SELECT eventType, COUNT(*) AS n"
	          " FROM NVTX_EVENTS GROUP BY eventType ORDER BY eventType)",
	          "34:9 59:5 60:2 75:1");
	/* Domain creation, named, with the id its events carry. */
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT domainId = %u FROM NVTX_EVENTS WHERE eventType = 75", f->mydomain);
	assert_int_equal(q_int(db, sql), 1);
	q_text_is(db, "SELECT text FROM NVTX_EVENTS WHERE eventType = 75", "mydomain");
	assert_int_equal(q_int(db, "SELECT start FROM NVTX_EVENTS WHERE eventType = 75"), 6210);
	assert_int_equal(q_int(db,
	                       "SELECT COUNT(*) FROM NVTX_EVENTS n JOIN NVTX_EVENTS d"
	                       " ON d.eventType = 75 AND d.domainId = n.domainId WHERE n.eventType <> 75"),
	                 2);
	/* Ranges: end and duration; the open range and marks have no end. */
	assert_int_equal(
	    q_int(db, "SELECT SUM(end - start) FROM NVTX_EVENTS WHERE text = 'step' AND eventType = 59"),
	    400);
	assert_int_equal(q_int(db, "SELECT rangeId FROM NVTX_EVENTS WHERE text = 'step' AND eventType = 60"),
	                 55);
	q_null(db, "SELECT rangeId FROM NVTX_EVENTS WHERE text = 'step' AND eventType = 59 LIMIT 1");
	q_null(db, "SELECT end FROM NVTX_EVENTS WHERE text = 'never_ends'");
	assert_int_equal(q_int(db, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = 34 AND end IS NULL"),
	                 9);
	snprintf(sql, sizeof(sql), "SELECT globalTid = %lld FROM NVTX_EVENTS WHERE text = 'never_ends'",
	         (long long)GTID(200, 202));
	assert_int_equal(q_int(db, sql), 1);
	/* Payloads, each in its own column, floats rebuilt from their bits. */
	assert_int_equal(q_int(db, "SELECT uint64Value FROM NVTX_EVENTS WHERE text = 'm_u64'"),
	                 INT64_C(12345678901234));
	assert_int_equal(q_int(db, "SELECT int64Value FROM NVTX_EVENTS WHERE text = 'm_i64'"), -5);
	assert_int_equal(q_int(db, "SELECT uint32Value FROM NVTX_EVENTS WHERE text = 'm_u32'"), 4000000000LL);
	assert_int_equal(q_int(db, "SELECT int32Value FROM NVTX_EVENTS WHERE text = 'm_i32'"), -7);
	assert_true(q_real(db, "SELECT floatValue FROM NVTX_EVENTS WHERE text = 'm_float'") == 1.5);
	assert_true(q_real(db, "SELECT doubleValue FROM NVTX_EVENTS WHERE text = 'm_double'") ==
	            -1234.0625e100);
	assert_true(q_real(db, "SELECT doubleValue FROM NVTX_EVENTS WHERE text = 'inner'") == -2.5);
	assert_true(q_real(db, "SELECT doubleValue FROM NVTX_EVENTS WHERE text = 'm_subnormal'") == 5e-324);
	assert_true(isinf(q_real(db, "SELECT floatValue FROM NVTX_EVENTS WHERE text = 'm_inf'")));
	q_null(db,
	       "SELECT COALESCE(uint64Value, int64Value, doubleValue, uint32Value, int32Value, floatValue)"
	       " FROM NVTX_EVENTS WHERE text = 'm_none'");
	q_null(db, "SELECT int64Value FROM NVTX_EVENTS WHERE text = 'm_u64'");
	sqlite3_close(db);
}

static void test_nsys_target_views(void **state)
{
	struct edge *f = *state;
	sqlite3 *db = write_open(f->s, "nsys-target.db");
	/* The CUDA device only, with nsys's units and uuid form. */
	assert_int_equal(q_int(db, "SELECT COUNT(*) FROM TARGET_INFO_GPU"), 1);
	q_text_is(db, "SELECT name FROM TARGET_INFO_GPU", "Test GPU");
	q_text_is(db, "SELECT uuid FROM TARGET_INFO_GPU", "00010203-0405-0607-0809-0a0b0c0d0e0f");
	assert_int_equal(q_int(db, "SELECT memoryBandwidth FROM TARGET_INFO_GPU"), INT64_C(3352320000000));
	assert_int_equal(q_int(db, "SELECT clockRate FROM TARGET_INFO_GPU"), INT64_C(1980000000));
	assert_int_equal(q_int(db, "SELECT maxWarpsPerSm FROM TARGET_INFO_GPU"), 64);
	assert_int_equal(q_int(db, "SELECT vmId FROM TARGET_INFO_GPU"), INT64_C(1) << 48);
	assert_int_equal(q_int(db, "SELECT computeMajor * 10 + computeMinor FROM TARGET_INFO_GPU"), 90);
	/* nsys's enumeration rows. */
	assert_int_equal(q_int(db, "SELECT COUNT(*) FROM ENUM_CUDA_MEMCPY_OPER"), 14);
	q_text_is(db, "SELECT name FROM ENUM_CUDA_MEMCPY_OPER WHERE id = 10", "CUDA_MEMCPY_KIND_PTOP");
	assert_int_equal(q_int(db, "SELECT COUNT(*) FROM ENUM_CUDA_MEM_KIND"), 8);
	q_text_is(db, "SELECT label FROM ENUM_CUDA_MEM_KIND WHERE id = 5", "Device Static");
	/* PROCESSES. */
	assert_int_equal(
	    q_int(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'PROCESSES' AND type = 'view'"), 1);
	{
		char sql[256];
		snprintf(sql, sizeof(sql), "SELECT name FROM PROCESSES WHERE globalPid = %lld",
		         (long long)GPID(100));
		q_text_is(db, sql, "./app");
		q_text_is(db, "SELECT name FROM PROCESSES WHERE pid = 200", "worker");
	}
	/* The convenience views. */
	q_text_is(db,
	          "SELECT group_concat(COALESCE(name, '-'), ',') FROM (SELECT * FROM threads ORDER BY tid)",
	          "main,-");
	q_text_is(db,
	          "SELECT group_concat(api || ':' || COALESCE(device_name, '-'), ',')"
	          " FROM (SELECT * FROM streams ORDER BY device)",
	          "cuda:Test GPU,opencl:pocl cpu");
	assert_int_equal(q_int(db, "SELECT COUNT(*) FROM kernels_named"), 10);
	assert_int_equal(q_int(db, "SELECT SUM(open) FROM kernels_named"), 1);
	q_text_is(db, "SELECT short_name FROM kernels_named WHERE correlation = 24", "matmul");
	sqlite3_close(db);
}

/* A join on StringIds reads the strings once (materialized, then searched
 * by id), never once per outer row. */
static void test_string_ids_join_plan(void **state)
{
	struct edge *f = *state;
	sqlite3 *db = write_open(f->s, "plan.db");
	static const char *const joins[] = {
	    "EXPLAIN QUERY PLAN SELECT s.value, COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k"
	    " JOIN StringIds s ON s.id = k.shortName GROUP BY s.value",
	    "EXPLAIN QUERY PLAN SELECT s.value FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = "
	    "r.nameId",
	};
	for (size_t i = 0; i < 2; i++) {
		sqlite3_stmt *st = prep(db, joins[i]);
		bool outer_seen = false;
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(st, 3);
			if (!strncmp(detail, "SCAN e", 6) || !strncmp(detail, "SEARCH e", 8))
				outer_seen = true;
			/* Scanning s inside the loop over the events is per-row work. */
			if (outer_seen && !strncmp(detail, "SCAN s", 6) &&
			    strncmp(detail, "SCAN s USING", 12))
				fail_msg("StringIds scanned per row: %s", detail);
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

/* --- docs/schema.md examples ---------------------------------------------------- */

/* The repository's root, from this file's path (CMake compiles with full
 * paths) or $TSTOP_SOURCE_DIR. */
static void source_dir(char *out, size_t size)
{
	const char *env = getenv("TSTOP_SOURCE_DIR");
	if (env && *env) {
		snprintf(out, size, "%s", env);
		return;
	}
	snprintf(out, size, "%s", __FILE__);
	char *cut = strstr(out, "/tests/unit/");
	if (!cut)
		fail_msg("cannot find the source directory from %s: set TSTOP_SOURCE_DIR", __FILE__);
	*cut = '\0';
}

/* Every ```sql block of docs/schema.md runs on a synthetic session and
 * returns at least one row. */
static void test_schema_examples(void **state)
{
	(void)state;
	char path[512];
	source_dir(path, sizeof(path));
	strncat(path, "/docs/schema.md", sizeof(path) - strlen(path) - 1);
	FILE *fp = fopen(path, "r");
	if (!fp)
		fail_msg("cannot open %s", path);
	struct synth_options o;
	synth_options_init(&o);
	o.events = 20000;
	o.processes = 2;
	struct err e = {{0}};
	struct trace_session *s = synth_session(&o, NULL, &e);
	if (!s)
		fail_msg("synth_session: %s", e.msg);
	sqlite3 *db = write_open(s, "examples.db");

	char line[1024], sql[8192];
	size_t len = 0, examples = 0;
	bool in_sql = false;
	while (fgets(line, sizeof(line), fp)) {
		if (!in_sql) {
			in_sql = !strncmp(line, "```sql", 6);
			len = 0;
			sql[0] = '\0';
			continue;
		}
		if (strncmp(line, "```", 3) != 0) {
			assert_true(len + strlen(line) < sizeof(sql));
			memcpy(sql + len, line, strlen(line) + 1);
			len += strlen(line);
			continue;
		}
		in_sql = false;
		sqlite3_stmt *st = prep(db, sql);
		if (sqlite3_step(st) != SQLITE_ROW)
			fail_msg("docs/schema.md example returned no row: %s (%s)", sql, sqlite3_errmsg(db));
		while (sqlite3_step(st) == SQLITE_ROW)
			;
		sqlite3_finalize(st);
		examples++;
	}
	fclose(fp);
	assert_false(in_sql);
	print_message("%zu examples of docs/schema.md ran\n", examples);
	assert_true(examples >= 5);
	sqlite3_close(db);
	trace_session_delete(s);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(test_dir, sizeof(test_dir), "/tmp/tstop-test-db-views-XXXXXX");
	return mkdtemp(test_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_edge_summaries_equal_reports, edge_setup, edge_teardown),
	    cmocka_unit_test_setup_teardown(test_edge_summary_values, edge_setup, edge_teardown),
	    cmocka_unit_test(test_synth_summaries_equal_reports),
	    cmocka_unit_test(test_empty_session),
	    cmocka_unit_test_setup_teardown(test_nsys_kernel_view, edge_setup, edge_teardown),
	    cmocka_unit_test_setup_teardown(test_nsys_memory_views, edge_setup, edge_teardown),
	    cmocka_unit_test_setup_teardown(test_nsys_runtime_view, edge_setup, edge_teardown),
	    cmocka_unit_test_setup_teardown(test_nsys_nvtx_view, edge_setup, edge_teardown),
	    cmocka_unit_test_setup_teardown(test_nsys_target_views, edge_setup, edge_teardown),
	    cmocka_unit_test_setup_teardown(test_string_ids_join_plan, edge_setup, edge_teardown),
	    cmocka_unit_test(test_schema_examples),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
