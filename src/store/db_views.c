/*
 * db_views.c - the views of the session database (see db.h and
 * docs/schema.md, which documents every column).
 *
 * Three groups, all plain SQL so that any SQLite client (sqlite3, pandas,
 * DB Browser) reads them without tstop:
 *
 *   - summary views that return what `tstop stats` reports, row for row and
 *     number for number (trace/summary.h, report/report.h): kernel_summary,
 *     api_summary, memop_time_summary, memop_size_summary, nvtx_summary.
 *     Each groups the events that are not open (flags & 0x80) by key; one
 *     window pass over them sorted by (key, value) gives each group's count,
 *     exact integer total, min, max and median (the middle value, or the
 *     mean of the two middle ones) and each value's distance to the mean,
 *     whose squares sum to the sample standard deviation (n - 1; 0 for
 *     n < 2), two-pass as summary.c computes it. Rows by total descending,
 *     then key ascending, as summary.c sorts them (nvtx_summary: then name
 *     and style, as report.c does). O(n log n): one sort of the events
 *     concerned.
 *   - convenience views: threads, streams (tracks with their names) and
 *     kernels_named (kernels with name, launch configuration and stream).
 *   - nsys-compatible views with the names, columns and meanings of an
 *     Nsight Systems SQLite export (schema 3.x), so that SQL written for
 *     nsys runs unchanged: CUPTI_ACTIVITY_KIND_{KERNEL,MEMCPY,MEMSET,
 *     RUNTIME,SYNCHRONIZATION}, NVTX_EVENTS, StringIds, ThreadNames,
 *     PROCESSES, TARGET_INFO_GPU and the ENUM_* tables their columns refer
 *     to. Ids are encoded as nsys encodes them: globalPid = 1 << 48 |
 *     pid << 24, globalTid = globalPid | tid (hardware id 0 in bits 63-56,
 *     VM id 1 in bits 55-48, as the exports have them); a name's demangled
 *     form and short name are StringIds rows at the string's id plus
 *     DB_DEMANGLED_ID_BASE and DB_SHORT_NAME_ID_BASE. Memory kinds are
 *     renumbered to nsys's ENUM_CUDA_MEM_KIND, which differs from CUPTI's.
 *     Only CUDA is in them: OpenCL API calls and the work of OpenCL devices
 *     stay in the tstop tables, as do events open when capture stopped.
 *
 * The SQL spells the model's constants as numbers; the static assertions
 * below tie each to its enum. What differs from nsys is in docs/schema.md.
 */
#include "store/db.h"

#include <sqlite3.h>

#include "trace/summary.h"

_Static_assert(TRACE_FLAG_OPEN == 128, "open events are (flags & 128) <> 0 in the views");
_Static_assert(TRACE_FLAG_NVTX_STARTEND == 1, "start/end ranges are flags & 1 in the views");
_Static_assert(TRACE_API_CUDA_RUNTIME == 1 && TRACE_API_CUDA_DRIVER == 2, "RUNTIME eventClass = domain - 1");
_Static_assert(TRACE_DEVICE_OPENCL == 2, "CUDA views leave out devices of api 2");
_Static_assert(TRACE_TRACK_THREAD == 1 && TRACE_TRACK_STREAM == 2, "track kinds of the views");
_Static_assert(TRACE_SYNC_CONTEXT == 4 && TRACE_SYNC_DEVICE == 5 && TRACE_SYNC_KIND_MAX == 5,
               "SYNCHRONIZATION reports device syncs as context syncs, as CUPTI does");
_Static_assert(TRACE_MEM_UNKNOWN == 0 && TRACE_MEM_PAGEABLE == 1 && TRACE_MEM_MANAGED_STATIC == 7,
               "ENUM_CUDA_MEM_KIND id = CUPTI kind - 1, Unknown = 7");
_Static_assert(TRACE_NVTX_PAYLOAD_U64 == 1 && TRACE_NVTX_PAYLOAD_I64 == 2 && TRACE_NVTX_PAYLOAD_DOUBLE == 3 &&
                   TRACE_NVTX_PAYLOAD_U32 == 4 && TRACE_NVTX_PAYLOAD_I32 == 5 &&
                   TRACE_NVTX_PAYLOAD_FLOAT == 6,
               "NVTX_EVENTS payload columns");
