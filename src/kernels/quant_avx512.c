/*
 * quant_avx512.c — AVX-512 kernels of the quantized types (needs F, BW, VL
 * and VNNI; quant_table.c falls back to the AVX2 set without VNNI):
 *   - Q8_0 / Q4_0 vec_dot and vec_dot4: two blocks per 512-bit register;
 *   - Q4_K / Q5_K / Q6_K vec_dot4: 64 weights per 512-bit register, the
 *     sub-block scales spread over int16 lanes with vpermw;
 *   - everything else: the 256-bit bodies of quant_x86.h, with vpdpbusd
 *     (AVX512-VL VNNI) where the int8 products need no per-lane scale.
 * Single K-quant rows keep the 256-bit bodies: measured faster, since the
 * scale spreading only pays when 4 activation rows share it.
 */
#define QUANT_VNNI 1
/* some 256-bit bodies are replaced by 512-bit ones below */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "quant_x86.h"

/* ==== 512-bit Q8_0 / Q4_0 =================================================== */

/* two 32-byte halves into one register */
static inline __m512i load2x256(const void *lo, const void *hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(load256(lo)), load256(hi), 1);
}

/* the 32 nibbles of two Q4_0 blocks (low nibbles then high, per block) */
static inline __m512i join2_nibbles(const uint8_t *qs0, const uint8_t *qs1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(nibbles32(qs0)), nibbles32(qs1), 1);
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

/* sum w*a over signed bytes: |w| times a negated where w < 0 (AVX-512 has
 * no vpsignb); two blocks per register, two registers per step */
static inline __m512i dot_s8s8_512(__m512i w, __m512i a) {
    const __m512i z = _mm512_setzero_si512();
    return _mm512_dpbusd_epi32(z, _mm512_abs_epi8(w), _mm512_mask_sub_epi8(a, _mm512_movepi8_mask(w), z, a));
}

float vec_dot_q8_0_q8_0_avx512(int64_t n, const void *wv, const void *av) {
    quant_f16_table_ready();
    const block_q8_0 *w = wv;
    const block_q8_0 *a = av;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t nb = n / 32, i = 0;
    for (; i + 3 < nb; i += 4) {
        __m512i p0 = dot_s8s8_512(load2x256(w[i].qs, w[i + 1].qs), load2x256(a[i].qs, a[i + 1].qs));
        __m512i p1 = dot_s8s8_512(load2x256(w[i + 2].qs, w[i + 3].qs), load2x256(a[i + 2].qs, a[i + 3].qs));
        acc0 = _mm512_fmadd_ps(set2_ps(h2f(w[i].d) * h2f(a[i].d), h2f(w[i + 1].d) * h2f(a[i + 1].d)),
                               _mm512_cvtepi32_ps(p0), acc0);
        acc1 = _mm512_fmadd_ps(set2_ps(h2f(w[i + 2].d) * h2f(a[i + 2].d), h2f(w[i + 3].d) * h2f(a[i + 3].d)),
                               _mm512_cvtepi32_ps(p1), acc1);
    }
    float sum = hsum512(_mm512_add_ps(acc0, acc1));
    if (i < nb) sum += t_dot_q8_0(32 * (nb - i), &w[i], &a[i]);
    return sum;
}

/* nibbles - 8 as signed bytes, then as Q8_0 */
float vec_dot_q4_0_q8_0_avx512(int64_t n, const void *wv, const void *av) {
    quant_f16_table_ready();
    const block_q4_0 *w = wv;
    const block_q8_0 *a = av;
    const __m512i off = _mm512_set1_epi8(8);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t nb = n / 32, i = 0;
    for (; i + 3 < nb; i += 4) {
        __m512i q0 = _mm512_sub_epi8(join2_nibbles(w[i].qs, w[i + 1].qs), off);
        __m512i q1 = _mm512_sub_epi8(join2_nibbles(w[i + 2].qs, w[i + 3].qs), off);
        __m512i p0 = dot_s8s8_512(q0, load2x256(a[i].qs, a[i + 1].qs));
        __m512i p1 = dot_s8s8_512(q1, load2x256(a[i + 2].qs, a[i + 3].qs));
        acc0 = _mm512_fmadd_ps(set2_ps(h2f(w[i].d) * h2f(a[i].d), h2f(w[i + 1].d) * h2f(a[i + 1].d)),
                               _mm512_cvtepi32_ps(p0), acc0);
        acc1 = _mm512_fmadd_ps(set2_ps(h2f(w[i + 2].d) * h2f(a[i + 2].d), h2f(w[i + 3].d) * h2f(a[i + 3].d)),
                               _mm512_cvtepi32_ps(p1), acc1);
    }
    float sum = hsum512(_mm512_add_ps(acc0, acc1));
    if (i < nb) sum += t_dot_q4_0(32 * (nb - i), &w[i], &a[i]);
    return sum;
}

