/*
 * test_db_roundtrip.c - a session survives the session database: SBT ->
 * load -> db_write_session -> db_read_session gives the session back.
 *
 * Sessions: synthetic ones (tests/support/synth.h: every event kind, several
 * processes, threads, streams and devices, stacks, NVTX attributes,
 * allocations, counters, a lost-events marker), and one built here with what
 * is awkward to store: names with quotes, control characters, invalid UTF-8
 * and NUL bytes inside; times at both ends of int64; uint64 values above
 * INT64_MAX (bytes, addresses, program counters, payload bits, loss totals,
 * device memory); integer counters at the int64 limits and real ones,
 * whole, fractional, huge, infinite and NaN; every flag; results at the
 * int16 limits; and an empty session.
 *
 * The database the live sink writes is read too, while the sink is open:
 * once the writer has committed a flush, it holds every event fed so far.
 *
 * Compared: every string (all bytes), frame, stack, track, launch
 * configuration, NVTX attribute set, memory operation, process, device,
 * metadata pair and loss, and every event of every track, bit for bit (the
 * model orders a track's events totally, so equal sessions have equal
 * arrays). Processes, devices, metadata and losses are compared by key: the
 * database keys them, so their order is the key's (see db.h).
 */
#include <math.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/sink.h"
#include "store/db.h"
#include "store/sbt.h"
#include "synth.h"
#include "trace/session.h"

static char test_dir[256];

/* A path in this test's temporary directory (valid until the 4th next call). */
static const char *tpath(const char *name)
{
	static char buf[4][512];
	static int slot;
	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", test_dir, name);
	return buf[slot];
}

/* --- comparison --------------------------------------------------------------- */

static void assert_frames_equal(const struct trace_frame *a, const struct trace_frame *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a->pc == b->pc);
	assert_true(a->offset == b->offset);
	assert_int_equal(a->function, b->function);
	assert_int_equal(a->module, b->module);
	assert_int_equal(a->file, b->file);
	assert_int_equal(a->line, b->line);
}

static void assert_tracks_equal(const struct trace_track_info *a, const struct trace_track_info *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->pid, b->pid);
	assert_int_equal(a->tid, b->tid);
	assert_int_equal(a->device, b->device);
	assert_int_equal(a->context, b->context);
	assert_int_equal(a->stream, b->stream);
	assert_int_equal(a->name, b->name);
}

static void assert_launches_equal(const struct trace_launch *a, const struct trace_launch *b)
{
	assert_non_null(a);
	assert_non_null(b);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(a->grid[i], b->grid[i]);
		assert_int_equal(a->block[i], b->block[i]);
		assert_int_equal(a->cluster[i], b->cluster[i]);
	}
	assert_int_equal(a->registers, b->registers);
	assert_int_equal(a->static_smem, b->static_smem);
	assert_int_equal(a->dynamic_smem, b->dynamic_smem);
}

static void assert_attrs_equal(const struct trace_nvtx_attr *a, const struct trace_nvtx_attr *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->domain, b->domain);
	assert_int_equal(a->category, b->category);
	assert_int_equal(a->has_color, b->has_color);
	assert_int_equal(a->color, b->color);
	assert_int_equal(a->payload_type, b->payload_type);
	assert_true(a->payload == b->payload);
}

static void assert_memops_equal(const struct trace_memop *a, const struct trace_memop *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a->address == b->address);
	assert_true(a->bytes == b->bytes);
	assert_int_equal(a->device, b->device);
	assert_int_equal(a->mem_kind, b->mem_kind);
}

static void assert_processes_equal(const struct trace_process *a, const struct trace_process *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->pid, b->pid);
	assert_int_equal(a->ppid, b->ppid);
	assert_int_equal(a->command, b->command);
	assert_true(a->start == b->start);
	assert_true(a->end == b->end);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->status, b->status);
}

