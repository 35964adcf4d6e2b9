/*
 * proto.h - the records the collector sends to tstop through a ring.
 *
 * Each ring record (capture/ring.h) carries exactly one proto record: an
 * 8-byte struct proto_header followed by a type-specific body. The
 * collector (libtstop-inject.so, inside the target) and tstop come from the
 * same build, so bodies are the C structs below, copied as they are; the
 * HELLO record carries PROTO_VERSION and the sizes of the structs so that a
 * mismatched pair is refused instead of misread.
 *
 * Ids. The collector interns strings, tracks, launch configurations, NVTX
 * attributes, memory operations, frames and stacks in its own id spaces
 * (dense, from 1, per process; 0 = none). The first use of a value sends its
 * definition record; later records refer to the id. The collector reserves
 * and commits a definition before it publishes the id to other threads, so
 * in ring order a definition always precedes every record that uses it.
 * The drain keeps, per process, arrays from collector ids to session ids.
 *
 * Trust. Everything here comes from the target: the drain checks every
 * length, id, kind and enum before use, drops a record that fails (and
 * counts it), and copies what it keeps. Strings are any bytes, capped at
 * PROTO_STRING_MAX by the collector and checked again by the drain.
 *
 * Clock. Every time is nanoseconds of CLOCK_MONOTONIC, the session clock,
 * shared by all processes on the host; CUPTI and OpenCL device times are
 * converted by the collector before they are sent.
 */
#ifndef TSTOP_CAPTURE_PROTO_H
#define TSTOP_CAPTURE_PROTO_H

#include <stdint.h>

#include "trace/event.h"
#include "trace/session.h"

#define PROTO_VERSION    1u
#define PROTO_STRING_MAX 4096u /* bytes of one string; longer ones are cut */
#define PROTO_STACK_MAX  64u   /* frames of one stack */

/* Record types. */
enum proto_type {
	PROTO_HELLO = 1,     /* struct proto_hello + command line bytes: first record of a ring */
	PROTO_STRING = 2,    /* id; the string's bytes (0..PROTO_STRING_MAX) */
	PROTO_TRACK = 3,     /* id; struct trace_track_info (pid ignored: the ring's process) */
	PROTO_LAUNCH = 4,    /* id; struct trace_launch */
	PROTO_NVTX_ATTR = 5, /* id; struct trace_nvtx_attr (domain: a string id) */
	PROTO_MEMOP = 6,     /* id; struct trace_memop */
	PROTO_FRAME = 7,     /* id; struct proto_frame */
	PROTO_STACK = 8,     /* id; uint32_t frame ids, innermost first (1..PROTO_STACK_MAX) */
	PROTO_DEVICE = 9,    /* struct trace_device (name: a string id) */
	PROTO_EVENT = 10,    /* struct trace_event (name, track, side-table and stack ids: collector ids) */
	PROTO_LOSS = 11,     /* struct proto_loss: a cumulative lost-event total of the collector */
	PROTO_LOG = 12,      /* struct proto_log + message bytes: for the user */
	PROTO_GOODBYE = 13,  /* struct proto_goodbye: the process is exiting, everything was sent */
};
#define PROTO_TYPE_MAX 13

/* Every record starts with this. `id` is the definition's id for definition
 * records (STRING, TRACK, LAUNCH, NVTX_ATTR, MEMOP, FRAME, STACK) and 0
 * otherwise. */
struct proto_header {
	uint8_t type; /* enum proto_type */
	uint8_t reserved[3];
	uint32_t id;
};

struct proto_hello {
	uint32_t version; /* PROTO_VERSION */
	uint32_t pid, ppid;
	uint16_t size_event;     /* sizeof(struct trace_event) */
	uint16_t size_track;     /* sizeof(struct trace_track_info) */
	uint16_t size_device;    /* sizeof(struct trace_device) */
	uint16_t size_launch;    /* sizeof(struct trace_launch) */
	uint16_t size_nvtx_attr; /* sizeof(struct trace_nvtx_attr) */
	uint16_t size_memop;     /* sizeof(struct trace_memop) */
	uint16_t size_frame;     /* sizeof(struct proto_frame) */
	uint16_t reserved;
	int64_t start; /* session clock when the collector started in this process */
	               /* followed by the command line, arguments separated by spaces */
};

