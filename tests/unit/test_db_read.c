/*
 * test_db_read.c - the session database reader (src/store/db_read.c, db.h).
 *
 * The databases here are made by hand with SQL on top of db_schema_create,
 * independently of the writer, so that every value the reader must turn
 * back into the model is chosen by the test: every table and event kind,
 * uint64 values above INT64_MAX, negative and extreme times, integer and
 * real counters, a NULL colour, a string with quotes, a control character,
 * invalid UTF-8 and a NUL inside.
 *
 * Covers: that full database read field by field; an empty session;
 * malformed rows of every skipping table (unknown track, bad kind, end before
 * start, references to undefined ids, wrong types, values out of range)
 * skipped and counted per table while the sound rows load; damaged id tables
 * (gaps, duplicates, bad stack depths) refused; files that are not databases
 * (text, empty, truncated, a directory, missing); SQLite databases that are
 * not tstop's (a plain one, the nsys exports of ../shared/testdata when they
 * are there), a newer and a missing schema version; a database being written
 * live in WAL mode, read by a process that cannot write its -shm file (only
 * committed batches seen), also through a symbolic link from another
 * directory; a finished WAL database in a directory the reader cannot write
 * (opened as immutable); a writer killed mid-run (every committed batch
 * loads, even for a reader that cannot write the -shm file it left); the
 * reader leaving no file behind and no byte changed; file names that need
 * escaping in a URI; and seeded random corruption of a database's pages
 * (loaded or refused, never a crash).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/db.h"
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

/* Runs `sql` on `db`, failing the test on an error. */
static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("SQL failed: %s\n%s", msg ? msg : "?", sql);
	sqlite3_free(msg);
}

/* Creates a new database at `path` (removing an old one) with the schema. */
static sqlite3 *db_new(const char *path)
{
	unlink(path);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
	                 SQLITE_OK);
	struct err e = {{0}};
	if (db_schema_create(db, &e) < 0)
		fail_msg("db_schema_create: %s", e.msg);
	return db;
}

