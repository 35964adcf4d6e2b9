/*
 * sbt_read.c - the SBT v1 reader (format: docs/sbt-format.md, API: sbt.h).
 *
 * The reader maps the file (input that cannot be mapped, such as a pipe, is
 * read into memory up to a cap, once its first 16 bytes have passed the
 * header checks) and walks its chunks in order, decoding each into the
 * session. Nothing in the file is trusted:
 *   1. A chunk header is used only when its magic and CRC match, so a length
 *      is never believed before it has been checked; when a header is bad,
 *      the reader scans forward byte by byte for the next good one and
 *      reports the bytes it passed over.
 *   2. A payload is used only when its CRC matches; a zstd payload only when
 *      its frame states a content size within SBT_MAX_PAYLOAD and inflates
 *      to exactly that size. One function, sbt_payload_get(), makes these
 *      checks for every chunk, the footer index included.
 *   3. Every varint, count and length is checked against the bytes left
 *      before it is used; nothing is allocated from a count read in the file
 *      (buffers grow with data actually decoded), and every loop advances
 *      through the input, so it ends.
 *   4. Definitions carry the file's ids; arrays map them to the session's
 *      ids (duplicates in a file intern to one session id). An id must
 *      increase within its table and may run ahead of the definitions seen
 *      only by as many bytes as were lost to damage, which bounds the arrays
 *      by the size of the file.
 *   5. A definition chunk is applied record by record after its record
 *      framing has been checked whole; an events chunk is decoded whole
 *      into a scratch array first. Either way a chunk whose structure is
 *      broken changes nothing in the session.
 * Records that refer to ids the file never defined are dropped and counted.
 */
#include "store/sbt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "store/sbt_codec.h"
#include "util/varint.h"
#include "util/xalloc.h"

/* Largest decompressed payload accepted. Fuzzing builds lower it so that a
 * few kilobytes of zstd frames cannot inflate into gigabytes of session
 * (legitimate but beyond a fuzzer's memory and time limits). */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define SBT_READ_MAX_RAW (1u << 20)
#else
#define SBT_READ_MAX_RAW SBT_MAX_PAYLOAD
#endif

/* Map value of a file id that is not (or not validly) defined. */
#define SBT_UNDEFINED UINT32_MAX

/* File ids of one table to session ids. */
struct sbt_idmap {
	uint32_t *ids;   /* ids[file id] = session id or SBT_UNDEFINED */
	size_t len, cap; /* ids[0 .. len) are initialized */
	uint64_t last;   /* largest file id defined so far */
	uint64_t count;  /* definition records of this table met so far */
};

/* A chunk header that passed its checks. */
struct sbt_chunk {
	uint64_t off; /* offset of the header in the file */
	uint32_t len; /* stored payload bytes */
	uint8_t type, flags;
};

/* One footer index entry. */
struct sbt_ientry {
	uint64_t offset, events;
	int64_t min_start, max_end;
	uint8_t type;
};

struct sbt_reader {
	struct trace_session *s;
	struct sbt_read_report *rep;
	const uint8_t *file;
	size_t len;
	uint64_t lost_bytes; /* bytes of skipped chunks and unreadable ranges */
	struct sbt_idmap maps[SBT_TABLE_COUNT];
	ZSTD_DCtx *dctx;
	uint8_t *zbuf; /* decompressed payload of the current chunk */
	size_t zcap;
	uint32_t *frames; /* stack record scratch */
	size_t frames_cap;
	struct trace_event *evs; /* events chunk scratch */
	size_t evs_cap, nevs;
	int64_t ch_min, ch_max; /* time range of the last events chunk decoded */
	uint64_t ch_events;
	/* footer index */
	bool has_trailer;
	uint64_t idx_off;
	bool idx_active; /* entries are being compared with the chunks */
	const uint8_t *idx_p, *idx_end;
	uint64_t idx_left;
	uint8_t *idx_buf; /* the index payload when it was compressed */
	size_t idx_cap;
};

static const char *const sbt_chunk_names[SBT_CHUNK_TYPE_MAX + 1] = {
    "unknown", "strings", "stacks", "topology", "attributes", "metadata", "events", "losses", "index",
};

/* Name of chunk type `type` for messages. */
static const char *sbt_chunk_name(unsigned type)
{
	return type <= SBT_CHUNK_TYPE_MAX ? sbt_chunk_names[type] : "unknown";
}

/* Compares a stored CRC with the CRC of `n` bytes. Fuzzing builds accept
 * any value so that mutated inputs reach the decoders. */
static inline bool sbt_crc_ok(uint32_t want, const void *p, size_t n)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	(void)want;
	(void)p;
	(void)n;
	return true;
#else
	return crc32c(0, p, n) == want;
#endif
}

