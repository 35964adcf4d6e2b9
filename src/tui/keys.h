/*
 * keys.h - the TUI's key table: the one place keys are defined.
 *
 * Every key the interface understands is a row of one table (keys.c) that
 * binds it, in a context (browsing, or editing the filter prompt), to an
 * action and carries the help text of that action. The help screen, the
 * footer and the KEYS section of man/tstop.1 are all generated from, or
 * checked against, this table (tests/unit/test_tui_keys.c): no key is
 * bound twice in one context, and every action has a key and a help line.
 *
 * Keys are plain ints: a printable ASCII character or a control character
 * is itself; special keys are the TUI_KEY_* codes below, to which the
 * curses layer (ui_app.c) translates curses' KEY_* codes. Nothing here
 * includes curses.
 */
#ifndef TSTOP_TUI_KEYS_H
#define TSTOP_TUI_KEYS_H

#include <stdbool.h>
#include <stddef.h>

/* Special keys, above every character code. */
enum tui_key {
	TUI_KEY_ESC = 27,
	TUI_KEY_TAB = 9,
	TUI_KEY_ENTER = 10,
	TUI_KEY_CTRL_C = 3,
	TUI_KEY_CTRL_L = 12,
	TUI_KEY_BACKSPACE = 127,
	TUI_KEY_SPECIAL = 0x110000,
	TUI_KEY_UP = TUI_KEY_SPECIAL,
	TUI_KEY_DOWN,
	TUI_KEY_LEFT,
	TUI_KEY_RIGHT,
	TUI_KEY_PGUP,
	TUI_KEY_PGDN,
	TUI_KEY_HOME,
	TUI_KEY_END,
	TUI_KEY_BTAB, /* Shift-Tab */
	TUI_KEY_F1,
};

/* Where a key is read. */
enum tui_key_context {
	TUI_CTX_BROWSE = 0, /* the views */
	TUI_CTX_PROMPT = 1, /* editing the filter */
	TUI_CTX_COUNT
};

/* What a key does. Views and the app interpret these; none of them draws. */
enum tui_action {
	TUI_ACT_NONE = 0,
	TUI_ACT_QUIT,
	TUI_ACT_HELP,
	TUI_ACT_NEXT_VIEW,
	TUI_ACT_PREV_VIEW,
	TUI_ACT_VIEW_1,
	TUI_ACT_VIEW_2,
	TUI_ACT_VIEW_3,
	TUI_ACT_VIEW_4,
	TUI_ACT_UP,
	TUI_ACT_DOWN,
	TUI_ACT_PAGE_UP,
	TUI_ACT_PAGE_DOWN,
	TUI_ACT_HOME,
	TUI_ACT_END,
	TUI_ACT_SORT_NEXT,
	TUI_ACT_SORT_PREV,
	TUI_ACT_SORT_REVERSE,
	TUI_ACT_FILTER,
	TUI_ACT_FILTER_REGEX,
	TUI_ACT_OPEN,
	TUI_ACT_BACK,
	TUI_ACT_DETAILS,
	TUI_ACT_DETAILS_UP,
	TUI_ACT_DETAILS_DOWN,
	TUI_ACT_REDRAW,
	TUI_ACT_CAPTURE, /* live view: capture on/off */
	/* the timeline (views without a timeline ignore these) */
	TUI_ACT_VIEW_5,
	TUI_ACT_ZOOM_IN,
	TUI_ACT_ZOOM_OUT,
	TUI_ACT_PAN_LEFT,
	TUI_ACT_PAN_RIGHT,
	TUI_ACT_FIT,
	TUI_ACT_ZOOM_EVENT,
	TUI_ACT_NEXT_EVENT,
	TUI_ACT_PREV_EVENT,
	TUI_ACT_JUMP_LINK,
	TUI_ACT_FOLLOW,
	/* prompt context */
	TUI_ACT_PROMPT_ACCEPT,
	TUI_ACT_PROMPT_CANCEL,
	TUI_ACT_PROMPT_ERASE,
	TUI_ACT_PROMPT_KILL,
	TUI_ACT_COUNT
};

/* One binding. */
struct tui_binding {
	int key;
	unsigned char context; /* enum tui_key_context */
	unsigned char action;  /* enum tui_action */
};

/* What an action is, for the help screen, the footer and the man page. */
struct tui_action_info {
	unsigned char context; /* enum tui_key_context */
	const char *help;      /* one line */
	const char *footer;    /* short label for the footer, NULL when not shown there */
};

/* The binding table and its length. */
const struct tui_binding *tui_key_bindings(size_t *n);

/* The description of action `a` (0 < a < TUI_ACT_COUNT). */
const struct tui_action_info *tui_action_info(enum tui_action a);

/* The action bound to `key` in `ctx`, or TUI_ACT_NONE. O(bindings). */
enum tui_action tui_key_action(enum tui_key_context ctx, int key);

/* Writes the name of `key` as help shows it ("q", "Tab", "Up", "Ctrl-L",
 * "Space") into out (cap >= 16); returns out. */
const char *tui_key_name(int key, char *out, size_t cap);

/* The quit prompt of the live view ("the program is still running"):
 * what a key answers. Its keys are fixed, not bound in the table: k kills
 * the program, d detaches from it, c or Esc (or Ctrl-C, q) cancels; any
 * other key leaves the prompt open (TUI_QUIT_NONE). Pure. */
enum tui_quit_answer { TUI_QUIT_NONE = 0, TUI_QUIT_KILL, TUI_QUIT_DETACH, TUI_QUIT_CANCEL };
enum tui_quit_answer tui_quit_prompt_key(int key);

/* Writes the keys of action `a`, in table order, as "Up, k" into out;
 * returns the number of keys (0: the action has none). */
size_t tui_action_keys(enum tui_action a, char *out, size_t cap);

#endif
