/*
 * test_inject_window.c - capture windows from end to end of their pure
 * parts: the --capture-range parser of the command line, the ring's
 * capture switch and note that carry it to the collector, the collector's
 * check of the note (magic, version, enums, lengths, NUL bytes), the test
 * of an NVTX range against the capture range (default, named and any
 * domain; NUL-terminated messages read no further than they reach), and
 * the on/off history that judges records about the past (order, ties,
 * no-change notes, notes out of order, forgetting the oldest change).
 *
 * inject_window.c belongs to libtstop-inject.so, not to the core library
 * the tests link, so its source is compiled into this test directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/inject/inject_window.c"
#include "capture/ring.h"
#include "cli/capture_cli.h"

/* A capture range parsed from `arg` by the command line, then read back by
 * the collector from a note of `len` bytes. */
static bool test_range(const char *arg, uint32_t end, struct inj_range *r)
{
	struct proto_control c;
	if (cli_capture_parse_range(arg, &c) < 0)
		return false;
	c.range_end = end;
	return inj_range_parse(r, &c, sizeof(c));
}

static void test_parse_cli(void **state)
{
	(void)state;
	struct proto_control c;
	assert_int_equal(cli_capture_parse_range("nvtx:measure", &c), 0);
	assert_int_equal(c.magic, PROTO_MAGIC);
	assert_int_equal(c.range_domain, PROTO_RANGE_DEFAULT);
	assert_int_equal(c.name_len, 7);
	assert_memory_equal(c.name, "measure", 7);
	assert_int_equal(c.domain_len, 0);
	assert_int_equal(c.range_end, PROTO_RANGE_NONE);

	assert_int_equal(cli_capture_parse_range("nvtx:a@b@dom", &c), 0);
	assert_int_equal(c.range_domain, PROTO_RANGE_NAMED);
	assert_int_equal(c.name_len, 3); /* the last '@' separates the domain */
	assert_memory_equal(c.name, "a@b", 3);
	assert_int_equal(c.domain_len, 3);
	assert_memory_equal(c.domain, "dom", 3);

	assert_int_equal(cli_capture_parse_range("nvtx:x@*", &c), 0);
	assert_int_equal(c.range_domain, PROTO_RANGE_ANY);
	assert_int_equal(c.domain_len, 0);

	const char *bad[] = {"", "nvtx", "nvtx:", "NVTX:x", "cuda:x", "nvtx:@d", "nvtx:x@", "measure"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cli_capture_parse_range(bad[i], &c), -1);

	char *longname = malloc(PROTO_RANGE_NAME_MAX + 16);
	strcpy(longname, "nvtx:");
	memset(longname + 5, 'n', PROTO_RANGE_NAME_MAX);
	longname[5 + PROTO_RANGE_NAME_MAX] = '\0';
	assert_int_equal(cli_capture_parse_range(longname, &c), 0);
	strcat(longname, "n");
	assert_int_equal(cli_capture_parse_range(longname, &c), -1);
	free(longname);

	/* --capture-range-end needs a range; the end goes into the note. */
	struct cli_capture_opts o;
	cli_capture_opts_init(&o);
	assert_int_equal(cli_capture_opt(&o, "test", CLI_CAPTURE_OPT_RANGE, "nvtx:m"), 1);
	assert_true(o.flags & PROTO_OPT_WINDOW);
	assert_int_equal(cli_capture_opts_finish(&o, "test"), 0);
	assert_int_equal(o.range.range_end, PROTO_RANGE_STOP);
	assert_int_equal(cli_capture_opt(&o, "test", CLI_CAPTURE_OPT_RANGE_END, "repeat"), 1);
	assert_int_equal(cli_capture_opts_finish(&o, "test"), 0);
	assert_int_equal(o.range.range_end, PROTO_RANGE_REPEAT);
	cli_capture_opts_init(&o);
	assert_int_equal(cli_capture_opt(&o, "test", CLI_CAPTURE_OPT_DELAY, "0.25"), 1);
	assert_true(o.delay == 0.25 && (o.flags & PROTO_OPT_WINDOW));
}

