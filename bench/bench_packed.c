/*
 * bench_packed.c — the packed-weight matmul (src/kernels/packed.c) against
 * the row-by-row driver (hearth_matmul) on the same matrix, per type and
 * activation row count: GMAC/s of each and their ratio, best of REPS,
 * the two alternating so that a change in the machine's load hits both.
 *
 *   bench_packed [K=2048] [N=2048] [THREADS=1] [REPS=5]
 *
 * At the default size the weights (2-9 MB) sit in the last-level cache, so
 * this measures the kernels; a large N (e.g. 65536) streams them from memory.
 */
#include "kernels/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    const int64_t K = argc > 1 ? atoll(argv[1]) : 2048, N = argc > 2 ? atoll(argv[2]) : 2048;
    const int threads = argc > 3 ? atoi(argv[3]) : 1, reps = argc > 4 ? atoi(argv[4]) : 5;
    static const uint32_t types[] = {HEARTH_TYPE_Q4_0, HEARTH_TYPE_Q8_0, HEARTH_TYPE_Q4_K, HEARTH_TYPE_Q6_K};
    static const int64_t Ts[] = {1, 8, 128, 256};
    if (K <= 0 || N <= 0 || K % 256 || N % 4 || threads <= 0 || reps <= 0) {
        fprintf(stderr, "usage: bench_packed [K (a multiple of 256)] [N (a multiple of 4)] [THREADS] [REPS]\n");
        return 2;
    }
    if (!hearth_pack_supported(HEARTH_TYPE_Q4_0, K, N)) {
        fprintf(stderr, "bench_packed: packed weights are not used on this CPU (no AVX-512 VNNI) or HEARTH_NO_REPACK is set\n");
        return 1;
    }
    hearth_pool *pool = hearth_pool_create(threads);
    float *X = malloc(sizeof(float) * (size_t)K * 256), *Y = malloc(sizeof(float) * (size_t)N * 256);
    float *row = malloc(sizeof(float) * (size_t)K);
    unsigned s = 7;
    for (int64_t i = 0; i < K * 256; i++) {
        s = s * 1103515245u + 12345u;
        X[i] = ((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    printf("K %lld, N %lld, %d thread(s), best of %d; GMAC/s\n", (long long)K, (long long)N, threads, reps);
    printf("%-6s %5s %12s %12s %8s\n", "type", "T", "row driver", "packed", "ratio");
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const uint32_t type = types[ti];
        const hearth_type_traits *tt = hearth_type_traits_get(type);
        size_t rb = hearth_row_size(type, K);
        uint8_t *W = malloc(rb * (size_t)N);
        for (int64_t r = 0; r < N; r++) {
            for (int64_t i = 0; i < K; i++) {
                s = s * 1103515245u + 12345u;
                row[i] = (((s >> 8) & 0xffff) / 32768.0f - 1.0f) * 0.05f;
            }
            tt->from_float(row, W + (size_t)r * rb, K);
        }
        void *P = aligned_alloc(64, (hearth_pack_size(type, K, N) + 63) / 64 * 64);
        hearth_pack(type, W, K, N, P);
        size_t w1 = hearth_matmul_work_size(type, 256, K), w2 = hearth_matmul_packed_work_size(256, K);
        void *work = malloc(w1 > w2 ? w1 : w2);
        for (size_t k = 0; k < sizeof Ts / sizeof Ts[0]; k++) {
            const int64_t T = Ts[k];
            double best[2] = {1e30, 1e30};
            for (int r = 0; r < reps; r++)
                for (int v = 0; v < 2; v++) {
                    double t0 = hearth_time_s();
                    if (v == 0) hearth_matmul(pool, Y, X, W, type, T, K, N, work);
                    else hearth_matmul_packed(pool, Y, X, P, type, T, K, N, work);
                    double dt = hearth_time_s() - t0;
                    if (dt < best[v]) best[v] = dt;
                }
            double macs = (double)K * N * T;
            printf("%-6s %5lld %12.1f %12.1f %7.2fx\n", hearth_type_get(type)->name, (long long)T, macs / best[0] / 1e9,
                   macs / best[1] / 1e9, best[0] / best[1]);
            fflush(stdout);
        }
        free(W), free(P), free(work);
    }
    free(X), free(Y), free(row);
    hearth_pool_free(pool);
    return 0;
}
