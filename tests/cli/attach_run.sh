#!/usr/bin/env bash
# `tstop launch` and `tstop attach` end to end on the NVTX sample (no GPU):
# the sample started dormant keeps its pid (launch execs it) and opens an
# owner-only attach socket; attaching for about a second captures its ranges
# and marks from its named threads, with no loss and no unmatched pop
# (ranges pushed before the attach are not anomalies), and leaves it
# running, detached; a second and a third session capture again, later in
# time; a session without NVTX captures none and the next one is still
# clean; a second tstop is refused while one is attached; an interrupt
# stops a session cleanly; signals reach the program directly, and the
# socket of a killed program is swept. A sample attached twice ends normally
# with its own output and status, during the second session, which it ends
# (recorded as exited, or as ended when its parent reaped it before tstop
# could read its status), and removes its socket. --wait waits for a
# collector that starts late.
# Usage: bash attach_run.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
BUILD=$(dirname "$TSTOP")
SAMPLE="$BUILD/samples/nvtx/tstop-sample-nvtx"

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
	if grep -q '^NVTX3_INCLUDE_DIR:PATH=.*NOTFOUND' "$BUILD/CMakeCache.txt"; then
		echo "skipped: no NVTX v3 headers, so no NVTX sample in this build"
		exit 0
	fi
	fail "$SAMPLE was not built"
fi
export XDG_RUNTIME_DIR="$tmp/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
if ldd "$SAMPLE" | grep -q libasan; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
fi
unset TSTOP_INJECT_LIBRARY TSTOP_SOCKET TSTOP_ATTACH TSTOP_ATTACH_DIR

# wait_socket PID: waits until PID's attach socket is there.
wait_socket() {
	for _ in $(seq 300); do
		[ -S "$XDG_RUNTIME_DIR/tstop-attach-$1" ] && return
		sleep 0.02
	done
	fail "pid $1 opened no attach socket: $(ls -l "$XDG_RUNTIME_DIR")"
}
# attach NAME ARGS...: a session into NAME.sbt; its info in NAME.info.
attach() {
	local name=$1
	shift
	"$TSTOP" attach -o "$name" "$@" 2>"$name.err" || fail "attach $name exited $?: $(cat "$name.err")"
	"$TSTOP" info "$name.sbt" >"$name.info" 2>"$name.ierr" || fail "info $name: $(cat "$name.ierr")"
	[ ! -s "$name.ierr" ] || fail "info $name warned: $(cat "$name.ierr")"
	grep -q '^  tail  *complete' "$name.info" || fail "$name.sbt is not complete"
}
# count NAME KIND: the number of events of KIND in NAME's info.
count() {
	awk -v k="$2" '$1 == k { print $2 }' "$1.info"
}
# span NAME FIELD: the session's first (from) or last (to) time.
span() {
	sed -n "s/^  duration .* from \([0-9]*\) to \([0-9]*\) ns.*/\\$2/p" "$1.info"
}
# clean NAME PID: one process, PID, detached; NVTX captured; no loss.
clean() {
	grep -q '^processes (1)' "$1.info" || fail "$1: not one process: $(cat "$1.info")"
	grep -Eq "^  $2 +[0-9]+ +detached +.*tstop-sample-nvtx" "$1.info" || fail "$1: pid $2 not detached"
	grep -q '^lost events (0)' "$1.info" || fail "$1: events lost or anomalies counted: $(cat "$1.info")"
	[ "$(count "$1" nvtx_range)" -gt 50 ] || fail "$1: too few ranges: $(cat "$1.info")"
	[ "$(count "$1" nvtx_mark)" -gt 10 ] || fail "$1: too few marks"
	local w
	for w in worker-0 worker-1 worker-2; do
		grep -Eq "^  $2 +[0-9]+ +[0-9]+ +$w\$" "$1.info" || fail "$1: no thread named $w: $(cat "$1.info")"
	done
	grep -q "attached to pid $2 " "$1.err" || fail "$1: no attach message: $(cat "$1.err")"
	grep -q "capture stopped; pid $2 runs on" "$1.err" || fail "$1: no stop message: $(cat "$1.err")"
}

# --- a long-running sample, started dormant ----------------------------------------
"$TSTOP" launch --pid-file app.pid -- "$SAMPLE" -n 100000 --spin-us 3000 >sample.out 2>launch.err &
pid=$!
pids+=("$pid")
wait_socket "$pid"
[ "$(cat app.pid)" = "$pid" ] || fail "--pid-file holds '$(cat app.pid)', not $pid"
grep -q "attach with: tstop attach $pid\$" launch.err || fail "launch did not say how to attach: $(cat launch.err)"
[ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$SAMPLE")" ] || fail "launch did not become the sample"
[ "$(stat -c %a "$XDG_RUNTIME_DIR/tstop-attach-$pid")" = 600 ] || fail "the attach socket is not 0600"

attach one --duration 0.8 "$pid"
clean one "$pid"
attach two --duration 0.8 --no-stacks "$pid"
clean two "$pid"
[ "$(span two 1)" -gt "$(span one 2)" ] || fail "session two does not start after session one ends"
grep -q '^  capture_options: -o two --duration 0.8 --no-stacks' two.info || fail "two: options not recorded"

