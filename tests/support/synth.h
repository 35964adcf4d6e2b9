/*
 * synth.h - deterministic synthetic sessions, for tests and benchmarks only.
 *
 * The generator simulates a small PyTorch-like training job: processes with
 * host threads that run training steps (nested NVTX ranges, CUDA runtime and
 * driver API calls with call stacks) launching realistic templated kernels,
 * copies and memsets onto GPU streams, synchronizations, allocations with a
 * memory counter, marks, one lost-events marker, and H100 device properties.
 * The same options and seed always give the same session, byte for byte.
 *
 * Generated data is never captured data: every session carries metadata
 * "synthetic" = "1" and "command" = "tstop-synth ...", and readers say so.
 *
 * Guarantees tests may rely on:
 *   1. GPU work (kernels, copies, memsets) and synchronizations on one stream
 *      never overlap, and each starts after the API call that launched it
 *      began (the call carries the same correlation id).
 *   2. Every correlation id of GPU work or a synchronization belongs to
 *      exactly one API event, of the same process.
 *   3. Push/pop NVTX ranges of one thread nest properly.
 *   4. Exactly one TRACE_LOST event exists; its count equals the session's
 *      lost-event total.
 *   5. The event count is at least `events` (setup and shutdown events come
 *      on top of tiny targets); the count reported is exact.
 */
#ifndef TSTOP_SYNTH_H
#define TSTOP_SYNTH_H

#include <stdint.h>

#include "store/sbt.h"
#include "trace/session.h"
#include "util/err.h"

/* Limits that keep a generated session sensible. */
#define SYNTH_MAX_PROCESSES 64
#define SYNTH_MAX_THREADS   64
#define SYNTH_MAX_DEVICES   16
#define SYNTH_MAX_STREAMS   32

struct synth_options {
	uint64_t events;    /* target event count */
	uint32_t processes; /* 1 .. SYNTH_MAX_PROCESSES */
	uint32_t threads;   /* host threads per process, 1 .. SYNTH_MAX_THREADS */
	uint32_t devices;   /* GPUs, 1 .. SYNTH_MAX_DEVICES; process p uses device p % devices */
	uint32_t streams;   /* streams per process and device, 1 .. SYNTH_MAX_STREAMS */
	uint64_t seed;
};

/* What was generated. */
struct synth_counts {
	uint64_t events;
	uint64_t kinds[TRACE_KIND_MAX + 1]; /* events per enum trace_kind */
	uint64_t lost;                      /* the lost-event total */
	uint64_t tracks;                    /* tracks defined */
};

/* Fills `o` with the defaults: 10000 events, 1 process, 2 threads, 1 device,
 * 3 streams, seed 1. */
void synth_options_init(struct synth_options *o);

/* Checks `o` against the limits above; returns 0, or -1 with `e` filled. */
int synth_options_check(const struct synth_options *o, struct err *e);

/* Generates a finished session (trace_session_finish has run). Returns NULL
 * with `e` filled when the options are invalid. The caller owns the session;
 * `counts` may be NULL. */
struct trace_session *synth_session(const struct synth_options *o, struct synth_counts *counts,
                                    struct err *e);

/* Generates the same session straight into an open writer, without building
 * it in memory (constant memory whatever the event count): definitions,
 * processes, devices, metadata, losses and events, in roughly time order.
 * Does not close the writer. Returns 0, or -1 with `e` filled on invalid
 * options or a write error. `counts` may be NULL. */
int synth_stream(struct sbt_writer *w, const struct synth_options *o, struct synth_counts *counts,
                 struct err *e);

#endif
