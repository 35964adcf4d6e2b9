/*
 * test_demangle.c - unit tests of C++ name demangling (trace/demangle.h).
 *
 * The mangled names are real: produced by g++ for the declarations given in
 * the comments, in the shapes CUDA kernels take (plain functions, templates
 * with type and value arguments, namespaces, functor arguments). Short
 * names are checked against the shortName Nsight Systems stores for the
 * same kernels (../shared/testdata/nsys).
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

/* Asserts that the short name of `name` is `want` (NULL: none). */
static void expect_short(const char *name, const char *want)
{
	char *got = trace_short_name(name);
	if (!want) {
		if (got)
			fail_msg("short name of '%s': got '%s', want none", name ? name : "NULL", got);
		return;
	}
	if (!got)
		fail_msg("short name of '%s': got none, want '%s'", name, want);
	assert_string_equal(got, want);
	free(got);
}

static void test_short_name_mangled(void **state)
{
	/* void saxpy(int, float, float*, float*) */
	expect_short("_Z5saxpyifPfS_", "saxpy");
	/* The kernels of the nsys exports in ../shared/testdata/nsys, whose
	 * shortName column says "saxpy" and "par_ranged2d_kernel". */
	expect_short("_Z5saxpyPdS_S_di", "saxpy");
	expect_short(
	    "_ZN6clover19par_ranged2d_kernelIZ11build_fieldR16global_variablesEUliiE_EEvNS_7Range2dET_",
	    "par_ranged2d_kernel");
	expect_short("_ZN6clover19par_ranged1d_kernelIZ18update_halo_kerneliiiiRKSt5arrayIiLm4EES4_R10field_"
	             "typePKiiEUliE_EEvNS_7Range1dET_",
	             "par_ranged1d_kernel");
	expect_short("_Z4gemmIfLi128EEvPT_i", "gemm");
	expect_short("_ZN2at6native29vectorized_elementwise_kernelINS0_11FillFunctorEEEviT_",
	             "vectorized_elementwise_kernel");
	expect_short("_ZN7cutlass4gemm6KernelINS0_1GEEEvNT_6ParamsE", "Kernel");
	expect_short("_Z6kernelv", "kernel");
	/* a mangled name that is not a function has no parameter list */
	expect_short("_ZN3foo3barE", NULL);
	expect_short("_Zgarbage!", NULL);
}

static void test_short_name_demangled(void **state)
{
	/* As PyTorch's profiler and nsys spell demangled kernel names. */
	expect_short(
	    "void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, "
	    "at::detail::Array<char*, 1> >(int, at::native::FillFunctor<float>, at::detail::Array<char*, 1>)",
	    "vectorized_elementwise_kernel");
	expect_short("void at::native::vectorized_elementwise_kernel<4, ...>(int, ...)",
	             "vectorized_elementwise_kernel");
	expect_short("void clover::par_ranged2d_kernel<build_field(global_variables &)::[lambda(int, int) "
	             "(instance 1)]>(clover::Range2d, T1)",
	             "par_ranged2d_kernel");
	expect_short(
	    "void clover::par_ranged1d_kernel<update_halo_kernel(int, int, int, int, const std::array<int, "
	    "(unsigned long)4> &, field_type &, const int *, int)::[lambda(int) (instance 3)]>"
	    "(clover::Range1d, T1)",
	    "par_ranged1d_kernel");
	expect_short(
	    "void (anonymous namespace)::softmax_warp_forward<float, float, float, 10, false>(float*, "
	    "float const*, int, int, int)",
	    "softmax_warp_forward");
	expect_short("ncclKernel_AllReduce_RING_LL_Sum_float(ncclDevComm*, unsigned long, ncclWork*)",
	             "ncclKernel_AllReduce_RING_LL_Sum_float");
	expect_short("saxpy(double *, double *, double *, double, int)", "saxpy");
	expect_short("at::native::(anonymous namespace)::f()::{lambda()#1}::operator()() const",
	             "operator()");
	expect_short("std::vector<int, std::allocator<int> >::operator[](unsigned long)", "operator[]");
	expect_short("bool operator< <int>(A<int> const&, A<int> const&)", "operator<");
	expect_short("Foo::~Foo()", "~Foo");
}

static void test_short_name_none(void **state)
{
	/* not signatures: plain names, API names, NVTX messages */
	expect_short("vector_add", NULL);
	expect_short("cudaLaunchKernel", NULL);
	expect_short("train step (epoch 1)", NULL);
	expect_short("step 3", NULL);
	expect_short("(x)", NULL);
	expect_short("f(int", NULL);
	expect_short("f(int))", NULL);
	expect_short("", NULL);
	expect_short(NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cuda_kernel_names),
	    cmocka_unit_test(test_not_mangled),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_short_name_mangled),
	    cmocka_unit_test(test_short_name_demangled),
	    cmocka_unit_test(test_short_name_none),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
