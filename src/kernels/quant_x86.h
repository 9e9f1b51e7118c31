/*
 * quant_x86.h — the 256-bit kernels of the quantized types, written once and
 * compiled three times: by quant_avx2.c (AVX2 + FMA + F16C), by
 * quant_avx512.c (with AVX512-VL/VNNI: vpdpbusd replaces vpmaddubsw +
 * vpmaddwd) and by quant_avxvnni.c (AVX2 with the VEX-coded AVX-VNNI
 * vpdpbusd of CPUs without AVX-512). Include after defining nothing (AVX2),
 * QUANT_VNNI (AVX-512 VNNI) or QUANT_AVXVNNI (AVX-VNNI). All
 * functions are static; the including file exports the ones it uses.
 *
 * Shared idea: the weights' quants are brought to unsigned bytes u (0..63),
 * multiplied with the signed activation bytes in groups of 4 into int32
 * lanes (exact), scaled per sub-block in integers, and only then converted
 * to float once per block (Q4_0..Q8_0) or super-block (K-quants). Offsets
 * (-8, -16, -32, -4 and the K-quant mins) are applied through the
 * activations' block sums, as in the reference.
 */
#ifndef HEARTH_QUANT_X86_H
#define HEARTH_QUANT_X86_H

#include "quant.h"

#include <immintrin.h>
#include <math.h>
#include <stddef.h>

/* ==== primitives ============================================================ */

static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float h2f(uint16_t h) { return quant_f16_table[h]; }

/* int32 lane k = sum of the 4 products u[4k..4k+3] * s[4k..4k+3]
 * (u unsigned bytes, s signed bytes; AVX2 path: u*s pairs must fit int16,
 * true for u <= 128, |s| <= 127) */
static inline __m256i dot_u8s8(__m256i u, __m256i s) {
#if defined(QUANT_VNNI)
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#elif defined(QUANT_AVXVNNI)
    return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

/* the same with lanes 0..3 (bytes 0..15) times scale A and lanes 4..7 times
 * scale B, given scv = sc_pair(): vpmaddwd multiplies by the scales while it
 * adds the pairs, so this is 2 instructions on both ISAs (vpdpbusd would
 * need a vpmulld after it) */
static inline __m256i dot_u8s8_sc(__m256i u, __m256i s, __m256i scv) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scv);
}

/* int16 lanes 0..7 = sc8[2k], lanes 8..15 = sc8[2k+1] (sc8: 16 signed bytes) */
static inline __m256i sc_pair(__m128i sc8, int k) {
    const __m128i idx = _mm_set_epi64x((long long)(0x0101010101010101ULL * (uint64_t)(2 * k + 1)),
                                       (long long)(0x0101010101010101ULL * (uint64_t)(2 * k)));
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, idx));
}

static inline int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* sum_s sc8[s] * bsums[s] over the 16 sub-blocks (sc8: 16 signed bytes) */
static inline int dot_sc_bsums(__m128i sc8, const int16_t *bsums) {
    return hsum_epi32(_mm256_madd_epi16(_mm256_cvtepi8_epi16(sc8), _mm256_loadu_si256((const __m256i *)bsums)));
}

/* Q3_K: the 16 scales (-32..31) as signed bytes, from the packed 12 bytes */
static inline __m128i q3k_scales8(const uint8_t *s) {
    uint32_t u0, u1, u2;
    memcpy(&u0, s, 4), memcpy(&u1, s + 4, 4), memcpy(&u2, s + 8, 4);
    const uint32_t lo4 = 0x0f0f0f0f, lo2 = 0x03030303;
    __m128i v = _mm_set_epi32((int)(((u1 >> 4) & lo4) | (((u2 >> 6) & lo2) << 4)),
                              (int)(((u0 >> 4) & lo4) | (((u2 >> 4) & lo2) << 4)),
                              (int)((u1 & lo4) | (((u2 >> 2) & lo2) << 4)), (int)((u0 & lo4) | ((u2 & lo2) << 4)));
    return _mm_sub_epi8(v, _mm_set1_epi8(32));
}

/* Q4_K / Q5_K: the 8 scales in bytes 0..7 and the 8 mins in bytes 8..15 */
static inline __m128i k4_scales_mins(const uint8_t *s) {
    uint32_t u0, u1, u2;
    memcpy(&u0, s, 4), memcpy(&u1, s + 4, 4), memcpy(&u2, s + 8, 4);
    const uint32_t m6 = 0x3f3f3f3f, lo4 = 0x0f0f0f0f, hi2 = 0x30303030;
    return _mm_set_epi32((int)(((u2 >> 4) & lo4) | ((u1 >> 2) & hi2)), (int)(u1 & m6),
                         (int)((u2 & lo4) | ((u0 >> 2) & hi2)), (int)(u0 & m6));
}

