/*
 * opencl_work.c - the OpenCL backend's device work in flight: one record
 * per traced enqueue, from the call until the command's profiling times are
 * read, converted to the session clock and sent as a kernel, copy or fill
 * event.
 *
 * Life of a record (struct ocl_work):
 *
 *   free list --ocl_work_new--> prepared --ocl_work_submit--> outstanding
 *        ^                                                        |
 *        |                      callback (CL_COMPLETE) or a flush |
 *        |                      claims it once and sends it       v
 *        +---------------ocl_work_sweep------------------- done stack
 *
 * ocl_work_submit keeps a reference to the command's event (the one the
 * backend created when the application passed no event pointer, or a
 * clRetainEvent of the application's own), links the record into the
 * outstanding list and registers a CL_COMPLETE callback. The callback,
 * which runs on a thread of the OpenCL implementation, sends the event and
 * pushes the record onto a lock-free stack; it calls no OpenCL function but
 * clGetEventProfilingInfo and takes no lock of ours but the device's clock
 * lock. Releasing the event and recycling the record are left to
 * application threads (ocl_work_sweep, at the start of every traced entry
 * point): an implementation may still touch the event after the callback
 * returns, so the last reference is never dropped inside it.
 *
 * clFinish, clWaitForEvents, a flush tstop asks for and the process's exit
 * also send whatever has completed (an implementation may run callbacks
 * late, or never before exit). Whoever wins `claimed` sends; the record is
 * pushed onto the done stack once (`pushed`), by the callback when one was
 * registered (so it is never recycled while a callback may still read it),
 * else by the flush that claimed it. At exit, work that has not completed
 * is counted as lost ("opencl"), together with work that could not be
 * timed (a queue without profiling, a failed command, too many records in
 * flight, a fork child's inherited records).
 *
 * Records come from chunks of OCL_WORK_CHUNK (malloc, kept for the life of
 * the process), at most OCL_WORK_MAX in flight: no allocation per event
 * once the pool has grown to the application's depth.
 */
#include "capture/inject/opencl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "capture/inject/inject.h"

#define OCL_WORK_CHUNK 256
#define OCL_WORK_MAX   (1u << 16)

enum ocl_cb {
	OCL_CB_PENDING = 0, /* registered (or about to be): the callback pushes */
	OCL_CB_NONE = 1,    /* registration failed: whoever claims pushes */
};

struct ocl_work {
	struct ocl_work *next, *prev; /* outstanding list, or free list (next); work_lock */
	struct ocl_work *done_next;   /* done stack */
	cl_command_queue queue;
	cl_event event; /* our reference */
	_Atomic int claimed;
	_Atomic int pushed;
	_Atomic int callback; /* enum ocl_cb */
	int64_t host_start, host_end;
	uint32_t device, gen;
	struct trace_event ev; /* times filled when sent */
};

static pthread_mutex_t work_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ocl_work *work_free;           /* free list */
static struct ocl_work work_outstanding;     /* list head (circular), work_lock */
static uint32_t work_allocated;              /* records in chunks, work_lock */
static _Atomic(struct ocl_work *) work_done; /* done stack */
static _Atomic uint64_t work_lost;
static uint64_t work_lost_sent; /* last total sent, work_lock */
static pthread_once_t work_once = PTHREAD_ONCE_INIT;

/* Counts device work that cannot be sent (opencl.h). */
void ocl_work_lost(uint64_t n)
{
	atomic_fetch_add_explicit(&work_lost, n, memory_order_relaxed);
}

/* Under work_lock: a free record, growing the pool by a chunk when empty;
 * NULL at OCL_WORK_MAX or when memory is short. */
static struct ocl_work *ocl_work_alloc_locked(void)
{
	if (!work_outstanding.next)
		work_outstanding.next = work_outstanding.prev = &work_outstanding;
	if (!work_free && work_allocated < OCL_WORK_MAX) {
		struct ocl_work *chunk = calloc(OCL_WORK_CHUNK, sizeof(*chunk));
		if (chunk) {
			for (size_t i = 0; i < OCL_WORK_CHUNK; i++) {
				chunk[i].next = work_free;
				work_free = &chunk[i];
			}
			work_allocated += OCL_WORK_CHUNK;
		}
	}
	struct ocl_work *w = work_free;
	if (w)
		work_free = w->next;
	return w;
}

/* Under work_lock: puts w back on the free list. */
static void ocl_work_free_locked(struct ocl_work *w)
{
	w->event = NULL;
	w->next = work_free;
	work_free = w;
}

