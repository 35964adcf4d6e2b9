/*
 * test_tui_table.c - the TUI's table model (tui/table.h) and details text
 * (tui/details.h) over a synthetic session: the summary tables agree with
 * brute-force counts, every column sorts (both ways, ties stable), the
 * selection follows its row through sorts and filters, substring and
 * regex filters keep exactly the matching rows and a bad regex is refused
 * with a message, random moves and scrolls keep the selection visible at
 * many page sizes, instance lists hold exactly a row's events by start
 * time, and the details of a kernel instance link its API call and stack.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synth.h"
#include "tui/details.h"
#include "tui/table.h"

static struct trace_session *session(void)
{
	struct synth_options o;
	synth_options_init(&o);
	o.events = 20000;
	o.seed = 3;
	struct err e;
	struct trace_session *s = synth_session(&o, NULL, &e);
	assert_non_null(s);
	return s;
}

/* Events of `kind` not open at the end, counted the plain way. */
static uint64_t closed_events(const struct trace_session *s, unsigned kind)
{
	uint64_t n = 0;
	for (uint32_t t = 1; t < trace_session_track_count(s); t++) {
		size_t ne;
		const struct trace_event *ev = trace_session_track_events(s, t, &ne);
		for (size_t i = 0; i < ne; i++)
			n += ev[i].kind == kind && !(ev[i].flags & TRACE_FLAG_OPEN);
	}
	return n;
}

/* Sum of the count column (index 2) of a summary table. */
static double count_sum(const struct tui_table *t)
{
	double n = 0;
	for (size_t i = 0; i < t->nrows; i++)
		n += t->sum[i].v[2];
	return n;
}

static void test_summaries(void **state)
{
	(void)state;
	struct trace_session *s = session();
	struct tui_table *k = tui_table_build(s, TUI_TABLE_KERNELS);
	struct tui_table *a = tui_table_build(s, TUI_TABLE_API);
	struct tui_table *m = tui_table_build(s, TUI_TABLE_MEMOPS);
	struct tui_table *nv = tui_table_build(s, TUI_TABLE_NVTX);
	assert_true(k->nrows > 1 && a->nrows > 1 && m->nrows > 0 && nv->nrows > 0);
	assert_true(count_sum(k) == (double)closed_events(s, TRACE_KERNEL));
	assert_true(count_sum(a) == (double)closed_events(s, TRACE_API));
	assert_true(count_sum(m) ==
	            (double)(closed_events(s, TRACE_MEMCPY) + closed_events(s, TRACE_MEMSET)));
	assert_true(count_sum(nv) == (double)closed_events(s, TRACE_NVTX_RANGE));
	assert_string_equal(k->cols[0].title, "Time %");
	assert_string_equal(k->cols[k->ncols - 1].title, "Name");
	assert_int_equal(k->ncols, 9);
	/* memory rows have bytes and a bandwidth consistent with them */
	for (size_t i = 0; i < m->nrows; i++) {
		struct tui_cell c;
		tui_table_cell(m, i, 9, &c);
		double expect = m->sum[i].v[1] > 0 ? m->sum[i].v[7] / (m->sum[i].v[1] * 1e-9) : 0;
		assert_true(c.num == expect);
		assert_true(strstr(c.text, "B/s") != NULL);
	}
	tui_table_free(k);
	tui_table_free(a);
	tui_table_free(m);
	tui_table_free(nv);
	trace_session_delete(s);
}

/* Checks that the view is sorted by its column in its direction. */
static void check_sorted(const struct tui_table_view *v)
{
	assert_true(tui_table_view_check(v, 0));
	for (size_t i = 1; i < v->nshown; i++) {
		struct tui_cell a, b;
		tui_table_cell(v->t, v->order[i - 1], v->sort_col, &a);
		tui_table_cell(v->t, v->order[i], v->sort_col, &b);
		int r;
		if (v->t->cols[v->sort_col].type == TUI_COL_TEXT && v->t->kind != TUI_TABLE_INSTANCES) {
			size_t n = a.len < b.len ? a.len : b.len;
			r = memcmp(a.text, b.text, n);
			if (!r)
				r = (a.len > b.len) - (a.len < b.len);
		} else {
			r = (a.num > b.num) - (a.num < b.num);
		}
		if (v->desc)
			r = -r;
		assert_true(r < 0 || (r == 0 && v->order[i - 1] < v->order[i]));
	}
}

