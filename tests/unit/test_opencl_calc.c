/*
 * test_opencl_calc.c - the OpenCL backend's pure arithmetic
 * (capture/inject/opencl_calc.h): launch configurations from NDRange sizes
 * (known and unknown local sizes, partial work-groups, 1 to 3 dimensions,
 * bad dimensions, 32-bit saturation, tasks), rectangle byte counts
 * (saturating), and the device clock offset: a bracketed timer reading,
 * intersection of QUEUED observations, following a drift without growing
 * the error, the converted time of a command never preceding its own
 * enqueue call, clamping, and unrepresentable readings refused; placing an
 * in-order queue's commands (the offset never going down, the shift right
 * after the previous command when the interval moved below it, durations
 * kept, ordered and non-overlapping times over a long sequence whose middle
 * moves back and forth), and the chain that places them in enqueue order
 * whatever order their times arrive in (waiting, dropped commands,
 * out-of-order queues).
 *
 * opencl_calc.c belongs to libtstop-inject.so, not to the core library the
 * tests link, so it is compiled into this test directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "capture/inject/opencl_calc.c"

static void test_ndrange_local_known(void **state)
{
	(void)state;
	struct trace_launch l;
	size_t global[2] = {1000, 64}, local[2] = {64, 8};
	ocl_calc_ndrange(2, global, local, &l);
	/* 1000 / 64 rounds up: a last, partial work-group. */
	assert_int_equal(l.grid[0], 16);
	assert_int_equal(l.grid[1], 8);
	assert_int_equal(l.grid[2], 1);
	assert_int_equal(l.block[0], 64);
	assert_int_equal(l.block[1], 8);
	assert_int_equal(l.block[2], 1);
	assert_int_equal(l.registers, 0);
	assert_int_equal(l.static_smem, 0);
	assert_int_equal(l.dynamic_smem, 0);
	assert_int_equal(l.cluster[0], 0);

	size_t g3[3] = {256, 4, 2}, l3[3] = {128, 2, 2};
	ocl_calc_ndrange(3, g3, l3, &l);
	assert_int_equal(l.grid[0], 2);
	assert_int_equal(l.grid[1], 2);
	assert_int_equal(l.grid[2], 1);
	assert_int_equal(l.block[2], 2);
}

static void test_ndrange_local_unknown(void **state)
{
	(void)state;
	struct trace_launch l;
	size_t global[1] = {65536};
	ocl_calc_ndrange(1, global, NULL, &l);
	assert_int_equal(l.grid[0], 65536);
	assert_int_equal(l.grid[1], 1);
	assert_int_equal(l.grid[2], 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(l.block[i], 0);
	/* A zero in the local size is as good as none. */
	size_t g2[2] = {10, 20}, l2[2] = {5, 0};
	ocl_calc_ndrange(2, g2, l2, &l);
	assert_int_equal(l.grid[0], 10);
	assert_int_equal(l.grid[1], 20);
	assert_int_equal(l.block[0], 0);
	assert_int_equal(l.block[1], 0);
	assert_int_equal(l.block[2], 0);
}

static void test_ndrange_bad_and_huge(void **state)
{
	(void)state;
	struct trace_launch l, zero;
	memset(&zero, 0, sizeof(zero));
	size_t global[3] = {1, 1, 1};
	ocl_calc_ndrange(0, global, NULL, &l);
	assert_memory_equal(&l, &zero, sizeof(l));
	ocl_calc_ndrange(4, global, NULL, &l);
	assert_memory_equal(&l, &zero, sizeof(l));
	ocl_calc_ndrange(1, NULL, NULL, &l);
	assert_memory_equal(&l, &zero, sizeof(l));
	if (sizeof(size_t) > 4) {
		size_t big[1] = {(size_t)UINT32_MAX * 4}, one[1] = {1};
		ocl_calc_ndrange(1, big, NULL, &l);
		assert_int_equal(l.grid[0], UINT32_MAX);
		ocl_calc_ndrange(1, big, one, &l);
		assert_int_equal(l.grid[0], UINT32_MAX);
		assert_int_equal(l.block[0], 1);
	}
	ocl_calc_task(&l);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(l.grid[i], 1);
		assert_int_equal(l.block[i], 1);
	}
}

static void test_rect_bytes(void **state)
{
	(void)state;
	size_t r[3] = {64, 8, 2};
	assert_int_equal(ocl_calc_rect_bytes(r), 1024);
	size_t z[3] = {64, 0, 2};
	assert_int_equal(ocl_calc_rect_bytes(z), 0);
	assert_int_equal(ocl_calc_rect_bytes(NULL), 0);
	size_t huge[3] = {SIZE_MAX, SIZE_MAX, 2};
	assert_true(ocl_calc_rect_bytes(huge) == UINT64_MAX);
}

