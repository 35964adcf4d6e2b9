/*
 * keys.c - the key table (keys.h): every key of the TUI, its action and
 * the help line of that action. Adding a key means adding a row here; the
 * help screen, the footer and the unit test that checks man/tstop.1 pick
 * it up. No curses here.
 */
#include "tui/keys.h"

#include <stdio.h>
#include <string.h>

static const struct tui_action_info tui_actions[TUI_ACT_COUNT] = {
    [TUI_ACT_QUIT] = {TUI_CTX_BROWSE, "Quit", "Quit"},
    [TUI_ACT_HELP] = {TUI_CTX_BROWSE, "Show this help; any key closes it", "Help"},
    [TUI_ACT_NEXT_VIEW] = {TUI_CTX_BROWSE, "Next view", "View"},
    [TUI_ACT_PREV_VIEW] = {TUI_CTX_BROWSE, "Previous view", NULL},
    [TUI_ACT_VIEW_1] = {TUI_CTX_BROWSE, "Timeline", NULL},
    [TUI_ACT_VIEW_2] = {TUI_CTX_BROWSE, "Kernels table", NULL},
    [TUI_ACT_VIEW_3] = {TUI_CTX_BROWSE, "API calls table", NULL},
    [TUI_ACT_VIEW_4] = {TUI_CTX_BROWSE, "Memory copies and sets table", NULL},
    [TUI_ACT_VIEW_5] = {TUI_CTX_BROWSE, "NVTX ranges table", NULL},
    [TUI_ACT_UP] = {TUI_CTX_BROWSE, "Select the row (timeline: the lane) above", NULL},
    [TUI_ACT_DOWN] = {TUI_CTX_BROWSE, "Select the row (timeline: the lane) below", NULL},
    [TUI_ACT_PAGE_UP] = {TUI_CTX_BROWSE, "One page up", NULL},
    [TUI_ACT_PAGE_DOWN] = {TUI_CTX_BROWSE, "One page down", NULL},
    [TUI_ACT_HOME] = {TUI_CTX_BROWSE, "First row", NULL},
    [TUI_ACT_END] = {TUI_CTX_BROWSE, "Last row", NULL},
    [TUI_ACT_SORT_NEXT] = {TUI_CTX_BROWSE, "Sort by the next column", "Sort"},
    [TUI_ACT_SORT_PREV] = {TUI_CTX_BROWSE, "Sort by the previous column", NULL},
    [TUI_ACT_SORT_REVERSE] = {TUI_CTX_BROWSE, "Reverse the sort order", "Reverse"},
    [TUI_ACT_FILTER] = {TUI_CTX_BROWSE, "Filter names by a substring (case-insensitive)", "Filter"},
    [TUI_ACT_FILTER_REGEX] = {TUI_CTX_BROWSE, "Filter names by a POSIX extended regex (case-insensitive)",
                              "Regex"},
    [TUI_ACT_OPEN] = {TUI_CTX_BROWSE,
                      "List the instances of the selected row, by start time; on an instance, show it on "
                      "the timeline (timeline: select the event at the cursor)",
                      "Select"},
    [TUI_ACT_BACK] = {TUI_CTX_BROWSE, "Back from the instance list; else clear the filter", "Back"},
    [TUI_ACT_DETAILS] = {TUI_CTX_BROWSE, "Show or hide the details pane", "Details"},
    [TUI_ACT_DETAILS_UP] = {TUI_CTX_BROWSE, "Scroll the details pane up", NULL},
    [TUI_ACT_DETAILS_DOWN] = {TUI_CTX_BROWSE, "Scroll the details pane down", NULL},
    [TUI_ACT_REDRAW] = {TUI_CTX_BROWSE, "Redraw the screen", NULL},
    [TUI_ACT_CAPTURE] = {TUI_CTX_BROWSE, "Live view: switch capture off or on (the program runs on)",
                         "Capture"},
    [TUI_ACT_ZOOM_IN] = {TUI_CTX_BROWSE, "Timeline: zoom in around the cursor", "Zoom"},
    [TUI_ACT_ZOOM_OUT] = {TUI_CTX_BROWSE, "Timeline: zoom out around the cursor", NULL},
    [TUI_ACT_PAN_LEFT] = {TUI_CTX_BROWSE, "Timeline: pan to earlier times (stops following)", NULL},
    [TUI_ACT_PAN_RIGHT] = {TUI_CTX_BROWSE, "Timeline: pan to later times (stops following)", NULL},
    [TUI_ACT_FIT] = {TUI_CTX_BROWSE, "Timeline: fit the whole session", "Fit"},
    [TUI_ACT_ZOOM_EVENT] = {TUI_CTX_BROWSE, "Timeline: zoom to the selected event", NULL},
    [TUI_ACT_NEXT_EVENT] = {TUI_CTX_BROWSE, "Timeline: select the next event of the lane", NULL},
    [TUI_ACT_PREV_EVENT] = {TUI_CTX_BROWSE, "Timeline: select the previous event of the lane", NULL},
    [TUI_ACT_JUMP_LINK] = {TUI_CTX_BROWSE,
                           "Timeline: go to the linked event (the launching API call, or the GPU work)",
                           NULL},
    [TUI_ACT_FOLLOW] = {TUI_CTX_BROWSE, "Timeline: follow the newest time (live sessions)", NULL},
    [TUI_ACT_PROMPT_ACCEPT] = {TUI_CTX_PROMPT, "Apply the filter (an empty one clears it)", NULL},
    [TUI_ACT_PROMPT_CANCEL] = {TUI_CTX_PROMPT, "Cancel editing, keep the previous filter", NULL},
    [TUI_ACT_PROMPT_ERASE] = {TUI_CTX_PROMPT, "Erase the last character", NULL},
    [TUI_ACT_PROMPT_KILL] = {TUI_CTX_PROMPT, "Erase the whole filter text", NULL},
};

