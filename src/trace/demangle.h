/*
 * demangle.h - readable names for mangled C++ symbols.
 *
 * CUDA kernels are C++ functions, and CUPTI reports their names mangled by
 * the Itanium C++ ABI ("_Z6matmulPKfS0_Pfi"). tstop keeps names mangled in
 * its data (they are exact and what nsys stores) and shows them demangled
 * ("matmul(float const*, float const*, float*, int)"), through libstdc++'s
 * maintained demangler.
 */
#ifndef TSTOP_TRACE_DEMANGLE_H
#define TSTOP_TRACE_DEMANGLE_H

#include <stddef.h>

/* The demangled form of the NUL-terminated `name`, or NULL when `name` is
 * not an Itanium-mangled name (it must start with "_Z") or cannot be
 * demangled. The caller owns the result and frees it with free(). */
char *trace_demangle(const char *name);

#endif
