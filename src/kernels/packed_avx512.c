/*
 * packed_avx512.c — register tiles over packed weights (packed.h): NW
 * groups of 4 weight rows against NT activation rows, AVX-512 VNNI.
 *
 * For one block b, weight group w and activation row t:
 *   u      = the group's quants as unsigned bytes, lane (c, r) = 4 quants of
 *            row r (two registers: elements 0..15 and 16..31 of the block)
 *   xa, xb = the activation block's dwords spread so that lane (c, r) holds
 *            the 4 activations matching u's (vpermd, shared by every group)
 *   s      = vpdpbusd(vpdpbusd(off, ua, xa), ub, xb): lane (c, r) is an exact
 *            partial sum of row r; the offset term (-8 or -128 times the sum
 *            of the block's activations) starts lanes c = 0
 *   acc    += float(s) * d_w[r] * d_x
 * and at the end each row's 4 lanes c are summed. Per block and 4 x 1 tile
 * that is 2 vpdpbusd and 3 float operations; the weights' unpacking and
 * scales are shared by the NT activation rows, and the activations'
 * spreading by the NW groups.
 */
#include "packed.h"

#include <immintrin.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* the sum of the 4 128-bit lanes of v: one float per row r */
static inline __m128 sum_lanes(__m512 v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* unit u (NW groups of 4 rows, from row 8u) against activation rows t .. t + NT - 1 */
ALWAYS_INLINE void tile(const packed_w *w, const packed_x *x, int64_t u, int64_t t, const int NW, const int NT,
                        float *Y, int64_t N) {
    const int64_t nb = w->nb;
    const bool q4 = w->type == HEARTH_TYPE_Q4_0;
    const size_t qs = packed_qs_bytes(w->type), cb = packed_chunk_bytes(w->type, 4 * NW);
    const uint8_t *unit = w->data + (size_t)u * packed_unit_bytes(w->type, nb, PACK_UNIT);
    const block_q8_0 *xq[4];
    const float *xd[4];
    const int32_t *xo[4];
    _Pragma("GCC unroll 4")
    for (int j = 0; j < NT; j++) {
        xq[j] = x->q + (size_t)(t + j) * nb;
        xd[j] = x->d + (size_t)(t + j) * nb;
        xo[j] = x->off + (size_t)(t + j) * nb;
    }
    const __m512i ia = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    const __m512i ib = _mm512_add_epi32(ia, _mm512_set1_epi32(4));
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[2][4];
    _Pragma("GCC unroll 4")
    for (int k = 0; k < NW; k++)
        _Pragma("GCC unroll 4")
        for (int j = 0; j < NT; j++) acc[k][j] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *chunk = unit + (size_t)(b / PACK_CHUNK) * cb;
        const int i = (int)(b % PACK_CHUNK);
        if (NT <= 2 && i == 0) _mm_prefetch((const char *)chunk + 4 * cb, _MM_HINT_T0);
        __m512i ua[2], ub[2];
        __m512 dw[2];
        _Pragma("GCC unroll 4")
        for (int k = 0; k < NW; k++) {
            const uint8_t *q = chunk + 64 + (size_t)(i * NW + k) * qs;
            if (q4) {
                __m512i v = _mm512_load_si512(q);
                ua[k] = _mm512_and_si512(v, m4);
                ub[k] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
            } else {
                ua[k] = _mm512_load_si512(q);
                ub[k] = _mm512_load_si512(q + 64);
            }
            __m128i h = _mm_loadl_epi64((const __m128i *)(chunk + (size_t)(i * NW + k) * 8));
            dw[k] = _mm512_broadcast_f32x4(_mm_cvtph_ps(h));
        }
        _Pragma("GCC unroll 4")
        for (int j = 0; j < NT; j++) {
            __m512i xv = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)xq[j][b].qs));
            __m512i xa = _mm512_permutexvar_epi32(ia, xv), xb = _mm512_permutexvar_epi32(ib, xv);
            __m512i off = _mm512_maskz_set1_epi32(0x000F, xo[j][b]);
            __m512 dx = _mm512_set1_ps(xd[j][b]);
            _Pragma("GCC unroll 4")
            for (int k = 0; k < NW; k++) {
                __m512i s = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(off, ua[k], xa), ub[k], xb);
                acc[k][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw[k], dx), acc[k][j]);
            }
        }
    }
    _Pragma("GCC unroll 4")
    for (int k = 0; k < NW; k++)
        _Pragma("GCC unroll 4")
        for (int j = 0; j < NT; j++) _mm_storeu_ps(Y + (size_t)(t + j) * N + 8 * u + 4 * k, sum_lanes(acc[k][j]));
}

