/*
 * test_ring_torn.c - records left half-written in a capture ring (a
 * producer that died between ring_reserve and ring_commit): ring_skip_torn
 * on its own (a written header, a header word never written, across the
 * wrap-around padding, a chain of them, nothing committed behind, a payload
 * that must not pass for a boundary), a writer that was only slow and
 * commits after the skip (its bytes held, its record discarded, nothing
 * delivered half-written), commits that publish only their own exact
 * header word, and the drain's policy over it: no
 * skip before the bound or while the process is stopped, later records
 * delivered after the bound with the loss counted as "torn", at once when
 * the process has gone, and a producer thread that exits in the middle of
 * a record while other threads go on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/drain.h"
#include "capture/proto.h"
#include "capture/ring.h"
#include "trace/session.h"

/* --- ring level ------------------------------------------------------------------- */

static void test_sleep_ms(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static struct ring *test_ring(size_t size)
{
	struct err e = {{0}};
	struct ring *r = ring_create(size, 0, 0, &e);
	assert_non_null(r);
	return r;
}

/* Reserves, fills with `len` copies of byte `tag` and commits a record. */
static void test_put(struct ring *r, uint8_t tag, uint32_t len)
{
	uint8_t *p = ring_reserve(r, len);
	assert_non_null(p);
	memset(p, tag, len);
	ring_commit(r, p);
}

/* Reserves a record and leaves it uncommitted, filled with `tag`; returns
 * its payload. */
static uint8_t *test_tear(struct ring *r, uint8_t tag, uint32_t len)
{
	uint8_t *p = ring_reserve(r, len);
	assert_non_null(p);
	memset(p, tag, len);
	return p;
}

/* The header word of the record whose payload is `p`. */
static _Atomic uint64_t *test_word(uint8_t *p)
{
	return (_Atomic uint64_t *)(void *)(p - RING_REC_HDR);
}

/* What ring_read handed out: the tags (first byte) and lengths. */
struct test_got {
	uint8_t tags[64];
	uint32_t lens[64];
	size_t n;
	size_t mixed; /* records whose bytes are not all their tag */
};

static int test_got_fn(void *arg, const void *data, uint32_t len)
{
	struct test_got *g = arg;
	const uint8_t *b = data;
	for (uint32_t i = 1; i < len; i++)
		if (b[i] != b[0]) {
			g->mixed++;
			break;
		}
	if (g->n < 64) {
		g->tags[g->n] = len ? b[0] : 0;
		g->lens[g->n] = len;
	}
	g->n++;
	return 0;
}

static long test_read(struct ring *r, struct test_got *g)
{
	struct err e = {{0}};
	long n = ring_read(r, SIZE_MAX, test_got_fn, g, &e);
	assert_true(n >= 0);
	return n;
}

/* Bytes a record of `len` payload bytes takes in the ring. */
static uint64_t test_rec_bytes(uint32_t len)
{
	return (len + RING_REC_HDR + 7) & ~(uint64_t)7;
}

/* A torn record with its header written: skipped once something behind it
 * is committed, and the records behind it come out intact. */
static void test_skip_written(void **state)
{
	(void)state;
	struct ring *r = test_ring(4096);
	struct err e = {{0}};
	struct test_got g = {0};
	test_put(r, 1, 10);
	uint8_t *torn = test_tear(r, 2, 20);
	/* Nothing behind it yet: nothing to skip. */
	assert_int_equal(ring_skip_torn(r, &e), 0);
	test_put(r, 3, 30);
	test_put(r, 4, 40);
	assert_int_equal(test_read(r, &g), 1);
	assert_int_equal(ring_head_state(r), RING_HEAD_PENDING);
	assert_int_equal(ring_skip_torn(r, &e), 1);
	assert_int_equal(test_read(r, &g), 2);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.tags[0], 1);
	assert_int_equal(g.tags[1], 3);
	assert_int_equal(g.lens[1], 30);
	assert_int_equal(g.tags[2], 4);
	assert_int_equal(g.mixed, 0);
	assert_int_equal(ring_head_state(r), RING_HEAD_EMPTY);
	struct ring_stats st;
	ring_get_stats(r, &st);
	assert_int_equal(st.torn_records, 1);
	assert_int_equal(st.torn_bytes, test_rec_bytes(20));
	assert_int_equal(st.corruptions, 0);
	/* Its bytes stay held: producers may not reserve them again while its
	 * writer may be alive (the ring's invariant 5). */
	assert_int_equal(st.torn_held, 1);
	assert_int_equal(st.consumer_pos,
	                 test_rec_bytes(10) + test_rec_bytes(20) + test_rec_bytes(30) + test_rec_bytes(40));
	const uint8_t *data = ring_data(r);
	uint64_t off = test_rec_bytes(10);
	assert_int_equal(data[off + RING_REC_HDR], 2);
	/* Nothing pending: nothing to skip. */
	assert_int_equal(ring_skip_torn(r, &e), 0);
	/* The writer commits late: the record is discarded, not delivered, and
	 * its bytes are released, reading zero again (invariant 2). */
	ring_commit(r, torn);
	assert_int_equal(test_read(r, &g), 0);
	assert_int_equal(g.n, 3);
	ring_get_stats(r, &st);
	assert_int_equal(st.torn_held, 0);
	assert_int_equal(st.torn_late, 1);
	assert_int_equal(st.dropped_records, 0);
	for (uint64_t i = 0; i < test_rec_bytes(20); i++)
		assert_int_equal(data[off + i], 0);
	ring_close(r);
}

