/*
 * ring.c - the shared-memory transport ring (see ring.h for the layout, the
 * protocol and what each side trusts).
 *
 * Invariants, for honest producers and consumer (numbered as the checks in
 * ring_classify refer to them):
 *   1. consumer_pos <= reserve_pos <= consumer_pos + data_size, both
 *      multiples of 8; the consumer's private position is >= the shared
 *      one (it publishes once per batch).
 *   2. Every byte in [consumer_pos, consumer_pos + data_size) that no
 *      producer has written yet reads as zero: ring_create starts from a
 *      zero-filled memfd and the consumer zeroes what it consumed before it
 *      publishes the new position with release order; producers acquire
 *      consumer_pos before they write.
 *   3. A record header is written only by the producer that reserved it,
 *      first without the commit bit (right after the reservation), then
 *      with it (ring_commit, release). Its stamp is its own position >> 3.
 *      Invariant 5 makes the plain store safe: a slot is reserved again only
 *      after its record was committed and read.
 *   4. Records tile the positions without gaps: each record starts where
 *      the previous one ends, and a padding record runs exactly to the end
 *      of the data area.
 *   5. The bytes of a record skipped as torn stay reserved until its
 *      writer commits it (or the consumer closes the ring): the consumer
 *      position producers see never passes the oldest such record, so no
 *      producer reserves its bytes again while a late writer may still
 *      write them. The consumer reads on behind it with its private
 *      position.
 * Anything the consumer reads that breaks 1, 3 or 4 is corruption.
 */
#include "capture/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/xalloc.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
               "the ring needs lock-free 64-bit atomics (shared between processes)");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
               "the ring needs lock-free 32-bit atomics (shared between processes)");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "a record header word is 8 bytes");
_Static_assert(offsetof(struct ring_shared, reserve_pos) == 128, "ring header layout");
_Static_assert(offsetof(struct ring_shared, dropped_records) == 256, "ring header layout");
_Static_assert(offsetof(struct ring_shared, consumer_pos) == 384, "ring header layout");
_Static_assert(offsetof(struct ring_shared, control) == 512, "ring header layout");
_Static_assert(sizeof(struct ring_shared) <= RING_HEADER_SIZE, "ring header fits its page");

#define RING_SPIN_STEPS     64u        /* producer wait: busy spins first */
#define RING_YIELD_STEPS    128u       /* then sched_yield until this step */
#define RING_SLEEP_MIN_NS   20000u     /* then sleeps, doubling from this */
#define RING_SLEEP_MAX_NS   1000000u   /* up to this */
#define RING_MAX_TIMEOUT_MS 60000u     /* an attached ring's timeout is clamped to this */
#define RING_TORN_SCAN_MAX  (1u << 20) /* header words ring_skip_torn looks at, at most */

/* A torn record skipped by ring_skip_torn whose bytes stay reserved: positions
 * [pos, end) (ring.h: torn records). */
struct ring_held {
	uint64_t pos, end;
};

struct ring {
	struct ring_shared *hdr; /* the shared header page */
	uint8_t *data;           /* the data area, RING_HEADER_SIZE past hdr */
	void *map_base;          /* the whole reservation, guard page included */
	size_t map_len;
	uint64_t size; /* data area bytes, validated: a power of two */
	uint64_t mask; /* size - 1 */
	uint32_t max_payload;
	uint32_t blocking; /* RING_BLOCKING as read once at create or attach */
	uint64_t block_timeout_ns;
	int fd; /* owned memfd (ring_create) or -1 */
	/* Consumer state, private to the one reading thread. */
	uint64_t cons; /* position of the next record to read */
	bool broken;   /* stopped after unrecoverable corruption */
	uint64_t read_records, read_bytes, corruptions, skipped_bytes;
	uint64_t torn_records, torn_bytes, torn_late;
	/* Torn records skipped but not released (invariant 5), oldest first. */
	struct ring_held held[RING_HELD_MAX];
	unsigned nheld;
};

