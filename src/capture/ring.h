/*
 * ring.h - the shared-memory transport ring between a target and tstop.
 *
 * One ring per target process carries variable-length records from many
 * producer threads inside the target (the injected collector) to one
 * consumer in tstop (the drain thread). The memory is one memfd: tstop
 * creates it (ring_create), sends the fd to the target over a Unix socket,
 * and the target maps it (ring_attach). The memfd is sealed against
 * shrinking and growing, so once a side has checked its size no peer can
 * truncate it under the other and fault it with SIGBUS.
 *
 * Layout: a 4096-byte header (struct ring_shared, below) followed by a data
 * area of `data_size` bytes, a power of two. Positions are 64-bit byte
 * counters that only grow; a position's offset in the data area is
 * `pos & (data_size - 1)`. Every record starts on an 8-byte boundary with an
 * 8-byte header word:
 *
 *      bits  0..29  payload length in bytes
 *      bit  30      RING_REC_PAD: padding up to the end of the data area
 *      bit  31      RING_REC_COMMIT: the record is complete
 *      bits 32..63  stamp: (uint32_t)(pos >> 3), the record's own position
 *
 * followed by the payload, rounded up to 8 bytes. A record never straddles
 * the end of the data area: the producer reserves a padding record that
 * fills the tail and puts its record at offset 0.
 *
 * Protocol. A producer reserves space with one compare-and-swap on
 * `reserve_pos`, checked against `consumer_pos` (acquire), writes the header
 * word without the commit bit, fills the payload, and sets the commit bit
 * with a release store (ring_commit). The consumer reads the header word at
 * its position with acquire; a committed record is handed out, then the
 * consumed bytes are zeroed and `consumer_pos` is advanced with release,
 * once per batch. Zeroing keeps the invariant that every byte producers may
 * reserve reads as zero until a producer writes it, so a slot that is
 * reserved but not yet written can never be mistaken for a record.
 *
 * A producer that stops between reserve and commit (killed, or a thread
 * that never returns) stalls the consumer at that record: later committed
 * records wait behind it. ring_read never skips it, because its owner may
 * still be writing. ring_head_state() tells such a stall (RING_HEAD_PENDING)
 * from an empty ring, and ring_skip_torn() lets the reader go past it when
 * the caller has given up waiting for it (the drain: the process has
 * exited, or the record stayed uncommitted for a bound of drain time). The
 * skip needs the record's extent: when its header word is written it
 * carries the length; when the producer has not stored that word yet (the
 * slot still reads zero, invariant 2 of ring.c), the record ends at the
 * first written header word after it, which must be a well-formed header
 * for its own position. Either way a skip happens only when a committed
 * record lies behind the torn one, so a ring whose writers all stopped (a
 * suspended process) is never skipped through. Skipped records are counted
 * (ring_stats.torn_records).
 *
 * A skip never depends on the writer being dead, so it frees nothing: the
 * record's bytes stay reserved (held) and the consumer position producers
 * see stays at the oldest held record, while the reader goes on behind it.
 * A writer that was only slow (a long signal handler, starvation, a frozen
 * cgroup) and resumes writes into its own record and commits it; the
 * consumer then discards that record (it was already counted lost:
 * ring_stats.torn_late) and releases its bytes. Until then producers get
 * no space past one data area beyond the held record: a record that is
 * never committed (its thread died in a live process) makes the ring fill
 * and later records drop (counted), never land on the held bytes. At most
 * RING_HELD_MAX records are held; a further one is not skipped. So a late
 * commit sets the commit bit of its own header only, with a plain store.
 *
 * Trust. The two sides trust nothing they read from shared memory. Each
 * handle keeps its own copy of the sizes (read once and validated at attach)
 * and masks every offset it computes. The consumer keeps its position in
 * its own handle and checks every header word (stamp, flags, length, bounds)
 * and every producer position it reads; a bad one is reported as
 * corruption, the consumer resynchronizes past the damage (or stops when the
 * producer position itself is impossible), and no value can make it read
 * outside the data area or loop without bound. Record payloads are handed
 * out in place: they are bounds-checked, but their bytes are the target's
 * and may change under the reader.
 *
 * When the ring is full a producer drops the record and counts it (records
 * and payload bytes) in the header, where both sides read the counts. In
 * blocking mode (RING_BLOCKING) it first waits, spinning then yielding then
 * sleeping, until there is space, the consumer has marked itself detached,
 * or the consumer position has not moved for the ring's block timeout; after
 * such a timeout producers drop without waiting until the consumer moves
 * again. A thread marked with ring_thread_nowait never waits.
 *
 * The producer path (ring_reserve, ring_commit, ring_drops) takes no lock,
 * allocates nothing, and uses only atomics, clock_gettime, sched_yield and
 * nanosleep: it may run in a signal handler. Any number of threads and
 * processes may produce into one ring; exactly one thread consumes.
 */
