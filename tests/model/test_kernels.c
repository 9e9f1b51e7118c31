/*
 * test_kernels.c — every fast kernel (AVX2, AVX-512 where this CPU has them)
 * against the scalar reference, and the reference against plain double
 * maths. Tolerances are stated next to each check.
 */
#include "harness.h"

#include "kernels/kernels.h"

#include <stdlib.h>

static uint64_t rng = 88172645463325252ull;
static float frand(void) {   /* uniform in [-1, 1) */
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / (1 << 23))) - 1.0f;
}

static const int64_t SIZES[] = {1, 7, 8, 15, 16, 17, 31, 33, 64, 100, 172, 256, 1000, 2048};
#define N_SIZES (int)(sizeof SIZES / sizeof SIZES[0])

/* fills a row of type t with values near the random floats in f */
static void make_row(uint32_t t, const float *f, void *dst, int64_t n) {
    hearth_type_traits_isa(t, HEARTH_ISA_REF)->from_float(f, dst, n);
}

/* ---- fp16 / bf16 conversion -------------------------------------------- */
TEST(fp16_roundtrip_all_halves) {
    /* every finite half converts to a float and back to the same bits */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        if (((h >> 10) & 0x1f) == 0x1f) continue;
        if (hearth_fp32_to_fp16(hearth_fp16_to_fp32((uint16_t)h)) != h) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(hearth_fp16_to_fp32(0x3c00) == 1.0f);
    CHECK(hearth_fp16_to_fp32(0xc000) == -2.0f);
    CHECK(hearth_fp16_to_fp32(0x0001) == ldexpf(1.0f, -24));
    CHECK(hearth_fp32_to_fp16(65520.0f) == 0x7c00);           /* rounds to inf */
    CHECK(hearth_fp32_to_fp16(65504.0f) == 0x7bff);
    CHECK(hearth_fp32_to_fp16(1.0f + ldexpf(1.0f, -11)) == 0x3c00);   /* tie -> even */
    CHECK(hearth_fp32_to_fp16(ldexpf(1.0f, -25)) == 0);                 /* tie -> even (0) */
    CHECK(hearth_fp32_to_fp16(ldexpf(1.5f, -25)) == 1);
    CHECK(hearth_bf16_to_fp32(hearth_fp32_to_bf16(1.5f)) == 1.5f);
}

TEST(fp16_from_float_matches_hardware) {
    /* the fast F16 from_float uses the CPU's conversion: our scalar must agree bit for bit */
    for (int isa = HEARTH_ISA_AVX2; isa < HEARTH_ISA_COUNT; isa++) {
        const hearth_type_traits *t = hearth_type_traits_isa(HEARTH_TYPE_F16, (hearth_isa)isa);
        if (!t) continue;
        enum { N = 4096 };
        static float f[N];
        static uint16_t a[N], b[N];
        for (int i = 0; i < N; i++) {
            float scale = ldexpf(1.0f, (i % 60) - 30);
            f[i] = frand() * scale;
        }
        t->from_float(f, a, N);
        for (int i = 0; i < N; i++) b[i] = hearth_fp32_to_fp16(f[i]);
        int bad = 0;
        for (int i = 0; i < N; i++) bad += a[i] != b[i];
        CHECK_MSG(bad == 0, "%s: %d of %d differ", hearth_isa_name((hearth_isa)isa), bad, N);
    }
}

/* ---- rows --------------------------------------------------------------- */
TEST(vec_dot_fast_vs_reference) {
    /* |fast - ref| <= 2e-6 * sum |w_i x_i| + 1e-7 (float lanes vs double sum) */
    static const uint32_t types[] = {HEARTH_TYPE_F32, HEARTH_TYPE_F16, HEARTH_TYPE_BF16};
    float *wf = malloc(2048 * 4), *x = malloc(4 * 2048 * 4), *wd = malloc(2048 * 4);
    for (int isa = HEARTH_ISA_AVX2; isa < HEARTH_ISA_COUNT; isa++) {
        if (!hearth_kernels_isa_supported((hearth_isa)isa)) continue;
        for (int ti = 0; ti < 3; ti++) {
            uint32_t t = types[ti];
            const hearth_type_traits *ref = hearth_type_traits_isa(t, HEARTH_ISA_REF);
            const hearth_type_traits *fast = hearth_type_traits_isa(t, (hearth_isa)isa);
            char w[2048 * 4];
            for (int si = 0; si < N_SIZES; si++) {
                int64_t n = SIZES[si];
                for (int64_t i = 0; i < n; i++) wf[i] = frand();
                for (int64_t i = 0; i < 4 * n; i++) x[i] = frand();
                make_row(t, wf, w, n);
                ref->to_float(w, wd, n);
                float out[4];
                if (fast->vec_dot4) fast->vec_dot4(n, w, x, (size_t)n * 4, 4, out);
                for (int k = 0; k < 4; k++) {
                    const float *xk = x + k * n;
                    double mag = 0;
                    for (int64_t i = 0; i < n; i++) mag += fabs((double)wd[i] * xk[i]);
                    float r = ref->vec_dot(n, w, xk), f = fast->vec_dot(n, w, xk);
                    double tol = 2e-6 * mag + 1e-7;
                    CHECK_MSG(fabs(r - f) <= tol, "%s %s n=%lld: ref %.9g fast %.9g",
                              hearth_isa_name((hearth_isa)isa), hearth_type_get(t)->name, (long long)n, r, f);
                    if (fast->vec_dot4)
                        CHECK_MSG(fabs(r - out[k]) <= tol, "%s %s dot4 n=%lld row %d: ref %.9g fast %.9g",
                                  hearth_isa_name((hearth_isa)isa), hearth_type_get(t)->name, (long long)n, k, r, out[k]);
                }
                /* to_float: exact */
                float tf[2048];
                fast->to_float(w, tf, n);
                CHECK(memcmp(tf, wd, (size_t)n * 4) == 0);
            }
        }
    }
    free(wf); free(x); free(wd);
}

