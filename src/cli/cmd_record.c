/*
 * cmd_record.c - `tstop record [OPTION]... -- PROGRAM [ARG]...`: headless
 * capture into an SBT file.
 *
 * The command wires the capture parts together and runs one loop, as a
 * run that a caller drives turn by turn (record_run.h): `tstop record`
 * turns it in a loop here, the live view (cmd_live.c) from the interface's
 * loop, on the same thread:
 *
 *   capture_server (socket, one ring per process) ──► capture_drain ──► SBT sink (the file)
 *          ▲                                               └──────────► session (end summary)
 *          └── the program, started by capture_launch with the collector injected
 *
 * Each turn of the loop waits (poll, at most RECORD_TICK_MS, not at all
 * while rings had records) for the server socket or a signal, serves the
 * server, drains every ring, reaps the program, acts on signals and on
 * --duration, flushes the file every RECORD_FLUSH_MS (so a tstop killed
 * mid-run loses at most that much) and redraws the progress line on a
 * terminal. It ends when the program has exited and every captured process
 * has closed its connection, or RECORD_GRACE_MS after the program exited
 * (processes still running then are detached), or when --duration detaches
 * capture from everything (the program runs on).
 *
 * The session database NAME.db is a second sink beside the SBT file
 * (cli_capture_db_open, cmd_db.c), unless --no-db: when it fails alone,
 * tstop warns once and the capture goes on into the SBT file.
 *
 * Signals only set counters and wake the loop through a pipe. The program
 * stays in tstop's process group, so a Ctrl-C on the terminal reaches it
 * directly; tstop forwards only signals sent to tstop alone (kill), and a
 * second interrupt kills the program (SIGKILL). In live mode the terminal
 * sends no signals (the interface reads Ctrl-C as a key), SIGINT is not
 * forwarded and interrupts are left to the interface to ask about.
 *
 * Exit status: the program's own; 128+N when signal N killed it; 0 when
 * capture detached from a program still running; RECORD_EXIT_FAILURE (125)
 * when tstop itself failed, as timeout(1) and env(1) do.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture/drain.h"
#include "capture/launch.h"
#include "capture/proto.h"
#include "capture/server.h"
#include "capture/sink.h"
#include "cli/capture_cli.h"
#include "cli/cli_common.h"
#include "cli/cmds.h"
#include "cli/record_run.h"
#include "util/xalloc.h"

#define RECORD_TICK_MS          10
#define RECORD_FLUSH_MS         100
#define RECORD_GRACE_MS         1000
#define RECORD_POLL_BUDGET      (1u << 20) /* records per ring per loop turn */
#define RECORD_LIVE_SLICE_MS    10         /* live: drain time per turn */
#define RECORD_LIVE_BUSY_MS     50         /* live: drain time per turn while the rings keep filling */
#define RECORD_LIVE_POLL_BUDGET 4096u      /* live: records per ring per drain slice */

static const char cmd_record_usage_head[] = "Usage: tstop record [OPTION]... [--] PROGRAM [ARG]...\n";
static const char cmd_live_usage_head[] =
    "Usage: tstop [OPTION]... -- PROGRAM [ARG]...\n"
    "Like 'tstop record', and show the capture live in the terminal interface\n"
    "(without it when standard output is not a terminal). The program's\n"
    "output goes to NAME.log; its input is /dev/null.\n"
    "\n";
