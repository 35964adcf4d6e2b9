/*
 * summary.h - per-group statistics over a session's events.
 *
 * A summary groups the events of some kinds by a key (the event's name, or a
 * memory operation's type) and gives, for one measured value (duration or
 * bytes), count, total, min, max, mean, median and standard deviation, the
 * columns `nsys stats` reports. `tstop stats`, the TUI tables and the
 * database's summary views all compute these the same way:
 *   - median: the middle value, or the mean of the two middle values;
 *   - standard deviation: the sample deviation (divides by n - 1), 0 for n<2;
 *   - rows sorted by total descending, ties by key ascending.
 */
#ifndef TSTOP_TRACE_SUMMARY_H
#define TSTOP_TRACE_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "trace/session.h"

/* What events are grouped by. */
enum trace_summary_key {
	TRACE_SUMMARY_BY_NAME = 0,  /* key = event name string id */
	TRACE_SUMMARY_BY_MEMOP = 1, /* key = trace_summary_memop_key(ev): memcpy copy kind or memset */
};

/* What is measured. */
enum trace_summary_value {
	TRACE_SUMMARY_DURATION = 0, /* end - start, ns */
	TRACE_SUMMARY_BYTES = 1,    /* u.bytes (memcpy, memset) */
};

/* Which events enter a summary: those of a kind in kind_mask whose flags
 * satisfy (ev->flags & flags_mask) == flags_value (flags_mask 0 and
 * flags_value 0: no filter; e.g. TRACE_FLAG_NVTX_STARTEND in both selects
 * start/end NVTX ranges, in the mask only push/pop ones), and how they are
 * grouped and measured. */
struct trace_summary_spec {
	uint32_t kind_mask;  /* bit (1u << kind) for each enum trace_kind included */
	uint8_t key;         /* enum trace_summary_key */
	uint8_t value;       /* enum trace_summary_value */
	uint8_t flags_mask;  /* TRACE_FLAG_* bits tested */
	uint8_t flags_value; /* the value those bits must have */
};

struct trace_summary_row {
	uint32_t key; /* string id, or memop key */
	uint64_t count;
	double total; /* sums can exceed int64 for bytes over long sessions */
	double min, max, mean, median, stddev;
	double percent; /* total / grand total * 100, 0 when grand total is 0 */
};

struct trace_summary {
	struct trace_summary_row *rows; /* owned; sorted as the file comment says */
	size_t n;
	double grand_total;
};

/* The memop key of a memcpy (its copy kind, 0..TRACE_COPY_KIND_MAX) or a
 * memset (TRACE_SUMMARY_MEMSET_KEY). */
#define TRACE_SUMMARY_MEMSET_KEY 0x100u
uint32_t trace_summary_memop_key(const struct trace_event *ev);

/* nsys's operation name for a memop key: "[CUDA memcpy Host-to-Device]",
 * "[CUDA memset]", ... */
const char *trace_summary_memop_name(uint32_t key);

/* Computes the summary of `spec` over every event of `s` into *out (which
 * the caller frees with trace_summary_free). Events open at the end of the
 * capture (TRACE_FLAG_OPEN) are left out whatever the flags filter says.
 * O(n log n). Returns 0. */
int trace_summary_build(const struct trace_session *s, const struct trace_summary_spec *spec,
                        struct trace_summary *out);

/* Frees the rows of *sum and zeroes it. */
void trace_summary_free(struct trace_summary *sum);

#endif
