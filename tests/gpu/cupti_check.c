/*
 * cupti_check.c - CUPTI decoding checked against a real GPU.
 *
 * For a machine with an NVIDIA GPU and the CUDA toolkit (tests/gpu/run.sh
 * builds and runs it; it cannot run without a GPU). It links libcupti
 * directly, enables the activity kinds tstop's collector uses, runs the
 * CUDA sample's workload (samples/cuda/streams_work.cu) once, forces a
 * flush, decodes every record with src/capture/cupti/cupti_decode.c, and
 * compares what CUPTI saw with the workload's own report of what it issued:
 *
 *   - kernels: count, names (mangled, as cudaFuncGetName gives them), grid,
 *     block and dynamic shared memory as launched, start < end, one CUPTI
 *     stream per sample stream and distinct streams, each kernel's
 *     correlation id found on a RUNTIME cudaLaunchKernel record that began
 *     before the kernel did (host and GPU times on one clock);
 *   - copies: every copy issued found with its copy kind, memory kinds and
 *     bytes; memsets likewise;
 *   - synchronizations: stream, event, stream-wait-event and context/device
 *     syncs present;
 *   - MEMORY2: every cudaMalloc seen as a device allocation of its size,
 *     and as many releases as cudaFree calls;
 *   - RUNTIME records on this thread's Linux tid (CUPTI thread id type
 *     SYSTEM, as the collector sets it);
 *   - all timestamps inside [cuptiGetTimestamp() before, after];
 *   - the 2 ms "spin" kernel's CUPTI duration against its cudaEvent timing;
 *   - no record dropped, none undecodable.
 *
 * Prints versions first (so a CUPTI/driver mismatch is visible), then the
 * records, then one line per check ("ok", "FAIL" or "warn") and a summary.
 * Exits 0 when every check passed, 1 on any failure, 2 when it could not run.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cuda_runtime_api.h>
#include <cupti.h>

#include "capture/cupti/cupti_decode.h"
#include "streams_work.h"
#include "util/xalloc.h"

#define CHECK_BUFFER_SIZE (8u << 20)

/* One decoded record, kept after its buffer went back. */
struct check_rec {
	int status;
	struct cupti_decoded d;
	char *name; /* copy of d.name, or NULL */
};

/* Everything the buffer callbacks collected (they may run on a CUPTI thread). */
static struct {
	pthread_mutex_t lock;
	struct check_rec *recs;
	size_t n, cap;
	size_t buffers;
	size_t bad_iteration; /* cuptiActivityGetNextRecord errors */
} check_data = {.lock = PTHREAD_MUTEX_INITIALIZER};

static unsigned check_failures, check_warnings;

/* Prints one check result; counts failures and warnings. */
static void check_result(bool ok, bool fatal, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check_result(bool ok, bool fatal, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : fatal ? "FAIL" : "warn");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok && fatal)
		check_failures++;
	else if (!ok)
		check_warnings++;
}

/* CUPTI's message for a result code. */
static const char *check_cupti_error(CUptiResult r)
{
	const char *s = NULL;
	if (cuptiGetResultString(r, &s) != CUPTI_SUCCESS || !s)
		return "unknown CUPTI error";
	return s;
}

/* Gives CUPTI an empty 8-byte-aligned buffer; freed in check_buffer_done(). */
static void CUPTIAPI check_buffer_request(uint8_t **buffer, size_t *size, size_t *max_records)
{
	*buffer = aligned_alloc(8, CHECK_BUFFER_SIZE);
	*size = *buffer ? CHECK_BUFFER_SIZE : 0;
	*max_records = 0;
}

