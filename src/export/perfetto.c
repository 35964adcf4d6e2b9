/*
 * perfetto.c - `tstop export --perfetto`: a session as a native Perfetto
 * protobuf trace (a stream of TracePacket messages, perfetto_trace.proto).
 *
 * What is written, in this order (docs/export.md has the full mapping):
 *   1. a ClockSnapshot that makes BUILTIN_CLOCK_MONOTONIC (the session
 *      clock, CLOCK_MONOTONIC ns) the trace's primary clock;
 *   2. the packet that starts the one packet sequence (id 1): incremental
 *      state cleared, TracePacketDefaults giving every timestamp that clock,
 *      and the interned categories and debug-annotation names;
 *   3. track descriptors: processes (pid, command line), devices ("GPU 0
 *      (name)"), and one per session track: threads, streams ("GPU 0 /
 *      stream 7", parented under their device), counters and process-wide
 *      tracks (lost-event markers, under their process);
 *   4. the events, track after track: spans as TYPE_SLICE_BEGIN/END pairs,
 *      marks, allocations and frees as TYPE_INSTANT, counter samples as
 *      TYPE_COUNTER. Event names are interned on first use.
 * Each track's slices are emitted properly nested: a span that overlaps one
 * already open on the track without nesting inside it goes to a child track
 * ("... (overlap 1)"), created when first needed, so every track's BEGIN/END
 * pairs balance and nest. Flows link each API call to the GPU work with the
 * same correlation id (flow id = pid << 32 | correlation; the GPU side ends
 * the flow). Timestamps below zero are shifted so that the earliest is 0.
 *
 * Memory: the packet buffer, one bit per session string and per synthesized
 * name, and per track a stack of open slice ends per lane (bounded by the
 * nesting depth and overlap, not by the event count). Packets are written to
 * the FILE as they are built.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "export/pb.h"
#include "util/xalloc.h"

/* Field numbers, from perfetto_trace.proto (google/perfetto). */
enum {
	F_TRACE_PACKET = 1,
	/* TracePacket */
	F_PKT_CLOCK_SNAPSHOT = 6,
	F_PKT_TIMESTAMP = 8,
	F_PKT_SEQ_ID = 10,
	F_PKT_TRACK_EVENT = 11,
	F_PKT_INTERNED = 12,
	F_PKT_SEQ_FLAGS = 13,
	F_PKT_DEFAULTS = 59,
	F_PKT_TRACK_DESCRIPTOR = 60,
	F_PKT_FIRST_ON_SEQ = 87,
	/* ClockSnapshot, ClockSnapshot.Clock */
	F_CS_CLOCKS = 1,
	F_CS_PRIMARY = 2,
	F_CLOCK_ID = 1,
	F_CLOCK_TS = 2,
	/* TracePacketDefaults */
	F_DEF_CLOCK_ID = 58,
	/* TrackDescriptor */
	F_TD_UUID = 1,
	F_TD_NAME = 2,
	F_TD_PROCESS = 3,
	F_TD_THREAD = 4,
	F_TD_PARENT = 5,
	F_TD_COUNTER = 8,
	/* ProcessDescriptor, ThreadDescriptor, CounterDescriptor */
	F_PD_PID = 1,
	F_PD_CMDLINE = 2,
	F_PD_NAME = 6,
	F_TH_PID = 1,
	F_TH_TID = 2,
	F_TH_NAME = 5,
	F_CD_UNIT = 3,
	/* TrackEvent */
	F_TE_CATEGORY_IIDS = 3,
	F_TE_DEBUG = 4,
	F_TE_TYPE = 9,
	F_TE_NAME_IID = 10,
	F_TE_TRACK_UUID = 11,
	F_TE_COUNTER_VALUE = 30,
	F_TE_DOUBLE_COUNTER_VALUE = 44,
	F_TE_FLOW_IDS = 47,
	F_TE_TERMINATING_FLOW_IDS = 48,
	/* DebugAnnotation */
	F_DA_NAME_IID = 1,
	F_DA_BOOL = 2,
	F_DA_UINT = 3,
	F_DA_INT = 4,
	F_DA_STRING = 6,
	/* InternedData, EventName / EventCategory / DebugAnnotationName */
	F_ID_CATEGORIES = 1,
	F_ID_NAMES = 2,
	F_ID_DEBUG_NAMES = 3,
	F_IID = 1,
	F_IID_NAME = 2,
};

enum {
	CLOCK_MONOTONIC_ID = 3, /* BuiltinClock.BUILTIN_CLOCK_MONOTONIC */
	CLOCK_BOOTTIME_ID = 6,  /* BuiltinClock.BUILTIN_CLOCK_BOOTTIME */
	SEQ_ID = 1,
	SEQ_CLEARED = 1, /* SEQ_INCREMENTAL_STATE_CLEARED */
	SEQ_NEEDS = 2,   /* SEQ_NEEDS_INCREMENTAL_STATE */
	TYPE_BEGIN = 1,
	TYPE_END = 2,
	TYPE_INSTANT = 3,
	TYPE_COUNTER = 4,
	UNIT_SIZE_BYTES = 3,
};

/* Track uuids: a tag in the top bits, then the identity. */
#define UUID_PROCESS(pid)  (1ull << 60 | (uint64_t)(pid))
#define UUID_TRACK(t)      (2ull << 60 | (uint64_t)(t))
#define UUID_DEVICE(d)     (3ull << 60 | (uint64_t)(d))
#define UUID_LANE(t, lane) (4ull << 60 | (uint64_t)(lane) << 32 | (uint64_t)(t))
#define UUID_DEVICE_MEM(d) (5ull << 60 | (uint64_t)(d))
#define PF_PROGRESS_EVERY  65536

