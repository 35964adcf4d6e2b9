/*
 * test_cupti_backend.c - the CUPTI backend of the collector, without a GPU.
 *
 * The backend reaches CUPTI and the driver only through its tables of
 * function pointers, and the collector core only through inject.h. This
 * test compiles the backend's source in, fills the tables with fakes, and
 * implements inject.h with a recorder, so that it can hand the backend
 * activity buffers laid out with the real cupti header structs (as libcupti
 * writes them) and drive its callbacks as CUPTI would, then check every
 * event, track, device, loss and log the backend produced:
 *
 *   - kernels on their stream's track with name, launch and correlation;
 *     runtime API calls named without CUPTI's version suffix, on the track
 *     of the thread that made them, with the stack taken at their entry;
 *   - copies linked to their runtime call; memsets; synchronizations on the
 *     right stream of the right device, cudaDeviceSynchronize recognised;
 *   - allocations on the thread noted at the call; overheads; devices from
 *     the driver (once per device) or from CUPTI's DEVICE record;
 *   - dropped and skipped records reported as cumulative losses; what CUPTI
 *     says the client frees is freed (the sanitizer build checks leaks);
 *   - nothing sent after the collector closed or in a fork child;
 *   - the flush thread flushes and stops; forced flushes at shutdown;
 *   - the loader's refusals (missing file, not a library, not CUPTI, a
 *     CUPTI newer than the driver) and InitializeInjection doing nothing
 *     when tstop did not ask for CUDA.
 */
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/inject/cupti.c"
#include "capture/inject/cupti_api.c"
#include "capture/inject/cupti_corr.c"
#include "capture/inject/cupti_paths.c"
#include "capture/inject/cupti_pool.c"

/* --- a recording collector core (inject.h) -------------------------------------- */

#define FAKE_MAX 64

static struct {
	bool present;          /* inject_present() */
	bool connected;        /* inject_active(0) */
	uint32_t flags;        /* PROTO_OPT_* of the session */
	uint32_t active_asked; /* options inject_active or _enabled was asked about */
	bool paused;           /* inject_paused() */
	unsigned present_asked;
	char *strings[FAKE_MAX]; /* id - 1 -> bytes */
	uint32_t nstrings;
	struct trace_track_info tracks[FAKE_MAX];
	uint32_t ntracks;
	struct trace_launch launches[FAKE_MAX];
	uint32_t nlaunches;
	struct trace_memop memops[FAKE_MAX];
	uint32_t nmemops;
	struct trace_event events[FAKE_MAX];
	size_t nevents;
	struct trace_device devices[8];
	size_t ndevices;
	char loss_source[16][32];
	uint64_t loss_count[16];
	size_t nlosses;
	char logs[8][1100];
	int log_level[8];
	size_t nlogs;
	uint32_t next_stack;
	unsigned stack_calls;
	uint32_t flush_ms;
	void (*flush)(void);
	void (*at_exit)(int64_t now);
	void (*session_start)(void), (*session_stop)(void);
} fake;

bool inject_present(void)
{
	fake.present_asked++;
	return fake.present;
}

bool inject_enabled(uint32_t option)
{
	fake.active_asked |= option;
	return fake.connected && (option == 0 || (fake.flags & option) != 0);
}

bool inject_active(uint32_t option)
{
	return inject_enabled(option) && (option == 0 || !fake.paused);
}

bool inject_paused(void)
{
	return fake.connected && fake.paused;
}

bool inject_captured_at(int64_t t)
{
	(void)t;
	return !inject_paused();
}

int64_t inject_now(void)
{
	return 5000000;
}

uint32_t inject_string(const char *bytes, size_t len)
{
	for (uint32_t i = 0; i < fake.nstrings; i++)
		if (strlen(fake.strings[i]) == len && !memcmp(fake.strings[i], bytes, len))
			return i + 1;
	assert_true(fake.nstrings < FAKE_MAX);
	fake.strings[fake.nstrings++] = xmemdup0(bytes, len);
	return fake.nstrings;
}

uint32_t inject_cstr(const char *str)
{
	return inject_string(str, strlen(str));
}

uint32_t inject_generation(void)
{
	return 1;
}

/* Interns a track by its identity fields. */
static uint32_t fake_track(const struct trace_track_info *t)
{
	for (uint32_t i = 0; i < fake.ntracks; i++) {
		const struct trace_track_info *o = &fake.tracks[i];
		if (o->kind == t->kind && o->tid == t->tid && o->device == t->device &&
		    o->context == t->context && o->stream == t->stream)
			return i + 1;
	}
	assert_true(fake.ntracks < FAKE_MAX);
	fake.tracks[fake.ntracks++] = *t;
	return fake.ntracks;
}

uint32_t inject_thread_track_of(uint32_t tid)
{
	struct trace_track_info t = {.kind = TRACE_TRACK_THREAD, .tid = tid};
	return fake_track(&t);
}

uint32_t inject_stream_track(uint32_t device, uint32_t context, uint32_t stream)
{
	struct trace_track_info t = {
	    .kind = TRACE_TRACK_STREAM, .device = device, .context = context, .stream = stream};
	return fake_track(&t);
}

uint32_t inject_launch(const struct trace_launch *l)
{
	for (uint32_t i = 0; i < fake.nlaunches; i++)
		if (!memcmp(&fake.launches[i], l, sizeof(*l)))
			return i + 1;
	fake.launches[fake.nlaunches++] = *l;
	return fake.nlaunches;
}

uint32_t inject_memop(const struct trace_memop *m)
{
	fake.memops[fake.nmemops++] = *m;
	return fake.nmemops;
}

uint32_t inject_stack(unsigned skip)
{
	assert_int_equal(skip, 1);
	fake.stack_calls++;
	return fake.next_stack;
}

void inject_device(const struct trace_device *d)
{
	assert_true(fake.ndevices < 8);
	fake.devices[fake.ndevices++] = *d;
}

bool inject_event(const struct trace_event *ev)
{
	assert_true(fake.nevents < FAKE_MAX);
	fake.events[fake.nevents++] = *ev;
	return true;
}

void inject_loss(const char *source, uint64_t count)
{
	snprintf(fake.loss_source[fake.nlosses], sizeof(fake.loss_source[0]), "%s", source);
	fake.loss_count[fake.nlosses++] = count;
}

void inject_log(enum proto_log_level level, const char *fmt, ...)
{
	va_list ap;
	assert_true(fake.nlogs < 8);
	va_start(ap, fmt);
	vsnprintf(fake.logs[fake.nlogs], sizeof(fake.logs[0]), fmt, ap);
	va_end(ap);
	fake.log_level[fake.nlogs++] = level;
}

uint32_t inject_flush_ms(void)
{
	return fake.flush_ms;
}

void inject_register_flush(void (*flush)(void))
{
	fake.flush = flush;
}

void inject_register_exit(void (*at_exit)(int64_t now))
{
	fake.at_exit = at_exit;
}

void inject_register_session(void (*start)(void), void (*stop)(void))
{
	fake.session_start = start;
	fake.session_stop = stop;
}

/* The bytes of string id `id` ("" for 0). */
static const char *str(uint32_t id)
{
	if (id == 0)
		return "";
	assert_true(id <= fake.nstrings);
	return fake.strings[id - 1];
}

/* The track info of track id `id`. */
static const struct trace_track_info *track(uint32_t id)
{
	assert_true(id >= 1 && id <= fake.ntracks);
	return &fake.tracks[id - 1];
}

