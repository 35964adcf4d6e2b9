/*
 * cupti.c - the collector's CUDA backend: CUPTI activity records into tstop.
 *
 * The CUDA driver calls InitializeInjection() once, from the first cuInit()
 * of a process started with CUDA_INJECTION64_PATH naming this library.
 * When tstop records CUDA in this process, or the process waits for `tstop
 * attach` (inject.h: attach), the backend then:
 *
 *   1. loads libcupti with dlopen() from the places cupti_paths.h lists (the
 *      collector never links it), resolves every CUPTI function it uses into
 *      a table typed from the cupti headers, and refuses a library whose
 *      record layouts cupti_decode.c does not read or whose CUDA version is
 *      newer than the driver's (such a CUPTI does not start); it logs which
 *      library it used, or why none would do;
 *   2. sets CUPTI's thread ids to Linux tids, its timestamps to the session
 *      clock (cuptiActivityRegisterTimestampCallback -> inject_now), lends
 *      it activity buffers from a bounded pool (cupti_pool.h), subscribes
 *      to CUPTI's callback API and notes each context's device and NULL
 *      stream as contexts are created;
 *   3. for each session (at once in a recorded process, at each attach in
 *      a waiting one, until the exit or detach), enables the activity kinds
 *      of DESIGN.md section 3 (CONCURRENT_KERNEL, never KERNEL, which
 *      serializes kernels) and the callbacks of a few API calls
 *      (cupti_api.h): at the entry of a launch or copy it takes the caller's
 *      stack, at an allocation it notes the thread, at cudaDeviceSynchronize
 *      the kind, each under the call's correlation id (cupti_corr.h);
 *   4. runs a flush thread during a session that asks CUPTI for completed
 *      buffers every inject_flush_ms() so that the live view is live, and
 *      describes each device in use from the driver API (CUPTI sent no
 *      DEVICE record on an H100 with CUDA 13.0) there, outside every CUPTI
 *      callback; at the end of a session it forces a last flush. Between
 *      sessions nothing but context creation is watched.
 *
 * Each completed buffer is walked with cuptiActivityGetNextRecord, each
 * record decoded by cupti_decode() and sent with the inject_* calls: GPU
 * work on the track of its (device, context, stream), API calls on the
 * track of the thread that made them (CUPTI delivers them on its own
 * thread), with the stack found under their correlation id. Records CUPTI
 * dropped (cuptiActivityGetNumDroppedRecords) are reported as the "cupti"
 * loss, records that could not be decoded as "cupti-skipped". The flush
 * thread's own CUDA calls (the device descriptions) are left out: they are
 * tstop's, not the application's.
 *
 * Threads: the callbacks run on application threads (API entry, context
 * creation, buffer requests), the completion callback on CUPTI's thread,
 * the flush thread or a thread that flushes at exit. Record processing holds
 * `cupti.lock` (its caches); the context map has its own short lock; the
 * correlation maps and the device flags are lock-free. Inside CUPTI's
 * callbacks the backend calls only CUPTI's pure functions (record walking,
 * names, ids) and the collector core, never the driver; the driver is
 * called from the flush thread and the exit hook only, holding no lock of
 * this file. So no lock-order cycle with CUPTI's or the driver's own locks
 * exists.
 *
 * Capture windows (proto.h). In a session that may pause capture
 * (PROTO_OPT_WINDOW) the launch and copy callbacks are on even without
 * stacks: a call made while capture is paused is marked by its correlation
 * id (cupti_paused) and its GPU work dropped when its record arrives,
 * whenever that is; GPU work of calls made while on is kept even when it
 * ends after capture went off. A mark lasts CUPTI_CORR_SLOTS calls; behind
 * it, cupti_window_log keeps the correlation ids at which the watched calls
 * saw capture switch, so that a record whose mark was overwritten (a deep
 * GPU backlog) is still judged by the state its call saw. API, synchronization and allocation records
 * are kept when capture was on at their start (inject_captured_at).
 *
 * After fork() the child cannot use CUDA; every entry point checks the pid
 * and does nothing in a child.
 */
#include <cupti.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "capture/cupti/cupti_decode.h"
#include "capture/inject/cupti_api.h"
#include "capture/inject/cupti_corr.h"
#include "capture/inject/cupti_paths.h"
#include "capture/inject/cupti_pool.h"
#include "capture/inject/inject.h"

#ifndef TSTOP_CUPTI_BUILD_LIBDIR
#define TSTOP_CUPTI_BUILD_LIBDIR ""
#endif

#define CUPTI_MAJOR            (CUPTI_API_VERSION / 10000u) /* CUDA major version of the headers */
#define CUPTI_BUFFER_SIZE      (4u << 20)                   /* bytes of one activity buffer */
#define CUPTI_BUFFER_MAX       16u                          /* buffers lent at most (64 MiB) */
#define CUPTI_CBIDS            1024u                        /* callback ids with a role / cached name */
#define CUPTI_MAX_CONTEXTS     64u
#define CUPTI_MAX_DEVICES      64u
#define CUPTI_JOIN_SECONDS     2           /* longest wait for the flush thread at shutdown */
#define CUPTI_MARK_DEVICE_SYNC 0x80000000u /* in cupti_marks: the call was a device-wide sync */

#define CUPTI_STR(x)  #x
#define CUPTI_XSTR(x) CUPTI_STR(x)

/* --- the functions used, resolved with dlsym ------------------------------------ */

/* Every CUPTI function this file calls. Each table member has the type the
 * cupti headers declare for the function of the same name. */
#define CUPTI_FUNCTIONS(X)                                                                                   \
	X(cuptiGetVersion)                                                                                   \
	X(cuptiGetResultString)                                                                              \
	X(cuptiGetTimestamp)                                                                                 \
	X(cuptiSetThreadIdType)                                                                              \
	X(cuptiActivityRegisterTimestampCallback)                                                            \
	X(cuptiActivityRegisterCallbacks)                                                                    \
	X(cuptiActivityEnable)                                                                               \
	X(cuptiActivityDisable)                                                                              \
	X(cuptiActivityGetNextRecord)                                                                        \
	X(cuptiActivityGetNumDroppedRecords)                                                                 \
	X(cuptiActivityFlushAll)                                                                             \
	X(cuptiGetCallbackName)                                                                              \
	X(cuptiSubscribe)                                                                                    \
	X(cuptiEnableCallback)                                                                               \
	X(cuptiGetContextId)                                                                                 \
	X(cuptiGetDeviceId)                                                                                  \
	X(cuptiGetStreamId)

/* The driver functions used to describe devices (libcuda.so.1 is loaded:
 * the driver is what calls InitializeInjection). Some names are macros of
 * cuda.h (cuDeviceTotalMem -> cuDeviceTotalMem_v2): the symbol looked up is
 * the expanded one. */
#define CUPTI_DRIVER_FUNCTIONS(X)                                                                            \
	X(cuDriverGetVersion)                                                                                \
	X(cuDeviceGet)                                                                                       \
	X(cuDeviceGetName)                                                                                   \
	X(cuDeviceGetUuid)                                                                                   \
	X(cuDeviceTotalMem)                                                                                  \
	X(cuDeviceGetAttribute)

