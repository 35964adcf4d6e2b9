/*
 * table.c - the TUI's table model and table view state (table.h).
 *
 * Summary tables are trace/summary.h's summaries laid out as the columns
 * below; instance lists hold pointers to the session's events and compute
 * their cells when asked. A view keeps an array of row indexes: sorting
 * sorts it (qsort_r with the row index as the last key), filtering rebuilds
 * it from the table. Both run only when the user asks.
 */
#include "tui/table.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/summary.h"
#include "util/xalloc.h"

/* Column indexes of the duration summaries (kernels, API, NVTX). */
enum { C_PCT, C_TOTAL, C_COUNT, C_AVG, C_MED, C_MIN, C_MAX, C_STDDEV, C_NAME_OR_STYLE };

static const struct tui_column tui_kernel_cols[] = {
    {"Time %", TUI_COL_PERCENT, 6, 0}, {"Total", TUI_COL_TIME, 11, 2},  {"Instances", TUI_COL_COUNT, 9, 0},
    {"Avg", TUI_COL_TIME, 11, 1},      {"Med", TUI_COL_TIME, 11, 3},    {"Min", TUI_COL_TIME, 11, 4},
    {"Max", TUI_COL_TIME, 11, 4},      {"StdDev", TUI_COL_TIME, 11, 5}, {"Name", TUI_COL_TEXT, 12, 0},
};
static const struct tui_column tui_api_cols[] = {
    {"Time %", TUI_COL_PERCENT, 6, 0}, {"Total", TUI_COL_TIME, 11, 2},  {"Calls", TUI_COL_COUNT, 9, 0},
    {"Avg", TUI_COL_TIME, 11, 1},      {"Med", TUI_COL_TIME, 11, 3},    {"Min", TUI_COL_TIME, 11, 4},
    {"Max", TUI_COL_TIME, 11, 4},      {"StdDev", TUI_COL_TIME, 11, 5}, {"Name", TUI_COL_TEXT, 12, 0},
};
static const struct tui_column tui_nvtx_cols[] = {
    {"Time %", TUI_COL_PERCENT, 6, 0}, {"Total", TUI_COL_TIME, 11, 2},  {"Instances", TUI_COL_COUNT, 9, 0},
    {"Avg", TUI_COL_TIME, 11, 1},      {"Med", TUI_COL_TIME, 11, 3},    {"Min", TUI_COL_TIME, 11, 4},
    {"Max", TUI_COL_TIME, 11, 4},      {"StdDev", TUI_COL_TIME, 11, 5}, {"Style", TUI_COL_LABEL, 8, 3},
    {"Name", TUI_COL_TEXT, 12, 0},
};
/* Memory operations: time statistics, then bytes and bandwidth. */
enum { M_PCT, M_TOTAL, M_COUNT, M_AVG, M_MED, M_MIN, M_MAX, M_BYTES, M_AVG_BYTES, M_RATE, M_NAME };
static const struct tui_column tui_memop_cols[] = {
    {"Time %", TUI_COL_PERCENT, 6, 0},  {"Total", TUI_COL_TIME, 11, 0},
    {"Count", TUI_COL_COUNT, 9, 0},     {"Avg", TUI_COL_TIME, 11, 2},
    {"Med", TUI_COL_TIME, 11, 5},       {"Min", TUI_COL_TIME, 11, 6},
    {"Max", TUI_COL_TIME, 11, 6},       {"Bytes", TUI_COL_BYTES, 10, 1},
    {"Avg size", TUI_COL_BYTES, 10, 3}, {"Bandwidth", TUI_COL_RATE, 11, 1},
    {"Operation", TUI_COL_TEXT, 16, 0},
};

