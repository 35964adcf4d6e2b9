/*
 * report.c - building the `tstop stats` reports (see report.h).
 *
 * The five summary reports are trace/summary.h summaries with nsys's
 * columns; their rows are the summary rows, converted to cells on demand.
 * nvtx_sum, like nsys, keeps a row per range name and style: it merges a
 * summary of the push/pop ranges with one of the start/end ranges (the
 * summary's flags filter tells them apart). cuda_gpu_trace is a k-way merge of the stream
 * tracks (each already sorted by start) into one array of event pointers,
 * ordered by (start, end, track); cells are made from the event, its launch
 * configuration and its track when a row is read.
 */
#include "report/report.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/summary.h"
#include "util/xalloc.h"

#define F REPORT_FLOAT
#define I REPORT_INT
#define T REPORT_TEXT

/* The eight statistics columns of every duration summary, `count` naming
 * the third; the key column(s) follow them. */
#define DURATION_COLS(count)                                                                                 \
	{"Time (%)", F, 1}, {"Total Time (ns)", I, 0}, {count, I, 0}, {"Avg (ns)", F, 1},                    \
	    {"Med (ns)", F, 1}, {"Min (ns)", I, 0}, {"Max (ns)", I, 0},                                      \
	{                                                                                                    \
		"StdDev (ns)", F, 1                                                                          \
	}
enum { DURATION_NCOLS = 8 };

static const struct report_column report_kern_cols[] = {DURATION_COLS("Instances"), {"Name", T, 0}};
static const struct report_column report_api_cols[] = {DURATION_COLS("Num Calls"), {"Name", T, 0}};
static const struct report_column report_mem_time_cols[] = {DURATION_COLS("Count"), {"Operation", T, 0}};
static const struct report_column report_nvtx_cols[] = {
    DURATION_COLS("Instances"), {"Style", T, 0}, {"Range", T, 0}};

static const struct report_column report_mem_size_cols[] = {
    {"Total (MB)", F, 3}, {"Count", I, 0},    {"Avg (MB)", F, 3},    {"Med (MB)", F, 3},
    {"Min (MB)", F, 3},   {"Max (MB)", F, 3}, {"StdDev (MB)", F, 3}, {"Operation", T, 0},
};

/* Column positions of cuda_gpu_trace. */
enum {
	TR_START,
	TR_DURATION,
	TR_CORR,
	TR_GRDX,
	TR_GRDY,
	TR_GRDZ,
	TR_BLKX,
	TR_BLKY,
	TR_BLKZ,
	TR_REGS,
	TR_SSMEM,
	TR_DSMEM,
	TR_BYTES,
	TR_THROUGHPUT,
	TR_SRCKIND,
	TR_DSTKIND,
	TR_DEVICE,
	TR_CTX,
	TR_STRM,
	TR_NAME,
	TR_NCOLS,
};

static const struct report_column report_trace_cols[TR_NCOLS] = {
    [TR_START] = {"Start (ns)", I, 0},   [TR_DURATION] = {"Duration (ns)", I, 0},
    [TR_CORR] = {"CorrId", I, 0},        [TR_GRDX] = {"GrdX", I, 0},
    [TR_GRDY] = {"GrdY", I, 0},          [TR_GRDZ] = {"GrdZ", I, 0},
    [TR_BLKX] = {"BlkX", I, 0},          [TR_BLKY] = {"BlkY", I, 0},
    [TR_BLKZ] = {"BlkZ", I, 0},          [TR_REGS] = {"Reg/Trd", I, 0},
    [TR_SSMEM] = {"StcSMem (MB)", F, 3}, [TR_DSMEM] = {"DymSMem (MB)", F, 3},
    [TR_BYTES] = {"Bytes (MB)", F, 3},   [TR_THROUGHPUT] = {"Throughput (MBps)", F, 3},
    [TR_SRCKIND] = {"SrcMemKd", T, 0},   [TR_DSTKIND] = {"DstMemKd", T, 0},
    [TR_DEVICE] = {"Device", T, 0},      [TR_CTX] = {"Ctx", I, 0},
    [TR_STRM] = {"Strm", I, 0},          [TR_NAME] = {"Name", T, 0},
};

