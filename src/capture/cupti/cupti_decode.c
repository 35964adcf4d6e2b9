/*
 * cupti_decode.c - CUPTI activity records to tstop events (see cupti_decode.h).
 *
 * One function per record struct, each reading the newest struct version
 * the installed cupti_activity.h declares for its kind. The enums that
 * event.h shares with CUPTI are checked against CUPTI's constants at compile
 * time, so a header that renumbered them would not build.
 */
#include "capture/cupti/cupti_decode.h"

#include <stddef.h>
#include <string.h>

#include <cupti_callbacks.h>
#include <cupti_runtime_cbid.h>
#include <cupti_version.h>

/* --- enums shared with CUPTI ------------------------------------------------- */

/* Checks at compile time that tstop constant `ours` equals CUPTI constant
 * `theirs` (compared as int: they belong to different enums). */
#define CUPTI_SAME_VALUE(ours, theirs) _Static_assert((int)(ours) == (int)(theirs), #ours " == " #theirs)

CUPTI_SAME_VALUE(TRACE_COPY_UNKNOWN, CUPTI_ACTIVITY_MEMCPY_KIND_UNKNOWN);
CUPTI_SAME_VALUE(TRACE_COPY_HTOD, CUPTI_ACTIVITY_MEMCPY_KIND_HTOD);
CUPTI_SAME_VALUE(TRACE_COPY_DTOH, CUPTI_ACTIVITY_MEMCPY_KIND_DTOH);
CUPTI_SAME_VALUE(TRACE_COPY_HTOA, CUPTI_ACTIVITY_MEMCPY_KIND_HTOA);
CUPTI_SAME_VALUE(TRACE_COPY_ATOH, CUPTI_ACTIVITY_MEMCPY_KIND_ATOH);
CUPTI_SAME_VALUE(TRACE_COPY_ATOA, CUPTI_ACTIVITY_MEMCPY_KIND_ATOA);
CUPTI_SAME_VALUE(TRACE_COPY_ATOD, CUPTI_ACTIVITY_MEMCPY_KIND_ATOD);
CUPTI_SAME_VALUE(TRACE_COPY_DTOA, CUPTI_ACTIVITY_MEMCPY_KIND_DTOA);
CUPTI_SAME_VALUE(TRACE_COPY_DTOD, CUPTI_ACTIVITY_MEMCPY_KIND_DTOD);
CUPTI_SAME_VALUE(TRACE_COPY_HTOH, CUPTI_ACTIVITY_MEMCPY_KIND_HTOH);
CUPTI_SAME_VALUE(TRACE_COPY_PTOP, CUPTI_ACTIVITY_MEMCPY_KIND_PTOP);
CUPTI_SAME_VALUE(TRACE_COPY_KIND_MAX, CUPTI_ACTIVITY_MEMCPY_KIND_PTOP);

CUPTI_SAME_VALUE(TRACE_MEM_UNKNOWN, CUPTI_ACTIVITY_MEMORY_KIND_UNKNOWN);
CUPTI_SAME_VALUE(TRACE_MEM_PAGEABLE, CUPTI_ACTIVITY_MEMORY_KIND_PAGEABLE);
CUPTI_SAME_VALUE(TRACE_MEM_PINNED, CUPTI_ACTIVITY_MEMORY_KIND_PINNED);
CUPTI_SAME_VALUE(TRACE_MEM_DEVICE, CUPTI_ACTIVITY_MEMORY_KIND_DEVICE);
CUPTI_SAME_VALUE(TRACE_MEM_ARRAY, CUPTI_ACTIVITY_MEMORY_KIND_ARRAY);
CUPTI_SAME_VALUE(TRACE_MEM_MANAGED, CUPTI_ACTIVITY_MEMORY_KIND_MANAGED);
CUPTI_SAME_VALUE(TRACE_MEM_DEVICE_STATIC, CUPTI_ACTIVITY_MEMORY_KIND_DEVICE_STATIC);
CUPTI_SAME_VALUE(TRACE_MEM_MANAGED_STATIC, CUPTI_ACTIVITY_MEMORY_KIND_MANAGED_STATIC);
CUPTI_SAME_VALUE(TRACE_MEM_KIND_MAX, CUPTI_ACTIVITY_MEMORY_KIND_MANAGED_STATIC);

