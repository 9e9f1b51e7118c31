/*
 * test_grad.c — finite-difference checks of every training op's backward, in
 * double precision (the _d build of the same source the float training
 * uses): embedding, RMSNorm, matmul (x, W, bias), RoPE (normal and NEOX),
 * causal attention with GQA, SwiGLU and masked cross-entropy.
 *
 * For each op: loss = sum(out * R) with a fixed random R; the analytic
 * gradient (backward with dout = R) must match the central difference
 * (loss(p + h) - loss(p - h)) / 2h for every element, h = 1e-5.
 */
#include "harness.h"
#include "train/train_internal.h"
#include "train/train_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double urand(void) {   /* uniform in [-1, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0 * 2 - 1;
}
static double *rnd(size_t n) {
    double *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = urand();
    return p;
}
static double *zeros(size_t n) { return calloc(n, sizeof(double)); }

typedef double (*loss_fn)(void *ctx);

/* compares analytic gradient g of param p (n elements) with central differences */
static void fd_check(const char *what, double *p, const double *g, size_t n, loss_fn f, void *ctx) {
    const double h = 1e-5;
    double worst = 0;
    size_t worst_i = 0;
    for (size_t i = 0; i < n; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double lp = f(ctx);
        p[i] = keep - h;
        double lm = f(ctx);
        p[i] = keep;
        double num = (lp - lm) / (2 * h);
        double err = fabs(num - g[i]) / (fabs(num) + fabs(g[i]) + 1e-6);
        if (err > worst) worst = err, worst_i = i;
    }
    CHECK_MSG(worst < 1e-6, "%s: worst relative error %.3g at element %zu (analytic %.9g)", what, worst, worst_i,
              g[worst_i]);
}

static double dotR(const double *out, const double *R, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += out[i] * R[i];
    return s;
}

/* ==== embedding ===================================================================== */
typedef struct { double *out, *table, *R; int32_t ids[5]; int T, C; } emb_ctx;
static double emb_loss(void *c_) {
    emb_ctx *c = c_;
    embedding_forward_d(c->out, c->ids, c->table, c->T, c->C);
    return dotR(c->out, c->R, (size_t)c->T * c->C);
}
TEST(grad_embedding) {
    emb_ctx c = {.T = 5, .C = 6, .ids = {3, 1, 3, 0, 2}};
    c.table = rnd(4 * 6), c.out = zeros(30), c.R = rnd(30);
    double *dt = zeros(24);
    embedding_backward_d(dt, c.R, c.ids, c.T, c.C);
    fd_check("embedding dtable", c.table, dt, 24, emb_loss, &c);
    free(c.table), free(c.out), free(c.R), free(dt);
}

/* ==== RMSNorm ======================================================================== */
typedef struct { double *out, *rstd, *x, *w, *R; int T, C; } rms_ctx;
static double rms_loss(void *c_) {
    rms_ctx *c = c_;
    rmsnorm_forward_d(c->out, c->rstd, c->x, c->w, c->T, c->C, 1e-5f);
    return dotR(c->out, c->R, (size_t)c->T * c->C);
}
TEST(grad_rmsnorm) {
    rms_ctx c = {.T = 3, .C = 8};
    size_t n = 24;
    c.x = rnd(n), c.w = rnd(8), c.out = zeros(n), c.rstd = zeros(3), c.R = rnd(n);
    double *dx = zeros(n), *dw = zeros(8);
    rms_loss(&c);
    rmsnorm_backward_d(dx, dw, c.R, c.x, c.w, c.rstd, c.T, c.C);
    fd_check("rmsnorm dx", c.x, dx, n, rms_loss, &c);
    fd_check("rmsnorm dw", c.w, dw, 8, rms_loss, &c);
    free(c.x), free(c.w), free(c.out), free(c.rstd), free(c.R), free(dx), free(dw);
}

