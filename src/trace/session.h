/*
 * session.h - the in-memory trace model: one captured session.
 *
 * A session owns everything a capture produced: interned strings, stack
 * frames and stacks, tracks (host threads, GPU streams, counters, whole
 * processes), processes, devices, metadata, lost-event totals, the interned
 * side tables that events refer to (launch configurations, NVTX attributes,
 * memory operations) and the events themselves, stored per track.
 *
 * Sources fill a session (the SBT loader, later the live drain); sinks,
 * reports and views read it. Nothing here does I/O or drawing.
 *
 * Ids: every table hands out dense ids starting at 1; id 0 means "none" (for
 * strings, id 0 is the empty string). Ids stay valid for the session's life.
 *
 * Event storage and its invariants:
 *   1. Each track holds its events in one array, in append order until
 *      trace_session_finish() is called.
 *   2. After trace_session_finish() and until the next append to that
 *      track, the track's array is sorted by (start, end) ascending; lookups
 *      by time require this and assert it in debug builds.
 *   3. Per-kind counts and the session time range always include every
 *      appended event.
 *   4. Every stored event has start <= end and a duration end - start that
 *      fits in int64 (at most INT64_MAX ns), so readers may compute it as
 *      int64 without overflow. (With a negative start, end - start of two
 *      int64 values can reach 2^64 - 1: such events are refused.)
 *
 * Memory: events cost 40 bytes each plus array slack; growth of big arrays
 * goes through realloc, which glibc serves with mremap, so unused capacity is
 * address space, not resident memory.
 *
 * Allocation failure aborts the process with a message (util/xalloc.h), like
 * redis's zmalloc: every size that comes from untrusted input is checked by
 * the caller before it reaches an allocation.
 *
 * Thread safety: none. The live view will publish snapshots (issue 5).
 */
#ifndef TSTOP_TRACE_SESSION_H
#define TSTOP_TRACE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/event.h"

struct trace_session;

/* Track kinds. Values are stored in SBT files: append only. */
enum trace_track_kind {
	TRACE_TRACK_THREAD = 1,  /* a host thread: pid, tid */
	TRACE_TRACK_STREAM = 2,  /* a GPU stream / OpenCL queue: pid, device, context, stream */
	TRACE_TRACK_COUNTER = 3, /* a counter: pid, device, name */
	TRACE_TRACK_PROCESS = 4, /* process-wide events (lost-event markers): pid */
};
#define TRACE_TRACK_KIND_MAX 4

/* What identifies a track. Two infos with the same kind and identity fields
 * are the same track; `name` is a label, not part of the identity (except for
 * counters, where the name is the identity). Unused fields are 0. */
struct trace_track_info {
	uint8_t kind; /* enum trace_track_kind */
	uint32_t pid;
	uint32_t tid;     /* THREAD */
	uint32_t device;  /* STREAM, COUNTER: device id */
	uint32_t context; /* STREAM: CUDA context id, 0 for OpenCL */
	uint32_t stream;  /* STREAM: CUDA stream id or OpenCL queue number */
	uint32_t name;    /* string id: thread name, stream label, counter name */
};

/* Process end states. Stored in SBT files: append only. */
enum trace_process_state {
	TRACE_PROC_RUNNING = 0,  /* still running when the session was written */
	TRACE_PROC_EXITED = 1,   /* exited; status is the exit code */
	TRACE_PROC_SIGNALED = 2, /* killed; status is the signal number */
	TRACE_PROC_DETACHED = 3, /* capture detached while it ran */
	TRACE_PROC_ENDED = 4,    /* ended, how is not known (a descendant reaped by its parent); status 0 */
};

struct trace_process {
	uint32_t pid;
	uint32_t ppid;
	uint32_t command; /* string id: the command line, arguments separated by spaces */
	int64_t start;    /* ns, session clock; 0 = unknown */
	int64_t end;      /* ns, session clock; 0 = unknown or still running */
	uint8_t state;    /* enum trace_process_state */
	int32_t status;   /* exit code or signal number, by state */
};

/* Device APIs, stored in SBT files: append only. */
enum trace_device_api {
	TRACE_DEVICE_CUDA = 1,
	TRACE_DEVICE_OPENCL = 2,
};

/* A GPU (or OpenCL device). Zero means unknown for every numeric field. The
 * per-SM limits are what occupancy estimates need. */
