/*
 * cmd_attach.c - `tstop attach [OPTION]... PID`: capture from a running
 * process whose collector waits dormant (started by `tstop launch`, or with
 * the environment of tstop-attach(1)), into an SBT file, until Ctrl-C or
 * --duration; the process runs on and may be attached again.
 *
 * The command checks the process (same user first, capture/attach.h),
 * opens the file and a capture server as `tstop record` does, then asks
 * the process's collector, on its rendezvous socket, to connect to that
 * server. One loop then serves the server, drains the ring into the file
 * and watches the rendezvous connection, which stays open as the session's
 * control:
 *
 *      checks ─► request ─► ANSWER ──ok──► CAPTURING ──Ctrl-C, --duration,──► STOPPING ──► done
 *                              │                │        write error             │
 *                              └─refused────────┼──► (fail, file removed)        │ the capture
 *                                               └─the process exits──────────────┤ connection
 *                                                                                 closes
 *
 * Stopping closes the control connection: the collector flushes, sends
 * what is still open, closes its capture connection and goes dormant. The
 * process is then recorded as detached (or as exited, when it ended
 * meanwhile). A collector that does not close within ATTACH_STOP_MS, or a
 * second interrupt, detaches at once.
 *
 * Exit status: 0 when a session was captured and written (whatever the
 * process did), 1 when it could not attach or write, 2 for a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/attach.h"
#include "capture/drain.h"
#include "capture/proto.h"
#include "capture/server.h"
#include "capture/sink.h"
#include "cli/capture_cli.h"
#include "cli/cli_common.h"
#include "cli/cmds.h"
#include "report/format.h"
#include "util/xalloc.h"

#define ATTACH_TICK_MS     10
#define ATTACH_FLUSH_MS    100
#define ATTACH_ANSWER_MS   10000 /* the collector answers within this (its own timeouts are 5 s) */
#define ATTACH_STOP_MS     3000  /* a stopping session closes within this, or is detached */
#define ATTACH_WAIT_MS     100   /* --wait: how often the rendezvous is looked for */
#define ATTACH_POLL_BUDGET (1u << 20)

static const char cmd_attach_usage[] =
    "Usage: tstop attach [OPTION]... PID\n"
    "Capture the GPU activity (CUDA, NVTX, OpenCL) of process PID, started with\n"
    "tstop's collector dormant ('tstop launch', or the environment described in\n"
    "tstop-attach(1)), into a session file, until Ctrl-C or --duration. The\n"
    "process runs on, and can be attached again later. Only processes of your\n"
    "own user can be attached.\n"
    "\n"
    "  -o, --output NAME     write NAME.sbt (\".sbt\" is added when missing);\n"
    "                        default: tstop-YYYYMMDD-HHMMSS[-N].sbt, a new file\n"
    "  -f, --force           overwrite the output file when it exists\n"
    "      --duration S      stop capturing after S seconds\n"
    "      --capture-range nvtx:NAME[@DOMAIN]\n"
    "                        capture only while an NVTX range NAME is open\n"
    "      --capture-range-end stop|repeat\n"
    "                        stop after the first such range (default), or not\n"
    "      --kinds LIST      what to capture: cuda, nvtx, opencl, comma-separated\n"
    "                        (default: all)\n"
    "      --no-stacks       do not record call stacks\n"
    "      --ring-size SIZE  the process's ring buffer: a power of two, with an\n"
    "                        optional K, M or G suffix (default 16M)\n"
    "      --block           make the process wait when its ring is full instead\n"
    "                        of dropping (and counting) events\n"
    "      --flush-ms MS     how often the collector flushes CUDA activity\n"
    "                        (default 100)\n"
    "      --wait            wait until PID's collector listens (it starts at the\n"
    "                        program's first CUDA, NVTX or OpenCL call)\n"
    "      --no-db           do not write the session database NAME.db beside\n"
    "                        NAME.sbt (tstop db builds it later)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 when the capture was written, 1 when tstop could not attach\n"
    "or write, 2 for a bad command line.\n";

struct attach_opts {
	struct cli_capture_opts cap;
	bool wait;
	bool no_db; /* --no-db */
	uint32_t pid;
	char *options_text;
};

/* --- signals ------------------------------------------------------------------- */

static volatile sig_atomic_t attach_interrupts; /* SIGINT, SIGTERM, SIGHUP received */
static int attach_wake_fd = -1;                 /* write end of the self-pipe */

