#!/usr/bin/env bash
# Real-terminal test of the live view on the OpenCL sample (PoCL's CPU
# device where there is no GPU): `tstop -- tstop-sample-opencl --repeat N`,
# N sized so that the program runs about 3 s here, in a detached tmux
# session. While it runs: the timeline shows queue lanes right under the
# device header; the kernels table lists the sample's four kernels (scale,
# spin, saxpy, reduce_task); s sorts by Instances, r reverses (the column is
# checked in order both ways); a filter keeps only the matching kernel and
# Esc clears it; ? opens the help and a key closes it. Then the status line
# says "exited with code 0"; Enter on a kernel row and Enter on one of its
# instances switch to the timeline with that event selected on a queue lane
# and the window zoomed to it (the details name the kernel); q quits with
# status 0 and the terminal is restored (the alternate screen is off, the
# shell's echo of the exit status shows and no curses drawing remains).
# Skipped without tmux, without OpenCL in this build, or without an OpenCL
# device on this machine.
# Usage: bash tui_live_opencl.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -euo pipefail
TSTOP=$(realpath "$1")
BUILD=$(dirname "$TSTOP")
SAMPLE="$BUILD/samples/opencl/tstop-sample-opencl"

if [ ! -x "$SAMPLE" ]; then
	if grep -q '^OpenCL_LIBRARY:FILEPATH=/' "$BUILD/CMakeCache.txt" 2>/dev/null; then
		echo "FAIL: OpenCL was found but $SAMPLE was not built" >&2
		exit 1
	fi
	echo "skipped: this build has no OpenCL"
	exit 0
fi
if ! command -v tmux >/dev/null; then
	echo "skipped: tmux is not installed"
	exit 0
fi

tmp=$(mktemp -d)
# A tmux server of this test's own, in its own directory (tests run in
# parallel).
export TMUX_TMPDIR="$tmp"
unset TMUX
sock="tstop-ocl-$$"
cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	if [ -f "$tmp/pane" ]; then
		echo "--- last pane:" >&2
		cat "$tmp/pane" >&2
	fi
	exit 1
}
cd "$tmp"
export XDG_RUNTIME_DIR="$tmp/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset TSTOP_INJECT_LIBRARY TSTOP_SOCKET TSTOP_ATTACH TSTOP_ATTACH_DIR LD_PRELOAD
# In a sanitizer build the sample is instrumented too, and AddressSanitizer
# refuses to start behind a preloaded library (the collector) unless told.
if ldd "$SAMPLE" | grep -q libasan; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
fi

# One workload alone (PoCL also caches the compiled kernels on the way),
# then ten of them timed: repeat enough for about 3 s of work.
rc=0
"$SAMPLE" --repeat 1 >one.out 2>one.err || rc=$?
if [ "$rc" = 77 ]; then
	echo "skipped: no OpenCL device on this machine ($(cat one.err))"
	exit 0
fi
[ "$rc" = 0 ] || fail "the sample alone exited $rc: $(cat one.err)"
t0=$(date +%s%N)
"$SAMPLE" --repeat 10 >ten.out 2>&1 || fail "the sample --repeat 10 failed: $(cat ten.out)"
t1=$(date +%s%N)
ten_ms=$(((t1 - t0) / 1000000 + 1))
repeat=$((30000 / ten_ms))
((repeat < 10)) && repeat=10
((repeat > 3000)) && repeat=3000

cap() {
	tmux -L "$sock" capture-pane -p -t ocl >"$tmp/pane"
}
# wait_for TEXT: waits (up to 10 s) until the pane shows the fixed string.
wait_for() {
	for _ in $(seq 100); do
		cap
		grep -qF -- "$1" "$tmp/pane" && return 0
		sleep 0.1
	done
	fail "the pane never showed '$1'"
}
# wait_until COMMAND: waits (up to 10 s) until COMMAND, run on a fresh
# capture, succeeds.
wait_until() {
	for _ in $(seq 100); do
		cap
		eval "$1" && return 0
		sleep 0.1
	done
	return 1
}
keys() {
	tmux -L "$sock" send-keys -t ocl "$@"
}
# The Instances column of the kernels table (4th field: Total is a number
# and a unit), its first rows.
instances() {
	awk 'NR >= 4 && $1 ~ /^[0-9.]+$/ { gsub(",", "", $4); print $4 }' "$tmp/pane" | head -4
}

tmux -L "$sock" new-session -d -s ocl -x 150 -y 40 \
	"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color '$TSTOP' -o ocl -- '$SAMPLE' --repeat $repeat; echo \"tstop-exit=\$?\"; sleep 60"
wait_for "running"
grep -q "capture on" "$tmp/pane" || fail "the status line does not say capture on"

