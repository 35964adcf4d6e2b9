/*
 * names.c - the names of the event model's enum values, as people read them
 * and as nsys writes them (its ENUM_* tables), for reports, the TUI and the
 * database's label tables. Every function returns a static string and
 * "unknown" for a value out of range.
 */
#include "trace/session.h"

#define NAME_AT(table, v) ((v) < sizeof(table) / sizeof((table)[0]) && (table)[v] ? (table)[v] : "unknown")

/* "kernel", "memcpy", ... for enum trace_kind. */
const char *trace_kind_name(unsigned kind)
{
	static const char *const names[] = {
	    [TRACE_KERNEL] = "kernel",
	    [TRACE_MEMCPY] = "memcpy",
	    [TRACE_MEMSET] = "memset",
	    [TRACE_SYNC] = "sync",
	    [TRACE_API] = "api",
	    [TRACE_NVTX_RANGE] = "nvtx_range",
	    [TRACE_NVTX_MARK] = "nvtx_mark",
	    [TRACE_MEM_ALLOC] = "mem_alloc",
	    [TRACE_MEM_FREE] = "mem_free",
	    [TRACE_COUNTER] = "counter",
	    [TRACE_LOST] = "lost",
	};
	return NAME_AT(names, kind);
}

/* nsys's ENUM_CUDA_MEMCPY_OPER labels: "HtoD", "DtoH", ... */
const char *trace_copy_kind_name(unsigned copy_kind)
{
	static const char *const names[] = {
	    [TRACE_COPY_UNKNOWN] = "unknown", [TRACE_COPY_HTOD] = "HtoD", [TRACE_COPY_DTOH] = "DtoH",
	    [TRACE_COPY_HTOA] = "HtoA",       [TRACE_COPY_ATOH] = "AtoH", [TRACE_COPY_ATOA] = "AtoA",
	    [TRACE_COPY_ATOD] = "AtoD",       [TRACE_COPY_DTOA] = "DtoA", [TRACE_COPY_DTOD] = "DtoD",
	    [TRACE_COPY_HTOH] = "HtoH",       [TRACE_COPY_PTOP] = "PtoP",
	};
	return NAME_AT(names, copy_kind);
}

/* nsys's ENUM_CUDA_MEM_KIND labels: "Pageable", "Pinned", ... */
const char *trace_mem_kind_name(unsigned mem_kind)
{
	static const char *const names[] = {
	    [TRACE_MEM_UNKNOWN] = "Unknown",
	    [TRACE_MEM_PAGEABLE] = "Pageable",
	    [TRACE_MEM_PINNED] = "Pinned",
	    [TRACE_MEM_DEVICE] = "Device",
	    [TRACE_MEM_ARRAY] = "Array",
	    [TRACE_MEM_MANAGED] = "Managed",
	    [TRACE_MEM_DEVICE_STATIC] = "Device Static",
	    [TRACE_MEM_MANAGED_STATIC] = "Managed Static",
	};
	return NAME_AT(names, mem_kind);
}

/* "event_sync", "stream_sync", ... for enum trace_sync_kind. */
const char *trace_sync_kind_name(unsigned sync_kind)
{
	static const char *const names[] = {
	    [TRACE_SYNC_UNKNOWN] = "unknown",
	    [TRACE_SYNC_EVENT] = "event_sync",
	    [TRACE_SYNC_STREAM_WAIT_EVENT] = "stream_wait_event",
	    [TRACE_SYNC_STREAM] = "stream_sync",
	    [TRACE_SYNC_CONTEXT] = "context_sync",
	    [TRACE_SYNC_DEVICE] = "device_sync",
	};
	return NAME_AT(names, sync_kind);
}

/* "CUDA runtime", "CUDA driver", "OpenCL" for enum trace_api_domain. */
const char *trace_api_domain_name(unsigned domain)
{
	static const char *const names[] = {
	    [TRACE_API_UNKNOWN] = "unknown",
	    [TRACE_API_CUDA_RUNTIME] = "CUDA runtime",
	    [TRACE_API_CUDA_DRIVER] = "CUDA driver",
	    [TRACE_API_OPENCL] = "OpenCL",
	};
	return NAME_AT(names, domain);
}

/* "thread", "stream", "counter", "process" for enum trace_track_kind. */
const char *trace_track_kind_name(unsigned kind)
{
	static const char *const names[] = {
	    [TRACE_TRACK_THREAD] = "thread",
	    [TRACE_TRACK_STREAM] = "stream",
	    [TRACE_TRACK_COUNTER] = "counter",
	    [TRACE_TRACK_PROCESS] = "process",
	};
	return NAME_AT(names, kind);
}