/* Inserts string `id` with `len` bytes (any bytes) into `db`. */
static void add_string(sqlite3 *db, int64_t id, const char *bytes, size_t len)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(
	    sqlite3_prepare_v2(db, "INSERT INTO strings(id, value) VALUES (?, ?)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, bytes, (int)len, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* Loads `path`, failing the test with the reader's message when it refuses. */
static struct trace_session *load_ok(const char *path, struct db_read_report *rep)
{
	struct err e = {{0}};
	struct trace_session *s = db_read_session(path, rep, &e);
	if (!s)
		fail_msg("db_read_session(%s): %s", path, e.msg);
	return s;
}

/* Loads `path`, which must be refused with a message containing `want`. */
static void load_refused(const char *path, const char *want)
{
	struct err e = {{0}};
	struct db_read_report rep;
	struct trace_session *s = db_read_session(path, &rep, &e);
	if (s) {
		trace_session_delete(s);
		fail_msg("%s loaded; expected a refusal with '%s'", path, want);
	}
	if (!strstr(e.msg, want))
		fail_msg("message '%s' lacks '%s'", e.msg, want);
	/* Every message names the file. */
	assert_non_null(strstr(e.msg, path));
}

/* The events of track `id`, which must hold `n`. */
static const struct trace_event *track_events(const struct trace_session *s, uint32_t id, size_t n)
{
	size_t got;
	const struct trace_event *ev = trace_session_track_events(s, id, &got);
	assert_int_equal(got, n);
	return ev;
}

/* The events of track `id` of kind `kind`, copied into out[0 .. max). */
static size_t events_of_kind(const struct trace_session *s, uint32_t track, unsigned kind,
                             struct trace_event *out, size_t max)
{
	size_t n, k = 0;
	const struct trace_event *ev = trace_session_track_events(s, track, &n);
	for (size_t i = 0; i < n; i++)
		if (ev[i].kind == kind && k < max)
			out[k++] = ev[i];
	return k;
}

/* --- a database with every table filled -------------------------------------- */

static const char weird[] = "q\"uo'te\x01\xff\xfe\0after NUL";
#define WEIRD_LEN (sizeof(weird) - 1)

/* The ids of the strings add_everything inserts. */
enum {
	S_KERNEL = 1,
	S_LAUNCH,
	S_STEP,
	S_MEM,
	S_WEIRD,
	S_RING,
	S_COMMAND,
	S_GPU,
	S_LIBCUDA,
	S_MAIN,
	S_DOMAIN,
	S_THREAD,
	S_MEMCPY,
	S_TEMP,
	S_COUNT
};

/* Fills an empty database with every table: one row at least of each, with
 * the awkward values listed in the file comment. Tracks: 1 thread, 2
 * stream, 3 integer counter, 4 process, 5 real counter. */
static void add_everything(sqlite3 *db)
{
	static const char *const plain[] = {
	    [S_KERNEL] = "_Z6kernelPfi", [S_LAUNCH] = "cudaLaunchKernel",
	    [S_STEP] = "step",           [S_MEM] = "device memory",
	    [S_RING] = "ring",           [S_COMMAND] = "python3 train.py",
	    [S_GPU] = "NVIDIA H100",     [S_LIBCUDA] = "/usr/lib/libcuda.so",
	    [S_MAIN] = "main",           [S_DOMAIN] = "my domain",
	    [S_THREAD] = "worker 0",     [S_MEMCPY] = "[CUDA memcpy HtoD]",
	    [S_TEMP] = "temperature",
	};
	exec(db, "BEGIN");
	add_string(db, 0, "", 0); /* a writer may or may not store the empty string */
	for (int i = 1; i < S_COUNT; i++) {
		if (i == S_WEIRD)
			add_string(db, i, weird, WEIRD_LEN);
		else
			add_string(db, i, plain[i], strlen(plain[i]));
	}
	exec(db,
	     /* frames: pc above INT64_MAX stored as its int64 bits */
	     "INSERT INTO frames VALUES (1, -4294967296, 16, 10, 9, 0, 0);"
	     "INSERT INTO frames VALUES (2, 4096, 0, 0, 9, 5, 77);"
	     "INSERT INTO stack_frames VALUES (1, 0, 1), (1, 1, 2), (2, 0, 2);"
	     "INSERT INTO tracks VALUES (1, 1, 100, 101, 0, 0, 0, 12);"
	     "INSERT INTO tracks VALUES (2, 2, 100, 0, 0, 1, 7, 0);"
	     "INSERT INTO tracks VALUES (3, 3, 100, 0, 0, 0, 0, 4);"
	     "INSERT INTO tracks VALUES (4, 4, 100, 0, 0, 0, 0, 0);"
	     "INSERT INTO tracks VALUES (5, 3, 100, 0, 0, 0, 0, 14);"
	     "INSERT INTO launches VALUES (1, 4, 2, 1, 256, 1, 1, 32, 0, 1024, 0, 0, 0);"
	     "INSERT INTO launches VALUES (2, 4294967295, 1, 1, 1, 1, 1, 255, 49152, 0, 2, 1, 1);"
	     /* payload: the bits of 2.5 */
	     "INSERT INTO nvtx_attrs VALUES (1, 11, 3, 4278255360, 3, 4612811918334230528);"
	     "INSERT INTO nvtx_attrs VALUES (2, 0, 0, NULL, 0, 0);"
	     "INSERT INTO memory_ops VALUES (1, -562949953421312, 1099511627776, 0, 3);"
	     "INSERT INTO target_processes VALUES (100, 1, 7, -5, 1000, 1, 0);"
	     "INSERT INTO target_processes VALUES (200, 100, 0, 0, 0, 2, 9);"
	     "INSERT INTO devices VALUES (0, 1, 8, x'000102030405060708090a0b0c0d0e0f', 9, 0, 132, "
	     "  -9223372036854775807, 32, 1024, 2048, 32, 65536, 65536, 49152, 233472, 1980000, 2619000, "
	     "5120);"
	     "INSERT INTO devices VALUES (1, 2, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);"
	     "INSERT INTO meta VALUES ('host', 'h1'), ('synthetic', '1'), ('zz', '');"
	     "INSERT INTO losses VALUES (100, 6, -1), (200, 6, 3);"
	     /* events */
	     "INSERT INTO kernels VALUES (-100, -50, 2, 1, 7, 0, 1);"
	     "INSERT INTO kernels VALUES (60, 70, 2, 1, 11, 128, 2);"
	     "INSERT INTO memcpys VALUES (0, 10, 2, 13, 8, 0, -9223372036854775808, 1, 1, 3);"
	     "INSERT INTO memsets VALUES (20, 30, 2, 0, 9, 0, 100, 3);"
	     "INSERT INTO syncs VALUES (40, 45, 2, 0, 0, 0, 3, 5);"
	     "INSERT INTO api_calls VALUES (-200, -10, 1, 2, 7, 129, 1, 211, -3, 1);"
	     "INSERT INTO api_calls VALUES (-8, -8, 1, 2, 11, 2, 2, 307, 0, 0);"
	     "INSERT INTO nvtx_ranges VALUES (-9223372036854775808, -9223372036854775803, 1, 3, 0, 1, 1, 2);"
	     "INSERT INTO nvtx_marks VALUES (5, 5, 1, 5, 0, 0, 2, 0);"
	     "INSERT INTO memory_events VALUES (1, 1, 1, 4, 0, 0, 8, 1);"
	     "INSERT INTO memory_events VALUES (900, 900, 1, 4, 0, 0, 9, 1);"
	     "INSERT INTO counters VALUES (1, 1, 3, 4, 0, 0, -7);"
	     "INSERT INTO counters VALUES (4, 4, 3, 4, 0, 0, 9223372036854775807);"
	     "INSERT INTO counters VALUES (2, 2, 5, 14, 0, 1, 2.5);"
	     "INSERT INTO counters VALUES (3, 3, 5, 14, 0, 1, 4.0);" /* NUMERIC affinity stores 4 */
	     "INSERT INTO counters VALUES (6, 6, 5, 14, 0, 1, -1e300);"
	     "INSERT INTO counters VALUES (8, 8, 5, 14, 0, 1, 'NaN');" /* how the writer stores a NaN */
	     "INSERT INTO lost_ranges VALUES (100, 9223372036854775807, 4, 6, 0, 0, -1);"
	     "COMMIT");
}

#define EVERYTHING_EVENTS 18

/* Checks a session loaded from add_everything's database, field by field. */
static void check_everything(struct trace_session *s)
{
	/* strings */
	assert_int_equal(trace_session_string_count(s), S_COUNT);
	size_t len;
	const char *p = trace_session_string(s, S_WEIRD, &len);
	assert_int_equal(len, WEIRD_LEN);
	assert_memory_equal(p, weird, WEIRD_LEN);
	assert_string_equal(trace_session_string(s, S_KERNEL, NULL), "_Z6kernelPfi");
	assert_string_equal(trace_session_string(s, S_TEMP, NULL), "temperature");

	/* frames and stacks */
	assert_int_equal(trace_session_frame_count(s), 3);
	const struct trace_frame *f = trace_session_frame(s, 1);
	assert_non_null(f);
	assert_true(f->pc == UINT64_C(0xffffffff00000000));
	assert_int_equal(f->offset, 16);
	assert_int_equal(f->function, S_MAIN);
	assert_int_equal(f->module, S_LIBCUDA);
	f = trace_session_frame(s, 2);
	assert_int_equal(f->pc, 4096);
	assert_int_equal(f->file, S_WEIRD);
	assert_int_equal(f->line, 77);
	assert_int_equal(trace_session_stack_count(s), 3);
	uint32_t n;
	const uint32_t *fr = trace_session_stack(s, 1, &n);
	assert_int_equal(n, 2);
	assert_int_equal(fr[0], 1);
	assert_int_equal(fr[1], 2);
	fr = trace_session_stack(s, 2, &n);
	assert_int_equal(n, 1);
	assert_int_equal(fr[0], 2);

	/* tracks */
	assert_int_equal(trace_session_track_count(s), 6);
	const struct trace_track_info *t = trace_session_track_info(s, 1);
	assert_int_equal(t->kind, TRACE_TRACK_THREAD);
	assert_int_equal(t->pid, 100);
	assert_int_equal(t->tid, 101);
	assert_int_equal(t->name, S_THREAD);
	t = trace_session_track_info(s, 2);
	assert_int_equal(t->kind, TRACE_TRACK_STREAM);
	assert_int_equal(t->context, 1);
	assert_int_equal(t->stream, 7);
	assert_int_equal(trace_session_track_info(s, 3)->name, S_MEM);
	assert_int_equal(trace_session_track_info(s, 4)->kind, TRACE_TRACK_PROCESS);
	assert_int_equal(trace_session_track_info(s, 5)->name, S_TEMP);

	/* side tables */
	assert_int_equal(trace_session_launch_count(s), 3);
	const struct trace_launch *l = trace_session_launch(s, 1);
	assert_int_equal(l->grid[0], 4);
	assert_int_equal(l->grid[1], 2);
	assert_int_equal(l->block[0], 256);
	assert_int_equal(l->registers, 32);
	assert_int_equal(l->dynamic_smem, 1024);
	l = trace_session_launch(s, 2);
	assert_int_equal(l->grid[0], UINT32_MAX);
	assert_int_equal(l->static_smem, 49152);
	assert_int_equal(l->cluster[0], 2);
	assert_int_equal(trace_session_nvtx_attr_count(s), 3);
	const struct trace_nvtx_attr *a = trace_session_nvtx_attr(s, 1);
	assert_int_equal(a->domain, S_DOMAIN);
	assert_int_equal(a->category, 3);
	assert_int_equal(a->has_color, 1);
	assert_int_equal(a->color, 0xff00ff00u);
	assert_int_equal(a->payload_type, TRACE_NVTX_PAYLOAD_DOUBLE);
	double d;
	memcpy(&d, &a->payload, sizeof(d));
	assert_true(d == 2.5);
	a = trace_session_nvtx_attr(s, 2);
	assert_int_equal(a->has_color, 0);
	assert_int_equal(a->color, 0);
	assert_int_equal(trace_session_memop_count(s), 2);
	const struct trace_memop *m = trace_session_memop(s, 1);
	assert_true(m->address == UINT64_C(0xfffe000000000000));
	assert_true(m->bytes == UINT64_C(1) << 40);
	assert_int_equal(m->mem_kind, TRACE_MEM_DEVICE);

	/* processes, devices, meta, losses */
	assert_int_equal(trace_session_process_count(s), 2);
	const struct trace_process *pr = trace_session_find_process(s, 100);
	assert_non_null(pr);
	assert_int_equal(pr->ppid, 1);
	assert_int_equal(pr->command, S_COMMAND);
	assert_int_equal(pr->start, -5);
	assert_int_equal(pr->end, 1000);
	assert_int_equal(pr->state, TRACE_PROC_EXITED);
	pr = trace_session_find_process(s, 200);
	assert_int_equal(pr->state, TRACE_PROC_SIGNALED);
	assert_int_equal(pr->status, 9);
	assert_int_equal(trace_session_device_count(s), 2);
	const struct trace_device *dv = trace_session_find_device(s, 0);
	assert_non_null(dv);
	assert_int_equal(dv->api, TRACE_DEVICE_CUDA);
	assert_int_equal(dv->name, S_GPU);
	for (int i = 0; i < 16; i++)
		assert_int_equal(dv->uuid[i], i);
	assert_int_equal(dv->cc_major, 9);
	assert_int_equal(dv->sm_count, 132);
	assert_true(dv->global_memory == UINT64_C(0x8000000000000001));
	assert_int_equal(dv->smem_per_sm, 233472);
	assert_int_equal(dv->memory_bus_width, 5120);
	dv = trace_session_find_device(s, 1);
	assert_int_equal(dv->api, TRACE_DEVICE_OPENCL);
	for (int i = 0; i < 16; i++)
		assert_int_equal(dv->uuid[i], 0);
	assert_int_equal(trace_session_meta_count(s), 3);
	assert_string_equal(trace_session_meta(s, "host"), "h1");
	assert_string_equal(trace_session_meta(s, "synthetic"), "1");
	assert_string_equal(trace_session_meta(s, "zz"), "");
	assert_int_equal(trace_session_loss_count(s), 2);
	assert_true(trace_session_lost_total(s) == UINT64_MAX); /* saturates */
	bool seen = false;
	for (size_t i = 0; i < trace_session_loss_count(s); i++) {
		const struct trace_loss *lo = trace_session_loss(s, i);
		if (lo->pid == 100) {
			assert_int_equal(lo->source, S_RING);
			assert_true(lo->count == UINT64_MAX);
			seen = true;
		}
	}
	assert_true(seen);

	/* events */
	assert_int_equal(trace_session_event_count(s), EVERYTHING_EVENTS);
	static const unsigned per_kind[TRACE_KIND_MAX + 1] = {0, 2, 1, 1, 1, 2, 1, 1, 1, 1, 6, 1};
	for (unsigned k = 1; k <= TRACE_KIND_MAX; k++)
		assert_int_equal(trace_session_kind_count(s, k), per_kind[k]);

	const struct trace_event *ev = track_events(s, 2, 5); /* the stream, sorted by start */
	assert_int_equal(ev[0].kind, TRACE_KERNEL);
	assert_int_equal(ev[0].start, -100);
	assert_int_equal(ev[0].end, -50);
	assert_int_equal(ev[0].name, S_KERNEL);
	assert_int_equal(ev[0].correlation, 7);
	assert_int_equal(ev[0].u.kernel.launch, 1);
	assert_int_equal(ev[0].u.kernel.reserved, 0);
	assert_int_equal(ev[1].kind, TRACE_MEMCPY);
	assert_true(ev[1].u.bytes == UINT64_C(0x8000000000000000));
	assert_int_equal(trace_memcpy_copy_kind(&ev[1]), TRACE_COPY_HTOD);
	assert_int_equal(trace_memcpy_src_kind(&ev[1]), TRACE_MEM_PAGEABLE);
	assert_int_equal(trace_memcpy_dst_kind(&ev[1]), TRACE_MEM_DEVICE);
	assert_int_equal(ev[2].kind, TRACE_MEMSET);
	assert_int_equal(ev[2].u.bytes, 100);
	assert_int_equal(ev[2].sub, TRACE_MEM_DEVICE);
	assert_int_equal(ev[3].kind, TRACE_SYNC);
	assert_int_equal(ev[3].sub, TRACE_SYNC_STREAM);
	assert_int_equal(ev[3].u.sync.event, 5);
	assert_int_equal(ev[4].kind, TRACE_KERNEL);
	assert_int_equal(ev[4].flags, TRACE_FLAG_OPEN);
	assert_int_equal(ev[4].u.kernel.launch, 2);

	struct trace_event got[4];
	assert_int_equal(events_of_kind(s, 1, TRACE_API, got, 4), 2);
	assert_int_equal(got[0].start, -200);
	assert_int_equal(got[0].end, -10);
	assert_int_equal(got[0].flags, TRACE_FLAG_OPEN | TRACE_API_CUDA_RUNTIME);
	assert_int_equal(trace_api_domain(&got[0]), TRACE_API_CUDA_RUNTIME);
	assert_int_equal(got[0].u.api.cbid, 211);
	assert_int_equal(trace_api_result(&got[0]), -3);
	assert_int_equal(got[0].u.api.stack, 1);
	assert_int_equal(trace_api_domain(&got[1]), TRACE_API_CUDA_DRIVER);
	assert_int_equal(got[1].u.api.stack, 0);
	assert_int_equal(events_of_kind(s, 1, TRACE_NVTX_RANGE, got, 4), 1);
	assert_true(got[0].start == INT64_MIN);
	assert_true(got[0].end == INT64_MIN + 5);
	assert_int_equal(got[0].flags, TRACE_FLAG_NVTX_STARTEND);
	assert_int_equal(got[0].u.nvtx.attr, 1);
	assert_int_equal(got[0].u.nvtx.stack, 2);
	assert_int_equal(events_of_kind(s, 1, TRACE_NVTX_MARK, got, 4), 1);
	assert_int_equal(got[0].name, S_WEIRD);
	assert_int_equal(got[0].u.nvtx.attr, 2);
	assert_int_equal(events_of_kind(s, 1, TRACE_MEM_ALLOC, got, 4), 1);
	assert_int_equal(got[0].u.memop.id, 1);
	assert_int_equal(events_of_kind(s, 1, TRACE_MEM_FREE, got, 4), 1);
	assert_int_equal(got[0].start, 900);

	ev = track_events(s, 3, 2);
	assert_int_equal(ev[0].u.counter, -7);
	assert_true(ev[1].u.counter == INT64_MAX);
	ev = track_events(s, 5, 4);
	assert_true(ev[0].u.counter_double == 2.5);
	assert_true(ev[1].u.counter_double == 4.0);
	assert_true(ev[2].u.counter_double == -1e300);
	assert_int_equal(ev[2].flags, TRACE_FLAG_COUNTER_DOUBLE);
	assert_true(isnan(ev[3].u.counter_double));
	ev = track_events(s, 4, 1);
	assert_int_equal(ev[0].kind, TRACE_LOST);
	assert_true(ev[0].u.bytes == UINT64_MAX);
	assert_true(ev[0].end == INT64_MAX);

	int64_t lo, hi;
	assert_true(trace_session_time_range(s, &lo, &hi));
	assert_true(lo == INT64_MIN);
	assert_true(hi == INT64_MAX);
}

/* --- tests ------------------------------------------------------------------------ */

/* Every table and field comes back as the database holds it. */
static void test_everything(void **state)
{
	(void)state;
	const char *path = tpath("everything.db");
	sqlite3 *db = db_new(path);
	add_everything(db);
	sqlite3_close(db);

	struct db_read_report rep;
	struct trace_session *s = load_ok(path, &rep);
	check_everything(s);
	assert_int_equal(rep.schema_version, DB_SCHEMA_VERSION);
	assert_int_equal(rep.events, EVERYTHING_EVENTS);
	assert_int_equal(rep.rows_skipped, 0);
	assert_string_equal(rep.first_problem, "");
	assert_true(rep.file_bytes > 0);
	assert_int_equal(rep.wal_bytes, 0);
	assert_false(rep.immutable);
	assert_true(rep.incomplete); /* made by hand: no completion marker */
	trace_session_delete(s);

	/* The writer's marker makes it complete, and is no metadata pair; any
	 * other value is no marker. */
	db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec(db, "INSERT INTO meta VALUES ('" DB_META_COMPLETE "', '0')");
	sqlite3_close(db);
	s = load_ok(path, &rep);
	assert_true(rep.incomplete);
	assert_null(trace_session_meta(s, DB_META_COMPLETE));
	trace_session_delete(s);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec(db, "UPDATE meta SET value = '1' WHERE key = '" DB_META_COMPLETE "'");
	sqlite3_close(db);
	s = load_ok(path, &rep);
	assert_false(rep.incomplete);
	check_everything(s); /* three pairs: the marker is not one */
	trace_session_delete(s);

	/* The report is optional. */
	struct err e = {{0}};
	s = db_read_session(path, NULL, &e);
	assert_non_null(s);
	assert_int_equal(trace_session_event_count(s), EVERYTHING_EVENTS);
	trace_session_delete(s);
}

/* A database with the schema and nothing else is a valid empty session. */
static void test_empty_session(void **state)
{
	(void)state;
	const char *path = tpath("empty.db");
	sqlite3_close(db_new(path));
	struct db_read_report rep;
	struct trace_session *s = load_ok(path, &rep);
	assert_int_equal(trace_session_event_count(s), 0);
	assert_int_equal(trace_session_string_count(s), 1);
	assert_int_equal(trace_session_track_count(s), 1);
	assert_int_equal(trace_session_process_count(s), 0);
	assert_int_equal(trace_session_meta_count(s), 0);
	int64_t lo, hi;
	assert_false(trace_session_time_range(s, &lo, &hi));
	assert_int_equal(rep.events, 0);
	assert_int_equal(rep.rows_skipped, 0);
	trace_session_delete(s);
}

/* Malformed rows are skipped, counted per table, and the first one is
 * described; the sound rows around them load. */
static void test_malformed_rows(void **state)
{
	(void)state;
	const char *path = tpath("malformed.db");
	sqlite3 *db = db_new(path);
	add_everything(db);
	exec(db,
	     /* processes: unknown command string; state out of range */
	     "INSERT INTO target_processes VALUES (300, 1, 999, 0, 0, 1, 0);"
	     "INSERT INTO target_processes VALUES (301, 1, 0, 0, 0, 256, 0);"
	     /* devices: a uuid of the wrong size; a name that is text */
	     "INSERT INTO devices VALUES (5, 1, 0, x'0102', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);"
	     "INSERT INTO devices VALUES (6, 1, 'x', NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);"
	     /* meta: a value that is a blob with a NUL inside, a key that is a blob */
	     "INSERT INTO meta VALUES ('n', x'610062'), (x'41', 'v');"
	     /* losses: pid out of range */
	     "INSERT INTO losses VALUES (4294967296, 6, 1);"
	     /* kernels: unknown track, track 0, end before start, unknown launch, real start */
	     "INSERT INTO kernels VALUES (0, 1, 99, 1, 0, 0, 1);"
	     "INSERT INTO kernels VALUES (0, 1, 0, 1, 0, 0, 1);"
	     "INSERT INTO kernels VALUES (10, 9, 2, 1, 0, 0, 1);"
	     "INSERT INTO kernels VALUES (0, 1, 2, 1, 0, 0, 3);"
	     "INSERT INTO kernels VALUES (1.5, 2, 2, 1, 0, 0, 1);"
	     /* memcpys: copy kind beyond five bits; unknown name */
	     "INSERT INTO memcpys VALUES (0, 1, 2, 0, 0, 0, 8, 32, 0, 0);"
	     "INSERT INTO memcpys VALUES (0, 1, 2, 999, 0, 0, 8, 1, 0, 0);"
	     /* memsets: mem_kind out of 16 bits */
	     "INSERT INTO memsets VALUES (0, 1, 2, 0, 0, 0, 8, 65536);"
	     /* syncs: a duration that does not fit int64 */
	     "INSERT INTO syncs VALUES (-9223372036854775808, 9223372036854775807, 2, 0, 0, 0, 3, 0);"
	     /* api_calls: domain disagreeing with the flags; result out of int16; unknown stack */
	     "INSERT INTO api_calls VALUES (0, 1, 1, 2, 0, 1, 2, 0, 0, 0);"
	     "INSERT INTO api_calls VALUES (0, 1, 1, 2, 0, 1, 1, 0, 40000, 0);"
	     "INSERT INTO api_calls VALUES (0, 1, 1, 2, 0, 1, 1, 0, 0, 3);"
	     /* nvtx: unknown attributes; flags beyond a byte */
	     "INSERT INTO nvtx_ranges VALUES (0, 1, 1, 3, 0, 0, 3, 0);"
	     "INSERT INTO nvtx_marks VALUES (0, 0, 1, 3, 0, 256, 0, 0);"
	     /* memory_events: a kind that is not allocation or release; unknown op */
	     "INSERT INTO memory_events VALUES (0, 0, 1, 4, 0, 0, 1, 1);"
	     "INSERT INTO memory_events VALUES (0, 0, 1, 4, 0, 0, 8, 2);"
	     /* counters: a real in an integer counter; text in a double one */
	     "INSERT INTO counters VALUES (7, 7, 3, 4, 0, 0, 2.5);"
	     "INSERT INTO counters VALUES (7, 7, 5, 14, 0, 1, 'hot');"
	     /* lost_ranges: a NULL-free but negative-track row */
	     "INSERT INTO lost_ranges VALUES (0, 0, -4, 6, 0, 0, 1);");
	sqlite3_close(db);

	struct db_read_report rep;
	struct trace_session *s = load_ok(path, &rep);
	check_everything(s); /* exactly what the sound rows hold */
	static const uint64_t want[DB_READ_TABLES] = {
	    [DB_READ_PROCESSES] = 2,   [DB_READ_DEVICES] = 2,     [DB_READ_META] = 2,
	    [DB_READ_LOSSES] = 1,      [DB_READ_KERNELS] = 5,     [DB_READ_MEMCPYS] = 2,
	    [DB_READ_MEMSETS] = 1,     [DB_READ_SYNCS] = 1,       [DB_READ_API_CALLS] = 3,
	    [DB_READ_NVTX_RANGES] = 1, [DB_READ_NVTX_MARKS] = 1,  [DB_READ_MEMORY_EVENTS] = 2,
	    [DB_READ_COUNTERS] = 2,    [DB_READ_LOST_RANGES] = 1,
	};
	uint64_t total = 0;
	for (unsigned t = 0; t < DB_READ_TABLES; t++) {
		if (rep.skipped[t] != want[t])
			fail_msg("%s: %llu rows skipped, expected %llu", db_read_table_name(t),
			         (unsigned long long)rep.skipped[t], (unsigned long long)want[t]);
		total += want[t];
	}
	assert_int_equal(rep.rows_skipped, total);
	assert_int_equal(rep.events, EVERYTHING_EVENTS);
	/* The first skipped row is the first of the first table read. */
	assert_string_equal(rep.first_problem, "processes: pid 300: bad command");
	trace_session_delete(s);

	assert_string_equal(db_read_table_name(DB_READ_KERNELS), "kernels");
	assert_string_equal(db_read_table_name(DB_READ_LOST_RANGES), "lost_ranges");
	assert_string_equal(db_read_table_name(DB_READ_TABLES), "?");
}

/* A damaged id table refuses the database: ids could no longer be
 * reproduced. Each case is a fresh database with one fault. */
static void test_damaged_ids(void **state)
{
	(void)state;
	static const struct {
		const char *sql;
		const char *want;
	} cases[] = {
	    {"INSERT INTO strings(id, value) VALUES (1, 'a'), (3, 'c')",
	     "strings: id 3 where 2 was expected"},
	    {"INSERT INTO strings(id, value) VALUES (1, 'a'), (2, 'a')", "strings: id 2 repeats string 1"},
	    {"INSERT INTO strings(id, value) VALUES (1, '')", "strings: id 1 repeats string 0"},
	    {"INSERT INTO strings(id, value) VALUES (0, 'x')", "strings: id 0 where 1 was expected"},
	    {"INSERT INTO frames VALUES (2, 1, 0, 0, 0, 0, 0)", "frames: id 2 where 1 was expected"},
	    {"INSERT INTO frames VALUES (1, 1, 0, 0, 0, 0, 0), (2, 1, 0, 0, 0, 0, 0)",
	     "frames: id 2 repeats frame 1"},
	    {"INSERT INTO frames VALUES (1, 1, 0, 5, 0, 0, 0)", "frames: id 1: bad function"},
	    {"INSERT INTO frames VALUES (1, 1, 0, 0, 0, 0, 0); INSERT INTO stack_frames VALUES (1, 1, 1)",
	     "stack 1 has depth 1 where 0 was expected"},
	    {"INSERT INTO frames VALUES (1, 1, 0, 0, 0, 0, 0); INSERT INTO stack_frames VALUES (2, 0, 1)",
	     "stack 2 where 1 was expected"},
	    {"INSERT INTO frames VALUES (1, 1, 0, 0, 0, 0, 0); INSERT INTO stack_frames VALUES (1, 0, 2)",
	     "stack_frames: stack 1: bad frame"},
	    {"INSERT INTO frames VALUES (1, 1, 0, 0, 0, 0, 0); INSERT INTO stack_frames VALUES (1, 0, 1), "
	     "(2, 0, 1)",
	     "stack 2 repeats stack 1"},
	    {"INSERT INTO tracks VALUES (1, 9, 1, 1, 0, 0, 0, 0)", "tracks: id 1: bad kind"},
	    {"INSERT INTO tracks VALUES (1, 1, 1, 1, 0, 0, 0, 0), (2, 1, 1, 1, 0, 0, 0, 0)",
	     "tracks: id 2 repeats track 1"},
	    {"INSERT INTO launches VALUES (1, 1,1,1, 1,1,1, 0,0,0, 0,0,0), (2, 1,1,1, 1,1,1, 0,0,0, 0,0,0)",
	     "launches: id 2 repeats launch 1"},
	    {"INSERT INTO launches VALUES (1, -1,1,1, 1,1,1, 0,0,0, 0,0,0)", "launches: id 1: bad grid_x"},
	    {"INSERT INTO nvtx_attrs VALUES (2, 0, 0, NULL, 0, 0)", "nvtx_attrs: id 2 where 1 was expected"},
	    {"INSERT INTO nvtx_attrs VALUES (1, 0, 0, -1, 0, 0)", "nvtx_attrs: id 1: bad color"},
	    {"INSERT INTO memory_ops VALUES (1, 0, 0, 0, 300)", "memory_ops: id 1: bad mem_kind"},
	    {"INSERT INTO memory_ops VALUES (5, 0, 0, 0, 1)", "memory_ops: id 5 where 1 was expected"},
	    {"DROP TABLE kernels", "database is damaged: reading kernels: no such table: kernels"},
	    {"ALTER TABLE syncs RENAME COLUMN event TO evt",
	     "database is damaged: reading syncs: no such column: event"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = tpath("damaged.db");
		sqlite3 *db = db_new(path);
		exec(db, cases[i].sql);
		sqlite3_close(db);
		load_refused(path, cases[i].want);
		load_refused(path, "database is damaged");
	}
}

/* Writes `len` bytes to `path`. */
static void write_file(const char *path, const void *bytes, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Files that are not SQLite databases, or not whole ones, are refused with
 * a message that says so. */
static void test_not_a_database(void **state)
{
	(void)state;
	const char *path = tpath("text.db");
	static const char text[] =
	    "this is a text file, long enough to hold a SQLite header and more: 0123456789\n";
	write_file(path, text, sizeof(text) - 1);
	load_refused(path, "not a SQLite database");
	write_file(path, "", 0);
	load_refused(path, "empty file");
	write_file(path, "SQLite format", 13); /* a prefix of the magic */
	load_refused(path, "not a SQLite database");
	load_refused(tpath("missing.db"), "cannot open");
	load_refused(test_dir, "is a directory");
	load_refused("/dev/null", "not a regular file");

	/* A real database cut short: the header survives, the pages do not. */
	const char *whole = tpath("whole.db");
	sqlite3 *db = db_new(whole);
	add_everything(db);
	sqlite3_close(db);
	FILE *f = fopen(whole, "rb");
	assert_non_null(f);
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_true(n > 200);
	const char *cut = tpath("cut.db");
	write_file(cut, buf, 200);
	load_refused(cut, "database is damaged");
	write_file(cut, buf, 100); /* the header alone */
	load_refused(cut, cut);

	/* A header followed by garbage. */
	memset(buf + 100, 0xa5, sizeof(buf) - 100);
	write_file(cut, buf, sizeof(buf));
	load_refused(cut, "database is damaged");
}

/* Deterministic PRNG (xorshift64*). */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* A database with bytes of its pages changed at random (seeded) loads, or
 * is refused with a message; it never crashes the reader or trips the
 * sanitizers, whatever SQLite hands back. */
static void test_random_corruption(void **state)
{
	(void)state;
	const char *whole = tpath("whole.db");
	sqlite3 *db = db_new(whole);
	add_everything(db);
	sqlite3_close(db);
	FILE *f = fopen(whole, "rb");
	assert_non_null(f);
	static unsigned char orig[1 << 20], buf[1 << 20];
	size_t n = fread(orig, 1, sizeof(orig), f);
	fclose(f);
	assert_true(n > 4096 && n < sizeof(orig));

	const char *path = tpath("corrupt.db");
	int loaded = 0, refused = 0;
	rng_state = 0x9e3779b97f4a7c15u;
	for (int iter = 0; iter < 300; iter++) {
		memcpy(buf, orig, n);
		int flips = 1 + (int)(rnd() % 16);
		for (int k = 0; k < flips; k++)
			buf[100 + rnd() % (n - 100)] ^= (unsigned char)(1 + rnd() % 255);
		write_file(path, buf, n);
		struct err e = {{0}};
		struct db_read_report rep;
		struct trace_session *s = db_read_session(path, &rep, &e);
		if (s) {
			/* Whatever loaded obeys the model's invariants. */
			assert_int_equal(trace_session_event_count(s), rep.events);
			for (uint32_t t = 1; t < trace_session_track_count(s); t++) {
				size_t m;
				const struct trace_event *ev = trace_session_track_events(s, t, &m);
				for (size_t i = 0; i < m; i++)
					assert_true(ev[i].start <= ev[i].end);
			}
			trace_session_delete(s);
			loaded++;
		} else {
			assert_non_null(strstr(e.msg, path));
			refused++;
		}
	}
	print_message("corrupted databases: %d loaded, %d refused\n", loaded, refused);
	assert_int_equal(loaded + refused, 300);
	assert_true(refused > 0); /* the corruption reached what the reader reads */
}

/* SQLite databases that are not tstop session databases, or of another
 * schema version. */
static void test_not_tstop(void **state)
{
	(void)state;
	const char *path = tpath("plain.db");
	unlink(path);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1)");
	sqlite3_close(db);
	load_refused(path, "not a tstop session database");

	/* Something shaped like an nsys export. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec(db, "CREATE TABLE TARGET_INFO_SESSION_START_TIME(utcEpochNs INTEGER)");
	sqlite3_close(db);
	load_refused(path, "Nsight Systems export");

	/* A newer schema: refused, naming both versions. */
	path = tpath("newer.db");
	db = db_new(path);
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", DB_SCHEMA_VERSION + 1);
	exec(db, sql);
	sqlite3_close(db);
	char want[64];
	snprintf(want, sizeof(want), "schema version %d is newer", DB_SCHEMA_VERSION + 1);
	load_refused(path, want);

	/* A tstop database whose creation never finished. */
	db = db_new(path);
	exec(db, "PRAGMA user_version = 0");
	sqlite3_close(db);
	load_refused(path, "no schema version");
}

/* The nsys exports of the shared test data are named as such. They are
 * found beside the source tree: this file is SOURCE_DIR/tests/unit/. */
static void test_nsys_exports(void **state)
{
	(void)state;
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s", __FILE__);
	for (int up = 0; up < 4; up++) {
		char *slash = strrchr(dir, '/');
		if (!slash) {
			dir[0] = '\0';
			break;
		}
		*slash = '\0';
	}
	strncat(dir, "/shared/testdata/nsys", sizeof(dir) - strlen(dir) - 1);
	DIR *d = opendir(dir);
	if (!d) {
		print_message("skipped: no nsys exports in %s (the shared test data is not there)\n", dir);
		skip();
	}
	int found = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 8 || strcmp(de->d_name + len - 7, ".sqlite"))
			continue;
		char path[2048];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		load_refused(path, "this is an Nsight Systems export, not a tstop session database");
		found++;
	}
	closedir(d);
	if (!found) {
		print_message("skipped: no .sqlite file in %s\n", dir);
		skip();
	}
}

/* The uid a child drops to, as root, to lose write access to files root
 * made: nobody's. */
#define NOBODY 65534

/* In a child process, makes the -shm file and the directory of `path`
 * unwritable for it (by dropping to nobody when root, by permissions
 * otherwise), loads `path` and exits 0 when it holds `events` events and
 * the report's immutable flag is `immutable`; another status says what
 * failed. The parent fails the test on any other status. */
static void load_in_unprivileged_child(const char *path, uint64_t events, bool immutable)
{
	char shm[600];
	snprintf(shm, sizeof(shm), "%s-shm", path);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0) {
			if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
				_exit(10);
		} else {
			chmod(shm, 0444);
			chmod(test_dir, 0555);
		}
		if (access(test_dir, W_OK) == 0 || (access(shm, F_OK) == 0 && access(shm, W_OK) == 0))
			_exit(11); /* the test would prove nothing */
		struct err e = {{0}};
		struct db_read_report rep;
		struct trace_session *s = db_read_session(path, &rep, &e);
		if (!s) {
			fprintf(stderr, "child: %s\n", e.msg);
			_exit(12);
		}
		int status = trace_session_event_count(s) != events ? 13
		             : rep.immutable != immutable           ? 14
		                                                    : 0;
		if (status)
			fprintf(stderr, "child: %llu events, immutable %d\n",
			        (unsigned long long)trace_session_event_count(s), rep.immutable);
		trace_session_delete(s);
		_exit(status);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	chmod(test_dir, 0755);
	chmod(shm, 0644);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg(
		    "the unprivileged reader failed (status 0x%x; 10 setuid, 11 still writable, 12 refused, "
		    "13 event count, 14 immutable flag)",
		    status);
}

