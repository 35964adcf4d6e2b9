/*
 * ui_app.c - the TUI application: curses setup, the frame loop, the status
 * line, the bar, the details pane, the footer and the filter prompt.
 *
 * Frame loop: wait for a key (at most 250 ms, so a flag set by a signal
 * handler is seen) or, with a live source, run one capture turn (its poll
 * waits on the terminal too) and publish the grown session when due (at
 * most about once a second, and before any key is handled: model.h);
 * acquire the newest snapshot (a new generation drops the correlation
 * index and makes everything dirty); handle the keys waiting; if
 * something is dirty, redraw the dirty windows (werase, draw, wnoutrefresh)
 * and call doupdate() once; release the snapshot. While the live session
 * has grown unpublished only the status line is drawn. The live status
 * line, the quit prompt (kill / detach / cancel while the program runs)
 * and the capture switch are here too. Keys go through the key table (keys.h) to
 * actions; the app handles the global ones (quit, views, help, filter,
 * details) and hands the rest to the current view, which returns what it
 * changed. Resizing (KEY_RESIZE, which ncurses makes of SIGWINCH) lays
 * the screen out again and redraws everything.
 *
 * Signal handlers (SIGINT, SIGTERM, SIGHUP) only set a flag; the loop then
 * ends curses and returns, so the terminal is always restored. A live
 * source keeps its own handlers (the capture's) and reports interrupts
 * from step(); curses then runs in raw mode, so Ctrl-C is a key.
 */
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "trace/meta.h"
#include "tui/tui.h"
#include "tui/ui.h"

#define TUI_LIVE_TICK_MS   50        /* live: the longest wait of a turn (20 frames/s at most) */
#define TUI_LIVE_STATUS_NS 250000000 /* live: the status line is redrawn this often */

static volatile sig_atomic_t tui_stop_signal;

/* Only sets the flag the loop polls. */
static void tui_on_signal(int sig)
{
	tui_stop_signal = sig;
}

const struct tui_corr *tui_app_corr(struct tui_app *app)
{
	if (!app->corr)
		app->corr = tui_corr_build(tui_app_session(app));
	return app->corr;
}

/* (Re)creates the region windows for the current size. */
static void tui_app_layout(struct tui_app *app)
{
	WINDOW **wins[] = {&app->win_status, &app->win_bar, &app->win_view, &app->win_details,
	                   &app->win_footer};
	for (size_t i = 0; i < sizeof(wins) / sizeof(wins[0]); i++)
		if (*wins[i]) {
			delwin(*wins[i]);
			*wins[i] = NULL;
		}
	/* getch() refreshes stdscr when it changed: mark it clean once here, so
	 * that it never paints a blank screen over the region windows. */
	werase(stdscr);
	wnoutrefresh(stdscr);
	getmaxyx(stdscr, app->rows, app->cols);
	tui_layout_compute(app->rows, app->cols, app->details_on, &app->lay);
	if (app->lay.too_small)
		return;
	const struct tui_rect *r[] = {&app->lay.status, &app->lay.bar, &app->lay.view, &app->lay.details,
	                              &app->lay.footer};
	for (size_t i = 0; i < sizeof(wins) / sizeof(wins[0]); i++)
		if (r[i]->h > 0 && r[i]->w > 0)
			*wins[i] = newwin(r[i]->h, r[i]->w, r[i]->y, r[i]->x);
}

/* Whether the session was generated, not captured (trace/meta.h). */
static bool tui_app_synthetic(const struct trace_session *s)
{
	const char *v = trace_session_meta(s, TRACE_META_SYNTHETIC);
	return v && !strcmp(v, "1");
}

/* How the session's first process ended, as the status line says it. */
static void tui_app_state(const struct trace_session *s, char *out, size_t cap)
{
	size_t np = trace_session_process_count(s);
	if (!np) {
		snprintf(out, cap, "no process recorded");
		return;
	}
	const struct trace_process *p = trace_session_process(s, 0);
	switch (p->state) {
	case TRACE_PROC_EXITED:
		snprintf(out, cap, "exited %" PRId32, p->status);
		break;
	case TRACE_PROC_SIGNALED:
		snprintf(out, cap, "killed by signal %" PRId32 " (%s)", p->status,
		         p->status > 0 && p->status < NSIG && sigabbrev_np(p->status)
		             ? sigabbrev_np(p->status)
		             : "?");
		break;
	case TRACE_PROC_DETACHED:
		snprintf(out, cap, "detached");
		break;
	case TRACE_PROC_ENDED:
		snprintf(out, cap, "ended");
		break;
	default:
		snprintf(out, cap, "running when saved");
		break;
	}
}

