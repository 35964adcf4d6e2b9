#!/usr/bin/env bash
# End-to-end capture of OpenCL through the real binaries: `tstop record`
# runs samples/opencl (on PoCL's CPU device where there is no GPU) with the
# collector preloaded, and the session is checked against what the sample
# reports it issued:
#   - the sample prints the same with no collector, with the collector
#     preloaded but no tstop (the no-op path), and under `tstop record`
#     (its own checks of its events and queue properties pass each time);
#   - one stream per queue (device 0, context 0, streams 1..3), one OpenCL
#     device, no lost events, the sync count;
#   - kernels by name, copies by kind and fills (tstop stats), each API
#     function's call count, durations > 0, distinct correlation ids,
#     launch configurations;
#   - each stream holds exactly its queue's commands in issue order, none
#     overlapping the one before, each starting no earlier than the
#     sample's clock read right before the enqueue call and ending before
#     its queue's clFinish returned, give or take the error bound of the
#     collector's clock conversion (see "error bound" below);
#   - with OpenCL capture off (--kinds nvtx) nothing of OpenCL is recorded
#     and the sample still runs unchanged.
# Usage: bash record_opencl.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -euo pipefail
TSTOP=$1
BUILD=$(dirname "$TSTOP")
SAMPLE=$BUILD/samples/opencl/tstop-sample-opencl
INJECT=$BUILD/lib/tstop/libtstop-inject.so

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

if [ ! -x "$SAMPLE" ]; then
	# Only a build that found no OpenCL may lack the sample.
	if grep -q '^OpenCL_LIBRARY:FILEPATH=/' "$BUILD/CMakeCache.txt" 2>/dev/null; then
		fail "OpenCL was found but $SAMPLE was not built"
	fi
	echo "skipped: this build has no OpenCL"
	exit 0
fi
"$TSTOP" record --help >/dev/null 2>&1 || fail "this tstop has no working 'record' command"
[ -f "$INJECT" ] || fail "no collector at $INJECT"

# --- the sample alone, and with the collector preloaded but no tstop ---------
set +e
env -u TSTOP_SOCKET -u LD_PRELOAD "$SAMPLE" >"$tmp/plain.out" 2>"$tmp/plain.err"
rc=$?
set -e
if [ "$rc" = 77 ]; then
	echo "skipped: no OpenCL device on this machine ($(cat "$tmp/plain.err"))"
	exit 0
fi
[ "$rc" = 0 ] || fail "the sample alone exited $rc: $(cat "$tmp/plain.err")"
grep -qx "check ok" "$tmp/plain.out" || fail "the sample did not check out"
env -u TSTOP_SOCKET LD_PRELOAD="$INJECT" "$SAMPLE" >"$tmp/preload.out" 2>"$tmp/preload.err" ||
	fail "the sample with the collector preloaded (no tstop) exited $?: $(cat "$tmp/preload.err")"
cmp -s "$tmp/plain.out" "$tmp/preload.out" || fail "the preloaded sample printed something else"
[ ! -s "$tmp/preload.err" ] || fail "the preloaded collector wrote to stderr: $(cat "$tmp/preload.err")"

# --- recorded --------------------------------------------------------------------
"$TSTOP" record -o "$tmp/run" -- "$SAMPLE" --timeline "$tmp/tl" >"$tmp/rec.out" 2>"$tmp/rec.err" ||
	fail "tstop record exited $?: $(cat "$tmp/rec.err")"
cmp -s "$tmp/plain.out" "$tmp/rec.out" || fail "the recorded sample printed something else"
[ -s "$tmp/run.sbt" ] || fail "no session written"

