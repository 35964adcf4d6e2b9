/*
 * test_ring.c - the shared-memory transport ring: exact round trips of many
 * record sizes, wrap-around padding and exact fits, drops when full, the
 * largest record at every offset, attach validation of untrusted memfds,
 * corruption of the data area and the shared positions (no crash, no read
 * outside the data area, no endless loop, recovery), stalled producers,
 * blocking mode, and a multi-threaded stress with per-producer sequences
 * and checksummed payloads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>

#include <cmocka.h>

#include "capture/ring.h"
#include "util/xalloc.h"

static uint64_t test_rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void test_sleep_ms(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static uint64_t test_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct ring_shared *test_shared(struct ring *r)
{
	return (struct ring_shared *)((uint8_t *)(uintptr_t)ring_data(r) - RING_HEADER_SIZE);
}

/* The byte at index `i` of the payload of record `id`. */
static uint8_t test_byte(uint32_t id, uint32_t i)
{
	return (uint8_t)(id * 131u + i * 7u + (i >> 8));
}

/* Reserves, fills with test_byte(id, .) and commits a `len`-byte record. */
static void test_put(struct ring *r, uint32_t id, uint32_t len)
{
	uint8_t *p = ring_reserve(r, len);
	assert_non_null(p);
	for (uint32_t i = 0; i < len; i++)
		p[i] = test_byte(id, i);
	ring_commit(r, p);
}

/* Collects records read back: their lengths and whether each matched. */
struct test_collect {
	const void *data; /* bounds of the reader's data area */
	size_t size;
	uint32_t next_id; /* id of the record expected next */
	uint32_t lens[4096];
	size_t n;
	size_t bad;       /* records whose bytes differ from test_byte */
	size_t out;       /* records outside the data area */
	size_t stop_at;   /* return nonzero after this many records (0: never) */
	uint64_t touched; /* sum of every byte handed out */
};

static int test_collect_fn(void *arg, const void *data, uint32_t len)
{
	struct test_collect *c = arg;
	const uint8_t *p = data, *lo = c->data, *hi = lo + c->size;
	if (p < lo || p > hi || len > (size_t)(hi - p))
		c->out++;
	for (uint32_t i = 0; i < len; i++) {
		c->touched += p[i];
		if (p[i] != test_byte(c->next_id, i)) {
			c->bad++;
			break;
		}
	}
	if (c->n < 4096)
		c->lens[c->n] = len;
	c->n++;
	c->next_id++;
	return c->stop_at && c->n >= c->stop_at;
}

static void test_collect_init(struct test_collect *c, struct ring *r)
{
	memset(c, 0, sizeof(*c));
	c->data = ring_data(r);
	c->size = ring_data_size(r);
}

static void test_create_rejects(void **state)
{
	(void)state;
	struct err e = {{0}};
	assert_null(ring_create(3000, 0, 0, &e));
	assert_non_null(strstr(e.msg, "power of two"));
	assert_null(ring_create(2048, 0, 0, &e));
	assert_null(ring_create((size_t)RING_MAX_SIZE * 2, 0, 0, &e));
	assert_null(ring_create(4096, 0x80, 0, &e));
	assert_non_null(strstr(e.msg, "flags"));

	struct ring *r = ring_create(4096, 0, 0, &e);
	assert_non_null(r);
	assert_true(ring_fd(r) >= 0);
	assert_int_equal(ring_data_size(r), 4096);
	assert_int_equal(ring_max_payload(r), 2040);
	assert_int_equal(ring_head_state(r), RING_HEAD_EMPTY);
	assert_false(ring_consumer_detached(r));
	struct ring_shared *h = test_shared(r);
	assert_true(h->magic == RING_MAGIC);
	assert_int_equal(atomic_load(&h->flags), RING_CONSUMER_ATTACHED);
	ring_close(r);
	ring_close(NULL);
}

/* Every payload length from 0 to 700, then large ones, through a ring that
 * wraps many times; records come back exactly and in order, padding is
 * never handed out. */
static void test_roundtrip_sizes(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(16384, 0, 0, &e);
	assert_non_null(r);
	struct test_collect *c = xcalloc(1, sizeof(*c));
	test_collect_init(c, r);

	uint32_t id = 0;
	uint64_t total = 0;
	for (int round = 0; round < 3; round++) {
		for (uint32_t len = 0; len <= 700; len++) {
			test_put(r, id++, len);
			total += len;
			if (id % 7 == 0)
				assert_true(ring_read(r, SIZE_MAX, test_collect_fn, c, &e) >= 0);
		}
		for (uint32_t len = 7000; len <= ring_max_payload(r); len += 331) {
			assert_true(ring_read(r, SIZE_MAX, test_collect_fn, c, &e) >= 0);
			test_put(r, id++, len);
			total += len;
		}
	}
	assert_true(ring_read(r, SIZE_MAX, test_collect_fn, c, &e) >= 0);
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, c, &e), 0);
	assert_int_equal(c->n, id);
	assert_int_equal(c->bad, 0);
	assert_int_equal(c->out, 0);
	for (uint32_t i = 0; i < 701; i++)
		assert_int_equal(c->lens[i], i);

	struct ring_stats st;
	ring_get_stats(r, &st);
	assert_int_equal(st.read_records, id);
	assert_int_equal(st.read_bytes, total);
	assert_true(st.reserve_pos == st.consumer_pos);
	assert_true(st.consumer_pos > 4 * 16384); /* wrapped several times */
	assert_int_equal(st.dropped_records, 0);
	assert_int_equal(st.corruptions, 0);
	assert_int_equal(ring_head_state(r), RING_HEAD_EMPTY);
	free(c);
	ring_close(r);
}

