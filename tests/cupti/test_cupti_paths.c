/*
 * test_cupti_paths.c - the places the collector looks for libcupti.
 *
 * Builds a fake file tree (a toolkit, Python environments of each kind,
 * a library of the wrong CUDA major version) under a temporary folder used
 * as the root and as $VIRTUAL_ENV, $CONDA_PREFIX, $PYTHONPATH and $HOME, and
 * checks the exact candidate list, its order, and that nothing absent or
 * of another major version is listed from the Python places.
 *
 * The module is part of libtstop-inject.so, not of the core library the
 * tests link, so its source is compiled into this test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/inject/cupti_paths.c"

static char test_root[256];

/* Creates every folder of `path` (relative to test_root) and an empty file
 * at its end. */
static void make_file(const char *rel)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", test_root, rel);
	for (char *p = path + strlen(test_root) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0700);
			*p = '/';
		}
	}
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

/* test_root + "/" + rel, in a static buffer of `slot` (several at once). */
static const char *at(int slot, const char *rel)
{
	static char buf[8][1024];
	snprintf(buf[slot], sizeof(buf[slot]), "%s%s%s", test_root, rel[0] ? "/" : "", rel);
	return buf[slot];
}

/* Removes the tree. */
static int teardown_tree(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_root);
	return system(cmd) == 0 ? 0 : -1;
}

static int setup_tree(void **state)
{
	snprintf(test_root, sizeof(test_root), "/tmp/tstop-cupti-paths-XXXXXX");
	if (!mkdtemp(test_root))
		return -1;
	make_file("usr/local/cuda-13.0/targets/x86_64-linux/lib/libcupti.so.13");
	make_file("usr/local/cuda-12.8/lib64/libcupti.so.12");
	make_file("venv/lib/python3.11/site-packages/nvidia/cu13/lib/libcupti.so.13");
	make_file("venv/lib/python3.11/site-packages/nvidia/cuda_cupti/lib/libcupti.so.12");
	make_file("conda/lib/python3.12/site-packages/nvidia/cuda_cupti/lib/libcupti.so.13");
	make_file("pp/site/nvidia/cu13/lib/libcupti.so.13");
	make_file("home/.local/lib/python3.10/site-packages/nvidia/cu13/lib/libcupti.so.13");
	make_file("usr/local/lib/python3.11/dist-packages/nvidia/cuda_cupti/lib/libcupti.so.13");
	make_file("usr/lib/python3/dist-packages/nvidia/cu13/lib/libcupti.so.13");
	make_file("mine/libcupti.so.13");
	return 0;
}

/* Asserts that `p` is exactly `want` (n entries). */
static void assert_list(const struct cupti_paths *p, const char *const *want, size_t n)
{
	for (size_t i = 0; i < p->n && i < n; i++)
		if (strcmp(p->path[i], want[i]) != 0)
			fail_msg("candidate %zu: got %s, want %s", i, p->path[i], want[i]);
	assert_int_equal(p->n, n);
}

/* A full environment: every kind of place, in the documented order. */
static void test_order(void **state)
{
	char pythonpath[2100];
	struct cupti_paths p = {0};
	struct cupti_paths_env env = {0};
	char want[40][512];
	const char *wantp[40];
	size_t n = 0;

	snprintf(pythonpath, sizeof(pythonpath), "%s:%s:", at(0, "pp/site"), at(1, "nowhere"));
	env.explicit_path = at(2, "mine");
	env.build_libdir = at(3, "usr/local/cuda/lib64"); /* also a fixed place: listed once */
	env.major = 13;
	env.virtual_env = at(4, "venv");
	env.conda_prefix = at(5, "conda");
	env.pythonpath = pythonpath;
	env.home = at(6, "home");
	env.root = test_root;
	cupti_paths_build(&env, &p);

#define WANT(...) snprintf(want[n++], sizeof(want[0]), __VA_ARGS__)
	WANT("%s/mine/libcupti.so.13", test_root); /* a folder: both names */
	WANT("%s/mine/libcupti.so", test_root);
	WANT("%s/usr/local/cuda/lib64/libcupti.so.13", test_root);
	WANT("%s/usr/local/cuda/lib64/libcupti.so", test_root);
	WANT("libcupti.so.13");
	WANT("libcupti.so");
	WANT("%s/usr/local/cuda/lib/libcupti.so.13", test_root);
	WANT("%s/usr/local/cuda/lib/libcupti.so", test_root);
	WANT("%s/usr/local/cuda/extras/CUPTI/lib64/libcupti.so.13", test_root);
	WANT("%s/usr/local/cuda/extras/CUPTI/lib64/libcupti.so", test_root);
	WANT("%s/usr/local/cuda-13.0/targets/x86_64-linux/lib/libcupti.so.13", test_root);
	WANT("%s/venv/lib/python3.11/site-packages/nvidia/cu13/lib/libcupti.so.13", test_root);
	WANT("%s/conda/lib/python3.12/site-packages/nvidia/cuda_cupti/lib/libcupti.so.13", test_root);
	WANT("%s/pp/site/nvidia/cu13/lib/libcupti.so.13", test_root);
	WANT("%s/home/.local/lib/python3.10/site-packages/nvidia/cu13/lib/libcupti.so.13", test_root);
	WANT("%s/usr/local/lib/python3.11/dist-packages/nvidia/cuda_cupti/lib/libcupti.so.13", test_root);
	WANT("%s/usr/lib/python3/dist-packages/nvidia/cu13/lib/libcupti.so.13", test_root);
#undef WANT
	for (size_t i = 0; i < n; i++)
		wantp[i] = want[i];
	assert_list(&p, wantp, n);
	cupti_paths_free(&p);
	assert_int_equal(p.n, 0);
	assert_null(p.path);
}