# What the sample says it issued: "key [name] count" lines.
said() {
	local v
	v=$(awk -v k="$1" -v n="${2:-}" 'n == "" && $1 == k && NF == 2 { print $2 }
		n != "" && $1 == k && $2 == n && NF == 3 { print $3 }' "$tmp/plain.out")
	[ -n "$v" ] || fail "the sample did not report '$1 ${2:-}'"
	echo "$v"
}

"$TSTOP" info "$tmp/run.sbt" >"$tmp/info" 2>"$tmp/info.err" || fail "info exited $?"
[ ! -s "$tmp/info.err" ] || fail "info warned: $(cat "$tmp/info.err")"
grep -qx "devices (1)" "$tmp/info" || fail "not one device"
devname=$(sed -n 's/^device //p' "$tmp/plain.out")
[ -n "$devname" ] || fail "the sample did not name its device"
awk -v n="$devname" '/^devices \(/ { d = 1; next } d && /^$/ { d = 0 }
	d && $1 == "0" && $2 == "OpenCL" && index($0, n) == length($0) - length(n) + 1 { ok = 1 }
	END { exit !ok }' "$tmp/info" || fail "device line: $(sed -n '/^devices/,/^$/p' "$tmp/info")"
grep -qx "streams ($(said queues))" "$tmp/info" || fail "not one stream per queue"
for s in 1 2 3; do
	awk -v s="$s" '/^streams \(/ { d = 1; next } d && /^$/ { d = 0 }
		d && $2 == 0 && $3 == 0 && $4 == s && $5 > 0 { ok = 1 } END { exit !ok }' "$tmp/info" ||
		fail "stream $s (device 0, context 0) missing or empty"
done
grep -qx "lost events (0)" "$tmp/info" || fail "events were lost: $(sed -n '/^lost events/,/^$/p' "$tmp/info")"
syncs=$(($(said sync stream) + $(said sync event)))
grep -Eq "^  sync +$syncs\$" "$tmp/info" || fail "sync count is not $syncs"

# CSV of one report, rows only, with the header's columns named by $cols.
report() {
	"$TSTOP" stats --report "$1" --format csv "$tmp/run.sbt" >"$tmp/$1.csv" 2>"$tmp/$1.err" ||
		fail "stats --report $1 exited $?: $(cat "$tmp/$1.err")"
}
# Prints column $2 of the rows of report $1 whose column $3 equals $4.
field() {
	awk -F, -v want="$2" -v key="$3" -v val="$4" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		$(c[key]) == val { print $(c[want]) }' "$tmp/$1.csv"
}
rows() {
	awk 'NR > 1 && NF' "$tmp/$1.csv" | wc -l
}

report cuda_gpu_kern_sum
nk=0
while read -r _ name count; do
	[ "$(field cuda_gpu_kern_sum Instances Name "$name")" = "$count" ] ||
		fail "kernel $name: $(field cuda_gpu_kern_sum Instances Name "$name") recorded, $count issued"
	[ "$(field cuda_gpu_kern_sum 'Min (ns)' Name "$name")" -gt 0 ] || fail "kernel $name has a zero duration"
	nk=$((nk + 1))
done < <(grep '^kernel ' "$tmp/plain.out")
[ "$nk" -ge 3 ] && [ "$(rows cuda_gpu_kern_sum)" = "$nk" ] || fail "kernel names differ from the sample's"

report cuda_gpu_mem_time_sum
for pair in "HtoD:Host-to-Device" "DtoH:Device-to-Host" "DtoD:Device-to-Device"; do
	k=${pair%%:*}
	[ "$(field cuda_gpu_mem_time_sum Count Operation "[CUDA memcpy ${pair#*:}]")" = "$(said copy "$k")" ] ||
		fail "$k copies: recorded $(field cuda_gpu_mem_time_sum Count Operation "[CUDA memcpy ${pair#*:}]")"
done
[ "$(field cuda_gpu_mem_time_sum Count Operation "[CUDA memset]")" = "$(said memset)" ] || fail "fill count"
[ "$(rows cuda_gpu_mem_time_sum)" = 4 ] || fail "unexpected memory operations"

report cuda_api_sum
na=0
while read -r _ fn count; do
	[ "$(field cuda_api_sum 'Num Calls' Name "$fn")" = "$count" ] ||
		fail "$fn: $(field cuda_api_sum 'Num Calls' Name "$fn") calls recorded, $count made"
	na=$((na + 1))
done < <(grep '^api ' "$tmp/plain.out")
[ "$(rows cuda_api_sum)" = "$na" ] || fail "API functions differ from the sample's"

# --- the GPU trace against the sample's timeline ----------------------------------
report cuda_gpu_trace
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	{ print $(c["Strm"]), $(c["Start (ns)"]), $(c["Duration (ns)"]), $(c["CorrId"]), $(c["Ctx"]),
	  $(c["GrdX"]) "/" $(c["GrdY"]) "/" $(c["GrdZ"]) "/" $(c["BlkX"]) "/" $(c["BlkY"]) "/" $(c["BlkZ"]),
	  $(c["Name"]) }' "$tmp/cuda_gpu_trace.csv" | sed 's/\[CUDA /[CUDA_/; s/ \([A-Za-z-]*\]\)$/_\1/' >"$tmp/trace"
[ "$(wc -l <"$tmp/trace")" = "$(grep -c '^op ' "$tmp/tl")" ] || fail "not one GPU operation per command issued"
[ "$(awk '{ print $4 }' "$tmp/trace" | sort -u | wc -l)" = "$(wc -l <"$tmp/trace")" ] ||
	fail "correlation ids are not distinct"
awk '$3 <= 0 { bad = 1 } END { exit bad }' "$tmp/trace" || fail "a GPU operation has a zero duration"
grep -q ' 1024/1/1/64/1/1 scale$' "$tmp/trace" || fail "launch configuration of scale (grid in work-groups)"
grep -q ' 16384/1/1/0/0/0 spin$' "$tmp/trace" || fail "launch configuration of spin (local size not given)"
grep -q ' 1/1/1/1/1/1 reduce_task$' "$tmp/trace" || fail "launch configuration of a task"
# Error bound of the device-to-session conversion (opencl_calc.h), from
# what this run measured rather than a fixed guess that a loaded machine
# can exceed. Without a host timer (PoCL) the offset is learned from each
# command's QUEUED time inside its enqueue call: a command never starts
# before its call (exact, no slack), and ends at most the width of the first
# offset interval used on its device after its true end. That width is the
# first enqueue call converted, which is the first command of some queue
# (each in-order queue's commands are converted in order), so at most the
# longest of the queues' first enqueue calls as the sample timed them; 1 ms
# more covers clock drift. With a host timer (clGetDeviceAndHostTimer) the
# error is the calibration's, both ways: the bound the collector logged,
# twice (recalibrations may be wider), plus the same 1 ms.
first=$(awk '$1 == "op" && !seen[$2]++ && $6 - $5 > m { m = $6 - $5 } END { printf "%.0f\n", m }' "$tmp/tl")
if grep -q 'no host timer' "$tmp/rec.err"; then
	early=0
	late=$((first + 1000000))
else
	cal=$(sed -n 's/.*clGetDeviceAndHostTimer, within \([0-9]*\) ns.*/\1/p' "$tmp/rec.err" | head -n 1)
	[ -n "$cal" ] || fail "the collector did not say how it puts device times on the session clock: $(cat "$tmp/rec.err")"
	early=$((2 * cal + 1000000))
	late=$early
fi
for s in 1 2 3; do
	awk -v s="$s" '$1 == "op" && $2 == s {
		n = $4
		if ($3 == "memset") n = "[CUDA_memset]"
		else if (n == "HtoD") n = "[CUDA_memcpy_Host-to-Device]"
		else if (n == "DtoH") n = "[CUDA_memcpy_Device-to-Host]"
		else if (n == "DtoD") n = "[CUDA_memcpy_Device-to-Device]"
		print n, $5 }
		$1 == "finish" && $2 == s { fin = $4 } END { print "finish", fin }' "$tmp/tl" >"$tmp/issued.$s"
	awk -v s="$s" '$1 == s && $5 == 0 { printf "%s %.0f %.0f\n", $7, $2, $2 + $3 }' "$tmp/trace" >"$tmp/ran.$s"
	[ "$(awk '{ print $1 }' "$tmp/ran.$s")" = "$(awk '$1 != "finish" { print $1 }' "$tmp/issued.$s")" ] ||
		fail "stream $s does not hold its queue's commands in order: $(paste -d' ' "$tmp/ran.$s" "$tmp/issued.$s")"
	fin=$(awk '$1 == "finish" { print $2 }' "$tmp/issued.$s")
	paste -d' ' "$tmp/ran.$s" <(grep -v '^finish' "$tmp/issued.$s") | awk -v fin="$fin" -v early="$early" -v late="$late" '
		NR > 1 && $2 < pend { printf "%s starts %.0f ns before the previous command ended\n", $1, pend - $2; bad = 1 }
		$2 < $5 - early { printf "%s started %.0f ns before its enqueue call\n", $1, $5 - $2; bad = 1 }
		$3 > fin + late { printf "%s ended %.0f ns after clFinish returned\n", $1, $3 - fin; bad = 1 }
		{ pend = $3 }
		END { exit bad }' >&2 || fail "stream $s: device times do not line up with the host clock (slack: $early ns early, $late ns late)"
done

# --- OpenCL capture off: nothing recorded, the sample unchanged ------------------
"$TSTOP" record -o "$tmp/off" --kinds nvtx -- "$SAMPLE" >"$tmp/off.out" 2>"$tmp/off.err" ||
	fail "tstop record --kinds nvtx exited $?: $(cat "$tmp/off.err")"
cmp -s "$tmp/plain.out" "$tmp/off.out" || fail "the sample printed something else with OpenCL capture off"
"$TSTOP" info "$tmp/off.sbt" >"$tmp/off.info" || fail "info of the capture without OpenCL"
grep -qx "streams (0)" "$tmp/off.info" || fail "streams recorded with OpenCL capture off"
grep -Eq '^  api +0$' "$tmp/off.info" || fail "API calls recorded with OpenCL capture off"
echo "ok: $(wc -l <"$tmp/trace") GPU operations on 3 streams checked"
