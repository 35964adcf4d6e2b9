/*
 * capture_cli.h - what the capturing commands (`tstop record`, `tstop
 * attach`) share: their option values, the output file, the session's
 * metadata, the progress line and the end summary.
 *
 * Everything prints to stderr with the "tstop: " prefix the commands use
 * while capturing; the progress line is cleared before anything else is
 * printed.
 */
#ifndef TSTOP_CLI_CAPTURE_CLI_H
#define TSTOP_CLI_CAPTURE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/drain.h"
#include "capture/proto.h"
#include "trace/session.h"

#define CLI_CAPTURE_RING_DEFAULT  (16u << 20)
#define CLI_CAPTURE_FLUSH_DEFAULT 100u

/* The capture options `tstop record` and `tstop attach` share. */
struct cli_capture_opts {
	const char *output;
	bool force;
	double duration; /* seconds of capture, 0 = none (counted after the delay) */
	double delay;    /* seconds before capture starts, 0 = none */
	uint32_t flags;  /* PROTO_OPT_* (PROTO_OPT_WINDOW with a delay or a range) */
	size_t ring_size;
	bool block;
	uint32_t flush_ms;
	bool has_range;             /* --capture-range given */
	bool has_range_end;         /* --capture-range-end given */
	uint32_t range_end;         /* enum proto_range_end (PROTO_RANGE_STOP by default) */
	struct proto_control range; /* the capture range, for the rings' note */
};

/* getopt_long values of the shared long options; a command numbers its own
 * from CLI_CAPTURE_OPT_END. */
enum {
	CLI_CAPTURE_OPT_DURATION = 256,
	CLI_CAPTURE_OPT_KINDS,
	CLI_CAPTURE_OPT_NO_STACKS,
	CLI_CAPTURE_OPT_RING_SIZE,
	CLI_CAPTURE_OPT_BLOCK,
	CLI_CAPTURE_OPT_FLUSH_MS,
	CLI_CAPTURE_OPT_DELAY,
	CLI_CAPTURE_OPT_RANGE,
	CLI_CAPTURE_OPT_RANGE_END,
	CLI_CAPTURE_OPT_END
};

/* The shared entries of a command's struct option table (-o, -f, -h and
 * the long options above), to splice in before its own. */
#define CLI_CAPTURE_LONGOPTS                                                                                 \
	{"output", required_argument, NULL, 'o'}, {"force", no_argument, NULL, 'f'},                         \
	    {"help", no_argument, NULL, 'h'},                                                                \
	    {"duration", required_argument, NULL, CLI_CAPTURE_OPT_DURATION},                                 \
	    {"kinds", required_argument, NULL, CLI_CAPTURE_OPT_KINDS},                                       \
	    {"no-stacks", no_argument, NULL, CLI_CAPTURE_OPT_NO_STACKS},                                     \
	    {"ring-size", required_argument, NULL, CLI_CAPTURE_OPT_RING_SIZE},                               \
	    {"block", no_argument, NULL, CLI_CAPTURE_OPT_BLOCK},                                             \
	    {"delay", required_argument, NULL, CLI_CAPTURE_OPT_DELAY},                                       \
	    {"capture-range", required_argument, NULL, CLI_CAPTURE_OPT_RANGE},                               \
	    {"capture-range-end", required_argument, NULL, CLI_CAPTURE_OPT_RANGE_END},                       \
	{                                                                                                    \
		"flush-ms", required_argument, NULL, CLI_CAPTURE_OPT_FLUSH_MS                                \
	}

/* Sets the defaults: every kind, stacks on, default ring size and flush
 * period, no output name, no duration. */
void cli_capture_opts_init(struct cli_capture_opts *o);

/* Applies getopt's `c` (with `arg`) to `o` when it is a shared option
 * other than -h. Returns 1 when applied, 0 when `c` is not a shared option,
 * -1 after printing a usage error for command `cmd`. */
int cli_capture_opt(struct cli_capture_opts *o, const char *cmd, int c, const char *arg);

/* Checks the shared options together once all are applied (a
 * --capture-range-end needs a --capture-range). Returns 0, or -1 after
 * printing a usage error for command `cmd`. */
int cli_capture_opts_finish(struct cli_capture_opts *o, const char *cmd);

/* Parses a --capture-range: "nvtx:NAME" (a range of NVTX's default
 * domain), "nvtx:NAME@DOMAIN" (of the domain named DOMAIN; the last '@'
 * separates it) or "nvtx:NAME@*" (of any domain) into *c (magic, version,
 * name and domain; range_end left PROTO_RANGE_NONE). Returns 0, or -1 when
 * it is not such a string, or a name or domain is empty or too long. Pure. */
int cli_capture_parse_range(const char *arg, struct proto_control *c);

