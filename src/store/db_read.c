/*
 * db_read.c - the session database reader: loads a tstop database (db.h,
 * docs/schema.md) back into a session, so that every command that reads
 * sessions accepts the .db as well as the .sbt.
 *
 * The file is sniffed first (a text file or an empty one is refused before
 * SQLite sees it), then opened read-only with SQLite's defensive settings
 * (nothing in the file is trusted: no schema-defined functions run, every
 * value is range-checked before it reaches the model). Everything is read in
 * one read transaction, so a database that a live capture is still writing in
 * WAL mode yields one consistent snapshot of its committed batches; the
 * reader never needs write access to the -shm file, and a finished WAL
 * database is opened as immutable, so that no -shm or -wal file is created
 * beside it (safe because no -wal file means no writer: see db_open).
 *
 * Load order follows the references: strings, frames, stacks, tracks, the
 * side tables (launches, NVTX attributes, memory operations), then
 * processes, devices, metadata, losses, and the event tables. Ids are
 * reproduced exactly: each id table is read in id order and every entry
 * must get from the session the id its row holds (dense from 1, no
 * duplicates), else the database is refused as damaged, since events refer
 * to those ids. A malformed row of any other table is skipped and counted in
 * the report, as the SBT reader drops malformed records.
 *
 * Values the model holds as uint64 (byte counts, addresses, program
 * counters, payload bits, loss totals) are stored as the int64 with the same
 * bits; they are read back the same way.
 */
#include "store/db.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xalloc.h"

/* State of one load. */
struct db_reader {
	struct sqlite3 *db;
	struct trace_session *s;
	struct db_read_report *rep;
	const char *path; /* as given, for messages */
	char *real;       /* the file itself, symbolic links resolved: what SQLite opens; owned */
	struct err *e;
};

/* Decoding of one row, column after column: the first column whose value is
 * missing, of the wrong type or out of range is remembered in `bad`, and
 * decoding goes on harmlessly so that callers check once per row. */
struct db_row {
	struct sqlite3_stmt *st;
	int col;         /* next column to decode */
	const char *bad; /* name of the first bad column, NULL while all are fine */
};

static const char *const db_read_table_names[DB_READ_TABLES] = {
    [DB_READ_PROCESSES] = "target_processes",
    [DB_READ_DEVICES] = "devices",
    [DB_READ_META] = "meta",
    [DB_READ_LOSSES] = "losses",
    [DB_READ_KERNELS] = "kernels",
    [DB_READ_MEMCPYS] = "memcpys",
    [DB_READ_MEMSETS] = "memsets",
    [DB_READ_SYNCS] = "syncs",
    [DB_READ_API_CALLS] = "api_calls",
    [DB_READ_NVTX_RANGES] = "nvtx_ranges",
    [DB_READ_NVTX_MARKS] = "nvtx_marks",
    [DB_READ_MEMORY_EVENTS] = "memory_events",
    [DB_READ_COUNTERS] = "counters",
    [DB_READ_LOST_RANGES] = "lost_ranges",
};

/* The SQL name of table `t`; see db.h. */
const char *db_read_table_name(unsigned t)
{
	return t < DB_READ_TABLES ? db_read_table_names[t] : "?";
}

/* --- errors ------------------------------------------------------------------- */

/* Fills r->e with "PATH: database is damaged: MESSAGE" and returns -1. */
static int db_damaged(struct db_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int db_damaged(struct db_reader *r, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_fmt(r->e, "%s: database is damaged: %s", r->path, msg);
}

/* Fills r->e from SQLite's last error on r->db, met while reading `what`,
 * and returns -1. Corruption and a missing table or column are damage; other
 * failures (I/O, memory, a lock held too long) are reported as such. */
static int db_sql_error(struct db_reader *r, const char *what)
{
	int code = sqlite3_errcode(r->db) & 0xff;
	if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB || code == SQLITE_ERROR ||
	    code == SQLITE_MISMATCH)
		return db_damaged(r, "reading %s: %s", what, sqlite3_errmsg(r->db));
	return err_fmt(r->e, "%s: cannot read %s: %s", r->path, what, sqlite3_errmsg(r->db));
}

/* Counts a skipped row of `table`, keeping the first reason in the report. */
static void db_skip(struct db_reader *r, enum db_read_table table, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void db_skip(struct db_reader *r, enum db_read_table table, const char *fmt, ...)
{
	r->rep->skipped[table]++;
	if (r->rep->rows_skipped++ == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->rep->first_problem, sizeof(r->rep->first_problem), fmt, ap);
		va_end(ap);
	}
}

/* --- column decoding ------------------------------------------------------------ */

/* The next column as an integer in [min, max]; `min` after marking the row
 * bad when it is not an integer or out of range. */
static int64_t row_int(struct db_row *w, int64_t min, int64_t max)
{
	int i = w->col++;
	if (w->bad)
		return min;
	/* One column call, then the value's own accessors: the column calls
	 * cost the most of the load. */
	struct sqlite3_value *val = sqlite3_column_value(w->st, i);
	if (sqlite3_value_type(val) == SQLITE_INTEGER) {
		int64_t v = sqlite3_value_int64(val);
		if (v >= min && v <= max)
			return v;
	}
	w->bad = sqlite3_column_name(w->st, i);
	return min;
}

