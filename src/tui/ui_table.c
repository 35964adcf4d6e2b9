/*
 * ui_table.c - the table views: kernels, API calls, memory operations and
 * NVTX ranges, each with its instance list (Enter) on top of it (Esc);
 * Enter on an instance shows it on the timeline view.
 *
 * The view holds two table views (table.h): the summary, built from the
 * session the first time the view is drawn, and the instance list of one
 * row while it is open. When the snapshot's generation changes (the live
 * view published new events) both are built again from the session, with
 * the same sort, filter and selected row (found again by its name key);
 * the instance list must be, since it points at events whose arrays may
 * have moved. Actions move, sort and filter the table view on
 * top and return what to redraw; draw() paints the header and the rows
 * that fit, nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/ui.h"
#include "util/xalloc.h"

struct tui_tview {
	struct tui_view base;
	enum tui_table_kind kind;
	bool built;
	struct tui_table_view sum;
	bool inst_open;
	struct tui_table_view inst;
	uint64_t generation; /* of the snapshot the tables were built from */
	uint32_t inst_key;   /* the summary row the instance list lists: its key */
	uint8_t inst_style;  /* and style */
	int page;            /* rows shown at the last draw */
};

static const char *const tui_table_names[TUI_TABLE_SUMMARY_COUNT] = {"Kernels", "API", "Memory", "NVTX"};

/* The table view on top: the instance list when open. */
static struct tui_table_view *tui_tv_top(struct tui_tview *tv)
{
	return tv->inst_open ? &tv->inst : &tv->sum;
}

/* Rows of the table region that hold data (the first holds the header). */
static size_t tui_tv_page(const struct tui_tview *tv)
{
	return tv->page > 1 ? (size_t)(tv->page - 1) : 1;
}

/* The summary row of `t` with name key `key` and `style`, or (size_t)-1. O(rows). */
static size_t tui_tv_find(const struct tui_table *t, uint32_t key, uint8_t style)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (t->sum[i].key == key && t->sum[i].style == style)
			return i;
	return (size_t)-1;
}

/* Replaces the table of view `v` by `t`, keeping sort, filter and, when
 * `row` is a row of `t`, selecting it (else the selection's position). */
static void tui_tv_replace(struct tui_table_view *v, struct tui_table *t, size_t row, size_t page)
{
	size_t sort = v->sort_col, cursor = v->cursor;
	bool desc = v->desc, regex = v->filter_regex;
	char filter[sizeof(v->filter)];
	memcpy(filter, v->filter, sizeof(filter));
	tui_table_view_done(v);
	tui_table_view_init(v, t, sort < t->ncols ? sort : 0, desc);
	if (filter[0] && tui_table_view_filter(v, filter, regex, NULL) < 0)
		tui_table_view_filter(v, "", false, NULL);
	size_t at = cursor;
	for (size_t i = 0; row != (size_t)-1 && i < v->nshown; i++)
		if (v->order[i] == row) {
			at = i;
			break;
		}
	if (v->nshown)
		tui_table_view_select(v, at < v->nshown ? at : v->nshown - 1, page);
}

/* Builds the summary on first use, and both tables again when the
 * snapshot's generation changed (live view). O(n log n) in the events. */
static void tui_tv_build(struct tui_tview *tv, struct tui_app *app)
{
	if (tv->built && tv->generation == app->snap->generation)
		return;
	struct tui_table *t = tui_table_build(tui_app_session(app), tv->kind);
	tv->generation = app->snap->generation;
	if (!tv->built) {
		tui_table_view_init(&tv->sum, t, 1 /* Total */, true);
		tv->built = true;
		return;
	}
	size_t page = tui_tv_page(tv), sel = tui_table_view_row(&tv->sum);
	size_t row =
	    sel == (size_t)-1 ? sel : tui_tv_find(t, tv->sum.t->sum[sel].key, tv->sum.t->sum[sel].style);
	tui_tv_replace(&tv->sum, t, row, page);
	if (!tv->inst_open)
		return;
	size_t parent = tui_tv_find(t, tv->inst_key, tv->inst_style);
	if (parent == (size_t)-1) { /* cannot happen: rows only grow; be safe */
		tui_table_view_done(&tv->inst);
		tv->inst_open = false;
		return;
	}
	tui_tv_replace(&tv->inst, tui_table_instances(t, parent), (size_t)-1, page);
}

