#!/usr/bin/env bash
# Attach cycles on an OpenCL program (PoCL's CPU device where there is no
# GPU): `tstop launch` starts samples/opencl dormant, repeating its whole
# workload long enough; three sessions attach, capture for a while and
# detach, one after the other. Each session holds OpenCL kernels with
# durations > 0 (all four kernel names of the sample across the sessions)
# and copies, its process detached; it starts after the previous one ended
# and loses nothing but commands that could not be timed at its two ends.
# The program then ends by itself with status 0, printing exactly its
# repeat count times what one workload issues, and "check ok": its own
# checks of every event it kept passed in every repeat, detaches in the
# middle of its commands included (the collector releases the events it
# made for an ended session and leaves the program's own alone).
# Usage: bash attach_opencl_cycle.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
BUILD=$(dirname "$TSTOP")
SAMPLE="$BUILD/samples/opencl/tstop-sample-opencl"

tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		{ kill -KILL "$p" && wait "$p"; } 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
cd "$tmp" || fail "cannot enter $tmp"
if [ ! -x "$SAMPLE" ]; then
	if grep -q '^OpenCL_LIBRARY:FILEPATH=/' "$BUILD/CMakeCache.txt" 2>/dev/null; then
		fail "OpenCL was found but $SAMPLE was not built"
	fi
	echo "skipped: this build has no OpenCL"
	exit 0
fi
export XDG_RUNTIME_DIR="$tmp/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset TSTOP_INJECT_LIBRARY TSTOP_SOCKET TSTOP_ATTACH TSTOP_ATTACH_DIR LD_PRELOAD

# One workload alone: what it issues, and how long ten of them take here
# (PoCL also caches the compiled kernels on the way).
t0=$(date +%s%N)
env "$SAMPLE" --repeat 1 >one.out 2>one.err
rc=$?
t1=$(date +%s%N)
one_ms=$(((t1 - t0) / 1000000 + 1))
if [ "$rc" = 77 ]; then
	echo "skipped: no OpenCL device on this machine ($(cat one.err))"
	exit 0
fi
[ "$rc" = 0 ] || fail "the sample alone exited $rc: $(cat one.err)"
# Device commands of one workload: kernels, copies and fills.
per_run=$(awk '$1 == "kernel" || $1 == "copy" { n += $3 } $1 == "memset" { n += $2 } END { print n }' one.out)
t0=$(date +%s%N)
"$SAMPLE" --repeat 10 >ten.out 2>&1 || fail "the sample --repeat 10 failed: $(cat ten.out)"
t1=$(date +%s%N)
ten_ms=$(((t1 - t0) / 1000000 + 1))
# One more repeat costs about (ten - one) / 9 (start-up and kernel builds
# cancel out). The sessions below need about ten_ms (the wait before the
# first) + 3 * (window + 1.5 s of attach and detach, more with a sanitized
# tstop on a loaded machine) + 1 s; the sample runs about twice that.
per_ms=$(((ten_ms - one_ms) / 9))
((per_ms < 1)) && per_ms=1
window_ms=$((ten_ms / 5 > 800 ? ten_ms / 5 : 800))
need_ms=$((ten_ms + 3 * (window_ms + 1500) + 1000))
repeat=$((2 * need_ms / per_ms))
((repeat < 40)) && repeat=40
((repeat > 20000)) && repeat=20000

