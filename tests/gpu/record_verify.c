/*
 * record_verify.c - checks a `tstop record` capture of the CUDA sample.
 *
 *   record_verify SESSION.sbt SAMPLE_OUTPUT
 *
 * SAMPLE_OUTPUT is what samples/cuda/streams printed while it was recorded:
 * one fact a line (streams_work_print: the device, every kernel launch with
 * its mangled symbol and shape, every copy and memset, the number of each
 * kind of synchronization). The session is loaded with the same SBT reader
 * tstop uses, and every fact is looked for in it:
 *
 *   - kernels: as many as launched; each launch found by its mangled name
 *     and grid, block and dynamic shared memory; duration > 0, closed; one
 *     stream track per sample stream, distinct ones for distinct streams;
 *     each kernel's correlation id found on a CUDA runtime API event named
 *     *LaunchKernel* of the sample's process, which started before the
 *     kernel did (one clock for host and GPU);
 *   - copies and memsets: each one issued found by kind and size, exactly
 *     as many as issued;
 *   - synchronizations: at least the stream, event, stream-wait and
 *     device syncs the sample made;
 *   - the device: described, with the name the sample printed;
 *   - API names without CUPTI's "_v<digits>" suffix; launches carrying a
 *     stack (a warning when they do not), allocations recorded (warning);
 *   - the 2 ms "spin" kernel against its cudaEvent timing (warning);
 *   - lost events (warning).
 *
 * Prints one line per check ("ok", "FAIL" or "warn") and a summary.
 * Exits 0 when no check failed, 1 when one did, 2 when it could not run.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sbt.h"
#include "trace/event.h"
#include "trace/session.h"
#include "util/err.h"
#include "util/xalloc.h"

#define VERIFY_MAX 64

/* What the sample printed. */
struct verify_launch {
	char label[64], symbol[512];
	int stream;
	unsigned grid[3], block[3], dsmem;
};
struct verify_copy {
	unsigned copy_kind, src, dst;
	uint64_t bytes;
};
struct verify_report {
	char device[256];
	unsigned cc_major, cc_minor;
	struct verify_launch launch[VERIFY_MAX];
	unsigned nlaunch;
	struct verify_copy copy[VERIFY_MAX];
	unsigned ncopy;
	uint64_t memset_bytes[VERIFY_MAX];
	unsigned nmemset;
	unsigned mallocs, stream_syncs, event_syncs, stream_waits, device_syncs;
	double spin_ms;
	bool results_ok;
};

static unsigned verify_failures, verify_warnings;

/* Prints one check result and counts it. */
static void verify(bool ok, bool fatal, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void verify(bool ok, bool fatal, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : fatal ? "FAIL" : "warn");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok && fatal)
		verify_failures++;
	else if (!ok)
		verify_warnings++;
}

/* CUPTI copy-kind number of the sample's name ("HtoD"), 0 when unknown. */
static unsigned verify_copy_kind(const char *s)
{
	return !strcmp(s, "HtoD")   ? TRACE_COPY_HTOD
	       : !strcmp(s, "DtoH") ? TRACE_COPY_DTOH
	       : !strcmp(s, "DtoD") ? TRACE_COPY_DTOD
	                            : 0;
}

/* CUPTI memory-kind number of the sample's name ("pinned"), 0 when unknown. */
static unsigned verify_mem_kind(const char *s)
{
	return !strcmp(s, "pageable") ? TRACE_MEM_PAGEABLE
	       : !strcmp(s, "pinned") ? TRACE_MEM_PINNED
	       : !strcmp(s, "device") ? TRACE_MEM_DEVICE
	                              : 0;
}

/* Reads the sample's output; lines of other programs (tstop's own) are
 * ignored. Returns false when it cannot be read. */