_Static_assert(TRACE_COPY_UNKNOWN == 0 && TRACE_COPY_KIND_MAX == 10 && TRACE_SUMMARY_MEMSET_KEY == 256,
               "memop keys of the memop summaries");

/* --- summary views --------------------------------------------------------- */

/*
 * The statistics of a summary, as printf arguments: the key columns (three
 * times) and the source, a SELECT of the key columns and `v`. Yields the
 * common table expressions w (each value with its rank `rn` in its group,
 * the group's count `cnt` and exact total `tot`) and g (per group: n,
 * total, min_v, max_v, med, and ss, the sum of squared deviations from
 * the mean).
 */
static const char db_views_stats_fmt[] =
    "WITH w AS (\n"
    "  SELECT %s, v,\n"
    "    ROW_NUMBER() OVER win AS rn, COUNT(*) OVER win AS cnt, SUM(v) OVER win AS tot\n"
    "  FROM (%s)\n"
    "  WINDOW win AS (PARTITION BY %s ORDER BY v\n"
    "                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)\n"
    "), g AS (\n"
    "  SELECT %s, MAX(cnt) AS n, MAX(tot) AS total, MIN(v) AS min_v, MAX(v) AS max_v,\n"
    "    AVG(CASE WHEN rn IN ((cnt + 1) / 2, cnt / 2 + 1) THEN v END) AS med,\n"
    "    SUM((v - CAST(tot AS REAL) / cnt) * (v - CAST(tot AS REAL) / cnt)) AS ss\n"
    "  FROM w GROUP BY %s\n"
    ")";

/* The statistics columns of a duration summary over g, as report.c's
 * DURATION_COLS; printf argument: the name of the count column. */
static const char db_views_duration_fmt[] =
    "  CASE WHEN SUM(g.total) OVER () > 0\n"
    "    THEN CAST(g.total AS REAL) / SUM(g.total) OVER () * 100.0 ELSE 0.0 END AS time_percent,\n"
    "  g.total AS total_ns, g.n AS %s, CAST(g.total AS REAL) / g.n AS avg_ns, g.med AS med_ns,\n"
    "  g.min_v AS min_ns, g.max_v AS max_ns,\n"
    "  CASE WHEN g.n > 1 THEN sqrt(g.ss / (g.n - 1)) ELSE 0.0 END AS stddev_ns";

/* The memory operations of the memop summaries, measured by the printf
 * argument (twice): memcpys keyed by copy kind (Unknown when out of range)
 * and memsets keyed TRACE_SUMMARY_MEMSET_KEY, as trace_summary_memop_key. */
static const char db_views_memop_fmt[] =
    "SELECT CASE WHEN e.copy_kind BETWEEN 0 AND 10 THEN e.copy_kind ELSE 0 END AS key, %s AS v\n"
    "    FROM memcpys e WHERE (e.flags & 128) = 0\n"
    "  UNION ALL SELECT 256, %s FROM memsets e WHERE (e.flags & 128) = 0";

/* Appends to `q` the per-name duration summary view `view` over the events
 * of `table`, its count column named `count`. */
static void db_views_name_summary(sqlite3_str *q, const char *view, const char *table, const char *count)
{
	char *source =
	    sqlite3_mprintf("SELECT name AS key, end - start AS v FROM %s WHERE (flags & 128) = 0", table);
	sqlite3_str_appendf(q, "CREATE VIEW %s AS\n", view);
	sqlite3_str_appendf(q, db_views_stats_fmt, "key", source, "key", "key", "key");
	sqlite3_free(source);
	sqlite3_str_appendall(q, "\nSELECT\n");
	sqlite3_str_appendf(q, db_views_duration_fmt, count);
	sqlite3_str_appendall(q, ",\n"
	                         "  COALESCE(s.demangled, s.value, '') AS name\n"
	                         "FROM g LEFT JOIN strings s ON s.id = g.key\n"
	                         "ORDER BY g.total DESC, g.key;\n");
}

/* Appends to `q` the CTE `ops(key, operation)`: each memop key with its
 * name as trace_summary_memop_name gives it. */
