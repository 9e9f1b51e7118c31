#!/usr/bin/env bash
# Sets hearth up on a fresh Debian 12 machine and runs its main job once:
# installs the Debian packages, builds in ./build, and generates text with the
# default model that ships in models/ (a small chat model hearth trained
# itself): one question through `hearth chat`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
echo "built: $(pwd)/build/hearth"
echo "> What is hearth?"
printf 'What is hearth?\n' | build/hearth chat -n 96
