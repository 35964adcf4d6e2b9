/*
 * model.h - what the TUI reads: snapshots of a session, from a source.
 *
 * The app never holds the session a capture is appending to. It asks its
 * source for the newest snapshot at the top of every frame and gives it
 * back at the end; when the snapshot's generation differs from the one the
 * views were built from, the views rebuild their data (keeping their
 * cursor, sort and filter). `tstop open` has one snapshot that never
 * changes (tui_source_static). The live source (`tstop -- PROGRAM`, next)
 * will publish a new snapshot from the drain thread; docs/architecture.md
 * (TUI) describes the plan. Pure declarations, no curses.
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

struct tui_source_ops {
	/* The newest snapshot, held by the caller until release. Never NULL. */
	const struct tui_snapshot *(*acquire)(void *ctx);
	/* Gives a snapshot back. */
	void (*release)(void *ctx, const struct tui_snapshot *snap);
};

struct tui_source {
	const struct tui_source_ops *ops;
	void *ctx;
};

/* A source that always hands out `snap` (which the caller owns and keeps
 * alive): a saved session. */
void tui_source_static(struct tui_source *src, struct tui_snapshot *snap);

#endif
