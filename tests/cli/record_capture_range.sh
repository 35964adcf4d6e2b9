#!/usr/bin/env bash
# `tstop record --capture-range nvtx:NAME[@DOMAIN] [--capture-range-end
# stop|repeat]`: capture is off until an NVTX range NAME starts, on while one
# is open, off when it ends; "stop" (the default) ends capture in that
# process at the first end, "repeat" captures every such range. The target
# (tests/support/nvtx_target.c, "phases") runs N iterations of a range
# "warmup" (holding "w.step" and a mark) then "measure" (holding "m.step"
# and a mark), "measure" pushed/popped, started/ended, or pushed in the
# domain "tstop.test". `tstop stats --report nvtx_sum` must show exactly the
# "measure" ranges and what they hold, never "warmup" or "w.step"; `tstop
# info`, the marks inside them and no lost event. A fork child follows its
# own ranges. The OpenCL sample, which has no NVTX range, runs unchanged
# and records nothing. Usage errors are refused.
# Usage: bash record_capture_range.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
BUILD=$(dirname "$TSTOP")
TARGET="$BUILD/tests/tstop-test-nvtx"
OPENCL="$BUILD/samples/opencl/tstop-sample-opencl"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
cd "$tmp" || fail "cannot enter $tmp"
if [ ! -x "$TARGET" ]; then
	if grep -q '^NVTX3_INCLUDE_DIR:PATH=.*NOTFOUND' "$BUILD/CMakeCache.txt"; then
		echo "skipped: no NVTX v3 headers, so no NVTX test target in this build"
		exit 0
	fi
	fail "$TARGET was not built"
fi
export XDG_RUNTIME_DIR="$tmp/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset TSTOP_INJECT_LIBRARY

# --- usage errors ----------------------------------------------------------------------
for bad in measure nvtx: "nvtx:@dom" "nvtx:x@" "cuda:x"; do
	"$TSTOP" record --capture-range "$bad" -- true >/dev/null 2>err.txt
	rc=$?
	[ "$rc" = 125 ] || fail "--capture-range '$bad': exit $rc, expected 125"
	grep -q -- '--capture-range takes nvtx:NAME' err.txt || fail "--capture-range '$bad': $(cat err.txt)"
done
"$TSTOP" record --capture-range nvtx:x --capture-range-end never -- true >/dev/null 2>err.txt
[ $? = 125 ] && grep -q 'takes stop or repeat' err.txt || fail "--capture-range-end never: $(cat err.txt)"
"$TSTOP" record --capture-range-end repeat -- true >/dev/null 2>err.txt
[ $? = 125 ] && grep -q 'needs a --capture-range' err.txt || fail "--capture-range-end alone: $(cat err.txt)"

# run NAME RANGE END ARGS...: records the target into NAME.sbt and leaves
# "COUNT STYLE NAME" lines of its nvtx_sum report in NAME.txt, sorted.
run() {
	local name=$1 range=$2 end=$3
	shift 3
	"$TSTOP" record -o "$name" --capture-range "$range" --capture-range-end "$end" -- "$TARGET" "$@" \
		>"$name.out" 2>"$name.err"
	local rc=$?
	[ "$rc" = 0 ] || fail "$name: record exited $rc: $(cat "$name.err")"
	"$TSTOP" stats "$name.sbt" --report nvtx_sum --format csv >"$name.csv" 2>stats.err ||
		fail "$name: stats: $(cat stats.err)"
	awk -F, 'NR > 1 { print $3, $9, $10 }' "$name.csv" | sort >"$name.txt"
	"$TSTOP" info "$name.sbt" >"$name.info" 2>&1 || fail "$name: info: $(cat "$name.info")"
	grep -q '^lost events (0)' "$name.info" || fail "$name: events counted lost: $(cat "$name.info")"
}

# expect NAME N STYLE: exactly N "measure" of STYLE, N "m.step", N marks.
expect() {
	local name=$1 n=$2 style=$3
	printf '%s PushPop m.step\n%s %s measure\n' "$n" "$n" "$style" | sort >want.txt
	diff want.txt "$1.txt" >/dev/null || fail "$name: expected $(tr '\n' ';' <want.txt) got $(tr '\n' ';' <"$1.txt")"
	grep -Eq "^  nvtx_mark +$n\$" "$name.info" || fail "$name: not $n marks: $(grep nvtx_mark "$name.info")"
}

run pp_repeat nvtx:measure repeat phases 5 pushpop
expect pp_repeat 5 PushPop
run pp_stop nvtx:measure stop phases 5 pushpop
expect pp_stop 1 PushPop
run se_repeat nvtx:measure repeat phases 4 startend
expect se_repeat 4 StartEnd
run se_stop nvtx:measure stop phases 4 startend
expect se_stop 1 StartEnd
run dom_repeat nvtx:measure@tstop.test repeat phases 3 domain
expect dom_repeat 3 PushPop
# A range of another domain is not the range: the default domain's only.
run dom_other nvtx:measure repeat phases 3 domain
[ ! -s dom_other.txt ] || fail "ranges of another domain opened capture: $(cat dom_other.txt)"
# "any" alternates domains: default on even iterations, tstop.test on odd.
run any_default nvtx:measure repeat phases 6 any
expect any_default 3 PushPop
run any_star 'nvtx:measure@*' repeat phases 6 any
expect any_star 6 PushPop
grep -q 'capture_options: -o any_star --capture-range nvtx:measure@\* --capture-range-end repeat' any_star.info ||
	fail "the options are not in the metadata: $(cat any_star.info)"

# --- each process follows its own ranges ----------------------------------------------
run fork_repeat nvtx:measure repeat phases 4 pushpop fork
expect fork_repeat 6 PushPop
grep -q '^processes (2)' fork_repeat.info || fail "fork: not two processes: $(cat fork_repeat.info)"
run fork_stop nvtx:measure stop phases 4 pushpop fork
expect fork_stop 2 PushPop

# --- OpenCL without NVTX ranges: nothing captured, the program unchanged --------------
if [ -x "$OPENCL" ]; then
	"$TSTOP" record -o ocl --capture-range nvtx:measure -- "$OPENCL" >ocl.out 2>ocl.err
	rc=$?
	if [ "$rc" = 77 ]; then
		echo "note: no OpenCL device; the OpenCL part is skipped"
	else
		[ "$rc" = 0 ] || fail "OpenCL sample under a capture range exited $rc: $(cat ocl.err)"
		grep -q '^check ok' ocl.out || fail "the OpenCL sample's checks failed: $(cat ocl.out)"
		grep -q 'recorded 0 events' ocl.err || fail "OpenCL events outside any range: $(cat ocl.err)"
	fi
fi
echo "ok"
