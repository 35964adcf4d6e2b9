#!/usr/bin/env bash
# `tstop record` end to end on the NVTX sample (samples/nvtx, no GPU): the
# ranges per name and style that `tstop stats --report nvtx_sum` finds are
# exactly those the sample says it emitted, and so are the marks, the
# totals and the thread names; a target that exits 3 makes tstop exit 3; a
# target killed by SIGKILL mid-run gives 137 and a complete file with what
# was captured; tstop itself killed by SIGKILL mid-run leaves the target to
# finish normally and a file that opens up to its cut-off tail.
# Usage: bash record_nvtx.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
BUILD=$(dirname "$TSTOP")
SAMPLE="$BUILD/samples/nvtx/tstop-sample-nvtx"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
cd "$tmp" || fail "cannot enter $tmp"
if [ ! -x "$SAMPLE" ]; then
	# The sample is built whenever the NVTX v3 headers are found.
	if grep -q '^NVTX3_INCLUDE_DIR:PATH=.*NOTFOUND' "$BUILD/CMakeCache.txt"; then
		echo "skipped: no NVTX v3 headers, so no NVTX sample in this build"
		exit 0
	fi
	fail "$SAMPLE was not built"
fi
export XDG_RUNTIME_DIR="$tmp/xdg"
# In a sanitizer build the sample is instrumented too, and AddressSanitizer
# refuses to start behind a preloaded library (the collector) unless told.
if ldd "$SAMPLE" | grep -q libasan; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
fi
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset TSTOP_INJECT_LIBRARY

# --- exact counts ------------------------------------------------------------------
"$TSTOP" record -o nvtx -- "$SAMPLE" -n 60 >sample.out 2>record.err
rc=$?
[ "$rc" = 0 ] || fail "record of the sample exited $rc: $(cat record.err)"
grep -q '^total	ranges' sample.out || fail "the sample printed no totals: $(cat sample.out)"
"$TSTOP" info nvtx.sbt >info.txt 2>info.err || fail "info: $(cat info.err)"
[ ! -s info.err ] || fail "info warned: $(cat info.err)"
"$TSTOP" stats nvtx.sbt --report nvtx_sum --format csv >nvtx.csv 2>stats.err || fail "stats: $(cat stats.err)"
head -1 nvtx.csv | grep -q ',Instances,.*,Style,Range$' || fail "unexpected nvtx_sum columns: $(head -1 nvtx.csv)"

# Every range line of the sample: the same count under its style and name.
nranges=0
while IFS=$'\t' read -r kind style domain name count; do
	[ "$kind" = range ] || continue
	nranges=$((nranges + 1))
	got=$(awk -F, -v s="$style" -v n="$name" 'NR > 1 && $9 == s && $10 == n { print $3 }' nvtx.csv)
	[ "$got" = "$count" ] || fail "range $style/$domain/$name: sample emitted $count, tstop stats shows '${got}'"
done <sample.out
[ "$nranges" -ge 8 ] || fail "only $nranges range lines in the sample's output"
# Nothing else in the report.
rows=$(($(wc -l <nvtx.csv) - 1))
[ "$rows" = "$nranges" ] || fail "nvtx_sum has $rows rows, the sample emitted $nranges kinds of range"

total_ranges=$(awk -F'\t' '$1 == "total" && $2 == "ranges" { print $5 }' sample.out)
total_marks=$(awk -F'\t' '$1 == "total" && $2 == "marks" { print $5 }' sample.out)
grep -Eq "^  nvtx_range +$total_ranges\$" info.txt || fail "info does not show $total_ranges ranges: $(cat info.txt)"
grep -Eq "^  nvtx_mark +$total_marks\$" info.txt || fail "info does not show $total_marks marks"
grep -Eq "^events \($((total_ranges + total_marks))\)\$" info.txt || fail "other events than ranges and marks"
grep -q '^lost events (0)' info.txt || fail "events were lost: $(cat info.txt)"
grep -q "recorded $((total_ranges + total_marks)) events" record.err || fail "summary: $(cat record.err)"
# The threads, by the names the sample gave them.
while IFS=$'\t' read -r kind name _; do
	[ "$kind" = thread ] || continue
	grep -Eq "^  [0-9]+ +[0-9]+ +[0-9]+ +$name\$" info.txt || fail "no thread named $name: $(cat info.txt)"
