/*
 * inject_table.c - the collector's lock-free-read interning tables (see
 * inject_table.h for the insertion protocol and the invariants).
 *
 * Open addressing with linear probing over an array of entry pointers kept
 * at most half full. Growth builds a new array twice as big from the
 * entries and publishes it with one release store; readers still probing
 * the old one find everything that was published before it, and a miss only
 * sends them to the locked slow path of their caller. An entry's tag is one
 * 64-bit word (generation, id), so a reader sees either the old or the new
 * one, never half of each.
 */
#include "capture/inject/inject_table.h"

#include <stdlib.h>
#include <string.h>

#define INJ_TABLE_MIN_SLOTS 64u

/* Initializes an empty table (ids from 1). */
void inj_table_init(struct inj_table *t)
{
	atomic_init(&t->slots, NULL);
	t->count = 0;
	t->next_id = 1;
	t->gen = 0;
	pthread_mutex_init(&t->lock, NULL);
}

/* Frees the table's entries and arrays and empties it; single-threaded use
 * only (see inject_table.h). */
void inj_table_clear(struct inj_table *t)
{
	struct inj_slots *s = atomic_load_explicit(&t->slots, memory_order_relaxed);
	if (s) {
		for (size_t i = 0; i <= s->mask; i++)
			free(atomic_load_explicit(&s->slot[i], memory_order_relaxed));
	}
	while (s) {
		struct inj_slots *older = s->older;
		free(s);
		s = older;
	}
	atomic_store_explicit(&t->slots, NULL, memory_order_relaxed);
	t->count = 0;
	t->next_id = 1;
	t->gen = 0;
	pthread_mutex_init(&t->lock, NULL);
}

/* Mixes a 64-bit value (a bijection with good avalanche). */
static uint64_t inj_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* The hash of `len` bytes, 8 at a time; never 0. O(len). */
uint64_t inj_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)len * 0xff51afd7ed558ccdull);
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = inj_mix(h ^ w);
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t w = 0;
		for (size_t i = 0; i < len; i++)
			w |= (uint64_t)p[i] << (8 * i);
		h = inj_mix(h ^ w ^ 0x5bd1e995ull);
	}
	return h ? h : 1;
}

/* The entry of `key` in `s`, or NULL; lock-free. Expected O(1 + len). */
static struct inj_entry *inj_slots_find(const struct inj_slots *s, uint64_t hash, const void *key, size_t len)
{
	if (!s)
		return NULL;
	for (size_t i = hash & s->mask;; i = (i + 1) & s->mask) {
		struct inj_entry *e = atomic_load_explicit(&s->slot[i], memory_order_acquire);
		if (!e)
			return NULL;
		if (e->hash == hash && e->len == len && memcmp(e->key, key, len) == 0)
			return e;
	}
}

/* The id of `key` in generation `gen`, or 0; lock-free (see
 * inject_table.h). Expected O(1 + len). */
uint32_t inj_table_find(const struct inj_table *t, uint32_t gen, uint64_t hash, const void *key, size_t len)
{
	const struct inj_entry *e =
	    inj_slots_find(atomic_load_explicit(&t->slots, memory_order_acquire), hash, key, len);
	if (!e)
		return 0;
	uint64_t tag = atomic_load_explicit(&e->tag, memory_order_acquire);
	return (uint32_t)(tag >> 32) == gen ? (uint32_t)tag : 0;
}

/* Puts `e` in the first free slot of its probe sequence in `s`, which has
 * room; the store is a release so that readers see the entry's bytes. */
static void inj_slots_put(struct inj_slots *s, struct inj_entry *e)
{
	size_t i = e->hash & s->mask;
	while (atomic_load_explicit(&s->slot[i], memory_order_relaxed))
		i = (i + 1) & s->mask;
	atomic_store_explicit(&s->slot[i], e, memory_order_release);
}

/* Under the lock: makes sure one more entry keeps the array at most half
 * full, replacing it by a bigger one when needed. Returns -1 when memory
 * runs out (the table is unchanged). */
static int inj_table_reserve(struct inj_table *t)
{
	struct inj_slots *s = atomic_load_explicit(&t->slots, memory_order_relaxed);
	size_t nslots = s ? s->mask + 1 : 0;
	if (s && (t->count + 1) * 2 <= nslots)
		return 0;
	size_t n = nslots ? nslots * 2 : INJ_TABLE_MIN_SLOTS;
	if (n > (SIZE_MAX - sizeof(struct inj_slots)) / sizeof(s->slot[0]))
		return -1;
	struct inj_slots *ns = calloc(1, sizeof(*ns) + n * sizeof(ns->slot[0]));
	if (!ns)
		return -1;
	ns->mask = n - 1;
	ns->older = s;
	for (size_t i = 0; i < nslots; i++) {
		struct inj_entry *e = atomic_load_explicit(&s->slot[i], memory_order_relaxed);
		if (e)
			inj_slots_put(ns, e);
	}
	atomic_store_explicit(&t->slots, ns, memory_order_release);
	return 0;
}

/* Under the lock: the key's entry with the id it is about to get in `gen`,
 * room made for a new one; NULL when memory runs out. The caller publishes
 * or discards it. */
struct inj_entry *inj_table_prepare(struct inj_table *t, uint32_t gen, uint64_t hash, const void *key,
                                    size_t len)
{
	if (t->gen != gen) {
		t->gen = gen;
		t->next_id = 1;
	}
	if (len > UINT32_MAX || t->next_id == UINT32_MAX)
		return NULL;
	struct inj_entry *e =
	    inj_slots_find(atomic_load_explicit(&t->slots, memory_order_relaxed), hash, key, len);
	if (e) {
		e->id = t->next_id;
		return e;
	}
	if (inj_table_reserve(t) < 0)
		return NULL;
	e = malloc(sizeof(*e) + len);
	if (!e)
		return NULL;
	e->hash = hash;
	atomic_init(&e->tag, 0);
	e->id = t->next_id;
	e->len = (uint32_t)len;
	e->linked = false;
	if (len)
		memcpy(e->key, key, len);
	return e;
}

/* Under the lock: publishes a prepared entry in the table's generation and
 * advances next_id. */
void inj_table_publish(struct inj_table *t, struct inj_entry *e)
{
	atomic_store_explicit(&e->tag, (uint64_t)t->gen << 32 | e->id, memory_order_release);
	if (!e->linked) {
		e->linked = true;
		inj_slots_put(atomic_load_explicit(&t->slots, memory_order_relaxed), e);
		t->count++;
	}
	t->next_id++;
}

/* Gives up a prepared entry: frees it unless it is already in the table. */
void inj_table_discard(struct inj_entry *e)
{
	if (!e->linked)
		free(e);
}
