#!/usr/bin/env python3
"""kineto_check.py - structure checks of a `tstop export --kineto` trace.

Usage: kineto_check.py TRACE.json[.gz] [--counts FILE] [--reference DIR]

Checks that TRACE is one JSON document laid out as PyTorch's profiler
(Kineto) writes it: the top-level keys, deviceProperties, metadata events,
categories and their args keys, GPU work on pid = device and tid = stream,
times with nanosecond precision, and ac2g flows in balanced pairs (each
start on a host thread at a launch, each finish on the GPU track at the
start of the work it launched). --counts takes the output of tstop-synth
(one "KIND N" line per event kind) and checks the number of events of each
kind. --reference takes a directory of real PyTorch traces (*.json.gz): our
top-level keys must be theirs, and our kernels, copies and memsets must
carry every args key theirs do (except "External id", which links to
PyTorch operators that a tstop session does not have).
Exits 0 when every check passes, 1 with the failures on stderr otherwise.
"""
import collections
import glob
import gzip
import json
import os
import sys

failures = []


def fail(msg):
    failures.append(msg)


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    raw.decode("utf-8")  # the document must be valid UTF-8
    return json.loads(raw)


REQUIRED_TOP = ["schemaVersion", "deviceProperties", "displayTimeUnit", "baseTimeNanoseconds",
                "traceEvents", "traceName"]
DEVICE_KEYS = {"id", "name", "totalGlobalMem", "computeMajor", "computeMinor", "maxThreadsPerBlock",
               "maxThreadsPerMultiprocessor", "regsPerBlock", "regsPerMultiprocessor", "warpSize",
               "sharedMemPerBlock", "sharedMemPerMultiprocessor", "numSms", "sharedMemPerBlockOptin"}
KERNEL_ARGS = ["queued", "device", "context", "stream", "correlation", "registers per thread",
               "shared memory", "grid", "block"]
COPY_ARGS = ["device", "context", "stream", "correlation", "bytes", "memory bandwidth (GB/s)"]
GPU_CATS = {"kernel", "gpu_memcpy", "gpu_memset", "cuda_sync", "gpu_user_annotation"}
HOST_CATS = {"cuda_runtime", "cuda_driver", "opencl_runtime", "host_api", "user_annotation",
             "nvtx_mark", "cpu_instant_event"}


def check_ts(e):
    for key in ("ts", "dur"):
        if key in e:
            v = e[key]
            if not isinstance(v, (int, float)) or v < 0:
                fail("bad %s in %s" % (key, e))
            elif abs(v * 1000 - round(v * 1000)) > 0.01:
                fail("%s %r has more than 3 decimals" % (key, v))


