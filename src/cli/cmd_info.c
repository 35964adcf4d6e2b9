/*
 * cmd_info.c - `tstop info FILE`: what a session file holds.
 *
 * Prints, in this order: the session (command, host, start time, duration,
 * tstop version, and a "synthetic session" line for generated data), the
 * processes, the devices, the tracks (streams, threads, counters, process
 * tracks) with their event counts, the event counts by kind, lost events,
 * and the file's integrity as the reader found it (for an SBT file: chunks,
 * damage, index, tail; for a session database: schema version, write-ahead
 * log, skipped rows). Text from the file goes through report_write_text, so
 * no byte of it reaches a terminal raw. A damaged file is described as far
 * as it loads, with warnings on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_common.h"
#include "cli/cmds.h"
#include "report/format.h"
#include "report/report.h"
#include "trace/meta.h"

static const char cmd_info_usage[] =
    "Usage: tstop info [OPTION]... FILE\n"
    "Describe a tstop session file, the SBT or the session database: the\n"
    "session, its processes, devices, streams and threads, event counts,\n"
    "lost events and file integrity.\n"
    "\n"
    "  -h, --help   show this help\n"
    "\n"
    "A damaged file is described as far as it can be read, with warnings on\n"
    "stderr. Exit status: 0 ok, 1 the file cannot be read, 2 usage error.\n";

/* Writes a NUL-terminated string from the session, escaped. */
static void info_text(const char *s)
{
	report_write_text(stdout, s, strlen(s));
}

/* Writes string `id` of the session, every byte, escaped. */
static void info_string(const struct trace_session *s, uint32_t id)
{
	size_t len;
	const char *p = trace_session_string(s, id, &len);
	report_write_text(stdout, p, len);
}

/* Writes a labelled line whose value is text from the file. */
static void info_field(const char *label, const char *value)
{
	printf("  %-15s", label);
	info_text(value);
	putchar('\n');
}

/* Formats `ns`, Unix time in nanoseconds in decimal, as "YYYY-MM-DD
 * HH:MM:SS UTC"; returns false when it is not a decimal number that fits
 * int64 (nothing but the number, no overflow) or not a date. */
static bool info_wall_time(const char *ns, char *out, size_t cap)
{
	if (*ns != '-' && (*ns < '0' || *ns > '9'))
		return false; /* no blanks or '+' that strtoll would take */
	char *end;
	errno = 0;
	long long v = strtoll(ns, &end, 10);
	if (end == ns || *end || errno == ERANGE)
		return false;
	long long secs = v / 1000000000ll;
	if (v % 1000000000ll < 0)
		secs--; /* before 1970: round down, not toward zero */
	time_t t = (time_t)secs;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return false;
	return strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) > 0;
}

/* Prints the session section: metadata and time range. */
static void info_session(const char *path, const struct trace_session *s)
{
	printf("session ");
	info_text(path);
	putchar('\n');
	if (cli_session_is_synthetic(s))
		printf("  synthetic session (generated, not captured): test and benchmark data only\n");
	const char *v = trace_session_meta(s, TRACE_META_COMMAND);
	info_field("command", v ? v : "(unknown)");
	v = trace_session_meta(s, TRACE_META_HOST);
	info_field("host", v ? v : "(unknown)");
	v = trace_session_meta(s, TRACE_META_START_TIME);
	char when[64];
	if (v && info_wall_time(v, when, sizeof(when))) {
		info_field("started", when);
	} else if (v) {
		printf("  %-15sunknown (bad %s value '", "started", TRACE_META_START_TIME);
		info_text(v);
		printf("')\n");
	} else {
		info_field("started", "(unknown)");
	}
	int64_t start, end;
	if (trace_session_time_range(s, &start, &end)) {
		uint64_t span = report_span_ns(start, end);
		printf("  %-15s%.6f s (%" PRIu64 " ns, from %" PRId64 " to %" PRId64 " ns)\n", "duration",
		       (double)span / 1e9, span, start, end);
	} else {
		printf("  %-15s(no events)\n", "duration");
	}
	v = trace_session_meta(s, TRACE_META_VERSION);
	info_field("tstop version", v ? v : "(unknown)");
	/* Other metadata, as it is. */
	static const char *const known[] = {TRACE_META_COMMAND, TRACE_META_HOST, TRACE_META_START_TIME,
	                                    TRACE_META_VERSION, TRACE_META_SYNTHETIC};
	for (size_t i = 0; i < trace_session_meta_count(s); i++) {
		const char *key, *value;
		trace_session_meta_at(s, i, &key, &value);
		bool skip = false;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			skip = skip || !strcmp(key, known[k]);
		if (skip)
			continue;
		printf("  ");
		info_text(key);
		printf(": ");
		info_text(value);
		putchar('\n');
	}
}

