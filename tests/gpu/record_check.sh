#!/usr/bin/env bash
# tests/gpu/record_check.sh - build tstop, record the CUDA sample with
# `tstop record`, and check the capture. For a machine with an NVIDIA GPU
# (written for H100/H200, sm_90), its driver and a CUDA 13 toolkit; no
# network needed. Run from anywhere:
#
#   bash tests/gpu/record_check.sh
#
# Environment:
#   OUT                    results folder (default /tmp/tstop-record-check):
#                          the session (cuda.sbt), what the sample and tstop
#                          printed, `tstop info` and `tstop stats` output
#   TSTOP_GPU_BUILD_DIR    build folder (default /tmp/tstop-record-build)
#   CUDA                   toolkit root (default: nvcc's parent, else /usr/local/cuda)
#   TSTOP_GPU_BUILD_ONLY=1 configure and build everything, run nothing (for
#                          machines without a GPU)
#   TSTOP_GPU_PRETEND_MISSING="cmocka unwind"  rehearse the fallbacks for
#                          libraries this machine lacks
#   TSTOP_GPU_FAKE=1       rehearse without a GPU: a stand-in libcupti
#                          (fake_cupti.c) plays the sample's workload inside a
#                          stand-in program (fake_streams.c), recorded by the
#                          real tstop and collector and checked the same way
#
# Steps: what the machine has (compiler, cmake, the libraries tstop needs:
# missing ones are named; without cmocka the tests are left out; without
# libunwind the collector is linked with a stand-in built here from glibc's
# backtrace(), since unw_backtrace() is all it calls; without pkg-config a
# stand-in answers for libzstd; without libzstd or CUPTI nothing can be
# built); configure and build tstop (Release, no OpenCL) with cmake, all
# targets when possible, else only tstop and tstop-inject; build the CUDA
# sample with its Makefile and tests/gpu/record_verify; run the sample once
# alone; `tstop record -o $OUT/cuda -- streams`; `tstop info` and `tstop
# stats`; then the checks:
#   - from `tstop stats --report cuda_gpu_trace --format csv`: 7 kernels with
#     the sample's names (fill, 3 x scale, axpy, block_sum, spin), each with a
#     duration > 0 and a correlation id, 6 copies, 1 memset, the device name;
#   - from `--report cuda_api_sum`: at least 7 runtime launch calls, no
#     "_vNNNN" suffixes;
#   - from `tstop info`: at least 5 synchronizations, the device;
#   - record_verify: every kernel's correlation id on a cudaLaunchKernel
#     event of the sample's thread, every launch, copy and memset as issued,
#     sync kinds, one clock, the device (see record_verify.c).
#
# Exit status: 0 every check passed, 1 a check failed, 2 could not build or
# run (the reason is printed). Takes about a minute on 16 cores.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
OUT=${OUT:-/tmp/tstop-record-check}
build=${TSTOP_GPU_BUILD_DIR:-/tmp/tstop-record-build}
fake=${TSTOP_GPU_FAKE:-0}
build_only=${TSTOP_GPU_BUILD_ONLY:-0}
[ -d /opt/gcc/bin ] && PATH=/opt/gcc/bin:$PATH
if [ -z "${CUDA:-}" ]; then
	if command -v nvcc >/dev/null 2>&1; then
		CUDA=$(cd "$(dirname "$(command -v nvcc)")/.." && pwd)
	else
		CUDA=/usr/local/cuda
	fi
fi
PATH=$PATH:$CUDA/bin
export PATH
CC=${CC:-gcc}
jobs=$(nproc 2>/dev/null || echo 4)
mkdir -p "$OUT" "$build" || exit 2
t_start=$(date +%s)

failures=0
# check STATUS MESSAGE: prints "ok" (STATUS 0) or "FAIL", counting failures.
check() {
	if [ "$1" = 0 ]; then
		echo "ok   $2"
	else
		echo "FAIL $2"
		failures=$((failures + 1))
	fi
}
# cannot MESSAGE: the check cannot run here.
cannot() {
	echo "CANNOT RUN: $*"
	exit 2
}

echo "=== machine"
if [ "$fake" != 1 ] && [ "$build_only" != 1 ]; then
	nvidia-smi || echo "nvidia-smi failed (rc $?)"