static void tui_tv_draw(struct tui_view *v, struct tui_app *app, WINDOW *w, int h, int wd)
{
	struct tui_tview *tv = (struct tui_tview *)v;
	tui_tv_build(tv, app);
	struct tui_table_view *tab = tui_tv_top(tv);
	const struct tui_table *t = tab->t;
	tv->page = h;
	werase(w);
	if (h <= 0 || wd <= 0)
		return;
	size_t page = tui_tv_page(tv);
	tui_table_view_fit(tab, page);
	int x[TUI_TABLE_MAX_COLS], cw[TUI_TABLE_MAX_COLS];
	size_t stretch = t->kind == TUI_TABLE_INSTANCES ? t->ncols : t->name_col;
	tui_layout_columns(t->cols, t->ncols, stretch, wd, x, cw);
	/* header */
	attr_t hdr = tui_look(app, TUI_LOOK_HEADER);
	tui_draw_blank(w, 0, 0, wd, hdr);
	for (size_t c = 0; c < t->ncols; c++) {
		if (!cw[c])
			continue;
		char title[48];
		bool sorted = c == tab->sort_col;
		snprintf(title, sizeof(title), "%s%s", t->cols[c].title,
		         sorted ? (tab->desc ? tui_glyph_down(app) : tui_glyph_up(app)) : "");
		int tl = (int)strlen(t->cols[c].title) + (sorted ? 1 : 0);
		bool right = t->cols[c].type != TUI_COL_TEXT && t->cols[c].type != TUI_COL_LABEL;
		int tx = right && tl < cw[c] ? x[c] + cw[c] - tl : x[c];
		tui_draw_text(app, w, 0, tx, cw[c] - (tx - x[c]), title, strlen(title),
		              hdr | (sorted ? A_UNDERLINE : 0), false, NULL);
	}
	if (!tab->nshown) {
		const char *msg = tab->filter[0] ? "no row matches the filter (Esc clears it)"
		                  : t->kind == TUI_TABLE_INSTANCES ? "no instances"
		                                                   : "nothing of this kind in the session";
		if (h > 1)
			tui_draw_text(app, w, 1, 1, wd - 1, msg, strlen(msg), tui_look(app, TUI_LOOK_DIM),
			              true, NULL);
		return;
	}
	for (size_t i = 0; i < page && tab->top + i < tab->nshown; i++) {
		size_t idx = tab->top + i, row = tab->order[idx];
		int y = (int)i + 1;
		attr_t a = idx == tab->cursor ? tui_look(app, TUI_LOOK_SELECT) : A_NORMAL;
		if (a)
			tui_draw_blank(w, y, 0, wd, a);
		for (size_t c = 0; c < t->ncols; c++) {
			if (!cw[c])
				continue;
			struct tui_cell cell;
			tui_table_cell(t, row, c, &cell);
			int tx = x[c];
			if (cell.right && (int)cell.len < cw[c])
				tx = x[c] + cw[c] - (int)cell.len;
			tui_draw_text(app, w, y, tx, cw[c] - (tx - x[c]), cell.text, cell.len, a, true, NULL);
		}
	}
}

/* Opens the instance list of the selected summary row. */
static unsigned tui_tv_open(struct tui_tview *tv)
{
	if (tv->inst_open)
		return 0;
	size_t row = tui_table_view_row(&tv->sum);
	if (row == (size_t)-1)
		return 0;
	struct tui_table *it = tui_table_instances(tv->sum.t, row);
	tui_table_view_init(&tv->inst, it, 0 /* Start */, false);
	tv->inst_key = tv->sum.t->sum[row].key;
	tv->inst_style = tv->sum.t->sum[row].style;
	tv->inst_open = true;
	return TUI_DIRTY_ALL;
}

