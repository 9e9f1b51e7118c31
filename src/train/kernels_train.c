/*
 * kernels_train.c — the backward matmuls, threaded over the trainer's pool,
 * and the trainer's random numbers.
 *
 *   dx (T, K) += dy (T, N) @ W (N, K)       W frozen in any type: each thread
 *                                           takes a range of W's rows,
 *                                           dequantizes 8 at a time
 *                                           (to_float) and accumulates into
 *                                           its own (T, K) buffer; the
 *                                           buffers are summed in thread
 *                                           order (deterministic).
 *   dW (N, K) += a * dy^T (N, T) @ x (T, K)  threads take ranges of rows n.
 *
 * The inner loop adds 8 scaled rows to one accumulator row, so each load and
 * store of the accumulator carries 8 multiply-adds (vectorized by the
 * compiler).
 */
#include "train_internal.h"

#include <math.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
#define HOT __attribute__((optimize("O3")))
#else
#define HOT
#endif

/* y[k] += sum_i a[i] * x[i][k], i < 8 (rows 8 * K apart... given as pointers) */
HOT static void axpy8(float *restrict y, const float *restrict x, int64_t stride, const float a[8], int64_t K) {
    const float a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4], a5 = a[5], a6 = a[6], a7 = a[7];
    const float *x0 = x, *x1 = x + stride, *x2 = x + 2 * stride, *x3 = x + 3 * stride;
    const float *x4 = x + 4 * stride, *x5 = x + 5 * stride, *x6 = x + 6 * stride, *x7 = x + 7 * stride;
    for (int64_t k = 0; k < K; k++)
        y[k] += a0 * x0[k] + a1 * x1[k] + a2 * x2[k] + a3 * x3[k] + a4 * x4[k] + a5 * x5[k] + a6 * x6[k] +
                a7 * x7[k];
}

HOT static void axpy1(float *restrict y, const float *restrict x, float a, int64_t K) {
    for (int64_t k = 0; k < K; k++) y[k] += a * x[k];
}

/* ==== dx += dy @ W ================================================================ */
typedef struct dx_job {
    hearth_trainer *t;
    float *dx;
    const float *dy;
    const char *W;
    const hearth_type_traits *tt;
    size_t row_bytes;
    int64_t T, K, N;
    bool direct;   /* one thread: accumulate straight into dx */
} dx_job;

static void dx_worker(void *arg, int ith, int nth) {
    dx_job *j = arg;
    int64_t n0, n1, T = j->T, K = j->K, N = j->N;
    hearth_split_rows(N, ith, nth, &n0, &n1);
    float *acc = j->direct ? j->dx : j->t->acc + (size_t)ith * T * K;
    float *tile = j->t->tile + (size_t)ith * 8 * K;
    if (!j->direct) memset(acc, 0, (size_t)T * K * sizeof(float));
    for (int64_t n = n0; n < n1; n += 8) {
        int nb = n1 - n < 8 ? (int)(n1 - n) : 8;
        for (int i = 0; i < nb; i++) j->tt->to_float(j->W + (size_t)(n + i) * j->row_bytes, tile + (size_t)i * K, K);
        for (int64_t t = 0; t < T; t++) {
            const float *g = j->dy + t * N + n;
            if (nb == 8) {
                axpy8(acc + t * K, tile, K, g, K);
            } else {
                for (int i = 0; i < nb; i++)
                    if (g[i] != 0) axpy1(acc + t * K, tile + (size_t)i * K, g[i], K);
            }
        }
    }
}

typedef struct reduce_job {
    float *dx;
    const float *acc;
    size_t n;
    int nacc;
} reduce_job;

static void reduce_worker(void *arg, int ith, int nth) {
    reduce_job *j = arg;
    int64_t i0, i1;
    hearth_split_rows((int64_t)j->n, ith, nth, &i0, &i1);
    for (int a = 0; a < j->nacc; a++) axpy1(j->dx + i0, j->acc + (size_t)a * j->n + i0, 1.0f, i1 - i0);
}

void tk_matmul_dx(hearth_trainer *t, float *dx, const float *dy, const void *W, uint32_t wtype, size_t row_bytes,
                  int64_t T, int64_t K, int64_t N) {
    int nth = t->nth;
    if (N < 16 * nth) nth = 1;   /* tiny (LoRA B): not worth the split */
    dx_job j = {t, dx, dy, W, hearth_type_traits_get(wtype), row_bytes, T, K, N, nth == 1};
    if (nth == 1) {
        dx_worker(&j, 0, 1);
        return;
    }
    hearth_pool_run(t->pool, dx_worker, &j);
    reduce_job r = {dx, t->acc, (size_t)T * K, t->nth};
    hearth_pool_run(t->pool, reduce_worker, &r);
}

/* ==== dW += a * dy^T @ x ============================================================ */
typedef struct dw_job {
    float *dW;
    float alpha;
    const float *dy, *x;
    int64_t T, K, N;
} dw_job;

static void dw_worker(void *arg, int ith, int nth) {
    dw_job *j = arg;
    int64_t n0, n1, T = j->T, K = j->K, N = j->N;
    hearth_split_rows(N, ith, nth, &n0, &n1);
    for (int64_t n = n0; n < n1; n++) {
        float *row = j->dW + n * K;
        int64_t t = 0;
        for (; t + 8 <= T; t += 8) {
            float a[8];
            for (int i = 0; i < 8; i++) a[i] = j->alpha * j->dy[(t + i) * N + n];
            axpy8(row, j->x + t * K, K, a, K);
        }
        for (; t < T; t++) {
            float a = j->alpha * j->dy[t * N + n];
            if (a != 0) axpy1(row, j->x + t * K, a, K);
        }
    }
}

void tk_matmul_dw(hearth_trainer *t, float *dW, float alpha, const float *dy, const float *x, int64_t T, int64_t K,
                  int64_t N) {
    dw_job j = {dW, alpha, dy, x, T, K, N};
    hearth_pool_run(N >= 2 * t->nth ? t->pool : NULL, dw_worker, &j);
}

/* ==== random numbers (splitmix64: one 64-bit state, saved in checkpoints) ========= */
uint64_t train_rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double train_rng_uniform(uint64_t *s) { return (double)(train_rng_next(s) >> 11) / 9007199254740992.0; }

double train_rng_normal(uint64_t *s) {
    double u1 = train_rng_uniform(s), u2 = train_rng_uniform(s);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}
