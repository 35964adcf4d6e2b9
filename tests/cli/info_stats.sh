#!/usr/bin/env bash
# End-to-end test of `tstop info` and `tstop stats` through the real
# binaries: tstop-synth writes a session, then what info and stats print is
# checked against the counts tstop-synth reports, and stats is run for
# every report in every format.
# Usage: bash info_stats.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -euo pipefail
TSTOP=$1
SYNTH=$2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

"$SYNTH" -o "$tmp/s.sbt" -n 30000 --processes 2 --threads 2 --streams 4 --seed 5 --zstd 3 >"$tmp/counts"
count() {
	local v
	v=$(awk -v k="$1" '$1 == k { print $2 }' "$tmp/counts")
	[ -n "$v" ] || fail "tstop-synth did not report '$1'"
	echo "$v"
}
[ "$(count events)" -ge 30000 ] || fail "fewer events than asked for"

# --- info ----------------------------------------------------------------------
"$TSTOP" info "$tmp/s.sbt" >"$tmp/info" 2>"$tmp/info.err" || fail "info exited $?"
[ ! -s "$tmp/info.err" ] || fail "info warned about a sound file: $(cat "$tmp/info.err")"
grep -q "synthetic session (generated, not captured)" "$tmp/info" || fail "no synthetic marker"
grep -Eq '^  command +tstop-synth -n 30000 --seed 5 ' "$tmp/info" || fail "command line not shown"
grep -Eq '^  host +synth-host$' "$tmp/info" || fail "host not shown"
grep -Eq '^  started +2024-05-01 12:00:05 UTC$' "$tmp/info" || fail "start time not shown"
grep -Eq '^  duration +[0-9.]+ s ' "$tmp/info" || fail "duration not shown"
grep -Eq '^  tstop version +[0-9]+\.[0-9]+\.[0-9]+$' "$tmp/info" || fail "version not shown"
grep -qx "events ($(count events))" "$tmp/info" || fail "total event count differs"
for k in kernel memcpy memset sync api nvtx_range nvtx_mark mem_alloc mem_free counter lost; do
	grep -Eq "^  $k +$(count "$k")\$" "$tmp/info" || fail "count of $k differs from tstop-synth's $(count "$k")"
