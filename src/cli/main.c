/*
 * main.c - the tstop command line: dispatch to a subcommand.
 *
 * `tstop COMMAND ARGS...` runs the command of that name from `cli_commands`,
 * the one table of subcommands; `tstop [OPTION]... -- PROGRAM` (anything
 * starting with an option, with a "--") is the live view (cmd_live.c); `tstop --help` lists it and `tstop
 * --version` prints the version and the optional parts compiled in. Each
 * command lives in its own cmd_<name>.c (cmds.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli_common.h"
#include "cli/cmds.h"

struct cli_command {
	const char *name;
	const char *summary; /* one line, for --help */
	int (*run)(int argc, char **argv);
};

static const struct cli_command cli_commands[] = {
    {"record", "run a program and record its GPU activity (CUDA, NVTX, OpenCL) to a file", cmd_record},
    {"launch", "run a program with capture dormant, to attach to later", cmd_launch},
    {"attach", "capture from a running program started with capture dormant", cmd_attach},
    {"open", "browse a session file in the terminal: timeline, tables, details", cmd_open},
    {"info", "describe a session file: processes, devices, streams, events, integrity", cmd_info},
    {"stats", "print nsys-style summary reports as a table, CSV or JSON", cmd_stats},
    {"db", "build the session database (SQLite) of a session file", cmd_db},
    {"sql", "run SQL queries on a session database (or any SQLite file), read-only", cmd_sql},
    {"export", "write a session as a PyTorch-profiler (Kineto) JSON or Perfetto trace", cmd_export},
};

#define CLI_NCOMMANDS (sizeof(cli_commands) / sizeof(cli_commands[0]))

/* Prints the top-level help, listing the command table, to `f`. */
static void cli_help(FILE *f)
{
	fputs("Usage: tstop [OPTION]... -- PROGRAM [ARG]...\n"
	      "       tstop COMMAND [ARG]...\n"
	      "       tstop --help | --version\n"
	      "\n"
	      "tstop, a terminal GPU profiler. 'tstop [OPTION]... -- PROGRAM' runs PROGRAM,\n"
	      "records it as 'tstop record' does, with the same options, and shows its\n"
	      "GPU activity live ('tstop --help --' lists the options). Commands:\n",
	      f);
	for (size_t i = 0; i < CLI_NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", cli_commands[i].name, cli_commands[i].summary);
	fputs("\n"
	      "Run 'tstop COMMAND --help' for the options of a command, 'man tstop' for more.\n",
	      f);
}

/* Prints the version and the build's optional parts. */
static void cli_version(void)
{
	printf("tstop %s\n", TSTOP_VERSION);
	printf("built with: CUPTI %s, OpenCL %s\n", TSTOP_BUILD_CUPTI ? "yes" : "no",
	       TSTOP_BUILD_OPENCL ? "yes" : "no");
}

/* Dispatches argv[1] to its command; returns that command's exit status, 2 for a usage error. */
int main(int argc, char **argv)
{
	if (argc < 2) {
		cli_help(stderr);
		return CLI_EXIT_USAGE;
	}
	const char *arg = argv[1];
	/* options, then "--" and a program: the live view ("tstop --help --": its help) */
	for (int i = 1; arg[0] == '-' && i < argc; i++)
		if (!strcmp(argv[i], "--"))
			return cmd_live(argc, argv);
	if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
		cli_help(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(arg, "--version") || !strcmp(arg, "-V")) {
		cli_version();
		return CLI_EXIT_OK;
	}
	if (arg[0] == '-')
		return cli_usage_error(NULL, "unknown option '%s'", arg);
	for (size_t i = 0; i < CLI_NCOMMANDS; i++)
		if (!strcmp(arg, cli_commands[i].name))
			return cli_commands[i].run(argc - 1, argv + 1);
	return cli_usage_error(NULL, "unknown command '%s'", arg);
}
