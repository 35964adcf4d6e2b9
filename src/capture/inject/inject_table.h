/*
 * inject_table.h - the collector's interning tables: byte keys to dense ids,
 * read without locks.
 *
 * The collector (inject.c) interns strings, tracks, launch configurations,
 * NVTX attributes, frames and stacks so that each value crosses the ring
 * once. A table maps a key (any bytes) to an id handed out densely from 1.
 * Lookups (inj_table_find) take no lock and allocate nothing: they probe an
 * open-addressing array of pointers to immutable entries, loaded with
 * acquire order. Insertion is done by one thread at a time, under the
 * table's `lock`, in three steps that let the caller send the value's
 * definition before anyone can see its id:
 *
 *      lock; find again; e = inj_table_prepare(); send the definition of
 *      e->id; inj_table_publish(e) (or inj_table_discard(e)); unlock
 *
 * inj_table_publish stores the entry pointer with release order, so a reader
 * that finds an id also sees the entry's bytes, and (the caller's part) the
 * definition was committed to the ring before.
 *
 * Invariants:
 *   1. Every entry reachable from `slots` is fully written and never changes
 *      or moves until inj_table_clear.
 *   2. The slot array is at most half full, so every probe meets an empty
 *      slot; it is replaced by one twice as big, holding every entry, before
 *      an insertion would break this. Replaced arrays are kept (readers may
 *      still be probing them) and freed by inj_table_clear.
 *   3. Ids are 1 .. count, in insertion order: next_id == count + 1.
 *
 * Memory comes from malloc, not util/xalloc.h: the collector runs inside the
 * target, and running out of memory there must cost the trace an id (0),
 * never abort the application.
 */
#ifndef TSTOP_CAPTURE_INJECT_TABLE_H
#define TSTOP_CAPTURE_INJECT_TABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* One interned value: immutable once published. */
struct inj_entry {
	uint64_t hash;
	uint32_t id;
	uint32_t len;        /* key bytes */
	unsigned char key[]; /* the key, `len` bytes */
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
	uint32_t next_id;                  /* id of the next insertion, under `lock` */
	pthread_mutex_t lock;              /* held by inserting threads */
};

/* A static initializer for an empty table, equal to inj_table_init's. */
#define INJ_TABLE_INITIALIZER                                                                                \
	{                                                                                                    \
		NULL, 0, 1, PTHREAD_MUTEX_INITIALIZER                                                        \
	}

/* Initializes an empty table (ids from 1). */
void inj_table_init(struct inj_table *t);

/* Frees every entry and slot array and empties the table (ids from 1 again),
 * re-initializing its lock. Only when no other thread uses the table: at
 * teardown, in tests, and in a fork child. */
void inj_table_clear(struct inj_table *t);

/* The hash of `len` bytes (never 0). Pure. */
uint64_t inj_hash(const void *key, size_t len);

/* The id of `key` (`hash` from inj_hash), or 0 when it is not published.
 * Lock-free and allocation-free; any thread, at any time. */
uint32_t inj_table_find(const struct inj_table *t, uint64_t hash, const void *key, size_t len);

/* Under `lock`: makes an entry for `key` with id next_id and makes room for
 * it, without publishing it. Returns NULL when memory runs out. The caller
 * passes the entry to inj_table_publish or inj_table_discard before it
 * unlocks. */
struct inj_entry *inj_table_prepare(struct inj_table *t, uint64_t hash, const void *key, size_t len);

/* Under `lock`: publishes `e` (from inj_table_prepare on this table, whose
 * key is not in the table) and advances next_id. */
void inj_table_publish(struct inj_table *t, struct inj_entry *e);

/* Frees an entry that was prepared but not published; its id stays free. */
void inj_table_discard(struct inj_entry *e);

#endif