/* Asserts that event `ev` is on the stream track (device, context, stream). */
static void assert_stream(const struct trace_event *ev, uint32_t device, uint32_t context, uint32_t stream)
{
	const struct trace_track_info *t = track(ev->track);
	assert_int_equal(t->kind, TRACE_TRACK_STREAM);
	assert_int_equal(t->device, device);
	assert_int_equal(t->context, context);
	assert_int_equal(t->stream, stream);
}

/* Asserts that event `ev` is on the track of thread `tid`. */
static void assert_thread(const struct trace_event *ev, uint32_t tid)
{
	const struct trace_track_info *t = track(ev->track);
	assert_int_equal(t->kind, TRACE_TRACK_THREAD);
	assert_int_equal(t->tid, tid);
}

/* --- a fake CUPTI and driver ------------------------------------------------------ */

static struct {
	size_t dropped_next; /* returned by the next GetNumDroppedRecords */
	unsigned flushes;    /* FlushAll calls */
	uint32_t last_flush_flag;
	unsigned enabled_runtime[CUPTI_CBIDS], enabled_driver[CUPTI_CBIDS], enabled_resource; /* on now */
	unsigned kind_on[64];         /* activity kinds enabled now */
	unsigned enables, disables;   /* cuptiActivityEnable / Disable calls */
	bool kernel_asked;            /* KERNEL (serializing) was asked for */
	CUpti_ActivityKind refuse[2]; /* kinds cuptiActivityEnable refuses */
	unsigned attr_calls;
} fc;

/* The size of a record of `kind` as libcupti lays it out. */
static size_t rec_size(CUpti_ActivityKind kind)
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
	case CUPTI_ACTIVITY_KIND_OVERHEAD:
		return sizeof(CUpti_ActivityOverhead3);
	case CUPTI_ACTIVITY_KIND_CONTEXT:
		return sizeof(CUpti_ActivityContext3);
	case CUPTI_ACTIVITY_KIND_DEVICE:
		return sizeof(CUpti_ActivityDevice5);
	default:
		fail_msg("record kind %d not laid out by this test", (int)kind);
		return 0;
	}
}

/* cuptiActivityGetNextRecord over records laid back to back, 8-byte
 * aligned: *record is the iterator (NULL: the first). */
static CUptiResult CUPTIAPI fake_next(uint8_t *buffer, size_t valid, CUpti_Activity **record)
{
	uint8_t *p = buffer;
	if (*record)
		p = (uint8_t *)*record + ((rec_size((*record)->kind) + 7) & ~(size_t)7);
	if (p >= buffer + valid)
		return CUPTI_ERROR_MAX_LIMIT_REACHED;
	*record = (CUpti_Activity *)p;
	return CUPTI_SUCCESS;
}

static CUptiResult CUPTIAPI fake_dropped(CUcontext ctx, uint32_t stream, size_t *dropped)
{
	*dropped = fc.dropped_next;
	fc.dropped_next = 0;
	return CUPTI_SUCCESS;
}

static CUptiResult CUPTIAPI fake_flush_all(uint32_t flag)
{
	__atomic_add_fetch(&fc.flushes, 1, __ATOMIC_SEQ_CST);
	fc.last_flush_flag = flag;
	return CUPTI_SUCCESS;
}

static CUptiResult CUPTIAPI fake_result_string(CUptiResult r, const char **s)
{
	*s = r == CUPTI_ERROR_NOT_INITIALIZED ? "CUPTI_ERROR_NOT_INITIALIZED" : "CUPTI_ERROR_SOMETHING";
	return CUPTI_SUCCESS;
}

/* Names of the callback ids this test uses, as CUPTI 13.0 spells them. */
static CUptiResult CUPTIAPI fake_callback_name(CUpti_CallbackDomain domain, uint32_t cbid, const char **name)
{
	static const struct {
		CUpti_CallbackDomain domain;
		uint32_t cbid;
		const char *name;
	} names[] = {
	    {CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000,
	     "cudaLaunchKernel_v7000"},
	    {CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaMalloc_v3020, "cudaMalloc_v3020"},
	    {CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaMemcpyAsync_v3020,
	     "cudaMemcpyAsync_v3020"},
	    {CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaDeviceSynchronize_v3020,
	     "cudaDeviceSynchronize_v3020"},
	    {CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaGetDevice_v3020,
	     "cudaGetDevice_v3020"},
	    {CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel, "cuLaunchKernel"},
	    {CUPTI_CB_DOMAIN_DRIVER_API, CUPTI_DRIVER_TRACE_CBID_cuMemAlloc_v2, "cuMemAlloc_v2"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].domain == domain && names[i].cbid == cbid) {
			*name = names[i].name;
			return CUPTI_SUCCESS;
		}
	}
	return CUPTI_ERROR_INVALID_PARAMETER;
}

static CUptiResult CUPTIAPI fake_subscribe(CUpti_SubscriberHandle *sub, CUpti_CallbackFunc fn, void *ud)
{
	assert_ptr_equal(fn, cupti_on_callback);
	*sub = (CUpti_SubscriberHandle)&fc;
	return CUPTI_SUCCESS;
}

static CUptiResult CUPTIAPI fake_subscribe_taken(CUpti_SubscriberHandle *sub, CUpti_CallbackFunc fn, void *ud)
{
	return CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED;
}

static CUptiResult CUPTIAPI fake_enable_callback(uint32_t enable, CUpti_SubscriberHandle sub,
                                                 CUpti_CallbackDomain domain, CUpti_CallbackId cbid)
{
	assert_true(enable <= 1);
	assert_ptr_equal(sub, (CUpti_SubscriberHandle)&fc);
	if (domain == CUPTI_CB_DOMAIN_RUNTIME_API)
		fc.enabled_runtime[cbid] = enable;
	else if (domain == CUPTI_CB_DOMAIN_DRIVER_API)
		fc.enabled_driver[cbid] = enable;
	else if (domain == CUPTI_CB_DOMAIN_RESOURCE && cbid == CUPTI_CBID_RESOURCE_CONTEXT_CREATED)
		fc.enabled_resource = enable;
	return CUPTI_SUCCESS;
}

/* cuptiActivityEnable: refuses the kinds in fc.refuse. */
static CUptiResult CUPTIAPI fake_enable(CUpti_ActivityKind kind)
{
	fc.enables++;
	if (kind == CUPTI_ACTIVITY_KIND_KERNEL)
		fc.kernel_asked = true;
	if (kind == fc.refuse[0] || kind == fc.refuse[1])
		return CUPTI_ERROR_NOT_INITIALIZED;
	assert_true((unsigned)kind < 64);
	fc.kind_on[kind] = 1;
	return CUPTI_SUCCESS;
}

static CUptiResult CUPTIAPI fake_enable_refuse_all(CUpti_ActivityKind kind)
{
	return CUPTI_ERROR_NOT_SUPPORTED;
}

static CUptiResult CUPTIAPI fake_disable(CUpti_ActivityKind kind)
{
	fc.disables++;
	assert_true((unsigned)kind < 64 && fc.kind_on[kind]);
	fc.kind_on[kind] = 0;
	return CUPTI_SUCCESS;
}

/* Number of API callbacks on now. */
static unsigned callbacks_on(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < CUPTI_CBIDS; i++)
		n += fc.enabled_runtime[i] + fc.enabled_driver[i];
	return n;
}

/* Number of activity kinds on now. */
static unsigned kinds_on(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < 64; i++)
		n += fc.kind_on[i];
	return n;
}

/* Contexts are fake pointers: context 0x3000 is CUPTI context 3 on device
 * 1 with NULL stream 7. */
