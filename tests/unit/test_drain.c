/*
 * test_drain.c - the capture drain (src/capture/drain.c): rings filled
 * in-process with proto records, as the collector lays them out, drained
 * into a session and a recording sink.
 *
 * Covers: remapping of two processes whose collector ids clash (strings,
 * tracks, launches, NVTX attributes, frames, stacks, memory operations);
 * sink order (each table's ids 1, 2, 3 ... before any use); events with
 * undefined ids dropped and counted as "invalid" losses; short, oversized
 * and garbage records dropped; records before HELLO and a second HELLO; a
 * HELLO of another protocol; ids beyond what the ring carried; ring drops
 * as "ring" losses and collector LOSS totals; LOG messages; HELLO, GOODBYE,
 * close with and without an exit status, the launched program's waitpid
 * status, detach; records left half-written at close; and the SBT sink,
 * live and joining late, read back with sbt_load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/drain.h"
#include "capture/proto.h"
#include "capture/ring.h"
#include "capture/sink.h"
#include "store/sbt.h"
#include "trace/session.h"

#define RING_BYTES (64u * 1024u)

/* --- producing records ---------------------------------------------------------- */

/* Writes one record: header (type, id) and `blen` body bytes. */
static void put(struct ring *r, uint8_t type, uint32_t id, const void *body, uint32_t blen)
{
	uint8_t *p = ring_reserve(r, (uint32_t)sizeof(struct proto_header) + blen);
	assert_non_null(p);
	struct proto_header h = {.type = type, .id = id};
	memcpy(p, &h, sizeof(h));
	if (blen)
		memcpy(p + sizeof(h), body, blen);
	ring_commit(r, p);
}

/* Writes `len` raw bytes as a record (no header added). */
static void put_raw(struct ring *r, const void *bytes, uint32_t len)
{
	uint8_t *p = ring_reserve(r, len);
	assert_non_null(p);
	if (len)
		memcpy(p, bytes, len);
	ring_commit(r, p);
}

static void put_hello(struct ring *r, uint32_t pid, uint32_t ppid, const char *cmd, int64_t start)
{
	uint8_t buf[sizeof(struct proto_hello) + 256];
	struct proto_hello h = {.version = PROTO_VERSION,
	                        .pid = pid,
	                        .ppid = ppid,
	                        .size_event = sizeof(struct trace_event),
	                        .size_track = sizeof(struct trace_track_info),
	                        .size_device = sizeof(struct trace_device),
	                        .size_launch = sizeof(struct trace_launch),
	                        .size_nvtx_attr = sizeof(struct trace_nvtx_attr),
	                        .size_memop = sizeof(struct trace_memop),
	                        .size_frame = sizeof(struct proto_frame),
	                        .start = start};
	memcpy(buf, &h, sizeof(h));
	size_t n = strlen(cmd);
	memcpy(buf + sizeof(h), cmd, n);
	put(r, PROTO_HELLO, 0, buf, (uint32_t)(sizeof(h) + n));
}

static void put_string(struct ring *r, uint32_t id, const char *s)
{
	put(r, PROTO_STRING, id, s, (uint32_t)strlen(s));
}

static void put_track(struct ring *r, uint32_t id, uint8_t kind, uint32_t tid, uint32_t stream, uint32_t name)
{
	struct trace_track_info t;
	memset(&t, 0, sizeof(t));
	t.kind = kind;
	t.pid = 4242; /* ignored: the ring's process */
	t.tid = tid;
	t.stream = stream;
	t.name = name;
	put(r, PROTO_TRACK, id, &t, sizeof(t));
}

static void put_event(struct ring *r, const struct trace_event *ev)
{
	put(r, PROTO_EVENT, 0, ev, sizeof(*ev));
}

/* An NVTX range on collector track `track` named by collector string `name`. */
static struct trace_event range_ev(uint32_t track, uint32_t name, int64_t start, int64_t end)
{
	struct trace_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = TRACE_NVTX_RANGE;
	ev.track = track;
	ev.name = name;
	ev.start = start;
	ev.end = end;
	return ev;
}

/* --- a sink that checks the sink contract and remembers what it got ------------- */

enum { T_STRING, T_FRAME, T_STACK, T_TRACK, T_LAUNCH, T_ATTR, T_MEMOP, T_COUNT };

struct test_sink {
	struct capture_sink base;
	uint32_t last[T_COUNT]; /* last id defined per table */
	uint64_t events;
	uint64_t processes, devices, metas, losses, flushes;
	int violations; /* ids out of order, or used before definition */
	struct trace_process last_process;
	struct trace_loss last_loss;
	bool fail_events; /* make `event` fail (a full disk) */
	bool *closed;
};

/* Checks that `id` is the next id of table `t`. */
static int ts_def(struct capture_sink *k, int t, uint32_t id)
{
	struct test_sink *s = (struct test_sink *)k;
	if (id != s->last[t] + 1)
		s->violations++;
	s->last[t] = id;
	return 0;
}

static int ts_string(struct capture_sink *k, uint32_t id, const char *b, size_t n, struct err *e)
{
	return ts_def(k, T_STRING, id);
}

static int ts_frame(struct capture_sink *k, uint32_t id, const struct trace_frame *f, struct err *e)
{
	struct test_sink *s = (struct test_sink *)k;
	if (f->function > s->last[T_STRING] || f->module > s->last[T_STRING])
		s->violations++;
	return ts_def(k, T_FRAME, id);
}

static int ts_stack(struct capture_sink *k, uint32_t id, const uint32_t *fr, uint32_t n, struct err *e)
{
	struct test_sink *s = (struct test_sink *)k;
	for (uint32_t i = 0; i < n; i++)
		if (fr[i] == 0 || fr[i] > s->last[T_FRAME])
			s->violations++;
	return ts_def(k, T_STACK, id);
}