/* A prepared record for an enqueue on q (opencl.h). */
struct ocl_work *ocl_work_new(cl_command_queue q, const struct ocl_queue_view *v, uint32_t correlation)
{
	if (!v->profiling || !v->track) {
		ocl_work_lost(1);
		return NULL;
	}
	pthread_mutex_lock(&work_lock);
	struct ocl_work *w = ocl_work_alloc_locked();
	pthread_mutex_unlock(&work_lock);
	if (!w) {
		ocl_work_lost(1);
		return NULL;
	}
	w->next = w->prev = w->done_next = NULL;
	w->queue = q;
	w->event = NULL;
	atomic_store_explicit(&w->claimed, 0, memory_order_relaxed);
	atomic_store_explicit(&w->pushed, 0, memory_order_relaxed);
	atomic_store_explicit(&w->callback, OCL_CB_PENDING, memory_order_relaxed);
	w->device = v->device;
	w->gen = inject_generation();
	memset(&w->ev, 0, sizeof(w->ev));
	w->ev.track = v->track;
	w->ev.correlation = correlation;
	return w;
}

/* The device event being prepared (opencl.h). */
struct trace_event *ocl_work_event(struct ocl_work *w)
{
	return &w->ev;
}

/* Pushes w onto the done stack, once. Lock-free. */
static void ocl_work_done(struct ocl_work *w)
{
	if (atomic_exchange_explicit(&w->pushed, 1, memory_order_acq_rel))
		return;
	struct ocl_work *head = atomic_load_explicit(&work_done, memory_order_relaxed);
	do {
		w->done_next = head;
	} while (!atomic_compare_exchange_weak_explicit(&work_done, &head, w, memory_order_release,
	                                                memory_order_relaxed));
}

/* Reads w's profiling times and sends its event; the caller claimed it.
 * `status` is the command's execution status (negative: it failed). */
static void ocl_work_send(struct ocl_work *w, cl_int status)
{
	__typeof__(clGetEventProfilingInfo) *prof =
	    OCL_REAL(OCL_FN_GET_PROFILING_INFO, clGetEventProfilingInfo);
	cl_ulong queued = 0, start = 0, end = 0;
	if (status < 0 || w->gen != inject_generation() || !prof ||
	    prof(w->event, CL_PROFILING_COMMAND_QUEUED, sizeof(queued), &queued, NULL) != CL_SUCCESS ||
	    prof(w->event, CL_PROFILING_COMMAND_START, sizeof(start), &start, NULL) != CL_SUCCESS ||
	    prof(w->event, CL_PROFILING_COMMAND_END, sizeof(end), &end, NULL) != CL_SUCCESS ||
	    !ocl_device_convert(w->device, w->host_start, w->host_end, queued, start, end, &w->ev.start,
	                        &w->ev.end)) {
		ocl_work_lost(1);
		return;
	}
	/* A drop here (ring full) is counted by the ring. */
	inject_event(&w->ev);
}

/* The CL_COMPLETE callback: sends w unless a flush did, then hands it to
 * the sweep. Runs on an implementation thread (see the file comment). */
static void CL_CALLBACK ocl_work_callback(cl_event event, cl_int status, void *user)
{
	(void)event;
	struct ocl_work *w = user;
	int expect = 0;
	if (atomic_compare_exchange_strong(&w->claimed, &expect, 1))
		ocl_work_send(w, status);
	ocl_work_done(w);
}

/* Hands a prepared record over after its enqueue returned (opencl.h). */
void ocl_work_submit(struct ocl_work *w, cl_int rc, cl_event event, bool app_event, int64_t host_start,
                     int64_t host_end)
{
	__typeof__(clRetainEvent) *retain = OCL_REAL(OCL_FN_RETAIN_EVENT, clRetainEvent);
	__typeof__(clSetEventCallback) *setcb = OCL_REAL(OCL_FN_SET_EVENT_CALLBACK, clSetEventCallback);
	if (rc != CL_SUCCESS || !event || (app_event && (!retain || retain(event) != CL_SUCCESS))) {
		if (rc == CL_SUCCESS)
			ocl_work_lost(1);
		pthread_mutex_lock(&work_lock);
		ocl_work_free_locked(w);
		pthread_mutex_unlock(&work_lock);
		return;
	}
	w->event = event;
	w->host_start = host_start;
	w->host_end = host_end;
	pthread_mutex_lock(&work_lock);
	w->next = &work_outstanding;
	w->prev = work_outstanding.prev;
	w->prev->next = w;
	work_outstanding.prev = w;
	pthread_mutex_unlock(&work_lock);
	if (!setcb || setcb(event, CL_COMPLETE, ocl_work_callback, w) != CL_SUCCESS) {
		atomic_store_explicit(&w->callback, OCL_CB_NONE, memory_order_seq_cst);
		if (atomic_load_explicit(&w->claimed, memory_order_seq_cst))
			ocl_work_done(w);
	}
}

/* Releases the events and recycles the records of the done stack
 * (opencl.h). */
