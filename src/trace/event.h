/*
 * event.h - the tstop event model: what one captured event is.
 *
 * Every source (the live ring, an SBT file, later an imported trace) produces
 * `struct trace_event` values and every sink and view consumes them. An event
 * is a span [start, end] in nanoseconds on the session clock (instantaneous
 * events have end == start), on one track (a host thread, a GPU stream, a
 * counter, or a whole process), with an interned name, an optional
 * correlation id that links a host launch to the GPU work it caused, and a
 * few kind-specific fields.
 *
 * The struct is 40 bytes so that a 10-million-event session stays within the
 * resident-memory target (DESIGN.md section 5). Rarely-used or repetitive
 * attributes live in interned side tables of the session (launch
 * configurations, NVTX attributes, memory operations) and the event holds
 * their id. Id 0 always means "none" for strings, stacks and side tables.
 *
 * Numeric enums that mirror CUPTI (copy kinds, memory kinds, sync types) use
 * CUPTI's values, so that nsys-compatible database views can use them as is.
 * They are part of the SBT format: never renumber, only append.
 */
#ifndef TSTOP_TRACE_EVENT_H
#define TSTOP_TRACE_EVENT_H

#include <stdint.h>

/* Event kinds. Values are stored in SBT files: append only. */
enum trace_kind {
	TRACE_KERNEL = 1,     /* GPU kernel (CUDA or OpenCL NDRange/task) */
	TRACE_MEMCPY = 2,     /* GPU memory copy */
	TRACE_MEMSET = 3,     /* GPU memory set / fill */
	TRACE_SYNC = 4,       /* GPU synchronization seen by the host */
	TRACE_API = 5,        /* host API call (CUDA runtime/driver, OpenCL) */
	TRACE_NVTX_RANGE = 6, /* NVTX push/pop or start/end range */
	TRACE_NVTX_MARK = 7,  /* NVTX instantaneous mark */
	TRACE_MEM_ALLOC = 8,  /* device memory allocation */
	TRACE_MEM_FREE = 9,   /* device memory release */
	TRACE_COUNTER = 10,   /* one sample of a counter track */
	TRACE_LOST = 11,      /* marker: events were lost in [start, end] */
};
#define TRACE_KIND_MAX 11

/* Copy kinds: CUpti_ActivityMemcpyKind values. */
enum trace_copy_kind {
	TRACE_COPY_UNKNOWN = 0,
	TRACE_COPY_HTOD = 1,
	TRACE_COPY_DTOH = 2,
	TRACE_COPY_HTOA = 3,
	TRACE_COPY_ATOH = 4,
	TRACE_COPY_ATOA = 5,
	TRACE_COPY_ATOD = 6,
	TRACE_COPY_DTOA = 7,
	TRACE_COPY_DTOD = 8,
	TRACE_COPY_HTOH = 9,
	TRACE_COPY_PTOP = 10,
};
#define TRACE_COPY_KIND_MAX 10

/* Memory kinds: CUpti_ActivityMemoryKind values. */
enum trace_mem_kind {
	TRACE_MEM_UNKNOWN = 0,
	TRACE_MEM_PAGEABLE = 1,
	TRACE_MEM_PINNED = 2,
	TRACE_MEM_DEVICE = 3,
	TRACE_MEM_ARRAY = 4,
	TRACE_MEM_MANAGED = 5,
	TRACE_MEM_DEVICE_STATIC = 6,
	TRACE_MEM_MANAGED_STATIC = 7,
};
#define TRACE_MEM_KIND_MAX 7

/* Synchronization types: CUpti_ActivitySynchronizationType values, plus
 * device-wide synchronization which CUPTI reports as a context sync. */
enum trace_sync_kind {
	TRACE_SYNC_UNKNOWN = 0,
	TRACE_SYNC_EVENT = 1,             /* wait for an event (cudaEventSynchronize, clWaitForEvents) */
	TRACE_SYNC_STREAM_WAIT_EVENT = 2, /* stream waits on an event (cudaStreamWaitEvent) */
	TRACE_SYNC_STREAM = 3,            /* wait for a stream (cudaStreamSynchronize, clFinish) */
	TRACE_SYNC_CONTEXT = 4,           /* wait for a context (cuCtxSynchronize) */
	TRACE_SYNC_DEVICE = 5,            /* wait for a device (cudaDeviceSynchronize) */
};
#define TRACE_SYNC_KIND_MAX 5

/* Host API families, stored in the low bits of trace_event.flags for API
 * events. */
enum trace_api_domain {
	TRACE_API_UNKNOWN = 0,
	TRACE_API_CUDA_RUNTIME = 1,
	TRACE_API_CUDA_DRIVER = 2,
	TRACE_API_OPENCL = 3,
};
#define TRACE_API_DOMAIN_MAX  3
#define TRACE_API_DOMAIN_MASK 0x03u

/* trace_event.flags bit shared by all kinds: the span had not ended when
 * capture stopped; end is the last time it was known to be open. */
#define TRACE_FLAG_OPEN 0x80u

/* trace_event.flags bits of NVTX ranges. */
#define TRACE_FLAG_NVTX_STARTEND 0x01u /* nvtxRangeStart/End (may cross threads); else push/pop */

/* trace_event.flags bits of counter samples. */
#define TRACE_FLAG_COUNTER_DOUBLE 0x01u /* u.counter holds a double; else an int64 */