static int ts_track(struct capture_sink *k, uint32_t id, const struct trace_track_info *t, struct err *e)
{
	struct test_sink *s = (struct test_sink *)k;
	if (t->name > s->last[T_STRING])
		s->violations++;
	return ts_def(k, T_TRACK, id);
}

static int ts_launch(struct capture_sink *k, uint32_t id, const struct trace_launch *l, struct err *e)
{
	return ts_def(k, T_LAUNCH, id);
}

static int ts_attr(struct capture_sink *k, uint32_t id, const struct trace_nvtx_attr *a, struct err *e)
{
	struct test_sink *s = (struct test_sink *)k;
	if (a->domain > s->last[T_STRING])
		s->violations++;
	return ts_def(k, T_ATTR, id);
}

static int ts_memop(struct capture_sink *k, uint32_t id, const struct trace_memop *m, struct err *e)
{
	return ts_def(k, T_MEMOP, id);
}

static int ts_process(struct capture_sink *k, const struct trace_process *p, struct err *e)
{
	struct test_sink *s = (struct test_sink *)k;
	if (p->command > s->last[T_STRING])
		s->violations++;
	s->processes++;
	s->last_process = *p;
	return 0;
}

static int ts_device(struct capture_sink *k, const struct trace_device *d, struct err *e)
{
	struct test_sink *s = (struct test_sink *)k;
	if (d->name > s->last[T_STRING])
		s->violations++;
	s->devices++;
	return 0;
}

static int ts_meta(struct capture_sink *k, const char *key, const char *value, struct err *e)
{
	((struct test_sink *)k)->metas++;
	return 0;
}

static int ts_loss(struct capture_sink *k, const struct trace_loss *l, struct err *e)
{
	struct test_sink *s = (struct test_sink *)k;
	if (l->source > s->last[T_STRING])
		s->violations++;
	s->losses++;
	s->last_loss = *l;
	return 0;
}

static int ts_event(struct capture_sink *k, const struct trace_event *ev, struct err *e)
{
	struct test_sink *s = (struct test_sink *)k;
	if (s->fail_events)
		return err_fmt(e, "test sink: disk full");
	if (ev->name > s->last[T_STRING] || ev->track == 0 || ev->track > s->last[T_TRACK] ||
	    trace_event_stack(ev) > s->last[T_STACK] ||
	    (ev->kind == TRACE_KERNEL && ev->u.kernel.launch > s->last[T_LAUNCH]) ||
	    ((ev->kind == TRACE_NVTX_RANGE || ev->kind == TRACE_NVTX_MARK) &&
	     ev->u.nvtx.attr > s->last[T_ATTR]) ||
	    ((ev->kind == TRACE_MEM_ALLOC || ev->kind == TRACE_MEM_FREE) &&
	     ev->u.memop.id > s->last[T_MEMOP]) ||
	    ev->end < ev->start)
		s->violations++;
	s->events++;
	return 0;
}

static int ts_flush(struct capture_sink *k, struct err *e)
{
	((struct test_sink *)k)->flushes++;
	return 0;
}

static int ts_close(struct capture_sink *k, struct err *e)
{
	struct test_sink *s = (struct test_sink *)k;
	if (s->closed)
		*s->closed = true;
	free(s);
	return 0;
}

static const struct capture_sink_ops ts_ops = {
    .name = "test",
    .string = ts_string,
    .frame = ts_frame,
    .stack = ts_stack,
    .track = ts_track,
    .launch = ts_launch,
    .nvtx_attr = ts_attr,
    .memop = ts_memop,
    .process = ts_process,
    .device = ts_device,
    .meta = ts_meta,
    .loss = ts_loss,
    .event = ts_event,
    .flush = ts_flush,
    .close = ts_close,
};

static struct test_sink *ts_new(void)
{
	struct test_sink *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->base.ops = &ts_ops;
	return s;
}

/* --- log capture ------------------------------------------------------------------- */

struct test_log {
	int n;
	uint32_t pid;
	enum proto_log_level level;
	char msg[512];
};

static void tl_log(void *arg, uint32_t pid, enum proto_log_level level, const char *msg, size_t len)
{
	struct test_log *l = arg;
	l->n++;
	l->pid = pid;
	l->level = level;
	size_t n = len < sizeof(l->msg) - 1 ? len : sizeof(l->msg) - 1;
	memcpy(l->msg, msg, n);
	l->msg[n] = '\0';
}

/* --- fixtures ------------------------------------------------------------------------ */

struct fix {
	struct trace_session *s;
	struct capture_drain *d;
	struct test_sink *sink;
	struct test_log log;
};

static void fix_init(struct fix *f, bool keep_events)
{
	memset(f, 0, sizeof(*f));
	f->s = trace_session_new();
	struct capture_drain_options o = {.keep_events = keep_events, .log = tl_log, .log_arg = &f->log};
	f->d = capture_drain_new(f->s, &o);
	f->sink = ts_new();
	assert_int_equal(capture_drain_add_sink(f->d, &f->sink->base, NULL), 0);
}

static void fix_done(struct fix *f)
{
	assert_int_equal(f->sink->violations, 0);
	capture_drain_delete(f->d);
	assert_int_equal(capture_sink_close(&f->sink->base, NULL), 0);
	trace_session_delete(f->s);
}

static struct ring *new_ring(size_t size)
{
	struct err e = {{0}};
	struct ring *r = ring_create(size, 0, 0, &e);
	assert_non_null(r);
	return r;
}

