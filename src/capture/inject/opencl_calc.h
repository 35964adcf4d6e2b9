/*
 * opencl_calc.h - the pure arithmetic of the collector's OpenCL backend:
 * launch configurations from NDRange sizes, byte counts of rectangular
 * copies, and the device-to-session clock offset. No OpenCL types and no
 * I/O, so that unit tests compile it without OpenCL headers
 * (tests/unit/test_opencl_calc.c).
 *
 * Launch configuration (what a kernel event's trace_launch holds):
 *   - clEnqueueNDRangeKernel with a local size: block = local size, grid =
 *     global size / local size rounded up (OpenCL 2.0 allows a last,
 *     smaller work-group), i.e. the grid counts work-groups as CUDA's does;
 *   - without a local size (the implementation chooses it): grid = global
 *     size in work-items, block = 0 0 0, meaning "not known";
 *   - dimensions past work_dim are 1 (grid and a known block);
 *   - clEnqueueTask: one work-group of one work-item, grid = block = 1 1 1.
 * Registers and shared memory stay 0: OpenCL has no portable per-launch
 * query for them. Values above UINT32_MAX are cut to UINT32_MAX.
 *
 * Clock offset. A device timestamp d maps to the session clock as
 * d + offset; what is known about the offset is an interval [lo, hi]:
 *   - from clGetDeviceAndHostTimer (OpenCL 2.1) bracketed by two session
 *     clock reads t0 <= t1: the device time was read between them, so
 *     offset is in [t0 - d, t1 - d];
 *   - from a command's CL_PROFILING_COMMAND_QUEUED time q, taken by the
 *     implementation inside the enqueue call that the collector bracketed
 *     with t0 <= t1: offset is in [t0 - q, t1 - q]. Each command narrows
 *     the interval (intersection). An observation that does not meet it
 *     means the clocks drifted apart (PoCL's device clock is
 *     CLOCK_MONOTONIC_RAW, which NTP does not slew) or the implementation
 *     took q outside the call: the interval then becomes the part of the
 *     observation nearest the old interval, no wider than the old one.
 * Either way the interval always lies within the latest observation and
 * never grows (until a timer reading replaces it), so a command converted
 * right after its own observation starts no earlier than the enqueue call
 * that issued it.
 *
 * Placing a command. Commands are converted one at a time while the
 * interval narrows or follows a drift, so its middle can move backwards
 * between two commands of a queue: a first command converted while the
 * interval was still as wide as its (slow) enqueue call, the next one
 * after a quick call narrowed it. With the middle alone, a later command
 * of an in-order queue could then start before an earlier one ended,
 * which the device cannot do. So:
 *   - out-of-order queues (CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE): the
 *     middle (ocl_offset_apply); error at most half the interval's width
 *     plus the drift since it was narrowed;
 *   - in-order queues (ocl_offset_place, with the queue's struct
 *     ocl_order): the offset used never goes down along the queue:
 *     offset = clamp(max(middle, last offset used on the queue), lo, hi);
 *     and when even that would start the command before the previous one
 *     ended (the interval moved below the last offset by more than the
 *     device's gap between the two), the command is moved to start exactly
 *     when the previous one ended, keeping its duration, and counted in
 *     shifts. The queue's commands are placed in the order they were
 *     enqueued (struct ocl_chain), so the queue's placed times are always
 *     in order and never overlap; durations are kept exactly.
 *   Bounds on an in-order queue: a command starts no earlier than
 *   start + lo (the interval at its placement), so still never before its
 *   enqueue call; unshifted it lies within the interval, so its error is
 *   at most the interval's width (not half of it) plus drift; shifted, it
 *   starts (previous command's effective offset - hi - device gap) later
 *   than the interval allows, which, while the clocks do not drift, is at
 *   most the width of the widest interval an earlier command of the queue
 *   was placed with: on the QUEUED path, the first enqueue call converted
 *   on its device. So no command is placed later than its true time plus
 *   that width, and an excess is absorbed by the next device gap at least
 *   as long.
 *
 * Conversion order. An in-order queue's commands enter its chain when
 * their enqueue returns (ocl_chain_enter); once a command's device times
 * are read (or it is dropped), ocl_chain_ready places every command at the
 * head of the chain whose times are known, in order, and hands them back
 * to be sent. A command completed early (a callback racing another, a
 * flush) thus waits for the ones enqueued before it, and observations are
 * made in the same order. Commands that several threads enqueue on one
 * queue at the same moment are ordered by when their enqueue calls
 * returned; where the device ran them the other way round the rule above
 * still keeps them ordered and apart (a shift).
 */
#ifndef TSTOP_CAPTURE_INJECT_OPENCL_CALC_H
#define TSTOP_CAPTURE_INJECT_OPENCL_CALC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/event.h"

