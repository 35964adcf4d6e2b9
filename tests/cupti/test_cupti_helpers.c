/*
 * test_cupti_helpers.c - the CUPTI backend's pure parts: the correlation
 * map, the roles and names of API calls, the buffer pool.
 *
 * These modules are part of libtstop-inject.so, not of the core library the
 * tests link, so their sources are compiled into this test. Callback ids
 * and names are CUPTI's own (cupti_runtime_cbid.h, cupti_driver_cbid.h; the
 * names as cuptiGetCallbackName of CUDA 13.0 returns them).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <cupti_callbacks.h>
#include <cupti_driver_cbid.h>
#include <cupti_runtime_cbid.h>

#include "capture/inject/cupti_api.c"
#include "capture/inject/cupti_corr.c"
#include "capture/inject/cupti_pool.c"

static struct cupti_corr_map test_map;

/* Stored values come back; absent and id 0 read as absent. */
static void test_corr_basic(void **state)
{
	uint32_t v = 77;

	memset(&test_map, 0, sizeof(test_map));
	assert_false(cupti_corr_get(&test_map, 5, &v));
	assert_int_equal(v, 77); /* untouched on a miss */
	cupti_corr_put(&test_map, 5, 1234);
	cupti_corr_put(&test_map, 6, 0);
	assert_true(cupti_corr_get(&test_map, 5, &v));
	assert_int_equal(v, 1234);
	assert_true(cupti_corr_get(&test_map, 6, &v));
	assert_int_equal(v, 0);
	cupti_corr_put(&test_map, 0, 9);
	assert_false(cupti_corr_get(&test_map, 0, &v));
	cupti_corr_put(&test_map, 5, 0xffffffffu);
	assert_true(cupti_corr_get(&test_map, 5, &v));
	assert_int_equal(v, 0xffffffffu);
}

/* An id CUPTI_CORR_SLOTS later takes the slot: the older one then reads as
 * absent, never as the newer one's value. */
static void test_corr_overwrite(void **state)
{
	uint32_t v = 0;

	memset(&test_map, 0, sizeof(test_map));
	cupti_corr_put(&test_map, 10, 1);
	cupti_corr_put(&test_map, 10 + CUPTI_CORR_SLOTS, 2);
	assert_false(cupti_corr_get(&test_map, 10, &v));
	assert_true(cupti_corr_get(&test_map, 10 + CUPTI_CORR_SLOTS, &v));
	assert_int_equal(v, 2);
	/* A full round of ids: each readable right after it is written, and
	 * the last CUPTI_CORR_SLOTS all readable at the end. */
	for (uint32_t c = 1; c <= 3 * CUPTI_CORR_SLOTS; c++) {
		cupti_corr_put(&test_map, c, c * 3);
		assert_true(cupti_corr_get(&test_map, c, &v));
		assert_int_equal(v, c * 3);
	}
	for (uint32_t c = 2 * CUPTI_CORR_SLOTS + 1; c <= 3 * CUPTI_CORR_SLOTS; c++) {
		assert_true(cupti_corr_get(&test_map, c, &v));
		assert_int_equal(v, c * 3);
	}
	assert_false(cupti_corr_get(&test_map, CUPTI_CORR_SLOTS, &v));
	/* The largest id works too. */
	cupti_corr_put(&test_map, UINT32_MAX, 42);
	assert_true(cupti_corr_get(&test_map, UINT32_MAX, &v));
	assert_int_equal(v, 42);
}

/* Writers on several threads, each with its own ids: every value read
 * back is the one written for that id (no torn or mixed slot). */
struct corr_writer {
	uint32_t first, count, bad;
};

static void *corr_writer_main(void *arg)
{
	struct corr_writer *w = arg;
	for (uint32_t i = 0; i < w->count; i++) {
		uint32_t c = w->first + i * 4, v = 0;
		cupti_corr_put(&test_map, c, c ^ 0x5a5a5a5au);
		if (cupti_corr_get(&test_map, c, &v) && v != (c ^ 0x5a5a5a5au))
			w->bad++;
	}
	return NULL;
}