static const struct tui_binding tui_bindings[] = {
    {'q', TUI_CTX_BROWSE, TUI_ACT_QUIT},
    {TUI_KEY_CTRL_C, TUI_CTX_BROWSE, TUI_ACT_QUIT},
    {'?', TUI_CTX_BROWSE, TUI_ACT_HELP},
    {TUI_KEY_F1, TUI_CTX_BROWSE, TUI_ACT_HELP},
    {TUI_KEY_TAB, TUI_CTX_BROWSE, TUI_ACT_NEXT_VIEW},
    {TUI_KEY_BTAB, TUI_CTX_BROWSE, TUI_ACT_PREV_VIEW},
    {'1', TUI_CTX_BROWSE, TUI_ACT_VIEW_1},
    {'2', TUI_CTX_BROWSE, TUI_ACT_VIEW_2},
    {'3', TUI_CTX_BROWSE, TUI_ACT_VIEW_3},
    {'4', TUI_CTX_BROWSE, TUI_ACT_VIEW_4},
    {'5', TUI_CTX_BROWSE, TUI_ACT_VIEW_5},
    {TUI_KEY_UP, TUI_CTX_BROWSE, TUI_ACT_UP},
    {'k', TUI_CTX_BROWSE, TUI_ACT_UP},
    {TUI_KEY_DOWN, TUI_CTX_BROWSE, TUI_ACT_DOWN},
    {'j', TUI_CTX_BROWSE, TUI_ACT_DOWN},
    {TUI_KEY_PGUP, TUI_CTX_BROWSE, TUI_ACT_PAGE_UP},
    {TUI_KEY_PGDN, TUI_CTX_BROWSE, TUI_ACT_PAGE_DOWN},
    {' ', TUI_CTX_BROWSE, TUI_ACT_PAGE_DOWN},
    {TUI_KEY_HOME, TUI_CTX_BROWSE, TUI_ACT_HOME},
    {'g', TUI_CTX_BROWSE, TUI_ACT_HOME},
    {TUI_KEY_END, TUI_CTX_BROWSE, TUI_ACT_END},
    {'G', TUI_CTX_BROWSE, TUI_ACT_END},
    {'s', TUI_CTX_BROWSE, TUI_ACT_SORT_NEXT},
    {'>', TUI_CTX_BROWSE, TUI_ACT_SORT_NEXT},
    {'<', TUI_CTX_BROWSE, TUI_ACT_SORT_PREV},
    {'r', TUI_CTX_BROWSE, TUI_ACT_SORT_REVERSE},
    {'f', TUI_CTX_BROWSE, TUI_ACT_FILTER},
    {'/', TUI_CTX_BROWSE, TUI_ACT_FILTER_REGEX},
    {TUI_KEY_ENTER, TUI_CTX_BROWSE, TUI_ACT_OPEN},
    {TUI_KEY_ESC, TUI_CTX_BROWSE, TUI_ACT_BACK},
    {TUI_KEY_BACKSPACE, TUI_CTX_BROWSE, TUI_ACT_BACK},
    {'d', TUI_CTX_BROWSE, TUI_ACT_DETAILS},
    {'[', TUI_CTX_BROWSE, TUI_ACT_DETAILS_UP},
    {']', TUI_CTX_BROWSE, TUI_ACT_DETAILS_DOWN},
    {TUI_KEY_CTRL_L, TUI_CTX_BROWSE, TUI_ACT_REDRAW},
    {'p', TUI_CTX_BROWSE, TUI_ACT_CAPTURE},
    {'+', TUI_CTX_BROWSE, TUI_ACT_ZOOM_IN},
    {'=', TUI_CTX_BROWSE, TUI_ACT_ZOOM_IN},
    {'-', TUI_CTX_BROWSE, TUI_ACT_ZOOM_OUT},
    {TUI_KEY_LEFT, TUI_CTX_BROWSE, TUI_ACT_PAN_LEFT},
    {'h', TUI_CTX_BROWSE, TUI_ACT_PAN_LEFT},
    {TUI_KEY_RIGHT, TUI_CTX_BROWSE, TUI_ACT_PAN_RIGHT},
    {'l', TUI_CTX_BROWSE, TUI_ACT_PAN_RIGHT},
    {'a', TUI_CTX_BROWSE, TUI_ACT_FIT},
    {'z', TUI_CTX_BROWSE, TUI_ACT_ZOOM_EVENT},
    {'n', TUI_CTX_BROWSE, TUI_ACT_NEXT_EVENT},
    {'N', TUI_CTX_BROWSE, TUI_ACT_PREV_EVENT},
    {'c', TUI_CTX_BROWSE, TUI_ACT_JUMP_LINK},
    {'F', TUI_CTX_BROWSE, TUI_ACT_FOLLOW},
    {TUI_KEY_ENTER, TUI_CTX_PROMPT, TUI_ACT_PROMPT_ACCEPT},
    {TUI_KEY_ESC, TUI_CTX_PROMPT, TUI_ACT_PROMPT_CANCEL},
    {TUI_KEY_BACKSPACE, TUI_CTX_PROMPT, TUI_ACT_PROMPT_ERASE},
    {21 /* Ctrl-U */, TUI_CTX_PROMPT, TUI_ACT_PROMPT_KILL},
};