/* Shows the selected instance on the timeline view: switches to it with
 * the event selected and the window zoomed to it. */
static unsigned tui_tv_jump(struct tui_tview *tv, struct tui_app *app)
{
	size_t row = tui_table_view_row(&tv->inst);
	if (row == (size_t)-1)
		return 0;
	const struct trace_event *ev = tv->inst.t->events[row];
	for (size_t i = 0; i < app->nviews; i++)
		if (tui_timeline_view_select(app->views[i], app, ev)) {
			app->current = i;
			return TUI_DIRTY_ALL;
		}
	snprintf(app->message, sizeof(app->message), "this event has no lane on the timeline");
	return TUI_DIRTY_BAR;
}

static unsigned tui_tv_act(struct tui_view *v, struct tui_app *app, enum tui_action a)
{
	struct tui_tview *tv = (struct tui_tview *)v;
	tui_tv_build(tv, app);
	struct tui_table_view *tab = tui_tv_top(tv);
	size_t page = tui_tv_page(tv), before = tab->cursor, ncols = tab->t->ncols;
	switch (a) {
	case TUI_ACT_UP:
		tui_table_view_move(tab, -1, page);
		break;
	case TUI_ACT_DOWN:
		tui_table_view_move(tab, 1, page);
		break;
	case TUI_ACT_PAGE_UP:
		tui_table_view_move(tab, -(long)page, page);
		break;
	case TUI_ACT_PAGE_DOWN:
		tui_table_view_move(tab, (long)page, page);
		break;
	case TUI_ACT_HOME:
		tui_table_view_select(tab, 0, page);
		break;
	case TUI_ACT_END:
		tui_table_view_select(tab, tab->nshown ? tab->nshown - 1 : 0, page);
		break;
	case TUI_ACT_SORT_NEXT:
	case TUI_ACT_SORT_PREV: {
		size_t c = a == TUI_ACT_SORT_NEXT ? (tab->sort_col + 1) % ncols
		                                  : (tab->sort_col + ncols - 1) % ncols;
		bool text = tab->t->cols[c].type == TUI_COL_TEXT || tab->t->cols[c].type == TUI_COL_LABEL;
		/* numbers start largest first, text A to Z; the Start column earliest first */
		bool desc = !text && !(tab->t->kind == TUI_TABLE_INSTANCES && c == 0);
		tui_table_view_sort(tab, c, desc);
		tui_table_view_fit(tab, page);
		return TUI_DIRTY_VIEW | TUI_DIRTY_BAR | TUI_DIRTY_DETAILS;
	}
	case TUI_ACT_SORT_REVERSE:
		tui_table_view_sort(tab, tab->sort_col, !tab->desc);
		tui_table_view_fit(tab, page);
		return TUI_DIRTY_VIEW | TUI_DIRTY_BAR | TUI_DIRTY_DETAILS;
	case TUI_ACT_OPEN:
		return tv->inst_open ? tui_tv_jump(tv, app) : tui_tv_open(tv);
	case TUI_ACT_BACK:
		if (tv->inst_open) {
			tui_table_view_done(&tv->inst);
			tv->inst_open = false;
			return TUI_DIRTY_ALL;
		}
		if (tab->filter[0]) {
			tui_table_view_filter(tab, "", false, NULL);
			tui_table_view_fit(tab, page);
			return TUI_DIRTY_ALL;
		}
		return 0;
	default:
		return 0;
	}
	return tab->cursor != before ? TUI_DIRTY_VIEW | TUI_DIRTY_DETAILS | TUI_DIRTY_BAR : TUI_DIRTY_VIEW;
}

static unsigned tui_tv_mouse(struct tui_view *v, struct tui_app *app, int y, int x, int button)
{
	struct tui_tview *tv = (struct tui_tview *)v;
	tui_tv_build(tv, app);
	struct tui_table_view *tab = tui_tv_top(tv);
	size_t page = tui_tv_page(tv);
	(void)x;
	if (button == 4 || button == 5) {
		tui_table_view_scroll(tab, button == 4 ? -3 : 3, page);
		return TUI_DIRTY_VIEW | TUI_DIRTY_DETAILS | TUI_DIRTY_BAR;
	}
	if (button == 1 && y >= 1 && tab->top + (size_t)(y - 1) < tab->nshown) {
		tui_table_view_select(tab, tab->top + (size_t)(y - 1), page);
		return TUI_DIRTY_VIEW | TUI_DIRTY_DETAILS | TUI_DIRTY_BAR;
	}
	return 0;
}

