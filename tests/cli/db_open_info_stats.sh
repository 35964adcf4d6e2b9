#!/usr/bin/env bash
# End-to-end test of reading the session database through the real binary:
# `tstop info` and `tstop stats` on run.db give the reports they give on
# run.sbt (the database built by `tstop db`), and refuse what is not a tstop
# database with a clear message: a text file, a truncated database, a newer
# schema version, a plain SQLite file, the nsys exports of the shared test
# data (skipped when absent). Reading a finished database leaves nothing
# beside it; malformed rows are skipped with a warning (when the sqlite3
# shell is there to make them).
# Usage: bash db_open_info_stats.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -euo pipefail
TSTOP=$1
SYNTH=$2
SRC=$3

tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

"$SYNTH" -o "$tmp/s.sbt" -n 30000 --processes 2 --threads 2 --streams 4 --seed 9 >"$tmp/counts"
events=$(awk '$1 == "events" { print $2 }' "$tmp/counts")
"$TSTOP" db -q "$tmp/s.sbt" -o "$tmp/s.db" || fail "tstop db exited $?"

# --- info: the same report but for the file section and the name ----------------
"$TSTOP" info "$tmp/s.sbt" >"$tmp/info.sbt" 2>"$tmp/err" || fail "info on the SBT exited $?"
"$TSTOP" info "$tmp/s.db" >"$tmp/info.db" 2>"$tmp/err" || fail "info on the database exited $?"
[ ! -s "$tmp/err" ] || fail "info warned about a sound database: $(cat "$tmp/err")"
body() { sed -e '1d' -e '/^file$/,$d' "$1"; }
diff <(body "$tmp/info.sbt") <(body "$tmp/info.db") >"$tmp/diff" || fail "info differs:
$(cat "$tmp/diff")"
grep -qx "events ($events)" "$tmp/info.db" || fail "event count of the database"
grep -qx "session $tmp/s.db" "$tmp/info.db" || fail "session line names the database"
grep -Eq "^  format +SQLite session database, schema version 1\$" "$tmp/info.db" || fail "format line"
grep -Eq "^  size +$(stat -c %s "$tmp/s.db") bytes\$" "$tmp/info.db" || fail "size line"
grep -Eq "^  skipped +0 malformed rows\$" "$tmp/info.db" || fail "skipped line"
if grep -Eq '^  (chunks|index|tail) ' "$tmp/info.db"; then
	fail "SBT-only lines in the report of a database"
fi

# --- stats: byte for byte the same, every format --------------------------------
for f in table csv json; do
	"$TSTOP" stats -f "$f" "$tmp/s.sbt" >"$tmp/stats.sbt.$f" 2>/dev/null || fail "stats -f $f on the SBT"
	"$TSTOP" stats -f "$f" "$tmp/s.db" >"$tmp/stats.db.$f" 2>/dev/null || fail "stats -f $f on the database"
	cmp -s "$tmp/stats.sbt.$f" "$tmp/stats.db.$f" || fail "stats -f $f differs between the SBT and the database"
	[ -s "$tmp/stats.db.$f" ] || fail "stats -f $f printed nothing"
done

# --- reading writes nothing, even where nothing can be written -------------------
mkdir "$tmp/ro"
cp "$tmp/s.db" "$tmp/ro/s.db"
chmod 555 "$tmp/ro"
"$TSTOP" info "$tmp/ro/s.db" >/dev/null 2>"$tmp/err" || fail "info in a read-only directory: $(cat "$tmp/err")"
[ "$(ls -A "$tmp/ro")" = "s.db" ] || fail "reading left files beside the database: $(ls -A "$tmp/ro")"
chmod 755 "$tmp/ro"

# --- what is refused ----------------------------------------------------------------
refused() { # FILE PATTERN: info and stats exit 1 with PATTERN in the message
	local cmd
	for cmd in info stats; do
		set +e
		"$TSTOP" "$cmd" "$1" >"$tmp/out" 2>"$tmp/err"
		local rc=$?
		set -e
		[ "$rc" = 1 ] || fail "$cmd $1 exited $rc, not 1"
		grep -q -- "$2" "$tmp/err" || fail "$cmd $1: message lacks '$2': $(cat "$tmp/err")"
		[ "$(wc -l <"$tmp/err")" = 1 ] || fail "$cmd $1: not a one-line error: $(cat "$tmp/err")"
		[ ! -s "$tmp/out" ] || fail "$cmd $1 printed a report"
	done
}
printf 'SQLite format 3\000 and then garbage, not pages\n' >"$tmp/text.db"
refused "$tmp/text.db" "database is damaged"
printf 'just text\n' >"$tmp/text.db"
refused "$tmp/text.db" "not an SBT file"
head -c 20000 "$tmp/s.db" >"$tmp/cut.db"
refused "$tmp/cut.db" "database is damaged"
# The schema version (header offset 60) and application id (offset 68) are
# big-endian 32-bit integers of the SQLite header.
cp "$tmp/s.db" "$tmp/newer.db"
printf '\000\000\000\002' | dd of="$tmp/newer.db" bs=1 seek=60 conv=notrunc status=none
refused "$tmp/newer.db" "schema version 2 is newer than this tstop reads (1)"
cp "$tmp/s.db" "$tmp/other.db"
printf '\000\000\000\000' | dd of="$tmp/other.db" bs=1 seek=68 conv=notrunc status=none
refused "$tmp/other.db" "not a tstop session database"

nsys=("$SRC"/../shared/testdata/nsys/*.sqlite)
if [ -e "${nsys[0]}" ]; then
	for f in "${nsys[@]}"; do
		refused "$f" "is an Nsight Systems export, not a tstop session database"
	done
else
	echo "skipped: no nsys exports in $SRC/../shared/testdata/nsys"
fi

# --- malformed rows: skipped, with a warning ---------------------------------------
if command -v sqlite3 >/dev/null; then
	cp "$tmp/s.db" "$tmp/bad.db"
	sqlite3 "$tmp/bad.db" "INSERT INTO kernels VALUES (10, 5, 1, 0, 0, 0, 0);
		INSERT INTO kernels VALUES (10, 20, 999999, 0, 0, 0, 0);
		INSERT INTO memcpys VALUES (0, 1, 1, 0, 0, 0, 8, 99, 0, 0);"
	"$TSTOP" info "$tmp/bad.db" >"$tmp/info.bad" 2>"$tmp/err" || fail "info on a database with bad rows"
	grep -q "warning: .*bad.db: skipped 3 malformed rows (kernels 2, memcpys 1); first: kernels row [0-9]*: ends before it starts" "$tmp/err" ||
		fail "no warning about the skipped rows: $(cat "$tmp/err")"
	grep -qx "events ($events)" "$tmp/info.bad" || fail "the sound rows did not all load"
	grep -Eq '^  skipped +3 malformed rows$' "$tmp/info.bad" || fail "skipped rows not in the file section"
	grep -Eq '^ +2 in kernels$' "$tmp/info.bad" || fail "skipped rows per table"
	"$TSTOP" stats -f csv "$tmp/bad.db" >"$tmp/stats.bad" 2>"$tmp/err" || fail "stats on a database with bad rows"
	grep -q "skipped 3 malformed rows" "$tmp/err" || fail "stats did not warn"
	cmp -s "$tmp/stats.bad" "$tmp/stats.db.csv" || fail "the skipped rows changed the reports"
else
	echo "skipped: malformed rows (no sqlite3 shell to write them)"
fi

echo "ok"
