#!/bin/sh
# Runs the SBT fuzz target for a short time on a freshly generated corpus
# (the ctest entry fuzz.sbt_short). Any crash, leak, timeout or sanitizer
# report fails the test; the failing input is left in WORKDIR/artifacts.
# Usage: run-short.sh FUZZER CORPUS_MAKER WORKDIR SECONDS
set -eu
fuzzer=$1
maker=$2
work=$3
seconds=$4
rm -rf "$work"
mkdir -p "$work/seeds" "$work/corpus" "$work/artifacts"
"$maker" "$work/seeds"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$work/seeds"
