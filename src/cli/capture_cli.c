/*
 * capture_cli.c - the parts of `tstop record` and `tstop attach` that are
 * the same: option values, the output file, metadata, progress line and
 * end summary (see capture_cli.h).
 */
#include "cli/capture_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/ring.h"
#include "cli/cli_common.h"
#include "report/format.h"
#include "trace/meta.h"
#include "util/xalloc.h"

_Static_assert(sizeof(struct proto_control) <= RING_NOTE_MAX, "the capture range fits a ring's note");

#define CLI_CAPTURE_NAME_TRIES    1000
#define CLI_CAPTURE_SUMMARY_PROCS 20 /* processes listed in the summary */

/* The session clock. */
int64_t cli_capture_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Joins argv[0..n-1] with spaces; the caller frees the result. O(length). */
char *cli_capture_join(char *const *argv, int n)
{
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += strlen(argv[i]) + 1;
	char *s = xmalloc(len);
	s[0] = '\0';
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(argv[i]);
		if (i)
			s[k++] = ' ';
		memcpy(s + k, argv[i], l);
		k += l;
	}
	s[k] = '\0';
	return s;
}

/* Parses a ring size (capture_cli.h). */
int cli_capture_parse_size(const char *arg, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (end == arg || errno || arg[0] == '-')
		return -1;
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || v > (RING_MAX_SIZE >> shift))
		return -1;
	v <<= shift;
	if (v < RING_MIN_SIZE || v > RING_MAX_SIZE || (v & (v - 1)))
		return -1;
	*out = (size_t)v;
	return 0;
}

/* Parses a --kinds list (capture_cli.h). */
int cli_capture_parse_kinds(const char *arg, uint32_t *flags)
{
	char *copy = xstrdup(arg), *save = NULL;
	uint32_t f = 0;
	int rc = 0;
	for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		if (!strcmp(k, "cuda"))
			f |= PROTO_OPT_CUDA;
		else if (!strcmp(k, "nvtx"))
			f |= PROTO_OPT_NVTX;
		else if (!strcmp(k, "opencl"))
			f |= PROTO_OPT_OPENCL;
		else if (!strcmp(k, "all"))
			f |= PROTO_OPT_CUDA | PROTO_OPT_NVTX | PROTO_OPT_OPENCL;
		else
			rc = -1;
	}
	free(copy);
	if (rc || !f)
		return -1;
	*flags = (*flags & ~(PROTO_OPT_CUDA | PROTO_OPT_NVTX | PROTO_OPT_OPENCL)) | f;
	return 0;
}

/* Takes the output path the user named (capture_cli.h). */
static char *cli_capture_named_path(const char *cmd, const char *output, bool force, bool *created)
{
	size_t n = strlen(output);
	char *path;
	if (n >= 4 && !strcmp(output + n - 4, ".sbt")) {
		path = xstrdup(output);
	} else {
		path = xmalloc(n + 5);
		memcpy(path, output, n);
		memcpy(path + n, ".sbt", 5);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd >= 0) {
		close(fd);
		*created = true;
		return path;
	}
	if (errno == EEXIST && force) {
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			cli_error(cmd, "%s is a directory", path);
		} else if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
			close(fd);
			return path;
		} else {
			cli_error(cmd, "cannot write %s: %s", path, strerror(errno));
		}
	} else if (errno == EEXIST) {
		cli_error(cmd, "%s exists; use -f to overwrite it, or -o to name another file", path);
	} else {
		cli_error(cmd, "cannot create %s: %s", path, strerror(errno));
	}
	free(path);
	return NULL;
}

/* Chooses and claims the output path (capture_cli.h). */
char *cli_capture_output_path(const char *cmd, const char *output, bool force, bool *created)
{
	*created = false;
	if (output)
		return cli_capture_named_path(cmd, output, force, created);
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	char path[64];
	for (int i = 0; i < CLI_CAPTURE_NAME_TRIES; i++) {
		if (i == 0)
			snprintf(path, sizeof(path), "tstop-%s.sbt", stamp);
		else
			snprintf(path, sizeof(path), "tstop-%s-%d.sbt", stamp, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0) {
			close(fd);
			*created = true;
			return xstrdup(path);
		}
		if (errno != EEXIST) {
			cli_error(cmd, "cannot create %s: %s", path, strerror(errno));
			return NULL;
		}
	}
	cli_error(cmd, "no free output name like tstop-%s-N.sbt; use -o", stamp);
	return NULL;
}