/* ==== matmul ========================================================================= */
typedef struct { double *out, *x, *W, *b, *R; int T, K, N; } mm_ctx;
static double mm_loss(void *c_) {
    mm_ctx *c = c_;
    matmul_forward_d(c->out, c->x, c->W, c->b, c->T, c->K, c->N);
    return dotR(c->out, c->R, (size_t)c->T * c->N);
}
TEST(grad_matmul) {
    mm_ctx c = {.T = 3, .K = 5, .N = 4};
    c.x = rnd(15), c.W = rnd(20), c.b = rnd(4), c.out = zeros(12), c.R = rnd(12);
    double *dx = zeros(15), *dW = zeros(20), *db = zeros(4), *dx2 = zeros(15);
    matmul_backward_d(dx, dW, db, c.R, c.x, c.W, c.T, c.K, c.N);
    fd_check("matmul dx", c.x, dx, 15, mm_loss, &c);
    fd_check("matmul dW", c.W, dW, 20, mm_loss, &c);
    fd_check("matmul db", c.b, db, 4, mm_loss, &c);
    /* frozen weight: only dx, and the same dx */
    matmul_backward_d(dx2, NULL, NULL, c.R, c.x, c.W, c.T, c.K, c.N);
    for (int i = 0; i < 15; i++) CHECK_NEAR(dx2[i], dx[i], 1e-12);
    free(c.x), free(c.W), free(c.b), free(c.out), free(c.R), free(dx), free(dW), free(db), free(dx2);
}

/* ==== RoPE ============================================================================ */
typedef struct { double *out, *x, *R; float *cs; int T, H, hd, n_rot; bool neox; } rope_ctx;
static double rope_loss(void *c_) {
    rope_ctx *c = c_;
    size_t n = (size_t)c->T * c->H * c->hd;
    memcpy(c->out, c->x, n * sizeof(double));
    rope_forward_d(c->out, c->cs, c->T, c->H, c->hd, c->n_rot, c->neox);
    return dotR(c->out, c->R, n);
}
TEST(grad_rope) {
    for (int neox = 0; neox < 2; neox++) {
        rope_ctx c = {.T = 4, .H = 2, .hd = 8, .n_rot = 6, .neox = neox};   /* partial rotation too */
        size_t n = 64;
        c.x = rnd(n), c.out = zeros(n), c.R = rnd(n);
        c.cs = malloc(sizeof(float) * c.T * c.n_rot);
        for (int t = 0; t < c.T; t++)
            for (int i = 0; i < c.n_rot / 2; i++) {
                double th = t * pow(10000.0, -2.0 * i / c.n_rot);
                c.cs[t * c.n_rot + 2 * i] = (float)(cos(th) * 1.1), c.cs[t * c.n_rot + 2 * i + 1] = (float)(sin(th) * 1.1);
            }
        double *dx = malloc(n * sizeof(double));
        memcpy(dx, c.R, n * sizeof(double));
        rope_backward_d(dx, c.cs, c.T, c.H, c.hd, c.n_rot, c.neox);
        fd_check(neox ? "rope neox dx" : "rope normal dx", c.x, dx, n, rope_loss, &c);
        free(c.x), free(c.out), free(c.R), free(c.cs), free(dx);
    }
}

/* ==== attention (causal, GQA 4 query heads on 2 KV heads) ============================ */
typedef struct { double *out, *att, *q, *k, *v, *R; const int32_t *start; int T, H, KVH, hd; } att_ctx;
static double att_loss(void *c_) {
    att_ctx *c = c_;
    attention_forward_d(c->out, c->att, c->q, c->k, c->v, c->start, c->T, c->H, c->KVH, c->hd, 0, c->KVH);
    return dotR(c->out, c->R, (size_t)c->T * c->H * c->hd);
}
TEST(grad_attention) {
    att_ctx c = {.T = 5, .H = 4, .KVH = 2, .hd = 3};
    size_t nq = 5 * 4 * 3, nk = 5 * 2 * 3;
    c.q = rnd(nq), c.k = rnd(nk), c.v = rnd(nk), c.out = zeros(nq), c.att = zeros(4 * 5 * 5), c.R = rnd(nq);
    double *dq = zeros(nq), *dk = zeros(nk), *dv = zeros(nk), scratch[5];
    att_loss(&c);
    /* row sums of the saved softmax are 1 and the mask is causal */
    for (int h = 0; h < 4; h++)
        for (int t = 0; t < 5; t++) {
            double s = 0;
            for (int j = 0; j < 5; j++) s += c.att[(h * 5 + t) * 5 + j];
            CHECK_NEAR(s, 1.0, 1e-12);
            if (t < 4) CHECK(c.att[(h * 5 + t) * 5 + 4] == 0);
        }
    /* two halves of the KV heads, as threads would split them */
    attention_backward_d(dq, dk, dv, c.R, c.q, c.k, c.v, c.att, NULL, c.T, c.H, c.KVH, c.hd, 0, 1, scratch);
    attention_backward_d(dq, dk, dv, c.R, c.q, c.k, c.v, c.att, NULL, c.T, c.H, c.KVH, c.hd, 1, 2, scratch);
    fd_check("attention dq", c.q, dq, nq, att_loss, &c);
    fd_check("attention dk", c.k, dk, nk, att_loss, &c);
    fd_check("attention dv", c.v, dv, nk, att_loss, &c);
    free(c.q), free(c.k), free(c.v), free(c.out), free(c.att), free(c.R), free(dq), free(dk), free(dv);
}

