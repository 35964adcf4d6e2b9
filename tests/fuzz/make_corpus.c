/*
 * make_corpus.c - writes the seed corpus of the SBT fuzz target.
 *
 * Usage: sbt_make_corpus DIR
 *
 * The seeds are SBT files written by the real writer from synthetic
 * sessions (never committed: the fuzz test makes them at run time): a small
 * hand-built session using every table and event kind, and a generated
 * training-job session (tests/support/synth.c), each plain and compressed,
 * in large and tiny chunks, whole, cut in half and without a footer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sbt.h"
#include "synth.h"
#include "trace/session.h"

/* Builds a small finished session that uses every table and event kind. */
static struct trace_session *every_kind_session(void)
{
	struct trace_session *s = trace_session_new();
	uint32_t name = trace_session_intern_cstr(s, "_Z6kernelPfi");
	uint32_t api = trace_session_intern_cstr(s, "cudaLaunchKernel");
	uint32_t lib = trace_session_intern_cstr(s, "libcuda.so");
	uint32_t src = trace_session_intern_cstr(s, "ring");
	trace_session_intern(s, "a\0b", 3);
	struct trace_frame f = {.pc = 0x401000, .offset = 16, .function = api, .module = lib, .line = 7};
	uint32_t fr = trace_session_add_frame(s, &f);
	uint32_t st = trace_session_add_stack(s, &fr, 1);
	struct trace_track_info th = {.kind = TRACE_TRACK_THREAD, .pid = 10, .tid = 11, .name = api};
	struct trace_track_info sm = {
	    .kind = TRACE_TRACK_STREAM, .pid = 10, .device = 0, .context = 1, .stream = 7};
	struct trace_track_info ct = {.kind = TRACE_TRACK_COUNTER, .pid = 10, .name = src};
	struct trace_track_info pr = {.kind = TRACE_TRACK_PROCESS, .pid = 10};
	uint32_t t_th = trace_session_add_track(s, &th), t_sm = trace_session_add_track(s, &sm);
	uint32_t t_ct = trace_session_add_track(s, &ct), t_pr = trace_session_add_track(s, &pr);
	struct trace_process p = {.pid = 10,
	                          .ppid = 1,
	                          .command = name,
	                          .start = 1,
	                          .end = 99999,
	                          .state = TRACE_PROC_EXITED,
	                          .status = 0};
	trace_session_set_process(s, &p);
	struct trace_device d = {.id = 0,
	                         .api = TRACE_DEVICE_CUDA,
	                         .name = name,
	                         .cc_major = 9,
	                         .sm_count = 132,
	                         .global_memory = 80ull << 30,
	                         .warp_size = 32};
	trace_session_set_device(s, &d);
	struct trace_launch l = {.grid = {64, 1, 1}, .block = {256, 1, 1}, .registers = 32};
	uint32_t lc = trace_session_add_launch(s, &l);
	struct trace_nvtx_attr a = {.domain = src,
	                            .color = 0xff00ff00u,
	                            .has_color = 1,
	                            .payload_type = TRACE_NVTX_PAYLOAD_U64,
	                            .payload = 5};
	uint32_t na = trace_session_add_nvtx_attr(s, &a);
	struct trace_memop m = {.address = 0x7f0000000000ull, .bytes = 4096, .mem_kind = TRACE_MEM_DEVICE};
	uint32_t mo = trace_session_add_memop(s, &m);
	trace_session_set_meta(s, "host", "fuzz");
	trace_session_set_loss(s, 10, src, 3);

