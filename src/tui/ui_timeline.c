/*
 * ui_timeline.c - the timeline view: one lane per GPU stream (under its
 * device) and per host thread (API calls, then NVTX ranges by depth, under
 * their process), a time axis, zoom, pan, fit, a cursor, the selected event
 * in the details pane and its correlated events highlighted.
 *
 * The model (lanes, window, cursor, selection, links) is timeline.h; this
 * file draws it and maps actions onto it. A frame asks each visible lane
 * for its cells (lane summaries: never a scan of the events); when few
 * events fall in the window a lane is also drawn as bars with names.
 * Screen rows: the axis labels, the ruler (ticks, the cursor's column), then
 * the lanes; the lane labels take the left columns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/timeline.h"
#include "tui/ui.h"
#include "util/xalloc.h"

#define TUI_TL_PAIR_BASE 32 /* color pairs of names: after the looks */
#define TUI_TL_AXIS_ROWS 2

struct tui_tlview {
	struct tui_view base;
	struct tui_timeline tl;
	bool synced;
	unsigned ncolors; /* color pairs of names set up; 0: monochrome */
	bool colors_done;
	struct lanesum_cell *cells;
	size_t cells_cap;
	struct axis_tick *ticks;
	int rows;   /* lane rows at the last draw */
	int x0, tw; /* where the time area starts, and its width */
};

/* Brings the model up to date with the app's snapshot. */
static void tui_tlv_sync(struct tui_tlview *tv, struct tui_app *app)
{
	tui_timeline_sync(&tv->tl, tui_app_session(app), app->snap->generation, NULL);
	if (!tv->synced && app->snap->live)
		tui_timeline_follow(&tv->tl);
	tv->synced = true;
}

/* Sets up the color pairs of names, once. */
static void tui_tlv_colors(struct tui_tlview *tv, const struct tui_app *app)
{
	static const short basic[] = {COLOR_RED,  COLOR_GREEN,   COLOR_YELLOW,
	                              COLOR_BLUE, COLOR_MAGENTA, COLOR_CYAN};
	static const short rich[] = {196, 46, 226, 33, 201, 51, 208, 118, 141, 39, 214, 171};
	if (tv->colors_done)
		return;
	tv->colors_done = true;
	if (!app->color)
		return;
	const short *c = COLORS >= 256 ? rich : basic;
	unsigned n = COLORS >= 256 ? sizeof(rich) / sizeof(rich[0]) : sizeof(basic) / sizeof(basic[0]);
	if (COLOR_PAIRS <= (int)(TUI_TL_PAIR_BASE + n))
		return;
	for (unsigned i = 0; i < n; i++)
		init_pair((short)(TUI_TL_PAIR_BASE + i), c[i], -1);
	tv->ncolors = n;
}

/* The color attribute of string `name` (A_NORMAL in monochrome). */
static attr_t tui_tlv_name_attr(const struct tui_tlview *tv, const struct trace_session *s, uint32_t name)
{
	if (!tv->ncolors || !name)
		return A_NORMAL;
	size_t len;
	const char *str = trace_session_string(s, name, &len);
	return COLOR_PAIR(TUI_TL_PAIR_BASE + tui_timeline_color(str, len, tv->ncolors));
}

/* The resolution of times shown: a hundredth of a column, at least 1 ns. */
static uint64_t tui_tlv_res(const struct tui_timeline *tl)
{
	uint64_t r = ((uint64_t)tl->win.t1 - (uint64_t)tl->win.t0) / (uint64_t)tl->width / 100;
	return r ? r : 1;
}

/* Columns [c0, c1] of [start, end] in the time area, clamped; false when
 * out of sight. */
static bool tui_tlv_cols(const struct tui_tlview *tv, int64_t start, int64_t end, int *c0, int *c1)
{
	const struct axis_window *w = &tv->tl.win;
	int64_t a = axis_col(w, tv->tw, start), b = axis_col(w, tv->tw, end > start ? end - 1 : end);
	if (b < 0 || a >= tv->tw)
		return false;
	*c0 = a < 0 ? 0 : (int)a;
	*c1 = b >= tv->tw ? tv->tw - 1 : (int)b;
	return true;
}

