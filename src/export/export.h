/*
 * export.h - writing a session in other tools' formats (`tstop export`).
 *
 * Two exporters read the model (trace/session.h), so they work on any
 * session source (an SBT file, a session database, later an import):
 *   - kineto.c: the Chrome-trace JSON that PyTorch's profiler (Kineto)
 *     writes, for Perfetto UI, chrome://tracing, Holistic Trace Analysis
 *     and TensorBoard; optionally gzip-compressed (zlib);
 *   - perfetto.c: a native Perfetto protobuf trace (TracePacket stream),
 *     for sessions too big for JSON viewers.
 * Both stream their output with memory bounded by the session's tables,
 * never by its events, and report progress through a callback. docs/export.md
 * says what maps to what. Nothing here prints or exits.
 */
#ifndef TSTOP_EXPORT_EXPORT_H
#define TSTOP_EXPORT_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "trace/session.h"
#include "util/err.h"

/* Called now and then with the events written so far and the total. */
typedef void (*export_progress_fn)(void *arg, uint64_t done, uint64_t total);

struct export_options {
	export_progress_fn progress; /* may be NULL */
	void *progress_arg;
	bool gzip;        /* kineto: gzip the JSON (the output name ends in .gz) */
	const char *name; /* kineto: traceName (PyTorch writes the file's path); NULL: "tstop" */
};

/* Writes the finished session `s` to `out` as a Kineto (PyTorch profiler)
 * JSON trace. Returns 0, or -1 with `e` filled (a write error). */
int export_kineto_write(struct trace_session *s, FILE *out, const struct export_options *opts, struct err *e);

/* Writes the finished session `s` to `out` as a Perfetto protobuf trace.
 * Returns 0, or -1 with `e` filled. */
int export_perfetto_write(struct trace_session *s, FILE *out, const struct export_options *opts,
                          struct err *e);

#endif