	for (int i = 0; i < 40; i++) {
		int64_t t = 1000 + i * 1000;
		struct trace_event ev = {
		    .start = t, .end = t + 500, .track = t_sm, .correlation = (uint32_t)i + 1};
		ev.kind = (uint8_t)(TRACE_KERNEL + i % 4);
		ev.name = ev.kind == TRACE_KERNEL ? name : 0;
		if (ev.kind == TRACE_KERNEL) {
			ev.u.kernel.launch = lc;
		} else if (ev.kind == TRACE_MEMCPY) {
			ev.sub = trace_memcpy_sub(TRACE_COPY_HTOD, TRACE_MEM_PINNED, TRACE_MEM_DEVICE);
			ev.u.bytes = 1 << 20;
		} else if (ev.kind == TRACE_MEMSET) {
			ev.sub = TRACE_MEM_DEVICE;
			ev.u.bytes = 4096;
		} else {
			ev.sub = TRACE_SYNC_STREAM;
		}
		trace_session_append(s, &ev);
		struct trace_event host = {.start = t - 300,
		                           .end = t - 100,
		                           .name = api,
		                           .track = t_th,
		                           .correlation = (uint32_t)i + 1,
		                           .kind = TRACE_API,
		                           .flags = TRACE_API_CUDA_RUNTIME};
		host.u.api.cbid = 211;
		host.u.api.stack = st;
		trace_session_append(s, &host);
	}
	struct trace_event ev = {
	    .start = 0, .end = 50000, .name = name, .track = t_th, .kind = TRACE_NVTX_RANGE};
	ev.u.nvtx.attr = na;
	ev.u.nvtx.stack = st;
	trace_session_append(s, &ev);
	ev = (struct trace_event){.start = 7, .end = 7, .name = api, .track = t_th, .kind = TRACE_NVTX_MARK};
	trace_session_append(s, &ev);
	ev = (struct trace_event){.start = 9, .end = 9, .track = t_th, .kind = TRACE_MEM_ALLOC};
	ev.u.memop.id = mo;
	trace_session_append(s, &ev);
	ev.kind = TRACE_MEM_FREE;
	ev.start = ev.end = 40000;
	trace_session_append(s, &ev);
	ev =
	    (struct trace_event){.start = 100, .end = 100, .name = src, .track = t_ct, .kind = TRACE_COUNTER};
	ev.u.counter = -42;
	trace_session_append(s, &ev);
	ev.flags = TRACE_FLAG_COUNTER_DOUBLE;
	ev.start = ev.end = 200;
	ev.u.counter_double = 1.5;
	trace_session_append(s, &ev);
	ev = (struct trace_event){.start = 300, .end = 400, .track = t_pr, .kind = TRACE_LOST};
	ev.u.bytes = 3;
	trace_session_append(s, &ev);
	trace_session_finish(s);
	return s;
}

/* Writes `len` bytes to DIR/NAME. */
static int put_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "sbt_make_corpus: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

/* Writes `s` as DIR/NAME.sbt with `o`, plus its first half as
 * DIR/NAME-cut.sbt and a copy without the footer as DIR/NAME-open.sbt. */
static int put_session(const char *dir, const char *name, const struct trace_session *s,
                       const struct sbt_writer_options *o)
{
	char path[4096], other[256];
	struct err e;
	snprintf(path, sizeof(path), "%s/%s.sbt", dir, name);
	if (sbt_write_session(path, s, o, &e) < 0) {
		fprintf(stderr, "sbt_make_corpus: %s\n", e.msg);
		return -1;
	}
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
	size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
	fclose(f);
	if (!buf || got != (size_t)n || n < 16) {
		free(buf);
		return -1;
	}
	/* the trailer's first 8 bytes give where the footer index starts */
	uint64_t index = 0;
	for (int i = 0; i < 8; i++)
		index |= (uint64_t)buf[n - 16 + i] << (8 * i);
	int rc = 0;
	snprintf(other, sizeof(other), "%s-cut.sbt", name);
	rc |= put_file(dir, other, buf, (size_t)n / 2);
	snprintf(other, sizeof(other), "%s-open.sbt", name);
	rc |= put_file(dir, other, buf, index < (uint64_t)n ? (size_t)index : (size_t)n);
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: sbt_make_corpus DIR\n");
		return 2;
	}
	const char *dir = argv[1];
	struct trace_session *kinds = every_kind_session();
	struct synth_options so;
	synth_options_init(&so);
	so.events = 1500;
	so.streams = 2;
	struct err e;
	struct trace_session *job = synth_session(&so, NULL, &e);
	if (!job) {
		fprintf(stderr, "sbt_make_corpus: %s\n", e.msg);
		return 1;
	}
	struct sbt_writer_options plain = {.chunk_bytes = 512}, tiny = {.chunk_bytes = 1},
	                          packed = {.zstd_level = 3, .chunk_bytes = 2048};
	int rc = 0;
	rc |= put_session(dir, "kinds", kinds, &plain);
	rc |= put_session(dir, "kinds-tiny", kinds, &tiny);
	rc |= put_session(dir, "kinds-zstd", kinds, &packed);
	rc |= put_session(dir, "job", job, &plain);
	rc |= put_session(dir, "job-zstd", job, &packed);
	rc |= put_file(dir, "empty.sbt", "", 0);
	rc |= put_file(dir, "header.sbt", "\x89SBT\r\n\x1a\n\x01\x00\x00\x00\x00\x00\x00\x00", 16);
	trace_session_delete(kinds);
	trace_session_delete(job);
	return rc ? 1 : 0;
}