/* signed x signed via the sign trick: |w| * (s with w's sign) */
static inline __m256i dot_s8s8(__m256i w, __m256i s) {
    return dot_u8s8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(s, w));
}

/* 32 nibbles of a 16-byte Q4 block: low nibbles in bytes 0..15, high in 16..31 */
static inline __m256i nibbles32(const uint8_t *qs) {
    __m128i q = _mm_loadu_si128((const __m128i *)qs);
    const __m128i m4 = _mm_set1_epi8(15);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
}

/* byte i = 0xFF where bit i of the 32-bit little-endian qh is set */
static inline __m256i bits32_to_bytes(const uint8_t *qh) {
    uint32_t x;
    memcpy(&x, qh, 4);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x),
                                    _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202,
                                                       0x0303030303030303));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

static inline __m256i load256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* ==== Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q8_0 ===================================== */

static float t_dot_q4_0(int64_t n, const void *wv, const void *av) {
    quant_f16_table_ready();
    const block_q4_0 *w = wv;
    const block_q8_0 *a = av;
    const __m256i off = _mm256_set1_epi8(8);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t nb = n / 32, i = 0;
    for (; i + 1 < nb; i += 2) {
        __m256i p0 = dot_s8s8(_mm256_sub_epi8(nibbles32(w[i].qs), off), load256(a[i].qs));
        __m256i p1 = dot_s8s8(_mm256_sub_epi8(nibbles32(w[i + 1].qs), off), load256(a[i + 1].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[i].d) * h2f(a[i].d)), _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[i + 1].d) * h2f(a[i + 1].d)), _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; i < nb; i++) {
        __m256i p0 = dot_s8s8(_mm256_sub_epi8(nibbles32(w[i].qs), off), load256(a[i].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[i].d) * h2f(a[i].d)), _mm256_cvtepi32_ps(p0), acc0);
    }
    return hsum_ps(_mm256_add_ps(acc0, acc1));
}

static float t_dot_q4_1(int64_t n, const void *wv, const void *av) {
    quant_f16_table_ready();
    const block_q4_1 *w = wv;
    const block_q8_1 *a = av;
    __m256 acc = _mm256_setzero_ps();
    float summ = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        __m256i p = dot_u8s8(nibbles32(w[i].qs), load256(a[i].qs));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[i].d) * h2f(a[i].d)), _mm256_cvtepi32_ps(p), acc);
        summ += h2f(w[i].m) * h2f(a[i].s);
    }
    return hsum_ps(acc) + summ;
}

static float t_dot_q5_0(int64_t n, const void *wv, const void *av) {
    quant_f16_table_ready();
    const block_q5_0 *w = wv;
    const block_q8_0 *a = av;
    const __m256i hi = _mm256_set1_epi8((char)0xF0);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 32; i++) {
        /* q - 16: the nibble when the 5th bit is set, nibble | 0xF0 (= nibble - 16) when not */
        __m256i q = _mm256_or_si256(nibbles32(w[i].qs), _mm256_andnot_si256(bits32_to_bytes(w[i].qh), hi));
        __m256i p = dot_s8s8(q, load256(a[i].qs));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[i].d) * h2f(a[i].d)), _mm256_cvtepi32_ps(p), acc);
    }
    return hsum_ps(acc);
}

static float t_dot_q5_1(int64_t n, const void *wv, const void *av) {
    quant_f16_table_ready();
    const block_q5_1 *w = wv;
    const block_q8_1 *a = av;
    const __m256i b4 = _mm256_set1_epi8(0x10);
    __m256 acc = _mm256_setzero_ps();
    float summ = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        __m256i q = _mm256_or_si256(nibbles32(w[i].qs), _mm256_and_si256(bits32_to_bytes(w[i].qh), b4));
        __m256i p = dot_u8s8(q, load256(a[i].qs));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[i].d) * h2f(a[i].d)), _mm256_cvtepi32_ps(p), acc);
        summ += h2f(w[i].m) * h2f(a[i].s);
    }
    return hsum_ps(acc) + summ;
}

static float t_dot_q8_0(int64_t n, const void *wv, const void *av) {
    quant_f16_table_ready();
    const block_q8_0 *w = wv;
    const block_q8_0 *a = av;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t nb = n / 32, i = 0;
    for (; i + 1 < nb; i += 2) {
        __m256i p0 = dot_s8s8(load256(w[i].qs), load256(a[i].qs));
        __m256i p1 = dot_s8s8(load256(w[i + 1].qs), load256(a[i + 1].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[i].d) * h2f(a[i].d)), _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[i + 1].d) * h2f(a[i + 1].d)), _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; i < nb; i++) {
        __m256i p0 = dot_s8s8(load256(w[i].qs), load256(a[i].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[i].d) * h2f(a[i].d)), _mm256_cvtepi32_ps(p0), acc0);
    }
    return hsum_ps(_mm256_add_ps(acc0, acc1));
}

/* ==== K-quants ============================================================== */