/* Interned categories (iid = index). */
enum pf_category {
	CAT_KERNEL = 1,
	CAT_MEMCPY,
	CAT_MEMSET,
	CAT_SYNC,
	CAT_RUNTIME,
	CAT_DRIVER,
	CAT_OPENCL,
	CAT_API,
	CAT_NVTX,
	CAT_MARK,
	CAT_MEMORY,
	CAT_LOST,
	CAT_COUNTER,
	CAT_COUNT_PLUS_ONE,
};
static const char *const pf_categories[CAT_COUNT_PLUS_ONE] = {
    [CAT_KERNEL] = "kernel",
    [CAT_MEMCPY] = "gpu_memcpy",
    [CAT_MEMSET] = "gpu_memset",
    [CAT_SYNC] = "cuda_sync",
    [CAT_RUNTIME] = "cuda_runtime",
    [CAT_DRIVER] = "cuda_driver",
    [CAT_OPENCL] = "opencl",
    [CAT_API] = "api",
    [CAT_NVTX] = "nvtx",
    [CAT_MARK] = "nvtx_mark",
    [CAT_MEMORY] = "gpu_memory",
    [CAT_LOST] = "lost_events",
    [CAT_COUNTER] = "counter",
};

/* Interned debug-annotation names (iid = index). */
enum pf_arg {
	ARG_CORRELATION = 1,
	ARG_GRID,
	ARG_BLOCK,
	ARG_CLUSTER,
	ARG_REGISTERS,
	ARG_STATIC_SMEM,
	ARG_DYNAMIC_SMEM,
	ARG_BYTES,
	ARG_COPY_KIND,
	ARG_SRC_KIND,
	ARG_DST_KIND,
	ARG_MEM_KIND,
	ARG_SYNC_KIND,
	ARG_CUDA_EVENT,
	ARG_DOMAIN,
	ARG_CBID,
	ARG_RESULT,
	ARG_NVTX_DOMAIN,
	ARG_NVTX_CATEGORY,
	ARG_PAYLOAD,
	ARG_ADDRESS,
	ARG_DEVICE,
	ARG_LOST,
	ARG_OPEN,
	ARG_VALUE,
	ARG_COUNT_PLUS_ONE,
};
static const char *const pf_args[ARG_COUNT_PLUS_ONE] = {
    [ARG_CORRELATION] = "correlation",
    [ARG_GRID] = "grid",
    [ARG_BLOCK] = "block",
    [ARG_CLUSTER] = "cluster",
    [ARG_REGISTERS] = "registers per thread",
    [ARG_STATIC_SMEM] = "static shared memory",
    [ARG_DYNAMIC_SMEM] = "dynamic shared memory",
    [ARG_BYTES] = "bytes",
    [ARG_COPY_KIND] = "copy kind",
    [ARG_SRC_KIND] = "src kind",
    [ARG_DST_KIND] = "dst kind",
    [ARG_MEM_KIND] = "memory kind",
    [ARG_SYNC_KIND] = "sync kind",
    [ARG_CUDA_EVENT] = "cuda event",
    [ARG_DOMAIN] = "api",
    [ARG_CBID] = "callback id",
    [ARG_RESULT] = "result",
    [ARG_NVTX_DOMAIN] = "nvtx domain",
    [ARG_NVTX_CATEGORY] = "nvtx category",
    [ARG_PAYLOAD] = "payload",
    [ARG_ADDRESS] = "address",
    [ARG_DEVICE] = "device",
    [ARG_LOST] = "events lost",
    [ARG_OPEN] = "open at capture end",
    [ARG_VALUE] = "value",
};

/* Names made up for events whose name is empty: slots after the session's
 * strings. Memcpy names take 11 * 8 * 8 slots (copy, src, dst kinds). */
enum {
	SYN_MEMCPY = 0,
	SYN_MEMSET = SYN_MEMCPY + (TRACE_COPY_KIND_MAX + 1) * 64,
	SYN_SYNC = SYN_MEMSET + TRACE_MEM_KIND_MAX + 1,
	SYN_OTHER = SYN_SYNC + TRACE_SYNC_KIND_MAX + 1, /* + enum trace_kind */
	SYN_COUNT = SYN_OTHER + TRACE_KIND_MAX + 1,
};

/* The open slices of one lane of a track: their end times, innermost last. */
struct pf_lane {
	int64_t *ends;
	size_t n, cap;
	bool described; /* its TrackDescriptor was written */
};

struct pf {
	struct trace_session *s;
	FILE *out;
	const struct export_options *opts;
	struct pb_buf pkt;
	uint8_t *named;   /* per name slot: its EventName was interned */
	uint32_t strings; /* session strings: name slots [0, strings) */
	uint64_t shift;   /* added to every time (modulo 2^64) */
	uint64_t done, total, next_progress;
	struct pf_lane *lanes; /* lanes_made initialized, nlanes in use by the current track */
	size_t nlanes, lanes_made, lanes_cap;
	uint32_t *pids; /* processes described */
	size_t npids, pids_cap;
	int io_errno; /* errno of the first failed write, -1 when it set none */
};

/* Starts a packet on the sequence. */
static void pf_begin_packet(struct pf *pf)
{
	pb_reset(&pf->pkt);
	pb_begin(&pf->pkt, F_TRACE_PACKET);
	pb_uint(&pf->pkt, F_PKT_SEQ_ID, SEQ_ID);
}

/* Closes the packet and writes it (Trace.packet, length-delimited). A write
 * error is remembered and reported at the end. */
static void pf_end_packet(struct pf *pf)
{
	pb_end(&pf->pkt);
	errno = 0;
	if (!pf->io_errno && fwrite(pf->pkt.data, 1, pf->pkt.len, pf->out) != pf->pkt.len)
		pf->io_errno = errno ? errno : -1;
}

/* Time `t` of the session clock as a trace timestamp. */
static uint64_t pf_ts(const struct pf *pf, int64_t t)
{
	return (uint64_t)t + pf->shift;
}

