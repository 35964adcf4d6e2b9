/*
 * test_inject_table.c - the collector's pure helpers: the lock-free-read
 * interning table (dense ids in insertion order, growth, keys of every
 * length, discarded entries not using up ids, clearing, readers running
 * while a writer inserts, ids restarting at 1 in each generation with the
 * entries kept) and the text conversions (wide strings to UTF-8
 * with replacement and whole-character truncation, /proc cmdline joining).
 *
 * The helpers belong to libtstop-inject.so, not to the core library the
 * tests link, so their sources are compiled into this test directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "capture/inject/inject_table.c"
#include "capture/inject/inject_text.c"

/* Inserts `key` in generation `gen` under the table lock as the collector
 * does; returns the id. */
static uint32_t test_insert_gen(struct inj_table *t, uint32_t gen, const void *key, size_t len)
{
	uint64_t h = inj_hash(key, len);
	pthread_mutex_lock(&t->lock);
	uint32_t id = inj_table_find(t, gen, h, key, len);
	if (!id) {
		struct inj_entry *e = inj_table_prepare(t, gen, h, key, len);
		assert_non_null(e);
		id = e->id;
		inj_table_publish(t, e);
	}
	pthread_mutex_unlock(&t->lock);
	return id;
}

static uint32_t test_insert(struct inj_table *t, const void *key, size_t len)
{
	return test_insert_gen(t, 0, key, len);
}

static uint32_t test_find_gen(const struct inj_table *t, uint32_t gen, const void *key, size_t len)
{
	return inj_table_find(t, gen, inj_hash(key, len), key, len);
}

static uint32_t test_find(const struct inj_table *t, const void *key, size_t len)
{
	return test_find_gen(t, 0, key, len);
}

static void test_table_basic(void **state)
{
	(void)state;
	struct inj_table t;
	inj_table_init(&t);
	assert_int_equal(test_find(&t, "a", 1), 0);
	assert_int_equal(test_insert(&t, "a", 1), 1);
	assert_int_equal(test_insert(&t, "ab", 2), 2);
	assert_int_equal(test_insert(&t, "", 0), 3);
	assert_int_equal(test_insert(&t, "a", 1), 1);
	assert_int_equal(test_find(&t, "ab", 2), 2);
	assert_int_equal(test_find(&t, "", 0), 3);
	assert_int_equal(test_find(&t, "b", 1), 0);
	/* Same bytes, different length: different keys. */
	assert_int_equal(test_find(&t, "a\0", 2), 0);
	assert_int_equal(test_insert(&t, "a\0", 2), 4);
	assert_int_equal(t.count, 4);
	assert_int_equal(t.next_id, 5);

	/* A discarded entry does not use up its id. */
	pthread_mutex_lock(&t.lock);
	struct inj_entry *e = inj_table_prepare(&t, 0, inj_hash("zz", 2), "zz", 2);
	assert_non_null(e);
	assert_int_equal(e->id, 5);
	inj_table_discard(e);
	pthread_mutex_unlock(&t.lock);
	assert_int_equal(test_find(&t, "zz", 2), 0);
	assert_int_equal(test_insert(&t, "zz", 2), 5);

	inj_table_clear(&t);
	assert_int_equal(test_find(&t, "a", 1), 0);
	assert_int_equal(test_insert(&t, "zz", 2), 1);
	inj_table_clear(&t);
}

static void test_table_static_init(void **state)
{
	(void)state;
	static struct inj_table t = INJ_TABLE_INITIALIZER;
	assert_int_equal(test_find(&t, "x", 1), 0);
	assert_int_equal(test_insert(&t, "x", 1), 1);
	assert_int_equal(test_insert(&t, "y", 1), 2);
	inj_table_clear(&t);
}

