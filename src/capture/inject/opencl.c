/*
 * opencl.c - the OpenCL backend of the collector: the OpenCL entry points
 * that libtstop-inject.so exports, so that when `tstop record` preloads it
 * (LD_PRELOAD) the application's calls reach them before the ICD loader.
 *
 * Each entry point finds the real function (opencl_real.c) and, when
 * capture of OpenCL is off (inject_active(PROTO_OPT_OPENCL) false: no
 * tstop, --kinds without opencl, or capture paused), calls it and returns:
 * nothing else. While capture is only paused (proto.h: capture windows),
 * queues are still created with profiling and registered, released and
 * answered for as below, without API events, so that work enqueued once
 * capture resumes is captured; work enqueued while paused is not, and work
 * enqueued before a pause is sent when it completes. When it is on:
 *
 *   - Every traced call (queue creation and release, the enqueues, clFinish,
 *     clWaitForEvents) becomes a TRACE_API event on the calling thread:
 *     domain OpenCL, name and cbid from the function table (enum ocl_fn),
 *     the result code (cut to int16), the call stack when stacks are on,
 *     and a correlation id (0x80000001 upward, so that they never meet
 *     CUPTI's, which count from 1 in the same process) for calls that put
 *     work on a queue or wait for it. Start and end are read right around
 *     the real call; looking things up and unwinding happen before.
 *
 *   - Queues are streams (opencl_objects.c). clCreateCommandQueue and
 *     clCreateCommandQueueWithProperties add CL_QUEUE_PROFILING_ENABLE
 *     (when that fails, the queue is created exactly as asked and its work
 *     is counted as lost); clGetCommandQueueInfo and clGetEventProfilingInfo
 *     then answer as if it had not been added (CL_QUEUE_PROPERTIES without
 *     the bit, CL_QUEUE_PROPERTIES_ARRAY as passed, and
 *     CL_PROFILING_INFO_NOT_AVAILABLE for such a queue's events). Device
 *     queues (CL_QUEUE_ON_DEVICE) are left alone.
 *
 *   - Each enqueue's command becomes a device event with the same
 *     correlation id, timed by the command's profiling info (opencl_work.c):
 *         clEnqueueNDRangeKernel, clEnqueueTask      kernel, named by
 *                 clGetKernelInfo(CL_KERNEL_FUNCTION_NAME), launch
 *                 configuration as opencl_calc.h documents
 *         clEnqueueWriteBuffer(Rect)                 memcpy HtoD, pageable -> device
 *         clEnqueueReadBuffer(Rect)                  memcpy DtoH, device -> pageable
 *         clEnqueueCopyBuffer(Rect)                  memcpy DtoD, device -> device
 *         clEnqueueMapBuffer                         memcpy DtoH, device -> pageable
 *         clEnqueueUnmapMemObject                    memcpy HtoD, pageable -> device,
 *                 the bytes of the matching clEnqueueMapBuffer (0 if unknown)
 *         clEnqueueFillBuffer                        memset, device memory
 *     Copies and fills are named after the function; bytes are the size
 *     (width x height x depth for rectangles). Host memory is reported as
 *     pageable: OpenCL does not say whether a host pointer is pinned. When
 *     the application passes no event pointer, the backend creates the
 *     event and releases it after reading its times; an application's event
 *     is retained while the backend needs it and works as it always did.
 *
 *   - clFinish is a stream sync on the queue's stream; clWaitForEvents an
 *     event sync on the stream of each distinct queue among the events
 *     (user events have none), at most OCL_WAIT_QUEUES of them; both with
 *     the host times and correlation id of their API event. Both then send
 *     the work they waited for (their callbacks may not have run yet).
 *
 *   - Device timestamps are put on the session clock per device, from
 *     clGetDeviceAndHostTimer where the platform has a host timer, else
 *     from each command's QUEUED time against the bracketing host clock
 *     reads of its enqueue; an in-order queue's commands are placed in
 *     enqueue order and never overlap (opencl_calc.h states the method and
 *     its error bounds).
 *
 * Stacks: each entry point calls ocl_stack() itself, so that the frames to
 * skip are always inject_stack's caller (ocl_stack) and the entry point;
 * the first frame kept is the application's call site.
 *
 * Not interposed: calls made through function pointers the application got
 * from dlsym on its own handle to libOpenCL, and extension functions from
 * clGetExtensionFunctionAddress; queues created that way are adopted at
 * their first enqueue through us, with profiling as the application set it.
 */
