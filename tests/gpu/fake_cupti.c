/*
 * fake_cupti.c - a stand-in libcupti for rehearsing the GPU check without
 * a GPU (tests/gpu/record_check.sh with TSTOP_GPU_FAKE=1).
 *
 * Built as a shared library named libcupti.so.<major> and handed to the
 * collector with TSTOP_CUPTI_LIBRARY, it implements the CUPTI functions the
 * collector resolves (with the prototypes of the installed cupti headers)
 * and one of its own, fake_cupti_run(), which the stand-in program
 * (fake_streams.c) calls after doing what the CUDA driver does at cuInit
 * (calling the collector's InitializeInjection). fake_cupti_run() plays the
 * CUDA sample's workload (samples/cuda/streams_work.cu) the way CUPTI
 * reports it: the callback API at each API entry and exit, a context
 * creation, and activity records laid out with the real cupti structs
 * (kernels with the sample's mangled names and shapes, copies, a memset,
 * synchronizations, allocations, runtime and driver API records, a
 * CONTEXT and a DEVICE record), delivered through the registered buffer
 * callbacks when the collector flushes. Then it prints the same report the
 * sample prints, so that the same checks run on either.
 *
 * Everything observable is what CUPTI would report; the timings are
 * invented (a kernel runs 50 us, "spin" 2 ms), so this rehearses the
 * capture path and the checks, not CUPTI or the GPU.
 */
#include <cupti.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FAKE_EXPORT      __attribute__((visibility("default")))
#define FAKE_CTX         ((CUcontext)(uintptr_t)0x1000) /* CUPTI context 1 */
#define FAKE_DEVICE_NAME "tstop dry-run GPU"

void fake_cupti_run(FILE *report) FAKE_EXPORT;

static struct {
	pthread_mutex_t lock;
	CUpti_BuffersCallbackRequestFunc request;
	CUpti_BuffersCallbackCompleteFunc complete;
	CUpti_TimestampCallbackFunc timestamp;
	CUpti_CallbackFunc callback;
	void *userdata;
	uint8_t enabled_rt[1024], enabled_drv[1024], resource;
	uint8_t kind[64];
	uint8_t pending[1 << 20]; /* records not yet handed over */
	size_t npending;
	size_t dropped;
	uint32_t next_corr;
	uint64_t busy[32]; /* per stream id: when its last work ends */
} fake = {.lock = PTHREAD_MUTEX_INITIALIZER, .next_corr = 1};

/* --- the CUPTI functions the collector uses ------------------------------------ */

FAKE_EXPORT CUptiResult CUPTIAPI cuptiGetVersion(uint32_t *version)
{
	*version = CUPTI_API_VERSION;
	return CUPTI_SUCCESS;
}

FAKE_EXPORT CUptiResult CUPTIAPI cuptiGetResultString(CUptiResult result, const char **str)
{
	*str = result == CUPTI_SUCCESS ? "CUPTI_SUCCESS" : "CUPTI_ERROR_FAKE";
	return CUPTI_SUCCESS;
}

FAKE_EXPORT CUptiResult CUPTIAPI cuptiGetTimestamp(uint64_t *timestamp)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	*timestamp = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return CUPTI_SUCCESS;
}

FAKE_EXPORT CUptiResult CUPTIAPI cuptiSetThreadIdType(CUpti_ActivityThreadIdType type)
{
	return type == CUPTI_ACTIVITY_THREAD_ID_TYPE_SYSTEM ? CUPTI_SUCCESS : CUPTI_ERROR_INVALID_PARAMETER;
}

FAKE_EXPORT CUptiResult CUPTIAPI cuptiActivityRegisterTimestampCallback(CUpti_TimestampCallbackFunc fn)
{
	fake.timestamp = fn;
	return fn ? CUPTI_SUCCESS : CUPTI_ERROR_INVALID_PARAMETER;
}

