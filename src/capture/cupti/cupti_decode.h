/*
 * cupti_decode.h - turn one CUPTI activity record into tstop's event model.
 *
 * The collector (libtstop-inject.so, running inside the target) receives
 * buffers of CUPTI activity records and walks them with
 * cuptiActivityGetNextRecord(). Each record is handed to cupti_decode(),
 * which reads it through the real struct that the installed cupti headers
 * declare for its kind (CUpti_ActivityKernel10, CUpti_ActivityMemcpy6, ...)
 * and fills a `struct cupti_decoded`: a struct trace_event whose name and
 * track are left for the caller, plus the raw identity the caller needs to
 * build them (CUPTI device/context/stream ids or process/thread ids, the name
 * pointer inside the record, the API domain and callback id) and the side
 * table values (launch configuration, memory operation) it interns itself.
 *
 * Everything here is a pure function of the record's bytes: no CUPTI call,
 * no libcupti link, no session. Only the headers' struct layouts are used,
 * so this file builds and is unit-tested on machines without a GPU.
 *
 * What the decoder does NOT do, on purpose, because it needs libcupti or
 * the collector's state:
 *   - API function names: cuptiGetCallbackName(cb_domain, cbid) gives them;
 *     the decoder leaves `name` NULL for RUNTIME and DRIVER records.
 *   - clock alignment: timestamps are CUPTI's nanoseconds, passed through
 *     (the collector registers cuptiActivityRegisterTimestampCallback so
 *     that they already are on the session clock);
 *   - the process id of GPU-side records (CUPTI records carry none: they are
 *     the collector's own process);
 *   - the device of a synchronization record (it carries only a context id;
 *     the collector maps contexts to devices);
 *   - CUPTI thread ids are what cuptiSetThreadIdType() chose: the collector
 *     sets CUPTI_ACTIVITY_THREAD_ID_TYPE_SYSTEM so they are Linux tids.
 *
 * Record versions: the layouts are those of the headers this file is built
 * with (CUPTI_API_VERSION). A CUPTI library emits the newest struct version
 * it knows. When CUPTI versions a record it appends fields or turns padding
 * into fields (Kernel9 -> Kernel10, Memset3 -> Memset4, Device4 -> Device5,
 * ... all keep their prefix), and CUDA 13 removed the older versions, so a
 * library of the same CUDA major version is read correctly; older ones
 * (API versions below 130000) are not. cupti_decode_version_supported()
 * says whether a loaded library's version qualifies; the collector must
 * not decode records of a library that does not.
 *
 * Ownership: nothing is allocated. Pointers in the output (`name`, `domain`)
 * point into the record or into CUPTI's own memory and are valid while the
 * record's buffer is; the caller copies (interns) what it keeps. CUPTI says
 * the caller frees a DEVICE record's name and an OVERHEAD record's
 * overheadData with free(); the decoder never frees anything.
 */
#ifndef TSTOP_CAPTURE_CUPTI_DECODE_H
#define TSTOP_CAPTURE_CUPTI_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include <cupti_activity.h>

#include "trace/event.h"
#include "trace/session.h"

/* What cupti_decode() made of a record. Negative values are records that
 * were skipped: the caller counts them, nothing in the output is meaningful
 * except `cupti_kind`. */
enum cupti_decode_status {
	CUPTI_DECODE_EVENT = 0,        /* `ev` (and the identity) hold an event */
	CUPTI_DECODE_MARKER_START = 1, /* NVTX range start (via CUPTI): `ev` is a TRACE_NVTX_RANGE with
					* end == start; pair it by `marker_id` with its end */
	CUPTI_DECODE_MARKER_END = 2,   /* NVTX range end: `ev.start` is the end time, `marker_id` the range */
	CUPTI_DECODE_DEVICE = 3,       /* `device` describes a GPU; `name` is its name */
	CUPTI_DECODE_NAME = 4,         /* `name` names the object in `owner` (thread, device, stream...) */
	CUPTI_DECODE_CONTEXT = 5,      /* a CUDA context: `context` lives on `device`; `stream` is the id
					* of its NULL stream */
	CUPTI_DECODE_UNKNOWN = -1,     /* a kind this decoder does not read: skipped */
	CUPTI_DECODE_UNTIMED = -2,     /* a known kind whose start and end are both 0 (CUPTI could not
					* time it): every field but the times is filled, the caller
					* counts it as skipped */
	CUPTI_DECODE_INVALID = -3,     /* NULL record, or a value no valid record has (a timestamp beyond
					* INT64_MAX): skipped, never misread */
};

/* Which object a decoded record belongs to. The values are those of
 * CUpti_ActivityObjectKind (checked in cupti_decode.c). */
enum cupti_owner {
	CUPTI_OWNER_UNKNOWN = 0,
	CUPTI_OWNER_PROCESS = 1, /* pid (0 when the record has none: the caller's own process) */
	CUPTI_OWNER_THREAD = 2,  /* pid, tid */
	CUPTI_OWNER_DEVICE = 3,  /* device */
	CUPTI_OWNER_CONTEXT = 4, /* device (when has_device), context */
	CUPTI_OWNER_STREAM = 5,  /* device (when has_device), context, stream */
};

/* Stored in `sub` of an API event whose result code does not fit in int16
 * (no CUDA error code does today; this keeps a future one from being read as
 * another). The full code is in cupti_decoded.result. */
#define CUPTI_DECODE_RESULT_TOO_BIG INT16_MIN