#undef DURATION_COLS
#undef F
#undef I
#undef T

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const struct report_def report_defs[REPORT_COUNT] = {
    [REPORT_GPU_KERN_SUM] = {"cuda_gpu_kern_sum", "CUDA GPU Kernel Summary", "CUDA kernel data",
                             report_kern_cols, NCOLS(report_kern_cols)},
    [REPORT_API_SUM] = {"cuda_api_sum", "CUDA API Summary", "host API data", report_api_cols,
                        NCOLS(report_api_cols)},
    [REPORT_GPU_MEM_TIME_SUM] = {"cuda_gpu_mem_time_sum", "CUDA GPU MemOps Summary (by Time)",
                                 "GPU memory operation data", report_mem_time_cols,
                                 NCOLS(report_mem_time_cols)},
    [REPORT_GPU_MEM_SIZE_SUM] = {"cuda_gpu_mem_size_sum", "CUDA GPU MemOps Summary (by Size)",
                                 "GPU memory operation data", report_mem_size_cols,
                                 NCOLS(report_mem_size_cols)},
    [REPORT_NVTX_SUM] = {"nvtx_sum", "NVTX Range Summary", "NVTX range data", report_nvtx_cols,
                         NCOLS(report_nvtx_cols)},
    [REPORT_GPU_TRACE] = {"cuda_gpu_trace", "CUDA GPU Trace", "CUDA GPU trace data", report_trace_cols,
                          TR_NCOLS},
};

/* A row of nvtx_sum: one range name in one style, as nsys keeps them. */
struct report_nvtx_row {
	struct trace_summary_row sum; /* percent is over both styles */
	const char *name;             /* the shown name, borrowed from the session */
	size_t len;
	bool startend; /* StartEnd, else PushPop */
};

struct report {
	const struct report_def *def;
	enum report_id id;
	struct trace_session *s;
	struct trace_summary sum;     /* the summary reports but nvtx_sum */
	struct report_nvtx_row *nvtx; /* nvtx_sum rows */
	size_t nnvtx;
	const struct trace_event **events; /* cuda_gpu_trace rows */
	size_t nevents;
	char **device_label; /* cuda_gpu_trace: "NAME (id)" per track id, or NULL */
	uint32_t ntracks;
};

/* The static definition of report id, or NULL out of range. */
const struct report_def *report_def(enum report_id id)
{
	return (unsigned)id < REPORT_COUNT ? &report_defs[id] : NULL;
}

/* The id of a report by full or short name, -1 if none. O(reports). */
int report_find(const char *name)
{
	for (int i = 0; i < REPORT_COUNT; i++) {
		const char *full = report_defs[i].name;
		if (!strcmp(name, full))
			return i;
		if (!strncmp(full, "cuda_", 5) && !strcmp(name, full + 5))
			return i;
	}
	return -1;
}

/* The summary spec of a summary report. */
static void report_spec(enum report_id id, struct trace_summary_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->key = TRACE_SUMMARY_BY_NAME;
	spec->value = TRACE_SUMMARY_DURATION;
	switch (id) {
	case REPORT_GPU_KERN_SUM:
		spec->kind_mask = 1u << TRACE_KERNEL;
		break;
	case REPORT_API_SUM:
		spec->kind_mask = 1u << TRACE_API;
		break;
	case REPORT_GPU_MEM_SIZE_SUM:
		spec->value = TRACE_SUMMARY_BYTES;
		/* fall through */
	case REPORT_GPU_MEM_TIME_SUM:
		spec->kind_mask = 1u << TRACE_MEMCPY | 1u << TRACE_MEMSET;
		spec->key = TRACE_SUMMARY_BY_MEMOP;
		break;
	default: /* nvtx_sum and cuda_gpu_trace are built otherwise */
		break;
	}
}

/* The shown (demangled) name of string `id` and its length, every byte of
 * it; borrowed from the session. */
static const char *report_shown_name(struct trace_session *s, uint32_t id, size_t *len)
{
	const char *raw = trace_session_string(s, id, len);
	const char *shown = trace_session_display_name(s, id);
	if (shown != raw)
		*len = strlen(shown);
	return shown;
}

/* qsort order of nvtx_sum: total descending, then name (bytes), then
 * PushPop before StartEnd. */
static int report_nvtx_cmp(const void *pa, const void *pb)
{
	const struct report_nvtx_row *a = pa, *b = pb;
	if (a->sum.total != b->sum.total)
		return a->sum.total > b->sum.total ? -1 : 1;
	int c = memcmp(a->name, b->name, a->len < b->len ? a->len : b->len);
	if (c)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return (int)a->startend - (int)b->startend;
}

/* Builds nvtx_sum: a summary of the push/pop ranges and one of the
 * start/end ranges, merged, Time (%) over the total of both. */
