#!/usr/bin/env python3
"""hta_check.py - load a `tstop export --kineto` trace with Holistic Trace
Analysis and compare its GPU kernel breakdown with `tstop stats`.

Usage: hta_check.py TRACE_DIR KERN_SUM.csv

TRACE_DIR holds the trace as rank-0.json (HTA reads every trace of a
directory, one per rank). KERN_SUM.csv is `tstop stats --report
cuda_gpu_kern_sum --format csv` of the same session. Every kernel name of
the report must be in HTA's per-kernel breakdown with the same instance
count and the same total time, and no other kernel may appear (HTA's
rounding of nanosecond times to microseconds is turned off, so totals agree
to the nanosecond).
Exits 0 when they agree, 1 otherwise (the differences on stderr).
"""
import csv
import logging
import os
import sys

logging.disable(logging.WARNING)
# HTA rounds the times of nanosecond-precision traces to whole microseconds
# unless told not to: keep them, so totals must agree to the nanosecond.
os.environ["HTA_DISABLE_NS_ROUNDING"] = "1"
SYNC_NAMES = ["Event Sync", "Stream Wait Event", "Stream Sync", "Context Sync", "Unknown"]


def main(trace_dir, csv_path):
    from hta.trace_analysis import TraceAnalysis

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    ours = {r["Name"]: (int(r["Instances"]), float(r["Total Time (ns)"])) for r in rows}
    if not ours:
        print("FAIL: the report lists no kernels", file=sys.stderr)
        return 1

    analyzer = TraceAnalysis(trace_dir=trace_dir)
    _, per_kernel = analyzer.get_gpu_kernel_breakdown(
        visualize=False, duration_ratio=1.0, num_kernels=1000000, include_memory_kernels=False)
    # HTA counts synchronizations on GPU streams (cuda_sync) among kernels, as
    # it does for PyTorch's own traces; tstop stats does not.
    per_kernel = per_kernel[~per_kernel["name"].isin(SYNC_NAMES)]
    theirs = {}
    for _, r in per_kernel.iterrows():
        name = r["name"]
        total = float(r["sum (us)"])
        # HTA gives no count: the sum over the mean, rounded.
        theirs[name] = (int(round(total / r["mean (us)"])) if r["mean (us)"] else 0, total)
    bad = []
    for name, (count, total_ns) in ours.items():
        if name not in theirs:
            bad.append("kernel %r missing from HTA's breakdown" % name)
            continue
        cnt, sum_us = theirs[name]
        if cnt is not None and cnt != count:
            bad.append("%r: %d instances in HTA, %d in tstop stats" % (name, cnt, count))
        if abs(sum_us * 1000 - total_ns) > 1e-6 * total_ns + 1:
            bad.append("%r: %.3f us in HTA, %.0f ns in tstop stats" % (name, sum_us, total_ns))
    for name in theirs:
        if name not in ours:
            bad.append("HTA lists kernel %r that tstop stats does not" % name)
    for msg in bad[:20]:
        print("FAIL: " + msg, file=sys.stderr)
    if not bad:
        print("HTA agrees with tstop stats on %d kernels (%d instances)" %
              (len(ours), sum(c for c, _ in ours.values())))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
