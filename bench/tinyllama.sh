#!/bin/sh
# bench/tinyllama.sh — decode speed on a TinyLlama-1.1B-shaped model with
# random F16 weights (dim 2048, 22 layers, 32 heads / 4 KV heads, ffn 5632,
# vocab 32000; ~2.2 GB, written to /tmp and never committed), compared with
# this machine's memory read bandwidth.
#
#   bench/tinyllama.sh [BUILD_DIR] [THREADS]      (defaults: build, 2)
#
# Environment: MODEL (default /tmp/hearth-tinyllama-f16.gguf), P (prompt
# tokens, default 128), N (generated tokens, default 64).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
threads=${2:-2}
model=${MODEL:-/tmp/hearth-tinyllama-f16.gguf}
P=${P:-128}
N=${N:-64}

cmake --build "$build" --target hearth_cli hearth_make_model >/dev/null
if [ ! -f "$model" ]; then
    echo "writing $model (random weights, ~2.2 GB)..."
    "$build/tests/model/hearth_make_model" "$model"
fi

# memory read bandwidth: sum a 1 GiB buffer with $threads threads (best of 5)
bw=$(mktemp -d)
cat > "$bw/bw.c" <<'C'
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define SZ (1ull << 30)
static char *buf; static int nth; static float sink[64];
static void *run(void *a) {
    long i = (long)a; size_t n = SZ / nth; const __m256 *p = (const __m256 *)(buf + i * n);
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t k = 0; k < n / 32; k += 4) {
        s0 = _mm256_add_ps(s0, p[k]); s1 = _mm256_add_ps(s1, p[k + 1]);
        s2 = _mm256_add_ps(s2, p[k + 2]); s3 = _mm256_add_ps(s3, p[k + 3]);
    }
    float o[8]; _mm256_storeu_ps(o, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (int k = 0; k < 8; k++) sink[i] += o[k];
    return NULL;
}
int main(int c, char **v) {
    nth = atoi(v[1]); buf = aligned_alloc(64, SZ); memset(buf, 1, SZ);
    double best = 0;
    for (int r = 0; r < 5; r++) {
        struct timespec a, b; pthread_t t[64];
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (long i = 0; i < nth; i++) pthread_create(&t[i], 0, run, (void *)i);
        for (int i = 0; i < nth; i++) pthread_join(t[i], 0);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9, g = SZ / s / 1e9;
        if (g > best) best = g;
    }
    fprintf(stderr, "(checksum %g)\n", (double)sink[0]);
    printf("%.2f\n", best); return 0;
}
C
cc -O2 -mavx2 -pthread "$bw/bw.c" -o "$bw/bw"
gbs=$("$bw/bw" "$threads")
rm -rf "$bw"

"$build/hearth" bench -m "$model" -p "$P" -n "$N" -t "$threads"
json=$("$build/hearth" bench -m "$model" -p 0 -n "$N" -t "$threads" --json)
echo "$json"
python3 - "$json" "$gbs" <<'PY'
import json, sys
j = json.loads(sys.argv[1]); bw = float(sys.argv[2])
limit = bw * 1e9 / j["weight_bytes_per_token"]
print(f"memory read bandwidth ({j['threads']} threads): {bw:.2f} GB/s -> limit {limit:.2f} tokens/s "
      f"for {j['weight_bytes_per_token']/1e9:.3f} GB per token; measured {j['tg_tokens_per_s']:.2f} tokens/s "
      f"({100 * j['tg_tokens_per_s'] / limit:.0f}% of the limit)")
PY
