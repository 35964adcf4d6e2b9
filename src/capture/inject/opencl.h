/*
 * opencl.h - the parts of the collector's OpenCL backend, shared by its
 * files (none of this is seen outside libtstop-inject.so):
 *
 *   opencl.c          the exported entry points the application calls
 *                     (LD_PRELOAD interposition), the API events and syncs
 *   opencl_real.c     the table of OpenCL functions: names, stable indexes
 *                     (the API events' cbid) and the real implementations
 *   opencl_objects.c  what the backend knows of queues (streams and the
 *                     order their commands are placed in), devices
 *                     (descriptions, clocks), kernels (names) and mapped
 *                     regions
 *   opencl_work.c     device work in flight: one record per traced enqueue
 *                     until its profiling times are read and sent
 *   opencl_calc.c     pure arithmetic (launch configurations, clock offsets,
 *                     placing commands in queue order)
 *
 * Locks: the objects lock and the work lock are never held together. The
 * event callbacks, which an OpenCL implementation may run while it holds
 * locks of its own, take no lock of ours but a device's clock lock, a leaf
 * under which nothing is called (it guards the device's offset and the
 * chains of its queues: pure arithmetic and pointer updates); so OpenCL may
 * be called under the objects lock (to describe a new device) and the work
 * lock (a flush reading profiling times) without any chance of a deadlock.
 */
#ifndef TSTOP_CAPTURE_INJECT_OPENCL_H
#define TSTOP_CAPTURE_INJECT_OPENCL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 300
#endif
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>

#include <stdbool.h>
#include <stdint.h>

#include "capture/inject/opencl_calc.h"
#include "trace/event.h"

/* --- opencl_real.c ---------------------------------------------------------- */

/* The OpenCL functions the backend wraps or uses. The value of a traced
 * function is the cbid of its API events: append only, never renumber. */
enum ocl_fn {
	OCL_FN_CREATE_QUEUE = 0,       /* clCreateCommandQueue */
	OCL_FN_CREATE_QUEUE_PROPS = 1, /* clCreateCommandQueueWithProperties */
	OCL_FN_RELEASE_QUEUE = 2,      /* clReleaseCommandQueue */
	OCL_FN_NDRANGE = 3,            /* clEnqueueNDRangeKernel */
	OCL_FN_TASK = 4,               /* clEnqueueTask */
	OCL_FN_READ = 5,               /* clEnqueueReadBuffer */
	OCL_FN_READ_RECT = 6,          /* clEnqueueReadBufferRect */
	OCL_FN_WRITE = 7,              /* clEnqueueWriteBuffer */
	OCL_FN_WRITE_RECT = 8,         /* clEnqueueWriteBufferRect */
	OCL_FN_COPY = 9,               /* clEnqueueCopyBuffer */
	OCL_FN_COPY_RECT = 10,         /* clEnqueueCopyBufferRect */
	OCL_FN_FILL = 11,              /* clEnqueueFillBuffer */
	OCL_FN_MAP = 12,               /* clEnqueueMapBuffer */
	OCL_FN_UNMAP = 13,             /* clEnqueueUnmapMemObject */
	OCL_FN_FINISH = 14,            /* clFinish */
	OCL_FN_WAIT = 15,              /* clWaitForEvents */
	/* Wrapped to keep the application's view unchanged, not traced. */
	OCL_FN_GET_QUEUE_INFO = 16,     /* clGetCommandQueueInfo */
	OCL_FN_GET_PROFILING_INFO = 17, /* clGetEventProfilingInfo */
	OCL_FN_RELEASE_KERNEL = 18,     /* clReleaseKernel */
	/* Called, not wrapped. */
	OCL_FN_GET_EVENT_INFO = 19,        /* clGetEventInfo */
	OCL_FN_SET_EVENT_CALLBACK = 20,    /* clSetEventCallback */
	OCL_FN_RETAIN_EVENT = 21,          /* clRetainEvent */
	OCL_FN_RELEASE_EVENT = 22,         /* clReleaseEvent */
	OCL_FN_GET_KERNEL_INFO = 23,       /* clGetKernelInfo */
	OCL_FN_GET_DEVICE_INFO = 24,       /* clGetDeviceInfo */
	OCL_FN_GET_PLATFORM_INFO = 25,     /* clGetPlatformInfo */
	OCL_FN_DEVICE_AND_HOST_TIMER = 26, /* clGetDeviceAndHostTimer */
	OCL_FN_COUNT = 27,
};

