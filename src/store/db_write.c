/*
 * db_write.c - the session-database writer: a capture sink whose inserts
 * run on a thread of their own (see db.h for the contract, db_schema.c for
 * the tables).
 *
 * Two threads share a sink:
 *
 *   feeder (the drain, or db_write_session)          writer thread
 *   ops copy what they receive into `cur`  ──queue──►  one transaction per batch:
 *   hand `cur` over when it holds                      prepared INSERTs per table,
 *   batch_events rows, and at every flush               then the batch is recycled
 *
 * The feeder never touches SQLite after the thread starts and the thread
 * never touches `cur`; the queue, the spare batches and the error are
 * shared under `lock`. The sqlite3 handle is the thread's from its start to
 * its end; close joins it and then finalizes the database (planner
 * statistics, a TRUNCATE checkpoint) on the feeder's side. The indexes are
 * created with the tables and kept up to date by the inserts (db_schema.c
 * says why), so that close has none to build.
 *
 * Invariants:
 *   1. A batch holds rows in the order they were received; the thread
 *      inserts each table's rows in that order, so for processes, devices,
 *      metadata and losses (upserts, which keep a key's first rowid and so
 *      the order it was first learnt) the latest call wins.
 *   2. Once `failed` is set (under `lock`) it stays set; the thread drops
 *      every batch after it, and every op, flush and close returns it.
 *   3. Definitions and events in one batch commit together: a reader sees
 *      a batch whole or not at all (WAL).
 *
 * Values: the tables' INTEGER columns are SQLite's int64. Unsigned 64-bit
 * values above INT64_MAX (addresses, byte counts, payload bits, loss
 * counts) are stored as the int64 with the same bits (a negative number);
 * readers convert back (docs/schema.md). A counter sample that is a NaN
 * double, which SQLite cannot store as a REAL, is stored as the text 'NaN'.
 */
#include "store/db.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/sink.h"
#include "trace/demangle.h"
#include "util/xalloc.h"

#define DB_BATCH_DEFAULT 65536u
#define DB_SPARE_MAX     2                   /* recycled batches kept for the feeder */
#define DB_PROGRESS_STEP 65536               /* events between progress calls */
#define DB_MULTI_ROWS    64                  /* event rows per INSERT, sparing per-statement costs */
#define DB_WAL_PAGES     10000               /* WAL pages between automatic checkpoints (~40 MB) */
#define DB_BUSY_MS       5000                /* how long a statement waits for another client's lock */
#define DB_BUSY_RETRIES  20                  /* retries of a batch that still met SQLITE_BUSY */
#define DB_QUEUE_DEFAULT ((size_t)256 << 20) /* bytes of queued batches (db.h) */
#define DB_STR_(x)       #x
#define DB_STR(x)        DB_STR_(x)

/* --- batches ----------------------------------------------------------------------- */

struct db_row_string {
	uint32_t id;
	size_t off, len; /* in bytes[]; NUL-terminated there */
};
struct db_row_frame {
	uint32_t id;
	struct trace_frame f;
};
struct db_row_stack {
	uint32_t id, n;
	size_t off; /* in stack_frames[] */
};
struct db_row_track {
	uint32_t id;
	struct trace_track_info t;
};
struct db_row_launch {
	uint32_t id;
	struct trace_launch l;
};
struct db_row_nvtx_attr {
	uint32_t id;
	struct trace_nvtx_attr a;
};
struct db_row_memop {
	uint32_t id;
	struct trace_memop m;
};
struct db_row_meta {
	size_t key, value; /* offsets of NUL-terminated strings in bytes[] */
};

/* Rows received and not yet committed, table by table (invariant 1). */
struct db_batch {
	struct db_batch *next;
	size_t rows;   /* rows of every table: what batch_events counts */
	size_t weight; /* bytes its rows take, counted in the queue's budget */
	char *bytes;
	size_t nbytes, bytes_cap;
	uint32_t *stack_frames;
	size_t nstack_frames, stack_frames_cap;
#define DB_ARRAY(type, name)                                                                                 \
	type *name;                                                                                          \
	size_t n##name, name##_cap
	DB_ARRAY(struct db_row_string, strings);
	DB_ARRAY(struct db_row_frame, frames);
	DB_ARRAY(struct db_row_stack, stacks);
	DB_ARRAY(struct db_row_track, tracks);
	DB_ARRAY(struct db_row_launch, launches);
	DB_ARRAY(struct db_row_nvtx_attr, nvtx_attrs);
	DB_ARRAY(struct db_row_memop, memops);
	DB_ARRAY(struct trace_process, processes);
	DB_ARRAY(struct trace_device, devices);
	DB_ARRAY(struct db_row_meta, metas);
	DB_ARRAY(struct trace_loss, losses);
	DB_ARRAY(struct trace_event, events);
#undef DB_ARRAY
};