#define CUPTI_MEMBER(f) __typeof__(f) *f;
struct cupti_fns {
	CUPTI_FUNCTIONS(CUPTI_MEMBER)
};
struct cupti_driver_fns {
	CUPTI_DRIVER_FUNCTIONS(CUPTI_MEMBER)
};
#undef CUPTI_MEMBER

/* Where each function goes in its table. */
struct cupti_symbol {
	const char *name;
	size_t offset;
};
#define CUPTI_SYMBOL(f)        {CUPTI_XSTR(f), offsetof(struct cupti_fns, f)},
#define CUPTI_DRIVER_SYMBOL(f) {CUPTI_XSTR(f), offsetof(struct cupti_driver_fns, f)},
static const struct cupti_symbol cupti_symbols[] = {CUPTI_FUNCTIONS(CUPTI_SYMBOL)};
static const struct cupti_symbol cupti_driver_symbols[] = {CUPTI_DRIVER_FUNCTIONS(CUPTI_DRIVER_SYMBOL)};
#undef CUPTI_SYMBOL
#undef CUPTI_DRIVER_SYMBOL

static struct cupti_fns cu;
static struct cupti_driver_fns drv;

/* The activity kinds enabled, in order; `needed`: without it CUDA capture
 * is useless, so its failure is an error, others are warnings. */
static const struct {
	CUpti_ActivityKind kind;
	bool needed;
} cupti_kinds[] = {
    {CUPTI_ACTIVITY_KIND_CONTEXT, false},          {CUPTI_ACTIVITY_KIND_DEVICE, false},
    {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, true}, {CUPTI_ACTIVITY_KIND_MEMCPY, false},
    {CUPTI_ACTIVITY_KIND_MEMCPY2, false},          {CUPTI_ACTIVITY_KIND_MEMSET, false},
    {CUPTI_ACTIVITY_KIND_SYNCHRONIZATION, false},  {CUPTI_ACTIVITY_KIND_RUNTIME, false},
    {CUPTI_ACTIVITY_KIND_DRIVER, false},           {CUPTI_ACTIVITY_KIND_MEMORY2, false},
    {CUPTI_ACTIVITY_KIND_OVERHEAD, false},
};

/* --- state -------------------------------------------------------------------- */

struct cupti_context {
	uint32_t id, device, null_stream;
	bool has_null_stream;
};

static struct {
	pid_t pid;              /* the process CUPTI runs in; 0 before start */
	_Atomic bool running;   /* CUPTI loaded, its callbacks registered */
	_Atomic bool recording; /* a session records CUDA: activity kinds enabled */
	_Atomic bool closed;    /* no session: records are no longer sent (freed only) */
	bool stacks;            /* PROTO_OPT_STACKS */
	bool window;            /* PROTO_OPT_WINDOW: capture may pause in this session */
	bool driver_ok;         /* drv is resolved */
	int driver_version;     /* cuDriverGetVersion, 0 = unknown */
	bool ts_callback;       /* timestamps come from inject_now() */
	int64_t ts_offset;      /* else: added to CUPTI's timestamps */
	void *lib;              /* libcupti handle */
	char lib_path[512];     /* where it came from */
	uint32_t lib_version;   /* cuptiGetVersion */
	CUpti_SubscriberHandle subscriber;
	bool subscribed;
	uint8_t role[2][CUPTI_CBIDS]; /* [0] runtime, [1] driver: CUPTI_ROLE_* */
	uint32_t kinds_enabled;       /* bit i: cupti_kinds[i] enabled in this session */
	char setup_warn[384];         /* what went wrong loading, said with each session */
	struct cupti_pool pool;

	/* Record processing (cupti.lock). */
	pthread_mutex_t lock;
	uint32_t name_generation;            /* inject_generation() of api_name */
	uint32_t api_name[2][CUPTI_CBIDS];   /* string ids, 0 = not yet */
	uint64_t dropped;                    /* records CUPTI dropped */
	uint64_t skipped;                    /* records not decoded or not placeable */
	uint64_t dropped_sent, skipped_sent; /* totals last reported */

	/* Contexts (ctx_lock). */
	pthread_mutex_t ctx_lock;
	struct cupti_context ctx[CUPTI_MAX_CONTEXTS];
	unsigned nctx;
	_Atomic uint64_t devices_seen;                  /* bit d: device d has work or a context */
	_Atomic uint8_t device_sent[CUPTI_MAX_DEVICES]; /* described to tstop */

	/* The flush thread (flush_lock). */
	pthread_mutex_t flush_lock;
	pthread_cond_t flush_cond;
	pthread_t flush_thread;
	bool flush_running, flush_stop;
	uint32_t flush_ms;
	_Atomic uint32_t flush_tid; /* its Linux tid: its CUDA calls are tstop's own */
} cupti = {
    .closed = true,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .ctx_lock = PTHREAD_MUTEX_INITIALIZER,
    .flush_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* Correlation id -> stack id of a launch or copy, or CUPTI_MARK_DEVICE_SYNC;
 * correlation id -> tid of an allocation or release; correlation id -> 1
 * for a launch or copy made while capture was paused. */
static struct cupti_corr_map cupti_marks, cupti_threads, cupti_paused;

/* The capture switches the watched calls saw, by correlation id (ids rise
 * with every API call of the process): entry i says that the calls from
 * corr[i] on saw capture paused[i], until entry i + 1. Appended only when a
 * watched call sees the other state than the last entry, and only with a
 * larger id (calls racing around a switch keep their exact marks); when
 * full, the older half is dropped. `last` (-1 none, 0 on, 1 paused) spares
 * the lock on calls that see no switch. */
#define CUPTI_WINDOW_LOG 1024
static struct {
	pthread_mutex_t lock;
	_Atomic int last;
	uint32_t n;
	uint32_t corr[CUPTI_WINDOW_LOG];
	bool paused[CUPTI_WINDOW_LOG];
} cupti_window_log = {.lock = PTHREAD_MUTEX_INITIALIZER, .last = -1};

/* Notes that the watched call `corr` saw capture `paused`. O(1); takes the
 * lock only at a switch. */
static void cupti_window_note(uint32_t corr, bool paused)
{
	if (atomic_load_explicit(&cupti_window_log.last, memory_order_relaxed) == (int)paused)
		return;
	pthread_mutex_lock(&cupti_window_log.lock);
	uint32_t n = cupti_window_log.n;
	if (n == 0 || (cupti_window_log.paused[n - 1] != paused && corr > cupti_window_log.corr[n - 1])) {
		if (n == CUPTI_WINDOW_LOG) {
			n = CUPTI_WINDOW_LOG / 2;
			memmove(cupti_window_log.corr, cupti_window_log.corr + n, n * sizeof(uint32_t));
			memmove(cupti_window_log.paused, cupti_window_log.paused + n, n * sizeof(bool));
		}
		cupti_window_log.corr[n] = corr;
		cupti_window_log.paused[n] = paused;
		cupti_window_log.n = n + 1;
		atomic_store_explicit(&cupti_window_log.last, (int)paused, memory_order_relaxed);
	}
	pthread_mutex_unlock(&cupti_window_log.lock);
}

/* Whether the watched calls saw capture paused at correlation id `corr`,
 * by the log; false when the log knows nothing of it. O(log n). */
static bool cupti_window_paused_at(uint32_t corr)
{
	pthread_mutex_lock(&cupti_window_log.lock);
	uint32_t lo = 0, hi = cupti_window_log.n; /* first entry with corr > `corr` */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (cupti_window_log.corr[mid] <= corr)
			lo = mid + 1;
		else
			hi = mid;
	}
	bool paused = lo > 0 && cupti_window_log.paused[lo - 1];
	pthread_mutex_unlock(&cupti_window_log.lock);
	return paused;
}

