/*
 * launch.h - starting the program to capture, with the collector injected.
 *
 * The program runs with tstop's environment plus:
 *   PROTO_ENV_SOCKET (TSTOP_SOCKET)           the capture socket's path
 *   PROTO_ENV_LIBRARY (TSTOP_INJECT_LIBRARY)  libtstop-inject.so, for children
 *   CUDA_INJECTION64_PATH                     libtstop-inject.so (CUDA driver -> CUPTI backend)
 *   NVTX_INJECTION64_PATH                     libtstop-inject.so (NVTX loader -> NVTX backend)
 *   LD_PRELOAD                                libtstop-inject.so appended to what was there
 *                                             (OpenCL interposer, fork/exec'd children)
 * and without PROTO_ENV_ATTACH. Started dormant (for `tstop attach`), it
 * gets PROTO_ENV_ATTACH=1 (and PROTO_ENV_ATTACH_DIR when asked) instead of
 * PROTO_ENV_SOCKET, which is removed.
 * It stays in tstop's process group (the terminal's foreground group), so
 * it keeps the terminal, and the terminal's Ctrl-C reaches it directly.
 */
#ifndef TSTOP_CAPTURE_LAUNCH_H
#define TSTOP_CAPTURE_LAUNCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

#define CAPTURE_COLLECTOR_NAME "libtstop-inject.so"

/* Finds the collector library and writes its absolute path to `out` (of
 * `cap` bytes): $TSTOP_INJECT_LIBRARY when set (it must exist), else the
 * build tree's copy when that file exists, else the installed copy at
 * <directory of tstop>/TSTOP_INJECT_RELPATH. Returns 0, or -1 with `e`
 * saying where it looked. */
int capture_find_collector(char *out, size_t cap, struct err *e);

struct capture_launch_options {
	char *const *argv;       /* the program and its arguments; argv[0] is searched in PATH */
	const char *socket_path; /* for PROTO_ENV_SOCKET */
	const char *library;     /* absolute path of libtstop-inject.so */
	const sigset_t *reset;   /* signals the child resets to SIG_DFL before exec (tstop ignores
	                             them but the program must not inherit that); may be NULL */
	bool dormant;            /* start the collector dormant, attachable; socket_path unused */
	const char *attach_dir;  /* dormant: PROTO_ENV_ATTACH_DIR to set, or NULL to keep tstop's */
};

/* Forks and execs the program. Returns its pid once exec succeeded, or -1
 * with `e` filled when it could not be started (not found, not executable,
 * fork failed): then no child is left behind. The caller reaps the child. */
pid_t capture_launch(const struct capture_launch_options *o, struct err *e);

/* Replaces the calling process with the program (execvpe, argv[0] searched
 * in PATH), with the environment capture_launch gives it; `reset` is
 * ignored (the caller's dispositions are the program's). Returns only when
 * the program could not be started: -1 with `e` filled (not found, not
 * executable) and *errnum set to exec's errno. */
int capture_exec(const struct capture_launch_options *o, int *errnum, struct err *e);

#endif
