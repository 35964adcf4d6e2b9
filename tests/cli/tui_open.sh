#!/usr/bin/env bash
# Real-terminal test of `tstop open`: a synthetic session is opened in a
# detached tmux session of fixed size; keys are sent (switch views, sort,
# reverse, filter, a bad regex, Enter on a row and Esc back, help, resize to
# a tiny and back to a big size, quit) and the pane is captured after each
# step to check what is on screen: the session's kernel names, a sorted
# column, the filter's effect, the regex error, the instance list, the help
# text, the too-small notice, and that q exits 0. Also: without a terminal
# `tstop open` refuses with exit 1 and names `tstop stats`.
# Usage: bash tui_open.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -euo pipefail
TSTOP=$1
SYNTH=$2

tmp=$(mktemp -d)
# A tmux server of this test's own, in its own directory: tests run in
# parallel, and tmux servers sharing one socket directory have been seen to
# fail at start ("server exited unexpectedly").
export TMUX_TMPDIR="$tmp"
unset TMUX
sock="tstop-tui-$$"
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

"$SYNTH" -q -o "$tmp/s.sbt" -n 5000 --seed 1

# No terminal: a clear refusal.
if "$TSTOP" open "$tmp/s.sbt" </dev/null >"$tmp/out" 2>"$tmp/err"; then
	fail "open without a terminal exited 0"
else
	rc=$?
	[ "$rc" -eq 1 ] || fail "open without a terminal exited $rc, not 1"
fi
grep -q "needs a terminal" "$tmp/err" || fail "no 'needs a terminal' message: $(cat "$tmp/err")"
grep -q "tstop stats" "$tmp/err" || fail "the message does not suggest tstop stats"

if ! command -v tmux >/dev/null; then
	echo "skipped: tmux is not installed (the real-terminal part)"
	exit 0
fi

# Expected names, from tstop stats over the same file.
"$TSTOP" stats "$tmp/s.sbt" -r gpu_kern_sum -f csv 2>/dev/null >"$tmp/kern.csv"
top_kernel=$(awk -F, 'NR == 2 { print $NF }' "$tmp/kern.csv")
[ -n "$top_kernel" ] || fail "no kernel in the synthetic session"
kernels=$(($(wc -l <"$tmp/kern.csv") - 1))

cap() {
	tmux -L "$sock" capture-pane -p -t tui >"$tmp/pane"
}
# Waits (up to 10 s) until the pane shows the fixed string $1.
wait_for() {
	for _ in $(seq 100); do
		cap
		grep -qF -- "$1" "$tmp/pane" && return 0
		sleep 0.1
	done
	fail "the pane never showed '$1'"
}
keys() {
	tmux -L "$sock" send-keys -t tui "$@"
}

tmux -L "$sock" new-session -d -s tui -x 140 -y 40 \
	"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color '$TSTOP' open '$tmp/s.sbt'; echo \"tstop-exit=\$?\"; sleep 60"
wait_for "2 Kernels"
# The timeline is the first view; 2 shows the kernels table.
keys 2
wait_for "by Total (desc)"

# Kernels, sorted by Total descending: the top kernel of tstop stats
# is the first row (its name starts the Name column, cut to fit).
grep -qF "${top_kernel:0:40}" "$tmp/pane" || fail "the top kernel '${top_kernel:0:40}' is not shown"
grep -q "Time %" "$tmp/pane" || fail "no Time % column"
grep -qF "1/$kernels of $kernels  by Total (desc)" "$tmp/pane" || fail "the bar does not say '1/$kernels of $kernels by Total (desc)'"
grep -q "exited 0" "$tmp/pane" || fail "the status line does not say how the program ended"
grep -q "events" "$tmp/pane" || fail "no event count in the status line"
grep -q "Details" "$tmp/pane" || fail "no details pane"

# Sort: s moves to Instances (descending); the column is sorted.
keys s
wait_for "by Instances (desc)"
keys r
wait_for "by Instances"
grep -qF "by Instances (desc)" "$tmp/pane" && fail "r did not reverse the sort"
# The Instances column (4th field: Total is a number and a unit) must be
# ascending now.
awk 'NR >= 4 && $1 ~ /^[0-9.]+$/ { gsub(",", "", $4); print $4 }' "$tmp/pane" | head -10 >"$tmp/inst"
[ "$(wc -l <"$tmp/inst")" -ge 3 ] || fail "could not read the Instances column"
sort -n -c "$tmp/inst" || fail "the Instances column is not ascending after r"

# Filter: f, text, Enter keeps only the matching rows.
keys f
wait_for "Filter:"
keys -l "flash"
keys Enter
wait_for 'filter "flash"'
nflash=$(grep -ci "flash" "$tmp/kern.csv")
grep -qF "of $kernels" "$tmp/pane" || fail "the bar does not count rows"
grep -qF "1/$nflash of $kernels" "$tmp/pane" || fail "the filter does not leave $nflash rows"
grep -q "gemm" "$tmp/pane" && fail "a non-matching kernel is still shown"

# A bad regex is refused with the reason in the bar; the filter stays.
keys /
wait_for "Regex:"
keys C-u
keys -l "(unbalanced"
keys Enter
wait_for "bad regex"

# Esc clears the filter (the selection stays on its row); Enter lists the
# instances of the selected row.
keys Escape
wait_for "/$kernels of $kernels  by Instances"
grep -qF 'filter "' "$tmp/pane" && fail "Esc did not clear the filter"
keys Enter
wait_for "Kernels >"
grep -q "Start" "$tmp/pane" || fail "the instance list has no Start column"
grep -q "Grid" "$tmp/pane" || fail "the instance list has no Grid column"
for _ in $(seq 12); do keys "]"; done
wait_for "Launched by"
grep -q "cudaLaunchKernel" "$tmp/pane" || fail "the details do not name the launching API call"
keys Escape
wait_for "by Instances"

# The other views.
keys 3
wait_for "cudaLaunchKernel"
keys Tab
wait_for "[CUDA memcpy"
keys 5
wait_for "PushPop"

# Help, generated from the key table.
keys "?"
wait_for "tstop help"
grep -q "Reverse the sort order" "$tmp/pane" || fail "the help does not list the keys"
keys x
wait_for "2 Kernels"
grep -q "tstop help" "$tmp/pane" && fail "the help did not close"

# Resize: tiny says so, big redraws.
tmux -L "$sock" resize-window -t tui -x 30 -y 8
wait_for "too small"
tmux -L "$sock" resize-window -t tui -x 200 -y 60
wait_for "2 Kernels"
grep -q "too small" "$tmp/pane" && fail "the notice stayed after growing"

# q quits with status 0.
keys q
wait_for "tstop-exit="
grep -q "tstop-exit=0" "$tmp/pane" || fail "tstop open did not exit 0"
echo "ok"