/* Records the first problem met, for the report; later ones only count. */
__attribute__((format(printf, 2, 3))) static void sbt_problem(struct sbt_reader *r, const char *fmt, ...)
{
	if (r->rep->first_problem[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->rep->first_problem, sizeof(r->rep->first_problem), fmt, ap);
	va_end(ap);
}

/* --- file ids ------------------------------------------------------------ */

/* Checks that file id `fid` may be defined next in table `t` (docs, "Ids")
 * and makes room for it in the map, undefined until sbt_define(). Returns
 * NULL, or why the record must be dropped. */
static const char *sbt_claim(struct sbt_reader *r, enum sbt_table t, uint64_t fid)
{
	struct sbt_idmap *m = &r->maps[t];
	m->count++;
	if (fid == 0 || fid <= m->last)
		return "id out of order";
	if (fid > m->count + r->lost_bytes || fid >= SBT_UNDEFINED)
		return "id beyond the definitions in the file";
	m->last = fid;
	if (fid >= m->len) {
		m->ids = xgrow(m->ids, &m->cap, (size_t)fid + 1, sizeof(uint32_t));
		memset(m->ids + m->len, 0xff, ((size_t)fid + 1 - m->len) * sizeof(uint32_t));
		m->len = (size_t)fid + 1;
	}
	return NULL;
}

/* Maps claimed file id `fid` of table `t` to session id `sid`. */
static inline void sbt_define(struct sbt_reader *r, enum sbt_table t, uint64_t fid, uint32_t sid)
{
	r->maps[t].ids[fid] = sid;
}

/* Session id of file id `fid` (0 stays 0, "none"). False when undefined. */
static inline bool sbt_remap(const struct sbt_idmap *m, uint64_t fid, uint32_t *out)
{
	if (fid == 0) {
		*out = 0;
		return true;
	}
	if (fid >= m->len || m->ids[fid] == SBT_UNDEFINED)
		return false;
	*out = m->ids[fid];
	return true;
}

/* --- record fields --------------------------------------------------------- */

/* A cursor over one record body. A read past the end or of an out-of-range
 * value clears `ok` and yields 0; callers check `ok` once at the end. */
struct sbt_cur {
	const uint8_t *p, *end;
	bool ok;
};

/* Reads a varint. */
static uint64_t cur_u64(struct sbt_cur *c)
{
	uint64_t v;
	if (!varint_get(&c->p, c->end, &v)) {
		c->ok = false;
		return 0;
	}
	return v;
}

/* Reads a varint that must not exceed `max`. */
static uint64_t cur_max(struct sbt_cur *c, uint64_t max)
{
	uint64_t v = cur_u64(c);
	if (v > max) {
		c->ok = false;
		return 0;
	}
	return v;
}

/* Reads a varint32. */
static uint32_t cur_u32(struct sbt_cur *c)
{
	return (uint32_t)cur_max(c, UINT32_MAX);
}

/* Reads a varint8. */
static uint8_t cur_u8(struct sbt_cur *c)
{
	return (uint8_t)cur_max(c, UINT8_MAX);
}

/* Reads an svarint. */
static int64_t cur_s64(struct sbt_cur *c)
{
	return varint_zigzag_decode(cur_u64(c));
}

/* Reads an svarint that must fit in int32. */
static int32_t cur_s32(struct sbt_cur *c)
{
	int64_t v = cur_s64(c);
	if (v < INT32_MIN || v > INT32_MAX) {
		c->ok = false;
		return 0;
	}
	return (int32_t)v;
}

/* --- definition records ---------------------------------------------------- */

static const char *const sbt_malformed = "malformed record";
static const char *const sbt_undefined = "refers to an undefined id";

/* Remaps string id `fid` into *out; false when undefined. */
static inline bool sbt_str(const struct sbt_reader *r, uint64_t fid, uint32_t *out)
{
	return sbt_remap(&r->maps[SBT_TABLE_STRING], fid, out);
}

/* Applies a STRINGS record. Returns NULL or why it was dropped. */
static const char *sbt_rec_strings(struct sbt_reader *r, unsigned tag, struct sbt_cur *c)
{
	if (tag != SBT_REC_STRING)
		return "unknown record";
	uint64_t fid = cur_u64(c);
	if (!c->ok)
		return sbt_malformed;
	const char *why = sbt_claim(r, SBT_TABLE_STRING, fid);
	if (why)
		return why;
	sbt_define(r, SBT_TABLE_STRING, fid,
	           trace_session_intern(r->s, (const char *)c->p, (size_t)(c->end - c->p)));
	return NULL;
}

/* Applies a STACKS record (frame or stack). */
static const char *sbt_rec_stacks(struct sbt_reader *r, unsigned tag, struct sbt_cur *c)
{
	if (tag == SBT_REC_FRAME) {
		uint64_t fid = cur_u64(c);
		struct trace_frame f = {0};
		uint64_t function, module, file;
		f.pc = cur_u64(c);
		f.offset = cur_u64(c);
		function = cur_u64(c);
		module = cur_u64(c);
		file = cur_u64(c);
		f.line = cur_u32(c);
		if (!c->ok)
			return sbt_malformed;
		const char *why = sbt_claim(r, SBT_TABLE_FRAME, fid);
		if (why)
			return why;
		if (!sbt_str(r, function, &f.function) || !sbt_str(r, module, &f.module) ||
		    !sbt_str(r, file, &f.file))
			return sbt_undefined;
		sbt_define(r, SBT_TABLE_FRAME, fid, trace_session_add_frame(r->s, &f));
		return NULL;
	}
	if (tag == SBT_REC_STACK) {
		uint64_t fid = cur_u64(c);
		uint64_t n = cur_u64(c);
		if (!c->ok || n > (uint64_t)(c->end - c->p))
			return sbt_malformed;
		r->frames = xgrow(r->frames, &r->frames_cap, (size_t)n, sizeof(uint32_t));
		bool defined = true;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t frame = cur_u64(c);
			if (frame == 0 || !sbt_remap(&r->maps[SBT_TABLE_FRAME], frame, &r->frames[i]))
				defined = false;
		}
		if (!c->ok)
			return sbt_malformed;
		const char *why = sbt_claim(r, SBT_TABLE_STACK, fid);
		if (why)
			return why;
		if (!defined || n == 0)
			return sbt_undefined;
		uint32_t sid = trace_session_add_stack(r->s, r->frames, (uint32_t)n);
		if (sid == 0)
			return sbt_undefined;
		sbt_define(r, SBT_TABLE_STACK, fid, sid);
		return NULL;
	}
	return "unknown record";
}