void ocl_work_sweep(void)
{
	if (!atomic_load_explicit(&work_done, memory_order_relaxed))
		return;
	struct ocl_work *list = atomic_exchange_explicit(&work_done, NULL, memory_order_acquire);
	if (!list)
		return;
	__typeof__(clReleaseEvent) *release = OCL_REAL(OCL_FN_RELEASE_EVENT, clReleaseEvent);
	uint32_t gen = inject_generation();
	for (struct ocl_work *w = list; w; w = w->done_next) {
		/* A fork child's inherited events belong to the parent's OpenCL. */
		if (release && w->event && w->gen == gen)
			release(w->event);
	}
	pthread_mutex_lock(&work_lock);
	for (struct ocl_work *w = list, *next; w; w = next) {
		next = w->done_next;
		w->prev->next = w->next;
		w->next->prev = w->prev;
		ocl_work_free_locked(w);
	}
	pthread_mutex_unlock(&work_lock);
}

/* What a flush looks for: a queue (NULL: any) or a list of events. */
struct ocl_work_match {
	cl_command_queue queue;
	cl_uint nevents;
	const cl_event *events;
};

/* Whether w is what m looks for. */
static bool ocl_work_matches(const struct ocl_work *w, const struct ocl_work_match *m)
{
	if (m->events) {
		for (cl_uint i = 0; i < m->nevents; i++) {
			if (m->events[i] == w->event)
				return true;
		}
		return false;
	}
	return !m->queue || m->queue == w->queue;
}

/* Sends every outstanding record matching m whose command has completed,
 * unless its callback did. Returns how many of the matching ones (of this
 * generation) are still not sent. O(outstanding records). */
static uint64_t ocl_work_flush(const struct ocl_work_match *m)
{
	__typeof__(clGetEventInfo) *info = OCL_REAL(OCL_FN_GET_EVENT_INFO, clGetEventInfo);
	uint32_t gen = inject_generation();
	uint64_t open = 0;
	pthread_mutex_lock(&work_lock);
	if (!work_outstanding.next)
		work_outstanding.next = work_outstanding.prev = &work_outstanding;
	for (struct ocl_work *w = work_outstanding.next; w != &work_outstanding; w = w->next) {
		if (w->gen != gen || atomic_load_explicit(&w->claimed, memory_order_acquire) ||
		    !ocl_work_matches(w, m))
			continue;
		cl_int status = CL_QUEUED;
		if (!info ||
		    info(w->event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, NULL) !=
		        CL_SUCCESS ||
		    status > CL_COMPLETE) {
			open++;
			continue;
		}
		int expect = 0;
		if (!atomic_compare_exchange_strong(&w->claimed, &expect, 1))
			continue;
		ocl_work_send(w, status);
		if (atomic_load_explicit(&w->callback, memory_order_seq_cst) == OCL_CB_NONE)
			ocl_work_done(w);
	}
	pthread_mutex_unlock(&work_lock);
	return open;
}

/* Sends the completed work of queue q, or of all queues (opencl.h). */
void ocl_work_flush_queue(cl_command_queue q)
{
	struct ocl_work_match m = {.queue = q};
	ocl_work_sweep();
	ocl_work_flush(&m);
}

/* Sends the completed work of the given events (opencl.h). */
void ocl_work_flush_events(cl_uint n, const cl_event *events)
{
	if (!n || !events)
		return;
	struct ocl_work_match m = {.nevents = n, .events = events};
	ocl_work_sweep();
	ocl_work_flush(&m);
}

/* Sends the loss total when it changed since last sent. */
static void ocl_work_send_loss(void)
{
	uint64_t lost = atomic_load_explicit(&work_lost, memory_order_relaxed);
	pthread_mutex_lock(&work_lock);
	bool changed = lost != work_lost_sent;
	work_lost_sent = lost;
	pthread_mutex_unlock(&work_lock);
	if (changed)
		inject_loss("opencl", lost);
}

/* The flush hook (a flush tstop asked for, and the core's shutdown): sends
 * every completed command and the loss total. */
static void ocl_work_flush_hook(void)
{
	struct ocl_work_match all = {0};
	ocl_work_sweep();
	ocl_work_flush(&all);
	ocl_work_send_loss();
}

/* The exit hook: sends what completed, counts what did not as lost and
 * sends the final loss total. */
static void ocl_work_exit_hook(int64_t now)
{
	(void)now;
	struct ocl_work_match all = {0};
	ocl_work_sweep();
	ocl_work_lost(ocl_work_flush(&all));
	ocl_work_send_loss();
}

/* Before fork: holds work_lock so that the child gets it free. */
static void ocl_work_prepare(void)
{
	pthread_mutex_lock(&work_lock);
}

/* After fork, in either process. */
static void ocl_work_after(void)
{
	pthread_mutex_unlock(&work_lock);
}

/* Registers the hooks, once per process image. */
static void ocl_work_register(void)
{
	inject_register_flush(ocl_work_flush_hook);
	inject_register_exit(ocl_work_exit_hook);
	ocl_objects_atfork();
	pthread_atfork(ocl_work_prepare, ocl_work_after, ocl_work_after);
}

/* Registers the backend's hooks with the core, once (opencl.h). */
void ocl_work_hooks(void)
{
	pthread_once(&work_once, ocl_work_register);
}
