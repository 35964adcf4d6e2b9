/*
 * test_ring_nowait.c - ring_thread_nowait: on a thread that must never be
 * stalled (an OpenCL implementation's callback thread), ring_reserve on a
 * full ring in blocking mode drops and counts at once instead of waiting;
 * the setting is per thread, returns the previous one, and once restored
 * the thread waits for room again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "capture/ring.h"

static struct ring_shared *test_shared(struct ring *r)
{
	return (struct ring_shared *)((uint8_t *)(uintptr_t)ring_data(r) - RING_HEADER_SIZE);
}

static int test_count_fn(void *arg, const void *data, uint32_t len)
{
	(void)data;
	(void)len;
	(*(size_t *)arg)++;
	return 0;
}

/* Fills a blocking ring with a minute's block timeout; returns the records
 * written. */
static size_t test_fill(struct ring *r, uint32_t len)
{
	size_t n = 0;
	uint64_t before, dropped, bytes;
	ring_drops(r, &before, &bytes);
	bool old = ring_thread_nowait(true); /* filling must not wait either */
	for (;;) {
		uint8_t *p = ring_reserve(r, len);
		if (!p)
			break;
		memset(p, 0x5a, len);
		ring_commit(r, p);
		n++;
	}
	ring_thread_nowait(old);
	ring_drops(r, &dropped, &bytes);
	assert_int_equal(dropped, before + 1);
	return n;
}

/* A consumer that drains the ring once, after a pause, while the main
 * thread waits for room. */
static void *test_late_reader(void *arg)
{
	struct ring *r = arg;
	struct timespec ts = {0, 50 * 1000000L};
	nanosleep(&ts, NULL);
	size_t n = 0;
	struct err e = {{0}};
	ring_read(r, SIZE_MAX, test_count_fn, &n, &e);
	return NULL;
}

/* A thread that has not set the flag: it waits until the main thread reads. */
struct test_waiter {
	struct ring *r;
	bool got; /* its reservation succeeded */
};

static void *test_waiter_main(void *arg)
{
	struct test_waiter *t = arg;
	uint8_t *p = ring_reserve(t->r, 64);
	if (p) {
		ring_commit(t->r, p);
		t->got = true;
	}
	return NULL;
}

static void test_nowait(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(4096, RING_BLOCKING, 60000, &e);
	assert_non_null(r);
	size_t filled = test_fill(r, 64);
	assert_true(filled > 10);

	/* Marked: a full blocking ring drops at once, without giving up on
	 * the consumer (no timed-out wait was recorded). */
	assert_false(ring_thread_nowait(true));
	for (int i = 0; i < 100; i++)
		assert_null(ring_reserve(r, 64));
	uint64_t dropped, bytes;
	ring_drops(r, &dropped, &bytes);
	assert_int_equal(dropped, 101);
	assert_int_equal(bytes, 101 * 64);
	assert_true(atomic_load(&test_shared(r)->giveup_pos) == UINT64_MAX);

	/* Another thread does not inherit the flag: it waits for room, which
	 * a read by this thread makes. */
	struct test_waiter t = {.r = r};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, test_waiter_main, &t), 0);
	struct timespec ts = {0, 50 * 1000000L};
	nanosleep(&ts, NULL);
	size_t n = 0;
	assert_int_equal(ring_read(r, SIZE_MAX, test_count_fn, &n, &e), (long)filled);
	pthread_join(th, NULL);
	assert_true(t.got);
	ring_drops(r, &dropped, &bytes);
	assert_int_equal(dropped, 101);

	/* Restored: this thread waits again until a late reader makes room. */
	assert_true(ring_thread_nowait(false));
	filled = test_fill(r, 64);
	ring_drops(r, &dropped, &bytes);
	assert_int_equal(dropped, 102);
	assert_int_equal(pthread_create(&th, NULL, test_late_reader, r), 0);
	uint8_t *p = ring_reserve(r, 64);
	assert_non_null(p);
	ring_commit(r, p);
	pthread_join(th, NULL);
	ring_drops(r, &dropped, &bytes);
	assert_int_equal(dropped, 102);
	ring_close(r);
}

/* Without blocking mode the flag changes nothing: drops as always. */
static void test_nowait_nonblocking(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct ring *r = ring_create(4096, 0, 0, &e);
	assert_non_null(r);
	test_fill(r, 200);
	assert_false(ring_thread_nowait(false));
	assert_null(ring_reserve(r, 200));
	uint64_t dropped, bytes;
	ring_drops(r, &dropped, &bytes);
	assert_int_equal(dropped, 2);
	ring_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nowait),
	    cmocka_unit_test(test_nowait_nonblocking),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
