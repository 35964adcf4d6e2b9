/*
 * opencl_objects.c - what the OpenCL backend knows of the application's
 * objects: command queues (each one a stream), devices (description and
 * clock), kernels (function names) and regions mapped by clEnqueueMapBuffer.
 *
 * Queues. Every queue gets a stream number in this process, from 1, in the
 * order the backend first sees it (created through us, or adopted at its
 * first enqueue when it was made while capture was off or through an
 * extension). Its track is (device index, context 0, stream number). The
 * backend remembers whether the application asked for profiling, and the
 * properties array it passed, so that clGetCommandQueueInfo and
 * clGetEventProfilingInfo answer as if profiling had not been forced. A
 * queue is forgotten before the application's last clReleaseCommandQueue
 * (CL_QUEUE_REFERENCE_COUNT 1); a handle registered again at creation
 * replaces whatever was known under it, so a reused handle never inherits
 * an old queue's stream.
 *
 * Each queue has a clock (struct ocl_qclock): the chain in which an
 * in-order queue's commands wait to be placed on the session clock in
 * enqueue order, and where its last command went (opencl_calc.h); an
 * out-of-order queue's commands are placed as they come. The clock is
 * reference counted (the queue and each record of its work in flight), so
 * that work completing after the queue was released still finds it; the
 * chain and placement are guarded by the device's clock lock.
 *
 * Devices get an index in this process (the device id of their tracks and
 * description), in the order first seen, at most OCL_DEVICES_MAX. Each has
 * a clock offset (opencl_calc.h): from clGetDeviceAndHostTimer, bracketed
 * by two session clock reads, when the platform reports a host timer
 * (CL_PLATFORM_HOST_TIMER_RESOLUTION > 0) and the call works, recalibrated
 * at an enqueue once the last calibration is older than OCL_CLOCK_RECAL_NS
 * (best of OCL_CLOCK_SAMPLES readings); otherwise from the QUEUED times of
 * the commands themselves, as they are placed. Descriptions are kept so
 * that a fork child's connection receives them again without calling
 * OpenCL.
 *
 * Kernels: the function name's string id, cached per kernel handle with the
 * generation it belongs to; dropped at every clReleaseKernel, since after
 * the last one the handle may come back for another kernel.
 *
 * Tables are open-addressing hash maps from handles to 64-bit values under
 * one lock (obj_lock), never held while OpenCL or the collector core is
 * called. Memory comes from malloc; when it fails, a value is just not
 * cached (a queue is then not traced), the application never notices.
 */
#include "capture/inject/opencl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "capture/inject/inject.h"

#define OCL_DEVICES_MAX    64
#define OCL_DEVICE_NAME    256
#define OCL_CLOCK_SAMPLES  3
#define OCL_CLOCK_RECAL_NS 1000000000 /* recalibrate host-timer devices every second */
#define OCL_KERNEL_NAME    4096       /* PROTO_STRING_MAX: longer names are cut */

#define OCL_KEY_EMPTY ((uintptr_t)0)
#define OCL_KEY_TOMB  ((uintptr_t)1)

/* A map from handles (never 0 or 1) to 64-bit values. */
struct ocl_pmap {
	uintptr_t *keys;
	uint64_t *vals;
	size_t cap;  /* a power of two, or 0 */
	size_t used; /* live keys and tombstones */
};

struct ocl_qclock {
	_Atomic uint32_t refs;
	uint32_t device;
	bool in_order;
	struct ocl_chain chain; /* the device's clock_lock */
};

struct ocl_queue {
	struct ocl_qclock *clock; /* the queue's reference */
	uint32_t stream, device;
	bool app_profiling, profiling;
	int nprops; /* values in props, closing 0 included; -1: not rewritten */
	cl_queue_properties props[OCL_PROPS_MAX];
	uint32_t track, track_gen;
};