/* ==== 256-bit bodies with VNNI (Q4_1, Q5_*, Q2_K, Q3_K) ============================================== */
float vec_dot_q4_1_q8_1_avx512(int64_t n, const void *w, const void *a) { return t_dot_q4_1(n, w, a); }
float vec_dot_q5_0_q8_0_avx512(int64_t n, const void *w, const void *a) { return t_dot_q5_0(n, w, a); }
float vec_dot_q5_1_q8_1_avx512(int64_t n, const void *w, const void *a) { return t_dot_q5_1(n, w, a); }
float vec_dot_q2_K_q8_K_avx512(int64_t n, const void *w, const void *a) { return t_dot_q2_K(n, w, a); }
float vec_dot_q3_K_q8_K_avx512(int64_t n, const void *w, const void *a) { return t_dot_q3_K(n, w, a); }
/* (single rows of Q4_K..Q6_K: the 256-bit bodies measured faster than the
 * 512-bit ones, whose vpermw scale spreading only pays over 4 rows) */
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

/* K-quants: 64 weights (two or four sub-blocks) per 512-bit register; the
 * per-sub-block scales are spread over the int16 lanes with vpermw */

/* int16 lane j of chunk c takes scale IDX[c][j]: Q4_K/Q5_K chunks are 2
 * sub-blocks of 32 (lanes 0-15, 16-31), Q6_K chunks 4 sub-blocks of 16 */
static const uint16_t IDX_K45[4][32] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5},
    {6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7},
};
static const uint16_t IDX_K6[4][32] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
    {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15},
};

static inline __m512i scales_for(__m256i s16, const uint16_t idx[32]) {
    return _mm512_permutexvar_epi16(_mm512_loadu_si512(idx), _mm512_castsi256_si512(s16));
}

static inline __m512i join256(__m256i lo, __m256i hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

static inline int hsum512_epi32(__m512i v) {
    return hsum_epi32(_mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1)));
}

/* nr activation rows (4: vec_dot4; a single row is faster with the 256-bit body) */
static inline __attribute__((always_inline)) void dotn_q45_K_512(int nr, int64_t n, const uint8_t *base, size_t bsize, size_t off_qs,
                                  ptrdiff_t off_qh, const void *x, size_t x_stride, int nx, float *out) {
    quant_f16_table_ready();
    ROWS4(block_q8_K, x, x_stride, nx, a);
    const __m256i m4 = _mm256_set1_epi8(15), b4 = _mm256_set1_epi8(0x10);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    float summ[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *blk = base + (size_t)i * bsize;
        uint16_t wd, wdmin;
        memcpy(&wd, blk, 2), memcpy(&wdmin, blk + 2, 2);
        const __m128i sm = k4_scales_mins(blk + 4);
        const __m128i mins16 = _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8));
        const __m256i s16 = _mm256_cvtepu8_epi16(sm);
        __m512i u[4], scv[4];
        __m256i hbits = off_qh >= 0 ? load256(blk + off_qh) : _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            const __m256i q = load256(blk + off_qs + 32 * c);
            __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if (off_qh >= 0) {
                lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(hbits, 4), b4));
                hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(hbits, 3), b4));
                hbits = _mm256_srli_epi16(hbits, 2);
            }
            u[c] = join256(lo, hi);
            scv[c] = scales_for(s16, IDX_K45[c]);
        }
        const float d = h2f(wd), dmin = h2f(wdmin);
        for (int k = 0; k < nr; k++) {
            const block_q8_K *y = &a[k][i];
            __m512i isum = _mm512_madd_epi16(_mm512_maddubs_epi16(u[0], _mm512_loadu_si512(y->qs)), scv[0]);
            for (int c = 1; c < 4; c++)
                isum = _mm512_add_epi32(
                    isum, _mm512_madd_epi16(_mm512_maddubs_epi16(u[c], _mm512_loadu_si512(y->qs + 64 * c)), scv[c]));
            const __m256i bs = load256(y->bsums);
            __m128i pm = _mm_madd_epi16(mins16, _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1)));
            pm = _mm_add_epi32(pm, _mm_shuffle_epi32(pm, 0x4e));
            pm = _mm_add_epi32(pm, _mm_shuffle_epi32(pm, 0xb1));
            acc[k] = _mm512_fmadd_ps(_mm512_set1_ps(y->d * d), _mm512_cvtepi32_ps(isum), acc[k]);
            summ[k] += (y->d * dmin) * _mm_cvtsi128_si32(pm);
        }
    }
    for (int k = 0; k < nx; k++) out[k] = hsum512(acc[k]) - summ[k];
}