#define FAKE_CTX ((CUcontext)(uintptr_t)0x3000)
static CUptiResult CUPTIAPI fake_context_id(CUcontext ctx, uint32_t *id)
{
	*id = (uint32_t)((uintptr_t)ctx >> 12);
	return CUPTI_SUCCESS;
}
static CUptiResult CUPTIAPI fake_device_id(CUcontext ctx, uint32_t *id)
{
	*id = 1;
	return CUPTI_SUCCESS;
}
static CUptiResult CUPTIAPI fake_stream_id(CUcontext ctx, CUstream stream, uint32_t *id)
{
	assert_null(stream);
	*id = 7;
	return CUPTI_SUCCESS;
}

static CUresult CUDAAPI fake_cuDeviceGet(CUdevice *dev, int ordinal)
{
	if (ordinal > 3)
		return CUDA_ERROR_INVALID_DEVICE;
	*dev = ordinal;
	return CUDA_SUCCESS;
}
static CUresult CUDAAPI fake_cuDeviceGetName(char *name, int len, CUdevice dev)
{
	snprintf(name, (size_t)len, "NVIDIA H100 80GB HBM3 #%d", (int)dev);
	return CUDA_SUCCESS;
}
static CUresult CUDAAPI fake_cuDeviceGetUuid(CUuuid *uuid, CUdevice dev)
{
	for (int i = 0; i < 16; i++)
		uuid->bytes[i] = (char)(i + 1);
	return CUDA_SUCCESS;
}
static CUresult CUDAAPI fake_cuDeviceTotalMem(size_t *bytes, CUdevice dev)
{
	*bytes = (size_t)85 << 30;
	return CUDA_SUCCESS;
}
static CUresult CUDAAPI fake_cuDeviceGetAttribute(int *v, CUdevice_attribute attr, CUdevice dev)
{
	fc.attr_calls++;
	switch (attr) {
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
		*v = 9;
		return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
		*v = 0;
		return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT:
		*v = 132;
		return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_WARP_SIZE:
		*v = 32;
		return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR:
		*v = 2048;
		return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE:
		*v = 2619000;
		return CUDA_SUCCESS;
	case CU_DEVICE_ATTRIBUTE_CLOCK_RATE:
		return CUDA_ERROR_INVALID_VALUE; /* unknown: stays 0 */
	default:
		*v = 1000;
		return CUDA_SUCCESS;
	}
}

/* Puts the backend in the state cupti_start() leaves it in, with the fakes. */
static int setup(void **state)
{
	for (uint32_t i = 0; i < fake.nstrings; i++)
		free(fake.strings[i]);
	memset(&fake, 0, sizeof(fake));
	memset(&fc, 0, sizeof(fc));
	fc.refuse[0] = fc.refuse[1] = CUPTI_ACTIVITY_KIND_INVALID;
	fake.present = fake.connected = true;
	fake.flags = PROTO_OPT_CUDA | PROTO_OPT_STACKS;
	fake.next_stack = 9;
	fake.flush_ms = 100;

	memset(&cu, 0, sizeof(cu));
	cu.cuptiActivityGetNextRecord = fake_next;
	cu.cuptiActivityGetNumDroppedRecords = fake_dropped;
	cu.cuptiActivityFlushAll = fake_flush_all;
	cu.cuptiGetResultString = fake_result_string;
	cu.cuptiGetCallbackName = fake_callback_name;
	cu.cuptiSubscribe = fake_subscribe;
	cu.cuptiEnableCallback = fake_enable_callback;
	cu.cuptiGetContextId = fake_context_id;
	cu.cuptiGetDeviceId = fake_device_id;
	cu.cuptiGetStreamId = fake_stream_id;
	cu.cuptiActivityEnable = fake_enable;
	cu.cuptiActivityDisable = fake_disable;
	memset(&drv, 0, sizeof(drv));

	cupti.pid = getpid();
	atomic_store(&cupti.running, true);
	atomic_store(&cupti.recording, true);
	atomic_store(&cupti.closed, false);
	cupti.subscribed = false;
	cupti.kinds_enabled = 0;
	cupti.setup_warn[0] = '\0';
	cupti.stacks = true;
	cupti.driver_ok = false;
	cupti.driver_version = 13000;
	cupti.ts_callback = true;
	cupti.ts_offset = 0;
	memset(cupti.role, 0, sizeof(cupti.role));
	memset(cupti.api_name, 0, sizeof(cupti.api_name));
	cupti.name_generation = 0;
	cupti.dropped = cupti.skipped = cupti.dropped_sent = cupti.skipped_sent = 0;
	cupti.nctx = 0;
	for (unsigned i = 0; i < CUPTI_MAX_DEVICES; i++)
		atomic_store(&cupti.device_sent[i], 0);
	atomic_store(&cupti.devices_seen, 0);
	cupti.flush_running = cupti.flush_stop = false;
	memset(&cupti_marks, 0, sizeof(cupti_marks));
	memset(&cupti_threads, 0, sizeof(cupti_threads));
	memset(&cupti_paused, 0, sizeof(cupti_paused));
	cupti.window = false;
	cupti_window_log.n = 0;
	atomic_store(&cupti_window_log.last, -1);
	cupti_pool_init(&cupti.pool, 1 << 16, 4);
	return 0;
}

static int teardown(void **state)
{
	cupti_pool_release(&cupti.pool);
	for (uint32_t i = 0; i < fake.nstrings; i++)
		free(fake.strings[i]);
	fake.nstrings = 0;
	return 0;
}

/* Installs the fake driver. */
static void use_fake_driver(void)
{
	drv.cuDeviceGet = fake_cuDeviceGet;
	drv.cuDeviceGetName = fake_cuDeviceGetName;
	drv.cuDeviceGetUuid = fake_cuDeviceGetUuid;
	drv.cuDeviceTotalMem = fake_cuDeviceTotalMem;
	drv.cuDeviceGetAttribute = fake_cuDeviceGetAttribute;
	cupti.driver_ok = true;
}

/* --- building activity buffers -------------------------------------------------- */

static uint8_t *test_buf;
static size_t test_len;

/* Starts a buffer, lent by the backend's own request callback. */
static void buf_begin(void)
{
	size_t size = 0, max_records = 1;
	cupti_buffer_request(&test_buf, &size, &max_records);
	assert_non_null(test_buf);
	assert_int_equal(size, cupti.pool.size);
	assert_int_equal(max_records, 0);
	assert_int_equal((uintptr_t)test_buf % 8, 0);
	test_len = 0;
}

/* Appends a zeroed record of `kind` and returns it. */
static void *buf_add(CUpti_ActivityKind kind)
{
	size_t size = rec_size(kind);
	CUpti_Activity *r = (CUpti_Activity *)(test_buf + test_len);
	assert_true(test_len + size <= cupti.pool.size);
	memset(r, 0, size);
	r->kind = kind;
	test_len += (size + 7) & ~(size_t)7;
	return r;
}

/* Hands the buffer to the backend as CUPTI does when it is complete. */
static void buf_complete(void)
{
	cupti_buffer_complete(NULL, 0, test_buf, cupti.pool.size, test_len);
	test_buf = NULL;
}

/* An API call entering, as CUPTI's callback API reports it. */
static void api_enter(CUpti_CallbackDomain domain, uint32_t cbid, uint32_t corr)
{
	CUpti_CallbackData cd;
	memset(&cd, 0, sizeof(cd));
	cd.callbackSite = CUPTI_API_ENTER;
	cd.correlationId = corr;
	cupti_on_callback(NULL, domain, cbid, &cd);
	cd.callbackSite = CUPTI_API_EXIT; /* exits are ignored */
	cd.correlationId = corr + 1000000;
	cupti_on_callback(NULL, domain, cbid, &cd);
}

