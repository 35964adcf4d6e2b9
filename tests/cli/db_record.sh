#!/usr/bin/env bash
# The session database that `tstop record` writes beside the SBT file, on
# the NVTX sample (samples/nvtx, no GPU): its NVTX rows per name and style
# are exactly what `tstop stats --report nvtx_sum` counts in the SBT; the
# summary names it with its size; --no-db writes none; a database that
# cannot be written is warned about once, with the command that rebuilds
# it, and the capture goes on; tstop killed by SIGKILL mid-run leaves a
# database that opens, passes integrity_check and holds the committed
# batches.
# Usage: bash db_record.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
BUILD=$(dirname "$TSTOP")
SAMPLE="$BUILD/samples/nvtx/tstop-sample-nvtx"

tmp=$(mktemp -d)
target_pid=
cleanup() {
	[ -n "$target_pid" ] && kill -KILL "$target_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
cd "$tmp" || fail "cannot enter $tmp"
command -v sqlite3 >/dev/null || {
	echo "skipped: no sqlite3 command-line tool"
	exit 0
}
if [ ! -x "$SAMPLE" ]; then
	if grep -q '^NVTX3_INCLUDE_DIR:PATH=.*NOTFOUND' "$BUILD/CMakeCache.txt"; then
		echo "skipped: no NVTX v3 headers, so no NVTX sample in this build"
		exit 0
	fi
	fail "$SAMPLE was not built"
fi
export XDG_RUNTIME_DIR="$tmp/xdg"
if ldd "$SAMPLE" | grep -q libasan; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
fi
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset TSTOP_INJECT_LIBRARY

# --- the database equals the SBT ----------------------------------------------------
"$TSTOP" record -o nvtx -- "$SAMPLE" -n 40 >sample.out 2>record.err
rc=$?
[ "$rc" = 0 ] || fail "record exited $rc: $(cat record.err)"
[ -f nvtx.db ] || fail "no nvtx.db beside nvtx.sbt"
[ ! -e nvtx.db-wal ] || fail "nvtx.db-wal left behind: the database was not checkpointed"
size=$(stat -c %s nvtx.db)
grep -q "^tstop: wrote nvtx.db ($size bytes)\$" record.err || fail "the summary does not name nvtx.db: $(cat record.err)"
grep -q 'warning' record.err && fail "record warned: $(cat record.err)"
[ "$(sqlite3 nvtx.db 'PRAGMA integrity_check')" = ok ] || fail "nvtx.db fails integrity_check"
"$TSTOP" stats nvtx.sbt --report nvtx_sum --format csv >nvtx.csv 2>stats.err || fail "stats: $(cat stats.err)"
head -1 nvtx.csv | grep -q ',Instances,.*,Style,Range$' || fail "unexpected nvtx_sum columns: $(head -1 nvtx.csv)"
rows=0
total=0
while IFS=, read -r _ _ count _ _ _ _ _ style name; do
	rows=$((rows + 1))
	total=$((total + count))
	[ "$style" = StartEnd ] && bit=1 || bit=0
	got=$(sqlite3 nvtx.db "SELECT count(*) FROM nvtx_ranges r JOIN strings s ON s.id = r.name
		WHERE s.value = '$name' AND (r.flags & 1) = $bit")
	[ "$got" = "$count" ] || fail "range $style/$name: stats counts $count, the database holds $got"
done < <(tail -n +2 nvtx.csv)
[ "$rows" -ge 8 ] || fail "only $rows ranges in nvtx_sum"
got=$(sqlite3 nvtx.db 'SELECT count(*) FROM nvtx_ranges')
[ "$got" = "$total" ] || fail "the database holds $got ranges, stats $total"
marks=$(awk -F'\t' '$1 == "total" && $2 == "marks" { print $5 }' sample.out)
got=$(sqlite3 nvtx.db 'SELECT count(*) FROM nvtx_marks')
[ "$got" = "$marks" ] || fail "the sample emitted $marks marks, the database holds $got"
got=$(sqlite3 nvtx.db "SELECT count(*) FROM meta WHERE key = 'command' AND value LIKE '%tstop-sample-nvtx -n 40'")
[ "$got" = 1 ] || fail "the database has no command metadata"
got=$(sqlite3 nvtx.db "SELECT state || ' ' || status FROM target_processes")
[ "$got" = "1 0" ] || fail "the process did not exit 0 in the database: $got"
# An existing database is only replaced with -f, like the SBT file.
"$TSTOP" record -f -o nvtx -- "$SAMPLE" -n 2 >/dev/null 2>record.err || fail "record -f: $(cat record.err)"
got=$(sqlite3 nvtx.db 'SELECT count(*) FROM nvtx_ranges')
[ "$got" = $((2 * 18 + 1)) ] || fail "record -f did not replace nvtx.db: $got ranges"

# --- --no-db ----------------------------------------------------------------------------
"$TSTOP" record --no-db -o nodb -- "$SAMPLE" -n 2 >/dev/null 2>record.err || fail "record --no-db: $(cat record.err)"
[ -f nodb.sbt ] || fail "--no-db wrote no SBT file"
[ ! -e nodb.db ] || fail "--no-db wrote nodb.db"
grep -q 'nodb.db' record.err && fail "--no-db mentions a database: $(cat record.err)"

# --- a database that cannot be written ---------------------------------------------------
mkdir bad.db
"$TSTOP" record -o bad -- "$SAMPLE" -n 3 >/dev/null 2>record.err
rc=$?
[ "$rc" = 0 ] || fail "a failed database made record exit $rc: $(cat record.err)"
n=$(grep -c 'warning:' record.err)
[ "$n" = 1 ] || fail "expected one warning, got $n: $(cat record.err)"
grep -q 'warning:.*bad.db.*the capture goes on into bad.sbt.*tstop db -f bad.sbt' record.err ||
	fail "the warning does not say how to rebuild: $(cat record.err)"
"$TSTOP" info bad.sbt >info.txt 2>&1 || fail "bad.sbt: $(cat info.txt)"
grep -Eq "^  nvtx_range +$((3 * 18 + 1))\$" info.txt || fail "bad.sbt misses ranges: $(cat info.txt)"
rmdir bad.db
"$TSTOP" db bad.sbt 2>db.err || fail "tstop db bad.sbt: $(cat db.err)"
got=$(sqlite3 bad.db 'SELECT count(*) FROM nvtx_ranges')
[ "$got" = $((3 * 18 + 1)) ] || fail "the rebuilt bad.db holds $got ranges"

# --- tstop killed by SIGKILL mid-run ----------------------------------------------------------
set -m
"$TSTOP" record -o cut -- "$SAMPLE" -n 100 --spin-us 10000 >/dev/null 2>record.err &
tstop_pid=$!
for _ in $(seq 200); do
	target_pid=$(pgrep -P "$tstop_pid" | head -1)
	[ -n "$target_pid" ] && break
	sleep 0.02
done
[ -n "$target_pid" ] || fail "the sample did not start under tstop"
# Until a batch is committed (every flush commits one), without assuming a time.
for _ in $(seq 500); do
	n=$(sqlite3 cut.db 'SELECT count(*) FROM nvtx_ranges' 2>/dev/null)
	[ -n "$n" ] && [ "$n" -gt 0 ] && break
	sleep 0.02
done
[ -n "$n" ] && [ "$n" -gt 0 ] || fail "no committed ranges seen in cut.db while recording"
kill -KILL "$tstop_pid"
wait "$tstop_pid" 2>/dev/null
kill -KILL "$target_pid" 2>/dev/null
target_pid=
[ "$(sqlite3 cut.db 'PRAGMA integrity_check')" = ok ] || fail "cut.db fails integrity_check"
after=$(sqlite3 cut.db 'SELECT count(*) FROM nvtx_ranges')
[ "$after" -ge "$n" ] || fail "cut.db lost committed ranges: $after after the kill, $n seen before"
got=$(sqlite3 cut.db "SELECT count(*) FROM meta WHERE key = 'command'")
[ "$got" = 1 ] || fail "cut.db lost its metadata"
got=$(sqlite3 cut.db "SELECT count(*) FROM strings WHERE value = 'iteration'")
[ "$got" = 1 ] || fail "cut.db lost the range names"
echo "ok"