CUPTI_SAME_VALUE(TRACE_SYNC_UNKNOWN, CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_UNKNOWN);
CUPTI_SAME_VALUE(TRACE_SYNC_EVENT, CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_EVENT_SYNCHRONIZE);
CUPTI_SAME_VALUE(TRACE_SYNC_STREAM_WAIT_EVENT, CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_WAIT_EVENT);
CUPTI_SAME_VALUE(TRACE_SYNC_STREAM, CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE);
CUPTI_SAME_VALUE(TRACE_SYNC_CONTEXT, CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_CONTEXT_SYNCHRONIZE);

CUPTI_SAME_VALUE(CUPTI_OWNER_UNKNOWN, CUPTI_ACTIVITY_OBJECT_UNKNOWN);
CUPTI_SAME_VALUE(CUPTI_OWNER_PROCESS, CUPTI_ACTIVITY_OBJECT_PROCESS);
CUPTI_SAME_VALUE(CUPTI_OWNER_THREAD, CUPTI_ACTIVITY_OBJECT_THREAD);
CUPTI_SAME_VALUE(CUPTI_OWNER_DEVICE, CUPTI_ACTIVITY_OBJECT_DEVICE);
CUPTI_SAME_VALUE(CUPTI_OWNER_CONTEXT, CUPTI_ACTIVITY_OBJECT_CONTEXT);
CUPTI_SAME_VALUE(CUPTI_OWNER_STREAM, CUPTI_ACTIVITY_OBJECT_STREAM);

/* The memcpy packing of event.h keeps 5 bits per kind. */
_Static_assert(TRACE_COPY_KIND_MAX < 32 && TRACE_MEM_KIND_MAX < 32, "memcpy sub packing");

/* CUPTI's copy kind `v` as an enum trace_copy_kind; values this build does
 * not know become TRACE_COPY_UNKNOWN rather than a wrong kind. */
static unsigned decode_copy_kind(unsigned v)
{
	return v <= TRACE_COPY_KIND_MAX ? v : TRACE_COPY_UNKNOWN;
}

/* CUPTI's memory kind `v` as an enum trace_mem_kind (unknown values: UNKNOWN). */
static unsigned decode_mem_kind(unsigned v)
{
	return v <= TRACE_MEM_KIND_MAX ? v : TRACE_MEM_UNKNOWN;
}

/* CUPTI's synchronization type `v` as an enum trace_sync_kind (CUPTI has no
 * device type; unknown values: UNKNOWN). */
static unsigned decode_sync_kind(unsigned v)
{
	return v <= TRACE_SYNC_CONTEXT ? v : TRACE_SYNC_UNKNOWN;
}

/* A CUPTI int32 dimension or size that cannot be negative; a negative one
 * (no valid record has it) reads as 0, unknown. */
static uint32_t nonneg(int32_t v)
{
	return v < 0 ? 0 : (uint32_t)v;
}

/* An API return code for trace_event.sub (see CUPTI_DECODE_RESULT_TOO_BIG). */
static uint16_t result_sub(uint32_t result)
{
	int16_t v = result <= INT16_MAX ? (int16_t)result : CUPTI_DECODE_RESULT_TOO_BIG;
	return (uint16_t)v;
}

/* Sets ev's span from CUPTI's start and end and returns the decode status:
 * INVALID for a time beyond the session clock's range, UNTIMED when both are
 * 0, else EVENT (an end before the start marks the span open). */
static int decode_span(uint64_t start, uint64_t end, struct trace_event *ev)
{
	if (start > INT64_MAX || end > INT64_MAX)
		return CUPTI_DECODE_INVALID;
	ev->start = (int64_t)start;
	ev->end = (int64_t)end;
	if (start == 0 && end == 0)
		return CUPTI_DECODE_UNTIMED;
	if (end < start) {
		ev->end = ev->start;
		ev->flags |= TRACE_FLAG_OPEN;
	}
	return CUPTI_DECODE_EVENT;
}

/* Sets out's owner from a CUPTI object kind and id (NAME, MARKER and
 * OVERHEAD records). */