/* packed records (positions 0-2, 3-4, 5-7): the block-diagonal causal mask. The saved softmax is
 * zero outside each record's block, the output of a record equals attention over that record alone,
 * and the backward matches central differences (no gradient crosses records). */
TEST(grad_attention_packed) {
    enum { T = 8, H = 4, KVH = 2, HD = 3 };
    static const int32_t start[T] = {0, 0, 0, 3, 3, 5, 5, 5};
    att_ctx c = {.T = T, .H = H, .KVH = KVH, .hd = HD, .start = start};
    size_t nq = (size_t)T * H * HD, nk = (size_t)T * KVH * HD;
    c.q = rnd(nq), c.k = rnd(nk), c.v = rnd(nk), c.out = zeros(nq), c.att = zeros((size_t)H * T * T), c.R = rnd(nq);
    double *dq = zeros(nq), *dk = zeros(nk), *dv = zeros(nk), scratch[T];
    att_loss(&c);
    for (int h = 0; h < H; h++)
        for (int t = 0; t < T; t++) {
            double s = 0;
            for (int j = 0; j < T; j++) {
                double a = c.att[((size_t)h * T + t) * T + j];
                s += a;
                if (j < start[t] || j > t) CHECK_MSG(a == 0, "att[h %d][t %d][j %d] = %g outside the record", h, t, j, a);
            }
            CHECK_NEAR(s, 1.0, 1e-12);
        }
    /* the second record (positions 3, 4) alone, unpacked, gives the same output rows */
    {
        size_t qs = (size_t)H * HD, ks = (size_t)KVH * HD;
        double out2[2 * H * HD], att2[H * 2 * 2];
        attention_forward_d(out2, att2, c.q + 3 * qs, c.k + 3 * ks, c.v + 3 * ks, NULL, 2, H, KVH, HD, 0, KVH);
        for (size_t i = 0; i < 2 * qs; i++) CHECK_NEAR(out2[i], c.out[3 * qs + i], 1e-14);
    }
    attention_backward_d(dq, dk, dv, c.R, c.q, c.k, c.v, c.att, start, T, H, KVH, HD, 0, 1, scratch);
    attention_backward_d(dq, dk, dv, c.R, c.q, c.k, c.v, c.att, start, T, H, KVH, HD, 1, 2, scratch);
    fd_check("packed attention dq", c.q, dq, nq, att_loss, &c);
    fd_check("packed attention dk", c.k, dk, nk, att_loss, &c);
    fd_check("packed attention dv", c.v, dv, nk, att_loss, &c);
    free(c.q), free(c.k), free(c.v), free(c.out), free(c.att), free(c.R), free(dq), free(dk), free(dv);
}