/* A raw stack frame: tstop symbolizes it (function, file:line) from the
 * module on disk; the collector adds what dladdr knows cheaply. */
struct proto_frame {
	uint64_t pc;
	uint64_t module_offset; /* pc - load address of the module */
	uint32_t module;        /* string id: path of the module, 0 = unknown */
	uint32_t function;      /* string id: dynamic symbol from dladdr, 0 = unknown */
	uint64_t function_offset;
};

/* Sources of collector-side loss ("ring" drops are counted by the ring
 * itself; these are losses before the ring). */
struct proto_loss {
	uint32_t source; /* string id: "cupti", "opencl", "nvtx", ... */
	uint32_t reserved;
	uint64_t count; /* cumulative total for this source */
};

enum proto_log_level {
	PROTO_LOG_INFO = 0,
	PROTO_LOG_WARNING = 1,
	PROTO_LOG_ERROR = 2,
};

struct proto_log {
	uint8_t level; /* enum proto_log_level */
	uint8_t reserved[7];
	/* followed by the message, UTF-8, no trailing newline */
};

struct proto_goodbye {
	int64_t time; /* session clock */
};

/* --- connection ---------------------------------------------------------------
 *
 * tstop listens on a Unix stream socket in an owner-only (0700) directory and
 * passes its path to the target in PROTO_ENV_SOCKET. A process's collector
 * connects on first use (the first CUDA, NVTX or OpenCL call it sees), sends
 * struct proto_connect, and receives struct proto_accept with the ring's
 * memfd attached (SCM_RIGHTS). Both sides check the peer's credentials
 * (SO_PEERCRED: same uid; tstop also checks the pid). The socket stays open
 * for the life of the process: tstop sees the process go when it closes.
 */
#define PROTO_ENV_SOCKET  "TSTOP_SOCKET"
#define PROTO_ENV_LIBRARY "TSTOP_INJECT_LIBRARY" /* path of libtstop-inject.so, for children */
#define PROTO_MAGIC       0x31504f5453545354ull  /* "TSTSTOP1" */

/* Capture options tstop sends in proto_accept.flags. */
#define PROTO_OPT_STACKS 0x01u /* capture call stacks at launch and copy calls */
#define PROTO_OPT_CUDA   0x02u /* CUDA activity through CUPTI */
#define PROTO_OPT_NVTX   0x04u /* NVTX ranges and marks */
#define PROTO_OPT_OPENCL 0x08u /* OpenCL calls and device work */
#define PROTO_OPT_WINDOW 0x10u /* capture may pause (--delay, --capture-range): see below */

struct proto_connect {
	uint64_t magic; /* PROTO_MAGIC */
	uint32_t version;
	uint32_t pid, ppid;
	uint32_t reserved;
};

struct proto_accept {
	uint64_t magic; /* PROTO_MAGIC */
	uint32_t version;
	int32_t status;    /* 0: accepted, a memfd is attached; else refused, no fd */
	uint32_t flags;    /* PROTO_OPT_* */
	uint32_t flush_ms; /* CUPTI flush period */
};

/* --- capture windows ------------------------------------------------------------
 *
 * Capture can be switched off and on while a process runs; what it records
 * while off is nothing but definitions, process records and its final
 * words (LOSS, GOODBYE). Two switches, both must be on:
 *
 *   - tstop's: RING_CTRL_PAUSE in the ring's control word (ring.h), set
 *     and cleared by tstop at any time (`tstop record --delay`; the same
 *     switch a live view may offer), read by the collector on every hook;
 *   - the process's own capture range: when tstop's ring note (ring.h)
 *     holds a struct proto_control with a range, capture in that process
 *     is off until an NVTX range of that name (and domain) starts on any of
 *     its threads, on while one is open, and off when the last one ends;
 *     with PROTO_RANGE_STOP it stays off after that, with
 *     PROTO_RANGE_REPEAT the next such range turns it on again. The range
 *     itself is recorded. Each process follows its own ranges.
 *
 * PROTO_OPT_WINDOW in proto_accept.flags says that either may happen in
 * this session: tstop must set it to use either switch (a collector reads
 * tstop's switch only then, so that a session without windows pays
 * nothing for them), and the CUDA backend then watches every launch and
 * copy (to drop the GPU work of calls made while capture was off, and keep
 * what was launched while it was on, whenever it ends).
 */
