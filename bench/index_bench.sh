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
# the ef values that reach recall 0.95 / 0.99 (bench/index_summary.py).
# All three indexes are saved in DATA_DIR and loaded by later runs; with
# PARALLEL=1 (indexes already built) the unfiltered searches of hearth,
# hearth --int8 and hnswlib run at the same time, so that on a shared machine
# they see the same load. Env: EF (the ef list),
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
if [ "${REBUILD:-0}" = 1 ]; then rm -f "$data/hearth.hidx" "$data/hearth-int8.hidx" "$data/hnswlib.bin"; fi
out=$data/results
mkdir -p "$out"
run() { local name=$1; shift; echo "== $name" >&2; "$@" | tee "$out/$name.json"; }
if [ "${PARALLEL:-0}" = 1 ]; then
  "$hearth" index bench "${files[@]}" --truth "$data/truth.ivecs" "${common[@]}" --ef "$ef" \
      --labels "$data/labels.txt" --index "$data/hearth.hidx" --json > "$out/hearth.json" &
  "$hearth" index bench "${files[@]}" --truth "$data/truth.ivecs" "${common[@]}" --ef "$ef" \
      --int8 --labels "$data/labels.txt" --index "$data/hearth-int8.hidx" --json > "$out/hearth-int8.json" &
  "$py" "$root/bench/index_hnswlib.py" "${files[@]}" --truth "$data/truth.ivecs" "${common[@]}" --ef "$ef" \
      --index "$data/hnswlib.bin" > "$out/hnswlib.json" &
  wait
  "$hearth" index bench "${files[@]}" --truth "$data/truth_label7.ivecs" "${common[@]}" --ef 10,32,64 \
      --labels "$data/labels.txt" --filter-label 7 --index "$data/hearth.hidx" --out "$out/filtered" --json \
      > "$out/hearth-filtered.json" &
  "$hearth" index bench "${files[@]}" --truth "$data/truth_label7.ivecs" "${common[@]}" --ef 10,32,64 --int8 \
      --labels "$data/labels.txt" --filter-label 7 --index "$data/hearth-int8.hidx" --out "$out/filtered-int8" \
      --json > "$out/hearth-filtered-int8.json" &
  "$py" "$root/bench/index_hnswlib.py" "${files[@]}" --truth "$data/truth_label7.ivecs" "${common[@]}" \
      --labels "$data/labels.txt" --filter-label 7 > "$out/bfindex.json" &
  wait
  cat "$out"/*.json
  exec "$py" "$root/bench/index_summary.py" "$out" "$data/labels.txt"
fi
run hearth "$hearth" index bench "${files[@]}" --truth "$data/truth.ivecs" "${common[@]}" --ef "$ef" \
    --labels "$data/labels.txt" --index "$data/hearth.hidx" --out "$out/hearth" --json
run hearth-int8 "$hearth" index bench "${files[@]}" --truth "$data/truth.ivecs" "${common[@]}" --ef "$ef" \
    --int8 --labels "$data/labels.txt" --index "$data/hearth-int8.hidx" --json
run hnswlib "$py" "$root/bench/index_hnswlib.py" "${files[@]}" --truth "$data/truth.ivecs" "${common[@]}" --ef "$ef" \
    --index "$data/hnswlib.bin"
run hearth-filtered "$hearth" index bench "${files[@]}" --truth "$data/truth_label7.ivecs" "${common[@]}" \
    --ef 10,32,64 --labels "$data/labels.txt" --filter-label 7 --index "$data/hearth.hidx" --out "$out/filtered" --json
run hearth-filtered-int8 "$hearth" index bench "${files[@]}" --truth "$data/truth_label7.ivecs" "${common[@]}" \
    --ef 10,32,64 --int8 --labels "$data/labels.txt" --filter-label 7 --index "$data/hearth-int8.hidx" \
    --out "$out/filtered-int8" --json
run bfindex "$py" "$root/bench/index_hnswlib.py" "${files[@]}" --truth "$data/truth_label7.ivecs" "${common[@]}" \
    --labels "$data/labels.txt" --filter-label 7
"$py" "$root/bench/index_summary.py" "$out" "$data/labels.txt"