/* ==== SwiGLU ============================================================================ */
typedef struct { double *out, *g, *u, *R; size_t n; } swi_ctx;
static double swi_loss(void *c_) {
    swi_ctx *c = c_;
    swiglu_forward_d(c->out, c->g, c->u, c->n);
    return dotR(c->out, c->R, c->n);
}
TEST(grad_swiglu) {
    swi_ctx c = {.n = 20};
    c.g = rnd(20), c.u = rnd(20), c.out = zeros(20), c.R = rnd(20);
    for (int i = 0; i < 20; i++) c.g[i] *= 4;   /* reach the tails of the sigmoid */
    double *dg = zeros(20), *du = zeros(20);
    swiglu_backward_d(dg, du, c.R, c.g, c.u, c.n);
    fd_check("swiglu dgate", c.g, dg, 20, swi_loss, &c);
    fd_check("swiglu dup", c.u, du, 20, swi_loss, &c);
    free(c.g), free(c.u), free(c.out), free(c.R), free(dg), free(du);
}

/* ==== cross-entropy with a mask ========================================================= */
typedef struct { double *logits, *probs, *losses, *w; int32_t targets[4]; int T, V; } ce_ctx;
static double ce_loss(void *c_) {
    ce_ctx *c = c_;
    crossentropy_forward_d(c->losses, c->probs, c->logits, c->targets, c->T, c->V);
    return dotR(c->losses, c->w, (size_t)c->T);
}
TEST(grad_crossentropy) {
    ce_ctx c = {.T = 4, .V = 7, .targets = {2, 6, 0, 2}};
    c.logits = rnd(28), c.probs = zeros(28), c.losses = zeros(4), c.w = zeros(4);
    c.w[0] = 0.5, c.w[1] = 0, c.w[2] = 0.5, c.w[3] = 0.5;   /* token 1 masked out */
    for (int i = 0; i < 28; i++) c.logits[i] *= 3;
    ce_loss(&c);
    double *dl = zeros(28);
    crossentropy_backward_d(dl, c.w, c.probs, c.targets, c.T, c.V);
    for (int i = 7; i < 14; i++) CHECK(dl[i] == 0);   /* the masked token gets no gradient */
    fd_check("crossentropy dlogits", c.logits, dl, 28, ce_loss, &c);
    /* the loss is -log p: uniform logits give log V */
    double flat[7] = {0}, pr[7], ls;
    int32_t tg = 3;
    crossentropy_forward_d(&ls, pr, flat, &tg, 1, 7);
    CHECK_NEAR(ls, log(7.0), 1e-12);
    free(c.logits), free(c.probs), free(c.losses), free(c.w), free(dl);
}

/* the vectorized attention backward (kernels_train.c / axpy_impl.h, reference and AVX2 builds) against
 * attention_backward_f: same maths, other summation order (hd not a multiple of 8: the tails). Both are
 * measured against the double-precision attention_backward_d of the same (float) inputs: the fast one
 * must be no more than twice as far from it as the plain float one (both about 1e-5: float rounding)
 * and within 1e-4. */