FAKE_EXPORT CUptiResult CUPTIAPI cuptiActivityRegisterCallbacks(CUpti_BuffersCallbackRequestFunc request,
                                                                CUpti_BuffersCallbackCompleteFunc complete)
{
	fake.request = request;
	fake.complete = complete;
	return request && complete ? CUPTI_SUCCESS : CUPTI_ERROR_INVALID_PARAMETER;
}

FAKE_EXPORT CUptiResult CUPTIAPI cuptiActivityEnable(CUpti_ActivityKind kind)
{
	if (kind == CUPTI_ACTIVITY_KIND_KERNEL)
		return CUPTI_ERROR_NOT_COMPATIBLE; /* the collector must never ask for it */
	if ((unsigned)kind >= sizeof(fake.kind))
		return CUPTI_ERROR_INVALID_KIND;
	fake.kind[kind] = 1;
	return CUPTI_SUCCESS;
}

FAKE_EXPORT CUptiResult CUPTIAPI cuptiActivityDisable(CUpti_ActivityKind kind)
{
	if ((unsigned)kind >= sizeof(fake.kind))
		return CUPTI_ERROR_INVALID_KIND;
	fake.kind[kind] = 0;
	return CUPTI_SUCCESS;
}

/* Bytes of a record of `kind` as laid out below. */
static size_t fake_size(CUpti_ActivityKind kind)
{
	switch (kind) {
	case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
		return sizeof(CUpti_ActivityKernel10);
	case CUPTI_ACTIVITY_KIND_MEMCPY:
		return sizeof(CUpti_ActivityMemcpy6);
	case CUPTI_ACTIVITY_KIND_MEMSET:
		return sizeof(CUpti_ActivityMemset4);
	case CUPTI_ACTIVITY_KIND_SYNCHRONIZATION:
		return sizeof(CUpti_ActivitySynchronization2);
	case CUPTI_ACTIVITY_KIND_RUNTIME:
	case CUPTI_ACTIVITY_KIND_DRIVER:
		return sizeof(CUpti_ActivityAPI);
	case CUPTI_ACTIVITY_KIND_MEMORY2:
		return sizeof(CUpti_ActivityMemory4);
	case CUPTI_ACTIVITY_KIND_CONTEXT:
		return sizeof(CUpti_ActivityContext3);
	case CUPTI_ACTIVITY_KIND_DEVICE:
		return sizeof(CUpti_ActivityDevice5);
	default:
		return 0;
	}
}

/* Records lie back to back, each 8-byte aligned; *record is the cursor. */
FAKE_EXPORT CUptiResult CUPTIAPI cuptiActivityGetNextRecord(uint8_t *buffer, size_t valid,
                                                            CUpti_Activity **record)
{
	uint8_t *p = buffer;
	if (*record)
		p = (uint8_t *)*record + ((fake_size((*record)->kind) + 7) & ~(size_t)7);
	if (p >= buffer + valid)
		return CUPTI_ERROR_MAX_LIMIT_REACHED;
	*record = (CUpti_Activity *)p;
	return CUPTI_SUCCESS;
}

FAKE_EXPORT CUptiResult CUPTIAPI cuptiActivityGetNumDroppedRecords(CUcontext ctx, uint32_t stream,
                                                                   size_t *dropped)
{
	pthread_mutex_lock(&fake.lock);
	*dropped = fake.dropped;
	fake.dropped = 0;
	pthread_mutex_unlock(&fake.lock);
	return CUPTI_SUCCESS;
}

/* Hands every pending record over in one buffer (forced or not: the fake's
 * records are complete when written). */
