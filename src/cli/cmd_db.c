/*
 * cmd_db.c - `tstop db FILE.sbt [-o FILE.db]`: builds the session database
 * (store/db.h, docs/schema.md) of an SBT file; and the session database
 * that `tstop record` and `tstop attach` write beside their SBT file.
 *
 * `tstop db` loads the SBT (a damaged file loads what it can, with
 * warnings, as every command does) and writes it through
 * db_write_session, which writes a temporary file beside the target and
 * renames it into place only when finished, and removes it when it fails
 * or is interrupted (SIGINT, SIGTERM). On a terminal it shows its progress
 * on stderr. It never overwrites a file
 * unasked (-f), nor the file it reads.
 *
 * The capture side (cli_capture_db_*, declared in cmds.h): the database is
 * one more sink of the drain, written by its own thread. The SBT file is
 * the capture log; the database is a convenience that may fail alone: then
 * the command warns once, with SQLite's message and the command that
 * rebuilds it later from the SBT, and the capture goes on.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/drain.h"
#include "capture/sink.h"
#include "cli/capture_cli.h"
#include "cli/cli_common.h"
#include "cli/cmds.h"
#include "store/db.h"
#include "util/xalloc.h"

#define DB_PROGRESS_NS 100000000 /* between progress lines on a terminal */

static const char cmd_db_usage[] =
    "Usage: tstop db [OPTION]... FILE.sbt\n"
    "Build the session database of a tstop session file: a SQLite file with\n"
    "a table per kind of event, summary views and nsys-compatible views, for\n"
    "SQL (tstop sql, sqlite3, pandas). tstop record writes it during capture;\n"
    "this builds it for sessions captured without it, or whose database was\n"
    "lost.\n"
    "\n"
    "  -o, --output FILE  write FILE (default: FILE.sbt with .db for .sbt)\n"
    "  -f, --force        overwrite the output file when it exists\n"
    "  -q, --quiet        print nothing but errors and warnings\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit status: 0 ok, 1 the session cannot be read or the database cannot\n"
    "be written (no partial file is left), 2 usage error.\n";

/* The default database path of session file `sbt`: ".sbt" replaced by
 * ".db", or ".db" added. The caller frees it. */
static char *db_default_path(const char *sbt)
{
	size_t n = strlen(sbt);
	if (n > 4 && !strcmp(sbt + n - 4, ".sbt"))
		n -= 4;
	char *out = xmalloc(n + 4);
	memcpy(out, sbt, n);
	memcpy(out + n, ".db", 4);
	return out;
}

/* --- tstop db ---------------------------------------------------------------------- */

/* Progress of `tstop db` on a terminal. */
struct db_progress {
	const char *path;
	bool tty; /* draw the line; else only watch for a signal */
	bool shown;
	int64_t last;
};

/* Set by SIGINT and SIGTERM while `tstop db` runs: the build stops at its
 * next progress call and its temporary files are removed. */
static volatile sig_atomic_t db_interrupted;

/* The handler of SIGINT and SIGTERM during `tstop db`. */
static void db_on_signal(int sig)
{
	db_interrupted = sig;
}

/* Draws "tstop db: writing PATH: N% (D of T events)" at most every
 * DB_PROGRESS_NS; a db_progress_fn. */
static bool db_progress_line(void *arg, uint64_t done, uint64_t total)
{
	struct db_progress *p = arg;
	if (db_interrupted)
		return false;
	if (!p->tty)
		return true;
	int64_t now = cli_capture_now();
	if (p->shown && now - p->last < DB_PROGRESS_NS && done < total)
		return true;
	p->last = now;
	p->shown = true;
	fprintf(stderr, "\rtstop db: writing %s: %3d%% (%" PRIu64 " of %" PRIu64 " events)\033[K", p->path,
	        total ? (int)(done * 100 / total) : 100, done, total);
	if (done == total)
		fputs("; finishing\033[K", stderr);
	fflush(stderr);
	return true;
}