/* A producer that died between its reservation and the first store of its
 * header word: the slot reads zero, the length is unknown; the record ends
 * at the next well-formed header. */
static void test_skip_unwritten(void **state)
{
	(void)state;
	struct ring *r = test_ring(4096);
	struct err e = {{0}};
	struct test_got g = {0};
	test_put(r, 1, 16);
	uint8_t *p = ring_reserve(r, 100);
	assert_non_null(p);
	atomic_store(test_word(p), 0); /* as if the header store never happened */
	test_put(r, 3, 24);
	assert_int_equal(test_read(r, &g), 1);
	assert_int_equal(ring_head_state(r), RING_HEAD_PENDING);
	assert_int_equal(ring_skip_torn(r, &e), 1);
	assert_int_equal(test_read(r, &g), 1);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.tags[1], 3);
	assert_int_equal(g.lens[1], 24);
	struct ring_stats st;
	ring_get_stats(r, &st);
	assert_int_equal(st.torn_records, 1);
	assert_int_equal(st.torn_bytes, test_rec_bytes(100));
	assert_int_equal(st.corruptions, 0);
	ring_close(r);
}

/* The next record's payload is visible but its header word is not (a
 * weakly ordered CPU, or a producer between its reservation and its header
 * store): no boundary can be told, so nothing is skipped until the header
 * shows up. */
static void test_no_false_boundary(void **state)
{
	(void)state;
	struct ring *r = test_ring(4096);
	struct err e = {{0}};
	struct test_got g = {0};
	uint8_t *dead = ring_reserve(r, 40);
	assert_non_null(dead);
	atomic_store(test_word(dead), 0);
	uint8_t *next = ring_reserve(r, 48);
	assert_non_null(next);
	uint64_t word = atomic_load(test_word(next));
	atomic_store(test_word(next), 0);
	memset(next, 0xa5, 48); /* payload words, none a header for its place */
	test_put(r, 7, 8);
	assert_int_equal(ring_skip_torn(r, &e), 0);
	assert_int_equal(test_read(r, &g), 0);
	/* The header appears and is committed: the dead one is skipped. */
	atomic_store(test_word(next), word);
	ring_commit(r, next);
	assert_int_equal(ring_skip_torn(r, &e), 1);
	assert_int_equal(test_read(r, &g), 2);
	assert_int_equal(g.tags[0], 0xa5);
	assert_int_equal(g.tags[1], 7);
	struct ring_stats st;
	ring_get_stats(r, &st);
	assert_int_equal(st.torn_bytes, test_rec_bytes(40));
	assert_int_equal(st.corruptions, 0);
	ring_close(r);
}

