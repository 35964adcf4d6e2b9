#!/usr/bin/env bash
# What a program records in its own atexit handlers reaches the session:
# the collector registers its exit handler when it is loaded, before the
# program's, so the program's handlers run first. A small program that
# registers an atexit handler before its first NVTX call, and pushes a range
# in it, is built here and recorded; nvtx_sum must hold that range.
# Usage: bash record_atexit.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
BUILD=$(dirname "$TSTOP")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
nvtx=$(sed -n 's/^NVTX3_INCLUDE_DIR:PATH=//p' "$BUILD/CMakeCache.txt")
case "$nvtx" in
"" | *NOTFOUND)
	echo "skipped: no NVTX v3 headers in this build"
	exit 0
	;;
esac
export XDG_RUNTIME_DIR="$tmp/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR" || fail "cannot make $XDG_RUNTIME_DIR"

cat >"$tmp/late.c" <<'C'
#include <stdlib.h>
#include <nvtx3/nvToolsExt.h>
static void late(void)
{
	nvtxRangePushA("in_atexit");
	nvtxRangePop();
}
int main(void)
{
	atexit(late);
	nvtxMarkA("main");
	return 0;
}
C
cc -O1 -I"$nvtx" "$tmp/late.c" -o "$tmp/late" -ldl || fail "cannot build the test program"
"$TSTOP" record -o "$tmp/run" -- "$tmp/late" >"$tmp/out" 2>"$tmp/err" || fail "record exited $?: $(cat "$tmp/err")"
"$TSTOP" stats "$tmp/run.sbt" --report nvtx_sum --format csv >"$tmp/nvtx.csv" || fail "stats failed"
grep -q ',PushPop,in_atexit$' "$tmp/nvtx.csv" || fail "the range pushed in an atexit handler is missing: $(cat "$tmp/nvtx.csv")"
echo "ok: a range recorded in an atexit handler reached the session"
