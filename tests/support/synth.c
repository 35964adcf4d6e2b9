/*
 * synth.c - the synthetic session generator (see synth.h).
 *
 * A small discrete-event simulation. Each host thread of each process runs
 * the same training-step script (the `synth_script` table): NVTX ranges
 * around forward, backward and optimizer phases, kernel launches through the
 * CUDA runtime (and, for Triton kernels, the driver), copies, memsets,
 * stream waits and synchronizations, allocations. Every step of the script
 * advances the thread's host clock; GPU work queues on its stream and starts
 * at max(launch call + launch latency, end of the stream's previous work),
 * which is what keeps streams free of overlap (synth.h guarantee 1). The
 * thread with the earliest clock always runs next, so events come out in
 * roughly global time order, which the SBT writer's delta encoding likes.
 *
 * Output goes through `struct synth_out` either into a session (the
 * session hands out ids) or straight into an SBT writer (ids are assigned
 * here, densely, in definition order, as the writer requires). Strings are
 * deduplicated here so that both paths see each distinct string once.
 */
#include "synth.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/meta.h"
#include "util/xalloc.h"

/* --- output: a session or a writer ----------------------------------------- */

enum synth_table {
	SYNTH_T_STRING,
	SYNTH_T_FRAME,
	SYNTH_T_STACK,
	SYNTH_T_TRACK,
	SYNTH_T_LAUNCH,
	SYNTH_T_ATTR,
	SYNTH_T_MEMOP,
	SYNTH_T_COUNT,
};

struct synth_strtab_entry {
	char *bytes; /* owned, NUL-terminated */
	uint32_t id;
};

struct synth_out {
	struct trace_session *s; /* exactly one of s and w is set */
	struct sbt_writer *w;
	struct err *e;
	bool failed;                    /* sticky: the first error is in e */
	uint32_t last[SYNTH_T_COUNT];   /* writer path: last id handed out per table */
	struct synth_strtab_entry *str; /* open-addressing string table */
	size_t str_cap, str_n;
	struct synth_counts counts;
};

/* FNV-1a over a NUL-terminated string. */
static uint64_t synth_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* Doubles the string table, rehashing the entries it holds. */
static void synth_strtab_grow(struct synth_out *o)
{
	size_t cap = o->str_cap ? o->str_cap * 2 : 256;
	struct synth_strtab_entry *t = xcalloc(cap, sizeof(*t));
	for (size_t i = 0; i < o->str_cap; i++) {
		if (!o->str[i].bytes)
			continue;
		size_t j = synth_hash(o->str[i].bytes) & (cap - 1);
		while (t[j].bytes)
			j = (j + 1) & (cap - 1);
		t[j] = o->str[i];
	}
	free(o->str);
	o->str = t;
	o->str_cap = cap;
}

/* Returns the id of string `str` (not empty), defining it on first use.
 * Returns 0 after an output error. */
static uint32_t synth_string(struct synth_out *o, const char *str)
{
	if (o->failed)
		return 0;
	if ((o->str_n + 1) * 2 > o->str_cap)
		synth_strtab_grow(o);
	size_t j = synth_hash(str) & (o->str_cap - 1);
	while (o->str[j].bytes) {
		if (!strcmp(o->str[j].bytes, str))
			return o->str[j].id;
		j = (j + 1) & (o->str_cap - 1);
	}
	uint32_t id;
	size_t len = strlen(str);
	if (o->s) {
		id = trace_session_intern(o->s, str, len);
	} else {
		id = ++o->last[SYNTH_T_STRING];
		if (sbt_writer_string(o->w, id, str, len, o->e)) {
			o->failed = true;
			return 0;
		}
	}
	o->str[j].bytes = xstrdup(str);
	o->str[j].id = id;
	o->str_n++;
	return id;
}

/* Frees the string table. */
static void synth_out_done(struct synth_out *o)
{
	for (size_t i = 0; i < o->str_cap; i++)
		free(o->str[i].bytes);
	free(o->str);
	o->str = NULL;
	o->str_cap = o->str_n = 0;
}

/* Marks the output failed after a writer error (the writer filled o->e). */
static uint32_t synth_fail(struct synth_out *o)
{
	o->failed = true;
	return 0;
}

/* The definitions below return the new entry's id, or 0 after an error. */
static uint32_t synth_frame(struct synth_out *o, const struct trace_frame *f)
{
	if (o->failed)
		return 0;
	if (o->s)
		return trace_session_add_frame(o->s, f);
	uint32_t id = ++o->last[SYNTH_T_FRAME];
	return sbt_writer_frame(o->w, id, f, o->e) ? synth_fail(o) : id;
}

static uint32_t synth_stack(struct synth_out *o, const uint32_t *frames, uint32_t n)
{
	if (o->failed)
		return 0;
	if (o->s)
		return trace_session_add_stack(o->s, frames, n);
	uint32_t id = ++o->last[SYNTH_T_STACK];
	return sbt_writer_stack(o->w, id, frames, n, o->e) ? synth_fail(o) : id;
}

static uint32_t synth_track(struct synth_out *o, const struct trace_track_info *t)
{
	if (o->failed)
		return 0;
	o->counts.tracks++;
	if (o->s)
		return trace_session_add_track(o->s, t);
	uint32_t id = ++o->last[SYNTH_T_TRACK];
	return sbt_writer_track(o->w, id, t, o->e) ? synth_fail(o) : id;
}

static uint32_t synth_launch(struct synth_out *o, const struct trace_launch *l)
{
	if (o->failed)
		return 0;
	if (o->s)
		return trace_session_add_launch(o->s, l);
	uint32_t id = ++o->last[SYNTH_T_LAUNCH];
	return sbt_writer_launch(o->w, id, l, o->e) ? synth_fail(o) : id;
}

static uint32_t synth_attr(struct synth_out *o, const struct trace_nvtx_attr *a)
{
	if (o->failed)
		return 0;
	if (o->s)
		return trace_session_add_nvtx_attr(o->s, a);
	uint32_t id = ++o->last[SYNTH_T_ATTR];
	return sbt_writer_nvtx_attr(o->w, id, a, o->e) ? synth_fail(o) : id;
}

static uint32_t synth_memop(struct synth_out *o, const struct trace_memop *m)
{
	if (o->failed)
		return 0;
	if (o->s)
		return trace_session_add_memop(o->s, m);
	uint32_t id = ++o->last[SYNTH_T_MEMOP];
	return sbt_writer_memop(o->w, id, m, o->e) ? synth_fail(o) : id;
}

/* Records a process, device, metadata pair or loss (later ones replace). */
static void synth_process(struct synth_out *o, const struct trace_process *p)
{
	if (o->failed)
		return;
	if (o->s)
		trace_session_set_process(o->s, p);
	else if (sbt_writer_process(o->w, p, o->e))
		o->failed = true;
}

static void synth_device(struct synth_out *o, const struct trace_device *d)
{
	if (o->failed)
		return;
	if (o->s)
		trace_session_set_device(o->s, d);
	else if (sbt_writer_device(o->w, d, o->e))
		o->failed = true;
}

static void synth_meta(struct synth_out *o, const char *key, const char *value)
{
	if (o->failed)
		return;
	if (o->s)
		trace_session_set_meta(o->s, key, value);
	else if (sbt_writer_meta(o->w, key, value, o->e))
		o->failed = true;
}

static void synth_loss(struct synth_out *o, const struct trace_loss *l)
{
	if (o->failed)
		return;
	if (o->s)
		trace_session_set_loss(o->s, l->pid, l->source, l->count);
	else if (sbt_writer_loss(o->w, l, o->e))
		o->failed = true;
}

/* Appends one event and counts it. */
static void synth_emit(struct synth_out *o, const struct trace_event *ev)
{
	if (o->failed)
		return;
	if (o->s) {
		if (trace_session_append(o->s, ev)) {
			err_fmt(o->e, "synth: the session refused a %s event", trace_kind_name(ev->kind));
			o->failed = true;
			return;
		}
	} else if (sbt_writer_append(o->w, ev, o->e)) {
		o->failed = true;
		return;
	}
	o->counts.events++;
	o->counts.kinds[ev->kind]++;
}

/* --- the workload ------------------------------------------------------------ */

