/*
 * inject_window.h - private to libtstop-inject.so: the pure parts of
 * capture windows (proto.h: capture windows), which inject.c drives.
 *
 *   - struct inj_range: a capture range as tstop sent it in the ring's note
 *     (struct proto_control), validated, and the test of whether an NVTX
 *     range (its message and domain) is one of it.
 *   - struct inj_winlog: when capture was on and off, as a short history of
 *     the switch's changes on the session clock, so that records that
 *     arrive late (CUPTI's API records, delivered by the buffer) are kept
 *     or dropped by the state at the time they describe.
 *
 * No locks, no allocation, no system calls: the caller serializes.
 */
#ifndef TSTOP_CAPTURE_INJECT_WINDOW_H
#define TSTOP_CAPTURE_INJECT_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/proto.h"

/* A validated capture range. */
struct inj_range {
	uint32_t end;    /* PROTO_RANGE_REPEAT or PROTO_RANGE_STOP */
	uint32_t domain; /* enum proto_range_domain */
	uint32_t name_len, domain_len;
	char name[PROTO_RANGE_NAME_MAX];
	char domain_name[PROTO_RANGE_DOMAIN_MAX];
};

/* Reads a struct proto_control of `len` bytes (a ring note) into *r.
 * Returns true when it holds a capture range that makes sense (magic,
 * version, enums and lengths checked; a name without NUL bytes), false
 * when it holds none or is malformed (then capture has no range). */
bool inj_range_parse(struct inj_range *r, const void *note, size_t len);

/* Whether an NVTX range whose message is the `len` bytes at `name` and
 * whose domain is `domain` (`domain_len` bytes; NULL for NVTX's default
 * domain) is one of range `r`. O(len). */
bool inj_range_match(const struct inj_range *r, const char *name, size_t len, const char *domain,
                     size_t domain_len);

/* Like inj_range_match for a NUL-terminated message: reads `name` no
 * further than its NUL or one byte past the range's name. */
bool inj_range_match_cstr(const struct inj_range *r, const char *name, const char *domain, size_t domain_len);

#define INJ_WINLOG_MAX 256u /* changes remembered; older ones are forgotten */

/* The history of one switch: its state before the first change remembered,
 * and the last INJ_WINLOG_MAX changes in time order. */
struct inj_winlog {
	bool initial; /* state before changes[0] */
	uint32_t n;   /* changes remembered, <= INJ_WINLOG_MAX */
	int64_t at[INJ_WINLOG_MAX];
	bool on[INJ_WINLOG_MAX];
};

/* Starts a history whose state has been `on` since forever. */
void inj_winlog_reset(struct inj_winlog *l, bool on);

/* Notes that the state became `on` at `t`; a note that changes nothing is
 * ignored, and one earlier than the last change is taken at that change's
 * time (the history stays in order). When full, the oldest change is
 * forgotten (its state becomes the initial one). O(INJ_WINLOG_MAX) then,
 * else O(1). */
void inj_winlog_note(struct inj_winlog *l, int64_t t, bool on);

/* The state at time `t`: that of the last change at or before `t`. A time
 * before every change remembered gets the initial state. O(log n). */
bool inj_winlog_on_at(const struct inj_winlog *l, int64_t t);

/* The current state (after the last change). */
bool inj_winlog_on(const struct inj_winlog *l);

#endif