/* Applies a TOPOLOGY record (track, process or device). */
static const char *sbt_rec_topology(struct sbt_reader *r, unsigned tag, struct sbt_cur *c)
{
	if (tag == SBT_REC_TRACK) {
		uint64_t fid = cur_u64(c);
		struct trace_track_info t = {0};
		t.kind = cur_u8(c);
		t.pid = cur_u32(c);
		t.tid = cur_u32(c);
		t.device = cur_u32(c);
		t.context = cur_u32(c);
		t.stream = cur_u32(c);
		uint64_t name = cur_u64(c);
		if (!c->ok)
			return sbt_malformed;
		const char *why = sbt_claim(r, SBT_TABLE_TRACK, fid);
		if (why)
			return why;
		if (!sbt_str(r, name, &t.name))
			return sbt_undefined;
		uint32_t sid = trace_session_add_track(r->s, &t);
		if (sid == 0)
			return "invalid track kind";
		sbt_define(r, SBT_TABLE_TRACK, fid, sid);
		return NULL;
	}
	if (tag == SBT_REC_PROCESS) {
		struct trace_process p = {0};
		p.pid = cur_u32(c);
		p.ppid = cur_u32(c);
		uint64_t command = cur_u64(c);
		p.start = cur_s64(c);
		p.end = cur_s64(c);
		p.state = cur_u8(c);
		p.status = cur_s32(c);
		if (!c->ok)
			return sbt_malformed;
		if (!sbt_str(r, command, &p.command))
			return sbt_undefined;
		trace_session_set_process(r->s, &p);
		return NULL;
	}
	if (tag == SBT_REC_DEVICE) {
		struct trace_device d = {0};
		d.id = cur_u32(c);
		d.api = cur_u8(c);
		uint64_t name = cur_u64(c);
		if (!c->ok || c->end - c->p < (ptrdiff_t)sizeof(d.uuid))
			return sbt_malformed;
		memcpy(d.uuid, c->p, sizeof(d.uuid));
		c->p += sizeof(d.uuid);
		d.cc_major = cur_u32(c);
		d.cc_minor = cur_u32(c);
		d.sm_count = cur_u32(c);
		d.global_memory = cur_u64(c);
		d.warp_size = cur_u32(c);
		d.max_threads_per_block = cur_u32(c);
		d.max_threads_per_sm = cur_u32(c);
		d.max_blocks_per_sm = cur_u32(c);
		d.regs_per_block = cur_u32(c);
		d.regs_per_sm = cur_u32(c);
		d.smem_per_block = cur_u32(c);
		d.smem_per_sm = cur_u32(c);
		d.core_clock_khz = cur_u32(c);
		d.memory_clock_khz = cur_u32(c);
		d.memory_bus_width = cur_u32(c);
		if (!c->ok)
			return sbt_malformed;
		if (!sbt_str(r, name, &d.name))
			return sbt_undefined;
		trace_session_set_device(r->s, &d);
		return NULL;
	}
	return "unknown record";
}

/* Applies an ATTRS record (launch configuration, NVTX attributes, memory
 * operation). */
static const char *sbt_rec_attrs(struct sbt_reader *r, unsigned tag, struct sbt_cur *c)
{
	if (tag == SBT_REC_LAUNCH) {
		uint64_t fid = cur_u64(c);
		struct trace_launch l;
		memset(&l, 0, sizeof(l));
		for (int i = 0; i < 3; i++)
			l.grid[i] = cur_u32(c);
		for (int i = 0; i < 3; i++)
			l.block[i] = cur_u32(c);
		l.registers = cur_u32(c);
		l.static_smem = cur_u32(c);
		l.dynamic_smem = cur_u32(c);
		for (int i = 0; i < 3; i++)
			l.cluster[i] = cur_u32(c);
		if (!c->ok)
			return sbt_malformed;
		const char *why = sbt_claim(r, SBT_TABLE_LAUNCH, fid);
		if (why)
			return why;
		sbt_define(r, SBT_TABLE_LAUNCH, fid, trace_session_add_launch(r->s, &l));
		return NULL;
	}
	if (tag == SBT_REC_NVTX_ATTR) {
		uint64_t fid = cur_u64(c);
		struct trace_nvtx_attr a = {0};
		uint64_t domain = cur_u64(c);
		a.category = cur_u32(c);
		a.color = cur_u32(c);
		a.has_color = cur_u8(c);
		a.payload_type = cur_u8(c);
		a.payload = cur_u64(c);
		if (!c->ok)
			return sbt_malformed;
		const char *why = sbt_claim(r, SBT_TABLE_NVTX_ATTR, fid);
		if (why)
			return why;
		if (!sbt_str(r, domain, &a.domain))
			return sbt_undefined;
		sbt_define(r, SBT_TABLE_NVTX_ATTR, fid, trace_session_add_nvtx_attr(r->s, &a));
		return NULL;
	}
	if (tag == SBT_REC_MEMOP) {
		uint64_t fid = cur_u64(c);
		struct trace_memop m = {0};
		m.address = cur_u64(c);
		m.bytes = cur_u64(c);
		m.device = cur_u32(c);
		m.mem_kind = cur_u8(c);
		if (!c->ok)
			return sbt_malformed;
		const char *why = sbt_claim(r, SBT_TABLE_MEMOP, fid);
		if (why)
			return why;
		sbt_define(r, SBT_TABLE_MEMOP, fid, trace_session_add_memop(r->s, &m));
		return NULL;
	}
	return "unknown record";
}

