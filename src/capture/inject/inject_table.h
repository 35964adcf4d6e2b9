/*
 * inject_table.h - the collector's interning tables: byte keys to dense ids,
 * read without locks.
 *
 * The collector (inject.c) interns strings, tracks, launch configurations,
 * NVTX attributes, frames and stacks so that each value crosses the ring
 * once. A table maps a key (any bytes) to an id handed out densely from 1
 * within a generation (inject.h: inject_generation). Lookups
 * (inj_table_find) take no lock and allocate nothing: they probe an
 * open-addressing array of pointers to entries, loaded with acquire order.
 * Insertion is done by one thread at a time, under the table's `lock`, in
 * three steps that let the caller send the value's definition before anyone
 * can see its id:
 *
 *      lock; find again; e = inj_table_prepare(); send the definition of
 *      e->id; inj_table_publish(e) (or inj_table_discard(e)); unlock
 *
 * inj_table_publish stores the entry's tag (generation and id) with release
 * order, so a reader that finds an id also sees the entry's bytes, and (the
 * caller's part) the definition was committed to the ring before.
 *
 * Generations. Each capture session of a process (the first connection, and
 * every `tstop attach` after the process went dormant again) is a new
 * generation whose ids start at 1. A key keeps its entry across generations;
 * its tag says in which generation its id was given, and a lookup in another
 * generation misses, so the caller defines the value again under a new id.
 * Nothing is ever freed while other threads may run (a thread still inside
 * the collector from an earlier session only ever reads live memory); the
 * table holds every distinct key the process has sent, as one long session
 * would.
 *
 * Invariants:
 *   1. Every entry reachable from `slots` has its key bytes fully written
 *      and never changed or moved until inj_table_clear; only its tag (and
 *      `id`, under the lock) changes when it is given an id in a new
 *      generation.
 *   2. The slot array is at most half full, so every probe meets an empty
 *      slot; it is replaced by one twice as big, holding every entry, before
 *      an insertion would break this. Replaced arrays are kept (readers may
 *      still be probing them) and freed by inj_table_clear.
 *   3. In generation `gen`, the ids published are 1 .. next_id - 1, in
 *      publication order.
 *
 * Memory comes from malloc, not util/xalloc.h: the collector runs inside the
 * target, and running out of memory there must cost the trace an id (0),
 * never abort the application.
 */
#ifndef TSTOP_CAPTURE_INJECT_TABLE_H
#define TSTOP_CAPTURE_INJECT_TABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One interned value: its key is immutable once published. */
struct inj_entry {
	uint64_t hash;
	_Atomic uint64_t tag; /* generation << 32 | id, published; read without the lock */
	uint32_t id;          /* under the table's lock: the id being given (prepare) or last given */
	uint32_t len;         /* key bytes */
	bool linked;          /* under the lock: the entry is in the slot array */
	unsigned char key[];  /* the key, `len` bytes */
};

/* A slot array; `older` chains the arrays it replaced. */
struct inj_slots {
	struct inj_slots *older;
	size_t mask; /* number of slots - 1, a power of two minus one */
	_Atomic(struct inj_entry *) slot[];
};

struct inj_table {
	_Atomic(struct inj_slots *) slots; /* NULL until the first insertion */
	size_t count;                      /* entries, under `lock` */
	uint32_t next_id;                  /* id of the next insertion in `gen`, under `lock` */
	uint32_t gen;                      /* generation that next_id counts in, under `lock` */
	pthread_mutex_t lock;              /* held by inserting threads */
};

/* A static initializer for an empty table, equal to inj_table_init's. */
#define INJ_TABLE_INITIALIZER                                                                                \
	{                                                                                                    \
		NULL, 0, 1, 0, PTHREAD_MUTEX_INITIALIZER                                                     \
	}

/* Initializes an empty table (ids from 1, generation 0). */
void inj_table_init(struct inj_table *t);

/* Frees every entry and slot array and empties the table (ids from 1 again),
 * re-initializing its lock. Only when no other thread uses the table: at
 * teardown, in tests, and in a fork child. */
void inj_table_clear(struct inj_table *t);

/* The hash of `len` bytes (never 0). Pure. */
uint64_t inj_hash(const void *key, size_t len);

/* The id `key` (`hash` from inj_hash) was given in generation `gen`, or 0
 * when it has none there. Lock-free and allocation-free; any thread, at any
 * time. */
uint32_t inj_table_find(const struct inj_table *t, uint32_t gen, uint64_t hash, const void *key, size_t len);

/* Under `lock`, for a key that has no id in generation `gen`: restarts the
 * ids at 1 when `gen` is not the table's generation, then returns the key's
 * entry (the existing one from an earlier generation, or a new one with room
 * made for it) with e->id set to the id it is about to get, unpublished.
 * Returns NULL when memory runs out. The caller passes the entry to
 * inj_table_publish or inj_table_discard before it unlocks. */
struct inj_entry *inj_table_prepare(struct inj_table *t, uint32_t gen, uint64_t hash, const void *key,
                                    size_t len);

/* Under `lock`: publishes `e` (from inj_table_prepare on this table) with
 * its id in the table's generation and advances next_id. */
void inj_table_publish(struct inj_table *t, struct inj_entry *e);

/* Under `lock`: gives up a prepared entry without publishing it: a new one
 * is freed, an existing one keeps its old tag; the id stays free. */
void inj_table_discard(struct inj_entry *e);

#endif
