/*
 * sbt_write.c - the SBT v1 writer (format: docs/sbt-format.md, API: sbt.h).
 *
 * The writer keeps one growable byte buffer per definition chunk type
 * (strings, stacks, topology, attributes, metadata, losses) and one for
 * events. A buffer that passes `chunk_bytes` is written out as a chunk. Before
 * any EVENTS chunk, and before any definition chunk, every pending
 * definition buffer is written in dependency order (strings first, since the
 * other tables refer to them), so each id an event or a record uses is
 * defined earlier in the file than the use. Memory is bounded by about seven
 * times chunk_bytes plus one index entry (40 bytes) per chunk written.
 *
 * Events are encoded as they are appended, directly into the events buffer
 * behind a reserved prefix; when the chunk closes, the base timestamp and the
 * event count are written into the end of that prefix, so the payload is
 * contiguous without a copy. Each chunk is written with one writev() call.
 *
 * State: open -> (definitions, events, flushes)* -> closed. An I/O error
 * moves the writer to a failed state where every call but close fails.
 */
#include "store/sbt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zstd.h>

#include "store/sbt_codec.h"
#include "util/varint.h"
#include "util/xalloc.h"

/* Bytes reserved in front of the events buffer for the chunk's base
 * timestamp and event count (two varints). */
#define SBT_EV_PREFIX (2 * VARINT_MAX_BYTES)

/* A growable byte buffer. */
struct sbt_wbuf {
	uint8_t *p;
	size_t len, cap;
};

/* What the footer index records about one chunk. */
struct sbt_windex {
	uint64_t offset;
	uint64_t events;
	int64_t min_start, max_end;
	uint8_t type;
};

struct sbt_writer {
	int fd;
	char *path;
	bool failed;
	int zstd_level;
	size_t chunk_bytes;
	uint64_t offset; /* bytes written to the file */
	ZSTD_CCtx *cctx;
	struct sbt_wbuf zbuf;                         /* compression output */
	struct sbt_wbuf scratch;                      /* body of the record being built */
	struct sbt_wbuf defs[SBT_CHUNK_TYPE_MAX + 1]; /* pending definitions, by chunk type */
	struct sbt_wbuf ev;                           /* SBT_EV_PREFIX bytes, then events */
	uint64_t ev_count;
	int64_t ev_base, ev_prev_start, ev_min, ev_max;
	uint32_t ev_prev_corr;
	uint32_t last_id[SBT_TABLE_COUNT];
	struct sbt_windex *index;
	size_t nindex, index_cap;
};

/* Definition chunk types in the order they are written. */
static const uint8_t sbt_def_order[] = {SBT_CHUNK_STRINGS, SBT_CHUNK_STACKS, SBT_CHUNK_TOPOLOGY,
                                        SBT_CHUNK_ATTRS,   SBT_CHUNK_META,   SBT_CHUNK_LOSS};

static const char *const sbt_table_names[SBT_TABLE_COUNT] = {
    "string", "frame", "stack", "track", "launch configuration", "NVTX attribute", "memory operation",
};

static void sbt_writer_free(struct sbt_writer *w);

/* Makes room for `extra` more bytes in `b`. */
static void wbuf_reserve(struct sbt_wbuf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return;
	b->p = xgrow(b->p, &b->cap, b->len + extra, 1);
}

/* Appends an unsigned varint to `b`. */
static void wbuf_u(struct sbt_wbuf *b, uint64_t v)
{
	wbuf_reserve(b, VARINT_MAX_BYTES);
	b->len += varint_put(b->p + b->len, v);
}

/* Appends a zigzag varint to `b`. */
static void wbuf_s(struct sbt_wbuf *b, int64_t v)
{
	wbuf_reserve(b, VARINT_MAX_BYTES);
	b->len += varint_put_signed(b->p + b->len, v);
}

