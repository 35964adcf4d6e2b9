/*
 * fuzz_sbt.c - libFuzzer target for the SBT reader and what reads its result.
 *
 * Each input is handed to sbt_load_buffer() as a whole file. When it loads,
 * every table of the session is walked through its accessors and every
 * summary (trace/summary.h: all kinds, both keys, both values, with and
 * without a flags filter) is computed, so that the arithmetic done on loaded
 * values (durations, byte sums, medians, deviations) is fuzzed as well as the
 * decoding. The reader must never crash, hang, leak or read out of bounds
 * (the build adds AddressSanitizer and UndefinedBehaviorSanitizer), what it
 * reports must agree with what it loaded, and the loaded data must keep the
 * model's rules (event.h, session.h). The library is built for this target
 * with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which makes the reader
 * accept any checksum so that mutated inputs reach the decoders behind the
 * CRCs. Seeds come from tests/fuzz/make_corpus.c.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/sbt.h"
#include "trace/session.h"
#include "trace/summary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts (a finding) unless `cond` holds. */
static void fuzz_check(int cond)
{
	if (!cond)
		abort();
}

/* Checks the loaded events against the report and the model's rules
 * (sorted tracks, valid names, durations that fit in int64). */
static void fuzz_events(const struct trace_session *s, const struct sbt_read_report *rep)
{
	uint64_t seen = 0, by_kind[TRACE_KIND_MAX + 1] = {0};
	for (uint32_t t = 1; t < trace_session_track_count(s); t++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, t, &n);
		for (size_t i = 0; i < n; i++) {
			size_t len;
			fuzz_check(ev[i].end >= ev[i].start && ev[i].track == t && ev[i].kind >= 1 &&
			           ev[i].kind <= TRACE_KIND_MAX);
			fuzz_check(i == 0 || ev[i].start >= ev[i - 1].start);
			fuzz_check(ev[i].end - ev[i].start >= 0); /* int64: UBSan traps overflow */
			fuzz_check(trace_session_string(s, ev[i].name, &len) != NULL);
			by_kind[ev[i].kind]++;
		}
		if (n) {
			fuzz_check(trace_session_track_lower_bound(s, t, ev[0].start) == 0);
			fuzz_check(trace_session_track_lower_bound(s, t, INT64_MAX) <= n);
		}
		seen += n;
	}
	fuzz_check(seen == rep->events);
	for (unsigned k = 1; k <= TRACE_KIND_MAX; k++)
		fuzz_check(trace_session_kind_count(s, k) == by_kind[k]);
	int64_t lo, hi;
	fuzz_check(trace_session_time_range(s, &lo, &hi) == (seen > 0));
	if (seen)
		fuzz_check(lo <= hi);
}

/* Walks every table accessor of the session and checks what each returns
 * against the table's own rules. */
static void fuzz_tables(struct trace_session *s)
{
	for (uint32_t id = 0; id < trace_session_string_count(s); id++) {
		size_t len;
		const char *str = trace_session_string(s, id, &len);
		fuzz_check(str != NULL && str[len] == '\0' && strlen(str) <= len);
		fuzz_check(trace_session_display_name(s, id) != NULL);
	}
	for (uint32_t id = 1; id < trace_session_frame_count(s); id++) {
		const struct trace_frame *f = trace_session_frame(s, id);
		fuzz_check(f && f->function < trace_session_string_count(s) &&
		           f->module < trace_session_string_count(s) &&
		           f->file < trace_session_string_count(s));
	}
	for (uint32_t id = 1; id < trace_session_stack_count(s); id++) {
		uint32_t n;
		const uint32_t *frames = trace_session_stack(s, id, &n);
		fuzz_check(frames && n > 0);
		for (uint32_t i = 0; i < n; i++)
			fuzz_check(trace_session_frame(s, frames[i]) != NULL);
	}
	for (uint32_t id = 1; id < trace_session_launch_count(s); id++)
		fuzz_check(trace_session_launch(s, id) != NULL);
	for (uint32_t id = 1; id < trace_session_nvtx_attr_count(s); id++) {
		const struct trace_nvtx_attr *a = trace_session_nvtx_attr(s, id);
		fuzz_check(a && a->domain < trace_session_string_count(s));
	}
	for (uint32_t id = 1; id < trace_session_memop_count(s); id++)
		fuzz_check(trace_session_memop(s, id) != NULL);
	for (uint32_t id = 1; id < trace_session_track_count(s); id++) {
		const struct trace_track_info *t = trace_session_track_info(s, id);
		fuzz_check(t && t->kind >= 1 && t->kind <= TRACE_TRACK_KIND_MAX &&
		           t->name < trace_session_string_count(s));
		fuzz_check(trace_track_kind_name(t->kind) != NULL);
	}
	for (size_t i = 0; i < trace_session_process_count(s); i++) {
		const struct trace_process *p = trace_session_process(s, i);
		fuzz_check(trace_session_find_process(s, p->pid) == p);
	}
	for (size_t i = 0; i < trace_session_device_count(s); i++) {
		const struct trace_device *d = trace_session_device(s, i);
		fuzz_check(trace_session_find_device(s, d->id) == d);
	}
	for (size_t i = 0; i < trace_session_meta_count(s); i++) {
		const char *key, *value;
		trace_session_meta_at(s, i, &key, &value);
		fuzz_check(key && value && trace_session_meta(s, key) == value);
	}
	uint64_t lost = 0;
	for (size_t i = 0; i < trace_session_loss_count(s); i++) {
		const struct trace_loss *l = trace_session_loss(s, i);
		fuzz_check(l->source < trace_session_string_count(s));
		lost = l->count > UINT64_MAX - lost ? UINT64_MAX : lost + l->count;
	}
	fuzz_check(trace_session_lost_total(s) == lost);
}

