#!/usr/bin/env bash
# End-to-end test of how `tstop sql` fails: SQL errors print SQLite's message
# and the statement and exit 1 (statements before the failing one are
# printed, none after it run); usage errors exit 2; a missing file, a
# directory, an empty file, a file that is not a database exit 1 with one
# clear line; an SBT file queries the database beside it (with a note) or
# says how to build it; a file whose name begins with "file:" is a file,
# not a URI.
# Usage: bash sql_errors.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
SYNTH=$2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
command -v sqlite3 >/dev/null || fail "the sqlite3 shell is not installed (scripts/install-deps.sh installs it)"

db=$tmp/t.db
sqlite3 "$db" "CREATE TABLE k(id INTEGER, name TEXT); INSERT INTO k VALUES (1, 'a'), (2, 'b');" ||
	fail "sqlite3 could not make the database"

# run STATUS PATTERN ARGS...: `tstop sql ARGS` exits STATUS with PATTERN
# (grep -E) on stderr.
run() {
	local status=$1 pattern=$2
	shift 2
	"$TSTOP" sql "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	local rc=$?
	[ "$rc" = "$status" ] || fail "tstop sql $*: exit $rc, not $status: $(cat "$tmp/err")"
	grep -qE -- "$pattern" "$tmp/err" || fail "tstop sql $*: no '$pattern' in: $(cat "$tmp/err")"
}

# --- SQL errors ------------------------------------------------------------------------
run 1 '^tstop sql: near "SELEC": syntax error$' "$db" "SELEC * FROM k"
grep -qx '  in: SELEC \* FROM k' "$tmp/err" || fail "the statement is not quoted: $(cat "$tmp/err")"
[ -s "$tmp/out" ] && fail "a failed statement printed: $(cat "$tmp/out")"
run 1 '^tstop sql: no such table: nope$' "$db" "SELECT 1 AS one; SELECT * FROM nope; SELECT 3 AS three"
grep -qx '  in statement 2: SELECT \* FROM nope;' "$tmp/err" || fail "statement 2 not named: $(cat "$tmp/err")"
grep -q one "$tmp/out" || fail "the statement before the error was not printed"
grep -q three "$tmp/out" && fail "a statement after the error ran"
# A multi-line statement is quoted on one line; a ';' inside a string does not end it.
run 1 'no such column: missing' "$db" $'SELECT \'a;b\',\n  missing\n  FROM k; SELECT 2'
grep -qx "  in: SELECT 'a;b', missing FROM k;" "$tmp/err" || fail "statement not quoted whole: $(cat "$tmp/err")"
# An error while rows are read (after the statement was prepared).
run 1 'integer overflow' "$db" "SELECT sum(9223372036854775807) FROM k"
run 1 'integer overflow' "$db" -f csv "SELECT sum(9223372036854775807) FROM k"
# Errors from standard input.
printf 'SELECT 1;\nSELECT * FROM nope;\n' | "$TSTOP" sql "$db" >/dev/null 2>"$tmp/err"
[ $? = 1 ] || fail "an SQL error on stdin did not exit 1"
grep -q "no such table: nope" "$tmp/err" || fail "no SQLite message for stdin: $(cat "$tmp/err")"
printf 'SELECT 1;\0SELECT 2;' | "$TSTOP" sql "$db" >/dev/null 2>"$tmp/err"
[ $? = 1 ] || fail "SQL with a NUL byte did not exit 1"
grep -q "NUL byte" "$tmp/err" || fail "no message for a NUL byte: $(cat "$tmp/err")"
# Control characters of a statement never reach the terminal raw.
run 1 'unrecognized token: "\\x1b"' "$db" $'SELECT \e[31m'
LC_ALL=C grep -q $'\e' "$tmp/err" && fail "an escape byte reached stderr"

# --- usage errors -------------------------------------------------------------------------
run 2 "no database given" --format csv
run 2 "unknown format 'xml'" -f xml "$db" "SELECT 1"
run 2 "unknown option '--bogus'" --bogus "$db"
run 2 "too many arguments" "$db" "SELECT 1" "SELECT 2"
run 2 "--schema takes no query" --schema "$db" "SELECT 1"
"$TSTOP" sql --help >"$tmp/help" || fail "--help exits $?"
grep -q "^Usage: tstop sql" "$tmp/help" || fail "--help prints no usage"

# --- files that are not databases -----------------------------------------------------------
run 1 "^tstop sql: cannot open $tmp/none.db: No such file or directory$" "$tmp/none.db" "SELECT 1"
[ "$(wc -l <"$tmp/err")" = 1 ] || fail "a missing file: more than one line: $(cat "$tmp/err")"
run 1 "is a directory, not a database" "$tmp" "SELECT 1"
: >"$tmp/empty.db"
run 1 "empty.db is empty, not a SQLite database" "$tmp/empty.db" "SELECT 1"
echo "id,name" >"$tmp/text.csv"
run 1 "text.csv is not a SQLite database" "$tmp/text.csv" "SELECT 1"
[ "$(wc -l <"$tmp/err")" = 1 ] || fail "not a database: more than one line: $(cat "$tmp/err")"
# A file that starts like a database but is damaged.
printf 'SQLite format 3\0%s' "$(head -c 200 /dev/zero | tr '\0' x)" >"$tmp/bad.db"
run 1 "cannot read .*bad.db" "$tmp/bad.db" "SELECT 1"

# --- an SBT file ------------------------------------------------------------------------------
"$SYNTH" -q -o "$tmp/s.sbt" -n 100 || fail "tstop-synth"
run 1 "s.sbt is an SBT capture log, not a database.*tstop db $tmp/s.sbt" "$tmp/s.sbt" "SELECT 1"
echo "not a database" >"$tmp/s.db"
run 1 "s.db is not a SQLite database" "$tmp/s.sbt" "SELECT 1"
cp "$db" "$tmp/s.db"
run 0 "note: .*s.sbt is an SBT capture log; querying its session database .*s.db" "$tmp/s.sbt" \
	"SELECT count(*) AS n FROM k"
grep -q "^ 2$" "$tmp/out" || fail "the sibling database was not queried: $(cat "$tmp/out")"
# A name without .sbt: the database is NAME.db.
cp "$tmp/s.sbt" "$tmp/capture"
cp "$db" "$tmp/capture.db"
run 0 "querying its session database .*capture.db" "$tmp/capture" "SELECT 1"

# --- a name that looks like a URI is a file name ---------------------------------------------------
mkdir "$tmp/uri"
cp "$db" "$tmp/uri/file:x.db?mode=rwc"
(cd "$tmp/uri" && "$TSTOP" sql 'file:x.db?mode=rwc' "SELECT count(*) AS n FROM k" >"$tmp/out" 2>"$tmp/err") ||
	fail "a file named file:...: $(cat "$tmp/err")"
grep -q "^ 2$" "$tmp/out" || fail "file:x.db was not read as a file"
(cd "$tmp/uri" && "$TSTOP" sql 'file:x.db' "SELECT 1" >/dev/null 2>"$tmp/err")
[ $? = 1 ] || fail "file:x.db (no such file) did not fail"
[ "$(ls "$tmp/uri")" = "file:x.db?mode=rwc" ] || fail "files were created: $(ls "$tmp/uri")"
echo "ok"