TEST(reference_dot_is_the_sum) {
    /* the reference itself against a plain double sum: same to float rounding */
    float w[100], x[100];
    uint16_t h[100];
    double s = 0;
    for (int i = 0; i < 100; i++) { w[i] = frand(); x[i] = frand(); }
    make_row(HEARTH_TYPE_F16, w, h, 100);
    for (int i = 0; i < 100; i++) s += (double)hearth_fp16_to_fp32(h[i]) * x[i];
    CHECK_NEAR(hearth_type_traits_isa(HEARTH_TYPE_F16, HEARTH_ISA_REF)->vec_dot(100, h, x), s, 1e-6 * fabs(s) + 1e-7);
}

/* ---- matmul -------------------------------------------------------------- */
TEST(matmul_fast_vs_reference) {
    /* Y = X W^T for several T (matvec, tails of the 4-row groups) with 2 threads;
     * each Y element within 2e-6 * sum|x w| of the reference */
    hearth_pool *pool = hearth_pool_create(2);
    static const int64_t Ts[] = {1, 3, 4, 9};
    static const uint32_t types[] = {HEARTH_TYPE_F32, HEARTH_TYPE_F16, HEARTH_TYPE_BF16};
    int64_t K = 172, N = 300;
    float *X = malloc(9 * K * 4), *Wf = malloc(N * K * 4), *Wd = malloc(N * K * 4);
    float *Yr = malloc(9 * N * 4), *Yf = malloc(9 * N * 4);
    void *W = malloc(N * K * 4);
    for (int64_t i = 0; i < 9 * K; i++) X[i] = frand();
    for (int64_t i = 0; i < N * K; i++) Wf[i] = frand();
    for (int ti = 0; ti < 3; ti++) {
        uint32_t t = types[ti];
        make_row(t, Wf, W, N * K);
        hearth_type_traits_isa(t, HEARTH_ISA_REF)->to_float(W, Wd, N * K);
        for (int a = 0; a < 4; a++) {
            int64_t T = Ts[a];
            CHECK(hearth_matmul_isa(pool, Yr, X, W, t, T, K, N, NULL, HEARTH_ISA_REF) == HEARTH_OK);
            /* reference against the definition */
            int bad = 0;
            for (int64_t i = 0; i < T; i++)
                for (int64_t r = 0; r < N; r++) {
                    double s = 0, mag = 0;
                    for (int64_t k = 0; k < K; k++) {
                        s += (double)X[i * K + k] * Wd[r * K + k];
                        mag += fabs((double)X[i * K + k] * Wd[r * K + k]);
                    }
                    bad += fabs(Yr[i * N + r] - s) > 1e-6 * mag + 1e-7;
                }
            CHECK_MSG(bad == 0, "reference %s T=%lld: %d wrong", hearth_type_get(t)->name, (long long)T, bad);
            for (int isa = HEARTH_ISA_AVX2; isa < HEARTH_ISA_COUNT; isa++) {
                if (!hearth_kernels_isa_supported((hearth_isa)isa)) continue;
                CHECK(hearth_matmul_isa(pool, Yf, X, W, t, T, K, N, NULL, (hearth_isa)isa) == HEARTH_OK);
                bad = 0;
                for (int64_t i = 0; i < T; i++)
                    for (int64_t r = 0; r < N; r++) {
                        double mag = 0;
                        for (int64_t k = 0; k < K; k++) mag += fabs((double)X[i * K + k] * Wd[r * K + k]);
                        bad += fabs(Yr[i * N + r] - Yf[i * N + r]) > 2e-6 * mag + 1e-7;
                    }
                CHECK_MSG(bad == 0, "%s %s T=%lld: %d of %lld differ", hearth_isa_name((hearth_isa)isa),
                          hearth_type_get(t)->name, (long long)T, bad, (long long)(T * N));
            }
        }
    }
    /* a type without kernels is refused with a message */
    CHECK(hearth_matmul(pool, Yf, X, W, HEARTH_TYPE_IQ1_M, 1, 256, 1, NULL) == HEARTH_ERR_UNSUPPORTED);
    CHECK(strstr(hearth_last_error(), "IQ1_M") != NULL);
    free(X); free(Wf); free(Wd); free(Yr); free(Yf); free(W);
    hearth_pool_free(pool);
}