/* Number of events a summary spec selects, counted here independently. */
static uint64_t fuzz_selected(const struct trace_session *s, const struct trace_summary_spec *spec)
{
	uint64_t n_sel = 0;
	for (uint32_t t = 1; t < trace_session_track_count(s); t++) {
		size_t n;
		const struct trace_event *ev = trace_session_track_events(s, t, &n);
		for (size_t i = 0; i < n; i++) {
			if (!(spec->kind_mask & (1u << ev[i].kind)) || (ev[i].flags & TRACE_FLAG_OPEN) ||
			    (ev[i].flags & spec->flags_mask) != spec->flags_value)
				continue;
			if (spec->key == TRACE_SUMMARY_BY_MEMOP && ev[i].kind != TRACE_MEMCPY &&
			    ev[i].kind != TRACE_MEMSET)
				continue;
			n_sel++;
		}
	}
	return n_sel;
}

/* Computes every summary and checks each row's statistics for consistency
 * (count, order, min <= median <= max, finite non-negative values). */
static void fuzz_summaries(const struct trace_session *s)
{
	static const uint8_t filters[][2] = {
	    {0, 0},
	    {TRACE_FLAG_NVTX_STARTEND, 0},
	    {TRACE_FLAG_NVTX_STARTEND, TRACE_FLAG_NVTX_STARTEND},
	};
	uint32_t all_kinds = 0;
	for (unsigned k = 1; k <= TRACE_KIND_MAX; k++)
		all_kinds |= 1u << k;
	for (unsigned key = TRACE_SUMMARY_BY_NAME; key <= TRACE_SUMMARY_BY_MEMOP; key++) {
		for (unsigned value = TRACE_SUMMARY_DURATION; value <= TRACE_SUMMARY_BYTES; value++) {
			for (size_t f = 0; f < sizeof(filters) / sizeof(filters[0]); f++) {
				struct trace_summary_spec spec = {.kind_mask = all_kinds,
				                                  .key = (uint8_t)key,
				                                  .value = (uint8_t)value,
				                                  .flags_mask = filters[f][0],
				                                  .flags_value = filters[f][1]};
				struct trace_summary sum;
				fuzz_check(trace_summary_build(s, &spec, &sum) == 0);
				uint64_t count = 0;
				for (size_t i = 0; i < sum.n; i++) {
					const struct trace_summary_row *r = &sum.rows[i];
					fuzz_check(r->count > 0 && r->min <= r->median &&
					           r->median <= r->max);
					fuzz_check(r->min >= 0 && isfinite(r->total) && isfinite(r->mean) &&
					           r->stddev >= 0 && isfinite(r->stddev));
					fuzz_check(r->percent >= 0 && r->percent <= 100.0 * (1 + 1e-9));
					fuzz_check(i == 0 || sum.rows[i - 1].total >= r->total);
					if (key == TRACE_SUMMARY_BY_MEMOP)
						fuzz_check(trace_summary_memop_name(r->key) != NULL);
					count += r->count;
				}
				fuzz_check(count == fuzz_selected(s, &spec));
				trace_summary_free(&sum);
			}
		}
	}
}

/* Loads one input; aborts (a finding) when the report and the session
 * disagree, a loaded value breaks the model's rules, or a walk or summary
 * of the loaded session finds an inconsistency. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_session *s = trace_session_new();
	struct sbt_read_report rep;
	struct err e;
	if (sbt_load_buffer(data, size, s, &rep, &e) == 0) {
		fuzz_check(rep.events == trace_session_event_count(s) && rep.file_bytes == size &&
		           rep.chunks_unknown <= rep.chunks_skipped && rep.truncated_at <= size &&
		           rep.bytes_skipped <= size);
		fuzz_events(s, &rep);
		fuzz_tables(s);
		fuzz_summaries(s);
	} else {
		fuzz_check(e.msg[0] != '\0' && trace_session_event_count(s) == 0);
	}
	trace_session_delete(s);
	return 0;
}