/* Applies a META record. */
static const char *sbt_rec_meta(struct sbt_reader *r, unsigned tag, struct sbt_cur *c)
{
	if (tag != SBT_REC_META)
		return "unknown record";
	uint64_t klen = cur_u64(c);
	if (!c->ok || klen > (uint64_t)(c->end - c->p))
		return sbt_malformed;
	const uint8_t *key = c->p, *value = c->p + klen;
	size_t vlen = (size_t)(c->end - value);
	if (memchr(key, 0, (size_t)klen) || memchr(value, 0, vlen))
		return "metadata holds a NUL byte";
	char *k = xmemdup0(key, (size_t)klen), *v = xmemdup0(value, vlen);
	trace_session_set_meta(r->s, k, v);
	free(k);
	free(v);
	return NULL;
}

/* Applies a LOSS record. */
static const char *sbt_rec_loss(struct sbt_reader *r, unsigned tag, struct sbt_cur *c)
{
	if (tag != SBT_REC_LOSS)
		return "unknown record";
	uint32_t pid = cur_u32(c);
	uint64_t source = cur_u64(c);
	uint64_t count = cur_u64(c);
	if (!c->ok)
		return sbt_malformed;
	uint32_t sid;
	if (!sbt_str(r, source, &sid))
		return sbt_undefined;
	trace_session_set_loss(r->s, pid, sid, count);
	return NULL;
}

/* Decodes a definition chunk's payload: checks the record framing of the
 * whole payload, then applies each record. False (nothing applied) when
 * the framing is broken. */
static bool sbt_decode_defs(struct sbt_reader *r, const struct sbt_chunk *ch, const uint8_t *p,
                            const uint8_t *end)
{
	for (const uint8_t *q = p; q < end;) {
		uint64_t tag, len;
		if (!varint_get(&q, end, &tag) || !varint_get(&q, end, &len) || len > (uint64_t)(end - q))
			return false;
		q += len;
	}
	while (p < end) {
		uint64_t tag = 0, len = 0;
		varint_get(&p, end, &tag);
		varint_get(&p, end, &len);
		struct sbt_cur c = {p, p + len, true};
		p += len;
		unsigned t = tag > UINT8_MAX ? 0 : (unsigned)tag;
		const char *why;
		switch (ch->type) {
		case SBT_CHUNK_STRINGS:
			why = sbt_rec_strings(r, t, &c);
			break;
		case SBT_CHUNK_STACKS:
			why = sbt_rec_stacks(r, t, &c);
			break;
		case SBT_CHUNK_TOPOLOGY:
			why = sbt_rec_topology(r, t, &c);
			break;
		case SBT_CHUNK_ATTRS:
			why = sbt_rec_attrs(r, t, &c);
			break;
		case SBT_CHUNK_META:
			why = sbt_rec_meta(r, t, &c);
			break;
		default:
			why = sbt_rec_loss(r, t, &c);
			break;
		}
		if (why) {
			r->rep->records_dropped++;
			sbt_problem(r, "%s record (tag %llu) in the chunk at offset %llu dropped: %s",
			            sbt_chunk_name(ch->type), (unsigned long long)tag,
			            (unsigned long long)ch->off, why);
		}
	}
	return true;
}

/* --- events ---------------------------------------------------------------- */

/* Decodes an events chunk's payload into r->evs, then appends the events
 * whose ids are all defined and whose duration fits in int64 (the model's
 * rule, event.h) to the session; the others are dropped and counted. False
 * (nothing appended) when the payload is malformed. */