/* Writes one interned entry {iid, name} in field `field` of InternedData. */
static void pf_interned(struct pb_buf *b, uint32_t field, uint64_t iid, const char *name, size_t len)
{
	pb_begin(b, field);
	pb_uint(b, F_IID, iid);
	pb_string(b, F_IID_NAME, name, len);
	pb_end(b);
}

/* The first packets: the clock snapshot, then the sequence start with the
 * defaults and the fixed interned tables. */
static void pf_write_preamble(struct pf *pf)
{
	struct pb_buf *b = &pf->pkt;
	int64_t t0 = 0, t1;
	trace_session_time_range(pf->s, &t0, &t1);
	pf_begin_packet(pf);
	pb_begin(b, F_PKT_CLOCK_SNAPSHOT);
	static const uint32_t clocks[] = {CLOCK_BOOTTIME_ID, CLOCK_MONOTONIC_ID};
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		pb_begin(b, F_CS_CLOCKS);
		pb_uint(b, F_CLOCK_ID, clocks[i]);
		pb_uint(b, F_CLOCK_TS, pf_ts(pf, t0));
		pb_end(b);
	}
	pb_uint(b, F_CS_PRIMARY, CLOCK_MONOTONIC_ID);
	pb_end(b);
	pf_end_packet(pf);

	pf_begin_packet(pf);
	pb_uint(b, F_PKT_SEQ_FLAGS, SEQ_CLEARED);
	pb_uint(b, F_PKT_FIRST_ON_SEQ, 1);
	pb_begin(b, F_PKT_DEFAULTS);
	pb_uint(b, F_DEF_CLOCK_ID, CLOCK_MONOTONIC_ID);
	pb_end(b);
	pb_begin(b, F_PKT_INTERNED);
	for (unsigned i = 1; i < CAT_COUNT_PLUS_ONE; i++)
		pf_interned(b, F_ID_CATEGORIES, i, pf_categories[i], strlen(pf_categories[i]));
	for (unsigned i = 1; i < ARG_COUNT_PLUS_ONE; i++)
		pf_interned(b, F_ID_DEBUG_NAMES, i, pf_args[i], strlen(pf_args[i]));
	pb_end(b);
	pf_end_packet(pf);
}

/* Describes process `pid` once (its command line when the session knows the
 * process). */
static void pf_describe_process(struct pf *pf, uint32_t pid)
{
	for (size_t i = 0; i < pf->npids; i++)
		if (pf->pids[i] == pid)
			return;
	pf->pids = xgrow(pf->pids, &pf->pids_cap, pf->npids + 1, sizeof(*pf->pids));
	pf->pids[pf->npids++] = pid;

	struct pb_buf *b = &pf->pkt;
	const struct trace_process *p = trace_session_find_process(pf->s, pid);
	pf_begin_packet(pf);
	pb_begin(b, F_PKT_TRACK_DESCRIPTOR);
	pb_uint(b, F_TD_UUID, UUID_PROCESS(pid));
	pb_begin(b, F_TD_PROCESS);
	pb_int(b, F_PD_PID, (int32_t)pid);
	if (p && p->command) {
		size_t len;
		const char *cmd = trace_session_string(pf->s, p->command, &len);
		/* arguments are separated by spaces: one cmdline entry each */
		size_t i = 0, first_end = 0;
		while (i < len) {
			while (i < len && cmd[i] == ' ')
				i++;
			size_t j = i;
			while (j < len && cmd[j] != ' ')
				j++;
			if (j > i) {
				if (!first_end)
					first_end = j;
				pb_string(b, F_PD_CMDLINE, cmd + i, j - i);
			}
			i = j;
		}
		/* the process name: the base name of the program */
		size_t k = first_end;
		while (k > 0 && cmd[k - 1] != '/' && cmd[k - 1] != ' ')
			k--;
		if (first_end > k)
			pb_string(b, F_PD_NAME, cmd + k, first_end - k);
	}
	pb_end(b);
	pb_end(b);
	pf_end_packet(pf);
}

/* Describes device `id` as a top-level track "GPU id (name)". */
static void pf_describe_device(struct pf *pf, uint32_t id)
{
	struct pb_buf *b = &pf->pkt;
	const struct trace_device *d = trace_session_find_device(pf->s, id);
	const char *name = d ? trace_session_string(pf->s, d->name, NULL) : "";
	char label[512];
	if (*name)
		snprintf(label, sizeof(label), "GPU %" PRIu32 " (%s)", id, name);
	else
		snprintf(label, sizeof(label), "GPU %" PRIu32, id);
	pf_begin_packet(pf);
	pb_begin(b, F_PKT_TRACK_DESCRIPTOR);
	pb_uint(b, F_TD_UUID, UUID_DEVICE(id));
	pb_cstr(b, F_TD_NAME, label);
	pb_end(b);
	pf_end_packet(pf);
}

/* The label of track `t` for people, in `buf`. */
static void pf_track_label(struct pf *pf, uint32_t t, char *buf, size_t size)
{
	const struct trace_track_info *ti = trace_session_track_info(pf->s, t);
	const char *name = trace_session_string(pf->s, ti->name, NULL);
	switch (ti->kind) {
	case TRACE_TRACK_THREAD:
		if (*name)
			snprintf(buf, size, "%s", name);
		else
			snprintf(buf, size, "thread %" PRIu32, ti->tid);
		break;
	case TRACE_TRACK_STREAM: {
		const struct trace_device *d = trace_session_find_device(pf->s, ti->device);
		const char *what = d && d->api == TRACE_DEVICE_OPENCL ? "queue" : "stream";
		int n = snprintf(buf, size, "GPU %" PRIu32 " / %s %" PRIu32, ti->device, what, ti->stream);
		if (*name && n >= 0 && (size_t)n < size)
			n += snprintf(buf + n, size - (size_t)n, " (%s)", name);
		if (trace_session_process_count(pf->s) > 1 && n >= 0 && (size_t)n < size)
			snprintf(buf + n, size - (size_t)n, " pid %" PRIu32, ti->pid);
		break;
	}
	case TRACE_TRACK_COUNTER:
		snprintf(buf, size, "%s (GPU %" PRIu32 ")", *name ? name : "counter", ti->device);
		break;
	default:
		snprintf(buf, size, "%s", *name ? name : "lost events");
		break;
	}
}