static void assert_devices_equal(const struct trace_device *a, const struct trace_device *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->api, b->api);
	assert_int_equal(a->name, b->name);
	assert_memory_equal(a->uuid, b->uuid, sizeof(a->uuid));
	assert_int_equal(a->cc_major, b->cc_major);
	assert_int_equal(a->cc_minor, b->cc_minor);
	assert_int_equal(a->sm_count, b->sm_count);
	assert_true(a->global_memory == b->global_memory);
	assert_int_equal(a->warp_size, b->warp_size);
	assert_int_equal(a->max_threads_per_block, b->max_threads_per_block);
	assert_int_equal(a->max_threads_per_sm, b->max_threads_per_sm);
	assert_int_equal(a->max_blocks_per_sm, b->max_blocks_per_sm);
	assert_int_equal(a->regs_per_block, b->regs_per_block);
	assert_int_equal(a->regs_per_sm, b->regs_per_sm);
	assert_int_equal(a->smem_per_block, b->smem_per_block);
	assert_int_equal(a->smem_per_sm, b->smem_per_sm);
	assert_int_equal(a->core_clock_khz, b->core_clock_khz);
	assert_int_equal(a->memory_clock_khz, b->memory_clock_khz);
	assert_int_equal(a->memory_bus_width, b->memory_bus_width);
}

/* The loss of (pid, source) in `s`, or NULL. */
static const struct trace_loss *find_loss(const struct trace_session *s, uint32_t pid, uint32_t source)
{
	for (size_t i = 0; i < trace_session_loss_count(s); i++) {
		const struct trace_loss *l = trace_session_loss(s, i);
		if (l->pid == pid && l->source == source)
			return l;
	}
	return NULL;
}

/* Fails the test unless `b` holds exactly what `a` holds (see the file
 * comment for what is compared and how). */
static void assert_sessions_equal(struct trace_session *a, struct trace_session *b)
{
	assert_int_equal(trace_session_string_count(a), trace_session_string_count(b));
	for (uint32_t id = 0; id < trace_session_string_count(a); id++) {
		size_t la, lb;
		const char *pa = trace_session_string(a, id, &la);
		const char *pb = trace_session_string(b, id, &lb);
		assert_int_equal(la, lb);
		assert_memory_equal(pa, pb, la);
	}
	assert_int_equal(trace_session_frame_count(a), trace_session_frame_count(b));
	for (uint32_t id = 1; id < trace_session_frame_count(a); id++)
		assert_frames_equal(trace_session_frame(a, id), trace_session_frame(b, id));
	assert_int_equal(trace_session_stack_count(a), trace_session_stack_count(b));
	for (uint32_t id = 1; id < trace_session_stack_count(a); id++) {
		uint32_t na, nb;
		const uint32_t *fa = trace_session_stack(a, id, &na);
		const uint32_t *fb = trace_session_stack(b, id, &nb);
		assert_int_equal(na, nb);
		assert_memory_equal(fa, fb, na * sizeof(*fa));
	}
	assert_int_equal(trace_session_track_count(a), trace_session_track_count(b));
	for (uint32_t id = 1; id < trace_session_track_count(a); id++)
		assert_tracks_equal(trace_session_track_info(a, id), trace_session_track_info(b, id));
	assert_int_equal(trace_session_launch_count(a), trace_session_launch_count(b));
	for (uint32_t id = 1; id < trace_session_launch_count(a); id++)
		assert_launches_equal(trace_session_launch(a, id), trace_session_launch(b, id));
	assert_int_equal(trace_session_nvtx_attr_count(a), trace_session_nvtx_attr_count(b));
	for (uint32_t id = 1; id < trace_session_nvtx_attr_count(a); id++)
		assert_attrs_equal(trace_session_nvtx_attr(a, id), trace_session_nvtx_attr(b, id));
	assert_int_equal(trace_session_memop_count(a), trace_session_memop_count(b));
	for (uint32_t id = 1; id < trace_session_memop_count(a); id++)
		assert_memops_equal(trace_session_memop(a, id), trace_session_memop(b, id));

	assert_int_equal(trace_session_process_count(a), trace_session_process_count(b));
	for (size_t i = 0; i < trace_session_process_count(a); i++) {
		const struct trace_process *p = trace_session_process(a, i);
		assert_processes_equal(p, trace_session_find_process(b, p->pid));
	}
	assert_int_equal(trace_session_device_count(a), trace_session_device_count(b));
	for (size_t i = 0; i < trace_session_device_count(a); i++) {
		const struct trace_device *d = trace_session_device(a, i);
		assert_devices_equal(d, trace_session_find_device(b, d->id));
	}
	assert_int_equal(trace_session_meta_count(a), trace_session_meta_count(b));
	for (size_t i = 0; i < trace_session_meta_count(a); i++) {
		const char *key, *value;
		trace_session_meta_at(a, i, &key, &value);
		const char *other = trace_session_meta(b, key);
		assert_non_null(other);
		assert_string_equal(value, other);
	}
	assert_int_equal(trace_session_loss_count(a), trace_session_loss_count(b));
	for (size_t i = 0; i < trace_session_loss_count(a); i++) {
		const struct trace_loss *l = trace_session_loss(a, i);
		const struct trace_loss *m = find_loss(b, l->pid, l->source);
		assert_non_null(m);
		assert_true(l->count == m->count);
	}

	assert_int_equal(trace_session_event_count(a), trace_session_event_count(b));
	for (unsigned k = 1; k <= TRACE_KIND_MAX; k++)
		assert_int_equal(trace_session_kind_count(a, k), trace_session_kind_count(b, k));
	for (uint32_t id = 1; id < trace_session_track_count(a); id++) {
		size_t na, nb;
		const struct trace_event *ea = trace_session_track_events(a, id, &na);
		const struct trace_event *eb = trace_session_track_events(b, id, &nb);
		assert_int_equal(na, nb);
		for (size_t i = 0; i < na; i++)
			if (memcmp(&ea[i], &eb[i], sizeof(ea[i])) != 0)
				fail_msg(
				    "track %u event %zu differs: kind %u/%u start %lld/%lld end %lld/%lld "
				    "u %llx/%llx",
				    id, i, ea[i].kind, eb[i].kind, (long long)ea[i].start,
				    (long long)eb[i].start, (long long)ea[i].end, (long long)eb[i].end,
				    (unsigned long long)ea[i].u.bytes, (unsigned long long)eb[i].u.bytes);
	}
	int64_t sa = 0, ea = 0, sb = 0, eb = 0;
	assert_int_equal(trace_session_time_range(a, &sa, &ea), trace_session_time_range(b, &sb, &eb));
	assert_true(sa == sb && ea == eb);
}

