/*
 * db_schema.c - the tables and indexes of the session database (see db.h and
 * docs/schema.md, which documents every column).
 *
 * The tables mirror the event model (trace/event.h, trace/session.h): one
 * table per event kind with the columns every event has (start, end, track,
 * name, correlation, flags) and that kind's own; one table per side table
 * of the session (launch configurations, NVTX attributes, memory operations)
 * keyed by the session's id; and the session's strings, frames, stacks,
 * tracks, processes, devices, metadata and lost-event totals. Processes,
 * devices, metadata and losses are rowid tables with a unique key, updated in
 * place (an upsert), so that their rowids keep the order in which the session
 * first learnt each one, the order readers restore. The process table is
 * target_processes because nsys's PROCESSES view takes the name `processes`
 * (SQLite names ignore case). Enumerations are
 * stored as their numbers (CUPTI's values, as the model keeps them) with a
 * name table beside each, so that nsys-compatible views can use them as nsys
 * does.
 *
 * Changing any of this is a new DB_SCHEMA_VERSION.
 */
#include "store/db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static const char db_schema_tables[] =
    "CREATE TABLE meta (\n"
    "  key   TEXT NOT NULL UNIQUE,\n"
    "  value TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE strings (\n"
    "  id         INTEGER PRIMARY KEY,\n"
    "  value      TEXT NOT NULL,\n" /* the bytes as captured (may be mangled) */
    "  demangled  TEXT,\n"          /* demangled C++ name, NULL when not mangled */
    "  short_name TEXT\n"           /* function name only, NULL when the same as value */
    ");\n"
    "CREATE TABLE frames (\n"
    "  id       INTEGER PRIMARY KEY,\n"
    "  pc       INTEGER NOT NULL,\n"
    "  offset   INTEGER NOT NULL,\n"
    "  function INTEGER NOT NULL,\n" /* strings.id, 0 = unknown */
    "  module   INTEGER NOT NULL,\n"
    "  file     INTEGER NOT NULL,\n"
    "  line     INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE stack_frames (\n"
    "  stack INTEGER NOT NULL,\n"
    "  depth INTEGER NOT NULL,\n" /* 0 = innermost */
    "  frame INTEGER NOT NULL,\n"
    "  PRIMARY KEY (stack, depth)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE target_processes (\n"
    "  pid     INTEGER NOT NULL UNIQUE,\n"
    "  ppid    INTEGER NOT NULL,\n"
    "  command INTEGER NOT NULL,\n"
    "  start   INTEGER NOT NULL,\n"
    "  end     INTEGER NOT NULL,\n"
    "  state   INTEGER NOT NULL,\n" /* enum_process_state.id */
    "  status  INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE devices (\n"
    "  id                    INTEGER NOT NULL UNIQUE,\n"
    "  api                   INTEGER NOT NULL,\n" /* enum_device_api.id */
    "  name                  INTEGER NOT NULL,\n"
    "  uuid                  BLOB,\n"
    "  cc_major              INTEGER NOT NULL,\n"
    "  cc_minor              INTEGER NOT NULL,\n"
    "  sm_count              INTEGER NOT NULL,\n"
    "  global_memory         INTEGER NOT NULL,\n"
    "  warp_size             INTEGER NOT NULL,\n"
    "  max_threads_per_block INTEGER NOT NULL,\n"
    "  max_threads_per_sm    INTEGER NOT NULL,\n"
    "  max_blocks_per_sm     INTEGER NOT NULL,\n"
    "  regs_per_block        INTEGER NOT NULL,\n"
    "  regs_per_sm           INTEGER NOT NULL,\n"
    "  smem_per_block        INTEGER NOT NULL,\n"
    "  smem_per_sm           INTEGER NOT NULL,\n"
    "  core_clock_khz        INTEGER NOT NULL,\n"
    "  memory_clock_khz      INTEGER NOT NULL,\n"
    "  memory_bus_width      INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE tracks (\n"
    "  id      INTEGER PRIMARY KEY,\n"
    "  kind    INTEGER NOT NULL,\n" /* enum_track_kind.id */
    "  pid     INTEGER NOT NULL,\n"
    "  tid     INTEGER NOT NULL,\n"
    "  device  INTEGER NOT NULL,\n"
    "  context INTEGER NOT NULL,\n"
    "  stream  INTEGER NOT NULL,\n"
    "  name    INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE launches (\n"
    "  id           INTEGER PRIMARY KEY,\n"
    "  grid_x       INTEGER NOT NULL, grid_y INTEGER NOT NULL, grid_z INTEGER NOT NULL,\n"
    "  block_x      INTEGER NOT NULL, block_y INTEGER NOT NULL, block_z INTEGER NOT NULL,\n"
    "  registers    INTEGER NOT NULL,\n"
    "  static_smem  INTEGER NOT NULL,\n"
    "  dynamic_smem INTEGER NOT NULL,\n"
    "  cluster_x    INTEGER NOT NULL, cluster_y INTEGER NOT NULL, cluster_z INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE nvtx_attrs (\n"
    "  id           INTEGER PRIMARY KEY,\n"
    "  domain       INTEGER NOT NULL,\n" /* strings.id of the domain name, 0 = default */
    "  category     INTEGER NOT NULL,\n"
    "  color        INTEGER,\n"          /* ARGB, NULL = none */
    "  payload_type INTEGER NOT NULL,\n" /* enum_nvtx_payload.id */
    "  payload      INTEGER NOT NULL\n"  /* raw bits (IEEE bits for floating types) */
    ");\n"
    "CREATE TABLE memory_ops (\n"
    "  id       INTEGER PRIMARY KEY,\n"
    "  address  INTEGER NOT NULL,\n"
    "  bytes    INTEGER NOT NULL,\n"
    "  device   INTEGER NOT NULL,\n"
    "  mem_kind INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE losses (\n"
    "  pid    INTEGER NOT NULL,\n"
    "  source INTEGER NOT NULL,\n"
    "  count  INTEGER NOT NULL,\n"
    "  UNIQUE (pid, source)\n"
    ");\n"
    /* Events: one table per kind. */
    "CREATE TABLE kernels (\n"
    "  start INTEGER NOT NULL, end INTEGER NOT NULL, track INTEGER NOT NULL, name INTEGER NOT NULL,\n"
    "  correlation INTEGER NOT NULL, flags INTEGER NOT NULL,\n"
    "  launch INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE memcpys (\n"
    "  start INTEGER NOT NULL, end INTEGER NOT NULL, track INTEGER NOT NULL, name INTEGER NOT NULL,\n"
    "  correlation INTEGER NOT NULL, flags INTEGER NOT NULL,\n"
    "  bytes INTEGER NOT NULL, copy_kind INTEGER NOT NULL, src_kind INTEGER NOT NULL,\n"
    "  dst_kind INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE memsets (\n"
    "  start INTEGER NOT NULL, end INTEGER NOT NULL, track INTEGER NOT NULL, name INTEGER NOT NULL,\n"
    "  correlation INTEGER NOT NULL, flags INTEGER NOT NULL,\n"
    "  bytes INTEGER NOT NULL, mem_kind INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE syncs (\n"
    "  start INTEGER NOT NULL, end INTEGER NOT NULL, track INTEGER NOT NULL, name INTEGER NOT NULL,\n"
    "  correlation INTEGER NOT NULL, flags INTEGER NOT NULL,\n"
    "  sync_kind INTEGER NOT NULL, event INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE api_calls (\n"
    "  start INTEGER NOT NULL, end INTEGER NOT NULL, track INTEGER NOT NULL, name INTEGER NOT NULL,\n"
    "  correlation INTEGER NOT NULL, flags INTEGER NOT NULL,\n"
    "  domain INTEGER NOT NULL, cbid INTEGER NOT NULL, result INTEGER NOT NULL, stack INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE nvtx_ranges (\n"
    "  start INTEGER NOT NULL, end INTEGER NOT NULL, track INTEGER NOT NULL, name INTEGER NOT NULL,\n"
    "  correlation INTEGER NOT NULL, flags INTEGER NOT NULL,\n"
    "  attr INTEGER NOT NULL, stack INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE nvtx_marks (\n"
    "  start INTEGER NOT NULL, end INTEGER NOT NULL, track INTEGER NOT NULL, name INTEGER NOT NULL,\n"
    "  correlation INTEGER NOT NULL, flags INTEGER NOT NULL,\n"
    "  attr INTEGER NOT NULL, stack INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE memory_events (\n"
    "  start INTEGER NOT NULL, end INTEGER NOT NULL, track INTEGER NOT NULL, name INTEGER NOT NULL,\n"
    "  correlation INTEGER NOT NULL, flags INTEGER NOT NULL,\n"
    "  kind INTEGER NOT NULL,\n" /* 8 = allocation, 9 = release (enum_event_kind) */
    "  op INTEGER NOT NULL\n"    /* memory_ops.id */
    ");\n"
    "CREATE TABLE counters (\n"
    "  start INTEGER NOT NULL, end INTEGER NOT NULL, track INTEGER NOT NULL, name INTEGER NOT NULL,\n"
    "  correlation INTEGER NOT NULL, flags INTEGER NOT NULL,\n"
    "  value NUMERIC NOT NULL\n" /* INTEGER, or REAL when flags has TRACE_FLAG_COUNTER_DOUBLE */
    ");\n"
    "CREATE TABLE lost_ranges (\n"
    "  start INTEGER NOT NULL, end INTEGER NOT NULL, track INTEGER NOT NULL, name INTEGER NOT NULL,\n"
    "  correlation INTEGER NOT NULL, flags INTEGER NOT NULL,\n"
    "  count INTEGER NOT NULL\n"
    ");\n"
    /* Names of the enumerations the tables store as numbers. */
    "CREATE TABLE enum_event_kind (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
    "CREATE TABLE enum_copy_kind (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
    "CREATE TABLE enum_mem_kind (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
    "CREATE TABLE enum_sync_kind (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
    "CREATE TABLE enum_api_domain (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
    "CREATE TABLE enum_track_kind (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
    "CREATE TABLE enum_process_state (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
    "CREATE TABLE enum_device_api (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
    "CREATE TABLE enum_nvtx_payload (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n";

