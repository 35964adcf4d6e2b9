/*
 * model.c - the static snapshot source of `tstop open`, and the pure
 * helpers of the live view: the events/s rate and when to publish
 * (model.h).
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

static const struct tui_source_ops tui_static_ops = {.acquire = tui_static_acquire,
                                                     .release = tui_static_release};

void tui_source_static(struct tui_source *src, struct tui_snapshot *snap)
{
	src->ops = &tui_static_ops;
	src->ctx = snap;
}

double tui_rate_update(struct tui_rate *r, int64_t now, uint64_t count)
{
	if (!r->started || count < r->n || now < r->t) {
		r->started = true;
		r->t = now;
		r->n = count;
		return r->per_sec;
	}
	int64_t dt = now - r->t;
	if (dt >= TUI_RATE_WINDOW_NS) {
		r->per_sec = (double)(count - r->n) * 1e9 / (double)dt;
		r->t = now;
		r->n = count;
	}
	return r->per_sec;
}

bool tui_publish_due(bool stale, bool key_waiting, int64_t now, int64_t last)
{
	return stale && (key_waiting || now - last >= TUI_PUBLISH_NS);
}