static void db_views_memop_names(sqlite3_str *q)
{
	sqlite3_str_appendall(q, ",\nops(key, operation) AS (VALUES ");
	for (uint32_t k = 0; k <= TRACE_COPY_KIND_MAX; k++)
		sqlite3_str_appendf(q, "(%u, %Q), ", k, trace_summary_memop_name(k));
	sqlite3_str_appendf(q, "(%u, %Q))", TRACE_SUMMARY_MEMSET_KEY,
	                    trace_summary_memop_name(TRACE_SUMMARY_MEMSET_KEY));
}

/* Appends to `q` memop_time_summary (cuda_gpu_mem_time_sum) and
 * memop_size_summary (cuda_gpu_mem_size_sum, in MB of 1e6 bytes). */
static void db_views_memop_summaries(sqlite3_str *q)
{
	char *source = sqlite3_mprintf(db_views_memop_fmt, "end - start", "end - start");
	sqlite3_str_appendall(q, "CREATE VIEW memop_time_summary AS\n");
	sqlite3_str_appendf(q, db_views_stats_fmt, "key", source, "key", "key", "key");
	sqlite3_free(source);
	db_views_memop_names(q);
	sqlite3_str_appendall(q, "\nSELECT\n");
	sqlite3_str_appendf(q, db_views_duration_fmt, "count");
	sqlite3_str_appendall(q, ",\n"
	                         "  ops.operation AS operation\n"
	                         "FROM g LEFT JOIN ops ON ops.key = g.key\n"
	                         "ORDER BY g.total DESC, g.key;\n");

	source = sqlite3_mprintf(db_views_memop_fmt, "bytes", "bytes");
	sqlite3_str_appendall(q, "CREATE VIEW memop_size_summary AS\n");
	sqlite3_str_appendf(q, db_views_stats_fmt, "key", source, "key", "key", "key");
	sqlite3_free(source);
	db_views_memop_names(q);
	sqlite3_str_appendall(
	    q, "\nSELECT\n"
	       "  CAST(g.total AS REAL) / 1e6 AS total_mb, g.n AS count,\n"
	       "  CAST(g.total AS REAL) / g.n / 1e6 AS avg_mb, g.med / 1e6 AS med_mb,\n"
	       "  g.min_v / 1e6 AS min_mb, g.max_v / 1e6 AS max_mb,\n"
	       "  CASE WHEN g.n > 1 THEN sqrt(g.ss / (g.n - 1)) ELSE 0.0 END / 1e6 AS stddev_mb,\n"
	       "  ops.operation AS operation\n"
	       "FROM g LEFT JOIN ops ON ops.key = g.key\n"
	       "ORDER BY g.total DESC, g.key;\n");
}

/* Appends to `q` nvtx_summary (nvtx_sum): one row per range name and
 * style, Time (%) over both styles; rows by total, then shown name, then
 * PushPop before StartEnd. */
static void db_views_nvtx_summary(sqlite3_str *q)
{
	sqlite3_str_appendall(q, "CREATE VIEW nvtx_summary AS\n");
	sqlite3_str_appendf(q, db_views_stats_fmt, "key, style",
	                    "SELECT name AS key, flags & 1 AS style, end - start AS v FROM nvtx_ranges"
	                    " WHERE (flags & 128) = 0",
	                    "key, style", "key, style", "key, style");
	sqlite3_str_appendall(q, "\nSELECT\n");
	sqlite3_str_appendf(q, db_views_duration_fmt, "instances");
	sqlite3_str_appendall(q, ",\n"
	                         "  CASE g.style WHEN 1 THEN 'StartEnd' ELSE 'PushPop' END AS style,\n"
	                         "  COALESCE(s.demangled, s.value, '') AS range\n"
	                         "FROM g LEFT JOIN strings s ON s.id = g.key\n"
	                         "ORDER BY g.total DESC, range, g.style;\n");
}

/* --- convenience views ------------------------------------------------------ */