static float t_dot_q2_K(int64_t n, const void *wv, const void *av) {
    quant_f16_table_ready();
    const block_q2_K *w = wv;
    const block_q8_K *a = av;
    const __m256i m2 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(15);
    __m256 acc = _mm256_setzero_ps();
    float summ = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m128i raw = _mm_loadu_si128((const __m128i *)w[i].scales);
        const __m128i sc = _mm_and_si128(raw, m4), mn = _mm_and_si128(_mm_srli_epi16(raw, 4), m4);
        const int mins = dot_sc_bsums(mn, a[i].bsums);
        __m256i isum = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i q = load256(w[i].qs + 32 * h);
            const int8_t *y = a[i].qs + 128 * h;
            isum = _mm256_add_epi32(isum, dot_u8s8_sc(_mm256_and_si256(q, m2), load256(y), sc_pair(sc, 4 * h)));
            isum = _mm256_add_epi32(isum, dot_u8s8_sc(_mm256_and_si256(_mm256_srli_epi16(q, 2), m2), load256(y + 32),
                                                      sc_pair(sc, 4 * h + 1)));
            isum = _mm256_add_epi32(isum, dot_u8s8_sc(_mm256_and_si256(_mm256_srli_epi16(q, 4), m2), load256(y + 64),
                                                      sc_pair(sc, 4 * h + 2)));
            isum = _mm256_add_epi32(isum, dot_u8s8_sc(_mm256_and_si256(_mm256_srli_epi16(q, 6), m2), load256(y + 96),
                                                      sc_pair(sc, 4 * h + 3)));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(a[i].d * h2f(w[i].d)), _mm256_cvtepi32_ps(isum), acc);
        summ += (a[i].d * h2f(w[i].dmin)) * mins;
    }
    return hsum_ps(acc) - summ;
}

/* q = u - 4 with u = low 2 bits | (high bit << 2); the -4 goes through bsums */
static inline __m256i q3_u(__m256i q, __m256i hm, int shift, int bit) {
    const __m256i b = _mm256_set1_epi8((char)(1 << bit));
    __m256i hb = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, b), b), _mm256_set1_epi8(4));
    __m256i lo = _mm256_and_si256(_mm256_srli_epi16(q, shift), _mm256_set1_epi8(3));
    return _mm256_or_si256(lo, hb);
}

static float t_dot_q3_K(int64_t n, const void *wv, const void *av) {
    quant_f16_table_ready();
    const block_q3_K *w = wv;
    const block_q8_K *a = av;
    __m256 acc = _mm256_setzero_ps();
    float corr = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m128i sc = q3k_scales8(w[i].scales);
        const int off = dot_sc_bsums(sc, a[i].bsums);
        const __m256i hm = load256(w[i].hmask);
        const __m256i q0 = load256(w[i].qs), q1 = load256(w[i].qs + 32);
        const int8_t *y = a[i].qs;
        __m256i isum = dot_u8s8_sc(q3_u(q0, hm, 0, 0), load256(y), sc_pair(sc, 0));
        isum = _mm256_add_epi32(isum, dot_u8s8_sc(q3_u(q0, hm, 2, 1), load256(y + 32), sc_pair(sc, 1)));
        isum = _mm256_add_epi32(isum, dot_u8s8_sc(q3_u(q0, hm, 4, 2), load256(y + 64), sc_pair(sc, 2)));
        isum = _mm256_add_epi32(isum, dot_u8s8_sc(q3_u(q0, hm, 6, 3), load256(y + 96), sc_pair(sc, 3)));
        isum = _mm256_add_epi32(isum, dot_u8s8_sc(q3_u(q1, hm, 0, 4), load256(y + 128), sc_pair(sc, 4)));
        isum = _mm256_add_epi32(isum, dot_u8s8_sc(q3_u(q1, hm, 2, 5), load256(y + 160), sc_pair(sc, 5)));
        isum = _mm256_add_epi32(isum, dot_u8s8_sc(q3_u(q1, hm, 4, 6), load256(y + 192), sc_pair(sc, 6)));
        isum = _mm256_add_epi32(isum, dot_u8s8_sc(q3_u(q1, hm, 6, 7), load256(y + 224), sc_pair(sc, 7)));
        const float d = a[i].d * h2f(w[i].d);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
        corr += d * (4 * off);
    }
    return hsum_ps(acc) - corr;
}

