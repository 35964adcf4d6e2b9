/*
 * model.c - the static snapshot source of `tstop open` (model.h).
 */
#include "tui/model.h"

/* The snapshot is the context itself. */
static const struct tui_snapshot *tui_static_acquire(void *ctx)
{
	return ctx;
}

/* Nothing to give back: the snapshot outlives the app. */
static void tui_static_release(void *ctx, const struct tui_snapshot *snap)
{
	(void)ctx;
	(void)snap;
}

static const struct tui_source_ops tui_static_ops = {tui_static_acquire, tui_static_release};

void tui_source_static(struct tui_source *src, struct tui_snapshot *snap)
{
	src->ops = &tui_static_ops;
	src->ctx = snap;
}