/* Many keys of many lengths: growth keeps every id findable. */
static void test_table_growth(void **state)
{
	(void)state;
	struct inj_table t;
	inj_table_init(&t);
	enum { N = 20000 };
	char key[64];
	for (uint32_t i = 0; i < N; i++) {
		size_t len = (size_t)snprintf(key, sizeof(key), "k%u-%.*s", i, (int)(i % 40),
		                              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN");
		assert_int_equal(test_insert(&t, key, len), i + 1);
	}
	for (uint32_t i = 0; i < N; i++) {
		size_t len = (size_t)snprintf(key, sizeof(key), "k%u-%.*s", i, (int)(i % 40),
		                              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN");
		assert_int_equal(test_find(&t, key, len), i + 1);
	}
	struct inj_slots *s = atomic_load(&t.slots);
	assert_true(t.count * 2 <= s->mask + 1);
	assert_non_null(s->older);
	/* Fixed-size binary keys, as tracks and frames are. */
	for (uint64_t pc = 0; pc < 5000; pc++) {
		uint64_t k = pc * 0x1000 + 0x400000;
		assert_int_equal(test_insert(&t, &k, sizeof(k)), N + pc + 1);
	}
	for (uint64_t pc = 0; pc < 5000; pc++) {
		uint64_t k = pc * 0x1000 + 0x400000;
		assert_int_equal(test_find(&t, &k, sizeof(k)), N + pc + 1);
	}
	inj_table_clear(&t);
}

/* A new generation restarts the ids at 1 in the order values are used
 * again, keeps the entries (no second entry for a key), and lookups in one
 * generation never see another's ids; an existing entry that is prepared
 * and discarded keeps its old id. */
static void test_table_generations(void **state)
{
	(void)state;
	struct inj_table t;
	inj_table_init(&t);
	assert_int_equal(test_insert_gen(&t, 0, "a", 1), 1);
	assert_int_equal(test_insert_gen(&t, 0, "b", 1), 2);
	assert_int_equal(test_insert_gen(&t, 0, "c", 1), 3);
	assert_int_equal(test_find_gen(&t, 1, "a", 1), 0);
	assert_int_equal(test_find_gen(&t, 1, "c", 1), 0);
	/* Generation 1 uses c, then a new key, then a. */
	assert_int_equal(test_insert_gen(&t, 1, "c", 1), 1);
	assert_int_equal(test_insert_gen(&t, 1, "d", 1), 2);
	assert_int_equal(test_insert_gen(&t, 1, "a", 1), 3);
	assert_int_equal(test_find_gen(&t, 1, "b", 1), 0);
	assert_int_equal(test_find_gen(&t, 1, "c", 1), 1);
	assert_int_equal(test_find_gen(&t, 0, "c", 1), 0); /* its generation-0 id is gone */
	assert_int_equal(test_find_gen(&t, 0, "b", 1), 2);
	assert_int_equal(t.count, 4);
	assert_int_equal(t.next_id, 4);
	/* Preparing b again in generation 1 and giving up: b keeps its
	 * generation-0 id and id 4 stays free. */
	pthread_mutex_lock(&t.lock);
	struct inj_entry *e = inj_table_prepare(&t, 1, inj_hash("b", 1), "b", 1);
	assert_non_null(e);
	assert_int_equal(e->id, 4);
	inj_table_discard(e);
	pthread_mutex_unlock(&t.lock);
	assert_int_equal(test_find_gen(&t, 0, "b", 1), 2);
	assert_int_equal(test_find_gen(&t, 1, "b", 1), 0);
	assert_int_equal(test_insert_gen(&t, 1, "e", 1), 4);
	assert_int_equal(test_insert_gen(&t, 1, "b", 1), 5);
	assert_int_equal(t.count, 5);
	/* Generation 7 (generations may skip numbers) starts again at 1. */
	assert_int_equal(test_insert_gen(&t, 7, "e", 1), 1);
	assert_int_equal(test_find_gen(&t, 1, "e", 1), 0);
	assert_int_equal(t.count, 5);
	inj_table_clear(&t);
}

static void test_hash(void **state)
{
	(void)state;
	assert_true(inj_hash("", 0) != 0);
	assert_true(inj_hash("abc", 3) == inj_hash("abc", 3));
	assert_true(inj_hash("abc", 3) != inj_hash("abd", 3));
	assert_true(inj_hash("abcdefgh1", 9) != inj_hash("abcdefgh2", 9));
	assert_true(inj_hash("a", 1) != inj_hash("a\0", 2));
}

/* Readers look up while one writer inserts: every id a reader finds is the
 * one the writer gave that key. */
struct test_race {
	struct inj_table *t;
	_Atomic int done;
	_Atomic uint64_t found, wrong;
};

enum { RACE_N = 30000 };

static void *test_race_reader(void *arg)
{
	struct test_race *r = arg;
	uint32_t i = 0;
	while (!atomic_load(&r->done)) {
		uint32_t k = i++ % RACE_N;
		uint32_t id = test_find(r->t, &k, sizeof(k));
		if (id) {
			atomic_fetch_add(&r->found, 1);
			if (id != k + 1)
				atomic_fetch_add(&r->wrong, 1);
		}
	}
	return NULL;
}

static void test_table_concurrent_readers(void **state)
{
	(void)state;
	struct inj_table t;
	inj_table_init(&t);
	struct test_race r = {.t = &t};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, test_race_reader, &r), 0);
	for (uint32_t k = 0; k < RACE_N; k++)
		assert_int_equal(test_insert(&t, &k, sizeof(k)), k + 1);
	atomic_store(&r.done, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&r.wrong), 0);
	for (uint32_t k = 0; k < RACE_N; k++)
		assert_int_equal(test_find(&t, &k, sizeof(k)), k + 1);
	inj_table_clear(&t);
}