static void test_offset_unknown(void **state)
{
	(void)state;
	struct ocl_offset o;
	memset(&o, 0, sizeof(o));
	assert_int_equal(ocl_offset_apply(&o, 1234), 1234);
	assert_true(ocl_offset_error(&o) == INT64_MAX);
}

static void test_offset_timer(void **state)
{
	(void)state;
	struct ocl_offset o;
	memset(&o, 0, sizeof(o));
	/* Device time 500 read between session times 10000 and 10010. */
	assert_true(ocl_offset_set(&o, 10000, 10010, 500));
	assert_int_equal(o.lo, 9500);
	assert_int_equal(o.hi, 9510);
	assert_int_equal(ocl_offset_apply(&o, 600), 10105);
	assert_int_equal(ocl_offset_error(&o), 5);
	/* A later reading replaces it. */
	assert_true(ocl_offset_set(&o, 20000, 20002, 1000));
	assert_int_equal(ocl_offset_apply(&o, 1000), 20001);
	/* Unrepresentable readings change nothing. */
	assert_false(ocl_offset_set(&o, 5, 4, 1));
	assert_false(ocl_offset_set(&o, 0, 1, (uint64_t)INT64_MAX + 1));
	assert_false(ocl_offset_set(&o, INT64_MIN, INT64_MIN, 1000));
	assert_int_equal(o.lo, 19000);
	assert_int_equal(o.hi, 19002);
}

static void test_offset_queued_narrows(void **state)
{
	(void)state;
	struct ocl_offset o;
	memset(&o, 0, sizeof(o));
	/* True offset 1000: each QUEUED time lies within its call. */
	assert_true(ocl_offset_observe(&o, 2000, 2100, 1050)); /* [950, 1050] */
	assert_true(ocl_offset_observe(&o, 5000, 5030, 4000)); /* [1000, 1030] */
	assert_true(ocl_offset_observe(&o, 8000, 8200, 6990)); /* [1010, 1210] */
	assert_int_equal(o.lo, 1010);
	assert_int_equal(o.hi, 1030);
	assert_int_equal(o.shifts, 0);
	assert_int_equal(ocl_offset_error(&o), 10);
	assert_int_equal(ocl_offset_apply(&o, 7000), 8020);
	/* A command converted right after its own observation never starts
	 * before its enqueue call began. */
	assert_true(ocl_offset_observe(&o, 9000, 9004, 7990)); /* [1010, 1014] */
	assert_true(ocl_offset_apply(&o, 7990) >= 9000);
	assert_true(ocl_offset_apply(&o, 7990) <= 9004);
}

static void test_offset_drift(void **state)
{
	(void)state;
	struct ocl_offset o;
	memset(&o, 0, sizeof(o));
	assert_true(ocl_offset_observe(&o, 1000, 1010, 0)); /* [1000, 1010] */
	/* The offset moved up: the new interval is the observation's part
	 * nearest the old one, no wider than it. */
	assert_true(ocl_offset_observe(&o, 2100, 2400, 1000)); /* [1100, 1400] */
	assert_int_equal(o.shifts, 1);
	assert_int_equal(o.lo, 1100);
	assert_int_equal(o.hi, 1110);
	/* And down, with a narrower observation than the interval. */
	assert_true(ocl_offset_observe(&o, 3050, 3052, 2000)); /* [1050, 1052] */
	assert_int_equal(o.shifts, 2);
	assert_int_equal(o.lo, 1050);
	assert_int_equal(o.hi, 1052);
	assert_true(ocl_offset_observe(&o, 4000, 4100, 3000)); /* [1000, 1100]: meets */
	assert_int_equal(o.lo, 1050);
	assert_int_equal(o.hi, 1052);
	assert_int_equal(o.shifts, 2);
	/* Down past it with a wide observation: its top part is kept. */
	assert_true(ocl_offset_observe(&o, 4000, 4040, 3100)); /* [900, 940] */
	assert_int_equal(o.lo, 938);
	assert_int_equal(o.hi, 940);
	assert_false(ocl_offset_observe(&o, 10, 5, 1));
	assert_int_equal(o.lo, 938);
}