/* Whether paths `a` and `b` name the same existing file. */
static bool db_same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Runs `tstop db`. */
int cmd_db(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"force", no_argument, NULL, 'f'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *output = NULL;
	bool force = false, quiet = false;
	int c;
	cli_getopt_reset();
	while ((c = cli_getopt(argc, argv, "db", "o:fqh", longopts)) != CLI_OPT_END) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(cmd_db_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cli_usage_error("db", "no session file given");
	if (optind + 1 < argc)
		return cli_usage_error("db", "one session file only, not also '%s'", argv[optind + 1]);
	const char *in = argv[optind];
	if (output && !*output)
		return cli_usage_error("db", "empty output file name");
	char *out = output ? xstrdup(output) : db_default_path(in);
	int rc = CLI_EXIT_ERROR;
	struct stat st;
	if (db_same_file(in, out)) {
		cli_error("db", "%s is the session file read; choose another output with -o", out);
		goto done;
	}
	if (!force && lstat(out, &st) == 0) {
		cli_error("db", "%s already exists (use -f to overwrite it)", out);
		goto done;
	}
	/* Ctrl-C or SIGTERM stops the build cleanly: db_write_session removes
	 * its temporary files, and the existing database (with -f) is kept. */
	struct sigaction sa = {.sa_handler = db_on_signal}, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	db_interrupted = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	/* A signal the caller ignores (SIGINT of a background job) stays ignored. */
	if (old_int.sa_handler == SIG_IGN)
		sigaction(SIGINT, &old_int, NULL);
	if (old_term.sa_handler == SIG_IGN)
		sigaction(SIGTERM, &old_term, NULL);
	struct trace_session *s = cli_open_session("db", in, NULL);
	if (!s)
		goto restore;
	struct db_progress p = {.path = out, .tty = !quiet && isatty(STDERR_FILENO) == 1};
	struct err e = {{0}};
	int wr = db_write_session(s, out, force, db_progress_line, &p, &e);
	if (p.shown)
		fputs("\r\033[K", stderr);
	if (wr < 0 && db_interrupted) {
		cli_error("db", "interrupted; %s was not %s", out, force ? "replaced" : "written");
		rc = CLI_EXIT_ERROR;
	} else if (wr < 0) {
		cli_error("db", "%s", e.msg);
	} else {
		if (!quiet)
			fprintf(stderr, "tstop db: wrote %s (%" PRIu64 " events, %lld bytes)\n", out,
			        trace_session_event_count(s),
			        stat(out, &st) == 0 ? (long long)st.st_size : 0LL);
		rc = CLI_EXIT_OK;
	}
	trace_session_delete(s);
restore:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (db_interrupted == SIGINT || db_interrupted == SIGTERM) {
		/* Die of the signal, as the shell expects, now that all is clean. */
		int sig = db_interrupted;
		free(out);
		raise(sig);
		return CLI_EXIT_ERROR;
	}
done:
	free(out);
	return rc;
}

/* --- the database of a capture ------------------------------------------------------ */

struct cli_capture_db {
	const char *cmd; /* "record", "attach": for messages */
	char *path;      /* NAME.db */
	char *sbt_path;  /* NAME.sbt, for the rebuild hint */
	bool force;      /* the hint needs -f (the file is there) */
	struct capture_sink *sink;
	bool failed; /* warned: nothing more is said until the summary */
};

/* Warns, once, that the database failed with `msg`: the capture goes on
 * into the SBT, and how to rebuild the database later. */
static void cli_capture_db_warn(struct cli_capture_db *db, struct cli_capture_progress *prog, const char *msg)
{
	if (db->failed)
		return;
	db->failed = true;
	struct stat st;
	db->force = lstat(db->path, &st) == 0; /* a rebuild replaces what is there */
	cli_capture_progress_clear(prog);
	cli_warn(db->cmd, "%s; the capture goes on into %s (rebuild the database later with `tstop db%s %s`)",
	         msg, db->sbt_path, db->force ? " -f" : "", db->sbt_path);
}

/* Opens NAME.db beside `sbt_path` and adds it to drain `d`; see cmds.h. */
struct cli_capture_db *cli_capture_db_open(const char *cmd, const char *sbt_path, bool force,
                                           struct capture_drain *d, struct cli_capture_progress *prog)
{
	struct cli_capture_db *db = xcalloc(1, sizeof(*db));
	db->cmd = cmd;
	db->path = db_default_path(sbt_path);
	db->sbt_path = xstrdup(sbt_path);
	struct err e = {{0}};
	db->sink = capture_db_sink_open(db->path, force, NULL, &e);
	if (!db->sink) {
		char msg[ERR_MSG_MAX + 64];
		snprintf(msg, sizeof(msg), "no session database: %s", e.msg);
		cli_capture_db_warn(db, prog, msg);
		return db;
	}
	if (capture_drain_add_sink(d, db->sink, &e) < 0)
		cli_capture_db_warn(db, prog, e.msg);
	return db;
}

/* Warns once when the database sink has failed; see cmds.h. */
void cli_capture_db_check(struct cli_capture_db *db, const struct capture_drain *d,
                          struct cli_capture_progress *prog)
{
	if (!db || !db->sink || db->failed)
		return;
	const char *msg = capture_drain_sink_error(d, db->sink);
	if (msg)
		cli_capture_db_warn(db, prog, msg);
}

/* Closes the database and reports it; see cmds.h. */
void cli_capture_db_close(struct cli_capture_db *db, const struct capture_drain *d,
                          struct cli_capture_progress *prog)
{
	if (!db)
		return;
	cli_capture_db_check(db, d, prog);
	if (db->sink) {
		struct db_sink_stats st;
		capture_db_sink_stats(db->sink, &st);
		uint64_t behind = st.events_queued - st.events_committed;
		if (!db->failed && prog->tty && behind > 100000) {
			cli_capture_progress_clear(prog);
			fprintf(stderr,
			        "tstop: finishing the session database (%" PRIu64 " events to write)\n",
			        behind);
		}
		struct err e = {{0}};
		if (capture_sink_close(db->sink, &e) < 0)
			cli_capture_db_warn(db, prog, e.msg);
		db->sink = NULL;
		struct stat sb;
		if (!db->failed && stat(db->path, &sb) == 0)
			fprintf(stderr, "tstop: wrote %s (%lld bytes)\n", db->path, (long long)sb.st_size);
	}
	if (db->failed)
		fprintf(stderr, "tstop: no complete session database; `tstop db%s %s` builds it\n",
		        db->force ? " -f" : "", db->sbt_path);
	free(db->path);
	free(db->sbt_path);
	free(db);
}

/* Closes and removes the database of a capture that never started; see
 * cmds.h. */
void cli_capture_db_abandon(struct cli_capture_db *db)
{
	if (!db)
		return;
	if (db->sink) {
		capture_sink_close(db->sink, NULL);
		static const char *const suffixes[] = {"", "-wal", "-shm"};
		for (size_t i = 0; i < 3; i++) {
			char p[4096];
			snprintf(p, sizeof(p), "%s%s", db->path, suffixes[i]);
			unlink(p);
		}
	}
	free(db->path);
	free(db->sbt_path);
	free(db);
}
