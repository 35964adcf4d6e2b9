#!/usr/bin/env bash
# Installs what is missing, builds tstop, and runs it on the bundled sample
# workload. Until live capture lands (issue 3), the sample is a synthetic
# session made by tstop-synth - generated data, labelled as such in every
# output - that `tstop info` and `tstop stats` then read.
# Usage: scripts/demo.sh [--no-install]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--no-install" ]; then scripts/install-deps.sh; fi
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc)"

mkdir -p out
./build/release/tstop-synth -o out/sample.sbt -n 200000 --zstd 3
./build/release/tstop info out/sample.sbt
./build/release/tstop stats out/sample.sbt --report cuda_gpu_kern_sum --report cuda_api_sum
echo
echo "Try: ./build/release/tstop stats out/sample.sbt            (every report)"
echo "     ./build/release/tstop stats out/sample.sbt --format json"
echo "     man ./man/tstop.1"