/* Inserts `n` kernels on track 1 starting at `t0`, one per ns. */
static void add_kernels(sqlite3 *db, int n, int64_t t0)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(
	    sqlite3_prepare_v2(db, "INSERT INTO kernels VALUES (?, ?, 1, 1, 0, 0, 0)", -1, &st, NULL),
	    SQLITE_OK);
	for (int i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 1, t0 + i);
		sqlite3_bind_int64(st, 2, t0 + i + 1);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
}

/* A database being written live in WAL mode: a reader that cannot write the
 * -shm file sees every committed batch and nothing uncommitted; once the
 * writer has finished, the database opens in a directory the reader cannot
 * write. */
static void test_live_wal(void **state)
{
	(void)state;
	const char *path = tpath("live.db");
	char wal[600];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	sqlite3 *db = db_new(path);
	exec(db, "PRAGMA journal_mode = WAL");
	exec(db, "BEGIN; INSERT INTO strings(id, value) VALUES (1, 'k');"
	         "INSERT INTO tracks VALUES (1, 2, 1, 0, 0, 1, 7, 0); COMMIT");
	exec(db, "BEGIN");
	add_kernels(db, 1000, 0);
	exec(db, "COMMIT");
	exec(db, "BEGIN");
	add_kernels(db, 500, 5000); /* a batch being written */

	struct stat sb;
	assert_int_equal(stat(wal, &sb), 0);
	load_in_unprivileged_child(path, 1000, false);

	/* In this process too, and the report tells of the WAL. */
	struct db_read_report rep;
	struct trace_session *s = load_ok(path, &rep);
	assert_int_equal(trace_session_event_count(s), 1000);
	assert_true(rep.wal_bytes > 0);
	assert_false(rep.immutable);
	trace_session_delete(s);

	/* Through a symbolic link from another directory: the WAL is beside the
	 * file the link leads to, and is found there. */
	const char *links = tpath("links");
	assert_int_equal(mkdir(links, 0755), 0);
	const char *link = tpath("links/live-link.db");
	assert_int_equal(symlink("../live.db", link), 0);
	s = load_ok(link, &rep);
	assert_int_equal(trace_session_event_count(s), 1000);
	assert_true(rep.wal_bytes > 0);
	assert_false(rep.immutable);
	trace_session_delete(s);

	exec(db, "COMMIT");
	load_in_unprivileged_child(path, 1500, false);

	/* The writer finishes: the WAL is checkpointed and removed, the file
	 * stays in WAL mode. */
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(stat(wal, &sb), -1);
	load_in_unprivileged_child(path, 1500, true);
	s = load_ok(path, &rep);
	assert_int_equal(trace_session_event_count(s), 1500);
	assert_true(rep.immutable);
	assert_int_equal(rep.wal_bytes, 0);
	trace_session_delete(s);
	/* Reading left nothing beside the file. */
	assert_int_equal(stat(wal, &sb), -1);
	char shm[600];
	snprintf(shm, sizeof(shm), "%s-shm", path);
	assert_int_equal(stat(shm, &sb), -1);
}