static bool verify_read_report(const char *path, struct verify_report *r)
{
	FILE *f = fopen(path, "r");
	char line[2048];

	if (!f)
		return false;
	memset(r, 0, sizeof(*r));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		struct verify_launch *l = &r->launch[r->nlaunch];
		struct verify_copy *c = &r->copy[r->ncopy];
		char kind[16], src[16], dst[16];
		unsigned long long bytes;
		int dev;
		char *sm;

		if (!strncmp(line, "device ", 7) && (sm = strstr(line, " (sm_")) &&
		    sscanf(line, "device %d ", &dev) == 1) {
			const char *name = strchr(line + 7, ' ');
			if (name && name < sm) {
				snprintf(r->device, sizeof(r->device), "%.*s", (int)(sm - name - 1),
				         name + 1);
				unsigned cc = 0;
				if (sscanf(sm, " (sm_%u)", &cc) == 1) {
					r->cc_major = cc / 10;
					r->cc_minor = cc % 10;
				}
			}
		} else if (r->nlaunch < VERIFY_MAX &&
		           sscanf(line,
		                  "kernel %63s stream %d grid %u,%u,%u block %u,%u,%u dynamic_smem %u symbol "
		                  "%511s",
		                  l->label, &l->stream, &l->grid[0], &l->grid[1], &l->grid[2], &l->block[0],
		                  &l->block[1], &l->block[2], &l->dsmem, l->symbol) == 10) {
			r->nlaunch++;
		} else if (r->ncopy < VERIFY_MAX &&
		           sscanf(line, "copy %15s %15[a-z]->%15s bytes %llu", kind, src, dst, &bytes) == 4) {
			c->copy_kind = verify_copy_kind(kind);
			c->src = verify_mem_kind(src);
			c->dst = verify_mem_kind(dst);
			c->bytes = bytes;
			r->ncopy++;
		} else if (r->nmemset < VERIFY_MAX && sscanf(line, "memset bytes %llu", &bytes) == 1) {
			r->memset_bytes[r->nmemset++] = bytes;
		} else if (sscanf(line, "cudaMalloc %u", &r->mallocs) == 1) {
		} else if (sscanf(line,
		                  "cudaStreamSynchronize %u cudaEventRecord %*u cudaEventSynchronize %u",
		                  &r->stream_syncs, &r->event_syncs) == 2) {
		} else if (sscanf(line, "cudaStreamWaitEvent %u cudaDeviceSynchronize %u", &r->stream_waits,
		                  &r->device_syncs) == 2) {
		} else if (sscanf(line, "timed spin %lf ms", &r->spin_ms) == 1) {
		} else if (!strncmp(line, "results ok", 10)) {
			r->results_ok = true;
		}
	}
	fclose(f);
	return true;
}

/* One event of the session with the track it is on. */
struct verify_event {
	const struct trace_event *ev;
	const struct trace_track_info *track;
};

static struct verify_event *verify_events;
static size_t verify_nevents;

/* Collects every event of every track. */
static void verify_collect(const struct trace_session *s)
{
	size_t cap = 0;
	for (uint32_t t = 1; t < trace_session_track_count(s); t++) {
		size_t n = 0;
		const struct trace_event *evs = trace_session_track_events(s, t, &n);
		for (size_t i = 0; i < n; i++) {
			verify_events =
			    xgrow(verify_events, &cap, verify_nevents + 1, sizeof(*verify_events));
			verify_events[verify_nevents].ev = &evs[i];
			verify_events[verify_nevents].track = trace_session_track_info(s, t);
			verify_nevents++;
		}
	}
}

/* The API event of the CUDA runtime with correlation `corr`, or NULL. */
static const struct verify_event *verify_find_api(uint32_t corr)
{
	for (size_t i = 0; i < verify_nevents; i++) {
		const struct trace_event *ev = verify_events[i].ev;
		if (ev->kind == TRACE_API && trace_api_domain(ev) == TRACE_API_CUDA_RUNTIME &&
		    ev->correlation == corr)
			return &verify_events[i];
	}
	return NULL;
}

/* True when `name` ends in "_v" and digits (CUPTI's entry-point version). */
static bool verify_versioned(const char *name)
{
	size_t len = strlen(name), i = len;
	while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
		i--;
	return i < len && i >= 2 && name[i - 1] == 'v' && name[i - 2] == '_';
}