static void decode_object(CUpti_ActivityObjectKind kind, CUpti_ActivityObjectKindId id,
                          struct cupti_decoded *out)
{
	switch (kind) {
	case CUPTI_ACTIVITY_OBJECT_PROCESS:
		out->owner = CUPTI_OWNER_PROCESS;
		out->pid = id.pt.processId;
		break;
	case CUPTI_ACTIVITY_OBJECT_THREAD:
		out->owner = CUPTI_OWNER_THREAD;
		out->pid = id.pt.processId;
		out->tid = id.pt.threadId;
		break;
	case CUPTI_ACTIVITY_OBJECT_STREAM:
		out->stream = id.dcs.streamId;
		/* fall through */
	case CUPTI_ACTIVITY_OBJECT_CONTEXT:
		out->context = id.dcs.contextId;
		/* fall through */
	case CUPTI_ACTIVITY_OBJECT_DEVICE:
		out->device = id.dcs.deviceId;
		out->has_device = true;
		out->owner = (uint8_t)kind;
		break;
	default:
		out->owner = CUPTI_OWNER_UNKNOWN;
		break;
	}
}

/* Sets out's owner to the stream (device, context, stream) of a GPU activity. */
static void decode_stream_owner(uint32_t device, uint32_t context, uint32_t stream, struct cupti_decoded *out)
{
	out->owner = CUPTI_OWNER_STREAM;
	out->has_device = true;
	out->device = device;
	out->context = context;
	out->stream = stream;
}

/* --- one function per record struct ------------------------------------------- */

/* KERNEL and CONCURRENT_KERNEL records. */
static int decode_kernel(const CUpti_ActivityKernel10 *r, struct cupti_decoded *out)
{
	struct trace_launch *l = &out->launch;

	out->ev.kind = TRACE_KERNEL;
	out->ev.correlation = r->correlationId;
	decode_stream_owner(r->deviceId, r->contextId, r->streamId, out);
	out->name = r->name;
	out->grid_id = r->gridId;
	l->grid[0] = nonneg(r->gridX);
	l->grid[1] = nonneg(r->gridY);
	l->grid[2] = nonneg(r->gridZ);
	l->block[0] = nonneg(r->blockX);
	l->block[1] = nonneg(r->blockY);
	l->block[2] = nonneg(r->blockZ);
	l->registers = r->registersPerThread;
	l->static_smem = nonneg(r->staticSharedMemory);
	l->dynamic_smem = nonneg(r->dynamicSharedMemory);
	l->cluster[0] = r->clusterX;
	l->cluster[1] = r->clusterY;
	l->cluster[2] = r->clusterZ;
	return decode_span(r->start, r->end, &out->ev);
}

/* MEMCPY records (host, device and array copies on one device). */
static int decode_memcpy(const CUpti_ActivityMemcpy6 *r, struct cupti_decoded *out)
{
	out->ev.kind = TRACE_MEMCPY;
	out->ev.correlation = r->correlationId;
	out->ev.sub = trace_memcpy_sub(decode_copy_kind(r->copyKind), decode_mem_kind(r->srcKind),
	                               decode_mem_kind(r->dstKind));
	out->ev.u.bytes = r->bytes;
	decode_stream_owner(r->deviceId, r->contextId, r->streamId, out);
	out->runtime_correlation = r->runtimeCorrelationId;
	out->copy_count = r->copyCount;
	out->async = (r->flags & CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC) != 0;
	out->src_device = out->dst_device = r->deviceId;
	out->src_context = out->dst_context = r->contextId;
	return decode_span(r->start, r->end, &out->ev);
}

/* MEMCPY2 records (peer-to-peer copies between devices or contexts). */
static int decode_memcpy_peer(const CUpti_ActivityMemcpyPtoP4 *r, struct cupti_decoded *out)
{
	out->ev.kind = TRACE_MEMCPY;
	out->ev.correlation = r->correlationId;
	out->ev.sub = trace_memcpy_sub(decode_copy_kind(r->copyKind), decode_mem_kind(r->srcKind),
	                               decode_mem_kind(r->dstKind));
	out->ev.u.bytes = r->bytes;
	decode_stream_owner(r->deviceId, r->contextId, r->streamId, out);
	out->copy_count = 1;
	out->async = (r->flags & CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC) != 0;
	out->src_device = r->srcDeviceId;
	out->dst_device = r->dstDeviceId;
	out->src_context = r->srcContextId;
	out->dst_context = r->dstContextId;
	return decode_span(r->start, r->end, &out->ev);
}