static bool sbt_decode_events(struct sbt_reader *r, const struct sbt_chunk *ch, const uint8_t *p,
                              const uint8_t *end)
{
	int64_t base;
	uint64_t count;
	if (!varint_get_signed(&p, end, &base) || !varint_get(&p, end, &count))
		return false;
	if (count > (uint64_t)(end - p) / SBT_EVENT_MIN_BYTES)
		return false;

	const struct sbt_idmap *strings = &r->maps[SBT_TABLE_STRING], *tracks = &r->maps[SBT_TABLE_TRACK];
	const struct sbt_idmap *stacks = &r->maps[SBT_TABLE_STACK];
	uint64_t dropped = 0, too_long = 0;
	int64_t prev = base, mn = INT64_MAX, mx = INT64_MIN;
	uint32_t prev_corr = 0;
	r->nevs = 0;
	for (uint64_t i = 0; i < count; i++) {
		if (end - p < SBT_EVENT_MIN_BYTES)
			return false;
		unsigned kind = p[0], pr = p[1];
		p += 2;
		if (kind == 0 || kind > TRACE_KIND_MAX || (pr & SBT_EV_RESERVED) ||
		    ((pr & SBT_EV_U1) && !sbt_kind_has_u1(kind)))
			return false;
		uint64_t dz, dur, name, track, u0 = 0, u1 = 0;
		if (!varint_get(&p, end, &dz) || !varint_get(&p, end, &dur) || !varint_get(&p, end, &name) ||
		    !varint_get(&p, end, &track))
			return false;
		if (r->nevs == r->evs_cap)
			r->evs = xgrow(r->evs, &r->evs_cap, r->nevs + 1, sizeof(*r->evs));
		struct trace_event *ev = &r->evs[r->nevs];
		ev->u.bytes = 0;
		ev->correlation = 0;
		ev->flags = 0;
		ev->sub = 0;
		ev->kind = (uint8_t)kind;
		ev->start = sbt_u2i((uint64_t)prev + (uint64_t)varint_zigzag_decode(dz));
		/* INT64_MAX - start, exact in unsigned arithmetic for any start */
		if (dur > (uint64_t)INT64_MAX - (uint64_t)ev->start)
			return false;
		ev->end = sbt_u2i((uint64_t)ev->start + dur);
		prev = ev->start;
		if (pr & SBT_EV_CORR) {
			int64_t d;
			if (!varint_get_signed(&p, end, &d) || d < -(int64_t)UINT32_MAX ||
			    d > (int64_t)UINT32_MAX)
				return false;
			int64_t c = (int64_t)prev_corr + d;
			if (c <= 0 || c > (int64_t)UINT32_MAX)
				return false;
			prev_corr = (uint32_t)c;
			ev->correlation = prev_corr;
		}
		if (pr & SBT_EV_FLAGS) {
			if (p >= end)
				return false;
			ev->flags = *p++;
		}
		if (pr & SBT_EV_SUB) {
			uint64_t sub;
			if (!varint_get(&p, end, &sub) || sub > UINT16_MAX)
				return false;
			ev->sub = (uint16_t)sub;
		}
		if (pr & SBT_EV_U0) {
			if (kind == TRACE_COUNTER && (ev->flags & TRACE_FLAG_COUNTER_DOUBLE)) {
				if (end - p < 8)
					return false;
				u0 = sbt_get_le64(p);
				p += 8;
			} else if (!varint_get(&p, end, &u0)) {
				return false;
			}
		}
		if ((pr & SBT_EV_U1) && !varint_get(&p, end, &u1))
			return false;
		if (ev->start < mn)
			mn = ev->start;
		if (ev->end > mx)
			mx = ev->end;

		bool ok =
		    sbt_remap(strings, name, &ev->name) && sbt_remap(tracks, track, &ev->track) && ev->track;
		switch (kind) {
		case TRACE_KERNEL:
			ok = ok && sbt_remap(&r->maps[SBT_TABLE_LAUNCH], u0, &ev->u.kernel.launch);
			break;
		case TRACE_SYNC:
			if (u0 > UINT32_MAX)
				return false;
			ev->u.sync.event = (uint32_t)u0;
			break;
		case TRACE_API:
			if (u0 > UINT32_MAX)
				return false;
			ev->u.api.cbid = (uint32_t)u0;
			ok = ok && sbt_remap(stacks, u1, &ev->u.api.stack);
			break;
		case TRACE_NVTX_RANGE:
		case TRACE_NVTX_MARK:
			ok = ok && sbt_remap(&r->maps[SBT_TABLE_NVTX_ATTR], u0, &ev->u.nvtx.attr) &&
			     sbt_remap(stacks, u1, &ev->u.nvtx.stack);
			break;
		case TRACE_MEM_ALLOC:
		case TRACE_MEM_FREE:
			ok = ok && sbt_remap(&r->maps[SBT_TABLE_MEMOP], u0, &ev->u.memop.id);
			break;
		case TRACE_COUNTER:
			if (ev->flags & TRACE_FLAG_COUNTER_DOUBLE)
				ev->u.bytes = u0;
			else
				ev->u.counter = varint_zigzag_decode(u0);
			break;
		default: /* MEMCPY, MEMSET, LOST */
			ev->u.bytes = u0;
			break;
		}
		if (dur > (uint64_t)INT64_MAX)
			too_long++; /* well-formed, but end - start does not fit in int64 (event.h) */
		else if (ok)
			r->nevs++;
		else
			dropped++;
	}
	if (p != end)
		return false;

	for (size_t i = 0; i < r->nevs; i++) {
		if (trace_session_append(r->s, &r->evs[i]) == 0)
			r->rep->events++;
		else
			dropped++;
	}
	if (dropped) {
		r->rep->records_dropped += dropped;
		sbt_problem(r, "%llu events in the chunk at offset %llu dropped: they refer to undefined ids",
		            (unsigned long long)dropped, (unsigned long long)ch->off);
	}
	if (too_long) {
		r->rep->records_dropped += too_long;
		sbt_problem(
		    r, "%llu events in the chunk at offset %llu dropped: their duration exceeds INT64_MAX ns",
		    (unsigned long long)too_long, (unsigned long long)ch->off);
	}
	r->ch_events = count;
	r->ch_min = count ? mn : 0;
	r->ch_max = count ? mx : 0;
	return true;
}

/* --- chunks ---------------------------------------------------------------- */

/* Reads the chunk header at `off` when one that passes its magic and CRC
 * checks is there, with its whole chunk before `end`. */
static bool sbt_header_at(const struct sbt_reader *r, uint64_t off, uint64_t end, struct sbt_chunk *c)
{
	if (off > end || end - off < SBT_CHUNK_HEADER_BYTES)
		return false;
	const uint8_t *h = r->file + off;
	if (sbt_get_le32(h) != SBT_CHUNK_MAGIC || !sbt_crc_ok(sbt_get_le32(h + 12), h, 12))
		return false;
	c->off = off;
	c->type = h[4];
	c->flags = h[5];
	c->len = sbt_get_le32(h + 8);
	return true;
}

/* True when chunk `c` ends at or before `end`. */
static bool sbt_chunk_fits(const struct sbt_chunk *c, uint64_t end)
{
	return end - c->off >= SBT_CHUNK_OVERHEAD && c->len <= end - c->off - SBT_CHUNK_OVERHEAD;
}

/* Offset of the first good chunk header at or after `from` whose chunk
 * ends before `end`, or `end` when there is none. O(end - from). */
static uint64_t sbt_resync(const struct sbt_reader *r, uint64_t from, uint64_t end)
{
	const uint8_t first = (uint8_t)SBT_CHUNK_MAGIC;
	uint64_t off = from;
	while (off < end && end - off >= SBT_CHUNK_OVERHEAD) {
		const uint8_t *hit =
		    memchr(r->file + off, first, (size_t)(end - off - SBT_CHUNK_OVERHEAD + 1));
		if (!hit)
			break;
		off = (uint64_t)(hit - r->file);
		struct sbt_chunk c;
		if (sbt_header_at(r, off, end, &c) && sbt_chunk_fits(&c, end))
			return off;
		off++;
	}
	return end;
}

/* Inflates a zstd payload of `n` bytes into *buf (grown as needed, owned
 * by the reader). Returns the decompressed size in *out_len, or NULL with
 * the reason. */
