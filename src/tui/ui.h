/*
 * ui.h - the curses side of the TUI, shared by src/tui/ui_*.c: the app
 * state, the view ops table every view implements, and drawing helpers.
 *
 * Only src/tui/ui_*.c include this (and curses). The app (ui_app.c) owns
 * the windows, reads keys, maps them through the key table (keys.h) to
 * actions and hands those to the current view. Views change their own
 * state and return what must be redrawn (TUI_DIRTY_*); they never draw
 * from an action. Drawing happens once per frame, into windows with
 * wnoutrefresh, then one doupdate().
 */
#ifndef TSTOP_TUI_UI_H
#define TSTOP_TUI_UI_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "tui/details.h"
#include "tui/keys.h"
#include "tui/layout.h"
#include "tui/model.h"
#include "util/err.h"

/* What an action changed. */
#define TUI_DIRTY_VIEW    0x01u /* the view region */
#define TUI_DIRTY_DETAILS 0x02u /* the selection: rebuild the details text */
#define TUI_DIRTY_BAR     0x04u /* the bar (sort, filter, counts) */
#define TUI_DIRTY_STATUS  0x08u /* the status line (live: every few frames) */
#define TUI_DIRTY_ALL     0xffu

struct tui_app;
struct tui_view;

/* What every view implements. All but `name` take the view itself. */
struct tui_view_ops {
	const char *name; /* tab label */
	/* Draws into `w` (the view region), sized h x w. */
	void (*draw)(struct tui_view *v, struct tui_app *app, WINDOW *w, int h, int wd);
	/* Applies an action; returns TUI_DIRTY_* flags (0: not handled). */
	unsigned (*act)(struct tui_view *v, struct tui_app *app, enum tui_action a);
	/* A mouse event at (y, x) of the view region: button 1 click, 4 wheel
	 * up, 5 wheel down. Returns TUI_DIRTY_* flags. */
	unsigned (*mouse)(struct tui_view *v, struct tui_app *app, int y, int x, int button);
	/* Fills the details of the selection. */
	void (*details)(struct tui_view *v, struct tui_app *app, struct tui_details *d);
	/* Writes one line for the bar: where the view is, sort, filter, rows. */
	void (*describe)(struct tui_view *v, struct tui_app *app, char *out, size_t cap);
	/* Sets the filter; -1 with e filled when it is refused. NULL: no filter. */
	int (*filter)(struct tui_view *v, struct tui_app *app, const char *text, bool regex, struct err *e);
	/* The current filter text, for the prompt to start from. */
	const char *(*filter_text)(struct tui_view *v);
	/* Frees the view. */
	void (*free)(struct tui_view *v);
};

struct tui_view {
	const struct tui_view_ops *ops;
};

#define TUI_MAX_VIEWS 8

struct tui_app {
	SCREEN *screen;
	struct tui_source src;
	const struct tui_snapshot *snap; /* held for the whole frame */
	struct tui_corr *corr;           /* built on first use */
	struct tui_view *views[TUI_MAX_VIEWS];
	size_t nviews, current;
	struct tui_view *help; /* shown over the current view when help_open */
	bool help_open;
	bool details_on;
	size_t details_top;
	struct tui_details details;
	bool details_valid;
	struct tui_layout lay;
	int rows, cols;
	WINDOW *win_status, *win_bar, *win_view, *win_details, *win_footer;
	/* the filter prompt */
	bool prompt_on, prompt_regex;
	char prompt[128];
	size_t prompt_len;
	char message[ERR_MSG_MAX + 32]; /* shown in the bar until the next key */
	bool message_error;
	/* look */
	bool utf8, color;
	int tab_x[TUI_MAX_VIEWS + 1]; /* where the tabs are in the bar, for clicks */
	/* the live view (src.ops->step set) */
	bool live;
	bool stale;       /* the source appended since the last publish: draw no view */
	bool quit_prompt; /* "the program still runs: kill, detach or cancel?" */
	int64_t last_publish;
	struct tui_rate rate;
	struct tui_live_status st; /* as of the last step */
};

/* Glyphs by locale: Unicode where the locale is UTF-8, else ASCII. */
const char *tui_glyph_hline(const struct tui_app *app);
const char *tui_glyph_vline(const struct tui_app *app);
const char *tui_glyph_ellipsis(const struct tui_app *app);
const char *tui_glyph_down(const struct tui_app *app);
const char *tui_glyph_up(const struct tui_app *app);

/* Attributes of the looks, color or monochrome. */
enum tui_look {
	TUI_LOOK_STATUS = 1,
	TUI_LOOK_HEADER,
	TUI_LOOK_SELECT,
	TUI_LOOK_ESCAPE,
	TUI_LOOK_ERROR,
	TUI_LOOK_KEY,
	TUI_LOOK_DIM
};
attr_t tui_look(const struct tui_app *app, enum tui_look look);
/* Starts the colors (when the terminal has them and NO_COLOR is unset). */
void tui_looks_init(struct tui_app *app);

/* Draws len bytes of text from a session at (y, x) of `w`, at most `width`
 * columns, every control character and escape sequence shown escaped
 * (report_escape_step) in the ESCAPE look, non-ASCII shown as '?' when the
 * locale is not UTF-8. When the text does not fit and `ellipsis`, its last
 * column is the ellipsis. Returns the number of bytes drawn (for wrapping);
 * *used, when non-NULL, gets the columns used. */
size_t tui_draw_text(const struct tui_app *app, WINDOW *w, int y, int x, int width, const char *s, size_t len,
                     attr_t attr, bool ellipsis, int *used);

/* Fills `width` columns from (y, x) with blanks in attr. */
void tui_draw_blank(WINDOW *w, int y, int x, int width, attr_t attr);

/* The views. */
struct tui_view *tui_table_view_new(enum tui_table_kind kind);
struct tui_view *tui_help_view_new(void);
struct tui_view *tui_timeline_view_new(void);

/* Selects event `ev` (of the current snapshot's session) on timeline view
 * `v`, on its lane, and zooms to it; false when `v` is not the timeline or
 * the event is on no lane. Borrows both. */
bool tui_timeline_view_select(struct tui_view *v, struct tui_app *app, const struct trace_event *ev);

/* The session of the current snapshot. */
static inline struct trace_session *tui_app_session(const struct tui_app *app)
{
	return app->snap->s;
}

/* The correlation index, built on first use. */
const struct tui_corr *tui_app_corr(struct tui_app *app);

/* Runs the interface over `src` until the user quits. Curses must not be
 * started. Returns 0, or -1 with `e` filled when the terminal cannot be
 * used. */
int tui_app_run(struct tui_source *src, struct err *e);

#endif
