/*
 * model.h - what the TUI reads: snapshots of a session, from a source.
 *
 * The app never holds the session a capture is appending to. It asks its
 * source for the newest snapshot at the top of every frame and gives it
 * back at the end; when the snapshot's generation differs from the one the
 * views were built from, the views rebuild their data (keeping their
 * cursor, sort and filter). `tstop open` has one snapshot that never
 * changes (tui_source_static).
 *
 * A live source (`tstop -- PROGRAM`, src/cli/cmd_live.c) also runs the
 * capture, on the interface's thread: the app calls step() once per turn
 * (capture work with a time budget, waiting on the terminal too), and the
 * session grows only inside step(). Events appended by step() make the
 * snapshot stale: the app then draws nothing that reads the session's
 * events (only the status line, from status()) until it calls publish(),
 * which finishes the appended tracks (sorts them) and bumps the
 * generation. The app publishes at most about once a second, and at once
 * before it handles a key, so views never read an event array that moved.
 * docs/architecture.md (TUI, live view) tells the whole story.
 */
#ifndef TSTOP_TUI_MODEL_H
#define TSTOP_TUI_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "trace/session.h"

/* One consistent state of a session. While held, nothing changes it. */
struct tui_snapshot {
	struct trace_session *s; /* finished (tracks sorted); views may cache display names in it */
	uint64_t generation;     /* 1, 2, ...: a new number means new data */
	bool live;               /* the capture is still running */
	const char *path;        /* the file it came from, or NULL */
};

/* What a live source says of its capture, for the status line. */
enum tui_live_state {
	TUI_LIVE_RUNNING = 0, /* the program runs, capture attached */
	TUI_LIVE_EXITED,      /* exited with `code` */
	TUI_LIVE_SIGNALED,    /* killed by signal `code` */
	TUI_LIVE_DETACHED,    /* capture stopped; the program runs on */
};

struct tui_live_status {
	const char *program; /* the command line */
	uint32_t pid;
	enum tui_live_state state;
	int code;        /* exit code or signal number */
	int64_t elapsed; /* ns since the program started, frozen when it ended */
	uint64_t events; /* events captured so far */
	uint64_t lost;   /* events lost so far */
	bool capture_on; /* false while capture is switched off (or during --delay) */
	bool finished;   /* the files are complete */
};

/* What step() reports. */
#define TUI_STEP_EVENTS    0x1u /* the session grew: the snapshot is stale until publish() */
#define TUI_STEP_INTERRUPT 0x2u /* tstop got an interrupt signal: ask before quitting */

/* Requests to a live source. */
enum tui_live_request {
	TUI_LIVE_CAPTURE_OFF = 1,
	TUI_LIVE_CAPTURE_ON,
	TUI_LIVE_KILL,   /* kill the program */
	TUI_LIVE_DETACH, /* stop capturing; the program runs on */
};

struct tui_source_ops {
	/* The newest snapshot, held by the caller until release. Never NULL. */
	const struct tui_snapshot *(*acquire)(void *ctx);
	/* Gives a snapshot back. */
	void (*release)(void *ctx, const struct tui_snapshot *snap);
	/* Live sources only (NULL otherwise). One turn of capture work, waiting
	 * at most wait_ms for it or for `key_fd` to be readable; TUI_STEP_*. */
	unsigned (*step)(void *ctx, int wait_ms, int key_fd);
	/* Finishes what step() appended and bumps the generation (when it grew). */
	void (*publish)(void *ctx);
	/* Fills *st. */
	void (*status)(void *ctx, struct tui_live_status *st);
	/* Acts on a request. */
	void (*request)(void *ctx, enum tui_live_request r);
};

struct tui_source {
	const struct tui_source_ops *ops;
	void *ctx;
};

/* A source that always hands out `snap` (which the caller owns and keeps
 * alive): a saved session. */
void tui_source_static(struct tui_source *src, struct tui_snapshot *snap);

/* The events/s of the status line: the rate over the last window of at
 * least TUI_RATE_WINDOW_NS, updated as samples come. */
#define TUI_RATE_WINDOW_NS 1000000000LL
struct tui_rate {
	bool started;   /* a first sample was fed */
	int64_t t;      /* start of the current window */
	uint64_t n;     /* count at t */
	double per_sec; /* the rate of the last full window */
};

/* Feeds a sample (session time `now`, total count `count`) and returns the
 * rate: 0 until a first window of TUI_RATE_WINDOW_NS has passed. A count
 * that went down (never, from a session) restarts the window. Pure, O(1). */
double tui_rate_update(struct tui_rate *r, int64_t now, uint64_t count);

/* Whether the app must publish a stale snapshot now: a key is waiting, or
 * TUI_PUBLISH_NS passed since the last publish at `last`. Pure. */
#define TUI_PUBLISH_NS 1000000000LL
bool tui_publish_due(bool stale, bool key_waiting, int64_t now, int64_t last);

#endif
