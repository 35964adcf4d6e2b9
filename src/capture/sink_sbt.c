/*
 * sink_sbt.c - the SBT file sink of a live capture (see sink.h).
 *
 * A thin adapter from the capture_sink ops onto the SBT writer
 * (store/sbt.h): the drain already delivers ids in the order the writer
 * needs (1, 2, 3 ... per table, definitions before use), so every op maps to
 * one writer call. Durability comes from `flush`, which the capture loop
 * calls about every 100 ms: a tstop killed mid-run leaves a file that opens
 * up to its last whole chunk.
 */
#include "capture/sink.h"

#include <stdlib.h>

#include "util/xalloc.h"

struct capture_sbt_sink {
	struct capture_sink base; /* first: the ops see this */
	struct sbt_writer *w;
};

/* The SBT sink behind `k`. */
static struct sbt_writer *sbt_sink_writer(struct capture_sink *k)
{
	return ((struct capture_sbt_sink *)k)->w;
}

/* Writes string `id`. */
static int sbt_sink_string(struct capture_sink *k, uint32_t id, const char *bytes, size_t len, struct err *e)
{
	return sbt_writer_string(sbt_sink_writer(k), id, bytes, len, e);
}

/* Writes frame `id`. */
static int sbt_sink_frame(struct capture_sink *k, uint32_t id, const struct trace_frame *f, struct err *e)
{
	return sbt_writer_frame(sbt_sink_writer(k), id, f, e);
}

/* Writes stack `id`. */
static int sbt_sink_stack(struct capture_sink *k, uint32_t id, const uint32_t *frames, uint32_t n,
                          struct err *e)
{
	return sbt_writer_stack(sbt_sink_writer(k), id, frames, n, e);
}

/* Writes track `id`. */
static int sbt_sink_track(struct capture_sink *k, uint32_t id, const struct trace_track_info *t,
                          struct err *e)
{
	return sbt_writer_track(sbt_sink_writer(k), id, t, e);
}

/* Writes launch configuration `id`. */
static int sbt_sink_launch(struct capture_sink *k, uint32_t id, const struct trace_launch *l, struct err *e)
{
	return sbt_writer_launch(sbt_sink_writer(k), id, l, e);
}

/* Writes NVTX attribute set `id`. */
static int sbt_sink_nvtx_attr(struct capture_sink *k, uint32_t id, const struct trace_nvtx_attr *a,
                              struct err *e)
{
	return sbt_writer_nvtx_attr(sbt_sink_writer(k), id, a, e);
}

/* Writes memory operation `id`. */
static int sbt_sink_memop(struct capture_sink *k, uint32_t id, const struct trace_memop *m, struct err *e)
{
	return sbt_writer_memop(sbt_sink_writer(k), id, m, e);
}

/* Writes a process record (a later one for the same pid replaces it). */
static int sbt_sink_process(struct capture_sink *k, const struct trace_process *p, struct err *e)
{
	return sbt_writer_process(sbt_sink_writer(k), p, e);
}

/* Writes a device record. */
static int sbt_sink_device(struct capture_sink *k, const struct trace_device *d, struct err *e)
{
	return sbt_writer_device(sbt_sink_writer(k), d, e);
}

/* Writes a metadata pair. */
static int sbt_sink_meta(struct capture_sink *k, const char *key, const char *value, struct err *e)
{
	return sbt_writer_meta(sbt_sink_writer(k), key, value, e);
}

/* Writes a lost-event total. */
static int sbt_sink_loss(struct capture_sink *k, const struct trace_loss *l, struct err *e)
{
	return sbt_writer_loss(sbt_sink_writer(k), l, e);
}

/* Appends an event. */
static int sbt_sink_event(struct capture_sink *k, const struct trace_event *ev, struct err *e)
{
	return sbt_writer_append(sbt_sink_writer(k), ev, e);
}

/* Writes every buffered definition and event as whole chunks. */
static int sbt_sink_flush(struct capture_sink *k, struct err *e)
{
	return sbt_writer_flush(sbt_sink_writer(k), e);
}

/* Writes the footer index, closes the file and frees the sink. */
static int sbt_sink_close(struct capture_sink *k, struct err *e)
{
	struct capture_sbt_sink *sk = (struct capture_sbt_sink *)k;
	int rc = sbt_writer_close(sk->w, e);
	free(sk);
	return rc;
}

static const struct capture_sink_ops capture_sbt_sink_ops = {
    .name = "SBT file",
    .string = sbt_sink_string,
    .frame = sbt_sink_frame,
    .stack = sbt_sink_stack,
    .track = sbt_sink_track,
    .launch = sbt_sink_launch,
    .nvtx_attr = sbt_sink_nvtx_attr,
    .memop = sbt_sink_memop,
    .process = sbt_sink_process,
    .device = sbt_sink_device,
    .meta = sbt_sink_meta,
    .loss = sbt_sink_loss,
    .event = sbt_sink_event,
    .flush = sbt_sink_flush,
    .close = sbt_sink_close,
};

/* Opens the writer on `path`; the caller owns the sink until capture_sink_close. */
struct capture_sink *capture_sbt_sink_open(const char *path, const struct sbt_writer_options *opts,
                                           struct err *e)
{
	struct sbt_writer *w = sbt_writer_open(path, opts, e);
	if (!w)
		return NULL;
	struct capture_sbt_sink *sk = xcalloc(1, sizeof(*sk));
	sk->base.ops = &capture_sbt_sink_ops;
	sk->w = w;
	return &sk->base;
}

/* Bytes written by the SBT sink's writer. */
uint64_t capture_sbt_sink_bytes(const struct capture_sink *k)
{
	return sbt_writer_bytes(((const struct capture_sbt_sink *)k)->w);
}
