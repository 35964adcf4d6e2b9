/*
 * test_db_write.c - the session-database writer (store/db_write.c, db.h).
 *
 * Covers: synthetic sessions (tests/support/synth.h) written through the
 * sink in small batches with flushes, as the drain feeds it, and through
 * db_write_session, checked table by table against the session (row counts
 * per table and per event kind, and per kind sums of every column, so that
 * a value in the wrong column or a wrong conversion shows); string columns
 * (demangled, short_name); the latest-wins tables within one batch and
 * across batches; unsigned values above INT64_MAX, NVTX colors, integer,
 * double and NaN counters; readers seeing committed batches while the
 * writer runs; and failures: an existing file without `replace`, a path
 * that cannot be created, an error inside the writer thread reported by
 * the next op and by close, and a disk that fills up (RLIMIT_FSIZE) making
 * db_write_session fail and remove its partial file; another client
 * holding the write lock for 300 ms (the writer waits); the queue's budget
 * (a live sink fails with "fell behind", a waiting one completes); the
 * completion marker; and an interrupted or failed replace keeping the old
 * database and leaving no temporary file.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "capture/sink.h"
#include "store/db.h"
#include "synth.h"
#include "trace/demangle.h"
#include "trace/session.h"

/* --- helpers ----------------------------------------------------------------- */

static char test_dir[256];

/* A path in this test's temporary directory (valid until the 4th next call). */
static const char *tpath(const char *name)
{
	static char buf[4][512];
	static int slot;
	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", test_dir, name);
	return buf[slot];
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Opens `path` read-only; the caller closes it. */
static sqlite3 *db_open_ro(const char *path)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		fail_msg("cannot open %s: %s", path, sqlite3_errmsg(db));
	return db;
}

/* The first column of the first row of `sql` as int64 (the query must
 * return a row). */
static int64_t q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("%s: no row (%s)", sql, sqlite3_errmsg(db));
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The first column of the first row of `sql` as text, copied into `out`
 * ("<NULL>" for NULL). */
static const char *q_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("%s: no row", sql);
	const unsigned char *t = sqlite3_column_text(st, 0);
	snprintf(out, cap, "%s", t ? (const char *)t : "<NULL>");
	sqlite3_finalize(st);
	return out;
}

/* Like q_int with the SQL built printf-style. */
static int64_t q_intf(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int64_t q_intf(sqlite3 *db, const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return q_int(db, sql);
}

/* A synthetic session of about `events` events. */
static struct trace_session *synth(uint64_t events, uint32_t processes, struct synth_counts *c)
{
	struct synth_options o;
	synth_options_init(&o);
	o.events = events;
	o.processes = processes;
	o.threads = 3;
	o.streams = 2;
	o.seed = 7;
	struct err e = {{0}};
	struct trace_session *s = synth_session(&o, c, &e);
	if (!s)
		fail_msg("synth: %s", e.msg);
	return s;
}

/* Feeds session `s` to sink `k` as the drain would: definitions, then
 * events track by track with a flush every `flush_every` events. */
static void feed(struct capture_sink *k, const struct trace_session *s, size_t flush_every)
{
	const struct capture_sink_ops *ops = k->ops;
	struct err e = {{0}};
	for (uint32_t id = 1; id < trace_session_string_count(s); id++) {
		size_t len;
		const char *str = trace_session_string(s, id, &len);
		assert_int_equal(ops->string(k, id, str, len, &e), 0);
	}
	for (uint32_t id = 1; id < trace_session_frame_count(s); id++)
		assert_int_equal(ops->frame(k, id, trace_session_frame(s, id), &e), 0);
	for (uint32_t id = 1; id < trace_session_stack_count(s); id++) {
		uint32_t n;
		const uint32_t *fr = trace_session_stack(s, id, &n);
		assert_int_equal(ops->stack(k, id, fr, n, &e), 0);
	}
	for (uint32_t id = 1; id < trace_session_track_count(s); id++)
		assert_int_equal(ops->track(k, id, trace_session_track_info(s, id), &e), 0);
	for (uint32_t id = 1; id < trace_session_launch_count(s); id++)
		assert_int_equal(ops->launch(k, id, trace_session_launch(s, id), &e), 0);
	for (uint32_t id = 1; id < trace_session_nvtx_attr_count(s); id++)
		assert_int_equal(ops->nvtx_attr(k, id, trace_session_nvtx_attr(s, id), &e), 0);
	for (uint32_t id = 1; id < trace_session_memop_count(s); id++)
		assert_int_equal(ops->memop(k, id, trace_session_memop(s, id), &e), 0);
	for (size_t i = 0; i < trace_session_process_count(s); i++)
		assert_int_equal(ops->process(k, trace_session_process(s, i), &e), 0);
	for (size_t i = 0; i < trace_session_device_count(s); i++)
		assert_int_equal(ops->device(k, trace_session_device(s, i), &e), 0);
	for (size_t i = 0; i < trace_session_meta_count(s); i++) {
		const char *key, *value;
		trace_session_meta_at(s, i, &key, &value);
		assert_int_equal(ops->meta(k, key, value, &e), 0);
	}
	for (size_t i = 0; i < trace_session_loss_count(s); i++)
		assert_int_equal(ops->loss(k, trace_session_loss(s, i), &e), 0);
	size_t fed = 0;
	for (uint32_t id = 1; id < trace_session_track_count(s); id++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, id, &n);
		for (size_t i = 0; i < n; i++) {
			if (ops->event(k, &ev[i], &e) < 0)
				fail_msg("event: %s", e.msg);
			if (++fed % flush_every == 0)
				assert_int_equal(ops->flush(k, &e), 0);
		}
	}
}

