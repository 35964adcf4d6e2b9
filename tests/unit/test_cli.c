/*
 * test_cli.c - terminal safety of `tstop info` and `tstop stats`.
 *
 * A session whose every name (command line, host, thread, stream label,
 * device, kernel, range, metadata) holds an escape sequence, control bytes
 * and a byte that is not UTF-8 is written to an SBT file; cmd_info and
 * cmd_stats (table form) then run on it with standard output sent to a file,
 * and nothing they print may hold a control byte other than the newline:
 * every such byte must appear as its \xNN escape. Messages on stderr are
 * escaped the same way. Also: the start time of `tstop info` (a bad value
 * is unknown, and said to be) and a duration wider than INT64_MAX.
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

/* Reads the whole of temporary file `fd` (then closed and unlinked) into a
 * new string the caller frees. */
static char *slurp(int fd, const char *path)
{
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf = calloc(1, (size_t)len + 1);
	assert_int_equal(pread(fd, buf, (size_t)len, 0), len);
	close(fd);
	unlink(path);
	return buf;
}

/* Runs `cmd` with standard output and standard error in files; returns what
 * it printed on standard output (caller frees), and what on standard error
 * in *err when `err` is not NULL (caller frees), and its exit status in *rc. */
static char *capture2(int (*cmd)(int, char **), int argc, char **argv, int *rc, char **err)
{
	char opath[] = "/tmp/test_cli_out_XXXXXX", epath[] = "/tmp/test_cli_err_XXXXXX";
	int ofd = mkstemp(opath), efd = mkstemp(epath);
	assert_true(ofd >= 0 && efd >= 0);
	fflush(stdout);
	fflush(stderr);
	int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
	assert_true(saved_out >= 0 && saved_err >= 0);
	assert_true(dup2(ofd, STDOUT_FILENO) >= 0);
	assert_true(dup2(efd, STDERR_FILENO) >= 0);
	*rc = cmd(argc, argv);
	fflush(stdout);
	fflush(stderr);
	assert_true(dup2(saved_out, STDOUT_FILENO) >= 0);
	assert_true(dup2(saved_err, STDERR_FILENO) >= 0);
	close(saved_out);
	close(saved_err);
	char *e = slurp(efd, epath);
	if (err)
		*err = e;
	else
		free(e);
	return slurp(ofd, opath);
}

/* capture2 without standard error. */
static char *capture(int (*cmd)(int, char **), int argc, char **argv, int *rc)
{
	return capture2(cmd, argc, argv, rc, NULL);
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

/* Asserts that `text` holds no byte but newlines and printable ASCII. */
static void assert_ascii(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p != '\n' && (*p < 0x20 || *p >= 0x7f))
			fail_msg("raw byte 0x%02x at offset %td", *p, (const char *)p - text);
}

/* Messages on stderr quote file names escaped, as stdout does. */
static void test_messages_safe(void **state)
{
	(void)state;
	char *argv[] = {"info", "/nonexistent/\x1b]0;owned\x07\xc2\x9b\xe2\x80\xae.sbt", NULL};
	int rc;
	char *err;
	free(capture2(cmd_info, 2, argv, &rc, &err));
	assert_int_equal(rc, 1);
	assert_ascii(err);
	assert_non_null(strstr(err, "/nonexistent/\\x1b]0;owned\\x07\\xc2\\x9b\\u{202E}.sbt"));
	free(err);

	char *argv2[] = {"stats", "-r", "\x1b[2Jnope", "x.sbt", NULL};
	free(capture2(cmd_stats, 4, argv2, &rc, &err));
	assert_int_equal(rc, 2);
	assert_ascii(err);
	assert_non_null(strstr(err, "unknown report '\\x1b[2Jnope'; known reports: cuda_gpu_kern_sum, "));
	assert_non_null(strstr(err, "Try 'tstop stats --help'."));
	free(err);
}

