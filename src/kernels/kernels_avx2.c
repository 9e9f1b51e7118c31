/*
 * kernels_avx2.c — AVX2 + FMA + F16C versions of the float kernels (F32,
 * F16, BF16 rows and the ops). Same maths as kernels_ref.c; sums are kept in
 * 4 × 8 float lanes, so results differ from the reference by rounding only.
 */
#include "kernels_internal.h"

#include <immintrin.h>
#include <math.h>

/* ==== helpers ================================================================ */
static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256 load_f16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
static inline __m256 load_bf16(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

/* exp(x), ~2 ulp, for x in [-87, 88] (clamped outside) */
static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* ==== rows: generic dot over a loader ========================================= */
#define DEFINE_DOT(NAME, WT, LOADW, SCALARW)                                                   \
    static float NAME(int64_t n, const void *w, const void *x) {                               \
        const WT *a = w;                                                                         \
        const float *b = x;                                                                      \
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;                              \
        int64_t i = 0;                                                                           \
        for (; i + 32 <= n; i += 32) {                                                           \
            s0 = _mm256_fmadd_ps(LOADW(a + i), _mm256_loadu_ps(b + i), s0);                      \
            s1 = _mm256_fmadd_ps(LOADW(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);              \
            s2 = _mm256_fmadd_ps(LOADW(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);            \
            s3 = _mm256_fmadd_ps(LOADW(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);            \
        }                                                                                        \
        for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(LOADW(a + i), _mm256_loadu_ps(b + i), s0); \
        float s = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));           \
        for (; i < n; i++) s += SCALARW(a[i]) * b[i];                                            \
        return s;                                                                                \
    }                                                                                            \
    /* out[k] = w . x_k for nx <= 4 rows of x: each w vector is loaded once */                  \
    static void NAME##4(int64_t n, const void *w, const void *x, size_t xs, int nx, float *out) { \
        const WT *a = w;                                                                         \
        const float *b0 = x, *b1 = (const void *)((const char *)x + xs);                         \
        const float *b2 = (const void *)((const char *)x + 2 * xs);                              \
        const float *b3 = (const void *)((const char *)x + 3 * xs);                              \
        if (nx < 4) {                                                                            \
            for (int k = 0; k < nx; k++) out[k] = NAME(n, w, (const char *)x + k * xs);          \
            return;                                                                              \
        }                                                                                        \
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;                              \
        __m256 t0 = s0, t1 = s0, t2 = s0, t3 = s0;                                               \
        int64_t i = 0;                                                                           \
        for (; i + 16 <= n; i += 16) {                                                           \
            __m256 wa = LOADW(a + i), wb = LOADW(a + i + 8);                                     \
            s0 = _mm256_fmadd_ps(wa, _mm256_loadu_ps(b0 + i), s0);                               \
            s1 = _mm256_fmadd_ps(wa, _mm256_loadu_ps(b1 + i), s1);                               \
            s2 = _mm256_fmadd_ps(wa, _mm256_loadu_ps(b2 + i), s2);                               \
            s3 = _mm256_fmadd_ps(wa, _mm256_loadu_ps(b3 + i), s3);                               \
            t0 = _mm256_fmadd_ps(wb, _mm256_loadu_ps(b0 + i + 8), t0);                           \
            t1 = _mm256_fmadd_ps(wb, _mm256_loadu_ps(b1 + i + 8), t1);                           \
            t2 = _mm256_fmadd_ps(wb, _mm256_loadu_ps(b2 + i + 8), t2);                           \
            t3 = _mm256_fmadd_ps(wb, _mm256_loadu_ps(b3 + i + 8), t3);                           \
        }                                                                                        \
        for (; i + 8 <= n; i += 8) {                                                             \
            __m256 wa = LOADW(a + i);                                                            \
            s0 = _mm256_fmadd_ps(wa, _mm256_loadu_ps(b0 + i), s0);                               \
            s1 = _mm256_fmadd_ps(wa, _mm256_loadu_ps(b1 + i), s1);                               \
            s2 = _mm256_fmadd_ps(wa, _mm256_loadu_ps(b2 + i), s2);                               \
            s3 = _mm256_fmadd_ps(wa, _mm256_loadu_ps(b3 + i), s3);                               \
        }                                                                                        \
        float r0 = hsum8(_mm256_add_ps(s0, t0)), r1 = hsum8(_mm256_add_ps(s1, t1));              \
        float r2 = hsum8(_mm256_add_ps(s2, t2)), r3 = hsum8(_mm256_add_ps(s3, t3));              \
        for (; i < n; i++) {                                                                     \
            float wv = SCALARW(a[i]);                                                            \
            r0 += wv * b0[i]; r1 += wv * b1[i]; r2 += wv * b2[i]; r3 += wv * b3[i];              \
        }                                                                                        \
        out[0] = r0; out[1] = r1; out[2] = r2; out[3] = r3;                                      \
    }

#define ID(x) (x)
DEFINE_DOT(f32_dot, float, _mm256_loadu_ps, ID)
DEFINE_DOT(f16_dot, uint16_t, load_f16, hearth_fp16_to_fp32)
DEFINE_DOT(bf16_dot, uint16_t, load_bf16, hearth_bf16_to_fp32)

static void f16_to_float(const void *src, float *dst, int64_t n) {
    const uint16_t *s = src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load_f16(s + i));
    for (; i < n; i++) dst[i] = hearth_fp16_to_fp32(s[i]);
}

