/*
 * cupti_pool.h - the activity buffers the CUPTI backend lends to CUPTI.
 *
 * CUPTI asks for an empty buffer whenever it needs one (on an application
 * thread in the middle of a CUDA call, or on its own thread) and hands it
 * back full through the completion callback, which decodes it and returns
 * it here. The pool keeps at most `max` buffers of `size` bytes, mapped on
 * first need (page-aligned, so 8-byte aligned as CUPTI requires) and reused
 * afterwards; when all are out, or mapping fails, the request gets none and
 * CUPTI drops records and counts them (cuptiActivityGetNumDroppedRecords),
 * which the backend reports. The application is never blocked beyond a
 * short mutex, and memory stays bounded at max * size.
 *
 * Invariant: free <= mapped <= max; every buffer in the free list was
 * mapped by this pool and is not lent.
 */
#ifndef TSTOP_CAPTURE_INJECT_CUPTI_POOL_H
#define TSTOP_CAPTURE_INJECT_CUPTI_POOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define CUPTI_POOL_MAX 32u

struct cupti_pool {
	pthread_mutex_t lock;
	size_t size;     /* bytes of each buffer */
	unsigned max;    /* buffers that may exist, <= CUPTI_POOL_MAX */
	unsigned mapped; /* buffers that exist */
	unsigned nfree;
	uint8_t *free[CUPTI_POOL_MAX];
};

/* Prepares an empty pool of up to `max` (capped at CUPTI_POOL_MAX) buffers
 * of `size` bytes (rounded up to whole pages). Maps nothing yet. */
void cupti_pool_init(struct cupti_pool *p, size_t size, unsigned max);

/* Lends a buffer of p->size bytes, or returns NULL when all are lent or
 * mapping failed. Thread-safe. */
uint8_t *cupti_pool_get(struct cupti_pool *p);

/* Returns a buffer that cupti_pool_get() lent. Thread-safe. */
void cupti_pool_put(struct cupti_pool *p, uint8_t *buf);

/* Unmaps every buffer that is not lent (at the end of a test; the
 * collector keeps its pool for the life of the process). */
void cupti_pool_release(struct cupti_pool *p);

#endif