/*
 * One decoded record. Which members are meaningful depends on the status
 * and on ev.kind:
 *
 *   status / ev.kind     owner     also filled
 *   EVENT KERNEL         STREAM    name (kernel, mangled), launch, grid_id
 *   EVENT MEMCPY         STREAM    runtime_correlation, copy_count, async,
 *                                  src/dst_device, src/dst_context (peer copies)
 *   EVENT MEMSET         STREAM    memset_value, async
 *   EVENT SYNC           STREAM or CONTEXT (no stream); has_device false;
 *                                  sync_event_id, sync_event_sync_id, result
 *   EVENT API            THREAD    api_domain, cb_domain, cbid, result;
 *                                  name NULL (use cuptiGetCallbackName), except
 *                                  for internal launches
 *   EVENT API (overhead) THREAD, PROCESS, DEVICE, CONTEXT or STREAM by the
 *                                  record; api_domain UNKNOWN, cbid = overhead
 *                                  kind, name = cupti_overhead_kind_name()
 *   EVENT MEM_ALLOC/FREE PROCESS   memop (address, bytes, CUPTI device id,
 *                                  memory kind), context, stream, name (symbol
 *                                  or NULL), memop_async
 *   EVENT NVTX_MARK      by record name, domain (NULL = default domain), marker_id
 *   MARKER_START/END     by record name (start only), domain, marker_id
 *   DEVICE               DEVICE    device, device_info (its name left 0), name
 *   CONTEXT              CONTEXT   device, context, stream (the NULL stream)
 *   NAME                 by record name
 *
 * ev.name, ev.track and ev.u.kernel.launch / ev.u.memop.id are always 0: the
 * caller interns `name`, the track and the side-table values and sets them.
 * ev.u.api.stack is 0 too (stacks come from the callback API).
 */
struct cupti_decoded {
	uint32_t cupti_kind; /* CUpti_ActivityKind of the record, even when skipped */
	struct trace_event ev;

	/* Identity: CUPTI's own ids, untranslated. */
	uint8_t owner;   /* enum cupti_owner */
	bool has_device; /* `device` is known (CUPTI device ids start at 0) */
	uint32_t pid;
	uint32_t tid;
	uint32_t device;
	uint32_t context;
	uint32_t stream;

	/* Strings inside the record (see Ownership above); NULL when absent. */
	const char *name;
	const char *domain; /* NVTX domain of a marker, NULL = default domain */

	/* API calls. */
	uint8_t api_domain; /* enum trace_api_domain */
	uint32_t cb_domain; /* CUpti_CallbackDomain, for cuptiGetCallbackName() */
	uint32_t cbid;      /* CUpti_CallbackId, or the overhead kind */
	uint32_t result;    /* the record's returnValue, in full */

	/* Kernels. */
	struct trace_launch launch;
	int64_t grid_id;

	/* Copies and sets. */
	uint32_t runtime_correlation;      /* MEMCPY: correlation id of the runtime API call */
	uint64_t copy_count;               /* MEMCPY: copies batched in this record (1 unless batched) */
	uint32_t src_device, dst_device;   /* MEMCPY2 (peer) */
	uint32_t src_context, dst_context; /* MEMCPY2 (peer) */
	uint32_t memset_value;
	bool async; /* MEMCPY/MEMSET flagged asynchronous */

	/* Synchronization. */
	bool has_sync_event;         /* the record names a CUDA event */
	uint32_t sync_event_id;      /* CUDA event id (also in ev.u.sync.event) */
	uint64_t sync_event_sync_id; /* CUPTI's unique id of that event record, 0 = none */

	/* Memory allocation and release. */
	struct trace_memop memop;
	bool memop_async; /* stream-ordered (async) allocation */

	/* Markers. */
	uint32_t marker_id;

	/* Devices. */
	struct trace_device device_info;
};

/* Decodes the activity record `rec` into *out (which is zeroed first) and
 * returns what it was (enum cupti_decode_status). `rec` must point to a
 * whole record of the kind its first field says, as cuptiActivityGetNextRecord
 * returns them; NULL yields CUPTI_DECODE_INVALID. Timestamps pass through;
 * an end before the start (CUPTI reports 0 for an end it did not see) gives
 * end = start and TRACE_FLAG_OPEN. Never allocates, never calls CUPTI. */
int cupti_decode(const CUpti_Activity *rec, struct cupti_decoded *out);

/* True when records produced by a CUPTI library of API version
 * `api_version` (cuptiGetVersion) have the layouts this decoder reads: the
 * same CUDA major version as the headers it was built with. */
bool cupti_decode_version_supported(uint32_t api_version);

/* The tstop synchronization kind for a CUPTI sync record of kind
 * `sync_kind` (enum trace_sync_kind) whose API call was (api_domain, cbid):
 * CUPTI reports cudaDeviceSynchronize as a context synchronization, which
 * this turns into TRACE_SYNC_DEVICE. Other inputs are returned unchanged. */
unsigned cupti_sync_kind_for_api(unsigned sync_kind, unsigned api_domain, uint32_t cbid);

/* tstop's API domain (enum trace_api_domain) for a CUpti_CallbackDomain:
 * runtime and driver; TRACE_API_UNKNOWN for others. */
unsigned cupti_api_domain(uint32_t cb_domain);

/* A short name of a CUpti_ActivityOverheadKind ("CUPTI buffer flush", ...),
 * "CUPTI overhead" for kinds this file does not know. Static storage. */
const char *cupti_overhead_kind_name(uint32_t overhead_kind);

/* The name of a CUpti_ActivityKind as CUPTI spells it without its prefix
 * ("CONCURRENT_KERNEL", "MEMCPY2", ...), or "unknown". Static storage. */
const char *cupti_activity_kind_name(uint32_t kind);

#endif
