/*
 * intern.c - hash, hash index, arena and segmented table shared by the
 * session's interned tables (see intern.h).
 *
 * The hash reads eight bytes at a time, mixes each word into a 64-bit state
 * with multiply-rotate steps and finishes with a xor-shift-multiply
 * avalanche, so that the low bits the index uses depend on every input bit.
 *
 * The index keeps its load at or below 3/4 and stores each key's hash next
 * to its id: a probe compares hashes first and calls the caller's equality
 * test only on a hash match, and growing rehashes without the keys.
 */
#include "trace/intern.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define HASH_K1 UINT64_C(0x87c37b91114253d5)
#define HASH_K2 UINT64_C(0x4cf5ad432745937f)
#define HASH_K3 UINT64_C(0x9e3779b97f4a7c15)

static inline uint64_t hash_rotl(uint64_t x, unsigned r)
{
	return x << r | x >> (64 - r);
}

static inline uint64_t hash_step(uint64_t h, uint64_t w)
{
	h ^= w * HASH_K1;
	return hash_rotl(h, 29) * HASH_K2 + HASH_K3;
}

/* Hashes `len` bytes; see the file comment. */
uint32_t trace_hash_bytes(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = HASH_K3 ^ ((uint64_t)len * HASH_K2);
	size_t n = len;

	while (n >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = hash_step(h, w);
		b += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;
		memcpy(&w, b, n);
		h = hash_step(h, w ^ (uint64_t)n << 59);
	}
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 29;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 32;
	return (uint32_t)h;
}

/* Looks `key` up by hash and equality; 0 when absent. */
uint32_t trace_index_find(const struct trace_index *ix, uint32_t hash, trace_index_eq_fn eq, const void *ctx,
                          const void *key)
{
	if (!ix->slots)
		return 0;
	for (size_t i = hash & ix->mask;; i = (i + 1) & ix->mask) {
		const struct trace_index_slot *sl = &ix->slots[i];
		if (!sl->id)
			return 0;
		if (sl->hash == hash && eq(ctx, sl->id, key))
			return sl->id;
	}
}

/* Places (hash, id) in the first free slot of its probe sequence. */
static void index_place(struct trace_index_slot *slots, size_t mask, uint32_t hash, uint32_t id)
{
	size_t i = hash & mask;
	while (slots[i].id)
		i = (i + 1) & mask;
	slots[i].id = id;
	slots[i].hash = hash;
}

/* Doubles the slot array (or creates it) and re-places every id. */
static void index_grow(struct trace_index *ix)
{
	size_t old_n = ix->slots ? ix->mask + 1 : 0;
	size_t n = old_n ? old_n * 2 : 16;
	struct trace_index_slot *slots = xcalloc(n, sizeof(*slots));

	for (size_t i = 0; i < old_n; i++)
		if (ix->slots[i].id)
			index_place(slots, n - 1, ix->slots[i].hash, ix->slots[i].id);
	free(ix->slots);
	ix->slots = slots;
	ix->mask = n - 1;
}

/* Inserts (hash, id), growing first when the load would pass 3/4. */
void trace_index_insert(struct trace_index *ix, uint32_t hash, uint32_t id)
{
	if (!ix->slots || (ix->used + 1) * 4 > (ix->mask + 1) * 3)
		index_grow(ix);
	index_place(ix->slots, ix->mask, hash, id);
	ix->used++;
}

/* Frees the slots. */
void trace_index_free(struct trace_index *ix)
{
	free(ix->slots);
	memset(ix, 0, sizeof(*ix));
}

#define ARENA_FIRST_BLOCK ((size_t)64 * 1024)
#define ARENA_MAX_BLOCK   ((size_t)4 * 1024 * 1024)

/* Adds a block of `size` bytes to the arena's list and returns it. */
static char *arena_new_block(struct trace_arena *a, size_t size)
{
	char *b = xmalloc(size);
	a->blocks = xgrow(a->blocks, &a->cap, a->nblocks + 1, sizeof(*a->blocks));
	a->blocks[a->nblocks++] = b;
	return b;
}

/* Carves `size` bytes from the current block, or from a new one: shared
 * blocks double up to ARENA_MAX_BLOCK; an allocation bigger than a quarter of
 * the next block gets a block of its own and leaves the current one open. */
void *trace_arena_alloc(struct trace_arena *a, size_t size, size_t align)
{
	size_t pad = (size_t)(-(uintptr_t)a->cur & (align - 1));

	if (a->cur && pad <= a->left && size <= a->left - pad) {
		char *p = a->cur + pad;
		a->cur = p + size;
		a->left -= pad + size;
		return p;
	}
	if (!a->next_size)
		a->next_size = ARENA_FIRST_BLOCK;
	if (size > a->next_size / 4)
		return arena_new_block(a, size); /* malloc aligns to 16 */
	a->cur = arena_new_block(a, a->next_size);
	a->left = a->next_size;
	if (a->next_size < ARENA_MAX_BLOCK)
		a->next_size *= 2;
	char *p = a->cur;
	a->cur += size;
	a->left -= size;
	return p;
}

/* Frees every block. */
void trace_arena_free(struct trace_arena *a)
{
	for (size_t i = 0; i < a->nblocks; i++)
		free(a->blocks[i]);
	free(a->blocks);
	memset(a, 0, sizeof(*a));
}

/* Sets up an empty table. */
void trace_table_init(struct trace_table *t, size_t elem)
{
	memset(t, 0, sizeof(*t));
	t->elem = elem;
}

/* Appends a zeroed element, allocating its segment on first use. */
void *trace_table_push(struct trace_table *t)
{
	if (t->n == UINT32_MAX)
		abort(); /* 4 G entries: the id space, like memory, is exhausted */
	uint32_t i = t->n;
	uint64_t j = (uint64_t)(i / TRACE_TABLE_BASE) + 1;
	unsigned k = 63u - (unsigned)__builtin_clzll(j);
	if (!t->seg[k])
		t->seg[k] = xcalloc((size_t)TRACE_TABLE_BASE << k, t->elem);
	t->n++;
	return trace_table_at(t, i); /* zeroed by calloc; elements are never removed */
}

/* Frees the segments. */
void trace_table_free(struct trace_table *t)
{
	for (unsigned k = 0; k < TRACE_TABLE_SEGS; k++)
		free(t->seg[k]);
	trace_table_init(t, t->elem);
}
