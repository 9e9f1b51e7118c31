/*
 * quant.h — the quantized tensor types: block layouts (bit-compatible with
 * ggml's GGUF files), the scalar reference kernels (the spec) and the
 * AVX2 / AVX-512 kernels, all plugged into the per-type table of
 * src/kernels/kernels.h by hearth_quant_register() (quant_table.c).
 *
 * Every type has three row functions (n = elements, a multiple of the
 * type's block size; rows are arrays of blocks):
 *   dequantize_row_<T>(src, dst, n)        blocks -> n floats
 *   quantize_row_<T>_ref(src, dst, n)      n floats -> blocks; deterministic
 *                                          and bit-identical to ggml's
 *                                          quantize_row_<t>_ref (no
 *                                          importance matrix)
 *   vec_dot_<T>_<A>(n, w, a)               sum_i w[i] * a[i], w a row of T,
 *                                          a a row of the activation type A
 * The activation type A is Q8_0 for Q4_0, Q5_0, Q8_0; Q8_1 for Q4_1, Q5_1;
 * Q8_K for every K-quant — the activations are quantized on the fly, once
 * per matrix-vector product, with quantize_row_<A>_ref.
 *
 * Naming: <name>_ref is the scalar reference, <name>_avx2 and
 * <name>_avx512 the instruction-set versions (own files). The ISA versions
 * of vec_dot agree with the reference up to float summation order; those of
 * dequantize agree exactly.
 *
 * ---- block layouts (little-endian; f16 = IEEE half) ----------------------
 *   Q4_0 {f16 d; u8 qs[16]}   x[j] = d*((qs[j]&15)-8), x[j+16] = d*((qs[j]>>4)-8)
 *   Q4_1 {f16 d, m; u8 qs[16]} x = d*q + m, q as Q4_0 without the -8
 *   Q5_0 {f16 d; u8 qh[4]; u8 qs[16]}  5th bit of element j is bit j of qh
 *                                      (as a little-endian u32); x = d*(q-16)
 *   Q5_1 {f16 d, m; u8 qh[4]; u8 qs[16]}  x = d*q + m
 *   Q8_0 {f16 d; i8 qs[32]}                x = d*q
 *   Q8_1 {f16 d, s; i8 qs[32]}  s = d * sum(qs) (activations for Q4_1/Q5_1)
 * K-quants: super-blocks of 256 elements, split in sub-blocks of 16 or 32.
 *   Q2_K {u8 scales[16]; u8 qs[64]; f16 d, dmin}
 *        sub-block s (16 el.): x = d*(scales[s]&15)*q - dmin*(scales[s]>>4)
 *        q (2 bits) of element e = 128*h + 32*j + l: (qs[32*h + l] >> 2j) & 3
 *   Q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}
 *        q = low 2 bits as Q2_K, minus 4 unless bit e/32 of hmask[e%32] is
 *        set; 16 6-bit scales (low nibbles in scales[0..7], high 2-bit pairs
 *        in scales[8..11]) minus 32; x = d*sc*q
 *   Q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]}
 *        8 sub-blocks of 32 with 6-bit scale and min (get_scale_min_k4):
 *        x = d*sc*q - dmin*m; element e = 64*c + l (l < 32) is qs[32c+l]&15,
 *        e = 64*c + 32 + l is qs[32c+l]>>4
 *   Q5_K {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}
 *        as Q4_K plus 16 * (bit 2c (low half) / 2c+1 (high half) of qh[l])
 *   Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}   x = d*sc*(q-32)
 *   Q8_K {f32 d; i8 qs[256]; i16 bsums[16]}   bsums: sums of 16 quants
 */
#ifndef HEARTH_QUANT_H
#define HEARTH_QUANT_H

#include "kernels/kernels.h"

#include <assert.h>

#define QK4_0 32
#define QK8_0 32
#define QK_K 256

typedef struct { uint16_t d; uint8_t qs[16]; } block_q4_0;
typedef struct { uint16_t d, m; uint8_t qs[16]; } block_q4_1;
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } block_q5_0;
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } block_q5_1;
typedef struct { uint16_t d; int8_t qs[32]; } block_q8_0;
typedef struct { uint16_t d, s; int8_t qs[32]; } block_q8_1;
typedef struct { uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin; } block_q2_K;
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; } block_q3_K;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } block_q4_K;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } block_q5_K;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } block_q6_K;
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } block_q8_K;

static_assert(sizeof(block_q4_0) == 18, "q4_0 layout");
static_assert(sizeof(block_q4_1) == 20, "q4_1 layout");
static_assert(sizeof(block_q5_0) == 22, "q5_0 layout");
static_assert(sizeof(block_q5_1) == 24, "q5_1 layout");
static_assert(sizeof(block_q8_0) == 34, "q8_0 layout");
static_assert(sizeof(block_q8_1) == 36, "q8_1 layout");
static_assert(sizeof(block_q2_K) == 84, "q2_K layout");
static_assert(sizeof(block_q3_K) == 110, "q3_K layout");
static_assert(sizeof(block_q4_K) == 144, "q4_K layout");
static_assert(sizeof(block_q5_K) == 176, "q5_K layout");
static_assert(sizeof(block_q6_K) == 210, "q6_K layout");
static_assert(sizeof(block_q8_K) == 292, "q8_K layout");

#define F16(h) hearth_fp16_to_fp32(h)

/* f16 -> f32 by table for the ISA kernels' block scales (one load instead of
 * the 4 uops of a scalar vcvtph2ps); filled on first use, then read-only */