FAKE_EXPORT CUptiResult CUPTIAPI cuptiActivityFlushAll(uint32_t flag)
{
	uint8_t *buf = NULL;
	size_t size = 0, max_records = 0, n;

	if (!fake.request || !fake.complete)
		return CUPTI_ERROR_INVALID_OPERATION;
	pthread_mutex_lock(&fake.lock);
	n = fake.npending;
	if (n == 0) {
		pthread_mutex_unlock(&fake.lock);
		return CUPTI_SUCCESS;
	}
	fake.request(&buf, &size, &max_records);
	if (!buf || size < n) {
		fake.dropped += 1; /* counted, as CUPTI does */
		fake.npending = 0;
		pthread_mutex_unlock(&fake.lock);
		return CUPTI_SUCCESS;
	}
	memcpy(buf, fake.pending, n);
	fake.npending = 0;
	pthread_mutex_unlock(&fake.lock);
	fake.complete(NULL, 0, buf, size, n);
	return CUPTI_SUCCESS;
}

/* The callback names this fake reports (CUPTI 13.0's spelling). */
static const struct {
	CUpti_CallbackDomain domain;
	uint32_t cbid;
	const char *name;
} fake_names[] = {
#define RT(f, v) {CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_##f##_##v, #f "_" #v},
#define DRV(f)   {CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_##f, #f},
    RT(cudaGetDevice, v3020) RT(cudaGetDeviceProperties, v3020) RT(cudaStreamCreateWithFlags, v5000)
        RT(cudaEventCreate, v3020) RT(cudaMalloc, v3020) RT(cudaMallocHost, v3020) RT(cudaMemcpy, v3020)
            RT(cudaMemcpyAsync, v3020) RT(cudaMemsetAsync, v3020) RT(cudaLaunchKernel, v7000)
                RT(cudaEventRecord, v3020) RT(cudaStreamWaitEvent, v3020) RT(cudaStreamSynchronize, v3020)
                    RT(cudaEventSynchronize, v3020) RT(cudaDeviceSynchronize, v3020) RT(cudaFree, v3020)
                        DRV(cuLaunchKernel) DRV(cuMemAlloc_v2) DRV(cuMemFree_v2)
#undef RT
#undef DRV
};

FAKE_EXPORT CUptiResult CUPTIAPI cuptiGetCallbackName(CUpti_CallbackDomain domain, uint32_t cbid,
                                                      const char **name)
{
	for (size_t i = 0; i < sizeof(fake_names) / sizeof(fake_names[0]); i++) {
		if (fake_names[i].domain == domain && fake_names[i].cbid == cbid) {
			*name = fake_names[i].name;
			return CUPTI_SUCCESS;
		}
	}
	return CUPTI_ERROR_INVALID_PARAMETER;
}

FAKE_EXPORT CUptiResult CUPTIAPI cuptiSubscribe(CUpti_SubscriberHandle *subscriber,
                                                CUpti_CallbackFunc callback, void *userdata)
{
	if (fake.callback)
		return CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED;
	fake.callback = callback;
	fake.userdata = userdata;
	*subscriber = (CUpti_SubscriberHandle)&fake;
	return CUPTI_SUCCESS;
}

FAKE_EXPORT CUptiResult CUPTIAPI cuptiEnableCallback(uint32_t enable, CUpti_SubscriberHandle subscriber,
                                                     CUpti_CallbackDomain domain, CUpti_CallbackId cbid)
{
	if (subscriber != (CUpti_SubscriberHandle)&fake || cbid >= 1024)
		return CUPTI_ERROR_INVALID_PARAMETER;
	if (domain == CUPTI_CB_DOMAIN_RUNTIME_API)
		fake.enabled_rt[cbid] = (uint8_t)enable;
	else if (domain == CUPTI_CB_DOMAIN_DRIVER_API)
		fake.enabled_drv[cbid] = (uint8_t)enable;
	else if (domain == CUPTI_CB_DOMAIN_RESOURCE && cbid == CUPTI_CBID_RESOURCE_CONTEXT_CREATED)
		fake.resource = (uint8_t)enable;
	else
		return CUPTI_ERROR_INVALID_PARAMETER;
	return CUPTI_SUCCESS;
}