static void report_nvtx_build(struct report *r)
{
	struct trace_summary part[2];
	for (int style = 0; style < 2; style++) {
		struct trace_summary_spec spec;
		memset(&spec, 0, sizeof(spec));
		spec.kind_mask = 1u << TRACE_NVTX_RANGE;
		spec.key = TRACE_SUMMARY_BY_NAME;
		spec.value = TRACE_SUMMARY_DURATION;
		spec.flags_mask = TRACE_FLAG_NVTX_STARTEND;
		spec.flags_value = style ? TRACE_FLAG_NVTX_STARTEND : 0;
		trace_summary_build(r->s, &spec, &part[style]);
	}
	double grand = part[0].grand_total + part[1].grand_total;
	size_t n = part[0].n + part[1].n;
	r->nvtx = xcalloc(n ? n : 1, sizeof(*r->nvtx));
	for (int style = 0; style < 2; style++) {
		for (size_t i = 0; i < part[style].n; i++) {
			struct report_nvtx_row *row = &r->nvtx[r->nnvtx++];
			row->sum = part[style].rows[i];
			row->sum.percent = grand > 0 ? row->sum.total / grand * 100 : 0;
			row->name = report_shown_name(r->s, row->sum.key, &row->len);
			row->startend = style;
		}
		trace_summary_free(&part[style]);
	}
	qsort(r->nvtx, r->nnvtx, sizeof(*r->nvtx), report_nvtx_cmp);
}

/* Whether `ev` is a row of cuda_gpu_trace: finished GPU work. */
static bool report_trace_takes(const struct trace_event *ev)
{
	return (ev->kind == TRACE_KERNEL || ev->kind == TRACE_MEMCPY || ev->kind == TRACE_MEMSET) &&
	       !(ev->flags & TRACE_FLAG_OPEN);
}

/* A stream track's position in the merge. */
struct report_cursor {
	const struct trace_event *ev, *end;
	uint32_t track;
};

/* Whether cursor a's event comes before b's: (start, end, track). */
static bool report_cursor_before(const struct report_cursor *a, const struct report_cursor *b)
{
	if (a->ev->start != b->ev->start)
		return a->ev->start < b->ev->start;
	if (a->ev->end != b->ev->end)
		return a->ev->end < b->ev->end;
	return a->track < b->track;
}

/* Moves a cursor to its next row event (or to its end). */
static void report_cursor_skip(struct report_cursor *c)
{
	while (c->ev < c->end && !report_trace_takes(c->ev))
		c->ev++;
}

/* Restores the min-heap property below position i of heap[0 .. n-1]. */
static void report_heap_down(struct report_cursor *heap, size_t n, size_t i)
{
	for (;;) {
		size_t m = i, l = 2 * i + 1, rr = 2 * i + 2;
		if (l < n && report_cursor_before(&heap[l], &heap[m]))
			m = l;
		if (rr < n && report_cursor_before(&heap[rr], &heap[m]))
			m = rr;
		if (m == i)
			return;
		struct report_cursor tmp = heap[i];
		heap[i] = heap[m];
		heap[m] = tmp;
		i = m;
	}
}

/* The "NAME (id)" label of each stream track's device, as nsys writes it. */
static void report_device_labels(struct report *r)
{
	r->ntracks = trace_session_track_count(r->s);
	r->device_label = xcalloc(r->ntracks ? r->ntracks : 1, sizeof(*r->device_label));
	for (uint32_t t = 1; t < r->ntracks; t++) {
		const struct trace_track_info *ti = trace_session_track_info(r->s, t);
		if (!ti || ti->kind != TRACE_TRACK_STREAM)
			continue;
		const struct trace_device *d = trace_session_find_device(r->s, ti->device);
		const char *name = d ? trace_session_string(r->s, d->name, NULL) : "";
		size_t len = strlen(name) + 16;
		r->device_label[t] = xmalloc(len);
		if (*name)
			snprintf(r->device_label[t], len, "%s (%u)", name, ti->device);
		else
			snprintf(r->device_label[t], len, "Device %u", ti->device);
	}
}

