/*
 * cmd_export.c - `tstop export --kineto|--perfetto FILE [-o OUT]`: a session
 * in other tools' formats (export/export.h, docs/export.md).
 *
 * Loads the session (SBT or database) and streams it through the chosen
 * exporter into a temporary file beside the output, renamed into place only
 * when everything was written (cli_output_open/close), so a failed run
 * leaves the old file, or none. The output defaults to FILE with its .sbt
 * or .db suffix replaced by .json (.json.gz with --gzip) or
 * .perfetto-trace; an output name ending in .gz means gzip. An existing
 * output is replaced only with -f; `-o -` writes to standard output. On a
 * terminal the progress shows on stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/capture_cli.h"
#include "cli/cli_common.h"
#include "cli/cmds.h"
#include "export/export.h"
#include "report/format.h"
#include "util/xalloc.h"

#define EXPORT_PROGRESS_NS 100000000 /* between progress lines on a terminal */

static const char cmd_export_usage[] =
    "Usage: tstop export (--kineto | --perfetto) [OPTION]... FILE\n"
    "Write a tstop session (an SBT file or a session database) in another\n"
    "tool's format:\n"
    "  -k, --kineto       the JSON trace PyTorch's profiler (Kineto) writes, for\n"
    "                     Perfetto UI, chrome://tracing, Holistic Trace Analysis\n"
    "                     and TensorBoard; gzip-compressed when OUT ends in .gz\n"
    "  -p, --perfetto     a native Perfetto protobuf trace, for sessions too\n"
    "                     big for JSON viewers\n"
    "\n"
    "  -o, --output OUT   write OUT (default: FILE with .sbt or .db replaced by\n"
    "                     .json, .json.gz or .perfetto-trace); - for standard\n"
    "                     output\n"
    "  -z, --gzip         gzip the Kineto JSON (default name NAME.json.gz)\n"
    "  -f, --force        replace OUT when it exists\n"
    "  -q, --quiet        print nothing but errors and warnings\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit status: 0 ok, 1 the session cannot be read or the output written (no\n"
    "partial file is left), 2 usage error.\n";

/* The default output of session file `in`: its .sbt or .db suffix replaced
 * by `suffix`, or `suffix` added. The caller frees it. */
static char *export_default_path(const char *in, const char *suffix)
{
	size_t n = strlen(in);
	if (n > 4 && !strcmp(in + n - 4, ".sbt"))
		n -= 4;
	else if (n > 3 && !strcmp(in + n - 3, ".db"))
		n -= 3;
	size_t m = strlen(suffix);
	char *out = xmalloc(n + m + 1);
	memcpy(out, in, n);
	memcpy(out + n, suffix, m + 1);
	return out;
}

/* Whether `s` ends in `tail`. */
static bool export_ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && !strcmp(s + n - m, tail);
}

/* Progress of an export on a terminal. */
struct export_progress {
	const char *path;
	bool shown;
	int64_t last;
};

/* Draws "tstop export: writing PATH: N% (D of T events)" at most every
 * EXPORT_PROGRESS_NS; an export_progress_fn. */
static void export_progress_line(void *arg, uint64_t done, uint64_t total)
{
	struct export_progress *p = arg;
	int64_t now = cli_capture_now();
	if (p->shown && now - p->last < EXPORT_PROGRESS_NS && done < total)
		return;
	p->last = now;
	p->shown = true;
	fputs("\rtstop export: writing ", stderr);
	report_write_text(stderr, p->path, strlen(p->path));
	fprintf(stderr, ": %3d%% (%" PRIu64 " of %" PRIu64 " events)\033[K",
	        total ? (int)(done * 100 / total) : 100, done, total);
	fflush(stderr);
}

