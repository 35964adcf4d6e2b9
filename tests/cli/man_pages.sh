#!/usr/bin/env bash
# Checks the man pages: each man/*.1 passes `groff -man -ww -z` without a
# single warning, every command `tstop --help` lists has its page, and
# tstop-stats.1 documents every report and every column that
# `tstop stats --format csv` prints.
# Usage: bash man_pages.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -euo pipefail
TSTOP=$1
SYNTH=$2
SRC=$3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
command -v groff >/dev/null || fail "groff is not installed (scripts/install-deps.sh installs it)"

pages=("$SRC"/man/*.1)
[ -e "${pages[0]}" ] || fail "no man pages in $SRC/man"
for page in "${pages[@]}"; do
	out=$(groff -man -ww -z "$page" 2>&1) || fail "groff failed on $page: $out"
	[ -z "$out" ] || fail "groff warnings on $page:
$out"
	grep -q '^\.SH NAME$' "$page" || fail "$page has no NAME section"
	grep -q '^\.SH EXIT STATUS$' "$page" || fail "$page has no EXIT STATUS section"
done
for s in COMMANDS ENVIRONMENT FILES; do
	grep -q "^\.SH $s\$" "$SRC/man/tstop.1" || fail "tstop.1 has no $s section"
done

# Every command has a page, and tstop.1 names it.
"$TSTOP" --help >"$tmp/help"
cmds=$(awk '/Commands:$/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' "$tmp/help")
[ -n "$cmds" ] || fail "tstop --help lists no command"
for c in $cmds; do
	[ -f "$SRC/man/tstop-$c.1" ] || fail "no man page for 'tstop $c'"
	grep -q "tstop\\\\-$c (1)" "$SRC/man/tstop.1" || fail "tstop.1 does not refer to tstop-$c(1)"
done

# tstop-stats.1 names every report and every column title.
"$SYNTH" -q -o "$tmp/s.sbt" -n 2000
text=$(groff -man -Tutf8 -P -cbou "$SRC/man/tstop-stats.1" 2>/dev/null | tr -s ' \n' '  ')
"$TSTOP" stats "$tmp/s.sbt" -f csv 2>/dev/null >"$tmp/all.csv"
for r in $(grep -E '^[a-z_]+$' "$tmp/all.csv"); do
	grep -q "$r" <<<"$text" || fail "tstop-stats.1 does not document report $r"
done
grep -A1 -E '^[a-z_]+$' "$tmp/all.csv" | grep ',' | tr ',' '\n' | sort -u >"$tmp/titles"
while read -r title; do
	grep -qF -- "$title" <<<"$text" || fail "tstop-stats.1 does not document column '$title'"
done <"$tmp/titles"
echo "ok"
