/*
 * test_cupti_decode.c - CUPTI activity records decoded into tstop events.
 *
 * Every record here is laid out with the struct the installed cupti headers
 * declare for its kind (zeroed, filled field by field, .kind set), exactly
 * as libcupti writes them into an activity buffer, then decoded; each test
 * checks every field the decoder promises for that kind, the status, and
 * that what the caller must fill (name and track ids) is left 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <cupti_callbacks.h>
#include <cupti_driver_cbid.h>
#include <cupti_runtime_cbid.h>
#include <cupti_version.h>

#include "capture/cupti/cupti_decode.h"

/* Decodes `rec` into *out after filling *out with garbage, so that fields
 * the decoder forgot to set show up as non-zero. */
static int decode(const void *rec, struct cupti_decoded *out)
{
	memset(out, 0xa5, sizeof(*out));
	return cupti_decode((const CUpti_Activity *)rec, out);
}

/* Checks what no decoded event may carry: the caller's ids. */
static void assert_caller_fields_zero(const struct cupti_decoded *d)
{
	assert_int_equal(d->ev.name, 0);
	assert_int_equal(d->ev.track, 0);
}

/* A kernel record as CUPTI writes it for a launch <<<(40,2,1),(128,2,1),
 * 2048>>> on device 1, context 3, stream 14. */
static CUpti_ActivityKernel10 make_kernel(CUpti_ActivityKind kind)
{
	CUpti_ActivityKernel10 k;

	memset(&k, 0, sizeof(k));
	k.kind = kind;
	k.registersPerThread = 38;
	k.start = 1000000;
	k.end = 1250000;
	k.completed = 1250000;
	k.deviceId = 1;
	k.contextId = 3;
	k.streamId = 14;
	k.gridX = 40;
	k.gridY = 2;
	k.gridZ = 1;
	k.blockX = 128;
	k.blockY = 2;
	k.blockZ = 1;
	k.staticSharedMemory = 4096;
	k.dynamicSharedMemory = 2048;
	k.correlationId = 77;
	k.gridId = 123456789012LL;
	k.name = "_Z5saxpyifPKfPf";
	k.clusterX = 2;
	k.clusterY = 1;
	k.clusterZ = 1;
	return k;
}

