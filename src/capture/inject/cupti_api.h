/*
 * cupti_api.h - which CUDA API calls the CUPTI backend watches, and their
 * names as people read them.
 *
 * The backend subscribes to CUPTI's callback API for a few calls only, and
 * chooses them by name (cuptiGetCallbackName) rather than by a list of
 * callback ids, so that the variants a CUDA release adds (_ptsz, Ex, Async,
 * CUDA 13's __cudaLaunchKernel) are covered without a rebuild:
 *
 *   role                  calls (runtime domain unless said)
 *   CUPTI_ROLE_STACK      cudaLaunch*, __cudaLaunch*, cudaGraphLaunch*,
 *                         cudaMemcpy*, cudaMemset*: take the caller's stack
 *   CUPTI_ROLE_THREAD     cudaMalloc*, cudaFree*; driver cuMemAlloc*,
 *                         cuMemFree*, cuMemHostAlloc*, cuMemCreate,
 *                         cuMemRelease: remember the calling thread (CUPTI's
 *                         allocation records carry no thread id)
 *   CUPTI_ROLE_DEVICE_SYNC  cudaDeviceSynchronize, cudaThreadSynchronize:
 *                         CUPTI records them as context synchronizations
 *
 * CUPTI's callback names carry the version of the entry point
 * ("cudaLaunchKernel_v7000"); cupti_api_name_len() gives the length of the
 * name without it ("cudaLaunchKernel"), which is what nsys shows and what
 * tstop's reports group by.
 *
 * Pure functions of their arguments; no CUPTI call.
 */
#ifndef TSTOP_CAPTURE_INJECT_CUPTI_API_H
#define TSTOP_CAPTURE_INJECT_CUPTI_API_H

#include <stddef.h>
#include <stdint.h>

#define CUPTI_ROLE_STACK       0x01u
#define CUPTI_ROLE_THREAD      0x02u
#define CUPTI_ROLE_DEVICE_SYNC 0x04u

/* The CUPTI_ROLE_* bits of API call `cbid` of CUpti_CallbackDomain
 * `cb_domain`, named `name` by cuptiGetCallbackName (NULL: no role). */
unsigned cupti_api_role(uint32_t cb_domain, uint32_t cbid, const char *name);

/* The length of `name` without a trailing "_v<digits>" version suffix
 * (the whole length when it has none). */
size_t cupti_api_name_len(const char *name);

#endif