/* Q4_K and Q5_K share everything but the 5th bit */
static inline float dot_q45_K_block(const uint8_t *qs, const uint8_t *qh, const uint8_t *scales, uint16_t wd,
                                    uint16_t wdmin, const block_q8_K *a, __m256 *acc) {
    const __m256i m4 = _mm256_set1_epi8(15), b4 = _mm256_set1_epi8(0x10);
    const __m128i sm = k4_scales_mins(scales);
    /* mins: sum_s m[s] * (bsums[2s] + bsums[2s+1]) */
    const __m256i bs = load256(a->bsums);
    const __m128i bs2 = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
    __m128i pm = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_srli_si128(sm, 8)), bs2);
    pm = _mm_add_epi32(pm, _mm_shuffle_epi32(pm, 0x4e));
    pm = _mm_add_epi32(pm, _mm_shuffle_epi32(pm, 0xb1));
    const int mins = _mm_cvtsi128_si32(pm);
    /* scale pair k as int16: sub-block 2c for bytes 0..31 of chunk c... each
     * 32-byte vector is one sub-block here, so both halves get the same scale */
    const __m128i sc2 = _mm_unpacklo_epi8(sm, sm);   /* s0 s0 s1 s1 ... s7 s7 */
    __m256i hbits = qh ? load256(qh) : _mm256_setzero_si256();
    __m256i isum = _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
        const __m256i q = load256(qs + 32 * c);
        __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        if (qh) {
            lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(hbits, 4), b4));
            hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(hbits, 3), b4));
            hbits = _mm256_srli_epi16(hbits, 2);
        }
        isum = _mm256_add_epi32(isum, dot_u8s8_sc(lo, load256(a->qs + 64 * c), sc_pair(sc2, 2 * c)));
        isum = _mm256_add_epi32(isum, dot_u8s8_sc(hi, load256(a->qs + 64 * c + 32), sc_pair(sc2, 2 * c + 1)));
    }
    *acc = _mm256_fmadd_ps(_mm256_set1_ps(a->d * h2f(wd)), _mm256_cvtepi32_ps(isum), *acc);
    return (a->d * h2f(wdmin)) * mins;
}

static float t_dot_q4_K(int64_t n, const void *wv, const void *av) {
    quant_f16_table_ready();
    const block_q4_K *w = wv;
    const block_q8_K *a = av;
    __m256 acc = _mm256_setzero_ps();
    float summ = 0;
    for (int64_t i = 0; i < n / QK_K; i++)
        summ += dot_q45_K_block(w[i].qs, NULL, w[i].scales, w[i].d, w[i].dmin, &a[i], &acc);
    return hsum_ps(acc) - summ;
}

static float t_dot_q5_K(int64_t n, const void *wv, const void *av) {
    quant_f16_table_ready();
    const block_q5_K *w = wv;
    const block_q8_K *a = av;
    __m256 acc = _mm256_setzero_ps();
    float summ = 0;
    for (int64_t i = 0; i < n / QK_K; i++)
        summ += dot_q45_K_block(w[i].qs, w[i].qh, w[i].scales, w[i].d, w[i].dmin, &a[i], &acc);
    return hsum_ps(acc) - summ;
}

static float t_dot_q6_K(int64_t n, const void *wv, const void *av) {
    quant_f16_table_ready();
    const block_q6_K *w = wv;
    const block_q8_K *a = av;
    const __m256i m4 = _mm256_set1_epi8(15), m2h = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps();
    float corr = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m128i sc = _mm_loadu_si128((const __m128i *)w[i].scales);
        const int off = dot_sc_bsums(sc, a[i].bsums);   /* q = u - 32 */
        __m256i isum = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i l0 = load256(w[i].ql + 64 * h), l1 = load256(w[i].ql + 64 * h + 32);
            const __m256i qh = load256(w[i].qh + 32 * h);
            const int8_t *y = a[i].qs + 128 * h;
            __m256i u0 = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2h));
            __m256i u1 = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2h));
            __m256i u2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m2h));
            __m256i u3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                         _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2h));
            isum = _mm256_add_epi32(isum, dot_u8s8_sc(u0, load256(y), sc_pair(sc, 4 * h)));
            isum = _mm256_add_epi32(isum, dot_u8s8_sc(u1, load256(y + 32), sc_pair(sc, 4 * h + 1)));
            isum = _mm256_add_epi32(isum, dot_u8s8_sc(u2, load256(y + 64), sc_pair(sc, 4 * h + 2)));
            isum = _mm256_add_epi32(isum, dot_u8s8_sc(u3, load256(y + 96), sc_pair(sc, 4 * h + 3)));
        }
        const float d = a[i].d * h2f(w[i].d);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
        corr += d * (32 * off);
    }
    return hsum_ps(acc) - corr;
}

/* ==== 4 activation rows at once (prefill) ==================================
 * out[k] = vec_dot(n, w, x + k * x_stride) for k < nx <= 4: each weight block
 * is decoded once and used for every row. Rows past nx repeat the last one
 * (computed, not stored). */

#define ROWS4(T, x, x_stride, nx, a)                                                        \
    const T *a[4];                                                                          \
    for (int k_ = 0; k_ < 4; k_++)                                                          \
        a[k_] = (const T *)((const char *)(x) + (size_t)(k_ < (nx) ? k_ : (nx) - 1) * (x_stride))