/* Several torn records in a row, pending ones between them and the first
 * committed record: each skip takes one, and only when something committed
 * lies behind. */
static void test_skip_chain(void **state)
{
	(void)state;
	struct ring *r = test_ring(4096);
	struct err e = {{0}};
	struct test_got g = {0};
	test_tear(r, 1, 8);
	uint8_t *b = ring_reserve(r, 16);
	assert_non_null(b);
	atomic_store(test_word(b), 0);
	uint8_t *c = test_tear(r, 3, 24);
	assert_int_equal(ring_skip_torn(r, &e), 0); /* nothing committed behind */
	test_put(r, 4, 32);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(test_read(r, &g), 0);
		assert_int_equal(ring_skip_torn(r, &e), 1);
	}
	(void)c;
	assert_int_equal(test_read(r, &g), 1);
	assert_int_equal(g.tags[0], 4);
	struct ring_stats st;
	ring_get_stats(r, &st);
	assert_int_equal(st.torn_records, 3);
	assert_int_equal(st.torn_bytes, test_rec_bytes(8) + test_rec_bytes(16) + test_rec_bytes(24));
	ring_close(r);
}

/* A torn record whose producer needed wrap-around padding: written pad then
 * a torn header at offset 0; or neither written (the whole tail and the
 * record read zero). Both are skipped up to the next record, which comes out
 * whole; the ring goes on wrapping afterwards. */
static void test_skip_wrap(void **state)
{
	(void)state;
	for (int unwritten = 0; unwritten < 2; unwritten++) {
		struct ring *r = test_ring(4096);
		struct err e = {{0}};
		struct test_got g = {0};
		/* Move to 4000: 96 bytes before the end. */
		for (int i = 0; i < 125; i++) {
			test_put(r, 9, 24);
			assert_int_equal(test_read(r, &g), 1);
		}
		g.n = 0;
		struct ring_stats st;
		ring_get_stats(r, &st);
		assert_int_equal(st.reserve_pos, 4000);
		uint8_t *p = ring_reserve(r, 200); /* pads 96 bytes, lands at offset 0 */
		assert_non_null(p);
		assert_ptr_equal(p - RING_REC_HDR, ring_data(r));
		uint64_t torn = 96 + test_rec_bytes(200);
		uint8_t *data = (uint8_t *)(uintptr_t)ring_data(r);
		_Atomic uint64_t *padw = (_Atomic uint64_t *)(void *)(data + 4000);
		uint64_t pad_word = atomic_load(padw), rec_word = atomic_load(test_word(p));
		if (unwritten) {
			atomic_store(padw, 0);
			atomic_store(test_word(p), 0);
		} else {
			torn = test_rec_bytes(200); /* the pad is read as a pad */
		}
		test_put(r, 5, 64);
		test_read(r, &g);
		assert_int_equal(g.n, 0);
		assert_int_equal(ring_skip_torn(r, &e), 1);
		assert_int_equal(test_read(r, &g), 1);
		assert_int_equal(g.tags[0], 5);
		ring_get_stats(r, &st);
		assert_int_equal(st.torn_bytes, torn);
		assert_int_equal(st.corruptions, 0);
		/* Its bytes are held until its late writer stores its words and
		 * commits (invariant 5), which releases them. */
		assert_int_equal(st.torn_held, 1);
		atomic_store(padw, pad_word);
		atomic_store(test_word(p), rec_word);
		ring_commit(r, p);
		test_read(r, &g);
		ring_get_stats(r, &st);
		assert_int_equal(st.torn_held, 0);
		assert_int_equal(st.torn_late, 1);
		assert_int_equal(g.n, 1);
		/* Several more laps, all read whole. */
		for (int i = 0; i < 300; i++) {
			test_put(r, (uint8_t)(10 + i % 7), 40 + (uint32_t)i % 33);
			assert_int_equal(test_read(r, &g), 1);
		}
		assert_int_equal(g.mixed, 0);
		assert_int_equal(ring_head_state(r), RING_HEAD_EMPTY);
		ring_close(r);
	}
}