extern float quant_f16_table[65536];
extern int quant_f16_table_done;
void quant_f16_table_init(void);
static inline void quant_f16_table_ready(void) {
    if (__builtin_expect(!__atomic_load_n(&quant_f16_table_done, __ATOMIC_ACQUIRE), 0)) quant_f16_table_init();
}

/* Q4_K / Q5_K: 6-bit scale and min of sub-block j (0..7) from scales[12] */
static inline void quant_scale_min_k4(int j, const uint8_t *q, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* Q3_K: the 16 signed scales (-32..31) from scales[12] */
static inline void quant_q3k_scales(const uint8_t *s, int sc[16]) {
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;
        int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
        sc[j] = (lo | (hi << 4)) - 32;
    }
}

/* ==== declarations: one list, expanded per instruction set ================= */
#define QUANT_TYPES(X) \
    X(q4_0, q8_0) X(q4_1, q8_1) X(q5_0, q8_0) X(q5_1, q8_1) X(q8_0, q8_0) \
    X(q2_K, q8_K) X(q3_K, q8_K) X(q4_K, q8_K) X(q5_K, q8_K) X(q6_K, q8_K)

#define QUANT_DECL_REF(T, A)                                              \
    void dequantize_row_##T##_ref(const void *src, float *dst, int64_t n); \
    void quantize_row_##T##_ref(const float *src, void *dst, int64_t n);  \
    float vec_dot_##T##_##A##_ref(int64_t n, const void *w, const void *a);
#define QUANT_DECL_ISA(T, A, ISA)                                            \
    void dequantize_row_##T##_##ISA(const void *src, float *dst, int64_t n); \
    float vec_dot_##T##_##A##_##ISA(int64_t n, const void *w, const void *a);
#define QUANT_DECL_AVX2(T, A) QUANT_DECL_ISA(T, A, avx2)
#define QUANT_DECL_AVX512(T, A) QUANT_DECL_ISA(T, A, avx512)

QUANT_TYPES(QUANT_DECL_REF)
QUANT_TYPES(QUANT_DECL_AVX2)
QUANT_TYPES(QUANT_DECL_AVX512)

/* 4 activation rows at once (prefill): out[k] = vec_dot(n, w, x + k*x_stride)
 * for k < nx <= 4, each weight block decoded once (AVX2 and AVX-512, all
 * types but Q4_1 / Q5_1; elsewhere vec_dot4 is NULL and the driver calls
 * vec_dot) */
#define QUANT_DOT4_TYPES(X) \
    X(q4_0, q8_0) X(q5_0, q8_0) X(q8_0, q8_0) X(q2_K, q8_K) X(q3_K, q8_K) X(q4_K, q8_K) X(q5_K, q8_K) X(q6_K, q8_K)
#define QUANT_DECL_DOT4(T, A, ISA) \
    void vec_dot4_##T##_##A##_##ISA(int64_t n, const void *w, const void *x, size_t x_stride, int nx, float *out);
#define QUANT_DECL_DOT4_AVX2(T, A) QUANT_DECL_DOT4(T, A, avx2)
#define QUANT_DECL_DOT4_AVX512(T, A) QUANT_DECL_DOT4(T, A, avx512)
QUANT_DOT4_TYPES(QUANT_DECL_DOT4_AVX2)
QUANT_DOT4_TYPES(QUANT_DECL_DOT4_AVX512)

/* AVX-VNNI (256-bit vpdpbusd without AVX-512): the types whose dots are
 * plain byte products; the K-quants scale with vpmaddwd on every ISA */
#define QUANT_AVXVNNI_TYPES(X) X(q4_0, q8_0) X(q4_1, q8_1) X(q5_0, q8_0) X(q5_1, q8_1) X(q8_0, q8_0)
#define QUANT_DECL_AVXVNNI(T, A) float vec_dot_##T##_##A##_avxvnni(int64_t n, const void *w, const void *a);
QUANT_AVXVNNI_TYPES(QUANT_DECL_AVXVNNI)
void vec_dot4_q4_0_q8_0_avxvnni(int64_t n, const void *w, const void *x, size_t x_stride, int nx, float *out);
void vec_dot4_q8_0_q8_0_avxvnni(int64_t n, const void *w, const void *x, size_t x_stride, int nx, float *out);

/* register-tiled 4 weight rows x 4 activation rows (gemm_avx512.c; needs VNNI) */
void gemm4x4_q4_0_q8_0_avx512(int64_t n, const void *w, size_t w_stride, const void *x, size_t x_stride, float *out);
void gemm4x4_q8_0_q8_0_avx512(int64_t n, const void *w, size_t w_stride, const void *x, size_t x_stride, float *out);

/* the activation quantizers in SIMD, byte-identical to the reference */
void quantize_row_q8_0_avx2(const float *src, void *dst, int64_t n);
void quantize_row_q8_1_avx2(const float *src, void *dst, int64_t n);
void quantize_row_q8_K_avx2(const float *src, void *dst, int64_t n);
void quantize_row_q8_0_avx512(const float *src, void *dst, int64_t n);
void quantize_row_q8_1_avx512(const float *src, void *dst, int64_t n);
void quantize_row_q8_K_avx512(const float *src, void *dst, int64_t n);

/* activation types (quantize + dequantize only) */
void quantize_row_q8_1_ref(const float *src, void *dst, int64_t n);
void dequantize_row_q8_1_ref(const void *src, float *dst, int64_t n);
void quantize_row_q8_K_ref(const float *src, void *dst, int64_t n);
void dequantize_row_q8_K_ref(const void *src, float *dst, int64_t n);

/* Callers reach these through the per-type table: hearth_type_traits_get()
 * (src/kernels/kernels.h) returns the active instruction set's entries,
 * registered by hearth_quant_register() in quant_table.c. */

#endif
