/*
 * test_tui_layout.c - screen layout (tui/layout.h) over every terminal
 * size from 1x1 to 220x120 and a few huge ones (500x200, 1000x1000):
 * regions stay on screen, never overlap, never have a negative size, cover
 * the rows they should, and the details pane comes and goes as specified;
 * table columns fit any width, from 0 to 500.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "trace/summary.h"
#include "tui/layout.h"
#include "tui/table.h"

/* Asserts that r lies on a rows x cols screen. */
static void check_rect(const struct tui_rect *r, int rows, int cols)
{
	assert_true(r->h >= 0 && r->w >= 0);
	if (!r->h)
		return;
	assert_true(r->y >= 0 && r->x >= 0);
	assert_true(r->y + r->h <= rows);
	assert_true(r->x + r->w <= cols);
}

/* Checks one screen size both with and without the details pane. */
static void check_size(int rows, int cols)
{
	for (int det = 0; det < 2; det++) {
		struct tui_layout l;
		tui_layout_compute(rows, cols, det, &l);
		if (rows < TUI_MIN_ROWS || cols < TUI_MIN_COLS) {
			assert_true(l.too_small);
			continue;
		}
		assert_false(l.too_small);
		const struct tui_rect *r[] = {&l.status, &l.bar, &l.view, &l.details, &l.footer};
		int covered = 0;
		for (size_t i = 0; i < 5; i++) {
			check_rect(r[i], rows, cols);
			covered += r[i]->h;
			for (size_t j = i + 1; j < 5; j++) /* full-width bands: rows must not overlap */
				if (r[i]->h && r[j]->h)
					assert_true(r[i]->y + r[i]->h <= r[j]->y ||
					            r[j]->y + r[j]->h <= r[i]->y);
		}
		assert_int_equal(covered, rows); /* every row is some region's */
		assert_int_equal(l.status.y, 0);
		assert_int_equal(l.footer.y, rows - 1);
		assert_true(l.view.h >= 7);
		if (!det)
			assert_int_equal(l.details.h, 0);
		else if (rows >= 20)
			assert_true(l.details.h >= 5 && l.details.h <= 14 && l.view.h >= 8);
	}
}

static void test_all_sizes(void **state)
{
	(void)state;
	for (int rows = 0; rows <= 120; rows++)
		for (int cols = 0; cols <= 220; cols++)
			check_size(rows, cols);
	check_size(1, 1);
	check_size(200, 500);
	check_size(1000, 1000);
	check_size(-5, -5);
	check_size(TUI_MIN_ROWS, TUI_MIN_COLS);
	check_size(TUI_MIN_ROWS - 1, TUI_MIN_COLS);
	check_size(TUI_MIN_ROWS, TUI_MIN_COLS - 1);
}

static const struct tui_column cols[] = {
    {"Time %", TUI_COL_PERCENT, 6, 0}, {"Total", TUI_COL_TIME, 11, 2}, {"Count", TUI_COL_COUNT, 9, 0},
    {"Avg", TUI_COL_TIME, 11, 1},      {"Med", TUI_COL_TIME, 11, 3},   {"Name", TUI_COL_TEXT, 12, 0},
};

/* Columns never overlap, stay within the width, and the widest screen shows
 * them all with the name taking the rest; priority decides what goes. */
static void test_columns(void **state)
{
	(void)state;
	for (int width = -1; width <= 500; width++) {
		for (size_t stretch = 5; stretch <= 6; stretch++) {
			int x[TUI_TABLE_MAX_COLS], w[TUI_TABLE_MAX_COLS];
			size_t n = tui_layout_columns(cols, 6, stretch, width, x, w);
			int end = 0;
			size_t shown = 0;
			for (size_t i = 0; i < 6; i++) {
				if (!w[i])
					continue;
				shown++;
				assert_true(w[i] > 0);
				assert_true(x[i] >= end);
				end = x[i] + w[i];
				assert_true(end <= width);
			}
			assert_int_equal(n, shown);
			int all = 6 + 11 + 9 + 11 + 11 + 12 + 5;
			if (width >= all) {
				assert_int_equal(n, 6);
				if (stretch == 5)
					assert_int_equal(x[5] + w[5], width); /* the name takes the rest */
			}
			if (width >= 6 + 9 + 12 + 2) { /* priority 0 columns are always shown */
				assert_true(w[0] && w[2] && w[5] >= 12);
			}
			if (w[4]) /* Med (3) goes before Total (2) and Avg (1) */
				assert_true(w[1] && w[3]);
			if (w[1])
				assert_true(w[3]);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_sizes),
	    cmocka_unit_test(test_columns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