static const char cmd_record_usage[] =
    "Run PROGRAM with tstop's collector injected and record its GPU activity\n"
    "(CUDA through CUPTI, NVTX ranges and marks, OpenCL), and that of the\n"
    "processes it starts, into a session file.\n"
    "\n"
    "  -o, --output NAME     write NAME.sbt (\".sbt\" is added when missing);\n"
    "                        default: tstop-YYYYMMDD-HHMMSS[-N].sbt, a new file\n"
    "  -f, --force           overwrite the output file when it exists\n"
    "      --delay S         capture nothing for the first S seconds (fractions\n"
    "                        allowed), then capture as usual\n"
    "      --duration S      stop capturing S seconds after capture started (after\n"
    "                        the delay); the program runs on\n"
    "      --capture-range nvtx:NAME[@DOMAIN]\n"
    "                        capture only while an NVTX range NAME is open (in\n"
    "                        DOMAIN, or any domain with @*), in each process\n"
    "      --capture-range-end stop|repeat\n"
    "                        after the first such range ends, stop capturing in\n"
    "                        that process (stop, the default) or capture again\n"
    "                        in the next one (repeat)\n"
    "      --kinds LIST      what to capture: cuda, nvtx, opencl, comma-separated\n"
    "                        (default: all)\n"
    "      --no-stacks       do not record call stacks\n"
    "      --ring-size SIZE  each process's ring buffer: a power of two, with an\n"
    "                        optional K, M or G suffix (default 16M)\n"
    "      --block           make the program wait when its ring is full instead\n"
    "                        of dropping (and counting) events\n"
    "      --flush-ms MS     how often the collector flushes CUDA activity\n"
    "                        (default 100)\n"
    "      --no-db           do not write the session database NAME.db beside\n"
    "                        NAME.sbt (tstop db builds it later)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: the program's own; 128+N when signal N killed it; 0 when\n"
    "capture stopped (--duration) while the program ran on; 125 when tstop\n"
    "itself failed (bad option, cannot start the program, cannot write).\n";

struct record_opts {
	struct cli_capture_opts cap;
	char **argv; /* the program */
	char *options_text;
	bool no_db; /* --no-db */
};

/* --- signals ------------------------------------------------------------------- */

static volatile sig_atomic_t record_interrupts; /* SIGINT, SIGTERM, SIGHUP received */
static volatile sig_atomic_t record_fwd[4];     /* to forward: SIGINT, SIGTERM, SIGHUP, SIGQUIT */
static int record_wake_fd = -1;                 /* write end of the self-pipe */
static const int record_fwd_sig[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/* Counts the signal, notes it for forwarding when it was sent to tstop
 * alone (a terminal's signals, SI_KERNEL, reach the program directly), and
 * wakes the loop. Async-signal-safe. */
static void record_on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int saved = errno;
	bool from_terminal = si && si->si_code == SI_KERNEL;
	for (int i = 0; i < 4; i++)
		if (sig == record_fwd_sig[i] && (!from_terminal || sig == SIGTERM))
			record_fwd[i]++;
	if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
		record_interrupts++;
	if (record_wake_fd >= 0) {
		ssize_t w = write(record_wake_fd, "", 1);
		(void)w;
	}
	errno = saved;
}

/* The handlers installed and what they replaced. */
struct record_signals {
	int pipe[2];
	struct sigaction old[6];
	sigset_t reset; /* for the child: signals tstop ignores but the program must not */
};

static const int record_caught[6] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGPIPE};

/* Installs the handlers and the self-pipe. The program gets the
 * dispositions tstop was started with: exec resets caught signals to the
 * default, and SIGPIPE, which tstop ignores, is reset when it was not
 * ignored before (rs->reset, for capture_launch). */
