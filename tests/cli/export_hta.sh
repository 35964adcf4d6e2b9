#!/usr/bin/env bash
# Holistic Trace Analysis reads `tstop export --kineto`: HTA (from PyPI,
# installed once into a virtual environment in the build directory, beside
# TSTOP, and reused by later runs) loads the export of a synthetic session
# as rank 0 of a trace directory, and its GPU kernel breakdown
# (get_gpu_kernel_breakdown) lists the kernels of `tstop stats --report
# cuda_gpu_kern_sum` with the same instance counts and total times
# (tests/export/hta_check.py). Skipped, with a message, when python3 cannot
# make a virtual environment or PyPI cannot be reached; CI has PyPI.
# Usage: bash export_hta.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
SYNTH=$2
SRC=$3

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
venv="$(cd "$(dirname "$TSTOP")" && pwd)/hta-venv"
if [ ! -f "$venv/.tstop-hta-ready" ]; then
	rm -rf "$venv"
	if ! python3 -m venv "$venv" >/dev/null 2>&1; then
		echo "SKIP: python3 cannot create a virtual environment (Debian: python3-venv)"
		exit 0
	fi
	if ! "$venv/bin/pip" install --quiet --disable-pip-version-check holistictraceanalysis >"$venv.log" 2>&1; then
		if grep -qiE "connection|resolve|network|timed out|No matching distribution" "$venv.log"; then
			echo "SKIP: PyPI cannot be reached to install holistictraceanalysis:"
			tail -n 3 "$venv.log"
			rm -rf "$venv"
			exit 0
		fi
		cat "$venv.log" >&2
		rm -rf "$venv"
		fail "pip install holistictraceanalysis"
	fi
	touch "$venv/.tstop-hta-ready"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# 100000 events: HTA (0.5.0) stores correlation ids in the smallest integer type
# that holds them and then fails to store row numbers larger than that type
# in the same column; sessions whose correlation ids pass 32767 avoid it.
"$SYNTH" -q -o "$tmp/s.sbt" -n 100000 --processes 1 --streams 4 || fail "tstop-synth"
mkdir "$tmp/traces"
"$TSTOP" export -q --kineto "$tmp/s.sbt" -o "$tmp/traces/rank-0.json" || fail "export"
"$TSTOP" stats "$tmp/s.sbt" --report cuda_gpu_kern_sum --format csv -o "$tmp/kern.csv" 2>/dev/null ||
	fail "stats"
"$venv/bin/python" "$SRC/tests/export/hta_check.py" "$tmp/traces" "$tmp/kern.csv" || fail "HTA disagrees"