/* Kernels: found as launched, timed, on their streams, correlated. */
static void verify_kernels(const struct trace_session *s, const struct verify_report *r, uint32_t pid)
{
	bool used[VERIFY_MAX * 4] = {false};
	const struct verify_event *kern[VERIFY_MAX * 4];
	size_t nk = 0;
	uint32_t stream_track[8] = {0};
	const struct trace_track_info *stream_info[8] = {NULL};

	for (size_t i = 0; i < verify_nevents && nk < VERIFY_MAX * 4; i++)
		if (verify_events[i].ev->kind == TRACE_KERNEL)
			kern[nk++] = &verify_events[i];
	verify(nk == r->nlaunch, true, "kernels: %zu recorded, %u launched", nk, r->nlaunch);

	for (unsigned k = 0; k < r->nlaunch; k++) {
		const struct verify_launch *l = &r->launch[k];
		const struct verify_event *found = NULL;
		bool exact = false;
		for (int pass = 0; pass < 2 && !found; pass++) {
			for (size_t i = 0; i < nk && !found; i++) {
				const struct trace_event *ev = kern[i]->ev;
				const char *name = trace_session_string(s, ev->name, NULL);
				const struct trace_launch *g = trace_session_launch(s, ev->u.kernel.launch);
				bool name_ok =
				    pass == 0 ? !strcmp(name, l->symbol) : strstr(name, l->label) != NULL;
				if (used[i] || !name_ok || !g || memcmp(g->grid, l->grid, sizeof(g->grid)) ||
				    memcmp(g->block, l->block, sizeof(g->block)) ||
				    g->dynamic_smem != l->dsmem)
					continue;
				found = kern[i];
				exact = pass == 0;
				used[i] = true;
			}
		}
		if (!found) {
			verify(false, true, "kernel %s (%s) grid %u,%u,%u block %u,%u,%u smem %u: not found",
			       l->label, l->symbol, l->grid[0], l->grid[1], l->grid[2], l->block[0],
			       l->block[1], l->block[2], l->dsmem);
			continue;
		}
		const struct trace_event *ev = found->ev;
		verify(exact, false, "kernel %s: recorded as %s", l->label,
		       trace_session_string(s, ev->name, NULL));
		verify(ev->end > ev->start && !(ev->flags & TRACE_FLAG_OPEN), true,
		       "kernel %s: duration %" PRId64 " ns", l->label, ev->end - ev->start);
		verify(found->track->kind == TRACE_TRACK_STREAM && found->track->pid == pid, true,
		       "kernel %s: on a stream of process %u (device %u, context %u, stream %u)", l->label,
		       pid, found->track->device, found->track->context, found->track->stream);
		if (l->stream >= 0 && l->stream < 8) {
			uint32_t t = ev->track;
			if (!stream_track[l->stream]) {
				stream_track[l->stream] = t;
				stream_info[l->stream] = found->track;
			}
			verify(stream_track[l->stream] == t, true, "kernel %s: sample stream %d is one track",
			       l->label, l->stream);
		}
		const struct verify_event *api = verify_find_api(ev->correlation);
		const char *api_name = api ? trace_session_string(s, api->ev->name, NULL) : "none";
		verify(api && strstr(api_name, "LaunchKernel"), true,
		       "kernel %s: correlation %u -> runtime API %s", l->label, ev->correlation, api_name);
		if (api) {
			verify(api->ev->start <= ev->start, true,
			       "kernel %s: launched at %" PRId64 ", ran at %" PRId64 " (one clock)", l->label,
			       api->ev->start, ev->start);
			verify(api->track->kind == TRACE_TRACK_THREAD && api->track->pid == pid, true,
			       "kernel %s: launch call on a thread of process %u (tid %u)", l->label, pid,
			       api->track->tid);
			verify(api->ev->u.api.stack != 0, false, "kernel %s: launch call has a stack",
			       l->label);
		}
	}
	for (int a = 0; a < 8; a++)
		for (int b = a + 1; b < 8; b++)
			if (stream_track[a] && stream_track[b])
				verify(stream_track[a] != stream_track[b], true,
				       "sample streams %d and %d are distinct tracks (streams %u, %u)", a, b,
				       stream_info[a]->stream, stream_info[b]->stream);
}

