/*
 * test_tui_live.c - the pure logic of the live view: the events/s rate of
 * the status line (tui_rate_update), when a stale snapshot is published
 * (tui_publish_due) and the answers of the quit prompt
 * (tui_quit_prompt_key). No terminal, no capture.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tui/keys.h"
#include "tui/model.h"

#define SEC 1000000000LL

/* No rate before a full window; then the count over the window. */
static void test_rate_windows(void **state)
{
	(void)state;
	struct tui_rate r = {0};
	assert_true(tui_rate_update(&r, 5 * SEC, 100) == 0.0);
	assert_true(tui_rate_update(&r, 5 * SEC + SEC / 2, 600) == 0.0); /* half a window */
	double v = tui_rate_update(&r, 6 * SEC, 1100);                   /* 1000 events in 1 s */
	assert_true(v > 999.9 && v < 1000.1);
	/* the rate holds within the next window, then follows the new one */
	assert_true(tui_rate_update(&r, 6 * SEC + SEC / 4, 5000) == v);
	v = tui_rate_update(&r, 8 * SEC, 1100 + 4000);
	assert_true(v > 1999.9 && v < 2000.1); /* 4000 in 2 s */
	/* nothing new: 0 events/s after a window */
	assert_true(tui_rate_update(&r, 9 * SEC, 5100) == 0.0);
}

/* A count that goes down or a clock that goes back restarts the window
 * without a negative or huge rate. */
static void test_rate_restart(void **state)
{
	(void)state;
	struct tui_rate r = {0};
	tui_rate_update(&r, 1 * SEC, 1000);
	double v = tui_rate_update(&r, 2 * SEC, 500);
	assert_true(v == 0.0);
	v = tui_rate_update(&r, SEC / 2, 600);
	assert_true(v == 0.0);
	v = tui_rate_update(&r, SEC / 2 + SEC, 700);
	assert_true(v > 99.9 && v < 100.1);
	/* time 0 (a first sample at the clock's origin) still starts a window */
	struct tui_rate z = {0};
	tui_rate_update(&z, 0, 0);
	v = tui_rate_update(&z, SEC, 10);
	assert_true(v > 9.9 && v < 10.1);
}

/* Published when stale and a key waits, or a second after the last. */
static void test_publish_due(void **state)
{
	(void)state;
	assert_false(tui_publish_due(false, true, 10 * SEC, 0));
	assert_false(tui_publish_due(false, false, 10 * SEC, 0));
	assert_true(tui_publish_due(true, true, 1, 0));
	assert_false(tui_publish_due(true, false, SEC - 1, 0));
	assert_true(tui_publish_due(true, false, SEC, 0));
	assert_true(tui_publish_due(true, false, 5 * SEC, 3 * SEC));
}

/* k kills, d detaches, c / Esc / Ctrl-C / q cancel, anything else waits. */
static void test_quit_prompt(void **state)
{
	(void)state;
	assert_int_equal(tui_quit_prompt_key('k'), TUI_QUIT_KILL);
	assert_int_equal(tui_quit_prompt_key('K'), TUI_QUIT_KILL);
	assert_int_equal(tui_quit_prompt_key('d'), TUI_QUIT_DETACH);
	assert_int_equal(tui_quit_prompt_key('D'), TUI_QUIT_DETACH);
	assert_int_equal(tui_quit_prompt_key('c'), TUI_QUIT_CANCEL);
	assert_int_equal(tui_quit_prompt_key(TUI_KEY_ESC), TUI_QUIT_CANCEL);
	assert_int_equal(tui_quit_prompt_key(TUI_KEY_CTRL_C), TUI_QUIT_CANCEL);
	assert_int_equal(tui_quit_prompt_key('q'), TUI_QUIT_CANCEL);
	assert_int_equal(tui_quit_prompt_key('x'), TUI_QUIT_NONE);
	assert_int_equal(tui_quit_prompt_key(TUI_KEY_ENTER), TUI_QUIT_NONE);
	assert_int_equal(tui_quit_prompt_key(TUI_KEY_UP), TUI_QUIT_NONE);
	/* Ctrl-C while browsing asks to quit, like q */
	assert_int_equal(tui_key_action(TUI_CTX_BROWSE, TUI_KEY_CTRL_C), TUI_ACT_QUIT);
	assert_int_equal(tui_key_action(TUI_CTX_BROWSE, 'p'), TUI_ACT_CAPTURE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rate_windows),
	    cmocka_unit_test(test_rate_restart),
	    cmocka_unit_test(test_publish_due),
	    cmocka_unit_test(test_quit_prompt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