/* The live status line: program, pid, state, elapsed time, events,
 * events/s, lost events, capture on/off. Reads no event (the snapshot may
 * be stale): only what the source's status() said. */
static void tui_app_draw_live_status(struct tui_app *app)
{
	WINDOW *w = app->win_status;
	const struct tui_live_status *st = &app->st;
	attr_t a = tui_look(app, TUI_LOOK_STATUS);
	int wd = app->lay.status.w;
	werase(w);
	tui_draw_blank(w, 0, 0, wd, a);
	char state[64], el[32], ev[32], rate[32], lost[32], right[256];
	switch (st->state) {
	case TUI_LIVE_EXITED:
		snprintf(state, sizeof(state), "exited with code %d", st->code);
		break;
	case TUI_LIVE_SIGNALED:
		snprintf(state, sizeof(state), "killed by signal %d (%s)", st->code,
		         st->code > 0 && st->code < NSIG && sigabbrev_np(st->code) ? sigabbrev_np(st->code)
		                                                                   : "?");
		break;
	case TUI_LIVE_DETACHED:
		snprintf(state, sizeof(state), "detached");
		break;
	default:
		snprintf(state, sizeof(state), "running");
		break;
	}
	tui_format_value((double)st->elapsed, TUI_COL_TIME, el, sizeof(el));
	tui_format_value((double)st->events, TUI_COL_COUNT, ev, sizeof(ev));
	/* while running: the last second's rate; after: the run's average */
	double r = st->state == TUI_LIVE_RUNNING ? app->rate.per_sec
	           : st->elapsed > 0             ? (double)st->events * 1e9 / (double)st->elapsed
	                                         : 0;
	tui_format_value(r, TUI_COL_COUNT, rate, sizeof(rate));
	tui_format_value((double)st->lost, TUI_COL_COUNT, lost, sizeof(lost));
	snprintf(right, sizeof(right), " pid %" PRIu32 "  %s  %s  %s events  %s/s  %s lost  capture %s ",
	         st->pid, state, el, ev, rate, lost,
	         st->state == TUI_LIVE_RUNNING ? (st->capture_on ? "on" : "OFF") : "ended");
	int rl = (int)strlen(right), used;
	tui_draw_text(app, w, 0, 0, wd, " tstop ", 7, a | A_BOLD, false, &used);
	int cmdw = wd - used - rl;
	if (cmdw < 8) { /* narrow: the numbers matter more than the command */
		cmdw = 0;
		rl = wd - used;
	}
	if (cmdw > 0)
		tui_draw_text(app, w, 0, used, cmdw, st->program, strlen(st->program), a, true, NULL);
	if (rl > 0)
		tui_draw_text(app, w, 0, wd - rl, rl, right, strlen(right), a, true, NULL);
	wnoutrefresh(w);
}

