#!/usr/bin/env bash
# End-to-end test of tstop's command line: --help and --version, usage
# errors (exit 2, message and hint on stderr), files that cannot be read
# (exit 1, one-line message), and damaged files (a truncated copy still
# described, with a cut-off warning, exit 0).
# Usage: bash errors.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
SYNTH=$2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# run EXPECTED_STATUS ARGS...: runs tstop, output in $tmp/out and $tmp/err.
run() {
	local want=$1 got
	shift
	"$TSTOP" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" = "$want" ] || fail "tstop $* exited $got, not $want; stderr: $(cat "$tmp/err")"
}
# A usage error: exit 2, the message on stderr with a --help hint, nothing on stdout.
usage_error() {
	local pattern=$1
	shift
	run 2 "$@"
	[ ! -s "$tmp/out" ] || fail "tstop $*: usage error wrote to stdout"
	grep -q -- "$pattern" "$tmp/err" || fail "tstop $*: no '$pattern' in: $(cat "$tmp/err")"
	grep -q -- "--help" "$tmp/err" || fail "tstop $*: no --help hint"
}
# A runtime error: exit 1, one line on stderr naming the problem.
runtime_error() {
	local pattern=$1
	shift
	run 1 "$@"
	[ ! -s "$tmp/out" ] || fail "tstop $*: error wrote to stdout"
	[ "$(wc -l <"$tmp/err")" = 1 ] || fail "tstop $*: not one line: $(cat "$tmp/err")"
	grep -q -- "$pattern" "$tmp/err" || fail "tstop $*: no '$pattern' in: $(cat "$tmp/err")"
}

# --- help and version ----------------------------------------------------------
for args in "--help" "-h" "info --help" "stats --help" "info -h" "stats -h"; do
	# shellcheck disable=SC2086
	run 0 $args
	grep -q '^Usage: tstop' "$tmp/out" || fail "tstop $args: no usage on stdout"
	[ ! -s "$tmp/err" ] || fail "tstop $args wrote to stderr"
done
run 0 --help
for cmd in info stats; do
	grep -Eq "^  $cmd +[a-z]" "$tmp/out" || fail "--help does not list $cmd"
done
run 0 stats --help
for r in cuda_gpu_kern_sum cuda_api_sum cuda_gpu_mem_time_sum cuda_gpu_mem_size_sum nvtx_sum cuda_gpu_trace; do
	grep -q "$r" "$tmp/out" || fail "stats --help does not list $r"
done
run 0 --version
grep -Eq '^tstop [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || fail "--version: $(cat "$tmp/out")"
grep -Eq '^built with: CUPTI (yes|no), OpenCL (yes|no)$' "$tmp/out" || fail "--version lacks build features"

# --- usage errors ----------------------------------------------------------------
"$SYNTH" -q -o "$tmp/s.sbt" -n 200000 || fail "tstop-synth"
run 2
grep -q '^Usage: tstop' "$tmp/err" || fail "bare tstop: no usage on stderr"
usage_error "unknown command 'frobnicate'" frobnicate
usage_error "unknown option '--frobnicate'" --frobnicate
usage_error "unknown option '--bogus'" info --bogus "$tmp/s.sbt"
usage_error "unknown option '-z'" stats -z "$tmp/s.sbt"
usage_error "no session file" info
usage_error "no session file" stats
usage_error "one session file" info "$tmp/s.sbt" "$tmp/s.sbt"
usage_error "needs a value" stats "$tmp/s.sbt" --format
usage_error "unknown format 'xml'" stats "$tmp/s.sbt" --format xml
usage_error "unknown report 'gpu_kernels'" stats "$tmp/s.sbt" --report gpu_kernels
grep -q "known reports: cuda_gpu_kern_sum, cuda_api_sum, cuda_gpu_mem_time_sum, cuda_gpu_mem_size_sum, nvtx_sum, cuda_gpu_trace" \
	"$tmp/err" || fail "unknown report does not list the known ones"
usage_error "unknown report 'nope'" stats "$tmp/s.sbt" -r cuda_api_sum,nope

# --- files that cannot be read --------------------------------------------------------
runtime_error "missing.sbt: cannot open" info "$tmp/missing.sbt"
runtime_error "missing.sbt: cannot open" stats "$tmp/missing.sbt"
printf 'this is not a trace\n' >"$tmp/text.sbt"
runtime_error "not an SBT file" info "$tmp/text.sbt"
runtime_error "not an SBT file" stats "$tmp/text.sbt"
: >"$tmp/empty.sbt"
runtime_error "empty file" info "$tmp/empty.sbt"
runtime_error "directory" info "$tmp"
# A later major version (bytes 8-9 of the header, little-endian) is refused.
cp "$tmp/s.sbt" "$tmp/v99.sbt"
printf '\x63\x00' | dd of="$tmp/v99.sbt" bs=1 seek=8 conv=notrunc status=none
runtime_error "SBT version 99.0 is newer" info "$tmp/v99.sbt"
runtime_error "SBT version 99.0 is newer" stats "$tmp/v99.sbt"
runtime_error "cannot create" stats "$tmp/s.sbt" -o "$tmp/no/such/dir/out.txt"

# --- a truncated copy: described as far as it goes -------------------------------------
run 0 info "$tmp/s.sbt"
full=$(sed -n 's/^events (\([0-9]*\))$/\1/p' "$tmp/out")
size=$(stat -c %s "$tmp/s.sbt")
head -c $((size / 2 + 1234)) "$tmp/s.sbt" >"$tmp/cut.sbt"
run 0 info "$tmp/cut.sbt"
grep -q "warning: .*cut.sbt is cut off at byte [0-9]* of $((size / 2 + 1234))" "$tmp/err" ||
	fail "no cut-off warning: $(cat "$tmp/err")"
grep -Eq '^  tail +cut off at byte [0-9]+$' "$tmp/out" || fail "info does not show the cut-off tail"
grep -Eq '^  index +missing$' "$tmp/out" || fail "info shows an index on a cut file"
part=$(sed -n 's/^events (\([0-9]*\))$/\1/p' "$tmp/out")
[ "$part" -gt 0 ] && [ "$part" -lt "$full" ] || fail "cut file loaded $part of $full events"
grep -q "synthetic session (generated, not captured)" "$tmp/out" || fail "cut file: marker lost"
run 0 stats "$tmp/cut.sbt" --format csv --report cuda_gpu_kern_sum
grep -q "cut off" "$tmp/err" || fail "stats on a cut file: no warning"
[ "$(wc -l <"$tmp/out")" -gt 1 ] || fail "stats on a cut file: no rows"
# Cut inside the header: still an SBT file, but nothing to load.
head -c 12 "$tmp/s.sbt" >"$tmp/head.sbt"
runtime_error "cut off inside its" info "$tmp/head.sbt"
echo "ok"
