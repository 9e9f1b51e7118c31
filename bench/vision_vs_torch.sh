#!/usr/bin/env bash
# hearth vision train (its defaults, 2 threads) against a PyTorch CNN
# (2 conv + 2 fc, Debian's python3-torch, 2 threads) in the same wall time on
# Fashion-MNIST (Debian's dataset-fashion-mnist).
#
#   bench/vision_vs_torch.sh [build/hearth]
#
# 1. PyTorch's training speed is probed for 30 s (steps/s),
# 2. hearth trains with its defaults; its wall time T is the budget,
# 3. PyTorch's speed is probed again for 30 s (the load did not change much if
#    the two probes agree),
# 4. PyTorch trains for T seconds of wall time and is tested,
# 5. hearth's model is tested. Both on the 10,000 test images.
# Run it niced on a shared machine and say so next to the figures.
set -euo pipefail
HEARTH=${1:-build/hearth}
D=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
PY=${PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export THREADS=2
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
before=$($PY "$HERE/vision_torch.py" probe 30)
echo "pytorch probe before: $before"
t0=$(date +%s.%N)
"$HEARTH" vision train --data "$D/train-images-idx3-ubyte.gz" --labels "$D/train-labels-idx1-ubyte.gz" \
  -o "$OUT/clf.gguf" -t 2 -q
t1=$(date +%s.%N)
T=$(echo "$t1 - $t0" | bc)
echo "hearth trained in ${T} s"
after=$($PY "$HERE/vision_torch.py" probe 30)
echo "pytorch probe after:  $after"
torch=$($PY "$HERE/vision_torch.py" train "$T")
echo "pytorch in ${T} s:     $torch"
hearth=$("$HEARTH" vision eval -m "$OUT/clf.gguf" --data "$D/t10k-images-idx3-ubyte.gz" \
  --labels "$D/t10k-labels-idx1-ubyte.gz" --json -t 2)
echo "hearth:                $hearth"
ha=$(echo "$hearth" | sed 's/.*"accuracy": \([0-9.]*\).*/\1/')
ta=$(echo "$torch" | sed 's/.*"accuracy": \([0-9.]*\).*/\1/')
echo
printf "%-34s %10s %10s\n" "Fashion-MNIST test accuracy" "hearth" "pytorch"
printf "%-34s %10s %10s\n" "same wall time (${T%.*} s, 2 threads)" "$ha" "$ta"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