/* The events of the session's track of `pid` and `kind` (and tid/stream). */
static const struct trace_event *events_of(struct trace_session *s, uint32_t pid, uint8_t kind, size_t *n)
{
	for (uint32_t id = 1; id < trace_session_track_count(s); id++) {
		const struct trace_track_info *t = trace_session_track_info(s, id);
		if (t->pid == pid && t->kind == kind)
			return trace_session_track_events(s, id, n);
	}
	*n = 0;
	return NULL;
}

static const char *str(struct trace_session *s, uint32_t id)
{
	return trace_session_string(s, id, NULL);
}

/* The loss total of (pid, source name), or UINT64_MAX when absent. */
static uint64_t loss_of(struct trace_session *s, uint32_t pid, const char *source)
{
	for (size_t i = 0; i < trace_session_loss_count(s); i++) {
		const struct trace_loss *l = trace_session_loss(s, i);
		if (l->pid == pid && !strcmp(str(s, l->source), source))
			return l->count;
	}
	return UINT64_MAX;
}

/* --- tests ----------------------------------------------------------------------------- */

/* Two processes define the same collector ids with different values. */
static void test_two_processes(void **state)
{
	struct fix f;
	fix_init(&f, true);
	struct ring *ra = new_ring(RING_BYTES), *rb = new_ring(RING_BYTES);
	struct capture_proc *pa = capture_drain_attach(f.d, 100, 1, ra);
	struct capture_proc *pb = capture_drain_attach(f.d, 200, 100, rb);
	assert_int_equal(capture_drain_attached(f.d), 2);

	struct ring *rings[2] = {ra, rb};
	const char *names[2] = {"kernel_a", "kernel_b"};
	for (int i = 0; i < 2; i++) {
		struct ring *r = rings[i];
		put_hello(r, i ? 200 : 100, i ? 100 : 1, i ? "./b --x" : "./a", 1000 + i);
		put_string(r, 1, names[i]);
		put_string(r, 2, "common");
		put_string(r, 3, i ? "libb.so" : "liba.so");
		put_track(r, 1, TRACE_TRACK_THREAD, 7, 0, 2);
		put_track(r, 2, TRACE_TRACK_STREAM, 0, 13, 0);
		struct trace_launch l = {
		    .grid = {(uint32_t)i + 1, 1, 1}, .block = {128, 1, 1}, .registers = 32};
		put(r, PROTO_LAUNCH, 1, &l, sizeof(l));
		struct trace_nvtx_attr a = {.domain = 2, .color = 0xff00ff00u, .has_color = 1};
		put(r, PROTO_NVTX_ATTR, 1, &a, sizeof(a));
		struct proto_frame fr = {
		    .pc = 0x1000u + (uint64_t)i, .module = 3, .function = 1, .function_offset = 4};
		put(r, PROTO_FRAME, 1, &fr, sizeof(fr));
		uint32_t stack[1] = {1};
		put(r, PROTO_STACK, 1, stack, sizeof(stack));
		struct trace_memop m = {.address = 0xdead0000u,
		                        .bytes = 4096u * ((unsigned)i + 1),
		                        .device = 0,
		                        .mem_kind = TRACE_MEM_DEVICE};
		put(r, PROTO_MEMOP, 1, &m, sizeof(m));
		struct trace_device dev;
		memset(&dev, 0, sizeof(dev));
		dev.id = (uint32_t)i;
		dev.api = TRACE_DEVICE_CUDA;
		dev.name = 2;
		dev.sm_count = 132;
		put(r, PROTO_DEVICE, 0, &dev, sizeof(dev));

		struct trace_event ev = range_ev(1, 1, 10, 20);
		ev.u.nvtx.attr = 1;
		ev.u.nvtx.stack = 1;
		put_event(r, &ev);
		memset(&ev, 0, sizeof(ev));
		ev.kind = TRACE_KERNEL;
		ev.track = 2;
		ev.name = 1;
		ev.start = 30;
		ev.end = 40 + i;
		ev.correlation = 5;
		ev.u.kernel.launch = 1;
		put_event(r, &ev);
		memset(&ev, 0, sizeof(ev));
		ev.kind = TRACE_MEM_ALLOC;
		ev.track = 1;
		ev.name = 2;
		ev.start = ev.end = 50;
		ev.u.memop.id = 1;
		put_event(r, &ev);
		memset(&ev, 0, sizeof(ev));
		ev.kind = TRACE_MEMCPY;
		ev.track = 2;
		ev.name = 2;
		ev.start = 60;
		ev.end = 70;
		ev.sub = trace_memcpy_sub(TRACE_COPY_HTOD, TRACE_MEM_PINNED, TRACE_MEM_DEVICE);
		ev.u.bytes = 1 << 20;
		put_event(r, &ev);
	}
	assert_int_equal(capture_drain_poll(f.d, SIZE_MAX), 2 * 16);
	const struct capture_drain_stats *st = capture_drain_stats(f.d);
	assert_int_equal(st->dropped_records, 0);
	assert_int_equal(st->events, 8);
	assert_int_equal(st->events_by_kind[TRACE_KERNEL], 2);
	assert_int_equal(st->events_by_kind[TRACE_NVTX_RANGE], 2);
	assert_int_equal(st->processes, 2);
	trace_session_finish(f.s);

	/* Strings: the two kernel names, "common" and the two modules, once each. */
	assert_int_equal(trace_session_string_count(f.s), 1 + 5 + 2); /* + the two commands */
	for (int i = 0; i < 2; i++) {
		uint32_t pid = i ? 200 : 100;
		size_t n;
		const struct trace_event *ev = events_of(f.s, pid, TRACE_TRACK_STREAM, &n);
		assert_int_equal(n, 2);
		assert_int_equal(ev[0].kind, TRACE_KERNEL);
		assert_string_equal(str(f.s, ev[0].name), names[i]);
		assert_int_equal(ev[0].end, 40 + i);
		const struct trace_launch *l = trace_session_launch(f.s, ev[0].u.kernel.launch);
		assert_non_null(l);
		assert_int_equal(l->grid[0], (uint32_t)i + 1);
		assert_int_equal(ev[1].kind, TRACE_MEMCPY);
		assert_int_equal(trace_memcpy_copy_kind(&ev[1]), TRACE_COPY_HTOD);
		const struct trace_track_info *t = trace_session_track_info(f.s, ev[0].track);
		assert_int_equal(t->pid, pid);
		assert_int_equal(t->stream, 13);

		ev = events_of(f.s, pid, TRACE_TRACK_THREAD, &n);
		assert_int_equal(n, 2);
		assert_int_equal(ev[0].kind, TRACE_NVTX_RANGE);
		assert_string_equal(str(f.s, ev[0].name), names[i]);
		const struct trace_nvtx_attr *a = trace_session_nvtx_attr(f.s, ev[0].u.nvtx.attr);
		assert_non_null(a);
		assert_string_equal(str(f.s, a->domain), "common");
		uint32_t nf;
		const uint32_t *fr = trace_session_stack(f.s, ev[0].u.nvtx.stack, &nf);
		assert_int_equal(nf, 1);
		const struct trace_frame *frame = trace_session_frame(f.s, fr[0]);
		assert_int_equal(frame->pc, 0x1000u + (uint64_t)i);
		assert_int_equal(frame->offset, 4);
		assert_string_equal(str(f.s, frame->function), names[i]);
		assert_string_equal(str(f.s, frame->module), i ? "libb.so" : "liba.so");
		t = trace_session_track_info(f.s, ev[0].track);
		assert_int_equal(t->pid, pid);
		assert_int_equal(t->tid, 7);
		assert_string_equal(str(f.s, t->name), "common");
		assert_int_equal(ev[1].kind, TRACE_MEM_ALLOC);
		const struct trace_memop *m = trace_session_memop(f.s, ev[1].u.memop.id);
		assert_int_equal(m->bytes, 4096u * ((unsigned)i + 1));

		const struct trace_process *p = trace_session_find_process(f.s, pid);
		assert_non_null(p);
		assert_int_equal(p->ppid, i ? 100 : 1);
		assert_string_equal(str(f.s, p->command), i ? "./b --x" : "./a");
		assert_int_equal(p->start, 1000 + i);
		assert_int_equal(p->state, TRACE_PROC_RUNNING);
	}
	/* Identical launch configurations would be shared; these differ. */
	assert_int_equal(trace_session_launch_count(f.s), 3);
	/* Both attribute sets are equal after remapping: one session entry. */
	assert_int_equal(trace_session_nvtx_attr_count(f.s), 2);
	assert_int_equal(trace_session_track_count(f.s), 5);
	assert_int_equal(trace_session_device_count(f.s), 2);
	assert_int_equal(trace_session_memop_count(f.s), 3);
	/* The sink got the same tables, in order. */
	assert_int_equal(f.sink->events, 8);
	assert_int_equal(f.sink->last[T_STRING], trace_session_string_count(f.s) - 1);
	assert_int_equal(f.sink->last[T_TRACK], 4);
	assert_int_equal(f.sink->last[T_FRAME], 2);
	assert_int_equal(f.sink->last[T_STACK], 2);
	assert_int_equal(f.sink->last[T_LAUNCH], 2);
	assert_int_equal(f.sink->last[T_ATTR], 1);
	assert_int_equal(f.sink->last[T_MEMOP], 2);
	assert_int_equal(f.sink->devices, 2);

	capture_drain_close(f.d, pa, 5000, true, 3 << 8);
	capture_drain_close(f.d, pb, 6000, false, 0);
	assert_int_equal(capture_drain_attached(f.d), 0);
	const struct trace_process *p = trace_session_find_process(f.s, 100);
	assert_int_equal(p->state, TRACE_PROC_EXITED);
	assert_int_equal(p->status, 3);
	assert_int_equal(p->end, 5000);
	p = trace_session_find_process(f.s, 200);
	assert_int_equal(p->state, TRACE_PROC_ENDED);
	assert_int_equal(p->end, 6000);
	assert_int_equal(f.sink->last_process.pid, 200);
	assert_int_equal(f.sink->last_process.state, TRACE_PROC_ENDED);
	fix_done(&f);
}

