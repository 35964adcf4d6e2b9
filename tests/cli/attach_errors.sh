#!/usr/bin/env bash
# `tstop attach` and `tstop launch` when they cannot do their job, each with
# a clear message, the documented exit status and no file left behind:
# attach to a pid that does not exist, to another user's process (checked
# before anything else), to a process not started for attach, to one with
# TSTOP_ATTACH but no collector, to one whose attach directory is open to
# other users; usage errors of both commands; launch of a program that
# cannot start, with an unusable --attach-dir, and a launched program's own
# exit status passed through.
# Usage: bash attach_errors.sh TSTOP TSTOP_SYNTH SOURCE_DIR
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
export XDG_RUNTIME_DIR="$tmp/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset TSTOP_INJECT_LIBRARY TSTOP_SOCKET TSTOP_ATTACH TSTOP_ATTACH_DIR
if [ -x "$SAMPLE" ] && ldd "$SAMPLE" | grep -q libasan; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
fi

# check CMD STATUS PATTERN ARGS...: tstop CMD ARGS exits STATUS with PATTERN
# on stderr, nothing on stdout, and no session file.
check() {
	local cmd=$1 want=$2 pattern=$3 got
	shift 3
	"$TSTOP" "$cmd" "$@" >out 2>err
	got=$?
	[ "$got" = "$want" ] || fail "tstop $cmd $*: exited $got, not $want: $(cat err)"
	grep -q -- "$pattern" err || fail "tstop $cmd $*: no '$pattern' in: $(cat err)"
	[ ! -s out ] || fail "tstop $cmd $*: wrote to stdout: $(cat out)"
	[ -z "$(ls ./*.sbt 2>/dev/null)" ] || fail "tstop $cmd $*: left $(ls ./*.sbt)"
}
# background CMD...: starts CMD in the background; sets bg.
background() {
	"$@" &
	bg=$!
	pids+=("$bg")
}
# started PID NAME: waits until PID runs the program NAME (exec'd, so that
# /proc shows its own environment).
started() {
	for _ in $(seq 200); do
		[ "$(basename "$(readlink "/proc/$1/exe" 2>/dev/null)")" = "$2" ] && return
		sleep 0.02
	done
	fail "pid $1 did not start $2"
}

# --- usage -------------------------------------------------------------------------------
check attach 2 'no process id given'
check attach 2 "'abc' is not a process id" abc
check attach 2 "'0' is not a process id" 0
check attach 2 'one process id only' 1 2
check attach 2 '--duration needs' --duration -1 1
check attach 2 '--kinds takes' --kinds gpu 1
check attach 2 "unknown option '--bogus'" --bogus 1
check launch 125 'no program to run'
check launch 125 '--attach-dir needs an absolute path' --attach-dir rel -- true
check launch 125 'program not found' -- ./no-such-program
"$TSTOP" attach --help | grep -q '^Usage: tstop attach' || fail "attach --help"
"$TSTOP" launch --help | grep -q '^Usage: tstop launch' || fail "launch --help"

# --- processes that cannot be attached ----------------------------------------------
check attach 1 'no process with pid 2147483647' 2147483647

background sleep 30
started "$bg" sleep
check attach 1 "pid $bg was not started for attach (no TSTOP_ATTACH=1" -o plain "$bg"

background env TSTOP_ATTACH=1 sleep 30
started "$bg" sleep
check attach 1 "pid $bg has TSTOP_ATTACH set but does not load the collector" "$bg"

# Another user's process: refused before anything else, whatever it runs.
other=
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	background setpriv --reuid=65534 --regid=65534 --clear-groups sleep 30
	other=$bg
else
	for p in /proc/[0-9]*; do
		if [ "$(stat -c %u "$p" 2>/dev/null)" != "$(id -u)" ]; then
			other=${p#/proc/}
			break
		fi
	done
fi
if [ -n "$other" ]; then
	for _ in $(seq 100); do
		[ "$(stat -c %u "/proc/$other" 2>/dev/null)" != "$(id -u)" ] && break
		sleep 0.02
	done
	check attach 1 "pid $other belongs to .*not to you.*only to processes of your own user" -o other "$other"
else
	echo "note: no process of another user to try"
fi

# A program that exits with its own status through launch.
"$TSTOP" launch -q -- sh -c 'exit 7'
rc=$?
[ "$rc" = 7 ] || fail "launch of a program that exits 7 exited $rc"

# An attach directory open to other users: launch refuses it, and a
# collector started by hand with it stays off, which attach explains.
mkdir -m 755 open
check launch 125 'open to other users' --attach-dir "$tmp/open" -- true
if [ -x "$SAMPLE" ]; then
	lib=$(find "$BUILD" -name libtstop-inject.so | head -1)
	background env TSTOP_ATTACH=1 TSTOP_ATTACH_DIR="$tmp/open" NVTX_INJECTION64_PATH="$lib" \
	    "$SAMPLE" -n 2000 --spin-us 1000
	started "$bg" "$(basename "$SAMPLE")"
	sleep 0.3
	[ -z "$(ls open)" ] || fail "a collector listened in a directory open to others: $(ls -l open)"
	check attach 1 "the attach directory $tmp/open is open to other users" "$bg"
	# The same by hand in a private directory works.
	mkdir -m 700 private
	background env TSTOP_ATTACH=1 TSTOP_ATTACH_DIR="$tmp/private" NVTX_INJECTION64_PATH="$lib" \
	    "$SAMPLE" -n 2000 --spin-us 1000
	for _ in $(seq 300); do
		[ -S "private/tstop-attach-$bg" ] && break
		sleep 0.02
	done
	"$TSTOP" attach -o byhand --duration 0.3 "$bg" 2>err || fail "attach by hand: $(cat err)"
	"$TSTOP" info byhand.sbt | grep -Eq '^  nvtx_range +[1-9]' || fail "attach by hand captured no range"
	rm -f byhand.sbt
fi
echo "ok"
