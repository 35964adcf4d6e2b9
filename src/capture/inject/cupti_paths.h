/*
 * cupti_paths.h - where the CUPTI backend looks for libcupti.
 *
 * The collector never links libcupti (it must load in processes on machines
 * with no CUDA at all); the CUPTI backend dlopen()s it when the CUDA driver
 * calls InitializeInjection. This module lists the candidates, in the order
 * they are tried:
 *
 *   1. $TSTOP_CUPTI_LIBRARY: a library file, or a directory holding one;
 *   2. the toolkit found when tstop was built (TSTOP_CUPTI_BUILD_LIBDIR);
 *   3. libcupti.so.<major> and libcupti.so by the dynamic linker's own search
 *      (LD_LIBRARY_PATH, the ld.so cache);
 *   4. the usual toolkit places: /usr/local/cuda/{lib64,lib,extras/CUPTI/lib64}
 *      and targets/<arch>/lib, then the same in /usr/local/cuda-<major>*;
 *   5. Python environments: the nvidia/cu<major>/lib (CUDA 13 wheels) and
 *      nvidia/cuda_cupti/lib (CUDA 12 wheels) folders of the site-packages of
 *      $VIRTUAL_ENV, $CONDA_PREFIX, $PYTHONPATH entries, ~/.local, /usr/local,
 *      /usr and /opt/conda.
 *
 * Python places cost one glob() each and only existing files are listed;
 * the fixed places of 2 and 4 are listed whether or not they exist (the
 * loader tells "absent" from "would not load"). Duplicates are dropped.
 *
 * Everything the list depends on is passed in struct cupti_paths_env, so
 * tests build lists from a fake file tree (`root`).
 */
#ifndef TSTOP_CAPTURE_INJECT_CUPTI_PATHS_H
#define TSTOP_CAPTURE_INJECT_CUPTI_PATHS_H

#include <stddef.h>

/* What the search depends on. NULL or "" strings are absent. */
struct cupti_paths_env {
	const char *explicit_path; /* $TSTOP_CUPTI_LIBRARY */
	const char *build_libdir;  /* the toolkit's library folder at build time */
	unsigned major;            /* CUDA major version the collector reads (13) */
	const char *virtual_env;   /* $VIRTUAL_ENV */
	const char *conda_prefix;  /* $CONDA_PREFIX */
	const char *pythonpath;    /* $PYTHONPATH, ':'-separated site folders */
	const char *home;          /* $HOME */
	const char *root;          /* prefix of the system places ("" = /); tests use a folder */
};

/* A list of candidates: file paths, or bare names for the dynamic linker. */
struct cupti_paths {
	char **path;
	size_t n, cap;
};

/* Fills `env` from this process's environment (getenv: the strings belong
 * to the environment), with `major` and `build_libdir` as given and root "". */
void cupti_paths_env_from_process(struct cupti_paths_env *env, unsigned major, const char *build_libdir);

/* Appends the candidates for `env` to `out` (zero it first), in search
 * order, without duplicates. The caller frees with cupti_paths_free(). */
void cupti_paths_build(const struct cupti_paths_env *env, struct cupti_paths *out);

/* Frees what cupti_paths_build() added and empties the list. */
void cupti_paths_free(struct cupti_paths *p);

#endif