/* Writes `s` as an SBT file, loads that, writes the loaded session as a
 * database, reads the database and checks the result against the loaded
 * session. Returns the number of events compared. */
static uint64_t round_trip(const struct trace_session *s)
{
	struct err e = {{0}};
	const char *sbt = tpath("rt.sbt");
	if (sbt_write_session(sbt, s, NULL, &e) < 0)
		fail_msg("sbt_write_session: %s", e.msg);
	struct trace_session *loaded = trace_session_new();
	struct sbt_read_report srep;
	if (sbt_load(sbt, loaded, &srep, &e) < 0)
		fail_msg("sbt_load: %s", e.msg);
	assert_int_equal(srep.records_dropped, 0);

	const char *db = tpath("rt.db");
	if (db_write_session(loaded, db, true, NULL, NULL, &e) < 0)
		fail_msg("db_write_session: %s", e.msg);
	struct db_read_report rep;
	struct trace_session *back = db_read_session(db, &rep, &e);
	if (!back)
		fail_msg("db_read_session: %s", e.msg);
	assert_int_equal(rep.rows_skipped, 0);
	assert_int_equal(rep.schema_version, DB_SCHEMA_VERSION);
	assert_int_equal(rep.events, trace_session_event_count(loaded));

	assert_sessions_equal(loaded, back);
	uint64_t n = trace_session_event_count(back);
	trace_session_delete(back);
	trace_session_delete(loaded);
	unlink(sbt);
	return n;
}

/* --- sessions ------------------------------------------------------------------- */

/* Synthetic sessions of several shapes, every event kind in each. */
static void test_synthetic(void **state)
{
	(void)state;
	static const struct {
		uint64_t events;
		uint32_t processes, threads, devices, streams;
		uint64_t seed;
	} shapes[] = {
	    {2000, 1, 1, 1, 1, 1},
	    {20000, 2, 3, 2, 4, 7},
	    {60000, 3, 2, 2, 3, 42},
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
		struct synth_counts c;
		struct trace_session *s = synth_session(&o, &c, &e);
		if (!s)
			fail_msg("synth_session: %s", e.msg);
		for (unsigned k = 1; k <= TRACE_KIND_MAX; k++)
			if (!c.kinds[k])
				fail_msg("shape %zu has no %s event: the test would not cover it", i,
				         trace_kind_name(k));
		assert_true(trace_session_stack_count(s) > 1);
		assert_true(trace_session_nvtx_attr_count(s) > 1);
		assert_int_equal(round_trip(s), c.events);
		trace_session_delete(s);
	}
}

