/*
 * test_session.c - unit tests of the in-memory trace model (trace/session.h).
 *
 * Covers string interning (embedded NULs, long strings, hundreds of
 * thousands of strings, pointer stability), display names, the interned side
 * tables and their identity rules, track identity, event append validation,
 * sorting (sorted, reversed, random, nearly sorted and nested-call input)
 * against an independent check, lower_bound against a linear scan, counts and
 * time range, the replace-by-key tables and the enum names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace/session.h"

/* A deterministic xorshift64 generator for test data. */
static uint64_t rng_next(uint64_t *st)
{
	uint64_t x = *st;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *st = x;
}

/* --- strings -------------------------------------------------------------- */

static void test_intern_basic(void **state)
{
	struct trace_session *s = trace_session_new();
	size_t len = 99;

	assert_int_equal(trace_session_intern(s, "", 0), 0);
	assert_int_equal(trace_session_intern_cstr(s, ""), 0);
	assert_string_equal(trace_session_string(s, 0, &len), "");
	assert_int_equal(len, 0);
	assert_int_equal(trace_session_string_count(s), 1);

	uint32_t a = trace_session_intern_cstr(s, "cudaLaunchKernel");
	uint32_t b = trace_session_intern_cstr(s, "cudaMemcpyAsync");
	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	assert_int_equal(trace_session_intern(s, "cudaLaunchKernel", 16), a);
	assert_int_equal(trace_session_intern(s, "cudaLaunchKernelX", 16), a); /* only len bytes count */
	assert_int_equal(trace_session_intern(s, "cudaLaunch", 10), 3);
	assert_string_equal(trace_session_string(s, a, &len), "cudaLaunchKernel");
	assert_int_equal(len, 16);
	assert_string_equal(trace_session_string(s, 3, NULL), "cudaLaunch");
	assert_int_equal(trace_session_string_count(s), 4);

	/* unknown ids read as "" */
	len = 7;
	assert_string_equal(trace_session_string(s, 4, &len), "");
	assert_int_equal(len, 0);
	assert_string_equal(trace_session_string(s, UINT32_MAX, NULL), "");
	trace_session_delete(s);
	trace_session_delete(NULL);
}

static void test_intern_nul_bytes(void **state)
{
	struct trace_session *s = trace_session_new();
	size_t len;

	uint32_t a = trace_session_intern(s, "a\0b", 3);
	uint32_t c = trace_session_intern(s, "a\0c", 3);
	uint32_t plain = trace_session_intern(s, "a", 1);
	uint32_t nul1 = trace_session_intern(s, "\0", 1);
	uint32_t nul2 = trace_session_intern(s, "\0\0", 2);
	uint32_t ids[] = {a, c, plain, nul1, nul2};
	for (size_t i = 0; i < 5; i++) {
		assert_true(ids[i] != 0);
		for (size_t j = 0; j < i; j++)
			assert_true(ids[i] != ids[j]);
	}
	assert_int_equal(trace_session_intern(s, "a\0b", 3), a);
	assert_int_equal(trace_session_intern(s, "\0\0", 2), nul2);

	const char *p = trace_session_string(s, a, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "a\0b", 4); /* NUL-terminated after the bytes */
	assert_string_equal(p, "a");       /* reads short as a C string */
	p = trace_session_string(s, nul2, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(p, "\0\0\0", 3);
	trace_session_delete(s);
}

static void test_intern_long(void **state)
{
	struct trace_session *s = trace_session_new();
	size_t sizes[] = {(1u << 20) - 1, 1u << 20, 3u << 20, 70000};
	uint32_t ids[4];
	char *bufs[4];
	uint64_t st = 12345;

	for (size_t i = 0; i < 4; i++) {
		bufs[i] = malloc(sizes[i]);
		for (size_t j = 0; j < sizes[i]; j++)
			bufs[i][j] = (char)(rng_next(&st) & 0xff); /* NULs included */
		ids[i] = trace_session_intern(s, bufs[i], sizes[i]);
		assert_int_equal(ids[i], i + 1);
	}
	for (size_t i = 0; i < 4; i++) {
		size_t len;
		const char *p = trace_session_string(s, ids[i], &len);
		assert_int_equal(len, sizes[i]);
		assert_memory_equal(p, bufs[i], sizes[i]);
		assert_int_equal(p[len], '\0');
		assert_int_equal(trace_session_intern(s, bufs[i], sizes[i]), ids[i]);
		/* a string one byte shorter is another string */
		assert_int_equal(trace_session_intern(s, bufs[i], sizes[i] - 1), 5 + i);
	}
	for (size_t i = 0; i < 4; i++)
		free(bufs[i]);
	trace_session_delete(s);
}

static void test_intern_many(void **state)
{
	enum { N = 300000 };
	struct trace_session *s = trace_session_new();
	char buf[64];

	uint32_t first = trace_session_intern_cstr(s, "first");
	const char *first_p = trace_session_string(s, first, NULL);
	for (uint32_t i = 0; i < N; i++) {
		int n = snprintf(buf, sizeof(buf), "void kernel_%u<float>(float*, int)", i);
		if (i % 3 == 0)
			buf[5] = '\0'; /* some with a NUL inside */
		assert_int_equal(trace_session_intern(s, buf, (size_t)n), i + 2);
	}
	assert_int_equal(trace_session_string_count(s), N + 2);
	/* earlier pointers stay valid as the table grows */
	assert_ptr_equal(trace_session_string(s, first, NULL), first_p);
	assert_string_equal(first_p, "first");
	for (uint32_t i = 0; i < N; i++) {
		int n = snprintf(buf, sizeof(buf), "void kernel_%u<float>(float*, int)", i);
		if (i % 3 == 0)
			buf[5] = '\0';
		size_t len;
		const char *p = trace_session_string(s, i + 2, &len);
		assert_int_equal(len, (size_t)n);
		assert_memory_equal(p, buf, len);
		assert_int_equal(trace_session_intern(s, buf, (size_t)n), i + 2);
	}
	assert_int_equal(trace_session_string_count(s), N + 2);
	trace_session_delete(s);
}

static void test_display_name(void **state)
{
	struct trace_session *s = trace_session_new();

	uint32_t plain = trace_session_intern_cstr(s, "cudaLaunchKernel");
	uint32_t mm = trace_session_intern_cstr(s, "_Z6matmulPKfS0_Pfi");
	uint32_t tmpl = trace_session_intern_cstr(s, "_Z4gemmIfLi128EEvPT_i");
	uint32_t ns = trace_session_intern_cstr(
	    s, "_ZN2at6native29vectorized_elementwise_kernelINS0_11FillFunctorEEEviT_");
	uint32_t bad = trace_session_intern_cstr(s, "_Zgarbage!");
	uint32_t nul = trace_session_intern(s, "_Z6matmulPKfS0_Pfi\0x", 20);

	const char *p = trace_session_display_name(s, plain);
	assert_string_equal(p, "cudaLaunchKernel");
	assert_ptr_equal(p, trace_session_string(s, plain, NULL));
	assert_string_equal(trace_session_display_name(s, mm),
	                    "matmul(float const*, float const*, float*, int)");
	assert_string_equal(trace_session_display_name(s, tmpl), "void gemm<float, 128>(float*, int)");
	assert_string_equal(trace_session_display_name(s, ns),
	                    "void at::native::vectorized_elementwise_kernel<at::native::FillFunctor>(int, "
	                    "at::native::FillFunctor)");
	assert_string_equal(trace_session_display_name(s, bad), "_Zgarbage!");
	/* a name with a NUL inside is shown as it is */
	assert_ptr_equal(trace_session_display_name(s, nul), trace_session_string(s, nul, NULL));
	assert_string_equal(trace_session_display_name(s, 0), "");
	assert_string_equal(trace_session_display_name(s, 1000), "");

	/* cached: the same pointer each time */
	p = trace_session_display_name(s, mm);
	assert_ptr_equal(trace_session_display_name(s, mm), p);

	/* strings interned after the cache exists are served too */
	char buf[32];
	uint32_t last = 0;
	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "_Z%dkernel%dv", i < 10 ? 7 : 8, i);
		last = trace_session_intern_cstr(s, buf);
	}
	assert_string_equal(trace_session_display_name(s, last), "kernel99()");
	assert_string_equal(trace_session_display_name(s, mm),
	                    "matmul(float const*, float const*, float*, int)");
	trace_session_delete(s);
}

