/*
 * drain.h - the consumer side of a live capture: rings to session to sinks.
 *
 * The drain reads the ring of every captured process (capture/ring.h),
 * decodes each proto record (capture/proto.h), checks it, and turns the
 * collector's per-process ids into session ids: it keeps, per process,
 * arrays from collector ids to session ids for strings, tracks, launch
 * configurations, NVTX attributes, memory operations, frames and stacks.
 * New session entries and every event are passed on, as they arrive, to
 * the sinks (capture/sink.h) and kept in the in-memory session.
 *
 * Trust. Every byte of a ring is the target's: each record's length is
 * checked before a struct is copied out of it (and the copy, not the shared
 * bytes, is validated and used), ids must have been defined in this
 * process, enums must be in range, and event spans must obey the session's
 * invariant 4. A record that fails is dropped and counted
 * (capture_drain_stats.dropped_records); a dropped EVENT also counts as a
 * lost event of source "invalid". Allocation driven by collector ids is
 * bounded by the records the ring actually carried.
 *
 * Losses in the session, per process: "ring" (records the ring dropped when
 * full, read from the ring header), "invalid" (events dropped here), "torn"
 * (records left half-written that were skipped, see below), and each source
 * the collector reports with LOSS records ("cupti", ...).
 *
 * Torn records. A record reserved in a ring but never committed (its
 * producer thread or process died while writing it) would hold every
 * record behind it. The drain skips it (ring_skip_torn) once committed
 * records wait behind it and either its process is gone (its socket
 * closed: capture_drain_close) or it has stayed uncommitted for
 * capture_drain_options.torn_ms of drain time while the process was not
 * stopped (a process stopped by SIGSTOP, a terminal or a debugger keeps its
 * records; drain time only counts while the drain polls, at most 100 ms per
 * poll, so a drain that was itself suspended does not see a stall it did not
 * watch). Records reserved before the wait started are skipped at once when
 * they turn out torn too. Each skip is a lost record of source "torn", and
 * the first one of a process is logged. The timing only decides when the
 * records behind it are read: the skip frees none of its bytes (ring.h),
 * so a writer that was only slow commits into its own record, which is
 * then discarded, and never over another one.
 *
 * Processes: HELLO adds the process (pid, parent, command, start); GOODBYE
 * sets its end time; capture_drain_close (its socket closed) drains what is
 * left and records how it ended; capture_drain_process_exit (waitpid of the
 * launched program) gives the exact exit status.
 *
 * Thread safety: none; one thread drives the drain and its sinks.
 */
#ifndef TSTOP_CAPTURE_DRAIN_H
#define TSTOP_CAPTURE_DRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/proto.h"
#include "capture/ring.h"
#include "capture/sink.h"
#include "trace/session.h"
#include "util/err.h"

#define CAPTURE_DRAIN_MAX_SINKS 4
#define CAPTURE_DRAIN_TORN_MS   1000u /* default capture_drain_options.torn_ms */

struct capture_drain;
/* One process's ring as the drain sees it (from capture_drain_attach). */
struct capture_proc;

struct capture_drain_options {
	/* Keep every event in the session (the live view needs them); when
	 * false the session holds definitions, processes, devices, metadata
	 * and losses, and events only reach the sinks and the counters. */
	bool keep_events;
	/* Messages for the user: LOG records of a process (pid, level, the
	 * target's bytes, unsanitized) and the drain's own notes (pid of the
	 * process concerned, PROTO_LOG_WARNING). May be NULL. */
	void (*log)(void *arg, uint32_t pid, enum proto_log_level level, const char *msg, size_t len);
	void *log_arg;
	/* Drain time a record may stay reserved but uncommitted, with committed
	 * records behind it, before it is skipped as torn (0: the default,
	 * CAPTURE_DRAIN_TORN_MS). */
	uint32_t torn_ms;
};

struct capture_drain_stats {
	uint64_t records; /* records read from all rings */
	uint64_t events;  /* events accepted */
	uint64_t events_by_kind[TRACE_KIND_MAX + 1];
	uint64_t dropped_records; /* malformed or unresolvable records of any type */
	uint64_t dropped_events;  /* of those: EVENT records (also lost events of source "invalid") */
	uint64_t ring_errors;     /* corruptions ring_read reported */
	uint64_t torn_records;    /* records left half-written and skipped ("torn" losses) */
	uint64_t stalled_rings;   /* rings closed with half-written records and nothing behind them */
	uint64_t processes;       /* processes attached so far */
};