/* Set on threads that must never wait for space (ring_thread_nowait). The
 * initial-exec model keeps its access a plain thread-pointer load, with no
 * allocation, in the collector loaded with dlopen or LD_PRELOAD too. */
static __thread bool ring_nowait __attribute__((tls_model("initial-exec")));

/* Producer-side wait state of one ring_reserve call in blocking mode. */
struct ring_wait {
	unsigned step;     /* backoff step */
	uint64_t seen;     /* consumer position when progress was last seen */
	uint64_t since_ns; /* when it was seen (0: not timed yet) */
	uint32_t sleep_ns; /* current sleep length */
};

static uint64_t ring_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void ring_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* Bytes a record with a `len`-byte payload occupies: header plus payload,
 * rounded up to 8. */
static uint64_t ring_rec_bytes(uint64_t len)
{
	return (len + RING_REC_HDR + 7) & ~(uint64_t)7;
}

/* The header word of the record at position `pos`; `pos` must be a
 * multiple of 8, so the word lies inside the data area whatever its value. */
static _Atomic uint64_t *ring_slot(const struct ring *r, uint64_t pos)
{
	return (_Atomic uint64_t *)(void *)(r->data + (pos & r->mask));
}

static uint64_t ring_word(uint64_t pos, uint32_t bits, uint32_t len)
{
	return (uint64_t)(uint32_t)(pos >> 3) << 32 | bits | len;
}

static bool ring_size_valid(uint64_t size)
{
	return size >= RING_MIN_SIZE && size <= RING_MAX_SIZE && (size & (size - 1)) == 0;
}

/* Reserves address space for the ring plus one inaccessible guard page and
 * maps `fd` over its start, so that a stray access just past the data area
 * faults instead of reading a neighbour. Fills the mapping fields of `r`;
 * returns -1 with `e` set on failure. */