/* A writer killed mid-run (a child process that commits batches and dies
 * without closing, as tstop killed by SIGKILL would) leaves a database that
 * opens with every committed batch, to a reader that can write nothing. */
static void test_killed_writer(void **state)
{
	(void)state;
	const char *path = tpath("killed.db");
	unlink(path);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *db = NULL;
		if (sqlite3_open(path, &db) != SQLITE_OK)
			_exit(1);
		struct err e = {{0}};
		if (sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
		    db_schema_create(db, &e) < 0)
			_exit(2);
		sqlite3_exec(db,
		             "BEGIN; INSERT INTO strings(id, value) VALUES (1, 'k');"
		             "INSERT INTO tracks VALUES (1, 2, 1, 0, 0, 1, 7, 0); COMMIT",
		             NULL, NULL, NULL);
		for (int batch = 0; batch < 3; batch++) {
			sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
			add_kernels(db, 400, batch * 1000);
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		}
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		add_kernels(db, 300, 9000); /* never committed */
		kill(getpid(), SIGKILL);
		_exit(3);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	char wal[600];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(access(wal, F_OK), 0); /* the WAL was left behind */
	load_in_unprivileged_child(path, 1200, false);
	struct db_read_report rep;
	struct trace_session *s = load_ok(path, &rep);
	assert_int_equal(trace_session_event_count(s), 1200);
	assert_true(rep.incomplete); /* killed: never marked complete */
	trace_session_delete(s);
}

