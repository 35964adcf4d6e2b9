#!/usr/bin/env bash
# End-to-end symbolization of call stacks through the real binaries:
# `tstop record` runs samples/opencl (stacks are on by default; PoCL's CPU
# device where there is no GPU), and the frames of the session, listed by
# `test_symbolize --frames`, must show:
#   - the sample's own functions by name, static ones included (sample_wait,
#     sample_finish: only in .symtab; sample_run, inlined into main: from
#     DWARF), every frame in the sample's executable with a function;
#   - file:line in the sample's source for those frames, within the file,
#     and the right lines: the sample_wait frame on the line that calls
#     clWaitForEvents, the sample_finish frame on the line that calls
#     clFinish (the call's line: pc - 1 is looked up, not the return
#     address);
# and with --no-stacks, no frames at all. Then a small OpenCL program built
# here as a non-PIE executable (when cc and the OpenCL headers are there):
# its static function and the call's line resolve too (ELF addresses are
# the pcs there, not offsets from 0).
# A tstop built without libdw must say so once and still record the frames
# with their modules.
# Usage: bash record_stacks.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -euo pipefail
TSTOP=$1
SRC=$3
BUILD=$(dirname "$TSTOP")
SAMPLE=$BUILD/samples/opencl/tstop-sample-opencl
SOURCE=$SRC/samples/opencl/opencl_sample.c
LIST=$BUILD/tests/test_symbolize

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

if [ ! -x "$SAMPLE" ]; then
	# Only a build that found no OpenCL may lack the sample.
	if grep -q '^OpenCL_LIBRARY:FILEPATH=/' "$BUILD/CMakeCache.txt" 2>/dev/null; then
		fail "OpenCL was found but $SAMPLE was not built"
	fi
	echo "skipped: this build has no OpenCL"
	exit 0
fi
[ -x "$LIST" ] || fail "no $LIST to list frames with"
set +e
env -u TSTOP_SOCKET -u LD_PRELOAD "$SAMPLE" >"$tmp/plain.out" 2>"$tmp/plain.err"
rc=$?
set -e
if [ "$rc" = 77 ]; then
	echo "skipped: no OpenCL device on this machine ($(cat "$tmp/plain.err"))"
	exit 0
fi
[ "$rc" = 0 ] || fail "the sample alone exited $rc: $(cat "$tmp/plain.err")"

"$TSTOP" record -o "$tmp/run" -- "$SAMPLE" >"$tmp/rec.out" 2>"$tmp/rec.err" ||
	fail "tstop record exited $?: $(cat "$tmp/rec.err")"
"$LIST" --frames "$tmp/run.sbt" >"$tmp/frames" || fail "cannot list the frames"
[ -s "$tmp/frames" ] || fail "the session has no frames"
exe=$(readlink -f "$SAMPLE")
# Frames in the sample's executable: function, file, line.
awk -F'\t' -v m="$exe" '$4 == m' "$tmp/frames" >"$tmp/own"
[ -s "$tmp/own" ] || fail "no frame in $exe: $(cut -f4 "$tmp/frames" | sort -u | tr '\n' ' ')"

if ! grep -q '^LIBDW_FOUND:INTERNAL=1' "$BUILD/CMakeCache.txt"; then
	[ "$(grep -c 'built without elfutils libdw' "$tmp/rec.err")" = 1 ] ||
		fail "no single note on the missing libdw: $(cat "$tmp/rec.err")"
	echo "ok (built without libdw: frames keep module and dynamic symbol)"
	exit 0
fi
! grep -q 'call stacks:' "$tmp/rec.err" || fail "notes about symbolization: $(cat "$tmp/rec.err")"

nlines=$(wc -l <"$SOURCE")
awk -F'\t' '$1 == ""' "$tmp/own" | grep -q . && fail "frames in the sample without a function: $(
	awk -F'\t' '$1 == ""' "$tmp/own" | head -3)"
for fn in sample_run sample_wait sample_finish; do
	awk -F'\t' -v f="$fn" '$1 == f' "$tmp/own" | grep -q . ||
		fail "no frame in $fn: $(cut -f1 "$tmp/own" | sort -u | tr '\n' ' ')"
done
# Every frame in a sample_* function: the sample's source, a line inside it.
awk -F'\t' -v n="$nlines" '$1 ~ /^sample_/ && !($2 ~ /\/samples\/opencl\/opencl_sample\.c$/ && $3 > 0 && $3 <= n)' \
	"$tmp/own" >"$tmp/bad"
