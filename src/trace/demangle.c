/*
 * demangle.c - demangling of C++ symbol names (see demangle.h).
 *
 * libstdc++ exports __cxa_demangle, the demangler of the Itanium C++ ABI
 * (the one g++ and nvcc use for host and device code). It is a C++ runtime
 * function with C linkage, so C code declares it itself; the core library
 * links stdc++ for it. Its result is malloc'd, and ours to free.
 *
 * Every failure (not a mangled name, a malformed one, the demangler out of
 * memory) yields NULL: callers then show the name as it is, which is always
 * correct if less readable.
 */
#include "trace/demangle.h"

#include <stdlib.h>
#include <string.h>

char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);

/* Demangles `name` when it starts with "_Z"; see demangle.h. The result is
 * the caller's. */
char *trace_demangle(const char *name)
{
	if (!name || strncmp(name, "_Z", 2) != 0)
		return NULL;
	int status = 0;
	char *d = __cxa_demangle(name, NULL, NULL, &status);
	if (status != 0) {
		free(d);
		return NULL;
	}
	return d;
}