/* Describes session track `t` (its process or device first). */
static void pf_describe_track(struct pf *pf, uint32_t t)
{
	const struct trace_track_info *ti = trace_session_track_info(pf->s, t);
	struct pb_buf *b = &pf->pkt;
	char label[640];
	pf_track_label(pf, t, label, sizeof(label));
	pf_describe_process(pf, ti->pid);
	pf_begin_packet(pf);
	pb_begin(b, F_PKT_TRACK_DESCRIPTOR);
	pb_uint(b, F_TD_UUID, UUID_TRACK(t));
	switch (ti->kind) {
	case TRACE_TRACK_THREAD:
		pb_uint(b, F_TD_PARENT, UUID_PROCESS(ti->pid));
		pb_begin(b, F_TD_THREAD);
		pb_int(b, F_TH_PID, (int32_t)ti->pid);
		pb_int(b, F_TH_TID, ti->tid);
		pb_cstr(b, F_TH_NAME, label);
		pb_end(b);
		break;
	case TRACE_TRACK_STREAM:
		pb_uint(b, F_TD_PARENT, UUID_DEVICE(ti->device));
		pb_cstr(b, F_TD_NAME, label);
		break;
	case TRACE_TRACK_COUNTER:
		pb_uint(b, F_TD_PARENT, UUID_PROCESS(ti->pid));
		pb_cstr(b, F_TD_NAME, label);
		pb_begin(b, F_TD_COUNTER);
		if (strstr(label, "bytes"))
			pb_uint(b, F_CD_UNIT, UNIT_SIZE_BYTES);
		pb_end(b);
		break;
	default:
		pb_uint(b, F_TD_PARENT, UUID_PROCESS(ti->pid));
		pb_cstr(b, F_TD_NAME, label);
		break;
	}
	pb_end(b);
	pf_end_packet(pf);
}

/* Writes every descriptor: processes, devices (those known and those that
 * streams name), tracks. */
static void pf_write_descriptors(struct pf *pf)
{
	size_t np = trace_session_process_count(pf->s);
	for (size_t i = 0; i < np; i++)
		pf_describe_process(pf, trace_session_process(pf->s, i)->pid);
	size_t nd = trace_session_device_count(pf->s);
	for (size_t i = 0; i < nd; i++)
		pf_describe_device(pf, trace_session_device(pf->s, i)->id);
	uint32_t nt = trace_session_track_count(pf->s);
	for (uint32_t t = 1; t < nt; t++) {
		const struct trace_track_info *ti = trace_session_track_info(pf->s, t);
		if (ti->kind == TRACE_TRACK_STREAM && !trace_session_find_device(pf->s, ti->device)) {
			/* a device the session has no properties of: describe it once */
			bool seen = false;
			for (uint32_t u = 1; u < t && !seen; u++) {
				const struct trace_track_info *tu = trace_session_track_info(pf->s, u);
				seen = tu->kind == TRACE_TRACK_STREAM && tu->device == ti->device;
			}
			if (!seen)
				pf_describe_device(pf, ti->device);
		}
		pf_describe_track(pf, t);
	}
}

/* The category of event `ev`. */
static enum pf_category pf_event_category(const struct trace_event *ev)
{
	switch (ev->kind) {
	case TRACE_KERNEL:
		return CAT_KERNEL;
	case TRACE_MEMCPY:
		return CAT_MEMCPY;
	case TRACE_MEMSET:
		return CAT_MEMSET;
	case TRACE_SYNC:
		return CAT_SYNC;
	case TRACE_API:
		switch (trace_api_domain(ev)) {
		case TRACE_API_CUDA_RUNTIME:
			return CAT_RUNTIME;
		case TRACE_API_CUDA_DRIVER:
			return CAT_DRIVER;
		case TRACE_API_OPENCL:
			return CAT_OPENCL;
		default:
			return CAT_API;
		}
	case TRACE_NVTX_RANGE:
		return CAT_NVTX;
	case TRACE_NVTX_MARK:
		return CAT_MARK;
	case TRACE_MEM_ALLOC:
	case TRACE_MEM_FREE:
		return CAT_MEMORY;
	case TRACE_LOST:
		return CAT_LOST;
	default:
		return CAT_COUNTER;
	}
}

/* The name slot of `ev` (its string, or a made-up name when it has none). */
static uint32_t pf_name_slot(const struct pf *pf, const struct trace_event *ev)
{
	if (ev->name && ev->name < pf->strings)
		return ev->name;
	switch (ev->kind) {
	case TRACE_MEMCPY: {
		unsigned c = trace_memcpy_copy_kind(ev), sk = trace_memcpy_src_kind(ev),
		         dk = trace_memcpy_dst_kind(ev);
		if (c > TRACE_COPY_KIND_MAX)
			c = 0;
		sk = sk <= TRACE_MEM_KIND_MAX ? sk : 0;
		dk = dk <= TRACE_MEM_KIND_MAX ? dk : 0;
		return pf->strings + SYN_MEMCPY + c * 64 + sk * 8 + dk;
	}
	case TRACE_MEMSET:
		return pf->strings + SYN_MEMSET + (ev->sub <= TRACE_MEM_KIND_MAX ? ev->sub : 0);
	case TRACE_SYNC:
		return pf->strings + SYN_SYNC + (ev->sub <= TRACE_SYNC_KIND_MAX ? ev->sub : 0);
	default:
		return pf->strings + SYN_OTHER + (ev->kind <= TRACE_KIND_MAX ? ev->kind : 0);
	}
}