/* Runs `tstop export`: argv[0] is "export"; returns the exit status. */
int cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"kineto", no_argument, NULL, 'k'},       {"perfetto", no_argument, NULL, 'p'},
	    {"output", required_argument, NULL, 'o'}, {"gzip", no_argument, NULL, 'z'},
	    {"force", no_argument, NULL, 'f'},        {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	enum { NONE, KINETO, PERFETTO } format = NONE;
	const char *output = NULL;
	bool force = false, quiet = false, gzip = false;
	int c;
	cli_getopt_reset();
	while ((c = cli_getopt(argc, argv, "export", "kpo:zfqh", longopts)) != CLI_OPT_END) {
		switch (c) {
		case 'k':
		case 'p':
			if (format != NONE && format != (c == 'k' ? KINETO : PERFETTO))
				return cli_usage_error("export", "choose one format: --kineto or --perfetto");
			format = c == 'k' ? KINETO : PERFETTO;
			break;
		case 'o':
			output = optarg;
			break;
		case 'z':
			gzip = true;
			break;
		case 'f':
			force = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(cmd_export_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (format == NONE)
		return cli_usage_error("export", "no format given: --kineto or --perfetto");
	if (optind >= argc)
		return cli_usage_error("export", "no session file given");
	if (optind + 1 < argc)
		return cli_usage_error("export", "one session file at a time");
	if (output && !*output)
		return cli_usage_error("export", "empty output file name");
	if (format == PERFETTO && gzip)
		return cli_usage_error("export", "--gzip is for --kineto only");
	const char *in = argv[optind];
	bool to_stdout = output && !strcmp(output, "-");
	if (output && !to_stdout && export_ends_with(output, ".gz")) {
		if (format == PERFETTO)
			return cli_usage_error("export",
			                       "a Perfetto trace is not gzipped; name it without .gz");
		gzip = true;
	}
	char *out = output ? xstrdup(output)
	                   : export_default_path(in, format == PERFETTO ? ".perfetto-trace"
	                                             : gzip             ? ".json.gz"
	                                                                : ".json");
	int rc = CLI_EXIT_ERROR;
	struct cli_output o = {0};
	struct stat st;
	FILE *f = stdout;
	if (!to_stdout) {
		if (!force && lstat(out, &st) == 0 && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
			rc = cli_error("export", "%s already exists (use -f to replace it)", out);
			free(out);
			return rc;
		}
		if ((rc = cli_output_open("export", &o, out, in, "session file", NULL, "a trace"))) {
			cli_output_close(&o, false, NULL);
			free(out);
			return rc;
		}
		f = o.f;
	}
	struct trace_session *s = cli_open_session("export", in, NULL);
	if (!s) {
		if (!to_stdout)
			cli_output_close(&o, false, NULL);
		free(out);
		return CLI_EXIT_ERROR;
	}
	if (cli_session_is_synthetic(s) && !quiet)
		cli_warn("export", "%s is a synthetic session (generated, not captured)", in);
	struct export_progress p = {.path = out};
	struct export_options opts = {.gzip = gzip, .name = to_stdout ? "-" : out};
	if (!quiet && !to_stdout && isatty(STDERR_FILENO) == 1) {
		opts.progress = export_progress_line;
		opts.progress_arg = &p;
	}
	struct err e = {{0}};
	int wr =
	    format == KINETO ? export_kineto_write(s, f, &opts, &e) : export_perfetto_write(s, f, &opts, &e);
	if (p.shown)
		fputs("\r\033[K", stderr);
	if (!to_stdout && cli_output_close(&o, wr == 0, wr ? NULL : &e))
		wr = -1;
	if (wr) {
		rc = cli_error("export", "%s", e.msg);
	} else {
		rc = CLI_EXIT_OK;
		if (!quiet && !to_stdout) {
			fputs("tstop export: wrote ", stderr);
			report_write_text(stderr, out, strlen(out));
			fprintf(stderr, " (%" PRIu64 " events, %lld bytes)\n", trace_session_event_count(s),
			        stat(out, &st) == 0 ? (long long)st.st_size : 0LL);
		}
	}
	trace_session_delete(s);
	free(out);
	return rc;
}