/* Indexes. The writer creates them with the tables and every insert keeps
 * them up to date, so that the database is indexed the moment the capture
 * ends (db.h). That rules out what an index would cost at insert, measured
 * by bench/bench_db (2-core box, SQLite 3.40, per row and index):
 *   - built at close, an index costs ~0.67 us per row (a table scan and a
 *     sort), on the critical path: ~2.5 s per index of 3.8 M kernels;
 *   - kept up to date while inserting, ~0.4-0.55 us per row when its key
 *     grows with arrival (start times, correlation ids: an insert at the
 *     right edge of the B-tree), ~1.2 us when it does not (a name: one
 *     insertion point per distinct name, half-full pages); a row without
 *     an index costs ~0.45 us.
 * So only keys that grow with arrival are indexed, and only where a query
 * needs them:
 *   - by time (`start`): time-window selection and ORDER BY start on the
 *     tables that hold intervals people select by time;
 *   - by correlation on api_calls alone: a join of GPU work to its API call
 *     (kernels, memcpys, memsets: `a.correlation = k.correlation`) loops over
 *     the GPU table and looks the call up, so one side indexed suffices;
 *   - no name index: a summary groups a whole table (a scan and a sort,
 *     which an index would not spare) and a name index is a random insert.
 * An event table is a rowid table: rowid is the order of arrival, which a
 * WITHOUT ROWID table clustered on (start, tiebreak) would not keep, and
 * which measured no cheaper (~0.8-0.9 us per row either way, the clustered
 * table's other indexes then carrying a two-column key). */