/* The next column as a uint32. */
static uint32_t row_u32(struct db_row *w)
{
	return (uint32_t)row_int(w, 0, UINT32_MAX);
}

/* The next column as a uint64 stored as the int64 of the same bits. */
static uint64_t row_u64(struct db_row *w)
{
	return (uint64_t)row_int(w, INT64_MIN, INT64_MAX);
}

/* The next column as an id below `count` (0, "none", included). */
static uint32_t row_ref(struct db_row *w, uint32_t count)
{
	return (uint32_t)row_int(w, 0, (int64_t)count - 1); /* count >= 1: the tables count "none" */
}

/* The next column as a string id of the session. */
static uint32_t row_string(struct db_reader *r, struct db_row *w)
{
	return row_ref(w, trace_session_string_count(r->s));
}

/* The next column as a NUL-terminated text without NUL bytes inside; NULL
 * after marking the row bad. Valid until the statement moves on. */
static const char *row_text(struct db_row *w)
{
	int i = w->col++;
	if (w->bad)
		return NULL;
	if (sqlite3_column_type(w->st, i) == SQLITE_TEXT) {
		const char *p = (const char *)sqlite3_column_text(w->st, i);
		int n = sqlite3_column_bytes(w->st, i);
		if (p && strlen(p) == (size_t)n)
			return p;
	}
	w->bad = sqlite3_column_name(w->st, i);
	return NULL;
}

/* --- statements -------------------------------------------------------------------- */