/* (the AVX-512 file has its own 512-bit Q4_0 / Q8_0 versions) */
__attribute__((unused)) static void t_dot4_q4_0(int64_t n, const void *wv, const void *x, size_t x_stride, int nx, float *out) {
    quant_f16_table_ready();
    const block_q4_0 *w = wv;
    ROWS4(block_q8_0, x, x_stride, nx, a);
    const __m256i off = _mm256_set1_epi8(8);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t i = 0; i < n / 32; i++) {
        const __m256i q = _mm256_sub_epi8(nibbles32(w[i].qs), off);
        const __m256i u = _mm256_sign_epi8(q, q);
        const float wd = h2f(w[i].d);
        for (int k = 0; k < 4; k++) {
            __m256i p = dot_u8s8(u, _mm256_sign_epi8(load256(a[k][i].qs), q));
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(wd * h2f(a[k][i].d)), _mm256_cvtepi32_ps(p), acc[k]);
        }
    }
    for (int k = 0; k < nx; k++) out[k] = hsum_ps(acc[k]);
}

__attribute__((unused)) static void t_dot4_q8_0(int64_t n, const void *wv, const void *x, size_t x_stride, int nx, float *out) {
    quant_f16_table_ready();
    const block_q8_0 *w = wv;
    ROWS4(block_q8_0, x, x_stride, nx, a);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t i = 0; i < n / 32; i++) {
        const __m256i q = load256(w[i].qs);
        const __m256i u = _mm256_sign_epi8(q, q);
        const float wd = h2f(w[i].d);
        for (int k = 0; k < 4; k++) {
            __m256i p = dot_u8s8(u, _mm256_sign_epi8(load256(a[k][i].qs), q));
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(wd * h2f(a[k][i].d)), _mm256_cvtepi32_ps(p), acc[k]);
        }
    }
    for (int k = 0; k < nx; k++) out[k] = hsum_ps(acc[k]);
}

/* Q5_0: decode the block once, 4 rows (Q4_1 / Q5_1 have none: their
 * 4-row versions measured slower than 4 single rows) */

static void t_dot4_q5_0(int64_t n, const void *wv, const void *x, size_t x_stride, int nx, float *out) {
    quant_f16_table_ready();
    const block_q5_0 *w = wv;
    ROWS4(block_q8_0, x, x_stride, nx, a);
    const __m256i hi = _mm256_set1_epi8((char)0xF0);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t i = 0; i < n / 32; i++) {
        const __m256i q = _mm256_or_si256(nibbles32(w[i].qs), _mm256_andnot_si256(bits32_to_bytes(w[i].qh), hi));
        const __m256i u = _mm256_sign_epi8(q, q);
        const float wd = h2f(w[i].d);
        for (int k = 0; k < 4; k++) {
            __m256i p = dot_u8s8(u, _mm256_sign_epi8(load256(a[k][i].qs), q));
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(wd * h2f(a[k][i].d)), _mm256_cvtepi32_ps(p), acc[k]);
        }
    }
    for (int k = 0; k < nx; k++) out[k] = hsum_ps(acc[k]);
}


/* Q2_K / Q3_K: the 8 unsigned quant vectors and scale pairs once, 4 rows */
static void t_dot4_q2_K(int64_t n, const void *wv, const void *x, size_t x_stride, int nx, float *out) {
    quant_f16_table_ready();
    const block_q2_K *w = wv;
    ROWS4(block_q8_K, x, x_stride, nx, a);
    const __m256i m2 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(15);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    float summ[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m128i raw = _mm_loadu_si128((const __m128i *)w[i].scales);
        const __m128i sc = _mm_and_si128(raw, m4), mn = _mm_and_si128(_mm_srli_epi16(raw, 4), m4);
        __m256i u[8], scv[8];
        for (int h = 0; h < 2; h++) {
            const __m256i q = load256(w[i].qs + 32 * h);
            u[4 * h] = _mm256_and_si256(q, m2);
            u[4 * h + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 2), m2);
            u[4 * h + 2] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m2);
            u[4 * h + 3] = _mm256_and_si256(_mm256_srli_epi16(q, 6), m2);
            for (int j = 0; j < 4; j++) scv[4 * h + j] = sc_pair(sc, 4 * h + j);
        }
        const float d = h2f(w[i].d), dmin = h2f(w[i].dmin);
        for (int k = 0; k < 4; k++) {
            const block_q8_K *y = &a[k][i];
            __m256i isum = dot_u8s8_sc(u[0], load256(y->qs), scv[0]);
            for (int j = 1; j < 8; j++) isum = _mm256_add_epi32(isum, dot_u8s8_sc(u[j], load256(y->qs + 32 * j), scv[j]));
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(y->d * d), _mm256_cvtepi32_ps(isum), acc[k]);
            summ[k] += (y->d * dmin) * dot_sc_bsums(mn, y->bsums);
        }
    }
    for (int k = 0; k < nx; k++) out[k] = hsum_ps(acc[k]) - summ[k];
}

