/*
 * opencl_real.c - the OpenCL backend's function table: each function's
 * name, its stable index (enum ocl_fn, the cbid of API events) and the
 * application's real implementation behind our interposed one.
 *
 * The collector does not link libOpenCL (it must load in any process), so
 * every OpenCL function it calls, wrapped or not, is looked up with dlsym:
 * first RTLD_NEXT, the definition that our exported one hides when we are
 * preloaded; failing that, the ICD loader libOpenCL.so.1 if the process has
 * already loaded it (RTLD_NOLOAD: we never load it ourselves), which covers a
 * library loaded locally by dlopen. Each entry is resolved on first use and
 * cached in an atomic pointer: threads racing on a first use store the same
 * value, so no lock is needed and later calls cost one acquire load.
 */
#include "capture/inject/opencl.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>

#include "capture/inject/inject.h"

static const char *const ocl_fn_names[OCL_FN_COUNT] = {
    [OCL_FN_CREATE_QUEUE] = "clCreateCommandQueue",
    [OCL_FN_CREATE_QUEUE_PROPS] = "clCreateCommandQueueWithProperties",
    [OCL_FN_RELEASE_QUEUE] = "clReleaseCommandQueue",
    [OCL_FN_NDRANGE] = "clEnqueueNDRangeKernel",
    [OCL_FN_TASK] = "clEnqueueTask",
    [OCL_FN_READ] = "clEnqueueReadBuffer",
    [OCL_FN_READ_RECT] = "clEnqueueReadBufferRect",
    [OCL_FN_WRITE] = "clEnqueueWriteBuffer",
    [OCL_FN_WRITE_RECT] = "clEnqueueWriteBufferRect",
    [OCL_FN_COPY] = "clEnqueueCopyBuffer",
    [OCL_FN_COPY_RECT] = "clEnqueueCopyBufferRect",
    [OCL_FN_FILL] = "clEnqueueFillBuffer",
    [OCL_FN_MAP] = "clEnqueueMapBuffer",
    [OCL_FN_UNMAP] = "clEnqueueUnmapMemObject",
    [OCL_FN_FINISH] = "clFinish",
    [OCL_FN_WAIT] = "clWaitForEvents",
    [OCL_FN_GET_QUEUE_INFO] = "clGetCommandQueueInfo",
    [OCL_FN_GET_PROFILING_INFO] = "clGetEventProfilingInfo",
    [OCL_FN_RELEASE_KERNEL] = "clReleaseKernel",
    [OCL_FN_GET_EVENT_INFO] = "clGetEventInfo",
    [OCL_FN_SET_EVENT_CALLBACK] = "clSetEventCallback",
    [OCL_FN_RETAIN_EVENT] = "clRetainEvent",
    [OCL_FN_RELEASE_EVENT] = "clReleaseEvent",
    [OCL_FN_GET_KERNEL_INFO] = "clGetKernelInfo",
    [OCL_FN_GET_DEVICE_INFO] = "clGetDeviceInfo",
    [OCL_FN_GET_PLATFORM_INFO] = "clGetPlatformInfo",
    [OCL_FN_DEVICE_AND_HOST_TIMER] = "clGetDeviceAndHostTimer",
};

static _Atomic(void *) ocl_real_fns[OCL_FN_COUNT];

/* Name ids of the traced functions: generation << 32 | string id. */
static _Atomic uint64_t ocl_fn_strings[OCL_FN_COUNT];

/* The function's name (opencl.h). */
const char *ocl_fn_name(enum ocl_fn fn)
{
	return (unsigned)fn < OCL_FN_COUNT ? ocl_fn_names[fn] : "";
}

/* Looks `fn` up (see the file comment); the slow path of ocl_real. */
static void *ocl_resolve(enum ocl_fn fn)
{
	const char *name = ocl_fn_names[fn];
	void *p = dlsym(RTLD_NEXT, name);
	if (!p) {
		void *lib = dlopen("libOpenCL.so.1", RTLD_LAZY | RTLD_NOLOAD);
		if (lib) {
			p = dlsym(lib, name);
			dlclose(lib);
		}
	}
	if (p)
		atomic_store_explicit(&ocl_real_fns[fn], p, memory_order_release);
	return p;
}

/* The real implementation of fn, resolved once (opencl.h). */
void *ocl_real(enum ocl_fn fn)
{
	if ((unsigned)fn >= OCL_FN_COUNT)
		return NULL;
	void *p = atomic_load_explicit(&ocl_real_fns[fn], memory_order_acquire);
	return p ? p : ocl_resolve(fn);
}

/* The string id of fn's name in this generation (opencl.h). */
uint32_t ocl_fn_string(enum ocl_fn fn)
{
	if ((unsigned)fn >= OCL_FN_COUNT)
		return 0;
	uint32_t gen = inject_generation();
	uint64_t v = atomic_load_explicit(&ocl_fn_strings[fn], memory_order_acquire);
	if (v && (uint32_t)(v >> 32) == gen)
		return (uint32_t)v;
	uint32_t id = inject_cstr(ocl_fn_names[fn]);
	if (id)
		atomic_store_explicit(&ocl_fn_strings[fn], (uint64_t)gen << 32 | id, memory_order_release);
	return id;
}