/* Whether the call with correlation id `corr` was made while capture was
 * paused: its mark, else the log. */
static bool cupti_call_paused(uint32_t corr)
{
	uint32_t v;
	return corr && (cupti_corr_get(&cupti_paused, corr, &v) || cupti_window_paused_at(corr));
}

/* CUPTI's message for `r`. */
static const char *cupti_error(CUptiResult r)
{
	const char *s = NULL;
	if (!cu.cuptiGetResultString || cu.cuptiGetResultString(r, &s) != CUPTI_SUCCESS || !s)
		return "unknown CUPTI error";
	return s;
}

/* True in the process CUPTI was started in (false in a fork child). */
static bool cupti_live(void)
{
	return cupti.pid != 0 && getpid() == cupti.pid;
}

/* --- loading ---------------------------------------------------------------------- */

/* Looks up every symbol of `syms` in `lib` into the table at `table`.
 * Returns NULL, or the name of the first missing symbol. */
static const char *cupti_resolve(void *lib, const struct cupti_symbol *syms, size_t n, void *table)
{
	for (size_t i = 0; i < n; i++) {
		void *sym = dlsym(lib, syms[i].name);
		if (!sym)
			return syms[i].name;
		/* POSIX: a function's address fits in a void *. */
		memcpy((char *)table + syms[i].offset, &sym, sizeof(sym));
	}
	return NULL;
}

/* Appends printf-formatted text to the NUL-terminated `buf` of `cap`
 * bytes, cutting what does not fit. */
static void cupti_append(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cupti_append(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

/* The CUDA version (1000 * major + 10 * minor, as cuDriverGetVersion has
 * it) of a CUPTI of API version `v` (xxyyzz since CUDA 13). */
static int cupti_cuda_version(uint32_t v)
{
	return (int)(v / 10000u * 1000u + v / 100u % 100u * 10u);
}

/* Resolves the driver functions from the loaded libcuda.so.1; sets
 * cupti.driver_ok and cupti.driver_version. */
static void cupti_load_driver(void)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);

	if (!h)
		return;
	if (!cupti_resolve(h, cupti_driver_symbols,
	                   sizeof(cupti_driver_symbols) / sizeof(cupti_driver_symbols[0]), &drv)) {
		cupti.driver_ok = true;
		if (drv.cuDriverGetVersion(&cupti.driver_version) != CUDA_SUCCESS)
			cupti.driver_version = 0;
	}
	/* libcuda stays loaded: the driver itself holds it. */
	dlclose(h);
}

/* Tries candidate `path`: loads it, resolves the table, checks versions.
 * On success keeps it in cupti.lib/cu and returns true; else appends why
 * not to `why` (when the file exists or the name is a bare name) and
 * returns false with nothing kept. */
static bool cupti_try(const char *path, char *why, size_t cap)
{
	bool bare = !strchr(path, '/');
	uint32_t version = 0;

	if (!bare && access(path, F_OK) != 0)
		return false;
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		/* A bare name the dynamic linker does not find is not worth
		 * reporting: it is the usual case. */
		if (!bare)
			cupti_append(why, cap, "; %s: %s", path, dlerror());
		return false;
	}
	const char *missing =
	    cupti_resolve(lib, cupti_symbols, sizeof(cupti_symbols) / sizeof(cupti_symbols[0]), &cu);
	if (missing) {
		cupti_append(why, cap, "; %s: no %s (not a CUPTI of CUDA %u)", path, missing, CUPTI_MAJOR);
		goto err;
	}
	if (cu.cuptiGetVersion(&version) != CUPTI_SUCCESS || !cupti_decode_version_supported(version)) {
		cupti_append(why, cap, "; %s: CUPTI API version %u, this tstop reads CUDA %u's (%u)", path,
		             version, CUPTI_MAJOR, (unsigned)CUPTI_API_VERSION);
		goto err;
	}
	if (cupti.driver_version > 0 && cupti_cuda_version(version) > cupti.driver_version) {
		cupti_append(
		    why, cap,
		    "; %s: CUPTI of CUDA %d.%d is newer than the driver (CUDA %d.%d) and would not start",
		    path, cupti_cuda_version(version) / 1000, cupti_cuda_version(version) % 1000 / 10,
		    cupti.driver_version / 1000, cupti.driver_version % 1000 / 10);
		goto err;
	}
	cupti.lib = lib;
	cupti.lib_version = version;
	/* The file the name resolved to, for the log. */
	Dl_info info;
	if (dladdr((void *)cu.cuptiGetVersion, &info) && info.dli_fname)
		snprintf(cupti.lib_path, sizeof(cupti.lib_path), "%s", info.dli_fname);
	else
		snprintf(cupti.lib_path, sizeof(cupti.lib_path), "%s", path);
	return true;
err:
	memset(&cu, 0, sizeof(cu));
	dlclose(lib);
	return false;
}

/* Loads a usable libcupti (see cupti_paths.h for the order; a libcupti the
 * application already loaded comes first). Returns true with cu filled, or
 * false after logging why none would do. */
static bool cupti_load(const struct cupti_paths_env *env)
{
	struct cupti_paths paths = {0};
	char why[768] = "";
	char loaded[32];
	bool ok = false;

	snprintf(loaded, sizeof(loaded), "libcupti.so.%u", CUPTI_MAJOR);
	void *already = dlopen(loaded, RTLD_NOW | RTLD_NOLOAD);
	if (already) {
		dlclose(already);
		if (cupti_try(loaded, why, sizeof(why)))
			return true;
	}
	cupti_paths_build(env, &paths);
	for (size_t i = 0; i < paths.n && !ok; i++)
		ok = cupti_try(paths.path[i], why, sizeof(why));
	if (!ok)
		inject_log(PROTO_LOG_ERROR,
		           "CUDA: no usable CUPTI library, CUDA activity will not be captured; set "
		           "TSTOP_CUPTI_LIBRARY to the libcupti.so.%u of a CUDA %u toolkit or of the "
		           "nvidia-cuda-cupti Python package (looked in %zu places%s)",
		           CUPTI_MAJOR, CUPTI_MAJOR, paths.n, why[0] ? why : ", found none");
	cupti_paths_free(&paths);
	return ok;
}

/* --- contexts and devices ----------------------------------------------------------- */