static void t_dot4_q3_K(int64_t n, const void *wv, const void *x, size_t x_stride, int nx, float *out) {
    quant_f16_table_ready();
    const block_q3_K *w = wv;
    ROWS4(block_q8_K, x, x_stride, nx, a);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    float corr[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m128i sc = q3k_scales8(w[i].scales);
        const __m256i hm = load256(w[i].hmask);
        const __m256i q0 = load256(w[i].qs), q1 = load256(w[i].qs + 32);
        const __m256i u[8] = {q3_u(q0, hm, 0, 0), q3_u(q0, hm, 2, 1), q3_u(q0, hm, 4, 2), q3_u(q0, hm, 6, 3),
                              q3_u(q1, hm, 0, 4), q3_u(q1, hm, 2, 5), q3_u(q1, hm, 4, 6), q3_u(q1, hm, 6, 7)};
        __m256i scv[8];
        for (int j = 0; j < 8; j++) scv[j] = sc_pair(sc, j);
        const float d = h2f(w[i].d);
        for (int k = 0; k < 4; k++) {
            const block_q8_K *y = &a[k][i];
            __m256i isum = dot_u8s8_sc(u[0], load256(y->qs), scv[0]);
            for (int j = 1; j < 8; j++) isum = _mm256_add_epi32(isum, dot_u8s8_sc(u[j], load256(y->qs + 32 * j), scv[j]));
            const float dd = y->d * d;
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dd), _mm256_cvtepi32_ps(isum), acc[k]);
            corr[k] += dd * (4 * dot_sc_bsums(sc, y->bsums));
        }
    }
    for (int k = 0; k < nx; k++) out[k] = hsum_ps(acc[k]) - corr[k];
}

static inline void dot4_q45_K(int64_t n, const uint8_t *base, size_t bsize, size_t off_qs, ptrdiff_t off_qh,
                              const void *x, size_t x_stride, int nx, float *out) {
    ROWS4(block_q8_K, x, x_stride, nx, a);
    const __m256i m4 = _mm256_set1_epi8(15), b4 = _mm256_set1_epi8(0x10);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    float summ[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *blk = base + (size_t)i * bsize;
        uint16_t wd, wdmin;
        memcpy(&wd, blk, 2), memcpy(&wdmin, blk + 2, 2);   /* Q4_K and Q5_K open with d, dmin, scales[12] */
        const __m128i sm = k4_scales_mins(blk + 4);
        const __m128i mins16 = _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8));
        const __m128i sc2 = _mm_unpacklo_epi8(sm, sm);
        __m256i u[8], scv[8];
        __m256i hbits = off_qh >= 0 ? load256(blk + off_qh) : _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            const __m256i q = load256(blk + off_qs + 32 * c);
            u[2 * c] = _mm256_and_si256(q, m4);
            u[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if (off_qh >= 0) {
                u[2 * c] = _mm256_or_si256(u[2 * c], _mm256_and_si256(_mm256_slli_epi16(hbits, 4), b4));
                u[2 * c + 1] = _mm256_or_si256(u[2 * c + 1], _mm256_and_si256(_mm256_slli_epi16(hbits, 3), b4));
                hbits = _mm256_srli_epi16(hbits, 2);
            }
            scv[2 * c] = sc_pair(sc2, 2 * c);
            scv[2 * c + 1] = sc_pair(sc2, 2 * c + 1);
        }
        const float d = h2f(wd), dmin = h2f(wdmin);
        for (int k = 0; k < 4; k++) {
            const block_q8_K *y = &a[k][i];
            __m256i isum = dot_u8s8_sc(u[0], load256(y->qs), scv[0]);
            for (int j = 1; j < 8; j++) isum = _mm256_add_epi32(isum, dot_u8s8_sc(u[j], load256(y->qs + 32 * j), scv[j]));
            const __m256i bs = load256(y->bsums);
            __m128i pm = _mm_madd_epi16(mins16, _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1)));
            pm = _mm_add_epi32(pm, _mm_shuffle_epi32(pm, 0x4e));
            pm = _mm_add_epi32(pm, _mm_shuffle_epi32(pm, 0xb1));
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(y->d * d), _mm256_cvtepi32_ps(isum), acc[k]);
            summ[k] += (y->d * dmin) * _mm_cvtsi128_si32(pm);
        }
    }
    for (int k = 0; k < nx; k++) out[k] = hsum_ps(acc[k]) - summ[k];
}

static void t_dot4_q4_K(int64_t n, const void *w, const void *x, size_t x_stride, int nx, float *out) {
    quant_f16_table_ready();
    dot4_q45_K(n, w, sizeof(block_q4_K), offsetof(block_q4_K, qs), -1, x, x_stride, nx, out);
}

