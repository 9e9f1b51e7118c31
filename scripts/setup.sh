#!/usr/bin/env bash
# Sets hearth up on a fresh Debian 12 machine and runs its main job once:
# installs the Debian packages, builds in ./build, and generates text with the
# default model (or, until hearth ships its own default chat model, with the
# small licence-text model under tests/data/models).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
echo "built: $(pwd)/build/hearth"
if [ -f models/hearth-default.gguf ]; then
  build/hearth run -p "Hello! What can you do?" -n 64
else
  build/hearth run -m tests/data/models/licenses-llama-f16.gguf -p "GNU GENERAL PUBLIC LICENSE" -n 64 --temp 0
fi