def main(argv):
    path = argv[1]
    counts = None
    reference = None
    i = 2
    while i < len(argv):
        if argv[i] == "--counts":
            counts = {}
            for line in open(argv[i + 1]):
                parts = line.split()
                if len(parts) == 2 and parts[1].isdigit():
                    counts[parts[0]] = int(parts[1])
            i += 2
        elif argv[i] == "--reference":
            reference = argv[i + 1]
            i += 2
        else:
            sys.exit("unknown argument " + argv[i])

    d = load(path)
    for k in REQUIRED_TOP:
        if k not in d:
            fail("top-level key %s missing" % k)
    extra = set(d) - set(REQUIRED_TOP) - {"distributedInfo"}
    if extra:
        fail("unexpected top-level keys %s" % sorted(extra))
    if d.get("schemaVersion") != 1:
        fail("schemaVersion is not 1")
    if not isinstance(d.get("baseTimeNanoseconds"), int):
        fail("baseTimeNanoseconds is not an integer")
    for dev in d.get("deviceProperties", []):
        if not set(dev) <= DEVICE_KEYS or "id" not in dev or "name" not in dev:
            fail("deviceProperties entry with keys %s" % sorted(dev))
    devices = {dev["id"] for dev in d.get("deviceProperties", [])}

    ev = d["traceEvents"]
    cats = collections.Counter()
    meta = collections.defaultdict(dict)
    gpu_starts = set()
    host_starts = set()
    flows_s = collections.Counter()
    flows_f = collections.Counter()
    f_events = []
    s_events = []
    for e in ev:
        ph = e.get("ph")
        check_ts(e)
        if ph == "M":
            meta[(e["pid"], e["tid"])][e["name"]] = e["args"]
            continue
        cat = e.get("cat")
        if ph == "s" or ph == "f":
            if cat != "ac2g" or e.get("name") != "ac2g":
                fail("flow event not ac2g: %s" % e)
            (flows_s if ph == "s" else flows_f)[e["id"]] += 1
            (s_events if ph == "s" else f_events).append(e)
            if ph == "f" and e.get("bp") != "e":
                fail("ac2g finish without bp e: %s" % e)
            continue
        cats[(cat, ph)] += 1
        if cat in GPU_CATS:
            if e["pid"] not in devices:
                fail("GPU event on pid %s, not a device" % e["pid"])
            if ph == "X":
                gpu_starts.add((e["pid"], e["tid"], e["ts"]))
            args = e.get("args", {})
            if cat != "gpu_user_annotation":
                if args.get("device") != e["pid"]:
                    fail("GPU event whose args.device is not its pid: %s" % e)
                if args.get("stream") != e["tid"] and e["tid"] < 1000000000:
                    fail("GPU event whose args.stream is not its tid: %s" % e)
            if cat == "kernel":
                for k in KERNEL_ARGS:
                    if k not in args:
                        fail("kernel without args %r: %s" % (k, e))
                        break
            if cat in ("gpu_memcpy", "gpu_memset"):
                for k in COPY_ARGS:
                    if k not in args:
                        fail("%s without args %r" % (cat, k))
                        break
                if cat == "gpu_memcpy" and not e["name"].startswith("Memcpy "):
                    fail("copy named %r" % e["name"])
                if cat == "gpu_memset" and not e["name"].startswith("Memset ("):
                    fail("memset named %r" % e["name"])
        elif cat in HOST_CATS:
            if e["pid"] in devices and cat != "cpu_instant_event":
                fail("host event on a device pid: %s" % e)
            if ph == "X":
                host_starts.add((e["pid"], e["tid"], e["ts"]))
        elif cat not in ("counter", "tstop_lost"):
            fail("unknown category %r" % cat)

    # ac2g: one start per launch, at a host call; every finish matches a start
    # and sits at the start of GPU work.
    for fid, n in flows_s.items():
        if n != 1:
            fail("ac2g id %s started %d times" % (fid, n))
        if fid not in flows_f:
            fail("ac2g id %s has no finish" % fid)
    for fid in flows_f:
        if fid not in flows_s:
            fail("ac2g id %s finishes without a start" % fid)
    for e in f_events:
        if (e["pid"], e["tid"], e["ts"]) not in gpu_starts:
            fail("ac2g finish not at the start of GPU work: %s" % e)
            break
    for e in s_events:
        if (e["pid"], e["tid"], e["ts"]) not in host_starts:
            fail("ac2g start not at a host call: %s" % e)
            break

    # Metadata: every track named and sorted.
    tracks = {(e["pid"], e["tid"]) for e in ev if e.get("ph") == "X"}
    for pid, tid in tracks:
        if "thread_name" not in meta.get((pid, tid), {}) and tid != 0:
            fail("track pid %s tid %s has no thread_name" % (pid, tid))
        if "process_name" not in meta.get((pid, 0), {}):
            fail("pid %s has no process_name" % pid)
        if "process_sort_index" not in meta.get((pid, 0), {}):
            fail("pid %s has no process_sort_index" % pid)

    if counts is not None:
        def n(cat, ph="X"):
            return cats.get((cat, ph), 0)
        want = {
            "kernel": n("kernel"), "memcpy": n("gpu_memcpy"), "memset": n("gpu_memset"),
            "sync": n("cuda_sync"),
            "api": n("cuda_runtime") + n("cuda_driver") + n("opencl_runtime") + n("host_api"),
            "nvtx_range": n("user_annotation"), "nvtx_mark": n("nvtx_mark", "i"),
            "mem_alloc+mem_free": n("cpu_instant_event", "i"), "counter": n("counter", "C"),
            "lost": n("tstop_lost", "i"),
        }
        for kind, got in want.items():
            expect = sum(counts.get(k, 0) for k in kind.split("+"))
            if got != expect:
                fail("%s: %d in the trace, %d in the session" % (kind, got, expect))
        total = sum(want.values())
        if "events" in counts and total != counts["events"]:
            fail("%d events in the trace, %d in the session" % (total, counts["events"]))

    if reference:
        files = sorted(glob.glob(os.path.join(reference, "*.json.gz")))
        if not files:
            fail("no reference traces in %s" % reference)
        ours_kernel = set()
        ours_copy = set()
        for e in ev:
            if e.get("cat") == "kernel":
                ours_kernel |= set(e["args"])
            elif e.get("cat") in ("gpu_memcpy", "gpu_memset"):
                ours_copy |= set(e["args"])
        for ref in files:
            r = load(ref)
            missing = set(REQUIRED_TOP) - {"displayTimeUnit", "baseTimeNanoseconds"} - set(r)
            if missing:
                fail("%s lacks %s: the reference is not what we think" % (ref, sorted(missing)))
            for e in r["traceEvents"]:
                if e.get("cat") == "kernel":
                    theirs = set(e.get("args", {})) - {"External id"}
                    if not theirs <= ours_kernel:
                        fail("%s: kernel args %s not in ours" % (os.path.basename(ref),
                                                                 sorted(theirs - ours_kernel)))
                    break
            for e in r["traceEvents"]:
                if e.get("cat") in ("gpu_memcpy", "gpu_memset"):
                    theirs = set(e.get("args", {})) - {"External id"}
                    if not theirs <= ours_copy:
                        fail("%s: copy args %s not in ours" % (os.path.basename(ref),
                                                               sorted(theirs - ours_copy)))
                    break
            for dev in r.get("deviceProperties", []):
                if not set(dev) <= DEVICE_KEYS:
                    fail("%s: device keys %s unknown to us" % (ref, sorted(set(dev) - DEVICE_KEYS)))

    for msg in failures[:20]:
        print("FAIL: " + msg, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