static void t_dot4_q5_K(int64_t n, const void *w, const void *x, size_t x_stride, int nx, float *out) {
    quant_f16_table_ready();
    dot4_q45_K(n, w, sizeof(block_q5_K), offsetof(block_q5_K, qs), (ptrdiff_t)offsetof(block_q5_K, qh), x, x_stride,
               nx, out);
}

static void t_dot4_q6_K(int64_t n, const void *wv, const void *x, size_t x_stride, int nx, float *out) {
    quant_f16_table_ready();
    const block_q6_K *w = wv;
    ROWS4(block_q8_K, x, x_stride, nx, a);
    const __m256i m4 = _mm256_set1_epi8(15), m2h = _mm256_set1_epi8(0x30);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    float corr[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m128i sc = _mm_loadu_si128((const __m128i *)w[i].scales);
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc);
        __m256i u[8], scv[8];
        for (int h = 0; h < 2; h++) {
            const __m256i l0 = load256(w[i].ql + 64 * h), l1 = load256(w[i].ql + 64 * h + 32);
            const __m256i qh = load256(w[i].qh + 32 * h);
            u[4 * h] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2h));
            u[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2h));
            u[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m2h));
            u[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                           _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2h));
            for (int j = 0; j < 4; j++) scv[4 * h + j] = sc_pair(sc, 4 * h + j);
        }
        const float d = h2f(w[i].d);
        for (int k = 0; k < 4; k++) {
            const block_q8_K *y = &a[k][i];
            __m256i isum = dot_u8s8_sc(u[0], load256(y->qs), scv[0]);
            for (int j = 1; j < 8; j++) isum = _mm256_add_epi32(isum, dot_u8s8_sc(u[j], load256(y->qs + 32 * j), scv[j]));
            const int off = hsum_epi32(_mm256_madd_epi16(sc16, load256(y->bsums)));
            const float dd = y->d * d;
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dd), _mm256_cvtepi32_ps(isum), acc[k]);
            corr[k] += dd * (32 * off);
        }
    }
    for (int k = 0; k < nx; k++) out[k] = hsum_ps(acc[k]) - corr[k];
}

/* ==== quantize the activations (byte-identical to the reference) ==========
 * Same float operations as quantize_row_q8_*_ref: the block max, d and 1/d
 * in scalar; x * (1/d) and the rounding in SIMD: roundf (half away from
 * zero) as trunc plus a step where |x - trunc| >= 0.5 (exact), and Q8_K's
 * nearest_int (half to even) as vcvtps2dq. */

static inline float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

/* roundf of 8 floats, as int32 */
static inline __m256i roundf_epi32(__m256 s) {
    const __m256 t = _mm256_round_ps(s, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 half = _mm256_cmp_ps(abs_ps(_mm256_sub_ps(s, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 step = _mm256_or_ps(_mm256_and_ps(s, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
    return _mm256_cvttps_epi32(_mm256_add_ps(t, _mm256_and_ps(half, step)));
}

/* 4 x 8 int32 (each in -128..127) -> 32 int8 in order */
static inline __m256i pack32_epi8(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    __m256i q = _mm256_packs_epi16(ab, cd);   /* lane-interleaved: fix the dword order */
    return _mm256_permutevar8x32_epi32(q, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* one 32-float block: d and the 32 quants; returns the sum of the quants */
static inline int quantize32_q8(const float *x, uint16_t *dh, int8_t *qs, float *dout) {
    __m256 v[4];
    __m256 m = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) v[k] = _mm256_loadu_ps(x + 8 * k), m = _mm256_max_ps(m, abs_ps(v[k]));
    const float amax = hmax_ps(m);
    const float d = amax / 127;
    const float id = d ? 1.0f / d : 0.0f;
    *dh = hearth_fp32_to_fp16(d);
    *dout = d;
    const __m256 idv = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; k++) q[k] = roundf_epi32(_mm256_mul_ps(v[k], idv));
    _mm256_storeu_si256((__m256i *)qs, pack32_epi8(q[0], q[1], q[2], q[3]));
    return hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
}

static void t_quantize_q8_0(const float *x, void *dst, int64_t n) {
    block_q8_0 *y = dst;
    float d;
    for (int64_t i = 0; i < n / 32; i++) quantize32_q8(x + 32 * i, &y[i].d, y[i].qs, &d);
}

static void t_quantize_q8_1(const float *x, void *dst, int64_t n) {
    block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / 32; i++) {
        float d;
        int sum = quantize32_q8(x + 32 * i, &y[i].d, y[i].qs, &d);
        y[i].s = hearth_fp32_to_fp16(sum * d);
    }
}

static void t_quantize_q8_K(const float *x, void *dst, int64_t n) {
    block_q8_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 32; k++) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + 8 * k)));
        const float amax = hmax_ps(m);
        if (!amax) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        /* the first element of largest magnitude gives the sign */
        int j = 0;
        while (fabsf(x[j]) != amax) j++;
        const float iscale = -127.f / x[j];
        const __m256 isv = _mm256_set1_ps(iscale);
        const __m256i top = _mm256_set1_epi32(127);
        for (int g = 0; g < 8; g++) {
            __m256i q[4];
            for (int k = 0; k < 4; k++)
                q[k] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(isv, _mm256_loadu_ps(x + 32 * g + 8 * k))), top);
            _mm256_storeu_si256((__m256i *)(y[i].qs + 32 * g), pack32_epi8(q[0], q[1], q[2], q[3]));
            y[i].bsums[2 * g] = (int16_t)hsum_epi32(_mm256_add_epi32(q[0], q[1]));
            y[i].bsums[2 * g + 1] = (int16_t)hsum_epi32(_mm256_add_epi32(q[2], q[3]));
        }
        y[i].d = 1 / iscale;
    }
}

