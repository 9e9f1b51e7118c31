/*
 * quant_avx512.c — AVX-512 kernels of the quantized types (needs F, BW, VL
 * and VNNI; quant_table.c falls back to the AVX2 set without VNNI). Q8_0 and
 * Q4_0 dot two blocks per 512-bit register; the other types use the 256-bit
 * bodies of quant_x86.h with vpdpbusd (AVX512-VL VNNI) for the int8
 * products.
 */
#define QUANT_VNNI 1
#include "quant_x86.h"

/* ==== 512-bit Q8_0 / Q4_0 =================================================== */

/* two 32-byte halves into one register */
static inline __m512i load2x256(const void *lo, const void *hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(load256(lo)), load256(hi), 1);
}

/* lanes 0..7 = a, lanes 8..15 = b */
static inline __m512 set2_ps(float a, float b) {
    __m512d lo = _mm512_castps_pd(_mm512_castps256_ps512(_mm256_set1_ps(a)));
    return _mm512_castpd_ps(_mm512_insertf64x4(lo, _mm256_castps_pd(_mm256_set1_ps(b)), 1));
}

static inline float hsum512(__m512 v) {
    __m256 lo = _mm512_castps512_ps256(v);
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    return hsum_ps(_mm256_add_ps(lo, hi));
}

/* sum w*a over signed bytes: (w ^ 0x80) is w + 128 as an unsigned byte, so
 * sum w*a = dpbusd(w ^ 0x80, a) - 128 * dpbusd(1, a) */
float vec_dot_q8_0_q8_0_avx512(int64_t n, const void *wv, const void *av) {
    quant_f16_table_ready();
    const block_q8_0 *w = wv;
    const block_q8_0 *a = av;
    const __m512i flip = _mm512_set1_epi8((char)0x80), ones = _mm512_set1_epi8(1), z = _mm512_setzero_si512();
    __m512 acc = _mm512_setzero_ps();
    int64_t nb = n / 32, i = 0;
    for (; i + 1 < nb; i += 2) {
        __m512i wq = load2x256(w[i].qs, w[i + 1].qs), aq = load2x256(a[i].qs, a[i + 1].qs);
        __m512i p = _mm512_dpbusd_epi32(z, _mm512_xor_si512(wq, flip), aq);
        __m512i s = _mm512_dpbusd_epi32(z, ones, aq);
        p = _mm512_sub_epi32(p, _mm512_slli_epi32(s, 7));
        acc = _mm512_fmadd_ps(set2_ps(h2f(w[i].d) * h2f(a[i].d), h2f(w[i + 1].d) * h2f(a[i + 1].d)),
                              _mm512_cvtepi32_ps(p), acc);
    }
    float sum = hsum512(acc);
    if (i < nb) sum += t_dot_q8_0(32, &w[i], &a[i]);
    return sum;
}

/* nibbles u in 0..15: sum (u-8)*a = dpbusd(u, a) - 8 * dpbusd(1, a) */
float vec_dot_q4_0_q8_0_avx512(int64_t n, const void *wv, const void *av) {
    quant_f16_table_ready();
    const block_q4_0 *w = wv;
    const block_q8_0 *a = av;
    const __m512i ones = _mm512_set1_epi8(1), z = _mm512_setzero_si512();
    __m512 acc = _mm512_setzero_ps();
    int64_t nb = n / 32, i = 0;
    for (; i + 1 < nb; i += 2) {
        __m512i u = _mm512_inserti64x4(_mm512_castsi256_si512(nibbles32(w[i].qs)), nibbles32(w[i + 1].qs), 1);
        __m512i aq = load2x256(a[i].qs, a[i + 1].qs);
        __m512i p = _mm512_dpbusd_epi32(z, u, aq);
        __m512i s = _mm512_dpbusd_epi32(z, ones, aq);
        p = _mm512_sub_epi32(p, _mm512_slli_epi32(s, 3));
        acc = _mm512_fmadd_ps(set2_ps(h2f(w[i].d) * h2f(a[i].d), h2f(w[i + 1].d) * h2f(a[i + 1].d)),
                              _mm512_cvtepi32_ps(p), acc);
    }
    float sum = hsum512(acc);
    if (i < nb) sum += t_dot_q4_0(32, &w[i], &a[i]);
    return sum;
}

/* ==== 256-bit bodies with VNNI ============================================== */
float vec_dot_q4_1_q8_1_avx512(int64_t n, const void *w, const void *a) { return t_dot_q4_1(n, w, a); }
float vec_dot_q5_0_q8_0_avx512(int64_t n, const void *w, const void *a) { return t_dot_q5_0(n, w, a); }
float vec_dot_q5_1_q8_1_avx512(int64_t n, const void *w, const void *a) { return t_dot_q5_1(n, w, a); }
float vec_dot_q2_K_q8_K_avx512(int64_t n, const void *w, const void *a) { return t_dot_q2_K(n, w, a); }
float vec_dot_q3_K_q8_K_avx512(int64_t n, const void *w, const void *a) { return t_dot_q3_K(n, w, a); }
float vec_dot_q4_K_q8_K_avx512(int64_t n, const void *w, const void *a) { return t_dot_q4_K(n, w, a); }
float vec_dot_q5_K_q8_K_avx512(int64_t n, const void *w, const void *a) { return t_dot_q5_K(n, w, a); }
float vec_dot_q6_K_q8_K_avx512(int64_t n, const void *w, const void *a) { return t_dot_q6_K(n, w, a); }