/* Writes the text of name slot `slot` into InternedData.event_names. */
static void pf_intern_name(struct pf *pf, uint32_t slot)
{
	struct pb_buf *b = &pf->pkt;
	char tmp[160];
	if (slot < pf->strings) {
		size_t len;
		const char *str = trace_session_string(pf->s, slot, &len);
		if (strlen(str) == len) /* no NUL inside: the demangled form when mangled */
			str = trace_session_display_name(pf->s, slot), len = strlen(str);
		pf_interned(b, F_ID_NAMES, slot + 1ull, str, len);
		return;
	}
	uint32_t k = slot - pf->strings;
	if (k < SYN_MEMSET) {
		unsigned c = k / 64, sk = k / 8 % 8, dk = k % 8;
		if (sk || dk)
			snprintf(tmp, sizeof(tmp), "Memcpy %s (%s -> %s)", trace_copy_kind_name(c),
			         trace_mem_kind_name(sk), trace_mem_kind_name(dk));
		else
			snprintf(tmp, sizeof(tmp), "Memcpy %s", trace_copy_kind_name(c));
	} else if (k < SYN_SYNC) {
		snprintf(tmp, sizeof(tmp), "Memset (%s)", trace_mem_kind_name(k - SYN_MEMSET));
	} else if (k < SYN_OTHER) {
		static const char *const syncs[] = {"Sync",        "Event Sync",   "Stream Wait Event",
		                                    "Stream Sync", "Context Sync", "Device Sync"};
		snprintf(tmp, sizeof(tmp), "%s", syncs[k - SYN_SYNC]);
	} else {
		static const char *const other[TRACE_KIND_MAX + 1] = {
		    [TRACE_KERNEL] = "kernel",
		    [TRACE_API] = "API call",
		    [TRACE_NVTX_RANGE] = "NVTX range",
		    [TRACE_NVTX_MARK] = "NVTX mark",
		    [TRACE_MEM_ALLOC] = "Memory allocation",
		    [TRACE_MEM_FREE] = "Memory free",
		    [TRACE_COUNTER] = "counter",
		    [TRACE_LOST] = "events lost",
		};
		const char *o = other[k - SYN_OTHER];
		snprintf(tmp, sizeof(tmp), "%s", o ? o : "event");
	}
	pf_interned(b, F_ID_NAMES, slot + 1ull, tmp, strlen(tmp));
}

/* Writes one debug annotation with an unsigned value. */
static void pf_arg_uint(struct pb_buf *b, enum pf_arg name, uint64_t v)
{
	pb_begin(b, F_TE_DEBUG);
	pb_uint(b, F_DA_NAME_IID, name);
	pb_uint(b, F_DA_UINT, v);
	pb_end(b);
}

/* Writes one debug annotation with a signed value. */
static void pf_arg_int(struct pb_buf *b, enum pf_arg name, int64_t v)
{
	pb_begin(b, F_TE_DEBUG);
	pb_uint(b, F_DA_NAME_IID, name);
	pb_int(b, F_DA_INT, v);
	pb_end(b);
}

/* Writes one debug annotation with a string value. */
static void pf_arg_str(struct pb_buf *b, enum pf_arg name, const char *v, size_t len)
{
	pb_begin(b, F_TE_DEBUG);
	pb_uint(b, F_DA_NAME_IID, name);
	pb_string(b, F_DA_STRING, v, len);
	pb_end(b);
}

/* Writes "[x, y, z]" as a string annotation. */
static void pf_arg_dim3(struct pb_buf *b, enum pf_arg name, const uint32_t d[3])
{
	char tmp[48];
	int n = snprintf(tmp, sizeof(tmp), "[%" PRIu32 ", %" PRIu32 ", %" PRIu32 "]", d[0], d[1], d[2]);
	pf_arg_str(b, name, tmp, (size_t)n);
}

