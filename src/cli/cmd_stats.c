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

/* Where the reports go with -o: a regular file is written as a temporary
 * file in the same directory and renamed onto it only when everything was
 * written, so that a failed run leaves the old file (or none) in place;
 * a device or a FIFO is written directly. */
struct stats_output {
	const char *path; /* as given, for messages */
	char *final;      /* what the temporary file is renamed onto; owned */
	char *tmp;        /* the temporary file, NULL when written directly; owned */
	FILE *f;
};

/* Whether the regular file at `path` starts with SBT's magic. */
static bool stats_is_sbt_file(const char *path)
{
	unsigned char head[8];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, head, sizeof(head));
	close(fd);
	return n == (ssize_t)sizeof(head) && sbt_is_sbt(head, sizeof(head));
}

/* Prepares -o `path` for the reports of session file `input`. Refuses the
 * input itself (same device and inode, whatever the path or link that
 * leads there), an existing SBT file, a directory and a symbolic link to
 * nothing; otherwise creates the temporary file (or opens a device or
 * FIFO). Returns 0, or the exit status after printing an error; either
 * way the caller ends with stats_output_close. */
static int stats_output_open(struct stats_output *o, const char *path, const char *input)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	struct stat in, out, link;
	bool have_in = stat(input, &in) == 0;
	mode_t mode;
	if (stat(path, &out) == 0) {
		if (have_in && in.st_dev == out.st_dev && in.st_ino == out.st_ino)
			return cli_error("stats", "%s is the session file being read; not overwriting it",
			                 path);
		if (S_ISDIR(out.st_mode))
			return cli_error("stats", "cannot create %s: it is a directory", path);
		if (!S_ISREG(out.st_mode)) {
			o->f = fopen(path, "w");
			if (!o->f)
				return cli_error("stats", "cannot open %s: %s", path, strerror(errno));
			return CLI_EXIT_OK;
		}
		if (stats_is_sbt_file(path))
			return cli_error("stats",
			                 "%s is an SBT session file; not overwriting it with a report", path);
		o->final = realpath(path, NULL); /* rename onto the file a link leads to */
		if (!o->final)
			return cli_error("stats", "cannot resolve %s: %s", path, strerror(errno));
		mode = out.st_mode & 07777;
	} else {
		if (lstat(path, &link) == 0 && S_ISLNK(link.st_mode))
			return cli_error("stats", "cannot create %s: it is a symbolic link to nothing", path);
		o->final = xstrdup(path);
		mode_t mask = umask(0);
		umask(mask);
		mode = 0666 & ~mask;
	}
	/* "DIR/.NAME.XXXXXX" next to the final file. */
	const char *slash = strrchr(o->final, '/');
	size_t dirlen = slash ? (size_t)(slash - o->final) + 1 : 0;
	const char *base = o->final + dirlen;
	size_t cap = dirlen + strlen(base) + 16;
	o->tmp = xmalloc(cap);
	snprintf(o->tmp, cap, "%.*s.%s.XXXXXX", (int)dirlen, o->final, base);
	int fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		int rc = cli_error("stats", "cannot create %s: %s", path, strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		return rc;
	}
	if (fchmod(fd, mode) || !(o->f = fdopen(fd, "w"))) {
		int rc = cli_error("stats", "cannot create %s: %s", path, strerror(errno));
		close(fd);
		return rc; /* stats_output_close removes the file */
	}
	return CLI_EXIT_OK;
}

/* Ends the output: when `ok`, closes it and renames the temporary file into
 * place; otherwise (or when that fails) removes the temporary file. Frees
 * what `o` owns. Returns 0, or -1 with `e` filled. */
static int stats_output_close(struct stats_output *o, bool ok, struct err *e)
{
	int rc = 0;
	if (o->f && fclose(o->f) && ok) {
		err_errno(e, errno, "cannot write %s", o->path);
		ok = false;
		rc = -1;
	}
	o->f = NULL;
	if (o->tmp) {
		if (ok && rename(o->tmp, o->final)) {
			err_errno(e, errno, "cannot write %s", o->path);
			ok = false;
			rc = -1;
		}
		if (!ok)
			unlink(o->tmp);
	}
	free(o->tmp);
	free(o->final);
	o->tmp = o->final = NULL;
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

	struct stats_output o = {0};
	FILE *out = stdout;
	if (out_path) {
		if ((rc = stats_output_open(&o, out_path, path))) {
			stats_output_close(&o, false, NULL);
			return rc;
		}
		out = o.f;
	}
	struct trace_session *s = cli_open_session("stats", path, NULL);
	if (!s) {
		if (out_path)
			stats_output_close(&o, false, NULL);
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
	if (out_path && stats_output_close(&o, rc == CLI_EXIT_OK, &e))
		rc = CLI_EXIT_ERROR;
	trace_session_delete(s);
	if (rc != CLI_EXIT_OK)
		cli_error("stats", "%s", e.msg);
	return rc;
}