/* Events naming ids their process never defined are dropped and counted. */
static void test_undefined_ids(void **state)
{
	struct fix f;
	fix_init(&f, true);
	struct ring *r = new_ring(RING_BYTES);
	capture_drain_attach(f.d, 300, 1, r);
	put_hello(r, 300, 1, "./c", 1);
	put_string(r, 1, "name");
	put_track(r, 1, TRACE_TRACK_THREAD, 1, 0, 0);
	put_track(r, 2, TRACE_TRACK_STREAM, 0, 1, 0);
	struct trace_event good = range_ev(1, 1, 1, 2);
	put_event(r, &good);
	struct trace_event ev = range_ev(1, 9, 1, 2); /* name */
	put_event(r, &ev);
	ev = range_ev(7, 1, 1, 2); /* track */
	put_event(r, &ev);
	ev = range_ev(0, 1, 1, 2); /* no track */
	put_event(r, &ev);
	ev = range_ev(1, 1, 1, 2); /* attribute */
	ev.u.nvtx.attr = 3;
	put_event(r, &ev);
	ev = range_ev(1, 1, 1, 2); /* stack */
	ev.u.nvtx.stack = 4;
	put_event(r, &ev);
	ev = range_ev(2, 1, 1, 2); /* launch */
	ev.kind = TRACE_KERNEL;
	ev.u.kernel.launch = 2;
	put_event(r, &ev);
	ev = range_ev(1, 1, 1, 2); /* memop */
	ev.kind = TRACE_MEM_FREE;
	ev.u.memop.id = 1;
	put_event(r, &ev);
	ev = range_ev(1, 1, 1, 2); /* API stack */
	ev.kind = TRACE_API;
	ev.u.api.stack = 2;
	put_event(r, &ev);
	/* A stack whose frame is undefined is itself dropped. */
	uint32_t frames[2] = {1, 2};
	put(r, PROTO_STACK, 1, frames, sizeof(frames));
	/* A track naming an undefined string, then an event on it. */
	put_track(r, 3, TRACE_TRACK_THREAD, 2, 0, 5);
	ev = range_ev(3, 1, 1, 2);
	put_event(r, &ev);
	put_event(r, &good);

	capture_drain_poll(f.d, SIZE_MAX);
	const struct capture_drain_stats *st = capture_drain_stats(f.d);
	assert_int_equal(st->events, 2);
	assert_int_equal(st->dropped_events, 9);
	assert_int_equal(st->dropped_records, 11);
	assert_int_equal(trace_session_event_count(f.s), 2);
	assert_int_equal(loss_of(f.s, 300, "invalid"), 9);
	assert_int_equal(f.sink->last_loss.count, 9);
	assert_int_equal(trace_session_track_count(f.s), 3);
	fix_done(&f);
}