#include "capture/inject/opencl.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "capture/inject/inject.h"

#define OCL_EXPORT      __attribute__((visibility("default")))
#define OCL_STACK_SKIP  2 /* ocl_stack and the entry point */
#define OCL_WAIT_QUEUES 16
#define OCL_CORR_BASE   0x80000000u
#if defined(__clang__)
#define OCL_NOINLINE __attribute__((noinline))
#else
#define OCL_NOINLINE __attribute__((noinline, noclone))
#endif

static _Atomic uint32_t ocl_corr_next;

/* Whether OpenCL capture is on in this process now (connecting on first
 * use): false while capture is paused (proto.h: capture windows). */
static inline bool ocl_on(void)
{
	return inject_active(PROTO_OPT_OPENCL);
}

/* Whether this session captures OpenCL at all, paused or not: queues are
 * set up (profiling, streams) by this, so that work enqueued once capture
 * resumes is timed. */
static inline bool ocl_enabled(void)
{
	return inject_enabled(PROTO_OPT_OPENCL);
}

/* The calling thread's stack from the entry point's caller on (see the file
 * comment); 0 when stacks are off. Must be called directly by the entry
 * point; the barrier keeps the call to inject_stack from becoming a jump. */
OCL_NOINLINE static uint32_t ocl_stack(void)
{
	uint32_t id = inject_stack(OCL_STACK_SKIP);
	__asm__ volatile("" ::: "memory");
	return id;
}

/* A new correlation id: OCL_CORR_BASE + 1 .. UINT32_MAX, wrapping. */
static uint32_t ocl_correlation(void)
{
	uint32_t n = (atomic_fetch_add_explicit(&ocl_corr_next, 1, memory_order_relaxed) + 1) & 0x7fffffffu;
	return OCL_CORR_BASE | (n ? n : 1);
}

/* One traced call in progress. */
struct ocl_call {
	enum ocl_fn fn;
	uint32_t stack;
	uint32_t correlation;
	int64_t start;
};

/* Starts a traced call: registers the backend's hooks, recycles finished
 * work, and fills *c (correlation when `correlate`). The start time is
 * taken by ocl_call_start, right before the real call. */
static void ocl_call_init(struct ocl_call *c, enum ocl_fn fn, uint32_t stack, bool correlate)
{
	ocl_work_hooks();
	ocl_work_sweep();
	c->fn = fn;
	c->stack = stack;
	c->correlation = correlate ? ocl_correlation() : 0;
	c->start = 0;
}

/* Takes the call's start time. */
static inline void ocl_call_start(struct ocl_call *c)
{
	c->start = inject_now();
}

/* Sends the API event of call c, which returned rc at `end`. */
static void ocl_call_send(const struct ocl_call *c, cl_int rc, int64_t end)
{
	struct trace_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.start = c->start;
	ev.end = end < c->start ? c->start : end;
	ev.name = ocl_fn_string(c->fn);
	ev.track = inject_thread_track();
	ev.correlation = c->correlation;
	ev.kind = TRACE_API;
	ev.flags = TRACE_API_OPENCL;
	int16_t r = rc < INT16_MIN ? INT16_MIN : rc > INT16_MAX ? INT16_MAX : (int16_t)rc;
	ev.sub = (uint16_t)r;
	ev.u.api.cbid = c->fn;
	ev.u.api.stack = c->stack;
	if (!inject_paused() && ev.track)
		inject_event(&ev);
}

/* Sends a sync of `kind` on queue q's stream for call c (host times). */
static void ocl_sync_send(const struct ocl_call *c, cl_command_queue q, unsigned kind, int64_t end)
{
	struct ocl_queue_view v;
	if (!ocl_queue_lookup(q, &v, NULL) || !v.track)
		return;
	struct trace_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.start = c->start;
	ev.end = end < c->start ? c->start : end;
	ev.name = ocl_fn_string(c->fn);
	ev.track = v.track;
	ev.correlation = c->correlation;
	ev.kind = TRACE_SYNC;
	ev.sub = (uint16_t)kind;
	inject_event(&ev);
}

/* --- enqueues ------------------------------------------------------------------ */

/* One traced enqueue in progress: the API call and the device work. */
struct ocl_enq {
	struct ocl_call call;
	struct ocl_work *work; /* NULL: the device side is not traced */
	cl_event local;        /* the event we asked for when the application passed none */
	cl_event *app_evp;
	cl_event *evp; /* what the real call gets */
};