/* MEMSET records. */
static int decode_memset(const CUpti_ActivityMemset4 *r, struct cupti_decoded *out)
{
	out->ev.kind = TRACE_MEMSET;
	out->ev.correlation = r->correlationId;
	out->ev.sub = (uint16_t)decode_mem_kind(r->memoryKind);
	out->ev.u.bytes = r->bytes;
	decode_stream_owner(r->deviceId, r->contextId, r->streamId, out);
	out->memset_value = r->value;
	out->async = (r->flags & CUPTI_ACTIVITY_FLAG_MEMSET_ASYNC) != 0;
	return decode_span(r->start, r->end, &out->ev);
}

/* SYNCHRONIZATION records: the host waited for a stream, event or context. */
static int decode_sync(const CUpti_ActivitySynchronization2 *r, struct cupti_decoded *out)
{
	out->ev.kind = TRACE_SYNC;
	out->ev.correlation = r->correlationId;
	out->ev.sub = (uint16_t)decode_sync_kind(r->type);
	out->context = r->contextId;
	if (r->streamId != CUPTI_SYNCHRONIZATION_INVALID_VALUE) {
		out->owner = CUPTI_OWNER_STREAM;
		out->stream = r->streamId;
	} else {
		out->owner = CUPTI_OWNER_CONTEXT;
	}
	if (r->cudaEventId != CUPTI_SYNCHRONIZATION_INVALID_VALUE) {
		out->has_sync_event = true;
		out->sync_event_id = r->cudaEventId;
		out->ev.u.sync.event = r->cudaEventId;
	}
	/* The header names a 32-bit "invalid" for this 64-bit field: take both
	 * widths as none. */
	if (r->cudaEventSyncId != CUPTI_SYNCHRONIZATION_INVALID_VALUE && r->cudaEventSyncId != UINT64_MAX)
		out->sync_event_sync_id = r->cudaEventSyncId;
	out->result = r->returnValue;
	return decode_span(r->start, r->end, &out->ev);
}

/* RUNTIME, DRIVER and INTERNAL_LAUNCH_API records (host API calls). */
static int decode_api(const CUpti_ActivityAPI *r, struct cupti_decoded *out)
{
	if (r->kind == CUPTI_ACTIVITY_KIND_RUNTIME) {
		out->cb_domain = CUPTI_CB_DOMAIN_RUNTIME_API;
		out->cbid = r->cbid;
	} else if (r->kind == CUPTI_ACTIVITY_KIND_DRIVER) {
		out->cb_domain = CUPTI_CB_DOMAIN_DRIVER_API;
		out->cbid = r->cbid;
	} else {
		/* An internal launch has no public function: its cbid is unused. */
		out->cb_domain = CUPTI_CB_DOMAIN_DRIVER_API;
		out->name = "internal kernel launch";
	}
	out->api_domain = (uint8_t)cupti_api_domain(out->cb_domain);
	out->result = r->returnValue;
	out->owner = CUPTI_OWNER_THREAD;
	out->pid = r->processId;
	out->tid = r->threadId;
	out->ev.kind = TRACE_API;
	out->ev.flags = out->api_domain;
	out->ev.sub = result_sub(r->returnValue);
	out->ev.correlation = r->correlationId;
	out->ev.u.api.cbid = out->cbid;
	return decode_span(r->start, r->end, &out->ev);
}