FAKE_EXPORT CUptiResult CUPTIAPI cuptiGetContextId(CUcontext context, uint32_t *id)
{
	*id = (uint32_t)((uintptr_t)context >> 12);
	return CUPTI_SUCCESS;
}

FAKE_EXPORT CUptiResult CUPTIAPI cuptiGetDeviceId(CUcontext context, uint32_t *id)
{
	*id = 0;
	return CUPTI_SUCCESS;
}

FAKE_EXPORT CUptiResult CUPTIAPI cuptiGetStreamId(CUcontext context, CUstream stream, uint32_t *id)
{
	*id = stream ? 0 : 7;
	return stream ? CUPTI_ERROR_INVALID_STREAM : CUPTI_SUCCESS;
}

/* --- the workload ----------------------------------------------------------------- */

/* The session clock when the collector gave its callback, else CUPTI's. */
static uint64_t fake_now(void)
{
	uint64_t t = 0;
	if (fake.timestamp)
		return fake.timestamp();
	cuptiGetTimestamp(&t);
	return t;
}

/* Appends a zeroed record of `kind` when that kind is enabled; NULL when
 * it is not (the caller then fills nothing). */
static void *fake_record(CUpti_ActivityKind kind)
{
	size_t size = fake_size(kind), step = (size + 7) & ~(size_t)7;
	void *r = NULL;

	if (!fake.kind[kind])
		return NULL;
	pthread_mutex_lock(&fake.lock);
	if (fake.npending + step <= sizeof(fake.pending)) {
		r = fake.pending + fake.npending;
		memset(r, 0, step);
		((CUpti_Activity *)r)->kind = kind;
		fake.npending += step;
	} else {
		fake.dropped++;
	}
	pthread_mutex_unlock(&fake.lock);
	return r;
}

/* One API call in flight. */
struct fake_call {
	CUpti_CallbackDomain domain;
	uint32_t cbid;
	uint32_t corr;
	uint64_t start;
};

/* Calls the subscriber for (domain, cbid) at `site` when it asked for it. */
static void fake_callback(const struct fake_call *c, CUpti_ApiCallbackSite site)
{
	const uint8_t *on = c->domain == CUPTI_CB_DOMAIN_RUNTIME_API ? fake.enabled_rt : fake.enabled_drv;
	CUpti_CallbackData cd;
	const char *name = NULL;

	if (!fake.callback || c->cbid >= 1024 || !on[c->cbid])
		return;
	memset(&cd, 0, sizeof(cd));
	cuptiGetCallbackName(c->domain, c->cbid, &name);
	cd.callbackSite = site;
	cd.functionName = name;
	cd.context = FAKE_CTX;
	cd.correlationId = c->corr;
	fake.callback(fake.userdata, c->domain, c->cbid, &cd);
}

/* Starts API call (domain, cbid): a correlation id, the entry callback. */
static struct fake_call fake_enter(CUpti_CallbackDomain domain, uint32_t cbid)
{
	struct fake_call c = {.domain = domain, .cbid = cbid, .corr = fake.next_corr++};
	fake_callback(&c, CUPTI_API_ENTER);
	c.start = fake_now();
	return c;
}

/* Ends the call: the exit callback and its RUNTIME or DRIVER record. */
static void fake_exit(const struct fake_call *c)
{
	uint64_t end = fake_now();
	fake_callback(c, CUPTI_API_EXIT);
	CUpti_ActivityAPI *a =
	    fake_record(c->domain == CUPTI_CB_DOMAIN_RUNTIME_API ? CUPTI_ACTIVITY_KIND_RUNTIME
	                                                         : CUPTI_ACTIVITY_KIND_DRIVER);
	if (!a)
		return;
	a->cbid = c->cbid;
	a->start = c->start;
	a->end = end > c->start ? end : c->start + 1;
	a->processId = (uint32_t)getpid();
	a->threadId = (uint32_t)syscall(SYS_gettid);
	a->correlationId = c->corr;
}