#define TILE(NW, NT)                                                                                  \
    static void tile_##NW##_##NT(const packed_w *w, const packed_x *x, int64_t u, int64_t t, float *Y, \
                                 int64_t N) {                                                         \
        tile(w, x, u, t, NW, NT, Y, N);                                                               \
    }
TILE(1, 1) TILE(1, 2) TILE(1, 3) TILE(1, 4)
TILE(2, 1) TILE(2, 2) TILE(2, 3) TILE(2, 4)

typedef void (*tile_fn)(const packed_w *, const packed_x *, int64_t, int64_t, float *, int64_t);
static const tile_fn TILES[2][4] = {
    {tile_1_1, tile_1_2, tile_1_3, tile_1_4},
    {tile_2_1, tile_2_2, tile_2_3, tile_2_4},
};

/* activation rows in chunks whose Q8_0 rows stay in L2 while the units pass */
void packed_rows_avx512(const packed_w *w, const packed_x *x, int64_t u0, int64_t u1, int64_t t0, int64_t t1,
                        float *Y, int64_t N) {
    quant_f16_table_ready();
    int64_t chunk = (int64_t)(262144 / ((size_t)x->nb * sizeof(block_q8_0)));
    chunk = chunk < 4 ? 4 : chunk / 4 * 4;
    for (int64_t c0 = t0; c0 < t1; c0 += chunk) {
        int64_t c1 = c0 + chunk < t1 ? c0 + chunk : t1;
        for (int64_t u = u0; u < u1; u++) {
            int nw = 8 * u + 8 <= w->N ? 2 : 1;
            for (int64_t t = c0; t < c1;) {
                int nt = c1 - t >= 4 ? 4 : (int)(c1 - t);
                TILES[nw - 1][nt - 1](w, x, u, t, Y, N);
                t += nt;
            }
        }
    }
}

/* ==== Q4_K (packed.h) ==========================================================
 * Per super-block and sub-block pair c, the 4 rows' nibbles are unpacked once
 * (4 registers) and the two sub-blocks' scales spread to lanes (r, g) from
 * one 8-byte broadcast (vpshufb); each activation row then adds, per
 * sub-block, 2 vpdpbusd against broadcast quarters of its Q8_K bytes into a
 * fresh sum and 1 vpdpwssd that multiplies it by the scales into S; the mins
 * meet the sub-block sums (broadcast too) in one vpdpwssd per super-block:
 *   acc += float(S) * d * dx - float(M) * dmin * dx
 * with row r's terms in 128-bit lane r. */

