#!/usr/bin/env bash
# End-to-end test of `tstop export --kineto`: the trace of synthetic
# sessions (one process; several processes, threads and devices) passes the
# structure checks of tests/export/kineto_check.py with the event counts the
# generator reports; its keys match the real PyTorch traces in
# ../shared/testdata/kineto (skipped with a message when absent); a .gz
# output is the same JSON gzipped; default names; an existing output is
# replaced only with -f; -o - writes to standard output; an unwritable
# path fails with one line and leaves nothing behind.
# Usage: bash export_kineto.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
SYNTH=$2
SRC=$3
CHECK="$SRC/tests/export/kineto_check.py"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
command -v python3 >/dev/null || {
	echo "SKIP: python3 is needed to check the JSON"
	exit 0
}

ref=()
if [ -d "$SRC/../shared/testdata/kineto" ]; then
	ref=(--reference "$SRC/../shared/testdata/kineto")
else
	echo "note: $SRC/../shared/testdata/kineto absent: not comparing with real PyTorch traces"
fi

# --- structure, counts, reference keys -------------------------------------------
"$SYNTH" -o "$tmp/a.sbt" -n 20000 >"$tmp/a.counts" || fail "tstop-synth a"
"$TSTOP" export --kineto "$tmp/a.sbt" 2>"$tmp/err" || fail "export a: $(cat "$tmp/err")"
[ -f "$tmp/a.json" ] || fail "default output a.json not written"
grep -q "wrote $tmp/a.json (" "$tmp/err" || fail "no 'wrote' line: $(cat "$tmp/err")"
python3 "$CHECK" "$tmp/a.json" --counts "$tmp/a.counts" "${ref[@]}" || fail "a.json structure"

"$SYNTH" -o "$tmp/m.sbt" -n 30000 --processes 3 --threads 3 --devices 2 --streams 4 >"$tmp/m.counts" ||
	fail "tstop-synth m"
"$TSTOP" export -q --kineto "$tmp/m.sbt" -o "$tmp/m.json" || fail "export m"
python3 "$CHECK" "$tmp/m.json" --counts "$tmp/m.counts" || fail "m.json structure"

# The session database gives the same trace as the SBT file.
if "$TSTOP" db -q "$tmp/a.sbt" 2>/dev/null; then
	"$TSTOP" export -q --kineto "$tmp/a.db" -o "$tmp/a-db.json" || fail "export a.db"
	python3 "$CHECK" "$tmp/a-db.json" --counts "$tmp/a.counts" || fail "a-db.json structure"
fi

# --- gzip ------------------------------------------------------------------------------
"$TSTOP" export -q --kineto "$tmp/a.sbt" -o "$tmp/a.json.gz" || fail "export .gz"
gzip -t "$tmp/a.json.gz" || fail "a.json.gz is not gzip"
sed 's|"traceName": .*|"traceName": X|' "$tmp/a.json" >"$tmp/plain"
gzip -dc "$tmp/a.json.gz" | sed 's|"traceName": .*|"traceName": X|' >"$tmp/unz"
cmp -s "$tmp/plain" "$tmp/unz" || fail "a.json.gz is not a.json gzipped"
[ "$(stat -c %s "$tmp/a.json.gz")" -lt "$(($(stat -c %s "$tmp/a.json") / 4))" ] || fail "gzip output too big"
"$TSTOP" export -q -z --kineto "$tmp/m.sbt" || fail "export -z"
gzip -t "$tmp/m.json.gz" || fail "-z default name m.json.gz"
python3 "$CHECK" "$tmp/m.json.gz" --counts "$tmp/m.counts" || fail "m.json.gz structure"

# --- overwrite, stdout, errors -------------------------------------------------------
echo old >"$tmp/old.json"
"$TSTOP" export --kineto "$tmp/a.sbt" -o "$tmp/old.json" 2>"$tmp/err"
[ $? = 1 ] || fail "export over an existing file did not exit 1"
grep -q "already exists (use -f" "$tmp/err" || fail "no -f hint: $(cat "$tmp/err")"
[ "$(cat "$tmp/old.json")" = old ] || fail "existing file changed without -f"
"$TSTOP" export -q -f --kineto "$tmp/a.sbt" -o "$tmp/old.json" || fail "export -f"
cmp -s <(sed 's|"traceName": .*||' "$tmp/old.json") <(sed 's|"traceName": .*||' "$tmp/a.json") ||
	fail "-f did not replace the file"
"$TSTOP" export -q --kineto "$tmp/a.sbt" -o - >"$tmp/stdout.json" || fail "export -o -"
python3 "$CHECK" "$tmp/stdout.json" || fail "stdout trace structure"

"$TSTOP" export --kineto "$tmp/a.sbt" -o "$tmp/nodir/x.json" 2>"$tmp/err"
[ $? = 1 ] || fail "export into a missing directory did not exit 1"
[ "$(wc -l <"$tmp/err")" = 1 ] || fail "not one error line: $(cat "$tmp/err")"
"$TSTOP" export --kineto "$tmp/missing.sbt" 2>"$tmp/err"
[ $? = 1 ] || fail "export of a missing file did not exit 1"
"$TSTOP" export "$tmp/a.sbt" 2>"$tmp/err"
[ $? = 2 ] || fail "export without a format did not exit 2"
"$TSTOP" export --kineto --perfetto "$tmp/a.sbt" 2>"$tmp/err"
[ $? = 2 ] || fail "export with two formats did not exit 2"
"$TSTOP" export --kineto "$tmp/a.sbt" -o "$tmp/a.sbt" 2>"$tmp/err"
[ $? = 1 ] || fail "export onto the session file did not exit 1"
# A write error half-way (1 KiB file size limit) leaves no file behind.
(
	ulimit -f 1
	trap '' XFSZ
	exec "$TSTOP" export -q --kineto "$tmp/a.sbt" -o "$tmp/small.json"
) 2>"$tmp/err"
[ $? = 1 ] || fail "a failed write did not exit 1"
[ ! -e "$tmp/small.json" ] || fail "a failed write left small.json"
[ -z "$(ls "$tmp" | grep -v -E '^(a|m)\.|^a-db|^old|^plain|^unz|^err|^stdout')" ] ||
	fail "files left behind: $(ls "$tmp")"
echo "ok"