static const char db_schema_indexes[] =
    "CREATE INDEX IF NOT EXISTS kernels_start ON kernels(start);\n"
    "CREATE INDEX IF NOT EXISTS memcpys_start ON memcpys(start);\n"
    "CREATE INDEX IF NOT EXISTS memsets_start ON memsets(start);\n"
    "CREATE INDEX IF NOT EXISTS syncs_start ON syncs(start);\n"
    "CREATE INDEX IF NOT EXISTS api_calls_start ON api_calls(start);\n"
    "CREATE INDEX IF NOT EXISTS api_calls_correlation ON api_calls(correlation);\n"
    "CREATE INDEX IF NOT EXISTS nvtx_ranges_start ON nvtx_ranges(start);\n";

/* One row of an enumeration's name table. */
struct db_enum_row {
	const char *table;
	int id;
	const char *name;
};

/* The names of every enumeration the tables store, as trace/session.h's
 * *_name functions spell them. */
static const struct db_enum_row db_enum_rows[] = {
    {"enum_event_kind", TRACE_KERNEL, "kernel"},
    {"enum_event_kind", TRACE_MEMCPY, "memcpy"},
    {"enum_event_kind", TRACE_MEMSET, "memset"},
    {"enum_event_kind", TRACE_SYNC, "sync"},
    {"enum_event_kind", TRACE_API, "api"},
    {"enum_event_kind", TRACE_NVTX_RANGE, "nvtx_range"},
    {"enum_event_kind", TRACE_NVTX_MARK, "nvtx_mark"},
    {"enum_event_kind", TRACE_MEM_ALLOC, "mem_alloc"},
    {"enum_event_kind", TRACE_MEM_FREE, "mem_free"},
    {"enum_event_kind", TRACE_COUNTER, "counter"},
    {"enum_event_kind", TRACE_LOST, "lost"},
    {"enum_process_state", TRACE_PROC_RUNNING, "running"},
    {"enum_process_state", TRACE_PROC_EXITED, "exited"},
    {"enum_process_state", TRACE_PROC_SIGNALED, "signaled"},
    {"enum_process_state", TRACE_PROC_DETACHED, "detached"},
    {"enum_process_state", TRACE_PROC_ENDED, "ended"},
    {"enum_device_api", TRACE_DEVICE_CUDA, "cuda"},
    {"enum_device_api", TRACE_DEVICE_OPENCL, "opencl"},
    {"enum_nvtx_payload", TRACE_NVTX_PAYLOAD_NONE, "none"},
    {"enum_nvtx_payload", TRACE_NVTX_PAYLOAD_U64, "uint64"},
    {"enum_nvtx_payload", TRACE_NVTX_PAYLOAD_I64, "int64"},
    {"enum_nvtx_payload", TRACE_NVTX_PAYLOAD_DOUBLE, "double"},
    {"enum_nvtx_payload", TRACE_NVTX_PAYLOAD_U32, "uint32"},
    {"enum_nvtx_payload", TRACE_NVTX_PAYLOAD_I32, "int32"},
    {"enum_nvtx_payload", TRACE_NVTX_PAYLOAD_FLOAT, "float"},
};