/* Copies and memsets: each issued one found, no more than issued. */
static void verify_copies(const struct verify_report *r)
{
	bool used[VERIFY_MAX * 4] = {false};
	const struct trace_event *cp[VERIFY_MAX * 4];
	size_t nc = 0, nm = 0;

	for (size_t i = 0; i < verify_nevents && nc < VERIFY_MAX * 4; i++)
		if (verify_events[i].ev->kind == TRACE_MEMCPY)
			cp[nc++] = verify_events[i].ev;
	verify(nc == r->ncopy, true, "copies: %zu recorded, %u issued", nc, r->ncopy);
	for (unsigned k = 0; k < r->ncopy; k++) {
		const struct verify_copy *c = &r->copy[k];
		const struct trace_event *found = NULL;
		for (size_t i = 0; i < nc && !found; i++) {
			if (!used[i] && trace_memcpy_copy_kind(cp[i]) == c->copy_kind &&
			    trace_memcpy_src_kind(cp[i]) == c->src &&
			    trace_memcpy_dst_kind(cp[i]) == c->dst && cp[i]->u.bytes == c->bytes) {
				found = cp[i];
				used[i] = true;
			}
		}
		verify(found != NULL, true, "copy %s %s->%s %" PRIu64 " bytes: %s",
		       trace_copy_kind_name(c->copy_kind), trace_mem_kind_name(c->src),
		       trace_mem_kind_name(c->dst), c->bytes, found ? "found" : "NOT FOUND");
		if (found) {
			verify(found->end >= found->start && !(found->flags & TRACE_FLAG_OPEN), true,
			       "copy of %" PRIu64 " bytes: duration %" PRId64 " ns", c->bytes,
			       found->end - found->start);
			const struct verify_event *api = verify_find_api(found->correlation);
			verify(api != NULL, false,
			       "copy of %" PRIu64 " bytes: correlated with a runtime call", c->bytes);
		}
	}
	for (size_t i = 0; i < verify_nevents; i++) {
		const struct trace_event *ev = verify_events[i].ev;
		if (ev->kind != TRACE_MEMSET)
			continue;
		nm++;
		bool known = false;
		for (unsigned k = 0; k < r->nmemset; k++)
			known |= ev->u.bytes == r->memset_bytes[k];
		verify(known && ev->end >= ev->start, true, "memset of %" PRIu64 " bytes, %" PRId64 " ns",
		       ev->u.bytes, ev->end - ev->start);
	}
	verify(nm == r->nmemset, true, "memsets: %zu recorded, %u issued", nm, r->nmemset);
}

/* Synchronizations by kind. */
static void verify_syncs(const struct verify_report *r)
{
	unsigned by[TRACE_SYNC_KIND_MAX + 1] = {0};

	for (size_t i = 0; i < verify_nevents; i++) {
		const struct trace_event *ev = verify_events[i].ev;
		if (ev->kind == TRACE_SYNC && ev->sub <= TRACE_SYNC_KIND_MAX)
			by[ev->sub]++;
	}
	printf("syncs: unknown %u event %u stream_wait %u stream %u context %u device %u\n", by[0], by[1],
	       by[2], by[3], by[4], by[5]);
	verify(by[TRACE_SYNC_STREAM] >= r->stream_syncs, true, "stream syncs: %u recorded, %u called",
	       by[TRACE_SYNC_STREAM], r->stream_syncs);
	verify(by[TRACE_SYNC_EVENT] >= r->event_syncs, true, "event syncs: %u recorded, %u called",
	       by[TRACE_SYNC_EVENT], r->event_syncs);
	verify(by[TRACE_SYNC_STREAM_WAIT_EVENT] >= r->stream_waits, true,
	       "stream waits: %u recorded, %u called", by[TRACE_SYNC_STREAM_WAIT_EVENT], r->stream_waits);
	verify(by[TRACE_SYNC_DEVICE] + by[TRACE_SYNC_CONTEXT] >= r->device_syncs, true,
	       "device/context syncs: %u recorded, %u cudaDeviceSynchronize",
	       by[TRACE_SYNC_DEVICE] + by[TRACE_SYNC_CONTEXT], r->device_syncs);
	verify(by[TRACE_SYNC_DEVICE] >= r->device_syncs, false,
	       "cudaDeviceSynchronize recognised as device syncs: %u", by[TRACE_SYNC_DEVICE]);
}