/* Writes a session with one kernel per (start, end) pair in `spans` and
 * start-time metadata `start_time` (NULL: none) to a new temporary file
 * named in `path`. */
static void write_timed(char *path, const char *start_time, const int64_t (*spans)[2], size_t n)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct trace_session *s = trace_session_new();
	if (start_time)
		trace_session_set_meta(s, TRACE_META_START_TIME, start_time);
	struct trace_track_info si = {.kind = TRACE_TRACK_STREAM, .pid = 1, .context = 1, .stream = 1};
	uint32_t stream = trace_session_add_track(s, &si);
	uint32_t name = trace_session_intern_cstr(s, "k");
	for (size_t i = 0; i < n; i++) {
		struct trace_event ev = {.start = spans[i][0],
		                         .end = spans[i][1],
		                         .name = name,
		                         .track = stream,
		                         .kind = TRACE_KERNEL};
		assert_int_equal(trace_session_append(s, &ev), 0);
	}
	trace_session_finish(s);
	struct err e = {{0}};
	if (sbt_write_session(path, s, NULL, &e))
		fail_msg("%s", e.msg);
	trace_session_delete(s);
}

/* `tstop info` of a session with start-time metadata `value`: the
 * "started" line must be `expect`. */
static void assert_started(const char *value, const char *expect)
{
	static const int64_t spans[][2] = {{0, 10}};
	char path[] = "/tmp/test_cli_XXXXXX";
	write_timed(path, value, spans, 1);
	char *argv[] = {"info", path, NULL};
	int rc;
	char *out = capture(cmd_info, 2, argv, &rc);
	unlink(path);
	assert_int_equal(rc, 0);
	if (!strstr(out, expect))
		fail_msg("start time '%s': no \"%s\" in:\n%s", value, expect, out);
	free(out);
}

/* A start time that is not a number that fits int64 is unknown, and said
 * to be; times before 1970 are rounded down to their second. */
static void test_info_start_time(void **state)
{
	(void)state;
	assert_started("1714564805000000000", "  started        2024-05-01 12:00:05 UTC\n");
	assert_started("-1", "  started        1969-12-31 23:59:59 UTC\n");
	assert_started("99999999999999999999",
	               "  started        unknown (bad start_time_ns value '99999999999999999999')\n");
	assert_started("-99999999999999999999",
	               "  started        unknown (bad start_time_ns value '-99999999999999999999')\n");
	assert_started("12abc", "  started        unknown (bad start_time_ns value '12abc')\n");
	assert_started(" 12", "  started        unknown (bad start_time_ns value ' 12')\n");
	assert_started("", "  started        unknown (bad start_time_ns value '')\n");
	assert_started("\x1b[2J", "  started        unknown (bad start_time_ns value '\\x1b[2J')\n");
}

/* A session whose events lie further apart than INT64_MAX: the duration
 * is computed without overflow. */
static void test_info_wide_duration(void **state)
{
	(void)state;
	static const int64_t spans[][2] = {{-5000000000000000000, -4999999999999999990},
	                                   {5000000000000000000, 5000000000000000010}};
	char path[] = "/tmp/test_cli_XXXXXX";
	write_timed(path, NULL, spans, 2);
	char *argv[] = {"info", path, NULL};
	int rc;
	char *out = capture(cmd_info, 2, argv, &rc);
	unlink(path);
	assert_int_equal(rc, 0);
	if (!strstr(out, "  duration       10000000000.000000 s (10000000000000000010 ns, from "
	                 "-5000000000000000000 to 5000000000000000010 ns)\n"))
		fail_msg("duration wrong:\n%s", out);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_info_safe),       cmocka_unit_test(test_stats_table_safe),
	    cmocka_unit_test(test_usage_status),    cmocka_unit_test(test_messages_safe),
	    cmocka_unit_test(test_info_start_time), cmocka_unit_test(test_info_wide_duration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