/* ---- ops ------------------------------------------------------------------ */
TEST(ops_fast_vs_reference) {
    /* elementwise results within 4e-6 relative (+1e-7 absolute) of the reference */
    const hearth_ops *ref = hearth_ops_isa(HEARTH_ISA_REF);
    float x[2048], w[2048], g[2048], a[2048], b[2048];
    uint16_t h[2048];
    for (int isa = HEARTH_ISA_AVX2; isa < HEARTH_ISA_COUNT; isa++) {
        const hearth_ops *f = hearth_ops_isa((hearth_isa)isa);
        if (!f) continue;
        const char *nm = hearth_isa_name((hearth_isa)isa);
        for (int si = 0; si < N_SIZES; si++) {
            int64_t n = SIZES[si];
            for (int64_t i = 0; i < n; i++) { x[i] = frand() * 8; w[i] = frand(); g[i] = frand() * 12; }
            int bad = 0;
#define CMP(A, B) for (int64_t i = 0; i < n; i++) bad += !(fabsf((A)[i] - (B)[i]) <= 4e-6f * fabsf((A)[i]) + 1e-7f)
            ref->rmsnorm(a, x, w, n, 1e-5f); f->rmsnorm(b, x, w, n, 1e-5f); CMP(a, b);
            CHECK_MSG(bad == 0, "%s rmsnorm n=%lld", nm, (long long)n); bad = 0;
            memcpy(a, x, n * 4); memcpy(b, x, n * 4); ref->softmax(a, n); f->softmax(b, n); CMP(a, b);
            CHECK_MSG(bad == 0, "%s softmax n=%lld", nm, (long long)n); bad = 0;
            ref->silu_mul(a, g, w, n); f->silu_mul(b, g, w, n); CMP(a, b);
            CHECK_MSG(bad == 0, "%s silu_mul n=%lld", nm, (long long)n); bad = 0;
            ref->add(a, x, w, n); f->add(b, x, w, n); CMP(a, b);
            CHECK_MSG(bad == 0, "%s add n=%lld", nm, (long long)n); bad = 0;
            make_row(HEARTH_TYPE_F16, w, h, n);
            memcpy(a, x, n * 4); memcpy(b, x, n * 4);
            ref->axpy(n, 0.37f, h, HEARTH_TYPE_F16, a); f->axpy(n, 0.37f, h, HEARTH_TYPE_F16, b); CMP(a, b);
            ref->axpy(n, -1.5f, w, HEARTH_TYPE_F32, a); f->axpy(n, -1.5f, w, HEARTH_TYPE_F32, b); CMP(a, b);
            CHECK_MSG(bad == 0, "%s axpy n=%lld", nm, (long long)n); bad = 0;
            double mag = 0;
            for (int64_t i = 0; i < n; i++) mag += fabs(hearth_fp16_to_fp32(h[i]) * x[i]);
            CHECK_NEAR(ref->dot(n, h, HEARTH_TYPE_F16, x), f->dot(n, h, HEARTH_TYPE_F16, x), 2e-6 * mag + 1e-7);
#undef CMP
        }
    }
    /* the reference against the definitions */
    float v[3] = {1, 2, 3}, one[3] = {1, 1, 1}, out[3];
    ref->rmsnorm(out, v, one, 3, 0);
    CHECK_NEAR(out[2], 3 / sqrt(14.0 / 3), 1e-6);
    ref->softmax(v, 3);
    CHECK_NEAR(v[0], exp(1) / (exp(1) + exp(2) + exp(3)), 1e-7);
    float gg = 2.0f, uu = 3.0f;
    ref->silu_mul(out, &gg, &uu, 1);
    CHECK_NEAR(out[0], 2 / (1 + exp(-2.0)) * 3, 1e-6);
}

