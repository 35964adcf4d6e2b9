/*
 * test_synth.c - unit tests of the synthetic session generator
 * (tests/support/synth.h): the guarantees its header promises, its
 * determinism, its labelling as generated data, and that streaming it into
 * an SBT file gives the same session as building it in memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/sbt.h"
#include "synth.h"
#include "trace/meta.h"

/* A session of `events` events with the given shape. */
static struct trace_session *make(uint64_t events, uint32_t procs, uint32_t threads, uint32_t streams,
                                  uint64_t seed, struct synth_counts *counts)
{
	struct synth_options o;
	synth_options_init(&o);
	o.events = events;
	o.processes = procs;
	o.threads = threads;
	o.streams = streams;
	o.devices = 2;
	o.seed = seed;
	struct err e = {{0}};
	struct trace_session *s = synth_session(&o, counts, &e);
	if (!s)
		fail_msg("synth_session: %s", e.msg);
	return s;
}

static void test_options(void **state)
{
	(void)state;
	struct synth_options o;
	struct err e = {{0}};
	synth_options_init(&o);
	assert_int_equal(synth_options_check(&o, &e), 0);
	o.processes = 0;
	assert_int_equal(synth_options_check(&o, &e), -1);
	assert_non_null(strstr(e.msg, "processes"));
	assert_null(synth_session(&o, NULL, &e));
	synth_options_init(&o);
	o.streams = SYNTH_MAX_STREAMS + 1;
	assert_int_equal(synth_options_check(&o, &e), -1);
	o.streams = 1;
	o.threads = 0;
	assert_int_equal(synth_options_check(&o, &e), -1);
	o.threads = 1;
	o.devices = SYNTH_MAX_DEVICES + 1;
	assert_int_equal(synth_options_check(&o, &e), -1);
}

/* Counts, metadata, processes and devices. */
static void test_counts_and_labels(void **state)
{
	(void)state;
	struct synth_counts c;
	struct trace_session *s = make(20000, 2, 3, 4, 7, &c);
	assert_true(c.events >= 20000);
	assert_true(c.events < 20000 + 200);
	assert_int_equal(trace_session_event_count(s), c.events);
	uint64_t sum = 0;
	for (unsigned k = 1; k <= TRACE_KIND_MAX; k++) {
		assert_int_equal(trace_session_kind_count(s, k), c.kinds[k]);
		sum += c.kinds[k];
		/* Every kind of event is there. */
		if (k != TRACE_LOST)
			assert_true(c.kinds[k] > 0);
	}
	assert_int_equal(sum, c.events);
	assert_int_equal(c.kinds[TRACE_LOST], 1);
	assert_int_equal(trace_session_lost_total(s), c.lost);
	assert_true(c.lost > 0);

	assert_string_equal(trace_session_meta(s, TRACE_META_SYNTHETIC), "1");
	const char *cmd = trace_session_meta(s, TRACE_META_COMMAND);
	assert_non_null(cmd);
	assert_memory_equal(cmd, "tstop-synth ", 12);
	assert_non_null(trace_session_meta(s, TRACE_META_HOST));
	assert_non_null(trace_session_meta(s, TRACE_META_START_TIME));
	assert_string_equal(trace_session_meta(s, TRACE_META_VERSION), TSTOP_VERSION);

	assert_int_equal(trace_session_process_count(s), 2);
	for (size_t i = 0; i < 2; i++) {
		const struct trace_process *p = trace_session_process(s, i);
		assert_int_equal(p->state, TRACE_PROC_EXITED);
		assert_int_equal(p->status, 0);
		assert_true(p->end > p->start);
		assert_non_null(strstr(trace_session_string(s, p->command, NULL), "train.py"));
	}
	assert_int_equal(trace_session_device_count(s), 2);
	const struct trace_device *d = trace_session_find_device(s, 1);
	assert_non_null(d);
	assert_string_equal(trace_session_string(s, d->name, NULL), "NVIDIA H100 80GB HBM3");
	assert_int_equal(d->cc_major, 9);
	assert_int_equal(d->sm_count, 132);

	/* Tracks: per process 3 threads, 4 streams, a counter; one process track. */
	uint32_t kinds[TRACE_TRACK_KIND_MAX + 1] = {0};
	for (uint32_t t = 1; t < trace_session_track_count(s); t++)
		kinds[trace_session_track_info(s, t)->kind]++;
	assert_int_equal(kinds[TRACE_TRACK_THREAD], 6);
	assert_int_equal(kinds[TRACE_TRACK_STREAM], 8);
	assert_int_equal(kinds[TRACE_TRACK_COUNTER], 2);
	assert_int_equal(kinds[TRACE_TRACK_PROCESS], 1);
	assert_int_equal(c.tracks, 17);
	trace_session_delete(s);
}