static int ring_map(struct ring *r, int fd, uint64_t size, struct err *e)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t file_len = RING_HEADER_SIZE + (size_t)size;
	size_t pg = page > 0 ? (size_t)page : 4096;
	size_t map_len = (file_len + pg - 1) / pg * pg + pg;

	void *base = mmap(NULL, map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return err_errno(e, errno, "ring: cannot reserve %zu bytes of address space", map_len);
	void *m = mmap(base, file_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (m == MAP_FAILED) {
		int saved = errno;
		munmap(base, map_len);
		return err_errno(e, saved, "ring: cannot map the ring memfd");
	}
	r->map_base = base;
	r->map_len = map_len;
	r->hdr = base;
	r->data = (uint8_t *)base + RING_HEADER_SIZE;
	r->size = size;
	r->mask = size - 1;
	r->max_payload = (uint32_t)(size / 2 - RING_REC_HDR);
	return 0;
}

struct ring *ring_create(size_t data_size, unsigned flags, unsigned block_timeout_ms, struct err *e)
{
	if (!ring_size_valid(data_size)) {
		err_fmt(e, "ring: size %zu is not a power of two between %u and %llu bytes", data_size,
		        RING_MIN_SIZE, (unsigned long long)RING_MAX_SIZE);
		return NULL;
	}
	if (flags & ~RING_BLOCKING) {
		err_fmt(e, "ring: unknown creation flags %#x", flags & ~RING_BLOCKING);
		return NULL;
	}
	if (block_timeout_ms == 0)
		block_timeout_ms = RING_DEFAULT_BLOCK_TIMEOUT_MS;
	if (block_timeout_ms > RING_MAX_TIMEOUT_MS)
		block_timeout_ms = RING_MAX_TIMEOUT_MS;

	int fd = memfd_create("tstop-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		err_errno(e, errno, "ring: memfd_create");
		return NULL;
	}
	struct ring *r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	if (ftruncate(fd, (off_t)(RING_HEADER_SIZE + data_size)) != 0) {
		err_errno(e, errno, "ring: cannot size the ring memfd to %zu bytes",
		          RING_HEADER_SIZE + data_size);
		goto err;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
		err_errno(e, errno, "ring: cannot seal the ring memfd");
		goto err;
	}
	if (ring_map(r, fd, data_size, e) != 0)
		goto err;

	struct ring_shared *h = r->hdr;
	h->magic = RING_MAGIC;
	h->version = RING_VERSION;
	h->header_size = RING_HEADER_SIZE;
	h->data_size = data_size;
	h->block_timeout_ms = block_timeout_ms;
	atomic_store_explicit(&h->reserve_pos, 0, memory_order_relaxed);
	atomic_store_explicit(&h->consumer_pos, 0, memory_order_relaxed);
	atomic_store_explicit(&h->dropped_records, 0, memory_order_relaxed);
	atomic_store_explicit(&h->dropped_bytes, 0, memory_order_relaxed);
	atomic_store_explicit(&h->giveup_pos, UINT64_MAX, memory_order_relaxed);
	atomic_store_explicit(&h->flags, RING_CONSUMER_ATTACHED | (flags & RING_BLOCKING),
	                      memory_order_release);
	r->blocking = flags & RING_BLOCKING;
	r->block_timeout_ns = (uint64_t)block_timeout_ms * 1000000u;
	return r;
err:
	close(fd);
	free(r);
	return NULL;
}

struct ring *ring_attach(int fd, struct err *e)
{
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0) {
		err_errno(e, errno, "ring: fd %d is not a sealable memfd", fd);
		return NULL;
	}
	if (!(seals & F_SEAL_SHRINK)) {
		err_fmt(e, "ring: memfd is not sealed against shrinking");
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		err_errno(e, errno, "ring: fstat");
		return NULL;
	}
	/* Read the header once, into memory the peer cannot change. */
	struct ring_shared h;
	if (st.st_size < (off_t)sizeof(h)) {
		err_fmt(e, "ring: memfd is %lld bytes, smaller than a ring header", (long long)st.st_size);
		return NULL;
	}
	ssize_t got = pread(fd, &h, sizeof(h), 0);
	if (got != (ssize_t)sizeof(h)) {
		err_errno(e, got < 0 ? errno : EIO, "ring: cannot read the ring header");
		return NULL;
	}
	if (h.magic != RING_MAGIC) {
		err_fmt(e, "ring: bad magic %#" PRIx64 " (not a tstop ring)", h.magic);
		return NULL;
	}
	if (h.version != RING_VERSION) {
		err_fmt(e, "ring: version %" PRIu32 ", this build speaks version %u", h.version,
		        RING_VERSION);
		return NULL;
	}
	if (h.header_size != RING_HEADER_SIZE) {
		err_fmt(e, "ring: header size %" PRIu32 ", expected %u", h.header_size, RING_HEADER_SIZE);
		return NULL;
	}
	if (!ring_size_valid(h.data_size)) {
		err_fmt(e, "ring: data size %" PRIu64 " is not a power of two between %u and %llu",
		        h.data_size, RING_MIN_SIZE, (unsigned long long)RING_MAX_SIZE);
		return NULL;
	}
	if ((uint64_t)st.st_size != RING_HEADER_SIZE + h.data_size) {
		err_fmt(e, "ring: memfd is %lld bytes but its header says %" PRIu64, (long long)st.st_size,
		        RING_HEADER_SIZE + h.data_size);
		return NULL;
	}

	struct ring *r = xcalloc(1, sizeof(*r));
	r->fd = -1;
	if (ring_map(r, fd, h.data_size, e) != 0) {
		free(r);
		return NULL;
	}
	uint32_t timeout_ms = h.block_timeout_ms;
	if (timeout_ms == 0 || timeout_ms > RING_MAX_TIMEOUT_MS)
		timeout_ms = RING_MAX_TIMEOUT_MS;
	r->block_timeout_ns = (uint64_t)timeout_ms * 1000000u;
	r->blocking = atomic_load_explicit(&r->hdr->flags, memory_order_acquire) & RING_BLOCKING;
	r->cons = atomic_load_explicit(&r->hdr->consumer_pos, memory_order_acquire) & ~(uint64_t)7;
	return r;
}

