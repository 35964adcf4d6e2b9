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
 * Either way the interval always lies within the latest observation, so a
 * command converted right after its own observation starts no earlier
 * than the enqueue call that issued it. The offset used is the interval's
 * middle, so the error is at most half its width (for QUEUED times: half
 * the shortest enqueue call seen, a few microseconds) plus the drift since
 * it was narrowed.
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
 * (offset 0 when nothing is known), clamped to [0, INT64_MAX]. */
int64_t ocl_offset_apply(const struct ocl_offset *o, uint64_t dev);

/* Half the interval's width in ns: the error bound of ocl_offset_apply
 * while the clocks do not drift; INT64_MAX when nothing is known. */
int64_t ocl_offset_error(const struct ocl_offset *o);

#endif
