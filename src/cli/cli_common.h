/*
 * cli_common.h - what every tstop subcommand shares: exit codes, messages,
 * option parsing, and the one function that opens a session file (either
 * file of a session: the SBT or the database).
 *
 * Commands print; the library does not. Every message goes to stderr,
 * prefixed "tstop CMD: ", and a usage error adds a hint to run --help.
 * Messages are escaped as report output is (report/format.h), so a file
 * name or a name from a session quoted in one reaches a terminal safely.
 */
#ifndef TSTOP_CLI_COMMON_H
#define TSTOP_CLI_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "store/db.h"
#include "store/sbt.h"
#include "trace/session.h"
#include "util/err.h"

/* Exit statuses of every command. */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_ERROR = 1, /* runtime error: unreadable file, write error */
	CLI_EXIT_USAGE = 2, /* bad command line */
};

/* Prints "tstop CMD: MESSAGE" and "Try 'tstop CMD --help'." on stderr and
 * returns CLI_EXIT_USAGE. `cmd` NULL means the top level ("tstop: "). */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "tstop CMD: MESSAGE" on stderr and returns CLI_EXIT_ERROR. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "tstop CMD: warning: MESSAGE" on stderr. */
void cli_warn(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Result of cli_getopt beyond getopt_long's own. */
#define CLI_OPT_END (-1)
#define CLI_OPT_BAD (-2) /* a usage error was printed; return CLI_EXIT_USAGE */

/* getopt_long over argv[0 .. argc-1] (argv[0] is the command name) with
 * errors reported the tstop way: unknown options and missing values print a
 * usage error for `cmd` and give CLI_OPT_BAD. Call cli_getopt_reset() before
 * the first call of each command. */
int cli_getopt(int argc, char **argv, const char *cmd, const char *shortopts, const struct option *longopts);
void cli_getopt_reset(void);

/* The two files a session may be read from. */
enum cli_session_kind {
	CLI_SESSION_SBT = 1, /* the SBT capture log */
	CLI_SESSION_DB = 2,  /* the SQLite session database */
};

/* Which file cli_open_session_file read, and what its reader found. */
struct cli_session_file {
	enum cli_session_kind kind;
	struct sbt_read_report sbt; /* kind CLI_SESSION_SBT; all zero otherwise */
	struct db_read_report db;   /* kind CLI_SESSION_DB; all zero otherwise */
};

/* Loads the session file at `path`, the SBT file or the session database
 * (a regular file that starts as SQLite databases do), into a new session
 * for command `cmd`. A damaged file loads what it can and each kind of
 * damage is reported on stderr as a warning (an SBT's cut-off tail, skipped
 * chunks, dropped records; a database's skipped rows). When the file cannot
 * be read, is neither kind, or has an unknown version, a one-line error is
 * printed and NULL returned. `file` (may be NULL) gets the kind and the
 * reader's report. The caller owns the session (trace_session_delete). */
struct trace_session *cli_open_session_file(const char *cmd, const char *path, struct cli_session_file *file);

/* cli_open_session_file for commands that want only the SBT reader's report
 * (all zero when `path` was a database): `rep` may be NULL. */
struct trace_session *cli_open_session(const char *cmd, const char *path, struct sbt_read_report *rep);

/* An output file given with -o (stats, sql): a regular file is written as a
 * temporary file in its directory and renamed onto it only when everything
 * was written, so that a failed run leaves the old file (or none) in place;
 * a device or a FIFO is written directly. */
struct cli_output {
	const char *path; /* as given, for messages */
	char *final;      /* what the temporary file is renamed onto; owned */
	char *tmp;        /* the temporary file, NULL when written directly; owned */
	FILE *f;
};

/* Prepares -o `path` for command `cmd` reading `input` (named `reading` in
 * messages: "session file"): refuses `input`
 * itself and the paths in `also` (NULL-terminated, may be NULL), by device
 * and inode whatever path leads there, an existing SBT file or SQLite
 * database, a directory and a symbolic link to nothing; otherwise creates
 * the temporary file (or opens a device or FIFO). `what` names the output in
 * messages ("a report"). Returns 0, or the exit status after printing an
 * error; either way the caller ends with cli_output_close. */
int cli_output_open(const char *cmd, struct cli_output *o, const char *path, const char *input,
                    const char *reading, const char *const *also, const char *what);

/* Ends the output: when `ok`, closes it and renames the temporary file into
 * place; otherwise (or when that fails) removes the temporary file. Frees
 * what `o` owns. Returns 0, or -1 with `e` filled. */
int cli_output_close(struct cli_output *o, bool ok, struct err *e);

/* Whether the session says it was generated, not captured. */
bool cli_session_is_synthetic(const struct trace_session *s);

#endif
