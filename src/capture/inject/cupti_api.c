/*
 * cupti_api.c - roles and display names of CUDA API calls (see cupti_api.h).
 */
#include "capture/inject/cupti_api.h"

#include <string.h>

#include <cupti_callbacks.h>

#include "capture/cupti/cupti_decode.h"

/* True when `name` starts with one of the NULL-terminated `prefixes`. */
static int api_has_prefix(const char *name, const char *const *prefixes)
{
	for (; *prefixes; prefixes++)
		if (!strncmp(name, *prefixes, strlen(*prefixes)))
			return 1;
	return 0;
}

unsigned cupti_api_role(uint32_t cb_domain, uint32_t cbid, const char *name)
{
	static const char *const runtime_stack[] = {"cudaLaunch", "__cudaLaunch", "cudaGraphLaunch",
	                                            "cudaMemcpy", "cudaMemset",   NULL};
	static const char *const runtime_thread[] = {"cudaMalloc", "cudaFree", NULL};
	static const char *const driver_thread[] = {"cuMemAlloc",  "cuMemFree",    "cuMemHostAlloc",
	                                            "cuMemCreate", "cuMemRelease", NULL};
	unsigned role = 0;

	if (!name)
		return 0;
	if (cb_domain == CUPTI_CB_DOMAIN_RUNTIME_API) {
		if (api_has_prefix(name, runtime_stack))
			role |= CUPTI_ROLE_STACK;
		if (api_has_prefix(name, runtime_thread))
			role |= CUPTI_ROLE_THREAD;
		/* The decoder knows which runtime calls CUPTI reports as
		 * context synchronizations but are device-wide. */
		if (cupti_sync_kind_for_api(TRACE_SYNC_CONTEXT, TRACE_API_CUDA_RUNTIME, cbid) ==
		    TRACE_SYNC_DEVICE)
			role |= CUPTI_ROLE_DEVICE_SYNC;
	} else if (cb_domain == CUPTI_CB_DOMAIN_DRIVER_API) {
		if (api_has_prefix(name, driver_thread))
			role |= CUPTI_ROLE_THREAD;
	}
	return role;
}

size_t cupti_api_name_len(const char *name)
{
	size_t len = strlen(name);
	size_t i = len;

	while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
		i--;
	/* At least one digit, preceded by "_v", preceded by a name. */
	if (i < len && i >= 3 && name[i - 1] == 'v' && name[i - 2] == '_')
		return i - 2;
	return len;
}