/* ==== 4 rows at once (prefill) ==============================================
 * Q8_0 / Q4_0: two blocks per 512-bit register; the weights' magnitudes and
 * sign mask are made once per block pair and used for all 4 rows (the
 * activations are negated where the weight is negative). */

static inline void dot4_pairs(const __m512i u, const __mmask64 neg, float wd0, float wd1, const block_q8_0 *const a[4],
                              int64_t i, __m512 acc[4]) {
    const __m512i z = _mm512_setzero_si512();
    for (int k = 0; k < 4; k++) {
        __m512i y = load2x256(a[k][i].qs, a[k][i + 1].qs);
        y = _mm512_mask_sub_epi8(y, neg, z, y);
        __m512i p = _mm512_dpbusd_epi32(z, u, y);
        acc[k] = _mm512_fmadd_ps(set2_ps(wd0 * h2f(a[k][i].d), wd1 * h2f(a[k][i + 1].d)), _mm512_cvtepi32_ps(p), acc[k]);
    }
}

void vec_dot4_q8_0_q8_0_avx512(int64_t n, const void *wv, const void *x, size_t x_stride, int nx, float *out) {
    quant_f16_table_ready();
    const block_q8_0 *w = wv;
    ROWS4(block_q8_0, x, x_stride, nx, a);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    int64_t nb = n / 32, i = 0;
    for (; i + 1 < nb; i += 2) {
        const __m512i q = load2x256(w[i].qs, w[i + 1].qs);
        dot4_pairs(_mm512_abs_epi8(q), _mm512_movepi8_mask(q), h2f(w[i].d), h2f(w[i + 1].d), a, i, acc);
    }
    for (int k = 0; k < nx; k++) {
        out[k] = hsum512(acc[k]);
        if (i < nb) out[k] += t_dot_q8_0(32, &w[i], &a[k][i]);
    }
}

void vec_dot4_q4_0_q8_0_avx512(int64_t n, const void *wv, const void *x, size_t x_stride, int nx, float *out) {
    quant_f16_table_ready();
    const block_q4_0 *w = wv;
    ROWS4(block_q8_0, x, x_stride, nx, a);
    const __m512i off = _mm512_set1_epi8(8);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    int64_t nb = n / 32, i = 0;
    for (; i + 1 < nb; i += 2) {
        __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(nibbles32(w[i].qs)), nibbles32(w[i + 1].qs), 1);
        q = _mm512_sub_epi8(q, off);
        dot4_pairs(_mm512_abs_epi8(q), _mm512_movepi8_mask(q), h2f(w[i].d), h2f(w[i + 1].d), a, i, acc);
    }
    for (int k = 0; k < nx; k++) {
        out[k] = hsum512(acc[k]);
        if (i < nb) out[k] += t_dot_q4_0(32, &w[i], &a[k][i]);
    }
}

#define DOT4(T, A)                                                                                     \
    void vec_dot4_##T##_##A##_avx512(int64_t n, const void *w, const void *x, size_t x_stride, int nx, float *out) { \
        t_dot4_##T(n, w, x, x_stride, nx, out);                                                        \
    }
DOT4(q4_K, q8_K)
DOT4(q5_K, q8_K)
DOT4(q6_K, q8_K)

/* ==== activations ========================================================== */
void quantize_row_q8_0_avx512(const float *x, void *y, int64_t n) { t_quantize_q8_0(x, y, n); }
void quantize_row_q8_1_avx512(const float *x, void *y, int64_t n) { t_quantize_q8_1(x, y, n); }
void quantize_row_q8_K_avx512(const float *x, void *y, int64_t n) { t_quantize_q8_K(x, y, n); }

/* ==== dequantize ============================================================ */
void dequantize_row_q4_0_avx512(const void *s, float *d, int64_t n) { t_dequant_q4_0(s, d, n); }
void dequantize_row_q8_0_avx512(const void *s, float *d, int64_t n) { t_dequant_q8_0(s, d, n); }
void dequantize_row_q4_K_avx512(const void *s, float *d, int64_t n) { t_dequant_q4_K(s, d, n); }
void dequantize_row_q6_K_avx512(const void *s, float *d, int64_t n) { t_dequant_q6_K(s, d, n); }
void dequantize_row_q4_1_avx512(const void *s, float *d, int64_t n) { dequantize_row_q4_1_ref(s, d, n); }
void dequantize_row_q5_0_avx512(const void *s, float *d, int64_t n) { dequantize_row_q5_0_ref(s, d, n); }
void dequantize_row_q5_1_avx512(const void *s, float *d, int64_t n) { dequantize_row_q5_1_ref(s, d, n); }
void dequantize_row_q2_K_avx512(const void *s, float *d, int64_t n) { dequantize_row_q2_K_ref(s, d, n); }
void dequantize_row_q3_K_avx512(const void *s, float *d, int64_t n) { dequantize_row_q3_K_ref(s, d, n); }
void dequantize_row_q5_K_avx512(const void *s, float *d, int64_t n) { dequantize_row_q5_K_ref(s, d, n); }