#ifndef TSTOP_CAPTURE_RING_H
#define TSTOP_CAPTURE_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define RING_MAGIC                    0x474e52504f545354ull /* "TSTOPRNG" in little-endian bytes */
#define RING_VERSION                  1u
#define RING_HEADER_SIZE              4096u
#define RING_MIN_SIZE                 4096u        /* smallest data area */
#define RING_MAX_SIZE                 (1ull << 30) /* largest data area */
#define RING_REC_HDR                  8u           /* bytes of a record header word */
#define RING_REC_LEN                  0x3fffffffu  /* header word: payload length */
#define RING_REC_PAD                  (1u << 30)   /* header word: padding record */
#define RING_REC_COMMIT               (1u << 31)   /* header word: record complete */
#define RING_DEFAULT_BLOCK_TIMEOUT_MS 1000u
#define RING_HELD_MAX                 8u /* torn records a consumer holds at once (ring_skip_torn) */

/* Bits of ring_shared.flags. */
#define RING_BLOCKING          (1u << 0) /* producers wait for space (set at create) */
#define RING_CONSUMER_ATTACHED (1u << 1) /* a consumer created the ring */
#define RING_CONSUMER_DETACHED (1u << 2) /* the consumer has gone; never wait for it */

/* Bits of ring_shared.control, the consumer's capture switch. */
#define RING_CTRL_PAUSE (1u << 0) /* the consumer asks producers to record nothing for now */
#define RING_NOTE_MAX   2048u     /* bytes of the consumer's note */

/* The header page, shared by both sides. Fields written by producers and
 * by the consumer sit on separate 128-byte blocks (two cache lines, which
 * adjacent-line prefetchers fetch together). Versioned by RING_VERSION. */
struct ring_shared {
	/* Written once by ring_create before the fd is shared. */
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;      /* RING_HEADER_SIZE */
	uint64_t data_size;        /* power of two, RING_MIN_SIZE..RING_MAX_SIZE */
	uint32_t block_timeout_ms; /* blocking mode: give up after this long without progress */
	uint32_t reserved0;
	uint8_t pad0[128 - 32];
	/* Producers: the reservation counter, CASed on every record. */
	_Atomic uint64_t reserve_pos;
	uint8_t pad1[128 - 8];
	/* Producers, drop path only. */
	_Atomic uint64_t dropped_records;
	_Atomic uint64_t dropped_bytes; /* payload bytes of the dropped records */
	_Atomic uint64_t giveup_pos;    /* blocking mode: consumer_pos when waiting last timed out */
	uint8_t pad2[128 - 24];
	/* Consumer. */
	_Atomic uint64_t consumer_pos;
	_Atomic uint32_t flags; /* RING_BLOCKING | RING_CONSUMER_* */
	uint32_t reserved1;
	uint8_t pad3[128 - 16];
	/* Consumer -> producers: the capture switch (RING_CTRL_*), which the
	 * consumer may change at any time and producers read on their hot
	 * path, so it has a block of its own that is written only on a change;
	 * and the session time of the last change. */
	_Atomic uint32_t control;
	uint32_t reserved2;
	_Atomic int64_t control_time;
	uint8_t pad4[128 - 16];
	/* Consumer -> producers: a note written before the fd is shared and
	 * read once by the producer side at attach (its format is the user's:
	 * capture/proto.h's struct proto_control). */
	uint32_t note_len;
	uint8_t note[RING_NOTE_MAX];
};

/* An open ring: one process's mapping plus its private, validated copies of
 * the sizes and, for the consumer, of its position. */
struct ring;

/* What the record at the consumer's position is. */
enum ring_head {
	RING_HEAD_EMPTY,   /* nothing reserved beyond the consumer */
	RING_HEAD_READY,   /* a committed record waits */
	RING_HEAD_PENDING, /* reserved but not committed yet: a producer is writing, or died doing so */
	RING_HEAD_CORRUPT, /* the header word or the producer position is impossible */
	RING_HEAD_BROKEN,  /* the consumer stopped after unrecoverable corruption */
};

