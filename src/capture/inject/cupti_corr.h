/*
 * cupti_corr.h - a lock-free map from CUPTI correlation ids to 32-bit values.
 *
 * CUPTI tells the collector about one API call twice: synchronously, in the
 * callback API on the calling thread when the call begins (where the stack
 * is taken and the thread is known), and later, in an activity record on
 * CUPTI's own thread. The two share a correlation id. This map carries what
 * the first saw to the second: the stack id of a launch or copy, the thread
 * of an allocation, whether a synchronization was cudaDeviceSynchronize.
 *
 * It is a direct-mapped table of CUPTI_CORR_SLOTS 64-bit slots, each holding
 * (correlation << 32 | value), written and read with single atomic
 * operations: no lock, no allocation, any number of writer and reader
 * threads. A slot is overwritten by the correlation id CUPTI_CORR_SLOTS
 * later (ids are handed out in sequence, one per API call of the process),
 * so a value stays readable until that many more API calls were made; the
 * activity record normally arrives within one flush period. A value lost
 * that way reads as absent, never as another call's value. Correlation id 0
 * (none) is never stored.
 */
#ifndef TSTOP_CAPTURE_INJECT_CUPTI_CORR_H
#define TSTOP_CAPTURE_INJECT_CUPTI_CORR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define CUPTI_CORR_SLOTS 65536u /* a power of two: 512 KiB per map */

struct cupti_corr_map {
	_Atomic uint64_t slot[CUPTI_CORR_SLOTS];
};

/* Stores `value` for correlation id `corr` (ignored when corr is 0),
 * replacing what the slot held. O(1), lock-free, async-signal-safe. */
void cupti_corr_put(struct cupti_corr_map *m, uint32_t corr, uint32_t value);

/* Reads the value stored for `corr` into *value and returns true, or
 * returns false when none is (never stored, or overwritten since). */
bool cupti_corr_get(const struct cupti_corr_map *m, uint32_t corr, uint32_t *value);

#endif