/* Appends `ev`, which must be accepted. */
static void append(struct trace_session *s, const struct trace_event *ev)
{
	assert_int_equal(trace_session_append(s, ev), 0);
}

/* An event of `kind` on `track` over [start, end] named `name`. */
static struct trace_event event(uint8_t kind, uint32_t track, int64_t start, int64_t end, uint32_t name)
{
	struct trace_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.track = track;
	ev.start = start;
	ev.end = end;
	ev.name = name;
	return ev;
}

/* A session with the awkward values of the file comment. */
static void test_awkward_values(void **state)
{
	(void)state;
	struct trace_session *s = trace_session_new();
	static const char nul_name[] = "kernel\0with NUL";
	static const char *const names[] = {
	    "_ZN7cutlass6KernelINS_4gemmEEEvNT_6ParamsE",
	    "say \"hello\" it's 'quoted'; DROP TABLE kernels; --",
	    "control\x01\x02\x1b[31mred\x7f\ttab\nnewline\r",
	    "invalid utf-8 \xff\xfe\xc3\x28 \xed\xa0\x80 end",
	    "ünïcødé ✓ 漢字",
	};
	uint32_t ids[6];
	for (int i = 0; i < 5; i++)
		ids[i] = trace_session_intern_cstr(s, names[i]);
	ids[5] = trace_session_intern(s, nul_name, sizeof(nul_name) - 1);
	uint32_t long_name;
	{
		char big[70000];
		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (char)('a' + i % 26);
		big[12345] = '\0';
		long_name = trace_session_intern(s, big, sizeof(big));
	}

	struct trace_frame f1 = {UINT64_MAX, UINT64_C(0x8000000000000000), ids[0], ids[3], ids[5],
	                         UINT32_MAX};
	struct trace_frame f2 = {1, 0, 0, ids[1], 0, 0};
	uint32_t fr[2] = {trace_session_add_frame(s, &f1), trace_session_add_frame(s, &f2)};
	uint32_t deep[300];
	for (int i = 0; i < 300; i++)
		deep[i] = fr[i % 2];
	uint32_t st1 = trace_session_add_stack(s, fr, 2);
	uint32_t st2 = trace_session_add_stack(s, deep, 300);

	struct trace_track_info ti = {TRACE_TRACK_THREAD, UINT32_MAX, UINT32_MAX, 0, 0, 0, ids[2]};
	uint32_t thread = trace_session_add_track(s, &ti);
	struct trace_track_info si = {TRACE_TRACK_STREAM, 7, 0, UINT32_MAX, UINT32_MAX, UINT32_MAX, ids[4]};
	uint32_t stream = trace_session_add_track(s, &si);
	struct trace_track_info ci = {TRACE_TRACK_COUNTER, 7, 0, 3, 0, 0, ids[1]};
	uint32_t counter = trace_session_add_track(s, &ci);
	struct trace_track_info di = {TRACE_TRACK_COUNTER, 7, 0, 3, 0, 0, ids[5]};
	uint32_t dcounter = trace_session_add_track(s, &di);
	struct trace_track_info pi = {TRACE_TRACK_PROCESS, 7, 0, 0, 0, 0, 0};
	uint32_t proc = trace_session_add_track(s, &pi);
	struct trace_track_info unused = {TRACE_TRACK_THREAD, 7, 8, 0, 0, 0, 0};
	trace_session_add_track(s, &unused); /* a track without events */

	struct trace_launch l = {{UINT32_MAX, 1, 1}, {1024, 1, 1}, 255, UINT32_MAX, 0, {2, 2, 1}};
	uint32_t launch = trace_session_add_launch(s, &l);
	struct trace_nvtx_attr a1 = {ids[3], UINT32_MAX, 0, 1, TRACE_NVTX_PAYLOAD_U64, UINT64_MAX};
	struct trace_nvtx_attr a2 = {0, 1, 0xffffffffu, 1, TRACE_NVTX_PAYLOAD_NONE, 0};
	struct trace_nvtx_attr a3 = {0, 0, 0, 0, TRACE_NVTX_PAYLOAD_DOUBLE, 0};
	double pay = -0.0;
	memcpy(&a3.payload, &pay, sizeof(pay)); /* bits, stored as an integer: even -0.0 survives */
	uint32_t attr1 = trace_session_add_nvtx_attr(s, &a1);
	uint32_t attr2 = trace_session_add_nvtx_attr(s, &a2);
	uint32_t attr3 = trace_session_add_nvtx_attr(s, &a3);
	struct trace_memop m = {UINT64_MAX, UINT64_C(0x8000000000000001), 3, TRACE_MEM_MANAGED_STATIC};
	uint32_t memop = trace_session_add_memop(s, &m);

	struct trace_process p1 = {7, 1, ids[2], INT64_MIN, INT64_MAX, TRACE_PROC_SIGNALED, 9};
	struct trace_process p2 = {UINT32_MAX, 7, ids[5], 0, 0, TRACE_PROC_RUNNING, INT32_MIN};
	struct trace_process p3 = {3, 7, 0, -1, -1, TRACE_PROC_ENDED, INT32_MAX};
	trace_session_set_process(s, &p1);
	trace_session_set_process(s, &p2);
	trace_session_set_process(s, &p3);
	struct trace_device d = {
	    .id = 3, .api = TRACE_DEVICE_CUDA, .name = ids[4], .global_memory = UINT64_MAX};
	for (int i = 0; i < 16; i++)
		d.uuid[i] = (uint8_t)(0xf0 + i);
	d.cc_major = UINT32_MAX;
	d.memory_bus_width = 1;
	trace_session_set_device(s, &d);
	struct trace_device d0 = {.id = 0, .api = TRACE_DEVICE_OPENCL}; /* unknown everything, uuid zero */
	trace_session_set_device(s, &d0);
	trace_session_set_meta(s, "command", names[1]);
	trace_session_set_meta(s, "weird key \x01 \"'", names[3]);
	trace_session_set_meta(s, "empty", "");
	trace_session_set_loss(s, 7, ids[0], UINT64_MAX);
	trace_session_set_loss(s, UINT32_MAX, ids[5], 0);

	/* Events of every kind, at the ends of the time range. */
	struct trace_event ev = event(TRACE_KERNEL, stream, INT64_MIN, -1, ids[0]);
	ev.correlation = UINT32_MAX;
	ev.flags = TRACE_FLAG_OPEN;
	ev.u.kernel.launch = launch;
	append(s, &ev);
	ev = event(TRACE_KERNEL, stream, 0, INT64_MAX, long_name);
	append(s, &ev);
	ev = event(TRACE_MEMCPY, stream, 5, 6, ids[5]);
	ev.sub = trace_memcpy_sub(31, 31, 31);
	ev.u.bytes = UINT64_MAX;
	append(s, &ev);
	ev = event(TRACE_MEMCPY, stream, 5, 6, ids[5]);
	ev.sub = trace_memcpy_sub(TRACE_COPY_PTOP, TRACE_MEM_DEVICE, TRACE_MEM_MANAGED);
	ev.u.bytes = UINT64_C(0x8000000000000000);
	append(s, &ev);
	ev = event(TRACE_MEMSET, stream, 7, 8, 0);
	ev.sub = UINT16_MAX;
	ev.u.bytes = UINT64_C(0x8000000000000000);
	append(s, &ev);
	ev = event(TRACE_SYNC, stream, -5, -5, ids[1]);
	ev.sub = TRACE_SYNC_DEVICE;
	ev.u.sync.event = UINT32_MAX;
	append(s, &ev);
	for (int r = 0; r < 4; r++) {
		static const int16_t results[] = {INT16_MIN, -1, 0, INT16_MAX};
		ev = event(TRACE_API, thread, -1000 + r, 1000, ids[r]);
		ev.flags = (uint8_t)((r & TRACE_API_DOMAIN_MASK) | (r == 3 ? TRACE_FLAG_OPEN : 0));
		ev.sub = (uint16_t)results[r];
		ev.u.api.cbid = r == 0 ? UINT32_MAX : (uint32_t)r;
		ev.u.api.stack = r == 1 ? st1 : r == 2 ? st2 : 0;
		ev.correlation = (uint32_t)r + 1;
		append(s, &ev);
	}
	ev = event(TRACE_NVTX_RANGE, thread, INT64_MIN + 1, INT64_MIN + 2, ids[2]);
	ev.flags = TRACE_FLAG_NVTX_STARTEND | TRACE_FLAG_OPEN;
	ev.u.nvtx.attr = attr1;
	ev.u.nvtx.stack = st2;
	append(s, &ev);
	ev = event(TRACE_NVTX_RANGE, thread, 3, 3, ids[3]);
	ev.u.nvtx.attr = attr3;
	append(s, &ev);
	ev = event(TRACE_NVTX_MARK, thread, INT64_MAX, INT64_MAX, ids[5]);
	ev.u.nvtx.attr = attr2;
	ev.u.nvtx.stack = st1;
	append(s, &ev);
	ev = event(TRACE_MEM_ALLOC, thread, 10, 10, 0);
	ev.u.memop.id = memop;
	append(s, &ev);
	ev = event(TRACE_MEM_FREE, thread, 20, 20, ids[4]);
	ev.u.memop.id = memop;
	append(s, &ev);
	static const int64_t ints[] = {INT64_MIN, -1, 0, 1, INT64_MAX};
	for (int i = 0; i < 5; i++) {
		ev = event(TRACE_COUNTER, counter, i, i, ids[1]);
		ev.u.counter = ints[i];
		append(s, &ev);
	}
	/* Reals: whole ones (which SQLite's NUMERIC affinity keeps as
	 * integers), fractional, extreme, infinite and NaN. -0.0 is not among
	 * them: NUMERIC affinity turns it into the integer 0 (see the report). */
	const double reals[] = {2.0,      -3.0,      0.5, 1e300, -1e-300, 4.9e-324, 9007199254740993.0,
	                        INFINITY, -INFINITY, NAN};
	for (int i = 0; i < (int)(sizeof(reals) / sizeof(reals[0])); i++) {
		ev = event(TRACE_COUNTER, dcounter, i, i, ids[5]);
		ev.flags = TRACE_FLAG_COUNTER_DOUBLE;
		ev.u.counter_double = reals[i];
		append(s, &ev);
	}
	ev = event(TRACE_LOST, proc, -7, 7, 0);
	ev.u.bytes = UINT64_MAX;
	append(s, &ev);
	/* Identical events are kept, both of them. */
	append(s, &ev);
	trace_session_finish(s);

	assert_int_equal(round_trip(s), trace_session_event_count(s));
	trace_session_delete(s);
}