static const char db_views_convenience[] =
    /* Host threads, named. */
    "CREATE VIEW threads AS\n"
    "SELECT t.id AS track, t.pid AS pid, t.tid AS tid, NULLIF(s.value, '') AS name,\n"
    "  (1 << 48) | (t.pid << 24) | t.tid AS global_tid\n"
    "FROM tracks t LEFT JOIN strings s ON s.id = t.name\n"
    "WHERE t.kind = 1;\n"
    /* GPU streams and OpenCL queues, with their device. */
    "CREATE VIEW streams AS\n"
    "SELECT t.id AS track, t.pid AS pid, t.device AS device, t.context AS context, t.stream AS stream,\n"
    "  NULLIF(s.value, '') AS name, NULLIF(ds.value, '') AS device_name, da.name AS api\n"
    "FROM tracks t LEFT JOIN strings s ON s.id = t.name\n"
    "  LEFT JOIN devices d ON d.id = t.device LEFT JOIN strings ds ON ds.id = d.name\n"
    "  LEFT JOIN enum_device_api da ON da.id = d.api\n"
    "WHERE t.kind = 2;\n"
    /* Every kernel with its name, stream and launch configuration. */
    "CREATE VIEW kernels_named AS\n"
    "SELECT k.start AS start, k.end AS end, k.end - k.start AS duration_ns,\n"
    "  COALESCE(s.demangled, s.value) AS name, COALESCE(s.short_name, s.value) AS short_name,\n"
    "  k.correlation AS correlation, t.pid AS pid, t.device AS device, t.context AS context,\n"
    "  t.stream AS stream, k.track AS track,\n"
    "  l.grid_x AS grid_x, l.grid_y AS grid_y, l.grid_z AS grid_z,\n"
    "  l.block_x AS block_x, l.block_y AS block_y, l.block_z AS block_z,\n"
    "  l.registers AS registers, l.static_smem AS static_smem, l.dynamic_smem AS dynamic_smem,\n"
    "  (k.flags & 128) <> 0 AS open, k.name AS name_id\n"
    "FROM kernels k LEFT JOIN strings s ON s.id = k.name LEFT JOIN tracks t ON t.id = k.track\n"
    "  LEFT JOIN launches l ON l.id = k.launch;\n";

/* --- nsys-compatible views ---------------------------------------------------- */

/*
 * GPU work and API calls. Every GPU view starts with the same columns, from
 * event e on stream track t, and leaves out open events and the work of
 * OpenCL devices (d.api 2). nsys's ENUM_CUDA_MEM_KIND numbers memory kinds
 * from Pageable = 0 with Unknown last (7); tstop keeps CUPTI's numbers
 * (Unknown = 0, Pageable = 1), hence kind - 1. printf arguments: the
 * demangled and short name id bases.
 */