static CUpti_ActivityAPI *add_api(CUpti_ActivityKind kind, uint32_t cbid, uint32_t corr, uint32_t tid)
{
	CUpti_ActivityAPI *a = buf_add(kind);
	a->cbid = cbid;
	a->start = 2000;
	a->end = 2600;
	a->processId = (uint32_t)getpid();
	a->threadId = tid;
	a->correlationId = corr;
	return a;
}

/* --- tests -------------------------------------------------------------------------- */

/* Subscribing turns context creation on and finds the roles; a session
 * turns on exactly the calls with a role (launches and copies only with
 * stacks), and off again. */
static void test_subscribe(void **state)
{
	char warn[256] = "";

	assert_true(cupti_subscribe(warn, sizeof(warn)));
	assert_string_equal(warn, "");
	assert_true(cupti.subscribed);
	assert_int_equal(fc.enabled_resource, 1);
	assert_int_equal(callbacks_on(), 0);
	assert_int_equal(cupti.role[0][CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000], CUPTI_ROLE_STACK);
	assert_int_equal(cupti.role[0][CUPTI_RUNTIME_TRACE_CBID_cudaGetDevice_v3020], 0);

	assert_int_equal(cupti_watch(true), 5);
	assert_int_equal(fc.enabled_runtime[CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000], 1);
	assert_int_equal(fc.enabled_runtime[CUPTI_RUNTIME_TRACE_CBID_cudaMemcpyAsync_v3020], 1);
	assert_int_equal(fc.enabled_runtime[CUPTI_RUNTIME_TRACE_CBID_cudaMalloc_v3020], 1);
	assert_int_equal(fc.enabled_runtime[CUPTI_RUNTIME_TRACE_CBID_cudaDeviceSynchronize_v3020], 1);
	assert_int_equal(fc.enabled_runtime[CUPTI_RUNTIME_TRACE_CBID_cudaGetDevice_v3020], 0);
	assert_int_equal(fc.enabled_driver[CUPTI_DRIVER_TRACE_CBID_cuMemAlloc_v2], 1);
	assert_int_equal(fc.enabled_driver[CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel], 0);
	assert_int_equal(cupti_watch(false), 0);
	assert_int_equal(callbacks_on(), 0);
	assert_int_equal(fc.enabled_resource, 1);

	/* Without stacks, launches and copies are not watched at all. */
	cupti.stacks = false;
	assert_int_equal(cupti_watch(true), 3);
	assert_int_equal(fc.enabled_runtime[CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000], 0);
	assert_int_equal(fc.enabled_runtime[CUPTI_RUNTIME_TRACE_CBID_cudaMalloc_v3020], 1);

	/* Another tool holds the subscription: said, and nothing enabled. */
	setup(state);
	cu.cuptiSubscribe = fake_subscribe_taken;
	assert_false(cupti_subscribe(warn, sizeof(warn)));
	assert_non_null(strstr(warn, "no CUPTI callbacks (CUPTI_ERROR_SOMETHING)"));
	assert_int_equal(fc.enabled_resource, 0);
	assert_int_equal(cupti_watch(true), 0);
}

/* A whole session as an attach runs it: nothing recorded before, the kinds
 * and callbacks turned on at the start (never KERNEL), records sent, a
 * forced flush and the losses at the end, everything turned off at the
 * detach, and a second session starting its counts and devices afresh. */
static void test_session(void **state)
{
	char warn[256] = "";

	use_fake_driver();
	fake.flush_ms = 5;
	atomic_store(&cupti.recording, false);
	atomic_store(&cupti.closed, true);
	assert_true(cupti_subscribe(warn, sizeof(warn)));
	/* Dormant: a context is noted, a launch is not watched, records are
	 * only freed. */
	CUpti_ResourceData rd = {.context = FAKE_CTX};
	cupti_on_callback(NULL, CUPTI_CB_DOMAIN_RESOURCE, CUPTI_CBID_RESOURCE_CONTEXT_CREATED, &rd);
	api_enter(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, 100);
	assert_int_equal(fake.stack_calls, 0);
	buf_begin();
	CUpti_ActivityDevice5 *dev = buf_add(CUPTI_ACTIVITY_KIND_DEVICE);
	dev->name = xstrdup("dormant");
	buf_complete();
	assert_int_equal(fake.nevents + fake.ndevices, 0);

	/* An attach without CUDA: nothing starts. */
	fake.flags = PROTO_OPT_NVTX;
	cupti_session_begin();
	assert_false(atomic_load(&cupti.recording));
	assert_int_equal(fc.enables, 0);

	/* An attach with CUDA. */
	fake.flags = PROTO_OPT_CUDA | PROTO_OPT_STACKS;
	cupti_session_begin();
	assert_true(atomic_load(&cupti.recording));
	assert_false(atomic_load(&cupti.closed));
	assert_false(fc.kernel_asked);
	assert_int_equal(kinds_on(), sizeof(cupti_kinds) / sizeof(cupti_kinds[0]));
	assert_int_equal(fc.kind_on[CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL], 1);
	assert_int_equal(callbacks_on(), 5);
	assert_true(cupti.flush_running);
	assert_int_equal(fake.nlogs, 1);
	assert_int_equal(fake.log_level[0], PROTO_LOG_INFO);
	assert_non_null(strstr(fake.logs[0], "CUDA: CUPTI"));
	assert_non_null(strstr(fake.logs[0], "stacks on"));
	/* The context noted while dormant places the device; the flush
	 * thread describes it. */
	for (int i = 0; i < 500 && fake.ndevices == 0; i++)
		usleep(10000);
	api_enter(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, 200);
	assert_int_equal(fake.stack_calls, 1);
	fc.dropped_next = 3;
	buf_begin();
	add_api(CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, 200, 4242);
	buf_complete();
	assert_int_equal(fake.nevents, 1);
	assert_int_equal(fake.events[0].u.api.stack, 9);

	/* The detach: flush, exit function, session stop. */
	unsigned flushes = fc.flushes;
	cupti_flush();
	cupti_at_exit(1);
	assert_true(fc.flushes >= flushes + 2);
	assert_false(cupti.flush_running);
	assert_true(atomic_load(&cupti.closed));
	assert_false(atomic_load(&cupti.recording));
	assert_int_equal(fake.ndevices, 1);
	assert_int_equal(fake.devices[0].id, 1);
	cupti_session_end();
	assert_int_equal(kinds_on(), 0);
	assert_int_equal(fc.disables, sizeof(cupti_kinds) / sizeof(cupti_kinds[0]));
	assert_int_equal(callbacks_on(), 0);
	assert_int_equal(fc.enabled_resource, 1);
	size_t events = fake.nevents;
	buf_begin();
	add_api(CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_RUNTIME_TRACE_CBID_cudaGetDevice_v3020, 300, 4242);
	buf_complete();
	assert_int_equal(fake.nevents, events);

	/* A second attach: counts from zero, the device described again. */
	fake.flags = PROTO_OPT_CUDA; /* --no-stacks */
	cupti_session_begin();
	assert_true(atomic_load(&cupti.recording));
	assert_int_equal(callbacks_on(), 3);
	assert_non_null(strstr(fake.logs[1], "stacks off"));
	fc.dropped_next = 2;
	buf_begin();
	buf_complete();
	assert_string_equal(fake.loss_source[fake.nlosses - 1], "cupti");
	assert_int_equal(fake.loss_count[fake.nlosses - 1], 2);
	cupti_at_exit(2);
	assert_int_equal(fake.ndevices, 2);
	assert_int_equal(fake.devices[1].id, 1);
	cupti_session_end();
	atomic_store(&cupti.flush_tid, 0);
}

