/*
 * details.c - the details pane's text (details.h) and the correlation
 * index that links API calls and GPU work.
 */
#include "tui/details.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct tui_corr_entry {
	uint32_t id, pid;
	const struct trace_event *ev;
};

struct tui_corr {
	struct tui_corr_entry *api, *gpu;
	size_t napi, ngpu;
	const struct trace_event **gpu_ev; /* gpu[i].ev, for tui_corr_gpu's result */
};

uint32_t tui_event_pid(const struct trace_session *s, const struct trace_event *ev)
{
	const struct trace_track_info *ti = trace_session_track_info(s, ev->track);
	return ti ? ti->pid : 0;
}

/* Order by (id, pid, start). */
static int tui_corr_cmp(const void *pa, const void *pb)
{
	const struct tui_corr_entry *a = pa, *b = pb;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return (a->ev->start > b->ev->start) - (a->ev->start < b->ev->start);
}

static bool tui_is_gpu(unsigned kind)
{
	return kind == TRACE_KERNEL || kind == TRACE_MEMCPY || kind == TRACE_MEMSET || kind == TRACE_SYNC;
}

/* Two passes over the tracks: count, then fill; then sort both arrays. */
struct tui_corr *tui_corr_build(const struct trace_session *s)
{
	struct tui_corr *c = xcalloc(1, sizeof(*c));
	uint32_t nt = trace_session_track_count(s);
	for (int pass = 0; pass < 2; pass++) {
		if (pass) {
			c->api = xcalloc(c->napi + 1, sizeof(*c->api));
			c->gpu = xcalloc(c->ngpu + 1, sizeof(*c->gpu));
			c->napi = c->ngpu = 0;
		}
		for (uint32_t t = 1; t < nt; t++) {
			const struct trace_track_info *ti = trace_session_track_info(s, t);
			size_t n;
			const struct trace_event *ev = trace_session_track_events(s, t, &n);
			for (size_t i = 0; i < n; i++) {
				if (!ev[i].correlation)
					continue;
				bool api = ev[i].kind == TRACE_API;
				if (!api && !tui_is_gpu(ev[i].kind))
					continue;
				if (pass) {
					struct tui_corr_entry e = {ev[i].correlation, ti ? ti->pid : 0,
					                           &ev[i]};
					if (api)
						c->api[c->napi] = e;
					else
						c->gpu[c->ngpu] = e;
				}
				if (api)
					c->napi++;
				else
					c->ngpu++;
			}
		}
	}
	qsort(c->api, c->napi, sizeof(*c->api), tui_corr_cmp);
	qsort(c->gpu, c->ngpu, sizeof(*c->gpu), tui_corr_cmp);
	c->gpu_ev = xcalloc(c->ngpu + 1, sizeof(*c->gpu_ev));
	for (size_t i = 0; i < c->ngpu; i++)
		c->gpu_ev[i] = c->gpu[i].ev;
	return c;
}

void tui_corr_free(struct tui_corr *c)
{
	if (!c)
		return;
	free(c->api);
	free(c->gpu);
	free(c->gpu_ev);
	free(c);
}

/* Index of the first entry >= (id, pid) in a sorted array. */
static size_t tui_corr_lower(const struct tui_corr_entry *a, size_t n, uint32_t pid, uint32_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a[mid].id < id || (a[mid].id == id && a[mid].pid < pid))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct trace_event *tui_corr_api(const struct tui_corr *c, uint32_t pid, uint32_t id)
{
	size_t i = tui_corr_lower(c->api, c->napi, pid, id);
	return i < c->napi && c->api[i].id == id && c->api[i].pid == pid ? c->api[i].ev : NULL;
}

size_t tui_corr_gpu(const struct tui_corr *c, uint32_t pid, uint32_t id,
                    const struct trace_event *const **first)
{
	size_t i = tui_corr_lower(c->gpu, c->ngpu, pid, id), j = i;
	while (j < c->ngpu && c->gpu[j].id == id && c->gpu[j].pid == pid)
		j++;
	*first = c->gpu_ev + i;
	return j - i;
}

void tui_details_clear(struct tui_details *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->lines[i].text);
	d->n = 0;
}