/* Moves an empty ring's positions to `pos` by writing and reading
 * zero-length records. */
static void test_advance_to(struct ring *r, uint64_t pos)
{
	struct err e = {{0}};
	struct test_collect c;
	test_collect_init(&c, r);
	struct ring_stats st;
	ring_get_stats(r, &st);
	while (st.reserve_pos < pos) {
		test_put(r, c.next_id, 0);
		assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), 1);
		ring_get_stats(r, &st);
	}
	assert_true(st.reserve_pos == pos);
}

static void test_wrap_padding(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(4096, 0, 0, &e);
	assert_non_null(r);
	const uint8_t *data = ring_data(r);

	/* 40 bytes left at the end: a 64-byte payload (72 in the ring) gets a
	 * 40-byte padding record and lands at offset 0. */
	test_advance_to(r, 4096 - 40);
	uint8_t *p = ring_reserve(r, 64);
	assert_ptr_equal(p, data + RING_REC_HDR);
	for (uint32_t i = 0; i < 64; i++)
		p[i] = test_byte(0, i);
	assert_int_equal(ring_head_state(r), RING_HEAD_READY); /* the padding is committed */
	struct ring_stats st;
	ring_get_stats(r, &st);
	assert_true(st.reserve_pos == 4096 + 72);

	struct test_collect c;
	test_collect_init(&c, r);
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), 0); /* padding only */
	assert_int_equal(c.n, 0);
	assert_int_equal(ring_head_state(r), RING_HEAD_PENDING);
	ring_commit(r, p);
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), 1);
	assert_int_equal(c.lens[0], 64);
	assert_int_equal(c.bad, 0);
	ring_get_stats(r, &st);
	assert_true(st.consumer_pos == 4096 + 72);
	assert_int_equal(st.read_records, (4096 - 40) / 8 + 1); /* the zero-length ones, then this one */
	/* The consumed bytes, padding included, were zeroed. */
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(data[i], 0);
	ring_close(r);
}

static void test_exact_fit(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(4096, 0, 0, &e);
	assert_non_null(r);
	const uint8_t *data = ring_data(r);

	test_advance_to(r, 4096 - 72);
	uint8_t *p = ring_reserve(r, 64);
	assert_ptr_equal(p, data + 4096 - 64); /* no padding */
	ring_commit(r, p);
	struct ring_stats st;
	ring_get_stats(r, &st);
	assert_true(st.reserve_pos == 4096);
	/* 57..64-byte payloads all take 72 bytes; the next record starts at 0. */
	p = ring_reserve(r, 57);
	assert_ptr_equal(p, data + RING_REC_HDR);
	ring_commit(r, p);
	struct test_collect c;
	test_collect_init(&c, r);
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), 2);
	assert_int_equal(c.lens[0], 64);
	assert_int_equal(c.lens[1], 57);
	ring_close(r);
}

/* A full ring drops and counts records and payload bytes, and takes
 * records again once read. */
static void test_full_drops(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(4096, 0, 0, &e);
	assert_non_null(r);
	for (uint32_t i = 0; i < 64; i++)
		test_put(r, i, 56); /* 64 bytes each: exactly full */
	for (int i = 0; i < 10; i++)
		assert_null(ring_reserve(r, 56));
	assert_null(ring_reserve(r, 0));
	uint64_t recs = 0, bytes = 0;
	ring_drops(r, &recs, &bytes);
	assert_int_equal(recs, 11);
	assert_int_equal(bytes, 560);

	/* Reading half frees room for exactly that much. */
	struct test_collect c;
	test_collect_init(&c, r);
	c.stop_at = 32;
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), 32);
	for (uint32_t i = 64; i < 96; i++)
		test_put(r, i, 56);
	assert_null(ring_reserve(r, 56));
	c.stop_at = 0;
	assert_int_equal(ring_read(r, 10, test_collect_fn, &c, &e), 10);
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), 54);
	assert_int_equal(c.n, 96);
	assert_int_equal(c.bad, 0);
	ring_drops(r, &recs, &bytes);
	assert_int_equal(recs, 12);
	assert_int_equal(bytes, 616);
	ring_close(r);
}

