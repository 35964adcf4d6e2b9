/*
 * kineto.c - a session as the Chrome-trace JSON that PyTorch's profiler
 * (Kineto) writes, for Perfetto UI, chrome://tracing, Holistic Trace
 * Analysis and TensorBoard (export.h; docs/export.md maps each part).
 *
 * The document is streamed track by track, one event per line, so memory is
 * the session's plus two sorted indexes of correlation ids (8 bytes per API
 * call that has a correlation id, 32 bytes per piece of GPU work): they
 * decide which launches get an ac2g flow and give the GPU span of each NVTX
 * range (gpu_user_annotation). Times are microseconds with three decimals
 * relative to baseTimeNanoseconds (the session's first second), so every
 * nanosecond is kept. Strings go through report_write_json_string, the
 * escaper of every JSON tstop writes: controls become \uXXXX and a byte that
 * is not UTF-8 the text \xNN, so the document is always valid UTF-8 JSON.
 * With opts->gzip the same bytes go through zlib's deflate (a stdio stream
 * made with fopencookie), never held whole in memory.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fopencookie, memrchr */
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "export/export.h"
#include "report/format.h"
#include "util/xalloc.h"

/* Events written between two progress calls. */
#define KINETO_PROGRESS_EVERY 65536
/* zlib level of --kineto OUT.json.gz: 1 is several times faster than the
 * default 6 and JSON still shrinks about tenfold (docs/export.md). */
#define KINETO_GZIP_LEVEL 1
/* Tids given to GPU streams whose (device, stream) another stream track
 * (another process or context) already uses, counting up from here. */
#define KINETO_SPARE_TID 1000000000u

/* One piece of GPU work (kernel, copy, memset, sync) in the GPU index. */
struct kineto_gpu {
	uint64_t key; /* pid << 32 | correlation */
	int64_t start, end;
	uint32_t track;
};

/* Where a track's events go: Chrome-trace pid and tid. */
struct kineto_place {
	uint32_t pid;
	uint32_t tid;
};

/* The state of one export. */
struct kineto {
	struct trace_session *s;
	FILE *f;
	const struct export_options *opts;
	int64_t base; /* baseTimeNanoseconds */
	uint64_t done, total, next_progress;
	bool first;                 /* no event written yet */
	struct kineto_place *place; /* by track id */
	uint64_t *api;              /* sorted keys of API calls with a correlation id */
	size_t napi;
	struct kineto_gpu *gpu; /* sorted by key, then start */
	size_t ngpu;
	uint32_t *pids; /* sorted distinct pids of tracks: flow ids are corr + index << 32 */
	size_t npids;
	uint64_t external; /* the last "External id" given to an NVTX range */
};

/* --- output helpers ----------------------------------------------------------------- */

/* Writes a NUL-terminated literal. */
static void kx_puts(struct kineto *k, const char *s)
{
	fputs(s, k->f);
}

/* Writes an unsigned decimal. */
static void kx_u64(struct kineto *k, uint64_t v)
{
	char buf[24];
	size_t i = sizeof(buf);
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	fwrite(buf + i, 1, sizeof(buf) - i, k->f);
}

/* Writes a signed decimal. */
static void kx_i64(struct kineto *k, int64_t v)
{
	if (v < 0) {
		putc('-', k->f);
		kx_u64(k, (uint64_t)0 - (uint64_t)v);
	} else {
		kx_u64(k, (uint64_t)v);
	}
}

/* Writes nanoseconds `ns` as microseconds with three decimals. */
static void kx_us(struct kineto *k, uint64_t ns)
{
	char frac[5] = {'.', (char)('0' + ns / 100 % 10), (char)('0' + ns / 10 % 10), (char)('0' + ns % 10),
	                0};
	kx_u64(k, ns / 1000);
	fwrite(frac, 1, 4, k->f);
}

/* Writes a finite double in a form JSON accepts (`fmt` a printf format). */
static void kx_double(struct kineto *k, const char *fmt, double v)
{
	char buf[64];
	if (!(v == v) || v > 1e300 || v < -1e300)
		v = 0;
	snprintf(buf, sizeof(buf), fmt, v);
	kx_puts(k, buf);
}

/* Writes string `id` of the session as a JSON string, demangled when
 * `display` (kernel names, as PyTorch shows them). */
static void kx_name(struct kineto *k, uint32_t id, bool display)
{
	size_t len;
	const char *str = trace_session_string(k->s, id, &len);
	if (display) {
		str = trace_session_display_name(k->s, id);
		len = strlen(str);
	}
	report_write_json_string(k->f, str, len);
}

/* Writes a NUL-terminated C string as a JSON string. */
static void kx_str(struct kineto *k, const char *s)
{
	report_write_json_string(k->f, s, strlen(s));
}

/* Starts the next event of traceEvents: the separator and `{`. */
static void kx_open(struct kineto *k)
{
	kx_puts(k, k->first ? "\n  {" : ",\n  {");
	k->first = false;
}