static const char db_views_nsys_cuda_fmt[] =
    "CREATE VIEW CUPTI_ACTIVITY_KIND_KERNEL AS\n"
    "SELECT e.start AS start, e.end AS end, t.device AS deviceId, t.context AS contextId,\n"
    "  NULL AS greenContextId, t.stream AS streamId, e.correlation AS correlationId,\n"
    "  (1 << 48) | (t.pid << 24) AS globalPid,\n"
    "  CASE WHEN s.demangled IS NOT NULL THEN e.name + %lld ELSE e.name END AS demangledName,\n"
    "  CASE WHEN s.short_name IS NOT NULL THEN e.name + %lld ELSE e.name END AS shortName,\n"
    "  e.name AS mangledName, NULL AS launchType, NULL AS cacheConfig,\n"
    "  l.registers AS registersPerThread, l.grid_x AS gridX, l.grid_y AS gridY, l.grid_z AS gridZ,\n"
    "  l.block_x AS blockX, l.block_y AS blockY, l.block_z AS blockZ,\n"
    "  l.static_smem AS staticSharedMemory, l.dynamic_smem AS dynamicSharedMemory,\n"
    "  NULL AS localMemoryPerThread, NULL AS localMemoryTotal, NULL AS gridId,\n"
    "  NULL AS sharedMemoryExecuted, NULL AS graphNodeId, NULL AS sharedMemoryLimitConfig\n"
    "FROM kernels e LEFT JOIN tracks t ON t.id = e.track LEFT JOIN devices d ON d.id = t.device\n"
    "  LEFT JOIN strings s ON s.id = e.name LEFT JOIN launches l ON l.id = e.launch\n"
    "WHERE (e.flags & 128) = 0 AND d.api IS NOT 2;\n"
    "CREATE VIEW CUPTI_ACTIVITY_KIND_MEMCPY AS\n"
    "SELECT e.start AS start, e.end AS end, t.device AS deviceId, t.context AS contextId,\n"
    "  NULL AS greenContextId, t.stream AS streamId, e.correlation AS correlationId,\n"
    "  (1 << 48) | (t.pid << 24) AS globalPid,\n"
    "  e.bytes AS bytes, e.copy_kind AS copyKind, NULL AS deprecatedSrcId,\n"
    "  CASE WHEN e.src_kind BETWEEN 1 AND 7 THEN e.src_kind - 1 ELSE 7 END AS srcKind,\n"
    "  CASE WHEN e.dst_kind BETWEEN 1 AND 7 THEN e.dst_kind - 1 ELSE 7 END AS dstKind,\n"
    "  NULL AS srcDeviceId, NULL AS srcContextId, NULL AS dstDeviceId, NULL AS dstContextId,\n"
    "  NULL AS migrationCause, NULL AS graphNodeId, NULL AS virtualAddress\n"
    "FROM memcpys e LEFT JOIN tracks t ON t.id = e.track LEFT JOIN devices d ON d.id = t.device\n"
    "WHERE (e.flags & 128) = 0 AND d.api IS NOT 2;\n"
    "CREATE VIEW CUPTI_ACTIVITY_KIND_MEMSET AS\n"
    "SELECT e.start AS start, e.end AS end, t.device AS deviceId, t.context AS contextId,\n"
    "  NULL AS greenContextId, t.stream AS streamId, e.correlation AS correlationId,\n"
    "  (1 << 48) | (t.pid << 24) AS globalPid,\n"
    "  NULL AS value, e.bytes AS bytes, NULL AS graphNodeId,\n"
    "  CASE WHEN e.mem_kind BETWEEN 1 AND 7 THEN e.mem_kind - 1 ELSE 7 END AS memKind\n"
    "FROM memsets e LEFT JOIN tracks t ON t.id = e.track LEFT JOIN devices d ON d.id = t.device\n"
    "WHERE (e.flags & 128) = 0 AND d.api IS NOT 2;\n"
    "CREATE VIEW CUPTI_ACTIVITY_KIND_SYNCHRONIZATION AS\n"
    "SELECT e.start AS start, e.end AS end, t.device AS deviceId, t.context AS contextId,\n"
    "  NULL AS greenContextId, t.stream AS streamId, e.correlation AS correlationId,\n"
    "  (1 << 48) | (t.pid << 24) AS globalPid,\n"
    "  CASE WHEN e.sync_kind BETWEEN 0 AND 4 THEN e.sync_kind WHEN e.sync_kind = 5 THEN 4 ELSE 0 END\n"
    "    AS syncType,\n"
    "  e.event AS eventId\n"
    "FROM syncs e LEFT JOIN tracks t ON t.id = e.track LEFT JOIN devices d ON d.id = t.device\n"
    "WHERE (e.flags & 128) = 0 AND d.api IS NOT 2;\n"
    /* Runtime (eventClass 0) and driver (1) calls, as nsys keeps both. */
    "CREATE VIEW CUPTI_ACTIVITY_KIND_RUNTIME AS\n"
    "SELECT e.start AS start, e.end AS end, e.domain - 1 AS eventClass,\n"
    "  (1 << 48) | (t.pid << 24) | t.tid AS globalTid, e.correlation AS correlationId,\n"
    "  e.name AS nameId, e.result AS returnValue, NULLIF(e.stack, 0) AS callchainId\n"
    "FROM api_calls e LEFT JOIN tracks t ON t.id = e.track\n"
    "WHERE e.domain IN (1, 2) AND (e.flags & 128) = 0;\n";

/*
 * NVTX_EVENTS: push/pop (eventType 59) and start/end (60) ranges, marks
 * (34), and one domain creation (75) per named domain, at its first event.
 * An open range has end NULL, as has a mark. Payloads are kept as raw bits
 * (db_schema.c); doubleValue and floatValue rebuild the IEEE value from
 * them (sign, exponent, mantissa; a NaN reads NULL, SQLite having none).
 */