/* Too large is refused and counted; the largest record fits an empty ring
 * at every offset, padding included. */
static void test_too_large(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(4096, 0, 0, &e);
	assert_non_null(r);
	uint32_t max = ring_max_payload(r);
	assert_null(ring_reserve(r, max + 1));
	assert_null(ring_reserve(r, UINT32_MAX));
	uint64_t recs = 0, bytes = 0;
	ring_drops(r, &recs, &bytes);
	assert_int_equal(recs, 2);
	assert_true(bytes == (uint64_t)max + 1 + UINT32_MAX);

	struct test_collect c;
	test_collect_init(&c, r);
	for (uint64_t off = 0; off < 4096; off += 8) {
		struct ring_stats st;
		ring_get_stats(r, &st);
		test_advance_to(r, st.reserve_pos + ((off - st.reserve_pos) & 4095));
		test_put(r, 0, max);
		c.next_id = 0;
		c.n = 0;
		assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), 1);
		assert_int_equal(c.lens[0], max);
		assert_int_equal(c.bad, 0);
		ring_get_stats(r, &st);
		assert_true(st.reserve_pos == st.consumer_pos);
	}
	ring_drops(r, &recs, &bytes);
	assert_int_equal(recs, 2);
	ring_close(r);
}

/* A second mapping through ring_attach sees the same ring: what one side
 * produces the other reads, drops are shared. */
static void test_attach_shares(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *a = ring_create(8192, 0, 0, &e);
	assert_non_null(a);
	int fd = dup(ring_fd(a));
	struct ring *b = ring_attach(fd, &e);
	close(fd);
	assert_non_null(b);
	assert_ptr_not_equal(ring_data(a), ring_data(b));
	assert_int_equal(ring_data_size(b), 8192);
	assert_int_equal(ring_max_payload(b), ring_max_payload(a));
	assert_int_equal(ring_fd(b), -1);

	for (uint32_t i = 0; i < 30; i++)
		test_put(b, i, (i * 37) % 200);
	struct test_collect c;
	test_collect_init(&c, a);
	long got = 0;
	for (uint32_t i = 30; i < 400; i++) {
		long n = ring_read(a, SIZE_MAX, test_collect_fn, &c, &e);
		assert_true(n >= 0);
		got += n;
		test_put(b, i, (i * 37) % 200);
	}
	got += ring_read(a, SIZE_MAX, test_collect_fn, &c, &e);
	uint64_t drops_a = 0, drops_b = 0, bytes = 0;
	ring_drops(a, &drops_a, &bytes);
	ring_drops(b, &drops_b, &bytes);
	assert_true(drops_a == 0 && drops_b == 0);
	assert_int_equal(got, 400);
	assert_int_equal(c.bad, 0);

	ring_consumer_detach(a);
	assert_true(ring_consumer_detached(b));
	ring_close(b);
	test_put(a, c.next_id, 5);
	assert_int_equal(ring_read(a, SIZE_MAX, test_collect_fn, &c, &e), 1);
	ring_close(a);
}

/* A sealed memfd holding a copy of `r`'s header, `file_size` bytes long. */
static int test_fake_fd(struct ring *r, off_t file_size, bool seal)
{
	int fd = memfd_create("test-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, test_shared(r), sizeof(struct ring_shared), 0),
	                 (ssize_t)sizeof(struct ring_shared));
	assert_int_equal(ftruncate(fd, file_size), 0);
	if (seal)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	return fd;
}

static void test_attach_rejects(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(8192, 0, 0, &e);
	assert_non_null(r);
	struct ring_shared *h = test_shared(r);
	struct ring *b;

	h->magic ^= 1;
	assert_null(ring_attach(ring_fd(r), &e));
	assert_non_null(strstr(e.msg, "magic"));
	h->magic ^= 1;

	h->version = RING_VERSION + 1;
	assert_null(ring_attach(ring_fd(r), &e));
	assert_non_null(strstr(e.msg, "version"));
	h->version = RING_VERSION;

	h->header_size = 8192;
	assert_null(ring_attach(ring_fd(r), &e));
	assert_non_null(strstr(e.msg, "header size"));
	h->header_size = RING_HEADER_SIZE;

	h->data_size = 16384; /* the file holds 8192 */
	assert_null(ring_attach(ring_fd(r), &e));
	assert_non_null(strstr(e.msg, "header says"));
	h->data_size = 12288;
	assert_null(ring_attach(ring_fd(r), &e));
	assert_non_null(strstr(e.msg, "power of two"));
	h->data_size = 1ull << 40;
	assert_null(ring_attach(ring_fd(r), &e));
	h->data_size = 8192;

	/* Truncated: the header says 8192 bytes of data, the file holds fewer. */
	int fd = test_fake_fd(r, RING_HEADER_SIZE + 4096, true);
	assert_null(ring_attach(fd, &e));
	assert_non_null(strstr(e.msg, "header says"));
	close(fd);
	fd = test_fake_fd(r, 100, true);
	assert_null(ring_attach(fd, &e));
	assert_non_null(strstr(e.msg, "smaller than a ring header"));
	close(fd);
	/* Right size but not sealed: it could be truncated under us later. */
	fd = test_fake_fd(r, RING_HEADER_SIZE + 8192, false);
	assert_null(ring_attach(fd, &e));
	assert_non_null(strstr(e.msg, "sealed"));
	close(fd);
	/* The same, sealed, is accepted. */
	fd = test_fake_fd(r, RING_HEADER_SIZE + 8192, true);
	b = ring_attach(fd, &e);
	assert_non_null(b);
	ring_close(b);
	close(fd);
	/* Not a memfd at all. */
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	assert_null(ring_attach(pipefd[0], &e));
	close(pipefd[0]);
	close(pipefd[1]);
	assert_null(ring_attach(-1, &e));

	b = ring_attach(ring_fd(r), &e);
	assert_non_null(b);
	ring_close(b);
	ring_close(r);
}