static int record_signals_install(struct record_signals *rs, struct err *e)
{
	if (pipe2(rs->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return err_errno(e, errno, "pipe");
	record_wake_fd = rs->pipe[1];
	record_interrupts = 0;
	for (int i = 0; i < 4; i++)
		record_fwd[i] = 0;
	sigemptyset(&rs->reset);
	for (int i = 0; i < 6; i++) {
		int sig = record_caught[i];
		sigaction(sig, NULL, &rs->old[i]);
		/* A signal tstop was started ignoring (nohup, a background job)
		 * stays ignored, by tstop and by the program, as shells do. */
		if (sig != SIGCHLD && sig != SIGPIPE && rs->old[i].sa_handler == SIG_IGN)
			continue;
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sigemptyset(&sa.sa_mask);
		if (sig == SIGPIPE) {
			sa.sa_handler = SIG_IGN;
			if (rs->old[i].sa_handler != SIG_IGN)
				sigaddset(&rs->reset, SIGPIPE);
		} else {
			sa.sa_sigaction = record_on_signal;
			sa.sa_flags = SA_SIGINFO | SA_RESTART;
		}
		sigaction(sig, &sa, NULL);
	}
	return 0;
}

/* Restores the old handlers and closes the pipe. */
static void record_signals_restore(struct record_signals *rs)
{
	for (int i = 0; i < 6; i++)
		sigaction(record_caught[i], &rs->old[i], NULL);
	record_wake_fd = -1;
	close(rs->pipe[0]);
	close(rs->pipe[1]);
}

/* A usage error of `tstop record`: message and hint, exit 125. */
static int record_usage_error(const char *cmd, const char *fmt, const char *arg)
{
	cli_usage_error(cmd, fmt, arg);
	return RECORD_EXIT_FAILURE;
}

/* Parses the command line into `o`; returns -1 when done (help printed or
 * all parsed: then o->argv is set), else an exit status. getopt stops at
 * the program's name, so the program's own options stay its own. */
static int record_parse(int argc, char **argv, const char *cmd, struct record_opts *o)
{
	enum { OPT_NO_DB = CLI_CAPTURE_OPT_END };
	static const struct option longopts[] = {
	    CLI_CAPTURE_LONGOPTS,
	    {"no-db", no_argument, NULL, OPT_NO_DB},
	    {NULL, 0, NULL, 0},
	};
	cli_capture_opts_init(&o->cap);
	/* cli_getopt permutes argv; "+" (stop at the first non-option) must
	 * lead the option string, before the ':' that reports missing values. */
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+:o:fh", longopts, NULL)) != -1) {
		int applied = cli_capture_opt(&o->cap, cmd, c, optarg);
		if (applied < 0)
			return RECORD_EXIT_FAILURE;
		if (applied)
			continue;
		switch (c) {
		case 'h':
			fputs(!cmd ? cmd_live_usage_head : cmd_record_usage_head, stdout);
			fputs(cmd_record_usage, stdout);
			return CLI_EXIT_OK;
		case OPT_NO_DB:
			o->no_db = true;
			break;
		case ':':
			return record_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt && !(optind > 0 && !strncmp(argv[optind - 1], "--", 2))) {
				char opt[3] = {'-', (char)optopt, '\0'};
				return record_usage_error(cmd, "unknown option '%s'", opt);
			}
			return record_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (cli_capture_opts_finish(&o->cap, cmd) < 0)
		return RECORD_EXIT_FAILURE;
	if (optind >= argc)
		return record_usage_error(cmd, "no program to run%s", "");
	o->argv = argv + optind;
	/* The options as given, without the "--" that ends them. */
	int nopt = optind - 1;
	if (nopt > 0 && !strcmp(argv[optind - 1], "--"))
		nopt--;
	o->options_text = cli_capture_join(argv + 1, nopt);
	return -1;
}

/* --- the run ----------------------------------------------------------------------- */

struct record_run {
	struct record_opts o;
	struct trace_session *s;
	struct capture_drain *d;
	struct capture_server *server;
	struct capture_sink *sink;
	struct cli_capture_db *db; /* NAME.db, NULL with --no-db */
	char *path;
	char *log;     /* live: NAME.log, the program's output */
	char *command; /* the program and its arguments, joined */
	bool live;
	bool created; /* path was created by this run (removed when it fails early) */
	bool signals_on;
	struct record_signals sig;
	pid_t pid;
	bool child_running;
	int child_status;
	bool detached;     /* capture stopped on --duration or a write error */
	bool write_failed; /* the file could not be written */
	bool done, ended;
	bool busy;       /* the last turn read records: the next does not wait */
	bool new_events; /* events added since record_run_take_new_events */
	int rc;          /* the exit status, once ended */
	struct cli_capture_progress prog;
	struct cli_capture_switch sw; /* paused during --delay and by the live view */
	bool user_paused;             /* paused by the live view */
	int64_t start, last_flush, exit_time;
	int64_t capture_start; /* when capture starts: start + --delay */
	int interrupts_seen;
	int exit_interrupts; /* interrupts_seen when the program exited */
	int fwd_seen[4];
};

/* Server callback: a process connected with ring `ring`. */
static void *record_connected(void *arg, uint32_t pid, uint32_t ppid, struct ring *ring)
{
	struct record_run *r = arg;
	if (r->detached)
		return NULL;
	struct capture_proc *p = capture_drain_attach(r->d, pid, ppid, ring);
	cli_capture_ring_setup(&r->o.cap, ring);
	cli_capture_switch_add(&r->sw, p, ring);
	return p;
}

/* Server callback: the process behind `handle` is gone. */
static void record_closed(void *arg, void *handle, bool have_status, int wait_status)
{
	struct record_run *r = arg;
	cli_capture_switch_remove(&r->sw, handle);
	capture_drain_close(r->d, handle, cli_capture_now(), have_status, wait_status);
}

/* Stops capturing from every process still attached (they run on). */
static void record_detach_all(struct record_run *r)
{
	while (capture_drain_attached(r->d)) {
		struct capture_proc *p = capture_drain_proc(r->d, 0);
		cli_capture_switch_remove(&r->sw, p);
		capture_server_drop(r->server, p);
		capture_drain_detach(r->d, p);
	}
	if (r->child_running) {
		const struct trace_process *p = trace_session_find_process(r->s, (uint32_t)r->pid);
		if (p && p->state == TRACE_PROC_RUNNING) {
			struct trace_process np = *p;
			np.state = TRACE_PROC_DETACHED;
			capture_drain_set_process(r->d, &np);
		}
	}
	r->detached = true;
}

/* Flushes the files; when the SBT file fails stops capturing (the program
 * runs on); when the database alone fails, warns and goes on. */
static void record_flush(struct record_run *r)
{
	struct err e = {{0}};
	if (r->write_failed || capture_drain_flush(r->d, &e) == 0)
		return;
	cli_capture_db_check(r->db, r->d, &r->prog);
	const char *msg = capture_drain_sink_error(r->d, r->sink);
	if (!msg)
		return;
	cli_capture_progress_clear(&r->prog);
	cli_error("record", "%s; capture stopped, the program runs on", msg);
	r->write_failed = true;
	record_detach_all(r);
}

/* Acts on the signals counted since the last turn. In live mode an
 * interrupt is left to the interface (record_run_interrupts), and SIGINT
 * is not forwarded: the interface asks what to do. */
static void record_handle_signals(struct record_run *r)
{
	for (int i = 0; i < 4; i++) {
		int n = record_fwd[i];
		if (n != r->fwd_seen[i]) {
			r->fwd_seen[i] = n;
			if (r->child_running && !(r->live && record_fwd_sig[i] == SIGINT))
				kill(r->pid, record_fwd_sig[i]);
		}
	}
	int ints = record_interrupts;
	if (ints == r->interrupts_seen)
		return;
	int before = r->interrupts_seen;
	r->interrupts_seen = ints;
	if (r->live)
		return;
	cli_capture_progress_clear(&r->prog);
	if (r->child_running && before == 0 && ints == 1) {
		fprintf(stderr, "tstop: interrupt passed to the program; interrupt again to kill it\n");
	} else if (r->child_running) {
		fprintf(stderr, "tstop: killing the program (SIGKILL)\n");
		kill(r->pid, SIGKILL);
	}
}

/* Reaps the program when it has exited. */
static void record_reap(struct record_run *r)
{
	if (!r->child_running)
		return;
	int status;
	pid_t got = waitpid(r->pid, &status, WNOHANG);
	if (got != r->pid)
		return;
	r->child_running = false;
	r->child_status = status;
	r->exit_time = cli_capture_now();
	r->exit_interrupts = r->interrupts_seen;
	capture_drain_process_exit(r->d, (uint32_t)r->pid, r->exit_time, status);
}

/* Whether the run is over; detaches late processes after the grace time.
 * After a write error capture has stopped, but tstop still waits for the
 * program, which keeps the terminal meanwhile. */
static bool record_done(struct record_run *r, int64_t now)
{
	if (r->detached)
		return !r->write_failed || !r->child_running;
	if (r->child_running)
		return false;
	if (!capture_drain_attached(r->d) && !capture_server_connections(r->server))
		return true;
	if (now - r->exit_time > (int64_t)RECORD_GRACE_MS * 1000000 ||
	    (!r->live && r->interrupts_seen > r->exit_interrupts)) {
		size_t n = capture_drain_attached(r->d);
		cli_capture_progress_clear(&r->prog);
		if (n)
			fprintf(stderr,
			        "tstop: %zu process%s still running after the program exited; detaching\n", n,
			        n == 1 ? " is" : "es are");
		record_detach_all(r);
		return true;
	}
	return false;
}

/* Drains the rings: headless, up to RECORD_POLL_BUDGET records per ring;
 * live, in slices for about RECORD_LIVE_SLICE_MS (RECORD_LIVE_BUSY_MS
 * while the rings keep filling), so a frame is never held up long. Returns
 * whether records were read. */
static bool record_drain(struct record_run *r)
{
	uint64_t before = capture_drain_stats(r->d)->events;
	bool busy;
	if (!r->live) {
		busy = capture_drain_poll(r->d, RECORD_POLL_BUDGET) > 0;
	} else {
		int64_t t0 = cli_capture_now(), limit = (int64_t)RECORD_LIVE_SLICE_MS * 1000000;
		uint64_t got = 0;
		busy = false;
		for (int slices = 0;; slices++) {
			uint64_t n = capture_drain_poll(r->d, RECORD_LIVE_POLL_BUDGET);
			got += n;
			if (!n)
				break;
			busy = true;
			int64_t dt = cli_capture_now() - t0;
			/* rings still full after the first slice: give them more */
			if (slices == 8 && got >= 8 * (uint64_t)RECORD_LIVE_POLL_BUDGET)
				limit = (int64_t)RECORD_LIVE_BUSY_MS * 1000000;
			if (dt >= limit)
				break;
		}
	}
	if (capture_drain_stats(r->d)->events != before)
		r->new_events = true;
	return busy;
}

bool record_run_turn(struct record_run *r, int wait_ms, int extra_fd)
{
	int wake_fd = r->sig.pipe[0];
	struct pollfd pfd[3] = {{.fd = capture_server_fd(r->server), .events = POLLIN},
	                        {.fd = wake_fd, .events = POLLIN},
	                        {.fd = extra_fd, .events = POLLIN}};
	if (r->done) {
		poll(pfd + 1, extra_fd >= 0 ? 2 : 1, wait_ms);
		char buf[64];
		while (read(wake_fd, buf, sizeof(buf)) > 0)
			;
		return true;
	}
	if (poll(pfd, extra_fd >= 0 ? 3 : 2, r->busy ? 0 : wait_ms) > 0 && (pfd[1].revents & POLLIN)) {
		char buf[64];
		while (read(wake_fd, buf, sizeof(buf)) > 0)
			;
	}
	/* Served even when detached: new processes are then refused at
	 * once instead of waiting for an answer. */
	struct err e = {{0}};
	if (capture_server_step(r->server, &e) < 0 && !r->write_failed) {
		cli_capture_progress_clear(&r->prog);
		cli_error("record", "%s; capture stopped", e.msg);
		r->write_failed = true;
		record_detach_all(r);
	}
	r->busy = record_drain(r);
	record_reap(r);
	record_handle_signals(r);
	int64_t now = cli_capture_now();
	if (r->sw.paused && !r->user_paused && now >= r->capture_start)
		cli_capture_switch_set(&r->sw, false, now);
	if (!r->detached && r->o.cap.duration > 0 && now >= r->capture_start &&
	    (double)(now - r->capture_start) >= r->o.cap.duration * 1e9) {
		cli_capture_progress_clear(&r->prog);
		fprintf(stderr, "tstop: %g s elapsed; capture stopped, the program runs on\n",
		        r->o.cap.duration);
		record_detach_all(r);
	}
	if (now - r->last_flush >= (int64_t)RECORD_FLUSH_MS * 1000000) {
		record_flush(r);
		r->last_flush = now;
	}
	cli_capture_progress_tick(&r->prog, r->d, r->s, "recording", now);
	r->done = record_done(r, now);
	return r->done;
}

bool record_run_take_new_events(struct record_run *r)
{
	bool n = r->new_events;
	r->new_events = false;
	return n;
}

/* The exit status of tstop for the run. */
static int record_exit_status(const struct record_run *r)
{
	if (r->write_failed)
		return RECORD_EXIT_FAILURE;
	if (r->child_running)
		return CLI_EXIT_OK; /* detached: the program runs on */
	if (WIFEXITED(r->child_status))
		return WEXITSTATUS(r->child_status);
	if (WIFSIGNALED(r->child_status))
		return 128 + WTERMSIG(r->child_status);
	return RECORD_EXIT_FAILURE;
}

/* Opens NAME.log (NAME.sbt with .log for .sbt) for the program's output in
 * live mode; -1 after printing an error. An existing file is only replaced
 * with -f. */
static int record_open_log(struct record_run *r, const char *cmd)
{
	size_t n = strlen(r->path);
	r->log = xmalloc(n + 8);
	memcpy(r->log, r->path, n + 1);
	if (n > 4 && !strcmp(r->log + n - 4, ".sbt"))
		r->log[n - 4] = '\0';
	strcat(r->log, ".log");
	int fd = open(r->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (r->o.cap.force ? 0 : O_EXCL), 0644);
	if (fd < 0)
		cli_error(cmd, "cannot create %s: %s%s", r->log, strerror(errno),
		          errno == EEXIST ? "; use -f to overwrite it" : "");
	return fd;
}

/* Starts the program; in live mode with standard input /dev/null and its
 * output into `log_fd`, by pointing tstop's own descriptors there for the
 * moment of the fork (nothing else runs meanwhile). Returns its pid or -1. */
static pid_t record_launch(struct record_run *r, const struct capture_launch_options *lo, int log_fd,
                           struct err *e)
{
	if (log_fd < 0)
		return capture_launch(lo, e);
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int saved[3] = {dup(STDIN_FILENO), dup(STDOUT_FILENO), dup(STDERR_FILENO)};
	if (nul >= 0)
		dup2(nul, STDIN_FILENO);
	dup2(log_fd, STDOUT_FILENO);
	dup2(log_fd, STDERR_FILENO);
	pid_t pid = capture_launch(lo, e);
	for (int i = 0; i < 3; i++)
		if (saved[i] >= 0) {
			dup2(saved[i], i);
			close(saved[i]);
		}
	if (nul >= 0)
		close(nul);
	(void)r;
	return pid;
}

struct record_run *record_run_start(int argc, char **argv, const char *cmd, bool live, int *status)
{
	struct record_run *r = xcalloc(1, sizeof(*r));
	r->live = live;
	r->sig.pipe[0] = r->sig.pipe[1] = -1;
	int rc = record_parse(argc, argv, cmd, &r->o);
	if (rc >= 0) {
		*status = rc;
		free(r);
		return NULL;
	}
	const char *ecmd = cmd ? cmd : "record";
	*status = RECORD_EXIT_FAILURE;
	char library[PATH_MAX];
	struct err e = {{0}};
	int log_fd = -1;
	cli_capture_switch_init(&r->sw, r->o.cap.delay > 0);
	r->s = trace_session_new();
	if (capture_find_collector(library, sizeof(library), &e) < 0) {
		cli_error(ecmd, "%s", e.msg);
		goto fail;
	}
	r->path = cli_capture_output_path(ecmd, r->o.cap.output, r->o.cap.force, &r->created);
	if (!r->path)
		goto fail;
	if (live && (log_fd = record_open_log(r, ecmd)) < 0)
		goto fail;

	cli_capture_progress_init(&r->prog, cli_capture_now());
	if (live)
		r->prog.tty = false; /* the interface shows the progress */
	struct capture_drain_options dopts = {
	    .keep_events = live, .log = cli_capture_log, .log_arg = &r->prog};
	r->d = capture_drain_new(r->s, &dopts);
	int argc_prog = 0;
	while (r->o.argv[argc_prog])
		argc_prog++;
	r->command = cli_capture_join(r->o.argv, argc_prog);
	cli_capture_meta(r->d, r->command, r->o.options_text);
	struct capture_server_options sopts = {.ring_size = r->o.cap.ring_size,
	                                       .block = r->o.cap.block,
	                                       .flags = r->o.cap.flags,
	                                       .flush_ms = r->o.cap.flush_ms,
	                                       .connected = record_connected,
	                                       .closed = record_closed,
	                                       .arg = r};
	r->server = capture_server_new(&sopts, &e);
	if (!r->server) {
		cli_error(ecmd, "%s", e.msg);
		goto fail;
	}
	if (record_signals_install(&r->sig, &e) < 0) {
		cli_error(ecmd, "%s", e.msg);
		goto fail;
	}
	r->signals_on = true;
	r->start = cli_capture_now();
	r->capture_start = r->start + (int64_t)(r->o.cap.delay * 1e9);
	struct capture_launch_options lopts = {.argv = r->o.argv,
	                                       .socket_path = capture_server_path(r->server),
	                                       .library = library,
	                                       .reset = &r->sig.reset};
	r->pid = record_launch(r, &lopts, log_fd, &e);
	if (r->pid < 0) {
		cli_error(ecmd, "%s", e.msg);
		goto fail;
	}
	r->child_running = true;
	struct trace_process proc = {.pid = (uint32_t)r->pid,
	                             .ppid = (uint32_t)getpid(),
	                             .command = trace_session_intern_cstr(r->s, r->command),
	                             .start = r->start,
	                             .state = TRACE_PROC_RUNNING};
	/* The string the process refers to goes to the sinks with the replay. */
	capture_drain_set_process(r->d, &proc);
	r->sink = capture_sbt_sink_open(r->path, NULL, &e);
	if (!r->sink || capture_drain_add_sink(r->d, r->sink, &e) < 0) {
		cli_error(ecmd, "%s; stopping the program", e.msg);
		kill(r->pid, SIGKILL);
		while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
			;
		capture_sink_close(r->sink, NULL);
		goto fail;
	}
	if (log_fd >= 0)
		close(log_fd);
	if (!r->o.no_db)
		r->db = cli_capture_db_open(ecmd, r->path, r->o.cap.force, r->d, &r->prog);
	r->last_flush = r->start;
	cli_capture_progress_init(&r->prog, r->start);
	if (live)
		r->prog.tty = false;
	return r;
fail:
	if (log_fd >= 0) {
		close(log_fd);
		unlink(r->log);
	}
	record_run_free(r);
	return NULL;
}

int record_run_end(struct record_run *r)
{
	if (r->ended)
		return r->rc;
	r->ended = true;
	r->done = true;
	uint64_t before = capture_drain_stats(r->d)->events;
	capture_drain_poll(r->d, SIZE_MAX);
	if (capture_drain_stats(r->d)->events != before)
		r->new_events = true;
	struct err fe = {{0}};
	if (capture_drain_flush(r->d, &fe) < 0) {
		cli_capture_db_check(r->db, r->d, &r->prog);
		const char *msg = capture_drain_sink_error(r->d, r->sink);
		if (msg && !r->write_failed) {
			cli_capture_progress_clear(&r->prog);
			cli_error("record", "%s", msg);
			r->write_failed = true;
		}
	}
	uint64_t bytes = capture_sbt_sink_bytes(r->sink);
	if (capture_sink_close(r->sink, &fe) < 0) {
		if (!r->write_failed) {
			cli_capture_progress_clear(&r->prog);
			cli_error("record", "%s", fe.msg);
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
	r->rc = record_exit_status(r);
	r->created = false; /* the file is the result now */
	return r->rc;
}

void record_run_free(struct record_run *r)
{
	if (!r)
		return;
	if (r->signals_on)
		record_signals_restore(&r->sig);
	capture_drain_delete(r->d);
	capture_server_delete(r->server);
	if (r->created)
		unlink(r->path);
	trace_session_delete(r->s);
	cli_capture_switch_done(&r->sw);
	free(r->path);
	free(r->log);
	free(r->command);
	free(r->o.options_text);
	free(r);
}

void record_run_info(const struct record_run *r, struct record_run_info *info)
{
	info->pid = r->pid;
	info->command = r->command;
	info->path = r->path;
	info->log = r->log;
	info->running = r->child_running;
	info->detached = r->detached;
	info->ended = r->ended;
	info->wait_status = r->child_status;
	info->start = r->start;
	info->now = r->child_running ? cli_capture_now() : r->exit_time;
	info->paused = r->sw.paused;
}

struct trace_session *record_run_session(struct record_run *r)
{
	return r->s;
}

void record_run_set_paused(struct record_run *r, bool paused)
{
	r->user_paused = paused;
	int64_t now = cli_capture_now();
	/* during --delay capture stays off; resuming then only ends the user's pause */
	if (!paused && now < r->capture_start)
		return;
	cli_capture_switch_set(&r->sw, paused, now);
}

void record_run_kill(struct record_run *r)
{
	if (r->child_running)
		kill(r->pid, SIGKILL);
}

void record_run_detach(struct record_run *r)
{
	if (!r->detached && !r->ended)
		record_detach_all(r);
}

int record_run_interrupts(const struct record_run *r)
{
	return r->interrupts_seen;
}

/* Runs `tstop record`. */
int cmd_record(int argc, char **argv)
{
	int rc;
	struct record_run *r = record_run_start(argc, argv, "record", false, &rc);
	if (!r)
		return rc;
	while (!record_run_turn(r, RECORD_TICK_MS, -1))
		;
	rc = record_run_end(r);
	record_run_free(r);
	return rc;
}