/* Appends `n` raw bytes to `b`. */
static void wbuf_bytes(struct sbt_wbuf *b, const void *p, size_t n)
{
	wbuf_reserve(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Fills `e` with the message every call of a failed writer returns. */
static int sbt_writer_dead(const struct sbt_writer *w, struct err *e)
{
	return err_fmt(e, "%s: SBT writer stopped after an earlier write error", w->path);
}

/* Writes the `n` buffers of `iov` whole, retrying short writes. Marks the
 * writer failed and fills `e` on error. `iov` is modified. */
static int sbt_write_iov(struct sbt_writer *w, struct iovec *iov, int n, struct err *e)
{
	while (n > 0) {
		ssize_t r = writev(w->fd, iov, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			w->failed = true;
			return err_errno(e, errno, "%s: cannot write", w->path);
		}
		w->offset += (uint64_t)r;
		size_t done = (size_t)r;
		while (n > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

/* Writes one chunk of type `type` holding `raw_len` raw payload bytes,
 * compressing it when that shrinks it, and records it for the index. The
 * payload stays owned by the caller. */
static int sbt_write_chunk(struct sbt_writer *w, uint8_t type, const uint8_t *raw, size_t raw_len,
                           uint64_t events, int64_t min_start, int64_t max_end, struct err *e)
{
	if (w->nindex >= SBT_MAX_CHUNKS) {
		w->failed = true;
		return err_fmt(e, "%s: SBT file too large (more than %u chunks; raise chunk_bytes)", w->path,
		               SBT_MAX_CHUNKS);
	}
	const uint8_t *payload = raw;
	size_t len = raw_len;
	uint8_t flags = 0;
	if (w->zstd_level > 0 && raw_len > 0) {
		size_t bound = ZSTD_compressBound(raw_len);
		w->zbuf.len = 0;
		wbuf_reserve(&w->zbuf, bound);
		size_t r = ZSTD_compressCCtx(w->cctx, w->zbuf.p, bound, raw, raw_len, w->zstd_level);
		if (!ZSTD_isError(r) && r < raw_len) {
			payload = w->zbuf.p;
			len = r;
			flags = SBT_CHUNK_FLAG_ZSTD;
		}
	}

	uint8_t head[SBT_CHUNK_HEADER_BYTES], tail[SBT_CHUNK_TRAILER_BYTES];
	sbt_chunk_header_encode(head, type, flags, (uint32_t)len);
	sbt_put_le32(tail, crc32c(0, payload, len));
	struct iovec iov[3] = {
	    {head, sizeof(head)},
	    {(void *)payload, len},
	    {tail, sizeof(tail)},
	};
	uint64_t offset = w->offset;
	if (sbt_write_iov(w, iov, 3, e) < 0)
		return -1;

	w->index = xgrow(w->index, &w->index_cap, w->nindex + 1, sizeof(*w->index));
	w->index[w->nindex++] = (struct sbt_windex){
	    .offset = offset, .events = events, .min_start = min_start, .max_end = max_end, .type = type};
	return 0;
}

/* Writes every pending definition buffer as a chunk, in dependency order. */
static int sbt_flush_defs(struct sbt_writer *w, struct err *e)
{
	for (size_t i = 0; i < sizeof(sbt_def_order); i++) {
		struct sbt_wbuf *b = &w->defs[sbt_def_order[i]];
		if (b->len == 0)
			continue;
		if (sbt_write_chunk(w, sbt_def_order[i], b->p, b->len, 0, 0, 0, e) < 0)
			return -1;
		b->len = 0;
	}
	return 0;
}

/* Writes the buffered events as one EVENTS chunk (definitions first). */
static int sbt_flush_events(struct sbt_writer *w, struct err *e)
{
	if (sbt_flush_defs(w, e) < 0)
		return -1;
	if (w->ev_count == 0)
		return 0;
	uint8_t prefix[SBT_EV_PREFIX];
	size_t n = varint_put_signed(prefix, w->ev_base);
	n += varint_put(prefix + n, w->ev_count);
	uint8_t *start = w->ev.p + SBT_EV_PREFIX - n;
	memcpy(start, prefix, n);
	if (sbt_write_chunk(w, SBT_CHUNK_EVENTS, start, w->ev.len - SBT_EV_PREFIX + n, w->ev_count, w->ev_min,
	                    w->ev_max, e) < 0)
		return -1;
	w->ev_count = 0;
	w->ev.len = 0;
	return 0;
}

/* Checks that `id` is the next id of `table`: ids are defined densely, 1, 2,
 * 3 ... (docs/sbt-format.md, "Ids"). */
static int sbt_check_id(struct sbt_writer *w, enum sbt_table table, uint32_t id, struct err *e)
{
	if (id != w->last_id[table] + 1)
		return err_fmt(e, "%s: SBT writer: %s id %u defined after id %u (ids must be 1, 2, 3 ...)",
		               w->path, sbt_table_names[table], id, w->last_id[table]);
	return 0;
}

/* Appends the record built in w->scratch, with `tag`, to the definitions of
 * chunk type `chunk`, after checking its id `id` (when `table` is not
 * SBT_TABLE_COUNT), and writes the definitions out when the buffer is full. */
static int sbt_commit(struct sbt_writer *w, uint8_t chunk, uint32_t tag, enum sbt_table table, uint32_t id,
                      struct err *e)
{
	if (w->failed)
		return sbt_writer_dead(w, e);
	size_t body = w->scratch.len;
	if (body > SBT_MAX_RECORD)
		return err_fmt(e, "%s: SBT writer: record of %zu bytes is larger than the %u-byte limit",
		               w->path, body, SBT_MAX_RECORD);
	if (table != SBT_TABLE_COUNT) {
		if (sbt_check_id(w, table, id, e) < 0)
			return -1;
		w->last_id[table] = id;
	}
	struct sbt_wbuf *b = &w->defs[chunk];
	wbuf_u(b, tag);
	wbuf_u(b, body);
	wbuf_bytes(b, w->scratch.p, body);
	if (b->len >= w->chunk_bytes)
		return sbt_flush_defs(w, e);
	return 0;
}

/* Validates the options, creates the file and writes its header; the
 * caller owns the writer until sbt_writer_close(). */
struct sbt_writer *sbt_writer_open(const char *path, const struct sbt_writer_options *opts, struct err *e)
{
	struct sbt_writer_options o = {0};
	if (opts)
		o = *opts;
	if (o.zstd_level < 0 || o.zstd_level > SBT_MAX_ZSTD_LEVEL) {
		err_fmt(e, "%s: zstd level %d out of range (0 to %d)", path, o.zstd_level,
		        SBT_MAX_ZSTD_LEVEL);
		return NULL;
	}
	if (o.chunk_bytes == 0)
		o.chunk_bytes = SBT_DEFAULT_CHUNK_BYTES;
	if (o.chunk_bytes > SBT_MAX_CHUNK_BYTES) {
		err_fmt(e, "%s: chunk size %zu too large (at most %u bytes)", path, o.chunk_bytes,
		        SBT_MAX_CHUNK_BYTES);
		return NULL;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_errno(e, errno, "%s: cannot create", path);
		return NULL;
	}
	struct sbt_writer *w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->path = xstrdup(path);
	w->zstd_level = o.zstd_level;
	w->chunk_bytes = o.chunk_bytes;
	if (w->zstd_level > 0) {
		w->cctx = ZSTD_createCCtx();
		if (!w->cctx) {
			err_fmt(e, "%s: cannot create a zstd compression context", path);
			sbt_writer_free(w);
			return NULL;
		}
	}

	uint8_t head[SBT_HEADER_BYTES];
	memcpy(head, SBT_MAGIC, SBT_MAGIC_BYTES);
	sbt_put_le16(head + 8, SBT_VERSION_MAJOR);
	sbt_put_le16(head + 10, SBT_VERSION_MINOR);
	sbt_put_le32(head + 12, w->zstd_level > 0 ? SBT_FILE_FLAG_ZSTD : 0);
	struct iovec iov = {head, sizeof(head)};
	if (sbt_write_iov(w, &iov, 1, e) < 0) {
		sbt_writer_free(w);
		return NULL;
	}
	return w;
}

/* Buffers a STRING record (the bytes are copied). */
int sbt_writer_string(struct sbt_writer *w, uint32_t id, const char *bytes, size_t len, struct err *e)
{
	if (len > SBT_MAX_RECORD - VARINT_MAX_BYTES)
		return err_fmt(e, "%s: SBT writer: string of %zu bytes is too long", w->path, len);
	w->scratch.len = 0;
	wbuf_u(&w->scratch, id);
	wbuf_bytes(&w->scratch, bytes, len);
	return sbt_commit(w, SBT_CHUNK_STRINGS, SBT_REC_STRING, SBT_TABLE_STRING, id, e);
}

/* Buffers a frame record. */
int sbt_writer_frame(struct sbt_writer *w, uint32_t id, const struct trace_frame *f, struct err *e)
{
	struct sbt_wbuf *b = &w->scratch;
	b->len = 0;
	wbuf_u(b, id);
	wbuf_u(b, f->pc);
	wbuf_u(b, f->offset);
	wbuf_u(b, f->function);
	wbuf_u(b, f->module);
	wbuf_u(b, f->file);
	wbuf_u(b, f->line);
	return sbt_commit(w, SBT_CHUNK_STACKS, SBT_REC_FRAME, SBT_TABLE_FRAME, id, e);
}

/* Buffers a stack record (the frame ids are copied). */
int sbt_writer_stack(struct sbt_writer *w, uint32_t id, const uint32_t *frames, uint32_t n, struct err *e)
{
	if (n > SBT_MAX_RECORD / VARINT_MAX_BYTES)
		return err_fmt(e, "%s: SBT writer: stack of %u frames is too deep", w->path, n);
	struct sbt_wbuf *b = &w->scratch;
	b->len = 0;
	wbuf_u(b, id);
	wbuf_u(b, n);
	for (uint32_t i = 0; i < n; i++)
		wbuf_u(b, frames[i]);
	return sbt_commit(w, SBT_CHUNK_STACKS, SBT_REC_STACK, SBT_TABLE_STACK, id, e);
}

/* Buffers a track record. */
int sbt_writer_track(struct sbt_writer *w, uint32_t id, const struct trace_track_info *t, struct err *e)
{
	struct sbt_wbuf *b = &w->scratch;
	b->len = 0;
	wbuf_u(b, id);
	wbuf_u(b, t->kind);
	wbuf_u(b, t->pid);
	wbuf_u(b, t->tid);
	wbuf_u(b, t->device);
	wbuf_u(b, t->context);
	wbuf_u(b, t->stream);
	wbuf_u(b, t->name);
	return sbt_commit(w, SBT_CHUNK_TOPOLOGY, SBT_REC_TRACK, SBT_TABLE_TRACK, id, e);
}

/* Buffers a launch configuration record. */
int sbt_writer_launch(struct sbt_writer *w, uint32_t id, const struct trace_launch *l, struct err *e)
{
	struct sbt_wbuf *b = &w->scratch;
	b->len = 0;
	wbuf_u(b, id);
	for (int i = 0; i < 3; i++)
		wbuf_u(b, l->grid[i]);
	for (int i = 0; i < 3; i++)
		wbuf_u(b, l->block[i]);
	wbuf_u(b, l->registers);
	wbuf_u(b, l->static_smem);
	wbuf_u(b, l->dynamic_smem);
	for (int i = 0; i < 3; i++)
		wbuf_u(b, l->cluster[i]);
	return sbt_commit(w, SBT_CHUNK_ATTRS, SBT_REC_LAUNCH, SBT_TABLE_LAUNCH, id, e);
}

/* Buffers an NVTX attributes record. */
int sbt_writer_nvtx_attr(struct sbt_writer *w, uint32_t id, const struct trace_nvtx_attr *a, struct err *e)
{
	struct sbt_wbuf *b = &w->scratch;
	b->len = 0;
	wbuf_u(b, id);
	wbuf_u(b, a->domain);
	wbuf_u(b, a->category);
	wbuf_u(b, a->color);
	wbuf_u(b, a->has_color);
	wbuf_u(b, a->payload_type);
	wbuf_u(b, a->payload);
	return sbt_commit(w, SBT_CHUNK_ATTRS, SBT_REC_NVTX_ATTR, SBT_TABLE_NVTX_ATTR, id, e);
}

/* Buffers a memory operation record. */
int sbt_writer_memop(struct sbt_writer *w, uint32_t id, const struct trace_memop *m, struct err *e)
{
	struct sbt_wbuf *b = &w->scratch;
	b->len = 0;
	wbuf_u(b, id);
	wbuf_u(b, m->address);
	wbuf_u(b, m->bytes);
	wbuf_u(b, m->device);
	wbuf_u(b, m->mem_kind);
	return sbt_commit(w, SBT_CHUNK_ATTRS, SBT_REC_MEMOP, SBT_TABLE_MEMOP, id, e);
}

/* Buffers a process record. */
int sbt_writer_process(struct sbt_writer *w, const struct trace_process *p, struct err *e)
{
	struct sbt_wbuf *b = &w->scratch;
	b->len = 0;
	wbuf_u(b, p->pid);
	wbuf_u(b, p->ppid);
	wbuf_u(b, p->command);
	wbuf_s(b, p->start);
	wbuf_s(b, p->end);
	wbuf_u(b, p->state);
	wbuf_s(b, p->status);
	return sbt_commit(w, SBT_CHUNK_TOPOLOGY, SBT_REC_PROCESS, SBT_TABLE_COUNT, 0, e);
}

/* Buffers a device record. */
int sbt_writer_device(struct sbt_writer *w, const struct trace_device *d, struct err *e)
{
	struct sbt_wbuf *b = &w->scratch;
	b->len = 0;
	wbuf_u(b, d->id);
	wbuf_u(b, d->api);
	wbuf_u(b, d->name);
	wbuf_bytes(b, d->uuid, sizeof(d->uuid));
	wbuf_u(b, d->cc_major);
	wbuf_u(b, d->cc_minor);
	wbuf_u(b, d->sm_count);
	wbuf_u(b, d->global_memory);
	wbuf_u(b, d->warp_size);
	wbuf_u(b, d->max_threads_per_block);
	wbuf_u(b, d->max_threads_per_sm);
	wbuf_u(b, d->max_blocks_per_sm);
	wbuf_u(b, d->regs_per_block);
	wbuf_u(b, d->regs_per_sm);
	wbuf_u(b, d->smem_per_block);
	wbuf_u(b, d->smem_per_sm);
	wbuf_u(b, d->core_clock_khz);
	wbuf_u(b, d->memory_clock_khz);
	wbuf_u(b, d->memory_bus_width);
	return sbt_commit(w, SBT_CHUNK_TOPOLOGY, SBT_REC_DEVICE, SBT_TABLE_COUNT, 0, e);
}

/* Buffers a metadata record (key and value are copied). */
int sbt_writer_meta(struct sbt_writer *w, const char *key, const char *value, struct err *e)
{
	size_t klen = strlen(key), vlen = strlen(value);
	if (klen > SBT_MAX_RECORD / 2 || vlen > SBT_MAX_RECORD / 2)
		return err_fmt(e, "%s: SBT writer: metadata entry too long", w->path);
	struct sbt_wbuf *b = &w->scratch;
	b->len = 0;
	wbuf_u(b, klen);
	wbuf_bytes(b, key, klen);
	wbuf_bytes(b, value, vlen);
	return sbt_commit(w, SBT_CHUNK_META, SBT_REC_META, SBT_TABLE_COUNT, 0, e);
}

/* Buffers a lost-event total. */
int sbt_writer_loss(struct sbt_writer *w, const struct trace_loss *l, struct err *e)
{
	struct sbt_wbuf *b = &w->scratch;
	b->len = 0;
	wbuf_u(b, l->pid);
	wbuf_u(b, l->source);
	wbuf_u(b, l->count);
	return sbt_commit(w, SBT_CHUNK_LOSS, SBT_REC_LOSS, SBT_TABLE_COUNT, 0, e);
}

/* The first kind-specific member of `ev` as a varint value (kinds other
 * than COUNTER). */
static inline uint64_t sbt_event_u0(const struct trace_event *ev)
{
	switch (ev->kind) {
	case TRACE_KERNEL:
		return ev->u.kernel.launch;
	case TRACE_SYNC:
		return ev->u.sync.event;
	case TRACE_API:
		return ev->u.api.cbid;
	case TRACE_NVTX_RANGE:
	case TRACE_NVTX_MARK:
		return ev->u.nvtx.attr;
	case TRACE_MEM_ALLOC:
	case TRACE_MEM_FREE:
		return ev->u.memop.id;
	default: /* MEMCPY, MEMSET, LOST */
		return ev->u.bytes;
	}
}

/* Encodes one event into the events buffer (docs/sbt-format.md, section 7)
 * and writes the chunk when it is full. An event the model refuses (unknown
 * kind, end before start, end - start over INT64_MAX) is an argument error:
 * nothing is written and the writer goes on. O(1) amortized. */
int sbt_writer_append(struct sbt_writer *w, const struct trace_event *ev, struct err *e)
{
	if (w->failed)
		return sbt_writer_dead(w, e);
	/* end - start in unsigned arithmetic: exact whenever end >= start */
	if (ev->kind == 0 || ev->kind > TRACE_KIND_MAX || ev->end < ev->start ||
	    (uint64_t)ev->end - (uint64_t)ev->start > (uint64_t)INT64_MAX)
		return err_fmt(e, "%s: SBT writer: invalid event (kind %u, start %lld, end %lld)", w->path,
		               ev->kind, (long long)ev->start, (long long)ev->end);
	struct sbt_wbuf *b = &w->ev;
	if (w->ev_count == 0) {
		b->len = 0;
		wbuf_reserve(b, SBT_EV_PREFIX + SBT_EVENT_MAX_BYTES);
		b->len = SBT_EV_PREFIX;
		w->ev_base = w->ev_prev_start = w->ev_min = ev->start;
		w->ev_max = ev->end;
		w->ev_prev_corr = 0;
	}
	if (b->cap - b->len < SBT_EVENT_MAX_BYTES)
		wbuf_reserve(b, SBT_EVENT_MAX_BYTES);

	uint8_t *p = b->p + b->len;
	uint8_t *presence;
	unsigned pr = 0;
	*p++ = ev->kind;
	presence = p++;
	p += varint_put(p, varint_zigzag_encode(sbt_u2i((uint64_t)ev->start - (uint64_t)w->ev_prev_start)));
	p += varint_put(p, (uint64_t)ev->end - (uint64_t)ev->start);
	p += varint_put(p, ev->name);
	p += varint_put(p, ev->track);
	if (ev->correlation) {
		pr |= SBT_EV_CORR;
		p += varint_put_signed(p, (int64_t)ev->correlation - (int64_t)w->ev_prev_corr);
		w->ev_prev_corr = ev->correlation;
	}
	if (ev->flags) {
		pr |= SBT_EV_FLAGS;
		*p++ = ev->flags;
	}
	if (ev->sub) {
		pr |= SBT_EV_SUB;
		p += varint_put(p, ev->sub);
	}
	if (ev->kind == TRACE_COUNTER) {
		if (ev->u.bytes) {
			pr |= SBT_EV_U0;
			if (ev->flags & TRACE_FLAG_COUNTER_DOUBLE) {
				sbt_put_le64(p, ev->u.bytes);
				p += 8;
			} else {
				p += varint_put_signed(p, ev->u.counter);
			}
		}
	} else {
		uint64_t u0 = sbt_event_u0(ev);
		if (u0) {
			pr |= SBT_EV_U0;
			p += varint_put(p, u0);
		}
		uint32_t u1 = trace_event_stack(ev);
		if (u1) {
			pr |= SBT_EV_U1;
			p += varint_put(p, u1);
		}
	}
	*presence = (uint8_t)pr;
	b->len = (size_t)(p - b->p);

	w->ev_count++;
	w->ev_prev_start = ev->start;
	if (ev->start < w->ev_min)
		w->ev_min = ev->start;
	if (ev->end > w->ev_max)
		w->ev_max = ev->end;
	if (b->len - SBT_EV_PREFIX >= w->chunk_bytes)
		return sbt_flush_events(w, e);
	return 0;
}

/* Writes every buffered definition and event out as chunks. */
int sbt_writer_flush(struct sbt_writer *w, struct err *e)
{
	if (w->failed)
		return sbt_writer_dead(w, e);
	return sbt_flush_events(w, e);
}

/* Writes the INDEX chunk and the trailer after everything else. */
static int sbt_write_footer(struct sbt_writer *w, struct err *e)
{
	struct sbt_wbuf *b = &w->scratch;
	b->len = 0;
	wbuf_u(b, w->nindex);
	for (size_t i = 0; i < w->nindex; i++) {
		const struct sbt_windex *x = &w->index[i];
		wbuf_u(b, x->offset);
		wbuf_bytes(b, &x->type, 1);
		wbuf_u(b, x->events);
		wbuf_s(b, x->min_start);
		wbuf_s(b, x->max_end);
	}
	uint64_t index_offset = w->offset;
	if (sbt_write_chunk(w, SBT_CHUNK_INDEX, b->p, b->len, 0, 0, 0, e) < 0)
		return -1;
	uint8_t trailer[SBT_TRAILER_BYTES];
	sbt_put_le64(trailer, index_offset);
	memcpy(trailer + 8, SBT_END_MAGIC, 8);
	struct iovec iov = {trailer, sizeof(trailer)};
	return sbt_write_iov(w, &iov, 1, e);
}

/* Flushes, writes the footer, closes the file and frees `w`. */
int sbt_writer_close(struct sbt_writer *w, struct err *e)
{
	if (!w)
		return 0;
	int rc = 0;
	if (w->failed)
		rc = sbt_writer_dead(w, e);
	else if (sbt_flush_events(w, e) < 0 || sbt_write_footer(w, e) < 0)
		rc = -1;
	int fd = w->fd;
	w->fd = -1;
	if (close(fd) < 0 && rc == 0)
		rc = err_errno(e, errno, "%s: cannot close", w->path);
	sbt_writer_free(w);
	return rc;
}

/* Closes the file when still open and frees everything `w` owns, writing
 * nothing more. */
static void sbt_writer_free(struct sbt_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	ZSTD_freeCCtx(w->cctx);
	free(w->zbuf.p);
	free(w->scratch.p);
	for (size_t i = 0; i <= SBT_CHUNK_TYPE_MAX; i++)
		free(w->defs[i].p);
	free(w->ev.p);
	free(w->index);
	free(w->path);
	free(w);
}

/* Bytes written so far (buffered data not included). */
uint64_t sbt_writer_bytes(const struct sbt_writer *w)
{
	return w->offset;
}

/* Writes every definition table of `s` to `w`, in id order: ids 1 .. count - 1
 * of each table, all of which the session defines. */
static int sbt_write_tables(struct sbt_writer *w, const struct trace_session *s, struct err *e)
{
	uint32_t n = trace_session_string_count(s);
	for (uint32_t id = 1; id < n; id++) {
		size_t len;
		const char *str = trace_session_string(s, id, &len);
		if (sbt_writer_string(w, id, str, len, e) < 0)
			return -1;
	}
	n = trace_session_frame_count(s);
	for (uint32_t id = 1; id < n; id++) {
		const struct trace_frame *f = trace_session_frame(s, id);
		if (sbt_writer_frame(w, id, f, e) < 0)
			return -1;
	}
	n = trace_session_stack_count(s);
	for (uint32_t id = 1; id < n; id++) {
		uint32_t depth;
		const uint32_t *frames = trace_session_stack(s, id, &depth);
		if (sbt_writer_stack(w, id, frames, depth, e) < 0)
			return -1;
	}
	n = trace_session_track_count(s);
	for (uint32_t id = 1; id < n; id++) {
		const struct trace_track_info *t = trace_session_track_info(s, id);
		if (sbt_writer_track(w, id, t, e) < 0)
			return -1;
	}
	n = trace_session_launch_count(s);
	for (uint32_t id = 1; id < n; id++) {
		const struct trace_launch *l = trace_session_launch(s, id);
		if (sbt_writer_launch(w, id, l, e) < 0)
			return -1;
	}
	n = trace_session_nvtx_attr_count(s);
	for (uint32_t id = 1; id < n; id++) {
		const struct trace_nvtx_attr *a = trace_session_nvtx_attr(s, id);
		if (sbt_writer_nvtx_attr(w, id, a, e) < 0)
			return -1;
	}
	n = trace_session_memop_count(s);
	for (uint32_t id = 1; id < n; id++) {
		const struct trace_memop *m = trace_session_memop(s, id);
		if (sbt_writer_memop(w, id, m, e) < 0)
			return -1;
	}
	for (size_t i = 0; i < trace_session_process_count(s); i++)
		if (sbt_writer_process(w, trace_session_process(s, i), e) < 0)
			return -1;
	for (size_t i = 0; i < trace_session_device_count(s); i++)
		if (sbt_writer_device(w, trace_session_device(s, i), e) < 0)
			return -1;
	for (size_t i = 0; i < trace_session_meta_count(s); i++) {
		const char *key, *value;
		trace_session_meta_at(s, i, &key, &value);
		if (sbt_writer_meta(w, key, value, e) < 0)
			return -1;
	}
	for (size_t i = 0; i < trace_session_loss_count(s); i++)
		if (sbt_writer_loss(w, trace_session_loss(s, i), e) < 0)
			return -1;
	return 0;
}

/* Writes all of `s` through a writer of its own: tables in id order, then
 * the events of each track in order. */
int sbt_write_session(const char *path, const struct trace_session *s, const struct sbt_writer_options *opts,
                      struct err *e)
{
	struct sbt_writer *w = sbt_writer_open(path, opts, e);
	if (!w)
		return -1;
	if (sbt_write_tables(w, s, e) < 0)
		goto err;
	uint32_t ntracks = trace_session_track_count(s);
	for (uint32_t t = 1; t < ntracks; t++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, t, &n);
		for (size_t i = 0; i < n; i++)
			if (sbt_writer_append(w, &ev[i], e) < 0)
				goto err;
	}
	return sbt_writer_close(w, e);
err:
	sbt_writer_close(w, NULL);
	return -1;
}
