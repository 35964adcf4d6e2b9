/*
 * inject_hot.h - private to libtstop-inject.so: the part of the collector's
 * state that the hottest paths (NVTX push/pop) read inline, without a call
 * into inject.c.
 *
 * inject.c owns and writes every field (see its state machine); here are
 * only lock-free reads that follow its publication order: `ring` and
 * `flags` are written before `state` becomes INJ_ACTIVE with a release
 * store, so an acquire load that sees INJ_ACTIVE may use them. Anything
 * beyond these reads goes through inject.h.
 */
#ifndef TSTOP_CAPTURE_INJECT_HOT_H
#define TSTOP_CAPTURE_INJECT_HOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "capture/inject/inject.h"
#include "capture/ring.h"

/* States of one process image (inject.c draws the machine). */
enum inj_state {
	INJ_UNTRIED = 0,
	INJ_ACTIVE = 1,
	INJ_OFF = 2,
	INJ_DONE = 3,
};

struct inj_hot {
	_Atomic int state;    /* enum inj_state */
	_Atomic uint32_t gen; /* id generation: + 1 in each fork child */
	uint32_t flags;       /* PROTO_OPT_*, valid while ACTIVE */
	struct ring *ring;    /* valid while ACTIVE; never unmapped while the process image lives */
};

extern struct inj_hot inj_hot __attribute__((visibility("hidden")));

/* inject_active() with the ACTIVE case inline. */
static inline bool inj_fast_active(uint32_t option)
{
	if (atomic_load_explicit(&inj_hot.state, memory_order_acquire) == INJ_ACTIVE)
		return (inj_hot.flags & option) != 0;
	return inject_active(option);
}

/* inject_generation() inline. */
static inline uint32_t inj_fast_gen(void)
{
	return atomic_load_explicit(&inj_hot.gen, memory_order_acquire);
}

/* inject_now() inline: CLOCK_MONOTONIC through the vDSO. */
static inline int64_t inj_fast_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* inject_event() inline: one PROTO_EVENT record. Returns false when it was
 * dropped or there is no connection. */
static inline bool inj_fast_event(const struct trace_event *ev)
{
	if (atomic_load_explicit(&inj_hot.state, memory_order_acquire) != INJ_ACTIVE)
		return false;
	struct proto_header h = {.type = PROTO_EVENT};
	unsigned char *p = ring_reserve(inj_hot.ring, (uint32_t)(sizeof(h) + sizeof(*ev)));
	if (!p)
		return false;
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), ev, sizeof(*ev));
	ring_commit(inj_hot.ring, p);
	return true;
}

#endif