/* API names, allocations, the device, the spin kernel, losses. */
static void verify_misc(const struct trace_session *s, const struct verify_report *r)
{
	size_t api = 0, versioned = 0, allocs = 0;
	const struct trace_event *spin = NULL;
	const char *bad = NULL;

	for (size_t i = 0; i < verify_nevents; i++) {
		const struct trace_event *ev = verify_events[i].ev;
		if (ev->kind == TRACE_API && trace_api_domain(ev) != TRACE_API_UNKNOWN) {
			const char *name = trace_session_string(s, ev->name, NULL);
			api++;
			if (verify_versioned(name)) {
				versioned++;
				bad = name;
			}
		}
		if (ev->kind == TRACE_MEM_ALLOC)
			allocs++;
		if (ev->kind == TRACE_KERNEL && strstr(trace_session_string(s, ev->name, NULL), "spin"))
			spin = ev;
	}
	verify(api > 0 && versioned == 0, true, "API events: %zu, %zu with a version suffix%s%s", api,
	       versioned, bad ? ", e.g. " : "", bad ? bad : "");
	verify(allocs >= r->mallocs, false, "allocations: %zu recorded, %u cudaMalloc", allocs, r->mallocs);

	const struct trace_device *dev = NULL;
	for (size_t i = 0; i < trace_session_device_count(s); i++) {
		const struct trace_device *d = trace_session_device(s, i);
		printf("device %u: '%s' cc %u.%u, %u SMs, %" PRIu64 " bytes\n", d->id,
		       trace_session_string(s, d->name, NULL), d->cc_major, d->cc_minor, d->sm_count,
		       d->global_memory);
		if (!strcmp(trace_session_string(s, d->name, NULL), r->device))
			dev = d;
	}
	verify(dev != NULL, true, "device '%s' described", r->device);
	if (dev)
		verify(dev->cc_major == r->cc_major && dev->cc_minor == r->cc_minor && dev->sm_count > 0,
		       false, "device compute capability %u.%u (sample: %u.%u), %u SMs", dev->cc_major,
		       dev->cc_minor, r->cc_major, r->cc_minor, dev->sm_count);

	if (spin) {
		double ms = (double)(spin->end - spin->start) / 1e6;
		verify(ms >= 1.9 && ms <= r->spin_ms + 0.05, false,
		       "spin: %.4f ms recorded, %.4f ms by cudaEvent", ms, r->spin_ms);
	}
	uint64_t lost = trace_session_lost_total(s);
	for (size_t i = 0; i < trace_session_loss_count(s); i++) {
		const struct trace_loss *l = trace_session_loss(s, i);
		printf("lost: pid %u %s %" PRIu64 "\n", l->pid, trace_session_string(s, l->source, NULL),
		       l->count);
	}
	verify(lost == 0, false, "lost events: %" PRIu64, lost);
}

int main(int argc, char **argv)
{
	struct verify_report rep;
	struct sbt_read_report rr;
	struct err e;

	if (argc != 3) {
		fprintf(stderr, "usage: record_verify SESSION.sbt SAMPLE_OUTPUT\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!verify_read_report(argv[2], &rep)) {
		printf("FAIL cannot read %s\n", argv[2]);
		return 2;
	}
	verify(rep.results_ok && rep.nlaunch > 0, true,
	       "sample ran: %u launches, %u copies, %u memsets, results %s", rep.nlaunch, rep.ncopy,
	       rep.nmemset, rep.results_ok ? "ok" : "not ok");
	struct trace_session *s = trace_session_new();
	if (sbt_load(argv[1], s, &rr, &e) != 0) {
		printf("FAIL cannot load %s: %s\n", argv[1], e.msg);
		trace_session_delete(s);
		return 2;
	}
	verify(!rr.truncated && rr.chunks_skipped == 0 && rr.records_dropped == 0, true,
	       "session file whole: %" PRIu64 " events, %" PRIu64 " chunks", rr.events, rr.chunks);

	/* The sample's process: the one that ran the kernels. */
	uint32_t pid = 0;
	for (size_t i = 0; i < trace_session_process_count(s); i++) {
		const struct trace_process *p = trace_session_process(s, i);
		printf("process %u (parent %u): %s\n", p->pid, p->ppid,
		       trace_session_string(s, p->command, NULL));
		if (strstr(trace_session_string(s, p->command, NULL), "streams") || !pid)
			pid = p->pid;
	}
	verify(pid != 0, true, "the sample's process recorded (pid %u)", pid);
	verify_collect(s);
	verify_kernels(s, &rep, pid);
	verify_copies(&rep);
	verify_syncs(&rep);
	verify_misc(s, &rep);

	printf("--- %u failed, %u warnings, %zu events\n", verify_failures, verify_warnings, verify_nevents);
	printf("%s\n", verify_failures ? "RECORD CHECK FAILED" : "RECORD CHECK PASSED");
	free(verify_events);
	trace_session_delete(s);
	return verify_failures ? 1 : 0;
}