/* CUPTI callback ids of the API functions used. */
enum {
	CBID_RT_GET_DEVICE_PROPERTIES = 4,
	CBID_RT_MALLOC = 20,
	CBID_RT_FREE = 22,
	CBID_RT_MEMCPY = 31,
	CBID_RT_MEMCPY_ASYNC = 41,
	CBID_RT_MEMSET_ASYNC = 51,
	CBID_RT_STREAM_SYNCHRONIZE = 131,
	CBID_RT_EVENT_RECORD = 135,
	CBID_RT_EVENT_SYNCHRONIZE = 137,
	CBID_RT_STREAM_WAIT_EVENT = 147,
	CBID_RT_DEVICE_SYNCHRONIZE = 165,
	CBID_RT_STREAM_CREATE_WITH_FLAGS = 198,
	CBID_RT_LAUNCH_KERNEL = 211,
	CBID_RT_STREAM_IS_CAPTURING = 317,
	CBID_DRV_LAUNCH_KERNEL = 307,
};

enum synth_api {
	API_GET_DEVICE_PROPERTIES,
	API_MALLOC,
	API_FREE,
	API_MEMCPY,
	API_MEMCPY_ASYNC,
	API_MEMSET_ASYNC,
	API_STREAM_SYNCHRONIZE,
	API_EVENT_RECORD,
	API_EVENT_SYNCHRONIZE,
	API_STREAM_WAIT_EVENT,
	API_DEVICE_SYNCHRONIZE,
	API_STREAM_CREATE,
	API_LAUNCH_KERNEL,
	API_STREAM_IS_CAPTURING,
	API_CU_LAUNCH_KERNEL,
	API_COUNT,
};

/* Call stacks, innermost frame first, as frame indexes into synth_frames. */
enum synth_stack_id {
	STACK_LAUNCH_ATEN,
	STACK_LAUNCH_BLAS,
	STACK_LAUNCH_TRITON,
	STACK_LAUNCH_NCCL,
	STACK_COPY,
	STACK_SYNC,
	STACK_ALLOC,
	STACK_FREE,
	STACK_SETUP,
	STACK_COUNT,
};

static const struct {
	const char *name;
	uint32_t cbid;
	uint8_t domain;
	uint8_t stack;
	uint32_t min_ns, max_ns; /* duration of the call itself when it does not wait */
} synth_apis[API_COUNT] = {
    [API_GET_DEVICE_PROPERTIES] = {"cudaGetDeviceProperties", CBID_RT_GET_DEVICE_PROPERTIES,
                                   TRACE_API_CUDA_RUNTIME, STACK_SETUP, 180000, 320000},
    [API_MALLOC] = {"cudaMalloc", CBID_RT_MALLOC, TRACE_API_CUDA_RUNTIME, STACK_ALLOC, 12000, 160000},
    [API_FREE] = {"cudaFree", CBID_RT_FREE, TRACE_API_CUDA_RUNTIME, STACK_FREE, 6000, 45000},
    [API_MEMCPY] = {"cudaMemcpy", CBID_RT_MEMCPY, TRACE_API_CUDA_RUNTIME, STACK_COPY, 8000, 12000},
    [API_MEMCPY_ASYNC] = {"cudaMemcpyAsync", CBID_RT_MEMCPY_ASYNC, TRACE_API_CUDA_RUNTIME, STACK_COPY, 4500,
                          9000},
    [API_MEMSET_ASYNC] = {"cudaMemsetAsync", CBID_RT_MEMSET_ASYNC, TRACE_API_CUDA_RUNTIME, STACK_LAUNCH_ATEN,
                          3000, 5500},
    [API_STREAM_SYNCHRONIZE] = {"cudaStreamSynchronize", CBID_RT_STREAM_SYNCHRONIZE, TRACE_API_CUDA_RUNTIME,
                                STACK_SYNC, 2000, 4000},
    [API_EVENT_RECORD] = {"cudaEventRecord", CBID_RT_EVENT_RECORD, TRACE_API_CUDA_RUNTIME, STACK_COPY, 1800,
                          3500},
    [API_EVENT_SYNCHRONIZE] = {"cudaEventSynchronize", CBID_RT_EVENT_SYNCHRONIZE, TRACE_API_CUDA_RUNTIME,
                               STACK_SYNC, 1500, 3000},
    [API_STREAM_WAIT_EVENT] = {"cudaStreamWaitEvent", CBID_RT_STREAM_WAIT_EVENT, TRACE_API_CUDA_RUNTIME,
                               STACK_COPY, 1500, 3000},
    [API_DEVICE_SYNCHRONIZE] = {"cudaDeviceSynchronize", CBID_RT_DEVICE_SYNCHRONIZE, TRACE_API_CUDA_RUNTIME,
                                STACK_SYNC, 3000, 6000},
    [API_STREAM_CREATE] = {"cudaStreamCreateWithFlags", CBID_RT_STREAM_CREATE_WITH_FLAGS,
                           TRACE_API_CUDA_RUNTIME, STACK_SETUP, 9000, 20000},
    [API_LAUNCH_KERNEL] = {"cudaLaunchKernel", CBID_RT_LAUNCH_KERNEL, TRACE_API_CUDA_RUNTIME,
                           STACK_LAUNCH_ATEN, 3500, 7000},
    [API_STREAM_IS_CAPTURING] = {"cudaStreamIsCapturing", CBID_RT_STREAM_IS_CAPTURING, TRACE_API_CUDA_RUNTIME,
                                 STACK_LAUNCH_ATEN, 400, 900},
    [API_CU_LAUNCH_KERNEL] = {"cuLaunchKernel", CBID_DRV_LAUNCH_KERNEL, TRACE_API_CUDA_DRIVER,
                              STACK_LAUNCH_TRITON, 4000, 8000},
};

/* Symbolized frames the stacks are made of. */
static const struct {
	uint64_t pc, offset;
	const char *function, *module, *file;
	uint32_t line;
} synth_frames[] = {
    {0x55d0c41a2f3e, 0x2e, "main", "/usr/bin/python3.11", "Programs/python.c", 15},
    {0x7f9b2c4d1a80, 0x1b40, "_PyEval_EvalFrameDefault", "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0",
     "Python/ceval.c", 5412},
    {0x7f9a71203c44, 0x64, "cudaLaunchKernel", "/usr/local/cuda/lib64/libcudart.so.12", NULL, 0},
    {0x7f9a712311d0, 0x90, "cudaMemcpyAsync", "/usr/local/cuda/lib64/libcudart.so.12", NULL, 0},
    {0x7f9a71232ab8, 0x38, "cudaStreamSynchronize", "/usr/local/cuda/lib64/libcudart.so.12", NULL, 0},
    {0x7f9a711f2e10, 0x50, "cudaMalloc", "/usr/local/cuda/lib64/libcudart.so.12", NULL, 0},
    {0x7f9a711f3f64, 0x24, "cudaFree", "/usr/local/cuda/lib64/libcudart.so.12", NULL, 0},
    {0x7f9a3e8a1d2c, 0x11c, "cuLaunchKernel", "/usr/lib/x86_64-linux-gnu/libcuda.so.1", NULL, 0},
    {0x7f9a9c0412f8, 0x3f8, "at::native::gpu_kernel_impl<at::native::BinaryFunctor<float, float, float>>",
     "/opt/venv/lib/python3.11/site-packages/torch/lib/libtorch_cuda.so",
     "aten/src/ATen/native/cuda/Loops.cuh", 317},
    {0x7f9a9b8c7a10, 0x1d0, "at::cuda::blas::gemm<c10::BFloat16>",
     "/opt/venv/lib/python3.11/site-packages/torch/lib/libtorch_cuda.so", "aten/src/ATen/cuda/CUDABlas.cpp",
     1088},
    {0x7f99e12b4460, 0x460, "cublasLtMatmul",
     "/opt/venv/lib/python3.11/site-packages/nvidia/cublas/lib/libcublasLt.so.12", NULL, 0},
    {0x7f9a9c7e0b3c, 0x13c, "at::native::copy_",
     "/opt/venv/lib/python3.11/site-packages/torch/lib/libtorch_cuda.so", "aten/src/ATen/native/Copy.cpp",
     281},
    {0x7f9a9a10c6f0, 0xf0, "c10::cuda::CUDACachingAllocator::Native::DeviceCachingAllocator::malloc",
     "/opt/venv/lib/python3.11/site-packages/torch/lib/libc10_cuda.so", "c10/cuda/CUDACachingAllocator.cpp",
     1240},
    {0x7f99f0a02b18, 0x318, "launch", "/home/user/.triton/cache/9f3c/cuda_utils.so", NULL, 0},
    {0x7f99d8a55c20, 0xc20, "ncclAllReduce",
     "/opt/venv/lib/python3.11/site-packages/nvidia/nccl/lib/libnccl.so.2", NULL, 0},
    {0x7f9a9a2d1e44, 0x44, "c10::cuda::device_synchronize",
     "/opt/venv/lib/python3.11/site-packages/torch/lib/libc10_cuda.so", "c10/cuda/CUDAFunctions.cpp", 142},
};