/* MEMORY2 records: one allocation or one release, at one instant. */
static int decode_memory(const CUpti_ActivityMemory4 *r, struct cupti_decoded *out)
{
	if (r->memoryOperationType == CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION)
		out->ev.kind = TRACE_MEM_ALLOC;
	else if (r->memoryOperationType == CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_RELEASE)
		out->ev.kind = TRACE_MEM_FREE;
	else
		return CUPTI_DECODE_INVALID;
	out->ev.correlation = r->correlationId;
	out->owner = CUPTI_OWNER_PROCESS;
	out->pid = r->processId;
	out->has_device = true;
	out->device = r->deviceId;
	out->context = r->contextId != CUPTI_INVALID_CONTEXT_ID ? r->contextId : 0;
	out->stream = r->streamId != CUPTI_INVALID_STREAM_ID ? r->streamId : 0;
	out->name = r->name;
	out->memop.address = r->address;
	out->memop.bytes = r->bytes;
	out->memop.device = r->deviceId;
	out->memop.mem_kind = (uint8_t)decode_mem_kind(r->memoryKind);
	out->memop_async = r->isAsync != 0;
	return decode_span(r->timestamp, r->timestamp, &out->ev);
}

/* OVERHEAD records: time CUPTI or the driver spent on its own work, shown as
 * an API span of unknown domain named after the overhead kind. */
static int decode_overhead(const CUpti_ActivityOverhead3 *r, struct cupti_decoded *out)
{
	decode_object(r->objectKind, r->objectId, out);
	out->cbid = (uint32_t)r->overheadKind;
	out->name = cupti_overhead_kind_name((uint32_t)r->overheadKind);
	out->ev.kind = TRACE_API;
	out->ev.flags = TRACE_API_UNKNOWN;
	out->ev.correlation = r->correlationId;
	out->ev.u.api.cbid = out->cbid;
	return decode_span(r->start, r->end, &out->ev);
}

/* MARKER records (NVTX seen through CUPTI): a mark, or one end of a range. */
static int decode_marker(const CUpti_ActivityMarker2 *r, struct cupti_decoded *out)
{
	int status;

	if (r->flags & CUPTI_ACTIVITY_FLAG_MARKER_INSTANTANEOUS) {
		out->ev.kind = TRACE_NVTX_MARK;
		status = CUPTI_DECODE_EVENT;
	} else if (r->flags & CUPTI_ACTIVITY_FLAG_MARKER_START) {
		out->ev.kind = TRACE_NVTX_RANGE;
		status = CUPTI_DECODE_MARKER_START;
	} else if (r->flags & CUPTI_ACTIVITY_FLAG_MARKER_END) {
		out->ev.kind = TRACE_NVTX_RANGE;
		status = CUPTI_DECODE_MARKER_END;
	} else {
		/* Synchronization markers and flags of later versions. */
		return CUPTI_DECODE_UNKNOWN;
	}
	decode_object(r->objectKind, r->objectId, out);
	out->marker_id = r->id;
	out->name = status == CUPTI_DECODE_MARKER_END ? NULL : r->name;
	out->domain = r->domain;
	int span = decode_span(r->timestamp, r->timestamp, &out->ev);
	return span == CUPTI_DECODE_EVENT ? status : span;
}

/* NAME records: a name given to a thread, device, context or stream. */
static int decode_name(const CUpti_ActivityName *r, struct cupti_decoded *out)
{
	decode_object(r->objectKind, r->objectId, out);
	out->name = r->name;
	return CUPTI_DECODE_NAME;
}

/* CONTEXT records: which device a context lives on. */
static int decode_context(const CUpti_ActivityContext3 *r, struct cupti_decoded *out)
{
	out->owner = CUPTI_OWNER_CONTEXT;
	out->has_device = true;
	out->device = r->deviceId;
	out->context = r->contextId;
	out->stream = r->nullStreamId;
	return CUPTI_DECODE_CONTEXT;
}

