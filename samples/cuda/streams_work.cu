/*
 * streams_work.cu - the CUDA sample's workload (see streams_work.h).
 *
 * Three non-blocking streams share a few buffers of 2^20 floats:
 *
 *   default  pageable H2D copy x <- 1 (cudaMemcpy)
 *   s1       pinned H2D copy y <- 2 (cudaMemcpyAsync)
 *   s2       memset z <- 0, fill z <- 3 (3-D grid)
 *   s0       scale x *= 2, three times (x = 8); event "ready" recorded
 *   s1       waits for "ready"; axpy<float> y += x (2-D grid and block,
 *            y = 10); block_sum<256> partial sums of y (dynamic shared
 *            memory); D2D copy z <- y
 *   s2       (after a stream sync) spin for 2 ms between two timing events,
 *            then an event sync
 *   s1       pinned D2H copy of z; stream sync
 *   default  pageable D2H copy of the partial sums; device sync
 *
 * and the host checks that z is all 10 and the partial sums add up to
 * 10 * 2^20. Every call that CUPTI should see is counted in the report.
 */
#include "streams_work.h"

#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

#define STREAMS_N          (1 << 20)
#define STREAMS_SUM_BLOCKS 120
#define STREAMS_SPIN_NS    2000000ull

/* Sets every element of x to v. Any grid shape: it strides over all threads. */
__global__ void fill(float *x, float v, int n)
{
	unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
	unsigned nthreads = gridDim.x * gridDim.y * gridDim.z * blockDim.x;
	for (unsigned i = block * blockDim.x + threadIdx.x; i < (unsigned)n; i += nthreads)
		x[i] = v;
}

/* x *= a, one element per thread. */
__global__ void scale(float *x, float a, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		x[i] *= a;
}

/* y += a * x over a 2-D grid of 2-D blocks. */
template <typename T> __global__ void axpy(T a, const T *x, T *y, int n)
{
	unsigned tid = threadIdx.x + blockDim.x * threadIdx.y;
	unsigned block = blockIdx.x + gridDim.x * blockIdx.y;
	unsigned per_block = blockDim.x * blockDim.y;
	unsigned nthreads = per_block * gridDim.x * gridDim.y;
	for (unsigned i = block * per_block + tid; i < (unsigned)n; i += nthreads)
		y[i] += a * x[i];
}

/* partial[blockIdx.x] = sum of the block's strided elements of x, reduced
 * in BLOCK floats of dynamic shared memory. */
template <int BLOCK> __global__ void block_sum(const float *x, float *partial, int n)
{
	extern __shared__ float acc[];
	float s = 0;
	for (int i = blockIdx.x * BLOCK + threadIdx.x; i < n; i += gridDim.x * BLOCK)
		s += x[i];
	acc[threadIdx.x] = s;
	__syncthreads();
	for (int half = BLOCK / 2; half > 0; half /= 2) {
		if ((int)threadIdx.x < half)
			acc[threadIdx.x] += acc[threadIdx.x + half];
		__syncthreads();
	}
	if (threadIdx.x == 0)
		partial[blockIdx.x] = acc[0];
}

/* Busy-waits `ns` nanoseconds of the GPU's global timer, then sets *done. */
__global__ void spin(unsigned long long ns, int *done)
{
	unsigned long long t0, t;
	asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
	do {
		asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
	} while (t - t0 < ns);
	if (threadIdx.x == 0)
		*done = 1;
}

/* Records the failed call in r->error and jumps to the cleanup. */
#define CK(call)                                                                                             \
	do {                                                                                                 \
		cudaError_t e_ = (call);                                                                     \
		if (e_ != cudaSuccess) {                                                                     \
			snprintf(r->error, sizeof(r->error), "%s: %s (line %d)", #call,                      \
			         cudaGetErrorString(e_), __LINE__);                                          \
			goto out;                                                                            \
		}                                                                                            \
	} while (0)