/* Watches the shared consumer position from inside the callback. */
struct test_watch {
	struct ring *r;
	uint64_t seen[64];
	size_t n;
};

static int test_watch_fn(void *arg, const void *data, uint32_t len)
{
	struct test_watch *w = arg;
	(void)data;
	(void)len;
	if (w->n < 64)
		w->seen[w->n++] = atomic_load(&test_shared(w->r)->consumer_pos);
	return 0;
}

/* The shared consumer position advances once per quarter of the data area
 * during a long read, not per record and not only at the end. */
static void test_batched_publish(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(4096, 0, 0, &e);
	assert_non_null(r);
	for (uint32_t i = 0; i < 64; i++)
		test_put(r, i, 56);
	struct test_watch w = {.r = r};
	assert_int_equal(ring_read(r, SIZE_MAX, test_watch_fn, &w, &e), 64);
	assert_int_equal(w.n, 64);
	size_t changes = 0;
	for (size_t i = 0; i < 64; i++) {
		/* record i sees the records before it published in whole batches */
		assert_true(w.seen[i] == i / 16 * 1024);
		changes += i > 0 && w.seen[i] != w.seen[i - 1];
	}
	assert_int_equal(changes, 3);
	assert_true(atomic_load(&test_shared(r)->consumer_pos) == 4096);
	ring_close(r);
}

/* A producer as fast as the reader: every record read makes room for a new
 * one. One ring_read still returns after one data area's worth. */
static int test_refill_fn(void *arg, const void *data, uint32_t len)
{
	struct ring *r = arg;
	(void)data;
	void *p = ring_reserve(r, len);
	if (p)
		ring_commit(r, p);
	return 0;
}

static void test_read_bounded(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(4096, 0, 0, &e);
	assert_non_null(r);
	for (uint32_t i = 0; i < 32; i++)
		test_put(r, i, 56);
	long n = ring_read(r, SIZE_MAX, test_refill_fn, r, &e);
	assert_int_equal(n, 64); /* 4096 bytes of 64-byte records */
	assert_int_equal(ring_head_state(r), RING_HEAD_READY);
	ring_close(r);
}

/* A producer that reserved but never committed stalls the consumer at its
 * record; later committed records wait behind it. */
static void test_stalled_producer(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(4096, 0, 0, &e);
	assert_non_null(r);
	test_put(r, 0, 10);
	uint8_t *stuck = ring_reserve(r, 20);
	assert_non_null(stuck);
	for (uint32_t i = 0; i < 20; i++)
		stuck[i] = test_byte(1, i);
	test_put(r, 2, 30);

	struct test_collect c;
	test_collect_init(&c, r);
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), 0);
		assert_int_equal(ring_head_state(r), RING_HEAD_PENDING);
	}
	ring_commit(r, stuck);
	assert_int_equal(ring_head_state(r), RING_HEAD_READY);
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), 2);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.bad, 0);
	assert_int_equal(ring_head_state(r), RING_HEAD_EMPTY);
	ring_close(r);
}