/* Draws event ev as a bar over its columns in attr, its name inside. */
static void tui_tlv_bar(struct tui_tlview *tv, struct tui_app *app, WINDOW *w, int y,
                        const struct trace_event *ev, attr_t attr)
{
	int c0, c1;
	if (!tui_tlv_cols(tv, ev->start, ev->end, &c0, &c1))
		return;
	struct trace_session *s = tui_app_session(app);
	tui_draw_blank(w, y, tv->x0 + c0, c1 - c0 + 1, attr);
	if (c1 - c0 + 1 >= 3) {
		const char *name = ev->kind == TRACE_KERNEL ? trace_session_display_name(s, ev->name)
		                                            : trace_session_string(s, ev->name, NULL);
		tui_draw_text(app, w, y, tv->x0 + c0 + 1, c1 - c0, name, strlen(name), attr, true, NULL);
	}
}

/* One lane's row: label, cells, bars, selection, links, cursor. */
static void tui_tlv_lane(struct tui_tlview *tv, struct tui_app *app, WINDOW *w, int y, size_t li)
{
	struct tui_timeline *tl = &tv->tl;
	const struct tui_lane *l = &tl->lanes[li];
	struct trace_session *s = tui_app_session(app);
	bool cur = li == tl->cursor_lane;
	if (l->kind == TUI_LANE_DEVICE || l->kind == TUI_LANE_PROCESS) {
		attr_t a = tui_look(app, TUI_LOOK_HEADER) | (cur ? A_REVERSE : 0);
		tui_draw_text(app, w, y, 0, tv->x0 + tv->tw, l->label, strlen(l->label), a, true, NULL);
		return;
	}
	attr_t la = cur ? tui_look(app, TUI_LOOK_SELECT)
	                : (l->kind == TUI_LANE_NVTX ? tui_look(app, TUI_LOOK_DIM) : A_NORMAL);
	tui_draw_blank(w, y, 0, tv->x0 - 1, la);
	tui_draw_text(app, w, y, 0, tv->x0 - 1, l->label, strlen(l->label), la, true, NULL);
	wattrset(w, tui_look(app, TUI_LOOK_DIM));
	mvwaddstr(w, y, tv->x0 - 1, tui_glyph_vline(app));
	wattrset(w, A_NORMAL);
	struct err e;
	if (tui_timeline_cells(tl, li, tv->cells, &e) == 0) {
		wmove(w, y, tv->x0);
		for (int c = 0; c < tv->tw; c++) {
			const struct lanesum_cell *cell = &tv->cells[c];
			wattrset(w, cell->touched ? tui_tlv_name_attr(tv, s, cell->name) : A_NORMAL);
			waddstr(w, tui_timeline_shade(cell, app->utf8));
		}
		wattrset(w, A_NORMAL);
	}
	size_t first, last;
	if (tui_timeline_visible(tl, li, (size_t)tv->tw, &first, &last))
		for (size_t i = first; i < last; i++) {
			int c0, c1;
			if (tui_tlv_cols(tv, l->ev[i].start, l->ev[i].end, &c0, &c1) && c1 - c0 + 1 >= 5)
				tui_tlv_bar(tv, app, w, y, &l->ev[i],
				            A_REVERSE | tui_tlv_name_attr(tv, s, l->ev[i].name));
		}
	/* correlated events: the launching call or the GPU work */
	for (size_t k = 0; k < tl->nlinks; k++) {
		const struct tui_tl_link *lk = &tl->links[k];
		if (lk->track != l->track || l->kind == TUI_LANE_NVTX)
			continue;
		struct trace_event tmp = {.start = lk->start, .end = lk->end};
		size_t j = lanesum_lower_bound(l->sum, l->ev, lk->start);
		for (; j < l->n && l->ev[j].start == lk->start; j++)
			if (l->ev[j].end == lk->end) {
				tmp = l->ev[j];
				tui_tlv_bar(tv, app, w, y, &tmp,
				            tui_look(app, TUI_LOOK_KEY) | A_REVERSE | A_BOLD);
				break;
			}
	}
	const struct trace_event *sel = tui_timeline_selected(tl);
	if (sel && tl->sel.lane == li)
		tui_tlv_bar(tv, app, w, y, sel, tui_look(app, TUI_LOOK_SELECT) | A_BOLD);
	if (cur) {
		int64_t c = axis_col(&tl->win, tv->tw, tl->cursor_t);
		if (c >= 0 && c < tv->tw)
			mvwchgat(w, y, tv->x0 + (int)c, 1, A_REVERSE | A_BOLD, 0, NULL);
	}
}