/* --- frames, stacks, side tables ------------------------------------------ */

static void test_frames_stacks(void **state)
{
	struct trace_session *s = trace_session_new();
	struct trace_frame f1 = {
	    .pc = 0x401000, .offset = 0x10, .function = 1, .module = 2, .file = 3, .line = 42};
	struct trace_frame f2 = f1;
	f2.line = 43;

	assert_int_equal(trace_session_frame_count(s), 1);
	assert_null(trace_session_frame(s, 0));
	assert_null(trace_session_frame(s, 1));
	uint32_t a = trace_session_add_frame(s, &f1);
	uint32_t b = trace_session_add_frame(s, &f2);
	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	assert_int_equal(trace_session_add_frame(s, &f1), a);
	assert_int_equal(trace_session_frame_count(s), 3);
	const struct trace_frame *f = trace_session_frame(s, b);
	assert_non_null(f);
	assert_int_equal(f->pc, 0x401000);
	assert_int_equal(f->line, 43);
	assert_null(trace_session_frame(s, 3));

	/* every field is identity */
	struct trace_frame g = f1;
	g.pc++;
	assert_int_equal(trace_session_add_frame(s, &g), 3);
	g = f1;
	g.module = 9;
	assert_int_equal(trace_session_add_frame(s, &g), 4);

	uint32_t ab[] = {a, b}, ba[] = {b, a}, abx[] = {a, b, 99}, aa[] = {a, a, a};
	uint32_t n;
	assert_int_equal(trace_session_stack_count(s), 1);
	assert_int_equal(trace_session_add_stack(s, ab, 0), 0);
	assert_int_equal(trace_session_add_stack(s, abx, 3), 0); /* unknown frame */
	uint32_t zero[] = {0};
	assert_int_equal(trace_session_add_stack(s, zero, 1), 0);
	uint32_t s1 = trace_session_add_stack(s, ab, 2);
	uint32_t s2 = trace_session_add_stack(s, ba, 2);
	uint32_t s3 = trace_session_add_stack(s, ab, 1);
	uint32_t s4 = trace_session_add_stack(s, aa, 3);
	assert_int_equal(s1, 1);
	assert_int_equal(s2, 2);
	assert_int_equal(s3, 3);
	assert_int_equal(s4, 4);
	assert_int_equal(trace_session_add_stack(s, ab, 2), s1);
	assert_int_equal(trace_session_stack_count(s), 5);
	const uint32_t *fr = trace_session_stack(s, s2, &n);
	assert_int_equal(n, 2);
	assert_int_equal(fr[0], b);
	assert_int_equal(fr[1], a);
	fr = trace_session_stack(s, s4, &n);
	assert_int_equal(n, 3);
	assert_int_equal(fr[2], a);
	n = 5;
	assert_null(trace_session_stack(s, 0, &n));
	assert_int_equal(n, 0);
	n = 5;
	assert_null(trace_session_stack(s, 5, &n));
	assert_int_equal(n, 0);

	/* many stacks: ids dense, lookups stable */
	uint32_t frames[8];
	for (uint32_t i = 0; i < 5000; i++) {
		for (uint32_t j = 0; j < 8; j++)
			frames[j] = 1 + (i >> (2 * j)) % 4;
		uint32_t id = trace_session_add_stack(s, frames, 1 + i % 8);
		assert_true(id >= 1 && id < trace_session_stack_count(s));
		fr = trace_session_stack(s, id, &n);
		assert_int_equal(n, 1 + i % 8);
		assert_memory_equal(fr, frames, n * sizeof(uint32_t));
		assert_int_equal(trace_session_add_stack(s, frames, 1 + i % 8), id);
	}
	trace_session_delete(s);
}

