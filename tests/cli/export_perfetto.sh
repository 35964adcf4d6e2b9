#!/usr/bin/env bash
# End-to-end test of `tstop export --perfetto`: the trace of a synthetic
# session (two processes, two devices, every event kind) decodes with protoc
# and the Perfetto protos of ../shared/testdata/perfetto with no unknown
# field; every track's BEGIN/END pairs balance; slice, instant and counter
# counts equal the generator's per kind; every flow that GPU work ends is
# started by an API call; the default name is FILE.perfetto-trace and -o -
# writes the same bytes to standard output. Skipped with a message when
# protoc (Debian: protobuf-compiler) or the protos are missing.
# Usage: bash export_perfetto.sh TSTOP TSTOP_SYNTH SOURCE_DIR
set -uo pipefail
TSTOP=$1
SYNTH=$2
SRC=$3
PROTOS="$SRC/../shared/testdata/perfetto"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
command -v protoc >/dev/null || {
	echo "SKIP: protoc not found (Debian: protobuf-compiler; scripts/install-deps.sh installs it)"
	exit 0
}
[ -f "$PROTOS/gpu_extensions_for_merged.proto" ] || {
	echo "SKIP: no Perfetto protos at $PROTOS (the shared test data is absent)"
	exit 0
}
command -v python3 >/dev/null || {
	echo "SKIP: python3 is needed to check the decoded trace"
	exit 0
}

"$SYNTH" -o "$tmp/a.sbt" -n 20000 --processes 2 --devices 2 --threads 3 >"$tmp/a.counts" || fail "tstop-synth"
"$TSTOP" export --perfetto "$tmp/a.sbt" 2>"$tmp/err" || fail "export: $(cat "$tmp/err")"
[ -f "$tmp/a.perfetto-trace" ] || fail "default output a.perfetto-trace not written"
protoc -I "$PROTOS" --decode=perfetto.protos.Trace gpu_extensions_for_merged.proto \
	<"$tmp/a.perfetto-trace" >"$tmp/a.txt" 2>"$tmp/perr" || fail "protoc cannot decode: $(cat "$tmp/perr")"

python3 - "$tmp/a.txt" "$tmp/a.counts" <<'PY' || fail "decoded trace checks"
import re, sys
text = open(sys.argv[1]).read().splitlines()
counts = dict(l.split()[:2] for l in open(sys.argv[2]) if l.strip())
counts = {k: int(v) for k, v in counts.items()}
unknown = [l for l in text if re.match(r"\s*\d+(: | \{)", l)]
assert not unknown, "unknown fields: %s" % unknown[:5]
# category iids as export/perfetto.c interns them, checked against their names
cats = {}
for m in re.finditer(r"event_categories \{\s*iid: (\d+)\s*name: \"([^\"]*)\"", "\n".join(text)):
    cats[int(m.group(1))] = m.group(2)
begins, instants, counters, ends = {}, {}, 0, 0
depth, flows, terms = {}, set(), []
ev = None
stack = []
for l in text:
    s = l.strip()
    if s.endswith("{"):
        stack.append(s[:-2])
        if stack == ["packet", "track_event"]:
            ev = {"flows": [], "terms": []}
        continue
    if s == "}":
        if stack == ["packet", "track_event"]:
            t, u = ev.get("type"), ev.get("uuid")
            if t == "TYPE_SLICE_BEGIN":
                c = cats[ev["cat"]]
                begins[c] = begins.get(c, 0) + 1
                depth[u] = depth.get(u, 0) + 1
            elif t == "TYPE_SLICE_END":
                depth[u] = depth.get(u, 0) - 1
                assert depth[u] >= 0, "END without BEGIN on track %s" % u
                ends += 1
            elif t == "TYPE_INSTANT":
                c = cats[ev["cat"]]
                instants[c] = instants.get(c, 0) + 1
            elif t == "TYPE_COUNTER":
                counters += 1
            flows.update(ev["flows"])
            terms.extend(ev["terms"])
        stack.pop()
        continue
    if stack == ["packet", "track_event"] and ": " in s:
        k, v = s.split(": ", 1)
        if k == "type": ev["type"] = v
        elif k == "track_uuid": ev["uuid"] = int(v)
        elif k == "category_iids": ev["cat"] = int(v)
        elif k == "flow_ids": ev["flows"].append(int(v))
        elif k == "terminating_flow_ids": ev["terms"].append(int(v))
assert not stack, "unbalanced braces"
assert all(d == 0 for d in depth.values()), "slices left open"
api = sum(begins.get(c, 0) for c in ("cuda_runtime", "cuda_driver", "opencl", "api"))
want = [("kernel", begins.get("kernel", 0)), ("memcpy", begins.get("gpu_memcpy", 0)),
        ("memset", begins.get("gpu_memset", 0)), ("sync", begins.get("cuda_sync", 0)), ("api", api),
        ("nvtx_range", begins.get("nvtx", 0)), ("lost", begins.get("lost_events", 0)),
        ("nvtx_mark", instants.get("nvtx_mark", 0)),
        # the session's counter samples plus one "memory in use" sample per allocation or release
        ("counter", counters - counts["mem_alloc"] - counts["mem_free"])]
for kind, got in want:
    assert got == counts[kind], "%s: %d in the trace, %d generated" % (kind, got, counts[kind])
assert instants.get("gpu_memory", 0) == counts["mem_alloc"] + counts["mem_free"], "alloc/free instants"
assert ends == sum(begins.values()), "BEGIN and END counts differ"
gpu = counts["kernel"] + counts["memcpy"] + counts["memset"] + counts["sync"]
assert len(terms) == gpu, "%d flows end on GPU work, %d GPU events" % (len(terms), gpu)
missing = [t for t in terms if t not in flows]
assert not missing, "flows ended but never started: %s" % missing[:5]
print("perfetto: %d slices, %d counters, %d flows, %d tracks" % (ends, counters, len(terms), len(depth)))
PY

# -o - writes the same bytes to standard output
"$TSTOP" export --perfetto -q -o - "$tmp/a.sbt" >"$tmp/b.perfetto-trace" 2>"$tmp/err" || fail "export -o -: $(cat "$tmp/err")"
cmp -s "$tmp/a.perfetto-trace" "$tmp/b.perfetto-trace" || fail "-o - wrote different bytes"
echo "export_perfetto: ok"