/* Feeds the definitions and tables of `s` to sink `k`, as the drain would. */
static void feed_definitions(struct capture_sink *k, struct trace_session *s)
{
	const struct capture_sink_ops *ops = k->ops;
	struct err e = {{0}};
	for (uint32_t id = 1; id < trace_session_string_count(s); id++) {
		size_t len;
		const char *p = trace_session_string(s, id, &len);
		assert_int_equal(ops->string(k, id, p, len, &e), 0);
	}
	for (uint32_t id = 1; id < trace_session_frame_count(s); id++)
		assert_int_equal(ops->frame(k, id, trace_session_frame(s, id), &e), 0);
	for (uint32_t id = 1; id < trace_session_stack_count(s); id++) {
		uint32_t n;
		const uint32_t *fr = trace_session_stack(s, id, &n);
		assert_int_equal(ops->stack(k, id, fr, n, &e), 0);
	}
	for (uint32_t id = 1; id < trace_session_track_count(s); id++)
		assert_int_equal(ops->track(k, id, trace_session_track_info(s, id), &e), 0);
	for (uint32_t id = 1; id < trace_session_launch_count(s); id++)
		assert_int_equal(ops->launch(k, id, trace_session_launch(s, id), &e), 0);
	for (uint32_t id = 1; id < trace_session_nvtx_attr_count(s); id++)
		assert_int_equal(ops->nvtx_attr(k, id, trace_session_nvtx_attr(s, id), &e), 0);
	for (uint32_t id = 1; id < trace_session_memop_count(s); id++)
		assert_int_equal(ops->memop(k, id, trace_session_memop(s, id), &e), 0);
	for (size_t i = 0; i < trace_session_process_count(s); i++)
		assert_int_equal(ops->process(k, trace_session_process(s, i), &e), 0);
	for (size_t i = 0; i < trace_session_device_count(s); i++)
		assert_int_equal(ops->device(k, trace_session_device(s, i), &e), 0);
	for (size_t i = 0; i < trace_session_meta_count(s); i++) {
		const char *key, *value;
		trace_session_meta_at(s, i, &key, &value);
		assert_int_equal(ops->meta(k, key, value, &e), 0);
	}
	for (size_t i = 0; i < trace_session_loss_count(s); i++)
		assert_int_equal(ops->loss(k, trace_session_loss(s, i), &e), 0);
}

