#!/usr/bin/env bash
# The factory line in one command: fit a detector on good parts, watch a
# folder a camera writes into, alert a webhook on each defect (the receiver
# starts late: alerts wait in a queue on disk and are delivered by retries),
# expose Prometheus metrics, and write the shift report as a PDF.
#
#   examples/factory/run.sh [path/to/hearth]      (from the repository root)
#
# Parts: 64x64 tiles of a brushed-metal surface with synthetic scratches,
# blobs, cracks, pasted patches and smudges (tests/data/qc/metal, CC0).
set -euo pipefail
HEARTH=${1:-build/hearth}
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$HERE/../../tests/data/qc/metal
OUT=${OUT:-/tmp/hearth-factory}
PORT=${PORT:-18931}
MPORT=${MPORT:-18932}
rm -rf "$OUT" && mkdir -p "$OUT/incoming"

echo "== 1. fit on good parts only"
"$HEARTH" qc fit --good "$DATA/train/good" --val "$DATA/val" -o "$OUT/qc.gguf"

echo "== 2. the line: watch $OUT/incoming"
"$HEARTH" qc watch -m "$OUT/qc.gguf" "$OUT/incoming" --webhook "http://127.0.0.1:$PORT/alerts" \
  --queue "$OUT/alert-queue" --metrics-port "$MPORT" --title "Line 3, early shift" \
  --shift-report "$OUT/shift.pdf" > "$OUT/results.jsonl" &
WATCH=$!
trap 'kill $WATCH $RECV 2>/dev/null || true' EXIT
RECV=
sleep 1

echo "== 3. the camera: 40 parts (20 good, 20 defective), receiver down for the first half"
i=0
for f in $(paste -d'\n' <(ls "$DATA"/test/good/*.png) <(ls "$DATA"/test/bad/*.png)); do
  i=$((i + 1))
  cp "$f" "$OUT/part.tmp" && mv "$OUT/part.tmp" "$OUT/incoming/part$(printf %03d $i).png"
  if [ $i -eq 20 ]; then
    echo "   queued while the receiver is down: $(ls "$OUT/alert-queue" | wc -l) alerts"
    python3 "$HERE/receiver.py" "$PORT" "$OUT/alerts.jsonl" &
    RECV=$!
  fi
  sleep 0.1
done
echo "   a broken file from the camera (logged and skipped):"
echo "not an image" > "$OUT/incoming/part999.png"
sleep 3

echo "== 4. metrics (Prometheus text)"
curl -s "http://127.0.0.1:$MPORT/metrics" | grep -v '^#'

echo "== 5. end of shift"
kill -TERM $WATCH; wait $WATCH || true
kill $RECV 2>/dev/null || true
echo "results: $(wc -l < "$OUT/results.jsonl") parts scored, $(grep -c '"anomalous": true' "$OUT/results.jsonl") defects"
echo "alerts delivered to the webhook: $(wc -l < "$OUT/alerts.jsonl"); still queued: $(ls "$OUT/alert-queue" | wc -l)"
echo "first alert: $(head -1 "$OUT/alerts.jsonl")"
echo "shift report: $OUT/shift.pdf"