/* Prepares an enqueue on q: the API call, and the device record when q can
 * be traced. Returns the device event to describe (kind, name, sub, u), or
 * NULL when the device side is not traced. */
static struct trace_event *ocl_enq_init(struct ocl_enq *e, enum ocl_fn fn, cl_command_queue q,
                                        cl_event *app_evp, uint32_t stack)
{
	ocl_call_init(&e->call, fn, stack, true);
	e->work = NULL;
	e->local = NULL;
	e->app_evp = app_evp;
	e->evp = app_evp;
	struct ocl_queue_view v;
	struct ocl_qclock *clock = NULL;
	if (!ocl_queue_lookup(q, &v, &clock))
		return NULL;
	ocl_device_calibrate(v.device);
	e->work = ocl_work_new(q, &v, clock, e->call.correlation);
	if (!e->work)
		return NULL;
	if (!app_evp)
		e->evp = &e->local;
	return ocl_work_event(e->work);
}

/* Finishes an enqueue that returned rc: sends the API event and hands the
 * device record over. */
static void ocl_enq_end(struct ocl_enq *e, cl_int rc)
{
	int64_t end = inject_now();
	ocl_call_send(&e->call, rc, end);
	if (!e->work)
		return;
	cl_event ev = e->app_evp ? (rc == CL_SUCCESS ? *e->app_evp : NULL) : e->local;
	ocl_work_submit(e->work, rc, ev, e->app_evp != NULL, e->call.start, end);
}

/* Describes a kernel launch. */
static void ocl_describe_kernel(struct trace_event *dev, cl_kernel k, const struct trace_launch *l)
{
	dev->kind = TRACE_KERNEL;
	dev->name = ocl_kernel_name(k);
	dev->u.kernel.launch = inject_launch(l);
}

/* Describes a copy of `bytes` by function fn. */
static void ocl_describe_copy(struct trace_event *dev, enum ocl_fn fn, unsigned copy_kind, uint64_t bytes)
{
	unsigned src = copy_kind == TRACE_COPY_HTOD ? TRACE_MEM_PAGEABLE : TRACE_MEM_DEVICE;
	unsigned dst = copy_kind == TRACE_COPY_DTOH ? TRACE_MEM_PAGEABLE : TRACE_MEM_DEVICE;
	dev->kind = TRACE_MEMCPY;
	dev->name = ocl_fn_string(fn);
	dev->sub = trace_memcpy_sub(copy_kind, src, dst);
	dev->u.bytes = bytes;
}

/* Kernel launch through the ICD loader, traced (see the file comment). */
OCL_EXPORT cl_int clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel kernel, cl_uint dim,
                                         const size_t *offset, const size_t *global, const size_t *local,
                                         cl_uint nwait, const cl_event *wait, cl_event *event)
{
	__typeof__(clEnqueueNDRangeKernel) *real = OCL_REAL(OCL_FN_NDRANGE, clEnqueueNDRangeKernel);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!ocl_on())
		return real(q, kernel, dim, offset, global, local, nwait, wait, event);
	struct ocl_enq e;
	struct trace_event *dev = ocl_enq_init(&e, OCL_FN_NDRANGE, q, event, ocl_stack());
	if (dev) {
		struct trace_launch l;
		ocl_calc_ndrange(dim, global, local, &l);
		ocl_describe_kernel(dev, kernel, &l);
	}
	ocl_call_start(&e.call);
	cl_int rc = real(q, kernel, dim, offset, global, local, nwait, wait, e.evp);
	ocl_enq_end(&e, rc);
	return rc;
}

/* Task launch (one work-item), traced. */
OCL_EXPORT cl_int clEnqueueTask(cl_command_queue q, cl_kernel kernel, cl_uint nwait, const cl_event *wait,
                                cl_event *event)
{
	__typeof__(clEnqueueTask) *real = OCL_REAL(OCL_FN_TASK, clEnqueueTask);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!ocl_on())
		return real(q, kernel, nwait, wait, event);
	struct ocl_enq e;
	struct trace_event *dev = ocl_enq_init(&e, OCL_FN_TASK, q, event, ocl_stack());
	if (dev) {
		struct trace_launch l;
		ocl_calc_task(&l);
		ocl_describe_kernel(dev, kernel, &l);
	}
	ocl_call_start(&e.call);
	cl_int rc = real(q, kernel, nwait, wait, e.evp);
	ocl_enq_end(&e, rc);
	return rc;
}