/* Short, oversized, out-of-range and out-of-order records are dropped, and
 * valid records around them still count. */
static void test_bad_records(void **state)
{
	struct fix f;
	fix_init(&f, true);
	struct ring *r = new_ring(RING_BYTES);
	capture_drain_attach(f.d, 400, 1, r);
	uint64_t expect_dropped = 0;

	/* Before HELLO: dropped. */
	put_string(r, 1, "early");
	expect_dropped++;
	put_hello(r, 400, 1, "./d", 1);
	put_hello(r, 400, 1, "./d again", 1); /* a second HELLO */
	expect_dropped++;
	put_string(r, 1, "name");
	put_track(r, 1, TRACE_TRACK_THREAD, 1, 0, 0);

	uint8_t junk[64];
	memset(junk, 0xab, sizeof(junk));
	put_raw(r, junk, 0); /* empty */
	put_raw(r, junk, 5); /* shorter than a header */
	expect_dropped += 2;
	junk[0] = 99; /* unknown type */
	put_raw(r, junk, 16);
	junk[0] = 0;
	put_raw(r, junk, 16);
	expect_dropped += 2;
	/* Definition records of the wrong size, or id 0. */
	put(r, PROTO_TRACK, 2, junk, 3);
	put(r, PROTO_LAUNCH, 1, junk, sizeof(struct trace_launch) - 1);
	put(r, PROTO_NVTX_ATTR, 1, junk, sizeof(struct trace_nvtx_attr) + 1);
	put(r, PROTO_MEMOP, 1, junk, 0);
	put(r, PROTO_FRAME, 1, junk, 8);
	put(r, PROTO_DEVICE, 0, junk, 8);
	put(r, PROTO_LOSS, 0, junk, 4);
	put(r, PROTO_GOODBYE, 0, junk, 2);
	put(r, PROTO_LOG, 0, junk, 3);
	put_string(r, 0, "zero id");
	expect_dropped += 10;
	/* Ids far beyond what the ring carried. */
	put_string(r, 1u << 30, "far");
	put_string(r, 100000, "far too");
	expect_dropped += 2;
	/* A string longer than PROTO_STRING_MAX. */
	char *big = malloc(PROTO_STRING_MAX + 1);
	assert_non_null(big);
	memset(big, 'x', PROTO_STRING_MAX + 1);
	put(r, PROTO_STRING, 2, big, PROTO_STRING_MAX + 1);
	expect_dropped++;
	put(r, PROTO_STRING, 3, big, PROTO_STRING_MAX); /* the longest allowed */
	free(big);
	/* Stacks: empty, too deep, not a whole number of ids. */
	uint32_t frames[PROTO_STACK_MAX + 1];
	memset(frames, 0, sizeof(frames));
	put(r, PROTO_STACK, 1, frames, 0);
	put(r, PROTO_STACK, 1, frames, sizeof(frames));
	put(r, PROTO_STACK, 1, frames, 6);
	expect_dropped += 3;
	/* Enums out of range. */
	struct trace_track_info t;
	memset(&t, 0, sizeof(t));
	t.kind = 9;
	put(r, PROTO_TRACK, 2, &t, sizeof(t));
	struct trace_nvtx_attr a = {.payload_type = TRACE_NVTX_PAYLOAD_MAX + 1};
	put(r, PROTO_NVTX_ATTR, 1, &a, sizeof(a));
	struct trace_memop m = {.mem_kind = TRACE_MEM_KIND_MAX + 1};
	put(r, PROTO_MEMOP, 1, &m, sizeof(m));
	struct trace_device dev;
	memset(&dev, 0, sizeof(dev));
	dev.api = 7;
	put(r, PROTO_DEVICE, 0, &dev, sizeof(dev));
	struct proto_log lg = {.level = 9};
	put(r, PROTO_LOG, 0, &lg, sizeof(lg));
	expect_dropped += 5;
	/* Events: bad kind, reversed span, overflowing span, bad enums, short. */
	uint64_t expect_events_dropped = 0;
	struct trace_event ev = range_ev(1, 1, 5, 4);
	put_event(r, &ev);
	ev = range_ev(1, 1, INT64_MIN + 1, INT64_MAX);
	put_event(r, &ev);
	ev = range_ev(1, 1, 1, 2);
	ev.kind = 0;
	put_event(r, &ev);
	ev.kind = TRACE_KIND_MAX + 1;
	put_event(r, &ev);
	ev = range_ev(1, 1, 1, 2);
	ev.kind = TRACE_MEMCPY;
	ev.sub = trace_memcpy_sub(TRACE_COPY_KIND_MAX + 1, 0, 0);
	put_event(r, &ev);
	ev.sub = trace_memcpy_sub(TRACE_COPY_HTOD, TRACE_MEM_KIND_MAX + 1, 0);
	put_event(r, &ev);
	ev.sub = 0x8000u;
	put_event(r, &ev);
	ev.kind = TRACE_MEMSET;
	ev.sub = TRACE_MEM_KIND_MAX + 1;
	put_event(r, &ev);
	ev.kind = TRACE_SYNC;
	ev.sub = TRACE_SYNC_KIND_MAX + 1;
	put_event(r, &ev);
	put(r, PROTO_EVENT, 0, &ev, sizeof(ev) - 1);
	expect_events_dropped += 10;
	expect_dropped += 10;
	/* The largest span that fits in int64 is fine. */
	ev = range_ev(1, 1, -1, INT64_MAX - 1);
	put_event(r, &ev);
	ev = range_ev(1, 3, 7, 7);
	put_event(r, &ev);

	capture_drain_poll(f.d, SIZE_MAX);
	const struct capture_drain_stats *st = capture_drain_stats(f.d);
	assert_int_equal(st->dropped_records, expect_dropped);
	assert_int_equal(st->dropped_events, expect_events_dropped);
	assert_int_equal(st->events, 2);
	assert_int_equal(loss_of(f.s, 400, "invalid"), expect_events_dropped);
	size_t n;
	const struct trace_event *evs = events_of(f.s, 400, TRACE_TRACK_THREAD, &n);
	assert_int_equal(n, 2);
	size_t len;
	trace_session_string(f.s, evs[1].name, &len);
	assert_int_equal(len, PROTO_STRING_MAX);
	const struct trace_process *p = trace_session_find_process(f.s, 400);
	assert_string_equal(str(f.s, p->command), "./d");
	fix_done(&f);
}