/* The debug annotations of event `ev`: the main arguments of its kind. */
static void pf_event_args(struct pf *pf, const struct trace_event *ev)
{
	struct pb_buf *b = &pf->pkt;
	if (ev->correlation)
		pf_arg_uint(b, ARG_CORRELATION, ev->correlation);
	switch (ev->kind) {
	case TRACE_KERNEL: {
		const struct trace_launch *l = trace_session_launch(pf->s, ev->u.kernel.launch);
		if (l) {
			pf_arg_dim3(b, ARG_GRID, l->grid);
			pf_arg_dim3(b, ARG_BLOCK, l->block);
			if (l->cluster[0])
				pf_arg_dim3(b, ARG_CLUSTER, l->cluster);
			pf_arg_uint(b, ARG_REGISTERS, l->registers);
			pf_arg_uint(b, ARG_STATIC_SMEM, l->static_smem);
			pf_arg_uint(b, ARG_DYNAMIC_SMEM, l->dynamic_smem);
		}
		break;
	}
	case TRACE_MEMCPY: {
		const char *c = trace_copy_kind_name(trace_memcpy_copy_kind(ev));
		const char *sk = trace_mem_kind_name(trace_memcpy_src_kind(ev));
		const char *dk = trace_mem_kind_name(trace_memcpy_dst_kind(ev));
		pf_arg_uint(b, ARG_BYTES, ev->u.bytes);
		pf_arg_str(b, ARG_COPY_KIND, c, strlen(c));
		pf_arg_str(b, ARG_SRC_KIND, sk, strlen(sk));
		pf_arg_str(b, ARG_DST_KIND, dk, strlen(dk));
		break;
	}
	case TRACE_MEMSET: {
		const char *mk = trace_mem_kind_name(ev->sub);
		pf_arg_uint(b, ARG_BYTES, ev->u.bytes);
		pf_arg_str(b, ARG_MEM_KIND, mk, strlen(mk));
		break;
	}
	case TRACE_SYNC: {
		const char *sk = trace_sync_kind_name(ev->sub);
		pf_arg_str(b, ARG_SYNC_KIND, sk, strlen(sk));
		if (ev->u.sync.event)
			pf_arg_uint(b, ARG_CUDA_EVENT, ev->u.sync.event);
		break;
	}
	case TRACE_API: {
		const char *d = trace_api_domain_name(trace_api_domain(ev));
		pf_arg_str(b, ARG_DOMAIN, d, strlen(d));
		pf_arg_uint(b, ARG_CBID, ev->u.api.cbid);
		pf_arg_int(b, ARG_RESULT, trace_api_result(ev));
		break;
	}
	case TRACE_NVTX_RANGE:
	case TRACE_NVTX_MARK: {
		const struct trace_nvtx_attr *a = trace_session_nvtx_attr(pf->s, ev->u.nvtx.attr);
		if (!a)
			break;
		if (a->domain) {
			size_t len;
			const char *dn = trace_session_string(pf->s, a->domain, &len);
			pf_arg_str(b, ARG_NVTX_DOMAIN, dn, len);
		}
		if (a->category)
			pf_arg_uint(b, ARG_NVTX_CATEGORY, a->category);
		switch (a->payload_type) {
		case TRACE_NVTX_PAYLOAD_U64:
		case TRACE_NVTX_PAYLOAD_U32:
			pf_arg_uint(b, ARG_PAYLOAD, a->payload);
			break;
		case TRACE_NVTX_PAYLOAD_I64:
		case TRACE_NVTX_PAYLOAD_I32:
			pf_arg_int(b, ARG_PAYLOAD, (int64_t)a->payload);
			break;
		case TRACE_NVTX_PAYLOAD_DOUBLE:
		case TRACE_NVTX_PAYLOAD_FLOAT: {
			double v;
			memcpy(&v, &a->payload, sizeof(v));
			pb_begin(b, F_TE_DEBUG);
			pb_uint(b, F_DA_NAME_IID, ARG_PAYLOAD);
			pb_double(b, 5 /* double_value */, v);
			pb_end(b);
			break;
		}
		default:
			break;
		}
		break;
	}
	case TRACE_MEM_ALLOC:
	case TRACE_MEM_FREE: {
		const struct trace_memop *m = trace_session_memop(pf->s, ev->u.memop.id);
		if (m) {
			pf_arg_uint(b, ARG_BYTES, m->bytes);
			pf_arg_uint(b, ARG_ADDRESS, m->address);
			pf_arg_uint(b, ARG_DEVICE, m->device);
			const char *mk = trace_mem_kind_name(m->mem_kind);
			pf_arg_str(b, ARG_MEM_KIND, mk, strlen(mk));
		}
		break;
	}
	case TRACE_LOST:
		pf_arg_uint(b, ARG_LOST, ev->u.bytes);
		break;
	case TRACE_COUNTER:
		if (ev->flags & TRACE_FLAG_COUNTER_DOUBLE) {
			pb_begin(b, F_TE_DEBUG);
			pb_uint(b, F_DA_NAME_IID, ARG_VALUE);
			pb_double(b, 5 /* double_value */, ev->u.counter_double);
			pb_end(b);
		} else {
			pf_arg_int(b, ARG_VALUE, ev->u.counter);
		}
		break;
	default:
		break;
	}
	if (ev->flags & TRACE_FLAG_OPEN) {
		pb_begin(b, F_TE_DEBUG);
		pb_uint(b, F_DA_NAME_IID, ARG_OPEN);
		pb_uint(b, F_DA_BOOL, 1);
		pb_end(b);
	}
}

/* Writes the BEGIN (or INSTANT, by `type`) packet of event `ev` on track
 * `uuid` of process `pid`: name interned on first use, category, arguments
 * and flow ids. */
static void pf_write_event(struct pf *pf, const struct trace_event *ev, uint64_t uuid, uint32_t pid,
                           unsigned type)
{
	struct pb_buf *b = &pf->pkt;
	uint32_t slot = pf_name_slot(pf, ev);
	pf_begin_packet(pf);
	pb_uint(b, F_PKT_TIMESTAMP, pf_ts(pf, ev->start));
	pb_uint(b, F_PKT_SEQ_FLAGS, SEQ_NEEDS);
	if (!(pf->named[slot / 8] & (1u << (slot % 8)))) {
		pf->named[slot / 8] |= (uint8_t)(1u << (slot % 8));
		pb_begin(b, F_PKT_INTERNED);
		pf_intern_name(pf, slot);
		pb_end(b);
	}
	pb_begin(b, F_PKT_TRACK_EVENT);
	pb_uint(b, F_TE_TYPE, type);
	pb_uint(b, F_TE_TRACK_UUID, uuid);
	pb_uint(b, F_TE_CATEGORY_IIDS, pf_event_category(ev));
	pb_uint(b, F_TE_NAME_IID, slot + 1ull);
	pf_event_args(pf, ev);
	if (ev->correlation && type == TYPE_BEGIN) {
		uint64_t flow = (uint64_t)pid << 32 | ev->correlation;
		if (ev->kind == TRACE_API)
			pb_fixed64(b, F_TE_FLOW_IDS, flow);
		else if (ev->kind == TRACE_KERNEL || ev->kind == TRACE_MEMCPY || ev->kind == TRACE_MEMSET ||
		         ev->kind == TRACE_SYNC)
			pb_fixed64(b, F_TE_TERMINATING_FLOW_IDS, flow);
	}
	pb_end(b);
	pf_end_packet(pf);
}

/* Writes a SLICE_END at `t` on track `uuid`. */
static void pf_write_end(struct pf *pf, int64_t t, uint64_t uuid)
{
	struct pb_buf *b = &pf->pkt;
	pf_begin_packet(pf);
	pb_uint(b, F_PKT_TIMESTAMP, pf_ts(pf, t));
	pb_uint(b, F_PKT_SEQ_FLAGS, SEQ_NEEDS);
	pb_begin(b, F_PKT_TRACK_EVENT);
	pb_uint(b, F_TE_TYPE, TYPE_END);
	pb_uint(b, F_TE_TRACK_UUID, uuid);
	pb_end(b);
	pf_end_packet(pf);
}