done
grep -qx "lost events ($(count lost_total))" "$tmp/info" || fail "lost total differs"
grep -Eq "^  41000 +$(count lost_total) +ring\$" "$tmp/info" || fail "lost events per source missing"
grep -qx "processes (2)" "$tmp/info" || fail "process count"
[ "$(grep -Ec '^  4[01][01]00 +40999 +exited 0 +python3 train.py' "$tmp/info")" = 2 ] || fail "process lines"
grep -qx "devices (1)" "$tmp/info" || fail "device count"
grep -Eq '^  0 +CUDA +9\.0 +132 +79\.6 GiB +NVIDIA H100 80GB HBM3$' "$tmp/info" || fail "device line"
grep -qx "streams (8)" "$tmp/info" || fail "stream count"
grep -qx "threads (4)" "$tmp/info" || fail "thread count"
grep -qx "counters (2)" "$tmp/info" || fail "counter count"
grep -Eq '^  41000 +41001 +[0-9]+ +pt_worker_1$' "$tmp/info" || fail "thread name"
# Per-track event counts add up to the total.
sum=$(awk '/^streams \(/ { c = 5; next } /^(threads|counters) \(/ { c = 3; next }
	/^process tracks \(/ { c = 2; next } /^[a-z]/ { c = 0 }
	c && $1 ~ /^[0-9]+$/ { s += $c } END { print s }' "$tmp/info")
[ "$sum" = "$(count events)" ] || fail "per-track counts sum to $sum, not $(count events)"
grep -Eq "^  size +$(count bytes) bytes\$" "$tmp/info" || fail "file size"
grep -Eq '^  format +SBT 1\.[0-9]+$' "$tmp/info" || fail "format version"
grep -Eq '^  chunks +[0-9]+ \([1-9][0-9]* compressed\)$' "$tmp/info" || fail "compressed chunks not counted"
grep -Eq '^  tail +complete$' "$tmp/info" || fail "a whole file reported as cut off"
grep -Eq '^  index +present$' "$tmp/info" || fail "index"

# --- stats, checked against the counts -------------------------------------------
csv() { "$TSTOP" stats "$tmp/s.sbt" --format csv --report "$1" 2>/dev/null; }
# Column $2 summed over the data rows (the name is the last column and
# every column before it is a number without commas).
colsum() { awk -F, -v c="$1" 'NR > 1 { s += $c } END { printf "%d\n", s }'; }
[ "$(csv cuda_gpu_kern_sum | colsum 3)" = "$(count kernel)" ] || fail "kernel instances"
[ "$(csv cuda_api_sum | colsum 3)" = "$(count api)" ] || fail "API calls"
memops=$(($(count memcpy) + $(count memset)))
[ "$(csv cuda_gpu_mem_time_sum | colsum 3)" = "$memops" ] || fail "memops by time"
[ "$(csv cuda_gpu_mem_size_sum | colsum 2)" = "$memops" ] || fail "memops by size"
[ "$(csv nvtx_sum | colsum 3)" = "$(count nvtx_range)" ] || fail "NVTX ranges"
gpu=$(($(count kernel) + memops))
[ "$(csv cuda_gpu_trace | awk 'END { print NR - 1 }')" = "$gpu" ] || fail "GPU trace rows"
# The trace is in start order.
csv cuda_gpu_trace | awk -F, 'NR > 2 && $1 < prev { bad = 1 } NR > 1 { prev = $1 } END { exit bad }' ||
	fail "GPU trace out of order"
# Time (%) adds up to 100.
csv cuda_gpu_kern_sum | awk -F, 'NR > 1 { s += $1 } END { exit !(s > 99.99 && s < 100.01) }' || fail "Time (%)"
# Kernel names are shown demangled.
csv cuda_gpu_kern_sum >"$tmp/kern.csv"
grep -q '"void flash::flash_fwd_splitkv_kernel<flash::Flash_fwd_kernel_traits<128, 64' "$tmp/kern.csv" ||
	fail "names not demangled"
if grep -q '_ZN' "$tmp/kern.csv"; then fail "a mangled name in the report"; fi
# Short names are the same reports.
[ "$("$TSTOP" stats "$tmp/s.sbt" -f csv -r gpu_kern_sum 2>/dev/null)" = "$(csv cuda_gpu_kern_sum)" ] ||
	fail "short report name"

# --- every report in every format ----------------------------------------------------
reports="cuda_gpu_kern_sum cuda_api_sum cuda_gpu_mem_time_sum cuda_gpu_mem_size_sum nvtx_sum cuda_gpu_trace"
for fmt in table csv json; do
	for r in $reports; do
		"$TSTOP" stats "$tmp/s.sbt" --report "$r" --format "$fmt" >"$tmp/out" 2>"$tmp/err" ||
			fail "stats $r $fmt exited $?"
		[ -s "$tmp/out" ] || fail "stats $r $fmt printed nothing"
	done
	"$TSTOP" stats "$tmp/s.sbt" --format "$fmt" >"$tmp/all.$fmt" 2>"$tmp/err" || fail "stats (all) $fmt"
	"$TSTOP" stats "$tmp/s.sbt" --format "$fmt" -o "$tmp/file.$fmt" 2>/dev/null || fail "stats -o $fmt"
	cmp -s "$tmp/all.$fmt" "$tmp/file.$fmt" || fail "-o output differs from standard output ($fmt)"
done
# The synthetic marker: in table form in the output, on stderr otherwise.
head -1 "$tmp/all.table" | grep -q "synthetic session (generated, not captured)" || fail "table lacks the marker"
"$TSTOP" stats "$tmp/s.sbt" -f csv -r nvtx_sum 2>&1 >/dev/null | grep -q "synthetic session" ||
	fail "csv: no synthetic note on stderr"
for r in $reports; do
	grep -q "($r):\$" "$tmp/all.table" || fail "table lacks $r"
	grep -qx "$r" "$tmp/all.csv" || fail "csv lacks the $r section"
	grep -q "^  \"$r\": {\$" "$tmp/all.json" || fail "json lacks $r"
done
# Table: thousands separators, right-aligned numbers under their titles.
grep -Eq '^ +[0-9]+\.[0-9]  +[0-9]{1,3}(,[0-9]{3})+ ' "$tmp/all.table" || fail "no thousands separators"
grep -q ' Time (%)  Total Time (ns)  Instances ' "$tmp/all.table" || fail "kernel summary header"
# CSV: no separators inside numbers, RFC 4180 quoting of names with commas.
grep -Eq '^[0-9.]+,[0-9]+,[0-9]+,' "$tmp/all.csv" || fail "csv numbers"
grep -q ',"void at::native::vectorized_layer_norm_kernel<float, float>(int, float, ' "$tmp/all.csv" ||
	fail "csv quoting"
# JSON: one document; a row object per CSV data row.
[ "$(head -c 1 "$tmp/all.json")" = "{" ] || fail "json start"
[ "$(tail -n 1 "$tmp/all.json")" = "}" ] || fail "json end"
json_rows=$(grep -c '^      {"' "$tmp/all.json")
csv_rows=$(awk '/^[a-z_]+$/ { hdr = 1; next } hdr { hdr = 0; next } NF { n++ } END { print n }' "$tmp/all.csv")
[ "$json_rows" = "$csv_rows" ] || fail "json has $json_rows rows, csv $csv_rows"
grep -q '"Name": "void flash::flash_fwd_splitkv_kernel<' "$tmp/all.json" || fail "json names"
grep -q '"SrcMemKd": null' "$tmp/all.json" || fail "json empty cells"
echo "ok"