/* Merges the GPU work of every stream track into r->events. */
static void report_trace_build(struct report *r)
{
	uint32_t ntracks = trace_session_track_count(r->s);
	struct report_cursor *heap = xcalloc(ntracks ? ntracks : 1, sizeof(*heap));
	size_t nheap = 0, total = 0;
	for (uint32_t t = 1; t < ntracks; t++) {
		const struct trace_track_info *ti = trace_session_track_info(r->s, t);
		if (!ti || ti->kind != TRACE_TRACK_STREAM)
			continue;
		size_t n;
		const struct trace_event *ev = trace_session_track_events(r->s, t, &n);
		for (size_t i = 0; i < n; i++)
			total += report_trace_takes(&ev[i]);
		struct report_cursor c = {ev, ev + n, t};
		report_cursor_skip(&c);
		if (c.ev < c.end)
			heap[nheap++] = c;
	}
	for (size_t i = nheap; i-- > 0;)
		report_heap_down(heap, nheap, i);
	r->events = xcalloc(total ? total : 1, sizeof(*r->events));
	while (nheap) {
		r->events[r->nevents++] = heap[0].ev++;
		report_cursor_skip(&heap[0]);
		if (heap[0].ev == heap[0].end)
			heap[0] = heap[--nheap];
		report_heap_down(heap, nheap, 0);
	}
	free(heap);
	report_device_labels(r);
}

/* Computes a report over s; the caller owns it (report_free), s must outlive it. */
struct report *report_build(struct trace_session *s, enum report_id id)
{
	struct report *r = xcalloc(1, sizeof(*r));
	r->def = &report_defs[id];
	r->id = id;
	r->s = s;
	if (id == REPORT_GPU_TRACE) {
		report_trace_build(r);
		return r;
	}
	if (id == REPORT_NVTX_SUM) {
		report_nvtx_build(r);
		return r;
	}
	struct trace_summary_spec spec;
	report_spec(id, &spec);
	trace_summary_build(s, &spec, &r->sum);
	return r;
}

/* Frees a report and everything it owns; NULL is ignored. */
void report_free(struct report *r)
{
	if (!r)
		return;
	trace_summary_free(&r->sum);
	free(r->nvtx);
	free(r->events);
	if (r->device_label)
		for (uint32_t t = 0; t < r->ntracks; t++)
			free(r->device_label[t]);
	free(r->device_label);
	free(r);
}

/* The definition of the report r (static storage). */
const struct report_def *report_get_def(const struct report *r)
{
	return r->def;
}

/* The number of rows of r. */
size_t report_row_count(const struct report *r)
{
	switch (r->id) {
	case REPORT_GPU_TRACE:
		return r->nevents;
	case REPORT_NVTX_SUM:
		return r->nnvtx;
	default:
		return r->sum.n;
	}
}

/* Cell constructors: an integer, a float, `len` bytes of text (borrowed),
 * a NUL-terminated text (borrowed). */
static void report_set_int(struct report_value *v, int64_t i)
{
	v->type = REPORT_INT;
	v->i = i;
}

static void report_set_float(struct report_value *v, double f)
{
	v->type = REPORT_FLOAT;
	v->f = f;
}

static void report_set_text(struct report_value *v, const char *s, size_t len)
{
	v->type = REPORT_TEXT;
	v->s = s;
	v->len = len;
}

static void report_set_cstr(struct report_value *v, const char *s)
{
	report_set_text(v, s, strlen(s));
}

/* The shown (demangled) name of string `id`, every byte of it. */
static void report_set_name(struct trace_session *s, struct report_value *v, uint32_t id)
{
	size_t len;
	const char *shown = report_shown_name(s, id, &len);
	report_set_text(v, shown, len);
}

/* A summary value in nanoseconds (total, min, max) as an integer cell:
 * rounded, clamped to [INT64_MIN, INT64_MAX] (a total can pass 2^63), NaN
 * as 0. */
static int64_t report_ns(double v)
{
	if (isnan(v))
		return 0;
	if (v >= 0x1p63)
		return INT64_MAX;
	if (v <= -0x1p63)
		return INT64_MIN;
	return (int64_t)llround(v);
}

/* The exact end - start of two session times, 0 when end < start. */
uint64_t report_span_ns(int64_t start, int64_t end)
{
	return end < start ? 0 : (uint64_t)end - (uint64_t)start;
}

/* An unsigned count or span as an integer cell, clamped to INT64_MAX. */
static int64_t report_u64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Fills the DURATION_NCOLS statistics cells of a duration summary row; the
 * key columns (name, operation, style) are left to the caller. */