/* Prints the processes. */
static void info_processes(const struct trace_session *s)
{
	size_t n = trace_session_process_count(s);
	printf("\nprocesses (%zu)\n", n);
	if (!n)
		return;
	printf("  %-8s %-8s %-18s %s\n", "PID", "PPID", "STATE", "COMMAND");
	for (size_t i = 0; i < n; i++) {
		const struct trace_process *p = trace_session_process(s, i);
		char state[40];
		switch (p->state) {
		case TRACE_PROC_RUNNING:
			snprintf(state, sizeof(state), "running");
			break;
		case TRACE_PROC_EXITED:
			snprintf(state, sizeof(state), "exited %d", p->status);
			break;
		case TRACE_PROC_SIGNALED:
			snprintf(state, sizeof(state), "killed by signal %d", p->status);
			break;
		case TRACE_PROC_DETACHED:
			snprintf(state, sizeof(state), "detached");
			break;
		case TRACE_PROC_ENDED:
			snprintf(state, sizeof(state), "ended");
			break;
		default:
			snprintf(state, sizeof(state), "unknown (%u)", p->state);
			break;
		}
		printf("  %-8" PRIu32 " %-8" PRIu32 " %-18s ", p->pid, p->ppid, state);
		info_string(s, p->command);
		putchar('\n');
	}
}

/* Prints the devices. */
static void info_devices(const struct trace_session *s)
{
	size_t n = trace_session_device_count(s);
	printf("\ndevices (%zu)\n", n);
	if (!n)
		return;
	printf("  %-4s %-7s %-5s %-6s %-10s %s\n", "ID", "API", "CC", "SMS", "MEMORY", "NAME");
	for (size_t i = 0; i < n; i++) {
		const struct trace_device *d = trace_session_device(s, i);
		char cc[24], mem[32];
		snprintf(cc, sizeof(cc), "%u.%u", d->cc_major, d->cc_minor);
		if (d->global_memory)
			snprintf(mem, sizeof(mem), "%.1f GiB",
			         (double)d->global_memory / (1024.0 * 1024 * 1024));
		else
			snprintf(mem, sizeof(mem), "unknown");
		printf("  %-4" PRIu32 " %-7s %-5s %-6" PRIu32 " %-10s ", d->id,
		       d->api == TRACE_DEVICE_CUDA     ? "CUDA"
		       : d->api == TRACE_DEVICE_OPENCL ? "OpenCL"
		                                       : "?",
		       cc, d->sm_count, mem);
		info_string(s, d->name);
		putchar('\n');
	}
}

/* Prints the tracks of one kind with their event counts. */
static void info_tracks(const struct trace_session *s, unsigned kind)
{
	uint32_t ntracks = trace_session_track_count(s);
	size_t count = 0;
	for (uint32_t t = 1; t < ntracks; t++) {
		const struct trace_track_info *ti = trace_session_track_info(s, t);
		count += ti && ti->kind == kind;
	}
	static const char *const titles[] = {"", "threads", "streams", "counters", "process tracks"};
	printf("\n%s (%zu)\n", titles[kind], count);
	if (!count)
		return;
	switch (kind) {
	case TRACE_TRACK_STREAM:
		printf("  %-8s %-7s %-8s %-7s %-10s %s\n", "PID", "DEVICE", "CONTEXT", "STREAM", "EVENTS",
		       "LABEL");
		break;
	case TRACE_TRACK_THREAD:
		printf("  %-8s %-8s %-10s %s\n", "PID", "TID", "EVENTS", "NAME");
		break;
	case TRACE_TRACK_COUNTER:
		printf("  %-8s %-7s %-10s %s\n", "PID", "DEVICE", "EVENTS", "NAME");
		break;
	default:
		printf("  %-8s %s\n", "PID", "EVENTS");
		break;
	}
	for (uint32_t t = 1; t < ntracks; t++) {
		const struct trace_track_info *ti = trace_session_track_info(s, t);
		if (!ti || ti->kind != kind)
			continue;
		size_t n;
		trace_session_track_events(s, t, &n);
		switch (kind) {
		case TRACE_TRACK_STREAM:
			printf("  %-8" PRIu32 " %-7" PRIu32 " %-8" PRIu32 " %-7" PRIu32 " %-10zu ", ti->pid,
			       ti->device, ti->context, ti->stream, n);
			break;
		case TRACE_TRACK_THREAD:
			printf("  %-8" PRIu32 " %-8" PRIu32 " %-10zu ", ti->pid, ti->tid, n);
			break;
		case TRACE_TRACK_COUNTER:
			printf("  %-8" PRIu32 " %-7" PRIu32 " %-10zu ", ti->pid, ti->device, n);
			break;
		default:
			printf("  %-8" PRIu32 " %zu", ti->pid, n);
			break;
		}
		if (kind != TRACE_TRACK_PROCESS)
			info_string(s, ti->name);
		putchar('\n');
	}
}

