/*
 * drain.c - rings to session to sinks (see drain.h for what is checked and
 * counted).
 *
 * Each attached process has a struct capture_proc: its ring, its pid, and
 * one remap array per collector id space. An array entry holds the session
 * id plus one, so that 0 marks a collector id never defined (the empty
 * string's session id is 0). Collector id 0 always means "none" and maps to
 * session id 0 without a lookup.
 *
 * Record handling, in ring order: the shared bytes are copied into a local
 * struct (or buffer) once, the copy is checked and remapped, the session is
 * updated, and whatever the session created or changed goes to the sinks.
 * A new session entry is recognised by its id being the table's count
 * before the call (strings: every id at or past strings_sent, which also
 * covers strings a caller interned directly): the session hands out ids
 * densely, so sinks receive each table's ids as 1, 2, 3 ... (sink.h,
 * invariant 1).
 *
 * Bounds. A remap array grows only to an id the ring could have carried: at
 * most the records read from the ring plus the records it dropped or that
 * were skipped torn (each definition is one record) plus CAPTURE_ID_SLACK,
 * and never past CAPTURE_ID_MAX; a definition beyond that is dropped. Strings are capped at
 * PROTO_STRING_MAX bytes, stacks at PROTO_STACK_MAX frames.
 */
#include "capture/drain.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture/symbolize.h"
#include "util/xalloc.h"

#define CAPTURE_ID_SLACK    1024u
#define CAPTURE_ID_MAX      (1u << 26)
#define CAPTURE_READ_CHUNK  65536u            /* records per ring_read call */
#define CAPTURE_CLOSE_READS 64u               /* ring_read calls when a process goes */
#define CAPTURE_TORN_TICK   (100 * 1000000ll) /* drain time one poll adds to a stall, at most (ns) */

/* Collector id spaces. */
enum drain_map {
	MAP_STRING,
	MAP_TRACK,
	MAP_LAUNCH,
	MAP_ATTR,
	MAP_MEMOP,
	MAP_FRAME,
	MAP_STACK,
	MAP_COUNT,
};

/* Collector id -> session id + 1 (0: undefined). */
struct capture_map {
	uint32_t *v;
	size_t cap;
};

struct capture_proc {
	struct ring *ring;
	uint32_t pid, ppid;
	bool hello;   /* HELLO received and accepted */
	bool refused; /* HELLO of another protocol: everything is dropped */
	bool broken_noted;
	uint64_t records;      /* records read from the ring */
	uint64_t ring_dropped; /* last ring drop count recorded as a loss */
	uint64_t invalid;      /* events dropped here */
	uint64_t invalid_recorded;
	uint64_t torn_recorded; /* last torn count recorded as a loss */
	bool torn_noted;
	/* A pending record at the head of the ring, being timed (drain.h). */
	int64_t stall_seen; /* when a poll last saw it (ns); 0: none timed */
	int64_t stall_age;  /* drain time it has been pending (ns) */
	uint64_t stall_pos; /* consumer position when timing started */
	uint64_t stall_res; /* producer position then */
	struct capture_map maps[MAP_COUNT];
};

struct capture_drain {
	struct trace_session *s;
	struct capture_drain_options opts;
	struct capture_sink *sinks[CAPTURE_DRAIN_MAX_SINKS];
	bool sink_dead[CAPTURE_DRAIN_MAX_SINKS];
	size_t nsinks;
	char sink_error[CAPTURE_DRAIN_MAX_SINKS][ERR_MSG_MAX];
	bool failed;
	char error[ERR_MSG_MAX];
	uint32_t strings_sent; /* strings 1 .. strings_sent - 1 went to the sinks */
	struct capture_proc **procs;
	size_t nprocs, procs_cap;
	struct capture_drain_stats stats;
	struct symbolize *sym; /* frames to function, file:line (capture/symbolize.h) */
	int64_t torn_ns;       /* opts.torn_ms in ns */
};

/* Remembers the first failure of sink `i` and stops feeding it. */
static void drain_sink_fail(struct capture_drain *d, size_t i, const struct err *e)
{
	d->sink_dead[i] = true;
	snprintf(d->sink_error[i], sizeof(d->sink_error[i]), "%s", e->msg);
	if (!d->failed) {
		d->failed = true;
		snprintf(d->error, sizeof(d->error), "%s", e->msg);
	}
}

/* Evaluates `expr` (an op call on sink `k` with error `ke`, both named by
 * this macro) for every live sink with index in [lo, hi). */
#define DRAIN_EMIT_RANGE(d, lo, hi, expr)                                                                    \
	do {                                                                                                 \
		for (size_t ki = (lo); ki < (hi); ki++) {                                                    \
			struct capture_sink *k = (d)->sinks[ki];                                             \
			struct err ke;                                                                       \
			ke.msg[0] = '\0';                                                                    \
			if (!(d)->sink_dead[ki] && (expr) < 0)                                               \
				drain_sink_fail((d), ki, &ke);                                               \
		}                                                                                            \
	} while (0)
#define DRAIN_EMIT(d, expr) DRAIN_EMIT_RANGE(d, 0, (d)->nsinks, expr)