static const char db_views_nsys_nvtx[] =
    "CREATE VIEW NVTX_EVENTS AS\n"
    "SELECT x.start AS start, x.end AS end, x.eventType AS eventType, x.rangeId AS rangeId,\n"
    "  NULLIF(a.category, 0) AS category, a.color AS color, s.value AS text,\n"
    "  (1 << 48) | (t.pid << 24) | t.tid AS globalTid, NULL AS endGlobalTid, NULL AS textId,\n"
    "  COALESCE(a.domain, 0) AS domainId,\n"
    "  CASE a.payload_type WHEN 1 THEN a.payload END AS uint64Value,\n"
    "  CASE a.payload_type WHEN 2 THEN a.payload END AS int64Value,\n"
    "  CASE a.payload_type WHEN 3 THEN\n"
    "    CASE WHEN a.payload < 0 THEN -1.0 ELSE 1.0 END * CASE (a.payload >> 52) & 2047\n"
    "      WHEN 2047 THEN CASE WHEN (a.payload & 4503599627370495) = 0 THEN 1e999 END\n"
    "      WHEN 0 THEN (a.payload & 4503599627370495) * pow(2.0, -1074)\n"
    "      ELSE (4503599627370496 + (a.payload & 4503599627370495))\n"
    "           * pow(2.0, ((a.payload >> 52) & 2047) - 1075) END\n"
    "  END AS doubleValue,\n"
    "  CASE a.payload_type WHEN 4 THEN a.payload & 4294967295 END AS uint32Value,\n"
    "  CASE a.payload_type WHEN 5 THEN (a.payload & 4294967295)\n"
    "    - CASE WHEN (a.payload & 2147483648) <> 0 THEN 4294967296 ELSE 0 END END AS int32Value,\n"
    "  CASE a.payload_type WHEN 6 THEN\n"
    "    CASE WHEN (a.payload & 2147483648) <> 0 THEN -1.0 ELSE 1.0 END * CASE (a.payload >> 23) & 255\n"
    "      WHEN 255 THEN CASE WHEN (a.payload & 8388607) = 0 THEN 1e999 END\n"
    "      WHEN 0 THEN (a.payload & 8388607) * pow(2.0, -149)\n"
    "      ELSE (8388608 + (a.payload & 8388607)) * pow(2.0, ((a.payload >> 23) & 255) - 150) END\n"
    "  END AS floatValue,\n"
    "  NULL AS jsonTextId, NULL AS jsonText\n"
    "FROM (SELECT start, CASE WHEN (flags & 128) = 0 THEN end END AS end,\n"
    "        CASE WHEN (flags & 1) <> 0 THEN 60 ELSE 59 END AS eventType,\n"
    "        CASE WHEN (flags & 1) <> 0 THEN NULLIF(correlation, 0) END AS rangeId,\n"
    "        track, attr, name\n"
    "      FROM nvtx_ranges\n"
    "      UNION ALL\n"
    "      SELECT start, NULL, 34, NULL, track, attr, name FROM nvtx_marks) x\n"
    "  LEFT JOIN tracks t ON t.id = x.track LEFT JOIN nvtx_attrs a ON a.id = x.attr\n"
    "  LEFT JOIN strings s ON s.id = x.name\n"
    "UNION ALL\n"
    "SELECT MIN(x.start), NULL, 75, NULL, NULL, NULL, ds.value,\n"
    "  (1 << 48) | (t.pid << 24) | t.tid, NULL, NULL, x.domain,\n"
    "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL\n"
    "FROM (SELECT e.start AS start, e.track AS track, a.domain AS domain\n"
    "        FROM nvtx_ranges e JOIN nvtx_attrs a ON a.id = e.attr WHERE a.domain <> 0\n"
    "      UNION ALL\n"
    "      SELECT e.start, e.track, a.domain\n"
    "        FROM nvtx_marks e JOIN nvtx_attrs a ON a.id = e.attr WHERE a.domain <> 0) x\n"
    "  LEFT JOIN tracks t ON t.id = x.track LEFT JOIN strings ds ON ds.id = x.domain\n"
    "GROUP BY x.domain;\n";

/* Strings, threads, devices and nsys's enumerations. printf arguments: the
 * demangled and short name id bases. */