/* The status line: command, pids, state, duration, events, lost events. */
static void tui_app_draw_status(struct tui_app *app)
{
	if (app->live) {
		tui_app_draw_live_status(app);
		return;
	}
	WINDOW *w = app->win_status;
	struct trace_session *s = tui_app_session(app);
	attr_t a = tui_look(app, TUI_LOOK_STATUS);
	int wd = app->lay.status.w;
	werase(w);
	tui_draw_blank(w, 0, 0, wd, a);
	char right[256], state[64], pids[64] = "";
	tui_app_state(s, state, sizeof(state));
	size_t np = trace_session_process_count(s);
	for (size_t i = 0, n = 0; i < np && i < 3; i++) {
		n += (size_t)snprintf(pids + n, sizeof(pids) - n, "%s%" PRIu32, i ? "," : "pid ",
		                      trace_session_process(s, i)->pid);
		if (n >= sizeof(pids))
			break;
	}
	if (np > 3)
		snprintf(pids + strlen(pids), sizeof(pids) - strlen(pids), " +%zu", np - 3);
	int64_t t0 = 0, t1 = 0;
	trace_session_time_range(s, &t0, &t1);
	char dur[32], events[32], lost[32];
	tui_format_value((double)(t1 - t0), TUI_COL_TIME, dur, sizeof(dur));
	tui_format_value((double)trace_session_event_count(s), TUI_COL_COUNT, events, sizeof(events));
	tui_format_value((double)trace_session_lost_total(s), TUI_COL_COUNT, lost, sizeof(lost));
	snprintf(right, sizeof(right), " %s  %s  %s  %s events  %s lost%s ", pids, state, dur, events, lost,
	         tui_app_synthetic(s) ? "  synthetic" : "");
	int rl = (int)strlen(right);
	const char *cmd = trace_session_meta(s, TRACE_META_COMMAND);
	if (!cmd && np)
		cmd = trace_session_string(s, trace_session_process(s, 0)->command, NULL);
	if (!cmd || !cmd[0])
		cmd = app->snap->path ? app->snap->path : "tstop";
	int used;
	tui_draw_text(app, w, 0, 0, wd, " tstop ", 7, a | A_BOLD, false, &used);
	int cmdw = wd - used - rl;
	if (cmdw < 8) { /* narrow: the numbers matter more than the command */
		cmdw = wd - used;
		rl = 0;
	}
	tui_draw_text(app, w, 0, used, cmdw, cmd, strlen(cmd), a, true, NULL);
	if (rl > 0)
		tui_draw_text(app, w, 0, wd - rl, rl, right, (size_t)rl, a, false, NULL);
	wnoutrefresh(w);
}

/* The bar: the views as tabs, then the view's description or a message. */
static void tui_app_draw_bar(struct tui_app *app)
{
	WINDOW *w = app->win_bar;
	int wd = app->lay.bar.w, x = 0;
	werase(w);
	for (size_t i = 0; i < app->nviews; i++) {
		char tab[32];
		snprintf(tab, sizeof(tab), " %zu %s ", i + 1, app->views[i]->ops->name);
		app->tab_x[i] = x;
		attr_t a =
		    i == app->current && !app->help_open ? tui_look(app, TUI_LOOK_SELECT) | A_BOLD : A_NORMAL;
		int used;
		tui_draw_text(app, w, 0, x, wd - x, tab, strlen(tab), a, false, &used);
		x += used;
	}
	app->tab_x[app->nviews] = x;
	if (x + 2 < wd) {
		char desc[sizeof(app->message) + 64];
		attr_t a = A_NORMAL;
		if (app->message[0]) {
			snprintf(desc, sizeof(desc), "%s", app->message);
			a = app->message_error ? tui_look(app, TUI_LOOK_ERROR) : tui_look(app, TUI_LOOK_KEY);
		} else {
			struct tui_view *v = app->help_open ? app->help : app->views[app->current];
			v->ops->describe(v, app, desc, sizeof(desc));
		}
		tui_draw_text(app, w, 0, x + 2, wd - x - 2, desc, strlen(desc), a, true, NULL);
	}
	wnoutrefresh(w);
}

/* The details pane: a rule with its title, then label / text lines, long
 * text wrapped under its text column. */
static void tui_app_draw_details(struct tui_app *app)
{
	WINDOW *w = app->win_details;
	int h = app->lay.details.h, wd = app->lay.details.w;
	werase(w);
	wattrset(w, tui_look(app, TUI_LOOK_DIM));
	for (int x = 0; x < wd; x++)
		mvwaddstr(w, 0, x, tui_glyph_hline(app));
	wattrset(w, A_NORMAL);
	struct tui_view *v = app->views[app->current];
	if (!app->details_valid) {
		v->ops->details(v, app, &app->details);
		app->details_valid = true;
		app->details_top = 0;
	}
	const struct tui_details *d = &app->details;
	char title[64];
	if (d->n > (size_t)(h - 1))
		snprintf(title, sizeof(title), " Details %zu-%zu/%zu ([ ] scroll) ", app->details_top + 1,
		         app->details_top + (size_t)(h - 1) < d->n ? app->details_top + (size_t)(h - 1)
		                                                   : d->n,
		         d->n);
	else
		snprintf(title, sizeof(title), " Details ");
	tui_draw_text(app, w, 0, 2, wd - 2, title, strlen(title), tui_look(app, TUI_LOOK_HEADER), true, NULL);
	int labw = wd >= 60 ? 13 : 0, y = 1;
	for (size_t i = app->details_top; i < d->n && y < h; i++) {
		const struct tui_detail_line *l = &d->lines[i];
		if (labw)
			tui_draw_text(app, w, y, 1, labw - 1, l->label, strlen(l->label),
			              tui_look(app, TUI_LOOK_KEY), true, NULL);
		size_t pos = 0;
		do { /* wrap the text under its column; at least one line per entry */
			size_t n = tui_draw_text(app, w, y, labw + 1, wd - labw - 1, l->text + pos,
			                         l->len - pos, A_NORMAL, y == h - 1, NULL);
			if (!n && pos < l->len)
				break;
			pos += n;
			y++;
		} while (pos < l->len && y < h);
	}
	wnoutrefresh(w);
}