static void test_wide_to_utf8(void **state)
{
	(void)state;
	char out[64];
	size_t n = inj_wide_to_utf8(L"abc", out, sizeof(out));
	assert_int_equal(n, 3);
	assert_memory_equal(out, "abc", 3);
	n = inj_wide_to_utf8(L"\u00e9\u20ac\U0001F600", out, sizeof(out));
	assert_int_equal(n, 2 + 3 + 4);
	assert_memory_equal(out, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);
	/* Not scalar values: replaced by U+FFFD. */
	const wchar_t bad[] = {(wchar_t)0xd800, (wchar_t)0x110000, (wchar_t)'x', 0};
	n = inj_wide_to_utf8(bad, out, sizeof(out));
	assert_int_equal(n, 7);
	assert_memory_equal(out, "\xef\xbf\xbd\xef\xbf\xbdx", 7);
	/* Truncation never splits a character. */
	n = inj_wide_to_utf8(L"a\u20ac", out, 3);
	assert_int_equal(n, 1);
	n = inj_wide_to_utf8(L"a\u20ac", out, 4);
	assert_int_equal(n, 4);
	assert_int_equal(inj_wide_to_utf8(NULL, out, sizeof(out)), 0);
	assert_int_equal(inj_wide_to_utf8(L"", out, sizeof(out)), 0);
	assert_int_equal(inj_wide_to_utf8(L"abc", out, 0), 0);
}

static void test_cmdline_join(void **state)
{
	(void)state;
	char a[] = "prog\0-n\0001\0";
	size_t n = inj_cmdline_join(a, sizeof(a) - 1);
	assert_int_equal(n, 9);
	assert_memory_equal(a, "prog -n 1", 9);
	char b[] = "x";
	assert_int_equal(inj_cmdline_join(b, 1), 1);
	char c[] = "\0\0";
	assert_int_equal(inj_cmdline_join(c, 2), 0);
	/* An empty argument in the middle stays visible as a double space. */
	char d[] = "a\0\0b\0";
	n = inj_cmdline_join(d, sizeof(d) - 1);
	assert_int_equal(n, 4);
	assert_memory_equal(d, "a  b", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_basic),  cmocka_unit_test(test_table_static_init),
	    cmocka_unit_test(test_table_growth), cmocka_unit_test(test_table_generations),
	    cmocka_unit_test(test_hash),         cmocka_unit_test(test_table_concurrent_readers),
	    cmocka_unit_test(test_wide_to_utf8), cmocka_unit_test(test_cmdline_join),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