fi
echo "CUDA toolkit: $CUDA"
[ -x "$CUDA/bin/nvcc" ] && "$CUDA/bin/nvcc" --version | tail -n 2
echo "compiler: $($CC --version | head -n 1)"
echo "cmake: $(cmake --version 2>/dev/null | head -n 1 || echo missing)"

echo "=== what tstop needs"
# have_c LIB HEADER: whether a program including HEADER links with -lLIB.
have_c() {
	local src="$build/have_$1.c"
	printf '#include <%s>\nint main(void) { return 0; }\n' "$2" >"$src"
	$CC "$src" -o "$build/have_$1" -l"$1" >/dev/null 2>&1
}
missing=()
declare -A present
for dep in "zstd zstd.h" "unwind libunwind.h" "cmocka stdarg.h" "sqlite3 sqlite3.h"; do
	set -- $dep
	if [ "$1" = cmocka ]; then
		# cmocka.h needs these before it.
		printf '#include <stdarg.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <setjmp.h>\n#include <cmocka.h>\nint main(void) { return 0; }\n' >"$build/have_cmocka.c"
		$CC "$build/have_cmocka.c" -o "$build/have_cmocka" -lcmocka >/dev/null 2>&1 && present[$1]=1
	else
		have_c "$1" "$2" && present[$1]=1
	fi
	case " ${TSTOP_GPU_PRETEND_MISSING:-} " in *" $1 "*) unset "present[$1]" ;; esac
	[ -n "${present[$1]:-}" ] && say=found || say="MISSING (lib$1 and its headers)"
	printf '  %-10s %s\n' "$1" "$say"
done
command -v cmake >/dev/null 2>&1 && present[cmake]=1 || missing+=(cmake)
command -v pkg-config >/dev/null 2>&1 && present[pkgconfig]=1
[ -n "${present[pkgconfig]:-}" ] && say=found || say="MISSING (a stand-in answers for libzstd)"
printf '  %-10s %s\n' pkg-config "$say"
command -v ninja >/dev/null 2>&1 && present[ninja]=1
[ -n "${present[ninja]:-}" ] && say=found || say="missing (make is used)"
printf '  %-10s %s\n' ninja "$say"
cupti_inc=
for d in "$CUDA/include" "$CUDA/extras/CUPTI/include"; do
	[ -f "$d/cupti.h" ] && cupti_inc=$d && break
done
printf '  %-10s %s\n' cupti.h "${cupti_inc:-MISSING under $CUDA}"
[ -n "${present[zstd]:-}" ] || missing+=("libzstd (dev package: header zstd.h and libzstd.so)")
unwind_shim=${TSTOP_GPU_UNWIND_SHIM:-0}
if [ -z "${present[unwind]:-}" ] || [ "$unwind_shim" = 1 ]; then
	# The collector calls only unw_backtrace(); glibc's backtrace() does
	# the same walk. A stand-in lets the check run; the missing package is
	# still reported above and in the summary.
	unwind_shim=1
	mkdir -p "$build/unwind-shim"
	printf '/* stand-in: record_check.sh */\nint unw_backtrace(void **buffer, int size);\n' \
		>"$build/unwind-shim/libunwind.h"
	printf '#include <execinfo.h>\nint unw_backtrace(void **buffer, int size);\nint unw_backtrace(void **buffer, int size) { return backtrace(buffer, size); }\n' \
		>"$build/unwind-shim/shim.c"
	$CC -O2 -fPIC -shared -Wl,-soname,libtstop-unwind-shim.so "$build/unwind-shim/shim.c" \
		-o "$build/unwind-shim/libtstop-unwind-shim.so" ||
		missing+=("libunwind (dev package: header libunwind.h and libunwind.so); no stand-in either")
	echo "  libunwind: using a stand-in (glibc backtrace) for the collector's stacks"