static void test_sort(void **state)
{
	(void)state;
	struct trace_session *s = session();
	for (int kind = 0; kind < TUI_TABLE_SUMMARY_COUNT; kind++) {
		struct tui_table_view v;
		tui_table_view_init(&v, tui_table_build(s, (enum tui_table_kind)kind), 1, true);
		check_sorted(&v);
		assert_int_equal(v.nshown, v.t->nrows);
		for (size_t c = 0; c < v.t->ncols; c++) {
			for (int desc = 0; desc < 2; desc++) {
				tui_table_view_select(&v, v.nshown / 2, 5);
				size_t row = tui_table_view_row(&v);
				tui_table_view_sort(&v, c, desc);
				check_sorted(&v);
				assert_int_equal(tui_table_view_row(&v),
				                 row); /* the selection follows its row */
			}
		}
		tui_table_view_done(&v);
	}
	trace_session_delete(s);
}

/* Lower-cased copy for the brute-force substring check. */
static void lower(const char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
	out[n] = '\0';
}

static void test_filter(void **state)
{
	(void)state;
	struct trace_session *s = session();
	struct tui_table_view v;
	tui_table_view_init(&v, tui_table_build(s, TUI_TABLE_KERNELS), 1, true);
	size_t all = v.nshown;
	struct err e;
	/* a substring, case-insensitive */
	assert_int_equal(tui_table_view_filter(&v, "GEMM", false, &e), 0);
	size_t expect = 0;
	for (size_t i = 0; i < v.t->nrows; i++) {
		char buf[4096];
		lower(v.t->sum[i].name, v.t->sum[i].name_len, buf);
		expect += strstr(buf, "gemm") != NULL;
	}
	assert_true(expect > 0 && expect < all);
	assert_int_equal(v.nshown, expect);
	assert_true(tui_table_view_check(&v, 7));
	/* a bad regex is refused and the filter stays */
	assert_int_equal(tui_table_view_filter(&v, "(unbalanced", true, &e), -1);
	assert_true(strstr(e.msg, "regex") != NULL);
	assert_string_equal(v.filter, "GEMM");
	assert_int_equal(v.nshown, expect);
	/* a regex */
	assert_int_equal(tui_table_view_filter(&v, "^sm[0-9]+_.*GEMM", true, &e), 0);
	assert_true(v.nshown > 0 && v.nshown <= expect);
	assert_true(tui_table_view_check(&v, 7));
	/* nothing matches */
	assert_int_equal(tui_table_view_filter(&v, "no such kernel at all", false, &e), 0);
	assert_int_equal(v.nshown, 0);
	assert_int_equal(tui_table_view_row(&v), (size_t)-1);
	assert_true(tui_table_view_check(&v, 7));
	tui_table_view_move(&v, 3, 7);
	assert_true(tui_table_view_check(&v, 7));
	/* cleared */
	assert_int_equal(tui_table_view_filter(&v, "", false, &e), 0);
	assert_int_equal(v.nshown, all);
	check_sorted(&v);
	tui_table_view_done(&v);
	trace_session_delete(s);
}

static uint64_t rng_next(uint64_t *st)
{
	uint64_t x = *st;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *st = x;
}

/* Random moves, selections and scrolls at many page sizes: the selection
 * always stays visible (invariant 3). */
static void test_moves(void **state)
{
	(void)state;
	struct trace_session *s = session();
	struct tui_table_view v;
	tui_table_view_init(&v, tui_table_build(s, TUI_TABLE_API), 1, true);
	uint64_t st = 99;
	for (size_t page = 1; page < 80; page += 3) {
		tui_table_view_fit(&v, page);
		assert_true(tui_table_view_check(&v, page));
		for (int i = 0; i < 300; i++) {
			long d = (long)(rng_next(&st) % 61) - 30;
			switch (rng_next(&st) % 3) {
			case 0:
				tui_table_view_move(&v, d, page);
				break;
			case 1:
				tui_table_view_select(&v, rng_next(&st) % (v.nshown + 5), page);
				break;
			default:
				tui_table_view_scroll(&v, d, page);
				break;
			}
			assert_true(tui_table_view_check(&v, page));
		}
	}
	tui_table_view_move(&v, -1000000, 10);
	assert_int_equal(v.cursor, 0);
	tui_table_view_move(&v, 1000000, 10);
	assert_int_equal(v.cursor, v.nshown - 1);
	tui_table_view_move(&v, LONG_MAX, 10);
	assert_int_equal(v.cursor, v.nshown - 1);
	tui_table_view_done(&v);
	trace_session_delete(s);
}