/* Guarantees 1 to 4 of synth.h. */
static void test_invariants(void **state)
{
	(void)state;
	struct synth_counts c;
	struct trace_session *s = make(30000, 2, 2, 5, 3, &c);
	uint32_t ntracks = trace_session_track_count(s);
	/* Correlation id -> start of its API call and the pid of its thread. */
	size_t ncorr = 1;
	for (uint32_t t = 1; t < ntracks; t++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, t, &n);
		for (size_t i = 0; i < n; i++)
			if (ev[i].correlation >= ncorr)
				ncorr = ev[i].correlation + 1;
	}
	int64_t *api_start = calloc(ncorr, sizeof(*api_start));
	uint32_t *api_pid = calloc(ncorr, sizeof(*api_pid));
	uint8_t *api_seen = calloc(ncorr, 1);
	for (uint32_t t = 1; t < ntracks; t++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, t, &n);
		for (size_t i = 0; i < n; i++) {
			if (ev[i].kind != TRACE_API || !ev[i].correlation)
				continue;
			assert_int_equal(api_seen[ev[i].correlation], 0); /* one call per id */
			api_seen[ev[i].correlation] = 1;
			api_start[ev[i].correlation] = ev[i].start;
			api_pid[ev[i].correlation] = trace_session_track_info(s, t)->pid;
			assert_int_equal(trace_session_track_info(s, t)->kind, TRACE_TRACK_THREAD);
			assert_int_not_equal(ev[i].u.api.cbid, 0);
			assert_int_not_equal(ev[i].u.api.stack, 0);
		}
	}
	size_t lost = 0;
	for (uint32_t t = 1; t < ntracks; t++) {
		const struct trace_track_info *ti = trace_session_track_info(s, t);
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, t, &n);
		int64_t prev_end = INT64_MIN;
		/* Open push/pop ranges of a thread, as a stack of ends. */
		int64_t open_end[16];
		size_t depth = 0;
		for (size_t i = 0; i < n; i++) {
			const struct trace_event *e = &ev[i];
			if (e->kind == TRACE_LOST) {
				lost++;
				assert_int_equal(e->u.bytes, trace_session_lost_total(s));
				assert_int_equal(ti->kind, TRACE_TRACK_PROCESS);
			}
			if (ti->kind == TRACE_TRACK_STREAM) {
				/* 1: no overlap on a stream, work after its call began. */
				assert_true(e->start >= prev_end);
				prev_end = e->end;
				assert_true(e->kind == TRACE_KERNEL || e->kind == TRACE_MEMCPY ||
				            e->kind == TRACE_MEMSET || e->kind == TRACE_SYNC);
				/* 2: the call exists, in the same process. */
				assert_true(e->correlation > 0 && e->correlation < ncorr);
				assert_int_equal(api_seen[e->correlation], 1);
				assert_true(e->start >= api_start[e->correlation]);
				assert_int_equal(api_pid[e->correlation], ti->pid);
				if (e->kind == TRACE_KERNEL)
					assert_non_null(trace_session_launch(s, e->u.kernel.launch));
			}
			if (e->kind == TRACE_NVTX_RANGE && !(e->flags & TRACE_FLAG_NVTX_STARTEND)) {
				/* 3: push/pop ranges nest (sorted by start). */
				while (depth && open_end[depth - 1] <= e->start)
					depth--;
				if (depth)
					assert_true(e->end <= open_end[depth - 1]);
				assert_true(depth < 16);
				open_end[depth++] = e->end;
			}
		}
	}
	assert_int_equal(lost, 1); /* 4 */
	free(api_start);
	free(api_pid);
	free(api_seen);
	trace_session_delete(s);
}

/* Mangled kernel names demangle; launch configurations repeat. */
static void test_names(void **state)
{
	(void)state;
	struct trace_session *s = make(5000, 1, 1, 3, 1, NULL);
	size_t mangled = 0, names = 0;
	uint32_t ntracks = trace_session_track_count(s);
	uint8_t *seen = calloc(trace_session_string_count(s), 1);
	for (uint32_t t = 1; t < ntracks; t++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, t, &n);
		for (size_t i = 0; i < n; i++) {
			if (ev[i].kind != TRACE_KERNEL || seen[ev[i].name])
				continue;
			seen[ev[i].name] = 1;
			names++;
			const char *raw = trace_session_string(s, ev[i].name, NULL);
			if (strncmp(raw, "_Z", 2))
				continue;
			mangled++;
			const char *shown = trace_session_display_name(s, ev[i].name);
			if (!strcmp(shown, raw))
				fail_msg("%s does not demangle", raw);
		}
	}
	assert_true(names >= 12);
	assert_true(mangled >= 9);
	assert_true(trace_session_launch_count(s) - 1 < trace_session_kind_count(s, TRACE_KERNEL) / 4);
	free(seen);
	trace_session_delete(s);
}