# The timeline: queue lanes right under the device header.
wait_for "1 Timeline"
wait_until "grep -q '^queue [0-9]' \"\$tmp/pane\"" || fail "no queue lane on the timeline"
awk '/^Device [0-9]+: / { d = NR } /^queue [0-9]+ / && d && NR == d + 1 { ok = 1 } END { exit !ok }' \
	"$tmp/pane" || fail "the device header is not followed by its queue lanes"

# The kernels table: the sample's four kernels, live.
keys 2
wait_for "by Total (desc)"
for k in scale spin saxpy reduce_task; do
	wait_until "grep -q ' $k\$' \"\$tmp/pane\"" || fail "kernel $k is not in the kernels table"
done
grep -qF "of 4  by Total" "$tmp/pane" || fail "the kernels table does not count 4 rows"

# Sort by Instances (descending: scale runs 3 times per workload, the
# others once), then reversed.
keys s
wait_for "by Instances (desc)"
instances >inst
[ "$(wc -l <inst)" -eq 4 ] || fail "could not read the Instances column"
sort -n -r -c inst || fail "the Instances column is not descending after s"
grep -q "^[0-9.]* .* scale$" <(awk 'NR == 4' "$tmp/pane") || fail "scale is not first by Instances (desc)"
keys r
wait_until "! grep -qF 'by Instances (desc)' \"\$tmp/pane\" && grep -qF 'by Instances' \"\$tmp/pane\"" ||
	fail "r did not reverse the sort"
instances >inst
[ "$(wc -l <inst)" -eq 4 ] || fail "could not read the Instances column"
sort -n -c inst || fail "the Instances column is not ascending after r"

# Filter: only saxpy stays; Esc clears the filter.
keys f
wait_for "Filter:"
keys -l "saxp"
keys Enter
wait_for 'filter "saxp"'
grep -qF "1/1 of 4" "$tmp/pane" || fail "the filter does not leave 1 row of 4"
grep -q " spin$\| scale$\| reduce_task$" "$tmp/pane" && fail "a non-matching kernel is still shown"
grep -q " saxpy$" "$tmp/pane" || fail "saxpy is not shown under its filter"
keys Escape
wait_until "! grep -qF 'filter \"' \"\$tmp/pane\"" || fail "Esc did not clear the filter"
wait_for "of 4  by Instances"

# Help, over the live view, then closed.
keys "?"
wait_for "tstop help"
grep -q "Reverse the sort order" "$tmp/pane" || fail "the help does not list the keys"
keys x
wait_until "! grep -qF 'tstop help' \"\$tmp/pane\"" || fail "the help did not close"

# The program ends by itself; the view stays.
for _ in $(seq 10); do
	cap
	grep -qF "exited with code 0" "$tmp/pane" && break
	sleep 1
done
wait_for "exited with code 0"
grep -q "capture ended" "$tmp/pane" || fail "the status line does not say capture ended"

# Enter on spin's row, Enter on its last instance: the timeline, the
# event selected on a queue lane, zoomed to it.
keys 2
wait_for "of 4  by Instances"
keys f
wait_for "Filter:"
keys C-u
keys -l "spin"
keys Enter
wait_for 'filter "spin"'
keys Enter
wait_for "Kernels > "
keys G
wait_for "/$repeat of $repeat  by Start"
keys Enter
wait_for "(event selected)"
grep -q "^ 1 Timeline" "$tmp/pane" || fail "Enter on an instance did not switch to the timeline"
wait_for " Name "
grep -q "^ Name  *spin$" "$tmp/pane" || fail "the details do not show the selected kernel spin"
grep -q "^ Kind  *kernel" "$tmp/pane" || fail "the selected event is not a kernel"
grep -q "following" "$tmp/pane" && fail "the timeline still follows after the jump"
# The cursor is on a queue lane, shown, and the window is far shorter than
# the whole run (zoomed to one kernel).
lane=$(sed -n 's/.*  lane \([0-9]*\)\/.*/\1/p' "$tmp/pane" | head -1)
[ -n "$lane" ] && [ "$lane" -gt 1 ] || fail "the cursor is not on a lane below the header"
grep -q "window [0-9.]* \(ms\|us\|µs\|ns\) at" "$tmp/pane" || fail "the window is not zoomed to the kernel"
grep -q "spin" <(sed -n '5,$p' "$tmp/pane" | grep "^queue") || fail "the kernel's bar is not on a visible queue lane"
# 2 goes back to the table, its instance list still open.
keys 2
wait_for "Kernels > "

# q: tstop exits 0 and the terminal is restored.
keys q
wait_for "tstop-exit="
grep -q "tstop-exit=0" "$tmp/pane" || fail "tstop did not exit 0"
[ "$(tmux -L "$sock" display -p -t ocl '#{alternate_on}')" = 0 ] || fail "the alternate screen is still on"
grep -qF "1 Timeline" "$tmp/pane" && fail "the curses screen is still shown after exit"
grep -qF "by Instances" "$tmp/pane" && fail "the curses screen is still shown after exit"
[ -s ocl.sbt ] || fail "ocl.sbt is missing or empty"
echo "ok"
