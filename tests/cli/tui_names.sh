#!/usr/bin/env bash
# Hostile names on screen: a tiny NVTX program (compiled here against the
# build's NVTX v3 headers) names its thread and pushes ranges whose names
# hold ESC sequences (clear screen "\033[2J", set title "\033]0;pwned\007",
# a color), other C0 controls, DEL, a C1 control, newline and tab, RLO
# U+202E and bytes that are not UTF-8; `tstop record` saves it and
# `tstop open` shows it in a detached tmux session. On the timeline (the
# thread's lane label, the bars of the NVTX lane after Enter on an instance),
# in the NVTX table and in the details pane every name
# is shown escaped ("\x1b[2J", "\u{202E}", "\xff", ...); the raw sequences
# did not act: the pane's title is unchanged (a raw OSC in another window
# of the same server does change its title, so the check can fail), the
# screen was not cleared (the status line, tabs and footer are all still
# there) and the alternate screen is off again after q.
# Skipped without tmux, a C compiler or the NVTX v3 headers.
# Usage: bash tui_names.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -euo pipefail
TSTOP=$(realpath "$1")
BUILD=$(dirname "$TSTOP")

if ! command -v tmux >/dev/null; then
	echo "skipped: tmux is not installed"
	exit 0
fi
CC=${CC:-cc}
if ! command -v "$CC" >/dev/null; then
	echo "skipped: no C compiler ($CC) to build the NVTX program"
	exit 0
fi
nvtx_inc=$(sed -n 's/^NVTX3_INCLUDE_DIR:PATH=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
if [ -z "$nvtx_inc" ] || [ ! -f "$nvtx_inc/nvtx3/nvToolsExt.h" ]; then
	echo "skipped: no NVTX v3 headers in this build"
	exit 0
fi

tmp=$(mktemp -d)
export TMUX_TMPDIR="$tmp"
unset TMUX
sock="tstop-names-$$"
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

cat >names.c <<'PROG'
#define _GNU_SOURCE
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <nvtx3/nvToolsExt.h>

static const char *const names[] = {
    "cls\033[2Jx",           "title\033]0;pwned\007y", "red\033[31mz", "ctl\001\002\177\302\233w",
    "rlo\342\200\256cba",    "bad\377\376utf",         "nl\nline\ttab",
};

int main(void)
{
	struct timespec ms = {0, 1000000};
	nvtxNameOsThreadA((uint32_t)gettid(), "thr\033[2Jd");
	for (int i = 0; i < 3; i++)
		for (unsigned k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			nvtxRangePushA(names[k]);
			nanosleep(&ms, NULL);
			nvtxRangePop();
		}
	return 0;
}
PROG
"$CC" -std=c11 -I"$nvtx_inc" -o names names.c -ldl -lpthread 2>cc.err || {
	echo "skipped: the NVTX program does not build here: $(head -3 cc.err)"
	exit 0
}
"$TSTOP" record -o names -- ./names >rec.out 2>rec.err || fail "tstop record failed: $(cat rec.err)"
[ -s names.sbt ] || fail "no names.sbt"

cap() {
	tmux -L "$sock" capture-pane -p -t "$1" >"$tmp/pane"
}
# wait_for WINDOW TEXT: waits (up to 10 s) until the pane shows the fixed string.
wait_for() {
	for _ in $(seq 100); do
		cap "$1"
		grep -qF -- "$2" "$tmp/pane" && return 0
		sleep 0.1
	done
	fail "the pane never showed '$2'"
}
keys() {
	local w=$1
	shift
	tmux -L "$sock" send-keys -t "$w" "$@"
}
title() {
	tmux -L "$sock" display -p -t "$1" '#{pane_title}'
}

# The control: a raw OSC 0 in a pane of this server does set its title.
tmux -L "$sock" new-session -d -s ctl -x 80 -y 10 "printf '\\033]0;pwned-control\\007'; echo control-done; sleep 60"
wait_for ctl "control-done"
for _ in $(seq 50); do
	[ "$(title ctl)" = "pwned-control" ] && break
	sleep 0.1
done
[ "$(title ctl)" = "pwned-control" ] || fail "control: a raw OSC did not set the title here ('$(title ctl)')"

tmux -L "$sock" new-session -d -s tui -x 160 -y 45 \
	"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color '$TSTOP' open names.sbt; echo \"tstop-exit=\$?\"; sleep 60"
tmux -L "$sock" select-pane -t tui -T "tstop-names-test"
before=$(title tui)

# untitled: the names' OSC 0 did not set the pane title. (Only "pwned" is
# checked: tmux itself may reset a pane's title, to the host name, when the
# program in it ends.)
untitled() {
	case "$(title tui)" in
	*pwned*) fail "the pane title changed to '$(title tui)' (was '$before')" ;;
	esac
}

# still_whole: the screen was not cleared or recolored away: the status
# line, the tabs and the footer are all there.
still_whole() {
	grep -q "exited 0" "$tmp/pane" || fail "the status line is gone"
	grep -qF "1 Timeline  2 Kernels" "$tmp/pane" || fail "the tabs are gone"
	grep -q "^q Quit" "$tmp/pane" || fail "the footer is gone"
	untitled
}

# The timeline: the thread's lane label, escaped.
wait_for tui "1 Timeline"
wait_for tui 'thr\x1b[2Jd'
still_whole

# The NVTX table: every range name, escaped.
keys tui 5
wait_for tui "by Total (desc)"
for shown in 'cls\x1b[2Jx' 'title\x1b]0;pwned\x07y' 'red\x1b[31mz' 'ctl\x01\x02\x7f\xc2\x9bw' \
	'rlo\u{202E}cba' 'bad\xff\xfeutf' 'nl\nline\ttab'; do
	grep -qiF -- "$shown" "$tmp/pane" || fail "the NVTX table does not show '$shown'"
done
grep -qF "of 7  by Total" "$tmp/pane" || fail "the NVTX table does not count 7 names"
# No raw control or bidi character reached the pane's text.
LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$tmp/pane" && fail "a raw control byte is on screen"
grep -q $'\u202e' "$tmp/pane" && fail "a raw RLO is on screen"
still_whole

# The details pane of the title-setting name: escaped there too; and its
# instance list's title.
keys tui f
wait_for tui "Filter:"
keys tui -l "pwned"
keys tui Enter
wait_for tui 'filter "pwned"'
wait_for tui ' Name         title\x1b]0;pwned\x07y'
keys tui Enter
wait_for tui 'NVTX > title\x1b]0;pwned\x07y'
still_whole
# Enter on an instance: the timeline, the range selected and drawn as a bar
# on the thread's NVTX lane, its name escaped there too.
keys tui Enter
wait_for tui "(event selected)"
grep "^  nvtx 1 " "$tmp/pane" | grep -qF 'title\x1b]0;pwned\x07y' || fail "the selected range's bar is not on the NVTX lane, escaped"
grep -qF ' Name         title\x1b]0;pwned\x07y' "$tmp/pane" || fail "the details do not show the range"
still_whole

# q: exits 0, the terminal restored, the title still untouched.
keys tui q
wait_for tui "tstop-exit="
grep -q "tstop-exit=0" "$tmp/pane" || fail "tstop open did not exit 0"
[ "$(tmux -L "$sock" display -p -t tui '#{alternate_on}')" = 0 ] || fail "the alternate screen is still on"
untitled
echo "ok"
