/*
 * test_opencl_calc.c - the OpenCL backend's pure arithmetic
 * (capture/inject/opencl_calc.h): launch configurations from NDRange sizes
 * (known and unknown local sizes, partial work-groups, 1 to 3 dimensions,
 * bad dimensions, 32-bit saturation, tasks), rectangle byte counts
 * (saturating), and the device clock offset: a bracketed timer reading,
 * intersection of QUEUED observations, following a drift without growing
 * the error, the converted time of a command never preceding its own
 * enqueue call, clamping, and unrepresentable readings refused.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ndrange_local_known),   cmocka_unit_test(test_ndrange_local_unknown),
	    cmocka_unit_test(test_ndrange_bad_and_huge),  cmocka_unit_test(test_rect_bytes),
	    cmocka_unit_test(test_offset_unknown),        cmocka_unit_test(test_offset_timer),
	    cmocka_unit_test(test_offset_queued_narrows), cmocka_unit_test(test_offset_drift),
	    cmocka_unit_test(test_offset_clamps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