#define SYNTH_NFRAMES   (sizeof(synth_frames) / sizeof(synth_frames[0]))
#define SYNTH_STACK_MAX 5

/* Stacks as frame indexes (innermost first), -1 terminated. */
static const int synth_stacks[STACK_COUNT][SYNTH_STACK_MAX + 1] = {
    [STACK_LAUNCH_ATEN] = {2, 8, 1, 0, -1},
    [STACK_LAUNCH_BLAS] = {2, 10, 9, 1, 0, -1},
    [STACK_LAUNCH_TRITON] = {7, 13, 1, 0, -1},
    [STACK_LAUNCH_NCCL] = {2, 14, 1, 0, -1},
    [STACK_COPY] = {3, 11, 1, 0, -1},
    [STACK_SYNC] = {4, 15, 1, 0, -1},
    [STACK_ALLOC] = {5, 12, 1, 0, -1},
    [STACK_FREE] = {6, 12, 1, 0, -1},
    [STACK_SETUP] = {1, 0, -1},
};

enum synth_kernel_id {
	K_LAYERNORM,
	K_GEMM_CUBLAS,
	K_ATTN_FWD,
	K_GEMM_CUTLASS,
	K_TRITON_POI,
	K_GELU,
	K_MUL,
	K_SOFTMAX,
	K_REDUCE,
	K_ATTN_BWD,
	K_TRITON_RED,
	K_LAYERNORM_BWD,
	K_ADAM,
	K_FILL,
	K_NCCL,
	K_COUNT,
};

/* Kernels: mangled names as CUPTI reports them, a typical duration, how
 * they are launched, and the two launch configurations they alternate. */
static const struct {
	const char *name;
	uint32_t ns;
	uint8_t api;   /* enum synth_api */
	uint8_t stack; /* enum synth_stack_id */
	struct trace_launch launch[2];
} synth_kernels[K_COUNT] = {
    [K_LAYERNORM] = {"_ZN2at6native28vectorized_layer_norm_kernelIffEEviT0_PKT_S5_S5_PS3_S6_PS2_",
                     17000,
                     API_LAUNCH_KERNEL,
                     STACK_LAUNCH_ATEN,
                     {{{4096, 1, 1}, {128, 1, 1}, 30, 0, 0, {0}},
                      {{8192, 1, 1}, {128, 1, 1}, 30, 0, 0, {0}}}},
    [K_GEMM_CUBLAS] = {"sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64_warpgroupsize1x1x1_"
                       "execute_segment_k_off_kernel__5x_cublas",
                       240000,
                       API_LAUNCH_KERNEL,
                       STACK_LAUNCH_BLAS,
                       {{{132, 1, 1}, {384, 1, 1}, 168, 0, 213504, {2, 1, 1}},
                        {{264, 1, 1}, {384, 1, 1}, 168, 0, 213504, {2, 1, 1}}}},
    [K_ATTN_FWD] =
        {"_ZN5flash24flash_fwd_splitkv_kernelINS_23Flash_fwd_kernel_traitsILi128ELi64ELi128ELi4ELb0ELb0EN7"
         "cutlass6half_tEEELb1ELb0ELb0ELb0ELb1ELb0ELb0EEEvNS_16Flash_fwd_paramsE",
         210000,
         API_LAUNCH_KERNEL,
         STACK_LAUNCH_ATEN,
         {{{16, 32, 4}, {128, 1, 1}, 255, 0, 49152, {0}}, {{32, 32, 4}, {128, 1, 1}, 255, 0, 49152, {0}}}},
    [K_GEMM_CUTLASS] =
        {"_ZN7cutlass7Kernel2I66cutlass_80_wmma_tensorop_f16_s161616gemm_f16_32x32_128x2_tn_align8EEvNT_"
         "6ParamsE",
         175000,
         API_LAUNCH_KERNEL,
         STACK_LAUNCH_BLAS,
         {{{64, 16, 1}, {128, 1, 1}, 232, 0, 73728, {0}}, {{128, 16, 1}, {128, 1, 1}, 232, 0, 73728, {0}}}},
    [K_TRITON_POI] = {"triton_poi_fused_add_mul_0",
                      8000,
                      API_CU_LAUNCH_KERNEL,
                      STACK_LAUNCH_TRITON,
                      {{{2048, 1, 1}, {256, 1, 1}, 24, 0, 0, {0}},
                       {{2048, 1, 1}, {256, 1, 1}, 24, 0, 0, {0}}}},
    [K_GELU] =
        {"_ZN2at6native29vectorized_elementwise_kernelILi4EZZZNS0_18GeluCUDAKernelImplERNS_"
         "18TensorIteratorBaseENS0_"
         "15GeluApproximateEENKUlvE_clEvENKUlvE1_clEvEUlN3c108BFloat16EE_NS_6detail5ArrayIPcLi2EEEEEviT0_T1_",
         21000,
         API_LAUNCH_KERNEL,
         STACK_LAUNCH_ATEN,
         {{{3072, 1, 1}, {128, 1, 1}, 28, 0, 0, {0}}, {{6144, 1, 1}, {128, 1, 1}, 28, 0, 0, {0}}}},
    [K_MUL] = {"_ZN2at6native18elementwise_kernelILi128ELi2EZNS0_22gpu_kernel_impl_nocastINS0_"
               "13BinaryFunctorIfffNS0_"
               "15binary_internal10MulFunctorIfEEEEEEvRNS_18TensorIteratorBaseERKT_EUliE_EEviT1_",
               11000,
               API_LAUNCH_KERNEL,
               STACK_LAUNCH_ATEN,
               {{{1024, 1, 1}, {128, 1, 1}, 20, 0, 0, {0}}, {{1024, 1, 1}, {128, 1, 1}, 20, 0, 0, {0}}}},
    [K_SOFTMAX] =
        {"_ZN2at6native43_GLOBAL__N__a2c4e1d7_10_SoftMax_cu_9f9ba1c419cunn_SoftMaxForwardILi4EfffNS1_"
         "22SoftMaxForwardEpilogueEEEvPT2_PKT0_i",
         38000,
         API_LAUNCH_KERNEL,
         STACK_LAUNCH_ATEN,
         {{{4096, 1, 1}, {512, 1, 1}, 40, 0, 0, {0}}, {{4096, 1, 1}, {512, 1, 1}, 40, 0, 0, {0}}}},
    [K_REDUCE] = {"_ZN2at6native13reduce_kernelILi512ELi1ENS0_8ReduceOpIfNS0_14func_wrapper_tIfNS0_11sum_"
                  "functorIfffEEEEjfLi4EEEEEvT1_",
                  27000,
                  API_LAUNCH_KERNEL,
                  STACK_LAUNCH_ATEN,
                  {{{132, 1, 1}, {32, 16, 1}, 32, 16, 2048, {0}},
                   {{264, 1, 1}, {32, 16, 1}, 32, 16, 2048, {0}}}},
    [K_ATTN_BWD] =
        {"_ZN5flash44flash_bwd_dq_dk_dv_loop_seqk_parallel_kernelINS_23Flash_bwd_kernel_traitsILi128ELi64E"
         "Li128ELi8ELi2ELi4ELi2ELb0ELb0EN7cutlass6half_tEEELb1ELb0ELb0ELb0EEEvNS_16Flash_bwd_paramsE",
         470000,
         API_LAUNCH_KERNEL,
         STACK_LAUNCH_ATEN,
         {{{8, 32, 4}, {256, 1, 1}, 255, 0, 98304, {0}}, {{16, 32, 4}, {256, 1, 1}, 255, 0, 98304, {0}}}},
    [K_TRITON_RED] = {"triton_red_fused__softmax_backward_data_1",
                      29000,
                      API_CU_LAUNCH_KERNEL,
                      STACK_LAUNCH_TRITON,
                      {{{4096, 1, 1}, {64, 1, 1}, 38, 0, 512, {0}},
                       {{4096, 1, 1}, {64, 1, 1}, 38, 0, 512, {0}}}},
    [K_LAYERNORM_BWD] = {"_ZN2at6native28layer_norm_grad_input_kernelIffEEvPKT_S4_PKT0_S7_S4_PS2_i",
                         34000,
                         API_LAUNCH_KERNEL,
                         STACK_LAUNCH_ATEN,
                         {{{4096, 1, 1}, {128, 1, 1}, 40, 1024, 0, {0}},
                          {{4096, 1, 1}, {128, 1, 1}, 40, 1024, 0, {0}}}},
    [K_ADAM] = {"_ZN2at6native12_GLOBAL__N_125multi_tensor_apply_kernelINS1_18TensorListMetadataILi4EEENS1_"
                "11AdamFunctorIfLi4EEEJfffffbPfEEEvT_T0_DpT1_",
                88000,
                API_LAUNCH_KERNEL,
                STACK_LAUNCH_ATEN,
                {{{320, 1, 1}, {512, 1, 1}, 64, 0, 0, {0}}, {{320, 1, 1}, {512, 1, 1}, 64, 0, 0, {0}}}},
    [K_FILL] = {"_ZN2at6native29vectorized_elementwise_kernelILi4ENS0_11FillFunctorIfEENS_"
                "6detail5ArrayIPcLi1EEEEEviT0_"
                "T1_",
                3500,
                API_LAUNCH_KERNEL,
                STACK_LAUNCH_ATEN,
                {{{1, 1, 1}, {128, 1, 1}, 16, 0, 0, {0}}, {{1024, 1, 1}, {128, 1, 1}, 16, 0, 0, {0}}}},
    [K_NCCL] = {"_Z39ncclDevKernel_AllReduce_Sum_f32_RING_LL24ncclDevKernelArgsStorageILm4096EE",
                560000,
                API_LAUNCH_KERNEL,
                STACK_LAUNCH_NCCL,
                {{{24, 1, 1}, {640, 1, 1}, 96, 4352, 0, {0}}, {{24, 1, 1}, {640, 1, 1}, 96, 4352, 0, {0}}}},
};

