#!/usr/bin/env bash
# Installs what is missing, builds tstop, and captures the bundled sample
# workload with it: the OpenCL sample (three queues on PoCL's CPU device) and,
# where the NVTX headers were found, the NVTX sample (ranges from several
# threads), both launched under one `tstop record`, so that the session holds
# two processes. When standard output is a terminal they run under the live
# view, `tstop -- sh -c ...` (watch the timeline and tables fill; the view
# stays when they end: q quits); otherwise under the headless `tstop record`.
# Then it describes the session and prints the reports.
# Usage: scripts/demo.sh [--no-install]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--no-install" ]; then scripts/install-deps.sh; fi
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc)"

bin=build/release
live=false
[ -t 0 ] && [ -t 1 ] && live=true
# live, the NVTX sample runs a few seconds (spinning 300 us per range) so there is something to watch
nvtx_args="-n 200"
$live && nvtx_args="-n 6000 --spin-us 300"
workload=()
[ -x "$bin/samples/nvtx/tstop-sample-nvtx" ] && workload+=("$bin/samples/nvtx/tstop-sample-nvtx $nvtx_args")
[ -x "$bin/samples/opencl/tstop-sample-opencl" ] && workload+=("$bin/samples/opencl/tstop-sample-opencl")
if [ ${#workload[@]} -eq 0 ]; then
  echo "demo: no sample was built (needs OpenCL or the NVTX headers of the CUDA toolkit)" >&2
  exit 1
fi
script=$(printf '%s && ' "${workload[@]}")
script=${script% && }

mkdir -p out
if $live; then
  "$bin/tstop" -f -o out/sample.sbt -- sh -c "$script"
else
  "$bin/tstop" record -f -o out/sample.sbt -- sh -c "$script"
fi
"$bin/tstop" info out/sample.sbt
"$bin/tstop" stats out/sample.sbt --report cuda_gpu_kern_sum --report cuda_api_sum --report nvtx_sum
echo
echo "The session database beside it (out/sample.db), queried with SQL:"
"$bin/tstop" sql out/sample.db "SELECT name, instances, total_ns FROM kernel_summary LIMIT 5"
echo
echo "Try: $bin/tstop stats out/sample.sbt            (every report)"
echo "     $bin/tstop stats out/sample.sbt --format json"
echo "     $bin/tstop sql out/sample.db --schema           (tables and views; docs/schema.md)"
echo "     $bin/tstop open out/sample.sbt              (browse the session again)"
echo "     $bin/tstop -- YOUR_PROGRAM ARGS            (live view; CUDA programs need the CUDA driver)"
echo "     $bin/tstop record -- YOUR_PROGRAM ARGS     (headless)"
echo "     man ./man/tstop.1"
