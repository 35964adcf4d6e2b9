/*
 * test_db_nsys_queries.c - the SQL people write for Nsight Systems exports
 * runs on a tstop session database (store/db_views.c).
 *
 * One set of typical nsys queries (kernel summaries grouped by name through
 * StringIds, by shortName and by demangledName; copy totals by kind through
 * ENUM_CUDA_MEMCPY_OPER and ENUM_CUDA_MEM_KIND; NVTX range durations and
 * domains; kernels joined to their runtime call by correlationId; thread
 * names through ThreadNames and globalTid; processes, GPUs, syncs, memsets)
 * runs on a synthetic tstop session and on every real nsys export in
 * ../shared/testdata/nsys. On each database every query must prepare, give
 * the columns it names (same count, same names), and return rows when the
 * data it reads has some (each query's probe counts them). A query whose
 * tables an export lacks (nsys leaves out the tables of data it did not
 * record, and older exports have no ENUM_* tables) is skipped on that export
 * with a message; without the testdata folder the export half is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/db.h"
#include "synth.h"
#include "trace/session.h"

struct nsys_query {
	const char *name;
	const char *columns;   /* the result's column names, comma-separated */
	const char *tables[4]; /* what it reads, NULL-terminated */
	const char *probe;     /* counts the rows it reads: > 0 means it must return rows */
	const char *sql;
};