void ring_close(struct ring *r)
{
	if (!r)
		return;
	munmap(r->map_base, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

int ring_fd(const struct ring *r)
{
	return r->fd;
}

const void *ring_data(const struct ring *r)
{
	return r->data;
}

size_t ring_data_size(const struct ring *r)
{
	return (size_t)r->size;
}

uint32_t ring_max_payload(const struct ring *r)
{
	return r->max_payload;
}

/* Counts one dropped record of `len` payload bytes. */
static void ring_count_drop(struct ring *r, uint32_t len)
{
	atomic_fetch_add_explicit(&r->hdr->dropped_records, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->hdr->dropped_bytes, len, memory_order_relaxed);
}

/* Blocking mode: one step of a producer's wait for space while the consumer
 * is at `cons`. Returns true to try again, false to give up and drop: not
 * blocking (or never waiting on this thread), the consumer is detached, an
 * earlier wait already timed out at this consumer position, or this one
 * just did (it then records `cons` in giveup_pos so that later producers do
 * not wait for it again). */
static bool ring_wait_for_space(struct ring *r, uint64_t cons, struct ring_wait *w)
{
	struct ring_shared *h = r->hdr;
	if (!r->blocking || ring_nowait)
		return false;
	uint32_t fl = atomic_load_explicit(&h->flags, memory_order_relaxed);
	if (!(fl & RING_CONSUMER_ATTACHED) || (fl & RING_CONSUMER_DETACHED))
		return false;
	if (atomic_load_explicit(&h->giveup_pos, memory_order_relaxed) == cons)
		return false;
	if (w->step == 0 || cons != w->seen) {
		w->seen = cons;
		w->since_ns = 0;
		w->step = 1;
		w->sleep_ns = RING_SLEEP_MIN_NS;
	}
	if (w->step < RING_SPIN_STEPS) {
		w->step++;
		ring_cpu_relax();
		return true;
	}
	uint64_t now = ring_now_ns();
	if (w->since_ns == 0) {
		w->since_ns = now;
	} else if (now - w->since_ns >= r->block_timeout_ns) {
		atomic_store_explicit(&h->giveup_pos, cons, memory_order_relaxed);
		return false;
	}
	if (w->step < RING_YIELD_STEPS) {
		w->step++;
		sched_yield();
		return true;
	}
	struct timespec ts = {0, (long)w->sleep_ns};
	nanosleep(&ts, NULL);
	if (w->sleep_ns < RING_SLEEP_MAX_NS)
		w->sleep_ns *= 2;
	return true;
}

void *ring_reserve(struct ring *r, uint32_t len)
{
	struct ring_shared *h = r->hdr;
	if (len > r->max_payload) {
		ring_count_drop(r, len);
		return NULL;
	}
	uint64_t need = ring_rec_bytes(len);
	uint64_t pos = atomic_load_explicit(&h->reserve_pos, memory_order_relaxed);
	struct ring_wait w = {0};
	uint64_t pad;
	for (;;) {
		uint64_t cons = atomic_load_explicit(&h->consumer_pos, memory_order_acquire);
		/* A position read before `cons` may be older than it: reread. */
		if (pos - cons > r->size)
			pos = atomic_load_explicit(&h->reserve_pos, memory_order_relaxed);
		if ((pos & 7) || pos - cons > r->size)
			break; /* the shared positions are corrupt: drop */
		uint64_t off = pos & r->mask;
		pad = off + need > r->size ? r->size - off : 0;
		uint64_t end = pos + pad + need;
		if (end - cons > r->size) {
			if (ring_wait_for_space(r, cons, &w)) {
				pos = atomic_load_explicit(&h->reserve_pos, memory_order_relaxed);
				continue;
			}
			break;
		}
		if (atomic_compare_exchange_weak_explicit(&h->reserve_pos, &pos, end, memory_order_relaxed,
		                                          memory_order_relaxed)) {
			if (pad) {
				atomic_store_explicit(ring_slot(r, pos),
				                      ring_word(pos, RING_REC_COMMIT | RING_REC_PAD,
				                                (uint32_t)(pad - RING_REC_HDR)),
				                      memory_order_release);
				pos += pad;
			}
			_Atomic uint64_t *slot = ring_slot(r, pos);
			atomic_store_explicit(slot, ring_word(pos, 0, len), memory_order_release);
			return (uint8_t *)slot + RING_REC_HDR;
		}
	}
	ring_count_drop(r, len);
	return NULL;
}

bool ring_thread_nowait(bool on)
{
	bool old = ring_nowait;
	ring_nowait = on;
	return old;
}

void ring_commit(struct ring *r, void *ptr)
{
	(void)r;
	_Atomic uint64_t *slot = (_Atomic uint64_t *)(void *)((uint8_t *)ptr - RING_REC_HDR);
	uint64_t word = atomic_load_explicit(slot, memory_order_relaxed);
	atomic_store_explicit(slot, word | RING_REC_COMMIT, memory_order_release);
}

/* Whether producer position `res` is possible for a consumer at `pos`
 * (invariant 1). */
static bool ring_res_sane(const struct ring *r, uint64_t pos, uint64_t res)
{
	return (res & 7) == 0 && res - pos <= r->size;
}

/* Classifies header word `word`, read at consumer position `pos`. `*res`
 * caches the producer position (start it at `pos`); it is reloaded when the
 * answer depends on it. For READY and a plausible PENDING, `*need` is the
 * record's size in the ring; for CORRUPT, `*why` says what is wrong. */
static enum ring_head ring_classify(const struct ring *r, uint64_t pos, uint64_t word, uint64_t *res,
                                    uint64_t *need, const char **why)
{
	const struct ring_shared *h = r->hdr;
	uint64_t off = pos & r->mask;
	uint32_t bits = (uint32_t)word;
	uint32_t len = bits & RING_REC_LEN;
	uint64_t n = ring_rec_bytes(len);

	if (word == 0) {
		/* Invariant 2: nothing written here yet. */
		*res = atomic_load_explicit(&h->reserve_pos, memory_order_acquire);
		if (!ring_res_sane(r, pos, *res)) {
			*why = "impossible producer position";
			return RING_HEAD_CORRUPT;
		}
		return *res == pos ? RING_HEAD_EMPTY : RING_HEAD_PENDING;
	}
	if ((uint32_t)(word >> 32) != (uint32_t)(pos >> 3)) {
		*why = "stamp does not match the record's position"; /* invariant 3 */
		return RING_HEAD_CORRUPT;
	}
	if (bits & RING_REC_PAD) {
		if (off + n != r->size) {
			*why = "padding does not end at the end of the data area"; /* invariant 4 */
			return RING_HEAD_CORRUPT;
		}
	} else if (len > r->max_payload) {
		*why = "length exceeds the largest record";
		return RING_HEAD_CORRUPT;
	} else if (off + n > r->size) {
		*why = "record runs past the end of the data area"; /* invariant 4 */
		return RING_HEAD_CORRUPT;
	}
	if (pos + n > *res) {
		/* The producer stored this word (release) after reserving it, so a
		 * position read now covers it (invariants 1 and 3). */
		*res = atomic_load_explicit(&h->reserve_pos, memory_order_acquire);
		if (!ring_res_sane(r, pos, *res)) {
			*why = "impossible producer position";
			return RING_HEAD_CORRUPT;
		}
		if (pos + n > *res) {
			*why = "record runs past the producer position";
			return RING_HEAD_CORRUPT;
		}
	}
	*need = n;
	return (bits & RING_REC_COMMIT) ? RING_HEAD_READY : RING_HEAD_PENDING;
}

/* Consumer: the consumer position producers see (invariant 5): the oldest
 * held torn record, or this handle's position. */
static uint64_t ring_free_pos(const struct ring *r)
{
	return r->nheld ? r->held[0].pos : r->cons;
}

/* Consumer: zeroes positions [from, to) (invariant 2). `to - from` <= data
 * size. */
static void ring_zero(struct ring *r, uint64_t from, uint64_t to)
{
	for (uint64_t p = from; p < to;) {
		uint64_t off = p & r->mask;
		uint64_t n = to - p < r->size - off ? to - p : r->size - off;
		memset(r->data + off, 0, (size_t)n);
		p += n;
	}
}

/* Consumer: zeroes positions [from, to), makes `to` this handle's position,
 * and publishes the consumer position (ring_free_pos) with release order. */
static void ring_publish(struct ring *r, uint64_t from, uint64_t to)
{
	if (to == from)
		return;
	ring_zero(r, from, to);
	r->cons = to;
	atomic_store_explicit(&r->hdr->consumer_pos, ring_free_pos(r), memory_order_release);
}

/* Consumer: releases what held torn records (invariant 5) have become
 * free: a record at the start of a held range that its writer committed
 * after the skip is discarded (counted in torn_late: it was already counted
 * lost) and its bytes zeroed; a range that is all committed is dropped from
 * the list, and the consumer position producers see moves up when the
 * oldest one goes. Anything else stays held. O(held records). */
static void ring_release_held(struct ring *r)
{
	if (!r->nheld)
		return;
	uint64_t before = ring_free_pos(r);
	unsigned k = 0;
	for (unsigned i = 0; i < r->nheld; i++) {
		struct ring_held hd = r->held[i];
		while (hd.pos < hd.end) {
			uint64_t word = atomic_load_explicit(ring_slot(r, hd.pos), memory_order_acquire);
			uint64_t n = ring_rec_bytes((uint32_t)word & RING_REC_LEN);
			if (!(word & RING_REC_COMMIT) || (uint32_t)(word >> 32) != (uint32_t)(hd.pos >> 3) ||
			    n > hd.end - hd.pos)
				break;
			ring_zero(r, hd.pos, hd.pos + n);
			if (!(word & RING_REC_PAD))
				r->torn_late++;
			hd.pos += n;
		}
		if (hd.pos < hd.end)
			r->held[k++] = hd;
	}
	r->nheld = k;
	if (ring_free_pos(r) != before)
		atomic_store_explicit(&r->hdr->consumer_pos, ring_free_pos(r), memory_order_release);
}

/* Consumer: corruption met at position `pos` (header word `word`, reason
 * `why`). Skips to the producer position when it is possible, zeroing what
 * lies between; when nothing is reserved the bad word itself is cleared
 * (unless a producer has just written it); when the producer position is
 * impossible the ring is marked broken and the consumer detached. Returns
 * -1 with `e` set. */
static long ring_resync(struct ring *r, uint64_t pos, uint64_t word, const char *why, struct err *e)
{
	struct ring_shared *h = r->hdr;
	r->corruptions++;
	uint64_t res = atomic_load_explicit(&h->reserve_pos, memory_order_acquire);
	if (!ring_res_sane(r, pos, res)) {
		r->broken = true;
		atomic_fetch_or_explicit(&h->flags, RING_CONSUMER_DETACHED, memory_order_release);
		return err_fmt(e,
		               "ring: corrupt record at position %" PRIu64 " (%s); producer position %" PRIu64
		               " is impossible, reading stopped",
		               pos, why, res);
	}
	uint64_t skipped = res - pos;
	if (skipped == 0) {
		uint64_t expect = word;
		atomic_compare_exchange_strong_explicit(ring_slot(r, pos), &expect, 0, memory_order_relaxed,
		                                        memory_order_relaxed);
	} else {
		ring_publish(r, pos, res);
		r->skipped_bytes += skipped;
	}
	return err_fmt(e,
	               "ring: corrupt record at position %" PRIu64 " (%s, header %#" PRIx64
	               "); skipped %" PRIu64 " bytes",
	               pos, why, word, skipped);
}

long ring_read(struct ring *r, size_t max_records, ring_record_fn fn, void *arg, struct err *e)
{
	struct ring_shared *h = r->hdr;
	if (r->broken)
		return err_fmt(e, "ring: reading stopped after corruption");
	/* The shared copy of the position is only for producers; if something
	 * overwrote it, put it back so that they see the real space. */
	if (atomic_load_explicit(&h->consumer_pos, memory_order_relaxed) != ring_free_pos(r)) {
		r->corruptions++;
		atomic_store_explicit(&h->consumer_pos, ring_free_pos(r), memory_order_release);
	}
	ring_release_held(r);

	uint64_t pos = r->cons, published = pos, res = pos;
	uint64_t limit = pos + r->size, batch = r->size / 4;
	size_t count = 0;
	while (count < max_records && pos < limit) {
		uint64_t word = atomic_load_explicit(ring_slot(r, pos), memory_order_acquire);
		uint64_t need = 0;
		const char *why = NULL;
		enum ring_head st = ring_classify(r, pos, word, &res, &need, &why);
		if (st == RING_HEAD_CORRUPT) {
			ring_publish(r, published, pos);
			return ring_resync(r, pos, word, why, e);
		}
		if (st != RING_HEAD_READY)
			break;
		int stop = 0;
		if (!(word & RING_REC_PAD)) {
			uint32_t len = (uint32_t)word & RING_REC_LEN;
			count++;
			r->read_records++;
			r->read_bytes += len;
			stop = fn(arg, r->data + (pos & r->mask) + RING_REC_HDR, len);
		}
		pos += need;
		if (pos - published >= batch) {
			ring_publish(r, published, pos);
			published = pos;
		}
		if (stop)
			break;
	}
	ring_publish(r, published, pos);
	return (long)count;
}

/* Consumer: the position of the first nonzero word at or after position
 * `q` and before `res`, looking at no more than *budget words (decremented);
 * UINT64_MAX when there is none within those bounds. */
static uint64_t ring_next_written(const struct ring *r, uint64_t q, uint64_t res, uint64_t *budget)
{
	for (; q < res && *budget; q += RING_REC_HDR, (*budget)--) {
		if (atomic_load_explicit(ring_slot(r, q), memory_order_acquire) != 0)
			return q;
	}
	return UINT64_MAX;
}

/* Consumer: the torn record at the consumer position, header word `word`
 * (PENDING, `need` its size when the word is written), ends at *end and a
 * committed record lies behind it, before producer position `res`: true.
 * False when that cannot be told for sure within RING_TORN_SCAN_MAX words.
 * Every header word it goes by must be well-formed for its own position
 * (ring_classify), so a payload word of a record whose header is not
 * visible yet is never taken for a boundary. */
static bool ring_torn_extent(const struct ring *r, uint64_t pos, uint64_t word, uint64_t need, uint64_t res,
                             uint64_t *end)
{
	uint64_t budget = RING_TORN_SCAN_MAX;
	uint64_t q = word ? pos + need : ring_next_written(r, pos + RING_REC_HDR, res, &budget);
	if (q == UINT64_MAX)
		return false;
	*end = q;
	for (;;) {
		q = ring_next_written(r, q, res, &budget);
		if (q == UINT64_MAX)
			return false;
		uint64_t w = atomic_load_explicit(ring_slot(r, q), memory_order_acquire);
		uint64_t qres = res, n = 0;
		const char *why = NULL;
		enum ring_head st = ring_classify(r, q, w, &qres, &n, &why);
		if (st == RING_HEAD_READY)
			return true;
		if (st != RING_HEAD_PENDING || n == 0)
			return false;
		q += n; /* another pending record: look behind it */
	}
}

int ring_skip_torn(struct ring *r, struct err *e)
{
	if (r->broken)
		return err_fmt(e, "ring: reading stopped after corruption");
	ring_release_held(r);
	uint64_t pos = r->cons, res = pos, need = 0;
	uint64_t word = atomic_load_explicit(ring_slot(r, pos), memory_order_acquire);
	const char *why = NULL;
	enum ring_head st = ring_classify(r, pos, word, &res, &need, &why);
	if (st == RING_HEAD_CORRUPT)
		return (int)ring_resync(r, pos, word, why, e);
	if (st != RING_HEAD_PENDING || r->nheld == RING_HELD_MAX)
		return 0;
	/* A PENDING zero word left `res` reloaded; a written one may not have. */
	res = atomic_load_explicit(&r->hdr->reserve_pos, memory_order_acquire);
	if (!ring_res_sane(r, pos, res))
		return (int)ring_resync(r, pos, word, "impossible producer position", e);
	uint64_t end;
	if (!ring_torn_extent(r, pos, word, need, res, &end))
		return 0;
	/* Read on past it but keep its bytes reserved (invariant 5): its writer
	 * may be alive and still write them. */
	r->held[r->nheld].pos = pos;
	r->held[r->nheld].end = end;
	r->nheld++;
	r->cons = end;
	r->torn_records++;
	r->torn_bytes += end - pos;
	return 1;
}

enum ring_head ring_head_state(const struct ring *r)
{
	if (r->broken)
		return RING_HEAD_BROKEN;
	uint64_t pos = r->cons, res = pos, need = 0;
	uint64_t word = atomic_load_explicit(ring_slot(r, pos), memory_order_acquire);
	const char *why = NULL;
	return ring_classify(r, pos, word, &res, &need, &why);
}

void ring_consumer_detach(struct ring *r)
{
	atomic_fetch_or_explicit(&r->hdr->flags, RING_CONSUMER_DETACHED, memory_order_release);
}

bool ring_consumer_detached(const struct ring *r)
{
	return atomic_load_explicit(&r->hdr->flags, memory_order_acquire) & RING_CONSUMER_DETACHED;
}

void ring_drops(const struct ring *r, uint64_t *records, uint64_t *bytes)
{
	*records = atomic_load_explicit(&r->hdr->dropped_records, memory_order_relaxed);
	*bytes = atomic_load_explicit(&r->hdr->dropped_bytes, memory_order_relaxed);
}

void ring_get_stats(const struct ring *r, struct ring_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->reserve_pos = atomic_load_explicit(&r->hdr->reserve_pos, memory_order_relaxed);
	out->consumer_pos = r->cons;
	ring_drops(r, &out->dropped_records, &out->dropped_bytes);
	out->read_records = r->read_records;
	out->read_bytes = r->read_bytes;
	out->corruptions = r->corruptions;
	out->skipped_bytes = r->skipped_bytes;
	out->torn_records = r->torn_records;
	out->torn_bytes = r->torn_bytes;
	out->torn_late = r->torn_late;
	out->torn_held = r->nheld;
}

/* --- the capture switch and the note ------------------------------------------ */

void ring_set_control(struct ring *r, uint32_t control, int64_t time)
{
	atomic_store_explicit(&r->hdr->control_time, time, memory_order_relaxed);
	atomic_store_explicit(&r->hdr->control, control, memory_order_release);
}

uint32_t ring_control(const struct ring *r, int64_t *time)
{
	uint32_t c = atomic_load_explicit(&r->hdr->control, memory_order_acquire);
	if (time)
		*time = atomic_load_explicit(&r->hdr->control_time, memory_order_relaxed);
	return c;
}

const _Atomic uint32_t *ring_control_word(const struct ring *r)
{
	return &r->hdr->control;
}

int ring_set_note(struct ring *r, const void *bytes, size_t len, struct err *e)
{
	if (len > RING_NOTE_MAX)
		return err_fmt(e, "ring: a note of %zu bytes is longer than %u", len, RING_NOTE_MAX);
	if (len)
		memcpy(r->hdr->note, bytes, len);
	r->hdr->note_len = (uint32_t)len;
	return 0;
}

size_t ring_note(const struct ring *r, void *buf, size_t cap)
{
	uint32_t len = r->hdr->note_len; /* read once: the peer may change it */
	if (len > RING_NOTE_MAX || len > cap)
		return 0;
	memcpy(buf, r->hdr->note, len);
	return len;
}