struct trace_device {
	uint32_t id;   /* device id as events and tracks use it */
	uint8_t api;   /* enum trace_device_api */
	uint32_t name; /* string id */
	uint8_t uuid[16];
	uint32_t cc_major, cc_minor;
	uint32_t sm_count;
	uint64_t global_memory; /* bytes */
	uint32_t warp_size;
	uint32_t max_threads_per_block;
	uint32_t max_threads_per_sm;
	uint32_t max_blocks_per_sm;
	uint32_t regs_per_block;
	uint32_t regs_per_sm;
	uint32_t smem_per_block; /* bytes */
	uint32_t smem_per_sm;    /* bytes */
	uint32_t core_clock_khz;
	uint32_t memory_clock_khz;
	uint32_t memory_bus_width; /* bits */
};

/* One symbolized stack frame (interned). */
struct trace_frame {
	uint64_t pc;       /* address in the target process */
	uint64_t offset;   /* pc - start of function, when the function is known */
	uint32_t function; /* string id, 0 = unknown */
	uint32_t module;   /* string id: path of the binary or library */
	uint32_t file;     /* string id, 0 = no debug info */
	uint32_t line;     /* 0 = no debug info */
};

/* Lost-event totals per process and source ("ring", "cupti", ...). */
struct trace_loss {
	uint32_t pid;
	uint32_t source; /* string id */
	uint64_t count;
};

/* Creates an empty session. Never NULL (allocation failure aborts). The
 * caller owns it and frees it with trace_session_delete(). */
struct trace_session *trace_session_new(void);

/* Frees a session and everything it owns. NULL is ignored. */
void trace_session_delete(struct trace_session *s);

/* --- strings -------------------------------------------------------------- */

/* Interns `len` bytes (any bytes, NULs included) and returns their id; equal
 * byte strings get equal ids; the empty string is id 0. O(len) expected. */
uint32_t trace_session_intern(struct trace_session *s, const char *bytes, size_t len);

/* Interns a NUL-terminated string. */
uint32_t trace_session_intern_cstr(struct trace_session *s, const char *str);

/* The bytes of string `id`, NUL-terminated (a string holding NULs reads short
 * as a C string; `len`, when non-NULL, gets the full length). An unknown id
 * yields "". The pointer stays valid for the session's life. */
const char *trace_session_string(const struct trace_session *s, uint32_t id, size_t *len);

/* Number of strings, the empty string included: valid ids are < this. */
uint32_t trace_session_string_count(const struct trace_session *s);

/* The name of string `id` as shown to people: demangled when it is a mangled
 * C++ name (Itanium ABI, as CUDA kernels are), else the string itself.
 * Computed once per id and cached, hence the non-const session. */
const char *trace_session_display_name(struct trace_session *s, uint32_t id);

/* --- stacks ---------------------------------------------------------------- */

/* Interns a frame; returns its id (>= 1). */
uint32_t trace_session_add_frame(struct trace_session *s, const struct trace_frame *f);

/* The frame with id `id`, or NULL when unknown. */
const struct trace_frame *trace_session_frame(const struct trace_session *s, uint32_t id);

/* Number of frames + 1: valid frame ids are 1 .. this - 1. */
uint32_t trace_session_frame_count(const struct trace_session *s);

/* Interns a stack of `n` frame ids, innermost first; returns its id (>= 1).
 * Returns 0 when n is 0 or any frame id is unknown. */
uint32_t trace_session_add_stack(struct trace_session *s, const uint32_t *frames, uint32_t n);

/* The frame ids of stack `id` (innermost first) and their number in *n, or
 * NULL with *n = 0 when unknown. */
const uint32_t *trace_session_stack(const struct trace_session *s, uint32_t id, uint32_t *n);

/* Number of stacks + 1. */
uint32_t trace_session_stack_count(const struct trace_session *s);

/* --- side tables that events refer to -------------------------------------- */

/* Interns a launch configuration; returns its id (>= 1). */
uint32_t trace_session_add_launch(struct trace_session *s, const struct trace_launch *l);
/* The launch configuration `id`, or NULL when unknown. */
const struct trace_launch *trace_session_launch(const struct trace_session *s, uint32_t id);
/* Number of launch configurations + 1: valid ids are 1 .. this - 1. */
uint32_t trace_session_launch_count(const struct trace_session *s);

/* Interns NVTX attributes; returns their id (>= 1). */
uint32_t trace_session_add_nvtx_attr(struct trace_session *s, const struct trace_nvtx_attr *a);
/* The NVTX attributes `id`, or NULL when unknown (id 0: default domain, none). */
const struct trace_nvtx_attr *trace_session_nvtx_attr(const struct trace_session *s, uint32_t id);
/* Number of NVTX attribute sets + 1: valid ids are 1 .. this - 1. */
uint32_t trace_session_nvtx_attr_count(const struct trace_session *s);

/* Adds a memory operation (not interned: each allocation is its own);
 * returns its id (>= 1). */