/* Writes what the collector of a process reads from its ring at connect
 * (the capture range, when there is one) into `r`, which must not have
 * been shared yet: the server's `connected` callback calls it. */
void cli_capture_ring_setup(const struct cli_capture_opts *o, struct ring *r);
#define CLI_CAPTURE_PROGRESS_MS 500

/* CLOCK_MONOTONIC in nanoseconds: the session clock. */
int64_t cli_capture_now(void);

/* Joins argv[0..n-1] with spaces into a new string (the caller frees it). */
char *cli_capture_join(char *const *argv, int n);

/* Parses a ring size: a power of two from RING_MIN_SIZE to RING_MAX_SIZE,
 * with an optional K, M or G suffix. Returns 0 with *out set, or -1. Pure. */
int cli_capture_parse_size(const char *arg, size_t *out);

/* Parses a --kinds list (cuda, nvtx, opencl, all; comma-separated): sets
 * those PROTO_OPT_* capture bits of *flags, clearing the others, and keeps
 * the non-kind bits. Returns 0, or -1 (nothing changed) for an unknown or
 * empty list. Pure. */
int cli_capture_parse_kinds(const char *arg, uint32_t *flags);

/* Chooses the output path for command `cmd` and makes sure it can be
 * written without overwriting anything unasked: `output` (".sbt" added
 * when missing) or a new tstop-YYYYMMDD-HHMMSS[-N].sbt; a new file is
 * created empty now (so the name is ours) and *created says so, for removal
 * when the capture cannot start. An existing file is only taken with
 * `force`. Returns the path (the caller frees it), or NULL after printing
 * an error. */
char *cli_capture_output_path(const char *cmd, const char *output, bool force, bool *created);

/* Writes the session's metadata through the drain: the captured command,
 * host, wall-clock start, tstop version, capture options and clock. */
void cli_capture_meta(struct capture_drain *d, const char *command, const char *options);

/* The one-line progress on a terminal. */
struct cli_capture_progress {
	bool tty;   /* stderr is a terminal: progress is drawn */
	bool shown; /* a progress line is on stderr now */
	int64_t start, last;
	uint64_t last_events;
};

/* Starts the progress of a capture that began at `start`. */
void cli_capture_progress_init(struct cli_capture_progress *p, int64_t start);

/* Clears the progress line, when one is shown, before other output. */
void cli_capture_progress_clear(struct cli_capture_progress *p);

/* Redraws the progress line ("tstop: VERB 1.5 s  N events  R events/s
 * L lost") at most every CLI_CAPTURE_PROGRESS_MS, on a terminal only. */
void cli_capture_progress_tick(struct cli_capture_progress *p, const struct capture_drain *d,
                               const struct trace_session *s, const char *verb, int64_t now);

/* The drain's log callback: "tstop: [pid N] warning: message", with the
 * target's bytes escaped; `arg` is the struct cli_capture_progress. */
void cli_capture_log(void *arg, uint32_t pid, enum proto_log_level level, const char *msg, size_t len);

/* --- the capture switch -------------------------------------------------------
 *
 * tstop's side of capture windows (proto.h): the rings of the processes
 * being captured, so that capture can be paused and resumed in all of them
 * at once (`--delay`; a live view's on/off key), and so that a process that
 * connects while capture is paused starts paused. */
struct cli_capture_switch {
	bool paused;
	size_t n, cap;
	struct cli_capture_switch_ring {
		void *handle; /* the caller's handle of the process (its drain proc) */
		struct ring *ring;
	} * rings;
};

/* Starts a switch in state `paused`, with no rings. */
void cli_capture_switch_init(struct cli_capture_switch *sw, bool paused);

/* Adds the ring of a process that just connected (before its collector
 * maps it): its switch is set to the current state. `handle` identifies
 * it for _remove; `ring` stays its owner's and must be removed before it
 * is closed. */
void cli_capture_switch_add(struct cli_capture_switch *sw, void *handle, struct ring *ring);

/* Forgets the ring of `handle` (before its owner closes it); unknown
 * handles are ignored. O(rings). */
void cli_capture_switch_remove(struct cli_capture_switch *sw, void *handle);

/* Pauses (or resumes) capture in every ring, stamped with session time
 * `now`. O(rings). */
void cli_capture_switch_set(struct cli_capture_switch *sw, bool paused, int64_t now);

/* Forgets every ring and frees the switch's memory. */
void cli_capture_switch_done(struct cli_capture_switch *sw);

/* Prints the end summary on stderr: events by kind, losses by process and
 * source, malformed records, each process and how it ended, and the file
 * written (`bytes` long). */
void cli_capture_summary(struct cli_capture_progress *p, const struct capture_drain *d,
                         const struct trace_session *s, const char *path, uint64_t bytes);

#endif