/* The function's name ("clFinish"); static storage. */
const char *ocl_fn_name(enum ocl_fn fn);

/* The real implementation of `fn`: the next definition after this library
 * (dlsym RTLD_NEXT), else the one of an already loaded libOpenCL.so.1.
 * Resolved on first use and kept (racing threads store the same value);
 * NULL when there is none. Lock-free after the first call. */
void *ocl_real(enum ocl_fn fn);

/* The real function `sym` as its own pointer type. */
#define OCL_REAL(fn, sym) ((__typeof__(sym) *)ocl_real(fn))

/* The collector string id of `fn`'s name in the current generation,
 * cached; 0 when it could not be sent. */
uint32_t ocl_fn_string(enum ocl_fn fn);

/* --- opencl_objects.c -------------------------------------------------------- */

#define OCL_PROPS_MAX 32 /* cl_queue_properties values kept per queue */

/* What an enqueue needs of its queue, copied out under the lock. */
struct ocl_queue_view {
	uint32_t track;     /* stream track, 0 when it could not be sent */
	uint32_t device;    /* device index in this process */
	uint32_t stream;    /* queue number in this process, from 1 */
	bool profiling;     /* profiling is on (asked for or forced) */
	bool app_profiling; /* the application asked for it */
};

/* A queue's clock: the chain that places its commands on the session
 * clock in enqueue order (in-order queues; opencl_calc.h), under its
 * device's clock lock. Shared by the queue and its work in flight:
 * reference counted, freed with the last reference. */
struct ocl_qclock;

/* Registers a queue the application created (through us): device, whether
 * the application asked for profiling and whether it is on, whether it
 * executes in order (no CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE), and the
 * properties array it passed (`nprops` values including the closing 0;
 * app_props NULL with nprops 0 for none; nprops < 0 when the queue was made
 * by clCreateCommandQueue, which has no array). A queue already known
 * under this handle (a released one's handle reused) is replaced. Gives
 * the queue the next stream number and a new clock, and sends its device's
 * description when new. */
void ocl_queue_register(cl_command_queue q, cl_device_id dev, bool app_profiling, bool profiling,
                        bool in_order, const cl_queue_properties *app_props, int nprops);

/* Fills *v for queue q and, unless clock is NULL, sets *clock to a new
 * reference to q's clock (the caller's to put). A queue the backend did
 * not see created (made while capture was off, or through an extension) is
 * adopted: its device and properties are read, its profiling left as the
 * application set it. Returns false (nothing set) for a handle the
 * implementation does not know, or that could not be recorded. */
bool ocl_queue_lookup(cl_command_queue q, struct ocl_queue_view *v, struct ocl_qclock **clock);

/* Called before the application's clReleaseCommandQueue: forgets q when
 * that release is its last one (the handle may then be reused). */
void ocl_queue_release(cl_command_queue q);

/* Forgets whatever was recorded under handle q: called for a queue created
 * while no session records, whose handle may be that of a queue recorded
 * earlier and freed by the implementation later than its last
 * clReleaseCommandQueue (internal references), so that the new queue is
 * never taken for the old one. */
void ocl_queue_forget(cl_command_queue q);

/* For clGetCommandQueueInfo: sets *forced to whether the backend forced
 * profiling on q, and *nprops to the length of the properties array the
 * application passed when the backend rewrote it (-1: not rewritten),
 * copying that array into props (OCL_PROPS_MAX values) unless props is
 * NULL. Returns false for an unknown queue. */
bool ocl_queue_app_view(cl_command_queue q, bool *forced, cl_queue_properties *props, int *nprops);

/* The collector string id of kernel k's function name, cached per kernel
 * handle and generation; 0 when unknown or not sent. */
