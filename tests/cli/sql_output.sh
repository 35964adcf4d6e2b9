#!/usr/bin/env bash
# End-to-end test of what `tstop sql` prints: table, CSV and JSON of a small
# database made here with the sqlite3 shell (numbers, REAL, NULL, BLOB, and
# text holding a comma, quotes, an escape sequence, a newline, a byte that
# is not UTF-8 and a bidi control), several statements in one query and on
# standard input, a statement that returns no columns, an empty result,
# --schema in the three formats, -o, the note on a synthetic session, and
# cutting long cells to the width of a terminal (run under script(1)) but
# never in a pipe.
# Usage: bash sql_output.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
command -v sqlite3 >/dev/null || fail "the sqlite3 shell is not installed (scripts/install-deps.sh installs it)"

db=$tmp/o.db
sqlite3 "$db" "CREATE TABLE k(id INTEGER PRIMARY KEY, name TEXT, dur REAL, b BLOB, n);
INSERT INTO k VALUES (1, 'alpha', 1.5, x'00ff', NULL), (2, 'a,\"b\"', 2.0, NULL, 42),
  (3, 'esc' || char(27) || '[31m' || char(10) || 'x', -0.25, x'', 3.5),
  (4, CAST(x'41ff42' AS TEXT), 1e20, NULL, 'txt'), (5, 'rlo' || char(8238) || 'x', NULL, x'0a', -7);
CREATE VIEW v AS SELECT id, upper(name) AS big FROM k;" || fail "sqlite3 could not make the database"
q="SELECT * FROM k ORDER BY id"

# expect NAME FILE: FILE equals what the here-document on stdin holds.
expect() {
	cat >"$tmp/expected"
	cmp -s "$tmp/expected" "$2" || fail "$1 differs from what is expected:
$(diff "$tmp/expected" "$2")"
}

