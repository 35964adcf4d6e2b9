#!/usr/bin/env bash
# End-to-end test of `tstop stats -o FILE`: it refuses to write over the
# session file it reads (by any path: the same name, a symbolic link, a hard
# link) and over any other SBT file; it replaces an existing report only
# once the whole output is written (a run that fails half-way leaves the old
# file as it was and no temporary file behind); a new file gets the mode
# the umask gives; a symbolic link to a report is followed, not replaced;
# devices are written directly.
# Usage: bash stats_output.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
SYNTH=$2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# refused PATTERN OUTPUT: `tstop stats s.sbt -o OUTPUT` exits 1 with one
# line holding PATTERN, and neither the session file nor OUTPUT changes.
refused() {
	local pattern=$1 out=$2 before
	before=$(cksum <"$out")
	"$TSTOP" stats "$tmp/d/s.sbt" -f csv -o "$out" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	[ "$rc" = 1 ] || fail "stats -o $out exited $rc, not 1"
	[ "$(wc -l <"$tmp/err")" = 1 ] || fail "stats -o $out: not one line: $(cat "$tmp/err")"
	grep -q -- "$pattern" "$tmp/err" || fail "stats -o $out: no '$pattern' in: $(cat "$tmp/err")"
	cmp -s "$tmp/d/s.sbt" "$tmp/orig.sbt" || fail "stats -o $out changed the session file"
	[ "$(cksum <"$out")" = "$before" ] || fail "stats -o $out changed $out"
}

mkdir "$tmp/d"
"$SYNTH" -q -o "$tmp/d/s.sbt" -n 20000 || fail "tstop-synth"
cp "$tmp/d/s.sbt" "$tmp/orig.sbt"
"$TSTOP" stats "$tmp/d/s.sbt" -f csv >"$tmp/expect.csv" 2>/dev/null || fail "stats to stdout"

# --- the session file itself, by any path ---------------------------------------
refused "is the session file being read" "$tmp/d/s.sbt"
refused "is the session file being read" "$tmp/d/../d/./s.sbt"
ln -s s.sbt "$tmp/d/link.csv"
refused "is the session file being read" "$tmp/d/link.csv"
ln "$tmp/d/s.sbt" "$tmp/d/hard.csv"
refused "is the session file being read" "$tmp/d/hard.csv"
rm "$tmp/d/link.csv" "$tmp/d/hard.csv"

# --- another SBT file ------------------------------------------------------------
cp "$tmp/orig.sbt" "$tmp/d/other.sbt"
refused "other.sbt is an SBT session file; not overwriting it" "$tmp/d/other.sbt"
cp "$tmp/orig.sbt" "$tmp/d/other.txt"
refused "is an SBT session file" "$tmp/d/other.txt"

# --- a new file: the whole report, the umask's mode, nothing else left ------------
(umask 027 && "$TSTOP" stats "$tmp/d/s.sbt" -f csv -o "$tmp/d/new.csv" 2>/dev/null) || fail "stats -o new.csv"
cmp -s "$tmp/d/new.csv" "$tmp/expect.csv" || fail "-o output differs from standard output"
[ "$(stat -c %a "$tmp/d/new.csv")" = 640 ] || fail "new file has mode $(stat -c %a "$tmp/d/new.csv"), not 640"
# A name relative to the working directory.
(cd "$tmp/d" && "$TSTOP" stats s.sbt -f csv -o rel.csv 2>/dev/null) || fail "stats -o rel.csv"
cmp -s "$tmp/d/rel.csv" "$tmp/expect.csv" || fail "relative -o output differs"
[ "$(ls -A "$tmp/d" | sort | tr '\n' ' ')" = "new.csv other.sbt other.txt rel.csv s.sbt " ] ||
	fail "files left behind: $(ls -A "$tmp/d")"

# --- an existing report: replaced whole, its mode kept ------------------------------
echo "old report" >"$tmp/d/old.csv"
chmod 600 "$tmp/d/old.csv"
"$TSTOP" stats "$tmp/d/s.sbt" -f csv -o "$tmp/d/old.csv" 2>/dev/null || fail "stats -o old.csv"
cmp -s "$tmp/d/old.csv" "$tmp/expect.csv" || fail "existing report not replaced"
[ "$(stat -c %a "$tmp/d/old.csv")" = 600 ] || fail "replaced report lost its mode"

# --- a run that fails half-way leaves the old report ---------------------------------
# With a 1 KiB file size limit (and SIGXFSZ ignored) the write fails with EFBIG.
echo "old report" >"$tmp/d/old.csv"
(
	ulimit -f 1
	trap '' XFSZ
	exec "$TSTOP" stats "$tmp/d/s.sbt" -f csv -o "$tmp/d/old.csv"
) >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" = 1 ] || fail "a failed write exited $rc, not 1: $(cat "$tmp/err")"
grep -q "cannot write" "$tmp/err" || fail "a failed write: no message: $(cat "$tmp/err")"
[ "$(cat "$tmp/d/old.csv")" = "old report" ] || fail "a failed run changed the old report"
[ "$(ls -A "$tmp/d" | sort | tr '\n' ' ')" = "new.csv old.csv other.sbt other.txt rel.csv s.sbt " ] ||
	fail "a failed run left files behind: $(ls -A "$tmp/d")"
# A session file that cannot be read: nothing created.
"$TSTOP" stats "$tmp/d/missing.sbt" -o "$tmp/d/never.csv" 2>/dev/null && fail "stats of a missing file succeeded"
[ ! -e "$tmp/d/never.csv" ] || fail "a failed run created its output"
[ "$(ls -A "$tmp/d" | wc -l)" = 6 ] || fail "a failed load left files behind: $(ls -A "$tmp/d")"

# --- a link to a report is followed; a link to nothing is refused --------------------
mkdir "$tmp/e"
echo "old" >"$tmp/e/target.csv"
ln -s ../e/target.csv "$tmp/d/via.csv"
"$TSTOP" stats "$tmp/d/s.sbt" -f csv -o "$tmp/d/via.csv" 2>/dev/null || fail "stats -o via a link"
[ -L "$tmp/d/via.csv" ] || fail "the link was replaced"
cmp -s "$tmp/e/target.csv" "$tmp/expect.csv" || fail "the link's target not written"
[ "$(ls -A "$tmp/e")" = "target.csv" ] || fail "files left next to the target: $(ls -A "$tmp/e")"
ln -s nowhere.csv "$tmp/d/dangling.csv"
"$TSTOP" stats "$tmp/d/s.sbt" -o "$tmp/d/dangling.csv" >/dev/null 2>"$tmp/err" && fail "dangling link accepted"
grep -q "symbolic link to nothing" "$tmp/err" || fail "dangling link: $(cat "$tmp/err")"

# --- a directory, a device ---------------------------------------------------------
"$TSTOP" stats "$tmp/d/s.sbt" -o "$tmp/e" >/dev/null 2>"$tmp/err" && fail "a directory accepted"
grep -q "is a directory" "$tmp/err" || fail "directory: $(cat "$tmp/err")"
"$TSTOP" stats "$tmp/d/s.sbt" -f csv -o /dev/null 2>/dev/null || fail "stats -o /dev/null"
[ -c /dev/null ] || fail "/dev/null is no longer a device"
"$TSTOP" stats "$tmp/d/s.sbt" -f csv -o /dev/full >/dev/null 2>"$tmp/err" && fail "/dev/full accepted"
grep -q "cannot write" "$tmp/err" || fail "/dev/full: $(cat "$tmp/err")"
echo "ok"