/* Counters of one ring, as seen from one handle. */
struct ring_stats {
	uint64_t reserve_pos;     /* producer position (shared, untrusted) */
	uint64_t consumer_pos;    /* this handle's consumer position */
	uint64_t dropped_records; /* records producers dropped (shared, untrusted) */
	uint64_t dropped_bytes;   /* their payload bytes (shared, untrusted) */
	uint64_t read_records;    /* records this handle's ring_read handed out */
	uint64_t read_bytes;      /* their payload bytes */
	uint64_t corruptions;     /* corruption events ring_read met */
	uint64_t skipped_bytes;   /* ring bytes thrown away resynchronizing */
	uint64_t torn_records;    /* records left half-written that ring_skip_torn skipped */
	uint64_t torn_bytes;      /* ring bytes they occupied (headers and padding included) */
	uint64_t torn_late;       /* of those: records whose writer committed after the skip (discarded) */
	uint64_t torn_held;       /* skipped records whose bytes are still held now */
};

/* Called by ring_read for each record, in order: `data` points at `len`
 * payload bytes inside the shared data area, valid until the callback
 * returns (the bytes belong to the target: validate what is read, copy what
 * is kept). Returning nonzero stops ring_read after this record, which
 * counts as consumed. */
typedef int (*ring_record_fn)(void *arg, const void *data, uint32_t len);

/* Creates a ring with a `data_size`-byte data area (a power of two between
 * RING_MIN_SIZE and RING_MAX_SIZE) in a new sealed memfd, maps it, and marks
 * the consumer attached. `flags` is 0 or RING_BLOCKING; `block_timeout_ms`
 * bounds a blocking producer's wait for a consumer that does not move (0:
 * RING_DEFAULT_BLOCK_TIMEOUT_MS). The creator is the consumer. Returns a
 * handle that owns the memfd (ring_fd) and the mapping; NULL with `e` set on
 * failure. Free with ring_close. */
struct ring *ring_create(size_t data_size, unsigned flags, unsigned block_timeout_ms, struct err *e);

/* Maps the ring in memfd `fd` (received from the creator, untrusted):
 * checks the seals, magic, version, header and data sizes and that the
 * file is exactly as big as the header says, then maps it. The handle's
 * consumer position starts at the shared consumer position. `fd` stays the
 * caller's (it may be closed at once). Returns NULL with `e` set when the fd
 * is not a valid ring. Free with ring_close. */
struct ring *ring_attach(int fd, struct err *e);

/* Unmaps the ring and closes its memfd if the handle owns it (ring_create).
 * Does not mark the consumer detached: call ring_consumer_detach first when
 * the consumer goes away for good. NULL is a no-op. */
void ring_close(struct ring *r);

/* The memfd of a handle from ring_create (owned by the handle: dup it to
 * keep it beyond ring_close), or -1 for an attached handle. */
int ring_fd(const struct ring *r);

/* The data area of this handle's mapping and its size (diagnostics and
 * tests: the bounds every record ring_read hands out lies within). */
const void *ring_data(const struct ring *r);
size_t ring_data_size(const struct ring *r);

/* Largest payload ring_reserve accepts: data_size / 2 - RING_REC_HDR. */
uint32_t ring_max_payload(const struct ring *r);

/* Producer. Reserves room for a `len`-byte payload and returns where to
 * write it (8-byte aligned, inside the data area), or NULL when the ring is
 * full (after waiting, in blocking mode) or `len` exceeds ring_max_payload;
 * a NULL return counts one dropped record of `len` bytes. Every non-NULL
 * return must be passed to ring_commit exactly once; until then the
 * consumer waits at this record. Lock-free; async-signal-safe. */
void *ring_reserve(struct ring *r, uint32_t len);

/* Producer. Makes ring_reserve on the calling thread never wait when `on`,
 * whatever the ring's mode: for threads that must not be stalled, such as
 * the threads an OpenCL implementation runs completion callbacks on. A
 * reservation that finds no room then drops and counts the record as in
 * non-blocking mode. Returns the previous setting, for the caller to
 * restore. The fast path does not look at it (only a wait does). Per
 * thread, for every ring; async-signal-safe. */