# --- the three formats ------------------------------------------------------------
"$TSTOP" sql "$db" "$q" >"$tmp/table" 2>"$tmp/err" || fail "table: exit $?: $(cat "$tmp/err")"
[ -s "$tmp/err" ] && fail "table: something on stderr: $(cat "$tmp/err")"
expect table "$tmp/table" <<'EOF'
 id  name              dur  b     n
 --  --------------  -----  ----  ----
  1  alpha             1.5  00ff  NULL
  2  a,"b"             2.0  NULL  42
  3  esc\x1b[31m\nx  -0.25        3.5
  4  A\xffB          1e+20  NULL  txt
  5  rlo\u{202E}x     NULL  0a    -7
EOF
"$TSTOP" sql -f csv "$db" "$q" >"$tmp/csv" || fail "csv: exit $?"
expect csv "$tmp/csv" <<'EOF'
id,name,dur,b,n
1,alpha,1.5,00ff,
2,"a,""b""",2.0,,42
3,esc\x1b[31m\nx,-0.25,,3.5
4,A\xffB,1e+20,,txt
5,rlo\u{202E}x,,0a,-7
EOF
"$TSTOP" sql "$db" "$q" --format json >"$tmp/json" || fail "json: exit $?"
expect json "$tmp/json" <<'EOF'
[
  {"id": 1, "name": "alpha", "dur": 1.5, "b": "00ff", "n": null},
  {"id": 2, "name": "a,\"b\"", "dur": 2.0, "b": null, "n": 42},
  {"id": 3, "name": "esc\u001b[31m\nx", "dur": -0.25, "b": "", "n": 3.5},
  {"id": 4, "name": "A\\xffB", "dur": 1e+20, "b": null, "n": "txt"},
  {"id": 5, "name": "rlo\u202ex", "dur": null, "b": "0a", "n": -7}
]
EOF
if command -v python3 >/dev/null; then
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d[2]["name"] == "esc\x1b[31m\nx"' \
		"$tmp/json" || fail "the JSON does not parse back to the same values"
fi
# No raw control byte reaches the output of table form or CSV.
LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$tmp/table" "$tmp/csv" && fail "a control byte reached the output"

# --- several statements, a statement without columns, an empty result -----------------
"$TSTOP" sql "$db" "SELECT 1 AS one; PRAGMA query_only; SELECT id FROM k WHERE id > 99; SELECT 'x' AS a, 2.5 AS b" \
	>"$tmp/multi" || fail "several statements: exit $?"
expect "several statements" "$tmp/multi" <<'EOF'
 one
 ---
   1

 query_only
 ----------
          1

 id
 --

 a    b
 -  ---
 x  2.5
EOF
printf 'SELECT 1 AS one;\n-- a comment\nBEGIN; SELECT id FROM k WHERE id > 99;\n SELECT count(*) AS n FROM k; COMMIT;\n' |
	"$TSTOP" sql -f json "$db" >"$tmp/stdin" 2>"$tmp/err" || fail "stdin: exit $?: $(cat "$tmp/err")"
[ -s "$tmp/err" ] && fail "stdin: something on stderr (the prompt is for terminals only): $(cat "$tmp/err")"
expect "statements on stdin" "$tmp/stdin" <<'EOF'
[
  {"one": 1}
]
[]
[
  {"n": 5}
]
EOF
"$TSTOP" sql -f csv "$db" "SELECT 1 AS a; SELECT 2 AS b" >"$tmp/multi.csv" || fail "csv: several statements"
expect "CSV of several statements" "$tmp/multi.csv" <<'EOF'
a
1

b
2
EOF
# Only white space and comments: nothing to do, nothing printed.
printf '  -- nothing\n ; \n' | "$TSTOP" sql "$db" >"$tmp/none" || fail "an empty script: exit $?"
[ -s "$tmp/none" ] && fail "an empty script printed: $(cat "$tmp/none")"

# --- --schema ---------------------------------------------------------------------------
"$TSTOP" sql --schema "$db" >"$tmp/schema" || fail "--schema: exit $?"
expect "--schema" "$tmp/schema" <<'EOF'
table k
 column  type
 ------  -------
 id      INTEGER
 name    TEXT
 dur     REAL
 b       BLOB
 n

view v
 column  type
 ------  -------
 id      INTEGER
 big
EOF
"$TSTOP" sql --schema -f csv "$db" >"$tmp/schema.csv" || fail "--schema csv: exit $?"
expect "--schema csv" "$tmp/schema.csv" <<'EOF'
object,kind,column,type
k,table,id,INTEGER
k,table,name,TEXT
k,table,dur,REAL
k,table,b,BLOB
k,table,n,
v,view,id,INTEGER
v,view,big,
EOF
"$TSTOP" sql --schema -f json "$db" >"$tmp/schema.json" || fail "--schema json: exit $?"
expect "--schema json" "$tmp/schema.json" <<'EOF'
[
  {"name": "k", "type": "table", "columns": [{"name": "id", "type": "INTEGER"}, {"name": "name", "type": "TEXT"}, {"name": "dur", "type": "REAL"}, {"name": "b", "type": "BLOB"}, {"name": "n", "type": ""}]},
  {"name": "v", "type": "view", "columns": [{"name": "id", "type": "INTEGER"}, {"name": "big", "type": ""}]}
]
EOF

# --- -o: the same bytes as standard output ----------------------------------------------
"$TSTOP" sql -f csv -o "$tmp/out.csv" "$db" "$q" >"$tmp/stdout" || fail "-o: exit $?"
[ -s "$tmp/stdout" ] && fail "-o also wrote to standard output"
cmp -s "$tmp/out.csv" "$tmp/csv" || fail "-o output differs from standard output"

# --- a synthetic tstop session is announced on stderr, only a tstop one ----------------------
# 1414747216 is 0x54535450, "TSTP", the application id of tstop's databases.
sqlite3 "$tmp/syn.db" "PRAGMA application_id = 1414747216; CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
INSERT INTO meta VALUES ('synthetic', '1');" || fail "sqlite3 could not make syn.db"
"$TSTOP" sql "$tmp/syn.db" "SELECT 1" >/dev/null 2>"$tmp/err" || fail "syn.db: exit $?"
grep -q "warning: .*syn.db is a synthetic session (generated, not captured)" "$tmp/err" ||
	fail "a synthetic session is not announced: $(cat "$tmp/err")"
sqlite3 "$tmp/syn.db" "PRAGMA application_id = 0" || fail "sqlite3 could not change syn.db"
"$TSTOP" sql "$tmp/syn.db" "SELECT 1" >/dev/null 2>"$tmp/err" || fail "syn.db: exit $?"
[ -s "$tmp/err" ] && fail "a database that is not tstop's was called synthetic: $(cat "$tmp/err")"

# --- cutting to a terminal's width, never in a pipe -----------------------------------------
long=$(printf 'x%.0s' $(seq 200))
sqlite3 "$db" "CREATE TABLE wide(id INTEGER, a TEXT, b TEXT); INSERT INTO wide VALUES (123456789012, '$long', 'short');" ||
	fail "sqlite3 could not add a table"
"$TSTOP" sql "$db" "SELECT * FROM wide" >"$tmp/pipe" || fail "SELECT * FROM wide: exit $?"
grep -q "$long" "$tmp/pipe" || fail "a cell was cut in a pipe"
if command -v script >/dev/null; then
	LC_ALL=C.UTF-8 script -qec "stty cols 60; '$TSTOP' sql '$db' 'SELECT * FROM wide'" /dev/null |
		tr -d '\r' >"$tmp/tty"
	[ -s "$tmp/tty" ] || fail "nothing came from tstop sql on a terminal"
	while IFS= read -r line; do
		[ "$(printf '%s' "$line" | wc -m)" -le 60 ] || fail "a line is wider than the terminal: '$line'"
	done <"$tmp/tty"
	grep -q "x…  short$" "$tmp/tty" || fail "the long cell is not cut with an ellipsis: $(cat "$tmp/tty")"
	grep -q "^ 123456789012  " "$tmp/tty" || fail "the number was cut: $(cat "$tmp/tty")"
	LC_ALL=C script -qec "stty cols 60; '$TSTOP' sql '$db' 'SELECT * FROM wide'" /dev/null |
		tr -d '\r' >"$tmp/tty"
	grep -q "x\.\.\.  short$" "$tmp/tty" || fail "not a '...' outside UTF-8: $(cat "$tmp/tty")"
else
	echo "terminal width check skipped: no script(1)"
fi
echo "ok"