[ ! -s "$tmp/bad" ] || fail "frames without the sample's file:line: $(head -3 "$tmp/bad")"
# The line of the call.
calls_on_line() { # FUNCTION CALLEE: some frame of FUNCTION is on a line calling CALLEE
	local line
	for line in $(awk -F'\t' -v f="$1" '$1 == f { print $3 }' "$tmp/own"); do
		sed -n "${line}p" "$SOURCE" | grep -q "$2(" && return 0
	done
	return 1
}
calls_on_line sample_wait clWaitForEvents ||
	fail "sample_wait frames are not on the clWaitForEvents line: $(awk -F'\t' '$1 == "sample_wait"' "$tmp/own")"
calls_on_line sample_finish clFinish ||
	fail "sample_finish frames are not on the clFinish line: $(awk -F'\t' '$1 == "sample_finish"' "$tmp/own")"

# --- --no-stacks: nothing to symbolize -----------------------------------------------
"$TSTOP" record --no-stacks -o "$tmp/nostacks" -- "$SAMPLE" >/dev/null 2>"$tmp/nostacks.err" ||
	fail "tstop record --no-stacks exited $?: $(cat "$tmp/nostacks.err")"
"$LIST" --frames "$tmp/nostacks.sbt" >"$tmp/nostacks.frames" || fail "cannot list the frames"
[ ! -s "$tmp/nostacks.frames" ] || fail "--no-stacks recorded frames"

# --- a non-PIE executable ---------------------------------------------------------------
CC=${CC:-cc}
cat >"$tmp/nopie.c" <<'EOF'
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

/* Static: only .symtab names it. */
static cl_int nopie_write(cl_command_queue q, cl_mem m, const float *x, size_t n)
{
	return clEnqueueWriteBuffer(q, m, CL_TRUE, 0, n * sizeof(float), x, 0, NULL, NULL); /* THE CALL */
}

int main(void)
{
	cl_platform_id plats[8];
	cl_uint np = 0;
	cl_device_id dev = NULL;
	if (clGetPlatformIDs(8, plats, &np) != CL_SUCCESS)
		return 77;
	for (cl_uint i = 0; i < np && i < 8 && !dev; i++)
		if (clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, 1, &dev, NULL) != CL_SUCCESS)
			dev = NULL;
	if (!dev)
		return 77;
	cl_int rc;
	cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &rc);
	if (rc != CL_SUCCESS)
		return 1;
	cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &rc);
	if (rc != CL_SUCCESS)
		return 1;
	static float x[1024];
	cl_mem m = clCreateBuffer(ctx, CL_MEM_READ_WRITE, sizeof(x), NULL, &rc);
	if (rc != CL_SUCCESS || nopie_write(q, m, x, 1024) != CL_SUCCESS || clFinish(q) != CL_SUCCESS)
		return 1;
	clReleaseMemObject(m);
	clReleaseCommandQueue(q);
	clReleaseContext(ctx);
	return 0;
}
EOF
if ! "$CC" -std=c11 -g -O0 -fno-pie -no-pie -o "$tmp/nopie" "$tmp/nopie.c" -lOpenCL 2>"$tmp/cc.err"; then
	echo "ok (the non-PIE check skipped: cannot build an OpenCL program here: $(head -1 "$tmp/cc.err"))"
	exit 0
fi
LC_ALL=C readelf -h "$tmp/nopie" 2>/dev/null | grep -q 'Type: *EXEC' || {
	echo "ok (the non-PIE check skipped: $CC did not make a non-PIE executable)"
	exit 0
}
"$TSTOP" record -o "$tmp/nopie-run" -- "$tmp/nopie" >/dev/null 2>"$tmp/nopie.err" ||
	fail "tstop record of the non-PIE program exited $?: $(cat "$tmp/nopie.err")"
"$LIST" --frames "$tmp/nopie-run.sbt" >"$tmp/nopie.frames" || fail "cannot list the frames"
line=$(grep -n 'THE CALL' "$tmp/nopie.c" | cut -d: -f1)
awk -F'\t' -v m="$(readlink -f "$tmp/nopie")" -v l="$line" \
	'$4 == m && $1 == "nopie_write" && $2 ~ /\/nopie\.c$/ && $3 == l { ok = 1 } END { exit !ok }' \
	"$tmp/nopie.frames" || fail "non-PIE: no nopie_write frame at nopie.c:$line: $(cat "$tmp/nopie.frames")"
echo "ok"