/* Fills *l for an NDRange launch of `dim` dimensions (1..3; others give an
 * all-zero grid and block). `global` may be NULL (an invalid launch: grid
 * 0 0 0), `local` NULL when the implementation chooses the work-group
 * size; a zero local size counts as unknown. */
void ocl_calc_ndrange(unsigned dim, const size_t *global, const size_t *local, struct trace_launch *l);

/* Fills *l for clEnqueueTask: grid and block 1 1 1. */
void ocl_calc_task(struct trace_launch *l);

/* The bytes of a rectangular region (region[0] bytes wide, region[1] rows,
 * region[2] slices), saturating at UINT64_MAX; 0 when region is NULL. */
uint64_t ocl_calc_rect_bytes(const size_t *region);

/* What is known of one device's clock offset (session = device + offset). */
struct ocl_offset {
	bool valid;
	int64_t lo, hi;  /* lo <= hi when valid */
	uint32_t shifts; /* observations that did not meet the interval */
};

/* Sets the offset from one bracketed reading: device time `dev` read
 * between session times t0 <= t1 (a clGetDeviceAndHostTimer sample).
 * Replaces what was known. A reading that cannot be represented (device
 * time above INT64_MAX, t1 < t0) leaves *o unchanged and returns false. */
bool ocl_offset_set(struct ocl_offset *o, int64_t t0, int64_t t1, uint64_t dev);

/* Narrows the offset with a device time `dev` known to lie between session
 * times t0 <= t1 (a QUEUED timestamp inside a bracketed enqueue call); see
 * the file comment. Returns false (nothing changed) for a reading that
 * cannot be represented. */
bool ocl_offset_observe(struct ocl_offset *o, int64_t t0, int64_t t1, uint64_t dev);

/* The session time of device time `dev` with the middle of the interval
 * (offset 0 when nothing is known), clamped to [0, INT64_MAX]: for commands
 * of out-of-order queues. */
int64_t ocl_offset_apply(const struct ocl_offset *o, uint64_t dev);

/* Half the interval's width in ns: the error bound of ocl_offset_apply
 * while the clocks do not drift; INT64_MAX when nothing is known. */
int64_t ocl_offset_error(const struct ocl_offset *o);

/* Where an in-order queue's last command was placed. All zero: none yet. */
struct ocl_order {
	bool valid;      /* a command was placed */
	int64_t off;     /* the offset it was placed with (within the interval then) */
	int64_t end;     /* its session end */
	uint32_t shifts; /* commands moved to start at the previous one's end */
};

/* Places a command of an in-order queue, device times start..end (an end
 * before start counts as start), after the queue's previous command q (see
 * the file comment), setting *out_start <= *out_end within [0, INT64_MAX],
 * and records it in *q. Returns whether the command was shifted. */
bool ocl_offset_place(const struct ocl_offset *o, struct ocl_order *q, uint64_t start, uint64_t end,
                      int64_t *out_start, int64_t *out_end);

/* Where a command is on its way to the session clock. */
enum ocl_cmd_state {
	OCL_CMD_WAIT = 0, /* enqueued; device times not read yet */
	OCL_CMD_TIMED,    /* times read, waiting for the commands before it */
	OCL_CMD_PLACED,   /* out_start, out_end set: to be sent */
	OCL_CMD_DROPPED,  /* no times (failed, not completed at exit): to count as lost */
};

/* One command on its way to the session clock; embedded in the record of
 * its work (opencl_work.c), which owns it. */
struct ocl_cmd {
	struct ocl_cmd *next; /* in its queue's chain, then in a ready list */
	uint8_t state;        /* enum ocl_cmd_state */
	bool linked;          /* in a chain */
	int64_t host_start;   /* session times bracketing the enqueue call */
	int64_t host_end;
	uint64_t queued, start, end; /* device times (queued 0: unknown) */
	int64_t out_start, out_end;  /* session times, once placed */
};

/* An in-order queue's commands not placed yet, in enqueue order, and where
 * the last placed one went. All zero: empty. */
struct ocl_chain {
	struct ocl_cmd *head, *tail;
	struct ocl_order order;
};

/* Appends command c (state WAIT) to chain ch. The command stays linked
 * until ocl_chain_ready hands it back. O(1). */
void ocl_chain_enter(struct ocl_chain *ch, struct ocl_cmd *c);

/* Command c's device times are set (`timed`) or it has none (dropped).
 * Places, in enqueue order, every command at the head of ch that is no
 * longer waiting, first narrowing the offset with its QUEUED time when
 * `observe` (a device without a host timer), and returns them linked
 * through next (NULL when c still waits for an earlier command). With ch
 * NULL (an out-of-order queue) or c not linked, c alone is placed (with
 * the middle for ch NULL) and returned. The returned commands are the
 * caller's to send (PLACED) or count as lost (DROPPED). O(commands
 * returned). */
struct ocl_cmd *ocl_chain_ready(struct ocl_chain *ch, struct ocl_offset *o, bool observe, struct ocl_cmd *c,
                                bool timed);

#endif