/* A torn record whose writer was only slow: skipped, the records behind it
 * read, then the writer resumes, fills its payload and commits. While it is
 * held no producer may reserve its bytes again (reservations that would
 * reach them fail and are counted dropped), so its late writes land only
 * on its own record; its late commit is discarded, never delivered, and
 * nothing delivered is half-written. Then the ring laps as usual. */
static void test_late_writer(void **state)
{
	(void)state;
	struct ring *r = test_ring(4096);
	struct err e = {{0}};
	struct test_got g = {0};
	test_put(r, 1, 16);
	uint8_t *late = test_tear(r, 2, 64);
	test_put(r, 3, 32);
	assert_int_equal(test_read(r, &g), 1);
	assert_int_equal(ring_skip_torn(r, &e), 1);
	assert_int_equal(test_read(r, &g), 1);
	const uint8_t *held_lo = late - RING_REC_HDR, *held_hi = late + 64;
	size_t failed = 0;
	for (int i = 0; i < 200; i++) {
		uint8_t *p = ring_reserve(r, 56);
		if (!p) {
			failed++;
			continue;
		}
		assert_true(p + 56 <= held_lo || p - RING_REC_HDR >= held_hi);
		memset(p, 4, 56);
		ring_commit(r, p);
		test_read(r, &g);
	}
	assert_true(failed > 0);
	struct ring_stats st;
	ring_get_stats(r, &st);
	assert_int_equal(st.dropped_records, failed);
	assert_int_equal(st.torn_held, 1);
	/* The slow writer resumes: its payload, then its commit. */
	memset(late, 0xee, 64);
	ring_commit(r, late);
	size_t before = g.n;
	for (int i = 0; i < 300; i++) {
		test_put(r, (uint8_t)(5 + i % 9), 24 + (uint32_t)i % 41);
		assert_int_equal(test_read(r, &g), 1);
	}
	assert_int_equal(g.n, before + 300);
	assert_int_equal(g.mixed, 0);
	for (size_t i = 0; i < g.n && i < 64; i++)
		assert_int_not_equal(g.tags[i], 0xee);
	ring_get_stats(r, &st);
	assert_int_equal(st.torn_records, 1);
	assert_int_equal(st.torn_late, 1);
	assert_int_equal(st.torn_held, 0);
	assert_int_equal(st.dropped_records, failed); /* the late commit found its own word */
	assert_int_equal(st.corruptions, 0);
	ring_close(r);
}

/* --- drain level ---------------------------------------------------------------- */

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

static void put_hello(struct ring *r, uint32_t pid)
{
	struct proto_hello h = {.version = PROTO_VERSION,
	                        .pid = pid,
	                        .ppid = 1,
	                        .size_event = sizeof(struct trace_event),
	                        .size_track = sizeof(struct trace_track_info),
	                        .size_device = sizeof(struct trace_device),
	                        .size_launch = sizeof(struct trace_launch),
	                        .size_nvtx_attr = sizeof(struct trace_nvtx_attr),
	                        .size_memop = sizeof(struct trace_memop),
	                        .size_frame = sizeof(struct proto_frame),
	                        .start = 1};
	put(r, PROTO_HELLO, 0, &h, sizeof(h));
}

static void put_string(struct ring *r, uint32_t id, const char *s)
{
	put(r, PROTO_STRING, id, s, (uint32_t)strlen(s));
}

static void put_track(struct ring *r, uint32_t id, uint32_t tid)
{
	struct trace_track_info t;
	memset(&t, 0, sizeof(t));
	t.kind = TRACE_TRACK_THREAD;
	t.tid = tid;
	put(r, PROTO_TRACK, id, &t, sizeof(t));
}

