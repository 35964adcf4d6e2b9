/*
 * xalloc.c - allocation wrappers that abort on exhaustion (see xalloc.h).
 */
#include "util/xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints the out-of-memory line for a request of `size` bytes and aborts;
 * never returns. */
static void xalloc_fail(size_t size)
{
	fprintf(stderr, "tstop: out of memory (allocating %zu bytes)\n", size);
	abort();
}

/* malloc() that aborts on failure; a zero size allocates one byte, so the
 * result is unique and never NULL. The caller frees it. */
void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		xalloc_fail(size);
	return p;
}

/* Zeroed array of `count` elements of `size` bytes (calloc() checks the
 * product); aborts on failure, never NULL. The caller frees it. */
void *xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		xalloc_fail(count * size);
	return p;
}

/* realloc() of `ptr` (the caller's, or NULL) to `size` bytes that aborts
 * on failure; `ptr` is then invalid and the result is the caller's. */
void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	if (!p)
		xalloc_fail(size);
	return p;
}

/* xrealloc() to `count` * `size` bytes, aborting when the product
 * overflows size_t; same ownership as xrealloc(). */
void *xreallocarray(void *ptr, size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size)
		xalloc_fail(SIZE_MAX);
	return xrealloc(ptr, count * size);
}

/* Copy of the NUL-terminated `s`, owned by the caller. */
char *xstrdup(const char *s)
{
	return xmemdup0(s, strlen(s));
}

/* Copy of the `len` bytes at `p` plus a terminating NUL (NULs inside are
 * kept), owned by the caller. */
char *xmemdup0(const void *p, size_t len)
{
	if (len == SIZE_MAX)
		xalloc_fail(len);
	char *d = xmalloc(len + 1);
	if (len)
		memcpy(d, p, len);
	d[len] = '\0';
	return d;
}

/* Returns `items` grown by doubling (from 8) to a capacity of at least
 * `need` elements, updating *cap; the caller stores the result, which it
 * owns, in place of `items`. Aborts when the size overflows. */
void *xgrow(void *items, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return items;
	size_t n = *cap ? *cap : 8;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			xalloc_fail(SIZE_MAX);
		n *= 2;
	}
	items = xreallocarray(items, n, elem);
	*cap = n;
	return items;
}