/* Prints event counts by kind, and lost events. */
static void info_events(const struct trace_session *s)
{
	printf("\nevents (%" PRIu64 ")\n", trace_session_event_count(s));
	for (unsigned k = 1; k <= TRACE_KIND_MAX; k++)
		printf("  %-15s%" PRIu64 "\n", trace_kind_name(k), trace_session_kind_count(s, k));

	size_t n = trace_session_loss_count(s);
	printf("\nlost events (%" PRIu64 ")\n", trace_session_lost_total(s));
	if (!n)
		return;
	printf("  %-8s %-12s %s\n", "PID", "COUNT", "SOURCE");
	for (size_t i = 0; i < n; i++) {
		const struct trace_loss *l = trace_session_loss(s, i);
		printf("  %-8" PRIu32 " %-12" PRIu64 " ", l->pid, l->count);
		info_string(s, l->source);
		putchar('\n');
	}
}

/* Prints what the database reader found about the file itself. */
static void info_db_integrity(const struct db_read_report *rep)
{
	printf("\nfile\n");
	printf("  %-15s%" PRIu64 " bytes\n", "size", rep->file_bytes);
	printf("  %-15sSQLite session database, schema version %" PRId64 "\n", "format", rep->schema_version);
	if (rep->wal_bytes)
		printf("  %-15s%" PRIu64 " bytes not yet checkpointed (a capture may still be writing)\n",
		       "WAL", rep->wal_bytes);
	printf("  %-15s%" PRIu64 " malformed row%s\n", "skipped", rep->rows_skipped,
	       rep->rows_skipped == 1 ? "" : "s");
	for (unsigned t = 0; t < DB_READ_TABLES; t++)
		if (rep->skipped[t])
			printf("  %-15s  %" PRIu64 " in %s\n", "", rep->skipped[t], db_read_table_name(t));
	if (rep->first_problem[0]) {
		printf("  %-15s", "first problem");
		info_text(rep->first_problem);
		putchar('\n');
	}
}

/* Prints what the SBT reader found about the file itself. */
static void info_integrity(const struct sbt_read_report *rep)
{
	printf("\nfile\n");
	printf("  %-15s%" PRIu64 " bytes\n", "size", rep->file_bytes);
	printf("  %-15sSBT %u.%u\n", "format", rep->version_major, rep->version_minor);
	printf("  %-15s%" PRIu64 " (%" PRIu64 " compressed)\n", "chunks", rep->chunks,
	       rep->chunks_compressed);
	printf("  %-15s%" PRIu64 " chunks (%" PRIu64 " of unknown type), %" PRIu64 " bytes outside chunks\n",
	       "skipped", rep->chunks_skipped, rep->chunks_unknown, rep->bytes_skipped);
	printf("  %-15s%" PRIu64 " records\n", "dropped", rep->records_dropped);
	printf("  %-15s%s\n", "index", rep->has_index ? "present" : "missing");
	if (rep->truncated)
		printf("  %-15scut off at byte %" PRIu64 "\n", "tail", rep->truncated_at);
	else
		printf("  %-15scomplete\n", "tail");
	if (rep->first_problem[0]) {
		printf("  %-15s", "first problem");
		info_text(rep->first_problem);
		putchar('\n');
	}
}

/* Runs `tstop info`: argv[0] is "info"; returns the exit status. */
int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	cli_getopt_reset();
	while ((c = cli_getopt(argc, argv, "info", "h", longopts)) != CLI_OPT_END) {
		switch (c) {
		case 'h':
			fputs(cmd_info_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cli_usage_error("info", "no session file given");
	if (argc - optind > 1)
		return cli_usage_error("info", "one session file at a time");
	const char *path = argv[optind];

	struct cli_session_file file;
	struct trace_session *s = cli_open_session_file("info", path, &file);
	if (!s)
		return CLI_EXIT_ERROR;
	info_session(path, s);
	info_processes(s);
	info_devices(s);
	info_tracks(s, TRACE_TRACK_STREAM);
	info_tracks(s, TRACE_TRACK_THREAD);
	info_tracks(s, TRACE_TRACK_COUNTER);
	info_tracks(s, TRACE_TRACK_PROCESS);
	info_events(s);
	if (file.kind == CLI_SESSION_DB)
		info_db_integrity(&file.db);
	else
		info_integrity(&file.sbt);
	trace_session_delete(s);
	if (fflush(stdout) || ferror(stdout))
		return cli_error("info", "cannot write to standard output");
	return CLI_EXIT_OK;
}