static void test_corr_threads(void **state)
{
	pthread_t t[4];
	struct corr_writer w[4];

	memset(&test_map, 0, sizeof(test_map));
	for (int i = 0; i < 4; i++) {
		w[i] = (struct corr_writer){.first = (uint32_t)i + 1, .count = 200000, .bad = 0};
		assert_int_equal(pthread_create(&t[i], NULL, corr_writer_main, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	/* Whatever each slot holds now is a consistent (id, value) pair. */
	for (uint32_t s = 0; s < CUPTI_CORR_SLOTS; s++) {
		uint64_t raw = atomic_load(&test_map.slot[s]);
		uint32_t c = (uint32_t)(raw >> 32);
		if (c)
			assert_int_equal((uint32_t)raw, c ^ 0x5a5a5a5au);
	}
}

/* Roles of real callback ids and names. */
static void test_api_roles(void **state)
{
	const uint32_t rt = CUPTI_CB_DOMAIN_RUNTIME_API, drv = CUPTI_CB_DOMAIN_DRIVER_API;

	assert_int_equal(
	    cupti_api_role(rt, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, "cudaLaunchKernel_v7000"),
	    CUPTI_ROLE_STACK);
	assert_int_equal(cupti_api_role(rt, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_ptsz_v7000,
	                                "cudaLaunchKernel_ptsz_v7000"),
	                 CUPTI_ROLE_STACK);
	assert_int_equal(cupti_api_role(rt, CUPTI_RUNTIME_TRACE_CBID___cudaLaunchKernel_v13000,
	                                "__cudaLaunchKernel_v13000"),
	                 CUPTI_ROLE_STACK);
	assert_int_equal(
	    cupti_api_role(rt, CUPTI_RUNTIME_TRACE_CBID_cudaGraphLaunch_v10000, "cudaGraphLaunch_v10000"),
	    CUPTI_ROLE_STACK);
	assert_int_equal(
	    cupti_api_role(rt, CUPTI_RUNTIME_TRACE_CBID_cudaMemcpyAsync_v3020, "cudaMemcpyAsync_v3020"),
	    CUPTI_ROLE_STACK);
	assert_int_equal(
	    cupti_api_role(rt, CUPTI_RUNTIME_TRACE_CBID_cudaMemsetAsync_v3020, "cudaMemsetAsync_v3020"),
	    CUPTI_ROLE_STACK);
	assert_int_equal(cupti_api_role(rt, CUPTI_RUNTIME_TRACE_CBID_cudaMalloc_v3020, "cudaMalloc_v3020"),
	                 CUPTI_ROLE_THREAD);
	assert_int_equal(
	    cupti_api_role(rt, CUPTI_RUNTIME_TRACE_CBID_cudaFreeAsync_v11020, "cudaFreeAsync_v11020"),
	    CUPTI_ROLE_THREAD);
	assert_int_equal(cupti_api_role(rt, CUPTI_RUNTIME_TRACE_CBID_cudaDeviceSynchronize_v3020,
	                                "cudaDeviceSynchronize_v3020"),
	                 CUPTI_ROLE_DEVICE_SYNC);
	assert_int_equal(cupti_api_role(rt, CUPTI_RUNTIME_TRACE_CBID_cudaThreadSynchronize_v3020,
	                                "cudaThreadSynchronize_v3020"),
	                 CUPTI_ROLE_DEVICE_SYNC);
	assert_int_equal(cupti_api_role(rt, CUPTI_RUNTIME_TRACE_CBID_cudaStreamSynchronize_v3020,
	                                "cudaStreamSynchronize_v3020"),
	                 0);
	assert_int_equal(
	    cupti_api_role(rt, CUPTI_RUNTIME_TRACE_CBID_cudaGetDevice_v3020, "cudaGetDevice_v3020"), 0);
	/* The driver domain: allocations only; its launches are not unwound
	 * (the runtime call above them already was). */
	assert_int_equal(cupti_api_role(drv, CUPTI_DRIVER_TRACE_CBID_cuMemAlloc_v2, "cuMemAlloc_v2"),
	                 CUPTI_ROLE_THREAD);
	assert_int_equal(cupti_api_role(drv, CUPTI_DRIVER_TRACE_CBID_cuMemFreeAsync, "cuMemFreeAsync"),
	                 CUPTI_ROLE_THREAD);
	assert_int_equal(cupti_api_role(drv, CUPTI_DRIVER_TRACE_CBID_cuMemCreate, "cuMemCreate"),
	                 CUPTI_ROLE_THREAD);
	assert_int_equal(cupti_api_role(drv, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel, "cuLaunchKernel"), 0);
	assert_int_equal(cupti_api_role(drv, CUPTI_DRIVER_TRACE_CBID_cuCtxSynchronize, "cuCtxSynchronize"),
	                 0);
	/* The same name in another domain, no name, another domain. */
	assert_int_equal(
	    cupti_api_role(drv, CUPTI_RUNTIME_TRACE_CBID_cudaDeviceSynchronize_v3020, "cudaMalloc"), 0);
	assert_int_equal(cupti_api_role(rt, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, NULL), 0);
	assert_int_equal(cupti_api_role(CUPTI_CB_DOMAIN_RESOURCE, 1, "cudaLaunchKernel"), 0);
}

/* Names lose CUPTI's version suffix and nothing else. */
static void test_api_names(void **state)
{
	static const struct {
		const char *in;
		size_t len;
	} cases[] = {
	    {"cudaLaunchKernel_v7000", 16},
	    {"__cudaLaunchKernel_v13000", 18},
	    {"cudaLaunchKernel_ptsz_v7000", 21},
	    {"cuLaunchKernel", 14},
	    {"cuMemAlloc_v2", 10},
	    {"cuMemcpyHtoD_v2", 12},
	    {"cudaMemcpy2D", 12}, /* digits without "_v" stay */
	    {"cuMemAlloc_v", 12}, /* "_v" without digits stays */
	    {"x_v1", 1},
	    {"_v1", 3}, /* nothing would remain */
	    {"", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t got = cupti_api_name_len(cases[i].in);
		if (got != cases[i].len)
			fail_msg("%s: %zu, want %zu", cases[i].in, got, cases[i].len);
	}
}

/* The pool lends at most `max` buffers, reuses returned ones, and sizes
 * them in whole pages, 8-byte aligned and writable. */
static void test_pool(void **state)
{
	struct cupti_pool p;
	uint8_t *b[3];

	cupti_pool_init(&p, 10000, 2);
	assert_true(p.size >= 10000 && p.size % 4096 == 0);
	b[0] = cupti_pool_get(&p);
	b[1] = cupti_pool_get(&p);
	b[2] = cupti_pool_get(&p);
	assert_non_null(b[0]);
	assert_non_null(b[1]);
	assert_null(b[2]);
	assert_true(b[0] != b[1]);
	assert_int_equal((uintptr_t)b[0] % 8, 0);
	memset(b[0], 0xab, p.size);
	memset(b[1], 0xcd, p.size);
	cupti_pool_put(&p, b[1]);
	cupti_pool_put(&p, NULL);
	b[2] = cupti_pool_get(&p);
	assert_ptr_equal(b[2], b[1]);
	assert_null(cupti_pool_get(&p));
	cupti_pool_put(&p, b[0]);
	cupti_pool_put(&p, b[2]);
	assert_int_equal(p.nfree, 2);
	cupti_pool_release(&p);
	assert_int_equal(p.mapped, 0);
	assert_int_equal(p.nfree, 0);
	/* Released, buffers are mapped again on demand. */
	b[0] = cupti_pool_get(&p);
	assert_non_null(b[0]);
	cupti_pool_put(&p, b[0]);
	cupti_pool_release(&p);

	cupti_pool_init(&p, 4096, 1000);
	assert_int_equal(p.max, CUPTI_POOL_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corr_basic),   cmocka_unit_test(test_corr_overwrite),
	    cmocka_unit_test(test_corr_threads), cmocka_unit_test(test_api_roles),
	    cmocka_unit_test(test_api_names),    cmocka_unit_test(test_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