enum synth_range_id {
	R_TRAIN_STEP,
	R_DATA,
	R_FORWARD,
	R_BLOCK,
	R_BACKWARD,
	R_BLOCK_BWD,
	R_OPTIMIZER,
	R_EPOCH, /* start/end, in the "training" domain */
	R_MARK_EPOCH,
	R_MARK_LOSS,
	R_COUNT,
};

static const struct {
	const char *name;
	uint32_t color; /* ARGB, 0 = none */
	uint32_t category;
	bool training_domain;
} synth_ranges[R_COUNT] = {
    [R_TRAIN_STEP] = {"train_step", 0xff76b900, 0, false},
    [R_DATA] = {"data_copy", 0xff00a0e0, 1, false},
    [R_FORWARD] = {"forward", 0xff3a7bd5, 0, false},
    [R_BLOCK] = {"transformer_block", 0, 0, false},
    [R_BACKWARD] = {"backward", 0xffd53a3a, 0, false},
    [R_BLOCK_BWD] = {"transformer_block_backward", 0, 0, false},
    [R_OPTIMIZER] = {"optimizer.step", 0xffe0c000, 0, false},
    [R_EPOCH] = {"epoch", 0xff8040c0, 0, true},
    [R_MARK_EPOCH] = {"epoch_begin", 0, 0, true},
    [R_MARK_LOSS] = {"log_loss", 0xffffffff, 2, false},
};

/* Copies: kind, memory kinds, size, and which stream and call carry them. */
enum synth_copy_id { C_BATCH, C_LOSS, C_GRADS, C_WEIGHTS, C_COUNT };
enum synth_role { ROLE_COMPUTE, ROLE_COPY, ROLE_COMM, ROLE_DEFAULT };

static const struct {
	uint8_t copy_kind, src, dst, role, api;
	uint64_t bytes;
	uint32_t bytes_per_us; /* bandwidth */
} synth_copies[C_COUNT] = {
    [C_BATCH] = {TRACE_COPY_HTOD, TRACE_MEM_PINNED, TRACE_MEM_DEVICE, ROLE_COPY, API_MEMCPY_ASYNC, 8388608,
                 24000},
    [C_LOSS] = {TRACE_COPY_DTOH, TRACE_MEM_DEVICE, TRACE_MEM_PAGEABLE, ROLE_COMPUTE, API_MEMCPY_ASYNC, 4,
                1000},
    [C_GRADS] = {TRACE_COPY_DTOD, TRACE_MEM_DEVICE, TRACE_MEM_DEVICE, ROLE_COMPUTE, API_MEMCPY_ASYNC,
                 16777216, 1400000},
    [C_WEIGHTS] = {TRACE_COPY_HTOD, TRACE_MEM_PAGEABLE, TRACE_MEM_DEVICE, ROLE_DEFAULT, API_MEMCPY, 268435456,
                   11000},
};

/* One step of the training-step script a thread runs. */
enum synth_op_kind {
	OP_PUSH,     /* arg: range */
	OP_POP,      /* pops the innermost range */
	OP_KERNEL,   /* arg: kernel, on the thread's compute stream */
	OP_COMM,     /* NCCL kernel on the communication stream */
	OP_COPY,     /* arg: copy */
	OP_MEMSET,   /* 32 MiB of gradients on the compute stream */
	OP_RECORD,   /* cudaEventRecord on the copy stream */
	OP_WAIT,     /* cudaStreamWaitEvent: compute stream waits for the copy or comm stream */
	OP_SSYNC,    /* cudaStreamSynchronize of the compute stream */
	OP_ESYNC,    /* cudaEventSynchronize of the copy stream's event */
	OP_CAPTURE,  /* cudaStreamIsCapturing: a call without GPU work */
	OP_ALLOC,    /* allocate the 64 MiB workspace */
	OP_FREE,     /* free it */
	OP_MARK,     /* arg: mark range */
	OP_EPOCH,    /* starts the epoch start/end range */
	OP_EPOCH_END /* ends it */
};

struct synth_op {
	uint8_t kind;
	uint8_t arg;
	uint8_t every; /* runs when step % every == phase; 0 means every step */
	uint8_t phase;
};

#define OPN(k, a)                                                                                            \
	{                                                                                                    \
		k, a, 0, 0                                                                                   \
	}
#define OPE(k, a, every, phase)                                                                              \
	{                                                                                                    \
		k, a, every, phase                                                                           \
	}
#define SYNTH_EPOCH_STEPS 50

#define SYNTH_BLOCK_FWD                                                                                      \
	OPN(OP_PUSH, R_BLOCK), OPN(OP_KERNEL, K_LAYERNORM), OPN(OP_KERNEL, K_GEMM_CUBLAS),                   \
	    OPN(OP_KERNEL, K_ATTN_FWD), OPN(OP_KERNEL, K_GEMM_CUTLASS), OPN(OP_KERNEL, K_TRITON_POI),        \
	    OPN(OP_KERNEL, K_LAYERNORM), OPN(OP_KERNEL, K_GEMM_CUBLAS), OPN(OP_KERNEL, K_GELU),              \
	    OPN(OP_KERNEL, K_GEMM_CUTLASS), OPN(OP_KERNEL, K_MUL), OPN(OP_POP, 0)

#define SYNTH_BLOCK_BWD                                                                                      \
	OPN(OP_PUSH, R_BLOCK_BWD), OPN(OP_KERNEL, K_GEMM_CUTLASS), OPN(OP_KERNEL, K_MUL),                    \
	    OPN(OP_KERNEL, K_GEMM_CUBLAS), OPN(OP_KERNEL, K_ATTN_BWD), OPN(OP_KERNEL, K_TRITON_RED),         \
	    OPN(OP_KERNEL, K_LAYERNORM_BWD), OPN(OP_KERNEL, K_GEMM_CUTLASS), OPN(OP_POP, 0)

static const struct synth_op synth_script[] = {
    OPE(OP_EPOCH, 0, SYNTH_EPOCH_STEPS, 0),
    OPE(OP_MARK, R_MARK_EPOCH, SYNTH_EPOCH_STEPS, 0),
    OPN(OP_PUSH, R_TRAIN_STEP),
    OPN(OP_PUSH, R_DATA),
    OPN(OP_COPY, C_BATCH),
    OPN(OP_RECORD, 0),
    OPN(OP_POP, 0),
    OPN(OP_WAIT, ROLE_COPY),
    OPN(OP_PUSH, R_FORWARD),
    OPN(OP_CAPTURE, 0),
    SYNTH_BLOCK_FWD,
    SYNTH_BLOCK_FWD,
    OPN(OP_KERNEL, K_SOFTMAX),
    OPN(OP_KERNEL, K_REDUCE),
    OPN(OP_POP, 0),
    OPN(OP_PUSH, R_BACKWARD),
    OPE(OP_ALLOC, 0, 4, 0),
    SYNTH_BLOCK_BWD,
    SYNTH_BLOCK_BWD,
    OPE(OP_FREE, 0, 4, 3),
    OPN(OP_POP, 0),
    OPN(OP_COMM, K_NCCL),
    OPN(OP_WAIT, ROLE_COMM),
    OPN(OP_PUSH, R_OPTIMIZER),
    OPN(OP_MEMSET, 0),
    OPN(OP_KERNEL, K_ADAM),
    OPN(OP_COPY, C_GRADS),
    OPN(OP_KERNEL, K_FILL),
    OPN(OP_POP, 0),
    OPE(OP_COPY, C_LOSS, 10, 9),
    OPE(OP_MARK, R_MARK_LOSS, 10, 9),
    OPN(OP_SSYNC, 0),
    OPE(OP_ESYNC, 0, 5, 2),
    OPN(OP_POP, 0),
    OPE(OP_EPOCH_END, 0, SYNTH_EPOCH_STEPS, SYNTH_EPOCH_STEPS - 1),
};