/* the four rows' sums from lanes (r, g): out[r] = sum over g of v[4r + g] */
static inline __m128 sum_row_lanes(__m512 v) {
    __m256 lo = _mm512_castps512_ps256(v), hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    __m256 h = _mm256_hadd_ps(lo, hi);   /* lane 0: r0 r0 r2 r2, lane 1: r1 r1 r3 r3 (partial sums) */
    h = _mm256_hadd_ps(h, h);            /* lane 0: r0 r2 r0 r2, lane 1: r1 r3 r1 r3 */
    return _mm_unpacklo_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

ALWAYS_INLINE void tile_q4k(const packed_w *w, const packed_xk *x, int64_t u, int64_t t, const int NT, float *Y,
                            int64_t N) {
    const int64_t ns = w->nb;
    const size_t cb = packed_k_chunk_bytes();
    const uint8_t *unit = w->data + (size_t)u * packed_k_unit_bytes(ns);
    const __m512i row = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);   /* lane (r, g) -> r */
    /* vpshufb controls: dword (r, g) = byte r (sub-block 2c) or 4 + r (2c + 1) of the 8 scale bytes, zero-extended */
    const __m512i sc_lo = _mm512_or_si512(row, _mm512_set1_epi32((int)0x80808000u));
    const __m512i sc_hi = _mm512_add_epi32(sc_lo, _mm512_set1_epi32(4));
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[4];
    _Pragma("GCC unroll 4")
    for (int j = 0; j < NT; j++) acc[j] = _mm512_setzero_ps();
    for (int64_t s = 0; s < ns; s++) {
        const uint8_t *chunk = unit + (size_t)(s / PACK_CHUNK) * cb;
        const int i = (int)(s % PACK_CHUNK);
        const uint8_t *hdr = chunk + (size_t)i * PACK_K_HDR;
        const uint8_t *qs = chunk + PACK_CHUNK * PACK_K_HDR + (size_t)i * PACK_K_QS;
        if (NT == 1) _mm_prefetch((const char *)qs + 2 * cb, _MM_HINT_T0);
        __m512i S[4];
        _Pragma("GCC unroll 4")
        for (int j = 0; j < NT; j++) S[j] = _mm512_setzero_si512();
        _Pragma("GCC unroll 4")
        for (int c = 0; c < 4; c++) {
            __m512i v1 = _mm512_load_si512(qs + 128 * c), v2 = _mm512_load_si512(qs + 128 * c + 64);
            __m512i l1 = _mm512_and_si512(v1, m4), l2 = _mm512_and_si512(v2, m4);
            __m512i h1 = _mm512_and_si512(_mm512_srli_epi16(v1, 4), m4), h2 = _mm512_and_si512(_mm512_srli_epi16(v2, 4), m4);
            int64_t sc8;
            memcpy(&sc8, hdr + 16 + 8 * c, 8);   /* sub-blocks 2c and 2c + 1, rows 0..3 */
            __m512i bc = _mm512_set1_epi64(sc8);
            __m512i s0 = _mm512_shuffle_epi8(bc, sc_lo), s1 = _mm512_shuffle_epi8(bc, sc_hi);
            _Pragma("GCC unroll 4")
            for (int j = 0; j < NT; j++) {
                const int8_t *xq = x->q[(size_t)(t + j) * ns + s].qs + 64 * c;
                __m512i p0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), l1, _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)xq)));
                p0 = _mm512_dpbusd_epi32(p0, l2, _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(xq + 16))));
                __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), h1, _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(xq + 32))));
                p1 = _mm512_dpbusd_epi32(p1, h2, _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(xq + 48))));
                S[j] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(S[j], p0, s0), p1, s1);
            }
        }
        __m512i mins = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(hdr + 48)));   /* lanes (r, pair) */
        __m512 d4 = _mm512_permutexvar_ps(row, _mm512_castps128_ps512(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)hdr))));
        __m512 dm4 = _mm512_permutexvar_ps(row, _mm512_castps128_ps512(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(hdr + 8)))));
        _Pragma("GCC unroll 4")
        for (int j = 0; j < NT; j++) {
            const size_t xs = (size_t)(t + j) * ns + s;
            __m512i bs = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(x->bs + 8 * xs)));
            __m512i M = _mm512_dpwssd_epi32(_mm512_setzero_si512(), mins, bs);
            __m512 dx = _mm512_set1_ps(x->q[xs].d);
            acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[j]), _mm512_mul_ps(d4, dx), acc[j]);
            acc[j] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(M), _mm512_mul_ps(dm4, dx), acc[j]);
        }
    }
    _Pragma("GCC unroll 4")
    for (int j = 0; j < NT; j++) _mm_storeu_ps(Y + (size_t)(t + j) * N + 4 * u, sum_row_lanes(acc[j]));
}

#define TILE_K(NT)                                                                                            \
    static void tile_q4k_##NT(const packed_w *w, const packed_xk *x, int64_t u, int64_t t, float *Y, int64_t N) { \
        tile_q4k(w, x, u, t, NT, Y, N);                                                                       \
    }
TILE_K(1) TILE_K(2) TILE_K(3) TILE_K(4)

typedef void (*tile_k_fn)(const packed_w *, const packed_xk *, int64_t, int64_t, float *, int64_t);
static const tile_k_fn TILES_K[4] = {tile_q4k_1, tile_q4k_2, tile_q4k_3, tile_q4k_4};

/* the K-quant drivers: activation rows in chunks whose Q8_K rows stay in L2 */
static void rows_kq(const tile_k_fn tiles[4], const packed_w *w, const packed_xk *x, int64_t u0, int64_t u1, int64_t t0,
                    int64_t t1, float *Y, int64_t N) {
    int64_t chunk = (int64_t)(262144 / ((size_t)x->ns * sizeof(block_q8_K)));
    chunk = chunk < 4 ? 4 : chunk / 4 * 4;
    for (int64_t c0 = t0; c0 < t1; c0 += chunk) {
        int64_t c1 = c0 + chunk < t1 ? c0 + chunk : t1;
        for (int64_t u = u0; u < u1; u++)
            for (int64_t t = c0; t < c1;) {
                int nt = c1 - t >= 4 ? 4 : (int)(c1 - t);
                tiles[nt - 1](w, x, u, t, Y, N);
                t += nt;
            }
    }
}