static void test_parse_note(void **state)
{
	(void)state;
	struct inj_range r;
	assert_true(test_range("nvtx:measure", PROTO_RANGE_REPEAT, &r));
	assert_int_equal(r.end, PROTO_RANGE_REPEAT);
	assert_false(test_range("nvtx:measure", PROTO_RANGE_NONE, &r)); /* no range */
	assert_false(test_range("nvtx:measure", 7, &r));

	struct proto_control c;
	assert_int_equal(cli_capture_parse_range("nvtx:m@d", &c), 0);
	c.range_end = PROTO_RANGE_STOP;
	assert_true(inj_range_parse(&r, &c, sizeof(c)));
	assert_false(inj_range_parse(&r, &c, sizeof(c) - 1)); /* a short note */
	assert_false(inj_range_parse(&r, NULL, 0));           /* no note */
	struct proto_control b = c;
	b.magic++;
	assert_false(inj_range_parse(&r, &b, sizeof(b)));
	b = c;
	b.version++;
	assert_false(inj_range_parse(&r, &b, sizeof(b)));
	b = c;
	b.name_len = 0;
	assert_false(inj_range_parse(&r, &b, sizeof(b)));
	b = c;
	b.name_len = PROTO_RANGE_NAME_MAX + 1;
	assert_false(inj_range_parse(&r, &b, sizeof(b)));
	b = c;
	b.domain_len = PROTO_RANGE_DOMAIN_MAX + 1;
	assert_false(inj_range_parse(&r, &b, sizeof(b)));
	b = c;
	b.domain_len = 0; /* a named domain without a name */
	assert_false(inj_range_parse(&r, &b, sizeof(b)));
	b = c;
	b.range_domain = PROTO_RANGE_ANY + 1;
	assert_false(inj_range_parse(&r, &b, sizeof(b)));
	b = c;
	b.name[0] = '\0'; /* a NUL inside the name */
	assert_false(inj_range_parse(&r, &b, sizeof(b)));
}

static void test_match(void **state)
{
	(void)state;
	struct inj_range def, named, any;
	assert_true(test_range("nvtx:measure", PROTO_RANGE_STOP, &def));
	assert_true(test_range("nvtx:measure@dom", PROTO_RANGE_STOP, &named));
	assert_true(test_range("nvtx:measure@*", PROTO_RANGE_STOP, &any));

	assert_true(inj_range_match(&def, "measure", 7, NULL, 0));
	assert_false(inj_range_match(&def, "measure", 7, "dom", 3));
	assert_false(inj_range_match(&def, "measur", 6, NULL, 0));
	assert_false(inj_range_match(&def, "measures", 8, NULL, 0));
	assert_false(inj_range_match(&def, NULL, 0, NULL, 0));
	assert_true(inj_range_match(&named, "measure", 7, "dom", 3));
	assert_false(inj_range_match(&named, "measure", 7, NULL, 0));
	assert_false(inj_range_match(&named, "measure", 7, "do", 2));
	assert_false(inj_range_match(&named, "measure", 7, "domx", 4));
	assert_true(inj_range_match(&any, "measure", 7, NULL, 0));
	assert_true(inj_range_match(&any, "measure", 7, "other", 5));

	assert_true(inj_range_match_cstr(&def, "measure", NULL, 0));
	assert_false(inj_range_match_cstr(&def, "measure2", NULL, 0));
	assert_false(inj_range_match_cstr(&def, "meas", NULL, 0));
	assert_false(inj_range_match_cstr(&def, "", NULL, 0));
	assert_false(inj_range_match_cstr(&def, NULL, NULL, 0));
	assert_true(inj_range_match_cstr(&named, "measure", "dom", 3));

	/* A short message at the very end of a page: nothing past its NUL is
	 * read (the next page is inaccessible). */
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *m =
	    mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m + page, (size_t)page, PROT_NONE), 0);
	char *tail = (char *)m + page - 4;
	memcpy(tail, "mea", 4);
	assert_false(inj_range_match_cstr(&def, tail, NULL, 0));
	char *exact = (char *)m + page - 8;
	memcpy(exact, "measure", 8);
	assert_true(inj_range_match_cstr(&def, exact, NULL, 0));
	munmap(m, (size_t)page * 2);
}