/* Counts the entries of the test directory. */
static int dir_entries(void)
{
	DIR *d = opendir(test_dir);
	assert_non_null(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The reader never writes: a database, in rollback or in WAL mode, keeps its
 * bytes, and no file appears beside it. */
static void check_reader_writes_nothing(bool wal)
{
	const char *path = tpath("ro.db");
	sqlite3 *db = db_new(path);
	add_everything(db);
	if (wal)
		exec(db, "PRAGMA journal_mode = WAL");
	sqlite3_close(db);
	int entries = dir_entries();
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char a[65536], b[65536];
	size_t na = fread(a, 1, sizeof(a), f);
	fclose(f);
	for (int i = 0; i < 3; i++) {
		struct trace_session *s = load_ok(path, NULL);
		trace_session_delete(s);
	}
	assert_int_equal(stat(path, &after), 0);
	f = fopen(path, "rb");
	size_t nb = fread(b, 1, sizeof(b), f);
	fclose(f);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	assert_int_equal(before.st_size, after.st_size);
	assert_int_equal(dir_entries(), entries);
	unlink(path);
}

static void test_reader_writes_nothing(void **state)
{
	(void)state;
	check_reader_writes_nothing(false);
	check_reader_writes_nothing(true);
}

/* A file name SQLite would read as a URI, or with characters that need
 * escaping in one, opens as the file it names (the immutable fallback
 * builds a URI from it). */
static void test_awkward_names(void **state)
{
	(void)state;
	const char *path = tpath("a?b#c%20d e.db");
	sqlite3 *db = db_new(path);
	add_everything(db);
	exec(db, "PRAGMA journal_mode = WAL");
	sqlite3_close(db);
	struct trace_session *s = load_ok(path, NULL);
	check_everything(s);
	trace_session_delete(s);
	load_in_unprivileged_child(path, EVERYTHING_EVENTS, true);
}

static int setup(void **state)
{
	(void)state;
	snprintf(test_dir, sizeof(test_dir), "/tmp/tstop-test-db-read-XXXXXX");
	if (!mkdtemp(test_dir))
		return -1;
	/* Open to others, so that a child running as nobody can reach it. */
	return chmod(test_dir, 0755);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_everything),
	    cmocka_unit_test(test_empty_session),
	    cmocka_unit_test(test_malformed_rows),
	    cmocka_unit_test(test_damaged_ids),
	    cmocka_unit_test(test_not_a_database),
	    cmocka_unit_test(test_not_tstop),
	    cmocka_unit_test(test_nsys_exports),
	    cmocka_unit_test(test_live_wal),
	    cmocka_unit_test(test_reader_writes_nothing),
	    cmocka_unit_test(test_awkward_names),
	    cmocka_unit_test(test_killed_writer),
	    cmocka_unit_test(test_random_corruption),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