/* The footer: the prompt while editing, else the main keys from the table. */
static void tui_app_draw_footer(struct tui_app *app)
{
	WINDOW *w = app->win_footer;
	int wd = app->lay.footer.w, x = 0, used;
	werase(w);
	if (app->quit_prompt) {
		static const char q[] =
		    "The program is still running: k kill it, d detach (it runs on), c cancel";
		tui_draw_text(app, w, 0, 0, wd, q, sizeof(q) - 1, tui_look(app, TUI_LOOK_KEY) | A_BOLD, true,
		              NULL);
		wnoutrefresh(w);
		return;
	}
	if (app->prompt_on) {
		const char *p = app->prompt_regex ? "Regex: " : "Filter: ";
		tui_draw_text(app, w, 0, 0, wd, p, strlen(p), tui_look(app, TUI_LOOK_KEY), false, &used);
		/* show the end of the text when it is longer than the line */
		size_t off = app->prompt_len > (size_t)(wd - used - 2) && wd - used > 2
		                 ? app->prompt_len - (size_t)(wd - used - 2)
		                 : 0;
		int tw;
		tui_draw_text(app, w, 0, used, wd - used - 1, app->prompt + off, app->prompt_len - off,
		              A_NORMAL, false, &tw);
		curs_set(1);
		wmove(w, 0, used + tw < wd ? used + tw : wd - 1);
		wnoutrefresh(w);
		return;
	}
	curs_set(0);
	for (int a = 1; a < TUI_ACT_COUNT && x < wd; a++) {
		const struct tui_action_info *ai = tui_action_info((enum tui_action)a);
		if (!ai->footer)
			continue;
		size_t nb;
		const struct tui_binding *b = tui_key_bindings(&nb);
		char key[16] = "";
		for (size_t i = 0; i < nb; i++)
			if (b[i].action == a) {
				tui_key_name(b[i].key, key, sizeof(key));
				break;
			}
		int need = (int)strlen(key) + (int)strlen(ai->footer) + 2;
		if (x + need > wd)
			break;
		tui_draw_text(app, w, 0, x, wd - x, key, strlen(key), tui_look(app, TUI_LOOK_KEY), false,
		              &used);
		x += used + 1;
		tui_draw_text(app, w, 0, x, wd - x, ai->footer, strlen(ai->footer), A_NORMAL, false, &used);
		x += used + 1;
	}
	wnoutrefresh(w);
}

/* Below the minimum: a notice, cut to what fits. */
static void tui_app_draw_too_small(struct tui_app *app)
{
	werase(stdscr);
	char msg[96];
	if (app->quit_prompt)
		snprintf(msg, sizeof(msg), "Program running: k kill, d detach, c cancel");
	else
		snprintf(msg, sizeof(msg), "Terminal too small (%dx%d): tstop needs %dx%d. q quits.",
		         app->cols, app->rows, TUI_MIN_COLS, TUI_MIN_ROWS);
	int len = (int)strlen(msg);
	for (int y = 0, off = 0; y < app->rows && off < len && app->cols > 0; y++, off += app->cols)
		mvwaddnstr(stdscr, y, 0, msg + off, len - off < app->cols ? len - off : app->cols);
	wnoutrefresh(stdscr);
}

