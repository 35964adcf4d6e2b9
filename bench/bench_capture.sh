#!/usr/bin/env bash
# bench_capture.sh - what capture costs the application, and how fast the
# whole path (application -> ring -> drain -> SBT file) runs.
#
# Usage: bench/bench_capture.sh BUILD_DIR [PAIRS] [REPEATS]
#
# Runs the NVTX sample's --bench mode (PAIRS push+pop pairs in a tight loop on
# one thread; default 1000000) REPEATS times (default 5) in three setups and
# prints the median ns per pair of each:
#   - plain:     no collector at all (the NVTX loader finds no injection);
#   - injected:  NVTX_INJECTION64_PATH set but no tstop (the collector stays
#                inert: what a dormant collector costs);
#   - recording: under `tstop record`, everything written to an SBT file;
# then the added cost per pair, and for the recording runs the events per
# second the sample pushed through and the events tstop reported lost.
# Figures only; nothing is asserted. Targets (DESIGN.md section 5): <= 100 ns
# added per push+pop pair; >= 1 M events/s with zero lost.
set -euo pipefail

build=${1:?usage: bench_capture.sh BUILD_DIR [PAIRS] [REPEATS]}
pairs=${2:-1000000}
repeats=${3:-5}
sample=$build/samples/nvtx/tstop-sample-nvtx
lib=$build/lib/tstop/libtstop-inject.so
tstop=$build/tstop
for f in "$sample" "$lib" "$tstop"; do
  [ -x "$f" ] || [ -f "$f" ] || { echo "bench_capture: $f is missing (build the project first)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
ns_per_pair() { awk -F'\t' '$1=="bench" {print $4}'; }

plain=() injected=() recording=() lost=()
for ((i = 0; i < repeats; i++)); do
  plain+=("$("$sample" --bench "$pairs" | ns_per_pair)")
  injected+=("$(NVTX_INJECTION64_PATH=$lib "$sample" --bench "$pairs" | ns_per_pair)")
  recording+=("$("$tstop" record -f -o "$work/run.sbt" -- "$sample" --bench "$pairs" 2>/dev/null | ns_per_pair)")
  lost+=("$("$tstop" info "$work/run.sbt" | awk '/^lost events \(/ {gsub(/[()]/, "", $3); print $3}')")
done

p=$(printf '%s\n' "${plain[@]}" | median)
j=$(printf '%s\n' "${injected[@]}" | median)
r=$(printf '%s\n' "${recording[@]}" | median)
l=$(printf '%s\n' "${lost[@]}" | sort -g | tail -n 1)
printf 'NVTX push+pop, %s pairs, median of %s runs\n' "$pairs" "$repeats"
printf '  %-34s %10.1f ns/pair\n' "plain (no collector)" "$p" "injected, no tstop (dormant)" "$j" \
  "recording with tstop" "$r"
printf '  %-34s %10.1f ns/pair\n' "added by recording" "$(awk -v a="$r" -v b="$p" 'BEGIN {print a - b}')"
printf 'application -> ring -> SBT: %.2f M events/s from one thread, at most %s events lost in %s runs\n' \
  "$(awk -v r="$r" 'BEGIN {print 1000 / r}')" "$l" "$repeats"