/* Specific corruptions: each is reported, skipped, and the ring goes on. */
static void test_corrupt_cases(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(4096, 0, 0, &e);
	assert_non_null(r);
	uint8_t *data = (uint8_t *)(uintptr_t)ring_data(r);
	struct ring_shared *h = test_shared(r);
	struct test_collect c;
	test_collect_init(&c, r);
	uint64_t *word = (uint64_t *)(void *)data;

	/* A length larger than any record, with a valid stamp and commit. */
	test_put(r, 0, 16);
	test_put(r, 1, 16);
	*word = (uint64_t)RING_REC_COMMIT | RING_REC_LEN;
	e.msg[0] = 0;
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), -1);
	assert_non_null(strstr(e.msg, "length"));
	assert_int_equal(c.n, 0);
	struct ring_stats st;
	ring_get_stats(r, &st);
	assert_int_equal(st.corruptions, 1);
	assert_int_equal(st.skipped_bytes, 48);
	assert_int_equal(ring_head_state(r), RING_HEAD_EMPTY);

	/* The ring goes on. */
	c.next_id = 5;
	test_put(r, 5, 100);
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), 1);
	assert_int_equal(c.bad, 0);

	/* A record that runs past the end of the data area. */
	test_advance_to(r, 4096 + 4000);
	test_put(r, 0, 8);
	word = (uint64_t *)(void *)(data + 4000);
	*word = ((uint64_t)((4096 + 4000) >> 3) << 32) | RING_REC_COMMIT | 200;
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), -1);
	assert_non_null(strstr(e.msg, "end of the data area"));

	/* A wrong stamp. */
	test_put(r, 0, 8);
	ring_get_stats(r, &st);
	word = (uint64_t *)(void *)(data + (st.consumer_pos & 4095));
	*word ^= 1ull << 40;
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), -1);
	assert_non_null(strstr(e.msg, "stamp"));

	/* A committed-looking word where nothing was reserved is cleared. */
	ring_get_stats(r, &st);
	word = (uint64_t *)(void *)(data + (st.consumer_pos & 4095));
	*word = ((uint64_t)(uint32_t)(st.consumer_pos >> 3) << 32) | RING_REC_COMMIT | 8;
	assert_int_equal(ring_head_state(r), RING_HEAD_CORRUPT);
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), -1);
	assert_non_null(strstr(e.msg, "producer position"));
	assert_true(*word == 0);
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), 0);

	/* The target overwrote the shared consumer position: put back. */
	ring_get_stats(r, &st);
	uint64_t before = st.corruptions;
	atomic_store(&h->consumer_pos, st.consumer_pos + 4096 * 3);
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), 0);
	assert_true(atomic_load(&h->consumer_pos) == st.consumer_pos);
	ring_get_stats(r, &st);
	assert_int_equal(st.corruptions, before + 1);

	/* An impossible producer position stops the reader for good. */
	atomic_store(&h->reserve_pos, st.consumer_pos + 4096 + 8);
	assert_int_equal(ring_head_state(r), RING_HEAD_CORRUPT);
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), -1);
	assert_non_null(strstr(e.msg, "reading stopped"));
	assert_int_equal(ring_head_state(r), RING_HEAD_BROKEN);
	assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), -1);
	assert_true(ring_consumer_detached(r));
	/* Producers facing impossible positions drop instead of writing. */
	assert_null(ring_reserve(r, 8));
	ring_close(r);
}

/* Checks that a producer pointer lies inside the data area. */
static void test_check_reserved(struct ring *r, const uint8_t *p, uint32_t len)
{
	const uint8_t *lo = ring_data(r), *hi = lo + ring_data_size(r);
	assert_true(p >= lo + RING_REC_HDR && p + len <= hi);
	assert_true(((uintptr_t)p & 7) == 0);
}

/* Random scribbles over the data area and the shared positions, between
 * and during normal traffic. The consumer never hands out bytes outside
 * the data area (the callback checks, and touches every byte: the mapping
 * ends in a guard page), every call returns, producers never get a pointer
 * outside the data area, and once the scribbling stops an undamaged ring
 * carries records exactly again. */
