/*
 * db.h - the session database: a SQLite file beside the SBT that holds every
 * event of a session in queryable tables (schema in docs/schema.md).
 *
 * Three parts share this header:
 *   - the schema (db_schema.c, db_views.c): the tables, the summary views
 *     that return what `tstop stats` reports, the nsys-compatible views, and
 *     the indexes, created with the tables and kept up to date by every
 *     insert, so that the database is indexed the moment a capture ends;
 *   - the writer (db_write.c): a capture sink (capture/sink.h) whose inserts
 *     run on a thread of their own, in batched transactions, in WAL mode, so
 *     that readers see every committed batch while a capture runs; the same
 *     writer builds a database from a loaded session (`tstop db`);
 *   - the reader (db_read.c): loads a tstop database back into a session, so
 *     that every command that reads sessions accepts either file.
 *
 * A tstop database is recognised by its application id (PRAGMA
 * application_id = DB_APPLICATION_ID); its schema version is PRAGMA
 * user_version. Readers refuse a newer version with a clear message.
 *
 * Ids in the database are the session's ids (strings, frames, stacks, tracks,
 * launch configurations, NVTX attributes, memory operations), so an event
 * table's `name` or `track` column joins the table of that id directly.
 * Times are nanoseconds on the session clock.
 */
#ifndef TSTOP_STORE_DB_H
#define TSTOP_STORE_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "trace/session.h"
#include "util/err.h"

struct sqlite3;
struct capture_sink;

/* "TSTP": PRAGMA application_id of every tstop session database. */
#define DB_APPLICATION_ID 0x54535450
/* PRAGMA user_version of the schema this code writes and reads. */
#define DB_SCHEMA_VERSION 1

/* Offsets that place derived strings in StringIds beside the session's own
 * ids: a string's demangled form has id + DB_DEMANGLED_ID_BASE, its short
 * name (the function name without scope, template arguments or parameters,
 * nsys's shortName) id + DB_SHORT_NAME_ID_BASE. */
#define DB_DEMANGLED_ID_BASE  (INT64_C(1) << 32)
#define DB_SHORT_NAME_ID_BASE (INT64_C(2) << 32)

/* --- schema (db_schema.c, db_views.c) ---------------------------------------- */

/* Creates the tables and views of DB_SCHEMA_VERSION and sets the application
 * id and version in the open, empty database `db`. Returns 0, or -1 with `e`
 * filled. */
int db_schema_create(struct sqlite3 *db, struct err *e);

/* Creates the views (summary and nsys-compatible) in `db`, whose tables exist.
 * Called by db_schema_create. Returns 0, or -1 with `e` filled. */
int db_views_create(struct sqlite3 *db, struct err *e);

/* Creates the indexes that make the common queries fast (by time, and by
 * correlation id for joins to API calls; db_schema.c says which and why).
 * Idempotent. Returns 0, or -1 with `e` filled. */
int db_schema_create_indexes(struct sqlite3 *db, struct err *e);

/* Checks that `db` is a tstop session database this code can read: 0, or -1
 * with `e` saying what it is instead (not a tstop database, such as an nsys
 * export; a newer schema version and which tstop it needs). */
int db_schema_check(struct sqlite3 *db, struct err *e);

/* Whether the first bytes of a file, `head` (`n` of them), are those of a
 * SQLite database. */
bool db_file_is_sqlite(const void *head, size_t n);

/* --- writer (db_write.c) ------------------------------------------------------ */

struct db_sink_options {
	/* Rows (events and definitions) per transaction; 0 = the default
	 * (65536). A flush of the sink commits whatever is pending whatever
	 * its size. */
	uint32_t batch_events;
	/* Create the indexes at close instead of with the tables: inserts are
	 * quicker, but close then builds every index over every row (seconds
	 * per million events), so that the database is not complete when the
	 * capture ends. For measurements (bench/bench_db). */
	bool indexes_at_close;
	/* The queue's budget: bytes of received rows not yet committed; 0 =
	 * the default (256 MiB, about 4 M events). */
	size_t queue_bytes;
	/* When the budget is spent: true, the feeder waits until the writer
	 * has made room (db_write_session); false, the sink fails with "fell
	 * behind the capture", so that a live capture's drain never waits on
	 * the database and goes on into the SBT. */
	bool wait_when_full;
};

/* The meta key the writer sets to '1' in its last transaction, at close: a
 * database without it is not finished (still being written, or its capture
 * or `tstop db` was interrupted). Never stored from a session's metadata. */
#define DB_META_COMPLETE "db_complete"

/* Opens a database sink that creates `path` (which must not exist, or is
 * replaced when `replace` is true), creates the schema and starts the writer
 * thread. The file keeps its name from the start, since readers watch it
 * while a capture runs; with `replace`, a new empty file is renamed over the
 * old database, which is therefore lost only once the new file exists.
 * What the sink receives is copied and queued; the thread inserts it in
 * transactions of opts->batch_events events, and commits at every flush;
 * it waits 5 s for another client's lock, and retries a batch
 * that still meets SQLITE_BUSY. The queue is bounded by opts->queue_bytes
 * (see there). Close waits until the writer has caught up, writes the
 * DB_META_COMPLETE marker, updates the planner's statistics and checkpoints
 * the WAL. NULL with `e` filled when the file cannot be created. */
