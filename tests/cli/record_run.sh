#!/usr/bin/env bash
# `tstop record` with programs that use no GPU API (shell commands): the
# session holds the process and how it ended, the metadata, and no events;
# the exit status is the program's (128+N for signal N); the program sees
# the capture environment; signals sent to tstop reach the program and a
# second interrupt kills it; --duration detaches and leaves the program
# running; on a terminal a progress line is shown and one Ctrl-C reaches the
# program once; the socket directory is removed every time.
# Usage: bash record_run.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
BUILD=$(dirname "$TSTOP")
LIB="$BUILD/lib/tstop/libtstop-inject.so"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
cd "$tmp" || fail "cannot enter $tmp"
[ -f "$LIB" ] || fail "the collector library $LIB was not built"
export XDG_RUNTIME_DIR="$tmp/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset TSTOP_INJECT_LIBRARY

# record STATUS NAME ARGS...: records ARGS into NAME.sbt, expecting STATUS.
record() {
	local want=$1 name=$2 got
	shift 2
	"$TSTOP" record -o "$name" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" = "$want" ] || fail "tstop record $* exited $got, not $want; stderr: $(cat "$tmp/err")"
	[ -z "$(ls -A "$XDG_RUNTIME_DIR")" ] || fail "socket directory left: $(ls -A "$XDG_RUNTIME_DIR")"
	"$TSTOP" info "$name.sbt" >"$tmp/info" 2>"$tmp/info.err" || fail "info $name.sbt: $(cat "$tmp/info.err")"
	[ ! -s "$tmp/info.err" ] || fail "info $name.sbt warned: $(cat "$tmp/info.err")"
	grep -q '^  tail  *complete' "$tmp/info" || fail "$name.sbt is not complete: $(cat "$tmp/info")"
	grep -q '^  index  *present' "$tmp/info" || fail "$name.sbt has no index"
}
# state PATTERN: the only process line of the last info matches PATTERN.
state() {
	local line
	line=$(awk '/^processes \(1\)/ { getline; getline; print; exit }' "$tmp/info")
	grep -Eq -- "$1" <<<"$line" || fail "process line '$line' does not match '$1'; $(cat "$tmp/info")"
}

# A program that does nothing: the process, no events, the metadata.
record 0 true --no-stacks -- /bin/true
state '^  [0-9]+ +[0-9]+ +exited 0 +/bin/true$'
grep -q '^events (0)' "$tmp/info" || fail "events in an empty session"
grep -q '^  command  *\/bin\/true$' "$tmp/info" || fail "no command"
grep -q '^  tstop version  *[0-9]' "$tmp/info" || fail "no version"
grep -q '^  capture_options: -o true --no-stacks$' "$tmp/info" || fail "no capture options: $(cat "$tmp/info")"
grep -q '^  clock: CLOCK_MONOTONIC$' "$tmp/info" || fail "no clock"
grep -q "^  host  *$(hostname)\$" "$tmp/info" || fail "no host"
grep -q 'recorded 0 events' "$tmp/err" || fail "no summary: $(cat "$tmp/err")"
grep -q 'wrote true.sbt' "$tmp/err" || fail "summary does not name the file"

# Exit statuses.
record 3 three -- sh -c 'exit 3'
state 'exited 3 +sh -c exit 3$'
record 137 killed -- sh -c 'kill -KILL $$'
state 'killed by signal 9 '
record 143 termed -- sh -c 'kill -TERM $$'
state 'killed by signal 15 '

# The program's environment.
record 0 env -- sh -c 'printf "%s\n" "$TSTOP_SOCKET" "$TSTOP_INJECT_LIBRARY" "$CUDA_INJECTION64_PATH" "$NVTX_INJECTION64_PATH" "$LD_PRELOAD" >env.txt; test -S "$TSTOP_SOCKET"'
lib=$(realpath "$LIB")
mapfile -t env <env.txt
case ${env[0]} in "$XDG_RUNTIME_DIR"/tstop-*/socket) ;; *) fail "TSTOP_SOCKET=${env[0]}" ;; esac
[ "${env[1]}" = "$lib" ] || fail "TSTOP_INJECT_LIBRARY=${env[1]}, not $lib"
[ "${env[2]}" = "$lib" ] || fail "CUDA_INJECTION64_PATH=${env[2]}"
[ "${env[3]}" = "$lib" ] || fail "NVTX_INJECTION64_PATH=${env[3]}"
[ "${env[4]}" = "$lib" ] || fail "LD_PRELOAD=${env[4]}"
LD_PRELOAD="" record 0 env2 -- sh -c 'printf "%s\n" "$LD_PRELOAD" >env.txt'
[ "$(cat env.txt)" = "$lib" ] || fail "empty LD_PRELOAD became $(cat env.txt)"
# TSTOP_INJECT_LIBRARY chooses the library (here the same one, by another path).
TSTOP_INJECT_LIBRARY="$BUILD/lib/tstop/../tstop/libtstop-inject.so" record 0 env3 -- sh -c 'printf "%s\n" "$NVTX_INJECTION64_PATH" >env.txt'
[ "$(cat env.txt)" = "$lib" ] || fail "TSTOP_INJECT_LIBRARY was not used: $(cat env.txt)"