static void test_side_tables(void **state)
{
	struct trace_session *s = trace_session_new();

	struct trace_launch l1 = {
	    .grid = {128, 1, 1}, .block = {256, 1, 1}, .registers = 32, .static_smem = 1024};
	struct trace_launch l2 = l1;
	l2.dynamic_smem = 4096;
	struct trace_launch l3 = l1;
	l3.cluster[2] = 2;
	assert_int_equal(trace_session_launch_count(s), 1);
	assert_int_equal(trace_session_add_launch(s, &l1), 1);
	assert_int_equal(trace_session_add_launch(s, &l2), 2);
	assert_int_equal(trace_session_add_launch(s, &l3), 3);
	assert_int_equal(trace_session_add_launch(s, &l1), 1);
	assert_int_equal(trace_session_launch_count(s), 4);
	assert_int_equal(trace_session_launch(s, 2)->dynamic_smem, 4096);
	assert_int_equal(trace_session_launch(s, 3)->cluster[2], 2);
	assert_null(trace_session_launch(s, 0));
	assert_null(trace_session_launch(s, 4));

	/* NVTX attributes: identity is the fields, not the padding bytes */
	struct trace_nvtx_attr a1, a2;
	memset(&a1, 0x00, sizeof(a1));
	memset(&a2, 0xff, sizeof(a2));
	a1.domain = a2.domain = 7;
	a1.category = a2.category = 3;
	a1.color = a2.color = 0xff00ff00;
	a1.has_color = a2.has_color = 1;
	a1.payload_type = a2.payload_type = TRACE_NVTX_PAYLOAD_U64;
	a1.payload = a2.payload = 12345;
	assert_int_equal(trace_session_add_nvtx_attr(s, &a1), 1);
	assert_int_equal(trace_session_add_nvtx_attr(s, &a2), 1);
	a2.payload = 12346;
	assert_int_equal(trace_session_add_nvtx_attr(s, &a2), 2);
	a2.payload = 12345;
	a2.has_color = 0;
	assert_int_equal(trace_session_add_nvtx_attr(s, &a2), 3);
	assert_int_equal(trace_session_nvtx_attr_count(s), 4);
	assert_int_equal(trace_session_nvtx_attr(s, 2)->payload, 12346);
	assert_null(trace_session_nvtx_attr(s, 0));
	assert_null(trace_session_nvtx_attr(s, 4));

	/* memory operations are never merged */
	struct trace_memop m = {
	    .address = 0x7f0000000000, .bytes = 1 << 20, .device = 0, .mem_kind = TRACE_MEM_DEVICE};
	assert_int_equal(trace_session_add_memop(s, &m), 1);
	assert_int_equal(trace_session_add_memop(s, &m), 2);
	assert_int_equal(trace_session_memop_count(s), 3);
	assert_int_equal(trace_session_memop(s, 2)->bytes, 1 << 20);
	assert_null(trace_session_memop(s, 0));
	assert_null(trace_session_memop(s, 3));
	trace_session_delete(s);
}

/* --- tracks ----------------------------------------------------------------- */