/* Passes a message about process `pid` to the log callback, if any. */
static void drain_note(struct capture_drain *d, uint32_t pid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void drain_note(struct capture_drain *d, uint32_t pid, const char *fmt, ...)
{
	if (!d->opts.log)
		return;
	char msg[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->opts.log(d->opts.log_arg, pid, PROTO_LOG_WARNING, msg, strlen(msg));
}

/* --- session updates that reach the sinks ---------------------------------------- */

/* Sends the strings the sinks have not received yet: those the drain
 * interned, and any a caller interned in the session directly. */
static void drain_sync_strings(struct capture_drain *d)
{
	uint32_t n = trace_session_string_count(d->s);
	for (uint32_t id = d->strings_sent; id < n; id++) {
		size_t len;
		const char *bytes = trace_session_string(d->s, id, &len);
		DRAIN_EMIT(d, k->ops->string(k, id, bytes, len, &ke));
	}
	d->strings_sent = n;
}

/* Interns `len` bytes (a private copy, not shared memory) and sends a new
 * string to the sinks; returns the session id. */
static uint32_t drain_intern(struct capture_drain *d, const char *bytes, size_t len)
{
	uint32_t id = trace_session_intern(d->s, bytes, len);
	drain_sync_strings(d);
	return id;
}

/* Stores process `p` in the session and sends it to the sinks. */
static void drain_put_process(struct capture_drain *d, const struct trace_process *p)
{
	drain_sync_strings(d);
	trace_session_set_process(d->s, p);
	DRAIN_EMIT(d, k->ops->process(k, p, &ke));
}

/* Sets the lost-event total of (pid, source) in the session and the sinks. */
static void drain_put_loss(struct capture_drain *d, uint32_t pid, uint32_t source, uint64_t count)
{
	trace_session_set_loss(d->s, pid, source, count);
	struct trace_loss l = {.pid = pid, .source = source, .count = count};
	DRAIN_EMIT(d, k->ops->loss(k, &l, &ke));
}

/* The session's record of process `pid`, or a fresh one (pid and ppid set). */
static struct trace_process drain_process_of(struct capture_drain *d, uint32_t pid, uint32_t ppid)
{
	const struct trace_process *old = trace_session_find_process(d->s, pid);
	if (old)
		return *old;
	struct trace_process p = {.pid = pid, .ppid = ppid, .state = TRACE_PROC_RUNNING};
	return p;
}

/* --- remapping -------------------------------------------------------------------- */

/* Looks collector id `cid` of space `m` up: true with *sid set when it is 0
 * (none) or defined. */
static bool map_get(const struct capture_proc *p, enum drain_map m, uint32_t cid, uint32_t *sid)
{
	if (cid == 0) {
		*sid = 0;
		return true;
	}
	const struct capture_map *map = &p->maps[m];
	if (cid >= map->cap || map->v[cid] == 0)
		return false;
	*sid = map->v[cid] - 1;
	return true;
}

/* Whether collector id `cid` is one process `p` may define now (see the
 * bounds at the top of the file). */
static bool map_id_ok(const struct capture_proc *p, uint32_t cid)
{
	if (cid == 0 || cid >= CAPTURE_ID_MAX)
		return false;
	return (uint64_t)cid <= p->records + p->ring_dropped + p->torn_recorded + CAPTURE_ID_SLACK;
}

/* Records cid -> sid in space `m`; `cid` passed map_id_ok. */
static void map_set(struct capture_proc *p, enum drain_map m, uint32_t cid, uint32_t sid)
{
	struct capture_map *map = &p->maps[m];
	if (cid >= map->cap) {
		size_t old = map->cap;
		map->v = xgrow(map->v, &map->cap, (size_t)cid + 1, sizeof(*map->v));
		memset(map->v + old, 0, (map->cap - old) * sizeof(*map->v));
	}
	map->v[cid] = sid + 1;
}

/* --- records ------------------------------------------------------------------------ */

/* HELLO: checks the protocol and the struct sizes, and fills the process. */
static bool drain_hello(struct capture_drain *d, struct capture_proc *p, const uint8_t *body, uint32_t blen)
{
	struct proto_hello h;
	if (p->hello || blen < sizeof(h))
		return false;
	memcpy(&h, body, sizeof(h));
	if (h.version != PROTO_VERSION || h.size_event != sizeof(struct trace_event) ||
	    h.size_track != sizeof(struct trace_track_info) || h.size_device != sizeof(struct trace_device) ||
	    h.size_launch != sizeof(struct trace_launch) ||
	    h.size_nvtx_attr != sizeof(struct trace_nvtx_attr) ||
	    h.size_memop != sizeof(struct trace_memop) || h.size_frame != sizeof(struct proto_frame)) {
		p->refused = true;
		drain_note(d, p->pid,
		           "its collector speaks protocol %u (tstop: %u) or lays records out differently; "
		           "nothing it sends is recorded (use tstop and libtstop-inject.so from one build)",
		           h.version, PROTO_VERSION);
		return false;
	}
	if (h.pid != p->pid) {
		p->refused = true;
		drain_note(d, p->pid, "its collector claims pid %u; nothing it sends is recorded", h.pid);
		return false;
	}
	char cmd[PROTO_STRING_MAX];
	size_t clen = blen - sizeof(h);
	if (clen > sizeof(cmd))
		clen = sizeof(cmd);
	memcpy(cmd, body + sizeof(h), clen);
	struct trace_process proc = drain_process_of(d, p->pid, p->ppid);
	proc.ppid = h.ppid;
	proc.command = drain_intern(d, cmd, clen);
	if (h.start > 0 && (!proc.start || h.start < proc.start))
		proc.start = h.start;
	drain_put_process(d, &proc);
	p->hello = true;
	return true;
}

/* STRING id: bytes. */
static bool drain_string(struct capture_drain *d, struct capture_proc *p, uint32_t cid, const uint8_t *body,
                         uint32_t blen)
{
	char buf[PROTO_STRING_MAX];
	if (!map_id_ok(p, cid) || blen > sizeof(buf))
		return false;
	memcpy(buf, body, blen);
	map_set(p, MAP_STRING, cid, drain_intern(d, buf, blen));
	return true;
}

/* TRACK id: struct trace_track_info, in the ring's process. */
static bool drain_track(struct capture_drain *d, struct capture_proc *p, uint32_t cid, const uint8_t *body,
                        uint32_t blen)
{
	struct trace_track_info t;
	if (!map_id_ok(p, cid) || blen != sizeof(t))
		return false;
	memcpy(&t, body, sizeof(t));
	if (!map_get(p, MAP_STRING, t.name, &t.name))
		return false;
	t.pid = p->pid;
	uint32_t before = trace_session_track_count(d->s);
	uint32_t id = trace_session_add_track(d->s, &t);
	if (id == 0)
		return false;
	if (id >= before) {
		const struct trace_track_info *info = trace_session_track_info(d->s, id);
		DRAIN_EMIT(d, k->ops->track(k, id, info, &ke));
	}
	map_set(p, MAP_TRACK, cid, id);
	return true;
}

/* LAUNCH id: struct trace_launch. */
static bool drain_launch(struct capture_drain *d, struct capture_proc *p, uint32_t cid, const uint8_t *body,
                         uint32_t blen)
{
	struct trace_launch l;
	if (!map_id_ok(p, cid) || blen != sizeof(l))
		return false;
	memcpy(&l, body, sizeof(l));
	uint32_t before = trace_session_launch_count(d->s);
	uint32_t id = trace_session_add_launch(d->s, &l);
	if (id >= before)
		DRAIN_EMIT(d, k->ops->launch(k, id, trace_session_launch(d->s, id), &ke));
	map_set(p, MAP_LAUNCH, cid, id);
	return true;
}

/* NVTX_ATTR id: struct trace_nvtx_attr, domain a string id. */
static bool drain_nvtx_attr(struct capture_drain *d, struct capture_proc *p, uint32_t cid,
                            const uint8_t *body, uint32_t blen)
{
	struct trace_nvtx_attr a;
	if (!map_id_ok(p, cid) || blen != sizeof(a))
		return false;
	memcpy(&a, body, sizeof(a));
	if (a.payload_type > TRACE_NVTX_PAYLOAD_MAX || a.has_color > 1 ||
	    !map_get(p, MAP_STRING, a.domain, &a.domain))
		return false;
	/* Padding bytes come from the target: a clean copy interns by value. */
	struct trace_nvtx_attr clean = {.domain = a.domain,
	                                .category = a.category,
	                                .color = a.color,
	                                .has_color = a.has_color,
	                                .payload_type = a.payload_type,
	                                .payload = a.payload};
	uint32_t before = trace_session_nvtx_attr_count(d->s);
	uint32_t id = trace_session_add_nvtx_attr(d->s, &clean);
	if (id >= before)
		DRAIN_EMIT(d, k->ops->nvtx_attr(k, id, trace_session_nvtx_attr(d->s, id), &ke));
	map_set(p, MAP_ATTR, cid, id);
	return true;
}

/* MEMOP id: struct trace_memop (not interned: every one is new). */
static bool drain_memop(struct capture_drain *d, struct capture_proc *p, uint32_t cid, const uint8_t *body,
                        uint32_t blen)
{
	struct trace_memop m;
	if (!map_id_ok(p, cid) || blen != sizeof(m))
		return false;
	memcpy(&m, body, sizeof(m));
	if (m.mem_kind > TRACE_MEM_KIND_MAX)
		return false;
	struct trace_memop clean = {
	    .address = m.address, .bytes = m.bytes, .device = m.device, .mem_kind = m.mem_kind};
	uint32_t id = trace_session_add_memop(d->s, &clean);
	DRAIN_EMIT(d, k->ops->memop(k, id, trace_session_memop(d->s, id), &ke));
	map_set(p, MAP_MEMOP, cid, id);
	return true;
}

/* Fills the function, offset, file and line of frame `f` (module set) from
 * the module on disk, once per unique frame (capture/symbolize.h); what the
 * symbolizer cannot resolve keeps what the collector's dladdr found. */
static void drain_symbolize(struct capture_drain *d, struct capture_proc *p, uint64_t module_offset,
                            struct trace_frame *f)
{
	size_t len;
	const char *module = trace_session_string(d->s, f->module, &len);
	struct symbolize_result r;
	struct err note;
	int found = symbolize_frame(d->sym, module, len, module_offset, &r, &note);
	if (note.msg[0])
		drain_note(d, p->pid, "%s", note.msg);
	if (!found)
		return;
	if (r.function) {
		f->function = drain_intern(d, r.function, strlen(r.function));
		f->offset = r.offset;
	}
	if (r.file) {
		f->file = drain_intern(d, r.file, strlen(r.file));
		f->line = r.line;
	}
}

/* FRAME id: struct proto_frame; the collector's module and dladdr symbol,
 * then symbolized here (function, file:line) where the module allows. */
static bool drain_frame(struct capture_drain *d, struct capture_proc *p, uint32_t cid, const uint8_t *body,
                        uint32_t blen)
{
	struct proto_frame pf;
	if (!map_id_ok(p, cid) || blen != sizeof(pf))
		return false;
	memcpy(&pf, body, sizeof(pf));
	struct trace_frame f = {.pc = pf.pc, .offset = pf.function_offset};
	if (!map_get(p, MAP_STRING, pf.module, &f.module) ||
	    !map_get(p, MAP_STRING, pf.function, &f.function))
		return false;
	drain_symbolize(d, p, pf.module_offset, &f);
	uint32_t before = trace_session_frame_count(d->s);
	uint32_t id = trace_session_add_frame(d->s, &f);
	if (id >= before)
		DRAIN_EMIT(d, k->ops->frame(k, id, trace_session_frame(d->s, id), &ke));
	map_set(p, MAP_FRAME, cid, id);
	return true;
}

/* STACK id: frame ids, innermost first. */
static bool drain_stack(struct capture_drain *d, struct capture_proc *p, uint32_t cid, const uint8_t *body,
                        uint32_t blen)
{
	uint32_t frames[PROTO_STACK_MAX];
	if (!map_id_ok(p, cid) || blen == 0 || blen % sizeof(uint32_t) || blen > sizeof(frames))
		return false;
	uint32_t n = blen / (uint32_t)sizeof(uint32_t);
	memcpy(frames, body, blen);
	for (uint32_t i = 0; i < n; i++)
		if (frames[i] == 0 || !map_get(p, MAP_FRAME, frames[i], &frames[i]))
			return false;
	uint32_t before = trace_session_stack_count(d->s);
	uint32_t id = trace_session_add_stack(d->s, frames, n);
	if (id == 0)
		return false;
	if (id >= before) {
		uint32_t m;
		const uint32_t *fr = trace_session_stack(d->s, id, &m);
		DRAIN_EMIT(d, k->ops->stack(k, id, fr, m, &ke));
	}
	map_set(p, MAP_STACK, cid, id);
	return true;
}

/* DEVICE: struct trace_device, name a string id. */
static bool drain_device(struct capture_drain *d, struct capture_proc *p, const uint8_t *body, uint32_t blen)
{
	struct trace_device dev;
	if (blen != sizeof(dev))
		return false;
	memcpy(&dev, body, sizeof(dev));
	if ((dev.api != TRACE_DEVICE_CUDA && dev.api != TRACE_DEVICE_OPENCL) ||
	    !map_get(p, MAP_STRING, dev.name, &dev.name))
		return false;
	trace_session_set_device(d->s, &dev);
	DRAIN_EMIT(d, k->ops->device(k, &dev, &ke));
	return true;
}

/* Checks a copied event's kind-specific fields and remaps its ids. */
static bool drain_event_fields(const struct capture_proc *p, struct trace_event *ev)
{
	if (ev->kind < 1 || ev->kind > TRACE_KIND_MAX || ev->end < ev->start ||
	    (uint64_t)ev->end - (uint64_t)ev->start > (uint64_t)INT64_MAX)
		return false;
	if (ev->track == 0 || !map_get(p, MAP_TRACK, ev->track, &ev->track) ||
	    !map_get(p, MAP_STRING, ev->name, &ev->name))
		return false;
	switch (ev->kind) {
	case TRACE_KERNEL:
		return map_get(p, MAP_LAUNCH, ev->u.kernel.launch, &ev->u.kernel.launch);
	case TRACE_MEMCPY:
		return (ev->sub & 0x8000u) == 0 && trace_memcpy_copy_kind(ev) <= TRACE_COPY_KIND_MAX &&
		       trace_memcpy_src_kind(ev) <= TRACE_MEM_KIND_MAX &&
		       trace_memcpy_dst_kind(ev) <= TRACE_MEM_KIND_MAX;
	case TRACE_MEMSET:
		return ev->sub <= TRACE_MEM_KIND_MAX;
	case TRACE_SYNC:
		return ev->sub <= TRACE_SYNC_KIND_MAX;
	case TRACE_API:
		return map_get(p, MAP_STACK, ev->u.api.stack, &ev->u.api.stack);
	case TRACE_NVTX_RANGE:
	case TRACE_NVTX_MARK:
		return map_get(p, MAP_ATTR, ev->u.nvtx.attr, &ev->u.nvtx.attr) &&
		       map_get(p, MAP_STACK, ev->u.nvtx.stack, &ev->u.nvtx.stack);
	case TRACE_MEM_ALLOC:
	case TRACE_MEM_FREE:
		return map_get(p, MAP_MEMOP, ev->u.memop.id, &ev->u.memop.id);
	default: /* COUNTER, LOST: nothing to remap */
		return true;
	}
}

/* EVENT: struct trace_event with collector ids. */
static bool drain_event(struct capture_drain *d, struct capture_proc *p, const uint8_t *body, uint32_t blen)
{
	struct trace_event ev;
	if (blen != sizeof(ev))
		return false;
	memcpy(&ev, body, sizeof(ev));
	if (!drain_event_fields(p, &ev))
		return false;
	if (d->opts.keep_events && trace_session_append(d->s, &ev) < 0)
		return false;
	d->stats.events++;
	d->stats.events_by_kind[ev.kind]++;
	DRAIN_EMIT(d, k->ops->event(k, &ev, &ke));
	return true;
}

/* LOSS: a cumulative total of one collector source. */
static bool drain_loss(struct capture_drain *d, struct capture_proc *p, const uint8_t *body, uint32_t blen)
{
	struct proto_loss l;
	if (blen != sizeof(l))
		return false;
	memcpy(&l, body, sizeof(l));
	uint32_t source;
	if (l.source == 0 || !map_get(p, MAP_STRING, l.source, &source))
		return false;
	drain_put_loss(d, p->pid, source, l.count);
	return true;
}

/* LOG: a message for the user, passed on as bytes (capped). */
static bool drain_log(struct capture_drain *d, struct capture_proc *p, const uint8_t *body, uint32_t blen)
{
	struct proto_log lg;
	char msg[PROTO_STRING_MAX];
	if (blen < sizeof(lg))
		return false;
	memcpy(&lg, body, sizeof(lg));
	if (lg.level > PROTO_LOG_ERROR)
		return false;
	size_t len = blen - sizeof(lg);
	if (len > sizeof(msg))
		len = sizeof(msg);
	memcpy(msg, body + sizeof(lg), len);
	if (d->opts.log)
		d->opts.log(d->opts.log_arg, p->pid, (enum proto_log_level)lg.level, msg, len);
	return true;
}

/* GOODBYE: the process is exiting; its end time. */
static bool drain_goodbye(struct capture_drain *d, struct capture_proc *p, const uint8_t *body, uint32_t blen)
{
	struct proto_goodbye g;
	if (blen != sizeof(g))
		return false;
	memcpy(&g, body, sizeof(g));
	struct trace_process proc = drain_process_of(d, p->pid, p->ppid);
	if (g.time <= 0 || g.time < proc.start)
		return false;
	proc.end = g.time;
	drain_put_process(d, &proc);
	return true;
}

/* Handles one proto record of process `p`; false when it was dropped. */
static bool drain_record(struct capture_drain *d, struct capture_proc *p, const uint8_t *data, uint32_t len)
{
	struct proto_header h;
	if (len < sizeof(h) || p->refused)
		return false;
	memcpy(&h, data, sizeof(h));
	const uint8_t *body = data + sizeof(h);
	uint32_t blen = len - (uint32_t)sizeof(h);
	if (h.type == PROTO_HELLO)
		return drain_hello(d, p, body, blen);
	if (!p->hello)
		return false;
	switch (h.type) {
	case PROTO_STRING:
		return drain_string(d, p, h.id, body, blen);
	case PROTO_TRACK:
		return drain_track(d, p, h.id, body, blen);
	case PROTO_LAUNCH:
		return drain_launch(d, p, h.id, body, blen);
	case PROTO_NVTX_ATTR:
		return drain_nvtx_attr(d, p, h.id, body, blen);
	case PROTO_MEMOP:
		return drain_memop(d, p, h.id, body, blen);
	case PROTO_FRAME:
		return drain_frame(d, p, h.id, body, blen);
	case PROTO_STACK:
		return drain_stack(d, p, h.id, body, blen);
	case PROTO_DEVICE:
		return drain_device(d, p, body, blen);
	case PROTO_EVENT:
		if (drain_event(d, p, body, blen))
			return true;
		d->stats.dropped_events++;
		p->invalid++;
		return false;
	case PROTO_LOSS:
		return drain_loss(d, p, body, blen);
	case PROTO_LOG:
		return drain_log(d, p, body, blen);
	case PROTO_GOODBYE:
		return drain_goodbye(d, p, body, blen);
	default:
		return false;
	}
}

/* The drain and process a ring_read callback works for. */
struct drain_reader {
	struct capture_drain *d;
	struct capture_proc *p;
};

/* ring_read callback: handles one record, counting it. */
static int drain_reader_record(void *arg, const void *data, uint32_t len)
{
	struct drain_reader *rd = arg;
	rd->p->records++;
	rd->d->stats.records++;
	if (!drain_record(rd->d, rd->p, data, len))
		rd->d->stats.dropped_records++;
	return 0;
}

/* Records the ring's drop count, the events dropped here and the torn
 * records skipped as losses when they changed. */
static void drain_update_losses(struct capture_drain *d, struct capture_proc *p)
{
	uint64_t records, bytes;
	ring_drops(p->ring, &records, &bytes);
	if (records > p->ring_dropped) {
		p->ring_dropped = records;
		drain_put_loss(d, p->pid, drain_intern(d, "ring", 4), records);
	}
	if (p->invalid != p->invalid_recorded) {
		p->invalid_recorded = p->invalid;
		drain_put_loss(d, p->pid, drain_intern(d, "invalid", 7), p->invalid);
	}
	struct ring_stats st;
	ring_get_stats(p->ring, &st);
	if (st.torn_records != p->torn_recorded) {
		p->torn_recorded = st.torn_records;
		drain_put_loss(d, p->pid, drain_intern(d, "torn", 4), st.torn_records);
	}
}

/* The monotonic clock in nanoseconds (drain time). */
static int64_t drain_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Whether process `pid` is stopped (a stop signal, a terminal's job
 * control, a debugger), from the state field of /proc/PID/stat; false when
 * that cannot be read. Its threads cannot commit what they were writing. */
static bool drain_proc_stopped(uint32_t pid)
{
	char path[48], buf[512];
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold any byte, so take the last ')'. */
	const char *rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && (rp[2] == 'T' || rp[2] == 't');
}

/* Called when `p`'s ring has nothing more to read now: decides whether the
 * record at its head is torn (drain.h: torn records) and skips it if so.
 * `gone`: the process has gone, skip without waiting. Returns true when a
 * record was skipped (or damage was skipped), so that reading goes on. */
static bool drain_skip_torn(struct capture_drain *d, struct capture_proc *p, bool gone)
{
	if (ring_head_state(p->ring) != RING_HEAD_PENDING) {
		p->stall_seen = 0;
		return false;
	}
	if (!gone) {
		struct ring_stats st;
		ring_get_stats(p->ring, &st);
		int64_t now = drain_now_ns();
		/* Still the record being timed, or one reserved before the timing
		 * started (pending at least as long). */
		bool timed =
		    p->stall_seen && (st.consumer_pos == p->stall_pos || st.consumer_pos < p->stall_res);
		if (!timed) {
			p->stall_seen = now;
			p->stall_age = 0;
			p->stall_pos = st.consumer_pos;
			p->stall_res = st.reserve_pos;
			return false;
		}
		int64_t dt = now - p->stall_seen;
		p->stall_age += dt < 0 ? 0 : dt > CAPTURE_TORN_TICK ? CAPTURE_TORN_TICK : dt;
		p->stall_seen = now;
		if (p->stall_age < d->torn_ns)
			return false;
		if (drain_proc_stopped(p->pid)) {
			p->stall_age = 0;
			return false;
		}
	}
	struct err e = {{0}};
	int rc = ring_skip_torn(p->ring, &e);
	if (rc < 0) {
		d->stats.ring_errors++;
		if (ring_head_state(p->ring) == RING_HEAD_BROKEN)
			return false;
		drain_note(d, p->pid, "damaged records in its ring were skipped: %s", e.msg);
		return true;
	}
	if (rc == 0)
		return false;
	d->stats.torn_records++;
	if (!p->torn_noted) {
		p->torn_noted = true;
		drain_note(d, p->pid,
		           "a record was left half-written (a thread stopped while writing it): skipped, "
		           "counted as a lost event of source \"torn\", and the records after it read");
	}
	return true;
}

/* Reads up to `budget` records of `p` in at most `calls` ring_read calls,
 * skipping torn records (`gone`: the process has gone); returns the records
 * read. */
static uint64_t drain_read(struct capture_drain *d, struct capture_proc *p, size_t budget, unsigned calls,
                           bool gone)
{
	struct drain_reader rd = {d, p};
	uint64_t start = p->records;
	for (unsigned c = 0; c < calls; c++) {
		uint64_t done = p->records - start;
		if (done >= budget)
			break;
		size_t want = budget - done < CAPTURE_READ_CHUNK ? budget - done : CAPTURE_READ_CHUNK;
		struct err e = {{0}};
		long n = ring_read(p->ring, want, drain_reader_record, &rd, &e);
		if (n < 0) {
			d->stats.ring_errors++;
			if (ring_head_state(p->ring) == RING_HEAD_BROKEN) {
				if (!p->broken_noted)
					drain_note(
					    d, p->pid,
					    "its ring is damaged beyond repair; capture of it stopped: %s",
					    e.msg);
				p->broken_noted = true;
				break;
			}
			drain_note(d, p->pid, "damaged records in its ring were skipped: %s", e.msg);
			continue;
		}
		if (n == 0) {
			if (drain_skip_torn(d, p, gone))
				continue;
			break;
		}
	}
	drain_update_losses(d, p);
	return p->records - start;
}

/* Removes `p` from the attached list and frees it (the ring is closed). */
static void drain_release(struct capture_drain *d, struct capture_proc *p)
{
	for (size_t i = 0; i < d->nprocs; i++) {
		if (d->procs[i] == p) {
			d->procs[i] = d->procs[--d->nprocs];
			break;
		}
	}
	ring_close(p->ring);
	for (int m = 0; m < MAP_COUNT; m++)
		free(p->maps[m].v);
	free(p);
}

/* --- public API ----------------------------------------------------------------------- */

/* Creates a drain over session `s`; the caller frees it with capture_drain_delete. */
struct capture_drain *capture_drain_new(struct trace_session *s, const struct capture_drain_options *opts)
{
	struct capture_drain *d = xcalloc(1, sizeof(*d));
	d->s = s;
	d->strings_sent = 1; /* the empty string, id 0, is never sent */
	d->sym = symbolize_new();
	if (opts)
		d->opts = *opts;
	d->torn_ns = (int64_t)(d->opts.torn_ms ? d->opts.torn_ms : CAPTURE_DRAIN_TORN_MS) * 1000000;
	return d;
}

/* Closes every ring still attached and frees the drain. */
void capture_drain_delete(struct capture_drain *d)
{
	if (!d)
		return;
	while (d->nprocs)
		drain_release(d, d->procs[d->nprocs - 1]);
	free(d->procs);
	symbolize_delete(d->sym);
	free(d);
}

/* Sends everything session `s` holds to sink index `i` (a sink joining
 * late), definitions first. */
static void drain_replay(struct capture_drain *d, size_t i)
{
	const struct trace_session *s = d->s;
	size_t lo = i, hi = i + 1;
	for (uint32_t id = 1; id < d->strings_sent; id++) {
		size_t len;
		const char *str = trace_session_string(s, id, &len);
		DRAIN_EMIT_RANGE(d, lo, hi, k->ops->string(k, id, str, len, &ke));
	}
	for (uint32_t id = 1; id < trace_session_frame_count(s); id++)
		DRAIN_EMIT_RANGE(d, lo, hi, k->ops->frame(k, id, trace_session_frame(s, id), &ke));
	for (uint32_t id = 1; id < trace_session_stack_count(s); id++) {
		uint32_t n;
		const uint32_t *fr = trace_session_stack(s, id, &n);
		DRAIN_EMIT_RANGE(d, lo, hi, k->ops->stack(k, id, fr, n, &ke));
	}
	for (uint32_t id = 1; id < trace_session_track_count(s); id++)
		DRAIN_EMIT_RANGE(d, lo, hi, k->ops->track(k, id, trace_session_track_info(s, id), &ke));
	for (uint32_t id = 1; id < trace_session_launch_count(s); id++)
		DRAIN_EMIT_RANGE(d, lo, hi, k->ops->launch(k, id, trace_session_launch(s, id), &ke));
	for (uint32_t id = 1; id < trace_session_nvtx_attr_count(s); id++)
		DRAIN_EMIT_RANGE(d, lo, hi, k->ops->nvtx_attr(k, id, trace_session_nvtx_attr(s, id), &ke));
	for (uint32_t id = 1; id < trace_session_memop_count(s); id++)
		DRAIN_EMIT_RANGE(d, lo, hi, k->ops->memop(k, id, trace_session_memop(s, id), &ke));
	for (size_t j = 0; j < trace_session_meta_count(s); j++) {
		const char *key, *value;
		trace_session_meta_at(s, j, &key, &value);
		DRAIN_EMIT_RANGE(d, lo, hi, k->ops->meta(k, key, value, &ke));
	}
	for (size_t j = 0; j < trace_session_process_count(s); j++)
		DRAIN_EMIT_RANGE(d, lo, hi, k->ops->process(k, trace_session_process(s, j), &ke));
	for (size_t j = 0; j < trace_session_device_count(s); j++)
		DRAIN_EMIT_RANGE(d, lo, hi, k->ops->device(k, trace_session_device(s, j), &ke));
	for (size_t j = 0; j < trace_session_loss_count(s); j++)
		DRAIN_EMIT_RANGE(d, lo, hi, k->ops->loss(k, trace_session_loss(s, j), &ke));
	for (uint32_t id = 1; id < trace_session_track_count(s); id++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, id, &n);
		for (size_t j = 0; j < n; j++)
			DRAIN_EMIT_RANGE(d, lo, hi, k->ops->event(k, &ev[j], &ke));
	}
}

/* Adds sink `k` (borrowed) and replays the session to it. */
int capture_drain_add_sink(struct capture_drain *d, struct capture_sink *k, struct err *e)
{
	if (d->nsinks >= CAPTURE_DRAIN_MAX_SINKS)
		return err_fmt(e, "capture: at most %d sinks", CAPTURE_DRAIN_MAX_SINKS);
	drain_sync_strings(d); /* the sinks there first: then every sink has had the same */
	size_t i = d->nsinks++;
	d->sinks[i] = k;
	d->sink_dead[i] = false;
	drain_replay(d, i);
	if (d->sink_dead[i])
		return err_fmt(e, "%s", d->sink_error[i]);
	return 0;
}

/* Sets metadata `key` everywhere. */
void capture_drain_meta(struct capture_drain *d, const char *key, const char *value)
{
	trace_session_set_meta(d->s, key, value);
	DRAIN_EMIT(d, k->ops->meta(k, key, value, &ke));
}

/* Stores the launched program's process record everywhere. */
void capture_drain_set_process(struct capture_drain *d, const struct trace_process *p)
{
	drain_put_process(d, p);
}

/* Takes ring `r` of process `pid` and starts draining it. */
struct capture_proc *capture_drain_attach(struct capture_drain *d, uint32_t pid, uint32_t ppid,
                                          struct ring *r)
{
	struct capture_proc *p = xcalloc(1, sizeof(*p));
	p->ring = r;
	p->pid = pid;
	p->ppid = ppid;
	d->procs = xgrow(d->procs, &d->procs_cap, d->nprocs + 1, sizeof(*d->procs));
	d->procs[d->nprocs++] = p;
	d->stats.processes++;
	/* The launched program is already there, running; any other record
	 * of this pid is an earlier process whose pid was reused. */
	const struct trace_process *old = trace_session_find_process(d->s, pid);
	if (!old || old->state != TRACE_PROC_RUNNING) {
		struct trace_process proc = {.pid = pid, .ppid = ppid, .state = TRACE_PROC_RUNNING};
		drain_put_process(d, &proc);
	}
	return p;
}

/* Reads every attached ring, `budget` records at most each. */
uint64_t capture_drain_poll(struct capture_drain *d, size_t budget)
{
	uint64_t n = 0;
	unsigned calls = (unsigned)(budget / CAPTURE_READ_CHUNK < 64 ? budget / CAPTURE_READ_CHUNK + 4 : 68);
	for (size_t i = 0; i < d->nprocs; i++)
		n += drain_read(d, d->procs[i], budget, calls, false);
	return n;
}

/* Reads the rest of a ring whose process is gone: every committed record,
 * skipping torn ones; records left half-written with nothing committed
 * behind them end it. */
static void drain_read_rest(struct capture_drain *d, struct capture_proc *p)
{
	drain_read(d, p, SIZE_MAX, CAPTURE_CLOSE_READS, true);
	if (ring_head_state(p->ring) == RING_HEAD_PENDING) {
		struct ring_stats st;
		ring_get_stats(p->ring, &st);
		d->stats.stalled_rings++;
		drain_note(
		    d, p->pid,
		    "records were left half-written at the end of its ring (threads died while writing "
		    "them); %llu bytes could not be read",
		    (unsigned long long)(st.reserve_pos - st.consumer_pos));
	}
}

/* The process's socket closed: drain, release, record how it ended. */
void capture_drain_close(struct capture_drain *d, struct capture_proc *p, int64_t now, bool have_status,
                         int wait_status)
{
	drain_read_rest(d, p);
	struct trace_process proc = drain_process_of(d, p->pid, p->ppid);
	if (proc.state != TRACE_PROC_EXITED && proc.state != TRACE_PROC_SIGNALED) {
		if (have_status && WIFEXITED(wait_status)) {
			proc.state = TRACE_PROC_EXITED;
			proc.status = WEXITSTATUS(wait_status);
		} else if (have_status && WIFSIGNALED(wait_status)) {
			proc.state = TRACE_PROC_SIGNALED;
			proc.status = WTERMSIG(wait_status);
		} else {
			proc.state = TRACE_PROC_ENDED;
			proc.status = 0;
		}
	}
	if (!proc.end)
		proc.end = now;
	drain_put_process(d, &proc);
	drain_release(d, p);
}

/* The launched program ended with waitpid status `wait_status`. */
void capture_drain_process_exit(struct capture_drain *d, uint32_t pid, int64_t end, int wait_status)
{
	struct trace_process proc = drain_process_of(d, pid, 0);
	if (WIFEXITED(wait_status)) {
		proc.state = TRACE_PROC_EXITED;
		proc.status = WEXITSTATUS(wait_status);
	} else if (WIFSIGNALED(wait_status)) {
		proc.state = TRACE_PROC_SIGNALED;
		proc.status = WTERMSIG(wait_status);
	} else {
		return;
	}
	if (!proc.end)
		proc.end = end;
	drain_put_process(d, &proc);
}

/* Capture stops; process `p` runs on without it. */
void capture_drain_detach(struct capture_drain *d, struct capture_proc *p)
{
	drain_read(d, p, SIZE_MAX, CAPTURE_CLOSE_READS, false);
	ring_consumer_detach(p->ring);
	struct trace_process proc = drain_process_of(d, p->pid, p->ppid);
	if (proc.state == TRACE_PROC_RUNNING) {
		proc.state = TRACE_PROC_DETACHED;
		proc.end = 0;
		drain_put_process(d, &proc);
	}
	drain_release(d, p);
}

/* Number of attached rings. */
size_t capture_drain_attached(const struct capture_drain *d)
{
	return d->nprocs;
}

/* The i-th attached process. */
struct capture_proc *capture_drain_proc(const struct capture_drain *d, size_t i)
{
	return i < d->nprocs ? d->procs[i] : NULL;
}

/* Flushes every live sink. */
int capture_drain_flush(struct capture_drain *d, struct err *e)
{
	DRAIN_EMIT(d, k->ops->flush(k, &ke));
	if (d->failed)
		return err_fmt(e, "%s", d->error);
	return 0;
}

/* The first sink failure or NULL. */
const char *capture_drain_error(const struct capture_drain *d)
{
	return d->failed ? d->error : NULL;
}

/* The failure of sink `k`, or NULL while it works (or is not one of ours). */
const char *capture_drain_sink_error(const struct capture_drain *d, const struct capture_sink *k)
{
	for (size_t i = 0; i < d->nsinks; i++)
		if (d->sinks[i] == k)
			return d->sink_dead[i] ? d->sink_error[i] : NULL;
	return NULL;
}

/* The counters. */
const struct capture_drain_stats *capture_drain_stats(const struct capture_drain *d)
{
	return &d->stats;
}
