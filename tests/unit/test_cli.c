/*
 * test_cli.c - terminal safety of `tstop info` and `tstop stats`.
 *
 * A session whose every name (command line, host, thread, stream label,
 * device, kernel, range, metadata) holds an escape sequence, control bytes
 * and a byte that is not UTF-8 is written to an SBT file; cmd_info and
 * cmd_stats (table form) then run on it with standard output sent to a file,
 * and nothing they print may hold a control byte other than the newline:
 * every such byte must appear as its \xNN escape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cmds.h"
#include "store/sbt.h"
#include "trace/meta.h"
#include "trace/session.h"

#define HOSTILE                                                                                              \
	"x\x1b]0;owned\x07\x1b[2J\x9b"                                                                       \
	"1m\xc2\x9b\x01y"

/* Writes the hostile session to a new temporary file named in `path`. */
static void write_hostile(char *path)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct trace_session *s = trace_session_new();
	trace_session_set_meta(s, TRACE_META_COMMAND, HOSTILE);
	trace_session_set_meta(s, TRACE_META_HOST, HOSTILE);
	trace_session_set_meta(s, HOSTILE, HOSTILE);
	uint32_t name = trace_session_intern_cstr(s, HOSTILE);
	struct trace_process p = {.pid = 7, .ppid = 1, .command = name, .state = TRACE_PROC_EXITED};
	trace_session_set_process(s, &p);
	struct trace_device d = {.id = 0, .api = TRACE_DEVICE_CUDA, .name = name};
	trace_session_set_device(s, &d);
	struct trace_track_info ti = {.kind = TRACE_TRACK_THREAD, .pid = 7, .tid = 7, .name = name};
	uint32_t thread = trace_session_add_track(s, &ti);
	struct trace_track_info si = {
	    .kind = TRACE_TRACK_STREAM, .pid = 7, .context = 1, .stream = 7, .name = name};
	uint32_t stream = trace_session_add_track(s, &si);
	trace_session_set_loss(s, 7, name, 3);
	struct trace_event ev = {.start = 10, .end = 20, .name = name, .track = stream, .kind = TRACE_KERNEL};
	assert_int_equal(trace_session_append(s, &ev), 0);
	struct trace_event api = {.start = 5, .end = 8, .name = name, .track = thread, .kind = TRACE_API};
	assert_int_equal(trace_session_append(s, &api), 0);
	struct trace_event range = {
	    .start = 1, .end = 30, .name = name, .track = thread, .kind = TRACE_NVTX_RANGE};
	assert_int_equal(trace_session_append(s, &range), 0);
	trace_session_finish(s);
	struct err e = {{0}};
	if (sbt_write_session(path, s, NULL, &e))
		fail_msg("%s", e.msg);
	trace_session_delete(s);
}

/* Runs `cmd` with standard output in a file; returns what it printed
 * (caller frees) and its exit status in *rc. */
static char *capture(int (*cmd)(int, char **), int argc, char **argv, int *rc)
{
	char path[] = "/tmp/test_cli_out_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDOUT_FILENO) >= 0);
	*rc = cmd(argc, argv);
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf = calloc(1, (size_t)len + 1);
	assert_int_equal(pread(fd, buf, (size_t)len, 0), len);
	close(fd);
	unlink(path);
	return buf;
}

/* Asserts that `out` holds no control byte but newlines, no C1 control and
 * no invalid UTF-8, and shows the escape sequence as text. */
static void assert_safe(const char *out)
{
	for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
		if (*p == '\n')
			continue;
		if (*p < 0x20 || *p == 0x7f || *p >= 0x80)
			fail_msg("raw byte 0x%02x at offset %td", *p, (const char *)p - out);
	}
	assert_non_null(strstr(out, "x\\x1b]0;owned\\x07\\x1b[2J\\x9b1m\\xc2\\x9b\\x01y"));
}

static void test_info_safe(void **state)
{
	(void)state;
	char path[] = "/tmp/test_cli_XXXXXX";
	write_hostile(path);
	char *argv[] = {"info", path, NULL};
	int rc;
	char *out = capture(cmd_info, 2, argv, &rc);
	unlink(path);
	assert_int_equal(rc, 0);
	assert_safe(out);
	/* Every place a name appears: command, host, metadata, process,
	 * device, stream label, thread name, loss source. */
	size_t n = 0;
	for (const char *p = out; (p = strstr(p, "x\\x1b]0;owned")); p++)
		n++;
	assert_int_equal(n, 9);
	free(out);
}

static void test_stats_table_safe(void **state)
{
	(void)state;
	char path[] = "/tmp/test_cli_XXXXXX";
	write_hostile(path);
	char *argv[] = {"stats", path, NULL};
	int rc;
	char *out = capture(cmd_stats, 2, argv, &rc);
	unlink(path);
	assert_int_equal(rc, 0);
	assert_safe(out);
	free(out);
}

static void test_usage_status(void **state)
{
	(void)state;
	char *a1[] = {"info", NULL};
	char *a2[] = {"stats", "--format", "yaml", "x.sbt", NULL};
	char *a3[] = {"stats", "--help", NULL};
	char *a4[] = {"info", "/nonexistent/file.sbt", NULL};
	int rc;
	free(capture(cmd_info, 1, a1, &rc));
	assert_int_equal(rc, 2);
	free(capture(cmd_stats, 4, a2, &rc));
	assert_int_equal(rc, 2);
	char *help = capture(cmd_stats, 2, a3, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(help, "Usage: tstop stats"));
	free(help);
	free(capture(cmd_info, 2, a4, &rc));
	assert_int_equal(rc, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_info_safe),
	    cmocka_unit_test(test_stats_table_safe),
	    cmocka_unit_test(test_usage_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