/* Adds a launch to the report (the symbol name comes from the runtime). */
static void note_launch(struct streams_report *r, const void *func, const char *label, dim3 grid, dim3 block,
                        unsigned smem, int stream)
{
	struct streams_launch *l;
	const char *name = NULL;

	if (r->n_launches >= STREAMS_MAX_LAUNCHES)
		return;
	l = &r->launches[r->n_launches++];
	if (cudaFuncGetName(&name, func) != cudaSuccess || !name)
		name = label;
	l->name = name;
	l->label = label;
	l->grid[0] = grid.x;
	l->grid[1] = grid.y;
	l->grid[2] = grid.z;
	l->block[0] = block.x;
	l->block[1] = block.y;
	l->block[2] = block.z;
	l->dynamic_smem = smem;
	l->stream = stream;
}

/* Adds a copy to the report. */
static void note_copy(struct streams_report *r, int copy_kind, int src_kind, int dst_kind, uint64_t bytes,
                      int async)
{
	if (r->n_copies >= STREAMS_MAX_COPIES)
		return;
	struct streams_copy *c = &r->copies[r->n_copies++];
	c->copy_kind = copy_kind;
	c->src_kind = src_kind;
	c->dst_kind = dst_kind;
	c->bytes = bytes;
	c->async = async;
}

/* cudaMalloc that is counted in the report. */
static cudaError_t counted_malloc(struct streams_report *r, void **p, size_t bytes)
{
	cudaError_t e = cudaMalloc(p, bytes);
	if (e == cudaSuccess && r->n_allocs < STREAMS_MAX_ALLOCS)
		r->alloc_bytes[r->n_allocs++] = bytes;
	return e;
}

/* cudaFree of a non-NULL pointer, counted in the report. */
static void counted_free(struct streams_report *r, void *p)
{
	if (p && cudaFree(p) == cudaSuccess)
		r->n_frees++;
}