#define TUI_NBINDINGS (sizeof(tui_bindings) / sizeof(tui_bindings[0]))

/* The table; n gets its length. */
const struct tui_binding *tui_key_bindings(size_t *n)
{
	*n = TUI_NBINDINGS;
	return tui_bindings;
}

/* The static description of action a; an empty one for out-of-range. */
const struct tui_action_info *tui_action_info(enum tui_action a)
{
	static const struct tui_action_info none = {0, "", NULL};
	if ((int)a <= 0 || a >= TUI_ACT_COUNT)
		return &none;
	return &tui_actions[a];
}

/* Linear lookup: the table is a few dozen rows. */
enum tui_action tui_key_action(enum tui_key_context ctx, int key)
{
	for (size_t i = 0; i < TUI_NBINDINGS; i++)
		if (tui_bindings[i].key == key && tui_bindings[i].context == ctx)
			return (enum tui_action)tui_bindings[i].action;
	return TUI_ACT_NONE;
}

/* Names special keys, control characters and space; other keys are themselves. */
const char *tui_key_name(int key, char *out, size_t cap)
{
	static const char *const special[] = {"Up",   "Down", "Left", "Right",     "PgUp",
	                                      "PgDn", "Home", "End",  "Shift-Tab", "F1"};
	if (key >= TUI_KEY_SPECIAL && key <= TUI_KEY_F1)
		snprintf(out, cap, "%s", special[key - TUI_KEY_SPECIAL]);
	else if (key == TUI_KEY_ESC)
		snprintf(out, cap, "Esc");
	else if (key == TUI_KEY_TAB)
		snprintf(out, cap, "Tab");
	else if (key == TUI_KEY_ENTER)
		snprintf(out, cap, "Enter");
	else if (key == TUI_KEY_BACKSPACE)
		snprintf(out, cap, "Backspace");
	else if (key == ' ')
		snprintf(out, cap, "Space");
	else if (key > 0 && key < 32)
		snprintf(out, cap, "Ctrl-%c", 'A' + key - 1);
	else if (key > 32 && key < 127)
		snprintf(out, cap, "%c", key);
	else
		snprintf(out, cap, "#%d", key);
	return out;
}

/* Fixed answers: see keys.h. */
enum tui_quit_answer tui_quit_prompt_key(int key)
{
	switch (key) {
	case 'k':
	case 'K':
		return TUI_QUIT_KILL;
	case 'd':
	case 'D':
		return TUI_QUIT_DETACH;
	case 'c':
	case 'C':
	case 'q':
	case TUI_KEY_ESC:
	case TUI_KEY_CTRL_C:
		return TUI_QUIT_CANCEL;
	default:
		return TUI_QUIT_NONE;
	}
}

/* Joins the names of a's keys with ", " in table order. */
size_t tui_action_keys(enum tui_action a, char *out, size_t cap)
{
	size_t n = 0, used = 0;
	if (cap)
		out[0] = '\0';
	for (size_t i = 0; i < TUI_NBINDINGS; i++) {
		if (tui_bindings[i].action != a)
			continue;
		char name[16];
		tui_key_name(tui_bindings[i].key, name, sizeof(name));
		int w = snprintf(out + used, cap > used ? cap - used : 0, "%s%s", n ? ", " : "", name);
		if (w > 0)
			used += (size_t)w;
		if (used >= cap)
			used = cap ? cap - 1 : 0;
		n++;
	}
	return n;
}