/* Writes a counter sample of `ev` on track `uuid`. */
static void pf_write_counter(struct pf *pf, const struct trace_event *ev, uint64_t uuid)
{
	struct pb_buf *b = &pf->pkt;
	pf_begin_packet(pf);
	pb_uint(b, F_PKT_TIMESTAMP, pf_ts(pf, ev->start));
	pb_uint(b, F_PKT_SEQ_FLAGS, SEQ_NEEDS);
	pb_begin(b, F_PKT_TRACK_EVENT);
	pb_uint(b, F_TE_TYPE, TYPE_COUNTER);
	pb_uint(b, F_TE_TRACK_UUID, uuid);
	if (ev->flags & TRACE_FLAG_COUNTER_DOUBLE)
		pb_double(b, F_TE_DOUBLE_COUNTER_VALUE, ev->u.counter_double);
	else
		pb_int(b, F_TE_COUNTER_VALUE, ev->u.counter);
	pb_end(b);
	pf_end_packet(pf);
}

/* The uuid of lane `lane` of track `t`: the track itself, or a child. */
static uint64_t pf_lane_uuid(uint32_t t, size_t lane)
{
	return lane ? UUID_LANE(t, lane) : UUID_TRACK(t);
}

/* Closes, on every lane, the slices that end at or before `t` (all of them
 * when `all`), innermost first. */
static void pf_close_until(struct pf *pf, uint32_t t, int64_t until, bool all)
{
	for (size_t l = 0; l < pf->nlanes; l++) {
		struct pf_lane *ln = &pf->lanes[l];
		while (ln->n && (all || ln->ends[ln->n - 1] <= until))
			pf_write_end(pf, ln->ends[--ln->n], pf_lane_uuid(t, l));
	}
}

/* Picks the lane where `ev` nests (the first whose innermost open slice
 * contains it, or an empty one), creating and describing a new lane when
 * none fits. Returns its index. */
static size_t pf_pick_lane(struct pf *pf, uint32_t t, const struct trace_event *ev)
{
	size_t l = 0;
	for (; l < pf->nlanes; l++) {
		struct pf_lane *ln = &pf->lanes[l];
		if (!ln->n || ln->ends[ln->n - 1] >= ev->end)
			break;
	}
	if (l == pf->nlanes) {
		if (l == pf->lanes_made) {
			pf->lanes = xgrow(pf->lanes, &pf->lanes_cap, l + 1, sizeof(*pf->lanes));
			memset(&pf->lanes[l], 0, sizeof(pf->lanes[l]));
			pf->lanes_made++;
		}
		pf->nlanes++;
	}
	struct pf_lane *ln = &pf->lanes[l];
	if (l && !ln->described) {
		struct pb_buf *b = &pf->pkt;
		char label[640], name[700];
		pf_track_label(pf, t, label, sizeof(label));
		snprintf(name, sizeof(name), "%s (overlap %zu)", label, l);
		pf_begin_packet(pf);
		pb_begin(b, F_PKT_TRACK_DESCRIPTOR);
		pb_uint(b, F_TD_UUID, pf_lane_uuid(t, l));
		pb_uint(b, F_TD_PARENT, UUID_TRACK(t));
		pb_cstr(b, F_TD_NAME, name);
		pb_end(b);
		pf_end_packet(pf);
		ln->described = true;
	}
	return l;
}

/* True when events of kind `kind` are written as instants. */
static bool pf_is_instant(unsigned kind)
{
	return kind == TRACE_NVTX_MARK || kind == TRACE_MEM_ALLOC || kind == TRACE_MEM_FREE ||
	       kind == TRACE_COUNTER;
}

/* Reports progress when due. */
static void pf_progress(struct pf *pf, bool last)
{
	if (!pf->opts || !pf->opts->progress)
		return;
	if (last || pf->done >= pf->next_progress) {
		pf->opts->progress(pf->opts->progress_arg, pf->done, pf->total);
		pf->next_progress = pf->done + PF_PROGRESS_EVERY;
	}
}

/* Writes the events of track `t`. Events come sorted by (start, end); a run
 * of equal starts is taken longest first, so that spans starting together
 * nest. */
static void pf_write_track(struct pf *pf, uint32_t t)
{
	const struct trace_track_info *ti = trace_session_track_info(pf->s, t);
	size_t n;
	const struct trace_event *evs = trace_session_track_events(pf->s, t, &n);
	for (size_t l = 0; l < pf->lanes_made; l++) {
		pf->lanes[l].n = 0;
		pf->lanes[l].described = false;
	}
	pf->nlanes = 0;
	for (size_t i = 0; i < n;) {
		size_t run = i + 1;
		while (run < n && evs[run].start == evs[i].start)
			run++;
		for (size_t j = run; j-- > i;) {
			const struct trace_event *ev = &evs[j];
			if (ti->kind == TRACE_TRACK_COUNTER && ev->kind == TRACE_COUNTER) {
				pf_write_counter(pf, ev, UUID_TRACK(t));
			} else if (pf_is_instant(ev->kind)) {
				pf_close_until(pf, t, ev->start, false); /* keep the track's times in order */
				pf_write_event(pf, ev, UUID_TRACK(t), ti->pid, TYPE_INSTANT);
			} else {
				pf_close_until(pf, t, ev->start, false);
				size_t l = pf_pick_lane(pf, t, ev);
				struct pf_lane *ln = &pf->lanes[l];
				ln->ends = xgrow(ln->ends, &ln->cap, ln->n + 1, sizeof(*ln->ends));
				ln->ends[ln->n++] = ev->end;
				pf_write_event(pf, ev, pf_lane_uuid(t, l), ti->pid, TYPE_BEGIN);
			}
			pf->done++;
			pf_progress(pf, false);
		}
		i = run;
	}
	pf_close_until(pf, t, 0, true);
}

