/*
 * test_demangle.c - unit tests of C++ name demangling (trace/demangle.h).
 *
 * The mangled names are real: produced by g++ for the declarations given in
 * the comments, in the shapes CUDA kernels take (plain functions, templates
 * with type and value arguments, namespaces, functor arguments).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "trace/demangle.h"

/* Asserts that `mangled` demangles to `want`, freeing the result. */
static void expect_demangled(const char *mangled, const char *want)
{
	char *d = trace_demangle(mangled);
	assert_non_null(d);
	assert_string_equal(d, want);
	free(d);
}

static void test_cuda_kernel_names(void **state)
{
	/* void matmul(const float*, const float*, float*, int) */
	expect_demangled("_Z6matmulPKfS0_Pfi", "matmul(float const*, float const*, float*, int)");
	/* template void gemm<float, 128>(float*, int) */
	expect_demangled("_Z4gemmIfLi128EEvPT_i", "void gemm<float, 128>(float*, int)");
	/* template void at::native::vectorized_elementwise_kernel<at::native::FillFunctor>(int, FillFunctor) */
	expect_demangled("_ZN2at6native29vectorized_elementwise_kernelINS0_11FillFunctorEEEviT_",
	                 "void at::native::vectorized_elementwise_kernel<at::native::FillFunctor>(int, "
	                 "at::native::FillFunctor)");
	/* template void cutlass::gemm::Kernel<cutlass::gemm::G>(G::Params) */
	expect_demangled("_ZN7cutlass4gemm6KernelINS0_1GEEEvNT_6ParamsE",
	                 "void cutlass::gemm::Kernel<cutlass::gemm::G>(cutlass::gemm::G::Params)");
	/* void kernel() */
	expect_demangled("_Z6kernelv", "kernel()");
}

static void test_not_mangled(void **state)
{
	/* only "_Z" names are demangled: C names, OpenCL kernels, API names */
	assert_null(trace_demangle("vector_add"));
	assert_null(trace_demangle("cudaLaunchKernel"));
	assert_null(trace_demangle("6matmulPKfS0_Pfi")); /* a type encoding on its own is not a symbol */
	assert_null(trace_demangle("i"));
	assert_null(trace_demangle(""));
	assert_null(trace_demangle("_"));
	assert_null(trace_demangle(NULL));
}

static void test_malformed(void **state)
{
	assert_null(trace_demangle("_Z"));
	assert_null(trace_demangle("_Zgarbage!"));
	assert_null(trace_demangle("_Z6matmulPK")); /* cut short */
	assert_null(trace_demangle("_Z999kernelv"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cuda_kernel_names),
	    cmocka_unit_test(test_not_mangled),
	    cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