# wait_socket PID: waits until PID's attach socket is there.
wait_socket() {
	for _ in $(seq 500); do
		[ -S "$XDG_RUNTIME_DIR/tstop-attach-$1" ] && return
		kill -0 "$1" 2>/dev/null || fail "pid $1 ended before it opened its attach socket"
		sleep 0.02
	done
	fail "pid $1 opened no attach socket: $(ls -l "$XDG_RUNTIME_DIR")"
}
# count NAME KIND: the number of events of KIND in NAME's info.
count() {
	awk -v k="$2" '$1 == k { print $2 }' "$1.info"
}
# span NAME FIELD: the session's first (1) or last (2) time.
span() {
	sed -n "s/^  duration .* from \([0-9]*\) to \([0-9]*\) ns.*/\\$2/p" "$1.info"
}
# session NAME: attach for 0.8 s into NAME.sbt and check the session.
session() {
	local name=$1
	kill -0 "$pid" 2>/dev/null || fail "before session $name the sample had ended: $(cat cycle.out cycle.err)"
	"$TSTOP" attach -o "$name" --duration "$window" "$pid" 2>"$name.err" ||
		fail "attach $name exited $?: $(cat "$name.err")"
	grep -q "capture stopped; pid $pid runs on" "$name.err" || fail "$name: no stop message: $(cat "$name.err")"
	"$TSTOP" info "$name.sbt" >"$name.info" 2>"$name.ierr" || fail "info $name: $(cat "$name.ierr")"
	[ ! -s "$name.ierr" ] || fail "info $name warned: $(cat "$name.ierr")"
	grep -q '^  tail  *complete' "$name.info" || fail "$name.sbt is not complete"
	grep -q '^processes (1)' "$name.info" || fail "$name: not one process: $(cat "$name.info")"
	grep -Eq "^  $pid +[0-9]+ +detached +.*tstop-sample-opencl" "$name.info" ||
		fail "$name: pid $pid not detached: $(cat "$name.info") $(cat cycle.out cycle.err)"
	# Losses: only commands the OpenCL backend could not time, at most
	# one workload's worth at each end of the session (those of queues
	# created before the attach, which has no profiling forced on them, and
	# those still running at the detach); never ring, torn or invalid ones.
	awk '/^lost events \(/ { l = 1; next } l && /^$/ { l = 0 } l && $1 ~ /^[0-9]+$/ { print $3, $2 }' \
		"$name.info" >"$name.lost"
	awk -v max="$((2 * per_run))" '$1 != "opencl" || $2 > max { bad = 1 } END { exit bad }' "$name.lost" ||
		fail "$name: events lost: $(cat "$name.info")"
	[ "$(count "$name" kernel)" -gt 0 ] || fail "$name: no OpenCL kernels: $(cat "$name.info")"
	[ "$(count "$name" memcpy)" -gt 0 ] || fail "$name: no OpenCL copies: $(cat "$name.info")"
	"$TSTOP" stats --report cuda_gpu_kern_sum --format csv "$name.sbt" >"$name.kern" 2>"$name.kerr" ||
		fail "stats $name: $(cat "$name.kerr")"
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		NF { n++; if ($(c["Min (ns)"]) <= 0) bad = 1 } END { exit bad || !n }' "$name.kern" ||
		fail "$name: a kernel with a zero duration, or none: $(cat "$name.kern")"
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } NF { print $(c["Name"]) }' \
		"$name.kern" >>kernels.seen
}

"$TSTOP" launch -q -- "$SAMPLE" --repeat "$repeat" >cycle.out 2>cycle.err &
pid=$!
pids+=("$pid")
wait_socket "$pid"
# The socket opens at the first OpenCL call, before PoCL has built the
# kernels; a loaded machine (CI runs tests in parallel, tstop sanitized)
# can take longer than a session to get there. Wait as long as ten whole
# runs took, and make each session long enough for one whole run.
sleep "$(awk -v ms="$ten_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
window=$(awk -v ms="$window_ms" 'BEGIN { printf "%.3f", ms / 1000 }')
session one
sleep 0.2
session two
[ "$(span two 1)" -gt "$(span one 2)" ] || fail "session two does not start after session one ends"
sleep 0.2
session three
[ "$(span three 1)" -gt "$(span two 2)" ] || fail "session three does not start after session two ends"
kill -0 "$pid" 2>/dev/null || fail "the sample ended before the three sessions did ($repeat repeats)"
for k in scale spin saxpy reduce_task; do
	grep -qx "$k" kernels.seen || fail "kernel $k was in no session: $(sort -u kernels.seen)"
done

wait "$pid"
rc=$?
[ "$rc" = 0 ] || fail "the sample attached three times exited $rc: $(cat cycle.err)"
[ ! -s cycle.err ] || fail "the sample or the collector wrote to stderr: $(cat cycle.err)"
grep -qx "check ok" cycle.out || fail "the sample's checks failed: $(cat cycle.out)"
# Every count is the repeat count times one workload's.
awk -v n="$repeat" '$1 == "device" || $1 == "queues" || $1 == "check" { print; next }
	{ $NF = $NF * n; print }' one.out >expect.out
diff -u expect.out cycle.out || fail "the sample attached three times issued something else"
[ ! -e "$XDG_RUNTIME_DIR/tstop-attach-$pid" ] || fail "the sample left its attach socket"
echo "ok ($repeat repeats)"