static void test_offset_clamps(void **state)
{
	(void)state;
	struct ocl_offset o;
	memset(&o, 0, sizeof(o));
	assert_true(ocl_offset_set(&o, 0, 0, 1000000)); /* offset -1000000 */
	assert_int_equal(ocl_offset_apply(&o, 10), 0);
	assert_true(ocl_offset_set(&o, INT64_MAX, INT64_MAX, 0));
	assert_true(ocl_offset_apply(&o, 1000) == INT64_MAX);
	assert_true(ocl_offset_apply(&o, UINT64_MAX) == INT64_MAX);
}

/* A command of device times start..end, its enqueue call bracketed by
 * session times t0..t1 with QUEUED time q. */
static struct ocl_cmd cmd_at(int64_t t0, int64_t t1, uint64_t q, uint64_t start, uint64_t end)
{
	struct ocl_cmd c;
	memset(&c, 0, sizeof(c));
	c.host_start = t0;
	c.host_end = t1;
	c.queued = q;
	c.start = start;
	c.end = end;
	return c;
}

static void test_place_middle_backwards(void **state)
{
	(void)state;
	struct ocl_offset o;
	struct ocl_order q;
	memset(&o, 0, sizeof(o));
	memset(&q, 0, sizeof(q));
	int64_t s, e;
	/* A slow first enqueue call: offset in [1000, 2000], middle 1500. */
	assert_true(ocl_offset_observe(&o, 1000, 2000, 0));
	assert_false(ocl_offset_place(&o, &q, 100, 200, &s, &e));
	assert_int_equal(s, 1600);
	assert_int_equal(e, 1700);
	assert_int_equal(q.off, 1500);
	/* A quick one narrows it to [1000, 1100]: the middle (1050) moved
	 * back by 450, more than the device gap (50) between the commands.
	 * The middle alone would start the next command before the first
	 * ended. */
	assert_true(ocl_offset_observe(&o, 1250, 1350, 250));
	assert_int_equal(o.lo, 1000);
	assert_int_equal(o.hi, 1100);
	assert_true(ocl_offset_apply(&o, 250) < 1700);
	/* Placed: the offset clamps to hi (1100), still too early, so the
	 * command starts when the first ended, its duration kept. */
	assert_true(ocl_offset_place(&o, &q, 250, 300, &s, &e));
	assert_int_equal(s, 1700);
	assert_int_equal(e, 1750);
	assert_int_equal(q.shifts, 1);
	assert_int_equal(q.off, 1100);
	/* After a long enough device gap, within the interval again: at hi,
	 * since the offset used never goes down (max(middle, 1100) = 1100). */
	assert_false(ocl_offset_place(&o, &q, 1000, 1100, &s, &e));
	assert_int_equal(s, 2100);
	assert_int_equal(e, 2200);
	/* The interval moves up (drift): the middle is followed. */
	assert_true(ocl_offset_observe(&o, 6000, 6010, 3000)); /* [3000, 3010] */
	assert_false(ocl_offset_place(&o, &q, 3000, 3001, &s, &e));
	assert_int_equal(s, 6005);
	assert_int_equal(e, 6006);
	assert_int_equal(q.shifts, 1);
	/* Never before the enqueue call: start >= QUEUED + lo >= t0. */
	assert_true(ocl_offset_observe(&o, 7000, 7004, 3995)); /* [3005, 3009] */
	assert_false(ocl_offset_place(&o, &q, 3995, 4000, &s, &e));
	assert_true(s >= 7000 && s <= 7004);
	/* An end before the start counts as a zero duration. */
	assert_false(ocl_offset_place(&o, &q, 5000, 4000, &s, &e));
	assert_int_equal(e, s);
}

