#!/usr/bin/env bash
# `tstop record` when tstop itself cannot do its job: usage errors, no
# program, a program that cannot be started, an output that exists (without
# -f), a missing collector library. Each exits 125 with a clear message on
# stderr and leaves no file behind; -f overwrites; --help works.
# Usage: bash record_errors.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
cd "$tmp" || fail "cannot enter $tmp"
export XDG_RUNTIME_DIR="$tmp/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"

# run EXPECTED_STATUS ARGS...: runs tstop record, output in $tmp/out, $tmp/err.
run() {
	local want=$1 got
	shift
	"$TSTOP" record "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" = "$want" ] || fail "tstop record $* exited $got, not $want; stderr: $(cat "$tmp/err")"
}
# failure PATTERN ARGS...: exit 125, PATTERN on stderr, no session file made.
failure() {
	local pattern=$1
	shift
	run 125 "$@"
	grep -q -- "$pattern" "$tmp/err" || fail "tstop record $*: no '$pattern' in: $(cat "$tmp/err")"
	[ ! -s "$tmp/out" ] || fail "tstop record $*: wrote to stdout"
	local f
	for f in ./*.sbt; do
		[ ! -f "$f" ] || [ "$f" = ./keep.sbt ] || fail "tstop record $*: left $f"
	done
	[ -z "$(ls -A "$XDG_RUNTIME_DIR")" ] || fail "tstop record $*: left $(ls -A "$XDG_RUNTIME_DIR")"
}

run 0 --help
grep -q '^Usage: tstop record' "$tmp/out" || fail "record --help: no usage"
"$TSTOP" --help | grep -Eq '^  record +[a-z]' || fail "tstop --help does not list record"

failure "no program to run" 
failure "no program to run" -o x --
failure "unknown option '--bogus'" --bogus -- true
failure "unknown option '-z'" -z true
failure "needs a value" --duration
failure "--duration needs" --duration -1 -- true
failure "--duration needs" --duration abc -- true
failure "--ring-size needs" --ring-size 1000 -- true
failure "--ring-size needs" --ring-size 2G -- true
failure "--ring-size needs" --ring-size 1K -- true
failure "--kinds takes" --kinds cuda,gl -- true
failure "--kinds takes" --kinds , -- true
failure "--flush-ms needs" --flush-ms 0 -- true
failure "empty output name" -o "" -- true
failure "Try 'tstop record --help'" --bogus -- true

# Options after the program's name are the program's.
run 0 -o opts -- sh -c 'test "$1" = "--bogus"' sh --bogus
run 0 -o opts2 sh -c 'test "$1" = "-o"' sh -o
rm -f opts.sbt opts2.sbt

# The program cannot be started.
failure "cannot start /nonexistent/program: program not found" -- /nonexistent/program
failure "cannot start no-such-program-tstop: program not found" -- no-such-program-tstop
failure "cannot start .*Permission denied" -- "$tmp"
touch notexec
failure "cannot start ./notexec: Permission denied" -o named -- ./notexec
rm -f notexec

# The collector cannot be found.
TSTOP_INJECT_LIBRARY=/nonexistent/libtstop-inject.so failure "TSTOP_INJECT_LIBRARY=/nonexistent" -- true

# An existing output is never overwritten without -f.
echo keep >keep.sbt
failure "keep.sbt exists; use -f" -o keep -- true
failure "keep.sbt exists; use -f" -o keep.sbt -- true
[ "$(cat keep.sbt)" = keep ] || fail "keep.sbt was changed"
run 0 -f -o keep -- true
"$TSTOP" info keep.sbt >"$tmp/info" 2>&1 || fail "info of the -f file failed: $(cat "$tmp/info")"
# -f with a program that cannot start leaves the old file alone.
echo keep >keep.sbt
failure "program not found" -f -o keep -- /nonexistent/program
[ "$(cat keep.sbt)" = keep ] || fail "keep.sbt was changed by a failed -f run"
rm -f keep.sbt
mkdir dir.sbt
failure "dir.sbt is a directory" -f -o dir -- true
rmdir dir.sbt
failure "cannot create /nonexistent-dir/x.sbt" -o /nonexistent-dir/x -- true

# Default names are new files.
run 0 -- true
run 0 -- true
n=$(ls tstop-????????-??????*.sbt | wc -l)
[ "$n" = 2 ] || fail "two default-named runs made $n files: $(ls)"
[ -z "$(ls -A "$XDG_RUNTIME_DIR")" ] || fail "socket directory left: $(ls -A "$XDG_RUNTIME_DIR")"
echo "ok"
