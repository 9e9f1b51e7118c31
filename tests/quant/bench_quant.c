/*
 * bench_quant.c — throughput of the quantized vec_dot kernels (not a test):
 * a ROWS x COLS matrix-vector product, single thread, per type and per
 * instruction set, reported as GB/s of weight bytes read and ns per row.
 *
 *   bench_quant [rows cols]        (default 4096 4096)
 *
 * The matrix (rows * row bytes, 9-36 MB at 4096 x 4096) is larger than the
 * caches, so the figures include streaming the weights from memory.
 */
#include "kernels/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint32_t TYPES[] = {HEARTH_TYPE_Q4_0, HEARTH_TYPE_Q4_1, HEARTH_TYPE_Q5_0, HEARTH_TYPE_Q5_1,
                                 HEARTH_TYPE_Q8_0, HEARTH_TYPE_Q2_K, HEARTH_TYPE_Q3_K, HEARTH_TYPE_Q4_K,
                                 HEARTH_TYPE_Q5_K, HEARTH_TYPE_Q6_K};

int main(int argc, char **argv) {
    int64_t rows = argc > 2 ? atoll(argv[1]) : 4096, cols = argc > 2 ? atoll(argv[2]) : 4096;
    if (rows <= 0 || cols <= 0 || cols % 256) {
        fprintf(stderr, "usage: bench_quant [rows cols]  (cols a multiple of 256)\n");
        return 2;
    }
    float *row = malloc(sizeof(float) * cols), *x = malloc(sizeof(float) * cols);
    unsigned s = 1;
    for (int64_t i = 0; i < cols; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = ((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    printf("%lld x %lld matrix-vector, 1 thread; GB/s of weights (ns per row)\n", (long long)rows, (long long)cols);
    printf("%-6s %8s", "type", "MB");
    for (int isa = 0; isa < HEARTH_ISA_COUNT; isa++) printf(" %20s", hearth_isa_name((hearth_isa)isa));
    printf("\n");
    for (size_t t = 0; t < sizeof TYPES / sizeof TYPES[0]; t++) {
        const hearth_type_traits *ref = hearth_type_traits_isa(TYPES[t], HEARTH_ISA_REF);
        if (!ref || !ref->vec_dot) continue;
        size_t rb = hearth_row_size(TYPES[t], cols);
        uint8_t *W = malloc(rb * rows);
        void *a = malloc(hearth_row_size(ref->vec_dot_type, cols));
        for (int64_t r = 0; r < rows; r++) {
            for (int64_t i = 0; i < cols; i++) {
                s = s * 1103515245u + 12345u;
                row[i] = ((s >> 8) & 0xffff) / 32768.0f - 1.0f;
            }
            ref->from_float(row, W + r * rb, cols);
        }
        hearth_type_traits_isa(ref->vec_dot_type, HEARTH_ISA_REF)->from_float(x, a, cols);
        printf("%-6s %8.1f", hearth_type_get(TYPES[t])->name, rb * rows / 1e6);
        for (int isa = 0; isa < HEARTH_ISA_COUNT; isa++) {
            const hearth_type_traits *tt = hearth_type_traits_isa(TYPES[t], (hearth_isa)isa);
            if (!tt) {
                printf(" %20s", "-");
                continue;
            }
            volatile float sink = 0;
            double best = 1e30;
            int reps = isa == HEARTH_ISA_REF ? 2 : 6;
            for (int rep = 0; rep < reps; rep++) {
                double t0 = hearth_time_s();
                float acc = 0;
                for (int64_t r = 0; r < rows; r++) acc += tt->vec_dot(cols, W + r * rb, a);
                double dt = hearth_time_s() - t0;
                sink += acc;
                if (dt < best) best = dt;
            }
            char cell[32];
            snprintf(cell, sizeof cell, "%.1f (%.0f)", rb * rows / best / 1e9, best / rows * 1e9);
            printf(" %20s", cell);
            (void)sink;
        }
        /* prefill: vec_dot4 over 4 activation rows, GB/s of weights x 4 rows */
        const hearth_type_traits *best_tt = hearth_type_traits_get(TYPES[t]);
        if (best_tt->vec_dot4) {
            size_t ab = hearth_row_size(ref->vec_dot_type, cols);
            char *a4 = malloc(ab * 4);
            for (int k = 0; k < 4; k++) memcpy(a4 + k * ab, a, ab);
            double best = 1e30;
            volatile float sink = 0;
            for (int rep = 0; rep < 4; rep++) {
                double t0 = hearth_time_s();
                float out[4];
                for (int64_t r = 0; r < rows; r++) {
                    best_tt->vec_dot4(cols, W + r * rb, a4, ab, 4, out);
                    sink += out[0];
                }
                double dt = hearth_time_s() - t0;
                if (dt < best) best = dt;
            }
            (void)sink;
            printf("   dot4 %s: %.1f GMAC/s (%.0f ns per row x 4)", hearth_isa_name(hearth_kernels_isa()),
                   4.0 * rows * cols / best / 1e9, best / rows * 1e9);
            free(a4);
        }
        printf("\n");
        fflush(stdout);
        free(W), free(a);
    }
    free(row), free(x);
    return 0;
}