static struct trace_event range_ev(uint32_t track, uint32_t name, int64_t start)
{
	struct trace_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = TRACE_NVTX_RANGE;
	ev.track = track;
	ev.name = name;
	ev.start = start;
	ev.end = start + 1;
	return ev;
}

static void put_event(struct ring *r, uint32_t track, uint32_t name, int64_t start)
{
	struct trace_event ev = range_ev(track, name, start);
	put(r, PROTO_EVENT, 0, &ev, sizeof(ev));
}

/* A torn EVENT record: reserved, half filled, never committed. */
static void tear_event(struct ring *r)
{
	uint8_t *p = ring_reserve(r, (uint32_t)(sizeof(struct proto_header) + sizeof(struct trace_event)));
	assert_non_null(p);
	struct proto_header h = {.type = PROTO_EVENT};
	memcpy(p, &h, sizeof(h));
}

struct test_log {
	int n;
	char msg[512];
};

static void tl_log(void *arg, uint32_t pid, enum proto_log_level level, const char *msg, size_t len)
{
	(void)pid;
	(void)level;
	struct test_log *l = arg;
	l->n++;
	size_t n = len < sizeof(l->msg) - 1 ? len : sizeof(l->msg) - 1;
	memcpy(l->msg, msg, n);
	l->msg[n] = '\0';
}

struct fix {
	struct trace_session *s;
	struct capture_drain *d;
	struct test_log log;
};

static void fix_init(struct fix *f, uint32_t torn_ms)
{
	memset(f, 0, sizeof(*f));
	f->s = trace_session_new();
	struct capture_drain_options o = {
	    .keep_events = true, .log = tl_log, .log_arg = &f->log, .torn_ms = torn_ms};
	f->d = capture_drain_new(f->s, &o);
}

static void fix_done(struct fix *f)
{
	capture_drain_delete(f->d);
	trace_session_delete(f->s);
}

/* The loss total of (pid, source name), or UINT64_MAX when absent. */
static uint64_t loss_of(struct trace_session *s, uint32_t pid, const char *source)
{
	for (size_t i = 0; i < trace_session_loss_count(s); i++) {
		const struct trace_loss *l = trace_session_loss(s, i);
		if (l->pid == pid && !strcmp(trace_session_string(s, l->source, NULL), source))
			return l->count;
	}
	return UINT64_MAX;
}

/* A process's ring: HELLO, a string "n" (collector id 1) and a thread track
 * (collector id 1), then one event. */
static struct ring *start_proc(struct fix *f, uint32_t pid, size_t size, struct capture_proc **pp)
{
	struct ring *r = test_ring(size);
	struct capture_proc *p = capture_drain_attach(f->d, pid, 1, r);
	if (pp)
		*pp = p;
	put_hello(r, pid);
	put_string(r, 1, "n");
	put_track(r, 1, pid);
	put_event(r, 1, 1, 10);
	return r;
}

/* Polls the drain until `events` events arrived or about `ms` passed;
 * returns the events. (A wait for a condition, not a timing check.) */
static uint64_t poll_until(struct fix *f, uint64_t events, unsigned ms)
{
	for (unsigned i = 0; i < ms; i++) {
		capture_drain_poll(f->d, SIZE_MAX);
		if (capture_drain_stats(f->d)->events >= events)
			break;
		test_sleep_ms(1);
	}
	return capture_drain_stats(f->d)->events;
}

/* Before the bound the records behind a torn one wait; after it they are
 * delivered, definitions behind the tear included, and the loss counted. */