struct capture_sink *capture_db_sink_open(const char *path, bool replace, const struct db_sink_options *opts,
                                          struct err *e);

/* Counters of a database sink, for progress lines and benchmarks. */
struct db_sink_stats {
	uint64_t events_queued;    /* events received by the sink */
	uint64_t events_committed; /* events in committed transactions */
	uint64_t transactions;     /* transactions committed */
};

/* The counters of database sink `k` (from capture_db_sink_open); safe to call
 * from the thread that feeds the sink while the writer runs. */
void capture_db_sink_stats(const struct capture_sink *k, struct db_sink_stats *out);

/* Called with the number of events written so far and the total, while a
 * database is built from a session; returns false to stop the build (it then
 * fails with "interrupted"). Also called once after the database is
 * finished, before it takes its name, with done == total. */
typedef bool (*db_progress_fn)(void *arg, uint64_t done, uint64_t total);

/* Writes the whole finished session `s` to a new database at `path` (replaced
 * when `replace`), with its indexes: what `tstop db` does. The database is
 * written as PATH.tmp-XXXXXX in the same directory and renamed to `path`
 * only when finished, so that an existing database stays whole until then.
 * `progress` (may be NULL) is called now and then. Returns 0, or -1 with
 * `e` filled; on failure the temporary files are removed and `path` is
 * untouched. */
int db_write_session(struct trace_session *s, const char *path, bool replace, db_progress_fn progress,
                     void *progress_arg, struct err *e);

/* --- reader (db_read.c) -------------------------------------------------------- */

/* The tables whose malformed rows the reader skips (and counts) rather than
 * refusing the database: everything but the id tables (strings, frames,
 * stacks, tracks, launches, NVTX attributes, memory operations), whose ids
 * events refer to and which must therefore be whole. */
enum db_read_table {
	DB_READ_PROCESSES,
	DB_READ_DEVICES,
	DB_READ_META,
	DB_READ_LOSSES,
	DB_READ_KERNELS,
	DB_READ_MEMCPYS,
	DB_READ_MEMSETS,
	DB_READ_SYNCS,
	DB_READ_API_CALLS,
	DB_READ_NVTX_RANGES,
	DB_READ_NVTX_MARKS,
	DB_READ_MEMORY_EVENTS,
	DB_READ_COUNTERS,
	DB_READ_LOST_RANGES,
};
#define DB_READ_TABLES 14

/* What reading a database found, for `tstop info` and for warnings. */
struct db_read_report {
	int64_t schema_version; /* PRAGMA user_version */
	uint64_t file_bytes;    /* size of the database file */
	uint64_t wal_bytes;     /* size of its -wal file (committed but not checkpointed), 0 when none */
	bool immutable;         /* opened as immutable: a finished WAL database (no -wal file) */
	bool incomplete;        /* no DB_META_COMPLETE marker: being written, or cut short */
	uint64_t events;        /* events loaded */
	uint64_t rows_skipped;  /* malformed rows skipped, all tables */
	uint64_t skipped[DB_READ_TABLES]; /* of those, per enum db_read_table */
	char first_problem[160];          /* the first skipped row and why, "" if none */
};

/* The SQL name of table `t` ("kernels"), or "?" when out of range. */
const char *db_read_table_name(unsigned t);

/* Loads the tstop session database at `path` into a new, finished session
 * (trace_session_finish has run). The caller owns it.
 *
 * The file is opened read-only and never written: a database that a live
 * capture is still writing (WAL mode) loads what its committed transactions
 * hold, in one consistent snapshot, without write access to its -shm file;
 * a finished WAL database (one with no -wal file: no writer has it open) is
 * opened as immutable, so that nothing is created beside it and a directory
 * that cannot be written is no obstacle.
 * Ids are the database's own, reproduced exactly: the id tables must be
 * dense from 1 and free of duplicates, or the database is refused as
 * damaged. A malformed row of any other table (an event on an unknown
 * track, an unknown kind, end < start, a value out of its range, a reference
 * to an id never defined) is skipped and counted in `rep` (may be NULL).
 * Processes, devices, metadata pairs and losses come back in the order of
 * their keys (pid, device id, key, (pid, source)): the tables key them and
 * keep no order of arrival. O(rows); about 2 M events/s of one core.
 *
 * NULL with `e` filled, prefixed with `path`, when the file cannot be
 * opened, is not a SQLite database, is not a tstop database (an nsys export
 * is named as such), has a newer schema version, or is damaged. */
struct trace_session *db_read_session(const char *path, struct db_read_report *rep, struct err *e);

#endif