static const char *sbt_inflate(struct sbt_reader *r, const uint8_t *src, size_t n, uint8_t **buf, size_t *cap,
                               size_t *out_len)
{
	unsigned long long size = ZSTD_getFrameContentSize(src, n);
	if (size == ZSTD_CONTENTSIZE_ERROR)
		return "not a zstd frame";
	if (size == ZSTD_CONTENTSIZE_UNKNOWN)
		return "zstd frame without a content size";
	if (size > SBT_READ_MAX_RAW)
		return "decompressed size over the 64 MiB limit";
	if (!r->dctx) {
		r->dctx = ZSTD_createDCtx();
		if (!r->dctx)
			return "cannot create a zstd context";
	}
	*buf = xgrow(*buf, cap, size ? (size_t)size : 1, 1);
	size_t got = ZSTD_decompressDCtx(r->dctx, *buf, (size_t)size, src, n);
	if (ZSTD_isError(got) || got != size)
		return "corrupt zstd data";
	*out_len = (size_t)size;
	return NULL;
}

/* A chunk's raw payload, once it passed its checks. */
struct sbt_payload {
	const uint8_t *p; /* in the file, or in the inflate buffer given */
	size_t len;
	bool compressed; /* it was inflated */
	bool unknown;    /* when refused: for an unknown type or flag (a newer minor version) */
};

/* Checks whole chunk `c` in the order docs/sbt-format.md 10.4 gives (stored
 * length cap, payload CRC, known type and flags) and inflates a compressed
 * payload into *buf (grown as needed, owned by the reader). Returns NULL
 * with the raw payload in *out, or the reason the chunk is unusable (with
 * out->unknown set when it is an unknown type or flag). The reader's only
 * path from a chunk to its payload. */
static const char *sbt_payload_get(struct sbt_reader *r, const struct sbt_chunk *c, uint8_t **buf,
                                   size_t *cap, struct sbt_payload *out)
{
	const uint8_t *stored = r->file + c->off + SBT_CHUNK_HEADER_BYTES;
	memset(out, 0, sizeof(*out));
	if (c->len > SBT_MAX_PAYLOAD)
		return "payload over the 64 MiB limit";
	if (!sbt_crc_ok(sbt_get_le32(stored + c->len), stored, c->len))
		return "checksum mismatch";
	if (c->type == 0 || c->type > SBT_CHUNK_TYPE_MAX || (c->flags & ~SBT_CHUNK_FLAGS_KNOWN)) {
		out->unknown = true;
		return "unknown chunk type or flags (written by a newer tstop)";
	}
	if (c->flags & SBT_CHUNK_FLAG_ZSTD) {
		const char *why = sbt_inflate(r, stored, c->len, buf, cap, &out->len);
		if (why)
			return why;
		out->p = *buf;
		out->compressed = true;
		return NULL;
	}
	out->p = stored;
	out->len = c->len;
	return NULL;
}

/* Counts chunk `c` as skipped for `why` (its bytes count as lost). */
static void sbt_skip(struct sbt_reader *r, const struct sbt_chunk *c, const char *why)
{
	r->rep->chunks_skipped++;
	r->lost_bytes += c->len;
	sbt_problem(r, "%s chunk at offset %llu skipped: %s", sbt_chunk_name(c->type),
	            (unsigned long long)c->off, why);
}

/* Reads the next footer index entry and compares its position and type
 * with chunk `c`; stops the comparison at the first disagreement. */
static bool sbt_index_next(struct sbt_reader *r, const struct sbt_chunk *c, struct sbt_ientry *ie)
{
	if (!r->idx_active)
		return false;
	const uint8_t *p = r->idx_p;
	if (r->idx_left == 0 || !varint_get(&p, r->idx_end, &ie->offset) || p >= r->idx_end)
		goto bad;
	ie->type = *p++;
	if (!varint_get(&p, r->idx_end, &ie->events) || !varint_get_signed(&p, r->idx_end, &ie->min_start) ||
	    !varint_get_signed(&p, r->idx_end, &ie->max_end))
		goto bad;
	r->idx_p = p;
	r->idx_left--;
	if (ie->offset != c->off || ie->type != c->type)
		goto bad;
	return true;
bad:
	r->idx_active = false;
	sbt_problem(r, "the footer index disagrees with the chunk at offset %llu",
	            (unsigned long long)c->off);
	return false;
}

/* Checks, decodes and applies one whole chunk. */
static void sbt_read_chunk(struct sbt_reader *r, const struct sbt_chunk *c)
{
	r->rep->chunks++;
	if (r->has_trailer && c->off == r->idx_off)
		return; /* the footer index, read before the walk */
	struct sbt_ientry ie = {0};
	bool check = sbt_index_next(r, c, &ie);

	struct sbt_payload pl;
	const char *why = sbt_payload_get(r, c, &r->zbuf, &r->zcap, &pl);
	if (why) {
		if (pl.unknown)
			r->rep->chunks_unknown++;
		sbt_skip(r, c, why);
		return;
	}
	if (pl.compressed)
		r->rep->chunks_compressed++;
	const uint8_t *raw = pl.p;
	size_t raw_len = pl.len;
	bool ok = true;
	switch (c->type) {
	case SBT_CHUNK_EVENTS:
		ok = sbt_decode_events(r, c, raw, raw + raw_len);
		if (ok && check &&
		    (ie.events != r->ch_events || ie.min_start != r->ch_min || ie.max_end != r->ch_max)) {
			r->idx_active = false;
			sbt_problem(r, "the footer index disagrees with the events chunk at offset %llu",
			            (unsigned long long)c->off);
		}
		break;
	case SBT_CHUNK_INDEX:
		break; /* an index that the trailer does not point to: not used */
	default:
		ok = sbt_decode_defs(r, c, raw, raw + raw_len);
		break;
	}
	if (!ok)
		sbt_skip(r, c, "malformed contents");
}