struct ocl_device {
	cl_device_id id;
	struct trace_device desc; /* name: 0, interned again per generation */
	char name[OCL_DEVICE_NAME];
	_Atomic uint32_t sent_gen; /* generation + 1 its description was sent in, 0 never */
	_Atomic bool timer;        /* clock from clGetDeviceAndHostTimer */
	_Atomic int64_t calibrated_at;
	pthread_mutex_t clock_lock; /* leaf: guards off and the chains of the device's queues */
	struct ocl_offset off;
};

static pthread_mutex_t obj_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ocl_pmap obj_queues;  /* queue -> struct ocl_queue * */
static struct ocl_pmap obj_kernels; /* kernel -> generation << 32 | name id */
static struct ocl_pmap obj_mapped;  /* mapped pointer -> bytes */
static uint32_t obj_next_stream = 1;
static struct ocl_device obj_devices[OCL_DEVICES_MAX];
static _Atomic uint32_t obj_ndevices; /* published after the device is filled */
static _Atomic uint64_t obj_shifts;   /* commands shifted after their predecessor */
static _Atomic uint64_t obj_shifts_told;

/* --- handle maps ---------------------------------------------------------------- */

/* The first probe position of key k in a map of capacity cap. */
static size_t ocl_pmap_slot(uintptr_t k, size_t cap)
{
	return (size_t)(((uint64_t)k * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

/* The slot holding k, or SIZE_MAX. O(1) expected. */
static size_t ocl_pmap_find(const struct ocl_pmap *m, uintptr_t k)
{
	if (!m->cap)
		return SIZE_MAX;
	for (size_t i = ocl_pmap_slot(k, m->cap), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
		if (m->keys[i] == k)
			return i;
		if (m->keys[i] == OCL_KEY_EMPTY)
			return SIZE_MAX;
	}
	return SIZE_MAX;
}

/* Rebuilds m with capacity cap (without tombstones). Returns false, m
 * unchanged, when memory is short. */
static bool ocl_pmap_rehash(struct ocl_pmap *m, size_t cap)
{
	uintptr_t *keys = calloc(cap, sizeof(*keys));
	uint64_t *vals = calloc(cap, sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return false;
	}
	size_t used = 0;
	for (size_t i = 0; i < m->cap; i++) {
		uintptr_t k = m->keys[i];
		if (k == OCL_KEY_EMPTY || k == OCL_KEY_TOMB)
			continue;
		size_t j = ocl_pmap_slot(k, cap);
		while (keys[j] != OCL_KEY_EMPTY)
			j = (j + 1) & (cap - 1);
		keys[j] = k;
		vals[j] = m->vals[i];
		used++;
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	m->used = used;
	return true;
}

/* Sets k's value (inserting or replacing). Returns false when memory is
 * short (nothing changed). The map stays at most half full of keys and
 * tombstones. */
static bool ocl_pmap_put(struct ocl_pmap *m, uintptr_t k, uint64_t v)
{
	size_t i = ocl_pmap_find(m, k);
	if (i != SIZE_MAX) {
		m->vals[i] = v;
		return true;
	}
	if ((m->used + 1) * 2 > m->cap && !ocl_pmap_rehash(m, m->cap ? m->cap * 2 : 64))
		return false;
	i = ocl_pmap_slot(k, m->cap);
	while (m->keys[i] != OCL_KEY_EMPTY && m->keys[i] != OCL_KEY_TOMB)
		i = (i + 1) & (m->cap - 1);
	if (m->keys[i] == OCL_KEY_EMPTY)
		m->used++;
	m->keys[i] = k;
	m->vals[i] = v;
	return true;
}

/* Removes k; returns whether it was there, with its value in *v. */
static bool ocl_pmap_take(struct ocl_pmap *m, uintptr_t k, uint64_t *v)
{
	size_t i = ocl_pmap_find(m, k);
	if (i == SIZE_MAX)
		return false;
	if (v)
		*v = m->vals[i];
	m->keys[i] = OCL_KEY_TOMB;
	return true;
}

/* --- devices ------------------------------------------------------------------ */

/* Reads a scalar device property into *out (size bytes); leaves it 0 when
 * the query fails. */
static void ocl_device_query(cl_device_id dev, cl_device_info what, void *out, size_t size)
{
	__typeof__(clGetDeviceInfo) *info = OCL_REAL(OCL_FN_GET_DEVICE_INFO, clGetDeviceInfo);
	memset(out, 0, size);
	if (!info || info(dev, what, size, out, NULL) != CL_SUCCESS)
		memset(out, 0, size);
}

/* Whether dev's platform reports a host timer (OpenCL 2.1). */
static bool ocl_device_has_timer(cl_device_id dev)
{
	__typeof__(clGetPlatformInfo) *pinfo = OCL_REAL(OCL_FN_GET_PLATFORM_INFO, clGetPlatformInfo);
	if (!pinfo || !ocl_real(OCL_FN_DEVICE_AND_HOST_TIMER))
		return false;
	cl_platform_id plat = NULL;
	ocl_device_query(dev, CL_DEVICE_PLATFORM, &plat, sizeof(plat));
	cl_ulong res = 0;
	if (!plat || pinfo(plat, CL_PLATFORM_HOST_TIMER_RESOLUTION, sizeof(res), &res, NULL) != CL_SUCCESS)
		return false;
	return res > 0;
}

/* Fills a new device slot's description from OpenCL (outside obj_lock). */
static void ocl_device_describe(struct ocl_device *d, cl_device_id dev, uint32_t index)
{
	memset(&d->desc, 0, sizeof(d->desc));
	d->id = dev;
	d->desc.id = index;
	d->desc.api = TRACE_DEVICE_OPENCL;
	__typeof__(clGetDeviceInfo) *info = OCL_REAL(OCL_FN_GET_DEVICE_INFO, clGetDeviceInfo);
	d->name[0] = '\0';
	if (!info || info(dev, CL_DEVICE_NAME, sizeof(d->name), d->name, NULL) != CL_SUCCESS)
		d->name[0] = '\0';
	d->name[sizeof(d->name) - 1] = '\0';
	cl_uint u;
	cl_ulong ul;
	size_t sz;
	ocl_device_query(dev, CL_DEVICE_MAX_COMPUTE_UNITS, &u, sizeof(u));
	d->desc.sm_count = u;
	ocl_device_query(dev, CL_DEVICE_GLOBAL_MEM_SIZE, &ul, sizeof(ul));
	d->desc.global_memory = ul;
	ocl_device_query(dev, CL_DEVICE_MAX_CLOCK_FREQUENCY, &u, sizeof(u));
	d->desc.core_clock_khz = u > UINT32_MAX / 1000 ? UINT32_MAX : u * 1000;
	ocl_device_query(dev, CL_DEVICE_MAX_WORK_GROUP_SIZE, &sz, sizeof(sz));
	d->desc.max_threads_per_block = sz > UINT32_MAX ? UINT32_MAX : (uint32_t)sz;
	ocl_device_query(dev, CL_DEVICE_LOCAL_MEM_SIZE, &ul, sizeof(ul));
	d->desc.smem_per_block = ul > UINT32_MAX ? UINT32_MAX : (uint32_t)ul;
	atomic_store_explicit(&d->timer, ocl_device_has_timer(dev), memory_order_relaxed);
	atomic_store_explicit(&d->calibrated_at, 0, memory_order_relaxed);
	atomic_store_explicit(&d->sent_gen, 0, memory_order_relaxed);
	pthread_mutex_init(&d->clock_lock, NULL);
	memset(&d->off, 0, sizeof(d->off));
}

/* Sends device `index`'s description unless it was sent in this generation. */
static void ocl_device_send(uint32_t index)
{
	struct ocl_device *d = &obj_devices[index];
	uint32_t mark = inject_generation() + 1;
	uint32_t old = atomic_load_explicit(&d->sent_gen, memory_order_acquire);
	if (old == mark || !atomic_compare_exchange_strong(&d->sent_gen, &old, mark))
		return;
	struct trace_device desc = d->desc;
	desc.name = inject_cstr(d->name);
	inject_device(&desc);
}

static void ocl_device_timer_sample(uint32_t index);

/* Tells the user how device `index`'s times are put on the session clock
 * (once, when the device is first seen), calibrating a host-timer device
 * first. */
static void ocl_device_announce(uint32_t index)
{
	struct ocl_device *d = &obj_devices[index];
	if (atomic_load_explicit(&d->timer, memory_order_relaxed))
		ocl_device_timer_sample(index);
	if (atomic_load_explicit(&d->timer, memory_order_relaxed)) {
		pthread_mutex_lock(&d->clock_lock);
		int64_t err = ocl_offset_error(&d->off);
		pthread_mutex_unlock(&d->clock_lock);
		inject_log(PROTO_LOG_INFO,
		           "OpenCL device %u (%s): device times put on the session clock with "
		           "clGetDeviceAndHostTimer, within %lld ns, recalibrated every second",
		           index, d->name, (long long)err);
	} else {
		inject_log(PROTO_LOG_INFO,
		           "OpenCL device %u (%s): no host timer; device times put on the session clock "
		           "from each command's queued time, within the shortest enqueue call",
		           index, d->name);
	}
}

/* The index of device dev, registering (and describing) it when new;
 * UINT32_MAX when the table is full. */
static uint32_t ocl_device_index(cl_device_id dev)
{
	uint32_t n = atomic_load_explicit(&obj_ndevices, memory_order_acquire);
	for (uint32_t i = 0; i < n; i++) {
		if (obj_devices[i].id == dev)
			return i;
	}
	pthread_mutex_lock(&obj_lock);
	n = atomic_load_explicit(&obj_ndevices, memory_order_relaxed);
	uint32_t index = UINT32_MAX;
	for (uint32_t i = 0; i < n && index == UINT32_MAX; i++) {
		if (obj_devices[i].id == dev)
			index = i;
	}
	if (index == UINT32_MAX && n < OCL_DEVICES_MAX) {
		/* Described under the lock: a new device is rare, and the
		 * queries touch only the device (no callbacks, no queue). */
		ocl_device_describe(&obj_devices[n], dev, n);
		index = n;
		atomic_store_explicit(&obj_ndevices, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&obj_lock);
	if (index == n)
		ocl_device_announce(index);
	return index;
}

/* Takes the best of OCL_CLOCK_SAMPLES bracketed clGetDeviceAndHostTimer
 * readings for device `index`; falls back to QUEUED times for good when
 * the call fails. */
static void ocl_device_timer_sample(uint32_t index)
{
	struct ocl_device *d = &obj_devices[index];
	__typeof__(clGetDeviceAndHostTimer) *timer =
	    OCL_REAL(OCL_FN_DEVICE_AND_HOST_TIMER, clGetDeviceAndHostTimer);
	int64_t best0 = 0, best1 = -1;
	cl_ulong best_dev = 0;
	for (int i = 0; timer && i < OCL_CLOCK_SAMPLES; i++) {
		cl_ulong dev = 0, host = 0;
		int64_t t0 = inject_now();
		cl_int rc = timer(d->id, &dev, &host);
		int64_t t1 = inject_now();
		if (rc != CL_SUCCESS) {
			timer = NULL;
			break;
		}
		if (best1 < best0 || t1 - t0 < best1 - best0) {
			best0 = t0;
			best1 = t1;
			best_dev = dev;
		}
	}
	if (!timer) {
		atomic_store_explicit(&d->timer, false, memory_order_relaxed);
		return;
	}
	pthread_mutex_lock(&d->clock_lock);
	ocl_offset_set(&d->off, best0, best1, best_dev);
	pthread_mutex_unlock(&d->clock_lock);
	atomic_store_explicit(&d->calibrated_at, best1, memory_order_release);
}

/* Recalibrates a host-timer device when stale (opencl.h). */
void ocl_device_calibrate(uint32_t index)
{
	if (index >= atomic_load_explicit(&obj_ndevices, memory_order_acquire))
		return;
	struct ocl_device *d = &obj_devices[index];
	if (!atomic_load_explicit(&d->timer, memory_order_relaxed))
		return;
	int64_t at = atomic_load_explicit(&d->calibrated_at, memory_order_acquire);
	int64_t now = inject_now();
	if (at && now - at < OCL_CLOCK_RECAL_NS)
		return;
	/* One thread recalibrates; the others go on with the old offset. */
	if (!atomic_compare_exchange_strong(&d->calibrated_at, &at, now))
		return;
	ocl_device_timer_sample(index);
}

/* --- queue clocks ---------------------------------------------------------------- */

/* A new clock for a queue of device `index`, with one reference; NULL when
 * memory is short. */
static struct ocl_qclock *ocl_qclock_new(uint32_t index, bool in_order)
{
	struct ocl_qclock *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	atomic_init(&c->refs, 1);
	c->device = index;
	c->in_order = in_order;
	return c;
}

/* Drops a reference (opencl.h). */
void ocl_qclock_put(struct ocl_qclock *c)
{
	if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		free(c);
}

/* Enters a command in its queue's chain (opencl.h). */
void ocl_qclock_enter(struct ocl_qclock *c, struct ocl_cmd *cmd)
{
	cmd->next = NULL;
	cmd->state = OCL_CMD_WAIT;
	cmd->linked = false;
	if (!c->in_order)
		return;
	struct ocl_device *d = &obj_devices[c->device];
	pthread_mutex_lock(&d->clock_lock);
	ocl_chain_enter(&c->chain, cmd);
	pthread_mutex_unlock(&d->clock_lock);
}

/* Places what is ready in a queue's chain (opencl.h). */
struct ocl_cmd *ocl_qclock_ready(struct ocl_qclock *c, struct ocl_cmd *cmd, bool timed)
{
	struct ocl_device *d = &obj_devices[c->device];
	bool observe = !atomic_load_explicit(&d->timer, memory_order_relaxed);
	pthread_mutex_lock(&d->clock_lock);
	uint32_t before = c->chain.order.shifts;
	struct ocl_cmd *list = ocl_chain_ready(c->in_order ? &c->chain : NULL, &d->off, observe, cmd, timed);
	uint32_t shifted = c->chain.order.shifts - before;
	pthread_mutex_unlock(&d->clock_lock);
	if (shifted)
		atomic_fetch_add_explicit(&obj_shifts, shifted, memory_order_relaxed);
	return list;
}

/* Reports the shifts since the last report (opencl.h). */
void ocl_clock_report(void)
{
	uint64_t n = atomic_load_explicit(&obj_shifts, memory_order_relaxed);
	uint64_t told = atomic_exchange_explicit(&obj_shifts_told, n, memory_order_relaxed);
	if (n > told)
		inject_log(PROTO_LOG_INFO,
		           "OpenCL: %llu command(s) placed right after the previous command of their queue, "
		           "later than the clock offset estimate allowed, to keep the queue in order",
		           (unsigned long long)(n - told));
}

/* --- queues ------------------------------------------------------------------- */

/* Frees a queue record and drops its clock reference. */
static void ocl_queue_free(struct ocl_queue *oq)
{
	if (!oq)
		return;
	ocl_qclock_put(oq->clock);
	free(oq);
}

/* Inserts queue q (replacing a known one when `replace`); returns false
 * when memory is short or, without `replace`, q was already known. */
static bool ocl_queue_insert(cl_command_queue q, uint32_t device, bool app_profiling, bool profiling,
                             bool in_order, const cl_queue_properties *app_props, int nprops, bool replace)
{
	struct ocl_queue *nq = calloc(1, sizeof(*nq));
	if (!nq)
		return false;
	nq->clock = ocl_qclock_new(device, in_order);
	if (!nq->clock) {
		free(nq);
		return false;
	}
	nq->device = device;
	nq->app_profiling = app_profiling;
	nq->profiling = profiling;
	nq->nprops = -1;
	if (nprops >= 0 && nprops <= OCL_PROPS_MAX) {
		nq->nprops = nprops;
		if (nprops)
			memcpy(nq->props, app_props, (size_t)nprops * sizeof(*app_props));
	}
	pthread_mutex_lock(&obj_lock);
	uint64_t old = 0;
	bool had = ocl_pmap_take(&obj_queues, (uintptr_t)q, &old);
	if (had && !replace) {
		ocl_pmap_put(&obj_queues, (uintptr_t)q, old);
		pthread_mutex_unlock(&obj_lock);
		ocl_queue_free(nq);
		return false;
	}
	nq->stream = obj_next_stream;
	bool ok = ocl_pmap_put(&obj_queues, (uintptr_t)q, (uint64_t)(uintptr_t)nq);
	if (ok)
		obj_next_stream++;
	pthread_mutex_unlock(&obj_lock);
	if (had)
		ocl_queue_free((struct ocl_queue *)(uintptr_t)old);
	if (!ok)
		ocl_queue_free(nq);
	return ok;
}

/* Registers a queue created through us (opencl.h). */
void ocl_queue_register(cl_command_queue q, cl_device_id dev, bool app_profiling, bool profiling,
                        bool in_order, const cl_queue_properties *app_props, int nprops)
{
	uint32_t index = ocl_device_index(dev);
	if (index == UINT32_MAX)
		return;
	ocl_device_send(index);
	ocl_queue_insert(q, index, app_profiling, profiling, in_order, app_props, nprops, true);
}

/* Copies queue q's view out under obj_lock, with a new reference to its
 * clock in *clock unless clock is NULL; false when unknown. The track is
 * left for the caller when it belongs to another generation (0). */
static bool ocl_queue_view_locked(cl_command_queue q, struct ocl_queue_view *v, struct ocl_qclock **clock,
                                  uint32_t gen)
{
	size_t i = ocl_pmap_find(&obj_queues, (uintptr_t)q);
	if (i == SIZE_MAX)
		return false;
	const struct ocl_queue *oq = (const struct ocl_queue *)(uintptr_t)obj_queues.vals[i];
	if (clock) {
		atomic_fetch_add_explicit(&oq->clock->refs, 1, memory_order_relaxed);
		*clock = oq->clock;
	}
	v->track = oq->track_gen == gen ? oq->track : 0;
	v->device = oq->device;
	v->stream = oq->stream;
	v->profiling = oq->profiling;
	v->app_profiling = oq->app_profiling;
	return true;
}

/* Adopts a queue the backend did not see created (opencl.h). */
static bool ocl_queue_adopt(cl_command_queue q)
{
	__typeof__(clGetCommandQueueInfo) *info = OCL_REAL(OCL_FN_GET_QUEUE_INFO, clGetCommandQueueInfo);
	cl_device_id dev = NULL;
	cl_command_queue_properties props = 0;
	if (!info || info(q, CL_QUEUE_DEVICE, sizeof(dev), &dev, NULL) != CL_SUCCESS ||
	    info(q, CL_QUEUE_PROPERTIES, sizeof(props), &props, NULL) != CL_SUCCESS || !dev)
		return false;
	uint32_t index = ocl_device_index(dev);
	if (index == UINT32_MAX)
		return false;
	bool prof = (props & CL_QUEUE_PROFILING_ENABLE) != 0;
	bool in_order = !(props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);
	ocl_queue_insert(q, index, prof, prof, in_order, NULL, -1, false);
	return true;
}

/* The view of queue q, adopting it when unknown (opencl.h). */
bool ocl_queue_lookup(cl_command_queue q, struct ocl_queue_view *v, struct ocl_qclock **clock)
{
	uint32_t gen = inject_generation();
	pthread_mutex_lock(&obj_lock);
	bool known = ocl_queue_view_locked(q, v, clock, gen);
	pthread_mutex_unlock(&obj_lock);
	if (!known) {
		if (!q || !ocl_queue_adopt(q))
			return false;
		pthread_mutex_lock(&obj_lock);
		known = ocl_queue_view_locked(q, v, clock, gen);
		pthread_mutex_unlock(&obj_lock);
		if (!known)
			return false;
	}
	ocl_device_send(v->device);
	if (!v->track) {
		v->track = inject_stream_track(v->device, 0, v->stream);
		pthread_mutex_lock(&obj_lock);
		size_t i = ocl_pmap_find(&obj_queues, (uintptr_t)q);
		if (i != SIZE_MAX && v->track) {
			struct ocl_queue *oq = (struct ocl_queue *)(uintptr_t)obj_queues.vals[i];
			if (oq->stream == v->stream) {
				oq->track = v->track;
				oq->track_gen = gen;
			}
		}
		pthread_mutex_unlock(&obj_lock);
	}
	return true;
}

/* Forgets q before its last release (opencl.h). */
void ocl_queue_release(cl_command_queue q)
{
	__typeof__(clGetCommandQueueInfo) *info = OCL_REAL(OCL_FN_GET_QUEUE_INFO, clGetCommandQueueInfo);
	cl_uint refs = 0;
	if (!info || info(q, CL_QUEUE_REFERENCE_COUNT, sizeof(refs), &refs, NULL) != CL_SUCCESS || refs > 1)
		return;
	uint64_t old = 0;
	pthread_mutex_lock(&obj_lock);
	bool had = ocl_pmap_take(&obj_queues, (uintptr_t)q, &old);
	pthread_mutex_unlock(&obj_lock);
	if (had)
		ocl_queue_free((struct ocl_queue *)(uintptr_t)old);
}

/* Forgets whatever was recorded under handle q (opencl.h). */
void ocl_queue_forget(cl_command_queue q)
{
	uint64_t old = 0;
	pthread_mutex_lock(&obj_lock);
	bool had = ocl_pmap_take(&obj_queues, (uintptr_t)q, &old);
	pthread_mutex_unlock(&obj_lock);
	if (had)
		ocl_queue_free((struct ocl_queue *)(uintptr_t)old);
}

/* What the application set on q, for clGetCommandQueueInfo (opencl.h). */
bool ocl_queue_app_view(cl_command_queue q, bool *forced, cl_queue_properties *props, int *nprops)
{
	pthread_mutex_lock(&obj_lock);
	size_t i = ocl_pmap_find(&obj_queues, (uintptr_t)q);
	bool known = i != SIZE_MAX;
	if (known) {
		const struct ocl_queue *oq = (const struct ocl_queue *)(uintptr_t)obj_queues.vals[i];
		*forced = oq->profiling && !oq->app_profiling;
		*nprops = oq->nprops;
		if (props && oq->nprops > 0)
			memcpy(props, oq->props, (size_t)oq->nprops * sizeof(*props));
	}
	pthread_mutex_unlock(&obj_lock);
	return known;
}

/* --- kernels and mapped regions ------------------------------------------------ */

/* Kernel k's function name id, cached (opencl.h). */
uint32_t ocl_kernel_name(cl_kernel k)
{
	uint32_t gen = inject_generation();
	pthread_mutex_lock(&obj_lock);
	size_t i = ocl_pmap_find(&obj_kernels, (uintptr_t)k);
	uint64_t v = i == SIZE_MAX ? 0 : obj_kernels.vals[i];
	pthread_mutex_unlock(&obj_lock);
	if (v && (uint32_t)(v >> 32) == gen)
		return (uint32_t)v;
	__typeof__(clGetKernelInfo) *info = OCL_REAL(OCL_FN_GET_KERNEL_INFO, clGetKernelInfo);
	size_t len = 0;
	if (!k || !info || info(k, CL_KERNEL_FUNCTION_NAME, 0, NULL, &len) != CL_SUCCESS || len == 0)
		return 0;
	char stack_buf[256];
	char *name = len <= sizeof(stack_buf) ? stack_buf : malloc(len);
	if (!name)
		return 0;
	uint32_t id = 0;
	if (info(k, CL_KERNEL_FUNCTION_NAME, len, name, NULL) == CL_SUCCESS) {
		size_t n = strnlen(name, len);
		id = inject_string(name, n < OCL_KERNEL_NAME ? n : OCL_KERNEL_NAME);
	}
	if (name != stack_buf)
		free(name);
	if (id) {
		pthread_mutex_lock(&obj_lock);
		ocl_pmap_put(&obj_kernels, (uintptr_t)k, (uint64_t)gen << 32 | id);
		pthread_mutex_unlock(&obj_lock);
	}
	return id;
}

/* Drops kernel k's cached name (opencl.h). */
void ocl_kernel_forget(cl_kernel k)
{
	pthread_mutex_lock(&obj_lock);
	ocl_pmap_take(&obj_kernels, (uintptr_t)k, NULL);
	pthread_mutex_unlock(&obj_lock);
}

/* Remembers a mapped region (opencl.h). */
void ocl_mapped_add(const void *ptr, uint64_t bytes)
{
	if ((uintptr_t)ptr <= OCL_KEY_TOMB)
		return;
	pthread_mutex_lock(&obj_lock);
	ocl_pmap_put(&obj_mapped, (uintptr_t)ptr, bytes);
	pthread_mutex_unlock(&obj_lock);
}

/* Takes a mapped region's size (opencl.h). */
uint64_t ocl_mapped_take(const void *ptr)
{
	uint64_t bytes = 0;
	if ((uintptr_t)ptr <= OCL_KEY_TOMB)
		return 0;
	pthread_mutex_lock(&obj_lock);
	ocl_pmap_take(&obj_mapped, (uintptr_t)ptr, &bytes);
	pthread_mutex_unlock(&obj_lock);
	return bytes;
}

/* --- fork ----------------------------------------------------------------------- */

/* Before fork: holds obj_lock so that the child gets it free. */
static void ocl_objects_prepare(void)
{
	pthread_mutex_lock(&obj_lock);
}

/* After fork, in the parent. */
static void ocl_objects_parent(void)
{
	pthread_mutex_unlock(&obj_lock);
}

/* After fork, in the child: the device clock locks (which the parent's
 * OpenCL callback threads, absent here, may have held) are made anew, the
 * known queues' chains are emptied (the parent's commands in them are
 * never placed here), and obj_lock is released. */
static void ocl_objects_child(void)
{
	uint32_t n = atomic_load_explicit(&obj_ndevices, memory_order_relaxed);
	for (uint32_t i = 0; i < n; i++)
		pthread_mutex_init(&obj_devices[i].clock_lock, NULL);
	for (size_t i = 0; i < obj_queues.cap; i++) {
		uintptr_t k = obj_queues.keys[i];
		if (k == OCL_KEY_EMPTY || k == OCL_KEY_TOMB)
			continue;
		struct ocl_chain *ch = &((struct ocl_queue *)(uintptr_t)obj_queues.vals[i])->clock->chain;
		for (struct ocl_cmd *c = ch->head; c; c = c->next)
			c->linked = false;
		ch->head = ch->tail = NULL;
	}
	pthread_mutex_unlock(&obj_lock);
}

/* Registers the fork handlers of this file (opencl.h). */
void ocl_objects_atfork(void)
{
	pthread_atfork(ocl_objects_prepare, ocl_objects_parent, ocl_objects_child);
}