/* Decodes every record of a full buffer into check_data, then frees it. */
static void CUPTIAPI check_buffer_done(CUcontext ctx, uint32_t stream, uint8_t *buffer, size_t size,
                                       size_t valid)
{
	CUpti_Activity *rec = NULL;

	pthread_mutex_lock(&check_data.lock);
	check_data.buffers++;
	for (;;) {
		CUptiResult r = cuptiActivityGetNextRecord(buffer, valid, &rec);
		if (r == CUPTI_ERROR_MAX_LIMIT_REACHED)
			break;
		if (r != CUPTI_SUCCESS) {
			check_data.bad_iteration++;
			break;
		}
		check_data.recs =
		    xgrow(check_data.recs, &check_data.cap, check_data.n + 1, sizeof(*check_data.recs));
		struct check_rec *c = &check_data.recs[check_data.n++];
		c->status = cupti_decode(rec, &c->d);
		c->name = c->d.name ? xstrdup(c->d.name) : NULL;
		c->d.name = c->name;
		c->d.domain = NULL;
	}
	pthread_mutex_unlock(&check_data.lock);
	free(buffer);
}

/* Enables one activity kind; refused, it is a failure when `needed`, else a
 * warning. */
static void check_enable(CUpti_ActivityKind kind, bool needed)
{
	CUptiResult r = cuptiActivityEnable(kind);
	check_result(r == CUPTI_SUCCESS, needed, "enable %s: %s", cupti_activity_kind_name(kind),
	             r == CUPTI_SUCCESS ? "enabled" : check_cupti_error(r));
}

/* The name of API callback (domain, cbid), or "?". */
static const char *check_api_name(uint32_t cb_domain, uint32_t cbid)
{
	const char *name = NULL;
	if (cuptiGetCallbackName((CUpti_CallbackDomain)cb_domain, cbid, &name) != CUPTI_SUCCESS || !name)
		return "?";
	return name;
}

/* The API record of `domain` with correlation id `corr`, or NULL. */
static const struct check_rec *check_find_api(unsigned domain, uint32_t corr)
{
	for (size_t i = 0; i < check_data.n; i++) {
		const struct check_rec *c = &check_data.recs[i];
		if (c->status == CUPTI_DECODE_EVENT && c->d.ev.kind == TRACE_API &&
		    c->d.api_domain == domain && c->d.ev.correlation == corr)
			return c;
	}
	return NULL;
}

