#!/usr/bin/env bash
# The finance report in one command: 24 months of revenue, costs and profit
# (generated data, examples/finance/monthly.csv) -> an HTML report and a PDF
# with charts drawn by hearth. With HEARTH_MODEL (or -m in the command) set
# to a chat model, the summary section is written by the model and the
# figures it cites are checked against the data.
#
#   examples/finance/run.sh [path/to/hearth]      (from the repository root)
set -euo pipefail
HEARTH=${1:-build/hearth}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/hearth-finance}
mkdir -p "$OUT"
MODEL=()
if [ -n "${REPORT_MODEL:-}" ]; then MODEL=(-m "$REPORT_MODEL"); fi
"$HEARTH" report --template "$HERE/monthly.jinja" --data "$HERE/monthly.csv" --title "Monthly report 2024-2025" \
  "${MODEL[@]}" -o "$OUT/monthly.pdf" --html "$OUT/monthly.html"
echo "report: $OUT/monthly.html and $OUT/monthly.pdf"
