/*
 * cmd_open.c - `tstop open FILE`: browse a saved session (the SBT file or
 * the session database) in the terminal interface (src/tui/).
 *
 * The file is loaded whole first (warnings about damage go to stderr before
 * the interface starts); then the interface runs until the user quits. When
 * standard input or output is not a terminal there is nothing to show on:
 * the command says so, suggests `tstop stats`, and exits 1.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli/cli_common.h"
#include "cli/cmds.h"
#include "tui/tui.h"

static const char cmd_open_usage[] =
    "Usage: tstop open [OPTION]... FILE\n"
    "Browse a tstop session file, the SBT or the session database, in the\n"
    "terminal: kernel, API call, memory operation and NVTX range tables,\n"
    "their instances, details with call stacks. Press ? inside for the keys.\n"
    "\n"
    "  -h, --help   show this help\n"
    "\n"
    "Needs a terminal on standard input and output; 'tstop stats FILE' prints\n"
    "the same tables as text. Exit status: 0 ok, 1 the file cannot be read or\n"
    "there is no terminal, 2 usage error.\n";

/* Parses the command line, loads the session, runs the interface. */
int cmd_open(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	cli_getopt_reset();
	while ((c = cli_getopt(argc, argv, "open", "h", longopts)) != CLI_OPT_END) {
		switch (c) {
		case 'h':
			fputs(cmd_open_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cli_usage_error("open", "no session file given");
	if (argc - optind > 1)
		return cli_usage_error("open", "one session file at a time");
	const char *path = argv[optind];
	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO))
		return cli_error("open",
		                 "needs a terminal on standard input and output; try 'tstop stats %s'", path);

	struct trace_session *s = cli_open_session_file("open", path, NULL);
	if (!s)
		return CLI_EXIT_ERROR;
	struct err e;
	int rc = tui_open_session(s, path, &e);
	trace_session_delete(s);
	if (rc < 0)
		return cli_error("open", "%s", e.msg);
	return CLI_EXIT_OK;
}
