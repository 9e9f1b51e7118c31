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

/* 32 floats of accumulators as four 8-lane vectors (GCC/Clang vector extensions: locals of this
 * type stay in registers, 256-bit ones in the AVX2 build) */
#ifndef AXPY_V8_DEFINED
#define AXPY_V8_DEFINED
#include <string.h>
typedef float axpy_v8 __attribute__((vector_size(32)));
typedef struct axpy_acc32 {
    axpy_v8 v[4];
} axpy_acc32;
#endif

/* acc += a * x[0..32) */
HOT static inline void AXPY_NAME(acc32)(axpy_acc32 *acc, const float *x, float a) {
    for (int i = 0; i < 4; i++) {
        axpy_v8 v;
        memcpy(&v, x + 8 * i, sizeof v);
        acc->v[i] += a * v;
    }
}

/* y[0..n) += acc (n <= 32) */
static inline void AXPY_NAME(add32)(float *y, const axpy_acc32 *acc, int n) {
    float tmp[32];
    /* acc->v is four 32-byte vectors = 128 bytes = sizeof tmp (cppcheck sizes a vector type as one float) */
    // cppcheck-suppress bufferAccessOutOfBounds
    memcpy(tmp, acc->v, sizeof tmp);
    for (int e = 0; e < n; e++) y[e] += tmp[e];
}

/* causal GQA attention backward for the heads of KV groups [g0, g1) — the maths of
 * attention_backward (ops_impl.h) in two passes per head, each accumulating into
 * registers (32 head-dimension values at a time; a tail of hd % 32 by axpys)
 * instead of re-reading and re-writing gradient rows:
 *   rows t:     dP[t][j] = dO_t . v_j (j in t's record, j <= t), dS = P (dP - sum_j P dP) / sqrt(hd),
 *               dq_t += sum_j dS[t][j] k_j
 *   columns j:  dv_j += sum_t P[t][j] dO_t,  dk_j += sum_t dS[t][j] q_t  (the rows t that see key j)
 * scratch holds T * T + T floats (this head's dS and one row of dP). */
HOT void AXPY_NAME(attn_bwd)(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                             const float *v, const float *att, const int32_t *start, int T, int H, int KVH,
                             int hd, int g0, int g1, float *scratch) {
    int group = H / KVH;
    size_t qs = (size_t)H * hd, ks = (size_t)KVH * hd;
    float scale = (float)(1.0 / sqrt((double)hd));
    float *ds = scratch, *da = scratch + (size_t)T * T;
    for (int h = g0 * group; h < g1 * group; h++) {
        const size_t ho = (size_t)h * hd, kvo = (size_t)(h / group) * hd;
        const float *P = att + (size_t)h * T * T;
        for (int t = 0; t < T; t++) {
            const float *a = P + (size_t)t * T, *go = dout + t * qs + ho;
            float *dst = ds + (size_t)t * T, dsum = 0;
            int s0 = start ? start[t] : 0;
            for (int j = s0; j <= t; j++) {
                da[j] = AXPY_NAME(dot8)(go, v + j * ks + kvo, hd);
                dsum += a[j] * da[j];
            }
            for (int j = s0; j <= t; j++) dst[j] = a[j] * (da[j] - dsum) * scale;
            float *dqt = dq + t * qs + ho;
            int d0 = 0;
            for (; d0 + 32 <= hd; d0 += 32) {
                axpy_acc32 acc = {{{0}}};
                for (int j = s0; j <= t; j++) AXPY_NAME(acc32)(&acc, k + j * ks + kvo + d0, dst[j]);
                AXPY_NAME(add32)(dqt + d0, &acc, 32);
            }
            for (int j = s0; d0 < hd && j <= t; j++) AXPY_NAME(axpy1)(dqt + d0, k + j * ks + kvo + d0, dst[j], hd - d0);
        }
        for (int j = 0; j < T; j++) {
            float *dvj = dv + j * ks + kvo, *dkj = dk + j * ks + kvo;
            int t1 = j;   /* the rows that see key j: j .. t1 - 1 */
            while (t1 < T && (!start || start[t1] <= j)) t1++;
            int d0 = 0;
            for (; d0 + 32 <= hd; d0 += 32) {
                axpy_acc32 av = {{{0}}}, ak = {{{0}}};
                for (int t = j; t < t1; t++) {
                    AXPY_NAME(acc32)(&av, dout + t * qs + ho + d0, P[(size_t)t * T + j]);
                    AXPY_NAME(acc32)(&ak, q + t * qs + ho + d0, ds[(size_t)t * T + j]);
                }
                AXPY_NAME(add32)(dvj + d0, &av, 32);
                AXPY_NAME(add32)(dkj + d0, &ak, 32);
            }
            for (int t = j; d0 < hd && t < t1; t++) {
                AXPY_NAME(axpy1)(dvj + d0, dout + t * qs + ho + d0, P[(size_t)t * T + j], hd - d0);
                AXPY_NAME(axpy1)(dkj + d0, q + t * qs + ho + d0, ds[(size_t)t * T + j], hd - d0);
            }
        }
    }
}
