/*
 * test_sbt.c - the SBT v1 writer and reader (src/store/, docs/sbt-format.md).
 *
 * Covers: varint edge cases; round trips of every table and every event
 * kind and field, plain and zstd, in big and tiny chunks, compared field by
 * field; the streaming writer (definitions interleaved with events, flush
 * without close, id rules, duplicate strings, undefined ids); truncation at
 * every byte offset of a small multi-chunk file; seeded random corruption;
 * a damaged chunk being skipped alone; a damaged header being resynchronized
 * over; versions (unknown major refused, newer minor with an unknown chunk
 * type loaded); garbage and empty files; and the size of kernel events.
 *
 * Files are parsed here only through the layout docs/sbt-format.md states
 * (header, chunk framing, event chunk prefix, index, trailer), independently
 * of the reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zstd.h>

#include "store/sbt.h"
#include "trace/session.h"
#include "util/crc32c.h"
#include "util/varint.h"

/* --- helpers ----------------------------------------------------------------- */

static char test_dir[256];

/* A path in this test's temporary directory (valid until the next call
 * with the same slot). */
static const char *tpath(const char *name)
{
	static char buf[4][512];
	static int slot;
	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", test_dir, name);
	return buf[slot];
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	assert_true(n >= 0);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(n ? (size_t)n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void write_all(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Deterministic PRNG (xorshift64*). */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}
static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* Loads `len` bytes copied into a buffer of exactly that size (so that the
 * sanitizers see any read past it). */
static int load_copy(const uint8_t *buf, size_t len, struct trace_session *s, struct sbt_read_report *rep,
                     struct err *e)
{
	uint8_t *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	if (len)
		memcpy(copy, buf, len);
	int rc = sbt_load_buffer(copy, len, s, rep, e);
	free(copy);
	return rc;
}

/* A chunk as docs/sbt-format.md lays it out. */
struct tchunk {
	size_t off;
	uint8_t type, flags;
	uint32_t len;
};

/* Lists the chunks of a whole file by following the framing from the
 * header; stops at the end or the trailer. Returns the number found. */
static size_t walk(const uint8_t *f, size_t len, struct tchunk *out, size_t max)
{
	size_t n = 0, off = 16;
	size_t end = len;
	if (len >= 32 && memcmp(f + len - 8, "\x89SBTEND\n", 8) == 0)
		end = len - 16;
	while (off + 20 <= end && n < max) {
		uint32_t magic = (uint32_t)f[off] | (uint32_t)f[off + 1] << 8 | (uint32_t)f[off + 2] << 16 |
		                 (uint32_t)f[off + 3] << 24;
		assert_int_equal(magic, 0x4B48439Cu);
		struct tchunk c = {off, f[off + 4], f[off + 5],
		                   (uint32_t)f[off + 8] | (uint32_t)f[off + 9] << 8 |
		                       (uint32_t)f[off + 10] << 16 | (uint32_t)f[off + 11] << 24};
		if (off + 20 + c.len > end)
			break;
		out[n++] = c;
		off += 20 + c.len;
	}
	return n;
}

/* Event count of an uncompressed EVENTS chunk, from its payload prefix. */
static uint64_t chunk_event_count(const uint8_t *f, const struct tchunk *c)
{
	assert_int_equal(c->type, 6);
	assert_int_equal(c->flags, 0);
	const uint8_t *p = f + c->off + 16, *end = p + c->len;
	int64_t base = 0;
	uint64_t count = 0;
	assert_true(varint_get_signed(&p, end, &base));
	assert_true(varint_get(&p, end, &count));
	return count;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the header CRC of the chunk at `off`. */
static void fix_header_crc(uint8_t *f, size_t off)
{
	put32(f + off + 12, crc32c(0, f + off, 12));
}

/* Recomputes the payload CRC of chunk `c`. */
static void fix_payload_crc(uint8_t *f, const struct tchunk *c)
{
	put32(f + c->off + 16 + c->len, crc32c(0, f + c->off + 16, c->len));
}

/* Lays out a chunk (header, payload, CRCs) at `out`; returns its size. */
static size_t make_chunk(uint8_t *out, uint8_t type, uint8_t flags, const void *payload, uint32_t len)
{
	put32(out, 0x4B48439Cu);
	out[4] = type;
	out[5] = flags;
	out[6] = out[7] = 0;
	put32(out + 8, len);
	put32(out + 12, crc32c(0, out, 12));
	if (len)
		memcpy(out + 16, payload, len);
	put32(out + 16 + len, crc32c(0, out + 16, len));
	return 20 + (size_t)len;
}

static const uint8_t file_header[16] = {0x89, 'S', 'B', 'T', '\r', '\n', 0x1a, '\n', 1, 0, 0, 0, 1, 0, 0, 0};

/* --- sessions ------------------------------------------------------------------ */

/* A session that uses every table, every event kind and every field, with
 * extreme values, and a 70000-byte string when `big` is set. Finished. */
static struct trace_session *full_session(bool big_string)
{
	struct trace_session *s = trace_session_new();
	uint32_t k_name = trace_session_intern_cstr(s, "_Z6kernelPfi");
	uint32_t k2_name = trace_session_intern_cstr(s, "void gemm<128, 64>(float const*, float*)");
	uint32_t nul_name = trace_session_intern(s, "a\0b\0c", 5);
	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	uint32_t all_name = trace_session_intern(s, all, sizeof(all));
	size_t big_len = big_string ? 70000 : 300;
	char *big = malloc(big_len);
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	uint32_t big_name = trace_session_intern(s, big, big_len);
	free(big);
	uint32_t api_name = trace_session_intern_cstr(s, "cudaLaunchKernel");
	uint32_t domain = trace_session_intern_cstr(s, "my-domain");
	uint32_t ring = trace_session_intern_cstr(s, "ring");
	uint32_t cupti = trace_session_intern_cstr(s, "cupti");
	uint32_t lib = trace_session_intern_cstr(s, "/usr/lib/x86_64-linux-gnu/libcuda.so.1");
	uint32_t file = trace_session_intern_cstr(s, "main.cu");
	uint32_t fn = trace_session_intern_cstr(s, "main");
	uint32_t cmd = trace_session_intern_cstr(s, "python train.py --epochs 3");
	uint32_t gpu = trace_session_intern_cstr(s, "NVIDIA H100 80GB HBM3");
	uint32_t stream_label = trace_session_intern_cstr(s, "stream 7");
	uint32_t counter_name = trace_session_intern_cstr(s, "device memory used");
	uint32_t thread_name = trace_session_intern_cstr(s, "pt_main_thread");

	struct trace_frame f1 = {
	    .pc = 0x401000, .offset = 0x10, .function = fn, .module = lib, .file = file, .line = 42};
	struct trace_frame f2 = {.pc = UINT64_MAX, .offset = UINT64_MAX, .module = lib};
	struct trace_frame f3 = {
	    .pc = 0x7fff00001234, .function = api_name, .module = lib, .line = UINT32_MAX};
	uint32_t fr[3] = {trace_session_add_frame(s, &f1), trace_session_add_frame(s, &f2),
	                  trace_session_add_frame(s, &f3)};
	uint32_t st1 = trace_session_add_stack(s, fr, 3);
	uint32_t st2 = trace_session_add_stack(s, fr + 1, 1);
	uint32_t rev[2] = {fr[2], fr[0]};
	uint32_t st3 = trace_session_add_stack(s, rev, 2);
	assert_true(st1 && st2 && st3);

	struct trace_track_info t_thread = {
	    .kind = TRACE_TRACK_THREAD, .pid = 100, .tid = 101, .name = thread_name};
	struct trace_track_info t_thread2 = {.kind = TRACE_TRACK_THREAD, .pid = 100, .tid = UINT32_MAX};
	struct trace_track_info t_stream = {.kind = TRACE_TRACK_STREAM,
	                                    .pid = 100,
	                                    .device = 0,
	                                    .context = 1,
	                                    .stream = 7,
	                                    .name = stream_label};
	struct trace_track_info t_stream2 = {
	    .kind = TRACE_TRACK_STREAM, .pid = 100, .device = 1, .context = 2, .stream = UINT32_MAX};
	struct trace_track_info t_counter = {
	    .kind = TRACE_TRACK_COUNTER, .pid = 100, .device = 0, .name = counter_name};
	struct trace_track_info t_proc = {.kind = TRACE_TRACK_PROCESS, .pid = 100};
	uint32_t th = trace_session_add_track(s, &t_thread), th2 = trace_session_add_track(s, &t_thread2);
	uint32_t sm = trace_session_add_track(s, &t_stream), sm2 = trace_session_add_track(s, &t_stream2);
	uint32_t ct = trace_session_add_track(s, &t_counter), pr = trace_session_add_track(s, &t_proc);
	assert_true(th && th2 && sm && sm2 && ct && pr);

	struct trace_process p1 = {.pid = 100,
	                           .ppid = 1,
	                           .command = cmd,
	                           .start = 5,
	                           .end = 9000000000LL,
	                           .state = TRACE_PROC_EXITED,
	                           .status = 3};
	struct trace_process p2 = {.pid = 200, .ppid = 100, .state = TRACE_PROC_SIGNALED, .status = 9};
	struct trace_process p3 = {.pid = UINT32_MAX,
	                           .ppid = UINT32_MAX,
	                           .command = nul_name,
	                           .start = INT64_MIN,
	                           .end = INT64_MAX,
	                           .state = TRACE_PROC_DETACHED,
	                           .status = INT32_MIN};
	struct trace_process p4 = {.pid = 300, .state = TRACE_PROC_RUNNING, .status = INT32_MAX};
	trace_session_set_process(s, &p1);
	trace_session_set_process(s, &p2);
	trace_session_set_process(s, &p3);
	trace_session_set_process(s, &p4);

	struct trace_device d0 = {.id = 0,
	                          .api = TRACE_DEVICE_CUDA,
	                          .name = gpu,
	                          .cc_major = 9,
	                          .cc_minor = 0,
	                          .sm_count = 132,
	                          .global_memory = 85045870592ull,
	                          .warp_size = 32,
	                          .max_threads_per_block = 1024,
	                          .max_threads_per_sm = 2048,
	                          .max_blocks_per_sm = 32,
	                          .regs_per_block = 65536,
	                          .regs_per_sm = 65537,
	                          .smem_per_block = 49152,
	                          .smem_per_sm = 233472,
	                          .core_clock_khz = 1980000,
	                          .memory_clock_khz = 2619000,
	                          .memory_bus_width = 5120};
	for (int i = 0; i < 16; i++)
		d0.uuid[i] = (uint8_t)(0xA0 + i);
	struct trace_device d1 = {.id = UINT32_MAX,
	                          .api = TRACE_DEVICE_OPENCL,
	                          .global_memory = UINT64_MAX,
	                          .cc_major = UINT32_MAX,
	                          .cc_minor = 1,
	                          .sm_count = 2,
	                          .warp_size = 3,
	                          .max_threads_per_block = 4,
	                          .max_threads_per_sm = 5,
	                          .max_blocks_per_sm = 6,
	                          .regs_per_block = 7,
	                          .regs_per_sm = 8,
	                          .smem_per_block = 9,
	                          .smem_per_sm = 10,
	                          .core_clock_khz = 11,
	                          .memory_clock_khz = 12,
	                          .memory_bus_width = UINT32_MAX};
	memset(d1.uuid, 0xff, sizeof(d1.uuid));
	trace_session_set_device(s, &d0);
	trace_session_set_device(s, &d1);

	struct trace_launch l1 = {.grid = {1024, 2, 3},
	                          .block = {256, 1, 1},
	                          .registers = 64,
	                          .static_smem = 1024,
	                          .dynamic_smem = 49152,
	                          .cluster = {2, 1, 1}};
	struct trace_launch l2 = {.grid = {UINT32_MAX, UINT32_MAX, UINT32_MAX},
	                          .block = {1, 2, 3},
	                          .registers = UINT32_MAX,
	                          .static_smem = UINT32_MAX,
	                          .dynamic_smem = 0,
	                          .cluster = {UINT32_MAX, 5, 6}};
	uint32_t lc1 = trace_session_add_launch(s, &l1), lc2 = trace_session_add_launch(s, &l2);

	double pay = 3.5;
	uint64_t paybits;
	memcpy(&paybits, &pay, 8);
	struct trace_nvtx_attr a1 = {.domain = domain,
	                             .category = 5,
	                             .color = 0xFF00FF00u,
	                             .has_color = 1,
	                             .payload_type = TRACE_NVTX_PAYLOAD_DOUBLE,
	                             .payload = paybits};
	struct trace_nvtx_attr a2 = {.category = UINT32_MAX,
	                             .color = UINT32_MAX,
	                             .payload_type = TRACE_NVTX_PAYLOAD_U64,
	                             .payload = UINT64_MAX};
	uint32_t na1 = trace_session_add_nvtx_attr(s, &a1), na2 = trace_session_add_nvtx_attr(s, &a2);

	struct trace_memop m1 = {
	    .address = 0x7f0000000000ull, .bytes = 1ull << 30, .device = 0, .mem_kind = TRACE_MEM_DEVICE};
	struct trace_memop m2 = {.address = UINT64_MAX,
	                         .bytes = UINT64_MAX,
	                         .device = UINT32_MAX,
	                         .mem_kind = TRACE_MEM_MANAGED_STATIC};
	uint32_t mo1 = trace_session_add_memop(s, &m1), mo2 = trace_session_add_memop(s, &m2);

	trace_session_set_meta(s, "host", "gpu-box-17");
	trace_session_set_meta(s, "tstop_version", "0.1.0");
	trace_session_set_meta(s, "empty", "");
	trace_session_set_loss(s, 100, ring, 12);
	trace_session_set_loss(s, UINT32_MAX, cupti, UINT64_MAX);

	struct trace_event ev;
	int64_t t = 1700000000000000000LL;
	/* kernels, memcpys, memsets, syncs on the streams */
	for (int i = 0; i < 300; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.start = t + i * 10000;
		ev.end = ev.start + 3000 + (i % 7) * 100;
		ev.track = i % 3 ? sm : sm2;
		ev.correlation = i % 5 ? (uint32_t)(1000 + 3 * i) : 0;
		switch (i % 4) {
		case 0:
			ev.kind = TRACE_KERNEL;
			ev.name = i % 8 ? k_name : k2_name;
			ev.u.kernel.launch = i % 3 ? lc1 : (i % 2 ? lc2 : 0);
			ev.flags = i == 296 ? TRACE_FLAG_OPEN : 0;
			break;
		case 1:
			ev.kind = TRACE_MEMCPY;
			ev.name = 0;
			ev.sub =
			    trace_memcpy_sub(TRACE_COPY_HTOD + i % 10, TRACE_MEM_PINNED, TRACE_MEM_DEVICE);
			ev.u.bytes = (uint64_t)i << 20;
			break;
		case 2:
			ev.kind = TRACE_MEMSET;
			ev.sub = TRACE_MEM_DEVICE;
			ev.u.bytes = i == 2 ? UINT64_MAX : 4096;
			break;
		default:
			ev.kind = TRACE_SYNC;
			ev.sub = TRACE_SYNC_STREAM + i % 3;
			ev.u.sync.event = i % 2 ? 33 : UINT32_MAX;
			break;
		}
		assert_int_equal(trace_session_append(s, &ev), 0);
	}
	/* correlation extremes: a jump up to the largest id and back to 1 */
	memset(&ev, 0, sizeof(ev));
	ev.kind = TRACE_KERNEL;
	ev.track = sm;
	ev.name = all_name;
	ev.start = t + 5000000;
	ev.end = ev.start + 1;
	ev.correlation = UINT32_MAX;
	assert_int_equal(trace_session_append(s, &ev), 0);
	ev.start++;
	ev.end++;
	ev.correlation = 1;
	assert_int_equal(trace_session_append(s, &ev), 0);

	/* host-side events */
	memset(&ev, 0, sizeof(ev));
	ev.kind = TRACE_API;
	ev.track = th;
	ev.name = api_name;
	ev.start = t - 500;
	ev.end = t + 100;
	ev.correlation = 1000;
	ev.flags = TRACE_API_CUDA_RUNTIME;
	ev.sub = (uint16_t)(int16_t)-5;
	ev.u.api.cbid = 211;
	ev.u.api.stack = st1;
	assert_int_equal(trace_session_append(s, &ev), 0);
	ev.flags = TRACE_API_OPENCL | TRACE_FLAG_OPEN;
	ev.sub = 0;
	ev.u.api.cbid = UINT32_MAX;
	ev.u.api.stack = 0;
	ev.correlation = 0;
	ev.track = th2;
	assert_int_equal(trace_session_append(s, &ev), 0);

	memset(&ev, 0, sizeof(ev));
	ev.kind = TRACE_NVTX_RANGE;
	ev.track = th;
	ev.name = nul_name;
	ev.start = t - 1000;
	ev.end = t + 1000000;
	ev.flags = TRACE_FLAG_NVTX_STARTEND;
	ev.u.nvtx.attr = na1;
	ev.u.nvtx.stack = st2;
	assert_int_equal(trace_session_append(s, &ev), 0);
	ev.kind = TRACE_NVTX_MARK;
	ev.flags = 0;
	ev.start = ev.end = t + 77;
	ev.name = big_name;
	ev.u.nvtx.attr = na2;
	ev.u.nvtx.stack = st3;
	assert_int_equal(trace_session_append(s, &ev), 0);

	memset(&ev, 0, sizeof(ev));
	ev.kind = TRACE_MEM_ALLOC;
	ev.track = th;
	ev.start = ev.end = t + 5;
	ev.u.memop.id = mo1;
	assert_int_equal(trace_session_append(s, &ev), 0);
	ev.kind = TRACE_MEM_FREE;
	ev.start = ev.end = t + 6000000;
	ev.u.memop.id = mo2;
	assert_int_equal(trace_session_append(s, &ev), 0);

	/* counters: int64 (negative, zero, extreme) and doubles (NaN bits kept) */
	memset(&ev, 0, sizeof(ev));
	ev.kind = TRACE_COUNTER;
	ev.track = ct;
	ev.name = counter_name;
	int64_t ints[] = {-123456789, 0, INT64_MIN, INT64_MAX};
	for (int i = 0; i < 4; i++) {
		ev.start = ev.end = t + i;
		ev.u.counter = ints[i];
		assert_int_equal(trace_session_append(s, &ev), 0);
	}
	ev.flags = TRACE_FLAG_COUNTER_DOUBLE;
	ev.start = ev.end = t + 10;
	ev.u.counter_double = 2.5;
	assert_int_equal(trace_session_append(s, &ev), 0);
	ev.start = ev.end = t + 11;
	ev.u.bytes = 0x7FF8DEADBEEF0001ull; /* a NaN with a payload */
	assert_int_equal(trace_session_append(s, &ev), 0);
	ev.start = ev.end = t + 12;
	ev.u.counter_double = -0.0;
	assert_int_equal(trace_session_append(s, &ev), 0);

	/* a lost-events marker and extreme times */
	memset(&ev, 0, sizeof(ev));
	ev.kind = TRACE_LOST;
	ev.track = pr;
	ev.start = t + 100;
	ev.end = t + 200;
	ev.u.bytes = 12;
	assert_int_equal(trace_session_append(s, &ev), 0);
	/* the longest durations there are (INT64_MAX), at both ends of the clock */
	ev.start = INT64_MIN;
	ev.end = -1;
	ev.u.bytes = UINT64_MAX;
	assert_int_equal(trace_session_append(s, &ev), 0);
	ev.start = 0;
	ev.end = INT64_MAX;
	assert_int_equal(trace_session_append(s, &ev), 0);
	ev.start = -5;
	ev.end = -5;
	ev.u.bytes = 1;
	assert_int_equal(trace_session_append(s, &ev), 0);

	trace_session_finish(s);
	return s;
}

/* Asserts that two sessions hold the same tables and events, field by
 * field. */
static void assert_same_session(const struct trace_session *a, const struct trace_session *b)
{
	assert_int_equal(trace_session_string_count(a), trace_session_string_count(b));
	for (uint32_t id = 0; id < trace_session_string_count(a); id++) {
		size_t la, lb;
		const char *sa = trace_session_string(a, id, &la), *sb = trace_session_string(b, id, &lb);
		assert_int_equal(la, lb);
		assert_memory_equal(sa, sb, la ? la : 1);
	}
	assert_int_equal(trace_session_frame_count(a), trace_session_frame_count(b));
	for (uint32_t id = 1; id < trace_session_frame_count(a); id++) {
		const struct trace_frame *fa = trace_session_frame(a, id), *fb = trace_session_frame(b, id);
		assert_non_null(fa);
		assert_non_null(fb);
		assert_int_equal(fa->pc, fb->pc);
		assert_int_equal(fa->offset, fb->offset);
		assert_int_equal(fa->function, fb->function);
		assert_int_equal(fa->module, fb->module);
		assert_int_equal(fa->file, fb->file);
		assert_int_equal(fa->line, fb->line);
	}
	assert_int_equal(trace_session_stack_count(a), trace_session_stack_count(b));
	for (uint32_t id = 1; id < trace_session_stack_count(a); id++) {
		uint32_t na, nb;
		const uint32_t *xa = trace_session_stack(a, id, &na), *xb = trace_session_stack(b, id, &nb);
		assert_int_equal(na, nb);
		assert_memory_equal(xa, xb, na * sizeof(uint32_t));
	}
	assert_int_equal(trace_session_track_count(a), trace_session_track_count(b));
	for (uint32_t id = 1; id < trace_session_track_count(a); id++) {
		const struct trace_track_info *ta = trace_session_track_info(a, id),
		                              *tb = trace_session_track_info(b, id);
		assert_int_equal(ta->kind, tb->kind);
		assert_int_equal(ta->pid, tb->pid);
		assert_int_equal(ta->tid, tb->tid);
		assert_int_equal(ta->device, tb->device);
		assert_int_equal(ta->context, tb->context);
		assert_int_equal(ta->stream, tb->stream);
		assert_int_equal(ta->name, tb->name);
	}
	assert_int_equal(trace_session_launch_count(a), trace_session_launch_count(b));
	for (uint32_t id = 1; id < trace_session_launch_count(a); id++) {
		const struct trace_launch *la = trace_session_launch(a, id),
		                          *lb = trace_session_launch(b, id);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(la->grid[i], lb->grid[i]);
			assert_int_equal(la->block[i], lb->block[i]);
			assert_int_equal(la->cluster[i], lb->cluster[i]);
		}
		assert_int_equal(la->registers, lb->registers);
		assert_int_equal(la->static_smem, lb->static_smem);
		assert_int_equal(la->dynamic_smem, lb->dynamic_smem);
	}
	assert_int_equal(trace_session_nvtx_attr_count(a), trace_session_nvtx_attr_count(b));
	for (uint32_t id = 1; id < trace_session_nvtx_attr_count(a); id++) {
		const struct trace_nvtx_attr *xa = trace_session_nvtx_attr(a, id),
		                             *xb = trace_session_nvtx_attr(b, id);
		assert_int_equal(xa->domain, xb->domain);
		assert_int_equal(xa->category, xb->category);
		assert_int_equal(xa->color, xb->color);
		assert_int_equal(xa->has_color, xb->has_color);
		assert_int_equal(xa->payload_type, xb->payload_type);
		assert_int_equal(xa->payload, xb->payload);
	}
	assert_int_equal(trace_session_memop_count(a), trace_session_memop_count(b));
	for (uint32_t id = 1; id < trace_session_memop_count(a); id++) {
		const struct trace_memop *ma = trace_session_memop(a, id), *mb = trace_session_memop(b, id);
		assert_int_equal(ma->address, mb->address);
		assert_int_equal(ma->bytes, mb->bytes);
		assert_int_equal(ma->device, mb->device);
		assert_int_equal(ma->mem_kind, mb->mem_kind);
	}
	assert_int_equal(trace_session_process_count(a), trace_session_process_count(b));
	for (size_t i = 0; i < trace_session_process_count(a); i++) {
		const struct trace_process *pa = trace_session_process(a, i),
		                           *pb = trace_session_process(b, i);
		assert_int_equal(pa->pid, pb->pid);
		assert_int_equal(pa->ppid, pb->ppid);
		assert_int_equal(pa->command, pb->command);
		assert_true(pa->start == pb->start);
		assert_true(pa->end == pb->end);
		assert_int_equal(pa->state, pb->state);
		assert_true(pa->status == pb->status);
	}
	assert_int_equal(trace_session_device_count(a), trace_session_device_count(b));
	for (size_t i = 0; i < trace_session_device_count(a); i++) {
		const struct trace_device *da = trace_session_device(a, i), *db = trace_session_device(b, i);
		assert_int_equal(da->id, db->id);
		assert_int_equal(da->api, db->api);
		assert_int_equal(da->name, db->name);
		assert_memory_equal(da->uuid, db->uuid, 16);
		assert_int_equal(da->cc_major, db->cc_major);
		assert_int_equal(da->cc_minor, db->cc_minor);
		assert_int_equal(da->sm_count, db->sm_count);
		assert_int_equal(da->global_memory, db->global_memory);
		assert_int_equal(da->warp_size, db->warp_size);
		assert_int_equal(da->max_threads_per_block, db->max_threads_per_block);
		assert_int_equal(da->max_threads_per_sm, db->max_threads_per_sm);
		assert_int_equal(da->max_blocks_per_sm, db->max_blocks_per_sm);
		assert_int_equal(da->regs_per_block, db->regs_per_block);
		assert_int_equal(da->regs_per_sm, db->regs_per_sm);
		assert_int_equal(da->smem_per_block, db->smem_per_block);
		assert_int_equal(da->smem_per_sm, db->smem_per_sm);
		assert_int_equal(da->core_clock_khz, db->core_clock_khz);
		assert_int_equal(da->memory_clock_khz, db->memory_clock_khz);
		assert_int_equal(da->memory_bus_width, db->memory_bus_width);
	}
	assert_int_equal(trace_session_meta_count(a), trace_session_meta_count(b));
	for (size_t i = 0; i < trace_session_meta_count(a); i++) {
		const char *ka, *va, *kb, *vb;
		trace_session_meta_at(a, i, &ka, &va);
		trace_session_meta_at(b, i, &kb, &vb);
		assert_string_equal(ka, kb);
		assert_string_equal(va, vb);
	}
	assert_int_equal(trace_session_loss_count(a), trace_session_loss_count(b));
	for (size_t i = 0; i < trace_session_loss_count(a); i++) {
		const struct trace_loss *la = trace_session_loss(a, i), *lb = trace_session_loss(b, i);
		assert_int_equal(la->pid, lb->pid);
		assert_int_equal(la->source, lb->source);
		assert_int_equal(la->count, lb->count);
	}
	assert_int_equal(trace_session_event_count(a), trace_session_event_count(b));
	for (unsigned k = 0; k <= TRACE_KIND_MAX; k++)
		assert_int_equal(trace_session_kind_count(a, k), trace_session_kind_count(b, k));
	for (uint32_t id = 1; id < trace_session_track_count(a); id++) {
		size_t na, nb;
		const struct trace_event *ea = trace_session_track_events(a, id, &na),
		                         *eb = trace_session_track_events(b, id, &nb);
		assert_int_equal(na, nb);
		for (size_t i = 0; i < na; i++) {
			assert_true(ea[i].start == eb[i].start);
			assert_true(ea[i].end == eb[i].end);
			assert_int_equal(ea[i].name, eb[i].name);
			assert_int_equal(ea[i].track, eb[i].track);
			assert_int_equal(ea[i].correlation, eb[i].correlation);
			assert_int_equal(ea[i].kind, eb[i].kind);
			assert_int_equal(ea[i].flags, eb[i].flags);
			assert_int_equal(ea[i].sub, eb[i].sub);
			assert_int_equal(ea[i].u.bytes, eb[i].u.bytes);
		}
	}
}

/* Writes `s` to `name` and loads it back, asserting a clean read. */
static struct trace_session *round_trip(const struct trace_session *s, const char *name,
                                        const struct sbt_writer_options *o, struct sbt_read_report *rep)
{
	struct err e = {{0}};
	const char *path = tpath(name);
	assert_int_equal(sbt_write_session(path, s, o, &e), 0);
	struct trace_session *back = trace_session_new();
	int rc = sbt_load(path, back, rep, &e);
	if (rc)
		fail_msg("load: %s", e.msg);
	assert_false(rep->truncated);
	assert_true(rep->has_index);
	assert_int_equal(rep->chunks_skipped, 0);
	assert_int_equal(rep->records_dropped, 0);
	assert_int_equal(rep->bytes_skipped, 0);
	assert_string_equal(rep->first_problem, "");
	assert_int_equal(rep->events, trace_session_event_count(s));
	assert_int_equal(rep->version_major, 1);
	assert_int_equal(rep->version_minor, 0);
	return back;
}

/* --- tests ----------------------------------------------------------------------- */

static void test_varint(void **state)
{
	(void)state;
	uint64_t vals[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, (uint64_t)1 << 63, UINT64_MAX};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint8_t buf[VARINT_MAX_BYTES];
		size_t n = varint_put(buf, vals[i]);
		assert_int_equal(n, varint_size(vals[i]));
		const uint8_t *p = buf;
		uint64_t v;
		assert_true(varint_get(&p, buf + n, &v));
		assert_int_equal(v, vals[i]);
		assert_ptr_equal(p, buf + n);
		p = buf;
		assert_false(varint_get(&p, buf + n - 1, &v)); /* cut short */
		assert_ptr_equal(p, buf);
	}
	int64_t svals[] = {0, -1, 1, -64, 64, INT64_MIN, INT64_MAX};
	uint64_t zz[] = {0, 1, 2, 127, 128, UINT64_MAX, UINT64_MAX - 1};
	for (size_t i = 0; i < sizeof(svals) / sizeof(svals[0]); i++) {
		assert_int_equal(varint_zigzag_encode(svals[i]), zz[i]);
		assert_true(varint_zigzag_decode(zz[i]) == svals[i]);
	}
	/* 11 bytes, or a 10th byte above 1, do not fit 64 bits */
	uint8_t longer[11];
	memset(longer, 0x80, sizeof(longer));
	longer[10] = 0;
	const uint8_t *p = longer;
	uint64_t v;
	assert_false(varint_get(&p, longer + 11, &v));
	memset(longer, 0xff, 9);
	longer[9] = 2;
	p = longer;
	assert_false(varint_get(&p, longer + 10, &v));
	longer[9] = 1;
	assert_true(varint_get(&p, longer + 10, &v));
	assert_int_equal(v, UINT64_MAX);
	uint8_t big[5] = {0xff, 0xff, 0xff, 0xff, 0x10};
	uint32_t v32;
	p = big;
	assert_false(varint_get32(&p, big + 5, &v32));
}

static void test_round_trip_plain(void **state)
{
	(void)state;
	struct trace_session *s = full_session(true);
	struct sbt_read_report rep;
	struct trace_session *back = round_trip(s, "plain.sbt", NULL, &rep);
	assert_same_session(s, back);
	assert_int_equal(rep.chunks_compressed, 0);
	trace_session_delete(back);

	/* the file header as the spec lays it out */
	size_t len;
	uint8_t *f = read_all(tpath("plain.sbt"), &len);
	assert_memory_equal(f, "\x89SBT\r\n\x1a\n\x01\x00\x00\x00\x00\x00\x00\x00", 16);
	assert_int_equal(rep.file_bytes, len);
	free(f);
	trace_session_delete(s);
}

static void test_round_trip_zstd(void **state)
{
	(void)state;
	struct trace_session *s = full_session(true);
	struct sbt_writer_options o = {.zstd_level = 3, .chunk_bytes = 1024};
	struct sbt_read_report rep;
	struct trace_session *back = round_trip(s, "zstd.sbt", &o, &rep);
	assert_same_session(s, back);
	assert_true(rep.chunks_compressed > 0);
	assert_true(rep.chunks > 5);
	trace_session_delete(back);

	size_t len;
	uint8_t *f = read_all(tpath("zstd.sbt"), &len);
	assert_int_equal(f[12], 1); /* header flag: compressed chunks may follow */
	free(f);
	trace_session_delete(s);
}

static void test_round_trip_tiny_chunks(void **state)
{
	(void)state;
	struct trace_session *s = full_session(true);
	/* one event per chunk, one definition per chunk */
	struct sbt_writer_options o = {.chunk_bytes = 1};
	struct sbt_read_report rep;
	struct trace_session *back = round_trip(s, "tiny.sbt", &o, &rep);
	assert_same_session(s, back);
	assert_true(rep.chunks > trace_session_event_count(s));
	trace_session_delete(back);
	o.zstd_level = 1;
	back = round_trip(s, "tiny-zstd.sbt", &o, &rep);
	assert_same_session(s, back);
	trace_session_delete(back);
	trace_session_delete(s);
}

static void test_round_trip_empty_session(void **state)
{
	(void)state;
	struct trace_session *s = trace_session_new();
	struct sbt_read_report rep;
	struct trace_session *back = round_trip(s, "empty-session.sbt", NULL, &rep);
	assert_int_equal(trace_session_event_count(back), 0);
	assert_int_equal(rep.chunks, 1); /* the index alone */
	trace_session_delete(back);
	trace_session_delete(s);
}

/* The streaming writer: definitions interleaved with events in tiny chunks,
 * a flush leaving a loadable file without a footer, and the byte count. */
static void test_writer_streaming(void **state)
{
	(void)state;
	struct err e = {{0}};
	const char *path = tpath("stream.sbt");
	struct sbt_writer_options o = {.chunk_bytes = 64};
	struct sbt_writer *w = sbt_writer_open(path, &o, &e);
	assert_non_null(w);
	struct trace_session *want = trace_session_new();
	struct trace_track_info ti = {.kind = TRACE_TRACK_STREAM, .pid = 1, .stream = 1};
	uint32_t track = trace_session_add_track(want, &ti);
	assert_int_equal(sbt_writer_track(w, track, &ti, &e), 0);
	uint32_t next_string = 1;
	for (int i = 0; i < 200; i++) {
		if (i % 10 == 0) {
			char name[32];
			snprintf(name, sizeof(name), "kernel_%d", i / 10);
			uint32_t id = trace_session_intern_cstr(want, name);
			assert_int_equal(id, next_string++);
			assert_int_equal(sbt_writer_string(w, id, name, strlen(name), &e), 0);
		}
		struct trace_event ev = {.start = i * 100,
		                         .end = i * 100 + 50,
		                         .name = next_string - 1,
		                         .track = track,
		                         .kind = TRACE_KERNEL,
		                         .correlation = (uint32_t)i + 1};
		assert_int_equal(trace_session_append(want, &ev), 0);
		assert_int_equal(sbt_writer_append(w, &ev, &e), 0);
	}
	trace_session_finish(want);
	assert_int_equal(sbt_writer_flush(w, &e), 0);

	/* after a flush, everything appended is in the file; no footer yet */
	size_t len;
	uint8_t *f = read_all(path, &len);
	assert_int_equal(sbt_writer_bytes(w), len);
	struct trace_session *got = trace_session_new();
	struct sbt_read_report rep;
	assert_int_equal(sbt_load_buffer(f, len, got, &rep, &e), 0);
	assert_true(rep.truncated);
	assert_int_equal(rep.truncated_at, len);
	assert_false(rep.has_index);
	assert_int_equal(rep.events, 200);
	assert_same_session(want, got);
	trace_session_delete(got);
	free(f);

	assert_int_equal(sbt_writer_close(w, &e), 0);
	got = trace_session_new();
	assert_int_equal(sbt_load(path, got, &rep, &e), 0);
	assert_false(rep.truncated);
	assert_true(rep.has_index);
	assert_same_session(want, got);
	trace_session_delete(got);
	trace_session_delete(want);
}

static void test_writer_errors(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct sbt_writer_options o = {.zstd_level = 25};
	assert_null(sbt_writer_open(tpath("bad.sbt"), &o, &e));
	assert_non_null(strstr(e.msg, "zstd level"));
	o = (struct sbt_writer_options){.chunk_bytes = (size_t)1 << 30};
	assert_null(sbt_writer_open(tpath("bad.sbt"), &o, &e));
	assert_non_null(strstr(e.msg, "chunk size"));
	assert_null(sbt_writer_open(test_dir, NULL, &e)); /* a directory */
	assert_non_null(strstr(e.msg, "cannot create"));

	struct sbt_writer *w = sbt_writer_open(tpath("ids.sbt"), NULL, &e);
	assert_non_null(w);
	assert_int_equal(sbt_writer_string(w, 2, "b", 1, &e), -1); /* id 1 first */
	assert_non_null(strstr(e.msg, "string id 2"));
	assert_int_equal(sbt_writer_string(w, 1, "a", 1, &e), 0);
	assert_int_equal(sbt_writer_string(w, 1, "a", 1, &e), -1); /* each once */
	assert_int_equal(sbt_writer_string(w, 0, "", 0, &e), -1);
	struct trace_frame fr = {.pc = 1};
	assert_int_equal(sbt_writer_frame(w, 1, &fr, &e), 0); /* tables are independent */
	struct trace_event ev = {.start = 10, .end = 9, .kind = TRACE_KERNEL, .track = 1};
	assert_int_equal(sbt_writer_append(w, &ev, &e), -1);
	assert_non_null(strstr(e.msg, "invalid event"));
	ev.end = 10;
	ev.kind = 0;
	assert_int_equal(sbt_writer_append(w, &ev, &e), -1);
	ev.kind = TRACE_KIND_MAX + 1;
	assert_int_equal(sbt_writer_append(w, &ev, &e), -1);
	/* end fits in int64 but end - start does not (event.h): refused */
	ev.kind = TRACE_KERNEL;
	ev.start = INT64_MIN;
	ev.end = 0;
	e.msg[0] = '\0';
	assert_int_equal(sbt_writer_append(w, &ev, &e), -1);
	assert_non_null(strstr(e.msg, "invalid event"));
	ev.start = -1;
	ev.end = INT64_MAX;
	assert_int_equal(sbt_writer_append(w, &ev, &e), -1);
	/* argument errors do not stop the writer (and wrote nothing: an event
	 * in the file would be counted as dropped, its track being undefined) */
	assert_int_equal(sbt_writer_close(w, &e), 0);
	struct trace_session *s = trace_session_new();
	struct sbt_read_report rep;
	assert_int_equal(sbt_load(tpath("ids.sbt"), s, &rep, &e), 0);
	assert_int_equal(trace_session_string_count(s), 2);
	assert_int_equal(trace_session_frame_count(s), 2);
	assert_int_equal(rep.records_dropped, 0);
	trace_session_delete(s);
}

/* Duplicate strings under two file ids both map to the one session string;
 * records and events that use ids the file never defined are dropped and
 * counted, the rest loads. */
static void test_reader_id_mapping(void **state)
{
	(void)state;
	struct err e = {{0}};
	const char *path = tpath("ids2.sbt");
	struct sbt_writer *w = sbt_writer_open(path, NULL, &e);
	assert_non_null(w);
	assert_int_equal(sbt_writer_string(w, 1, "dup", 3, &e), 0);
	assert_int_equal(sbt_writer_string(w, 2, "other", 5, &e), 0);
	assert_int_equal(sbt_writer_string(w, 3, "dup", 3, &e), 0);
	struct trace_track_info t1 = {.kind = TRACE_TRACK_THREAD, .pid = 1, .tid = 1, .name = 3};
	struct trace_track_info t2 = {
	    .kind = TRACE_TRACK_THREAD, .pid = 1, .tid = 2, .name = 99}; /* undefined */
	struct trace_track_info t3 = {.kind = 77, .pid = 1};             /* bad kind */
	assert_int_equal(sbt_writer_track(w, 1, &t1, &e), 0);
	assert_int_equal(sbt_writer_track(w, 2, &t2, &e), 0);
	assert_int_equal(sbt_writer_track(w, 3, &t3, &e), 0);
	struct trace_loss loss = {.pid = 1, .source = 98, .count = 5}; /* undefined source */
	assert_int_equal(sbt_writer_loss(w, &loss, &e), 0);
	struct trace_nvtx_attr attr = {.domain = 97}; /* undefined domain: attribute 1 is dropped */
	assert_int_equal(sbt_writer_nvtx_attr(w, 1, &attr, &e), 0);
	attr.domain = 2;
	assert_int_equal(sbt_writer_nvtx_attr(w, 2, &attr, &e), 0);
	struct trace_event ev = {.start = 1, .end = 2, .name = 3, .track = 1, .kind = TRACE_API};
	assert_int_equal(sbt_writer_append(w, &ev, &e), 0);
	ev.name = 1;
	assert_int_equal(sbt_writer_append(w, &ev, &e), 0);
	ev.track = 2; /* its track was dropped */
	assert_int_equal(sbt_writer_append(w, &ev, &e), 0);
	ev.track = 1;
	ev.u.api.stack = 4; /* no stack defined */
	assert_int_equal(sbt_writer_append(w, &ev, &e), 0);
	ev.u.api.stack = 0;
	ev.name = 50; /* no such string */
	assert_int_equal(sbt_writer_append(w, &ev, &e), 0);
	ev.name = 2;
	ev.kind = TRACE_KERNEL;
	ev.u.kernel.launch = 1; /* no launch defined */
	assert_int_equal(sbt_writer_append(w, &ev, &e), 0);
	ev.kind = TRACE_NVTX_MARK;
	ev.u.nvtx.attr = 1; /* its attribute was dropped */
	ev.u.nvtx.stack = 0;
	assert_int_equal(sbt_writer_append(w, &ev, &e), 0);
	ev.u.nvtx.attr = 2;
	assert_int_equal(sbt_writer_append(w, &ev, &e), 0);
	assert_int_equal(sbt_writer_close(w, &e), 0);

	struct trace_session *s = trace_session_new();
	struct sbt_read_report rep;
	assert_int_equal(sbt_load(path, s, &rep, &e), 0);
	assert_int_equal(trace_session_string_count(s), 3); /* "", "dup", "other" */
	assert_int_equal(trace_session_track_count(s), 2);
	assert_int_equal(trace_session_loss_count(s), 0);
	assert_int_equal(rep.events, 3);
	assert_int_equal(rep.records_dropped, 4 + 5);
	assert_int_equal(trace_session_nvtx_attr_count(s), 2);
	assert_string_not_equal(rep.first_problem, "");
	size_t n;
	const struct trace_event *evs = trace_session_track_events(s, 1, &n);
	assert_int_equal(n, 3);
	assert_int_equal(evs[2].kind, TRACE_NVTX_MARK);
	assert_int_equal(evs[2].u.nvtx.attr, 1);
	assert_int_equal(trace_session_nvtx_attr(s, 1)->domain, evs[2].name);
	size_t len;
	assert_string_equal(trace_session_string(s, evs[0].name, &len), "dup");
	assert_int_equal(evs[0].name, evs[1].name);
	assert_int_equal(trace_session_track_info(s, 1)->name, evs[0].name);
	trace_session_delete(s);
}

/* A small file of several chunks of every kind. */
static uint8_t *small_file(int zstd_level, size_t *len)
{
	struct trace_session *s = trace_session_new();
	struct trace_track_info ti = {.kind = TRACE_TRACK_STREAM, .pid = 7, .stream = 1};
	uint32_t sm = trace_session_add_track(s, &ti);
	struct trace_track_info th = {.kind = TRACE_TRACK_THREAD, .pid = 7, .tid = 7};
	uint32_t tt = trace_session_add_track(s, &th);
	uint32_t names[4];
	for (int i = 0; i < 4; i++) {
		char buf[32];
		snprintf(buf, sizeof(buf), "kernel_number_%d", i);
		names[i] = trace_session_intern_cstr(s, buf);
	}
	struct trace_launch l = {.grid = {64, 1, 1}, .block = {128, 1, 1}, .registers = 32};
	uint32_t lc = trace_session_add_launch(s, &l);
	struct trace_frame fr = {.pc = 0x1234, .function = names[0]};
	uint32_t f = trace_session_add_frame(s, &fr);
	uint32_t st = trace_session_add_stack(s, &f, 1);
	trace_session_set_meta(s, "host", "box");
	for (int i = 0; i < 120; i++) {
		struct trace_event ev = {.start = 1000 + i * 500,
		                         .end = 1000 + i * 500 + 300,
		                         .name = names[i % 4],
		                         .track = sm,
		                         .correlation = (uint32_t)i + 1,
		                         .kind = TRACE_KERNEL};
		ev.u.kernel.launch = lc;
		assert_int_equal(trace_session_append(s, &ev), 0);
		struct trace_event api = {.start = 900 + i * 500,
		                          .end = 950 + i * 500,
		                          .name = names[0],
		                          .track = tt,
		                          .correlation = (uint32_t)i + 1,
		                          .kind = TRACE_API};
		api.u.api.stack = st;
		assert_int_equal(trace_session_append(s, &api), 0);
	}
	trace_session_finish(s);
	struct sbt_writer_options o = {.zstd_level = zstd_level, .chunk_bytes = 256};
	struct err e = {{0}};
	const char *path = tpath(zstd_level ? "small-zstd.sbt" : "small.sbt");
	assert_int_equal(sbt_write_session(path, s, &o, &e), 0);
	trace_session_delete(s);
	return read_all(path, len);
}

/* Cut at every byte: never an error once the header is whole, never a
 * crash, events never decrease as the cut moves later, each whole chunk's
 * events present, and the whole file gives everything. */
static void test_truncation_every_byte(void **state)
{
	(void)state;
	for (int z = 0; z <= 1; z++) {
		size_t len;
		uint8_t *f = small_file(z ? 3 : 0, &len);
		struct tchunk ch[256];
		size_t nch = walk(f, len, ch, 256);
		assert_true(nch >= 5);
		assert_true(len > 1024 && len < 16384);
		size_t event_chunks = 0;
		for (size_t i = 0; i < nch; i++)
			event_chunks += ch[i].type == 6;
		assert_true(event_chunks >= 3);

		uint64_t prev = 0;
		size_t next_chunk = 0, whole_end = 16;
		for (size_t cut = 0; cut <= len; cut++) {
			struct trace_session *s = trace_session_new();
			struct sbt_read_report rep;
			struct err e = {{0}};
			int rc = load_copy(f, cut, s, &rep, &e);
			if (cut < 16) {
				assert_int_equal(rc, -1);
				assert_string_not_equal(e.msg, "");
				trace_session_delete(s);
				continue;
			}
			if (rc)
				fail_msg("cut %zu: %s", cut, e.msg);
			while (next_chunk < nch && ch[next_chunk].off + 20 + ch[next_chunk].len <= cut) {
				whole_end = ch[next_chunk].off + 20 + ch[next_chunk].len;
				next_chunk++;
			}
			assert_true(rep.events >= prev);
			assert_int_equal(rep.events, trace_session_event_count(s));
			assert_int_equal(rep.chunks_skipped, 0);
			assert_int_equal(rep.records_dropped, 0);
			if (cut < len) {
				assert_true(rep.truncated);
				assert_int_equal(rep.truncated_at, whole_end);
				assert_int_equal(rep.chunks, next_chunk);
			} else {
				assert_false(rep.truncated);
				assert_true(rep.has_index);
				assert_int_equal(rep.events, 240);
			}
			if (!z && cut == whole_end) {
				uint64_t want = 0;
				for (size_t i = 0; i < next_chunk; i++)
					want += ch[i].type == 6 ? chunk_event_count(f, &ch[i]) : 0;
				assert_int_equal(rep.events, want);
			}
			prev = rep.events;
			trace_session_delete(s);
		}
		free(f);
	}
}

/* Seeded random damage of many kinds: the reader never crashes, never
 * reports more than it loaded, and always answers. */
static void test_random_corruption(void **state)
{
	(void)state;
	size_t lens[4];
	uint8_t *files[4] = {small_file(0, &lens[0]), small_file(3, &lens[1]), NULL, NULL};
	/* every table and event kind, in small chunks, without the big string */
	struct trace_session *full = full_session(false);
	for (int z = 0; z < 2; z++) {
		struct sbt_writer_options o = {.zstd_level = z ? 5 : 0, .chunk_bytes = 300};
		struct err e = {{0}};
		assert_int_equal(sbt_write_session(tpath("full.sbt"), full, &o, &e), 0);
		files[2 + z] = read_all(tpath("full.sbt"), &lens[2 + z]);
	}
	trace_session_delete(full);
	size_t max = 0;
	for (int i = 0; i < 4; i++)
		max = lens[i] > max ? lens[i] : max;
	rng_state = 0x5EEDF00DCAFEull;
	uint8_t *buf = malloc(2 * max);
	assert_non_null(buf);
	struct tchunk *ch = malloc(4096 * sizeof(*ch));
	assert_non_null(ch);
	uint64_t loaded = 0, skipped = 0, dropped = 0;
	for (int iter = 0; iter < 6000; iter++) {
		int which = iter & 3;
		size_t len = lens[which];
		memcpy(buf, files[which], len);
		size_t nch = walk(buf, len, ch, 4096);
		int kind = (int)rnd_below(7);
		switch (kind) {
		case 0: /* flip bits */
			for (int k = 1 + (int)rnd_below(8); k > 0; k--)
				buf[rnd_below(len)] ^= (uint8_t)(1u << rnd_below(8));
			break;
		case 1: { /* overwrite a 32-bit field with a length-like value */
			uint32_t vals[] = {
			    0, 1, 0xffffffffu, 0x7fffffffu, 64u << 20, (uint32_t)len, (uint32_t)rnd()};
			put32(buf + rnd_below(len - 4), vals[rnd_below(7)]);
			break;
		}
		case 2: { /* duplicate a range into another place */
			size_t a = rnd_below(len), l = 1 + rnd_below(len - a), at = rnd_below(len + 1);
			size_t tail = len - at;
			if (at > len || a + l > len || tail > max || l > max)
				break;
			memmove(buf + at + l, buf + at, tail);
			memmove(buf + at, buf + (a >= at ? a + l : a), l);
			len += l;
			break;
		}
		case 3: { /* delete a range */
			size_t a = rnd_below(len), l = 1 + rnd_below(len - a);
			if (a + l <= len) {
				memmove(buf + a, buf + a + l, len - (a + l));
				len -= l;
			}
			break;
		}
		case 4: { /* a chunk header lying about its length, with a valid CRC */
			const struct tchunk *c = &ch[rnd_below(nch)];
			uint32_t vals[] = {0,           c->len - 1, c->len + 1,
			                   0xffffffffu, 64u << 20,  (uint32_t)rnd_below(len)};
			put32(buf + c->off + 8, vals[rnd_below(6)]);
			fix_header_crc(buf, c->off);
			break;
		}
		case 5: { /* damaged payload with a matching CRC: only the decoders stand guard */
			const struct tchunk *c = &ch[rnd_below(nch)];
			if (c->len == 0)
				break;
			for (int k = 1 + (int)rnd_below(4); k > 0; k--) {
				size_t at = c->off + 16 + rnd_below(c->len);
				buf[at] = rnd_below(2) ? (uint8_t)rnd() : buf[at] ^ 0x80;
			}
			fix_payload_crc(buf, c);
			break;
		}
		default: { /* an unknown chunk type or flag, with valid CRCs */
			const struct tchunk *c = &ch[rnd_below(nch)];
			if (rnd_below(2))
				buf[c->off + 4] = (uint8_t)(9 + rnd_below(240));
			else
				buf[c->off + 5] |= (uint8_t)(2u << rnd_below(7));
			fix_header_crc(buf, c->off);
			break;
		}
		}
		if (rnd_below(8) == 0)
			len = rnd_below(len + 1);
		struct trace_session *s = trace_session_new();
		struct sbt_read_report rep;
		struct err e = {{0}};
		int rc = load_copy(buf, len, s, &rep, &e);
		if (rc == 0) {
			loaded++;
			skipped += rep.chunks_skipped > 0;
			dropped += rep.records_dropped > 0;
			assert_int_equal(rep.events, trace_session_event_count(s));
			assert_true(rep.chunks_unknown <= rep.chunks_skipped);
			assert_true(rep.truncated_at <= len);
			assert_true(rep.bytes_skipped <= len);
		} else {
			assert_string_not_equal(e.msg, "");
			assert_int_equal(trace_session_event_count(s), 0);
		}
		trace_session_delete(s);
	}
	/* the damage reached the reader's checks, not just its header test */
	assert_true(loaded > 5000);
	assert_true(skipped > 2000);
	assert_true(dropped > 100);
	free(ch);
	free(buf);
	for (int i = 0; i < 4; i++)
		free(files[i]);
}

/* One flipped byte in one events chunk's payload: exactly that chunk is
 * skipped, everything else loads, the file is still whole and indexed. */
static void test_flipped_byte_skips_one_chunk(void **state)
{
	(void)state;
	size_t len;
	uint8_t *f = small_file(0, &len);
	struct tchunk ch[256];
	size_t nch = walk(f, len, ch, 256);
	size_t victims = 0;
	for (size_t k = 0; k < nch; k++) {
		if (ch[k].type != 6)
			continue;
		uint64_t lost = chunk_event_count(f, &ch[k]);
		for (int where = 0; where < 3; where++) {
			size_t at = ch[k].off + 16 +
			            (where == 0   ? 0
			             : where == 1 ? ch[k].len / 2
			                          : ch[k].len - 1);
			f[at] ^= 0x10;
			struct trace_session *s = trace_session_new();
			struct sbt_read_report rep;
			struct err e = {{0}};
			assert_int_equal(load_copy(f, len, s, &rep, &e), 0);
			assert_int_equal(rep.chunks_skipped, 1);
			assert_int_equal(rep.chunks_unknown, 0);
			assert_int_equal(rep.events, 240 - lost);
			assert_int_equal(rep.records_dropped, 0);
			assert_false(rep.truncated);
			assert_true(rep.has_index);
			assert_non_null(strstr(rep.first_problem, "checksum"));
			assert_int_equal(trace_session_string_count(s), 5);
			trace_session_delete(s);
			f[at] ^= 0x10;
		}
		victims++;
	}
	assert_true(victims >= 3);
	free(f);
}

/* A damaged chunk header (its CRC fails): the reader scans to the next good
 * header and reports the bytes it passed over. */
static void test_bad_header_resync(void **state)
{
	(void)state;
	size_t len;
	uint8_t *f = small_file(0, &len);
	struct tchunk ch[256];
	size_t nch = walk(f, len, ch, 256);
	size_t k = 0;
	while (ch[k].type != 6)
		k++;
	k++;
	while (ch[k].type != 6)
		k++; /* the second events chunk */
	uint64_t lost = chunk_event_count(f, &ch[k]);
	f[ch[k].off + 9] ^= 0x01; /* its length */
	struct trace_session *s = trace_session_new();
	struct sbt_read_report rep;
	struct err e = {{0}};
	assert_int_equal(load_copy(f, len, s, &rep, &e), 0);
	assert_int_equal(rep.events, 240 - lost);
	assert_int_equal(rep.bytes_skipped, 20 + ch[k].len);
	assert_int_equal(rep.chunks_skipped, 1);
	assert_int_equal(rep.chunks, nch - 1);
	assert_false(rep.truncated);
	assert_false(rep.has_index); /* the index lists a chunk the walk could not see */
	assert_non_null(strstr(rep.first_problem, "no valid chunk header"));
	trace_session_delete(s);

	/* the same damage in a file cut off before its footer */
	s = trace_session_new();
	assert_int_equal(load_copy(f, ch[nch - 1].off, s, &rep, &e), 0);
	assert_int_equal(rep.events, 240 - lost);
	assert_true(rep.truncated);
	assert_int_equal(rep.truncated_at, ch[nch - 1].off);
	trace_session_delete(s);

	/* an index entry with the wrong chunk type (CRC intact): not trusted */
	f[ch[k].off + 9] ^= 0x01;
	size_t ip = ch[nch - 1].off + 16;
	assert_true(f[ip] < 0x80 && f[ip + 1] == 16); /* count, then the first entry's offset */
	uint8_t saved = f[ip + 2];
	f[ip + 2] = 99;
	fix_payload_crc(f, &ch[nch - 1]);
	s = trace_session_new();
	assert_int_equal(load_copy(f, len, s, &rep, &e), 0);
	assert_int_equal(rep.events, 240);
	assert_false(rep.truncated);
	assert_false(rep.has_index);
	assert_non_null(strstr(rep.first_problem, "footer index disagrees"));
	trace_session_delete(s);
	f[ip + 2] = saved;
	fix_payload_crc(f, &ch[nch - 1]);
	f[ch[k].off + 9] ^= 0x01;

	/* and a damaged footer index: the file is whole, just not indexed */
	f[ch[k].off + 9] ^= 0x01;
	f[ch[nch - 1].off + 16] ^= 0x01;
	s = trace_session_new();
	assert_int_equal(load_copy(f, len, s, &rep, &e), 0);
	assert_int_equal(rep.events, 240);
	assert_false(rep.truncated);
	assert_false(rep.has_index);
	assert_non_null(strstr(rep.first_problem, "footer index"));
	trace_session_delete(s);
	free(f);
}

static void test_versions(void **state)
{
	(void)state;
	size_t len;
	uint8_t *f = small_file(0, &len);
	struct err e = {{0}};
	struct sbt_read_report rep;

	f[8] = 2; /* major 2, minor 0 */
	struct trace_session *s = trace_session_new();
	assert_int_equal(sbt_load_buffer(f, len, s, &rep, &e), -1);
	assert_string_equal(e.msg, "SBT version 2.0 is newer than this tstop understands (1.x)");
	write_all(tpath("v2.sbt"), f, len);
	assert_int_equal(sbt_load(tpath("v2.sbt"), s, &rep, &e), -1);
	char want[600];
	snprintf(want, sizeof(want), "%s: SBT version 2.0 is newer than this tstop understands (1.x)",
	         tpath("v2.sbt"));
	assert_string_equal(e.msg, want);
	f[8] = 0;
	f[10] = 9;
	assert_int_equal(sbt_load_buffer(f, len, s, &rep, &e), -1);
	assert_non_null(strstr(e.msg, "SBT version 0.9"));
	assert_int_equal(trace_session_event_count(s), 0);
	trace_session_delete(s);

	/* a newer minor version that adds a chunk type: skipped and counted */
	f[8] = 1;
	f[10] = 0;
	struct tchunk ch[256];
	size_t nch = walk(f, len, ch, 256);
	assert_int_equal(ch[nch - 1].type, 8);
	size_t at = ch[2].off; /* insert before the third chunk */
	uint8_t extra[20 + 5];
	put32(extra, 0x4B48439Cu);
	extra[4] = 200; /* a chunk type version 1.0 does not know */
	extra[5] = 0;
	extra[6] = extra[7] = 0;
	put32(extra + 8, 5);
	put32(extra + 12, crc32c(0, extra, 12));
	memcpy(extra + 16, "hello", 5);
	put32(extra + 21, crc32c(0, extra + 16, 5));
	/* rebuild: header (minor 1), chunks with the new one, a new index, trailer */
	uint8_t *g = malloc(len + 4096);
	assert_non_null(g);
	size_t n = 0;
	memcpy(g, f, 16);
	g[10] = 1;
	n = 16;
	uint8_t idx[4096];
	size_t ni = varint_put(idx, nch); /* nch - 1 old chunks + the new one */
	const uint8_t *ip = f + ch[nch - 1].off + 16, *iend = ip + ch[nch - 1].len;
	uint64_t count;
	assert_true(varint_get(&ip, iend, &count));
	assert_int_equal(count, nch - 1);
	for (size_t i = 0; i < nch - 1; i++) {
		if (ch[i].off == at) {
			memcpy(g + n, extra, sizeof(extra));
			ni += varint_put(idx + ni, n);
			idx[ni++] = 200;
			ni += varint_put(idx + ni, 0);
			ni += varint_put_signed(idx + ni, 0);
			ni += varint_put_signed(idx + ni, 0);
			n += sizeof(extra);
		}
		uint64_t off = 0, events = 0;
		int64_t mn = 0, mx = 0;
		assert_true(varint_get(&ip, iend, &off));
		assert_int_equal(off, ch[i].off);
		uint8_t type = *ip++;
		assert_true(varint_get(&ip, iend, &events) && varint_get_signed(&ip, iend, &mn) &&
		            varint_get_signed(&ip, iend, &mx));
		ni += varint_put(idx + ni, n);
		idx[ni++] = type;
		ni += varint_put(idx + ni, events);
		ni += varint_put_signed(idx + ni, mn);
		ni += varint_put_signed(idx + ni, mx);
		memcpy(g + n, f + ch[i].off, 20 + ch[i].len);
		n += 20 + ch[i].len;
	}
	size_t index_off = n;
	put32(g + n, 0x4B48439Cu);
	g[n + 4] = 8;
	g[n + 5] = g[n + 6] = g[n + 7] = 0;
	put32(g + n + 8, (uint32_t)ni);
	put32(g + n + 12, crc32c(0, g + n, 12));
	memcpy(g + n + 16, idx, ni);
	put32(g + n + 16 + ni, crc32c(0, idx, ni));
	n += 20 + ni;
	for (int i = 0; i < 8; i++)
		g[n + i] = (uint8_t)(index_off >> (8 * i));
	memcpy(g + n + 8, "\x89SBTEND\n", 8);
	n += 16;

	s = trace_session_new();
	assert_int_equal(load_copy(g, n, s, &rep, &e), 0);
	assert_int_equal(rep.version_major, 1);
	assert_int_equal(rep.version_minor, 1);
	assert_int_equal(rep.chunks_unknown, 1);
	assert_int_equal(rep.chunks_skipped, 1);
	assert_int_equal(rep.events, 240);
	assert_false(rep.truncated);
	assert_true(rep.has_index);
	assert_non_null(strstr(rep.first_problem, "unknown chunk type"));
	trace_session_delete(s);
	free(g);
	free(f);
}

static void test_garbage_and_empty(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct sbt_read_report rep;
	struct trace_session *s = trace_session_new();
	char want[600];

	assert_int_equal(sbt_load_buffer(NULL, 0, s, &rep, &e), -1);
	assert_string_equal(e.msg, "empty file, not an SBT file");
	write_all(tpath("empty.sbt"), "", 0);
	assert_int_equal(sbt_load(tpath("empty.sbt"), s, &rep, &e), -1);
	snprintf(want, sizeof(want), "%s: empty file, not an SBT file", tpath("empty.sbt"));
	assert_string_equal(e.msg, want);

	const char *text = "SELECT * FROM kernels;\nthis is a text file, not a trace\n";
	assert_int_equal(sbt_load_buffer(text, strlen(text), s, &rep, &e), -1);
	assert_string_equal(e.msg, "not an SBT file");
	write_all(tpath("run.sbt"), text, strlen(text));
	assert_int_equal(sbt_load(tpath("run.sbt"), s, &rep, &e), -1);
	snprintf(want, sizeof(want), "%s: not an SBT file", tpath("run.sbt"));
	assert_string_equal(e.msg, want);
	assert_false(sbt_is_sbt(text, strlen(text)));

	/* text-mode mangling (CR LF to LF) breaks the magic */
	uint8_t mangled[16] = {0x89, 'S', 'B', 'T', '\n', 0x1a, '\n', 1, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(sbt_load_buffer(mangled, 16, s, &rep, &e), -1);
	assert_string_equal(e.msg, "not an SBT file");

	/* the magic alone, then a bare header */
	uint8_t head[16] = {0x89, 'S', 'B', 'T', '\r', '\n', 0x1a, '\n', 1, 0, 0, 0, 0, 0, 0, 0};
	assert_true(sbt_is_sbt(head, 8));
	assert_false(sbt_is_sbt(head, 7));
	assert_int_equal(sbt_load_buffer(head, 10, s, &rep, &e), -1);
	assert_non_null(strstr(e.msg, "cut off inside its 16-byte header"));
	assert_int_equal(sbt_load_buffer(head, 16, s, &rep, &e), 0);
	assert_true(rep.truncated);
	assert_int_equal(rep.truncated_at, 16);
	assert_int_equal(rep.events, 0);

	/* a header followed by garbage */
	uint8_t junk[400];
	memcpy(junk, head, 16);
	for (size_t i = 16; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37);
	assert_int_equal(sbt_load_buffer(junk, sizeof(junk), s, &rep, &e), 0);
	assert_true(rep.truncated);
	assert_int_equal(rep.truncated_at, 16);
	assert_int_equal(rep.bytes_skipped, sizeof(junk) - 16);

	assert_int_equal(sbt_load(tpath("missing.sbt"), s, &rep, &e), -1);
	assert_non_null(strstr(e.msg, "cannot open"));
	assert_int_equal(sbt_load(test_dir, s, &rep, &e), -1);
	assert_non_null(strstr(e.msg, "directory"));
	assert_int_equal(trace_session_event_count(s), 0);
	trace_session_delete(s);
}

/* Appends a record (tag, body length, body) to `p`; returns its size. */
static size_t put_record(uint8_t *p, unsigned tag, const uint8_t *body, size_t len)
{
	size_t n = varint_put(p, tag);
	n += varint_put(p + n, len);
	memcpy(p + n, body, len);
	return n + len;
}

/* Files put together byte by byte from the spec: the id rules (increasing,
 * not too far ahead) and the strict end of an events chunk. */
static void test_crafted_files(void **state)
{
	(void)state;
	uint8_t file[1024], pay[256];
	size_t n = 16, pn;
	memcpy(file, file_header, 16);
	file[12] = 0;
	/* strings 1 "x" and 2 "z" */
	pn = put_record(pay, 1, (const uint8_t *)"\x01x", 2);
	pn += put_record(pay + pn, 1, (const uint8_t *)"\x02z", 2);
	n += make_chunk(file + n, 1, 0, pay, (uint32_t)pn);
	/* track 1: thread pid 5 tid 6, no name */
	const uint8_t track[] = {1, 1, 5, 6, 0, 0, 0, 0};
	pn = put_record(pay, 1, track, sizeof(track));
	n += make_chunk(file + n, 3, 0, pay, (uint32_t)pn);
	/* string 1 again as "y" (out of order), string 900 (too far ahead),
	 * string 3 "w" (fine) */
	pn = put_record(pay, 1, (const uint8_t *)"\x01y", 2);
	pn += put_record(pay + pn, 1, (const uint8_t *)"\x84\x07v", 3);
	pn += put_record(pay + pn, 1, (const uint8_t *)"\x03w", 2);
	n += make_chunk(file + n, 1, 0, pay, (uint32_t)pn);
	/* events: base 100 (zigzag 200), count 3; API events of 5 ns named 1, 3
	 * and 900 on track 1, starting at +0, +1, +1 */
	const uint8_t events[] = {0xc8, 1, 3, 5, 0, 0, 5, 1, 1, 5, 0, 2, 5, 3, 1, 5, 0, 2, 5, 0x84, 0x07, 1};
	n += make_chunk(file + n, 6, 0, events, sizeof(events));
	/* the same events chunk with one byte too many: malformed, skipped */
	uint8_t longer[sizeof(events) + 1];
	memcpy(longer, events, sizeof(events));
	longer[sizeof(events)] = 0;
	n += make_chunk(file + n, 6, 0, longer, sizeof(longer));

	struct trace_session *s = trace_session_new();
	struct sbt_read_report rep;
	struct err e = {{0}};
	assert_int_equal(load_copy(file, n, s, &rep, &e), 0);
	assert_int_equal(rep.chunks, 5);
	assert_int_equal(rep.chunks_skipped, 1);
	assert_int_equal(rep.records_dropped, 2 + 1);
	assert_int_equal(rep.events, 2);
	assert_true(rep.truncated);
	assert_int_equal(rep.truncated_at, n);
	size_t ne, len;
	const struct trace_event *ev = trace_session_track_events(s, 1, &ne);
	assert_int_equal(ne, 2);
	assert_true(ev[0].start == 100 && ev[0].end == 105);
	assert_true(ev[1].start == 101 && ev[1].end == 106);
	assert_string_equal(trace_session_string(s, ev[0].name, &len), "x");
	assert_string_equal(trace_session_string(s, ev[1].name, &len), "w");
	assert_int_equal(trace_session_track_info(s, 1)->tid, 6);
	trace_session_delete(s);
}

/* An event whose duration varint exceeds INT64_MAX, though its end fits in
 * int64 (start is negative), is well-formed but dropped and counted; its
 * neighbours load. One whose end overflows int64 makes the chunk malformed. */
static void test_crafted_long_duration(void **state)
{
	(void)state;
	uint8_t file[512], pay[64];
	size_t n = 16, pn;
	memcpy(file, file_header, 16);
	file[12] = 0;
	pn = put_record(pay, 1, (const uint8_t *)"\x01x", 2);
	n += make_chunk(file + n, 1, 0, pay, (uint32_t)pn);
	const uint8_t track[] = {1, 1, 5, 6, 0, 0, 0, 0};
	pn = put_record(pay, 1, track, sizeof(track));
	n += make_chunk(file + n, 3, 0, pay, (uint32_t)pn);
	/* base -100 (zigzag 199), 3 API events named 1 on track 1: 5 ns at -100,
	 * 2^63 ns at -100 (end 2^63 - 101 fits), 5 ns at -99 */
	const uint8_t events[] = {0xc7, 0x01, 3,    5,    0,    0,    5,    1, 1, 5, 0, 0, 0x80, 0x80, 0x80,
	                          0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 1, 1, 5, 0, 2, 5,    1,    1};
	n += make_chunk(file + n, 6, 0, events, sizeof(events));
	/* base 100, one event of 2^63 - 1 ns: its end overflows, malformed */
	const uint8_t overflow[] = {0xc8, 0x01, 1,    5,    0,    0,    0xff, 0xff, 0xff,
	                            0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1,    1};
	n += make_chunk(file + n, 6, 0, overflow, sizeof(overflow));

	struct trace_session *s = trace_session_new();
	struct sbt_read_report rep;
	struct err e = {{0}};
	assert_int_equal(load_copy(file, n, s, &rep, &e), 0);
	assert_int_equal(rep.chunks, 4);
	assert_int_equal(rep.chunks_skipped, 1);
	assert_int_equal(rep.records_dropped, 1);
	assert_int_equal(rep.events, 2);
	assert_non_null(strstr(rep.first_problem, "duration exceeds INT64_MAX"));
	size_t ne;
	const struct trace_event *ev = trace_session_track_events(s, 1, &ne);
	assert_int_equal(ne, 2);
	assert_true(ev[0].start == -100 && ev[0].end == -95);
	assert_true(ev[1].start == -99 && ev[1].end == -94);
	int64_t lo, hi;
	assert_true(trace_session_time_range(s, &lo, &hi));
	assert_true(lo == -100 && hi == -94);
	trace_session_delete(s);
}

/* zstd payloads the reader must refuse before inflating them, a stored
 * payload over the cap, and a file read through a pipe. */
static void test_zstd_and_limits(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct sbt_read_report rep;
	uint8_t raw[64], frame[256], file[1024];
	size_t n = 0;
	/* a STRINGS payload compressed without a content size */
	raw[0] = 1;
	raw[1] = 6;
	raw[2] = 1;
	memcpy(raw + 3, "hello", 5);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	assert_non_null(cctx);
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
	size_t fl = ZSTD_compress2(cctx, frame, sizeof(frame), raw, 8);
	assert_false(ZSTD_isError(fl));
	ZSTD_freeCCtx(cctx);
	memcpy(file, file_header, 16);
	n = 16 + make_chunk(file + 16, 1, 1, frame, (uint32_t)fl);
	struct trace_session *s = trace_session_new();
	assert_int_equal(load_copy(file, n, s, &rep, &e), 0);
	assert_int_equal(rep.chunks_skipped, 1);
	assert_non_null(strstr(rep.first_problem, "content size"));
	assert_int_equal(trace_session_string_count(s), 1);
	trace_session_delete(s);

	/* the same payload with its content size loads */
	fl = ZSTD_compress(frame, sizeof(frame), raw, 8, 3);
	assert_false(ZSTD_isError(fl));
	n = 16 + make_chunk(file + 16, 1, 1, frame, (uint32_t)fl);
	s = trace_session_new();
	assert_int_equal(load_copy(file, n, s, &rep, &e), 0);
	assert_int_equal(rep.chunks_skipped, 0);
	assert_int_equal(rep.chunks_compressed, 1);
	assert_int_equal(trace_session_string_count(s), 2);
	trace_session_delete(s);

	/* a frame header that claims 1 GiB: refused from the header alone */
	uint8_t bomb[32] = {0x28, 0xB5, 0x2F, 0xFD, 0xE0, 0, 0, 0, 0x40, 0, 0, 0, 0, 1, 0, 0};
	n = 16 + make_chunk(file + 16, 1, 1, bomb, sizeof(bomb));
	s = trace_session_new();
	assert_int_equal(load_copy(file, n, s, &rep, &e), 0);
	assert_int_equal(rep.chunks_skipped, 1);
	assert_non_null(strstr(rep.first_problem, "64 MiB"));
	trace_session_delete(s);

	/* a stored payload one byte over the cap, all there: skipped unread */
	size_t big = (64u << 20) + 1;
	uint8_t *huge = calloc(1, 16 + 20 + big);
	assert_non_null(huge);
	memcpy(huge, file_header, 16);
	put32(huge + 16, 0x4B48439Cu);
	huge[20] = 6;
	put32(huge + 24, (uint32_t)big);
	put32(huge + 28, crc32c(0, huge + 16, 12));
	s = trace_session_new();
	assert_int_equal(sbt_load_buffer(huge, 16 + 20 + big, s, &rep, &e), 0);
	assert_int_equal(rep.chunks, 1);
	assert_int_equal(rep.chunks_skipped, 1);
	assert_non_null(strstr(rep.first_problem, "64 MiB"));
	trace_session_delete(s);
	free(huge);

	/* not a regular file: read through a pipe */
	size_t len;
	uint8_t *f = small_file(0, &len);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_true(len < 65536);
	assert_int_equal(write(fds[1], f, len), (ssize_t)len);
	close(fds[1]);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
	s = trace_session_new();
	assert_int_equal(sbt_load(path, s, &rep, &e), 0);
	close(fds[0]);
	assert_int_equal(rep.events, 240);
	assert_true(rep.has_index);
	trace_session_delete(s);
	free(f);
}

/* Realistic kernel traffic: a training loop issuing a repeating sequence of
 * templated kernels with fixed launch configurations onto four streams,
 * durations from microseconds to a millisecond, nanosecond timestamps since
 * the epoch. Events go to `s` (finished) and, in time order, to `w`. */
static uint64_t kernel_workload(struct trace_session *s, struct sbt_writer *w)
{
	static const char *const kernels[] = {
	    "void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, "
	    "at::detail::Array<char*, 1> >(int, at::native::FillFunctor<float>, at::detail::Array<char*, 1>)",
	    "ampere_sgemm_128x64_tn",
	    "void cutlass::Kernel<cutlass_80_tensorop_s1688gemm_128x128_32x3_nn_align4>(Params)",
	    "void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, at::native::MeanOps<float, "
	    "float> > >(at::native::ReduceOp<float, at::native::MeanOps<float, float> >)",
	    "void at::native::(anonymous namespace)::softmax_warp_forward<float, float, float, 10, false>"
	    "(float*, float const*, int, int, int)",
	    "void at::native::elementwise_kernel<128, 2>(int, at::native::gpu_kernel_impl<AddFunctor>)",
	    "nccl_AllReduce_Sum_f32_RING_LL",
	    "void flash_fwd_kernel<Flash_fwd_kernel_traits<128, 128, 64, 4> >(Flash_fwd_params)",
	};
	const uint32_t nk = sizeof(kernels) / sizeof(kernels[0]);
	struct err e = {{0}};
	uint32_t names[8], launches[8], tracks[4];
	for (uint32_t i = 0; i < nk; i++) {
		names[i] = trace_session_intern_cstr(s, kernels[i]);
		assert_int_equal(sbt_writer_string(w, names[i], kernels[i], strlen(kernels[i]), &e), 0);
	}
	for (uint32_t i = 0; i < nk; i++) {
		struct trace_launch l = {.grid = {108 * (i + 1), 1 + i % 2, 1},
		                         .block = {128u << (i % 3), 1, 1},
		                         .registers = 32 + 8 * i,
		                         .static_smem = 1024 * i,
		                         .dynamic_smem = i % 2 ? 49152 : 0};
		launches[i] = trace_session_add_launch(s, &l);
		assert_int_equal(sbt_writer_launch(w, launches[i], &l, &e), 0);
	}
	for (uint32_t i = 0; i < 4; i++) {
		struct trace_track_info t = {
		    .kind = TRACE_TRACK_STREAM, .pid = 4242, .device = 0, .context = 1, .stream = 7 + i * 4};
		tracks[i] = trace_session_add_track(s, &t);
		assert_int_equal(sbt_writer_track(w, tracks[i], &t, &e), 0);
	}
	int64_t host = 1732000000000000000LL, busy[4] = {host, host, host, host};
	uint32_t corr = 100;
	uint64_t n = 0;
	for (int step = 0; step < 2500; step++) {
		for (uint32_t k = 0; k < nk; k++) {
			uint32_t stream = (k == 6) ? 3 : (uint32_t)(step + k) % 3;
			host += 4000 + (int64_t)rnd_below(3000); /* launch cadence */
			corr += 1 + (uint32_t)rnd_below(3);      /* other API calls in between */
			int64_t base_dur[] = {4000, 180000, 420000, 25000, 60000, 9000, 900000, 350000};
			int64_t dur = base_dur[k] + (int64_t)rnd_below((uint64_t)base_dur[k] / 8 + 1);
			int64_t start = host + 5000 > busy[stream] ? host + 5000 : busy[stream] + 1500;
			busy[stream] = start + dur;
			struct trace_event ev = {.start = start,
			                         .end = start + dur,
			                         .name = names[k],
			                         .track = tracks[stream],
			                         .correlation = corr,
			                         .kind = TRACE_KERNEL};
			ev.u.kernel.launch = launches[k];
			assert_int_equal(trace_session_append(s, &ev), 0);
			assert_int_equal(sbt_writer_append(w, &ev, &e), 0);
			n++;
		}
	}
	trace_session_finish(s);
	return n;
}

/* Bytes that EVENTS chunks (framing included) take per event in a file. */
static double event_bytes_per_event(const char *path, uint64_t events)
{
	size_t len;
	uint8_t *f = read_all(path, &len);
	struct tchunk *ch = malloc(4096 * sizeof(*ch));
	assert_non_null(ch);
	size_t nch = walk(f, len, ch, 4096);
	uint64_t bytes = 0, counted = 0;
	bool compressed = false;
	for (size_t i = 0; i < nch; i++) {
		if (ch[i].type != 6)
			continue;
		bytes += 20 + ch[i].len;
		if (ch[i].flags)
			compressed = true;
		else
			counted += chunk_event_count(f, &ch[i]);
	}
	if (!compressed)
		assert_int_equal(counted, events);
	free(ch);
	free(f);
	return (double)bytes / (double)events;
}

/* Input that cannot be mapped is checked on its first 16 bytes before the
 * rest is read, and read no further than the cap: /dev/zero and text are
 * refused at once, a pipe still open behind a bad header or past the cap
 * does not block, and a whole SBT file within the cap loads. */
static void test_stream_input(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct sbt_read_report rep;
	struct trace_session *s = trace_session_new();

	/* endless input (before the header check, read until out of memory) */
	assert_int_equal(sbt_load("/dev/zero", s, &rep, &e), -1);
	assert_string_equal(e.msg, "/dev/zero: not an SBT file");
	/* a procfs file: regular, reports size 0, has contents */
	assert_int_equal(sbt_load("/proc/self/status", s, &rep, &e), -1);
	assert_string_equal(e.msg, "/proc/self/status: not an SBT file");

	/* write ends left open: an answer must come without end of input */
	int fds[2];
	uint8_t head[16];
	memcpy(head, file_header, 16);
	head[8] = 2; /* version 2.0 */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], head, 16), 16);
	assert_int_equal(sbt_load_fd(fds[0], "pipe", SBT_MAX_STREAM_BYTES, s, &rep, &e), -1);
	assert_string_equal(e.msg, "pipe: SBT version 2.0 is newer than this tstop understands (1.x)");
	close(fds[0]);
	close(fds[1]);

	uint8_t junk[2000];
	memcpy(junk, file_header, 16);
	memset(junk + 16, 0xab, sizeof(junk) - 16);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], junk, sizeof(junk)), (ssize_t)sizeof(junk));
	assert_int_equal(sbt_load_fd(fds[0], "pipe", 1024, s, &rep, &e), -1);
	assert_non_null(strstr(e.msg, "pipe: input larger than 1 KiB"));
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(trace_session_event_count(s), 0);

	/* a whole file through a pipe: loads within the cap, refused one byte
	 * under its size */
	size_t len;
	uint8_t *f = small_file(0, &len);
	assert_true(len < 65536 && (len - 1) % 1024 != 0); /* the message gives bytes */
	for (int under = 0; under < 2; under++) {
		assert_int_equal(pipe(fds), 0);
		assert_int_equal(write(fds[1], f, len), (ssize_t)len);
		close(fds[1]);
		struct trace_session *got = trace_session_new();
		int rc = sbt_load_fd(fds[0], "pipe", len - (size_t)under, got, &rep, &e);
		close(fds[0]);
		if (under) {
			assert_int_equal(rc, -1);
			char want[128];
			snprintf(want, sizeof(want), "pipe: input larger than %zu bytes", len - 1);
			assert_non_null(strstr(e.msg, want));
			assert_int_equal(trace_session_event_count(got), 0);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(rep.events, 240);
			assert_true(rep.has_index);
		}
		trace_session_delete(got);
	}

	/* a regular file through sbt_load_fd: mapped, whatever the cap */
	int fd = open(tpath("small.sbt"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(sbt_load_fd(fd, "file", 10, s, &rep, &e), 0);
	close(fd);
	assert_int_equal(rep.events, 240);
	trace_session_delete(s);
	free(f);
}

/* The footer index goes through the same chunk checks as every chunk: an
 * unknown flag or a bad checksum leaves the file whole but not indexed, for
 * the same reason a chunk would be skipped. */
static void test_footer_index_checks(void **state)
{
	(void)state;
	size_t len;
	uint8_t *f = small_file(0, &len);
	struct tchunk ch[256];
	size_t nch = walk(f, len, ch, 256);
	const struct tchunk *ix = &ch[nch - 1];
	assert_int_equal(ix->type, 8);
	struct err e = {{0}};
	struct sbt_read_report rep;
	for (int k = 0; k < 2; k++) {
		if (k == 0) {
			f[ix->off + 5] = 0x80; /* an unknown flag */
			fix_header_crc(f, ix->off);
		} else {
			f[ix->off + 16] ^= 0x01; /* its payload */
		}
		struct trace_session *s = trace_session_new();
		assert_int_equal(load_copy(f, len, s, &rep, &e), 0);
		assert_int_equal(rep.events, 240);
		assert_false(rep.truncated);
		assert_false(rep.has_index);
		assert_int_equal(rep.chunks_skipped, 0);
		assert_non_null(strstr(rep.first_problem, "footer index"));
		assert_non_null(
		    strstr(rep.first_problem, k == 0 ? "unknown chunk type or flags" : "checksum mismatch"));
		trace_session_delete(s);
		if (k == 0) {
			f[ix->off + 5] = 0;
			fix_header_crc(f, ix->off);
		}
	}
	free(f);
}

static void test_bytes_per_kernel_event(void **state)
{
	(void)state;
	rng_state = 12345;
	struct err e = {{0}};
	struct trace_session *s = trace_session_new();
	struct sbt_writer *w = sbt_writer_open(tpath("kernels-live.sbt"), NULL, &e);
	assert_non_null(w);
	uint64_t n = kernel_workload(s, w);
	assert_int_equal(sbt_writer_close(w, &e), 0);
	assert_int_equal(sbt_write_session(tpath("kernels.sbt"), s, NULL, &e), 0);
	struct sbt_writer_options z = {.zstd_level = 3};
	assert_int_equal(sbt_write_session(tpath("kernels-zstd.sbt"), s, &z, &e), 0);

	double live = event_bytes_per_event(tpath("kernels-live.sbt"), n);
	double per_track = event_bytes_per_event(tpath("kernels.sbt"), n);
	double zstd = event_bytes_per_event(tpath("kernels-zstd.sbt"), n);
	print_message("kernel events: %.2f bytes each in time order, %.2f in track order, %.2f with zstd\n",
	              live, per_track, zstd);
	assert_true(live <= 16.0);
	assert_true(per_track <= 16.0);
	assert_true(zstd < per_track);

	/* and both files read back to the same session */
	for (int i = 0; i < 2; i++) {
		struct trace_session *back = trace_session_new();
		struct sbt_read_report rep;
		assert_int_equal(sbt_load(tpath(i ? "kernels-live.sbt" : "kernels-zstd.sbt"), back, &rep, &e),
		                 0);
		assert_true(rep.has_index);
		assert_same_session(s, back);
		trace_session_delete(back);
	}
	trace_session_delete(s);
}

/* --- main -------------------------------------------------------------------------- */

static int setup_dir(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR");
	snprintf(test_dir, sizeof(test_dir), "%s/test_sbt.XXXXXX", base && *base ? base : "/tmp");
	return mkdtemp(test_dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_varint),
	    cmocka_unit_test(test_round_trip_plain),
	    cmocka_unit_test(test_round_trip_zstd),
	    cmocka_unit_test(test_round_trip_tiny_chunks),
	    cmocka_unit_test(test_round_trip_empty_session),
	    cmocka_unit_test(test_writer_streaming),
	    cmocka_unit_test(test_writer_errors),
	    cmocka_unit_test(test_reader_id_mapping),
	    cmocka_unit_test(test_truncation_every_byte),
	    cmocka_unit_test(test_random_corruption),
	    cmocka_unit_test(test_flipped_byte_skips_one_chunk),
	    cmocka_unit_test(test_bad_header_resync),
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_garbage_and_empty),
	    cmocka_unit_test(test_zstd_and_limits),
	    cmocka_unit_test(test_crafted_files),
	    cmocka_unit_test(test_crafted_long_duration),
	    cmocka_unit_test(test_stream_input),
	    cmocka_unit_test(test_footer_index_checks),
	    cmocka_unit_test(test_bytes_per_kernel_event),
	};
	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