/* A session whose CUPTI will not trace kernels says so; with nothing
 * enabled at all it records nothing. */
static void test_session_refused(void **state)
{
	atomic_store(&cupti.recording, false);
	atomic_store(&cupti.closed, true);
	cupti.lib_version = 130001;
	cupti.driver_version = 12080;
	snprintf(cupti.lib_path, sizeof(cupti.lib_path), "/x/libcupti.so.13");
	fc.refuse[0] = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
	fc.refuse[1] = CUPTI_ACTIVITY_KIND_DEVICE;
	cupti_session_begin();
	assert_int_equal(fake.nlogs, 2);
	assert_int_equal(fake.log_level[0], PROTO_LOG_ERROR);
	assert_non_null(strstr(fake.logs[0], "would not trace kernels: CUPTI_ERROR_NOT_INITIALIZED"));
	assert_non_null(strstr(fake.logs[0], "a CUPTI newer than the driver does not start"));
	assert_non_null(strstr(fake.logs[0], "Other CUDA activity is captured"));
	assert_int_equal(fake.log_level[1], PROTO_LOG_WARNING);
	assert_non_null(strstr(fake.logs[1], "CONCURRENT_KERNEL not enabled"));
	assert_true(atomic_load(&cupti.recording));
	cupti_at_exit(1);
	cupti_session_end();
	atomic_store(&cupti.flush_tid, 0);

	/* Everything refused: not recording, callbacks off again. */
	setup(state);
	atomic_store(&cupti.recording, false);
	atomic_store(&cupti.closed, true);
	cu.cuptiActivityEnable = fake_enable_refuse_all;
	cupti_session_begin();
	assert_false(atomic_load(&cupti.recording));
	assert_true(atomic_load(&cupti.closed));
	assert_non_null(strstr(fake.logs[0], "CUDA activity will not be captured"));
	assert_false(cupti.flush_running);
}

/* A launch: the kernel on its stream, the runtime call on its thread with
 * the stack taken at its entry, the driver call under it without one. */