static void test_tracks(void **state)
{
	struct trace_session *s = trace_session_new();
	uint32_t main_name = trace_session_intern_cstr(s, "main");
	uint32_t worker = trace_session_intern_cstr(s, "worker");
	uint32_t temp = trace_session_intern_cstr(s, "gpu temperature");
	uint32_t power = trace_session_intern_cstr(s, "gpu power");

	struct trace_track_info t = {.kind = TRACE_TRACK_THREAD, .pid = 100, .tid = 100, .name = main_name};
	uint32_t th = trace_session_add_track(s, &t);
	assert_int_equal(th, 1);

	/* the name is a label: same identity, same track; 0 keeps the name */
	t.name = 0;
	assert_int_equal(trace_session_add_track(s, &t), th);
	assert_int_equal(trace_session_track_info(s, th)->name, main_name);
	t.name = worker;
	assert_int_equal(trace_session_add_track(s, &t), th);
	assert_int_equal(trace_session_track_info(s, th)->name, worker);
	/* fields a thread does not use are not identity */
	t.device = 3;
	t.stream = 9;
	assert_int_equal(trace_session_add_track(s, &t), th);
	t.device = t.stream = 0;
	t.tid = 101;
	uint32_t th2 = trace_session_add_track(s, &t);
	assert_int_equal(th2, 2);
	t.pid = 200;
	assert_int_equal(trace_session_add_track(s, &t), 3);

	struct trace_track_info st = {
	    .kind = TRACE_TRACK_STREAM, .pid = 100, .device = 0, .context = 1, .stream = 7};
	uint32_t s7 = trace_session_add_track(s, &st);
	assert_int_equal(s7, 4);
	st.stream = 8;
	assert_int_equal(trace_session_add_track(s, &st), 5);
	st.stream = 7;
	st.context = 2;
	assert_int_equal(trace_session_add_track(s, &st), 6);
	st.context = 1;
	st.device = 1;
	assert_int_equal(trace_session_add_track(s, &st), 7);
	st.device = 0;
	st.tid = 55; /* not a stream's identity */
	assert_int_equal(trace_session_add_track(s, &st), s7);
	const struct trace_track_info *info = trace_session_track_info(s, s7);
	assert_int_equal(info->kind, TRACE_TRACK_STREAM);
	assert_int_equal(info->pid, 100);
	assert_int_equal(info->context, 1);
	assert_int_equal(info->stream, 7);
	assert_int_equal(info->tid, 0);

	/* a counter's name is its identity */
	struct trace_track_info c = {.kind = TRACE_TRACK_COUNTER, .pid = 100, .device = 0, .name = temp};
	uint32_t ct = trace_session_add_track(s, &c);
	assert_int_equal(ct, 8);
	c.name = power;
	assert_int_equal(trace_session_add_track(s, &c), 9);
	c.name = temp;
	assert_int_equal(trace_session_add_track(s, &c), ct);
	assert_int_equal(trace_session_track_info(s, ct)->name, temp);

	/* a process track: pid only, and distinct from a thread of the same numbers */
	struct trace_track_info p = {.kind = TRACE_TRACK_PROCESS, .pid = 100, .tid = 100};
	assert_int_equal(trace_session_add_track(s, &p), 10);
	p.tid = 0;
	assert_int_equal(trace_session_add_track(s, &p), 10);

	/* bad kinds */
	p.kind = 0;
	assert_int_equal(trace_session_add_track(s, &p), 0);
	p.kind = TRACE_TRACK_KIND_MAX + 1;
	assert_int_equal(trace_session_add_track(s, &p), 0);

	assert_int_equal(trace_session_track_count(s), 11);
	assert_null(trace_session_track_info(s, 0));
	assert_null(trace_session_track_info(s, 11));

	/* many tracks */
	for (uint32_t i = 0; i < 20000; i++) {
		struct trace_track_info x = {.kind = TRACE_TRACK_THREAD, .pid = 1000 + i / 100, .tid = i};
		assert_int_equal(trace_session_add_track(s, &x), 11 + i);
	}
	for (uint32_t i = 0; i < 20000; i += 7) {
		struct trace_track_info x = {.kind = TRACE_TRACK_THREAD, .pid = 1000 + i / 100, .tid = i};
		assert_int_equal(trace_session_add_track(s, &x), 11 + i);
		assert_int_equal(trace_session_track_info(s, 11 + i)->tid, i);
	}
	trace_session_delete(s);
}

/* --- events ----------------------------------------------------------------- */

static uint32_t add_thread(struct trace_session *s, uint32_t tid)
{
	struct trace_track_info t = {.kind = TRACE_TRACK_THREAD, .pid = 1, .tid = tid};
	return trace_session_add_track(s, &t);
}

static struct trace_event mkev(uint32_t track, uint8_t kind, int64_t start, int64_t end)
{
	struct trace_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.track = track;
	ev.kind = kind;
	ev.start = start;
	ev.end = end;
	return ev;
}

static void test_append_validation(void **state)
{
	struct trace_session *s = trace_session_new();
	uint32_t t = add_thread(s, 1);
	int64_t lo = 0, hi = 0;

	assert_false(trace_session_time_range(s, &lo, &hi));
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 0);

	struct trace_event bad[] = {
	    mkev(0, TRACE_API, 10, 20),          mkev(t + 1, TRACE_API, 10, 20),
	    mkev(UINT32_MAX, TRACE_API, 1, 2),   mkev(t, 0, 10, 20),
	    mkev(t, TRACE_KIND_MAX + 1, 10, 20), mkev(t, 255, 10, 20),
	    mkev(t, TRACE_API, 20, 19),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(trace_session_append(s, &bad[i]), -1);
	size_t n = 5;
	assert_null(trace_session_track_events(s, t, &n));
	assert_int_equal(n, 0);
	assert_int_equal(trace_session_event_count(s), 0);
	assert_false(trace_session_time_range(s, &lo, &hi));

	for (unsigned k = 1; k <= TRACE_KIND_MAX; k++) {
		struct trace_event ev = mkev(t, (uint8_t)k, 100 * k, 100 * k + (k == 3 ? 0 : 5));
		assert_int_equal(trace_session_append(s, &ev), 0);
	}
	struct trace_event ev = mkev(t, TRACE_KERNEL, -50, -40);
	assert_int_equal(trace_session_append(s, &ev), 0);
	assert_int_equal(trace_session_event_count(s), TRACE_KIND_MAX + 1);
	assert_int_equal(trace_session_kind_count(s, TRACE_KERNEL), 2);
	for (unsigned k = 2; k <= TRACE_KIND_MAX; k++)
		assert_int_equal(trace_session_kind_count(s, k), 1);
	assert_int_equal(trace_session_kind_count(s, 0), 0);
	assert_int_equal(trace_session_kind_count(s, TRACE_KIND_MAX + 1), 0);
	assert_int_equal(trace_session_kind_count(s, 1000), 0);
	assert_true(trace_session_time_range(s, &lo, &hi));
	assert_int_equal(lo, -50);
	assert_int_equal(hi, 1105);

	/* invariant 1: append order until finish */
	const struct trace_event *e = trace_session_track_events(s, t, &n);
	assert_int_equal(n, TRACE_KIND_MAX + 1);
	assert_int_equal(e[0].kind, TRACE_KERNEL);
	assert_int_equal(e[0].start, 100);
	assert_int_equal(e[n - 1].start, -50);
	trace_session_finish(s);
	e = trace_session_track_events(s, t, &n);
	assert_int_equal(e[0].start, -50);
	assert_int_equal(e[1].start, 100);
	n = 5;
	assert_null(trace_session_track_events(s, 0, &n));
	assert_int_equal(n, 0);
	trace_session_delete(s);
}

