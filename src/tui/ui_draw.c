/*
 * ui_draw.c - drawing helpers of the TUI: names drawn safely, glyphs by
 * locale, and the looks (color or monochrome).
 *
 * Every byte of text that comes from a session reaches the terminal through
 * tui_draw_text, which walks it with report_escape_step (report/format.h):
 * control characters, escape sequences, bidi controls and invalid UTF-8 are
 * drawn as visible escapes, never sent raw.
 */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "report/format.h"
#include "tui/ui.h"

const char *tui_glyph_hline(const struct tui_app *app)
{
	return app->utf8 ? "\u2500" : "-";
}

const char *tui_glyph_vline(const struct tui_app *app)
{
	return app->utf8 ? "\u2502" : "|";
}

const char *tui_glyph_ellipsis(const struct tui_app *app)
{
	return app->utf8 ? "\u2026" : "~";
}

const char *tui_glyph_down(const struct tui_app *app)
{
	return app->utf8 ? "\u25bc" : "v";
}

const char *tui_glyph_up(const struct tui_app *app)
{
	return app->utf8 ? "\u25b2" : "^";
}

/* Color pairs by look; monochrome uses attributes alone. */
void tui_looks_init(struct tui_app *app)
{
	const char *no = getenv("NO_COLOR");
	app->color = has_colors() && !(no && no[0]);
	if (!app->color)
		return;
	if (start_color() != OK) {
		app->color = false;
		return;
	}
	use_default_colors();
	init_pair(TUI_LOOK_STATUS, COLOR_BLACK, COLOR_CYAN);
	init_pair(TUI_LOOK_HEADER, COLOR_CYAN, -1);
	init_pair(TUI_LOOK_SELECT, COLOR_BLACK, COLOR_YELLOW);
	init_pair(TUI_LOOK_ESCAPE, COLOR_MAGENTA, -1);
	init_pair(TUI_LOOK_ERROR, COLOR_WHITE, COLOR_RED);
	init_pair(TUI_LOOK_KEY, COLOR_CYAN, -1);
	init_pair(TUI_LOOK_DIM, COLOR_BLUE, -1);
}

attr_t tui_look(const struct tui_app *app, enum tui_look look)
{
	if (app->color) {
		attr_t extra = look == TUI_LOOK_HEADER || look == TUI_LOOK_KEY ? A_BOLD : 0;
		return COLOR_PAIR(look) | extra;
	}
	switch (look) {
	case TUI_LOOK_STATUS:
	case TUI_LOOK_SELECT:
	case TUI_LOOK_ERROR:
		return A_REVERSE;
	case TUI_LOOK_HEADER:
	case TUI_LOOK_KEY:
		return A_BOLD;
	case TUI_LOOK_ESCAPE:
		return A_UNDERLINE;
	default:
		return A_DIM;
	}
}

void tui_draw_blank(WINDOW *w, int y, int x, int width, attr_t attr)
{
	if (width <= 0)
		return;
	wattrset(w, attr);
	mvwhline(w, y, x, ' ', width);
	wattrset(w, A_NORMAL);
}

/* Columns of the UTF-8 character at p (n bytes, valid: the escaper said
 * so): wcwidth when the locale is UTF-8; -1 when it cannot be shown. */
static int tui_char_cols(const char *p, size_t n)
{
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	wchar_t wc;
	size_t r = mbrtowc(&wc, p, n, &st);
	if (r == (size_t)-1 || r == (size_t)-2)
		return -1;
	return wcwidth(wc);
}

/* Length of the UTF-8 sequence that starts with byte b (1 for ASCII). */
static size_t tui_utf8_len(unsigned char b)
{
	if (b < 0x80)
		return 1;
	if ((b & 0xe0) == 0xc0)
		return 2;
	if ((b & 0xf0) == 0xe0)
		return 3;
	if ((b & 0xf8) == 0xf0)
		return 4;
	return 1;
}

size_t tui_draw_text(const struct tui_app *app, WINDOW *w, int y, int x, int width, const char *s, size_t len,
                     attr_t attr, bool ellipsis, int *used)
{
	int col = 0;
	size_t pos = 0;
	if (used)
		*used = 0;
	if (width <= 0)
		return 0;
	wmove(w, y, x);
	while (pos < len) {
		char esc[REPORT_ESCAPE_MAX];
		size_t cols;
		size_t n = report_escape_step(s + pos, len - pos, esc, &cols);
		if (esc[0]) { /* one escaped character: all of it or nothing */
			int ew = (int)strlen(esc);
			bool last = pos + n >= len;
			if (col + ew > width || (ellipsis && !last && col + ew > width - 1))
				break;
			wattrset(w, attr | tui_look(app, TUI_LOOK_ESCAPE));
			waddnstr(w, esc, ew);
			col += ew;
			pos += n;
			continue;
		}
		/* a run of characters to show as they are, one at a time */
		size_t end = pos + n;
		bool full = false;
		while (pos < end) {
			size_t cl = tui_utf8_len((unsigned char)s[pos]);
			if (cl > end - pos)
				cl = end - pos;
			int cw = 1;
			const char *out = s + pos;
			size_t outn = cl;
			if (cl > 1) {
				cw = app->utf8 ? tui_char_cols(s + pos, cl) : 1;
				if (!app->utf8 || cw < 0) {
					out = "?";
					outn = 1;
					cw = 1;
				}
			}
			bool last = pos + cl >= len;
			if (col + cw > width || (ellipsis && !last && col + cw > width - 1)) {
				full = true;
				break;
			}
			wattrset(w, attr);
			waddnstr(w, out, (int)outn);
			col += cw;
			pos += cl;
		}
		if (full)
			break;
	}
	if (pos < len && ellipsis && col < width) {
		wattrset(w, attr);
		waddstr(w, tui_glyph_ellipsis(app));
		col++;
	}
	wattrset(w, A_NORMAL);
	if (used)
		*used = col;
	return pos;
}
