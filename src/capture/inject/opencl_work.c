/*
 * opencl_work.c - the OpenCL backend's device work in flight: one record
 * per traced enqueue, from the call until the command's profiling times are
 * read, placed on the session clock and sent as a kernel, copy or fill
 * event.
 *
 * Life of a record (struct ocl_work):
 *
 *   free list --ocl_work_new--> prepared --ocl_work_submit--> outstanding
 *        ^                                                        |
 *        |          callback (CL_COMPLETE) or a flush claims it   |
 *        |          once, reads its times; its queue's clock      |
 *        |          places and sends it in enqueue order          v
 *        +---------------ocl_work_sweep------------------- done stack
 *
 * ocl_work_submit keeps a reference to the command's event (the one the
 * backend created when the application passed no event pointer, or a
 * clRetainEvent of the application's own), enters the command in its
 * queue's clock (opencl_objects.c), links the record into the outstanding
 * list and registers a CL_COMPLETE callback. Whoever claims the record (the
 * callback, which runs on a thread of the OpenCL implementation, or a
 * flush) reads its profiling times and hands it to the clock, which places
 * it on the session clock together with any later commands of an in-order
 * queue that were waiting for it, and returns those it placed: the claimer
 * sends them all. A command whose times were read before those of an
 * earlier command of its queue thus waits in the chain and is sent by
 * whoever claims that earlier one, so an in-order queue's commands are
 * always placed in the order they were enqueued (opencl_calc.h). Callbacks
 * call no OpenCL function but clGetEventProfilingInfo, take no lock of
 * ours but the device's clock lock, and never wait for ring space: in
 * blocking mode (--block) too, an event a callback finds no room for is
 * dropped and counted by the ring (ring_thread_nowait), since a stalled
 * callback thread would stall the implementation (and with it the
 * application's own waits).
 *
 * A record is pushed onto a lock-free done stack when its two holds are
 * released: "sent" (by whoever sent it or counted it lost) and "callback"
 * (by the callback when one was registered, so that it is never recycled
 * while a callback may still read it, else by the flush that claimed it).
 * Releasing the event, the clock reference and recycling the record are
 * left to application threads (ocl_work_sweep, at the start of every
 * traced entry point): an implementation may still touch the event after
 * the callback returns, so the last reference is never dropped inside it.
 *
 * clFinish, clWaitForEvents, a flush tstop asks for and the process's exit
 * also send whatever has completed (an implementation may run callbacks
 * late, or never before exit): clFinish its queue's work, clWaitForEvents
 * the work of its events' queues (a waited-for command may be waiting in
 * its chain for earlier, completed ones). At the end of a session, work
 * that has not completed is claimed and counted as lost ("opencl"), which
 * lets the completed commands queued behind it be sent; so is work that
 * could not be timed (a queue without profiling, a failed command, too many
 * records in flight, a fork child's inherited records).
 *
 * Records come from chunks of OCL_WORK_CHUNK (malloc, kept for the life of
 * the process), at most OCL_WORK_MAX in flight: no allocation per event
 * once the pool has grown to the application's depth.
 */
#include "capture/inject/opencl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/inject/inject.h"
#include "capture/ring.h"

#define OCL_WORK_CHUNK        256
#define OCL_WORK_MAX          (1u << 16)
#define OCL_WORK_MATCH_QUEUES 16 /* queues a flush after clWaitForEvents names */

enum ocl_cb {
	OCL_CB_PENDING = 0, /* registered (or about to be): the callback releases its hold */
	OCL_CB_NONE = 1,    /* registration failed: whoever claims releases it */
};