/* Checks that a finished track holds exactly `in` (n events with distinct
 * correlation ids 1..n) in (start, end) order. */
static void check_sorted_permutation(struct trace_session *s, uint32_t track, const struct trace_event *in,
                                     size_t n)
{
	size_t m;
	const struct trace_event *e = trace_session_track_events(s, track, &m);
	assert_int_equal(m, n);
	char *seen = calloc(n + 1, 1);
	for (size_t i = 0; i < n; i++) {
		uint32_t c = e[i].correlation;
		assert_true(c >= 1 && c <= n);
		assert_false(seen[c]);
		seen[c] = 1;
		assert_memory_equal(&e[i], &in[c - 1], sizeof(e[i]));
		if (i > 0) {
			assert_true(e[i - 1].start <= e[i].start);
			if (e[i - 1].start == e[i].start)
				assert_true(e[i - 1].end <= e[i].end);
		}
	}
	free(seen);
}

/* Checks lower_bound against a linear scan for every t around the events. */
static void check_lower_bound(struct trace_session *s, uint32_t track)
{
	size_t n;
	const struct trace_event *e = trace_session_track_events(s, track, &n);
	if (!n) {
		assert_int_equal(trace_session_track_lower_bound(s, track, 0), 0);
		return;
	}
	int64_t lo = e[0].start - 3, hi = e[n - 1].start + 3;
	int64_t step = (hi - lo) / 2000 + 1;
	for (int64_t t = lo; t <= hi; t += step) {
		size_t want = 0;
		while (want < n && e[want].start < t)
			want++;
		assert_int_equal(trace_session_track_lower_bound(s, track, t), want);
	}
	for (size_t i = 0; i < n; i += n / 50 + 1) {
		size_t want = 0;
		while (want < n && e[want].start < e[i].start)
			want++;
		assert_int_equal(trace_session_track_lower_bound(s, track, e[i].start), want);
	}
}

enum pattern { P_SORTED, P_REVERSED, P_RANDOM, P_NEARLY, P_NESTED, P_OUTLIER, P_DUPLICATES, P_COUNT };

/* Fills in[0..n) for track `t` in the order of `pattern`; correlation = i + 1. */
static void make_pattern(struct trace_event *in, size_t n, uint32_t t, enum pattern p, uint64_t *st)
{
	for (size_t i = 0; i < n; i++) {
		int64_t start;
		switch (p) {
		case P_SORTED:
			start = (int64_t)i * 10;
			break;
		case P_REVERSED:
			start = (int64_t)(n - i) * 10;
			break;
		case P_RANDOM:
			start = (int64_t)(rng_next(st) % 100000) - 5000;
			break;
		case P_NEARLY:
			start =
			    (int64_t)i * 10 + ((rng_next(st) % 20 == 0) ? -(int64_t)(rng_next(st) % 300) : 0);
			break;
		case P_NESTED: /* inner call (ends first) arrives before its outer call */
			start = (int64_t)(i / 2) * 100 + (i % 2 ? 0 : 10);
			break;
		case P_OUTLIER:
			start = i == 0 ? 1000000 : (int64_t)i * 10;
			break;
		default:
			start = (int64_t)(rng_next(st) % 8) * 1000;
			break;
		}
		in[i] = mkev(t, TRACE_API, start, start + (int64_t)(rng_next(st) % 7));
		in[i].correlation = (uint32_t)i + 1;
		in[i].name = (uint32_t)(rng_next(st) % 3);
	}
}

/* Invariant 4: end - start must fit in int64. With a negative start an end
 * that fits can lie up to 2^64 - 1 ns away; such events are refused, and
 * the largest allowed duration, INT64_MAX, is taken at both ends of the
 * clock. */
static void test_append_duration_limit(void **state)
{
	(void)state;
	struct trace_session *s = trace_session_new();
	uint32_t t = add_thread(s, 1);
	struct trace_event too_long[] = {
	    mkev(t, TRACE_KERNEL, INT64_MIN, INT64_MAX), /* 2^64 - 1 */
	    mkev(t, TRACE_KERNEL, INT64_MIN, 0),         /* 2^63 */
	    mkev(t, TRACE_API, -1, INT64_MAX),           /* 2^63 */
	    mkev(t, TRACE_NVTX_RANGE, -5, INT64_MAX - 3),
	};
	for (size_t i = 0; i < sizeof(too_long) / sizeof(too_long[0]); i++)
		assert_int_equal(trace_session_append(s, &too_long[i]), -1);
	assert_int_equal(trace_session_event_count(s), 0);
	int64_t lo = 0, hi = 0;
	assert_false(trace_session_time_range(s, &lo, &hi));

	struct trace_event longest[] = {
	    mkev(t, TRACE_KERNEL, INT64_MIN, -1),
	    mkev(t, TRACE_API, -1, INT64_MAX - 1),
	    mkev(t, TRACE_MEMCPY, 0, INT64_MAX),
	};
	for (size_t i = 0; i < sizeof(longest) / sizeof(longest[0]); i++)
		assert_int_equal(trace_session_append(s, &longest[i]), 0);
	trace_session_finish(s);
	size_t n;
	const struct trace_event *ev = trace_session_track_events(s, t, &n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_true(ev[i].end - ev[i].start == INT64_MAX); /* computed as int64 */
	assert_true(trace_session_time_range(s, &lo, &hi));
	assert_true(lo == INT64_MIN && hi == INT64_MAX);
	trace_session_delete(s);
}

static void test_sort_patterns(void **state)
{
	static const size_t sizes[] = {0, 1, 2, 3, 17, 1000, 20011};
	uint64_t st = 42;

	for (int p = 0; p < P_COUNT; p++) {
		for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
			size_t n = sizes[si];
			struct trace_session *s = trace_session_new();
			uint32_t t = add_thread(s, 1);
			struct trace_event *in = calloc(n + 1, sizeof(*in));
			make_pattern(in, n, t, (enum pattern)p, &st);
			for (size_t i = 0; i < n; i++)
				assert_int_equal(trace_session_append(s, &in[i]), 0);
			trace_session_finish(s);
			check_sorted_permutation(s, t, in, n);
			check_lower_bound(s, t);
			trace_session_finish(s); /* idempotent */
			check_sorted_permutation(s, t, in, n);
			free(in);
			trace_session_delete(s);
		}
	}
}

