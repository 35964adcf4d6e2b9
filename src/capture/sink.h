/*
 * sink.h - where a live capture goes: the sink interface of the drain.
 *
 * The drain (capture/drain.h) turns ring records into session ids and hands
 * every new definition, every process, device, metadata and loss update, and
 * every event to each of its sinks, in the order it learns them. A sink
 * persists or shows them: the SBT file (capture_sbt_sink_open, below), later
 * the session database and the live TUI, each one implementation of struct
 * capture_sink_ops.
 *
 * What a sink may rely on:
 *   1. Ids are session ids. Each table's ids (strings, frames, stacks,
 *      tracks, launch configurations, NVTX attributes, memory operations)
 *      arrive in increasing order, each once, without gaps, starting at 1,
 *      and before any record that refers to them.
 *   2. Process, device, metadata and loss calls may repeat the same key
 *      (pid, device id, meta key, (pid, source)); the latest call wins.
 *   3. Events satisfy the session's invariant 4 (start <= end, duration
 *      fits in int64) and refer only to ids already defined.
 * Every op returns 0, or -1 with `e` filled; the drain stops feeding a sink
 * after its first failure and reports it (capture_drain_error).
 */
#ifndef TSTOP_CAPTURE_SINK_H
#define TSTOP_CAPTURE_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "store/sbt.h"
#include "trace/event.h"
#include "trace/session.h"
#include "util/err.h"

struct capture_sink;

struct capture_sink_ops {
	const char *name; /* for messages: "SBT file" */
	int (*string)(struct capture_sink *k, uint32_t id, const char *bytes, size_t len, struct err *e);
	int (*frame)(struct capture_sink *k, uint32_t id, const struct trace_frame *f, struct err *e);
	int (*stack)(struct capture_sink *k, uint32_t id, const uint32_t *frames, uint32_t n, struct err *e);
	int (*track)(struct capture_sink *k, uint32_t id, const struct trace_track_info *t, struct err *e);
	int (*launch)(struct capture_sink *k, uint32_t id, const struct trace_launch *l, struct err *e);
	int (*nvtx_attr)(struct capture_sink *k, uint32_t id, const struct trace_nvtx_attr *a, struct err *e);
	int (*memop)(struct capture_sink *k, uint32_t id, const struct trace_memop *m, struct err *e);
	int (*process)(struct capture_sink *k, const struct trace_process *p, struct err *e);
	int (*device)(struct capture_sink *k, const struct trace_device *d, struct err *e);
	int (*meta)(struct capture_sink *k, const char *key, const char *value, struct err *e);
	int (*loss)(struct capture_sink *k, const struct trace_loss *l, struct err *e);
	int (*event)(struct capture_sink *k, const struct trace_event *ev, struct err *e);
	/* Makes everything received so far durable (a crash after it loses
	 * nothing before it). */
	int (*flush)(struct capture_sink *k, struct err *e);
	/* Finalizes the output and frees the sink, in every case. */
	int (*close)(struct capture_sink *k, struct err *e);
};

/* A sink: implementations embed this as their first member. */
struct capture_sink {
	const struct capture_sink_ops *ops;
};

/* Opens an SBT sink writing `path` (created or truncated) with `opts` (may
 * be NULL). Returns NULL with `e` filled when the file cannot be created.
 * Close it with capture_sink_close, which writes the footer index. */
struct capture_sink *capture_sbt_sink_open(const char *path, const struct sbt_writer_options *opts,
                                           struct err *e);

/* Bytes the SBT sink `k` (from capture_sbt_sink_open) has written so far. */
uint64_t capture_sbt_sink_bytes(const struct capture_sink *k);

/* Feeds sink `k` every definition of session `s` in id order (strings,
 * frames, stacks, tracks, launch configurations, NVTX attributes, memory
 * operations), then its processes, devices, metadata and losses: all but
 * the events, as a drain would deliver them. O(session tables). 0, or -1
 * with `e` at the sink's first failure. */
int capture_sink_feed_definitions(struct capture_sink *k, const struct trace_session *s, struct err *e);

/* Finalizes and frees any sink; NULL is a no-op returning 0. */
int capture_sink_close(struct capture_sink *k, struct err *e);

#endif