static void attention_backward_fast_hd(const int HD) {
    enum { T = 37, H = 4, KVH = 2 };
    size_t nq = (size_t)T * H * HD, nk = (size_t)T * KVH * HD;
    float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nk * 4), *go = malloc(nq * 4);
    float *att = calloc((size_t)H * T * T, 4), *scratch = malloc((T * T + T) * 4);
    float *ref[3], *got[3];
    size_t sz[3] = {nq, nk, nk};
    uint64_t r = 5;
    for (size_t i = 0; i < nq; i++) q[i] = (float)(train_rng_uniform(&r) - 0.5), go[i] = (float)(train_rng_uniform(&r) - 0.5);
    for (size_t i = 0; i < nk; i++) k[i] = (float)(train_rng_uniform(&r) - 0.5), v[i] = (float)(train_rng_uniform(&r) - 0.5);
    for (int h = 0; h < H; h++)   /* causal rows summing to 1 */
        for (int t = 0; t < T; t++) {
            float *a = att + ((size_t)h * T + t) * T, sum = 0;
            for (int j = 0; j <= t; j++) sum += a[j] = (float)train_rng_uniform(&r) + 0.01f;
            for (int j = 0; j <= t; j++) a[j] /= sum;
        }
    for (int i = 0; i < 3; i++) ref[i] = calloc(sz[i], 4), got[i] = calloc(sz[i], 4);
    /* unpacked, then three packed records (0-11, 12-29, 30-36; their att rows hold zeros outside) */
    int32_t start[T];
    for (int t = 0; t < T; t++) start[t] = t < 12 ? 0 : t < 30 ? 12 : 30;
    for (int packed = 0; packed < 2; packed++) {
        const int32_t *st = packed ? start : NULL;
        if (packed)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t++) {
                    float *a = att + ((size_t)h * T + t) * T, sum = 0;
                    for (int j = 0; j < start[t]; j++) a[j] = 0;
                    for (int j = start[t]; j <= t; j++) sum += a[j];
                    for (int j = start[t]; j <= t; j++) a[j] /= sum;
                }
        for (int i = 0; i < 3; i++) memset(ref[i], 0, sz[i] * 4);
        attention_backward_f(ref[0], ref[1], ref[2], go, q, k, v, att, st, T, H, KVH, HD, 0, KVH, scratch);
        double *in_d[5], *exact[3], dscratch[T];
        const float *in_f[5] = {go, q, k, v, att};
        size_t in_n[5] = {nq, nq, nk, nk, (size_t)H * T * T};
        for (int i = 0; i < 5; i++) {
            in_d[i] = zeros(in_n[i]);
            for (size_t e = 0; e < in_n[i]; e++) in_d[i][e] = in_f[i][e];
        }
        for (int i = 0; i < 3; i++) exact[i] = zeros(sz[i]);
        attention_backward_d(exact[0], exact[1], exact[2], in_d[0], in_d[1], in_d[2], in_d[3], in_d[4], st, T, H, KVH,
                             HD, 0, KVH, dscratch);
        double plain = 0;
        for (int i = 0; i < 3; i++)
            for (size_t e = 0; e < sz[i]; e++)
                plain = fmax(plain, fabs(ref[i][e] - exact[i][e]) / (fabs(exact[i][e]) + 1e-3));
        for (int build = 0; build < 2; build++) {
            if (build == 1 && !hearth_kernels_isa_supported(HEARTH_ISA_AVX2)) break;
            for (int i = 0; i < 3; i++) memset(got[i], 0, sz[i] * 4);
            (build ? attn_bwd_avx2 : attn_bwd_ref)(got[0], got[1], got[2], go, q, k, v, att, st, T, H, KVH, HD, 0, 1, scratch);
            (build ? attn_bwd_avx2 : attn_bwd_ref)(got[0], got[1], got[2], go, q, k, v, att, st, T, H, KVH, HD, 1, 2, scratch);
            double worst = 0;
            for (int i = 0; i < 3; i++)
                for (size_t e = 0; e < sz[i]; e++) {
                    double d = fabs((double)got[i][e] - exact[i][e]) / (fabs(exact[i][e]) + 1e-3);
                    if (d > worst) worst = d;
                }
            printf("  hd %d, %s build%s: worst relative error %.2e (the plain float backward: %.2e)\n", HD,
                   build ? "AVX2" : "reference", packed ? " (packed)" : "", worst, plain);
            CHECK_MSG(worst < 1e-4 && worst <= 2 * plain + 1e-7, "%s build%s: worst relative error %.3g (plain: %.3g)",
                      build ? "AVX2" : "reference", packed ? " (packed)" : "", worst, plain);
        }
        for (int i = 0; i < 5; i++) free(in_d[i]);
        for (int i = 0; i < 3; i++) free(exact[i]);
    }
    for (int i = 0; i < 3; i++) free(ref[i]), free(got[i]);
    free(q), free(k), free(v), free(go), free(att), free(scratch);
}

/* hd 20: only the tails; 40: one register block of 32 and a tail; 64: two blocks */
TEST(attention_backward_fast) {
    attention_backward_fast_hd(20);
    attention_backward_fast_hd(40);
    attention_backward_fast_hd(64);
}

int main(void) {
    RUN(grad_embedding);
    RUN(grad_rmsnorm);
    RUN(grad_matmul);
    RUN(grad_rope);
    RUN(grad_attention);
    RUN(grad_attention_packed);
    RUN(attention_backward_fast);
    RUN(grad_swiglu);
    RUN(grad_crossentropy);
    return harness_done();
}