static void test_corrupt_random(void **state)
{
	(void)state;
	struct err e = {{0}};
	size_t recovered = 0, corrupted = 0, broken = 0;
	const unsigned seeds = 400;
	for (unsigned seed = 1; seed <= seeds; seed++) {
		uint64_t rng = 0x9E3779B97F4A7C15ull * seed;
		size_t size = (seed % 3) ? 4096 : 8192;
		struct ring *r = ring_create(size, 0, 0, &e);
		assert_non_null(r);
		uint8_t *data = (uint8_t *)(uintptr_t)ring_data(r);
		struct ring_shared *h = test_shared(r);
		struct test_collect c;
		test_collect_init(&c, r);

		/* Normal traffic first, some of it left unread. */
		unsigned n = (unsigned)(test_rng_next(&rng) % 120);
		for (unsigned i = 0; i < n; i++) {
			uint32_t len = (uint32_t)(test_rng_next(&rng) % 300);
			uint8_t *p = ring_reserve(r, len);
			if (p) {
				test_check_reserved(r, p, len);
				memset(p, 0x5a, len);
				ring_commit(r, p);
			}
			if (test_rng_next(&rng) % 4 == 0)
				ring_read(r, (size_t)(test_rng_next(&rng) % 8), test_collect_fn, &c, &e);
		}

		/* Scribble. */
		unsigned mode = seed % 5;
		if (mode == 0 || mode == 4) { /* random bytes over random spans */
			int spans = 1 + (int)(test_rng_next(&rng) % 6);
			for (int s = 0; s < spans; s++) {
				size_t at = (size_t)(test_rng_next(&rng) % size);
				size_t len = (size_t)(test_rng_next(&rng) % 512);
				if (len > size - at)
					len = size - at;
				for (size_t i = 0; i < len; i++)
					data[at + i] = (uint8_t)test_rng_next(&rng);
			}
		}
		if (mode == 1 || mode == 4) { /* plausible-looking headers everywhere */
			struct ring_stats st;
			ring_get_stats(r, &st);
			for (uint64_t pos = st.consumer_pos; pos < st.consumer_pos + size; pos += 8) {
				if (test_rng_next(&rng) % 3)
					continue;
				uint64_t x = test_rng_next(&rng);
				uint32_t bits = (uint32_t)x & (RING_REC_COMMIT | RING_REC_PAD);
				uint32_t len =
				    (x >> 8) % 4 ? (uint32_t)((x >> 16) % 600) : (uint32_t)(x >> 20);
				uint32_t stamp = (x >> 60) ? (uint32_t)(pos >> 3) : (uint32_t)(x >> 32);
				uint64_t *w = (uint64_t *)(void *)(data + (pos & (size - 1)));
				*w = (uint64_t)stamp << 32 | bits | (len & RING_REC_LEN);
			}
		}
		if (mode == 2 || mode == 4) { /* the shared positions */
			struct ring_stats st;
			ring_get_stats(r, &st);
			uint64_t x = test_rng_next(&rng);
			uint64_t near = st.consumer_pos + (test_rng_next(&rng) % (2 * size)) - size / 2;
			uint64_t v = (x % 4 == 0)   ? test_rng_next(&rng)
			             : (x % 4 == 1) ? near
			                            : (near & ~7ull);
			if (x & 16)
				atomic_store(&h->reserve_pos, v);
			else
				atomic_store(&h->consumer_pos, v);
		}
		if (mode == 3) { /* zeros and 0xff over everything */
			memset(data, (seed & 8) ? 0xff : 0, size);
		}

		/* Read it all back while producers keep writing: every call must
		 * return; bounded by the loop. */
		for (int call = 0; call < 40; call++) {
			long got = ring_read(r, SIZE_MAX, test_collect_fn, &c, &e);
			if (got < 0)
				corrupted++;
			if (call < 20) {
				uint32_t len = (uint32_t)(test_rng_next(&rng) % 200);
				uint8_t *p = ring_reserve(r, len);
				if (p) {
					test_check_reserved(r, p, len);
					memset(p, 0x33, len);
					ring_commit(r, p);
				}
			}
		}
		assert_int_equal(c.out, 0);

		/* Scribbling over: unless the reader stopped, or a zeroed word
		 * looks exactly like a producer that stalled, records flow. */
		enum ring_head head = ring_head_state(r);
		if (head == RING_HEAD_BROKEN) {
			broken++;
			assert_int_equal(ring_read(r, SIZE_MAX, test_collect_fn, &c, &e), -1);
		} else if (head == RING_HEAD_EMPTY) {
			struct test_collect c2;
			test_collect_init(&c2, r);
			for (uint32_t i = 0; i < 20; i++) {
				uint8_t *p = ring_reserve(r, 40 + i);
				assert_non_null(p);
				test_check_reserved(r, p, 40 + i);
				for (uint32_t k = 0; k < 40 + i; k++)
					p[k] = test_byte(i, k);
				ring_commit(r, p);
			}
			for (int call = 0; call < 4 && c2.n < 20; call++)
				ring_read(r, SIZE_MAX, test_collect_fn, &c2, &e);
			assert_int_equal(c2.n, 20);
			assert_int_equal(c2.bad, 0);
			assert_int_equal(c2.out, 0);
			recovered++;
		}
		ring_close(r);
	}
	/* The scribbles were noticed, and most rings recovered. */
	assert_true(corrupted > seeds / 2);
	assert_true(recovered > seeds / 2);
	assert_true(broken > 0);
}

/* --- blocking mode --------------------------------------------------- */

struct test_blocker {
	struct ring *r;
	uint32_t len;
	void *got;
	atomic_int done;
};

static void *test_blocker_main(void *arg)
{
	struct test_blocker *b = arg;
	b->got = ring_reserve(b->r, b->len);
	if (b->got)
		ring_commit(b->r, b->got);
	atomic_store(&b->done, 1);
	return NULL;
}