static void tui_tv_details(struct tui_view *v, struct tui_app *app, struct tui_details *d)
{
	struct tui_tview *tv = (struct tui_tview *)v;
	tui_tv_build(tv, app);
	struct tui_table_view *tab = tui_tv_top(tv);
	size_t row = tui_table_view_row(tab);
	tui_details_clear(d);
	if (row == (size_t)-1)
		return;
	tui_details_row(d, tab->t, row, tab->t->kind == TUI_TABLE_INSTANCES ? tui_app_corr(app) : NULL);
}

static void tui_tv_describe(struct tui_view *v, struct tui_app *app, char *out, size_t cap)
{
	struct tui_tview *tv = (struct tui_tview *)v;
	tui_tv_build(tv, app);
	struct tui_table_view *tab = tui_tv_top(tv);
	const struct tui_table *t = tab->t;
	int n = 0;
	if (tv->inst_open)
		n = snprintf(out, cap, "%s > %s  ", tui_table_names[tv->kind], t->title);
	if (n < 0 || (size_t)n >= cap)
		return;
	int m =
	    snprintf(out + n, cap - (size_t)n, "%zu/%zu of %zu  by %s%s", tab->nshown ? tab->cursor + 1 : 0,
	             tab->nshown, t->nrows, t->cols[tab->sort_col].title, tab->desc ? " (desc)" : "");
	if (m < 0 || (size_t)(n + m) >= cap)
		return;
	if (tab->filter[0])
		snprintf(out + n + m, cap - (size_t)(n + m), "  %s \"%s\"",
		         tab->filter_regex ? "regex" : "filter", tab->filter);
}

static int tui_tv_filter(struct tui_view *v, struct tui_app *app, const char *text, bool regex, struct err *e)
{
	struct tui_tview *tv = (struct tui_tview *)v;
	tui_tv_build(tv, app);
	struct tui_table_view *tab = tui_tv_top(tv);
	if (tui_table_view_filter(tab, text, regex, e) < 0)
		return -1;
	tui_table_view_fit(tab, tui_tv_page(tv));
	return 0;
}

static const char *tui_tv_filter_text(struct tui_view *v)
{
	struct tui_tview *tv = (struct tui_tview *)v;
	return tv->built ? tui_tv_top(tv)->filter : ""; /* the filter text survives rebuilds */
}

static void tui_tv_free(struct tui_view *v)
{
	struct tui_tview *tv = (struct tui_tview *)v;
	if (tv->inst_open)
		tui_table_view_done(&tv->inst);
	if (tv->built)
		tui_table_view_done(&tv->sum);
	free(tv);
}

#define TUI_TV_OPS(label)                                                                                    \
	{                                                                                                    \
		label, tui_tv_draw, tui_tv_act, tui_tv_mouse, tui_tv_details, tui_tv_describe,               \
		    tui_tv_filter, tui_tv_filter_text, tui_tv_free                                           \
	}
static const struct tui_view_ops tui_tv_ops[TUI_TABLE_SUMMARY_COUNT] = {
    TUI_TV_OPS("Kernels"), TUI_TV_OPS("API"), TUI_TV_OPS("Memory"), TUI_TV_OPS("NVTX")};

/* A table view of `kind`; its data is computed when it is first shown. */
struct tui_view *tui_table_view_new(enum tui_table_kind kind)
{
	struct tui_tview *tv = xcalloc(1, sizeof(*tv));
	tv->kind = kind < TUI_TABLE_SUMMARY_COUNT ? kind : TUI_TABLE_KERNELS;
	tv->base.ops = &tui_tv_ops[tv->kind];
	return &tv->base;
}