static void f16_from_float(const float *src, void *dst, int64_t n) {
    uint16_t *d = dst;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(d + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) d[i] = hearth_fp32_to_fp16(src[i]);
}

static void bf16_to_float(const void *src, float *dst, int64_t n) {
    const uint16_t *s = src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load_bf16(s + i));
    for (; i < n; i++) dst[i] = hearth_bf16_to_fp32(s[i]);
}

/* ==== ops ===================================================================== */
static void avx2_rmsnorm(float *y, const float *x, const float *w, int64_t n, float eps) {
    __m256 s = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        s = _mm256_fmadd_ps(v, v, s);
    }
    double ss = hsum8(s);
    for (; i < n; i++) ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / (double)n + eps));
    __m256 sc = _mm256_set1_ps(scale);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), sc), _mm256_loadu_ps(w + i)));
    for (; i < n; i++) y[i] = x[i] * scale * w[i];
}

static void avx2_softmax(float *x, int64_t n) {
    float mx = -INFINITY;
    int64_t i = 0;
    __m256 m = _mm256_set1_ps(-INFINITY);
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, m);
    for (int k = 0; k < 8; k++) mx = lanes[k] > mx ? lanes[k] : mx;
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    __m256 vmx = _mm256_set1_ps(mx), s = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmx));
        _mm256_storeu_ps(x + i, e);
        s = _mm256_add_ps(s, e);
    }
    double sum = hsum8(s);
    for (; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    __m256 inv = _mm256_set1_ps((float)(1.0 / sum));
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    for (; i < n; i++) x[i] *= (float)(1.0 / sum);
}

static void avx2_silu_mul(float *y, const float *gate, const float *up, int64_t n) {
    int64_t i = 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
        __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) y[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

static void avx2_axpy(int64_t n, float a, const void *x, uint32_t xtype, float *y) {
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    if (xtype == HEARTH_TYPE_F16) {
        const uint16_t *h = x;
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load_f16(h + i), _mm256_loadu_ps(y + i)));
        for (; i < n; i++) y[i] += a * hearth_fp16_to_fp32(h[i]);
    } else {
        const float *f = x;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(f + i), _mm256_loadu_ps(y + i)));
        for (; i < n; i++) y[i] += a * f[i];
    }
}

static float avx2_dot(int64_t n, const void *x, uint32_t xtype, const float *y) {
    return xtype == HEARTH_TYPE_F16 ? f16_dot(n, x, y) : f32_dot(n, x, y);
}

static void avx2_add(float *y, const float *x, const float *b, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(b + i)));
    for (; i < n; i++) y[i] = x[i] + b[i];
}

/* ==== registration ============================================================== */
void kernels_fill_avx2(hearth_type_traits t[HEARTH_TYPE_COUNT], hearth_ops *ops) {
    t[HEARTH_TYPE_F32].vec_dot = f32_dot;
    t[HEARTH_TYPE_F32].vec_dot4 = f32_dot4;
    t[HEARTH_TYPE_F16].vec_dot = f16_dot;
    t[HEARTH_TYPE_F16].vec_dot4 = f16_dot4;
    t[HEARTH_TYPE_F16].to_float = f16_to_float;
    t[HEARTH_TYPE_F16].from_float = f16_from_float;
    t[HEARTH_TYPE_BF16].vec_dot = bf16_dot;
    t[HEARTH_TYPE_BF16].vec_dot4 = bf16_dot4;
    t[HEARTH_TYPE_BF16].to_float = bf16_to_float;
    ops->rmsnorm = avx2_rmsnorm;
    ops->softmax = avx2_softmax;
    ops->silu_mul = avx2_silu_mul;
    ops->axpy = avx2_axpy;
    ops->dot = avx2_dot;
    ops->add = avx2_add;
}
