#!/usr/bin/env bash
# End-to-end test that `tstop sql` cannot change a database: every kind of
# write (INSERT, UPDATE, DELETE, DDL, temporary tables, writing PRAGMAs,
# turning query_only off, ATTACH, VACUUM, VACUUM INTO) fails with SQLite's
# message and exit status 1, the file's checksum is unchanged and no other
# file appears; -o refuses to write over the database, its -wal file, another
# database or an SBT file. Then a database in WAL mode that a live writer (the
# sqlite3 shell, fed through a FIFO) holds open: tstop sql reads every
# committed transaction, never an uncommitted one, changes neither the
# database nor its WAL, and still reads the committed rows after the writer
# is killed in the middle of a transaction.
# Usage: bash sql_readonly.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
SYNTH=$2

tmp=$(mktemp -d)
writer=
cleanup() {
	[ -n "$writer" ] && kill -9 "$writer" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
command -v sqlite3 >/dev/null || fail "the sqlite3 shell is not installed (scripts/install-deps.sh installs it)"

mkdir "$tmp/d"
db=$tmp/d/t.db
sqlite3 "$db" "CREATE TABLE k(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO k VALUES (1, 'a'), (2, 'b');
CREATE INDEX k_name ON k(name);" || fail "sqlite3 could not make the database"
sum=$(cksum <"$db")
files=$(ls -A "$tmp/d")

# refused PATTERN SQL: `tstop sql t.db SQL` exits 1 with PATTERN on stderr,
# prints nothing, and leaves the directory as it was.
refused() {
	local pattern=$1 sql=$2
	"$TSTOP" sql "$db" "$sql" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	[ "$rc" = 1 ] || fail "'$sql' exited $rc, not 1: $(cat "$tmp/err")"
	grep -q -- "$pattern" "$tmp/err" || fail "'$sql': no '$pattern' in: $(cat "$tmp/err")"
	[ -s "$tmp/out" ] && fail "'$sql' printed: $(cat "$tmp/out")"
	[ "$(cksum <"$db")" = "$sum" ] || fail "'$sql' changed the database"
	[ "$(ls -A "$tmp/d")" = "$files" ] || fail "'$sql' left files: $(ls -A "$tmp/d")"
	[ -e "$tmp/copy.db" ] && fail "'$sql' wrote another file"
	return 0
}

ro="attempt to write a readonly database"
refused "$ro" "INSERT INTO k VALUES (3, 'c')"
grep -q "opens databases read-only" "$tmp/err" || fail "no read-only hint: $(cat "$tmp/err")"
refused "$ro" "UPDATE k SET name = 'z'"
refused "$ro" "DELETE FROM k"
refused "$ro" "DROP TABLE k"
refused "$ro" "DROP INDEX k_name"
refused "$ro" "CREATE TABLE n(x)"
refused "$ro" "CREATE TEMP TABLE n(x)"
refused "$ro" "ALTER TABLE k ADD COLUMN c"
refused "$ro" "PRAGMA user_version = 7"
refused "$ro" "REPLACE INTO k VALUES (1, 'x')"
refused "$ro" "ANALYZE"
refused "not authorized" "PRAGMA query_only = OFF"
refused "not authorized" "PRAGMA query_only = 0; INSERT INTO k VALUES (3, 'c')"
refused "not authorized" "ATTACH '$tmp/copy.db' AS c"
refused "not authorized" "ATTACH '$db' AS c; INSERT INTO c.k VALUES (3, 'c')"
refused "not authorized" "DETACH main"
refused "authoriz" "VACUUM"
refused "authoriz" "VACUUM INTO '$tmp/copy.db'"
# Through standard input, after a statement that reads.
printf 'SELECT * FROM k;\nDELETE FROM k;\n' | "$TSTOP" sql "$db" >/dev/null 2>"$tmp/err"
[ $? = 1 ] || fail "a DELETE on stdin did not exit 1"
grep -q "$ro" "$tmp/err" || fail "no SQLite message for stdin: $(cat "$tmp/err")"
[ "$(cksum <"$db")" = "$sum" ] || fail "a DELETE on stdin changed the database"
# What reads works, PRAGMAs that read included.
"$TSTOP" sql "$db" "PRAGMA query_only; PRAGMA table_info(k); SELECT count(*) FROM k" >/dev/null ||
	fail "reading statements failed"
[ "$(cksum <"$db")" = "$sum" ] || fail "reading changed the database"

# --- -o never writes over a database or an SBT file ---------------------------------------
# out_refused PATTERN OUTPUT
out_refused() {
	local before
	before=$(cksum <"$2")
	"$TSTOP" sql "$db" "SELECT 1" -o "$2" >/dev/null 2>"$tmp/err"
	[ $? = 1 ] || fail "-o $2 did not exit 1"
	grep -q -- "$1" "$tmp/err" || fail "-o $2: no '$1' in: $(cat "$tmp/err")"
	[ "$(cksum <"$2")" = "$before" ] || fail "-o $2 changed it"
}
out_refused "is the database being read" "$db"
ln "$db" "$tmp/hard.csv"
out_refused "is the database being read" "$tmp/hard.csv"
cp "$db" "$tmp/other.csv"
out_refused "is a SQLite database; not overwriting it" "$tmp/other.csv"
"$SYNTH" -q -o "$tmp/s.sbt" -n 50 || fail "tstop-synth"
out_refused "is an SBT session file" "$tmp/s.sbt"
[ "$(cksum <"$db")" = "$sum" ] || fail "-o changed the database"

# --- a live writer in WAL mode ------------------------------------------------------------------
live=$tmp/live.db
mkfifo "$tmp/fifo"
sqlite3 "$live" <"$tmp/fifo" >"$tmp/writer.out" 2>&1 &
writer=$!
exec 3>"$tmp/fifo"

# step N SQL: has the writer run SQL, then waits (up to 10 s) until it has:
# `.once` makes the shell create file mark.N when it gets there.
step() {
	printf '%s\n.once %s\nSELECT 1;\n' "$2" "$tmp/mark.$1" >&3
	for _ in $(seq 100); do
		[ -s "$tmp/mark.$1" ] && return 0
		sleep 0.1
	done
	fail "the writer did not get through step $1: $(cat "$tmp/writer.out")"
}
# count: the rows of t as tstop sql reads them.
count() {
	"$TSTOP" sql -f csv "$live" "SELECT count(*) AS n FROM t" 2>"$tmp/err" | tail -n 1
}

step 1 "PRAGMA journal_mode = WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1), (2);"
[ -s "$live-wal" ] || fail "the writer's database has no WAL file"
[ "$(count)" = 2 ] || fail "committed rows not read while the writer runs: '$(count)' $(cat "$tmp/err")"
step 2 "BEGIN; INSERT INTO t VALUES (3), (4), (5);"
[ "$(count)" = 2 ] || fail "uncommitted rows were read: $(count)"
main_sum=$(cksum <"$live")
wal_sum=$(cksum <"$live-wal")
"$TSTOP" sql "$live" "SELECT * FROM t; PRAGMA user_version = 9" >/dev/null 2>&1 && fail "a write succeeded"
[ "$(cksum <"$live")" = "$main_sum" ] || fail "reading changed the live database"
[ "$(cksum <"$live-wal")" = "$wal_sum" ] || fail "reading changed the live WAL"
step 3 "COMMIT;"
[ "$(count)" = 5 ] || fail "a committed transaction was not read: $(count)"
step 4 "INSERT INTO t VALUES (6); BEGIN; INSERT INTO t VALUES (7);"
kill -9 "$writer"
{ wait "$writer"; } 2>/dev/null
writer=
exec 3>&-
[ "$(count)" = 6 ] || fail "after the writer was killed: '$(count)' rows, not 6: $(cat "$tmp/err")"
"$TSTOP" sql -f csv "$live" "PRAGMA integrity_check" >"$tmp/check" || fail "integrity_check: exit $?"
[ "$(tail -n 1 "$tmp/check")" = ok ] || fail "the database is damaged: $(cat "$tmp/check")"
echo "ok"