static const char *check_copy_name(unsigned k)
{
	static const char *names[] = {"unknown", "HtoD", "DtoH", "HtoA", "AtoH", "AtoA",
	                              "AtoD",    "DtoA", "DtoD", "HtoH", "PtoP"};
	return k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

static const char *check_mem_name(unsigned k)
{
	static const char *names[] = {"unknown", "pageable", "pinned",        "device",
	                              "array",   "managed",  "device_static", "managed_static"};
	return k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* Prints every decoded record, one a line. */
static void check_print_records(void)
{
	for (size_t i = 0; i < check_data.n; i++) {
		const struct check_rec *c = &check_data.recs[i];
		const struct cupti_decoded *d = &c->d;
		const struct trace_event *ev = &d->ev;

		printf("  %-17s st=%d ", cupti_activity_kind_name(d->cupti_kind), c->status);
		if (c->status == CUPTI_DECODE_DEVICE) {
			printf("device %u '%s' sm_%u%u sms %u mem %llu warp %u\n", d->device,
			       c->name ? c->name : "", d->device_info.cc_major, d->device_info.cc_minor,
			       d->device_info.sm_count, (unsigned long long)d->device_info.global_memory,
			       d->device_info.warp_size);
			continue;
		}
		if (c->status == CUPTI_DECODE_CONTEXT || c->status == CUPTI_DECODE_NAME) {
			printf("owner %u device %u context %u stream %u name '%s'\n", d->owner, d->device,
			       d->context, d->stream, c->name ? c->name : "");
			continue;
		}
		if (c->status < 0) {
			printf("(skipped)\n");
			continue;
		}
		printf("[%lld, %lld] %lld ns corr %u flags 0x%x ", (long long)ev->start, (long long)ev->end,
		       (long long)(ev->end - ev->start), ev->correlation, ev->flags);
		switch (ev->kind) {
		case TRACE_KERNEL:
			printf("kernel %s dev %u ctx %u stream %u grid %u,%u,%u block %u,%u,%u regs %u smem "
			       "%u+%u "
			       "cluster %u,%u,%u\n",
			       c->name ? c->name : "?", d->device, d->context, d->stream, d->launch.grid[0],
			       d->launch.grid[1], d->launch.grid[2], d->launch.block[0], d->launch.block[1],
			       d->launch.block[2], d->launch.registers, d->launch.static_smem,
			       d->launch.dynamic_smem, d->launch.cluster[0], d->launch.cluster[1],
			       d->launch.cluster[2]);
			break;
		case TRACE_MEMCPY:
			printf("memcpy %s %s->%s bytes %llu stream %u runtime_corr %u count %llu %s\n",
			       check_copy_name(trace_memcpy_copy_kind(ev)),
			       check_mem_name(trace_memcpy_src_kind(ev)),
			       check_mem_name(trace_memcpy_dst_kind(ev)), (unsigned long long)ev->u.bytes,
			       d->stream, d->runtime_correlation, (unsigned long long)d->copy_count,
			       d->async ? "async" : "sync");
			break;
		case TRACE_MEMSET:
			printf("memset %s bytes %llu value %u stream %u\n", check_mem_name(ev->sub),
			       (unsigned long long)ev->u.bytes, d->memset_value, d->stream);
			break;
		case TRACE_SYNC:
			printf("sync type %u owner %u ctx %u stream %u event %s%u result %u\n", ev->sub,
			       d->owner, d->context, d->stream, d->has_sync_event ? "" : "(none)",
			       d->sync_event_id, d->result);
			break;
		case TRACE_API:
			if (d->api_domain == TRACE_API_UNKNOWN)
				printf("overhead '%s' owner %u pid %u tid %u\n", c->name ? c->name : "",
				       d->owner, d->pid, d->tid);
			else
				printf("%s %s (cbid %u) pid %u tid %u result %d\n",
				       d->api_domain == TRACE_API_CUDA_RUNTIME ? "runtime" : "driver",
				       c->name ? c->name : check_api_name(d->cb_domain, d->cbid), d->cbid,
				       d->pid, d->tid, trace_api_result(ev));
			break;
		case TRACE_MEM_ALLOC:
		case TRACE_MEM_FREE:
			printf("%s %s address 0x%llx bytes %llu device %u pid %u\n",
			       ev->kind == TRACE_MEM_ALLOC ? "alloc" : "free",
			       check_mem_name(d->memop.mem_kind), (unsigned long long)d->memop.address,
			       (unsigned long long)d->memop.bytes, d->memop.device, d->pid);
			break;
		default:
			printf("kind %u\n", ev->kind);
			break;
		}
	}
}

/* Kernels: each launch found once, as launched, on consistent streams,
 * correlated with its cudaLaunchKernel record. */
static void check_kernels(const struct streams_report *rep)
{
	bool *used = xcalloc(check_data.n ? check_data.n : 1, sizeof(bool));
	uint32_t stream_of[STREAMS_NSTREAMS] = {0};
	bool stream_known[STREAMS_NSTREAMS] = {false};
	size_t kernels = 0;

	for (size_t i = 0; i < check_data.n; i++)
		if (check_data.recs[i].status == CUPTI_DECODE_EVENT &&
		    check_data.recs[i].d.ev.kind == TRACE_KERNEL)
			kernels++;
	check_result(kernels == rep->n_launches, true, "kernels: %zu decoded, %u launched", kernels,
	             rep->n_launches);

	for (unsigned k = 0; k < rep->n_launches; k++) {
		const struct streams_launch *l = &rep->launches[k];
		const struct check_rec *found = NULL;
		bool exact = false;

		for (int pass = 0; pass < 2 && !found; pass++) {
			for (size_t i = 0; i < check_data.n; i++) {
				const struct check_rec *c = &check_data.recs[i];
				const struct trace_launch *g = &c->d.launch;
				if (used[i] || c->status != CUPTI_DECODE_EVENT ||
				    c->d.ev.kind != TRACE_KERNEL || !c->name)
					continue;
				bool name_ok = pass == 0 ? strcmp(c->name, l->name) == 0
				                         : strstr(c->name, l->label) != NULL;
				if (!name_ok || memcmp(g->grid, l->grid, sizeof(g->grid)) != 0 ||
				    memcmp(g->block, l->block, sizeof(g->block)) != 0 ||
				    g->dynamic_smem != l->dynamic_smem)
					continue;
				found = c;
				exact = pass == 0;
				used[i] = true;
				break;
			}
		}
		if (!found) {
			check_result(false, true,
			             "kernel %s (%s) grid %u,%u,%u block %u,%u,%u smem %u: not found",
			             l->label, l->name, l->grid[0], l->grid[1], l->grid[2], l->block[0],
			             l->block[1], l->block[2], l->dynamic_smem);
			continue;
		}
		const struct cupti_decoded *d = &found->d;
		check_result(exact, false, "kernel %s: name %s %s %s", l->label, found->name,
		             exact ? "==" : "contains the label but differs from", l->name);
		check_result(d->ev.start < d->ev.end && !(d->ev.flags & TRACE_FLAG_OPEN), true,
		             "kernel %s: start %lld < end %lld, closed", l->label, (long long)d->ev.start,
		             (long long)d->ev.end);
		if (!stream_known[l->stream]) {
			stream_known[l->stream] = true;
			stream_of[l->stream] = d->stream;
		}
		check_result(stream_of[l->stream] == d->stream, true,
		             "kernel %s: sample stream %d is CUPTI stream %u", l->label, l->stream,
		             d->stream);

		const struct check_rec *rt = check_find_api(TRACE_API_CUDA_RUNTIME, d->ev.correlation);
		const struct check_rec *drv = check_find_api(TRACE_API_CUDA_DRIVER, d->ev.correlation);
		const char *rt_name = rt ? check_api_name(rt->d.cb_domain, rt->d.cbid) : "none";
		check_result(rt && strstr(rt_name, "LaunchKernel"), true,
		             "kernel %s: correlation %u -> runtime %s (driver %s)", l->label,
		             d->ev.correlation, rt_name,
		             drv ? check_api_name(drv->d.cb_domain, drv->d.cbid) : "none");
		if (rt)
			check_result(rt->d.ev.start <= d->ev.start, true,
			             "kernel %s: launched at %lld, ran at %lld (one clock)", l->label,
			             (long long)rt->d.ev.start, (long long)d->ev.start);
	}
	for (int a = 0; a < STREAMS_NSTREAMS; a++)
		for (int b = a + 1; b < STREAMS_NSTREAMS; b++)
			if (stream_known[a] && stream_known[b])
				check_result(stream_of[a] != stream_of[b], true,
				             "sample streams %d and %d distinct (%u, %u)", a, b, stream_of[a],
				             stream_of[b]);
	free(used);
}

/* Copies and memsets: each issued one found with its kinds and size. */
static void check_copies(const struct streams_report *rep)
{
	bool *used = xcalloc(check_data.n ? check_data.n : 1, sizeof(bool));
	size_t copies = 0, memsets = 0;

	for (unsigned k = 0; k < rep->n_copies; k++) {
		const struct streams_copy *want = &rep->copies[k];
		const struct check_rec *found = NULL;
		for (size_t i = 0; i < check_data.n && !found; i++) {
			const struct check_rec *c = &check_data.recs[i];
			const struct trace_event *ev = &c->d.ev;
			if (used[i] || c->status != CUPTI_DECODE_EVENT || ev->kind != TRACE_MEMCPY)
				continue;
			if (trace_memcpy_copy_kind(ev) == (unsigned)want->copy_kind &&
			    trace_memcpy_src_kind(ev) == (unsigned)want->src_kind &&
			    trace_memcpy_dst_kind(ev) == (unsigned)want->dst_kind &&
			    ev->u.bytes == want->bytes) {
				found = c;
				used[i] = true;
			}
		}
		check_result(found != NULL, true, "copy %s %s->%s %llu bytes (%s): %s",
		             check_copy_name(want->copy_kind), check_mem_name(want->src_kind),
		             check_mem_name(want->dst_kind), (unsigned long long)want->bytes,
		             want->async ? "async" : "sync", found ? "found" : "NOT FOUND");
		if (found) {
			const struct check_rec *rt =
			    check_find_api(TRACE_API_CUDA_RUNTIME, found->d.ev.correlation);
			const char *rt_name = rt ? check_api_name(rt->d.cb_domain, rt->d.cbid) : "none";
			check_result(rt && strstr(rt_name, "Memcpy"), false,
			             "copy correlation %u -> runtime %s", found->d.ev.correlation, rt_name);
			check_result(found->d.ev.start <= found->d.ev.end &&
			                 !(found->d.ev.flags & TRACE_FLAG_OPEN),
			             true, "copy start <= end, closed");
		}
	}
	for (size_t i = 0; i < check_data.n; i++) {
		const struct check_rec *c = &check_data.recs[i];
		if (c->status == CUPTI_DECODE_EVENT && c->d.ev.kind == TRACE_MEMCPY)
			copies++;
	}
	check_result(copies == rep->n_copies, false, "copies: %zu decoded, %u issued", copies, rep->n_copies);

	for (unsigned k = 0; k < rep->n_memsets; k++) {
		const struct check_rec *found = NULL;
		for (size_t i = 0; i < check_data.n && !found; i++) {
			const struct check_rec *c = &check_data.recs[i];
			if (!used[i] && c->status == CUPTI_DECODE_EVENT && c->d.ev.kind == TRACE_MEMSET &&
			    c->d.ev.u.bytes == rep->memset_bytes[k]) {
				found = c;
				used[i] = true;
			}
		}
		check_result(found && found->d.ev.sub == TRACE_MEM_DEVICE, true,
		             "memset %llu bytes of device memory: %s",
		             (unsigned long long)rep->memset_bytes[k],
		             found ? check_mem_name(found->d.ev.sub) : "NOT FOUND");
	}
	for (size_t i = 0; i < check_data.n; i++)
		if (check_data.recs[i].status == CUPTI_DECODE_EVENT &&
		    check_data.recs[i].d.ev.kind == TRACE_MEMSET)
			memsets++;
	check_result(memsets == rep->n_memsets, true, "memsets: %zu decoded, %u issued", memsets,
	             rep->n_memsets);
	free(used);
}

/* Synchronizations by type, context syncs refined by their API record. */
static void check_syncs(const struct streams_report *rep)
{
	unsigned by_kind[TRACE_SYNC_KIND_MAX + 1] = {0};
	unsigned min_event = UINT32_MAX;

	for (size_t i = 0; i < check_data.n; i++) {
		const struct check_rec *c = &check_data.recs[i];
		if (c->status != CUPTI_DECODE_EVENT || c->d.ev.kind != TRACE_SYNC)
			continue;
		unsigned kind = c->d.ev.sub;
		const struct check_rec *rt = check_find_api(TRACE_API_CUDA_RUNTIME, c->d.ev.correlation);
		if (rt)
			kind = cupti_sync_kind_for_api(kind, TRACE_API_CUDA_RUNTIME, rt->d.cbid);
		if (kind <= TRACE_SYNC_KIND_MAX)
			by_kind[kind]++;
		if (c->d.has_sync_event && c->d.sync_event_id < min_event)
			min_event = c->d.sync_event_id;
	}
	printf("sync records: unknown %u event %u stream_wait_event %u stream %u context %u device %u; "
	       "smallest CUDA event id %u\n",
	       by_kind[0], by_kind[1], by_kind[2], by_kind[3], by_kind[4], by_kind[5], min_event);
	check_result(by_kind[TRACE_SYNC_STREAM] >= rep->stream_syncs, true,
	             "stream syncs: %u recorded, %u called", by_kind[TRACE_SYNC_STREAM], rep->stream_syncs);
	check_result(by_kind[TRACE_SYNC_EVENT] >= rep->event_syncs, true,
	             "event syncs: %u recorded, %u called", by_kind[TRACE_SYNC_EVENT], rep->event_syncs);
	check_result(by_kind[TRACE_SYNC_STREAM_WAIT_EVENT] >= rep->stream_waits, true,
	             "stream waits: %u recorded, %u called", by_kind[TRACE_SYNC_STREAM_WAIT_EVENT],
	             rep->stream_waits);
	check_result(by_kind[TRACE_SYNC_CONTEXT] + by_kind[TRACE_SYNC_DEVICE] >= rep->device_syncs, true,
	             "context/device syncs: %u recorded, %u cudaDeviceSynchronize called",
	             by_kind[TRACE_SYNC_CONTEXT] + by_kind[TRACE_SYNC_DEVICE], rep->device_syncs);
	check_result(by_kind[TRACE_SYNC_DEVICE] >= rep->device_syncs, false,
	             "device syncs recognised through the runtime cbid: %u", by_kind[TRACE_SYNC_DEVICE]);
}

/* MEMORY2: allocations of the sizes cudaMalloc'd, and the releases. */
static void check_memory(const struct streams_report *rep)
{
	bool *used = xcalloc(check_data.n ? check_data.n : 1, sizeof(bool));
	unsigned frees = 0;

	for (unsigned k = 0; k < rep->n_allocs; k++) {
		uint64_t want = rep->alloc_bytes[k];
		uint64_t granule = 2ull << 20;
		uint64_t rounded = (want + granule - 1) / granule * granule;
		const struct check_rec *found = NULL;
		/* The exact size first; else a size the allocator rounded up
		 * (to at most its 2 MiB granule), which is only a warning. */
		for (int pass = 0; pass < 2 && !found; pass++) {
			for (size_t i = 0; i < check_data.n && !found; i++) {
				const struct check_rec *c = &check_data.recs[i];
				uint64_t got = c->d.memop.bytes;
				if (used[i] || c->status != CUPTI_DECODE_EVENT ||
				    c->d.ev.kind != TRACE_MEM_ALLOC ||
				    c->d.memop.mem_kind != TRACE_MEM_DEVICE)
					continue;
				if (pass == 0 ? got == want : got > want && got <= rounded) {
					found = c;
					used[i] = true;
				}
			}
		}
		check_result(found != NULL, true, "cudaMalloc %llu bytes: device allocation %s",
		             (unsigned long long)want, found ? "found" : "NOT FOUND");
		if (found)
			check_result(found->d.memop.bytes == want && found->d.memop.address != 0, false,
			             "cudaMalloc %llu bytes: recorded %llu bytes at 0x%llx",
			             (unsigned long long)want, (unsigned long long)found->d.memop.bytes,
			             (unsigned long long)found->d.memop.address);
	}
	for (size_t i = 0; i < check_data.n; i++)
		if (check_data.recs[i].status == CUPTI_DECODE_EVENT &&
		    check_data.recs[i].d.ev.kind == TRACE_MEM_FREE &&
		    check_data.recs[i].d.memop.mem_kind == TRACE_MEM_DEVICE)
			frees++;
	check_result(frees >= rep->n_frees, true, "device releases: %u recorded, %u cudaFree", frees,
	             rep->n_frees);
	free(used);
}

/* Everything else: threads, clock range, spin timing, devices, skips. */
static void check_misc(const struct streams_report *rep, int64_t t_begin, int64_t t_end, uint32_t tid)
{
	size_t wrong_tid = 0, runtime = 0, out_of_range = 0, open = 0, devices = 0, contexts = 0;
	size_t skipped[4] = {0}; /* by -status */
	const struct check_rec *spin = NULL;

	for (size_t i = 0; i < check_data.n; i++) {
		const struct check_rec *c = &check_data.recs[i];
		const struct cupti_decoded *d = &c->d;
		if (c->status < 0) {
			if (-c->status < 4)
				skipped[-c->status]++;
			continue;
		}
		if (c->status == CUPTI_DECODE_DEVICE) {
			devices++;
			check_result(d->device_info.cc_major == (unsigned)rep->cc_major &&
			                 d->device_info.cc_minor == (unsigned)rep->cc_minor &&
			                 d->device_info.sm_count > 0 && d->device_info.global_memory > 0,
			             true, "device record %u: sm_%u%u, %u SMs, %llu bytes", d->device,
			             d->device_info.cc_major, d->device_info.cc_minor,
			             d->device_info.sm_count,
			             (unsigned long long)d->device_info.global_memory);
			check_result(c->name && strcmp(c->name, rep->device_name) == 0, false,
			             "device name '%s' == '%s'", c->name ? c->name : "", rep->device_name);
			continue;
		}
		if (c->status == CUPTI_DECODE_CONTEXT)
			contexts++;
		if (c->status != CUPTI_DECODE_EVENT)
			continue;
		if (d->ev.kind == TRACE_API && d->api_domain == TRACE_API_CUDA_RUNTIME) {
			runtime++;
			if (d->tid != tid)
				wrong_tid++;
		}
		if (d->ev.flags & TRACE_FLAG_OPEN)
			open++;
		bool overhead = d->ev.kind == TRACE_API && d->api_domain == TRACE_API_UNKNOWN;
		if (!overhead && (d->ev.start < t_begin || d->ev.end > t_end))
			out_of_range++;
		if (d->ev.kind == TRACE_KERNEL && c->name && strstr(c->name, rep->timed_kernel) &&
		    (!spin || d->ev.end - d->ev.start > spin->d.ev.end - spin->d.ev.start))
			spin = c;
	}
	check_result(runtime > 0 && wrong_tid == 0, true, "runtime records on tid %u: %zu of %zu", tid,
	             runtime - wrong_tid, runtime);
	check_result(out_of_range == 0, true, "events outside [%lld, %lld]: %zu", (long long)t_begin,
	             (long long)t_end, out_of_range);
	check_result(open == 0, true, "open (unfinished) events: %zu", open);
	/* On an H100 with driver 580 and CUPTI 13.0 no DEVICE record arrived
	 * although the kind was enabled before the first CUDA call: the
	 * collector reads device properties from the driver API instead, and
	 * this stays a warning so that a later CUPTI that sends them shows up. */
	check_result(devices >= 1, false, "device records: %zu", devices);
	check_result(contexts >= 1, false, "context records: %zu", contexts);
	check_result(skipped[-CUPTI_DECODE_INVALID] == 0, true, "invalid records: %zu",
	             skipped[-CUPTI_DECODE_INVALID]);
	check_result(skipped[-CUPTI_DECODE_UNKNOWN] == 0, false, "unknown-kind records: %zu",
	             skipped[-CUPTI_DECODE_UNKNOWN]);
	check_result(skipped[-CUPTI_DECODE_UNTIMED] == 0, false, "untimed records: %zu",
	             skipped[-CUPTI_DECODE_UNTIMED]);
	check_result(check_data.bad_iteration == 0, true, "buffer iteration errors: %zu",
	             check_data.bad_iteration);
	if (spin) {
		double cupti_ms = (double)(spin->d.ev.end - spin->d.ev.start) / 1e6;
		double event_ms = rep->timed_kernel_ms;
		/* The events bracket the kernel on its stream, so they also hold
		 * its launch latency (and, on a first launch, lazy module
		 * loading): CUPTI's span may be shorter, never longer. */
		double slack = 0.05;
		printf("timed kernel %s: CUPTI %.4f ms, cudaEvent %.4f ms, events - CUPTI = %.4f ms\n",
		       rep->timed_kernel, cupti_ms, event_ms, event_ms - cupti_ms);
		check_result(cupti_ms >= 1.9 && cupti_ms <= event_ms + slack, true,
		             "spin duration: 1.9 ms <= CUPTI %.4f ms <= cudaEvent %.4f ms + %.2f ms",
		             cupti_ms, event_ms, slack);
	} else {
		check_result(false, true, "timed kernel %s not found", rep->timed_kernel);
	}
}

int main(void)
{
	static const CUpti_ActivityKind kinds[] = {
	    CUPTI_ACTIVITY_KIND_DEVICE,  CUPTI_ACTIVITY_KIND_CONTEXT,  CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL,
	    CUPTI_ACTIVITY_KIND_MEMCPY,  CUPTI_ACTIVITY_KIND_MEMCPY2,  CUPTI_ACTIVITY_KIND_MEMSET,
	    CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_ACTIVITY_KIND_DRIVER,   CUPTI_ACTIVITY_KIND_SYNCHRONIZATION,
	    CUPTI_ACTIVITY_KIND_MEMORY2, CUPTI_ACTIVITY_KIND_OVERHEAD,
	};
	static struct streams_report rep;
	uint32_t cupti_version = 0;
	int driver = 0, runtime = 0;
	uint64_t t0 = 0, t1 = 0;
	size_t dropped = 0;
	uint32_t tid = (uint32_t)syscall(SYS_gettid);
	CUptiResult r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	cuptiGetVersion(&cupti_version);
	cudaDriverGetVersion(&driver);
	cudaRuntimeGetVersion(&runtime);
	printf("CUPTI API version: loaded %u, headers %u; CUDA driver %d, runtime %d\n", cupti_version,
	       (unsigned)CUPTI_API_VERSION, driver, runtime);
	if (!cupti_decode_version_supported(cupti_version)) {
		printf("FAIL the loaded CUPTI (%u) has record layouts this decoder does not read\n",
		       cupti_version);
		return 2;
	}

	cuptiGetTimestamp(&t0);
	r = cuptiSetThreadIdType(CUPTI_ACTIVITY_THREAD_ID_TYPE_SYSTEM);
	check_result(r == CUPTI_SUCCESS, true, "thread id type SYSTEM: %s", check_cupti_error(r));
	r = cuptiActivityRegisterCallbacks(check_buffer_request, check_buffer_done);
	if (r != CUPTI_SUCCESS) {
		printf("FAIL cuptiActivityRegisterCallbacks: %s\n", check_cupti_error(r));
		return 2;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		check_enable(kinds[i], kinds[i] != CUPTI_ACTIVITY_KIND_DEVICE &&
		                           kinds[i] != CUPTI_ACTIVITY_KIND_CONTEXT);

	int rc = streams_work_run(&rep);
	cudaDeviceSynchronize();
	r = cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
	check_result(r == CUPTI_SUCCESS, true, "cuptiActivityFlushAll(FORCED): %s", check_cupti_error(r));
	cuptiGetTimestamp(&t1);
	r = cuptiActivityGetNumDroppedRecords(NULL, 0, &dropped);
	check_result(r == CUPTI_SUCCESS && dropped == 0, true, "dropped records: %zu (%s)", dropped,
	             check_cupti_error(r));

	printf("--- workload report\n");
	streams_work_print(&rep, stdout);
	if (rc != 0) {
		printf("FAIL the workload failed: %s\n", rep.error);
		return 2;
	}

	pthread_mutex_lock(&check_data.lock);
	printf("--- %zu records in %zu buffers\n", check_data.n, check_data.buffers);
	check_print_records();
	printf("--- checks\n");
	check_kernels(&rep);
	check_copies(&rep);
	check_syncs(&rep);
	check_memory(&rep);
	check_misc(&rep, (int64_t)t0, (int64_t)t1, tid);
	pthread_mutex_unlock(&check_data.lock);

	printf("--- summary: %u failed, %u warnings, %zu records decoded\n", check_failures, check_warnings,
	       check_data.n);
	printf("%s\n", check_failures ? "CUPTI CHECK FAILED" : "CUPTI CHECK PASSED");
	pthread_mutex_lock(&check_data.lock);
	for (size_t i = 0; i < check_data.n; i++)
		free(check_data.recs[i].name);
	free(check_data.recs);
	check_data.recs = NULL; /* CUPTI may still hand back buffers at exit */
	check_data.n = check_data.cap = 0;
	pthread_mutex_unlock(&check_data.lock);
	return check_failures ? 1 : 0;
}
