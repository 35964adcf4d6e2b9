/*
 * record_run.h - the capture run behind `tstop record` and the live view
 * (`tstop [OPTION]... -- PROGRAM`), as steps a caller drives (cmd_record.c).
 *
 * A run parses record's options, opens the output (NAME.sbt, NAME.db),
 * installs its signal handlers and starts the program; then the caller
 * calls record_run_turn until it says the run is over, record_run_end to
 * drain the rest, close the files and print the summary, and
 * record_run_free. `tstop record` calls turns in a loop; the live view
 * (cmd_live.c) calls one per frame of the interface, on the same thread,
 * so the session is never read while it is written.
 *
 * In live mode the session keeps every event (the views read them), no
 * progress line is drawn, the program's standard input is /dev/null and
 * its output goes to NAME.log (the terminal belongs to the interface), and
 * an interrupt (SIGINT sent to tstop) is only counted for the interface to
 * ask what to do (record_run_interrupts), never passed on.
 */
#ifndef TSTOP_CLI_RECORD_RUN_H
#define TSTOP_CLI_RECORD_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "trace/session.h"

#define RECORD_EXIT_FAILURE 125

struct record_run;

/* Parses record's options from argv (argv[0] is the command's name; its
 * usage errors name `cmd`, NULL for plain `tstop`), opens the output and
 * starts the program. Returns the run, or NULL with *status set to the exit
 * status to return (0 after --help, 125 after an error already printed). */
struct record_run *record_run_start(int argc, char **argv, const char *cmd, bool live, int *status);

/* One turn of the capture: waits at most wait_ms for the capture's fds (or
 * `extra_fd`, when >= 0, to be readable: the interface's terminal), serves
 * the server, drains the rings (in live mode for at most about 10 ms, 50 ms
 * while they keep filling), reaps the program, acts on signals, --delay and
 * --duration, flushes the files every 100 ms. Returns true when the run is
 * over (the program and its processes are done, or capture detached).
 * After the end it only waits. */
bool record_run_turn(struct record_run *r, int wait_ms, int extra_fd);

/* Whether events were added to the session since the last call. */
bool record_run_take_new_events(struct record_run *r);

/* Drains what is left, closes the files, prints the summary on stderr
 * (once) and returns tstop's exit status; later calls return it again. */
int record_run_end(struct record_run *r);

/* Frees the run, its session included; restores the signal handlers. */
void record_run_free(struct record_run *r);

/* What the live view shows of a run. */
struct record_run_info {
	pid_t pid;
	const char *command; /* the program and its arguments, joined */
	const char *path;    /* NAME.sbt */
	const char *log;     /* NAME.log in live mode, else NULL */
	bool running;        /* the program has not exited */
	bool detached;       /* capture stopped; the program (if running) runs on */
	bool ended;          /* record_run_end was called */
	int wait_status;     /* when !running: the program's waitpid status */
	int64_t start, now;  /* session clock; now stops when the program ends */
	bool paused;         /* capture switched off */
};

/* Fills *info. */
void record_run_info(const struct record_run *r, struct record_run_info *info);

/* The session being captured; the caller must not keep pointers to events
 * across turns (tracks grow), see docs/architecture.md. */
struct trace_session *record_run_session(struct record_run *r);

/* Switches capture off (paused) or on in every process, as --delay does. */
void record_run_set_paused(struct record_run *r, bool paused);

/* Kills the program (SIGKILL); the run ends when it is reaped. */
void record_run_kill(struct record_run *r);

/* Stops capturing from every process; they run on. */
void record_run_detach(struct record_run *r);

/* The number of interrupts (SIGINT, SIGTERM, SIGHUP) tstop received. */
int record_run_interrupts(const struct record_run *r);

#endif