# Signals sent to tstop reach the program; a second interrupt kills it.
set -m # background jobs in their own groups, SIGINT not ignored
# bg NAME ARGS...: starts tstop record in the background; waits for the program.
bg() {
	local name=$1
	shift
	rm -f ready
	"$TSTOP" record -o "$name" "$@" >"$tmp/out" 2>"$tmp/err" &
	tstop_pid=$!
	for _ in $(seq 200); do
		[ -e ready ] && return
		sleep 0.05
	done
	fail "the program of $name did not start"
}
# finish STATUS: waits for the background tstop and checks its status.
finish() {
	local got
	wait "$tstop_pid"
	got=$?
	[ "$got" = "$1" ] || fail "background tstop exited $got, not $1; stderr: $(cat "$tmp/err")"
}
bg int -- sh -c 'trap "exit 4" INT; touch ready; while :; do sleep 0.02; done'
kill -INT "$tstop_pid"
finish 4
grep -q 'interrupt passed to the program' "$tmp/err" || fail "no interrupt message: $(cat "$tmp/err")"
bg int2 -- sh -c 'trap "" INT; touch ready; while :; do sleep 0.02; done'
kill -INT "$tstop_pid"
sleep 0.3
kill -0 "$tstop_pid" 2>/dev/null || fail "tstop ended on the first interrupt of a program that ignores it"
kill -INT "$tstop_pid"
finish 137
grep -q 'killing the program' "$tmp/err" || fail "no kill message: $(cat "$tmp/err")"
"$TSTOP" info int2.sbt >"$tmp/info" 2>&1 || fail "info int2.sbt"
state 'killed by signal 9 '
bg term -- sh -c 'trap "exit 6" TERM; touch ready; while :; do sleep 0.02; done'
kill -TERM "$tstop_pid"
finish 6

# --duration detaches: tstop exits 0, the program runs on.
start=$(date +%s%N)
bg dur --duration 0.3 -- sh -c 'touch ready; sleep 3; touch finished'
finish 0
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed" -lt 2500 ] || fail "--duration 0.3 took $elapsed ms"
[ ! -e finished ] || fail "the program did not run on after --duration"
grep -q 'capture stopped, the program runs on' "$tmp/err" || fail "no detach message: $(cat "$tmp/err")"
"$TSTOP" info dur.sbt >"$tmp/info" 2>&1 || fail "info dur.sbt"
state 'detached +sh -c'
for _ in $(seq 100); do
	[ -e finished ] && break
	sleep 0.05
done
[ -e finished ] || fail "the detached program did not finish"
set +m

# On a terminal: the progress line, and a Ctrl-C that reaches the program
# once (from the terminal, not again from tstop).
script -qec "'$TSTOP' record -o tty -- sh -c 'sleep 1.2'" /dev/null >tty.out 2>&1 </dev/null ||
	fail "record under script(1) failed: $(cat tty.out)"
grep -q 'tstop: recording [0-9.]* s  [0-9]* events  [0-9]* events/s  [0-9]* lost' tty.out ||
	fail "no progress line on a terminal: $(cat -A tty.out)"
grep -q 'progress\|recording' "$tmp/err" && fail "a progress line went to a non-terminal"
sock="$tmp/tmux.sock"
cat >prog.sh <<'PROG'
trap 'echo int >>ints' INT
touch ready
while [ ! -s ints ]; do :; done
for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.05; done
exit 4
PROG
rm -f ready ints status
tmux -S "$sock" new-session -d -x 120 -y 20 \
	"'$TSTOP' record -o ctrlc -- sh prog.sh 2>ctrlc.err; echo \$? >status" ||
	fail "cannot start tmux"
for _ in $(seq 200); do
	[ -e ready ] && break
	sleep 0.05
done
[ -e ready ] || fail "the program did not start under tmux"
tmux -S "$sock" send-keys C-c
for _ in $(seq 200); do
	[ -s status ] && break
	sleep 0.05
done
tmux -S "$sock" kill-server 2>/dev/null
[ "$(cat status 2>/dev/null)" = 4 ] || fail "Ctrl-C on the terminal: tstop exited '$(cat status 2>/dev/null)', not 4: $(cat ctrlc.err)"
[ "$(wc -l <ints)" = 1 ] || fail "the program got $(wc -l <ints) interrupts for one Ctrl-C"
[ -z "$(ls -A "$XDG_RUNTIME_DIR")" ] || fail "socket directory left: $(ls -A "$XDG_RUNTIME_DIR")"
echo "ok"