static void test_winlog(void **state)
{
	(void)state;
	struct inj_winlog *l = malloc(sizeof(*l));
	inj_winlog_reset(l, false);
	assert_false(inj_winlog_on(l));
	assert_false(inj_winlog_on_at(l, 0));
	assert_false(inj_winlog_on_at(l, INT64_MAX));
	inj_winlog_note(l, 100, true);
	inj_winlog_note(l, 150, true); /* no change: ignored */
	inj_winlog_note(l, 200, false);
	inj_winlog_note(l, 300, true);
	assert_int_equal(l->n, 3);
	assert_false(inj_winlog_on_at(l, 99));
	assert_true(inj_winlog_on_at(l, 100)); /* a change counts from its time */
	assert_true(inj_winlog_on_at(l, 199));
	assert_false(inj_winlog_on_at(l, 200));
	assert_false(inj_winlog_on_at(l, 299));
	assert_true(inj_winlog_on_at(l, 300));
	assert_true(inj_winlog_on_at(l, INT64_MAX));
	assert_true(inj_winlog_on(l));
	/* A note older than the last change is taken at the last change. */
	inj_winlog_note(l, 250, false);
	assert_int_equal(l->at[l->n - 1], 300);
	assert_false(inj_winlog_on_at(l, 300));
	assert_false(inj_winlog_on(l));

	/* Full: the oldest changes are forgotten, their state kept as the
	 * initial one. */
	inj_winlog_reset(l, true);
	for (int64_t i = 1; i <= (int64_t)INJ_WINLOG_MAX + 10; i++)
		inj_winlog_note(l, i * 10, i % 2 == 0);
	assert_int_equal(l->n, INJ_WINLOG_MAX);
	assert_int_equal(l->at[0], 110);
	assert_true(l->initial); /* the state after the change at 100 (even: on) */
	assert_true(inj_winlog_on_at(l, 5));
	assert_true(inj_winlog_on_at(l, 109));
	assert_false(inj_winlog_on_at(l, 110)); /* change 11: odd, off */
	assert_true(inj_winlog_on_at(l, 120));
	assert_true(inj_winlog_on_at(l, (int64_t)(INJ_WINLOG_MAX + 10) * 10));
	free(l);
}

static void test_ring_control(void **state)
{
	(void)state;
	struct err e;
	struct ring *w = ring_create(RING_MIN_SIZE, 0, 0, &e);
	assert_non_null(w);
	struct proto_control c;
	assert_int_equal(cli_capture_parse_range("nvtx:measure@dom", &c), 0);
	c.range_end = PROTO_RANGE_REPEAT;
	assert_int_equal(ring_set_note(w, &c, sizeof(c), &e), 0);
	static char big[RING_NOTE_MAX + 1];
	assert_int_equal(ring_set_note(w, big, sizeof(big), &e), -1);
	assert_int_equal(ring_control(w, NULL), 0);
	ring_set_control(w, RING_CTRL_PAUSE, 1234);

	struct ring *r = ring_attach(ring_fd(w), &e);
	assert_non_null(r);
	int64_t t = 0;
	assert_int_equal(ring_control(r, &t), RING_CTRL_PAUSE);
	assert_int_equal(t, 1234);
	assert_int_equal(atomic_load(ring_control_word(r)), RING_CTRL_PAUSE);
	static char note[RING_NOTE_MAX];
	size_t n = ring_note(r, note, sizeof(note));
	assert_int_equal(n, sizeof(c));
	struct inj_range got;
	assert_true(inj_range_parse(&got, note, n));
	assert_true(inj_range_match(&got, "measure", 7, "dom", 3));
	assert_int_equal(ring_note(r, note, 4), 0); /* does not fit: none */
	ring_set_control(w, 0, 5678);
	assert_int_equal(atomic_load(ring_control_word(r)), 0);
	ring_close(r);
	ring_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_cli),    cmocka_unit_test(test_parse_note),
	    cmocka_unit_test(test_match),        cmocka_unit_test(test_winlog),
	    cmocka_unit_test(test_ring_control),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
