/*
 * cmds.h - the tstop subcommands.
 *
 * Each `cmd_<name>` runs `tstop <name>`: argv[0] is the command name and the
 * rest its arguments. It returns the exit status (enum cli_exit): 0 ok,
 * 1 runtime error, 2 usage error, after printing whatever it has to say.
 * main.c dispatches to them through its command table.
 */
#ifndef TSTOP_CLI_CMDS_H
#define TSTOP_CLI_CMDS_H

#include <stdbool.h>

/* tstop info FILE: what a session file holds (cmd_info.c). */
int cmd_info(int argc, char **argv);

/* tstop stats FILE [--report NAME]... [--format F] [-o OUT]: nsys-style
 * reports (cmd_stats.c). */
int cmd_stats(int argc, char **argv);

/* tstop open FILE: browse a session file in the terminal interface
 * (cmd_open.c, src/tui/). */
int cmd_open(int argc, char **argv);

/* tstop sql FILE [QUERY] [--format F] [--schema] [-o OUT]: read-only SQL
 * over a session database or any SQLite file (cmd_sql.c). */
int cmd_sql(int argc, char **argv);

/* tstop db FILE.sbt [-o FILE.db] [-f] [-q]: build the session database of
 * an SBT file (cmd_db.c). */
int cmd_db(int argc, char **argv);

/* tstop export (--kineto | --perfetto) FILE [-o OUT] [-z] [-f] [-q]: a
 * session as a Kineto JSON or a Perfetto trace (cmd_export.c). */
int cmd_export(int argc, char **argv);

/* tstop record [OPTION]... -- PROGRAM [ARG]...: run a program with the
 * collector injected and record its capture to an SBT file (cmd_record.c).
 * Returns the program's exit status (128+N for signal N), or 125 when
 * tstop itself failed. */
int cmd_record(int argc, char **argv);

/* tstop [OPTION]... -- PROGRAM [ARG]...: record as `tstop record` does and
 * show the live view (cmd_live.c); argv[0] is "tstop". */
int cmd_live(int argc, char **argv);

/* tstop launch [OPTION]... -- PROGRAM [ARG]...: exec a program with the
 * collector dormant, ready for tstop attach (cmd_launch.c). Returns only
 * when the program could not be started (125). */
int cmd_launch(int argc, char **argv);

/* tstop attach [OPTION]... PID: capture from a process whose collector is
 * dormant until Ctrl-C or --duration, the process running on
 * (cmd_attach.c). */
int cmd_attach(int argc, char **argv);

/* The session database `tstop record` and `tstop attach` write beside
 * their SBT file (cmd_db.c). It may fail alone: the command is told once
 * (a warning with the rebuild command) and the capture goes on. */
struct capture_drain;
struct cli_capture_progress;
struct cli_capture_db;

/* Opens NAME.db for the capture into `sbt_path` (NAME.sbt), replacing it
 * when `force`, and adds it to drain `d`; a failure is warned about. Never
 * NULL; pass the result to cli_capture_db_close or cli_capture_db_abandon. */
struct cli_capture_db *cli_capture_db_open(const char *cmd, const char *sbt_path, bool force,
                                           struct capture_drain *d, struct cli_capture_progress *prog);

/* After a failed capture_drain_flush: warns once when the database is the
 * sink that failed. NULL is a no-op. */
void cli_capture_db_check(struct cli_capture_db *db, const struct capture_drain *d,
                          struct cli_capture_progress *prog);

/* After the SBT file is closed: closes the database (waiting for it to
 * catch up, then indexing it), prints "tstop: wrote NAME.db (N bytes)" or
 * how to rebuild it, and frees `db`. NULL is a no-op. */
void cli_capture_db_close(struct cli_capture_db *db, const struct capture_drain *d,
                          struct cli_capture_progress *prog);

/* Closes and removes the database of a capture that never started, and
 * frees `db`. NULL is a no-op. */
void cli_capture_db_abandon(struct cli_capture_db *db);

#endif