/* Instance columns by the kind of summary they come from. */
enum { I_START, I_DUR, I_TRACK, I_4, I_5, I_6, I_7 };
static const struct tui_column tui_kernel_inst_cols[] = {
    {"Start", TUI_COL_TIME, 12, 0},       {"Duration", TUI_COL_TIME, 11, 0}, {"Stream", TUI_COL_LABEL, 14, 0},
    {"Grid", TUI_COL_LABEL, 14, 1},       {"Block", TUI_COL_LABEL, 12, 1},   {"Regs", TUI_COL_COUNT, 5, 2},
    {"Shared mem", TUI_COL_BYTES, 10, 2},
};
static const struct tui_column tui_memop_inst_cols[] = {
    {"Start", TUI_COL_TIME, 12, 0},  {"Duration", TUI_COL_TIME, 11, 0},  {"Stream", TUI_COL_LABEL, 14, 0},
    {"Bytes", TUI_COL_BYTES, 10, 0}, {"Bandwidth", TUI_COL_RATE, 11, 1}, {"Memory", TUI_COL_LABEL, 20, 2},
};
static const struct tui_column tui_host_inst_cols[] = {
    {"Start", TUI_COL_TIME, 12, 0},   {"Duration", TUI_COL_TIME, 11, 0},
    {"Thread", TUI_COL_LABEL, 16, 0}, {"Correlation", TUI_COL_COUNT, 11, 1},
    {"Result", TUI_COL_LABEL, 8, 2},
};

#define NC(a) (sizeof(a) / sizeof((a)[0]))

/* Copies summary statistics into the duration columns of row r. */
static void tui_fill_duration(struct tui_sum_row *r, const struct trace_summary_row *sr)
{
	r->v[C_PCT] = sr->percent;
	r->v[C_TOTAL] = sr->total;
	r->v[C_COUNT] = (double)sr->count;
	r->v[C_AVG] = sr->mean;
	r->v[C_MED] = sr->median;
	r->v[C_MIN] = sr->min;
	r->v[C_MAX] = sr->max;
	r->v[C_STDDEV] = sr->stddev;
}

/* Sets a row's name to the display name of string `key`. */
static void tui_row_name(struct trace_session *s, struct tui_sum_row *r)
{
	r->name = trace_session_display_name(s, r->key);
	r->name_len = strlen(r->name);
}

/* Builds a duration summary of the kinds in `mask` into t (kernels, API). */
static void tui_build_by_name(struct tui_table *t, uint32_t mask)
{
	struct trace_summary_spec spec = {.kind_mask = mask, .key = TRACE_SUMMARY_BY_NAME};
	struct trace_summary sum;
	trace_summary_build(t->s, &spec, &sum);
	t->sum = xcalloc(sum.n ? sum.n : 1, sizeof(*t->sum));
	for (size_t i = 0; i < sum.n; i++) {
		t->sum[i].key = sum.rows[i].key;
		tui_fill_duration(&t->sum[i], &sum.rows[i]);
		tui_row_name(t->s, &t->sum[i]);
	}
	t->nrows = sum.n;
	trace_summary_free(&sum);
}

/* NVTX ranges: one row per name and style, percent over both styles. */
static void tui_build_nvtx(struct tui_table *t)
{
	struct trace_summary part[2];
	for (int style = 0; style < 2; style++) {
		struct trace_summary_spec spec = {.kind_mask = 1u << TRACE_NVTX_RANGE,
		                                  .key = TRACE_SUMMARY_BY_NAME,
		                                  .flags_mask = TRACE_FLAG_NVTX_STARTEND,
		                                  .flags_value = style ? TRACE_FLAG_NVTX_STARTEND : 0};
		trace_summary_build(t->s, &spec, &part[style]);
	}
	double grand = part[0].grand_total + part[1].grand_total;
	size_t n = part[0].n + part[1].n;
	t->sum = xcalloc(n ? n : 1, sizeof(*t->sum));
	for (int style = 0; style < 2; style++) {
		for (size_t i = 0; i < part[style].n; i++) {
			struct tui_sum_row *r = &t->sum[t->nrows++];
			r->key = part[style].rows[i].key;
			r->style = (uint8_t)style;
			tui_fill_duration(r, &part[style].rows[i]);
			r->v[C_PCT] = grand > 0 ? part[style].rows[i].total / grand * 100.0 : 0;
			r->v[C_NAME_OR_STYLE] = style;
			tui_row_name(t->s, r);
		}
		trace_summary_free(&part[style]);
	}
}

