/*
 * cli_common.c - messages, option parsing and session opening shared by the
 * subcommands (see cli_common.h).
 */
#include "cli/cli_common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/format.h"
#include "store/db.h"
#include "trace/meta.h"
#include "util/xalloc.h"

/* Writes "tstop CMD: " (or "tstop: "), `kind` and the formatted message to
 * stderr, the message escaped by report_write_text: it may quote file
 * names, option values and text from a session. */
static void cli_vmessage(const char *cmd, const char *kind, const char *fmt, va_list ap)
{
	char small[512];
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	char *msg = small;
	if (n >= (int)sizeof(small)) {
		msg = xmalloc((size_t)n + 1);
		vsnprintf(msg, (size_t)n + 1, fmt, again);
	}
	va_end(again);
	if (cmd)
		fprintf(stderr, "tstop %s: %s", cmd, kind);
	else
		fprintf(stderr, "tstop: %s", kind);
	if (n > 0)
		report_write_text(stderr, msg, (size_t)n);
	fputc('\n', stderr);
	if (msg != small)
		free(msg);
}

/* Prints a usage error and the --help hint on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cli_vmessage(cmd, "", fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "Try 'tstop %s --help'.\n", cmd);
	else
		fprintf(stderr, "Try 'tstop --help'.\n");
	return CLI_EXIT_USAGE;
}

/* Prints a runtime error on stderr; returns CLI_EXIT_ERROR. */
int cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cli_vmessage(cmd, "", fmt, ap);
	va_end(ap);
	return CLI_EXIT_ERROR;
}

/* Prints a warning on stderr. */
void cli_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cli_vmessage(cmd, "warning: ", fmt, ap);
	va_end(ap);
}

/* Makes the next cli_getopt call start on a new argv, getopt silent. */
void cli_getopt_reset(void)
{
	optind = 0; /* glibc: a full re-initialisation, as for a new argv */
	opterr = 0;
}

/* The next option of argv as getopt_long gives it, CLI_OPT_BAD after a usage error was printed. */
int cli_getopt(int argc, char **argv, const char *cmd, const char *shortopts, const struct option *longopts)
{
	char spec[64];
	/* A leading ':' makes getopt tell a missing value (':') from an
	 * unknown option ('?'). */
	snprintf(spec, sizeof(spec), ":%s", shortopts);
	int c = getopt_long(argc, argv, spec, longopts, NULL);
	if (c == ':') {
		cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
		return CLI_OPT_BAD;
	}
	if (c == '?') {
		if (optopt && !(optind > 0 && !strncmp(argv[optind - 1], "--", 2)))
			cli_usage_error(cmd, "unknown option '-%c'", optopt);
		else
			cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		return CLI_OPT_BAD;
	}
	return c;
}

/* Whether `path` is a regular file that starts as a SQLite database does.
 * Anything else (a pipe included, which is never opened here so that its
 * bytes stay for the SBT reader) is left to the SBT reader. */
static bool cli_file_is_db(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char head[16];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	close(fd);
	return n > 0 && db_file_is_sqlite(head, (size_t)n);
}

/* Loads the SBT file at path into s, warning about damage; 0, or -1 after
 * an error was printed. */
static int cli_load_sbt(const char *cmd, const char *path, struct trace_session *s,
                        struct sbt_read_report *rep)
{
	struct err e = {{0}};
	if (sbt_load(path, s, rep, &e)) {
		cli_error(cmd, "%s", e.msg);
		return -1;
	}
	char problem[sizeof(rep->first_problem) + 1]; /* NUL-terminated even if the report's is not */
	memcpy(problem, rep->first_problem, sizeof(rep->first_problem));
	problem[sizeof(rep->first_problem)] = '\0';
	if (rep->truncated)
		cli_warn(cmd,
		         "%s is cut off at byte %" PRIu64 " of %" PRIu64 "; loaded the %" PRIu64
		         " events before it",
		         path, rep->truncated_at, rep->file_bytes, rep->events);
	if (rep->chunks_skipped) {
		cli_warn(cmd,
		         "%s: skipped %" PRIu64 " damaged or unknown chunk%s (%" PRIu64
		         " of unknown type)%s%s",
		         path, rep->chunks_skipped, rep->chunks_skipped == 1 ? "" : "s", rep->chunks_unknown,
		         problem[0] ? "; first: " : "", problem);
	}
	if (rep->records_dropped)
		cli_warn(cmd, "%s: dropped %" PRIu64 " malformed record%s%s%s", path, rep->records_dropped,
		         rep->records_dropped == 1 ? "" : "s",
		         problem[0] && !rep->chunks_skipped ? "; first: " : "",
		         rep->chunks_skipped ? "" : problem);
	return 0;
}

