/*
 * intern.h - building blocks of the session's interned tables.
 *
 * The session keeps many tables that map a value to a dense id and back:
 * strings, frames, stacks, launch configurations, NVTX attributes, tracks,
 * processes, ... Rather than one hash table per table, they share:
 *
 *   - trace_hash_bytes(): a 32-bit hash of any bytes;
 *   - struct trace_index: an open-addressing (linear probing) hash index of
 *     u32 ids, where the caller supplies each key's hash and an equality test
 *     against the id's stored value; id 0 marks an empty slot;
 *   - struct trace_arena: a block allocator whose allocations never move and
 *     are all freed together (string bytes, stack frame lists);
 *   - struct trace_table: a segmented array of fixed-size elements indexed by
 *     a u32; elements never move as it grows, so pointers into it stay valid
 *     for the table's life.
 *
 * Internal to src/trace/: nothing outside the model includes this header.
 */
#ifndef TSTOP_TRACE_INTERN_H
#define TSTOP_TRACE_INTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 32-bit hash of `len` bytes at `p` (any bytes). Not cryptographic. O(len). */
uint32_t trace_hash_bytes(const void *p, size_t len);

/* --- hash index ------------------------------------------------------------ */

struct trace_index_slot {
	uint32_t id;   /* 0: empty */
	uint32_t hash; /* hash of the id's key, kept to skip most comparisons and to rehash */
};

struct trace_index {
	struct trace_index_slot *slots; /* NULL until the first insert */
	size_t mask;                    /* slot count - 1 (a power of two) */
	size_t used;
};

/* Tells whether the value stored under `id` equals `key`; `ctx` is passed
 * through from trace_index_find(). */
typedef bool (*trace_index_eq_fn)(const void *ctx, uint32_t id, const void *key);

/* The id whose key hashes to `hash` and equals `key` by `eq`, or 0 when
 * there is none. O(1) expected. */
uint32_t trace_index_find(const struct trace_index *ix, uint32_t hash, trace_index_eq_fn eq, const void *ctx,
                          const void *key);

/* Records `id` (non-zero) under `hash`. The caller has checked with
 * trace_index_find() that no equal key is present. Amortized O(1). */
void trace_index_insert(struct trace_index *ix, uint32_t hash, uint32_t id);

/* Frees the index's slots and zeroes it. */
void trace_index_free(struct trace_index *ix);

/* --- arena ----------------------------------------------------------------- */

struct trace_arena {
	char **blocks; /* every block, freed by trace_arena_free() */
	size_t nblocks, cap;
	char *cur;        /* free space of the current block */
	size_t left;      /* bytes left at cur */
	size_t next_size; /* size of the next shared block */
};

/* Returns `size` bytes aligned to `align` (a power of two, at most 16) that
 * stay valid and unmoved until trace_arena_free(). Never NULL. */
void *trace_arena_alloc(struct trace_arena *a, size_t size, size_t align);

/* Frees every allocation of the arena and zeroes it. */
void trace_arena_free(struct trace_arena *a);

/* --- segmented table ------------------------------------------------------- */

/* Segment k holds TRACE_TABLE_BASE << k elements; 27 segments cover every
 * u32 index. */
#define TRACE_TABLE_BASE 64u
#define TRACE_TABLE_SEGS 27

struct trace_table {
	void *seg[TRACE_TABLE_SEGS];
	size_t elem; /* element size in bytes */
	uint32_t n;  /* elements in use */
};

/* Prepares an empty table of `elem`-byte elements. */
void trace_table_init(struct trace_table *t, size_t elem);

/* Appends one zeroed element and returns it; its index is the old t->n.
 * Aborts when the u32 index space is exhausted. Amortized O(1). */
void *trace_table_push(struct trace_table *t);

/* Element `i` (< t->n). O(1). */
static inline void *trace_table_at(const struct trace_table *t, uint32_t i)
{
	uint64_t j = (uint64_t)(i / TRACE_TABLE_BASE) + 1;
	unsigned k = 63u - (unsigned)__builtin_clzll(j);
	uint64_t first = ((UINT64_C(1) << k) - 1) * TRACE_TABLE_BASE;
	return (char *)t->seg[k] + (size_t)(i - first) * t->elem;
}

/* Frees every segment; the table is empty (same element size) afterwards. */
void trace_table_free(struct trace_table *t);

#endif