static void test_blocking(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(4096, RING_BLOCKING, 60000, &e);
	assert_non_null(r);
	for (uint32_t i = 0; i < 64; i++)
		test_put(r, i, 56);

	/* Waits while full, proceeds when the consumer reads. */
	struct test_blocker b = {.r = r, .len = 56};
	atomic_init(&b.done, 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, test_blocker_main, &b), 0);
	test_sleep_ms(30);
	assert_int_equal(atomic_load(&b.done), 0);
	struct test_collect c;
	test_collect_init(&c, r);
	assert_int_equal(ring_read(r, 1, test_collect_fn, &c, &e), 1);
	pthread_join(t, NULL);
	assert_non_null(b.got);
	uint64_t recs = 0, bytes = 0;
	ring_drops(r, &recs, &bytes);
	assert_int_equal(recs, 0);

	/* Waits while full, gives up when the consumer detaches. */
	b.got = NULL;
	atomic_store(&b.done, 0);
	assert_int_equal(pthread_create(&t, NULL, test_blocker_main, &b), 0);
	test_sleep_ms(30);
	assert_int_equal(atomic_load(&b.done), 0);
	uint64_t t0 = test_now_ms();
	ring_consumer_detach(r);
	pthread_join(t, NULL);
	assert_true(test_now_ms() - t0 < 30000); /* released by the flag, not the 60 s timeout */
	assert_null(b.got);
	ring_drops(r, &recs, &bytes);
	assert_int_equal(recs, 1);
	assert_int_equal(bytes, 56);
	/* Detached: no more waiting. */
	assert_null(ring_reserve(r, 56));
	ring_close(r);
}

/* A consumer that does not move (killed tstop) releases blocked producers
 * after the timeout; later producers drop at once until it moves again. */
static void test_blocking_timeout(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(4096, RING_BLOCKING, 50, &e);
	assert_non_null(r);
	struct ring_shared *h = test_shared(r);
	for (uint32_t i = 0; i < 64; i++)
		test_put(r, i, 56);
	uint64_t t0 = test_now_ms();
	assert_null(ring_reserve(r, 56));
	assert_true(test_now_ms() - t0 >= 50);
	assert_true(atomic_load(&h->giveup_pos) == 0);
	assert_null(ring_reserve(r, 56));
	uint64_t recs = 0, bytes = 0;
	ring_drops(r, &recs, &bytes);
	assert_int_equal(recs, 2);

	/* The consumer moves: producers may wait again, and get space. */
	struct test_collect c;
	test_collect_init(&c, r);
	assert_int_equal(ring_read(r, 2, test_collect_fn, &c, &e), 2);
	void *p = ring_reserve(r, 56);
	assert_non_null(p);
	ring_commit(r, p);
	ring_close(r);
}

/* After a timed-out wait, producers facing the same consumer position drop
 * at once instead of waiting out the (here 60 s) timeout again. */
static void test_blocking_giveup(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(4096, RING_BLOCKING, 60000, &e);
	assert_non_null(r);
	for (uint32_t i = 0; i < 64; i++)
		test_put(r, i, 56);
	atomic_store(&test_shared(r)->giveup_pos, 0); /* as a timed-out wait leaves it */
	uint64_t t0 = test_now_ms();
	assert_null(ring_reserve(r, 56));
	assert_true(test_now_ms() - t0 < 30000);
	ring_close(r);
}

/* --- multi-threaded stress --------------------------------------------- */

#define STRESS_PRODUCERS 4
#define STRESS_HDR       16u

struct stress {
	struct ring *r;
	uint32_t per_producer;
	atomic_int producers_done;
	uint64_t dropped[STRESS_PRODUCERS]; /* each producer's own count of NULL reserves */
	/* consumer results */
	uint64_t received[STRESS_PRODUCERS];
	int64_t last_seq[STRESS_PRODUCERS];
	uint64_t gaps;    /* sequence jumps (records lost in between) */
	uint64_t errors;  /* out of order, bad checksum, bad length, bad producer */
	uint64_t corrupt; /* ring_read returning -1 */
};

struct stress_producer {
	struct stress *s;
	uint32_t id;
};