static void test_sort_deterministic_and_reappend(void **state)
{
	enum { N = 5000 };
	struct trace_session *a = trace_session_new(), *b = trace_session_new();
	uint32_t ta = add_thread(a, 1), tb = add_thread(b, 1);
	struct trace_event *in = calloc(N, sizeof(*in));
	uint64_t st = 7;

	/* many events share (start, end) and differ elsewhere */
	for (size_t i = 0; i < N; i++) {
		in[i] = mkev(ta, TRACE_API, (int64_t)(rng_next(&st) % 50), 0);
		in[i].end = in[i].start + (int64_t)(rng_next(&st) % 2);
		in[i].name = (uint32_t)(rng_next(&st) % 4);
		in[i].correlation = (uint32_t)(rng_next(&st) % 3);
		assert_int_equal(trace_session_append(a, &in[i]), 0);
	}
	for (size_t i = N; i-- > 0;) {
		struct trace_event ev = in[i];
		ev.track = tb;
		assert_int_equal(trace_session_append(b, &ev), 0);
	}
	trace_session_finish(a);
	trace_session_finish(b);
	size_t na, nb;
	const struct trace_event *ea = trace_session_track_events(a, ta, &na);
	const struct trace_event *eb = trace_session_track_events(b, tb, &nb);
	assert_int_equal(na, N);
	assert_int_equal(nb, N);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(ea[i].start, eb[i].start);
		assert_int_equal(ea[i].end, eb[i].end);
		assert_int_equal(ea[i].name, eb[i].name);
		assert_int_equal(ea[i].correlation, eb[i].correlation);
	}

	/* many fully identical events among random ones (quicksort path) */
	struct trace_session *c = trace_session_new();
	uint32_t tc = add_thread(c, 1);
	size_t same = 0;
	for (size_t i = 0; i < N; i++) {
		struct trace_event ev = mkev(tc, TRACE_API, 500, 600);
		if (rng_next(&st) % 2) {
			ev.start = (int64_t)(rng_next(&st) % 1000);
			ev.end = ev.start + 100;
			ev.correlation = (uint32_t)i + 1;
		} else {
			same++;
		}
		assert_int_equal(trace_session_append(c, &ev), 0);
	}
	trace_session_finish(c);
	size_t nc, found = 0;
	const struct trace_event *ec = trace_session_track_events(c, tc, &nc);
	assert_int_equal(nc, N);
	for (size_t i = 0; i < nc; i++) {
		if (i > 0)
			assert_true(ec[i - 1].start < ec[i].start ||
			            (ec[i - 1].start == ec[i].start && ec[i - 1].end <= ec[i].end));
		found += ec[i].correlation == 0;
	}
	assert_int_equal(found, same);
	trace_session_delete(c);

	/* appending to a finished track: append order, then sorted again */
	struct trace_event early = mkev(ta, TRACE_KERNEL, -10, -5);
	assert_int_equal(trace_session_append(a, &early), 0);
	ea = trace_session_track_events(a, ta, &na);
	assert_int_equal(na, N + 1);
	assert_int_equal(ea[N].start, -10);
	trace_session_finish(a);
	ea = trace_session_track_events(a, ta, &na);
	assert_int_equal(ea[0].start, -10);
	assert_int_equal(ea[0].kind, TRACE_KERNEL);
	for (size_t i = 1; i < na; i++)
		assert_true(ea[i - 1].start <= ea[i].start);
	check_lower_bound(a, ta);

	/* other tracks are left alone */
	uint32_t t2 = add_thread(a, 2);
	assert_int_equal(trace_session_track_lower_bound(a, t2, 5), 0);
	assert_int_equal(trace_session_track_lower_bound(a, 0, 5), 0);
	assert_int_equal(trace_session_track_lower_bound(a, 999, 5), 0);
	free(in);
	trace_session_delete(a);
	trace_session_delete(b);
}