/* Buffer read (device to host), traced. */
OCL_EXPORT cl_int clEnqueueReadBuffer(cl_command_queue q, cl_mem buf, cl_bool blocking, size_t offset,
                                      size_t size, void *ptr, cl_uint nwait, const cl_event *wait,
                                      cl_event *event)
{
	__typeof__(clEnqueueReadBuffer) *real = OCL_REAL(OCL_FN_READ, clEnqueueReadBuffer);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!ocl_on())
		return real(q, buf, blocking, offset, size, ptr, nwait, wait, event);
	struct ocl_enq e;
	struct trace_event *dev = ocl_enq_init(&e, OCL_FN_READ, q, event, ocl_stack());
	if (dev)
		ocl_describe_copy(dev, OCL_FN_READ, TRACE_COPY_DTOH, size);
	ocl_call_start(&e.call);
	cl_int rc = real(q, buf, blocking, offset, size, ptr, nwait, wait, e.evp);
	ocl_enq_end(&e, rc);
	return rc;
}

/* Rectangular buffer read, traced. */
OCL_EXPORT cl_int clEnqueueReadBufferRect(cl_command_queue q, cl_mem buf, cl_bool blocking,
                                          const size_t *buf_origin, const size_t *host_origin,
                                          const size_t *region, size_t buf_row_pitch, size_t buf_slice_pitch,
                                          size_t host_row_pitch, size_t host_slice_pitch, void *ptr,
                                          cl_uint nwait, const cl_event *wait, cl_event *event)
{
	__typeof__(clEnqueueReadBufferRect) *real = OCL_REAL(OCL_FN_READ_RECT, clEnqueueReadBufferRect);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!ocl_on())
		return real(q, buf, blocking, buf_origin, host_origin, region, buf_row_pitch, buf_slice_pitch,
		            host_row_pitch, host_slice_pitch, ptr, nwait, wait, event);
	struct ocl_enq e;
	struct trace_event *dev = ocl_enq_init(&e, OCL_FN_READ_RECT, q, event, ocl_stack());
	if (dev)
		ocl_describe_copy(dev, OCL_FN_READ_RECT, TRACE_COPY_DTOH, ocl_calc_rect_bytes(region));
	ocl_call_start(&e.call);
	cl_int rc = real(q, buf, blocking, buf_origin, host_origin, region, buf_row_pitch, buf_slice_pitch,
	                 host_row_pitch, host_slice_pitch, ptr, nwait, wait, e.evp);
	ocl_enq_end(&e, rc);
	return rc;
}

/* Buffer write (host to device), traced. */
OCL_EXPORT cl_int clEnqueueWriteBuffer(cl_command_queue q, cl_mem buf, cl_bool blocking, size_t offset,
                                       size_t size, const void *ptr, cl_uint nwait, const cl_event *wait,
                                       cl_event *event)
{
	__typeof__(clEnqueueWriteBuffer) *real = OCL_REAL(OCL_FN_WRITE, clEnqueueWriteBuffer);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!ocl_on())
		return real(q, buf, blocking, offset, size, ptr, nwait, wait, event);
	struct ocl_enq e;
	struct trace_event *dev = ocl_enq_init(&e, OCL_FN_WRITE, q, event, ocl_stack());
	if (dev)
		ocl_describe_copy(dev, OCL_FN_WRITE, TRACE_COPY_HTOD, size);
	ocl_call_start(&e.call);
	cl_int rc = real(q, buf, blocking, offset, size, ptr, nwait, wait, e.evp);
	ocl_enq_end(&e, rc);
	return rc;
}

/* Rectangular buffer write, traced. */
OCL_EXPORT cl_int clEnqueueWriteBufferRect(cl_command_queue q, cl_mem buf, cl_bool blocking,
                                           const size_t *buf_origin, const size_t *host_origin,
                                           const size_t *region, size_t buf_row_pitch, size_t buf_slice_pitch,
                                           size_t host_row_pitch, size_t host_slice_pitch, const void *ptr,
                                           cl_uint nwait, const cl_event *wait, cl_event *event)
{
	__typeof__(clEnqueueWriteBufferRect) *real = OCL_REAL(OCL_FN_WRITE_RECT, clEnqueueWriteBufferRect);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!ocl_on())
		return real(q, buf, blocking, buf_origin, host_origin, region, buf_row_pitch, buf_slice_pitch,
		            host_row_pitch, host_slice_pitch, ptr, nwait, wait, event);
	struct ocl_enq e;
	struct trace_event *dev = ocl_enq_init(&e, OCL_FN_WRITE_RECT, q, event, ocl_stack());
	if (dev)
		ocl_describe_copy(dev, OCL_FN_WRITE_RECT, TRACE_COPY_HTOD, ocl_calc_rect_bytes(region));
	ocl_call_start(&e.call);
	cl_int rc = real(q, buf, blocking, buf_origin, host_origin, region, buf_row_pitch, buf_slice_pitch,
	                 host_row_pitch, host_slice_pitch, ptr, nwait, wait, e.evp);
	ocl_enq_end(&e, rc);
	return rc;
}

