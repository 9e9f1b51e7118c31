/*
 * kernels_avx512.c — AVX-512 (F/BW/VL) versions of the float kernels: rows of
 * 16 lanes, F16 through vcvtph2ps, exp through scalef. Same maths as
 * kernels_ref.c up to rounding.
 */
#include "kernels_internal.h"

#include <immintrin.h>
#include <math.h>

/* ==== helpers ================================================================ */
static inline __m512 load_f16(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
static inline __m512 load_bf16(const uint16_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}
static inline __m512 load_f32(const float *p) { return _mm512_loadu_ps(p); }

/* exp(x), ~2 ulp; scalef handles the 2^n factor (underflows to 0 cleanly) */
static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(88.7f));
    __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, fx);
}

/* masked tail loads: the last n % 16 elements */
static inline __m512 tail_f32(const float *p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
static inline __m512 tail_f16(const uint16_t *p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}
static inline __m512 tail_bf16(const uint16_t *p, __mmask16 m) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}

/* ==== rows ==================================================================== */
#define DEFINE_DOT(NAME, WT, LOADW, TAILW)                                                     \
    static float NAME(int64_t n, const void *w, const void *x) {                               \
        const WT *a = w;                                                                         \
        const float *b = x;                                                                      \
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;                              \
        int64_t i = 0;                                                                           \
        for (; i + 64 <= n; i += 64) {                                                           \
            s0 = _mm512_fmadd_ps(LOADW(a + i), _mm512_loadu_ps(b + i), s0);                      \
            s1 = _mm512_fmadd_ps(LOADW(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);            \
            s2 = _mm512_fmadd_ps(LOADW(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);            \
            s3 = _mm512_fmadd_ps(LOADW(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);            \
        }                                                                                        \
        for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(LOADW(a + i), _mm512_loadu_ps(b + i), s0); \
        if (i < n) {                                                                             \
            __mmask16 m = (__mmask16)((1u << (n - i)) - 1);                                      \
            s1 = _mm512_fmadd_ps(TAILW(a + i, m), tail_f32(b + i, m), s1);                       \
        }                                                                                        \
        return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3))); \
    }                                                                                            \
    /* out[k] = w . x_k for nx <= 4 rows of x: each w vector is loaded once */                  \
    static void NAME##4(int64_t n, const void *w, const void *x, size_t xs, int nx, float *out) { \
        const WT *a = w;                                                                         \
        if (nx < 4) {                                                                            \
            for (int k = 0; k < nx; k++) out[k] = NAME(n, w, (const char *)x + k * xs);          \
            return;                                                                              \
        }                                                                                        \
        const float *b0 = x, *b1 = (const void *)((const char *)x + xs);                         \
        const float *b2 = (const void *)((const char *)x + 2 * xs);                              \
        const float *b3 = (const void *)((const char *)x + 3 * xs);                              \
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;                              \
        __m512 t0 = s0, t1 = s0, t2 = s0, t3 = s0;                                               \
        int64_t i = 0;                                                                           \
        for (; i + 32 <= n; i += 32) {                                                           \
            __m512 wa = LOADW(a + i), wb = LOADW(a + i + 16);                                    \
            s0 = _mm512_fmadd_ps(wa, _mm512_loadu_ps(b0 + i), s0);                               \
            s1 = _mm512_fmadd_ps(wa, _mm512_loadu_ps(b1 + i), s1);                               \
            s2 = _mm512_fmadd_ps(wa, _mm512_loadu_ps(b2 + i), s2);                               \
            s3 = _mm512_fmadd_ps(wa, _mm512_loadu_ps(b3 + i), s3);                               \
            t0 = _mm512_fmadd_ps(wb, _mm512_loadu_ps(b0 + i + 16), t0);                          \
            t1 = _mm512_fmadd_ps(wb, _mm512_loadu_ps(b1 + i + 16), t1);                          \
            t2 = _mm512_fmadd_ps(wb, _mm512_loadu_ps(b2 + i + 16), t2);                          \
            t3 = _mm512_fmadd_ps(wb, _mm512_loadu_ps(b3 + i + 16), t3);                          \
        }                                                                                        \
        for (; i < n; i += 16) {                                                                 \
            __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);    \
            __m512 wa = TAILW(a + i, m);                                                         \
            s0 = _mm512_fmadd_ps(wa, tail_f32(b0 + i, m), s0);                                   \
            s1 = _mm512_fmadd_ps(wa, tail_f32(b1 + i, m), s1);                                   \
            s2 = _mm512_fmadd_ps(wa, tail_f32(b2 + i, m), s2);                                   \
            s3 = _mm512_fmadd_ps(wa, tail_f32(b3 + i, m), s3);                                   \
        }                                                                                        \
        out[0] = _mm512_reduce_add_ps(_mm512_add_ps(s0, t0));                                    \
        out[1] = _mm512_reduce_add_ps(_mm512_add_ps(s1, t1));                                    \
        out[2] = _mm512_reduce_add_ps(_mm512_add_ps(s2, t2));                                    \
        out[3] = _mm512_reduce_add_ps(_mm512_add_ps(s3, t3));                                    \
    }

DEFINE_DOT(f32_dot, float, load_f32, tail_f32)
DEFINE_DOT(f16_dot, uint16_t, load_f16, tail_f16)
DEFINE_DOT(bf16_dot, uint16_t, load_bf16, tail_bf16)

static void f16_to_float(const void *src, float *dst, int64_t n) {
    const uint16_t *s = src;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, load_f16(s + i));
    for (; i < n; i++) dst[i] = hearth_fp16_to_fp32(s[i]);
}

static void f16_from_float(const float *src, void *dst, int64_t n) {
    uint16_t *d = dst;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(d + i), _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) d[i] = hearth_fp32_to_fp16(src[i]);
}

