/*
 * tui.h - the terminal interface as commands see it. No curses here: the
 * commands in src/cli/ include this, and only src/tui/ui_*.c use curses.
 */
#ifndef TSTOP_TUI_TUI_H
#define TSTOP_TUI_TUI_H

#include "trace/session.h"
#include "util/err.h"

/* Shows the finished session `s` (loaded from `path`, which may be NULL)
 * in the terminal on stdin/stdout until the user quits. The caller owns
 * `s`. Returns 0, or -1 with `e` filled when the terminal cannot be used;
 * the terminal is restored either way. */
int tui_open_session(struct trace_session *s, const char *path, struct err *e);

/* Runs the interface over `src` (model.h; a live source drives its
 * capture from the interface's loop) until the user quits. Returns 0, or
 * -1 with `e` filled when the terminal cannot be used. */
struct tui_source;
int tui_app_run(struct tui_source *src, struct err *e);

#endif