/* Nothing set: the bare names and the fixed toolkit places of an empty
 * root; an explicit file path is tried as it is, first. */
static void test_minimal(void **state)
{
	struct cupti_paths p = {0};
	struct cupti_paths_env env = {0};

	env.major = 13;
	env.root = at(0, "empty");
	env.explicit_path = "/opt/x/libcupti.so.13.0.1";
	env.build_libdir = "";
	cupti_paths_build(&env, &p);
	assert_true(p.n >= 3);
	assert_string_equal(p.path[0], "/opt/x/libcupti.so.13.0.1");
	assert_string_equal(p.path[1], "libcupti.so.13");
	assert_string_equal(p.path[2], "libcupti.so");
	/* Every other candidate is a fixed toolkit place under the root. */
	for (size_t i = 3; i < p.n; i++)
		assert_true(!strncmp(p.path[i], at(1, "empty/usr/local/cuda/"),
		                     strlen(at(1, "empty/usr/local/cuda/"))));
	cupti_paths_free(&p);
}

/* Another CUDA major version: its own file names, and nothing of 13. */
static void test_other_major(void **state)
{
	struct cupti_paths p = {0};
	struct cupti_paths_env env = {0};
	bool found12 = false;

	env.major = 12;
	env.root = test_root;
	env.virtual_env = at(0, "venv");
	cupti_paths_build(&env, &p);
	for (size_t i = 0; i < p.n; i++) {
		assert_null(strstr(p.path[i], ".so.13"));
		if (!strcmp(p.path[i],
		            at(1, "venv/lib/python3.11/site-packages/nvidia/cuda_cupti/lib/libcupti.so.12")))
			found12 = true;
	}
	assert_true(found12);
	bool toolkit12 = false;
	for (size_t i = 0; i < p.n; i++)
		toolkit12 |= !strcmp(p.path[i], at(2, "usr/local/cuda-12.8/lib64/libcupti.so.12"));
	assert_true(toolkit12);
	cupti_paths_free(&p);
}

/* The process environment is read as documented. */
static void test_from_process(void **state)
{
	struct cupti_paths_env env;

	setenv("TSTOP_CUPTI_LIBRARY", "/x/libcupti.so", 1);
	setenv("VIRTUAL_ENV", "/venv", 1);
	unsetenv("CONDA_PREFIX");
	setenv("PYTHONPATH", "/a:/b", 1);
	setenv("HOME", "/home/u", 1);
	cupti_paths_env_from_process(&env, 13, "/build/lib");
	assert_string_equal(env.explicit_path, "/x/libcupti.so");
	assert_string_equal(env.build_libdir, "/build/lib");
	assert_int_equal(env.major, 13);
	assert_string_equal(env.virtual_env, "/venv");
	assert_null(env.conda_prefix);
	assert_string_equal(env.pythonpath, "/a:/b");
	assert_string_equal(env.home, "/home/u");
	assert_string_equal(env.root, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_minimal),
	    cmocka_unit_test(test_other_major),
	    cmocka_unit_test(test_from_process),
	};
	return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