fi
[ -n "$cupti_inc" ] || missing+=("CUPTI headers (cupti.h) in the CUDA toolkit")
[ "$fake" = 1 ] || [ -x "$CUDA/bin/nvcc" ] || missing+=("nvcc ($CUDA/bin/nvcc)")
[ -n "${present[sqlite3]:-}" ] || echo "  note: sqlite3 is missing; this build does not need it yet"
if [ ${#missing[@]} -gt 0 ]; then
	for m in "${missing[@]}"; do echo "  MISSING: $m"; done
	cannot "tstop cannot be built on this machine without the above"
fi

echo "=== configure"
cmake_args=(-S "$root" -B "$build/tstop" -DCMAKE_BUILD_TYPE=Release -DTSTOP_WITH_OPENCL=OFF -DTSTOP_WITH_CUPTI=ON
	-DCUPTI_INCLUDE_DIR="$cupti_inc")
[ -n "${present[ninja]:-}" ] && cmake_args+=(-G Ninja)
[ "$unwind_shim" = 1 ] && cmake_args+=(-DUNWIND_LIBRARY="$build/unwind-shim/libtstop-unwind-shim.so"
	-DCMAKE_C_FLAGS="-I$build/unwind-shim")
full=1
if [ -z "${present[cmocka]:-}" ]; then
	# tests/CMakeLists.txt requires cmocka; name a stand-in so that
	# configuring succeeds, and build only tstop and the collector.
	echo "cmocka missing: tests are not built"
	cmake_args+=(-DCMOCKA_LIBRARY="$build/no-cmocka" -DCMOCKA_INCLUDE_DIR="$build")
	full=0
fi
if [ -z "${present[pkgconfig]:-}" ]; then
	# A stand-in pkg-config that knows libzstd only (from the compiler's
	# default paths), for CMake's pkg_check_modules.
	zlib=$($CC -print-file-name=libzstd.so)
	cat >"$build/pkg-config" <<EOF
#!/bin/sh
for a in "\$@"; do
	case "\$a" in
	--version) echo 0.29; exit 0;;
	--modversion) echo 1.5.0; exit 0;;
	--libs-only-L) echo "-L$(dirname "$zlib")"; exit 0;;
	--libs-only-l|--libs) echo "-lzstd"; exit 0;;
	--variable=libdir) echo "$(dirname "$zlib")"; exit 0;;
	--variable=*|--cflags*|--libs-only-other) echo; exit 0;;
	esac
done
exit 0
EOF
	chmod +x "$build/pkg-config"
	cmake_args+=(-DPKG_CONFIG_EXECUTABLE="$build/pkg-config")
fi
timeout 120 cmake "${cmake_args[@]}" >"$OUT/cmake.log" 2>&1 || {
	tail -n 30 "$OUT/cmake.log"
	cannot "cmake failed (log: $OUT/cmake.log)"
}
grep "tstop:" "$OUT/cmake.log"

echo "=== build"
built_all=0
if [ $full = 1 ]; then
	if timeout 300 cmake --build "$build/tstop" -j "$jobs" >"$OUT/build.log" 2>&1; then
		built_all=1
	else
		grep -E "error|Error" "$OUT/build.log" | head -n 20
		echo "the full build failed (log: $OUT/build.log): building tstop and tstop-inject only"
	fi
fi
if [ $built_all = 0 ]; then
	timeout 300 cmake --build "$build/tstop" -j "$jobs" --target tstop tstop-inject >"$OUT/build.log" 2>&1 || {
		grep -E "error|Error" "$OUT/build.log" | head -n 30
		cannot "tstop and tstop-inject do not build (log: $OUT/build.log)"
	}
fi
tstop=$build/tstop/tstop
inject=$(ls "$build"/tstop/lib*/tstop/libtstop-inject.so 2>/dev/null | head -n 1)
[ -x "$tstop" ] && [ -n "$inject" ] || cannot "tstop or libtstop-inject.so missing after the build"
echo "tstop: $tstop; collector: $inject"
zstd_libs=$( (command -v pkg-config >/dev/null && pkg-config --libs libzstd) || echo -lzstd)
$CC -std=c11 -D_GNU_SOURCE -O2 -I"$root/src" "$here/record_verify.c" -o "$build/record_verify" \
	"$build/tstop/libtstop_core.a" $zstd_libs -lstdc++ -lm || cannot "record_verify does not build"
if [ $built_all = 1 ]; then
	echo "--- the collector's CUPTI unit tests"
	(cd "$build/tstop" && timeout 60 ctest -R 'unit.test_cupti' --output-on-failure 2>&1 | tail -n 8)
fi