/* Buffer to buffer copy on the device, traced. */
OCL_EXPORT cl_int clEnqueueCopyBuffer(cl_command_queue q, cl_mem src, cl_mem dst, size_t src_offset,
                                      size_t dst_offset, size_t size, cl_uint nwait, const cl_event *wait,
                                      cl_event *event)
{
	__typeof__(clEnqueueCopyBuffer) *real = OCL_REAL(OCL_FN_COPY, clEnqueueCopyBuffer);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!ocl_on())
		return real(q, src, dst, src_offset, dst_offset, size, nwait, wait, event);
	struct ocl_enq e;
	struct trace_event *dev = ocl_enq_init(&e, OCL_FN_COPY, q, event, ocl_stack());
	if (dev)
		ocl_describe_copy(dev, OCL_FN_COPY, TRACE_COPY_DTOD, size);
	ocl_call_start(&e.call);
	cl_int rc = real(q, src, dst, src_offset, dst_offset, size, nwait, wait, e.evp);
	ocl_enq_end(&e, rc);
	return rc;
}

/* Rectangular buffer to buffer copy, traced. */
OCL_EXPORT cl_int clEnqueueCopyBufferRect(cl_command_queue q, cl_mem src, cl_mem dst,
                                          const size_t *src_origin, const size_t *dst_origin,
                                          const size_t *region, size_t src_row_pitch, size_t src_slice_pitch,
                                          size_t dst_row_pitch, size_t dst_slice_pitch, cl_uint nwait,
                                          const cl_event *wait, cl_event *event)
{
	__typeof__(clEnqueueCopyBufferRect) *real = OCL_REAL(OCL_FN_COPY_RECT, clEnqueueCopyBufferRect);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!ocl_on())
		return real(q, src, dst, src_origin, dst_origin, region, src_row_pitch, src_slice_pitch,
		            dst_row_pitch, dst_slice_pitch, nwait, wait, event);
	struct ocl_enq e;
	struct trace_event *dev = ocl_enq_init(&e, OCL_FN_COPY_RECT, q, event, ocl_stack());
	if (dev)
		ocl_describe_copy(dev, OCL_FN_COPY_RECT, TRACE_COPY_DTOD, ocl_calc_rect_bytes(region));
	ocl_call_start(&e.call);
	cl_int rc = real(q, src, dst, src_origin, dst_origin, region, src_row_pitch, src_slice_pitch,
	                 dst_row_pitch, dst_slice_pitch, nwait, wait, e.evp);
	ocl_enq_end(&e, rc);
	return rc;
}

/* Buffer fill, traced as a memset. */
OCL_EXPORT cl_int clEnqueueFillBuffer(cl_command_queue q, cl_mem buf, const void *pattern,
                                      size_t pattern_size, size_t offset, size_t size, cl_uint nwait,
                                      const cl_event *wait, cl_event *event)
{
	__typeof__(clEnqueueFillBuffer) *real = OCL_REAL(OCL_FN_FILL, clEnqueueFillBuffer);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!ocl_on())
		return real(q, buf, pattern, pattern_size, offset, size, nwait, wait, event);
	struct ocl_enq e;
	struct trace_event *dev = ocl_enq_init(&e, OCL_FN_FILL, q, event, ocl_stack());
	if (dev) {
		dev->kind = TRACE_MEMSET;
		dev->name = ocl_fn_string(OCL_FN_FILL);
		dev->sub = TRACE_MEM_DEVICE;
		dev->u.bytes = size;
	}
	ocl_call_start(&e.call);
	cl_int rc = real(q, buf, pattern, pattern_size, offset, size, nwait, wait, e.evp);
	ocl_enq_end(&e, rc);
	return rc;
}

/* Buffer map, traced as a device to host copy; the mapped size is kept for
 * the unmap. */