/* A runtime call that only exists on the host. */
static void fake_host_call(uint32_t cbid)
{
	struct fake_call c = fake_enter(CUPTI_CB_DOMAIN_RUNTIME_API, cbid);
	fake_exit(&c);
}

/* The span of `ns` of GPU work on `stream` queued now: after the stream's
 * previous work, a little after the launch. */
static void fake_gpu_span(uint32_t stream, uint64_t ns, uint64_t *start, uint64_t *end)
{
	uint64_t now = fake_now() + 3000;
	*start = fake.busy[stream] > now ? fake.busy[stream] : now;
	*end = *start + ns;
	fake.busy[stream] = *end;
}

/* The sample's streams (index 0..2) as CUPTI numbers them; the default
 * stream is the context's NULL stream, 7. */
static const uint32_t fake_stream_id[3] = {13, 14, 15};
#define FAKE_NULL_STREAM 7

/* One kernel launch of the sample. */
struct fake_kernel {
	const char *label, *symbol;
	int stream;
	unsigned grid[3], block[3], dsmem, regs;
	uint64_t ns;
};

static void fake_launch(const struct fake_kernel *k, FILE *report)
{
	struct fake_call c =
	    fake_enter(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000);
	struct fake_call d = fake_enter(CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel);
	CUpti_ActivityKernel10 *r = fake_record(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	if (r) {
		uint64_t s, e;
		fake_gpu_span(fake_stream_id[k->stream], k->ns, &s, &e);
		r->start = s;
		r->end = e;
		r->completed = e;
		r->deviceId = 0;
		r->contextId = 1;
		r->streamId = fake_stream_id[k->stream];
		r->correlationId = c.corr;
		r->gridX = (int32_t)k->grid[0];
		r->gridY = (int32_t)k->grid[1];
		r->gridZ = (int32_t)k->grid[2];
		r->blockX = (int32_t)k->block[0];
		r->blockY = (int32_t)k->block[1];
		r->blockZ = (int32_t)k->block[2];
		r->dynamicSharedMemory = (int32_t)k->dsmem;
		r->registersPerThread = (uint16_t)k->regs;
		r->name = k->symbol;
	}
	fake_exit(&d);
	fake_exit(&c);
	fprintf(report, "kernel %s stream %d grid %u,%u,%u block %u,%u,%u dynamic_smem %u symbol %s\n",
	        k->label, k->stream, k->grid[0], k->grid[1], k->grid[2], k->block[0], k->block[1],
	        k->block[2], k->dsmem, k->symbol);
}

/* One copy: cudaMemcpy on the NULL stream (stream < 0) or cudaMemcpyAsync. */
static void fake_copy(int stream, unsigned copy_kind, unsigned src, unsigned dst, uint64_t bytes,
                      FILE *report)
{
	static const char *const copy_names[] = {"?", "HtoD", "DtoH", "?", "?", "?", "?", "?", "DtoD"};
	static const char *const mem_names[] = {"?", "pageable", "pinned", "device"};
	uint32_t sid = stream < 0 ? FAKE_NULL_STREAM : fake_stream_id[stream];
	struct fake_call c = fake_enter(CUPTI_CB_DOMAIN_RUNTIME_API,
	                                stream < 0 ? CUPTI_RUNTIME_TRACE_CBID_cudaMemcpy_v3020
	                                           : CUPTI_RUNTIME_TRACE_CBID_cudaMemcpyAsync_v3020);
	CUpti_ActivityMemcpy6 *r = fake_record(CUPTI_ACTIVITY_KIND_MEMCPY);
	if (r) {
		uint64_t s, e;
		fake_gpu_span(sid, 1000 + bytes / 20, &s, &e);
		r->copyKind = (uint8_t)copy_kind;
		r->srcKind = (uint8_t)src;
		r->dstKind = (uint8_t)dst;
		r->flags = stream < 0 ? 0 : CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC;
		r->bytes = bytes;
		r->start = s;
		r->end = e;
		r->deviceId = 0;
		r->contextId = 1;
		r->streamId = sid;
		r->correlationId = c.corr + 100000; /* as if the driver call's */
		r->runtimeCorrelationId = c.corr;
		r->copyCount = 1;
	}
	fake_exit(&c);
	fprintf(report, "copy %s %s->%s bytes %llu %s\n", copy_names[copy_kind], mem_names[src],
	        mem_names[dst], (unsigned long long)bytes, stream < 0 ? "sync" : "async");
}

/* A synchronization call and its record. */
static void fake_sync(uint32_t cbid, CUpti_ActivitySynchronizationType type, int stream, uint32_t event)
{
	struct fake_call c = fake_enter(CUPTI_CB_DOMAIN_RUNTIME_API, cbid);
	CUpti_ActivitySynchronization2 *r = fake_record(CUPTI_ACTIVITY_KIND_SYNCHRONIZATION);
	if (r) {
		uint32_t sid = stream >= 0 ? fake_stream_id[stream] : 0;
		uint64_t s = fake_now(), e = s + 2000;
		if (stream >= 0 && fake.busy[sid] > s)
			e = fake.busy[sid] + 1000;
		r->type = type;
		r->start = s;
		r->end = e;
		r->correlationId = c.corr;
		r->contextId = 1;
		r->streamId = stream >= 0 ? sid : CUPTI_SYNCHRONIZATION_INVALID_VALUE;
		r->cudaEventId = event ? event : CUPTI_SYNCHRONIZATION_INVALID_VALUE;
		r->cudaEventSyncId = CUPTI_SYNCHRONIZATION_INVALID_VALUE;
	}
	fake_exit(&c);
}

/* An allocation or release through the runtime, with its driver call. */
static void fake_memory(bool alloc, CUpti_ActivityMemoryKind kind, uint64_t address, uint64_t bytes)
{
	uint32_t rt =
	    alloc ? (kind == CUPTI_ACTIVITY_MEMORY_KIND_PINNED ? CUPTI_RUNTIME_TRACE_CBID_cudaMallocHost_v3020
	                                                       : CUPTI_RUNTIME_TRACE_CBID_cudaMalloc_v3020)
	          : CUPTI_RUNTIME_TRACE_CBID_cudaFree_v3020;
	struct fake_call c = fake_enter(CUPTI_CB_DOMAIN_RUNTIME_API, rt);
	struct fake_call d =
	    fake_enter(CUPTI_CB_DOMAIN_DRIVER_API,
	               alloc ? CUPTI_DRIVER_TRACE_CBID_cuMemAlloc_v2 : CUPTI_DRIVER_TRACE_CBID_cuMemFree_v2);
	CUpti_ActivityMemory4 *r = fake_record(CUPTI_ACTIVITY_KIND_MEMORY2);
	if (r) {
		r->memoryOperationType = alloc ? CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION
		                               : CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_RELEASE;
		r->memoryKind = kind;
		r->correlationId = d.corr;
		r->address = address;
		r->bytes = bytes;
		r->timestamp = fake_now();
		r->processId = (uint32_t)getpid();
		r->deviceId = 0;
		r->contextId = 1;
		r->streamId = CUPTI_INVALID_STREAM_ID;
	}
	fake_exit(&d);
	fake_exit(&c);
}

/* Plays the sample's workload (see the file comment) and prints its report
 * to `report`. */
void fake_cupti_run(FILE *report)
{
	const uint64_t n = 1u << 20, bytes = n * 4, sums = 120 * 4;
	const uint64_t base = 0x7f4000000000ull;
	static const struct fake_kernel kernels[] = {
	    {"fill", "_Z4fillPffi", 2, {32, 16, 2}, {256, 1, 1}, 0, 16, 40000},
	    {"scale", "_Z5scalePffi", 0, {2048, 1, 1}, {512, 1, 1}, 0, 16, 30000},
	    {"axpy", "_Z4axpyIfEvT_PKS0_PS0_i", 1, {64, 4, 1}, {128, 2, 1}, 0, 18, 60000},
	    {"block_sum", "_Z9block_sumILi256EEvPKfPfi", 1, {120, 1, 1}, {256, 1, 1}, 1024, 20, 50000},
	    {"spin", "_Z4spinyPi", 2, {1, 1, 1}, {32, 1, 1}, 0, 12, 2000000},
	};
	CUpti_ResourceData rd;

	/* The primary context appears with the first runtime call. */
	fake_host_call(CUPTI_RUNTIME_TRACE_CBID_cudaGetDevice_v3020);
	memset(&rd, 0, sizeof(rd));
	rd.context = FAKE_CTX;
	if (fake.callback && fake.resource)
		fake.callback(fake.userdata, CUPTI_CB_DOMAIN_RESOURCE, CUPTI_CBID_RESOURCE_CONTEXT_CREATED,
		              &rd);
	CUpti_ActivityContext3 *ctx = fake_record(CUPTI_ACTIVITY_KIND_CONTEXT);
	if (ctx) {
		ctx->contextId = 1;
		ctx->deviceId = 0;
		ctx->nullStreamId = FAKE_NULL_STREAM;
	}
	CUpti_ActivityDevice5 *dev = fake_record(CUPTI_ACTIVITY_KIND_DEVICE);
	if (dev) {
		dev->id = 0;
		dev->computeCapabilityMajor = 9;
		dev->computeCapabilityMinor = 0;
		dev->numMultiprocessors = 132;
		dev->numThreadsPerWarp = 32;
		dev->globalMemorySize = 80ull << 30;
		dev->name = strdup(FAKE_DEVICE_NAME); /* the client frees it */
	}
	fake_host_call(CUPTI_RUNTIME_TRACE_CBID_cudaGetDeviceProperties_v3020);
	fprintf(report, "device 0 %s (sm_90)\n", FAKE_DEVICE_NAME);
	for (int i = 0; i < 3; i++)
		fake_host_call(CUPTI_RUNTIME_TRACE_CBID_cudaStreamCreateWithFlags_v5000);
	for (int i = 0; i < 3; i++)
		fake_host_call(CUPTI_RUNTIME_TRACE_CBID_cudaEventCreate_v3020);
	for (int i = 0; i < 3; i++)
		fake_memory(true, CUPTI_ACTIVITY_MEMORY_KIND_DEVICE, base + (uint64_t)i * bytes, bytes);
	fake_memory(true, CUPTI_ACTIVITY_MEMORY_KIND_DEVICE, base + 3 * bytes, sums);
	fake_memory(true, CUPTI_ACTIVITY_MEMORY_KIND_DEVICE, base + 4 * bytes, 4);
	fake_memory(true, CUPTI_ACTIVITY_MEMORY_KIND_PINNED, base + 8 * bytes, bytes);

	fprintf(report, "launches 7\n");
	fake_launch(&kernels[0], report);
	for (int i = 0; i < 3; i++)
		fake_launch(&kernels[1], report);
	fake_host_call(CUPTI_RUNTIME_TRACE_CBID_cudaEventRecord_v3020);
	fake_sync(CUPTI_RUNTIME_TRACE_CBID_cudaStreamWaitEvent_v3020,
	          CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_WAIT_EVENT, 1, 1);
	fake_launch(&kernels[2], report);
	fake_sync(CUPTI_RUNTIME_TRACE_CBID_cudaStreamSynchronize_v3020,
	          CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE, 2, 0);
	fake_launch(&kernels[3], report);
	fake_host_call(CUPTI_RUNTIME_TRACE_CBID_cudaEventRecord_v3020);
	fake_launch(&kernels[4], report);
	fake_host_call(CUPTI_RUNTIME_TRACE_CBID_cudaEventRecord_v3020);
	fake_sync(CUPTI_RUNTIME_TRACE_CBID_cudaEventSynchronize_v3020,
	          CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_EVENT_SYNCHRONIZE, -1, 3);

	fprintf(report, "copies 6\n");
	fake_copy(-1, CUPTI_ACTIVITY_MEMCPY_KIND_HTOD, CUPTI_ACTIVITY_MEMORY_KIND_PAGEABLE,
	          CUPTI_ACTIVITY_MEMORY_KIND_DEVICE, bytes, report);
	fake_copy(1, CUPTI_ACTIVITY_MEMCPY_KIND_HTOD, CUPTI_ACTIVITY_MEMORY_KIND_PINNED,
	          CUPTI_ACTIVITY_MEMORY_KIND_DEVICE, bytes, report);
	fake_copy(1, CUPTI_ACTIVITY_MEMCPY_KIND_DTOD, CUPTI_ACTIVITY_MEMORY_KIND_DEVICE,
	          CUPTI_ACTIVITY_MEMORY_KIND_DEVICE, bytes, report);
	fake_copy(1, CUPTI_ACTIVITY_MEMCPY_KIND_DTOH, CUPTI_ACTIVITY_MEMORY_KIND_DEVICE,
	          CUPTI_ACTIVITY_MEMORY_KIND_PINNED, bytes, report);
	fake_sync(CUPTI_RUNTIME_TRACE_CBID_cudaStreamSynchronize_v3020,
	          CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE, 1, 0);
	fake_copy(-1, CUPTI_ACTIVITY_MEMCPY_KIND_DTOH, CUPTI_ACTIVITY_MEMORY_KIND_DEVICE,
	          CUPTI_ACTIVITY_MEMORY_KIND_PAGEABLE, sums, report);
	fake_copy(-1, CUPTI_ACTIVITY_MEMCPY_KIND_DTOH, CUPTI_ACTIVITY_MEMORY_KIND_DEVICE,
	          CUPTI_ACTIVITY_MEMORY_KIND_PAGEABLE, 4, report);

	fprintf(report, "memsets 1\n");
	struct fake_call c =
	    fake_enter(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaMemsetAsync_v3020);
	CUpti_ActivityMemset4 *ms = fake_record(CUPTI_ACTIVITY_KIND_MEMSET);
	if (ms) {
		uint64_t s, e;
		fake_gpu_span(fake_stream_id[2], 20000, &s, &e);
		ms->bytes = bytes;
		ms->start = s;
		ms->end = e;
		ms->deviceId = 0;
		ms->contextId = 1;
		ms->streamId = fake_stream_id[2];
		ms->correlationId = c.corr;
		ms->memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
		ms->flags = CUPTI_ACTIVITY_FLAG_MEMSET_ASYNC;
	}
	fake_exit(&c);
	fprintf(report, "memset bytes %llu\n", (unsigned long long)bytes);

	fake_sync(CUPTI_RUNTIME_TRACE_CBID_cudaDeviceSynchronize_v3020,
	          CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_CONTEXT_SYNCHRONIZE, -1, 0);
	for (int i = 0; i < 5; i++)
		fake_memory(false, CUPTI_ACTIVITY_MEMORY_KIND_DEVICE, base + (uint64_t)i * bytes, 0);

	fprintf(report, "cudaMalloc 5 cudaFree 5 cudaMallocHost 1\n");
	fprintf(report, "cudaStreamSynchronize 2 cudaEventRecord 3 cudaEventSynchronize 1\n");
	fprintf(report, "cudaStreamWaitEvent 1 cudaDeviceSynchronize 1\n");
	fprintf(report, "timed spin 2.010 ms (cudaEvent)\n");
	fprintf(report, "results ok\n");
	fflush(report);
}