uint32_t ocl_kernel_name(cl_kernel k);

/* Forgets kernel k's cached name (called on every clReleaseKernel, since
 * after the last one the handle may be reused for another kernel). */
void ocl_kernel_forget(cl_kernel k);

/* Remembers that clEnqueueMapBuffer returned `ptr` for `bytes`. */
void ocl_mapped_add(const void *ptr, uint64_t bytes);

/* The bytes mapped at ptr, forgotten now; 0 when unknown. */
uint64_t ocl_mapped_take(const void *ptr);

/* Recalibrates device `index`'s clock when it uses clGetDeviceAndHostTimer
 * and the last calibration is older than OCL_CLOCK_RECAL_NS. Called on
 * application threads at enqueue, never in callbacks. */
void ocl_device_calibrate(uint32_t index);

/* Drops a reference to clock c (NULL: nothing), freeing it with the last
 * one. Lock-free; any thread. */
void ocl_qclock_put(struct ocl_qclock *c);

/* Enters command cmd, whose enqueue just returned, in clock c's chain (an
 * in-order queue; nothing for an out-of-order one). Before anyone can read
 * its times: ocl_qclock_ready must follow exactly once. */
void ocl_qclock_enter(struct ocl_qclock *c, struct ocl_cmd *cmd);

/* Command cmd's device times are set in it (`timed`; host_start, host_end
 * and queued too), or it has none (dropped). Places it and the commands of
 * its queue that waited for it on the session clock, in enqueue order
 * (ocl_chain_ready), learning from their QUEUED times when the device has
 * no host timer, and returns them for the caller to send (PLACED) or count
 * as lost (DROPPED); NULL when cmd waits for an earlier command, which will
 * return it. Thread-safe (the device's clock lock, a leaf). */
struct ocl_cmd *ocl_qclock_ready(struct ocl_qclock *c, struct ocl_cmd *cmd, bool timed);

/* Tells the user how many commands were moved to start when the previous
 * command of their queue ended since the last report (opencl_calc.h), when
 * any were. Called at the end of each capture session. */
void ocl_clock_report(void);

/* Registers the fork handlers of opencl_objects.c; called once. */
void ocl_objects_atfork(void);

/* --- opencl_work.c ------------------------------------------------------------ */

/* One traced enqueue's device side, from the call until its times are sent. */
struct ocl_work;

/* Takes a free record for an enqueue on queue q (view v, clock a reference
 * that the record takes over), with its device event prepared but for the
 * times; NULL when the queue cannot be timed or too many are in flight (the
 * loss is counted, the clock reference dropped). */
struct ocl_work *ocl_work_new(cl_command_queue q, const struct ocl_queue_view *v, struct ocl_qclock *clock,
                              uint32_t correlation);

/* The device event being prepared (kind, name, sub and u are the caller's
 * to fill before ocl_work_submit). */
struct trace_event *ocl_work_event(struct ocl_work *w);

/* Hands the record over once the enqueue returned. `event` is the event
 * of the command (the application's or ours), `app_event` whether it is the
 * application's (then it is retained here); host_start/host_end bracket the
 * enqueue call. With rc != CL_SUCCESS or no event, the record goes back to
 * the free list. */
void ocl_work_submit(struct ocl_work *w, cl_int rc, cl_event event, bool app_event, int64_t host_start,
                     int64_t host_end);

/* Releases the events and records whose callbacks have run. Cheap (one
 * atomic load) when there are none; called at the start of every traced
 * entry point, on application threads. */
void ocl_work_sweep(void);

/* Sends the work of queue q (NULL: of every queue) that has completed, after
 * clFinish(q). */
void ocl_work_flush_queue(cl_command_queue q);

/* Sends the completed work of the queues of the given events (so the
 * events' own, and what an in-order queue placed before them), after
 * clWaitForEvents. */
void ocl_work_flush_events(cl_uint n, const cl_event *events);

/* Registers the backend's flush and exit functions with the core, once. */
void ocl_work_hooks(void);

/* Counts `n` pieces of device work that cannot be sent ("opencl" losses). */
void ocl_work_lost(uint64_t n);

#endif