#define SYNTH_SCRIPT_LEN      (sizeof(synth_script) / sizeof(synth_script[0]))
#define SYNTH_NVTX_DEPTH      8
#define SYNTH_WORKSPACE_BYTES (64ull << 20)
#define SYNTH_MEMSET_BYTES    (32ull << 20)
#define SYNTH_PARAM_BYTES     (512ull << 20)
#define SYNTH_OPTIM_BYTES     (1024ull << 20)
#define SYNTH_START_TIME_NS   1714564800000000000ll /* 2024-05-01 12:00:00 UTC */

struct synth_stream {
	uint32_t track;
	uint32_t id;  /* CUDA stream id as CUPTI numbers them */
	int64_t busy; /* end of the last work queued on it */
};

struct synth_proc {
	uint32_t index, pid, device, context;
	uint32_t command; /* string id */
	uint32_t proc_track, counter_track;
	struct synth_stream *streams; /* opts.streams of them */
	int64_t start, end;
	uint64_t mem_used;
	uint64_t next_addr;
	uint64_t param_addr, optim_addr;
	uint32_t event_id; /* the CUDA event the copy stream records */
};

struct synth_range_open {
	uint8_t range;
	int64_t start;
};

struct synth_thread {
	struct synth_proc *proc;
	uint32_t index, tid, track;
	uint32_t compute; /* index of its compute stream */
	int64_t now;
	uint64_t step;
	uint32_t pc;
	struct synth_range_open open[SYNTH_NVTX_DEPTH];
	uint32_t depth;
	bool epoch_open;
	int64_t epoch_start;
	bool workspace_live;
	uint64_t workspace_addr;
};

struct synth_gen {
	struct synth_options opts;
	struct synth_out *out;
	uint64_t rng;
	uint32_t next_corr;
	uint32_t api_name[API_COUNT];
	uint32_t stack[STACK_COUNT];
	uint32_t kernel_name[K_COUNT];
	uint32_t kernel_launch[K_COUNT][2];
	uint32_t range_name[R_COUNT];
	uint32_t range_attr[R_COUNT];
	struct synth_proc *procs;
	struct synth_thread *threads; /* processes * threads, process-major */
	size_t nthreads;
	bool lost_done;
};

