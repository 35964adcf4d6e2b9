#!/usr/bin/env bash
# Real-terminal test of the live view, `tstop [OPTION]... -- PROGRAM`.
#
# Without a terminal it records like `tstop record` and says so once.
# In a detached tmux session:
#   1. `tstop -o live -- sh -c 'SAMPLE; wait for a file'` (the NVTX sample,
#      then a shell that runs until the test lets it end): the status line
#      says running and the event count grows; the NVTX table shows the
#      sample's range names while it runs, and an instance list opened on it
#      survives the live rebuilds; p switches capture off and on;
#      once the program ends the status line says "exited with code 0"
#      and the view stays; q quits with the program's status; the .sbt,
#      .db and .log exist and `tstop info` counts on both files equal the
#      status line's final count.
#   2. a program that never ends: q and Ctrl-C ask (kill / detach / cancel),
#      c cancels, a tiny terminal shows the too-small notice while capture
#      goes on; d detaches: tstop exits 0 and the program still runs (the
#      test kills it).
# Skipped (the terminal part) when tmux is missing.
# Usage: bash tui_live.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -euo pipefail
TSTOP=$(realpath "$1")
BUILD=$(dirname "$TSTOP")
SAMPLE="$BUILD/samples/nvtx/tstop-sample-nvtx"
[ -x "$SAMPLE" ] || {
	echo "skipped: $SAMPLE is not built"
	exit 0
}

tmp=$(mktemp -d)
# A tmux server of this test's own, in its own directory: tests run in
# parallel, and tmux servers sharing one socket directory have been seen to
# fail at start ("server exited unexpectedly").
export TMUX_TMPDIR="$tmp"
unset TMUX
sock="tstop-live-$$"
detached_pid=
cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null || true
	[ -n "$detached_pid" ] && kill -9 "$detached_pid" 2>/dev/null || true
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

# No terminal: records as tstop record does, says so once.
"$TSTOP" -o plain -- "$SAMPLE" -n 20 </dev/null >plain.out 2>plain.err || fail "no-terminal run failed: $(cat plain.err)"
[ "$(grep -c "without the live view" plain.err)" -eq 1 ] || fail "no single 'without the live view' note: $(cat plain.err)"
[ -s plain.sbt ] && [ -s plain.db ] || fail "no-terminal run wrote no plain.sbt/plain.db"
grep -q "^range" plain.out || fail "the sample's own output is missing without a terminal"

if ! command -v tmux >/dev/null; then
	echo "skipped: tmux is not installed (the real-terminal part)"
	exit 0
fi

cap() {
	tmux -L "$sock" capture-pane -p -t "$1" >"$tmp/pane"
}
# wait_for WINDOW TEXT: waits (up to 20 s) until the pane shows the fixed string.
wait_for() {
	for _ in $(seq 200); do
		cap "$1"
		grep -qF -- "$2" "$tmp/pane" && return 0
		sleep 0.1
	done
	fail "the pane never showed '$2'"
}
# wait_gone WINDOW TEXT: waits (up to 20 s) until the pane no longer shows it.
wait_gone() {
	for _ in $(seq 200); do
		cap "$1"
		grep -qF -- "$2" "$tmp/pane" || return 0
		sleep 0.1
	done
	fail "the pane still shows '$2'"
}
keys() {
	local w=$1
	shift
	tmux -L "$sock" send-keys -t "$w" "$@"
}
# The event count on the status line ("1,234 events"), digits only.
events_shown() {
	cap "$1"
	head -1 "$tmp/pane" | grep -o '[0-9,]* events' | head -1 | tr -d ', events'
}

# --- 1. a program that ends --------------------------------------------------
prog="$SAMPLE -n 4000 --spin-us 300 >/dev/null && while [ ! -e $tmp/go ]; do sleep 0.05; done"
tmux -L "$sock" new-session -d -s live -x 150 -y 40 \
	"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color '$TSTOP' -o live -- sh -c '$prog'; echo \"tstop-exit=\$?\"; sleep 60"
