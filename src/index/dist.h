/*
 * dist.h — distance kernels of the vector index (internal).
 *
 * A table of kernels per instruction set, chosen once at start-up
 * (idx_dist_get: AVX-512 when the CPU has it, else AVX2+FMA, else the scalar
 * reference; HEARTH_FORCE_REFERENCE=1 forces the reference). The scalar
 * versions in dist.c are the specification; tests compare the others with
 * them.
 *
 *   dot_f32(a, b, n)  = sum_i a[i] * b[i]                      (float)
 *   l2sq_f32(a, b, n) = sum_i (a[i] - b[i])^2                   (float)
 *   dot_i8(a, b, n)   = sum_i a[i] * b[i]   a, b in [-127, 127] (exact int32)
 * n is any length (no padding needed); the fast versions may sum in another
 * order (float results agree to rounding, int8 results exactly).
 */
#ifndef HEARTH_INDEX_DIST_H
#define HEARTH_INDEX_DIST_H

#include <stdint.h>

typedef struct idx_dist_ops {
    const char *name;   /* "reference", "avx2", "avx512" */
    float (*dot_f32)(const float *a, const float *b, int64_t n);
    float (*l2sq_f32)(const float *a, const float *b, int64_t n);
    int32_t (*dot_i8)(const int8_t *a, const int8_t *b, int64_t n);
} idx_dist_ops;

const idx_dist_ops *idx_dist_get(void);        /* the fastest the CPU runs (chosen once) */
const idx_dist_ops *idx_dist_reference(void);
const idx_dist_ops *idx_dist_avx2(void);       /* NULL when the CPU lacks AVX2/FMA */
const idx_dist_ops *idx_dist_avx512(void);     /* NULL when the CPU lacks AVX-512 F/BW */

/* provided by dist_avx2.c / dist_avx512.c (compiled with their flags) */
extern const idx_dist_ops idx_dist_ops_avx2;
extern const idx_dist_ops idx_dist_ops_avx512;

#endif
