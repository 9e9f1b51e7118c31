#!/bin/sh
# bench/train.sh — LoRA training throughput and peak memory.
#
#   bench/train.sh [BUILD_DIR] [THREADS] [MODEL...]
#
# Defaults: build, 2 threads, the licences test model and a TinyLlama-1.1B-
# shaped model with random F16 weights (written by hearth_make_model to
# /tmp/hearth-tinyllama-f16.gguf, ~2.2 GB, never committed). Each model
# trains LoRA r=8 on q,v (PEFT's defaults), batch 1 x 256 tokens of GPL-3
# text, for STEPS optimizer steps (default 4; the first is included); prints
# tokens/s as hearth train reports it and the peak resident memory.
# EXTRA: more `hearth train` options, e.g. EXTRA=--recompute.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
threads=${2:-2}
shift 2 2>/dev/null || shift $#
steps=${STEPS:-4}
extra=${EXTRA:-}
models="$*"
big=/tmp/hearth-tinyllama-f16.gguf
[ -n "$models" ] || models="$here/tests/data/models/licenses-llama-f16.gguf $big"

cmake --build "$build" --target hearth_cli hearth_make_model >/dev/null
case " $models " in *" $big "*)
    [ -f "$big" ] || { echo "writing $big (random weights, ~2.2 GB)..."; "$build/tests/model/hearth_make_model" "$big"; } ;;
esac

# 256-token text records cut from the GPL-3 text (awk: no Python)
data=$(mktemp /tmp/hearth-train-bench-XXXXXX.jsonl)
awk 'BEGIN { RS = "\n\n" } { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\n/, "\\n"); buf = buf $0 "\\n\\n";
     if (length(buf) > 1400) { printf "{\"text\": \"%s\"}\n", buf; buf = "" } }' \
    "$here/tests/data/reference/gpl3.txt" > "$data"

for m in $models; do
    out=$(mktemp /tmp/hearth-train-bench-XXXXXX.gguf)
    /usr/bin/time -f "peak RSS %M KB" "$build/hearth" train -m "$m" --data "$data" -o "$out" --ctx 256 \
        --lora-r 8 --lora-targets q,v --batch 1 --eval-split 0 --max-steps "$steps" -t "$threads" $extra 2>&1 |
        grep -E "^lora:|wrote|peak RSS" | sed "s|^|$(basename "$m"): |"
    rm -f "$out" "$out.tmp"
done
rm -f "$data"