wait_for live "running"
grep -q "capture on" "$tmp/pane" || fail "the status line does not say capture on"
grep -q "pid [0-9]" "$tmp/pane" || fail "no pid on the status line"
grep -q "events/s\|/s " "$tmp/pane" || fail "no rate on the status line"

# The count grows (the sample runs a few seconds).
first=$(events_shown live)
grew=0
for _ in $(seq 100); do
	sleep 0.1
	now=$(events_shown live)
	if [ -n "$now" ] && [ -n "$first" ] && [ "$now" -gt "$first" ]; then
		grew=1
		break
	fi
done
[ "$grew" -eq 1 ] || fail "the event count did not grow (stayed at '$first')"

# The NVTX table, live.
keys live 5
wait_for live "by Total (desc)"
wait_for live "iteration"
wait_for live "compute"
grep -q "Instances" "$tmp/pane" || fail "the NVTX table has no Instances column"
# An instance list stays open across publishes (rebuilt from the grown
# session: it points at events; the ASan build checks that), then back.
keys live Enter
wait_for live "NVTX > "
sleep 1.5
keys live j
wait_for live "2/"
keys live Escape
wait_gone live "NVTX > "

# Capture off and on again.
keys live p
wait_for live "capture OFF"
keys live p
wait_for live "capture on"

# Let the program end: the view stays, the status line says how it ended.
touch "$tmp/go"
wait_for live "exited with code 0"
grep -q "capture ended" "$tmp/pane" || fail "the status line does not say capture ended"
final=$(events_shown live)
keys live q
wait_for live "tstop-exit=0"
for f in live.sbt live.db live.log; do
	[ -s "$f" ] || [ "$f" = live.log ] || fail "$f is missing or empty"
	[ -e "$f" ] || fail "$f is missing"
done
sbt_events=$("$TSTOP" info live.sbt | sed -n 's/^events (\([0-9]*\))$/\1/p')
db_events=$("$TSTOP" info live.db | sed -n 's/^events (\([0-9]*\))$/\1/p')
[ -n "$sbt_events" ] && [ "$sbt_events" -gt 0 ] || fail "tstop info live.sbt shows no events"
[ "$sbt_events" = "$db_events" ] || fail "info counts differ: sbt $sbt_events, db $db_events"
[ "$sbt_events" = "$final" ] || fail "the status line said $final events, tstop info says $sbt_events"
"$TSTOP" info live.sbt | grep -q "exited 0" || fail "the session does not record exit 0"
tmux -L "$sock" kill-session -t live

# --- 2. quit while running: the prompt, cancel, tiny terminal, detach ---------
tmux -L "$sock" new-session -d -s det -x 120 -y 30 \
	"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color '$TSTOP' -o det -- sh -c 'while :; do sleep 0.05; done'; echo \"tstop-exit=\$?\"; sleep 60"
wait_for det "running"
detached_pid=$(head -1 "$tmp/pane" | grep -o 'pid [0-9]*' | head -1 | cut -d' ' -f2)
[ -n "$detached_pid" ] || fail "no pid on the status line"
keys det q
wait_for det "still running"
keys det c
wait_gone det "still running"
grep -q "running" "$tmp/pane" || fail "cancel did not keep the program running"
keys det C-c
wait_for det "still running"
keys det Escape
wait_gone det "still running"
# A tiny terminal: the notice; capture goes on.
tmux -L "$sock" resize-window -t det -x 30 -y 5
wait_for det "Terminal too small"
tmux -L "$sock" resize-window -t det -x 120 -y 30
wait_for det "running"
kill -0 "$detached_pid" || fail "the program died"
keys det q
wait_for det "still running"
keys det d
wait_for det "tstop-exit=0"
sleep 0.3
kill -0 "$detached_pid" 2>/dev/null || fail "the program did not run on after detach"
kill -9 "$detached_pid"
detached_pid=
"$TSTOP" info det.sbt | grep -q "detached" || fail "det.sbt does not record the detach"
echo "ok"
