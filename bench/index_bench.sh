#!/usr/bin/env bash
# bench/index_bench.sh [DATA_DIR] — the vector index against Debian's hnswlib
# (python3-hnswlib 0.6.2), side by side on the same files, as issue 12 sets it:
# 100,000 x 384 unit vectors (a seeded mixture of 1,000 N(0,1) centres plus
# 0.35 N(0,1) noise), 1,000 queries, M 16, ef_construction 200, k 10, one
# thread, CPU time. Then a filtered search at 1 % selectivity (labels uniform
# over 0..99, label 7) against hnswlib's exact BFIndex over the matching subset.
#
# Runs, in order: data (bench/index_data.py, skipped when DATA_DIR has it),
# hearth (float; the index is saved to DATA_DIR/hearth.hidx and loaded by
# later runs), hearth --int8, hnswlib, hearth filtered (float and int8
# indexes), hnswlib BFIndex.
# Prints each side's JSON and a summary: build time, and the best QPS among
# the ef values that reach recall 0.95 / 0.99. Env: EF (the ef list),
# N/Q/DIM (a smaller set), HEARTH (the binary, default build/hearth),
# PY (python with hnswlib, default /usr/bin/python3), REBUILD=1 (build the
# hearth indexes again instead of loading them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${1:-/tmp/hearth-index-bench}
hearth=${HEARTH:-$root/build/hearth}
py=${PY:-/usr/bin/python3}
ef=${EF:-10,12,14,16,20,24,32,40,48,64,96,128}
common=(-k 10 --M 16 --ef-construction 200 -t 1)
if [ ! -f "$data/truth_label7.ivecs" ]; then
  "$py" "$root/bench/index_data.py" "$data" --n "${N:-100000}" --q "${Q:-1000}" --dim "${DIM:-384}"
fi
files=(--base "$data/base.fvecs" --queries "$data/queries.fvecs")
if [ "${REBUILD:-0}" = 1 ]; then rm -f "$data/hearth.hidx" "$data/hearth-int8.hidx"; fi
out=$data/results
mkdir -p "$out"
run() { local name=$1; shift; echo "== $name" >&2; "$@" | tee "$out/$name.json"; }
run hearth "$hearth" index bench "${files[@]}" --truth "$data/truth.ivecs" "${common[@]}" --ef "$ef" \
    --labels "$data/labels.txt" --index "$data/hearth.hidx" --out "$out/hearth" --json
run hearth-int8 "$hearth" index bench "${files[@]}" --truth "$data/truth.ivecs" "${common[@]}" --ef "$ef" \
    --int8 --labels "$data/labels.txt" --index "$data/hearth-int8.hidx" --json
run hnswlib "$py" "$root/bench/index_hnswlib.py" "${files[@]}" --truth "$data/truth.ivecs" "${common[@]}" --ef "$ef"
run hearth-filtered "$hearth" index bench "${files[@]}" --truth "$data/truth_label7.ivecs" "${common[@]}" \
    --ef 10,32,64 --labels "$data/labels.txt" --filter-label 7 --index "$data/hearth.hidx" --out "$out/filtered" --json
run hearth-filtered-int8 "$hearth" index bench "${files[@]}" --truth "$data/truth_label7.ivecs" "${common[@]}" \
    --ef 10,32,64 --int8 --labels "$data/labels.txt" --filter-label 7 --index "$data/hearth-int8.hidx" \
    --out "$out/filtered-int8" --json
run bfindex "$py" "$root/bench/index_hnswlib.py" "${files[@]}" --truth "$data/truth_label7.ivecs" "${common[@]}" \
    --labels "$data/labels.txt" --filter-label 7
"$py" - "$out" "$data/labels.txt" <<'PY'
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
PY