# A session without NVTX, then one with: the nesting was kept meanwhile.
attach none --duration 0.4 --kinds opencl "$pid"
[ "$(count none nvtx_range)" = 0 ] || fail "--kinds opencl captured NVTX ranges"
attach three --duration 0.8 "$pid"
clean three "$pid"

# One tstop at a time.
"$TSTOP" attach -o busy1 --duration 1.5 "$pid" 2>busy1.err &
first=$!
for _ in $(seq 200); do
	grep -q 'attached to pid' busy1.err 2>/dev/null && break
	sleep 0.02
done
"$TSTOP" attach -o busy2 --duration 1 "$pid" 2>busy2.err
rc=$?
[ "$rc" = 1 ] || fail "a second attach exited $rc: $(cat busy2.err)"
grep -q 'another tstop is attached' busy2.err || fail "busy: $(cat busy2.err)"
[ ! -e busy2.sbt ] || fail "a refused attach left busy2.sbt"
wait "$first" || fail "the first attach failed: $(cat busy1.err)"

# An interrupt ends a session cleanly (SIGTERM when this shell was started
# with SIGINT ignored, which its children then keep; --duration only guards
# against a signal that does not arrive).
sig=INT
(($(awk '/^SigIgn:/ { print "0x" $2 }' /proc/$$/status) & 2)) && sig=TERM
set -m
"$TSTOP" attach -o int --duration 20 "$pid" 2>int.err &
tp=$!
for _ in $(seq 200); do
	grep -q 'attached to pid' int.err 2>/dev/null && break
	sleep 0.02
done
sleep 0.5
kill -"$sig" "$tp"
wait "$tp" || fail "an interrupted attach exited $?: $(cat int.err)"
set +m
grep -q 'interrupted: capture stopped' int.err || fail "interrupt: $(cat int.err)"
"$TSTOP" info int.sbt >int.info 2>&1 || fail "info int.sbt: $(cat int.info)"
grep -Eq "^  $pid +[0-9]+ +detached" int.info || fail "int: not detached: $(cat int.info)"

# Signals reach the program itself (tstop launch became it); killed, it
# cannot remove its socket, and the next attach sweeps it.
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" = 143 ] || fail "the sample killed by SIGTERM exited $rc"
[ -S "$XDG_RUNTIME_DIR/tstop-attach-$pid" ] || fail "the killed sample's socket is not there"
"$TSTOP" attach "$pid" 2>gone.err && fail "attach to a killed process succeeded"
grep -q "no process with pid $pid" gone.err || fail "gone: $(cat gone.err)"
"$TSTOP" launch -q -- "$SAMPLE" -n 2000 --spin-us 1000 >/dev/null &
sweep=$!
pids+=("$sweep")
wait_socket "$sweep"
"$TSTOP" attach -o sweep --duration 0.2 "$sweep" 2>sweep.err || fail "attach sweep: $(cat sweep.err)"
[ ! -e "$XDG_RUNTIME_DIR/tstop-attach-$pid" ] || fail "the killed sample's socket was not swept"
{ kill -KILL "$sweep" && wait "$sweep"; } 2>/dev/null

# --- attached twice, then it ends normally, during the second session -----------------
"$TSTOP" launch -q -- "$SAMPLE" -n 300 --spin-us 3000 >short.out 2>short.launch &
spid=$!
pids+=("$spid")
wait_socket "$spid"
attach first --duration 0.3 "$spid"
[ "$(count first nvtx_range)" -gt 0 ] || fail "first: no ranges"
attach short --duration 30 "$spid"
grep -Eq "^  $spid +[0-9]+ +(exited 0 |ended )" short.info || fail "short: did not end: $(cat short.info)"
[ "$(count short nvtx_range)" -gt 0 ] || fail "short: no ranges"
grep -q '^lost events (0)' short.info || fail "short: events lost: $(cat short.info)"
wait "$spid"
rc=$?
[ "$rc" = 0 ] || fail "the sample attached twice exited $rc"
grep -q '^total	ranges	-	-	5401$' short.out || fail "the sample's totals: $(cat short.out)"
[ ! -s short.launch ] || fail "launch -q printed: $(cat short.launch)"
[ ! -e "$XDG_RUNTIME_DIR/tstop-attach-$spid" ] || fail "the sample left its attach socket"

# --- --wait: the collector starts at the first NVTX call, a second later -------------
"$TSTOP" launch -q -- sh -c "sleep 1; exec '$SAMPLE' -n 300 --spin-us 3000 >/dev/null" &
wpid=$!
pids+=("$wpid")
sleep 0.2
"$TSTOP" attach -o early --duration 0.5 "$wpid" 2>early.err
rc=$?
[ "$rc" = 1 ] || fail "attach before the collector started exited $rc: $(cat early.err)"
grep -q 'not listening yet.*--wait' early.err || fail "early: $(cat early.err)"
attach late --wait --duration 0.5 "$wpid"
grep -q "waiting for pid $wpid" late.err || fail "late: no waiting message: $(cat late.err)"
[ "$(count late nvtx_range)" -gt 0 ] || fail "late: no ranges"
wait "$wpid" || fail "the late sample exited $?"
echo "ok"
