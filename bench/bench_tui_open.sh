#!/usr/bin/env bash
# bench_tui_open.sh - time from `tstop open FILE` to the first frame in a
# real terminal, the resident memory per event at that point, and how long
# a redraw at fit-all takes as seen from outside.
#
# Usage: bench/bench_tui_open.sh BUILD_DIR [EVENTS] [REPEATS]
#
# Writes a synthetic session of EVENTS events (default 10000000) with
# BUILD_DIR/tstop-synth, builds its session database with `tstop db`, then
# for each of the two files runs `tstop open FILE` REPEATS times (default 3)
# in a detached tmux session of fixed size (160x45), polling capture-pane
# until the tab bar of the first frame ("1 Timeline") is on screen. At that
# moment it reads VmRSS and VmHWM of the tstop process from /proc/PID/status.
# Then it measures redraws from outside: it sends '+' (zoom in) and waits for
# the pane to change, then 'a' (fit all) and waits for the pane to change
# back, 5 times; the key-to-pane time of 'a' is a redraw at fit-all plus
# tmux's own round trip (send-keys, the pane update, capture-pane). That
# round trip is printed first, measured the same way on `cat` echoing a key
# (and the time of one capture-pane call, the polling step), so the redraw
# figure minus it approximates the frame time, and the figure itself bounds
# it. bench_tui_frame gives the model work of a frame alone. It prints
# medians; it asserts nothing. Targets (DESIGN.md section 5): first frame
# <= 1.5 s, <= 48 bytes resident per event, a frame <= 16 ms.
set -euo pipefail

build=${1:?usage: bench_tui_open.sh BUILD_DIR [EVENTS] [REPEATS]}
events=${2:-10000000}
repeats=${3:-3}
tstop=$build/tstop
synth=$build/tstop-synth
for f in "$tstop" "$synth"; do
	[ -x "$f" ] || { echo "bench_tui_open: $f is missing (build the project first)" >&2; exit 1; }
done
command -v tmux >/dev/null || { echo "bench_tui_open: tmux is not installed" >&2; exit 1; }
[ -n "${EPOCHREALTIME:-}" ] || { echo "bench_tui_open: needs bash 5 (EPOCHREALTIME)" >&2; exit 1; }

work=$(mktemp -d)
sock="tstop-bench-open-$$"
cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
# Seconds since $1 (an EPOCHREALTIME value), in milliseconds.
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", (b - a) * 1000}'; }
cap() { tmux -L "$sock" capture-pane -p -t open; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$EPOCHREALTIME
"$synth" -q -o "$work/s.sbt" -n "$events" --seed 1
n=$("$tstop" info "$work/s.sbt" 2>/dev/null | awk '/^events \(/ {gsub(/[()]/, "", $2); print $2}')
printf 'synthetic session: %s events (asked %s), written in %s ms\n' "$n" "$events" "$(ms_since "$t0")"
t0=$EPOCHREALTIME
"$tstop" db -q -f -o "$work/s.db" "$work/s.sbt"
printf 'session database built in %s ms\n' "$(ms_since "$t0")"
printf 'files: %s bytes SBT, %s bytes database\n' "$(stat -c %s "$work/s.sbt")" "$(stat -c %s "$work/s.db")"

# One capture-pane call, the resolution of every figure below.
tmux -L "$sock" new-session -d -s open -x 160 -y 45 "exec cat"
caps=()
for _ in $(seq 21); do
	t0=$EPOCHREALTIME
	cap >/dev/null
	caps+=("$(ms_since "$t0")")
done
cap_ms=$(printf '%s\n' "${caps[@]}" | median)

# Waits (up to 60 s) until the pane differs from $1 (when $2 is "differ")
# or equals it ("equal"); prints the milliseconds since $3.
wait_pane() {
	local ref=$1 mode=$2 since=$3 now
	for _ in $(seq 60000); do
		now=$(cap)
		if { [ "$mode" = differ ] && [ "$now" != "$ref" ]; } ||
			{ [ "$mode" = equal ] && [ "$now" = "$ref" ]; }; then
			ms_since "$since"
			return 0
		fi
	done
	echo "bench_tui_open: the pane never changed" >&2
	return 1
}

# tmux's own key-to-pane time: a key echoed by cat, the same way.
echoes=()
for _ in $(seq 11); do
	before=$(cap)
	t0=$EPOCHREALTIME
	tmux -L "$sock" send-keys -t open x
	echoes+=("$(wait_pane "$before" differ "$t0")")
done
tmux -L "$sock" kill-session -t open
echo_ms=$(printf '%s\n' "${echoes[@]}" | median)

printf 'tmux: %s ms a capture-pane call, %s ms from a key to its echo by cat on the pane\n' \
	"$cap_ms" "$echo_ms"
printf '\ntstop open to the first frame, %sx%s terminal, median of %s\n' 160 45 "$repeats"
printf '  %-6s %12s %12s %12s %14s %14s %14s\n' file "first frame" "VmRSS" "VmHWM" "RSS/event" \
	"HWM/event" "fit-all redraw"
for f in sbt db; do
	first=() rss=() hwm=() fit=()
	for ((i = 0; i < repeats; i++)); do
		t0=$EPOCHREALTIME
		pid=$(tmux -L "$sock" new-session -d -P -F '#{pane_pid}' -s open -x 160 -y 45 \
			"exec env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color '$tstop' open '$work/s.$f'")
		until cap | grep -qF "1 Timeline"; do
			kill -0 "$pid" 2>/dev/null || { echo "bench_tui_open: tstop open exited" >&2; exit 1; }
		done
		first+=("$(ms_since "$t0")")
		rss+=("$(status_kb "$pid" VmRSS)")
		hwm+=("$(status_kb "$pid" VmHWM)")
		# Let the screen settle (a later frame may follow the first).
		sleep 0.5
		for _ in 1 2 3 4 5; do
			fitted=$(cap)
			t0=$EPOCHREALTIME
			tmux -L "$sock" send-keys -t open +
			wait_pane "$fitted" differ "$t0" >/dev/null
			sleep 0.2
			t0=$EPOCHREALTIME
			tmux -L "$sock" send-keys -t open a
			fit+=("$(wait_pane "$fitted" equal "$t0")")
			sleep 0.2
		done
		tmux -L "$sock" send-keys -t open q
		for _ in $(seq 500); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.01
		done
		tmux -L "$sock" kill-session -t open 2>/dev/null || true
	done
	r=$(printf '%s\n' "${rss[@]}" | median)
	h=$(printf '%s\n' "${hwm[@]}" | median)
	printf '  %-6s %9.0f ms %9.1f MB %9.1f MB %8.1f bytes %8.1f bytes %11.1f ms\n' ".$f" \
		"$(printf '%s\n' "${first[@]}" | median)" "$(awk -v k="$r" 'BEGIN {print k / 1024}')" \
		"$(awk -v k="$h" 'BEGIN {print k / 1024}')" "$(awk -v k="$r" -v n="$n" 'BEGIN {print k * 1024 / n}')" \
		"$(awk -v k="$h" -v n="$n" 'BEGIN {print k * 1024 / n}')" "$(printf '%s\n' "${fit[@]}" | median)"
	printf '         (first frame, each run: %s ms)\n' "${first[*]}"
done
echo "targets (DESIGN.md section 5): first frame <= 1.5 s, <= 48 bytes resident per event, frame <= 16 ms"