/* Memory operations: the time summary joined with the size summary by key. */
static void tui_build_memops(struct tui_table *t)
{
	struct trace_summary_spec spec = {.kind_mask = 1u << TRACE_MEMCPY | 1u << TRACE_MEMSET,
	                                  .key = TRACE_SUMMARY_BY_MEMOP};
	struct trace_summary time, size;
	trace_summary_build(t->s, &spec, &time);
	spec.value = TRACE_SUMMARY_BYTES;
	trace_summary_build(t->s, &spec, &size);
	t->sum = xcalloc(time.n ? time.n : 1, sizeof(*t->sum));
	for (size_t i = 0; i < time.n; i++) {
		struct tui_sum_row *r = &t->sum[i];
		const struct trace_summary_row *tr = &time.rows[i];
		r->key = tr->key;
		r->v[M_PCT] = tr->percent;
		r->v[M_TOTAL] = tr->total;
		r->v[M_COUNT] = (double)tr->count;
		r->v[M_AVG] = tr->mean;
		r->v[M_MED] = tr->median;
		r->v[M_MIN] = tr->min;
		r->v[M_MAX] = tr->max;
		for (size_t j = 0; j < size.n; j++) {
			if (size.rows[j].key != tr->key)
				continue;
			r->v[M_BYTES] = size.rows[j].total;
			r->v[M_AVG_BYTES] = size.rows[j].mean;
		}
		r->v[M_RATE] = tr->total > 0 ? r->v[M_BYTES] / (tr->total * 1e-9) : 0;
		r->name = trace_summary_memop_name(tr->key);
		r->name_len = strlen(r->name);
	}
	t->nrows = time.n;
	trace_summary_free(&time);
	trace_summary_free(&size);
}

/* Allocates and computes summary table `kind`. */
struct tui_table *tui_table_build(struct trace_session *s, enum tui_table_kind kind)
{
	struct tui_table *t = xcalloc(1, sizeof(*t));
	t->kind = kind;
	t->parent_kind = kind;
	t->s = s;
	int64_t end;
	if (!trace_session_time_range(s, &t->t0, &end))
		t->t0 = 0;
	switch (kind) {
	case TUI_TABLE_KERNELS:
		t->cols = tui_kernel_cols;
		t->ncols = NC(tui_kernel_cols);
		tui_build_by_name(t, 1u << TRACE_KERNEL);
		break;
	case TUI_TABLE_API:
		t->cols = tui_api_cols;
		t->ncols = NC(tui_api_cols);
		tui_build_by_name(t, 1u << TRACE_API);
		break;
	case TUI_TABLE_MEMOPS:
		t->cols = tui_memop_cols;
		t->ncols = NC(tui_memop_cols);
		tui_build_memops(t);
		break;
	default:
		t->kind = TUI_TABLE_NVTX;
		t->parent_kind = TUI_TABLE_NVTX;
		t->cols = tui_nvtx_cols;
		t->ncols = NC(tui_nvtx_cols);
		tui_build_nvtx(t);
		break;
	}
	t->name_col = t->ncols - 1;
	return t;
}

/* Whether event ev is counted by row r of a summary table of `kind`. */
static bool tui_row_has(enum tui_table_kind kind, const struct tui_sum_row *r, const struct trace_event *ev)
{
	if (ev->flags & TRACE_FLAG_OPEN)
		return false; /* summaries leave them out too */
	switch (kind) {
	case TUI_TABLE_KERNELS:
		return ev->kind == TRACE_KERNEL && ev->name == r->key;
	case TUI_TABLE_API:
		return ev->kind == TRACE_API && ev->name == r->key;
	case TUI_TABLE_MEMOPS:
		return (ev->kind == TRACE_MEMCPY || ev->kind == TRACE_MEMSET) &&
		       trace_summary_memop_key(ev) == r->key;
	default:
		return ev->kind == TRACE_NVTX_RANGE && ev->name == r->key &&
		       !!(ev->flags & TRACE_FLAG_NVTX_STARTEND) == !!r->style;
	}
}

/* qsort order of events by (start, end, address). */
static int tui_event_cmp(const void *pa, const void *pb)
{
	const struct trace_event *a = *(const struct trace_event *const *)pa;
	const struct trace_event *b = *(const struct trace_event *const *)pb;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->end != b->end)
		return a->end < b->end ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* Scans every track once for the events of the row. */
