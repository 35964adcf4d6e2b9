#!/usr/bin/env bash
# The session database `tstop record` writes, read back through the real
# binary: on a capture of the NVTX sample (samples/nvtx, no GPU needed),
# `tstop info` and `tstop stats` on NAME.db give the reports they give on
# NAME.sbt; and while a capture runs, `tstop info NAME.db` reads the batches
# committed so far (never more events than the capture ends with, never
# fewer than a read before), and the final database holds every event the
# capture reports.
# Usage: bash db_open_record.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
BUILD=$(dirname "$TSTOP")
SAMPLE="$BUILD/samples/nvtx/tstop-sample-nvtx"

tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
cd "$tmp" || fail "cannot enter $tmp"
if [ ! -x "$SAMPLE" ]; then
	if grep -q '^NVTX3_INCLUDE_DIR:PATH=.*NOTFOUND' "$BUILD/CMakeCache.txt"; then
		echo "skipped: no NVTX v3 headers, so no NVTX sample in this build"
		exit 0
	fi
	fail "$SAMPLE was not built"
fi
export XDG_RUNTIME_DIR="$tmp/xdg"
if ldd "$SAMPLE" | grep -q libasan; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
fi
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset TSTOP_INJECT_LIBRARY

# --- a finished capture: the same reports from either file --------------------------
"$TSTOP" record -o nv -- "$SAMPLE" -n 60 >/dev/null 2>record.err || fail "record exited $?: $(cat record.err)"
[ -f nv.db ] || fail "record wrote no database: $(cat record.err)"
"$TSTOP" info nv.sbt >info.sbt 2>err || fail "info on the SBT: $(cat err)"
"$TSTOP" info nv.db >info.db 2>err || fail "info on the database: $(cat err)"
[ ! -s err ] || fail "info warned about the database: $(cat err)"
body() { sed -e '1d' -e '/^file$/,$d' "$1"; }
diff <(body info.sbt) <(body info.db) >diff.txt || fail "info differs between nv.sbt and nv.db:
$(cat diff.txt)"
grep -Eq '^  nvtx_range +[1-9][0-9]*$' info.db || fail "no NVTX ranges in the database"
for f in table csv json; do
	"$TSTOP" stats -f "$f" nv.sbt >stats.sbt 2>/dev/null || fail "stats -f $f on the SBT"
	"$TSTOP" stats -f "$f" nv.db >stats.db 2>err || fail "stats -f $f on the database: $(cat err)"
	cmp -s stats.sbt stats.db || fail "stats -f $f differs between nv.sbt and nv.db"
done

# --- a capture still running ------------------------------------------------------------
"$TSTOP" record -o live -- "$SAMPLE" -n 800 --spin-us 1000 >/dev/null 2>live.err &
pid=$!
reads=0
last=0
while kill -0 "$pid" 2>/dev/null; do
	sleep 0.1
	[ -f live.db ] || continue
	"$TSTOP" info live.db >live.info 2>live.info.err || continue # not yet created whole
	# The one warning a database being written gets: it is not finished.
	if [ -s live.info.err ]; then
		grep -q 'live.db is not finished: still being written, or its capture was interrupted' live.info.err ||
			fail "info warned while the capture ran: $(cat live.info.err)"
		grep -v 'is not finished' live.info.err | grep -q . &&
			fail "info warned while the capture ran: $(cat live.info.err)"
	fi
	n=$(sed -n 's/^events (\([0-9]*\))$/\1/p' live.info)
	[ -n "$n" ] || fail "no event count in: $(cat live.info)"
	[ "$n" -ge "$last" ] || fail "a later read saw fewer events ($n) than an earlier one ($last)"
	last=$n
	reads=$((reads + 1))
done
wait "$pid"
rc=$?
pid=
[ "$rc" = 0 ] || fail "the live record exited $rc: $(cat live.err)"
total=$(sed -n 's/^tstop: recorded \([0-9]*\) events.*/\1/p' live.err)
[ -n "$total" ] || fail "record did not say how many events it recorded: $(cat live.err)"
"$TSTOP" info live.db >live.info 2>err || fail "info on the finished database: $(cat err)"
[ ! -s err ] || fail "info warned about the finished database: $(cat err)"
grep -qx "events ($total)" live.info || fail "the finished database does not hold the $total events recorded"
[ "$last" -le "$total" ] || fail "a live read saw $last events, more than the $total recorded"
if [ "$reads" = 0 ]; then
	echo "note: the capture ended before a live read could be made; only the end was checked"
else
	echo "live reads: $reads, the last one saw $last of $total events"
fi
echo "ok"