/* Notes that context `id` lives on `device` (and, when has_null_stream, that
 * its NULL stream is `null_stream`). Contexts beyond CUPTI_MAX_CONTEXTS are
 * not kept (their syncs go to device 0). */
static void cupti_ctx_note(uint32_t id, uint32_t device, bool has_null_stream, uint32_t null_stream)
{
	pthread_mutex_lock(&cupti.ctx_lock);
	struct cupti_context *c = NULL;
	for (unsigned i = 0; i < cupti.nctx && !c; i++)
		if (cupti.ctx[i].id == id)
			c = &cupti.ctx[i];
	if (!c && cupti.nctx < CUPTI_MAX_CONTEXTS) {
		c = &cupti.ctx[cupti.nctx++];
		memset(c, 0, sizeof(*c));
		c->id = id;
	}
	if (c) {
		c->device = device;
		if (has_null_stream) {
			c->null_stream = null_stream;
			c->has_null_stream = true;
		}
	}
	pthread_mutex_unlock(&cupti.ctx_lock);
}

/* Looks up context `id`: true with its device and NULL stream (0 when not
 * known) filled, false when it was never noted. */
static bool cupti_ctx_find(uint32_t id, uint32_t *device, uint32_t *null_stream)
{
	bool found = false;

	pthread_mutex_lock(&cupti.ctx_lock);
	for (unsigned i = 0; i < cupti.nctx; i++) {
		if (cupti.ctx[i].id == id) {
			*device = cupti.ctx[i].device;
			*null_stream = cupti.ctx[i].has_null_stream ? cupti.ctx[i].null_stream : 0;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&cupti.ctx_lock);
	return found;
}

/* An integer attribute of `dev`, or 0 when the driver does not know it. */
static uint32_t cupti_attr(CUdevice dev, CUdevice_attribute attr)
{
	int v = 0;
	if (drv.cuDeviceGetAttribute(&v, attr, dev) != CUDA_SUCCESS || v < 0)
		return 0;
	return (uint32_t)v;
}

/* Describes CUDA device `device` (an ordinal, as CUPTI numbers devices) to
 * tstop from the driver API, once per device. False when the driver
 * functions are missing or the device unknown (then it can be tried again,
 * e.g. with a CUPTI DEVICE record). Called only from the collector's own
 * flush thread or its exit hook, never inside a CUPTI callback, so that no
 * driver call is made while the driver or CUPTI holds its locks (context
 * creation, buffer delivery). */
static bool cupti_device_describe(uint32_t device)
{
	struct trace_device d;
	char name[256] = "";
	CUdevice dev;
	CUuuid uuid;
	size_t bytes = 0;

	if (!cupti.driver_ok || device >= CUPTI_MAX_DEVICES)
		return false;
	if (atomic_load_explicit(&cupti.device_sent[device], memory_order_acquire))
		return true;
	if (drv.cuDeviceGet(&dev, (int)device) != CUDA_SUCCESS)
		return false;
	if (atomic_exchange(&cupti.device_sent[device], 1))
		return true; /* another thread does it */
	memset(&d, 0, sizeof(d));
	d.id = device;
	d.api = TRACE_DEVICE_CUDA;
	if (drv.cuDeviceGetName(name, (int)sizeof(name) - 1, dev) == CUDA_SUCCESS)
		d.name = inject_cstr(name);
	if (drv.cuDeviceGetUuid(&uuid, dev) == CUDA_SUCCESS) {
		_Static_assert(sizeof(d.uuid) == sizeof(uuid.bytes), "CUDA uuid size");
		memcpy(d.uuid, uuid.bytes, sizeof(d.uuid));
	}
	if (drv.cuDeviceTotalMem(&bytes, dev) == CUDA_SUCCESS)
		d.global_memory = bytes;
	d.cc_major = cupti_attr(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
	d.cc_minor = cupti_attr(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
	d.sm_count = cupti_attr(dev, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
	d.warp_size = cupti_attr(dev, CU_DEVICE_ATTRIBUTE_WARP_SIZE);
	d.max_threads_per_block = cupti_attr(dev, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
	d.max_threads_per_sm = cupti_attr(dev, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR);
	d.max_blocks_per_sm = cupti_attr(dev, CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR);
	d.regs_per_block = cupti_attr(dev, CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK);
	d.regs_per_sm = cupti_attr(dev, CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR);
	d.smem_per_block = cupti_attr(dev, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK);
	d.smem_per_sm = cupti_attr(dev, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR);
	d.core_clock_khz = cupti_attr(dev, CU_DEVICE_ATTRIBUTE_CLOCK_RATE);
	d.memory_clock_khz = cupti_attr(dev, CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
	d.memory_bus_width = cupti_attr(dev, CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH);
	inject_device(&d);
	return true;
}

/* Notes that `device` is in use; cupti_devices_describe() describes it. */
static void cupti_device_seen(uint32_t device)
{
	if (device < CUPTI_MAX_DEVICES)
		atomic_fetch_or_explicit(&cupti.devices_seen, (uint64_t)1 << device, memory_order_relaxed);
}

/* Describes the devices seen and not described yet (see
 * cupti_device_describe for where it runs). */
static void cupti_devices_describe(void)
{
	uint64_t seen = atomic_load_explicit(&cupti.devices_seen, memory_order_relaxed);

	for (uint32_t d = 0; seen && d < CUPTI_MAX_DEVICES; d++)
		if (seen & (uint64_t)1 << d)
			cupti_device_describe(d);
}

/* --- record processing (cupti.lock held) -------------------------------------------- */

/* The string id of API function (cb_domain, cbid), without CUPTI's
 * version suffix, cached per callback id; 0 when CUPTI has no name; *ok is
 * cleared when the name could not be sent. */
static uint32_t cupti_api_name(uint32_t cb_domain, uint32_t cbid, bool *ok)
{
	unsigned dom = cb_domain == CUPTI_CB_DOMAIN_RUNTIME_API ? 0 : 1;
	const char *name = NULL;
	uint32_t gen = inject_generation();

	if (gen != cupti.name_generation) {
		memset(cupti.api_name, 0, sizeof(cupti.api_name));
		cupti.name_generation = gen;
	}
	if (cbid < CUPTI_CBIDS && cupti.api_name[dom][cbid])
		return cupti.api_name[dom][cbid];
	if (cu.cuptiGetCallbackName((CUpti_CallbackDomain)cb_domain, cbid, &name) != CUPTI_SUCCESS || !name)
		return 0;
	size_t len = cupti_api_name_len(name);
	uint32_t id = inject_string(name, len);
	if (!id && len)
		*ok = false;
	if (cbid < CUPTI_CBIDS)
		cupti.api_name[dom][cbid] = id;
	return id;
}

/* The string id of `name` (a string in the record), 0 for none; *ok is
 * cleared when a non-empty name could not be sent. */
static uint32_t cupti_name(const char *name, bool *ok)
{
	if (!name || !*name)
		return 0;
	uint32_t id = inject_cstr(name);
	if (!id)
		*ok = false;
	return id;
}

/* Moves a CUPTI time onto the session clock (identity when CUPTI calls
 * inject_now() itself). */
static void cupti_retime(struct trace_event *ev)
{
	if (cupti.ts_callback || cupti.ts_offset == 0)
		return;
	ev->start += cupti.ts_offset;
	ev->end += cupti.ts_offset;
}

/* Whether the event of a decoded record belongs to a capture window
 * (proto.h: capture windows): GPU work when the call that launched it was
 * not made while capture was paused (marked at its entry; work of calls the
 * callbacks do not watch, such as driver-API launches, is kept), anything
 * else (API calls, synchronizations, allocations) when capture was on at
 * its start. */
static bool cupti_in_window(const struct cupti_decoded *d)
{
	switch (d->ev.kind) {
	case TRACE_KERNEL:
	case TRACE_MEMCPY:
	case TRACE_MEMSET:
		return !cupti_call_paused(d->ev.correlation) && !cupti_call_paused(d->runtime_correlation);
	default:
		return inject_captured_at(cupti.ts_callback ? d->ev.start : d->ev.start + cupti.ts_offset);
	}
}

/* Sends the event of a decoded EVENT record. */
static void cupti_emit(const struct cupti_decoded *d)
{
	struct trace_event ev = d->ev;
	bool ok = true;
	uint32_t device = d->device, null_stream = 0, value = 0;

	if (cupti.window && !cupti_in_window(d))
		return; /* outside the capture windows: not captured, not lost */

	switch (ev.kind) {
	case TRACE_KERNEL:
	case TRACE_MEMCPY:
	case TRACE_MEMSET:
		if (!cupti_ctx_find(d->context, &device, &null_stream))
			cupti_ctx_note(d->context, d->device, false, 0);
		cupti_device_seen(d->device);
		ev.track = inject_stream_track(d->device, d->context, d->stream);
		if (ev.kind == TRACE_KERNEL) {
			ev.name = cupti_name(d->name, &ok);
			ev.u.kernel.launch = inject_launch(&d->launch);
			ok = ok && ev.u.kernel.launch;
		} else if (ev.kind == TRACE_MEMCPY && d->runtime_correlation) {
			/* Link the copy to the runtime call (cudaMemcpy*), whose
			 * event carries the stack; `correlation` is the driver's. */
			ev.correlation = d->runtime_correlation;
		}
		break;
	case TRACE_SYNC:
		/* A sync record names its context only. */
		cupti_ctx_find(d->context, &device, &null_stream);
		if (ev.sub == TRACE_SYNC_CONTEXT && cupti_corr_get(&cupti_marks, ev.correlation, &value) &&
		    value == CUPTI_MARK_DEVICE_SYNC)
			ev.sub = TRACE_SYNC_DEVICE;
		ev.track = inject_stream_track(device, d->context,
		                               d->owner == CUPTI_OWNER_STREAM ? d->stream : null_stream);
		break;
	case TRACE_API:
		/* The flush thread's driver calls (device descriptions) and
		 * CUPTI's overhead on it are tstop's, not the application's. */
		if (d->tid && d->tid == atomic_load_explicit(&cupti.flush_tid, memory_order_relaxed))
			return;
		if (d->api_domain == TRACE_API_UNKNOWN) {
			/* CUPTI overhead: kept when a thread paid for it. */
			if (d->owner != CUPTI_OWNER_THREAD) {
				cupti.skipped++;
				return;
			}
			ev.name = cupti_name(d->name, &ok);
		} else {
			ev.name =
			    d->name ? cupti_name(d->name, &ok) : cupti_api_name(d->cb_domain, d->cbid, &ok);
			if (d->api_domain == TRACE_API_CUDA_RUNTIME &&
			    cupti_corr_get(&cupti_marks, ev.correlation, &value) &&
			    value != CUPTI_MARK_DEVICE_SYNC)
				ev.u.api.stack = value;
		}
		ev.track = inject_thread_track_of(d->tid);
		break;
	case TRACE_MEM_ALLOC:
	case TRACE_MEM_FREE: {
		/* The record has no thread: the one noted at the call, else the
		 * main thread. */
		uint32_t tid = d->pid ? d->pid : (uint32_t)cupti.pid;
		cupti_corr_get(&cupti_threads, ev.correlation, &tid);
		ev.name = cupti_name(d->name, &ok);
		ev.u.memop.id = inject_memop(&d->memop);
		ok = ok && ev.u.memop.id;
		ev.track = inject_thread_track_of(tid);
		break;
	}
	default:
		/* NVTX marks come from the NVTX backend, not through CUPTI. */
		cupti.skipped++;
		return;
	}
	if (!ok || !ev.track)
		return; /* an id could not be sent: the ring counted the loss */
	cupti_retime(&ev);
	inject_event(&ev);
}

/* Handles one activity record. */
static void cupti_record(const CUpti_Activity *rec)
{
	struct cupti_decoded d;
	int status = cupti_decode(rec, &d);

	switch (status) {
	case CUPTI_DECODE_EVENT:
		cupti_emit(&d);
		break;
	case CUPTI_DECODE_CONTEXT:
		cupti_ctx_note(d.context, d.device, true, d.stream);
		cupti_device_seen(d.device);
		break;
	case CUPTI_DECODE_DEVICE:
		/* The driver's description is the fuller one (memory clock and
		 * bus width); CUPTI's is used when the driver's cannot be had. */
		cupti_device_seen(d.device);
		if (!cupti.driver_ok && d.device < CUPTI_MAX_DEVICES &&
		    !atomic_exchange(&cupti.device_sent[d.device], 1)) {
			bool ok = true;
			d.device_info.name = cupti_name(d.name, &ok);
			inject_device(&d.device_info);
		}
		break;
	case CUPTI_DECODE_NAME:
	case CUPTI_DECODE_MARKER_START:
	case CUPTI_DECODE_MARKER_END:
		/* Kinds not enabled (names and NVTX come from the NVTX backend). */
		break;
	default:
		cupti.skipped++;
		break;
	}
}

/* Frees what CUPTI says the client frees: a DEVICE record's name and an
 * OVERHEAD record's details. */
static void cupti_record_free(CUpti_Activity *rec)
{
	if (rec->kind == CUPTI_ACTIVITY_KIND_DEVICE) {
		CUpti_ActivityDevice5 *dev = (CUpti_ActivityDevice5 *)rec;
		free((void *)dev->name);
		dev->name = NULL;
	} else if (rec->kind == CUPTI_ACTIVITY_KIND_OVERHEAD) {
		CUpti_ActivityOverhead3 *o = (CUpti_ActivityOverhead3 *)rec;
		free(o->overheadData);
		o->overheadData = NULL;
	}
}

/* Sends the loss totals that changed since they were last sent. */
static void cupti_send_losses(void)
{
	if (cupti.dropped != cupti.dropped_sent) {
		inject_loss("cupti", cupti.dropped);
		cupti.dropped_sent = cupti.dropped;
	}
	if (cupti.skipped != cupti.skipped_sent) {
		inject_loss("cupti-skipped", cupti.skipped);
		cupti.skipped_sent = cupti.skipped;
	}
}

/* --- CUPTI callbacks ---------------------------------------------------------------- */

/* The session clock, for CUPTI's timestamps. */
static uint64_t CUPTIAPI cupti_timestamp(void)
{
	return (uint64_t)inject_now();
}

/* CUPTI wants an empty buffer: one from the pool, or none (CUPTI then
 * drops records and counts them). */
static void CUPTIAPI cupti_buffer_request(uint8_t **buffer, size_t *size, size_t *max_records)
{
	*buffer = cupti_pool_get(&cupti.pool);
	*size = *buffer ? cupti.pool.size : 0;
	*max_records = 0;
}

/* CUPTI hands back a buffer holding `valid` bytes of records: each is
 * decoded and sent, then the buffer goes back to the pool. After shutdown,
 * or in a fork child, records are only freed. */
static void CUPTIAPI cupti_buffer_complete(CUcontext ctx, uint32_t stream, uint8_t *buffer, size_t size,
                                           size_t valid)
{
	CUpti_Activity *rec = NULL;
	/* Once closed the lock is not even taken: CUPTI's teardown at exit
	 * must never wait for anything of the collector. */
	bool send = cupti_live() && !atomic_load(&cupti.closed);

	if (!buffer)
		return;
	if (send) {
		pthread_mutex_lock(&cupti.lock);
		if (atomic_load(&cupti.closed)) {
			pthread_mutex_unlock(&cupti.lock);
			send = false;
		}
	}
	while (valid > 0 && cu.cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) {
		if (send)
			cupti_record(rec);
		cupti_record_free(rec);
	}
	if (send) {
		size_t dropped = 0;
		if (cu.cuptiActivityGetNumDroppedRecords(ctx, stream, &dropped) == CUPTI_SUCCESS)
			cupti.dropped += dropped;
		cupti_send_losses();
		pthread_mutex_unlock(&cupti.lock);
	}
	cupti_pool_put(&cupti.pool, buffer);
}

/* Resource callback: a context was created (on the application thread,
 * before any of its work): note its device and NULL stream. */
static void cupti_on_context(const CUpti_ResourceData *rd)
{
	uint32_t id = 0, device = 0, null_stream = 0;

	if (cu.cuptiGetContextId(rd->context, &id) != CUPTI_SUCCESS ||
	    cu.cuptiGetDeviceId(rd->context, &device) != CUPTI_SUCCESS)
		return;
	bool has_null = cu.cuptiGetStreamId(rd->context, NULL, &null_stream) == CUPTI_SUCCESS;
	cupti_ctx_note(id, device, has_null, null_stream);
	cupti_device_seen(device);
}

/* The callback API, on the calling thread: context creation (always, so
 * that contexts created before an attach are known), and the entry of the
 * calls that have a role (cupti_api.h) while a session records. */
static void CUPTIAPI cupti_on_callback(void *userdata, CUpti_CallbackDomain domain, CUpti_CallbackId cbid,
                                       const void *data)
{
	if (!data || !cupti_live())
		return;
	if (domain == CUPTI_CB_DOMAIN_RESOURCE) {
		if (cbid == CUPTI_CBID_RESOURCE_CONTEXT_CREATED)
			cupti_on_context(data);
		return;
	}
	if ((domain != CUPTI_CB_DOMAIN_RUNTIME_API && domain != CUPTI_CB_DOMAIN_DRIVER_API) ||
	    cbid >= CUPTI_CBIDS || !atomic_load_explicit(&cupti.recording, memory_order_relaxed))
		return;
	const CUpti_CallbackData *cd = data;
	if (cd->callbackSite != CUPTI_API_ENTER)
		return;
	unsigned role = cupti.role[domain == CUPTI_CB_DOMAIN_RUNTIME_API ? 0 : 1][cbid];
	if ((role & CUPTI_ROLE_STACK) && cupti.window) {
		bool paused = inject_paused();
		cupti_window_note(cd->correlationId, paused);
		if (paused) {
			/* Its GPU work will be dropped (cupti_in_window); no stack. */
			cupti_corr_put(&cupti_paused, cd->correlationId, 1);
			return;
		}
	}
	if (role & CUPTI_ROLE_THREAD)
		cupti_corr_put(&cupti_threads, cd->correlationId, (uint32_t)syscall(SYS_gettid));
	if (role & CUPTI_ROLE_DEVICE_SYNC)
		cupti_corr_put(&cupti_marks, cd->correlationId, CUPTI_MARK_DEVICE_SYNC);
	if ((role & CUPTI_ROLE_STACK) && cupti.stacks) {
		uint32_t stack = inject_stack(1);
		if (stack && stack < CUPTI_MARK_DEVICE_SYNC)
			cupti_corr_put(&cupti_marks, cd->correlationId, stack);
	}
}

/* The callback domains with roles, in cupti.role order. */
static const CUpti_CallbackDomain cupti_role_domains[2] = {CUPTI_CB_DOMAIN_RUNTIME_API,
                                                           CUPTI_CB_DOMAIN_DRIVER_API};

/* Subscribes to the callback API, enables context creation and finds the
 * role of every API call (their callbacks are enabled per session, by
 * cupti_watch). Returns false (CUDA is then recorded without stacks,
 * allocation threads and device-sync kinds) when another tool holds
 * CUPTI's single subscription. */
static bool cupti_subscribe(char *warn, size_t cap)
{
	static const uint32_t sizes[2] = {CUPTI_RUNTIME_TRACE_CBID_SIZE, CUPTI_DRIVER_TRACE_CBID_SIZE};
	CUptiResult r = cu.cuptiSubscribe(&cupti.subscriber, cupti_on_callback, NULL);

	if (r != CUPTI_SUCCESS) {
		cupti_append(warn, cap,
		             "; no CUPTI callbacks (%s): no stacks, allocations on the main thread",
		             cupti_error(r));
		return false;
	}
	cupti.subscribed = true;
	for (unsigned dom = 0; dom < 2; dom++) {
		uint32_t n = sizes[dom] < CUPTI_CBIDS ? sizes[dom] : CUPTI_CBIDS;
		for (uint32_t cbid = 1; cbid < n; cbid++) {
			const char *name = NULL;
			if (cu.cuptiGetCallbackName(cupti_role_domains[dom], cbid, &name) == CUPTI_SUCCESS)
				cupti.role[dom][cbid] =
				    (uint8_t)cupti_api_role(cupti_role_domains[dom], cbid, name);
		}
	}
	r = cu.cuptiEnableCallback(1, cupti.subscriber, CUPTI_CB_DOMAIN_RESOURCE,
	                           CUPTI_CBID_RESOURCE_CONTEXT_CREATED);
	if (r != CUPTI_SUCCESS)
		cupti_append(warn, cap, "; no context callback (%s)", cupti_error(r));
	return true;
}

/* Turns the API callbacks with a role on (`on`; launches and copies only
 * when the session takes stacks or may pause capture) or all of them off. Returns how many were
 * turned on. */
static unsigned cupti_watch(bool on)
{
	unsigned watched = 0;

	if (!cupti.subscribed)
		return 0;
	for (unsigned dom = 0; dom < 2; dom++) {
		for (uint32_t cbid = 1; cbid < CUPTI_CBIDS; cbid++) {
			unsigned role = cupti.role[dom][cbid];
			if (!role)
				continue;
			bool want = on && (role != CUPTI_ROLE_STACK || cupti.stacks || cupti.window);
			if (cu.cuptiEnableCallback(want, cupti.subscriber, cupti_role_domains[dom], cbid) ==
			        CUPTI_SUCCESS &&
			    want)
				watched++;
		}
	}
	return watched;
}

/* --- flushing --------------------------------------------------------------------- */

/* True when the process's main thread has exited (pthread_exit from main):
 * then the flush thread must not be what keeps the process alive. */
static bool cupti_main_thread_gone(void)
{
	char path[64], buf[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)cupti.pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')'. */
	const char *p = strrchr(buf, ')');
	return p && (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

/* The flush thread: every flush_ms asks CUPTI for the buffers whose records
 * are complete and describes new devices, until told to stop or the main
 * thread is gone. */
static void *cupti_flush_main(void *arg)
{
	pthread_setname_np(pthread_self(), "tstop-cupti");
	atomic_store(&cupti.flush_tid, (uint32_t)syscall(SYS_gettid));
	pthread_mutex_lock(&cupti.flush_lock);
	while (!cupti.flush_stop) {
		struct timespec next;
		clock_gettime(CLOCK_MONOTONIC, &next);
		next.tv_sec += cupti.flush_ms / 1000;
		next.tv_nsec += (long)(cupti.flush_ms % 1000) * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		int rc = 0;
		while (!cupti.flush_stop && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&cupti.flush_cond, &cupti.flush_lock, &next);
		if (cupti.flush_stop)
			break;
		pthread_mutex_unlock(&cupti.flush_lock);
		bool gone = cupti_main_thread_gone();
		cu.cuptiActivityFlushAll(0);
		cupti_devices_describe();
		pthread_mutex_lock(&cupti.flush_lock);
		if (gone)
			break;
	}
	pthread_mutex_unlock(&cupti.flush_lock);
	return arg;
}

/* Prepares the flush thread's condition variable (on the session clock);
 * once, before the first cupti_flush_start(). */
static void cupti_flush_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&cupti.flush_cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* Starts the flush thread with every signal blocked (the application's
 * handlers never run on it). Returns false when it could not start. */
static bool cupti_flush_start(void)
{
	sigset_t all, old;

	cupti.flush_ms = inject_flush_ms();
	if (cupti.flush_ms == 0)
		cupti.flush_ms = 100;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&cupti.flush_thread, NULL, cupti_flush_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	cupti.flush_running = rc == 0;
	return cupti.flush_running;
}

/* Stops the flush thread, waiting at most CUPTI_JOIN_SECONDS (it may be in
 * a flush that delivers into a full ring in blocking mode). */
static void cupti_flush_stop(void)
{
	struct timespec deadline;

	pthread_mutex_lock(&cupti.flush_lock);
	cupti.flush_stop = true;
	if (cupti.flush_running)
		pthread_cond_signal(&cupti.flush_cond);
	pthread_mutex_unlock(&cupti.flush_lock);
	if (!cupti.flush_running)
		return;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += CUPTI_JOIN_SECONDS;
	if (pthread_timedjoin_np(cupti.flush_thread, NULL, &deadline) == 0)
		cupti.flush_running = false;
}

/* Registered with inject_register_flush: hands over every buffer CUPTI
 * holds, complete or not (shutdown, detach, tstop-requested flushes). */
static void cupti_flush(void)
{
	if (cupti_live() && atomic_load(&cupti.recording))
		cu.cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
}

/* Registered with inject_register_exit: the last word of a session before
 * GOODBYE (process exit or detach). The flush thread stops, a last forced
 * flush runs, devices not yet described are, the final loss totals go, and
 * records that arrive later (CUPTI's own teardown) are only freed. */
static void cupti_at_exit(int64_t now)
{
	if (!cupti_live() || !atomic_load(&cupti.recording))
		return;
	cupti_flush_stop();
	cu.cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
	cupti_devices_describe();
	pthread_mutex_lock(&cupti.lock);
	cupti_send_losses();
	atomic_store(&cupti.closed, true);
	pthread_mutex_unlock(&cupti.lock);
	atomic_store(&cupti.recording, false);
}

/* In a fork child: the flush thread does not exist there. */
static void cupti_atfork_child(void)
{
	cupti.flush_running = false;
}

/* --- sessions ------------------------------------------------------------------------ */

/* Enables the activity kinds, noting which in cupti.kinds_enabled; appends
 * the refused ones to `warn`. Returns the number enabled; *needed_error
 * gets the first failure of a needed kind. */
static unsigned cupti_enable_kinds(char *warn, size_t cap, CUptiResult *needed_error)
{
	unsigned enabled = 0;

	*needed_error = CUPTI_SUCCESS;
	cupti.kinds_enabled = 0;
	for (size_t i = 0; i < sizeof(cupti_kinds) / sizeof(cupti_kinds[0]); i++) {
		CUptiResult r = cu.cuptiActivityEnable(cupti_kinds[i].kind);
		if (r == CUPTI_SUCCESS) {
			cupti.kinds_enabled |= 1u << i;
			enabled++;
			continue;
		}
		cupti_append(warn, cap, "; %s not enabled (%s)",
		             cupti_activity_kind_name(cupti_kinds[i].kind), cupti_error(r));
		if (cupti_kinds[i].needed && *needed_error == CUPTI_SUCCESS)
			*needed_error = r;
	}
	return enabled;
}

/* Disables what cupti_enable_kinds enabled. */
static void cupti_disable_kinds(void)
{
	for (size_t i = 0; i < sizeof(cupti_kinds) / sizeof(cupti_kinds[0]); i++)
		if (cupti.kinds_enabled & 1u << i)
			cu.cuptiActivityDisable(cupti_kinds[i].kind);
	cupti.kinds_enabled = 0;
}

/* Starts recording CUDA for a session that asked for it: at start in a
 * recorded process, at each attach in a process started for attach
 * (registered with inject_register_session). Per-session counts start from
 * zero and devices are described again (each session has its own ids).
 * Logs what it did, or why it could not. */
static void cupti_session_begin(void)
{
	char warn[768];
	CUptiResult needed;

	if (!cupti_live() || !atomic_load(&cupti.running) || atomic_load(&cupti.recording) ||
	    !inject_enabled(PROTO_OPT_CUDA))
		return;
	snprintf(warn, sizeof(warn), "%s", cupti.setup_warn);
	pthread_mutex_lock(&cupti.lock);
	cupti.dropped = cupti.skipped = cupti.dropped_sent = cupti.skipped_sent = 0;
	atomic_store(&cupti.closed, false);
	pthread_mutex_unlock(&cupti.lock);
	for (unsigned d = 0; d < CUPTI_MAX_DEVICES; d++)
		atomic_store(&cupti.device_sent[d], 0);
	cupti.stacks = inject_enabled(PROTO_OPT_STACKS);
	cupti.window = inject_enabled(PROTO_OPT_WINDOW);
	/* A session starts its window log afresh (no call is watched yet). */
	pthread_mutex_lock(&cupti_window_log.lock);
	cupti_window_log.n = 0;
	atomic_store_explicit(&cupti_window_log.last, -1, memory_order_relaxed);
	pthread_mutex_unlock(&cupti_window_log.lock);
	atomic_store(&cupti.recording, true);
	if (cupti.subscribed && cupti_watch(true) == 0)
		cupti_append(warn, sizeof(warn), "; no API callback could be enabled");
	unsigned enabled = cupti_enable_kinds(warn, sizeof(warn), &needed);
	if (needed != CUPTI_SUCCESS) {
		char hint[256] = "";
		int cupti_cuda = cupti_cuda_version(cupti.lib_version);
		if (cupti.driver_version > 0 && cupti_cuda > cupti.driver_version)
			snprintf(hint, sizeof(hint),
			         " CUPTI is from CUDA %d.%d, the driver supports CUDA %d.%d: a "
			         "CUPTI newer than the driver does not start.",
			         cupti_cuda / 1000, cupti_cuda % 1000 / 10, cupti.driver_version / 1000,
			         cupti.driver_version % 1000 / 10);
		inject_log(PROTO_LOG_ERROR, "CUDA: CUPTI %s (API %u) would not trace kernels: %s.%s%s",
		           cupti.lib_path, cupti.lib_version, cupti_error(needed), hint,
		           enabled ? " Other CUDA activity is captured."
		                   : " CUDA activity will not be captured.");
		if (!enabled) {
			cupti_watch(false);
			atomic_store(&cupti.recording, false);
			atomic_store(&cupti.closed, true);
			return;
		}
	}
	cupti.flush_stop = false;
	if (!cupti.flush_running && !cupti_flush_start())
		cupti_append(warn, sizeof(warn),
		             "; no flush thread: records arrive when CUPTI's buffers fill");
	char driver[32] = "unknown";
	if (cupti.driver_version > 0)
		snprintf(driver, sizeof(driver), "%d.%d", cupti.driver_version / 1000,
		         cupti.driver_version % 1000 / 10);
	inject_log(warn[0] ? PROTO_LOG_WARNING : PROTO_LOG_INFO,
	           "CUDA: CUPTI %u.%u (API %u) from %s; driver for CUDA %s; flush every %u ms; stacks %s%s",
	           cupti.lib_version / 10000u, cupti.lib_version / 100u % 100u, cupti.lib_version,
	           cupti.lib_path, driver, cupti.flush_ms, cupti.stacks ? "on" : "off", warn);
}

/* Stops recording at a detach (registered with inject_register_session;
 * the exit function has already flushed and closed): the API callbacks and
 * activity kinds go off until the next attach. */
static void cupti_session_end(void)
{
	if (!cupti_live() || !atomic_load(&cupti.running))
		return;
	atomic_store(&cupti.recording, false);
	atomic_store(&cupti.closed, true);
	cupti_watch(false);
	cupti_disable_kinds();
	cupti_flush_stop();
	cu.cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
}

/* Loads CUPTI through `env` and installs the backend's hooks; records at
 * once when `record` (tstop asked for CUDA in a recorded process), else
 * waits for an attach. Logs why when it cannot. */
static void cupti_start(const struct cupti_paths_env *env, bool record)
{
	CUptiResult r;

	cupti_load_driver();
	if (!cupti_load(env))
		return;
	cupti.pid = getpid();
	cupti_pool_init(&cupti.pool, CUPTI_BUFFER_SIZE, CUPTI_BUFFER_MAX);
	cupti_flush_init();

	r = cu.cuptiSetThreadIdType(CUPTI_ACTIVITY_THREAD_ID_TYPE_SYSTEM);
	if (r != CUPTI_SUCCESS)
		cupti_append(cupti.setup_warn, sizeof(cupti.setup_warn), "; thread ids not Linux tids (%s)",
		             cupti_error(r));
	r = cu.cuptiActivityRegisterTimestampCallback(cupti_timestamp);
	cupti.ts_callback = r == CUPTI_SUCCESS;
	if (!cupti.ts_callback) {
		/* CUPTI's own clock (CLOCK_REALTIME on Linux), shifted. */
		uint64_t t = 0;
		if (cu.cuptiGetTimestamp(&t) == CUPTI_SUCCESS && t <= INT64_MAX)
			cupti.ts_offset = inject_now() - (int64_t)t;
		cupti_append(cupti.setup_warn, sizeof(cupti.setup_warn),
		             "; no timestamp callback (%s): times shifted by %lld ns", cupti_error(r),
		             (long long)cupti.ts_offset);
	}
	r = cu.cuptiActivityRegisterCallbacks(cupti_buffer_request, cupti_buffer_complete);
	if (r != CUPTI_SUCCESS) {
		inject_log(
		    PROTO_LOG_ERROR,
		    "CUDA: CUPTI %s refused its buffer callbacks (%s); CUDA activity will not be captured",
		    cupti.lib_path, cupti_error(r));
		return;
	}
	cupti_subscribe(cupti.setup_warn, sizeof(cupti.setup_warn));
	atomic_store(&cupti.running, true);
	pthread_atfork(NULL, NULL, cupti_atfork_child);
	inject_register_flush(cupti_flush);
	inject_register_exit(cupti_at_exit);
	inject_register_session(cupti_session_begin, cupti_session_end);
	if (record)
		cupti_session_begin();
}

/* --- entry point -------------------------------------------------------------------- */

/* What the backend does in this process. */
enum cupti_mode {
	CUPTI_MODE_OFF = 0, /* no tstop, or tstop records this process without CUDA */
	CUPTI_MODE_RECORD,  /* tstop records CUDA: start now */
	CUPTI_MODE_WAIT,    /* dormant until `tstop attach`: load CUPTI, record per session */
};

/* The mode, from the collector core's state (connecting on first use). */
static enum cupti_mode cupti_mode(void)
{
	if (!inject_present())
		return CUPTI_MODE_OFF;
	if (inject_enabled(PROTO_OPT_CUDA))
		return CUPTI_MODE_RECORD;
	return inject_active(0) ? CUPTI_MODE_OFF : CUPTI_MODE_WAIT;
}

/* Called by the CUDA driver (CUDA_INJECTION64_PATH) from the first cuInit()
 * of the process; starts the backend as cupti_mode() says. Returns 1
 * (success for the driver) in every case, so the application runs on
 * whatever happens here. */
__attribute__((visibility("default"))) int InitializeInjection(void);
int InitializeInjection(void)
{
	static atomic_flag once = ATOMIC_FLAG_INIT;
	struct cupti_paths_env env;

	if (atomic_flag_test_and_set(&once))
		return 1;
	enum cupti_mode mode = cupti_mode();
	if (mode == CUPTI_MODE_OFF)
		return 1;
	cupti_paths_env_from_process(&env, CUPTI_MAJOR, TSTOP_CUPTI_BUILD_LIBDIR);
	cupti_start(&env, mode == CUPTI_MODE_RECORD);
	return 1;
}