if [ "$fake" = 1 ]; then
	major=$(sed -n 's/^#define CUPTI_API_VERSION \([0-9]*\)$/\1/p' "$cupti_inc/cupti_version.h")
	major=$((major / 10000))
	mkdir -p "$build/fake"
	$CC -std=c11 -D_GNU_SOURCE -O2 -fPIC -shared -fvisibility=hidden -I"$cupti_inc" -I"$CUDA/include" \
		"$here/fake_cupti.c" -o "$build/fake/libcupti.so.$major" -lpthread &&
		$CC -std=c11 -O2 "$here/fake_streams.c" -o "$build/fake/fake_streams" -ldl ||
		cannot "the stand-in CUPTI does not build"
	export TSTOP_CUPTI_LIBRARY=$build/fake/libcupti.so.$major
	sample=$build/fake/fake_streams
else
	timeout 180 make -C "$root/samples/cuda" BUILD="$build/samples" CUDA="$CUDA" NVCC="$CUDA/bin/nvcc" \
		>"$OUT/sample_build.log" 2>&1 || {
		tail -n 20 "$OUT/sample_build.log"
		cannot "samples/cuda does not build"
	}
	sample=$build/samples/streams
fi
echo "built in $(($(date +%s) - t_start)) s"
if [ "$build_only" = 1 ]; then
	echo "built (TSTOP_GPU_BUILD_ONLY=1: not running)"
	exit 0
fi

echo "=== the sample alone"
if [ "$fake" = 1 ]; then
	echo "(rehearsal: the stand-in runs under tstop only)"
else
	timeout 60 "$sample" >"$OUT/sample_alone.out" 2>&1
	rc=$?
	cat "$OUT/sample_alone.out"
	[ $rc = 0 ] || cannot "the sample fails without tstop (exit $rc): no working GPU?"
fi

echo "=== tstop record"
rm -f "$OUT/cuda.sbt"
# TSTOP_DEBUG: the collector says on stderr why it could not connect, if so.
TSTOP_DEBUG=1 timeout 120 "$tstop" record -f -o "$OUT/cuda" -- "$sample" >"$OUT/sample.out" 2>"$OUT/record.err"
rc=$?
cat "$OUT/record.err"
echo "--- the sample under tstop (exit $rc)"
cat "$OUT/sample.out"
[ $rc = 0 ]; check $? "tstop record exit status $rc (the sample's)"
[ -s "$OUT/cuda.sbt" ] || cannot "no session file written"
grep -q "CUDA: CUPTI" "$OUT/record.err"
check $? "the collector says which CUPTI it loaded"

echo "=== tstop info"
"$tstop" info "$OUT/cuda.sbt" >"$OUT/info.txt" 2>&1
check $? "tstop info"
cat "$OUT/info.txt"
echo "=== tstop stats"
"$tstop" stats --report cuda_gpu_trace --format csv "$OUT/cuda.sbt" >"$OUT/gpu_trace.csv" 2>"$OUT/stats.err"
check $? "tstop stats --report cuda_gpu_trace --format csv"
"$tstop" stats --report cuda_api_sum --format csv "$OUT/cuda.sbt" >"$OUT/api_sum.csv" 2>>"$OUT/stats.err"
check $? "tstop stats --report cuda_api_sum --format csv"
"$tstop" stats "$OUT/cuda.sbt" >"$OUT/stats.txt" 2>>"$OUT/stats.err"
cat "$OUT/stats.txt" "$OUT/stats.err"

