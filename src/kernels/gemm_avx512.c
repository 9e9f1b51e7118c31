/*
 * gemm_avx512.c — register-tiled prefill kernels (AVX-512 VNNI): 4 weight
 * rows x 4 activation rows per call, the `gemm4x4` entry of the type table
 * (src/kernels/kernels.h), for Q4_0 and Q8_0 weights against Q8_0
 * activations.
 *
 *   out[4*r + t] = sum_i W[r][i] * X[t][i]      r, t < 4
 *
 * Each step takes two 32-element blocks (one 512-bit register per row): the
 * 4 weight rows are unpacked once and the 4 activation rows loaded once, then
 * 16 vpdpbusd make the 16 integer block sums. vpdpbusd multiplies unsigned
 * by signed bytes, so the weights enter as unsigned: Q4_0's nibbles q (0..15,
 * the value being q - 8) and Q8_0's bytes + 128; the offset k (8 or 128)
 * times the activation block's sum sx (one vpdpbusd against ones per
 * activation row, shared by the 4 weight rows) is the accumulator's starting
 * value -k*sx, so each sum comes out exact. The sums are then scaled by
 * d_w * d_x of their block (lanes 0-7: first block, 8-15: second) into 16
 * float accumulators, summed horizontally at the end.
 *
 * The reference is 16 calls of the type's vec_dot; tests compare the two.
 */
#include "quant.h"

#include <immintrin.h>

/* ---- helpers ---------------------------------------------------------------- */
/* a float vector holding f16 scale a in lanes 0-7 and b in lanes 8-15 */
static inline __m512 scale_pair(uint16_t a, uint16_t b) {
    return _mm512_insertf32x8(_mm512_set1_ps(quant_f16_table[a]), _mm256_set1_ps(quant_f16_table[b]), 1);
}

/* two Q8_0 activation blocks (b and b+1; b1 NULL: zeros) as one register */
static inline __m512i load_x_pair(const block_q8_0 *b0, const block_q8_0 *b1) {
    __m256i lo = _mm256_loadu_si256((const __m256i *)b0->qs);
    __m256i hi = b1 ? _mm256_loadu_si256((const __m256i *)b1->qs) : _mm256_setzero_si256();
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* Q4_0 blocks b0, b1 as 64 unsigned nibbles in element order:
 * 128-bit lanes = low nibbles of b0, high of b0, low of b1, high of b1 */
static inline __m512i unpack_q4_0_pair(const block_q4_0 *b0, const block_q4_0 *b1) {
    __m128i q0 = _mm_loadu_si128((const __m128i *)b0->qs);
    __m128i q1 = b1 ? _mm_loadu_si128((const __m128i *)b1->qs) : _mm_set1_epi8(0);
    __m512i z = _mm512_castsi128_si512(q0);
    z = _mm512_inserti32x4(z, q0, 1);
    z = _mm512_inserti32x4(z, q1, 2);
    z = _mm512_inserti32x4(z, q1, 3);
    const __m512i m = _mm512_set1_epi8(0x0F);
    __m512i lo = _mm512_and_si512(z, m), hi = _mm512_and_si512(_mm512_srli_epi16(z, 4), m);
    return _mm512_mask_blend_epi64(0xCC, lo, hi);   /* 128-bit lanes 1 and 3 from the high nibbles */
}

static inline __m512i unpack_q8_0_pair(const block_q8_0 *b0, const block_q8_0 *b1) {
    __m512i z = load_x_pair(b0, b1);
    return _mm512_xor_si512(z, _mm512_set1_epi8((char)0x80));   /* + 128 as unsigned bytes */
}

/* ---- the tile ------------------------------------------------------------------
 * WBLOCK: the weight block type; UNPACK: a pair of them -> unsigned bytes;
 * SHIFT: log2 of the offset k (3 for Q4_0, 7 for Q8_0) */
#define GEMM4X4(NAME, WBLOCK, UNPACK, SHIFT)                                                          \
    void NAME(int64_t n, const void *w, size_t w_stride, const void *x, size_t x_stride, float *out) { \
        quant_f16_table_ready();                                                                      \
        const int64_t nb = n / 32;                                                                    \
        const WBLOCK *wr[4];                                                                          \
        const block_q8_0 *xr[4];                                                                      \
        _Pragma("GCC unroll 16")                                                                      \
        for (int i = 0; i < 4; i++) {                                                                 \
            wr[i] = (const WBLOCK *)((const char *)w + (size_t)i * w_stride);                         \
            xr[i] = (const block_q8_0 *)((const char *)x + (size_t)i * x_stride);                     \
        }                                                                                             \
        __m512 acc[16];                                                                               \
        _Pragma("GCC unroll 16")                                                                      \
        for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();                                    \
        const __m512i ones = _mm512_set1_epi8(1);                                                     \
        for (int64_t b = 0; b < nb; b += 2) {                                                         \
            const bool two = b + 1 < nb;                                                              \
            __m512i xv[4], negk[4];                                                                   \
            __m512 dx[4];                                                                             \
            _Pragma("GCC unroll 4")                                                                   \
            for (int t = 0; t < 4; t++) {                                                             \
                xv[t] = load_x_pair(&xr[t][b], two ? &xr[t][b + 1] : NULL);                           \
                __m512i sx = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, xv[t]);                \
                negk[t] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sx, SHIFT));     \
                dx[t] = scale_pair(xr[t][b].d, two ? xr[t][b + 1].d : 0);                             \
            }                                                                                         \
            _Pragma("GCC unroll 4")                                                                   \
            for (int r = 0; r < 4; r++) { /* one weight row live at a time: 32 registers */          \
                __m512i wv = UNPACK(&wr[r][b], two ? &wr[r][b + 1] : NULL);                           \
                __m512 dw = scale_pair(wr[r][b].d, two ? wr[r][b + 1].d : 0);                         \
                _Pragma("GCC unroll 4")                                                               \
                for (int t = 0; t < 4; t++) {                                                         \
                    __m512i s = _mm512_dpbusd_epi32(negk[t], wv, xv[t]);                              \
                    acc[4 * r + t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, dx[t]), \
                                                     acc[4 * r + t]);                                 \
                }                                                                                     \
            }                                                                                         \
        }                                                                                             \
        _Pragma("GCC unroll 16")                                                                      \
        for (int i = 0; i < 16; i++) out[i] = _mm512_reduce_add_ps(acc[i]);                           \
    }

GEMM4X4(gemm4x4_q4_0_q8_0_avx512, block_q4_0, unpack_q4_0_pair, 3)
GEMM4X4(gemm4x4_q8_0_q8_0_avx512, block_q8_0, unpack_q8_0_pair, 7)