/* Writes the session's metadata (capture_cli.h). */
void cli_capture_meta(struct capture_drain *d, const char *command, const char *options)
{
	capture_drain_meta(d, TRACE_META_COMMAND, command);
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	capture_drain_meta(d, TRACE_META_HOST, host);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char num[32];
	snprintf(num, sizeof(num), "%lld", (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec);
	capture_drain_meta(d, TRACE_META_START_TIME, num);
	capture_drain_meta(d, TRACE_META_VERSION, TSTOP_VERSION);
	capture_drain_meta(d, TRACE_META_CAPTURE_OPTIONS, options);
	capture_drain_meta(d, "clock", "CLOCK_MONOTONIC");
}

/* Starts the progress of a capture (capture_cli.h). */
void cli_capture_progress_init(struct cli_capture_progress *p, int64_t start)
{
	p->tty = isatty(STDERR_FILENO) == 1;
	p->shown = false;
	p->start = p->last = start;
	p->last_events = 0;
}

/* Clears the progress line. */
void cli_capture_progress_clear(struct cli_capture_progress *p)
{
	if (p->shown) {
		fputs("\r\033[K", stderr);
		p->shown = false;
	}
}

/* Redraws the progress line when it is due (capture_cli.h). */
void cli_capture_progress_tick(struct cli_capture_progress *p, const struct capture_drain *d,
                               const struct trace_session *s, const char *verb, int64_t now)
{
	if (!p->tty || now - p->last < (int64_t)CLI_CAPTURE_PROGRESS_MS * 1000000)
		return;
	const struct capture_drain_stats *st = capture_drain_stats(d);
	double dt = (double)(now - p->last) / 1e9;
	double rate = dt > 0 ? (double)(st->events - p->last_events) / dt : 0;
	fprintf(stderr, "\r\033[Ktstop: %s %.1f s  %" PRIu64 " events  %.0f events/s  %" PRIu64 " lost", verb,
	        (double)(now - p->start) / 1e9, st->events, rate, trace_session_lost_total(s));
	fflush(stderr);
	p->shown = true;
	p->last = now;
	p->last_events = st->events;
}

/* LOG records and the drain's notes (capture_cli.h). */
void cli_capture_log(void *arg, uint32_t pid, enum proto_log_level level, const char *msg, size_t len)
{
	cli_capture_progress_clear(arg);
	static const char *const levels[] = {"", "warning: ", "error: "};
	fprintf(stderr, "tstop: [pid %" PRIu32 "] %s", pid, levels[level <= PROTO_LOG_ERROR ? level : 0]);
	report_write_text(stderr, msg, len);
	fputc('\n', stderr);
}

/* Prints how process `p` ended, padded to a column. */
static void cli_capture_proc_state(const struct trace_process *p)
{
	switch (p->state) {
	case TRACE_PROC_EXITED:
		fprintf(stderr, "exited %-10" PRId32 " ", p->status);
		break;
	case TRACE_PROC_SIGNALED:
		fprintf(stderr, "killed by signal %-3" PRId32 " ", p->status);
		break;
	case TRACE_PROC_DETACHED:
		fprintf(stderr, "%-17s ", "detached");
		break;
	case TRACE_PROC_ENDED:
		fprintf(stderr, "%-17s ", "ended");
		break;
	default:
		fprintf(stderr, "%-17s ", "running");
		break;
	}
}

/* Prints the end summary (capture_cli.h). */
void cli_capture_summary(struct cli_capture_progress *p, const struct capture_drain *d,
                         const struct trace_session *s, const char *path, uint64_t bytes)
{
	const struct capture_drain_stats *st = capture_drain_stats(d);
	cli_capture_progress_clear(p);
	fprintf(stderr, "tstop: recorded %" PRIu64 " events in %.3f s", st->events,
	        (double)(cli_capture_now() - p->start) / 1e9);
	const char *sep = ": ";
	for (unsigned k = 1; k <= TRACE_KIND_MAX; k++) {
		if (st->events_by_kind[k]) {
			fprintf(stderr, "%s%" PRIu64 " %s", sep, st->events_by_kind[k], trace_kind_name(k));
			sep = ", ";
		}
	}
	fputc('\n', stderr);
	uint64_t lost = trace_session_lost_total(s);
	if (lost) {
		fprintf(stderr, "tstop: lost %" PRIu64 " events:", lost);
		for (size_t i = 0; i < trace_session_loss_count(s); i++) {
			const struct trace_loss *l = trace_session_loss(s, i);
			const char *source = trace_session_string(s, l->source, NULL);
			fprintf(stderr, " %" PRIu64 " (pid %" PRIu32 ", ", l->count, l->pid);
			report_write_text(stderr, source, strlen(source));
			fputc(')', stderr);
		}
		fputs("; a bigger --ring-size or --block avoids ring losses\n", stderr);
	}
	if (st->dropped_records)
		fprintf(stderr, "tstop: dropped %" PRIu64 " malformed records from the collectors\n",
		        st->dropped_records);
	size_t nproc = trace_session_process_count(s);
	for (size_t i = 0; i < nproc; i++) {
		if (i == CLI_CAPTURE_SUMMARY_PROCS && nproc > CLI_CAPTURE_SUMMARY_PROCS + 1) {
			fprintf(stderr, "  ... and %zu more processes (tstop info %s lists them)\n",
			        nproc - i, path);
			break;
		}
		const struct trace_process *proc = trace_session_process(s, i);
		fprintf(stderr, "  pid %-7" PRIu32 " ", proc->pid);
		cli_capture_proc_state(proc);
		size_t len;
		const char *cmd = trace_session_string(s, proc->command, &len);
		report_write_text(stderr, cmd, len > 200 ? 200 : len);
		fputc('\n', stderr);
	}
	fprintf(stderr, "tstop: wrote %s (%" PRIu64 " bytes)\n", path, bytes);
}

/* Sets the shared capture options' defaults (capture_cli.h). */
void cli_capture_opts_init(struct cli_capture_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->flags = PROTO_OPT_STACKS | PROTO_OPT_CUDA | PROTO_OPT_NVTX | PROTO_OPT_OPENCL;
	o->ring_size = CLI_CAPTURE_RING_DEFAULT;
	o->flush_ms = CLI_CAPTURE_FLUSH_DEFAULT;
	o->range_end = PROTO_RANGE_STOP;
}

/* Checks the shared options together (capture_cli.h). */
int cli_capture_opts_finish(struct cli_capture_opts *o, const char *cmd)
{
	if (o->has_range_end && !o->has_range) {
		cli_usage_error(cmd, "--capture-range-end needs a --capture-range");
		return -1;
	}
	o->range.range_end = o->has_range ? o->range_end : PROTO_RANGE_NONE;
	return 0;
}

/* Parses a --capture-range (capture_cli.h). */
int cli_capture_parse_range(const char *arg, struct proto_control *c)
{
	static const char prefix[] = "nvtx:";
	memset(c, 0, sizeof(*c));
	if (strncmp(arg, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	const char *name = arg + sizeof(prefix) - 1;
	const char *at = strrchr(name, '@');
	size_t name_len = at ? (size_t)(at - name) : strlen(name);
	if (name_len == 0 || name_len > PROTO_RANGE_NAME_MAX)
		return -1;
	c->magic = PROTO_MAGIC;
	c->version = PROTO_VERSION;
	c->range_domain = PROTO_RANGE_DEFAULT;
	memcpy(c->name, name, name_len);
	c->name_len = (uint32_t)name_len;
	if (at) {
		const char *domain = at + 1;
		size_t domain_len = strlen(domain);
		if (domain_len == 0 || domain_len > PROTO_RANGE_DOMAIN_MAX)
			return -1;
		if (!strcmp(domain, "*")) {
			c->range_domain = PROTO_RANGE_ANY;
		} else {
			c->range_domain = PROTO_RANGE_NAMED;
			memcpy(c->domain, domain, domain_len);
			c->domain_len = (uint32_t)domain_len;
		}
	}
	return 0;
}

/* Writes the collector's note into a new ring (capture_cli.h). */
void cli_capture_ring_setup(const struct cli_capture_opts *o, struct ring *r)
{
	if (o->has_range)
		ring_set_note(r, &o->range, sizeof(o->range), NULL);
}

/* Applies one shared capture option (capture_cli.h). */
int cli_capture_opt(struct cli_capture_opts *o, const char *cmd, int c, const char *arg)
{
	char *end;
	switch (c) {
	case 'o':
		if (!arg[0]) {
			cli_usage_error(cmd, "empty output name");
			return -1;
		}
		o->output = arg;
		return 1;
	case 'f':
		o->force = true;
		return 1;
	case CLI_CAPTURE_OPT_DURATION:
		errno = 0;
		o->duration = strtod(arg, &end);
		if (end == arg || *end || errno || !isfinite(o->duration) || o->duration <= 0 ||
		    o->duration > 1e8) {
			cli_usage_error(cmd, "--duration needs a positive number of seconds, not '%s'", arg);
			return -1;
		}
		return 1;
	case CLI_CAPTURE_OPT_DELAY:
		errno = 0;
		o->delay = strtod(arg, &end);
		if (end == arg || *end || errno || !isfinite(o->delay) || o->delay < 0 || o->delay > 1e8) {
			cli_usage_error(cmd, "--delay needs a number of seconds (0 or more), not '%s'", arg);
			return -1;
		}
		if (o->delay > 0)
			o->flags |= PROTO_OPT_WINDOW;
		return 1;
	case CLI_CAPTURE_OPT_RANGE:
		if (cli_capture_parse_range(arg, &o->range) < 0) {
			cli_usage_error(cmd,
			                "--capture-range takes nvtx:NAME, nvtx:NAME@DOMAIN or nvtx:NAME@* "
			                "(NAME up to %u bytes), not '%s'",
			                PROTO_RANGE_NAME_MAX, arg);
			return -1;
		}
		o->has_range = true;
		o->flags |= PROTO_OPT_WINDOW;
		return 1;
	case CLI_CAPTURE_OPT_RANGE_END:
		if (!strcmp(arg, "stop")) {
			o->range_end = PROTO_RANGE_STOP;
		} else if (!strcmp(arg, "repeat")) {
			o->range_end = PROTO_RANGE_REPEAT;
		} else {
			cli_usage_error(cmd, "--capture-range-end takes stop or repeat, not '%s'", arg);
			return -1;
		}
		o->has_range_end = true;
		return 1;
	case CLI_CAPTURE_OPT_KINDS:
		if (cli_capture_parse_kinds(arg, &o->flags) < 0) {
			cli_usage_error(cmd, "--kinds takes cuda, nvtx, opencl (comma-separated), not '%s'",
			                arg);
			return -1;
		}
		return 1;
	case CLI_CAPTURE_OPT_NO_STACKS:
		o->flags &= ~PROTO_OPT_STACKS;
		return 1;
	case CLI_CAPTURE_OPT_RING_SIZE:
		if (cli_capture_parse_size(arg, &o->ring_size) < 0) {
			cli_usage_error(cmd, "--ring-size needs a power of two from 4K to 1G, not '%s'", arg);
			return -1;
		}
		return 1;
	case CLI_CAPTURE_OPT_BLOCK:
		o->block = true;
		return 1;
	case CLI_CAPTURE_OPT_FLUSH_MS: {
		errno = 0;
		unsigned long v = strtoul(arg, &end, 10);
		if (end == arg || *end || errno || arg[0] == '-' || v < 1 || v > 60000) {
			cli_usage_error(cmd, "--flush-ms needs milliseconds from 1 to 60000, not '%s'", arg);
			return -1;
		}
		o->flush_ms = (uint32_t)v;
		return 1;
	}
	default:
		return 0;
	}
}

/* --- the capture switch ---------------------------------------------------------- */

/* Starts a switch (capture_cli.h). */
void cli_capture_switch_init(struct cli_capture_switch *sw, bool paused)
{
	memset(sw, 0, sizeof(*sw));
	sw->paused = paused;
}

/* Adds a newly connected process's ring (capture_cli.h). Amortized O(1). */
void cli_capture_switch_add(struct cli_capture_switch *sw, void *handle, struct ring *ring)
{
	if (sw->n == sw->cap) {
		sw->cap = sw->cap ? sw->cap * 2 : 8;
		sw->rings = xreallocarray(sw->rings, sw->cap, sizeof(*sw->rings));
	}
	sw->rings[sw->n].handle = handle;
	sw->rings[sw->n].ring = ring;
	sw->n++;
	if (sw->paused)
		ring_set_control(ring, RING_CTRL_PAUSE, cli_capture_now());
}

/* Forgets a process's ring (capture_cli.h). */
void cli_capture_switch_remove(struct cli_capture_switch *sw, void *handle)
{
	for (size_t i = 0; i < sw->n; i++) {
		if (sw->rings[i].handle == handle) {
			sw->rings[i] = sw->rings[--sw->n];
			return;
		}
	}
}

/* Pauses or resumes every ring (capture_cli.h). */
void cli_capture_switch_set(struct cli_capture_switch *sw, bool paused, int64_t now)
{
	sw->paused = paused;
	for (size_t i = 0; i < sw->n; i++)
		ring_set_control(sw->rings[i].ring, paused ? RING_CTRL_PAUSE : 0, now);
}

/* Frees the switch (capture_cli.h). */
void cli_capture_switch_done(struct cli_capture_switch *sw)
{
	free(sw->rings);
	memset(sw, 0, sizeof(*sw));
}
