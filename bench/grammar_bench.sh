#!/bin/sh
# bench/grammar_bench.sh — token-mask time of constrained decoding on the
# schemas in bench/grammar/ with deepseek-llm's 102,400-token vocabulary:
# hearth (`hearth grammar bench`) and, when node and bench/xgrammar's npm
# package are there (cd bench/xgrammar && npm ci), XGrammar's WebAssembly
# build on the same forced tokens, side by side.
#
#   bench/grammar_bench.sh [BUILD_DIR]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
vocab=$here/tests/data/vocab/ggml-vocab-deepseek-llm.gguf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in "$here"/bench/grammar/*.schema.json; do
  name=$(basename "$s" .schema.json)
  inst=$here/bench/grammar/$name.instance.json
  printf '%-8s hearth    ' "$name"
  "$build/hearth" grammar bench --schema "$s" -m "$vocab" --instance "$inst" --dump-vocab "$tmp/v.json" --json | tail -1
  if command -v node >/dev/null && [ -d "$here/bench/xgrammar/node_modules" ]; then
    printf '%-8s xgrammar  ' "$name"
    node "$here/bench/xgrammar/xgrammar_bench.mjs" "$s" "$tmp/v.json" || echo "(failed)"
  fi
done