void packed_rows_q4k_avx512(const packed_w *w, const packed_xk *x, int64_t u0, int64_t u1, int64_t t0, int64_t t1,
                            float *Y, int64_t N) {
    rows_kq(TILES_K, w, x, u0, u1, t0, t1, Y, N);
}

/* ==== Q6_K (packed.h) ============================================================
 * Per super-block and pair of sub-blocks, the 4 rows' 6-bit quants are
 * rebuilt from their nibble and 2-bit registers once, and the scales spread
 * to 16-bit lanes (vpermw from the scale registers); each activation row then
 * adds per sub-block 1 vpdpbusd against its broadcast 16 bytes and 1
 * vpdpwssd, and per super-block the offset term (2 vpdpwssd of the scales
 * with the broadcast sums of 16). Row r's terms gather in 128-bit lane r, as
 * in the Q4_K tile. */
ALWAYS_INLINE __m512i q6_sub(const uint8_t *qs, int j) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    __m512i p = _mm512_load_si512(qs + 64 * (j & 7));
    __m512i lo = j < 8 ? _mm512_and_si512(p, m4) : _mm512_and_si512(_mm512_srli_epi16(p, 4), m4);
    __m512i h = _mm512_load_si512(qs + 512 + 64 * (j & 3));
    const int sh = j >> 2;   /* bits 2*sh .. 2*sh+1 -> 4 .. 5 */
    h = sh == 0 ? _mm512_slli_epi16(h, 4) : sh == 1 ? _mm512_slli_epi16(h, 2) : sh == 3 ? _mm512_srli_epi16(h, 2) : h;
    return _mm512_ternarylogic_epi32(lo, h, m30, 0xF8);   /* lo | (h & m30) */
}

/* sub-block j's scales in the low 16 bits of lane (r, g), from the scale
 * registers (word 8r + 2(p % 4) + h of half p / 4 = scale of row r,
 * sub-block 2p + h) */
ALWAYS_INLINE __m512i q6_scale(__m512i half_lo, __m512i half_hi, int j) {
    const __m512i base = _mm512_set_epi32(24, 24, 24, 24, 16, 16, 16, 16, 8, 8, 8, 8, 0, 0, 0, 0);   /* word 8r */
    const int p = j >> 1, h = j & 1;
    __m512i idx = _mm512_add_epi16(base, _mm512_set1_epi16((short)(2 * (p & 3) + h)));
    return _mm512_maskz_permutexvar_epi16(0x55555555u, idx, p < 4 ? half_lo : half_hi);
}

ALWAYS_INLINE void tile_q6k(const packed_w *w, const packed_xk *x, int64_t u, int64_t t, const int NT, float *Y,
                            int64_t N) {
    const int64_t ns = w->nb;
    const size_t cb = packed_q6_chunk_bytes();
    const uint8_t *unit = w->data + (size_t)u * packed_q6_unit_bytes(ns);
    const __m512i row = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);   /* lane (r, g) -> r */
    __m512 acc[4];
    _Pragma("GCC unroll 4")
    for (int j = 0; j < NT; j++) acc[j] = _mm512_setzero_ps();
    for (int64_t s = 0; s < ns; s++) {
        const uint8_t *chunk = unit + (size_t)(s / PACK_CHUNK) * cb;
        const int i = (int)(s % PACK_CHUNK);
        const uint8_t *hdr = chunk + (size_t)i * PACK_Q6_HDR;
        const uint8_t *qs = chunk + PACK_CHUNK * PACK_Q6_HDR + (size_t)i * PACK_Q6_QS;
        if (NT <= 2) {
            /* every line of this super-block's share of the chunk, in address order, before the loads below
             * jump between the nibble and high-bit registers: streaming from memory at T = 1 this gave 36 GB/s
             * against 28 for the same share 2 chunks ahead and 24 without prefetching (2 threads, A/B in one
             * process, best of 12) */
            const char *share = (const char *)chunk + (size_t)i * (cb / PACK_CHUNK);
            for (size_t o = 0; o < cb / PACK_CHUNK; o += 64) _mm_prefetch(share + o, _MM_HINT_T0);
        }
        const __m512i pl = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(hdr + 8)));
        const __m512i ph = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(hdr + 40)));
        __m512i S[4];
        _Pragma("GCC unroll 4")
        for (int j = 0; j < NT; j++) {   /* -32 * sum_j sc_j * bsums_j, lanes (row, pair) */
            const int16_t *bs = x->q[(size_t)(t + j) * ns + s].bsums;
            __m512i M = _mm512_dpwssd_epi32(_mm512_setzero_si512(), pl, _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)bs)));
            M = _mm512_dpwssd_epi32(M, ph, _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(bs + 8))));
            S[j] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(M, 5));
        }
        _Pragma("GCC unroll 8")
        for (int k = 0; k < 8; k++) {
            __m512i r0 = q6_sub(qs, 2 * k), r1 = q6_sub(qs, 2 * k + 1);
            __m512i s0 = q6_scale(pl, ph, 2 * k), s1 = q6_scale(pl, ph, 2 * k + 1);
            _Pragma("GCC unroll 4")
            for (int j = 0; j < NT; j++) {
                const int8_t *xq = x->q[(size_t)(t + j) * ns + s].qs + 32 * k;
                __m512i p0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), r0, _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)xq)));
                __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), r1, _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(xq + 16))));
                S[j] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(S[j], p0, s0), p1, s1);
            }
        }
        __m512 d4 = _mm512_permutexvar_ps(row, _mm512_castps128_ps512(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)hdr))));
        _Pragma("GCC unroll 4")
        for (int j = 0; j < NT; j++) {
            __m512 dx = _mm512_set1_ps(x->q[(size_t)(t + j) * ns + s].d);
            acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[j]), _mm512_mul_ps(d4, dx), acc[j]);
        }
    }
    _Pragma("GCC unroll 4")
    for (int j = 0; j < NT; j++) _mm_storeu_ps(Y + (size_t)(t + j) * N + 4 * u, sum_row_lanes(acc[j]));
}

