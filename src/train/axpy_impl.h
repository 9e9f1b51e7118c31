/*
 * axpy_impl.h — the inner loops of the backward matmuls, compiled twice:
 * by kernels_train.c (portable, the reference) and by kernels_train_avx2.c
 * (with -mavx2 -mfma, auto-vectorized to 256-bit FMAs). Names get AXPY_SFX.
 * No include guard: included once per instruction set.
 */
#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__)
#define HOT __attribute__((optimize("O3")))
#else
#define HOT
#endif
#define AXPY_CAT2(a, b) a##b
#define AXPY_CAT(a, b) AXPY_CAT2(a, b)
#define AXPY_NAME(n) AXPY_CAT(n, AXPY_SFX)

/* y[k] += sum_i a[i] * x[i][k], i < 8 (rows 8 * K apart... given as pointers) */
HOT void AXPY_NAME(axpy8)(float *restrict y, const float *restrict x, int64_t stride, const float a[8], int64_t K) {
    const float a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4], a5 = a[5], a6 = a[6], a7 = a[7];
    const float *x0 = x, *x1 = x + stride, *x2 = x + 2 * stride, *x3 = x + 3 * stride;
    const float *x4 = x + 4 * stride, *x5 = x + 5 * stride, *x6 = x + 6 * stride, *x7 = x + 7 * stride;
    for (int64_t k = 0; k < K; k++)
        y[k] += a0 * x0[k] + a1 * x1[k] + a2 * x2[k] + a3 * x3[k] + a4 * x4[k] + a5 * x5[k] + a6 * x6[k] +
                a7 * x7[k];
}

HOT void AXPY_NAME(axpy1)(float *restrict y, const float *restrict x, float a, int64_t K) {
    for (int64_t k = 0; k < K; k++) y[k] += a * x[k];
}