static void test_many_tracks_events(void **state)
{
	enum { TRACKS = 64, PER = 4000 };
	struct trace_session *s = trace_session_new();
	uint32_t ids[TRACKS];
	uint64_t st = 99;
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	uint64_t kinds[TRACE_KIND_MAX + 1] = {0};

	for (uint32_t i = 0; i < TRACKS; i++) {
		struct trace_track_info info = {
		    .kind = TRACE_TRACK_STREAM, .pid = 1, .device = i % 2, .stream = i};
		ids[i] = trace_session_add_track(s, &info);
	}
	for (uint32_t j = 0; j < PER; j++) {
		for (uint32_t i = 0; i < TRACKS; i++) {
			int64_t start = (int64_t)j * 1000 + (int64_t)(rng_next(&st) % 1500);
			int64_t end = start + (int64_t)(rng_next(&st) % 900);
			uint8_t kind = (uint8_t)(1 + rng_next(&st) % TRACE_KIND_MAX);
			struct trace_event ev = mkev(ids[i], kind, start, end);
			assert_int_equal(trace_session_append(s, &ev), 0);
			kinds[kind]++;
			lo = start < lo ? start : lo;
			hi = end > hi ? end : hi;
		}
	}
	trace_session_finish(s);
	assert_int_equal(trace_session_event_count(s), (uint64_t)TRACKS * PER);
	for (unsigned k = 1; k <= TRACE_KIND_MAX; k++)
		assert_int_equal(trace_session_kind_count(s, k), kinds[k]);
	int64_t a, b;
	assert_true(trace_session_time_range(s, &a, &b));
	assert_int_equal(a, lo);
	assert_int_equal(b, hi);
	for (uint32_t i = 0; i < TRACKS; i++) {
		size_t n;
		const struct trace_event *e = trace_session_track_events(s, ids[i], &n);
		assert_int_equal(n, PER);
		for (size_t k = 1; k < n; k++)
			assert_true(e[k - 1].start < e[k].start ||
			            (e[k - 1].start == e[k].start && e[k - 1].end <= e[k].end));
		for (size_t k = 0; k < n; k++)
			assert_int_equal(e[k].track, ids[i]);
	}
	check_lower_bound(s, ids[5]);
	trace_session_delete(s);
}

/* --- processes, devices, metadata, losses ----------------------------------- */

static void test_processes_devices(void **state)
{
	struct trace_session *s = trace_session_new();
	uint32_t cmd = trace_session_intern_cstr(s, "./app --size 4096");

	assert_int_equal(trace_session_process_count(s), 0);
	assert_null(trace_session_find_process(s, 1));
	assert_null(trace_session_process(s, 0));
	for (uint32_t i = 0; i < 300; i++) {
		struct trace_process p = {
		    .pid = 1000 + i * 7, .ppid = 1, .command = cmd, .start = i, .state = 0};
		trace_session_set_process(s, &p);
	}
	assert_int_equal(trace_session_process_count(s), 300);
	struct trace_process p = {.pid = 1000 + 5 * 7,
	                          .ppid = 2,
	                          .command = cmd,
	                          .start = 5,
	                          .end = 900,
	                          .state = TRACE_PROC_SIGNALED,
	                          .status = 9};
	trace_session_set_process(s, &p);
	assert_int_equal(trace_session_process_count(s), 300);
	const struct trace_process *q = trace_session_process(s, 5); /* keeps its position */
	assert_int_equal(q->pid, 1035);
	assert_int_equal(q->ppid, 2);
	assert_int_equal(q->state, TRACE_PROC_SIGNALED);
	assert_int_equal(q->status, 9);
	assert_ptr_equal(trace_session_find_process(s, 1035), q);
	assert_int_equal(trace_session_process(s, 299)->pid, 1000 + 299 * 7);
	assert_null(trace_session_process(s, 300));
	assert_null(trace_session_find_process(s, 1001));
	for (uint32_t i = 0; i < 300; i++)
		assert_int_equal(trace_session_find_process(s, 1000 + i * 7)->start, i);

	struct trace_device d0 = {.id = 0, .api = TRACE_DEVICE_CUDA, .cc_major = 9, .sm_count = 132};
	struct trace_device d1 = {.id = 1, .api = TRACE_DEVICE_OPENCL, .sm_count = 4};
	trace_session_set_device(s, &d1);
	trace_session_set_device(s, &d0);
	assert_int_equal(trace_session_device_count(s), 2);
	assert_int_equal(trace_session_device(s, 0)->id, 1);
	assert_int_equal(trace_session_device(s, 1)->id, 0);
	d1.sm_count = 8;
	d1.global_memory = 1ull << 34;
	trace_session_set_device(s, &d1);
	assert_int_equal(trace_session_device_count(s), 2);
	assert_int_equal(trace_session_device(s, 0)->sm_count, 8);
	assert_int_equal(trace_session_find_device(s, 1)->global_memory, 1ull << 34);
	assert_int_equal(trace_session_find_device(s, 0)->cc_major, 9);
	assert_null(trace_session_find_device(s, 2));
	assert_null(trace_session_device(s, 2));
	trace_session_delete(s);
}

