/*
 * report.h - the `tstop stats` reports: rows computed from a session.
 *
 * Each report has the name, the columns and the meaning `nsys stats` gives
 * it, so that people and scripts that know nsys read it without a manual:
 *
 *   cuda_gpu_kern_sum      per-kernel duration statistics
 *   cuda_api_sum           per-function duration statistics of host API calls
 *   cuda_gpu_mem_time_sum  per-operation (copy kind, memset) duration statistics
 *   cuda_gpu_mem_size_sum  per-operation size statistics, in MB (1e6 bytes)
 *   nvtx_sum               per-range duration statistics, one row per range
 *                          name and style (PushPop, StartEnd)
 *   cuda_gpu_trace         every kernel, copy and memset in start order
 *
 * Statistics come from trace/summary.h (median, sample standard deviation,
 * rows by total descending). Names are shown demangled. A report is built
 * once and then read row by row; rows are produced on demand, so even the
 * trace listing of a 10-million-event session costs 8 bytes per row.
 *
 * Rendering (table, CSV, JSON) is format.h's job; nothing here does I/O.
 */
#ifndef TSTOP_REPORT_REPORT_H
#define TSTOP_REPORT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "trace/session.h"

enum report_id {
	REPORT_GPU_KERN_SUM,
	REPORT_API_SUM,
	REPORT_GPU_MEM_TIME_SUM,
	REPORT_GPU_MEM_SIZE_SUM,
	REPORT_NVTX_SUM,
	REPORT_GPU_TRACE,
	REPORT_COUNT,
};

/* The type of a column, and of a value (REPORT_NULL: an empty cell). */
enum report_type {
	REPORT_NULL = 0,
	REPORT_INT = 1,   /* int64 */
	REPORT_FLOAT = 2, /* double, shown with `decimals` digits in table form */
	REPORT_TEXT = 3,  /* bytes: any bytes, not NUL-terminated */
};

struct report_column {
	const char *title;
	uint8_t type;     /* enum report_type */
	uint8_t decimals; /* REPORT_FLOAT: digits after the point in table form */
};

struct report_def {
	const char *name;    /* "cuda_gpu_kern_sum" */
	const char *title;   /* "CUDA GPU Kernel Summary" */
	const char *subject; /* what an empty report lacks: "CUDA kernel data" */
	const struct report_column *cols;
	size_t ncols;
};

/* One cell. For REPORT_TEXT, `s` points at `len` bytes that stay valid until
 * the next report_row call on the same report or the report is freed. */
struct report_value {
	uint8_t type; /* enum report_type */
	int64_t i;
	double f;
	const char *s;
	size_t len;
};

struct report;

/* The definition of report `id` (0 <= id < REPORT_COUNT). */
const struct report_def *report_def(enum report_id id);

/* The id of the report named `name`, full ("cuda_gpu_kern_sum") or without
 * its "cuda_" prefix ("gpu_kern_sum"); -1 when there is none. */
int report_find(const char *name);

/* Computes report `id` over the finished session `s`. The report refers to
 * the session (and caches display names in it), which must outlive it and
 * must not be appended to while it lives. The caller frees it with
 * report_free(). O(n log n) in the events concerned. */
struct report *report_build(struct trace_session *s, enum report_id id);

/* Frees a report. NULL is ignored. */
void report_free(struct report *r);

/* The report's definition, and its number of rows. */
const struct report_def *report_get_def(const struct report *r);
size_t report_row_count(const struct report *r);

/* Fills vals[0 .. ncols - 1] with row `row` (< report_row_count). O(1). */
void report_row(struct report *r, size_t row, struct report_value *vals);

/* end - start of two session times in nanoseconds, computed without
 * overflow: the exact difference when end >= start (any two int64 times,
 * up to 2^64 - 1 apart), 0 when end < start. Integer cells hold int64:
 * a duration or count beyond INT64_MAX shows as INT64_MAX, and a summary's
 * total, min or max beyond the int64 range is clamped to it, never
 * wrapped. */
uint64_t report_span_ns(int64_t start, int64_t end);

#endif