static const struct nsys_query queries[] = {
    {"kernel summary by shortName",
     "name,instances,total_ns,avg_ns,min_ns,max_ns",
     {"CUPTI_ACTIVITY_KIND_KERNEL", "StringIds"},
     "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL",
     "SELECT s.value AS name, COUNT(*) AS instances, SUM(k.end - k.start) AS total_ns,\n"
     "  AVG(k.end - k.start) AS avg_ns, MIN(k.end - k.start) AS min_ns, MAX(k.end - k.start) AS max_ns\n"
     "FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.shortName\n"
     "GROUP BY s.value ORDER BY total_ns DESC"},
    {"kernel summary by demangledName",
     "time_percent,total_ns,instances,name",
     {"CUPTI_ACTIVITY_KIND_KERNEL", "StringIds"},
     "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL",
     "SELECT round(100.0 * SUM(k.end - k.start) / SUM(SUM(k.end - k.start)) OVER (), 1) AS time_percent,\n"
     "  SUM(k.end - k.start) AS total_ns, COUNT(*) AS instances, s.value AS name\n"
     "FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.demangledName\n"
     "GROUP BY k.demangledName ORDER BY total_ns DESC"},
    {"kernels per stream",
     "deviceId,streamId,kernels,busy_ns,span_ns",
     {"CUPTI_ACTIVITY_KIND_KERNEL"},
     "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL",
     "SELECT deviceId, streamId, COUNT(*) AS kernels, SUM(end - start) AS busy_ns,\n"
     "  MAX(end) - MIN(start) AS span_ns\n"
     "FROM CUPTI_ACTIVITY_KIND_KERNEL GROUP BY deviceId, streamId ORDER BY busy_ns DESC"},
    {"memcpy totals by copy kind",
     "operation,count,bytes,total_ns,gb_per_s",
     {"CUPTI_ACTIVITY_KIND_MEMCPY", "ENUM_CUDA_MEMCPY_OPER"},
     "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY",
     "SELECT o.label AS operation, COUNT(*) AS count, SUM(m.bytes) AS bytes, SUM(m.end - m.start) AS "
     "total_ns,\n"
     "  SUM(m.bytes) * 1.0 / NULLIF(SUM(m.end - m.start), 0) AS gb_per_s\n"
     "FROM CUPTI_ACTIVITY_KIND_MEMCPY m JOIN ENUM_CUDA_MEMCPY_OPER o ON o.id = m.copyKind\n"
     "GROUP BY o.label ORDER BY total_ns DESC"},
    {"memcpy by memory kinds",
     "src,dst,count,bytes",
     {"CUPTI_ACTIVITY_KIND_MEMCPY", "ENUM_CUDA_MEM_KIND"},
     "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY",
     "SELECT s.label AS src, d.label AS dst, COUNT(*) AS count, SUM(m.bytes) AS bytes\n"
     "FROM CUPTI_ACTIVITY_KIND_MEMCPY m JOIN ENUM_CUDA_MEM_KIND s ON s.id = m.srcKind\n"
     "  JOIN ENUM_CUDA_MEM_KIND d ON d.id = m.dstKind\n"
     "GROUP BY m.srcKind, m.dstKind ORDER BY bytes DESC"},
    {"memset totals",
     "memory,count,bytes",
     {"CUPTI_ACTIVITY_KIND_MEMSET", "ENUM_CUDA_MEM_KIND"},
     "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_MEMSET",
     "SELECT k.label AS memory, COUNT(*) AS count, SUM(m.bytes) AS bytes\n"
     "FROM CUPTI_ACTIVITY_KIND_MEMSET m JOIN ENUM_CUDA_MEM_KIND k ON k.id = m.memKind GROUP BY k.label"},
    {"NVTX range durations",
     "range,style,instances,total_ns,avg_ns",
     {"NVTX_EVENTS", "StringIds"},
     "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType IN (59, 60) AND end IS NOT NULL",
     "SELECT COALESCE(n.text, s.value) AS range,\n"
     "  CASE n.eventType WHEN 59 THEN 'PushPop' ELSE 'StartEnd' END AS style,\n"
     "  COUNT(*) AS instances, SUM(n.end - n.start) AS total_ns, AVG(n.end - n.start) AS avg_ns\n"
     "FROM NVTX_EVENTS n LEFT JOIN StringIds s ON s.id = n.textId\n"
     "WHERE n.eventType IN (59, 60) AND n.end IS NOT NULL\n"
     "GROUP BY range, n.eventType ORDER BY total_ns DESC"},
    {"NVTX domains",
     "domain,events",
     {"NVTX_EVENTS"},
     "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = 75",
     "SELECT d.text AS domain, COUNT(n.start) AS events\n"
     "FROM NVTX_EVENTS d LEFT JOIN NVTX_EVENTS n ON n.domainId = d.domainId AND n.eventType IN (34, 59, 60)\n"
     "WHERE d.eventType = 75 GROUP BY d.domainId"},
    {"kernels joined to their runtime call",
     "api,kernels,avg_launch_to_start_ns,max_start_after_return_ns",
     {"CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_RUNTIME", "StringIds"},
     "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL",
     "SELECT s.value AS api, COUNT(*) AS kernels, AVG(k.start - r.start) AS avg_launch_to_start_ns,\n"
     "  MAX(k.start - r.end) AS max_start_after_return_ns\n"
     "FROM CUPTI_ACTIVITY_KIND_KERNEL k\n"
     "  JOIN CUPTI_ACTIVITY_KIND_RUNTIME r\n"
     "    ON r.correlationId = k.correlationId AND (r.globalTid >> 24) = (k.globalPid >> 24)\n"
     "  JOIN StringIds s ON s.id = r.nameId\n"
     "GROUP BY s.value ORDER BY kernels DESC"},
    {"API time per named thread",
     "thread,pid,tid,calls,total_ns",
     {"CUPTI_ACTIVITY_KIND_RUNTIME", "ThreadNames", "StringIds"},
     "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN ThreadNames t ON t.globalTid = r.globalTid",
     "SELECT s.value AS thread, (r.globalTid >> 24) & 16777215 AS pid, r.globalTid & 16777215 AS tid,\n"
     "  COUNT(*) AS calls, SUM(r.end - r.start) AS total_ns\n"
     "FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN ThreadNames t ON t.globalTid = r.globalTid\n"
     "  JOIN StringIds s ON s.id = t.nameId\n"
     "GROUP BY r.globalTid ORDER BY calls DESC"},
    {"kernels per process",
     "pid,process,kernels",
     {"CUPTI_ACTIVITY_KIND_KERNEL", "PROCESSES"},
     "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL",
     "SELECT p.pid AS pid, p.name AS process, COUNT(*) AS kernels\n"
     "FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN PROCESSES p ON p.globalPid = k.globalPid\n"
     "GROUP BY p.pid ORDER BY kernels DESC"},
    {"synchronization by type",
     "type,count,total_ns",
     {"CUPTI_ACTIVITY_KIND_SYNCHRONIZATION", "ENUM_CUPTI_SYNC_TYPE"},
     "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION",
     "SELECT e.label AS type, COUNT(*) AS count, SUM(y.end - y.start) AS total_ns\n"
     "FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION y JOIN ENUM_CUPTI_SYNC_TYPE e ON e.id = y.syncType\n"
     "GROUP BY e.label ORDER BY total_ns DESC"},
    {"GPUs",
     "id,name,smCount,totalMemory,cc",
     {"TARGET_INFO_GPU"},
     "SELECT COUNT(*) FROM TARGET_INFO_GPU",
     "SELECT id, name, smCount, totalMemory, computeMajor || '.' || computeMinor AS cc FROM TARGET_INFO_GPU"},
};

#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

static char test_dir[64];

/* Whether `db` has a table or view named `name`. */
static bool has_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = ?1", -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* The count `sql` yields. */
static int64_t count_of(sqlite3 *db, const char *sql, const char *where)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: probe failed: %s\n  in: %s", where, sqlite3_errmsg(db), sql);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Runs query `q` on `db` (`where` names it in messages). Returns false when
 * the database lacks one of its tables, else checks it and returns true;
 * *rows gets the number of rows. */