struct tui_table *tui_table_instances(const struct tui_table *t, size_t row)
{
	struct tui_table *it = xcalloc(1, sizeof(*it));
	it->kind = TUI_TABLE_INSTANCES;
	it->parent_kind = t->kind;
	it->s = t->s;
	it->t0 = t->t0;
	switch (t->kind) {
	case TUI_TABLE_KERNELS:
		it->cols = tui_kernel_inst_cols;
		it->ncols = NC(tui_kernel_inst_cols);
		break;
	case TUI_TABLE_MEMOPS:
		it->cols = tui_memop_inst_cols;
		it->ncols = NC(tui_memop_inst_cols);
		break;
	default:
		it->cols = tui_host_inst_cols;
		it->ncols = NC(tui_host_inst_cols);
		break;
	}
	it->name_col = I_TRACK;
	if (t->kind == TUI_TABLE_INSTANCES || row >= t->nrows) {
		it->events = xcalloc(1, sizeof(*it->events));
		return it;
	}
	const struct tui_sum_row *r = &t->sum[row];
	snprintf(it->title, sizeof(it->title), "%.*s", (int)(r->name_len < 150 ? r->name_len : 150), r->name);
	size_t cap = (size_t)(t->sum[row].v[C_COUNT] > 0 ? t->sum[row].v[C_COUNT] : 0) + 1, n = 0;
	it->events = xcalloc(cap, sizeof(*it->events));
	uint32_t ntracks = trace_session_track_count(t->s);
	for (uint32_t tr = 1; tr < ntracks; tr++) {
		size_t nev;
		const struct trace_event *ev = trace_session_track_events(t->s, tr, &nev);
		for (size_t i = 0; i < nev; i++) {
			if (!tui_row_has(t->kind, r, &ev[i]))
				continue;
			if (n == cap) { /* the count said fewer: never trust it blindly */
				cap *= 2;
				it->events = xrealloc(it->events, cap * sizeof(*it->events));
			}
			it->events[n++] = &ev[i];
		}
	}
	qsort(it->events, n, sizeof(*it->events), tui_event_cmp);
	it->nrows = n;
	return it;
}

/* Frees the row arrays and the table. */
void tui_table_free(struct tui_table *t)
{
	if (!t)
		return;
	free(t->sum);
	free(t->events);
	free(t);
}