/*
 * One event. Its span obeys start <= end and end - start <= INT64_MAX: the
 * duration always fits in int64 (the session, the SBT writer and the SBT
 * reader refuse other events), so `ev->end - ev->start` never overflows.
 * Which members of `u` are meaningful, and what `sub` holds, depends on
 * `kind`:
 *
 *   kind          sub                       u
 *   KERNEL        0                         launch: launch-configuration id
 *   MEMCPY        copy kind | src<<5 | dst<<10 (see trace_memcpy_sub)
 *                                           bytes
 *   MEMSET        memory kind               bytes
 *   SYNC          sync kind                 sync.event: CUDA event id or 0
 *   API           result code (int16)       api: callback id, stack id
 *   NVTX_RANGE    0                         nvtx: NVTX attribute id, stack id
 *   NVTX_MARK     0                         nvtx: NVTX attribute id, stack id
 *   MEM_ALLOC     0                         memop: memory-operation id
 *   MEM_FREE      0                         memop: memory-operation id
 *   COUNTER       0                         counter (int64 or double by flags)
 *   LOST          0                         bytes: number of events lost
 *
 * For GPU-side kinds (KERNEL, MEMCPY, MEMSET, SYNC) `track` is a stream track
 * and `correlation` links to the API event that launched the work. For API,
 * NVTX, allocation and free events `track` is a host-thread track.
 */
struct trace_event {
	int64_t start;        /* ns, session clock */
	int64_t end;          /* ns, session clock, >= start, end - start <= INT64_MAX */
	uint32_t name;        /* string id: kernel, API function, range message, counter */
	uint32_t track;       /* track id in the session */
	uint32_t correlation; /* launch <-> GPU work link, 0 = none */
	uint8_t kind;         /* enum trace_kind */
	uint8_t flags;        /* TRACE_FLAG_* */
	uint16_t sub;         /* kind-specific, see the table above */
	union {
		uint64_t bytes;
		int64_t counter;
		double counter_double;
		struct {
			uint32_t launch;
			uint32_t reserved;
		} kernel;
		struct {
			uint32_t event;
			uint32_t reserved;
		} sync;
		struct {
			uint32_t cbid;  /* CUPTI callback id, or OpenCL function index */
			uint32_t stack; /* stack id, 0 = none */
		} api;
		struct {
			uint32_t attr; /* NVTX attribute id, 0 = default domain, no attributes */
			uint32_t stack;
		} nvtx;
		struct {
			uint32_t id; /* memory-operation id */
			uint32_t reserved;
		} memop;
	} u;
};

_Static_assert(sizeof(struct trace_event) == 40, "trace_event must stay 40 bytes");

/* Packs a memcpy's copy kind and source/destination memory kinds into `sub`. */
static inline uint16_t trace_memcpy_sub(unsigned copy_kind, unsigned src_kind, unsigned dst_kind)
{
	return (uint16_t)((copy_kind & 0x1f) | (src_kind & 0x1f) << 5 | (dst_kind & 0x1f) << 10);
}
static inline unsigned trace_memcpy_copy_kind(const struct trace_event *ev)
{
	return ev->sub & 0x1f;
}
static inline unsigned trace_memcpy_src_kind(const struct trace_event *ev)
{
	return (ev->sub >> 5) & 0x1f;
}
static inline unsigned trace_memcpy_dst_kind(const struct trace_event *ev)
{
	return (ev->sub >> 10) & 0x1f;
}

/* An API event's result code (cudaError_t, CUresult or cl_int), kept in `sub`. */
static inline int trace_api_result(const struct trace_event *ev)
{
	return (int16_t)ev->sub;
}
static inline unsigned trace_api_domain(const struct trace_event *ev)
{
	return ev->flags & TRACE_API_DOMAIN_MASK;
}

/* The stack id of an event, or 0 when its kind carries none. */
static inline uint32_t trace_event_stack(const struct trace_event *ev)
{
	switch (ev->kind) {
	case TRACE_API:
		return ev->u.api.stack;
	case TRACE_NVTX_RANGE:
	case TRACE_NVTX_MARK:
		return ev->u.nvtx.stack;
	default:
		return 0;
	}
}

/* A kernel launch configuration (interned: identical launches share one id). */
struct trace_launch {
	uint32_t grid[3];
	uint32_t block[3];
	uint32_t registers;    /* per thread */
	uint32_t static_smem;  /* bytes per block */
	uint32_t dynamic_smem; /* bytes per block */
	uint32_t cluster[3];   /* thread-block cluster dims, 0 when not a cluster launch */
};

/* NVTX payload types (subset of nvtxPayloadType_t, our own numbering). */
enum trace_nvtx_payload {
	TRACE_NVTX_PAYLOAD_NONE = 0,
	TRACE_NVTX_PAYLOAD_U64 = 1,
	TRACE_NVTX_PAYLOAD_I64 = 2,
	TRACE_NVTX_PAYLOAD_DOUBLE = 3,
	TRACE_NVTX_PAYLOAD_U32 = 4,
	TRACE_NVTX_PAYLOAD_I32 = 5,
	TRACE_NVTX_PAYLOAD_FLOAT = 6,
};
#define TRACE_NVTX_PAYLOAD_MAX 6

/* NVTX event attributes (interned). `payload` holds the raw bits of the
 * value in the type given by payload_type (a float or double is stored as
 * its IEEE bits widened to 64). */
struct trace_nvtx_attr {
	uint32_t domain;   /* string id of the domain name, 0 = default domain */
	uint32_t category; /* NVTX category, 0 = none */
	uint32_t color;    /* ARGB, valid when has_color */
	uint8_t has_color;
	uint8_t payload_type; /* enum trace_nvtx_payload */
	uint64_t payload;
};

/* One device memory allocation or release. */
struct trace_memop {
	uint64_t address;
	uint64_t bytes;
	uint32_t device;  /* device id in the session */
	uint8_t mem_kind; /* enum trace_mem_kind */
};

#endif