/* Prepares `sql`, which reads `what`; NULL with r->e filled on failure. */
static struct sqlite3_stmt *db_prepare(struct db_reader *r, const char *sql, const char *what)
{
	struct sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_sql_error(r, what);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* Steps `st`: 1 for a row, 0 at the end, -1 with r->e filled on an error. */
static int db_step(struct db_reader *r, struct sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	db_sql_error(r, what);
	return -1;
}

/* Reads the id in the first column of an id table's row and checks that it is
 * the id the session will hand out next, `expect`. 0, or -1 with r->e
 * filled. */
static int db_check_id(struct db_reader *r, struct db_row *w, const char *table, uint32_t expect)
{
	int64_t id = row_int(w, INT64_MIN, INT64_MAX);
	if (w->bad)
		return db_damaged(r, "%s: an id that is not an integer", table);
	if (id != (int64_t)expect)
		return db_damaged(
		    r, "%s: id %" PRId64 " where %" PRIu32 " was expected (ids run from 1 without gaps)",
		    table, id, expect);
	return 0;
}

/* --- id tables ------------------------------------------------------------------ */

/* Loads the strings: every id must be the one interning its bytes gives,
 * which fails for a gap, a duplicate or an empty string under an id other
 * than 0. 0, or -1 with r->e filled. */
static int db_load_strings(struct db_reader *r)
{
	static const char what[] = "strings";
	struct sqlite3_stmt *st = db_prepare(r, "SELECT id, value FROM strings ORDER BY id", what);
	if (!st)
		return -1;
	int rc;
	while ((rc = db_step(r, st, what)) > 0) {
		int type = sqlite3_column_type(st, 0);
		int64_t id = sqlite3_column_int64(st, 0);
		int vtype = sqlite3_column_type(st, 1);
		/* sqlite3_column_text before sqlite3_column_bytes: the length is
		 * then that of the UTF-8 bytes, NULs inside included. */
		const char *p = (const char *)sqlite3_column_text(st, 1);
		size_t n = (size_t)sqlite3_column_bytes(st, 1);
		if (type != SQLITE_INTEGER || (vtype != SQLITE_TEXT && vtype != SQLITE_BLOB) || (n && !p)) {
			rc = db_damaged(r, "strings: a row with no integer id or no value");
			break;
		}
		if (id == 0 && n == 0)
			continue; /* the empty string, which every session has as id 0 */
		uint32_t expect = trace_session_string_count(r->s);
		if (id != (int64_t)expect) {
			rc = db_damaged(r,
			                "strings: id %" PRId64 " where %" PRIu32
			                " was expected (ids run from 1 without gaps)",
			                id, expect);
			break;
		}
		uint32_t got = trace_session_intern(r->s, n ? p : "", n);
		if (got != expect) {
			rc = db_damaged(r, "strings: id %" PRId64 " repeats string %" PRIu32, id, got);
			break;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* Loads the frames, in id order. 0, or -1 with r->e filled. */
static int db_load_frames(struct db_reader *r)
{
	static const char what[] = "frames";
	struct sqlite3_stmt *st = db_prepare(
	    r, "SELECT id, pc, offset, function, module, file, line FROM frames ORDER BY id", what);
	if (!st)
		return -1;
	int rc;
	while ((rc = db_step(r, st, what)) > 0) {
		struct db_row w = {st, 0, NULL};
		uint32_t expect = trace_session_frame_count(r->s);
		if ((rc = db_check_id(r, &w, what, expect)) < 0)
			break;
		struct trace_frame f = {0};
		f.pc = row_u64(&w);
		f.offset = row_u64(&w);
		f.function = row_string(r, &w);
		f.module = row_string(r, &w);
		f.file = row_string(r, &w);
		f.line = row_u32(&w);
		if (w.bad) {
			rc = db_damaged(r, "frames: id %" PRIu32 ": bad %s", expect, w.bad);
			break;
		}
		uint32_t got = trace_session_add_frame(r->s, &f);
		if (got != expect) {
			rc = db_damaged(r, "frames: id %" PRIu32 " repeats frame %" PRIu32, expect, got);
			break;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* Interns the stack held in frames[0 .. n) as id `stack`. 0, or -1 with
 * r->e filled. */
static int db_add_stack(struct db_reader *r, int64_t stack, const uint32_t *frames, uint32_t n)
{
	uint32_t expect = trace_session_stack_count(r->s);
	if (stack != (int64_t)expect)
		return db_damaged(r,
		                  "stack_frames: stack %" PRId64 " where %" PRIu32
		                  " was expected (ids run from 1 without gaps)",
		                  stack, expect);
	uint32_t got = trace_session_add_stack(r->s, frames, n);
	if (got != expect)
		return db_damaged(r, "stack_frames: stack %" PRId64 " repeats stack %" PRIu32, stack, got);
	return 0;
}

/* Loads the stacks from their frame rows, ordered by (stack, depth): each
 * stack's depths must run 0, 1, 2 ... over known frames. 0, or -1 with r->e
 * filled. */
static int db_load_stacks(struct db_reader *r)
{
	static const char what[] = "stack_frames";
	struct sqlite3_stmt *st =
	    db_prepare(r, "SELECT stack, depth, frame FROM stack_frames ORDER BY stack, depth", what);
	if (!st)
		return -1;
	uint32_t *frames = NULL;
	size_t cap = 0;
	uint32_t n = 0;
	int64_t stack = 0; /* the stack being gathered; 0 before the first row */
	int rc;
	while ((rc = db_step(r, st, what)) > 0) {
		struct db_row w = {st, 0, NULL};
		int64_t id = row_int(&w, 1, UINT32_MAX);
		int64_t depth = row_int(&w, 0, UINT32_MAX - 1);
		uint32_t frame = row_ref(&w, trace_session_frame_count(r->s));
		if (w.bad || frame == 0) {
			rc = db_damaged(r, "stack_frames: stack %" PRId64 ": bad %s", id,
			                w.bad ? w.bad : "frame");
			break;
		}
		if (id != stack) {
			if (stack && (rc = db_add_stack(r, stack, frames, n)) < 0)
				break;
			stack = id;
			n = 0;
		}
		if (depth != (int64_t)n) {
			rc = db_damaged(r,
			                "stack_frames: stack %" PRId64 " has depth %" PRId64 " where %" PRIu32
			                " was expected",
			                id, depth, n);
			break;
		}
		frames = xgrow(frames, &cap, (size_t)n + 1, sizeof(*frames));
		frames[n++] = frame;
	}
	if (rc == 0 && stack)
		rc = db_add_stack(r, stack, frames, n);
	free(frames);
	sqlite3_finalize(st);
	return rc;
}

/* Loads the tracks, in id order: a repeated identity or an unknown kind is
 * damage. 0, or -1 with r->e filled. */
static int db_load_tracks(struct db_reader *r)
{
	static const char what[] = "tracks";
	struct sqlite3_stmt *st = db_prepare(
	    r, "SELECT id, kind, pid, tid, device, context, stream, name FROM tracks ORDER BY id", what);
	if (!st)
		return -1;
	int rc;
	while ((rc = db_step(r, st, what)) > 0) {
		struct db_row w = {st, 0, NULL};
		uint32_t expect = trace_session_track_count(r->s);
		if ((rc = db_check_id(r, &w, what, expect)) < 0)
			break;
		struct trace_track_info t = {0};
		t.kind = (uint8_t)row_int(&w, 1, TRACE_TRACK_KIND_MAX);
		t.pid = row_u32(&w);
		t.tid = row_u32(&w);
		t.device = row_u32(&w);
		t.context = row_u32(&w);
		t.stream = row_u32(&w);
		t.name = row_string(r, &w);
		if (w.bad) {
			rc = db_damaged(r, "tracks: id %" PRIu32 ": bad %s", expect, w.bad);
			break;
		}
		uint32_t got = trace_session_add_track(r->s, &t);
		if (got != expect) {
			rc = db_damaged(r, "tracks: id %" PRIu32 " repeats track %" PRIu32, expect, got);
			break;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* Loads the launch configurations, in id order. 0, or -1 with r->e filled. */
static int db_load_launches(struct db_reader *r)
{
	static const char what[] = "launches";
	struct sqlite3_stmt *st =
	    db_prepare(r,
	               "SELECT id, grid_x, grid_y, grid_z, block_x, block_y, block_z, registers, "
	               "static_smem, dynamic_smem, cluster_x, cluster_y, cluster_z "
	               "FROM launches ORDER BY id",
	               what);
	if (!st)
		return -1;
	int rc;
	while ((rc = db_step(r, st, what)) > 0) {
		struct db_row w = {st, 0, NULL};
		uint32_t expect = trace_session_launch_count(r->s);
		if ((rc = db_check_id(r, &w, what, expect)) < 0)
			break;
		struct trace_launch l = {0};
		for (int i = 0; i < 3; i++)
			l.grid[i] = row_u32(&w);
		for (int i = 0; i < 3; i++)
			l.block[i] = row_u32(&w);
		l.registers = row_u32(&w);
		l.static_smem = row_u32(&w);
		l.dynamic_smem = row_u32(&w);
		for (int i = 0; i < 3; i++)
			l.cluster[i] = row_u32(&w);
		if (w.bad) {
			rc = db_damaged(r, "launches: id %" PRIu32 ": bad %s", expect, w.bad);
			break;
		}
		uint32_t got = trace_session_add_launch(r->s, &l);
		if (got != expect) {
			rc = db_damaged(r, "launches: id %" PRIu32 " repeats launch %" PRIu32, expect, got);
			break;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* Loads the NVTX attribute sets, in id order. 0, or -1 with r->e filled. */
static int db_load_nvtx_attrs(struct db_reader *r)
{
	static const char what[] = "nvtx_attrs";
	struct sqlite3_stmt *st = db_prepare(
	    r, "SELECT id, domain, category, color, payload_type, payload FROM nvtx_attrs ORDER BY id", what);
	if (!st)
		return -1;
	int rc;
	while ((rc = db_step(r, st, what)) > 0) {
		struct db_row w = {st, 0, NULL};
		uint32_t expect = trace_session_nvtx_attr_count(r->s);
		if ((rc = db_check_id(r, &w, what, expect)) < 0)
			break;
		struct trace_nvtx_attr a = {0};
		a.domain = row_string(r, &w);
		a.category = row_u32(&w);
		if (sqlite3_column_type(st, w.col) == SQLITE_NULL) {
			w.col++;
		} else {
			a.color = row_u32(&w);
			a.has_color = 1;
		}
		a.payload_type = (uint8_t)row_int(&w, 0, UINT8_MAX);
		a.payload = row_u64(&w);
		if (w.bad) {
			rc = db_damaged(r, "nvtx_attrs: id %" PRIu32 ": bad %s", expect, w.bad);
			break;
		}
		uint32_t got = trace_session_add_nvtx_attr(r->s, &a);
		if (got != expect) {
			rc = db_damaged(r, "nvtx_attrs: id %" PRIu32 " repeats attributes %" PRIu32, expect,
			                got);
			break;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* Loads the memory operations, in id order. 0, or -1 with r->e filled. */
static int db_load_memops(struct db_reader *r)
{
	static const char what[] = "memory_ops";
	struct sqlite3_stmt *st =
	    db_prepare(r, "SELECT id, address, bytes, device, mem_kind FROM memory_ops ORDER BY id", what);
	if (!st)
		return -1;
	int rc;
	while ((rc = db_step(r, st, what)) > 0) {
		struct db_row w = {st, 0, NULL};
		uint32_t expect = trace_session_memop_count(r->s);
		if ((rc = db_check_id(r, &w, what, expect)) < 0)
			break;
		struct trace_memop m = {0};
		m.address = row_u64(&w);
		m.bytes = row_u64(&w);
		m.device = row_u32(&w);
		m.mem_kind = (uint8_t)row_int(&w, 0, UINT8_MAX);
		if (w.bad) {
			rc = db_damaged(r, "memory_ops: id %" PRIu32 ": bad %s", expect, w.bad);
			break;
		}
		uint32_t got = trace_session_add_memop(r->s, &m);
		if (got != expect) {
			rc = db_damaged(r, "memory_ops: id %" PRIu32 " was given id %" PRIu32, expect, got);
			break;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* --- processes, devices, metadata, losses ---------------------------------------- */

/* Loads the processes; malformed rows are skipped. 0, or -1 with r->e filled. */
static int db_load_processes(struct db_reader *r)
{
	static const char what[] = "processes";
	struct sqlite3_stmt *st = db_prepare(
	    r, "SELECT pid, ppid, command, start, end, state, status FROM target_processes ORDER BY rowid",
	    what);
	if (!st)
		return -1;
	int rc;
	while ((rc = db_step(r, st, what)) > 0) {
		struct db_row w = {st, 0, NULL};
		struct trace_process p = {0};
		p.pid = row_u32(&w);
		p.ppid = row_u32(&w);
		p.command = row_string(r, &w);
		p.start = row_int(&w, INT64_MIN, INT64_MAX);
		p.end = row_int(&w, INT64_MIN, INT64_MAX);
		p.state = (uint8_t)row_int(&w, 0, UINT8_MAX);
		p.status = (int32_t)row_int(&w, INT32_MIN, INT32_MAX);
		if (w.bad) {
			db_skip(r, DB_READ_PROCESSES, "processes: pid %lld: bad %s",
			        sqlite3_column_int64(st, 0), w.bad);
			continue;
		}
		trace_session_set_process(r->s, &p);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Loads the devices; malformed rows are skipped. 0, or -1 with r->e filled. */
static int db_load_devices(struct db_reader *r)
{
	static const char what[] = "devices";
	struct sqlite3_stmt *st = db_prepare(
	    r,
	    "SELECT id, api, name, uuid, cc_major, cc_minor, sm_count, global_memory, warp_size, "
	    "max_threads_per_block, max_threads_per_sm, max_blocks_per_sm, regs_per_block, regs_per_sm, "
	    "smem_per_block, smem_per_sm, core_clock_khz, memory_clock_khz, memory_bus_width FROM devices "
	    "ORDER BY rowid",
	    what);
	if (!st)
		return -1;
	int rc;
	while ((rc = db_step(r, st, what)) > 0) {
		struct db_row w = {st, 0, NULL};
		struct trace_device d = {0};
		d.id = row_u32(&w);
		d.api = (uint8_t)row_int(&w, 0, UINT8_MAX);
		d.name = row_string(r, &w);
		int uuid_col = w.col++;
		int uuid_type = sqlite3_column_type(st, uuid_col);
		if (uuid_type == SQLITE_BLOB && sqlite3_column_bytes(st, uuid_col) == (int)sizeof(d.uuid))
			memcpy(d.uuid, sqlite3_column_blob(st, uuid_col), sizeof(d.uuid));
		else if (uuid_type != SQLITE_NULL && !w.bad)
			w.bad = "uuid";
		d.cc_major = row_u32(&w);
		d.cc_minor = row_u32(&w);
		d.sm_count = row_u32(&w);
		d.global_memory = row_u64(&w);
		d.warp_size = row_u32(&w);
		d.max_threads_per_block = row_u32(&w);
		d.max_threads_per_sm = row_u32(&w);
		d.max_blocks_per_sm = row_u32(&w);
		d.regs_per_block = row_u32(&w);
		d.regs_per_sm = row_u32(&w);
		d.smem_per_block = row_u32(&w);
		d.smem_per_sm = row_u32(&w);
		d.core_clock_khz = row_u32(&w);
		d.memory_clock_khz = row_u32(&w);
		d.memory_bus_width = row_u32(&w);
		if (w.bad) {
			db_skip(r, DB_READ_DEVICES, "devices: id %lld: bad %s", sqlite3_column_int64(st, 0),
			        w.bad);
			continue;
		}
		trace_session_set_device(r->s, &d);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Loads the metadata pairs; a key or value that is not text, or holds a NUL
 * byte, is skipped. The DB_META_COMPLETE marker clears rep->incomplete
 * (set before) instead of becoming a pair. 0, or -1 with r->e filled. */
static int db_load_meta(struct db_reader *r)
{
	static const char what[] = "meta";
	struct sqlite3_stmt *st = db_prepare(r, "SELECT key, value FROM meta ORDER BY rowid", what);
	if (!st)
		return -1;
	int rc;
	while ((rc = db_step(r, st, what)) > 0) {
		struct db_row w = {st, 0, NULL};
		const char *key = row_text(&w);
		const char *value = row_text(&w);
		if (w.bad) {
			db_skip(r, DB_READ_META, "meta: a pair with a bad %s", w.bad);
			continue;
		}
		if (!strcmp(key, DB_META_COMPLETE)) {
			/* The writer's marker, not the session's metadata. */
			if (!strcmp(value, "1"))
				r->rep->incomplete = false;
			continue;
		}
		trace_session_set_meta(r->s, key, value);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Loads the lost-event totals; malformed rows are skipped. 0, or -1 with
 * r->e filled. */
static int db_load_losses(struct db_reader *r)
{
	static const char what[] = "losses";
	struct sqlite3_stmt *st = db_prepare(r, "SELECT pid, source, count FROM losses ORDER BY rowid", what);
	if (!st)
		return -1;
	int rc;
	while ((rc = db_step(r, st, what)) > 0) {
		struct db_row w = {st, 0, NULL};
		uint32_t pid = row_u32(&w);
		uint32_t source = row_string(r, &w);
		uint64_t count = row_u64(&w);
		if (w.bad) {
			db_skip(r, DB_READ_LOSSES, "losses: pid %lld: bad %s", sqlite3_column_int64(st, 0),
			        w.bad);
			continue;
		}
		trace_session_set_loss(r->s, pid, source, count);
	}
	sqlite3_finalize(st);
	return rc;
}

/* --- events ------------------------------------------------------------------------- */

/* Decodes the kind-specific columns of an event row into `ev`, whose common
 * fields are filled; marks the row bad as the columns are read. */
typedef void (*db_decode_fn)(struct db_reader *r, struct db_row *w, struct trace_event *ev);

/* kernels: launch. */
static void db_decode_kernel(struct db_reader *r, struct db_row *w, struct trace_event *ev)
{
	ev->u.kernel.launch = row_ref(w, trace_session_launch_count(r->s));
}

/* memcpys: bytes, copy_kind, src_kind, dst_kind (five bits each in `sub`). */
static void db_decode_memcpy(struct db_reader *r, struct db_row *w, struct trace_event *ev)
{
	(void)r;
	ev->u.bytes = row_u64(w);
	unsigned copy = (unsigned)row_int(w, 0, 0x1f);
	unsigned src = (unsigned)row_int(w, 0, 0x1f);
	unsigned dst = (unsigned)row_int(w, 0, 0x1f);
	ev->sub = trace_memcpy_sub(copy, src, dst);
}

/* memsets: bytes, mem_kind. */
static void db_decode_memset(struct db_reader *r, struct db_row *w, struct trace_event *ev)
{
	(void)r;
	ev->u.bytes = row_u64(w);
	ev->sub = (uint16_t)row_int(w, 0, UINT16_MAX);
}

/* syncs: sync_kind, event. */
static void db_decode_sync(struct db_reader *r, struct db_row *w, struct trace_event *ev)
{
	(void)r;
	ev->sub = (uint16_t)row_int(w, 0, UINT16_MAX);
	ev->u.sync.event = row_u32(w);
}

/* api_calls: domain (which must agree with the flags that hold it), cbid,
 * result (int16), stack. */
static void db_decode_api(struct db_reader *r, struct db_row *w, struct trace_event *ev)
{
	int64_t domain = row_int(w, 0, TRACE_API_DOMAIN_MAX);
	if (!w->bad && domain != (ev->flags & TRACE_API_DOMAIN_MASK))
		w->bad = "domain (it disagrees with flags)";
	ev->u.api.cbid = row_u32(w);
	ev->sub = (uint16_t)(int16_t)row_int(w, INT16_MIN, INT16_MAX);
	ev->u.api.stack = row_ref(w, trace_session_stack_count(r->s));
}

/* nvtx_ranges, nvtx_marks: attr, stack. */
static void db_decode_nvtx(struct db_reader *r, struct db_row *w, struct trace_event *ev)
{
	ev->u.nvtx.attr = row_ref(w, trace_session_nvtx_attr_count(r->s));
	ev->u.nvtx.stack = row_ref(w, trace_session_stack_count(r->s));
}

/* memory_events: kind (allocation or release), op. */
static void db_decode_memory(struct db_reader *r, struct db_row *w, struct trace_event *ev)
{
	ev->kind = (uint8_t)row_int(w, TRACE_MEM_ALLOC, TRACE_MEM_FREE);
	ev->u.memop.id = row_ref(w, trace_session_memop_count(r->s));
}

/* counters: value, an integer, or a real when the flags say the counter is
 * a double. SQLite's NUMERIC affinity stores a whole-number real as an
 * integer, which converts back exactly (but for the sign of -0.0); a NaN,
 * which SQLite cannot store as a real, is the text 'NaN'. */
static void db_decode_counter(struct db_reader *r, struct db_row *w, struct trace_event *ev)
{
	(void)r;
	if (!(ev->flags & TRACE_FLAG_COUNTER_DOUBLE)) {
		ev->u.counter = row_int(w, INT64_MIN, INT64_MAX);
		return;
	}
	int i = w->col++;
	int type = sqlite3_column_type(w->st, i);
	if (type == SQLITE_FLOAT || type == SQLITE_INTEGER)
		ev->u.counter_double = sqlite3_column_double(w->st, i);
	else if (type == SQLITE_TEXT && !strcmp((const char *)sqlite3_column_text(w->st, i), "NaN") &&
	         sqlite3_column_bytes(w->st, i) == 3)
		ev->u.counter_double = NAN;
	else if (!w->bad)
		w->bad = sqlite3_column_name(w->st, i);
}

/* lost_ranges: count. */
static void db_decode_lost(struct db_reader *r, struct db_row *w, struct trace_event *ev)
{
	(void)r;
	ev->u.bytes = row_u64(w);
}

/* One event table: its report slot, its query (rowid and the common columns
 * first, in the order db_load_events reads them), the kind of its events (0
 * when a column gives it) and the decoder of the rest. */
struct db_event_table {
	enum db_read_table table;
	const char *sql;
	uint8_t kind;
	db_decode_fn decode;
};

#define DB_EVENT_COLUMNS "SELECT rowid, start, end, track, name, correlation, flags, "

static const struct db_event_table db_event_tables[] = {
    {DB_READ_KERNELS, DB_EVENT_COLUMNS "launch FROM kernels", TRACE_KERNEL, db_decode_kernel},
    {DB_READ_MEMCPYS, DB_EVENT_COLUMNS "bytes, copy_kind, src_kind, dst_kind FROM memcpys", TRACE_MEMCPY,
     db_decode_memcpy},
    {DB_READ_MEMSETS, DB_EVENT_COLUMNS "bytes, mem_kind FROM memsets", TRACE_MEMSET, db_decode_memset},
    {DB_READ_SYNCS, DB_EVENT_COLUMNS "sync_kind, event FROM syncs", TRACE_SYNC, db_decode_sync},
    {DB_READ_API_CALLS, DB_EVENT_COLUMNS "domain, cbid, result, stack FROM api_calls", TRACE_API,
     db_decode_api},
    {DB_READ_NVTX_RANGES, DB_EVENT_COLUMNS "attr, stack FROM nvtx_ranges", TRACE_NVTX_RANGE, db_decode_nvtx},
    {DB_READ_NVTX_MARKS, DB_EVENT_COLUMNS "attr, stack FROM nvtx_marks", TRACE_NVTX_MARK, db_decode_nvtx},
    {DB_READ_MEMORY_EVENTS, DB_EVENT_COLUMNS "kind, op FROM memory_events", 0, db_decode_memory},
    {DB_READ_COUNTERS, DB_EVENT_COLUMNS "value FROM counters", TRACE_COUNTER, db_decode_counter},
    {DB_READ_LOST_RANGES, DB_EVENT_COLUMNS "count FROM lost_ranges", TRACE_LOST, db_decode_lost},
};

/* Loads the events of table `t`; malformed rows are skipped. 0, or -1 with
 * r->e filled. */
static int db_load_events(struct db_reader *r, const struct db_event_table *t)
{
	const char *what = db_read_table_name(t->table);
	struct sqlite3_stmt *st = db_prepare(r, t->sql, what);
	if (!st)
		return -1;
	int rc;
	while ((rc = db_step(r, st, what)) > 0) {
		struct db_row w = {st, 1, NULL};
		struct trace_event ev;
		memset(&ev, 0,
		       sizeof(ev)); /* the union's unused halves are 0, as the SBT reader leaves them */
		ev.kind = t->kind;
		ev.start = row_int(&w, INT64_MIN, INT64_MAX);
		ev.end = row_int(&w, INT64_MIN, INT64_MAX);
		ev.track = (uint32_t)row_int(&w, 1, (int64_t)trace_session_track_count(r->s) - 1);
		ev.name = row_string(r, &w);
		ev.correlation = row_u32(&w);
		ev.flags = (uint8_t)row_int(&w, 0, UINT8_MAX);
		t->decode(r, &w, &ev);
		long long rowid = sqlite3_column_int64(st, 0);
		if (w.bad) {
			db_skip(r, t->table, "%s row %lld: bad %s", what, rowid, w.bad);
			continue;
		}
		if (ev.end < ev.start) {
			db_skip(r, t->table, "%s row %lld: ends before it starts", what, rowid);
			continue;
		}
		if ((uint64_t)ev.end - (uint64_t)ev.start > (uint64_t)INT64_MAX) {
			db_skip(r, t->table, "%s row %lld: lasts longer than 2^63 ns", what, rowid);
			continue;
		}
		if (trace_session_append(r->s, &ev) < 0) {
			db_skip(r, t->table, "%s row %lld: refused by the model", what, rowid);
			continue;
		}
		r->rep->events++;
	}
	sqlite3_finalize(st);
	return rc;
}

/* --- opening ------------------------------------------------------------------------ */

/* Checks that `path` is a regular file that starts as a SQLite database
 * does, fills r->rep's sizes and sets *wal_mode when the header says the
 * database is in WAL mode. 0, or -1 with r->e filled. */
static int db_sniff(struct db_reader *r, bool *wal_mode)
{
	int fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(r->e, errno, "%s: cannot open", r->path);
	struct stat sb;
	if (fstat(fd, &sb) < 0) {
		int errnum = errno;
		close(fd);
		return err_errno(r->e, errnum, "%s: cannot stat", r->path);
	}
	if (S_ISDIR(sb.st_mode)) {
		close(fd);
		return err_fmt(r->e, "%s: is a directory, not a session database", r->path);
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return err_fmt(r->e, "%s: not a regular file: a session database is a file", r->path);
	}
	char head[100];
	ssize_t n;
	do
		n = pread(fd, head, sizeof(head), 0);
	while (n < 0 && errno == EINTR);
	int errnum = errno;
	close(fd);
	if (n < 0)
		return err_errno(r->e, errnum, "%s: cannot read", r->path);
	if (!db_file_is_sqlite(head, (size_t)n))
		return err_fmt(r->e, "%s: %s", r->path,
		               n == 0 ? "empty file, not a session database" : "not a SQLite database");
	r->rep->file_bytes = (uint64_t)sb.st_size;
	/* SQLite keeps the -wal and -shm files beside the file a symbolic link
	 * leads to; looking for them, and opening, go there too. */
	r->real = realpath(r->path, NULL);
	if (!r->real)
		r->real = xstrdup(r->path);
	/* Bytes 18 and 19, the file format write and read versions: 2 in WAL mode. */
	*wal_mode = n >= 20 && (head[18] == 2 || head[19] == 2);

	char wal[4096];
	if (snprintf(wal, sizeof(wal), "%s-wal", r->real) < (int)sizeof(wal) && stat(wal, &sb) == 0 &&
	    S_ISREG(sb.st_mode))
		r->rep->wal_bytes = (uint64_t)sb.st_size;
	return 0;
}

/* Whether `path` has a -wal file beside it (or it cannot be told). */
static bool db_has_wal(const char *path)
{
	char wal[4096];
	if (snprintf(wal, sizeof(wal), "%s-wal", path) >= (int)sizeof(wal))
		return true;
	return access(wal, F_OK) == 0 || errno != ENOENT;
}

/* A "file:" URI that names `path` with `query` appended, every byte but
 * letters, digits and "/._~-" percent-encoded. The caller frees it. */
static char *db_file_uri(const char *path, const char *query)
{
	size_t len = strlen(path);
	char *uri = xmalloc(sizeof("file://") + 3 * len + strlen(query) + 1);
	char *o = uri;
	/* An absolute path gets an empty authority ("file:///a"), so that a path
	 * starting with "//" is not read as a host name. */
	o += sprintf(o, "%s", path[0] == '/' ? "file://" : "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("/._~-", *p))
			*o++ = (char)*p;
		else
			o += sprintf(o, "%%%02X", *p);
	}
	strcpy(o, query);
	return uri;
}

/* Opens `name` read-only (as a URI when `uri`) with the settings for
 * untrusted files. The database handle, or NULL with r->e filled. */
static struct sqlite3 *db_open_readonly(struct db_reader *r, const char *name, bool uri)
{
	struct sqlite3 *db = NULL;
	/* NOMUTEX: the connection is this thread's alone, and a mutex around each
	 * column read would cost a quarter of the load. */
	int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | (uri ? SQLITE_OPEN_URI : 0);
	if (sqlite3_open_v2(name, &db, flags, NULL) != SQLITE_OK) {
		err_fmt(r->e, "%s: cannot open: %s", r->path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, (int *)NULL);
	/* A live writer may hold the WAL index briefly (recovery, checkpoint). */
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* Opens r->real into r->db and starts the read transaction that every query
 * of the load runs in. A WAL database with no -wal file beside it has no
 * writer (a writer in WAL mode keeps that file while it has the database
 * open, and tstop writes every session to a new file), so it is opened as
 * immutable: SQLite then needs no -shm file, which it could not create in a
 * directory we cannot write, and which a read-only connection would leave
 * behind beside the database otherwise. 0, or -1 with r->e filled. */
static int db_open(struct db_reader *r, bool wal_mode)
{
	if (wal_mode && !db_has_wal(r->real)) {
		char *uri = db_file_uri(r->real, "?immutable=1");
		r->db = db_open_readonly(r, uri, true);
		free(uri);
		r->rep->immutable = true;
	} else {
		r->db = db_open_readonly(r, r->real, false);
	}
	if (!r->db)
		return -1;
	/* The first read takes the snapshot the whole load sees. */
	if (sqlite3_exec(r->db, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK)
		return db_sql_error(r, "the database");
	return 0;
}

/* Loads every table of the open database into r->s. 0, or -1 with r->e
 * filled. */
static int db_load(struct db_reader *r)
{
	struct err inner = {{0}};
	if (db_schema_check(r->db, &inner) < 0)
		return err_fmt(r->e, "%s: %s", r->path, inner.msg);
	struct sqlite3_stmt *st = db_prepare(r, "PRAGMA user_version", "the schema version");
	if (!st)
		return -1;
	if (db_step(r, st, "the schema version") > 0)
		r->rep->schema_version = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);

	if (db_load_strings(r) < 0 || db_load_frames(r) < 0 || db_load_stacks(r) < 0 ||
	    db_load_tracks(r) < 0 || db_load_launches(r) < 0 || db_load_nvtx_attrs(r) < 0 ||
	    db_load_memops(r) < 0 || db_load_processes(r) < 0 || db_load_devices(r) < 0 ||
	    db_load_meta(r) < 0 || db_load_losses(r) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(db_event_tables) / sizeof(db_event_tables[0]); i++)
		if (db_load_events(r, &db_event_tables[i]) < 0)
			return -1;
	return 0;
}

/* Loads the database at `path` into a new session; see db.h. */
struct trace_session *db_read_session(const char *path, struct db_read_report *rep, struct err *e)
{
	struct db_read_report local;
	struct db_reader r = {.rep = rep ? rep : &local, .path = path, .e = e};
	memset(r.rep, 0, sizeof(*r.rep));
	r.rep->incomplete = true; /* until the marker is read */
	bool wal_mode = false;
	int rc = db_sniff(&r, &wal_mode);
	if (rc == 0)
		rc = db_open(&r, wal_mode);
	if (rc == 0) {
		r.s = trace_session_new();
		rc = db_load(&r);
		/* Ends the read transaction; nothing was written. */
		sqlite3_exec(r.db, "COMMIT", NULL, NULL, NULL);
	}
	sqlite3_close(r.db);
	free(r.real);
	if (rc < 0) {
		trace_session_delete(r.s);
		return NULL;
	}
	trace_session_finish(r.s);
	return r.s;
}