OCL_EXPORT void *clEnqueueMapBuffer(cl_command_queue q, cl_mem buf, cl_bool blocking, cl_map_flags flags,
                                    size_t offset, size_t size, cl_uint nwait, const cl_event *wait,
                                    cl_event *event, cl_int *errcode_ret)
{
	__typeof__(clEnqueueMapBuffer) *real = OCL_REAL(OCL_FN_MAP, clEnqueueMapBuffer);
	if (!real) {
		if (errcode_ret)
			*errcode_ret = CL_INVALID_OPERATION;
		return NULL;
	}
	if (!ocl_on())
		return real(q, buf, blocking, flags, offset, size, nwait, wait, event, errcode_ret);
	struct ocl_enq e;
	struct trace_event *dev = ocl_enq_init(&e, OCL_FN_MAP, q, event, ocl_stack());
	if (dev)
		ocl_describe_copy(dev, OCL_FN_MAP, TRACE_COPY_DTOH, size);
	cl_int rc = CL_SUCCESS;
	ocl_call_start(&e.call);
	void *p = real(q, buf, blocking, flags, offset, size, nwait, wait, e.evp, &rc);
	ocl_enq_end(&e, rc);
	if (p && rc == CL_SUCCESS)
		ocl_mapped_add(p, size);
	if (errcode_ret)
		*errcode_ret = rc;
	return p;
}

/* Unmap, traced as a host to device copy of what was mapped. */
OCL_EXPORT cl_int clEnqueueUnmapMemObject(cl_command_queue q, cl_mem mem, void *ptr, cl_uint nwait,
                                          const cl_event *wait, cl_event *event)
{
	__typeof__(clEnqueueUnmapMemObject) *real = OCL_REAL(OCL_FN_UNMAP, clEnqueueUnmapMemObject);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!ocl_on())
		return real(q, mem, ptr, nwait, wait, event);
	struct ocl_enq e;
	struct trace_event *dev = ocl_enq_init(&e, OCL_FN_UNMAP, q, event, ocl_stack());
	uint64_t bytes = ocl_mapped_take(ptr);
	if (dev)
		ocl_describe_copy(dev, OCL_FN_UNMAP, TRACE_COPY_HTOD, bytes);
	ocl_call_start(&e.call);
	cl_int rc = real(q, mem, ptr, nwait, wait, e.evp);
	ocl_enq_end(&e, rc);
	if (rc != CL_SUCCESS && bytes)
		ocl_mapped_add(ptr, bytes);
	return rc;
}

/* --- synchronization --------------------------------------------------------------- */

/* clFinish: a stream sync, then the queue's completed work is sent. */
OCL_EXPORT cl_int clFinish(cl_command_queue q)
{
	__typeof__(clFinish) *real = OCL_REAL(OCL_FN_FINISH, clFinish);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!ocl_on())
		return real(q);
	struct ocl_call c;
	ocl_call_init(&c, OCL_FN_FINISH, ocl_stack(), true);
	ocl_call_start(&c);
	cl_int rc = real(q);
	int64_t end = inject_now();
	ocl_call_send(&c, rc, end);
	if (rc == CL_SUCCESS)
		ocl_sync_send(&c, q, TRACE_SYNC_STREAM, end);
	ocl_work_flush_queue(q);
	return rc;
}

/* clWaitForEvents: an event sync per distinct queue of the events, then
 * their completed work is sent. */
OCL_EXPORT cl_int clWaitForEvents(cl_uint n, const cl_event *events)
{
	__typeof__(clWaitForEvents) *real = OCL_REAL(OCL_FN_WAIT, clWaitForEvents);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!ocl_on())
		return real(n, events);
	struct ocl_call c;
	ocl_call_init(&c, OCL_FN_WAIT, ocl_stack(), true);
	ocl_call_start(&c);
	cl_int rc = real(n, events);
	int64_t end = inject_now();
	ocl_call_send(&c, rc, end);
	__typeof__(clGetEventInfo) *info = OCL_REAL(OCL_FN_GET_EVENT_INFO, clGetEventInfo);
	if (rc == CL_SUCCESS && events && info) {
		cl_command_queue seen[OCL_WAIT_QUEUES];
		unsigned nseen = 0;
		for (cl_uint i = 0; i < n && nseen < OCL_WAIT_QUEUES; i++) {
			cl_command_queue q = NULL;
			if (info(events[i], CL_EVENT_COMMAND_QUEUE, sizeof(q), &q, NULL) != CL_SUCCESS || !q)
				continue;
			bool dup = false;
			for (unsigned j = 0; j < nseen && !dup; j++)
				dup = seen[j] == q;
			if (dup)
				continue;
			seen[nseen++] = q;
			ocl_sync_send(&c, q, TRACE_SYNC_EVENT, end);
		}
	}
	ocl_work_flush_events(n, events);
	return rc;
}