#define TILE_Q6(NT)                                                                                           \
    static void tile_q6k_##NT(const packed_w *w, const packed_xk *x, int64_t u, int64_t t, float *Y, int64_t N) { \
        tile_q6k(w, x, u, t, NT, Y, N);                                                                       \
    }
TILE_Q6(1) TILE_Q6(2) TILE_Q6(3) TILE_Q6(4)

static const tile_k_fn TILES_Q6[4] = {tile_q6k_1, tile_q6k_2, tile_q6k_3, tile_q6k_4};

void packed_rows_q6k_avx512(const packed_w *w, const packed_xk *x, int64_t u0, int64_t u1, int64_t t0, int64_t t1,
                            float *Y, int64_t N) {
    rows_kq(TILES_Q6, w, x, u0, u1, t0, t1, Y, N);
}

/* ==== Q4_0 / Q8_0 against spread activations (packed.h) ==========================
 * Unit u (NW groups of 4 weight rows) against NQ groups of 4 activation rows:
 * per block and step, the weights' 16 bytes of the step are broadcast once
 * (nibbles unpacked once) for every activation group; per block and (weight
 * group, activation group) one convert, one multiply and one FMA. */
ALWAYS_INLINE void tile_spread(const packed_w *w, const uint8_t *xs, int64_t u, int64_t q0, const int NW, const int NQ,
                               int64_t T, float *Y, int64_t N) {
    const int64_t nb = w->nb;
    const bool q4 = w->type == HEARTH_TYPE_Q4_0;
    const size_t qs_b = packed_qs_bytes(w->type), cb = packed_chunk_bytes(w->type, 4 * NW);
    const uint8_t *unit = w->data + (size_t)u * packed_unit_bytes(w->type, nb, PACK_UNIT);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[2][4];
    _Pragma("GCC unroll 4")
    for (int k = 0; k < NW; k++) {
        _Pragma("GCC unroll 4")
        for (int q = 0; q < NQ; q++) acc[k][q] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *chunk = unit + (size_t)(b / PACK_CHUNK) * cb;
        const int i = (int)(b % PACK_CHUNK);
        const uint8_t *xb[4];
        __m512i s[2][4];
        _Pragma("GCC unroll 4")
        for (int q = 0; q < NQ; q++) {
            xb[q] = xs + ((size_t)(q0 + q) * nb + b) * PACK_XS_BYTES;
            __m512i off = _mm512_load_si512(xb[q] + 512);
            _Pragma("GCC unroll 2")
            for (int k = 0; k < NW; k++) s[k][q] = off;
        }
        _Pragma("GCC unroll 4")
        for (int g = 0; g < 4; g++) {
            __m512i lo[2], hi[2];
            _Pragma("GCC unroll 2")
            for (int k = 0; k < NW; k++) {
                const uint8_t *wq = chunk + 64 + (size_t)(i * NW + k) * qs_b;
                if (q4) {
                    __m512i v = _mm512_broadcast_i32x4(_mm_load_si128((const __m128i *)(wq + 16 * g)));
                    lo[k] = _mm512_and_si512(v, m4);
                    hi[k] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
                } else {
                    lo[k] = _mm512_broadcast_i32x4(_mm_load_si128((const __m128i *)(wq + 16 * g)));
                    hi[k] = _mm512_broadcast_i32x4(_mm_load_si128((const __m128i *)(wq + 64 + 16 * g)));
                }
            }
            _Pragma("GCC unroll 4")
            for (int q = 0; q < NQ; q++) {
                __m512i xl = _mm512_load_si512(xb[q] + 64 * g), xh = _mm512_load_si512(xb[q] + 64 * (g + 4));
                _Pragma("GCC unroll 2")
                for (int k = 0; k < NW; k++) s[k][q] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(s[k][q], lo[k], xl), hi[k], xh);
            }
        }
        _Pragma("GCC unroll 2")
        for (int k = 0; k < NW; k++) {
            __m512 dw = _mm512_broadcast_f32x4(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(chunk + (size_t)(i * NW + k) * 8))));
            _Pragma("GCC unroll 4")
            for (int q = 0; q < NQ; q++) {
                __m512 dx = _mm512_load_ps((const void *)(xb[q] + 576));
                acc[k][q] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[k][q]), _mm512_mul_ps(dw, dx), acc[k][q]);
            }
        }
    }
    _Pragma("GCC unroll 4")
    for (int q = 0; q < NQ; q++) {
        const int64_t t = 4 * (q0 + q);
        _Pragma("GCC unroll 2")
        for (int k = 0; k < NW; k++) {
            float *y = Y + (size_t)t * N + 8 * u + 4 * k;
            _mm_storeu_ps(y, _mm512_castps512_ps128(acc[k][q]));
            if (t + 1 < T) _mm_storeu_ps(y + N, _mm512_extractf32x4_ps(acc[k][q], 1));
            if (t + 2 < T) _mm_storeu_ps(y + 2 * N, _mm512_extractf32x4_ps(acc[k][q], 2));
            if (t + 3 < T) _mm_storeu_ps(y + 3 * N, _mm512_extractf32x4_ps(acc[k][q], 3));
        }
    }
}