static bool run_query(sqlite3 *db, const struct nsys_query *q, const char *where, int64_t *rows)
{
	for (size_t t = 0; t < 4 && q->tables[t]; t++) {
		if (!has_table(db, q->tables[t])) {
			print_message("SKIP '%s' on %s: it has no %s\n", q->name, where, q->tables[t]);
			return false;
		}
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, q->sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("'%s' on %s: %s", q->name, where, sqlite3_errmsg(db));
	char names[256] = "";
	for (int c = 0; c < sqlite3_column_count(st); c++) {
		if (c)
			strncat(names, ",", sizeof(names) - strlen(names) - 1);
		strncat(names, sqlite3_column_name(st, c), sizeof(names) - strlen(names) - 1);
	}
	if (strcmp(names, q->columns) != 0)
		fail_msg("'%s' on %s: columns %s, expected %s", q->name, where, names, q->columns);
	int rc;
	*rows = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		(*rows)++;
	if (rc != SQLITE_DONE)
		fail_msg("'%s' on %s: %s", q->name, where, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	int64_t input = count_of(db, q->probe, where);
	if (input > 0 && *rows == 0)
		fail_msg("'%s' on %s: no rows, though the data has %lld", q->name, where, (long long)input);
	return true;
}

/* Every query on a synthetic tstop session: all run and return rows (but
 * PROCESSES, while the process table takes its name: see db_views.c). */
static void test_queries_on_tstop(void **state)
{
	(void)state;
	struct synth_options o;
	synth_options_init(&o);
	o.events = 20000;
	o.processes = 2;
	o.threads = 2;
	o.devices = 2;
	struct err e = {{0}};
	struct trace_session *s = synth_session(&o, NULL, &e);
	if (!s)
		fail_msg("synth_session: %s", e.msg);
	char path[128];
	snprintf(path, sizeof(path), "%s/synth.db", test_dir);
	if (db_write_session(s, path, true, NULL, NULL, &e) < 0)
		fail_msg("db_write_session: %s", e.msg);
	trace_session_delete(s);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	size_t ran = 0;
	for (size_t i = 0; i < NQUERIES; i++) {
		int64_t rows;
		if (!run_query(db, &queries[i], "the tstop session", &rows)) {
			if (strcmp(queries[i].tables[1], "PROCESSES") != 0)
				fail_msg("the tstop session lacks a table of '%s'", queries[i].name);
			continue;
		}
		if (rows == 0)
			fail_msg("'%s' returned nothing on the tstop session", queries[i].name);
		ran++;
	}
	assert_true(ran >= NQUERIES - 1);
	sqlite3_close(db);
}

/* The same queries on every nsys export of the shared test data. */
static void test_queries_on_nsys_exports(void **state)
{
	(void)state;
	char dir[512];
	const char *env = getenv("TSTOP_SOURCE_DIR");
	if (env && *env) {
		snprintf(dir, sizeof(dir), "%s", env);
	} else {
		snprintf(dir, sizeof(dir), "%s", __FILE__);
		char *cut = strstr(dir, "/tests/unit/");
		if (!cut)
			fail_msg("cannot find the source directory from %s: set TSTOP_SOURCE_DIR", __FILE__);
		*cut = '\0';
	}
	strncat(dir, "/../shared/testdata/nsys", sizeof(dir) - strlen(dir) - 1);
	DIR *d = opendir(dir);
	if (!d) {
		print_message("SKIP: no nsys exports at %s (the shared test data is absent)\n", dir);
		skip();
	}
	size_t files = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 8 || strcmp(de->d_name + len - 7, ".sqlite") != 0)
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		sqlite3 *db = NULL;
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
			fail_msg("cannot open %s: %s", path, sqlite3_errmsg(db));
		size_t ran = 0;
		for (size_t i = 0; i < NQUERIES; i++) {
			int64_t rows;
			if (run_query(db, &queries[i], de->d_name, &rows))
				ran++;
		}
		print_message("%s: %zu of %zu queries ran\n", de->d_name, ran, NQUERIES);
		assert_true(ran >= 5);
		sqlite3_close(db);
		files++;
	}
	closedir(d);
	if (!files) {
		print_message("SKIP: no .sqlite file in %s\n", dir);
		skip();
	}
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(test_dir, sizeof(test_dir), "/tmp/tstop-test-nsys-queries-XXXXXX");
	return mkdtemp(test_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_queries_on_tstop),
	    cmocka_unit_test(test_queries_on_nsys_exports),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