bool ring_thread_nowait(bool on);

/* Producer. Publishes the record whose payload `ptr` (from ring_reserve on
 * this handle) points at, with release order: every byte written to it
 * before this call is visible to the consumer that sees it. O(1),
 * async-signal-safe. */
void ring_commit(struct ring *r, void *ptr);

/* Consumer. Hands out committed records in order to `fn`, at most
 * `max_records` of them and at most one data area's worth of bytes per call,
 * stopping at the first record not yet committed. Consumed bytes are zeroed
 * and the shared consumer position advances once per batch (a quarter of the
 * data area) and at return. Returns the number of records handed out. On
 * corruption returns -1 with `e` set, after the records before it were
 * handed out, and resynchronizes: it skips to the producer position (the
 * bytes are counted in ring_stats.skipped_bytes) so the next call goes on;
 * when the producer position itself is impossible the ring is marked broken
 * and every later call returns -1. Only one thread may read a ring. */
long ring_read(struct ring *r, size_t max_records, ring_record_fn fn, void *arg, struct err *e);

/* Consumer. What waits at the consumer position, without consuming it.
 * RING_HEAD_PENDING with no progress over time means a producer stopped
 * between reserve and commit. Reads only; safe alongside producers. */
enum ring_head ring_head_state(const struct ring *r);

/* Consumer. Skips the record at the consumer position when it is reserved
 * but not committed (RING_HEAD_PENDING) and a committed record lies behind
 * it, so that ring_read goes on with the records after it. A producer
 * still writing it loses it (its late commit is discarded), but nothing
 * else: the record's bytes stay held, unavailable to producers, until its
 * writer commits it (ring_read and ring_skip_torn then release them) or
 * the ring is closed. Its extent is its header's length, or, when the
 * header word was never written, up to the first well-formed header after
 * it. Counted in ring_stats.torn_records and torn_bytes. Returns 1 when a
 * record was skipped; 0 when there is nothing to skip (not pending,
 * nothing committed behind it, its end cannot be told for sure within a
 * bounded number of header words, or RING_HELD_MAX records are held
 * already); -1 with `e` set on corruption, handled as in ring_read. Only
 * the reading thread may call it. */
int ring_skip_torn(struct ring *r, struct err *e);

/* Consumer. Marks the consumer detached for good: blocking producers stop
 * waiting, and everyone may test it with ring_consumer_detached. */
void ring_consumer_detach(struct ring *r);

/* Whether the consumer has marked itself detached. Async-signal-safe. */
bool ring_consumer_detached(const struct ring *r);

/* Records and payload bytes dropped so far, from the shared header (either
 * side; from the consumer's side the numbers are the target's word).
 * Async-signal-safe. */
void ring_drops(const struct ring *r, uint64_t *records, uint64_t *bytes);

/* Fills `out` with the ring's counters as this handle sees them. */
void ring_get_stats(const struct ring *r, struct ring_stats *out);

/* --- the capture switch and the note (consumer -> producers) ---------------
 *
 * Unlike everything above, these carry words from the consumer to the
 * producers. The producer side takes them as requests (a paused producer
 * still writes what it must, such as definitions); it validates the note's
 * length before use. */

/* Consumer. Sets the capture switch to `control` (RING_CTRL_* bits) with
 * `time` (the session clock of the change) stored first, so that a
 * producer that sees the new switch also finds its time. Async-signal-safe. */
void ring_set_control(struct ring *r, uint32_t control, int64_t time);

/* Either side. The capture switch, and in *time (when not NULL) the time
 * of its last change (0 when never changed). */
uint32_t ring_control(const struct ring *r, int64_t *time);

/* Producer hot path: the shared switch word itself, to be read with one
 * relaxed atomic load. Valid as long as the mapping is. */
const _Atomic uint32_t *ring_control_word(const struct ring *r);

/* Consumer, before the fd is shared: writes the note (`len` bytes, at most
 * RING_NOTE_MAX). Returns 0, or -1 with `e` set when it is too long. */
int ring_set_note(struct ring *r, const void *bytes, size_t len, struct err *e);

/* Producer: copies the note into `buf` (`cap` bytes) and returns its
 * length, 0 when there is none or it does not fit (a length the consumer
 * could not have written reads as no note). */
size_t ring_note(const struct ring *r, void *buf, size_t cap);

#endif
