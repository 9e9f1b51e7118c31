#!/bin/sh
# bench/bench_models.sh — hearth's speed on the TinyLlama-1.1B-shaped model
# (random weights: dim 2048, 22 layers, 32 heads / 4 KV heads, ffn 5632,
# vocab 32000) in F16, Q8_0, Q4_0 and Q4_K_M: pp512 and tg128 tokens/s with
# 1 and 2 threads, prefill GFLOP/s, decode GB/s, and the machine's measured
# read bandwidth so that each tg figure reads as a fraction of the limit
# (weight bytes per token x tg / bandwidth).
#
#   bench/bench_models.sh [BUILD_DIR]          (default: build)
#
# Environment:
#   BENCH_DIR    where the models are written (default /tmp; ~4.3 GB; never
#                in the repo). Existing files are reused.
#   P, N         prompt / generated tokens (default 512, 128)
#   THREADS      thread counts (default "1 2")
#   TYPES        default "F16 Q8_0 Q4_0 Q4_K_M"
#   REPS         repetitions per test, best reported (default 2)
#   SKIP_BUILD   1: use the binaries already in BUILD_DIR (no cmake --build)
#   LLAMA_BENCH  path of llama.cpp's llama-bench: also run it on the same
#                files for a side-by-side table (never built by this script)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
dir=${BENCH_DIR:-/tmp}
P=${P:-512}
N=${N:-128}
THREADS=${THREADS:-"1 2"}
TYPES=${TYPES:-"F16 Q8_0 Q4_0 Q4_K_M"}
REPS=${REPS:-2}

[ "${SKIP_BUILD:-0}" = 1 ] || cmake --build "$build" --target hearth_cli hearth_make_model bench_bandwidth >/dev/null
f16="$dir/hearth-tinyllama-f16.gguf"
if [ ! -f "$f16" ]; then
    echo "writing $f16 (random weights, ~2.2 GB)..." >&2
    "$build/tests/model/hearth_make_model" "$f16"
fi
for t in $TYPES; do
    [ "$t" = F16 ] && continue
    out="$dir/hearth-tinyllama-$t.gguf"
    [ -f "$out" ] || "$build/hearth" quantize -q -t 2 "$f16" "$out" "$t"
done

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for th in $THREADS; do
    bw=$("$build/bench/bench_bandwidth" "$th" 1024 5 2>/dev/null)
    echo "memory read bandwidth, $th thread(s): $bw GB/s"
    eval "bw_$th=$bw"
done
echo
printf '%-7s %3s %10s %9s %10s %8s %8s %8s\n' type thr "pp$P t/s" GFLOP/s "tg$N t/s" GB/s limit "of limit"
for t in $TYPES; do
    case $t in F16) m=$f16 ;; *) m="$dir/hearth-tinyllama-$t.gguf" ;; esac
    for th in $THREADS; do
        json=$("$build/hearth" bench -m "$m" -p "$P" -n "$N" -t "$th" -r "$REPS" --json)
        eval "bw=\$bw_$th"
        python3 - "$json" "$bw" "$t" <<'PY'
import json, sys
j = json.loads(sys.argv[1]); bw = float(sys.argv[2])
limit = bw * 1e9 / j["weight_bytes_per_token"]
print(f'{sys.argv[3]:<7} {j["threads"]:>3} {j["pp_tokens_per_s"]:>10.2f} {j["pp_gflops"]:>9.1f} '
      f'{j["tg_tokens_per_s"]:>10.2f} {j["tg_gb_per_s"]:>8.2f} {limit:>8.2f} {100 * j["tg_tokens_per_s"] / limit:>7.0f}%')
PY
    done
done

if [ -n "${LLAMA_BENCH:-}" ]; then
    echo
    echo "llama.cpp (llama-bench) on the same files:"
    for t in $TYPES; do
        case $t in F16) m=$f16 ;; *) m="$dir/hearth-tinyllama-$t.gguf" ;; esac
        for th in $THREADS; do
            "$LLAMA_BENCH" -m "$m" -p "$P" -n "$N" -t "$th" -r "$REPS" -o jsonl 2>/dev/null |
                python3 -c '
import json, sys
for line in sys.stdin:
    j = json.loads(line)
    test = "pp%d" % j["n_prompt"] if j["n_prompt"] else "tg%d" % j["n_gen"]
    print("%-7s %3d %-6s %10.2f t/s" % (sys.argv[1], j["n_threads"], test, j["avg_ts"]))' "$t" || true
        done
    done
fi
