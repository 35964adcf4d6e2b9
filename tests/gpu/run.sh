#!/usr/bin/env bash
# tests/gpu/run.sh - build and run the CUPTI decoding check on a GPU machine.
#
# Needs an NVIDIA GPU (written for H100/H200, sm_90), its driver, and a CUDA
# 13 toolkit with CUPTI; no network, no CMake, none of tstop's libraries. It
# checks the decoder alone, linked with libcupti; the whole capture path
# (tstop record with the injected collector) is checked by
# tests/gpu/record_check.sh. Run from anywhere:
#
#   bash tests/gpu/run.sh [BUILD_DIR]        (default: /tmp/tstop-gpu-check)
#
# Environment: CUDA (toolkit root, default: the nvcc on PATH's parent, else
# /usr/local/cuda), CC (default gcc), TSTOP_GPU_CFLAGS (added to the C flags),
# TSTOP_GPU_BUILD_ONLY=1 (build, do not run: for machines without a GPU).
#
# It prints nvidia-smi and the versions first, builds the CUDA sample and
# tests/gpu/cupti_check (linking libcupti directly), runs the sample alone,
# then the check, and exits with the check's status: 0 passed, 1 a check
# failed, 2 could not run. Takes well under a minute once compiled.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# The GPU machines keep their compiler there.
[ -d /opt/gcc/bin ] && PATH=/opt/gcc/bin:$PATH
root=$(cd "$here/../.." && pwd)
build=${1:-/tmp/tstop-gpu-check}
if [ -z "${CUDA:-}" ]; then
	if command -v nvcc >/dev/null 2>&1; then
		CUDA=$(cd "$(dirname "$(command -v nvcc)")/.." && pwd)
	else
		CUDA=/usr/local/cuda
	fi
fi
NVCC=$CUDA/bin/nvcc
CC=${CC:-gcc}
mkdir -p "$build" || exit 2

echo "=== machine"
nvidia-smi || echo "nvidia-smi failed (rc $?)"
echo "CUDA toolkit: $CUDA"
"$NVCC" --version | tail -n 2

# CUPTI ships in the toolkit's lib64 or in extras/CUPTI, depending on the
# packaging.
cupti_inc=
for d in "$CUDA/include" "$CUDA/extras/CUPTI/include"; do
	[ -f "$d/cupti.h" ] && cupti_inc=$d && break
done
cupti_lib=
cupti_link=
for d in "$CUDA/lib64" "$CUDA/extras/CUPTI/lib64" "$CUDA/targets/x86_64-linux/lib"; do
	[ -e "$d/libcupti.so" ] && cupti_lib=$d && break
done
# Else a Python environment's nvidia/cuda_cupti (pip's nvidia-cuda-cupti).
if [ -z "$cupti_inc" ] || [ -z "$cupti_lib" ]; then
	for h in $(find / -xdev -path '*cuda_cupti*/include/cupti.h' 2>/dev/null | head -n 3); do
		d=$(dirname "$(dirname "$h")")
		so=$(ls "$d"/lib/libcupti.so* 2>/dev/null | head -n 1)
		[ -n "$so" ] || continue
		cupti_inc=$d/include
		cupti_lib=$d/lib
		[ -e "$d/lib/libcupti.so" ] || ln -sf "$so" "$build/libcupti.so"
		[ -e "$d/lib/libcupti.so" ] || cupti_link=$build
		break
	done
fi
if [ -z "$cupti_inc" ] || [ -z "$cupti_lib" ]; then
	echo "FAIL: CUPTI not found under $CUDA (include: '$cupti_inc', lib: '$cupti_lib')"
	exit 2
fi
echo "CUPTI: headers $cupti_inc, library $cupti_lib"

echo "=== build"
arch="-gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90"
# Warnings are shown but do not stop a run on a machine whose compiler may be
# newer than the one the code was checked with (TSTOP_GPU_CFLAGS=-Werror adds it).
cflags="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter ${TSTOP_GPU_CFLAGS:-}"
set -x
"$NVCC" $arch -O2 -std=c++17 -lineinfo -I"$root/samples/cuda" -c "$root/samples/cuda/streams_work.cu" \
	-o "$build/streams_work.o" &&
	"$NVCC" $arch -O2 -std=c++17 "$root/samples/cuda/streams.cu" "$build/streams_work.o" -o "$build/streams" &&
	"$CC" $cflags -I"$root/src" -I"$cupti_inc" -I"$CUDA/include" -c "$root/src/capture/cupti/cupti_decode.c" \
		-o "$build/cupti_decode.o" &&
	"$CC" $cflags -I"$root/src" -c "$root/src/util/xalloc.c" -o "$build/xalloc.o" &&
	"$CC" $cflags -I"$root/src" -I"$root/samples/cuda" -I"$cupti_inc" -I"$CUDA/include" \
		-c "$root/tests/gpu/cupti_check.c" -o "$build/cupti_check.o" &&
	"$NVCC" $arch "$build/cupti_check.o" "$build/cupti_decode.o" "$build/xalloc.o" "$build/streams_work.o" \
		-L"${cupti_link:-$cupti_lib}" -lcupti -lpthread -Xlinker -rpath="$cupti_lib" -o "$build/cupti_check"
status=$?
set +x
[ $status -eq 0 ] || { echo "FAIL: build failed"; exit 2; }
[ "${TSTOP_GPU_BUILD_ONLY:-0}" = 1 ] && { echo "built (TSTOP_GPU_BUILD_ONLY=1: not running)"; exit 0; }

echo "=== sample alone"
timeout 60 "$build/streams"
echo "streams exit status: $?"

echo "=== CUPTI check"
timeout 120 "$build/cupti_check"
rc=$?
echo "cupti_check exit status: $rc"
exit $rc
