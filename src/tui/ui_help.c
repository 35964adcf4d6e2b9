/*
 * ui_help.c - the help view: generated from the key table (keys.h), so it
 * lists exactly the keys that work. Shown over the current view; the
 * movement keys scroll it, any other key closes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/ui.h"
#include "util/xalloc.h"

struct tui_help {
	struct tui_view base;
	size_t top;
	int page;
};

/* The help's lines: line i of it into out, or false past the end. */
static bool tui_help_line(size_t i, char *out, size_t cap, bool *heading)
{
	static const char *const headings[TUI_CTX_COUNT] = {"Keys", "While editing a filter"};
	size_t k = 0;
	*heading = false;
	for (int ctx = 0; ctx < TUI_CTX_COUNT; ctx++) {
		if (k++ == i) {
			snprintf(out, cap, "%s", headings[ctx]);
			*heading = true;
			return true;
		}
		for (int a = 1; a < TUI_ACT_COUNT; a++) {
			const struct tui_action_info *ai = tui_action_info((enum tui_action)a);
			if (ai->context != ctx)
				continue;
			if (k++ == i) {
				char keys[96];
				tui_action_keys((enum tui_action)a, keys, sizeof(keys));
				snprintf(out, cap, "  %-22s %s", keys, ai->help);
				return true;
			}
		}
		if (ctx == TUI_CTX_PROMPT && k++ == i) {
			snprintf(out, cap, "  %-22s %s", "other keys", "Type into the filter");
			return true;
		}
		if (k++ == i) {
			out[0] = '\0';
			return true;
		}
	}
	static const char *const tail[] = {
	    "Mouse",
	    "  click                  Select a row, or a view in the bar",
	    "  wheel                  Scroll",
	    "",
	    "Names from the program are shown escaped: \\n, \\t, \\xNN, \\u{XXXX}.",
	};
	for (size_t j = 0; j < sizeof(tail) / sizeof(tail[0]); j++)
		if (k++ == i) {
			snprintf(out, cap, "%s", tail[j]);
			*heading = j == 0;
			return true;
		}
	return false;
}

static void tui_help_draw(struct tui_view *v, struct tui_app *app, WINDOW *w, int h, int wd)
{
	struct tui_help *hv = (struct tui_help *)v;
	hv->page = h;
	werase(w);
	const char *title = "tstop help (any other key closes it)";
	tui_draw_text(app, w, 0, 0, wd, title, strlen(title), tui_look(app, TUI_LOOK_HEADER), true, NULL);
	for (int y = 1; y < h; y++) {
		char line[256];
		bool heading;
		if (!tui_help_line(hv->top + (size_t)y - 1, line, sizeof(line), &heading))
			break;
		tui_draw_text(app, w, y, 1, wd - 1, line, strlen(line),
		              heading ? tui_look(app, TUI_LOOK_KEY) : A_NORMAL, true, NULL);
	}
}

/* Counts the help's lines. */
static size_t tui_help_count(void)
{
	char line[256];
	bool heading;
	size_t n = 0;
	while (tui_help_line(n, line, sizeof(line), &heading))
		n++;
	return n;
}

static unsigned tui_help_act(struct tui_view *v, struct tui_app *app, enum tui_action a)
{
	struct tui_help *hv = (struct tui_help *)v;
	size_t n = tui_help_count(), page = hv->page > 1 ? (size_t)hv->page - 1 : 1;
	size_t max = n > page ? n - page : 0;
	(void)app;
	switch (a) {
	case TUI_ACT_UP:
		hv->top = hv->top ? hv->top - 1 : 0;
		return TUI_DIRTY_VIEW;
	case TUI_ACT_DOWN:
		hv->top = hv->top < max ? hv->top + 1 : max;
		return TUI_DIRTY_VIEW;
	case TUI_ACT_PAGE_UP:
		hv->top = hv->top > page ? hv->top - page : 0;
		return TUI_DIRTY_VIEW;
	case TUI_ACT_PAGE_DOWN:
		hv->top = hv->top + page < max ? hv->top + page : max;
		return TUI_DIRTY_VIEW;
	case TUI_ACT_HOME:
		hv->top = 0;
		return TUI_DIRTY_VIEW;
	case TUI_ACT_END:
		hv->top = max;
		return TUI_DIRTY_VIEW;
	default:
		return 0; /* the app closes the help */
	}
}

static unsigned tui_help_mouse(struct tui_view *v, struct tui_app *app, int y, int x, int button)
{
	if (button == 4)
		return tui_help_act(v, app, TUI_ACT_UP);
	if (button == 5)
		return tui_help_act(v, app, TUI_ACT_DOWN);
	return 0;
}

static void tui_help_details(struct tui_view *v, struct tui_app *app, struct tui_details *d)
{
	tui_details_clear(d);
}

static void tui_help_describe(struct tui_view *v, struct tui_app *app, char *out, size_t cap)
{
	snprintf(out, cap, "Help");
}

static void tui_help_free(struct tui_view *v)
{
	free(v);
}

static const struct tui_view_ops tui_help_ops = {
    "Help", tui_help_draw, tui_help_act, tui_help_mouse, tui_help_details, tui_help_describe,
    NULL,   NULL,          tui_help_free};

struct tui_view *tui_help_view_new(void)
{
	struct tui_help *hv = xcalloc(1, sizeof(*hv));
	hv->base.ops = &tui_help_ops;
	return &hv->base;
}
