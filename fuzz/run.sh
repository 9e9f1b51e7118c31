#!/usr/bin/env bash
# fuzz/run.sh [TARGET] [SECONDS] [libFuzzer args...] — builds a fuzz target
# with clang (libFuzzer, AddressSanitizer, UndefinedBehaviorSanitizer) in
# build-fuzz/ and runs it for SECONDS (default 60) on its seed corpus
# fuzz/corpus/TARGET. TARGET: any fuzz/fuzz_TARGET.c (gguf is the default); scripts/ci-checks.sh
# fuzz runs them all.
# New inputs go to fuzz/corpus-run/TARGET (not committed); crashes to
# fuzz/crash-TARGET-*. Example: fuzz/run.sh tokenize 600 -jobs=2
set -euo pipefail
target=gguf
if [ -n "${1:-}" ] && [ -f "$(dirname "$0")/fuzz_$1.c" ]; then target=$1; shift; fi
secs=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HEARTH_FUZZ_BUILD:-$root/build-fuzz}
command -v clang >/dev/null || { echo "fuzz/run.sh: clang is needed (apt-get install clang)" >&2; exit 1; }
CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHEARTH_FUZZ=ON \
  -DHEARTH_ASAN=ON -DHEARTH_UBSAN=ON -DHEARTH_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target "fuzz_$target" -j2 >/dev/null
mkdir -p "$root/fuzz/corpus-run/$target" "$root/fuzz/corpus/$target"
exec "$build/fuzz/fuzz_$target" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$root/fuzz/crash-$target-" -print_final_stats=1 "$@" \
  "$root/fuzz/corpus-run/$target" "$root/fuzz/corpus/$target"