/* ---- RoPE ------------------------------------------------------------------ */
TEST(rope_matches_definition) {
    /* normal (pairs 2i, 2i+1) and NEOX (pairs i, i + n_rot/2), partial rotation */
    int head_dim = 16, n_rot = 12, n_head = 2;
    float x[32], y[32], cs[16];
    for (int i = 0; i < 32; i++) x[i] = frand();
    for (int neox = 0; neox < 2; neox++) {
        hearth_rope r = {.n_rot = n_rot, .neox = neox, .freq_base = 10000, .freq_scale = 1, .attn_factor = 1};
        int64_t pos = 37;
        hearth_rope_cache(&r, pos, cs);
        memcpy(y, x, sizeof y);
        hearth_rope_apply(&r, y, n_head, head_dim, cs);
        for (int h = 0; h < n_head; h++) {
            const float *a = x + h * head_dim, *b = y + h * head_dim;
            for (int i = 0; i < n_rot / 2; i++) {
                double th = pos * pow(10000.0, -2.0 * i / n_rot);
                int p = neox ? i : 2 * i, q = neox ? i + n_rot / 2 : 2 * i + 1;
                CHECK_NEAR(b[p], a[p] * cos(th) - a[q] * sin(th), 2e-5);
                CHECK_NEAR(b[q], a[p] * sin(th) + a[q] * cos(th), 2e-5);
            }
            for (int i = n_rot; i < head_dim; i++) CHECK(b[i] == a[i]);   /* not rotated */
        }
    }
    /* linear scaling by 4 at position 40 == no scaling at position 10 */
    hearth_rope r4 = {.n_rot = 12, .freq_base = 10000, .freq_scale = 0.25f, .attn_factor = 1};
    hearth_rope r1 = {.n_rot = 12, .freq_base = 10000, .freq_scale = 1, .attn_factor = 1};
    float c4[12], c1[12];
    hearth_rope_cache(&r4, 40, c4);
    hearth_rope_cache(&r1, 10, c1);
    for (int i = 0; i < 12; i++) CHECK_NEAR(c4[i], c1[i], 1e-5);
    /* frequency factors divide the angle */
    float ff[6] = {1, 2, 1, 1, 1, 1};
    r1.freq_factors = ff;
    hearth_rope_cache(&r1, 20, c4);
    r1.freq_factors = NULL;
    hearth_rope_cache(&r1, 10, c1);
    CHECK_NEAR(c4[2], c1[2], 1e-5);
}

/* ---- attention ---------------------------------------------------------------- */
TEST(attention_head_matches_definition) {
    /* F32 and F16 caches; output within 1e-5 of the double-precision definition */
    enum { D = 24, NKV = 37, STRIDE = 3 * D };
    float q[D], Kf[NKV * STRIDE], Vf[NKV * STRIDE], out[D], att[NKV];
    uint16_t Kh[NKV * STRIDE], Vh[NKV * STRIDE];
    for (int i = 0; i < D; i++) q[i] = frand();
    for (int i = 0; i < NKV * STRIDE; i++) {
        Kh[i] = hearth_fp32_to_fp16(frand());
        Vh[i] = hearth_fp32_to_fp16(frand());
        Kf[i] = hearth_fp16_to_fp32(Kh[i]);
        Vf[i] = hearth_fp16_to_fp32(Vh[i]);
    }
    double s[NKV], mx = -1e30, sum = 0, expect[D] = {0};
    for (int t = 0; t < NKV; t++) {
        s[t] = 0;
        for (int i = 0; i < D; i++) s[t] += (double)q[i] * Kf[t * STRIDE + D + i];
        s[t] *= 0.3;
        mx = s[t] > mx ? s[t] : mx;
    }
    for (int t = 0; t < NKV; t++) sum += (s[t] = exp(s[t] - mx));
    for (int t = 0; t < NKV; t++)
        for (int i = 0; i < D; i++) expect[i] += s[t] / sum * Vf[t * STRIDE + D + i];
    for (int isa = 0; isa < HEARTH_ISA_COUNT; isa++) {
        const hearth_ops *ops = hearth_ops_isa((hearth_isa)isa);
        if (!ops) continue;
        hearth_attention_head(ops, out, q, Kf + D, Vf + D, HEARTH_TYPE_F32, NKV, STRIDE, D, 0.3f, att);
        for (int i = 0; i < D; i++) CHECK_NEAR(out[i], expect[i], 1e-5);
        hearth_attention_head(ops, out, q, Kh + D, Vh + D, HEARTH_TYPE_F16, NKV, STRIDE, D, 0.3f, att);
        for (int i = 0; i < D; i++) CHECK_NEAR(out[i], expect[i], 1e-5);
    }
}

int main(void) {
    printf("kernels: active instruction set %s\n", hearth_isa_name(hearth_kernels_isa()));
    RUN(fp16_roundtrip_all_halves);
    RUN(fp16_from_float_matches_hardware);
    RUN(vec_dot_fast_vs_reference);
    RUN(reference_dot_is_the_sum);
    RUN(matmul_fast_vs_reference);
    RUN(ops_fast_vs_reference);
    RUN(rope_matches_definition);
    RUN(attention_head_matches_definition);
    return harness_done();
}