static void test_instances_and_details(void **state)
{
	(void)state;
	struct trace_session *s = session();
	struct tui_table *k = tui_table_build(s, TUI_TABLE_KERNELS);
	struct tui_corr *corr = tui_corr_build(s);
	for (size_t r = 0; r < k->nrows; r++) {
		struct tui_table *it = tui_table_instances(k, r);
		assert_true((double)it->nrows == k->sum[r].v[2]);
		for (size_t i = 0; i < it->nrows; i++) {
			assert_int_equal(it->events[i]->name, k->sum[r].key);
			if (i)
				assert_true(it->events[i - 1]->start <= it->events[i]->start);
		}
		struct tui_table_view v;
		tui_table_view_init(&v, it, 0, false);
		check_sorted(&v);
		struct tui_cell c;
		tui_table_cell(it, 0, 3, &c); /* grid: "x,y,z" */
		assert_non_null(strchr(c.text, ','));
		if (r == 0) {
			struct tui_details d = {0};
			tui_details_row(&d, it, 0, corr);
			bool launched = false, stack = false, grid = false;
			for (size_t i = 0; i < d.n; i++) {
				launched |= !strcmp(d.lines[i].label, "Launched by") &&
				            strstr(d.lines[i].text, "api ");
				stack |= !strcmp(d.lines[i].label, "Call stack") &&
				         strstr(d.lines[i].text, "frames");
				grid |= !strcmp(d.lines[i].label, "Grid");
			}
			assert_true(launched && grid);
			assert_true(stack);
			/* the API call links back to this kernel */
			const struct trace_event *api =
			    tui_corr_api(corr, tui_event_pid(s, it->events[0]), it->events[0]->correlation);
			assert_non_null(api);
			const struct trace_event *const *gpu;
			size_t ng = tui_corr_gpu(corr, tui_event_pid(s, api), api->correlation, &gpu);
			bool found = false;
			for (size_t i = 0; i < ng; i++)
				found |= gpu[i] == it->events[0];
			assert_true(found);
			tui_details_free(&d);
		}
		tui_table_view_done(&v);
	}
	/* details of a summary row: every column */
	struct tui_details d = {0};
	tui_details_row(&d, k, 0, NULL);
	assert_string_equal(d.lines[0].label, "Name");
	tui_details_free(&d);
	tui_corr_free(corr);
	tui_table_free(k);
	trace_session_delete(s);
}

static void test_format(void **state)
{
	(void)state;
	char b[64];
	tui_format_value(1234567, TUI_COL_TIME, b, sizeof(b));
	assert_string_equal(b, "1.235 ms");
	tui_format_value(999, TUI_COL_TIME, b, sizeof(b));
	assert_string_equal(b, "999 ns");
	tui_format_value(2.5e9, TUI_COL_TIME, b, sizeof(b));
	assert_string_equal(b, "2.500 s");
	tui_format_value(1234567, TUI_COL_COUNT, b, sizeof(b));
	assert_string_equal(b, "1,234,567");
	tui_format_value(0, TUI_COL_COUNT, b, sizeof(b));
	assert_string_equal(b, "0");
	tui_format_value(1.5e6, TUI_COL_BYTES, b, sizeof(b));
	assert_string_equal(b, "1.500 MB");
	tui_format_value(12.3e9, TUI_COL_RATE, b, sizeof(b));
	assert_string_equal(b, "12.300 GB/s");
	tui_format_value(1e30, TUI_COL_TIME, b, sizeof(b));
	assert_true(strlen(b) < sizeof(b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_summaries),
	    cmocka_unit_test(test_sort),
	    cmocka_unit_test(test_filter),
	    cmocka_unit_test(test_moves),
	    cmocka_unit_test(test_instances_and_details),
	    cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