static const char db_views_nsys_names_fmt[] =
    /* Every string, then the demangled forms and the short names at their
     * offsets (db.h). */
    "CREATE VIEW StringIds AS\n"
    "SELECT id, value FROM strings\n"
    "UNION ALL SELECT id + %lld, demangled FROM strings WHERE demangled IS NOT NULL\n"
    "UNION ALL SELECT id + %lld, short_name FROM strings WHERE short_name IS NOT NULL;\n"
    "CREATE VIEW ThreadNames AS\n"
    "SELECT t.name AS nameId, NULL AS priority, (1 << 48) | (t.pid << 24) | t.tid AS globalTid\n"
    "FROM tracks t WHERE t.kind = 1 AND t.name <> 0;\n"
    /* CUDA devices; memoryBandwidth as nsys computes it, from the memory
     * clock (double data rate) and bus width. */
    "CREATE VIEW TARGET_INFO_GPU AS\n"
    "SELECT (1 << 48) AS vmId, d.id AS id, s.value AS name, NULL AS busLocation, NULL AS isDiscrete,\n"
    "  NULL AS l2CacheSize, NULLIF(d.global_memory, 0) AS totalMemory,\n"
    "  NULLIF(d.memory_clock_khz * 1000 * 2 * (d.memory_bus_width / 8), 0) AS memoryBandwidth,\n"
    "  NULLIF(d.core_clock_khz * 1000, 0) AS clockRate, NULLIF(d.sm_count, 0) AS smCount,\n"
    "  NULL AS pwGpuId,\n"
    "  CASE WHEN d.uuid IS NOT NULL AND d.uuid <> zeroblob(16) THEN\n"
    "    lower(substr(hex(d.uuid), 1, 8) || '-' || substr(hex(d.uuid), 9, 4) || '-' ||\n"
    "          substr(hex(d.uuid), 13, 4) || '-' || substr(hex(d.uuid), 17, 4) || '-' ||\n"
    "          substr(hex(d.uuid), 21)) END AS uuid,\n"
    "  NULL AS luid, NULL AS chipName, d.id AS cuDevice, NULL AS ctxswDevPath, NULL AS ctrlDevPath,\n"
    "  NULL AS revision, NULL AS nodeMask, NULL AS constantMemory, NULL AS maxIPC,\n"
    "  NULLIF(d.regs_per_block, 0) AS maxRegistersPerBlock, NULLIF(d.smem_per_block, 0) AS "
    "maxShmemPerBlock,\n"
    "  NULL AS maxShmemPerBlockOptin, NULLIF(d.smem_per_sm, 0) AS maxShmemPerSm,\n"
    "  NULLIF(d.regs_per_sm, 0) AS maxRegistersPerSm, NULLIF(d.warp_size, 0) AS threadsPerWarp,\n"
    "  NULL AS asyncEngines,\n"
    "  CASE WHEN d.warp_size > 0 THEN NULLIF(d.max_threads_per_sm / d.warp_size, 0) END AS maxWarpsPerSm,\n"
    "  NULLIF(d.max_blocks_per_sm, 0) AS maxBlocksPerSm,\n"
    "  NULLIF(d.max_threads_per_block, 0) AS maxThreadsPerBlock,\n"
    "  NULL AS maxBlockDimX, NULL AS maxBlockDimY, NULL AS maxBlockDimZ,\n"
    "  NULL AS maxGridDimX, NULL AS maxGridDimY, NULL AS maxGridDimZ,\n"
    "  d.cc_major AS computeMajor, d.cc_minor AS computeMinor, d.cc_major AS smMajor,\n"
    "  d.cc_minor AS smMinor\n"
    "FROM devices d LEFT JOIN strings s ON s.id = d.name\n"
    "WHERE d.api IS NOT 2;\n"
    /* nsys's enumerations, with the ids, symbols and labels of its exports. */
    "CREATE VIEW ENUM_CUDA_MEMCPY_OPER(id, name, label) AS VALUES\n"
    "  (0, 'CUDA_MEMCPY_KIND_UNKNOWN', 'Unknown'), (1, 'CUDA_MEMCPY_KIND_HTOD', 'Host-to-Device'),\n"
    "  (2, 'CUDA_MEMCPY_KIND_DTOH', 'Device-to-Host'), (3, 'CUDA_MEMCPY_KIND_HTOA', 'Host-to-Array'),\n"
    "  (4, 'CUDA_MEMCPY_KIND_ATOH', 'Array-to-Host'), (5, 'CUDA_MEMCPY_KIND_ATOA', 'Array-to-Array'),\n"
    "  (6, 'CUDA_MEMCPY_KIND_ATOD', 'Array-to-Device'), (7, 'CUDA_MEMCPY_KIND_DTOA', 'Device-to-Array'),\n"
    "  (8, 'CUDA_MEMCPY_KIND_DTOD', 'Device-to-Device'), (9, 'CUDA_MEMCPY_KIND_HTOH', 'Host-to-Host'),\n"
    "  (10, 'CUDA_MEMCPY_KIND_PTOP', 'Peer-to-Peer'),\n"
    "  (11, 'CUDA_MEMCPY_KIND_UVM_HTOD', 'Unified Host-to-Device'),\n"
    "  (12, 'CUDA_MEMCPY_KIND_UVM_DTOH', 'Unified Device-to-Host'),\n"
    "  (13, 'CUDA_MEMCPY_KIND_UVM_DTOD', 'Unified Device-to-Device');\n"
    "CREATE VIEW ENUM_CUDA_MEM_KIND(id, name, label) AS VALUES\n"
    "  (0, 'CUDA_MEMOPR_MEMORY_KIND_PAGEABLE', 'Pageable'), (1, 'CUDA_MEMOPR_MEMORY_KIND_PINNED', "
    "'Pinned'),\n"
    "  (2, 'CUDA_MEMOPR_MEMORY_KIND_DEVICE', 'Device'), (3, 'CUDA_MEMOPR_MEMORY_KIND_ARRAY', 'Array'),\n"
    "  (4, 'CUDA_MEMOPR_MEMORY_KIND_MANAGED', 'Managed'),\n"
    "  (5, 'CUDA_MEMOPR_MEMORY_KIND_DEVICE_STATIC', 'Device Static'),\n"
    "  (6, 'CUDA_MEMOPR_MEMORY_KIND_MANAGED_STATIC', 'Managed Static'),\n"
    "  (7, 'CUDA_MEMOPR_MEMORY_KIND_UNKNOWN', 'Unknown');\n"
    "CREATE VIEW ENUM_CUPTI_SYNC_TYPE(id, name, label) AS VALUES\n"
    "  (0, 'CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_UNKNOWN', 'Unknown'),\n"
    "  (1, 'CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_EVENT_SYNCHRONIZE', 'Event sync'),\n"
    "  (2, 'CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_WAIT_EVENT', 'Stream wait sync'),\n"
    "  (3, 'CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE', 'Stream sync'),\n"
    "  (4, 'CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_CONTEXT_SYNCHRONIZE', 'Context sync');\n";