/* DEVICE records: the properties of one GPU. */
static int decode_device(const CUpti_ActivityDevice5 *r, struct cupti_decoded *out)
{
	struct trace_device *d = &out->device_info;
	uint64_t threads_per_sm = (uint64_t)r->maxWarpsPerMultiprocessor * r->numThreadsPerWarp;

	out->owner = CUPTI_OWNER_DEVICE;
	out->has_device = true;
	out->device = r->id;
	out->name = r->name;
	d->id = r->id;
	d->api = TRACE_DEVICE_CUDA;
	_Static_assert(sizeof(d->uuid) == sizeof(r->uuid.bytes), "CUDA uuid size");
	memcpy(d->uuid, r->uuid.bytes, sizeof(d->uuid));
	d->cc_major = r->computeCapabilityMajor;
	d->cc_minor = r->computeCapabilityMinor;
	d->sm_count = r->numMultiprocessors;
	d->global_memory = r->globalMemorySize;
	d->warp_size = r->numThreadsPerWarp;
	d->max_threads_per_block = r->maxThreadsPerBlock;
	d->max_threads_per_sm = threads_per_sm <= UINT32_MAX ? (uint32_t)threads_per_sm : 0;
	d->max_blocks_per_sm = r->maxBlocksPerMultiprocessor;
	d->regs_per_block = r->maxRegistersPerBlock;
	d->regs_per_sm = r->maxRegistersPerMultiprocessor;
	d->smem_per_block = r->maxSharedMemoryPerBlock;
	d->smem_per_sm = r->maxSharedMemoryPerMultiprocessor;
	d->core_clock_khz = r->coreClockRate;
	/* CUPTI reports the memory bandwidth, not the clock and bus width: those
	 * stay 0 (unknown). */
	return CUPTI_DECODE_DEVICE;
}

/* --- public ------------------------------------------------------------------ */

int cupti_decode(const CUpti_Activity *rec, struct cupti_decoded *out)
{
	memset(out, 0, sizeof(*out));
	if (!rec)
		return CUPTI_DECODE_INVALID;
	out->cupti_kind = (uint32_t)rec->kind;
	switch (rec->kind) {
	case CUPTI_ACTIVITY_KIND_KERNEL:
	case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
		return decode_kernel((const CUpti_ActivityKernel10 *)rec, out);
	case CUPTI_ACTIVITY_KIND_MEMCPY:
		return decode_memcpy((const CUpti_ActivityMemcpy6 *)rec, out);
	case CUPTI_ACTIVITY_KIND_MEMCPY2:
		return decode_memcpy_peer((const CUpti_ActivityMemcpyPtoP4 *)rec, out);
	case CUPTI_ACTIVITY_KIND_MEMSET:
		return decode_memset((const CUpti_ActivityMemset4 *)rec, out);
	case CUPTI_ACTIVITY_KIND_SYNCHRONIZATION:
		return decode_sync((const CUpti_ActivitySynchronization2 *)rec, out);
	case CUPTI_ACTIVITY_KIND_RUNTIME:
	case CUPTI_ACTIVITY_KIND_DRIVER:
	case CUPTI_ACTIVITY_KIND_INTERNAL_LAUNCH_API:
		return decode_api((const CUpti_ActivityAPI *)rec, out);
	case CUPTI_ACTIVITY_KIND_MEMORY2:
		return decode_memory((const CUpti_ActivityMemory4 *)rec, out);
	case CUPTI_ACTIVITY_KIND_OVERHEAD:
		return decode_overhead((const CUpti_ActivityOverhead3 *)rec, out);
	case CUPTI_ACTIVITY_KIND_MARKER:
		return decode_marker((const CUpti_ActivityMarker2 *)rec, out);
	case CUPTI_ACTIVITY_KIND_NAME:
		return decode_name((const CUpti_ActivityName *)rec, out);
	case CUPTI_ACTIVITY_KIND_CONTEXT:
		return decode_context((const CUpti_ActivityContext3 *)rec, out);
	case CUPTI_ACTIVITY_KIND_DEVICE:
		return decode_device((const CUpti_ActivityDevice5 *)rec, out);
	default:
		return CUPTI_DECODE_UNKNOWN;
	}
}

bool cupti_decode_version_supported(uint32_t api_version)
{
	/* Since CUDA 13.0 the version reads xxyyzz with xx the CUDA major
	 * version; before, it was a small counter (v28 for CUDA 12.9), whose
	 * record versions differ from these. */
	return api_version >= 10000 && api_version / 10000 == CUPTI_API_VERSION / 10000;
}

unsigned cupti_sync_kind_for_api(unsigned sync_kind, unsigned api_domain, uint32_t cbid)
{
	if (sync_kind != TRACE_SYNC_CONTEXT || api_domain != TRACE_API_CUDA_RUNTIME)
		return sync_kind;
	if (cbid == CUPTI_RUNTIME_TRACE_CBID_cudaDeviceSynchronize_v3020 ||
	    cbid == CUPTI_RUNTIME_TRACE_CBID_cudaThreadSynchronize_v3020)
		return TRACE_SYNC_DEVICE;
	return sync_kind;
}