/* Counts the signal and wakes the loop. Async-signal-safe. */
static void attach_on_signal(int sig)
{
	(void)sig;
	int saved = errno;
	attach_interrupts++;
	if (attach_wake_fd >= 0) {
		ssize_t w = write(attach_wake_fd, "", 1);
		(void)w;
	}
	errno = saved;
}

static const int attach_caught[4] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

/* The handlers installed and what they replaced. */
struct attach_signals {
	int pipe[2];
	struct sigaction old[4];
};

/* Installs the handlers and the self-pipe; a signal tstop was started
 * ignoring (nohup, a background job) stays ignored, and SIGPIPE is
 * ignored. */
static int attach_signals_install(struct attach_signals *as, struct err *e)
{
	if (pipe2(as->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return err_errno(e, errno, "pipe");
	attach_wake_fd = as->pipe[1];
	attach_interrupts = 0;
	for (int i = 0; i < 4; i++) {
		int sig = attach_caught[i];
		sigaction(sig, NULL, &as->old[i]);
		if (sig != SIGPIPE && as->old[i].sa_handler == SIG_IGN)
			continue;
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sigemptyset(&sa.sa_mask);
		sa.sa_handler = sig == SIGPIPE ? SIG_IGN : attach_on_signal;
		sa.sa_flags = SA_RESTART;
		sigaction(sig, &sa, NULL);
	}
	return 0;
}

/* Restores the old handlers and closes the pipe. */
static void attach_signals_restore(struct attach_signals *as)
{
	for (int i = 0; i < 4; i++)
		sigaction(attach_caught[i], &as->old[i], NULL);
	attach_wake_fd = -1;
	close(as->pipe[0]);
	close(as->pipe[1]);
}

/* Sleeps up to `ms` milliseconds, less when a signal arrives. */
static void attach_sleep(int wake_fd, int ms)
{
	struct pollfd pfd = {.fd = wake_fd, .events = POLLIN};
	if (poll(&pfd, 1, ms) > 0) {
		char buf[64];
		while (read(wake_fd, buf, sizeof(buf)) > 0)
			;
	}
}

/* --- options ------------------------------------------------------------------- */

/* Parses the command line into `o`; returns -1 when all is parsed, else an
 * exit status (help printed, or a usage error). */
static int attach_parse(int argc, char **argv, struct attach_opts *o)
{
	enum { OPT_WAIT = CLI_CAPTURE_OPT_END, OPT_NO_DB };
	static const struct option longopts[] = {
	    CLI_CAPTURE_LONGOPTS,
	    {"wait", no_argument, NULL, OPT_WAIT},
	    {"no-db", no_argument, NULL, OPT_NO_DB},
	    {NULL, 0, NULL, 0},
	};
	cli_capture_opts_init(&o->cap);
	cli_getopt_reset();
	int c;
	while ((c = cli_getopt(argc, argv, "attach", "o:fh", longopts)) != CLI_OPT_END) {
		int applied = cli_capture_opt(&o->cap, "attach", c, optarg);
		if (applied < 0)
			return CLI_EXIT_USAGE;
		if (applied)
			continue;
		switch (c) {
		case CLI_OPT_BAD:
			return CLI_EXIT_USAGE;
		case 'h':
			fputs(cmd_attach_usage, stdout);
			return CLI_EXIT_OK;
		case OPT_WAIT:
			o->wait = true;
			break;
		case OPT_NO_DB:
			o->no_db = true;
			break;
		default:
			return cli_usage_error("attach", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("attach", "no process id given");
	if (optind + 1 < argc)
		return cli_usage_error("attach", "one process id only, not also '%s'", argv[optind + 1]);
	if (capture_attach_parse_pid(argv[optind], &o->pid) < 0)
		return cli_usage_error("attach", "'%s' is not a process id", argv[optind]);
	if (o->cap.delay > 0)
		return cli_usage_error("attach", "--delay is for tstop record; attach later instead");
	if (cli_capture_opts_finish(&o->cap, "attach") < 0)
		return CLI_EXIT_USAGE;
	o->options_text = cli_capture_join(argv + 1, argc - 1);
	return -1;
}

/* --- the session ------------------------------------------------------------------- */

struct attach_run {
	const struct attach_opts *o;
	const struct capture_attach_target *t;
	struct trace_session *s;
	struct capture_drain *d;
	struct capture_server *server;
	struct capture_sink *sink;
	struct cli_capture_db *db; /* NAME.db, NULL with --no-db */
	const char *path;
	int ctrl; /* the rendezvous connection: the session's control; -1 once closed */
	struct capture_attach_answer answer;
	bool accepted;             /* the collector said yes */
	struct capture_proc *proc; /* the process's ring while it is attached */
	bool ended;                /* its capture connection closed, or was dropped */
	bool stopping;             /* the session is being ended */
	bool failed;               /* attaching failed: no capture to keep */
	bool write_failed;         /* the file could not be written */
	int64_t requested, accepted_at, stop_at, last_flush;
	int interrupts_seen;
	struct cli_capture_progress prog;
};

/* Whether process `pid` still runs (not gone, not a zombie). */
static bool attach_alive(uint32_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* Server callback: a process connected with ring `ring`; only the attached
 * process, once, is taken. */
static void *attach_connected(void *arg, uint32_t pid, uint32_t ppid, struct ring *ring)
{
	struct attach_run *r = arg;
	if (pid != r->o->pid || r->proc || r->ended || r->failed)
		return NULL;
	r->proc = capture_drain_attach(r->d, pid, ppid, ring);
	cli_capture_ring_setup(&r->o->cap, ring);
	return r->proc;
}

/* Server callback: the process's capture connection closed. A process that
 * runs on was detached; one that ended is recorded as it ended. */
static void attach_closed(void *arg, void *handle, bool have_status, int wait_status)
{
	struct attach_run *r = arg;
	r->proc = NULL;
	r->ended = true;
	if (!have_status && attach_alive(r->o->pid))
		capture_drain_detach(r->d, handle);
	else
		capture_drain_close(r->d, handle, cli_capture_now(), have_status, wait_status);
}

/* Ends the session: closing the control connection asks the collector to
 * send what it holds and go dormant. `why` is printed (NULL: nothing). */
static void attach_stop(struct attach_run *r, const char *why, int64_t now)
{
	if (r->stopping)
		return;
	r->stopping = true;
	r->stop_at = now;
	if (r->ctrl >= 0) {
		close(r->ctrl);
		r->ctrl = -1;
	}
	if (why) {
		cli_capture_progress_clear(&r->prog);
		fprintf(stderr, "tstop: %s; pid %" PRIu32 " runs on\n", why, r->o->pid);
	}
}

/* Stops reading the process's ring at once (it runs on). */
static void attach_detach_now(struct attach_run *r)
{
	if (r->proc) {
		capture_server_drop(r->server, r->proc);
		capture_drain_detach(r->d, r->proc);
		r->proc = NULL;
	}
	r->ended = true;
}

/* Flushes the files; when the SBT file fails stops the capture; when the
 * database alone fails, warns and goes on. */
static void attach_flush(struct attach_run *r, int64_t now)
{
	struct err e = {{0}};
	if (r->write_failed || capture_drain_flush(r->d, &e) == 0)
		return;
	cli_capture_db_check(r->db, r->d, &r->prog);
	const char *msg = capture_drain_sink_error(r->d, r->sink);
	if (!msg)
		return;
	cli_capture_progress_clear(&r->prog);
	cli_error("attach", "%s; capture stopped", msg);
	r->write_failed = true;
	attach_stop(r, NULL, now);
}

/* Reads the collector's answer when it is there; fails the run when it
 * refused or took too long. */
static void attach_answer(struct attach_run *r, int64_t now)
{
	struct err e = {{0}};
	int rc = capture_attach_read_answer(r->ctrl, r->o->pid, &r->answer, &e);
	if (rc == 0 && now - r->requested > (int64_t)ATTACH_ANSWER_MS * 1000000) {
		rc = -1;
		snprintf(e.msg, sizeof(e.msg), "pid %" PRIu32 " did not answer the attach request",
		         r->o->pid);
	}
	if (rc < 0) {
		cli_capture_progress_clear(&r->prog);
		cli_error("attach", "%s", e.msg);
		r->failed = true;
		attach_stop(r, NULL, now);
		attach_detach_now(r);
		return;
	}
	if (rc > 0) {
		r->accepted = true;
		r->accepted_at = now;
		cli_capture_progress_init(&r->prog, now);
		fprintf(stderr, "tstop: attached to pid %" PRIu32 " (", r->o->pid);
		report_write_text(stderr, r->t->command,
		                  strlen(r->t->command) > 200 ? 200 : strlen(r->t->command));
		fprintf(stderr, "); %s stops the capture\n",
		        r->o->cap.duration > 0 ? "--duration or Ctrl-C" : "Ctrl-C");
	}
}

/* Acts on the interrupts counted since the last turn: the first stops the
 * session, a second detaches at once. */
static void attach_handle_signals(struct attach_run *r, int64_t now)
{
	int n = attach_interrupts;
	if (n == r->interrupts_seen)
		return;
	r->interrupts_seen = n;
	if (!r->stopping) {
		attach_stop(r, "interrupted: capture stopped", now);
		if (!r->accepted) {
			r->failed = true;
			attach_detach_now(r);
		}
	} else {
		attach_detach_now(r);
	}
}

/* Runs the loop until the session is over. */
static void attach_loop(struct attach_run *r, int wake_fd)
{
	bool busy = false;
	while (!r->ended && !r->failed) {
		struct pollfd pfd[3] = {{.fd = capture_server_fd(r->server), .events = POLLIN},
		                        {.fd = wake_fd, .events = POLLIN},
		                        {.fd = r->accepted ? -1 : r->ctrl, .events = POLLIN}};
		if (poll(pfd, 3, busy ? 0 : ATTACH_TICK_MS) > 0 && (pfd[1].revents & POLLIN)) {
			char buf[64];
			while (read(wake_fd, buf, sizeof(buf)) > 0)
				;
		}
		struct err e = {{0}};
		if (capture_server_step(r->server, &e) < 0) {
			cli_capture_progress_clear(&r->prog);
			cli_error("attach", "%s; capture stopped", e.msg);
			r->write_failed = true;
			attach_stop(r, NULL, cli_capture_now());
			attach_detach_now(r);
		}
		busy = capture_drain_poll(r->d, ATTACH_POLL_BUDGET) > 0;
		int64_t now = cli_capture_now();
		if (!r->accepted && !r->failed && r->ctrl >= 0)
			attach_answer(r, now);
		attach_handle_signals(r, now);
		if (r->accepted && !r->stopping && r->o->cap.duration > 0 &&
		    (double)(now - r->accepted_at) >= r->o->cap.duration * 1e9) {
			char why[64];
			snprintf(why, sizeof(why), "%g s elapsed; capture stopped", r->o->cap.duration);
			attach_stop(r, why, now);
		}
		if (r->stopping && !r->ended && now - r->stop_at > (int64_t)ATTACH_STOP_MS * 1000000) {
			cli_capture_progress_clear(&r->prog);
			fprintf(stderr, "tstop: pid %" PRIu32 " did not end the session in time; detaching\n",
			        r->o->pid);
			attach_detach_now(r);
		}
		if (r->stopping && !r->accepted && !r->proc)
			r->failed = true; /* stopped before the collector said yes */
		if (now - r->last_flush >= (int64_t)ATTACH_FLUSH_MS * 1000000) {
			attach_flush(r, now);
			r->last_flush = now;
		}
		if (r->accepted)
			cli_capture_progress_tick(&r->prog, r->d, r->s, "capturing", now);
	}
}

/* Waits (--wait) until the process's rendezvous is there. Returns 0, or
 * -1 after printing why not (the process ended, it cannot become
 * attachable, or an interrupt). */
static int attach_wait_ready(const struct attach_opts *o, struct capture_attach_target *t, int wake_fd)
{
	bool said = false;
	for (;;) {
		struct err e = {{0}};
		bool later;
		if (capture_attach_ready(t, &later, &e) == 0)
			return 0;
		if (!later || !o->wait) {
			cli_error("attach", "%s", e.msg);
			return -1;
		}
		if (!said) {
			fprintf(stderr,
			        "tstop: waiting for pid %" PRIu32
			        " to start its collector (at its first CUDA, "
			        "NVTX or OpenCL call)\n",
			        o->pid);
			said = true;
		}
		attach_sleep(wake_fd, ATTACH_WAIT_MS);
		if (attach_interrupts) {
			cli_error("attach", "interrupted while waiting for pid %" PRIu32, o->pid);
			return -1;
		}
		capture_attach_done(t);
		if (capture_attach_find(o->pid, t, &e) < 0) {
			cli_error("attach", "%s", e.msg);
			return -1;
		}
	}
}

/* Sends the attach request, retrying under --wait while the collector is
 * just starting. Returns the control connection, or -1 after printing why. */
static int attach_request(const struct attach_opts *o, const struct capture_attach_target *t,
                          const char *socket_path, int wake_fd)
{
	for (;;) {
		struct err e = {{0}};
		bool later;
		int fd = capture_attach_request(t, socket_path, &later, &e);
		if (fd >= 0)
			return fd;
		if (!later || !o->wait || attach_interrupts || !attach_alive(o->pid)) {
			cli_error("attach", "%s", e.msg);
			return -1;
		}
		attach_sleep(wake_fd, ATTACH_WAIT_MS);
	}
}

/* Finishes the file: drains what is left, flushes, closes, prints the
 * summary. */
static void attach_finish(struct attach_run *r)
{
	capture_drain_poll(r->d, SIZE_MAX);
	struct err fe = {{0}};
	if (capture_drain_flush(r->d, &fe) < 0) {
		cli_capture_db_check(r->db, r->d, &r->prog);
		const char *msg = capture_drain_sink_error(r->d, r->sink);
		if (msg && !r->write_failed) {
			cli_capture_progress_clear(&r->prog);
			cli_error("attach", "%s", msg);
			r->write_failed = true;
		}
	}
	uint64_t bytes = capture_sbt_sink_bytes(r->sink);
	if (capture_sink_close(r->sink, &fe) < 0) {
		if (!r->write_failed) {
			cli_capture_progress_clear(&r->prog);
			cli_error("attach", "%s", fe.msg);
		}
		r->write_failed = true;
	} else {
		struct stat st;
		if (stat(r->path, &st) == 0)
			bytes = (uint64_t)st.st_size;
	}
	r->sink = NULL;
	cli_capture_summary(&r->prog, r->d, r->s, r->path, bytes);
	cli_capture_db_close(r->db, r->d, &r->prog);
	r->db = NULL;
}

/* Runs `tstop attach`. */
int cmd_attach(int argc, char **argv)
{
	struct attach_opts o = {0};
	int rc = attach_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	struct err e = {{0}};
	struct capture_attach_target t;
	if (capture_attach_find(o.pid, &t, &e) < 0) {
		cli_error("attach", "%s", e.msg);
		free(o.options_text);
		return CLI_EXIT_ERROR;
	}
	struct attach_signals sig;
	if (attach_signals_install(&sig, &e) < 0) {
		cli_error("attach", "%s", e.msg);
		capture_attach_done(&t);
		free(o.options_text);
		return CLI_EXIT_ERROR;
	}
	capture_attach_sweep(&t);
	rc = CLI_EXIT_ERROR;
	bool created = false;
	char *path = NULL;
	struct attach_run r = {.o = &o, .t = &t, .ctrl = -1};
	if (attach_wait_ready(&o, &t, sig.pipe[0]) < 0)
		goto out;
	path = cli_capture_output_path("attach", o.cap.output, o.cap.force, &created);
	if (!path)
		goto out;
	r.path = path;
	cli_capture_progress_init(&r.prog, cli_capture_now());
	r.s = trace_session_new();
	struct capture_drain_options dopts = {
	    .keep_events = false, .log = cli_capture_log, .log_arg = &r.prog};
	r.d = capture_drain_new(r.s, &dopts);
	cli_capture_meta(r.d, t.command, o.options_text);
	struct capture_server_options sopts = {.ring_size = o.cap.ring_size,
	                                       .block = o.cap.block,
	                                       .flags = o.cap.flags,
	                                       .flush_ms = o.cap.flush_ms,
	                                       .connected = attach_connected,
	                                       .closed = attach_closed,
	                                       .arg = &r};
	r.server = capture_server_new(&sopts, &e);
	if (!r.server) {
		cli_error("attach", "%s", e.msg);
		goto out;
	}
	r.sink = capture_sbt_sink_open(path, NULL, &e);
	if (!r.sink || capture_drain_add_sink(r.d, r.sink, &e) < 0) {
		cli_error("attach", "%s", e.msg);
		goto out;
	}
	if (!o.no_db)
		r.db = cli_capture_db_open("attach", path, o.cap.force, r.d, &r.prog);
	r.ctrl = attach_request(&o, &t, capture_server_path(r.server), sig.pipe[0]);
	if (r.ctrl < 0)
		goto out;
	r.requested = r.last_flush = cli_capture_now();
	attach_loop(&r, sig.pipe[0]);
	if (r.failed)
		goto out;
	attach_finish(&r);
	rc = r.write_failed ? CLI_EXIT_ERROR : CLI_EXIT_OK;
	created = false; /* the file is the result now */
out:
	if (r.ctrl >= 0)
		close(r.ctrl);
	if (r.sink)
		capture_sink_close(r.sink, NULL);
	cli_capture_db_abandon(r.db);
	capture_drain_delete(r.d);
	capture_server_delete(r.server);
	if (created)
		unlink(path);
	trace_session_delete(r.s);
	free(path);
	attach_signals_restore(&sig);
	capture_attach_done(&t);
	free(o.options_text);
	return rc;
}
