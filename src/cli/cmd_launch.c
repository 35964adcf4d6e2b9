/*
 * cmd_launch.c - `tstop launch [OPTION]... -- PROGRAM [ARG]...`: run a
 * program with the collector injected but dormant, for `tstop attach`.
 *
 * tstop launch does not stay around: it sets the program's environment
 * (capture/launch.h, started dormant), tells how to attach, and execs the
 * program in its own process. So the program has tstop's pid (a shell's $!
 * after `tstop launch ... &` is the pid to attach to), its terminal, its
 * signals and its own exit status, exactly as if it had been started
 * directly. The collector costs nothing until the program's first CUDA,
 * NVTX or OpenCL call, and then only a sleeping thread and a socket until
 * someone attaches (proto.h: attach).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/attach_path.h"
#include "capture/launch.h"
#include "cli/capture_cli.h"
#include "cli/cli_common.h"
#include "cli/cmds.h"
#include "report/format.h"
#include "util/xalloc.h"

#define LAUNCH_EXIT_FAILURE 125

static const char cmd_launch_usage[] =
    "Usage: tstop launch [OPTION]... [--] PROGRAM [ARG]...\n"
    "Run PROGRAM with tstop's collector injected but dormant: nothing is\n"
    "captured until 'tstop attach PID' starts a capture session, and the\n"
    "program runs on when it ends; attach again for another session.\n"
    "tstop launch becomes PROGRAM (same pid, terminal and exit status) after\n"
    "printing how to attach on standard error.\n"
    "\n"
    "      --attach-dir DIR  keep the attach socket in DIR, an absolute path to\n"
    "                        a directory of yours that only you can access\n"
    "                        (default: $XDG_RUNTIME_DIR, else /tmp/tstop-UID)\n"
    "      --pid-file FILE   write PROGRAM's pid to FILE before it starts\n"
    "  -q, --quiet           do not print how to attach\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: PROGRAM's own; 125 when tstop itself failed (bad option,\n"
    "collector not found, PROGRAM cannot be started).\n";

struct launch_opts {
	const char *attach_dir;
	const char *pid_file;
	bool quiet;
	char **argv;
};

/* A usage error of `tstop launch`: message and hint, exit 125. */
static int launch_usage_error(const char *fmt, const char *arg)
{
	cli_usage_error("launch", fmt, arg);
	return LAUNCH_EXIT_FAILURE;
}

/* Parses the command line into `o`; returns -1 when o->argv is set, else
 * an exit status (help printed, or a usage error). Options stop at the
 * program's name, so its own options stay its own. */
static int launch_parse(int argc, char **argv, struct launch_opts *o)
{
	enum { OPT_ATTACH_DIR = 256, OPT_PID_FILE };
	static const struct option longopts[] = {
	    {"attach-dir", required_argument, NULL, OPT_ATTACH_DIR},
	    {"pid-file", required_argument, NULL, OPT_PID_FILE},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+:qh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ATTACH_DIR:
			if (optarg[0] != '/')
				return launch_usage_error("--attach-dir needs an absolute path, not '%s'",
				                          optarg);
			o->attach_dir = optarg;
			break;
		case OPT_PID_FILE:
			if (!optarg[0])
				return launch_usage_error("empty --pid-file name%s", "");
			o->pid_file = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			fputs(cmd_launch_usage, stdout);
			return CLI_EXIT_OK;
		case ':':
			return launch_usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt && !(optind > 0 && !strncmp(argv[optind - 1], "--", 2))) {
				char opt[3] = {'-', (char)optopt, '\0'};
				return launch_usage_error("unknown option '%s'", opt);
			}
			return launch_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return launch_usage_error("no program to run%s", "");
	o->argv = argv + optind;
	return -1;
}

/* Checks the --attach-dir directory as the collector will: prints why it
 * cannot be used and returns -1, or 0. */
static int launch_check_dir(const char *dir)
{
	char norm[PROTO_SOCKET_PATH_MAX];
	bool fallback;
	if (attach_path_dir(norm, sizeof(norm), dir, NULL, false, (unsigned)getuid(), &fallback) < 0) {
		cli_error("launch", "--attach-dir %s is too long for a socket path", dir);
		return -1;
	}
	int bad = attach_path_check_dir(norm, false, (unsigned)getuid());
	if (bad == EPERM)
		cli_error("launch", "--attach-dir %s is not yours", dir);
	else if (bad == EACCES)
		cli_error("launch", "--attach-dir %s is open to other users; chmod 700 %s", dir, dir);
	else if (bad)
		cli_error("launch", "--attach-dir %s: %s", dir, strerror(bad));
	return bad ? -1 : 0;
}

/* Writes this process's pid to `path`, replacing it whole (a temporary
 * file renamed over it), so a reader never sees a partial pid. */
static int launch_write_pid(const char *path)
{
	size_t n = strlen(path);
	char *tmp = xmalloc(n + 32);
	snprintf(tmp, n + 32, "%s.%d.tmp", path, (int)getpid());
	/* O_EXCL | O_NOFOLLOW: in a shared directory a planted file or symlink
	 * of that name must not redirect the write. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	int rc = -1;
	if (fd >= 0) {
		char buf[32];
		int len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
		bool ok = write(fd, buf, (size_t)len) == len;
		ok = close(fd) == 0 && ok;
		if (ok && rename(tmp, path) == 0)
			rc = 0;
	}
	if (rc < 0) {
		cli_error("launch", "cannot write --pid-file %s: %s", path, strerror(errno));
		if (fd >= 0) /* ours: O_EXCL created it */
			unlink(tmp);
	}
	free(tmp);
	return rc;
}

/* Runs `tstop launch`: returns only when the program could not be started. */
int cmd_launch(int argc, char **argv)
{
	struct launch_opts o = {0};
	int rc = launch_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	char library[PATH_MAX];
	struct err e = {{0}};
	if (capture_find_collector(library, sizeof(library), &e) < 0) {
		cli_error("launch", "%s", e.msg);
		return LAUNCH_EXIT_FAILURE;
	}
	if (o.attach_dir && launch_check_dir(o.attach_dir) < 0)
		return LAUNCH_EXIT_FAILURE;
	if (o.pid_file && launch_write_pid(o.pid_file) < 0)
		return LAUNCH_EXIT_FAILURE;
	if (!o.quiet) {
		int n = 0;
		while (o.argv[n])
			n++;
		char *cmd = cli_capture_join(o.argv, n);
		fprintf(stderr, "tstop: pid %d runs with capture dormant: ", (int)getpid());
		report_write_text(stderr, cmd, strlen(cmd));
		fprintf(stderr, "\ntstop: attach with: tstop attach %d\n", (int)getpid());
		fflush(stderr);
		free(cmd);
	}
	struct capture_launch_options lopts = {
	    .argv = o.argv, .library = library, .dormant = true, .attach_dir = o.attach_dir};
	int errnum;
	capture_exec(&lopts, &errnum, &e);
	cli_error("launch", "%s", e.msg);
	if (o.pid_file)
		unlink(o.pid_file);
	return LAUNCH_EXIT_FAILURE;
}