static void test_drain_bound(void **state)
{
	(void)state;
	uint32_t pid = (uint32_t)getpid(); /* a process that runs: not stopped */
	struct fix f;
	fix_init(&f, 60000);
	struct ring *r = start_proc(&f, pid, 64u * 1024u, NULL);
	tear_event(r);
	put_string(r, 2, "after");
	put_event(r, 1, 2, 20);
	put_event(r, 1, 2, 30);
	for (int i = 0; i < 5; i++) {
		capture_drain_poll(f.d, SIZE_MAX);
		test_sleep_ms(2);
	}
	/* A minute's bound cannot have passed. */
	assert_int_equal(capture_drain_stats(f.d)->events, 1);
	assert_int_equal(loss_of(f.s, pid, "torn"), UINT64_MAX);
	assert_int_equal(f.log.n, 0);
	fix_done(&f);

	/* A 20 ms bound: the records behind arrive once 20 ms of drain time
	 * has passed. */
	fix_init(&f, 20);
	r = start_proc(&f, pid, 64u * 1024u, NULL);
	tear_event(r);
	put_string(r, 2, "after");
	put_event(r, 1, 2, 20);
	put_event(r, 1, 2, 30);
	capture_drain_poll(f.d, SIZE_MAX);
	assert_int_equal(capture_drain_stats(f.d)->events, 1);
	assert_int_equal(poll_until(&f, 3, 10000), 3);
	const struct capture_drain_stats *st = capture_drain_stats(f.d);
	assert_int_equal(st->torn_records, 1);
	assert_int_equal(st->dropped_records, 0);
	assert_int_equal(loss_of(f.s, pid, "torn"), 1);
	assert_int_equal(trace_session_lost_total(f.s), 1);
	assert_int_equal(f.log.n, 1);
	assert_non_null(strstr(f.log.msg, "half-written"));
	/* The records behind it are whole: their names resolved. */
	size_t n = 0;
	const struct trace_event *ev = NULL;
	for (uint32_t id = 1; id < trace_session_track_count(f.s); id++)
		if (trace_session_track_info(f.s, id)->pid == pid)
			ev = trace_session_track_events(f.s, id, &n);
	assert_int_equal(n, 3);
	assert_string_equal(trace_session_string(f.s, ev[2].name, NULL), "after");
	/* The ring goes on. */
	put_event(r, 1, 1, 40);
	assert_int_equal(poll_until(&f, 4, 1000), 4);
	assert_int_equal(capture_drain_stats(f.d)->torn_records, 1);
	fix_done(&f);
}

/* A stopped process keeps its pending record however long it waits; once
 * it runs again, the bound applies. */
static void test_drain_stopped(void **state)
{
	(void)state;
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		for (;;)
			pause();
	}
	assert_int_equal(kill(child, SIGSTOP), 0);
	int status;
	assert_int_equal(waitpid(child, &status, WUNTRACED), child);
	assert_true(WIFSTOPPED(status));

	struct fix f;
	fix_init(&f, 5);
	struct ring *r = start_proc(&f, (uint32_t)child, 64u * 1024u, NULL);
	tear_event(r);
	put_event(r, 1, 1, 20);
	for (int i = 0; i < 20; i++) {
		capture_drain_poll(f.d, SIZE_MAX);
		test_sleep_ms(2);
	}
	/* 40 ms past a 5 ms bound, but the process is stopped. */
	assert_int_equal(capture_drain_stats(f.d)->events, 1);
	assert_int_equal(capture_drain_stats(f.d)->torn_records, 0);

	assert_int_equal(kill(child, SIGCONT), 0);
	assert_int_equal(poll_until(&f, 2, 10000), 2);
	assert_int_equal(loss_of(f.s, (uint32_t)child, "torn"), 1);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	fix_done(&f);
}

/* The process has gone: its torn records are skipped at once when its
 * socket closes, and what was committed behind them is read. */
