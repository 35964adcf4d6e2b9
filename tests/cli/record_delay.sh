#!/usr/bin/env bash
# `tstop record --delay S`: nothing is captured during the first S seconds,
# then capture runs as usual; `--duration` counts from the end of the delay.
# The target (tests/support/nvtx_target.c, "ticks") pushes a range "outer"
# and then one short range "tick EEEEE" every 50 ms, EEEEE being its ms since
# start: with --delay 1, no tick of the first half second may be in the
# file, every tick from 1.6 s on must be (bounds generous on purpose: the
# test checks the mechanism, not the timer), "outer" (pushed during the
# delay) is not recorded and its pop is no anomaly; with --delay 1
# --duration 0.5, ticks after 2.3 s are not in the file either.
# Usage: bash record_delay.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
BUILD=$(dirname "$TSTOP")
TARGET="$BUILD/tests/tstop-test-nvtx"

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

# The tick times (ms) of the ranges in FILE.sbt, one a line, sorted.
ticks() {
	"$TSTOP" stats "$1" --report nvtx_sum --format csv >"$1.csv" 2>stats.err || fail "stats $1: $(cat stats.err)"
	awk -F, 'NR > 1 && $10 ~ /^tick [0-9]+$/ { split($10, a, " "); print a[2] + 0 }' "$1.csv" | sort -n
}

# --- usage errors ----------------------------------------------------------------------
for bad in -1 abc 1e9 ""; do
	"$TSTOP" record --delay "$bad" -- true >/dev/null 2>err.txt
	rc=$?
	[ "$rc" = 125 ] || fail "--delay '$bad': exit $rc, expected 125"
	grep -q -- '--delay needs a number of seconds' err.txt || fail "--delay '$bad': $(cat err.txt)"
done
"$TSTOP" attach --delay 1 1 >/dev/null 2>err.txt
rc=$?
[ "$rc" = 2 ] || fail "attach --delay: exit $rc, expected 2"
grep -q 'attach later instead' err.txt || fail "attach --delay: $(cat err.txt)"

# --- the delay -------------------------------------------------------------------------
"$TSTOP" record -o delay --delay 1 -- "$TARGET" ticks 50 50 >target.out 2>record.err
rc=$?
[ "$rc" = 0 ] || fail "record --delay exited $rc: $(cat record.err)"
last=$(awk -F'\t' '$1 == "last_ms" { print $2 }' target.out)
[ -n "$last" ] && [ "$last" -ge 2000 ] || fail "the target ran too short: $(cat target.out)"
ticks delay.sbt >got.txt
[ -s got.txt ] || fail "no tick recorded after the delay: $(cat delay.sbt.csv)"
early=$(awk '$1 < 500' got.txt | head -3)
[ -z "$early" ] || fail "ticks of the first half second were recorded: $early"
# Every tick the target made from 1.6 s on is in the file.
late=$(awk '$1 >= 1600' got.txt | wc -l)
min_late=$(((last - 1600) / 60))
[ "$late" -ge "$min_late" ] || fail "only $late ticks after 1.6 s recorded, expected at least $min_late: $(tr '\n' ' ' <got.txt)"
grep -q ',outer$' delay.sbt.csv && fail "the range pushed during the delay was recorded"
"$TSTOP" info delay.sbt >info.txt 2>&1 || fail "info: $(cat info.txt)"
grep -q '^lost events (0)' info.txt || fail "events counted lost (an unmatched pop?): $(cat info.txt)"
grep -q 'capture_options: -o delay --delay 1' info.txt || fail "the options are not in the metadata: $(cat info.txt)"
nticks=$(wc -l <got.txt)
grep -q "recorded $nticks events" record.err || fail "summary does not match the file ($nticks ticks): $(cat record.err)"

# --- the duration counts from the end of the delay -------------------------------------
"$TSTOP" record -o dur --delay 1 --duration 0.5 -- "$TARGET" ticks 50 50 >target.out 2>record.err
rc=$?
[ "$rc" = 0 ] || fail "record --delay --duration exited $rc: $(cat record.err)"
grep -q 'capture stopped' record.err || fail "no 'capture stopped' note: $(cat record.err)"
ticks dur.sbt >got.txt
[ -s got.txt ] || fail "nothing recorded between the delay and the duration"
bad=$(awk '$1 < 500 || $1 > 2300' got.txt | head -3)
[ -z "$bad" ] || fail "ticks outside delay + duration were recorded: $bad"
# tstop left the target running; let it finish before the directory goes.
sleep 2
echo "ok"
