#!/usr/bin/python3
"""Summary of bench/index_bench.sh's results (RESULTS_DIR LABELS): build times, the
best QPS among the ef values reaching recall 0.95 / 0.99, the ratios to
hnswlib, the filtered figures against BFIndex, and a check that every
filtered row holds 10 distinct ids with label 7."""
import json, sys, os
import numpy as np
out = sys.argv[1]
r = {n: json.load(open(os.path.join(out, n + ".json"))) for n in
     ["hearth", "hearth-int8", "hnswlib", "hearth-filtered", "hearth-filtered-int8", "bfindex"]}
def at(res, target):
    ok = [x for x in res["results"] if x.get("recall", 0) >= target]
    return max(ok, key=lambda x: x["qps"]) if ok else None
print("\n%-14s %9s %22s %22s" % ("", "build s", "qps @ recall 0.95 (ef)", "qps @ recall 0.99 (ef)"))
for n in ["hearth", "hearth-int8", "hnswlib"]:
    cells = []
    for t in (0.95, 0.99):
        b = at(r[n], t)
        cells.append("%8.0f (%d, %.3f)" % (b["qps"], b["ef"], b["recall"]) if b else "-")
    note = " (loaded)" if r[n].get("loaded") else ""
    print("%-14s %9.1f%s %22s %22s" % (n, r[n]["build_s"], note, cells[0], cells[1]))
for t in (0.95, 0.99):
    h, hi, b = at(r["hearth"], t), at(r["hearth-int8"], t), at(r["hnswlib"], t)
    if h and b and hi:
        print("recall %.2f: hearth %.2fx, hearth int8 %.2fx hnswlib's QPS" % (t, h["qps"] / b["qps"], hi["qps"] / b["qps"]))
# filtered: every row holds k distinct ids with the label
labels = np.loadtxt(sys.argv[2], dtype=np.int64)
bad = 0
for d in ("filtered", "filtered-int8"):
    for f in os.listdir(os.path.join(out, d)):
        raw = np.fromfile(os.path.join(out, d, f), dtype=np.int32).reshape(-1, 11)[:, 1:]
        for row in raw:
            if (row < 0).any() or len(set(row.tolist())) != 10 or (labels[row] != 7).any():
                bad += 1
bf = r["bfindex"]["results"][0]
print("filtered 1 %% (%d vectors): BFIndex %.0f qps, recall %.3f" % (r["bfindex"]["subset"], bf["qps"], bf["recall"]))
for n in ("hearth-filtered", "hearth-filtered-int8"):
    for x in r[n]["results"]:
        print("  %-20s ef %3d: %.0f qps (%.2fx), recall %.3f" % (n, x["ef"], x["qps"], x["qps"] / bf["qps"], x["recall"]))
print("  rows without 10 distinct ids of label 7: %d" % bad)
