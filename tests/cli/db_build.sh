#!/usr/bin/env bash
# `tstop db FILE.sbt`: builds the session database of a synthetic session
# whose event counts per table are those `tstop-synth` reports, with its
# indexes and without a WAL left behind; the default output name, -o, -q;
# never overwrites a file without -f, nor the file it reads; bad input (no
# file, not an SBT file, a cut-off SBT file) gives a clear message, exit 1
# and no partial database; usage errors exit 2; the completion marker, and
# the warning of `tstop info` and `tstop sql` on a database without it;
# SIGTERM during a replace keeps the old database and leaves no temporary
# file.
# Usage: bash db_build.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
SYNTH=$2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
cd "$tmp" || fail "cannot enter $tmp"
command -v sqlite3 >/dev/null || {
	echo "skipped: no sqlite3 command-line tool"
	exit 0
}

"$SYNTH" -o s.sbt -n 50000 --processes 2 --threads 3 >synth.txt || fail "tstop-synth failed"
count() { awk -v k="$1" '$1 == k { print $2 }' synth.txt; }

# --- build, default name ------------------------------------------------------------
"$TSTOP" db s.sbt >out.txt 2>err.txt || fail "tstop db: $(cat err.txt)"
[ ! -s out.txt ] || fail "tstop db wrote to stdout: $(cat out.txt)"
[ -f s.db ] || fail "no s.db"
[ ! -e s.db-wal ] || fail "s.db-wal left behind"
events=$(count events)
size=$(stat -c %s s.db)
grep -q "^tstop db: wrote s.db ($events events, $size bytes)\$" err.txt || fail "unexpected summary: $(cat err.txt)"
[ "$(sqlite3 s.db 'PRAGMA integrity_check')" = ok ] || fail "s.db fails integrity_check"
check() { # TABLE EXPECTED [WHERE]
	local got
	got=$(sqlite3 s.db "SELECT count(*) FROM $1 ${3:-}")
	[ "$got" = "$2" ] || fail "$1 ${3:-}: $got rows, tstop-synth made $2"
}
check kernels "$(count kernel)"
check memcpys "$(count memcpy)"
check memsets "$(count memset)"
check syncs "$(count sync)"
check api_calls "$(count api)"
check nvtx_ranges "$(count nvtx_range)"
check nvtx_marks "$(count nvtx_mark)"
check memory_events "$(count mem_alloc)" "WHERE kind = 8"
check memory_events "$(count mem_free)" "WHERE kind = 9"
check counters "$(count counter)"
check lost_ranges "$(count lost)"
got=$(sqlite3 s.db 'SELECT sum(count) FROM losses')
[ "$got" = "$(count lost_total)" ] || fail "losses total $got, tstop-synth $(count lost_total)"
got=$(sqlite3 s.db 'SELECT count(*) FROM target_processes')
[ "$got" = 2 ] || fail "$got processes"
got=$(sqlite3 s.db "SELECT value FROM meta WHERE key = 'synthetic'")
[ "$got" = 1 ] || fail "the synthetic marker is lost: '$got'"
got=$(sqlite3 s.db "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'api_calls_correlation'")
[ "$got" = 1 ] || fail "no api_calls_correlation index"
got=$(sqlite3 s.db 'PRAGMA application_id')
[ "$got" = $((0x54535450)) ] || fail "application_id $got"
# A kernel summary through the names works and covers every kernel.
got=$(sqlite3 s.db 'SELECT sum(n) FROM (SELECT count(*) AS n FROM kernels k JOIN strings s ON s.id = k.name
	GROUP BY s.value)')
[ "$got" = "$(count kernel)" ] || fail "kernel summary covers $got kernels"
got=$(sqlite3 s.db "SELECT count(*) FROM strings WHERE short_name IS NOT NULL")
[ "$got" -gt 0 ] || fail "no short names"

# --- never overwrite unasked ----------------------------------------------------------------
echo precious >keep.db
"$TSTOP" db -o keep.db s.sbt 2>err.txt
rc=$?
[ "$rc" = 1 ] || fail "overwriting without -f: exit $rc"
grep -q 'keep.db already exists (use -f' err.txt || fail "unexpected message: $(cat err.txt)"
[ "$(cat keep.db)" = precious ] || fail "keep.db was changed"
"$TSTOP" db -q -f -o keep.db s.sbt >out.txt 2>err.txt || fail "-f: $(cat err.txt)"
[ ! -s err.txt ] && [ ! -s out.txt ] || fail "-q printed: $(cat out.txt err.txt)"
got=$(sqlite3 keep.db 'SELECT count(*) FROM kernels')
[ "$got" = "$(count kernel)" ] || fail "keep.db holds $got kernels"
"$TSTOP" db -f -o s.sbt s.sbt 2>err.txt
rc=$?
[ "$rc" = 1 ] || fail "writing over the input: exit $rc"
grep -q 'is the session file read' err.txt || fail "unexpected message: $(cat err.txt)"
"$SYNTH" -q -o s2.sbt -n 100 || fail "tstop-synth s2"
cp s2.sbt plain
"$TSTOP" db plain 2>err.txt || fail "a name without .sbt: $(cat err.txt)"
[ -f plain.db ] || fail "no plain.db"