/* Draws what `dirty` says, then one doupdate(). */
static void tui_app_frame(struct tui_app *app, unsigned dirty)
{
	if (app->lay.too_small) {
		tui_app_draw_too_small(app);
		doupdate();
		return;
	}
	if (app->stale) /* the session grew since the last publish: views must not read it */
		dirty &= TUI_DIRTY_STATUS;
	if (dirty & TUI_DIRTY_DETAILS)
		app->details_valid = false;
	if (dirty & TUI_DIRTY_STATUS)
		tui_app_draw_status(app);
	struct tui_view *v = app->help_open ? app->help : app->views[app->current];
	if (dirty & TUI_DIRTY_VIEW) {
		v->ops->draw(v, app, app->win_view, app->lay.view.h, app->lay.view.w);
		wnoutrefresh(app->win_view);
	}
	if (dirty & (TUI_DIRTY_BAR | TUI_DIRTY_VIEW))
		tui_app_draw_bar(app);
	if (app->win_details && (dirty & (TUI_DIRTY_DETAILS | TUI_DIRTY_VIEW)))
		tui_app_draw_details(app);
	tui_app_draw_footer(app);
	doupdate();
}

/* Curses' keys to the key table's. */
static int tui_app_key(int ch)
{
	switch (ch) {
	case KEY_UP:
		return TUI_KEY_UP;
	case KEY_DOWN:
		return TUI_KEY_DOWN;
	case KEY_LEFT:
		return TUI_KEY_LEFT;
	case KEY_RIGHT:
		return TUI_KEY_RIGHT;
	case KEY_PPAGE:
		return TUI_KEY_PGUP;
	case KEY_NPAGE:
		return TUI_KEY_PGDN;
	case KEY_HOME:
		return TUI_KEY_HOME;
	case KEY_END:
		return TUI_KEY_END;
	case KEY_BTAB:
		return TUI_KEY_BTAB;
	case KEY_F(1):
		return TUI_KEY_F1;
	case KEY_ENTER:
	case '\r':
		return TUI_KEY_ENTER;
	case KEY_BACKSPACE:
	case 8:
		return TUI_KEY_BACKSPACE;
	default:
		return ch;
	}
}

/* A key while the filter prompt is open. Returns dirty flags. */
static unsigned tui_app_prompt_key(struct tui_app *app, int key)
{
	struct tui_view *v = app->views[app->current];
	switch (tui_key_action(TUI_CTX_PROMPT, key)) {
	case TUI_ACT_PROMPT_ACCEPT: {
		struct err e;
		app->prompt[app->prompt_len] = '\0';
		app->prompt_on = false;
		if (v->ops->filter(v, app, app->prompt, app->prompt_regex, &e) < 0) {
			snprintf(app->message, sizeof(app->message), "%s", e.msg);
			app->message_error = true;
		}
		return TUI_DIRTY_VIEW | TUI_DIRTY_BAR | TUI_DIRTY_DETAILS;
	}
	case TUI_ACT_PROMPT_CANCEL:
		app->prompt_on = false;
		return TUI_DIRTY_BAR;
	case TUI_ACT_PROMPT_ERASE:
		while (app->prompt_len && ((unsigned char)app->prompt[app->prompt_len - 1] & 0xc0) == 0x80)
			app->prompt_len--; /* a whole UTF-8 character */
		if (app->prompt_len)
			app->prompt_len--;
		return TUI_DIRTY_BAR;
	case TUI_ACT_PROMPT_KILL:
		app->prompt_len = 0;
		return TUI_DIRTY_BAR;
	default:
		break;
	}
	if (key >= 32 && key < 256 && key != 127 && app->prompt_len + 1 < sizeof(app->prompt))
		app->prompt[app->prompt_len++] = (char)key;
	return TUI_DIRTY_BAR;
}

/* Quit asked: in the live view, while the program runs, ask first. */
static unsigned tui_app_quit(struct tui_app *app, bool *quit)
{
	if (app->live && app->st.state == TUI_LIVE_RUNNING) {
		app->quit_prompt = true;
		return TUI_DIRTY_STATUS;
	}
	*quit = true;
	return 0;
}

