/*
 * table.h - the TUI's table model: summary tables (kernels, API calls,
 * memory operations, NVTX ranges) and instance lists, with the sort order,
 * filter and selection of the view that shows them.
 *
 * A `struct tui_table` is data: rows computed once from a finished session
 * (summary tables through trace/summary.h, so the numbers are those of
 * `tstop stats`; instance lists by one scan of the session's tracks). A
 * `struct tui_table_view` is the state of one view of a table: the sort
 * column and direction, the filter, the rows that pass it in sorted order,
 * the selected row and the first row shown. Sorting and filtering rebuild
 * only the view's order array; the table never changes after it is built.
 *
 * Invariants of a view (checked by tui_table_view_check in debug builds):
 *   1. order[0 .. nshown-1] are distinct row indexes of the table that pass
 *      the filter, in sort order (ties by row index, so orders are stable).
 *   2. cursor < nshown, or cursor == 0 when nshown == 0.
 *   3. top <= cursor < top + page whenever page > 0 (the selection is
 *      visible), and top + page <= nshown unless nshown < page.
 *
 * Pure code: no curses, no I/O. Cells are formatted here (time with units,
 * bytes, bandwidth) so tests see what the screen shows; names are returned
 * raw and escaped when drawn.
 */
#ifndef TSTOP_TUI_TABLE_H
#define TSTOP_TUI_TABLE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/session.h"
#include "util/err.h"

enum tui_table_kind {
	TUI_TABLE_KERNELS = 0,
	TUI_TABLE_API = 1,
	TUI_TABLE_MEMOPS = 2,
	TUI_TABLE_NVTX = 3,
	TUI_TABLE_SUMMARY_COUNT = 4,
	TUI_TABLE_INSTANCES = 4, /* the events of one row of a summary table */
};

/* How a column's numbers are shown. */
enum tui_col_type {
	TUI_COL_TEXT = 0,    /* text; sorted by bytes */
	TUI_COL_COUNT = 1,   /* integer with thousands separators */
	TUI_COL_PERCENT = 2, /* "12.3" */
	TUI_COL_TIME = 3,    /* ns, shown with a unit: "1.234 ms" */
	TUI_COL_BYTES = 4,   /* "1.50 MB" */
	TUI_COL_RATE = 5,    /* bytes/s: "12.3 GB/s" */
	TUI_COL_LABEL = 6,   /* text computed per row (stream, grid); sorted by its number */
};

#define TUI_TABLE_MAX_COLS 12

struct tui_column {
	const char *title;
	uint8_t type;     /* enum tui_col_type */
	uint8_t width;    /* columns the values need at most (text: the least useful width) */
	uint8_t priority; /* when the screen is narrow, higher numbers go first; 0 never */
};

/* A row of a summary table. */
struct tui_sum_row {
	uint32_t key;     /* string id of the name, or memop key (trace/summary.h) */
	uint8_t style;    /* NVTX: 1 StartEnd, 0 PushPop */
	const char *name; /* display name (session-owned or static) */
	size_t name_len;
	double v[TUI_TABLE_MAX_COLS]; /* numeric cells by column */
};

struct tui_table {
	enum tui_table_kind kind;
	enum tui_table_kind parent_kind; /* INSTANCES: the summary it lists a row of */
	char title[160];                 /* INSTANCES: "Instances of NAME" (raw name bytes, cut) */
	const struct tui_column *cols;
	size_t ncols;
	size_t name_col; /* the column filters match (the name, or the stream/thread label) */
	size_t nrows;
	struct tui_sum_row *sum;           /* summary tables: nrows rows */
	const struct trace_event **events; /* INSTANCES: nrows events, session-owned */
	struct trace_session *s;
	int64_t t0; /* session start, for instance start times */
};

/* One formatted cell. `text` points into `buf` or at session-owned bytes
 * (a name: raw, to be escaped when drawn). */
struct tui_cell {
	double num;
	const char *text;
	size_t len;
	bool right; /* right-aligned (numbers) */
	char buf[64];
};

/* Builds summary table `kind` over the finished session `s`, which must
 * outlive the table and not be appended to meanwhile. Never NULL; the
 * caller frees it with tui_table_free. O(n log n) in the events concerned. */
struct tui_table *tui_table_build(struct trace_session *s, enum tui_table_kind kind);

/* Builds the instance list of row `row` of summary table `t`: every event
 * the row counts, by start time. Never NULL. O(events in the session). */
struct tui_table *tui_table_instances(const struct tui_table *t, size_t row);

/* Frees a table. NULL is ignored. */
void tui_table_free(struct tui_table *t);

/* Fills *c with cell (row, col) of `t`, formatted. O(1). */
void tui_table_cell(const struct tui_table *t, size_t row, size_t col, struct tui_cell *c);

/* Formats `v` as a column of type `type` shows it, into out (cap >= 32). */
void tui_format_value(double v, enum tui_col_type type, char *out, size_t cap);

/* The view state of a table. */
struct tui_table_view {
	struct tui_table *t; /* owned */
	size_t sort_col;
	bool desc;
	char filter[128]; /* the text as typed; empty: no filter */
	bool filter_regex;
	regex_t re; /* valid when filter_regex and filter[0] */
	size_t *order;
	size_t nshown;
	size_t cursor; /* index into order */
	size_t top;    /* first shown index into order */
};

/* Starts a view of `t`, taking ownership of it, sorted by `sort_col` in
 * direction `desc`, unfiltered. */
void tui_table_view_init(struct tui_table_view *v, struct tui_table *t, size_t sort_col, bool desc);

/* Frees the view's state and its table. */
void tui_table_view_done(struct tui_table_view *v);

/* Sorts by `col` (< ncols) in direction `desc`, keeping the selected row
 * selected. O(n log n). */
void tui_table_view_sort(struct tui_table_view *v, size_t col, bool desc);

/* Sets the filter: rows whose name contains `text` (case-insensitive) or,
 * when `regex`, matches it as a case-insensitive POSIX extended regular
 * expression. An empty text clears it. Returns 0, or -1 with `e` filled
 * (regcomp's message) when the regex does not compile; the previous filter
 * then stays. The selection stays on the same row when it still passes. */
int tui_table_view_filter(struct tui_table_view *v, const char *text, bool regex, struct err *e);

/* Moves the selection by `delta` rows (clamped) and scrolls so that it
 * stays visible in a window of `page` rows. */
void tui_table_view_move(struct tui_table_view *v, long delta, size_t page);

/* Selects shown row `i` (clamped) and scrolls it into view. */
void tui_table_view_select(struct tui_table_view *v, size_t i, size_t page);

/* Scrolls the window by `delta` rows (the mouse wheel), moving the
 * selection only as much as it needs to stay visible. */
void tui_table_view_scroll(struct tui_table_view *v, long delta, size_t page);

/* Re-establishes invariant 3 for a window of `page` rows (after a resize). */
void tui_table_view_fit(struct tui_table_view *v, size_t page);

/* The table row under the selection, or (size_t)-1 when nothing is shown. */
size_t tui_table_view_row(const struct tui_table_view *v);

/* Whether the view obeys invariants 1-3 for a window of `page` rows. */
bool tui_table_view_check(const struct tui_table_view *v, size_t page);

#endif
