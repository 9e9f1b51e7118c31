/*
 * axpy_impl.h — the inner loops of the backward matmuls, compiled twice:
 * by kernels_train.c (portable, the reference) and by kernels_train_avx2.c
 * (with -mavx2 -mfma, auto-vectorized to 256-bit FMAs). Names get AXPY_SFX.
 * No include guard: included once per instruction set.
 */
#include <math.h>
#include <stddef.h>
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


/* dot product with 8 partial sums (a fixed order; vectorizes without -ffast-math) */
HOT static inline float AXPY_NAME(dot8)(const float *restrict x, const float *restrict y, int64_t K) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t k = 0;
    for (; k + 8 <= K; k += 8)
        for (int l = 0; l < 8; l++) acc[l] += x[k + l] * y[k + l];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; k < K; k++) s += x[k] * y[k];
    return s;
}

/* causal GQA attention backward for the heads of KV groups [g0, g1) — the maths of
 * attention_backward (ops_impl.h), with the head-dimension loops split into
 * dot products and axpys so that they vectorize */
HOT void AXPY_NAME(attn_bwd)(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                             const float *v, const float *att, const int32_t *start, int T, int H, int KVH,
                             int hd, int g0, int g1, float *scratch) {
    int group = H / KVH;
    size_t qs = (size_t)H * hd, ks = (size_t)KVH * hd;
    float scale = (float)(1.0 / sqrt((double)hd));
    for (int h = g0 * group; h < g1 * group; h++) {
        int g = h / group;
        for (int t = 0; t < T; t++) {
            const float *a = att + ((size_t)h * T + t) * T;
            const float *go = dout + t * qs + (size_t)h * hd, *qt = q + t * qs + (size_t)h * hd;
            float *da = scratch, dsum = 0;
            int s0 = start ? start[t] : 0;
            for (int j = s0; j <= t; j++) {
                da[j] = AXPY_NAME(dot8)(go, v + j * ks + (size_t)g * hd, hd);
                AXPY_NAME(axpy1)(dv + j * ks + (size_t)g * hd, go, a[j], hd);
                dsum += a[j] * da[j];
            }
            float *dqt = dq + t * qs + (size_t)h * hd;
            for (int j = s0; j <= t; j++) {
                float dp = a[j] * (da[j] - dsum) * scale;
                AXPY_NAME(axpy1)(dqt, k + j * ks + (size_t)g * hd, dp, hd);
                AXPY_NAME(axpy1)(dk + j * ks + (size_t)g * hd, qt, dp, hd);
            }
        }
    }
}
