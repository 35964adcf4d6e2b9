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

/* In inj_hot.flags beside the PROTO_OPT_* bits: capture is off because the
 * process is outside its capture range (proto.h: capture windows). */
#define INJ_PAUSE_RANGE (1u << 31)

struct inj_hot {
	_Atomic int state;           /* enum inj_state */
	_Atomic uint32_t gen;        /* id generation: + 1 in each fork child and at each detach */
	_Atomic uint32_t flags;      /* PROTO_OPT_* | INJ_PAUSE_RANGE, valid while ACTIVE */
	_Atomic(struct ring *) ring; /* valid while ACTIVE; see the file comment for after */
	_Atomic bool attach;         /* this process was started for attach (DORMANT or attached) */
	/* tstop's capture switch (ring.h: RING_CTRL_PAUSE), in the ring's
	 * header while ACTIVE; never NULL (a zero word of inject.c before). */
	_Atomic(const _Atomic uint32_t *) control;
	_Atomic bool range; /* the session has a capture range (inject_range_is) */
};

extern struct inj_hot inj_hot __attribute__((visibility("hidden")));

/* inject_active() inline but for the first use (UNTRIED), which connects:
 * connected, `option` (one PROTO_OPT_* bit) captured, and neither tstop's
 * switch nor the capture range says off. In a session that cannot pause
 * (no PROTO_OPT_WINDOW) that is two loads of one cache line of ours and one
 * mask test, as without windows; in one that can, tstop's switch is read
 * too, from the ring header's control block, which tstop writes only when
 * it flips the switch. */
static inline bool inj_fast_active(uint32_t option)
{
	int s = atomic_load_explicit(&inj_hot.state, memory_order_acquire);
	if (s == INJ_ACTIVE) {
		uint32_t f = atomic_load_explicit(&inj_hot.flags, memory_order_relaxed);
		if ((f & (option | INJ_PAUSE_RANGE | PROTO_OPT_WINDOW)) == option)
			return true;
		const _Atomic uint32_t *c = atomic_load_explicit(&inj_hot.control, memory_order_relaxed);
		return (f & (option | INJ_PAUSE_RANGE)) == option &&
		       !(atomic_load_explicit(c, memory_order_relaxed) & RING_CTRL_PAUSE);
	}
	return s == INJ_UNTRIED && inject_active(option);
}

/* inject_enabled() inline: connected and `option` captured in this
 * session, whether or not capture is paused now (definitions such as
 * thread names are sent while paused). */
static inline bool inj_fast_enabled(uint32_t option)
{
	int s = atomic_load_explicit(&inj_hot.state, memory_order_acquire);
	if (s == INJ_ACTIVE)
		return (atomic_load_explicit(&inj_hot.flags, memory_order_relaxed) & option) != 0;
	return s == INJ_UNTRIED && inject_enabled(option);
}

/* Whether this session has a capture range. The caller has made the first
 * use of this process image already (inj_fast_active), so that a fork
 * child's first range is tested against its own session's range. */
static inline bool inj_fast_ranged(void)
{
	return atomic_load_explicit(&inj_hot.range, memory_order_acquire);
}

/* Whether tstop is connected (state ACTIVE), paused or not: a backend then
 * keeps the state a later capture window needs (NVTX nesting) while it
 * records nothing. Never connects. */
static inline bool inj_fast_connected(void)
{
	return atomic_load_explicit(&inj_hot.state, memory_order_acquire) == INJ_ACTIVE;
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
