/*
 * test_capture_cli.c - what `tstop record` and `tstop attach` share
 * (cli/capture_cli.h): ring sizes (powers of two in the ring's range, with
 * suffixes), --kinds lists (other bits kept, a bad list changes nothing),
 * joining arguments, and the output file (a new unique name, a named file
 * created once, -f to take an existing one, ".sbt" added).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/ring.h"
#include "cli/capture_cli.h"

static void test_parse_size(void **state)
{
	(void)state;
	size_t v = 0;
	assert_int_equal(cli_capture_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(cli_capture_parse_size("4K", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(cli_capture_parse_size("16m", &v), 0);
	assert_int_equal(v, 16u << 20);
	assert_int_equal(cli_capture_parse_size("1G", &v), 0);
	assert_int_equal(v, RING_MAX_SIZE);
	const char *bad[] = {"",    "2K",  "3000", "12K", "2G",
	                     "-4K", "4KB", "K",    "4 K", "99999999999999999999G"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		assert_int_equal(cli_capture_parse_size(bad[i], &v), -1);
		assert_int_equal(v, 7);
	}
}

static void test_parse_kinds(void **state)
{
	(void)state;
	uint32_t all = PROTO_OPT_CUDA | PROTO_OPT_NVTX | PROTO_OPT_OPENCL;
	uint32_t f = PROTO_OPT_STACKS | all;
	assert_int_equal(cli_capture_parse_kinds("nvtx", &f), 0);
	assert_int_equal(f, PROTO_OPT_STACKS | PROTO_OPT_NVTX);
	assert_int_equal(cli_capture_parse_kinds("opencl,cuda", &f), 0);
	assert_int_equal(f, PROTO_OPT_STACKS | PROTO_OPT_OPENCL | PROTO_OPT_CUDA);
	f = 0;
	assert_int_equal(cli_capture_parse_kinds("all", &f), 0);
	assert_int_equal(f, all);
	const char *bad[] = {"", ",", "gpu", "nvtx,gpu", "NVTX"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = PROTO_OPT_NVTX;
		assert_int_equal(cli_capture_parse_kinds(bad[i], &f), -1);
		assert_int_equal(f, PROTO_OPT_NVTX);
	}
}

static void test_join(void **state)
{
	(void)state;
	char *argv[] = {"prog", "-n", "", "x y", NULL};
	char *s = cli_capture_join(argv, 4);
	assert_string_equal(s, "prog -n  x y");
	free(s);
	s = cli_capture_join(argv, 0);
	assert_string_equal(s, "");
	free(s);
}

static void test_output_path(void **state)
{
	(void)state;
	char dir[] = "/tmp/test-capture-cli-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char old[4096];
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir(dir), 0);
	/* Errors go to stderr; keep the test's output clean. */
	int saved = dup(STDERR_FILENO);
	int null = open("/dev/null", O_WRONLY);
	dup2(null, STDERR_FILENO);
	close(null);

	bool created;
	char *a = cli_capture_output_path("attach", NULL, false, &created);
	assert_non_null(a);
	assert_true(created);
	assert_int_equal(strncmp(a, "tstop-", 6), 0);
	assert_int_equal(access(a, F_OK), 0);
	char *b = cli_capture_output_path("attach", NULL, false, &created);
	assert_non_null(b);
	assert_string_not_equal(a, b); /* taken: "-1" added (or the clock moved on) */
	assert_int_equal(access(b, F_OK), 0);
	char *n = cli_capture_output_path("attach", "run", false, &created);
	assert_string_equal(n, "run.sbt");
	assert_true(created);
	assert_null(cli_capture_output_path("attach", "run.sbt", false, &created));
	char *f = cli_capture_output_path("attach", "run.sbt", true, &created);
	assert_string_equal(f, "run.sbt");
	assert_false(created);
	assert_int_equal(mkdir("d.sbt", 0700), 0);
	assert_null(cli_capture_output_path("attach", "d", true, &created));

	dup2(saved, STDERR_FILENO);
	close(saved);
	unlink(a);
	unlink(b);
	unlink(n);
	rmdir("d.sbt");
	free(a);
	free(b);
	free(n);
	free(f);
	assert_int_equal(chdir(old), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_parse_kinds),
	    cmocka_unit_test(test_join),
	    cmocka_unit_test(test_output_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
