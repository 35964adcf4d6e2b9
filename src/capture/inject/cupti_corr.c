/*
 * cupti_corr.c - correlation id -> value map (see cupti_corr.h).
 *
 * The slot of id c is c mod CUPTI_CORR_SLOTS; its 64 bits hold c in the
 * high half and the value in the low half, so a reader that finds another
 * id there knows its own value was overwritten. Release/acquire ordering
 * makes whatever the writer published before put (a stack's definition
 * record, for instance) visible to a reader that found the value.
 */
#include "capture/inject/cupti_corr.h"

void cupti_corr_put(struct cupti_corr_map *m, uint32_t corr, uint32_t value)
{
	if (corr == 0)
		return;
	atomic_store_explicit(&m->slot[corr & (CUPTI_CORR_SLOTS - 1)], (uint64_t)corr << 32 | value,
	                      memory_order_release);
}

bool cupti_corr_get(const struct cupti_corr_map *m, uint32_t corr, uint32_t *value)
{
	if (corr == 0)
		return false;
	/* C11 atomic_load takes a pointer to non-const in some library
	 * versions; the slot is only read. */
	uint64_t v = atomic_load_explicit((_Atomic uint64_t *)&m->slot[corr & (CUPTI_CORR_SLOTS - 1)],
	                                  memory_order_acquire);
	if ((uint32_t)(v >> 32) != corr)
		return false;
	*value = (uint32_t)v;
	return true;
}