/* --- queues -------------------------------------------------------------------------- */

/* OpenCL 1.x queue creation with profiling added (see the file comment). */
OCL_EXPORT cl_command_queue clCreateCommandQueue(cl_context ctx, cl_device_id dev,
                                                 cl_command_queue_properties props, cl_int *errcode_ret)
{
	__typeof__(clCreateCommandQueue) *real = OCL_REAL(OCL_FN_CREATE_QUEUE, clCreateCommandQueue);
	if (!real) {
		if (errcode_ret)
			*errcode_ret = CL_INVALID_OPERATION;
		return NULL;
	}
	if (!ocl_enabled()) {
		cl_command_queue q = real(ctx, dev, props, errcode_ret);
		if (q && inject_present())
			ocl_queue_forget(q); /* a handle reused from an earlier session's queue */
		return q;
	}
	struct ocl_call c;
	ocl_call_init(&c, OCL_FN_CREATE_QUEUE, ocl_stack(), false);
	bool asked = (props & CL_QUEUE_PROFILING_ENABLE) != 0;
	cl_int rc = CL_SUCCESS;
	ocl_call_start(&c);
	cl_command_queue q = real(ctx, dev, props | CL_QUEUE_PROFILING_ENABLE, &rc);
	bool on = true;
	if (!q && !asked) {
		q = real(ctx, dev, props, &rc);
		on = false;
	}
	ocl_call_send(&c, rc, inject_now());
	if (q && rc == CL_SUCCESS)
		ocl_queue_register(q, dev, asked, on, !(props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE), NULL,
		                   -1);
	if (errcode_ret)
		*errcode_ret = rc;
	return q;
}

/* OpenCL 2.0 queue creation with profiling added to the properties array
 * (see the file comment); the application's array is kept for
 * clGetCommandQueueInfo. */
OCL_EXPORT cl_command_queue clCreateCommandQueueWithProperties(cl_context ctx, cl_device_id dev,
                                                               const cl_queue_properties *props,
                                                               cl_int *errcode_ret)
{
	__typeof__(clCreateCommandQueueWithProperties) *real =
	    OCL_REAL(OCL_FN_CREATE_QUEUE_PROPS, clCreateCommandQueueWithProperties);
	if (!real) {
		if (errcode_ret)
			*errcode_ret = CL_INVALID_OPERATION;
		return NULL;
	}
	if (!ocl_enabled()) {
		cl_command_queue q = real(ctx, dev, props, errcode_ret);
		if (q && inject_present())
			ocl_queue_forget(q); /* a handle reused from an earlier session's queue */
		return q;
	}
	struct ocl_call c;
	ocl_call_init(&c, OCL_FN_CREATE_QUEUE_PROPS, ocl_stack(), false);
	/* The application's array: n values with the closing 0 (0 for NULL). */
	int n = 0, at = -1;
	if (props) {
		while (props[n] != 0 && n < INT32_MAX - 2) {
			if (props[n] == CL_QUEUE_PROPERTIES)
				at = n + 1;
			n += 2;
		}
		n++;
	}
	bool too_long = (n ? n : 1) + 2 > OCL_PROPS_MAX;
	cl_command_queue_properties bits = at >= 0 ? (cl_command_queue_properties)props[at] : 0;
	bool asked = (bits & CL_QUEUE_PROFILING_ENABLE) != 0;
	bool rewrite = !too_long && !asked && !(bits & CL_QUEUE_ON_DEVICE);
	cl_queue_properties mine[OCL_PROPS_MAX];
	if (rewrite) {
		if (n)
			memcpy(mine, props, (size_t)n * sizeof(*props));
		if (at >= 0) {
			mine[at] |= CL_QUEUE_PROFILING_ENABLE;
		} else {
			int end = n ? n - 1 : 0;
			mine[end] = CL_QUEUE_PROPERTIES;
			mine[end + 1] = CL_QUEUE_PROFILING_ENABLE;
			mine[end + 2] = 0;
		}
	}
	cl_int rc = CL_SUCCESS;
	ocl_call_start(&c);
	cl_command_queue q = NULL;
	if (rewrite)
		q = real(ctx, dev, mine, &rc);
	bool on = rewrite && q;
	if (!q)
		q = real(ctx, dev, props, &rc);
	ocl_call_send(&c, rc, inject_now());
	if (q && rc == CL_SUCCESS && !(bits & CL_QUEUE_ON_DEVICE))
		ocl_queue_register(q, dev, asked, on || asked,
		                   !(bits & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE), props, on ? n : -1);
	if (errcode_ret)
		*errcode_ret = rc;
	return q;
}