/* Finds the trailer and the INDEX chunk it points to, and prepares the
 * index entries for comparison with the chunks. Sets r->has_trailer when
 * the file ends with a valid trailer (it is whole). */
static void sbt_read_footer(struct sbt_reader *r)
{
	size_t len = r->len;
	if (len < SBT_HEADER_BYTES + SBT_CHUNK_OVERHEAD + SBT_TRAILER_BYTES ||
	    memcmp(r->file + len - 8, SBT_END_MAGIC, 8) != 0)
		return;
	uint64_t off = sbt_get_le64(r->file + len - SBT_TRAILER_BYTES);
	uint64_t end = len - SBT_TRAILER_BYTES;
	struct sbt_chunk c;
	if (off < SBT_HEADER_BYTES || !sbt_header_at(r, off, end, &c) || c.type != SBT_CHUNK_INDEX ||
	    !sbt_chunk_fits(&c, end) || off + SBT_CHUNK_OVERHEAD + c.len != end)
		return;
	r->has_trailer = true;
	r->idx_off = off;

	struct sbt_payload pl;
	const char *why = sbt_payload_get(r, &c, &r->idx_buf, &r->idx_cap, &pl);
	const uint8_t *p = NULL, *pend = NULL;
	uint64_t count = 0;
	if (!why) {
		p = pl.p;
		pend = pl.p + pl.len;
		if (!varint_get(&p, pend, &count) || count > pl.len / 5)
			why = "malformed contents";
	}
	if (why) {
		sbt_problem(r, "footer index at offset %llu not used: %s", (unsigned long long)off, why);
		return;
	}
	r->idx_p = p;
	r->idx_end = pend;
	r->idx_left = count;
	r->idx_active = true;
}

/* Walks the chunks from the end of the file header to the footer (or the
 * end of the file) and fills the report's integrity fields. */
static void sbt_walk(struct sbt_reader *r)
{
	uint64_t end = r->has_trailer ? r->len - SBT_TRAILER_BYTES : r->len;
	uint64_t off = SBT_HEADER_BYTES, stop = end;
	while (off < end) {
		struct sbt_chunk c;
		bool good = sbt_header_at(r, off, end, &c);
		if (good && sbt_chunk_fits(&c, end)) {
			sbt_read_chunk(r, &c);
			off += SBT_CHUNK_OVERHEAD + (uint64_t)c.len;
			continue;
		}
		/* The file was cut off in this chunk: its header is whole and
		 * good but its payload runs past the end, or the header itself
		 * is cut. Nothing after it can be read. */
		if (!r->has_trailer && (good || end - off < SBT_CHUNK_HEADER_BYTES)) {
			stop = off;
			break;
		}
		uint64_t next = sbt_resync(r, off + 1, end);
		r->rep->chunks_skipped++;
		r->rep->bytes_skipped += next - off;
		r->lost_bytes += next - off;
		sbt_problem(r, "bytes %llu to %llu hold no valid chunk header: skipped",
		            (unsigned long long)off, (unsigned long long)next);
		if (next == end) {
			stop = off;
			break;
		}
		off = next;
	}
	if (r->has_trailer) {
		r->rep->truncated = false;
		if (r->idx_active && r->idx_left == 0 && r->idx_p == r->idx_end)
			r->rep->has_index = true;
		else if (r->idx_active)
			sbt_problem(r, "the footer index lists %llu chunks the walk did not find",
			            (unsigned long long)r->idx_left);
	} else {
		r->rep->truncated = true;
		r->rep->truncated_at = stop;
	}
}

/* Frees what the reader owns (not the session). */
static void sbt_reader_done(struct sbt_reader *r)
{
	for (int t = 0; t < SBT_TABLE_COUNT; t++)
		free(r->maps[t].ids);
	ZSTD_freeDCtx(r->dctx);
	free(r->zbuf);
	free(r->frames);
	free(r->evs);
	free(r->idx_buf);
}

/* Checks the 8-byte magic. */
bool sbt_is_sbt(const void *head, size_t len)
{
	return len >= SBT_MAGIC_BYTES && memcmp(head, SBT_MAGIC, SBT_MAGIC_BYTES) == 0;
}

/* Checks the file header in the first `len` bytes of `file` (all of it
 * when shorter than the header) and records its version in `rep`. Returns
 * 0, or -1 with `e` filled (docs/sbt-format.md 10.1) when it is not an SBT
 * header of a major version this reader knows. */
static int sbt_check_header(const uint8_t *file, size_t len, struct sbt_read_report *rep, struct err *e)
{
	if (len == 0)
		return err_fmt(e, "empty file, not an SBT file");
	if (!sbt_is_sbt(file, len))
		return err_fmt(e, "not an SBT file");
	if (len < SBT_HEADER_BYTES)
		return err_fmt(e, "SBT file cut off inside its %d-byte header", SBT_HEADER_BYTES);
	rep->version_major = sbt_get_le16(file + 8);
	rep->version_minor = sbt_get_le16(file + 10);
	if (rep->version_major > SBT_VERSION_MAJOR)
		return err_fmt(e, "SBT version %u.%u is newer than this tstop understands (%d.x)",
		               rep->version_major, rep->version_minor, SBT_VERSION_MAJOR);
	if (rep->version_major < SBT_VERSION_MAJOR)
		return err_fmt(e, "SBT version %u.%u is not supported (this tstop reads %d.x)",
		               rep->version_major, rep->version_minor, SBT_VERSION_MAJOR);
	return 0;
}

/* Reads an SBT image in memory into `s` (the buffer stays the caller's):
 * header checks, footer, chunk walk, then trace_session_finish(). */