/* splitmix64: the next pseudo-random 64-bit value of the generator. */
static uint64_t synth_rand(struct synth_gen *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A pseudo-random value in [lo, hi]. */
static int64_t synth_between(struct synth_gen *g, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(synth_rand(g) % (uint64_t)(hi - lo + 1));
}

/* A duration around `ns`: +-10 %, and one in fifty 1.6 times slower. */
static int64_t synth_jitter(struct synth_gen *g, int64_t ns)
{
	int64_t d = ns * synth_between(g, 90, 110) / 100;
	if (synth_rand(g) % 50 == 0)
		d = d * 16 / 10;
	return d > 0 ? d : 1;
}

/* The larger of a and b. */
static int64_t synth_max(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* The stream a thread uses for `role`. Stream 0 is the default stream,
 * 1 copies, 2 communication; compute work goes to stream 0 and to streams
 * from 3 on, spread over the threads. */
static struct synth_stream *synth_role_stream(struct synth_gen *g, struct synth_thread *th, unsigned role)
{
	uint32_t n = g->opts.streams;
	struct synth_stream *st = th->proc->streams;
	switch (role) {
	case ROLE_COPY:
		return n > 1 ? &st[1] : &st[th->compute];
	case ROLE_COMM:
		return n > 2 ? &st[2] : &st[th->compute];
	case ROLE_DEFAULT:
		return &st[0];
	default:
		return &st[th->compute];
	}
}

/* Emits an API call of `th` starting now and lasting `dur`; advances the
 * thread's clock past it and returns its start. */
static int64_t synth_api_call(struct synth_gen *g, struct synth_thread *th, unsigned api, int64_t dur,
                              uint32_t corr)
{
	struct trace_event ev = {0};
	ev.start = th->now;
	ev.end = th->now + dur;
	ev.name = g->api_name[api];
	ev.track = th->track;
	ev.correlation = corr;
	ev.kind = TRACE_API;
	ev.flags = synth_apis[api].domain;
	ev.sub = 0; /* cudaSuccess */
	ev.u.api.cbid = synth_apis[api].cbid;
	ev.u.api.stack = g->stack[synth_apis[api].stack];
	synth_emit(g->out, &ev);
	th->now = ev.end;
	return ev.start;
}

/* The ordinary duration of a call to `api`. */
static int64_t synth_api_time(struct synth_gen *g, unsigned api)
{
	return synth_between(g, synth_apis[api].min_ns, synth_apis[api].max_ns);
}

/* Host time between two calls: Python and framework overhead. */
static void synth_host_gap(struct synth_gen *g, struct synth_thread *th)
{
	th->now += synth_between(g, 1500, 14000);
}

/* Queues GPU work of duration `dur` on `st`, launched by a call that began at
 * `launch`; fills start and end of `ev` and emits it. */
static void synth_gpu(struct synth_gen *g, struct synth_stream *st, int64_t launch, int64_t dur,
                      struct trace_event *ev)
{
	ev->start = synth_max(launch + synth_between(g, 2000, 5000), st->busy);
	ev->end = ev->start + dur;
	ev->track = st->track;
	st->busy = ev->end;
	synth_emit(g->out, ev);
}

/* Launches kernel `k` on `st` from thread `th`. */
static void synth_kernel(struct synth_gen *g, struct synth_thread *th, unsigned k, struct synth_stream *st)
{
	uint32_t corr = ++g->next_corr;
	unsigned api = synth_kernels[k].api;
	int64_t launch = th->now;
	struct trace_event ev = {0};
	ev.name = g->kernel_name[k];
	ev.correlation = corr;
	ev.kind = TRACE_KERNEL;
	ev.u.kernel.launch = g->kernel_launch[k][th->step % 2];
	synth_gpu(g, st, launch, synth_jitter(g, synth_kernels[k].ns), &ev);
	/* The call runs on the launching thread; its stack is the kernel's. */
	struct trace_event call = {0};
	call.start = launch;
	call.end = launch + synth_api_time(g, api);
	call.name = g->api_name[api];
	call.track = th->track;
	call.correlation = corr;
	call.kind = TRACE_API;
	call.flags = synth_apis[api].domain;
	call.u.api.cbid = synth_apis[api].cbid;
	call.u.api.stack = g->stack[synth_kernels[k].stack];
	synth_emit(g->out, &call);
	th->now = call.end;
}

/* Copy `c` from thread `th`: an asynchronous call returns at once, the
 * synchronous cudaMemcpy waits for the copy. */
static void synth_copy(struct synth_gen *g, struct synth_thread *th, unsigned c)
{
	struct synth_stream *st = synth_role_stream(g, th, synth_copies[c].role);
	uint32_t corr = ++g->next_corr;
	unsigned api = synth_copies[c].api;
	int64_t launch = th->now;
	struct trace_event ev = {0};
	ev.kind = TRACE_MEMCPY;
	ev.correlation = corr;
	ev.sub = trace_memcpy_sub(synth_copies[c].copy_kind, synth_copies[c].src, synth_copies[c].dst);
	ev.u.bytes = synth_copies[c].bytes;
	int64_t dur = 1500 + (int64_t)(synth_copies[c].bytes * 1000 / synth_copies[c].bytes_per_us);
	synth_gpu(g, st, launch, synth_jitter(g, dur), &ev);
	int64_t call = synth_api_time(g, api);
	if (api == API_MEMCPY)
		call = synth_max(call, ev.end - launch + synth_between(g, 1000, 3000));
	synth_api_call(g, th, api, call, corr);
}

/* cudaMemsetAsync of the gradients on the compute stream. */
static void synth_memset(struct synth_gen *g, struct synth_thread *th)
{
	struct synth_stream *st = synth_role_stream(g, th, ROLE_COMPUTE);
	uint32_t corr = ++g->next_corr;
	int64_t launch = th->now;
	struct trace_event ev = {0};
	ev.kind = TRACE_MEMSET;
	ev.correlation = corr;
	ev.sub = TRACE_MEM_DEVICE;
	ev.u.bytes = SYNTH_MEMSET_BYTES;
	synth_gpu(g, st, launch, synth_jitter(g, 1500 + (int64_t)(SYNTH_MEMSET_BYTES / 1200)), &ev);
	synth_api_call(g, th, API_MEMSET_ASYNC, synth_api_time(g, API_MEMSET_ASYNC), corr);
}

/* A host wait for `st` (stream, event or device synchronization): the call
 * lasts until the stream drains; the synchronization record follows the
 * stream's last work so that the stream stays free of overlap. */
static void synth_host_sync(struct synth_gen *g, struct synth_thread *th, unsigned api, unsigned sync_kind,
                            struct synth_stream *st, int64_t drained)
{
	uint32_t corr = ++g->next_corr;
	int64_t t0 = th->now;
	struct trace_event ev = {0};
	ev.kind = TRACE_SYNC;
	ev.correlation = corr;
	ev.sub = (uint16_t)sync_kind;
	ev.u.sync.event = sync_kind == TRACE_SYNC_EVENT ? th->proc->event_id : 0;
	ev.track = st->track;
	ev.start = synth_max(synth_max(t0 + 500, st->busy), drained);
	ev.end = ev.start + synth_between(g, 600, 1500);
	st->busy = ev.end;
	synth_emit(g->out, &ev);
	int64_t call = synth_max(synth_api_time(g, api), ev.end - t0 + synth_between(g, 800, 2500));
	synth_api_call(g, th, api, call, corr);
}

/* cudaStreamWaitEvent: the compute stream waits for the work queued so far
 * on the stream of `role`. */
static void synth_stream_wait(struct synth_gen *g, struct synth_thread *th, unsigned role)
{
	struct synth_stream *st = synth_role_stream(g, th, ROLE_COMPUTE);
	struct synth_stream *other = synth_role_stream(g, th, role);
	uint32_t corr = ++g->next_corr;
	int64_t launch = th->now;
	struct trace_event ev = {0};
	ev.kind = TRACE_SYNC;
	ev.correlation = corr;
	ev.sub = TRACE_SYNC_STREAM_WAIT_EVENT;
	ev.u.sync.event = th->proc->event_id;
	ev.track = st->track;
	ev.start = synth_max(launch + synth_between(g, 1500, 3000), st->busy);
	ev.end = synth_max(ev.start + 800, other->busy);
	st->busy = ev.end;
	synth_emit(g->out, &ev);
	synth_api_call(g, th, API_STREAM_WAIT_EVENT, synth_api_time(g, API_STREAM_WAIT_EVENT), corr);
}

/* Samples the process's allocated-memory counter at `t`. */
static void synth_counter(struct synth_gen *g, struct synth_proc *p, int64_t t)
{
	struct trace_event ev = {0};
	ev.start = ev.end = t;
	ev.name = 0;
	ev.track = p->counter_track;
	ev.kind = TRACE_COUNTER;
	ev.u.counter = (int64_t)p->mem_used;
	synth_emit(g->out, &ev);
}

/* cudaMalloc or cudaFree of `bytes` at `addr` with its allocation record and a
 * counter sample. `slow` makes the call carry context creation. */
static void synth_memory(struct synth_gen *g, struct synth_thread *th, bool alloc, uint64_t addr,
                         uint64_t bytes, bool slow)
{
	struct synth_proc *p = th->proc;
	struct trace_memop m = {
	    .address = addr, .bytes = bytes, .device = p->device, .mem_kind = TRACE_MEM_DEVICE};
	uint32_t id = synth_memop(g->out, &m);
	uint32_t corr = ++g->next_corr;
	unsigned api = alloc ? API_MALLOC : API_FREE;
	int64_t dur = synth_api_time(g, api) + (slow ? synth_between(g, 110000000, 140000000) : 0);
	int64_t start = synth_api_call(g, th, api, dur, corr);
	struct trace_event ev = {0};
	ev.start = ev.end = start + dur - synth_between(g, 300, 900);
	ev.track = th->track;
	ev.correlation = corr;
	ev.kind = alloc ? TRACE_MEM_ALLOC : TRACE_MEM_FREE;
	ev.u.memop.id = id;
	synth_emit(g->out, &ev);
	p->mem_used = alloc ? p->mem_used + bytes : p->mem_used - bytes;
	synth_counter(g, p, ev.start);
}

/* Reserves `bytes` of the process's device address space. */
static uint64_t synth_address(struct synth_proc *p, uint64_t bytes)
{
	uint64_t a = p->next_addr;
	p->next_addr += (bytes + 0x1fffff) & ~0x1fffffull;
	return a;
}

/* Emits NVTX range `r` of thread `th` over [start, now]. */
static void synth_range(struct synth_gen *g, struct synth_thread *th, unsigned r, int64_t start,
                        bool startend)
{
	struct trace_event ev = {0};
	ev.start = start;
	ev.end = th->now;
	ev.name = g->range_name[r];
	ev.track = th->track;
	ev.kind = TRACE_NVTX_RANGE;
	ev.flags = startend ? TRACE_FLAG_NVTX_STARTEND : 0;
	ev.u.nvtx.attr = g->range_attr[r];
	synth_emit(g->out, &ev);
}

/* Pops the innermost open range of `th`, emitting it. */
static void synth_pop(struct synth_gen *g, struct synth_thread *th)
{
	if (!th->depth)
		return;
	th->now += synth_between(g, 300, 1200);
	th->depth--;
	synth_range(g, th, th->open[th->depth].range, th->open[th->depth].start, false);
}

/* An NVTX mark on `th`. */
static void synth_mark(struct synth_gen *g, struct synth_thread *th, unsigned r)
{
	struct trace_event ev = {0};
	ev.start = ev.end = th->now;
	ev.name = g->range_name[r];
	ev.track = th->track;
	ev.kind = TRACE_NVTX_MARK;
	ev.u.nvtx.attr = g->range_attr[r];
	synth_emit(g->out, &ev);
	th->now += synth_between(g, 200, 600);
}

/* Runs the next step of the script on `th`. */
static void synth_run_op(struct synth_gen *g, struct synth_thread *th)
{
	const struct synth_op *op = &synth_script[th->pc];
	uint64_t step = th->step;
	if (++th->pc == SYNTH_SCRIPT_LEN) {
		th->pc = 0;
		th->step++;
	}
	if (op->every && step % op->every != op->phase)
		return;
	synth_host_gap(g, th);
	switch (op->kind) {
	case OP_PUSH:
		if (th->depth < SYNTH_NVTX_DEPTH) {
			th->open[th->depth].range = op->arg;
			th->open[th->depth].start = th->now;
			th->depth++;
		}
		break;
	case OP_POP:
		synth_pop(g, th);
		break;
	case OP_KERNEL:
		synth_kernel(g, th, op->arg, synth_role_stream(g, th, ROLE_COMPUTE));
		break;
	case OP_COMM:
		synth_kernel(g, th, op->arg, synth_role_stream(g, th, ROLE_COMM));
		break;
	case OP_COPY:
		synth_copy(g, th, op->arg);
		break;
	case OP_MEMSET:
		synth_memset(g, th);
		break;
	case OP_RECORD:
		synth_api_call(g, th, API_EVENT_RECORD, synth_api_time(g, API_EVENT_RECORD), ++g->next_corr);
		break;
	case OP_WAIT:
		synth_stream_wait(g, th, op->arg);
		break;
	case OP_SSYNC: {
		struct synth_stream *st = synth_role_stream(g, th, ROLE_COMPUTE);
		synth_host_sync(g, th, API_STREAM_SYNCHRONIZE, TRACE_SYNC_STREAM, st, 0);
		break;
	}
	case OP_ESYNC: {
		struct synth_stream *st = synth_role_stream(g, th, ROLE_COPY);
		synth_host_sync(g, th, API_EVENT_SYNCHRONIZE, TRACE_SYNC_EVENT, st, 0);
		break;
	}
	case OP_CAPTURE:
		synth_api_call(g, th, API_STREAM_IS_CAPTURING, synth_api_time(g, API_STREAM_IS_CAPTURING),
		               ++g->next_corr);
		break;
	case OP_ALLOC:
		if (!th->workspace_live) {
			th->workspace_addr = synth_address(th->proc, SYNTH_WORKSPACE_BYTES);
			synth_memory(g, th, true, th->workspace_addr, SYNTH_WORKSPACE_BYTES, false);
			th->workspace_live = true;
		}
		break;
	case OP_FREE:
		if (th->workspace_live) {
			synth_memory(g, th, false, th->workspace_addr, SYNTH_WORKSPACE_BYTES, false);
			th->workspace_live = false;
		}
		break;
	case OP_MARK:
		synth_mark(g, th, op->arg);
		break;
	case OP_EPOCH:
		if (!th->epoch_open) {
			th->epoch_open = true;
			th->epoch_start = th->now;
		}
		break;
	case OP_EPOCH_END:
		if (th->epoch_open) {
			synth_range(g, th, R_EPOCH, th->epoch_start, true);
			th->epoch_open = false;
		}
		break;
	}
}

/* --- set-up and shutdown ---------------------------------------------------- */

/* Defines the strings, frames, stacks, launches and NVTX attributes every
 * process shares. */
static void synth_define_tables(struct synth_gen *g)
{
	struct synth_out *o = g->out;
	for (unsigned i = 0; i < API_COUNT; i++)
		g->api_name[i] = synth_string(o, synth_apis[i].name);
	uint32_t frame_id[SYNTH_NFRAMES];
	for (unsigned i = 0; i < SYNTH_NFRAMES; i++) {
		struct trace_frame f = {0};
		f.pc = synth_frames[i].pc;
		f.offset = synth_frames[i].offset;
		f.function = synth_string(o, synth_frames[i].function);
		f.module = synth_string(o, synth_frames[i].module);
		f.file = synth_frames[i].file ? synth_string(o, synth_frames[i].file) : 0;
		f.line = synth_frames[i].line;
		frame_id[i] = synth_frame(o, &f);
	}
	for (unsigned i = 0; i < STACK_COUNT; i++) {
		uint32_t fr[SYNTH_STACK_MAX];
		uint32_t n = 0;
		while (n < SYNTH_STACK_MAX && synth_stacks[i][n] >= 0) {
			fr[n] = frame_id[synth_stacks[i][n]];
			n++;
		}
		g->stack[i] = synth_stack(o, fr, n);
	}
	for (unsigned k = 0; k < K_COUNT; k++) {
		g->kernel_name[k] = synth_string(o, synth_kernels[k].name);
		g->kernel_launch[k][0] = synth_launch(o, &synth_kernels[k].launch[0]);
		if (memcmp(&synth_kernels[k].launch[0], &synth_kernels[k].launch[1],
		           sizeof(struct trace_launch)))
			g->kernel_launch[k][1] = synth_launch(o, &synth_kernels[k].launch[1]);
		else
			g->kernel_launch[k][1] = g->kernel_launch[k][0];
	}
	uint32_t domain = synth_string(o, "training");
	for (unsigned r = 0; r < R_COUNT; r++) {
		g->range_name[r] = synth_string(o, synth_ranges[r].name);
		struct trace_nvtx_attr a = {0};
		a.domain = synth_ranges[r].training_domain ? domain : 0;
		a.category = synth_ranges[r].category;
		a.color = synth_ranges[r].color;
		a.has_color = synth_ranges[r].color != 0;
		if (r == R_MARK_LOSS) {
			a.payload_type = TRACE_NVTX_PAYLOAD_U64;
			a.payload = 10;
		}
		if (a.domain || a.category || a.has_color || a.payload_type)
			g->range_attr[r] = synth_attr(o, &a);
	}
}

/* Records device `id` as an H100 SXM. */
static void synth_define_device(struct synth_gen *g, uint32_t id)
{
	struct trace_device d = {0};
	d.id = id;
	d.api = TRACE_DEVICE_CUDA;
	d.name = synth_string(g->out, "NVIDIA H100 80GB HBM3");
	for (unsigned i = 0; i < sizeof(d.uuid); i++)
		d.uuid[i] = (uint8_t)synth_rand(g);
	d.uuid[6] = (uint8_t)((d.uuid[6] & 0x0f) | 0x40);
	d.cc_major = 9;
	d.cc_minor = 0;
	d.sm_count = 132;
	d.global_memory = 85520809984ull;
	d.warp_size = 32;
	d.max_threads_per_block = 1024;
	d.max_threads_per_sm = 2048;
	d.max_blocks_per_sm = 32;
	d.regs_per_block = 65536;
	d.regs_per_sm = 65536;
	d.smem_per_block = 49152;
	d.smem_per_sm = 233472;
	d.core_clock_khz = 1980000;
	d.memory_clock_khz = 2619000;
	d.memory_bus_width = 5120;
	synth_device(g->out, &d);
}

/* The record of process `p` in its current state. */
static void synth_process_record(struct synth_gen *g, struct synth_proc *p, bool exited)
{
	struct trace_process pr = {0};
	pr.pid = p->pid;
	pr.ppid = 40999;
	pr.command = p->command;
	pr.start = p->start;
	pr.end = exited ? p->end : 0;
	pr.state = exited ? TRACE_PROC_EXITED : TRACE_PROC_RUNNING;
	pr.status = 0;
	synth_process(g->out, &pr);
}

/* Defines process `p`'s tracks and runs its start-up on its main thread:
 * device query, the first allocation (which creates the context), streams,
 * and the weights copy. */
static void synth_define_process(struct synth_gen *g, struct synth_proc *p)
{
	struct synth_out *o = g->out;
	char buf[160];
	p->pid = 41000 + 100 * p->index;
	p->device = p->index % g->opts.devices;
	p->context = p->index + 1;
	p->event_id = 1;
	p->start = 1000000 + (int64_t)p->index * 1500000;
	p->next_addr = 0x7f3a40000000ull + ((uint64_t)p->index << 36);
	if (g->opts.processes == 1)
		snprintf(buf, sizeof(buf), "python3 train.py --model gpt2-medium --batch-size 32 --bf16");
	else
		snprintf(buf, sizeof(buf),
		         "python3 train.py --model gpt2-medium --batch-size 32 --bf16 --local-rank=%u",
		         p->index);
	p->command = synth_string(o, buf);
	synth_process_record(g, p, false);

	struct trace_track_info ti = {0};
	if (p->index == 0) {
		ti.kind = TRACE_TRACK_PROCESS;
		ti.pid = p->pid;
		p->proc_track = synth_track(o, &ti);
	}
	memset(&ti, 0, sizeof(ti));
	ti.kind = TRACE_TRACK_COUNTER;
	ti.pid = p->pid;
	ti.device = p->device;
	ti.name = synth_string(o, "GPU memory allocated (bytes)");
	p->counter_track = synth_track(o, &ti);

	p->streams = xcalloc(g->opts.streams, sizeof(*p->streams));
	for (uint32_t i = 0; i < g->opts.streams; i++) {
		static const char *const labels[] = {"default", "h2d copies", "nccl"};
		struct synth_stream *st = &p->streams[i];
		st->id = i == 0 ? 7 : 12 + i;
		memset(&ti, 0, sizeof(ti));
		ti.kind = TRACE_TRACK_STREAM;
		ti.pid = p->pid;
		ti.device = p->device;
		ti.context = p->context;
		ti.stream = st->id;
		if (i < 3) {
			ti.name = synth_string(o, labels[i]);
		} else {
			snprintf(buf, sizeof(buf), "compute %u", i - 2);
			ti.name = synth_string(o, buf);
		}
		st->track = synth_track(o, &ti);
	}
}

/* Defines thread `th` of its process and places its first step. */
static void synth_define_thread(struct synth_gen *g, struct synth_thread *th)
{
	char buf[64];
	struct synth_proc *p = th->proc;
	th->tid = p->pid + th->index;
	if (th->index == 0)
		snprintf(buf, sizeof(buf), "python3");
	else
		snprintf(buf, sizeof(buf), "pt_worker_%u", th->index);
	struct trace_track_info ti = {0};
	ti.kind = TRACE_TRACK_THREAD;
	ti.pid = p->pid;
	ti.tid = th->tid;
	ti.name = synth_string(g->out, buf);
	th->track = synth_track(g->out, &ti);
	/* Compute streams: stream 0 and streams 3 and up, spread over threads. */
	uint32_t ncompute = g->opts.streams > 3 ? g->opts.streams - 2 : 1;
	uint32_t c = th->index % ncompute;
	th->compute = c == 0 ? 0 : c + 2;
	th->now = p->start;
}

/* Start-up of process `p` on its main thread `th`; the other threads of the
 * process begin once it is done. */
static void synth_startup(struct synth_gen *g, struct synth_proc *p, struct synth_thread *th)
{
	synth_api_call(g, th, API_GET_DEVICE_PROPERTIES, synth_api_time(g, API_GET_DEVICE_PROPERTIES),
	               ++g->next_corr);
	synth_host_gap(g, th);
	p->param_addr = synth_address(p, SYNTH_PARAM_BYTES);
	synth_memory(g, th, true, p->param_addr, SYNTH_PARAM_BYTES, true);
	synth_host_gap(g, th);
	p->optim_addr = synth_address(p, SYNTH_OPTIM_BYTES);
	synth_memory(g, th, true, p->optim_addr, SYNTH_OPTIM_BYTES, false);
	for (uint32_t i = 1; i < g->opts.streams; i++) {
		synth_host_gap(g, th);
		synth_api_call(g, th, API_STREAM_CREATE, synth_api_time(g, API_STREAM_CREATE),
		               ++g->next_corr);
	}
	synth_host_gap(g, th);
	synth_copy(g, th, C_WEIGHTS);
	for (uint32_t s = 0; s < g->opts.streams; s++)
		p->streams[s].busy = synth_max(p->streams[s].busy, th->now);
}

/* Shutdown of thread `th`: closes its ranges and frees its workspace. */
static void synth_thread_end(struct synth_gen *g, struct synth_thread *th)
{
	while (th->depth)
		synth_pop(g, th);
	if (th->epoch_open) {
		th->now += synth_between(g, 500, 1500);
		synth_range(g, th, R_EPOCH, th->epoch_start, true);
		th->epoch_open = false;
	}
	if (th->workspace_live) {
		synth_host_gap(g, th);
		synth_memory(g, th, false, th->workspace_addr, SYNTH_WORKSPACE_BYTES, false);
		th->workspace_live = false;
	}
}

/* Shutdown of process `p` on its main thread: a device synchronization, the
 * frees of the model's memory, and the exit. */
static void synth_process_end(struct synth_gen *g, struct synth_proc *p, struct synth_thread *main_th)
{
	int64_t drained = 0;
	for (uint32_t s = 0; s < g->opts.streams; s++)
		drained = synth_max(drained, p->streams[s].busy);
	for (size_t i = 0; i < g->nthreads; i++)
		if (g->threads[i].proc == p)
			main_th->now = synth_max(main_th->now, g->threads[i].now);
	synth_host_gap(g, main_th);
	synth_host_sync(g, main_th, API_DEVICE_SYNCHRONIZE, TRACE_SYNC_DEVICE, &p->streams[0], drained);
	synth_host_gap(g, main_th);
	synth_memory(g, main_th, false, p->optim_addr, SYNTH_OPTIM_BYTES, false);
	synth_host_gap(g, main_th);
	synth_memory(g, main_th, false, p->param_addr, SYNTH_PARAM_BYTES, false);
	p->end = main_th->now + synth_between(g, 2000000, 4000000);
	synth_process_record(g, p, true);
}

/* The lost-events marker: the collector's ring overflowed once, on the first
 * process's main thread, at `t`. */
static void synth_lost(struct synth_gen *g, int64_t t)
{
	struct synth_proc *p = &g->procs[0];
	uint64_t lost = (uint64_t)synth_between(g, 100, 999);
	struct trace_event ev = {0};
	ev.start = t;
	ev.end = t + synth_between(g, 20000, 80000);
	ev.track = p->proc_track;
	ev.kind = TRACE_LOST;
	ev.u.bytes = lost;
	synth_emit(g->out, &ev);
	struct trace_loss l = {.pid = p->pid, .source = synth_string(g->out, "ring"), .count = lost};
	synth_loss(g->out, &l);
	g->out->counts.lost = lost;
	g->lost_done = true;
}

/* The metadata of a generated session. */
static void synth_define_meta(struct synth_gen *g)
{
	const struct synth_options *o = &g->opts;
	char buf[256];
	snprintf(buf, sizeof(buf),
	         "tstop-synth -n %" PRIu64 " --seed %" PRIu64
	         " --processes %u --threads %u --devices %u --streams %u",
	         o->events, o->seed, o->processes, o->threads, o->devices, o->streams);
	synth_meta(g->out, TRACE_META_COMMAND, buf);
	synth_meta(g->out, TRACE_META_SYNTHETIC, "1");
	synth_meta(g->out, TRACE_META_HOST, "synth-host");
	snprintf(buf, sizeof(buf), "%lld",
	         (long long)(SYNTH_START_TIME_NS + (int64_t)(o->seed % 86400) * 1000000000ll));
	synth_meta(g->out, TRACE_META_START_TIME, buf);
	synth_meta(g->out, TRACE_META_VERSION, TSTOP_VERSION);
	synth_meta(g->out, TRACE_META_CAPTURE_OPTIONS, "none (generated)");
}

/* Runs the whole simulation into `out`. Returns 0, or -1 after an output
 * error (in out->e). */
static int synth_generate(const struct synth_options *opts, struct synth_out *out)
{
	struct synth_gen g = {0};
	g.opts = *opts;
	g.out = out;
	g.rng = opts->seed ^ 0x5e55105eed5eedull;

	synth_define_meta(&g);
	synth_define_tables(&g);
	for (uint32_t d = 0; d < opts->devices; d++)
		synth_define_device(&g, d);
	g.procs = xcalloc(opts->processes, sizeof(*g.procs));
	g.nthreads = (size_t)opts->processes * opts->threads;
	g.threads = xcalloc(g.nthreads, sizeof(*g.threads));
	for (uint32_t p = 0; p < opts->processes; p++) {
		g.procs[p].index = p;
		synth_define_process(&g, &g.procs[p]);
		for (uint32_t t = 0; t < opts->threads; t++) {
			struct synth_thread *th = &g.threads[(size_t)p * opts->threads + t];
			th->proc = &g.procs[p];
			th->index = t;
			synth_define_thread(&g, th);
		}
	}
	for (uint32_t p = 0; p < opts->processes; p++) {
		struct synth_thread *main_th = &g.threads[(size_t)p * opts->threads];
		synth_startup(&g, &g.procs[p], main_th);
		for (uint32_t t = 1; t < opts->threads; t++)
			main_th[t].now = main_th->now + (int64_t)t * 50000;
	}

	while (!out->failed && out->counts.events < opts->events) {
		struct synth_thread *next = &g.threads[0];
		for (size_t i = 1; i < g.nthreads; i++)
			if (g.threads[i].now < next->now)
				next = &g.threads[i];
		if (!g.lost_done && out->counts.events >= opts->events / 2)
			synth_lost(&g, next->now);
		synth_run_op(&g, next);
	}

	for (size_t i = 0; i < g.nthreads; i++)
		synth_thread_end(&g, &g.threads[i]);
	if (!g.lost_done)
		synth_lost(&g, g.threads[0].now);
	for (uint32_t p = 0; p < opts->processes; p++)
		synth_process_end(&g, &g.procs[p], &g.threads[(size_t)p * opts->threads]);

	for (uint32_t p = 0; p < opts->processes; p++)
		free(g.procs[p].streams);
	free(g.procs);
	free(g.threads);
	return out->failed ? -1 : 0;
}

/* --- public entry points ------------------------------------------------------ */

void synth_options_init(struct synth_options *o)
{
	o->events = 10000;
	o->processes = 1;
	o->threads = 2;
	o->devices = 1;
	o->streams = 3;
	o->seed = 1;
}

/* Checks the options against the SYNTH_MAX_* limits; -1 with e filled when out of range. */
int synth_options_check(const struct synth_options *o, struct err *e)
{
	if (o->processes < 1 || o->processes > SYNTH_MAX_PROCESSES)
		return err_fmt(e, "synth: processes must be 1 to %d", SYNTH_MAX_PROCESSES);
	if (o->threads < 1 || o->threads > SYNTH_MAX_THREADS)
		return err_fmt(e, "synth: threads must be 1 to %d", SYNTH_MAX_THREADS);
	if (o->devices < 1 || o->devices > SYNTH_MAX_DEVICES)
		return err_fmt(e, "synth: devices must be 1 to %d", SYNTH_MAX_DEVICES);
	if (o->streams < 1 || o->streams > SYNTH_MAX_STREAMS)
		return err_fmt(e, "synth: streams must be 1 to %d", SYNTH_MAX_STREAMS);
	return 0;
}

/* Builds the synthetic session in memory; the caller owns it. */
struct trace_session *synth_session(const struct synth_options *o, struct synth_counts *counts, struct err *e)
{
	if (synth_options_check(o, e))
		return NULL;
	struct synth_out out = {0};
	out.s = trace_session_new();
	out.e = e;
	int rc = synth_generate(o, &out);
	synth_out_done(&out);
	if (rc) {
		trace_session_delete(out.s);
		return NULL;
	}
	trace_session_finish(out.s);
	if (counts)
		*counts = out.counts;
	return out.s;
}

/* Streams the synthetic session into w, which the caller keeps and closes. */
int synth_stream(struct sbt_writer *w, const struct synth_options *o, struct synth_counts *counts,
                 struct err *e)
{
	if (synth_options_check(o, e))
		return -1;
	struct synth_out out = {0};
	out.w = w;
	out.e = e;
	int rc = synth_generate(o, &out);
	synth_out_done(&out);
	if (counts)
		*counts = out.counts;
	return rc;
}