/* A key while the quit prompt is open: kill, detach (then quit) or cancel. */
static unsigned tui_app_quit_prompt_key(struct tui_app *app, int key, bool *quit)
{
	switch (tui_quit_prompt_key(key)) {
	case TUI_QUIT_KILL:
		app->src.ops->request(app->src.ctx, TUI_LIVE_KILL);
		*quit = true;
		return 0;
	case TUI_QUIT_DETACH:
		app->src.ops->request(app->src.ctx, TUI_LIVE_DETACH);
		*quit = true;
		return 0;
	case TUI_QUIT_CANCEL:
		app->quit_prompt = false;
		return TUI_DIRTY_ALL;
	default:
		return 0;
	}
}

/* A key while browsing. Returns dirty flags; sets *quit. */
static unsigned tui_app_browse_key(struct tui_app *app, int key, bool *quit)
{
	enum tui_action a = tui_key_action(TUI_CTX_BROWSE, key);
	if (app->help_open) {
		unsigned d = app->help->ops->act(app->help, app, a);
		if (d)
			return d;
		app->help_open = false;
		return a == TUI_ACT_QUIT ? tui_app_quit(app, quit) | TUI_DIRTY_ALL : TUI_DIRTY_ALL;
	}
	struct tui_view *v = app->views[app->current];
	switch (a) {
	case TUI_ACT_NONE:
		return 0;
	case TUI_ACT_QUIT:
		return tui_app_quit(app, quit);
	case TUI_ACT_CAPTURE:
		if (!app->live || app->st.state != TUI_LIVE_RUNNING) {
			snprintf(app->message, sizeof(app->message), "%s",
			         app->live ? "capture has ended" : "not capturing: a saved session");
			app->message_error = true;
			return TUI_DIRTY_BAR;
		}
		app->src.ops->request(app->src.ctx,
		                      app->st.capture_on ? TUI_LIVE_CAPTURE_OFF : TUI_LIVE_CAPTURE_ON);
		app->src.ops->status(app->src.ctx, &app->st);
		return TUI_DIRTY_STATUS;
	case TUI_ACT_HELP:
		app->help_open = true;
		return TUI_DIRTY_ALL;
	case TUI_ACT_NEXT_VIEW:
	case TUI_ACT_PREV_VIEW:
		app->current = (app->current + (a == TUI_ACT_NEXT_VIEW ? 1 : app->nviews - 1)) % app->nviews;
		return TUI_DIRTY_ALL;
	case TUI_ACT_VIEW_1:
	case TUI_ACT_VIEW_2:
	case TUI_ACT_VIEW_3:
	case TUI_ACT_VIEW_4:
		if ((size_t)(a - TUI_ACT_VIEW_1) < app->nviews)
			app->current = (size_t)(a - TUI_ACT_VIEW_1);
		return TUI_DIRTY_ALL;
	case TUI_ACT_VIEW_5:
		if (app->nviews > 4)
			app->current = 4;
		return TUI_DIRTY_ALL;
	case TUI_ACT_FILTER:
	case TUI_ACT_FILTER_REGEX:
		if (!v->ops->filter)
			return 0;
		app->prompt_on = true;
		app->prompt_regex = a == TUI_ACT_FILTER_REGEX;
		snprintf(app->prompt, sizeof(app->prompt), "%s", v->ops->filter_text(v));
		app->prompt_len = strlen(app->prompt);
		return TUI_DIRTY_BAR;
	case TUI_ACT_DETAILS:
		app->details_on = !app->details_on;
		tui_app_layout(app);
		return TUI_DIRTY_ALL;
	case TUI_ACT_DETAILS_UP:
		if (app->details_top)
			app->details_top--;
		return TUI_DIRTY_VIEW;
	case TUI_ACT_DETAILS_DOWN:
		if (app->details_top + 1 < app->details.n)
			app->details_top++;
		return TUI_DIRTY_VIEW;
	case TUI_ACT_REDRAW:
		clearok(curscr, TRUE);
		return TUI_DIRTY_ALL;
	default:
		return v->ops->act(v, app, a);
	}
}

/* A mouse event: tabs in the bar, rows in the view. */
static unsigned tui_app_mouse(struct tui_app *app)
{
	MEVENT me;
	if (getmouse(&me) != OK || app->lay.too_small)
		return 0;
	int button = me.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED) ? 1
	             : me.bstate & BUTTON4_PRESSED                   ? 4
#ifdef BUTTON5_PRESSED
	             : me.bstate & BUTTON5_PRESSED ? 5