/* Queue release: the queue is forgotten before its last release. */
OCL_EXPORT cl_int clReleaseCommandQueue(cl_command_queue q)
{
	__typeof__(clReleaseCommandQueue) *real = OCL_REAL(OCL_FN_RELEASE_QUEUE, clReleaseCommandQueue);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!ocl_enabled()) {
		if (inject_present())
			ocl_queue_release(q); /* a queue of an ended attach session */
		return real(q);
	}
	struct ocl_call c;
	ocl_call_init(&c, OCL_FN_RELEASE_QUEUE, ocl_stack(), false);
	ocl_queue_release(q);
	ocl_call_start(&c);
	cl_int rc = real(q);
	ocl_call_send(&c, rc, inject_now());
	return rc;
}

/* --- the application's view, unchanged ----------------------------------------------- */

/* Queue properties as the application set them (see the file comment). */
OCL_EXPORT cl_int clGetCommandQueueInfo(cl_command_queue q, cl_command_queue_info what, size_t size,
                                        void *value, size_t *size_ret)
{
	__typeof__(clGetCommandQueueInfo) *real = OCL_REAL(OCL_FN_GET_QUEUE_INFO, clGetCommandQueueInfo);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!inject_present() || (what != CL_QUEUE_PROPERTIES && what != CL_QUEUE_PROPERTIES_ARRAY))
		return real(q, what, size, value, size_ret);
	bool forced = false;
	int n = -1;
	cl_queue_properties props[OCL_PROPS_MAX];
	if (!ocl_queue_app_view(q, &forced, props, &n))
		return real(q, what, size, value, size_ret);
	if (what == CL_QUEUE_PROPERTIES_ARRAY && n >= 0) {
		size_t need = (size_t)n * sizeof(props[0]);
		if (value && size < need)
			return CL_INVALID_VALUE;
		if (value && need)
			memcpy(value, props, need);
		if (size_ret)
			*size_ret = need;
		return CL_SUCCESS;
	}
	cl_int rc = real(q, what, size, value, size_ret);
	if (rc == CL_SUCCESS && forced && what == CL_QUEUE_PROPERTIES && value &&
	    size >= sizeof(cl_command_queue_properties)) {
		cl_command_queue_properties bits;
		memcpy(&bits, value, sizeof(bits));
		bits &= ~(cl_command_queue_properties)CL_QUEUE_PROFILING_ENABLE;
		memcpy(value, &bits, sizeof(bits));
	}
	return rc;
}

/* Profiling info: not available for events of queues whose profiling only
 * the backend turned on, as without it. */
OCL_EXPORT cl_int clGetEventProfilingInfo(cl_event event, cl_profiling_info what, size_t size, void *value,
                                          size_t *size_ret)
{
	__typeof__(clGetEventProfilingInfo) *real =
	    OCL_REAL(OCL_FN_GET_PROFILING_INFO, clGetEventProfilingInfo);
	if (!real)
		return CL_INVALID_OPERATION;
	if (!inject_present())
		return real(event, what, size, value, size_ret);
	__typeof__(clGetEventInfo) *info = OCL_REAL(OCL_FN_GET_EVENT_INFO, clGetEventInfo);
	cl_command_queue q = NULL;
	bool forced = false;
	int n;
	if (info && info(event, CL_EVENT_COMMAND_QUEUE, sizeof(q), &q, NULL) == CL_SUCCESS && q &&
	    ocl_queue_app_view(q, &forced, NULL, &n) && forced)
		return CL_PROFILING_INFO_NOT_AVAILABLE;
	return real(event, what, size, value, size_ret);
}

/* Kernel release: the cached name is dropped (the handle may be reused). */
OCL_EXPORT cl_int clReleaseKernel(cl_kernel kernel)
{
	__typeof__(clReleaseKernel) *real = OCL_REAL(OCL_FN_RELEASE_KERNEL, clReleaseKernel);
	if (!real)
		return CL_INVALID_OPERATION;
	if (ocl_enabled())
		ocl_kernel_forget(kernel);
	return real(kernel);
}