/* The axis: labels on row 0, the ruler with ticks and the cursor on row 1. */
static void tui_tlv_axis(struct tui_tlview *tv, struct tui_app *app, WINDOW *w)
{
	struct tui_timeline *tl = &tv->tl;
	attr_t dim = tui_look(app, TUI_LOOK_DIM);
	char span[AXIS_LABEL_MAX];
	axis_format(span, sizeof(span), tl->win.t1, tl->win.t0, tui_tlv_res(tl));
	char head[AXIS_LABEL_MAX + 8];
	snprintf(head, sizeof(head), "%s%s", tl->follow ? "follow " : "", span);
	tui_draw_text(app, w, 0, 0, tv->x0 - 1, head, strlen(head), tui_look(app, TUI_LOOK_KEY), true, NULL);
	wattrset(w, dim);
	for (int x = 0; x < tv->tw; x++)
		mvwaddstr(w, 1, tv->x0 + x, tui_glyph_hline(app));
	mvwaddstr(w, 1, tv->x0 - 1, app->utf8 ? "\u253c" : "+");
	wattrset(w, A_NORMAL);
	int n = axis_ticks(&tl->win, tv->tw, tl->origin, tv->ticks, tv->tw, NULL);
	for (int i = 0; i < n; i++) {
		const struct axis_tick *t = &tv->ticks[i];
		wattrset(w, dim);
		mvwaddstr(w, 1, tv->x0 + t->col, app->utf8 ? "\u2534" : "+");
		wattrset(w, A_NORMAL);
		if (t->len)
			tui_draw_text(app, w, 0, tv->x0 + t->col, tv->tw - t->col, t->label, (size_t)t->len,
			              A_NORMAL, false, NULL);
	}
	int64_t c = axis_col(&tl->win, tv->tw, tl->cursor_t);
	if (c >= 0 && c < tv->tw) {
		wattrset(w, tui_look(app, TUI_LOOK_KEY));
		mvwaddstr(w, 1, tv->x0 + (int)c, tui_glyph_down(app));
		wattrset(w, A_NORMAL);
	}
}

static void tui_tlv_draw(struct tui_view *v, struct tui_app *app, WINDOW *w, int h, int wd)
{
	struct tui_tlview *tv = (struct tui_tlview *)v;
	tui_tlv_sync(tv, app);
	tui_tlv_colors(tv, app);
	werase(w);
	if (h < TUI_TL_AXIS_ROWS + 1 || wd < 12)
		return;
	int labw = wd / 4 < 24 ? wd / 4 : 24;
	tv->x0 = labw + 1;
	tv->tw = wd - tv->x0;
	tv->rows = h - TUI_TL_AXIS_ROWS;
	if ((size_t)tv->tw > tv->cells_cap) {
		tv->cells_cap = (size_t)tv->tw;
		tv->cells = xrealloc(tv->cells, tv->cells_cap * sizeof(*tv->cells));
		tv->ticks = xrealloc(tv->ticks, tv->cells_cap * sizeof(*tv->ticks));
	}
	struct tui_timeline *tl = &tv->tl;
	tui_timeline_layout(tl, tv->tw, tv->rows);
	tui_tlv_axis(tv, app, w);
	if (!tl->nlanes || tl->empty) {
		const char *msg = "no GPU stream or host thread events in this session";
		tui_draw_text(app, w, TUI_TL_AXIS_ROWS, 1, wd - 1, msg, strlen(msg),
		              tui_look(app, TUI_LOOK_DIM), true, NULL);
		return;
	}
	for (int r = 0; r < tv->rows && tl->top + (size_t)r < tl->nlanes; r++)
		tui_tlv_lane(tv, app, w, TUI_TL_AXIS_ROWS + r, tl->top + (size_t)r);
}

/* Rows of lanes (at least 1). */
static int tui_tlv_rows(const struct tui_tlview *tv)
{
	return tv->rows > 0 ? tv->rows : 1;
}

#define TUI_TL_MOVED    (TUI_DIRTY_VIEW | TUI_DIRTY_BAR)
#define TUI_TL_SELECTED (TUI_DIRTY_VIEW | TUI_DIRTY_BAR | TUI_DIRTY_DETAILS)

