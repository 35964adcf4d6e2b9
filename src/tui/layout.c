/*
 * layout.c - screen regions and table columns from the terminal size
 * (layout.h). Pure arithmetic.
 */
#include "tui/layout.h"

#include <string.h>

/* The details pane takes a third of the rows, 5 to 14 of them with its
 * rule, and only when at least 8 rows are left for the view. */
void tui_layout_compute(int rows, int cols, bool details, struct tui_layout *out)
{
	memset(out, 0, sizeof(*out));
	if (rows < 0)
		rows = 0;
	if (cols < 0)
		cols = 0;
	if (rows < TUI_MIN_ROWS || cols < TUI_MIN_COLS) {
		out->too_small = true;
		return;
	}
	out->status = (struct tui_rect){0, 0, 1, cols};
	out->bar = (struct tui_rect){1, 0, 1, cols};
	out->footer = (struct tui_rect){rows - 1, 0, 1, cols};
	int body = rows - 3; /* >= 7 */
	int dh = 0;
	if (details) {
		dh = rows / 3;
		if (dh < 5)
			dh = 5;
		if (dh > 14)
			dh = 14;
		if (body - dh < 8)
			dh = 0;
	}
	out->view = (struct tui_rect){2, 0, body - dh, cols};
	if (dh)
		out->details = (struct tui_rect){2 + body - dh, 0, dh, cols};
}

/* Drops columns by priority (highest number first, 0 never) until the
 * fixed columns and the name column's least width fit; the name column then
 * gets everything left, or is cut to what remains. */
size_t tui_layout_columns(const struct tui_column *cols, size_t n, size_t name_col, int width, int *x, int *w)
{
	bool shown[TUI_TABLE_MAX_COLS];
	if (n > TUI_TABLE_MAX_COLS)
		n = TUI_TABLE_MAX_COLS;
	if (width < 0)
		width = 0;
	for (size_t i = 0; i < n; i++)
		shown[i] = true;
	for (;;) {
		int need = 0, k = 0;
		for (size_t i = 0; i < n; i++)
			if (shown[i]) {
				need += cols[i].width + (k ? 1 : 0);
				k++;
			}
		if (need <= width)
			break;
		size_t drop = n;
		for (size_t i = 0; i < n; i++)
			if (shown[i] && cols[i].priority && i != name_col &&
			    (drop == n || cols[i].priority >= cols[drop].priority))
				drop = i;
		if (drop == n)
			break; /* nothing more to drop: cut at the edge below */
		shown[drop] = false;
	}
	/* Widths: fixed columns their width; the name column the rest. */
	int fixed = 0, k = 0;
	for (size_t i = 0; i < n; i++)
		if (shown[i] && i != name_col) {
			fixed += cols[i].width + (k ? 1 : 0);
			k++;
		}
	size_t count = 0;
	int pos = 0;
	for (size_t i = 0; i < n; i++) {
		x[i] = w[i] = 0;
		if (!shown[i])
			continue;
		int cw = cols[i].width;
		if (i == name_col) {
			cw = width - fixed - (k ? 1 : 0);
			if (cw < cols[i].width && name_col + 1 < n)
				cw = cols[i].width; /* a name in the middle keeps its width */
		}
		int gap = count ? 1 : 0;
		if (pos + gap >= width)
			continue;
		if (cw > width - pos - gap)
			cw = width - pos - gap;
		if (cw <= 0)
			continue;
		x[i] = pos + gap;
		w[i] = cw;
		pos = x[i] + cw;
		count++;
	}
	return count;
}