/* Appends a zeroed row to array `name` of batch `b` and yields a pointer to it. */
#define DB_PUSH(b, name)                                                                                     \
	((b)->rows++, (b)->name = xgrow((b)->name, &(b)->name##_cap, (b)->n##name + 1, sizeof(*(b)->name)),  \
	 &(b)->name[(b)->n##name++])

/* Empties batch `b`, keeping its capacity. */
static void db_batch_reset(struct db_batch *b)
{
	b->next = NULL;
	b->rows = b->weight = b->nbytes = b->nstack_frames = 0;
	b->nstrings = b->nframes = b->nstacks = b->ntracks = b->nlaunches = b->nnvtx_attrs = b->nmemops = 0;
	b->nprocesses = b->ndevices = b->nmetas = b->nlosses = b->nevents = 0;
}

/* Frees batch `b` and its arrays; NULL is a no-op. */
static void db_batch_free(struct db_batch *b)
{
	if (!b)
		return;
	free(b->bytes);
	free(b->stack_frames);
	free(b->strings);
	free(b->frames);
	free(b->stacks);
	free(b->tracks);
	free(b->launches);
	free(b->nvtx_attrs);
	free(b->memops);
	free(b->processes);
	free(b->devices);
	free(b->metas);
	free(b->losses);
	free(b->events);
	free(b);
}

/* The bytes the rows of batch `b` take (not its spare capacity). */
static size_t db_batch_weight(const struct db_batch *b)
{
	return sizeof(*b) + b->nbytes + b->nstack_frames * sizeof(*b->stack_frames) +
	       b->nstrings * sizeof(*b->strings) + b->nframes * sizeof(*b->frames) +
	       b->nstacks * sizeof(*b->stacks) + b->ntracks * sizeof(*b->tracks) +
	       b->nlaunches * sizeof(*b->launches) + b->nnvtx_attrs * sizeof(*b->nvtx_attrs) +
	       b->nmemops * sizeof(*b->memops) + b->nprocesses * sizeof(*b->processes) +
	       b->ndevices * sizeof(*b->devices) + b->nmetas * sizeof(*b->metas) +
	       b->nlosses * sizeof(*b->losses) + b->nevents * sizeof(*b->events);
}

/* Copies `len` bytes into b->bytes, NUL-terminated; returns their offset. */
static size_t db_batch_bytes(struct db_batch *b, const char *p, size_t len)
{
	b->bytes = xgrow(b->bytes, &b->bytes_cap, b->nbytes + len + 1, 1);
	size_t off = b->nbytes;
	if (len)
		memcpy(b->bytes + off, p, len);
	b->bytes[off + len] = '\0';
	b->nbytes += len + 1;
	return off;
}

/* --- the sink ------------------------------------------------------------------------- */

/* Prepared statements, one per table. */
enum db_stmt {
	DB_ST_STRING,
	DB_ST_FRAME,
	DB_ST_STACK_FRAME,
	DB_ST_TRACK,
	DB_ST_LAUNCH,
	DB_ST_NVTX_ATTR,
	DB_ST_MEMOP,
	DB_ST_PROCESS,
	DB_ST_DEVICE,
	DB_ST_META,
	DB_ST_LOSS,
	DB_ST_KERNEL,
	DB_ST_MEMCPY,
	DB_ST_MEMSET,
	DB_ST_SYNC,
	DB_ST_API,
	DB_ST_NVTX_RANGE,
	DB_ST_NVTX_MARK,
	DB_ST_MEMORY_EVENT,
	DB_ST_COUNTER,
	DB_ST_LOST,
	DB_ST_COUNT
};

/* The columns every event table starts with, bound as ?1 .. ?6. */
#define DB_EV_COLS "start, end, track, name, correlation, flags"
#define DB_EV_VALS "?1, ?2, ?3, ?4, ?5, ?6"

static const char *const db_stmt_sql[DB_ST_COUNT] = {
    [DB_ST_STRING] = "INSERT INTO strings(id, value, demangled, short_name) VALUES (?1, ?2, ?3, ?4)",
    [DB_ST_FRAME] = "INSERT INTO frames(id, pc, offset, function, module, file, line) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [DB_ST_STACK_FRAME] = "INSERT INTO stack_frames(stack, depth, frame) VALUES (?1, ?2, ?3)",
    [DB_ST_TRACK] = "INSERT INTO tracks(id, kind, pid, tid, device, context, stream, name) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [DB_ST_LAUNCH] = "INSERT INTO launches(id, grid_x, grid_y, grid_z, block_x, block_y, block_z, registers, "
                     "static_smem, dynamic_smem, cluster_x, cluster_y, cluster_z) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [DB_ST_NVTX_ATTR] = "INSERT INTO nvtx_attrs(id, domain, category, color, payload_type, payload) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [DB_ST_MEMOP] =
        "INSERT INTO memory_ops(id, address, bytes, device, mem_kind) VALUES (?1, ?2, ?3, ?4, ?5)",
    [DB_ST_PROCESS] = "INSERT INTO target_processes(pid, ppid, command, start, end, state, status) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(pid) DO UPDATE SET "
                      "ppid = excluded.ppid, command = excluded.command, start = excluded.start, "
                      "end = excluded.end, state = excluded.state, status = excluded.status",
    [DB_ST_DEVICE] =
        "INSERT INTO devices(id, api, name, uuid, cc_major, cc_minor, sm_count, "
        "global_memory, warp_size, max_threads_per_block, max_threads_per_sm, max_blocks_per_sm, "
        "regs_per_block, regs_per_sm, smem_per_block, smem_per_sm, core_clock_khz, "
        "memory_clock_khz, memory_bus_width) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) "
        "ON CONFLICT(id) DO UPDATE SET api = excluded.api, name = excluded.name, uuid = excluded.uuid, "
        "cc_major = excluded.cc_major, cc_minor = excluded.cc_minor, sm_count = excluded.sm_count, "
        "global_memory = excluded.global_memory, warp_size = excluded.warp_size, "
        "max_threads_per_block = excluded.max_threads_per_block, "
        "max_threads_per_sm = excluded.max_threads_per_sm, max_blocks_per_sm = excluded.max_blocks_per_sm, "
        "regs_per_block = excluded.regs_per_block, regs_per_sm = excluded.regs_per_sm, "
        "smem_per_block = excluded.smem_per_block, smem_per_sm = excluded.smem_per_sm, "
        "core_clock_khz = excluded.core_clock_khz, memory_clock_khz = excluded.memory_clock_khz, "
        "memory_bus_width = excluded.memory_bus_width",
    [DB_ST_META] = "INSERT INTO meta(key, value) VALUES (?1, ?2) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [DB_ST_LOSS] = "INSERT INTO losses(pid, source, count) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT(pid, source) DO UPDATE SET count = excluded.count",
    [DB_ST_KERNEL] = "INSERT INTO kernels(" DB_EV_COLS ", launch) VALUES (" DB_EV_VALS ", ?7)",
    [DB_ST_MEMCPY] = "INSERT INTO memcpys(" DB_EV_COLS ", bytes, copy_kind, src_kind, dst_kind) "
                     "VALUES (" DB_EV_VALS ", ?7, ?8, ?9, ?10)",
    [DB_ST_MEMSET] = "INSERT INTO memsets(" DB_EV_COLS ", bytes, mem_kind) VALUES (" DB_EV_VALS ", ?7, ?8)",
    [DB_ST_SYNC] = "INSERT INTO syncs(" DB_EV_COLS ", sync_kind, event) VALUES (" DB_EV_VALS ", ?7, ?8)",
    [DB_ST_API] = "INSERT INTO api_calls(" DB_EV_COLS ", domain, cbid, result, stack) "
                  "VALUES (" DB_EV_VALS ", ?7, ?8, ?9, ?10)",
    [DB_ST_NVTX_RANGE] =
        "INSERT INTO nvtx_ranges(" DB_EV_COLS ", attr, stack) VALUES (" DB_EV_VALS ", ?7, ?8)",
    [DB_ST_NVTX_MARK] = "INSERT INTO nvtx_marks(" DB_EV_COLS ", attr, stack) VALUES (" DB_EV_VALS ", ?7, ?8)",
    [DB_ST_MEMORY_EVENT] =
        "INSERT INTO memory_events(" DB_EV_COLS ", kind, op) VALUES (" DB_EV_VALS ", ?7, ?8)",
    [DB_ST_COUNTER] = "INSERT INTO counters(" DB_EV_COLS ", value) VALUES (" DB_EV_VALS ", ?7)",
    [DB_ST_LOST] = "INSERT INTO lost_ranges(" DB_EV_COLS ", count) VALUES (" DB_EV_VALS ", ?7)",
};

struct capture_db_sink {
	struct capture_sink base; /* first: the ops see this */
	char *path;
	struct sqlite3 *db; /* the thread's while it runs */
	sqlite3_stmt *st[DB_ST_COUNT];
	sqlite3_stmt *multi[DB_ST_COUNT]; /* event tables: DB_MULTI_ROWS rows at once */
	int ncols[DB_ST_COUNT];           /* event tables: columns per row */
	size_t batch_rows;
	bool indexes_at_close;
	size_t queue_max;    /* the queue's byte budget */
	bool wait_when_full; /* the feeder waits for room; else the sink fails */

	/* The feeder's side. */
	struct db_batch *cur;
	uint64_t events_handed; /* events in batches handed to the thread */

	/* Shared, under `lock`. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct db_batch *head, *tail; /* the queue, oldest first */
	size_t queued;                /* bytes of the batches queued or being written */
	pthread_cond_t room;          /* signalled when `queued` shrinks */
	struct db_batch *spare;       /* recycled batches */
	size_t nspare;
	bool closing;
	bool failed; /* invariant 2 */
	char error[ERR_MSG_MAX];
	atomic_bool failed_hint; /* `failed`, readable without the lock */

	pthread_t thread;
	bool thread_started;
	_Atomic uint64_t events_committed;
	_Atomic uint64_t transactions;
};

/* The database sink behind `k`. */
static struct capture_db_sink *db_sink(struct capture_sink *k)
{
	return (struct capture_db_sink *)k;
}

/* Records the sink's first failure (invariant 2). Takes the lock. */
static void db_sink_fail(struct capture_db_sink *k, const char *msg)
{
	pthread_mutex_lock(&k->lock);
	if (!k->failed) {
		k->failed = true;
		snprintf(k->error, sizeof(k->error), "%s", msg);
		atomic_store(&k->failed_hint, true);
	}
	pthread_mutex_unlock(&k->lock);
}

/* Returns -1 with `e` set to the sink's failure, or 0 while it works. */
static int db_sink_check(struct capture_db_sink *k, struct err *e)
{
	if (!atomic_load_explicit(&k->failed_hint, memory_order_relaxed))
		return 0;
	pthread_mutex_lock(&k->lock);
	err_fmt(e, "%s", k->error);
	pthread_mutex_unlock(&k->lock);
	return -1;
}

/* Hands the current batch to the thread (when it holds rows) and takes a
 * spare one, or a new one, as the current batch. */
static void db_sink_hand_over(struct capture_db_sink *k)
{
	struct db_batch *b = k->cur;
	if (!b->rows)
		return;
	b->weight = db_batch_weight(b);
	pthread_mutex_lock(&k->lock);
	/* The budget: a batch larger than the whole budget still goes when the
	 * queue is empty. */
	while (!k->failed && k->head && k->queued + b->weight > k->queue_max && k->wait_when_full)
		pthread_cond_wait(&k->room, &k->lock);
	if (!k->failed && k->head && k->queued + b->weight > k->queue_max) {
		char msg[ERR_MSG_MAX];
		snprintf(msg, sizeof(msg),
		         "session database %s: fell behind the capture (%zu MiB waiting to be written)",
		         k->path, k->queued >> 20);
		pthread_mutex_unlock(&k->lock);
		db_sink_fail(k, msg);
		pthread_mutex_lock(&k->lock);
	}
	if (k->failed) {
		/* Invariant 2: nothing more is written; the batch is emptied for reuse. */
		pthread_mutex_unlock(&k->lock);
		db_batch_reset(b);
		return;
	}
	k->events_handed += b->nevents;
	k->queued += b->weight;
	if (k->tail)
		k->tail->next = b;
	else
		k->head = b;
	k->tail = b;
	struct db_batch *next = k->spare;
	if (next) {
		k->spare = next->next;
		k->nspare--;
	}
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	if (!next)
		next = xcalloc(1, sizeof(*next));
	next->next = NULL;
	k->cur = next;
}

/* Hands the batch over when it is full; returns the sink's state as an op's result. */
static int db_sink_added(struct capture_db_sink *k, struct err *e)
{
	if (k->cur->rows >= k->batch_rows)
		db_sink_hand_over(k);
	return db_sink_check(k, e);
}

/* --- the writer thread ----------------------------------------------------------------- */

/* Binds uint64 `v` as the int64 with the same bits (see the top of the file). */
static int db_bind_u64(sqlite3_stmt *st, int col, uint64_t v)
{
	return sqlite3_bind_int64(st, col, (sqlite3_int64)v);
}

/* Steps and resets `st`; SQLITE_OK or an error code. */
static int db_step(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Inserts string row `r` of batch `b`, with its demangled form and short
 * name (NULL when not mangled, and when the same as the value). */
static int db_put_string(struct capture_db_sink *k, const struct db_batch *b, const struct db_row_string *r)
{
	sqlite3_stmt *st = k->st[DB_ST_STRING];
	const char *value = b->bytes + r->off;
	char *demangled = trace_demangle(value);
	char *short_name = trace_short_name(value);
	if (short_name && strlen(short_name) == r->len && !memcmp(short_name, value, r->len)) {
		free(short_name);
		short_name = NULL;
	}
	sqlite3_bind_int64(st, 1, r->id);
	sqlite3_bind_text(st, 2, value, (int)r->len, SQLITE_STATIC);
	if (demangled)
		sqlite3_bind_text(st, 3, demangled, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	if (short_name)
		sqlite3_bind_text(st, 4, short_name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	int rc = db_step(st);
	sqlite3_clear_bindings(st);
	free(demangled);
	free(short_name);
	return rc;
}

/* Inserts stack row `r`: one stack_frames row per frame, depth 0 innermost. */
static int db_put_stack(struct capture_db_sink *k, const struct db_batch *b, const struct db_row_stack *r)
{
	sqlite3_stmt *st = k->st[DB_ST_STACK_FRAME];
	for (uint32_t i = 0; i < r->n; i++) {
		sqlite3_bind_int64(st, 1, r->id);
		sqlite3_bind_int64(st, 2, i);
		sqlite3_bind_int64(st, 3, b->stack_frames[r->off + i]);
		int rc = db_step(st);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* Inserts device `d`; a UUID of all zeros (unknown) is NULL. */
static int db_put_device(struct capture_db_sink *k, const struct trace_device *d)
{
	sqlite3_stmt *st = k->st[DB_ST_DEVICE];
	static const uint8_t zero[16];
	sqlite3_bind_int64(st, 1, d->id);
	sqlite3_bind_int64(st, 2, d->api);
	sqlite3_bind_int64(st, 3, d->name);
	if (memcmp(d->uuid, zero, sizeof(zero)) != 0)
		sqlite3_bind_blob(st, 4, d->uuid, sizeof(d->uuid), SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	const uint32_t v[] = {d->cc_major, d->cc_minor, d->sm_count};
	for (int i = 0; i < 3; i++)
		sqlite3_bind_int64(st, 5 + i, v[i]);
	db_bind_u64(st, 8, d->global_memory);
	const uint32_t w[] = {d->warp_size,         d->max_threads_per_block, d->max_threads_per_sm,
	                      d->max_blocks_per_sm, d->regs_per_block,        d->regs_per_sm,
	                      d->smem_per_block,    d->smem_per_sm,           d->core_clock_khz,
	                      d->memory_clock_khz,  d->memory_bus_width};
	for (int i = 0; i < 11; i++)
		sqlite3_bind_int64(st, 9 + i, w[i]);
	return db_step(st);
}

/* The statement of each event kind's table. */
static const enum db_stmt db_stmt_of_kind[TRACE_KIND_MAX + 1] = {
    [TRACE_KERNEL] = DB_ST_KERNEL,
    [TRACE_MEMCPY] = DB_ST_MEMCPY,
    [TRACE_MEMSET] = DB_ST_MEMSET,
    [TRACE_SYNC] = DB_ST_SYNC,
    [TRACE_API] = DB_ST_API,
    [TRACE_NVTX_RANGE] = DB_ST_NVTX_RANGE,
    [TRACE_NVTX_MARK] = DB_ST_NVTX_MARK,
    [TRACE_MEM_ALLOC] = DB_ST_MEMORY_EVENT,
    [TRACE_MEM_FREE] = DB_ST_MEMORY_EVENT,
    [TRACE_COUNTER] = DB_ST_COUNTER,
    [TRACE_LOST] = DB_ST_LOST,
};

/* Binds event `ev` (of a valid kind: the ops let no other in) to the
 * columns of its table in `st`, parameters base + 1 onwards. */
static void db_bind_event(sqlite3_stmt *st, int base, const struct trace_event *ev)
{
	sqlite3_bind_int64(st, base + 1, ev->start);
	sqlite3_bind_int64(st, base + 2, ev->end);
	sqlite3_bind_int64(st, base + 3, ev->track);
	sqlite3_bind_int64(st, base + 4, ev->name);
	sqlite3_bind_int64(st, base + 5, ev->correlation);
	sqlite3_bind_int64(st, base + 6, ev->flags);
	switch (ev->kind) {
	case TRACE_KERNEL:
		sqlite3_bind_int64(st, base + 7, ev->u.kernel.launch);
		break;
	case TRACE_MEMCPY:
		db_bind_u64(st, base + 7, ev->u.bytes);
		sqlite3_bind_int64(st, base + 8, trace_memcpy_copy_kind(ev));
		sqlite3_bind_int64(st, base + 9, trace_memcpy_src_kind(ev));
		sqlite3_bind_int64(st, base + 10, trace_memcpy_dst_kind(ev));
		break;
	case TRACE_MEMSET:
		db_bind_u64(st, base + 7, ev->u.bytes);
		sqlite3_bind_int64(st, base + 8, ev->sub);
		break;
	case TRACE_SYNC:
		sqlite3_bind_int64(st, base + 7, ev->sub);
		sqlite3_bind_int64(st, base + 8, ev->u.sync.event);
		break;
	case TRACE_API:
		sqlite3_bind_int64(st, base + 7, trace_api_domain(ev));
		sqlite3_bind_int64(st, base + 8, ev->u.api.cbid);
		sqlite3_bind_int64(st, base + 9, trace_api_result(ev));
		sqlite3_bind_int64(st, base + 10, ev->u.api.stack);
		break;
	case TRACE_NVTX_RANGE:
	case TRACE_NVTX_MARK:
		sqlite3_bind_int64(st, base + 7, ev->u.nvtx.attr);
		sqlite3_bind_int64(st, base + 8, ev->u.nvtx.stack);
		break;
	case TRACE_MEM_ALLOC:
	case TRACE_MEM_FREE:
		sqlite3_bind_int64(st, base + 7, ev->kind);
		sqlite3_bind_int64(st, base + 8, ev->u.memop.id);
		break;
	case TRACE_COUNTER:
		if (!(ev->flags & TRACE_FLAG_COUNTER_DOUBLE))
			sqlite3_bind_int64(st, base + 7, ev->u.counter);
		else if (isnan(ev->u.counter_double))
			sqlite3_bind_text(st, base + 7, "NaN", 3, SQLITE_STATIC);
		else
			sqlite3_bind_double(st, base + 7, ev->u.counter_double);
		break;
	case TRACE_LOST:
		db_bind_u64(st, base + 7, ev->u.bytes);
		break;
	}
}

/* Inserts the events of batch `b` table by table, in batch order within a
 * table, DB_MULTI_ROWS rows per statement where there are that many. */
static int db_put_events(struct capture_db_sink *k, const struct db_batch *b)
{
	const struct trace_event *run[DB_MULTI_ROWS];
	for (int table = DB_ST_KERNEL; table <= DB_ST_LOST; table++) {
		size_t n = 0;
		for (size_t i = 0; i < b->nevents; i++) {
			const struct trace_event *ev = &b->events[i];
			if ((int)db_stmt_of_kind[ev->kind] != table)
				continue;
			run[n++] = ev;
			if (n < DB_MULTI_ROWS)
				continue;
			sqlite3_stmt *st = k->multi[table];
			for (size_t r = 0; r < n; r++)
				db_bind_event(st, (int)r * k->ncols[table], run[r]);
			int rc = db_step(st);
			if (rc != SQLITE_OK)
				return rc;
			n = 0;
		}
		for (size_t r = 0; r < n; r++) {
			db_bind_event(k->st[table], 0, run[r]);
			int rc = db_step(k->st[table]);
			if (rc != SQLITE_OK)
				return rc;
		}
	}
	return SQLITE_OK;
}

/* Inserts the definition rows of batch `b` (everything but events). */
static int db_put_definitions(struct capture_db_sink *k, const struct db_batch *b)
{
	int rc = SQLITE_OK;
	for (size_t i = 0; i < b->nstrings && rc == SQLITE_OK; i++)
		rc = db_put_string(k, b, &b->strings[i]);
	sqlite3_stmt *st = k->st[DB_ST_FRAME];
	for (size_t i = 0; i < b->nframes && rc == SQLITE_OK; i++) {
		const struct trace_frame *f = &b->frames[i].f;
		sqlite3_bind_int64(st, 1, b->frames[i].id);
		db_bind_u64(st, 2, f->pc);
		db_bind_u64(st, 3, f->offset);
		sqlite3_bind_int64(st, 4, f->function);
		sqlite3_bind_int64(st, 5, f->module);
		sqlite3_bind_int64(st, 6, f->file);
		sqlite3_bind_int64(st, 7, f->line);
		rc = db_step(st);
	}
	for (size_t i = 0; i < b->nstacks && rc == SQLITE_OK; i++)
		rc = db_put_stack(k, b, &b->stacks[i]);
	st = k->st[DB_ST_TRACK];
	for (size_t i = 0; i < b->ntracks && rc == SQLITE_OK; i++) {
		const struct trace_track_info *t = &b->tracks[i].t;
		sqlite3_bind_int64(st, 1, b->tracks[i].id);
		sqlite3_bind_int64(st, 2, t->kind);
		sqlite3_bind_int64(st, 3, t->pid);
		sqlite3_bind_int64(st, 4, t->tid);
		sqlite3_bind_int64(st, 5, t->device);
		sqlite3_bind_int64(st, 6, t->context);
		sqlite3_bind_int64(st, 7, t->stream);
		sqlite3_bind_int64(st, 8, t->name);
		rc = db_step(st);
	}
	st = k->st[DB_ST_LAUNCH];
	for (size_t i = 0; i < b->nlaunches && rc == SQLITE_OK; i++) {
		const struct trace_launch *l = &b->launches[i].l;
		const uint32_t v[12] = {l->grid[0],      l->grid[1],    l->grid[2],    l->block[0],
		                        l->block[1],     l->block[2],   l->registers,  l->static_smem,
		                        l->dynamic_smem, l->cluster[0], l->cluster[1], l->cluster[2]};
		sqlite3_bind_int64(st, 1, b->launches[i].id);
		for (int c = 0; c < 12; c++)
			sqlite3_bind_int64(st, 2 + c, v[c]);
		rc = db_step(st);
	}
	st = k->st[DB_ST_NVTX_ATTR];
	for (size_t i = 0; i < b->nnvtx_attrs && rc == SQLITE_OK; i++) {
		const struct trace_nvtx_attr *a = &b->nvtx_attrs[i].a;
		sqlite3_bind_int64(st, 1, b->nvtx_attrs[i].id);
		sqlite3_bind_int64(st, 2, a->domain);
		sqlite3_bind_int64(st, 3, a->category);
		if (a->has_color)
			sqlite3_bind_int64(st, 4, a->color);
		else
			sqlite3_bind_null(st, 4);
		sqlite3_bind_int64(st, 5, a->payload_type);
		db_bind_u64(st, 6, a->payload);
		rc = db_step(st);
	}
	st = k->st[DB_ST_MEMOP];
	for (size_t i = 0; i < b->nmemops && rc == SQLITE_OK; i++) {
		const struct trace_memop *m = &b->memops[i].m;
		sqlite3_bind_int64(st, 1, b->memops[i].id);
		db_bind_u64(st, 2, m->address);
		db_bind_u64(st, 3, m->bytes);
		sqlite3_bind_int64(st, 4, m->device);
		sqlite3_bind_int64(st, 5, m->mem_kind);
		rc = db_step(st);
	}
	st = k->st[DB_ST_PROCESS];
	for (size_t i = 0; i < b->nprocesses && rc == SQLITE_OK; i++) {
		const struct trace_process *p = &b->processes[i];
		sqlite3_bind_int64(st, 1, p->pid);
		sqlite3_bind_int64(st, 2, p->ppid);
		sqlite3_bind_int64(st, 3, p->command);
		sqlite3_bind_int64(st, 4, p->start);
		sqlite3_bind_int64(st, 5, p->end);
		sqlite3_bind_int64(st, 6, p->state);
		sqlite3_bind_int64(st, 7, p->status);
		rc = db_step(st);
	}
	for (size_t i = 0; i < b->ndevices && rc == SQLITE_OK; i++)
		rc = db_put_device(k, &b->devices[i]);
	st = k->st[DB_ST_META];
	for (size_t i = 0; i < b->nmetas && rc == SQLITE_OK; i++) {
		sqlite3_bind_text(st, 1, b->bytes + b->metas[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, b->bytes + b->metas[i].value, -1, SQLITE_STATIC);
		rc = db_step(st);
	}
	st = k->st[DB_ST_LOSS];
	for (size_t i = 0; i < b->nlosses && rc == SQLITE_OK; i++) {
		sqlite3_bind_int64(st, 1, b->losses[i].pid);
		sqlite3_bind_int64(st, 2, b->losses[i].source);
		db_bind_u64(st, 3, b->losses[i].count);
		rc = db_step(st);
	}
	return rc;
}

/* Writes batch `b` in one transaction (invariant 3). 0, or -1 after
 * recording the failure. */
static int db_write_batch(struct capture_db_sink *k, const struct db_batch *b)
{
	const char *what = "starting a transaction";
	int rc = SQLITE_BUSY;
	/* Another client (sqlite3, a checkpoint) may hold the write lock: the
	 * busy handler waits DB_BUSY_MS for it at every step, and a batch that
	 * still meets SQLITE_BUSY (which SQLite returns without waiting where
	 * waiting could deadlock) is rolled back and tried again. */
	for (int attempt = 0; attempt <= DB_BUSY_RETRIES && (rc & 0xff) == SQLITE_BUSY; attempt++) {
		if (attempt) {
			if (!sqlite3_get_autocommit(k->db))
				sqlite3_exec(k->db, "ROLLBACK", NULL, NULL, NULL);
			usleep(50000);
		}
		what = "starting a transaction";
		rc = sqlite3_exec(k->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK) {
			what = "inserting";
			rc = db_put_definitions(k, b);
			if (rc == SQLITE_OK)
				rc = db_put_events(k, b);
		}
		if (rc == SQLITE_OK) {
			what = "committing";
			rc = sqlite3_exec(k->db, "COMMIT", NULL, NULL, NULL);
		}
	}
	if (rc != SQLITE_OK) {
		char msg[ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "session database %s: %s: %s", k->path, what,
		         sqlite3_errmsg(k->db));
		if (!sqlite3_get_autocommit(k->db))
			sqlite3_exec(k->db, "ROLLBACK", NULL, NULL, NULL);
		db_sink_fail(k, msg);
		return -1;
	}
	atomic_fetch_add(&k->events_committed, b->nevents);
	atomic_fetch_add(&k->transactions, 1);
	return 0;
}

/* The writer thread: commits queued batches in order until the sink
 * closes and the queue is empty; after a failure it only drops them. */
static void *db_writer_main(void *arg)
{
	struct capture_db_sink *k = arg;
	pthread_mutex_lock(&k->lock);
	for (;;) {
		while (!k->head && !k->closing)
			pthread_cond_wait(&k->cond, &k->lock);
		struct db_batch *b = k->head;
		if (!b)
			break; /* closing, and nothing left */
		k->head = b->next;
		if (!k->head)
			k->tail = NULL;
		bool failed = k->failed;
		pthread_mutex_unlock(&k->lock);
		if (!failed)
			db_write_batch(k, b);
		size_t weight = b->weight;
		db_batch_reset(b);
		pthread_mutex_lock(&k->lock);
		k->queued -= weight;
		pthread_cond_signal(&k->room);
		if (k->nspare < DB_SPARE_MAX) {
			b->next = k->spare;
			k->spare = b;
			k->nspare++;
		} else {
			db_batch_free(b);
		}
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/* --- the ops (feeder side) ---------------------------------------------------------------- */

/* Queues string `id`, its bytes copied. */
static int db_sink_string(struct capture_sink *ks, uint32_t id, const char *bytes, size_t len, struct err *e)
{
	struct capture_db_sink *k = db_sink(ks);
	if (len > INT32_MAX)
		return err_fmt(e, "session database: string %u is too long (%zu bytes)", id, len);
	size_t off = db_batch_bytes(k->cur, bytes, len);
	struct db_row_string *r = DB_PUSH(k->cur, strings);
	r->id = id;
	r->off = off;
	r->len = len;
	return db_sink_added(k, e);
}

/* Queues frame `id`. */
static int db_sink_frame(struct capture_sink *ks, uint32_t id, const struct trace_frame *f, struct err *e)
{
	struct capture_db_sink *k = db_sink(ks);
	struct db_row_frame *r = DB_PUSH(k->cur, frames);
	r->id = id;
	r->f = *f;
	return db_sink_added(k, e);
}

/* Queues stack `id` and its frame ids. */
static int db_sink_stack(struct capture_sink *ks, uint32_t id, const uint32_t *frames, uint32_t n,
                         struct err *e)
{
	struct capture_db_sink *k = db_sink(ks);
	struct db_batch *b = k->cur;
	b->stack_frames =
	    xgrow(b->stack_frames, &b->stack_frames_cap, b->nstack_frames + n, sizeof(uint32_t));
	struct db_row_stack *r = DB_PUSH(b, stacks);
	r->id = id;
	r->n = n;
	r->off = b->nstack_frames;
	if (n)
		memcpy(b->stack_frames + b->nstack_frames, frames, n * sizeof(uint32_t));
	b->nstack_frames += n;
	return db_sink_added(k, e);
}

/* Queues track `id`. */
static int db_sink_track(struct capture_sink *ks, uint32_t id, const struct trace_track_info *t,
                         struct err *e)
{
	struct capture_db_sink *k = db_sink(ks);
	struct db_row_track *r = DB_PUSH(k->cur, tracks);
	r->id = id;
	r->t = *t;
	return db_sink_added(k, e);
}

/* Queues launch configuration `id`. */
static int db_sink_launch(struct capture_sink *ks, uint32_t id, const struct trace_launch *l, struct err *e)
{
	struct capture_db_sink *k = db_sink(ks);
	struct db_row_launch *r = DB_PUSH(k->cur, launches);
	r->id = id;
	r->l = *l;
	return db_sink_added(k, e);
}

/* Queues NVTX attribute set `id`. */
static int db_sink_nvtx_attr(struct capture_sink *ks, uint32_t id, const struct trace_nvtx_attr *a,
                             struct err *e)
{
	struct capture_db_sink *k = db_sink(ks);
	struct db_row_nvtx_attr *r = DB_PUSH(k->cur, nvtx_attrs);
	r->id = id;
	r->a = *a;
	return db_sink_added(k, e);
}

/* Queues memory operation `id`. */
static int db_sink_memop(struct capture_sink *ks, uint32_t id, const struct trace_memop *m, struct err *e)
{
	struct capture_db_sink *k = db_sink(ks);
	struct db_row_memop *r = DB_PUSH(k->cur, memops);
	r->id = id;
	r->m = *m;
	return db_sink_added(k, e);
}

/* Queues a process (the latest for a pid wins). */
static int db_sink_process(struct capture_sink *ks, const struct trace_process *p, struct err *e)
{
	struct capture_db_sink *k = db_sink(ks);
	*DB_PUSH(k->cur, processes) = *p;
	return db_sink_added(k, e);
}

/* Queues a device (the latest for an id wins). */
static int db_sink_device(struct capture_sink *ks, const struct trace_device *d, struct err *e)
{
	struct capture_db_sink *k = db_sink(ks);
	*DB_PUSH(k->cur, devices) = *d;
	return db_sink_added(k, e);
}

/* Queues a metadata pair, both strings copied (the latest for a key wins). */
static int db_sink_meta(struct capture_sink *ks, const char *key, const char *value, struct err *e)
{
	struct capture_db_sink *k = db_sink(ks);
	if (!strcmp(key, DB_META_COMPLETE))
		return db_sink_check(k, e); /* the writer's own key, written at close */
	size_t koff = db_batch_bytes(k->cur, key, strlen(key));
	size_t voff = db_batch_bytes(k->cur, value, strlen(value));
	struct db_row_meta *r = DB_PUSH(k->cur, metas);
	r->key = koff;
	r->value = voff;
	return db_sink_added(k, e);
}

/* Queues a lost-event total (the latest for (pid, source) wins). */
static int db_sink_loss(struct capture_sink *ks, const struct trace_loss *l, struct err *e)
{
	struct capture_db_sink *k = db_sink(ks);
	*DB_PUSH(k->cur, losses) = *l;
	return db_sink_added(k, e);
}

/* Queues an event. */
static int db_sink_event(struct capture_sink *ks, const struct trace_event *ev, struct err *e)
{
	struct capture_db_sink *k = db_sink(ks);
	if (ev->kind < 1 || ev->kind > TRACE_KIND_MAX)
		return err_fmt(e, "session database: event of unknown kind %u", ev->kind);
	*DB_PUSH(k->cur, events) = *ev;
	return db_sink_added(k, e);
}

/* Hands what is pending to the thread, to be committed in its own
 * transaction; does not wait for the commit. */
static int db_sink_flush(struct capture_sink *ks, struct err *e)
{
	struct capture_db_sink *k = db_sink(ks);
	db_sink_hand_over(k);
	return db_sink_check(k, e);
}

/* Finalizes and closes the database of a sink whose thread has ended:
 * indexes (when deferred to close), optimize, TRUNCATE checkpoint, unless
 * it failed. Frees the statements and the handle in every case. 0, or -1
 * with `e`. */
static int db_sink_finish(struct capture_db_sink *k, struct err *e)
{
	int rc = db_sink_check(k, e);
	struct err ie;
	if (rc == 0 && k->indexes_at_close && db_schema_create_indexes(k->db, &ie) < 0)
		rc = err_fmt(e, "session database %s: %s", k->path, ie.msg);
	/* The completion marker, in the last transaction: a database without it
	 * was cut short (or is still being written). */
	if (rc == 0 && sqlite3_exec(k->db,
	                            "INSERT INTO meta(key, value) VALUES ('" DB_META_COMPLETE "', '1') "
	                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	                            NULL, NULL, NULL) != SQLITE_OK)
		rc = err_fmt(e, "session database %s: marking it complete: %s", k->path,
		             sqlite3_errmsg(k->db));
	if (rc == 0) {
		/* Statistics for the query planner, bounded so that it stays quick. */
		sqlite3_exec(k->db, "PRAGMA analysis_limit = 1000; PRAGMA optimize", NULL, NULL, NULL);
		/* A reader (tstop sql, sqlite3) may hold a snapshot: wait a little
		 * for it, so that the WAL is folded into the file; if it stays, the
		 * WAL is left beside the file, which readers use as they should.
		 * synchronous=NORMAL for this last checkpoint: the finished file
		 * is synced to the disk once. */
		sqlite3_busy_timeout(k->db, 2000);
		sqlite3_exec(k->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
		if (sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) !=
		        SQLITE_OK &&
		    sqlite3_errcode(k->db) != SQLITE_BUSY)
			rc =
			    err_fmt(e, "session database %s: checkpoint: %s", k->path, sqlite3_errmsg(k->db));
	}
	for (int i = 0; i < DB_ST_COUNT; i++) {
		sqlite3_finalize(k->st[i]);
		sqlite3_finalize(k->multi[i]);
	}
	if (sqlite3_close(k->db) != SQLITE_OK && rc == 0)
		rc = err_fmt(e, "session database %s: closing: %s", k->path, sqlite3_errmsg(k->db));
	k->db = NULL;
	return rc;
}

/* Frees the sink's memory (the database is closed by then). */
static void db_sink_free(struct capture_db_sink *k)
{
	db_batch_free(k->cur);
	while (k->head) {
		struct db_batch *b = k->head;
		k->head = b->next;
		db_batch_free(b);
	}
	while (k->spare) {
		struct db_batch *b = k->spare;
		k->spare = b->next;
		db_batch_free(b);
	}
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->cond);
	pthread_cond_destroy(&k->room);
	free(k->path);
	free(k);
}

/* Hands over the last batch, waits for the thread to commit everything,
 * finalizes the database and frees the sink, in every case. */
static int db_sink_close(struct capture_sink *ks, struct err *e)
{
	struct capture_db_sink *k = db_sink(ks);
	db_sink_hand_over(k);
	pthread_mutex_lock(&k->lock);
	k->closing = true;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	struct err local;
	int rc = db_sink_finish(k, e ? e : &local);
	db_sink_free(k);
	return rc;
}

static const struct capture_sink_ops capture_db_sink_ops = {
    .name = "session database",
    .string = db_sink_string,
    .frame = db_sink_frame,
    .stack = db_sink_stack,
    .track = db_sink_track,
    .launch = db_sink_launch,
    .nvtx_attr = db_sink_nvtx_attr,
    .memop = db_sink_memop,
    .process = db_sink_process,
    .device = db_sink_device,
    .meta = db_sink_meta,
    .loss = db_sink_loss,
    .event = db_sink_event,
    .flush = db_sink_flush,
    .close = db_sink_close,
};

/* --- opening ---------------------------------------------------------------------------- */

/* Removes `path` followed by `suffix` ("-wal", ...); 0 when it is gone, or
 * -1 with errno. */
static int db_unlink_suffixed(const char *path, const char *suffix)
{
	char *p = xmalloc(strlen(path) + strlen(suffix) + 1);
	strcpy(p, path);
	strcat(p, suffix);
	int rc = unlink(p) < 0 && errno != ENOENT ? -1 : 0;
	int saved = errno;
	free(p);
	errno = saved;
	return rc;
}

/* Removes the database `path` and the files SQLite keeps beside it; 0, or
 * -1 with `e` when the database itself cannot be removed. */
static int db_remove_files(const char *path, struct err *e)
{
	db_unlink_suffixed(path, "-wal");
	db_unlink_suffixed(path, "-shm");
	db_unlink_suffixed(path, "-journal");
	if (db_unlink_suffixed(path, "") < 0)
		return err_errno(e, errno, "cannot replace %s", path);
	return 0;
}

/* Creates a new empty file "PATH.tmp-XXXXXX" beside `path`, with the mode
 * a database gets (0666 less the umask; mkstemp would make it 0600), and
 * returns its name, which the caller frees; NULL with `e` filled. */
static char *db_temp_create(const char *path, struct err *e)
{
	static _Atomic unsigned serial;
	char *t = xmalloc(strlen(path) + 32);
	for (int attempt = 0; attempt < 100; attempt++) {
		unsigned x = (unsigned)getpid() * 2654435761u ^ (atomic_fetch_add(&serial, 1) * 40503u);
		sprintf(t, "%s.tmp-%06x", path, x & 0xffffffu);
		int fd = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0) {
			close(fd);
			return t;
		}
		if (errno != EEXIST)
			break;
	}
	err_errno(e, errno, "cannot create %s", t);
	free(t);
	return NULL;
}

/* The INSERT of DB_MULTI_ROWS rows made from the one-row INSERT `sql`
 * whose row has `ncols` parameters. The caller frees it. */
static char *db_multi_sql(const char *sql, int ncols)
{
	const char *values = strstr(sql, "VALUES");
	size_t head = (size_t)(values - sql) + strlen("VALUES");
	size_t row = 3 + 2 * (size_t)ncols; /* ",(?,?)" */
	char *out = xmalloc(head + DB_MULTI_ROWS * row + 1);
	memcpy(out, sql, head);
	char *p = out + head;
	for (int r = 0; r < DB_MULTI_ROWS; r++) {
		*p++ = r ? ',' : ' ';
		*p++ = '(';
		for (int c = 0; c < ncols; c++) {
			if (c)
				*p++ = ',';
			*p++ = '?';
		}
		*p++ = ')';
	}
	*p = '\0';
	return out;
}

/* Creates `path` exclusively (so that it is ours), then opens it with
 * SQLite, sets the pragmas and creates the schema; fills k->db. 0, or -1
 * with `e` (the file, when created, is removed by the caller). */
static int db_sink_create(struct capture_db_sink *k, bool replace, bool precreated, bool *created,
                          struct err *e)
{
	if (precreated) {
		*created = true;
	} else if (replace) {
		/* The new file takes the name in one rename, so that the old
		 * database is not lost when the new one cannot be created. */
		char *tmp = db_temp_create(k->path, e);
		if (!tmp)
			return -1;
		if (rename(tmp, k->path) < 0) {
			err_errno(e, errno, "cannot replace %s", k->path);
			unlink(tmp);
			free(tmp);
			return -1;
		}
		free(tmp);
		*created = true;
	} else {
		int fd = open(k->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0) {
			if (errno == EEXIST)
				return err_fmt(e, "%s already exists", k->path);
			return err_errno(e, errno, "cannot create %s", k->path);
		}
		close(fd);
		*created = true;
	}
	/* Files of an earlier database of that name would be taken for this
	 * one's: an old WAL would even be replayed into it. */
	db_unlink_suffixed(k->path, "-wal");
	db_unlink_suffixed(k->path, "-shm");
	db_unlink_suffixed(k->path, "-journal");
	if (sqlite3_open_v2(k->path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return err_fmt(e, "cannot open %s: %s", k->path,
		               k->db ? sqlite3_errmsg(k->db) : "out of memory");
	/* Other clients (the sqlite3 shell, a reader's checkpoint) may take the
	 * write lock a moment: wait for them rather than fail. */
	sqlite3_busy_timeout(k->db, DB_BUSY_MS);
	/* WAL: readers see every committed batch while the writer goes on.
	 * synchronous=OFF: a commit is in the OS's hands when it returns, so
	 * it survives tstop being killed; only a crash of the OS itself may
	 * lose the database, which `tstop db` rebuilds from the SBT. NORMAL
	 * would fsync at every checkpoint: measured, that and checkpoints
	 * every 1000 pages (the default) cost ~25% of the insert rate.
	 * wal_autocheckpoint of DB_WAL_PAGES pages: checkpoints are rare, and
	 * the WAL that close folds into the file stays small (a much larger
	 * WAL slows every page lookup). journal_size_limit: the WAL file is
	 * cut back to that after a checkpoint that a reader held up. */
	static const char pragmas[] =
	    "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; "
	    "PRAGMA wal_autocheckpoint = " DB_STR(
	        DB_WAL_PAGES) "; "
	                      "PRAGMA journal_size_limit = 67108864; "
	                      "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; PRAGMA threads = 2";
	char *msg = NULL;
	if (sqlite3_exec(k->db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
		err_fmt(e, "cannot set up %s: %s", k->path, msg ? msg : sqlite3_errmsg(k->db));
		sqlite3_free(msg);
		return -1;
	}
	/* String 0, the empty string, is a row too, so that joins on a name
	 * column find every event. */
	struct err se = {{0}};
	if (db_schema_create(k->db, &se) < 0 ||
	    sqlite3_exec(k->db, "INSERT INTO strings(id, value) VALUES (0, '')", NULL, NULL, NULL) !=
	        SQLITE_OK ||
	    (!k->indexes_at_close && db_schema_create_indexes(k->db, &se) < 0))
		return err_fmt(e, "cannot create the schema in %s: %s", k->path,
		               se.msg[0] ? se.msg : sqlite3_errmsg(k->db));
	for (int i = 0; i < DB_ST_COUNT; i++)
		if (sqlite3_prepare_v3(k->db, db_stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &k->st[i],
		                       NULL) != SQLITE_OK)
			return err_fmt(e, "preparing the inserts of %s: %s", k->path, sqlite3_errmsg(k->db));
	for (int i = DB_ST_KERNEL; i <= DB_ST_LOST; i++) {
		k->ncols[i] = sqlite3_bind_parameter_count(k->st[i]);
		char *sql = db_multi_sql(db_stmt_sql[i], k->ncols[i]);
		int rc = sqlite3_prepare_v3(k->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &k->multi[i], NULL);
		free(sql);
		if (rc != SQLITE_OK)
			return err_fmt(e, "preparing the inserts of %s: %s", k->path, sqlite3_errmsg(k->db));
	}
	return 0;
}

/* Opens a database sink at `path`, which exists and is empty and ours
 * when `precreated`; see capture_db_sink_open. */
static struct capture_sink *db_sink_open(const char *path, bool replace, bool precreated,
                                         const struct db_sink_options *opts, struct err *e)
{
	struct capture_db_sink *k = xcalloc(1, sizeof(*k));
	k->base.ops = &capture_db_sink_ops;
	k->path = xstrdup(path);
	k->batch_rows = opts && opts->batch_events ? opts->batch_events : DB_BATCH_DEFAULT;
	k->indexes_at_close = opts && opts->indexes_at_close;
	k->queue_max = opts && opts->queue_bytes ? opts->queue_bytes : DB_QUEUE_DEFAULT;
	k->wait_when_full = opts && opts->wait_when_full;
	k->cur = xcalloc(1, sizeof(*k->cur));
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->cond, NULL);
	pthread_cond_init(&k->room, NULL);
	atomic_init(&k->failed_hint, false);
	atomic_init(&k->events_committed, 0);
	atomic_init(&k->transactions, 0);
	bool created = false;
	e->msg[0] = '\0';
	int rc = db_sink_create(k, replace, precreated, &created, e);
	if (rc == 0) {
		int err = pthread_create(&k->thread, NULL, db_writer_main, k);
		if (err)
			rc = err_errno(e, err, "session database: cannot start its thread");
	}
	if (rc < 0) {
		for (int i = 0; i < DB_ST_COUNT; i++) {
			sqlite3_finalize(k->st[i]);
			sqlite3_finalize(k->multi[i]);
		}
		sqlite3_close(k->db);
		if (created) {
			struct err ignored;
			db_remove_files(k->path, &ignored);
		}
		db_sink_free(k);
		return NULL;
	}
	return &k->base;
}

/* Opens a database sink; see db.h. The caller owns the sink until close. */
struct capture_sink *capture_db_sink_open(const char *path, bool replace, const struct db_sink_options *opts,
                                          struct err *e)
{
	return db_sink_open(path, replace, false, opts, e);
}

/* The counters of a database sink; see db.h. */
void capture_db_sink_stats(const struct capture_sink *ks, struct db_sink_stats *out)
{
	const struct capture_db_sink *k = (const struct capture_db_sink *)ks;
	out->events_queued = k->events_handed + k->cur->nevents;
	out->events_committed = atomic_load(&((struct capture_db_sink *)k)->events_committed);
	out->transactions = atomic_load(&((struct capture_db_sink *)k)->transactions);
}

/* --- a whole session ----------------------------------------------------------------------- */

/* Feeds every definition and event of finished session `s` to sink `k` in
 * id order, calling `progress` every DB_PROGRESS_STEP events. 0, or -1
 * with `e` at the sink's first failure. */
static int db_feed_session(struct capture_sink *k, struct trace_session *s, db_progress_fn progress,
                           void *arg, struct err *e)
{
	const struct capture_sink_ops *ops = k->ops;
	if (capture_sink_feed_definitions(k, s, e) < 0)
		return -1;
	uint64_t total = trace_session_event_count(s), done = 0;
	if (progress)
		if (!progress(arg, 0, total))
			return err_fmt(e, "interrupted");
	for (uint32_t id = 1; id < trace_session_track_count(s); id++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, id, &n);
		for (size_t i = 0; i < n; i++) {
			if (ops->event(k, &ev[i], e) < 0)
				return -1;
			if (++done % DB_PROGRESS_STEP == 0 && progress && !progress(arg, done, total))
				return err_fmt(e, "interrupted");
		}
	}
	if (progress && !progress(arg, done, total))
		return err_fmt(e, "interrupted");
	return 0;
}

/* Gives finished database `tmp` the name `path`: over what is there when
 * `replace` (with the old database's -wal and -shm, which would otherwise
 * be taken for the new one's), else only where nothing is. 0, or -1 with
 * `e`. */
static int db_move_into_place(const char *tmp, const char *path, bool replace, struct err *e)
{
	if (replace) {
		db_unlink_suffixed(path, "-wal");
		db_unlink_suffixed(path, "-shm");
		db_unlink_suffixed(path, "-journal");
		if (rename(tmp, path) < 0)
			return err_errno(e, errno, "cannot replace %s", path);
		return 0;
	}
	/* link() fails where the name was taken meanwhile; a file system
	 * without hard links gets a rename after a last look. */
	if (link(tmp, path) == 0)
		return unlink(tmp), 0;
	if (errno == EEXIST)
		return err_fmt(e, "%s already exists", path);
	struct stat st;
	if (lstat(path, &st) == 0)
		return err_fmt(e, "%s already exists", path);
	if (rename(tmp, path) < 0)
		return err_errno(e, errno, "cannot create %s", path);
	return 0;
}

/* Writes session `s` to a new database; see db.h. */
int db_write_session(struct trace_session *s, const char *path, bool replace, db_progress_fn progress,
                     void *progress_arg, struct err *e)
{
	struct stat st;
	if (!replace && lstat(path, &st) == 0)
		return err_fmt(e, "%s already exists", path);
	char *tmp = db_temp_create(path, e);
	if (!tmp)
		return -1;
	const struct db_sink_options opts = {.wait_when_full = true};
	struct capture_sink *k = db_sink_open(tmp, false, true, &opts, e);
	if (!k) {
		free(tmp);
		return -1; /* the sink removed its file */
	}
	int rc = db_feed_session(k, s, progress, progress_arg, e);
	struct err ce;
	if (capture_sink_close(k, &ce) < 0 && rc == 0)
		rc = err_fmt(e, "%s", ce.msg);
	/* A last look for an interruption that came while the sink finished. */
	if (rc == 0 && progress) {
		uint64_t n = trace_session_event_count(s);
		if (!progress(progress_arg, n, n))
			rc = err_fmt(e, "interrupted");
	}
	if (rc == 0)
		rc = db_move_into_place(tmp, path, replace, e);
	struct err ignored;
	if (rc < 0)
		db_remove_files(tmp, &ignored);
	else
		db_unlink_suffixed(tmp, "-wal"), db_unlink_suffixed(tmp, "-shm");
	free(tmp);
	return rc;
}