static void test_meta_losses(void **state)
{
	struct trace_session *s = trace_session_new();
	char key[16] = "host", value[16] = "gpu-box-1";
	const char *k, *v;

	assert_null(trace_session_meta(s, "host"));
	trace_session_set_meta(s, key, value);
	strcpy(value, "changed"); /* the session copied it */
	strcpy(key, "xxxx");
	assert_string_equal(trace_session_meta(s, "host"), "gpu-box-1");
	trace_session_set_meta(s, "command", "./app");
	trace_session_set_meta(s, "start_time_ns", "1700000000000000000");
	trace_session_set_meta(s, "host", "gpu-box-2");
	assert_int_equal(trace_session_meta_count(s), 3);
	trace_session_meta_at(s, 0, &k, &v);
	assert_string_equal(k, "host");
	assert_string_equal(v, "gpu-box-2");
	trace_session_meta_at(s, 2, &k, &v);
	assert_string_equal(k, "start_time_ns");
	assert_string_equal(v, "1700000000000000000");
	trace_session_meta_at(s, 3, &k, &v);
	assert_null(k);
	assert_null(v);
	assert_null(trace_session_meta(s, "hos"));
	trace_session_set_meta(s, "empty", "");
	assert_string_equal(trace_session_meta(s, "empty"), "");

	uint32_t ring = trace_session_intern_cstr(s, "ring");
	uint32_t cupti = trace_session_intern_cstr(s, "cupti");
	assert_int_equal(trace_session_lost_total(s), 0);
	assert_null(trace_session_loss(s, 0));
	trace_session_set_loss(s, 10, ring, 5);
	trace_session_set_loss(s, 10, cupti, 7);
	trace_session_set_loss(s, 11, ring, 100);
	trace_session_set_loss(s, 10, ring, 50); /* replaces, not adds */
	assert_int_equal(trace_session_loss_count(s), 3);
	assert_int_equal(trace_session_lost_total(s), 157);
	const struct trace_loss *l = trace_session_loss(s, 0);
	assert_int_equal(l->pid, 10);
	assert_int_equal(l->source, ring);
	assert_int_equal(l->count, 50);
	assert_int_equal(trace_session_loss(s, 2)->pid, 11);
	assert_null(trace_session_loss(s, 3));
	/* totals read from a file can be anything: the sum saturates */
	trace_session_set_loss(s, 12, ring, UINT64_MAX - 100);
	assert_true(trace_session_lost_total(s) == UINT64_MAX);
	trace_session_set_loss(s, 12, ring, UINT64_MAX - 157);
	assert_true(trace_session_lost_total(s) == UINT64_MAX);
	trace_session_set_loss(s, 12, ring, UINT64_MAX - 158);
	assert_true(trace_session_lost_total(s) == UINT64_MAX - 1);
	trace_session_delete(s);
}

/* --- names ------------------------------------------------------------------ */

static void test_names(void **state)
{
	static const char *const kinds[] = {"unknown",   "kernel",   "memcpy",     "memset",
	                                    "sync",      "api",      "nvtx_range", "nvtx_mark",
	                                    "mem_alloc", "mem_free", "counter",    "lost"};
	for (unsigned i = 0; i <= TRACE_KIND_MAX; i++)
		assert_string_equal(trace_kind_name(i), kinds[i]);
	assert_string_equal(trace_kind_name(TRACE_KIND_MAX + 1), "unknown");

	static const char *const copies[] = {"unknown", "HtoD", "DtoH", "HtoA", "AtoH", "AtoA",
	                                     "AtoD",    "DtoA", "DtoD", "HtoH", "PtoP"};
	for (unsigned i = 0; i <= TRACE_COPY_KIND_MAX; i++)
		assert_string_equal(trace_copy_kind_name(i), copies[i]);
	assert_string_equal(trace_copy_kind_name(TRACE_COPY_KIND_MAX + 1), "unknown");
	assert_string_equal(trace_copy_kind_name(TRACE_COPY_DTOD), "DtoD");

	static const char *const mems[] = {"Unknown", "Pageable", "Pinned",        "Device",
	                                   "Array",   "Managed",  "Device Static", "Managed Static"};
	for (unsigned i = 0; i <= TRACE_MEM_KIND_MAX; i++)
		assert_string_equal(trace_mem_kind_name(i), mems[i]);
	assert_string_equal(trace_mem_kind_name(TRACE_MEM_KIND_MAX + 1), "unknown");

	assert_string_equal(trace_sync_kind_name(TRACE_SYNC_STREAM), "stream_sync");
	assert_string_equal(trace_sync_kind_name(TRACE_SYNC_EVENT), "event_sync");
	assert_string_equal(trace_sync_kind_name(TRACE_SYNC_STREAM_WAIT_EVENT), "stream_wait_event");
	assert_string_equal(trace_sync_kind_name(TRACE_SYNC_CONTEXT), "context_sync");
	assert_string_equal(trace_sync_kind_name(TRACE_SYNC_DEVICE), "device_sync");
	assert_string_equal(trace_sync_kind_name(TRACE_SYNC_UNKNOWN), "unknown");
	assert_string_equal(trace_sync_kind_name(TRACE_SYNC_KIND_MAX + 1), "unknown");

	assert_string_equal(trace_api_domain_name(TRACE_API_CUDA_RUNTIME), "CUDA runtime");
	assert_string_equal(trace_api_domain_name(TRACE_API_CUDA_DRIVER), "CUDA driver");
	assert_string_equal(trace_api_domain_name(TRACE_API_OPENCL), "OpenCL");
	assert_string_equal(trace_api_domain_name(TRACE_API_UNKNOWN), "unknown");
	assert_string_equal(trace_api_domain_name(4), "unknown");

	assert_string_equal(trace_track_kind_name(TRACE_TRACK_THREAD), "thread");
	assert_string_equal(trace_track_kind_name(TRACE_TRACK_STREAM), "stream");
	assert_string_equal(trace_track_kind_name(TRACE_TRACK_COUNTER), "counter");
	assert_string_equal(trace_track_kind_name(TRACE_TRACK_PROCESS), "process");
	assert_string_equal(trace_track_kind_name(0), "unknown");
	assert_string_equal(trace_track_kind_name(TRACE_TRACK_KIND_MAX + 1), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_intern_basic),       cmocka_unit_test(test_intern_nul_bytes),
	    cmocka_unit_test(test_intern_long),        cmocka_unit_test(test_intern_many),
	    cmocka_unit_test(test_display_name),       cmocka_unit_test(test_frames_stacks),
	    cmocka_unit_test(test_side_tables),        cmocka_unit_test(test_tracks),
	    cmocka_unit_test(test_append_validation),  cmocka_unit_test(test_append_duration_limit),
	    cmocka_unit_test(test_sort_patterns),      cmocka_unit_test(test_sort_deterministic_and_reappend),
	    cmocka_unit_test(test_many_tracks_events), cmocka_unit_test(test_processes_devices),
	    cmocka_unit_test(test_meta_losses),        cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
