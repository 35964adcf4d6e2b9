/*
 * fake_streams.c - the stand-in for samples/cuda/streams in the GPU check's
 * rehearsal (tests/gpu/record_check.sh with TSTOP_GPU_FAKE=1).
 *
 * Does what the CUDA driver does at cuInit for a process started with
 * CUDA_INJECTION64_PATH (loads that library and calls its
 * InitializeInjection), then has the stand-in CUPTI (fake_cupti.c, named by
 * TSTOP_CUPTI_LIBRARY) play the sample's workload and print the sample's
 * report. Exits 0, or 1 when something it needs is missing.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	const char *inject = getenv("CUDA_INJECTION64_PATH");
	const char *cupti = getenv("TSTOP_CUPTI_LIBRARY");
	void *h;

	if (!inject || !cupti) {
		fprintf(stderr, "fake_streams: CUDA_INJECTION64_PATH and TSTOP_CUPTI_LIBRARY must be set\n");
		return 1;
	}
	h = dlopen(inject, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "fake_streams: %s\n", dlerror());
		return 1;
	}
	int (*init)(void) = (int (*)(void))dlsym(h, "InitializeInjection");
	if (!init || init() != 1) {
		fprintf(stderr, "fake_streams: no InitializeInjection in %s, or it failed\n", inject);
		return 1;
	}
	h = dlopen(cupti, RTLD_NOW | RTLD_LOCAL);
	void (*run)(FILE *) = h ? (void (*)(FILE *))dlsym(h, "fake_cupti_run") : NULL;
	if (!run) {
		fprintf(stderr, "fake_streams: no fake_cupti_run in %s\n", cupti);
		return 1;
	}
	run(stdout);
	return 0;
}