/* Runs `sql` (several statements) on `db`; 0, or -1 with `e` naming `what`. */
static int db_exec(struct sqlite3 *db, const char *sql, const char *what, struct err *e)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_fmt(e, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Inserts (id, name) into enumeration table `table`. 0, or -1 with `e`. */
static int db_enum_insert(struct sqlite3 *db, const char *table, int id, const char *name, struct err *e)
{
	char *sql = sqlite3_mprintf("INSERT INTO %s(id, name) VALUES (%d, %Q)", table, id, name);
	if (!sql)
		return err_fmt(e, "out of memory");
	int rc = db_exec(db, sql, "filling the enumeration tables", e);
	sqlite3_free(sql);
	return rc;
}

/* Fills the enumeration tables from the model's own name functions (for the
 * kinds that have one) and db_enum_rows. 0, or -1 with `e`. */
static int db_enum_fill(struct sqlite3 *db, struct err *e)
{
	for (unsigned v = 0; v <= TRACE_COPY_KIND_MAX; v++)
		if (db_enum_insert(db, "enum_copy_kind", (int)v, trace_copy_kind_name(v), e) < 0)
			return -1;
	for (unsigned v = 0; v <= TRACE_MEM_KIND_MAX; v++)
		if (db_enum_insert(db, "enum_mem_kind", (int)v, trace_mem_kind_name(v), e) < 0)
			return -1;
	for (unsigned v = 0; v <= TRACE_SYNC_KIND_MAX; v++)
		if (db_enum_insert(db, "enum_sync_kind", (int)v, trace_sync_kind_name(v), e) < 0)
			return -1;
	for (unsigned v = 0; v <= TRACE_API_DOMAIN_MAX; v++)
		if (db_enum_insert(db, "enum_api_domain", (int)v, trace_api_domain_name(v), e) < 0)
			return -1;
	for (unsigned v = 1; v <= TRACE_TRACK_KIND_MAX; v++)
		if (db_enum_insert(db, "enum_track_kind", (int)v, trace_track_kind_name(v), e) < 0)
			return -1;
	for (size_t i = 0; i < sizeof(db_enum_rows) / sizeof(db_enum_rows[0]); i++) {
		const struct db_enum_row *r = &db_enum_rows[i];
		if (db_enum_insert(db, r->table, r->id, r->name, e) < 0)
			return -1;
	}
	return 0;
}

/* Creates the schema in an empty database; see db.h. Runs in one
 * transaction, so a failure leaves the database empty. */
int db_schema_create(struct sqlite3 *db, struct err *e)
{
	char pragmas[128];
	snprintf(pragmas, sizeof(pragmas), "PRAGMA application_id = %d; PRAGMA user_version = %d;",
	         (int)DB_APPLICATION_ID, DB_SCHEMA_VERSION);
	if (db_exec(db, "BEGIN", "creating the schema", e) < 0)
		return -1;
	if (db_exec(db, pragmas, "creating the schema", e) < 0 ||
	    db_exec(db, db_schema_tables, "creating the tables", e) < 0 || db_enum_fill(db, e) < 0 ||
	    db_views_create(db, e) < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return db_exec(db, "COMMIT", "creating the schema", e);
}

/* Creates the indexes; see db.h and db_schema_indexes. */
int db_schema_create_indexes(struct sqlite3 *db, struct err *e)
{
	return db_exec(db, db_schema_indexes, "creating the indexes", e);
}

/* Reads one integer PRAGMA of `db` into *out. 0, or -1 with `e`. */
static int db_pragma_int(struct sqlite3 *db, const char *pragma, int64_t *out, struct err *e)
{
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA %s", pragma);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return err_fmt(e, "not a readable SQLite database: %s", sqlite3_errmsg(db));
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err_fmt(e, "not a readable SQLite database: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/* Checks the application id and schema version; see db.h. */
int db_schema_check(struct sqlite3 *db, struct err *e)
{
	int64_t app = 0, version = 0;
	if (db_pragma_int(db, "application_id", &app, e) < 0 ||
	    db_pragma_int(db, "user_version", &version, e) < 0)
		return -1;
	if (app != DB_APPLICATION_ID) {
		sqlite3_stmt *st = NULL;
		int nsys =
		    sqlite3_prepare_v2(
		        db, "SELECT 1 FROM sqlite_master WHERE name = 'TARGET_INFO_SESSION_START_TIME'", -1,
		        &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
		if (nsys)
			return err_fmt(e, "this is an Nsight Systems export, not a tstop session database "
			                  "(query it with sqlite3, or `tstop sql`)");
		return err_fmt(e, "not a tstop session database (SQLite application id 0x%08llx)",
		               (unsigned long long)(uint32_t)app);
	}
	if (version > DB_SCHEMA_VERSION)
		return err_fmt(e,
		               "session database schema version %lld is newer than this tstop reads (%d): "
		               "use a newer tstop, or rebuild the database from the SBT with `tstop db`",
		               (long long)version, DB_SCHEMA_VERSION);
	if (version < 1)
		return err_fmt(e,
		               "session database has no schema version: it was not finished being created");
	return 0;
}

/* Whether `head` starts with SQLite's 16-byte file magic; see db.h. */
bool db_file_is_sqlite(const void *head, size_t n)
{
	static const char magic[16] = "SQLite format 3";
	return n >= sizeof(magic) && memcmp(head, magic, sizeof(magic)) == 0;
}
