#!/usr/bin/env bash
# End-to-end test of `tstop sql` on real Nsight Systems exports
# (SOURCE_DIR/../shared/testdata/nsys; skipped when absent): typical nsys
# recipes run read-only on files in a read-only folder and give the counts
# the exports hold (kernels, copies by kind, kernels by name through
# StringIds, kernels joined to their runtime call by correlationId); CSV and
# JSON give the same numbers; --schema lists nsys's tables with their
# columns; the files are unchanged.
# Usage: bash sql_nsys.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
SRC=$3

data=$SRC/../shared/testdata/nsys
if [ ! -d "$data" ]; then
	echo "skipped: no Nsight Systems exports in $data (the shared test data is not there)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# check FILE KERNELS MEMCPYS: the recipes on export FILE.
check() {
	local file=$data/$1 kernels=$2 memcpys=$3 sum
	if [ ! -f "$file" ]; then
		echo "skipped: $1 is not in $data"
		return
	fi
	sum=$(cksum <"$file")
	"$TSTOP" sql "$file" "SELECT count(*) AS kernels FROM CUPTI_ACTIVITY_KIND_KERNEL" >"$tmp/out" 2>"$tmp/err" ||
		fail "$1: kernel count: $(cat "$tmp/err")"
	[ "$(tail -n 1 "$tmp/out" | tr -d ' ')" = "$kernels" ] || fail "$1: not $kernels kernels: $(cat "$tmp/out")"
	# The same in CSV and JSON.
	[ "$("$TSTOP" sql -f csv "$file" "SELECT count(*) AS n FROM CUPTI_ACTIVITY_KIND_KERNEL")" = "n
$kernels" ] || fail "$1: CSV kernel count"
	[ "$("$TSTOP" sql -f json "$file" "SELECT count(*) AS n FROM CUPTI_ACTIVITY_KIND_KERNEL")" = "[
  {\"n\": $kernels}
]" ] || fail "$1: JSON kernel count"

	# Kernel summary by name through StringIds: the instances add up.
	"$TSTOP" sql -f csv "$file" "SELECT s.value AS name, count(*) AS n, sum(k.end - k.start) AS total_ns
		FROM CUPTI_ACTIVITY_KIND_KERNEL AS k JOIN StringIds AS s ON s.id = k.shortName
		GROUP BY name ORDER BY total_ns DESC" >"$tmp/kern.csv" 2>"$tmp/err" ||
		fail "$1: kernel summary: $(cat "$tmp/err")"
	[ "$(head -n 1 "$tmp/kern.csv")" = "name,n,total_ns" ] || fail "$1: kernel summary header"
	[ "$(awk -F, 'NR > 1 { n += $2 } END { print n }' "$tmp/kern.csv")" = "$kernels" ] ||
		fail "$1: the kernel summary does not add up to $kernels: $(cat "$tmp/kern.csv")"

	# Copies by kind (ENUM_CUDA_MEMCPY_OPER numbers), through standard input.
	echo "SELECT copyKind AS kind, count(*) AS n, sum(bytes) AS bytes FROM CUPTI_ACTIVITY_KIND_MEMCPY
		GROUP BY kind ORDER BY kind;" | "$TSTOP" sql -f csv "$file" >"$tmp/copy.csv" 2>"$tmp/err" ||
		fail "$1: copies by kind: $(cat "$tmp/err")"
	[ "$(awk -F, 'NR > 1 { n += $2 } END { print n }' "$tmp/copy.csv")" = "$memcpys" ] ||
		fail "$1: the copies do not add up to $memcpys: $(cat "$tmp/copy.csv")"

	# Every kernel joins the runtime call that launched it.
	local joined
	joined=$("$TSTOP" sql -f csv "$file" "SELECT count(DISTINCT k.rowid) AS n FROM CUPTI_ACTIVITY_KIND_KERNEL AS k
		JOIN CUPTI_ACTIVITY_KIND_RUNTIME AS r ON r.correlationId = k.correlationId" | tail -n 1)
	[ "$joined" = "$kernels" ] || fail "$1: $joined kernels joined to a runtime call, not $kernels"

	# --schema lists the kernel table with its columns.
	"$TSTOP" sql --schema -f csv "$file" >"$tmp/schema.csv" || fail "$1: --schema"
	grep -qx "CUPTI_ACTIVITY_KIND_KERNEL,table,correlationId,INTEGER" "$tmp/schema.csv" ||
		fail "$1: --schema lacks CUPTI_ACTIVITY_KIND_KERNEL.correlationId"
	grep -qx "StringIds,table,value,TEXT" "$tmp/schema.csv" || fail "$1: --schema lacks StringIds.value"
	"$TSTOP" sql --schema "$file" >"$tmp/schema" || fail "$1: --schema in table form"
	grep -qx "table CUPTI_ACTIVITY_KIND_KERNEL" "$tmp/schema" ||
		fail "$1: --schema in table form has no block for the kernel table"

	# A write fails; the file is as it was.
	"$TSTOP" sql "$file" "DELETE FROM StringIds" >/dev/null 2>&1 && fail "$1: a DELETE succeeded"
	[ "$(cksum <"$file")" = "$sum" ] || fail "$1 changed"
	echo "$1: $kernels kernels, $memcpys copies"
}

check pipit__cloverleaf-nsys__perlmutter-cloverleaf-cuda.sqlite 1312 279
check pipit__saxpy-mpi-cuda_nsys_perlmutter0.sqlite 5 15
echo "ok"
