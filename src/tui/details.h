/*
 * details.h - the text of the details pane: every field of a selected event
 * or summary row, the linked API call or GPU work (by correlation id) and
 * the symbolized call stack.
 *
 * The pane's text is built as lines of (label, text) when the selection
 * changes, never per frame. Text holds names from the session raw; the
 * drawing code escapes it (report/format.h). Pure code, no curses.
 */
#ifndef TSTOP_TUI_DETAILS_H
#define TSTOP_TUI_DETAILS_H

#include <stddef.h>
#include <stdint.h>

#include "trace/session.h"
#include "tui/table.h"

struct tui_detail_line {
	const char *label; /* static; "" for a continuation */
	char *text;        /* owned, raw bytes */
	size_t len;
};

struct tui_details {
	struct tui_detail_line *lines;
	size_t n, cap;
};

/* Correlation index of a session: its API events and its GPU work (kernels,
 * copies, sets, syncs) sorted by (correlation, pid). */
struct tui_corr;

/* Builds the index of the finished session `s` (which must outlive it).
 * Never NULL. O(n log n) in the events that carry a correlation id. */
struct tui_corr *tui_corr_build(const struct trace_session *s);
void tui_corr_free(struct tui_corr *c);

/* The API event with correlation id `id` in process `pid`, or NULL. */
const struct trace_event *tui_corr_api(const struct tui_corr *c, uint32_t pid, uint32_t id);

/* The GPU events of correlation id `id` in process `pid`: their number, and
 * the first in *first (consecutive in the index). */
size_t tui_corr_gpu(const struct tui_corr *c, uint32_t pid, uint32_t id,
                    const struct trace_event *const **first);

/* The process of an event's track (0 when unknown). */
uint32_t tui_event_pid(const struct trace_session *s, const struct trace_event *ev);

/* Empties d (keeping its capacity). */
void tui_details_clear(struct tui_details *d);
/* Frees d's lines. */
void tui_details_free(struct tui_details *d);

/* Appends a line; `text` is copied. */
void tui_details_add(struct tui_details *d, const char *label, const char *text, size_t len);

/* Replaces d's lines with the details of event `ev` of session `s` (times
 * relative to t0). `corr` may be NULL (no links shown). */
void tui_details_event(struct tui_details *d, struct trace_session *s, const struct tui_corr *corr,
                       const struct trace_event *ev, int64_t t0);

/* Replaces d's lines with the details of row `row` of table `t`: the
 * event's for an instance list, every column for a summary row. */
void tui_details_row(struct tui_details *d, const struct tui_table *t, size_t row,
                     const struct tui_corr *corr);

#endif