void vec_dot4_q4_K_q8_K_avx512(int64_t n, const void *w, const void *x, size_t x_stride, int nx, float *out) {
    dotn_q45_K_512(4, n, w, sizeof(block_q4_K), offsetof(block_q4_K, qs), -1, x, x_stride, nx, out);
}

void vec_dot4_q5_K_q8_K_avx512(int64_t n, const void *w, const void *x, size_t x_stride, int nx, float *out) {
    dotn_q45_K_512(4, n, w, sizeof(block_q5_K), offsetof(block_q5_K, qs), (ptrdiff_t)offsetof(block_q5_K, qh), x,
                   x_stride, nx, out);
}



static inline __attribute__((always_inline)) void dotn_q6_K_512(int nr, int64_t n, const void *wv, const void *x, size_t x_stride, int nx,
                                 float *out) {
    quant_f16_table_ready();
    const block_q6_K *w = wv;
    ROWS4(block_q8_K, x, x_stride, nx, a);
    const __m256i m4 = _mm256_set1_epi8(15), m2h = _mm256_set1_epi8(0x30);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    float corr[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w[i].scales));
        __m512i u[4], scv[4];
        for (int h = 0; h < 2; h++) {
            const __m256i l0 = load256(w[i].ql + 64 * h), l1 = load256(w[i].ql + 64 * h + 32);
            const __m256i qh = load256(w[i].qh + 32 * h);
            u[2 * h] = join256(_mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2h)),
                               _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2h)));
            u[2 * h + 1] = join256(
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m2h)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2h)));
        }
        for (int m = 0; m < 4; m++) scv[m] = scales_for(s16, IDX_K6[m]);
        const float d = h2f(w[i].d);
        for (int k = 0; k < nr; k++) {
            const block_q8_K *y = &a[k][i];
            __m512i isum = _mm512_madd_epi16(_mm512_maddubs_epi16(u[0], _mm512_loadu_si512(y->qs)), scv[0]);
            for (int m = 1; m < 4; m++)
                isum = _mm512_add_epi32(
                    isum, _mm512_madd_epi16(_mm512_maddubs_epi16(u[m], _mm512_loadu_si512(y->qs + 64 * m)), scv[m]));
            const int off = hsum_epi32(_mm256_madd_epi16(s16, load256(y->bsums)));   /* q = u - 32 */
            const float dd = y->d * d;
            acc[k] = _mm512_fmadd_ps(_mm512_set1_ps(dd), _mm512_cvtepi32_ps(isum), acc[k]);
            corr[k] += dd * (32 * off);
        }
    }
    for (int k = 0; k < nx; k++) out[k] = hsum512(acc[k]) - corr[k];
}

void vec_dot4_q6_K_q8_K_avx512(int64_t n, const void *w, const void *x, size_t x_stride, int nx, float *out) {
    dotn_q6_K_512(4, n, w, x, x_stride, nx, out);
}


/* ==== activations ========================================================== */
void quantize_row_q8_0_avx512(const float *x, void *y, int64_t n) { t_quantize_q8_0(x, y, n); }
void quantize_row_q8_1_avx512(const float *x, void *y, int64_t n) { t_quantize_q8_1(x, y, n); }
void quantize_row_q8_K_avx512(const float *x, void *y, int64_t n) { t_quantize_q8_K(x, y, n); }

/* 256-bit vec_dot4 of the other types */
void vec_dot4_q5_0_q8_0_avx512(int64_t n, const void *w, const void *x, size_t s, int nx, float *o) { t_dot4_q5_0(n, w, x, s, nx, o); }
void vec_dot4_q2_K_q8_K_avx512(int64_t n, const void *w, const void *x, size_t s, int nx, float *o) { t_dot4_q2_K(n, w, x, s, nx, o); }
void vec_dot4_q3_K_q8_K_avx512(int64_t n, const void *w, const void *x, size_t s, int nx, float *o) { t_dot4_q3_K(n, w, x, s, nx, o); }

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