static void test_kernel_and_api(void **state)
{
	char warn[256] = "";
	assert_true(cupti_subscribe(warn, sizeof(warn)));
	api_enter(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, 100);
	assert_int_equal(fake.stack_calls, 1);
	/* A call without a role takes no stack. */
	api_enter(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaGetDevice_v3020, 99);
	assert_int_equal(fake.stack_calls, 1);

	buf_begin();
	CUpti_ActivityKernel10 *k = buf_add(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	k->start = 3000;
	k->end = 4500;
	k->deviceId = 1;
	k->contextId = 3;
	k->streamId = 13;
	k->correlationId = 100;
	k->gridX = 32;
	k->gridY = 16;
	k->gridZ = 2;
	k->blockX = 256;
	k->blockY = 1;
	k->blockZ = 1;
	k->registersPerThread = 16;
	k->dynamicSharedMemory = 1024;
	k->name = "_Z4fillPffi";
	add_api(CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, 100, 4242);
	add_api(CUPTI_ACTIVITY_KIND_DRIVER, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel, 101, 4242);
	add_api(CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_RUNTIME_TRACE_CBID_cudaGetDevice_v3020, 99, 4243);
	/* The collector's own flush thread describing a device: not sent. */
	atomic_store(&cupti.flush_tid, 4999);
	add_api(CUPTI_ACTIVITY_KIND_DRIVER, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel, 102, 4999);
	buf_complete();
	atomic_store(&cupti.flush_tid, 0);

	assert_int_equal(fake.nevents, 4);
	const struct trace_event *ev = &fake.events[0];
	assert_int_equal(ev->kind, TRACE_KERNEL);
	assert_int_equal(ev->start, 3000);
	assert_int_equal(ev->end, 4500);
	assert_int_equal(ev->correlation, 100);
	assert_string_equal(str(ev->name), "_Z4fillPffi");
	assert_stream(ev, 1, 3, 13);
	assert_true(ev->u.kernel.launch >= 1);
	const struct trace_launch *l = &fake.launches[ev->u.kernel.launch - 1];
	assert_int_equal(l->grid[0], 32);
	assert_int_equal(l->grid[1], 16);
	assert_int_equal(l->grid[2], 2);
	assert_int_equal(l->block[0], 256);
	assert_int_equal(l->registers, 16);
	assert_int_equal(l->dynamic_smem, 1024);

	ev = &fake.events[1];
	assert_int_equal(ev->kind, TRACE_API);
	assert_string_equal(str(ev->name), "cudaLaunchKernel");
	assert_int_equal(trace_api_domain(ev), TRACE_API_CUDA_RUNTIME);
	assert_int_equal(ev->u.api.cbid, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000);
	assert_int_equal(ev->u.api.stack, 9);
	assert_int_equal(ev->correlation, 100);
	assert_int_equal(ev->start, 2000);
	assert_thread(ev, 4242);

	ev = &fake.events[2];
	assert_string_equal(str(ev->name), "cuLaunchKernel");
	assert_int_equal(trace_api_domain(ev), TRACE_API_CUDA_DRIVER);
	assert_int_equal(ev->u.api.stack, 0);
	assert_thread(ev, 4242);
	assert_int_equal(fake.events[1].track, ev->track);

	ev = &fake.events[3];
	assert_string_equal(str(ev->name), "cudaGetDevice");
	assert_int_equal(ev->u.api.stack, 0);
	assert_thread(ev, 4243);
	/* No device description without the driver functions. */
	assert_int_equal(fake.ndevices, 0);
	assert_int_equal(fake.nlosses, 0);
}

/* A kernel record of correlation id `corr`. */
static void add_kernel(uint32_t corr)
{
	CUpti_ActivityKernel10 *k = buf_add(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	k->start = 3000;
	k->end = 4500;
	k->deviceId = 1;
	k->contextId = 3;
	k->streamId = 13;
	k->correlationId = corr;
	k->name = "_Z4fillPffi";
}

/* Capture windows: GPU work of launches made while paused is dropped, by
 * its mark while the mark lasts and by the switch log once a later call
 * overwrote it; work of launches made while on is kept. */
static void test_window_paused_launches(void **state)
{
	(void)state;
	char warn[256] = "";
	assert_true(cupti_subscribe(warn, sizeof(warn)));
	cupti.window = true;
	uint32_t on1 = 10, off1 = 20, off2 = 21, on2 = 30;
	api_enter(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, on1);
	fake.paused = true;
	api_enter(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, off1);
	api_enter(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, off2);
	fake.paused = false;
	api_enter(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, on2);
	/* 65,536 calls later, off2's slot holds another call's mark. */
	cupti_corr_put(&cupti_paused, off2 + CUPTI_CORR_SLOTS, 1);
	uint32_t v;
	assert_false(cupti_corr_get(&cupti_paused, off2, &v));

	buf_begin();
	add_kernel(on1);
	add_kernel(off1);
	add_kernel(off2);
	add_kernel(on2);
	add_kernel(on2 + 5); /* an unwatched call after the switch back on */
	buf_complete();
	assert_int_equal(fake.nevents, 3);
	assert_int_equal(fake.events[0].correlation, on1);
	assert_int_equal(fake.events[1].correlation, on2);
	assert_int_equal(fake.events[2].correlation, on2 + 5);
	cupti.window = false;
}

/* Copies, memsets and synchronizations, with the context map from a
 * CONTEXT record and from context creation. */
static void test_copies_and_syncs(void **state)
{
	char warn[256] = "";
	assert_true(cupti_subscribe(warn, sizeof(warn)));
	/* Context 3 created (device 1, NULL stream 7), before any work. */
	CUpti_ResourceData rd = {.context = FAKE_CTX};
	cupti_on_callback(NULL, CUPTI_CB_DOMAIN_RESOURCE, CUPTI_CBID_RESOURCE_CONTEXT_CREATED, &rd);
	api_enter(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaDeviceSynchronize_v3020, 300);

	buf_begin();
	CUpti_ActivityContext3 *c = buf_add(CUPTI_ACTIVITY_KIND_CONTEXT);
	c->contextId = 5;
	c->deviceId = 0;
	c->nullStreamId = 14;
	CUpti_ActivityMemcpy6 *m = buf_add(CUPTI_ACTIVITY_KIND_MEMCPY);
	m->copyKind = CUPTI_ACTIVITY_MEMCPY_KIND_HTOD;
	m->srcKind = CUPTI_ACTIVITY_MEMORY_KIND_PINNED;
	m->dstKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
	m->bytes = 4 << 20;
	m->start = 10;
	m->end = 20;
	m->deviceId = 0;
	m->contextId = 5;
	m->streamId = 15;
	m->correlationId = 201;        /* the driver call */
	m->runtimeCorrelationId = 200; /* the cudaMemcpyAsync */
	CUpti_ActivityMemset4 *s = buf_add(CUPTI_ACTIVITY_KIND_MEMSET);
	s->bytes = 4096;
	s->memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
	s->start = 30;
	s->end = 31;
	s->deviceId = 0;
	s->contextId = 5;
	s->streamId = 16;
	s->correlationId = 210;
	CUpti_ActivitySynchronization2 *y = buf_add(CUPTI_ACTIVITY_KIND_SYNCHRONIZATION);
	y->type = CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_CONTEXT_SYNCHRONIZE;
	y->start = 40;
	y->end = 50;
	y->correlationId = 300;
	y->contextId = 3;
	y->streamId = CUPTI_SYNCHRONIZATION_INVALID_VALUE;
	y->cudaEventId = CUPTI_SYNCHRONIZATION_INVALID_VALUE;
	y = buf_add(CUPTI_ACTIVITY_KIND_SYNCHRONIZATION);
	y->type = CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE;
	y->start = 60;
	y->end = 70;
	y->correlationId = 310;
	y->contextId = 5;
	y->streamId = 15;
	y->cudaEventId = CUPTI_SYNCHRONIZATION_INVALID_VALUE;
	y = buf_add(CUPTI_ACTIVITY_KIND_SYNCHRONIZATION);
	y->type = CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_CONTEXT_SYNCHRONIZE; /* cuCtxSynchronize: no mark */
	y->start = 80;
	y->end = 90;
	y->correlationId = 320;
	y->contextId = 5;
	y->streamId = CUPTI_SYNCHRONIZATION_INVALID_VALUE;
	y->cudaEventId = CUPTI_SYNCHRONIZATION_INVALID_VALUE;
	buf_complete();

	assert_int_equal(fake.nevents, 5);
	const struct trace_event *ev = &fake.events[0];
	assert_int_equal(ev->kind, TRACE_MEMCPY);
	assert_int_equal(ev->correlation, 200);
	assert_int_equal(ev->u.bytes, 4 << 20);
	assert_int_equal(trace_memcpy_copy_kind(ev), TRACE_COPY_HTOD);
	assert_int_equal(trace_memcpy_src_kind(ev), TRACE_MEM_PINNED);
	assert_int_equal(ev->name, 0);
	assert_stream(ev, 0, 5, 15);
	ev = &fake.events[1];
	assert_int_equal(ev->kind, TRACE_MEMSET);
	assert_int_equal(ev->u.bytes, 4096);
	assert_int_equal(ev->correlation, 210);
	assert_stream(ev, 0, 5, 16);
	ev = &fake.events[2];
	assert_int_equal(ev->kind, TRACE_SYNC);
	assert_int_equal(ev->sub, TRACE_SYNC_DEVICE); /* cudaDeviceSynchronize */
	assert_stream(ev, 1, 3, 7);                   /* context 3's NULL stream */
	ev = &fake.events[3];
	assert_int_equal(ev->sub, TRACE_SYNC_STREAM);
	assert_stream(ev, 0, 5, 15);
	ev = &fake.events[4];
	assert_int_equal(ev->sub, TRACE_SYNC_CONTEXT);
	assert_stream(ev, 0, 5, 14); /* context 5's NULL stream, from its record */
}

/* Devices are described from the driver, once each, whether first seen at
 * context creation, in a CONTEXT record or in GPU work: not inside CUPTI's
 * callbacks but when the flush thread (or the exit hook) asks. */
static void test_devices(void **state)
{
	use_fake_driver();
	CUpti_ResourceData rd = {.context = FAKE_CTX};
	cupti_on_callback(NULL, CUPTI_CB_DOMAIN_RESOURCE, CUPTI_CBID_RESOURCE_CONTEXT_CREATED, &rd);
	cupti_on_callback(NULL, CUPTI_CB_DOMAIN_RESOURCE, CUPTI_CBID_RESOURCE_CONTEXT_CREATED, &rd);
	assert_int_equal(fake.ndevices, 0);
	assert_int_equal(fc.attr_calls, 0);
	cupti_devices_describe();
	assert_int_equal(fake.ndevices, 1);
	const struct trace_device *d = &fake.devices[0];
	assert_int_equal(d->id, 1);
	assert_int_equal(d->api, TRACE_DEVICE_CUDA);
	assert_string_equal(str(d->name), "NVIDIA H100 80GB HBM3 #1");
	assert_int_equal(d->uuid[0], 1);
	assert_int_equal(d->uuid[15], 16);
	assert_int_equal(d->cc_major, 9);
	assert_int_equal(d->cc_minor, 0);
	assert_int_equal(d->sm_count, 132);
	assert_int_equal(d->warp_size, 32);
	assert_int_equal(d->max_threads_per_sm, 2048);
	assert_int_equal(d->memory_clock_khz, 2619000);
	assert_int_equal(d->core_clock_khz, 0);
	assert_int_equal(d->global_memory, (uint64_t)85 << 30);

	buf_begin();
	CUpti_ActivityContext3 *c = buf_add(CUPTI_ACTIVITY_KIND_CONTEXT);
	c->contextId = 9;
	c->deviceId = 2;
	CUpti_ActivityKernel10 *k = buf_add(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	k->start = 1;
	k->end = 2;
	k->deviceId = 3;
	k->contextId = 10;
	k->streamId = 1;
	k->name = "k";
	k = buf_add(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL); /* the same device again */
	k->start = 3;
	k->end = 4;
	k->deviceId = 3;
	k->contextId = 10;
	k->streamId = 2;
	k->name = "k";
	/* CUPTI's own description of device 3: the driver's is preferred. */
	CUpti_ActivityDevice5 *dr = buf_add(CUPTI_ACTIVITY_KIND_DEVICE);
	dr->id = 3;
	dr->name = xstrdup("from CUPTI");
	buf_complete();
	assert_int_equal(fake.ndevices, 1);
	cupti_devices_describe();
	cupti_devices_describe();
	assert_int_equal(fake.ndevices, 3);
	assert_int_equal(fake.devices[1].id, 2);
	assert_int_equal(fake.devices[2].id, 3);
	assert_string_equal(str(fake.devices[2].name), "NVIDIA H100 80GB HBM3 #3");
}

/* Allocations go to the thread noted at the call, else the main thread;
 * overheads of a thread are kept, others skipped; CUPTI's DEVICE record
 * describes the device when the driver cannot; untimed records are
 * skipped; every skip is counted in the "cupti-skipped" loss. */
static void test_memory_overhead_device(void **state)
{
	char warn[256] = "";
	uint32_t me = (uint32_t)syscall(SYS_gettid);

	assert_true(cupti_subscribe(warn, sizeof(warn)));
	api_enter(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaMalloc_v3020, 400);

	buf_begin();
	CUpti_ActivityMemory4 *a = buf_add(CUPTI_ACTIVITY_KIND_MEMORY2);
	a->memoryOperationType = CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION;
	a->memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
	a->correlationId = 400;
	a->address = 0x7f0000000000;
	a->bytes = 1 << 22;
	a->timestamp = 500;
	a->processId = (uint32_t)getpid();
	a->deviceId = 1;
	a->contextId = 3;
	a->streamId = CUPTI_INVALID_STREAM_ID;
	a = buf_add(CUPTI_ACTIVITY_KIND_MEMORY2);
	a->memoryOperationType = CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_RELEASE;
	a->memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
	a->correlationId = 401; /* no callback saw it */
	a->address = 0x7f0000000000;
	a->bytes = 1 << 22;
	a->timestamp = 600;
	a->processId = (uint32_t)getpid();
	a->deviceId = 1;
	CUpti_ActivityOverhead3 *o = buf_add(CUPTI_ACTIVITY_KIND_OVERHEAD);
	o->overheadKind = CUPTI_ACTIVITY_OVERHEAD_CUPTI_BUFFER_FLUSH;
	o->objectKind = CUPTI_ACTIVITY_OBJECT_THREAD;
	o->objectId.pt.processId = (uint32_t)getpid();
	o->objectId.pt.threadId = 4244;
	o->start = 700;
	o->end = 800;
	o->overheadData = malloc(32);
	o = buf_add(CUPTI_ACTIVITY_KIND_OVERHEAD);
	o->overheadKind = CUPTI_ACTIVITY_OVERHEAD_CUPTI_RESOURCE;
	o->objectKind = CUPTI_ACTIVITY_OBJECT_DEVICE;
	o->objectId.dcs.deviceId = 1;
	o->start = 900;
	o->end = 950;
	o->overheadData = malloc(16);
	CUpti_ActivityDevice5 *d = buf_add(CUPTI_ACTIVITY_KIND_DEVICE);
	d->id = 2;
	d->computeCapabilityMajor = 9;
	d->numMultiprocessors = 132;
	d->name = xstrdup("NVIDIA H200");
	CUpti_ActivityMemset4 *s = buf_add(CUPTI_ACTIVITY_KIND_MEMSET); /* untimed */
	s->bytes = 1;
	s->deviceId = 0;
	s->contextId = 5;
	s->streamId = 16;
	buf_complete();

	assert_int_equal(fake.nevents, 3);
	const struct trace_event *ev = &fake.events[0];
	assert_int_equal(ev->kind, TRACE_MEM_ALLOC);
	assert_int_equal(ev->start, 500);
	assert_thread(ev, me);
	const struct trace_memop *op = &fake.memops[ev->u.memop.id - 1];
	assert_int_equal(op->address, 0x7f0000000000);
	assert_int_equal(op->bytes, 1 << 22);
	assert_int_equal(op->device, 1);
	assert_int_equal(op->mem_kind, TRACE_MEM_DEVICE);
	ev = &fake.events[1];
	assert_int_equal(ev->kind, TRACE_MEM_FREE);
	assert_thread(ev, (uint32_t)getpid());
	ev = &fake.events[2];
	assert_int_equal(ev->kind, TRACE_API);
	assert_int_equal(trace_api_domain(ev), TRACE_API_UNKNOWN);
	assert_string_equal(str(ev->name), "CUPTI buffer flush");
	assert_thread(ev, 4244);
	assert_int_equal(fake.ndevices, 1);
	assert_int_equal(fake.devices[0].id, 2);
	assert_string_equal(str(fake.devices[0].name), "NVIDIA H200");
	assert_int_equal(fake.devices[0].sm_count, 132);
	assert_int_equal(fake.nlosses, 1);
	assert_string_equal(fake.loss_source[0], "cupti-skipped");
	assert_int_equal(fake.loss_count[0], 2);
}

/* Dropped records add up across buffers and are sent when they change;
 * after the exit hook nothing is sent, and what CUPTI says the client frees
 * is still freed. */
static void test_losses_and_close(void **state)
{
	fc.dropped_next = 5;
	buf_begin();
	buf_complete();
	fc.dropped_next = 2;
	buf_begin();
	buf_complete();
	buf_begin();
	buf_complete();
	assert_int_equal(fake.nlosses, 2);
	assert_string_equal(fake.loss_source[0], "cupti");
	assert_int_equal(fake.loss_count[0], 5);
	assert_string_equal(fake.loss_source[1], "cupti");
	assert_int_equal(fake.loss_count[1], 7);

	cupti_flush();
	assert_int_equal(fc.flushes, 1);
	assert_int_equal(fc.last_flush_flag, CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
	fc.dropped_next = 1;
	buf_begin();
	buf_complete();
	assert_int_equal(fake.nlosses, 3);
	cupti_at_exit(123);
	assert_int_equal(fc.flushes, 2);
	assert_int_equal(fc.last_flush_flag, CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
	assert_true(atomic_load(&cupti.closed));

	buf_begin();
	CUpti_ActivityDevice5 *d = buf_add(CUPTI_ACTIVITY_KIND_DEVICE);
	d->name = xstrdup("after exit");
	CUpti_ActivityKernel10 *k = buf_add(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	k->start = 1;
	k->end = 2;
	buf_complete();
	assert_int_equal(fake.nevents, 0);
	assert_int_equal(fake.ndevices, 0);
	assert_int_equal(fake.nlosses, 3);
	/* The buffer went back to the pool all the same. */
	assert_int_equal(cupti.pool.nfree, cupti.pool.mapped);
}

/* In a fork child nothing is sent or noted, and records are still freed. */
static void test_fork_child(void **state)
{
	char warn[256] = "";
	assert_true(cupti_subscribe(warn, sizeof(warn)));
	cupti.pid = getpid() + 1; /* as seen from a child */
	api_enter(CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, 100);
	assert_int_equal(fake.stack_calls, 0);
	buf_begin();
	CUpti_ActivityOverhead3 *o = buf_add(CUPTI_ACTIVITY_KIND_OVERHEAD);
	o->overheadData = malloc(8);
	add_api(CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_RUNTIME_TRACE_CBID_cudaLaunchKernel_v7000, 100, 1);
	buf_complete();
	assert_int_equal(fake.nevents, 0);
	cupti_flush();
	cupti_at_exit(1);
	assert_int_equal(fc.flushes, 0);
}

/* Without the timestamp callback, CUPTI's times are shifted by the offset
 * measured at start. */
static void test_time_offset(void **state)
{
	cupti.ts_callback = false;
	cupti.ts_offset = -1000;
	buf_begin();
	CUpti_ActivityKernel10 *k = buf_add(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
	k->start = 5000;
	k->end = 6000;
	k->name = "k";
	buf_complete();
	assert_int_equal(fake.nevents, 1);
	assert_int_equal(fake.events[0].start, 4000);
	assert_int_equal(fake.events[0].end, 5000);
	assert_int_equal(cupti_timestamp(), 5000000);
}

/* The flush thread flushes (unforced) every flush_ms and stops when told. */
static void test_flush_thread(void **state)
{
	fake.flush_ms = 5;
	assert_true(cupti_flush_start());
	assert_int_equal(cupti.flush_ms, 5);
	for (int i = 0; i < 500 && __atomic_load_n(&fc.flushes, __ATOMIC_SEQ_CST) < 3; i++)
		usleep(10000);
	assert_true(__atomic_load_n(&fc.flushes, __ATOMIC_SEQ_CST) >= 3);
	assert_int_equal(fc.last_flush_flag, 0);
	cupti_flush_stop();
	assert_false(cupti.flush_running);
	/* The thread's tid was noted (to leave its own CUDA calls out). */
	uint32_t own = atomic_load(&cupti.flush_tid);
	assert_true(own != 0 && own != (uint32_t)syscall(SYS_gettid));
	atomic_store(&cupti.flush_tid, 0);
	unsigned after = __atomic_load_n(&fc.flushes, __ATOMIC_SEQ_CST);
	usleep(30000);
	assert_int_equal(__atomic_load_n(&fc.flushes, __ATOMIC_SEQ_CST), after);
	/* Our main thread is alive. */
	assert_false(cupti_main_thread_gone());
	cupti.flush_stop = false;
}

/* Writes `bytes` to a new file at `path`. */
static void write_file(const char *path, const char *bytes)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(bytes, f);
	fclose(f);
}

/* The loader says why each candidate was refused. */
static void test_loader_refusals(void **state)
{
	char why[768] = "";
	char dir[] = "/tmp/tstop-cupti-load-XXXXXX";
	char path[128];
	Dl_info info;

	memset(&cu, 0, sizeof(cu));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/libcupti.so.13", dir);

	assert_false(cupti_try(path, why, sizeof(why))); /* absent: not worth a word */
	assert_string_equal(why, "");

	write_file(path, "not a library\n");
	assert_false(cupti_try(path, why, sizeof(why)));
	assert_non_null(strstr(why, path));

	/* A real library that is not CUPTI. */
	why[0] = '\0';
	assert_true(dladdr((void *)cos, &info) && info.dli_fname);
	assert_false(cupti_try(info.dli_fname, why, sizeof(why)));
	assert_non_null(strstr(why, "no cuptiGetVersion"));
	assert_null(cupti.lib);
	assert_null(cu.cuptiGetVersion);

	/* None usable at all: one error that says what to do. The dynamic
	 * linker may know a real libcupti on this machine; then that one is
	 * used and must qualify. */
	struct cupti_paths_env env = {.explicit_path = path, .major = CUPTI_MAJOR, .root = dir};
	cupti.driver_version = 0;
	fake.nlogs = 0;
	if (cupti_load(&env)) {
		assert_non_null(cupti.lib);
		assert_true(cupti_decode_version_supported(cupti.lib_version));
		assert_true(cupti.lib_path[0] == '/');
		assert_int_equal(fake.nlogs, 0);
		/* The same library next to a driver of an older CUDA. */
		char again[512];
		snprintf(again, sizeof(again), "%s", cupti.lib_path);
		cupti.lib = NULL;
		cupti.driver_version = 12080;
		why[0] = '\0';
		assert_false(cupti_try(again, why, sizeof(why)));
		assert_non_null(strstr(why, "is newer than the driver (CUDA 12.8) and would not start"));
	} else {
		assert_int_equal(fake.nlogs, 1);
		assert_int_equal(fake.log_level[0], PROTO_LOG_ERROR);
		assert_non_null(strstr(fake.logs[0], "no usable CUPTI library"));
		assert_non_null(strstr(fake.logs[0], "TSTOP_CUPTI_LIBRARY"));
		assert_non_null(strstr(fake.logs[0], path));
	}
	unlink(path);
	rmdir(dir);
}

/* cuptiActivityEnable refusing DEVICE (tolerated) and CONCURRENT_KERNEL
 * (needed): both said, the first needed failure returned; KERNEL is never
 * asked for; what was enabled is disabled again, nothing else. */
static void test_enable_kinds(void **state)
{
	char warn[768] = "";
	CUptiResult needed = CUPTI_SUCCESS;
	const unsigned nkinds = sizeof(cupti_kinds) / sizeof(cupti_kinds[0]);

	fc.refuse[0] = CUPTI_ACTIVITY_KIND_DEVICE;
	fc.refuse[1] = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
	unsigned n = cupti_enable_kinds(warn, sizeof(warn), &needed);
	assert_int_equal(fc.enables, nkinds);
	assert_int_equal(n, nkinds - 2);
	assert_int_equal(kinds_on(), nkinds - 2);
	assert_false(fc.kernel_asked);
	assert_int_equal(needed, CUPTI_ERROR_NOT_INITIALIZED);
	assert_non_null(strstr(warn, "DEVICE not enabled (CUPTI_ERROR_NOT_INITIALIZED)"));
	assert_non_null(strstr(warn, "CONCURRENT_KERNEL not enabled (CUPTI_ERROR_NOT_INITIALIZED)"));
	cupti_disable_kinds();
	assert_int_equal(fc.disables, nkinds - 2);
	assert_int_equal(kinds_on(), 0);
}

/* The CUDA version of a CUPTI API version. */
static void test_cuda_version(void **state)
{
	assert_int_equal(cupti_cuda_version(130001), 13000);
	assert_int_equal(cupti_cuda_version(130100), 13010);
	assert_int_equal(cupti_cuda_version(120902), 12090);
}

/* Without CUDA capture asked for, InitializeInjection does nothing but
 * succeed. */
static void test_initialize_inactive(void **state)
{
	/* The modes. */
	fake.present = false;
	assert_int_equal(cupti_mode(), CUPTI_MODE_OFF);
	fake.present = true;
	fake.connected = true;
	fake.flags = PROTO_OPT_CUDA;
	assert_int_equal(cupti_mode(), CUPTI_MODE_RECORD);
	fake.flags = PROTO_OPT_NVTX | PROTO_OPT_STACKS; /* recorded without CUDA */
	assert_int_equal(cupti_mode(), CUPTI_MODE_OFF);
	fake.connected = false; /* dormant, waiting for tstop attach */
	assert_int_equal(cupti_mode(), CUPTI_MODE_WAIT);

	/* Without tstop, InitializeInjection does nothing but succeed. */
	fake.present = false;
	cupti.pid = 0;
	fake.present_asked = 0;
	assert_int_equal(InitializeInjection(), 1);
	assert_int_equal(fake.present_asked, 1);
	assert_int_equal(fake.nlogs, 0);
	assert_int_equal(cupti.pid, 0);
	assert_null(fake.flush);
	assert_null(fake.session_start);
	/* The driver calls it once; a second call is a no-op too. */
	fake.present = fake.connected = true;
	fake.flags = PROTO_OPT_CUDA;
	assert_int_equal(InitializeInjection(), 1);
	assert_int_equal(fake.present_asked, 1);
	assert_int_equal(fake.nlogs, 0);
}

int main(void)
{
	cupti_flush_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_subscribe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kernel_and_api, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_window_paused_launches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copies_and_syncs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_memory_overhead_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_losses_and_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fork_child, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_time_offset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_thread, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loader_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enable_kinds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cuda_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_initialize_inactive, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
