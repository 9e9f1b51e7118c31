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
#include <pthread.h>
#include <string.h>

#define AXPY_SFX _ref
#include "axpy_impl.h"

typedef void (*axpy8_fn)(float *restrict, const float *restrict, int64_t, const float *, int64_t);
typedef void (*axpy1_fn)(float *restrict, const float *restrict, float, int64_t);
static axpy8_fn axpy8 = axpy8_ref;
static axpy1_fn axpy1 = axpy1_ref;
typedef void (*attn_bwd_fn)(float *, float *, float *, const float *, const float *, const float *, const float *,
                            const float *, const int32_t *, int, int, int, int, int, int, float *);
static attn_bwd_fn attn_bwd = attn_bwd_ref;

/* the AVX2 build of the same loops, once, when the kernels use AVX2 or better
 * (pthread_once: the first calls may come from several pool workers at once) */
static void choose_isa(void) {
    if (!hearth_force_reference() && hearth_kernels_isa() >= HEARTH_ISA_AVX2)
        axpy8 = axpy8_avx2, axpy1 = axpy1_avx2, attn_bwd = attn_bwd_avx2;
}
static pthread_once_t isa_once = PTHREAD_ONCE_INIT;
static void pick_isa(void) { pthread_once(&isa_once, choose_isa); }

void tk_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                           const float *v, const float *att, const int32_t *start, int T, int H, int KVH, int hd,
                           int g0, int g1, float *scratch) {
    pick_isa();
    attn_bwd(dq, dk, dv, dout, q, k, v, att, start, T, H, KVH, hd, g0, g1, scratch);
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
        /* K in chunks of 512 so the 8 tile rows (16 KB) stay in L1 across all T tokens */
        for (int64_t k0 = 0; k0 < K; k0 += 512) {
            int64_t kn = K - k0 < 512 ? K - k0 : 512;
            for (int64_t t = 0; t < T; t++) {
                const float *g = j->dy + t * N + n;
                if (nb == 8) {
                    axpy8(acc + t * K + k0, tile + k0, K, g, kn);
                } else {
                    for (int i = 0; i < nb; i++)
                        if (g[i] != 0) axpy1(acc + t * K + k0, tile + (size_t)i * K + k0, g[i], kn);
                }
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

void tk_add(hearth_trainer *t, float *y, const float *x, size_t n) {
    pick_isa();
    reduce_job r = {y, x, n, 1};
    hearth_pool_run(t->pool, reduce_worker, &r);
}

void tk_matmul_dx(hearth_trainer *t, float *dx, const float *dy, const void *W, uint32_t wtype, size_t row_bytes,
                  int64_t T, int64_t K, int64_t N) {
    pick_isa();
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
    pick_isa();
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
