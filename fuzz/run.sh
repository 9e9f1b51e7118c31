#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] — builds the GGUF fuzz target with clang (libFuzzer,
# AddressSanitizer, UndefinedBehaviorSanitizer) in build-fuzz/ and runs it for
# SECONDS (default 60) on the seed corpus fuzz/corpus/gguf. New inputs go to
# fuzz/corpus-run/gguf (not committed); crashes to fuzz/crash-gguf-*.
# Extra arguments after SECONDS are passed to libFuzzer (e.g. -jobs=2).
set -euo pipefail
secs=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HEARTH_FUZZ_BUILD:-$root/build-fuzz}
command -v clang >/dev/null || { echo "fuzz/run.sh: clang is needed (apt-get install clang)" >&2; exit 1; }
CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHEARTH_FUZZ=ON \
  -DHEARTH_ASAN=ON -DHEARTH_UBSAN=ON -DHEARTH_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target fuzz_gguf -j2 >/dev/null
mkdir -p "$root/fuzz/corpus-run/gguf"
exec "$build/fuzz/fuzz_gguf" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$root/fuzz/crash-gguf-" -print_final_stats=1 "$@" \
  "$root/fuzz/corpus-run/gguf" "$root/fuzz/corpus/gguf"
