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
 *
 * A process started for attach goes back from ACTIVE to DORMANT when tstop
 * detaches, and a later attach maps another ring. A thread that saw ACTIVE
 * just before a detach may still write a record: `ring` then still points
 * to a valid handle whose memory inject.c replaced with private zero pages
 * (the record goes nowhere), or already to the next session's ring (the
 * record reaches tstop, which checks its ids like any other). So `ring` is
 * loaded once per record and never NULL after the first connection.
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
	INJ_DORMANT = 4, /* started for attach, no session: nothing is recorded */
};

struct inj_hot {
	_Atomic int state;           /* enum inj_state */
	_Atomic uint32_t gen;        /* id generation: + 1 in each fork child and at each detach */
	_Atomic uint32_t flags;      /* PROTO_OPT_*, valid while ACTIVE */
	_Atomic(struct ring *) ring; /* valid while ACTIVE; see the file comment for after */
	_Atomic bool attach;         /* this process was started for attach (DORMANT or attached) */
};

extern struct inj_hot inj_hot __attribute__((visibility("hidden")));

/* inject_active() inline but for the first use (UNTRIED), which connects. */
static inline bool inj_fast_active(uint32_t option)
{
	int s = atomic_load_explicit(&inj_hot.state, memory_order_acquire);
	if (s == INJ_ACTIVE)
		return (atomic_load_explicit(&inj_hot.flags, memory_order_relaxed) & option) != 0;
	return s == INJ_UNTRIED && inject_active(option);
}

/* Whether this process was started for attach, so that a later session may
 * capture what is not captured now (a backend then keeps the state that
 * session will need, such as NVTX push/pop nesting, without recording). */
static inline bool inj_fast_attach(void)
{
	return atomic_load_explicit(&inj_hot.attach, memory_order_relaxed);
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
	struct ring *r = atomic_load_explicit(&inj_hot.ring, memory_order_relaxed);
	unsigned char *p = ring_reserve(r, (uint32_t)(sizeof(h) + sizeof(*ev)));
	if (!p)
		return false;
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), ev, sizeof(*ev));
	ring_commit(r, p);
	return true;
}

#endif