#define PROTO_RANGE_NAME_MAX   1024u /* bytes of a capture range's name */
#define PROTO_RANGE_DOMAIN_MAX 256u  /* bytes of its domain's name */

enum proto_range_end {
	PROTO_RANGE_NONE = 0,   /* no capture range: capture follows tstop's switch only */
	PROTO_RANGE_REPEAT = 1, /* every range of the name opens a capture window */
	PROTO_RANGE_STOP = 2,   /* the first window is the only one */
};

enum proto_range_domain {
	PROTO_RANGE_DEFAULT = 0, /* ranges of NVTX's default domain only */
	PROTO_RANGE_NAMED = 1,   /* ranges of the domain named `domain` */
	PROTO_RANGE_ANY = 2,     /* ranges of any domain */
};

/* tstop -> collector, in the ring's note. */
struct proto_control {
	uint64_t magic; /* PROTO_MAGIC */
	uint32_t version;
	uint32_t range_end;    /* enum proto_range_end */
	uint32_t range_domain; /* enum proto_range_domain */
	uint32_t name_len;     /* 1..PROTO_RANGE_NAME_MAX */
	uint32_t domain_len;   /* 0..PROTO_RANGE_DOMAIN_MAX */
	uint32_t reserved;
	char name[PROTO_RANGE_NAME_MAX];
	char domain[PROTO_RANGE_DOMAIN_MAX];
};

/* --- attach -------------------------------------------------------------------
 *
 * A process whose environment sets PROTO_ENV_ATTACH (to anything but "" or
 * "0") and not PROTO_ENV_SOCKET starts its collector dormant: at its first
 * CUDA, NVTX or OpenCL call the collector binds an owner-only Unix socket,
 * the rendezvous, at capture/attach_path.h's path for its pid, and a thread
 * of its own waits there in poll(); nothing is captured and no backend
 * records. `tstop attach PID` connects to the rendezvous (the collector
 * checks that the peer runs as its user), sends struct proto_attach with the
 * path of tstop's own capture socket, and the collector connects to that
 * socket exactly as a recorded process does (proto_connect, proto_accept +
 * memfd, HELLO first in the new ring), then answers struct proto_attached.
 * The rendezvous connection stays open as the session's control: when tstop
 * closes it (or the capture connection closes, tstop gone), the collector
 * flushes its backends, sends what is still open, closes the capture
 * connection, drops its ring and goes dormant again. Every session starts
 * with fresh ids (from 1), like a new process. While a session runs, another
 * attach is answered PROTO_ATTACH_BUSY.
 */
#define PROTO_ENV_ATTACH      "TSTOP_ATTACH"     /* "1": start dormant, attachable */
#define PROTO_ENV_ATTACH_DIR  "TSTOP_ATTACH_DIR" /* directory of the rendezvous sockets */
#define PROTO_ATTACH_PREFIX   "tstop-attach-"    /* rendezvous socket name: prefix + decimal pid */
#define PROTO_SOCKET_PATH_MAX 108                /* bytes of sockaddr_un.sun_path, NUL included */

/* tstop attach -> collector, on the rendezvous socket. */
struct proto_attach {
	uint64_t magic; /* PROTO_MAGIC */
	uint32_t version;
	uint32_t reserved;
	char socket[PROTO_SOCKET_PATH_MAX]; /* tstop's capture socket, NUL-terminated */
};

enum proto_attach_status {
	PROTO_ATTACH_OK = 0,      /* connected: HELLO is in the new ring */
	PROTO_ATTACH_BUSY = 1,    /* another tstop is attached */
	PROTO_ATTACH_FAILED = 2,  /* the capture socket refused it, or the ring could not be mapped */
	PROTO_ATTACH_BAD = 3,     /* malformed request or another protocol version */
	PROTO_ATTACH_EXITING = 4, /* the process is exiting */
};

/* Collector -> tstop attach, on the rendezvous socket, once per request. */
struct proto_attached {
	uint64_t magic; /* PROTO_MAGIC */
	uint32_t version;
	int32_t status; /* enum proto_attach_status */
};

#endif