/* ==== dequantize (exactly the reference's products: no FMA) ================ */

static void t_dequant_q8_0(const void *src, float *y, int64_t n) {
    quant_f16_table_ready();
    const block_q8_0 *x = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const __m256 d = _mm256_set1_ps(h2f(x[i].d));
        for (int k = 0; k < 4; k++) {
            __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(x[i].qs + 8 * k)));
            _mm256_storeu_ps(y + 8 * k, _mm256_mul_ps(_mm256_cvtepi32_ps(q), d));
        }
    }
}

static void t_dequant_q4_0(const void *src, float *y, int64_t n) {
    quant_f16_table_ready();
    const block_q4_0 *x = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const __m256 d = _mm256_set1_ps(h2f(x[i].d));
        __m256i q = _mm256_sub_epi8(nibbles32(x[i].qs), _mm256_set1_epi8(8));
        __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
        _mm256_storeu_ps(y + 0, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), d));
        _mm256_storeu_ps(y + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), d));
        _mm256_storeu_ps(y + 16, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), d));
        _mm256_storeu_ps(y + 24, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), d));
    }
}

/* 32 unsigned bytes -> d1 * q - m1 for 32 floats */
static inline void store_affine32(float *y, __m256i q, __m256 d1, __m256 m1) {
    __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
    for (int k = 0; k < 4; k++) {
        __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(parts[k]));
        _mm256_storeu_ps(y + 8 * k, _mm256_sub_ps(_mm256_mul_ps(d1, f), m1));
    }
}

static void t_dequant_q4_K(const void *src, float *y, int64_t n) {
    quant_f16_table_ready();
    const block_q4_K *x = src;
    const __m256i m4 = _mm256_set1_epi8(15);
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        const float d = h2f(x[i].d), dmin = h2f(x[i].dmin);
        for (int c = 0; c < 4; c++) {
            int sc, m;
            const __m256i q = load256(x[i].qs + 32 * c);
            quant_scale_min_k4(2 * c, x[i].scales, &sc, &m);
            store_affine32(y + 64 * c, _mm256_and_si256(q, m4), _mm256_set1_ps(d * sc), _mm256_set1_ps(dmin * m));
            quant_scale_min_k4(2 * c + 1, x[i].scales, &sc, &m);
            store_affine32(y + 64 * c + 32, _mm256_and_si256(_mm256_srli_epi16(q, 4), m4), _mm256_set1_ps(d * sc),
                           _mm256_set1_ps(dmin * m));
        }
    }
}

static void t_dequant_q6_K(const void *src, float *y, int64_t n) {
    quant_f16_table_ready();
    const block_q6_K *x = src;
    const __m256i m4 = _mm256_set1_epi8(15), m2h = _mm256_set1_epi8(0x30), off = _mm256_set1_epi8(32);
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        const float d = h2f(x[i].d);
        for (int h = 0; h < 2; h++) {
            const __m256i l0 = load256(x[i].ql + 64 * h), l1 = load256(x[i].ql + 64 * h + 32);
            const __m256i qh = load256(x[i].qh + 32 * h);
            __m256i u[4] = {
                _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2h)),
                _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2h)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m2h)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2h)),
            };
            for (int k = 0; k < 4; k++) {
                __m256i q = _mm256_sub_epi8(u[k], off);
                float *yy = y + 128 * h + 32 * k;
                const int8_t *s = x[i].scales + 8 * h + 2 * k;
                __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
                const __m256 dA = _mm256_set1_ps(d * s[0]), dB = _mm256_set1_ps(d * s[1]);
                _mm256_storeu_ps(yy + 0, _mm256_mul_ps(dA, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
                _mm256_storeu_ps(yy + 8, _mm256_mul_ps(dA, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
                _mm256_storeu_ps(yy + 16, _mm256_mul_ps(dB, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
                _mm256_storeu_ps(yy + 24, _mm256_mul_ps(dB, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
            }
        }
    }
}

#endif
