/*
 * cmd_stats.c - `tstop stats FILE`: nsys-style summary reports.
 *
 * Loads the session, then builds, writes and frees the chosen reports one
 * at a time (report.h, format.h), so memory stays that of the session plus
 * one report. Reports are chosen with --report (repeatable, or a comma
 * separated list), all of them by default, in the order report.h lists
 * them unless given. A synthetic session is announced in table form and on
 * stderr otherwise, so that generated data is never taken for a capture.
 * -o never overwrites the session file read, nor any other SBT file, and
 * replaces its file only once the whole output is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_common.h"
#include "cli/cmds.h"
#include "report/format.h"
#include "report/report.h"
#include "util/xalloc.h"

static const char cmd_stats_usage[] =
    "Usage: tstop stats [OPTION]... FILE.sbt\n"
    "Print summary reports of a tstop session, with the names and columns of\n"
    "'nsys stats'.\n"
    "\n"
    "  -r, --report NAME    a report to print (repeatable, or NAME,NAME,...);\n"
    "                       default: all of them\n"
    "  -f, --format FORMAT  table (default), csv or json\n"
    "  -o, --output FILE    write to FILE instead of standard output; FILE is\n"
    "                       replaced only once all is written, and never when\n"
    "                       it is the session file or another SBT file\n"
    "  -h, --help           show this help\n"
    "\n"
    "Reports (the 'cuda_' prefix may be left out):\n"
    "  cuda_gpu_kern_sum      GPU kernels: time, instances, statistics per kernel\n"
    "  cuda_api_sum           host API calls (CUDA runtime, driver, OpenCL) per function\n"
    "  cuda_gpu_mem_time_sum  GPU memory operations by time, per operation\n"
    "  cuda_gpu_mem_size_sum  GPU memory operations by size (MB = 1e6 bytes)\n"
    "  nvtx_sum               NVTX ranges per name and style\n"
    "  cuda_gpu_trace         every kernel, copy and memset in start order\n"
    "\n"
    "Exit status: 0 ok, 1 the file cannot be read or the output written, 2 usage error.\n";

/* Appends the report ids named in `list` (comma separated) to ids[*n],
 * skipping repeats. Returns 0, or the usage-error status after printing. */
static int stats_add_reports(const char *list, int *ids, size_t *n)
{
	char *copy = xstrdup(list);
	int rc = 0;
	char *save = NULL;
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		int id = report_find(name);
		if (id < 0) {
			char known[256];
			size_t k = 0;
			for (int i = 0; i < REPORT_COUNT && k < sizeof(known); i++)
				k += (size_t)snprintf(known + k, sizeof(known) - k, "%s%s", i ? ", " : "",
				                      report_def((enum report_id)i)->name);
			rc = cli_usage_error("stats", "unknown report '%s'; known reports: %s", name, known);
			break;
		}
		bool seen = false;
		for (size_t i = 0; i < *n; i++)
			seen = seen || ids[i] == id;
		if (!seen)
			ids[(*n)++] = id;
	}
	if (!rc && !*n)
		rc = cli_usage_error("stats", "empty report list");
	free(copy);
	return rc;
}

/* Runs `tstop stats`: argv[0] is "stats"; returns the exit status. */
int cmd_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"report", required_argument, NULL, 'r'},
	    {"format", required_argument, NULL, 'f'},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ids[REPORT_COUNT];
	size_t nids = 0;
	enum report_format format = REPORT_FORMAT_TABLE;
	const char *out_path = NULL;
	int c, rc;

	cli_getopt_reset();
	while ((c = cli_getopt(argc, argv, "stats", "r:f:o:h", longopts)) != CLI_OPT_END) {
		switch (c) {
		case 'r':
			if ((rc = stats_add_reports(optarg, ids, &nids)))
				return rc;
			break;
		case 'f':
			if (report_format_parse(optarg, &format))
				return cli_usage_error("stats", "unknown format '%s' (table, csv or json)",
				                       optarg);
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			fputs(cmd_stats_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cli_usage_error("stats", "no session file given");
	if (argc - optind > 1)
		return cli_usage_error("stats", "one session file at a time");
	const char *path = argv[optind];
	if (!nids)
		for (int i = 0; i < REPORT_COUNT; i++)
			ids[nids++] = i;

	struct cli_output o = {0};
	FILE *out = stdout;
	if (out_path) {
		if ((rc = cli_output_open("stats", &o, out_path, path, "session file", NULL, "a report"))) {
			cli_output_close(&o, false, NULL);
			return rc;
		}
		out = o.f;
	}
	struct trace_session *s = cli_open_session("stats", path, NULL);
	if (!s) {
		if (out_path)
			cli_output_close(&o, false, NULL);
		return CLI_EXIT_ERROR;
	}
	bool synthetic = cli_session_is_synthetic(s);
	if (synthetic && format == REPORT_FORMAT_TABLE)
		fprintf(
		    out,
		    " NOTE: synthetic session (generated, not captured): test and benchmark data only.\n\n");
	else if (synthetic)
		cli_warn("stats", "%s is a synthetic session (generated, not captured)", path);

	struct report_writer w;
	struct err e = {{0}};
	report_writer_init(&w, out, format, nids > 1);
	rc = CLI_EXIT_OK;
	for (size_t i = 0; i < nids && rc == CLI_EXIT_OK; i++) {
		struct report *r = report_build(s, (enum report_id)ids[i]);
		if (report_writer_add(&w, r, &e))
			rc = CLI_EXIT_ERROR;
		report_free(r);
	}
	if (rc == CLI_EXIT_OK && report_writer_finish(&w, &e))
		rc = CLI_EXIT_ERROR;
	if (out_path && cli_output_close(&o, rc == CLI_EXIT_OK, &e))
		rc = CLI_EXIT_ERROR;
	trace_session_delete(s);
	if (rc != CLI_EXIT_OK)
		cli_error("stats", "%s", e.msg);
	return rc;
}