#endif
	                                           : 0;
	if (!button)
		return 0;
	if (button == 1 && me.y == app->lay.bar.y) {
		for (size_t i = 0; i < app->nviews; i++)
			if (me.x >= app->tab_x[i] && me.x < app->tab_x[i + 1]) {
				app->current = i;
				app->help_open = false;
				return TUI_DIRTY_ALL;
			}
		return 0;
	}
	const struct tui_rect *r = &app->lay.view;
	if (me.y < r->y || me.y >= r->y + r->h) {
		if (button != 1 && app->win_details && me.y >= app->lay.details.y &&
		    me.y < app->lay.details.y + app->lay.details.h)
			return tui_app_browse_key(app, button == 4 ? '[' : ']', &(bool){false});
		return 0;
	}
	struct tui_view *v = app->help_open ? app->help : app->views[app->current];
	return v->ops->mouse(v, app, me.y - r->y, me.x - r->x, button);
}

/* Starts curses; false when the terminal cannot be used. */
static bool tui_app_start(struct tui_app *app, struct err *e)
{
	setlocale(LC_ALL, "");
	const char *cs = nl_langinfo(CODESET);
	app->utf8 = cs && !strcmp(cs, "UTF-8");
	if (!getenv("ESCDELAY"))
		set_escdelay(25);
	app->screen = newterm(NULL, stdout, stdin);
	if (!app->screen) {
		err_fmt(e, "cannot start the terminal interface (TERM=%s)",
		        getenv("TERM") ? getenv("TERM") : "");
		return false;
	}
	if (app->live)
		raw(); /* Ctrl-C is a key: it asks before quitting, the program never sees it */
	else
		cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	timeout(app->live ? 0 : 250); /* live: the capture's poll waits, on the terminal too */
	mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
	              | BUTTON5_PRESSED
#endif
	          ,
	          NULL);
	mouseinterval(0);
	tui_looks_init(app);
	return true;
}

/* The session clock (CLOCK_MONOTONIC), in ns. */
static int64_t tui_app_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Live: one turn of the source's capture, then its status. Returns dirty
 * flags; opens the quit prompt on an interrupt (a second one while it is
 * open kills the program and quits, as `tstop record` does). */
static unsigned tui_app_live_step(struct tui_app *app, bool *quit, int64_t *last_status)
{
	unsigned f = app->src.ops->step(app->src.ctx, TUI_LIVE_TICK_MS, STDIN_FILENO);
	unsigned dirty = 0;
	enum tui_live_state before = app->st.state;
	if (f & TUI_STEP_EVENTS)
		app->stale = true;
	app->src.ops->status(app->src.ctx, &app->st);
	int64_t now = tui_app_now();
	tui_rate_update(&app->rate, now, app->st.events);
	if (now - *last_status >= TUI_LIVE_STATUS_NS || app->st.state != before) {
		*last_status = now;
		dirty |= TUI_DIRTY_STATUS;
	}
	if (app->quit_prompt && app->st.state != TUI_LIVE_RUNNING) {
		app->quit_prompt = false; /* nothing left to ask */
		dirty |= TUI_DIRTY_ALL;
	}
	/* The terminal hung up: nobody to ask or show anything to; the caller
	 * finishes the capture without the interface. */
	struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
	if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))) {
		*quit = true;
		return dirty;
	}
	if (f & TUI_STEP_INTERRUPT) {
		if (app->quit_prompt) {
			app->src.ops->request(app->src.ctx, TUI_LIVE_KILL);
			*quit = true;
		} else {
			dirty |= tui_app_quit(app, quit);
		}
	}
	return dirty;
}

/* Handles one key (or resize, or mouse event) from getch. Returns dirty flags. */
static unsigned tui_app_input(struct tui_app *app, int ch, bool *quit)
{
	unsigned dirty = 0;
	if (ch != KEY_RESIZE && ch != KEY_MOUSE && app->message[0]) {
		app->message[0] = '\0';
		dirty |= TUI_DIRTY_BAR;
	}
	if (ch == KEY_RESIZE) {
		tui_app_layout(app);
		clearok(curscr, TRUE);
		dirty = TUI_DIRTY_ALL;
	} else if (app->quit_prompt) {
		dirty |= tui_app_quit_prompt_key(app, tui_app_key(ch), quit);
	} else if (ch == KEY_MOUSE) {
		dirty |= tui_app_mouse(app);
	} else if (app->lay.too_small) {
		if (ch == 'q' || ch == TUI_KEY_CTRL_C)
			dirty |= tui_app_quit(app, quit);
	} else if (app->prompt_on) {
		dirty |= tui_app_prompt_key(app, tui_app_key(ch));
	} else {
		dirty |= tui_app_browse_key(app, tui_app_key(ch), quit);
	}
	return dirty;
}