/* Writes `"pid":P,"tid":T,"ts":TS` for time `t` on track `track`. */
static void kx_where(struct kineto *k, uint32_t track, int64_t t)
{
	kx_puts(k, "\"pid\":");
	kx_u64(k, k->place[track].pid);
	kx_puts(k, ",\"tid\":");
	kx_u64(k, k->place[track].tid);
	kx_puts(k, ",\"ts\":");
	kx_us(k, (uint64_t)t - (uint64_t)k->base);
}

/* Starts a complete event: ph X, its category, name, place and span; the
 * caller writes the args and the closing brace. */
static void kx_span(struct kineto *k, const char *cat, const struct trace_event *ev, bool display)
{
	kx_open(k);
	kx_puts(k, "\"ph\":\"X\",\"cat\":\"");
	kx_puts(k, cat);
	kx_puts(k, "\",\"name\":");
	kx_name(k, ev->name, display);
	putc(',', k->f);
	kx_where(k, ev->track, ev->start);
	kx_puts(k, ",\"dur\":");
	kx_us(k, (uint64_t)ev->end - (uint64_t)ev->start);
}

/* --- indexes ------------------------------------------------------------------------ */

/* Compares uint64_t keys for qsort and bsearch. */
static int kx_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Compares GPU index entries by key, then start. */
static int kx_cmp_gpu(const void *a, const void *b)
{
	const struct kineto_gpu *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Compares uint32_t values for qsort and bsearch. */
static int kx_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Whether an event kind is GPU work that a launch leads to. */
static bool kx_gpu_kind(unsigned kind)
{
	return kind == TRACE_KERNEL || kind == TRACE_MEMCPY || kind == TRACE_MEMSET || kind == TRACE_SYNC;
}

/* The index key of an event with a correlation id on `track`. */
static uint64_t kx_key(const struct kineto *k, const struct trace_event *ev)
{
	const struct trace_track_info *ti = trace_session_track_info(k->s, ev->track);
	return (uint64_t)(ti ? ti->pid : 0) << 32 | ev->correlation;
}

/* Index of the first GPU entry with key `key`, or ngpu. */
static size_t kx_gpu_first(const struct kineto *k, uint64_t key)
{
	size_t lo = 0, hi = k->ngpu;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->gpu[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether some API call has key `key`. */
static bool kx_has_api(const struct kineto *k, uint64_t key)
{
	return k->napi && bsearch(&key, k->api, k->napi, sizeof(*k->api), kx_cmp_u64);
}

/* The ac2g flow id of key `key`: the correlation id, plus the index of its
 * pid among the session's pids times 2^32 (0 with one process, as PyTorch). */
static uint64_t kx_flow_id(const struct kineto *k, uint64_t key)
{
	uint32_t pid = (uint32_t)(key >> 32);
	const uint32_t *at = bsearch(&pid, k->pids, k->npids, sizeof(*k->pids), kx_cmp_u32);
	uint64_t index = at ? (uint64_t)(at - k->pids) : 0;
	return (index << 32) + (key & 0xffffffffu);
}

/* Builds the places of tracks and both indexes. */
static void kx_prepare(struct kineto *k)
{
	uint32_t ntracks = trace_session_track_count(k->s);
	k->place = xcalloc(ntracks ? ntracks : 1, sizeof(*k->place));
	k->pids = xcalloc(ntracks ? ntracks : 1, sizeof(*k->pids));
	size_t napi_cap = 0, ngpu_cap = 0;
	uint32_t spare = KINETO_SPARE_TID;
	for (uint32_t t = 1; t < ntracks; t++) {
		const struct trace_track_info *ti = trace_session_track_info(k->s, t);
		k->pids[k->npids++] = ti->pid;
		if (ti->kind == TRACE_TRACK_STREAM) {
			k->place[t].pid = ti->device;
			k->place[t].tid = ti->stream;
			/* Two processes (or contexts) may use the same stream number
			 * on one device: the later stream gets a tid of its own. */
			for (uint32_t u = 1; u < t; u++) {
				const struct trace_track_info *tu = trace_session_track_info(k->s, u);
				if (tu->kind == TRACE_TRACK_STREAM && k->place[u].pid == ti->device &&
				    k->place[u].tid == ti->stream) {
					k->place[t].tid = spare++;
					break;
				}
			}
		} else {
			k->place[t].pid = ti->pid;
			k->place[t].tid = ti->kind == TRACE_TRACK_THREAD ? ti->tid : 0;
		}
		size_t n;
		const struct trace_event *ev = trace_session_track_events(k->s, t, &n);
		for (size_t i = 0; i < n; i++) {
			if (!ev[i].correlation)
				continue;
			if (ev[i].kind == TRACE_API) {
				k->api = xgrow(k->api, &napi_cap, k->napi + 1, sizeof(*k->api));
				k->api[k->napi++] = kx_key(k, &ev[i]);
			} else if (kx_gpu_kind(ev[i].kind)) {
				k->gpu = xgrow(k->gpu, &ngpu_cap, k->ngpu + 1, sizeof(*k->gpu));
				k->gpu[k->ngpu++] = (struct kineto_gpu){.key = kx_key(k, &ev[i]),
				                                        .start = ev[i].start,
				                                        .end = ev[i].end,
				                                        .track = t};
			}
		}
	}
	if (k->napi)
		qsort(k->api, k->napi, sizeof(*k->api), kx_cmp_u64);
	if (k->ngpu)
		qsort(k->gpu, k->ngpu, sizeof(*k->gpu), kx_cmp_gpu);
	if (k->npids)
		qsort(k->pids, k->npids, sizeof(*k->pids), kx_cmp_u32);
	size_t w = 0;
	for (size_t i = 0; i < k->npids; i++)
		if (!w || k->pids[w - 1] != k->pids[i])
			k->pids[w++] = k->pids[i];
	k->npids = w;
}

/* --- header and metadata ------------------------------------------------------------ */

/* Writes `,"KEY":V` when v is non-zero (zero means unknown in the model). */
static void kx_prop(struct kineto *k, const char *key, uint64_t v)
{
	if (!v)
		return;
	kx_puts(k, ",\"");
	kx_puts(k, key);
	kx_puts(k, "\":");
	kx_u64(k, v);
}

/* Writes the deviceProperties array, PyTorch's key names in its order. */
static void kx_devices(struct kineto *k)
{
	kx_puts(k, "\"deviceProperties\": [");
	size_t n = trace_session_device_count(k->s);
	for (size_t i = 0; i < n; i++) {
		const struct trace_device *d = trace_session_device(k->s, i);
		kx_puts(k, i ? ",\n    {\"id\":" : "\n    {\"id\":");
		kx_u64(k, d->id);
		kx_puts(k, ",\"name\":");
		kx_name(k, d->name, false);
		kx_prop(k, "totalGlobalMem", d->global_memory);
		if (d->cc_major) {
			kx_prop(k, "computeMajor", d->cc_major);
			kx_puts(k, ",\"computeMinor\":");
			kx_u64(k, d->cc_minor);
		}
		kx_prop(k, "maxThreadsPerBlock", d->max_threads_per_block);
		kx_prop(k, "maxThreadsPerMultiprocessor", d->max_threads_per_sm);
		kx_prop(k, "regsPerBlock", d->regs_per_block);
		kx_prop(k, "regsPerMultiprocessor", d->regs_per_sm);
		kx_prop(k, "warpSize", d->warp_size);
		kx_prop(k, "sharedMemPerBlock", d->smem_per_block);
		kx_prop(k, "sharedMemPerMultiprocessor", d->smem_per_sm);
		kx_prop(k, "numSms", d->sm_count);
		putc('}', k->f);
	}
	kx_puts(k, n ? "\n  ],\n" : "],\n");
}

/* The short name of process `pid`: the first word of its command line
 * without its directory, or NULL when unknown. Copied into buf. */
static const char *kx_process_name(struct kineto *k, uint32_t pid, char *buf, size_t size)
{
	const struct trace_process *p = trace_session_find_process(k->s, pid);
	if (!p || !p->command)
		return NULL;
	const char *cmd = trace_session_string(k->s, p->command, NULL);
	size_t len = strcspn(cmd, " ");
	const char *slash = memrchr(cmd, '/', len);
	if (slash) {
		len -= (size_t)(slash + 1 - cmd);
		cmd = slash + 1;
	}
	if (!len)
		return NULL;
	if (len >= size)
		len = size - 1;
	memcpy(buf, cmd, len);
	buf[len] = '\0';
	return buf;
}

/* Writes one metadata event: {"name":WHAT,"ph":"M","ts":..,"pid":P,"tid":T,"args":{ARG:...}};
 * the value is the string `str` when non-NULL, else the number `num`. */
static void kx_meta(struct kineto *k, const char *what, uint32_t pid, uint32_t tid, const char *arg,
                    const char *str, uint64_t num)
{
	kx_open(k);
	kx_puts(k, "\"name\":\"");
	kx_puts(k, what);
	kx_puts(k, "\",\"ph\":\"M\",\"ts\":0.000,\"pid\":");
	kx_u64(k, pid);
	kx_puts(k, ",\"tid\":");
	kx_u64(k, tid);
	kx_puts(k, ",\"args\":{\"");
	kx_puts(k, arg);
	kx_puts(k, "\":");
	if (str)
		kx_str(k, str);
	else
		kx_u64(k, num);
	kx_puts(k, "}}");
}

/* Writes process and thread names and sort indexes: GPUs sort after host
 * processes (5000000 + device, as PyTorch), streams by number. */
static void kx_metadata(struct kineto *k)
{
	char buf[256], pname[128];
	size_t nd = trace_session_device_count(k->s);
	for (size_t i = 0; i < nd; i++) {
		const struct trace_device *d = trace_session_device(k->s, i);
		const char *name = trace_session_string(k->s, d->name, NULL);
		snprintf(buf, sizeof(buf), "%s %" PRIu32 "%s%s",
		         d->api == TRACE_DEVICE_OPENCL ? "OpenCL device" : "GPU", d->id, *name ? ": " : "",
		         name);
		kx_meta(k, "process_name", d->id, 0, "name", buf, 0);
		snprintf(buf, sizeof(buf), "GPU %" PRIu32, d->id);
		kx_meta(k, "process_labels", d->id, 0, "labels", buf, 0);
		kx_meta(k, "process_sort_index", d->id, 0, "sort_index", NULL, 5000000u + (uint64_t)d->id);
	}
	for (size_t i = 0; i < k->npids; i++) {
		uint32_t pid = k->pids[i];
		const char *pn = kx_process_name(k, pid, pname, sizeof(pname));
		if (!pn) {
			snprintf(pname, sizeof(pname), "process %" PRIu32, pid);
			pn = pname;
		}
		kx_meta(k, "process_name", pid, 0, "name", pn, 0);
		kx_meta(k, "process_labels", pid, 0, "labels", "CPU", 0);
		kx_meta(k, "process_sort_index", pid, 0, "sort_index", NULL, pid);
	}
	uint32_t ntracks = trace_session_track_count(k->s);
	for (uint32_t t = 1; t < ntracks; t++) {
		const struct trace_track_info *ti = trace_session_track_info(k->s, t);
		const char *label = trace_session_string(k->s, ti->name, NULL);
		if (ti->kind == TRACE_TRACK_STREAM) {
			const struct trace_device *d = trace_session_find_device(k->s, ti->device);
			bool ocl = d && d->api == TRACE_DEVICE_OPENCL;
			int n = snprintf(buf, sizeof(buf), "%s %" PRIu32 " %s", ocl ? "queue" : "stream",
			                 ti->stream, label);
			if (k->place[t].tid != ti->stream && n >= 0 && (size_t)n < sizeof(buf))
				snprintf(buf + n, sizeof(buf) - (size_t)n, "(pid %" PRIu32 ")", ti->pid);
			kx_meta(k, "thread_name", k->place[t].pid, k->place[t].tid, "name", buf, 0);
			kx_meta(k, "thread_sort_index", k->place[t].pid, k->place[t].tid, "sort_index", NULL,
			        k->place[t].tid);
		} else if (ti->kind == TRACE_TRACK_THREAD) {
			const char *pn = kx_process_name(k, ti->pid, pname, sizeof(pname));
			if (*label)
				snprintf(buf, sizeof(buf), "%s", label);
			else
				snprintf(buf, sizeof(buf), "thread %" PRIu32 " (%s)", ti->tid, pn ? pn : "?");
			kx_meta(k, "thread_name", ti->pid, ti->tid, "name", buf, 0);
			kx_meta(k, "thread_sort_index", ti->pid, ti->tid, "sort_index", NULL, ti->tid);
		}
	}
}

/* --- events ------------------------------------------------------------------------- */

/* Writes `,"device":D,"context":C,"stream":S` of stream track `track`. */
static void kx_stream_args(struct kineto *k, uint32_t track)
{
	const struct trace_track_info *ti = trace_session_track_info(k->s, track);
	kx_puts(k, "\"device\":");
	kx_u64(k, ti->device);
	kx_puts(k, ",\"context\":");
	kx_u64(k, ti->context);
	kx_puts(k, ",\"stream\":");
	kx_u64(k, ti->stream);
}

/* Writes the ac2g flow end of GPU work `ev` when an API call launched it. */
static void kx_flow_end(struct kineto *k, const struct trace_event *ev)
{
	if (!ev->correlation)
		return;
	uint64_t key = kx_key(k, ev);
	if (!kx_has_api(k, key))
		return;
	kx_open(k);
	kx_puts(k, "\"ph\":\"f\",\"id\":");
	kx_u64(k, kx_flow_id(k, key));
	putc(',', k->f);
	kx_where(k, ev->track, ev->start);
	kx_puts(k, ",\"cat\":\"ac2g\",\"name\":\"ac2g\",\"bp\":\"e\"}");
}

/* The theoretical occupancy (0..1) of launch `l` on device `d` from the
 * per-SM limits (threads, blocks, registers, shared memory), as the CUDA
 * occupancy calculator computes it; < 0 when a needed property is unknown. */
static double kx_occupancy(const struct trace_device *d, const struct trace_launch *l)
{
	uint64_t threads = (uint64_t)l->block[0] * l->block[1] * l->block[2];
	if (!d->warp_size || !d->max_threads_per_sm || !threads)
		return -1;
	uint64_t max_warps = d->max_threads_per_sm / d->warp_size;
	uint64_t warps = (threads + d->warp_size - 1) / d->warp_size;
	uint64_t blocks = max_warps / warps;
	if (d->max_blocks_per_sm && d->max_blocks_per_sm < blocks)
		blocks = d->max_blocks_per_sm;
	if (l->registers && d->regs_per_sm) {
		/* Registers are allocated per warp in units of 256. */
		uint64_t per_warp = ((uint64_t)l->registers * d->warp_size + 255) / 256 * 256;
		if (d->regs_per_block && per_warp * warps > d->regs_per_block)
			return 0;
		uint64_t b = d->regs_per_sm / per_warp / warps;
		if (b < blocks)
			blocks = b;
	}
	uint64_t smem = (uint64_t)l->static_smem + l->dynamic_smem;
	if (smem && d->smem_per_sm) {
		/* From compute capability 8.0 on, each block also holds 1 KiB
		 * reserved by the system; allocation is in units of 128 bytes. */
		uint64_t per_block = (smem + (d->cc_major >= 8 ? 1024 : 0) + 127) / 128 * 128;
		uint64_t b = d->smem_per_sm / per_block;
		if (b < blocks)
			blocks = b;
	}
	return (double)(blocks * warps) / (double)max_warps;
}

/* Writes `,"key":[x,y,z]`. */
static void kx_dim3(struct kineto *k, const char *key, const uint32_t v[3])
{
	fprintf(k->f, ",\"%s\":[", key);
	for (int i = 0; i < 3; i++) {
		if (i)
			putc(',', k->f);
		kx_u64(k, v[i]);
	}
	putc(']', k->f);
}

/* Writes a kernel with PyTorch's args. */
static void kx_kernel(struct kineto *k, const struct trace_event *ev)
{
	const struct trace_track_info *ti = trace_session_track_info(k->s, ev->track);
	const struct trace_launch *l = trace_session_launch(k->s, ev->u.kernel.launch);
	const struct trace_device *d = trace_session_find_device(k->s, ti->device);
	kx_span(k, "kernel", ev, true);
	kx_puts(k, ",\"args\":{\"queued\":0,");
	kx_stream_args(k, ev->track);
	kx_puts(k, ",\"correlation\":");
	kx_u64(k, ev->correlation);
	if (l) {
		kx_puts(k, ",\"registers per thread\":");
		kx_u64(k, l->registers);
		kx_puts(k, ",\"shared memory\":");
		kx_u64(k, (uint64_t)l->static_smem + l->dynamic_smem);
		double grid = (double)l->grid[0] * l->grid[1] * l->grid[2];
		double threads = (double)l->block[0] * l->block[1] * l->block[2];
		double occupancy = -1; /* est. achieved, 0..1; < 0: unknown */
		if (d && d->sm_count && d->warp_size) {
			double blocks_sm = grid / d->sm_count, warps_sm = blocks_sm * threads / d->warp_size;
			kx_puts(k, ",\"blocks per SM\":");
			kx_double(k, "%.6f", blocks_sm);
			kx_puts(k, ",\"warps per SM\":");
			kx_double(k, "%.6f", warps_sm);
			double occ = kx_occupancy(d, l);
			if (occ >= 0) {
				double achieved = warps_sm / (double)(d->max_threads_per_sm / d->warp_size);
				occupancy = achieved < occ ? achieved : occ;
			}
		}
		kx_dim3(k, "grid", l->grid);
		kx_dim3(k, "block", l->block);
		if (occupancy >= 0) {
			kx_puts(k, ",\"est. achieved occupancy %\":");
			kx_u64(k, (uint64_t)(occupancy * 100 + 0.5));
		}
	}
	kx_puts(k, "}}");
	kx_flow_end(k, ev);
}

/* Writes `,"bytes":B,"memory bandwidth (GB/s)":BW}}` of a copy or memset. */
static void kx_bytes_args(struct kineto *k, const struct trace_event *ev)
{
	kx_puts(k, ",\"correlation\":");
	kx_u64(k, ev->correlation);
	kx_puts(k, ",\"bytes\":");
	kx_u64(k, ev->u.bytes);
	kx_puts(k, ",\"memory bandwidth (GB/s)\":");
	uint64_t dur = (uint64_t)ev->end - (uint64_t)ev->start;
	/* Bytes per nanosecond are GB/s. */
	kx_double(k, "%.9g", dur ? (double)ev->u.bytes / (double)dur : 0.0);
	kx_puts(k, "}}");
}

/* Writes a copy ("Memcpy HtoD (Pageable -> Device)") or a memset
 * ("Memset (Device)"), named as PyTorch names them. */
static void kx_memop(struct kineto *k, const struct trace_event *ev)
{
	char name[96];
	if (ev->kind == TRACE_MEMCPY) {
		unsigned ck = trace_memcpy_copy_kind(ev);
		snprintf(name, sizeof(name), "Memcpy %s (%s -> %s)",
		         ck == TRACE_COPY_UNKNOWN ? "Unknown" : trace_copy_kind_name(ck),
		         trace_mem_kind_name(trace_memcpy_src_kind(ev)),
		         trace_mem_kind_name(trace_memcpy_dst_kind(ev)));
	} else {
		snprintf(name, sizeof(name), "Memset (%s)", trace_mem_kind_name(ev->sub));
	}
	kx_open(k);
	kx_puts(k, ev->kind == TRACE_MEMCPY ? "\"ph\":\"X\",\"cat\":\"gpu_memcpy\",\"name\":"
	                                    : "\"ph\":\"X\",\"cat\":\"gpu_memset\",\"name\":");
	kx_str(k, name);
	putc(',', k->f);
	kx_where(k, ev->track, ev->start);
	kx_puts(k, ",\"dur\":");
	kx_us(k, (uint64_t)ev->end - (uint64_t)ev->start);
	kx_puts(k, ",\"args\":{");
	kx_stream_args(k, ev->track);
	kx_bytes_args(k, ev);
	kx_flow_end(k, ev);
}

/* Writes a synchronization as PyTorch does: on the GPU track, named by its
 * kind ("Stream Sync"; a device sync is the context sync CUPTI reports). */
static void kx_sync(struct kineto *k, const struct trace_event *ev)
{
	static const char *const names[] = {"Unknown",     "Event Sync",   "Stream Wait Event",
	                                    "Stream Sync", "Context Sync", "Context Sync"};
	const char *name = ev->sub <= TRACE_SYNC_KIND_MAX ? names[ev->sub] : names[0];
	kx_open(k);
	kx_puts(k, "\"ph\":\"X\",\"cat\":\"cuda_sync\",\"name\":\"");
	kx_puts(k, name);
	kx_puts(k, "\",");
	kx_where(k, ev->track, ev->start);
	kx_puts(k, ",\"dur\":");
	kx_us(k, (uint64_t)ev->end - (uint64_t)ev->start);
	kx_puts(k, ",\"args\":{\"cuda_sync_kind\":\"");
	kx_puts(k, name);
	kx_puts(k, "\",");
	if (ev->u.sync.event) {
		kx_puts(k, "\"wait_on_cuda_event_id\":");
		kx_u64(k, ev->u.sync.event);
		putc(',', k->f);
	}
	kx_stream_args(k, ev->track);
	kx_puts(k, ",\"correlation\":");
	kx_u64(k, ev->correlation);
	kx_puts(k, "}}");
	kx_flow_end(k, ev);
}

/* Writes a host API call, and the start of its ac2g flow when it launched
 * GPU work. */
static void kx_api(struct kineto *k, const struct trace_event *ev)
{
	static const char *const cats[] = {"host_api", "cuda_runtime", "cuda_driver", "opencl_runtime"};
	unsigned dom = trace_api_domain(ev);
	kx_span(k, cats[dom], ev, false);
	kx_puts(k, ",\"args\":{");
	if (dom == TRACE_API_CUDA_RUNTIME || dom == TRACE_API_CUDA_DRIVER) {
		kx_puts(k, "\"cbid\":");
		kx_u64(k, ev->u.api.cbid);
		putc(',', k->f);
	}
	kx_puts(k, "\"correlation\":");
	kx_u64(k, ev->correlation);
	if (trace_api_result(ev)) {
		kx_puts(k, ",\"result\":");
		kx_i64(k, trace_api_result(ev));
	}
	kx_puts(k, "}}");
	if (!ev->correlation)
		return;
	uint64_t key = kx_key(k, ev);
	size_t g = kx_gpu_first(k, key);
	if (g == k->ngpu || k->gpu[g].key != key)
		return;
	kx_open(k);
	kx_puts(k, "\"ph\":\"s\",\"id\":");
	kx_u64(k, kx_flow_id(k, key));
	putc(',', k->f);
	kx_where(k, ev->track, ev->start);
	kx_puts(k, ",\"cat\":\"ac2g\",\"name\":\"ac2g\"}");
}

/* One stream's part of an NVTX range's GPU span. */
struct kineto_gspan {
	uint32_t track;
	int64_t start, end;
};

/* Writes an NVTX range (user_annotation) and, per stream, the span of the
 * GPU work launched by API calls of its thread inside it
 * (gpu_user_annotation), both with one new "External id". */
static void kx_range(struct kineto *k, const struct trace_event *ev, const struct trace_event *all, size_t n)
{
	uint64_t ext = ++k->external;
	kx_span(k, "user_annotation", ev, false);
	kx_puts(k, ",\"args\":{\"External id\":");
	kx_u64(k, ext);
	const struct trace_nvtx_attr *a = trace_session_nvtx_attr(k->s, ev->u.nvtx.attr);
	if (a && a->domain) {
		kx_puts(k, ",\"domain\":");
		kx_name(k, a->domain, false);
	}
	kx_puts(k, "}}");
	if (!k->ngpu)
		return;
	struct kineto_gspan spans[16];
	size_t nspans = 0;
	size_t i = trace_session_track_lower_bound(k->s, ev->track, ev->start);
	for (; i < n && all[i].start <= ev->end; i++) {
		if (all[i].kind != TRACE_API || !all[i].correlation || all[i].end > ev->end)
			continue;
		uint64_t key = kx_key(k, &all[i]);
		for (size_t g = kx_gpu_first(k, key); g < k->ngpu && k->gpu[g].key == key; g++) {
			const struct kineto_gpu *w = &k->gpu[g];
			size_t j = 0;
			while (j < nspans && spans[j].track != w->track)
				j++;
			if (j == nspans) {
				if (nspans == sizeof(spans) / sizeof(spans[0]))
					continue; /* more streams than that: the first 16 */
				spans[nspans++] = (struct kineto_gspan){w->track, w->start, w->end};
			}
			if (w->start < spans[j].start)
				spans[j].start = w->start;
			if (w->end > spans[j].end)
				spans[j].end = w->end;
		}
	}
	for (size_t j = 0; j < nspans; j++) {
		kx_open(k);
		kx_puts(k, "\"ph\":\"X\",\"cat\":\"gpu_user_annotation\",\"name\":");
		kx_name(k, ev->name, false);
		putc(',', k->f);
		kx_where(k, spans[j].track, spans[j].start);
		kx_puts(k, ",\"dur\":");
		kx_us(k, (uint64_t)spans[j].end - (uint64_t)spans[j].start);
		kx_puts(k, ",\"args\":{\"External id\":");
		kx_u64(k, ext);
		kx_puts(k, "}}");
	}
}

/* Writes an instant event's head: ph i with scope `scope`, category, name. */
static void kx_instant(struct kineto *k, const char *cat, const char *scope, const struct trace_event *ev)
{
	kx_open(k);
	kx_puts(k, "\"ph\":\"i\",\"s\":\"");
	kx_puts(k, scope);
	kx_puts(k, "\",\"cat\":\"");
	kx_puts(k, cat);
	kx_puts(k, "\",\"name\":");
}

/* Writes one event of track `t` (all: its events, n of them). */
static void kx_event(struct kineto *k, const struct trace_event *ev, const struct trace_event *all, size_t n)
{
	switch (ev->kind) {
	case TRACE_KERNEL:
		kx_kernel(k, ev);
		break;
	case TRACE_MEMCPY:
	case TRACE_MEMSET:
		kx_memop(k, ev);
		break;
	case TRACE_SYNC:
		kx_sync(k, ev);
		break;
	case TRACE_API:
		kx_api(k, ev);
		break;
	case TRACE_NVTX_RANGE:
		kx_range(k, ev, all, n);
		break;
	case TRACE_NVTX_MARK:
		kx_instant(k, "nvtx_mark", "t", ev);
		kx_name(k, ev->name, false);
		putc(',', k->f);
		kx_where(k, ev->track, ev->start);
		kx_puts(k, "}");
		break;
	case TRACE_MEM_ALLOC:
	case TRACE_MEM_FREE: {
		const struct trace_memop *m = trace_session_memop(k->s, ev->u.memop.id);
		kx_instant(k, "cpu_instant_event", "t", ev);
		kx_puts(k, "\"[memory]\",");
		kx_where(k, ev->track, ev->start);
		kx_puts(k, ",\"args\":{\"Device Type\":1,\"Device Id\":");
		kx_u64(k, m ? m->device : 0);
		kx_puts(k, ",\"Addr\":");
		kx_u64(k, m ? m->address : 0);
		kx_puts(k, ",\"Bytes\":");
		if (ev->kind == TRACE_MEM_FREE && m && m->bytes)
			putc('-', k->f);
		kx_u64(k, m ? m->bytes : 0);
		kx_puts(k, "}}");
		break;
	}
	case TRACE_COUNTER:
		kx_open(k);
		kx_puts(k, "\"ph\":\"C\",\"cat\":\"counter\",\"name\":");
		/* A counter's name is its track's (the sample's, when it has one). */
		kx_name(k, ev->name ? ev->name : trace_session_track_info(k->s, ev->track)->name, false);
		putc(',', k->f);
		kx_where(k, ev->track, ev->start);
		kx_puts(k, ",\"args\":{\"value\":");
		if (ev->flags & TRACE_FLAG_COUNTER_DOUBLE)
			kx_double(k, "%.17g", ev->u.counter_double);
		else
			kx_i64(k, ev->u.counter);
		kx_puts(k, "}}");
		break;
	case TRACE_LOST:
		kx_instant(k, "tstop_lost", "p", ev);
		kx_puts(k, "\"events lost\",");
		kx_where(k, ev->track, ev->start);
		kx_puts(k, ",\"args\":{\"count\":");
		kx_u64(k, ev->u.bytes);
		kx_puts(k, "}}");
		break;
	default:
		break;
	}
}

/* --- gzip through stdio ------------------------------------------------------------- */

/* A stdio stream that deflates what is written to it into `out`. */
struct kineto_gz {
	z_stream z;
	FILE *out;
	int err; /* errno of the first failure, or EIO */
	unsigned char buf[1 << 16];
};

/* Deflates `len` bytes with `flush`, writing full buffers to gz->out.
 * Returns 0, or -1 with gz->err set. */
static int kx_gz_run(struct kineto_gz *gz, const char *data, size_t len, int flush)
{
	gz->z.next_in = (unsigned char *)(uintptr_t)data;
	gz->z.avail_in = (uInt)len;
	for (;;) {
		gz->z.next_out = gz->buf;
		gz->z.avail_out = sizeof(gz->buf);
		int rc = deflate(&gz->z, flush);
		if (rc == Z_STREAM_ERROR) {
			gz->err = EIO;
			return -1;
		}
		size_t have = sizeof(gz->buf) - gz->z.avail_out;
		if (have && fwrite(gz->buf, 1, have, gz->out) != have) {
			gz->err = errno ? errno : EIO;
			return -1;
		}
		if (flush == Z_FINISH ? rc == Z_STREAM_END : gz->z.avail_out != 0)
			return 0;
	}
}

/* fopencookie write function: deflates the bytes. */
static ssize_t kx_gz_write(void *cookie, const char *data, size_t len)
{
	struct kineto_gz *gz = cookie;
	if (gz->err)
		return -1;
	size_t done = 0;
	while (done < len) {
		size_t n = len - done > (1u << 30) ? (1u << 30) : len - done;
		if (kx_gz_run(gz, data + done, n, Z_NO_FLUSH))
			return -1;
		done += n;
	}
	return (ssize_t)len;
}

/* fopencookie close function: ends the gzip stream. */
static int kx_gz_close(void *cookie)
{
	struct kineto_gz *gz = cookie;
	if (!gz->err)
		kx_gz_run(gz, NULL, 0, Z_FINISH);
	deflateEnd(&gz->z);
	return gz->err ? -1 : 0;
}

/* --- the document ------------------------------------------------------------------- */

/* Writes the whole document to k->f. */
static void kx_document(struct kineto *k)
{
	char buf[64];
	kx_puts(k, "{\n  \"schemaVersion\": 1,\n  ");
	kx_devices(k);
	kx_puts(k, "  \"displayTimeUnit\": \"ms\",\n  \"baseTimeNanoseconds\": ");
	snprintf(buf, sizeof(buf), "%" PRId64, k->base);
	kx_puts(k, buf);
	kx_puts(k, ",\n  \"traceEvents\": [");
	k->first = true;
	kx_metadata(k);
	uint32_t ntracks = trace_session_track_count(k->s);
	for (uint32_t t = 1; t < ntracks && !ferror(k->f); t++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(k->s, t, &n);
		for (size_t i = 0; i < n; i++) {
			kx_event(k, &ev[i], ev, n);
			if (++k->done >= k->next_progress && k->opts && k->opts->progress) {
				k->opts->progress(k->opts->progress_arg, k->done, k->total);
				k->next_progress = k->done + KINETO_PROGRESS_EVERY;
			}
		}
	}
	kx_puts(k, "\n  ],\n  \"traceName\": ");
	kx_str(k, k->opts && k->opts->name ? k->opts->name : "tstop");
	kx_puts(k, "\n}\n");
}

/* Writes session `s` to `out` as Kineto JSON (export.h). */
int export_kineto_write(struct trace_session *s, FILE *out, const struct export_options *opts, struct err *e)
{
	struct kineto k = {.s = s, .f = out, .opts = opts, .total = trace_session_event_count(s)};
	int64_t first, last;
	if (trace_session_time_range(s, &first, &last)) {
		/* The first whole second at or before the first event (floor). */
		k.base = first / 1000000000 * 1000000000;
		if (k.base > first)
			k.base -= 1000000000;
	}
	struct kineto_gz *gz = NULL;
	if (opts && opts->gzip) {
		gz = xcalloc(1, sizeof(*gz));
		gz->out = out;
		if (deflateInit2(&gz->z, KINETO_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
		    Z_OK) {
			free(gz);
			return err_fmt(e, "cannot start gzip compression (zlib)");
		}
		cookie_io_functions_t io = {.write = kx_gz_write, .close = kx_gz_close};
		k.f = fopencookie(gz, "w", io);
		if (!k.f) {
			deflateEnd(&gz->z);
			free(gz);
			return err_errno(e, errno, "cannot start gzip compression");
		}
		setvbuf(k.f, NULL, _IOFBF, 1 << 16);
	}
	kx_prepare(&k);
	flockfile(k.f);
	kx_document(&k);
	funlockfile(k.f);
	if (opts && opts->progress)
		opts->progress(opts->progress_arg, k.done, k.total);
	int rc = 0;
	if (gz) {
		bool bad = ferror(k.f) != 0;
		int zerr = 0;
		if (fclose(k.f) || bad)
			zerr = gz->err ? gz->err : EIO;
		free(gz);
		if (zerr)
			rc = err_errno(e, zerr, "cannot write the trace");
	}
	if (!rc && (fflush(out) || ferror(out)))
		rc = err_errno(e, errno ? errno : EIO, "cannot write the trace");
	free(k.place);
	free(k.pids);
	free(k.api);
	free(k.gpu);
	return rc;
}
