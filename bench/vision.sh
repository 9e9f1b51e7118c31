#!/bin/sh
# bench/vision.sh — image encode time per image: hearth and llama.cpp's clip
# (llama-mtmd-cli) on the same ViT-B/16-shaped random mmproj files (224 x 224,
# patch 16, dim 768, 12 blocks run, LLaVA mlp projector to 64 = the embedding
# size of tests/data/models/tiny-llama-spm-f16.gguf, which mtmd needs as its
# text model), F16 and Q8_0, alternating runs of the two in one script.
#
#   bench/vision.sh [BUILD_DIR]        (default: build)
#
# Environment:
#   LLAMA_CPP   llama.cpp build with bin/llama-mtmd-cli (default /work/ref/llama.cpp/build)
#   THREADS     (default 2)   REPS   rounds (default 3)   BENCH_DIR (default /tmp)
#   TYPES       (default "f16 q8_0")
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
llama=${LLAMA_CPP:-/work/ref/llama.cpp/build}
dir=${BENCH_DIR:-/tmp}
T=${THREADS:-2}
REPS=${REPS:-3}
TYPES=${TYPES:-"f16 q8_0"}
img=$here/tests/data/vision/chelsea.png
lm=$here/tests/data/models/tiny-llama-spm-f16.gguf
cmake --build "$build" --target bench_clip >/dev/null
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); threads $T"
for t in $TYPES; do
    f="$dir/hearth-vitb16-$t.gguf"
    [ -f "$f" ] || "$build/bench/bench_clip" make "$f" "$t"
    echo "== $t ($(du -m "$f" | cut -f1) MiB)"
    for r in $(seq "$REPS"); do
        out=$("$build/bench/bench_clip" time "$f" "$img" "$T" 3)
        h1=$(echo "$out" | awk '/^encode/ {print $2; exit}')   # the first encode (llama.cpp's figure is its one encode)
        hb=$(echo "$out" | awk '/^best/ {print $2}')
        l=-
        if [ -x "$llama/bin/llama-mtmd-cli" ]; then
            l=$("$llama/bin/llama-mtmd-cli" -m "$lm" --mmproj "$f" --image "$img" -p "x" -n 1 -t "$T" --temp 0 --chat-template vicuna \
                   2>&1 | awk '/encoded in|encoding done in/ {print $(NF-1) / 1000}' | head -1)
        fi
        echo "round $r: hearth $h1 s (best of 3: $hb s)   llama.cpp $l s   per image"
    done
done