/* One change of a device's memory in use: an allocation (+) or release (-). */
struct pf_mem_step {
	int64_t t;
	int64_t delta;
};

static int pf_mem_step_cmp(const void *a, const void *b)
{
	const struct pf_mem_step *x = a, *y = b;
	return (x->t > y->t) - (x->t < y->t);
}

/* Writes, for each device with allocations or releases, a counter track
 * "GPU N memory in use (bytes)" under the device, derived from the
 * session's MEM_ALLOC and MEM_FREE events (every process's, in time order):
 * one sample per event, the running total, which starts at 0 with the
 * capture (memory allocated before it is not known). Memory: 16 bytes per
 * allocation or release of the device being written. */
static void pf_write_device_memory(struct pf *pf)
{
	uint32_t nt = trace_session_track_count(pf->s);
	uint32_t nops = trace_session_memop_count(pf->s);
	uint32_t *devices = NULL;
	size_t ndev = 0, dev_cap = 0;
	for (uint32_t m = 1; m < nops; m++) { /* the devices that have any */
		uint32_t d = trace_session_memop(pf->s, m)->device;
		size_t i = 0;
		while (i < ndev && devices[i] != d)
			i++;
		if (i == ndev) {
			devices = xgrow(devices, &dev_cap, ndev + 1, sizeof(*devices));
			devices[ndev++] = d;
		}
	}
	struct pf_mem_step *steps = NULL;
	size_t cap = 0;
	for (size_t di = 0; di < ndev && !pf->io_errno; di++) {
		uint32_t d = devices[di];
		size_t n = 0;
		for (uint32_t t = 1; t < nt; t++) {
			size_t ne;
			const struct trace_event *ev = trace_session_track_events(pf->s, t, &ne);
			for (size_t i = 0; i < ne; i++) {
				if (ev[i].kind != TRACE_MEM_ALLOC && ev[i].kind != TRACE_MEM_FREE)
					continue;
				const struct trace_memop *m = trace_session_memop(pf->s, ev[i].u.memop.id);
				if (!m || m->device != d)
					continue;
				int64_t bytes = m->bytes > INT64_MAX ? INT64_MAX : (int64_t)m->bytes;
				steps = xgrow(steps, &cap, n + 1, sizeof(*steps));
				steps[n].t = ev[i].start;
				steps[n].delta = ev[i].kind == TRACE_MEM_ALLOC ? bytes : -bytes;
				n++;
			}
		}
		if (!n)
			continue;
		qsort(steps, n, sizeof(*steps), pf_mem_step_cmp);
		struct pb_buf *b = &pf->pkt;
		char name[64];
		snprintf(name, sizeof(name), "GPU %" PRIu32 " memory in use (bytes)", d);
		pf_begin_packet(pf);
		pb_begin(b, F_PKT_TRACK_DESCRIPTOR);
		pb_uint(b, F_TD_UUID, UUID_DEVICE_MEM(d));
		pb_uint(b, F_TD_PARENT, UUID_DEVICE(d));
		pb_cstr(b, F_TD_NAME, name);
		pb_begin(b, F_TD_COUNTER);
		pb_uint(b, F_CD_UNIT, UNIT_SIZE_BYTES);
		pb_end(b);
		pb_end(b);
		pf_end_packet(pf);
		int64_t in_use = 0;
		for (size_t i = 0; i < n; i++) {
			/* saturating: totals come from the target */
			if (steps[i].delta > 0 && in_use > INT64_MAX - steps[i].delta)
				in_use = INT64_MAX;
			else if (steps[i].delta < 0 && in_use < INT64_MIN - steps[i].delta)
				in_use = INT64_MIN;
			else
				in_use += steps[i].delta;
			pf_begin_packet(pf);
			pb_uint(b, F_PKT_TIMESTAMP, pf_ts(pf, steps[i].t));
			pb_uint(b, F_PKT_SEQ_FLAGS, SEQ_NEEDS);
			pb_begin(b, F_PKT_TRACK_EVENT);
			pb_uint(b, F_TE_TYPE, TYPE_COUNTER);
			pb_uint(b, F_TE_TRACK_UUID, UUID_DEVICE_MEM(d));
			pb_int(b, F_TE_COUNTER_VALUE, in_use);
			pb_end(b);
			pf_end_packet(pf);
		}
	}
	free(steps);
	free(devices);
}

/* Writes session `s` as a Perfetto trace to `out`; see the file comment. */
int export_perfetto_write(struct trace_session *s, FILE *out, const struct export_options *opts,
                          struct err *e)
{
	struct pf pf = {.s = s, .out = out, .opts = opts};
	pb_init(&pf.pkt);
	pf.strings = trace_session_string_count(s);
	pf.named = xcalloc(((size_t)pf.strings + SYN_COUNT) / 8 + 1, 1);
	pf.total = trace_session_event_count(s);
	int64_t t0, t1;
	if (trace_session_time_range(s, &t0, &t1) && t0 < 0)
		pf.shift = 0 - (uint64_t)t0; /* the earliest time becomes 0 */

	pf_write_preamble(&pf);
	pf_write_descriptors(&pf);
	uint32_t nt = trace_session_track_count(s);
	for (uint32_t t = 1; t < nt && !pf.io_errno; t++)
		pf_write_track(&pf, t);
	pf_write_device_memory(&pf);
	pf_progress(&pf, true);

	for (size_t l = 0; l < pf.lanes_made; l++)
		free(pf.lanes[l].ends);
	free(pf.lanes);
	free(pf.pids);
	free(pf.named);
	pb_free(&pf.pkt);
	if (!pf.io_errno && fflush(out) != 0)
		pf.io_errno = errno ? errno : -1;
	if (!pf.io_errno && ferror(out))
		pf.io_errno = -1;
	if (pf.io_errno > 0)
		return err_errno(e, pf.io_errno, "writing the Perfetto trace");
	if (pf.io_errno)
		return err_fmt(e, "writing the Perfetto trace: write error");
	return 0;
}
