/*
 * cmd_live.c - `tstop [OPTION]... -- PROGRAM [ARG]...`: record as `tstop
 * record` does and show the capture live in the terminal interface.
 *
 * One thread. The interface (src/tui/ui_app.c) drives the capture run
 * (record_run.h) through a live tui_source: each turn of its loop calls
 * step(), which runs one capture turn (poll on the capture's fds and the
 * terminal, serve, drain for about 10 ms, reap, signals, flush); the
 * session grows only there. publish() finishes the appended tracks and
 * bumps the snapshot's generation; the app calls it at most about once a
 * second and before it handles a key, and draws no view while the session
 * has grown unpublished. When the run is over (the program and its
 * processes ended) step() ends it at once: the files are complete while
 * the view stays for browsing.
 *
 * The terminal is the interface's: the program reads /dev/null and writes
 * to NAME.log, and tstop's own messages (warnings from the target, the
 * end summary) are held in a temporary file while the interface runs and
 * printed when it ends. When standard input or output is not a terminal,
 * the command says so once and records like `tstop record`. The exit
 * status is record's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli_common.h"
#include "cli/cmds.h"
#include "cli/record_run.h"
#include "tui/model.h"
#include "tui/tui.h"

/* The live source: the run and the one snapshot of its session. */
struct live_source {
	struct record_run *run;
	struct tui_snapshot snap;
	int interrupts_seen;
};

/* The snapshot itself; it is only changed by publish(), between frames. */
static const struct tui_snapshot *live_acquire(void *ctx)
{
	struct live_source *ls = ctx;
	return &ls->snap;
}

/* Nothing to give back: one thread. */
static void live_release(void *ctx, const struct tui_snapshot *snap)
{
	(void)ctx;
	(void)snap;
}

/* One capture turn; ends the run (files complete) when it is over. */
static unsigned live_step(void *ctx, int wait_ms, int key_fd)
{
	struct live_source *ls = ctx;
	unsigned f = 0;
	if (record_run_turn(ls->run, wait_ms, key_fd)) {
		struct record_run_info info;
		record_run_info(ls->run, &info);
		if (!info.ended) {
			record_run_end(ls->run);
			ls->snap.live = false;
		}
	}
	if (record_run_take_new_events(ls->run))
		f |= TUI_STEP_EVENTS;
	int n = record_run_interrupts(ls->run);
	if (n != ls->interrupts_seen) {
		ls->interrupts_seen = n;
		f |= TUI_STEP_INTERRUPT;
	}
	return f;
}

/* Sorts what was appended and starts a new generation. */
static void live_publish(void *ctx)
{
	struct live_source *ls = ctx;
	trace_session_finish(record_run_session(ls->run));
	ls->snap.generation++;
}

static void live_status(void *ctx, struct tui_live_status *st)
{
	struct live_source *ls = ctx;
	struct record_run_info info;
	record_run_info(ls->run, &info);
	const struct trace_session *s = record_run_session(ls->run);
	st->program = info.command;
	st->pid = (uint32_t)info.pid;
	if (info.running)
		st->state = info.detached ? TUI_LIVE_DETACHED : TUI_LIVE_RUNNING;
	else if (WIFSIGNALED(info.wait_status))
		st->state = TUI_LIVE_SIGNALED, st->code = WTERMSIG(info.wait_status);
	else
		st->state = TUI_LIVE_EXITED, st->code = WEXITSTATUS(info.wait_status);
	st->elapsed = info.now - info.start;
	st->events = trace_session_event_count(s);
	st->lost = trace_session_lost_total(s);
	st->capture_on = !info.paused;
	st->finished = info.ended;
}

static void live_request(void *ctx, enum tui_live_request r)
{
	struct live_source *ls = ctx;
	switch (r) {
	case TUI_LIVE_CAPTURE_OFF:
	case TUI_LIVE_CAPTURE_ON:
		record_run_set_paused(ls->run, r == TUI_LIVE_CAPTURE_OFF);
		break;
	case TUI_LIVE_KILL:
		record_run_kill(ls->run);
		break;
	case TUI_LIVE_DETACH:
		record_run_detach(ls->run);
		break;
	}
}

static const struct tui_source_ops live_ops = {.acquire = live_acquire,
                                               .release = live_release,
                                               .step = live_step,
                                               .publish = live_publish,
                                               .status = live_status,
                                               .request = live_request};

/* Copies what was written to `fd` since offset 0 to stderr. */
static void live_replay(int fd)
{
	char buf[4096];
	ssize_t n;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && fwrite(buf, 1, (size_t)n, stderr) != (size_t)n)
			break;
}

/* Runs `tstop [OPTION]... -- PROGRAM [ARG]...`. */
int cmd_live(int argc, char **argv)
{
	bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	int rc;
	struct record_run *r = record_run_start(argc, argv, NULL, tty, &rc);
	if (!r)
		return rc;
	if (!tty) {
		fprintf(stderr,
		        "tstop: standard output is not a terminal: recording without the live view\n");
		while (!record_run_turn(r, 10, -1))
			;
		rc = record_run_end(r);
		record_run_free(r);
		return rc;
	}

	/* tstop's messages wait in a temporary file while the interface runs */
	FILE *held = tmpfile();
	int saved_err = held ? dup(STDERR_FILENO) : -1;
	if (saved_err >= 0) {
		fflush(stderr);
		dup2(fileno(held), STDERR_FILENO);
	}
	struct live_source ls = {.run = r,
	                         .snap = {.s = record_run_session(r), .generation = 1, .live = true}};
	struct record_run_info info;
	record_run_info(r, &info);
	ls.snap.path = info.path;
	struct tui_source src = {.ops = &live_ops, .ctx = &ls};
	struct err e = {{0}};
	int ui = tui_app_run(&src, &e);
	if (saved_err >= 0) {
		fflush(stderr);
		dup2(saved_err, STDERR_FILENO);
		close(saved_err);
		live_replay(fileno(held));
	}
	if (held)
		fclose(held);
	if (ui < 0)
		cli_error(NULL, "%s; recording without the live view", e.msg);
	/* Quit after kill or detach, or the interface failed: finish the run. */
	while (!record_run_turn(r, 10, -1))
		;
	rc = record_run_end(r);
	record_run_free(r);
	return rc;
}