static void test_concurrent_kernel(void **state)
{
	CUpti_ActivityKernel10 k = make_kernel(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	struct cupti_decoded d;

	assert_int_equal(decode(&k, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.cupti_kind, CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	assert_int_equal(d.ev.kind, TRACE_KERNEL);
	assert_int_equal(d.ev.start, 1000000);
	assert_int_equal(d.ev.end, 1250000);
	assert_int_equal(d.ev.flags, 0);
	assert_int_equal(d.ev.sub, 0);
	assert_int_equal(d.ev.correlation, 77);
	assert_int_equal(d.ev.u.kernel.launch, 0);
	assert_caller_fields_zero(&d);
	assert_int_equal(d.owner, CUPTI_OWNER_STREAM);
	assert_true(d.has_device);
	assert_int_equal(d.device, 1);
	assert_int_equal(d.context, 3);
	assert_int_equal(d.stream, 14);
	assert_int_equal(d.pid, 0);
	assert_int_equal(d.tid, 0);
	assert_ptr_equal(d.name, k.name);
	assert_string_equal(d.name, "_Z5saxpyifPKfPf");
	assert_null(d.domain);
	assert_int_equal(d.grid_id, 123456789012LL);
	assert_int_equal(d.launch.grid[0], 40);
	assert_int_equal(d.launch.grid[1], 2);
	assert_int_equal(d.launch.grid[2], 1);
	assert_int_equal(d.launch.block[0], 128);
	assert_int_equal(d.launch.block[1], 2);
	assert_int_equal(d.launch.block[2], 1);
	assert_int_equal(d.launch.registers, 38);
	assert_int_equal(d.launch.static_smem, 4096);
	assert_int_equal(d.launch.dynamic_smem, 2048);
	assert_int_equal(d.launch.cluster[0], 2);
	assert_int_equal(d.launch.cluster[1], 1);
	assert_int_equal(d.launch.cluster[2], 1);
	assert_int_equal(d.api_domain, TRACE_API_UNKNOWN);
	assert_int_equal(d.cbid, 0);
}

/* KERNEL (serialized) records have the same struct and decode the same. */
static void test_serial_kernel_same_layout(void **state)
{
	CUpti_ActivityKernel10 k = make_kernel(CUPTI_ACTIVITY_KIND_KERNEL);
	struct cupti_decoded d;

	assert_int_equal(decode(&k, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.cupti_kind, CUPTI_ACTIVITY_KIND_KERNEL);
	assert_int_equal(d.ev.kind, TRACE_KERNEL);
	assert_int_equal(d.launch.grid[0], 40);
	assert_int_equal(d.launch.dynamic_smem, 2048);
	assert_int_equal(d.ev.correlation, 77);
}

/* A kernel CUPTI saw start but not end (end 0) is open, with end = start. */
static void test_unfinished_kernel_is_open(void **state)
{
	CUpti_ActivityKernel10 k = make_kernel(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	struct cupti_decoded d;

	k.end = 0;
	assert_int_equal(decode(&k, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.start, 1000000);
	assert_int_equal(d.ev.end, 1000000);
	assert_int_equal(d.ev.flags, TRACE_FLAG_OPEN);

	/* Any end before the start, not only 0. */
	k.end = 999999;
	assert_int_equal(decode(&k, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.end, 1000000);
	assert_true(d.ev.flags & TRACE_FLAG_OPEN);
}

/* Start and end both 0: CUPTI could not time it. Skipped, fields filled. */
static void test_untimed_kernel(void **state)
{
	CUpti_ActivityKernel10 k = make_kernel(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	struct cupti_decoded d;

	k.start = 0;
	k.end = 0;
	assert_int_equal(decode(&k, &d), CUPTI_DECODE_UNTIMED);
	assert_true(CUPTI_DECODE_UNTIMED < 0);
	assert_int_equal(d.ev.kind, TRACE_KERNEL);
	assert_int_equal(d.launch.grid[0], 40);
	assert_string_equal(d.name, "_Z5saxpyifPKfPf");
}

/* A timestamp that does not fit the session clock is rejected, not wrapped. */
static void test_timestamp_beyond_int64_invalid(void **state)
{
	CUpti_ActivityKernel10 k = make_kernel(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	CUpti_ActivityAPI a;
	struct cupti_decoded d;

	k.end = (uint64_t)INT64_MAX + 1;
	assert_int_equal(decode(&k, &d), CUPTI_DECODE_INVALID);
	k.end = 2000000;
	k.start = UINT64_MAX;
	assert_int_equal(decode(&k, &d), CUPTI_DECODE_INVALID);
	k.start = (uint64_t)INT64_MAX;
	k.end = (uint64_t)INT64_MAX;
	assert_int_equal(decode(&k, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.start, INT64_MAX);

	memset(&a, 0, sizeof(a));
	a.kind = CUPTI_ACTIVITY_KIND_RUNTIME;
	a.start = 5;
	a.end = UINT64_MAX;
	assert_int_equal(decode(&a, &d), CUPTI_DECODE_INVALID);
}

/* Negative dimensions (no valid record has them) read as 0, not 4 billion. */
static void test_kernel_negative_sizes_read_as_zero(void **state)
{
	CUpti_ActivityKernel10 k = make_kernel(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	struct cupti_decoded d;

	k.gridY = -1;
	k.blockZ = -5;
	k.dynamicSharedMemory = -1;
	assert_int_equal(decode(&k, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.launch.grid[0], 40);
	assert_int_equal(d.launch.grid[1], 0);
	assert_int_equal(d.launch.block[2], 0);
	assert_int_equal(d.launch.dynamic_smem, 0);
	assert_int_equal(d.launch.static_smem, 4096);
}

static void test_memcpy(void **state)
{
	CUpti_ActivityMemcpy6 m;
	struct cupti_decoded d;

	memset(&m, 0, sizeof(m));
	m.kind = CUPTI_ACTIVITY_KIND_MEMCPY;
	m.copyKind = CUPTI_ACTIVITY_MEMCPY_KIND_HTOD;
	m.srcKind = CUPTI_ACTIVITY_MEMORY_KIND_PINNED;
	m.dstKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
	m.flags = CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC;
	m.bytes = 3ull << 30;
	m.start = 500;
	m.end = 900;
	m.deviceId = 0;
	m.contextId = 1;
	m.streamId = 13;
	m.correlationId = 41;
	m.runtimeCorrelationId = 40;
	m.copyCount = 1;

	assert_int_equal(decode(&m, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.kind, TRACE_MEMCPY);
	assert_int_equal(d.ev.start, 500);
	assert_int_equal(d.ev.end, 900);
	assert_int_equal(d.ev.flags, 0);
	assert_int_equal(d.ev.correlation, 41);
	assert_int_equal(d.ev.u.bytes, 3ull << 30);
	assert_int_equal(trace_memcpy_copy_kind(&d.ev), TRACE_COPY_HTOD);
	assert_int_equal(trace_memcpy_src_kind(&d.ev), TRACE_MEM_PINNED);
	assert_int_equal(trace_memcpy_dst_kind(&d.ev), TRACE_MEM_DEVICE);
	assert_caller_fields_zero(&d);
	assert_int_equal(d.owner, CUPTI_OWNER_STREAM);
	assert_true(d.has_device);
	assert_int_equal(d.device, 0);
	assert_int_equal(d.context, 1);
	assert_int_equal(d.stream, 13);
	assert_int_equal(d.runtime_correlation, 40);
	assert_int_equal(d.copy_count, 1);
	assert_true(d.async);
	assert_int_equal(d.src_device, 0);
	assert_int_equal(d.dst_device, 0);
	assert_int_equal(d.src_context, 1);
	assert_int_equal(d.dst_context, 1);
	assert_null(d.name);

	/* A synchronous, batched, pageable device-to-host copy. */
	m.copyKind = CUPTI_ACTIVITY_MEMCPY_KIND_DTOH;
	m.srcKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
	m.dstKind = CUPTI_ACTIVITY_MEMORY_KIND_PAGEABLE;
	m.flags = 0;
	m.copyCount = 7;
	assert_int_equal(decode(&m, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(trace_memcpy_copy_kind(&d.ev), TRACE_COPY_DTOH);
	assert_int_equal(trace_memcpy_src_kind(&d.ev), TRACE_MEM_DEVICE);
	assert_int_equal(trace_memcpy_dst_kind(&d.ev), TRACE_MEM_PAGEABLE);
	assert_false(d.async);
	assert_int_equal(d.copy_count, 7);
}

/* Every CUPTI copy and memory kind survives the packing into `sub`, and
 * values this build does not know become UNKNOWN instead of another kind. */
static void test_memcpy_every_kind(void **state)
{
	CUpti_ActivityMemcpy6 m;
	struct cupti_decoded d;

	memset(&m, 0, sizeof(m));
	m.kind = CUPTI_ACTIVITY_KIND_MEMCPY;
	m.start = 1;
	m.end = 2;
	for (unsigned ck = 0; ck <= CUPTI_ACTIVITY_MEMCPY_KIND_PTOP; ck++) {
		for (unsigned mk = 0; mk <= CUPTI_ACTIVITY_MEMORY_KIND_MANAGED_STATIC; mk++) {
			m.copyKind = (uint8_t)ck;
			m.srcKind = (uint8_t)mk;
			m.dstKind = (uint8_t)(CUPTI_ACTIVITY_MEMORY_KIND_MANAGED_STATIC - mk);
			assert_int_equal(decode(&m, &d), CUPTI_DECODE_EVENT);
			assert_int_equal(trace_memcpy_copy_kind(&d.ev), ck);
			assert_int_equal(trace_memcpy_src_kind(&d.ev), mk);
			assert_int_equal(trace_memcpy_dst_kind(&d.ev),
			                 CUPTI_ACTIVITY_MEMORY_KIND_MANAGED_STATIC - mk);
		}
	}
	m.copyKind = CUPTI_ACTIVITY_MEMCPY_KIND_PTOP + 1;
	m.srcKind = 33; /* would alias kind 1 in 5 bits if not checked */
	m.dstKind = 200;
	assert_int_equal(decode(&m, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(trace_memcpy_copy_kind(&d.ev), TRACE_COPY_UNKNOWN);
	assert_int_equal(trace_memcpy_src_kind(&d.ev), TRACE_MEM_UNKNOWN);
	assert_int_equal(trace_memcpy_dst_kind(&d.ev), TRACE_MEM_UNKNOWN);
}

static void test_memcpy_peer(void **state)
{
	CUpti_ActivityMemcpyPtoP4 m;
	struct cupti_decoded d;

	memset(&m, 0, sizeof(m));
	m.kind = CUPTI_ACTIVITY_KIND_MEMCPY2;
	m.copyKind = CUPTI_ACTIVITY_MEMCPY_KIND_PTOP;
	m.srcKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
	m.dstKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
	m.bytes = 65536;
	m.start = 10;
	m.end = 20;
	m.deviceId = 1;
	m.contextId = 2;
	m.streamId = 21;
	m.srcDeviceId = 1;
	m.srcContextId = 2;
	m.dstDeviceId = 3;
	m.dstContextId = 4;
	m.correlationId = 99;

	assert_int_equal(decode(&m, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.cupti_kind, CUPTI_ACTIVITY_KIND_MEMCPY2);
	assert_int_equal(d.ev.kind, TRACE_MEMCPY);
	assert_int_equal(d.ev.start, 10);
	assert_int_equal(d.ev.end, 20);
	assert_int_equal(d.ev.correlation, 99);
	assert_int_equal(d.ev.u.bytes, 65536);
	assert_int_equal(trace_memcpy_copy_kind(&d.ev), TRACE_COPY_PTOP);
	assert_int_equal(trace_memcpy_src_kind(&d.ev), TRACE_MEM_DEVICE);
	assert_int_equal(trace_memcpy_dst_kind(&d.ev), TRACE_MEM_DEVICE);
	assert_caller_fields_zero(&d);
	assert_int_equal(d.owner, CUPTI_OWNER_STREAM);
	assert_int_equal(d.device, 1);
	assert_int_equal(d.context, 2);
	assert_int_equal(d.stream, 21);
	assert_int_equal(d.src_device, 1);
	assert_int_equal(d.src_context, 2);
	assert_int_equal(d.dst_device, 3);
	assert_int_equal(d.dst_context, 4);
	assert_int_equal(d.copy_count, 1);
	assert_int_equal(d.runtime_correlation, 0);
	assert_false(d.async);
}

static void test_memset(void **state)
{
	CUpti_ActivityMemset4 m;
	struct cupti_decoded d;

	memset(&m, 0, sizeof(m));
	m.kind = CUPTI_ACTIVITY_KIND_MEMSET;
	m.value = 0xab;
	m.bytes = 1 << 20;
	m.start = 7000;
	m.end = 7100;
	m.deviceId = 0;
	m.contextId = 1;
	m.streamId = 15;
	m.correlationId = 55;
	m.flags = CUPTI_ACTIVITY_FLAG_MEMSET_ASYNC;
	m.memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;

	assert_int_equal(decode(&m, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.kind, TRACE_MEMSET);
	assert_int_equal(d.ev.start, 7000);
	assert_int_equal(d.ev.end, 7100);
	assert_int_equal(d.ev.sub, TRACE_MEM_DEVICE);
	assert_int_equal(d.ev.u.bytes, 1 << 20);
	assert_int_equal(d.ev.correlation, 55);
	assert_caller_fields_zero(&d);
	assert_int_equal(d.owner, CUPTI_OWNER_STREAM);
	assert_int_equal(d.stream, 15);
	assert_int_equal(d.context, 1);
	assert_int_equal(d.memset_value, 0xab);
	assert_true(d.async);

	m.memoryKind = 999;
	m.flags = 0;
	assert_int_equal(decode(&m, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.sub, TRACE_MEM_UNKNOWN);
	assert_false(d.async);
}

static void test_sync_stream(void **state)
{
	CUpti_ActivitySynchronization2 s;
	struct cupti_decoded d;

	memset(&s, 0, sizeof(s));
	s.kind = CUPTI_ACTIVITY_KIND_SYNCHRONIZATION;
	s.type = CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE;
	s.start = 300;
	s.end = 800;
	s.correlationId = 61;
	s.contextId = 1;
	s.streamId = 14;
	s.cudaEventId = CUPTI_SYNCHRONIZATION_INVALID_VALUE;
	s.cudaEventSyncId = CUPTI_SYNCHRONIZATION_INVALID_VALUE;
	s.returnValue = 0;

	assert_int_equal(decode(&s, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.kind, TRACE_SYNC);
	assert_int_equal(d.ev.sub, TRACE_SYNC_STREAM);
	assert_int_equal(d.ev.start, 300);
	assert_int_equal(d.ev.end, 800);
	assert_int_equal(d.ev.correlation, 61);
	assert_int_equal(d.ev.u.sync.event, 0);
	assert_caller_fields_zero(&d);
	assert_int_equal(d.owner, CUPTI_OWNER_STREAM);
	assert_false(d.has_device);
	assert_int_equal(d.context, 1);
	assert_int_equal(d.stream, 14);
	assert_false(d.has_sync_event);
	assert_int_equal(d.sync_event_id, 0);
	assert_int_equal(d.sync_event_sync_id, 0);
	assert_int_equal(d.result, 0);
}

static void test_sync_event_and_wait(void **state)
{
	CUpti_ActivitySynchronization2 s;
	struct cupti_decoded d;

	/* cudaEventSynchronize: an event, no stream. */
	memset(&s, 0, sizeof(s));
	s.kind = CUPTI_ACTIVITY_KIND_SYNCHRONIZATION;
	s.type = CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_EVENT_SYNCHRONIZE;
	s.start = 1;
	s.end = 2;
	s.contextId = 5;
	s.streamId = CUPTI_SYNCHRONIZATION_INVALID_VALUE;
	s.cudaEventId = 9;
	s.cudaEventSyncId = 1234;
	s.returnValue = 600; /* CUDA_ERROR_NOT_READY */
	assert_int_equal(decode(&s, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.sub, TRACE_SYNC_EVENT);
	assert_int_equal(d.ev.u.sync.event, 9);
	assert_int_equal(d.owner, CUPTI_OWNER_CONTEXT);
	assert_int_equal(d.context, 5);
	assert_int_equal(d.stream, 0);
	assert_true(d.has_sync_event);
	assert_int_equal(d.sync_event_id, 9);
	assert_int_equal(d.sync_event_sync_id, 1234);
	assert_int_equal(d.result, 600);

	/* cudaStreamWaitEvent: a stream and an event. */
	s.type = CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_WAIT_EVENT;
	s.streamId = 16;
	s.cudaEventSyncId = UINT64_MAX;
	assert_int_equal(decode(&s, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.sub, TRACE_SYNC_STREAM_WAIT_EVENT);
	assert_int_equal(d.owner, CUPTI_OWNER_STREAM);
	assert_int_equal(d.stream, 16);
	assert_int_equal(d.ev.u.sync.event, 9);
	assert_int_equal(d.sync_event_sync_id, 0);

	/* A type from a later CUPTI: unknown, never another kind. */
	s.type = (CUpti_ActivitySynchronizationType)17;
	assert_int_equal(decode(&s, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.sub, TRACE_SYNC_UNKNOWN);
}

/* cudaDeviceSynchronize reaches CUPTI as a context synchronization; the
 * caller turns it into a device sync through the API record's cbid. */
static void test_sync_context_and_device(void **state)
{
	CUpti_ActivitySynchronization2 s;
	struct cupti_decoded d;

	memset(&s, 0, sizeof(s));
	s.kind = CUPTI_ACTIVITY_KIND_SYNCHRONIZATION;
	s.type = CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_CONTEXT_SYNCHRONIZE;
	s.start = 100;
	s.end = 100;
	s.contextId = 1;
	s.streamId = CUPTI_SYNCHRONIZATION_INVALID_VALUE;
	s.cudaEventId = CUPTI_SYNCHRONIZATION_INVALID_VALUE;
	assert_int_equal(decode(&s, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.sub, TRACE_SYNC_CONTEXT);
	assert_int_equal(d.ev.start, 100);
	assert_int_equal(d.ev.end, 100);
	assert_int_equal(d.ev.flags, 0);
	assert_int_equal(d.owner, CUPTI_OWNER_CONTEXT);
	assert_false(d.has_sync_event);

	assert_int_equal(cupti_sync_kind_for_api(TRACE_SYNC_CONTEXT, TRACE_API_CUDA_RUNTIME,
	                                         CUPTI_RUNTIME_TRACE_CBID_cudaDeviceSynchronize_v3020),
	                 TRACE_SYNC_DEVICE);
	assert_int_equal(cupti_sync_kind_for_api(TRACE_SYNC_CONTEXT, TRACE_API_CUDA_RUNTIME,
	                                         CUPTI_RUNTIME_TRACE_CBID_cudaThreadSynchronize_v3020),
	                 TRACE_SYNC_DEVICE);
	/* cuCtxSynchronize stays a context sync, whatever its cbid's number. */
	assert_int_equal(cupti_sync_kind_for_api(TRACE_SYNC_CONTEXT, TRACE_API_CUDA_DRIVER,
	                                         CUPTI_RUNTIME_TRACE_CBID_cudaDeviceSynchronize_v3020),
	                 TRACE_SYNC_CONTEXT);
	assert_int_equal(cupti_sync_kind_for_api(TRACE_SYNC_CONTEXT, TRACE_API_CUDA_DRIVER,
	                                         CUPTI_DRIVER_TRACE_CBID_cuCtxSynchronize),
	                 TRACE_SYNC_CONTEXT);
	assert_int_equal(cupti_sync_kind_for_api(TRACE_SYNC_STREAM, TRACE_API_CUDA_RUNTIME,
	                                         CUPTI_RUNTIME_TRACE_CBID_cudaDeviceSynchronize_v3020),
	                 TRACE_SYNC_STREAM);
	assert_int_equal(cupti_sync_kind_for_api(TRACE_SYNC_CONTEXT, TRACE_API_CUDA_RUNTIME,
	                                         CUPTI_RUNTIME_TRACE_CBID_cudaStreamSynchronize_v3020),
	                 TRACE_SYNC_CONTEXT);
}

static void test_runtime_api(void **state)
{
	CUpti_ActivityAPI a;
	struct cupti_decoded d;

	memset(&a, 0, sizeof(a));
	a.kind = CUPTI_ACTIVITY_KIND_RUNTIME;
	a.cbid = CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000;
	a.start = 2000;
	a.end = 2600;
	a.processId = 4242;
	a.threadId = 4243;
	a.correlationId = 77;
	a.returnValue = 0;

	assert_int_equal(decode(&a, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.kind, TRACE_API);
	assert_int_equal(d.ev.start, 2000);
	assert_int_equal(d.ev.end, 2600);
	assert_int_equal(d.ev.correlation, 77);
	assert_int_equal(trace_api_domain(&d.ev), TRACE_API_CUDA_RUNTIME);
	assert_int_equal(trace_api_result(&d.ev), 0);
	assert_int_equal(d.ev.u.api.cbid, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000);
	assert_int_equal(d.ev.u.api.stack, 0);
	assert_caller_fields_zero(&d);
	assert_int_equal(d.owner, CUPTI_OWNER_THREAD);
	assert_int_equal(d.pid, 4242);
	assert_int_equal(d.tid, 4243);
	assert_false(d.has_device);
	assert_int_equal(d.api_domain, TRACE_API_CUDA_RUNTIME);
	assert_int_equal(d.cb_domain, CUPTI_CB_DOMAIN_RUNTIME_API);
	assert_int_equal(d.cbid, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000);
	assert_int_equal(d.result, 0);
	assert_null(d.name); /* cuptiGetCallbackName's job */

	/* An error result (cudaErrorInvalidValue = 1) and an open call. */
	a.returnValue = 1;
	a.end = 0;
	assert_int_equal(decode(&a, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(trace_api_result(&d.ev), 1);
	assert_int_equal(d.ev.end, 2000);
	assert_int_equal(d.ev.flags & TRACE_FLAG_OPEN, TRACE_FLAG_OPEN);
	assert_int_equal(trace_api_domain(&d.ev), TRACE_API_CUDA_RUNTIME);
}

static void test_driver_api_and_big_result(void **state)
{
	CUpti_ActivityAPI a;
	struct cupti_decoded d;

	memset(&a, 0, sizeof(a));
	a.kind = CUPTI_ACTIVITY_KIND_DRIVER;
	a.cbid = CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel;
	a.start = 10;
	a.end = 20;
	a.processId = 1;
	a.threadId = 2;
	a.correlationId = 3;
	a.returnValue = 999; /* CUDA_ERROR_UNKNOWN */

	assert_int_equal(decode(&a, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(trace_api_domain(&d.ev), TRACE_API_CUDA_DRIVER);
	assert_int_equal(d.cb_domain, CUPTI_CB_DOMAIN_DRIVER_API);
	assert_int_equal(d.cbid, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel);
	assert_int_equal(d.ev.u.api.cbid, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel);
	assert_int_equal(trace_api_result(&d.ev), 999);

	a.returnValue = 40000;
	assert_int_equal(decode(&a, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(trace_api_result(&d.ev), CUPTI_DECODE_RESULT_TOO_BIG);
	assert_int_equal(d.result, 40000);
}

static void test_internal_launch_api(void **state)
{
	CUpti_ActivityAPI a;
	struct cupti_decoded d;

	memset(&a, 0, sizeof(a));
	a.kind = CUPTI_ACTIVITY_KIND_INTERNAL_LAUNCH_API;
	a.cbid = 12345; /* unused by CUPTI for this kind */
	a.start = 50;
	a.end = 60;
	a.processId = 7;
	a.threadId = 8;
	a.correlationId = 9;
	assert_int_equal(decode(&a, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.kind, TRACE_API);
	assert_int_equal(trace_api_domain(&d.ev), TRACE_API_CUDA_DRIVER);
	assert_int_equal(d.cbid, 0);
	assert_int_equal(d.ev.u.api.cbid, 0);
	assert_string_equal(d.name, "internal kernel launch");
	assert_int_equal(d.tid, 8);
}

static void test_memory2_alloc_and_free(void **state)
{
	CUpti_ActivityMemory4 m;
	struct cupti_decoded d;

	memset(&m, 0, sizeof(m));
	m.kind = CUPTI_ACTIVITY_KIND_MEMORY2;
	m.memoryOperationType = CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION;
	m.memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
	m.correlationId = 12;
	m.address = 0x7f0000200000ull;
	m.bytes = 4 << 20;
	m.timestamp = 123456;
	m.processId = 4242;
	m.deviceId = 2;
	m.contextId = 1;
	m.streamId = CUPTI_INVALID_STREAM_ID;
	m.isAsync = 0;

	assert_int_equal(decode(&m, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.kind, TRACE_MEM_ALLOC);
	assert_int_equal(d.ev.start, 123456);
	assert_int_equal(d.ev.end, 123456);
	assert_int_equal(d.ev.correlation, 12);
	assert_int_equal(d.ev.u.memop.id, 0);
	assert_caller_fields_zero(&d);
	assert_int_equal(d.owner, CUPTI_OWNER_PROCESS);
	assert_int_equal(d.pid, 4242);
	assert_true(d.has_device);
	assert_int_equal(d.device, 2);
	assert_int_equal(d.context, 1);
	assert_int_equal(d.stream, 0);
	assert_int_equal(d.memop.address, 0x7f0000200000ull);
	assert_int_equal(d.memop.bytes, 4 << 20);
	assert_int_equal(d.memop.device, 2);
	assert_int_equal(d.memop.mem_kind, TRACE_MEM_DEVICE);
	assert_false(d.memop_async);
	assert_null(d.name);

	/* Stream-ordered free of the same block. */
	m.memoryOperationType = CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_RELEASE;
	m.timestamp = 223456;
	m.contextId = CUPTI_INVALID_CONTEXT_ID;
	m.streamId = 14;
	m.isAsync = 1;
	m.name = "d_buffer";
	assert_int_equal(decode(&m, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.kind, TRACE_MEM_FREE);
	assert_int_equal(d.ev.start, 223456);
	assert_int_equal(d.context, 0);
	assert_int_equal(d.stream, 14);
	assert_true(d.memop_async);
	assert_string_equal(d.name, "d_buffer");

	/* An operation type this decoder does not know is not misread. */
	m.memoryOperationType = CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_INVALID;
	assert_int_equal(decode(&m, &d), CUPTI_DECODE_INVALID);
	m.memoryOperationType = (CUpti_ActivityMemoryOperationType)3;
	assert_int_equal(decode(&m, &d), CUPTI_DECODE_INVALID);
}

static void test_overhead(void **state)
{
	CUpti_ActivityOverhead3 o;
	struct cupti_decoded d;

	memset(&o, 0, sizeof(o));
	o.kind = CUPTI_ACTIVITY_KIND_OVERHEAD;
	o.overheadKind = CUPTI_ACTIVITY_OVERHEAD_CUPTI_BUFFER_FLUSH;
	o.objectKind = CUPTI_ACTIVITY_OBJECT_THREAD;
	o.objectId.pt.processId = 4242;
	o.objectId.pt.threadId = 4250;
	o.start = 900;
	o.end = 1900;
	o.correlationId = 0;

	assert_int_equal(decode(&o, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.kind, TRACE_API);
	assert_int_equal(trace_api_domain(&d.ev), TRACE_API_UNKNOWN);
	assert_int_equal(d.ev.start, 900);
	assert_int_equal(d.ev.end, 1900);
	assert_int_equal(d.ev.u.api.cbid, CUPTI_ACTIVITY_OVERHEAD_CUPTI_BUFFER_FLUSH);
	assert_int_equal(d.cbid, CUPTI_ACTIVITY_OVERHEAD_CUPTI_BUFFER_FLUSH);
	assert_int_equal(d.ev.sub, 0);
	assert_caller_fields_zero(&d);
	assert_string_equal(d.name, "CUPTI buffer flush");
	assert_int_equal(d.owner, CUPTI_OWNER_THREAD);
	assert_int_equal(d.pid, 4242);
	assert_int_equal(d.tid, 4250);

	/* Compiler overhead charged to a stream; a kind from a later CUPTI. */
	o.overheadKind = CUPTI_ACTIVITY_OVERHEAD_DRIVER_COMPILER;
	o.objectKind = CUPTI_ACTIVITY_OBJECT_STREAM;
	o.objectId.dcs.deviceId = 1;
	o.objectId.dcs.contextId = 2;
	o.objectId.dcs.streamId = 3;
	o.correlationId = 31;
	assert_int_equal(decode(&o, &d), CUPTI_DECODE_EVENT);
	assert_string_equal(d.name, "driver compiler");
	assert_int_equal(d.owner, CUPTI_OWNER_STREAM);
	assert_true(d.has_device);
	assert_int_equal(d.device, 1);
	assert_int_equal(d.context, 2);
	assert_int_equal(d.stream, 3);
	assert_int_equal(d.ev.correlation, 31);

	o.overheadKind = (CUpti_ActivityOverheadKind)(42 << 16);
	o.objectKind = CUPTI_ACTIVITY_OBJECT_PROCESS;
	o.objectId.pt.processId = 77;
	o.objectId.pt.threadId = 78;
	assert_int_equal(decode(&o, &d), CUPTI_DECODE_EVENT);
	assert_string_equal(d.name, "CUPTI overhead");
	assert_int_equal(d.owner, CUPTI_OWNER_PROCESS);
	assert_int_equal(d.pid, 77);
	assert_int_equal(d.tid, 0);
	assert_int_equal(d.cbid, 42u << 16);
}

static void test_marker(void **state)
{
	CUpti_ActivityMarker2 m;
	struct cupti_decoded d;

	memset(&m, 0, sizeof(m));
	m.kind = CUPTI_ACTIVITY_KIND_MARKER;
	m.flags = CUPTI_ACTIVITY_FLAG_MARKER_INSTANTANEOUS;
	m.timestamp = 5555;
	m.id = 3;
	m.objectKind = CUPTI_ACTIVITY_OBJECT_THREAD;
	m.objectId.pt.processId = 10;
	m.objectId.pt.threadId = 11;
	m.name = "checkpoint";
	m.domain = "tstop.sample";

	assert_int_equal(decode(&m, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.kind, TRACE_NVTX_MARK);
	assert_int_equal(d.ev.start, 5555);
	assert_int_equal(d.ev.end, 5555);
	assert_caller_fields_zero(&d);
	assert_string_equal(d.name, "checkpoint");
	assert_string_equal(d.domain, "tstop.sample");
	assert_int_equal(d.marker_id, 3);
	assert_int_equal(d.owner, CUPTI_OWNER_THREAD);
	assert_int_equal(d.tid, 11);

	m.flags = CUPTI_ACTIVITY_FLAG_MARKER_START;
	m.domain = NULL;
	m.id = 4;
	assert_int_equal(decode(&m, &d), CUPTI_DECODE_MARKER_START);
	assert_int_equal(d.ev.kind, TRACE_NVTX_RANGE);
	assert_int_equal(d.ev.start, 5555);
	assert_int_equal(d.ev.end, 5555);
	assert_string_equal(d.name, "checkpoint");
	assert_null(d.domain);
	assert_int_equal(d.marker_id, 4);

	m.flags = CUPTI_ACTIVITY_FLAG_MARKER_END;
	m.timestamp = 6666;
	m.name = NULL;
	assert_int_equal(decode(&m, &d), CUPTI_DECODE_MARKER_END);
	assert_int_equal(d.ev.start, 6666);
	assert_int_equal(d.marker_id, 4);
	assert_null(d.name);

	m.flags = CUPTI_ACTIVITY_FLAG_MARKER_SYNC_ACQUIRE;
	assert_int_equal(decode(&m, &d), CUPTI_DECODE_UNKNOWN);

	m.flags = CUPTI_ACTIVITY_FLAG_MARKER_START;
	m.timestamp = 0;
	assert_int_equal(decode(&m, &d), CUPTI_DECODE_UNTIMED);
}

static void test_name_record(void **state)
{
	CUpti_ActivityName n;
	struct cupti_decoded d;

	memset(&n, 0, sizeof(n));
	n.kind = CUPTI_ACTIVITY_KIND_NAME;
	n.objectKind = CUPTI_ACTIVITY_OBJECT_THREAD;
	n.objectId.pt.processId = 100;
	n.objectId.pt.threadId = 101;
	n.name = "loader";
	assert_int_equal(decode(&n, &d), CUPTI_DECODE_NAME);
	assert_int_equal(d.owner, CUPTI_OWNER_THREAD);
	assert_int_equal(d.pid, 100);
	assert_int_equal(d.tid, 101);
	assert_string_equal(d.name, "loader");

	n.objectKind = CUPTI_ACTIVITY_OBJECT_DEVICE;
	n.objectId.dcs.deviceId = 3;
	n.objectId.dcs.contextId = 4;
	n.objectId.dcs.streamId = 5;
	n.name = "gpu three";
	assert_int_equal(decode(&n, &d), CUPTI_DECODE_NAME);
	assert_int_equal(d.owner, CUPTI_OWNER_DEVICE);
	assert_true(d.has_device);
	assert_int_equal(d.device, 3);
	assert_int_equal(d.context, 0);
	assert_int_equal(d.stream, 0);

	n.objectKind = CUPTI_ACTIVITY_OBJECT_CONTEXT;
	assert_int_equal(decode(&n, &d), CUPTI_DECODE_NAME);
	assert_int_equal(d.owner, CUPTI_OWNER_CONTEXT);
	assert_int_equal(d.device, 3);
	assert_int_equal(d.context, 4);
	assert_int_equal(d.stream, 0);

	n.objectKind = (CUpti_ActivityObjectKind)9;
	assert_int_equal(decode(&n, &d), CUPTI_DECODE_NAME);
	assert_int_equal(d.owner, CUPTI_OWNER_UNKNOWN);
	assert_false(d.has_device);
}

static void test_context_record(void **state)
{
	CUpti_ActivityContext3 c;
	struct cupti_decoded d;

	memset(&c, 0, sizeof(c));
	c.kind = CUPTI_ACTIVITY_KIND_CONTEXT;
	c.contextId = 1;
	c.deviceId = 2;
	c.nullStreamId = 7;
	assert_int_equal(decode(&c, &d), CUPTI_DECODE_CONTEXT);
	assert_int_equal(d.owner, CUPTI_OWNER_CONTEXT);
	assert_true(d.has_device);
	assert_int_equal(d.device, 2);
	assert_int_equal(d.context, 1);
	assert_int_equal(d.stream, 7);
}

static void test_device_record(void **state)
{
	CUpti_ActivityDevice5 v;
	struct cupti_decoded d;

	memset(&v, 0, sizeof(v));
	v.kind = CUPTI_ACTIVITY_KIND_DEVICE;
	v.globalMemoryBandwidth = 3352320000ull;
	v.globalMemorySize = 85051572224ull;
	v.numThreadsPerWarp = 32;
	v.coreClockRate = 1980000;
	v.numMultiprocessors = 132;
	v.maxWarpsPerMultiprocessor = 64;
	v.maxBlocksPerMultiprocessor = 32;
	v.maxSharedMemoryPerMultiprocessor = 233472;
	v.maxRegistersPerMultiprocessor = 65536;
	v.maxRegistersPerBlock = 65536;
	v.maxSharedMemoryPerBlock = 49152;
	v.maxThreadsPerBlock = 1024;
	v.computeCapabilityMajor = 9;
	v.computeCapabilityMinor = 0;
	v.id = 1;
	for (int i = 0; i < 16; i++)
		v.uuid.bytes[i] = (char)(0xf0 + i);
	v.name = "NVIDIA H100 80GB HBM3";

	assert_int_equal(decode(&v, &d), CUPTI_DECODE_DEVICE);
	assert_int_equal(d.owner, CUPTI_OWNER_DEVICE);
	assert_true(d.has_device);
	assert_int_equal(d.device, 1);
	assert_string_equal(d.name, "NVIDIA H100 80GB HBM3");
	assert_int_equal(d.device_info.id, 1);
	assert_int_equal(d.device_info.api, TRACE_DEVICE_CUDA);
	assert_int_equal(d.device_info.name, 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(d.device_info.uuid[i], 0xf0 + i);
	assert_int_equal(d.device_info.cc_major, 9);
	assert_int_equal(d.device_info.cc_minor, 0);
	assert_int_equal(d.device_info.sm_count, 132);
	assert_int_equal(d.device_info.global_memory, 85051572224ull);
	assert_int_equal(d.device_info.warp_size, 32);
	assert_int_equal(d.device_info.max_threads_per_block, 1024);
	assert_int_equal(d.device_info.max_threads_per_sm, 2048);
	assert_int_equal(d.device_info.max_blocks_per_sm, 32);
	assert_int_equal(d.device_info.regs_per_block, 65536);
	assert_int_equal(d.device_info.regs_per_sm, 65536);
	assert_int_equal(d.device_info.smem_per_block, 49152);
	assert_int_equal(d.device_info.smem_per_sm, 233472);
	assert_int_equal(d.device_info.core_clock_khz, 1980000);
	assert_int_equal(d.device_info.memory_clock_khz, 0);
	assert_int_equal(d.device_info.memory_bus_width, 0);

	/* A product that does not fit reads as unknown, not truncated. */
	v.maxWarpsPerMultiprocessor = UINT32_MAX;
	assert_int_equal(decode(&v, &d), CUPTI_DECODE_DEVICE);
	assert_int_equal(d.device_info.max_threads_per_sm, 0);
}

/* Kinds the decoder does not read are skipped with a status of their own,
 * and their bytes are never interpreted as another kind. */
static void test_unknown_kinds_skipped(void **state)
{
	static const uint32_t kinds[] = {
	    CUPTI_ACTIVITY_KIND_INVALID,     CUPTI_ACTIVITY_KIND_MARKER_DATA, CUPTI_ACTIVITY_KIND_CDP_KERNEL,
	    CUPTI_ACTIVITY_KIND_PC_SAMPLING, CUPTI_ACTIVITY_KIND_MEMORY,      CUPTI_ACTIVITY_KIND_MEMORY_POOL,
	    CUPTI_ACTIVITY_KIND_GRAPH_TRACE, CUPTI_ACTIVITY_KIND_STREAM,      CUPTI_ACTIVITY_KIND_CUDA_EVENT,
	    CUPTI_ACTIVITY_KIND_COUNT,       CUPTI_ACTIVITY_KIND_COUNT + 100, 0x7ffffffe,
	};
	/* A whole kernel record's worth of bytes with a foreign kind. */
	CUpti_ActivityKernel10 k = make_kernel(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	struct cupti_decoded d;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		k.kind = (CUpti_ActivityKind)kinds[i];
		assert_int_equal(decode(&k, &d), CUPTI_DECODE_UNKNOWN);
		assert_true(CUPTI_DECODE_UNKNOWN < 0);
		assert_int_equal(d.cupti_kind, kinds[i]);
		assert_int_equal(d.ev.kind, 0);
		assert_null(d.name);
	}
	assert_int_equal(cupti_decode(NULL, &d), CUPTI_DECODE_INVALID);
}

/* Records decoded straight out of a buffer laid out the way CUPTI fills
 * one: records back to back, each at an 8-byte boundary. */
static void test_records_in_a_buffer(void **state)
{
	_Alignas(8) uint8_t buf[1024];
	CUpti_ActivityKernel10 k = make_kernel(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	CUpti_ActivityAPI a;
	size_t off = 0;
	struct cupti_decoded d;

	memset(&a, 0, sizeof(a));
	a.kind = CUPTI_ACTIVITY_KIND_RUNTIME;
	a.cbid = CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000;
	a.start = 990000;
	a.end = 999000;
	a.correlationId = k.correlationId;
	assert_int_equal(sizeof(a) % 8, 0);
	assert_int_equal(sizeof(k) % 8, 0);
	memcpy(buf + off, &a, sizeof(a));
	off += sizeof(a);
	memcpy(buf + off, &k, sizeof(k));

	assert_int_equal(decode(buf, &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.kind, TRACE_API);
	uint32_t launch_correlation = d.ev.correlation;
	assert_int_equal(decode(buf + sizeof(a), &d), CUPTI_DECODE_EVENT);
	assert_int_equal(d.ev.kind, TRACE_KERNEL);
	assert_int_equal(d.ev.correlation, launch_correlation);
	assert_string_equal(d.name, "_Z5saxpyifPKfPf");
	assert_int_equal(d.launch.block[0], 128);
}

/* event.h's enums carry CUPTI's numbers (also checked at compile time in
 * cupti_decode.c); the API domains do not, and are translated. */
static void test_enum_agreement(void **state)
{
	assert_int_equal(TRACE_COPY_HTOD, CUPTI_ACTIVITY_MEMCPY_KIND_HTOD);
	assert_int_equal(TRACE_COPY_DTOH, CUPTI_ACTIVITY_MEMCPY_KIND_DTOH);
	assert_int_equal(TRACE_COPY_DTOD, CUPTI_ACTIVITY_MEMCPY_KIND_DTOD);
	assert_int_equal(TRACE_COPY_HTOH, CUPTI_ACTIVITY_MEMCPY_KIND_HTOH);
	assert_int_equal(TRACE_COPY_PTOP, CUPTI_ACTIVITY_MEMCPY_KIND_PTOP);
	assert_int_equal(TRACE_MEM_PAGEABLE, CUPTI_ACTIVITY_MEMORY_KIND_PAGEABLE);
	assert_int_equal(TRACE_MEM_PINNED, CUPTI_ACTIVITY_MEMORY_KIND_PINNED);
	assert_int_equal(TRACE_MEM_DEVICE, CUPTI_ACTIVITY_MEMORY_KIND_DEVICE);
	assert_int_equal(TRACE_MEM_MANAGED_STATIC, CUPTI_ACTIVITY_MEMORY_KIND_MANAGED_STATIC);
	assert_int_equal(TRACE_SYNC_EVENT, CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_EVENT_SYNCHRONIZE);
	assert_int_equal(TRACE_SYNC_STREAM_WAIT_EVENT, CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_WAIT_EVENT);
	assert_int_equal(TRACE_SYNC_STREAM, CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE);
	assert_int_equal(TRACE_SYNC_CONTEXT, CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_CONTEXT_SYNCHRONIZE);

	assert_int_equal(cupti_api_domain(CUPTI_CB_DOMAIN_RUNTIME_API), TRACE_API_CUDA_RUNTIME);
	assert_int_equal(cupti_api_domain(CUPTI_CB_DOMAIN_DRIVER_API), TRACE_API_CUDA_DRIVER);
	assert_int_equal(cupti_api_domain(CUPTI_CB_DOMAIN_NVTX), TRACE_API_UNKNOWN);
	assert_int_equal(cupti_api_domain(CUPTI_CB_DOMAIN_INVALID), TRACE_API_UNKNOWN);
}

static void test_version_policy(void **state)
{
	assert_true(cupti_decode_version_supported(CUPTI_API_VERSION));
	assert_true(cupti_decode_version_supported(CUPTI_API_VERSION / 10000 * 10000));
	assert_true(cupti_decode_version_supported(CUPTI_API_VERSION / 10000 * 10000 + 9903));
	assert_false(cupti_decode_version_supported(CUPTI_API_VERSION / 10000 * 10000 + 10000));
	assert_false(cupti_decode_version_supported(CUPTI_API_VERSION / 10000 * 10000 - 1));
	assert_false(cupti_decode_version_supported(28)); /* CUDA 12.9 Update 1 */
	assert_false(cupti_decode_version_supported(0));
}

static void test_names(void **state)
{
	assert_string_equal(cupti_activity_kind_name(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL),
	                    "CONCURRENT_KERNEL");
	assert_string_equal(cupti_activity_kind_name(CUPTI_ACTIVITY_KIND_MEMCPY2), "MEMCPY2");
	assert_string_equal(cupti_activity_kind_name(CUPTI_ACTIVITY_KIND_SYNCHRONIZATION), "SYNCHRONIZATION");
	assert_string_equal(cupti_activity_kind_name(CUPTI_ACTIVITY_KIND_MEMORY2), "MEMORY2");
	assert_string_equal(cupti_activity_kind_name(0x7ffffffe), "unknown");
	assert_string_equal(cupti_overhead_kind_name(CUPTI_ACTIVITY_OVERHEAD_LAZY_FUNCTION_LOADING),
	                    "lazy function loading");
	assert_string_equal(cupti_overhead_kind_name(CUPTI_ACTIVITY_OVERHEAD_UNKNOWN), "CUPTI overhead");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_concurrent_kernel),
	    cmocka_unit_test(test_serial_kernel_same_layout),
	    cmocka_unit_test(test_unfinished_kernel_is_open),
	    cmocka_unit_test(test_untimed_kernel),
	    cmocka_unit_test(test_timestamp_beyond_int64_invalid),
	    cmocka_unit_test(test_kernel_negative_sizes_read_as_zero),
	    cmocka_unit_test(test_memcpy),
	    cmocka_unit_test(test_memcpy_every_kind),
	    cmocka_unit_test(test_memcpy_peer),
	    cmocka_unit_test(test_memset),
	    cmocka_unit_test(test_sync_stream),
	    cmocka_unit_test(test_sync_event_and_wait),
	    cmocka_unit_test(test_sync_context_and_device),
	    cmocka_unit_test(test_runtime_api),
	    cmocka_unit_test(test_driver_api_and_big_result),
	    cmocka_unit_test(test_internal_launch_api),
	    cmocka_unit_test(test_memory2_alloc_and_free),
	    cmocka_unit_test(test_overhead),
	    cmocka_unit_test(test_marker),
	    cmocka_unit_test(test_name_record),
	    cmocka_unit_test(test_context_record),
	    cmocka_unit_test(test_device_record),
	    cmocka_unit_test(test_unknown_kinds_skipped),
	    cmocka_unit_test(test_records_in_a_buffer),
	    cmocka_unit_test(test_enum_agreement),
	    cmocka_unit_test(test_version_policy),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
