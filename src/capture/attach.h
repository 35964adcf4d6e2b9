/*
 * attach.h - tstop's side of attaching to a process whose collector waits
 * dormant (proto.h: attach): checking that the process may be attached,
 * finding its rendezvous socket (capture/attach_path.h), asking it to
 * connect to tstop's capture socket, and reading its answer.
 *
 * Only processes of the same user are attached: the process's owner is
 * checked before anything else, and the rendezvous listener's credentials
 * (SO_PEERCRED: uid and pid) are checked before the request is sent. The
 * process's own environment (/proc/PID/environ) decides where its
 * rendezvous is, as it did for the collector; when it cannot be read,
 * tstop's environment does.
 */
#ifndef TSTOP_CAPTURE_ATTACH_H
#define TSTOP_CAPTURE_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/proto.h"
#include "util/err.h"

#define CAPTURE_ENVIRON_MAX (4u << 20) /* bytes of /proc/PID/environ read at most */

/* What tstop found out about a process it may attach to. */
struct capture_attach_target {
	uint32_t pid;
	char dir[PROTO_SOCKET_PATH_MAX];    /* its rendezvous directory */
	char socket[PROTO_SOCKET_PATH_MAX]; /* its rendezvous socket */
	bool dir_fallback;                  /* dir is /tmp/tstop-UID (attach_path.h) */
	bool env_read;                      /* its environment could be read */
	bool env_attach;                    /* ... asks for attach (PROTO_ENV_ATTACH) */
	bool env_collector;                 /* ... loads libtstop-inject.so */
	char *command;                      /* its command line, arguments joined by spaces */
};

/* Looks process `pid` up: it must exist, not have exited, and belong to
 * this user (checked first); fills `t` (free with capture_attach_done).
 * Returns 0, or -1 with `e` saying which check failed. */
int capture_attach_find(uint32_t pid, struct capture_attach_target *t, struct err *e);

/* Frees what capture_attach_find allocated in `t`. */
void capture_attach_done(struct capture_attach_target *t);

/* Whether `t`'s rendezvous socket is there. Returns 0 when it is, else -1
 * with `e` saying why not; *later is set when the process was started for
 * attach but its collector has not started yet (it starts at the first
 * CUDA, NVTX or OpenCL call), so that waiting may help. */
int capture_attach_ready(const struct capture_attach_target *t, bool *later, struct err *e);

/* Connects to `t`'s rendezvous, checks that the listener is process t->pid
 * of this user, and sends the request naming `capture_socket`. Returns the
 * connection (non-blocking, close-on-exec: the caller closes it, which
 * ends the session), or -1 with `e` saying why; *later as for
 * capture_attach_ready. */
int capture_attach_request(const struct capture_attach_target *t, const char *capture_socket, bool *later,
                           struct err *e);

/* Removes, from `t`'s rendezvous directory, the sockets that processes
 * killed before they could remove their own left behind: those whose
 * process does not exist and on which nobody listens. Best effort. */
void capture_attach_sweep(const struct capture_attach_target *t);

/* The collector's answer, as it arrives. */
struct capture_attach_answer {
	unsigned char buf[sizeof(struct proto_attached)];
	size_t got;
};

/* Reads what has arrived of the answer on connection `fd` into `a` (zeroed
 * before the first call) without blocking. Returns 1 when the collector
 * accepted, 0 when the answer is not complete yet, -1 with `e` when it
 * refused or closed the connection; messages name process `pid`. */
int capture_attach_read_answer(int fd, uint32_t pid, struct capture_attach_answer *a, struct err *e);

/* The value of variable `name` in an environment block (`len` bytes of
 * NUL-separated NAME=VALUE entries, as /proc/PID/environ holds; the last
 * entry may lack its NUL): a pointer into the block with *vlen set, or NULL
 * when it is not there. The first entry of the name wins, as getenv's
 * does. Pure; O(len). */
const char *capture_environ_get(const char *block, size_t len, const char *name, size_t *vlen);

/* Whether a path list (`len` bytes: LD_PRELOAD's colon- or space-separated
 * entries, or one path) names the collector, CAPTURE_COLLECTOR_NAME, as an
 * entry's file name. Pure. */
bool capture_names_collector(const char *list, size_t len);

/* A sentence for a proto_attach_status a collector answered. Pure. */
const char *capture_attach_status_text(int status);

/* Parses a process id: a decimal number from 1 to INT32_MAX, nothing else.
 * Returns 0 with *pid set, or -1. Pure. */
int capture_attach_parse_pid(const char *arg, uint32_t *pid);

#endif
