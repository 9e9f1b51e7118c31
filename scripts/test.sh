#!/usr/bin/env bash
# Builds hearth and runs the default test suite (everything but label `slow`).
# Extra arguments go to ctest, e.g. `scripts/test.sh -L golden` or `-R tokenizer`.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
if [ $# -eq 0 ]; then set -- -LE slow; fi
ctest --test-dir build --output-on-failure -j"$jobs" "$@"
