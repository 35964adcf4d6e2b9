/*
 * fuzz_sbt.c - libFuzzer target for the SBT reader.
 *
 * Each input is handed to sbt_load_buffer() as a whole file. The reader
 * must never crash, hang, leak or read out of bounds (the build adds
 * AddressSanitizer and UndefinedBehaviorSanitizer), and what it reports must
 * agree with what it loaded. The library is built for this target with
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which makes the reader accept
 * any checksum so that mutated inputs reach the decoders behind the CRCs.
 * Seeds come from tests/fuzz/make_corpus.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/sbt.h"
#include "trace/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loads one input; aborts (a finding) when the report and the session
 * disagree or a loaded event breaks the model's rules. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_session *s = trace_session_new();
	struct sbt_read_report rep;
	struct err e;
	if (sbt_load_buffer(data, size, s, &rep, &e) == 0) {
		if (rep.events != trace_session_event_count(s) || rep.file_bytes != size ||
		    rep.chunks_unknown > rep.chunks_skipped || rep.truncated_at > size ||
		    rep.bytes_skipped > size)
			abort();
		uint64_t seen = 0;
		for (uint32_t t = 1; t < trace_session_track_count(s); t++) {
			size_t n;
			const struct trace_event *ev = trace_session_track_events(s, t, &n);
			for (size_t i = 0; i < n; i++) {
				size_t len;
				if (ev[i].end < ev[i].start || ev[i].track != t ||
				    (i && ev[i].start < ev[i - 1].start))
					abort();
				if (!trace_session_string(s, ev[i].name, &len))
					abort();
			}
			seen += n;
		}
		if (seen != rep.events)
			abort();
	} else if (e.msg[0] == '\0' || trace_session_event_count(s) != 0) {
		abort();
	}
	trace_session_delete(s);
	return 0;
}
