/*
 * layout.h - where things go on the screen, as pure functions of its size.
 *
 * The TUI draws four regions: the status line (row 0), the bar (row 1: the
 * views, the sort, the filter and messages), the current view, the details
 * pane (a rule, then its text) and the footer (the last row: the main keys,
 * or the filter prompt while it is edited). Below TUI_MIN_COLS x
 * TUI_MIN_ROWS nothing but a short notice is drawn. Table columns are fitted
 * to the width by dropping the least useful ones first; the name column
 * takes what is left.
 *
 * Everything here is arithmetic on ints, tested over many sizes
 * (tests/unit/test_tui_layout.c): regions never overlap, never leave the
 * screen and never have a negative size, from 1x1 to 500x200 and beyond.
 */
#ifndef TSTOP_TUI_LAYOUT_H
#define TSTOP_TUI_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "tui/table.h"

#define TUI_MIN_COLS 40
#define TUI_MIN_ROWS 10

/* A region of the screen; h == 0 or w == 0 means it is not shown. */
struct tui_rect {
	int y, x, h, w;
};

struct tui_layout {
	bool too_small; /* only the notice is drawn */
	struct tui_rect status, bar, view, details, footer;
};

/* Lays out a screen of `rows` x `cols` (any ints; negative counts as 0),
 * with the details pane when `details` and there is room for it. */
void tui_layout_compute(int rows, int cols, bool details, struct tui_layout *out);

/* Where each column of a table goes in a region `width` columns wide: for
 * each of the n columns, x[i] and w[i] (w[i] == 0: not shown). Columns are
 * separated by one blank; the last shown column ends at most at `width`.
 * Returns the number of columns shown. */
size_t tui_layout_columns(const struct tui_column *cols, size_t n, size_t name_col, int width, int *x,
                          int *w);

#endif