void tui_details_free(struct tui_details *d)
{
	tui_details_clear(d);
	free(d->lines);
	memset(d, 0, sizeof(*d));
}

void tui_details_add(struct tui_details *d, const char *label, const char *text, size_t len)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 32;
		d->lines = xreallocarray(d->lines, d->cap, sizeof(*d->lines));
	}
	struct tui_detail_line *l = &d->lines[d->n++];
	l->label = label;
	l->text = xcalloc(len + 1, 1);
	memcpy(l->text, text, len);
	l->len = len;
}

/* Appends a formatted line. */
static void tui_details_addf(struct tui_details *d, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void tui_details_addf(struct tui_details *d, const char *label, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	tui_details_add(d, label, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Appends a line holding a session string, all its bytes. */
static void tui_details_string(struct tui_details *d, const char *label, const struct trace_session *s,
                               uint32_t id)
{
	size_t len;
	const char *p = trace_session_string(s, id, &len);
	tui_details_add(d, label, p, len);
}

/* A time with its unit. */
static const char *tui_t(double ns, char *buf, size_t cap)
{
	tui_format_value(ns, TUI_COL_TIME, buf, cap);
	return buf;
}

/* Describes the track an event is on. */
static void tui_details_track(struct tui_details *d, struct trace_session *s, uint32_t track)
{
	const struct trace_track_info *ti = trace_session_track_info(s, track);
	if (!ti) {
		tui_details_addf(d, "Track", "%" PRIu32 " (unknown)", track);
		return;
	}
	if (ti->kind == TRACE_TRACK_STREAM) {
		const struct trace_device *dev = trace_session_find_device(s, ti->device);
		tui_details_addf(d, "Stream",
		                 "%" PRIu32 "  context %" PRIu32 "  device %" PRIu32 "  pid %" PRIu32,
		                 ti->stream, ti->context, ti->device, ti->pid);
		if (dev && dev->name)
			tui_details_string(d, "Device", s, dev->name);
	} else if (ti->kind == TRACE_TRACK_THREAD) {
		tui_details_addf(d, "Thread", "%" PRIu32 "  pid %" PRIu32, ti->tid, ti->pid);
	} else {
		tui_details_addf(d, "Track", "%s  pid %" PRIu32, trace_track_kind_name(ti->kind), ti->pid);
	}
	if (ti->name)
		tui_details_string(d, "Track name", s, ti->name);
}

/* Appends the frames of stack `id`, innermost first. */
static void tui_details_stack(struct tui_details *d, const struct trace_session *s, uint32_t id)
{
	uint32_t n;
	const uint32_t *frames = trace_session_stack(s, id, &n);
	if (!frames || !n)
		return;
	tui_details_addf(d, "Call stack", "%" PRIu32 " frames, innermost first", n);
	for (uint32_t i = 0; i < n; i++) {
		const struct trace_frame *f = trace_session_frame(s, frames[i]);
		if (!f)
			continue;
		char buf[1024];
		size_t fl, ml, pl;
		const char *fn = f->function ? trace_session_string(s, f->function, &fl) : "??";
		const char *file = trace_session_string(s, f->file, &pl);
		const char *mod = trace_session_string(s, f->module, &ml);
		int w;
		if (f->file)
			w = snprintf(buf, sizeof(buf), "#%-2" PRIu32 " %s  %s:%" PRIu32 "  %s", i, fn, file,
			             f->line, mod);
		else
			w = snprintf(buf, sizeof(buf), "#%-2" PRIu32 " %s+0x%" PRIx64 "  %s", i, fn,
			             f->offset, mod);
		if (w < 0)
			w = 0;
		tui_details_add(d, "", buf, (size_t)w < sizeof(buf) ? (size_t)w : sizeof(buf) - 1);
	}
}

/* One line that names a linked event: kind, name, where, when, how long. */
static void tui_details_link(struct tui_details *d, const char *label, struct trace_session *s,
                             const struct trace_event *ev, int64_t t0)
{
	char st[32], du[32], buf[1024];
	const char *name = trace_session_display_name(s, ev->name);
	const struct trace_track_info *ti = trace_session_track_info(s, ev->track);
	int w = snprintf(buf, sizeof(buf), "%s %s  at %s for %s  (%s %" PRIu32 ")", trace_kind_name(ev->kind),
	                 name, tui_t((double)(ev->start - t0), st, sizeof(st)),
	                 tui_t((double)(ev->end - ev->start), du, sizeof(du)),
	                 ti && ti->kind == TRACE_TRACK_STREAM ? "stream" : "tid",
	                 ti ? (ti->kind == TRACE_TRACK_STREAM ? ti->stream : ti->tid) : 0);
	if (w < 0)
		w = 0;
	tui_details_add(d, label, buf, (size_t)w < sizeof(buf) ? (size_t)w : sizeof(buf) - 1);
}

/* Kind-specific fields of an event. */
static void tui_details_kind(struct tui_details *d, struct trace_session *s, const struct trace_event *ev)
{
	double dur = (double)(uint64_t)(ev->end - ev->start);
	char b1[32], b2[32];
	switch (ev->kind) {
	case TRACE_KERNEL: {
		const struct trace_launch *l = trace_session_launch(s, ev->u.kernel.launch);
		if (!l)
			break;
		tui_details_addf(d, "Grid", "%" PRIu32 " x %" PRIu32 " x %" PRIu32, l->grid[0], l->grid[1],
		                 l->grid[2]);
		tui_details_addf(d, "Block", "%" PRIu32 " x %" PRIu32 " x %" PRIu32, l->block[0], l->block[1],
		                 l->block[2]);
		tui_details_addf(d, "Registers", "%" PRIu32 " per thread", l->registers);
		tui_details_addf(d, "Shared mem", "%" PRIu32 " B static, %" PRIu32 " B dynamic per block",
		                 l->static_smem, l->dynamic_smem);
		if (l->cluster[0])
			tui_details_addf(d, "Cluster", "%" PRIu32 " x %" PRIu32 " x %" PRIu32, l->cluster[0],
			                 l->cluster[1], l->cluster[2]);
		break;
	}
	case TRACE_MEMCPY:
		tui_details_addf(d, "Copy", "%s  %s -> %s", trace_copy_kind_name(trace_memcpy_copy_kind(ev)),
		                 trace_mem_kind_name(trace_memcpy_src_kind(ev)),
		                 trace_mem_kind_name(trace_memcpy_dst_kind(ev)));
		/* fall through */
	case TRACE_MEMSET:
		if (ev->kind == TRACE_MEMSET)
			tui_details_addf(d, "Memory", "%s", trace_mem_kind_name(ev->sub));
		tui_format_value((double)ev->u.bytes, TUI_COL_BYTES, b1, sizeof(b1));
		tui_format_value(dur > 0 ? (double)ev->u.bytes / (dur * 1e-9) : 0, TUI_COL_RATE, b2,
		                 sizeof(b2));
		tui_details_addf(d, "Bytes", "%" PRIu64 " (%s), %s", ev->u.bytes, b1, b2);
		break;
	case TRACE_SYNC:
		tui_details_addf(d, "Sync", "%s  event %" PRIu32, trace_sync_kind_name(ev->sub),
		                 ev->u.sync.event);
		break;
	case TRACE_API:
		tui_details_addf(d, "API", "%s  callback %" PRIu32 "  result %d",
		                 trace_api_domain_name(trace_api_domain(ev)), ev->u.api.cbid,
		                 trace_api_result(ev));
		break;
	case TRACE_NVTX_RANGE:
	case TRACE_NVTX_MARK: {
		tui_details_addf(d, "Style", "%s",
		                 ev->kind == TRACE_NVTX_MARK            ? "mark"
		                 : ev->flags & TRACE_FLAG_NVTX_STARTEND ? "start/end"
		                                                        : "push/pop");
		const struct trace_nvtx_attr *a = trace_session_nvtx_attr(s, ev->u.nvtx.attr);
		if (!a)
			break;
		if (a->domain)
			tui_details_string(d, "Domain", s, a->domain);
		if (a->category)
			tui_details_addf(d, "Category", "%" PRIu32, a->category);
		if (a->has_color)
			tui_details_addf(d, "Color", "#%06" PRIx32, a->color & 0xffffff);
		if (a->payload_type)
			tui_details_addf(d, "Payload", "0x%" PRIx64 " (type %u)", a->payload,
			                 a->payload_type);
		break;
	}
	default:
		break;
	}
}

void tui_details_event(struct tui_details *d, struct trace_session *s, const struct tui_corr *corr,
                       const struct trace_event *ev, int64_t t0)
{
	char b1[32], b2[32], b3[32];
	tui_details_clear(d);
	const char *name = trace_session_display_name(s, ev->name);
	size_t rawlen;
	const char *raw = trace_session_string(s, ev->name, &rawlen);
	tui_details_addf(d, "Kind", "%s%s", trace_kind_name(ev->kind),
	                 ev->flags & TRACE_FLAG_OPEN ? " (still open at the end)" : "");
	tui_details_add(d, "Name", name, strlen(name));
	if (strcmp(raw, name) || rawlen != strlen(name))
		tui_details_add(d, "Mangled", raw, rawlen);
	tui_details_addf(d, "Start", "%s  (%" PRId64 " ns on the session clock)",
	                 tui_t((double)(ev->start - t0), b1, sizeof(b1)), ev->start);
	tui_details_addf(d, "End", "%s", tui_t((double)(ev->end - t0), b2, sizeof(b2)));
	tui_details_addf(d, "Duration", "%s  (%" PRIu64 " ns)",
	                 tui_t((double)(uint64_t)(ev->end - ev->start), b3, sizeof(b3)),
	                 (uint64_t)(ev->end - ev->start));
	tui_details_track(d, s, ev->track);
	tui_details_kind(d, s, ev);
	uint32_t stack = trace_event_stack(ev);
	if (ev->correlation) {
		tui_details_addf(d, "Correlation", "%" PRIu32, ev->correlation);
		uint32_t pid = tui_event_pid(s, ev);
		if (corr && ev->kind == TRACE_API) {
			const struct trace_event *const *gpu;
			size_t n = tui_corr_gpu(corr, pid, ev->correlation, &gpu);
			for (size_t i = 0; i < n && i < 8; i++)
				tui_details_link(d, i ? "" : "GPU work", s, gpu[i], t0);
			if (n > 8)
				tui_details_addf(d, "", "... and %zu more", n - 8);
			if (!n)
				tui_details_addf(d, "GPU work", "none recorded");
		} else if (corr && tui_is_gpu(ev->kind)) {
			const struct trace_event *api = tui_corr_api(corr, pid, ev->correlation);
			if (api) {
				tui_details_link(d, "Launched by", s, api, t0);
				tui_details_track(d, s, api->track);
				stack = api->u.api.stack;
			} else {
				tui_details_addf(d, "Launched by", "no API call recorded");
			}
		}
	}
	if (stack)
		tui_details_stack(d, s, stack);
	else
		tui_details_addf(d, "Call stack", "none recorded");
}

void tui_details_row(struct tui_details *d, const struct tui_table *t, size_t row,
                     const struct tui_corr *corr)
{
	tui_details_clear(d);
	if (row >= t->nrows)
		return;
	if (t->kind == TUI_TABLE_INSTANCES) {
		tui_details_event(d, t->s, corr, t->events[row], t->t0);
		return;
	}
	const struct tui_sum_row *r = &t->sum[row];
	tui_details_add(d, "Name", r->name, r->name_len);
	if (t->kind != TUI_TABLE_MEMOPS) {
		size_t rawlen;
		const char *raw = trace_session_string(t->s, r->key, &rawlen);
		if (rawlen != r->name_len || memcmp(raw, r->name, rawlen))
			tui_details_add(d, "Mangled", raw, rawlen);
	}
	for (size_t c = 0; c < t->ncols; c++) {
		if (c == t->name_col)
			continue;
		struct tui_cell cell;
		tui_table_cell(t, row, c, &cell);
		tui_details_add(d, t->cols[c].title, cell.text, cell.len);
	}
	tui_details_addf(d, "", "Enter lists the instances of this row");
}