int sbt_load_buffer(const void *buf, size_t len, struct trace_session *s, struct sbt_read_report *rep,
                    struct err *e)
{
	struct sbt_read_report local;
	if (!rep)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	rep->file_bytes = len;
	if (sbt_check_header(buf, len, rep, e) < 0)
		return -1;

	struct sbt_reader r;
	memset(&r, 0, sizeof(r));
	r.s = s;
	r.rep = rep;
	r.file = buf;
	r.len = len;
	sbt_read_footer(&r);
	sbt_walk(&r);
	sbt_reader_done(&r);
	trace_session_finish(s);
	return 0;
}

/* Writes `bytes` for a message, in the largest binary unit that divides it
 * ("4 GiB", "96 KiB", "1000 bytes"). */
static void sbt_size_text(char *buf, size_t size, uint64_t bytes)
{
	static const char *const units[] = {"GiB", "MiB", "KiB"};
	for (int i = 0; i < 3; i++) {
		uint64_t unit = (uint64_t)1 << (10 * (3 - i));
		if (bytes && bytes % unit == 0) {
			snprintf(buf, size, "%llu %s", (unsigned long long)(bytes / unit), units[i]);
			return;
		}
	}
	snprintf(buf, size, "%llu bytes", (unsigned long long)bytes);
}

/* Reads up to `want` bytes from `fd` into `buf`, retrying short reads and
 * EINTR, stopping early only at end of input. Returns the number read, or
 * -1 with errno set. */
static ssize_t sbt_read_full(int fd, uint8_t *buf, size_t want)
{
	size_t got = 0;
	while (got < want) {
		ssize_t n = read(fd, buf + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Reads all of `fd` (not a mappable file) into a buffer that the caller
 * frees, after checking that its first bytes are an SBT header of a known
 * version (so that /dev/zero or a text stream is refused without reading
 * on). Refuses input longer than `max` bytes. Fills `e` (messages without
 * the name prefix) and returns -1 on failure. */
static int sbt_slurp(int fd, uint64_t max, uint8_t **out, size_t *out_len, struct sbt_read_report *rep,
                     struct err *e)
{
	uint8_t head[SBT_HEADER_BYTES];
	ssize_t n = sbt_read_full(fd, head, sizeof(head));
	if (n < 0)
		return err_errno(e, errno, "cannot read");
	if (sbt_check_header(head, (size_t)n, rep, e) < 0)
		return -1;

	size_t limit = max < SIZE_MAX ? (size_t)max : SIZE_MAX - 1; /* room for one byte more */
	size_t len = (size_t)n, cap = 65536;
	if (cap > limit + 1)
		cap = limit + 1;
	if (cap < len)
		cap = len;
	uint8_t *buf = xmalloc(cap);
	memcpy(buf, head, len);
	/* read up to limit + 1 bytes: the extra byte tells input over the limit
	 * from input of exactly the limit */
	while (len <= limit) {
		if (len == cap) {
			cap = cap > (limit + 1) / 2 ? limit + 1 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int errnum = errno;
			free(buf);
			return err_errno(e, errnum, "cannot read");
		}
		if (n == 0) {
			*out = buf;
			*out_len = len;
			return 0;
		}
		len += (size_t)n;
	}
	free(buf);
	char text[32];
	sbt_size_text(text, sizeof(text), max);
	return err_fmt(e,
	               "input larger than %s, the limit for a pipe or device (which is read into memory); "
	               "save it to a file first",
	               text);
}

/* Maps a regular file, or reads any other input with sbt_slurp(), and
 * loads it with sbt_load_buffer(); messages are prefixed with `name`. */
int sbt_load_fd(int fd, const char *name, uint64_t max_stream, struct trace_session *s,
                struct sbt_read_report *rep, struct err *e)
{
	struct sbt_read_report local;
	if (!rep)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_errno(e, errno, "%s: cannot stat", name);
	if (S_ISDIR(st.st_mode))
		return err_fmt(e, "%s: is a directory, not an SBT file", name);

	void *map = NULL;
	uint8_t *copy = NULL;
	size_t len = 0;
	if (S_ISREG(st.st_mode) && st.st_size > 0) {
		if ((uint64_t)st.st_size > SIZE_MAX)
			return err_fmt(e, "%s: file too large to map", name);
		len = (size_t)st.st_size;
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED)
			return err_errno(e, errno, "%s: cannot map", name);
		madvise(map, len, MADV_SEQUENTIAL);
	} else {
		/* pipes, terminals, devices, and regular files that report no
		 * size (procfs, sysfs) */
		struct err inner;
		if (sbt_slurp(fd, max_stream, &copy, &len, rep, &inner) < 0)
			return err_fmt(e, "%s: %s", name, inner.msg);
	}

	struct err inner;
	const void *data = map ? (const void *)map : (const void *)copy;
	int rc = sbt_load_buffer(data, len, s, rep, &inner);
	if (rc < 0)
		err_fmt(e, "%s: %s", name, inner.msg);
	if (map)
		munmap(map, len);
	free(copy);
	return rc;
}

/* Opens `path` and loads it with sbt_load_fd(), capping non-regular input
 * at SBT_MAX_STREAM_BYTES or half the address-space limit, if lower. */
int sbt_load(const char *path, struct trace_session *s, struct sbt_read_report *rep, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, errno, "%s: cannot open", path);
	uint64_t max = SBT_MAX_STREAM_BYTES;
	struct rlimit rl;
	if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (uint64_t)rl.rlim_cur / 2 < max)
		max = (uint64_t)rl.rlim_cur / 2;
	int rc = sbt_load_fd(fd, path, max, s, rep, e);
	close(fd);
	return rc;
}