/* Writes v with thousands separators. */
static void tui_format_count(double v, char *out, size_t cap)
{
	char digits[32];
	snprintf(digits, sizeof(digits), "%.0f", v < 0 ? 0 : v);
	size_t n = strlen(digits), o = 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		if (i && (n - i) % 3 == 0 && o + 2 < cap)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

/* Formats a value with a unit picked so that 1 <= mantissa < 1000. */
static void tui_format_scaled(double v, const char *const *units, size_t nunits, double base, char *out,
                              size_t cap)
{
	size_t u = 0;
	double a = fabs(v);
	while (u + 1 < nunits && a >= base * 0.9995) {
		a /= base;
		v /= base;
		u++;
	}
	if (u == 0 && v == floor(v))
		snprintf(out, cap, "%.0f %s", v, units[0]);
	else
		snprintf(out, cap, "%.3f %s", v, units[u]);
}

void tui_format_value(double v, enum tui_col_type type, char *out, size_t cap)
{
	static const char *const time_units[] = {"ns", "us", "ms", "s"};
	static const char *const byte_units[] = {"B", "kB", "MB", "GB", "TB"};
	static const char *const rate_units[] = {"B/s", "kB/s", "MB/s", "GB/s", "TB/s"};
	if (!isfinite(v)) {
		snprintf(out, cap, "-");
		return;
	}
	switch (type) {
	case TUI_COL_COUNT:
		tui_format_count(v, out, cap);
		break;
	case TUI_COL_PERCENT:
		snprintf(out, cap, "%.1f", v);
		break;
	case TUI_COL_TIME:
		if (fabs(v) >= 1e9 * 1000) /* beyond 1000 s: seconds with no more units */
			snprintf(out, cap, "%.1f s", v / 1e9);
		else
			tui_format_scaled(v, time_units, 4, 1000, out, cap);
		break;
	case TUI_COL_BYTES:
		tui_format_scaled(v, byte_units, 5, 1000, out, cap);
		break;
	case TUI_COL_RATE:
		tui_format_scaled(v, rate_units, 5, 1000, out, cap);
		break;
	default:
		snprintf(out, cap, "%g", v);
		break;
	}
}

/* A track label: "pid P dev D str S" for streams, "pid P tid T" for threads. */
static void tui_track_label(const struct trace_session *s, uint32_t track, char *out, size_t cap, double *num)
{
	const struct trace_track_info *ti = trace_session_track_info(s, track);
	*num = track;
	if (!ti) {
		snprintf(out, cap, "?");
		return;
	}
	if (ti->kind == TRACE_TRACK_STREAM)
		snprintf(out, cap, "%" PRIu32 " d%" PRIu32 " s%" PRIu32, ti->pid, ti->device, ti->stream);
	else if (ti->kind == TRACE_TRACK_THREAD)
		snprintf(out, cap, "%" PRIu32 "/%" PRIu32, ti->pid, ti->tid);
	else
		snprintf(out, cap, "%" PRIu32 " %s", ti->pid, trace_track_kind_name(ti->kind));
}

/* Fills c with a formatted number. */
static void tui_cell_num(struct tui_cell *c, double v, enum tui_col_type type)
{
	c->num = v;
	tui_format_value(v, type, c->buf, sizeof(c->buf));
	c->text = c->buf;
	c->len = strlen(c->buf);
	c->right = true;
}

/* Fills c with a label computed into its buffer, sorted by `num`. */
static void tui_cell_label(struct tui_cell *c, double num)
{
	c->num = num;
	c->text = c->buf;
	c->len = strlen(c->buf);
	c->right = false;
}

/* A cell of an instance list. */
static void tui_instance_cell(const struct tui_table *t, const struct trace_event *ev, size_t col,
                              struct tui_cell *c)
{
	double dur = (double)(uint64_t)(ev->end - ev->start);
	switch (col) {
	case I_START:
		tui_cell_num(c, (double)ev->start - (double)t->t0, TUI_COL_TIME);
		return;
	case I_DUR:
		tui_cell_num(c, dur, TUI_COL_TIME);
		return;
	case I_TRACK: {
		double num;
		tui_track_label(t->s, ev->track, c->buf, sizeof(c->buf), &num);
		tui_cell_label(c, num);
		return;
	}
	default:
		break;
	}
	if (t->parent_kind == TUI_TABLE_KERNELS) {
		const struct trace_launch *l = trace_session_launch(t->s, ev->u.kernel.launch);
		static const struct trace_launch none;
		if (!l)
			l = &none;
		switch (col) {
		case I_4:
			snprintf(c->buf, sizeof(c->buf), "%" PRIu32 ",%" PRIu32 ",%" PRIu32, l->grid[0],
			         l->grid[1], l->grid[2]);
			tui_cell_label(c, (double)l->grid[0] * l->grid[1] * l->grid[2]);
			return;
		case I_5:
			snprintf(c->buf, sizeof(c->buf), "%" PRIu32 ",%" PRIu32 ",%" PRIu32, l->block[0],
			         l->block[1], l->block[2]);
			tui_cell_label(c, (double)l->block[0] * l->block[1] * l->block[2]);
			return;
		case I_6:
			tui_cell_num(c, l->registers, TUI_COL_COUNT);
			return;
		default:
			tui_cell_num(c, (double)l->static_smem + l->dynamic_smem, TUI_COL_BYTES);
			return;
		}
	}
	if (t->parent_kind == TUI_TABLE_MEMOPS) {
		switch (col) {
		case I_4:
			tui_cell_num(c, (double)ev->u.bytes, TUI_COL_BYTES);
			return;
		case I_5:
			tui_cell_num(c, dur > 0 ? (double)ev->u.bytes / (dur * 1e-9) : 0, TUI_COL_RATE);
			return;
		default:
			if (ev->kind == TRACE_MEMCPY) {
				snprintf(c->buf, sizeof(c->buf), "%s %s->%s",
				         trace_copy_kind_name(trace_memcpy_copy_kind(ev)),
				         trace_mem_kind_name(trace_memcpy_src_kind(ev)),
				         trace_mem_kind_name(trace_memcpy_dst_kind(ev)));
				tui_cell_label(c, ev->sub);
			} else {
				snprintf(c->buf, sizeof(c->buf), "memset %s", trace_mem_kind_name(ev->sub));
				tui_cell_label(c, 65536.0 + ev->sub);
			}
			return;
		}
	}
	switch (col) { /* API calls and NVTX ranges */
	case I_4:
		tui_cell_num(c, ev->correlation, TUI_COL_COUNT);
		return;
	default:
		if (ev->kind == TRACE_API) {
			snprintf(c->buf, sizeof(c->buf), "%d", trace_api_result(ev));
			tui_cell_label(c, trace_api_result(ev));
		} else {
			snprintf(c->buf, sizeof(c->buf), "%s", "");
			tui_cell_label(c, 0);
		}
		return;
	}
}

void tui_table_cell(const struct tui_table *t, size_t row, size_t col, struct tui_cell *c)
{
	c->buf[0] = '\0';
	if (row >= t->nrows || col >= t->ncols) {
		c->num = 0;
		c->text = c->buf;
		c->len = 0;
		c->right = false;
		return;
	}
	if (t->kind == TUI_TABLE_INSTANCES) {
		tui_instance_cell(t, t->events[row], col, c);
		return;
	}
	const struct tui_sum_row *r = &t->sum[row];
	const struct tui_column *cd = &t->cols[col];
	if (cd->type == TUI_COL_TEXT) {
		c->num = 0;
		c->text = r->name;
		c->len = r->name_len;
		c->right = false;
	} else if (cd->type == TUI_COL_LABEL) { /* NVTX style */
		snprintf(c->buf, sizeof(c->buf), "%s", r->style ? "StartEnd" : "PushPop");
		tui_cell_label(c, r->style);
	} else {
		tui_cell_num(c, r->v[col], (enum tui_col_type)cd->type);
	}
}

/* --- views ------------------------------------------------------------------------ */

/* Compares rows a and b of v's table by the sort column, then by index. */
static int tui_view_cmp(const void *pa, const void *pb, void *arg)
{
	const struct tui_table_view *v = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int r = 0;
	const struct tui_column *cd = &v->t->cols[v->sort_col];
	if (cd->type == TUI_COL_TEXT && v->t->kind != TUI_TABLE_INSTANCES) {
		const struct tui_sum_row *ra = &v->t->sum[a], *rb = &v->t->sum[b];
		size_t n = ra->name_len < rb->name_len ? ra->name_len : rb->name_len;
		r = memcmp(ra->name, rb->name, n);
		if (!r)
			r = (ra->name_len > rb->name_len) - (ra->name_len < rb->name_len);
	} else {
		struct tui_cell ca, cb;
		tui_table_cell(v->t, a, v->sort_col, &ca);
		tui_table_cell(v->t, b, v->sort_col, &cb);
		r = (ca.num > cb.num) - (ca.num < cb.num);
	}
	if (v->desc)
		r = -r;
	if (!r)
		r = (a > b) - (a < b);
	return r;
}

/* Whether row `row` passes v's filter. */
static bool tui_view_passes(const struct tui_table_view *v, size_t row)
{
	if (!v->filter[0])
		return true;
	struct tui_cell c;
	tui_table_cell(v->t, row, v->t->name_col, &c);
	char buf[1024];
	size_t n = c.len < sizeof(buf) - 1 ? c.len : sizeof(buf) - 1;
	memcpy(buf, c.text, n);
	buf[n] = '\0';
	if (v->filter_regex)
		return regexec(&v->re, buf, 0, NULL, 0) == 0;
	return strcasestr(buf, v->filter) != NULL;
}

/* Rebuilds order[] from the table and the filter, sorts it and puts the
 * selection back on `keep` (a table row) when it is shown. */
static void tui_view_rebuild(struct tui_table_view *v, size_t keep)
{
	v->nshown = 0;
	for (size_t i = 0; i < v->t->nrows; i++)
		if (tui_view_passes(v, i))
			v->order[v->nshown++] = i;
	qsort_r(v->order, v->nshown, sizeof(*v->order), tui_view_cmp, v);
	v->cursor = 0;
	for (size_t i = 0; i < v->nshown; i++)
		if (v->order[i] == keep)
			v->cursor = i;
	if (v->top > v->cursor)
		v->top = v->cursor;
}

void tui_table_view_init(struct tui_table_view *v, struct tui_table *t, size_t sort_col, bool desc)
{
	memset(v, 0, sizeof(*v));
	v->t = t;
	v->sort_col = sort_col < t->ncols ? sort_col : 0;
	v->desc = desc;
	v->order = xcalloc(t->nrows ? t->nrows : 1, sizeof(*v->order));
	tui_view_rebuild(v, (size_t)-1);
}

void tui_table_view_done(struct tui_table_view *v)
{
	if (v->filter_regex && v->filter[0])
		regfree(&v->re);
	free(v->order);
	tui_table_free(v->t);
	memset(v, 0, sizeof(*v));
}

size_t tui_table_view_row(const struct tui_table_view *v)
{
	return v->nshown ? v->order[v->cursor] : (size_t)-1;
}

void tui_table_view_sort(struct tui_table_view *v, size_t col, bool desc)
{
	if (col >= v->t->ncols)
		return;
	size_t keep = tui_table_view_row(v);
	v->sort_col = col;
	v->desc = desc;
	qsort_r(v->order, v->nshown, sizeof(*v->order), tui_view_cmp, v);
	for (size_t i = 0; i < v->nshown; i++)
		if (v->order[i] == keep)
			v->cursor = i;
}

int tui_table_view_filter(struct tui_table_view *v, const char *text, bool regex, struct err *e)
{
	regex_t re;
	if (strlen(text) >= sizeof(v->filter))
		return err_fmt(e, "filter too long (at most %zu bytes)", sizeof(v->filter) - 1);
	if (regex && text[0]) {
		int rc = regcomp(&re, text, REG_EXTENDED | REG_ICASE | REG_NOSUB);
		if (rc) {
			char msg[160];
			regerror(rc, &re, msg, sizeof(msg));
			return err_fmt(e, "bad regex: %s", msg);
		}
	}
	if (v->filter_regex && v->filter[0])
		regfree(&v->re);
	snprintf(v->filter, sizeof(v->filter), "%s", text);
	v->filter_regex = regex && text[0];
	if (v->filter_regex)
		v->re = re;
	tui_view_rebuild(v, tui_table_view_row(v));
	return 0;
}

void tui_table_view_fit(struct tui_table_view *v, size_t page)
{
	if (!v->nshown) {
		v->cursor = v->top = 0;
		return;
	}
	if (v->cursor >= v->nshown)
		v->cursor = v->nshown - 1;
	if (!page)
		return;
	if (v->top > v->cursor)
		v->top = v->cursor;
	if (v->cursor >= v->top + page)
		v->top = v->cursor - page + 1;
	if (v->nshown >= page && v->top + page > v->nshown)
		v->top = v->nshown - page;
	if (v->nshown < page)
		v->top = 0;
}

void tui_table_view_select(struct tui_table_view *v, size_t i, size_t page)
{
	v->cursor = v->nshown && i >= v->nshown ? v->nshown - 1 : i;
	tui_table_view_fit(v, page);
}

void tui_table_view_move(struct tui_table_view *v, long delta, size_t page)
{
	size_t c = v->cursor;
	if (delta < 0)
		c = (size_t)-delta > c ? 0 : c - (size_t)-delta;
	else
		c = (size_t)delta > SIZE_MAX - c ? SIZE_MAX : c + (size_t)delta;
	tui_table_view_select(v, c, page);
}

void tui_table_view_scroll(struct tui_table_view *v, long delta, size_t page)
{
	if (!v->nshown || !page)
		return;
	size_t max_top = v->nshown > page ? v->nshown - page : 0;
	size_t top = v->top;
	if (delta < 0)
		top = (size_t)-delta > top ? 0 : top - (size_t)-delta;
	else
		top = top + (size_t)delta > max_top ? max_top : top + (size_t)delta;
	v->top = top;
	if (v->cursor < top)
		v->cursor = top;
	if (v->cursor >= top + page)
		v->cursor = top + page - 1;
	tui_table_view_fit(v, page);
}

bool tui_table_view_check(const struct tui_table_view *v, size_t page)
{
	if (v->nshown > v->t->nrows)
		return false;
	for (size_t i = 0; i < v->nshown; i++) {
		if (v->order[i] >= v->t->nrows || !tui_view_passes(v, v->order[i]))
			return false;
		if (i && tui_view_cmp(&v->order[i - 1], &v->order[i], (void *)v) >= 0)
			return false;
	}
	if (v->nshown ? v->cursor >= v->nshown : v->cursor != 0)
		return false;
	if (page && v->nshown) {
		if (v->top > v->cursor || v->cursor >= v->top + page)
			return false;
		if (v->nshown >= page && v->top + page > v->nshown)
			return false;
	}
	return true;
}