# --- the completion marker ------------------------------------------------------------------
got=$(sqlite3 s.db "SELECT value FROM meta WHERE key = 'db_complete'")
[ "$got" = 1 ] || fail "no completion marker in s.db: '$got'"
"$TSTOP" info s.db >/dev/null 2>err.txt || fail "info s.db: $(cat err.txt)"
[ ! -s err.txt ] || fail "info warned about a finished database: $(cat err.txt)"
"$TSTOP" sql s.db 'SELECT 1' >/dev/null 2>err.txt || fail "sql s.db: $(cat err.txt)"
grep -q 'not finished' err.txt && fail "sql warned about a finished database: $(cat err.txt)"
# A database cut short (no marker) reads with a warning that says how to rebuild it.
cp s.db cut.db
sqlite3 cut.db "DELETE FROM meta WHERE key = 'db_complete'" || fail "sqlite3 on cut.db"
"$TSTOP" info cut.db >/dev/null 2>err.txt || fail "info cut.db: $(cat err.txt)"
grep -q 'warning: cut.db is not finished: still being written, or its capture was interrupted' err.txt ||
	fail "info: no warning about cut.db: $(cat err.txt)"
grep -q 'tstop db -f cut.sbt' err.txt || fail "info: no rebuild hint: $(cat err.txt)"
"$TSTOP" sql cut.db 'SELECT count(*) FROM kernels' >out.txt 2>err.txt || fail "sql cut.db: $(cat err.txt)"
grep -q 'cut.db is not finished' err.txt || fail "sql: no warning about cut.db: $(cat err.txt)"
[ "$(cat out.txt)" != "" ] || fail "sql cut.db printed nothing"

# --- SIGTERM during a replace (-f): the old database stays, no temporary file is left ---------
"$SYNTH" -q -o big.sbt -n 1000000 || fail "tstop-synth big"
cp s.db old.db
"$TSTOP" db -q -f -o old.db big.sbt 2>err.txt &
dbpid=$!
for _ in $(seq 300); do # until the temporary database exists (no time is asserted)
	compgen -G 'old.db.tmp-*' >/dev/null && break
	sleep 0.05
done
kill -TERM "$dbpid"
wait "$dbpid"
rc=$?
if [ "$rc" = 0 ]; then
	echo "note: tstop db finished before SIGTERM; only the clean-up was checked"
else
	[ "$rc" = 143 ] || fail "tstop db after SIGTERM: exit $rc: $(cat err.txt)"
	grep -q 'interrupted; old.db was not replaced' err.txt || fail "no interruption message: $(cat err.txt)"
	cmp -s s.db old.db || fail "old.db was changed by the interrupted replace"
fi
compgen -G 'old.db.tmp-*' >/dev/null && fail "temporary files left: $(ls old.db.tmp-*)"
[ "$(sqlite3 old.db 'PRAGMA integrity_check')" = ok ] || fail "old.db fails integrity_check"

# --- bad input --------------------------------------------------------------------------------
"$TSTOP" db missing.sbt 2>err.txt
rc=$?
[ "$rc" = 1 ] || fail "missing file: exit $rc"
grep -q '^tstop db: .*missing.sbt' err.txt || fail "missing file: $(cat err.txt)"
[ ! -e missing.db ] || fail "missing.db created"
head -c 3000 /dev/urandom >junk.sbt
"$TSTOP" db junk.sbt 2>err.txt
rc=$?
[ "$rc" = 1 ] || fail "junk: exit $rc"
grep -q 'not an SBT file' err.txt || fail "junk: $(cat err.txt)"
[ ! -e junk.db ] || fail "junk.db created"
# A cut-off SBT file builds what it holds, with the reader's warning.
head -c $(($(stat -c %s s.sbt) / 2)) s.sbt >half.sbt
"$TSTOP" db half.sbt 2>err.txt || fail "half.sbt: $(cat err.txt)"
grep -q 'warning: half.sbt is cut off' err.txt || fail "no cut-off warning: $(cat err.txt)"
got=$(sqlite3 half.db 'SELECT count(*) FROM api_calls')
[ "$got" -gt 0 ] && [ "$got" -lt "$(count api)" ] || fail "half.db holds $got API calls"

# --- usage --------------------------------------------------------------------------------------
"$TSTOP" db --help | grep -q '^Usage: tstop db' || fail "--help"
"$TSTOP" db 2>err.txt
[ $? = 2 ] || fail "no file: not a usage error"
"$TSTOP" db a.sbt b.sbt 2>err.txt
[ $? = 2 ] || fail "two files: not a usage error"
"$TSTOP" db --bogus s.sbt 2>err.txt
[ $? = 2 ] || fail "unknown option: not a usage error"
"$TSTOP" --help | grep -q '^  db ' || fail "tstop --help does not list db"
echo "ok"