/* Creates a drain filling session `s` (borrowed: it must outlive the
 * drain). `opts` may be NULL (keep_events false, no log). Free with
 * capture_drain_delete. */
struct capture_drain *capture_drain_new(struct trace_session *s, const struct capture_drain_options *opts);

/* Releases every ring still attached (ring_close, without detaching) and
 * the drain; sinks and the session stay the caller's. NULL is a no-op. */
void capture_drain_delete(struct capture_drain *d);

/* Adds sink `k` (borrowed; at most CAPTURE_DRAIN_MAX_SINKS). Whatever the
 * session already holds is replayed to it first, so a sink may join late.
 * Returns 0, or -1 with `e` filled when there is no room or the replay
 * failed. */
int capture_drain_add_sink(struct capture_drain *d, struct capture_sink *k, struct err *e);

/* Sets metadata in the session and every sink. */
void capture_drain_meta(struct capture_drain *d, const char *key, const char *value);

/* Adds or updates a process known without its collector (the launched
 * program, before or without HELLO): session and sinks. Its command may be
 * a string the caller interned in the session itself: strings the sinks
 * have not received yet are sent first. */
void capture_drain_set_process(struct capture_drain *d, const struct trace_process *p);

/* Starts draining `r`, the ring of process `pid` (SO_PEERCRED-checked by
 * the caller) whose claimed parent is `ppid`; the drain owns `r` from now
 * on. Returns the handle for capture_drain_close. */
struct capture_proc *capture_drain_attach(struct capture_drain *d, uint32_t pid, uint32_t ppid,
                                          struct ring *r);

/* Reads what every attached ring holds now, at most `budget` records per
 * ring (and a bounded number of ring_read calls, so a ring a target keeps
 * corrupting cannot hold the caller), skipping torn records (see the top of
 * this file); call it regularly, its calls are the drain time that bounds
 * a torn record's wait. Returns the number of records read. */
uint64_t capture_drain_poll(struct capture_drain *d, size_t budget);

/* Process `p`'s socket closed at session time `now`: reads the rest of its
 * ring (skipping torn records at once: their writers are gone), releases
 * it, and records the end. `have_status` says whether
 * `wait_status` (a waitpid-style status) is the process's real end; without
 * it the process ends as TRACE_PROC_ENDED unless capture_drain_process_exit
 * already told how. `p` is invalid afterwards. */
void capture_drain_close(struct capture_drain *d, struct capture_proc *p, int64_t now, bool have_status,
                         int wait_status);

/* The launched program `pid` ended at `end` with waitpid status
 * `wait_status`: the exact state wins over what a socket close guessed. */
void capture_drain_process_exit(struct capture_drain *d, uint32_t pid, int64_t end, int wait_status);

/* Capture stops while process `p` runs on: reads what its ring holds,
 * marks the ring's consumer detached (blocking producers stop waiting),
 * releases it, and records a still-running process as TRACE_PROC_DETACHED
 * (end 0: it had not ended). `p` is invalid afterwards. */
void capture_drain_detach(struct capture_drain *d, struct capture_proc *p);

/* Number of processes whose rings are attached, and the i-th of them
 * (0 <= i < that number; the order changes when one is released). */
size_t capture_drain_attached(const struct capture_drain *d);
struct capture_proc *capture_drain_proc(const struct capture_drain *d, size_t i);

/* Flushes every sink. Returns 0, or -1 with the first sink failure in `e`. */
int capture_drain_flush(struct capture_drain *d, struct err *e);

/* The first sink failure, or NULL while every sink works. After a failure
 * that sink receives nothing more. */
const char *capture_drain_error(const struct capture_drain *d);

/* The failure of sink `k` (one added with capture_drain_add_sink), or NULL
 * while it works: a command tells a failed session database (the capture
 * goes on) from a failed SBT file (it cannot). */
const char *capture_drain_sink_error(const struct capture_drain *d, const struct capture_sink *k);

/* The drain's counters. */
const struct capture_drain_stats *capture_drain_stats(const struct capture_drain *d);

#endif
