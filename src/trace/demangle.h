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

/* The short name of a function, as Nsight Systems' shortName has it: the
 * function's own name without return type, scope, template arguments or
 * parameters: "void at::native::kernel<4, F>(int, F)" gives "kernel",
 * "_Z5saxpyifPfS_" gives "saxpy". `name` is mangled (demangled first) or a
 * demangled signature, NUL-terminated. NULL when `name` is neither: no
 * parameter list to find the function by, or no identifier before it
 * (plain words, NVTX messages, OpenCL kernel names come back NULL, and
 * their short name is the name itself). The caller frees the result.
 * O(length). */
char *trace_short_name(const char *name);

#endif