static unsigned tui_tlv_act(struct tui_view *v, struct tui_app *app, enum tui_action a)
{
	struct tui_tlview *tv = (struct tui_tlview *)v;
	tui_tlv_sync(tv, app);
	struct tui_timeline *tl = &tv->tl;
	struct trace_session *s = tui_app_session(app);
	int rows = tui_tlv_rows(tv);
	switch (a) {
	case TUI_ACT_UP:
	case TUI_ACT_DOWN:
		tui_timeline_move_lane(tl, a == TUI_ACT_UP ? -1 : 1, rows);
		return TUI_TL_MOVED;
	case TUI_ACT_PAGE_UP:
	case TUI_ACT_PAGE_DOWN:
		tui_timeline_move_lane(tl, a == TUI_ACT_PAGE_UP ? -rows : rows, rows);
		return TUI_TL_MOVED;
	case TUI_ACT_HOME:
	case TUI_ACT_END:
		tui_timeline_move_lane(tl, a == TUI_ACT_HOME ? -(long)tl->nlanes : (long)tl->nlanes, rows);
		return TUI_TL_MOVED;
	case TUI_ACT_OPEN:
		if (!tui_timeline_select_at_cursor(tl, s, tui_app_corr(app)))
			snprintf(app->message, sizeof(app->message), "no event at the cursor on this lane");
		return TUI_TL_SELECTED;
	case TUI_ACT_BACK:
		if (!tl->sel.valid)
			return 0;
		tl->sel.valid = false;
		tl->nlinks = 0;
		return TUI_TL_SELECTED;
	case TUI_ACT_ZOOM_IN:
	case TUI_ACT_ZOOM_OUT:
		tui_timeline_zoom(tl, a == TUI_ACT_ZOOM_IN ? 2.0 : 0.5);
		return TUI_TL_MOVED;
	case TUI_ACT_PAN_LEFT:
	case TUI_ACT_PAN_RIGHT:
		tui_timeline_pan(tl, a == TUI_ACT_PAN_LEFT ? -0.125 : 0.125);
		return TUI_TL_MOVED;
	case TUI_ACT_FIT:
		tui_timeline_fit(tl);
		return TUI_TL_MOVED;
	case TUI_ACT_ZOOM_EVENT:
		if (!tui_timeline_zoom_selected(tl))
			snprintf(app->message, sizeof(app->message), "select an event first (Enter, n)");
		return TUI_TL_MOVED;
	case TUI_ACT_NEXT_EVENT:
	case TUI_ACT_PREV_EVENT:
		if (!tui_timeline_step(tl, s, tui_app_corr(app), a == TUI_ACT_NEXT_EVENT ? 1 : -1))
			snprintf(app->message, sizeof(app->message), "no %s event on this lane",
			         a == TUI_ACT_NEXT_EVENT ? "next" : "previous");
		return TUI_TL_SELECTED;
	case TUI_ACT_JUMP_LINK:
		if (!tui_timeline_jump_link(tl, s, tui_app_corr(app)))
			snprintf(app->message, sizeof(app->message), "the selection has no linked event");
		tui_timeline_layout(tl, tl->width, rows);
		return TUI_TL_SELECTED;
	case TUI_ACT_FOLLOW:
		if (!app->snap->live) {
			snprintf(app->message, sizeof(app->message), "follow: this session is not live");
			return TUI_DIRTY_BAR;
		}
		tui_timeline_follow(tl);
		return TUI_TL_MOVED;
	default:
		return 0;
	}
}