/* A HELLO of another protocol, or claiming another pid, refuses the ring. */
static void test_hello_refused(void **state)
{
	struct fix f;
	fix_init(&f, true);
	struct ring *r = new_ring(RING_BYTES);
	capture_drain_attach(f.d, 500, 1, r);
	struct proto_hello h;
	memset(&h, 0, sizeof(h));
	h.version = PROTO_VERSION + 1;
	h.pid = 500;
	put(r, PROTO_HELLO, 0, &h, sizeof(h));
	put_string(r, 1, "x");
	capture_drain_poll(f.d, SIZE_MAX);
	assert_int_equal(capture_drain_stats(f.d)->dropped_records, 2);
	assert_int_equal(f.log.n, 1);
	assert_int_equal(f.log.pid, 500);
	assert_int_equal(f.log.level, PROTO_LOG_WARNING);
	assert_non_null(strstr(f.log.msg, "protocol"));

	struct ring *r2 = new_ring(RING_BYTES);
	capture_drain_attach(f.d, 501, 1, r2);
	put_hello(r2, 502, 1, "./liar", 1);
	put_string(r2, 1, "x");
	capture_drain_poll(f.d, SIZE_MAX);
	assert_int_equal(capture_drain_stats(f.d)->dropped_records, 4);
	assert_int_equal(f.log.n, 2);
	assert_non_null(strstr(f.log.msg, "502"));
	/* Only the command-less records of the attach are there. */
	const struct trace_process *p = trace_session_find_process(f.s, 501);
	assert_non_null(p);
	assert_int_equal(p->command, 0);
	fix_done(&f);
}

/* Ring drops become "ring" losses; collector totals their own sources. */
static void test_losses(void **state)
{
	struct fix f;
	fix_init(&f, false);
	struct ring *r = new_ring(RING_MIN_SIZE);
	capture_drain_attach(f.d, 600, 1, r);
	put_hello(r, 600, 1, "./e", 1);
	put_string(r, 1, "cupti");
	put_track(r, 1, TRACE_TRACK_THREAD, 1, 0, 0);
	struct proto_loss l = {.source = 1, .count = 5};
	put(r, PROTO_LOSS, 0, &l, sizeof(l));
	capture_drain_poll(f.d, SIZE_MAX);
	assert_int_equal(loss_of(f.s, 600, "cupti"), 5);
	assert_int_equal(loss_of(f.s, 600, "ring"), UINT64_MAX);

	/* Fill the ring until it drops. */
	uint32_t len = (uint32_t)(sizeof(struct proto_header) + sizeof(struct trace_event));
	uint64_t written = 0, dropped = 0;
	struct trace_event ev = range_ev(1, 1, 1, 2);
	while (dropped < 7) {
		uint8_t *p = ring_reserve(r, len);
		if (!p) {
			dropped++;
			continue;
		}
		struct proto_header h = {.type = PROTO_EVENT};
		memcpy(p, &h, sizeof(h));
		memcpy(p + sizeof(h), &ev, sizeof(ev));
		ring_commit(r, p);
		written++;
	}
	capture_drain_poll(f.d, SIZE_MAX);
	assert_int_equal(capture_drain_stats(f.d)->events, written);
	assert_int_equal(loss_of(f.s, 600, "ring"), 7);
	assert_int_equal(trace_session_lost_total(f.s), 12);
	/* keep_events false: counted and passed on, not stored. */
	assert_int_equal(trace_session_event_count(f.s), 0);
	assert_int_equal(f.sink->events, written);
	/* A later total replaces the earlier one. */
	l.count = 9;
	put(r, PROTO_LOSS, 0, &l, sizeof(l));
	capture_drain_poll(f.d, SIZE_MAX);
	assert_int_equal(loss_of(f.s, 600, "cupti"), 9);
	assert_int_equal(trace_session_lost_total(f.s), 16);
	fix_done(&f);
}