struct ocl_work {
	struct ocl_work *next, *prev; /* outstanding list, or free list (next); work_lock */
	struct ocl_work *done_next;   /* done stack */
	cl_command_queue queue;
	cl_event event;           /* our reference */
	struct ocl_qclock *clock; /* our reference to the queue's clock */
	_Atomic int claimed;
	_Atomic int holds;       /* "sent" and "callback": pushed on the done stack at 0 */
	_Atomic int cb_released; /* the "callback" hold was released */
	_Atomic int callback;    /* enum ocl_cb */
	uint32_t gen;            /* the capture session it was made in: only then is it sent */
	pid_t pid;               /* the process whose OpenCL owns `event` (not a fork child's) */
	struct ocl_cmd cmd;      /* the command's times; its place in the clock's chain */
	struct trace_event ev;   /* times filled when sent */
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

/* Under work_lock: drops w's clock reference and puts w back on the free
 * list. */
static void ocl_work_free_locked(struct ocl_work *w)
{
	ocl_qclock_put(w->clock);
	w->clock = NULL;
	w->event = NULL;
	w->next = work_free;
	work_free = w;
}

/* A prepared record for an enqueue on q (opencl.h). */
struct ocl_work *ocl_work_new(cl_command_queue q, const struct ocl_queue_view *v, struct ocl_qclock *clock,
                              uint32_t correlation)
{
	if (!v->profiling || !v->track || !clock) {
		ocl_qclock_put(clock);
		ocl_work_lost(1);
		return NULL;
	}
	pthread_mutex_lock(&work_lock);
	struct ocl_work *w = ocl_work_alloc_locked();
	pthread_mutex_unlock(&work_lock);
	if (!w) {
		ocl_qclock_put(clock);
		ocl_work_lost(1);
		return NULL;
	}
	w->next = w->prev = w->done_next = NULL;
	w->queue = q;
	w->event = NULL;
	w->clock = clock;
	atomic_store_explicit(&w->claimed, 0, memory_order_relaxed);
	atomic_store_explicit(&w->holds, 2, memory_order_relaxed);
	atomic_store_explicit(&w->cb_released, 0, memory_order_relaxed);
	atomic_store_explicit(&w->callback, OCL_CB_PENDING, memory_order_relaxed);
	w->gen = inject_generation();
	w->pid = getpid();
	memset(&w->cmd, 0, sizeof(w->cmd));
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

/* Releases one of w's holds; the last one pushes w onto the done stack.
 * Lock-free. */
static void ocl_work_release(struct ocl_work *w)
{
	if (atomic_fetch_sub_explicit(&w->holds, 1, memory_order_acq_rel) != 1)
		return;
	struct ocl_work *head = atomic_load_explicit(&work_done, memory_order_relaxed);
	do {
		w->done_next = head;
	} while (!atomic_compare_exchange_weak_explicit(&work_done, &head, w, memory_order_release,
	                                                memory_order_relaxed));
}

/* Releases w's "callback" hold, once whoever calls it. */
static void ocl_work_release_callback(struct ocl_work *w)
{
	if (!atomic_exchange_explicit(&w->cb_released, 1, memory_order_acq_rel))
		ocl_work_release(w);
}

/* Sends the commands a clock returned (placed ones as events, dropped ones
 * as losses) and releases their records' "sent" holds. */
static void ocl_work_deliver(struct ocl_cmd *list)
{
	while (list) {
		struct ocl_cmd *c = list;
		list = c->next;
		struct ocl_work *w = (struct ocl_work *)(void *)((char *)c - offsetof(struct ocl_work, cmd));
		if (c->state == OCL_CMD_PLACED) {
			w->ev.start = c->out_start;
			w->ev.end = c->out_end;
			/* A drop here (ring full) is counted by the ring. */
			inject_event(&w->ev);
		} else if (w->gen == inject_generation()) {
			ocl_work_lost(1); /* left from an ended session: not this one's loss */
		}
		ocl_work_release(w);
	}
}

/* Reads w's profiling times and hands it to its queue's clock, sending
 * what that placed; the caller claimed w. `status` is the command's
 * execution status (negative: it failed; `drop`: not completed, to be
 * counted as lost). */
static void ocl_work_send(struct ocl_work *w, cl_int status, bool drop)
{
	__typeof__(clGetEventProfilingInfo) *prof =
	    OCL_REAL(OCL_FN_GET_PROFILING_INFO, clGetEventProfilingInfo);
	cl_ulong queued = 0, start = 0, end = 0;
	bool timed =
	    !drop && status >= 0 && w->gen == inject_generation() && prof &&
	    prof(w->event, CL_PROFILING_COMMAND_QUEUED, sizeof(queued), &queued, NULL) == CL_SUCCESS &&
	    prof(w->event, CL_PROFILING_COMMAND_START, sizeof(start), &start, NULL) == CL_SUCCESS &&
	    prof(w->event, CL_PROFILING_COMMAND_END, sizeof(end), &end, NULL) == CL_SUCCESS;
	w->cmd.queued = queued;
	w->cmd.start = start;
	w->cmd.end = end;
	ocl_work_deliver(ocl_qclock_ready(w->clock, &w->cmd, timed));
}

/* The CL_COMPLETE callback: sends w unless a flush claimed it, then
 * releases its "callback" hold. Runs on an implementation thread (see the
 * file comment), which must never be stalled: its records never wait for
 * ring space, even in blocking mode (--block), and what finds the ring full
 * is dropped and counted by the ring. */
static void CL_CALLBACK ocl_work_callback(cl_event event, cl_int status, void *user)
{
	(void)event;
	struct ocl_work *w = user;
	bool nowait = ring_thread_nowait(true);
	int expect = 0;
	if (atomic_compare_exchange_strong(&w->claimed, &expect, 1))
		ocl_work_send(w, status, false);
	ocl_work_release_callback(w);
	ring_thread_nowait(nowait);
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
	w->cmd.host_start = host_start;
	w->cmd.host_end = host_end;
	/* In the chain before anyone can claim it (the outstanding list, the
	 * callback). */
	ocl_qclock_enter(w->clock, &w->cmd);
	pthread_mutex_lock(&work_lock);
	w->next = &work_outstanding;
	w->prev = work_outstanding.prev;
	w->prev->next = w;
	work_outstanding.prev = w;
	pthread_mutex_unlock(&work_lock);
	if (!setcb || setcb(event, CL_COMPLETE, ocl_work_callback, w) != CL_SUCCESS) {
		atomic_store_explicit(&w->callback, OCL_CB_NONE, memory_order_seq_cst);
		if (atomic_load_explicit(&w->claimed, memory_order_seq_cst))
			ocl_work_release_callback(w);
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
	pid_t self = getpid();
	for (struct ocl_work *w = list; w; w = w->done_next) {
		/* A fork child's inherited events belong to the parent's OpenCL;
		 * those of an ended attach session are still ours to release. */
		if (release && w->event && w->pid == self)
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

/* What a flush looks for: the work of one queue (NULL: of any), or of a
 * set of queues. */
struct ocl_work_match {
	cl_command_queue queue;
	unsigned nqueues; /* > 0: the queues in queues[], not queue */
	cl_command_queue queues[OCL_WORK_MATCH_QUEUES];
};

/* Whether w is what m looks for. */
static bool ocl_work_matches(const struct ocl_work *w, const struct ocl_work_match *m)
{
	for (unsigned i = 0; i < m->nqueues; i++) {
		if (m->queues[i] == w->queue)
			return true;
	}
	return !m->nqueues && (!m->queue || m->queue == w->queue);
}

/* Sends every outstanding record matching m whose command has completed,
 * unless its callback did; with `final` (the end of a session), the ones
 * not completed are claimed too and counted as lost, so that nothing stays
 * waiting behind them. Records left from an ended attach session are
 * claimed too (never sent: ocl_work_send checks the generation) so that
 * their events are released; a fork child leaves its parent's alone.
 * O(outstanding records). */
static void ocl_work_flush(const struct ocl_work_match *m, bool final)
{
	__typeof__(clGetEventInfo) *info = OCL_REAL(OCL_FN_GET_EVENT_INFO, clGetEventInfo);
	uint32_t gen = inject_generation();
	pid_t self = getpid();
	pthread_mutex_lock(&work_lock);
	if (!work_outstanding.next)
		work_outstanding.next = work_outstanding.prev = &work_outstanding;
	for (struct ocl_work *w = work_outstanding.next; w != &work_outstanding; w = w->next) {
		if (w->pid != self || atomic_load_explicit(&w->claimed, memory_order_acquire) ||
		    (w->gen == gen && !ocl_work_matches(w, m)))
			continue;
		cl_int status = CL_QUEUED;
		bool done = info &&
		            info(w->event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status,
		                 NULL) == CL_SUCCESS &&
		            status <= CL_COMPLETE;
		if (!done && !final)
			continue;
		int expect = 0;
		if (!atomic_compare_exchange_strong(&w->claimed, &expect, 1))
			continue;
		ocl_work_send(w, status, !done);
		if (atomic_load_explicit(&w->callback, memory_order_seq_cst) == OCL_CB_NONE)
			ocl_work_release_callback(w);
	}
	pthread_mutex_unlock(&work_lock);
}

/* Sends the completed work of queue q, or of all queues (opencl.h). */
void ocl_work_flush_queue(cl_command_queue q)
{
	struct ocl_work_match m = {.queue = q};
	ocl_work_sweep();
	ocl_work_flush(&m, false);
}

/* Sends the completed work of the given events' queues (opencl.h). */
void ocl_work_flush_events(cl_uint n, const cl_event *events)
{
	if (!n || !events)
		return;
	struct ocl_work_match m = {0};
	bool found = false, all = false;
	ocl_work_sweep();
	pthread_mutex_lock(&work_lock);
	for (struct ocl_work *w = work_outstanding.next; w && w != &work_outstanding && !all; w = w->next) {
		bool waited = false;
		for (cl_uint i = 0; i < n && !waited; i++)
			waited = events[i] == w->event;
		bool known = false;
		for (unsigned i = 0; i < m.nqueues && !known; i++)
			known = m.queues[i] == w->queue;
		if (!waited || known)
			continue;
		found = true;
		if (m.nqueues < OCL_WORK_MATCH_QUEUES)
			m.queues[m.nqueues++] = w->queue;
		else
			all = true;
	}
	pthread_mutex_unlock(&work_lock);
	if (!found)
		return;
	if (all)
		m.nqueues = 0; /* and queue NULL: every queue */
	ocl_work_flush(&m, false);
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
	ocl_work_flush(&all, false);
	ocl_work_send_loss();
}

/* The exit hook: sends what completed, counts what did not as lost, tells
 * how many commands were shifted to keep their queue in order and sends
 * the final loss total. */
static void ocl_work_exit_hook(int64_t now)
{
	(void)now;
	struct ocl_work_match all = {0};
	ocl_work_sweep();
	ocl_work_flush(&all, true);
	ocl_clock_report();
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
