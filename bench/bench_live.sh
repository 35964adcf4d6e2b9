#!/usr/bin/env bash
# bench_live.sh - the highest event rate the live view (`tstop -- PROGRAM`
# in a real terminal) keeps up with, with zero lost events, from 1 and 2
# producer threads.
#
# Usage: bench/bench_live.sh BUILD_DIR [-s SECONDS] [-r REPEATS] [-t THREADS,...] [-R RATE_M,...]
#
# The workload is bench_capture_mt's (BUILD_DIR/bench/bench_capture_mt
# --worker THREADS RATE SECONDS: NVTX push/pop pairs through the real NVTX
# loader and the injected collector, paced in bursts every 100 us); where
# bench_capture_mt runs it under `tstop record`, this runs it under
# `tstop -f -o FILE -- ...` in a detached tmux session of fixed size
# (150x40), so the interface draws the growing session, publishes it about
# once a second and redraws the status line while the capture drains. Each
# run waits until the status line says the program exited, quits with q,
# and reads what the workload reported from FILE.log and the stored and
# lost events from `tstop info FILE.sbt`. For each thread count (default
# 1,2) the rates (default 0.25, 0.5, 1, 1.5, 2, 3, 4 M events/s) are tried
# in order, REPEATS times each (default 3) for SECONDS each (default 2); a
# rate is sustained when in every repeat no event was lost, the file holds
# every event emitted and the workload reached 97% of the rate (as in
# bench_capture_mt). The ramp stops at the first rate not sustained. It
# prints per rate the median achieved rate, the most lost events and the
# median share of events in the file, then per thread count the highest
# rate sustained, with the machine's CPUs and load. Figures only; nothing
# is asserted (target: >= 1 M events/s with zero lost, DESIGN.md section 5).
set -euo pipefail

usage() {
	echo "usage: bench_live.sh BUILD_DIR [-s SECONDS] [-r REPEATS] [-t THREADS,...] [-R RATE_M,...]" >&2
	exit 2
}
if [ $# -lt 1 ] || [ "${1:0:1}" = - ]; then
	usage
fi
build=$1
shift
seconds=2 repeats=3 threads=1,2 rates=0.25,0.5,1,1.5,2,3,4
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	-s) seconds=$2 ;;
	-r) repeats=$2 ;;
	-t) threads=$2 ;;
	-R) rates=$2 ;;
	*) usage ;;
	esac
	shift 2
done
tstop=$build/tstop
worker=$build/bench/bench_capture_mt
for f in "$tstop" "$worker"; do
	[ -x "$f" ] || { echo "bench_live: $f is missing (build the project first)" >&2; exit 1; }
done
command -v tmux >/dev/null || { echo "bench_live: tmux is not installed" >&2; exit 1; }

work=$(mktemp -d)
sock="tstop-bench-live-$$"
cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
cap() { tmux -L "$sock" capture-pane -p -t live; }

# Idle CPUs over one second, from /proc/stat.
idle_cpus() {
	local a b
	a=$(head -n 1 /proc/stat)
	sleep 1
	b=$(head -n 1 /proc/stat)
	awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN {
		split(a, x); split(b, y); t = 0
		for (i = 2; i <= 9; i++) t += y[i] - x[i]
		print t ? (y[5] - x[5] + y[6] - x[6]) / t * n : -1 }'
}

