/*
 * xalloc.h - allocation that cannot return NULL.
 *
 * tstop's in-memory tables grow from trusted sizes (every size derived from
 * a file or from the target is checked against its bounds first), so an
 * allocation failure means the machine is out of memory: these wrappers
 * print one line and abort rather than thread ENOMEM through every caller,
 * the policy redis's zmalloc follows. Sizes are overflow-checked.
 */
#ifndef TSTOP_UTIL_XALLOC_H
#define TSTOP_UTIL_XALLOC_H

#include <stddef.h>

/* malloc/calloc/realloc that abort on failure; xmalloc(0) returns a unique
 * pointer. The caller frees with free(). */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
/* realloc of count * size bytes, aborting when the product overflows. */
void *xreallocarray(void *ptr, size_t count, size_t size);
/* strdup and a copy of `len` bytes plus a terminating NUL. */
char *xstrdup(const char *s);
char *xmemdup0(const void *p, size_t len);

/* Grows the array `items` (of `elem` bytes each, *cap allocated; NULL with
 * *cap == 0 when empty) so that it holds at least `need` elements, doubling
 * the capacity, and returns it: the array may have moved, so the caller
 * stores the result in place of `items` (`a = xgrow(a, &cap, n + 1, sizeof(*a))`).
 * Returns `items` unchanged when *cap >= need. The caller frees with free(). */
void *xgrow(void *items, size_t *cap, size_t need, size_t elem);

#endif