/* Loads the session database at path, warning about skipped rows; the new
 * session, or NULL after an error was printed. */
static struct trace_session *cli_load_db(const char *cmd, const char *path, struct db_read_report *rep)
{
	struct err e = {{0}};
	struct trace_session *s = db_read_session(path, rep, &e);
	if (!s) {
		cli_error(cmd, "%s", e.msg);
		return NULL;
	}
	if (rep->incomplete) {
		/* NAME.db is built from NAME.sbt. */
		size_t n = strlen(path);
		int stem = n > 3 && !strcmp(path + n - 3, ".db") ? (int)(n - 3) : (int)n;
		cli_warn(cmd,
		         "%s is not finished: still being written, or its capture was interrupted "
		         "(when the capture has ended, rebuild it with `tstop db -f %.*s.sbt`)",
		         path, stem, path);
	}
	if (rep->rows_skipped) {
		/* "kernels 2, memcpys 1": the tables the skipped rows were in. */
		char tables[512];
		size_t used = 0;
		tables[0] = '\0';
		for (unsigned t = 0; t < DB_READ_TABLES; t++) {
			if (!rep->skipped[t] || used >= sizeof(tables))
				continue;
			int n = snprintf(tables + used, sizeof(tables) - used, "%s%s %" PRIu64,
			                 used ? ", " : "", db_read_table_name(t), rep->skipped[t]);
			used += n > 0 ? (size_t)n : 0;
		}
		char problem[sizeof(rep->first_problem) + 1];
		memcpy(problem, rep->first_problem, sizeof(rep->first_problem));
		problem[sizeof(rep->first_problem)] = '\0';
		cli_warn(cmd, "%s: skipped %" PRIu64 " malformed row%s (%s)%s%s", path, rep->rows_skipped,
		         rep->rows_skipped == 1 ? "" : "s", tables, problem[0] ? "; first: " : "", problem);
	}
	return s;
}

/* Loads path, an SBT file or a session database, into a new session the caller owns, warning about
 * damage; NULL after an error was printed. */
struct trace_session *cli_open_session_file(const char *cmd, const char *path, struct cli_session_file *file)
{
	struct cli_session_file local;
	if (!file)
		file = &local;
	memset(file, 0, sizeof(*file));
	if (cli_file_is_db(path)) {
		file->kind = CLI_SESSION_DB;
		return cli_load_db(cmd, path, &file->db);
	}
	file->kind = CLI_SESSION_SBT;
	struct trace_session *s = trace_session_new();
	if (cli_load_sbt(cmd, path, s, &file->sbt) < 0) {
		trace_session_delete(s);
		return NULL;
	}
	return s;
}

/* cli_open_session_file, handing out only the SBT report; NULL after an error was printed. */
struct trace_session *cli_open_session(const char *cmd, const char *path, struct sbt_read_report *rep)
{
	struct cli_session_file file;
	struct trace_session *s = cli_open_session_file(cmd, path, &file);
	if (rep)
		*rep = file.sbt;
	return s;
}

/* Whether s carries the synthetic marker of generated sessions. */
bool cli_session_is_synthetic(const struct trace_session *s)
{
	const char *v = trace_session_meta(s, TRACE_META_SYNTHETIC);
	return v && strcmp(v, "0") != 0;
}