/* Per-kind sums of every column an event table has, computed from the
 * session, in the order of the table's columns after the common six. */
struct kind_sums {
	uint64_t count;
	int64_t dur, start, track, name, corr, flags;
	int64_t x[4]; /* the kind's own columns */
};

/* Adds event `ev` to `k` as the writer lays it out (unsigned 64-bit values
 * by their bits, wrapping like SQLite's integer sum would not: tests keep
 * values small enough). */
static void sums_add(struct kind_sums *k, const struct trace_event *ev)
{
	k->count++;
	k->dur += ev->end - ev->start;
	k->start += ev->start;
	k->track += ev->track;
	k->name += ev->name;
	k->corr += ev->correlation;
	k->flags += ev->flags;
	switch (ev->kind) {
	case TRACE_KERNEL:
		k->x[0] += ev->u.kernel.launch;
		break;
	case TRACE_MEMCPY:
		k->x[0] += (int64_t)ev->u.bytes;
		k->x[1] += trace_memcpy_copy_kind(ev);
		k->x[2] += trace_memcpy_src_kind(ev);
		k->x[3] += trace_memcpy_dst_kind(ev);
		break;
	case TRACE_MEMSET:
		k->x[0] += (int64_t)ev->u.bytes;
		k->x[1] += ev->sub;
		break;
	case TRACE_SYNC:
		k->x[0] += ev->sub;
		k->x[1] += ev->u.sync.event;
		break;
	case TRACE_API:
		k->x[0] += trace_api_domain(ev);
		k->x[1] += ev->u.api.cbid;
		k->x[2] += trace_api_result(ev);
		k->x[3] += ev->u.api.stack;
		break;
	case TRACE_NVTX_RANGE:
	case TRACE_NVTX_MARK:
		k->x[0] += ev->u.nvtx.attr;
		k->x[1] += ev->u.nvtx.stack;
		break;
	case TRACE_MEM_ALLOC:
	case TRACE_MEM_FREE:
		k->x[0] += ev->kind;
		k->x[1] += ev->u.memop.id;
		break;
	case TRACE_COUNTER:
		k->x[0] +=
		    (ev->flags & TRACE_FLAG_COUNTER_DOUBLE) ? (int64_t)ev->u.counter_double : ev->u.counter;
		break;
	case TRACE_LOST:
		k->x[0] += (int64_t)ev->u.bytes;
		break;
	}
}

/* Checks table `table` against the sums of the kinds it holds. */
static void check_table(sqlite3 *db, const char *table, const struct kind_sums *k, const char *const cols[4])
{
	assert_int_equal(q_intf(db, "SELECT count(*) FROM %s", table), k->count);
	if (!k->count)
		return;
	assert_int_equal(q_intf(db, "SELECT sum(end - start) FROM %s", table), k->dur);
	assert_int_equal(q_intf(db, "SELECT sum(start) FROM %s", table), k->start);
	assert_int_equal(q_intf(db, "SELECT sum(track) FROM %s", table), k->track);
	assert_int_equal(q_intf(db, "SELECT sum(name) FROM %s", table), k->name);
	assert_int_equal(q_intf(db, "SELECT sum(correlation) FROM %s", table), k->corr);
	assert_int_equal(q_intf(db, "SELECT sum(flags) FROM %s", table), k->flags);
	for (int i = 0; i < 4 && cols[i]; i++) {
		int64_t got = q_intf(db, "SELECT sum(CAST(%s AS INTEGER)) FROM %s", cols[i], table);
		if (got != k->x[i])
			fail_msg("%s.%s: sum %lld, want %lld", table, cols[i], (long long)got,
			         (long long)k->x[i]);
	}
}

/* Checks the whole database at `path` against session `s`. */
/* Whether the query plan of `sql` on `db` has a step whose detail holds
 * `what`. */
static bool plan_uses(sqlite3 *db, const char *sql, const char *what)
{
	char *q = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	bool found = false;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(st, 3);
		if (detail && strstr(detail, what))
			found = true;
	}
	sqlite3_finalize(st);
	sqlite3_free(q);
	return found;
}

