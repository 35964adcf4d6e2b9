/*
 * test_xalloc.c - the allocation wrappers (util/xalloc.h): xgrow's capacity
 * rule and its returned array, xmemdup0 and xreallocarray.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/xalloc.h"

/* xgrow starts at 8, doubles until `need` fits, keeps the elements, and
 * returns the array untouched when the capacity suffices. */
static void test_xgrow(void **state)
{
	(void)state;
	uint64_t *a = NULL;
	size_t cap = 0;
	a = xgrow(a, &cap, 1, sizeof(*a));
	assert_non_null(a);
	assert_int_equal(cap, 8);
	for (size_t i = 0; i < 8; i++)
		a[i] = i * 3;
	uint64_t *same = xgrow(a, &cap, 8, sizeof(*a));
	assert_ptr_equal(same, a);
	assert_int_equal(cap, 8);
	a = xgrow(a, &cap, 9, sizeof(*a));
	assert_int_equal(cap, 16);
	a = xgrow(a, &cap, 100, sizeof(*a));
	assert_int_equal(cap, 128);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(a[i], i * 3);
	a[127] = 7; /* the whole capacity is usable (ASan checks) */
	free(a);

	/* a capacity that is not a power of two doubles from where it is */
	char *c = xmalloc(3);
	cap = 3;
	memcpy(c, "ab", 3);
	c = xgrow(c, &cap, 4, 1);
	assert_int_equal(cap, 6);
	assert_string_equal(c, "ab");
	free(c);
}

/* xmemdup0 keeps inner NULs and terminates; xreallocarray sizes by count. */
static void test_copies(void **state)
{
	(void)state;
	char *d = xmemdup0("a\0b", 3);
	assert_memory_equal(d, "a\0b\0", 4);
	free(d);
	d = xstrdup("");
	assert_string_equal(d, "");
	free(d);
	uint32_t *v = xreallocarray(NULL, 5, sizeof(*v));
	v[4] = 1;
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xgrow),
	    cmocka_unit_test(test_copies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