/* Feeds the events of every track of `s` whose index in the track is odd
 * (`odd`) or even, and returns how many. */
static uint64_t feed_events(struct capture_sink *k, struct trace_session *s, bool odd)
{
	struct err e = {{0}};
	uint64_t fed = 0;
	for (uint32_t id = 1; id < trace_session_track_count(s); id++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, id, &n);
		for (size_t i = odd ? 1 : 0; i < n; i += 2, fed++)
			assert_int_equal(k->ops->event(k, &ev[i], &e), 0);
	}
	return fed;
}

/* Reads the database at `path`, which must hold `events` events and no
 * malformed row. The caller owns the session. */
static struct trace_session *read_live(const char *path, uint64_t events)
{
	struct err e = {{0}};
	struct db_read_report rep;
	struct trace_session *s = db_read_session(path, &rep, &e);
	if (!s)
		fail_msg("db_read_session: %s", e.msg);
	assert_int_equal(rep.rows_skipped, 0);
	assert_int_equal(trace_session_event_count(s), events);
	return s;
}

/* Waits until the writer thread of sink `k` has committed every event it
 * received (a flush hands the batch over; the thread commits it soon
 * after). Fails after a minute, long past any sane commit. */
static void wait_committed(struct capture_sink *k)
{
	for (int i = 0; i < 60000; i++) {
		struct db_sink_stats st;
		capture_db_sink_stats(k, &st);
		if (st.events_committed == st.events_queued)
			return;
		usleep(1000);
	}
	fail_msg("the database writer did not commit what it was given within a minute");
}