/* PROCESSES; the process name is the command line's first word. */
static const char db_views_nsys_processes[] =
    "CREATE VIEW PROCESSES AS\n"
    "SELECT (1 << 48) | (p.pid << 24) AS globalPid, p.pid AS pid,\n"
    "  CASE WHEN instr(s.value, ' ') > 0 THEN substr(s.value, 1, instr(s.value, ' ') - 1) ELSE s.value END\n"
    "    AS name\n"
    "FROM target_processes p LEFT JOIN strings s ON s.id = p.command;\n";

/* Creates the views; see db.h. Runs in the caller's transaction. */
int db_views_create(struct sqlite3 *db, struct err *e)
{
	sqlite3_str *q = sqlite3_str_new(db);
	db_views_name_summary(q, "kernel_summary", "kernels", "instances");
	db_views_name_summary(q, "api_summary", "api_calls", "num_calls");
	db_views_memop_summaries(q);
	db_views_nvtx_summary(q);
	sqlite3_str_appendall(q, db_views_convenience);
	sqlite3_str_appendf(q, db_views_nsys_cuda_fmt, (long long)DB_DEMANGLED_ID_BASE,
	                    (long long)DB_SHORT_NAME_ID_BASE);
	sqlite3_str_appendall(q, db_views_nsys_nvtx);
	sqlite3_str_appendf(q, db_views_nsys_names_fmt, (long long)DB_DEMANGLED_ID_BASE,
	                    (long long)DB_SHORT_NAME_ID_BASE);
	sqlite3_str_appendall(q, db_views_nsys_processes);
	if (sqlite3_str_errcode(q) != SQLITE_OK) {
		sqlite3_free(sqlite3_str_finish(q));
		return err_fmt(e, "creating the views: out of memory");
	}
	char *sql = sqlite3_str_finish(q);
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	sqlite3_free(sql);
	if (rc != SQLITE_OK) {
		err_fmt(e, "creating the views: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}