/* Whether `st` is the file at `path` (same device and inode). */
static bool cli_same_file(const struct stat *st, const char *path)
{
	struct stat o;
	return stat(path, &o) == 0 && st->st_dev == o.st_dev && st->st_ino == o.st_ino;
}

/* The kind of session file the regular file at `path` holds, by its first
 * bytes: "an SBT session file", "a SQLite database", or NULL. */
static const char *cli_session_file_kind(const char *path)
{
	unsigned char head[16];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, head, sizeof(head));
	close(fd);
	if (n > 0 && sbt_is_sbt(head, (size_t)n))
		return "an SBT session file";
	if (n > 0 && db_file_is_sqlite(head, (size_t)n))
		return "a SQLite database";
	return NULL;
}

/* Prepares an -o output; see cli_common.h. */
int cli_output_open(const char *cmd, struct cli_output *o, const char *path, const char *input,
                    const char *reading, const char *const *also, const char *what)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	struct stat out, link;
	mode_t mode;
	if (stat(path, &out) == 0) {
		bool same = cli_same_file(&out, input);
		for (size_t i = 0; also && also[i] && !same; i++)
			same = cli_same_file(&out, also[i]);
		if (same)
			return cli_error(cmd, "%s is the %s being read; not overwriting it", path, reading);
		if (S_ISDIR(out.st_mode))
			return cli_error(cmd, "cannot create %s: it is a directory", path);
		if (!S_ISREG(out.st_mode)) {
			o->f = fopen(path, "w");
			if (!o->f)
				return cli_error(cmd, "cannot open %s: %s", path, strerror(errno));
			return CLI_EXIT_OK;
		}
		const char *kind = cli_session_file_kind(path);
		if (kind)
			return cli_error(cmd, "%s is %s; not overwriting it with %s", path, kind, what);
		o->final = realpath(path, NULL); /* rename onto the file a link leads to */
		if (!o->final)
			return cli_error(cmd, "cannot resolve %s: %s", path, strerror(errno));
		mode = out.st_mode & 07777;
	} else {
		if (lstat(path, &link) == 0 && S_ISLNK(link.st_mode))
			return cli_error(cmd, "cannot create %s: it is a symbolic link to nothing", path);
		o->final = xstrdup(path);
		mode_t mask = umask(0);
		umask(mask);
		mode = 0666 & ~mask;
	}
	/* "DIR/.NAME.XXXXXX" next to the final file. */
	const char *slash = strrchr(o->final, '/');
	size_t dirlen = slash ? (size_t)(slash - o->final) + 1 : 0;
	const char *base = o->final + dirlen;
	size_t cap = dirlen + strlen(base) + 16;
	o->tmp = xmalloc(cap);
	snprintf(o->tmp, cap, "%.*s.%s.XXXXXX", (int)dirlen, o->final, base);
	int fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		int rc = cli_error(cmd, "cannot create %s: %s", path, strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		return rc;
	}
	if (fchmod(fd, mode) || !(o->f = fdopen(fd, "w"))) {
		int rc = cli_error(cmd, "cannot create %s: %s", path, strerror(errno));
		close(fd);
		return rc; /* cli_output_close removes the file */
	}
	return CLI_EXIT_OK;
}

/* Ends an -o output; see cli_common.h. */
int cli_output_close(struct cli_output *o, bool ok, struct err *e)
{
	int rc = 0;
	if (o->f && fclose(o->f) && ok) {
		err_errno(e, errno, "cannot write %s", o->path);
		ok = false;
		rc = -1;
	}
	o->f = NULL;
	if (o->tmp) {
		if (ok && rename(o->tmp, o->final)) {
			err_errno(e, errno, "cannot write %s", o->path);
			ok = false;
			rc = -1;
		}
		if (!ok)
			unlink(o->tmp);
	}
	free(o->tmp);
	free(o->final);
	o->tmp = o->final = NULL;
	return rc;
}