extern "C" int streams_work_run(struct streams_report *r)
{
	const int n = STREAMS_N;
	const size_t bytes = (size_t)n * sizeof(float);
	const size_t sum_bytes = STREAMS_SUM_BLOCKS * sizeof(float);
	cudaStream_t s[STREAMS_NSTREAMS] = {0, 0, 0};
	cudaEvent_t ready = 0, t0 = 0, t1 = 0;
	float *d_x = NULL, *d_y = NULL, *d_z = NULL, *d_partial = NULL, *h_pin = NULL;
	float *h_page = NULL;
	int *d_done = NULL;
	int done = 0;
	cudaDeviceProp prop;
	dim3 fill_grid(32, 16, 2), fill_block(256);
	dim3 scale_grid((n + 511) / 512), scale_block(512);
	dim3 axpy_grid(64, 4), axpy_block(128, 2);
	dim3 sum_grid(STREAMS_SUM_BLOCKS), sum_block(256);
	unsigned sum_smem = 256 * sizeof(float);
	dim3 spin_grid(1), spin_block(32);
	double total = 0;

	memset(r, 0, sizeof(*r));
	r->timed_kernel = "spin";
	CK(cudaGetDevice(&r->device));
	CK(cudaGetDeviceProperties(&prop, r->device));
	snprintf(r->device_name, sizeof(r->device_name), "%s", prop.name);
	r->cc_major = prop.major;
	r->cc_minor = prop.minor;

	for (int i = 0; i < STREAMS_NSTREAMS; i++)
		CK(cudaStreamCreateWithFlags(&s[i], cudaStreamNonBlocking));
	CK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
	CK(cudaEventCreate(&t0));
	CK(cudaEventCreate(&t1));

	CK(counted_malloc(r, (void **)&d_x, bytes));
	CK(counted_malloc(r, (void **)&d_y, bytes));
	CK(counted_malloc(r, (void **)&d_z, bytes));
	CK(counted_malloc(r, (void **)&d_partial, sum_bytes));
	CK(counted_malloc(r, (void **)&d_done, sizeof(int)));
	CK(cudaMallocHost((void **)&h_pin, bytes));
	r->pinned_allocs++;
	h_page = (float *)malloc(bytes);
	if (!h_page) {
		snprintf(r->error, sizeof(r->error), "out of host memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		h_page[i] = 1.0f;
		h_pin[i] = 2.0f;
	}

	/* Inputs: x from pageable memory, y from pinned memory; z cleared. */
	CK(cudaMemcpy(d_x, h_page, bytes, cudaMemcpyHostToDevice));
	note_copy(r, 1, 1, 3, bytes, 0);
	CK(cudaMemcpyAsync(d_y, h_pin, bytes, cudaMemcpyHostToDevice, s[1]));
	note_copy(r, 1, 2, 3, bytes, 1);
	CK(cudaMemsetAsync(d_z, 0, bytes, s[2]));
	r->memset_bytes[r->n_memsets++] = bytes;

	fill<<<fill_grid, fill_block, 0, s[2]>>>(d_z, 3.0f, n);
	CK(cudaGetLastError());
	note_launch(r, (const void *)fill, "fill", fill_grid, fill_block, 0, 2);

	for (int it = 0; it < 3; it++) {
		scale<<<scale_grid, scale_block, 0, s[0]>>>(d_x, 2.0f, n);
		CK(cudaGetLastError());
		note_launch(r, (const void *)scale, "scale", scale_grid, scale_block, 0, 0);
	}
	CK(cudaEventRecord(ready, s[0]));
	r->event_records++;
	CK(cudaStreamWaitEvent(s[1], ready, 0));
	r->stream_waits++;

	axpy<float><<<axpy_grid, axpy_block, 0, s[1]>>>(1.0f, d_x, d_y, n);
	CK(cudaGetLastError());
	note_launch(r, (const void *)axpy<float>, "axpy", axpy_grid, axpy_block, 0, 1);

	CK(cudaStreamSynchronize(s[2]));
	r->stream_syncs++;

	block_sum<256><<<sum_grid, sum_block, sum_smem, s[1]>>>(d_y, d_partial, n);
	CK(cudaGetLastError());
	note_launch(r, (const void *)block_sum<256>, "block_sum", sum_grid, sum_block, sum_smem, 1);
	CK(cudaMemcpyAsync(d_z, d_y, bytes, cudaMemcpyDeviceToDevice, s[1]));
	note_copy(r, 8, 3, 3, bytes, 1);

	CK(cudaEventRecord(t0, s[2]));
	r->event_records++;
	spin<<<spin_grid, spin_block, 0, s[2]>>>(STREAMS_SPIN_NS, d_done);
	CK(cudaGetLastError());
	note_launch(r, (const void *)spin, "spin", spin_grid, spin_block, 0, 2);
	CK(cudaEventRecord(t1, s[2]));
	r->event_records++;
	CK(cudaEventSynchronize(t1));
	r->event_syncs++;
	CK(cudaEventElapsedTime(&r->timed_kernel_ms, t0, t1));

	CK(cudaMemcpyAsync(h_pin, d_z, bytes, cudaMemcpyDeviceToHost, s[1]));
	note_copy(r, 2, 3, 2, bytes, 1);
	CK(cudaStreamSynchronize(s[1]));
	r->stream_syncs++;
	CK(cudaMemcpy(h_page, d_partial, sum_bytes, cudaMemcpyDeviceToHost));
	note_copy(r, 2, 3, 1, sum_bytes, 0);
	CK(cudaMemcpy(&done, d_done, sizeof(int), cudaMemcpyDeviceToHost));
	note_copy(r, 2, 3, 1, sizeof(int), 0);
	CK(cudaDeviceSynchronize());
	r->device_syncs++;

	r->results_ok = 1;
	for (int i = 0; i < n; i++) {
		if (h_pin[i] != 10.0f) {
			snprintf(r->error, sizeof(r->error), "z[%d] = %g, expected 10", i, h_pin[i]);
			r->results_ok = 0;
			break;
		}
	}
	for (int i = 0; i < STREAMS_SUM_BLOCKS; i++)
		total += h_page[i];
	if (r->results_ok && total != 10.0 * n) {
		snprintf(r->error, sizeof(r->error), "sum = %.1f, expected %.1f", total, 10.0 * n);
		r->results_ok = 0;
	}
	if (r->results_ok && done != 1) {
		snprintf(r->error, sizeof(r->error), "spin did not run");
		r->results_ok = 0;
	}

out:
	counted_free(r, d_x);
	counted_free(r, d_y);
	counted_free(r, d_z);
	counted_free(r, d_partial);
	counted_free(r, d_done);
	if (h_pin)
		cudaFreeHost(h_pin);
	free(h_page);
	for (int i = 0; i < STREAMS_NSTREAMS; i++)
		if (s[i])
			cudaStreamDestroy(s[i]);
	if (ready)
		cudaEventDestroy(ready);
	if (t0)
		cudaEventDestroy(t0);
	if (t1)
		cudaEventDestroy(t1);
	return r->results_ok && !r->error[0] ? 0 : -1;
}

/* Name of a CUPTI copy kind used by the report. */
static const char *copy_kind_name(int k)
{
	return k == 1 ? "HtoD" : k == 2 ? "DtoH" : k == 8 ? "DtoD" : "?";
}

/* Name of a CUPTI memory kind used by the report. */
static const char *mem_kind_name(int k)
{
	return k == 1 ? "pageable" : k == 2 ? "pinned" : k == 3 ? "device" : "?";
}

extern "C" void streams_work_print(const struct streams_report *r, FILE *f)
{
	fprintf(f, "device %d %s (sm_%d%d)\n", r->device, r->device_name, r->cc_major, r->cc_minor);
	fprintf(f, "launches %u\n", r->n_launches);
	for (unsigned i = 0; i < r->n_launches; i++) {
		const struct streams_launch *l = &r->launches[i];
		fprintf(f, "kernel %s stream %d grid %u,%u,%u block %u,%u,%u dynamic_smem %u symbol %s\n",
		        l->label, l->stream, l->grid[0], l->grid[1], l->grid[2], l->block[0], l->block[1],
		        l->block[2], l->dynamic_smem, l->name);
	}
	fprintf(f, "copies %u\n", r->n_copies);
	for (unsigned i = 0; i < r->n_copies; i++) {
		const struct streams_copy *c = &r->copies[i];
		fprintf(f, "copy %s %s->%s bytes %llu %s\n", copy_kind_name(c->copy_kind),
		        mem_kind_name(c->src_kind), mem_kind_name(c->dst_kind), (unsigned long long)c->bytes,
		        c->async ? "async" : "sync");
	}
	fprintf(f, "memsets %u\n", r->n_memsets);
	for (unsigned i = 0; i < r->n_memsets; i++)
		fprintf(f, "memset bytes %llu\n", (unsigned long long)r->memset_bytes[i]);
	fprintf(f, "cudaMalloc %u cudaFree %u cudaMallocHost %u\n", r->n_allocs, r->n_frees,
	        r->pinned_allocs);
	fprintf(f, "cudaStreamSynchronize %u cudaEventRecord %u cudaEventSynchronize %u\n", r->stream_syncs,
	        r->event_records, r->event_syncs);
	fprintf(f, "cudaStreamWaitEvent %u cudaDeviceSynchronize %u\n", r->stream_waits, r->device_syncs);
	fprintf(f, "timed %s %.3f ms (cudaEvent)\n", r->timed_kernel, r->timed_kernel_ms);
	fprintf(f, "results %s%s%s\n", r->results_ok ? "ok" : "WRONG", r->error[0] ? ": " : "", r->error);
}