#define TILE_S(NW, NQ)                                                                                              \
    static void tile_s_##NW##_##NQ(const packed_w *w, const uint8_t *xs, int64_t u, int64_t q0, int64_t T, float *Y, \
                                   int64_t N) {                                                                     \
        tile_spread(w, xs, u, q0, NW, NQ, T, Y, N);                                                                 \
    }
TILE_S(1, 1) TILE_S(1, 2) TILE_S(1, 3) TILE_S(1, 4)
TILE_S(2, 1) TILE_S(2, 2) TILE_S(2, 3) TILE_S(2, 4)

typedef void (*tile_s_fn)(const packed_w *, const uint8_t *, int64_t, int64_t, int64_t, float *, int64_t);
static const tile_s_fn TILES_S[2][4] = {
    {tile_s_1_1, tile_s_1_2, tile_s_1_3, tile_s_1_4},
    {tile_s_2_1, tile_s_2_2, tile_s_2_3, tile_s_2_4},
};

void packed_rows_spread_avx512(const packed_w *w, const uint8_t *xs, int64_t T, int64_t u0, int64_t u1, float *Y,
                               int64_t N) {
    quant_f16_table_ready();
    const int64_t G = (T + 3) / 4;
    int64_t chunk = (int64_t)(524288 / ((size_t)w->nb * PACK_XS_BYTES));   /* groups whose spread rows stay in L2 */
    chunk = chunk < 4 ? 4 : chunk / 4 * 4;
    for (int64_t c0 = 0; c0 < G; c0 += chunk) {
        int64_t c1 = c0 + chunk < G ? c0 + chunk : G;
        for (int64_t u = u0; u < u1; u++) {
            int nw = 8 * u + 8 <= w->N ? 2 : 1;
            for (int64_t q = c0; q < c1;) {
                int nq = c1 - q >= 4 ? 4 : (int)(c1 - q);
                TILES_S[nw - 1][nq - 1](w, xs, u, q, T, Y, N);
                q += nq;
            }
        }
    }
}