/* The same options give the same session; another seed another one. */
static void test_determinism(void **state)
{
	(void)state;
	struct synth_counts c1, c2, c3;
	struct trace_session *a = make(8000, 1, 2, 3, 42, &c1);
	struct trace_session *b = make(8000, 1, 2, 3, 42, &c2);
	struct trace_session *c = make(8000, 1, 2, 3, 43, &c3);
	assert_memory_equal(&c1, &c2, sizeof(c1));
	assert_int_equal(trace_session_track_count(a), trace_session_track_count(b));
	bool differs = false;
	for (uint32_t t = 1; t < trace_session_track_count(a); t++) {
		size_t na, nb, nc;
		const struct trace_event *ea = trace_session_track_events(a, t, &na);
		const struct trace_event *eb = trace_session_track_events(b, t, &nb);
		const struct trace_event *ec = trace_session_track_events(c, t, &nc);
		assert_int_equal(na, nb);
		if (na)
			assert_memory_equal(ea, eb, na * sizeof(*ea));
		differs = differs || na != nc || (na && memcmp(ea, ec, na * sizeof(*ea)));
	}
	assert_true(differs);
	trace_session_delete(a);
	trace_session_delete(b);
	trace_session_delete(c);
}

/* synth_stream into a file, read back, equals synth_session. */
static void test_stream_round_trip(void **state)
{
	(void)state;
	char path[] = "/tmp/test_synth_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct synth_options o;
	synth_options_init(&o);
	o.events = 12000;
	o.processes = 2;
	o.seed = 9;
	struct err e = {{0}};
	struct sbt_writer_options wo = {.zstd_level = 3, .chunk_bytes = 0};
	struct sbt_writer *w = sbt_writer_open(path, &wo, &e);
	if (!w)
		fail_msg("%s", e.msg);
	struct synth_counts streamed, built;
	if (synth_stream(w, &o, &streamed, &e))
		fail_msg("synth_stream: %s", e.msg);
	if (sbt_writer_close(w, &e))
		fail_msg("close: %s", e.msg);

	struct trace_session *mem = synth_session(&o, &built, &e);
	assert_non_null(mem);
	assert_memory_equal(&streamed, &built, sizeof(built));
	struct trace_session *file = trace_session_new();
	struct sbt_read_report rep;
	if (sbt_load(path, file, &rep, &e))
		fail_msg("sbt_load: %s", e.msg);
	unlink(path);
	assert_false(rep.truncated);
	assert_int_equal(rep.chunks_skipped, 0);
	assert_int_equal(rep.records_dropped, 0);
	assert_int_equal(trace_session_event_count(file), built.events);
	for (unsigned k = 1; k <= TRACE_KIND_MAX; k++)
		assert_int_equal(trace_session_kind_count(file, k), built.kinds[k]);
	assert_int_equal(trace_session_track_count(file), trace_session_track_count(mem));
	assert_int_equal(trace_session_lost_total(file), built.lost);
	assert_string_equal(trace_session_meta(file, TRACE_META_SYNTHETIC), "1");
	assert_int_equal(trace_session_process_count(file), 2);
	assert_int_equal(trace_session_process(file, 0)->state, TRACE_PROC_EXITED);
	for (uint32_t t = 1; t < trace_session_track_count(mem); t++) {
		size_t nm, nf;
		const struct trace_event *em = trace_session_track_events(mem, t, &nm);
		const struct trace_event *ef = trace_session_track_events(file, t, &nf);
		assert_int_equal(nm, nf);
		for (size_t i = 0; i < nm; i++) {
			assert_int_equal(em[i].start, ef[i].start);
			assert_int_equal(em[i].end, ef[i].end);
			assert_int_equal(em[i].kind, ef[i].kind);
			assert_string_equal(trace_session_string(mem, em[i].name, NULL),
			                    trace_session_string(file, ef[i].name, NULL));
		}
	}
	trace_session_delete(mem);
	trace_session_delete(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_options),     cmocka_unit_test(test_counts_and_labels),
	    cmocka_unit_test(test_invariants),  cmocka_unit_test(test_names),
	    cmocka_unit_test(test_determinism), cmocka_unit_test(test_stream_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