static void check_db(const char *path, const struct trace_session *s, const struct synth_counts *c)
{
	sqlite3 *db = db_open_ro(path);
	char buf[256];
	assert_string_equal(q_text(db, "PRAGMA integrity_check", buf, sizeof(buf)), "ok");
	assert_int_equal(q_int(db, "PRAGMA application_id"), DB_APPLICATION_ID);
	assert_int_equal(q_int(db, "PRAGMA user_version"), DB_SCHEMA_VERSION);
	assert_string_equal(q_text(db, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
	/* Indexes exist (created with the tables, kept up to date by the
	 * inserts): by time, and by correlation on api_calls. */
	assert_int_equal(
	    q_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'kernels_start'"),
	    1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
	                           "name = 'api_calls_correlation'"),
	                 1);
	assert_int_equal(
	    q_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"), 7);
	/* The kernel -> API call join looks the call up by its index. */
	assert_true(plan_uses(db, "SELECT 1 FROM kernels k JOIN api_calls a ON a.correlation = k.correlation",
	                      "INDEX api_calls_correlation"));

	/* Definitions: one row per id, string 0 included. */
	assert_int_equal(q_int(db, "SELECT count(*) FROM strings"), trace_session_string_count(s));
	assert_int_equal(q_int(db, "SELECT max(id) FROM strings"), trace_session_string_count(s) - 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM frames"), trace_session_frame_count(s) - 1);
	assert_int_equal(q_int(db, "SELECT count(DISTINCT stack) FROM stack_frames"),
	                 trace_session_stack_count(s) - 1);
	uint64_t nframes = 0;
	for (uint32_t id = 1; id < trace_session_stack_count(s); id++) {
		uint32_t n;
		const uint32_t *fr = trace_session_stack(s, id, &n);
		nframes += n;
		assert_int_equal(
		    q_intf(db, "SELECT frame FROM stack_frames WHERE stack = %u AND depth = 0", id), fr[0]);
		assert_int_equal(
		    q_intf(db, "SELECT frame FROM stack_frames WHERE stack = %u AND depth = %u", id, n - 1),
		    fr[n - 1]);
	}
	assert_int_equal(q_int(db, "SELECT count(*) FROM stack_frames"), nframes);
	assert_int_equal(q_int(db, "SELECT count(*) FROM tracks"), trace_session_track_count(s) - 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM tracks"), c->tracks);
	assert_int_equal(q_int(db, "SELECT count(*) FROM launches"), trace_session_launch_count(s) - 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM nvtx_attrs"), trace_session_nvtx_attr_count(s) - 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM memory_ops"), trace_session_memop_count(s) - 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM target_processes"), trace_session_process_count(s));
	assert_int_equal(q_int(db, "SELECT count(*) FROM devices"), trace_session_device_count(s));
	/* The session's pairs and the writer's completion marker. */
	assert_int_equal(q_int(db, "SELECT count(*) FROM meta WHERE key != '" DB_META_COMPLETE "'"),
	                 trace_session_meta_count(s));
	assert_int_equal(q_int(db, "SELECT value FROM meta WHERE key = '" DB_META_COMPLETE "'"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM losses"), trace_session_loss_count(s));
	assert_int_equal(q_int(db, "SELECT sum(count) FROM losses"), c->lost);

	/* A sample of definition values. */
	for (uint32_t id = 1; id < trace_session_launch_count(s); id++) {
		const struct trace_launch *l = trace_session_launch(s, id);
		assert_int_equal(q_intf(db,
		                        "SELECT grid_x * 1000000 + block_x * 1000 + registers FROM launches "
		                        "WHERE id = %u",
		                        id),
		                 (int64_t)l->grid[0] * 1000000 + l->block[0] * 1000 + l->registers);
		assert_int_equal(q_intf(db, "SELECT dynamic_smem FROM launches WHERE id = %u", id),
		                 l->dynamic_smem);
	}
	for (uint32_t id = 1; id < trace_session_track_count(s); id++) {
		const struct trace_track_info *t = trace_session_track_info(s, id);
		assert_int_equal(q_intf(db, "SELECT kind FROM tracks WHERE id = %u", id), t->kind);
		assert_int_equal(q_intf(db, "SELECT pid FROM tracks WHERE id = %u", id), t->pid);
		assert_int_equal(q_intf(db, "SELECT stream + tid * 1000 FROM tracks WHERE id = %u", id),
		                 t->stream + (int64_t)t->tid * 1000);
		assert_int_equal(q_intf(db, "SELECT name FROM tracks WHERE id = %u", id), t->name);
	}
	for (size_t i = 0; i < trace_session_meta_count(s); i++) {
		const char *key, *value;
		trace_session_meta_at(s, i, &key, &value);
		char *sql = sqlite3_mprintf("SELECT value FROM meta WHERE key = %Q", key);
		assert_string_equal(q_text(db, sql, buf, sizeof(buf)), value);
		sqlite3_free(sql);
	}
	const struct trace_device *d = trace_session_device(s, 0);
	assert_int_equal(q_intf(db, "SELECT sm_count FROM devices WHERE id = %u", d->id), d->sm_count);
	assert_int_equal(q_intf(db, "SELECT global_memory FROM devices WHERE id = %u", d->id),
	                 (int64_t)d->global_memory);
	assert_int_equal(q_intf(db, "SELECT memory_bus_width FROM devices WHERE id = %u", d->id),
	                 d->memory_bus_width);
	/* Every string's bytes, and its demangled and short forms. */
	for (uint32_t id = 1; id < trace_session_string_count(s); id++) {
		size_t len;
		const char *str = trace_session_string(s, id, &len);
		char *sql =
		    sqlite3_mprintf("SELECT value = %Q AND length(CAST(value AS BLOB)) = %d FROM strings "
		                    "WHERE id = %u",
		                    str, (int)len, id);
		assert_int_equal(q_int(db, sql), 1);
		sqlite3_free(sql);
		char *dm = trace_demangle(str);
		char *sn = trace_short_name(str);
		char got[4096];
		q_text(db, sqlite3_snprintf(256, buf, "SELECT demangled FROM strings WHERE id = %u", id), got,
		       sizeof(got));
		assert_string_equal(got, dm ? dm : "<NULL>");
		q_text(db, sqlite3_snprintf(256, buf, "SELECT short_name FROM strings WHERE id = %u", id),
		       got, sizeof(got));
		assert_string_equal(got, sn && strcmp(sn, str) ? sn : "<NULL>");
		free(dm);
		free(sn);
	}
	/* The synthetic kernels are mangled templates: some have short names. */
	assert_true(q_int(db, "SELECT count(*) FROM strings WHERE short_name IS NOT NULL") > 0);
	assert_true(q_int(db, "SELECT count(*) FROM strings WHERE demangled IS NOT NULL") > 0);

	/* Events: per table, counts and sums of every column. */
	struct kind_sums sums[TRACE_KIND_MAX + 1];
	memset(sums, 0, sizeof(sums));
	for (uint32_t id = 1; id < trace_session_track_count(s); id++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, id, &n);
		for (size_t i = 0; i < n; i++)
			sums_add(&sums[ev[i].kind == TRACE_MEM_FREE ? TRACE_MEM_ALLOC : ev[i].kind], &ev[i]);
	}
	for (unsigned kind = 1; kind <= TRACE_KIND_MAX; kind++)
		if (kind != TRACE_MEM_FREE && kind != TRACE_MEM_ALLOC)
			assert_int_equal(sums[kind].count, c->kinds[kind]);
	assert_int_equal(sums[TRACE_MEM_ALLOC].count, c->kinds[TRACE_MEM_ALLOC] + c->kinds[TRACE_MEM_FREE]);
	static const char *const kcols[][4] = {
	    [TRACE_KERNEL] = {"launch"},
	    [TRACE_MEMCPY] = {"bytes", "copy_kind", "src_kind", "dst_kind"},
	    [TRACE_MEMSET] = {"bytes", "mem_kind"},
	    [TRACE_SYNC] = {"sync_kind", "event"},
	    [TRACE_API] = {"domain", "cbid", "result", "stack"},
	    [TRACE_NVTX_RANGE] = {"attr", "stack"},
	    [TRACE_NVTX_MARK] = {"attr", "stack"},
	    [TRACE_MEM_ALLOC] = {"kind", "op"},
	    [TRACE_COUNTER] = {"value"},
	    [TRACE_LOST] = {"count"},
	};
	static const char *const tables[] = {
	    [TRACE_KERNEL] = "kernels",       [TRACE_MEMCPY] = "memcpys",
	    [TRACE_MEMSET] = "memsets",       [TRACE_SYNC] = "syncs",
	    [TRACE_API] = "api_calls",        [TRACE_NVTX_RANGE] = "nvtx_ranges",
	    [TRACE_NVTX_MARK] = "nvtx_marks", [TRACE_MEM_ALLOC] = "memory_events",
	    [TRACE_COUNTER] = "counters",     [TRACE_LOST] = "lost_ranges",
	};
	for (unsigned kind = 1; kind <= TRACE_KIND_MAX; kind++)
		if (kind != TRACE_MEM_FREE)
			check_table(db, tables[kind], &sums[kind], kcols[kind]);
	assert_int_equal(q_int(db, "SELECT count(*) FROM memory_events WHERE kind = 9"),
	                 c->kinds[TRACE_MEM_FREE]);
	/* The synthetic session has every kind the tables hold. */
	assert_true(c->kinds[TRACE_KERNEL] > 0 && c->kinds[TRACE_MEMCPY] > 0 && c->kinds[TRACE_API] > 0 &&
	            c->kinds[TRACE_NVTX_RANGE] > 0 && c->kinds[TRACE_COUNTER] > 0 &&
	            c->kinds[TRACE_MEM_FREE] > 0);
	sqlite3_close(db);
}

/* --- tests ---------------------------------------------------------------------- */

static void test_sink_synth(void **state)
{
	struct synth_counts c;
	struct trace_session *s = synth(30000, 2, &c);
	struct err e = {{0}};
	const struct db_sink_options opts = {.batch_events = 1000};
	const char *path = tpath("sink.db");
	struct capture_sink *k = capture_db_sink_open(path, false, &opts, &e);
	if (!k)
		fail_msg("open: %s", e.msg);
	feed(k, s, 777);
	struct db_sink_stats st;
	capture_db_sink_stats(k, &st);
	assert_int_equal(st.events_queued, c.events);
	assert_int_equal(capture_sink_close(k, &e), 0);
	/* Closed: no WAL left beside the file. */
	char wal[600];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_false(file_exists(wal));
	check_db(path, s, &c);
	trace_session_delete(s);
}

/* Progress calls seen by test_write_session. */
struct progress_seen {
	unsigned stop_after; /* return false at this call; 0 = never */
	uint64_t calls, last_done, total;
	bool backwards;
};

static bool progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct progress_seen *p = arg;
	if (done < p->last_done)
		p->backwards = true;
	p->calls++;
	p->last_done = done;
	p->total = total;
	return !p->stop_after || p->calls < p->stop_after;
}

static void test_write_session(void **state)
{
	struct synth_counts c;
	struct trace_session *s = synth(200000, 3, &c);
	struct err e = {{0}};
	struct progress_seen p = {0};
	const char *path = tpath("session.db");
	if (db_write_session(s, path, false, progress_cb, &p, &e) < 0)
		fail_msg("db_write_session: %s", e.msg);
	assert_true(p.calls >= 3);
	assert_false(p.backwards);
	assert_int_equal(p.last_done, c.events);
	assert_int_equal(p.total, c.events);
	check_db(path, s, &c);
	/* Written again over it only with `replace`. */
	assert_int_equal(db_write_session(s, path, false, NULL, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "exists"));
	check_db(path, s, &c);
	assert_int_equal(db_write_session(s, path, true, NULL, NULL, &e), 0);
	check_db(path, s, &c);
	trace_session_delete(s);
}

static void test_empty_session(void **state)
{
	struct trace_session *s = trace_session_new();
	struct err e = {{0}};
	const char *path = tpath("empty.db");
	assert_int_equal(db_write_session(s, path, false, NULL, NULL, &e), 0);
	sqlite3 *db = db_open_ro(path);
	assert_int_equal(q_int(db, "SELECT count(*) FROM kernels"), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM strings"), 1); /* string 0 */
	assert_int_equal(q_int(db, "PRAGMA user_version"), DB_SCHEMA_VERSION);
	sqlite3_close(db);
	trace_session_delete(s);
}

/* Processes, devices, metadata and losses: the latest call for a key wins,
 * within one batch and across batches. */
static void test_latest_wins(void **state)
{
	struct err e = {{0}};
	const char *path = tpath("latest.db");
	struct capture_sink *k = capture_db_sink_open(path, false, NULL, &e);
	assert_non_null(k);
	const struct capture_sink_ops *ops = k->ops;
	struct trace_process p = {.pid = 42, .ppid = 1, .start = 5, .state = TRACE_PROC_RUNNING};
	assert_int_equal(ops->process(k, &p, &e), 0);
	p.state = TRACE_PROC_EXITED;
	p.status = 3;
	p.end = 99;
	assert_int_equal(ops->process(k, &p, &e), 0);
	assert_int_equal(ops->meta(k, "host", "a", &e), 0);
	assert_int_equal(ops->meta(k, "host", "b", &e), 0);
	struct trace_device d = {.id = 0, .api = TRACE_DEVICE_CUDA, .sm_count = 10};
	assert_int_equal(ops->device(k, &d, &e), 0);
	struct trace_loss l = {.pid = 42, .source = 0, .count = 7};
	assert_int_equal(ops->loss(k, &l, &e), 0);
	assert_int_equal(ops->flush(k, &e), 0); /* a batch of its own */
	d.sm_count = 132;
	assert_int_equal(ops->device(k, &d, &e), 0);
	l.count = 9;
	assert_int_equal(ops->loss(k, &l, &e), 0);
	assert_int_equal(ops->meta(k, "host", "c", &e), 0);
	p.status = 4;
	assert_int_equal(ops->process(k, &p, &e), 0);
	assert_int_equal(capture_sink_close(k, &e), 0);

	sqlite3 *db = db_open_ro(path);
	char buf[64];
	assert_int_equal(q_int(db, "SELECT count(*) FROM target_processes"), 1);
	assert_int_equal(q_int(db, "SELECT state * 100 + status FROM target_processes WHERE pid = 42"), 104);
	assert_int_equal(q_int(db, "SELECT end FROM target_processes WHERE pid = 42"), 99);
	assert_int_equal(q_int(db, "SELECT count(*) FROM meta WHERE key = 'host'"), 1);
	assert_string_equal(q_text(db, "SELECT value FROM meta WHERE key = 'host'", buf, sizeof(buf)), "c");
	assert_int_equal(q_int(db, "SELECT count(*) FROM devices"), 1);
	assert_int_equal(q_int(db, "SELECT sm_count FROM devices"), 132);
	assert_int_equal(q_int(db, "SELECT uuid IS NULL FROM devices"), 1); /* all zeros: unknown */
	assert_int_equal(q_int(db, "SELECT count(*) FROM losses"), 1);
	assert_int_equal(q_int(db, "SELECT count FROM losses"), 9);
	sqlite3_close(db);
}

/* Unsigned values above INT64_MAX keep their bits; NVTX colors are NULL
 * when absent; counters are integers, doubles, or 'NaN'. */
static void test_values(void **state)
{
	struct err e = {{0}};
	const char *path = tpath("values.db");
	struct capture_sink *k = capture_db_sink_open(path, false, NULL, &e);
	assert_non_null(k);
	const struct capture_sink_ops *ops = k->ops;
	assert_int_equal(ops->string(k, 1, "_Z5saxpyifPfS_", 14, &e), 0);
	assert_int_equal(ops->string(k, 2, "a\0b", 3, &e), 0);
	struct trace_track_info t = {.kind = TRACE_TRACK_THREAD, .pid = 1, .tid = 2};
	assert_int_equal(ops->track(k, 1, &t, &e), 0);
	struct trace_memop m = {.address = UINT64_MAX - 1, .bytes = (UINT64_C(1) << 63) + 5, .mem_kind = 3};
	assert_int_equal(ops->memop(k, 1, &m, &e), 0);
	struct trace_nvtx_attr a1 = {.domain = 0, .has_color = 0, .color = 0xff00ff00, .payload = UINT64_MAX};
	struct trace_nvtx_attr a2 = {.domain = 1, .has_color = 1, .color = 0xff00ff00};
	assert_int_equal(ops->nvtx_attr(k, 1, &a1, &e), 0);
	assert_int_equal(ops->nvtx_attr(k, 2, &a2, &e), 0);
	struct trace_frame f = {.pc = UINT64_C(0xffffffffff600000), .offset = 16, .function = 1, .line = 7};
	assert_int_equal(ops->frame(k, 1, &f, &e), 0);
	const uint32_t frames[1] = {1};
	assert_int_equal(ops->stack(k, 1, frames, 1, &e), 0);
	struct trace_event ev = {.start = -5, .end = INT64_MAX - 5, .track = 1, .kind = TRACE_COUNTER};
	ev.u.counter = INT64_MIN;
	assert_int_equal(ops->event(k, &ev, &e), 0);
	ev.flags = TRACE_FLAG_COUNTER_DOUBLE;
	ev.u.counter_double = 2.5;
	assert_int_equal(ops->event(k, &ev, &e), 0);
	ev.u.counter_double = NAN;
	assert_int_equal(ops->event(k, &ev, &e), 0);
	struct trace_event lost = {.start = 1, .end = 2, .track = 1, .kind = TRACE_LOST};
	lost.u.bytes = UINT64_MAX;
	assert_int_equal(ops->event(k, &lost, &e), 0);
	struct trace_event api = {.start = 1,
	                          .end = 2,
	                          .track = 1,
	                          .kind = TRACE_API,
	                          .name = 1,
	                          .flags = TRACE_API_CUDA_DRIVER | TRACE_FLAG_OPEN};
	api.sub = (uint16_t)(int16_t)-3;
	api.u.api.cbid = 211;
	api.u.api.stack = 1;
	assert_int_equal(ops->event(k, &api, &e), 0);
	struct trace_event bad = {.start = 1, .end = 2, .track = 1, .kind = 0};
	assert_int_equal(ops->event(k, &bad, &e), -1);
	assert_non_null(strstr(e.msg, "kind"));
	assert_int_equal(capture_sink_close(k, &e), 0);

	sqlite3 *db = db_open_ro(path);
	char buf[64];
	assert_int_equal(q_int(db, "SELECT address FROM memory_ops"), (int64_t)(UINT64_MAX - 1));
	assert_int_equal(q_int(db, "SELECT address FROM memory_ops"), -2);
	assert_int_equal((uint64_t)q_int(db, "SELECT bytes FROM memory_ops"), (UINT64_C(1) << 63) + 5);
	assert_int_equal(q_int(db, "SELECT color IS NULL FROM nvtx_attrs WHERE id = 1"), 1);
	assert_int_equal(q_int(db, "SELECT payload FROM nvtx_attrs WHERE id = 1"), -1);
	assert_int_equal(q_int(db, "SELECT color FROM nvtx_attrs WHERE id = 2"), 0xff00ff00);
	assert_int_equal((uint64_t)q_int(db, "SELECT pc FROM frames"), UINT64_C(0xffffffffff600000));
	assert_int_equal(q_int(db, "SELECT count(*) FROM counters"), 3);
	assert_int_equal(q_int(db, "SELECT value FROM counters WHERE flags = 0"), INT64_MIN);
	assert_int_equal(q_int(db,
	                       "SELECT typeof(value) = 'real' AND value = 2.5 FROM counters WHERE flags = 1 "
	                       "AND typeof(value) <> 'text'"),
	                 1);
	assert_string_equal(
	    q_text(db, "SELECT value FROM counters WHERE typeof(value) = 'text'", buf, sizeof(buf)), "NaN");
	assert_int_equal(q_int(db, "SELECT start FROM counters LIMIT 1"), -5);
	assert_int_equal(q_int(db, "SELECT end FROM counters LIMIT 1"), INT64_MAX - 5);
	assert_int_equal(q_int(db, "SELECT count FROM lost_ranges"), -1);
	assert_int_equal(q_int(db, "SELECT result FROM api_calls"), -3);
	assert_int_equal(q_int(db, "SELECT domain FROM api_calls"), TRACE_API_CUDA_DRIVER);
	assert_int_equal(q_int(db, "SELECT flags FROM api_calls"), TRACE_API_CUDA_DRIVER | TRACE_FLAG_OPEN);
	assert_int_equal(q_int(db, "SELECT cbid * 10 + stack FROM api_calls"), 2111);
	assert_string_equal(q_text(db, "SELECT short_name FROM strings WHERE id = 1", buf, sizeof(buf)),
	                    "saxpy");
	assert_string_equal(q_text(db, "SELECT demangled FROM strings WHERE id = 1", buf, sizeof(buf)),
	                    "saxpy(int, float, float*, float*)");
	assert_int_equal(q_int(db, "SELECT length(CAST(value AS BLOB)) FROM strings WHERE id = 2"), 3);
	assert_int_equal(
	    q_int(db, "SELECT short_name IS NULL AND demangled IS NULL FROM strings WHERE id = 2"), 1);
	sqlite3_close(db);
}

/* A reader sees every committed batch while the writer goes on. */
static void test_reader_during_write(void **state)
{
	struct synth_counts c;
	struct trace_session *s = synth(20000, 1, &c);
	struct err e = {{0}};
	const char *path = tpath("live.db");
	const struct db_sink_options opts = {.batch_events = 4096};
	struct capture_sink *k = capture_db_sink_open(path, false, &opts, &e);
	assert_non_null(k);
	feed(k, s, SIZE_MAX);
	assert_int_equal(k->ops->flush(k, &e), 0);
	struct db_sink_stats st;
	for (int i = 0; i < 20000; i++) { /* until the writer has caught up; no time is asserted */
		capture_db_sink_stats(k, &st);
		if (st.events_committed == st.events_queued)
			break;
		usleep(1000);
	}
	assert_int_equal(st.events_committed, c.events);
	assert_true(st.transactions >= c.events / 4096);
	sqlite3 *db = db_open_ro(path);
	assert_int_equal(q_int(db, "SELECT count(*) FROM kernels"), c.kinds[TRACE_KERNEL]);
	assert_int_equal(q_int(db, "SELECT count(*) FROM api_calls"), c.kinds[TRACE_API]);
	sqlite3_close(db);
	assert_int_equal(capture_sink_close(k, &e), 0);
	trace_session_delete(s);
}

static void test_exists_refused(void **state)
{
	struct err e = {{0}};
	const char *path = tpath("exists.db");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("precious", f);
	fclose(f);
	assert_null(capture_db_sink_open(path, false, NULL, &e));
	assert_non_null(strstr(e.msg, "exists"));
	assert_non_null(strstr(e.msg, path));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 8); /* untouched */
	struct capture_sink *k = capture_db_sink_open(path, true, NULL, &e);
	assert_non_null(k);
	assert_int_equal(capture_sink_close(k, &e), 0);
	sqlite3 *db = db_open_ro(path);
	assert_int_equal(q_int(db, "PRAGMA application_id"), DB_APPLICATION_ID);
	sqlite3_close(db);
}

static void test_unwritable(void **state)
{
	struct err e = {{0}};
	assert_null(capture_db_sink_open(tpath("no/such/dir.db"), false, NULL, &e));
	assert_non_null(strstr(e.msg, "cannot create"));
	assert_non_null(strstr(e.msg, "No such file"));
	struct trace_session *s = trace_session_new();
	assert_int_equal(db_write_session(s, tpath("no/such/dir.db"), true, NULL, NULL, &e), -1);
	trace_session_delete(s);
	if (geteuid() == 0)
		return; /* root writes anywhere */
	const char *ro = tpath("ro");
	assert_int_equal(mkdir(ro, 0500), 0);
	char path[600];
	snprintf(path, sizeof(path), "%s/x.db", ro);
	assert_null(capture_db_sink_open(path, false, NULL, &e));
	assert_non_null(strstr(e.msg, "Permission denied"));
}

/* An error inside the writer thread: the next op, flush or close returns
 * it, and everything is still freed (ASan checks). */
static void test_thread_error(void **state)
{
	struct err e = {{0}};
	const char *path = tpath("dup.db");
	struct capture_sink *k = capture_db_sink_open(path, false, NULL, &e);
	assert_non_null(k);
	const struct capture_sink_ops *ops = k->ops;
	assert_int_equal(ops->string(k, 1, "x", 1, &e), 0);
	assert_int_equal(ops->string(k, 1, "y", 1, &e), 0); /* the same id twice: against sink.h */
	assert_int_equal(ops->flush(k, &e), 0);             /* handed over; the thread fails later */
	struct trace_track_info t = {.kind = TRACE_TRACK_THREAD, .pid = 1, .tid = 2};
	int rc = 0;
	for (int i = 0; i < 20000 && rc == 0; i++) { /* until the thread has met the error */
		rc = ops->track(k, (uint32_t)i + 1, &t, &e);
		if (rc == 0)
			usleep(1000);
	}
	assert_int_equal(rc, -1);
	assert_non_null(strstr(e.msg, "UNIQUE"));
	assert_non_null(strstr(e.msg, path));
	assert_int_equal(ops->flush(k, &e), -1);
	e.msg[0] = '\0';
	assert_int_equal(capture_sink_close(k, &e), -1);
	assert_non_null(strstr(e.msg, "UNIQUE"));
	/* Nothing of the failed batch was committed. */
	sqlite3 *db = db_open_ro(path);
	assert_int_equal(q_int(db, "SELECT count(*) FROM strings"), 1);
	sqlite3_close(db);
}

/* The disk fills up (a file size limit) while db_write_session writes: it
 * fails with SQLite's message and removes the partial file. */
static void test_disk_full(void **state)
{
	struct synth_counts c;
	struct trace_session *s = synth(100000, 1, &c);
	struct err e = {{0}};
	const char *path = tpath("full.db");
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 256 * 1024;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int rc = db_write_session(s, path, false, NULL, NULL, &e);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(e.msg, path));
	assert_false(file_exists(path));
	char wal[600];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_false(file_exists(wal));
	trace_session_delete(s);
}

/* Whether directory test_dir holds a file whose name contains `part`. */
static bool dir_has(const char *part)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "ls -a '%s' | grep -qF -- '%s'", test_dir, part);
	return system(cmd) == 0;
}

/* Waits (without asserting a time) until sink `k` has committed all it was
 * given. */
static void wait_committed(struct capture_sink *k)
{
	struct db_sink_stats st;
	for (int i = 0; i < 20000; i++) {
		capture_db_sink_stats(k, &st);
		if (st.events_committed == st.events_queued)
			return;
		usleep(1000);
	}
	fail_msg("the writer did not catch up");
}

/* Another client holds the write lock (BEGIN IMMEDIATE) for 300 ms while
 * batches are committed: the writer waits for it, and the database is
 * complete. */
static void test_busy_other_writer(void **state)
{
	struct synth_counts c;
	struct trace_session *s = synth(20000, 1, &c);
	struct err e = {{0}};
	const char *path = tpath("busy.db");
	const struct db_sink_options opts = {.batch_events = 1000};
	struct capture_sink *k = capture_db_sink_open(path, false, &opts, &e);
	assert_non_null(k);
	sqlite3 *other = NULL;
	assert_int_equal(sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	feed(k, s, 2000); /* every batch meets the lock */
	assert_int_equal(k->ops->flush(k, &e), 0);
	usleep(300000);
	struct db_sink_stats st;
	capture_db_sink_stats(k, &st);
	assert_int_equal(st.events_committed, 0); /* the lock held them back */
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	/* A checkpoint by the other client, as a reader may run one. */
	wait_committed(k);
	sqlite3_wal_checkpoint_v2(other, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_close(other);
	if (capture_sink_close(k, &e) < 0)
		fail_msg("close: %s", e.msg);
	check_db(path, s, &c);
	trace_session_delete(s);
}

/* A live sink (wait_when_full false) whose writer is held up fails with
 * "fell behind the capture" instead of making the feeder wait; a waiting
 * one (wait_when_full) with the same tiny budget completes. */
static void test_queue_budget(void **state)
{
	struct synth_counts c;
	struct trace_session *s = synth(20000, 1, &c);
	struct err e = {{0}};
	const char *path = tpath("behind.db");
	struct db_sink_options opts = {.batch_events = 500, .queue_bytes = 1};
	struct capture_sink *k = capture_db_sink_open(path, false, &opts, &e);
	assert_non_null(k);
	sqlite3 *other = NULL;
	assert_int_equal(sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	/* The first batch is taken (a batch always goes to an empty queue);
	 * the writer waits on the lock; the next one finds the budget spent. */
	const struct capture_sink_ops *ops = k->ops;
	int rc = 0;
	for (uint32_t id = 1; id < 10000 && rc == 0; id++) {
		char str[32];
		int n = snprintf(str, sizeof(str), "s%u", id);
		rc = ops->string(k, id, str, (size_t)n, &e);
	}
	assert_int_equal(rc, -1);
	assert_non_null(strstr(e.msg, "fell behind the capture"));
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(capture_sink_close(k, &e), -1);
	assert_non_null(strstr(e.msg, "fell behind"));
	struct db_read_report rep;
	struct trace_session *r = db_read_session(path, &rep, &e);
	assert_non_null(r);
	assert_true(rep.incomplete); /* no marker: it failed */
	trace_session_delete(r);

	path = tpath("waits.db");
	opts.wait_when_full = true;
	k = capture_db_sink_open(path, false, &opts, &e);
	assert_non_null(k);
	feed(k, s, 700);
	if (capture_sink_close(k, &e) < 0)
		fail_msg("close: %s", e.msg);
	check_db(path, s, &c);
	trace_session_delete(s);
}

/* The completion marker: a database being written reads as incomplete,
 * a closed one as complete, and the marker is no metadata pair. */
static void test_complete_marker(void **state)
{
	struct synth_counts c;
	struct trace_session *s = synth(5000, 1, &c);
	struct err e = {{0}};
	const char *path = tpath("marker.db");
	struct capture_sink *k = capture_db_sink_open(path, false, NULL, &e);
	assert_non_null(k);
	feed(k, s, SIZE_MAX);
	assert_int_equal(k->ops->meta(k, DB_META_COMPLETE, "1", &e), 0); /* not taken from a session */
	assert_int_equal(k->ops->flush(k, &e), 0);
	wait_committed(k);
	struct db_read_report rep;
	struct trace_session *r = db_read_session(path, &rep, &e);
	assert_non_null(r);
	assert_true(rep.incomplete);
	assert_int_equal(trace_session_event_count(r), c.events);
	trace_session_delete(r);
	assert_int_equal(capture_sink_close(k, &e), 0);
	r = db_read_session(path, &rep, &e);
	assert_non_null(r);
	assert_false(rep.incomplete);
	assert_null(trace_session_meta(r, DB_META_COMPLETE));
	assert_int_equal(trace_session_meta_count(r), trace_session_meta_count(s));
	trace_session_delete(r);
	trace_session_delete(s);
}

/* An interrupted db_write_session (its progress function says stop), and
 * a failed one with `replace`, leave the existing database whole and no
 * temporary file behind; a successful one leaves none either. */
static void test_interrupted_keeps_old(void **state)
{
	struct synth_counts c;
	struct trace_session *s = synth(200000, 1, &c);
	struct err e = {{0}};
	const char *path = tpath("keep.db");
	assert_int_equal(db_write_session(s, path, false, NULL, NULL, &e), 0);
	assert_false(dir_has(".tmp-"));
	struct progress_seen p = {.stop_after = 2};
	struct synth_counts oc;
	struct trace_session *other = synth(1000, 1, &oc);
	assert_int_equal(db_write_session(other, path, true, progress_cb, &p, &e), -1);
	assert_non_null(strstr(e.msg, "interrupted"));
	check_db(path, s, &c); /* the old one, untouched */
	assert_false(dir_has(".tmp-"));
	/* Stopped at the very end, after the sink finished: still not replaced. */
	p = (struct progress_seen){.stop_after = 0};
	assert_int_equal(db_write_session(other, tpath("count.db"), false, progress_cb, &p, &e), 0);
	unsigned all = p.calls;
	p = (struct progress_seen){.stop_after = all};
	assert_int_equal(db_write_session(other, path, true, progress_cb, &p, &e), -1);
	check_db(path, s, &c);
	assert_false(dir_has(".tmp-"));
	/* A new name: nothing is left there either. */
	p = (struct progress_seen){.stop_after = 1};
	assert_int_equal(db_write_session(s, tpath("new.db"), false, progress_cb, &p, &e), -1);
	assert_false(file_exists(tpath("new.db")));
	assert_false(dir_has(".tmp-"));
	trace_session_delete(other);
	trace_session_delete(s);
}

/* --- main -------------------------------------------------------------------------- */

static int setup_dir(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR");
	snprintf(test_dir, sizeof(test_dir), "%s/test_db_write.XXXXXX", base && *base ? base : "/tmp");
	return mkdtemp(test_dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "chmod -R u+w '%s'; rm -rf '%s'", test_dir, test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sink_synth),
	    cmocka_unit_test(test_write_session),
	    cmocka_unit_test(test_empty_session),
	    cmocka_unit_test(test_latest_wins),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_reader_during_write),
	    cmocka_unit_test(test_exists_refused),
	    cmocka_unit_test(test_unwritable),
	    cmocka_unit_test(test_thread_error),
	    cmocka_unit_test(test_disk_full),
	    cmocka_unit_test(test_busy_other_writer),
	    cmocka_unit_test(test_queue_budget),
	    cmocka_unit_test(test_complete_marker),
	    cmocka_unit_test(test_interrupted_keeps_old),
	};
	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