static void test_drain_close(void **state)
{
	(void)state;
	struct fix f;
	fix_init(&f, 60000);
	struct capture_proc *p;
	struct ring *r = start_proc(&f, 4321, 64u * 1024u, &p);
	tear_event(r);
	put_event(r, 1, 1, 20);
	tear_event(r);
	tear_event(r);
	put_event(r, 1, 1, 30);
	tear_event(r); /* the last: nothing behind it */
	capture_drain_poll(f.d, SIZE_MAX);
	assert_int_equal(capture_drain_stats(f.d)->events, 1);
	capture_drain_close(f.d, p, 100, false, 0);
	const struct capture_drain_stats *st = capture_drain_stats(f.d);
	assert_int_equal(st->events, 3);
	assert_int_equal(st->torn_records, 3);
	assert_int_equal(st->stalled_rings, 1);
	assert_int_equal(loss_of(f.s, 4321, "torn"), 3);
	assert_int_equal(f.log.n, 2);
	assert_non_null(strstr(f.log.msg, "could not be read"));
	fix_done(&f);
}

/* Producer threads of one process: one exits in the middle of a record,
 * the others go on writing; everything they committed is delivered. */
struct test_producer {
	struct ring *r;
	int index;
	int count;
	int failed; /* reservations refused (the ring is sized for none) */
};

static _Atomic int test_torn_done; /* thread 0 has torn its record */

static void *test_producer_main(void *arg)
{
	struct test_producer *t = arg;
	for (int i = 0; i < t->count; i++) {
		if (t->index == 0 && i == t->count / 2) {
			tear_event(t->r);
			atomic_store(&test_torn_done, 1);
			pthread_exit(NULL); /* killed mid-record */
		}
		/* The others write half before the tear and half after it, so
		 * that records lie behind it whatever the scheduling. */
		while (t->index != 0 && i == t->count / 2 && !atomic_load(&test_torn_done))
			sched_yield();
		struct trace_event ev = range_ev(1, 1, 100 + i);
		uint8_t *p = ring_reserve(t->r, (uint32_t)(sizeof(struct proto_header) + sizeof(ev)));
		if (!p) {
			t->failed++;
			continue;
		}
		struct proto_header h = {.type = PROTO_EVENT};
		memcpy(p, &h, sizeof(h));
		memcpy(p + sizeof(h), &ev, sizeof(ev));
		ring_commit(t->r, p);
	}
	return NULL;
}

static void test_drain_thread_dies(void **state)
{
	(void)state;
	uint32_t pid = (uint32_t)getpid();
	struct fix f;
	fix_init(&f, 10);
	enum { THREADS = 3, EACH = 20000 };
	struct ring *r = start_proc(&f, pid, 4u << 20, NULL); /* room for every event */
	capture_drain_poll(f.d, SIZE_MAX);
	struct test_producer t[THREADS];
	pthread_t th[THREADS];
	atomic_store(&test_torn_done, 0);
	for (int i = 0; i < THREADS; i++) {
		t[i] = (struct test_producer){.r = r, .index = i, .count = EACH};
		assert_int_equal(pthread_create(&th[i], NULL, test_producer_main, &t[i]), 0);
	}
	/* Drain while they run. */
	uint64_t want = 1 + EACH / 2 + (THREADS - 1) * (uint64_t)EACH;
	for (int i = 0; i < 1000 && capture_drain_stats(f.d)->events < want; i++)
		capture_drain_poll(f.d, SIZE_MAX);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].failed, 0);
	}
	assert_int_equal(poll_until(&f, want, 10000), want);
	assert_int_equal(capture_drain_stats(f.d)->torn_records, 1);
	assert_int_equal(capture_drain_stats(f.d)->dropped_records, 0);
	assert_int_equal(loss_of(f.s, pid, "ring"), UINT64_MAX);
	assert_int_equal(loss_of(f.s, pid, "torn"), 1);
	fix_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_skip_written),      cmocka_unit_test(test_skip_unwritten),
	    cmocka_unit_test(test_no_false_boundary), cmocka_unit_test(test_skip_chain),
	    cmocka_unit_test(test_skip_wrap),         cmocka_unit_test(test_late_writer),

	    cmocka_unit_test(test_drain_bound),       cmocka_unit_test(test_drain_stopped),
	    cmocka_unit_test(test_drain_close),       cmocka_unit_test(test_drain_thread_dies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