static void test_place_sequence(void **state)
{
	(void)state;
	/* A true offset drifting up and down (a triangle of +-64 us); every
	 * 500 commands a wide timer reading replaces the interval, which the
	 * QUEUED times of enqueue calls of random length (a few very slow)
	 * then narrow again; commands back to back or with random gaps. */
	struct ocl_offset o;
	struct ocl_order q;
	memset(&o, 0, sizeof(o));
	memset(&q, 0, sizeof(q));
	uint64_t rng = 42;
	uint64_t dev = 5000;
	int64_t prev_end = -1, prev_mid = 0;
	unsigned backwards = 0, reordered = 0;
	uint32_t shifts = 0;
	for (int i = 0; i < 20000; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t r = rng >> 16;
		int64_t phase = i % 4096;
		int64_t true_off = 1000000 + 32 * (phase < 2048 ? phase - 1024 : 3072 - phase);
		if (i % 500 == 0) {
			int64_t w = 200000, at = (int64_t)(r % 200001);
			assert_true(ocl_offset_set(&o, (int64_t)dev + true_off - at,
			                           (int64_t)dev + true_off - at + w, dev));
		}
		uint64_t call = (r % 97 == 0) ? 200000 + r % 300000 : 200 + r % 3000;
		uint64_t into = (r >> 20) % (call + 1);
		uint64_t queued = dev;
		int64_t t0 = (int64_t)queued + true_off - (int64_t)into;
		assert_true(ocl_offset_observe(&o, t0, t0 + (int64_t)call, queued));
		int64_t mid = o.lo + (o.hi - o.lo) / 2;
		backwards += i > 0 && mid < prev_mid;
		prev_mid = mid;
		uint64_t start = queued + (r >> 8) % 500, end = start + 1 + (r >> 12) % 5000;
		reordered += prev_end >= 0 && ocl_offset_apply(&o, start) < prev_end;
		int64_t s, e;
		bool shifted = ocl_offset_place(&o, &q, start, end, &s, &e);
		/* Ordered, not overlapping, durations kept. */
		assert_true(s >= prev_end);
		assert_int_equal(e - s, (int64_t)(end - start));
		/* Never earlier than the interval allows (so never before the
		 * enqueue call), within it unless shifted, and a shift starts
		 * exactly at the previous end. */
		assert_true(s >= (int64_t)start + o.lo);
		assert_true(s >= t0);
		if (shifted)
			assert_int_equal(s, prev_end);
		else
			assert_true(s <= (int64_t)start + o.hi);
		assert_true(q.off >= o.lo && q.off <= o.hi);
		shifts += shifted;
		prev_end = e;
		dev = end + ((r >> 24) % 4 == 0 ? 0 : (r >> 28) % 20000);
	}
	assert_int_equal(q.shifts, shifts);
	/* The sequence did exercise what it is about. */
	assert_true(backwards > 100);
	assert_true(reordered > 10);
	assert_true(shifts > 10);
}

static void test_place_clamps(void **state)
{
	(void)state;
	struct ocl_offset o;
	struct ocl_order q;
	memset(&o, 0, sizeof(o));
	memset(&q, 0, sizeof(q));
	int64_t s, e;
	/* Nothing known: offset 0. */
	assert_false(ocl_offset_place(&o, &q, 10, 20, &s, &e));
	assert_int_equal(s, 10);
	assert_int_equal(e, 20);
	assert_true(ocl_offset_set(&o, 0, 0, 1000000)); /* offset -1000000 */
	memset(&q, 0, sizeof(q));
	assert_false(ocl_offset_place(&o, &q, 10, 20, &s, &e));
	assert_int_equal(s, 0);
	assert_int_equal(e, 10);
	assert_true(ocl_offset_set(&o, INT64_MAX, INT64_MAX, 0));
	memset(&q, 0, sizeof(q));
	assert_false(ocl_offset_place(&o, &q, 0, UINT64_MAX, &s, &e));
	assert_true(s == INT64_MAX && e == INT64_MAX);
	/* A shift to the previous end saturates too. */
	assert_true(ocl_offset_set(&o, 0, 0, 0));
	assert_true(ocl_offset_place(&o, &q, 5, 10, &s, &e));
	assert_true(s == INT64_MAX && e == INT64_MAX);
}

static void test_chain_order(void **state)
{
	(void)state;
	struct ocl_offset o;
	struct ocl_chain ch;
	memset(&o, 0, sizeof(o));
	memset(&ch, 0, sizeof(ch));
	/* Three commands of an in-order queue; the first enqueue call slow. */
	struct ocl_cmd a = cmd_at(1010, 2010, 10, 10, 110);
	struct ocl_cmd b = cmd_at(2100, 2110, 1100, 1100, 1200);
	struct ocl_cmd c = cmd_at(2200, 2210, 1200, 1200, 1300);
	ocl_chain_enter(&ch, &a);
	ocl_chain_enter(&ch, &b);
	ocl_chain_enter(&ch, &c);
	assert_int_equal(a.state, OCL_CMD_WAIT);
	/* c's times arrive first: it waits, and nothing is learned yet. */
	assert_null(ocl_chain_ready(&ch, &o, true, &c, true));
	assert_int_equal(c.state, OCL_CMD_TIMED);
	assert_false(o.valid);
	/* a alone. */
	struct ocl_cmd *l = ocl_chain_ready(&ch, &o, true, &a, true);
	assert_ptr_equal(l, &a);
	assert_null(a.next);
	assert_int_equal(a.state, OCL_CMD_PLACED);
	assert_int_equal(a.out_start, 1510); /* offset [1000, 2000], middle 1500 */
	/* b brings c along, in order, each observed in turn. */
	l = ocl_chain_ready(&ch, &o, true, &b, true);
	assert_ptr_equal(l, &b);
	assert_ptr_equal(b.next, &c);
	assert_null(c.next);
	assert_null(ch.head);
	assert_null(ch.tail);
	assert_int_equal(o.lo, 1000);
	assert_int_equal(o.hi, 1010);
	assert_true(b.out_start >= a.out_end);
	assert_true(c.out_start >= b.out_end);
	assert_int_equal(b.out_end - b.out_start, 100);
	assert_int_equal(c.out_end - c.out_start, 100);
	assert_false(a.linked || b.linked || c.linked);
	/* The chain goes on: a later command alone. */
	struct ocl_cmd d = cmd_at(3000, 3005, 2000, 2000, 2010);
	ocl_chain_enter(&ch, &d);
	assert_ptr_equal(ocl_chain_ready(&ch, &o, true, &d, true), &d);
	assert_true(d.out_start >= c.out_end);
	assert_true(d.out_start >= 3000);
}