/* LOG goes to the callback; GOODBYE ends the process; the launched
 * program's waitpid status wins over a socket close; detach. */
static void test_process_life(void **state)
{
	struct fix f;
	fix_init(&f, true);
	struct trace_process launched = {.pid = 700,
	                                 .ppid = 1,
	                                 .command = trace_session_intern_cstr(f.s, "./launched"),
	                                 .start = 10,
	                                 .state = TRACE_PROC_RUNNING};
	/* The string was interned behind the drain's back: a late sink gets it
	 * with the replay, so use a fresh sink to check that. */
	capture_drain_set_process(f.d, &launched);
	struct ring *r = new_ring(RING_BYTES);
	struct capture_proc *p = capture_drain_attach(f.d, 700, 1, r);
	put_hello(r, 700, 1, "./launched --real", 50);
	struct {
		struct proto_log h;
		char msg[16];
	} lg = {.h = {.level = PROTO_LOG_ERROR}, .msg = "CUPTI \x1b[31mno"};
	put(r, PROTO_LOG, 0, &lg, (uint32_t)(sizeof(lg.h) + 12));
	struct proto_goodbye g = {.time = 900};
	put(r, PROTO_GOODBYE, 0, &g, sizeof(g));
	capture_drain_poll(f.d, SIZE_MAX);
	assert_int_equal(f.log.n, 1);
	assert_int_equal(f.log.pid, 700);
	assert_int_equal(f.log.level, PROTO_LOG_ERROR);
	assert_memory_equal(f.log.msg, "CUPTI \x1b[31mno", 12);
	const struct trace_process *pr = trace_session_find_process(f.s, 700);
	assert_int_equal(pr->start, 10); /* the launch time is earlier than HELLO's */
	assert_int_equal(pr->end, 900);
	assert_string_equal(str(f.s, pr->command), "./launched --real");
	assert_int_equal(pr->state, TRACE_PROC_RUNNING);
	/* waitpid first, then the socket close: the exact status stays. */
	capture_drain_process_exit(f.d, 700, 1000, 9);
	pr = trace_session_find_process(f.s, 700);
	assert_int_equal(pr->state, TRACE_PROC_SIGNALED);
	assert_int_equal(pr->status, 9);
	assert_int_equal(pr->end, 900);
	capture_drain_close(f.d, p, 1100, true, 0);
	pr = trace_session_find_process(f.s, 700);
	assert_int_equal(pr->state, TRACE_PROC_SIGNALED);
	assert_int_equal(pr->status, 9);

	/* The same pid again later: a new process, not the old record. */
	struct ring *r2 = new_ring(RING_BYTES);
	p = capture_drain_attach(f.d, 700, 1, r2);
	pr = trace_session_find_process(f.s, 700);
	assert_int_equal(pr->state, TRACE_PROC_RUNNING);
	assert_int_equal(pr->end, 0);
	/* Detach: marks the consumer detached for the target's side. */
	struct ring *view = ring_attach(ring_fd(r2), NULL);
	assert_non_null(view);
	assert_false(ring_consumer_detached(view));
	capture_drain_detach(f.d, p);
	assert_true(ring_consumer_detached(view));
	ring_close(view);
	pr = trace_session_find_process(f.s, 700);
	assert_int_equal(pr->state, TRACE_PROC_DETACHED);
	assert_int_equal(capture_drain_attached(f.d), 0);

	/* A late sink receives everything so far, in order. */
	struct test_sink *late = ts_new();
	assert_int_equal(capture_drain_add_sink(f.d, &late->base, NULL), 0);
	assert_int_equal(late->violations, 0);
	assert_int_equal(late->last[T_STRING], trace_session_string_count(f.s) - 1);
	assert_int_equal(late->processes, 1);
	assert_int_equal(late->last_process.state, TRACE_PROC_DETACHED);
	assert_int_equal(late->events, 0);
	capture_sink_close(&late->base, NULL);
	fix_done(&f);
}

/* Records reserved but never committed when the process goes: one with a
 * record behind it is skipped (a "torn" loss) and the record behind it read;
 * the last one ends the ring (test_ring_torn.c covers the rest). */
static void test_stalled_close(void **state)
{
	struct fix f;
	fix_init(&f, true);
	struct ring *r = new_ring(RING_BYTES);
	struct capture_proc *p = capture_drain_attach(f.d, 800, 1, r);
	put_hello(r, 800, 1, "./f", 1);
	put_string(r, 1, "n");
	put_track(r, 1, TRACE_TRACK_THREAD, 1, 0, 0);
	struct trace_event ev = range_ev(1, 1, 1, 2);
	put_event(r, &ev);
	void *half = ring_reserve(r, 64);
	assert_non_null(half);
	put_event(r, &ev); /* behind the torn record: read at close */
	half = ring_reserve(r, 64);
	assert_non_null(half);
	capture_drain_close(f.d, p, 100, false, 0);
	const struct capture_drain_stats *st = capture_drain_stats(f.d);
	assert_int_equal(st->events, 2);
	assert_int_equal(st->torn_records, 1);
	assert_int_equal(st->stalled_rings, 1);
	assert_int_equal(loss_of(f.s, 800, "torn"), 1);
	assert_int_equal(f.log.n, 2);
	assert_non_null(strstr(f.log.msg, "half-written"));
	fix_done(&f);
}