static uint32_t stress_sum(const uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u;
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void *stress_producer_main(void *arg)
{
	struct stress_producer *sp = arg;
	struct stress *s = sp->s;
	uint64_t rng = 0x2545F4914F6CDD1Dull * (sp->id + 1);
	for (uint32_t seq = 0; seq < s->per_producer; seq++) {
		uint32_t len = STRESS_HDR + (uint32_t)(test_rng_next(&rng) % 240);
		uint8_t *p = ring_reserve(s->r, len);
		if (!p) {
			s->dropped[sp->id]++;
			continue;
		}
		for (uint32_t i = STRESS_HDR; i < len; i++)
			p[i] = (uint8_t)(test_rng_next(&rng) >> 24);
		uint32_t hdr[4] = {sp->id, seq, len, stress_sum(p + STRESS_HDR, len - STRESS_HDR)};
		memcpy(p, hdr, sizeof(hdr));
		ring_commit(s->r, p);
	}
	atomic_fetch_add(&s->producers_done, 1);
	return NULL;
}

static int stress_record(void *arg, const void *data, uint32_t len)
{
	struct stress *s = arg;
	uint32_t hdr[4];
	if (len < STRESS_HDR) {
		s->errors++;
		return 0;
	}
	memcpy(hdr, data, sizeof(hdr));
	if (hdr[0] >= STRESS_PRODUCERS || hdr[2] != len ||
	    hdr[3] != stress_sum((const uint8_t *)data + STRESS_HDR, len - STRESS_HDR)) {
		s->errors++;
		return 0;
	}
	if ((int64_t)hdr[1] <= s->last_seq[hdr[0]])
		s->errors++;
	else if ((int64_t)hdr[1] != s->last_seq[hdr[0]] + 1)
		s->gaps++;
	s->last_seq[hdr[0]] = hdr[1];
	s->received[hdr[0]]++;
	return 0;
}

static void *stress_consumer_main(void *arg)
{
	struct stress *s = arg;
	struct err e = {{0}};
	for (;;) {
		int done = atomic_load(&s->producers_done) == STRESS_PRODUCERS;
		long n = ring_read(s->r, 256, stress_record, s, &e);
		if (n < 0)
			s->corrupt++;
		if (done && n == 0 && ring_head_state(s->r) == RING_HEAD_EMPTY)
			break;
		if (n == 0)
			sched_yield();
	}
	return NULL;
}

static void stress_run(struct stress *s)
{
	pthread_t prod[STRESS_PRODUCERS], cons;
	struct stress_producer sp[STRESS_PRODUCERS];
	atomic_init(&s->producers_done, 0);
	for (int i = 0; i < STRESS_PRODUCERS; i++)
		s->last_seq[i] = -1;
	assert_int_equal(pthread_create(&cons, NULL, stress_consumer_main, s), 0);
	for (uint32_t i = 0; i < STRESS_PRODUCERS; i++) {
		sp[i].s = s;
		sp[i].id = i;
		assert_int_equal(pthread_create(&prod[i], NULL, stress_producer_main, &sp[i]), 0);
	}
	for (int i = 0; i < STRESS_PRODUCERS; i++)
		pthread_join(prod[i], NULL);
	pthread_join(cons, NULL);
	assert_int_equal(s->errors, 0);
	assert_int_equal(s->corrupt, 0);
	uint64_t recs = 0, bytes = 0, local = 0;
	ring_drops(s->r, &recs, &bytes);
	for (int i = 0; i < STRESS_PRODUCERS; i++) {
		assert_int_equal(s->received[i] + s->dropped[i], s->per_producer);
		local += s->dropped[i];
	}
	assert_true(recs == local);
}

/* A ring that can hold everything: nothing lost, every sequence complete. */
static void test_stress_big(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct stress *s = xcalloc(1, sizeof(*s));
	s->per_producer = 20000;
	/* 4 x 20000 records of at most 264 bytes fit in 32 MiB */
	s->r = ring_create(32u << 20, 0, 0, &e);
	assert_non_null(s->r);
	stress_run(s);
	for (int i = 0; i < STRESS_PRODUCERS; i++) {
		assert_int_equal(s->received[i], s->per_producer);
		assert_int_equal(s->dropped[i], 0);
	}
	assert_int_equal(s->gaps, 0);
	ring_close(s->r);
	free(s);
}

/* A small ring: drops happen, and received + dropped == sent for each
 * producer, sequences still in order. */
static void test_stress_small(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct stress *s = xcalloc(1, sizeof(*s));
	s->per_producer = 20000;
	s->r = ring_create(4096, 0, 0, &e);
	assert_non_null(s->r);
	stress_run(s);
	ring_close(s->r);
	free(s);
}

/* A small ring in blocking mode: producers wait instead of dropping. */
static void test_stress_blocking(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct stress *s = xcalloc(1, sizeof(*s));
	s->per_producer = 5000;
	s->r = ring_create(4096, RING_BLOCKING, 30000, &e);
	assert_non_null(s->r);
	stress_run(s);
	for (int i = 0; i < STRESS_PRODUCERS; i++)
		assert_int_equal(s->received[i], s->per_producer);
	assert_int_equal(s->gaps, 0);
	ring_close(s->r);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_rejects),   cmocka_unit_test(test_roundtrip_sizes),
	    cmocka_unit_test(test_wrap_padding),     cmocka_unit_test(test_exact_fit),
	    cmocka_unit_test(test_full_drops),       cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_attach_shares),    cmocka_unit_test(test_attach_rejects),
	    cmocka_unit_test(test_batched_publish),  cmocka_unit_test(test_read_bounded),
	    cmocka_unit_test(test_stalled_producer), cmocka_unit_test(test_corrupt_cases),
	    cmocka_unit_test(test_corrupt_random),   cmocka_unit_test(test_blocking),
	    cmocka_unit_test(test_blocking_timeout), cmocka_unit_test(test_blocking_giveup),
	    cmocka_unit_test(test_stress_big),       cmocka_unit_test(test_stress_small),
	    cmocka_unit_test(test_stress_blocking),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