echo "=== checks"
device=$(sed -n 's/^device [0-9]* \(.*\) (sm_[0-9]*)$/\1/p' "$OUT/sample.out" | head -n 1)
echo "the sample ran on: '$device'"
# The GPU trace, one line per row: kind|duration|corrid|device|name. The
# name is the last column (CSV-quoted when it holds commas), the 19 before
# it hold no commas.
awk 'NR > 1 {
	rest = $0
	for (i = 1; i <= 19; i++) { p = index(rest, ","); f[i] = substr(rest, 1, p - 1); rest = substr(rest, p + 1) }
	name = rest; if (name ~ /^".*"$/) { name = substr(name, 2, length(name) - 2); gsub(/""/, "\"", name) }
	kind = f[4] != "" ? "kernel" : name ~ /^\[CUDA memcpy/ ? "memcpy" : name ~ /^\[CUDA memset/ ? "memset" : "other"
	print kind "|" f[2] "|" f[3] "|" f[17] "|" name
}' "$OUT/gpu_trace.csv" >"$OUT/gpu_trace.rows"
kernels=$(grep -c '^kernel|' "$OUT/gpu_trace.rows")
[ "$kernels" = 7 ]; check $? "kernels in the GPU trace: $kernels (7 launched)"
for want in "fill 1" "scale 3" "axpy 1" "block_sum 1" "spin 1"; do
	set -- $want
	n=$(awk -F'|' -v l="$1" '$1 == "kernel" && $5 ~ ("(^|[ :])" l "[(<]")' "$OUT/gpu_trace.rows" | wc -l)
	[ "$n" = "$2" ]; check $? "kernel $1: $n recorded, $2 launched"
done
bad=$(awk -F'|' '$1 == "kernel" && !($2 > 0)' "$OUT/gpu_trace.rows" | wc -l)
[ "$bad" = 0 ] && [ "$kernels" -gt 0 ]; check $? "every kernel has a duration > 0 ($bad without)"
corrs=$(awk -F'|' '$1 == "kernel" && $3 > 0 { print $3 }' "$OUT/gpu_trace.rows" | sort -u | wc -l)
[ "$corrs" = "$kernels" ]; check $? "every kernel has its own correlation id ($corrs distinct)"
n=$(grep -c '^memcpy|' "$OUT/gpu_trace.rows")
[ "$n" = 6 ]; check $? "copies in the GPU trace: $n (6 issued)"
n=$(grep -c '^memset|' "$OUT/gpu_trace.rows")
[ "$n" = 1 ]; check $? "memsets in the GPU trace: $n (1 issued)"
n=$(awk -F'|' -v d="$device" '$1 != "other" && index($4, d) != 1' "$OUT/gpu_trace.rows" | wc -l)
[ -n "$device" ] && [ "$n" = 0 ]; check $? "every GPU row is on device '$device' ($n are not)"
# cuda_api_sum: Name is the last column, Num Calls the third.
# Runtime launch calls (cudaLaunchKernel, CUDA 13's __cudaLaunchKernel...),
# not the driver's cuLaunchKernel under them; record_verify pairs each
# kernel with its own.
awk -F, 'NR > 1 && $NF ~ /^"?(__)?cuda[A-Za-z_]*Launch/ { print "  " $NF ": " $3 " calls" }' "$OUT/api_sum.csv"
launches=$(awk -F, 'NR > 1 && $NF ~ /^"?(__)?cuda[A-Za-z_]*LaunchKernel/ { n += $3 } END { print n + 0 }' \
	"$OUT/api_sum.csv")
[ "$launches" -ge 7 ]; check $? "runtime launch calls in cuda_api_sum: $launches (7 launches)"
versioned=$(awk -F, 'NR > 1 && $NF ~ /_v[0-9]+"?$/' "$OUT/api_sum.csv" | wc -l)
[ "$versioned" = 0 ]; check $? "API names without CUPTI's version suffix ($versioned with)"
syncs=$(awk '$1 == "sync" { print $2 }' "$OUT/info.txt" | head -n 1)
[ "${syncs:-0}" -ge 5 ]; check $? "synchronizations in tstop info: ${syncs:-0} (>= 5 made)"
grep -qF "$device" "$OUT/info.txt"
[ $? = 0 ] && [ -n "$device" ]; check $? "tstop info shows the device"

echo "--- record_verify"
"$build/record_verify" "$OUT/cuda.sbt" "$OUT/sample.out" | tee "$OUT/verify.txt"
[ "${PIPESTATUS[0]}" = 0 ]; check $? "record_verify"

echo "=== summary: $failures failed, $(($(date +%s) - t_start)) s"
[ -n "${present[unwind]:-}" ] || echo "NOTE: libunwind is missing here; the collector used a stand-in (glibc backtrace)"
[ -n "${present[cmocka]:-}" ] || echo "NOTE: cmocka is missing here; unit tests were not built"
if [ $failures = 0 ]; then
	[ "$fake" = 1 ] && echo "RECORD CHECK PASSED (rehearsal with the stand-in CUPTI, not a GPU)" ||
		echo "RECORD CHECK PASSED"
	exit 0
fi
echo "RECORD CHECK FAILED"
exit 1