unsigned cupti_api_domain(uint32_t cb_domain)
{
	switch (cb_domain) {
	case CUPTI_CB_DOMAIN_RUNTIME_API:
		return TRACE_API_CUDA_RUNTIME;
	case CUPTI_CB_DOMAIN_DRIVER_API:
		return TRACE_API_CUDA_DRIVER;
	default:
		return TRACE_API_UNKNOWN;
	}
}

const char *cupti_overhead_kind_name(uint32_t overhead_kind)
{
	switch (overhead_kind) {
	case CUPTI_ACTIVITY_OVERHEAD_DRIVER_COMPILER:
		return "driver compiler";
	case CUPTI_ACTIVITY_OVERHEAD_CUPTI_BUFFER_FLUSH:
		return "CUPTI buffer flush";
	case CUPTI_ACTIVITY_OVERHEAD_CUPTI_INSTRUMENTATION:
		return "CUPTI instrumentation";
	case CUPTI_ACTIVITY_OVERHEAD_CUPTI_RESOURCE:
		return "CUPTI resource";
	case CUPTI_ACTIVITY_OVERHEAD_RUNTIME_TRIGGERED_MODULE_LOADING:
		return "runtime module loading";
	case CUPTI_ACTIVITY_OVERHEAD_LAZY_FUNCTION_LOADING:
		return "lazy function loading";
	case CUPTI_ACTIVITY_OVERHEAD_COMMAND_BUFFER_FULL:
		return "command buffer full";
	case CUPTI_ACTIVITY_OVERHEAD_ACTIVITY_BUFFER_REQUEST:
		return "activity buffer request";
	case CUPTI_ACTIVITY_OVERHEAD_UVM_ACTIVITY_INIT:
		return "UVM activity init";
	default:
		return "CUPTI overhead";
	}
}

const char *cupti_activity_kind_name(uint32_t kind)
{
	switch (kind) {
	case CUPTI_ACTIVITY_KIND_MEMCPY:
		return "MEMCPY";
	case CUPTI_ACTIVITY_KIND_MEMSET:
		return "MEMSET";
	case CUPTI_ACTIVITY_KIND_KERNEL:
		return "KERNEL";
	case CUPTI_ACTIVITY_KIND_DRIVER:
		return "DRIVER";
	case CUPTI_ACTIVITY_KIND_RUNTIME:
		return "RUNTIME";
	case CUPTI_ACTIVITY_KIND_DEVICE:
		return "DEVICE";
	case CUPTI_ACTIVITY_KIND_CONTEXT:
		return "CONTEXT";
	case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
		return "CONCURRENT_KERNEL";
	case CUPTI_ACTIVITY_KIND_NAME:
		return "NAME";
	case CUPTI_ACTIVITY_KIND_MARKER:
		return "MARKER";
	case CUPTI_ACTIVITY_KIND_MARKER_DATA:
		return "MARKER_DATA";
	case CUPTI_ACTIVITY_KIND_OVERHEAD:
		return "OVERHEAD";
	case CUPTI_ACTIVITY_KIND_MEMCPY2:
		return "MEMCPY2";
	case CUPTI_ACTIVITY_KIND_CUDA_EVENT:
		return "CUDA_EVENT";
	case CUPTI_ACTIVITY_KIND_STREAM:
		return "STREAM";
	case CUPTI_ACTIVITY_KIND_SYNCHRONIZATION:
		return "SYNCHRONIZATION";
	case CUPTI_ACTIVITY_KIND_INTERNAL_LAUNCH_API:
		return "INTERNAL_LAUNCH_API";
	case CUPTI_ACTIVITY_KIND_MEMORY2:
		return "MEMORY2";
	case CUPTI_ACTIVITY_KIND_MEMORY_POOL:
		return "MEMORY_POOL";
	case CUPTI_ACTIVITY_KIND_GRAPH_TRACE:
		return "GRAPH_TRACE";
	case CUPTI_ACTIVITY_KIND_JIT:
		return "JIT";
	default:
		return "unknown";
	}
}
