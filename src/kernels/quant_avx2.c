/*
 * quant_avx2.c — AVX2 (+FMA, F16C) kernels of the quantized types: the
 * 256-bit bodies of quant_x86.h with vpmaddubsw + vpmaddwd for the int8
 * products. Dequantize is vectorized for the types models mostly use (Q8_0,
 * Q4_0, Q4_K, Q6_K); the others call the reference.
 */
#include "quant_x86.h"

/* ==== vec_dot =============================================================== */
float vec_dot_q4_0_q8_0_avx2(int64_t n, const void *w, const void *a) { return t_dot_q4_0(n, w, a); }
float vec_dot_q4_1_q8_1_avx2(int64_t n, const void *w, const void *a) { return t_dot_q4_1(n, w, a); }
float vec_dot_q5_0_q8_0_avx2(int64_t n, const void *w, const void *a) { return t_dot_q5_0(n, w, a); }
float vec_dot_q5_1_q8_1_avx2(int64_t n, const void *w, const void *a) { return t_dot_q5_1(n, w, a); }
float vec_dot_q8_0_q8_0_avx2(int64_t n, const void *w, const void *a) { return t_dot_q8_0(n, w, a); }
float vec_dot_q2_K_q8_K_avx2(int64_t n, const void *w, const void *a) { return t_dot_q2_K(n, w, a); }
float vec_dot_q3_K_q8_K_avx2(int64_t n, const void *w, const void *a) { return t_dot_q3_K(n, w, a); }
float vec_dot_q4_K_q8_K_avx2(int64_t n, const void *w, const void *a) { return t_dot_q4_K(n, w, a); }
float vec_dot_q5_K_q8_K_avx2(int64_t n, const void *w, const void *a) { return t_dot_q5_K(n, w, a); }
float vec_dot_q6_K_q8_K_avx2(int64_t n, const void *w, const void *a) { return t_dot_q6_K(n, w, a); }

/* ==== 4 rows at once (prefill) ============================================== */
#define DOT4(T, A)                                                                                     \
    void vec_dot4_##T##_##A##_avx2(int64_t n, const void *w, const void *x, size_t x_stride, int nx, float *out) { \
        t_dot4_##T(n, w, x, x_stride, nx, out);                                                        \
    }
DOT4(q4_0, q8_0)
DOT4(q5_0, q8_0)
DOT4(q2_K, q8_K)
DOT4(q3_K, q8_K)
DOT4(q8_0, q8_0)
DOT4(q4_K, q8_K)
DOT4(q5_K, q8_K)
DOT4(q6_K, q8_K)

/* ==== activations ========================================================== */
void quantize_row_q8_0_avx2(const float *x, void *y, int64_t n) { t_quantize_q8_0(x, y, n); }
void quantize_row_q8_1_avx2(const float *x, void *y, int64_t n) { t_quantize_q8_1(x, y, n); }
void quantize_row_q8_K_avx2(const float *x, void *y, int64_t n) { t_quantize_q8_K(x, y, n); }

/* ==== dequantize ============================================================ */
void dequantize_row_q4_0_avx2(const void *s, float *d, int64_t n) { t_dequant_q4_0(s, d, n); }
void dequantize_row_q8_0_avx2(const void *s, float *d, int64_t n) { t_dequant_q8_0(s, d, n); }
void dequantize_row_q4_K_avx2(const void *s, float *d, int64_t n) { t_dequant_q4_K(s, d, n); }
void dequantize_row_q6_K_avx2(const void *s, float *d, int64_t n) { t_dequant_q6_K(s, d, n); }
void dequantize_row_q4_1_avx2(const void *s, float *d, int64_t n) { dequantize_row_q4_1_ref(s, d, n); }
void dequantize_row_q5_0_avx2(const void *s, float *d, int64_t n) { dequantize_row_q5_0_ref(s, d, n); }
void dequantize_row_q5_1_avx2(const void *s, float *d, int64_t n) { dequantize_row_q5_1_ref(s, d, n); }
void dequantize_row_q2_K_avx2(const void *s, float *d, int64_t n) { dequantize_row_q2_K_ref(s, d, n); }
void dequantize_row_q3_K_avx2(const void *s, float *d, int64_t n) { dequantize_row_q3_K_ref(s, d, n); }
void dequantize_row_q5_K_avx2(const void *s, float *d, int64_t n) { dequantize_row_q5_K_ref(s, d, n); }
