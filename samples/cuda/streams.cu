/*
 * streams.cu - tstop's CUDA sample: a small multi-stream program.
 *
 * Runs the workload of streams_work.cu once (kernels on three streams,
 * pageable and pinned copies, a memset, events, stream waits and
 * synchronizations) and prints what it issued, one fact a line, so that a
 * check can compare a capture with it. Exits 0 when every CUDA call
 * succeeded and the results are right, 1 otherwise.
 *
 *   make -C samples/cuda && samples/cuda/streams
 */
#include "streams_work.h"

#include <stdio.h>

int main(void)
{
	struct streams_report report;
	int rc = streams_work_run(&report);

	streams_work_print(&report, stdout);
	if (rc != 0) {
		fprintf(stderr, "streams: %s\n", report.error[0] ? report.error : "failed");
		return 1;
	}
	return 0;
}