static void report_duration_row(const struct trace_summary_row *row, struct report_value *v)
{
	report_set_float(&v[0], row->percent);
	report_set_int(&v[1], report_ns(row->total));
	report_set_int(&v[2], report_u64(row->count));
	report_set_float(&v[3], row->mean);
	report_set_float(&v[4], row->median);
	report_set_int(&v[5], report_ns(row->min));
	report_set_int(&v[6], report_ns(row->max));
	report_set_float(&v[7], row->stddev);
}

/* Fills a row of cuda_gpu_trace. */
static void report_trace_row(struct report *r, const struct trace_event *ev, struct report_value *v)
{
	report_set_int(&v[TR_START], ev->start);
	uint64_t dur = report_span_ns(ev->start, ev->end);
	report_set_int(&v[TR_DURATION], report_u64(dur));
	report_set_int(&v[TR_CORR], ev->correlation);
	if (ev->kind == TRACE_KERNEL) {
		const struct trace_launch *l = trace_session_launch(r->s, ev->u.kernel.launch);
		if (l) {
			for (int i = 0; i < 3; i++) {
				report_set_int(&v[TR_GRDX + i], l->grid[i]);
				report_set_int(&v[TR_BLKX + i], l->block[i]);
			}
			report_set_int(&v[TR_REGS], l->registers);
			report_set_float(&v[TR_SSMEM], l->static_smem / 1e6);
			report_set_float(&v[TR_DSMEM], l->dynamic_smem / 1e6);
		}
		report_set_name(r->s, &v[TR_NAME], ev->name);
	} else {
		double mb = (double)ev->u.bytes / 1e6;
		report_set_float(&v[TR_BYTES], mb);
		if (dur > 0)
			report_set_float(&v[TR_THROUGHPUT], mb / ((double)dur / 1e9));
		if (ev->kind == TRACE_MEMCPY) {
			report_set_cstr(&v[TR_SRCKIND], trace_mem_kind_name(trace_memcpy_src_kind(ev)));
			report_set_cstr(&v[TR_DSTKIND], trace_mem_kind_name(trace_memcpy_dst_kind(ev)));
		} else {
			report_set_cstr(&v[TR_DSTKIND], trace_mem_kind_name(ev->sub));
		}
		report_set_cstr(&v[TR_NAME], trace_summary_memop_name(trace_summary_memop_key(ev)));
	}
	const struct trace_track_info *ti = trace_session_track_info(r->s, ev->track);
	if (ti) {
		if (ev->track < r->ntracks && r->device_label[ev->track])
			report_set_cstr(&v[TR_DEVICE], r->device_label[ev->track]);
		report_set_int(&v[TR_CTX], ti->context);
		report_set_int(&v[TR_STRM], ti->stream);
	}
}

/* Fills vals (ncols cells) with row `row`; text cells borrow from the session or report. */
void report_row(struct report *r, size_t row, struct report_value *vals)
{
	memset(vals, 0, r->def->ncols * sizeof(*vals));
	if (r->id == REPORT_GPU_TRACE) {
		report_trace_row(r, r->events[row], vals);
		return;
	}
	if (r->id == REPORT_NVTX_SUM) {
		const struct report_nvtx_row *nr = &r->nvtx[row];
		report_duration_row(&nr->sum, vals);
		report_set_cstr(&vals[DURATION_NCOLS], nr->startend ? "StartEnd" : "PushPop");
		report_set_text(&vals[DURATION_NCOLS + 1], nr->name, nr->len);
		return;
	}
	const struct trace_summary_row *sr = &r->sum.rows[row];
	switch (r->id) {
	case REPORT_GPU_KERN_SUM:
	case REPORT_API_SUM:
		report_duration_row(sr, vals);
		report_set_name(r->s, &vals[DURATION_NCOLS], sr->key);
		break;
	case REPORT_GPU_MEM_TIME_SUM:
		report_duration_row(sr, vals);
		report_set_cstr(&vals[DURATION_NCOLS], trace_summary_memop_name(sr->key));
		break;
	default: /* REPORT_GPU_MEM_SIZE_SUM */
		report_set_float(&vals[0], sr->total / 1e6);
		report_set_int(&vals[1], report_u64(sr->count));
		report_set_float(&vals[2], sr->mean / 1e6);
		report_set_float(&vals[3], sr->median / 1e6);
		report_set_float(&vals[4], sr->min / 1e6);
		report_set_float(&vals[5], sr->max / 1e6);
		report_set_float(&vals[6], sr->stddev / 1e6);
		report_set_cstr(&vals[7], trace_summary_memop_name(sr->key));
		break;
	}
}