/* A sink that fails stops receiving; the failure is reported. */
static void test_sink_failure(void **state)
{
	struct fix f;
	fix_init(&f, false);
	struct ring *r = new_ring(RING_BYTES);
	capture_drain_attach(f.d, 900, 1, r);
	put_hello(r, 900, 1, "./g", 1);
	put_string(r, 1, "n");
	put_track(r, 1, TRACE_TRACK_THREAD, 1, 0, 0);
	struct trace_event ev = range_ev(1, 1, 1, 2);
	put_event(r, &ev);
	capture_drain_poll(f.d, SIZE_MAX);
	f.sink->fail_events = true;
	put_event(r, &ev);
	put_event(r, &ev);
	assert_null(capture_drain_error(f.d));
	capture_drain_poll(f.d, SIZE_MAX);
	assert_non_null(capture_drain_error(f.d));
	assert_non_null(strstr(capture_drain_error(f.d), "disk full"));
	struct err e = {{0}};
	assert_int_equal(capture_drain_flush(f.d, &e), -1);
	assert_non_null(strstr(e.msg, "disk full"));
	assert_int_equal(f.sink->events, 1);
	assert_int_equal(f.sink->flushes, 0);
	assert_int_equal(capture_drain_stats(f.d)->events, 3);
	fix_done(&f);
}

/* Fills a drain with two processes' records through `sinks` sinks. */
static void feed_two(struct capture_drain *d)
{
	for (uint32_t i = 0; i < 2; i++) {
		struct ring *r = new_ring(RING_BYTES);
		struct capture_proc *p = capture_drain_attach(d, 1000 + i, 1, r);
		put_hello(r, 1000 + i, 1, i ? "./two" : "./one", 5);
		put_string(r, 1, i ? "beta" : "alpha");
		put_string(r, 2, "shared");
		put_track(r, 1, TRACE_TRACK_THREAD, 1000 + i, 0, 2);
		for (int k = 0; k < 100; k++) {
			struct trace_event ev = range_ev(1, (uint32_t)(k % 2) + 1, k * 10, k * 10 + 5);
			put_event(r, &ev);
		}
		capture_drain_poll(d, SIZE_MAX);
		capture_drain_close(d, p, 5000, true, 0);
	}
}

/* The SBT sink: a file written live, and one by a sink that joined late,
 * read back. */
static void test_sbt_sink(void **state)
{
	char dir[] = "/tmp/test_drain.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char live[128], late[128];
	snprintf(live, sizeof(live), "%s/live.sbt", dir);
	snprintf(late, sizeof(late), "%s/late.sbt", dir);

	struct trace_session *s = trace_session_new();
	struct capture_drain *d = capture_drain_new(s, &(struct capture_drain_options){.keep_events = true});
	struct err e = {{0}};
	struct capture_sink *k = capture_sbt_sink_open(live, NULL, &e);
	assert_non_null(k);
	assert_int_equal(capture_drain_add_sink(d, k, &e), 0);
	capture_drain_meta(d, "command", "./one");
	feed_two(d);
	assert_int_equal(capture_drain_flush(d, &e), 0);
	assert_true(capture_sbt_sink_bytes(k) > 0);
	struct capture_sink *k2 = capture_sbt_sink_open(late, NULL, &e);
	assert_non_null(k2);
	assert_int_equal(capture_drain_add_sink(d, k2, &e), 0);
	capture_drain_delete(d);
	assert_int_equal(capture_sink_close(k, &e), 0);
	assert_int_equal(capture_sink_close(k2, &e), 0);

	const char *paths[2] = {live, late};
	for (int i = 0; i < 2; i++) {
		struct trace_session *rs = trace_session_new();
		struct sbt_read_report rep;
		assert_int_equal(sbt_load(paths[i], rs, &rep, &e), 0);
		assert_false(rep.truncated);
		assert_true(rep.has_index);
		assert_int_equal(rep.records_dropped, 0);
		assert_int_equal(trace_session_event_count(rs), 200);
		assert_int_equal(trace_session_kind_count(rs, TRACE_NVTX_RANGE), 200);
		assert_string_equal(trace_session_meta(rs, "command"), "./one");
		assert_int_equal(trace_session_process_count(rs), 2);
		const struct trace_process *p = trace_session_find_process(rs, 1001);
		assert_non_null(p);
		assert_int_equal(p->state, TRACE_PROC_EXITED);
		assert_int_equal(p->end, 5000);
		assert_string_equal(trace_session_string(rs, p->command, NULL), "./two");
		size_t n;
		const struct trace_event *ev = events_of(rs, 1001, TRACE_TRACK_THREAD, &n);
		assert_int_equal(n, 100);
		assert_string_equal(trace_session_string(rs, ev[0].name, NULL), "beta");
		assert_string_equal(trace_session_string(rs, ev[1].name, NULL), "shared");
		const struct trace_track_info *t = trace_session_track_info(rs, ev[0].track);
		assert_string_equal(trace_session_string(rs, t->name, NULL), "shared");
		trace_session_delete(rs);
		unlink(paths[i]);
	}
	trace_session_delete(s);
	rmdir(dir);
}

/* A sink cannot be opened on a path that cannot be created. */
static void test_sbt_sink_open_error(void **state)
{
	struct err e = {{0}};
	assert_null(capture_sbt_sink_open("/nonexistent-dir/x.sbt", NULL, &e));
	assert_true(strlen(e.msg) > 0);
	assert_int_equal(capture_sink_close(NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_processes), cmocka_unit_test(test_undefined_ids),
	    cmocka_unit_test(test_bad_records),   cmocka_unit_test(test_hello_refused),
	    cmocka_unit_test(test_losses),        cmocka_unit_test(test_process_life),
	    cmocka_unit_test(test_stalled_close), cmocka_unit_test(test_sink_failure),
	    cmocka_unit_test(test_sbt_sink),      cmocka_unit_test(test_sbt_sink_open_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