uint32_t trace_session_add_memop(struct trace_session *s, const struct trace_memop *m);
/* The memory operation `id`, or NULL when unknown. */
const struct trace_memop *trace_session_memop(const struct trace_session *s, uint32_t id);
/* Number of memory operations + 1: valid ids are 1 .. this - 1. */
uint32_t trace_session_memop_count(const struct trace_session *s);

/* --- tracks ----------------------------------------------------------------- */

/* Returns the id (>= 1) of the track with this identity, creating it if
 * needed. A non-zero `name` replaces the track's name. Returns 0 when the
 * info's kind is not a valid enum trace_track_kind. */
uint32_t trace_session_add_track(struct trace_session *s, const struct trace_track_info *info);

/* The identity of track `id`, or NULL when unknown. */
const struct trace_track_info *trace_session_track_info(const struct trace_session *s, uint32_t id);

/* Number of tracks + 1: valid track ids are 1 .. this - 1. */
uint32_t trace_session_track_count(const struct trace_session *s);

/* --- processes, devices, metadata, losses ----------------------------------- */

/* Adds the process, or replaces the one with the same pid. */
void trace_session_set_process(struct trace_session *s, const struct trace_process *p);
size_t trace_session_process_count(const struct trace_session *s);
/* The i-th process (0 <= i < count), in the order first added. */
const struct trace_process *trace_session_process(const struct trace_session *s, size_t i);
/* The process with this pid, or NULL. */
const struct trace_process *trace_session_find_process(const struct trace_session *s, uint32_t pid);

/* Adds the device, or replaces the one with the same id. */
void trace_session_set_device(struct trace_session *s, const struct trace_device *d);
size_t trace_session_device_count(const struct trace_session *s);
const struct trace_device *trace_session_device(const struct trace_session *s, size_t i);
/* The device with this id, or NULL. */
const struct trace_device *trace_session_find_device(const struct trace_session *s, uint32_t id);

/* Sets metadata `key` to `value` (both copied), replacing an earlier value. */
void trace_session_set_meta(struct trace_session *s, const char *key, const char *value);
/* The value of `key`, or NULL. */
const char *trace_session_meta(const struct trace_session *s, const char *key);
size_t trace_session_meta_count(const struct trace_session *s);
/* The i-th metadata pair, in the order keys were first set. */
void trace_session_meta_at(const struct trace_session *s, size_t i, const char **key, const char **value);

/* Sets the lost-event total of (pid, source), replacing an earlier total. */
void trace_session_set_loss(struct trace_session *s, uint32_t pid, uint32_t source, uint64_t count);
size_t trace_session_loss_count(const struct trace_session *s);
const struct trace_loss *trace_session_loss(const struct trace_session *s, size_t i);
/* Sum of all lost-event totals, saturating at UINT64_MAX (totals come from
 * files and may be anything). */
uint64_t trace_session_lost_total(const struct trace_session *s);

/* --- events ----------------------------------------------------------------- */

/* Appends a copy of `ev` to its track. Returns 0, or -1 (nothing stored) when
 * ev->track is unknown, ev->kind is not a valid kind, ev->end < ev->start, or
 * the duration ev->end - ev->start does not fit in int64 (invariant 4).
 * Amortized O(1). */
int trace_session_append(struct trace_session *s, const struct trace_event *ev);

/* Sorts the tracks appended to since the last call (invariant 2). O(n log n)
 * in the events of those tracks. */
void trace_session_finish(struct trace_session *s);

/* The events of track `id` and their number in *n (NULL, *n = 0 when the
 * track is unknown or empty). Valid until the next append to the track. */
const struct trace_event *trace_session_track_events(const struct trace_session *s, uint32_t id, size_t *n);

/* Index of the first event of track `id` whose start is >= t (n when none).
 * Requires the track sorted (invariant 2). O(log n). */
size_t trace_session_track_lower_bound(const struct trace_session *s, uint32_t id, int64_t t);

/* Total number of events, and of events of one kind. */
uint64_t trace_session_event_count(const struct trace_session *s);
uint64_t trace_session_kind_count(const struct trace_session *s, unsigned kind);

/* Smallest start and largest end over all events; returns false (and leaves
 * the outputs alone) when the session has no events. */
bool trace_session_time_range(const struct trace_session *s, int64_t *start, int64_t *end);

/* A short lower-case name of an event kind ("kernel", "memcpy", ...), or
 * "unknown". */
const char *trace_kind_name(unsigned kind);

/* Names of enum values as nsys and people write them: "HtoD", "Pageable",
 * "stream_sync"... "unknown" for values out of range. */
const char *trace_copy_kind_name(unsigned copy_kind);
const char *trace_mem_kind_name(unsigned mem_kind);
const char *trace_sync_kind_name(unsigned sync_kind);
const char *trace_api_domain_name(unsigned domain);
const char *trace_track_kind_name(unsigned kind);

#endif
