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

/* tstop info FILE: what a session file holds (cmd_info.c). */
int cmd_info(int argc, char **argv);

/* tstop stats FILE [--report NAME]... [--format F] [-o OUT]: nsys-style
 * reports (cmd_stats.c). */
int cmd_stats(int argc, char **argv);

/* tstop record [OPTION]... -- PROGRAM [ARG]...: run a program with the
 * collector injected and record its capture to an SBT file (cmd_record.c).
 * Returns the program's exit status (128+N for signal N), or 125 when
 * tstop itself failed. */
int cmd_record(int argc, char **argv);

/* tstop launch [OPTION]... -- PROGRAM [ARG]...: exec a program with the
 * collector dormant, ready for tstop attach (cmd_launch.c). Returns only
 * when the program could not be started (125). */
int cmd_launch(int argc, char **argv);

/* tstop attach [OPTION]... PID: capture from a process whose collector is
 * dormant until Ctrl-C or --duration, the process running on
 * (cmd_attach.c). */
int cmd_attach(int argc, char **argv);

#endif
