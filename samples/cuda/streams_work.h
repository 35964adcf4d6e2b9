/*
 * streams_work.h - the CUDA sample's workload, callable from C.
 *
 * streams_work_run() does a fixed, small amount of CUDA work on three
 * streams (kernels of several names and launch shapes, a templated one
 * among them, host<->device and device<->device copies from pageable and
 * pinned memory, a memset, stream/event/device synchronization, device
 * allocations) and fills a report of exactly what it issued. The sample
 * program (streams.cu) prints that report; the GPU check
 * (tests/gpu/cupti_check.c) runs the same function under CUPTI and compares
 * what CUPTI recorded with the report.
 *
 * Enum values in the report use CUPTI's numbering (copy kinds, memory
 * kinds), as tstop's event model does, so a checker compares them directly.
 */
#ifndef TSTOP_SAMPLES_STREAMS_WORK_H
#define TSTOP_SAMPLES_STREAMS_WORK_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STREAMS_MAX_LAUNCHES 64
#define STREAMS_MAX_COPIES   32
#define STREAMS_MAX_MEMSETS  8
#define STREAMS_MAX_ALLOCS   16
#define STREAMS_NSTREAMS     3

/* One kernel launch as issued. */
struct streams_launch {
	const char *name;  /* the kernel's symbol (mangled) as cudaFuncGetName reports it */
	const char *label; /* the kernel's short name in the source, a substring of `name` */
	unsigned grid[3];
	unsigned block[3];
	unsigned dynamic_smem; /* bytes */
	int stream;            /* index 0 .. STREAMS_NSTREAMS - 1 */
};

/* One memory copy as issued. */
struct streams_copy {
	int copy_kind; /* CUPTI copy kind: 1 HtoD, 2 DtoH, 8 DtoD */
	int src_kind;  /* CUPTI memory kind: 1 pageable, 2 pinned, 3 device */
	int dst_kind;
	uint64_t bytes;
	int async; /* cudaMemcpyAsync (else cudaMemcpy) */
};

/* Everything the workload issued, and how it went. */
struct streams_report {
	int device;
	char device_name[256];
	int cc_major, cc_minor;

	unsigned n_launches;
	struct streams_launch launches[STREAMS_MAX_LAUNCHES];
	unsigned n_copies;
	struct streams_copy copies[STREAMS_MAX_COPIES];
	unsigned n_memsets;
	uint64_t memset_bytes[STREAMS_MAX_MEMSETS];
	unsigned n_allocs; /* cudaMalloc calls */
	uint64_t alloc_bytes[STREAMS_MAX_ALLOCS];
	unsigned n_frees;       /* cudaFree calls */
	unsigned pinned_allocs; /* cudaMallocHost calls */

	unsigned stream_syncs;  /* cudaStreamSynchronize calls */
	unsigned event_records; /* cudaEventRecord calls */
	unsigned event_syncs;   /* cudaEventSynchronize calls */
	unsigned stream_waits;  /* cudaStreamWaitEvent calls */
	unsigned device_syncs;  /* cudaDeviceSynchronize calls */

	/* The long kernel ("spin"), timed with a pair of cudaEvents around it
	 * on its otherwise idle stream. */
	const char *timed_kernel;
	float timed_kernel_ms;

	int results_ok; /* the host checked the numbers the kernels computed */
	char error[256];
};

/* Runs the workload on the current CUDA device and fills *r (zeroed first).
 * Returns 0, or -1 with r->error set when a CUDA call failed or a computed
 * result was wrong. Takes well under a second on a data-centre GPU. */
int streams_work_run(struct streams_report *r);

/* Prints the report, one fact a line ("launches 14", "kernel fill ..."). */
void streams_work_print(const struct streams_report *r, FILE *f);

#ifdef __cplusplus
}
#endif

#endif
