#!/usr/bin/env bash
# Real-terminal test of the timeline view of `tstop open`: a synthetic
# session is opened in a detached tmux session; the pane is captured after
# each key to check the device and process headers, stream and thread lanes,
# NVTX sub-lanes and the axis; stepping to an event (n) shows its details
# with the launching API call; zooming to it (z) draws its name in its bar;
# + halves the window and a (fit) restores it; c jumps to the linked API call
# (whose details list its GPU work); the help lists the timeline keys; q
# exits 0. A second run in the C locale with NO_COLOR checks the ASCII
# drawing (no UTF-8 reaches the terminal).
# Usage: bash tui_timeline.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -euo pipefail
TSTOP=$1
SYNTH=$2

if ! command -v tmux >/dev/null; then
	echo "skipped: tmux is not installed"
	exit 0
fi
tmp=$(mktemp -d)
# A tmux server of this test's own, in its own directory: tests run in
# parallel, and tmux servers sharing one socket directory have been seen to
# fail at start ("server exited unexpectedly").
export TMUX_TMPDIR="$tmp"
unset TMUX
sock="tstop-tl-$$"
cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null || true
	tmux -L "$sock-ascii" kill-server 2>/dev/null || true
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
cap() {
	tmux -L "$sock" capture-pane -p -t tl >"$tmp/pane"
}
# Waits (up to 10 s) until the pane shows the fixed string $1.
# Polls the pane until the shell condition $1 holds, for up to 10 s.
wait_until() {
	for _ in $(seq 100); do
		cap
		eval "$1" && return 0
		sleep 0.1
	done
	return 1
}
wait_for() {
	for _ in $(seq 100); do
		cap
		grep -qF -- "$1" "$tmp/pane" && return 0
		sleep 0.1
	done
	fail "the pane never showed '$1'"
}
keys() {
	tmux -L "$sock" send-keys -t tl "$@"
}
# The window span the bar shows ("window 392.45 ms at 0" -> "392.45 ms").
window() {
	sed -n 's/.*window \(.*\) at .*/\1/p' "$tmp/pane" | head -1
}

"$SYNTH" -q -o "$tmp/s.sbt" -n 5000 --seed 1

tmux -L "$sock" new-session -d -s tl -x 140 -y 44 \
	"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color '$TSTOP' open '$tmp/s.sbt'; echo \"tstop-exit=\$?\"; sleep 60"
wait_for "1 Timeline"
wait_for "lane 2/"
grep -q "^GPU 0: " "$tmp/pane" || fail "no device header"
grep -q "^Process [0-9]*: " "$tmp/pane" || fail "no process header"
grep -q "^  nvtx 1 " "$tmp/pane" || fail "no NVTX sub-lane"
grep -q "^python3 " "$tmp/pane" || fail "no host thread lane named after its thread"
grep -q "[░▒▓█]" "$tmp/pane" || fail "no busy cells"
grep -q "┴" "$tmp/pane" || fail "no axis ticks"
grep -q " ms " "$tmp/pane" || fail "no axis labels in ms"
cap
full=$(window)
[ -n "$full" ] || fail "the bar shows no window"

# n selects the next event of the stream lane: its details name the API call
# that launched it.
keys n
wait_for "event selected"
wait_for " Name "
name=$(sed -n 's/^ Name  *//p' "$tmp/pane" | head -1)
[ -n "$name" ] || fail "the details show no name"
short=${name:0:8}
for _ in $(seq 12); do keys "]"; done
wait_for "Launched by"

# z zooms to it: its name is drawn inside its bar (and in the details).
keys z
wait_for "event selected"
wait_until 'grep -q "^default .*${short}" "$tmp/pane"' ||
	fail "the selected event's name '$short' is not drawn on its lane"
wait_until '[ "$(window)" != "$full" ]' || fail "z did not zoom"

# a fits the whole session again; + halves the window.
keys a
wait_until '[ "$(window)" = "$full" ]' || fail "a did not fit the session ($(window) vs $full)"
keys +
wait_until '[ "$(window)" != "$full" ]' || fail "+ did not zoom in"
keys a
wait_until '[ "$(window)" = "$full" ]' || fail "a did not fit the session again"

# c goes to the linked API call: its details list the GPU work it launched.
keys c
wait_for "Kind         api"
for _ in $(seq 16); do
	grep -q "GPU work  *kernel" "$tmp/pane" && break
	keys "]"
	sleep 0.2
	cap
done
grep -q "GPU work  *kernel" "$tmp/pane" || fail "the API call's details do not list the kernel it launched"

# Esc clears the selection; Enter selects at the cursor again.
keys Escape
wait_until '! grep -q "event selected" "$tmp/pane"' || fail "Esc did not clear the selection"

# The help lists the timeline keys.
keys "?"
wait_for "tstop help"
grep -q "^ *1  *Timeline$" "$tmp/pane" || fail "the help does not list the timeline's view key"
keys NPage
wait_for "Timeline: zoom in around the cursor"
grep -q "^ *a  *Timeline: fit the whole session" "$tmp/pane" || fail "the help does not list the fit key"
keys x
wait_for "1 Timeline"

keys q
wait_for "tstop-exit="
grep -q "tstop-exit=0" "$tmp/pane" || fail "tstop open did not exit 0"
tmux -L "$sock" kill-server 2>/dev/null || true

# ASCII and monochrome: the C locale, NO_COLOR. A server of its own: a
# new session on the socket of a server still exiting fails ("server exited
# unexpectedly").
sock="$sock-ascii"
tmux -L "$sock" new-session -d -s tl -x 120 -y 40 \
	"env LANG=C LC_ALL=C NO_COLOR=1 TERM=xterm '$TSTOP' open '$tmp/s.sbt'; echo \"tstop-exit=\$?\"; sleep 60"
wait_for "1 Timeline"
wait_for "lane 2/"
grep -q "^GPU 0: " "$tmp/pane" || fail "no device header (ASCII)"
grep -q "|[ .:#@]*[.:#@]" "$tmp/pane" || fail "no ASCII busy cells"
LC_ALL=C grep -q "[^ -~]" "$tmp/pane" && fail "non-ASCII output in the C locale"
keys q
wait_for "tstop-exit=0"
echo "ok"
