/*
 * sink.c - what every capture sink shares (see sink.h): closing one, and
 * feeding one the definitions of a loaded session, in the order a live
 * drain would (the session database built from an SBT file, benchmarks).
 */
#include "capture/sink.h"

/* Closes any sink through its ops. */
int capture_sink_close(struct capture_sink *k, struct err *e)
{
	return k ? k->ops->close(k, e) : 0;
}

/* Feeds sink `k` everything of session `s` but its events; see sink.h. */
int capture_sink_feed_definitions(struct capture_sink *k, const struct trace_session *s, struct err *e)
{
	const struct capture_sink_ops *ops = k->ops;
	for (uint32_t id = 1; id < trace_session_string_count(s); id++) {
		size_t len;
		const char *str = trace_session_string(s, id, &len);
		if (ops->string(k, id, str, len, e) < 0)
			return -1;
	}
	for (uint32_t id = 1; id < trace_session_frame_count(s); id++)
		if (ops->frame(k, id, trace_session_frame(s, id), e) < 0)
			return -1;
	for (uint32_t id = 1; id < trace_session_stack_count(s); id++) {
		uint32_t n;
		const uint32_t *fr = trace_session_stack(s, id, &n);
		if (ops->stack(k, id, fr, n, e) < 0)
			return -1;
	}
	for (uint32_t id = 1; id < trace_session_track_count(s); id++)
		if (ops->track(k, id, trace_session_track_info(s, id), e) < 0)
			return -1;
	for (uint32_t id = 1; id < trace_session_launch_count(s); id++)
		if (ops->launch(k, id, trace_session_launch(s, id), e) < 0)
			return -1;
	for (uint32_t id = 1; id < trace_session_nvtx_attr_count(s); id++)
		if (ops->nvtx_attr(k, id, trace_session_nvtx_attr(s, id), e) < 0)
			return -1;
	for (uint32_t id = 1; id < trace_session_memop_count(s); id++)
		if (ops->memop(k, id, trace_session_memop(s, id), e) < 0)
			return -1;
	for (size_t i = 0; i < trace_session_process_count(s); i++)
		if (ops->process(k, trace_session_process(s, i), e) < 0)
			return -1;
	for (size_t i = 0; i < trace_session_device_count(s); i++)
		if (ops->device(k, trace_session_device(s, i), e) < 0)
			return -1;
	for (size_t i = 0; i < trace_session_meta_count(s); i++) {
		const char *key, *value;
		trace_session_meta_at(s, i, &key, &value);
		if (ops->meta(k, key, value, e) < 0)
			return -1;
	}
	for (size_t i = 0; i < trace_session_loss_count(s); i++)
		if (ops->loss(k, trace_session_loss(s, i), e) < 0)
			return -1;
	return 0;
}