static unsigned tui_tlv_mouse(struct tui_view *v, struct tui_app *app, int y, int x, int button)
{
	struct tui_tlview *tv = (struct tui_tlview *)v;
	tui_tlv_sync(tv, app);
	struct tui_timeline *tl = &tv->tl;
	bool in_time = x >= tv->x0 && x < tv->x0 + tv->tw;
	if (button == 4 || button == 5) {
		if (in_time)
			tui_timeline_zoom_at(tl, axis_time(&tl->win, tv->tw, x - tv->x0),
			                     button == 4 ? 2.0 : 0.5);
		else
			tui_timeline_move_lane(tl, button == 4 ? -3 : 3, tui_tlv_rows(tv));
		return TUI_TL_MOVED;
	}
	if (button != 1 || y < TUI_TL_AXIS_ROWS || tl->top + (size_t)(y - TUI_TL_AXIS_ROWS) >= tl->nlanes)
		return 0;
	tl->cursor_lane = tl->top + (size_t)(y - TUI_TL_AXIS_ROWS);
	if (!in_time)
		return TUI_TL_MOVED;
	tl->cursor_t = axis_time(&tl->win, tv->tw, x - tv->x0);
	tui_timeline_select_at_cursor(tl, tui_app_session(app), tui_app_corr(app));
	return TUI_TL_SELECTED;
}

static void tui_tlv_details(struct tui_view *v, struct tui_app *app, struct tui_details *d)
{
	struct tui_tlview *tv = (struct tui_tlview *)v;
	tui_tlv_sync(tv, app);
	struct tui_timeline *tl = &tv->tl;
	const struct trace_event *ev = tui_timeline_selected(tl);
	tui_details_clear(d);
	if (ev) {
		tui_details_event(d, tui_app_session(app), tui_app_corr(app), ev, tl->origin);
		return;
	}
	if (tl->cursor_lane < tl->nlanes) {
		const struct tui_lane *l = &tl->lanes[tl->cursor_lane];
		tui_details_add(d, "Lane", l->label, strlen(l->label));
		if (l->sum) {
			char n[32];
			int len = snprintf(n, sizeof(n), "%zu", l->n);
			tui_details_add(d, "Events", n, (size_t)len);
		}
	}
	const char *hint = "Enter (or a click) selects the event at the cursor; n/N step through the lane";
	tui_details_add(d, "Hint", hint, strlen(hint));
}

static void tui_tlv_describe(struct tui_view *v, struct tui_app *app, char *out, size_t cap)
{
	struct tui_tlview *tv = (struct tui_tlview *)v;
	tui_tlv_sync(tv, app);
	const struct tui_timeline *tl = &tv->tl;
	char span[AXIS_LABEL_MAX], at[AXIS_LABEL_MAX], cur[AXIS_LABEL_MAX];
	axis_format(span, sizeof(span), tl->win.t1, tl->win.t0, tui_tlv_res(tl));
	axis_format(at, sizeof(at), tl->win.t0, tl->origin, tui_tlv_res(tl));
	axis_format(cur, sizeof(cur), tl->cursor_t, tl->origin, tui_tlv_res(tl));
	snprintf(out, cap, "lane %zu/%zu  window %s at %s  cursor %s%s%s",
	         tl->nlanes ? tl->cursor_lane + 1 : 0, tl->nlanes, span, at, cur,
	         tl->follow ? "  following" : "", tl->sel.valid ? "  (event selected)" : "");
}

static void tui_tlv_free(struct tui_view *v)
{
	struct tui_tlview *tv = (struct tui_tlview *)v;
	tui_timeline_done(&tv->tl);
	free(tv->cells);
	free(tv->ticks);
	free(tv);
}

static const struct tui_view_ops tui_tlv_ops = {"Timeline",      tui_tlv_draw,     tui_tlv_act, tui_tlv_mouse,
                                                tui_tlv_details, tui_tlv_describe, NULL,        NULL,
                                                tui_tlv_free};

/* Shows event `ev` of the app's session on timeline view `v`: selects it,
 * moves to its lane and zooms to it. False when `v` is not a timeline view
 * or no lane holds the event (then `v` keeps its state). Borrows both. */
bool tui_timeline_view_select(struct tui_view *v, struct tui_app *app, const struct trace_event *ev)
{
	if (v->ops != &tui_tlv_ops)
		return false;
	struct tui_tlview *tv = (struct tui_tlview *)v;
	tui_tlv_sync(tv, app);
	return tui_timeline_select_event(&tv->tl, tui_app_session(app), tui_app_corr(app), ev,
	                                 tui_tlv_rows(tv));
}

/* The timeline view; its lanes are built when it is first shown. */
struct tui_view *tui_timeline_view_new(void)
{
	struct tui_tlview *tv = xcalloc(1, sizeof(*tv));
	tv->base.ops = &tui_tlv_ops;
	tui_timeline_init(&tv->tl);
	return &tv->base;
}