int tui_app_run(struct tui_source *src, struct err *e)
{
	struct tui_app app;
	memset(&app, 0, sizeof(app));
	app.src = *src;
	app.live = src->ops->step != NULL;
	app.details_on = true;
	app.views[app.nviews++] = tui_timeline_view_new();
	for (int k = 0; k < TUI_TABLE_SUMMARY_COUNT; k++)
		app.views[app.nviews++] = tui_table_view_new((enum tui_table_kind)k);
	app.help = tui_help_view_new();
	struct sigaction sa, old[3];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tui_on_signal;
	sigemptyset(&sa.sa_mask);
	const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
	int rc = 0;
	if (app.live)
		app.src.ops->status(app.src.ctx, &app.st);
	if (!tui_app_start(&app, e)) {
		rc = -1;
		goto out;
	}
	/* Live: the capture's handlers stay (they wake its poll and count
	 * interrupts, which step() reports). */
	if (!app.live)
		for (int i = 0; i < 3; i++)
			sigaction(sigs[i], &sa, &old[i]);
	tui_app_layout(&app);
	uint64_t generation = 0;
	unsigned dirty = TUI_DIRTY_ALL;
	bool quit = false, first = true;
	int64_t last_status = 0;
	app.last_publish = tui_app_now();
	while (!quit && !tui_stop_signal) {
		/* 1. capture work (live), waiting on the terminal too; or wait for a key */
		int ch = ERR;
		if (app.live)
			dirty |= tui_app_live_step(&app, &quit, &last_status);
		if (quit)
			break;
		if (!first || app.live)
			ch = getch();
		first = false;
		/* 2. a stale snapshot is published before any key reads it */
		if (app.live && tui_publish_due(app.stale, ch != ERR, tui_app_now(), app.last_publish)) {
			app.src.ops->publish(app.src.ctx);
			app.stale = false;
			app.last_publish = tui_app_now();
		}
		app.snap = app.src.ops->acquire(app.src.ctx);
		if (app.snap->generation != generation) {
			/* new data: views rebuild what they derived (keeping their state)
			 * when they next draw; the correlation index is built again */
			generation = app.snap->generation;
			tui_corr_free(app.corr);
			app.corr = NULL;
			dirty = TUI_DIRTY_ALL;
		}
		/* 3. every key waiting, then one frame */
		for (; ch != ERR && !quit; ch = app.live ? getch() : ERR)
			dirty |= tui_app_input(&app, ch, &quit);
		if (dirty && !quit)
			tui_app_frame(&app, dirty);
		if (!app.stale || quit)
			dirty = 0;
		else
			dirty &= ~TUI_DIRTY_STATUS; /* the rest waits for the publish */
		app.src.ops->release(app.src.ctx, app.snap);
	}
	WINDOW **wins[] = {&app.win_status, &app.win_bar, &app.win_view, &app.win_details, &app.win_footer};
	for (size_t i = 0; i < sizeof(wins) / sizeof(wins[0]); i++)
		if (*wins[i])
			delwin(*wins[i]);
	endwin();
	delscreen(app.screen);
	if (!app.live)
		for (int i = 0; i < 3; i++)
			sigaction(sigs[i], &old[i], NULL);
out:
	for (size_t i = 0; i < app.nviews; i++)
		app.views[i]->ops->free(app.views[i]);
	app.help->ops->free(app.help);
	tui_details_free(&app.details);
	tui_corr_free(app.corr);
	return rc;
}

/* tui.h: the offline entry point. */
int tui_open_session(struct trace_session *s, const char *path, struct err *e)
{
	struct tui_snapshot snap = {.s = s, .generation = 1, .live = false, .path = path};
	struct tui_source src;
	tui_source_static(&src, &snap);
	return tui_app_run(&src, e);
}