# One run of $1 threads at $2 events/s; prints "achieved emitted stored
# lost", or nothing when the run failed.
one_run() {
	local t=$1 rate=$2 limit
	rm -f "$work"/run.* "$work/exit"
	tmux -L "$sock" new-session -d -s live -x 150 -y 40 \
		"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color '$tstop' -f -o '$work/run' -- \
		'$worker' --worker $t $rate $seconds; echo \$? >'$work/exit'; sleep 600"
	limit=$(awk -v s="$seconds" 'BEGIN {print int(s * 10) + 600}')
	local seen=0
	for ((k = 0; k < limit; k++)); do
		if cap | grep -q "exited with code\|killed by"; then
			seen=1
			break
		fi
		[ -e "$work/exit" ] && break
		sleep 0.1
	done
	tmux -L "$sock" send-keys -t live q
	for ((k = 0; k < 600; k++)); do
		[ -e "$work/exit" ] && break
		sleep 0.1
	done
	tmux -L "$sock" kill-session -t live 2>/dev/null || true
	# A run counts only when the live view said how the program ended.
	[ "$seen" = 1 ] && [ -e "$work/exit" ] && [ "$(cat "$work/exit")" = 0 ] || return 0
	local w info
	w=$(awk -F'\t' '$1 == "worker" {print $4, $5}' "$work/run.log" 2>/dev/null)
	info=$("$tstop" info "$work/run.sbt" 2>/dev/null) || return 0
	local stored lost
	stored=$(awk '/^events \(/ {gsub(/[()]/, "", $2); print $2}' <<<"$info")
	lost=$(awk '/^lost events \(/ {gsub(/[()]/, "", $3); print $3}' <<<"$info")
	[ -n "$w" ] && [ -n "$stored" ] && [ -n "$lost" ] || return 0
	echo "$w $stored $lost"
}

printf 'application -> ring -> drain -> live view (tstop -- PROGRAM in tmux, 150x40), NVTX push/pop\n'
printf 'pairs from N threads, %s s runs, median of %s\n' "$seconds" "$repeats"
printf 'CPUs: %s online, %.2f idle in the second before the benchmark, load average %s\n' "$(nproc)" \
	"$(idle_cpus)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%8s %10s %12s %10s %10s  %s\n' threads target/s achieved/s "max lost" "in file" sustained
IFS=, read -r -a tlist <<<"$threads"
IFS=, read -r -a rlist <<<"$rates"
best=()
for t in "${tlist[@]}"; do
	b=0
	for r in "${rlist[@]}"; do
		rate=$(awk -v r="$r" 'BEGIN {printf "%.0f", r * 1e6}')
		ach=() share=() max_lost=0 ok=0 sustained=1
		for ((i = 0; i < repeats; i++)); do
			res=$(one_run "$t" "$rate")
			if [ -z "$res" ]; then
				sustained=0
				continue
			fi
			read -r a e s l <<<"$res"
			ok=$((ok + 1))
			ach+=("$a")
			share+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print e ? s / e : 0}')")
			[ "$l" -gt "$max_lost" ] && max_lost=$l
			if [ "$l" -ne 0 ] || [ "$s" -ne "$e" ] ||
				awk -v a="$a" -v r="$rate" 'BEGIN {exit !(a < 0.97 * r)}'; then
				sustained=0
			fi
		done
		if [ "$ok" -eq 0 ]; then
			printf '%8d %9sM %12s %10s %10s  no (the run failed)\n' "$t" "$r" - - -
			break
		fi
		a=$(printf '%s\n' "${ach[@]}" | median)
		s=$(printf '%s\n' "${share[@]}" | median)
		if [ "$sustained" -eq 1 ]; then
			why=yes
		elif [ "$max_lost" -gt 0 ]; then
			why="no (events lost)"
		elif awk -v a="$a" -v r="$rate" 'BEGIN {exit !(a < 0.97 * r)}'; then
			why="no (the application fell behind)"
		elif [ "$ok" -lt "$repeats" ]; then
			why="no (a run failed)"
		else
			why="no (events missing)"
		fi
		printf '%8d %9sM %11.2fM %10s %9.2f%%  %s\n' "$t" "$r" "$(awk -v a="$a" 'BEGIN {print a / 1e6}')" \
			"$max_lost" "$(awk -v s="$s" 'BEGIN {print s * 100}')" "$why"
		[ "$sustained" -eq 1 ] || break
		b=$r
	done
	best+=("$t:$b")
done
echo "highest rate sustained with zero lost events in the live view:"
for x in "${best[@]}"; do
	printf '  %2s thread(s): %5s M events/s\n' "${x%%:*}" "${x#*:}"
done
printf 'load average after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