static void bf16_to_float(const void *src, float *dst, int64_t n) {
    const uint16_t *s = src;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, load_bf16(s + i));
    for (; i < n; i++) dst[i] = hearth_bf16_to_fp32(s[i]);
}

/* ==== ops ===================================================================== */
static inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1); }

static void avx512_rmsnorm(float *y, const float *x, const float *w, int64_t n, float eps) {
    __m512 s = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        __m512 v = _mm512_maskz_loadu_ps(tail_mask(n - i), x + i);
        s = _mm512_fmadd_ps(v, v, s);
    }
    double ss = _mm512_reduce_add_ps(s);
    __m512 sc = _mm512_set1_ps((float)(1.0 / sqrt(ss / (double)n + eps)));
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), sc), _mm512_maskz_loadu_ps(m, w + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

static void avx512_softmax(float *x, int64_t n) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (int64_t i = 0; i < n; i += 16) m = _mm512_max_ps(m, _mm512_mask_loadu_ps(m, tail_mask(n - i), x + i));
    __m512 vmx = _mm512_set1_ps(_mm512_reduce_max_ps(m)), s = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vmx));
        _mm512_mask_storeu_ps(x + i, k, e);
        s = _mm512_add_ps(s, _mm512_maskz_mov_ps(k, e));
    }
    __m512 inv = _mm512_set1_ps((float)(1.0 / (double)_mm512_reduce_add_ps(s)));
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), inv));
    }
}

static void avx512_silu_mul(float *y, const float *gate, const float *up, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 g = _mm512_maskz_loadu_ps(k, gate + i);
        __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
        __m512 silu = _mm512_div_ps(g, _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(k, up + i)));
    }
}

static void avx512_axpy(int64_t n, float a, const void *x, uint32_t xtype, float *y) {
    __m512 va = _mm512_set1_ps(a);
    if (xtype == HEARTH_TYPE_F16) {
        const uint16_t *h = x;
        for (int64_t i = 0; i < n; i += 16) {
            __mmask16 k = tail_mask(n - i);
            _mm512_mask_storeu_ps(y + i, k, _mm512_fmadd_ps(va, tail_f16(h + i, k), _mm512_maskz_loadu_ps(k, y + i)));
        }
    } else {
        const float *f = x;
        for (int64_t i = 0; i < n; i += 16) {
            __mmask16 k = tail_mask(n - i);
            _mm512_mask_storeu_ps(y + i, k, _mm512_fmadd_ps(va, tail_f32(f + i, k), _mm512_maskz_loadu_ps(k, y + i)));
        }
    }
}

static float avx512_dot(int64_t n, const void *x, uint32_t xtype, const float *y) {
    return xtype == HEARTH_TYPE_F16 ? f16_dot(n, x, y) : f32_dot(n, x, y);
}

static void avx512_add(float *y, const float *x, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, x + i), _mm512_maskz_loadu_ps(k, b + i)));
    }
}

/* ==== F16 register tiles (prefill) =============================================
 * gemm4x4: 4 F16 weight rows x 4 F32 activation rows, 16 accumulators:
 * out[4*r + t] = sum_i W[r][i] * X[t][i]. Each weight vector is converted
 * once for 4 activation rows and each activation vector loaded once for 4
 * weight rows, so the loop is FMA-bound (f16_dot4 is load/convert-bound).
 * Same products as f16_dot; the reference is 16 calls of it. */
static void f16_gemm4x4(int64_t n, const void *w, size_t w_stride, const void *x, size_t x_stride, float *out) {
    __m512 acc[16];
    for (int k = 0; k < 16; k++) acc[k] = _mm512_setzero_ps();
    const uint16_t *W[4];
    const float *X[4];
    for (int r = 0; r < 4; r++) W[r] = (const uint16_t *)((const char *)w + (size_t)r * w_stride);
    for (int t = 0; t < 4; t++) X[t] = (const void *)((const char *)x + (size_t)t * x_stride);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 xv[4];
        for (int t = 0; t < 4; t++) xv[t] = _mm512_maskz_loadu_ps(k, X[t] + i);
        for (int r = 0; r < 4; r++) {
            __m512 wv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, W[r] + i));
            for (int t = 0; t < 4; t++) acc[4 * r + t] = _mm512_fmadd_ps(wv, xv[t], acc[4 * r + t]);
        }
    }
    for (int k = 0; k < 16; k++) out[k] = _mm512_reduce_add_ps(acc[k]);
}

/* ==== registration ============================================================== */
void kernels_fill_avx512(hearth_type_traits t[HEARTH_TYPE_COUNT], hearth_ops *ops) {
    t[HEARTH_TYPE_F32].vec_dot = f32_dot;
    t[HEARTH_TYPE_F32].vec_dot4 = f32_dot4;
    t[HEARTH_TYPE_F16].vec_dot = f16_dot;
    t[HEARTH_TYPE_F16].vec_dot4 = f16_dot4;
    t[HEARTH_TYPE_F16].gemm4x4 = f16_gemm4x4;
    t[HEARTH_TYPE_F16].to_float = f16_to_float;
    t[HEARTH_TYPE_F16].from_float = f16_from_float;
    t[HEARTH_TYPE_BF16].vec_dot = bf16_dot;
    t[HEARTH_TYPE_BF16].vec_dot4 = bf16_dot4;
    t[HEARTH_TYPE_BF16].to_float = bf16_to_float;
    ops->rmsnorm = avx512_rmsnorm;
    ops->softmax = avx512_softmax;
    ops->silu_mul = avx512_silu_mul;
    ops->axpy = avx512_axpy;
    ops->dot = avx512_dot;
    ops->add = avx512_add;
}
