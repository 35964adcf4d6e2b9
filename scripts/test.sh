#!/usr/bin/env bash
# Installs what is missing, then builds and tests tstop the way CI does:
#   1. a -Werror build (gcc) and all tests through ctest;
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build and all tests;
#   3. the SBT reader fuzz target (clang, libFuzzer), run for a short time;
#   4. clang-format over the whole tree.
# Usage: scripts/test.sh [--no-install] [--fuzz-seconds N]
# Build trees go to build/werror, build/asan and build/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."

install=1
fuzz_seconds=60
while [ $# -gt 0 ]; do
  case "$1" in
    --no-install) install=0 ;;
    --fuzz-seconds) fuzz_seconds="$2"; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$install" = 1 ]; then scripts/install-deps.sh; fi
jobs=$(nproc)

step() { printf '\n=== %s ===\n' "$*"; }

step "format check (clang-format)"
scripts/format.sh --check

step "build: -Werror"
cmake -S . -B build/werror -DTSTOP_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/werror -j "$jobs"
step "tests: -Werror build"
ctest --test-dir build/werror --output-on-failure -j "$jobs"

step "build: ASan + UBSan"
cmake -S . -B build/asan -DTSTOP_WERROR=ON -DTSTOP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build/asan -j "$jobs"
step "tests: ASan + UBSan build"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j "$jobs"

if [ "$fuzz_seconds" -gt 0 ]; then
  step "fuzz: SBT reader, ${fuzz_seconds}s (clang, libFuzzer)"
  CC=clang cmake -S . -B build/fuzz -DTSTOP_FUZZ=ON -DTSTOP_FUZZ_SECONDS="$fuzz_seconds" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build/fuzz -j "$jobs"
  ctest --test-dir build/fuzz --output-on-failure -R '^fuzz\.'
fi

step "all checks passed"