static void test_chain_drop(void **state)
{
	(void)state;
	struct ocl_offset o;
	struct ocl_chain ch;
	memset(&o, 0, sizeof(o));
	memset(&ch, 0, sizeof(ch));
	assert_true(ocl_offset_set(&o, 1000, 1000, 0));
	struct ocl_cmd a = cmd_at(0, 0, 0, 0, 0), b = cmd_at(0, 0, 0, 100, 200),
	               c = cmd_at(0, 0, 0, 300, 400);
	ocl_chain_enter(&ch, &a);
	ocl_chain_enter(&ch, &b);
	ocl_chain_enter(&ch, &c);
	assert_null(ocl_chain_ready(&ch, &o, false, &b, true));
	/* a never completed (the end of a session): dropped, and b follows. */
	struct ocl_cmd *l = ocl_chain_ready(&ch, &o, false, &a, false);
	assert_ptr_equal(l, &a);
	assert_ptr_equal(a.next, &b);
	assert_null(b.next);
	assert_int_equal(a.state, OCL_CMD_DROPPED);
	assert_int_equal(b.state, OCL_CMD_PLACED);
	assert_int_equal(b.out_start, 1100);
	assert_int_equal(ch.head, &c);
	/* A dropped command alone leaves the order as it was. */
	assert_ptr_equal(ocl_chain_ready(&ch, &o, false, &c, false), &c);
	assert_int_equal(c.state, OCL_CMD_DROPPED);
	assert_int_equal(ch.order.end, 1200);
	assert_null(ch.head);
}

static void test_chain_unordered(void **state)
{
	(void)state;
	struct ocl_offset o;
	memset(&o, 0, sizeof(o));
	/* An out-of-order queue: each command placed as it comes, with the
	 * middle, even when that puts a later one first. */
	struct ocl_cmd a = cmd_at(1100, 2100, 100, 100, 200);
	assert_ptr_equal(ocl_chain_ready(NULL, &o, true, &a, true), &a);
	assert_int_equal(a.out_start, 1600);
	struct ocl_cmd b = cmd_at(1250, 1260, 250, 250, 300);
	assert_ptr_equal(ocl_chain_ready(NULL, &o, true, &b, true), &b);
	assert_int_equal(b.out_start, 1255);
	assert_true(b.out_start < a.out_end);
	/* A command not in its chain (an inherited one after fork) is
	 * placed alone, with the queue's order. */
	struct ocl_chain ch;
	memset(&ch, 0, sizeof(ch));
	struct ocl_cmd c = cmd_at(1300, 1310, 300, 300, 400), d = cmd_at(0, 0, 0, 0, 0);
	ocl_chain_enter(&ch, &d);
	assert_ptr_equal(ocl_chain_ready(&ch, &o, true, &c, true), &c);
	assert_true(ch.order.valid);
	assert_ptr_equal(ch.head, &d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ndrange_local_known),   cmocka_unit_test(test_ndrange_local_unknown),
	    cmocka_unit_test(test_ndrange_bad_and_huge),  cmocka_unit_test(test_rect_bytes),
	    cmocka_unit_test(test_offset_unknown),        cmocka_unit_test(test_offset_timer),
	    cmocka_unit_test(test_offset_queued_narrows), cmocka_unit_test(test_offset_drift),
	    cmocka_unit_test(test_offset_clamps),         cmocka_unit_test(test_place_middle_backwards),
	    cmocka_unit_test(test_place_sequence),        cmocka_unit_test(test_place_clamps),
	    cmocka_unit_test(test_chain_order),           cmocka_unit_test(test_chain_drop),
	    cmocka_unit_test(test_chain_unordered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
