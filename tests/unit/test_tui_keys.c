/*
 * test_tui_keys.c - the key table (tui/keys.h): every action has a key and
 * a help line, no key is bound twice in one context, key names are unique
 * and printable, and man/tstop.1 lists exactly the table's keys: its KEYS
 * section has one ".TP" entry per action whose first line is the action's
 * keys as help shows them ("Up, k"); the keys of the filter prompt follow
 * a line that starts "While the filter".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tui/keys.h"

/* Every action of every context has at least one key and a help line. */
static void test_every_action_bound(void **state)
{
	(void)state;
	for (int a = 1; a < TUI_ACT_COUNT; a++) {
		char keys[128];
		const struct tui_action_info *ai = tui_action_info((enum tui_action)a);
		if (!ai->help || !ai->help[0])
			fail_msg("action %d has no help line", a);
		if (tui_action_keys((enum tui_action)a, keys, sizeof(keys)) == 0)
			fail_msg("action %d (%s) has no key", a, ai->help);
	}
}

/* No key is bound twice in one context; every binding's action belongs to
 * the binding's context. */
static void test_no_key_twice(void **state)
{
	(void)state;
	size_t n;
	const struct tui_binding *b = tui_key_bindings(&n);
	assert_true(n > 10);
	for (size_t i = 0; i < n; i++) {
		assert_true(b[i].action > 0 && b[i].action < TUI_ACT_COUNT);
		assert_int_equal(tui_action_info((enum tui_action)b[i].action)->context, b[i].context);
		for (size_t j = i + 1; j < n; j++)
			if (b[i].key == b[j].key && b[i].context == b[j].context) {
				char name[16];
				fail_msg("key %s bound twice", tui_key_name(b[i].key, name, sizeof(name)));
			}
		assert_int_equal(tui_key_action((enum tui_key_context)b[i].context, b[i].key), b[i].action);
	}
	assert_int_equal(tui_key_action(TUI_CTX_BROWSE, 0x7fffffff), TUI_ACT_NONE);
}

/* Key names: distinct keys get distinct names, all printable ASCII. */
static void test_key_names(void **state)
{
	(void)state;
	size_t n;
	const struct tui_binding *b = tui_key_bindings(&n);
	char a[16], c[16];
	for (size_t i = 0; i < n; i++) {
		tui_key_name(b[i].key, a, sizeof(a));
		assert_true(a[0] != '\0');
		for (const char *p = a; *p; p++)
			assert_true(*p > 32 && *p < 127);
		for (size_t j = 0; j < n; j++)
			if (b[j].key != b[i].key)
				assert_string_not_equal(a, tui_key_name(b[j].key, c, sizeof(c)));
	}
	assert_string_equal(tui_key_name(TUI_KEY_UP, a, sizeof(a)), "Up");
	assert_string_equal(tui_key_name(21, a, sizeof(a)), "Ctrl-U");
	assert_string_equal(tui_key_name(' ', a, sizeof(a)), "Space");
	char keys[64];
	assert_int_equal(tui_action_keys(TUI_ACT_UP, keys, sizeof(keys)), 2);
	assert_string_equal(keys, "Up, k");
}

/* Path of man/tstop.1 from this file's path (tests/unit/ in the source). */
static void man_path(char *out, size_t cap)
{
	snprintf(out, cap, "%s", __FILE__);
	char *p = strstr(out, "tests/unit/test_tui_keys.c");
	if (!p)
		fail_msg("cannot find the source tree from %s", __FILE__);
	snprintf(p, cap - (size_t)(p - out), "man/tstop.1");
}

/* Turns groff's escapes of a .TP label back into text: \- to -, \(em
 * etc. are not used; .B and quotes removed. */
static void man_unescape(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	if (!strncmp(in, ".B ", 3))
		in += 3;
	for (; *in && *in != '\n' && o + 1 < cap; in++) {
		if (*in == '"')
			continue;
		if (in[0] == '\\' && in[1] == '-') {
			out[o++] = '-';
			in++;
			continue;
		}
		if (in[0] == '\\' && in[1] == '(' && in[2] == 'r' && in[3] == 's') {
			out[o++] = '\\';
			in += 3;
			continue;
		}
		if (in[0] == '\\' && in[1] == 'e') {
			out[o++] = '\\';
			in++;
			continue;
		}
		out[o++] = *in;
	}
	out[o] = '\0';
}

/* The KEYS section of man/tstop.1 lists exactly one entry per action,
 * each the action's keys. */
static void test_man_page_keys(void **state)
{
	(void)state;
	char path[4096];
	man_path(path, sizeof(path));
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	char line[512], label[256];
	bool in_keys = false, after_tp = false;
	int ctx =
	    TUI_CTX_BROWSE; /* the section lists browsing keys, then "While the filter ..." prompt keys */
	bool seen[TUI_ACT_COUNT] = {false};
	size_t entries = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, ".SH ", 4)) {
			in_keys = !strcmp(line, ".SH KEYS\n");
			continue;
		}
		if (!in_keys)
			continue;
		if (!strncmp(line, "While the filter", 16))
			ctx = TUI_CTX_PROMPT;
		if (!strcmp(line, ".TP\n")) {
			after_tp = true;
			continue;
		}
		if (!after_tp)
			continue;
		after_tp = false;
		man_unescape(line, label, sizeof(label));
		entries++;
		int found = 0;
		for (int a = 1; a < TUI_ACT_COUNT; a++) {
			char keys[128];
			tui_action_keys((enum tui_action)a, keys, sizeof(keys));
			if (tui_action_info((enum tui_action)a)->context == ctx && !strcmp(keys, label)) {
				if (seen[a])
					fail_msg("man/tstop.1 lists \"%s\" twice", label);
				seen[a] = true;
				found = a;
			}
		}
		if (!found)
			fail_msg("man/tstop.1 lists keys \"%s\", which the key table does not have", label);
	}
	fclose(f);
	for (int a = 1; a < TUI_ACT_COUNT; a++)
		if (!seen[a]) {
			char keys[128];
			tui_action_keys((enum tui_action)a, keys, sizeof(keys));
			fail_msg("man/tstop.1 (KEYS) does not list \"%s\" (%s)", keys,
			         tui_action_info((enum tui_action)a)->help);
		}
	assert_int_equal(entries, TUI_ACT_COUNT - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_action_bound),
	    cmocka_unit_test(test_no_key_twice),
	    cmocka_unit_test(test_key_names),
	    cmocka_unit_test(test_man_page_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