done <sample.out
grep -Eq '^  [0-9]+ +[0-9]+ +exited 0 ' info.txt || fail "the sample did not exit 0 in the file"

# --- the target exits 3 ---------------------------------------------------------------
"$TSTOP" record -o three -- sh -c "'$SAMPLE' -n 5 >/dev/null; exit 3" 2>record.err
rc=$?
[ "$rc" = 3 ] || fail "a target that exits 3: tstop exited $rc: $(cat record.err)"
"$TSTOP" info three.sbt >info.txt 2>info.err || fail "info three.sbt: $(cat info.err)"
[ ! -s info.err ] || fail "info three.sbt warned: $(cat info.err)"
# The shell exits 3; the sample it ran is a second process of the session.
grep -q '^processes (2)' info.txt || fail "three.sbt: not two processes: $(cat info.txt)"
grep -Eq '^  [0-9]+ +[0-9]+ +exited 3 +sh -c' info.txt || fail "three.sbt: the shell did not exit 3"
grep -Eq "^  nvtx_range +$((5 * 18 + 1))\$" info.txt || fail "three.sbt: not the ranges of 5 iterations"

set -m
# start NAME ITER SPIN: records the sample in the background; sets tstop_pid,
# and target_pid once the sample runs.
start() {
	"$TSTOP" record -o "$1" -- "$SAMPLE" -n "$2" --spin-us "$3" >sample.out 2>record.err &
	tstop_pid=$!
	target_pid=
	for _ in $(seq 200); do
		target_pid=$(pgrep -P "$tstop_pid" | head -1)
		[ -n "$target_pid" ] && return
		sleep 0.02
	done
	fail "the sample did not start under tstop"
}

# --- the target killed by SIGKILL mid-run -------------------------------------------------
start killed 100 10000
sleep 0.5
kill -KILL "$target_pid"
wait "$tstop_pid"
rc=$?
[ "$rc" = 137 ] || fail "a target killed by SIGKILL: tstop exited $rc: $(cat record.err)"
"$TSTOP" info killed.sbt >info.txt 2>info.err || fail "info killed.sbt: $(cat info.err)"
[ ! -s info.err ] || fail "info killed.sbt warned: $(cat info.err)"
grep -Eq '^  [0-9]+ +[0-9]+ +killed by signal 9 ' info.txt || fail "killed.sbt: no SIGKILL: $(cat info.txt)"
grep -q '^  tail  *complete' info.txt || fail "killed.sbt is not complete"
ranges=$(awk '$1 == "nvtx_range" { print $2 }' info.txt)
[ "$ranges" -gt 0 ] || fail "killed.sbt holds no ranges"
[ "$ranges" -lt 1801 ] || fail "killed.sbt holds all $ranges ranges: the target was not killed mid-run"

# --- tstop itself killed by SIGKILL mid-run -------------------------------------------------
start cut 100 10000
sleep 0.5
kill -KILL "$tstop_pid"
wait "$tstop_pid" 2>/dev/null
t0=$(date +%s%N)
# The target finishes on its own (here nobody reaps it: a zombie or gone).
for _ in $(seq 200); do
	if [ ! -d "/proc/$target_pid" ] || grep -q '^State:.*Z' "/proc/$target_pid/status" 2>/dev/null; then
		break
	fi
	sleep 0.05
done
elapsed=$((($(date +%s%N) - t0) / 1000000))
grep -q '^total	ranges	-	-	1801$' sample.out || fail "the target did not finish after tstop died: $(cat sample.out)"
[ "$elapsed" -lt 5000 ] || fail "the target took $elapsed ms to finish after tstop died"
"$TSTOP" info cut.sbt >info.txt 2>info.err || fail "info cut.sbt: $(cat info.err)"
grep -q 'cut off' info.err || fail "info cut.sbt did not report a cut-off tail: $(cat info.err)"
grep -q '^  tail  *cut off at byte' info.txt || fail "cut.sbt: no cut-off tail in info"
ranges=$(awk '$1 == "nvtx_range" { print $2 }' info.txt)
[ "$ranges" -gt 0 ] || fail "cut.sbt holds no ranges: what was flushed before the kill is lost"
grep -q '^  command' info.txt || fail "cut.sbt lost its metadata"
echo "ok"