/* The database a live capture writes (the sink, fed as the drain feeds it)
 * reads back, while the capture runs, with every flushed batch; once all
 * is flushed, and after the sink is closed, it is the whole session. */
static void test_live_sink(void **state)
{
	(void)state;
	struct synth_options o;
	synth_options_init(&o);
	o.events = 30000;
	o.processes = 2;
	o.seed = 11;
	struct err e = {{0}};
	struct trace_session *s = synth_session(&o, NULL, &e);
	assert_non_null(s);
	const char *path = tpath("live.db");
	struct db_sink_options opts = {.batch_events = 1000};
	struct capture_sink *k = capture_db_sink_open(path, true, &opts, &e);
	if (!k)
		fail_msg("capture_db_sink_open: %s", e.msg);
	feed_definitions(k, s);
	uint64_t half = feed_events(k, s, false);
	assert_int_equal(k->ops->flush(k, &e), 0);
	wait_committed(k);
	struct trace_session *back = read_live(path, half);
	trace_session_delete(back);

	uint64_t rest = feed_events(k, s, true);
	assert_int_equal(half + rest, trace_session_event_count(s));
	assert_int_equal(k->ops->flush(k, &e), 0);
	wait_committed(k);
	back = read_live(path, half + rest);
	assert_sessions_equal(s, back);
	trace_session_delete(back);

	if (capture_sink_close(k, &e) < 0)
		fail_msg("closing the sink: %s", e.msg);
	back = read_live(path, half + rest);
	assert_sessions_equal(s, back);
	trace_session_delete(back);
	trace_session_delete(s);
}

/* A session with nothing in it, and one with definitions but no events. */
static void test_empty(void **state)
{
	(void)state;
	struct trace_session *s = trace_session_new();
	trace_session_finish(s);
	assert_int_equal(round_trip(s), 0);
	trace_session_intern_cstr(s, "x");
	struct trace_track_info ti = {TRACE_TRACK_THREAD, 1, 1, 0, 0, 0, 0};
	trace_session_add_track(s, &ti);
	trace_session_set_meta(s, "synthetic", "1");
	assert_int_equal(round_trip(s), 0);
	trace_session_delete(s);
}

static int setup(void **state)
{
	(void)state;
	snprintf(test_dir, sizeof(test_dir), "/tmp/tstop-test-db-roundtrip-XXXXXX");
	return mkdtemp(test_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_synthetic),
	    cmocka_unit_test(test_awkward_values),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_live_sink),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
